/* mixdesk tests: LV2 hosting through lilv (engine/plugin.c) with real plugins from Debian (swh-lv2, mda-lv2,
 * lv2-examples): discovery, the channel rule, the feature check, the real-time rule, parameters and
 * processing. */
#include "engine/plugin.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AMP "http://plugin.org.uk/swh-plugins/amp"
#define SAMPLER "http://lv2plug.in/plugins/eg-sampler"
#define NEEDS "urn:mixdesk:test:needs-feature"

static void test_discovery(void **state)
{
	(void)state;
	int n = plugins_count();
	assert_true(n > 100); /* swh-lv2 alone has over 80, mda-lv2 over 30 */
	for (int i = 1; i < n; i++)
		assert_true(strcmp(plugins_info(i - 1)->uri, plugins_info(i)->uri) < 0);
	const struct md_plugin_info *a = plugins_find(AMP);
	assert_non_null(a);
	assert_int_equal(a->audio_in, 1);
	assert_int_equal(a->audio_out, 1);
	assert_true(a->rt); /* swh-lv2 spells it lv2:hardRtCapable: taken as meant */
	assert_null(plugins_find("http://example.org/not-installed"));
}

/* amp at gain g dB on a path of nch channels halves/doubles every channel exactly as the dB say */
static void run_amp(int nch, float gain_db)
{
	char err[512] = "";
	struct md_plugin *p = plugin_new(AMP, 48000, nch, 64, false, NULL, 0, err, sizeof err);
	assert_non_null(p);
	int g = plugin_param_find(p, "gain");
	assert_true(g >= 0);
	assert_float_equal(plugin_set(p, g, gain_db), gain_db, 0.0f);
	float l[64], r[64];
	for (int i = 0; i < 64; i++) {
		l[i] = sinf(0.1f * (float)i);
		r[i] = 0.5f * cosf(0.07f * (float)i);
	}
	float l0[64], r0[64];
	memcpy(l0, l, sizeof l);
	memcpy(r0, r, sizeof r);
	float *const io[2] = {l, r};
	plugin_run(p, io, 64);
	const float k = powf(10.0f, gain_db / 20.0f);
	for (int i = 0; i < 64; i++) {
		assert_float_equal(l[i], l0[i] * k, 1e-5f);
		assert_float_equal(r[i], nch == 2 ? r0[i] * k : r0[i], 1e-5f); /* mono: the right is not touched */
	}
	plugin_free(p);
}

static void test_amp_mono_and_stereo(void **state)
{
	(void)state;
	run_amp(1, -6.0f);
	run_amp(2, -6.0f); /* one instance per side */
	run_amp(2, 3.0f);
}

static void test_params_clamped(void **state)
{
	(void)state;
	char err[512];
	struct md_plugin *p = plugin_new(AMP, 44100, 1, 64, false, NULL, 0, err, sizeof err);
	assert_non_null(p);
	int g = plugin_param_find(p, "gain");
	const struct md_plugin_param *q = plugin_param(p, g);
	assert_string_equal(q->symbol, "gain");
	assert_true(q->min < q->def && q->def < q->max);
	assert_float_equal(plugin_get(p, g), q->def, 0.0f);
	assert_float_equal(plugin_set(p, g, 1e9f), q->max, 0.0f);
	assert_float_equal(plugin_set(p, g, -1e9f), q->min, 0.0f);
	assert_float_equal(plugin_set(p, g, NAN), q->min, 0.0f); /* NaN ignored */
	assert_int_equal(plugin_param_find(p, "nope"), -1);
	plugin_free(p);
}

static void test_refusals(void **state)
{
	(void)state;
	char err[512];
	assert_null(plugin_new("http://example.org/not-installed", 48000, 2, 64, false, NULL, 0, err, sizeof err));
	assert_non_null(strstr(err, "<http://example.org/not-installed> is not installed"));
	/* a made-up bundle (tests/lv2/) whose plugin requires a feature nobody provides: refused before it is
	 * instantiated (it has no binary), the feature named */
	assert_non_null(plugins_find(NEEDS));
	assert_null(plugin_new(NEEDS, 48000, 1, 64, true, NULL, 0, err, sizeof err));
	printf("made-up plugin: %s\n", err);
	assert_non_null(strstr(err, "requires the feature <urn:mixdesk:test:made-up-feature>"));
	assert_false(plugins_check(NEEDS, 1, true, err, sizeof err));
	assert_non_null(strstr(err, "<urn:mixdesk:test:made-up-feature>"));
	/* the sampler's features (worker, default state) and atom ports are served now: it is accepted (its
	 * worker and state are tests/test_plugin_ext.c's) */
	if (plugins_find(SAMPLER))
		assert_true(plugins_check(SAMPLER, 2, true, err, sizeof err));
	/* a stereo plugin on a mono path: refused, saying what fits */
	int stereo = -1, nonrt = -1;
	for (int i = 0; i < plugins_count(); i++) {
		const struct md_plugin_info *in = plugins_info(i);
		if (stereo < 0 && in->audio_in == 2 && in->audio_out == 2)
			stereo = i;
		if (nonrt < 0 && !in->rt && in->audio_in == 1 && in->audio_out == 1)
			nonrt = i;
	}
	assert_true(stereo >= 0);
	assert_null(plugin_new(plugins_info(stereo)->uri, 48000, 1, 64, true, NULL, 0, err, sizeof err));
	assert_non_null(strstr(err, "has 2 audio input(s) and 2 output(s); a mono path takes one with 1 in and 1 out"));
	if (nonrt >= 0) {
		assert_null(plugin_new(plugins_info(nonrt)->uri, 48000, 1, 64, false, NULL, 0, err, sizeof err));
		assert_non_null(strstr(err, "does not declare lv2:hardRTCapable"));
	}
}

/* every installed plugin that fits a stereo path instantiates, runs a few blocks of noise with finite output
 * (or is silenced), and frees; or is refused with a message */
static void test_every_plugin(void **state)
{
	(void)state;
#ifdef __SANITIZE_ADDRESS__
	/* under ASan, Debian's hermes_filter-swh frees a pointer it did not allocate (a bug of the plugin, found
	 * by this test): the sanitizer aborts the program, so the sweep runs in the normal build only */
	skip();
#endif
	int ran = 0, refused = 0;
	uint32_t seed = 1;
	for (int i = 0; i < plugins_count(); i++) {
		const struct md_plugin_info *in = plugins_info(i);
		char err[512] = "";
		struct md_plugin *p = plugin_new(in->uri, 48000, 2, 64, true, NULL, 0, err, sizeof err);
		if (!p) {
			assert_true(strlen(err) > 10);
			refused++;
			continue;
		}
		float l[64], r[64];
		float *const io[2] = {l, r};
		for (int b = 0; b < 20; b++) {
			for (int k = 0; k < 64; k++) {
				seed = seed * 1664525u + 1013904223u;
				l[k] = r[k] = (float)(seed >> 8) / 16777216.0f - 0.5f;
			}
			plugin_run(p, io, b % 3 == 0 ? 17 : 64);
			for (int k = 0; k < 64; k++)
				assert_true(isfinite(l[k]) && isfinite(r[k]));
		}
		plugin_free(p);
		ran++;
	}
	fprintf(stderr, "plugins: %d ran on a stereo path, %d refused with a message\n", ran, refused);
	assert_true(ran > 50);
}

int main(void)
{
	/* the Debian plugins and the made-up test bundle beside this file (LV2_PATH replaces the default path) */
	const char *top = getenv("MIXDESK_TOP");
	char path[2048];
	snprintf(path, sizeof path, "%s/tests/lv2:/usr/lib/lv2:/usr/local/lib/lv2:/usr/lib/x86_64-linux-gnu/lv2",
		 top ? top : ".");
	setenv("LV2_PATH", path, 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_discovery),      cmocka_unit_test(test_amp_mono_and_stereo),
		cmocka_unit_test(test_params_clamped), cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_every_plugin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
