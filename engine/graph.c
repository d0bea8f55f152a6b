/* mixdesk: the audio graph: built from a console model off the audio thread [control], freed there, and the
 * running state a new graph takes over from the one it replaces [rt]. */
#include "engine/graph.h"
#include "engine/player.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void inserts_unref(struct md_insert_rt **ins)
{
	for (int k = 0; k < MD_MAX_INSERTS; k++)
		insert_unref(ins[k]);
}

void engine_graph_free(struct md_graph *g)
{
	if (!g)
		return;
	for (int i = 0; g->buses && i < g->nbuses; i++) {
		fx_unref(g->buses[i].fx);
		inserts_unref(g->buses[i].ins);
		latency_delay_unref(g->buses[i].comp);
	}
	inserts_unref(g->master.ins);
	latency_delay_unref(g->master.direct);
	for (int i = 0; g->strips && i < g->nstrips; i++) {
		inserts_unref(g->strips[i].ins);
		latency_delay_unref(g->strips[i].comp);
		if (g->strips[i].src)
			player_unref(g->strips[i].src);
		free(g->strips[i].src_path);
	}
	free(g->strips);
	free(g->buses);
	free(g->lanes);
	free(g->flanes);
	free(g->forder);
	free(g->lane_t);
	free(g->lane_v);
	free(g);
}

static void add_slot(int16_t *list, int *n, int16_t slot)
{
	if (slot >= 0 && *n < MD_MAX_SLOTS)
		list[(*n)++] = slot;
}

/* [control] one lane into the graph, its points at lane_t/lane_v[np] */
static void add_lane(struct md_graph *g, struct glane *gl, int np, const struct md_lane *l, int scope, int index,
		     int slot, int param, bool step)
{
	gl->scope = (uint8_t)scope;
	gl->index = (uint16_t)index;
	gl->slot = (uint8_t)slot;
	gl->param = (uint16_t)param;
	gl->mode = (uint8_t)l->mode;
	gl->step = step;
	gl->n = l->npoints;
	memcpy(&g->lane_t[np], l->t, (size_t)l->npoints * sizeof *l->t);
	memcpy(&g->lane_v[np], l->v, (size_t)l->npoints * sizeof *l->v);
	gl->t = &g->lane_t[np];
	gl->v = &g->lane_v[np];
}

/* [control] copy every lane that can play (not off, with points) into the graph: the console's parameters',
 * and the parameters' of the plugins that run */
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
					if (pass == 1)
						add_lane(g, &g->lanes[nl], np, l, scope, i, 0, l->param,
							 d->kind != MD_KIND_FLOAT);
					nl++;
					np += l->npoints;
				}
				/* the lanes of its plugins' parameters, where the plugin runs and has the symbol */
				struct md_insert *mi = console_inserts((struct md_console *)c, (enum md_scope)scope, i);
				struct md_insert_rt **ri = graph_inserts(g, scope, i);
				for (int s = 0; mi && ri && s < MD_MAX_INSERTS; s++)
					for (int k = 0; ri[s] && ri[s]->pl && k < mi[s].nlanes; k++) {
						const struct md_lane *l = &mi[s].lanes[k].lane;
						int pi = plugin_param_find(ri[s]->pl, mi[s].lanes[k].symbol);
						if (l->mode == MD_AUTO_OFF || l->npoints == 0 || pi < 0)
							continue;
						const struct md_plugin_param *q = plugin_param(ri[s]->pl, pi);
						if (pass == 1)
							add_lane(g, &g->lanes[nl], np, l, scope, i, s + 1, pi,
								 q->toggle || q->integer || q->enumeration);
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

/* [control] a new problem with a source, said once */
static void source_error(struct md_engine *e, const char *fmt, const char *name, const char *path, const char *why)
{
	char msg[sizeof e->src_err];
	snprintf(msg, sizeof msg, fmt, name, path, why);
	if (strcmp(msg, e->src_err) != 0) {
		memcpy(e->src_err, msg, sizeof msg);
		e->src_err_serial++;
	}
}

/* [control] the stream of a strip that plays its source: the one of the graph before when the strip, its file
 * and its width are the same, else a new one (its memory made and its start read here); NULL (silence, and
 * a message) when there is no player or the file cannot be played. False only without memory. */
static bool build_source(struct md_engine *e, struct gstrip *s, const struct md_strip_model *m, const char *dir,
			 const struct md_graph *prev, uint32_t rate)
{
	if (!m->source || (int)m->p[MD_SP_INPUT] == MD_INPUT_JACK)
		return true;
	if (!e->player || e->player_rate != rate) {
		source_error(e, "strip '%s': its source '%s' is not played live: %s", m->name, m->source,
			     !e->player ? "no disk streamer"
					: "the JACK server's rate changed since the start (restart mixdesk)");
		return true;
	}
	size_t len = console_source_path(NULL, 0, m->source, dir) + 1;
	if (!(s->src_path = malloc(len)))
		return false;
	console_source_path(s->src_path, len, m->source, dir);
	for (int k = 0; prev && k < prev->nstrips; k++) {
		const struct gstrip *o = &prev->strips[k];
		if (o->uid == m->uid && o->src && o->nch == s->nch && strcmp(o->src_path, s->src_path) == 0) {
			s->src = o->src;
			player_ref(s->src);
			return true;
		}
	}
	char err[400];
	s->src = player_open(e->player, s->src_path, s->nch, err, sizeof err);
	if (!s->src)
		source_error(e, "strip '%s': its source '%s' plays silence: %s", m->name, m->source, err);
	return true;
}

/* [control] a slot's saved state that did not restore, said once (the plugin runs at its defaults) */
static void insert_state_error(struct md_engine *e, const char *what, int slot, const char *why)
{
	char msg[sizeof e->ins_err];
	snprintf(msg, sizeof msg, "%s insert %d: %s (it runs from its defaults)", what, slot + 1, why);
	if (strcmp(msg, e->ins_err) != 0) {
		memcpy(e->ins_err, msg, sizeof msg);
		e->ins_err_serial++;
	}
}

/* [control] a new problem with an insert, said once */
static void insert_error(struct md_engine *e, const char *what, int slot, const char *why)
{
	char msg[sizeof e->ins_err];
	snprintf(msg, sizeof msg, "%s insert %d: %s (it passes the signal through)", what, slot + 1, why);
	if (strcmp(msg, e->ins_err) != 0) {
		memcpy(e->ins_err, msg, sizeof msg);
		e->ins_err_serial++;
	}
}

/* [control] the insert instances of one strip, bus or the master: the previous graph's where the slot keeps
 * its plugin (same uid, width and rate; `prev` is that object's slots in it, or NULL), else new ones. A
 * plugin that cannot run here is a placeholder and a message; false only without memory. */
static bool build_inserts(struct md_engine *e, struct md_insert_rt **ins, int *nins, const struct md_insert *m,
			  struct md_insert_rt *const *prev, int nch, uint32_t rate, const char *dir, const char *what)
{
	*nins = 0;
	for (int k = 0; k < MD_MAX_INSERTS; k++) {
		if (!m[k].uri)
			continue;
		*nins = k + 1;
		struct md_insert_rt *o = prev ? prev[k] : NULL;
		if (o && o->uid == m[k].uid && o->nch == nch && o->rate == rate) {
			ins[k] = o;
			insert_ref(o);
			continue;
		}
		char err[600];
		ins[k] = insert_new(&m[k], rate, nch, e->allow_non_rt, e->freewheel, dir, err, sizeof err);
		if (!ins[k])
			return false;
		if (!ins[k]->pl)
			insert_error(e, what, k, err);
		else if (err[0]) /* it runs, but its saved state did not restore */
			insert_state_error(e, what, k, err);
	}
	return true;
}

/* the insert slots of an object of graph g, or NULL */
struct md_insert_rt **graph_inserts(struct md_graph *g, int scope, int index)
{
	if (scope == MD_SCOPE_STRIP && index >= 0 && index < g->nstrips)
		return g->strips[index].ins;
	if (scope == MD_SCOPE_BUS && index >= 0 && index < g->nbuses)
		return g->buses[index].ins;
	if (scope == MD_SCOPE_MASTER && index == 0)
		return g->master.ins;
	return NULL;
}

/* the latency of a chain of inserts now, frames */
uint32_t graph_inserts_latency(struct md_insert_rt *const *ins, int nins)
{
	uint64_t sum = 0;
	for (int k = 0; k < nins; k++)
		if (ins[k])
			sum += insert_latency(ins[k]);
	return sum > MD_LATENCY_MAX_FRAMES ? MD_LATENCY_MAX_FRAMES : (uint32_t)sum;
}

/* [control] a compensation delay of len frames: the old graph's when it has the same length and width, else a
 * new one; false only without memory */
static bool comp_delay(struct md_latency_delay **d, uint32_t len, int nch, struct md_latency_delay *old)
{
	*d = NULL;
	if (len == 0)
		return true;
	if (old && old->len == len && old->nch == nch) {
		latency_delay_ref(old);
		*d = old;
		return true;
	}
	return (*d = latency_delay_new(len, nch)) != NULL;
}

/* [control] plugin delay compensation (latency.h): each path's delay line from what its plugins report now */
static bool build_latency(struct md_graph *g, const struct md_graph *prev)
{
	uint32_t smax = 0, bmax = 0;
	for (int i = 0; i < g->nstrips; i++) {
		struct gstrip *s = &g->strips[i];
		s->lat = graph_inserts_latency(s->ins, s->nins);
		smax = s->lat > smax ? s->lat : smax;
	}
	for (int i = 0; i < g->nbuses; i++) {
		struct gbus *b = &g->buses[i];
		b->lat = graph_inserts_latency(b->ins, b->nins);
		bmax = b->lat > bmax ? b->lat : bmax;
	}
	g->master.lat = graph_inserts_latency(g->master.ins, g->master.nins);
	g->latency = smax + bmax + g->master.lat;
	bool ok = true;
	for (int i = 0; i < g->nstrips; i++) {
		struct gstrip *s = &g->strips[i];
		ok &= comp_delay(&s->comp, smax - s->lat, s->nch,
				 s->inherit >= 0 ? prev->strips[s->inherit].comp : NULL);
	}
	for (int i = 0; i < g->nbuses; i++) {
		struct gbus *b = &g->buses[i];
		ok &= comp_delay(&b->comp, bmax - b->lat, 2, b->inherit >= 0 ? prev->buses[b->inherit].comp : NULL);
	}
	ok &= comp_delay(&g->master.direct, bmax, 2, prev ? prev->master.direct : NULL);
	return ok;
}

/* [control] strip s of graph g from its model; it inherits from the strip of `prev` with its uid and width */
static void build_strip(struct md_graph *g, struct gstrip *s, const struct md_strip_model *m,
			const struct md_graph *prev, uint32_t rate)
{
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

/* [control] bus b of graph g from its model; it inherits from the bus of `prev` with its uid, and shares
 * its effect when the type and rate are the same (false: no memory for a new effect) */
static bool build_bus(struct md_graph *g, struct gbus *b, const struct md_bus_model *m, const struct md_graph *prev,
		      float bpm)
{
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
	int type = (int)b->p[MD_BP_FX_TYPE];
	if (type == MD_FX_NONE)
		return true;
	const struct md_fx *pf = b->inherit >= 0 ? prev->buses[b->inherit].fx : NULL;
	if (pf && pf->type == type && pf->rate == g->rate) {
		b->fx = (struct md_fx *)pf;
		fx_ref(b->fx);
	} else {
		b->fx = fx_new(type, g->rate, b->p, bpm);
	}
	return b->fx != NULL;
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
	g->streaming = e->player != NULL;
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
	bool src_ok = true;
	char what[MD_NAME_MAX + 16];
	for (int i = 0; i < c->nstrips; i++) {
		struct gstrip *s = &g->strips[i];
		build_strip(g, s, c->strips[i], prev, rate);
		src_ok &= build_source(e, s, c->strips[i], c->dir, prev, rate);
		snprintf(what, sizeof what, "strip '%s'", c->strips[i]->name);
		src_ok &= build_inserts(e, s->ins, &s->nins, c->strips[i]->inserts,
					s->inherit >= 0 ? prev->strips[s->inherit].ins : NULL, s->nch, rate, c->dir,
					what);
	}
	if (!src_ok) {
		engine_graph_free(g);
		return NULL;
	}
	/* the session's tempo; the audio thread gives the effects the transport's when it has one */
	g->bpm = c->master.p[MD_MP_TEMPO];
	bool ok = true;
	for (int i = 0; i < c->nbuses; i++) {
		struct gbus *b = &g->buses[i];
		ok &= build_bus(g, b, c->buses[i], prev, g->bpm);
		snprintf(what, sizeof what, "bus '%s'", c->buses[i]->name);
		ok &= build_inserts(e, b->ins, &b->nins, c->buses[i]->inserts,
				    b->inherit >= 0 ? prev->buses[b->inherit].ins : NULL, 2, rate, c->dir, what);
	}
	ok &= build_inserts(e, g->master.ins, &g->master.nins, c->master.inserts, prev ? prev->master.ins : NULL, 2,
			    rate, c->dir, "master");
	if (!ok || !build_latency(g, prev) || build_lanes(g, c) != MD_OK) {
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

void engine_graph_hold(struct md_graph *g, enum md_scope scope, int index, int param)
{
	for (int i = 0; i < g->nlanes; i++) {
		struct glane *l = &g->lanes[i];
		if (l->scope == scope && l->index == index && l->param == param)
			l->override = true;
	}
}

/* [rt] take over the running state of strips and buses that exist in both graphs */
void graph_inherit(struct md_graph *g, struct md_graph *prev)
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
