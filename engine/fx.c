/* mixdesk: a bus's built-in effect slot (see fx.h): the bus parameters mapped onto the reverb's and the
 * delay's, the delay's tempo sync, and the shared input and output of one sub-block. */
#include "engine/fx.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void reverb_params(const float *p, struct md_reverb_params *r)
{
	r->decay = p[MD_BP_FX_DECAY];
	r->predelay = p[MD_BP_FX_PREDELAY];
	r->low_decay = p[MD_BP_FX_LOW_DECAY];
	r->crossover = p[MD_BP_FX_CROSSOVER];
	r->damping = p[MD_BP_FX_DAMPING];
	r->low_cut = fminf(p[MD_BP_FX_LOW_CUT], 1000.0f);
	r->width = p[MD_BP_FX_WIDTH];
	r->size = p[MD_BP_FX_SIZE];
}

/* With sync on, both sides take the note value at the tempo (a ping-pong comes from `cross`), within the
 * delay's 1..2000 ms */
static void delay_params(const float *p, float bpm, struct md_delay_params *d)
{
	float beats = md_param_sync_beats((int)p[MD_BP_FX_SYNC]);
	for (int c = 0; c < 2; c++) {
		float t = p[c ? MD_BP_FX_TIME_R : MD_BP_FX_TIME_L];
		if (beats > 0 && bpm > 0)
			t = beats * 60000.0f / bpm;
		d->time_ms[c] = fminf(fmaxf(t, 1.0f), MD_DELAY_MAX_MS);
	}
	d->feedback = p[MD_BP_FX_FEEDBACK] * 0.01f;
	d->cross = p[MD_BP_FX_CROSS] * 0.01f;
	d->low_cut = p[MD_BP_FX_LOW_CUT];
	d->high_cut = p[MD_BP_FX_HIGH_CUT];
}

struct md_fx *fx_new(int type, uint32_t rate, const float *p, float bpm)
{
	if (type != MD_FX_REVERB && type != MD_FX_DELAY)
		return NULL;
	struct md_fx *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->type = type;
	f->rate = rate;
	f->refs = 1;
	f->bpm = bpm;
	memcpy(f->p, p, sizeof f->p);
	int err;
	if (type == MD_FX_REVERB) {
		struct md_reverb_params r;
		reverb_params(p, &r);
		err = reverb_init(&f->rev, (float)rate, &r);
	} else {
		struct md_delay_params d;
		delay_params(p, bpm, &d);
		err = delay_init(&f->dly, (float)rate, &d);
	}
	if (err) {
		free(f);
		return NULL;
	}
	return f;
}

void fx_ref(struct md_fx *f)
{
	if (f)
		f->refs++;
}

void fx_unref(struct md_fx *f)
{
	if (!f || --f->refs > 0)
		return;
	if (f->type == MD_FX_REVERB)
		reverb_free(&f->rev);
	else
		delay_free(&f->dly);
	free(f);
}

void fx_set(struct md_fx *f, const float *p, float bpm)
{
	memcpy(f->p, p, sizeof f->p);
	f->bpm = bpm;
	if (f->type == MD_FX_REVERB) {
		struct md_reverb_params r;
		reverb_params(p, &r);
		reverb_set(&f->rev, &r);
	} else {
		struct md_delay_params d;
		delay_params(p, bpm, &d);
		delay_set(&f->dly, &d);
	}
}

void fx_gather(struct md_fx *f, uint64_t stamp, float (*x)[MD_BLOCK], uint32_t n, float w0, float dw)
{
	if (f->in_stamp != stamp) {
		f->in_stamp = stamp;
		memset(f->in, 0, sizeof f->in);
	}
	md_add_weighted(f->in, x, 2, n, w0, dw);
}

float (*fx_run(struct md_fx *f, uint64_t stamp, uint32_t n))[MD_BLOCK]
{
	if (f->out_stamp == stamp)
		return f->out;
	f->out_stamp = stamp;
	if (f->in_stamp != stamp) { /* no graph fed it this sub-block */
		f->in_stamp = stamp;
		memset(f->in, 0, sizeof f->in);
	}
	if (f->type == MD_FX_REVERB)
		reverb_process(&f->rev, f->in[0], f->in[1], f->out[0], f->out[1], n);
	else
		delay_process(&f->dly, f->in[0], f->in[1], f->out[0], f->out[1], n);
	if (!md_all_finite(f->out[0], n) || !md_all_finite(f->out[1], n)) {
		memset(f->out, 0, sizeof f->out);
		if (f->type == MD_FX_REVERB)
			reverb_reset(&f->rev);
		else
			delay_reset(&f->dly);
	}
	return f->out;
}
