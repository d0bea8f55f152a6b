/* mixdesk benchmark: the host's overhead per LV2 plugin instance. 32 mono strips at 48 kHz in 256-frame
 * periods, three ways on the same input: the console without inserts, the console with swh amp (a trivial
 * plugin: one multiply per sample) in one insert slot of every strip, and the peer: the same 32 amp instances
 * run directly through lilv (lilv_instance_run on the same buffers, as a bare host such as jalv calls it).
 * The host's overhead per instance and period is (console with amp - console without - bare lilv) / 32: what
 * mixdesk adds around run() (copies, the bypass crossfade test, parameter glides, the non-finite guard). */
#include "tests/engine_helpers.h"
#include "engine/plugin.h"

#include <lilv/lilv.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define STRIPS 32
#define RATE 48000
#define PERIOD 256
#define SECONDS 20
#define AMP "http://plugin.org.uk/swh-plugins/amp"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void fill(struct rig *r, int k)
{
	for (int s = 0; s < STRIPS; s++) {
		float *in = rig_in(r, s, 0);
		for (int i = 0; i < PERIOD; i++)
			in[i] = 0.25f * sinf((float)(k * PERIOD + i) * 0.01f * (float)(s + 1));
	}
}

/* seconds of engine_run for SECONDS of audio, with or without amp on every strip */
static double console(bool with_amp)
{
	struct rig *r = malloc(sizeof *r);
	rig_init(r, RATE);
	char err[600];
	for (int s = 0; s < STRIPS; s++) {
		char name[16];
		snprintf(name, sizeof name, "S%d", s);
		mixer_add_strip(r->m, name, false, NULL);
	}
	rig_map(r);
	for (int s = 0; with_amp && s < STRIPS; s++)
		if (mixer_insert_load(r->m, MD_SCOPE_STRIP, s, 0, AMP, err, sizeof err) != MD_OK) {
			fprintf(stderr, "bench_plugins: %s\n", err);
			exit(1);
		}
	for (int k = 0; k < 50; k++)
		rig_run(r, PERIOD);
	const int periods = SECONDS * RATE / PERIOD;
	double t = 0;
	for (int k = 0; k < periods; k++) {
		fill(r, k);
		mixer_tick(r->m);
		double t0 = now();
		engine_run(mixer_engine(r->m), r->bufs, PERIOD);
		t += now() - t0;
	}
	rig_free(r);
	free(r);
	return t;
}

/* seconds of lilv_instance_run for the same work: STRIPS amp instances on PERIOD-frame buffers */
static double bare_lilv(void)
{
	LilvWorld *w = lilv_world_new();
	lilv_world_load_all(w);
	LilvNode *uri = lilv_new_uri(w, AMP);
	const LilvPlugin *p = lilv_plugins_get_by_uri(lilv_world_get_all_plugins(w), uri);
	if (!p) {
		fprintf(stderr, "bench_plugins: %s is not installed\n", AMP);
		exit(1);
	}
	LilvInstance *in[STRIPS];
	static float bufin[STRIPS][PERIOD], bufout[STRIPS][PERIOD];
	float gain = 0.0f, dummy = 0.0f;
	uint32_t np = lilv_plugin_get_num_ports(p);
	for (int s = 0; s < STRIPS; s++) {
		in[s] = lilv_plugin_instantiate(p, RATE, NULL);
		for (uint32_t i = 0; i < np; i++) {
			const LilvPort *port = lilv_plugin_get_port_by_index(p, i);
			const char *sym = lilv_node_as_string(lilv_port_get_symbol(p, port));
			lilv_instance_connect_port(in[s], i,
						   !strcmp(sym, "gain")  ? (void *)&gain
						   : !strcmp(sym, "input") ? (void *)bufin[s]
						   : !strcmp(sym, "output") ? (void *)bufout[s]
									 : (void *)&dummy);
		}
		lilv_instance_activate(in[s]);
	}
	const int periods = SECONDS * RATE / PERIOD;
	double t = 0;
	for (int k = 0; k < periods; k++) {
		for (int s = 0; s < STRIPS; s++)
			for (int i = 0; i < PERIOD; i++)
				bufin[s][i] = 0.25f * sinf((float)(k * PERIOD + i) * 0.01f * (float)(s + 1));
		double t0 = now();
		for (int s = 0; s < STRIPS; s++)
			lilv_instance_run(in[s], PERIOD);
		t += now() - t0;
	}
	for (int s = 0; s < STRIPS; s++) {
		lilv_instance_deactivate(in[s]);
		lilv_instance_free(in[s]);
	}
	lilv_node_free(uri);
	lilv_world_free(w);
	return t;
}

int main(void)
{
	const double periods = (double)SECONDS * RATE / PERIOD;
	printf("bench_plugins: %d mono strips, %d s at %d Hz in %d-frame periods; swh amp (one multiply per "
	       "sample)\n",
	       STRIPS, SECONDS, RATE, PERIOD);
	for (int rep = 0; rep < 2; rep++) {
		double without = console(false), with = console(true), bare = bare_lilv();
		double overhead = (with - without - bare) / periods / STRIPS * 1e9;
		printf("run %d: console without inserts %.1f us/period, with amp on every strip %.1f us/period, "
		       "bare lilv (the peer) %.1f us/period for the %d instances; mixdesk's overhead %.0f ns per "
		       "instance and period (%.2f x the bare run() itself, %.3f %% of a %d-frame period)\n",
		       rep + 1, without / periods * 1e6, with / periods * 1e6, bare / periods * 1e6, STRIPS, overhead,
		       overhead / (bare / periods / STRIPS * 1e9), 100.0 * overhead * 1e-9 / ((double)PERIOD / RATE),
		       PERIOD);
	}
	return 0;
}
