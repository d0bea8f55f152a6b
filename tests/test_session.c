/* mixdesk tests: the session file. Defaults, a load-save-load round trip that compares every field (of a
 * hand-written session, of the demo session and of a console with a random value in every parameter),
 * "x-" keys kept in place, precise error messages, failed loads that allocate nothing, and atomic saves,
 * including one whose write really fails (RLIMIT_FSIZE) and must leave the old file's bytes as they were. */
#include "sessions/session.h"
#include "testlib.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- a deep compare of two consoles: every field that a session carries ---- */

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Extras are JSON objects whose key order may change on the way: compare them as JSON. */
static bool same_extra(const char *a, const char *b)
{
	if (!a || !b)
		return !a && !b;
	json_object *ja = json_tokener_parse(a), *jb = json_tokener_parse(b);
	bool same = ja && jb && json_object_equal(ja, jb);
	json_object_put(ja);
	json_object_put(jb);
	return same;
}

static void expect_conns(const struct md_conns *a, const struct md_conns *b, const char *what)
{
	if (a->n != b->n)
		fail_msg("%s: %d connections, expected %d", what, b->n, a->n);
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->names[i], b->names[i]) != 0)
			fail_msg("%s[%d]: '%s', expected '%s'", what, i, b->names[i], a->names[i]);
}

static void expect_lanes(const struct md_lane *a, int na, const struct md_lane *b, int nb, const char *what)
{
	if (na != nb)
		fail_msg("%s: %d lanes, expected %d", what, nb, na);
	for (int i = 0; i < na; i++) {
		if (a[i].param != b[i].param || a[i].mode != b[i].mode || a[i].npoints != b[i].npoints)
			fail_msg("%s[%d]: param/mode/points %d/%d/%d, expected %d/%d/%d", what, i, b[i].param,
				 b[i].mode, b[i].npoints, a[i].param, a[i].mode, a[i].npoints);
		for (int k = 0; k < a[i].npoints; k++)
			if (a[i].t[k] != b[i].t[k] || a[i].v[k] != b[i].v[k])
				fail_msg("%s[%d] point %d: [%.17g, %.9g], expected [%.17g, %.9g]", what, i, k,
					 b[i].t[k], (double)b[i].v[k], a[i].t[k], (double)a[i].v[k]);
	}
}

static void expect_params(enum md_scope sc, const float *a, const float *b, const char *what)
{
	for (int i = 0; i < md_param_count(sc); i++)
		if (a[i] != b[i])
			fail_msg("%s.%s: %.9g, expected %.9g", what, md_param_desc(sc, i)->path, (double)b[i],
				 (double)a[i]);
}

static void expect_same_console(const struct md_console *a, const struct md_console *b)
{
	char what[128];
	assert_int_equal(a->sample_rate, b->sample_rate);
	assert_int_equal(a->nstrips, b->nstrips);
	assert_int_equal(a->nbuses, b->nbuses);
	for (int i = 0; i < a->nstrips; i++) {
		const struct md_strip_model *x = a->strips[i], *y = b->strips[i];
		snprintf(what, sizeof what, "strips[%d]", i);
		assert_string_equal(x->name, y->name);
		assert_int_equal(x->stereo, y->stereo);
		if (!same_str(x->source, y->source))
			fail_msg("%s.source: '%s', expected '%s'", what, y->source ? y->source : "(none)",
				 x->source ? x->source : "(none)");
		expect_params(MD_SCOPE_STRIP, x->p, y->p, what);
		expect_conns(&x->inputs[0], &y->inputs[0], what);
		expect_conns(&x->inputs[1], &y->inputs[1], what);
		expect_lanes(x->lanes, x->nlanes, y->lanes, y->nlanes, what);
		if (!same_extra(x->extra, y->extra))
			fail_msg("%s extras: %s, expected %s", what, y->extra ? y->extra : "(none)",
				 x->extra ? x->extra : "(none)");
	}
	for (int i = 0; i < a->nbuses; i++) {
		const struct md_bus_model *x = a->buses[i], *y = b->buses[i];
		snprintf(what, sizeof what, "buses[%d]", i);
		assert_string_equal(x->name, y->name);
		expect_params(MD_SCOPE_BUS, x->p, y->p, what);
		for (int k = 0; k < 2; k++) {
			expect_conns(&x->outputs[k], &y->outputs[k], what);
			expect_conns(&x->returns[k], &y->returns[k], what);
		}
		expect_lanes(x->lanes, x->nlanes, y->lanes, y->nlanes, what);
		if (!same_extra(x->extra, y->extra))
			fail_msg("%s extras differ: %s vs %s", what, y->extra ? y->extra : "-",
				 x->extra ? x->extra : "-");
	}
	expect_params(MD_SCOPE_MASTER, a->master.p, b->master.p, "master");
	for (int k = 0; k < 2; k++)
		expect_conns(&a->master.outputs[k], &b->master.outputs[k], "master.outputs");
	expect_lanes(a->master.lanes, a->master.nlanes, b->master.lanes, b->master.nlanes, "master");
	assert_true(same_extra(a->master.extra, b->master.extra));
	assert_true(a->render.headroom == b->render.headroom);
	assert_int_equal(a->render.bits, b->render.bits);
	assert_true(a->render.tail == b->render.tail);
	if (!same_extra(a->extra, b->extra))
		fail_msg("top-level extras: %s, expected %s", b->extra ? b->extra : "-", a->extra ? a->extra : "-");
}

/* ---- helpers ---- */

struct tmp {
	char *dir;
	char path[512];
};

static void tmp_open(struct tmp *t, const char *name)
{
	t->dir = tl_tmpdir();
	assert_non_null(t->dir);
	snprintf(t->path, sizeof t->path, "%s/%s", t->dir, name);
}

static void tmp_close(struct tmp *t)
{
	tl_rmtree(t->dir);
	free(t->dir);
}

/* Save c to path, load it back, compare every field; also save the reloaded one and expect the same bytes. */
static void round_trip(const struct md_console *c, const char *path)
{
	char err[512], path2[600];
	struct md_console *back = NULL, *again = NULL;
	if (session_save(path, c, err, sizeof err) != MD_OK)
		fail_msg("save: %s", err);
	if (session_load(path, &back, err, sizeof err) != MD_OK)
		fail_msg("reload: %s", err);
	expect_same_console(c, back);
	snprintf(path2, sizeof path2, "%s.second.json", path);
	assert_int_equal(session_save(path2, back, err, sizeof err), MD_OK);
	char *t1 = tl_read_file(path), *t2 = tl_read_file(path2);
	assert_non_null(t1);
	assert_non_null(t2);
	assert_string_equal(t1, t2);
	assert_int_equal(session_load(path2, &again, err, sizeof err), MD_OK);
	expect_same_console(c, again);
	free(t1);
	free(t2);
	console_free(back);
	console_free(again);
}

static const char *const rich_session =
	"{\n"
	"  \"format\": \"mixdesk-session\", \"version\": 1, \"sample_rate\": 44100, \"pan_law\": -4.5,\n"
	"  \"x-tool\": {\"name\": \"tablet\", \"layout\": [1, 2, 3]},\n"
	"  \"strips\": [\n"
	"    { \"name\": \"Kick\", \"stereo\": false, \"source\": \"audio/kick.wav\",\n"
	"      \"inputs\": [\"system:capture_1\", \"other:out\"], \"x-color\": \"#ff0000\",\n"
	"      \"trim\": 3.5, \"polarity\": true, \"fader\": -3.0, \"mute\": true, \"solo\": true, \"pan\": -0.1,\n"
	"      \"hpf\": { \"on\": true, \"freq\": 40.0, \"slope\": 24, \"x-why\": \"rumble\" },\n"
	"      \"lpf\": { \"on\": true, \"freq\": 12000.0, \"slope\": 12 },\n"
	"      \"eq\": { \"on\": true, \"bands\": [\n"
	"        { \"type\": \"peak\", \"freq\": 80.0, \"gain\": 2.0, \"q\": 0.7, \"on\": true },\n"
	"        { \"type\": \"peak\", \"freq\": 400.0, \"gain\": -3.0, \"q\": 1.4, \"on\": false, \"x-note\": [1] } ] },\n"
	"      \"comp\": { \"on\": true, \"threshold\": -18.5, \"ratio\": 4.2, \"attack\": 0.3, \"release\": 120.0,\n"
	"                \"knee\": 6.0, \"makeup\": 1.1 },\n"
	"      \"gate\": { \"on\": true, \"threshold\": -50.0, \"range\": -40.0, \"attack\": 0.05, \"hold\": 20.0,\n"
	"                \"release\": 100.0 },\n"
	"      \"sends\": [ { \"bus\": \"Delay\", \"level\": -7.25, \"pre\": true, \"x-tap\": 3 },\n"
	"                 { \"bus\": \"Reverb\", \"level\": -12.0 } ],\n"
	"      \"automation\": [\n"
	"        { \"param\": \"fader\", \"mode\": \"touch\", \"points\": [ [0.0, -120.0], [1e-3, 0], [2.5, -3.0] ] }\n"
	"      ] },\n"
	"    { \"name\": \"Keys\", \"stereo\": true, \"source\": \"/abs/keys.wav\",\n"
	"      \"inputs\": [[\"system:capture_2\", \"synth:L\"], [\"system:capture_3\"]],\n"
	"      \"automation\": [ { \"param\": \"send/2/level\", \"mode\": \"latch\", \"points\": [[1, -10], [3, -20]],\n"
	"                        \"x-curve\": \"linear\" },\n"
	"                      { \"param\": \"mute\", \"mode\": \"off\", \"points\": [[0, 0], [0.1, 1]] },\n"
	"                      { \"param\": \"eq/3/gain\", \"points\": [] } ] },\n"
	"    { \"name\": \"Vox\", \"fader\": -200, \"x-empty\": {} }\n"
	"  ],\n"
	"  \"buses\": [\n"
	"    { \"name\": \"Reverb\", \"fader\": -1.5, \"mute\": true, \"balance\": 0.25, \"insert\": true,\n"
	"      \"outputs\": [\"fx:in_L\", \"fx:in_R\"], \"returns\": [[\"fx:out_L\"], [\"fx:out_R\", \"fx2:out\"]],\n"
	"      \"automation\": [ { \"param\": \"balance\", \"mode\": \"write\", \"points\": [[0, -1], [10, 1]] } ],\n"
	"      \"x-rack\": \"A\" },\n"
	"    { \"name\": \"Delay\" }\n"
	"  ],\n"
	"  \"master\": { \"fader\": -0.5, \"balance\": 0.1, \"mono\": true, \"mute\": false,\n"
	"              \"outputs\": [[\"system:playback_1\", \"rec:in_1\"], [\"system:playback_2\"]],\n"
	"              \"automation\": [ { \"param\": \"fader\", \"points\": [[0, 0], [60, -120]] } ],\n"
	"              \"x-meter\": \"k14\" },\n"
	"  \"render\": { \"headroom\": -1.0, \"bits\": 32, \"tail\": 4.5, \"x-dither\": false }\n"
	"}\n";

/* ---- tests ---- */

static void test_minimal_takes_defaults(void **state)
{
	(void)state;
	char err[512];
	struct md_console *c = NULL, *def = console_new(0);
	assert_int_equal(
		session_parse("{\"format\":\"mixdesk-session\",\"version\":1}", "min.json", &c, err, sizeof err),
		MD_OK);
	assert_non_null(c);
	expect_same_console(def, c);
	assert_int_equal(c->sample_rate, 48000);
	assert_true(c->master.p[MD_MP_PAN_LAW] == -3.0f);
	console_free(c);

	/* a strip with nothing but a name takes every default; one without a name gets Ch1 */
	int idx;
	assert_int_equal(console_add_strip(def, "Kick", false, &idx), MD_OK);
	assert_int_equal(console_add_strip(def, "Ch2", false, &idx), MD_OK);
	assert_int_equal(
		session_parse("{\"format\":\"mixdesk-session\",\"version\":1,\"strips\":[{\"name\":\"Kick\"},{}]}",
			      "min.json", &c, err, sizeof err),
		MD_OK);
	expect_same_console(def, c);
	console_free(c);
	console_free(def);
}

static void test_rich_session_values(void **state)
{
	(void)state;
	char err[512];
	struct md_console *c = NULL;
	if (session_parse(rich_session, "rich.json", &c, err, sizeof err) != MD_OK)
		fail_msg("%s", err);
	assert_int_equal(c->sample_rate, 44100);
	assert_true(c->master.p[MD_MP_PAN_LAW] == -4.5f);
	assert_int_equal(c->nstrips, 3);
	assert_int_equal(c->nbuses, 2);
	const struct md_strip_model *k = c->strips[0], *keys = c->strips[1];
	assert_string_equal(k->source, "audio/kick.wav");
	assert_true(k->p[MD_SP_TRIM] == 3.5f && k->p[MD_SP_POLARITY] == 1.0f && k->p[MD_SP_SOLO] == 1.0f);
	assert_true(k->p[MD_SP_HPF_SLOPE] == 24.0f && k->p[MD_SP_LPF_FREQ] == 12000.0f);
	assert_true(k->p[MD_SP_EQ(0, MD_EQ_TYPE)] == MD_EQT_PEAK);
	assert_true(k->p[MD_SP_EQ(1, MD_EQ_ON)] == 0.0f && k->p[MD_SP_EQ(1, MD_EQ_Q)] == 1.4f);
	/* bands not given keep their defaults */
	assert_true(k->p[MD_SP_EQ(3, MD_EQ_TYPE)] == MD_EQT_HIGHSHELF);
	assert_true(k->p[MD_SP_COMP_ATTACK] == 0.3f && k->p[MD_SP_GATE_ATTACK] == 0.05f);
	/* sends land on their bus, whatever their order in the file */
	assert_true(k->p[MD_SP_SEND(1, MD_SEND_LEVEL)] == -7.25f && k->p[MD_SP_SEND(1, MD_SEND_PRE)] == 1.0f);
	assert_true(k->p[MD_SP_SEND(0, MD_SEND_LEVEL)] == -12.0f && k->p[MD_SP_SEND(0, MD_SEND_PRE)] == 0.0f);
	assert_int_equal(k->inputs[0].n, 2);
	assert_string_equal(k->inputs[0].names[1], "other:out");
	assert_int_equal(keys->inputs[0].n, 2);
	assert_int_equal(keys->inputs[1].n, 1);
	assert_string_equal(keys->inputs[1].names[0], "system:capture_3");
	/* a level below silence is silence */
	assert_true(c->strips[2]->p[MD_SP_FADER] == MD_SILENCE_DB);
	/* the flat form of a pair: one port each side */
	assert_string_equal(c->buses[0]->outputs[0].names[0], "fx:in_L");
	assert_string_equal(c->buses[0]->outputs[1].names[0], "fx:in_R");
	assert_int_equal(c->buses[0]->returns[1].n, 2);
	assert_int_equal(c->master.outputs[0].n, 2);
	/* lanes: parameter, mode, points (sorted in the file, kept as they are) */
	assert_int_equal(k->nlanes, 1);
	assert_int_equal(k->lanes[0].param, MD_SP_FADER);
	assert_int_equal(k->lanes[0].mode, MD_AUTO_TOUCH);
	assert_int_equal(keys->nlanes, 3);
	assert_int_equal(keys->lanes[0].param, MD_SP_SEND(1, MD_SEND_LEVEL));
	assert_int_equal(keys->lanes[0].mode, MD_AUTO_LATCH);
	assert_int_equal(keys->lanes[2].mode, MD_AUTO_READ);
	assert_int_equal(c->buses[0]->lanes[0].param, MD_BP_BALANCE);
	assert_int_equal(c->master.nlanes, 1);
	assert_true(c->render.headroom == -1.0f && c->render.bits == 32 && c->render.tail == 4.5f);
	assert_non_null(strstr(k->extra, "\"x-color\""));
	assert_non_null(strstr(k->extra, "\"hpf/x-why\""));
	assert_non_null(strstr(k->extra, "\"eq/2/x-note\""));
	assert_non_null(strstr(k->extra, "\"send/2/x-tap\""));
	assert_non_null(strstr(keys->extra, "\"automation/send/2/level/x-curve\""));
	assert_non_null(strstr(c->extra, "\"render/x-dither\""));
	console_free(c);
}

static void test_round_trip_rich(void **state)
{
	(void)state;
	struct tmp t;
	tmp_open(&t, "rich.json");
	char err[512];
	struct md_console *c = NULL;
	assert_int_equal(session_parse(rich_session, "rich.json", &c, err, sizeof err), MD_OK);
	round_trip(c, t.path);
	console_free(c);
	tmp_close(&t);
}

static void test_round_trip_demo(void **state)
{
	(void)state;
	struct tmp t;
	tmp_open(&t, "demo.json");
	char err[512], demo[1024];
	snprintf(demo, sizeof demo, "%s/sessions/demo.json", tl_top());
	struct md_console *c = NULL;
	if (session_load(demo, &c, err, sizeof err) != MD_OK)
		fail_msg("%s", err);
	assert_true(c->nstrips >= 9);
	assert_true(console_find_bus(c, "Reverb") >= 0 && console_find_bus(c, "Delay") >= 0);
	round_trip(c, t.path);
	console_free(c);
	tmp_close(&t);
}

static float rnd(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return (float)((*s >> 8) & 0xffff) / 65535.0f;
}

/* Any value the model can hold for a parameter (clamped and snapped as console_set would). */
static float random_value(const struct md_param_desc *d, unsigned *s)
{
	float v = d->min + rnd(s) * (d->max - d->min), out;
	if (d->kind == MD_KIND_CHOICE)
		v = d->choices[(int)(rnd(s) * (float)d->count) % d->count];
	md_param_clamp(d, v, &out, NULL);
	return out;
}

static void random_lane(struct md_console *c, enum md_scope sc, int index, unsigned *s)
{
	for (int tries = 0; tries < 100; tries++) {
		int param = (int)(rnd(s) * (float)(md_param_count(sc) - 1));
		const struct md_param_desc *d = md_param_desc(sc, param);
		if (!d->automatable || (sc == MD_SCOPE_STRIP && param >= MD_SP_SEND(c->nbuses, 0)) ||
		    console_lane(c, sc, index, param, false))
			continue;
		struct md_lane *l = console_lane(c, sc, index, param, true);
		assert_non_null(l);
		l->mode = (int)(rnd(s) * MD_AUTO_COUNT) % MD_AUTO_COUNT;
		double t = 0;
		int n = (int)(rnd(s) * 20);
		for (int k = 0; k < n; k++) {
			t += 0.001 + rnd(s) * 3.3333;
			assert_int_equal(console_lane_add_point(l, t, random_value(d, s)), MD_OK);
		}
		return;
	}
}

static void test_round_trip_every_parameter(void **state)
{
	(void)state;
	struct tmp t;
	tmp_open(&t, "random.json");
	for (unsigned seed = 1; seed <= 5; seed++) {
		unsigned s = seed;
		struct md_console *c = console_new(96000);
		int idx;
		for (int b = 0; b < (seed == 5 ? MD_MAX_BUSES : 3); b++) {
			char name[32];
			snprintf(name, sizeof name, "Bus %d", b + 1);
			assert_int_equal(console_add_bus(c, name, &idx), MD_OK);
			for (int i = 0; i < MD_BP_COUNT; i++)
				c->buses[idx]->p[i] = random_value(md_param_desc(MD_SCOPE_BUS, i), &s);
			/* a bus saves its chosen effect's parameters only: the others load as their defaults */
			for (int i = 0; i < MD_BP_COUNT; i++)
				if (!md_param_fx_applies(i, (int)c->buses[idx]->p[MD_BP_FX_TYPE]))
					c->buses[idx]->p[i] = md_param_default(MD_SCOPE_BUS, i);
			console_conns_add(&c->buses[idx]->outputs[b % 2], "fx:in");
			random_lane(c, MD_SCOPE_BUS, idx, &s);
		}
		for (int i = 0; i < 12; i++) {
			char name[32];
			snprintf(name, sizeof name, "Strip \"%d\" é", i + 1);
			assert_int_equal(console_add_strip(c, name, i % 3 == 0, &idx), MD_OK);
			struct md_strip_model *st = c->strips[idx];
			for (int p = 0; p < MD_SP_COUNT; p++)
				if (p < MD_SP_SEND_BASE || p < MD_SP_SEND(c->nbuses, 0))
					st->p[p] = random_value(md_param_desc(MD_SCOPE_STRIP, p), &s);
			if (i % 2)
				st->source = strdup("audio/ström.wav");
			console_conns_add(&st->inputs[0], "system:capture_1");
			if (st->stereo && i % 2)
				console_conns_add(&st->inputs[1], "system:capture_2");
			for (int l = 0; l < 3; l++)
				random_lane(c, MD_SCOPE_STRIP, idx, &s);
			if (i == 4)
				st->extra =
					strdup("{\"x-a\":1,\"comp/x-b\":\"two\",\"send/2/x-c\":[3],\"gate/x-d\":null}");
		}
		for (int i = 0; i < MD_MP_COUNT; i++)
			c->master.p[i] = random_value(md_param_desc(MD_SCOPE_MASTER, i), &s);
		random_lane(c, MD_SCOPE_MASTER, 0, &s);
		c->render = (struct md_render_settings){-0.1f * (float)seed, seed % 2 ? 16 : 24, 0.3f * (float)seed};
		c->extra = strdup("{\"x-z\":{\"deep\":[true,false]}}");
		round_trip(c, t.path);
		console_free(c);
	}
	tmp_close(&t);
}

/* x- keys go back into the very object they came from. */
static void test_extras_in_place(void **state)
{
	(void)state;
	struct tmp t;
	tmp_open(&t, "x.json");
	char err[512];
	struct md_console *c = NULL;
	assert_int_equal(session_parse(rich_session, "rich.json", &c, err, sizeof err), MD_OK);
	assert_int_equal(session_save(t.path, c, err, sizeof err), MD_OK);
	json_object *root = json_object_from_file(t.path), *v;
	assert_non_null(root);
	json_object *kick = json_object_array_get_idx(json_object_object_get(root, "strips"), 0);
	assert_string_equal(json_object_get_string(json_object_object_get(kick, "x-color")), "#ff0000");
	v = json_object_object_get(json_object_object_get(kick, "hpf"), "x-why");
	assert_string_equal(json_object_get_string(v), "rumble");
	json_object *bands = json_object_object_get(json_object_object_get(kick, "eq"), "bands");
	assert_non_null(json_object_object_get(json_object_array_get_idx(bands, 1), "x-note"));
	json_object *sends = json_object_object_get(kick, "sends");
	bool found = false;
	for (size_t i = 0; i < json_object_array_length(sends); i++) {
		json_object *s = json_object_array_get_idx(sends, i);
		if (strcmp(json_object_get_string(json_object_object_get(s, "bus")), "Delay") == 0)
			found = json_object_get_int(json_object_object_get(s, "x-tap")) == 3;
	}
	assert_true(found);
	json_object *keys = json_object_array_get_idx(json_object_object_get(root, "strips"), 1);
	json_object *lane = json_object_array_get_idx(json_object_object_get(keys, "automation"), 0);
	assert_string_equal(json_object_get_string(json_object_object_get(lane, "x-curve")), "linear");
	assert_non_null(json_object_object_get(root, "x-tool"));
	assert_non_null(json_object_object_get(json_object_object_get(root, "render"), "x-dither"));
	assert_non_null(json_object_object_get(json_object_object_get(root, "master"), "x-meter"));
	json_object *bus = json_object_array_get_idx(json_object_object_get(root, "buses"), 0);
	assert_string_equal(json_object_get_string(json_object_object_get(bus, "x-rack")), "A");
	/* the file says what SESSION.md says: sources as written, dB values as numbers */
	char *text = tl_read_file(t.path);
	assert_non_null(strstr(text, "\"source\": \"audio/kick.wav\""));
	assert_non_null(strstr(text, "\"q\": 1.4"));
	assert_null(strstr(text, "1.39999"));
	free(text);
	json_object_put(root);
	console_free(c);
	tmp_close(&t);
}

static void expect_error(const char *text, const char *want)
{
	char err[512] = "";
	struct md_console *c = (struct md_console *)&err; /* must be set to NULL on failure */
	enum md_err e = session_parse(text, "demo.json", &c, err, sizeof err);
	if (e == MD_OK)
		fail_msg("loaded, expected the error '%s'", want);
	assert_null(c);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

#define HEAD "{\"format\":\"mixdesk-session\",\"version\":1,"

static void test_precise_errors(void **state)
{
	(void)state;
	expect_error(
		HEAD
		"\"strips\":[{\"name\":\"A\"},{\"name\":\"B\"},{\"name\":\"C\",\"eq\":{\"bands\":[{},{\"gain\":40}]}}]}",
		"demo.json: strips[2].eq.bands[1].gain: 40 is out of range (-18 .. 18 dB)");
	expect_error("{\n  \"format\": \"mixdesk-session\",\n  \"version\": 1\n  \"strips\": []\n}",
		     "demo.json:4:3: broken JSON");
	expect_error("{\"format\":\"mixdesk-session\",\"version\":7}",
		     "demo.json: version: made by a newer mixdesk: version 7, this one reads up to 1");
	expect_error("{\"version\":1}", "demo.json: not a mixdesk session: no \"format\" key");
	expect_error(HEAD "\"strips\":[{\"name\":\"Kick\",\"stereo\":1}]}",
		     "demo.json: strips[0].stereo: expected true or false, got a number");
	expect_error(HEAD "\"strips\":[{\"name\":\"Kick\"},{\"name\":\"Kick\"}]}",
		     "strips[1].name: 'Kick' is already the name of strips[0]");
	expect_error(HEAD "\"buses\":[{\"name\":\"R\"},{\"name\":\"R\"}]}",
		     "buses[1].name: 'R' is already the name of buses[0]");
	expect_error(HEAD "\"strips\":[{\"sends\":[{\"bus\":\"Reverb\"}]}]}",
		     "strips[0].sends[0].bus: there is no bus named 'Reverb'");
	expect_error(HEAD "\"strips\":[{\"comp\":{\"ratio\":4,\"speed\":3}}]}", "strips[0].comp.speed: unknown key");
	expect_error(HEAD "\"master\":{\"pan_law\":-3}}", "master.pan_law: unknown key");
	expect_error(HEAD "\"strips\":[{\"automation\":[{\"param\":\"fader\",\"points\":[[1,0],[1,-3]]}]}]}",
		     "strips[0].automation[0].points[1]: time 1 is not after the previous point's 1");
	expect_error(HEAD "\"strips\":[{\"automation\":[{\"param\":\"send/1/level\"}]}]}",
		     "there is no bus 1 (this session has 0)");
	expect_error(HEAD "\"buses\":[{\"automation\":[{\"param\":\"pan\"}]}]}", "'pan' is not a parameter of a bus");
	expect_error(HEAD "\"strips\":[{\"source\":\"\"}]}", "strips[0].source: an empty file name");
	expect_error(HEAD "\"strips\":[{\"name\":\"a\\u0000b\"}]}", "strips[0].name: the string contains a NUL");
	expect_error(HEAD "\"render\":{\"tail\":-1}}", "render.tail: -1 is out of range (0 .. 600 s)");
	expect_error("", "demo.json:1:1: broken JSON: the file ends too early (it is empty)");
	/* a file with a NUL byte in it is not JSON */
	char err[256];
	struct md_console *c = NULL;
	struct tmp t;
	tmp_open(&t, "nul.json");
	FILE *f = fopen(t.path, "wb");
	fwrite("{\"format\":\0}", 1, 12, f);
	fclose(f);
	assert_int_equal(session_load(t.path, &c, err, sizeof err), MD_ERR_FORMAT);
	assert_null(c);
	assert_non_null(strstr(err, "a NUL byte at offset 10"));
	/* a missing file says so */
	snprintf(t.path, sizeof t.path, "%s/none.json", t.dir);
	assert_int_equal(session_load(t.path, &c, err, sizeof err), MD_ERR_IO);
	assert_non_null(strstr(err, "none.json: cannot open: No such file"));
	tmp_close(&t);
}

static void test_older_forms_load(void **state)
{
	(void)state;
	char err[512];
	struct md_console *c = NULL;
	/* both forms of a pair's connections; a null source; version 1 with only some keys */
	assert_int_equal(session_parse(HEAD "\"strips\":[{\"name\":\"K\",\"stereo\":true,\"source\":null,"
					    "\"inputs\":[\"a:1\",\"a:2\"]}],"
					    "\"master\":{\"outputs\":[[\"s:1\",\"s:3\"],[\"s:2\"]]}}",
				       "o.json", &c, err, sizeof err),
			 MD_OK);
	assert_null(c->strips[0]->source);
	assert_string_equal(c->strips[0]->inputs[1].names[0], "a:2");
	assert_int_equal(c->master.outputs[0].n, 2);
	console_free(c);
}

static bool same_bytes(const char *path, const char *want)
{
	char *t = tl_read_file(path);
	bool same = t && strcmp(t, want) == 0;
	free(t);
	return same;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static void test_atomic_save_and_backup(void **state)
{
	(void)state;
	struct tmp t;
	tmp_open(&t, "song.json");
	char err[512], bak[600];
	snprintf(bak, sizeof bak, "%s.bak", t.path);
	struct md_console *c = console_new(48000);
	int idx;
	assert_int_equal(console_add_strip(c, "One", false, &idx), MD_OK);
	assert_int_equal(session_save(t.path, c, err, sizeof err), MD_OK);
	assert_int_equal(access(bak, F_OK), -1); /* nothing to keep the first time */
	char *first = tl_read_file(t.path);
	assert_int_equal(console_add_strip(c, "Two", false, &idx), MD_OK);
	assert_int_equal(session_save(t.path, c, err, sizeof err), MD_OK);
	char *second = tl_read_file(t.path);
	assert_true(same_bytes(bak, first));
	assert_non_null(strstr(second, "\"Two\""));
	assert_int_equal(count_entries(t.dir), 2); /* song.json and song.json.bak, no temporary left */

	/* a save whose write fails for real (the file size limit: EFBIG) leaves the file and its backup */
	for (int i = 0; i < 40; i++) {
		char name[32];
		snprintf(name, sizeof name, "Strip %d", i);
		assert_int_equal(console_add_strip(c, name, true, &idx), MD_OK);
	}
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		signal(SIGXFSZ, SIG_IGN);
		struct rlimit rl = {4096, 4096};
		setrlimit(RLIMIT_FSIZE, &rl);
		char e2[512] = "";
		enum md_err r = session_save(t.path, c, e2, sizeof e2);
		ssize_t w = write(pipefd[1], e2, strlen(e2) + 1);
		(void)w;
		_exit(r == MD_ERR_IO ? 0 : 1);
	}
	close(pipefd[1]);
	char msg[512] = "";
	ssize_t got = read(pipefd[0], msg, sizeof msg - 1);
	close(pipefd[0]);
	assert_true(got > 0);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) != 0)
		fail_msg("the save did not fail as it should: '%s'", msg);
	if (!strstr(msg, "File too large") || !strstr(msg, "left as it was"))
		fail_msg("the message does not say why: '%s'", msg);
	assert_true(same_bytes(t.path, second));
	assert_true(same_bytes(bak, first));
	assert_int_equal(count_entries(t.dir), 2); /* the temporary file is gone */

	/* a folder that does not exist: nothing written, a message that says where */
	char nowhere[600];
	snprintf(nowhere, sizeof nowhere, "%s/missing/s.json", t.dir);
	assert_int_equal(session_save(nowhere, c, err, sizeof err), MD_ERR_IO);
	assert_non_null(strstr(err, "cannot create a temporary file in"));
	assert_non_null(strstr(err, "No such file or directory"));

	/* the file keeps its mode across a save */
	assert_int_equal(chmod(t.path, 0600), 0);
	assert_int_equal(session_save(t.path, c, err, sizeof err), MD_OK);
	struct stat sb;
	assert_int_equal(stat(t.path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	free(first);
	free(second);
	console_free(c);
	tmp_close(&t);
}

/* docs/SESSION.md stays true: its full example loads, and its parameter tables have one row per descriptor
 * with the descriptor's range and default. */
static void doc_row(enum md_scope sc, const struct md_param_desc *d, char *row, size_t n)
{
	char key[64], path[64], range[128] = "", def[64];
	int b;
	char f[32];
	if (sscanf(d->path, "eq/%d/%31s", &b, f) == 2)
		snprintf(key, sizeof key, "eq.bands[%d].%s", b - 1, f);
	else if (sscanf(d->path, "send/%d/%31s", &b, f) == 2)
		snprintf(key, sizeof key, "sends[].%s", f);
	else {
		snprintf(key, sizeof key, "%s", d->path);
		for (char *p = key; *p; p++)
			*p = *p == '/' ? '.' : *p;
	}
	if (strncmp(d->path, "send/", 5) == 0)
		snprintf(path, sizeof path, "send/B/%s", strchr(d->path + 5, '/') + 1);
	else
		snprintf(path, sizeof path, "%s", d->path);
	const char *u = md_param_unit_name(d->unit);
	const char *kind = "number";
	switch (d->kind) {
	case MD_KIND_FLOAT:
		snprintf(range, sizeof range, "%g .. %g%s%s", (double)d->min, (double)d->max,
			 d->unit == MD_UNIT_PAN || d->unit == MD_UNIT_Q || d->unit == MD_UNIT_RATIO || !*u ? "" : " ",
			 d->unit == MD_UNIT_PAN || d->unit == MD_UNIT_Q || d->unit == MD_UNIT_RATIO ? "" : u);
		snprintf(def, sizeof def, "%g", (double)d->def);
		break;
	case MD_KIND_BOOL:
		kind = "true/false";
		snprintf(range, sizeof range, "true, false");
		snprintf(def, sizeof def, "%s", d->def != 0 ? "true" : "false");
		break;
	case MD_KIND_ENUM:
		kind = "string";
		for (int j = 0; j < d->count; j++) {
			size_t l = strlen(range);
			snprintf(range + l, sizeof range - l, "%s%s", j ? ", " : "", d->names[j]);
		}
		snprintf(def, sizeof def, "%s", d->names[(int)d->def]);
		break;
	case MD_KIND_CHOICE:
		for (int j = 0; j < d->count; j++) {
			size_t l = strlen(range);
			snprintf(range + l, sizeof range - l, "%s%g", j ? ", " : "", (double)d->choices[j]);
		}
		size_t l = strlen(range);
		snprintf(range + l, sizeof range - l, " %s", u);
		snprintf(def, sizeof def, "%g", (double)d->def);
		break;
	}
	(void)sc;
	snprintf(row, n, "| `%s` | `%s` | %s | %s | %s | %s |", key, path, kind, range, def,
		 d->automatable ? "yes" : "no");
}

static void test_docs_are_true(void **state)
{
	(void)state;
	char path[1024], err[512];
	snprintf(path, sizeof path, "%s/docs/SESSION.md", tl_top());
	char *doc = tl_read_file(path);
	assert_non_null(doc);
	static const enum md_scope scopes[] = {MD_SCOPE_STRIP, MD_SCOPE_BUS, MD_SCOPE_MASTER};
	for (size_t k = 0; k < 3; k++)
		for (int i = 0; i < md_param_count(scopes[k]); i++) {
			char row[512];
			doc_row(scopes[k], md_param_desc(scopes[k], i), row, sizeof row);
			if (!strstr(doc, row))
				fail_msg("docs/SESSION.md lacks the row: %s", row);
		}
	/* the full example is a valid session */
	char *start = strstr(doc, "```json\n");
	assert_non_null(start);
	start += 8;
	char *end = strstr(start, "```");
	assert_non_null(end);
	*end = '\0';
	struct md_console *c = NULL;
	if (session_parse(start, "docs/SESSION.md example", &c, err, sizeof err) != MD_OK)
		fail_msg("%s", err);
	assert_int_equal(c->nstrips, 2);
	assert_int_equal(c->strips[1]->inputs[1].n, 2);
	console_free(c);
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_takes_defaults),
		cmocka_unit_test(test_rich_session_values),
		cmocka_unit_test(test_round_trip_rich),
		cmocka_unit_test(test_round_trip_demo),
		cmocka_unit_test(test_round_trip_every_parameter),
		cmocka_unit_test(test_extras_in_place),
		cmocka_unit_test(test_precise_errors),
		cmocka_unit_test(test_older_forms_load),
		cmocka_unit_test(test_atomic_save_and_backup),
		cmocka_unit_test(test_docs_are_true),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
