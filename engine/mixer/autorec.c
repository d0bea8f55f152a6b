/* mixdesk: automation on the control side (the engine plays lanes; this records, edits and follows them):
 * the transport, lane modes, recording passes of held or written controls (touch, latch, write) thinned
 * to the fewest breakpoints (Ramer-Douglas-Peucker) when they end, following playing lanes in the model
 * for feedback, and point edits. Every function is [control] unless marked. */
#include "engine/mixer/autorec.h"
#include "engine/lanes.h"
#include "engine/mixer/mixer.h"
#include "engine/mixer/mixer_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

float autorec_tolerance(const struct md_param_desc *d)
{
	return d->unit == MD_UNIT_DB ? 0.1f : 0.005f * (d->max - d->min);
}

/* Ramer-Douglas-Peucker on (t, v) with a vertical tolerance; keep[] marks the survivors. */
static void rdp(const double *t, const float *v, bool *keep, int a, int b, float tol, bool step)
{
	if (b <= a + 1)
		return;
	float worst = 0.0f;
	int wi = -1;
	for (int i = a + 1; i < b; i++) {
		float line = step ? v[a]
				  : (float)((double)v[a] + (t[i] - t[a]) / (t[b] - t[a]) * (double)(v[b] - v[a]));
		float d = fabsf(v[i] - line);
		if (d > worst) {
			worst = d;
			wi = i;
		}
	}
	if (wi >= 0 && worst > tol) {
		keep[wi] = true;
		rdp(t, v, keep, a, wi, tol, step);
		rdp(t, v, keep, wi, b, tol, step);
	}
}

int autorec_thin(double *t, float *v, int n, float tol, bool step)
{
	if (n <= 2)
		return n;
	bool *keep = calloc((size_t)n, sizeof *keep);
	if (!keep)
		return n;
	keep[0] = keep[n - 1] = true;
	if (step) { /* a switch keeps every change and the point before it */
		for (int i = 1; i < n; i++)
			if (v[i] != v[i - 1])
				keep[i] = true;
	} else {
		rdp(t, v, keep, 0, n - 1, tol, step);
	}
	int k = 0;
	for (int i = 0; i < n; i++)
		if (keep[i]) {
			t[k] = t[i];
			v[k] = v[i];
			k++;
		}
	free(keep);
	return k;
}

/* ---- recording, modes, following, lane edits ---- */

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
/* a lane or its mode changed: the graph that plays lanes is rebuilt, and the session has changed */
static void want_rebuild(struct md_mixer *m)
{
	m->rebuild_pending = true;
	m->changes++;
}

static struct mx_pass *find_pass(struct md_mixer *m, enum md_scope scope, int index, int param)
{
	for (int i = 0; i < MX_MAX_PASSES; i++) {
		struct mx_pass *p = &m->passes[i];
		if (p->active && p->scope == scope && p->index == index && p->param == param)
			return p;
	}
	return NULL;
}

static void pass_append(struct mx_pass *p, double t, float v)
{
	if (p->n && t <= p->t[p->n - 1]) { /* same instant: the newest value wins */
		p->v[p->n - 1] = v;
		return;
	}
	if (p->n >= MD_PASS_POINTS_MAX) {
		/* a controller that streams moves for hours: thin what was recorded so far (what end_pass would
		 * keep anyway) so the pass stays bounded; a pass that cannot be thinned stops growing */
		const struct md_param_desc *d = md_param_desc((enum md_scope)p->scope, p->param);
		if (d)
			p->n = autorec_thin(p->t, p->v, p->n, autorec_tolerance(d), d->kind != MD_KIND_FLOAT);
		if (p->n > MD_PASS_POINTS_MAX - MD_PASS_POINTS_MAX / 4) {
			p->t[p->n - 1] = t;
			p->v[p->n - 1] = v;
			return;
		}
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

static struct mx_pass *start_pass(struct md_mixer *m, enum md_scope scope, int index, int param)
{
	struct mx_pass *p = find_pass(m, scope, index, param);
	if (p)
		return p;
	for (int i = 0; i < MX_MAX_PASSES; i++)
		if (!m->passes[i].active) {
			p = &m->passes[i];
			*p = (struct mx_pass){.active = true, .scope = (uint8_t)scope, .index = index, .param = param};
			/* while a rebuild waits, the engine's graph may number objects otherwise: the new graph
			 * starts held (mx_hold_passes) */
			if (!m->rebuild_pending)
				engine_send_override(m->eng, scope, index, param, true);
			return p;
		}
	return NULL;
}

/* Thin the pass and write it over the lane's points in the pass's time range, then rebuild. */
static void end_pass(struct md_mixer *m, struct mx_pass *p)
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
	*p = (struct mx_pass){0};
	want_rebuild(m);
}

void mx_end_all_passes(struct md_mixer *m)
{
	for (int i = 0; i < MX_MAX_PASSES; i++)
		if (m->passes[i].active)
			end_pass(m, &m->passes[i]);
}

void mx_hold_passes(struct md_mixer *m, struct md_graph *g)
{
	for (int i = 0; i < MX_MAX_PASSES; i++)
		if (m->passes[i].active)
			engine_graph_hold(g, m->passes[i].scope, m->passes[i].index, m->passes[i].param);
}

void mx_free_passes(struct md_mixer *m)
{
	for (int i = 0; i < MX_MAX_PASSES; i++) {
		free(m->passes[i].t);
		free(m->passes[i].v);
	}
}

void mx_record(struct md_mixer *m, enum md_scope scope, int index, int param, float v)
{
	bool rolling;
	double now;
	struct md_lane *l = console_lane(m->con, scope, index, param, false);
	if (!l || l->mode == MD_AUTO_OFF || l->mode == MD_AUTO_READ)
		return;
	struct mx_pass *p = find_pass(m, scope, index, param);
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
	struct mx_pass *p = find_pass(m, scope, index, param);
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
	struct mx_pass *p = find_pass(m, scope, index, param);
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
void mx_follow(struct md_mixer *m)
{
	bool rolling;
	double now;
	mixer_transport(m, &rolling, &now);
	for (int i = 0; i < MX_MAX_PASSES; i++) {
		struct mx_pass *p = &m->passes[i];
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
					mx_bit_set(&m->dirty, (enum md_scope)scope, i, l->param);
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

enum md_err mixer_lane_move(struct md_mixer *m, enum md_scope scope, int index, int param, int point, double t, float v)
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
