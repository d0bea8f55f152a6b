/* mixdesk: saving a session (docs/SESSION.md) on json-c: the console as JSON in the file's layout, numbers in
 * their shortest exact form, short lists on one line, plugin inserts with their kept parameters and state, and
 * the "x-" keys put back where they were found. The
 * parameter keys come from the descriptor table (engine/model/param.c); relative paths are rebased for a file
 * in another folder (sessions/paths.c); sessions/file.c writes the text.
 *
 * Every function here is [any]: it reads the console it is given and builds its own objects (the save worker
 * of control/ serializes a copy of the console while the control loop goes on). */
#include "sessions/session_int.h"

#include <ctype.h>
#include <json-c/printbuf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The shortest decimal that reads back as the same float (so 0.7 is written 0.7, not 0.69999998807907). */
static json_object *num_f(float v)
{
	char b[40];
	if (v == 0.0f)
		v = 0.0f; /* no "-0" */
	if (fabsf(v) < 1e15f && v == truncf(v)) {
		snprintf(b, sizeof b, "%.0f", (double)v);
		return json_object_new_double_s((double)v, b);
	}
	for (int prec = 1; prec <= 9; prec++) {
		snprintf(b, sizeof b, "%.*g", prec, (double)v);
		if (strtof(b, NULL) == v)
			break;
	}
	return json_object_new_double_s((double)v, b);
}

static json_object *num_d(double v)
{
	char b[40];
	if (v == 0.0)
		v = 0.0;
	if (fabs(v) < 1e15 && v == trunc(v)) {
		snprintf(b, sizeof b, "%.0f", v);
		return json_object_new_double_s(v, b);
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(b, sizeof b, "%.*g", prec, v);
		if (strtod(b, NULL) == v)
			break;
	}
	return json_object_new_double_s(v, b);
}

/* One save in progress: whether an allocation failed on the way (then nothing is written), and how relative
 * paths move to the new file's folder. */
struct sv {
	bool nomem;
	const struct sess_rebase *rb;
};

/* Short arrays of plain values (a point, a list of ports, an empty list) on one line: [2.5, -3]. */
static int inline_array(json_object *a, struct printbuf *pb, int level, int flags)
{
	printbuf_strappend(pb, "[");
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		const char *t = json_object_to_json_string_ext(json_object_array_get_idx(a, i),
							       JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		if (i)
			printbuf_strappend(pb, ", ");
		printbuf_memappend(pb, t, (int)strlen(t));
	}
	printbuf_strappend(pb, "]");
	return 0;
}

static json_object *one_line(json_object *a)
{
	if (a)
		json_object_set_serializer(a, inline_array, NULL, NULL);
	return a;
}

static json_object *chk(struct sv *s, json_object *o)
{
	if (!o)
		s->nomem = true;
	return o;
}

static void put(struct sv *s, json_object *obj, const char *key, json_object *v)
{
	if (!v || json_object_object_add(obj, key, v) != 0) {
		json_object_put(v);
		s->nomem = true;
	}
}

static void push(struct sv *s, json_object *arr, json_object *v)
{
	if (!v || json_object_array_add(arr, v) != 0) {
		json_object_put(v);
		s->nomem = true;
	}
}

/* The object of the parameter tree at path prefix segs (e.g. "eq/2"): created on the way when create. */
static json_object *navigate(struct sv *s, json_object *o, const char *group, bool create)
{
	char buf[128], *save = NULL;
	snprintf(buf, sizeof buf, "%s", group);
	for (char *seg = strtok_r(buf, "/", &save); seg && o; seg = strtok_r(NULL, "/", &save)) {
		json_object *next;
		if (isdigit((unsigned char)seg[0])) {
			int n = atoi(seg);
			json_object *arr;
			if (!json_object_object_get_ex(o, "bands", &arr)) {
				if (!create)
					return NULL;
				arr = chk(s, json_object_new_array());
				put(s, o, "bands", arr);
				if (s->nomem)
					return NULL;
			}
			while (create && (int)json_object_array_length(arr) < n) {
				push(s, arr, json_object_new_object());
				if (s->nomem)
					return NULL;
			}
			next = n >= 1 && n <= (int)json_object_array_length(arr) ? json_object_array_get_idx(arr, n - 1)
										 : NULL;
		} else if (!json_object_object_get_ex(o, seg, &next)) {
			if (!create)
				return NULL;
			next = chk(s, json_object_new_object());
			put(s, o, seg, next);
			if (s->nomem)
				return NULL;
		}
		if (next && json_object_get_type(next) != json_type_object)
			return NULL;
		o = next;
	}
	return o;
}

static json_object *param_json(const struct md_param_desc *d, float v)
{
	switch (d->kind) {
	case MD_KIND_BOOL: return json_object_new_boolean(v >= 0.5f);
	case MD_KIND_ENUM: {
		const char *n = md_param_enum_name(d, v);
		return json_object_new_string(n ? n : d->names[0]);
	}
	default: return num_f(v);
	}
}

static void save_params(struct sv *s, json_object *o, enum md_scope sc, const float *p)
{
	for (int i = 0; i < md_param_count(sc) && !s->nomem; i++) {
		const struct md_param_desc *d = md_param_desc(sc, i);
		if (sess_excluded(sc, d->path))
			continue;
		/* a bus keeps the parameters of its chosen effect only: the others would be noise in the file */
		if (sc == MD_SCOPE_BUS && !md_param_fx_applies(i, (int)p[MD_BP_FX_TYPE]))
			continue;
		const char *leaf = strrchr(d->path, '/');
		char group[128] = "";
		if (leaf)
			snprintf(group, sizeof group, "%.*s", (int)(leaf - d->path), d->path);
		json_object *g = navigate(s, o, group, true);
		if (g)
			put(s, g, leaf ? leaf + 1 : d->path, param_json(d, p[i]));
	}
}

static json_object *conns_json(struct sv *s, const struct md_conns *l, int sides, bool flat_ok)
{
	json_object *a = chk(s, json_object_new_array());
	if (!a)
		return NULL;
	if (sides == 1 || (l[0].n == 0 && l[1].n == 0) || (flat_ok && l[0].n == 1 && l[1].n == 1))
		one_line(a);
	if (sides == 1) {
		for (int i = 0; i < l[0].n; i++)
			push(s, a, json_object_new_string(l[0].names[i]));
		return a;
	}
	if (l[0].n == 0 && l[1].n == 0)
		return a;
	if (flat_ok && l[0].n == 1 && l[1].n == 1) {
		push(s, a, json_object_new_string(l[0].names[0]));
		push(s, a, json_object_new_string(l[1].names[0]));
		return a;
	}
	for (int k = 0; k < 2; k++) {
		json_object *side = one_line(chk(s, json_object_new_array()));
		for (int i = 0; side && i < l[k].n; i++)
			push(s, side, json_object_new_string(l[k].names[i]));
		push(s, a, side);
	}
	return a;
}

/* one lane: {"param": path, "mode", "points": [[t, v], ...]} */
static json_object *lane_json(struct sv *s, const char *path, const struct md_lane *l)
{
	json_object *o = chk(s, json_object_new_object());
	if (!o)
		return NULL;
	put(s, o, "param", json_object_new_string(path));
	int m = l->mode >= 0 && l->mode < MD_AUTO_COUNT ? l->mode : MD_AUTO_READ;
	put(s, o, "mode", json_object_new_string(console_auto_mode_name(m)));
	json_object *pts = chk(s, json_object_new_array());
	for (int k = 0; pts && k < l->npoints; k++) {
		json_object *pt = one_line(chk(s, json_object_new_array()));
		if (pt) {
			push(s, pt, num_d(l->t[k]));
			push(s, pt, num_f(l->v[k]));
		}
		push(s, pts, pt);
	}
	if (pts && l->npoints == 0)
		one_line(pts);
	put(s, o, "points", pts);
	return o;
}

static json_object *lanes_json(struct sv *s, enum md_scope sc, const struct md_lane *lanes, int n)
{
	json_object *a = chk(s, json_object_new_array());
	if (n == 0)
		one_line(a);
	for (int i = 0; a && i < n; i++) {
		const struct md_param_desc *d = md_param_desc(sc, lanes[i].param);
		if (d)
			push(s, a, lane_json(s, d->path, &lanes[i]));
	}
	return a;
}

static json_object *find_in(json_object *arr, const char *key, const char *value)
{
	for (int i = 0; arr && i < (int)json_object_array_length(arr); i++) {
		json_object *el = json_object_array_get_idx(arr, i), *v;
		if (json_object_object_get_ex(el, key, &v) && strcmp(json_object_get_string(v), value) == 0)
			return el;
	}
	return NULL;
}

static json_object *send_json(struct sv *s, const struct md_console *c, const float *p, int b)
{
	json_object *o = chk(s, json_object_new_object());
	if (!o)
		return NULL;
	put(s, o, "bus", json_object_new_string(c->buses[b]->name));
	put(s, o, "level", num_f(p[MD_SP_SEND(b, MD_SEND_LEVEL)]));
	put(s, o, "pre", json_object_new_boolean(p[MD_SP_SEND(b, MD_SEND_PRE)] >= 0.5f));
	return o;
}

/* One loaded slot: "plugin", "bypass", "params" (in the order kept) and "state" (its kept text, as JSON). */
static json_object *insert_json(struct sv *s, const struct md_insert *ins)
{
	json_object *o = chk(s, json_object_new_object());
	if (!o)
		return NULL;
	put(s, o, "plugin", json_object_new_string(ins->uri));
	put(s, o, "bypass", json_object_new_boolean(ins->bypass));
	json_object *p = chk(s, json_object_new_object());
	for (int i = 0; p && i < ins->nparams; i++)
		put(s, p, ins->params[i].symbol, num_f(ins->params[i].value));
	put(s, o, "params", p);
	if (ins->nlanes) { /* its parameters' lanes, by symbol */
		json_object *a = chk(s, json_object_new_array());
		for (int i = 0; a && i < ins->nlanes; i++)
			push(s, a, lane_json(s, ins->lanes[i].symbol, &ins->lanes[i].lane));
		put(s, o, "automation", a);
	}
	if (ins->state) {
		/* the loader kept valid JSON; text that does not parse (not ours) is left out */
		json_object *st = json_tokener_parse(ins->state);
		if (st)
			put(s, o, "state", st);
	}
	return o;
}

/* "inserts" of a strip, bus or the master: up to the last loaded slot, an empty one before it as null; no key
 * when every slot is empty. */
static void inserts_json(struct sv *s, json_object *o, const struct md_insert *ins)
{
	int last = -1;
	for (int k = 0; k < MD_MAX_INSERTS; k++)
		if (ins[k].uri)
			last = k;
	if (last < 0)
		return;
	json_object *a = chk(s, json_object_new_array());
	put(s, o, "inserts", a);
	for (int k = 0; a && k <= last; k++) {
		if (ins[k].uri)
			push(s, a, insert_json(s, &ins[k]));
		else if (json_object_array_add(a, NULL) != 0) /* a JSON null */
			s->nomem = true;
	}
}

/* The object a nested "x-" key was found in (loc, e.g. "eq/2"): a group of the parameter tree, the lane of a
 * parameter, or the send to a bus (written with its values when the console had it at its defaults); NULL when
 * there is none. c and p (the strip's values) are NULL outside strips. */
static json_object *extra_home(struct sv *s, json_object *o, const char *loc, const struct md_console *c,
			       const float *p)
{
	json_object *arr, *target;
	if (strncmp(loc, "send/", 5) == 0) {
		int b = atoi(loc + 5) - 1;
		if (!c || !p || b < 0 || b >= c->nbuses)
			return NULL;
		if (!json_object_object_get_ex(o, "sends", &arr)) {
			arr = chk(s, json_object_new_array());
			put(s, o, "sends", arr);
		}
		target = find_in(arr, "bus", c->buses[b]->name);
		if (!target && arr) {
			target = send_json(s, c, p, b);
			push(s, arr, target);
		}
		return target;
	}
	if (strncmp(loc, "automation/", 11) == 0)
		return json_object_object_get_ex(o, "automation", &arr) ? find_in(arr, "param", loc + 11) : NULL;
	if (strncmp(loc, "insert/", 7) == 0) {
		/* the slot's entry; gone with its plugin when the slot was emptied since */
		int k = atoi(loc + 7) - 1;
		if (!json_object_object_get_ex(o, "inserts", &arr) || k < 0 || k >= (int)json_object_array_length(arr))
			return NULL;
		target = json_object_array_get_idx(arr, k);
		return json_object_get_type(target) == json_type_object ? target : NULL;
	}
	return navigate(s, o, loc, false);
}

/* Put the "x-" keys kept in extra back where they were found (see sessions/session_int.h). */
static void restore_extra(struct sv *s, json_object *o, const char *extra, const struct md_console *c, const float *p)
{
	if (!extra)
		return;
	json_object *ex = json_tokener_parse(extra);
	if (!ex || json_object_get_type(ex) != json_type_object) {
		json_object_put(ex);
		return; /* not ours: nothing sensible to write */
	}
	json_object_object_foreach(ex, key, val)
	{
		json_object *target = o;
		const char *name = key;
		if (strncmp(key, "x-", 2) != 0) {
			const char *cut = strstr(key, "/x-");
			if (!cut)
				continue;
			char loc[SESS_WHERE_MAX];
			sess_at(loc, "%.*s", (int)(cut - key), key);
			name = cut + 1;
			target = extra_home(s, o, loc, c, p);
			if (!target || s->nomem)
				continue;
		}
		/* a JSON null is a NULL json_object: add it as it is */
		if (json_object_object_add(target, name, json_object_get(val)) != 0) {
			json_object_put(val);
			s->nomem = true;
		}
	}
	json_object_put(ex);
}

/* One strip into o; sends are written for the buses it feeds (or feeds pre-fader). */
static void strip_json(struct sv *s, json_object *o, const struct md_console *c, const struct md_strip_model *st)
{
	put(s, o, "name", json_object_new_string(st->name));
	put(s, o, "stereo", json_object_new_boolean(st->stereo));
	if (st->source) {
		char *src = sess_rebase_path(s->rb, st->source);
		put(s, o, "source", src ? json_object_new_string(src) : NULL);
		free(src);
	}
	put(s, o, "inputs", conns_json(s, st->inputs, st->stereo ? 2 : 1, false));
	save_params(s, o, MD_SCOPE_STRIP, st->p);
	json_object *sends = chk(s, json_object_new_array());
	put(s, o, "sends", sends);
	for (int b = 0; sends && b < c->nbuses; b++) {
		const struct md_param_desc *d = md_param_desc(MD_SCOPE_STRIP, MD_SP_SEND(b, MD_SEND_LEVEL));
		if (st->p[MD_SP_SEND(b, MD_SEND_LEVEL)] > d->min || st->p[MD_SP_SEND(b, MD_SEND_PRE)] >= 0.5f)
			push(s, sends, send_json(s, c, st->p, b));
	}
	put(s, o, "automation", lanes_json(s, MD_SCOPE_STRIP, st->lanes, st->nlanes));
	inserts_json(s, o, st->inserts);
	restore_extra(s, o, st->extra, c, st->p);
	if (sends && json_object_array_length(sends) == 0)
		one_line(sends);
}

static void bus_json(struct sv *s, json_object *o, const struct md_bus_model *b)
{
	put(s, o, "name", json_object_new_string(b->name));
	save_params(s, o, MD_SCOPE_BUS, b->p);
	put(s, o, "outputs", conns_json(s, b->outputs, 2, true));
	put(s, o, "returns", conns_json(s, b->returns, 2, true));
	put(s, o, "automation", lanes_json(s, MD_SCOPE_BUS, b->lanes, b->nlanes));
	inserts_json(s, o, b->inserts);
	restore_extra(s, o, b->extra, NULL, NULL);
}

static json_object *console_json(struct sv *s, const struct md_console *c)
{
	json_object *root = chk(s, json_object_new_object());
	if (!root)
		return NULL;
	put(s, root, "format", json_object_new_string(SESS_FORMAT_NAME));
	put(s, root, "version", json_object_new_int(MD_SESSION_VERSION));
	put(s, root, "sample_rate", json_object_new_int64(c->sample_rate));
	put(s, root, "pan_law", num_f(c->master.p[MD_MP_PAN_LAW]));
	put(s, root, "tempo", num_f(c->master.p[MD_MP_TEMPO]));

	json_object *strips = chk(s, json_object_new_array());
	put(s, root, "strips", strips);
	for (int i = 0; strips && i < c->nstrips && !s->nomem; i++) {
		json_object *o = chk(s, json_object_new_object());
		push(s, strips, o);
		if (!o)
			break;
		strip_json(s, o, c, c->strips[i]);
	}

	json_object *buses = chk(s, json_object_new_array());
	put(s, root, "buses", buses);
	for (int i = 0; buses && i < c->nbuses && !s->nomem; i++) {
		json_object *o = chk(s, json_object_new_object());
		push(s, buses, o);
		if (!o)
			break;
		bus_json(s, o, c->buses[i]);
	}

	json_object *m = chk(s, json_object_new_object());
	put(s, root, "master", m);
	if (m) {
		save_params(s, m, MD_SCOPE_MASTER, c->master.p);
		put(s, m, "outputs", conns_json(s, c->master.outputs, 2, true));
		put(s, m, "automation", lanes_json(s, MD_SCOPE_MASTER, c->master.lanes, c->master.nlanes));
		inserts_json(s, m, c->master.inserts);
		restore_extra(s, m, c->master.extra, NULL, NULL);
	}
	json_object *r = chk(s, json_object_new_object());
	put(s, root, "render", r);
	if (r) {
		put(s, r, "headroom", num_f(c->render.headroom));
		put(s, r, "bits", json_object_new_int(c->render.bits));
		put(s, r, "tail", num_f(c->render.tail));
	}
	restore_extra(s, root, c->extra, NULL, NULL);
	return root;
}

enum md_err session_serialize(const struct md_console *c, const char *from, const char *path, char **text, char *err,
			      size_t errlen)
{
	struct sess_rebase rb;
	struct sv s = {false, &rb};
	*text = NULL;
	if (errlen)
		err[0] = '\0';
	if (sess_rebase_init(&rb, from, path) != MD_OK) {
		snprintf(err, errlen, "%s: out of memory while building the session", path);
		return MD_ERR_NOMEM;
	}
	json_object *root = console_json(&s, c);
	const char *t = root && !s.nomem ? json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
											JSON_C_TO_STRING_SPACED |
											JSON_C_TO_STRING_NOSLASHESCAPE)
					 : NULL;
	if (t)
		*text = strdup(t);
	json_object_put(root);
	sess_rebase_free(&rb);
	if (!*text) {
		snprintf(err, errlen, "%s: out of memory while building the session", path);
		return MD_ERR_NOMEM;
	}
	return MD_OK;
}

enum md_err session_write(const char *path, const char *text, char *err, size_t errlen)
{
	if (errlen)
		err[0] = '\0';
	return sess_write_file(path, text, err, errlen);
}

enum md_err session_save_as(const char *path, const struct md_console *c, const char *from, char *err, size_t errlen)
{
	char *text;
	enum md_err e = session_serialize(c, from, path, &text, err, errlen);
	if (!e)
		e = session_write(path, text, err, errlen);
	free(text);
	return e;
}

enum md_err session_save(const char *path, const struct md_console *c, char *err, size_t errlen)
{
	return session_save_as(path, c, NULL, err, errlen);
}
