/* mixdesk tests: the strip filters and EQ bands measured against their analytic responses. Sines go through
 * strip_dsp_process (stereo, odd block sizes), the steady-state amplitude is found by a least-squares sine
 * fit, and compared with the analog prototype evaluated at the bilinear-warped frequency
 * Omega = tan(pi f / fs) / tan(pi f0 / fs), the exact magnitude of the cookbook filters. */
#include "engine/dsp/strip_dsp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define TOL_DB 0.1
#define AMP 0.5

static const double rates[] = {44100, 48000, 96000, 192000};
static double worst_err; /* largest deviation seen, printed at the end */

static void defaults(float *p)
{
	for (int i = 0; i < MD_SP_COUNT; i++)
		p[i] = md_param_default(MD_SCOPE_STRIP, i);
}

/* Run a sine of frequency f through d; return the measured gain in dB of channel 0 and 1. */
static void measure(struct md_strip_dsp *d, double rate, double f, double settle_s, double out_db[2])
{
	static const uint32_t sizes[] = {64, 17, 64, 1, 33, 64, 50};
	float L[MD_BLOCK], R[MD_BLOCK];
	float *const ch[2] = {L, R};
	double w = 2.0 * M_PI * f / rate;
	uint64_t settle = (uint64_t)(settle_s * rate);
	uint64_t win = (uint64_t)fmax(0.1 * rate, 20.0 * rate / f);
	double ss = 0, sc = 0, cc = 0, ys[2] = {0, 0}, yc[2] = {0, 0};
	uint64_t t = 0;
	for (int k = 0; t < settle + win; k++) {
		uint32_t n = sizes[k % 7];
		for (uint32_t i = 0; i < n; i++) {
			L[i] = R[i] = (float)(AMP * sin(w * (double)(t + i)));
		}
		strip_dsp_process(d, ch, 2, n);
		for (uint32_t i = 0; i < n; i++, t++) {
			if (t < settle)
				continue;
			double s = sin(w * (double)t), c = cos(w * (double)t);
			ss += s * s;
			sc += s * c;
			cc += c * c;
			for (int j = 0; j < 2; j++) {
				ys[j] += ch[j][i] * s;
				yc[j] += ch[j][i] * c;
			}
		}
	}
	double det = ss * cc - sc * sc;
	for (int j = 0; j < 2; j++) {
		double a = (ys[j] * cc - yc[j] * sc) / det, b = (yc[j] * ss - ys[j] * sc) / det;
		out_db[j] = 20.0 * log10(sqrt(a * a + b * b) / AMP);
	}
}

static double warp(double rate, double f, double f0)
{
	return tan(M_PI * f / rate) / tan(M_PI * f0 / rate);
}

/* Butterworth of order n (2 or 4), bilinear-warped */
static double butter_db(bool high, int order, double rate, double f, double fc)
{
	double W = warp(rate, f, fc);
	if (high)
		W = 1.0 / W;
	return -10.0 * log10(1.0 + pow(W, 2.0 * order));
}

/* the analog prototypes of the cookbook's peaking and shelving filters, Q form, s = j Omega */
static double eq_db(int type, double rate, double f, double f0, double gain, double q)
{
	double complex s = I * warp(rate, f, f0);
	double A = pow(10.0, gain / 40.0), sA = sqrt(A);
	double complex h;
	switch (type) {
	case MD_EQT_PEAK: h = (s * s + s * (A / q) + 1.0) / (s * s + s / (A * q) + 1.0); break;
	case MD_EQT_LOWSHELF: h = A * (s * s + (sA / q) * s + A) / (A * s * s + (sA / q) * s + 1.0); break;
	default: h = A * (A * s * s + (sA / q) * s + 1.0) / (s * s + (sA / q) * s + A); break;
	}
	return 20.0 * log10(cabs(h));
}

static void check(double got[2], double want, double rate, double f, const char *what)
{
	for (int j = 0; j < 2; j++) {
		double e = fabs(got[j] - want);
		if (e > worst_err)
			worst_err = e;
		if (e > TOL_DB) {
			printf("%s at %.0f Hz, fs %.0f: measured %.3f dB, expected %.3f dB (ch %d)\n", what, f, rate,
			       got[j], want, j);
			fail();
		}
	}
}

static const double ratios[] = {0.25, 0.5, 0.8, 1.0, 1.25, 2.0, 4.0};

static void pass_case(bool high, double rate, double fc, int slope)
{
	float p[MD_SP_COUNT];
	defaults(p);
	int base = high ? MD_SP_HPF_ON : MD_SP_LPF_ON;
	p[base] = 1.0f;
	p[base + 1] = (float)fc;
	p[base + 2] = (float)slope;
	struct md_strip_dsp d;
	strip_dsp_init(&d, (float)rate, p);
	for (size_t i = 0; i < sizeof ratios / sizeof ratios[0]; i++) {
		double f = fc * ratios[i];
		if (f < 20.0 || f > 0.45 * rate || f > 22000.0)
			continue;
		double want = butter_db(high, slope / 6, rate, f, fc);
		if (want < -90.0)
			continue;
		double got[2];
		measure(&d, rate, f, 0.3, got);
		char what[64];
		snprintf(what, sizeof what, "%s %.0f Hz %d dB/oct", high ? "HPF" : "LPF", fc, slope);
		check(got, want, rate, f, what);
	}
}

static void test_hpf(void **state)
{
	(void)state;
	static const double fcs[] = {30, 200, 1500, 2000};
	for (size_t r = 0; r < 4; r++)
		for (size_t i = 0; i < 4; i++) {
			pass_case(true, rates[r], fcs[i], 12);
			pass_case(true, rates[r], fcs[i], 24);
		}
}

static void test_lpf(void **state)
{
	(void)state;
	static const double fcs[] = {200, 800, 5000, 16000};
	for (size_t r = 0; r < 4; r++)
		for (size_t i = 0; i < 4; i++) {
			pass_case(false, rates[r], fcs[i], 12);
			pass_case(false, rates[r], fcs[i], 24);
		}
}

struct eq_case {
	int type;
	double f0, gain, q;
};

static void eq_case(double rate, const struct eq_case *c, int band)
{
	float p[MD_SP_COUNT];
	defaults(p);
	p[MD_SP_EQ_ON] = 1.0f;
	p[MD_SP_EQ(band, MD_EQ_TYPE)] = (float)c->type;
	p[MD_SP_EQ(band, MD_EQ_FREQ)] = (float)c->f0;
	p[MD_SP_EQ(band, MD_EQ_GAIN)] = (float)c->gain;
	p[MD_SP_EQ(band, MD_EQ_Q)] = (float)c->q;
	struct md_strip_dsp d;
	strip_dsp_init(&d, (float)rate, p);
	for (size_t i = 0; i < sizeof ratios / sizeof ratios[0]; i++) {
		double f = c->f0 * ratios[i];
		if (f < 20.0 || f > 0.45 * rate || f > 22000.0)
			continue;
		double got[2];
		measure(&d, rate, f, 0.2 + 20.0 * c->q / (2.0 * M_PI * c->f0), got);
		char what[64];
		snprintf(what, sizeof what, "EQ band %d type %d %.0f Hz %+.0f dB Q %.2f", band + 1, c->type, c->f0,
			 c->gain, c->q);
		check(got, eq_db(c->type, rate, f, c->f0, c->gain, c->q), rate, f, what);
	}
}

static void test_eq_types(void **state)
{
	(void)state;
	static const struct eq_case cases[] = {
		{MD_EQT_PEAK, 100, 12, 0.7},      {MD_EQT_PEAK, 1000, -9, 4},        {MD_EQT_PEAK, 8000, 6, 1.5},
		{MD_EQT_PEAK, 250, -18, 10},      {MD_EQT_LOWSHELF, 80, 10, 0.7},    {MD_EQT_LOWSHELF, 500, -12, 2},
		{MD_EQT_LOWSHELF, 2000, 18, 0.3}, {MD_EQT_HIGHSHELF, 10000, 8, 0.7}, {MD_EQT_HIGHSHELF, 3000, -6, 1},
		{MD_EQT_HIGHSHELF, 300, 15, 0.5},
	};
	for (size_t r = 0; r < 4; r++)
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
			eq_case(rates[r], &cases[i], (int)(i % MD_EQ_BANDS)); /* every band slot takes every type */
}

/* the four bands, the HPF and the LPF all at once: their responses add in dB */
static void test_full_chain(void **state)
{
	(void)state;
	static const struct eq_case bands[MD_EQ_BANDS] = {{MD_EQT_LOWSHELF, 120, 6, 0.7},
							  {MD_EQT_PEAK, 600, -8, 2},
							  {MD_EQT_PEAK, 2500, 5, 1},
							  {MD_EQT_HIGHSHELF, 9000, -4, 0.7}};
	static const double fs[] = {20, 40, 90, 300, 600, 1000, 2500, 5000, 9000, 14000, 19000};
	for (size_t r = 0; r < 3; r++) {
		double rate = rates[r];
		float p[MD_SP_COUNT];
		defaults(p);
		p[MD_SP_HPF_ON] = p[MD_SP_LPF_ON] = p[MD_SP_EQ_ON] = 1.0f;
		p[MD_SP_HPF_FREQ] = 60.0f;
		p[MD_SP_HPF_SLOPE] = 24.0f;
		p[MD_SP_LPF_FREQ] = 15000.0f;
		p[MD_SP_LPF_SLOPE] = 12.0f;
		for (int b = 0; b < MD_EQ_BANDS; b++) {
			p[MD_SP_EQ(b, MD_EQ_TYPE)] = (float)bands[b].type;
			p[MD_SP_EQ(b, MD_EQ_FREQ)] = (float)bands[b].f0;
			p[MD_SP_EQ(b, MD_EQ_GAIN)] = (float)bands[b].gain;
			p[MD_SP_EQ(b, MD_EQ_Q)] = (float)bands[b].q;
		}
		struct md_strip_dsp d;
		strip_dsp_init(&d, (float)rate, p);
		for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++) {
			double f = fs[i];
			double want = butter_db(true, 4, rate, f, 60) + butter_db(false, 2, rate, f, 15000);
			for (int b = 0; b < MD_EQ_BANDS; b++)
				want += eq_db(bands[b].type, rate, f, bands[b].f0, bands[b].gain, bands[b].q);
			double got[2];
			measure(&d, rate, f, 0.4, got);
			check(got, want, rate, f, "full chain");
		}
	}
}

/* parameters reached by gliding land on the same response as parameters set at init */
static void test_glide_lands(void **state)
{
	(void)state;
	for (size_t r = 0; r < 3; r++) {
		double rate = rates[r];
		float p[MD_SP_COUNT];
		defaults(p);
		struct md_strip_dsp d;
		strip_dsp_init(&d, (float)rate, p);
		p[MD_SP_EQ_ON] = p[MD_SP_HPF_ON] = 1.0f;
		p[MD_SP_HPF_FREQ] = 150.0f;
		p[MD_SP_HPF_SLOPE] = 24.0f;
		p[MD_SP_EQ(1, MD_EQ_TYPE)] = MD_EQT_HIGHSHELF; /* a type change goes through 0 dB */
		p[MD_SP_EQ(1, MD_EQ_FREQ)] = 4000.0f;
		p[MD_SP_EQ(1, MD_EQ_GAIN)] = -10.0f;
		p[MD_SP_EQ(1, MD_EQ_Q)] = 0.7f;
		strip_dsp_update(&d, p);
		double got[2];
		for (int k = 0; k < 2; k++) {
			double f = k ? 8000.0 : 100.0;
			measure(&d, rate, f, 0.5, got);
			check(got, butter_db(true, 4, rate, f, 150) + eq_db(MD_EQT_HIGHSHELF, rate, f, 4000, -10, 0.7),
			      rate, f, "after glide");
		}
		/* switched off again, the strip is exactly transparent */
		p[MD_SP_EQ_ON] = p[MD_SP_HPF_ON] = 0.0f;
		strip_dsp_update(&d, p);
		measure(&d, rate, 1000.0, 0.5, got);
		assert_true(fabs(got[0]) < 1e-4 && fabs(got[1]) < 1e-4);
	}
}

/* Every glide ends, whatever its start, target and rate: the strip then runs as a plain chain (the engine
 * runs those side by side). A glide near log2(18 kHz) = 14 once stalled a hair short of its target because
 * its step fell below a float's resolution, and the strip recomputed its coefficients for ever. */
static void test_glides_end(void **state)
{
	(void)state;
	static const float targets[] = {20, 31.5f, 440, 1000, 9000, 12000, 16000, 17000, 18000, 19000, 20000};
	int checked = 0;
	for (size_t r = 0; r < 4; r++)
		for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
			float p[MD_SP_COUNT];
			defaults(p);
			struct md_strip_dsp d;
			strip_dsp_init(&d, (float)rates[r], p);
			p[MD_SP_HPF_ON] = p[MD_SP_LPF_ON] = p[MD_SP_EQ_ON] = 1.0f;
			p[MD_SP_HPF_FREQ] = targets[t] / 8.0f < 20.0f ? 20.0f : targets[t] / 8.0f;
			p[MD_SP_LPF_FREQ] = targets[t];
			p[MD_SP_LPF_SLOPE] = p[MD_SP_HPF_SLOPE] = 24.0f;
			for (int b = 0; b < MD_EQ_BANDS; b++) {
				p[MD_SP_EQ(b, MD_EQ_FREQ)] = targets[t] * (0.5f + 0.25f * (float)b);
				p[MD_SP_EQ(b, MD_EQ_GAIN)] = -7.3f + 4.1f * (float)b;
				p[MD_SP_EQ(b, MD_EQ_Q)] = 0.3f + 1.7f * (float)b;
			}
			strip_dsp_update(&d, p);
			float L[MD_BLOCK] = {0}, R[MD_BLOCK] = {0};
			float *const ch[2] = {L, R};
			for (double tt = 0; tt < 2.0; tt += MD_BLOCK / rates[r])
				strip_dsp_process(&d, ch, 2, MD_BLOCK);
			struct md_biquad *sec[MD_BQ_CHAIN_MAX];
			int ns = strip_dsp_chain(&d, sec);
			if (ns != 8)
				fail_msg("%.0f Hz: LPF target %.1f Hz: %d sections after 2 s (lpf at %.7f, wants %.7f)",
					 rates[r], targets[t], ns, d.lpf.lf.cur, d.lpf.lf.target);
			assert_true(d.lpf.lf.cur == d.lpf.lf.target && d.hpf.lf.cur == d.hpf.lf.target);
			for (int b = 0; b < MD_EQ_BANDS; b++)
				assert_true(d.band[b].lf.cur == d.band[b].lf.target &&
					    d.band[b].gain.cur == d.band[b].gain.target &&
					    d.band[b].lq.cur == d.band[b].lq.target);
			checked++;
		}
	assert_int_equal(checked, 44);
}

/* biquad_process_lanes: channels of many strips side by side give, bit for bit, what each strip's own
 * biquad_process_chain gives, with mono and stereo strips mixed, chains of every length (a group padded
 * with identity sections and with an idle lane), blocks of any length, and the state carried on */
static void test_lanes_match_chains(void **state)
{
	(void)state;
	enum { STRIPS = 11 };
	static const enum md_biquad_kind kinds[] = {MD_BQ_HIGHPASS, MD_BQ_LOWPASS, MD_BQ_PEAK, MD_BQ_LOWSHELF,
						    MD_BQ_HIGHSHELF};
	static struct md_biquad a[STRIPS][MD_BQ_CHAIN_MAX], b[STRIPS][MD_BQ_CHAIN_MAX];
	static float xa[STRIPS][2][MD_BLOCK], xb[STRIPS][2][MD_BLOCK];
	int ns[STRIPS], nch[STRIPS];
	uint32_t seed = 12345;
	for (int s = 0; s < STRIPS; s++) {
		ns[s] = s % (MD_BQ_CHAIN_MAX + 1); /* 0..8 sections */
		nch[s] = s % 3 == 1 ? 1 : 2;
		for (int j = 0; j < MD_BQ_CHAIN_MAX; j++) {
			biquad_setup(&a[s][j], kinds[(s + j) % 5], 48000.0, 40.0 * pow(1.9, j + s % 4), 0.5 + 0.3 * j,
				     -9.0 + 2.5 * j);
			biquad_reset(&a[s][j]);
			b[s][j] = a[s][j];
		}
	}
	static const uint32_t lens[] = {64, 37, 1, 64, 16, 64};
	int compared = 0;
	for (size_t blk = 0; blk < sizeof lens / sizeof lens[0]; blk++) {
		uint32_t n = lens[blk];
		for (int s = 0; s < STRIPS; s++)
			for (int c = 0; c < 2; c++)
				for (uint32_t i = 0; i < n; i++) {
					seed = seed * 1664525u + 1013904223u;
					xa[s][c][i] = xb[s][c][i] = (float)((int32_t)seed) / 2147483648.0f;
				}
		struct md_bq_lane lanes[2 * STRIPS];
		int16_t order[2 * STRIPS];
		int nl = 0;
		for (int s = 0; s < STRIPS; s++) {
			struct md_biquad *pa[MD_BQ_CHAIN_MAX];
			for (int j = 0; j < ns[s]; j++)
				pa[j] = &a[s][j];
			float *const cha[2] = {xa[s][0], xa[s][1]};
			biquad_process_chain(pa, ns[s], cha, nch[s], n);
			for (int c = 0; c < nch[s] && ns[s] > 0; c++) {
				for (int j = 0; j < ns[s]; j++)
					lanes[nl].s[j] = &b[s][j];
				lanes[nl].ns = ns[s];
				lanes[nl].c = c;
				lanes[nl].x = xb[s][c];
				nl++;
			}
		}
		biquad_process_lanes(lanes, nl, n, order);
		for (int s = 0; s < STRIPS; s++) {
			for (int c = 0; c < nch[s]; c++)
				for (uint32_t i = 0; i < n; i++, compared++)
					if (memcmp(&xa[s][c][i], &xb[s][c][i], sizeof(float)) != 0)
						fail_msg(
							"block %zu strip %d channel %d sample %u: chain %.9g, lanes %.9g",
							blk, s, c, i, xa[s][c][i], xb[s][c][i]);
			for (int j = 0; j < ns[s]; j++)
				for (int c = 0; c < nch[s]; c++)
					assert_memory_equal(a[s][j].z[c], b[s][j].z[c], sizeof a[s][j].z[c]);
		}
	}
	assert_true(compared > 3000);
}

/* a mono strip uses channel 0 only and does not touch ch[1] */
static void test_mono(void **state)
{
	(void)state;
	float p[MD_SP_COUNT];
	defaults(p);
	p[MD_SP_LPF_ON] = 1.0f;
	p[MD_SP_LPF_FREQ] = 1000.0f;
	struct md_strip_dsp d;
	strip_dsp_init(&d, 48000.0f, p);
	float L[MD_BLOCK];
	float *const ch[2] = {L, NULL};
	double ms = 0;
	for (int k = 0; k < 400; k++) {
		for (int i = 0; i < MD_BLOCK; i++)
			L[i] = (float)sin(2.0 * M_PI * 4000.0 * (k * MD_BLOCK + i) / 48000.0);
		strip_dsp_process(&d, ch, 1, MD_BLOCK);
		if (k >= 200)
			for (int i = 0; i < MD_BLOCK; i++)
				ms += L[i] * L[i];
	}
	double got = 10.0 * log10(ms / (200.0 * MD_BLOCK) * 2.0);
	assert_float_equal(got, butter_db(false, 2, 48000, 4000, 1000), 0.1);
}

/* NaN in, state cleared by the strip itself and by reset: finite out again */
static void test_nan_recovery(void **state)
{
	(void)state;
	float p[MD_SP_COUNT];
	defaults(p);
	p[MD_SP_HPF_ON] = p[MD_SP_LPF_ON] = p[MD_SP_EQ_ON] = p[MD_SP_COMP_ON] = p[MD_SP_GATE_ON] = 1.0f;
	p[MD_SP_EQ(1, MD_EQ_GAIN)] = 6.0f;
	struct md_strip_dsp d;
	strip_dsp_init(&d, 48000.0f, p);
	float L[MD_BLOCK], R[MD_BLOCK];
	float *const ch[2] = {L, R};
	for (int i = 0; i < MD_BLOCK; i++)
		L[i] = R[i] = i == 10 ? NAN : 0.3f;
	strip_dsp_process(&d, ch, 2, MD_BLOCK);
	strip_dsp_reset(&d);
	for (int k = 0; k < 10; k++) {
		for (int i = 0; i < MD_BLOCK; i++)
			L[i] = R[i] = (float)sin(0.1 * i);
		strip_dsp_process(&d, ch, 2, MD_BLOCK);
		for (int i = 0; i < MD_BLOCK; i++)
			assert_true(isfinite(L[i]) && isfinite(R[i]));
	}
	assert_true(isfinite(strip_dsp_gr_db(&d)) && strip_dsp_gr_db(&d) <= 0.0f);
}

static void test_report(void **state)
{
	(void)state;
	printf("largest deviation from the analytic responses: %.4f dB (tolerance %.2f dB)\n", worst_err, TOL_DB);
	assert_true(worst_err < TOL_DB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hpf),          cmocka_unit_test(test_lpf),
		cmocka_unit_test(test_eq_types),     cmocka_unit_test(test_full_chain),
		cmocka_unit_test(test_glide_lands),  cmocka_unit_test(test_mono),
		cmocka_unit_test(test_glides_end),   cmocka_unit_test(test_lanes_match_chains),
		cmocka_unit_test(test_nan_recovery), cmocka_unit_test(test_report),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
