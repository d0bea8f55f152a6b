/* mixdesk: LV2 plugin hosting through lilv: the installed plugins (lilv_world_load_all, LV2_PATH honoured),
 * their description, and running instances for one insert point of a mono or stereo path.
 *
 * Discovery, the feature check, instantiation with the host features (urid:map/unmap, options,
 * bufsz:boundedBlockLength, log, worker:schedule, state:loadDefaultState, state:mapPath/makePath/freePath),
 * parameters by port symbol, the reported latency, the free-wheeling port, processing, and the plugin's
 * state (state:interface) saved to and restored from Turtle text. A plugin that requires any other feature is
 * refused, naming it.
 *
 * Ports: audio and control ports; atom ports of atom:bufferType atom:Sequence (an input gets an empty
 * sequence each run, an output a buffer of the sequenceSize option, 8192 bytes, whose contents are ignored:
 * mixdesk sends and reads no MIDI or patch messages yet). CV ports and other atom ports are refused, naming
 * the port, unless lv2:connectionOptional.
 *
 * The worker (worker:schedule): live, each instance with a work:interface has a worker thread fed through a
 * preallocated lock-free ring (schedule_work copies the request and posts a semaphore, on the audio thread);
 * work()'s responses come back through a second ring that plugin_run drains right after the plugin's run()
 * (work_response(), then end_run()), as the worker spec has the host do. Offline (the render), work() runs
 * inside schedule_work, so a bounce does not depend on thread timing; its responses are delivered after the
 * same run().
 *
 * The channel rule, as Ardour's: a plugin with as many main audio inputs and outputs as the path has
 * channels runs one instance; a mono (1 in, 1 out) plugin on a stereo path runs one instance per side; a
 * mono-in stereo-out plugin (a reverb such as GVerb) on a stereo path is fed the mean of the two sides; a
 * plugin with no audio input (an instrument or generator, eg-sampler) and as many outputs as the path has
 * channels, or one output on a stereo path (given to both sides), replaces the path's signal with its own; a
 * plugin with no audio port at all (eg-params) runs beside the signal, which passes through; any other count
 * (a mono-in stereo-out plugin on a mono strip among them: mixdesk does not widen a strip) is refused with a
 * message saying what it has and what the path needs. Side-chain inputs (lv2:isSideChain) are fed silence and
 * not counted. */
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

/* How an instance is hosted, beyond plugin_new's arguments. */
struct md_plugin_host {
	/* true: worker requests run inside schedule_work, on the calling thread (the offline render, or an
	 * engine that free-wheels), so the result does not depend on timing; false: a worker thread */
	bool offline;
	/* the folder under which the plugin may make files (state:makePath given at instantiation), such as
	 * "<session folder>/<session name>.plugins/<slot uid>/"; paths inside it are mapped relative to it
	 * (state:mapPath). NULL: makePath answers NULL and paths are kept absolute */
	const char *dir;
};

/* plugin_new with the hosting choices of h (NULL: live, no folder): as plugin_new otherwise. Where the plugin
 * asks for it (state:loadDefaultState), its default state (its description's state:state) is restored right
 * after instantiation, before activation. [control] */
struct md_plugin *plugin_new_host(const char *uri, uint32_t rate, int nch, uint32_t max_block, bool allow_non_rt,
				  const struct md_plugin_value *init, int ninit, const struct md_plugin_host *h,
				  char *err, size_t errlen);
/* Stop the worker thread (the requests and responses still queued are handled first, on this thread), then
 * deactivate and free. [control, the audio thread no longer running it] */
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

/* The plugin's state (its state:interface save(), the properties only: the control ports are the session's
 * parameters and are not in it) as Turtle text (lilv_state_to_string), malloc'd (free() it); NULL when the
 * plugin has no state:interface or saving failed. dir: the folder of plugin files (as md_plugin_host.dir) for
 * this save: files the plugin makes while saving go there, and paths inside it are written relative to it;
 * NULL for none (paths absolute, makePath refused). A relative path is written as a "..."^^atom:Path literal;
 * lilv and sratom warn on stderr as they write any path into a string state (their wording, not an error).
 *
 * Threading: LV2 gives save() its own class: it may run concurrently with run() on the audio thread (the
 * plugin makes that safe), never with an instantiation-class call (restore, activation, freeing). So this may
 * be called on the control thread while the audio thread runs the instance; it takes the lilv lock, and must
 * not race with plugin_state_restore or plugin_free of the same instance. Of a mono plugin doubled on a stereo
 * path (two instances) the left's state is saved. [control] */
char *plugin_state_save(struct md_plugin *p, const char *dir);
/* Restore a state saved by plugin_state_save (Turtle text; relative paths in it are taken inside dir, which
 * may be NULL) into every instance of p. LV2 puts restore() in the instantiation class: nothing else may run
 * the instance meanwhile. The worker thread is held off here; the audio thread cannot be, so call it before
 * the instance is given to the audio thread (insert_new does), or once it has been taken back.
 * Work the plugin schedules while restoring (eg-sampler loading a sample) is done by the worker, and its
 * response is delivered at the first plugin_run. false with err set when the text is not a state of this
 * plugin or the plugin has no state:interface. [control] */
bool plugin_state_restore(struct md_plugin *p, const char *ttl, const char *dir, char *err, size_t errlen);

/* How many work() calls the worker has made for p, and how many responses work_response() has been given
 * (for tests and diagnostics). [any] */
void plugin_worker_counts(const struct md_plugin *p, unsigned *works, unsigned *responses);

#endif
