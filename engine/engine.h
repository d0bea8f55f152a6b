/* mixdesk: the audio engine, with no JACK in it. The control side builds a complete graph from a console
 * model and submits it; parameter changes travel as {scope, index, param, value} records through a
 * lock-free SPSC queue that the audio thread drains at the start of each period. A new graph is swapped in
 * at a period boundary with a short crossfade; strips and buses that exist in both graphs keep their state.
 * Retired graphs come back through a second queue and are freed on the control side.
 *
 * Audio I/O goes through "slots": small integers that the host maps to JACK ports (or the renderer to
 * buffers). A period is: engine_begin(), engine_io() to learn which slots to provide, engine_process(). */
#ifndef MD_ENGINE_H
#define MD_ENGINE_H

#include "engine/model/console.h"
#include "engine/model/md.h"

#include <stdbool.h>
#include <stdint.h>

struct md_engine;
struct md_graph;

struct md_level {
	float peak_db[2]; /* highest sample since the last read, dBFS */
	float rms_db[2];  /* RMS over ~300 ms, dBFS (a full-scale sine reads -3.01) */
};

struct md_engine *engine_new(void);    /* [control] */
void engine_free(struct md_engine *e); /* [control] the audio thread must be stopped */

/* Build a graph for a console at a sample rate. Strips and buses whose uid matches the last submitted
 * graph will inherit its running state when swapped in. NULL on allocation failure. [control] */
struct md_graph *engine_build(struct md_engine *e, const struct md_console *c, uint32_t rate);
void engine_graph_free(struct md_graph *g); /* [control] for a graph that was never submitted */
/* Hand a graph to the audio thread; MD_ERR_FULL if the queue is full (the graph stays the caller's). [control] */
enum md_err engine_submit(struct md_engine *e, struct md_graph *g);
/* Send one parameter change (value already clamped); false when the queue is full. [control] */
bool engine_send_param(struct md_engine *e, enum md_scope scope, int index, int param, float value);
/* Mark a parameter held (its lanes do not drive it) in a graph not yet submitted. [control] */
void engine_graph_hold(struct md_graph *g, enum md_scope scope, int index, int param);
/* A controller holds (true) or releases a parameter: lanes in touch/latch mode stop/resume driving it. [control] */
bool engine_send_override(struct md_engine *e, enum md_scope scope, int index, int param, bool held);
/* Free graphs the audio thread has retired; returns how many. [control] */
int engine_collect(struct md_engine *e);
/* True while a graph the control side submitted is not yet installed, or an old one not yet retired. [control] */
bool engine_swap_pending(const struct md_engine *e);

/* Meters of the last submitted graph; each read resets the peak. [control] */
enum md_err engine_strip_meter(struct md_engine *e, int index, struct md_level *out);
enum md_err engine_bus_meter(struct md_engine *e, int index, struct md_level *out);
void engine_master_meter(struct md_engine *e, struct md_level *out, float *correlation);
float engine_strip_gr(struct md_engine *e, int index); /* dB, <= 0 */

/* Start of a period: drain the queue, install a new graph, retire an old one. [rt] */
void engine_begin(struct md_engine *e);
/* The slots this period reads and writes (valid until the next engine_begin). [rt] */
void engine_io(const struct md_engine *e, const int16_t **in, int *nin, const int16_t **out, int *nout);
/* Process one period. bufs[slot] points to nframes samples for every slot engine_io named (a NULL input
 * reads as silence, a NULL output is skipped). Any nframes works. [rt] */
void engine_process(struct md_engine *e, float *const *bufs, uint32_t nframes);
/* engine_begin + engine_process, for the renderer and tests. [rt] */
void engine_run(struct md_engine *e, float *const *bufs, uint32_t nframes);

/* The timeline for automation: call before engine_process each period. rolling: the transport moves;
 * frame: the timeline position (frames since 0) of this period's first sample. Lanes in read mode (and touch
 * or latch when not touched) drive their parameters sample-accurately while rolling and hold when stopped;
 * a jump of the position (locate, loop) applies the new value at once, smoothed. [rt] */
void engine_set_time(struct md_engine *e, bool rolling, uint64_t frame);
/* The timeline's tempo in BPM from the host (the JACK transport's BBT, when a timebase master gives one),
 * or 0 for none: the delay's tempo sync follows it, else the session's tempo. [rt] */
void engine_set_tempo(struct md_engine *e, float bpm);

struct md_player;
/* The disk streamer (engine/player.h) at `rate` that plays the strips whose input is their source, for graphs
 * built from now on; NULL (the default, and the offline render's) plays none. [control] */
void engine_set_player(struct md_engine *e, struct md_player *p, uint32_t rate);
/* The last problem a graph build had with a strip's source ("strip 'Kick': ... cannot be opened: ..."), or
 * NULL; *serial moves on with each new one, so a caller says each once. [control] */
const char *engine_source_error(const struct md_engine *e, unsigned *serial);

/* How graphs built from now on instantiate plugins: allow_non_rt lets plugins that do not declare
 * lv2:hardRTCapable run (the live default refuses them; the render allows them); freewheel sets the
 * plugins' lv2:freeWheeling port (the render's). [control] */
void engine_set_plugin_policy(struct md_engine *e, bool allow_non_rt, bool freewheel);
/* The last problem a graph build had with an insert ("strip 'Vox' insert 2: plugin <...> ..."), or NULL;
 * *serial moves on with each new one. The slot runs as a placeholder (the signal passes through). [control] */
const char *engine_insert_error(const struct md_engine *e, unsigned *serial);
/* Send an insert's parameter (by its index in plugins_params order) or its bypass; false when the queue is
 * full. [control] */
bool engine_send_insert_param(struct md_engine *e, enum md_scope scope, int index, int slot, int param, float value);
bool engine_send_insert_bypass(struct md_engine *e, enum md_scope scope, int index, int slot, bool on);
/* The latency an insert of the last submitted graph reports now (frames; 0 for none or a placeholder), and
 * whether the slot holds a running plugin. [control] */
uint32_t engine_insert_latency(const struct md_engine *e, enum md_scope scope, int index, int slot, bool *running);

/* The state (lv2:state, as Turtle; malloc'd) of the plugin an insert of the last submitted graph runs, its
 * paths relative to dir where they lie in it; NULL for no plugin, a placeholder, or a plugin without
 * state:interface. The audio thread may keep running it (LV2 allows save() beside run()). [control] */
char *engine_insert_state(struct md_engine *e, enum md_scope scope, int index, int slot, const char *dir);

/* The console's latency from a strip's input to the master's output, frames: what its plugins report, as the
 * last submitted graph compensates it (docs/PLUGINS.md). [control] */
uint32_t engine_latency(const struct md_engine *e);
/* Whether a plugin of the last submitted graph now reports another latency than the graph compensates (the
 * mixer then rebuilds). [control] */
bool engine_latency_changed(const struct md_engine *e);

/* Meters on (default) or off: the offline render reads none, so it turns them off before building its
 * graph. Takes effect for graphs built afterwards. [control] */
void engine_set_metering(struct md_engine *e, bool on);

/* Frames processed so far. [any] */
uint64_t engine_frames(const struct md_engine *e);

/* The gain ramp length for every smoothed level, seconds. */
#define MD_RAMP_SECONDS 0.010f
/* The crossfade when a new graph is swapped in, seconds. */
#define MD_XFADE_SECONDS 0.020f

#endif
