/* mixdesk tests: the live console plays its strips' sources from disk in step with the JACK transport, on a
 * private dummy jackd: the master, sample for sample, against `mixdesk render` of the same session (sources,
 * an offset, EQ and a fader lane), from the start and after a locate; silence when stopped; the input
 * switched over OSC; a missing source gives a message and silence, not a refused session; no underrun. */
#include "osclient.h"
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

#define RATE 48000
#define PERIOD 256

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float noise(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (float)((double)(rng >> 11) / (double)(1ull << 52) - 1.0);
}

/* seconds of low-passed noise (nch channels) with a 220 Hz tone under it */
static void write_source(const char *path, int nch, double seconds, double amp)
{
	SF_INFO info = {.samplerate = RATE, .channels = nch, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
	SNDFILE *f = sf_open(path, SFM_WRITE, &info);
	assert_non_null(f);
	size_t n = (size_t)(seconds * RATE);
	float *x = malloc(n * (size_t)nch * sizeof *x);
	float lp[2] = {0, 0};
	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < nch; c++) {
			lp[c] += 0.3f * (noise() - lp[c]);
			x[i * (size_t)nch + (size_t)c] =
				(float)(amp * (lp[c] + 0.5 * sin(2 * M_PI * 220.0 * (double)i / RATE + c)));
		}
	assert_int_equal(sf_writef_float(f, x, (sf_count_t)n), (sf_count_t)n);
	sf_close(f);
	free(x);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

struct rig {
	char *dir, sess[600], log[600];
	struct tl_jackd jackd;
	pid_t md;
	int port;
	struct oc *o;
	struct tl_jc *rec;
};

static void rig_start(struct rig *r, const char *session_json)
{
	r->dir = tl_tmpdir();
	snprintf(r->sess, sizeof r->sess, "%s/s.json", r->dir);
	snprintf(r->log, sizeof r->log, "%s/mixdesk.log", r->dir);
	char a[700], b[700];
	snprintf(a, sizeof a, "%s/a.wav", r->dir);
	snprintf(b, sizeof b, "%s/b.wav", r->dir);
	write_source(a, 1, 8.0, 0.4);
	write_source(b, 2, 6.0, 0.3);
	write_text(r->sess, session_json);
	assert_int_equal(tl_jackd_start(&r->jackd, RATE, PERIOD), 0);
	r->md = tl_mixdesk_start(r->jackd.name, "mdsrc", (const char *[]){r->sess, NULL}, r->log);
	assert_true(r->md > 0);
	r->port = tl_mixdesk_osc_port(r->log, 10.0);
	assert_true(r->port > 0);
	r->o = oc_open("127.0.0.1", r->port);
	r->rec = tl_jc_open(r->jackd.name, "recorder", 0, 1);
	assert_non_null(r->rec);
	assert_int_equal(tl_jc_connect(r->rec, "mdsrc:master_out_L", tl_jc_in(r->rec, 0)), 0);
}

static void rig_stop(struct rig *r)
{
	tl_jc_close(r->rec);
	oc_close(r->o);
	assert_int_equal(tl_stop(r->md), 0);
	tl_jackd_stop(&r->jackd);
	tl_rmtree(r->dir);
	free(r->dir);
}

static const char *session_json =
	"{\"format\":\"mixdesk-session\",\"version\":1,\"sample_rate\":48000,"
	"\"strips\":[{\"name\":\"A\",\"source\":\"a.wav\",\"fader\":-3.0,\"pan\":-0.4,"
	"\"eq\":{\"on\":true,\"bands\":[{\"type\":\"peak\",\"freq\":1000.0,\"gain\":5.0,\"q\":1.0,\"on\":true}]},"
	"\"automation\":[{\"param\":\"fader\",\"mode\":\"read\",\"points\":[[0,-6],[3,0],[6,-12]]}]},"
	"{\"name\":\"B\",\"stereo\":true,\"source\":\"b.wav\",\"offset\":0.75,\"fader\":-6.0,"
	"\"hpf\":{\"on\":true,\"freq\":100.0,\"slope\":12}}],"
	"\"master\":{\"fader\":-1.0}}";

/* Record `seconds` of the master while rolling from `from` (a locate first when from >= 0, else on from where
 * it is), and compare every sample whose transport frame is at least `settle` frames past the start (the
 * stream's fade-in, a refill) with the render; the periods around an xrun notice are left out (as in
 * test_e2e_automation). Adds to *compared and returns the worst difference. */
static double take(struct rig *r, const float *offline, int64_t frames, int64_t from, double seconds, int64_t settle,
		   int *compared)
{
	size_t n = (size_t)(seconds * RATE);
	float *live = malloc(n * sizeof *live);
	int64_t *tf = malloc(n * sizeof *tf);
	bool *bad = calloc(n, sizeof *bad);
	if (from >= 0)
		tl_jc_transport(r->rec, true, from);
	size_t got = tl_jc_record_timed(r->rec, 0, live, tf, n);
	tl_sleep(0.05);
	size_t marks[256];
	size_t nm = tl_jc_xrun_marks(r->rec, marks, 256);
	for (size_t k = 0; k < nm; k++) {
		size_t m = k < 256 ? marks[k] : 0, lo = m > 8 * PERIOD ? m - 8 * PERIOD : 0,
		       hi = k < 256 ? m + 2 * PERIOD : n;
		for (size_t i = lo; i < hi && i < n; i++)
			bad[i] = true;
	}
	int64_t start = -1;
	double worst = 0;
	int here = 0;
	for (size_t i = 0; i < got; i++) {
		if (tf[i] < 0)
			continue;
		if (start < 0 || (i > 0 && tf[i] != tf[i - 1] + 1 && tf[i - 1] >= 0))
			start = tf[i]; /* where this stretch of rolling began */
		if (bad[i] || tf[i] < start + settle || tf[i] >= frames)
			continue;
		worst = fmax(worst, fabs((double)live[i] - offline[tf[i] * 2]));
		here++;
	}
	printf("take from %.3f s: %zu xruns, %d samples compared, worst difference %.3g (%.1f dBFS)\n",
	       from >= 0 ? (double)from / RATE : -1.0, nm, here, worst, 20 * log10(worst + 1e-30));
	*compared += here;
	free(live);
	free(tf);
	free(bad);
	return worst;
}

static void test_live_equals_render(void **state)
{
	(void)state;
	struct rig r;
	rig_start(&r, session_json);
	/* offline first: 32-bit float at a fixed 0 dB, the reference */
	char out[700], rlog[700];
	snprintf(out, sizeof out, "%s/render.wav", r.dir);
	snprintf(rlog, sizeof rlog, "%s/render.log", r.dir);
	const char *argv[] = {tl_mixdesk(), "render", r.sess, "-o", out, "--bits", "32f", "--gain", "0", "-q", NULL};
	int st = -1;
	assert_int_equal(tl_wait_exit(tl_spawn(argv, rlog), 60.0, &st), 0);
	assert_int_equal(st, 0);
	SF_INFO info = {0};
	SNDFILE *f = sf_open(out, SFM_READ, &info);
	assert_non_null(f);
	float *offline = malloc((size_t)info.frames * 2 * sizeof *offline);
	assert_int_equal(sf_readf_float(f, offline, info.frames), info.frames);
	sf_close(f);
	char *log = tl_read_file(r.log);
	assert_non_null(strstr(log, "play their source from disk"));
	free(log);

	/* from the start (no refill needed: the ring holds the start), then after locates forward and back;
	 * each take again when xruns left too little to compare (at most TL_TAKES) */
	const int64_t settle = RATE / 10; /* 100 ms: the fade-in and the strips' filters after it */
	static const double starts[] = {0.0, 4.5, 1.25};
	for (int k = 0; k < 3; k++) {
		int compared = 0;
		double worst = 0;
		for (int t = 0; t < TL_TAKES && compared < RATE; t++) {
			tl_jc_transport(r.rec, false, -1);
			tl_sleep(0.2);
			worst = fmax(worst, take(&r, offline, info.frames, (int64_t)(starts[k] * RATE), 1.5, settle,
						 &compared));
		}
		assert_true(compared >= RATE);
		assert_true(worst < 1e-5); /* -100 dBFS: float rounding */
	}
	/* stopped: silence after the fade-out */
	tl_jc_transport(r.rec, false, -1);
	tl_sleep(0.2);
	float quiet[RATE / 4];
	size_t got = tl_jc_record(r.rec, 0, quiet, RATE / 4);
	double peak = 0;
	for (size_t i = 0; i < got; i++)
		peak = fmax(peak, fabs(quiet[i]));
	printf("stopped: master peak %.1f dBFS\n", 20 * log10(peak + 1e-30));
	assert_true(peak == 0.0);
	/* the streams kept up */
	struct rmsg *s = oc_query(r.o, "/status");
	assert_non_null(s);
	assert_string_equal(s->types, "siiiiiiiisiifiif");
	printf("underruns %d, longest refill after a locate %.2f ms\n", (int)s->num[14], s->num[15]);
	assert_int_equal((int)s->num[14], 0);
	assert_true(s->num[15] > 0 && s->num[15] < 500);
	free(offline);
	rig_stop(&r);
}

static void test_input_and_missing_source(void **state)
{
	(void)state;
	struct rig r;
	/* strip C's source does not exist: the session still loads, with a message, and C is silent */
	rig_start(&r,
		  "{\"format\":\"mixdesk-session\",\"version\":1,\"sample_rate\":48000,"
		  "\"strips\":[{\"name\":\"A\",\"source\":\"a.wav\"},"
		  "{\"name\":\"C\",\"source\":\"gone.wav\",\"input\":\"source\"}]}");
	tl_sleep(0.3);
	char *log = tl_read_file(r.log);
	assert_non_null(strstr(log, "gone.wav"));
	assert_non_null(strstr(log, "plays silence"));
	free(log);
	struct rmsg *q = oc_query(r.o, "/ch/1/input");
	assert_non_null(q);
	assert_string_equal(q->str[0], "source"); /* a source and no JACK connections: the source */
	tl_jc_transport(r.rec, true, 0);
	tl_sleep(0.3);
	double peak[1], rms[1];
	assert_int_equal(tl_jc_measure_clean(r.rec, 0.3, peak, rms), 0);
	printf("A plays its source: master %.1f dBFS peak\n", peak[0]);
	assert_true(peak[0] > -20.0);
	/* the input over OSC: jack (nothing is connected: silence), then source again */
	oc_sends(r.o, "/ch/1/input", "jack");
	tl_sleep(0.3);
	assert_int_equal(tl_jc_measure_clean(r.rec, 0.3, peak, rms), 0);
	printf("A on its JACK input: master %.1f dBFS peak\n", peak[0]);
	assert_true(peak[0] < -200.0);
	oc_sends(r.o, "/ch/1/input", "source");
	tl_sleep(0.3);
	assert_int_equal(tl_jc_measure_clean(r.rec, 0.3, peak, rms), 0);
	assert_true(peak[0] > -20.0);
	oc_sends(r.o, "/ch/1/input", "tape");
	expect_error(r.o, "/ch/1/input", "source");
	tl_jc_transport(r.rec, false, -1);
	rig_stop(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live_equals_render),
		cmocka_unit_test(test_input_and_missing_source),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
