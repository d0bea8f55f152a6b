/* mixdesk: the OSC address space (docs/OSC.md). liblo calls one catch-all handler; it splits the address
 * and matches it against the one table of routes below: special forms first, then the generic parameter
 * routes that look the rest of the path up in the parameter descriptor table (engine/param.h). The table
 * also fixes each route's accepted arguments, so type and count errors are found in one place.
 * Every function is [control]. */
#include "control/control_int.h"
#include "control/oscnet.h"
#include "control/oscarg.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*route_fn)(struct md_control *c, const struct req *r);

/* Argument classes, one letter per position: n number (i f d h), b switch (n or T/F), s string,
 * v a parameter value (checked against its descriptor). */
struct route {
	const char *pattern; /* "#": a number from 1; "*": the rest of the path (a parameter path) */
	int scope;
	const char *args;
	int min_args;
	const char *expect; /* what a correct call looks like, for /error */
	route_fn fn;
};

static void h_param(struct md_control *c, const struct req *r);
static void h_pos(struct md_control *c, const struct req *r);
static void h_name(struct md_control *c, const struct req *r);
static void h_stereo(struct md_control *c, const struct req *r);
static void h_add(struct md_control *c, const struct req *r);
static void h_remove(struct md_control *c, const struct req *r);
static void h_count(struct md_control *c, const struct req *r);
static void h_subscribe(struct md_control *c, const struct req *r);
static void h_unsubscribe(struct md_control *c, const struct req *r);
static void h_dump(struct md_control *c, const struct req *r);
static void h_status(struct md_control *c, const struct req *r);
static void h_meter(struct md_control *c, const struct req *r);
static void h_x32_status(struct md_control *c, const struct req *r);

#define S MD_SCOPE_STRIP
#define B MD_SCOPE_BUS
#define M MD_SCOPE_MASTER
static const struct route routes[] = {
	/* plugin inserts (control/inserts.c): before the parameter routes, so a symbol is never taken for one */
	{"/ch/#/insert/#/plugin", S, "s", 0, "s plugin URI (\"\" empties the slot; no argument: query)",
	 ctl_h_insert_plugin},
	{"/bus/#/insert/#/plugin", B, "s", 0, "s plugin URI (\"\" empties the slot; no argument: query)",
	 ctl_h_insert_plugin},
	{"/master/insert/#/plugin", M, "s", 0, "s plugin URI (\"\" empties the slot; no argument: query)",
	 ctl_h_insert_plugin},
	{"/ch/#/insert/#/remove", S, "", 0, "no arguments", ctl_h_insert_remove},
	{"/bus/#/insert/#/remove", B, "", 0, "no arguments", ctl_h_insert_remove},
	{"/master/insert/#/remove", M, "", 0, "no arguments", ctl_h_insert_remove},
	{"/ch/#/insert/#/bypass", S, "b", 0, "i 0/1 (or f 0.0/1.0, T/F; no argument: query)", ctl_h_insert_bypass},
	{"/bus/#/insert/#/bypass", B, "b", 0, "i 0/1 (or f 0.0/1.0, T/F; no argument: query)", ctl_h_insert_bypass},
	{"/master/insert/#/bypass", M, "b", 0, "i 0/1 (or f 0.0/1.0, T/F; no argument: query)", ctl_h_insert_bypass},
	/* lanes of plugin parameters: before the param route, which would take "gain/auto" for a symbol */
	{"/ch/#/insert/#/param/*/auto", S, "s", 0, "s off|read|write|touch|latch (no argument: query)",
	 ctl_h_insert_auto},
	{"/bus/#/insert/#/param/*/auto", B, "s", 0, "s off|read|write|touch|latch (no argument: query)",
	 ctl_h_insert_auto},
	{"/master/insert/#/param/*/auto", M, "s", 0, "s off|read|write|touch|latch (no argument: query)",
	 ctl_h_insert_auto},
	{"/ch/#/insert/#/param/*/auto/add", S, "nn", 2, "f seconds, f value", ctl_h_insert_auto_add},
	{"/bus/#/insert/#/param/*/auto/add", B, "nn", 2, "f seconds, f value", ctl_h_insert_auto_add},
	{"/master/insert/#/param/*/auto/add", M, "nn", 2, "f seconds, f value", ctl_h_insert_auto_add},
	{"/ch/#/insert/#/param/*/auto/clear", S, "nn", 0, "[f from seconds, f to seconds] (none: the whole lane)",
	 ctl_h_insert_auto_clear},
	{"/bus/#/insert/#/param/*/auto/clear", B, "nn", 0, "[f from seconds, f to seconds] (none: the whole lane)",
	 ctl_h_insert_auto_clear},
	{"/master/insert/#/param/*/auto/clear", M, "nn", 0, "[f from seconds, f to seconds] (none: the whole lane)",
	 ctl_h_insert_auto_clear},
	{"/ch/#/insert/#/param/*/auto/points", S, "", 0, "no arguments (a query)", ctl_h_insert_auto_points},
	{"/bus/#/insert/#/param/*/auto/points", B, "", 0, "no arguments (a query)", ctl_h_insert_auto_points},
	{"/master/insert/#/param/*/auto/points", M, "", 0, "no arguments (a query)", ctl_h_insert_auto_points},
	{"/ch/#/insert/#/param/*", S, "b", 0, "f a value in the parameter's range (no argument: query)",
	 ctl_h_insert_param},
	{"/bus/#/insert/#/param/*", B, "b", 0, "f a value in the parameter's range (no argument: query)",
	 ctl_h_insert_param},
	{"/master/insert/#/param/*", M, "b", 0, "f a value in the parameter's range (no argument: query)",
	 ctl_h_insert_param},
	{"/ch/#/insert/#/params", S, "", 0, "no arguments (a query)", ctl_h_insert_params},
	{"/bus/#/insert/#/params", B, "", 0, "no arguments (a query)", ctl_h_insert_params},
	{"/master/insert/#/params", M, "", 0, "no arguments (a query)", ctl_h_insert_params},
	{"/ch/#/insert/#/latency", S, "", 0, "no arguments (a query)", ctl_h_insert_latency},
	{"/bus/#/insert/#/latency", B, "", 0, "no arguments (a query)", ctl_h_insert_latency},
	{"/master/insert/#/latency", M, "", 0, "no arguments (a query)", ctl_h_insert_latency},
	{"/plugins", -1, "", 0, "no arguments (a query)", ctl_h_plugins},
	{"/ch/#/fader/pos", S, "n", 0, "f fader position 0..1 (no argument: query)", h_pos},
	{"/ch/#/send/#/level/pos", S, "n", 0, "f send position 0..1 (no argument: query)", h_pos},
	{"/bus/#/fader/pos", B, "n", 0, "f fader position 0..1 (no argument: query)", h_pos},
	{"/master/fader/pos", M, "n", 0, "f fader position 0..1 (no argument: query)", h_pos},
	{"/ch/#/name", S, "s", 0, "s name, 1..63 bytes, no ':' (no argument: query)", h_name},
	{"/bus/#/name", B, "s", 0, "s name, 1..63 bytes, no ':' (no argument: query)", h_name},
	{"/ch/#/stereo", S, "b", 0, "i 0/1 (no argument: query)", h_stereo},
	{"/ch/#/remove", S, "", 0, "no arguments", h_remove},
	{"/bus/#/remove", B, "", 0, "no arguments", h_remove},
	{"/ch/add", S, "sb", 1, "s name [i stereo 0/1]", h_add},
	{"/bus/add", B, "s", 1, "s name", h_add},
	{"/ch/count", S, "", 0, "no arguments (a query)", h_count},
	{"/bus/count", B, "", 0, "no arguments (a query)", h_count},
	{"/subscribe", -1, "nn", 0,
	 "[f meter rate in Hz, 0..60; 0 or none: no meters] [i reply port 1..65535; none: the sender's port]",
	 h_subscribe},
	{"/unsubscribe", -1, "", 0, "no arguments", h_unsubscribe},
	{"/dump", -1, "", 0, "no arguments", h_dump},
	{"/status", -1, "", 0, "no arguments", h_status},
	{"/x32/status", -1, "", 0, "no arguments (a query)", h_x32_status},
	{"/ch/#/meter", S, "", 0, "no arguments (a query; subscribers get meters sent)", h_meter},
	{"/bus/#/meter", B, "", 0, "no arguments (a query; subscribers get meters sent)", h_meter},
	{"/master/meter", M, "", 0, "no arguments (a query; subscribers get meters sent)", h_meter},
	{"/session/save", -1, "s", 0, "[s path]", ctl_h_save},
	{"/session/load", -1, "s", 1, "s path", ctl_h_load},
	/* automation (docs/AUTOMATION.md): PARAM is any automatable parameter path */
	{"/ch/#/*/touch", S, "b", 1, "i 1 (the control is held) or 0 (released)", ctl_h_touch},
	{"/bus/#/*/touch", B, "b", 1, "i 1 (the control is held) or 0 (released)", ctl_h_touch},
	{"/master/*/touch", M, "b", 1, "i 1 (the control is held) or 0 (released)", ctl_h_touch},
	{"/ch/#/*/auto", S, "s", 0, "s off|read|write|touch|latch (no argument: query)", ctl_h_auto},
	{"/bus/#/*/auto", B, "s", 0, "s off|read|write|touch|latch (no argument: query)", ctl_h_auto},
	{"/master/*/auto", M, "s", 0, "s off|read|write|touch|latch (no argument: query)", ctl_h_auto},
	{"/ch/#/*/auto/add", S, "nn", 2, "f seconds, f value", ctl_h_auto_add},
	{"/bus/#/*/auto/add", B, "nn", 2, "f seconds, f value", ctl_h_auto_add},
	{"/master/*/auto/add", M, "nn", 2, "f seconds, f value", ctl_h_auto_add},
	{"/ch/#/*/auto/move", S, "nnn", 3, "i point (from 1), f seconds, f value", ctl_h_auto_move},
	{"/bus/#/*/auto/move", B, "nnn", 3, "i point (from 1), f seconds, f value", ctl_h_auto_move},
	{"/master/*/auto/move", M, "nnn", 3, "i point (from 1), f seconds, f value", ctl_h_auto_move},
	{"/ch/#/*/auto/delete", S, "n", 1, "i point (from 1)", ctl_h_auto_delete},
	{"/bus/#/*/auto/delete", B, "n", 1, "i point (from 1)", ctl_h_auto_delete},
	{"/master/*/auto/delete", M, "n", 1, "i point (from 1)", ctl_h_auto_delete},
	{"/ch/#/*/auto/clear", S, "nn", 0, "[f from seconds, f to seconds] (none: the whole lane)", ctl_h_auto_clear},
	{"/bus/#/*/auto/clear", B, "nn", 0, "[f from seconds, f to seconds] (none: the whole lane)", ctl_h_auto_clear},
	{"/master/*/auto/clear", M, "nn", 0, "[f from seconds, f to seconds] (none: the whole lane)", ctl_h_auto_clear},
	{"/ch/#/*/auto/points", S, "", 0, "no arguments (a query)", ctl_h_auto_points},
	{"/bus/#/*/auto/points", B, "", 0, "no arguments (a query)", ctl_h_auto_points},
	{"/master/*/auto/points", M, "", 0, "no arguments (a query)", ctl_h_auto_points},
	{"/transport/play", -1, "", 0, "no arguments", ctl_h_transport},
	{"/transport/stop", -1, "", 0, "no arguments", ctl_h_transport},
	{"/transport/locate", -1, "n", 1, "f seconds, >= 0", ctl_h_transport},
	{"/transport/position", -1, "", 0, "no arguments (a query)", ctl_h_transport},
	{"/ch/#/*", S, "v", 0, NULL, h_param},
	{"/bus/#/*", B, "v", 0, NULL, h_param},
	{"/master/*", M, "v", 0, NULL, h_param},
};
#undef S
#undef B
#undef M

static const char *scope_word(int scope)
{
	return scope == MD_SCOPE_STRIP ? "strip" : scope == MD_SCOPE_BUS ? "bus" : "master";
}

/* Match a path against a pattern; fills the numbers and the rest. -1: no match. */
static int match(const char *pattern, const char *path, struct req *r)
{
	const char *p = pattern, *s = path;
	int nums = 0;
	while (*p) {
		if (*p == '#') {
			if (*s < '0' || *s > '9')
				return -1;
			long v = 0;
			while (*s >= '0' && *s <= '9') {
				if (v < 1000000)
					v = v * 10 + (*s - '0');
				s++;
			}
			if (*s && *s != '/')
				return -1;
			if (nums == 0)
				r->index = (int)v - 1;
			else
				r->index2 = (int)v - 1;
			nums++;
			p++;
		} else if (*p == '*') {
			if (!*s || *s == '/')
				return -1;
			if (!p[1]) {
				r->rest = s;
				return 0;
			}
			/* "*" then a literal suffix: the rest is what lies between */
			size_t ns = strlen(s), nsuf = strlen(p + 1);
			if (ns <= nsuf || strcmp(s + ns - nsuf, p + 1) != 0 || ns - nsuf >= sizeof r->restbuf)
				return -1;
			memcpy(r->restbuf, s, ns - nsuf);
			r->restbuf[ns - nsuf] = '\0';
			r->rest = r->restbuf;
			return 0;
		} else {
			if (*p != *s)
				return -1;
			p++;
			s++;
		}
	}
	return *s ? -1 : 0;
}

static const char *count_word(int n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* the strip/bus numbers of a matched route exist? (an /error says which do) */
static bool check_indices(struct md_control *c, const struct req *r, const char *pattern)
{
	const struct md_console *con = mixer_console(c->m);
	if (r->scope == MD_SCOPE_STRIP && strncmp(pattern, "/ch/#", 5) == 0 &&
	    (r->index < 0 || r->index >= con->nstrips)) {
		oscnet_error(&c->net, r->path, "no strip %d: the console has %d %s, numbered from 1", r->index + 1,
			     con->nstrips, count_word(con->nstrips, "strip", "strips"));
		return false;
	}
	if (r->scope == MD_SCOPE_BUS && strncmp(pattern, "/bus/#", 6) == 0 &&
	    (r->index < 0 || r->index >= con->nbuses)) {
		oscnet_error(&c->net, r->path, "no bus %d: the console has %d %s, numbered from 1", r->index + 1,
			     con->nbuses, count_word(con->nbuses, "bus", "buses"));
		return false;
	}
	if (strstr(pattern, "/send/#") && (r->index2 < 0 || r->index2 >= con->nbuses)) {
		oscnet_error(&c->net, r->path, "no bus %d for a send: the console has %d %s, numbered from 1",
			     r->index2 + 1, con->nbuses, count_word(con->nbuses, "bus", "buses"));
		return false;
	}
	return true;
}

static const char *type_name(char t)
{
	// clang-format off: a table of one-line cases
	switch (t) {
	case 'i': return "i (int32)";
	case 'f': return "f (float32)";
	case 'd': return "d (double)";
	case 'h': return "h (int64)";
	case 's':
	case 'S': return "s (string)";
	case 'T':
	case 'F': return "T/F";
	case 'b': return "b (blob)";
	default: return "an unsupported type";
	}
	// clang-format on
}


int ctl_dispatch(const char *path, const char *types, lo_arg **argv, int argc, lo_message msg, void *user)
{
	struct md_control *c = user;
	struct req r = {.path = path, .scope = -1, .argc = argc};
	if (strlen(path) >= MD_OSC_PATH_MAX) {
		oscnet_error(&c->net, path, "address too long: at most %d bytes", MD_OSC_PATH_MAX - 1);
		return 0;
	}
	const struct route *rt = NULL;
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		struct req t = r;
		if (match(routes[i].pattern, path, &t) == 0) {
			rt = &routes[i];
			r = t;
			if (t.rest == t.restbuf) /* it pointed into the copy */
				r.rest = r.restbuf;
			break;
		}
	}
	if (!rt) {
		if (strpbrk(path, "*?[]{}"))
			oscnet_error(&c->net, path,
				     "unknown address: patterns are not supported, send one address per message");
		else
			oscnet_error(
				&c->net, path,
				"unknown address: see docs/OSC.md (/ch/N/..., /bus/N/..., /master/..., /subscribe, /dump)");
		return 0;
	}
	r.scope = rt->scope;
	int maxargs = (int)strlen(rt->args);
	if (argc > maxargs || argc < rt->min_args) {
		oscnet_error(&c->net, path, "%s arguments (%d): expected %s", argc > maxargs ? "too many" : "missing",
			     argc, rt->expect ? rt->expect : "one value, or none for a query");
		return 0;
	}
	for (int i = 0; i < argc; i++) {
		struct arg *a = &r.a[i];
		a->type = types[i];
		// clang-format off: a table of one-line cases
		switch (types[i]) {
		case 'i':
			a->is_num = true;
			a->num = osc_arg_i32(argv[i]);
			break;
		case 'f':
			a->is_num = true;
			a->num = osc_arg_f32(argv[i]);
			break;
		case 'd':
			a->is_num = true;
			a->num = osc_arg_f64(argv[i]);
			break;
		case 'h':
			a->is_num = true;
			a->num = (double)osc_arg_i64(argv[i]);
			break;
		case 'T':
			a->is_tf = true;
			a->num = 1;
			break;
		case 'F':
			a->is_tf = true;
			a->num = 0;
			break;
		case 's':
		case 'S': a->s = (const char *)argv[i]; break;
		default: break;
		}
		// clang-format on
		char want = rt->args[i];
		bool ok = (want == 'n' && a->is_num) || (want == 'b' && (a->is_num || a->is_tf)) ||
			  (want == 's' && a->s) || (want == 'v' && (a->is_num || a->is_tf || a->s));
		if (!ok) {
			oscnet_error(&c->net, path, "wrong type %s for argument %d: expected %s", type_name(types[i]),
				     i + 1, rt->expect ? rt->expect : "a value of the parameter's type");
			return 0;
		}
		if (a->is_num && !isfinite(a->num)) {
			oscnet_error(&c->net, path, "%s is not a finite number: expected %s",
				     isnan(a->num) ? "NaN" : "infinity", rt->expect ? rt->expect : "a finite value");
			return 0;
		}
	}
	if (!check_indices(c, &r, rt->pattern))
		return 0;
	rt->fn(c, &r);
	return 0;
}

/* ---- parameters ---- */

/* a finite double as a float, beyond-float magnitudes pinned so the clamp can report them */
static float to_float(double v)
{
	return v > FLT_MAX ? FLT_MAX : v < -FLT_MAX ? -FLT_MAX : (float)v;
}

static void expect_of(const struct md_param_desc *d, char *buf, size_t len)
{
	switch (d->kind) {
	case MD_KIND_FLOAT:
		snprintf(buf, len, "f %g..%g %s", (double)d->min, (double)d->max, md_param_unit_name(d->unit));
		break;
	case MD_KIND_BOOL: snprintf(buf, len, "i 0/1 (or f 0.0/1.0, T/F)"); break;
	case MD_KIND_ENUM: {
		int n = snprintf(buf, len, "s ");
		for (int i = 0; i < d->count && n < (int)len; i++)
			n += snprintf(buf + n, len - (size_t)n, "%s%s", i ? "|" : "", d->names[i]);
		if (n < (int)len)
			snprintf(buf + n, len - (size_t)n, " or i 0..%d", d->count - 1);
		break;
	}
	case MD_KIND_CHOICE: {
		int n = snprintf(buf, len, "one of ");
		for (int i = 0; i < d->count && n < (int)len; i++)
			n += snprintf(buf + n, len - (size_t)n, "%s%g", i ? "|" : "", (double)d->choices[i]);
		if (n < (int)len)
			snprintf(buf + n, len - (size_t)n, " %s", md_param_unit_name(d->unit));
		break;
	}
	}
}

static void reply_param(struct md_control *c, const struct req *r, int param, bool pos)
{
	oscnet_reply(&c->net, r->path, ctl_param_msg(c, (enum md_scope)r->scope, r->index, param, pos));
}

static int scope_index(const struct req *r)
{
	return r->scope == MD_SCOPE_MASTER ? 0 : r->index;
}

static void h_param(struct md_control *c, const struct req *r)
{
	enum md_scope scope = (enum md_scope)r->scope;
	int param = md_param_find(scope, r->rest);
	if (param < 0) {
		oscnet_error(&c->net, r->path, "unknown address: no parameter '%s' on a %s (see docs/OSC.md)", r->rest,
			     scope_word(r->scope));
		return;
	}
	struct req q = *r;
	q.index = scope_index(r);
	if (scope == MD_SCOPE_STRIP && param >= MD_SP_SEND_BASE) {
		int bus = (param - MD_SP_SEND_BASE) / MD_SEND_NFIELDS;
		int nbuses = mixer_console(c->m)->nbuses;
		if (bus >= nbuses) {
			oscnet_error(&c->net, r->path, "no bus %d for a send: the console has %d %s, numbered from 1",
				     bus + 1, nbuses, count_word(nbuses, "bus", "buses"));
			return;
		}
	}
	if (r->argc == 0) {
		reply_param(c, &q, param, false);
		return;
	}
	const struct md_param_desc *d = md_param_desc(scope, param);
	const struct arg *a = &r->a[0];
	char expect[160];
	float v;
	if (a->s) {
		int e = d->kind == MD_KIND_ENUM ? md_param_enum_value(d, a->s) : -1;
		if (e < 0) {
			expect_of(d, expect, sizeof expect);
			if (d->kind == MD_KIND_ENUM)
				oscnet_error(&c->net, r->path, "unknown name '%.64s': expected %s", a->s, expect);
			else
				oscnet_error(&c->net, r->path, "wrong type s (string): expected %s", expect);
			return;
		}
		v = (float)e;
	} else if (a->is_tf && d->kind != MD_KIND_BOOL) {
		expect_of(d, expect, sizeof expect);
		oscnet_error(&c->net, r->path, "wrong type T/F: expected %s", expect);
		return;
	} else {
		v = to_float(a->num);
	}
	float stored;
	bool changed;
	enum md_err e = mixer_set(c->m, scope, q.index, param, v, &stored, &changed);
	if (e) {
		oscnet_error(&c->net, r->path, "cannot set: %s", md_strerror(e));
		return;
	}
	ctl_note_set(c, scope, q.index, param, stored, false);
	/* the answer to a set is the true value, only when it differs from what was asked (clamped, snapped) */
	if (changed || (a->is_num && fabs(a->num) > FLT_MAX))
		reply_param(c, &q, param, false);
}

/* the fader-law form of a fader or send level */
static void h_pos(struct md_control *c, const struct req *r)
{
	int param;
	if (r->scope == MD_SCOPE_STRIP)
		param = strstr(r->path, "/send/") ? MD_SP_SEND(r->index2, MD_SEND_LEVEL) : MD_SP_FADER;
	else
		param = r->scope == MD_SCOPE_BUS ? MD_BP_FADER : MD_MP_FADER;
	struct req q = *r;
	q.index = scope_index(r);
	if (r->argc == 0) {
		reply_param(c, &q, param, true);
		return;
	}
	double asked = r->a[0].num;
	float p = asked < 0 ? 0.0f : asked > 1 ? 1.0f : (float)asked;
	float stored;
	enum md_err e = mixer_set(c->m, (enum md_scope)r->scope, q.index, param, md_fader_pos_to_db(p), &stored, NULL);
	if (e) {
		oscnet_error(&c->net, r->path, "cannot set: %s", md_strerror(e));
		return;
	}
	ctl_note_set(c, (enum md_scope)r->scope, q.index, param, stored, true);
	if (fabs((double)md_fader_db_to_pos(stored) - asked) > 1e-5)
		reply_param(c, &q, param, true);
}

/* ---- structure ---- */

static bool check_name(struct md_control *c, const struct req *r, const char *name)
{
	size_t n = strlen(name);
	if (n >= MD_NAME_MAX) {
		oscnet_error(&c->net, r->path, "name too long (%zu bytes): expected 1..%d bytes", n, MD_NAME_MAX - 1);
		return false;
	}
	enum md_err e = console_check_name(name);
	if (e == MD_ERR_RANGE) {
		oscnet_error(&c->net, r->path, "empty name: expected 1..%d bytes", MD_NAME_MAX - 1);
		return false;
	}
	if (e) {
		oscnet_error(&c->net, r->path, "bad name: names are UTF-8 text without ':' or control characters");
		return false;
	}
	return true;
}

static void structure_error(struct md_control *c, const struct req *r, enum md_err e, const char *name)
{
	if (e == MD_ERR_EXISTS)
		oscnet_error(&c->net, r->path, "a %s named '%s' exists already: names are unique", scope_word(r->scope),
			     name);
	else if (e == MD_ERR_FULL)
		oscnet_error(&c->net, r->path, "the console is full (%d strips, %d buses at most)", MD_MAX_STRIPS,
			     MD_MAX_BUSES);
	else
		oscnet_error(&c->net, r->path, "failed: %s", md_strerror(e));
}

static void h_name(struct md_control *c, const struct req *r)
{
	const struct md_console *con = mixer_console(c->m);
	if (r->argc == 0) {
		lo_message m = lo_message_new();
		lo_message_add_string(m, r->scope == MD_SCOPE_STRIP ? con->strips[r->index]->name
								    : con->buses[r->index]->name);
		oscnet_reply(&c->net, r->path, m);
		return;
	}
	const char *name = r->a[0].s;
	if (!check_name(c, r, name))
		return;
	enum md_err e = r->scope == MD_SCOPE_STRIP ? mixer_rename_strip(c->m, r->index, name)
						   : mixer_rename_bus(c->m, r->index, name);
	if (e)
		structure_error(c, r, e, name);
}

static void h_stereo(struct md_control *c, const struct req *r)
{
	const struct md_console *con = mixer_console(c->m);
	if (r->argc == 0) {
		lo_message m = lo_message_new();
		lo_message_add_int32(m, con->strips[r->index]->stereo ? 1 : 0);
		oscnet_reply(&c->net, r->path, m);
		return;
	}
	bool st = r->a[0].num >= 0.5;
	enum md_err e = mixer_set_stereo(c->m, r->index, st);
	if (e) {
		structure_error(c, r, e, con->strips[r->index]->name);
		return;
	}
	if (r->a[0].num != (st ? 1.0 : 0.0)) {
		lo_message m = lo_message_new();
		lo_message_add_int32(m, st ? 1 : 0);
		oscnet_reply(&c->net, r->path, m);
	}
}

static void send_count_and_name(struct md_control *c, int scope, int index)
{
	const struct md_console *con = mixer_console(c->m);
	struct md_out o;
	oscnet_out_begin(&o, &c->net, &c->net.cur);
	lo_message m = lo_message_new();
	lo_message_add_int32(m, scope == MD_SCOPE_STRIP ? con->nstrips : con->nbuses);
	oscnet_out_add(&o, scope == MD_SCOPE_STRIP ? "/ch/count" : "/bus/count", m);
	if (index >= 0) {
		char path[64];
		snprintf(path, sizeof path, "/%s/%d/name", scope == MD_SCOPE_STRIP ? "ch" : "bus", index + 1);
		m = lo_message_new();
		lo_message_add_string(m, scope == MD_SCOPE_STRIP ? con->strips[index]->name : con->buses[index]->name);
		oscnet_out_add(&o, path, m);
	}
	oscnet_out_flush(&o);
}

static void h_add(struct md_control *c, const struct req *r)
{
	const char *name = r->a[0].s;
	if (!check_name(c, r, name))
		return;
	int index = -1;
	enum md_err e = r->scope == MD_SCOPE_STRIP
				? mixer_add_strip(c->m, name, r->argc > 1 && r->a[1].num >= 0.5, &index)
				: mixer_add_bus(c->m, name, &index);
	if (e) {
		structure_error(c, r, e, name);
		return;
	}
	send_count_and_name(c, r->scope, index);
}

static void h_remove(struct md_control *c, const struct req *r)
{
	const struct md_console *con = mixer_console(c->m);
	const char *name = r->scope == MD_SCOPE_STRIP ? con->strips[r->index]->name : con->buses[r->index]->name;
	enum md_err e = r->scope == MD_SCOPE_STRIP ? mixer_remove_strip(c->m, r->index)
						   : mixer_remove_bus(c->m, r->index);
	if (e) {
		structure_error(c, r, e, name);
		return;
	}
	send_count_and_name(c, r->scope, -1);
}

static void h_count(struct md_control *c, const struct req *r)
{
	send_count_and_name(c, r->scope, -1);
}

/* ---- feedback and status (the session commands are control/session_cmds.c's) ---- */

static void h_subscribe(struct md_control *c, const struct req *r)
{
	double hz = r->argc ? r->a[0].num : 0.0;
	double got = hz < 0 ? 0 : hz > MD_OSC_METER_MAX_HZ ? MD_OSC_METER_MAX_HZ : hz;
	/* the feedback goes to the sender's host on the port asked for, else on --osc-reply-port, else back to
	 * where the sender sent from: one subscription per host and reply port */
	struct md_peer to = ctl_peer_port(&c->sender, c->reply_port);
	if (r->argc > 1) {
		double port = r->a[1].num;
		if (port != rint(port) || port < 1 || port > 65535) {
			oscnet_error(&c->net, r->path, "reply port %g is not a UDP port: expected i 1..65535", port);
			return;
		}
		to = ctl_peer_port(&c->sender, (int)port);
	}
	if (c->cur_sub && !oscnet_peer_equal(&c->cur_sub->peer, &to)) {
		ctl_unsubscribe(c, c->cur_sub); /* the sender moved its reply port */
		c->cur_sub = NULL;
	}
	c->net.cur = to; /* this answer, too, goes where the feedback will */
	if (!ctl_subscribe(c, &to, (float)got)) {
		oscnet_error(&c->net, r->path, "too many subscribers (%d): try again when one lapses", MD_OSC_MAX_SUBS);
		return;
	}
	if (got != hz) {
		lo_message m = lo_message_new();
		lo_message_add_float(m, (float)got);
		oscnet_reply(&c->net, r->path, m);
	}
}

static void h_unsubscribe(struct md_control *c, const struct req *r)
{
	if (c->cur_sub)
		ctl_unsubscribe(c, c->cur_sub);
	c->cur_sub = NULL;
}

static void h_dump(struct md_control *c, const struct req *r)
{
	struct md_out o;
	oscnet_out_begin(&o, &c->net, &c->net.cur);
	ctl_dump(c, &o);
}

static void h_meter(struct md_control *c, const struct req *r)
{
	ctl_meter_query(c, r->scope, scope_index(r));
}

static void h_status(struct md_control *c, const struct req *r)
{
	const struct md_console *con = mixer_console(c->m);
	lo_message m = lo_message_new();
	lo_message_add_string(m, MD_VERSION);
	lo_message_add_int32(m, (int32_t)c->host.xruns);
	lo_message_add_int32(m, con->nstrips);
	lo_message_add_int32(m, con->nbuses);
	lo_message_add_int32(m, ctl_nsubs(c));
	lo_message_add_int32(m, (int32_t)c->net.received);
	lo_message_add_int32(m, (int32_t)c->net.rejected);
	lo_message_add_int32(m, (int32_t)c->net.errors);
	lo_message_add_int32(m, (int32_t)mixer_rate(c->m));
	lo_message_add_string(m, c->host.jack_alive ? "running" : "gone");
	lo_message_add_int32(m, (int32_t)c->host.period);
	lo_message_add_int32(m, c->host.realtime ? 1 : 0);
	lo_message_add_float(m, c->host.load);
	lo_message_add_int32(m, (int32_t)c->host.reconnects);
	lo_message_add_int32(m, (int32_t)c->host.underruns);
	lo_message_add_float(m, c->host.refill_worst_s * 1000.0f);
	oscnet_reply(&c->net, r->path, m);
}

/* the X32 dialect's counts: datagrams received and refused, messages left unanswered, /xremote clients */
static void h_x32_status(struct md_control *c, const struct req *r)
{
	if (!c->x32) {
		oscnet_error(&c->net, r->path, "the X32 dialect is off: start mixdesk with --x32 [PORT]");
		return;
	}
	struct md_x32_counts n;
	x32_counts(c->x32, &n);
	lo_message m = lo_message_new();
	lo_message_add_int32(m, (int32_t)n.received);
	lo_message_add_int32(m, (int32_t)n.rejected);
	lo_message_add_int32(m, (int32_t)n.unmapped);
	lo_message_add_int32(m, n.subscribers);
	oscnet_reply(&c->net, r->path, m);
}
