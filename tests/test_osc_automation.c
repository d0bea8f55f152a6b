/* mixdesk tests: automation over OSC, end to end: the real engine on a private jackd (dummy backend), the
 * JACK transport moved over OSC, touch and latch passes recorded from scripted controller moves and thinned
 * as docs/AUTOMATION.md says, read mode against manual moves, point edits, position feedback, errors. */
#include "osclient.h"
#include "testlib.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
	struct tl_jackd jackd;
	char *dir;
	char log[512];
	pid_t pid;
	struct oc *o;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	*state = f; /* teardown runs even when setup fails */
	f->dir = tl_tmpdir();
	snprintf(f->log, sizeof f->log, "%s/mixdesk.log", f->dir);
	if (tl_jackd_start(&f->jackd, 48000, 256) != 0)
		return -1;
	f->pid = tl_mixdesk_start(f->jackd.name, "mdauto", (const char *[]){"--channels", "2", NULL}, f->log);
	int port = f->pid > 0 ? tl_mixdesk_osc_port(f->log, 10.0) : -1;
	if (port <= 0 || !(f->o = oc_open("127.0.0.1", port)))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (!f)
		return 0;
	if (f->o)
		oc_close(f->o);
	if (f->pid > 0)
		tl_stop(f->pid);
	tl_jackd_stop(&f->jackd);
	tl_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static lo_message tv(float t, float v)
{
	lo_message m = lo_message_new();
	lo_message_add_float(m, t);
	lo_message_add_float(m, v);
	return m;
}

static lo_message ptv(int point, float t, float v)
{
	lo_message m = lo_message_new();
	lo_message_add_int32(m, point);
	lo_message_add_float(m, t);
	lo_message_add_float(m, v);
	return m;
}

/* the points of a lane: pairs (seconds, value) */
static int points(struct oc *o, const char *lane, double *t, double *v, int max)
{
	struct rmsg *r = oc_query(o, lane);
	int n = r->argc / 2;
	if (n > OC_MAXARGS / 2)
		fail_msg("%s: %d points, more than this client keeps", lane, n);
	for (int i = 0; i < n && i < max; i++) {
		t[i] = r->num[2 * i];
		v[i] = r->num[2 * i + 1];
	}
	return n;
}

/* position and rolling state */
static double position(struct oc *o, int *rolling)
{
	struct rmsg *r = oc_query(o, "/transport/position");
	if (rolling)
		*rolling = (int)r->num[1];
	return r->num[0];
}

static void roll_from(struct oc *o, double seconds)
{
	oc_send0(o, "/transport/stop");
	oc_sendf(o, "/transport/locate", (float)seconds);
	tl_sleep(0.2);
	oc_send0(o, "/transport/play");
	int rolling = 0;
	for (int i = 0; i < 50 && !rolling; i++) {
		tl_sleep(0.02);
		position(o, &rolling);
	}
	assert_int_equal(rolling, 1);
}

static void test_transport(void **state)
{
	struct fixture *f = *state;
	int rolling;
	oc_sendf(f->o, "/transport/locate", 2.5f);
	tl_sleep(0.2);
	assert_float_equal(position(f->o, &rolling), 2.5, 0.01);
	assert_int_equal(rolling, 0);
	/* a subscriber is told the position while it rolls */
	oc_send0(f->o, "/subscribe");
	int from = f->o->n;
	oc_send0(f->o, "/transport/play");
	oc_drain(f->o, 0.6);
	int updates = oc_count(f->o, from, "/transport/position");
	assert_true(updates >= 3 && updates <= 9); /* ten a second */
	oc_send0(f->o, "/transport/stop");
	tl_sleep(0.2);
	double p = position(f->o, &rolling);
	assert_int_equal(rolling, 0);
	assert_true(p > 2.9 && p < 3.6);
	oc_send0(f->o, "/unsubscribe");
	oc_sendf(f->o, "/transport/locate", -1.0f);
	expect_error(f->o, "/transport/locate", "before the start");
}

/* touch: the pass between touch 1 and touch 0 is recorded, thinned to within 0.1 dB, and then plays back */
static void test_touch_pass(void **state)
{
	struct fixture *f = *state;
	struct oc *o = f->o;
	oc_sends(o, "/ch/1/fader/auto", "touch");
	assert_string_equal(oc_query(o, "/ch/1/fader/auto")->str[0], "touch");
	oc_sendf(o, "/ch/1/fader", -30.0f); /* the fader is where the ride starts when it is touched */
	roll_from(o, 0.0);
	oc_sendm(o, "/ch/1/fader/touch", mi(1));
	double t0 = position(o, NULL);
	/* a linear ride from -30 to -10 dB over about a second, one move every 10 ms as a tablet sends them */
	for (int i = 0; i <= 100; i++) {
		oc_sendf(o, "/ch/1/fader", -30.0f + 0.2f * (float)i);
		tl_sleep(0.01);
	}
	oc_sendm(o, "/ch/1/fader/touch", mi(0));
	double t1 = position(o, NULL);
	tl_sleep(0.2);
	double t[64], v[64];
	int n = points(o, "/ch/1/fader/auto/points", t, v, 64);
	printf("touch pass %.3f..%.3f s thinned to %d points:", t0, t1, n);
	for (int i = 0; i < n && i < 64; i++)
		printf(" (%.3f, %.2f)", t[i], v[i]);
	printf("\n");
	/* a straight ride needs few points: its ends, and what the arrival jitter of the moves adds (the exact
	 * thinning is proven in test_auto_record, where the times are scripted) */
	assert_true(n >= 2 && n <= 30);
	assert_float_equal(v[0], -30.0, 0.21);
	assert_float_equal(v[n - 1], -10.0, 0.21);
	assert_true(t[0] >= t0 - 0.1 && t[n - 1] <= t1 + 0.1);
	for (int i = 1; i < n; i++)
		assert_true(t[i] > t[i - 1] && v[i] >= v[i - 1] - 0.1);
	/* the lane plays: located into the pass while stopped, the fader shows the lane's value there */
	oc_send0(o, "/transport/stop");
	double mid = 0.5 * (t[0] + t[n - 1]);
	oc_sendf(o, "/transport/locate", (float)mid);
	tl_sleep(0.2);
	double expect = v[0];
	for (int i = 0; i + 1 < n; i++)
		if (mid >= t[i] && mid <= t[i + 1])
			expect = v[i] + (mid - t[i]) / (t[i + 1] - t[i]) * (v[i + 1] - v[i]);
	assert_float_equal(qf(o, "/ch/1/fader"), expect, 0.01);
}

/* latch: after the release the last value keeps being written until the transport stops */
static void test_latch_pass(void **state)
{
	struct fixture *f = *state;
	struct oc *o = f->o;
	oc_sends(o, "/ch/2/pan/auto", "latch");
	roll_from(o, 0.0);
	oc_sendm(o, "/ch/2/pan/touch", mi(1));
	for (int i = 0; i <= 20; i++) {
		oc_sendf(o, "/ch/2/pan", -1.0f + 0.05f * (float)i); /* -1 .. 0 */
		tl_sleep(0.01);
	}
	oc_sendm(o, "/ch/2/pan/touch", mi(0));
	double released = position(o, NULL);
	tl_sleep(0.6);
	oc_send0(o, "/transport/stop");
	tl_sleep(0.2);
	double t[64], v[64];
	int n = points(o, "/ch/2/pan/auto/points", t, v, 64);
	assert_true(n >= 2 && n <= 15);
	assert_float_equal(v[0], -1.0, 0.011);
	assert_float_equal(v[n - 1], 0.0, 0.011);
	assert_true(t[n - 1] > released + 0.4); /* held on after the release */
}

/* read: the lane drives the parameter; a manual move while rolling lasts only until the lane's next value */
static void test_read_mode_and_edits(void **state)
{
	struct fixture *f = *state;
	struct oc *o = f->o;
	oc_send0(o, "/ch/2/fader/auto/clear");
	struct rmsg *r = oc_query(o, "/ch/2/fader/auto/points");
	assert_int_equal(r->argc, 0);
	oc_sendm(o, "/ch/2/fader/auto/add", tv(0.0f, -24.0f));
	oc_sendm(o, "/ch/2/fader/auto/add", tv(60.0f, -24.0f));
	oc_sends(o, "/ch/2/fader/auto", "read");
	roll_from(o, 1.0);
	oc_sendf(o, "/ch/2/fader", -3.0f);
	tl_sleep(0.2);
	assert_float_equal(qf(o, "/ch/2/fader"), -24.0, 0.001);
	oc_send0(o, "/transport/stop");
	/* move point 2 to 30 s, -12 dB; then the lane reads -18 at 15 s */
	oc_sendm(o, "/ch/2/fader/auto/move", ptv(2, 30.0f, -12.0f));
	oc_sendf(o, "/transport/locate", 15.0f);
	tl_sleep(0.2);
	assert_float_equal(qf(o, "/ch/2/fader"), -18.0, 0.01);
	/* rolling through the ramp, a subscriber sees the fader move by itself */
	oc_send0(o, "/subscribe");
	oc_drain(o, 0.2);
	int from = o->n;
	roll_from(o, 14.0);
	oc_drain(o, 0.6);
	oc_send0(o, "/transport/stop");
	int moves = 0;
	double first = 0, last = 0;
	for (int i = from; i < o->n; i++)
		if (strcmp(o->log[i].path, "/ch/2/fader") == 0) {
			if (moves++ == 0)
				first = o->log[i].num[0];
			last = o->log[i].num[0];
		}
	printf("lane playback: %d fader updates at the subscriber, %.3f -> %.3f dB\n", moves, first, last);
	assert_true(moves >= 5);
	assert_true(last > first && first > -18.5 && last < -17.0); /* -24 + 12 * t / 30 around t = 14.5 s */
	oc_send0(o, "/unsubscribe");
	oc_sendm(o, "/ch/2/fader/auto/delete", mi(1));
	double t[4], v[4];
	assert_int_equal(points(o, "/ch/2/fader/auto/points", t, v, 4), 1);
	assert_float_equal(t[0], 30.0, 1e-4);
	/* off: the lane is ignored and a manual move stays */
	oc_sends(o, "/ch/2/fader/auto", "off");
	oc_sendf(o, "/ch/2/fader", -7.0f);
	oc_sendf(o, "/transport/locate", 31.0f);
	tl_sleep(0.2);
	assert_float_equal(qf(o, "/ch/2/fader"), -7.0, 0.001);
}

static void test_errors(void **state)
{
	struct fixture *f = *state;
	struct oc *o = f->o;
	oc_sends(o, "/ch/1/solo/auto", "read");
	expect_error(o, "/ch/1/solo/auto", "cannot be automated");
	oc_sends(o, "/ch/1/fader/auto", "sometimes");
	expect_error(o, "/ch/1/fader/auto", "unknown mode");
	oc_sendm(o, "/ch/1/fader/auto/delete", mi(99));
	expect_error(o, "/ch/1/fader/auto/delete", "no point 99");
	oc_sendm(o, "/ch/9/fader/touch", mi(1));
	expect_error(o, "/ch/9/fader/touch", "no strip 9");
	oc_sendm(o, "/ch/1/nothing/auto", ms("read"));
	expect_error(o, "/ch/1/nothing/auto", "unknown parameter");
	oc_sendf(o, "/ch/1/fader/auto/clear", 1.0f);
	expect_error(o, "/ch/1/fader/auto/clear", "one time given");
	/* still answering */
	assert_string_equal(oc_query(o, "/ch/1/fader/auto")->str[0], "touch");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transport),  cmocka_unit_test(test_touch_pass),
		cmocka_unit_test(test_latch_pass), cmocka_unit_test(test_read_mode_and_edits),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
