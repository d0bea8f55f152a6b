/* mixdesk: the plugin inserts of a session being loaded (docs/SESSION.md "Plugin inserts"): the "inserts" of a
 * strip, bus or the master, each slot's plugin (installed and able to run on the path, or kept as written with
 * session_keep_missing_plugins), bypass, parameters checked against the plugin's ports, their automation lanes
 * and the state kept as text. Every function here is [control]. */
#include "sessions/session_int.h"

#include "engine/plugin.h"

#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define SYMBOLS_LISTED 8 /* an unknown parameter's message names at most this many of the plugin's */

/* session_keep_missing_plugins: set once from the command line, read by every load (any thread) */
static atomic_bool keep_missing;

void session_keep_missing_plugins(bool keep)
{
	atomic_store(&keep_missing, keep);
}

/* The symbols of a plugin's parameters for a message: the first SYMBOLS_LISTED, then how many more. */
static void symbol_list(const struct md_plugin_param *ps, int n, char *out, size_t len)
{
	out[0] = '\0';
	for (int i = 0; i < n && i < SYMBOLS_LISTED; i++) {
		size_t l = strlen(out);
		snprintf(out + l, len - l, "%s%s", i ? ", " : "", ps[i].symbol);
	}
	if (n > SYMBOLS_LISTED) {
		size_t l = strlen(out);
		snprintf(out + l, len - l, " and %d more", n - SYMBOLS_LISTED);
	}
	if (n == 0)
		snprintf(out, len, "none");
}

/* One value of an insert's "params" (or a point of its lanes): a finite number, and when the plugin's port q is known (NULL: a plugin
 * kept unchecked, see session_keep_missing_plugins) one in its range: checked, not clamped, as every value of
 * the file; a switch at either end, a whole-number or enumerated port a whole number. */
static enum md_err insert_range(struct sess_ld *x, const void *port, double num, const char *w, float *out)
{
	const struct md_plugin_param *q = port;
	if (fabs(num) > FLT_MAX) /* before the conversion, which would be undefined */
		return sess_fail(x, MD_ERR_RANGE, w, "%g is too large for a parameter (at most %g)", num,
				 (double)FLT_MAX);
	float f = (float)num;
	if (!q) {
		*out = f;
		return MD_OK;
	}
	/* compared as the float kept, so a limit such as 0.1 is itself in range */
	if (f < q->min || f > q->max)
		return sess_fail(x, MD_ERR_RANGE, w, "%g is out of range (%g .. %g%s%s)", num, (double)q->min,
				 (double)q->max, *q->unit ? " " : "", q->unit);
	if (q->toggle && f != q->min && f != q->max)
		return sess_fail(x, MD_ERR_RANGE, w, "%g is not %g or %g (the port is a switch: off or on)", num,
				 (double)q->min, (double)q->max);
	if ((q->integer || q->enumeration) && f != rintf(f))
		return sess_fail(x, MD_ERR_RANGE, w, "%g is not a whole number (the port takes %s)", num,
				 q->enumeration ? "one of a list of whole numbers" : "whole numbers");
	*out = f;
	return MD_OK;
}

static enum md_err insert_value(struct sess_ld *x, const struct md_plugin_param *q, json_object *v, const char *w,
				float *out)
{
	double num;
	enum md_err e = sess_want_number(x, v, w, "a number", &num);
	return e ? e : insert_range(x, q, num, w, out);
}

/* An insert's "params": {"symbol": number, ...}, kept in the file's order. ps: the plugin's parameters (n of
 * them), or NULL when the plugin is kept unchecked (every finite number is kept as written). */
static enum md_err insert_params(struct sess_ld *x, struct md_insert *ins, const struct md_plugin_param *ps, int n,
				 json_object *v, const char *where)
{
	char w[SESS_WHERE_MAX];
	sess_at(w, "%s.params", where);
	enum md_err e = sess_want(x, v, json_type_object, w, "an object {\"symbol\": value, ...}");
	if (e)
		return e;
	json_object_object_foreach(v, key, val)
	{
		char wk[SESS_WHERE_MAX];
		sess_at(wk, "%s.params.%s", where, key);
		const struct md_plugin_param *q = NULL;
		for (int i = 0; ps && i < n && !q; i++)
			if (strcmp(ps[i].symbol, key) == 0)
				q = &ps[i];
		if (ps && !q) {
			char list[256];
			symbol_list(ps, n, list, sizeof list);
			return sess_fail(x, MD_ERR_NOTFOUND, wk, "not a parameter of <%s> (its parameters: %s)",
					 ins->uri, list);
		}
		float f = 0;
		if ((e = insert_value(x, q, val, wk, &f)))
			return e;
		if (console_insert_set_param(ins, key, f) != MD_OK)
			return sess_fail(x, MD_ERR_NOMEM, wk, "out of memory");
	}
	return MD_OK;
}

/* An insert's "automation": lanes of its parameters, {"param": symbol, "mode", "points": [[seconds, value]...]},
 * each value checked as a "params" value is (ps NULL: a plugin kept unchecked). */
static enum md_err insert_lanes(struct sess_ld *x, struct md_insert *ins, const struct md_plugin_param *ps, int n,
				json_object *v, const char *where)
{
	char wa[SESS_WHERE_MAX];
	sess_at(wa, "%s.automation", where);
	enum md_err e = sess_want(x, v, json_type_array, wa, "a list of automation lanes");
	if (e)
		return e;
	for (int i = 0; i < (int)json_object_array_length(v); i++) {
		char w[SESS_WHERE_MAX], wk[SESS_WHERE_MAX];
		sess_at(w, "%s[%d]", wa, i);
		json_object *o = json_object_array_get_idx(v, i), *pv, *mv, *ptv;
		if ((e = sess_want(x, o, json_type_object, w, "an object {\"param\", \"mode\", \"points\"}")))
			return e;
		json_object_object_foreach(o, key, val)
		{
			(void)val;
			sess_at(wk, "%s.%s", w, key);
			if (strcmp(key, "param") && strcmp(key, "mode") && strcmp(key, "points"))
				return sess_fail(x, MD_ERR_FORMAT, wk, "unknown key (known here: param, mode, points)");
		}
		sess_at(wk, "%s.param", w);
		const char *sym;
		if (!json_object_object_get_ex(o, "param", &pv))
			return sess_fail(x, MD_ERR_FORMAT, w, "no \"param\": which parameter (its port symbol)?");
		if ((e = sess_want_string(x, pv, wk, "a parameter's port symbol", &sym)))
			return e;
		const struct md_plugin_param *q = NULL;
		for (int k = 0; ps && k < n && !q; k++)
			if (strcmp(ps[k].symbol, sym) == 0)
				q = &ps[k];
		if (ps && !q)
			return sess_fail(x, MD_ERR_NOTFOUND, wk, "'%s' is not a parameter of <%s>", sym, ins->uri);
		if (console_insert_lane(ins, sym, false))
			return sess_fail(x, MD_ERR_EXISTS, wk, "a second lane for '%s' (one lane per parameter)", sym);
		int mode = MD_AUTO_READ;
		if (json_object_object_get_ex(o, "mode", &mv) && (e = sess_lane_mode(x, mv, w, &mode)))
			return e;
		struct md_lane *lane = console_insert_lane(ins, sym, true);
		if (!lane)
			return sess_fail(x, MD_ERR_NOMEM, w, "out of memory");
		lane->mode = mode;
		if (json_object_object_get_ex(o, "points", &ptv) &&
		    (e = sess_lane_points(x, ptv, w, lane, insert_range, q)))
			return e;
	}
	return MD_OK;
}

/* An insert's "plugin": installed, and able to run on a path of nch channels (real-time capability is the live
 * engine's business, not the file's). With session_keep_missing_plugins on, one that is not or cannot is kept
 * anyway (*checked false: its parameters are kept as written; the engine makes the slot a placeholder). */
static enum md_err insert_plugin(struct sess_ld *x, json_object *o, const char *where, int nch, const char **uri,
				 bool *checked)
{
	char w[SESS_WHERE_MAX], why[512];
	json_object *pv;
	if (!json_object_object_get_ex(o, "plugin", &pv))
		return sess_fail(x, MD_ERR_FORMAT, where,
				 "no \"plugin\": which plugin does this slot hold? (an empty slot is null)");
	sess_at(w, "%s.plugin", where);
	enum md_err e = sess_want_string(x, pv, w, "a plugin URI", uri);
	if (e)
		return e;
	if (!**uri)
		return sess_fail(x, MD_ERR_FORMAT, w, "an empty URI (an empty slot is null)");
	*checked = plugins_check(*uri, nch, true, why, sizeof why);
	if (*checked || atomic_load(&keep_missing))
		return MD_OK;
	return sess_fail(x, plugins_find(*uri) ? MD_ERR_FORMAT : MD_ERR_NOTFOUND, w,
			 "%s; --keep-missing-plugins keeps the slot as written (it then passes the signal through)",
			 why);
}

/* One entry of "inserts": null (an empty slot) or {"plugin", "bypass", "params", "state"} and "x-" keys (kept
 * under "insert/<slot from 1>"). */
static enum md_err load_insert(struct sess_ld *x, struct md_insert *ins, int slot, json_object *o, const char *where,
			       int nch, json_object **ex)
{
	if (json_object_get_type(o) == json_type_null)
		return MD_OK;
	enum md_err e = sess_want(
		x, o, json_type_object, where,
		"null (an empty slot) or an object {\"plugin\": URI, \"bypass\", \"params\", \"state\"}");
	if (e)
		return e;
	const char *uri;
	bool checked;
	if ((e = insert_plugin(x, o, where, nch, &uri, &checked)))
		return e;
	if (console_insert_load(ins, uri) != MD_OK)
		return sess_fail(x, MD_ERR_NOMEM, where, "out of memory");
	const struct md_plugin_param *ps = NULL;
	int n = checked ? plugins_params(uri, &ps) : -1;
	char loc[SESS_WHERE_MAX];
	sess_at(loc, "insert/%d", slot + 1);
	json_object_object_foreach(o, key, val)
	{
		char wk[SESS_WHERE_MAX];
		sess_at(wk, "%s.%s", where, key);
		if (strcmp(key, "plugin") == 0) {
			continue;
		} else if (strcmp(key, "bypass") == 0) {
			if ((e = sess_want(x, val, json_type_boolean, wk, "true or false")))
				return e;
			ins->bypass = json_object_get_boolean(val);
		} else if (strcmp(key, "params") == 0) {
			if ((e = insert_params(x, ins, n >= 0 ? ps : NULL, n, val, where)))
				return e;
		} else if (strcmp(key, "automation") == 0) {
			if ((e = insert_lanes(x, ins, n >= 0 ? ps : NULL, n, val, where)))
				return e;
		} else if (strcmp(key, "state") == 0) {
			/* any JSON, kept as its text for the next save; null is no state */
			const char *t = val ? json_object_to_json_string_ext(
						      val, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
					    : NULL;
			if (val && (!t || console_insert_set_state(ins, t) != MD_OK))
				return sess_fail(x, MD_ERR_NOMEM, wk, "out of memory");
		} else if (strncmp(key, "x-", 2) == 0) {
			if ((e = sess_keep_extra(ex, loc, key, val)))
				return sess_fail(x, e, wk, "out of memory");
		} else {
			return sess_fail(
				x, MD_ERR_FORMAT, wk,
				"unknown key (known here: plugin, bypass, params, automation, state; keys for other "
				"tools "
				"start with x-)");
		}
	}
	return MD_OK;
}

/* "inserts": at most MD_MAX_INSERTS entries, index = slot, on a path of nch channels. */
enum md_err sess_load_inserts(struct sess_ld *x, enum md_scope sc, int index, json_object *v, const char *where,
			      int nch, json_object **ex)
{
	enum md_err e = sess_want(x, v, json_type_array, where,
				  "a list of insert slots (null or {\"plugin\": URI, ...} each)");
	if (e)
		return e;
	int n = (int)json_object_array_length(v);
	if (n > MD_MAX_INSERTS)
		return sess_fail(x, MD_ERR_RANGE, where, "%d slots, at most %d (an empty slot is null)", n,
				 MD_MAX_INSERTS);
	struct md_insert *ins = console_inserts(x->c, sc, index);
	for (int i = 0; i < n; i++) {
		char w[SESS_WHERE_MAX];
		sess_at(w, "%s[%d]", where, i);
		if ((e = load_insert(x, &ins[i], i, json_object_array_get_idx(v, i), w, nch, ex)))
			return e;
	}
	return MD_OK;
}
