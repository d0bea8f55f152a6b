/* mixdesk tests: the audio path never allocates, frees or locks. The allocator and pthread_mutex_lock are
 * wrapped; while the flag is up (around engine_run only, on this thread) any call is counted. The engine is
 * driven through parameter changes, a graph swap with crossfade and retirement, and every DSP unit on. */
#include "engine_helpers.h"
#include "noalloc_wrap.h"
#include "engine/plugin.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

/* WRAP 0 under ASan, which owns malloc: the count goes through its hooks instead (allocations only) */
#if !WRAP
/* libasan's allocator hooks (sanitizer/allocator_interface.h, not shipped with GCC's headers) */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
					      void (*free_hook)(const volatile void *));

static void asan_malloc_hook(const volatile void *p, size_t n)
{
	(void)p;
	(void)n;
	if (armed)
		atomic_fetch_add(&bad_calls, 1);
}

static void asan_free_hook(const volatile void *p)
{
	if (armed && p)
		atomic_fetch_add(&bad_calls, 1);
}
#endif


static void run_armed(struct rig *r, uint32_t n)
{
	mixer_tick(r->m); /* control side: may allocate */
	armed = 1;
	engine_run(mixer_engine(r->m), r->bufs, n);
	armed = 0;
}

static void test_wrappers_count(void **state)
{
	(void)state;
#if !WRAP
	__sanitizer_install_malloc_and_free_hooks(asan_malloc_hook, asan_free_hook);
	armed = 1;
	void *volatile q = malloc(16);
	armed = 0;
	free(q);
	assert_int_equal(atomic_exchange(&bad_calls, 0), 1); /* the hook itself works */
	return;
#endif
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&mu); /* resolve the real function before arming */
	pthread_mutex_unlock(&mu);
	armed = 1;
	void *volatile p = malloc(16);
	pthread_mutex_lock(&mu);
	armed = 0;
	pthread_mutex_unlock(&mu);
	free(p);
	assert_int_equal(atomic_exchange(&bad_calls, 0), 2); /* the wrappers themselves work */
}

static void test_audio_path_allocates_nothing(void **state)
{
	(void)state;
#if !WRAP
	__sanitizer_install_malloc_and_free_hooks(asan_malloc_hook, asan_free_hook);
#endif
	struct rig *r = malloc(sizeof *r);
	rig_init(r, 48000);
	for (int i = 0; i < 8; i++) {
		char name[16];
		snprintf(name, sizeof name, "S%d", i);
		mixer_add_strip(r->m, name, i % 2, NULL);
	}
	mixer_add_bus(r->m, "Verb", NULL);
	mixer_add_bus(r->m, "Delay", NULL);
	rig_map(r);
	/* every unit on: the buses' reverb and delay, the strips' drive */
	mixer_set(r->m, MD_SCOPE_BUS, 0, MD_BP_FX_TYPE, MD_FX_REVERB, NULL, NULL);
	mixer_set(r->m, MD_SCOPE_BUS, 1, MD_BP_FX_TYPE, MD_FX_DELAY, NULL, NULL);
	mixer_set(r->m, MD_SCOPE_BUS, 1, MD_BP_FX_FEEDBACK, 80.0f, NULL, NULL);
	for (int i = 0; i < 8; i++) {
		static const int on[] = {MD_SP_HPF_ON,  MD_SP_LPF_ON,  MD_SP_EQ_ON,
					 MD_SP_COMP_ON, MD_SP_GATE_ON, MD_SP_DRIVE_ON};
		for (size_t k = 0; k < sizeof on / sizeof on[0]; k++)
			mixer_set(r->m, MD_SCOPE_STRIP, i, on[k], 1.0f, NULL, NULL);
		mixer_set(r->m, MD_SCOPE_STRIP, i, MD_SP_SEND(0, MD_SEND_LEVEL), -10.0f, NULL, NULL);
		mixer_set(r->m, MD_SCOPE_STRIP, i, MD_SP_SEND(1, MD_SEND_PRE), 1.0f, NULL, NULL);
		mixer_set(r->m, MD_SCOPE_STRIP, i, MD_SP_SEND(1, MD_SEND_LEVEL), -3.0f, NULL, NULL);
	}
	atomic_store(&bad_calls, 0);
	for (int k = 0; k < 200; k++) {
		for (int s = 0; s < 8; s++)
			for (int c = 0; c < (mixer_console(r->m)->strips[s]->stereo ? 2 : 1); c++) {
				float *in = rig_in(r, s, c);
				for (int i = 0; i < 256; i++)
					in[i] = 0.3f * sinf((float)(k * 256 + i) * 0.05f * (float)(s + 1));
			}
		/* parameter sweeps while running */
		mixer_set(r->m, MD_SCOPE_STRIP, k % 8, MD_SP_FADER, -(float)(k % 40), NULL, NULL);
		mixer_set(r->m, MD_SCOPE_STRIP, k % 8, MD_SP_EQ(k % 4, MD_EQ_FREQ), 100.0f + 50.0f * (float)k, NULL,
			  NULL);
		mixer_set(r->m, MD_SCOPE_STRIP, k % 8, MD_SP_EQ(k % 4, MD_EQ_GAIN), (float)(k % 25) - 12.0f, NULL,
			  NULL);
		mixer_set(r->m, MD_SCOPE_STRIP, k % 8, MD_SP_SOLO, (float)(k % 3 == 0), NULL, NULL);
		mixer_set(r->m, MD_SCOPE_MASTER, 0, MD_MP_MONO, (float)(k % 2), NULL, NULL);
		/* the effects' parameters move, their times glide, the drive's character changes */
		mixer_set(r->m, MD_SCOPE_BUS, 0, MD_BP_FX_DECAY, 0.2f + 0.05f * (float)k, NULL, NULL);
		mixer_set(r->m, MD_SCOPE_BUS, 0, MD_BP_FX_SIZE, 0.5f + (float)(k % 7) * 0.25f, NULL, NULL);
		mixer_set(r->m, MD_SCOPE_BUS, 0, MD_BP_FX_PREDELAY, (float)(k % 11) * 25.0f, NULL, NULL);
		mixer_set(r->m, MD_SCOPE_BUS, 1, MD_BP_FX_TIME_L, 1.0f + (float)(k % 9) * 250.0f, NULL, NULL);
		mixer_set(r->m, MD_SCOPE_BUS, 1, MD_BP_FX_SYNC, (float)(k % MD_SYNC_COUNT), NULL, NULL);
		mixer_set(r->m, MD_SCOPE_MASTER, 0, MD_MP_TEMPO, 60.0f + (float)k, NULL, NULL);
		mixer_set(r->m, MD_SCOPE_STRIP, k % 8, MD_SP_DRIVE_CHARACTER, (float)(k % MD_DRIVE_CHAR_COUNT), NULL,
			  NULL);
		mixer_set(r->m, MD_SCOPE_STRIP, k % 8, MD_SP_DRIVE_AMOUNT, (float)(k % 25), NULL, NULL);
		/* type changes: a new graph with a new effect, crossfaded from the old one */
		if (k == 80)
			mixer_set(r->m, MD_SCOPE_BUS, 0, MD_BP_FX_TYPE, MD_FX_DELAY, NULL, NULL);
		if (k == 100)
			mixer_set(r->m, MD_SCOPE_BUS, 0, MD_BP_FX_TYPE, MD_FX_REVERB, NULL, NULL);
		if (k == 170)
			mixer_set(r->m, MD_SCOPE_BUS, 1, MD_BP_FX_TYPE, MD_FX_NONE, NULL, NULL);
		if (k == 50 || k == 120) { /* graph swaps: install, crossfade, retire, all on the audio side */
			mixer_add_strip(r->m, k == 50 ? "Late" : "Later", false, NULL);
			rig_map(r);
		}
		if (k == 150)
			mixer_remove_strip(r->m, 0);
		run_armed(r, 256);
	}
	assert_int_equal(atomic_load(&bad_calls), 0);
	rig_free(r);
	free(r);
}

/* The same with LV2 plugin inserts (swh-lv2: amp, delay_n, GVerb; their run() allocates nothing either, so
 * any call counted is mixdesk's): parameters moving and gliding, bypass crossfading, a plugin loaded,
 * replaced and removed (graph swaps whose instances are made and freed on the control side). */
static void test_audio_path_with_plugins_allocates_nothing(void **state)
{
	(void)state;
#if !WRAP
	__sanitizer_install_malloc_and_free_hooks(asan_malloc_hook, asan_free_hook);
#endif
	static const char amp[] = "http://plugin.org.uk/swh-plugins/amp",
			  dly[] = "http://plugin.org.uk/swh-plugins/delay_n",
			  verb[] = "http://plugin.org.uk/swh-plugins/gverb";
	struct rig *r = malloc(sizeof *r);
	rig_init(r, 48000);
	for (int i = 0; i < 4; i++) {
		char name[16];
		snprintf(name, sizeof name, "S%d", i);
		mixer_add_strip(r->m, name, i % 2, NULL);
	}
	mixer_add_bus(r->m, "Verb", NULL);
	rig_map(r);
	char err[600];
	for (int i = 0; i < 4; i++) {
		assert_int_equal(mixer_insert_load(r->m, MD_SCOPE_STRIP, i, 0, amp, err, sizeof err), MD_OK);
		assert_int_equal(mixer_insert_load(r->m, MD_SCOPE_STRIP, i, 1, dly, err, sizeof err), MD_OK);
		mixer_set(r->m, MD_SCOPE_STRIP, i, MD_SP_SEND(0, MD_SEND_LEVEL), -6.0f, NULL, NULL);
		mixer_set(r->m, MD_SCOPE_STRIP, i, MD_SP_COMP_ON, 1.0f, NULL, NULL);
	}
	assert_int_equal(mixer_insert_load(r->m, MD_SCOPE_BUS, 0, 0, verb, err, sizeof err), MD_OK);
	assert_int_equal(mixer_insert_load(r->m, MD_SCOPE_MASTER, 0, 7, amp, err, sizeof err), MD_OK);
	for (int k = 0; k < 20; k++) /* settle: every graph swapped in, the old ones retired */
		rig_run(r, 256);
	atomic_store(&bad_calls, 0);
	for (int k = 0; k < 200; k++) {
		for (int s = 0; s < 4; s++)
			for (int c = 0; c < (mixer_console(r->m)->strips[s]->stereo ? 2 : 1); c++) {
				float *in = rig_in(r, s, c);
				for (int i = 0; i < 256; i++)
					in[i] = 0.3f * sinf((float)(k * 256 + i) * 0.05f * (float)(s + 1));
			}
		mixer_insert_set(r->m, MD_SCOPE_STRIP, k % 4, 0, "gain", (float)(k % 24) - 12.0f, NULL);
		mixer_insert_set(r->m, MD_SCOPE_STRIP, k % 4, 1, "delay_time", 0.001f * (float)(k % 50), NULL);
		mixer_insert_set(r->m, MD_SCOPE_BUS, 0, 0, "roomsize", 10.0f + (float)(k % 100), NULL);
		mixer_insert_set(r->m, MD_SCOPE_BUS, 0, 0, "revtime", 0.5f + 0.05f * (float)k, NULL);
		mixer_insert_set(r->m, MD_SCOPE_MASTER, 0, 7, "gain", -(float)(k % 6), NULL);
		mixer_insert_bypass(r->m, MD_SCOPE_STRIP, k % 4, 0, k % 3 == 0);
		if (k == 60) /* a plugin loaded into a free slot: a new graph with a new instance */
			mixer_insert_load(r->m, MD_SCOPE_STRIP, 2, 5, amp, err, sizeof err);
		if (k == 110) /* replaced */
			mixer_insert_load(r->m, MD_SCOPE_STRIP, 2, 5, dly, err, sizeof err);
		if (k == 160) /* removed */
			mixer_insert_load(r->m, MD_SCOPE_BUS, 0, 0, NULL, err, sizeof err);
		run_armed(r, 256);
	}
	printf("200 periods with 10 plugin instances, parameters, bypass and 3 slot changes: %d allocation or "
	       "lock calls on the audio path\n",
	       atomic_load(&bad_calls));
	assert_int_equal(atomic_load(&bad_calls), 0);
	rig_free(r);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrappers_count),
		cmocka_unit_test(test_audio_path_allocates_nothing),
		cmocka_unit_test(test_audio_path_with_plugins_allocates_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
