/* mixdesk: the drive. Signal path of one channel, per block:
 *   x (clamped copy) -> up 2x [-> up 2x] -> dry x_os + wa fa(g x_os) + wb fb(g x_os), the wet part through a
 *   DC blocker -> down 2x [-> down 2x] -> cross-faded with the untouched x by `on`.
 *
 * The shapers, all with slope 1 at 0, analytic on the real line (their harmonics fall off exponentially)
 * and cheap (one or two square roots and a division, no libm call):
 *   soft  x / sqrt(1 + x^2)                      the earliest, gentlest knee
 *   tape  x / (1 + x^4)^(1/4)                    cleaner below the knee, firmer at it
 *   tube  (s(x + b) - s(b)) (1 + b^2)^(3/2), s the soft curve, b = 0.3: biased, so the positive half
 *         saturates first (limits +0.81 and -1.46) and even harmonics appear; it keeps 0 at 0, and the DC
 *         that its asymmetry makes with a signal is taken out of the wet part by the DC blocker.
 *
 * Filters (engine/dsp/halfband.h), at 44.1/48 kHz: stage 0 (base <-> 2x) has its stop band from
 * fs/2 + fs/48 (25 kHz at 48 kHz, where the 5th harmonic of 5 kHz lands, which would fold to 23 kHz) and its
 * pass band to fs/2 - fs/48 (23 kHz); stage 1 (2x <-> 4x) only needs to pass what stage 0 passes and stop
 * what would fold onto it (transition 0.24 of its rate). At 88.2/96 kHz a single stage passes 0.3125 fs
 * (30 kHz at 96 kHz) and stops from 0.6875 fs, so nothing folds below 30 kHz.
 *
 * Level compensation: the RMS of the shaped (and DC-free) -12 dBFS sine by the midpoint rule over half a
 * period (32 points: sin takes every value of the period once there), the sine's own RMS divided by it.
 * The integrand is analytic and periodic, so the rule converges exponentially: 32 points are exact to about
 * 1e-5 dB at 24 dB of drive. It is recomputed only while the amount moves, once per MD_DRIVE_SUB frames. */
#include "engine/dsp/drive.h"

#include "engine/model/md.h"

#include <math.h>
#include <string.h>

#define INPUT_CLAMP 1e6f /* +120 dBFS: keeps x^4 in the tape curve finite for any finite input */
#define TUBE_BIAS 0.3f
#define TUBE_S0 0.287347886f    /* s(b) = b / sqrt(1 + b^2) */
#define TUBE_SLOPE 1.137993409f /* 1 / s'(b) = (1 + b^2)^(3/2) */
#define STATE_FLUSH 1e-25
#define QUAD_POINTS 16 /* |sin| at the midpoints of half a period (each taken with both signs) */

/* cos(pi (j + 1/2) / 32), j = 0..15: the magnitudes of sin at the 32 midpoints of half a period */
static const float quad_sin[QUAD_POINTS] = {
	0.998795456f, 0.989176510f, 0.970031253f, 0.941544065f, 0.903989293f, 0.857728610f, 0.803207531f, 0.740951125f,
	0.671558955f, 0.595699304f, 0.514102744f, 0.427555093f, 0.336889853f, 0.242980180f, 0.146730474f, 0.049067674f,
};

static inline float shape_soft(float x)
{
	return x / sqrtf(1.0f + x * x);
}

static inline float shape_tape(float x)
{
	float x2 = x * x;
	return x / sqrtf(sqrtf(1.0f + x2 * x2));
}

static inline float shape_tube(float x)
{
	float v = x + TUBE_BIAS;
	return (v / sqrtf(1.0f + v * v) - TUBE_S0) * TUBE_SLOPE;
}

static inline float shape(int character, float x)
{
	switch (character) {
	case MD_DRIVE_TAPE: return shape_tape(x);
	case MD_DRIVE_TUBE: return shape_tube(x);
	default: return shape_soft(x);
	}
}

float drive_shape(int character, float x)
{
	return shape(character, x);
}

static inline float db_gain(float db)
{
	return powf(10.0f, db * 0.05f);
}

float drive_comp(int character, float amount_db)
{
	float a = db_gain(MD_DRIVE_REF_DB), g = db_gain(amount_db) * a;
	float sum = 0.0f, sum2 = 0.0f;
	for (int j = 0; j < QUAD_POINTS; j++) {
		float p = shape(character, g * quad_sin[j]), m = shape(character, -g * quad_sin[j]);
		sum += p + m;
		sum2 += p * p + m * m;
	}
	float mean = sum / (2 * QUAD_POINTS), var = sum2 / (2 * QUAD_POINTS) - mean * mean;
	if (!(var > 1e-20f))
		return 1.0f;
	return a * 0.707106781f / sqrtf(var);
}

double drive_delay(const struct md_drive *d, double f)
{
	/* up-sampling delays by the filter's group delay; down-sampling takes the odd instants of the filtered
	 * signal, one sample of the high rate early */
	double total = 0.0;
	for (int s = 0; s < d->stages; s++) {
		double hi = d->rate * (double)(2 << s), gd;
		halfband_response(&d->hb[s], f / hi, NULL, &gd);
		total += (2.0 * gd - 1.0) / (double)(2 << s);
	}
	return total;
}

static float clampf(float x, float lo, float hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

static int valid_character(int c, int fallback)
{
	return c >= 0 && c < MD_DRIVE_CHARACTERS ? c : fallback;
}

static int fading(const struct md_drive *d)
{
	return d->ch_b != d->ch_a;
}

static float advance(struct md_smooth *s, uint32_t n)
{
	for (uint32_t i = 0; i < n && smooth_active(s); i++)
		smooth_next(s);
	return s->cur;
}

/* the gains for the smoothers' values now */
static struct md_drive_gains gains_now(struct md_drive *d)
{
	float amt = d->amount.cur, mix = d->mix.cur, t = d->fade.cur;
	if (d->comp_a_db != amt) {
		d->comp_a = drive_comp(d->ch_a, amt);
		d->comp_a_db = amt;
	}
	if (fading(d) && d->comp_b_db != amt) {
		d->comp_b = drive_comp(d->ch_b, amt);
		d->comp_b_db = amt;
	}
	if (d->gain_db != amt) {
		d->gain = db_gain(amt);
		d->gain_db = amt;
	}
	struct md_drive_gains g;
	g.g = d->gain;
	g.dry = 1.0f - mix;
	g.wa = mix * (1.0f - t) * d->comp_a;
	g.wb = fading(d) ? mix * t * d->comp_b : 0.0f;
	return g;
}

/* every parameter at its target at once (initialisation, or while nobody listens) */
static void snap(struct md_drive *d, const struct md_drive_params *p)
{
	float amt = isfinite(p->amount) ? clampf(p->amount, 0.0f, MD_DRIVE_AMOUNT_MAX) : d->amount.target;
	float mix = isfinite(p->mix) ? clampf(p->mix, 0.0f, 1.0f) : d->mix.target;
	smooth_init(&d->amount, amt);
	smooth_init(&d->mix, mix);
	d->ch_a = d->ch_b = d->ch_next = valid_character(p->character, d->ch_a);
	smooth_init(&d->fade, 0.0f);
	d->comp_a_db = d->comp_b_db = d->gain_db = NAN;
	d->gains = d->end = gains_now(d);
	memset(&d->step, 0, sizeof d->step);
	d->sub_left = 0;
	d->moving = 0;
}

void drive_reset(struct md_drive *d)
{
	for (int s = 0; s < 2; s++)
		for (int c = 0; c < 2; c++) {
			halfband_reset(&d->up[s][c]);
			halfband_reset(&d->down[s][c]);
		}
	for (int c = 0; c < 2; c++)
		d->dc_x[c] = d->dc_y[c] = 0.0;
}

void drive_init(struct md_drive *d, float rate, const struct md_drive_params *p)
{
	memset(d, 0, sizeof *d);
	if (!(rate > 1000.0f))
		rate = 48000.0f;
	d->rate = rate;
	d->ramp = (uint32_t)(rate * MD_DRIVE_RAMP_MS * 0.001f + 0.5f);
	if (rate < 80000.0f) {
		d->factor = 4;
		d->stages = 2;
		/* stop band of stage 0 from fs/2 + fs/48, relative to 2 fs: transition (fs/24) / (2 fs) */
		halfband_design(&d->hb[0], 1.0 / 48.0, 90.0);
		/* stage 1 passes up to stage 0's stop band edge (fs/2 + fs/48, relative to 4 fs) */
		halfband_design(&d->hb[1], 0.5 - 2.0 * (0.5 + 1.0 / 48.0) / 4.0, 85.0);
	} else if (rate < 160000.0f) {
		d->factor = 2;
		d->stages = 1;
		halfband_design(&d->hb[0], 0.5 - 2.0 * 0.3125 / 2.0, 100.0);
	} else {
		d->factor = 1;
		d->stages = 0;
	}
	d->dc_r = exp(-2.0 * M_PI * MD_DRIVE_DC_HZ / ((double)rate * d->factor));
	d->ch_a = MD_DRIVE_SOFT;
	d->on_target = p->on != 0;
	smooth_init(&d->on, d->on_target ? 1.0f : 0.0f);
	snap(d, p);
	drive_reset(d);
}

int drive_active(const struct md_drive *d)
{
	return d->on_target || d->on.cur != 0.0f;
}

static void fade_start(struct md_drive *d, int c)
{
	d->ch_b = c;
	d->comp_b_db = NAN;
	smooth_init(&d->fade, 0.0f);
	smooth_set_target(&d->fade, 1.0f, d->ramp);
}

static void swap_w(struct md_drive_gains *g)
{
	float t = g->wa;
	g->wa = g->wb;
	g->wb = t;
}

static void character_request(struct md_drive *d, int c)
{
	d->ch_next = c;
	if (!fading(d)) {
		if (c != d->ch_a)
			fade_start(d, c);
		return;
	}
	if (c != d->ch_a)
		return; /* the fade to ch_b ends first, then ch_next is taken up if it is another */
	/* back to the character being left: the fade turns round from where it is, at the same speed */
	int t = d->ch_a;
	d->ch_a = d->ch_b;
	d->ch_b = t;
	float tc = d->comp_a, tdb = d->comp_a_db;
	d->comp_a = d->comp_b;
	d->comp_a_db = d->comp_b_db;
	d->comp_b = tc;
	d->comp_b_db = tdb;
	swap_w(&d->gains);
	swap_w(&d->end);
	swap_w(&d->step);
	float left = 1.0f - d->fade.cur;
	smooth_init(&d->fade, left);
	smooth_set_target(&d->fade, 1.0f, (uint32_t)((1.0f - left) * (float)d->ramp) + 1u);
}

void drive_set(struct md_drive *d, const struct md_drive_params *p)
{
	int on = p->on != 0;
	if (!drive_active(d)) {
		/* off and settled: nothing is heard of the processed path, so it starts afresh at the targets */
		snap(d, p);
		if (on) {
			drive_reset(d);
			d->on_target = 1;
			smooth_set_target(&d->on, 1.0f, d->ramp);
		}
		return;
	}
	d->on_target = on;
	smooth_set_target(&d->on, on ? 1.0f : 0.0f, d->ramp);
	if (isfinite(p->amount))
		smooth_set_target(&d->amount, clampf(p->amount, 0.0f, MD_DRIVE_AMOUNT_MAX), d->ramp);
	if (isfinite(p->mix))
		smooth_set_target(&d->mix, clampf(p->mix, 0.0f, 1.0f), d->ramp);
	int c = valid_character(p->character, d->ch_next);
	if (c != d->ch_next || (!fading(d) && c != d->ch_a))
		character_request(d, c);
}

/* Start a sub-block: move the smoothers to its end and ramp the gains there over its oversampled samples. */
static void sub_begin(struct md_drive *d)
{
	advance(&d->amount, MD_DRIVE_SUB);
	advance(&d->mix, MD_DRIVE_SUB);
	advance(&d->fade, MD_DRIVE_SUB);
	d->end = gains_now(d);
	d->sub_left = MD_DRIVE_SUB;
	const struct md_drive_gains *a = &d->gains, *b = &d->end;
	d->moving = a->g != b->g || a->dry != b->dry || a->wa != b->wa || a->wb != b->wb;
	float k = 1.0f / (float)(MD_DRIVE_SUB * d->factor);
	d->step.g = (b->g - a->g) * k;
	d->step.dry = (b->dry - a->dry) * k;
	d->step.wa = (b->wa - a->wa) * k;
	d->step.wb = (b->wb - a->wb) * k;
}

static void sub_end(struct md_drive *d)
{
	d->gains = d->end;
	if (!fading(d) || smooth_active(&d->fade))
		return;
	/* the fade has arrived: ch_b is the character now */
	d->ch_a = d->ch_b;
	d->comp_a = d->comp_b;
	d->comp_a_db = d->comp_b_db;
	d->gains.wa = d->gains.wb;
	d->gains.wb = 0.0f;
	d->end = d->gains;
	smooth_init(&d->fade, 0.0f);
	if (d->ch_next != d->ch_a)
		fade_start(d, d->ch_next);
}

/* w[j] (+)= (w0 + dw (j + 1)) f((g0 + dg (j + 1)) x[j]): the ramps are evaluated, not accumulated, so the
 * loop has no carried dependency and vectorises. */
#define WET_LOOP(F, OP)                                                                                                \
	for (uint32_t j = 0; j < m; j++) {                                                                             \
		float k = (float)(j + 1);                                                                              \
		w[j] OP(w0 + dw * k) * F((g0 + dg * k) * x[j]);                                                        \
	}

static void wet_set(int character, float *restrict w, const float *restrict x, uint32_t m, float g0, float dg, float w0,
		    float dw)
{
	switch (character) {
	case MD_DRIVE_TAPE: WET_LOOP(shape_tape, =) break;
	case MD_DRIVE_TUBE: WET_LOOP(shape_tube, =) break;
	default: WET_LOOP(shape_soft, =) break;
	}
}

static void wet_add(int character, float *restrict w, const float *restrict x, uint32_t m, float g0, float dg, float w0,
		    float dw)
{
	switch (character) {
	case MD_DRIVE_TAPE: WET_LOOP(shape_tape, +=) break;
	case MD_DRIVE_TUBE: WET_LOOP(shape_tube, +=) break;
	default: WET_LOOP(shape_soft, +=) break;
	}
}

/* The oversampled mix of m samples of channel c in place, from the gains d->gains on. */
static void shape_run(struct md_drive *d, int c, float *x, uint32_t m)
{
	float w[MD_DRIVE_SUB * 4];
	const struct md_drive_gains *g = &d->gains, *s = &d->step;
	wet_set(d->ch_a, w, x, m, g->g, s->g, g->wa, s->wa);
	if (fading(d))
		wet_add(d->ch_b, w, x, m, g->g, s->g, g->wb, s->wb);
	/* the DC blocker y = w - w1 + r y1, on the wet part only (the dry part has no DC of the drive's making) */
	const double r = d->dc_r;
	double x1 = d->dc_x[c], y1 = d->dc_y[c];
	for (uint32_t j = 0; j < m; j++) {
		double y = (double)w[j] - x1 + r * y1;
		x1 = w[j];
		y1 = y;
		w[j] = (float)y;
	}
	d->dc_x[c] = x1;
	d->dc_y[c] = y1;
	const float dry0 = g->dry, ddry = s->dry;
	for (uint32_t j = 0; j < m; j++)
		x[j] = (dry0 + ddry * (float)(j + 1)) * x[j] + w[j];
}

static void gains_advance(struct md_drive *d, uint32_t m)
{
	float k = (float)m;
	d->gains.g += d->step.g * k;
	d->gains.dry += d->step.dry * k;
	d->gains.wa += d->step.wa * k;
	d->gains.wb += d->step.wb * k;
}

static int flush_dc(double *v)
{
	double a = fabs(*v);
	if (!(a < 1e30))
		return 1;
	if (a < STATE_FLUSH)
		*v = 0.0;
	return 0;
}

void drive_process(struct md_drive *d, float *const ch[2], int nch, uint32_t n)
{
	if (!drive_active(d) || n == 0)
		return;
	if (n > MD_BLOCK)
		n = MD_BLOCK;
	nch = nch > 1 ? 2 : 1;
	float os[2][MD_BLOCK * 4], tmp[MD_BLOCK * 2], base[MD_BLOCK];
	const int f = d->factor;
	for (int c = 0; c < nch; c++) {
		for (uint32_t i = 0; i < n; i++)
			base[i] = clampf(ch[c][i], -INPUT_CLAMP, INPUT_CLAMP); /* NaN becomes +INPUT_CLAMP */
		if (d->stages == 2) {
			halfband_up(&d->hb[0], &d->up[0][c], base, tmp, n);
			halfband_up(&d->hb[1], &d->up[1][c], tmp, os[c], 2 * n);
		} else if (d->stages == 1) {
			halfband_up(&d->hb[0], &d->up[0][c], base, os[c], n);
		} else {
			memcpy(os[c], base, n * sizeof base[0]);
		}
	}
	for (uint32_t i = 0; i < n;) {
		if (d->sub_left == 0)
			sub_begin(d);
		uint32_t k = n - i < d->sub_left ? n - i : d->sub_left;
		for (int c = 0; c < nch; c++)
			shape_run(d, c, os[c] + i * f, k * f);
		if (d->moving)
			gains_advance(d, k * f);
		i += k;
		d->sub_left -= k;
		if (d->sub_left == 0)
			sub_end(d);
	}
	int bad = 0;
	for (int c = 0; c < nch; c++) {
		if (d->stages == 2) {
			halfband_down(&d->hb[1], &d->down[1][c], os[c], os[c], 2 * n);
			halfband_down(&d->hb[0], &d->down[0][c], os[c], os[c], n);
		} else if (d->stages == 1) {
			halfband_down(&d->hb[0], &d->down[0][c], os[c], os[c], n);
		}
		float *x = ch[c];
		const float *p = os[c];
		if (!smooth_active(&d->on) && d->on.cur == 1.0f) {
			memcpy(x, p, n * sizeof x[0]);
		} else {
			struct md_smooth on = d->on;
			for (uint32_t i = 0; i < n; i++) {
				float w = smooth_next(&on);
				x[i] += w * (p[i] - x[i]);
			}
			if (c == nch - 1)
				d->on = on;
		}
		for (int s = 0; s < d->stages; s++)
			bad |= halfband_flush(&d->up[s][c]) | halfband_flush(&d->down[s][c]);
		bad |= flush_dc(&d->dc_x[c]) | flush_dc(&d->dc_y[c]);
	}
	if (bad)
		drive_reset(d);
}
