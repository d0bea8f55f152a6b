/* mixdesk: the parameter model. Every engine parameter has a descriptor (path, kind, unit, range,
 * default); the path is the OSC address relative to its strip/bus/master and the session file key path.
 * Values travel as floats: dB, Hz, ms, -1..+1, 0/1 for switches, the index for enums, the value for choices. */
#ifndef MD_PARAM_H
#define MD_PARAM_H

#include "engine/model/md.h"

#include <stdbool.h>

enum md_scope { MD_SCOPE_STRIP, MD_SCOPE_BUS, MD_SCOPE_MASTER };

enum md_kind {
	MD_KIND_FLOAT,  /* continuous, clamped to min..max */
	MD_KIND_BOOL,   /* 0 or 1 */
	MD_KIND_ENUM,   /* index into names[] */
	MD_KIND_CHOICE, /* one of choices[] (snapped to the nearest) */
};

enum md_unit {
	MD_UNIT_NONE,
	MD_UNIT_DB,
	MD_UNIT_PAN,
	MD_UNIT_HZ,
	MD_UNIT_MS,
	MD_UNIT_RATIO,
	MD_UNIT_Q,
	MD_UNIT_DB_OCT,
	MD_UNIT_S,
	MD_UNIT_PERCENT,
	MD_UNIT_FACTOR,
	MD_UNIT_BPM
};

/* EQ band fields and types */
enum { MD_EQ_TYPE, MD_EQ_FREQ, MD_EQ_GAIN, MD_EQ_Q, MD_EQ_ON, MD_EQ_NFIELDS };
enum md_eq_type { MD_EQT_LOWSHELF, MD_EQT_PEAK, MD_EQT_HIGHSHELF, MD_EQT_COUNT };
/* send fields */
enum { MD_SEND_LEVEL, MD_SEND_PRE, MD_SEND_NFIELDS };

enum md_strip_param {
	MD_SP_TRIM,
	MD_SP_POLARITY,
	MD_SP_FADER,
	MD_SP_MUTE,
	MD_SP_SOLO,
	MD_SP_PAN,
	MD_SP_INPUT,  /* enum md_input: what feeds the strip; a change builds a new graph */
	MD_SP_OFFSET, /* s: where the source's first sample sits on the timeline */
	MD_SP_HPF_ON,
	MD_SP_HPF_FREQ,
	MD_SP_HPF_SLOPE,
	MD_SP_LPF_ON,
	MD_SP_LPF_FREQ,
	MD_SP_LPF_SLOPE,
	MD_SP_EQ_ON,
	MD_SP_EQ_BASE, /* + band * MD_EQ_NFIELDS + field */
	MD_SP_COMP_ON = MD_SP_EQ_BASE + MD_EQ_BANDS * MD_EQ_NFIELDS,
	MD_SP_COMP_THRESHOLD,
	MD_SP_COMP_RATIO,
	MD_SP_COMP_ATTACK,
	MD_SP_COMP_RELEASE,
	MD_SP_COMP_KNEE,
	MD_SP_COMP_MAKEUP,
	MD_SP_GATE_ON,
	MD_SP_GATE_THRESHOLD,
	MD_SP_GATE_RANGE,
	MD_SP_GATE_ATTACK,
	MD_SP_GATE_HOLD,
	MD_SP_GATE_RELEASE,
	MD_SP_DRIVE_ON,
	MD_SP_DRIVE_AMOUNT,
	MD_SP_DRIVE_CHARACTER,
	MD_SP_DRIVE_MIX,
	MD_SP_SEND_BASE, /* + bus * MD_SEND_NFIELDS + field */
	MD_SP_COUNT = MD_SP_SEND_BASE + MD_MAX_BUSES * MD_SEND_NFIELDS
};

// clang-format off
#define MD_SP_EQ(band, field) (MD_SP_EQ_BASE + (band) * MD_EQ_NFIELDS + (field))
#define MD_SP_SEND(bus, field) (MD_SP_SEND_BASE + (bus) * MD_SEND_NFIELDS + (field))
// clang-format on

/* what feeds a strip (MD_SP_INPUT): its JACK input, its source file streamed with the transport, or both */
enum md_input { MD_INPUT_JACK, MD_INPUT_SOURCE, MD_INPUT_BOTH, MD_INPUT_COUNT };

/* the strip's saturation characters (MD_SP_DRIVE_CHARACTER) */
enum md_drive_char { MD_DRIVE_CHAR_SOFT, MD_DRIVE_CHAR_TAPE, MD_DRIVE_CHAR_TUBE, MD_DRIVE_CHAR_COUNT };

/* a bus's built-in effect (MD_BP_FX_TYPE) */
enum md_fx_type { MD_FX_NONE, MD_FX_REVERB, MD_FX_DELAY, MD_FX_TYPE_COUNT };

/* the delay's tempo sync (MD_BP_FX_SYNC): off, or a note value */
enum md_fx_sync {
	MD_SYNC_OFF,
	MD_SYNC_1_1,
	MD_SYNC_1_2D,
	MD_SYNC_1_2,
	MD_SYNC_1_2T,
	MD_SYNC_1_4D,
	MD_SYNC_1_4,
	MD_SYNC_1_4T,
	MD_SYNC_1_8D,
	MD_SYNC_1_8,
	MD_SYNC_1_8T,
	MD_SYNC_1_16D,
	MD_SYNC_1_16,
	MD_SYNC_1_16T,
	MD_SYNC_1_32,
	MD_SYNC_COUNT
};

enum md_bus_param {
	MD_BP_FADER,
	MD_BP_MUTE,
	MD_BP_BALANCE,
	MD_BP_INSERT,
	MD_BP_FX_TYPE, /* changing it builds a new graph: the new effect's memory is made off the audio thread */
	/* the reverb's */
	MD_BP_FX_DECAY,
	MD_BP_FX_PREDELAY,
	MD_BP_FX_LOW_DECAY,
	MD_BP_FX_CROSSOVER,
	MD_BP_FX_DAMPING,
	MD_BP_FX_WIDTH,
	MD_BP_FX_SIZE,
	/* both's: the reverb's return, the delay's feedback loop */
	MD_BP_FX_LOW_CUT,
	/* the delay's */
	MD_BP_FX_TIME_L,
	MD_BP_FX_TIME_R,
	MD_BP_FX_FEEDBACK,
	MD_BP_FX_CROSS,
	MD_BP_FX_HIGH_CUT,
	MD_BP_FX_SYNC,
	MD_BP_COUNT
};

/* pan_law and tempo are saved at the top level of a session; tempo is the delay's sync when the JACK
 * transport gives none */
enum md_master_param { MD_MP_FADER, MD_MP_BALANCE, MD_MP_MONO, MD_MP_MUTE, MD_MP_PAN_LAW, MD_MP_TEMPO, MD_MP_COUNT };

struct md_param_desc {
	const char *path; /* relative OSC path, e.g. "eq/2/gain" */
	enum md_kind kind;
	enum md_unit unit;
	float min, max, def;
	const char *const *names; /* MD_KIND_ENUM: names[0..count) */
	const float *choices;     /* MD_KIND_CHOICE: choices[0..count) */
	int count;
	bool automatable;
	bool smooth_db; /* a level in dB: MD_SILENCE_DB and below is silence */
};

/* The descriptor of one parameter; NULL when out of range. [any] */
const struct md_param_desc *md_param_desc(enum md_scope scope, int param);
/* How many parameters a scope has. [any] */
int md_param_count(enum md_scope scope);
/* Look a parameter up by its relative path ("fader", "eq/2/gain"); -1 when unknown. [any] */
int md_param_find(enum md_scope scope, const char *path);
/* Check and clamp a value: MD_ERR_NAN for NaN/inf, otherwise MD_OK with *out clamped/snapped.
 * *changed tells whether *out differs from v. [any] */
enum md_err md_param_clamp(const struct md_param_desc *d, float v, float *out, bool *changed);
/* Enum name of a value, or NULL; and the value of a name (-1 if none). [any] */
const char *md_param_enum_name(const struct md_param_desc *d, float v);
int md_param_enum_value(const struct md_param_desc *d, const char *name);
/* Unit name for documentation and messages ("dB", "Hz", ...). [any] */
const char *md_param_unit_name(enum md_unit u);
/* Whether bus parameter `param` belongs to the effect type `type` (fx/type itself and the parameters that
 * are not the effect's belong to every type): a session saves only the chosen effect's. [any] */
bool md_param_fx_applies(int param, int type);
/* The length of a tempo-sync note value in quarter notes (beats); 0 for MD_SYNC_OFF. [any] */
float md_param_sync_beats(int sync);
/* Default of a strip parameter for a given EQ band layout (band defaults differ). [any] */
float md_param_default(enum md_scope scope, int param);

#endif
