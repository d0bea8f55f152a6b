/* mixdesk: strip processing: HPF, LPF, 4-band EQ, gate, compressor, in that order (docs/DSP.md). */
#include "engine/dsp/strip_dsp.h"

#include <math.h>
#include <string.h>

#define Q_BUTTER2 0.70710678f  /* 2nd-order Butterworth */
#define Q_BUTTER4A 0.54119610f /* 4th-order Butterworth, first section: 1 / (2 cos(pi/8)) */
#define Q_BUTTER4B 1.30656296f /* second section: 1 / (2 cos(3 pi/8)) */
/* a glide this close to its target has arrived (far below what can be heard or measured) */
#define SNAP_OCT 1e-5f
#define SNAP_DB 1e-4f

static const enum md_biquad_kind band_kind[MD_EQT_COUNT] = {
	[MD_EQT_LOWSHELF] = MD_BQ_LOWSHELF,
	[MD_EQT_PEAK] = MD_BQ_PEAK,
	[MD_EQT_HIGHSHELF] = MD_BQ_HIGHSHELF,
};

/* [rt] one step of a glide; true when the value changed */
static bool glide_step(struct md_strip_dsp_glide *g, float c, float eps)
{
	if (g->cur == g->target)
		return false;
	float next = g->cur + c * (g->target - g->cur);
	/* near a large value (log2 of 18 kHz is 14) the step can fall below the float's resolution before the
	 * distance falls below eps: a step that changes nothing also lands, or the glide would never end */
	g->cur = next == g->cur || fabsf(g->target - next) < eps ? g->target : next;
	return true;
}

static inline bool glide_moving(const struct md_strip_dsp_glide *g)
{
	return g->cur != g->target;
}

static inline bool on(const float *p, int id)
{
	return p[id] >= 0.5f;
}

static float log2_hz(float f)
{
	return log2f(f < 1.0f ? 1.0f : f);
}

/* [rt] */
static void pass_coefs(struct md_strip_dsp_pass *f, enum md_biquad_kind kind, float rate)
{
	double hz = exp2((double)f->lf.cur);
	biquad_setup(&f->s[0], kind, rate, hz, f->q0.cur, 0.0);
	biquad_setup(&f->s[1], kind, rate, hz, Q_BUTTER4B, 0.0);
}

/* [rt] */
static void pass_target(struct md_strip_dsp_pass *f, enum md_biquad_kind kind, float rate, bool en, float hz,
			float slope, uint32_t xfade)
{
	bool steep = slope > 18.0f;
	f->lf.target = log2_hz(hz);
	f->q0.target = steep ? Q_BUTTER4A : Q_BUTTER2;
	smooth_set_target(&f->mix[0], en ? 1.0f : 0.0f, xfade);
	smooth_set_target(&f->mix[1], en && steep ? 1.0f : 0.0f, xfade);
	/* a bypassed filter need not glide: it comes back in at its new setting */
	if (f->mix[0].cur == 0.0f && !smooth_active(&f->mix[0])) {
		f->lf.cur = f->lf.target;
		f->q0.cur = f->q0.target;
		pass_coefs(f, kind, rate); /* nothing glides now, so nothing else would recompute them */
	}
	f->moving = glide_moving(&f->lf) || glide_moving(&f->q0);
}

/* [rt] */
static void pass_step(struct md_strip_dsp_pass *f, enum md_biquad_kind kind, float rate, float c)
{
	bool changed = glide_step(&f->lf, c, SNAP_OCT);
	changed |= glide_step(&f->q0, c, SNAP_OCT);
	if (changed)
		pass_coefs(f, kind, rate);
	f->moving = glide_moving(&f->lf) || glide_moving(&f->q0);
}

/* A run of sections that process plainly (no cross-fade), gathered to go through biquad_process_chain. */
struct chain {
	struct md_biquad *s[MD_BQ_CHAIN_MAX];
	int n;
};

/* [rt] */
static void chain_flush(struct chain *q, float *const ch[2], int nch, uint32_t n)
{
	biquad_process_chain(q->s, q->n, ch, nch, n);
	q->n = 0;
}

/* [rt] */
static void pass_run(struct md_strip_dsp_pass *f, struct chain *q, float *const ch[2], int nch, uint32_t n)
{
	for (int s = 0; s < 2; s++) {
		struct md_smooth *m = &f->mix[s];
		if (smooth_active(m)) {
			/* a section fading in or out runs on its own, in order */
			chain_flush(q, ch, nch, n);
			float mv[MD_BLOCK];
			for (uint32_t i = 0; i < n; i++)
				mv[i] = smooth_next(m);
			for (int c = 0; c < nch; c++)
				biquad_process_mix(&f->s[s], c, ch[c], n, mv);
		} else if (m->cur != 0.0f) {
			q->s[q->n++] = &f->s[s];
		} else {
			biquad_reset(&f->s[s]); /* comes back in from rest */
		}
	}
}

/* [rt] */
static void band_coefs(struct md_strip_dsp_band *b, float rate)
{
	biquad_setup(&b->s, band_kind[b->type], rate, exp2((double)b->lf.cur), exp2((double)b->lq.cur), b->gain.cur);
}

/* [rt] at 0 dB every band type is the identity: while it sits there, frequency, Q and type can jump */
static void band_at_rest(struct md_strip_dsp_band *b)
{
	if (b->gain.cur != 0.0f || b->gain.target != 0.0f)
		return;
	b->lf.cur = b->lf.target;
	b->lq.cur = b->lq.target;
	b->type = b->want_type;
	b->gain.target = b->want_gain;
}

static bool band_moving(const struct md_strip_dsp_band *b)
{
	return glide_moving(&b->lf) || glide_moving(&b->gain) || glide_moving(&b->lq) || b->type != b->want_type;
}

/* [rt] */
static void band_target(struct md_strip_dsp_band *b, bool en, int type, float hz, float gain_db, float q)
{
	b->want_type = type < 0 ? 0 : type >= MD_EQT_COUNT ? MD_EQT_COUNT - 1 : type;
	b->want_gain = en ? gain_db : 0.0f;
	b->lf.target = log2_hz(hz);
	b->lq.target = log2f(q < 0.01f ? 0.01f : q);
	/* a change of type goes through 0 dB */
	b->gain.target = b->type == b->want_type ? b->want_gain : 0.0f;
	band_at_rest(b);
	b->moving = band_moving(b);
}

/* [rt] */
static void band_step(struct md_strip_dsp_band *b, float rate, float c)
{
	bool changed = glide_step(&b->lf, c, SNAP_OCT);
	changed |= glide_step(&b->gain, c, SNAP_DB);
	changed |= glide_step(&b->lq, c, SNAP_OCT);
	if (b->type != b->want_type && b->gain.cur == 0.0f) {
		b->type = b->want_type;
		b->gain.target = b->want_gain;
		changed = true;
	}
	band_at_rest(b);
	if (changed)
		band_coefs(b, rate);
	b->moving = band_moving(b);
}

/* [rt] */
static void band_run(struct md_strip_dsp_band *b, struct chain *q)
{
	if (b->gain.cur == 0.0f)
		biquad_reset(&b->s); /* at 0 dB the band is the identity; it restarts from rest */
	else
		q->s[q->n++] = &b->s;
}

/* [rt] read every filter, EQ and dynamics parameter into targets */
static void set_targets(struct md_strip_dsp *d, const float *p, bool instant)
{
	uint32_t xf = instant ? 0 : d->xfade;
	pass_target(&d->hpf, MD_BQ_HIGHPASS, d->rate, on(p, MD_SP_HPF_ON), p[MD_SP_HPF_FREQ], p[MD_SP_HPF_SLOPE], xf);
	pass_target(&d->lpf, MD_BQ_LOWPASS, d->rate, on(p, MD_SP_LPF_ON), p[MD_SP_LPF_FREQ], p[MD_SP_LPF_SLOPE], xf);
	bool moving = d->hpf.moving || d->lpf.moving;
	for (int k = 0; k < MD_EQ_BANDS; k++) {
		struct md_strip_dsp_band *b = &d->band[k];
		band_target(b, on(p, MD_SP_EQ_ON) && on(p, MD_SP_EQ(k, MD_EQ_ON)),
			    (int)lrintf(p[MD_SP_EQ(k, MD_EQ_TYPE)]), p[MD_SP_EQ(k, MD_EQ_FREQ)],
			    p[MD_SP_EQ(k, MD_EQ_GAIN)], p[MD_SP_EQ(k, MD_EQ_Q)]);
		moving |= b->moving;
	}
	d->moving = moving;
	dyn_gate_setup(&d->gate, d->rate, on(p, MD_SP_GATE_ON), p[MD_SP_GATE_THRESHOLD], p[MD_SP_GATE_RANGE],
		       p[MD_SP_GATE_ATTACK], p[MD_SP_GATE_HOLD], p[MD_SP_GATE_RELEASE]);
	dyn_comp_setup(&d->comp, d->rate, on(p, MD_SP_COMP_ON), p[MD_SP_COMP_THRESHOLD], p[MD_SP_COMP_RATIO],
		       p[MD_SP_COMP_ATTACK], p[MD_SP_COMP_RELEASE], p[MD_SP_COMP_KNEE], p[MD_SP_COMP_MAKEUP], instant);
	struct md_drive_params dp = {.on = on(p, MD_SP_DRIVE_ON),
				     .amount = p[MD_SP_DRIVE_AMOUNT],
				     .character = (int)lrintf(p[MD_SP_DRIVE_CHARACTER]),
				     .mix = p[MD_SP_DRIVE_MIX]};
	if (instant)
		drive_init(&d->drive, d->rate, &dp);
	else
		drive_set(&d->drive, &dp);
}

void strip_dsp_init(struct md_strip_dsp *d, float rate, const float *p)
{
	memset(d, 0, sizeof *d);
	d->rate = rate;
	d->glide = 1.0f - expf(-(float)MD_SDSP_SUB * 1000.0f / (MD_SDSP_TAU_MS * rate));
	d->xfade = (uint32_t)(MD_SDSP_XFADE_MS * rate / 1000.0f);
	d->sub_left = MD_SDSP_SUB;
	smooth_init(&d->comp.makeup, 0.0f);
	set_targets(d, p, true);
	/* everything lands at once */
	struct md_strip_dsp_pass *pf[2] = {&d->hpf, &d->lpf};
	for (int i = 0; i < 2; i++) {
		pf[i]->lf.cur = pf[i]->lf.target;
		pf[i]->q0.cur = pf[i]->q0.target;
		pf[i]->moving = false;
	}
	pass_coefs(&d->hpf, MD_BQ_HIGHPASS, rate);
	pass_coefs(&d->lpf, MD_BQ_LOWPASS, rate);
	for (int k = 0; k < MD_EQ_BANDS; k++) {
		struct md_strip_dsp_band *b = &d->band[k];
		b->type = b->want_type;
		b->gain.cur = b->gain.target = b->want_gain;
		b->lf.cur = b->lf.target;
		b->lq.cur = b->lq.target;
		b->moving = false;
		band_coefs(b, rate);
	}
	d->moving = false;
}

void strip_dsp_update(struct md_strip_dsp *d, const float *p)
{
	set_targets(d, p, false);
}

/* [rt] one parameter step of everything that glides */
static void step(struct md_strip_dsp *d)
{
	bool moving = false;
	if (d->hpf.moving)
		pass_step(&d->hpf, MD_BQ_HIGHPASS, d->rate, d->glide);
	if (d->lpf.moving)
		pass_step(&d->lpf, MD_BQ_LOWPASS, d->rate, d->glide);
	moving = d->hpf.moving || d->lpf.moving;
	for (int k = 0; k < MD_EQ_BANDS; k++) {
		if (d->band[k].moving)
			band_step(&d->band[k], d->rate, d->glide);
		moving |= d->band[k].moving;
	}
	d->moving = moving;
}

int strip_dsp_chain(struct md_strip_dsp *d, struct md_biquad *s[MD_BQ_CHAIN_MAX])
{
	if (d->moving)
		return -1;
	const struct md_strip_dsp_pass *pf[2] = {&d->hpf, &d->lpf};
	for (int f = 0; f < 2; f++)
		for (int k = 0; k < 2; k++)
			if (smooth_active(&pf[f]->mix[k]))
				return -1;
	/* what strip_dsp_filters gathers for biquad_process_chain when nothing moves */
	struct chain q = {.n = 0};
	pass_run(&d->hpf, &q, NULL, 0, 0);
	pass_run(&d->lpf, &q, NULL, 0, 0);
	for (int b = 0; b < MD_EQ_BANDS; b++)
		band_run(&d->band[b], &q);
	memcpy(s, q.s, (size_t)q.n * sizeof *s);
	return q.n;
}

void strip_dsp_filters(struct md_strip_dsp *d, float *const ch[2], int nch, uint32_t n)
{
	nch = nch == 2 ? 2 : 1;
	for (uint32_t off = 0; off < n;) {
		/* while parameters glide, work in pieces that end at each parameter step */
		uint32_t k = n - off;
		if (d->moving && k > d->sub_left)
			k = d->sub_left;
		float *const c2[2] = {ch[0] + off, nch == 2 ? ch[1] + off : NULL};
		struct chain q = {.n = 0};
		pass_run(&d->hpf, &q, c2, nch, k);
		pass_run(&d->lpf, &q, c2, nch, k);
		for (int b = 0; b < MD_EQ_BANDS; b++)
			band_run(&d->band[b], &q);
		chain_flush(&q, c2, nch, k);
		off += k;
		if (d->moving) {
			d->sub_left -= k;
			if (d->sub_left == 0) {
				d->sub_left = MD_SDSP_SUB;
				step(d);
			}
		}
	}
}

void strip_dsp_dynamics(struct md_strip_dsp *d, float *const ch[2], int nch, uint32_t n)
{
	nch = nch == 2 ? 2 : 1;
	dyn_gate_process(&d->gate, ch, nch, n);
	dyn_comp_process(&d->comp, ch, nch, n);
	for (int s = 0; s < 2; s++) {
		biquad_flush(&d->hpf.s[s]);
		biquad_flush(&d->lpf.s[s]);
	}
	for (int b = 0; b < MD_EQ_BANDS; b++)
		biquad_flush(&d->band[b].s);
	d->gr_db = (float)(d->gate.g_db + d->comp.g_db);
}

void strip_dsp_drive(struct md_strip_dsp *d, float *const ch[2], int nch, uint32_t n)
{
	if (drive_active(&d->drive))
		drive_process(&d->drive, ch, nch, n);
}

void strip_dsp_process(struct md_strip_dsp *d, float *const ch[2], int nch, uint32_t n)
{
	strip_dsp_drive(d, ch, nch, n);
	strip_dsp_filters(d, ch, nch, n);
	strip_dsp_dynamics(d, ch, nch, n);
}

float strip_dsp_gr_db(const struct md_strip_dsp *d)
{
	return d->gr_db;
}

void strip_dsp_reset(struct md_strip_dsp *d)
{
	for (int s = 0; s < 2; s++) {
		biquad_reset(&d->hpf.s[s]);
		biquad_reset(&d->lpf.s[s]);
	}
	for (int b = 0; b < MD_EQ_BANDS; b++)
		biquad_reset(&d->band[b].s);
	dyn_gate_reset(&d->gate);
	dyn_comp_reset(&d->comp);
	drive_reset(&d->drive);
	d->gr_db = 0.0f;
}
