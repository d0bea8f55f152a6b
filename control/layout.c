/* mixdesk: the Open Stage Control page of a console (see layout.h), built with json-c. */
#include "control/layout.h"
#include "engine/model/md.h"
#include "engine/model/param.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COL 94 /* a channel's column, px */
#define FADER_H 330

static const char *const BLUE = "#4080d0", *const RED = "#d04040", *const YELLOW = "#e0c040", *const GREEN = "#40c040";

static json_object *widget(json_object *parent, const char *type, const char *id, int left, int top, int width,
			   int height, const char *address, const char *color)
{
	json_object *w = json_object_new_object();
	json_object_object_add(w, "type", json_object_new_string(type));
	json_object_object_add(w, "id", json_object_new_string(id));
	json_object_object_add(w, "left", json_object_new_int(left));
	json_object_object_add(w, "top", json_object_new_int(top));
	json_object_object_add(w, "width", json_object_new_int(width));
	json_object_object_add(w, "height", json_object_new_int(height));
	json_object_object_add(w, "address", json_object_new_string(address));
	json_object_object_add(w, "colorWidget", json_object_new_string(color));
	json_object_object_add(w, "visible", json_object_new_boolean(1));
	json_object_array_add(parent, w);
	return w;
}

static void range(json_object *w, double min, double max)
{
	json_object *r = json_object_new_object();
	json_object_object_add(r, "min", json_object_new_double(min));
	json_object_object_add(r, "max", json_object_new_double(max));
	json_object_object_add(w, "range", r);
}

static void num(json_object *w, const char *key, double v)
{
	json_object_object_add(w, key, json_object_new_double(v));
}

static void str(json_object *w, const char *key, const char *v)
{
	json_object_object_add(w, key, json_object_new_string(v));
}

/* a knob or a fader sending f values in [min, max] */
static json_object *control(json_object *parent, const char *type, const char *id, int left, int top, int w, int h,
			    const char *address, double min, double max, double value, const char *color)
{
	json_object *o = widget(parent, type, id, left, top, w, h, address, color);
	range(o, min, max);
	num(o, "value", value);
	num(o, "default", value);
	json_object_object_add(o, "doubleTap", json_object_new_boolean(1));
	str(o, "typeTags", "f");
	return o;
}

static json_object *toggle(json_object *parent, const char *id, int left, int top, int w, const char *address,
			   const char *label, const char *color)
{
	json_object *o = widget(parent, "button", id, left, top, w, 34, address, color);
	str(o, "mode", "toggle");
	num(o, "on", 1);
	num(o, "off", 0);
	str(o, "typeTags", "i");
	str(o, "label", label);
	return o;
}

/* one column of the mixer tab: prefix "/ch/3", "/bus/1" or "/master"; name shown; pan (or balance) */
static void column(json_object *ws, const char *prefix, const char *key, const char *name, int left, bool solo,
		   const char *pan, double fader_pos)
{
	char id[96], addr[96];
	snprintf(id, sizeof id, "%s_name", key);
	snprintf(addr, sizeof addr, "%s/name", prefix);
	json_object *n = widget(ws, "text", id, left, 0, 88, 30, strcmp(key, "master") ? addr : "false", BLUE);
	str(n, "value", name);
	snprintf(id, sizeof id, "%s_%s", key, pan);
	snprintf(addr, sizeof addr, "%s/%s", prefix, pan);
	json_object *k = control(ws, "knob", id, left + 14, 34, 60, 60, addr, -1, 1, 0, BLUE);
	num(k, "origin", 0);
	str(k, "html", pan);
	snprintf(id, sizeof id, "%s_mute", key);
	snprintf(addr, sizeof addr, "%s/mute", prefix);
	toggle(ws, id, left, 98, solo ? 42 : 88, addr, "M", RED);
	if (solo) {
		snprintf(id, sizeof id, "%s_solo", key);
		snprintf(addr, sizeof addr, "%s/solo", prefix);
		toggle(ws, id, left + 46, 98, 42, addr, "S", YELLOW);
	}
	/* the meter: the first value of what /…/meter sends (peak dBFS) */
	snprintf(id, sizeof id, "%s_meter", key);
	json_object *m = widget(ws, "fader", id, left, 136, 20, FADER_H, "false", BLUE);
	str(m, "design", "compact");
	json_object_object_add(m, "interaction", json_object_new_boolean(0));
	range(m, -60, 6);
	snprintf(addr, sizeof addr, "#{OSC{%s/meter, -120}[0]}", prefix);
	str(m, "value", addr);
	json_object *g = json_object_new_object();
	json_object_object_add(g, "0", json_object_new_string(GREEN));
	json_object_object_add(g, "0.8", json_object_new_string(YELLOW));
	json_object_object_add(g, "0.95", json_object_new_string(RED));
	json_object_object_add(m, "gradient", g);
	/* the fader, on the console's fader law; its touch drives touch and latch automation */
	snprintf(id, sizeof id, "%s_fader", key);
	snprintf(addr, sizeof addr, "%s/fader/pos", prefix);
	json_object *f = control(ws, "fader", id, left + 24, 136, 64, FADER_H, addr, 0, 1, fader_pos, BLUE);
	snprintf(addr, sizeof addr, "%s/fader/touch", prefix);
	str(f, "touchAddress", addr);
	json_object_object_add(f, "pips", json_object_new_boolean(0));
	snprintf(id, sizeof id, "%s_db", key);
	snprintf(addr, sizeof addr, "%s/fader", prefix);
	json_object *t = widget(ws, "text", id, left, 136 + FADER_H + 4, 88, 24, addr, BLUE);
	num(t, "decimals", 1);
}

static json_object *tab(json_object *tabs, const char *id, const char *label)
{
	json_object *t = json_object_new_object();
	str(t, "type", "tab");
	str(t, "id", id);
	str(t, "label", label);
	json_object *ws = json_object_new_array();
	json_object_object_add(t, "widgets", ws);
	json_object_object_add(t, "tabs", json_object_new_array());
	json_object_array_add(tabs, t);
	return ws;
}

/* a strip's own tab: EQ bands (gain, frequency, Q, on), compressor, gate, and a send per bus */
static void strip_tab(json_object *tabs, const struct md_console *c, int i)
{
	const struct md_strip_model *s = c->strips[i];
	char id[96], addr[96], label[MD_NAME_MAX + 8];
	snprintf(id, sizeof id, "ch%d_tab", i + 1);
	snprintf(label, sizeof label, "%s", s->name);
	json_object *ws = tab(tabs, id, label);
	static const struct {
		const char *field;
		double min, max, def;
	} eq[] = {{"gain", -18, 18, 0}, {"freq", 20, 20000, 1000}, {"q", 0.1, 10, 0.7}};
	snprintf(addr, sizeof addr, "/ch/%d/eq/on", i + 1);
	snprintf(id, sizeof id, "ch%d_eq_on", i + 1);
	toggle(ws, id, 0, 0, 88, addr, "EQ", GREEN);
	for (int b = 0; b < MD_EQ_BANDS; b++) {
		for (size_t k = 0; k < sizeof eq / sizeof eq[0]; k++) {
			snprintf(id, sizeof id, "ch%d_eq%d_%s", i + 1, b + 1, eq[k].field);
			snprintf(addr, sizeof addr, "/ch/%d/eq/%d/%s", i + 1, b + 1, eq[k].field);
			json_object *o = control(ws, "knob", id, 100 + b * 94, 40 + (int)k * 90, 80, 80, addr,
						 eq[k].min, eq[k].max, eq[k].def, BLUE);
			str(o, "html", eq[k].field);
			if (strcmp(eq[k].field, "freq") == 0)
				str(o, "logScale", "true");
		}
		snprintf(id, sizeof id, "ch%d_eq%d_on", i + 1, b + 1);
		snprintf(addr, sizeof addr, "/ch/%d/eq/%d/on", i + 1, b + 1);
		char l[16];
		snprintf(l, sizeof l, "%d", b + 1);
		toggle(ws, id, 100 + b * 94, 0, 80, addr, l, GREEN);
	}
	static const struct {
		const char *path, *label;
		double min, max, def;
	} dyn[] = {{"comp/threshold", "comp thr", -60, 0, -20},
		   {"comp/ratio", "ratio", 1, 20, 4},
		   {"gate/threshold", "gate thr", -80, 0, -60}};
	snprintf(addr, sizeof addr, "/ch/%d/comp/on", i + 1);
	snprintf(id, sizeof id, "ch%d_comp_on", i + 1);
	toggle(ws, id, 500, 0, 88, addr, "COMP", YELLOW);
	snprintf(addr, sizeof addr, "/ch/%d/gate/on", i + 1);
	snprintf(id, sizeof id, "ch%d_gate_on", i + 1);
	toggle(ws, id, 594, 0, 88, addr, "GATE", YELLOW);
	for (size_t k = 0; k < sizeof dyn / sizeof dyn[0]; k++) {
		snprintf(id, sizeof id, "ch%d_%s", i + 1, dyn[k].path);
		for (char *p = id; *p; p++)
			if (*p == '/')
				*p = '_';
		snprintf(addr, sizeof addr, "/ch/%d/%s", i + 1, dyn[k].path);
		json_object *o = control(ws, "knob", id, 500 + (int)k * 94, 40, 80, 80, addr, dyn[k].min, dyn[k].max,
					 dyn[k].def, YELLOW);
		str(o, "html", dyn[k].label);
	}
	for (int b = 0; b < c->nbuses; b++) {
		snprintf(id, sizeof id, "ch%d_send%d", i + 1, b + 1);
		snprintf(addr, sizeof addr, "/ch/%d/send/%d/level/pos", i + 1, b + 1);
		json_object *o = control(ws, "fader", id, 500 + b * 70, 140, 60, 240, addr, 0, 1, 0, GREEN);
		str(o, "html", c->buses[b]->name);
		snprintf(id, sizeof id, "ch%d_send%d_pre", i + 1, b + 1);
		snprintf(addr, sizeof addr, "/ch/%d/send/%d/pre", i + 1, b + 1);
		toggle(ws, id, 500 + b * 70, 384, 60, addr, "pre", GREEN);
	}
}

char *layout_osc_session(const struct md_console *c)
{
	json_object *root = json_object_new_object();
	str(root, "createdWith", "Open Stage Control");
	str(root, "version", "1.26.2");
	str(root, "type", "session");
	json_object *content = json_object_new_object();
	str(content, "type", "root");
	str(content, "id", "root");
	json_object_object_add(content, "widgets", json_object_new_array());
	json_object *tabs = json_object_new_array();
	json_object_object_add(content, "tabs", tabs);
	json_object_object_add(root, "content", content);
	json_object *mix = tab(tabs, "mixer", "Mixer");
	char prefix[32], key[32];
	int left = 0;
	for (int i = 0; i < c->nstrips; i++, left += COL) {
		snprintf(prefix, sizeof prefix, "/ch/%d", i + 1);
		snprintf(key, sizeof key, "ch%d", i + 1);
		column(mix, prefix, key, c->strips[i]->name, left, true, "pan",
		       md_fader_db_to_pos(c->strips[i]->p[MD_SP_FADER]));
	}
	for (int b = 0; b < c->nbuses; b++, left += COL) {
		snprintf(prefix, sizeof prefix, "/bus/%d", b + 1);
		snprintf(key, sizeof key, "bus%d", b + 1);
		column(mix, prefix, key, c->buses[b]->name, left, false, "balance",
		       md_fader_db_to_pos(c->buses[b]->p[MD_BP_FADER]));
	}
	column(mix, "/master", "master", "Master", left, false, "balance",
	       md_fader_db_to_pos(c->master.p[MD_MP_FADER]));
	/* the subscription: meters at 20 Hz, renewed well inside mixdesk's 10 s, and a dump to start in sync */
	json_object *sub = widget(mix, "script", "subscribe", 0, 136 + FADER_H + 34, 176, 30, "false", BLUE);
	str(sub, "onCreate",
	    "send('/subscribe', 20)\nsend('/dump')\nsetInterval(function () { send('/subscribe', 20) }, 5000)");
	str(sub, "html", "subscription: /subscribe 20 every 5 s");
	for (int i = 0; i < c->nstrips; i++)
		strip_tab(tabs, c, i);
	const char *t = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *out = t ? strdup(t) : NULL;
	json_object_put(root);
	return out;
}
