/* mixdesk: a bus's built-in effect slot: one instance of the reverb or the delay (engine/dsp/), made with its
 * memory off the audio thread, fed the bus's send sum and returning it 100 % wet.
 *
 * Consecutive graphs share the instance of a bus that keeps its effect (same uid, type and rate), so a
 * structural edit elsewhere never interrupts a reverb's tail: during the graphs' crossfade the instance runs
 * once per sub-block, fed both graphs' send sums weighted as their outputs are (fx_gather), and both graphs
 * take the same wet signal (fx_run). A type change builds a new graph with a new instance: the graph
 * crossfade is the type's crossfade. A reference count, touched only on the control side, frees an instance
 * with the last graph that holds it. */
#ifndef MD_FX_H
#define MD_FX_H

#include "engine/dsp/delay.h"
#include "engine/dsp/reverb.h"
#include "engine/model/md.h"
#include "engine/model/param.h"

#include <stdbool.h>
#include <stdint.h>

struct md_fx {
	int type; /* enum md_fx_type: MD_FX_REVERB or MD_FX_DELAY */
	uint32_t rate;
	int refs;                     /* graphs holding it [control] */
	float bpm;                    /* the tempo the delay's sync was last computed for */
	float p[MD_BP_COUNT];         /* the bus parameters last applied */
	uint64_t in_stamp, out_stamp; /* the sub-block the input was gathered for, and the one processed */
	struct md_reverb rev;
	struct md_delay dly;
	float in[2][MD_BLOCK];
	float out[2][MD_BLOCK];
};

/* A new instance of type for a bus with parameters p[MD_BP_COUNT] at the tempo bpm, settled at those values
 * (no glide from defaults), with one reference; NULL on MD_FX_NONE or without memory. [control] */
struct md_fx *fx_new(int type, uint32_t rate, const float *p, float bpm);
/* Take one more reference, or drop one (freeing the instance with the last). [control] */
void fx_ref(struct md_fx *f);
void fx_unref(struct md_fx *f);
/* New parameter values (p[MD_BP_COUNT]) or a new tempo: the effect glides to them. [rt] */
void fx_set(struct md_fx *f, const float *p, float bpm);
/* Add x (n samples of two channels) into the input of sub-block `stamp`, weighted by w0 ramping by dw; the
 * first call for a stamp clears the input. [rt] */
void fx_gather(struct md_fx *f, uint64_t stamp, float (*x)[MD_BLOCK], uint32_t n, float w0, float dw);
/* Process sub-block `stamp` once (later calls for the same stamp return at once) and return its output. A
 * non-finite output is silenced and the effect's state cleared. [rt] */
float (*fx_run(struct md_fx *f, uint64_t stamp, uint32_t n))[MD_BLOCK];

#endif
