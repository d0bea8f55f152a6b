/* mixdesk tests: LV2 plugin inserts over OSC end to end. The real engine on a private jackd (dummy backend),
 * real UDP OSC on 127.0.0.1 and real plugins from Debian's swh-lv2: /plugins, loading amp into a strip's
 * insert, its parameter set, read back, clamped and fed back to a subscriber (without echoing a subscriber's
 * own set), the parameter list, bypass, latency, remove, the slots in a dump, every kind of bad request
 * answered with /error while the engine keeps answering, GVerb refused on a mono strip and loaded on a bus,
 * a graph build's insert problem told to subscribers, and amp at -12 dB measured at the master ports. */
#include "osclient.h"
#include "testlib.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jack/jack.h>
#include <lo/lo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AMP "http://plugin.org.uk/swh-plugins/amp"
#define GVERB "http://plugin.org.uk/swh-plugins/gverb"

/* ---- fixture: one jackd for the program, one engine per test ---- */

struct fixture {
	struct tl_jackd jackd;
	char *dir;
	char log[512];
	pid_t pid;
	int port;
};

static struct fixture *F;

static int group_setup(void **state)
{
	F = calloc(1, sizeof *F);
	F->dir = tl_tmpdir();
	if (tl_jackd_start(&F->jackd, 48000, 256) != 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	tl_jackd_stop(&F->jackd);
	tl_rmtree(F->dir);
	free(F->dir);
	free(F);
	return 0;
}

static int start_engine(const char *const extra[])
{
	static int run;
	snprintf(F->log, sizeof F->log, "%s/mixdesk-%d.log", F->dir, run++);
	F->pid = tl_mixdesk_start(F->jackd.name, "mdplug", extra, F->log);
	if (F->pid <= 0)
		return -1;
	F->port = tl_mixdesk_osc_port(F->log, 10.0);
	return F->port > 0 ? 0 : -1;
}

static void stop_engine(void)
{
	if (F->pid > 0)
		assert_int_equal(tl_stop(F->pid), 0);
	F->pid = 0;
}

/* load uri at address; the answer is the slot's URI */
static void load(struct oc *o, const char *address, const char *uri)
{
	int from = o->n;
	oc_sends(o, address, uri);
	struct rmsg *r = oc_wait(o, address, 5.0);
	if (!r)
		fail_msg("no answer to loading <%s> at %s", uri, address);
	assert_int_equal(oc_count(o, from, "/error"), 0);
	assert_string_equal(r->str[0], uri);
}

/* Wait until the insert at address (".../latency") runs (want 1) or passes the signal through (0): a load
 * made while the graphs still crossfade from an earlier change is built right after it. The answer. */
static struct rmsg wait_running(struct oc *o, const char *address, int want)
{
	double end = tl_now() + 3.0;
	for (;;) {
		struct rmsg r = *oc_query(o, address);
		if ((int)r.num[1] == want || tl_now() > end)
			return r;
		tl_sleep(0.02);
	}
}

/* a test that failed leaves no engine behind (the next one would find its JACK ports) */
static int stop_if_running(void **state)
{
	if (F->pid > 0)
		tl_stop(F->pid);
	F->pid = 0;
	return 0;
}

/* ---- tests ---- */

static void test_plugins_list(void **state)
{
	assert_int_equal(start_engine((const char *[]){"--channels", "1", NULL}), 0);
	struct oc *o = oc_open("127.0.0.1", F->port);
	int from = o->n;
	oc_send0(o, "/plugins");
	struct rmsg *end = oc_wait(o, "/plugins/end", 10.0);
	assert_non_null(end);
	int n = oc_count(o, from, "/plugins");
	printf("/plugins: %d plugins, /plugins/end says %d\n", n, (int)end->num[0]);
	assert_int_equal(n, (int)end->num[0]);
	bool amp = false, gverb = false;
	for (int i = from; i < o->n; i++) {
		const struct rmsg *r = &o->log[i];
		if (strcmp(r->path, "/plugins") != 0)
			continue;
		assert_string_equal(r->types, "ssiii");
		if (strcmp(r->str[0], AMP) == 0) {
			amp = true;
			printf("amp: '%s', %d in, %d out, rt %d\n", r->str[1], (int)r->num[2], (int)r->num[3],
			       (int)r->num[4]);
			assert_string_equal(r->str[1], "Simple amplifier");
			assert_int_equal((int)r->num[2], 1);
			assert_int_equal((int)r->num[3], 1);
			assert_int_equal((int)r->num[4], 1);
		}
		if (strcmp(r->str[0], GVERB) == 0) {
			gverb = true;
			assert_int_equal((int)r->num[2], 1);
			assert_int_equal((int)r->num[3], 2);
		}
	}
	assert_true(amp);
	assert_true(gverb);
	oc_close(o);
	stop_engine();
}

static void test_amp_params(void **state)
{
	assert_int_equal(start_engine((const char *[]){"--channels", "2", NULL}), 0);
	struct oc *a = oc_open("127.0.0.1", F->port), *b = oc_open("127.0.0.1", F->port);
	/* an empty slot's plugin is "" */
	struct rmsg *r = oc_query(a, "/ch/1/insert/1/plugin");
	assert_string_equal(r->types, "s");
	assert_string_equal(r->str[0], "");
	oc_send0(b, "/subscribe");
	assert_int_equal((int)oc_query(a, "/status")->num[4], 1);
	oc_drain(b, 0.1);

	/* a load is answered with the URI; subscribers get the console again, the slot in it */
	load(a, "/ch/1/insert/1/plugin", AMP);
	assert_string_equal(oc_query(a, "/ch/1/insert/1/plugin")->str[0], AMP);
	r = oc_wait(b, "/ch/1/insert/1/plugin", 2.0);
	assert_non_null(r);
	assert_string_equal(r->str[0], AMP);
	r = oc_wait(b, "/ch/1/insert/1/param/gain", 2.0);
	assert_non_null(r);
	assert_float_equal(r->num[0], 0.0, 1e-6);
	assert_non_null(oc_wait(b, "/dump/end", 2.0));
	oc_drain(b, 0.1);

	/* the parameter list: one message per parameter, then /params/end */
	int from = a->n;
	oc_send0(a, "/ch/1/insert/1/params");
	struct rmsg *end = oc_wait(a, "/ch/1/insert/1/params/end", 3.0);
	assert_non_null(end);
	assert_string_equal(end->types, "si");
	assert_string_equal(end->str[0], AMP);
	assert_int_equal((int)end->num[1], 1);
	assert_int_equal(oc_count(a, from, "/ch/1/insert/1/params"), 1);
	for (int i = from; i < a->n; i++) {
		r = &a->log[i];
		if (strcmp(r->path, "/ch/1/insert/1/params") != 0)
			continue;
		printf("amp's parameter: %s '%s' %g..%g default %g value %g unit '%s' %s\n", r->str[0], r->str[1],
		       r->num[2], r->num[3], r->num[4], r->num[5], r->str[2], r->str[3]);
		assert_string_equal(r->types, "ssffffss");
		assert_string_equal(r->str[0], "gain");
		assert_float_equal(r->num[2], -70.0, 1e-6);
		assert_float_equal(r->num[3], 70.0, 1e-6);
		assert_float_equal(r->num[4], 0.0, 1e-6);
		assert_float_equal(r->num[5], 0.0, 1e-6);
		assert_string_equal(r->str[3], "float");
	}

	/* set and read back; the subscriber is told within a refresh */
	double t0 = tl_now();
	set_exact(a, "/ch/1/insert/1/param/gain", mf(-12.0f), "f", -12.0);
	r = oc_wait(b, "/ch/1/insert/1/param/gain", 2.0);
	assert_non_null(r);
	printf("feedback of the gain: %.1f ms after the set\n", (r->t - t0) * 1e3);
	assert_float_equal(r->num[0], -12.0, 1e-6);
	assert_true(r->t - t0 < 0.1);
	set_exact(a, "/ch/1/insert/1/param/gain", mi(-3), "f", -3.0);
	assert_float_equal(oc_wait(b, "/ch/1/insert/1/param/gain", 2.0)->num[0], -3.0, 1e-6);
	/* beyond the range: clamped, the clamp is the answer and what queries and feedback say */
	set_corrected(a, "/ch/1/insert/1/param/gain", mf(100.0f), "f", 70.0);
	assert_float_equal(qf(a, "/ch/1/insert/1/param/gain"), 70.0, 1e-6);
	assert_float_equal(oc_wait(b, "/ch/1/insert/1/param/gain", 2.0)->num[0], 70.0, 1e-6);
	set_corrected(a, "/ch/1/insert/1/param/gain", md(-1e300), "f", -70.0);
	assert_float_equal(oc_wait(b, "/ch/1/insert/1/param/gain", 2.0)->num[0], -70.0, 1e-6);
	/* a subscriber's own set is not echoed to it; its clamped set is answered once */
	int fromb = b->n;
	oc_sendf(b, "/ch/1/insert/1/param/gain", -6.0f);
	oc_drain(b, 0.3);
	assert_int_equal(oc_count(b, fromb, "/ch/1/insert/1/param/gain"), 0);
	assert_float_equal(qf(a, "/ch/1/insert/1/param/gain"), -6.0, 1e-6);
	fromb = b->n;
	oc_sendf(b, "/ch/1/insert/1/param/gain", 99.0f);
	oc_drain(b, 0.3);
	assert_int_equal(oc_count(b, fromb, "/ch/1/insert/1/param/gain"), 1);
	assert_float_equal(b->log[b->n - 1].num[0], 70.0, 1e-6);

	/* bypass: set, query, feedback; f and T/F as the other switches */
	set_exact(a, "/ch/1/insert/1/bypass", mi(1), "i", 1);
	r = oc_wait(b, "/ch/1/insert/1/bypass", 2.0);
	assert_non_null(r);
	assert_string_equal(r->types, "i");
	assert_int_equal((int)r->num[0], 1);
	set_exact(a, "/ch/1/insert/1/bypass", mtf(false), "i", 0);
	assert_int_equal((int)oc_wait(b, "/ch/1/insert/1/bypass", 2.0)->num[0], 0);
	set_exact(a, "/ch/1/insert/1/bypass", mf(1.0f), "i", 1);
	set_corrected(a, "/ch/1/insert/1/bypass", mf(0.2f), "i", 0);

	/* latency: amp reports none and runs; an empty slot is 0, not running */
	struct rmsg lat = wait_running(a, "/ch/1/insert/1/latency", 1);
	assert_string_equal(lat.types, "ii");
	assert_int_equal((int)lat.num[0], 0);
	assert_int_equal((int)lat.num[1], 1);
	r = oc_query(a, "/ch/1/insert/2/latency");
	assert_int_equal((int)r->num[0], 0);
	assert_int_equal((int)r->num[1], 0);

	/* the dump has the slot: plugin, bypass, parameters; and the empty slots as "" */
	from = a->n;
	oc_send0(a, "/dump");
	assert_non_null(oc_wait(a, "/dump/end", 5.0));
	bool got_plugin = false, got_gain = false, got_empty = false;
	for (int i = from; i < a->n; i++) {
		r = &a->log[i];
		if (strcmp(r->path, "/ch/1/insert/1/plugin") == 0)
			got_plugin = strcmp(r->str[0], AMP) == 0;
		if (strcmp(r->path, "/ch/1/insert/1/param/gain") == 0)
			got_gain = fabs(r->num[0] - 70.0) < 1e-6;
		if (strcmp(r->path, "/ch/2/insert/8/plugin") == 0)
			got_empty = r->str[0][0] == '\0';
	}
	assert_true(got_plugin);
	assert_true(got_gain);
	assert_true(got_empty);
	assert_int_equal(oc_count(a, from, "/ch/1/insert/1/bypass"), 1);
	assert_int_equal(oc_count(a, from, "/ch/1/insert/2/bypass"), 0);
	assert_int_equal(oc_count(a, from, "/master/insert/1/plugin"), 1);

	/* remove: the slot is empty, its plugin "" */
	oc_drain(b, 0.1);
	oc_send0(a, "/ch/1/insert/1/remove");
	r = oc_wait(a, "/ch/1/insert/1/plugin", 3.0);
	assert_non_null(r);
	assert_string_equal(r->str[0], "");
	assert_string_equal(oc_query(a, "/ch/1/insert/1/plugin")->str[0], "");
	r = oc_wait(b, "/ch/1/insert/1/plugin", 2.0); /* the subscriber's fresh console */
	assert_non_null(r);
	assert_string_equal(r->str[0], "");
	oc_send0(a, "/ch/1/insert/1/param/gain");
	expect_error(a, "/ch/1/insert/1/param/gain", "is empty");
	oc_close(a);
	oc_close(b);
	stop_engine();
}

static void test_bad_requests(void **state)
{
	assert_int_equal(start_engine((const char *[]){"--channels", "2", NULL}), 0);
	struct oc *o = oc_open("127.0.0.1", F->port);
	load(o, "/ch/1/insert/1/plugin", AMP);
	set_exact(o, "/ch/1/insert/1/param/gain", mf(-5.0f), "f", -5.0);
	int from = o->n;
	oc_sendm(o, "/ch/1/insert/1/param/gain", mf(NAN));
	expect_error(o, "/ch/1/insert/1/param/gain", "NaN");
	oc_sendm(o, "/ch/1/insert/1/param/gain", mf(INFINITY));
	expect_error(o, "/ch/1/insert/1/param/gain", "infinity");
	oc_sendm(o, "/ch/1/insert/1/param/gain", ms("loud"));
	expect_error(o, "/ch/1/insert/1/param/gain", "wrong type s");
	oc_sendm(o, "/ch/1/insert/1/param/gain", mtf(true));
	expect_error(o, "/ch/1/insert/1/param/gain", "-70..70");
	oc_sendf(o, "/ch/1/insert/1/param/nope", 1.0f);
	expect_error(o, "/ch/1/insert/1/param/nope", "unknown parameter 'nope'");
	oc_send0(o, "/ch/1/insert/1/param/nope");
	expect_error(o, "/ch/1/insert/1/param/nope", "expected one of gain");
	/* empty slots */
	oc_sendf(o, "/ch/1/insert/2/param/gain", 1.0f);
	expect_error(o, "/ch/1/insert/2/param/gain", "insert 2 of strip 1 is empty");
	oc_send0(o, "/ch/2/insert/1/bypass");
	expect_error(o, "/ch/2/insert/1/bypass", "is empty");
	oc_send0(o, "/ch/2/insert/1/params");
	expect_error(o, "/ch/2/insert/1/params", "is empty");
	/* slots, strips, plugins and arguments that do not exist */
	oc_sends(o, "/ch/1/insert/9/plugin", AMP);
	expect_error(o, "/ch/1/insert/9/plugin", "no insert slot 9: slots are numbered 1..8");
	oc_send0(o, "/ch/1/insert/0/plugin");
	expect_error(o, "/ch/1/insert/0/plugin", "no insert slot 0");
	oc_sends(o, "/ch/3/insert/1/plugin", AMP);
	expect_error(o, "/ch/3/insert/1/plugin", "no strip 3");
	oc_sends(o, "/ch/1/insert/2/plugin", "http://example.org/no-such-plugin");
	expect_error(o, "/ch/1/insert/2/plugin", "is not installed");
	char big[1001];
	memset(big, 'u', 1000);
	big[1000] = '\0';
	oc_sends(o, "/ch/1/insert/2/plugin", big);
	expect_error(o, "/ch/1/insert/2/plugin", "plugin URI too long (1000 bytes)");
	oc_sendf(o, "/ch/1/insert/2/plugin", 1.0f);
	expect_error(o, "/ch/1/insert/2/plugin", "expected s plugin URI");
	oc_sendf(o, "/ch/1/insert/1/latency", 1.0f);
	expect_error(o, "/ch/1/insert/1/latency", "too many arguments");
	assert_int_equal(oc_count(o, from, "/error"), 16);
	/* nothing changed, and the engine still answers */
	assert_float_equal(qf(o, "/ch/1/insert/1/param/gain"), -5.0, 1e-6);
	assert_string_equal(oc_query(o, "/ch/1/insert/2/plugin")->str[0], "");
	struct rmsg *r = oc_query(o, "/status");
	assert_string_equal(r->str[1], "running");
	assert_true(r->num[7] >= 16);
	assert_int_equal(tl_wait_exit(F->pid, 0.0, NULL), -1);
	oc_close(o);
	stop_engine();
}

static void test_channel_counts(void **state)
{
	assert_int_equal(start_engine((const char *[]){"--channels", "2", NULL}), 0);
	struct oc *o = oc_open("127.0.0.1", F->port), *sub = oc_open("127.0.0.1", F->port);
	oc_sends(o, "/bus/add", "Verb");
	assert_non_null(oc_wait(o, "/bus/count", 3.0));
	/* GVerb (1 in, 2 out) on a mono strip: refused, the message naming the counts */
	oc_sends(o, "/ch/1/insert/1/plugin", GVERB);
	struct rmsg *r = oc_wait(o, "/error", 3.0);
	assert_non_null(r);
	printf("GVerb on a mono strip: %s\n", r->str[1]);
	assert_string_equal(r->str[0], "/ch/1/insert/1/plugin");
	assert_non_null(strstr(r->str[1], "insert 1 of strip 1"));
	assert_non_null(strstr(r->str[1], "1 audio input(s) and 2 output(s)"));
	assert_non_null(strstr(r->str[1], "mono"));
	assert_string_equal(oc_query(o, "/ch/1/insert/1/plugin")->str[0], "");
	/* on a bus and the master it loads */
	load(o, "/bus/1/insert/1/plugin", GVERB);
	assert_string_equal(oc_query(o, "/bus/1/insert/1/plugin")->str[0], GVERB);
	assert_int_equal((int)wait_running(o, "/bus/1/insert/1/latency", 1).num[1], 1);
	load(o, "/master/insert/8/plugin", AMP);
	set_exact(o, "/master/insert/8/param/gain", mf(-1.5f), "f", -1.5);
	set_exact(o, "/master/insert/8/bypass", mi(1), "i", 1);
	/* the bus slot's parameters list every GVerb control */
	int from = o->n;
	oc_send0(o, "/bus/1/insert/1/params");
	struct rmsg *end = oc_wait(o, "/bus/1/insert/1/params/end", 3.0);
	assert_non_null(end);
	printf("GVerb: %d parameters\n", (int)end->num[1]);
	assert_true(end->num[1] >= 5);
	assert_int_equal(oc_count(o, from, "/bus/1/insert/1/params"), (int)end->num[1]);

	/* a strip made mono under a GVerb: the build passes the signal through, and subscribers are told */
	set_exact(o, "/ch/2/stereo", mi(1), "i", 1);
	load(o, "/ch/2/insert/3/plugin", GVERB);
	assert_int_equal((int)wait_running(o, "/ch/2/insert/3/latency", 1).num[1], 1);
	oc_send0(sub, "/subscribe");
	assert_int_equal((int)oc_query(o, "/status")->num[4], 1);
	oc_drain(sub, 0.1);
	oc_sendm(o, "/ch/2/stereo", mi(0));
	r = oc_wait(sub, "/insert/error", 3.0);
	assert_non_null(r);
	printf("/insert/error: %s\n", r->str[0]);
	assert_non_null(strstr(r->str[0], "insert 3"));
	assert_non_null(strstr(r->str[0], "passes the signal through"));
	struct rmsg lat = wait_running(o, "/ch/2/insert/3/latency", 0);
	assert_int_equal((int)lat.num[0], 0);
	assert_int_equal((int)lat.num[1], 0); /* a placeholder */
	assert_string_equal(oc_query(o, "/ch/2/insert/3/plugin")->str[0], GVERB);
	/* the engine's log says it too */
	tl_sleep(0.2);
	char *text = tl_read_file(F->log);
	assert_non_null(text);
	assert_non_null(strstr(text, "insert 3: plugin <" GVERB ">"));
	free(text);
	oc_close(o);
	oc_close(sub);
	stop_engine();
}

/* the master's peaks over 0.5 s of clean signal, after `settle` seconds */
/* Plugin delay compensation at the JACK ports: a lookahead limiter (swh fastLookaheadLimiter, 240 frames at
 * 48 kHz) on a stereo strip makes the console's outputs report 240 frames more capture latency. */
static void test_port_latency(void **state)
{
	assert_int_equal(start_engine((const char *[]){"--channels", "0", NULL}), 0);
	struct oc *o = oc_open("127.0.0.1", F->port);
	lo_message m = lo_message_new();
	lo_message_add_string(m, "Lim");
	lo_message_add_int32(m, 1);
	oc_sendm(o, "/ch/add", m);
	assert_non_null(oc_wait(o, "/ch/count", 3.0));
	jack_status_t st;
	jack_client_t *jc = jack_client_open("platency", JackNoStartServer | JackServerName, &st, F->jackd.name);
	assert_non_null(jc);
	jack_latency_range_t r = {0, 0};
	jack_port_t *out = jack_port_by_name(jc, "mdplug:master_out_L");
	assert_non_null(out);
	jack_port_get_latency_range(out, JackCaptureLatency, &r);
	printf("master_out_L capture latency without plugins: %u..%u frames\n", r.min, r.max);
	assert_int_equal(r.max, 0);
	load(o, "/ch/1/insert/1/plugin", "http://plugin.org.uk/swh-plugins/fastLookaheadLimiter");
	double until = tl_now() + 5.0;
	while (tl_now() < until) {
		jack_port_get_latency_range(out, JackCaptureLatency, &r);
		if (r.min == 240)
			break;
		tl_sleep(0.05);
	}
	struct rmsg *q = oc_query(o, "/ch/1/insert/1/latency");
	printf("with the limiter (it reports %g frames): %u..%u frames\n", q ? q->num[0] : -1.0, r.min, r.max);
	assert_non_null(q);
	assert_float_equal(q->num[0], 240.0, 0);
	assert_int_equal(r.min, 240);
	assert_int_equal(r.max, 240);
	jack_client_close(jc);
	oc_close(o);
	stop_engine();
}

static void send_ff(struct oc *o, const char *path, float a, float b)
{
	lo_message m = lo_message_new();
	lo_message_add_float(m, a);
	lo_message_add_float(m, b);
	oc_sendm(o, path, m); /* frees m */
}

/* A plugin parameter's automation lane over OSC: mode, points (clamped to the port), clear; errors for an
 * unknown symbol and an unknown mode. */
static void test_param_lane(void **state)
{
	assert_int_equal(start_engine((const char *[]){"--channels", "1", NULL}), 0);
	struct oc *o = oc_open("127.0.0.1", F->port);
	load(o, "/ch/1/insert/2/plugin", AMP);
	struct rmsg *r = oc_query(o, "/ch/1/insert/2/param/gain/auto");
	assert_non_null(r);
	assert_string_equal(r->str[0], "off");
	oc_sends(o, "/ch/1/insert/2/param/gain/auto", "read");
	send_ff(o, "/ch/1/insert/2/param/gain/auto/add", 0.0f, 0.0f);
	send_ff(o, "/ch/1/insert/2/param/gain/auto/add", 2.0f, -24.0f);
	send_ff(o, "/ch/1/insert/2/param/gain/auto/add", 4.0f, -500.0f); /* clamped to -70 */
	assert_string_equal(oc_query(o, "/ch/1/insert/2/param/gain/auto")->str[0], "read");
	r = oc_query(o, "/ch/1/insert/2/param/gain/auto/points");
	assert_non_null(r);
	printf("amp's gain lane over OSC: %s %g %g %g %g %g %g\n", r->types, r->num[0], r->num[1], r->num[2], r->num[3],
	       r->num[4], r->num[5]);
	assert_string_equal(r->types, "ffffff");
	assert_float_equal(r->num[3], -24.0, 1e-6);
	assert_float_equal(r->num[5], -70.0, 1e-6);
	send_ff(o, "/ch/1/insert/2/param/gain/auto/clear", 1.0f, 3.0f);
	r = oc_query(o, "/ch/1/insert/2/param/gain/auto/points");
	assert_string_equal(r->types, "ffff");
	oc_sends(o, "/ch/1/insert/2/param/loud/auto", "read");
	r = oc_wait(o, "/error", 2.0);
	assert_non_null(r);
	assert_non_null(strstr(r->str[1], "unknown parameter 'loud'"));
	oc_sends(o, "/ch/1/insert/2/param/gain/auto", "sometimes");
	r = oc_wait(o, "/error", 2.0);
	assert_non_null(r);
	assert_non_null(strstr(r->str[1], "unknown mode"));
	oc_close(o);
	stop_engine();
}

static void master_peak(struct tl_jc *jc, double settle, double peak[2])
{
	double rms[2];
	tl_sleep(settle);
	assert_int_equal(tl_jc_measure_clean(jc, 0.5, peak, rms), 0);
}

static void test_amp_level(void **state)
{
	assert_int_equal(start_engine((const char *[]){"--channels", "1", NULL}), 0);
	struct tl_jc *jc = tl_jc_open(F->jackd.name, "plugtone", 1, 2);
	assert_non_null(jc);
	assert_int_equal(tl_jc_connect(jc, tl_jc_out(jc, 0), "mdplug:Ch1_in"), 0);
	assert_int_equal(tl_jc_connect(jc, "mdplug:master_out_L", tl_jc_in(jc, 0)), 0);
	assert_int_equal(tl_jc_connect(jc, "mdplug:master_out_R", tl_jc_in(jc, 1)), 0);
	tl_jc_sine(jc, 0, 1000.0, -12.0);
	struct oc *o = oc_open("127.0.0.1", F->port);
	double dry[2], unity[2], cut[2], bypassed[2];
	master_peak(jc, 0.3, dry);
	load(o, "/ch/1/insert/1/plugin", AMP);
	master_peak(jc, 0.3, unity);
	set_exact(o, "/ch/1/insert/1/param/gain", mf(-12.0f), "f", -12.0);
	master_peak(jc, 0.3, cut);
	set_exact(o, "/ch/1/insert/1/bypass", mi(1), "i", 1);
	master_peak(jc, 0.3, bypassed);
	printf("master peak L/R: dry %.3f/%.3f, amp at 0 dB %.3f/%.3f, amp at -12 dB %.3f/%.3f (a drop of "
	       "%.3f dB), bypassed %.3f/%.3f dBFS\n",
	       dry[0], dry[1], unity[0], unity[1], cut[0], cut[1], unity[0] - cut[0], bypassed[0], bypassed[1]);
	/* a -12 dBFS sine on a mono strip at centre, -3 dB pan law: -15 at each side of the master */
	for (int s = 0; s < 2; s++) {
		assert_float_equal(dry[s], -15.0, 0.1);
		assert_float_equal(unity[s], -15.0, 0.1);
		assert_float_equal(cut[s], -27.0, 0.1);
		assert_float_equal(unity[s] - cut[s], 12.0, 0.05);
		assert_float_equal(bypassed[s], -15.0, 0.1);
	}
	oc_close(o);
	tl_jc_close(jc);
	stop_engine();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_plugins_list, stop_if_running),
		cmocka_unit_test_teardown(test_amp_params, stop_if_running),
		cmocka_unit_test_teardown(test_bad_requests, stop_if_running),
		cmocka_unit_test_teardown(test_channel_counts, stop_if_running),
		cmocka_unit_test_teardown(test_amp_level, stop_if_running),
		cmocka_unit_test_teardown(test_param_lane, stop_if_running),
		cmocka_unit_test_teardown(test_port_latency, stop_if_running),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
