/* mixdesk: the mixer (control side): console model + engine + host ports. */
#include "engine/mixer/autorec.h"
#include "engine/lanes.h"
#include "engine/mixer/mixer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WORDS(n) (((n) + 63) / 64)

struct bits {
	uint64_t strip[MD_MAX_STRIPS][WORDS(MD_SP_COUNT)];
	uint64_t bus[MD_MAX_BUSES][WORDS(MD_BP_COUNT)];
	uint64_t master[WORDS(MD_MP_COUNT)];
	bool any;
};

#define MAX_PASSES 32

/* one recording pass of a held (or written) control */
struct pass {
	bool active;
	uint8_t scope;
	int index, param;
	bool held;     /* the controller still holds it */
	int n, cap;
	double *t;
	float *v;
};

struct md_mixer {
	struct md_console *con;
	struct md_engine *eng;
	struct md_mixer_host *host;
	uint32_t rate;
	bool held[MD_MAX_SLOTS]; /* slots a submitted graph may still use */
	bool rebuild_pending;
	uint32_t serial;
	struct bits dirty, pending;
	struct pass passes[MAX_PASSES];
	bool was_rolling;
	double follow_pos; /* the position lanes were last followed at */
};

static uint64_t *bitword(struct bits *b, enum md_scope scope, int index, int param)
{
	switch (scope) {
	case MD_SCOPE_STRIP: return &b->strip[index][param / 64];
	case MD_SCOPE_BUS: return &b->bus[index][param / 64];
	case MD_SCOPE_MASTER: return &b->master[param / 64];
	}
	return NULL;
}

static void bit_set(struct bits *b, enum md_scope scope, int index, int param)
{
	*bitword(b, scope, index, param) |= 1ull << (param % 64);
	b->any = true;
}

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
	for (int i = 0; i < MAX_PASSES; i++) {
		free(m->passes[i].t);
		free(m->passes[i].v);
	}
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

/* Build and submit a graph of the current console; on a full queue, retried by mixer_tick. */
static enum md_err rebuild(struct md_mixer *m)
{
	enum md_err err = assign_slots(m, m->con);
	if (err)
		return err;
	hold_console_slots(m);
	if (m->host && m->host->sync_ports && (err = m->host->sync_ports(m->host, m->con)))
		return err;
	struct md_graph *g = engine_build(m->eng, m->con, m->rate);
	if (!g)
		return MD_ERR_NOMEM;
	for (int i = 0; i < MAX_PASSES; i++) /* held controls stay held in the new graph from its first period */
		if (m->passes[i].active)
			engine_graph_hold(g, m->passes[i].scope, m->passes[i].index, m->passes[i].param);
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

static void structure_changed(struct md_mixer *m)
{
	m->serial++;
	memset(&m->dirty, 0, sizeof m->dirty);
}

static void record(struct md_mixer *m, enum md_scope scope, int index, int param, float v);

enum md_err mixer_set(struct md_mixer *m, enum md_scope scope, int index, int param, float v, float *stored,
		      bool *changed)
{
	float out;
	enum md_err err = console_set(m->con, scope, index, param, v, &out, changed);
	if (err)
		return err;
	if (stored)
		*stored = out;
	if (m->rebuild_pending || !engine_send_param(m->eng, scope, index, param, out))
		bit_set(&m->pending, scope, index, param);
	bit_set(&m->dirty, scope, index, param);
	record(m, scope, index, param, out);
	return MD_OK;
}

enum md_err mixer_get(const struct md_mixer *m, enum md_scope scope, int index, int param, float *v)
{
	return console_get(m->con, scope, index, param, v);
}

void mixer_mark_dirty(struct md_mixer *m, enum md_scope scope, int index, int param)
{
	if (index >= 0 && index < console_count(m->con, scope) && param >= 0 && param < md_param_count(scope))
		bit_set(&m->dirty, scope, index, param);
}

/* Apply a structural edit to a copy of the console, rebuild, and keep the copy only when that worked. */
typedef enum md_err (*edit_fn)(struct md_console *c, void *arg);

static void end_all_passes(struct md_mixer *m);

static enum md_err edit(struct md_mixer *m, edit_fn fn, void *arg)
{
	end_all_passes(m); /* indices may move: write what was recorded first */
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
	end_all_passes(m);
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

static void follow(struct md_mixer *m);

void mixer_tick(struct md_mixer *m)
{
	if (m->rebuild_pending)
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
	follow(m);
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
	memset(words, 0, (size_t)WORDS(nparams) * sizeof *words);
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

uint32_t mixer_structure_serial(const struct md_mixer *m)
{
	return m->serial;
}

/* ---- automation ---- */

void mixer_transport(struct md_mixer *m, bool *rolling, double *seconds)
{
	*rolling = false;
	*seconds = 0.0;
	if (m->host && m->host->transport)
		m->host->transport(m->host, rolling, seconds);
}

enum md_err mixer_transport_cmd(struct md_mixer *m, int cmd, double seconds)
{
	if (!m->host || !m->host->transport_cmd)
		return MD_ERR_NOTFOUND;
	/* JACK positions are 32-bit frame counts */
	if (cmd == MD_TRANSPORT_LOCATE && !(seconds >= 0.0 && seconds * (double)m->rate < 4294967295.0))
		return MD_ERR_RANGE;
	m->host->transport_cmd(m->host, cmd, seconds);
	return MD_OK;
}

/* Lane edits and passes change the model now and the engine at the next tick: one graph per tick however
 * many edits a burst brings, and a rebuild that fails is retried there. */
static void want_rebuild(struct md_mixer *m)
{
	m->rebuild_pending = true;
}

static struct pass *find_pass(struct md_mixer *m, enum md_scope scope, int index, int param)
{
	for (int i = 0; i < MAX_PASSES; i++) {
		struct pass *p = &m->passes[i];
		if (p->active && p->scope == scope && p->index == index && p->param == param)
			return p;
	}
	return NULL;
}

static void pass_append(struct pass *p, double t, float v)
{
	if (p->n && t <= p->t[p->n - 1]) { /* same instant: the newest value wins */
		p->v[p->n - 1] = v;
		return;
	}
	if (p->n == p->cap) {
		int cap = p->cap ? p->cap * 2 : 256;
		double *nt = realloc(p->t, (size_t)cap * sizeof *nt);
		if (!nt)
			return;
		p->t = nt;
		float *nv = realloc(p->v, (size_t)cap * sizeof *nv);
		if (!nv)
			return;
		p->v = nv;
		p->cap = cap;
	}
	p->t[p->n] = t;
	p->v[p->n] = v;
	p->n++;
}

static struct pass *start_pass(struct md_mixer *m, enum md_scope scope, int index, int param)
{
	struct pass *p = find_pass(m, scope, index, param);
	if (p)
		return p;
	for (int i = 0; i < MAX_PASSES; i++)
		if (!m->passes[i].active) {
			p = &m->passes[i];
			*p = (struct pass){.active = true, .scope = (uint8_t)scope, .index = index, .param = param};
			engine_send_override(m->eng, scope, index, param, true);
			return p;
		}
	return NULL;
}

/* Thin the pass and write it over the lane's points in the pass's time range, then rebuild. */
static void end_pass(struct md_mixer *m, struct pass *p)
{
	struct md_lane *l = console_lane(m->con, (enum md_scope)p->scope, p->index, p->param, true);
	const struct md_param_desc *d = md_param_desc((enum md_scope)p->scope, p->param);
	if (l && d && p->n > 0) {
		bool step = d->kind != MD_KIND_FLOAT;
		int n = autorec_thin(p->t, p->v, p->n, autorec_tolerance(d), step);
		double t0 = p->t[0], t1 = p->t[n - 1];
		/* where the pass ends, the old lane takes over again at its own value */
		float after = lanes_value(l, t1 + 1e-3, step);
		bool had_after = l->npoints && l->t[l->npoints - 1] > t1;
		int k = 0;
		for (int i = 0; i < l->npoints; i++)
			if (l->t[i] < t0 || l->t[i] > t1) {
				l->t[k] = l->t[i];
				l->v[k] = l->v[i];
				k++;
			}
		l->npoints = k;
		for (int i = 0; i < n; i++)
			console_lane_add_point(l, p->t[i], p->v[i]);
		if (had_after && after != p->v[n - 1])
			console_lane_add_point(l, t1 + 0.01, after); /* a short glide back rather than a jump */
	}
	/* no release to send: the graph built from the new lane starts released */
	free(p->t);
	free(p->v);
	*p = (struct pass){0};
	want_rebuild(m);
}

static void end_all_passes(struct md_mixer *m)
{
	for (int i = 0; i < MAX_PASSES; i++)
		if (m->passes[i].active)
			end_pass(m, &m->passes[i]);
}

static void record(struct md_mixer *m, enum md_scope scope, int index, int param, float v)
{
	bool rolling;
	double now;
	struct md_lane *l = console_lane(m->con, scope, index, param, false);
	if (!l || l->mode == MD_AUTO_OFF || l->mode == MD_AUTO_READ)
		return;
	struct pass *p = find_pass(m, scope, index, param);
	if (!p && l->mode != MD_AUTO_WRITE)
		return; /* touch and latch record only while the control is held */
	mixer_transport(m, &rolling, &now);
	if (!rolling)
		return;
	if (!p && !(p = start_pass(m, scope, index, param)))
		return;
	pass_append(p, now, v);
}

enum md_err mixer_set_auto_mode(struct md_mixer *m, enum md_scope scope, int index, int param, int mode)
{
	if (mode < 0 || mode >= MD_AUTO_COUNT)
		return MD_ERR_RANGE;
	const struct md_param_desc *d = md_param_desc(scope, param);
	if (!d || index < 0 || index >= console_count(m->con, scope))
		return MD_ERR_NOTFOUND;
	if (!d->automatable)
		return MD_ERR_TYPE;
	struct md_lane *l = console_lane(m->con, scope, index, param, true);
	if (!l)
		return MD_ERR_NOMEM;
	struct pass *p = find_pass(m, scope, index, param);
	if (p)
		end_pass(m, p);
	l->mode = mode;
	want_rebuild(m);
	return MD_OK;
}

int mixer_auto_mode(const struct md_mixer *m, enum md_scope scope, int index, int param)
{
	struct md_lane *l = console_lane(m->con, scope, index, param, false);
	return l ? l->mode : MD_AUTO_OFF;
}

enum md_err mixer_touch(struct md_mixer *m, enum md_scope scope, int index, int param, bool held)
{
	const struct md_param_desc *d = md_param_desc(scope, param);
	if (!d || index < 0 || index >= console_count(m->con, scope))
		return MD_ERR_NOTFOUND;
	struct md_lane *l = console_lane(m->con, scope, index, param, false);
	if (!l || (l->mode != MD_AUTO_TOUCH && l->mode != MD_AUTO_LATCH))
		return MD_OK; /* nothing to record: touch only matters to touch and latch lanes */
	struct pass *p = find_pass(m, scope, index, param);
	if (held) {
		bool rolling;
		double now;
		if (!p && !(p = start_pass(m, scope, index, param)))
			return MD_ERR_FULL;
		p->held = true;
		mixer_transport(m, &rolling, &now);
		float v;
		console_get(m->con, scope, index, param, &v);
		if (rolling)
			pass_append(p, now, v);
		return MD_OK;
	}
	if (p) {
		p->held = false;
		if (l->mode == MD_AUTO_TOUCH)
			end_pass(m, p); /* latch keeps writing the last value until the transport stops */
	}
	return MD_OK;
}

/* [control] each tick: latch and write passes end when the transport stops; playing lanes move the
 * console's values (for feedback), without sending them: the engine plays the lanes itself */
static void follow(struct md_mixer *m)
{
	bool rolling;
	double now;
	mixer_transport(m, &rolling, &now);
	for (int i = 0; i < MAX_PASSES; i++) {
		struct pass *p = &m->passes[i];
		if (!p->active)
			continue;
		if (!rolling && m->was_rolling) {
			end_pass(m, p);
			continue;
		}
		if (rolling && !p->held && p->n) /* latched: keep the last value going */
			pass_append(p, now, p->v[p->n - 1]);
	}
	m->was_rolling = rolling;
	/* like the engine: lanes move the values while rolling, and once after a locate; when stopped, a
	 * manual move stays (the model must say what the audio does) */
	bool moved = rolling || now != m->follow_pos;
	m->follow_pos = now;
	if (!moved)
		return;
	for (int scope = MD_SCOPE_STRIP; scope <= MD_SCOPE_MASTER; scope++)
		for (int i = 0; i < console_count(m->con, (enum md_scope)scope); i++) {
			struct md_lane *lanes;
			int n;
			console_lanes(m->con, (enum md_scope)scope, i, &lanes, &n);
			for (int k = 0; k < n; k++) {
				struct md_lane *l = &lanes[k];
				if (!l->npoints || find_pass(m, (enum md_scope)scope, i, l->param))
					continue;
				if (l->mode != MD_AUTO_READ && l->mode != MD_AUTO_TOUCH && l->mode != MD_AUTO_LATCH)
					continue;
				const struct md_param_desc *d = md_param_desc((enum md_scope)scope, l->param);
				float v = lanes_value(l, now, d->kind != MD_KIND_FLOAT), cur;
				console_get(m->con, (enum md_scope)scope, i, l->param, &cur);
				if (v != cur) {
					console_set(m->con, (enum md_scope)scope, i, l->param, v, NULL, NULL);
					bit_set(&m->dirty, (enum md_scope)scope, i, l->param);
				}
			}
		}
}

static struct md_lane *edit_lane(struct md_mixer *m, enum md_scope scope, int index, int param, bool create)
{
	const struct md_param_desc *d = md_param_desc(scope, param);
	if (!d || !d->automatable || index < 0 || index >= console_count(m->con, scope))
		return NULL;
	return console_lane(m->con, scope, index, param, create);
}

enum md_err mixer_lane_add(struct md_mixer *m, enum md_scope scope, int index, int param, double t, float v)
{
	if (!(t >= 0.0 && isfinite(t)))
		return MD_ERR_RANGE;
	struct md_lane *l = edit_lane(m, scope, index, param, true);
	if (!l)
		return MD_ERR_NOTFOUND;
	float cv;
	enum md_err err = md_param_clamp(md_param_desc(scope, param), v, &cv, NULL);
	if (err)
		return err;
	if ((err = console_lane_add_point(l, t, cv)))
		return err;
	want_rebuild(m);
	return MD_OK;
}

enum md_err mixer_lane_delete(struct md_mixer *m, enum md_scope scope, int index, int param, int point)
{
	struct md_lane *l = edit_lane(m, scope, index, param, false);
	if (!l || point < 0 || point >= l->npoints)
		return MD_ERR_NOTFOUND;
	memmove(&l->t[point], &l->t[point + 1], (size_t)(l->npoints - point - 1) * sizeof *l->t);
	memmove(&l->v[point], &l->v[point + 1], (size_t)(l->npoints - point - 1) * sizeof *l->v);
	l->npoints--;
	want_rebuild(m);
	return MD_OK;
}

enum md_err mixer_lane_move(struct md_mixer *m, enum md_scope scope, int index, int param, int point, double t,
			    float v)
{
	struct md_lane *l = edit_lane(m, scope, index, param, false);
	if (!l || point < 0 || point >= l->npoints)
		return MD_ERR_NOTFOUND;
	if (!(t >= 0.0 && isfinite(t)))
		return MD_ERR_RANGE;
	float cv;
	enum md_err err = md_param_clamp(md_param_desc(scope, param), v, &cv, NULL);
	if (err)
		return err;
	memmove(&l->t[point], &l->t[point + 1], (size_t)(l->npoints - point - 1) * sizeof *l->t);
	memmove(&l->v[point], &l->v[point + 1], (size_t)(l->npoints - point - 1) * sizeof *l->v);
	l->npoints--;
	if ((err = console_lane_add_point(l, t, cv)))
		return err;
	want_rebuild(m);
	return MD_OK;
}

enum md_err mixer_lane_clear(struct md_mixer *m, enum md_scope scope, int index, int param, double t0, double t1)
{
	struct md_lane *l = edit_lane(m, scope, index, param, false);
	if (!l)
		return MD_ERR_NOTFOUND;
	int k = 0;
	for (int i = 0; i < l->npoints; i++)
		if (t0 <= t1 && (l->t[i] < t0 || l->t[i] > t1)) {
			l->t[k] = l->t[i];
			l->v[k] = l->v[i];
			k++;
		}
	l->npoints = k;
	want_rebuild(m);
	return MD_OK;
}
