/* mixdesk tests: the reverb measured as a room would be. Decay times by Schroeder backward integration of
 * band-passed impulse responses (T30: the line fitted to the energy decay curve between -5 and -35 dB, x2),
 * the predelay as the first sample above -100 dB re the peak, the sides' correlation, the level for pink
 * noise, clicks as the largest sample-to-sample step against a run without the change, and safety (no NaN,
 * bounded output, no DC) at every corner of the parameter ranges and while everything is swept. Blocks of
 * odd sizes go through reverb_process, so the parameter steps fall inside blocks. Figures are printed. */
#include "engine/dsp/reverb.h"
#include "engine/model/md.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct md_reverb_params defaults(void)
{
	return (struct md_reverb_params){.decay = 2.0f,
					 .predelay = 20.0f,
					 .low_decay = 1.2f,
					 .crossover = 250.0f,
					 .damping = 6000.0f,
					 .low_cut = 80.0f,
					 .width = 1.0f,
					 .size = 1.0f};
}

static uint32_t rng = 12345u;

/* uniform in [-1, 1) */
static float noise(void)
{
	rng = rng * 1664525u + 1013904223u;
	return (float)((double)(rng >> 8) / 8388608.0 - 1.0);
}

static float *alloc_f(size_t n)
{
	float *p = calloc(n, sizeof(float));
	assert_non_null(p);
	return p;
}

/* n frames through r, in blocks of varying size (at most MD_BLOCK) */
static void run(struct md_reverb *r, const float *il, const float *ir, float *ol, float * or, size_t n)
{
	static const uint32_t sizes[] = {64, 17, 64, 1, 33, 64, 50, 64, 64, 7};
	size_t t = 0;
	for (int k = 0; t < n; k++) {
		uint32_t m = sizes[k % 10];
		if (m > n - t)
			m = (uint32_t)(n - t);
		reverb_process(r, il + t, ir + t, ol + t, or +t, m);
		t += m;
	}
}

/* the impulse response (a unit impulse in both inputs) */
static void impulse(float rate, const struct md_reverb_params *p, size_t n, float *L, float *R)
{
	float *in = alloc_f(n);
	in[0] = 1.0f;
	struct md_reverb r;
	assert_int_equal(reverb_init(&r, rate, p), 0);
	run(&r, in, in, L, R, n);
	reverb_free(&r);
	free(in);
}

/* two RBJ band-pass sections (0 dB at f0, Q each) in series, in place, double precision */
static void bandpass(double *x, size_t n, double rate, double f0, double q)
{
	double w0 = 2.0 * M_PI * f0 / rate, al = sin(w0) / (2.0 * q), a0 = 1.0 + al;
	double b0 = al / a0, b2 = -al / a0, a1 = -2.0 * cos(w0) / a0, a2 = (1.0 - al) / a0;
	for (int s = 0; s < 2; s++) {
		double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
		for (size_t i = 0; i < n; i++) {
			double y = b0 * x[i] + b2 * x2 - a1 * y1 - a2 * y2;
			x2 = x1;
			x1 = x[i];
			y2 = y1;
			y1 = y;
			x[i] = y;
		}
	}
}

/* T30 x 2 of the band around f0 (both channels' energy): s */
static double rt60_band(const float *L, const float *R, size_t n, double rate, double f0, double q)
{
	double *l = malloc(n * sizeof(double)), *r = malloc(n * sizeof(double)), *edc = malloc(n * sizeof(double));
	assert_true(l && r && edc);
	for (size_t i = 0; i < n; i++) {
		l[i] = L[i];
		r[i] = R[i];
	}
	bandpass(l, n, rate, f0, q);
	bandpass(r, n, rate, f0, q);
	double acc = 0.0;
	for (size_t i = n; i-- > 0;) {
		acc += l[i] * l[i] + r[i] * r[i];
		edc[i] = acc;
	}
	double e0 = edc[0];
	double sx = 0, sy = 0, sxx = 0, sxy = 0, k = 0;
	bool reached = false;
	for (size_t i = 0; i < n; i++) {
		double db = 10.0 * log10(edc[i] / e0 + 1e-300);
		if (db > -5.0)
			continue;
		if (db < -35.0) {
			reached = true;
			break;
		}
		double t = (double)i / rate;
		sx += t;
		sy += db;
		sxx += t * t;
		sxy += t * db;
		k++;
	}
	free(l);
	free(r);
	free(edc);
	assert_true(reached);
	double slope = (k * sxy - sx * sy) / (k * sxx - sx * sx);
	return -60.0 / slope;
}

static double rt60_of(float rate, const struct md_reverb_params *p, double f0, double q)
{
	double T = p->decay * (f0 < p->crossover ? p->low_decay : 1.0);
	size_t n = (size_t)((1.3 * T + 0.5) * rate);
	float *L = alloc_f(n), *R = alloc_f(n);
	impulse(rate, p, n, L, R);
	double t60 = rt60_band(L, R, n, rate, f0, q);
	free(L);
	free(R);
	return t60;
}

/* an octave-wide pair of sections: each Q sqrt(2) */
#define Q_OCT 1.4142
/* a third of an octave */
#define Q_THIRD 4.318

static void test_rt60_mid(void **state)
{
	(void)state;
	static const float rates[] = {44100.0f, 48000.0f};
	static const float decays[] = {0.5f, 2.0f, 6.0f};
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 3; j++) {
			struct md_reverb_params p = defaults();
			p.decay = decays[j];
			double t = rt60_of(rates[i], &p, 1000.0, Q_OCT);
			printf("RT60 at 1 kHz, fs %.0f, decay %.1f s: %.3f s (%+.1f %%)\n", rates[i], decays[j], t,
			       100.0 * (t / decays[j] - 1.0));
			assert_true(fabs(t / decays[j] - 1.0) < 0.10);
		}
}

/* the other rates and the sizes at the default decay */
static void test_rt60_rates_sizes(void **state)
{
	(void)state;
	static const float rates[] = {96000.0f, 192000.0f};
	for (int i = 0; i < 2; i++) {
		struct md_reverb_params p = defaults();
		double t = rt60_of(rates[i], &p, 1000.0, Q_OCT);
		printf("RT60 at 1 kHz, fs %.0f, decay 2 s: %.3f s (%+.1f %%)\n", rates[i], t, 100.0 * (t / 2.0 - 1.0));
		assert_true(fabs(t / 2.0 - 1.0) < 0.10);
	}
	static const float sizes[] = {0.5f, 2.0f};
	for (int i = 0; i < 2; i++) {
		struct md_reverb_params p = defaults();
		p.size = sizes[i];
		double t = rt60_of(48000.0f, &p, 1000.0, Q_OCT);
		printf("RT60 at 1 kHz, fs 48000, size %.1f, decay 2 s: %.3f s (%+.1f %%)\n", sizes[i], t,
		       100.0 * (t / 2.0 - 1.0));
		assert_true(fabs(t / 2.0 - 1.0) < 0.10);
	}
}

static void test_low_decay(void **state)
{
	(void)state;
	struct md_reverb_params p = defaults();
	p.low_decay = 1.0f;
	double t1 = rt60_of(48000.0f, &p, 125.0, Q_OCT);
	p.low_decay = 1.5f;
	double t15 = rt60_of(48000.0f, &p, 125.0, Q_OCT);
	p.low_decay = 0.5f;
	double t05 = rt60_of(48000.0f, &p, 125.0, Q_OCT);
	printf("RT60 at 125 Hz (crossover 250 Hz, decay 2 s): low_decay 1.0 %.3f s, 1.5 %.3f s (x%.3f), 0.5 %.3f s "
	       "(x%.3f)\n",
	       t1, t15, t15 / t1, t05, t05 / t1);
	assert_true(t15 >= 1.3 * t1);
	assert_true(t05 <= 0.7 * t1);
	/* the mids are left alone */
	double m15 = rt60_of(48000.0f, &p, 1000.0, Q_OCT);
	printf("RT60 at 1 kHz with low_decay 0.5: %.3f s\n", m15);
	assert_true(fabs(m15 / 2.0 - 1.0) < 0.10);
}

/* at the damping frequency the decay is half of decay (a third-octave band: the decay falls fast there) */
static void test_damping(void **state)
{
	(void)state;
	static const float damp[] = {3000.0f, 6000.0f};
	for (int i = 0; i < 2; i++) {
		struct md_reverb_params p = defaults();
		p.damping = damp[i];
		double t = rt60_of(48000.0f, &p, damp[i], Q_THIRD);
		double t1 = rt60_of(48000.0f, &p, 1000.0, Q_OCT);
		printf("damping %.0f Hz, decay 2 s: RT60 there %.3f s (%.2f of decay), at 1 kHz %.3f s\n", damp[i], t,
		       t / 2.0, t1);
		assert_true(fabs(t / 1.0 - 1.0) < 0.15);
		assert_true(fabs(t1 / 2.0 - 1.0) < 0.10);
	}
}

static void test_predelay(void **state)
{
	(void)state;
	static const float pre[] = {0.0f, 30.0f, 250.0f};
	static const float rates[] = {44100.0f, 48000.0f};
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < 3; i++) {
			const float rate = rates[k];
			struct md_reverb_params p = defaults();
			p.predelay = pre[i];
			size_t n = (size_t)(0.6 * rate);
			float *L = alloc_f(n), *R = alloc_f(n);
			impulse(rate, &p, n, L, R);
			float peak = 0.0f;
			for (size_t t = 0; t < n; t++)
				peak = fmaxf(peak, fmaxf(fabsf(L[t]), fabsf(R[t])));
			size_t first = n;
			for (size_t t = 0; t < n && first == n; t++)
				if (fmaxf(fabsf(L[t]), fabsf(R[t])) > peak * 1e-5f)
					first = t;
			double ms = 1000.0 * (double)first / rate;
			printf("predelay %.0f ms, fs %.0f: first sample above -100 dB at %.2f ms\n", pre[i], rate, ms);
			assert_true(first >= (size_t)floor(pre[i] * rate / 1000.0));
			/* and not much later: the shortest line (12 ms at size 1) is the network's own gap */
			assert_true(ms < pre[i] + 15.0);
			free(L);
			free(R);
		}
}

static double correlation(const float *L, const float *R, size_t a, size_t b)
{
	double lr = 0, ll = 0, rr = 0;
	for (size_t t = a; t < b; t++) {
		lr += (double)L[t] * R[t];
		ll += (double)L[t] * L[t];
		rr += (double)R[t] * R[t];
	}
	return lr / sqrt(ll * rr);
}

static void test_width(void **state)
{
	(void)state;
	const float rate = 48000.0f;
	size_t n = (size_t)(1.6 * rate);
	float *L = alloc_f(n), *R = alloc_f(n);
	static const float widths[] = {1.0f, 0.5f, 0.0f};
	double c[3];
	for (int i = 0; i < 3; i++) {
		struct md_reverb_params p = defaults();
		p.width = widths[i];
		impulse(rate, &p, n, L, R);
		c[i] = correlation(L, R, (size_t)(0.3 * rate), (size_t)(1.5 * rate));
		printf("L/R correlation of the tail (0.3..1.5 s), width %.1f: %.4f\n", widths[i], c[i]);
		if (widths[i] == 0.0f)
			for (size_t t = 0; t < n; t++)
				assert_true(L[t] == R[t]);
	}
	assert_true(fabs(c[0]) < 0.3);
	assert_true(c[2] > 0.99);
	assert_true(c[1] > c[0] && c[1] < c[2]);
	/* and for a steady noise, at the other sizes */
	static const float sizes[] = {0.5f, 1.0f, 2.0f};
	for (int i = 0; i < 3; i++) {
		struct md_reverb_params p = defaults();
		p.size = sizes[i];
		struct md_reverb r;
		assert_int_equal(reverb_init(&r, rate, &p), 0);
		float *in = alloc_f(n);
		for (size_t t = 0; t < n; t++)
			in[t] = 0.1f * noise();
		run(&r, in, in, L, R, n);
		double cn = correlation(L, R, (size_t)(0.3 * rate), n);
		printf("L/R correlation for mono noise in, size %.1f, width 1: %.4f\n", sizes[i], cn);
		assert_true(fabs(cn) < 0.3);
		free(in);
		reverb_free(&r);
	}
	free(L);
	free(R);
}

/* the pink-ish noise of Paul Kellet's economy filter, scaled to rms */
static void pink(float *x, size_t n, double rms)
{
	double b0 = 0, b1 = 0, b2 = 0, acc = 0;
	for (size_t i = 0; i < n; i++) {
		double w = noise();
		b0 = 0.99765 * b0 + w * 0.0990460;
		b1 = 0.96300 * b1 + w * 0.2965164;
		b2 = 0.57000 * b2 + w * 1.0526913;
		x[i] = (float)(b0 + b1 + b2 + w * 0.1848);
		acc += (double)x[i] * x[i];
	}
	double k = rms / sqrt(acc / (double)n);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(x[i] * k);
}

static double rms_db(const float *x, size_t a, size_t b)
{
	double acc = 0;
	for (size_t t = a; t < b; t++)
		acc += (double)x[t] * x[t];
	return 10.0 * log10(acc / (double)(b - a));
}

/* -20 dBFS pink noise in both inputs gives about -20 dBFS out at the defaults (decay 2 s) */
static void test_level(void **state)
{
	(void)state;
	const float rate = 48000.0f;
	size_t n = (size_t)(10.0 * rate);
	float *in = alloc_f(n), *L = alloc_f(n), *R = alloc_f(n);
	pink(in, n, 0.1);
	static const float decays[] = {2.0f, 2.0f, 2.0f, 0.5f, 10.0f};
	static const float sizes[] = {1.0f, 0.5f, 2.0f, 1.0f, 1.0f};
	for (int i = 0; i < 5; i++) {
		struct md_reverb_params p = defaults();
		p.decay = decays[i];
		p.size = sizes[i];
		struct md_reverb r;
		assert_int_equal(reverb_init(&r, rate, &p), 0);
		run(&r, in, in, L, R, n);
		reverb_free(&r);
		double l = rms_db(L, n / 2, n), rr = rms_db(R, n / 2, n);
		printf("-20 dBFS pink noise in, decay %.1f s, size %.1f: out L %.2f dBFS, R %.2f dBFS\n", decays[i],
		       sizes[i], l, rr);
		if (decays[i] == 2.0f) {
			assert_true(fabs(l + 20.0) < 1.5);
			assert_true(fabs(rr + 20.0) < 1.5);
		}
	}
	free(in);
	free(L);
	free(R);
}

static void test_no_dc(void **state)
{
	(void)state;
	const float rate = 48000.0f;
	size_t n = (size_t)(10.0 * rate);
	float *in = alloc_f(n), *L = alloc_f(n), *R = alloc_f(n);
	for (size_t t = 0; t < n; t++)
		in[t] = 0.5f * noise() + 0.25f; /* with a DC offset in */
	static const float cuts[] = {20.0f, 80.0f};
	for (int i = 0; i < 2; i++) {
		struct md_reverb_params p = defaults();
		p.low_cut = cuts[i];
		p.low_decay = 2.5f;
		p.decay = 10.0f;
		struct md_reverb r;
		assert_int_equal(reverb_init(&r, rate, &p), 0);
		run(&r, in, in, L, R, n);
		reverb_free(&r);
		double ml = 0, mr = 0;
		size_t a = n / 5;
		for (size_t t = a; t < n; t++) {
			ml += L[t];
			mr += R[t];
		}
		ml /= (double)(n - a);
		mr /= (double)(n - a);
		double lv = sqrt(pow(10.0, rms_db(L, a, n) / 10.0));
		printf("noise + DC in, low_cut %.0f Hz: mean out L %.2e, R %.2e (rms %.3f)\n", cuts[i], ml, mr, lv);
		assert_true(fabs(ml) < 0.01 * lv && fabs(mr) < 0.01 * lv);
	}
	free(in);
	free(L);
	free(R);
}

/* the corners of the ranges, by index bit: min or max of each parameter */
static struct md_reverb_params corner(int bits)
{
	struct md_reverb_params p;
	p.decay = bits & 1 ? 10.0f : 0.2f;
	p.predelay = bits & 2 ? 250.0f : 0.0f;
	p.low_decay = bits & 4 ? 2.5f : 0.5f;
	p.crossover = bits & 8 ? 1000.0f : 50.0f;
	p.damping = bits & 16 ? 20000.0f : 1000.0f;
	p.low_cut = bits & 32 ? 1000.0f : 20.0f;
	p.width = bits & 64 ? 1.0f : 0.0f;
	p.size = bits & 128 ? 2.0f : 0.5f;
	return p;
}

#define PEAK_MAX 10.0f

/* all 256 corners at every rate: unit-level noise, then silence: finite, bounded, and quiet again */
static void test_corners(void **state)
{
	(void)state;
	static const float rates[] = {44100.0f, 48000.0f, 96000.0f, 192000.0f};
	static const double secs[] = {0.25, 1.0, 0.25, 0.25};
	float worst = 0.0f;
	int worst_bits = 0;
	for (int k = 0; k < 4; k++) {
		const float rate = rates[k];
		size_t n = (size_t)(secs[k] * rate), tail = (size_t)(0.1 * rate);
		float *in = alloc_f(n + tail), *L = alloc_f(n + tail), *R = alloc_f(n + tail);
		for (size_t t = 0; t < n; t++)
			in[t] = noise();
		for (int bits = 0; bits < 256; bits++) {
			struct md_reverb_params p = corner(bits);
			struct md_reverb r;
			assert_int_equal(reverb_init(&r, rate, &p), 0);
			run(&r, in, in, L, R, n + tail);
			reverb_free(&r);
			for (size_t t = 0; t < n + tail; t++) {
				if (!isfinite(L[t]) || !isfinite(R[t])) {
					printf("corner %d (fs %.0f): not finite at %zu\n", bits, rate, t);
					fail();
				}
				float a = fmaxf(fabsf(L[t]), fabsf(R[t]));
				if (a > worst) {
					worst = a;
					worst_bits = bits;
				}
			}
		}
		free(in);
		free(L);
		free(R);
	}
	struct md_reverb_params w = corner(worst_bits);
	printf("corners: peak %.2f for unit-level noise, at decay %.1f predelay %.0f low_decay %.1f crossover %.0f "
	       "damping %.0f low_cut %.0f width %.0f size %.1f\n",
	       worst, w.decay, w.predelay, w.low_decay, w.crossover, w.damping, w.low_cut, w.width, w.size);
	assert_true(worst < PEAK_MAX);
}

/* at the longest decays (25 s below the crossover) the tail still dies away: the loop gain stays below 1 */
static void test_longest_tail_decays(void **state)
{
	(void)state;
	const float rate = 48000.0f;
	size_t n = (size_t)(1.0 * rate);
	float *in = alloc_f(n), *zero = alloc_f(n), *L = alloc_f(n), *R = alloc_f(n);
	for (size_t t = 0; t < n; t++)
		in[t] = noise();
	static const float sizes[] = {0.5f, 2.0f};
	for (int i = 0; i < 2; i++) {
		struct md_reverb_params p = {10.0f, 0.0f, 2.5f, 1000.0f, 20000.0f, 20.0f, 1.0f, sizes[i]};
		struct md_reverb r;
		assert_int_equal(reverb_init(&r, rate, &p), 0);
		double loud = -1e9, db = 0;
		for (int s = 0; s < 5; s++) {
			run(&r, in, in, L, R, n);
			loud = fmax(loud, rms_db(L, 0, n));
		}
		for (int s = 0; s < 60; s++) {
			run(&r, zero, zero, L, R, n);
			db = fmax(rms_db(L, 0, n), rms_db(R, 0, n));
			if (s == 29)
				printf("decay 10 s, low_decay 2.5, size %.1f: %.1f dB re the noise 30 s after it stops, ",
				       sizes[i], db - loud);
		}
		printf("%.1f dB after 60 s\n", db - loud);
		assert_true(db - loud < -120.0);
		reverb_free(&r);
	}
	free(in);
	free(zero);
	free(L);
	free(R);
}

/* out-of-range and non-finite parameters are clamped, and a huge finite input stays finite */
static void test_clamp_and_extremes(void **state)
{
	(void)state;
	const float rate = 48000.0f;
	size_t n = 4096;
	float *in = alloc_f(n), *L1 = alloc_f(n), *R1 = alloc_f(n), *L2 = alloc_f(n), *R2 = alloc_f(n);
	for (size_t t = 0; t < n; t++)
		in[t] = noise();
	struct md_reverb_params wild = {100.0f, -5.0f, 9.0f, 1e6f, 1e9f, -3.0f, 7.0f, 50.0f};
	struct md_reverb_params tame = {10.0f, 0.0f, 2.5f, 1000.0f, 20000.0f, 20.0f, 1.0f, 2.0f};
	struct md_reverb a, b;
	assert_int_equal(reverb_init(&a, rate, &wild), 0);
	assert_int_equal(reverb_init(&b, rate, &tame), 0);
	run(&a, in, in, L1, R1, n);
	run(&b, in, in, L2, R2, n);
	assert_memory_equal(L1, L2, n * sizeof(float));
	assert_memory_equal(R1, R2, n * sizeof(float));
	/* a NaN parameter lands on a bound instead of in the state */
	struct md_reverb_params nanp = defaults();
	nanp.decay = nanp.size = nanp.damping = NAN;
	reverb_set(&a, &nanp);
	for (size_t t = 0; t < n; t++)
		in[t] = t % 2 ? 3e38f : -3e38f;
	for (int rep = 0; rep < 20; rep++) {
		run(&a, in, in, L1, R1, n);
		for (size_t t = 0; t < n; t++)
			assert_true(isfinite(L1[t]) && isfinite(R1[t]));
	}
	printf("+-3e38 input: output finite (last %.3g)\n", (double)L1[n - 1]);
	/* a NaN input poisons the state until reset; after the reset silence gives (near) silence */
	in[0] = NAN;
	run(&a, in, in, L1, R1, n);
	reverb_reset(&a);
	memset(in, 0, n * sizeof(float));
	run(&a, in, in, L1, R1, n);
	for (size_t t = 0; t < n; t++)
		assert_true(fabsf(L1[t]) < 1e-15f && fabsf(R1[t]) < 1e-15f);
	reverb_free(&a);
	reverb_free(&b);
	reverb_free(&a); /* twice is fine */
	assert_int_equal(reverb_init(&a, 0.0f, &tame), -1);
	assert_int_equal(reverb_init(&a, NAN, &tame), -1);
	reverb_free(&a);
	free(in);
	free(L1);
	free(R1);
	free(L2);
	free(R2);
}

static float urand(float lo, float hi)
{
	return lo + (hi - lo) * 0.5f * (noise() + 1.0f);
}

/* every parameter moves every block (random walks with jumps between the extremes), noise in */
static void sweep(float rate, double secs, float *peak_out)
{
	struct md_reverb_params p = defaults(), lo = corner(0), hi = corner(255);
	float *pv = &p.decay, *lv = &lo.decay, *hv = &hi.decay;
	struct md_reverb r;
	assert_int_equal(reverb_init(&r, rate, &p), 0);
	float il[MD_BLOCK], ir[MD_BLOCK], ol[MD_BLOCK], orr[MD_BLOCK];
	size_t n = (size_t)(secs * rate), t = 0;
	float peak = 0.0f;
	while (t < n) {
		for (int k = 0; k < 8; k++) {
			float span = hv[k] - lv[k];
			float v = noise() < -0.99f ? (noise() < 0.0f ? lv[k] : hv[k]) : pv[k] + 0.02f * span * noise();
			pv[k] = fminf(fmaxf(v, lv[k]), hv[k]);
		}
		reverb_set(&r, &p);
		uint32_t m = 1 + (uint32_t)(urand(0.0f, 1.0f) * (MD_BLOCK - 1));
		for (uint32_t i = 0; i < m; i++) {
			il[i] = noise();
			ir[i] = noise();
		}
		reverb_process(&r, il, ir, ol, orr, m);
		for (uint32_t i = 0; i < m; i++) {
			if (!isfinite(ol[i]) || !isfinite(orr[i])) {
				printf("sweep fs %.0f: not finite at %zu\n", rate, t + i);
				fail();
			}
			peak = fmaxf(peak, fmaxf(fabsf(ol[i]), fabsf(orr[i])));
		}
		t += m;
	}
	reverb_free(&r);
	*peak_out = peak;
}

static void test_sweep(void **state)
{
	(void)state;
	float peak;
	sweep(48000.0f, 30.0, &peak);
	printf("sweep of every parameter, 30 s at 48000: peak %.2f\n", peak);
	assert_true(peak < PEAK_MAX);
	static const float rates[] = {44100.0f, 96000.0f, 192000.0f};
	for (int i = 0; i < 3; i++) {
		sweep(rates[i], 4.0, &peak);
		printf("sweep of every parameter, 4 s at %.0f: peak %.2f\n", rates[i], peak);
		assert_true(peak < PEAK_MAX);
	}
}

/* the largest step between neighbouring samples in [a, b) of either channel */
static float max_step(const float *L, const float *R, size_t a, size_t b)
{
	float m = 0.0f;
	for (size_t t = a; t < b; t++)
		m = fmaxf(m, fmaxf(fabsf(L[t] - L[t - 1]), fabsf(R[t] - R[t - 1])));
	return m;
}

/* the largest magnitude above 4 kHz in [a, b) of either channel (a 4th-order Butterworth high-pass) */
static float max_hf(const float *L, const float *R, size_t a, size_t b, double rate)
{
	static const double qs[2] = {0.5412, 1.3066};
	float m = 0.0f;
	for (int ch = 0; ch < 2; ch++) {
		const float *x = ch ? R : L;
		double z[2][4] = {{0}};
		double w0 = 2.0 * M_PI * 4000.0 / rate, c = cos(w0);
		for (size_t t = 0; t < b; t++) {
			double v = x[t];
			for (int s = 0; s < 2; s++) {
				double al = sin(w0) / (2.0 * qs[s]), a0 = 1.0 + al;
				double b0 = (1.0 + c) / 2.0 / a0, b1 = -(1.0 + c) / a0, a1 = -2.0 * c / a0,
				       a2 = (1.0 - al) / a0;
				double y = b0 * v + b1 * z[s][0] + b0 * z[s][1] - a1 * z[s][2] - a2 * z[s][3];
				z[s][1] = z[s][0];
				z[s][0] = v;
				z[s][3] = z[s][2];
				z[s][2] = y;
				v = y;
			}
			if (t >= a)
				m = fmaxf(m, (float)fabs(v));
		}
	}
	return m;
}

/* A change under a steady input, against the same run without it: no step between samples and no burst
 * above 4 kHz stands out. Two inputs: noise low-passed at 24 dB/oct near 450 Hz (its own steps are small,
 * so a jump of the lines' read heads shows), and a 147 Hz sine (whose response has nothing above 4 kHz,
 * so a jump anywhere, even in the predelay, whose steps the network smears, shows as a broadband burst).
 * Checked once against a build with the glides taken out (every change a jump): every case failed, size
 * by x11..x38 in the step, all above 4 kHz, the mildest at -67 dB re the peak where the glides stay below
 * -82 dB. */
static void test_no_click(void **state)
{
	(void)state;
	const float rate = 48000.0f;
	size_t n = (size_t)(6.0 * rate), at = (size_t)(3.0 * rate);
	float *in = alloc_f(n), *L0 = alloc_f(n), *R0 = alloc_f(n), *L = alloc_f(n), *R = alloc_f(n);
	struct md_reverb_params p = defaults();
	struct {
		const char *what;
		struct md_reverb_params p;
	} cases[] = {
		{"decay 2 -> 6 s", p},
		{"decay 2 -> 0.2 s", p},
		{"size 1 -> 2", p},
		{"size 1 -> 0.5", p},
		{"predelay 20 -> 250 ms", p},
		{"predelay 20 -> 0 ms", p},
		{"low_cut 80 -> 1000 Hz", p},
		{"damping 6000 -> 1000 Hz", p},
		{"crossover 250 -> 1000 Hz, low_decay 1.2 -> 2.5", p},
		{"width 1 -> 0", p},
		{"everything (to a corner)", corner(0xAA)},
	};
	cases[0].p.decay = 6.0f;
	cases[1].p.decay = 0.2f;
	cases[2].p.size = 2.0f;
	cases[3].p.size = 0.5f;
	cases[4].p.predelay = 250.0f;
	cases[5].p.predelay = 0.0f;
	cases[6].p.low_cut = 1000.0f;
	cases[7].p.damping = 1000.0f;
	cases[8].p.crossover = 1000.0f;
	cases[8].p.low_decay = 2.5f;
	cases[9].p.width = 0.0f;
	for (int sig = 0; sig < 2; sig++) {
		float z[4] = {0};
		for (size_t t = 0; t < n; t++) {
			if (sig == 0) {
				z[0] += 0.06f * (noise() - z[0]);
				for (int k = 1; k < 4; k++)
					z[k] += 0.06f * (z[k - 1] - z[k]);
				in[t] = 8.0f * z[3];
			} else {
				in[t] = 0.3f * (float)sin(2.0 * M_PI * 147.0 * (double)t / rate);
			}
		}
		struct md_reverb r;
		assert_int_equal(reverb_init(&r, rate, &p), 0);
		run(&r, in, in, L0, R0, n);
		reverb_free(&r);
		const float base = max_step(L0, R0, at, n), base_hf = max_hf(L0, R0, at, n, rate);
		for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
			assert_int_equal(reverb_init(&r, rate, &p), 0);
			run(&r, in, in, L, R, at);
			reverb_set(&r, &cases[c].p);
			run(&r, in + at, in + at, L + at, R + at, n - at);
			reverb_free(&r);
			const float st = max_step(L, R, at, n), hf = max_hf(L, R, at, n, rate);
			float peak = 0.0f;
			for (size_t t = at; t < n; t++)
				peak = fmaxf(peak, fmaxf(fabsf(L[t]), fabsf(R[t])));
			printf("%s under %s: largest step x%.2f of the run without the change, largest above 4 kHz x%.2f "
			       "(%.1f dB re the peak)\n",
			       cases[c].what, sig ? "a 147 Hz sine" : "low-passed noise", st / base, hf / base_hf,
			       20.0 * log10(hf / peak));
			assert_true(st < 3.0f * base);
			/* the sine's own response is clean to -110 dB: a burst below -76 dB is no click */
			assert_true(hf < fmaxf(3.0f * base_hf, 1.6e-4f * peak));
		}
	}
	free(in);
	free(L0);
	free(R0);
	free(L);
	free(R);
}

/* targets set, glides settled, then the response is that of the new parameters */
static void test_glides_land(void **state)
{
	(void)state;
	const float rate = 48000.0f;
	struct md_reverb_params p = defaults();
	p.size = 0.5f;
	p.decay = 1.0f;
	p.predelay = 0.0f;
	struct md_reverb r;
	assert_int_equal(reverb_init(&r, rate, &p), 0);
	p.size = 2.0f;
	p.decay = 3.0f;
	p.predelay = 100.0f;
	reverb_set(&r, &p);
	size_t n = (size_t)(4.5 * rate);
	float *in = alloc_f(n), *L = alloc_f(n), *R = alloc_f(n);
	run(&r, in, in, L, R, (size_t)(4.0 * rate)); /* silence while everything glides */
	for (int i = 0; i < MD_REVERB_LINES; i++)
		assert_true(r.len[i] == (double)r.len_to[i]);
	reverb_reset(&r);
	in[0] = 1.0f;
	run(&r, in, in, L, R, n);
	reverb_free(&r);
	double t = rt60_band(L, R, n, rate, 1000.0, Q_OCT);
	float peak = 0.0f;
	for (size_t i = 0; i < n; i++)
		peak = fmaxf(peak, fmaxf(fabsf(L[i]), fabsf(R[i])));
	size_t first = 0;
	while (first < n && fmaxf(fabsf(L[first]), fabsf(R[first])) <= 1e-5f * peak)
		first++;
	printf("after glides to size 2, decay 3 s, predelay 100 ms: RT60 at 1 kHz %.3f s, onset %.2f ms\n", t,
	       1000.0 * (double)first / rate);
	assert_true(fabs(t / 3.0 - 1.0) < 0.10);
	assert_true(first >= (size_t)(0.1 * rate));
	free(in);
	free(L);
	free(R);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* moving: 1 decay glides, 2 size glides, 3 both */
static double time_ns(struct md_reverb *r, const float *in, float *L, float *R, size_t n, int moving)
{
	struct md_reverb_params p = defaults();
	double best = 1e30;
	for (int rep = 0; rep < 3; rep++) {
		double t0 = now_s();
		for (size_t t = 0; t < n; t += MD_BLOCK) {
			if (moving) {
				if (moving & 2)
					p.size = 1.0f + 0.5f * (float)sin((double)t * 1e-4);
				if (moving & 1)
					p.decay = 2.0f + (float)sin((double)t * 3e-5);
				reverb_set(r, &p);
			}
			reverb_process(r, in + t, in + t, L + t, R + t, MD_BLOCK);
		}
		best = fmin(best, (now_s() - t0) * 1e9 / (double)n);
	}
	return best;
}

/* printed, not asserted (a shared machine) */
static void test_cpu(void **state)
{
	(void)state;
	const float rate = 48000.0f;
	size_t n = (size_t)(5.0 * rate) / MD_BLOCK * MD_BLOCK;
	float *in = alloc_f(n), *zero = alloc_f(n), *L = alloc_f(n), *R = alloc_f(n);
	for (size_t t = 0; t < n; t++)
		in[t] = 0.1f * noise();
	struct md_reverb_params p = defaults();
	struct md_reverb r;
	assert_int_equal(reverb_init(&r, rate, &p), 0);
	double rest = time_ns(&r, in, L, R, n, 0);
	double dec = time_ns(&r, in, L, R, n, 1);
	double siz = time_ns(&r, in, L, R, n, 2);
	double moving = time_ns(&r, in, L, R, n, 3);
	reverb_set(&r, &p);
	for (int k = 0; k < 8; k++) /* 40 s of silence: the tail far below the float range, no FTZ here */
		run(&r, zero, zero, L, R, n);
	double tail = time_ns(&r, zero, L, R, n, 0);
	bool sub = false;
	for (size_t t = 0; t < n; t++)
		sub |= fpclassify(L[t]) == FP_SUBNORMAL || fpclassify(R[t]) == FP_SUBNORMAL;
	printf("CPU at 48000: %.1f ns per frame at rest (%.2f %% of a core); while gliding: decay %.1f ns, size "
	       "%.1f ns, both %.1f ns; %.1f ns in a silent tail after 40 s (without FTZ/DAZ)%s\n",
	       rest, rest * rate * 1e-7, dec, siz, moving, tail, sub ? ", subnormal outputs seen" : "");
	assert_false(sub);
	reverb_free(&r);
	free(in);
	free(zero);
	free(L);
	free(R);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rt60_mid),
		cmocka_unit_test(test_rt60_rates_sizes),
		cmocka_unit_test(test_low_decay),
		cmocka_unit_test(test_damping),
		cmocka_unit_test(test_predelay),
		cmocka_unit_test(test_width),
		cmocka_unit_test(test_level),
		cmocka_unit_test(test_no_dc),
		cmocka_unit_test(test_corners),
		cmocka_unit_test(test_longest_tail_decays),
		cmocka_unit_test(test_clamp_and_extremes),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_no_click),
		cmocka_unit_test(test_glides_land),
		cmocka_unit_test(test_cpu),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
