/* mixdesk: the session file (docs/SESSION.md) on json-c. Loading validates everything into a new console
 * and gives one precise message for the first problem (file, field path, what was found, what was
 * expected); saving writes the console atomically beside the target. The parameter keys are not listed
 * here: the descriptor table (engine/param.c) drives both directions, so a parameter added there is saved
 * and loaded without touching this file.
 *
 * "x-" keys are kept in the `extra` field of the strip, bus, master or console they belong to, as the JSON
 * text of one object. Keys found directly in that object are stored as they are ("x-color"); keys found in
 * a nested object are stored under "<where>/<key>", where <where> is the nested object's place in the
 * parameter space: "hpf", "eq", "eq/2" (bands[1]), "send/1" (the send to bus 1), "automation/fader" (the
 * lane of a parameter), "render". Saving puts each back into the object it came from.
 *
 * Every function here is [control]. */
#include "sessions/session.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <json-c/printbuf.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FORMAT_NAME "mixdesk-session"
#define WHERE_MAX 320
#define PORT_NAME_MAX 320 /* JACK's full port name limit */
#define RATE_MIN 8000
#define RATE_MAX 384000
#define HEADROOM_MIN (-60.0)
#define HEADROOM_MAX 0.0
#define TAIL_MAX 600.0

static const char *const auto_mode_names[MD_AUTO_COUNT] = {"off", "read", "write", "touch", "latch"};
static const char *const scope_names[] = {"a strip", "a bus", "the master"};

/* ---- loading ---- */

struct ld {
	const char *file;
	char *err;
	size_t errlen;
	struct md_console *c;
};

static enum md_err fail(struct ld *x, enum md_err code, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static enum md_err fail(struct ld *x, enum md_err code, const char *where, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (x->errlen)
		snprintf(x->err, x->errlen, "%s: %s%s%s", x->file, where ? where : "", where && *where ? ": " : "",
			 msg);
	return code;
}

/* A field path for messages (every such buffer is WHERE_MAX long; a longer path is cut). */
static void at(char *dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void at(char *dst, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dst, WHERE_MAX, fmt, ap);
	va_end(ap);
}

static const char *type_desc(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null: return "null";
	case json_type_boolean: return json_object_get_boolean(v) ? "true" : "false";
	case json_type_double:
	case json_type_int: return "a number";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "something else";
}

static enum md_err want(struct ld *x, json_object *v, enum json_type t, const char *where, const char *what)
{
	enum json_type have = json_object_get_type(v);
	if (have == t || (t == json_type_double && have == json_type_int))
		return MD_OK;
	return fail(x, MD_ERR_TYPE, where, "expected %s, got %s", what, type_desc(v));
}

/* A string value without embedded NULs. */
static enum md_err want_string(struct ld *x, json_object *v, const char *where, const char *what, const char **out)
{
	enum md_err e = want(x, v, json_type_string, where, what);
	if (e)
		return e;
	const char *s = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) != strlen(s))
		return fail(x, MD_ERR_FORMAT, where, "the string contains a NUL character");
	*out = s;
	return MD_OK;
}

static enum md_err want_number(struct ld *x, json_object *v, const char *where, const char *what, double *out)
{
	enum md_err e = want(x, v, json_type_double, where, what);
	if (e)
		return e;
	*out = json_object_get_double(v);
	if (!isfinite(*out))
		return fail(x, MD_ERR_NAN, where, "expected %s, got a number that is not finite", what);
	return MD_OK;
}

static const char *unit_suffix(enum md_unit u)
{
	switch (u) {
	case MD_UNIT_DB: return " dB";
	case MD_UNIT_HZ: return " Hz";
	case MD_UNIT_MS: return " ms";
	case MD_UNIT_DB_OCT: return " dB/oct";
	default: return "";
	}
}

/* Check a number against a parameter; levels in dB at or below silence are silence. */
static enum md_err check_number(struct ld *x, const struct md_param_desc *d, double v, const char *where, float *out)
{
	char list[160] = "";
	switch (d->kind) {
	case MD_KIND_FLOAT:
		if (d->smooth_db && v <= MD_SILENCE_DB)
			v = MD_SILENCE_DB;
		/* compared as the float the model keeps, so a limit such as 0.05 is itself in range */
		if ((float)v < d->min || (float)v > d->max)
			return fail(x, MD_ERR_RANGE, where, "%g is out of range (%g .. %g%s)", v, (double)d->min,
				    (double)d->max, unit_suffix(d->unit));
		*out = (float)v;
		return MD_OK;
	case MD_KIND_BOOL:
		if (v != 0.0 && v != 1.0)
			return fail(x, MD_ERR_RANGE, where, "%g is not 0 or 1 (off or on)", v);
		*out = (float)v;
		return MD_OK;
	case MD_KIND_CHOICE:
		for (int i = 0; i < d->count; i++) {
			if (fabs(v - d->choices[i]) < 1e-6) {
				*out = d->choices[i];
				return MD_OK;
			}
			size_t l = strlen(list);
			snprintf(list + l, sizeof list - l, "%s%g", i ? ", " : "", (double)d->choices[i]);
		}
		return fail(x, MD_ERR_RANGE, where, "%g is not one of %s%s", v, list, unit_suffix(d->unit));
	case MD_KIND_ENUM:
		break;
	}
	return fail(x, MD_ERR_TYPE, where, "expected a name, got a number");
}

static enum md_err load_value(struct ld *x, const struct md_param_desc *d, json_object *v, const char *where,
			      float *out)
{
	double num;
	enum md_err e;
	switch (d->kind) {
	case MD_KIND_FLOAT:
		if ((e = want_number(x, v, where, "a number", &num)))
			return e;
		return check_number(x, d, num, where, out);
	case MD_KIND_CHOICE:
		if ((e = want_number(x, v, where, "a number", &num)))
			return e;
		return check_number(x, d, num, where, out);
	case MD_KIND_BOOL:
		if ((e = want(x, v, json_type_boolean, where, "true or false")))
			return e;
		*out = json_object_get_boolean(v) ? 1.0f : 0.0f;
		return MD_OK;
	case MD_KIND_ENUM: {
		const char *s;
		if ((e = want_string(x, v, where, "a name", &s)))
			return e;
		int k = md_param_enum_value(d, s);
		if (k < 0) {
			char list[160] = "";
			for (int i = 0; i < d->count; i++) {
				size_t l = strlen(list);
				snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", d->names[i]);
			}
			return fail(x, MD_ERR_RANGE, where, "'%s' is not one of %s", s, list);
		}
		*out = (float)k;
		return MD_OK;
	}
	}
	return MD_ERR_TYPE;
}

/* Parameters that live outside the generic key tree: sends (the "sends" list) and the pan law (top level). */
static bool excluded(enum md_scope sc, const char *path)
{
	if (sc == MD_SCOPE_STRIP)
		return strncmp(path, "send/", 5) == 0;
	if (sc == MD_SCOPE_MASTER)
		return strcmp(path, "pan_law") == 0;
	return false;
}

static void join(char *dst, size_t n, const char *group, const char *key)
{
	snprintf(dst, n, "%s%s%s", group, *group ? "/" : "", key);
}

/* Whether prefix (a parameter path without its last part) names a group of parameters. */
static bool is_group(enum md_scope sc, const char *prefix)
{
	size_t l = strlen(prefix);
	for (int i = 0; i < md_param_count(sc); i++) {
		const char *p = md_param_desc(sc, i)->path;
		if (!excluded(sc, p) && strncmp(p, prefix, l) == 0 && p[l] == '/')
			return true;
	}
	return false;
}

/* Numbered sub-groups of a group ("eq/1".."eq/4") appear in the file as the array "bands". */
static int count_numbered(enum md_scope sc, const char *group)
{
	int n = 0;
	char g[64];
	for (;;) {
		char num[16];
		snprintf(num, sizeof num, "%d", n + 1);
		join(g, sizeof g, group, num);
		if (!is_group(sc, g))
			return n;
		n++;
	}
}

static bool in_list(const char *const *list, const char *key)
{
	for (int i = 0; list && list[i]; i++)
		if (strcmp(list[i], key) == 0)
			return true;
	return false;
}

static void add_key(char *out, size_t n, const char *k, size_t klen)
{
	for (const char *p = out; *p;) {
		size_t l = strcspn(p, ",");
		if (l == klen && strncmp(p, k, klen) == 0)
			return;
		p += l;
		p += *p ? 2 : 0;
	}
	size_t len = strlen(out);
	snprintf(out + len, n - len, "%s%.*s", len ? ", " : "", (int)klen, k);
}

/* The keys an object at a group may hold, for the unknown-key message. */
static void known_keys(enum md_scope sc, const char *group, const char *const *own, char *out, size_t n)
{
	out[0] = '\0';
	for (int i = 0; own && own[i]; i++)
		add_key(out, n, own[i], strlen(own[i]));
	size_t gl = strlen(group);
	for (int i = 0; i < md_param_count(sc); i++) {
		const char *p = md_param_desc(sc, i)->path;
		if (excluded(sc, p) || (gl && (strncmp(p, group, gl) != 0 || p[gl] != '/')))
			continue;
		const char *rest = gl ? p + gl + 1 : p;
		if (isdigit((unsigned char)rest[0]))
			add_key(out, n, "bands", 5);
		else
			add_key(out, n, rest, strcspn(rest, "/"));
	}
}

/* Collected "x-" keys of one strip, bus, master or the console. */
static enum md_err keep_extra(json_object **ex, const char *loc, const char *key, json_object *v)
{
	if (!*ex && !(*ex = json_object_new_object()))
		return MD_ERR_NOMEM;
	char name[WHERE_MAX];
	join(name, sizeof name, loc, key);
	if (json_object_object_add(*ex, name, json_object_get(v)) != 0)
		return MD_ERR_NOMEM;
	return MD_OK;
}

static enum md_err finish_extra(json_object **ex, char **out)
{
	if (!*ex)
		return MD_OK;
	const char *t = json_object_to_json_string_ext(*ex, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *d = t ? strdup(t) : NULL;
	json_object_put(*ex);
	*ex = NULL;
	if (!d)
		return MD_ERR_NOMEM;
	free(*out);
	*out = d;
	return MD_OK;
}

/* One object of the parameter tree (a strip, "hpf", "eq", a band...): every key is a parameter, a group,
 * one of own (the caller handles it), or "x-". */
static enum md_err load_group(struct ld *x, enum md_scope sc, const char *group, json_object *o, const char *where,
			      float *p, json_object **ex, const char *const *own)
{
	enum md_err e = want(x, o, json_type_object, where, "an object");
	if (e)
		return e;
	json_object_object_foreach(o, key, val)
	{
		char w[WHERE_MAX], full[128];
		at(w, "%s%s%s", where, *where ? "." : "", key);
		if (strncmp(key, "x-", 2) == 0) {
			if ((e = keep_extra(ex, group, key, val)))
				return fail(x, e, w, "out of memory");
			continue;
		}
		if (in_list(own, key))
			continue;
		join(full, sizeof full, group, key);
		int pi = excluded(sc, full) || strchr(key, '/') ? -1 : md_param_find(sc, full);
		if (pi >= 0) {
			if ((e = load_value(x, md_param_desc(sc, pi), val, w, &p[pi])))
				return e;
			continue;
		}
		if (!strchr(key, '/') && !isdigit((unsigned char)key[0]) && is_group(sc, full)) {
			if ((e = load_group(x, sc, full, val, w, p, ex, NULL)))
				return e;
			continue;
		}
		int nb = strcmp(key, "bands") == 0 ? count_numbered(sc, group) : 0;
		if (nb > 0) {
			if ((e = want(x, val, json_type_array, w, "an array of bands")))
				return e;
			int n = (int)json_object_array_length(val);
			if (n > nb)
				return fail(x, MD_ERR_RANGE, w, "%d bands, at most %d", n, nb);
			for (int i = 0; i < n; i++) {
				char wi[WHERE_MAX], gi[64], num[16];
				at(wi, "%s[%d]", w, i);
				snprintf(num, sizeof num, "%d", i + 1);
				join(gi, sizeof gi, group, num);
				if ((e = load_group(x, sc, gi, json_object_array_get_idx(val, i), wi, p, ex, NULL)))
					return e;
			}
			continue;
		}
		char known[512];
		known_keys(sc, group, own, known, sizeof known);
		return fail(x, MD_ERR_FORMAT, w, "unknown key (known here: %s; keys for other tools start with x-)",
			    known);
	}
	return MD_OK;
}

static enum md_err port_name(struct ld *x, json_object *v, const char *where, struct md_conns *l)
{
	const char *s;
	enum md_err e = want_string(x, v, where, "a JACK port name (\"client:port\")", &s);
	if (e)
		return e;
	if (!strchr(s, ':') || s[0] == ':' || strlen(s) >= PORT_NAME_MAX)
		return fail(x, MD_ERR_FORMAT, where, "'%s' is not a JACK port name (\"client:port\")", s);
	if (console_conns_add(l, s) != MD_OK)
		return fail(x, MD_ERR_NOMEM, where, "out of memory");
	return MD_OK;
}

/* Connections of one port (two == false: a flat list of names) or of a left/right pair: either [] or
 * ["L port", "R port"] (one each) or [["L ports"...], ["R ports"...]]. */
static enum md_err load_conns(struct ld *x, json_object *v, const char *where, bool two, struct md_conns *out)
{
	enum md_err e = want(x, v, json_type_array, where,
			     two ? "[\"L port\", \"R port\"] or [[L ports...], [R ports...]]" : "a list of port names");
	if (e)
		return e;
	int n = (int)json_object_array_length(v);
	if (two && n != 0 && n != 2)
		return fail(x, MD_ERR_FORMAT, where,
			    "%d entries; expected two, left and right: [\"L port\", \"R port\"] or [[L ports...], [R "
			    "ports...]]",
			    n);
	bool nested = n > 0 && json_object_get_type(json_object_array_get_idx(v, 0)) == json_type_array;
	for (int i = 0; i < n; i++) {
		char wi[WHERE_MAX];
		at(wi, "%s[%d]", where, i);
		json_object *el = json_object_array_get_idx(v, i);
		if (!two) {
			if ((e = port_name(x, el, wi, &out[0])))
				return e;
		} else if (nested) {
			if ((e = want(x, el, json_type_array, wi, "a list of port names (like the first side)")))
				return e;
			for (int k = 0; k < (int)json_object_array_length(el); k++) {
				char wk[WHERE_MAX];
				at(wk, "%s[%d]", wi, k);
				if ((e = port_name(x, json_object_array_get_idx(el, k), wk, &out[i])))
					return e;
			}
		} else if ((e = port_name(x, el, wi, &out[i]))) {
			return e;
		}
	}
	return MD_OK;
}

static enum md_err load_lanes(struct ld *x, enum md_scope sc, int index, json_object *v, const char *where,
			      json_object **ex)
{
	enum md_err e = want(x, v, json_type_array, where, "a list of automation lanes");
	if (e)
		return e;
	for (int i = 0; i < (int)json_object_array_length(v); i++) {
		char w[WHERE_MAX], wk[WHERE_MAX];
		at(w, "%s[%d]", where, i);
		json_object *o = json_object_array_get_idx(v, i), *pv, *mv, *ptv;
		if ((e = want(x, o, json_type_object, w, "an object {\"param\", \"mode\", \"points\"}")))
			return e;
		at(wk, "%s.param", w);
		if (!json_object_object_get_ex(o, "param", &pv))
			return fail(x, MD_ERR_FORMAT, w, "no \"param\": which parameter does this lane automate?");
		const char *path;
		if ((e = want_string(x, pv, wk, "a parameter path like \"fader\" or \"eq/2/gain\"", &path)))
			return e;
		int pi = md_param_find(sc, path);
		if (pi < 0 || (sc == MD_SCOPE_MASTER && excluded(sc, path)))
			return fail(x, MD_ERR_NOTFOUND, wk, "'%s' is not a parameter of %s (e.g. fader%s)", path,
				    scope_names[sc], sc == MD_SCOPE_STRIP ? ", pan, eq/2/gain, send/1/level" : "");
		const struct md_param_desc *d = md_param_desc(sc, pi);
		if (!d->automatable)
			return fail(x, MD_ERR_FORMAT, wk, "'%s' cannot be automated", path);
		if (sc == MD_SCOPE_STRIP && pi >= MD_SP_SEND_BASE &&
		    (pi - MD_SP_SEND_BASE) / MD_SEND_NFIELDS >= x->c->nbuses)
			return fail(x, MD_ERR_NOTFOUND, wk, "'%s': there is no bus %d (this session has %d)", path,
				    (pi - MD_SP_SEND_BASE) / MD_SEND_NFIELDS + 1, x->c->nbuses);
		if (console_lane(x->c, sc, index, pi, false))
			return fail(x, MD_ERR_EXISTS, wk, "a second lane for '%s' (one lane per parameter)", path);
		int mode = MD_AUTO_READ;
		if (json_object_object_get_ex(o, "mode", &mv)) {
			const char *ms;
			at(wk, "%s.mode", w);
			if ((e = want_string(x, mv, wk, "off, read, write, touch or latch", &ms)))
				return e;
			for (mode = 0; mode < MD_AUTO_COUNT && strcmp(auto_mode_names[mode], ms) != 0; mode++)
				;
			if (mode == MD_AUTO_COUNT)
				return fail(x, MD_ERR_RANGE, wk, "'%s' is not one of off, read, write, touch, latch", ms);
		}
		struct md_lane *lane = console_lane(x->c, sc, index, pi, true);
		if (!lane)
			return fail(x, MD_ERR_NOMEM, w, "out of memory");
		lane->mode = mode;
		if (json_object_object_get_ex(o, "points", &ptv)) {
			at(wk, "%s.points", w);
			if ((e = want(x, ptv, json_type_array, wk, "a list of [seconds, value] points")))
				return e;
			for (int k = 0; k < (int)json_object_array_length(ptv); k++) {
				char wp[WHERE_MAX];
				at(wp, "%s.points[%d]", w, k);
				json_object *pt = json_object_array_get_idx(ptv, k);
				if (json_object_get_type(pt) != json_type_array || json_object_array_length(pt) != 2)
					return fail(x, MD_ERR_TYPE, wp, "expected [seconds, value], got %s",
						    type_desc(pt));
				double t, val;
				float fv;
				if ((e = want_number(x, json_object_array_get_idx(pt, 0), wp, "a time in seconds", &t)) ||
				    (e = want_number(x, json_object_array_get_idx(pt, 1), wp, "a value", &val)))
					return e;
				if (t < 0)
					return fail(x, MD_ERR_RANGE, wp, "time %g is negative", t);
				if (lane->npoints > 0 && t <= lane->t[lane->npoints - 1])
					return fail(x, MD_ERR_FORMAT, wp,
						    "time %g is not after the previous point's %g (points are sorted by "
						    "time, one per time)",
						    t, lane->t[lane->npoints - 1]);
				if ((e = check_number(x, d, val, wp, &fv)))
					return e;
				if (console_lane_add_point(lane, t, fv) != MD_OK)
					return fail(x, MD_ERR_NOMEM, wp, "out of memory");
			}
		}
		char loc[WHERE_MAX];
		at(loc, "automation/%s", path);
		json_object_object_foreach(o, key, val)
		{
			at(wk, "%s.%s", w, key);
			if (strncmp(key, "x-", 2) == 0) {
				if ((e = keep_extra(ex, loc, key, val)))
					return fail(x, e, wk, "out of memory");
			} else if (strcmp(key, "param") && strcmp(key, "mode") && strcmp(key, "points")) {
				return fail(x, MD_ERR_FORMAT, wk, "unknown key (known here: param, mode, points)");
			}
		}
	}
	return MD_OK;
}

static enum md_err load_sends(struct ld *x, struct md_strip_model *s, json_object *v, const char *where,
			      json_object **ex)
{
	enum md_err e = want(x, v, json_type_array, where, "a list of sends");
	if (e)
		return e;
	bool seen[MD_MAX_BUSES] = {false};
	for (int i = 0; i < (int)json_object_array_length(v); i++) {
		char w[WHERE_MAX], wk[WHERE_MAX];
		at(w, "%s[%d]", where, i);
		json_object *o = json_object_array_get_idx(v, i), *bv;
		if ((e = want(x, o, json_type_object, w, "an object {\"bus\", \"level\", \"pre\"}")))
			return e;
		if (!json_object_object_get_ex(o, "bus", &bv))
			return fail(x, MD_ERR_FORMAT, w, "no \"bus\": which bus does this send feed?");
		const char *name;
		at(wk, "%s.bus", w);
		if ((e = want_string(x, bv, wk, "a bus name", &name)))
			return e;
		int b = console_find_bus(x->c, name);
		if (b < 0)
			return fail(x, MD_ERR_NOTFOUND, wk, "there is no bus named '%s'", name);
		if (seen[b])
			return fail(x, MD_ERR_EXISTS, wk, "a second send to '%s' (one send per bus)", name);
		seen[b] = true;
		char loc[WHERE_MAX];
		at(loc, "send/%d", b + 1);
		json_object_object_foreach(o, key, val)
		{
			at(wk, "%s.%s", w, key);
			int field = strcmp(key, "level") == 0 ? MD_SEND_LEVEL : strcmp(key, "pre") == 0 ? MD_SEND_PRE : -1;
			if (field >= 0) {
				int pi = MD_SP_SEND(b, field);
				if ((e = load_value(x, md_param_desc(MD_SCOPE_STRIP, pi), val, wk, &s->p[pi])))
					return e;
			} else if (strncmp(key, "x-", 2) == 0) {
				if ((e = keep_extra(ex, loc, key, val)))
					return fail(x, e, wk, "out of memory");
			} else if (strcmp(key, "bus") != 0) {
				return fail(x, MD_ERR_FORMAT, wk, "unknown key (known here: bus, level, pre)");
			}
		}
	}
	return MD_OK;
}

static enum md_err add_failed(struct ld *x, enum md_err e, const char *where, const char *what, const char *name,
			      int other)
{
	if (e == MD_ERR_EXISTS)
		return fail(x, e, where, "'%s' is already the name of %s[%d] (names are unique)", name,
			    strcmp(what, "strip") == 0 ? "strips" : "buses", other);
	if (e == MD_ERR_FULL)
		return fail(x, e, where, "too many %ss (at most %d)", what,
			    strcmp(what, "strip") == 0 ? MD_MAX_STRIPS : MD_MAX_BUSES);
	if (e == MD_ERR_NOMEM)
		return fail(x, e, where, "out of memory");
	return fail(x, e, where, "'%s' is not a valid name (1 to %d bytes, no ':' or control characters)", name,
		    MD_NAME_MAX - 1);
}

static enum md_err load_bus(struct ld *x, json_object *o, int i)
{
	static const char *const own[] = {"name", "outputs", "returns", "automation", NULL};
	char where[WHERE_MAX], w[WHERE_MAX], defname[32];
	json_object *v, *ex = NULL;
	at(where, "buses[%d]", i);
	enum md_err e = want(x, o, json_type_object, where, "an object");
	if (e)
		return e;
	const char *name = defname;
	snprintf(defname, sizeof defname, "Bus%d", i + 1);
	at(w, "%s.name", where);
	if (json_object_object_get_ex(o, "name", &v) && (e = want_string(x, v, w, "a name", &name)))
		return e;
	int idx;
	if ((e = console_add_bus(x->c, name, &idx)))
		return add_failed(x, e, w, "bus", name, console_find_bus(x->c, name));
	struct md_bus_model *b = x->c->buses[idx];
	if ((e = load_group(x, MD_SCOPE_BUS, "", o, where, b->p, &ex, own)))
		goto out;
	at(w, "%s.outputs", where);
	if (json_object_object_get_ex(o, "outputs", &v) && (e = load_conns(x, v, w, true, b->outputs)))
		goto out;
	at(w, "%s.returns", where);
	if (json_object_object_get_ex(o, "returns", &v) && (e = load_conns(x, v, w, true, b->returns)))
		goto out;
	at(w, "%s.automation", where);
	if (json_object_object_get_ex(o, "automation", &v) && (e = load_lanes(x, MD_SCOPE_BUS, idx, v, w, &ex)))
		goto out;
	if ((e = finish_extra(&ex, &b->extra)))
		fail(x, e, where, "out of memory");
out:
	json_object_put(ex);
	return e;
}

static enum md_err load_strip(struct ld *x, json_object *o, int i)
{
	static const char *const own[] = {"name", "stereo", "source", "inputs", "sends", "automation", NULL};
	char where[WHERE_MAX], w[WHERE_MAX], defname[32];
	json_object *v, *ex = NULL;
	at(where, "strips[%d]", i);
	enum md_err e = want(x, o, json_type_object, where, "an object");
	if (e)
		return e;
	const char *name = defname;
	snprintf(defname, sizeof defname, "Ch%d", i + 1);
	at(w, "%s.name", where);
	if (json_object_object_get_ex(o, "name", &v) && (e = want_string(x, v, w, "a name", &name)))
		return e;
	bool stereo = false;
	at(w, "%s.stereo", where);
	if (json_object_object_get_ex(o, "stereo", &v)) {
		if ((e = want(x, v, json_type_boolean, w, "true or false")))
			return e;
		stereo = json_object_get_boolean(v);
	}
	int idx;
	at(w, "%s.name", where);
	if ((e = console_add_strip(x->c, name, stereo, &idx)))
		return add_failed(x, e, w, "strip", name, console_find_strip(x->c, name));
	struct md_strip_model *s = x->c->strips[idx];
	at(w, "%s.source", where);
	if (json_object_object_get_ex(o, "source", &v) && json_object_get_type(v) != json_type_null) {
		const char *src;
		if ((e = want_string(x, v, w, "a file name (or null)", &src)))
			goto out;
		if (!*src) {
			e = fail(x, MD_ERR_FORMAT, w, "an empty file name (leave \"source\" out for none)");
			goto out;
		}
		if (!(s->source = strdup(src))) {
			e = fail(x, MD_ERR_NOMEM, w, "out of memory");
			goto out;
		}
	}
	at(w, "%s.inputs", where);
	if (json_object_object_get_ex(o, "inputs", &v) && (e = load_conns(x, v, w, stereo, s->inputs)))
		goto out;
	if ((e = load_group(x, MD_SCOPE_STRIP, "", o, where, s->p, &ex, own)))
		goto out;
	at(w, "%s.sends", where);
	if (json_object_object_get_ex(o, "sends", &v) && (e = load_sends(x, s, v, w, &ex)))
		goto out;
	at(w, "%s.automation", where);
	if (json_object_object_get_ex(o, "automation", &v) && (e = load_lanes(x, MD_SCOPE_STRIP, idx, v, w, &ex)))
		goto out;
	if ((e = finish_extra(&ex, &s->extra)))
		fail(x, e, where, "out of memory");
out:
	json_object_put(ex);
	return e;
}

static enum md_err load_render(struct ld *x, json_object *o, json_object **ex)
{
	enum md_err e = want(x, o, json_type_object, "render", "an object");
	if (e)
		return e;
	json_object_object_foreach(o, key, val)
	{
		char w[WHERE_MAX];
		double v;
		at(w, "render.%s", key);
		if (strcmp(key, "headroom") == 0) {
			if ((e = want_number(x, val, w, "a level in dBTP", &v)))
				return e;
			if (v < HEADROOM_MIN || v > HEADROOM_MAX)
				return fail(x, MD_ERR_RANGE, w, "%g is out of range (%g .. %g dB)", v, HEADROOM_MIN,
					    HEADROOM_MAX);
			x->c->render.headroom = (float)v;
		} else if (strcmp(key, "bits") == 0) {
			if ((e = want(x, val, json_type_int, w, "16, 24 or 32")))
				return e;
			int64_t b = json_object_get_int64(val);
			if (b != 16 && b != 24 && b != 32)
				return fail(x, MD_ERR_RANGE, w, "%lld is not one of 16, 24 or 32 (float)", (long long)b);
			x->c->render.bits = (int)b;
		} else if (strcmp(key, "tail") == 0) {
			if ((e = want_number(x, val, w, "a time in seconds", &v)))
				return e;
			if (v < 0 || v > TAIL_MAX)
				return fail(x, MD_ERR_RANGE, w, "%g is out of range (0 .. %g s)", v, TAIL_MAX);
			x->c->render.tail = (float)v;
		} else if (strncmp(key, "x-", 2) == 0) {
			if ((e = keep_extra(ex, "render", key, val)))
				return fail(x, e, w, "out of memory");
		} else {
			return fail(x, MD_ERR_FORMAT, w, "unknown key (known here: headroom, bits, tail)");
		}
	}
	return MD_OK;
}

static enum md_err load_master(struct ld *x, json_object *o)
{
	static const char *const own[] = {"outputs", "automation", NULL};
	json_object *v, *ex = NULL;
	enum md_err e = load_group(x, MD_SCOPE_MASTER, "", o, "master", x->c->master.p, &ex, own);
	if (e)
		goto out;
	if (json_object_object_get_ex(o, "outputs", &v) && (e = load_conns(x, v, "master.outputs", true,
									    x->c->master.outputs)))
		goto out;
	if (json_object_object_get_ex(o, "automation", &v) &&
	    (e = load_lanes(x, MD_SCOPE_MASTER, 0, v, "master.automation", &ex)))
		goto out;
	if ((e = finish_extra(&ex, &x->c->master.extra)))
		fail(x, e, "master", "out of memory");
out:
	json_object_put(ex);
	return e;
}

static void line_col(const char *text, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && text[i]; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
			(*col)++; /* count characters, not UTF-8 continuation bytes */
		}
	}
}

static enum md_err parse_json(struct ld *x, const char *text, size_t len, json_object **root)
{
	*root = NULL;
	if (strlen(text) != len)
		return fail(x, MD_ERR_FORMAT, NULL, "broken JSON: a NUL byte at offset %zu", strlen(text));
	if (len > INT32_MAX)
		return fail(x, MD_ERR_FORMAT, NULL, "the file is too large");
	struct json_tokener *tok = json_tokener_new();
	if (!tok)
		return fail(x, MD_ERR_NOMEM, NULL, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	json_object *o = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error je = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	int line, col;
	if (!o || je != json_tokener_success) {
		json_object_put(o);
		line_col(text, end, &line, &col);
		if (je == json_tokener_continue)
			snprintf(x->err, x->errlen, "%s:%d:%d: broken JSON: the file ends too early%s", x->file, line,
				 col, strspn(text, " \t\r\n") == len ? " (it is empty)" : " (unclosed { or [?)");
		else /* file:line:column, the way compilers say it */
			snprintf(x->err, x->errlen, "%s:%d:%d: broken JSON: %s", x->file, line, col,
				 json_tokener_error_desc(je));
		return MD_ERR_FORMAT;
	}
	*root = o;
	return MD_OK;
}

static enum md_err load_root(struct ld *x, json_object *root)
{
	static const char *const top_keys = "format, version, sample_rate, pan_law, strips, buses, master, render";
	json_object *v, *ex = NULL;
	enum md_err e;
	if (json_object_get_type(root) != json_type_object)
		return fail(x, MD_ERR_FORMAT, NULL, "not a mixdesk session: expected a JSON object, got %s",
			    type_desc(root));
	if (!json_object_object_get_ex(root, "format", &v))
		return fail(x, MD_ERR_FORMAT, NULL,
			    "not a mixdesk session: no \"format\" key (expected \"format\": \"" FORMAT_NAME "\")");
	const char *fmt;
	if ((e = want_string(x, v, "format", "\"" FORMAT_NAME "\"", &fmt)))
		return e;
	if (strcmp(fmt, FORMAT_NAME) != 0)
		return fail(x, MD_ERR_FORMAT, "format", "'%s' is not a mixdesk session (expected \"" FORMAT_NAME "\")",
			    fmt);
	if (!json_object_object_get_ex(root, "version", &v))
		return fail(x, MD_ERR_FORMAT, NULL, "no \"version\" key (this mixdesk writes \"version\": %d)",
			    MD_SESSION_VERSION);
	if ((e = want(x, v, json_type_int, "version", "a whole number")))
		return e;
	int64_t ver = json_object_get_int64(v);
	if (ver > MD_SESSION_VERSION)
		return fail(x, MD_ERR_FORMAT, "version",
			    "made by a newer mixdesk: version %lld, this one reads up to %d", (long long)ver,
			    MD_SESSION_VERSION);
	if (ver < 1)
		return fail(x, MD_ERR_FORMAT, "version", "%lld is not a session version (they start at 1)",
			    (long long)ver);

	uint32_t rate = 48000;
	if (json_object_object_get_ex(root, "sample_rate", &v)) {
		if ((e = want(x, v, json_type_int, "sample_rate", "a whole number of Hz")))
			return e;
		int64_t r = json_object_get_int64(v);
		if (r < RATE_MIN || r > RATE_MAX)
			return fail(x, MD_ERR_RANGE, "sample_rate", "%lld is out of range (%d .. %d Hz)", (long long)r,
				    RATE_MIN, RATE_MAX);
		rate = (uint32_t)r;
	}
	if (!(x->c = console_new(rate)))
		return fail(x, MD_ERR_NOMEM, NULL, "out of memory");

	/* buses first: sends and automation name them */
	if (json_object_object_get_ex(root, "buses", &v)) {
		if ((e = want(x, v, json_type_array, "buses", "a list of buses")))
			goto out;
		for (int i = 0; i < (int)json_object_array_length(v); i++)
			if ((e = load_bus(x, json_object_array_get_idx(v, i), i)))
				goto out;
	}
	json_object_object_foreach(root, key, val)
	{
		if (!strcmp(key, "format") || !strcmp(key, "version") || !strcmp(key, "sample_rate") ||
		    !strcmp(key, "buses")) {
			continue;
		} else if (strcmp(key, "pan_law") == 0) {
			e = load_value(x, md_param_desc(MD_SCOPE_MASTER, MD_MP_PAN_LAW), val, key,
				       &x->c->master.p[MD_MP_PAN_LAW]);
		} else if (strcmp(key, "strips") == 0) {
			if (!(e = want(x, val, json_type_array, key, "a list of strips")))
				for (int i = 0; i < (int)json_object_array_length(val) && !e; i++)
					e = load_strip(x, json_object_array_get_idx(val, i), i);
		} else if (strcmp(key, "master") == 0) {
			if (!(e = want(x, val, json_type_object, key, "an object")))
				e = load_master(x, val);
		} else if (strcmp(key, "render") == 0) {
			e = load_render(x, val, &ex);
		} else if (strncmp(key, "x-", 2) == 0) {
			if ((e = keep_extra(&ex, "", key, val)))
				fail(x, e, key, "out of memory");
		} else {
			e = fail(x, MD_ERR_FORMAT, key, "unknown key (known here: %s; keys for other tools start with x-)",
				 top_keys);
		}
		if (e)
			goto out;
	}
	if ((e = finish_extra(&ex, &x->c->extra)))
		fail(x, e, NULL, "out of memory");
out:
	json_object_put(ex);
	if (e) {
		console_free(x->c);
		x->c = NULL;
	}
	return e;
}

static enum md_err session_parse_len(const char *text, size_t len, const char *path, struct md_console **out, char *err,
			      size_t errlen)
{
	struct ld x = {path ? path : "session", err, errlen, NULL};
	json_object *root = NULL;
	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if (!text)
		return fail(&x, MD_ERR_FORMAT, NULL, "no text");
	enum md_err e = parse_json(&x, text, len, &root);
	if (e)
		return e;
	e = load_root(&x, root);
	json_object_put(root);
	if (!e)
		*out = x.c;
	return e;
}

enum md_err session_parse(const char *text, const char *path, struct md_console **out, char *err, size_t errlen)
{
	return session_parse_len(text, text ? strlen(text) : 0, path, out, err, errlen);
}

/* Read a whole file; *len gets its size. */
static char *read_all(const char *path, size_t *len, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t n = 0, cap = 0;
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (cap - n < 4096) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *nb = realloc(buf, ncap + 1);
			if (!nb) {
				snprintf(err, errlen, "%s: out of memory", path);
				goto fail;
			}
			buf = nb;
			cap = ncap;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0) {
			if (ferror(f)) {
				snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
				goto fail;
			}
			break;
		}
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	fclose(f);
	free(buf);
	return NULL;
}

enum md_err session_load(const char *path, struct md_console **out, char *err, size_t errlen)
{
	*out = NULL;
	size_t len = 0;
	char *text = read_all(path, &len, err, errlen);
	if (!text)
		return MD_ERR_IO;
	enum md_err e = session_parse_len(text, len, path, out, err, errlen);
	free(text);
	return e;
}

/* ---- saving ---- */

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

struct sv {
	bool nomem;
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
	char buf[128];
	snprintf(buf, sizeof buf, "%s", group);
	for (char *seg = strtok(buf, "/"); seg && o; seg = strtok(NULL, "/")) {
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
		if (excluded(sc, d->path))
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

static json_object *lanes_json(struct sv *s, enum md_scope sc, const struct md_lane *lanes, int n)
{
	json_object *a = chk(s, json_object_new_array());
	if (n == 0)
		one_line(a);
	for (int i = 0; a && i < n; i++) {
		const struct md_param_desc *d = md_param_desc(sc, lanes[i].param);
		json_object *o = chk(s, json_object_new_object());
		if (!d || !o) {
			json_object_put(o);
			continue;
		}
		put(s, o, "param", json_object_new_string(d->path));
		int m = lanes[i].mode >= 0 && lanes[i].mode < MD_AUTO_COUNT ? lanes[i].mode : MD_AUTO_READ;
		put(s, o, "mode", json_object_new_string(auto_mode_names[m]));
		json_object *pts = chk(s, json_object_new_array());
		for (int k = 0; pts && k < lanes[i].npoints; k++) {
			json_object *pt = one_line(chk(s, json_object_new_array()));
			if (pt) {
				push(s, pt, num_d(lanes[i].t[k]));
				push(s, pt, num_f(lanes[i].v[k]));
			}
			push(s, pts, pt);
		}
		if (pts && lanes[i].npoints == 0)
			one_line(pts);
		put(s, o, "points", pts);
		push(s, a, o);
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

/* Put the "x-" keys kept in extra back where they were found (see the top of this file). */
static void restore_extra(struct sv *s, json_object *o, const char *extra, const struct md_console *c,
			  const float *p)
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
			char loc[WHERE_MAX];
			at(loc, "%.*s", (int)(cut - key), key);
			name = cut + 1;
			json_object *arr;
			if (strncmp(loc, "send/", 5) == 0) {
				int b = atoi(loc + 5) - 1;
				if (!c || !p || b < 0 || b >= c->nbuses)
					continue;
				if (!json_object_object_get_ex(o, "sends", &arr)) {
					arr = chk(s, json_object_new_array());
					put(s, o, "sends", arr);
				}
				target = find_in(arr, "bus", c->buses[b]->name);
				if (!target && arr) {
					target = send_json(s, c, p, b);
					push(s, arr, target);
				}
			} else if (strncmp(loc, "automation/", 11) == 0) {
				target = json_object_object_get_ex(o, "automation", &arr)
						 ? find_in(arr, "param", loc + 11)
						 : NULL;
			} else {
				target = navigate(s, o, loc, false);
			}
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

static json_object *console_json(struct sv *s, const struct md_console *c)
{
	json_object *root = chk(s, json_object_new_object());
	if (!root)
		return NULL;
	put(s, root, "format", json_object_new_string(FORMAT_NAME));
	put(s, root, "version", json_object_new_int(MD_SESSION_VERSION));
	put(s, root, "sample_rate", json_object_new_int64(c->sample_rate));
	put(s, root, "pan_law", num_f(c->master.p[MD_MP_PAN_LAW]));

	json_object *strips = chk(s, json_object_new_array());
	put(s, root, "strips", strips);
	for (int i = 0; strips && i < c->nstrips && !s->nomem; i++) {
		const struct md_strip_model *st = c->strips[i];
		json_object *o = chk(s, json_object_new_object());
		push(s, strips, o);
		if (!o)
			break;
		put(s, o, "name", json_object_new_string(st->name));
		put(s, o, "stereo", json_object_new_boolean(st->stereo));
		if (st->source)
			put(s, o, "source", json_object_new_string(st->source));
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
		restore_extra(s, o, st->extra, c, st->p);
		if (sends && json_object_array_length(sends) == 0)
			one_line(sends);
	}

	json_object *buses = chk(s, json_object_new_array());
	put(s, root, "buses", buses);
	for (int i = 0; buses && i < c->nbuses && !s->nomem; i++) {
		const struct md_bus_model *b = c->buses[i];
		json_object *o = chk(s, json_object_new_object());
		push(s, buses, o);
		if (!o)
			break;
		put(s, o, "name", json_object_new_string(b->name));
		save_params(s, o, MD_SCOPE_BUS, b->p);
		put(s, o, "outputs", conns_json(s, b->outputs, 2, true));
		put(s, o, "returns", conns_json(s, b->returns, 2, true));
		put(s, o, "automation", lanes_json(s, MD_SCOPE_BUS, b->lanes, b->nlanes));
		restore_extra(s, o, b->extra, NULL, NULL);
	}

	json_object *m = chk(s, json_object_new_object());
	put(s, root, "master", m);
	if (m) {
		save_params(s, m, MD_SCOPE_MASTER, c->master.p);
		put(s, m, "outputs", conns_json(s, c->master.outputs, 2, true));
		put(s, m, "automation", lanes_json(s, MD_SCOPE_MASTER, c->master.lanes, c->master.nlanes));
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

static enum md_err write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return MD_ERR_IO;
		}
		buf += w;
		n -= (size_t)w;
	}
	return MD_OK;
}

/* Keep the current file as path.bak: a hard link costs nothing and leaves path itself untouched; where
 * links are not possible, a copy. */
static enum md_err keep_backup(const char *path, char *err, size_t errlen)
{
	char bak[4096];
	if (snprintf(bak, sizeof bak, "%s.bak", path) >= (int)sizeof bak) {
		snprintf(err, errlen, "%s: the path is too long", path);
		return MD_ERR_RANGE;
	}
	if (unlink(bak) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: cannot replace the backup %s: %s; %s was left as it was", path, bak,
			 strerror(errno), path);
		return MD_ERR_IO;
	}
	if (link(path, bak) == 0)
		return MD_OK;
	size_t len;
	char *old = read_all(path, &len, err, errlen);
	if (!old)
		return MD_ERR_IO;
	enum md_err e = MD_OK;
	int fd = open(bak, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, old, len) || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: cannot write the backup %s: %s; %s was left as it was", path, bak,
			 strerror(errno), path);
		e = MD_ERR_IO;
	}
	if (fd >= 0 && close(fd) != 0 && !e) {
		snprintf(err, errlen, "%s: cannot write the backup %s: %s", path, bak, strerror(errno));
		e = MD_ERR_IO;
	}
	free(old);
	return e;
}

enum md_err session_save(const char *path, const struct md_console *c, char *err, size_t errlen)
{
	struct sv s = {false};
	enum md_err e = MD_OK;
	char *tmp = NULL, *dircopy = NULL;
	int fd = -1;
	if (errlen)
		err[0] = '\0';
	json_object *root = console_json(&s, c);
	const char *text = root && !s.nomem ? json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
										       JSON_C_TO_STRING_SPACED |
										       JSON_C_TO_STRING_NOSLASHESCAPE)
					    : NULL;
	if (!text) {
		snprintf(err, errlen, "%s: out of memory while building the session", path);
		e = MD_ERR_NOMEM;
		goto out;
	}
	size_t tl = strlen(path);
	if (!(tmp = malloc(tl + 16)) || !(dircopy = strdup(path))) {
		snprintf(err, errlen, "%s: out of memory", path);
		e = MD_ERR_NOMEM;
		goto out;
	}
	const char *dir = dirname(dircopy);
	/* the temporary file sits beside the target, so the final rename stays within one file system */
	snprintf(tmp, tl + 16, "%s.tmp-XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create a temporary file in %s: %s; the file was left as it was", path,
			 dir, strerror(errno));
		e = MD_ERR_IO;
		goto out;
	}
	struct stat st;
	mode_t mode = 0644;
	if (stat(path, &st) == 0)
		mode = st.st_mode & 07777;
	fchmod(fd, mode);
	if (write_all(fd, text, strlen(text)) || write_all(fd, "\n", 1) || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: cannot write %s: %s; the file was left as it was", path, tmp,
			 strerror(errno));
		e = MD_ERR_IO;
		goto out;
	}
	int r = close(fd);
	fd = -1;
	if (r != 0) {
		snprintf(err, errlen, "%s: cannot write %s: %s; the file was left as it was", path, tmp,
			 strerror(errno));
		e = MD_ERR_IO;
		goto out;
	}
	if (access(path, F_OK) == 0 && (e = keep_backup(path, err, errlen)))
		goto out;
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: cannot replace the file: %s; it was left as it was", path, strerror(errno));
		e = MD_ERR_IO;
		goto out;
	}
	free(tmp);
	tmp = NULL;
	/* make the rename itself durable */
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd) != 0 && errno != EINVAL) {
			snprintf(err, errlen, "%s: saved, but syncing the folder %s failed: %s", path, dir,
				 strerror(errno));
			e = MD_ERR_IO;
		}
		close(dfd);
	}
out:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(dircopy);
	json_object_put(root);
	return e;
}
