/* mixdesk: the mixer (control side): console model + engine + host ports: parameters, structural edits,
 * graph rebuilds, resends and feedback marks. Automation (passes, modes, lanes, the transport) is autorec.c's. */
#include "engine/mixer/mixer.h"
#include "engine/mixer/mixer_int.h"

#include <stdlib.h>
#include <string.h>

struct md_mixer *mixer_new(uint32_t rate, struct md_mixer_host *host)
{
	struct md_mixer *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->rate = rate;
	m->host = host;
	m->con = console_new(rate);
	m->eng = engine_new();
	if (!m->con || !m->eng) {
		mixer_free(m);
		return NULL;
	}
	m->rebuild_pending = true;
	mixer_tick(m);
	return m;
}

void mixer_free(struct md_mixer *m)
{
	if (!m)
		return;
	mx_free_passes(m);
	engine_free(m->eng);
	console_free(m->con);
	free(m);
}

const struct md_console *mixer_console(const struct md_mixer *m)
{
	return m->con;
}

struct md_engine *mixer_engine(struct md_mixer *m)
{
	return m->eng;
}

uint32_t mixer_rate(const struct md_mixer *m)
{
	return m->rate;
}

static enum md_err alloc_slot(struct md_mixer *m, const struct md_console *c, int16_t *slot)
{
	if (*slot >= 0)
		return MD_OK;
	for (int16_t s = 0; s < MD_MAX_SLOTS; s++)
		if (!m->held[s] && !console_uses_slot(c, s)) {
			*slot = s;
			return MD_OK;
		}
	return MD_ERR_FULL;
}

static enum md_err assign_slots(struct md_mixer *m, struct md_console *c)
{
	enum md_err err = MD_OK;
	for (int k = 0; k < 2 && !err; k++)
		err = alloc_slot(m, c, &c->master.out_slot[k]);
	for (int i = 0; i < c->nstrips && !err; i++) {
		struct md_strip_model *s = c->strips[i];
		err = alloc_slot(m, c, &s->in_slot[0]);
		if (!err && s->stereo)
			err = alloc_slot(m, c, &s->in_slot[1]);
		else if (!s->stereo)
			s->in_slot[1] = -1;
	}
	for (int i = 0; i < c->nbuses && !err; i++)
		for (int k = 0; k < 2 && !err; k++) {
			err = alloc_slot(m, c, &c->buses[i]->out_slot[k]);
			if (!err)
				err = alloc_slot(m, c, &c->buses[i]->ret_slot[k]);
		}
	return err;
}

static void hold_console_slots(struct md_mixer *m)
{
	for (int16_t s = 0; s < MD_MAX_SLOTS; s++)
		if (console_uses_slot(m->con, s))
			m->held[s] = true;
}

/* Build and submit a graph of the current console; while the engine is still swapping in the last one, or
 * on a full queue, mixer_tick does it later. */
static enum md_err rebuild(struct md_mixer *m)
{
	enum md_err err = assign_slots(m, m->con);
	if (err)
		return err;
	hold_console_slots(m);
	if (m->host && m->host->sync_ports && (err = m->host->sync_ports(m->host, m->con)))
		return err;
	/* One graph on its way at a time: the engine installs one per crossfade, so while it still fades to
	 * (or has not yet freed) the last, a burst of edits waits for mixer_tick to build one graph of them all
	 * (their slots and ports are given above, so an edit that cannot have them still fails at once). Each
	 * edit used to queue a graph of its own: a flood of renames left the console, and every fader move
	 * queued behind the graphs, seconds behind, with all the waiting graphs in memory. */
	if (engine_swap_pending(m->eng)) {
		m->rebuild_pending = true;
		return MD_OK;
	}
	struct md_graph *g = engine_build(m->eng, m->con, m->rate);
	if (!g)
		return MD_ERR_NOMEM;
	mx_hold_passes(m, g); /* held controls stay held in the new graph from its first period */
	if (engine_submit(m->eng, g) != MD_OK) {
		engine_graph_free(g);
		m->rebuild_pending = true;
		return MD_OK;
	}
	m->rebuild_pending = false;
	m->follow_pos = -1.0; /* a new graph evaluates its lanes where the timeline is: so does the model */
	memset(&m->pending, 0, sizeof m->pending); /* the new graph carries every value */
	return MD_OK;
}

enum md_err mx_rebuild(struct md_mixer *m)
{
	return rebuild(m);
}

static void structure_changed(struct md_mixer *m)
{
	m->changes++;
	m->serial++;
	memset(&m->dirty, 0, sizeof m->dirty);
}

enum md_err mixer_set(struct md_mixer *m, enum md_scope scope, int index, int param, float v, float *stored,
		      bool *changed)
{
	float out, was = 0.0f;
	bool fx_type = (scope == MD_SCOPE_BUS && param == MD_BP_FX_TYPE) ||
		       (scope == MD_SCOPE_STRIP && param == MD_SP_INPUT);
	if (fx_type && console_get(m->con, scope, index, param, &was) != MD_OK)
		return MD_ERR_NOTFOUND;
	enum md_err err = console_set(m->con, scope, index, param, v, &out, changed);
	if (err)
		return err;
	/* a bus's effect type and a strip's input are structural: the new graph brings the new effect or the
	 * source's stream, its memory made here, off the audio thread, and the graphs' crossfade is the change's */
	if (fx_type && out != was && (err = rebuild(m))) {
		console_set(m->con, scope, index, param, was, NULL, NULL);
		return err;
	}
	if (stored)
		*stored = out;
	m->changes++; /* a set to the value it had is still looked at: the text comparison decides */
	if (m->rebuild_pending || !engine_send_param(m->eng, scope, index, param, out))
		mx_bit_set(&m->pending, scope, index, param);
	mx_bit_set(&m->dirty, scope, index, param);
	mx_record(m, scope, index, param, out);
	return MD_OK;
}

enum md_err mixer_get(const struct md_mixer *m, enum md_scope scope, int index, int param, float *v)
{
	return console_get(m->con, scope, index, param, v);
}

void mixer_mark_dirty(struct md_mixer *m, enum md_scope scope, int index, int param)
{
	if (index >= 0 && index < console_count(m->con, scope) && param >= 0 && param < md_param_count(scope))
		mx_bit_set(&m->dirty, scope, index, param);
}

/* Apply a structural edit to a copy of the console, rebuild, and keep the copy only when that worked. */
typedef enum md_err (*edit_fn)(struct md_console *c, void *arg);

static enum md_err edit(struct md_mixer *m, edit_fn fn, void *arg)
{
	mx_end_all_passes(m); /* indices may move: write what was recorded first */
	struct md_console *copy = console_clone(m->con);
	if (!copy)
		return MD_ERR_NOMEM;
	enum md_err err = fn(copy, arg);
	if (err) {
		console_free(copy);
		return err;
	}
	struct md_console *old = m->con;
	m->con = copy;
	if ((err = rebuild(m))) {
		m->con = old;
		console_free(copy);
		return err;
	}
	console_free(old);
	structure_changed(m);
	return MD_OK;
}

struct strip_args {
	const char *name;
	bool stereo;
	int index;
};

static enum md_err do_add_strip(struct md_console *c, void *arg)
{
	struct strip_args *a = arg;
	return console_add_strip(c, a->name, a->stereo, &a->index);
}

enum md_err mixer_add_strip(struct md_mixer *m, const char *name, bool stereo, int *index)
{
	struct strip_args a = {name, stereo, -1};
	enum md_err err = edit(m, do_add_strip, &a);
	if (!err && index)
		*index = a.index;
	return err;
}

static enum md_err do_remove_strip(struct md_console *c, void *arg)
{
	return console_remove_strip(c, ((struct strip_args *)arg)->index);
}

enum md_err mixer_remove_strip(struct md_mixer *m, int index)
{
	struct strip_args a = {NULL, false, index};
	return edit(m, do_remove_strip, &a);
}

static enum md_err do_rename_strip(struct md_console *c, void *arg)
{
	struct strip_args *a = arg;
	return console_rename_strip(c, a->index, a->name);
}

enum md_err mixer_rename_strip(struct md_mixer *m, int index, const char *name)
{
	struct strip_args a = {name, false, index};
	return edit(m, do_rename_strip, &a);
}

static enum md_err do_set_stereo(struct md_console *c, void *arg)
{
	struct strip_args *a = arg;
	if (a->index < 0 || a->index >= c->nstrips)
		return MD_ERR_NOTFOUND;
	struct md_strip_model *s = c->strips[a->index];
	if (s->stereo == a->stereo)
		return MD_OK;
	s->stereo = a->stereo;
	if (!a->stereo) {
		s->in_slot[1] = -1;
		console_conns_clear(&s->inputs[1]);
	}
	return MD_OK;
}

enum md_err mixer_set_stereo(struct md_mixer *m, int index, bool stereo)
{
	struct strip_args a = {NULL, stereo, index};
	return edit(m, do_set_stereo, &a);
}

static enum md_err do_add_bus(struct md_console *c, void *arg)
{
	struct strip_args *a = arg;
	return console_add_bus(c, a->name, &a->index);
}

enum md_err mixer_add_bus(struct md_mixer *m, const char *name, int *index)
{
	struct strip_args a = {name, false, -1};
	enum md_err err = edit(m, do_add_bus, &a);
	if (!err && index)
		*index = a.index;
	return err;
}

static enum md_err do_remove_bus(struct md_console *c, void *arg)
{
	return console_remove_bus(c, ((struct strip_args *)arg)->index);
}

enum md_err mixer_remove_bus(struct md_mixer *m, int index)
{
	struct strip_args a = {NULL, false, index};
	return edit(m, do_remove_bus, &a);
}

static enum md_err do_rename_bus(struct md_console *c, void *arg)
{
	struct strip_args *a = arg;
	return console_rename_bus(c, a->index, a->name);
}

enum md_err mixer_rename_bus(struct md_mixer *m, int index, const char *name)
{
	struct strip_args a = {name, false, index};
	return edit(m, do_rename_bus, &a);
}

enum md_err mixer_replace(struct md_mixer *m, struct md_console *c)
{
	mx_end_all_passes(m);
	/* keep the ports (and so the user's wiring) of strips and buses that carry over by name and width */
	int16_t saved_master[2];
	memcpy(saved_master, c->master.out_slot, sizeof saved_master);
	memcpy(c->master.out_slot, m->con->master.out_slot, sizeof c->master.out_slot);
	for (int i = 0; i < c->nstrips; i++) {
		struct md_strip_model *s = c->strips[i];
		s->in_slot[0] = s->in_slot[1] = -1;
		int o = console_find_strip(m->con, s->name);
		if (o >= 0 && m->con->strips[o]->stereo == s->stereo)
			memcpy(s->in_slot, m->con->strips[o]->in_slot, sizeof s->in_slot);
	}
	for (int i = 0; i < c->nbuses; i++) {
		struct md_bus_model *b = c->buses[i];
		b->out_slot[0] = b->out_slot[1] = b->ret_slot[0] = b->ret_slot[1] = -1;
		int o = console_find_bus(m->con, b->name);
		if (o >= 0) {
			memcpy(b->out_slot, m->con->buses[o]->out_slot, sizeof b->out_slot);
			memcpy(b->ret_slot, m->con->buses[o]->ret_slot, sizeof b->ret_slot);
		}
	}
	struct md_console *old = m->con;
	m->con = c;
	enum md_err err = rebuild(m);
	if (err) {
		m->con = old;
		memcpy(c->master.out_slot, saved_master, sizeof saved_master);
		return err;
	}
	console_free(old);
	structure_changed(m);
	return MD_OK;
}

enum md_err mixer_set_rate(struct md_mixer *m, uint32_t rate)
{
	if (rate == 0)
		return MD_ERR_RANGE;
	m->rate = rate;
	return rebuild(m);
}

struct md_console *mixer_snapshot(struct md_mixer *m)
{
	if (m->host && m->host->read_conns)
		m->host->read_conns(m->host, m->con);
	mx_capture_plugin_states(m);
	return m->con;
}

static void resend(struct md_mixer *m, enum md_scope scope, int index, int nparams, uint64_t *words)
{
	for (int p = 0; p < nparams; p++) {
		if (!(words[p / 64] & (1ull << (p % 64))))
			continue;
		float v;
		console_get(m->con, scope, index, p, &v);
		if (!engine_send_param(m->eng, scope, index, p, v))
			return;
		words[p / 64] &= ~(1ull << (p % 64));
	}
}

void mixer_tick(struct md_mixer *m)
{
	/* a plugin reports another latency: a graph with the compensation for it */
	if (!m->rebuild_pending && !engine_swap_pending(m->eng) && engine_latency_changed(m->eng))
		m->rebuild_pending = true;
	if (m->rebuild_pending && !engine_swap_pending(m->eng))
		rebuild(m);
	if (!m->rebuild_pending && m->pending.any) {
		for (int i = 0; i < m->con->nstrips; i++)
			resend(m, MD_SCOPE_STRIP, i, MD_SP_COUNT, m->pending.strip[i]);
		for (int i = 0; i < m->con->nbuses; i++)
			resend(m, MD_SCOPE_BUS, i, MD_BP_COUNT, m->pending.bus[i]);
		resend(m, MD_SCOPE_MASTER, 0, MD_MP_COUNT, m->pending.master);
		bool any = false;
		for (size_t w = 0; w < sizeof m->pending / sizeof(uint64_t) - 1; w++)
			any |= ((uint64_t *)&m->pending)[w] != 0;
		m->pending.any = any;
	}
	if (!m->rebuild_pending && m->insert_resend)
		mx_insert_resend(m);
	mx_follow(m);
	/* ports go only once the graph playing is the console's own: not while its rebuild still waits */
	if (engine_collect(m->eng) > 0 && !engine_swap_pending(m->eng) && !m->rebuild_pending) {
		for (int16_t s = 0; s < MD_MAX_SLOTS; s++)
			m->held[s] = console_uses_slot(m->con, s);
		if (m->host && m->host->release_ports)
			m->host->release_ports(m->host, m->con);
	}
}

static void drain_words(md_dirty_fn fn, void *ctx, enum md_scope scope, int index, int nparams, uint64_t *words)
{
	for (int p = 0; p < nparams; p++)
		if (words[p / 64] & (1ull << (p % 64)))
			fn(ctx, scope, index, p);
	memset(words, 0, (size_t)MX_WORDS(nparams) * sizeof *words);
}

void mixer_drain_dirty(struct md_mixer *m, md_dirty_fn fn, void *ctx)
{
	if (!m->dirty.any)
		return;
	for (int i = 0; i < m->con->nstrips; i++)
		drain_words(fn, ctx, MD_SCOPE_STRIP, i, MD_SP_COUNT, m->dirty.strip[i]);
	for (int i = 0; i < m->con->nbuses; i++)
		drain_words(fn, ctx, MD_SCOPE_BUS, i, MD_BP_COUNT, m->dirty.bus[i]);
	drain_words(fn, ctx, MD_SCOPE_MASTER, 0, MD_MP_COUNT, m->dirty.master);
	m->dirty.any = false;
}

uint64_t mixer_changes(const struct md_mixer *m)
{
	return m->changes;
}

uint32_t mixer_structure_serial(const struct md_mixer *m)
{
	return m->serial;
}
