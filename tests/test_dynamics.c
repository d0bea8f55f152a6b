/* mixdesk tests: the gate and compressor against their documented static curves and time constants
 * (docs/DSP.md). Levels are held constant with DC input, so the detector (sample peak) sees exactly the
 * level asked for, and the gain is read sample by sample as output / input. */
#include "engine/dsp/strip_dsp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const float rates[] = {44100.0f, 48000.0f, 96000.0f};

static void defaults(float *p)
{
	for (int i = 0; i < MD_SP_COUNT; i++)
		p[i] = md_param_default(MD_SCOPE_STRIP, i);
}

/* the documented gain computer, written out independently of the engine's */
static double knee_curve(double x, double T, double R, double W)
{
	double d = x - T;
	if (2.0 * d < -W)
		return 0.0;
	if (2.0 * d <= W)
		return (1.0 / R - 1.0) * (d + W / 2.0) * (d + W / 2.0) / (2.0 * W);
	return (1.0 / R - 1.0) * d;
}

/* Feed n frames of a constant level (dBFS, on both channels, or left only); return the last gain in dB
 * per channel, and the gain of every frame of channel 0 in trace[] when given. */
static void run_level(struct md_strip_dsp *d, double level_db, uint32_t n, bool left_only, double *trace,
		      double last[2])
{
	float L[MD_BLOCK], R[MD_BLOCK];
	float *const ch[2] = {L, R};
	float v = (float)pow(10.0, level_db / 20.0);
	float vr = left_only ? 1e-3f : v;
	for (uint32_t t = 0; t < n;) {
		uint32_t k = n - t < MD_BLOCK ? n - t : MD_BLOCK;
		for (uint32_t i = 0; i < k; i++) {
			L[i] = v;
			R[i] = vr;
		}
		strip_dsp_process(d, ch, 2, k);
		for (uint32_t i = 0; i < k; i++, t++)
			if (trace)
				trace[t] = 20.0 * log10(L[i] / v);
		last[0] = 20.0 * log10(L[k - 1] / v);
		last[1] = 20.0 * log10(R[k - 1] / vr);
	}
}

static void comp_params(float *p, float T, float R, float W, float att, float rel, float mk)
{
	defaults(p);
	p[MD_SP_COMP_ON] = 1.0f;
	p[MD_SP_COMP_THRESHOLD] = T;
	p[MD_SP_COMP_RATIO] = R;
	p[MD_SP_COMP_KNEE] = W;
	p[MD_SP_COMP_ATTACK] = att;
	p[MD_SP_COMP_RELEASE] = rel;
	p[MD_SP_COMP_MAKEUP] = mk;
}

static void test_comp_static(void **state)
{
	(void)state;
	static const float set[][3] = {{-20, 4, 6}, {-30, 2, 12}, {-10, 20, 0}, {-40, 8, 24}, {-18, 1, 6}};
	static const double offs[] = {-20, -13, -7, -3.1, -2, -0.5, 0, 1, 2.9, 4, 6.5, 12, 20};
	double worst = 0;
	for (size_t r = 0; r < 3; r++)
		for (size_t s = 0; s < sizeof set / sizeof set[0]; s++) {
			float T = set[s][0], R = set[s][1], W = set[s][2];
			for (size_t o = 0; o < sizeof offs / sizeof offs[0]; o++) {
				float p[MD_SP_COUNT];
				comp_params(p, T, R, W, 5, 50, 3);
				struct md_strip_dsp d;
				strip_dsp_init(&d, rates[r], p);
				double x = T + offs[o], got[2];
				run_level(&d, x, (uint32_t)rates[r], false, NULL, got);
				double want = knee_curve(x, T, R, W);
				double e = fabs(got[0] - 3.0 - want);
				worst = e > worst ? e : worst;
				if (e > 0.01 || fabs(got[1] - got[0]) > 1e-4) {
					printf("comp T %g R %g W %g at %g dB: gain %.4f dB, want %.4f + 3 dB makeup\n",
					       T, R, W, x, got[0], want);
					fail();
				}
				/* the meter shows the reduction without the make-up */
				assert_float_equal(strip_dsp_gr_db(&d), want, 0.01);
				/* the engine's own gain computer agrees with the formula */
				assert_float_equal(dyn_comp_static_db(T, R, W, (float)x), want, 1e-4);
			}
		}
	printf("compressor static curve: largest error %.5f dB\n", worst);
}

/* stereo link: a loud left channel pulls the quiet right channel down by the same gain */
static void test_comp_linked(void **state)
{
	(void)state;
	float p[MD_SP_COUNT];
	comp_params(p, -20, 4, 0, 1, 50, 0);
	struct md_strip_dsp d;
	strip_dsp_init(&d, 48000.0f, p);
	double got[2];
	run_level(&d, -4, 48000, true, NULL, got);
	assert_float_equal(got[0], -12.0, 0.01);
	assert_float_equal(got[1], -12.0, 0.01);
}

/* First frame at which trace[] has covered `frac` of the way from a to b. */
static double crossing(const double *trace, uint32_t n, double a, double b, double frac)
{
	double level = a + frac * (b - a);
	for (uint32_t i = 0; i < n; i++)
		if ((b < a && trace[i] <= level) || (b > a && trace[i] >= level))
			return i;
	return -1;
}

static double trace_buf[7 * 96000]; /* the longest run: 200 ms hold + 6 s release at 96 kHz */

static void test_comp_times(void **state)
{
	(void)state;
	static const float times[][2] = {{10, 120}, {1, 50}, {50, 500}, {0.5, 1000}};
	const double frac = 1.0 - exp(-1.0);
	for (size_t r = 0; r < 3; r++)
		for (size_t k = 0; k < 4; k++) {
			float fs = rates[r], att = times[k][0], rel = times[k][1];
			float p[MD_SP_COUNT];
			comp_params(p, -20, 4, 6, att, rel, 0);
			struct md_strip_dsp d;
			strip_dsp_init(&d, fs, p);
			double got[2];
			run_level(&d, -60, 4800, false, NULL, got);
			assert_float_equal(got[0], 0.0, 1e-6);
			/* step up to 20 dB over the threshold: the gain goes to -15 dB */
			uint32_t n = (uint32_t)(fs * 10 * att / 1000) + 64;
			run_level(&d, 0, n, false, trace_buf, got);
			double t = crossing(trace_buf, n, 0.0, -15.0, frac) / fs * 1000.0;
			printf("fs %.0f attack %g ms: 63.2 %% at %.3f ms\n", fs, att, t);
			assert_float_equal(t, att, att * 0.01 + 1000.0 / fs);
			/* and back down below the knee: the gain returns to 0 dB */
			n = (uint32_t)(fs * 4 * rel / 1000);
			run_level(&d, -60, n, false, trace_buf, got);
			t = crossing(trace_buf, n, -15.0, 0.0, frac) / fs * 1000.0;
			printf("fs %.0f release %g ms: 63.2 %% at %.3f ms\n", fs, rel, t);
			assert_float_equal(t, rel, rel * 0.01 + 1000.0 / fs);
		}
}

/* switching the compressor off returns the gain to 0 dB without a jump */
static void test_comp_off(void **state)
{
	(void)state;
	float p[MD_SP_COUNT];
	comp_params(p, -20, 4, 0, 5, 2000, 6);
	struct md_strip_dsp d;
	strip_dsp_init(&d, 48000.0f, p);
	double got[2];
	run_level(&d, 0, 48000, false, NULL, got);
	assert_float_equal(got[0], -15.0 + 6.0, 0.01);
	p[MD_SP_COMP_ON] = 0.0f;
	strip_dsp_update(&d, p);
	run_level(&d, 0, 4800, false, trace_buf, got);
	double maxstep = 0;
	for (int i = 1; i < 4800; i++)
		maxstep = fmax(maxstep, fabs(trace_buf[i] - trace_buf[i - 1]));
	assert_true(maxstep < 0.1); /* dB per sample */
	run_level(&d, 0, 48000, false, NULL, got);
	assert_float_equal(got[0], 0.0, 1e-4);
	assert_float_equal(strip_dsp_gr_db(&d), 0.0f, 1e-6);
}

static void gate_params(float *p, float T, float range, float att, float hold, float rel)
{
	defaults(p);
	p[MD_SP_GATE_ON] = 1.0f;
	p[MD_SP_GATE_THRESHOLD] = T;
	p[MD_SP_GATE_RANGE] = range;
	p[MD_SP_GATE_ATTACK] = att;
	p[MD_SP_GATE_HOLD] = hold;
	p[MD_SP_GATE_RELEASE] = rel;
}

static void test_gate_static(void **state)
{
	(void)state;
	static const float set[][2] = {{-50, -40}, {-30, -90}, {-70, -10}, {-20, 0}};
	static const double offs[] = {-30, -10, -1, -0.1, 0, 0.1, 1, 10};
	for (size_t r = 0; r < 3; r++)
		for (size_t s = 0; s < 4; s++)
			for (size_t o = 0; o < sizeof offs / sizeof offs[0]; o++) {
				float T = set[s][0], range = set[s][1];
				float p[MD_SP_COUNT];
				gate_params(p, T, range, 1, 10, 50);
				struct md_strip_dsp d;
				strip_dsp_init(&d, rates[r], p);
				double x = T + offs[o], got[2];
				run_level(&d, x, (uint32_t)rates[r], false, NULL, got);
				double want = offs[o] >= 0 ? 0.0 : range;
				assert_float_equal(got[0], want, 0.01);
				assert_float_equal(got[1], want, 0.01);
				assert_float_equal(strip_dsp_gr_db(&d), want, 0.01);
			}
}

static void test_gate_times(void **state)
{
	(void)state;
	static const float times[][3] = {{1, 20, 100}, {0.1, 0, 10}, {10, 200, 1000}, {0.05, 50, 5}};
	const double frac = 1.0 - exp(-1.0);
	for (size_t r = 0; r < 3; r++)
		for (size_t k = 0; k < 4; k++) {
			float fs = rates[r], att = times[k][0], hold = times[k][1], rel = times[k][2];
			float p[MD_SP_COUNT];
			gate_params(p, -40, -30, att, hold, rel);
			struct md_strip_dsp d;
			strip_dsp_init(&d, fs, p);
			double got[2];
			run_level(&d, -20, 4800, false, NULL, got);
			assert_float_equal(got[0], 0.0, 1e-6);
			/* below the threshold: open for the hold time, then closing with the release */
			uint32_t n = (uint32_t)(fs * (hold + 6 * rel) / 1000);
			run_level(&d, -60, n, false, trace_buf, got);
			uint32_t h = (uint32_t)lrintf(hold * fs / 1000);
			/* open for exactly `hold` frames after the last one at the threshold, closing from the next */
			if (h > 0)
				assert_true(trace_buf[h - 1] == 0.0);
			assert_true(trace_buf[h] < 0.0);
			double t = (crossing(trace_buf, n, 0.0, -30.0, frac) - h) / fs * 1000.0;
			printf("fs %.0f hold %g ms, release %g ms: 63.2 %% at %.3f ms after the hold\n", fs, hold, rel,
			       t);
			assert_float_equal(t, rel, rel * 0.01 + 1000.0 / fs);
			/* the whole curve is the documented exponential: check its end as well */
			assert_float_equal(got[0], -30.0 * (1.0 - exp(-(double)(n - h) / (rel * fs / 1000.0))), 0.01);
			/* back over the threshold: opens with the attack */
			n = (uint32_t)(fs * 8 * att / 1000) + 64;
			run_level(&d, -20, n, false, trace_buf, got);
			t = crossing(trace_buf, n, -30.0, 0.0, frac) / fs * 1000.0;
			printf("fs %.0f attack %g ms: 63.2 %% at %.3f ms\n", fs, att, t);
			assert_float_equal(t, att, att * 0.01 + 1000.0 / fs);
		}
}

/* gate before compressor: the meter adds both reductions; the compressor does not see the gated level
 * as a reason to compress */
static void test_gate_and_comp(void **state)
{
	(void)state;
	float p[MD_SP_COUNT];
	gate_params(p, -50, -40, 1, 10, 50);
	p[MD_SP_COMP_ON] = 1.0f;
	p[MD_SP_COMP_THRESHOLD] = -20.0f;
	p[MD_SP_COMP_RATIO] = 4.0f;
	p[MD_SP_COMP_KNEE] = 0.0f;
	p[MD_SP_COMP_MAKEUP] = 0.0f;
	struct md_strip_dsp d;
	strip_dsp_init(&d, 48000.0f, p);
	double got[2];
	run_level(&d, -10, 48000, false, NULL, got);
	assert_float_equal(got[0], -7.5, 0.01);
	assert_float_equal(strip_dsp_gr_db(&d), -7.5, 0.01);
	run_level(&d, -60, 48000, false, NULL, got);
	assert_float_equal(got[0], -40.0, 0.01);
	assert_float_equal(strip_dsp_gr_db(&d), -40.0, 0.01);
}

static void test_fast_math(void **state)
{
	(void)state;
	double worst = 0;
	for (double x = -140.0; x <= 40.0; x += 0.0137) {
		float g = (float)pow(10.0, x / 20.0);
		double db = dyn_log2(g) * 6.020599913;
		worst = fmax(worst, fabs(db - x));
		double back = dyn_exp2((float)(x / 6.020599913));
		worst = fmax(worst, fabs(20.0 * log10(back) - x));
	}
	printf("dyn_log2/dyn_exp2 largest error: %.2e dB\n", worst);
	assert_true(worst < 1e-4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fast_math),   cmocka_unit_test(test_comp_static),
		cmocka_unit_test(test_comp_linked), cmocka_unit_test(test_comp_times),
		cmocka_unit_test(test_comp_off),    cmocka_unit_test(test_gate_static),
		cmocka_unit_test(test_gate_times),  cmocka_unit_test(test_gate_and_comp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
