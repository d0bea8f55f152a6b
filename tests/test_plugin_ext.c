/* mixdesk tests: the LV2 extensions engine/plugin.c serves, with real plugins from Debian's lv2-examples:
 * atom:Sequence ports (eg-params, eg-scope, eg-midigate, eg-fifths, eg-metro), the refusal of a CV port
 * (a made-up bundle in tests/lv2/), eg-sampler (worker, default state, atom ports) silent without MIDI, the
 * worker's round trip live and offline, state:mapPath inside a plugin folder, a state save/restore round trip
 * on eg-params, and plugin_run allocating and locking nothing with the live worker answering. No JACK. */
#include "engine/insert.h"
#include "engine/mixer/mixer.h"
#include "engine_helpers.h"
#include "noalloc_wrap.h"
#include "sessions/session.h"
#include "engine/plugin.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <json-c/json.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PARAMS "http://lv2plug.in/plugins/eg-params"
#define SAMPLER "http://lv2plug.in/plugins/eg-sampler"
#define SAMPLER_DIR "/usr/lib/lv2/eg-sampler.lv2"
#define CV "urn:mixdesk:test:cv-port"

/* malloc, free and pthread_mutex_lock counted while armed: tests/noalloc_wrap.h */

/* ---- helpers ---- */

static uint32_t seed = 1;

static void noise(float *x, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		seed = seed * 1664525u + 1013904223u;
		x[i] = (float)(seed >> 8) / 16777216.0f - 0.5f;
	}
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* run blocks of silence until p's worker has delivered `responses` responses, or 2 s; the blocks run */
static int run_until_responses(struct md_plugin *p, unsigned responses)
{
	float l[64] = {0}, r[64] = {0};
	float *const io[2] = {l, r};
	unsigned got = 0;
	int blocks = 0;
	for (double t0 = now(); now() - t0 < 2.0; blocks++) {
		plugin_run(p, io, 64);
		plugin_worker_counts(p, NULL, &got);
		if (got >= responses)
			break;
		usleep(1000);
	}
	return blocks;
}

/* ---- tests ---- */

/* plugins whose only obstacle was their atom ports instantiate and run 1000 blocks of noise, finite */
static void test_atom_plugins(void **state)
{
	(void)state;
	static const struct {
		const char *uri;
		int nch;
		bool passes; /* no audio port: the signal passes through untouched */
	} cases[] = {
		{PARAMS, 2, true},
		{"http://lv2plug.in/plugins/eg-fifths", 1, true},
		{"http://lv2plug.in/plugins/eg-scope#Mono", 1, false},
		{"http://lv2plug.in/plugins/eg-scope#Stereo", 2, false},
		{"http://lv2plug.in/plugins/eg-midigate", 2, false},
#ifndef __SANITIZE_ADDRESS__
		/* Debian's eg-metro leaks 216 bytes it mallocs in instantiate (found by LeakSanitizer): run in
		 * the normal build only */
		{"http://lv2plug.in/plugins/eg-metro", 1, false},
#endif
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		if (!plugins_find(cases[c].uri)) {
			printf("%s: not installed, skipped\n", cases[c].uri);
			continue;
		}
		char err[600] = "";
		struct md_plugin *p = plugin_new(cases[c].uri, 48000, cases[c].nch, 64, false, NULL, 0, err,
						 sizeof err);
		if (!p)
			printf("%s: %s\n", cases[c].uri, err);
		assert_non_null(p);
		float l[64], r[64], l0[64], r0[64];
		float *const io[2] = {l, r};
		long nonfinite = 0;
		for (int b = 0; b < 1000; b++) {
			noise(l, 64);
			noise(r, 64);
			memcpy(l0, l, sizeof l);
			memcpy(r0, r, sizeof r);
			uint32_t n = b % 7 == 0 ? 17 : 64;
			plugin_run(p, io, n);
			for (uint32_t i = 0; i < n; i++) {
				nonfinite += !isfinite(l[i]) + !isfinite(r[i]);
				if (cases[c].passes) {
					assert_true(l[i] == l0[i]);
					assert_true(r[i] == r0[i]);
				}
			}
		}
		assert_int_equal(nonfinite, 0);
		printf("%s: %d channel(s), 1000 blocks, finite%s\n", cases[c].uri, cases[c].nch,
		       cases[c].passes ? ", the signal passed through" : "");
		plugin_free(p);
	}
	/* the midigate with no note on is closed: silence */
	char err[600];
	struct md_plugin *g = plugin_new("http://lv2plug.in/plugins/eg-midigate", 48000, 1, 64, false, NULL, 0, err,
					 sizeof err);
	if (g) {
		float l[64], r[64];
		float *const io[2] = {l, r};
		noise(l, 64);
		plugin_run(g, io, 64);
		for (int i = 0; i < 64; i++)
			assert_true(l[i] == 0.0f);
		plugin_free(g);
	}
}

static void test_cv_refused(void **state)
{
	(void)state;
	char err[600] = "";
	assert_non_null(plugins_find(CV));
	assert_null(plugin_new(CV, 48000, 1, 64, true, NULL, 0, err, sizeof err));
	printf("made-up CV plugin: %s\n", err);
	assert_non_null(strstr(err, "port 2 \"gain_cv\" (Gain CV) is a CV port and not optional"));
	assert_false(plugins_check(CV, 1, true, err, sizeof err));
	assert_non_null(strstr(err, "gain_cv"));
}

/* the sampler, live: its default sample loaded at instantiation (before activation: synchronously, in its
 * restore()), silent without MIDI */
static void test_sampler_silent(void **state)
{
	(void)state;
	if (!plugins_find(SAMPLER))
		skip();
	for (int nch = 1; nch <= 2; nch++) {
		char err[600] = "";
		struct md_plugin *p = plugin_new(SAMPLER, 48000, nch, 64, false, NULL, 0, err, sizeof err);
		if (!p)
			printf("sampler: %s\n", err);
		assert_non_null(p);
		float l[64], r[64];
		float *const io[2] = {l, r};
		double energy = 0;
		for (int b = 0; b < 500; b++) {
			noise(l, 64);
			noise(r, 64);
			plugin_run(p, io, 64);
			for (int i = 0; i < 64; i++)
				energy += (double)l[i] * l[i] + (nch == 2 ? (double)r[i] * r[i] : 0.0);
		}
		assert_true(energy == 0.0);
		char *st = plugin_state_save(p, NULL);
		assert_non_null(st);
		/* the default state's sample, an absolute path (no folder given) */
		assert_non_null(strstr(st, SAMPLER_DIR "/click.wav"));
		free(st);
		plugin_free(p);
	}
	printf("eg-sampler: 500 blocks of silence on a mono and a stereo path, its default click.wav loaded\n");
}

/* a state restored into a running (activated) sampler loads its sample through the worker: live, on the
 * worker thread, the response given at a later run; offline, inside the call */
static void test_worker_round_trip(void **state)
{
	(void)state;
	if (!plugins_find(SAMPLER))
		skip();
	char err[600] = "";
	struct md_plugin *a = plugin_new(SAMPLER, 48000, 1, 64, false, NULL, 0, err, sizeof err);
	assert_non_null(a);
	char *st = plugin_state_save(a, NULL);
	assert_non_null(st);
	unsigned works, responses;
	plugin_worker_counts(a, &works, &responses);
	assert_int_equal(works, 0); /* the default sample was loaded synchronously, before activation */
	plugin_free(a);

	/* live */
	struct md_plugin *b = plugin_new_host(SAMPLER, 48000, 1, 64, false, NULL, 0,
					      &(struct md_plugin_host){.offline = false}, err, sizeof err);
	assert_non_null(b);
	assert_true(plugin_state_restore(b, st, NULL, err, sizeof err));
	double t0 = now();
	int blocks = run_until_responses(b, 1);
	double ms = 1e3 * (now() - t0);
	plugin_worker_counts(b, &works, &responses);
	assert_int_equal(responses, 1);
	/* the response installs the sample and schedules the old one's freeing: a second work() */
	for (t0 = now(); works < 2 && now() - t0 < 2.0; usleep(1000))
		plugin_worker_counts(b, &works, NULL);
	assert_int_equal(works, 2);
	printf("worker, live: the sample loaded on the worker thread and installed after %d block(s) (%.2f ms); "
	       "work() %u times, work_response() %u\n",
	       blocks, ms, works, responses);
	/* many more round trips: the rings wrap around (32 KiB each; a request here is some 100 bytes) */
	const unsigned rounds = 400;
	t0 = now();
	for (unsigned i = 2; i <= rounds + 1; i++) {
		assert_true(plugin_state_restore(b, st, NULL, err, sizeof err));
		run_until_responses(b, i);
	}
	for (double t1 = now(); works < 2 * (rounds + 1) && now() - t1 < 2.0; usleep(1000))
		plugin_worker_counts(b, &works, NULL);
	plugin_worker_counts(b, &works, &responses);
	assert_int_equal(responses, rounds + 1);
	assert_int_equal(works, 2 * (rounds + 1));
	printf("worker, live: %u more loads in %.0f ms, every one answered: work() %u, work_response() %u\n", rounds,
	       1e3 * (now() - t0), works, responses);
	plugin_free(b);

	/* offline: work() inside schedule_work, the response after the next run(), which frees at once */
	struct md_plugin *c = plugin_new_host(SAMPLER, 48000, 1, 64, false, NULL, 0,
					      &(struct md_plugin_host){.offline = true}, err, sizeof err);
	assert_non_null(c);
	assert_true(plugin_state_restore(c, st, NULL, err, sizeof err));
	plugin_worker_counts(c, &works, &responses);
	assert_int_equal(works, 1);
	assert_int_equal(responses, 0);
	float l[64] = {0}, r[64] = {0};
	float *const io[2] = {l, r};
	plugin_run(c, io, 64);
	plugin_worker_counts(c, &works, &responses);
	assert_int_equal(works, 2);
	assert_int_equal(responses, 1);
	printf("worker, offline: work() inside restore, work_response() after the first run, the old sample freed "
	       "inside it: work() %u, work_response() %u\n",
	       works, responses);
	plugin_free(c);
	free(st);
}

/* state:mapPath: a path inside the plugin folder is saved relative to it and found again inside the folder
 * given at restore; without a folder, the relative path finds nothing (the sampler loads nothing: no response) */
static void test_map_path(void **state)
{
	(void)state;
	if (!plugins_find(SAMPLER))
		skip();
	char err[600] = "";
	struct md_plugin *a = plugin_new(SAMPLER, 48000, 1, 64, false, NULL, 0, err, sizeof err);
	assert_non_null(a);
	char *st = plugin_state_save(a, SAMPLER_DIR);
	assert_non_null(st);
	plugin_free(a);
	assert_null(strstr(st, SAMPLER_DIR));
	assert_non_null(strstr(st, "\"click.wav\""));
	unsigned works, responses;
	struct md_plugin *b = plugin_new_host(SAMPLER, 48000, 1, 64, false, NULL, 0,
					      &(struct md_plugin_host){.offline = true}, err, sizeof err);
	assert_non_null(b);
	assert_true(plugin_state_restore(b, st, SAMPLER_DIR "/", err, sizeof err));
	float l[64] = {0}, r[64] = {0};
	float *const io[2] = {l, r};
	plugin_run(b, io, 64);
	plugin_worker_counts(b, &works, &responses);
	assert_int_equal(responses, 1); /* the sample was found in the folder */
	plugin_free(b);
	struct md_plugin *c = plugin_new_host(SAMPLER, 48000, 1, 64, false, NULL, 0,
					      &(struct md_plugin_host){.offline = true}, err, sizeof err);
	assert_non_null(c);
	assert_true(plugin_state_restore(c, st, NULL, err, sizeof err));
	plugin_run(c, io, 64);
	plugin_worker_counts(c, &works, &responses);
	assert_int_equal(works, 1);
	assert_int_equal(responses, 0); /* "click.wav" relative to nothing: not loaded */
	plugin_free(c);
	printf("mapPath: the sample saved as \"click.wav\" inside %s, found again there\n", SAMPLER_DIR);
	free(st);
}

/* s with the first `from` replaced by `to`, malloc'd */
static char *replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	assert_non_null(at);
	size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
	char *out = malloc(n);
	assert_non_null(out);
	snprintf(out, n, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
	return out;
}

/* eg-params: parameters set through a state, saved, restored into a new instance, saved again: the same text */
static void test_state_round_trip(void **state)
{
	(void)state;
	if (!plugins_find(PARAMS))
		skip();
	char err[600] = "";
	struct md_plugin *a = plugin_new(PARAMS, 48000, 2, 64, false, NULL, 0, err, sizeof err);
	assert_non_null(a);
	char *s0 = plugin_state_save(a, NULL);
	assert_non_null(s0);
	assert_non_null(strstr(s0, "lv2:appliesTo <" PARAMS ">"));
	char *t1 = replace(s0, "#int> \"0\"^^xsd:int", "#int> \"7\"^^xsd:int");
	char *t2 = replace(t1, "\"Hello, world\"", "\"mixdesk\"");
	assert_true(plugin_state_restore(a, t2, NULL, err, sizeof err));
	float l[64] = {0}, r[64] = {0};
	float *const io[2] = {l, r};
	plugin_run(a, io, 64);
	char *s1 = plugin_state_save(a, NULL);
	assert_non_null(s1);
	assert_non_null(strstr(s1, "#int> \"7\"^^xsd:int"));
	assert_non_null(strstr(s1, "\"mixdesk\""));
	assert_string_not_equal(s0, s1);
	plugin_free(a);

	struct md_plugin *b = plugin_new(PARAMS, 48000, 2, 64, false, NULL, 0, err, sizeof err);
	assert_non_null(b);
	char *sb = plugin_state_save(b, NULL);
	assert_string_equal(sb, s0); /* a new instance starts at the default state */
	assert_true(plugin_state_restore(b, s1, NULL, err, sizeof err));
	plugin_run(b, io, 64);
	char *s2 = plugin_state_save(b, NULL);
	assert_non_null(s2);
	assert_string_equal(s1, s2);
	printf("eg-params: int 7 and string \"mixdesk\" restored, saved, restored into a new instance and saved "
	       "again: the same %zu bytes of Turtle\n",
	       strlen(s2));

	/* what is refused, and why */
	assert_false(plugin_state_restore(b, "this is not turtle", NULL, err, sizeof err));
	printf("refused: %s\n", err);
	assert_non_null(strstr(err, "is not LV2 state in Turtle"));
	char *other = replace(s1, "<" PARAMS ">", "<" SAMPLER ">");
	assert_false(plugin_state_restore(b, other, NULL, err, sizeof err));
	printf("refused: %s\n", err);
	assert_non_null(strstr(err, "the state applies to <" SAMPLER ">, another plugin"));
	struct md_plugin *amp = plugin_new("http://plugin.org.uk/swh-plugins/amp", 48000, 1, 64, false, NULL, 0, err,
					   sizeof err);
	assert_non_null(amp);
	assert_null(plugin_state_save(amp, NULL)); /* no state:interface */
	assert_false(plugin_state_restore(amp, s1, NULL, err, sizeof err));
	assert_non_null(strstr(err, "has no state:interface"));
	plugin_free(amp);
	plugin_free(b);
	free(s0);
	free(t1);
	free(t2);
	free(s1);
	free(sb);
	free(s2);
	free(other);
}

/* an insert slot whose session state is {"lv2": "<turtle>"} gets it restored in insert_new; any other state
 * is not given to the plugin; a state that does not restore leaves the plugin at its defaults, err saying so */
static void test_insert_state(void **state)
{
	(void)state;
	if (!plugins_find(PARAMS))
		skip();
	char err[600] = "";
	struct md_plugin *a = plugin_new(PARAMS, 48000, 2, 64, false, NULL, 0, err, sizeof err);
	assert_non_null(a);
	char *s0 = plugin_state_save(a, NULL);
	plugin_free(a);
	char *t = replace(s0, "#int> \"0\"^^xsd:int", "#int> \"5\"^^xsd:int");
	json_object *o = json_object_new_object();
	json_object_object_add(o, "lv2", json_object_new_string(t));
	struct md_insert m = {.uri = (char *)PARAMS, .uid = 1};
	m.state = (char *)json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	struct md_insert_rt *r = insert_new(&m, 48000, 2, false, false, NULL, err, sizeof err);
	assert_non_null(r);
	assert_non_null(r->pl);
	assert_string_equal(err, "");
	char *got = plugin_state_save(r->pl, NULL);
	assert_non_null(strstr(got, "#int> \"5\"^^xsd:int"));
	free(got);
	insert_unref(r);
	json_object_put(o);

	/* not {"lv2": ...}: kept by the model, not given */
	m.state = (char *)"{\"vendor\":{\"int\":9}}";
	r = insert_new(&m, 48000, 2, false, false, NULL, err, sizeof err);
	assert_non_null(r->pl);
	assert_string_equal(err, "");
	got = plugin_state_save(r->pl, NULL);
	assert_string_equal(got, s0);
	free(got);
	insert_unref(r);

	/* {"lv2": ...} that is not a state: the plugin at its defaults, err set */
	m.state = (char *)"{\"lv2\":\"nonsense\"}";
	r = insert_new(&m, 48000, 2, false, true, NULL, err, sizeof err);
	assert_non_null(r->pl);
	printf("insert with a bad lv2 state: %s\n", err);
	assert_non_null(strstr(err, "is not LV2 state in Turtle"));
	insert_unref(r);
	printf("insert_new: {\"lv2\": turtle} restored (int 5), other state left to the model\n");
	free(s0);
	free(t);
}

/* plugin_run with the live worker answering (the response delivered, the next request scheduled, on this
 * thread) neither allocates nor locks */
static void test_run_noalloc(void **state)
{
	(void)state;
	if (!WRAP || !plugins_find(SAMPLER))
		skip();
	char err[600] = "";
	struct md_plugin *a = plugin_new(SAMPLER, 48000, 1, 64, false, NULL, 0, err, sizeof err);
	assert_non_null(a);
	char *st = plugin_state_save(a, NULL);
	plugin_free(a);
	struct md_plugin *p = plugin_new(SAMPLER, 48000, 2, 64, false, NULL, 0, err, sizeof err);
	assert_non_null(p);
	assert_true(plugin_state_restore(p, st, NULL, err, sizeof err));
	free(st);
	/* the counting works: one malloc and one free while armed */
	armed = 1;
	void *volatile probe = malloc(16);
	free(probe);
	armed = 0;
	assert_int_equal(atomic_load(&bad_calls), 2);
	float l[64] = {0}, r[64] = {0};
	float *const io[2] = {l, r};
	unsigned responses = 0;
	int blocks = 0;
	atomic_store(&bad_calls, 0);
	for (double t0 = now(); responses < 1 && now() - t0 < 2.0; blocks++) {
		armed = 1;
		plugin_run(p, io, 64);
		armed = 0;
		plugin_worker_counts(p, NULL, &responses);
		usleep(500);
	}
	for (int b = 0; b < 200; b++, blocks++) {
		armed = 1;
		plugin_run(p, io, b % 3 ? 64 : 5);
		armed = 0;
	}
	assert_int_equal(responses, 1);
	printf("plugin_run, live worker: %d blocks, the response among them: %d allocations or locks\n", blocks,
	       atomic_load(&bad_calls));
	assert_int_equal(atomic_load(&bad_calls), 0);
	plugin_free(p);
}

/* A save captures a running plugin's state: eg-sampler in a strip's slot, the console snapshot for a save
 * holds {"lv2": turtle} naming its sample, the session text keeps it, and a console loaded from that text
 * builds the slot again without an insert error. */
static void test_state_saved_with_session(void **state)
{
	(void)state;
	struct rig *r = malloc(sizeof *r);
	rig_init(r, 48000);
	mixer_set_allow_non_rt(r->m, true);
	assert_int_equal(mixer_add_strip(r->m, "Keys", true, NULL), MD_OK);
	rig_map(r);
	char err[600] = "";
	if (mixer_insert_load(r->m, MD_SCOPE_STRIP, 0, 0, SAMPLER, err, sizeof err) != MD_OK)
		fail_msg("load: %s", err);
	rig_settle(r);
	const struct md_console *c = mixer_snapshot(r->m);
	const char *st = c->strips[0]->inserts[0].state;
	printf("the slot's state after a snapshot: %.90s...\n", st ? st : "(none)");
	assert_non_null(st);
	assert_non_null(strstr(st, "{\"lv2\":"));
	assert_non_null(strstr(st, "click.wav"));
	char *text = NULL;
	assert_int_equal(session_serialize(c, NULL, "/tmp/mdstate.json", &text, err, sizeof err), MD_OK);
	struct md_console *d = NULL;
	if (session_parse(text, "/tmp/mdstate.json", &d, err, sizeof err) != MD_OK)
		fail_msg("parse: %s", err);
	assert_string_equal(d->strips[0]->inserts[0].state, st);
	struct rig *r2 = malloc(sizeof *r2);
	rig_init(r2, 48000);
	mixer_set_allow_non_rt(r2->m, true);
	assert_int_equal(mixer_replace(r2->m, d), MD_OK);
	rig_map(r2);
	rig_settle(r2);
	unsigned serial;
	const char *ie = engine_insert_error(mixer_engine(r2->m), &serial);
	printf("loaded again: insert error %s\n", ie ? ie : "none");
	assert_null(ie);
	bool running = false;
	engine_insert_latency(mixer_engine(r2->m), MD_SCOPE_STRIP, 0, 0, &running);
	assert_true(running);
	free(text);
	rig_free(r2);
	free(r2);
	rig_free(r);
	free(r);
}

int main(void)
{
	/* the Debian plugins and the made-up test bundles beside this file (LV2_PATH replaces the default path) */
	const char *top = getenv("MIXDESK_TOP");
	char path[2048];
	snprintf(path, sizeof path, "%s/tests/lv2:/usr/lib/lv2:/usr/local/lib/lv2:/usr/lib/x86_64-linux-gnu/lv2",
		 top ? top : ".");
	setenv("LV2_PATH", path, 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_atom_plugins),
		cmocka_unit_test(test_cv_refused),
		cmocka_unit_test(test_sampler_silent),
		cmocka_unit_test(test_worker_round_trip),
		cmocka_unit_test(test_map_path),
		cmocka_unit_test(test_state_round_trip),
		cmocka_unit_test(test_insert_state),
		cmocka_unit_test(test_run_noalloc),
		cmocka_unit_test(test_state_saved_with_session),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
