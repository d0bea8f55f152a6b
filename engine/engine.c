/* mixdesk: the audio engine: graph construction [control], swap and processing [rt]. */
#include "engine/lanes.h"
#include "engine/pan.h"
#include "engine/engine.h"

#include "engine/dsp/smooth.h"
#include "engine/spsc.h"
#include "engine/dsp/strip_dsp.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#define RMS_SECONDS 0.3f

struct md_meter {
	_Atomic float peak[2]; /* max |x| since the control side last read it */
	_Atomic float rms[2];
	float ms[2]; /* running mean square [rt] */
};

struct gstrip {
	uint32_t uid;
	int nch;
	int16_t in_slot[2];
	int inherit; /* index in the previous graph, or -1 */
	bool dirty, dsp_dirty;
	bool ramping; /* a gain ramps in this sub-block (set by strip_in for strip_out) */
	float p[MD_SP_COUNT];
	struct md_smooth pre, mgate, fader, pan[2];
	struct md_smooth send[MD_MAX_BUSES];
	struct md_strip_dsp dsp;
	struct md_meter meter;
	_Atomic float gr;
	int16_t stem_slot[2];
	float buf[2][MD_BLOCK];
	float post[2][MD_BLOCK]; /* post-fader, post-pan: what reaches the master and post-fader sends */
};

struct gbus {
	uint32_t uid;
	int16_t out_slot[2], ret_slot[2], stem_slot[2];
	int inherit;
	bool dirty;
	float p[MD_BP_COUNT];
	struct md_smooth gain[2];
	struct md_meter meter;
	float acc[2][MD_BLOCK]; /* sum of the sends: the pre-fader bus mix, also sent to its output ports */
};

struct gmaster {
	int16_t out_slot[2];
	bool dirty;
	float p[MD_MP_COUNT];
	struct md_smooth gain[2], mono;
	struct md_meter meter;
	float lr, ll, rr;
	_Atomic float corr;
	float acc[2][MD_BLOCK];
	float gain_used[2][MD_BLOCK], mono_used[MD_BLOCK]; /* this block's master section, for stems */
};

/* one automation lane, compiled for the audio thread */
struct glane {
	uint8_t scope, mode;
	uint16_t index, param;
	bool step;     /* switches, enums and choices jump; levels and the rest are interpolated */
	bool override; /* a controller holds the parameter (touch/latch): the lane does not drive it */
	int n;
	const double *t; /* seconds, ascending */
	const float *v;
	int cursor; /* t[cursor] <= now < t[cursor + 1] */
};

struct md_graph {
	uint32_t rate;
	uint32_t ramp;   /* samples of a gain ramp */
	float rms_coef;  /* one-pole coefficient of the RMS meters, per sample */
	float rms_block_coef; /* the same over MD_BLOCK samples */
	bool metering;   /* meters and correlation are computed (off in the offline render) */
	int nstrips, nbuses;
	bool solo_dirty, any_solo;
	struct gstrip *strips;
	struct gbus *buses;
	struct gmaster master;
	const struct md_graph *prev; /* the graph this one inherits from, compared by pointer only */
	int16_t in_slots[MD_MAX_SLOTS], out_slots[MD_MAX_SLOTS];
	int nin, nout;
	bool stems; /* some strip or bus has a stem output */
	int nlanes;
	bool auto_started; /* the lanes were evaluated at least once on this graph */
	struct glane *lanes;
	double *lane_t; /* the points of every lane, one allocation each */
	float *lane_v;
	/* the strips' filter chains of one sub-block, run side by side (biquad_process_lanes) */
	struct md_bq_lane *flanes;
	int16_t *forder;
};

enum { MSG_PARAM, MSG_GRAPH, MSG_OVERRIDE };

struct md_msg {
	uint8_t kind, scope;
	uint16_t index;
	uint16_t param;
	float value;
	struct md_graph *graph;
};

struct md_engine {
	struct md_spsc *q;    /* control -> audio: struct md_msg */
	struct md_spsc *retq; /* audio -> control: struct md_graph * */
	/* audio thread's */
	struct md_graph *cur, *old, *retire_pending;
	struct md_graph *next; /* popped while a crossfade ran: installed when it is over (the queue waits) */
	uint32_t jump_left;    /* samples of the ramp that smooths a timeline jump */
	uint32_t fade_pos, fade_len;
	int16_t io_in[MD_MAX_SLOTS * 2], io_out[MD_MAX_SLOTS * 2];
	int nio_in, nio_out;
	_Atomic uint64_t frames;
	atomic_bool metering;
	bool rolling;
	uint64_t time_frame, expect_frame;
	/* control side's */
	struct md_graph *submitted;
	int in_flight; /* graphs submitted and not yet retired, including the current one */
};

/* ---- control side ---- */

struct md_engine *engine_new(void)
{
	struct md_engine *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->q = spsc_new(sizeof(struct md_msg), 1 << 14);
	e->retq = spsc_new(sizeof(struct md_graph *), 64);
	if (!e->q || !e->retq) {
		engine_free(e);
		return NULL;
	}
	atomic_init(&e->frames, 0);
	atomic_init(&e->metering, true);
	return e;
}

void engine_graph_free(struct md_graph *g)
{
	if (!g)
		return;
	free(g->strips);
	free(g->buses);
	free(g->lanes);
	free(g->flanes);
	free(g->forder);
	free(g->lane_t);
	free(g->lane_v);
	free(g);
}

void engine_free(struct md_engine *e)
{
	if (!e)
		return;
	struct md_msg m;
	while (e->q && spsc_pop(e->q, &m))
		if (m.kind == MSG_GRAPH)
			engine_graph_free(m.graph);
	struct md_graph *g;
	while (e->retq && spsc_pop(e->retq, &g))
		engine_graph_free(g);
	engine_graph_free(e->cur);
	engine_graph_free(e->next);
	if (e->old != e->cur)
		engine_graph_free(e->old);
	if (e->retire_pending != e->cur && e->retire_pending != e->old)
		engine_graph_free(e->retire_pending);
	spsc_free(e->q);
	spsc_free(e->retq);
	free(e);
}

static void add_slot(int16_t *list, int *n, int16_t slot)
{
	if (slot >= 0 && *n < MD_MAX_SLOTS)
		list[(*n)++] = slot;
}

static void meter_init(struct md_meter *m)
{
	for (int c = 0; c < 2; c++) {
		atomic_init(&m->peak[c], 0.0f);
		atomic_init(&m->rms[c], 0.0f);
		m->ms[c] = 0.0f;
	}
}

/* [control] copy every lane that can play (not off, with points) into the graph */
static enum md_err build_lanes(struct md_graph *g, const struct md_console *c)
{
	int nl = 0, np = 0;
	for (int pass = 0; pass < 2; pass++) {
		nl = np = 0;
		for (int scope = MD_SCOPE_STRIP; scope <= MD_SCOPE_MASTER; scope++)
			for (int i = 0; i < console_count(c, (enum md_scope)scope); i++) {
				struct md_lane *lanes;
				int n;
				console_lanes((struct md_console *)c, (enum md_scope)scope, i, &lanes, &n);
				for (int k = 0; k < n; k++) {
					const struct md_lane *l = &lanes[k];
					const struct md_param_desc *d = md_param_desc((enum md_scope)scope, l->param);
					if (l->mode == MD_AUTO_OFF || l->npoints == 0 || !d)
						continue;
					if (pass == 1) {
						struct glane *gl = &g->lanes[nl];
						gl->scope = (uint8_t)scope;
						gl->index = (uint16_t)i;
						gl->param = (uint16_t)l->param;
						gl->mode = (uint8_t)l->mode;
						gl->step = d->kind != MD_KIND_FLOAT;
						gl->n = l->npoints;
						memcpy(&g->lane_t[np], l->t, (size_t)l->npoints * sizeof *l->t);
						memcpy(&g->lane_v[np], l->v, (size_t)l->npoints * sizeof *l->v);
						gl->t = &g->lane_t[np];
						gl->v = &g->lane_v[np];
					}
					nl++;
					np += l->npoints;
				}
			}
		if (pass == 0) {
			if (nl == 0)
				return MD_OK;
			g->lanes = calloc((size_t)nl, sizeof *g->lanes);
			g->lane_t = calloc((size_t)np, sizeof *g->lane_t);
			g->lane_v = calloc((size_t)np, sizeof *g->lane_v);
			if (!g->lanes || !g->lane_t || !g->lane_v)
				return MD_ERR_NOMEM;
		}
	}
	g->nlanes = nl;
	return MD_OK;
}

struct md_graph *engine_build(struct md_engine *e, const struct md_console *c, uint32_t rate)
{
	struct md_graph *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	g->rate = rate;
	g->ramp = (uint32_t)(MD_RAMP_SECONDS * (float)rate);
	g->rms_coef = 1.0f - expf(-1.0f / (RMS_SECONDS * (float)rate));
	g->rms_block_coef = 1.0f - powf(1.0f - g->rms_coef, (float)MD_BLOCK);
	g->metering = atomic_load(&e->metering);
	g->nstrips = c->nstrips;
	g->nbuses = c->nbuses;
	g->strips = calloc((size_t)(c->nstrips ? c->nstrips : 1), sizeof *g->strips);
	g->buses = calloc((size_t)(c->nbuses ? c->nbuses : 1), sizeof *g->buses);
	g->flanes = calloc((size_t)(2 * c->nstrips + 1), sizeof *g->flanes);
	g->forder = calloc((size_t)(2 * c->nstrips + 1), sizeof *g->forder);
	if (!g->strips || !g->buses || !g->flanes || !g->forder) {
		engine_graph_free(g);
		return NULL;
	}
	const struct md_graph *prev = e->submitted;
	g->prev = prev;
	for (int i = 0; i < c->nstrips; i++) {
		const struct md_strip_model *m = c->strips[i];
		struct gstrip *s = &g->strips[i];
		s->uid = m->uid;
		s->nch = m->stereo ? 2 : 1;
		s->in_slot[0] = m->in_slot[0];
		s->in_slot[1] = m->stereo ? m->in_slot[1] : -1;
		memcpy(s->stem_slot, m->stem_slot, sizeof s->stem_slot);
		for (int ch = 0; ch < 2; ch++) {
			add_slot(g->out_slots, &g->nout, s->stem_slot[ch]);
			g->stems |= s->stem_slot[ch] >= 0;
		}
		memcpy(s->p, m->p, sizeof s->p);
		s->inherit = -1;
		for (int k = 0; prev && k < prev->nstrips; k++)
			if (prev->strips[k].uid == m->uid && prev->strips[k].nch == s->nch && prev->rate == rate)
				s->inherit = k;
		strip_dsp_init(&s->dsp, (float)rate, s->p);
		meter_init(&s->meter);
		atomic_init(&s->gr, 0.0f);
		/* a new strip fades in from silence; the others start at their targets */
		smooth_init(&s->mgate, 0.0f);
		s->dirty = s->dsp_dirty = true;
		add_slot(g->in_slots, &g->nin, s->in_slot[0]);
		add_slot(g->in_slots, &g->nin, s->in_slot[1]);
	}
	for (int i = 0; i < c->nbuses; i++) {
		const struct md_bus_model *m = c->buses[i];
		struct gbus *b = &g->buses[i];
		b->uid = m->uid;
		memcpy(b->out_slot, m->out_slot, sizeof b->out_slot);
		memcpy(b->ret_slot, m->ret_slot, sizeof b->ret_slot);
		memcpy(b->stem_slot, m->stem_slot, sizeof b->stem_slot);
		for (int ch = 0; ch < 2; ch++) {
			add_slot(g->out_slots, &g->nout, b->stem_slot[ch]);
			g->stems |= b->stem_slot[ch] >= 0;
		}
		memcpy(b->p, m->p, sizeof b->p);
		b->inherit = -1;
		for (int k = 0; prev && k < prev->nbuses; k++)
			if (prev->buses[k].uid == m->uid)
				b->inherit = k;
		meter_init(&b->meter);
		b->dirty = true;
		for (int ch = 0; ch < 2; ch++) {
			add_slot(g->in_slots, &g->nin, b->ret_slot[ch]);
			add_slot(g->out_slots, &g->nout, b->out_slot[ch]);
		}
	}
	if (build_lanes(g, c) != MD_OK) {
		engine_graph_free(g);
		return NULL;
	}
	memcpy(g->master.p, c->master.p, sizeof g->master.p);
	memcpy(g->master.out_slot, c->master.out_slot, sizeof g->master.out_slot);
	meter_init(&g->master.meter);
	atomic_init(&g->master.corr, 0.0f);
	g->master.dirty = true;
	g->solo_dirty = true;
	add_slot(g->out_slots, &g->nout, g->master.out_slot[0]);
	add_slot(g->out_slots, &g->nout, g->master.out_slot[1]);
	return g;
}

enum md_err engine_submit(struct md_engine *e, struct md_graph *g)
{
	struct md_msg m = {.kind = MSG_GRAPH, .graph = g};
	if (!spsc_push(e->q, &m))
		return MD_ERR_FULL;
	e->submitted = g;
	e->in_flight++;
	return MD_OK;
}

bool engine_send_param(struct md_engine *e, enum md_scope scope, int index, int param, float value)
{
	struct md_msg m = {.kind = MSG_PARAM, .scope = (uint8_t)scope, .index = (uint16_t)index,
			   .param = (uint16_t)param, .value = value};
	return spsc_push(e->q, &m);
}

void engine_graph_hold(struct md_graph *g, enum md_scope scope, int index, int param)
{
	for (int i = 0; i < g->nlanes; i++) {
		struct glane *l = &g->lanes[i];
		if (l->scope == scope && l->index == index && l->param == param)
			l->override = true;
	}
}

bool engine_send_override(struct md_engine *e, enum md_scope scope, int index, int param, bool held)
{
	struct md_msg m = {.kind = MSG_OVERRIDE, .scope = (uint8_t)scope, .index = (uint16_t)index,
			   .param = (uint16_t)param, .value = held ? 1.0f : 0.0f};
	return spsc_push(e->q, &m);
}

int engine_collect(struct md_engine *e)
{
	struct md_graph *g;
	int n = 0;
	while (spsc_pop(e->retq, &g)) {
		engine_graph_free(g);
		e->in_flight--;
		n++;
	}
	return n;
}

bool engine_swap_pending(const struct md_engine *e)
{
	return e->in_flight > 1;
}

static float read_level(struct md_meter *m, struct md_level *out)
{
	float peak = 0.0f;
	for (int c = 0; c < 2; c++) {
		float p = atomic_exchange_explicit(&m->peak[c], 0.0f, memory_order_relaxed);
		out->peak_db[c] = md_gain_to_db(p);
		out->rms_db[c] = md_gain_to_db(atomic_load_explicit(&m->rms[c], memory_order_relaxed));
		peak = fmaxf(peak, p);
	}
	return peak;
}

enum md_err engine_strip_meter(struct md_engine *e, int index, struct md_level *out)
{
	struct md_graph *g = e->submitted;
	if (!g || index < 0 || index >= g->nstrips)
		return MD_ERR_NOTFOUND;
	read_level(&g->strips[index].meter, out);
	if (g->strips[index].nch == 1) {
		out->peak_db[1] = out->peak_db[0];
		out->rms_db[1] = out->rms_db[0];
	}
	return MD_OK;
}

enum md_err engine_bus_meter(struct md_engine *e, int index, struct md_level *out)
{
	struct md_graph *g = e->submitted;
	if (!g || index < 0 || index >= g->nbuses)
		return MD_ERR_NOTFOUND;
	read_level(&g->buses[index].meter, out);
	return MD_OK;
}

void engine_master_meter(struct md_engine *e, struct md_level *out, float *correlation)
{
	struct md_graph *g = e->submitted;
	if (!g) {
		*out = (struct md_level){{MD_SILENCE_DB, MD_SILENCE_DB}, {MD_SILENCE_DB, MD_SILENCE_DB}};
		if (correlation)
			*correlation = 0.0f;
		return;
	}
	read_level(&g->master.meter, out);
	if (correlation)
		*correlation = atomic_load_explicit(&g->master.corr, memory_order_relaxed);
}

float engine_strip_gr(struct md_engine *e, int index)
{
	struct md_graph *g = e->submitted;
	if (!g || index < 0 || index >= g->nstrips)
		return 0.0f;
	return atomic_load_explicit(&g->strips[index].gr, memory_order_relaxed);
}

void engine_set_metering(struct md_engine *e, bool on)
{
	atomic_store(&e->metering, on);
}

uint64_t engine_frames(const struct md_engine *e)
{
	return atomic_load_explicit(&e->frames, memory_order_relaxed);
}

/* ---- audio thread ---- */

static void meter_copy(struct md_meter *dst, struct md_meter *src)
{
	for (int c = 0; c < 2; c++) {
		dst->ms[c] = src->ms[c];
		atomic_store_explicit(&dst->rms[c], atomic_load_explicit(&src->rms[c], memory_order_relaxed),
				      memory_order_relaxed);
	}
}

/* [rt] take over the running state of strips and buses that exist in both graphs */
static void inherit(struct md_graph *g, struct md_graph *prev)
{
	for (int i = 0; i < g->nstrips; i++) {
		struct gstrip *s = &g->strips[i];
		if (s->inherit < 0)
			continue;
		struct gstrip *o = &prev->strips[s->inherit];
		s->pre = o->pre;
		s->mgate = o->mgate;
		s->fader = o->fader;
		s->pan[0] = o->pan[0];
		s->pan[1] = o->pan[1];
		/* a send follows its bus (buses after a removed one move down an index) */
		for (int b = 0; b < MD_MAX_BUSES; b++) {
			int ob = b < g->nbuses ? g->buses[b].inherit : -1;
			if (ob >= 0)
				s->send[b] = o->send[ob];
			else
				smooth_init(&s->send[b], 0.0f);
		}
		s->dsp = o->dsp;
		meter_copy(&s->meter, &o->meter);
	}
	for (int i = 0; i < g->nbuses; i++) {
		struct gbus *b = &g->buses[i];
		if (b->inherit < 0)
			continue;
		struct gbus *o = &prev->buses[b->inherit];
		b->gain[0] = o->gain[0];
		b->gain[1] = o->gain[1];
		meter_copy(&b->meter, &o->meter);
	}
	g->master.gain[0] = prev->master.gain[0];
	g->master.gain[1] = prev->master.gain[1];
	g->master.mono = prev->master.mono;
	g->master.lr = prev->master.lr;
	g->master.ll = prev->master.ll;
	g->master.rr = prev->master.rr;
	meter_copy(&g->master.meter, &prev->master.meter);
}

static void retire(struct md_engine *e, struct md_graph *g)
{
	if (!g)
		return;
	if (!spsc_push(e->retq, &g))
		e->retire_pending = g; /* the control side is behind: try again next period */
}

static void update_io(struct md_engine *e)
{
	uint8_t seen[MD_MAX_SLOTS / 8];
	e->nio_in = e->nio_out = 0;
	struct md_graph *gs[2] = {e->cur, e->old};
	memset(seen, 0, sizeof seen);
	for (int k = 0; k < 2; k++)
		for (int i = 0; gs[k] && i < gs[k]->nin; i++) {
			int16_t s = gs[k]->in_slots[i];
			if (!(seen[s >> 3] & (1 << (s & 7)))) {
				seen[s >> 3] |= (uint8_t)(1 << (s & 7));
				e->io_in[e->nio_in++] = s;
			}
		}
	memset(seen, 0, sizeof seen);
	for (int k = 0; k < 2; k++)
		for (int i = 0; gs[k] && i < gs[k]->nout; i++) {
			int16_t s = gs[k]->out_slots[i];
			if (!(seen[s >> 3] & (1 << (s & 7)))) {
				seen[s >> 3] |= (uint8_t)(1 << (s & 7));
				e->io_out[e->nio_out++] = s;
			}
		}
}

static void install(struct md_engine *e, struct md_graph *g)
{
	if (e->old) { /* a crossfade is still running: cut it short */
		retire(e, e->old);
		e->old = NULL;
	}
	if (e->cur && g->prev == e->cur && g->rate == e->cur->rate)
		inherit(g, e->cur);
	if (e->cur) {
		e->old = e->cur;
		e->fade_pos = 0;
		e->fade_len = (uint32_t)(MD_XFADE_SECONDS * (float)g->rate);
		if (e->fade_len == 0)
			e->fade_len = 1;
	}
	e->cur = g;
	update_io(e);
}

static void apply(struct md_graph *g, const struct md_msg *m)
{
	switch (m->scope) {
	case MD_SCOPE_STRIP:
		if (m->index < g->nstrips && m->param < MD_SP_COUNT) {
			struct gstrip *s = &g->strips[m->index];
			s->p[m->param] = m->value;
			s->dirty = true;
			if (m->param >= MD_SP_HPF_ON && m->param < MD_SP_SEND_BASE)
				s->dsp_dirty = true;
			if (m->param == MD_SP_SOLO)
				g->solo_dirty = true;
		}
		break;
	case MD_SCOPE_BUS:
		if (m->index < g->nbuses && m->param < MD_BP_COUNT) {
			g->buses[m->index].p[m->param] = m->value;
			g->buses[m->index].dirty = true;
		}
		break;
	case MD_SCOPE_MASTER:
		if (m->param < MD_MP_COUNT) {
			g->master.p[m->param] = m->value;
			g->master.dirty = true;
			if (m->param == MD_MP_PAN_LAW)
				for (int i = 0; i < g->nstrips; i++)
					g->strips[i].dirty = true;
		}
		break;
	}
}

/* [rt] a controller took (value 1) or released (0) a parameter: its lanes stop or resume driving it */
static void override(struct md_graph *g, const struct md_msg *m)
{
	for (int i = 0; i < g->nlanes; i++) {
		struct glane *l = &g->lanes[i];
		if (l->scope == m->scope && l->index == m->index && l->param == m->param)
			l->override = m->value >= 0.5f;
	}
}

/* [rt] turn changed parameter values into ramp targets over `ramp` samples */
static void retarget(struct md_graph *g, uint32_t ramp)
{
	if (g->solo_dirty) {
		g->any_solo = false;
		for (int i = 0; i < g->nstrips; i++) {
			g->any_solo |= g->strips[i].p[MD_SP_SOLO] >= 0.5f;
			g->strips[i].dirty = true;
		}
	}
	for (int i = 0; i < g->nstrips; i++) {
		struct gstrip *s = &g->strips[i];
		if (!s->dirty)
			continue;
		const float *p = s->p;
		float pre = md_db_to_gain(p[MD_SP_TRIM]) * (p[MD_SP_POLARITY] >= 0.5f ? -1.0f : 1.0f);
		smooth_set_target(&s->pre, pre, ramp);
		/* solo-in-place: while any strip is soloed, the others are silenced */
		bool off = p[MD_SP_MUTE] >= 0.5f || (g->any_solo && p[MD_SP_SOLO] < 0.5f);
		smooth_set_target(&s->mgate, off ? 0.0f : 1.0f, ramp);
		smooth_set_target(&s->fader, md_db_to_gain(p[MD_SP_FADER]), ramp);
		float l, r;
		if (s->nch == 1)
			pan_gains(g->master.p[MD_MP_PAN_LAW], p[MD_SP_PAN], &l, &r);
		else
			pan_balance_gains(p[MD_SP_PAN], &l, &r);
		smooth_set_target(&s->pan[0], l, ramp);
		smooth_set_target(&s->pan[1], r, ramp);
		for (int b = 0; b < MD_MAX_BUSES; b++)
			smooth_set_target(&s->send[b], b < g->nbuses ? md_db_to_gain(p[MD_SP_SEND(b, MD_SEND_LEVEL)]) : 0.0f,
					  ramp);
		if (s->dsp_dirty)
			strip_dsp_update(&s->dsp, p);
		s->dirty = s->dsp_dirty = false;
	}
	g->solo_dirty = false;
	for (int i = 0; i < g->nbuses; i++) {
		struct gbus *b = &g->buses[i];
		if (!b->dirty)
			continue;
		float on = b->p[MD_BP_MUTE] >= 0.5f ? 0.0f : md_db_to_gain(b->p[MD_BP_FADER]);
		float l, r;
		pan_balance_gains(b->p[MD_BP_BALANCE], &l, &r);
		smooth_set_target(&b->gain[0], on * l, ramp);
		smooth_set_target(&b->gain[1], on * r, ramp);
		b->dirty = false;
	}
	struct gmaster *m = &g->master;
	if (m->dirty) {
		float on = m->p[MD_MP_MUTE] >= 0.5f ? 0.0f : md_db_to_gain(m->p[MD_MP_FADER]);
		float l, r;
		pan_balance_gains(m->p[MD_MP_BALANCE], &l, &r);
		smooth_set_target(&m->gain[0], on * l, ramp);
		smooth_set_target(&m->gain[1], on * r, ramp);
		smooth_set_target(&m->mono, m->p[MD_MP_MONO] >= 0.5f ? 1.0f : 0.0f, ramp);
		m->dirty = false;
	}
}

void engine_begin(struct md_engine *e)
{
	if (e->retire_pending) {
		struct md_graph *g = e->retire_pending;
		e->retire_pending = NULL;
		retire(e, g);
	}
	/* At most one graph is installed per period, and never during a crossfade or while a retired graph
	 * waits for room in the return queue: a new graph waits in `next`, and so does everything queued
	 * after it (those records are numbered for it). This bounds the work of a period and keeps every
	 * crossfade whole. */
	if (e->next && !e->old && !e->retire_pending) {
		install(e, e->next);
		e->next = NULL;
	}
	struct md_msg m;
	bool installed = false;
	/* bounded: at most one queue's worth per period */
	for (size_t n = spsc_capacity(e->q); n && !e->next && spsc_pop(e->q, &m); n--) {
		if (m.kind == MSG_GRAPH) {
			if (e->old || e->retire_pending || installed)
				e->next = m.graph;
			else
				install(e, m.graph);
			installed = true;
		} else if (m.kind == MSG_OVERRIDE && e->cur)
			override(e->cur, &m);
		else if (e->cur)
			apply(e->cur, &m);
	}
	if (e->cur)
		retarget(e->cur, e->cur->ramp);
}

void engine_io(const struct md_engine *e, const int16_t **in, int *nin, const int16_t **out, int *nout)
{
	*in = e->io_in;
	*nin = e->nio_in;
	*out = e->io_out;
	*nout = e->nio_out;
}

/* [rt] the one-pole RMS coefficient for a whole block of n samples: 1 - (1 - a)^n */
static float block_coef(const struct md_graph *g, uint32_t n)
{
	return n == MD_BLOCK ? g->rms_block_coef : 1.0f - powf(1.0f - g->rms_coef, (float)n);
}

/* [rt] peak and sum of squares of a block, in eight independent lanes so the compiler can vectorise */
static void block_stats(const float *x, uint32_t n, float *peak, float *sumsq)
{
	float p[8] = {0}, q[8] = {0};
	uint32_t i = 0;
	for (; i + 8 <= n; i += 8)
		for (int k = 0; k < 8; k++) {
			float a = fabsf(x[i + k]);
			p[k] = a > p[k] ? a : p[k];
			q[k] += x[i + k] * x[i + k];
		}
	for (; i < n; i++) {
		float a = fabsf(x[i]);
		p[0] = a > p[0] ? a : p[0];
		q[0] += x[i] * x[i];
	}
	float pk = 0.0f, sq = 0.0f;
	for (int k = 0; k < 8; k++) {
		pk = p[k] > pk ? p[k] : pk;
		sq += q[k];
	}
	*peak = pk;
	*sumsq = sq;
}

/* [rt] peak (max since read) and RMS (one pole of RMS_SECONDS, advanced a block at a time) */
static void meter_block(struct md_meter *m, int c, const float *x, uint32_t n, float coef)
{
	float peak, sumsq;
	block_stats(x, n, &peak, &sumsq);
	float ms = m->ms[c] + coef * (sumsq / (float)n - m->ms[c]);
	if (!isfinite(ms)) /* never let one bad block stick to the meter */
		ms = 0.0f;
	m->ms[c] = ms;
	atomic_store_explicit(&m->rms[c], sqrtf(ms), memory_order_relaxed);
	float cur = atomic_load_explicit(&m->peak[c], memory_order_relaxed);
	while (peak > cur &&
	       !atomic_compare_exchange_weak_explicit(&m->peak[c], &cur, peak, memory_order_relaxed, memory_order_relaxed))
		;
}

static const float zeros[MD_BLOCK];

/* [rt] no NaN or infinity in x: a test of the exponent bits, an OR over the block that vectorises */
static bool all_finite(const float *x, uint32_t n)
{
	typedef uint32_t u32_alias __attribute__((may_alias));
	const u32_alias *u = (const u32_alias *)x;
	uint32_t bad = 0;
	for (uint32_t i = 0; i < n; i++)
		bad |= (u[i] & 0x7f800000u) == 0x7f800000u;
	return bad == 0;
}

/* [rt] l += (a * g) * pl, r += (b * g) * pr (restrict: the sums are not the inputs, so the loop vectorises) */
static void add_panned(float *restrict l, float *restrict r, const float *a, const float *b, float g, float pl,
		       float pr, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		l[i] += (a[i] * g) * pl;
		r[i] += (b[i] * g) * pr;
	}
}

/* [rt] l = a * ga, r = b * gb (in place allowed: element by element) */
static void scale2(float *l, float *r, const float *a, const float *b, float ga, float gb, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		float u = a[i] * ga, v = b[i] * gb;
		l[i] = u;
		r[i] = v;
	}
}

/* [rt] one strip's sub-block, first half: trim/polarity into the strip's buffers, then its filters: on
 * its own while they glide or cross-fade, otherwise as lanes of g->flanes, which graph_block runs for all
 * strips together before strip_out. While no gain is ramping (nearly always) the gains are constants and
 * the loops vectorise. */
static void strip_in(struct md_graph *g, struct gstrip *s, float *const *bufs, uint32_t off, uint32_t n, int *nfl)
{
	const int nch = s->nch;
	const bool ramping = smooth_active(&s->pre) || smooth_active(&s->mgate) || smooth_active(&s->fader) ||
			     smooth_active(&s->pan[0]) || smooth_active(&s->pan[1]);
	s->ramping = ramping;
	for (int c = 0; c < nch; c++) {
		int16_t slot = s->in_slot[c];
		const float *in = slot >= 0 && bufs[slot] ? bufs[slot] + off : zeros;
		float *x = s->buf[c];
		if (!ramping) {
			const float pre = s->pre.cur;
			for (uint32_t i = 0; i < n; i++)
				x[i] = in[i] * pre;
			continue;
		}
		struct md_smooth pre = s->pre; /* every channel follows the same ramp */
		for (uint32_t i = 0; i < n; i++)
			x[i] = in[i] * smooth_next(&pre);
		if (c == nch - 1)
			s->pre = pre;
	}
	float *const ch[2] = {s->buf[0], s->buf[1]};
	struct md_biquad *sec[MD_BQ_CHAIN_MAX];
	int ns = strip_dsp_chain(&s->dsp, sec);
	if (ns < 0) {
		strip_dsp_filters(&s->dsp, ch, nch, n);
		return;
	}
	for (int c = 0; c < nch && ns > 0; c++) {
		struct md_bq_lane *l = &g->flanes[(*nfl)++];
		memcpy(l->s, sec, (size_t)ns * sizeof *sec);
		l->ns = ns;
		l->c = c;
		l->x = s->buf[c];
	}
}

/* [rt] the second half: dynamics, then fader, pan and sends into the mix buses */
static void strip_out(struct md_graph *g, struct gstrip *s, uint32_t n)
{
	const int nch = s->nch;
	const bool ramping = s->ramping;
	float *const ch[2] = {s->buf[0], s->buf[1]};
	strip_dsp_dynamics(&s->dsp, ch, nch, n);

	/* NaN guard: a strip that produced a non-finite sample is silenced for this block and reset */
	if (!all_finite(s->buf[0], n) || (nch == 2 && !all_finite(s->buf[1], n))) {
		for (int c = 0; c < nch; c++)
			memset(s->buf[c], 0, n * sizeof(float));
		strip_dsp_reset(&s->dsp);
	}
	atomic_store_explicit(&s->gr, strip_dsp_gr_db(&s->dsp), memory_order_relaxed);

	/* what this block needs besides the master sum: the post-pan signal for post-fader sends and stems,
	 * the mute/solo gate for pre-fader sends, the post-fader signal for the meter */
	bool want_post = s->stem_slot[0] >= 0 || s->stem_slot[1] >= 0, want_gate = false;
	for (int b = 0; b < g->nbuses; b++)
		if (s->send[b].cur != 0.0f || s->send[b].target != 0.0f) {
			if (s->p[MD_SP_SEND(b, MD_SEND_PRE)] >= 0.5f)
				want_gate = true;
			else
				want_post = true;
		}
	float *ml = g->master.acc[0], *mr = g->master.acc[1];
	float y[2][MD_BLOCK];      /* post-fader, pre-pan: what the strip meter shows */
	float gate[MD_BLOCK];      /* the mute/solo gate per sample, for pre-fader sends */
	float(*post)[MD_BLOCK] = s->post;
	const float *x0 = s->buf[0], *x1 = s->buf[nch - 1];
	if (!ramping) {
		/* each output in its own loop, computed the same way as in the ramping case ((x * gf) * pan) */
		const float gm = s->mgate.cur, gf = s->fader.cur * gm, pl = s->pan[0].cur, pr = s->pan[1].cur;
		add_panned(ml, mr, x0, x1, gf, pl, pr, n);
		if (g->metering)
			scale2(y[0], y[1], x0, x1, gf, gf, n);
		if (want_post) {
			scale2(post[0], post[1], x0, x1, gf, gf, n);
			scale2(post[0], post[1], post[0], post[1], pl, pr, n);
		}
		if (want_gate)
			for (uint32_t i = 0; i < n; i++)
				gate[i] = gm;
	} else {
		for (uint32_t i = 0; i < n; i++) {
			float gm = smooth_next(&s->mgate);
			float gf = smooth_next(&s->fader) * gm;
			float pl = smooth_next(&s->pan[0]), pr = smooth_next(&s->pan[1]);
			float a = x0[i] * gf, b = x1[i] * gf;
			y[0][i] = a;
			y[1][i] = b;
			post[0][i] = a * pl;
			post[1][i] = b * pr;
			ml[i] += post[0][i];
			mr[i] += post[1][i];
			gate[i] = gm;
		}
	}
	if (g->metering) {
		meter_block(&s->meter, 0, y[0], n, block_coef(g, n));
		if (nch == 2)
			meter_block(&s->meter, 1, y[1], n, block_coef(g, n));
	}
	for (int b = 0; b < g->nbuses; b++) {
		struct gbus *bus = &g->buses[b];
		struct md_smooth *sg = &s->send[b];
		if (sg->cur == 0.0f && sg->target == 0.0f)
			continue;
		/* post-fader sends follow the pan; pre-fader sends take the strip unpanned, after the mute */
		const bool pre = s->p[MD_SP_SEND(b, MD_SEND_PRE)] >= 0.5f;
		const float *l = pre ? x0 : post[0], *r = pre ? x1 : post[1];
		if (!smooth_active(sg)) {
			const float gs = sg->cur;
			if (pre)
				for (uint32_t i = 0; i < n; i++) {
					bus->acc[0][i] += l[i] * gate[i] * gs;
					bus->acc[1][i] += r[i] * gate[i] * gs;
				}
			else
				for (uint32_t i = 0; i < n; i++) {
					bus->acc[0][i] += l[i] * gs;
					bus->acc[1][i] += r[i] * gs;
				}
			continue;
		}
		for (uint32_t i = 0; i < n; i++) {
			float gs = smooth_next(sg) * (pre ? gate[i] : 1.0f);
			bus->acc[0][i] += l[i] * gs;
			bus->acc[1][i] += r[i] * gs;
		}
	}
	/* sends to no bus still move their ramps along */
	for (int b = g->nbuses; b < MD_MAX_BUSES; b++)
		if (smooth_active(&s->send[b]))
			for (uint32_t i = 0; i < n; i++)
				smooth_next(&s->send[b]);
}

/* [rt] a stem: one strip's or bus's contribution to the master, through the master section's mono sum and
 * gains, so that the stems of every strip and bus add up to the master output */
static void stem_out(const struct md_graph *g, const int16_t slot[2], float (*x)[MD_BLOCK], float *const *bufs,
		     uint32_t off, uint32_t n, float w0, float dw)
{
	const struct gmaster *m = &g->master;
	for (int c = 0; c < 2; c++) {
		if (slot[c] < 0 || !bufs[slot[c]])
			continue;
		float *o = bufs[slot[c]] + off;
		float w = w0;
		for (uint32_t i = 0; i < n; i++, w += dw) {
			float v = x[c][i];
			v += m->mono_used[i] * (0.5f * (x[0][i] + x[1][i]) - v);
			o[i] += v * m->gain_used[c][i] * w;
		}
	}
}

/* [rt] process one sub-block of graph g; outputs are added into bufs with weight w0 ramping by dw */
static void graph_block(struct md_graph *g, float *const *bufs, uint32_t off, uint32_t n, float w0, float dw)
{
	struct gmaster *m = &g->master;
	memset(m->acc, 0, sizeof m->acc);
	for (int b = 0; b < g->nbuses; b++)
		memset(g->buses[b].acc, 0, sizeof g->buses[b].acc);
	int nfl = 0;
	for (int i = 0; i < g->nstrips; i++)
		strip_in(g, &g->strips[i], bufs, off, n, &nfl);
	biquad_process_lanes(g->flanes, nfl, n, g->forder);
	for (int i = 0; i < g->nstrips; i++)
		strip_out(g, &g->strips[i], n);

	for (int bi = 0; bi < g->nbuses; bi++) {
		struct gbus *b = &g->buses[bi];
		for (int c = 0; c < 2; c++) {
			int16_t os = b->out_slot[c];
			if (os >= 0 && bufs[os]) {
				float *o = bufs[os] + off;
				float w = w0;
				for (uint32_t i = 0; i < n; i++, w += dw)
					o[i] += b->acc[c][i] * w;
			}
		}
		if (b->p[MD_BP_INSERT] >= 0.5f) { /* the bus signal comes back from the external effect */
			for (int c = 0; c < 2; c++) {
				int16_t rs = b->ret_slot[c];
				if (rs >= 0 && bufs[rs])
					memcpy(b->acc[c], bufs[rs] + off, n * sizeof(float));
				else
					memset(b->acc[c], 0, n * sizeof(float));
				/* an external effect may send anything: a non-finite block is silenced, as for strips */
				if (!all_finite(b->acc[c], n))
					memset(b->acc[c], 0, n * sizeof(float));
			}
		}
		if (!smooth_active(&b->gain[0]) && !smooth_active(&b->gain[1])) {
			const float gl = b->gain[0].cur, gr = b->gain[1].cur;
			for (uint32_t i = 0; i < n; i++) {
				b->acc[0][i] *= gl;
				b->acc[1][i] *= gr;
				m->acc[0][i] += b->acc[0][i];
				m->acc[1][i] += b->acc[1][i];
			}
		} else {
			for (uint32_t i = 0; i < n; i++) {
				b->acc[0][i] *= smooth_next(&b->gain[0]);
				b->acc[1][i] *= smooth_next(&b->gain[1]);
				m->acc[0][i] += b->acc[0][i];
				m->acc[1][i] += b->acc[1][i];
			}
		}
		if (g->metering) {
			meter_block(&b->meter, 0, b->acc[0], n, block_coef(g, n));
			meter_block(&b->meter, 1, b->acc[1], n, block_coef(g, n));
		}
	}

	if (!smooth_active(&m->mono) && !smooth_active(&m->gain[0]) && !smooth_active(&m->gain[1])) {
		const float mono = m->mono.cur, gl = m->gain[0].cur, gr = m->gain[1].cur;
		for (uint32_t i = 0; i < n; i++) {
			float l = m->acc[0][i], r = m->acc[1][i];
			float sum = 0.5f * (l + r);
			m->acc[0][i] = (l + mono * (sum - l)) * gl;
			m->acc[1][i] = (r + mono * (sum - r)) * gr;
			m->mono_used[i] = mono;
			m->gain_used[0][i] = gl;
			m->gain_used[1][i] = gr;
		}
	} else {
		for (uint32_t i = 0; i < n; i++) {
			float mono = smooth_next(&m->mono);
			float gl = smooth_next(&m->gain[0]), gr = smooth_next(&m->gain[1]);
			float l = m->acc[0][i], r = m->acc[1][i];
			float sum = 0.5f * (l + r);
			m->acc[0][i] = (l + mono * (sum - l)) * gl;
			m->acc[1][i] = (r + mono * (sum - r)) * gr;
			m->mono_used[i] = mono;
			m->gain_used[0][i] = gl;
			m->gain_used[1][i] = gr;
		}
	}
	if (g->metering) {
		/* correlation: one-pole averages of L*R, L*L, R*R, advanced a block at a time */
		float slr[8] = {0}, sll[8] = {0}, srr[8] = {0};
		for (uint32_t i = 0; i < n; i++) {
			float l = m->acc[0][i], r = m->acc[1][i];
			slr[i & 7] += l * r;
			sll[i & 7] += l * l;
			srr[i & 7] += r * r;
		}
		float tlr = 0, tll = 0, trr = 0;
		for (int k = 0; k < 8; k++) {
			tlr += slr[k];
			tll += sll[k];
			trr += srr[k];
		}
		const float k = block_coef(g, n), inv = 1.0f / (float)n;
		m->lr += k * (tlr * inv - m->lr);
		m->ll += k * (tll * inv - m->ll);
		m->rr += k * (trr * inv - m->rr);
		if (!isfinite(m->lr + m->ll + m->rr))
			m->lr = m->ll = m->rr = 0.0f;
		float den = sqrtf(m->ll * m->rr);
		atomic_store_explicit(&m->corr, den > 1e-12f ? fmaxf(-1.0f, fminf(1.0f, m->lr / den)) : 0.0f,
				      memory_order_relaxed);
		meter_block(&m->meter, 0, m->acc[0], n, block_coef(g, n));
		meter_block(&m->meter, 1, m->acc[1], n, block_coef(g, n));
	}
	if (g->stems) {
		for (int i = 0; i < g->nstrips; i++)
			stem_out(g, g->strips[i].stem_slot, g->strips[i].post, bufs, off, n, w0, dw);
		for (int b = 0; b < g->nbuses; b++)
			stem_out(g, g->buses[b].stem_slot, g->buses[b].acc, bufs, off, n, w0, dw);
	}
	for (int c = 0; c < 2; c++) {
		int16_t os = m->out_slot[c];
		if (os >= 0 && bufs[os]) {
			float *o = bufs[os] + off;
			float w = w0;
			for (uint32_t i = 0; i < n; i++, w += dw)
				o[i] += m->acc[c][i] * w;
		}
	}
}

/* [rt] a lane's value at time t; the cursor makes a rolling transport O(1) per evaluation */
static float lane_value(struct glane *l, double t)
{
	int i = l->cursor;
	if (i >= l->n || (i > 0 && l->t[i] > t)) /* moved backwards: search again */
		i = lanes_point_at(l->t, l->n, t);
	while (i + 1 < l->n && l->t[i + 1] <= t)
		i++;
	l->cursor = i;
	return lanes_interp(l->t, l->v, l->n, i, t, l->step);
}

static bool lane_plays(const struct glane *l)
{
	return !l->override && (l->mode == MD_AUTO_READ || l->mode == MD_AUTO_TOUCH || l->mode == MD_AUTO_LATCH);
}

/* [rt] set every playing lane's parameter to its value at frame `at`, ramping over `ramp` samples */
static void automate(struct md_graph *g, uint64_t at, uint32_t ramp)
{
	const double t = (double)at / (double)g->rate;
	bool any = false;
	for (int i = 0; i < g->nlanes; i++) {
		struct glane *l = &g->lanes[i];
		if (!lane_plays(l))
			continue;
		struct md_msg m = {.kind = MSG_PARAM, .scope = l->scope, .index = l->index, .param = l->param,
				   .value = lane_value(l, t)};
		apply(g, &m);
		any = true;
	}
	if (any)
		retarget(g, ramp);
}

void engine_process(struct md_engine *e, float *const *bufs, uint32_t nframes)
{
#if defined(__SSE__)
	unsigned int csr = _mm_getcsr();
	_mm_setcsr(csr | 0x8040); /* flush-to-zero and denormals-are-zero */
#endif
	for (int i = 0; i < e->nio_out; i++)
		if (bufs[e->io_out[i]])
			memset(bufs[e->io_out[i]], 0, nframes * sizeof(float));
	struct md_graph *g = e->cur;
	bool jumped = e->time_frame != e->expect_frame || (g && !g->auto_started);
	/* a jump while rolling is smoothed over the whole ramp (while stopped, automate() below does it) */
	e->jump_left = jumped && g && e->rolling ? g->ramp : e->rolling ? e->jump_left : 0;
	if (g && g->nlanes && !e->rolling && jumped) /* stopped, but located (or a new graph): the value there */
		automate(g, e->time_frame, g->ramp);
	if (g)
		g->auto_started = true;
	for (uint32_t off = 0; off < nframes;) {
		uint32_t n = nframes - off < MD_BLOCK ? nframes - off : MD_BLOCK;
		if (e->rolling && e->cur && e->cur->nlanes) {
			/* lanes move linearly to their value at the end of this sub-block; a jump is smoothed over
			 * the full parameter ramp, whatever the sub-blocks that follow it */
			uint32_t ramp = e->jump_left > n ? e->jump_left : n;
			automate(e->cur, e->time_frame + off + n, ramp);
			e->jump_left = e->jump_left > n ? e->jump_left - n : 0;
		}
		if (e->old) {
			uint32_t left = e->fade_len - e->fade_pos;
			if (n > left)
				n = left;
			float w = (float)e->fade_pos / (float)e->fade_len, dw = 1.0f / (float)e->fade_len;
			graph_block(e->old, bufs, off, n, 1.0f - w, -dw);
			graph_block(e->cur, bufs, off, n, w, dw);
			e->fade_pos += n;
			if (e->fade_pos >= e->fade_len) {
				retire(e, e->old);
				e->old = NULL;
				update_io(e);
			}
		} else if (e->cur) {
			graph_block(e->cur, bufs, off, n, 1.0f, 0.0f);
		}
		off += n;
	}
	e->expect_frame = e->time_frame + (e->rolling ? nframes : 0);
	e->time_frame = e->expect_frame;
	atomic_fetch_add_explicit(&e->frames, nframes, memory_order_relaxed);
#if defined(__SSE__)
	_mm_setcsr(csr);
#endif
}

void engine_set_time(struct md_engine *e, bool rolling, uint64_t frame)
{
	e->rolling = rolling;
	e->time_frame = frame;
}

void engine_run(struct md_engine *e, float *const *bufs, uint32_t nframes)
{
	engine_begin(e);
	engine_process(e, bufs, nframes);
}
