/* mixdesk tests: the session file's plugin inserts ("inserts" on strips, buses and the master). A load-save-load
 * round trip of every slot field (plugin, bypass, parameters, a JSON state, a null slot in the middle, "x-"
 * keys), every refusal with its exact field path, session_keep_missing_plugins keeping an unknown plugin as
 * written, and `mixdesk check` reporting the same errors. Uses the installed swh-lv2 and mda-lv2 plugins; no
 * JACK server is started. */
#include "engine/plugin.h"
#include "sessions/session.h"
#include "testlib.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AMP "http://plugin.org.uk/swh-plugins/amp"
#define DELAY "http://plugin.org.uk/swh-plugins/delay_n"
#define GVERB "http://plugin.org.uk/swh-plugins/gverb"
#define DECIMATOR "http://plugin.org.uk/swh-plugins/decimator" /* not lv2:hardRTCapable */
#define LIMITER "http://drobilla.net/plugins/mda/Limiter"      /* 2 in 2 out; "knee" is an enumeration */
#define MULTIBAND "http://drobilla.net/plugins/mda/MultiBand"  /* 13 parameters */
#define MISSING "http://example.org/plugins/not-here"

#define HEAD "{\"format\":\"mixdesk-session\",\"version\":1,"

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

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static struct md_console *parse_ok(const char *text)
{
	char err[1024] = "";
	struct md_console *c = NULL;
	if (session_parse(text, "p.json", &c, err, sizeof err) != MD_OK)
		fail_msg("refused: %s", err);
	return c;
}

static void expect_error(const char *text, const char *want)
{
	char err[1024] = "";
	struct md_console *c = (struct md_console *)&err; /* must be set to NULL on failure */
	if (session_parse(text, "p.json", &c, err, sizeof err) == MD_OK)
		fail_msg("loaded, expected the error '%s'", want);
	assert_null(c);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

/* Every field of two slots is the same (uids aside: each load gives new ones). */
static void expect_same_insert(const struct md_insert *a, const struct md_insert *b, const char *what)
{
	if (!a->uri || !b->uri) {
		if (a->uri || b->uri)
			fail_msg("%s: plugin %s, expected %s", what, b->uri ? b->uri : "(empty)",
				 a->uri ? a->uri : "(empty)");
		return;
	}
	assert_string_equal(a->uri, b->uri);
	assert_int_equal(a->bypass, b->bypass);
	assert_int_equal(a->nparams, b->nparams);
	for (int i = 0; i < a->nparams; i++) {
		assert_string_equal(a->params[i].symbol, b->params[i].symbol);
		if (a->params[i].value != b->params[i].value)
			fail_msg("%s.params.%s: %.9g, expected %.9g", what, a->params[i].symbol,
				 (double)b->params[i].value, (double)a->params[i].value);
	}
	if (!a->state || !b->state) {
		assert_true(!a->state && !b->state);
		return;
	}
	assert_string_equal(a->state, b->state);
}

static void expect_same_inserts(const struct md_console *a, const struct md_console *b)
{
	char what[64];
	assert_int_equal(a->nstrips, b->nstrips);
	assert_int_equal(a->nbuses, b->nbuses);
	for (int k = 0; k < MD_MAX_INSERTS; k++) {
		for (int i = 0; i < a->nstrips; i++) {
			snprintf(what, sizeof what, "strips[%d].inserts[%d]", i, k);
			expect_same_insert(&a->strips[i]->inserts[k], &b->strips[i]->inserts[k], what);
		}
		for (int i = 0; i < a->nbuses; i++) {
			snprintf(what, sizeof what, "buses[%d].inserts[%d]", i, k);
			expect_same_insert(&a->buses[i]->inserts[k], &b->buses[i]->inserts[k], what);
		}
		snprintf(what, sizeof what, "master.inserts[%d]", k);
		expect_same_insert(&a->master.inserts[k], &b->master.inserts[k], what);
	}
}

/* The JSON value at a path of a parsed file: "strips", 0, "inserts", 2, ... (ints for arrays). */
static json_object *at(json_object *root, const char *key, int idx, const char *key2, int idx2)
{
	json_object *v = NULL, *w = NULL;
	if (!json_object_object_get_ex(root, key, &v))
		return NULL;
	v = json_object_array_get_idx(v, (size_t)idx);
	if (!key2)
		return v;
	if (!json_object_object_get_ex(v, key2, &w))
		return NULL;
	return idx2 < 0 ? w : json_object_array_get_idx(w, (size_t)idx2);
}

/* Save c to path, load it back and compare the inserts; save that again and expect the same bytes. The text of
 * the first save is returned (malloc'd). */
static char *round_trip(const struct md_console *c, const char *path)
{
	char err[1024], path2[600];
	struct md_console *back = NULL;
	if (session_save(path, c, err, sizeof err) != MD_OK)
		fail_msg("save: %s", err);
	if (session_load(path, &back, err, sizeof err) != MD_OK)
		fail_msg("reload: %s", err);
	expect_same_inserts(c, back);
	snprintf(path2, sizeof path2, "%s.second.json", path);
	assert_int_equal(session_save(path2, back, err, sizeof err), MD_OK);
	char *t1 = tl_read_file(path), *t2 = tl_read_file(path2);
	assert_non_null(t1);
	assert_non_null(t2);
	assert_string_equal(t1, t2);
	free(t2);
	console_free(back);
	return t1;
}

/* ---- the round trip ---- */

static const char *const with_inserts = HEAD
	"\"strips\":["
	"{\"name\":\"Vox\",\"inserts\":["
	"{\"plugin\":\"" AMP
	"\",\"bypass\":true,\"params\":{\"gain\":-6.5},\"x-note\":\"ride it\"},"
	"null,"
	"{\"plugin\":\"" DELAY
	"\",\"params\":{\"max_delay\":1,\"delay_time\":0.1},"
	"\"state\":{\"preset\":\"slap/short\",\"taps\":[0.1,1e-7,1.50],\"deep\":{\"on\":true,\"n\":null}}},"
	"null,null]},"
	"{\"name\":\"Dry\"},"
	"{\"name\":\"Keys\",\"stereo\":true,\"inserts\":[{\"plugin\":\"" AMP
	"\",\"params\":{\"gain\":0.7}}]}],"
	"\"buses\":[{\"name\":\"Verb\",\"inserts\":[null,{\"plugin\":\"" GVERB
	"\",\"bypass\":false,"
	"\"params\":{\"roomsize\":20.25,\"revtime\":2.2,\"taillevel\":-70},\"state\":[1,\"two\",3]}]}],"
	"\"master\":{\"inserts\":[{\"plugin\":\"" LIMITER
	"\",\"params\":{\"knee\":1,\"thresh\":0.3}},"
	"{\"plugin\":\"" DECIMATOR "\",\"params\":{\"bits\":12},\"state\":\"a string\"}]}}";

/* Every slot field as written; saving writes the same slots (null in the middle, trailing empty slots left
 * out, no "inserts" where every slot is empty), and a second load and save gives the same bytes. */
static void test_round_trip_inserts(void **state)
{
	(void)state;
	struct md_console *c = parse_ok(with_inserts);
	const struct md_insert *v = c->strips[0]->inserts;
	assert_string_equal(v[0].uri, AMP);
	assert_true(v[0].bypass);
	assert_int_equal(v[0].nparams, 1);
	assert_string_equal(v[0].params[0].symbol, "gain");
	assert_true(v[0].params[0].value == -6.5f);
	assert_null(v[0].state);
	assert_null(v[1].uri);
	assert_string_equal(v[2].uri, DELAY);
	assert_false(v[2].bypass);
	assert_int_equal(v[2].nparams, 2);
	assert_string_equal(v[2].params[0].symbol, "max_delay"); /* in the file's order */
	assert_string_equal(v[2].params[1].symbol, "delay_time");
	assert_true(v[2].params[1].value == 0.1f);
	assert_string_equal(v[2].state,
			    "{\"preset\":\"slap/short\",\"taps\":[0.1,1e-7,1.50],\"deep\":{\"on\":true,\"n\":null}}");
	for (int k = 3; k < MD_MAX_INSERTS; k++)
		assert_null(v[k].uri);
	/* each loaded slot has a uid of its own */
	assert_true(v[0].uid != 0 && v[2].uid != 0 && v[0].uid != v[2].uid);
	assert_true(c->strips[2]->inserts[0].uid != v[0].uid);
	assert_null(c->buses[0]->inserts[0].uri);
	assert_string_equal(c->buses[0]->inserts[1].uri, GVERB);
	assert_string_equal(c->buses[0]->inserts[1].state, "[1,\"two\",3]");
	assert_string_equal(c->master.inserts[0].uri, LIMITER);
	assert_string_equal(c->master.inserts[1].state, "\"a string\"");

	struct tmp t;
	tmp_open(&t, "inserts.json");
	char *text = round_trip(c, t.path);
	json_object *root = json_tokener_parse(text), *o, *want;
	assert_non_null(root);
	/* the strip's slots: three entries (the trailing nulls trimmed), the middle one null */
	o = at(root, "strips", 0, "inserts", -1);
	assert_non_null(o);
	assert_int_equal(json_object_array_length(o), 3);
	assert_true(json_object_get_type(json_object_array_get_idx(o, 1)) == json_type_null);
	/* the first slot: bypass, params and its x- key as written */
	want = json_tokener_parse("{\"plugin\":\"" AMP
				  "\",\"bypass\":true,\"params\":{\"gain\":-6.5},"
				  "\"x-note\":\"ride it\"}");
	assert_true(json_object_equal(json_object_array_get_idx(o, 0), want));
	json_object_put(want);
	/* the third: bypass written though the file left it out; the state as parsed JSON, numbers as written */
	json_object *st;
	assert_true(json_object_object_get_ex(json_object_array_get_idx(o, 2), "state", &st));
	assert_string_equal(json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
			    "{\"preset\":\"slap/short\",\"taps\":[0.1,1e-7,1.50],\"deep\":{\"on\":true,\"n\":null}}");
	assert_non_null(strstr(text, "\"bypass\": false"));
	/* no "inserts" on a strip whose slots are all empty */
	assert_null(at(root, "strips", 1, "inserts", -1));
	assert_non_null(at(root, "buses", 0, "inserts", 1));
	assert_true(json_object_get_type(at(root, "buses", 0, "inserts", 0)) == json_type_null);
	json_object *m, *mi;
	assert_true(json_object_object_get_ex(root, "master", &m));
	assert_true(json_object_object_get_ex(m, "inserts", &mi));
	assert_int_equal(json_object_array_length(mi), 2);
	json_object_put(root);
	free(text);
	console_free(c);
	tmp_close(&t);
}

/* Slots filled through the model (as OSC fills them) save and load back, values to the last bit. */
static void test_round_trip_model_values(void **state)
{
	(void)state;
	struct md_console *c = console_new(48000);
	int si, bi;
	assert_int_equal(console_add_strip(c, "S", false, &si), MD_OK);
	assert_int_equal(console_add_bus(c, "B", &bi), MD_OK);
	struct md_insert *s = console_inserts(c, MD_SCOPE_STRIP, si), *b = console_inserts(c, MD_SCOPE_BUS, bi);
	assert_int_equal(console_insert_load(&s[MD_MAX_INSERTS - 1], AMP), MD_OK);
	assert_int_equal(console_insert_set_param(&s[MD_MAX_INSERTS - 1], "gain", 1.0f / 3.0f), MD_OK);
	assert_int_equal(console_insert_load(&b[3], DELAY), MD_OK);
	assert_int_equal(console_insert_set_param(&b[3], "delay_time", 0.0123456789f), MD_OK);
	assert_int_equal(console_insert_set_param(&b[3], "max_delay", 9.999999f), MD_OK);
	b[3].bypass = true;
	assert_int_equal(console_insert_set_state(&b[3], "{\"k\":[1,2,{\"x\":\"y\"}]}"), MD_OK);
	struct md_insert *m = console_inserts(c, MD_SCOPE_MASTER, 0);
	assert_int_equal(console_insert_load(&m[0], AMP), MD_OK);
	assert_int_equal(console_insert_set_param(&m[0], "gain", -69.99999f), MD_OK);
	struct tmp t;
	tmp_open(&t, "model.json");
	char *text = round_trip(c, t.path);
	json_object *root = json_tokener_parse(text);
	json_object *slots = at(root, "strips", 0, "inserts", -1);
	assert_int_equal(json_object_array_length(slots), MD_MAX_INSERTS); /* seven nulls, then the amp */
	assert_true(json_object_get_type(json_object_array_get_idx(slots, 0)) == json_type_null);
	json_object_put(root);
	free(text);
	console_free(c);
	tmp_close(&t);
}

/* docs/SESSION.md stays true: the example of its "Plugin inserts" section loads on a strip; an empty list and a
 * null state mean no slots and no state. */
static void test_docs_example(void **state)
{
	(void)state;
	char path[1024];
	snprintf(path, sizeof path, "%s/docs/SESSION.md", tl_top());
	char *doc = tl_read_file(path);
	assert_non_null(doc);
	char *sec = strstr(doc, "## Plugin inserts");
	assert_non_null(sec);
	char *start = strstr(sec, "```json\n");
	assert_non_null(start);
	start += 8;
	char *end = strstr(start, "```");
	assert_non_null(end);
	*end = '\0';
	size_t n = strlen(start) + 128;
	char *text = malloc(n);
	snprintf(text, n, HEAD "\"strips\":[{%s}]}", start);
	struct md_console *c = parse_ok(text);
	assert_string_equal(c->strips[0]->inserts[0].uri, AMP);
	assert_null(c->strips[0]->inserts[1].uri);
	assert_true(c->strips[0]->inserts[2].bypass);
	console_free(c);
	free(text);
	free(doc);
	c = parse_ok(HEAD "\"strips\":[{\"inserts\":[]},{\"inserts\":[{\"plugin\":\"" AMP "\",\"state\":null}]}]}");
	for (int k = 0; k < MD_MAX_INSERTS; k++)
		assert_null(c->strips[0]->inserts[k].uri);
	assert_null(c->strips[1]->inserts[0].state);
	console_free(c);
}

/* ---- refusals ---- */

static void test_insert_errors(void **state)
{
	(void)state;
	expect_error(
		HEAD "\"strips\":[{\"inserts\":{}}]}",
		"p.json: strips[0].inserts: expected a list of insert slots (null or {\"plugin\": URI, ...} each), "
		"got an object");
	expect_error(HEAD "\"strips\":[{\"inserts\":[null,null,null,null,null,null,null,null,null]}]}",
		     "p.json: strips[0].inserts: 9 slots, at most 8 (an empty slot is null)");
	expect_error(HEAD "\"strips\":[{},{\"inserts\":[null,3]}]}",
		     "p.json: strips[1].inserts[1]: expected null (an empty slot) or an object");
	expect_error(HEAD "\"buses\":[{\"inserts\":[null,null,{\"bypass\":true}]}]}",
		     "p.json: buses[0].inserts[2]: no \"plugin\": which plugin does this slot hold? (an empty slot is "
		     "null)");
	expect_error(HEAD "\"strips\":[{\"inserts\":[{\"plugin\":7}]}]}",
		     "p.json: strips[0].inserts[0].plugin: expected a plugin URI, got a number");
	expect_error(HEAD "\"strips\":[{\"inserts\":[{\"plugin\":\"\"}]}]}",
		     "p.json: strips[0].inserts[0].plugin: an empty URI (an empty slot is null)");
	expect_error(HEAD "\"strips\":[{\"inserts\":[{\"plugin\":\"" AMP "\",\"bypass\":1}]}]}",
		     "p.json: strips[0].inserts[0].bypass: expected true or false, got a number");
	expect_error(HEAD "\"master\":{\"inserts\":[{\"plugin\":\"" LIMITER "\",\"params\":[0.5]}]}}",
		     "p.json: master.inserts[0].params: expected an object {\"symbol\": value, ...}, got an array");
	expect_error(HEAD "\"strips\":[{\"inserts\":[{\"plugin\":\"" AMP "\",\"params\":{\"gain\":\"-6\"}}]}]}",
		     "p.json: strips[0].inserts[0].params.gain: expected a number, got a string");
	expect_error(HEAD "\"strips\":[{\"inserts\":[{\"plugin\":\"" AMP "\",\"params\":{\"gain\":true}}]}]}",
		     "p.json: strips[0].inserts[0].params.gain: expected a number, got true");
	expect_error(HEAD "\"strips\":[{\"inserts\":[{\"plugin\":\"" AMP "\",\"params\":{\"gain\":1e999}}]}]}",
		     "p.json: strips[0].inserts[0].params.gain: expected a number, got a number that is not finite");
	expect_error(
		HEAD "\"strips\":[{\"inserts\":[{\"plugin\":\"" AMP "\",\"preset\":\"loud\"}]}]}",
		"p.json: strips[0].inserts[0].preset: unknown key (known here: plugin, bypass, params, automation, state; "
		"keys for other tools start with x-)");
	/* parameters: by symbol, in the port's range (checked, not clamped) */
	expect_error(HEAD "\"strips\":[{\"inserts\":[null,{\"plugin\":\"" AMP "\",\"params\":{\"volume\":0}}]}]}",
		     "p.json: strips[0].inserts[1].params.volume: not a parameter of <" AMP "> (its parameters: gain)");
	expect_error(HEAD "\"master\":{\"inserts\":[{\"plugin\":\"" MULTIBAND "\",\"params\":{\"nope\":0}}]}}",
		     "p.json: master.inserts[0].params.nope: not a parameter of <" MULTIBAND "> (its parameters: ");
	expect_error(HEAD "\"master\":{\"inserts\":[{\"plugin\":\"" MULTIBAND "\",\"params\":{\"nope\":0}}]}}",
		     " and 5 more)"); /* 13 parameters: 8 named */
	expect_error(HEAD "\"strips\":[{\"inserts\":[{\"plugin\":\"" AMP "\",\"params\":{\"gain\":80}}]}]}",
		     "p.json: strips[0].inserts[0].params.gain: 80 is out of range (-70 .. 70)");
	expect_error(HEAD "\"buses\":[{\"inserts\":[{\"plugin\":\"" GVERB "\",\"params\":{\"revtime\":0.05}}]}]}",
		     "p.json: buses[0].inserts[0].params.revtime: 0.05 is out of range (0.1 .. 30)");
	expect_error(HEAD "\"master\":{\"inserts\":[{\"plugin\":\"" LIMITER "\",\"params\":{\"knee\":0.5}}]}}",
		     "p.json: master.inserts[0].params.knee: 0.5 is not a whole number");
	/* the plugin: installed, and fitting the path */
	expect_error(HEAD "\"strips\":[{\"inserts\":[null,{\"plugin\":\"" MISSING "\"}]}]}",
		     "p.json: strips[0].inserts[1].plugin: plugin <" MISSING "> is not installed");
	expect_error(HEAD "\"strips\":[{\"inserts\":[null,{\"plugin\":\"" MISSING "\"}]}]}",
		     "--keep-missing-plugins keeps the slot as written");
	expect_error(HEAD "\"strips\":[{\"name\":\"Gtr\",\"inserts\":[{\"plugin\":\"" GVERB "\"}]}]}",
		     "p.json: strips[0].inserts[0].plugin: plugin <" GVERB
		     "> has 1 audio input(s) and 2 output(s); a "
		     "mono path takes one with 1 in and 1 out");
	expect_error(HEAD "\"strips\":[{\"inserts\":[{\"plugin\":\"" LIMITER "\"}]}]}",
		     "p.json: strips[0].inserts[0].plugin: plugin <" LIMITER "> has 2 audio input(s)");
	/* the same plugins where they fit: GVerb on a stereo strip, a bus, the master; a plugin that is not
	 * real-time capable is the live engine's business, not the file's */
	struct md_console *c = parse_ok(HEAD "\"strips\":[{\"stereo\":true,\"inserts\":[{\"plugin\":\"" GVERB
					     "\"},"
					     "{\"plugin\":\"" DECIMATOR
					     "\"}]}],"
					     "\"buses\":[{\"inserts\":[{\"plugin\":\"" GVERB
					     "\"}]}],"
					     "\"master\":{\"inserts\":[{\"plugin\":\"" GVERB "\"}]}}");
	assert_string_equal(c->strips[0]->inserts[1].uri, DECIMATOR);
	console_free(c);
	/* a remote load's public message names the problem and where, not the URI */
	struct tmp t;
	tmp_open(&t, "remote.json");
	write_text(t.path, HEAD "\n\"strips\":[{\"inserts\":[{\"plugin\":\"" MISSING "\"}]}]}");
	char err[1024], pub[512];
	assert_int_equal(session_load_remote(t.path, &c, err, sizeof err, pub, sizeof pub), MD_ERR_NOTFOUND);
	assert_null(c);
	assert_non_null(strstr(err, MISSING));
	assert_null(strstr(pub, "example.org"));
	assert_non_null(strstr(pub, "line 2"));
	assert_non_null(strstr(pub, "a plugin that is not installed or cannot run here"));
	tmp_close(&t);
}

/* ---- plugins that are not here ---- */

/* as mixdesk writes it (numbers in the saver's shortest form: 1000000, not 1e6), from a machine that had the
 * plugin */
static const char *const missing_session = HEAD
	"\"strips\":[{\"name\":\"A\",\"inserts\":[null,{\"plugin\":\"" MISSING
	"\",\"bypass\":true,"
	"\"params\":{\"drive\":0.25,\"mode\":3,\"huge\":1000000},\"state\":{\"blob\":\"AAEC\",\"v\":[1,2.5]},"
	"\"x-ui\":{\"open\":false}}]},"
	"{\"name\":\"M\",\"inserts\":[{\"plugin\":\"" GVERB
	"\",\"bypass\":false,\"params\":{\"roomsize\":500,\"other\":1}}]}]}";

/* Refused by default; with session_keep_missing_plugins(true) loaded as written (parameters unchecked, even of
 * an installed plugin that cannot run on its mono strip), and saved back as the same JSON, byte for byte. */
static void test_keep_missing_plugins(void **state)
{
	(void)state;
	expect_error(missing_session, "p.json: strips[0].inserts[1].plugin: plugin <" MISSING "> is not installed");
	session_keep_missing_plugins(true);
	struct md_console *c = parse_ok(missing_session);
	const struct md_insert *v = &c->strips[0]->inserts[1];
	assert_string_equal(v->uri, MISSING);
	assert_true(v->uid != 0);
	assert_true(v->bypass);
	assert_int_equal(v->nparams, 3);
	assert_string_equal(v->params[2].symbol, "huge");
	assert_true(v->params[2].value == 1e6f);
	assert_string_equal(v->state, "{\"blob\":\"AAEC\",\"v\":[1,2.5]}");
	assert_string_equal(c->strips[1]->inserts[0].uri, GVERB);
	assert_true(c->strips[1]->inserts[0].params[0].value == 500.0f);

	struct tmp t;
	tmp_open(&t, "missing.json");
	char *text = round_trip(c, t.path);
	json_object *root = json_tokener_parse(text), *in = json_tokener_parse(missing_session);
	const int flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
	for (int i = 0; i < 2; i++) {
		json_object *saved = at(root, "strips", i, "inserts", -1), *orig = at(in, "strips", i, "inserts", -1);
		assert_non_null(saved);
		char *a = strdup(json_object_to_json_string_ext(orig, flags));
		assert_string_equal(json_object_to_json_string_ext(saved, flags), a);
		free(a);
	}
	json_object_put(root);
	json_object_put(in);
	free(text);
	console_free(c);
	tmp_close(&t);
	/* off again: refused again */
	session_keep_missing_plugins(false);
	expect_error(missing_session, "strips[0].inserts[1].plugin: plugin <" MISSING "> is not installed");
	/* the switch keeps what is unknown, not what is malformed */
	session_keep_missing_plugins(true);
	expect_error(HEAD "\"strips\":[{\"inserts\":[{\"plugin\":\"" MISSING "\",\"params\":{\"a\":\"x\"}}]}]}",
		     "p.json: strips[0].inserts[0].params.a: expected a number, got a string");
	expect_error(
		HEAD "\"strips\":[{\"inserts\":[{\"plugin\":\"" MISSING "\",\"params\":{\"a\":-1e39}}]}]}",
		"p.json: strips[0].inserts[0].params.a: -1e+39 is too large for a parameter (at most 3.40282e+38)");
	expect_error(HEAD "\"strips\":[{\"inserts\":[{\"plugin\":\"" MISSING "\",\"bypas\":true}]}]}",
		     "p.json: strips[0].inserts[0].bypas: unknown key");
	session_keep_missing_plugins(false);
}

/* ---- mixdesk check ---- */

/* `mixdesk check` loads with the same loader: it names the field of a missing plugin, and passes a session
 * whose plugins are here. */
static void test_check_reports_insert_errors(void **state)
{
	(void)state;
	char out[8192];
	struct tmp t;
	tmp_open(&t, "check.json");
	write_text(t.path, HEAD "\"strips\":[{\"name\":\"Vox\",\"inserts\":[null,{\"plugin\":\"" MISSING "\"}]}]}");
	assert_int_equal(tl_run((const char *[]){"check", t.path, NULL}, out, sizeof out), 1);
	if (!strstr(out, "strips[0].inserts[1].plugin: plugin <" MISSING "> is not installed"))
		fail_msg("mixdesk check said: %s", out);
	write_text(t.path, HEAD "\"strips\":[{\"name\":\"Gtr\",\"inserts\":[{\"plugin\":\"" GVERB "\"}]}]}");
	assert_int_equal(tl_run((const char *[]){"check", t.path, NULL}, out, sizeof out), 1);
	if (!strstr(out, "strips[0].inserts[0].plugin: plugin <" GVERB "> has 1 audio input(s) and 2 output(s)"))
		fail_msg("mixdesk check said: %s", out);
	write_text(t.path, HEAD "\"strips\":[{\"name\":\"Vox\",\"inserts\":[{\"plugin\":\"" AMP
				"\",\"params\":"
				"{\"gain\":200}}]}]}");
	assert_int_equal(tl_run((const char *[]){"check", t.path, NULL}, out, sizeof out), 1);
	if (!strstr(out, "strips[0].inserts[0].params.gain: 200 is out of range (-70 .. 70)"))
		fail_msg("mixdesk check said: %s", out);
	write_text(t.path, HEAD "\"strips\":[{\"name\":\"Vox\",\"inserts\":[{\"plugin\":\"" AMP
				"\",\"params\":"
				"{\"gain\":-3}}]}]}");
	if (tl_run((const char *[]){"check", t.path, NULL}, out, sizeof out) != 0)
		fail_msg("mixdesk check refused a valid session: %s", out);
	tmp_close(&t);
}

/* Lanes of plugin parameters ("automation" in an insert): loaded by symbol, values checked against the port,
 * saved and loaded again exactly; an unknown symbol and a value out of range are refused naming the field. */
static void test_insert_automation(void **state)
{
	(void)state;
	const char *text = HEAD
		"\"strips\":[{\"name\":\"Vox\",\"inserts\":[{\"plugin\":\"" AMP
		"\","
		"\"automation\":[{\"param\":\"gain\",\"mode\":\"read\",\"points\":[[0,0],[1.5,-24.5]]}]}]}]}";
	struct md_console *c = parse_ok(text);
	const struct md_insert *ins = &c->strips[0]->inserts[0];
	assert_int_equal(ins->nlanes, 1);
	assert_string_equal(ins->lanes[0].symbol, "gain");
	assert_int_equal(ins->lanes[0].lane.npoints, 2);
	assert_float_equal(ins->lanes[0].lane.v[1], -24.5f, 0);
	char *out = NULL, err[512];
	assert_int_equal(session_serialize(c, NULL, "/tmp/p.json", &out, err, sizeof err), MD_OK);
	struct md_console *d = parse_ok(out);
	const struct md_insert *j = &d->strips[0]->inserts[0];
	assert_int_equal(j->nlanes, 1);
	assert_string_equal(j->lanes[0].symbol, "gain");
	assert_int_equal(j->lanes[0].lane.mode, MD_AUTO_READ);
	assert_int_equal(j->lanes[0].lane.npoints, 2);
	assert_true(j->lanes[0].lane.t[1] == 1.5 && j->lanes[0].lane.v[1] == -24.5f);
	free(out);
	console_free(c);
	console_free(d);
	expect_error(HEAD "\"strips\":[{\"inserts\":[{\"plugin\":\"" AMP
			  "\","
			  "\"automation\":[{\"param\":\"loud\",\"points\":[[0,0]]}]}]}]}",
		     "strips[0].inserts[0].automation[0].param: 'loud' is not a parameter of <" AMP ">");
	expect_error(HEAD "\"strips\":[{\"inserts\":[{\"plugin\":\"" AMP
			  "\","
			  "\"automation\":[{\"param\":\"gain\",\"points\":[[0,0],[1,99]]}]}]}]}",
		     "strips[0].inserts[0].automation[0].points[1]: 99 is out of range (-70 .. 70");
}

int main(void)
{
	/* the tests need the plugins they name: say so rather than fail obscurely */
	const char *need[] = {AMP, DELAY, GVERB, DECIMATOR, LIMITER, MULTIBAND};
	for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
		if (!plugins_find(need[i])) {
			fprintf(stderr,
				"test_session_plugins: plugin <%s> is not installed (swh-lv2 and mda-lv2 are "
				"needed: make deps)\n",
				need[i]);
			return 1;
		}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_inserts),   cmocka_unit_test(test_round_trip_model_values),
		cmocka_unit_test(test_docs_example),         cmocka_unit_test(test_insert_errors),
		cmocka_unit_test(test_keep_missing_plugins), cmocka_unit_test(test_check_reports_insert_errors),
		cmocka_unit_test(test_insert_automation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
