/* mixdesk: the strip dynamics, a noise gate and a feed-forward compressor, stereo-linked (one detector
 * for both channels: the larger sample magnitude). Both smooth their gain in dB with one-pole filters whose
 * time constant is the time to cover 1 - 1/e (63.2 %) of a step: g += k (target - g), k = 1 - exp(-1/(tau fs)); docs/DSP.md has the formulas. Fixed-size
 * state without pointers: the strip copies it by value on a graph swap. */
#ifndef MD_DYNAMICS_H
#define MD_DYNAMICS_H

#include "engine/dsp/smooth.h"

#include <stdbool.h>
#include <stdint.h>

struct md_gate {
	bool on;
	float thr;       /* opens when the detector reaches this linear level */
	float range_db;  /* gain while closed (<= 0) */
	double att, rel; /* per-sample one-pole steps 1 - exp(-1 / (tau fs)) for opening and closing */
	uint32_t hold;   /* samples the gate stays open after the detector last reached the threshold */
	uint32_t hold_left;
	double g_db; /* the gain now, dB (double: a float stalls short of -90 dB with slow releases) */
};

struct md_comp {
	bool on;
	float thr_db, knee_db, slope; /* slope = 1/ratio - 1 */
	double att, rel;              /* per-sample one-pole steps 1 - exp(-1 / (tau fs)) */
	double g_db;                  /* the smoothed gain reduction now, dB (<= 0) */
	struct md_smooth makeup;      /* dB, ramped linearly */
	float rate;
};

/* Set parameters (times in ms, levels in dB). The gain carries on from where it is. [any] */
void dyn_gate_setup(struct md_gate *g, float rate, bool on, float thr_db, float range_db, float attack_ms,
		    float hold_ms, float release_ms);
void dyn_gate_reset(struct md_gate *g);                                            /* [rt] */
void dyn_gate_process(struct md_gate *g, float *const ch[2], int nch, uint32_t n); /* [rt] */

/* instant: the make-up gain lands at once (initialisation) instead of ramping. [any] */
void dyn_comp_setup(struct md_comp *c, float rate, bool on, float thr_db, float ratio, float attack_ms,
		    float release_ms, float knee_db, float makeup_db, bool instant);
void dyn_comp_reset(struct md_comp *c);                                            /* [rt] */
void dyn_comp_process(struct md_comp *c, float *const ch[2], int nch, uint32_t n); /* [rt] */

/* The compressor's static gain computer: gain in dB (<= 0) for a detector level x_db. [any] */
float dyn_comp_static_db(float thr_db, float ratio, float knee_db, float x_db);

/* Fast log2 and exp2 for the per-sample dB conversions (error below 1e-5 dB from -140 to +40 dB). [any] */
float dyn_log2(float x);
float dyn_exp2(float x);

#endif
