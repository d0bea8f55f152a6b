/* mixdesk tests: the engine's gain staging, pan laws, balance, mute/solo, smoothing and safety. */
#include "engine/pan.h"
#include "engine_helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#define NEAR_DB(a, b) assert_float_equal((a), (b), 0.01)

static void test_gain_law(void **state)
{
	(void)state;
	assert_float_equal(md_db_to_gain(0.0f), 1.0f, 1e-6);
	NEAR_DB(db(md_db_to_gain(-6.0f)), -6.0);
	NEAR_DB(db(md_db_to_gain(10.0f)), 10.0);
	assert_true(md_db_to_gain(-120.0f) == 0.0f);
	assert_true(md_db_to_gain(-500.0f) == 0.0f);
	NEAR_DB(md_gain_to_db(0.5f), -6.0206);
	assert_true(md_gain_to_db(0.0f) == MD_SILENCE_DB);
}

static void test_fader_law(void **state)
{
	(void)state;
	/* the four segments of OSC.md, and back */
	static const float pos[] = {1.0f, 0.75f, 0.5f, 0.375f, 0.25f, 0.125f, 0.0625f, 0.03125f};
	static const float dbs[] = {10.0f, 0.0f, -10.0f, -20.0f, -30.0f, -50.0f, -60.0f, -75.0f};
	for (size_t i = 0; i < sizeof pos / sizeof pos[0]; i++) {
		assert_float_equal(md_fader_pos_to_db(pos[i]), dbs[i], 1e-4);
		assert_float_equal(md_fader_db_to_pos(dbs[i]), pos[i], 1e-5);
	}
	assert_true(md_fader_pos_to_db(0.0f) == MD_SILENCE_DB);
	assert_float_equal(md_fader_db_to_pos(-120.0f), 0.0f, 0);
}

static void test_pan_laws(void **state)
{
	(void)state;
	static const float laws[] = {0.0f, -3.0f, -4.5f, -6.0f};
	for (size_t i = 0; i < 4; i++) {
		float l, r;
		pan_gains(laws[i], -1.0f, &l, &r);
		NEAR_DB(db(l), 0.0);
		assert_true(r == 0.0f);
		pan_gains(laws[i], 1.0f, &l, &r);
		NEAR_DB(db(r), 0.0);
		assert_true(l == 0.0f);
		pan_gains(laws[i], 0.0f, &l, &r);
		NEAR_DB(db(l), laws[i]);
		NEAR_DB(db(r), laws[i]);
	}
	/* constant power for the -3 dB law: l^2 + r^2 stays 1 within 0.01 dB across the range */
	for (float p = -1.0f; p <= 1.0f; p += 0.125f) {
		float l, r;
		pan_gains(-3.0f, p, &l, &r);
		assert_float_equal(10.0 * log10(l * l + r * r), 0.0, 0.03);
	}
}

static void test_balance(void **state)
{
	(void)state;
	float l, r;
	pan_balance_gains(0.0f, &l, &r);
	assert_true(l == 1.0f && r == 1.0f);
	pan_balance_gains(0.5f, &l, &r);
	NEAR_DB(db(l), -6.0206);
	assert_true(r == 1.0f);
	pan_balance_gains(-1.0f, &l, &r);
	assert_true(l == 1.0f && r == 0.0f);
}

/* A -12 dBFS signal into a new mono strip leaves each master side at -15 dBFS under the default law. */
static void test_unity_strip_default_law(void **state)
{
	(void)state;
	struct rig *r = malloc(sizeof *r);
	rig_init(r, 48000);
	assert_int_equal(mixer_add_strip(r->m, "Kick", false, NULL), MD_OK);
	rig_map(r);
	float in = md_db_to_gain(-12.0f);
	rig_fill(r, 0, 0, in, 1024);
	rig_settle(r);
	NEAR_DB(db(rig_out(r, 0)[1000]), -15.0);
	NEAR_DB(db(rig_out(r, 1)[1000]), -15.0);
	rig_free(r);
	free(r);
}

/* Every pan law at -1, 0, +1 through the engine, with trim, fader and master fader in the chain. */
static void test_pan_through_engine(void **state)
{
	(void)state;
	struct rig *r = malloc(sizeof *r);
	rig_init(r, 48000);
	mixer_add_strip(r->m, "Vox", false, NULL);
	rig_map(r);
	static const float laws[] = {0.0f, -3.0f, -4.5f, -6.0f};
	static const float pans[] = {-1.0f, 0.0f, 1.0f};
	mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_TRIM, 3.0f, NULL, NULL);
	mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_FADER, -10.0f, NULL, NULL);
	mixer_set(r->m, MD_SCOPE_MASTER, 0, MD_MP_FADER, -2.0f, NULL, NULL);
	for (int li = 0; li < 4; li++)
		for (int pi = 0; pi < 3; pi++) {
			mixer_set(r->m, MD_SCOPE_MASTER, 0, MD_MP_PAN_LAW, laws[li], NULL, NULL);
			mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_PAN, pans[pi], NULL, NULL);
			rig_fill(r, 0, 0, 0.25f, 1024);
			rig_settle(r);
			float gl, gr;
			pan_gains(laws[li], pans[pi], &gl, &gr);
			double base = db(0.25) + 3.0 - 10.0 - 2.0;
			float *L = rig_out(r, 0), *R = rig_out(r, 1);
			if (gl > 0)
				NEAR_DB(db(L[1000]), base + db(gl));
			else
				assert_true(L[1000] == 0.0f);
			if (gr > 0)
				NEAR_DB(db(R[1000]), base + db(gr));
			else
				assert_true(R[1000] == 0.0f);
			if (pans[pi] == 0.0f) {
				NEAR_DB(db(L[1000]), base + laws[li]);
			}
		}
	rig_free(r);
	free(r);
}

static void test_stereo_balance_and_polarity(void **state)
{
	(void)state;
	struct rig *r = malloc(sizeof *r);
	rig_init(r, 48000);
	mixer_add_strip(r->m, "Keys", true, NULL);
	rig_map(r);
	mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_PAN, 0.5f, NULL, NULL);
	mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_POLARITY, 1.0f, NULL, NULL);
	rig_fill(r, 0, 0, 0.5f, 1024);
	rig_fill(r, 0, 1, 0.25f, 1024);
	rig_settle(r);
	/* balance right by 0.5: left -6.02 dB, right unity; polarity inverts both */
	assert_true(rig_out(r, 0)[1000] < 0 && rig_out(r, 1)[1000] < 0);
	NEAR_DB(db(rig_out(r, 0)[1000]), db(0.5) - 6.0206);
	NEAR_DB(db(rig_out(r, 1)[1000]), db(0.25));
	/* master balance hard left silences the right side */
	mixer_set(r->m, MD_SCOPE_MASTER, 0, MD_MP_BALANCE, -1.0f, NULL, NULL);
	rig_settle(r);
	assert_true(rig_out(r, 1)[1000] == 0.0f);
	/* mono sum: both sides carry (L+R)/2 of the balanced mix */
	mixer_set(r->m, MD_SCOPE_MASTER, 0, MD_MP_BALANCE, 0.0f, NULL, NULL);
	mixer_set(r->m, MD_SCOPE_MASTER, 0, MD_MP_MONO, 1.0f, NULL, NULL);
	rig_settle(r);
	double expect = 0.5 * (-0.5 * 0.5 - 0.25);
	assert_float_equal(rig_out(r, 0)[1000], expect, 1e-6);
	assert_float_equal(rig_out(r, 1)[1000], expect, 1e-6);
	rig_free(r);
	free(r);
}

static void test_mute_solo(void **state)
{
	(void)state;
	struct rig *r = malloc(sizeof *r);
	rig_init(r, 48000);
	mixer_add_strip(r->m, "A", false, NULL);
	mixer_add_strip(r->m, "B", false, NULL);
	mixer_add_strip(r->m, "C", false, NULL);
	rig_map(r);
	mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_PAN, -1.0f, NULL, NULL);
	mixer_set(r->m, MD_SCOPE_STRIP, 1, MD_SP_PAN, 1.0f, NULL, NULL);
	mixer_set(r->m, MD_SCOPE_STRIP, 2, MD_SP_PAN, 1.0f, NULL, NULL);
	rig_fill(r, 0, 0, 0.5f, 1024);
	rig_fill(r, 1, 0, 0.25f, 1024);
	rig_fill(r, 2, 0, 0.125f, 1024);
	rig_settle(r);
	assert_float_equal(rig_out(r, 0)[1000], 0.5f, 1e-6);
	assert_float_equal(rig_out(r, 1)[1000], 0.375f, 1e-6);
	/* mute B */
	mixer_set(r->m, MD_SCOPE_STRIP, 1, MD_SP_MUTE, 1.0f, NULL, NULL);
	rig_settle(r);
	assert_float_equal(rig_out(r, 1)[1000], 0.125f, 1e-6);
	/* solo C: A is silenced, B stays muted, C plays */
	mixer_set(r->m, MD_SCOPE_STRIP, 2, MD_SP_SOLO, 1.0f, NULL, NULL);
	rig_settle(r);
	assert_true(rig_out(r, 0)[1000] == 0.0f);
	assert_float_equal(rig_out(r, 1)[1000], 0.125f, 1e-6);
	/* solo A too: A and C play */
	mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_SOLO, 1.0f, NULL, NULL);
	rig_settle(r);
	assert_float_equal(rig_out(r, 0)[1000], 0.5f, 1e-6);
	/* a muted strip that is soloed stays muted (mute wins) */
	mixer_set(r->m, MD_SCOPE_STRIP, 1, MD_SP_SOLO, 1.0f, NULL, NULL);
	rig_settle(r);
	assert_float_equal(rig_out(r, 1)[1000], 0.125f, 1e-6);
	/* unsolo all, unmute: everything back */
	for (int i = 0; i < 3; i++)
		mixer_set(r->m, MD_SCOPE_STRIP, i, MD_SP_SOLO, 0.0f, NULL, NULL);
	mixer_set(r->m, MD_SCOPE_STRIP, 1, MD_SP_MUTE, 0.0f, NULL, NULL);
	rig_settle(r);
	assert_float_equal(rig_out(r, 1)[1000], 0.375f, 1e-6);
	rig_free(r);
	free(r);
}

/* A fader jump ramps: no sample-to-sample step larger than one ramp step, and the exact value after. */
static void test_smoothing(void **state)
{
	(void)state;
	struct rig *r = malloc(sizeof *r);
	rig_init(r, 48000);
	mixer_add_strip(r->m, "S", false, NULL);
	rig_map(r);
	mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_PAN, -1.0f, NULL, NULL);
	rig_fill(r, 0, 0, 1.0f, 1024);
	rig_settle(r);
	assert_float_equal(rig_out(r, 0)[0], 1.0f, 0);
	mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_FADER, -120.0f, NULL, NULL);
	rig_run(r, 1024);
	float *L = rig_out(r, 0);
	const uint32_t ramp = (uint32_t)(MD_RAMP_SECONDS * 48000);
	float maxstep = 0;
	for (int i = 1; i < 1024; i++)
		maxstep = fmaxf(maxstep, fabsf(L[i] - L[i - 1]));
	assert_true(maxstep <= 1.0f / (float)ramp * 1.01f);
	assert_true(L[0] < 1.0f && L[0] > 0.99f);
	assert_true(L[ramp] == 0.0f); /* exactly silent once the ramp is over */
	/* back up to +6: the value lands exactly on the target */
	mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_FADER, 6.0f, NULL, NULL);
	rig_settle(r);
	assert_true(rig_out(r, 0)[500] == md_db_to_gain(6.0f));
	rig_free(r);
	free(r);
}

/* Non-finite and denormal input never reaches the output as NaN or denormals. */
static void test_no_nan_no_denormal(void **state)
{
	(void)state;
	struct rig *r = malloc(sizeof *r);
	rig_init(r, 48000);
	mixer_add_strip(r->m, "N", false, NULL);
	mixer_add_strip(r->m, "D", false, NULL);
	rig_map(r);
	rig_settle(r);
	rig_fill(r, 0, 0, NAN, 1024);
	rig_fill(r, 1, 0, 1e-40f, 1024);
	rig_run(r, 1024);
	for (int c = 0; c < 2; c++)
		for (int i = 0; i < 1024; i++) {
			float v = rig_out(r, c)[i];
			assert_true(isfinite(v));
			assert_true(v == 0.0f || fabsf(v) >= 1.17549435e-38f);
		}
	rig_free(r);
	free(r);
}

/* Parameters are clamped and NaN is refused. */
static void test_param_clamp(void **state)
{
	(void)state;
	struct rig *r = malloc(sizeof *r);
	rig_init(r, 48000);
	mixer_add_strip(r->m, "P", false, NULL);
	float v;
	bool changed;
	assert_int_equal(mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_FADER, 40.0f, &v, &changed), MD_OK);
	assert_true(changed && v == 10.0f);
	assert_int_equal(mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_PAN, NAN, &v, &changed), MD_ERR_NAN);
	assert_int_equal(mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_PAN, INFINITY, &v, &changed), MD_ERR_NAN);
	assert_int_equal(mixer_set(r->m, MD_SCOPE_STRIP, 5, MD_SP_PAN, 0, &v, &changed), MD_ERR_NOTFOUND);
	assert_int_equal(mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_HPF_SLOPE, 20.0f, &v, &changed), MD_OK);
	assert_true(v == 24.0f);
	assert_int_equal(mixer_set(r->m, MD_SCOPE_MASTER, 0, MD_MP_PAN_LAW, -4.0f, &v, &changed), MD_OK);
	assert_true(v == -4.5f);
	assert_int_equal(md_param_find(MD_SCOPE_STRIP, "eq/3/gain"), MD_SP_EQ(2, MD_EQ_GAIN));
	assert_int_equal(md_param_find(MD_SCOPE_STRIP, "send/16/pre"), MD_SP_SEND(15, MD_SEND_PRE));
	assert_int_equal(md_param_find(MD_SCOPE_STRIP, "nope"), -1);
	rig_free(r);
	free(r);
}

/* Pre- and post-fader sends with the fader at -inf; a bus fader and mute; bus outputs carry the send mix. */
static void test_sends(void **state)
{
	(void)state;
	struct rig *r = malloc(sizeof *r);
	rig_init(r, 48000);
	mixer_add_strip(r->m, "Gtr", false, NULL);
	mixer_add_bus(r->m, "Verb", NULL);
	mixer_add_bus(r->m, "Delay", NULL);
	rig_map(r);
	mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_FADER, -120.0f, NULL, NULL);
	mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_SEND(0, MD_SEND_LEVEL), -6.0f, NULL, NULL);
	mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_SEND(0, MD_SEND_PRE), 1.0f, NULL, NULL);
	mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_SEND(1, MD_SEND_LEVEL), 0.0f, NULL, NULL);
	rig_fill(r, 0, 0, 0.5f, 1024);
	rig_settle(r);
	/* the pre-fader send reaches bus 1 at -6 dB on both sides, unpanned; the post-fader one is silent */
	NEAR_DB(db(rig_bus_out(r, 0, 0)[1000]), db(0.5) - 6.0);
	NEAR_DB(db(rig_bus_out(r, 0, 1)[1000]), db(0.5) - 6.0);
	assert_true(rig_bus_out(r, 1, 0)[1000] == 0.0f);
	/* the bus returns into the master at its fader (-4 dB): master = bus */
	mixer_set(r->m, MD_SCOPE_BUS, 0, MD_BP_FADER, -4.0f, NULL, NULL);
	rig_settle(r);
	NEAR_DB(db(rig_out(r, 0)[1000]), db(0.5) - 10.0);
	/* fader up: the post-fader send follows the fader and the pan (-3 dB centre) */
	mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_FADER, 0.0f, NULL, NULL);
	rig_settle(r);
	NEAR_DB(db(rig_bus_out(r, 1, 0)[1000]), db(0.5) - 3.0);
	/* mute the strip: pre-fader sends are post-mute */
	mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_MUTE, 1.0f, NULL, NULL);
	rig_settle(r);
	assert_true(rig_bus_out(r, 0, 0)[1000] == 0.0f);
	rig_free(r);
	free(r);
}

/* Adding and removing strips at run time keeps the others running without a glitch. */
static void test_add_remove_glitch_free(void **state)
{
	(void)state;
	struct rig *r = malloc(sizeof *r);
	rig_init(r, 48000);
	mixer_add_strip(r->m, "Keep", false, NULL);
	rig_map(r);
	mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_PAN, -1.0f, NULL, NULL);
	rig_fill(r, 0, 0, 0.5f, 1024);
	rig_settle(r);
	assert_int_equal(mixer_add_strip(r->m, "New", false, NULL), MD_OK);
	rig_map(r);
	rig_fill(r, 0, 0, 0.5f, 1024);
	for (int k = 0; k < 4; k++) {
		rig_run(r, 1024);
		for (int i = 0; i < 1024; i++)
			assert_float_equal(rig_out(r, 0)[i], 0.5f, 1e-6);
	}
	/* removing the strip in front shifts "Keep" to index 0 of a new graph: still seamless */
	assert_int_equal(mixer_add_strip(r->m, "Front", false, NULL), MD_OK);
	rig_settle(r);
	assert_int_equal(mixer_remove_strip(r->m, 1), MD_OK);
	assert_int_equal(mixer_console(r->m)->nstrips, 2);
	rig_fill(r, 0, 0, 0.5f, 1024);
	for (int k = 0; k < 4; k++) {
		rig_run(r, 1024);
		for (int i = 0; i < 1024; i++)
			assert_float_equal(rig_out(r, 0)[i], 0.5f, 1e-6);
	}
	assert_int_equal(mixer_add_strip(r->m, "Keep", false, NULL), MD_ERR_EXISTS);
	assert_int_equal(mixer_add_strip(r->m, "bad:name", false, NULL), MD_ERR_FORMAT);
	assert_int_equal(mixer_add_strip(r->m, "", false, NULL), MD_ERR_RANGE);
	rig_free(r);
	free(r);
}

/* Loading a whole new console (a session load) crossfades: no step larger than the crossfade's slope. */
static void test_session_swap_is_click_free(void **state)
{
	(void)state;
	struct rig *r = malloc(sizeof *r);
	rig_init(r, 48000);
	mixer_add_strip(r->m, "A", false, NULL);
	rig_map(r);
	mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_PAN, -1.0f, NULL, NULL);
	rig_fill(r, 0, 0, 0.5f, 1024);
	rig_settle(r);
	struct md_console *c = console_new(48000);
	console_add_strip(c, "A", false, NULL);
	console_add_strip(c, "B", false, NULL);
	c->strips[0]->p[MD_SP_PAN] = -1.0f;
	c->strips[0]->p[MD_SP_FADER] = -20.0f;
	assert_int_equal(mixer_replace(r->m, c), MD_OK);
	rig_map(r);
	/* "A" kept its port (slot), so the same input feeds the new graph */
	rig_fill(r, 0, 0, 0.5f, 1024);
	float prev = 0.5f, maxstep = 0.0f;
	for (int k = 0; k < 3; k++) {
		rig_run(r, 1024);
		for (int i = 0; i < 1024; i++) {
			maxstep = fmaxf(maxstep, fabsf(rig_out(r, 0)[i] - prev));
			prev = rig_out(r, 0)[i];
		}
	}
	/* the old graph fades out over the crossfade while the new one fades in: no step steeper than the
	 * louder level over the crossfade's length (a hard swap would jump by 0.45 in one sample) */
	const float xfade = MD_XFADE_SECONDS * 48000.0f;
	assert_true(maxstep <= 0.5f / xfade * 1.05f);
	assert_float_equal(prev, 0.05f, 1e-6);
	rig_free(r);
	free(r);
}

/* A second graph arriving during a crossfade waits for it: no step, however quick the edits. */
static void test_graph_during_crossfade(void **state)
{
	(void)state;
	struct rig *r = malloc(sizeof *r);
	rig_init(r, 48000);
	mixer_add_strip(r->m, "A", false, NULL);
	mixer_add_strip(r->m, "B", false, NULL);
	rig_map(r);
	mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_PAN, -1.0f, NULL, NULL);
	rig_fill(r, 0, 0, 0.5f, 1024);
	rig_settle(r);
	float prev = rig_out(r, 0)[1023], maxstep = 0.0f;
	assert_int_equal(mixer_remove_strip(r->m, 0), MD_OK); /* A fades out over 20 ms */
	for (int k = 0; k < 40; k++) {
		if (k == 1 || k == 2) /* more graphs while the first crossfade runs */
			assert_int_equal(mixer_add_bus(r->m, k == 1 ? "X" : "Y", NULL), MD_OK);
		rig_map(r);
		rig_run(r, 256);
		for (int i = 0; i < 256; i++) {
			maxstep = fmaxf(maxstep, fabsf(rig_out(r, 0)[i] - prev));
			prev = rig_out(r, 0)[i];
		}
	}
	assert_true(maxstep <= 0.5f / (MD_XFADE_SECONDS * 48000.0f) * 1.05f);
	assert_true(prev == 0.0f);
	rig_free(r);
	free(r);
}

/* A non-finite block from a bus return (an external effect) is silenced and does not stick to the meters. */
static void test_nan_from_return(void **state)
{
	(void)state;
	struct rig *r = malloc(sizeof *r);
	rig_init(r, 48000);
	mixer_add_strip(r->m, "A", false, NULL);
	mixer_add_bus(r->m, "FX", NULL);
	rig_map(r);
	mixer_set(r->m, MD_SCOPE_BUS, 0, MD_BP_INSERT, 1.0f, NULL, NULL);
	const struct md_console *c = mixer_console(r->m);
	float *ret = r->bufs[c->buses[0]->ret_slot[0]];
	rig_settle(r);
	for (int i = 0; i < 1024; i++)
		ret[i] = NAN;
	rig_run(r, 1024);
	for (int i = 0; i < 1024; i++)
		assert_true(isfinite(rig_out(r, 0)[i]));
	for (int i = 0; i < 1024; i++)
		ret[i] = 0.25f;
	for (int k = 0; k < 150; k++)
		rig_run(r, 1024);
	struct md_level lv;
	engine_master_meter(mixer_engine(r->m), &lv, NULL);
	assert_float_equal(lv.rms_db[0], db(0.25), 0.05);
	rig_free(r);
	free(r);
}

/* The meters read a known level: peak and RMS of a constant, and of a full-scale sine. */
static void test_meters(void **state)
{
	(void)state;
	struct rig *r = malloc(sizeof *r);
	rig_init(r, 48000);
	mixer_add_strip(r->m, "M", false, NULL);
	rig_map(r);
	for (int k = 0; k < 144; k++) { /* 3 s: ten RMS time constants */
		float *in = rig_in(r, 0, 0);
		for (int i = 0; i < 1000; i++)
			in[i] = 0.5f * sinf(2.0f * (float)M_PI * 1000.0f * (float)(k * 1000 + i) / 48000.0f);
		rig_run(r, 1000);
	}
	struct md_level lv;
	assert_int_equal(engine_strip_meter(mixer_engine(r->m), 0, &lv), MD_OK);
	assert_float_equal(lv.peak_db[0], db(0.5), 0.01);
	assert_float_equal(lv.rms_db[0], db(0.5) - 3.0103, 0.05);
	float corr;
	engine_master_meter(mixer_engine(r->m), &lv, &corr);
	assert_float_equal(lv.peak_db[0], db(0.5) - 3.0, 0.01);
	assert_float_equal(corr, 1.0f, 0.01);
	/* the peak resets on read */
	engine_strip_meter(mixer_engine(r->m), 0, &lv);
	assert_true(lv.peak_db[0] == MD_SILENCE_DB);
	rig_free(r);
	free(r);
}

/* Stems (one per strip and per bus) pass through the master section and add up to the master output. */
static void test_stems_sum_to_master(void **state)
{
	(void)state;
	struct md_console *c = console_new(48000);
	console_add_strip(c, "A", false, NULL);
	console_add_strip(c, "B", true, NULL);
	console_add_bus(c, "Verb", NULL);
	int16_t slot = 0;
	c->master.out_slot[0] = slot++;
	c->master.out_slot[1] = slot++;
	for (int i = 0; i < 2; i++) {
		struct md_strip_model *s = c->strips[i];
		s->in_slot[0] = slot++;
		s->in_slot[1] = s->stereo ? slot++ : -1;
		s->stem_slot[0] = slot++;
		s->stem_slot[1] = slot++;
		s->p[MD_SP_SEND(0, MD_SEND_LEVEL)] = -6.0f;
	}
	c->buses[0]->stem_slot[0] = slot++;
	c->buses[0]->stem_slot[1] = slot++;
	c->strips[0]->p[MD_SP_PAN] = -0.4f;
	c->strips[1]->p[MD_SP_PAN] = 0.7f;
	c->master.p[MD_MP_MONO] = 1.0f;
	c->master.p[MD_MP_BALANCE] = 0.3f;
	c->master.p[MD_MP_FADER] = -3.0f;
	static float store[16][1000];
	float *bufs[MD_MAX_SLOTS] = {0};
	for (int i = 0; i < slot; i++)
		bufs[i] = store[i];
	struct md_engine *e = engine_new();
	assert_int_equal(engine_submit(e, engine_build(e, c, 48000)), MD_OK);
	for (int k = 0; k < 10; k++) {
		for (int i = 0; i < 1000; i++) {
			bufs[c->strips[0]->in_slot[0]][i] = sinf((float)(k * 1000 + i) * 0.01f);
			bufs[c->strips[1]->in_slot[0]][i] = 0.5f * sinf((float)(k * 1000 + i) * 0.03f);
			bufs[c->strips[1]->in_slot[1]][i] = 0.25f;
		}
		engine_run(e, bufs, 1000);
		for (int ch = 0; ch < 2; ch++)
			for (int i = 0; i < 1000; i++) {
				float sum = bufs[c->strips[0]->stem_slot[ch]][i] +
					    bufs[c->strips[1]->stem_slot[ch]][i] + bufs[c->buses[0]->stem_slot[ch]][i];
				assert_float_equal(sum, bufs[c->master.out_slot[ch]][i], 1e-5);
			}
	}
	assert_true(fabsf(bufs[c->buses[0]->stem_slot[0]][500]) > 0.01f); /* the bus stem is not empty */
	engine_collect(e);
	engine_free(e);
	console_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gain_law),
		cmocka_unit_test(test_fader_law),
		cmocka_unit_test(test_pan_laws),
		cmocka_unit_test(test_balance),
		cmocka_unit_test(test_unity_strip_default_law),
		cmocka_unit_test(test_pan_through_engine),
		cmocka_unit_test(test_stereo_balance_and_polarity),
		cmocka_unit_test(test_mute_solo),
		cmocka_unit_test(test_smoothing),
		cmocka_unit_test(test_no_nan_no_denormal),
		cmocka_unit_test(test_param_clamp),
		cmocka_unit_test(test_sends),
		cmocka_unit_test(test_add_remove_glitch_free),
		cmocka_unit_test(test_meters),
		cmocka_unit_test(test_session_swap_is_click_free),
		cmocka_unit_test(test_graph_during_crossfade),
		cmocka_unit_test(test_nan_from_return),
		cmocka_unit_test(test_stems_sum_to_master),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
