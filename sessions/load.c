/* mixdesk: loading a session (docs/SESSION.md) on json-c. Everything is validated into a new console, with one
 * precise message for the first problem (file, field path, what was found, what was expected): the root, the
 * strips, buses, master and render settings, automation lanes, sends and JACK connections; the plugin inserts
 * are sessions/inserts.c's. The values themselves are read by sessions/json_in.c.
 *
 * Every function here is [control]. */
#include "sessions/session_int.h"

#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PORT_NAME_MAX 320 /* JACK's full port name limit */
#define RATE_MIN 8000
#define RATE_MAX 384000
#define HEADROOM_MIN (-60.0)
#define HEADROOM_MAX 0.0
#define TAIL_MAX 600.0

static const char *const scope_names[] = {"a strip", "a bus", "the master"};

static enum md_err port_name(struct sess_ld *x, json_object *v, const char *where, struct md_conns *l)
{
	const char *s;
	enum md_err e = sess_want_string(x, v, where, "a JACK port name (\"client:port\")", &s);
	if (e)
		return e;
	if (!strchr(s, ':') || s[0] == ':' || strlen(s) >= PORT_NAME_MAX)
		return sess_fail(x, MD_ERR_FORMAT, where, "'%s' is not a JACK port name (\"client:port\")", s);
	if (console_conns_add(l, s) != MD_OK)
		return sess_fail(x, MD_ERR_NOMEM, where, "out of memory");
	return MD_OK;
}

/* Connections of one port (two == false: a flat list of names) or of a left/right pair: either [] or
 * ["L port", "R port"] (one each) or [["L ports"...], ["R ports"...]]. */
static enum md_err load_conns(struct sess_ld *x, json_object *v, const char *where, bool two, struct md_conns *out)
{
	enum md_err e = sess_want(x, v, json_type_array, where,
				  two ? "[\"L port\", \"R port\"] or [[L ports...], [R ports...]]"
				      : "a list of port names");
	if (e)
		return e;
	int n = (int)json_object_array_length(v);
	if (two && n != 0 && n != 2)
		return sess_fail(x, MD_ERR_FORMAT, where,
				 "%d entries; expected two, left and right: [\"L port\", \"R port\"] or "
				 "[[L ports...], [R ports...]]",
				 n);
	bool nested = n > 0 && json_object_get_type(json_object_array_get_idx(v, 0)) == json_type_array;
	for (int i = 0; i < n; i++) {
		char wi[SESS_WHERE_MAX];
		sess_at(wi, "%s[%d]", where, i);
		json_object *el = json_object_array_get_idx(v, i);
		if (!two) {
			if ((e = port_name(x, el, wi, &out[0])))
				return e;
		} else if (nested) {
			if ((e = sess_want(x, el, json_type_array, wi, "a list of port names (like the first side)")))
				return e;
			for (int k = 0; k < (int)json_object_array_length(el); k++) {
				char wk[SESS_WHERE_MAX];
				sess_at(wk, "%s[%d]", wi, k);
				if ((e = port_name(x, json_object_array_get_idx(el, k), wk, &out[i])))
					return e;
			}
		} else if ((e = port_name(x, el, wi, &out[i]))) {
			return e;
		}
	}
	return MD_OK;
}

/* The parameter a lane automates ("param"): one of this scope's that can be automated and has no lane yet. */
static enum md_err lane_param(struct sess_ld *x, enum md_scope sc, int index, json_object *o, const char *w,
			      const char **out_path, int *out_pi)
{
	char wk[SESS_WHERE_MAX];
	json_object *pv;
	sess_at(wk, "%s.param", w);
	if (!json_object_object_get_ex(o, "param", &pv))
		return sess_fail(x, MD_ERR_FORMAT, w, "no \"param\": which parameter does this lane automate?");
	const char *path;
	enum md_err e = sess_want_string(x, pv, wk, "a parameter path like \"fader\" or \"eq/2/gain\"", &path);
	if (e)
		return e;
	int pi = md_param_find(sc, path);
	if (pi < 0 || (sc == MD_SCOPE_MASTER && sess_excluded(sc, path)))
		return sess_fail(x, MD_ERR_NOTFOUND, wk, "'%s' is not a parameter of %s (e.g. fader%s)", path,
				 scope_names[sc], sc == MD_SCOPE_STRIP ? ", pan, eq/2/gain, send/1/level" : "");
	const struct md_param_desc *d = md_param_desc(sc, pi);
	if (!d->automatable)
		return sess_fail(x, MD_ERR_FORMAT, wk, "'%s' cannot be automated", path);
	if (sc == MD_SCOPE_STRIP && pi >= MD_SP_SEND_BASE && (pi - MD_SP_SEND_BASE) / MD_SEND_NFIELDS >= x->c->nbuses)
		return sess_fail(x, MD_ERR_NOTFOUND, wk, "'%s': there is no bus %d (this session has %d)", path,
				 (pi - MD_SP_SEND_BASE) / MD_SEND_NFIELDS + 1, x->c->nbuses);
	if (console_lane(x->c, sc, index, pi, false))
		return sess_fail(x, MD_ERR_EXISTS, wk, "a second lane for '%s' (one lane per parameter)", path);
	*out_path = path;
	*out_pi = pi;
	return MD_OK;
}

/* a console parameter's point value: in its descriptor's range */
static enum md_err param_point(struct sess_ld *x, const void *d, double v, const char *where, float *out)
{
	return sess_check_number(x, d, v, where, out);
}

/* The other keys of a lane: "x-" keys, kept under "automation/<param>"; anything else is unknown. */
static enum md_err lane_extras(struct sess_ld *x, json_object *o, const char *w, const char *path, json_object **ex)
{
	char loc[SESS_WHERE_MAX], wk[SESS_WHERE_MAX];
	enum md_err e;
	sess_at(loc, "automation/%s", path);
	json_object_object_foreach(o, key, val)
	{
		sess_at(wk, "%s.%s", w, key);
		if (strncmp(key, "x-", 2) == 0) {
			if ((e = sess_keep_extra(ex, loc, key, val)))
				return sess_fail(x, e, wk, "out of memory");
		} else if (strcmp(key, "param") && strcmp(key, "mode") && strcmp(key, "points")) {
			return sess_fail(x, MD_ERR_FORMAT, wk, "unknown key (known here: param, mode, points)");
		}
	}
	return MD_OK;
}

static enum md_err load_lanes(struct sess_ld *x, enum md_scope sc, int index, json_object *v, const char *where,
			      json_object **ex)
{
	enum md_err e = sess_want(x, v, json_type_array, where, "a list of automation lanes");
	if (e)
		return e;
	for (int i = 0; i < (int)json_object_array_length(v); i++) {
		char w[SESS_WHERE_MAX];
		sess_at(w, "%s[%d]", where, i);
		json_object *o = json_object_array_get_idx(v, i), *mv, *ptv;
		if ((e = sess_want(x, o, json_type_object, w, "an object {\"param\", \"mode\", \"points\"}")))
			return e;
		const char *path = NULL;
		int pi = -1;
		if ((e = lane_param(x, sc, index, o, w, &path, &pi)))
			return e;
		int mode = MD_AUTO_READ;
		if (json_object_object_get_ex(o, "mode", &mv) && (e = sess_lane_mode(x, mv, w, &mode)))
			return e;
		struct md_lane *lane = console_lane(x->c, sc, index, pi, true);
		if (!lane)
			return sess_fail(x, MD_ERR_NOMEM, w, "out of memory");
		lane->mode = mode;
		if (json_object_object_get_ex(o, "points", &ptv) &&
		    (e = sess_lane_points(x, ptv, w, lane, param_point, md_param_desc(sc, pi))))
			return e;
		if ((e = lane_extras(x, o, w, path, ex)))
			return e;
	}
	return MD_OK;
}

static enum md_err load_sends(struct sess_ld *x, struct md_strip_model *s, json_object *v, const char *where,
			      json_object **ex)
{
	enum md_err e = sess_want(x, v, json_type_array, where, "a list of sends");
	if (e)
		return e;
	bool seen[MD_MAX_BUSES] = {false};
	for (int i = 0; i < (int)json_object_array_length(v); i++) {
		char w[SESS_WHERE_MAX], wk[SESS_WHERE_MAX];
		sess_at(w, "%s[%d]", where, i);
		json_object *o = json_object_array_get_idx(v, i), *bv;
		if ((e = sess_want(x, o, json_type_object, w, "an object {\"bus\", \"level\", \"pre\"}")))
			return e;
		if (!json_object_object_get_ex(o, "bus", &bv))
			return sess_fail(x, MD_ERR_FORMAT, w, "no \"bus\": which bus does this send feed?");
		const char *name;
		sess_at(wk, "%s.bus", w);
		if ((e = sess_want_string(x, bv, wk, "a bus name", &name)))
			return e;
		int b = console_find_bus(x->c, name);
		if (b < 0)
			return sess_fail(x, MD_ERR_NOTFOUND, wk, "there is no bus named '%s'", name);
		if (seen[b])
			return sess_fail(x, MD_ERR_EXISTS, wk, "a second send to '%s' (one send per bus)", name);
		seen[b] = true;
		char loc[SESS_WHERE_MAX];
		sess_at(loc, "send/%d", b + 1);
		json_object_object_foreach(o, key, val)
		{
			sess_at(wk, "%s.%s", w, key);
			int field = !strcmp(key, "level") ? MD_SEND_LEVEL : !strcmp(key, "pre") ? MD_SEND_PRE : -1;
			if (field >= 0) {
				int pi = MD_SP_SEND(b, field);
				if ((e = sess_load_value(x, md_param_desc(MD_SCOPE_STRIP, pi), val, wk, &s->p[pi])))
					return e;
			} else if (strncmp(key, "x-", 2) == 0) {
				if ((e = sess_keep_extra(ex, loc, key, val)))
					return sess_fail(x, e, wk, "out of memory");
			} else if (strcmp(key, "bus") != 0) {
				return sess_fail(x, MD_ERR_FORMAT, wk, "unknown key (known here: bus, level, pre)");
			}
		}
	}
	return MD_OK;
}


static enum md_err add_failed(struct sess_ld *x, enum md_err e, const char *where, const char *what, const char *name,
			      int other)
{
	if (e == MD_ERR_EXISTS)
		return sess_fail(x, e, where, "'%s' is already the name of %s[%d] (names are unique)", name,
				 strcmp(what, "strip") == 0 ? "strips" : "buses", other);
	if (e == MD_ERR_FULL)
		return sess_fail(x, e, where, "too many %ss (at most %d)", what,
				 strcmp(what, "strip") == 0 ? MD_MAX_STRIPS : MD_MAX_BUSES);
	if (e == MD_ERR_NOMEM)
		return sess_fail(x, e, where, "out of memory");
	return sess_fail(x, e, where, "'%s' is not a valid name (1 to %d bytes, no ':' or control characters)", name,
			 MD_NAME_MAX - 1);
}

static enum md_err load_bus(struct sess_ld *x, json_object *o, int i)
{
	static const char *const own[] = {"name", "outputs", "returns", "automation", "inserts", NULL};
	char where[SESS_WHERE_MAX], w[SESS_WHERE_MAX], defname[32];
	json_object *v, *ex = NULL;
	sess_at(where, "buses[%d]", i);
	enum md_err e = sess_want(x, o, json_type_object, where, "an object");
	if (e)
		return e;
	const char *name = defname;
	snprintf(defname, sizeof defname, "Bus%d", i + 1);
	sess_at(w, "%s.name", where);
	if (json_object_object_get_ex(o, "name", &v) && (e = sess_want_string(x, v, w, "a name", &name)))
		return e;
	int idx;
	if ((e = console_add_bus(x->c, name, &idx)))
		return add_failed(x, e, w, "bus", name, console_find_bus(x->c, name));
	struct md_bus_model *b = x->c->buses[idx];
	if ((e = sess_load_group(x, MD_SCOPE_BUS, "", o, where, b->p, &ex, own)))
		goto out;
	sess_at(w, "%s.outputs", where);
	if (json_object_object_get_ex(o, "outputs", &v) && (e = load_conns(x, v, w, true, b->outputs)))
		goto out;
	sess_at(w, "%s.returns", where);
	if (json_object_object_get_ex(o, "returns", &v) && (e = load_conns(x, v, w, true, b->returns)))
		goto out;
	sess_at(w, "%s.automation", where);
	if (json_object_object_get_ex(o, "automation", &v) && (e = load_lanes(x, MD_SCOPE_BUS, idx, v, w, &ex)))
		goto out;
	sess_at(w, "%s.inserts", where);
	if (json_object_object_get_ex(o, "inserts", &v) && (e = sess_load_inserts(x, MD_SCOPE_BUS, idx, v, w, 2, &ex)))
		goto out;
	if ((e = sess_finish_extra(&ex, &b->extra)))
		sess_fail(x, e, where, "out of memory");
out:
	json_object_put(ex);
	return e;
}

static enum md_err load_strip(struct sess_ld *x, json_object *o, int i)
{
	static const char *const own[] = {"name", "stereo", "source", "inputs", "sends", "automation", "inserts", NULL};
	char where[SESS_WHERE_MAX], w[SESS_WHERE_MAX], defname[32];
	json_object *v, *ex = NULL;
	sess_at(where, "strips[%d]", i);
	enum md_err e = sess_want(x, o, json_type_object, where, "an object");
	if (e)
		return e;
	const char *name = defname;
	snprintf(defname, sizeof defname, "Ch%d", i + 1);
	sess_at(w, "%s.name", where);
	if (json_object_object_get_ex(o, "name", &v) && (e = sess_want_string(x, v, w, "a name", &name)))
		return e;
	bool stereo = false;
	sess_at(w, "%s.stereo", where);
	if (json_object_object_get_ex(o, "stereo", &v)) {
		if ((e = sess_want(x, v, json_type_boolean, w, "true or false")))
			return e;
		stereo = json_object_get_boolean(v);
	}
	int idx;
	sess_at(w, "%s.name", where);
	if ((e = console_add_strip(x->c, name, stereo, &idx)))
		return add_failed(x, e, w, "strip", name, console_find_strip(x->c, name));
	struct md_strip_model *s = x->c->strips[idx];
	sess_at(w, "%s.source", where);
	if (json_object_object_get_ex(o, "source", &v) && json_object_get_type(v) != json_type_null) {
		const char *src;
		if ((e = sess_want_string(x, v, w, "a file name (or null)", &src)))
			goto out;
		if (!*src) {
			e = sess_fail(x, MD_ERR_FORMAT, w, "an empty file name (leave \"source\" out for none)");
			goto out;
		}
		if (!(s->source = strdup(src))) {
			e = sess_fail(x, MD_ERR_NOMEM, w, "out of memory");
			goto out;
		}
	}
	sess_at(w, "%s.inputs", where);
	if (json_object_object_get_ex(o, "inputs", &v) && (e = load_conns(x, v, w, stereo, s->inputs)))
		goto out;
	if ((e = sess_load_group(x, MD_SCOPE_STRIP, "", o, where, s->p, &ex, own)))
		goto out;
	/* without "input": the source when the strip has one and no JACK connections (a multitrack to mix by
	 * ear), else its JACK input */
	if (!json_object_object_get_ex(o, "input", &v))
		s->p[MD_SP_INPUT] = s->source && s->inputs[0].n == 0 && s->inputs[1].n == 0 ? MD_INPUT_SOURCE
											    : MD_INPUT_JACK;
	sess_at(w, "%s.sends", where);
	if (json_object_object_get_ex(o, "sends", &v) && (e = load_sends(x, s, v, w, &ex)))
		goto out;
	sess_at(w, "%s.automation", where);
	if (json_object_object_get_ex(o, "automation", &v) && (e = load_lanes(x, MD_SCOPE_STRIP, idx, v, w, &ex)))
		goto out;
	sess_at(w, "%s.inserts", where);
	if (json_object_object_get_ex(o, "inserts", &v) &&
	    (e = sess_load_inserts(x, MD_SCOPE_STRIP, idx, v, w, stereo ? 2 : 1, &ex)))
		goto out;
	if ((e = sess_finish_extra(&ex, &s->extra)))
		sess_fail(x, e, where, "out of memory");
out:
	json_object_put(ex);
	return e;
}

static enum md_err load_render(struct sess_ld *x, json_object *o, json_object **ex)
{
	enum md_err e = sess_want(x, o, json_type_object, "render", "an object");
	if (e)
		return e;
	json_object_object_foreach(o, key, val)
	{
		char w[SESS_WHERE_MAX];
		double v;
		sess_at(w, "render.%s", key);
		if (strcmp(key, "headroom") == 0) {
			if ((e = sess_want_number(x, val, w, "a level in dBTP", &v)))
				return e;
			if (v < HEADROOM_MIN || v > HEADROOM_MAX)
				return sess_fail(x, MD_ERR_RANGE, w, "%g is out of range (%g .. %g dB)", v,
						 HEADROOM_MIN, HEADROOM_MAX);
			x->c->render.headroom = (float)v;
		} else if (strcmp(key, "bits") == 0) {
			if ((e = sess_want(x, val, json_type_int, w, "16, 24 or 32")))
				return e;
			int64_t b = json_object_get_int64(val);
			if (b != 16 && b != 24 && b != 32)
				return sess_fail(x, MD_ERR_RANGE, w, "%lld is not one of 16, 24 or 32 (float)",
						 (long long)b);
			x->c->render.bits = (int)b;
		} else if (strcmp(key, "tail") == 0) {
			if ((e = sess_want_number(x, val, w, "a time in seconds", &v)))
				return e;
			if (v < 0 || v > TAIL_MAX)
				return sess_fail(x, MD_ERR_RANGE, w, "%g is out of range (0 .. %g s)", v, TAIL_MAX);
			x->c->render.tail = (float)v;
		} else if (strncmp(key, "x-", 2) == 0) {
			if ((e = sess_keep_extra(ex, "render", key, val)))
				return sess_fail(x, e, w, "out of memory");
		} else {
			return sess_fail(x, MD_ERR_FORMAT, w, "unknown key (known here: headroom, bits, tail)");
		}
	}
	return MD_OK;
}

static enum md_err load_master(struct sess_ld *x, json_object *o)
{
	static const char *const own[] = {"outputs", "automation", "inserts", NULL};
	json_object *v, *ex = NULL;
	enum md_err e = sess_load_group(x, MD_SCOPE_MASTER, "", o, "master", x->c->master.p, &ex, own);
	if (e)
		goto out;
	if (json_object_object_get_ex(o, "outputs", &v) &&
	    (e = load_conns(x, v, "master.outputs", true, x->c->master.outputs)))
		goto out;
	if (json_object_object_get_ex(o, "automation", &v) &&
	    (e = load_lanes(x, MD_SCOPE_MASTER, 0, v, "master.automation", &ex)))
		goto out;
	if (json_object_object_get_ex(o, "inserts", &v) &&
	    (e = sess_load_inserts(x, MD_SCOPE_MASTER, 0, v, "master.inserts", 2, &ex)))
		goto out;
	if ((e = sess_finish_extra(&ex, &x->c->master.extra)))
		sess_fail(x, e, "master", "out of memory");
out:
	json_object_put(ex);
	return e;
}

static enum md_err parse_json(struct sess_ld *x, const char *text, size_t len, json_object **root)
{
	*root = NULL;
	if (strlen(text) != len)
		return sess_fail_safe(x, MD_ERR_FORMAT, NULL, "broken JSON: a NUL byte at offset %zu", strlen(text));
	if (len > INT32_MAX)
		return sess_fail_safe(x, MD_ERR_FORMAT, NULL, "the file is too large");
	struct json_tokener *tok = json_tokener_new();
	if (!tok)
		return sess_fail_safe(x, MD_ERR_NOMEM, NULL, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	json_object *o = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error je = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	int line, col;
	if (!o || je != json_tokener_success) {
		json_object_put(o);
		sess_line_col(text, len, end, &line, &col);
		/* file:line:column, the way compilers say it; json-c's words and ours quote nothing of the file */
		char msg[160];
		if (je == json_tokener_continue)
			snprintf(msg, sizeof msg, "broken JSON: the file ends too early%s",
				 strspn(text, " \t\r\n") == len ? " (it is empty)" : " (unclosed { or [?)");
		else
			snprintf(msg, sizeof msg, "broken JSON: %s", json_tokener_error_desc(je));
		if (x->errlen)
			snprintf(x->err, x->errlen, "%s:%d:%d: %s", x->file, line, col, msg);
		if (x->pub && x->publen)
			snprintf(x->pub, x->publen, "%s: line %d, column %d: %s", x->file, line, col, msg);
		return MD_ERR_FORMAT;
	}
	*root = o;
	return MD_OK;
}

/* "format" and "version": is this a mixdesk session, and one this mixdesk reads? */
static enum md_err check_header(struct sess_ld *x, json_object *root)
{
	json_object *v;
	enum md_err e;
	if (json_object_get_type(root) != json_type_object)
		return sess_fail(x, MD_ERR_FORMAT, NULL, "not a mixdesk session: expected a JSON object, got %s",
				 sess_type_desc(root));
	if (!json_object_object_get_ex(root, "format", &v))
		return sess_fail(x, MD_ERR_FORMAT, NULL,
				 "not a mixdesk session: no \"format\" key "
				 "(expected \"format\": \"" SESS_FORMAT_NAME "\")");
	const char *fmt;
	if ((e = sess_want_string(x, v, "format", "\"" SESS_FORMAT_NAME "\"", &fmt)))
		return e;
	if (strcmp(fmt, SESS_FORMAT_NAME) != 0)
		return sess_fail(x, MD_ERR_FORMAT, "format",
				 "'%s' is not a mixdesk session (expected \"" SESS_FORMAT_NAME "\")", fmt);
	if (!json_object_object_get_ex(root, "version", &v))
		return sess_fail(x, MD_ERR_FORMAT, NULL, "no \"version\" key (this mixdesk writes \"version\": %d)",
				 MD_SESSION_VERSION);
	if ((e = sess_want(x, v, json_type_int, "version", "a whole number")))
		return e;
	int64_t ver = json_object_get_int64(v);
	if (ver > MD_SESSION_VERSION)
		return sess_fail(x, MD_ERR_FORMAT, "version",
				 "made by a newer mixdesk: version %lld, this one reads up to %d", (long long)ver,
				 MD_SESSION_VERSION);
	if (ver < 1)
		return sess_fail(x, MD_ERR_FORMAT, "version", "%lld is not a session version (they start at 1)",
				 (long long)ver);
	return MD_OK;
}

/* "sample_rate"; *rate is left as it is when the key is absent. */
static enum md_err load_rate(struct sess_ld *x, json_object *root, uint32_t *rate)
{
	json_object *v;
	if (!json_object_object_get_ex(root, "sample_rate", &v))
		return MD_OK;
	enum md_err e = sess_want(x, v, json_type_int, "sample_rate", "a whole number of Hz");
	if (e)
		return e;
	int64_t r = json_object_get_int64(v);
	if (r < RATE_MIN || r > RATE_MAX)
		return sess_fail(x, MD_ERR_RANGE, "sample_rate", "%lld is out of range (%d .. %d Hz)", (long long)r,
				 RATE_MIN, RATE_MAX);
	*rate = (uint32_t)r;
	return MD_OK;
}

static enum md_err load_buses(struct sess_ld *x, json_object *root)
{
	json_object *v;
	if (!json_object_object_get_ex(root, "buses", &v))
		return MD_OK;
	enum md_err e = sess_want(x, v, json_type_array, "buses", "a list of buses");
	for (int i = 0; !e && i < (int)json_object_array_length(v); i++)
		e = load_bus(x, json_object_array_get_idx(v, i), i);
	return e;
}

/* One top-level key other than "buses" (loaded first) and the header's. */
static enum md_err load_top_key(struct sess_ld *x, const char *key, json_object *val, json_object **ex)
{
	static const char *const top_keys =
		"format, version, sample_rate, pan_law, tempo, strips, buses, master, render";
	enum md_err e = MD_OK;
	if (!strcmp(key, "format") || !strcmp(key, "version") || !strcmp(key, "sample_rate") || !strcmp(key, "buses")) {
		return MD_OK;
	} else if (strcmp(key, "pan_law") == 0) {
		e = sess_load_value(x, md_param_desc(MD_SCOPE_MASTER, MD_MP_PAN_LAW), val, key,
				    &x->c->master.p[MD_MP_PAN_LAW]);
	} else if (strcmp(key, "tempo") == 0) {
		e = sess_load_value(x, md_param_desc(MD_SCOPE_MASTER, MD_MP_TEMPO), val, key,
				    &x->c->master.p[MD_MP_TEMPO]);
	} else if (strcmp(key, "strips") == 0) {
		if (!(e = sess_want(x, val, json_type_array, key, "a list of strips")))
			for (int i = 0; i < (int)json_object_array_length(val) && !e; i++)
				e = load_strip(x, json_object_array_get_idx(val, i), i);
	} else if (strcmp(key, "master") == 0) {
		if (!(e = sess_want(x, val, json_type_object, key, "an object")))
			e = load_master(x, val);
	} else if (strcmp(key, "render") == 0) {
		e = load_render(x, val, ex);
	} else if (strncmp(key, "x-", 2) == 0) {
		if ((e = sess_keep_extra(ex, "", key, val)))
			sess_fail(x, e, key, "out of memory");
	} else {
		e = sess_fail(x, MD_ERR_FORMAT, key, "unknown key (known here: %s; keys for other tools start with x-)",
			      top_keys);
	}
	return e;
}

static enum md_err load_root(struct sess_ld *x, json_object *root)
{
	json_object *ex = NULL;
	uint32_t rate = 48000;
	enum md_err e;
	if ((e = check_header(x, root)) || (e = load_rate(x, root, &rate)))
		return e;
	if (!(x->c = console_new(rate)))
		return sess_fail(x, MD_ERR_NOMEM, NULL, "out of memory");

	/* buses first: sends and automation name them */
	if ((e = load_buses(x, root)))
		goto out;
	json_object_object_foreach(root, key, val)
	{
		if ((e = load_top_key(x, key, val, &ex)))
			goto out;
	}
	if ((e = sess_finish_extra(&ex, &x->c->extra)))
		sess_fail(x, e, NULL, "out of memory");
out:
	json_object_put(ex);
	if (e) {
		console_free(x->c);
		x->c = NULL;
	}
	return e;
}

/* The text (len bytes) as a session; pub (may be NULL) gets the message that quotes nothing of the file. */
static enum md_err session_parse_len(const char *text, size_t len, const char *path, struct md_console **out, char *err,
				     size_t errlen, char *pub, size_t publen)
{
	struct sess_ld x = {path ? path : "session", err, errlen, pub, publen, text, len, NULL};
	json_object *root = NULL;
	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if (pub && publen)
		pub[0] = '\0';
	if (!text)
		return sess_fail_safe(&x, MD_ERR_FORMAT, NULL, "no text");
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
	return session_parse_len(text, text ? strlen(text) : 0, path, out, err, errlen, NULL, 0);
}

enum md_err session_load_remote(const char *path, struct md_console **out, char *err, size_t errlen, char *pub,
				size_t publen)
{
	*out = NULL;
	size_t len = 0;
	char *text = sess_read_file(path, MD_SESSION_MAX_BYTES, &len, err, errlen);
	if (!text) {
		/* the file's name, its kind and size: nothing of what it holds */
		if (pub && publen)
			snprintf(pub, publen, "%s", errlen ? err : "");
		return MD_ERR_IO;
	}
	enum md_err e = session_parse_len(text, len, path, out, err, errlen, pub, publen);
	free(text);
	if (!e) { /* relative sources start at the file's folder */
		const char *slash = strrchr(path, '/');
		(*out)->dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
		if (!(*out)->dir) {
			console_free(*out);
			*out = NULL;
			snprintf(err, errlen, "%s: out of memory", path);
			return MD_ERR_NOMEM;
		}
	}
	return e;
}

enum md_err session_load(const char *path, struct md_console **out, char *err, size_t errlen)
{
	return session_load_remote(path, out, err, errlen, NULL, 0);
}
