/* mixdesk tests: a 20-second automated sweep of every filter and EQ parameter (frequency, gain and Q of each
 * band, HPF and LPF frequency, with slopes, band types and on/off switches toggled on the way), at 44.1, 48
 * and 96 kHz, with a sine going through. The output must stay finite and click-free.
 *
 * Click-free, as measured here: a sine a(t) sin(w t + phi(t)) moves from one sample to the next by at most
 * about (|a'| / a + w + |phi'|) a / fs. For a pure sine that is 2 sin(pi f0 / fs) a. The glides add the
 * other terms: the fastest gain move (an 18 dB to -18 dB jump of a band gliding with a 20 ms time constant)
 * gives |a'| / a <= 36 / 8.69 / 0.02 s = 207 /s, a third of w at 100 Hz, and the phase of a filter whose
 * corner glides past the tone turns at a comparable rate. So the bound is
 *     |y[n] - y[n-1]| <= K * 2 sin(pi f0 / fs) * E[n] + floor,   K = 3,
 * with E[n] the largest |y| within about a period either side, and floor = 1e-3 * A for the input amplitude
 * A: a step 60 dB under the input while the output sits deep in a stop band is not counted as a click.
 * A click proper, a step of a sizeable part of the amplitude within one sample, is far above it (at 100 Hz
 * and 44.1 kHz the bound is 4 % of the envelope per sample). The same measure is run on the same
 * sweep with the coefficients jumping to each new setting (no glide), and must flag it: the measure can fail. */
#include "engine/dsp/strip_dsp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECONDS 20
#define AMP 0.1
#define K 3.0
#define TICK_MS 10 /* automation updates, like a tablet sending every 10 ms */

static float out[SECONDS * 96000 + 4096];
static float emax[SECONDS * 96000 / 10 + 16];

static void defaults(float *p)
{
	for (int i = 0; i < MD_SP_COUNT; i++)
		p[i] = md_param_default(MD_SCOPE_STRIP, i);
}

enum { NPAR = MD_EQ_BANDS * 3 + 2 };

/* parameter j of the sweep: its id, range, and whether it moves in log2 */
static void sweep_param(int j, int *id, float *lo, float *hi, bool *lg)
{
	if (j < MD_EQ_BANDS * 3) {
		int band = j / 3, f = j % 3;
		static const int field[3] = {MD_EQ_FREQ, MD_EQ_GAIN, MD_EQ_Q};
		*id = MD_SP_EQ(band, field[f]);
		*lg = field[f] != MD_EQ_GAIN;
	} else {
		*id = j == MD_EQ_BANDS * 3 ? MD_SP_HPF_FREQ : MD_SP_LPF_FREQ;
		*lg = true;
	}
	const struct md_param_desc *d = md_param_desc(MD_SCOPE_STRIP, *id);
	*lo = d->min;
	*hi = d->max;
}

/* the automation at tick k (every TICK_MS) */
static void automate(float *p, int k, int ticks)
{
	int seg_len = ticks / NPAR;
	int j = k / seg_len;
	if (j >= NPAR)
		j = NPAR - 1;
	int id;
	float lo, hi;
	bool lg;
	sweep_param(j, &id, &lo, &hi, &lg);
	double u = (double)(k - j * seg_len) / seg_len, x;
	if (u < 0.4)
		x = u / 0.4; /* up */
	else if (u < 0.8)
		x = (0.8 - u) / 0.4; /* down */
	else
		x = ((k / 10) % 2) ? 1.0 : 0.0; /* jumps between the ends every 100 ms */
	p[id] = lg ? (float)(lo * pow(hi / lo, x)) : (float)(lo + (hi - lo) * x);
	if (j < MD_EQ_BANDS * 3) {
		int band = j / 3;
		if (j % 3 != 1)
			p[MD_SP_EQ(band, MD_EQ_GAIN)] = 12.0f;
		p[MD_SP_EQ(band, MD_EQ_TYPE)] = (float)((k / 70) % MD_EQT_COUNT); /* every 700 ms */
		p[MD_SP_EQ(band, MD_EQ_ON)] = (k / 110) % 4 == 3 ? 0.0f : 1.0f;
	}
	p[MD_SP_HPF_SLOPE] = (k / 25) % 2 ? 24.0f : 12.0f; /* every 250 ms */
	p[MD_SP_LPF_SLOPE] = (k / 35) % 2 ? 24.0f : 12.0f;
	p[MD_SP_HPF_ON] = (k / 130) % 5 == 4 ? 0.0f : 1.0f;
	p[MD_SP_LPF_ON] = (k / 170) % 5 == 4 ? 0.0f : 1.0f;
	p[MD_SP_EQ_ON] = (k / 190) % 6 == 5 ? 0.0f : 1.0f;
}

/* Apply p at once, the way a strip without parameter glides would: new coefficients, old filter state. */
static void jump(struct md_strip_dsp *d, float rate, const float *p)
{
	struct md_strip_dsp n;
	strip_dsp_init(&n, rate, p);
	for (int s = 0; s < 2; s++) {
		memcpy(n.hpf.s[s].z, d->hpf.s[s].z, sizeof n.hpf.s[s].z);
		memcpy(n.lpf.s[s].z, d->lpf.s[s].z, sizeof n.lpf.s[s].z);
	}
	for (int b = 0; b < MD_EQ_BANDS; b++)
		memcpy(n.band[b].s.z, d->band[b].s.z, sizeof n.band[b].s.z);
	*d = n;
}

struct result {
	double worst; /* largest |dy| / bound */
	double peak;  /* largest |y| */
	bool finite;
};

static struct result run(double rate, double f0, bool glide)
{
	float p[MD_SP_COUNT];
	defaults(p);
	p[MD_SP_HPF_ON] = p[MD_SP_LPF_ON] = p[MD_SP_EQ_ON] = 1.0f;
	struct md_strip_dsp d;
	strip_dsp_init(&d, (float)rate, p);
	uint32_t total = (uint32_t)(SECONDS * rate), tick = (uint32_t)(rate * TICK_MS / 1000);
	int ticks = (int)(total / tick);
	double w = 2.0 * M_PI * f0 / rate;
	float L[MD_BLOCK], R[MD_BLOCK];
	float *const ch[2] = {L, R};
	uint32_t t = 0;
	struct result res = {0, 0, true};
	for (int k = 0; k < ticks; k++) {
		automate(p, k, ticks);
		if (glide)
			strip_dsp_update(&d, p);
		else
			jump(&d, (float)rate, p);
		for (uint32_t done = 0; done < tick;) {
			uint32_t n = tick - done < MD_BLOCK ? tick - done : MD_BLOCK;
			for (uint32_t i = 0; i < n; i++)
				L[i] = R[i] = (float)(AMP * sin(w * (double)(t + i)));
			strip_dsp_process(&d, ch, 2, n);
			for (uint32_t i = 0; i < n; i++, t++) {
				if (!isfinite(L[i]) || L[i] != R[i])
					res.finite = false;
				out[t] = L[i];
				res.peak = fmax(res.peak, fabs(L[i]));
			}
			done += n;
		}
	}
	/* E[n]: the largest |y| over the blocks of a period around n */
	uint32_t P = (uint32_t)ceil(rate / f0), nb = (t + P - 1) / P;
	for (uint32_t b = 0; b < nb; b++) {
		float m = 0;
		for (uint32_t i = b * P; i < (b + 1) * P && i < t; i++)
			m = fmaxf(m, fabsf(out[i]));
		emax[b] = m;
	}
	double slope = 2.0 * sin(M_PI * f0 / rate), floor_ = 1e-3 * AMP;
	for (uint32_t i = 1; i < t; i++) {
		uint32_t b = i / P;
		double e = emax[b];
		if (b > 0)
			e = fmax(e, emax[b - 1]);
		if (b + 1 < nb)
			e = fmax(e, emax[b + 1]);
		double r = fabs((double)out[i] - out[i - 1]) / (K * slope * e + floor_);
		if (r > res.worst && getenv("SWEEP_DEBUG"))
			printf("  at %.4f s: r %.2f dy %.5f e %.5f\n", i / rate, r, (double)out[i] - out[i - 1], e);
		res.worst = fmax(res.worst, r);
	}
	return res;
}

static void test_sweep(void **state)
{
	(void)state;
	static const double rates[] = {44100, 48000, 96000};
	static const double tones[] = {100, 1000};
	for (int r = 0; r < 3; r++)
		for (int k = 0; k < 2; k++) {
			struct result g = run(rates[r], tones[k], true);
			printf("fs %.0f, %.0f Hz: largest step %.3f of the bound, peak %.2f dB re input, finite %d\n",
			       rates[r], tones[k], g.worst, 20 * log10(g.peak / AMP), g.finite);
			assert_true(g.finite);
			assert_true(g.worst <= 1.0);
		}
}

/* the same sweep without the glides clicks, and the measure sees it */
static void test_measure_can_fail(void **state)
{
	(void)state;
	struct result j = run(48000, 100, false);
	printf("coefficients jumping: largest step %.2f of the bound\n", j.worst);
	assert_true(j.worst > 1.0);
}

/* 192 kHz: the extremes of every range stay finite and bounded (no instability) */
static void test_extremes_192k(void **state)
{
	(void)state;
	float p[MD_SP_COUNT];
	defaults(p);
	p[MD_SP_HPF_ON] = p[MD_SP_LPF_ON] = p[MD_SP_EQ_ON] = 1.0f;
	struct md_strip_dsp d;
	strip_dsp_init(&d, 192000.0f, p);
	float L[MD_BLOCK], R[MD_BLOCK];
	float *const ch[2] = {L, R};
	uint32_t t = 0;
	double peak = 0;
	for (int k = 0; k < 64; k++) {
		for (int j = 0; j < NPAR; j++) {
			int id;
			float lo, hi;
			bool lg;
			sweep_param(j, &id, &lo, &hi, &lg);
			p[id] = ((k >> (j % 6)) & 1) ? hi : lo;
		}
		p[MD_SP_HPF_SLOPE] = k & 1 ? 24.0f : 12.0f;
		p[MD_SP_LPF_SLOPE] = k & 2 ? 24.0f : 12.0f;
		for (int b = 0; b < MD_EQ_BANDS; b++)
			p[MD_SP_EQ(b, MD_EQ_TYPE)] = (float)((k + b) % MD_EQT_COUNT);
		strip_dsp_update(&d, p);
		for (int blk = 0; blk < 300; blk++) {
			for (int i = 0; i < MD_BLOCK; i++, t++)
				L[i] = R[i] = (float)(0.1 * sin(2.0 * M_PI * 997.0 * t / 192000.0) +
						      0.1 * sin(2.0 * M_PI * 31.0 * t / 192000.0));
			strip_dsp_process(&d, ch, 2, MD_BLOCK);
			for (int i = 0; i < MD_BLOCK; i++) {
				assert_true(isfinite(L[i]));
				peak = fmax(peak, fabs(L[i]));
			}
		}
	}
	printf("192 kHz extremes: peak %.2f\n", peak);
	assert_true(peak < 0.2 * 1000.0); /* +60 dB: 3 bands at +18 dB stacking, never a runaway */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_measure_can_fail),
		cmocka_unit_test(test_extremes_192k),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
