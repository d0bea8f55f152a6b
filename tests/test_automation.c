/* mixdesk tests: automation lanes played by the engine from the timeline: linear in the parameter's unit,
 * exact at every sub-block boundary, held while stopped, applied at once (smoothed) after a locate, steps
 * for switches, and a held (touched) control overriding its lane. */
#include "engine/engine.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>

#define RATE 48000

struct auto_rig {
	struct md_console *c;
	struct md_engine *e;
	float *bufs[MD_MAX_SLOTS];
	float in[4096], out[2][4096];
};

static struct auto_rig *rig_new(void)
{
	struct auto_rig *r = calloc(1, sizeof *r);
	r->c = console_new(RATE);
	console_add_strip(r->c, "Vox", false, NULL);
	struct md_strip_model *s = r->c->strips[0];
	s->in_slot[0] = 0;
	r->c->master.out_slot[0] = 1;
	r->c->master.out_slot[1] = 2;
	s->p[MD_SP_PAN] = -1.0f; /* hard left: the left output is input x strip gain */
	r->bufs[0] = r->in;
	r->bufs[1] = r->out[0];
	r->bufs[2] = r->out[1];
	for (int i = 0; i < 4096; i++)
		r->in[i] = 1.0f;
	r->e = engine_new();
	return r;
}

static void rig_start(struct auto_rig *r)
{
	assert_int_equal(engine_submit(r->e, engine_build(r->e, r->c, RATE)), MD_OK);
	/* pre-roll, stopped at 0: the fade-in of a new graph and the first lane value settle */
	for (int k = 0; k < 10; k++) {
		engine_set_time(r->e, false, 0);
		engine_run(r->e, r->bufs, 256);
	}
}

static void rig_del(struct auto_rig *r)
{
	engine_collect(r->e);
	engine_free(r->e);
	console_free(r->c);
	free(r);
}

static double out_db(struct auto_rig *r, int i)
{
	return 20.0 * log10(fabs((double)r->out[0][i]));
}

/* The expected fader value of the lane (0 s: -40 dB, 2 s: 0 dB, 3 s: -20 dB) at time t. */
static double lane_db(double t)
{
	if (t <= 0)
		return -40;
	if (t <= 2)
		return -40 + 20 * t;
	if (t <= 3)
		return -20 * (t - 2);
	return -20;
}

static void test_fader_lane_plays_exactly(void **state)
{
	(void)state;
	struct auto_rig *r = rig_new();
	struct md_lane *l = console_lane(r->c, MD_SCOPE_STRIP, 0, MD_SP_FADER, true);
	l->mode = MD_AUTO_READ;
	console_lane_add_point(l, 0.0, -40.0f);
	console_lane_add_point(l, 2.0, 0.0f);
	console_lane_add_point(l, 3.0, -20.0f);
	rig_start(r);
	assert_float_equal(out_db(r, 255), -40.0, 0.01);
	/* roll from 0 in 256-frame periods: at the end of every 64-frame sub-block the gain is the lane's value */
	for (uint64_t f = 0; f < (uint64_t)RATE * 7 / 2; f += 256) {
		engine_set_time(r->e, true, f);
		engine_run(r->e, r->bufs, 256);
		for (int b = 63; b < 256; b += 64)
			assert_float_equal(out_db(r, b), lane_db((double)(f + (uint64_t)b + 1) / RATE), 0.01);
	}
	rig_del(r);
}

static void test_stop_holds_and_locate_jumps(void **state)
{
	(void)state;
	struct auto_rig *r = rig_new();
	struct md_lane *l = console_lane(r->c, MD_SCOPE_STRIP, 0, MD_SP_FADER, true);
	l->mode = MD_AUTO_READ;
	console_lane_add_point(l, 0.0, -40.0f);
	console_lane_add_point(l, 2.0, 0.0f);
	rig_start(r);
	for (uint64_t f = 0; f < RATE / 2; f += 256) {
		engine_set_time(r->e, true, f);
		engine_run(r->e, r->bufs, 256);
	}
	/* stopped at 0.5 s: the value holds */
	double held = out_db(r, 255);
	assert_float_equal(held, lane_db((double)(RATE / 2 / 256 * 256 + 256) / RATE), 0.01);
	for (int k = 0; k < 20; k++) {
		engine_set_time(r->e, false, RATE / 2 / 256 * 256 + 256);
		engine_run(r->e, r->bufs, 256);
		assert_float_equal(out_db(r, 255), held, 0.001);
	}
	/* locate mid-ramp to 1.5 s while stopped: the interpolated value comes at once (one 10 ms ramp) */
	engine_set_time(r->e, false, RATE * 3 / 2);
	engine_run(r->e, r->bufs, 512);
	assert_float_equal(out_db(r, (int)(MD_RAMP_SECONDS * RATE)), -10.0, 0.01);
	/* locate backwards while rolling: the jump is smoothed over the whole 10 ms ramp, not one sub-block */
	engine_set_time(r->e, true, RATE / 4);
	engine_run(r->e, r->bufs, 256);
	double after_128 = out_db(r, 127), target = lane_db((double)(RATE / 4 + 256) / RATE);
	assert_true(fabs(after_128 - target) > 1.0); /* still on its way after 128 samples */
	engine_run(r->e, r->bufs, 512);
	/* from 1.0 s the lane continues from there */
	engine_set_time(r->e, true, RATE);
	engine_run(r->e, r->bufs, 1024);
	assert_float_equal(out_db(r, 1023), lane_db((double)(RATE + 1024) / RATE), 0.01);
	rig_del(r);
}

static void test_step_lane_and_touch_override(void **state)
{
	(void)state;
	struct auto_rig *r = rig_new();
	struct md_lane *mute = console_lane(r->c, MD_SCOPE_STRIP, 0, MD_SP_MUTE, true);
	mute->mode = MD_AUTO_READ;
	console_lane_add_point(mute, 0.0, 0.0f);
	console_lane_add_point(mute, 1.0, 1.0f); /* a switch steps: muted from 1 s, not half-muted at 0.5 s */
	struct md_lane *fader = console_lane(r->c, MD_SCOPE_STRIP, 0, MD_SP_FADER, true);
	fader->mode = MD_AUTO_TOUCH;
	console_lane_add_point(fader, 0.0, -6.0f);
	rig_start(r);
	for (uint64_t f = 0; f < RATE * 3 / 4; f += 256) {
		engine_set_time(r->e, true, f);
		engine_run(r->e, r->bufs, 256);
	}
	assert_float_equal(out_db(r, 255), -6.0, 0.01);
	/* a controller touches the fader and moves it: the lane lets go */
	assert_true(engine_send_override(r->e, MD_SCOPE_STRIP, 0, MD_SP_FADER, true));
	assert_true(engine_send_param(r->e, MD_SCOPE_STRIP, 0, MD_SP_FADER, -3.0f));
	uint64_t f = RATE * 3 / 4;
	for (int k = 0; k < 10; k++, f += 256) {
		engine_set_time(r->e, true, f);
		engine_run(r->e, r->bufs, 256);
	}
	assert_float_equal(out_db(r, 255), -3.0, 0.01);
	/* released: back to the lane */
	assert_true(engine_send_override(r->e, MD_SCOPE_STRIP, 0, MD_SP_FADER, false));
	for (int k = 0; k < 10; k++, f += 256) {
		engine_set_time(r->e, true, f);
		engine_run(r->e, r->bufs, 256);
	}
	assert_true(f < (uint64_t)RATE);
	assert_float_equal(out_db(r, 255), -6.0, 0.01);
	/* past 1 s the mute lane has muted the strip */
	for (; f < (uint64_t)RATE * 11 / 10; f += 256) {
		engine_set_time(r->e, true, f);
		engine_run(r->e, r->bufs, 256);
	}
	assert_true(r->out[0][255] == 0.0f);
	rig_del(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fader_lane_plays_exactly),
		cmocka_unit_test(test_stop_holds_and_locate_jumps),
		cmocka_unit_test(test_step_lane_and_touch_override),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
