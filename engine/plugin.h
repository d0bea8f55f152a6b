/* mixdesk: LV2 plugin hosting through lilv: the installed plugins (lilv_world_load_all, LV2_PATH honoured),
 * their description, and running instances for one insert point of a mono or stereo path.
 *
 * The first step of the plugin issue: discovery, the feature check, instantiation with the host features
 * (urid:map/unmap, options, bufsz:boundedBlockLength, log), parameters by port symbol, and processing in
 * place. Not yet here: worker:schedule and state (a plugin that requires them is refused, naming the
 * feature), latency reporting, and the insert slots of the graph.
 *
 * The channel rule, as Ardour's: a plugin with as many main audio inputs and outputs as the path has
 * channels runs one instance; a mono (1 in, 1 out) plugin on a stereo path runs one instance per side; any
 * other count is refused with a message saying what it has and what the path needs. Side-chain inputs
 * (lv2:isSideChain) are fed silence and not counted. */
#ifndef MD_PLUGIN_H
#define MD_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct md_plugin_info {
	const char *uri, *name;
	int audio_in, audio_out; /* main audio ports (side-chains not counted) */
	bool rt;                 /* declares lv2:hardRTCapable */
};

/* A control input port: one parameter of a plugin. */
struct md_plugin_param {
	const char *symbol, *name;
	uint32_t port; /* the LV2 port index */
	float min, max, def;
	bool toggle, integer, enumeration;
};

struct md_plugin;

/* The installed plugins, loaded once per process on first use (thread-safe); how many, and one of them by
 * index (sorted by URI). The descriptions live until the process ends. [control] */
int plugins_count(void);
const struct md_plugin_info *plugins_info(int i);
/* A plugin by URI, or NULL when it is not installed. [control] */
const struct md_plugin_info *plugins_find(const char *uri);

/* An instance of the plugin `uri` for a path of nch (1 or 2) channels at `rate` Hz, processing at most
 * max_block frames a call, its control ports at their defaults, activated. NULL with err set ("what, where,
 * what was expected": not installed, a required feature missing (named), a channel count that does not
 * fit, not real-time capable while allow_non_rt is false, instantiation failed). [control] */
struct md_plugin *plugin_new(const char *uri, uint32_t rate, int nch, uint32_t max_block, bool allow_non_rt, char *err,
			     size_t errlen);
/* Deactivate and free. [control] */
void plugin_free(struct md_plugin *p);

/* The plugin's parameters (its control input ports, in port order). [any] */
int plugin_param_count(const struct md_plugin *p);
const struct md_plugin_param *plugin_param(const struct md_plugin *p, int i);
/* A parameter's index by symbol, or -1. [any] */
int plugin_param_find(const struct md_plugin *p, const char *symbol);
/* Set parameter i, clamped to its range (toggles to 0/1, integers and enumerations rounded); returns the value
 * stored. The plugin sees it at its next run. [rt] */
float plugin_set(struct md_plugin *p, int i, float v);
float plugin_get(const struct md_plugin *p, int i); /* [any] */

/* Process n frames (n <= max_block) of the path's channels in place. A non-finite output is silenced. Never
 * allocates or locks (as far as the plugin, which declared hardRTCapable, keeps its word). [rt] */
void plugin_run(struct md_plugin *p, float *const io[2], uint32_t n);

#endif
