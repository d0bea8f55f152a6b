/* mixdesk: LV2 plugin hosting through lilv: the installed plugins (lilv_world_load_all, LV2_PATH honoured),
 * their description, and running instances for one insert point of a mono or stereo path.
 *
 * Discovery, the feature check, instantiation with the host features (urid:map/unmap, options,
 * bufsz:boundedBlockLength, log), parameters by port symbol, the reported latency, the free-wheeling port,
 * and processing. Not yet here: worker:schedule and state (a plugin that requires them is refused, naming
 * the feature), atom and CV ports (refused, naming the port). The insert slots that hold instances in the
 * graph are engine/insert.h.
 *
 * The channel rule, as Ardour's: a plugin with as many main audio inputs and outputs as the path has
 * channels runs one instance; a mono (1 in, 1 out) plugin on a stereo path runs one instance per side; a
 * mono-in stereo-out plugin (a reverb such as GVerb) on a stereo path is fed the mean of the two sides; any
 * other count (a mono-in stereo-out plugin on a mono strip among them: mixdesk does not widen a strip) is
 * refused with a message saying what it has and what the path needs. Side-chain inputs
 * (lv2:isSideChain) are fed silence and not counted. */
#ifndef MD_PLUGIN_H
#define MD_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

struct md_plugin_info {
	const char *uri, *name;
	int audio_in, audio_out; /* main audio ports (side-chains not counted) */
	bool rt;                 /* declares lv2:hardRTCapable */
	bool dynamics, limiter;  /* of class lv2:CompressorPlugin or lv2:LimiterPlugin; lv2:LimiterPlugin */
};

/* A control input port: one parameter of a plugin. */
struct md_plugin_param {
	const char *symbol, *name, *unit; /* unit: its units:symbol ("dB", "ms"), or "" */
	uint32_t port;                    /* the LV2 port index */
	float min, max, def;
	bool toggle, integer, enumeration;
};

struct md_plugin;

/* The installed plugins, loaded once per process on first use (thread-safe); how many, and one of them by
 * index (sorted by URI). The descriptions live until the process ends. [control] */
int plugins_count(void);
const struct md_plugin_info *plugins_info(int i);
/* Print (to f) what plugins logged (lv2:log) since the last call, oldest first: a plugin may log on the audio
 * thread, so its messages wait in a fixed ring until the control side calls this. Returns how many. [control] */
int plugins_log_drain(FILE *f);
/* A plugin by URI, or NULL when it is not installed. [control] */
const struct md_plugin_info *plugins_find(const char *uri);

/* Whether plugin_new would accept the plugin for a path of nch channels (without instantiating it): false
 * with err set as plugin_new sets it. [control] */
bool plugins_check(const char *uri, int nch, bool allow_non_rt, char *err, size_t errlen);
/* The parameters of an installed plugin (its control inputs, in port order; the free-wheeling and enabled
 * ports are the host's, not parameters): how many, or -1 when it is not installed. They live until the
 * process ends; an instance's plugin_param(p, i) is the same i. [control] */
int plugins_params(const char *uri, const struct md_plugin_param **params);

/* A starting value of a parameter, by symbol. */
struct md_plugin_value {
	const char *symbol;
	float value;
};

/* An instance of the plugin `uri` for a path of nch (1 or 2) channels at `rate` Hz, processing at most
 * max_block frames a call, its control ports at their defaults but for the ninit values of init (clamped; set
 * before activation, as a plugin such as a delay sizes its memory from them then), activated. NULL with err set ("what, where,
 * what was expected": not installed, a required feature missing (named), a channel count that does not
 * fit, not real-time capable while allow_non_rt is false, instantiation failed). [control] */
struct md_plugin *plugin_new(const char *uri, uint32_t rate, int nch, uint32_t max_block, bool allow_non_rt,
			     const struct md_plugin_value *init, int ninit, char *err, size_t errlen);
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

/* The plugin's latency in frames as it reports it now (a control output with lv2:reportsLatency), or 0. [any] */
uint32_t plugin_latency(const struct md_plugin *p);
/* The lv2:freeWheeling port, where the plugin has one: on in the offline render. [rt] */
void plugin_set_freewheel(struct md_plugin *p, bool on);
const struct md_plugin_info *plugin_info(const struct md_plugin *p); /* [any] */

/* Process n frames (n <= max_block) of the path's channels in place. A non-finite output is silenced. Never
 * allocates or locks (as far as the plugin, which declared hardRTCapable, keeps its word). [rt] */
void plugin_run(struct md_plugin *p, float *const io[2], uint32_t n);

#endif
