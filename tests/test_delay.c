/* mixdesk tests: the stereo delay (engine/dsp/delay.h). Echo times to the sample, repeat levels against
 * the feedback, ping-pong, the loop filters' transparency and corners, stability for every corner of every
 * range and under parameters swept every block, denormals, and time changes under a sustained tone: no
 * step larger than the tone's own, the pitch bend measured from the zero crossings, and the landing on the
 * exact new delay. Inputs go through in blocks of odd sizes. The figures are printed. */
#include "engine/dsp/delay.h"
#include "engine/model/md.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const float rates[] = {44100.0f, 48000.0f, 96000.0f, 192000.0f};
static const uint32_t sizes[] = {64, 17, 64, 1, 33, 64, 50, 63};

static struct md_delay_params params(float tl, float tr, float fb, float cross, float low, float high)
{
	struct md_delay_params p = {{tl, tr}, fb, cross, low, high};
	return p;
}

static struct md_delay_params defaults(void)
{
	return params(375.0f, 500.0f, 0.35f, 0.0f, 80.0f, 8000.0f);
}

/* the delay in samples the issue asks for, computed independently of the unit */
static long want_samples(float rate, float ms)
{
	return (long)floor((double)ms * (double)rate / 1000.0 + 0.5);
}

static uint32_t rng = 12345;
static float noise(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return (float)((double)rng / 2147483648.0 - 1.0);
}

/* Run n frames through d in blocks of the sizes above; in may be NULL (silence). */
static void run_buf(struct md_delay *d, const float *il, const float *ir, float *ol, float * or, size_t n)
{
	static const float zero[MD_BLOCK];
	for (size_t t = 0, k = 0; t < n; k++) {
		uint32_t b = sizes[k % 8];
		if (b > n - t)
			b = (uint32_t)(n - t);
		delay_process(d, il ? il + t : zero, ir ? ir + t : zero, ol + t, or +t, b);
		t += b;
	}
}

/* ---- echo times ---- */

static void test_first_echo(void **state)
{
	(void)state;
	static const struct {
		float rate, tl, tr;
	} cases[] = {
		{48000.0f, 375.0f, 500.0f},     {48000.0f, 1.0f, 2000.0f},       {44100.0f, 10.01f, 10.02f},
		{44100.0f, 1.0f, 2000.0f},      {192000.0f, 123.4567f, 1.0026f}, {192000.0f, 2000.0f, 1.0f},
		{96000.0f, 1999.99f, 333.333f},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		float rate = cases[c].rate;
		struct md_delay_params p = defaults();
		p.time_ms[0] = cases[c].tl;
		p.time_ms[1] = cases[c].tr;
		struct md_delay d;
		assert_int_equal(delay_init(&d, rate, &p), 0);
		long D[2] = {want_samples(rate, p.time_ms[0]), want_samples(rate, p.time_ms[1])};
		long pre = 37; /* the impulse lands inside a block */
		size_t n = (size_t)(pre + 2 * (D[0] > D[1] ? D[0] : D[1]) + 64);
		float *buf = calloc(4 * n, sizeof(float));
		float *il = buf, *ir = buf + n, *ol = buf + 2 * n, * or = buf + 3 * n;
		il[pre] = ir[pre] = 1.0f;
		run_buf(&d, il, ir, ol, or, n);
		float *out[2] = {ol, or };
		for (int s = 0; s < 2; s++) {
			long first = -1, bad = 0;
			for (long i = 0; i < pre + 2 * D[s]; i++) {
				if (out[s][i] != 0.0f) {
					if (first < 0)
						first = i - pre;
					if (i - pre != D[s])
						bad++;
				}
			}
			printf("rate %6.0f side %d time %9.4f ms (%.3f samples): want %ld, echo at %ld (value %.9g), %ld other "
			       "nonzero samples before the second echo; second echo at %ld: %.4g\n",
			       rate, s, p.time_ms[s], (double)p.time_ms[s] * rate / 1000.0, D[s], first,
			       out[s][pre + D[s]], bad, 2 * D[s], out[s][pre + 2 * D[s]]);
			assert_int_equal(first, D[s]);
			assert_true(out[s][pre + D[s]] == 1.0f);
			assert_int_equal(bad, 0);
			assert_true(fabsf(out[s][pre + 2 * D[s]]) > 1e-3f); /* the repeat starts on its sample */
		}
		free(buf);
		delay_free(&d);
	}
}

/* ---- repeat levels ---- */

/* a Hann-windowed 1 kHz burst of 4 ms, amplitude 0.5, at the start of x */
static size_t burst(float *x, float rate)
{
	size_t len = (size_t)(0.004 * rate);
	for (size_t i = 0; i < len; i++) {
		double win = 0.5 - 0.5 * cos(2.0 * M_PI * (double)i / (double)len);
		x[i] = (float)(0.5 * win * sin(2.0 * M_PI * 1000.0 * (double)i / rate));
	}
	return len;
}

static double energy(const float *x, long from, long to)
{
	double e = 0.0;
	for (long i = from; i < to; i++)
		e += (double)x[i] * x[i];
	return e;
}

static void test_repeat_levels(void **state)
{
	(void)state;
	static const float fbs[] = {0.35f, 0.7f, 0.95f};
	static const int count[] = {6, 10, 20};
	for (size_t r = 0; r < 4; r++) {
		float rate = rates[r];
		for (int f = 0; f < 3; f++) {
			struct md_delay_params p = params(100.0f, 130.0f, fbs[f], 0.0f, 20.0f, 20000.0f);
			struct md_delay d;
			assert_int_equal(delay_init(&d, rate, &p), 0);
			long D[2] = {want_samples(rate, 100.0f), want_samples(rate, 130.0f)};
			size_t n = (size_t)(D[1] * (count[f] + 1));
			float *buf = calloc(4 * n, sizeof(float));
			float *il = buf, *ir = buf + n, *ol = buf + 2 * n, * or = buf + 3 * n;
			size_t len = burst(il, rate);
			memcpy(ir, il, len * sizeof(float));
			run_buf(&d, il, ir, ol, or, n);
			double e0 = energy(il, 0, (long)len), worst = 0.0;
			double want = 20.0 * log10(fbs[f]);
			float *out[2] = {ol, or };
			printf("rate %6.0f feedback %.2f (%.3f dB per repeat), filters open:", rate, fbs[f], want);
			for (int s = 0; s < 2; s++) {
				long margin = (long)(0.01 * rate);
				double prev = e0;
				for (int k = 1; k <= count[f]; k++) {
					long at = k * D[s];
					double e = energy(out[s], at - margin, at + (long)len + 2 * margin);
					double step = 10.0 * log10(e / prev);
					/* the first echo passes no filter and no feedback gain: it is the burst itself */
					double dev = k == 1 ? step : step - want;
					worst = fmax(worst, fabs(dev));
					if (s == 0 && (k <= 3 || k == count[f]))
						printf(" echo %d %+.4f dB", k, step);
					prev = e;
				}
			}
			printf("; largest deviation %.5f dB\n", worst);
			assert_true(worst < 0.1);
			free(buf);
			delay_free(&d);
		}
	}
}

static void test_ping_pong(void **state)
{
	(void)state;
	float rate = 48000.0f;
	struct md_delay_params p = params(100.0f, 130.0f, 0.7f, 1.0f, 20.0f, 20000.0f);
	struct md_delay d;
	assert_int_equal(delay_init(&d, rate, &p), 0);
	long D[2] = {want_samples(rate, 100.0f), want_samples(rate, 130.0f)};
	const int count = 8;
	size_t n = (size_t)((D[0] + D[1]) * (count / 2 + 1));
	float *buf = calloc(4 * n, sizeof(float));
	float *il = buf, *ir = buf + n, *ol = buf + 2 * n, * or = buf + 3 * n;
	size_t len = burst(il, rate); /* left input only */
	run_buf(&d, il, ir, ol, or, n);
	float *out[2] = {ol, or };
	double prev = energy(il, 0, (long)len), worst = 0.0, leak = 0.0;
	long at = 0, margin = (long)(0.01 * rate);
	printf("ping-pong (cross 1, feedback 0.7, left input only):");
	for (int k = 1; k <= count; k++) {
		int s = (k - 1) % 2; /* echo 1 on the left (its own line), then right, left, ... */
		at += D[s];
		double e = energy(out[s], at - margin, at + (long)len + 2 * margin);
		/* the other side holds nothing but the tail of its own last echo (the 20 Hz high-pass rings for
		 * a while): far below -80 dB */
		double other = energy(out[1 - s], at - margin / 10, at + (long)len + margin / 10);
		double step = 10.0 * log10(e / prev);
		double dev = k == 1 ? step : step - 20.0 * log10(0.7);
		worst = fmax(worst, fabs(dev));
		leak = fmax(leak, other / e);
		printf(" %c@%ld %+.3f dB", s ? 'R' : 'L', at, step);
		prev = e;
	}
	printf("; level deviation %.5f dB, other side at most %.1f dB\n", worst,
	       leak > 0 ? 10.0 * log10(leak) : -999.0);
	assert_true(worst < 0.1);
	assert_true(leak < 1e-8);
	free(buf);
	delay_free(&d);
}

/* ---- the loop filters ---- */

/* Amplitude of a sine of frequency f fitted by least squares to x[from..to). */
static double sine_amp(const float *x, long from, long to, double f, float rate)
{
	double ss = 0, sc = 0, cc = 0, ys = 0, yc = 0, w = 2.0 * M_PI * f / rate;
	for (long i = from; i < to; i++) {
		double s = sin(w * (double)i), c = cos(w * (double)i);
		ss += s * s;
		sc += s * c;
		cc += c * c;
		ys += x[i] * s;
		yc += x[i] * c;
	}
	double det = ss * cc - sc * sc;
	double a = (ys * cc - yc * sc) / det, b = (yc * ss - ys * sc) / det;
	return sqrt(a * a + b * b);
}

/* Gain in dB of one pass (echo 2 over echo 1, less the feedback) for a tone of frequency f. */
static double pass_db(float rate, float low, float high, double f)
{
	struct md_delay_params p = params(500.0f, 500.0f, 0.95f, 0.0f, low, high);
	struct md_delay d;
	assert_int_equal(delay_init(&d, rate, &p), 0);
	long D = want_samples(rate, 500.0f), len = (long)(0.3 * rate), fade = (long)(0.02 * rate);
	size_t n = (size_t)(3 * D);
	float *buf = calloc(4 * n, sizeof(float));
	float *il = buf, *ir = buf + n, *ol = buf + 2 * n, * or = buf + 3 * n;
	for (long i = 0; i < len; i++) {
		double g = i < fade          ? 0.5 - 0.5 * cos(M_PI * i / fade)
			   : i >= len - fade ? 0.5 - 0.5 * cos(M_PI * (len - i) / fade)
					     : 1.0;
		il[i] = ir[i] = (float)(0.5 * g * sin(2.0 * M_PI * f * i / rate));
	}
	run_buf(&d, il, ir, ol, or, n);
	long a = 2 * fade, b = len - 2 * fade;
	double e1 = sine_amp(ol, D + a, D + b, f, rate), e2 = sine_amp(ol, 2 * D + a, 2 * D + b, f, rate);
	free(buf);
	delay_free(&d);
	return 20.0 * log10(e2 / e1 / 0.95);
}

static double warp(float rate, double f, double fc)
{
	return tan(M_PI * f / rate) / tan(M_PI * fc / rate);
}

static void test_loop_filters(void **state)
{
	(void)state;
	double worst = 0.0;
	for (size_t r = 0; r < 4; r++) {
		float rate = rates[r];
		double open = pass_db(rate, 20.0f, 20000.0f, 1000.0);
		/* 2nd-order Butterworth: |H|^2 = 1 / (1 + W^4), W the bilinear-warped frequency ratio */
		double hp = pass_db(rate, 2000.0f, 20000.0f, 1000.0);
		double hp_want = -10.0 * log10(1.0 + pow(warp(rate, 2000.0, 1000.0), 4.0)) -
				 10.0 * log10(1.0 + pow(warp(rate, 1000.0, 20000.0), 4.0));
		double lp = pass_db(rate, 20.0f, 1000.0f, 2000.0);
		double lp_want = -10.0 * log10(1.0 + pow(warp(rate, 2000.0, 1000.0), 4.0)) -
				 10.0 * log10(1.0 + pow(warp(rate, 20.0, 2000.0), 4.0));
		printf("rate %6.0f one pass at 1 kHz, filters open: %+.6f dB; high-pass 2 kHz at 1 kHz %+.3f dB (want "
		       "%+.3f); low-pass 1 kHz at 2 kHz %+.3f dB (want %+.3f)\n",
		       rate, open, hp, hp_want, lp, lp_want);
		worst = fmax(worst, fabs(open));
		assert_true(fabs(open) < 0.01);
		assert_true(fabs(hp - hp_want) < 0.05);
		assert_true(fabs(lp - lp_want) < 0.05);
	}
	printf("filters open: largest change of a 1 kHz tone per pass %.6f dB\n", worst);
}

/* ---- stability ---- */

struct stats {
	double peak;
	long nonfinite;
};

/* n frames of full-scale noise (or a given level) through d, in blocks of the sizes above */
static void run_noise(struct md_delay *d, size_t n, float level, struct stats *st)
{
	float il[MD_BLOCK], ir[MD_BLOCK], ol[MD_BLOCK], or [MD_BLOCK];
	for (size_t t = 0, k = 0; t < n; k++) {
		uint32_t b = sizes[k % 8];
		if (b > n - t)
			b = (uint32_t)(n - t);
		for (uint32_t i = 0; i < b; i++) {
			il[i] = level * noise();
			ir[i] = level * noise();
		}
		delay_process(d, il, ir, ol, or, b);
		for (uint32_t i = 0; i < b; i++) {
			if (!isfinite(ol[i]) || !isfinite(or [i]))
				st->nonfinite++;
			else
				st->peak = fmax(st->peak, fmax(fabsf(ol[i]), fabsf(or [i])));
		}
		t += b;
	}
}

static void test_noise_60s(void **state)
{
	(void)state;
	static const struct {
		float tl, tr, cross, low, high;
		const char *what;
	} cfg[] = {
		{1.0f, 1.0f, 0.0f, 20.0f, 20000.0f, "1/1 ms, cross 0, filters open"},
		{1.0f, 2000.0f, 0.5f, 20.0f, 20000.0f, "1/2000 ms, cross 0.5, filters open"},
		{375.0f, 500.0f, 1.0f, 2000.0f, 1000.0f, "375/500 ms, cross 1, low cut 2000, high cut 1000"},
		{1.0f, 1.0f, 1.0f, 2000.0f, 1000.0f, "1/1 ms, cross 1, low cut 2000, high cut 1000"},
	};
	for (size_t r = 0; r < 4; r++)
		for (size_t c = 0; c < sizeof(cfg) / sizeof(cfg[0]); c++) {
			struct md_delay_params p = params(cfg[c].tl, cfg[c].tr, 0.95f, cfg[c].cross, cfg[c].low,
							  cfg[c].high);
			struct md_delay d;
			assert_int_equal(delay_init(&d, rates[r], &p), 0);
			struct stats st = {0, 0};
			run_noise(&d, (size_t)(60.0 * rates[r]), 1.0f, &st);
			printf("rate %6.0f feedback 0.95, %s: 60 s of full-scale noise, peak %.3f, %ld non-finite\n",
			       rates[r], cfg[c].what, st.peak, st.nonfinite);
			assert_int_equal(st.nonfinite, 0);
			assert_true(st.peak < 50.0);
			delay_free(&d);
		}
}

static void corner(int bits, struct md_delay_params *p)
{
	p->time_ms[0] = bits & 1 ? MD_DELAY_MAX_MS : MD_DELAY_MIN_MS;
	p->time_ms[1] = bits & 2 ? MD_DELAY_MAX_MS : MD_DELAY_MIN_MS;
	p->feedback = bits & 4 ? MD_DELAY_FB_MAX : 0.0f;
	p->cross = bits & 8 ? 1.0f : 0.0f;
	p->low_cut = bits & 16 ? MD_DELAY_LOW_CUT_MAX : MD_DELAY_LOW_CUT_MIN;
	p->high_cut = bits & 32 ? MD_DELAY_HIGH_CUT_MAX : MD_DELAY_HIGH_CUT_MIN;
}

static void test_corners(void **state)
{
	(void)state;
	for (size_t r = 0; r < 4; r++) {
		double peak = 0.0;
		long bad = 0;
		/* each corner from a fresh start, 2.5 s (so that the 2000 ms side repeats) */
		for (int bits = 0; bits < 64; bits++) {
			struct md_delay_params p;
			corner(bits, &p);
			struct md_delay d;
			assert_int_equal(delay_init(&d, rates[r], &p), 0);
			struct stats st = {0, 0};
			run_noise(&d, (size_t)(2.5 * rates[r]), 1.0f, &st);
			peak = fmax(peak, st.peak);
			bad += st.nonfinite;
			delay_free(&d);
		}
		/* one unit walked from corner to corner (every time change glides), 0.25 s each, twice round */
		struct md_delay_params p;
		corner(0, &p);
		struct md_delay d;
		assert_int_equal(delay_init(&d, rates[r], &p), 0);
		struct stats st = {0, 0};
		for (int k = 0; k < 128; k++) {
			corner((k * 37) % 64, &p);
			delay_set(&d, &p);
			run_noise(&d, (size_t)(0.25 * rates[r]), 1.0f, &st);
		}
		printf("rate %6.0f: 64 corners 2.5 s each, peak %.3f, %ld non-finite; walked corner to corner: peak %.3f, "
		       "%ld non-finite\n",
		       rates[r], peak, bad, st.peak, st.nonfinite);
		assert_int_equal(bad, 0);
		assert_int_equal(st.nonfinite, 0);
		assert_true(peak < 50.0 && st.peak < 50.0);
		delay_free(&d);
	}
}

/* values outside the ranges, infinities, NaN; and inputs at the float limit */
static void test_out_of_range(void **state)
{
	(void)state;
	static const float odd[] = {-1e30f, -1.0f, 0.0f, 1e-30f, 1e30f, INFINITY, -INFINITY, NAN};
	const int nodd = (int)(sizeof(odd) / sizeof(odd[0]));
	float rate = 48000.0f;
	struct md_delay_params p = defaults();
	struct md_delay d;
	assert_int_equal(delay_init(&d, rate, &p), 0);
	struct stats st = {0, 0};
	for (int k = 0; k < 6 * nodd; k++) {
		struct md_delay_params q = defaults();
		float *f[6] = {&q.time_ms[0], &q.time_ms[1], &q.feedback, &q.cross, &q.low_cut, &q.high_cut};
		*f[k / nodd] = odd[k % nodd];
		delay_set(&d, &q);
		run_noise(&d, 4800, 1.0f, &st);
	}
	printf("out-of-range parameters: peak %.3f, %ld non-finite\n", st.peak, st.nonfinite);
	assert_int_equal(st.nonfinite, 0);
	assert_true(st.peak < 50.0);
	/* clamped targets */
	struct md_delay_params q = params(-5.0f, 1e9f, 7.0f, -3.0f, 1.0f, 1e6f);
	delay_set(&d, &q);
	assert_int_equal(d.head[0].target, want_samples(rate, MD_DELAY_MIN_MS));
	assert_int_equal(d.head[1].target, want_samples(rate, MD_DELAY_MAX_MS));
	assert_true(d.fb.target == MD_DELAY_FB_MAX);
	assert_true(d.cross.target == 0.0f);
	assert_true(fabsf(exp2f(d.hp_lf_target) - MD_DELAY_LOW_CUT_MIN) < 1e-3f);
	assert_true(fabsf(exp2f(d.lp_lf_target) - MD_DELAY_HIGH_CUT_MAX) < 1e-1f);
	/* inputs at +-FLT_MAX (finite) for a second, feedback 0.95, filters open: finite output */
	p = params(1.0f, 3.0f, 0.95f, 0.5f, 20.0f, 20000.0f);
	delay_set(&d, &p);
	struct stats big = {0, 0};
	run_noise(&d, 48000, FLT_MAX, &big);
	printf("inputs up to FLT_MAX: peak %.3g, %ld non-finite\n", big.peak, big.nonfinite);
	assert_int_equal(big.nonfinite, 0);
	delay_reset(&d);
	struct stats after = {0, 0};
	run_noise(&d, 48000, 1.0f, &after);
	assert_int_equal(after.nonfinite, 0);
	assert_true(after.peak < 50.0);
	delay_free(&d);
	assert_int_equal(delay_init(&d, 0.0f, &p), -1);
	assert_int_equal(delay_init(&d, NAN, &p), -1);
}

static float urand(float lo, float hi)
{
	return lo + (hi - lo) * 0.5f * (noise() + 1.0f);
}

static void test_sweep_every_block(void **state)
{
	(void)state;
	for (size_t r = 0; r < 4; r++) {
		float rate = rates[r];
		struct md_delay_params p = defaults();
		struct md_delay d;
		assert_int_equal(delay_init(&d, rate, &p), 0);
		float il[MD_BLOCK], ir[MD_BLOCK], ol[MD_BLOCK], or [MD_BLOCK];
		double peak = 0.0;
		long bad = 0, blocks = 0;
		size_t n = (size_t)(30.0 * rate);
		for (size_t t = 0; t < n; blocks++) {
			/* a new value of every parameter every block, now and then beyond its range; feedback mostly high */
			p.time_ms[0] = urand(-100.0f, 2100.0f);
			p.time_ms[1] = urand(0.0f, 2100.0f);
			p.feedback = blocks % 4 ? urand(0.8f, 1.2f) : urand(-0.1f, 1.0f);
			p.cross = urand(-0.1f, 1.1f);
			p.low_cut = exp2f(urand(3.0f, 12.0f));
			p.high_cut = exp2f(urand(9.0f, 15.0f));
			delay_set(&d, &p);
			uint32_t b = 1 + (uint32_t)urand(0.0f, 63.99f);
			if (b > n - t)
				b = (uint32_t)(n - t);
			for (uint32_t i = 0; i < b; i++) {
				il[i] = noise();
				ir[i] = noise();
			}
			delay_process(&d, il, ir, ol, or, b);
			for (uint32_t i = 0; i < b; i++) {
				if (!isfinite(ol[i]) || !isfinite(or [i]))
					bad++;
				else
					peak = fmax(peak, fmax(fabsf(ol[i]), fabsf(or [i])));
			}
			t += b;
		}
		printf("rate %6.0f: every parameter swept every block for 30 s (%ld blocks), full-scale noise: peak %.3f, "
		       "%ld non-finite\n",
		       rate, blocks, peak, bad);
		assert_int_equal(bad, 0);
		assert_true(peak < 50.0);
		delay_free(&d);
	}
}

static long subnormals(const double *x, int n)
{
	long k = 0;
	for (int i = 0; i < n; i++)
		k += fpclassify(x[i]) == FP_SUBNORMAL;
	return k;
}

/* A long decay in silence (this test runs without FTZ/DAZ): no denormal in a line, the filters or the
 * output, and the repeats die out to exactly 0. */
static void test_denormals(void **state)
{
	(void)state;
	float rate = 48000.0f;
	struct md_delay_params p = params(1.0f, 1.3f, 0.95f, 0.3f, 20.0f, 20000.0f);
	struct md_delay d;
	assert_int_equal(delay_init(&d, rate, &p), 0);
	struct stats st = {0, 0};
	run_noise(&d, 48000, 1.0f, &st);
	/* half of it with the feedback ramping down to almost nothing, then back */
	float ol[MD_BLOCK], or [MD_BLOCK];
	static const float zero[MD_BLOCK];
	long sub_out = 0, sub_line = 0, sub_filt = 0, nonzero_end = 0;
	for (int b = 0; b < 60 * 750; b++) {
		if (b == 20 * 750) {
			p.feedback = 2e-6f;
			delay_set(&d, &p);
		} else if (b == 21 * 750) {
			p.feedback = 0.95f;
			delay_set(&d, &p);
		}
		delay_process(&d, zero, zero, ol, or, MD_BLOCK);
		for (int i = 0; i < MD_BLOCK; i++) {
			sub_out += fpclassify(ol[i]) == FP_SUBNORMAL || fpclassify(or [i]) == FP_SUBNORMAL;
			if (b == 60 * 750 - 1)
				nonzero_end += ol[i] != 0.0f || or [i] != 0.0f;
		}
		if (b % 750 == 0) {
			for (uint32_t i = 0; i < 2 * d.size; i++)
				sub_line += fpclassify(d.line[0][i]) == FP_SUBNORMAL;
			sub_filt += subnormals(&d.hp.z[0][0], 4) + subnormals(&d.lp.z[0][0], 4);
		}
	}
	printf("60 s decay in silence (feedback 0.95, 1 ms): subnormal samples out %ld, in the lines %ld, in the "
	       "filter state %ld; nonzero outputs in the last block %ld\n",
	       sub_out, sub_line, sub_filt, nonzero_end);
	assert_int_equal(sub_out, 0);
	assert_int_equal(sub_line, 0);
	assert_int_equal(sub_filt, 0);
	assert_int_equal(nonzero_end, 0);
	delay_free(&d);
}

/* ---- time changes ---- */

struct tone {
	double phase, w, amp;
	/* the output's largest sample-to-sample step, and its pitch from upward zero crossings */
	double max_step, fmin, fmax;
	float last;
	double last_cross;
	long t;
};

static void tone_reset_stats(struct tone *s)
{
	s->max_step = 0.0;
	s->fmin = 1e9;
	s->fmax = 0.0;
	s->last_cross = -1.0;
}

/* n frames of the tone through d; statistics of the left output */
static void run_tone(struct md_delay *d, struct tone *s, float rate, size_t n)
{
	float il[MD_BLOCK], ir[MD_BLOCK], ol[MD_BLOCK], or [MD_BLOCK];
	for (size_t t = 0, k = 0; t < n; k++) {
		uint32_t b = sizes[k % 8];
		if (b > n - t)
			b = (uint32_t)(n - t);
		for (uint32_t i = 0; i < b; i++) {
			il[i] = ir[i] = (float)(s->amp * sin(s->phase));
			s->phase += s->w;
		}
		delay_process(d, il, ir, ol, or, b);
		for (uint32_t i = 0; i < b; i++, s->t++) {
			s->max_step = fmax(s->max_step, fabsf(ol[i] - s->last));
			if (s->last < 0.0f && ol[i] >= 0.0f && ol[i] - s->last > 0.2 * s->amp * s->w) {
				double at = (double)s->t - 1.0 + (double)(-s->last) / (double)(ol[i] - s->last);
				if (s->last_cross >= 0.0) {
					double f = rate / (at - s->last_cross);
					s->fmin = fmin(s->fmin, f);
					s->fmax = fmax(s->fmax, f);
				}
				s->last_cross = at;
			}
			s->last = ol[i];
		}
		t += b;
	}
}

/* Change the time from a to b under a sustained 440 Hz tone at -6 dBFS and return the largest step of the
 * output during and after the change over the largest one before it. */
static double time_change(float rate, float fb, float a, float b, double *fmin, double *fmax, double *glide_s)
{
	struct md_delay_params p = params(a, a, fb, 0.0f, 80.0f, 8000.0f);
	struct md_delay d;
	assert_int_equal(delay_init(&d, rate, &p), 0);
	struct tone s = {0};
	s.amp = 0.5;
	s.w = 2.0 * M_PI * 440.0 / rate;
	/* the line fills and (with feedback) the repeats build up; then the steady output's steps */
	run_tone(&d, &s, rate, (size_t)((a / 1000.0f * 12.0f + 0.5f) * rate));
	tone_reset_stats(&s);
	run_tone(&d, &s, rate, (size_t)(0.5f * rate));
	double before = s.max_step;
	double fb0 = s.fmin, fb1 = s.fmax;
	tone_reset_stats(&s);
	p.time_ms[0] = p.time_ms[1] = b;
	delay_set(&d, &p);
	long n = 0;
	while (d.head[0].gliding) {
		run_tone(&d, &s, rate, 64);
		n += 64;
	}
	*fmin = s.fmin;
	*fmax = s.fmax;
	*glide_s = n / rate;
	run_tone(&d, &s, rate, (size_t)((b / 1000.0f + 0.5f) * rate));
	double after = s.max_step;
	printf("rate %6.0f feedback %.2f time %6.0f -> %6.0f ms: glide %.3f s, pitch %.1f..%.1f Hz (steady "
	       "%.2f..%.2f), largest step before %.5f, during/after %.5f: ratio %.3f\n",
	       rate, fb, a, b, *glide_s, *fmin, *fmax, fb0, fb1, before, after, after / before);
	delay_free(&d);
	return after / before;
}

static void test_time_change_no_click(void **state)
{
	(void)state;
	static const float moves[][2] = {{300.0f, 700.0f}, {700.0f, 300.0f}, {1.0f, 2000.0f},
					 {2000.0f, 1.0f},  {375.0f, 500.0f}, {500.0f, 499.0f}};
	double worst = 0.0, lo = 1e9, hi = 0.0;
	for (size_t r = 0; r < 4; r += 1) {
		for (size_t m = 0; m < sizeof(moves) / sizeof(moves[0]); m++) {
			double f0, f1, g;
			double ratio = time_change(rates[r], 0.0f, moves[m][0], moves[m][1], &f0, &f1, &g);
			worst = fmax(worst, ratio);
			lo = fmin(lo, f0);
			hi = fmax(hi, f1);
			assert_true(ratio < 1.5);
			/* the pitch stays within the glide's bound: 440 Hz times 1 -/+ 1/3 */
			assert_true(f0 > 440.0 * (1.0 - MD_DELAY_GLIDE_SPEED) * 0.99);
			assert_true(f1 < 440.0 * (1.0 + MD_DELAY_GLIDE_SPEED) * 1.01);
		}
	}
	printf("feedback 0: largest step ratio %.3f; pitch during glides %.1f..%.1f Hz\n", worst, lo, hi);
	/* with feedback the repeats, bent again on every pass, add up to more than the steady sum's steps;
	 * still no click (a jump of the head would give a step of the order of the tone's whole height, a ratio
	 * of 15 or more) */
	double worst_fb = 0.0;
	for (size_t m = 0; m < 4; m++) {
		double f0, f1, g;
		worst_fb = fmax(worst_fb, time_change(48000.0f, 0.35f, moves[m][0], moves[m][1], &f0, &f1, &g));
	}
	printf("feedback 0.35: largest step ratio %.3f\n", worst_fb);
	assert_true(worst_fb < 3.0);
}

/* After a glide (turned round on the way), an impulse comes back on the new whole-number delay. */
static void test_glide_lands(void **state)
{
	(void)state;
	static const struct {
		float rate, from, via1, via2, to;
	} cases[] = {
		{48000.0f, 375.0f, 800.0f, 200.3f, 612.345f},
		{44100.0f, 10.0f, 1999.0f, 5.0f, 10.02f},
		{192000.0f, 2000.0f, 1.0f, 1500.0f, 123.4567f},
		{96000.0f, 1.0f, 1.0f, 1.0f, 2000.0f},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		float rate = cases[c].rate;
		struct md_delay_params p = params(cases[c].from, cases[c].from, 0.0f, 0.0f, 20.0f, 20000.0f);
		struct md_delay d;
		assert_int_equal(delay_init(&d, rate, &p), 0);
		static float ol[MD_BLOCK], or [MD_BLOCK], zero[MD_BLOCK];
		const float steps[3] = {cases[c].via1, cases[c].via2, cases[c].to};
		long n = 0;
		for (int s = 0; s < 3; s++) {
			p.time_ms[0] = steps[s];
			p.time_ms[1] = (steps[s] + cases[c].to) * 0.5f; /* the right side on another path */
			if (s == 2)
				p.time_ms[1] = cases[c].to;
			delay_set(&d, &p);
			for (int b = 0; b < (s < 2 ? 1500 : 0); b++, n += MD_BLOCK) /* turned round in mid-glide */
				delay_process(&d, zero, zero, ol, or, MD_BLOCK);
		}
		while (d.head[0].gliding || d.head[1].gliding) {
			delay_process(&d, zero, zero, ol, or, MD_BLOCK);
			n += MD_BLOCK;
		}
		long D = want_samples(rate, cases[c].to);
		/* the lines hold nothing but silence: feed silence longer than the delay first */
		for (long t = 0; t < D + MD_BLOCK; t += MD_BLOCK)
			delay_process(&d, zero, zero, ol, or, MD_BLOCK);
		size_t len = (size_t)(2 * D + 64);
		float *buf = calloc(4 * len, sizeof(float));
		float *il = buf, *ir = buf + len, *xl = buf + 2 * len, *xr = buf + 3 * len;
		il[5] = ir[5] = 1.0f;
		run_buf(&d, il, ir, xl, xr, len);
		long at[2] = {-1, -1}, others = 0;
		for (long i = 0; i < (long)len; i++)
			for (int s = 0; s < 2; s++) {
				float v = s ? xr[i] : xl[i];
				if (v == 1.0f && at[s] < 0)
					at[s] = i - 5;
				else if (v != 0.0f)
					others++;
			}
		printf("rate %6.0f glide %.0f -> %.0f -> %.1f -> %.4f ms (%.3f samples) landed after %.3f s; impulse "
		       "back at %ld / %ld, want %ld, %ld other nonzero samples\n",
		       rate, cases[c].from, cases[c].via1, cases[c].via2, cases[c].to, cases[c].to * rate / 1000.0,
		       n / rate, at[0], at[1], D, others);
		assert_int_equal(at[0], D);
		assert_int_equal(at[1], D);
		assert_int_equal(others, 0);
		free(buf);
		delay_free(&d);
	}
}

/* Feedback and cross ramp linearly over 20 ms; a corner glides, it does not jump. */
static void test_smoothing(void **state)
{
	(void)state;
	float rate = 48000.0f;
	struct md_delay_params p = params(375.0f, 500.0f, 0.0f, 0.0f, 20.0f, 20000.0f);
	struct md_delay d;
	assert_int_equal(delay_init(&d, rate, &p), 0);
	static float ol[MD_BLOCK], or [MD_BLOCK], zero[MD_BLOCK];
	p.feedback = 0.95f;
	p.cross = 1.0f;
	p.low_cut = 2000.0f;
	p.high_cut = 1000.0f;
	delay_set(&d, &p);
	float lf0 = log2f(20.0f), lf1 = log2f(2000.0f);
	delay_process(&d, zero, zero, ol, or, MD_BLOCK);
	float first = (d.hp_lf - lf0) / (lf1 - lf0);
	for (int b = 1; b < 7; b++) /* 7 blocks: 448 samples, under half of the 960-sample ramp */
		delay_process(&d, zero, zero, ol, or, MD_BLOCK);
	float fb_mid = d.fb.cur, cr_mid = d.cross.cur;
	for (int b = 7; b < 16; b++)
		delay_process(&d, zero, zero, ol, or, MD_BLOCK);
	float fb_end = d.fb.cur, cr_end = d.cross.cur;
	for (int b = 16; b < 750; b++)
		delay_process(&d, zero, zero, ol, or, MD_BLOCK);
	printf("after 64 samples the low cut has moved %.2f %% of its way (in octaves); feedback after 448 samples "
	       "%.4f (ramp: %.4f), after 1024 %.4f; cross %.4f, %.4f; the corners after 1 s: %.2f Hz, %.2f Hz\n",
	       100.0 * first, fb_mid, 0.95 * 448.0 / 960.0, fb_end, cr_mid, cr_end, exp2f(d.hp_lf), exp2f(d.lp_lf));
	assert_true(first > 0.0f && first < 0.1f);
	assert_true(fabsf(fb_mid - 0.95f * 448.0f / 960.0f) < 1e-3f);
	assert_true(fabsf(cr_mid - 448.0f / 960.0f) < 1e-3f);
	assert_true(fb_end == 0.95f && cr_end == 1.0f);
	assert_true(d.hp_lf == d.hp_lf_target && d.lp_lf == d.lp_lf_target && !d.filt_moving);
	delay_free(&d);
}

/* The head's delay at the next sample i of a block, from its public state (the cubic of delay.h). */
static double head_at(const struct md_delay_head *h, uint32_t i)
{
	if (!h->gliding || h->t + i >= h->len)
		return (double)h->target;
	double x = (double)(h->t + i);
	return h->from + x * (h->vel0 + x * (h->c2 + x * h->c3));
}

/* A new time every block (or every few), turned round at any moment: the head never moves by more than
 * MD_DELAY_GLIDE_SPEED samples per sample, across the turns as well (no step in the delay, no step in the
 * pitch larger than the glide's own bound). */
static void test_glide_speed(void **state)
{
	(void)state;
	for (size_t r = 0; r < 4; r++) {
		float rate = rates[r];
		struct md_delay_params p = defaults();
		struct md_delay d;
		assert_int_equal(delay_init(&d, rate, &p), 0);
		static float ol[MD_BLOCK], or [MD_BLOCK], zero[MD_BLOCK];
		double last[2] = {(double)d.head[0].target, (double)d.head[1].target}, fastest = 0.0;
		long turns = 0, blocks = (long)(30.0 * rate / MD_BLOCK);
		for (long b = 0; b < blocks; b++) {
			int every = b < blocks / 2 ? 1 : 1 + (int)urand(0.0f, 200.0f);
			if (b % every == 0) {
				p.time_ms[0] = urand(1.0f, 2000.0f);
				p.time_ms[1] = b % 3 ? p.time_ms[1] : urand(1.0f, 2000.0f);
				delay_set(&d, &p);
				turns++;
			}
			for (int c = 0; c < 2; c++)
				for (uint32_t i = 0; i < MD_BLOCK; i++) {
					double x = head_at(&d.head[c], i);
					fastest = fmax(fastest, fabs(x - last[c]));
					last[c] = x;
				}
			delay_process(&d, zero, zero, ol, or, MD_BLOCK);
		}
		printf("rate %6.0f: %ld new times in 30 s, the head's largest move %.6f samples per sample (bound %.6f)\n",
		       rate, turns, fastest, MD_DELAY_GLIDE_SPEED);
		assert_true(fastest <= MD_DELAY_GLIDE_SPEED * (1.0 + 1e-6));
		delay_free(&d);
	}
}

/* ---- cost ---- */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void test_cpu(void **state)
{
	(void)state;
	static const char *what[] = {"settled", "times gliding", "filters gliding", "everything moving"};
	float rate = 48000.0f;
	float il[MD_BLOCK], ir[MD_BLOCK], ol[MD_BLOCK], or [MD_BLOCK];
	for (int i = 0; i < MD_BLOCK; i++) {
		il[i] = 0.5f * noise();
		ir[i] = 0.5f * noise();
	}
	for (int m = 0; m < 4; m++) {
		double best = 1e9;
		for (int rep = 0; rep < 3; rep++) {
			struct md_delay_params p = defaults();
			struct md_delay d;
			assert_int_equal(delay_init(&d, rate, &p), 0);
			const int blocks = 7500; /* 10 s */
			double t0 = now();
			for (int b = 0; b < blocks; b++) {
				if ((m & 1) && b % 750 == 0) { /* a new time every second, before a glide ends */
					p.time_ms[0] = b % 1500 ? 375.0f : 700.0f;
					p.time_ms[1] = b % 1500 ? 500.0f : 250.0f;
					delay_set(&d, &p);
				}
				if (m & 2) {
					p.low_cut = b % 64 < 32 ? 80.0f : 400.0f;
					p.high_cut = b % 50 < 25 ? 8000.0f : 3000.0f;
					delay_set(&d, &p);
				}
				delay_process(&d, il, ir, ol, or, MD_BLOCK);
			}
			double t = now() - t0;
			best = fmin(best, t * 1e9 / (blocks * MD_BLOCK));
			if (m & 1)
				assert_true(d.head[0].gliding || d.head[1].gliding);
			delay_free(&d);
		}
		printf("cost at 48 kHz, %s: %.2f ns per stereo frame (%.3f %% of a core)\n", what[m], best,
		       best * 48000.0 * 1e-7);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_echo),   cmocka_unit_test(test_repeat_levels),
		cmocka_unit_test(test_ping_pong),    cmocka_unit_test(test_loop_filters),
		cmocka_unit_test(test_noise_60s),    cmocka_unit_test(test_corners),
		cmocka_unit_test(test_out_of_range), cmocka_unit_test(test_sweep_every_block),
		cmocka_unit_test(test_denormals),    cmocka_unit_test(test_time_change_no_click),
		cmocka_unit_test(test_glide_lands),  cmocka_unit_test(test_glide_speed),
		cmocka_unit_test(test_smoothing),    cmocka_unit_test(test_cpu),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
