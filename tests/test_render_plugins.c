/* mixdesk tests: LV2 plugin inserts in the offline render (render_console, the code `mixdesk render` runs),
 * with real plugins from Debian: swh delay_n on a strip puts the echo at the set time to the sample; two
 * renders with GVerb on a bus are sample-identical; the report lists the plugins and warns about a limiter on
 * the master; a plugin that cannot run stops the render instead of bouncing a mix without it. */
#include "engine/model/param.h"
#include "engine/plugin.h"
#include "sessions/session.h"
#include "tools/render/render.h"
#include "testlib.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DELAY "http://plugin.org.uk/swh-plugins/delay_n"
#define GVERB "http://plugin.org.uk/swh-plugins/gverb"
#define LIMITER "http://plugin.org.uk/swh-plugins/fastLookaheadLimiter"
#define RATE 48000
#define IMPULSE_AT 4800 /* frames */

struct take {
	size_t frames;
	float *mix; /* interleaved stereo */
	struct render_report rep;
	enum md_err ret;
	char err[800];
};

/* a session of one mono strip "Src" (an impulse of 0.5 at IMPULSE_AT in 1 s of silence) and a bus "Verb" it
 * sends to pre-fader at `send` dB, loaded, then edited by fn, rendered in 32-bit float at 0 dB */
static void render(const char *dir, double send, void (*fn)(struct md_console *), struct take *t)
{
	char sess[512], src[512], out[512];
	snprintf(sess, sizeof sess, "%s/s.json", dir);
	snprintf(src, sizeof src, "%s/src.wav", dir);
	snprintf(out, sizeof out, "%s/mix.wav", dir);
	SF_INFO info = {.samplerate = RATE, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
	SNDFILE *sf = sf_open(src, SFM_WRITE, &info);
	assert_non_null(sf);
	static float x[RATE];
	memset(x, 0, sizeof x);
	x[IMPULSE_AT] = 0.5f;
	assert_int_equal(sf_writef_float(sf, x, RATE), RATE);
	sf_close(sf);
	FILE *f = fopen(sess, "w");
	assert_non_null(f);
	fprintf(f,
		"{\"format\":\"mixdesk-session\",\"version\":1,\"sample_rate\":%d,"
		"\"render\":{\"tail\":1.0},"
		"\"strips\":[{\"name\":\"Src\",\"source\":\"src.wav\",\"fader\":0,"
		"\"sends\":[{\"bus\":\"Verb\",\"level\":%g,\"pre\":true}]}],"
		"\"buses\":[{\"name\":\"Verb\"}]}",
		RATE, send);
	fclose(f);
	struct md_console *c = NULL;
	char err[512];
	if (session_load(sess, &c, err, sizeof err) != MD_OK)
		fail_msg("session: %s", err);
	fn(c);
	struct render_opts o = {
		.out = out, .session = sess, .bits = 32, .fixed_gain = true, .gain_db = 0.0f, .threads = 1};
	t->ret = render_console(c, dir, &o, &t->rep, t->err, sizeof t->err);
	console_free(c);
	t->mix = NULL;
	t->frames = 0;
	if (t->ret != MD_OK)
		return;
	SF_INFO in = {0};
	sf = sf_open(out, SFM_READ, &in);
	assert_non_null(sf);
	t->frames = (size_t)in.frames;
	t->mix = malloc(t->frames * 2 * sizeof(float));
	assert_int_equal(sf_readf_float(sf, t->mix, in.frames), in.frames);
	sf_close(sf);
}

static long peak_at(const struct take *t, int ch, size_t from)
{
	long best = -1;
	float peak = 0;
	for (size_t i = from; i < t->frames; i++)
		if (fabsf(t->mix[2 * i + ch]) > peak) {
			peak = fabsf(t->mix[2 * i + ch]);
			best = (long)i;
		}
	return best;
}

static void strip_delay(struct md_console *c)
{
	struct md_insert *ins = console_inserts(c, MD_SCOPE_STRIP, 0);
	assert_int_equal(console_insert_load(&ins[2], DELAY), MD_OK);
	assert_int_equal(console_insert_set_param(&ins[2], "delay_time", 0.25f), MD_OK);
}

static void test_delay_in_render(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct take t;
	render(dir, -120.0, strip_delay, &t);
	if (t.ret)
		fail_msg("render: %s", t.err);
	long at = peak_at(&t, 0, 0);
	printf("delay_n at 250 ms on the strip, in the render: the impulse at frame %ld (want %d); report: %d "
	       "plugin(s), %s insert %d: %s\n",
	       at, IMPULSE_AT + 12000, t.rep.nplugins, t.rep.plugins[0].where, t.rep.plugins[0].slot,
	       t.rep.plugins[0].name);
	assert_int_equal(at, IMPULSE_AT + 12000);
	assert_float_equal(t.mix[2 * at], 0.5 * M_SQRT1_2, 1e-3); /* the centred strip's -3 dB a side */
	assert_int_equal(t.rep.nplugins, 1);
	assert_string_equal(t.rep.plugins[0].uri, DELAY);
	assert_string_equal(t.rep.plugins[0].where, "strip 'Src'");
	assert_int_equal(t.rep.plugins[0].slot, 3);
	free(t.mix);
	tl_rmtree(dir);
	free(dir);
}

static void bus_gverb(struct md_console *c)
{
	struct md_insert *ins = console_inserts(c, MD_SCOPE_BUS, 0);
	assert_int_equal(console_insert_load(&ins[0], GVERB), MD_OK);
	assert_int_equal(console_insert_set_param(&ins[0], "revtime", 2.0f), MD_OK);
	/* the strip itself silent at the master: only the reverb's return is heard */
	c->strips[0]->p[MD_SP_FADER] = -120.0f;
}

static void test_gverb_render_is_reproducible(void **state)
{
	(void)state;
	char *d1 = tl_tmpdir(), *d2 = tl_tmpdir();
	struct take a, b;
	render(d1, 0.0, bus_gverb, &a);
	render(d2, 0.0, bus_gverb, &b);
	if (a.ret || b.ret)
		fail_msg("render: %s%s", a.err, b.err);
	assert_int_equal(a.frames, b.frames);
	size_t differ = 0;
	double tail = 0;
	for (size_t i = 0; i < 2 * a.frames; i++) {
		differ += a.mix[i] != b.mix[i];
		if (i / 2 > IMPULSE_AT + RATE / 5)
			tail += (double)a.mix[i] * a.mix[i];
	}
	printf("GVerb on a bus, two renders: %zu of %zu samples differ; tail energy from 0.2 s after the hit %.3g\n",
	       differ, 2 * a.frames, tail);
	assert_int_equal(differ, 0);
	assert_true(tail > 1e-3);
	free(a.mix);
	free(b.mix);
	tl_rmtree(d1);
	tl_rmtree(d2);
	free(d1);
	free(d2);
}

static void master_limiter(struct md_console *c)
{
	struct md_insert *ins = console_inserts(c, MD_SCOPE_MASTER, 0);
	assert_int_equal(console_insert_load(&ins[0], LIMITER), MD_OK);
}

static void test_limiter_on_master_warns(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct take t;
	render(dir, -120.0, master_limiter, &t);
	if (t.ret)
		fail_msg("render: %s", t.err);
	bool warned = false;
	for (int i = 0; i < t.rep.nwarnings; i++) {
		printf("warning: %s\n", t.rep.warnings[i]);
		warned |= strstr(t.rep.warnings[i], "limiter") != NULL;
	}
	assert_true(warned);
	assert_int_equal(t.rep.nplugins, 1);
	assert_string_equal(t.rep.plugins[0].where, "master");
	free(t.mix);
	tl_rmtree(dir);
	free(dir);
}

/* a lookahead limiter on a second, stereo strip that plays nothing: its latency delays the first strip too
 * (compensation), and the render puts the mix back at time zero */
static void limiter_on_other_strip(struct md_console *c)
{
	int k;
	assert_int_equal(console_add_strip(c, "Lim", true, &k), MD_OK);
	struct md_insert *ins = console_inserts(c, MD_SCOPE_STRIP, k);
	assert_int_equal(console_insert_load(&ins[0], LIMITER), MD_OK);
}

static void test_latency_in_render(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct take t;
	render(dir, -120.0, limiter_on_other_strip, &t);
	if (t.ret)
		fail_msg("render: %s", t.err);
	long at = peak_at(&t, 0, 0);
	printf("a limiter reporting %u frames on another strip: the impulse at frame %ld (want %d: at time zero)\n",
	       t.rep.latency, at, IMPULSE_AT);
	assert_true(t.rep.latency > 0);
	assert_int_equal(at, IMPULSE_AT);
	assert_float_equal(t.mix[2 * at], 0.5 * M_SQRT1_2, 1e-3);
	free(t.mix);
	tl_rmtree(dir);
	free(dir);
}

static void missing_plugin(struct md_console *c)
{
	struct md_insert *ins = console_inserts(c, MD_SCOPE_STRIP, 0);
	assert_int_equal(console_insert_load(&ins[0], "http://example.org/not-installed"), MD_OK);
}

static void test_missing_plugin_stops_the_render(void **state)
{
	(void)state;
	char *dir = tl_tmpdir();
	struct take t;
	render(dir, -120.0, missing_plugin, &t);
	printf("a plugin that is not installed: %s (%s)\n", md_strerror(t.ret), t.err);
	assert_int_not_equal(t.ret, MD_OK);
	assert_non_null(strstr(t.err, "strip 'Src' insert 1"));
	assert_non_null(strstr(t.err, "not installed"));
	char out[600];
	snprintf(out, sizeof out, "%s/mix.wav", dir);
	assert_int_not_equal(access(out, F_OK), 0); /* no file left under the output's name */
	tl_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delay_in_render),
		cmocka_unit_test(test_gverb_render_is_reproducible),
		cmocka_unit_test(test_limiter_on_master_warns),
		cmocka_unit_test(test_latency_in_render),
		cmocka_unit_test(test_missing_plugin_stops_the_render),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
