/* mixdesk: the mixer's private state, shared by mixer.c (parameters, structure, graphs, feedback marks) and
 * autorec.c (automation: passes, touch, modes, following the lanes, lane edits, the transport), which mixer.c
 * calls through the mx_ functions below. Every function is [control]: the control loop's thread only. */
#ifndef MD_MIXER_INT_H
#define MD_MIXER_INT_H

#include "engine/mixer/mixer.h"

#include <stdbool.h>
#include <stdint.h>

#define MX_WORDS(n) (((n) + 63) / 64)

/* one bit per parameter of every strip, bus and the master */
struct mx_bits {
	uint64_t strip[MD_MAX_STRIPS][MX_WORDS(MD_SP_COUNT)];
	uint64_t bus[MD_MAX_BUSES][MX_WORDS(MD_BP_COUNT)];
	uint64_t master[MX_WORDS(MD_MP_COUNT)];
	bool any;
};

#define MX_MAX_PASSES 32

/* one recording pass of a held (or written) control */
struct mx_pass {
	bool active;
	uint8_t scope;
	int index, param;
	bool held; /* the controller still holds it */
	int n, cap;
	double *t;
	float *v;
};

/* an insert parameter (or bypass: param -1) changed, for feedback */
struct mx_insert_mark {
	uint8_t scope, slot;
	int16_t param;
	int index;
};

#define MX_INSERT_MARKS 1024

struct md_mixer {
	struct md_console *con;
	struct md_engine *eng;
	struct md_mixer_host *host;
	uint32_t rate;
	bool held[MD_MAX_SLOTS]; /* slots a submitted graph may still use */
	bool rebuild_pending;
	uint32_t serial;
	struct mx_bits dirty, pending;
	struct mx_pass passes[MX_MAX_PASSES];
	uint64_t changes; /* edits by a user (not automation playing): mixer_changes */
	bool allow_non_rt;
	bool insert_resend; /* an insert record did not fit the queue: mixer_tick sends every kept value again */
	int ninsert_marks;  /* feedback marks of insert parameters; past MX_INSERT_MARKS, the oldest go */
	struct mx_insert_mark insert_marks[MX_INSERT_MARKS];
	bool was_rolling;
	double follow_pos; /* the position lanes were last followed at */
};

static inline uint64_t *mx_bitword(struct mx_bits *b, enum md_scope scope, int index, int param)
{
	switch (scope) {
	case MD_SCOPE_STRIP: return &b->strip[index][param / 64];
	case MD_SCOPE_BUS: return &b->bus[index][param / 64];
	case MD_SCOPE_MASTER: return &b->master[param / 64];
	}
	return NULL;
}

static inline void mx_bit_set(struct mx_bits *b, enum md_scope scope, int index, int param)
{
	*mx_bitword(b, scope, index, param) |= 1ull << (param % 64);
	b->any = true;
}

/* mixer.c: build and submit a graph of the console (or leave it to mixer_tick while a swap is pending) */
enum md_err mx_rebuild(struct md_mixer *m);

/* inserts.c: the running plugins' states into the console, for a save (mixer_snapshot) */
void mx_capture_plugin_states(struct md_mixer *m);
/* inserts.c: each tick, the insert values a full queue refused */
void mx_insert_resend(struct md_mixer *m);

/* autorec.c */
/* A parameter was set to v: appended to its pass when its lane records (write; touch and latch while held). */
void mx_record(struct md_mixer *m, enum md_scope scope, int index, int param, float v);
/* End every pass, writing what was recorded into the lanes (before indices may move). */
void mx_end_all_passes(struct md_mixer *m);
/* Held controls stay held in a new graph from its first period. */
void mx_hold_passes(struct md_mixer *m, struct md_graph *g);
/* Each tick: passes end when the transport stops, latched ones go on; playing lanes move the model. */
void mx_follow(struct md_mixer *m);
/* Free the passes' buffers (mixer_free). */
void mx_free_passes(struct md_mixer *m);

#endif
