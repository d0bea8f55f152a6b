/* mixdesk tests: automation recording in the mixer. A scripted timeline (the host's transport hook) and
 * scripted moves, as a tablet sends them: touch records while held, latch until the transport stops, write
 * while rolling; the recorded moves are thinned to within 0.1 dB (or 0.5 % of the range) of what was
 * played, with the fewest points; lane point edits. */
#include "engine/mixer/autorec.h"
#include "engine/lanes.h"
#include "engine/mixer/mixer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

struct clock_host {
	struct md_mixer_host hooks;
	bool rolling;
	double now;
};

static void clock_transport(struct md_mixer_host *h, bool *rolling, double *seconds)
{
	struct clock_host *c = (struct clock_host *)h;
	*rolling = c->rolling;
	*seconds = c->now;
}

static struct md_mixer *setup_mixer(struct clock_host *host)
{
	*host = (struct clock_host){.hooks = {.transport = clock_transport}};
	struct md_mixer *m = mixer_new(48000, &host->hooks);
	mixer_add_strip(m, "Vox", false, NULL);
	return m;
}

static const struct md_lane *lane(struct md_mixer *m, int param)
{
	return console_lane((struct md_console *)mixer_console(m), MD_SCOPE_STRIP, 0, param, false);
}

/* A fader ride: a smooth move sampled every 10 ms (a tablet's rate), within 0.1 dB after thinning. */
static float ride(double t)
{
	return (float)(-10.0 + 6.0 * sin(2.0 * M_PI * 0.5 * t));
}

static void test_touch_records_and_thins(void **state)
{
	(void)state;
	struct clock_host h;
	struct md_mixer *m = setup_mixer(&h);
	assert_int_equal(mixer_set_auto_mode(m, MD_SCOPE_STRIP, 0, MD_SP_FADER, MD_AUTO_TOUCH), MD_OK);
	h.rolling = true;
	h.now = 1.0;
	mixer_tick(m);
	assert_int_equal(mixer_touch(m, MD_SCOPE_STRIP, 0, MD_SP_FADER, true), MD_OK);
	int moves = 0;
	for (double t = 1.0; t <= 3.0 + 1e-9; t += 0.01, moves++) {
		h.now = t;
		mixer_set(m, MD_SCOPE_STRIP, 0, MD_SP_FADER, ride(t), NULL, NULL);
		mixer_tick(m);
	}
	assert_int_equal(mixer_touch(m, MD_SCOPE_STRIP, 0, MD_SP_FADER, false), MD_OK);
	const struct md_lane *l = lane(m, MD_SP_FADER);
	assert_non_null(l);
	/* fewer points than moves, and every move within 0.1 dB of the lane */
	assert_true(l->npoints > 4 && l->npoints < moves / 3);
	for (double t = 1.0; t <= 3.0; t += 0.01)
		assert_float_equal(lanes_value(l, t, false), ride(t), 0.1 + 1e-4);
	assert_float_equal(l->t[0], 1.0, 1e-9);
	/* released: no more recording */
	h.now = 4.0;
	mixer_set(m, MD_SCOPE_STRIP, 0, MD_SP_FADER, 5.0f, NULL, NULL);
	mixer_tick(m);
	assert_true(lane(m, MD_SP_FADER)->t[lane(m, MD_SP_FADER)->npoints - 1] <= 3.0 + 1e-9);
	mixer_free(m);
}

static void test_latch_holds_until_stop(void **state)
{
	(void)state;
	struct clock_host h;
	struct md_mixer *m = setup_mixer(&h);
	assert_int_equal(mixer_set_auto_mode(m, MD_SCOPE_STRIP, 0, MD_SP_PAN, MD_AUTO_LATCH), MD_OK);
	h.rolling = true;
	h.now = 0.5;
	mixer_tick(m);
	mixer_touch(m, MD_SCOPE_STRIP, 0, MD_SP_PAN, true);
	for (double t = 0.5; t <= 1.0 + 1e-9; t += 0.05) {
		h.now = t;
		mixer_set(m, MD_SCOPE_STRIP, 0, MD_SP_PAN, (float)(t - 0.5) * 2.0f, NULL, NULL); /* 0 -> 1 */
		mixer_tick(m);
	}
	mixer_touch(m, MD_SCOPE_STRIP, 0, MD_SP_PAN, false);
	/* released at 1.0 s: latch keeps writing the last value until the transport stops at 2.5 s */
	for (double t = 1.0; t <= 2.5; t += 0.1) {
		h.now = t;
		mixer_tick(m);
	}
	h.rolling = false;
	mixer_tick(m);
	const struct md_lane *l = lane(m, MD_SP_PAN);
	assert_non_null(l);
	/* a linear move thins to its two ends plus the held end: 3 points within 0.5 % of the range (0.01) */
	assert_int_equal(l->npoints, 3);
	assert_float_equal(l->t[0], 0.5, 1e-9);
	assert_float_equal(l->v[0], 0.0, 0.011);
	assert_float_equal(lanes_value(l, 0.75, false), 0.5, 0.011);
	assert_float_equal(lanes_value(l, 2.4, false), 1.0, 0.011);
	assert_true(l->t[2] >= 2.4);
	mixer_free(m);
}

static void test_write_mode_and_switch_steps(void **state)
{
	(void)state;
	struct clock_host h;
	struct md_mixer *m = setup_mixer(&h);
	assert_int_equal(mixer_set_auto_mode(m, MD_SCOPE_STRIP, 0, MD_SP_MUTE, MD_AUTO_WRITE), MD_OK);
	h.rolling = true;
	for (int i = 0; i <= 40; i++) { /* mute toggled at 1 s and 3 s, set every 0.1 s */
		h.now = i * 0.1;
		mixer_set(m, MD_SCOPE_STRIP, 0, MD_SP_MUTE, (i >= 10 && i < 30) ? 1.0f : 0.0f, NULL, NULL);
		mixer_tick(m);
	}
	h.rolling = false;
	mixer_tick(m);
	const struct md_lane *l = lane(m, MD_SP_MUTE);
	assert_non_null(l);
	assert_float_equal(lanes_value(l, 0.95, true), 0.0, 0);
	assert_float_equal(lanes_value(l, 1.0, true), 1.0, 0);
	assert_float_equal(lanes_value(l, 2.95, true), 1.0, 0);
	assert_float_equal(lanes_value(l, 3.0, true), 0.0, 0);
	assert_true(l->npoints <= 4);
	mixer_free(m);
}

static void test_point_edits(void **state)
{
	(void)state;
	struct clock_host h;
	struct md_mixer *m = setup_mixer(&h);
	assert_int_equal(mixer_lane_add(m, MD_SCOPE_STRIP, 0, MD_SP_FADER, 2.0, -6.0f), MD_OK);
	assert_int_equal(mixer_lane_add(m, MD_SCOPE_STRIP, 0, MD_SP_FADER, 1.0, 40.0f), MD_OK); /* clamped to +10 */
	assert_int_equal(mixer_lane_add(m, MD_SCOPE_STRIP, 0, MD_SP_FADER, 3.0, -20.0f), MD_OK);
	const struct md_lane *l = lane(m, MD_SP_FADER);
	assert_int_equal(l->npoints, 3);
	assert_float_equal(l->v[0], 10.0, 0);
	assert_int_equal(mixer_lane_move(m, MD_SCOPE_STRIP, 0, MD_SP_FADER, 0, 4.0, 0.0f), MD_OK);
	l = lane(m, MD_SP_FADER);
	assert_float_equal(l->t[2], 4.0, 0);
	assert_int_equal(mixer_lane_delete(m, MD_SCOPE_STRIP, 0, MD_SP_FADER, 0), MD_OK);
	assert_int_equal(lane(m, MD_SP_FADER)->npoints, 2);
	assert_int_equal(mixer_lane_delete(m, MD_SCOPE_STRIP, 0, MD_SP_FADER, 7), MD_ERR_NOTFOUND);
	assert_int_equal(mixer_lane_add(m, MD_SCOPE_STRIP, 0, MD_SP_FADER, NAN, 0.0f), MD_ERR_RANGE);
	assert_int_equal(mixer_lane_add(m, MD_SCOPE_STRIP, 0, MD_SP_SOLO, 1.0, 1.0f), MD_ERR_NOTFOUND);
	assert_int_equal(mixer_lane_clear(m, MD_SCOPE_STRIP, 0, MD_SP_FADER, 3.5, 10.0), MD_OK);
	assert_int_equal(lane(m, MD_SP_FADER)->npoints, 1);
	assert_int_equal(mixer_lane_clear(m, MD_SCOPE_STRIP, 0, MD_SP_FADER, 1.0, 0.0), MD_OK);
	assert_int_equal(lane(m, MD_SP_FADER)->npoints, 0);
	assert_int_equal(mixer_set_auto_mode(m, MD_SCOPE_STRIP, 0, MD_SP_SOLO, MD_AUTO_READ), MD_ERR_TYPE);
	mixer_free(m);
}

/* In read mode the lane's values show up in the console model (for tablet feedback) as the timeline moves. */
static void test_follow_for_feedback(void **state)
{
	(void)state;
	struct clock_host h;
	struct md_mixer *m = setup_mixer(&h);
	mixer_lane_add(m, MD_SCOPE_STRIP, 0, MD_SP_FADER, 0.0, -30.0f);
	mixer_lane_add(m, MD_SCOPE_STRIP, 0, MD_SP_FADER, 1.0, -10.0f);
	mixer_set_auto_mode(m, MD_SCOPE_STRIP, 0, MD_SP_FADER, MD_AUTO_READ);
	h.rolling = true;
	h.now = 0.5;
	mixer_tick(m);
	float v;
	mixer_get(m, MD_SCOPE_STRIP, 0, MD_SP_FADER, &v);
	assert_float_equal(v, -20.0, 1e-4);
	/* stopped, a manual move stays (as in the engine) until the transport rolls or locates */
	h.rolling = false;
	mixer_tick(m);
	mixer_set(m, MD_SCOPE_STRIP, 0, MD_SP_FADER, -3.0f, NULL, NULL);
	mixer_tick(m);
	mixer_tick(m);
	mixer_get(m, MD_SCOPE_STRIP, 0, MD_SP_FADER, &v);
	assert_float_equal(v, -3.0, 1e-4);
	h.now = 0.25; /* a locate: the lane's value there */
	mixer_tick(m);
	mixer_get(m, MD_SCOPE_STRIP, 0, MD_SP_FADER, &v);
	assert_float_equal(v, -25.0, 1e-4);
	mixer_free(m);
}

static void test_thin_function(void **state)
{
	(void)state;
	double t[100];
	float v[100];
	for (int i = 0; i < 100; i++) {
		t[i] = i * 0.01;
		v[i] = (float)(i < 50 ? i : 99 - i) * 0.1f; /* a triangle: 3 points describe it */
	}
	assert_int_equal(autorec_thin(t, v, 100, 0.1f, false), 3);
}

/* A controller that streams moves for a long held pass stays bounded in memory: the pass is thinned on the way
 * (MD_PASS_POINTS_MAX raw points at most) and still plays back within the tolerance; a lane holds at most
 * MD_LANE_POINTS_MAX points, and a point at an existing time can still be replaced then. */
static void test_limits(void **state)
{
	(void)state;
	struct clock_host h;
	struct md_mixer *m = setup_mixer(&h);
	assert_int_equal(mixer_set_auto_mode(m, MD_SCOPE_STRIP, 0, MD_SP_FADER, MD_AUTO_TOUCH), MD_OK);
	h.rolling = true;
	h.now = 1.0;
	mixer_tick(m);
	assert_int_equal(mixer_touch(m, MD_SCOPE_STRIP, 0, MD_SP_FADER, true), MD_OK);
	struct mallinfo2 mi = mallinfo2();
	size_t before = mi.uordblks + mi.hblkhd;  /* small blocks and mmapped ones */
	const int moves = 3 * MD_PASS_POINTS_MAX; /* 3.1 M moves, 1 ms apart: 52 minutes held */
	size_t peak = 0;
	for (int k = 0; k < moves; k++) {
		h.now = 1.0 + k * 0.001;
		mixer_set(m, MD_SCOPE_STRIP, 0, MD_SP_FADER, ride(h.now), NULL, NULL);
		if (k % 65536 == 0) {
			mixer_tick(m);
			mi = mallinfo2();
			size_t used = mi.uordblks + mi.hblkhd;
			peak = used > peak ? used : peak;
		}
	}
	size_t grown = peak - before;
	printf("%d moves in one pass: at most %.1f MB held while recording\n", moves, (double)grown / 1e6);
	/* unbounded, the pass would hold 4 M points (48 MB); thinned on the way, at most MD_PASS_POINTS_MAX */
	assert_true(grown < (size_t)MD_PASS_POINTS_MAX * 13 + (4u << 20));
	assert_int_equal(mixer_touch(m, MD_SCOPE_STRIP, 0, MD_SP_FADER, false), MD_OK);
	const struct md_lane *l = lane(m, MD_SP_FADER);
	assert_non_null(l);
	for (double t = 1.0; t < 1.0 + moves * 0.001; t += 0.737)
		assert_float_equal(lanes_value(l, t, false), ride(t), 0.1 + 1e-3);
	mixer_free(m);

	struct md_lane big = {0};
	for (int k = 0; k < MD_LANE_POINTS_MAX; k++)
		assert_int_equal(console_lane_add_point(&big, k * 0.01, -10.0f), MD_OK);
	assert_int_equal(console_lane_add_point(&big, MD_LANE_POINTS_MAX * 0.01, -10.0f), MD_ERR_FULL);
	assert_int_equal(console_lane_add_point(&big, 5.0, -3.0f), MD_OK); /* replaces the point at 5 s */
	assert_int_equal(big.npoints, MD_LANE_POINTS_MAX);
	assert_float_equal(lanes_value(&big, 5.0, false), -3.0, 1e-6);
	console_lane_clear(&big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_touch_records_and_thins),
		cmocka_unit_test(test_latch_holds_until_stop),
		cmocka_unit_test(test_write_mode_and_switch_steps),
		cmocka_unit_test(test_point_edits),
		cmocka_unit_test(test_follow_for_feedback),
		cmocka_unit_test(test_thin_function),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
