/* mixdesk: the console model, the control side's complete description of a mix: strips, aux buses,
 * master, parameter values, names, sources and JACK connections. Sessions load into and save from it;
 * the audio graph is built from it. Every function here is [control]: never call one from the audio thread. */
#ifndef MD_CONSOLE_H
#define MD_CONSOLE_H

#include "engine/model/md.h"
#include "engine/model/param.h"

#include <stdbool.h>

/* A list of JACK port names (connections of one port). */
struct md_conns {
	int n;
	char **names;
};

/* One automation lane (filled in by the automation work; kept here so sessions round-trip it). */
struct md_lane {
	int param;        /* parameter id within the strip/bus/master scope */
	int mode;         /* enum md_auto_mode */
	int npoints, cap; /* breakpoints */
	double *t;        /* seconds, ascending */
	float *v;         /* values in the parameter's unit */
};

enum md_auto_mode { MD_AUTO_OFF, MD_AUTO_READ, MD_AUTO_WRITE, MD_AUTO_TOUCH, MD_AUTO_LATCH, MD_AUTO_COUNT };

/* One LV2 plugin insert slot (docs/PLUGINS.md). Slots are fixed: 1..MD_MAX_INSERTS in OSC, the same index in
 * the session's "inserts" array (an empty slot there is null). The values of the plugin's parameters that
 * were set (by a session, OSC or a lane) are kept here by port symbol; the others are the plugin's
 * defaults. A slot whose plugin is not installed (or cannot run here) is a placeholder: it passes the
 * signal through and keeps its settings for the next save. */
struct md_insert_param {
	char *symbol;
	float value;
};

/* An automation lane of a plugin parameter, by port symbol (the plugin's parameter order may differ between
 * machines; its symbols do not). lane.param is unused (-1). */
struct md_insert_lane {
	char *symbol;
	struct md_lane lane;
};

struct md_insert {
	char *uri;    /* the plugin, or NULL for an empty slot */
	uint32_t uid; /* a new one each time a plugin is loaded into the slot: the graph's instance follows it */
	bool bypass;
	int nparams;
	struct md_insert_param *params;
	char *state; /* the session's "state" (JSON text), kept as is for the next save, or NULL */
	int nlanes;  /* automation lanes of its parameters */
	struct md_insert_lane *lanes;
};

struct md_strip_model {
	char name[MD_NAME_MAX];
	bool stereo;
	uint32_t uid;         /* unique within the process, never reused */
	int16_t in_slot[2];   /* I/O slots of the input channel(s); -1 when unassigned */
	int16_t stem_slot[2]; /* optional output slots of this strip's share of the master (the renderer's stems) */
	float p[MD_SP_COUNT]; /* parameter values (param.h units) */
	char *source;         /* audio file for the offline render (as written in the session), or NULL */
	struct md_conns inputs[2];
	int nlanes;
	struct md_lane *lanes;
	struct md_insert inserts[MD_MAX_INSERTS];
	char *extra; /* JSON text of "x-" keys, kept for save; NULL if none */
};

struct md_bus_model {
	char name[MD_NAME_MAX];
	uint32_t uid;
	int16_t out_slot[2], ret_slot[2];
	int16_t stem_slot[2]; /* optional: this bus's share of the master, as for strips */
	float p[MD_BP_COUNT];
	struct md_conns outputs[2], returns[2];
	int nlanes;
	struct md_lane *lanes;
	struct md_insert inserts[MD_MAX_INSERTS];
	char *extra;
};

struct md_master_model {
	int16_t out_slot[2];
	float p[MD_MP_COUNT];
	struct md_conns outputs[2];
	int nlanes;
	struct md_lane *lanes;
	struct md_insert inserts[MD_MAX_INSERTS];
	char *extra;
};

struct md_render_settings {
	float headroom; /* dBTP target, default -6 */
	int bits;       /* 16, 24, or 32 (float) */
	float tail;     /* seconds after the longest source */
};

struct md_console {
	uint32_t sample_rate; /* the session's rate, Hz */
	int nstrips, nbuses;
	struct md_strip_model *strips[MD_MAX_STRIPS];
	struct md_bus_model *buses[MD_MAX_BUSES];
	struct md_master_model master;
	struct md_render_settings render;
	char *extra; /* top-level "x-" keys as JSON text, or NULL */
	char *dir;   /* the session file's folder, where relative sources start (not saved); NULL: the working one */
};

struct md_console *console_new(uint32_t sample_rate);
void console_free(struct md_console *c);
/* A deep copy (uids kept); NULL on allocation failure. */
struct md_console *console_clone(const struct md_console *c);

/* Add a strip at the end with default values; *index gets its index. MD_ERR_EXISTS, MD_ERR_FULL,
 * MD_ERR_RANGE (empty or overlong name). */
enum md_err console_add_strip(struct md_console *c, const char *name, bool stereo, int *index);
enum md_err console_remove_strip(struct md_console *c, int index);
enum md_err console_rename_strip(struct md_console *c, int index, const char *name);
enum md_err console_add_bus(struct md_console *c, const char *name, int *index);
/* Removing a bus shifts the sends of the buses after it, so every send keeps its bus. */
enum md_err console_remove_bus(struct md_console *c, int index);
enum md_err console_rename_bus(struct md_console *c, int index, const char *name);
int console_find_strip(const struct md_console *c, const char *name);
int console_find_bus(const struct md_console *c, const char *name);

/* Check a name: non-empty, shorter than MD_NAME_MAX, valid UTF-8, no ':' or control characters. */
enum md_err console_check_name(const char *name);

/* Parameter access; set clamps (md_param_clamp) and reports the stored value in *stored. */
enum md_err console_set(struct md_console *c, enum md_scope scope, int index, int param, float v, float *stored,
			bool *changed);
enum md_err console_get(const struct md_console *c, enum md_scope scope, int index, int param, float *v);
/* Number of objects in a scope (strips, buses, 1 for master). */
int console_count(const struct md_console *c, enum md_scope scope);

void console_conns_clear(struct md_conns *l);
enum md_err console_conns_add(struct md_conns *l, const char *name);
bool console_conns_has(const struct md_conns *l, const char *name);

/* Automation lanes of an object: find or create the lane of a parameter. */
struct md_lane *console_lane(struct md_console *c, enum md_scope scope, int index, int param, bool create);
/* All lanes of one strip, bus or the master. */
void console_lanes(struct md_console *c, enum md_scope scope, int index, struct md_lane **lanes, int *n);
void console_lane_clear(struct md_lane *l);
enum md_err console_lane_add_point(struct md_lane *l, double t, float v);

/* The file a session's source names: `source` itself when absolute or when dir is NULL or empty, else
 * dir/source (dir: the session's folder, console->dir). Written into dst[size] as snprintf does; returns the
 * length of the whole path (so a caller can size dst). [any] */
size_t console_source_path(char *dst, size_t size, const char *source, const char *dir);

/* The insert slots of a strip, bus or the master (MD_MAX_INSERTS of them), or NULL for a bad index. */
struct md_insert *console_inserts(struct md_console *c, enum md_scope scope, int index);
/* Load a plugin into a slot (a new uid; parameters, bypass and state cleared), or empty it (uri NULL). */
enum md_err console_insert_load(struct md_insert *ins, const char *uri);
/* Keep a parameter's value by symbol (replacing the one kept); *value: the kept one, or false when none. */
enum md_err console_insert_set_param(struct md_insert *ins, const char *symbol, float value);
bool console_insert_get_param(const struct md_insert *ins, const char *symbol, float *value);
/* The lane of a plugin parameter by symbol, created (mode read, no points) when asked; NULL when there is
 * none, or without memory. */
struct md_lane *console_insert_lane(struct md_insert *ins, const char *symbol, bool create);
/* Keep the session's "state" text (copied; NULL clears it). */
enum md_err console_insert_set_state(struct md_insert *ins, const char *json);

/* Whether any strip, bus or the master uses an I/O slot. [any] */
bool console_uses_slot(const struct md_console *c, int16_t slot);

/* The session/OSC name of an automation mode ("off", "read", ...), or NULL when out of range. [any] */
const char *console_auto_mode_name(int mode);

/* A uid for a new object. */
uint32_t console_new_uid(void);

#endif
