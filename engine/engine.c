/* mixdesk: the engine and its two queues: the control side's end (parameter records, graphs to install,
 * retired graphs to free) [control], and the audio thread's at the start of each period (the drain, the
 * swap to a new graph with its crossfade, the retirement of the old one) [rt]. The graph is built in
 * graph.c and run in process.c. */
#include "engine/graph.h"

#include <stdlib.h>
#include <string.h>

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
	struct md_msg m = {.kind = MSG_PARAM,
			   .scope = (uint8_t)scope,
			   .index = (uint16_t)index,
			   .param = (uint16_t)param,
			   .value = value};
	return spsc_push(e->q, &m);
}

bool engine_send_override(struct md_engine *e, enum md_scope scope, int index, int param, bool held)
{
	struct md_msg m = {.kind = MSG_OVERRIDE,
			   .scope = (uint8_t)scope,
			   .index = (uint16_t)index,
			   .param = (uint16_t)param,
			   .value = held ? 1.0f : 0.0f};
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

void engine_set_player(struct md_engine *e, struct md_player *p, uint32_t rate)
{
	e->player = p;
	e->player_rate = rate;
}

const char *engine_source_error(const struct md_engine *e, unsigned *serial)
{
	*serial = e->src_err_serial;
	return e->src_err[0] ? e->src_err : NULL;
}

void engine_set_plugin_policy(struct md_engine *e, bool allow_non_rt, bool freewheel)
{
	e->allow_non_rt = allow_non_rt;
	e->freewheel = freewheel;
}

const char *engine_insert_error(const struct md_engine *e, unsigned *serial)
{
	*serial = e->ins_err_serial;
	return e->ins_err[0] ? e->ins_err : NULL;
}

bool engine_send_insert_param(struct md_engine *e, enum md_scope scope, int index, int slot, int param, float value)
{
	struct md_msg m = {.kind = MSG_INSERT,
			   .scope = (uint8_t)scope,
			   .slot = (uint8_t)slot,
			   .index = (uint16_t)index,
			   .param = (uint16_t)param,
			   .value = value};
	return spsc_push(e->q, &m);
}

bool engine_send_insert_bypass(struct md_engine *e, enum md_scope scope, int index, int slot, bool on)
{
	return engine_send_insert_param(e, scope, index, slot, MD_INSERT_BYPASS, on ? 1.0f : 0.0f);
}

uint32_t engine_insert_latency(const struct md_engine *e, enum md_scope scope, int index, int slot, bool *running)
{
	struct md_insert_rt **ins =
		e->submitted && slot >= 0 && slot < MD_MAX_INSERTS ? graph_inserts(e->submitted, scope, index) : NULL;
	struct md_insert_rt *r = ins ? ins[slot] : NULL;
	if (running)
		*running = r && r->pl;
	return r ? insert_latency(r) : 0;
}

char *engine_insert_state(struct md_engine *e, enum md_scope scope, int index, int slot, const char *dir)
{
	struct md_insert_rt **ins =
		e->submitted && slot >= 0 && slot < MD_MAX_INSERTS ? graph_inserts(e->submitted, scope, index) : NULL;
	struct md_insert_rt *r = ins ? ins[slot] : NULL;
	return r && r->pl ? plugin_state_save(r->pl, dir) : NULL;
}

uint32_t engine_latency(const struct md_engine *e)
{
	return e->submitted ? e->submitted->latency : 0;
}

bool engine_latency_changed(const struct md_engine *e)
{
	struct md_graph *g = e->submitted;
	if (!g)
		return false;
	for (int i = 0; i < g->nstrips; i++)
		if (g->strips[i].nins && graph_inserts_latency(g->strips[i].ins, g->strips[i].nins) != g->strips[i].lat)
			return true;
	for (int i = 0; i < g->nbuses; i++)
		if (g->buses[i].nins && graph_inserts_latency(g->buses[i].ins, g->buses[i].nins) != g->buses[i].lat)
			return true;
	return g->master.nins && graph_inserts_latency(g->master.ins, g->master.nins) != g->master.lat;
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

void graph_retire(struct md_engine *e, struct md_graph *g)
{
	if (!g)
		return;
	if (!spsc_push(e->retq, &g))
		e->retire_pending = g; /* the control side is behind: try again next period */
}

/* [rt] the slots of two graphs' lists (either may be NULL), each once, in order: into dst, returns the count */
static int union_slots(const int16_t *a, int na, const int16_t *b, int nb, int16_t *dst)
{
	uint8_t seen[MD_MAX_SLOTS / 8];
	memset(seen, 0, sizeof seen);
	int n = 0;
	for (int k = 0; k < na + nb; k++) {
		int16_t s = k < na ? a[k] : b[k - na];
		if (!(seen[s >> 3] & (1 << (s & 7)))) {
			seen[s >> 3] |= (uint8_t)(1 << (s & 7));
			dst[n++] = s;
		}
	}
	return n;
}

void graph_update_io(struct md_engine *e)
{
	const struct md_graph *c = e->cur, *o = e->old;
	e->nio_in = union_slots(c ? c->in_slots : NULL, c ? c->nin : 0, o ? o->in_slots : NULL, o ? o->nin : 0,
				e->io_in);
	e->nio_out = union_slots(c ? c->out_slots : NULL, c ? c->nout : 0, o ? o->out_slots : NULL, o ? o->nout : 0,
				 e->io_out);
}

static void install(struct md_engine *e, struct md_graph *g)
{
	if (e->old) { /* a crossfade is still running: cut it short */
		graph_retire(e, e->old);
		e->old = NULL;
	}
	if (e->cur && g->prev == e->cur && g->rate == e->cur->rate)
		graph_inherit(g, e->cur);
	if (e->cur) {
		e->old = e->cur;
		e->fade_pos = 0;
		e->fade_len = (uint32_t)(MD_XFADE_SECONDS * (float)g->rate);
		if (e->fade_len == 0)
			e->fade_len = 1;
	}
	e->cur = g;
	graph_update_io(e);
}

void engine_begin(struct md_engine *e)
{
	if (e->retire_pending) {
		struct md_graph *g = e->retire_pending;
		e->retire_pending = NULL;
		graph_retire(e, g);
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
			graph_override(e->cur, &m);
		else if (m.kind == MSG_INSERT && e->cur)
			graph_insert_msg(e->cur, &m);
		else if (e->cur)
			graph_apply(e->cur, &m);
	}
	if (e->cur)
		graph_retarget(e->cur, e->cur->ramp);
}

void engine_io(const struct md_engine *e, const int16_t **in, int *nin, const int16_t **out, int *nout)
{
	*in = e->io_in;
	*nin = e->nio_in;
	*out = e->io_out;
	*nout = e->nio_out;
}
