/* mixdesk: LV2 plugin inserts over OSC (docs/OSC.md, "Plugin inserts"): /…/insert/K/plugin, remove,
 * bypass, param/SYMBOL, params and latency under /ch/N/, /bus/N/ and /master/, the /plugins list, the
 * slots' part of a dump, their coalesced feedback (the mixer's insert marks, drained with the other
 * parameters'), and the problems a graph build had with an insert, told to subscribers. The mixer does the
 * work (engine/mixer/mixer.h: checked, built off the audio thread, clamped); this file checks and answers.
 * Slots are 1..MD_MAX_INSERTS here, 0-based in the mixer. Every function is [control]. */
#include "control/control_int.h"
#include "control/oscnet.h"

#include "engine/plugin.h"

#include <float.h>
#include <lo/lo.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define MD_OSC_URI_MAX 256 /* longer URIs are refused before a lookup, so an /error never quotes one */

/* "/ch/3/insert/2/" + what ("plugin", "param/gain"); the master's without a number */
static void slot_path(char *buf, size_t len, enum md_scope scope, int index, int slot, const char *what)
{
	if (scope == MD_SCOPE_STRIP)
		snprintf(buf, len, "/ch/%d/insert/%d/%s", index + 1, slot + 1, what);
	else if (scope == MD_SCOPE_BUS)
		snprintf(buf, len, "/bus/%d/insert/%d/%s", index + 1, slot + 1, what);
	else
		snprintf(buf, len, "/master/insert/%d/%s", slot + 1, what);
}

/* "strip 2", "bus 1", "the master", for messages */
static const char *object_name(char *buf, size_t len, enum md_scope scope, int index)
{
	if (scope == MD_SCOPE_MASTER)
		snprintf(buf, len, "the master");
	else
		snprintf(buf, len, "%s %d", scope == MD_SCOPE_STRIP ? "strip" : "bus", index + 1);
	return buf;
}

/* the object and slot a matched route names: /master/insert/K has the slot as its only number */
struct slotref {
	enum md_scope scope;
	int index, slot;
	char what[64]; /* "insert 2 of strip 3" */
	const struct md_insert *ins;
};

/* The slot of a request, or false after an /error (a slot outside 1..MD_MAX_INSERTS). */
static bool slot_of(struct md_control *c, const struct req *r, struct slotref *s)
{
	s->scope = (enum md_scope)r->scope;
	s->index = s->scope == MD_SCOPE_MASTER ? 0 : r->index;
	s->slot = s->scope == MD_SCOPE_MASTER ? r->index : r->index2;
	if (s->slot < 0 || s->slot >= MD_MAX_INSERTS) {
		oscnet_error(&c->net, r->path, "no insert slot %d: slots are numbered 1..%d", s->slot + 1,
			     MD_MAX_INSERTS);
		return false;
	}
	char obj[32];
	snprintf(s->what, sizeof s->what, "insert %d of %s", s->slot + 1,
		 object_name(obj, sizeof obj, s->scope, s->index));
	s->ins = mixer_insert(c->m, s->scope, s->index, s->slot);
	if (!s->ins)
		oscnet_error(&c->net, r->path, "no %s", s->what);
	return s->ins != NULL;
}

/* The slot's installed plugin's parameters (their count), or -1 after an /error: an empty slot, or a
 * plugin that is not installed here (a placeholder keeps its settings but has no parameters to set). */
static int loaded_params(struct md_control *c, const struct req *r, const struct slotref *s,
			 const struct md_plugin_param **ps)
{
	char addr[96];
	if (!s->ins->uri) {
		slot_path(addr, sizeof addr, s->scope, s->index, s->slot, "plugin");
		oscnet_error(&c->net, r->path, "%s is empty: load a plugin first with %s s URI", s->what, addr);
		return -1;
	}
	int n = plugins_params(s->ins->uri, ps);
	if (n < 0)
		oscnet_error(&c->net, r->path,
			     "%s holds <%s>, which is not installed here: the slot passes the signal through and keeps "
			     "its settings, but has no parameters to set or list",
			     s->what, s->ins->uri);
	return n;
}

static void reply_string(struct md_control *c, const char *path, const char *v)
{
	lo_message m = lo_message_new();
	lo_message_add_string(m, v);
	oscnet_reply(&c->net, path, m);
}

/* ---- echo suppression, as for the other parameters (control/feedback.c's on_dirty) ---- */

static struct md_insert_last *last_find(struct md_control *c, enum md_scope scope, int index, int slot, int param)
{
	for (int i = 0; i < c->nins_last; i++) {
		struct md_insert_last *l = &c->ins_last[i];
		if (l->scope == (int)scope && l->index == index && l->slot == slot && l->param == param)
			return l;
	}
	return NULL;
}

static void last_forget(struct md_control *c, struct md_insert_last *l)
{
	int i = (int)(l - c->ins_last);
	memmove(&c->ins_last[i], &c->ins_last[i + 1], (size_t)(c->nins_last - i - 1) * sizeof c->ins_last[0]);
	c->nins_last--;
}

/* the current sender set a slot's parameter (or bypass, param -1) to value: its echo can be spared */
static void note_set(struct md_control *c, const struct slotref *s, int param, float value)
{
	struct md_insert_last *l = last_find(c, s->scope, s->index, s->slot, param);
	if (l)
		last_forget(c, l);
	if (!c->cur_sub)
		return;
	if (c->nins_last == MD_OSC_INSERT_LAST) /* the oldest goes: at worst its setter gets an echo */
		last_forget(c, &c->ins_last[0]);
	c->ins_last[c->nins_last++] = (struct md_insert_last){.scope = (int)s->scope,
							      .index = s->index,
							      .slot = s->slot,
							      .param = param,
							      .sub = c->cur_sub->id,
							      .value = value};
}

void ctl_insert_forget(struct md_control *c)
{
	c->nins_last = 0;
}

/* ---- handlers ---- */

void ctl_h_insert_plugin(struct md_control *c, const struct req *r)
{
	struct slotref s;
	if (!slot_of(c, r, &s))
		return;
	if (r->argc == 0) {
		reply_string(c, r->path, s.ins->uri ? s.ins->uri : "");
		return;
	}
	const char *uri = r->a[0].s[0] ? r->a[0].s : NULL; /* "" empties the slot, as /remove does */
	size_t len = uri ? strlen(uri) : 0;
	if (len > MD_OSC_URI_MAX) { /* quoted in full, it would crowd out the rest of the /error */
		oscnet_error(&c->net, r->path,
			     "plugin URI too long (%zu bytes): expected at most %d bytes (see /plugins)", len,
			     MD_OSC_URI_MAX);
		return;
	}
	if (uri || s.ins->uri) {
		char err[800];
		enum md_err e = mixer_insert_load(c->m, s.scope, s.index, s.slot, uri, err, sizeof err);
		if (e) {
			oscnet_error(&c->net, r->path, "cannot load into %s: %s", s.what, err);
			return;
		}
	}
	/* a load is answered, as /ch/add is: it was checked and is built now, or right after a crossfade in
	 * progress (the mixer builds one graph at a time) */
	s.ins = mixer_insert(c->m, s.scope, s.index, s.slot);
	reply_string(c, r->path, s.ins->uri ? s.ins->uri : "");
}

void ctl_h_insert_remove(struct md_control *c, const struct req *r)
{
	struct slotref s;
	if (!slot_of(c, r, &s))
		return;
	if (s.ins->uri) {
		char err[800];
		enum md_err e = mixer_insert_load(c->m, s.scope, s.index, s.slot, NULL, err, sizeof err);
		if (e) {
			oscnet_error(&c->net, r->path, "cannot empty %s: %s", s.what, err);
			return;
		}
	}
	char addr[96];
	slot_path(addr, sizeof addr, s.scope, s.index, s.slot, "plugin");
	reply_string(c, addr, "");
}

void ctl_h_insert_bypass(struct md_control *c, const struct req *r)
{
	struct slotref s;
	const struct md_plugin_param *ps;
	if (!slot_of(c, r, &s))
		return;
	if (!s.ins->uri) {
		loaded_params(c, r, &s, &ps); /* the empty slot's /error */
		return;
	}
	if (r->argc == 0) {
		lo_message m = lo_message_new();
		lo_message_add_int32(m, s.ins->bypass ? 1 : 0);
		oscnet_reply(&c->net, r->path, m);
		return;
	}
	bool on = r->a[0].num >= 0.5;
	enum md_err e = mixer_insert_bypass(c->m, s.scope, s.index, s.slot, on);
	if (e) {
		oscnet_error(&c->net, r->path, "cannot bypass %s: %s", s.what, md_strerror(e));
		return;
	}
	note_set(c, &s, -1, on ? 1.0f : 0.0f);
	if (r->a[0].num != (on ? 1.0 : 0.0)) { /* 0.7 was taken as 1 */
		lo_message m = lo_message_new();
		lo_message_add_int32(m, on ? 1 : 0);
		oscnet_reply(&c->net, r->path, m);
	}
}

/* what a value of parameter p looks like, for /error */
static void expect_of(const struct md_plugin_param *p, char *buf, size_t len)
{
	if (p->toggle)
		snprintf(buf, len, "i 0/1 (or f, T/F): a switch");
	else
		snprintf(buf, len, "f %g..%g%s%s%s", (double)p->min, (double)p->max, p->unit[0] ? " " : "", p->unit,
			 p->integer || p->enumeration ? " (rounded to a whole number)" : "");
}

static void reply_float(struct md_control *c, const char *path, float v)
{
	lo_message m = lo_message_new();
	lo_message_add_float(m, v);
	oscnet_reply(&c->net, path, m);
}

void ctl_h_insert_param(struct md_control *c, const struct req *r)
{
	struct slotref s;
	const struct md_plugin_param *ps;
	if (!slot_of(c, r, &s))
		return;
	int n = loaded_params(c, r, &s, &ps);
	if (n < 0)
		return;
	int k = 0;
	while (k < n && strcmp(ps[k].symbol, r->rest) != 0)
		k++;
	if (k == n) {
		char list[400];
		int len = 0;
		for (int i = 0; i < n && len < (int)sizeof list; i++)
			len += snprintf(list + len, sizeof list - (size_t)len, "%s%s", i ? ", " : "", ps[i].symbol);
		oscnet_error(&c->net, r->path, "unknown parameter '%.64s' of <%s> in %s: expected one of %s", r->rest,
			     s.ins->uri, s.what, n ? list : "(none: the plugin has no parameters)");
		return;
	}
	const struct md_plugin_param *p = &ps[k];
	float v;
	if (r->argc == 0) {
		if (mixer_insert_get(c->m, s.scope, s.index, s.slot, p->symbol, &v) != MD_OK)
			v = p->def;
		reply_float(c, r->path, v);
		return;
	}
	const struct arg *a = &r->a[0];
	char expect[160];
	if (a->is_tf && !p->toggle) {
		expect_of(p, expect, sizeof expect);
		oscnet_error(&c->net, r->path, "wrong type T/F: expected %s", expect);
		return;
	}
	double asked = a->is_tf ? (a->num > 0 ? p->max : p->min) : a->num;
	float want = asked > FLT_MAX ? FLT_MAX : asked < -FLT_MAX ? -FLT_MAX : (float)asked;
	float stored;
	enum md_err e = mixer_insert_set(c->m, s.scope, s.index, s.slot, p->symbol, want, &stored);
	if (e) {
		expect_of(p, expect, sizeof expect);
		oscnet_error(&c->net, r->path, "cannot set '%s' of %s: %s (expected %s)", p->symbol, s.what,
			     md_strerror(e), expect);
		return;
	}
	note_set(c, &s, k, stored);
	/* answered only when the stored value differs from what was asked (clamped, rounded) */
	if (stored != want || fabs(asked) > FLT_MAX)
		reply_float(c, r->path, stored);
}

/* ---- automation lanes of insert parameters: /…/insert/K/param/SYMBOL/auto[/add|/clear|/points] ---- */

/* the slot and its plugin's parameter r->rest names, or false after an /error */
static bool lane_target(struct md_control *c, const struct req *r, struct slotref *s)
{
	const struct md_plugin_param *ps;
	if (!slot_of(c, r, s))
		return false;
	int n = loaded_params(c, r, s, &ps);
	for (int k = 0; k < n; k++)
		if (strcmp(ps[k].symbol, r->rest) == 0)
			return true;
	if (n >= 0)
		oscnet_error(&c->net, r->path, "unknown parameter '%.64s' of <%s> in %s", r->rest, s->ins->uri,
			     s->what);
	return false;
}

void ctl_h_insert_auto(struct md_control *c, const struct req *r)
{
	struct slotref s;
	if (!lane_target(c, r, &s))
		return;
	if (r->argc == 1) {
		int mode = -1;
		for (int i = 0; i < MD_AUTO_COUNT; i++)
			if (strcmp(r->a[0].s, console_auto_mode_name(i)) == 0)
				mode = i;
		if (mode < 0) {
			oscnet_error(&c->net, r->path,
				     "unknown mode '%.32s': expected off, read, write, touch or latch", r->a[0].s);
			return;
		}
		if (mixer_insert_auto_mode(c->m, s.scope, s.index, s.slot, r->rest, mode) != MD_OK)
			oscnet_error(&c->net, r->path, "cannot set the mode of '%s' in %s", r->rest, s.what);
		return;
	}
	const struct md_lane *l = mixer_insert_lane(c->m, s.scope, s.index, s.slot, r->rest);
	reply_string(c, r->path, console_auto_mode_name(l ? l->mode : MD_AUTO_OFF));
}

void ctl_h_insert_auto_add(struct md_control *c, const struct req *r)
{
	struct slotref s;
	if (!lane_target(c, r, &s))
		return;
	if (!(r->a[0].num >= 0) || !isfinite(r->a[1].num)) {
		oscnet_error(&c->net, r->path, "expected f seconds >= 0 and a finite f value, got %g and %g",
			     r->a[0].num, r->a[1].num);
		return;
	}
	enum md_err e = mixer_insert_lane_add(c->m, s.scope, s.index, s.slot, r->rest, r->a[0].num, (float)r->a[1].num);
	if (e)
		oscnet_error(&c->net, r->path, "cannot add the point to '%s' in %s: %s", r->rest, s.what,
			     e == MD_ERR_FULL ? "the lane is full" : md_strerror(e));
}

void ctl_h_insert_auto_clear(struct md_control *c, const struct req *r)
{
	struct slotref s;
	if (!lane_target(c, r, &s))
		return;
	if (r->argc == 1 || (r->argc == 2 && r->a[0].num > r->a[1].num)) {
		oscnet_error(&c->net, r->path, "expected two times, from <= to, or none for the whole lane");
		return;
	}
	double t0 = r->argc ? r->a[0].num : 1.0, t1 = r->argc ? r->a[1].num : 0.0; /* t0 > t1: everything */
	mixer_insert_lane_clear(c->m, s.scope, s.index, s.slot, r->rest, t0, t1);
}

/* the lane's points as one message: seconds, value, ... (none: an empty message) */
void ctl_h_insert_auto_points(struct md_control *c, const struct req *r)
{
	struct slotref s;
	if (!lane_target(c, r, &s))
		return;
	const struct md_lane *l = mixer_insert_lane(c->m, s.scope, s.index, s.slot, r->rest);
	lo_message m = lo_message_new();
	for (int i = 0; l && i < l->npoints && i < 8000; i++) {
		lo_message_add_float(m, (float)l->t[i]);
		lo_message_add_float(m, l->v[i]);
	}
	oscnet_reply(&c->net, r->path, m);
}

static const char *kind_of(const struct md_plugin_param *p)
{
	return p->toggle ? "toggle" : p->enumeration ? "enum" : p->integer ? "integer" : "float";
}

void ctl_h_insert_params(struct md_control *c, const struct req *r)
{
	struct slotref s;
	const struct md_plugin_param *ps;
	if (!slot_of(c, r, &s))
		return;
	int n = loaded_params(c, r, &s, &ps);
	if (n < 0)
		return;
	struct md_out o;
	oscnet_out_begin(&o, &c->net, &c->net.cur);
	for (int i = 0; i < n; i++) {
		float v;
		if (mixer_insert_get(c->m, s.scope, s.index, s.slot, ps[i].symbol, &v) != MD_OK)
			v = ps[i].def;
		lo_message m = lo_message_new();
		lo_message_add_string(m, ps[i].symbol);
		lo_message_add_string(m, ps[i].name ? ps[i].name : ps[i].symbol);
		lo_message_add_float(m, ps[i].min);
		lo_message_add_float(m, ps[i].max);
		lo_message_add_float(m, ps[i].def);
		lo_message_add_float(m, v);
		lo_message_add_string(m, ps[i].unit ? ps[i].unit : "");
		lo_message_add_string(m, kind_of(&ps[i]));
		oscnet_out_add(&o, r->path, m);
	}
	char end[MD_OSC_PATH_MAX];
	snprintf(end, sizeof end, "%s/end", r->path);
	lo_message m = lo_message_new();
	lo_message_add_string(m, s.ins->uri);
	lo_message_add_int32(m, n);
	oscnet_out_add(&o, end, m);
	oscnet_out_flush(&o);
}

void ctl_h_insert_latency(struct md_control *c, const struct req *r)
{
	struct slotref s;
	if (!slot_of(c, r, &s))
		return;
	bool running = false;
	uint32_t frames = engine_insert_latency(mixer_engine(c->m), s.scope, s.index, s.slot, &running);
	lo_message m = lo_message_new();
	lo_message_add_int32(m, (int32_t)frames);
	lo_message_add_int32(m, running ? 1 : 0);
	oscnet_reply(&c->net, r->path, m);
}

void ctl_h_plugins(struct md_control *c, const struct req *r)
{
	struct md_out o;
	oscnet_out_begin(&o, &c->net, &c->net.cur);
	int n = plugins_count();
	for (int i = 0; i < n; i++) {
		const struct md_plugin_info *p = plugins_info(i);
		lo_message m = lo_message_new();
		lo_message_add_string(m, p->uri);
		lo_message_add_string(m, p->name ? p->name : "");
		lo_message_add_int32(m, p->audio_in);
		lo_message_add_int32(m, p->audio_out);
		lo_message_add_int32(m, p->rt ? 1 : 0);
		oscnet_out_add(&o, "/plugins", m);
	}
	lo_message m = lo_message_new();
	lo_message_add_int32(m, n);
	oscnet_out_add(&o, "/plugins/end", m);
	oscnet_out_flush(&o);
}

/* ---- dumps and feedback ---- */

static void add_param(struct md_out *o, enum md_scope scope, int index, int slot, const char *symbol, float v)
{
	char what[96], path[MD_OSC_PATH_MAX];
	snprintf(what, sizeof what, "param/%s", symbol);
	slot_path(path, sizeof path, scope, index, slot, what);
	lo_message m = lo_message_new();
	lo_message_add_float(m, v);
	oscnet_out_add(o, path, m);
}

static void add_bypass(struct md_out *o, enum md_scope scope, int index, int slot, bool on)
{
	char path[96];
	slot_path(path, sizeof path, scope, index, slot, "bypass");
	lo_message m = lo_message_new();
	lo_message_add_int32(m, on ? 1 : 0);
	oscnet_out_add(o, path, m);
}

void ctl_dump_inserts(struct md_control *c, struct md_out *o, enum md_scope scope, int index)
{
	for (int k = 0; k < MD_MAX_INSERTS; k++) {
		const struct md_insert *ins = mixer_insert(c->m, scope, index, k);
		if (!ins)
			return;
		char path[96];
		slot_path(path, sizeof path, scope, index, k, "plugin");
		lo_message m = lo_message_new();
		lo_message_add_string(m, ins->uri ? ins->uri : "");
		oscnet_out_add(o, path, m); /* an empty slot too: a tablet clears a page after a remove */
		if (!ins->uri)
			continue;
		add_bypass(o, scope, index, k, ins->bypass);
		const struct md_plugin_param *ps;
		int n = plugins_params(ins->uri, &ps);
		if (n < 0) { /* not installed here: the settings the slot keeps */
			for (int i = 0; i < ins->nparams; i++)
				add_param(o, scope, index, k, ins->params[i].symbol, ins->params[i].value);
			continue;
		}
		for (int i = 0; i < n; i++) {
			float v;
			if (mixer_insert_get(c->m, scope, index, k, ps[i].symbol, &v) != MD_OK)
				v = ps[i].def;
			add_param(o, scope, index, k, ps[i].symbol, v);
		}
	}
}

/* A changed insert parameter (or bypass, param -1) goes to every subscriber at the address that sets it,
 * but for the echo of a subscriber's own set of the value it asked for. */
static void on_insert_dirty(void *ctx, enum md_scope scope, int index, int slot, int param)
{
	struct md_control *c = ctx;
	const struct md_insert *ins = mixer_insert(c->m, scope, index, slot);
	if (!ins || !ins->uri)
		return;
	const struct md_plugin_param *ps = NULL;
	float v = ins->bypass ? 1.0f : 0.0f;
	if (param >= 0) {
		int n = plugins_params(ins->uri, &ps);
		if (param >= n || mixer_insert_get(c->m, scope, index, slot, ps[param].symbol, &v) != MD_OK)
			return;
	}
	struct md_insert_last *l = last_find(c, scope, index, slot, param);
	for (int i = 0; i < MD_OSC_MAX_SUBS; i++) {
		struct md_sub *s = &c->subs[i];
		if (!s->used || (l && l->sub == s->id && l->value == v))
			continue;
		if (param < 0)
			add_bypass(&c->fb[i], scope, index, slot, ins->bypass);
		else
			add_param(&c->fb[i], scope, index, slot, ps[param].symbol, v);
	}
	if (l)
		last_forget(c, l);
}

static void no_op(void *ctx, enum md_scope scope, int index, int slot, int param)
{
}

void ctl_insert_feedback(struct md_control *c, bool send)
{
	mixer_drain_insert_dirty(c->m, send ? on_insert_dirty : no_op, c);
}

const char *ctl_insert_error_new(struct md_control *c)
{
	unsigned serial;
	const char *err = engine_insert_error(mixer_engine(c->m), &serial);
	if (!err || serial == c->ins_err_said)
		return NULL;
	c->ins_err_said = serial;
	return err;
}
