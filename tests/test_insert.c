/* mixdesk tests: LV2 plugin inserts in the graph, through the mixer and the engine offline, with real plugins
 * from Debian (swh-lv2): swh delay_n on a strip delays to the sample, one instance per side on a stereo
 * strip; bypass crossfades without a click; a slot keeps its instance (and its tail) across a rebuild;
 * GVerb on a bus; the master's slots; the refusals and the clamping of parameters. */
#include "engine/mixer/mixer.h"
#include "engine/model/param.h"
#include "engine/plugin.h"
#include "engine_helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DELAY "http://plugin.org.uk/swh-plugins/delay_n"
#define GVERB "http://plugin.org.uk/swh-plugins/gverb"
#define AMP "http://plugin.org.uk/swh-plugins/amp"
#define LIMITER "http://plugin.org.uk/swh-plugins/fastLookaheadLimiter"

static struct rig *new_rig(void)
{
	struct rig *r = malloc(sizeof *r);
	rig_init(r, 48000);
	return r;
}

static void free_rig(struct rig *r)
{
	rig_free(r);
	free(r);
}

static void clear_in(struct rig *r, int strip, int nch)
{
	for (int c = 0; c < nch; c++)
		memset(rig_in(r, strip, c), 0, 4096 * sizeof(float));
}

/* feed an impulse of 0.5 on a strip's channels, then silence; the frame of the largest output on master side
 * `ch` within `frames` frames (run 1024 at a time) */
static long impulse_at(struct rig *r, int strip, int nch, int ch, long frames)
{
	clear_in(r, strip, nch);
	for (int c = 0; c < nch; c++)
		rig_in(r, strip, c)[0] = 0.5f;
	long best = -1;
	float peak = 0;
	for (long t = 0; t < frames; t += 1024) {
		rig_run(r, 1024);
		clear_in(r, strip, nch);
		const float *o = rig_out(r, ch);
		for (int i = 0; i < 1024; i++)
			if (fabsf(o[i]) > peak) {
				peak = fabsf(o[i]);
				best = t + i;
			}
	}
	return best;
}

static void test_delay_on_strip(void **state)
{
	(void)state;
	struct rig *r = new_rig();
	assert_int_equal(mixer_add_strip(r->m, "Vox", false, NULL), MD_OK);
	rig_map(r);
	char err[600] = "";
	assert_int_equal(mixer_insert_load(r->m, MD_SCOPE_STRIP, 0, 0, DELAY, err, sizeof err), MD_OK);
	float stored;
	assert_int_equal(mixer_insert_set(r->m, MD_SCOPE_STRIP, 0, 0, "delay_time", 0.01f, &stored), MD_OK);
	assert_float_equal(stored, 0.01f, 1e-7);
	rig_settle(r);
	long at = impulse_at(r, 0, 1, 0, 8192);
	printf("delay_n at 10 ms on a mono strip: the impulse comes out at frame %ld (want 480)\n", at);
	assert_int_equal(at, 480);
	/* a rebuild elsewhere (a new strip) keeps the instance: an impulse fed just before it still echoes */
	clear_in(r, 0, 1);
	assert_int_equal(mixer_insert_set(r->m, MD_SCOPE_STRIP, 0, 0, "delay_time", 0.5f, NULL), MD_OK);
	for (int i = 0; i < 60; i++) /* over a second of silence: the line holds nothing of the impulse above */
		rig_run(r, 1024);
	rig_in(r, 0, 0)[0] = 0.5f;
	rig_run(r, 1024);
	clear_in(r, 0, 1);
	assert_int_equal(mixer_add_strip(r->m, "Gtr", false, NULL), MD_OK);
	rig_map(r);
	float peak = 0;
	long best = -1;
	for (long t = 1024; t < 48000; t += 1024) {
		rig_run(r, 1024);
		clear_in(r, 0, 1);
		clear_in(r, 1, 1);
		for (int i = 0; i < 1024; i++)
			if (fabsf(rig_out(r, 0)[i]) > peak) {
				peak = fabsf(rig_out(r, 0)[i]);
				best = t + i;
			}
	}
	printf("across a rebuild: the 500 ms echo at frame %ld, %.1f dB (want 24000)\n", best, db(peak));
	assert_int_equal(best, 24000);
	assert_true(db(peak) > -12.0);
	free_rig(r);
}

static void test_mono_plugin_on_stereo_strip(void **state)
{
	(void)state;
	struct rig *r = new_rig();
	assert_int_equal(mixer_add_strip(r->m, "Keys", true, NULL), MD_OK);
	rig_map(r);
	char err[600] = "";
	assert_int_equal(mixer_insert_load(r->m, MD_SCOPE_STRIP, 0, 3, DELAY, err, sizeof err), MD_OK);
	assert_int_equal(mixer_insert_set(r->m, MD_SCOPE_STRIP, 0, 3, "delay_time", 0.002f, NULL), MD_OK);
	rig_settle(r);
	long l = impulse_at(r, 0, 2, 0, 4096);
	rig_settle(r);
	long rr = impulse_at(r, 0, 2, 1, 4096);
	printf("delay_n (mono) on a stereo strip, slot 4: left at %ld, right at %ld (want 96 each)\n", l, rr);
	assert_int_equal(l, 96);
	assert_int_equal(rr, 96);
	free_rig(r);
}

/* the largest sample step of x over n frames */
static double max_step(const float *x, int n, float *last)
{
	double m = 0;
	for (int i = 0; i < n; i++) {
		m = fmax(m, fabs((double)x[i] - *last));
		*last = x[i];
	}
	return m;
}

static void test_bypass_is_click_free(void **state)
{
	(void)state;
	struct rig *r = new_rig();
	assert_int_equal(mixer_add_strip(r->m, "Vox", false, NULL), MD_OK);
	rig_map(r);
	char err[600];
	assert_int_equal(mixer_insert_load(r->m, MD_SCOPE_STRIP, 0, 0, AMP, err, sizeof err), MD_OK);
	assert_int_equal(mixer_insert_set(r->m, MD_SCOPE_STRIP, 0, 0, "gain", -20.0f, NULL), MD_OK);
	/* a 100 Hz sine at -6 dBFS */
	double phase = 0;
	float last = 0;
	double steady = 0, change = 0;
	for (int blk = 0; blk < 60; blk++) {
		float *in = rig_in(r, 0, 0);
		for (int i = 0; i < 1024; i++, phase += 2 * M_PI * 100 / 48000)
			in[i] = (float)(0.5 * sin(phase));
		if (blk == 30)
			assert_int_equal(mixer_insert_bypass(r->m, MD_SCOPE_STRIP, 0, 0, true), MD_OK);
		rig_run(r, 1024);
		double s = max_step(rig_out(r, 0), 1024, &last);
		if (blk >= 10 && blk < 30)
			steady = fmax(steady, s);
		if (blk == 30)
			change = s;
		if (blk == 29) /* the amp's -20 dB: 20 dB below the dry level */
			printf("amp at -20 dB: output peak step %.5f\n", s);
	}
	double bypassed = max_step(rig_out(r, 0), 1024, &last);
	(void)bypassed;
	float peak = 0;
	for (int i = 0; i < 1024; i++)
		peak = fmaxf(peak, fabsf(rig_out(r, 0)[i]));
	/* bypassed: the dry level again (-6 dBFS into a centred mono strip: -9 dB a side) */
	printf("bypass: largest step before %.5f, over the change %.5f; bypassed peak %.2f dBFS\n", steady, change,
	       db(peak));
	assert_float_equal(db(peak), -9.0, 0.1);
	/* the change's steps are those of a sine rising from -29 to -9 dB: at most the dry one's (0.0046) */
	assert_true(change < 0.006);
	free_rig(r);
}

static void test_gverb_on_bus(void **state)
{
	(void)state;
	struct rig *r = new_rig();
	assert_int_equal(mixer_add_strip(r->m, "Snare", false, NULL), MD_OK);
	assert_int_equal(mixer_add_bus(r->m, "Verb", NULL), MD_OK);
	rig_map(r);
	assert_int_equal(mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_SEND(0, MD_SEND_LEVEL), 0.0f, NULL, NULL), MD_OK);
	assert_int_equal(mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_SEND(0, MD_SEND_PRE), 1.0f, NULL, NULL), MD_OK);
	assert_int_equal(mixer_set(r->m, MD_SCOPE_STRIP, 0, MD_SP_FADER, -120.0f, NULL, NULL), MD_OK);
	char err[600];
	assert_int_equal(mixer_insert_load(r->m, MD_SCOPE_BUS, 0, 0, GVERB, err, sizeof err), MD_OK);
	rig_settle(r);
	clear_in(r, 0, 1);
	rig_in(r, 0, 0)[0] = 0.9f;
	double tail = 0;
	for (int blk = 0; blk < 47; blk++) { /* ~1 s */
		rig_run(r, 1024);
		clear_in(r, 0, 1);
		if (blk >= 10) /* 0.2 s on: the tail */
			for (int i = 0; i < 1024; i++)
				tail += (double)rig_out(r, 0)[i] * rig_out(r, 0)[i] +
					(double)rig_out(r, 1)[i] * rig_out(r, 1)[i];
	}
	printf("GVerb on a bus: tail energy 0.2-1 s after the hit %.3g\n", tail);
	assert_true(tail > 1e-4);
	/* without the plugin, the bus is dry: no tail */
	assert_int_equal(mixer_insert_load(r->m, MD_SCOPE_BUS, 0, 0, NULL, err, sizeof err), MD_OK);
	rig_settle(r);
	clear_in(r, 0, 1);
	rig_in(r, 0, 0)[0] = 0.9f;
	double dry = 0;
	for (int blk = 0; blk < 47; blk++) {
		rig_run(r, 1024);
		clear_in(r, 0, 1);
		if (blk >= 10)
			for (int i = 0; i < 1024; i++)
				dry += (double)rig_out(r, 0)[i] * rig_out(r, 0)[i];
	}
	printf("the same bus dry: %.3g\n", dry);
	assert_true(dry == 0.0);
	free_rig(r);
}

static void test_master_insert(void **state)
{
	(void)state;
	struct rig *r = new_rig();
	assert_int_equal(mixer_add_strip(r->m, "Kick", false, NULL), MD_OK);
	rig_map(r);
	char err[600];
	assert_int_equal(mixer_insert_load(r->m, MD_SCOPE_MASTER, 0, 7, AMP, err, sizeof err), MD_OK);
	assert_int_equal(mixer_insert_set(r->m, MD_SCOPE_MASTER, 0, 7, "gain", -6.0f, NULL), MD_OK);
	rig_fill(r, 0, 0, md_db_to_gain(-12.0f), 1024);
	rig_settle(r);
	printf("amp -6 dB on the master: %.3f dBFS (want -21)\n", db(rig_out(r, 0)[1000]));
	assert_float_equal(db(rig_out(r, 0)[1000]), -21.0, 0.01);
	free_rig(r);
}

/* A sounding strip removed under a master insert: the two graphs' crossfade passes through the shared
 * plugin (their master sums gathered, weighted), so the strip fades out instead of stopping dead when the old
 * graph retires. */
static void test_master_insert_across_a_removal(void **state)
{
	(void)state;
	struct rig *r = new_rig();
	assert_int_equal(mixer_add_strip(r->m, "A", false, NULL), MD_OK);
	assert_int_equal(mixer_add_strip(r->m, "B", false, NULL), MD_OK);
	rig_map(r);
	char err[600];
	assert_int_equal(mixer_insert_load(r->m, MD_SCOPE_MASTER, 0, 0, AMP, err, sizeof err), MD_OK);
	rig_settle(r);
	double steady = 0, across = 0;
	float last = 0;
	/* both inputs keep playing (the old graph reads B's during the crossfade) */
	float *ins[2] = {rig_in(r, 0, 0), rig_in(r, 1, 0)};
	for (int blk = 0; blk < 40; blk++) {
		for (int s = 0; s < 2; s++) {
			float *in = ins[s];
			for (int i = 0; i < 256; i++)
				in[i] = 0.3f * sinf(2.0f * (float)M_PI * (s ? 170.0f : 100.0f) *
						    (float)(blk * 256 + i) / 48000.0f);
		}
		if (blk == 20) /* strip B goes (strip A stays at index 0) */
			assert_int_equal(mixer_remove_strip(r->m, 1), MD_OK);
		rig_run(r, 256);
		double st = max_step(rig_out(r, 0), 256, &last);
		if (blk >= 4 && blk < 20)
			steady = fmax(steady, st);
		else if (blk >= 20)
			across = fmax(across, st);
	}
	printf("a strip removed under a master insert: largest step before %.4f, from the removal on %.4f\n", steady,
	       across);
	assert_true(across <= 1.2 * steady);
	free_rig(r);
}

/* the frames of the first and the last sample above `level` on master side 0 within `frames` frames after an
 * impulse of 0.5 on every strip */
static void impulses(struct rig *r, long frames, float level, long *first, long *last)
{
	const struct md_console *c = mixer_console(r->m);
	for (int s = 0; s < c->nstrips; s++)
		clear_in(r, s, c->strips[s]->stereo ? 2 : 1);
	for (int s = 0; s < c->nstrips; s++)
		rig_in(r, s, 0)[0] = 0.5f;
	*first = *last = -1;
	for (long t = 0; t < frames; t += 1024) {
		rig_run(r, 1024);
		for (int s = 0; s < c->nstrips; s++)
			clear_in(r, s, c->strips[s]->stereo ? 2 : 1);
		for (int i = 0; i < 1024; i++)
			if (fabsf(rig_out(r, 0)[i]) > level) {
				if (*first < 0)
					*first = t + i;
				*last = t + i;
			}
	}
}

/* Plugin delay compensation: a lookahead limiter (swh fastLookaheadLimiter, which reports its latency) on one
 * strip; the other strip, and the path through a bus, are delayed to stay aligned with it. */
static void test_latency_compensation(void **state)
{
	(void)state;
	struct rig *r = new_rig();
	assert_int_equal(mixer_add_strip(r->m, "Lim", true, NULL), MD_OK);
	assert_int_equal(mixer_add_strip(r->m, "Dry", false, NULL), MD_OK);
	rig_map(r);
	rig_settle(r);
	long first, last;
	impulses(r, 8192, 0.05f, &first, &last);
	printf("no plugins: impulses at %ld..%ld, console latency %u\n", first, last,
	       engine_latency(mixer_engine(r->m)));
	assert_int_equal(first, 0);
	assert_int_equal(last, 0);
	char err[600];
	assert_int_equal(mixer_insert_load(r->m, MD_SCOPE_STRIP, 0, 0, LIMITER, err, sizeof err), MD_OK);
	rig_settle(r);
	uint32_t lat = engine_latency(mixer_engine(r->m));
	bool running = false;
	uint32_t ins_lat = engine_insert_latency(mixer_engine(r->m), MD_SCOPE_STRIP, 0, 0, &running);
	impulses(r, 8192, 0.05f, &first, &last);
	printf("limiter on strip 1 (reports %u frames): both impulses at %ld..%ld, console latency %u\n", ins_lat,
	       first, last, lat);
	assert_true(running);
	assert_true(ins_lat > 0);
	assert_int_equal(lat, ins_lat);
	assert_int_equal(first, (long)lat);
	assert_int_equal(last, (long)lat);
	/* a bus with the limiter too, fed by the dry strip pre-fader: the direct paths wait for it */
	assert_int_equal(mixer_add_bus(r->m, "Lim bus", NULL), MD_OK);
	rig_map(r);
	assert_int_equal(mixer_set(r->m, MD_SCOPE_STRIP, 1, MD_SP_SEND(0, MD_SEND_LEVEL), 0.0f, NULL, NULL), MD_OK);
	assert_int_equal(mixer_insert_load(r->m, MD_SCOPE_BUS, 0, 2, LIMITER, err, sizeof err), MD_OK);
	rig_settle(r);
	uint32_t bus_lat = engine_insert_latency(mixer_engine(r->m), MD_SCOPE_BUS, 0, 2, NULL);
	lat = engine_latency(mixer_engine(r->m));
	impulses(r, 8192, 0.05f, &first, &last);
	printf("and on a bus (%u frames): every impulse at %ld..%ld, console latency %u\n", bus_lat, first, last, lat);
	assert_int_equal(lat, ins_lat + bus_lat);
	assert_int_equal(first, (long)lat);
	assert_int_equal(last, (long)lat);
	free_rig(r);
}

/* An automation lane of a plugin parameter: swh amp's gain from 0 to -24 dB over one second, played with the
 * timeline rolling; the strip's level at the master follows it. */
static void test_plugin_parameter_lane(void **state)
{
	(void)state;
	struct rig *r = new_rig();
	struct md_console *c = console_new(48000);
	assert_int_equal(console_add_strip(c, "Vox", false, NULL), MD_OK);
	struct md_insert *ins = console_inserts(c, MD_SCOPE_STRIP, 0);
	assert_int_equal(console_insert_load(&ins[0], AMP), MD_OK);
	struct md_lane *l = console_insert_lane(&ins[0], "gain", true);
	assert_non_null(l);
	assert_int_equal(console_lane_add_point(l, 0.0, 0.0f), MD_OK);
	assert_int_equal(console_lane_add_point(l, 1.0, -24.0f), MD_OK);
	assert_int_equal(mixer_replace(r->m, c), MD_OK);
	rig_map(r);
	rig_fill(r, 0, 0, 0.5f, 1024);
	rig_settle(r);
	double at[3] = {0};
	for (int blk = 0; blk < 60; blk++) { /* 1.28 s rolling from 0 */
		engine_set_time(mixer_engine(r->m), true, (uint64_t)blk * 1024);
		rig_fill(r, 0, 0, 0.5f, 1024);
		rig_run(r, 1024);
		if (blk == 11 || blk == 23 || blk == 58) /* about 0.25 s, 0.5 s, 1.25 s */
			at[blk == 11 ? 0 : blk == 23 ? 1 : 2] = db(rig_out(r, 0)[1023]);
	}
	/* 0.5 into a centred mono strip: -9.03 dB a side; the lane's -6, -12 and -24 dB (the amp glides, 5 ms) */
	const double t0 = 12 * 1024 / 48000.0, t1 = 24 * 1024 / 48000.0;
	printf("amp's gain lane: %.2f dB at %.3f s (want %.2f), %.2f at %.3f s (want %.2f), %.2f after its end "
	       "(want %.2f)\n",
	       at[0], t0, -9.03 - 24 * t0, at[1], t1, -9.03 - 24 * t1, at[2], -9.03 - 24.0);
	assert_float_equal(at[0], -9.03 - 24 * t0, 0.3);
	assert_float_equal(at[1], -9.03 - 24 * t1, 0.3);
	assert_float_equal(at[2], -33.03, 0.05);
	free_rig(r);
}

static void test_refusals_and_ranges(void **state)
{
	(void)state;
	struct rig *r = new_rig();
	assert_int_equal(mixer_add_strip(r->m, "Vox", false, NULL), MD_OK);
	char err[600] = "";
	assert_int_equal(mixer_insert_load(r->m, MD_SCOPE_STRIP, 0, 0, "http://example.org/nope", err, sizeof err),
			 MD_ERR_TYPE);
	printf("unknown: %s\n", err);
	assert_non_null(strstr(err, "not installed"));
	assert_int_equal(mixer_insert_load(r->m, MD_SCOPE_STRIP, 0, 0, GVERB, err, sizeof err), MD_ERR_TYPE);
	printf("GVerb on a mono strip: %s\n", err);
	assert_non_null(strstr(err, "mono path"));
	assert_int_equal(mixer_insert_load(r->m, MD_SCOPE_STRIP, 0, 8, AMP, err, sizeof err), MD_ERR_NOTFOUND);
	assert_int_equal(mixer_insert_load(r->m, MD_SCOPE_STRIP, 3, 0, AMP, err, sizeof err), MD_ERR_NOTFOUND);
	assert_null(mixer_insert(r->m, MD_SCOPE_STRIP, 0, 0)->uri);
	assert_int_equal(mixer_insert_set(r->m, MD_SCOPE_STRIP, 0, 0, "gain", 1.0f, NULL), MD_ERR_NOTFOUND);
	assert_int_equal(mixer_insert_bypass(r->m, MD_SCOPE_STRIP, 0, 0, true), MD_ERR_NOTFOUND);
	assert_int_equal(mixer_insert_load(r->m, MD_SCOPE_STRIP, 0, 0, DELAY, err, sizeof err), MD_OK);
	float v;
	assert_int_equal(mixer_insert_set(r->m, MD_SCOPE_STRIP, 0, 0, "delay_time", 20.0f, &v), MD_OK);
	assert_float_equal(v, 10.0f, 0);
	assert_int_equal(mixer_insert_set(r->m, MD_SCOPE_STRIP, 0, 0, "delay_time", NAN, &v), MD_ERR_NAN);
	assert_int_equal(mixer_insert_set(r->m, MD_SCOPE_STRIP, 0, 0, "nope", 1.0f, &v), MD_ERR_NOTFOUND);
	assert_int_equal(mixer_insert_get(r->m, MD_SCOPE_STRIP, 0, 0, "delay_time", &v), MD_OK);
	assert_float_equal(v, 10.0f, 0);
	assert_int_equal(mixer_insert_get(r->m, MD_SCOPE_STRIP, 0, 0, "max_delay", &v), MD_OK);
	assert_float_equal(v, 1.0f, 0); /* the plugin's default */
	free_rig(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delay_on_strip),       cmocka_unit_test(test_mono_plugin_on_stereo_strip),
		cmocka_unit_test(test_bypass_is_click_free), cmocka_unit_test(test_gverb_on_bus),
		cmocka_unit_test(test_master_insert),        cmocka_unit_test(test_master_insert_across_a_removal),
		cmocka_unit_test(test_latency_compensation), cmocka_unit_test(test_plugin_parameter_lane),
		cmocka_unit_test(test_refusals_and_ranges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
