/* mixdesk: the mixer's plugin inserts (control side): loading a plugin into a slot (checked, then built
 * with a new graph), bypass, parameters by port symbol (kept in the model, sent to the audio thread), their
 * feedback marks, and the resend when the queue was full. */
#include "engine/mixer/mixer.h"
#include "engine/mixer/mixer_int.h"
#include "engine/plugin.h"

#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* every running plugin's state into its slot's "state" as {"lv2": "<turtle>"}; a plugin without state:interface
 * keeps what the slot had */
static void capture_object(struct md_mixer *m, enum md_scope scope, int index)
{
	struct md_insert *ins = console_inserts(m->con, scope, index);
	for (int k = 0; k < MD_MAX_INSERTS; k++) {
		if (!ins[k].uri)
			continue;
		char *ttl = engine_insert_state(m->eng, scope, index, k, m->con->dir);
		if (!ttl)
			continue;
		json_object *o = json_object_new_object();
		if (o && json_object_object_add(o, "lv2", json_object_new_string(ttl)) == 0)
			console_insert_set_state(&ins[k],
						 json_object_to_json_string_ext(
							 o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
		free(ttl);
	}
}

void mx_capture_plugin_states(struct md_mixer *m)
{
	if (m->rebuild_pending) /* the submitted graph is not the console's yet: its instances may be others */
		return;
	for (int i = 0; i < m->con->nstrips; i++)
		capture_object(m, MD_SCOPE_STRIP, i);
	for (int i = 0; i < m->con->nbuses; i++)
		capture_object(m, MD_SCOPE_BUS, i);
	capture_object(m, MD_SCOPE_MASTER, 0);
}

void mixer_set_allow_non_rt(struct md_mixer *m, bool allow)
{
	m->allow_non_rt = allow;
	engine_set_plugin_policy(m->eng, allow, false);
}

static struct md_insert *slot_of(const struct md_mixer *m, enum md_scope scope, int index, int slot)
{
	struct md_insert *ins = console_inserts(m->con, scope, index);
	return ins && slot >= 0 && slot < MD_MAX_INSERTS ? &ins[slot] : NULL;
}

const struct md_insert *mixer_insert(const struct md_mixer *m, enum md_scope scope, int index, int slot)
{
	return slot_of(m, scope, index, slot);
}

static void mark(struct md_mixer *m, enum md_scope scope, int index, int slot, int param)
{
	m->changes++;
	for (int i = 0; i < m->ninsert_marks; i++) {
		struct mx_insert_mark *k = &m->insert_marks[i];
		if (k->scope == scope && k->index == index && k->slot == slot && k->param == param)
			return;
	}
	if (m->ninsert_marks == MX_INSERT_MARKS) { /* a flood over a thousand controls: the oldest mark goes */
		memmove(&m->insert_marks[0], &m->insert_marks[1], (MX_INSERT_MARKS - 1) * sizeof m->insert_marks[0]);
		m->ninsert_marks--;
	}
	m->insert_marks[m->ninsert_marks++] = (struct mx_insert_mark){
		.scope = (uint8_t)scope, .index = index, .slot = (uint8_t)slot, .param = (int16_t)param};
}

void mixer_drain_insert_dirty(struct md_mixer *m, md_insert_dirty_fn fn, void *ctx)
{
	int n = m->ninsert_marks;
	m->ninsert_marks = 0;
	for (int i = 0; i < n; i++) {
		const struct mx_insert_mark *k = &m->insert_marks[i];
		fn(ctx, (enum md_scope)k->scope, k->index, k->slot, k->param);
	}
}

/* the width of the path a slot is on */
static int path_channels(const struct md_mixer *m, enum md_scope scope, int index)
{
	return scope == MD_SCOPE_STRIP ? (m->con->strips[index]->stereo ? 2 : 1) : 2;
}

enum md_err mixer_insert_load(struct md_mixer *m, enum md_scope scope, int index, int slot, const char *uri, char *err,
			      size_t errlen)
{
	struct md_insert *ins = slot_of(m, scope, index, slot);
	if (!ins) {
		snprintf(err, errlen, "no such %s or insert slot (slots are 1..%d)",
			 scope == MD_SCOPE_STRIP ? "strip"
			 : scope == MD_SCOPE_BUS ? "bus"
						 : "master",
			 MD_MAX_INSERTS);
		return MD_ERR_NOTFOUND;
	}
	if (uri && !plugins_check(uri, path_channels(m, scope, index), m->allow_non_rt, err, errlen))
		return MD_ERR_TYPE;
	struct md_insert was = *ins;
	memset(ins, 0, sizeof *ins);
	enum md_err e = console_insert_load(ins, uri);
	if (!e)
		e = mx_rebuild(m);
	if (e) {
		console_insert_load(ins, NULL);
		*ins = was;
		snprintf(err, errlen, "%s", md_strerror(e));
		return e;
	}
	console_insert_load(&was, NULL); /* frees what the slot held */
	m->serial++;                     /* a controller redraws its page */
	m->changes++;
	return MD_OK;
}

enum md_err mixer_insert_bypass(struct md_mixer *m, enum md_scope scope, int index, int slot, bool on)
{
	struct md_insert *ins = slot_of(m, scope, index, slot);
	if (!ins || !ins->uri)
		return MD_ERR_NOTFOUND;
	ins->bypass = on;
	if (!m->rebuild_pending && !engine_send_insert_bypass(m->eng, scope, index, slot, on))
		m->insert_resend = true;
	mark(m, scope, index, slot, -1);
	return MD_OK;
}

/* the parameter `symbol` of the plugin in a slot: its index in plugins_params order, or -1 */
static int param_of(const struct md_insert *ins, const char *symbol, const struct md_plugin_param **q)
{
	const struct md_plugin_param *ps;
	int n = ins && ins->uri && symbol ? plugins_params(ins->uri, &ps) : -1;
	for (int i = 0; i < n; i++)
		if (strcmp(ps[i].symbol, symbol) == 0) {
			*q = &ps[i];
			return i;
		}
	return -1;
}

enum md_err mixer_insert_set(struct md_mixer *m, enum md_scope scope, int index, int slot, const char *symbol, float v,
			     float *stored)
{
	struct md_insert *ins = slot_of(m, scope, index, slot);
	const struct md_plugin_param *q;
	int k = param_of(ins, symbol, &q);
	if (k < 0)
		return MD_ERR_NOTFOUND;
	if (!isfinite(v))
		return MD_ERR_NAN;
	v = fminf(q->max, fmaxf(q->min, v));
	if (q->toggle)
		v = v >= 0.5f * (q->min + q->max) ? q->max : q->min;
	else if (q->integer || q->enumeration)
		v = roundf(v);
	enum md_err e = console_insert_set_param(ins, symbol, v);
	if (e)
		return e;
	if (stored)
		*stored = v;
	if (!m->rebuild_pending && !engine_send_insert_param(m->eng, scope, index, slot, k, v))
		m->insert_resend = true;
	mark(m, scope, index, slot, k);
	return MD_OK;
}

enum md_err mixer_insert_get(const struct md_mixer *m, enum md_scope scope, int index, int slot, const char *symbol,
			     float *v)
{
	const struct md_insert *ins = slot_of(m, scope, index, slot);
	const struct md_plugin_param *q;
	if (param_of(ins, symbol, &q) < 0)
		return MD_ERR_NOTFOUND;
	if (!console_insert_get_param(ins, symbol, v))
		*v = q->def;
	return MD_OK;
}

/* every kept value and bypass of one object's slots again; false when the queue is full again */
static bool resend_object(struct md_mixer *m, enum md_scope scope, int index)
{
	struct md_insert *ins = console_inserts(m->con, scope, index);
	for (int s = 0; s < MD_MAX_INSERTS; s++) {
		if (!ins[s].uri)
			continue;
		if (!engine_send_insert_bypass(m->eng, scope, index, s, ins[s].bypass))
			return false;
		for (int i = 0; i < ins[s].nparams; i++) {
			const struct md_plugin_param *q;
			int k = param_of(&ins[s], ins[s].params[i].symbol, &q);
			if (k >= 0 && !engine_send_insert_param(m->eng, scope, index, s, k, ins[s].params[i].value))
				return false;
		}
	}
	return true;
}

void mx_insert_resend(struct md_mixer *m)
{
	bool ok = true;
	for (int i = 0; ok && i < m->con->nstrips; i++)
		ok = resend_object(m, MD_SCOPE_STRIP, i);
	for (int i = 0; ok && i < m->con->nbuses; i++)
		ok = resend_object(m, MD_SCOPE_BUS, i);
	if (ok)
		ok = resend_object(m, MD_SCOPE_MASTER, 0);
	m->insert_resend = !ok;
}

/* the lane of a loaded plugin's parameter (created when asked), and the parameter; NULL when there is none */
static struct md_lane *lane_of(struct md_mixer *m, enum md_scope scope, int index, int slot, const char *symbol,
			       bool create, const struct md_plugin_param **q)
{
	struct md_insert *ins = slot_of(m, scope, index, slot);
	if (param_of(ins, symbol, q) < 0)
		return NULL;
	return console_insert_lane(ins, symbol, create);
}

enum md_err mixer_insert_auto_mode(struct md_mixer *m, enum md_scope scope, int index, int slot, const char *symbol,
				   int mode)
{
	if (mode < 0 || mode >= MD_AUTO_COUNT)
		return MD_ERR_RANGE;
	const struct md_plugin_param *q;
	struct md_insert *ins = slot_of(m, scope, index, slot);
	if (param_of(ins, symbol, &q) < 0)
		return MD_ERR_NOTFOUND;
	struct md_lane *l = console_insert_lane(ins, symbol, true);
	if (!l)
		return MD_ERR_NOMEM;
	l->mode = mode;
	m->rebuild_pending = true; /* the graph holds the lanes that play */
	m->changes++;
	return MD_OK;
}

enum md_err mixer_insert_lane_add(struct md_mixer *m, enum md_scope scope, int index, int slot, const char *symbol,
				  double t, float v)
{
	if (!(t >= 0.0 && isfinite(t)))
		return MD_ERR_RANGE;
	if (!isfinite(v))
		return MD_ERR_NAN;
	const struct md_plugin_param *q;
	struct md_lane *l = lane_of(m, scope, index, slot, symbol, true, &q);
	if (!l)
		return MD_ERR_NOTFOUND;
	v = fminf(q->max, fmaxf(q->min, v));
	if (q->toggle)
		v = v >= 0.5f * (q->min + q->max) ? q->max : q->min;
	else if (q->integer || q->enumeration)
		v = roundf(v);
	enum md_err e = console_lane_add_point(l, t, v);
	if (!e) {
		m->rebuild_pending = true;
		m->changes++;
	}
	return e;
}

enum md_err mixer_insert_lane_clear(struct md_mixer *m, enum md_scope scope, int index, int slot, const char *symbol,
				    double t0, double t1)
{
	const struct md_plugin_param *q;
	struct md_lane *l = lane_of(m, scope, index, slot, symbol, false, &q);
	if (!l) /* no lane: nothing to clear, unless the parameter itself is not there */
		return param_of(slot_of(m, scope, index, slot), symbol, &q) < 0 ? MD_ERR_NOTFOUND : MD_OK;
	int k = 0;
	for (int i = 0; i < l->npoints; i++)
		if (t0 <= t1 && (l->t[i] < t0 || l->t[i] > t1)) {
			l->t[k] = l->t[i];
			l->v[k++] = l->v[i];
		}
	l->npoints = k;
	m->rebuild_pending = true;
	m->changes++;
	return MD_OK;
}

const struct md_lane *mixer_insert_lane(const struct md_mixer *m, enum md_scope scope, int index, int slot,
					const char *symbol)
{
	const struct md_plugin_param *q;
	return lane_of((struct md_mixer *)m, scope, index, slot, symbol, false, &q);
}
