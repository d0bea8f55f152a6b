/* mixdesk: the stereo delay (engine/dsp/delay.h). The loop runs sample by sample, because the shortest
 * delay (1 ms, 44 samples at 44.1 kHz) is shorter than a block: a block's later outputs can be echoes of
 * its earlier inputs. The mix, the filters and the interpolation are done in double, so that nothing in the
 * recursion (filter state, cross-fed sums) falls to denormal size on its way to zero. */
#include "engine/dsp/delay.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* An offset added to the filters' input: the high-pass removes it (its low-pass state holds it, from the
 * start), so it never reaches a line, but it keeps the high-pass state away from the denormal range. */
#define DC_OFFSET 1e-12
/* A line sample smaller than this is written as 0: a repeat decaying in the loop (or scaled by a tiny
 * feedback) never becomes a denormal float in the line. -600 dB: inaudible. */
#define FLUSH 1e-30
/* Line samples are bounded by this (+120 dBFS), so that no finite input, however large, can overflow the
 * interpolator or the filters. Audio never comes near it (the loop's gain is below 1). */
#define LIMIT 1e6
/* The interpolator reads one sample newer and two older than the head's whole part. */
#define MIN_POS 2.0
#define FB_ZERO 1e-6f /* a feedback below this (-120 dB) is 0 */

/* [any] */
static float clampf(float v, float lo, float hi)
{
	if (!(v >= lo)) /* NaN too */
		return lo;
	return v > hi ? hi : v;
}

/* The settled delay for a time: round(), half away from zero, in double. [any] */
static int32_t time_samples(float rate, float ms)
{
	return (int32_t)round((double)clampf(ms, MD_DELAY_MIN_MS, MD_DELAY_MAX_MS) * rate / 1000.0);
}

/* ---- read heads ---- */

/* The head's delay at the glide's sample t: the cubic in t itself, d = from + vel0 t + c2 t^2 + c3 t^3
 * (Horner, no division per sample). [any] */
static double head_pos(const struct md_delay_head *h, uint32_t t)
{
	if (!h->gliding || t >= h->len)
		return (double)h->target;
	double x = (double)t;
	return h->from + x * (h->vel0 + x * (h->c2 + x * h->c3));
}

/* The head's speed (change of delay per sample) at sample t. [any] */
static double head_speed(const struct md_delay_head *h, uint32_t t)
{
	if (!h->gliding || t >= h->len)
		return 0.0;
	double x = (double)t;
	return h->vel0 + x * (2.0 * h->c2 + x * 3.0 * h->c3);
}

/* The largest |speed| of a glide from speed v0 with mean speed c = dist / len: the speed is the quadratic
 * a x^2 + b x + v0 with a = 3 v0 - 6 c, b = 6 c - 4 v0, 0 at x = 1. [any] */
static double glide_peak(double v0, double c)
{
	double a = 3.0 * v0 - 6.0 * c, b = 6.0 * c - 4.0 * v0;
	double peak = fabs(v0);
	if (a != 0.0) {
		double x = -b / (2.0 * a);
		if (x > 0.0 && x < 1.0)
			peak = fmax(peak, fabs((a * x + b) * x + v0));
	}
	return peak;
}

/* Start a glide to target from where the head is now. Its length: long enough that the speed never exceeds
 * MD_DELAY_GLIDE_SPEED (1.5 times the distance over that speed when starting at rest; a head moving away
 * from the new target needs longer, found by lengthening, at most 8 times, which always suffices because
 * the starting speed is itself within the limit), and at least MD_DELAY_GLIDE_MIN_MS. [rt] */
static void head_retarget(struct md_delay_head *h, int32_t target, double rate)
{
	if (target == h->target)
		return;
	double from = head_pos(h, h->t), v0 = head_speed(h, h->t);
	double dist = (double)target - from;
	double len = fmax(MD_DELAY_GLIDE_MIN_MS * rate / 1000.0, 1.5 * fabs(dist) / MD_DELAY_GLIDE_SPEED);
	for (int i = 0; i < 8 && glide_peak(v0, dist / len) > MD_DELAY_GLIDE_SPEED * (1.0 + 1e-9); i++)
		len *= 1.25;
	h->target = target;
	h->from = from;
	h->vel0 = v0;
	h->dist = dist;
	h->len = (uint32_t)ceil(len);
	/* the basis written out in t = x len: vel0 len h10 + dist h01 */
	double l = (double)h->len;
	h->c2 = (3.0 * dist / l - 2.0 * v0) / l;
	h->c3 = (v0 - 2.0 * dist / l) / (l * l);
	h->t = 0;
	h->gliding = true;
}

/* At the target, at rest. [rt] */
static void head_land(struct md_delay_head *h)
{
	h->gliding = false;
	h->t = h->len = 0;
	h->from = (double)h->target;
	h->vel0 = h->dist = h->c2 = h->c3 = 0.0;
}

/* ---- filters ---- */

/* 2nd-order Butterworth (Q = 1/sqrt 2): the flattest pass band, so that at 20 Hz and 20 kHz a 1 kHz tone
 * loses nothing measurable per pass (1e-6 dB at 48 kHz, tests/test_delay.c). [rt] */
static void filt_coefs(struct md_delay *d)
{
	biquad_setup(&d->hp, MD_BQ_HIGHPASS, d->rate, exp2(d->hp_lf), M_SQRT1_2, 0.0);
	biquad_setup(&d->lp, MD_BQ_LOWPASS, d->rate, exp2(d->lp_lf), M_SQRT1_2, 0.0);
}

/* [rt] */
static void filt_clear(struct md_delay *d)
{
	biquad_reset(&d->hp);
	biquad_reset(&d->lp);
	/* the high-pass's low-pass state holds the DC offset already: no step when the first sample comes */
	d->hp.z[0][1] = d->hp.z[1][1] = DC_OFFSET;
}

/* One one-pole step of a corner (log2 Hz) towards its target. [rt] */
static float glide_step(float cur, float target, float k, bool *moving)
{
	float next = cur + k * (target - cur);
	if (fabsf(target - next) < 1e-4f) /* 1e-4 octave: land, and stop computing coefficients */
		return target;
	*moving = true;
	return next;
}

/* One corner step: glide both corners, recompute the coefficients while they move. [rt] */
static void filt_step(struct md_delay *d)
{
	if (!d->filt_moving)
		return;
	bool moving = false;
	d->hp_lf = glide_step(d->hp_lf, d->hp_lf_target, d->glide_k, &moving);
	d->lp_lf = glide_step(d->lp_lf, d->lp_lf_target, d->glide_k, &moving);
	filt_coefs(d);
	d->filt_moving = moving;
}

/* ---- parameters ---- */

/* Clamp p and set it as the targets; at_once: as the values now, no glide or ramp (initialisation). [rt] */
static void targets(struct md_delay *d, const struct md_delay_params *p, bool at_once)
{
	for (int c = 0; c < 2; c++) {
		int32_t t = time_samples(d->rate, p->time_ms[c]);
		if (at_once) {
			d->head[c].target = t;
			head_land(&d->head[c]);
		} else {
			head_retarget(&d->head[c], t, d->rate);
		}
	}
	float fb = clampf(p->feedback, 0.0f, MD_DELAY_FB_MAX);
	if (fb < FB_ZERO)
		fb = 0.0f;
	float cr = clampf(p->cross, 0.0f, 1.0f);
	d->hp_lf_target = log2f(clampf(p->low_cut, MD_DELAY_LOW_CUT_MIN, MD_DELAY_LOW_CUT_MAX));
	d->lp_lf_target = log2f(clampf(p->high_cut, MD_DELAY_HIGH_CUT_MIN, MD_DELAY_HIGH_CUT_MAX));
	if (at_once) {
		smooth_init(&d->fb, fb);
		smooth_init(&d->cross, cr);
		d->hp_lf = d->hp_lf_target;
		d->lp_lf = d->lp_lf_target;
		filt_coefs(d);
		d->filt_moving = false;
	} else {
		smooth_set_target(&d->fb, fb, d->ramp);
		smooth_set_target(&d->cross, cr, d->ramp);
		if (d->hp_lf != d->hp_lf_target || d->lp_lf != d->lp_lf_target)
			d->filt_moving = true;
	}
}

int delay_init(struct md_delay *d, float rate, const struct md_delay_params *p)
{
	memset(d, 0, sizeof(*d));
	if (!(rate > 0.0f) || !isfinite(rate))
		return -1;
	/* the longest delay, the interpolator's taps, and room for a glide that overshoots a little when it is
	 * turned round (its speed carries it on for a moment); a power of two makes the wrap a mask */
	double need = ceil((double)MD_DELAY_MAX_MS * rate / 1000.0) + 0.05 * rate + 8.0;
	uint32_t size = 1;
	while ((double)size < need) {
		if (size >= (1u << 30))
			return -1;
		size <<= 1;
	}
	float *mem = malloc(2 * (size_t)size * sizeof(float));
	if (!mem)
		return -1;
	/* touched here, so the audio thread never takes a page fault on a line */
	memset(mem, 0, 2 * (size_t)size * sizeof(float));
	d->line[0] = mem;
	d->line[1] = mem + size;
	d->size = size;
	d->mask = size - 1;
	d->rate = rate;
	d->max_pos = (double)size - 4.0;
	d->ramp = (uint32_t)(MD_DELAY_RAMP_MS * rate / 1000.0f);
	d->glide_k = (float)(1.0 - exp(-(double)MD_DELAY_SUB / (MD_DELAY_TAU_MS * 1e-3 * rate)));
	d->sub_left = 0;
	filt_clear(d);
	targets(d, p, true);
	return 0;
}

void delay_free(struct md_delay *d)
{
	free(d->line[0]);
	d->line[0] = d->line[1] = NULL;
}

void delay_set(struct md_delay *d, const struct md_delay_params *p)
{
	targets(d, p, false);
}

void delay_reset(struct md_delay *d)
{
	memset(d->line[0], 0, 2 * (size_t)d->size * sizeof(float));
	for (int c = 0; c < 2; c++)
		head_land(&d->head[c]);
	smooth_init(&d->fb, d->fb.target);
	smooth_init(&d->cross, d->cross.target);
	d->hp_lf = d->hp_lf_target;
	d->lp_lf = d->lp_lf_target;
	filt_coefs(d);
	d->filt_moving = false;
	filt_clear(d);
}

/* ---- processing ---- */

/* A line sample as written: FLUSH and LIMIT. [rt] */
static inline double bound(double v)
{
	if (fabs(v) < FLUSH)
		return 0.0;
	return v > LIMIT ? LIMIT : v < -LIMIT ? -LIMIT : v;
}

/* the two sides side by side (a GCC/Clang vector extension, as in biquad.c): every step of the loop is
 * the same for both, so each costs one vector operation instead of two */
typedef double v2d __attribute__((vector_size(16)));

/* One pass of the loop over k <= MD_DELAY_SUB samples with the filter coefficients fixed; glide: the heads'
 * positions are in whole[] and frac[], else both are at their targets. Inlined twice, so that the settled
 * case does one read per side and no interpolation. [rt] */
static inline __attribute__((always_inline)) void loop(struct md_delay *d, const float *in_l, const float *in_r,
						       float *out_l, float *out_r, uint32_t k, bool glide,
						       const uint32_t (*whole)[2], const v2d *frac)
{
	float *const b0 = d->line[0], *const b1 = d->line[1];
	const uint32_t mask = d->mask, t0 = (uint32_t)d->head[0].target, t1 = (uint32_t)d->head[1].target;
	uint32_t w = d->w;
	const v2d ha1 = {d->hp.a1, d->hp.a1}, ha2 = {d->hp.a2, d->hp.a2}, ha3 = {d->hp.a3, d->hp.a3};
	const v2d hm0 = {d->hp.m0, d->hp.m0}, hm1 = {d->hp.m1, d->hp.m1}, hm2 = {d->hp.m2, d->hp.m2};
	const v2d la1 = {d->lp.a1, d->lp.a1}, la2 = {d->lp.a2, d->lp.a2}, la3 = {d->lp.a3, d->lp.a3};
	const v2d lm0 = {d->lp.m0, d->lp.m0}, lm1 = {d->lp.m1, d->lp.m1}, lm2 = {d->lp.m2, d->lp.m2};
	v2d h1 = {d->hp.z[0][0], d->hp.z[1][0]}, h2 = {d->hp.z[0][1], d->hp.z[1][1]};
	v2d l1 = {d->lp.z[0][0], d->lp.z[1][0]}, l2 = {d->lp.z[0][1], d->lp.z[1][1]};
	for (uint32_t i = 0; i < k; i++) {
		double fb = smooth_next(&d->fb), cr = smooth_next(&d->cross);
		v2d y;
		if (glide) {
			/* 4-point, 3rd-order Hermite (Catmull-Rom) between the sample whole[] back (frac 0: that
			 * sample exactly) and the one before it (frac 1). Its gain is at most 1 at every frequency
			 * and fraction, so it adds nothing to the loop's gain. */
			uint32_t i0 = w - whole[i][0], i1 = w - whole[i][1];
			v2d xm = {b0[(i0 + 1) & mask], b1[(i1 + 1) & mask]}, x0 = {b0[i0 & mask], b1[i1 & mask]};
			v2d x1 = {b0[(i0 - 1) & mask], b1[(i1 - 1) & mask]},
			    x2 = {b0[(i0 - 2) & mask], b1[(i1 - 2) & mask]};
			v2d c1 = 0.5 * (x1 - xm);
			v2d c2 = xm - 2.5 * x0 + 2.0 * x1 - 0.5 * x2;
			v2d c3 = 0.5 * (x2 - xm) + 1.5 * (x0 - x1);
			v2d f = frac[i];
			y = ((c3 * f + c2) * f + c1) * f + x0;
		} else {
			y = (v2d){b0[(w - t0) & mask], b1[(w - t1) & mask]};
		}
		out_l[i] = (float)y[0];
		out_r[i] = (float)y[1];
		/* cross-feed, then the trapezoidal SVF step (engine/dsp/biquad.h): high-pass, low-pass */
		v2d v0 = y + cr * ((v2d){y[1], y[0]} - y) + DC_OFFSET;
		v2d v3 = v0 - h2;
		v2d v1 = ha1 * h1 + ha2 * v3, v2 = h2 + ha2 * h1 + ha3 * v3;
		h1 = 2.0 * v1 - h1;
		h2 = 2.0 * v2 - h2;
		v0 = hm0 * v0 + hm1 * v1 + hm2 * v2;
		v3 = v0 - l2;
		v1 = la1 * l1 + la2 * v3;
		v2 = l2 + la2 * l1 + la3 * v3;
		l1 = 2.0 * v1 - l1;
		l2 = 2.0 * v2 - l2;
		v2d x = (v2d){in_l[i], in_r[i]} + fb * (lm0 * v0 + lm1 * v1 + lm2 * v2);
		b0[w] = (float)bound(x[0]);
		b1[w] = (float)bound(x[1]);
		w = (w + 1) & mask;
	}
	d->hp.z[0][0] = h1[0];
	d->hp.z[1][0] = h1[1];
	d->hp.z[0][1] = h2[0];
	d->hp.z[1][1] = h2[1];
	d->lp.z[0][0] = l1[0];
	d->lp.z[1][0] = l1[1];
	d->lp.z[0][1] = l2[0];
	d->lp.z[1][1] = l2[1];
	d->w = w;
}

/* k <= MD_DELAY_SUB samples with the filter coefficients fixed. [rt] */
static void run(struct md_delay *d, const float *in_l, const float *in_r, float *out_l, float *out_r, uint32_t k)
{
	if (!d->head[0].gliding && !d->head[1].gliding) {
		loop(d, in_l, in_r, out_l, out_r, k, false, NULL, NULL);
		return;
	}
	/* the heads' delays for these samples, split into whole parts and fractions: a settled side (and a
	 * glide past its end) has its target, fraction 0, and so is read exactly */
	uint32_t whole[MD_DELAY_SUB][2];
	v2d frac[MD_DELAY_SUB];
	const double max_pos = d->max_pos;
	for (int c = 0; c < 2; c++) {
		struct md_delay_head *h = &d->head[c];
		if (!h->gliding) {
			for (uint32_t i = 0; i < k; i++) {
				whole[i][c] = (uint32_t)h->target;
				frac[i][c] = 0.0;
			}
			continue;
		}
		const double c0 = h->from, c1 = h->vel0, c2 = h->c2, c3 = h->c3, x0 = (double)h->t;
		const double end = (double)h->target;
		const uint32_t left = h->len - h->t;
		for (uint32_t i = 0; i < k; i++) {
			double x = x0 + (double)i;
			double p = i < left ? c0 + x * (c1 + x * (c2 + x * c3)) : end;
			p = p < MIN_POS ? MIN_POS : p > max_pos ? max_pos : p;
			uint32_t di = (uint32_t)p;
			whole[i][c] = di;
			frac[i][c] = p - (double)di;
		}
		h->t += k;
		if (h->t >= h->len)
			head_land(h);
	}
	loop(d, in_l, in_r, out_l, out_r, k, true, whole, frac);
}

void delay_process(struct md_delay *d, const float *in_l, const float *in_r, float *out_l, float *out_r, uint32_t n)
{
	/* nothing here depends on n <= MD_BLOCK: the work goes in pieces of at most MD_DELAY_SUB */
	uint32_t done = 0;
	while (done < n) {
		if (d->sub_left == 0) {
			filt_step(d);
			d->sub_left = MD_DELAY_SUB;
		}
		uint32_t k = n - done < d->sub_left ? n - done : d->sub_left;
		run(d, in_l + done, in_r + done, out_l + done, out_r + done, k);
		d->sub_left -= k;
		done += k;
	}
	/* decayed filter state to 0, non-finite state cleared (the high-pass then takes its offset again) */
	biquad_flush(&d->hp);
	biquad_flush(&d->lp);
	if (d->hp.z[0][1] == 0.0 && d->hp.z[1][1] == 0.0 && d->hp.z[0][0] == 0.0 && d->hp.z[1][0] == 0.0)
		d->hp.z[0][1] = d->hp.z[1][1] = DC_OFFSET;
}
