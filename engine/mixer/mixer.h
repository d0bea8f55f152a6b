/* mixdesk: the mixer, the one place the control side changes the console. It keeps the console model, the
 * engine and the host's ports in step: a parameter change is clamped, stored in the model, queued for the
 * audio thread and marked for feedback; a structural change (strips, buses, a session load) rebuilds the
 * graph off the audio thread and swaps it in. Every function is [control] and must be called from one
 * thread only (the control loop). */
#ifndef MD_MIXER_H
#define MD_MIXER_H

#include "engine/model/console.h"
#include "engine/engine.h"

struct md_mixer;

/* What a host (the JACK client) does for the mixer; any member may be NULL. Embed it in the host's struct. */
struct md_mixer_host {
	/* Before a graph that uses these slots is submitted: register or rename ports, restore connections. */
	enum md_err (*sync_ports)(struct md_mixer_host *h, const struct md_console *c);
	/* After old graphs were retired: ports whose slot the console no longer uses can go. */
	void (*release_ports)(struct md_mixer_host *h, const struct md_console *c);
	/* Before a save: read the live connections into the console's connection lists. */
	void (*read_conns)(struct md_mixer_host *h, struct md_console *c);
	/* The timeline: whether the transport rolls, and its position in seconds. */
	void (*transport)(struct md_mixer_host *h, bool *rolling, double *seconds);
	/* Move the transport: start (play), stop, or locate to seconds. */
	void (*transport_cmd)(struct md_mixer_host *h, int cmd, double seconds);
};

enum md_transport_cmd { MD_TRANSPORT_PLAY, MD_TRANSPORT_STOP, MD_TRANSPORT_LOCATE };

struct md_mixer *mixer_new(uint32_t rate, struct md_mixer_host *host);
void mixer_free(struct md_mixer *m);

const struct md_console *mixer_console(const struct md_mixer *m);
struct md_engine *mixer_engine(struct md_mixer *m);
uint32_t mixer_rate(const struct md_mixer *m);

/* Set a parameter: clamped (MD_ERR_NAN for NaN/inf, MD_ERR_NOTFOUND for a bad index or id), stored, sent to
 * the audio thread (retried by mixer_tick when the queue is full), marked dirty. */
enum md_err mixer_set(struct md_mixer *m, enum md_scope scope, int index, int param, float v, float *stored,
		      bool *changed);
enum md_err mixer_get(const struct md_mixer *m, enum md_scope scope, int index, int param, float *v);

enum md_err mixer_add_strip(struct md_mixer *m, const char *name, bool stereo, int *index);
enum md_err mixer_remove_strip(struct md_mixer *m, int index);
enum md_err mixer_rename_strip(struct md_mixer *m, int index, const char *name);
enum md_err mixer_set_stereo(struct md_mixer *m, int index, bool stereo);
enum md_err mixer_add_bus(struct md_mixer *m, const char *name, int *index);
enum md_err mixer_remove_bus(struct md_mixer *m, int index);
enum md_err mixer_rename_bus(struct md_mixer *m, int index, const char *name);

/* Replace the whole console (a session load). On MD_OK the mixer owns c; otherwise nothing changed and c
 * is still the caller's. Strips and buses keep their ports when one of the same name and width existed. */
enum md_err mixer_replace(struct md_mixer *m, struct md_console *c);
/* The engine's sample rate changed: rebuild for the new rate. */
enum md_err mixer_set_rate(struct md_mixer *m, uint32_t rate);
/* The console with its connection lists refreshed from the host and its plugins' states (lv2:state) read from
 * the running instances, for saving. */
struct md_console *mixer_snapshot(struct md_mixer *m);

/* Periodic work of the control loop: resend changes the full queue refused, retry a refused rebuild,
 * free retired graphs and let the host drop unused ports. */
void mixer_tick(struct md_mixer *m);

/* Feedback: call fn for every parameter changed since the last call, then forget them. */
typedef void (*md_dirty_fn)(void *ctx, enum md_scope scope, int index, int param);
void mixer_drain_dirty(struct md_mixer *m, md_dirty_fn fn, void *ctx);
/* Counts what users changed (parameters, structure, plugins, lanes; not the values lanes play): a session
 * manager's is_dirty is worth checking only when it moved. */
uint64_t mixer_changes(const struct md_mixer *m);
/* Counts structural changes (strips, buses, names, loads); a controller redraws when it moves. */
uint32_t mixer_structure_serial(const struct md_mixer *m);
/* Mark a parameter as changed for feedback without setting it (automation playback uses this). */
void mixer_mark_dirty(struct md_mixer *m, enum md_scope scope, int index, int param);

/* ---- plugin inserts (docs/PLUGINS.md): slot 0 .. MD_MAX_INSERTS-1 of a strip, bus or the master ---- */

/* Plugins that do not declare lv2:hardRTCapable may be loaded (off by default; --allow-non-rt-plugins). */
void mixer_set_allow_non_rt(struct md_mixer *m, bool allow);
/* Load the plugin `uri` into a slot, replacing what it held, or empty the slot (uri NULL). The plugin is
 * checked first (installed, features, channel count, real-time capability; err says what is wrong,
 * MD_ERR_NOTFOUND for a bad index or slot, MD_ERR_TYPE for a plugin that cannot run here) and instantiated
 * here, off the audio thread, with the new graph; the graphs' crossfade is the change's. */
enum md_err mixer_insert_load(struct md_mixer *m, enum md_scope scope, int index, int slot, const char *uri, char *err,
			      size_t errlen);
/* Bypass a slot (crossfaded), or take it back in. MD_ERR_NOTFOUND for an empty slot. */
enum md_err mixer_insert_bypass(struct md_mixer *m, enum md_scope scope, int index, int slot, bool on);
/* A parameter by port symbol: clamped to the port's range (toggles to its ends, integers and enumerations
 * rounded), kept in the model, sent to the instance; *stored gets the value kept. MD_ERR_NOTFOUND for an
 * empty slot, a plugin that is not installed, or an unknown symbol; MD_ERR_NAN for NaN or infinity. */
enum md_err mixer_insert_set(struct md_mixer *m, enum md_scope scope, int index, int slot, const char *symbol, float v,
			     float *stored);
/* A parameter's value: the one kept, else the plugin's default. */
enum md_err mixer_insert_get(const struct md_mixer *m, enum md_scope scope, int index, int slot, const char *symbol,
			     float *v);
/* A slot's model, or NULL for a bad index or slot. */
const struct md_insert *mixer_insert(const struct md_mixer *m, enum md_scope scope, int index, int slot);
/* Automation lanes of insert parameters, by symbol (played as the console's; a controller's moves are not
 * recorded into them): the mode (off, read, write, touch, latch; creates the lane), a point added (value
 * clamped as mixer_insert_set clamps), the points in [t0, t1] removed (the whole lane when t0 > t1), and the
 * lane (NULL for none). MD_ERR_NOTFOUND for an empty slot, a plugin not installed or an unknown symbol. */
enum md_err mixer_insert_auto_mode(struct md_mixer *m, enum md_scope scope, int index, int slot, const char *symbol,
				   int mode);
enum md_err mixer_insert_lane_add(struct md_mixer *m, enum md_scope scope, int index, int slot, const char *symbol,
				  double t, float v);
enum md_err mixer_insert_lane_clear(struct md_mixer *m, enum md_scope scope, int index, int slot, const char *symbol,
				    double t0, double t1);
const struct md_lane *mixer_insert_lane(const struct md_mixer *m, enum md_scope scope, int index, int slot,
					const char *symbol);

/* Feedback: fn for every insert parameter (its index in plugins_params order) or bypass (param -1) changed
 * since the last call, then forget them. */
typedef void (*md_insert_dirty_fn)(void *ctx, enum md_scope scope, int index, int slot, int param);
void mixer_drain_insert_dirty(struct md_mixer *m, md_insert_dirty_fn fn, void *ctx);

/* ---- automation (the engine plays lanes; the mixer records, edits and follows them) ---- */

/* The transport as the host sees it (stopped at 0 without a host). */
void mixer_transport(struct md_mixer *m, bool *rolling, double *seconds);
enum md_err mixer_transport_cmd(struct md_mixer *m, int cmd, double seconds);
/* A lane's mode (creates the lane): off, read, write, touch, latch. */
enum md_err mixer_set_auto_mode(struct md_mixer *m, enum md_scope scope, int index, int param, int mode);
int mixer_auto_mode(const struct md_mixer *m, enum md_scope scope, int index, int param);
/* A controller holds (true) or releases a control. In touch mode the pass is recorded while held; in latch
 * mode until the transport stops; then the moves are thinned and written into the lane. */
enum md_err mixer_touch(struct md_mixer *m, enum md_scope scope, int index, int param, bool held);
/* Point edits; times in seconds, values clamped to the parameter's range. */
enum md_err mixer_lane_add(struct md_mixer *m, enum md_scope scope, int index, int param, double t, float v);
enum md_err mixer_lane_move(struct md_mixer *m, enum md_scope scope, int index, int param, int point, double t,
			    float v);
enum md_err mixer_lane_delete(struct md_mixer *m, enum md_scope scope, int index, int param, int point);
/* Remove the points in [t0, t1] (the whole lane when t0 > t1). */
enum md_err mixer_lane_clear(struct md_mixer *m, enum md_scope scope, int index, int param, double t0, double t1);

#endif
