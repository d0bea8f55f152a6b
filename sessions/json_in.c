/* mixdesk: reading a session's JSON values with validation. Typed readers that stop at the first problem with
 * one precise message (file, field path, what was found, what was expected), the parameter tree of a strip, a
 * bus or the master, automation lanes' modes and points, and the "x-" keys kept for other tools. The parameter
 * keys are not listed here: the descriptor table (engine/model/param.c) drives both directions, so a parameter
 * added there is saved and loaded without touching sessions/.
 *
 * Every function here is [control]. */
#include "sessions/session_int.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- typed readers ---- */

/* What is wrong, in words that quote nothing of the file (for session_load_remote's public message). */
static const char *public_phrase(enum md_err code, const char *fmt)
{
	if (strncmp(fmt, "unknown key", 11) == 0)
		return "unknown key";
	if (strstr(fmt, "not a mixdesk session"))
		return "not a mixdesk session file";
	if (strstr(fmt, "newer mixdesk"))
		return "made by a newer mixdesk";
	if (strstr(fmt, "out of memory"))
		return "out of memory";
	if (strncmp(fmt, "no \"", 4) == 0)
		return "a required key is missing";
	if (strstr(fmt, "--keep-missing-plugins"))
		return "a plugin that is not installed or cannot run here";
	if (strncmp(fmt, "not a parameter of <", 20) == 0)
		return "a parameter that the plugin does not have";
	switch (code) {
	case MD_ERR_TYPE: return "a value of the wrong type";
	case MD_ERR_RANGE: return "a value out of range";
	case MD_ERR_NAN: return "a number that is not finite";
	case MD_ERR_NOTFOUND: return "a name that the session does not define";
	case MD_ERR_EXISTS: return "a name, send or lane given twice";
	case MD_ERR_FULL: return "too many strips or buses";
	default: return "a value that is not valid there";
	}
}

/* The public message: the file, where the field is as a line and column (never its key: an unknown key's
 * name is the file's), and what is wrong. */
static void set_public(struct sess_ld *x, enum md_err code, const char *where, const char *fmt)
{
	if (!x->pub || !x->publen)
		return;
	size_t off = where && *where && x->text ? sess_scan_locate(x->text, x->len, where) : SESS_NOWHERE;
	const char *phrase = public_phrase(code, fmt);
	if (off == SESS_NOWHERE) {
		snprintf(x->pub, x->publen, "%s: %s", x->file, phrase);
		return;
	}
	int line, col;
	sess_line_col(x->text, x->len, off, &line, &col);
	snprintf(x->pub, x->publen, "%s: line %d, column %d: %s", x->file, line, col, phrase);
}

static void vfail(struct sess_ld *x, const char *where, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (x->errlen)
		snprintf(x->err, x->errlen, "%s: %s%s%s", x->file, where ? where : "", where && *where ? ": " : "",
			 msg);
}

enum md_err sess_fail(struct sess_ld *x, enum md_err code, const char *where, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(x, where, fmt, ap);
	va_end(ap);
	set_public(x, code, where, fmt);
	return code;
}

enum md_err sess_fail_safe(struct sess_ld *x, enum md_err code, const char *where, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(x, where, fmt, ap);
	va_end(ap);
	if (x->pub && x->publen)
		snprintf(x->pub, x->publen, "%s", x->errlen ? x->err : "");
	return code;
}

/* A field path for messages (every such buffer is SESS_WHERE_MAX long; a longer path is cut). */
void sess_at(char *dst, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dst, SESS_WHERE_MAX, fmt, ap);
	va_end(ap);
}

const char *sess_type_desc(json_object *v)
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

enum md_err sess_want(struct sess_ld *x, json_object *v, enum json_type t, const char *where, const char *what)
{
	enum json_type have = json_object_get_type(v);
	if (have == t || (t == json_type_double && have == json_type_int))
		return MD_OK;
	return sess_fail(x, MD_ERR_TYPE, where, "expected %s, got %s", what, sess_type_desc(v));
}

/* A string value without embedded NULs. */
enum md_err sess_want_string(struct sess_ld *x, json_object *v, const char *where, const char *what, const char **out)
{
	enum md_err e = sess_want(x, v, json_type_string, where, what);
	if (e)
		return e;
	const char *s = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) != strlen(s))
		return sess_fail(x, MD_ERR_FORMAT, where, "the string contains a NUL character");
	*out = s;
	return MD_OK;
}

enum md_err sess_want_number(struct sess_ld *x, json_object *v, const char *where, const char *what, double *out)
{
	enum md_err e = sess_want(x, v, json_type_double, where, what);
	if (e)
		return e;
	*out = json_object_get_double(v);
	if (!isfinite(*out))
		return sess_fail(x, MD_ERR_NAN, where, "expected %s, got a number that is not finite", what);
	return MD_OK;
}

static const char *unit_suffix(enum md_unit u)
{
	switch (u) {
	case MD_UNIT_DB: return " dB";
	case MD_UNIT_HZ: return " Hz";
	case MD_UNIT_MS: return " ms";
	case MD_UNIT_DB_OCT: return " dB/oct";
	case MD_UNIT_S: return " s";
	case MD_UNIT_PERCENT: return " %";
	case MD_UNIT_FACTOR: return "x";
	case MD_UNIT_BPM: return " BPM";
	default: return "";
	}
}

/* Check a number against a parameter; levels in dB at or below silence are silence. */
enum md_err sess_check_number(struct sess_ld *x, const struct md_param_desc *d, double v, const char *where, float *out)
{
	char list[160] = "";
	switch (d->kind) {
	case MD_KIND_FLOAT:
		if (d->smooth_db && v <= MD_SILENCE_DB)
			v = MD_SILENCE_DB;
		/* compared as the float the model keeps, so a limit such as 0.05 is itself in range */
		if ((float)v < d->min || (float)v > d->max)
			return sess_fail(x, MD_ERR_RANGE, where, "%g is out of range (%g .. %g%s)", v, (double)d->min,
					 (double)d->max, unit_suffix(d->unit));
		*out = (float)v;
		return MD_OK;
	case MD_KIND_BOOL:
		if (v != 0.0 && v != 1.0)
			return sess_fail(x, MD_ERR_RANGE, where, "%g is not 0 or 1 (off or on)", v);
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
		return sess_fail(x, MD_ERR_RANGE, where, "%g is not one of %s%s", v, list, unit_suffix(d->unit));
	case MD_KIND_ENUM: break;
	}
	return sess_fail(x, MD_ERR_TYPE, where, "expected a name, got a number");
}

enum md_err sess_load_value(struct sess_ld *x, const struct md_param_desc *d, json_object *v, const char *where,
			    float *out)
{
	double num;
	enum md_err e;
	switch (d->kind) {
	case MD_KIND_FLOAT:
	case MD_KIND_CHOICE:
		if ((e = sess_want_number(x, v, where, "a number", &num)))
			return e;
		return sess_check_number(x, d, num, where, out);
	case MD_KIND_BOOL:
		if ((e = sess_want(x, v, json_type_boolean, where, "true or false")))
			return e;
		*out = json_object_get_boolean(v) ? 1.0f : 0.0f;
		return MD_OK;
	case MD_KIND_ENUM: {
		const char *s;
		if ((e = sess_want_string(x, v, where, "a name", &s)))
			return e;
		int k = md_param_enum_value(d, s);
		if (k < 0) {
			char list[160] = "";
			for (int i = 0; i < d->count; i++) {
				size_t l = strlen(list);
				snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", d->names[i]);
			}
			return sess_fail(x, MD_ERR_RANGE, where, "'%s' is not one of %s", s, list);
		}
		*out = (float)k;
		return MD_OK;
	}
	}
	return MD_ERR_TYPE;
}

/* ---- the parameter tree ---- */

/* Parameters that live outside the generic key tree: sends (the "sends" list) and the pan law (top level). */
bool sess_excluded(enum md_scope sc, const char *path)
{
	if (sc == MD_SCOPE_STRIP)
		return strncmp(path, "send/", 5) == 0;
	if (sc == MD_SCOPE_MASTER)
		return strcmp(path, "pan_law") == 0 || strcmp(path, "tempo") == 0;
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
		if (!sess_excluded(sc, p) && strncmp(p, prefix, l) == 0 && p[l] == '/')
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
		if (sess_excluded(sc, p) || (gl && (strncmp(p, group, gl) != 0 || p[gl] != '/')))
			continue;
		const char *rest = gl ? p + gl + 1 : p;
		if (isdigit((unsigned char)rest[0]))
			add_key(out, n, "bands", 5);
		else
			add_key(out, n, rest, strcspn(rest, "/"));
	}
}

/* The array "bands" of a group that has nb numbered sub-groups: one object of the tree each, in order. */
static enum md_err load_bands(struct sess_ld *x, enum md_scope sc, const char *group, json_object *val, const char *w,
			      int nb, float *p, json_object **ex)
{
	enum md_err e = sess_want(x, val, json_type_array, w, "an array of bands");
	if (e)
		return e;
	int n = (int)json_object_array_length(val);
	if (n > nb)
		return sess_fail(x, MD_ERR_RANGE, w, "%d bands, at most %d", n, nb);
	for (int i = 0; i < n; i++) {
		char wi[SESS_WHERE_MAX], gi[64], num[16];
		sess_at(wi, "%s[%d]", w, i);
		snprintf(num, sizeof num, "%d", i + 1);
		join(gi, sizeof gi, group, num);
		if ((e = sess_load_group(x, sc, gi, json_object_array_get_idx(val, i), wi, p, ex, NULL)))
			return e;
	}
	return MD_OK;
}

/* One object of the parameter tree (a strip, "hpf", "eq", a band...): every key is a parameter, a group,
 * one of own (the caller handles it), or "x-". */
enum md_err sess_load_group(struct sess_ld *x, enum md_scope sc, const char *group, json_object *o, const char *where,
			    float *p, json_object **ex, const char *const *own)
{
	enum md_err e = sess_want(x, o, json_type_object, where, "an object");
	if (e)
		return e;
	json_object_object_foreach(o, key, val)
	{
		char w[SESS_WHERE_MAX], full[128];
		sess_at(w, "%s%s%s", where, *where ? "." : "", key);
		if (strncmp(key, "x-", 2) == 0) {
			if ((e = sess_keep_extra(ex, group, key, val)))
				return sess_fail(x, e, w, "out of memory");
			continue;
		}
		if (in_list(own, key))
			continue;
		join(full, sizeof full, group, key);
		int pi = sess_excluded(sc, full) || strchr(key, '/') ? -1 : md_param_find(sc, full);
		if (pi >= 0) {
			if ((e = sess_load_value(x, md_param_desc(sc, pi), val, w, &p[pi])))
				return e;
			continue;
		}
		if (!strchr(key, '/') && !isdigit((unsigned char)key[0]) && is_group(sc, full)) {
			if ((e = sess_load_group(x, sc, full, val, w, p, ex, NULL)))
				return e;
			continue;
		}
		int nb = strcmp(key, "bands") == 0 ? count_numbered(sc, group) : 0;
		if (nb > 0) {
			if ((e = load_bands(x, sc, group, val, w, nb, p, ex)))
				return e;
			continue;
		}
		char known[512];
		known_keys(sc, group, own, known, sizeof known);
		return sess_fail(x, MD_ERR_FORMAT, w,
				 "unknown key (known here: %s; keys for other tools start with x-)", known);
	}
	return MD_OK;
}

/* ---- "x-" keys (where they are kept: sessions/session_int.h) ---- */

/* Collected "x-" keys of one strip, bus, master or the console. */
enum md_err sess_keep_extra(json_object **ex, const char *loc, const char *key, json_object *v)
{
	if (!*ex && !(*ex = json_object_new_object()))
		return MD_ERR_NOMEM;
	char name[SESS_WHERE_MAX];
	join(name, sizeof name, loc, key);
	if (json_object_object_add(*ex, name, json_object_get(v)) != 0)
		return MD_ERR_NOMEM;
	return MD_OK;
}

enum md_err sess_finish_extra(json_object **ex, char **out)
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

/* A lane's "mode": one of the names console_auto_mode_name gives. */
enum md_err sess_lane_mode(struct sess_ld *x, json_object *mv, const char *w, int *out)
{
	char wk[SESS_WHERE_MAX];
	const char *ms;
	sess_at(wk, "%s.mode", w);
	enum md_err e = sess_want_string(x, mv, wk, "off, read, write, touch or latch", &ms);
	if (e)
		return e;
	int mode;
	for (mode = 0; mode < MD_AUTO_COUNT && strcmp(console_auto_mode_name(mode), ms) != 0; mode++)
		;
	if (mode == MD_AUTO_COUNT)
		return sess_fail(x, MD_ERR_RANGE, wk, "'%s' is not one of off, read, write, touch, latch", ms);
	*out = mode;
	return MD_OK;
}

/* A lane's "points": [seconds, value] pairs, one per time in rising order, each value checked by check. */
enum md_err sess_lane_points(struct sess_ld *x, json_object *ptv, const char *w, struct md_lane *lane,
			     sess_value_check check, const void *ctx)
{
	char wk[SESS_WHERE_MAX];
	sess_at(wk, "%s.points", w);
	enum md_err e = sess_want(x, ptv, json_type_array, wk, "a list of [seconds, value] points");
	if (e)
		return e;
	for (int k = 0; k < (int)json_object_array_length(ptv); k++) {
		char wp[SESS_WHERE_MAX];
		sess_at(wp, "%s.points[%d]", w, k);
		json_object *pt = json_object_array_get_idx(ptv, k);
		if (json_object_get_type(pt) != json_type_array || json_object_array_length(pt) != 2)
			return sess_fail(x, MD_ERR_TYPE, wp, "expected [seconds, value], got %s", sess_type_desc(pt));
		double t, val;
		float fv;
		if ((e = sess_want_number(x, json_object_array_get_idx(pt, 0), wp, "a time in seconds", &t)) ||
		    (e = sess_want_number(x, json_object_array_get_idx(pt, 1), wp, "a value", &val)))
			return e;
		if (t < 0)
			return sess_fail(x, MD_ERR_RANGE, wp, "time %g is negative", t);
		if (lane->npoints > 0 && t <= lane->t[lane->npoints - 1])
			return sess_fail(x, MD_ERR_FORMAT, wp,
					 "time %g is not after the previous point's %g (points are sorted by "
					 "time, one per time)",
					 t, lane->t[lane->npoints - 1]);
		if ((e = check(x, ctx, val, wp, &fv)))
			return e;
		if (console_lane_add_point(lane, t, fv) != MD_OK)
			return sess_fail(x, MD_ERR_NOMEM, wp, "out of memory");
	}
	return MD_OK;
}
