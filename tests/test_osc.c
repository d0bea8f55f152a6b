/* mixdesk tests: OSC control end to end. The real engine on a private jackd (dummy backend), real UDP OSC on
 * 127.0.0.1 built and parsed with liblo: every kind of parameter set and queried, errors, structure and
 * sessions, two subscribers kept in sync, coalescing of a sweep, meters against a played tone, pan at the
 * master, a flood of 50,000 messages, and the allowlist (a second loopback address). */
#include "osclient.h"
#include "testlib.h"

#include "engine/model/md.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <lo/lo.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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
	F->pid = tl_mixdesk_start(F->jackd.name, "mdosc", extra, F->log);
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

/* ---- tests ---- */

static void test_every_kind(void **state)
{
	assert_int_equal(start_engine((const char *[]){"--channels", "2", NULL}), 0);
	struct oc *o = oc_open("127.0.0.1", F->port);
	assert_non_null(o);

	/* a bus first, so sends exist */
	oc_sends(o, "/bus/add", "Reverb");
	struct rmsg *r = oc_wait(o, "/bus/count", 3.0);
	assert_non_null(r);
	assert_int_equal((int)r->num[0], 1);
	r = oc_wait(o, "/bus/1/name", 3.0);
	assert_non_null(r);
	assert_string_equal(r->str[0], "Reverb");

	/* float dB: f, i, d, h; clamped values come back */
	assert_float_equal(qf(o, "/ch/1/fader"), 0.0, 1e-6);
	set_exact(o, "/ch/1/fader", mf(-6.0f), "f", -6.0);
	set_exact(o, "/ch/1/fader", mi(-12), "f", -12.0);
	set_exact(o, "/ch/1/fader", md(-3.5), "f", -3.5);
	set_exact(o, "/ch/1/fader", mh(-20), "f", -20.0);
	set_corrected(o, "/ch/1/fader", mf(20.0f), "f", 10.0);
	set_corrected(o, "/ch/1/fader", mf(-500.0f), "f", -120.0);
	set_exact(o, "/ch/1/trim", mf(4.5f), "f", 4.5);
	/* pan */
	set_exact(o, "/ch/1/pan", mf(-0.5f), "f", -0.5);
	set_corrected(o, "/ch/1/pan", mf(2.0f), "f", 1.0);
	/* switches: i 0/1, f 0.0/1.0, T/F */
	set_exact(o, "/ch/1/mute", mi(1), "i", 1);
	set_exact(o, "/ch/1/mute", mi(0), "i", 0);
	set_exact(o, "/ch/1/mute", mf(1.0f), "i", 1);
	set_exact(o, "/ch/1/mute", mtf(false), "i", 0);
	set_exact(o, "/ch/1/solo", mtf(true), "i", 1);
	set_corrected(o, "/ch/1/polarity", mf(0.7f), "i", 1);
	set_exact(o, "/ch/1/eq/on", mi(1), "i", 1);
	/* enums: by name or index, answered by name */
	oc_sendm(o, "/ch/1/eq/2/type", ms("highshelf"));
	r = oc_query(o, "/ch/1/eq/2/type");
	assert_string_equal(r->str[0], "highshelf");
	oc_sendm(o, "/ch/1/eq/2/type", mi(0));
	r = oc_query(o, "/ch/1/eq/2/type");
	assert_string_equal(r->str[0], "lowshelf");
	oc_sendm(o, "/ch/1/eq/3/type", mi(7));
	r = oc_wait(o, "/ch/1/eq/3/type", 3.0); /* clamped to the last */
	assert_non_null(r);
	assert_string_equal(r->str[0], "highshelf");
	set_exact(o, "/ch/1/eq/2/gain", mf(-4.0f), "f", -4.0);
	set_exact(o, "/ch/1/eq/2/freq", mf(250.0f), "f", 250.0);
	set_exact(o, "/ch/1/eq/2/q", mf(2.0f), "f", 2.0);
	/* choices: snapped */
	set_exact(o, "/ch/1/hpf/slope", mi(24), "i", 24);
	set_corrected(o, "/ch/1/hpf/slope", mf(13.0f), "i", 12);
	set_corrected(o, "/ch/1/lpf/slope", mf(20.0f), "i", 24);
	set_exact(o, "/ch/1/hpf/on", mi(1), "i", 1);
	set_exact(o, "/ch/1/hpf/freq", mf(120.0f), "f", 120.0);
	set_corrected(o, "/ch/1/hpf/freq", mf(5.0f), "f", 20.0);
	set_exact(o, "/ch/1/comp/threshold", mf(-24.0f), "f", -24.0);
	set_exact(o, "/ch/1/gate/on", mi(1), "i", 1);
	/* sends: level, pre, and the level's fader position */
	set_exact(o, "/ch/1/send/1/level", mf(-10.0f), "f", -10.0);
	set_exact(o, "/ch/1/send/1/pre", mi(1), "i", 1);
	set_exact(o, "/ch/2/send/1/level/pos", mf(0.5f), "f", 0.5);
	assert_float_equal(qf(o, "/ch/2/send/1/level"), -10.0, 1e-4);
	/* bus and master */
	set_exact(o, "/bus/1/fader", mf(-4.0f), "f", -4.0);
	set_exact(o, "/bus/1/balance", mf(0.25f), "f", 0.25);
	set_exact(o, "/bus/1/mute", mtf(true), "i", 1);
	set_exact(o, "/bus/1/fader/pos", mf(0.25f), "f", 0.25);
	assert_float_equal(qf(o, "/bus/1/fader"), -30.0, 1e-4);
	set_exact(o, "/master/fader", mf(-2.0f), "f", -2.0);
	set_exact(o, "/master/mono", mi(1), "i", 1);
	set_exact(o, "/master/balance", mf(-0.1f), "f", -0.1);
	set_exact(o, "/master/pan_law", mf(-4.5f), "f", -4.5);
	set_corrected(o, "/master/pan_law", mf(-5.0f), "f", -4.5);
	set_corrected(o, "/master/fader/pos", mf(1.5f), "f", 1.0);
	assert_float_equal(qf(o, "/master/fader"), 10.0, 1e-4);
	/* the fader law, both ways */
	static const double law[][2] = {{1.0, 10},  {0.75, 0},     {0.5, -10},    {0.3, -26}, {0.25, -30},
					{0.1, -54}, {0.0625, -60}, {0.03, -75.6}, {0.0, -120}};
	for (size_t i = 0; i < sizeof law / sizeof law[0]; i++) {
		set_exact(o, "/ch/2/fader/pos", mf((float)law[i][0]), "f", law[i][0]);
		assert_float_equal(qf(o, "/ch/2/fader"), law[i][1], 1e-3);
	}
	set_exact(o, "/ch/2/fader", mf(-45.0f), "f", -45.0);
	assert_float_equal(qf(o, "/ch/2/fader/pos"), 0.15625, 1e-5);
	/* names and structure */
	oc_sendm(o, "/ch/1/name", ms("kick"));
	assert_string_equal(oc_query(o, "/ch/1/name")->str[0], "kick");
	lo_message m = lo_message_new();
	lo_message_add_string(m, "snare");
	lo_message_add_int32(m, 1);
	oc_sendm(o, "/ch/add", m);
	r = oc_wait(o, "/ch/count", 3.0);
	assert_non_null(r);
	assert_int_equal((int)r->num[0], 3);
	assert_string_equal(oc_wait(o, "/ch/3/name", 3.0)->str[0], "snare");
	assert_int_equal((int)qf(o, "/ch/3/stereo"), 1);
	set_exact(o, "/ch/3/stereo", mi(0), "i", 0);
	oc_sendm(o, "/bus/1/name", ms("Verb"));
	assert_string_equal(oc_query(o, "/bus/1/name")->str[0], "Verb");
	oc_send0(o, "/ch/3/remove");
	r = oc_wait(o, "/ch/count", 3.0);
	assert_non_null(r);
	assert_int_equal((int)r->num[0], 2);
	/* values survived the structural changes */
	assert_float_equal(qf(o, "/ch/1/send/1/level"), -10.0, 1e-4);
	/* a dump has everything, then /dump/end */
	int from = o->n;
	oc_send0(o, "/dump");
	assert_non_null(oc_wait(o, "/dump/end", 5.0));
	assert_int_equal(oc_count(o, from, "/ch/1/name"), 1);
	assert_int_equal(oc_count(o, from, "/ch/2/eq/4/q"), 1);
	assert_int_equal(oc_count(o, from, "/ch/1/fader/pos"), 1);
	assert_int_equal(oc_count(o, from, "/ch/1/send/1/pre"), 1);
	assert_int_equal(oc_count(o, from, "/ch/1/send/2/pre"), 0); /* no bus 2 */
	assert_int_equal(oc_count(o, from, "/master/pan_law"), 1);
	assert_int_equal(oc_count(o, from, "/bus/1/balance"), 1);
	/* status: version, xruns, strips, buses, subscribers, received, rejected, errors, rate, then JACK:
	 * running|gone, period, realtime, DSP load %, reconnects, then the sources: underruns, worst refill ms */
	r = oc_query(o, "/status");
	assert_int_equal(r->argc, 16);
	assert_string_equal(r->types, "siiiiiiiisiifiif");
	assert_int_equal((int)r->num[2], 2);
	assert_int_equal((int)r->num[3], 1);
	assert_int_equal((int)r->num[7], 0);
	assert_int_equal((int)r->num[8], 48000);
	assert_string_equal(r->str[1], "running");
	assert_int_equal((int)r->num[10], 256);
	assert_int_equal((int)r->num[11], tl_realtime_allowed() ? 1 : 0);
	assert_true(r->num[12] >= 0.0 && r->num[12] < 100.0);
	assert_int_equal((int)r->num[13], 0);
	oc_close(o);
	stop_engine();
}

static void test_sessions(void **state)
{
	/* no session: OSC may use the current folder, and the test's (tests/test_osc_sessions.c has the rest) */
	assert_int_equal(start_engine((const char *[]){"--channels", "3", "--session-dir", F->dir, NULL}), 0);
	struct oc *o = oc_open("127.0.0.1", F->port);
	char path[600];
	snprintf(path, sizeof path, "%s/osc-session.json", F->dir);
	/* no session loaded: save needs a path */
	oc_send0(o, "/session/save");
	expect_error(o, "/session/save", "path");
	oc_sendm(o, "/ch/2/fader", mf(-7.0f));
	oc_sendm(o, "/session/save", ms(path));
	struct rmsg *r = oc_wait(o, "/session/saved", 5.0);
	if (!r)
		fail_msg("no /session/saved");
	assert_string_equal(r->str[0], path);
	/* change, then load back: a subscriber sees the restored value */
	oc_sendm(o, "/ch/2/fader", mf(-30.0f));
	oc_sendm(o, "/ch/2/name", ms("vox"));
	assert_float_equal(qf(o, "/ch/2/fader"), -30.0, 1e-4);
	oc_send0(o, "/subscribe");
	oc_drain(o, 0.2);
	oc_sendm(o, "/session/load", ms(path));
	assert_non_null(oc_wait(o, "/session/loaded", 5.0));
	r = oc_wait(o, "/ch/2/name", 3.0); /* the subscriber's fresh dump */
	assert_non_null(r);
	assert_string_equal(r->str[0], "Ch2");
	assert_float_equal(qf(o, "/ch/2/fader"), -7.0, 1e-4);
	/* a broken file: /error with the loader's message, the console unchanged */
	oc_sendm(o, "/session/load", ms("/nonexistent/dir/x.json"));
	expect_error(o, "/session/load", "x.json");
	assert_float_equal(qf(o, "/ch/2/fader"), -7.0, 1e-4);
	/* save without a path now goes to the loaded file */
	oc_send0(o, "/session/save");
	r = oc_wait(o, "/session/saved", 5.0);
	assert_non_null(r);
	assert_string_equal(r->str[0], path);
	oc_close(o);
	stop_engine();
}

static void test_bad_input(void **state)
{
	assert_int_equal(start_engine((const char *[]){"--channels", "2", NULL}), 0);
	struct oc *o = oc_open("127.0.0.1", F->port);
	oc_sendm(o, "/ch/1/fader", mf(-6.0f));
	oc_send0(o, "/ch/1/nope");
	expect_error(o, "/ch/1/nope", "unknown address");
	oc_send0(o, "/frobnicate");
	expect_error(o, "/frobnicate", "unknown address");
	oc_send0(o, "/ch/*/fader");
	expect_error(o, "/ch/*/fader", "patterns");
	oc_sendm(o, "/ch/1/fader", ms("loud"));
	expect_error(o, "/ch/1/fader", "wrong type");
	oc_sendm(o, "/ch/1/mute", ms("on"));
	expect_error(o, "/ch/1/mute", "wrong type");
	oc_sendm(o, "/ch/1/fader", mtf(true));
	expect_error(o, "/ch/1/fader", "wrong type T/F");
	oc_sendm(o, "/ch/1/name", mf(1.0f));
	expect_error(o, "/ch/1/name", "expected s");
	oc_sendm(o, "/ch/1/eq/1/type", ms("bandpass"));
	expect_error(o, "/ch/1/eq/1/type", "lowshelf|peak|highshelf");
	lo_message m = lo_message_new();
	lo_message_add_float(m, 1.0f);
	lo_message_add_float(m, 2.0f);
	oc_sendm(o, "/ch/1/fader", m);
	expect_error(o, "/ch/1/fader", "too many arguments");
	oc_send0(o, "/ch/add");
	expect_error(o, "/ch/add", "missing");
	uint8_t blob_data[4] = {1, 2, 3, 4};
	lo_blob blob = lo_blob_new(4, blob_data);
	m = lo_message_new();
	lo_message_add_blob(m, blob);
	oc_sendm(o, "/ch/1/fader", m);
	lo_blob_free(blob);
	expect_error(o, "/ch/1/fader", "blob");
	oc_sendm(o, "/ch/1/fader", mf(NAN));
	expect_error(o, "/ch/1/fader", "NaN");
	oc_sendm(o, "/ch/1/fader", mf(INFINITY));
	expect_error(o, "/ch/1/fader", "infinity");
	oc_sendm(o, "/ch/1/pan", md(-INFINITY));
	expect_error(o, "/ch/1/pan", "infinity");
	/* out of range: clamped, and the clamp is the answer (no /error) */
	int from = o->n;
	oc_sendm(o, "/ch/1/trim", mf(50.0f));
	struct rmsg *r = oc_wait(o, "/ch/1/trim", 3.0);
	assert_non_null(r);
	assert_float_equal(r->num[0], 20.0, 1e-6);
	oc_sendm(o, "/ch/1/trim", md(1e300));
	r = oc_wait(o, "/ch/1/trim", 3.0);
	assert_non_null(r);
	assert_float_equal(r->num[0], 20.0, 1e-6);
	assert_int_equal(oc_count(o, from, "/error"), 0);
	/* a 10 KB name */
	char *big = malloc(10241);
	memset(big, 'x', 10240);
	big[10240] = '\0';
	oc_sendm(o, "/ch/1/name", ms(big));
	free(big);
	expect_error(o, "/ch/1/name", "too long");
	oc_sendm(o, "/ch/1/name", ms("a:b"));
	expect_error(o, "/ch/1/name", "':'");
	oc_sendm(o, "/ch/1/name", ms("Ch2"));
	expect_error(o, "/ch/1/name", "exists");
	/* strips and buses that do not exist */
	oc_sendm(o, "/ch/999/fader", mf(0.0f));
	expect_error(o, "/ch/999/fader", "no strip 999");
	oc_send0(o, "/ch/0/fader");
	expect_error(o, "/ch/0/fader", "no strip 0");
	oc_send0(o, "/bus/0/fader");
	expect_error(o, "/bus/0/fader", "no bus 0");
	oc_sendm(o, "/ch/1/send/5/level", mf(0.0f));
	expect_error(o, "/ch/1/send/5/level", "no bus 5");
	oc_send0(o, "/ch/1/send/1/level/pos");
	expect_error(o, "/ch/1/send/1/level/pos", "no bus 1");
	/* not OSC at all */
	static const char junk[] = "this is not OSC at all";
	sendto(o->fd, junk, sizeof junk, 0, (struct sockaddr *)&o->to, sizeof o->to);
	expect_error(o, "", "malformed");
	/* still running, nothing changed by the bad messages */
	assert_float_equal(qf(o, "/ch/1/fader"), -6.0, 1e-6);
	assert_string_equal(oc_query(o, "/ch/1/name")->str[0], "Ch1");
	r = oc_query(o, "/status");
	assert_true(r->num[7] >= 20);
	assert_int_equal(tl_wait_exit(F->pid, 0.0, NULL), -1);
	oc_close(o);
	stop_engine();
}

static void test_two_subscribers(void **state)
{
	assert_int_equal(start_engine((const char *[]){"--channels", "2", NULL}), 0);
	struct oc *a = oc_open("127.0.0.1", F->port), *b = oc_open("127.0.0.1", F->port),
		  *c = oc_open("127.0.0.1", F->port);
	oc_send0(a, "/subscribe");
	oc_sendf(b, "/subscribe", 0.0f);
	assert_int_equal((int)oc_query(c, "/status")->num[4], 2); /* the subscriptions are in */
	oc_drain(a, 0.1);
	oc_drain(b, 0.1);
	double t0 = tl_now();
	oc_sendf(c, "/ch/2/fader", -7.5f);
	struct rmsg *ra = oc_wait(a, "/ch/2/fader", 2.0), *rb = oc_wait(b, "/ch/2/fader", 2.0);
	assert_non_null(ra);
	assert_non_null(rb);
	assert_float_equal(ra->num[0], -7.5, 1e-6);
	assert_float_equal(rb->num[0], -7.5, 1e-6);
	printf("feedback latency: A %.1f ms, B %.1f ms\n", (ra->t - t0) * 1e3, (rb->t - t0) * 1e3);
	assert_true(ra->t - t0 < 0.1);
	assert_true(rb->t - t0 < 0.1);
	ra = oc_wait(a, "/ch/2/fader/pos", 1.0);
	assert_non_null(ra);
	assert_float_equal(ra->num[0], md_fader_db_to_pos(-7.5f), 1e-5);
	/* the setter, not subscribed, gets nothing back for an exact set */
	oc_drain(c, 0.2);
	assert_int_equal(oc_count(c, 0, "/ch/2/fader"), 0);
	/* a subscriber's own set is not echoed to it, but reaches the other */
	int froma = a->n;
	oc_sendf(a, "/ch/1/pan", 0.25f);
	rb = oc_wait(b, "/ch/1/pan", 1.0);
	assert_non_null(rb);
	assert_float_equal(rb->num[0], 0.25, 1e-6);
	oc_drain(a, 0.2);
	assert_int_equal(oc_count(a, froma, "/ch/1/pan"), 0);
	/* a structural change: the names and counts again */
	oc_sends(c, "/ch/add", "extra");
	ra = oc_wait(a, "/ch/3/name", 2.0);
	assert_non_null(ra);
	assert_string_equal(ra->str[0], "extra");
	assert_non_null(oc_wait(b, "/ch/3/name", 2.0));
	/* /unsubscribe stops it; a lapsed subscription (no renewal in 10 s) stops too */
	oc_send0(b, "/unsubscribe");
	assert_int_equal((int)oc_query(c, "/status")->num[4], 1);
	int fromb = b->n;
	tl_sleep(10.3);
	assert_int_equal((int)oc_query(c, "/status")->num[4], 0);
	froma = a->n;
	oc_sendf(c, "/ch/1/fader", -1.0f);
	oc_drain(a, 0.3);
	oc_drain(b, 0.1);
	assert_int_equal(oc_count(b, fromb, "/ch/1/fader"), 0);
	assert_int_equal(oc_count(a, froma, "/ch/1/fader"), 0);
	oc_close(a);
	oc_close(b);
	oc_close(c);
	stop_engine();
}

static void test_coalescing(void **state)
{
	assert_int_equal(start_engine((const char *[]){"--channels", "2", NULL}), 0);
	struct oc *a = oc_open("127.0.0.1", F->port), *c = oc_open("127.0.0.1", F->port);
	oc_send0(a, "/subscribe");
	qf(a, "/ch/1/fader");
	oc_drain(a, 0.1);
	int from = a->n;
	double t0 = tl_now();
	float last = 0;
	for (int k = 0; k < 300; k++) { /* 300 sets in 1 s */
		last = -60.0f + 0.2f * (float)k;
		oc_sendf(c, "/ch/1/fader", last);
		double next = t0 + (k + 1) / 300.0;
		double now = tl_now();
		if (next > now)
			tl_sleep(next - now);
		if (k % 10 == 0)
			oc_wait(a, NULL, 0.0);
	}
	double sweep = tl_now() - t0;
	oc_wait(a, NULL, 0.3);
	int n = oc_count(a, from, "/ch/1/fader"), np = oc_count(a, from, "/ch/1/fader/pos");
	double fin = 0;
	for (int i = from; i < a->n; i++)
		if (strcmp(a->log[i].path, "/ch/1/fader") == 0)
			fin = a->log[i].num[0];
	printf("sweep of 300 sets in %.2f s: %d fader updates (%d /pos) at the subscriber, %.1f/s, last %.2f\n", sweep,
	       n, np, n / sweep, fin);
	assert_true(n <= 35.0 * (sweep + 0.1));
	assert_true(n >= 10);
	assert_int_equal(n, np);
	assert_float_equal(fin, last, 1e-4);
	oc_close(a);
	oc_close(c);
	stop_engine();
}

/* the latest /meters and /ch/1/meter a subscriber received */
static void meters_now(struct oc *o, double seconds, struct rmsg *vec, struct rmsg *strip, struct rmsg *master)
{
	oc_wait(o, NULL, seconds);
	int have = 0;
	for (int i = o->n - 1; i >= 0 && have != 7; i--) {
		if (!(have & 1) && strcmp(o->log[i].path, "/meters") == 0)
			*vec = o->log[i], have |= 1;
		if (!(have & 2) && strcmp(o->log[i].path, "/ch/1/meter") == 0)
			*strip = o->log[i], have |= 2;
		if (!(have & 4) && strcmp(o->log[i].path, "/master/meter") == 0)
			*master = o->log[i], have |= 4;
	}
	assert_int_equal(have, 7);
}

static void test_meters_and_pan(void **state)
{
	assert_int_equal(start_engine((const char *[]){"--channels", "2", NULL}), 0);
	struct tl_jc *jc = tl_jc_open(F->jackd.name, "osctone", 1, 2);
	assert_non_null(jc);
	assert_int_equal(tl_jc_connect(jc, tl_jc_out(jc, 0), "mdosc:Ch1_in"), 0);
	assert_int_equal(tl_jc_connect(jc, "mdosc:master_out_L", tl_jc_in(jc, 0)), 0);
	assert_int_equal(tl_jc_connect(jc, "mdosc:master_out_R", tl_jc_in(jc, 1)), 0);
	tl_jc_sine(jc, 0, 1000.0, -12.0);
	struct oc *o = oc_open("127.0.0.1", F->port);
	oc_sendf(o, "/subscribe", 25.0f);
	tl_sleep(1.0); /* the RMS meter settles (~300 ms) */
	struct rmsg vec, strip, master;
	meters_now(o, 0.5, &vec, &strip, &master);
	/* /meters: strip 1 (peak, RMS), strip 2, master (peak L, peak R, RMS L, RMS R, correlation), GR x2 */
	assert_int_equal(vec.argc, 2 * 2 + 5 + 2);
	printf("strip 1: peak %.3f RMS %.3f dBFS; master peak %.3f/%.3f RMS %.3f/%.3f corr %.3f\n", vec.num[0],
	       vec.num[1], vec.num[4], vec.num[5], vec.num[6], vec.num[7], vec.num[8]);
	/* post-fader, pre-pan: the tone as played */
	assert_float_equal(vec.num[0], -12.0, 0.1);
	assert_float_equal(vec.num[1], -15.01, 0.1);
	assert_float_equal(strip.num[0], -12.0, 0.1);
	assert_float_equal(strip.num[1], -15.01, 0.1);
	assert_true(vec.num[2] <= -119.0); /* strip 2 is silent */
	/* the master, centre pan at the -3 dB law */
	assert_float_equal(vec.num[4], -15.0, 0.1);
	assert_float_equal(vec.num[5], -15.0, 0.1);
	assert_float_equal(vec.num[6], -18.01, 0.1);
	assert_float_equal(vec.num[7], -18.01, 0.1);
	assert_float_equal(vec.num[8], 1.0, 0.01);
	assert_float_equal(master.num[0], -15.0, 0.1);
	/* meter rate as asked: ~25 per second */
	int from = o->n;
	oc_wait(o, NULL, 1.0);
	int nm = oc_count(o, from, "/meters");
	printf("/meters at 25 Hz: %d in 1 s\n", nm);
	assert_true(nm >= 20 && nm <= 27);
	/* a controller that polls instead of subscribing gets the meters it asks for, while the subscriber's
	 * keep coming (a query takes no peak from them) */
	struct oc *poller = oc_open("127.0.0.1", F->port);
	struct rmsg q = *oc_query(poller, "/ch/1/meter");
	assert_int_equal(q.argc, 2);
	assert_float_equal(q.num[0], -12.0, 0.1);
	assert_float_equal(q.num[1], -15.01, 0.1);
	q = *oc_query(poller, "/ch/2/meter");
	assert_true(q.num[0] <= -119.0);
	q = *oc_query(poller, "/master/meter");
	assert_int_equal(q.argc, 4);
	assert_float_equal(q.num[0], -15.0, 0.1);
	assert_float_equal(q.num[3], -18.01, 0.1);
	oc_send0(poller, "/ch/3/meter");
	expect_error(poller, "/ch/3/meter", "no strip 3");
	oc_send0(poller, "/bus/1/meter");
	expect_error(poller, "/bus/1/meter", "no bus 1");
	oc_close(poller);
	meters_now(o, 0.5, &vec, &strip, &master);
	assert_float_equal(strip.num[0], -12.0, 0.1);

	/* pan hard left: the tone fully left at its own level, silence right (measured at the master ports) */
	oc_sendf(o, "/ch/1/pan", -1.0f);
	tl_sleep(0.3);
	double peak[2], rms[2];
	assert_int_equal(tl_jc_measure_clean(jc, 0.5, peak, rms), 0);
	printf("pan -1 at the master: L peak %.3f RMS %.3f, R peak %.3f dBFS\n", peak[0], rms[0], peak[1]);
	assert_float_equal(peak[0], -12.0, 0.1);
	assert_float_equal(rms[0], -15.01, 0.1);
	assert_true(peak[1] < -100.0);
	meters_now(o, 0.6, &vec, &strip, &master);
	assert_float_equal(vec.num[4], -12.0, 0.1);
	assert_true(vec.num[5] <= -100.0);
	oc_close(o);
	tl_jc_close(jc);
	stop_engine();
}

struct flood {
	int port;
	int sent;
	double seconds;
};

static void *flood_thread(void *arg)
{
	struct flood *f = arg;
	/* the sender stands in for a tablet on another machine: it must not take this machine's CPU from the
	 * audio path it is testing (this thread only: Linux renices a thread id) */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
	struct oc *o = oc_open("127.0.0.1", f->port);
	static const char *const paths[] = {"/ch/2/fader",     "/ch/3/fader",        "/ch/4/fader", "/ch/2/pan",
					    "/ch/3/eq/2/gain", "/ch/4/send/1/level", "/ch/2/mute",  "/bus/1/fader"};
	double t0 = tl_now();
	for (int k = 0; k < 50000; k++) {
		const char *p = paths[k % 8];
		float v = strstr(p, "pan")    ? (float)((k % 200) / 100.0 - 1.0)
			  : strstr(p, "mute") ? (float)(k & 1)
			  : strstr(p, "gain") ? (float)((k % 36) - 18)
					      : (float)(-(k % 60));
		oc_sendf(o, p, v);
		f->sent++;
		if (k % 250 == 249) {
			oc_drain(o, 0.0);
			tl_sleep(0.018); /* 50,000 in about 4 s */
		}
	}
	f->seconds = tl_now() - t0;
	oc_close(o);
	return NULL;
}

static void test_flood(void **state)
{
	assert_int_equal(start_engine((const char *[]){"--channels", "4", NULL}), 0);
	struct tl_jc *jc = tl_jc_open(F->jackd.name, "oscflood", 1, 2);
	assert_non_null(jc);
	assert_int_equal(tl_jc_connect(jc, tl_jc_out(jc, 0), "mdosc:Ch1_in"), 0);
	assert_int_equal(tl_jc_connect(jc, "mdosc:master_out_L", tl_jc_in(jc, 0)), 0);
	assert_int_equal(tl_jc_connect(jc, "mdosc:master_out_R", tl_jc_in(jc, 1)), 0);
	tl_jc_sine(jc, 0, 1000.0, -12.0);
	struct oc *o = oc_open("127.0.0.1", F->port);
	oc_sends(o, "/bus/add", "fx");
	assert_non_null(oc_wait(o, "/bus/count", 3.0));
	oc_send0(o, "/subscribe"); /* feedback flows during the flood too */
	tl_sleep(0.5);
	/* An xrun under a flood would mean the audio thread waits for, or works for, the control side. The
	 * test server runs realtime where the system allows (tl_realtime_allowed), and the flood's xruns are
	 * judged against a baseline: the same server, the same engine, for as long as the flood lasted, without
	 * it, right after. A flood passes when it adds no xrun to what the machine does on its own; one that
	 * does is repeated, at most three times. Every attempt must deliver every message and keep the master
	 * exact. */
	int clean = -1;
	for (int attempt = 0; attempt < 3 && clean < 0; attempt++) {
		struct rmsg st = *oc_query(o, "/status");
		int xruns0 = (int)st.num[1], recv0 = (int)st.num[5];
		struct flood f = {.port = F->port};
		pthread_t th;
		pthread_create(&th, NULL, flood_thread, &f);
		tl_sleep(0.3);
		double peak[2], rms[2];
		/* the master while the flood runs: 1 s of it that no xrun touched (an xrun's stale or missing
		 * periods would lower the RMS by more than the tolerance: -18.15 dB once under ASan in CI) */
		unsigned spoiled = tl_jc_measure_clean(jc, 1.0, peak, rms);
		pthread_join(th, NULL);
		oc_drain(o, 0.3); /* the feedback of the flood */
		tl_sleep(0.3);
		st = *oc_query(o, "/status");
		int received = (int)st.num[5] - recv0 - 1; /* the /status query */
		int xruns = (int)st.num[1] - xruns0;
		printf("flood %d: %d messages sent in %.2f s (%.0f/s), %d received by the engine, %d xruns; "
		       "master during the flood: peak %.3f/%.3f RMS %.3f/%.3f dBFS (%u chunks of 0.1 s left out "
		       "for an xrun)\n",
		       attempt + 1, f.sent, f.seconds, f.sent / f.seconds, received, xruns, peak[0], peak[1], rms[0],
		       rms[1], spoiled);
		assert_int_equal(f.sent, 50000);
		assert_true(received >= 49000); /* the kernel may drop a few if the machine is loaded */
		assert_float_equal(peak[0], -15.0, 0.1);
		assert_float_equal(peak[1], -15.0, 0.1);
		assert_float_equal(rms[0], -18.01, 0.1);
		assert_float_equal(rms[1], -18.01, 0.1);
		assert_float_equal(qf(o, "/ch/4/fader"), -(49994 % 60), 1e-6); /* the flood's last value there */
		/* the baseline: as long as the flood and its drain took, quiet */
		int quiet0 = (int)oc_query(o, "/status")->num[1];
		tl_sleep(f.seconds + 0.9);
		int baseline = (int)oc_query(o, "/status")->num[1] - quiet0;
		printf("flood %d: %d xruns with the flood, %d in the same time without it (%s scheduling)\n",
		       attempt + 1, xruns, baseline, tl_jc_scheduling(jc));
		if (xruns <= baseline)
			clean = attempt;
	}
#if defined(__SANITIZE_ADDRESS__)
	/* Under ASan (2-5x slower code) on a shared 2-core CI machine, the flood's busy threads made xruns in
	 * all three attempts once: a sanitizer build checks memory, not deadlines, so there the xruns are
	 * said and every other figure above is still asserted. */
	if (clean < 0)
		printf("flood: xruns above the baseline in every attempt (ASan build: not judged)\n");
#else
	assert_true(clean >= 0);
#endif
	/* final values, after the flood */
	oc_sendf(o, "/ch/2/fader", -33.0f);
	oc_sendf(o, "/ch/3/eq/2/gain", 7.0f);
	oc_sendf(o, "/bus/1/fader", -2.5f);
	assert_float_equal(qf(o, "/ch/2/fader"), -33.0, 1e-6);
	assert_float_equal(qf(o, "/ch/3/eq/2/gain"), 7.0, 1e-6);
	assert_float_equal(qf(o, "/bus/1/fader"), -2.5, 1e-6);
	assert_float_equal(qf(o, "/ch/1/fader"), 0.0, 1e-6);
	oc_close(o);
	tl_jc_close(jc);
	stop_engine();
}

static void test_allowlist(void **state)
{
	assert_int_equal(start_engine((const char *[]){"--osc-bind", "0.0.0.0", "--osc-allow", "127.0.0.1/32",
						       "--channels", "2", NULL}),
			 0);
	struct oc *bad = oc_open("127.0.0.2", F->port), *good = oc_open("127.0.0.1", F->port);
	assert_non_null(bad);
	oc_sendf(bad, "/ch/1/fader", -20.0f);
	oc_sendf(bad, "/ch/1/fader", 99.0f); /* would be answered with the clamp */
	oc_send0(bad, "/ch/1/fader");
	oc_send0(bad, "/status");
	oc_send0(bad, "/subscribe");
	oc_send0(bad, "/nonsense");
	oc_drain(bad, 0.5);
	assert_int_equal(bad->n, 0);
	assert_float_equal(qf(good, "/ch/1/fader"), 0.0, 1e-6);
	struct rmsg *r = oc_query(good, "/status");
	assert_int_equal((int)r->num[6], 6); /* rejected */
	assert_int_equal((int)r->num[4], 0); /* no subscriber */
	oc_close(bad);
	oc_close(good);
	stop_engine();

	/* bad allowlist entries and bind addresses: a clear message and exit status 2 (a wrong option), before
	 * any JACK server is contacted (the server named here does not exist); an address that is well formed
	 * but not on this machine cannot be bound: status 1 */
	const char *const cases[][3] = {{"--osc-allow", "300.1.1.1/8", "is not a network"},
					{"--osc-allow", "10.0.0.0/33", "is not a network"},
					{"--osc-bind", "localhost:x", "is not an IPv4 or IPv6 address"},
					{"--osc-bind", "192.0.2.1", "cannot bind UDP 192.0.2.1"}};
	for (int i = 0; i < 4; i++) {
		char log[600];
		snprintf(log, sizeof log, "%s/bad-%d.log", F->dir, i);
		const char *argv[] = {tl_mixdesk(), "--server",  i < 3 ? "mdtest-nosuchserver" : F->jackd.name,
				      "--name",     "mdbad",     "--osc-port",
				      "0",          cases[i][0], cases[i][1],
				      NULL};
		pid_t pid = tl_spawn(argv, log);
		int st = -1;
		if (tl_wait_exit(pid, 60.0, &st) != 0)
			st = tl_stop(pid);
		char *text = tl_read_file(log);
		assert_int_equal(st, i < 3 ? 2 : 1);
		assert_non_null(text);
		if (!strstr(text, cases[i][2]))
			fail_msg("'%s %s' said: %s", cases[i][0], cases[i][1], text);
		free(text);
	}
}

/* the mixdesk-osc tool against the engine */
static void test_cli(void **state)
{
	assert_int_equal(start_engine((const char *[]){"--channels", "2", NULL}), 0);
	char port[16], cmd[2048];
	snprintf(port, sizeof port, "%d", F->port);
	char tool[600];
	snprintf(tool, sizeof tool, "%s/mixdesk-osc", tl_build());
	struct {
		const char *args;
		int status;
		const char *out;
	} cases[] = {
		{"set /ch/1/fader -6", 0, "/ch/1/fader -6"},
		{"get /ch/1/fader", 0, "/ch/1/fader -6"},
		{"set /ch/1/fader 40", 0, "/ch/1/fader 10"},
		{"set /ch/1/mute i 1", 0, "/ch/1/mute 1"},
		{"set /ch/1/eq/2/type highshelf", 0, "/ch/1/eq/2/type highshelf"},
		{"set /ch/1/name kick", 0, "/ch/1/name kick"},
		{"get /ch/9/fader", 1, "no strip 9"},
		{"set /ch/1/fader loud", 1, "wrong type"},
		{"status", 0, "/status 0."},
		{"dump", 0, "/dump/end"},
		{"send /ch/add snare", 0, "/ch/3/name snare"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[600];
		snprintf(out, sizeof out, "%s/cli.out", F->dir);
		snprintf(cmd, sizeof cmd, "'%s' -p %s %s > '%s' 2>&1", tool, port, cases[i].args, out);
		int st = system(cmd);
		char *text = tl_read_file(out);
		assert_non_null(text);
		if (WEXITSTATUS(st) != cases[i].status || !strstr(text, cases[i].out))
			fail_msg("mixdesk-osc %s: status %d, output:\n%s", cases[i].args, WEXITSTATUS(st), text);
		free(text);
	}
	/* nothing listening: a timeout, status 1 */
	snprintf(cmd, sizeof cmd, "'%s' -p 9 -t 0.3 get /ch/1/fader > /dev/null 2>&1", tool);
	assert_int_equal(WEXITSTATUS(system(cmd)), 1);
	stop_engine();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_kind),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_two_subscribers),
		cmocka_unit_test(test_coalescing),
		cmocka_unit_test(test_meters_and_pan),
		cmocka_unit_test(test_flood),
		cmocka_unit_test(test_allowlist),
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_cli),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
