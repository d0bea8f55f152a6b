/* mixdesk: the processing between a strip's trim and its fader: the drive (an oversampled saturation, the
 * preamp stage), high-pass and low-pass filters, the 4-band parametric EQ and the dynamics (gate, then
 * compressor). The engine embeds one per strip and copies
 * it by value on a graph swap, so everything here is fixed-size state without pointers.
 *
 * Smoothing: filter parameters (frequency in log2, gain in dB, Q in log2) glide towards their targets with
 * a one-pole of time constant MD_SDSP_TAU_MS, stepped every MD_SDSP_SUB samples; coefficients are
 * recomputed from the glided values at those steps only while something still moves. Switching a filter
 * on, off or between 12 and 24 dB/oct cross-fades its sections against the dry signal; an EQ band that is
 * switched off or changes type first glides its gain to 0 dB (where every band type is the identity). */
#ifndef MD_STRIPDSP_H
#define MD_STRIPDSP_H

#include "engine/dsp/biquad.h"
#include "engine/dsp/drive.h"
#include "engine/dsp/dynamics.h"
#include "engine/model/md.h"
#include "engine/model/param.h"
#include "engine/dsp/smooth.h"

#include <stdbool.h>
#include <stdint.h>

#define MD_SDSP_SUB 16         /* samples between parameter steps (and coefficient updates) */
#define MD_SDSP_TAU_MS 20.0f   /* time constant of the parameter glide */
#define MD_SDSP_XFADE_MS 20.0f /* cross-fade of a filter section switched in or out */

/* a glided parameter */
struct md_strip_dsp_glide {
	float cur, target;
};

/* a high-pass or low-pass filter: section 0 alone is 12 dB/oct, both sections are 24 dB/oct */
struct md_strip_dsp_pass {
	struct md_biquad s[2];
	struct md_strip_dsp_glide lf, q0; /* log2 of the corner frequency; Q of section 0 */
	struct md_smooth mix[2];          /* 0: section bypassed, 1: section in */
	bool moving;
};

struct md_strip_dsp_band {
	struct md_biquad s;
	struct md_strip_dsp_glide lf, gain, lq; /* log2 Hz, dB, log2 Q */
	float want_gain;                        /* the gain once the type is right (0 when off) */
	int type, want_type;                    /* the type computed now, and the one asked for */
	bool moving;
};

struct md_strip_dsp {
	float rate;
	float gr_db;       /* current compressor + gate gain reduction, dB (<= 0) */
	float glide;       /* one-pole coefficient per parameter step */
	uint32_t xfade;    /* samples of a section cross-fade */
	uint32_t sub_left; /* samples until the next parameter step */
	bool moving;       /* any filter parameter still gliding */
	struct md_strip_dsp_pass hpf, lpf;
	struct md_strip_dsp_band band[MD_EQ_BANDS];
	struct md_gate gate;
	struct md_comp comp;
	struct md_drive drive;
};

/* Prepare for a sample rate, with the parameter values p[MD_SP_COUNT] already in place (no ramps). [control] */
void strip_dsp_init(struct md_strip_dsp *d, float rate, const float *p);
/* New parameter values (any filter, EQ or dynamics parameter changed): set targets, ramp from here. [rt] */
void strip_dsp_update(struct md_strip_dsp *d, const float *p);
/* Process n <= MD_BLOCK frames of nch (1 or 2) channels in place: drive, filters, dynamics. [rt] */
void strip_dsp_process(struct md_strip_dsp *d, float *const ch[2], int nch, uint32_t n);
/* The drive alone (nothing when it is off and settled), the first stage of strip_dsp_process. [rt] */
void strip_dsp_drive(struct md_strip_dsp *d, float *const ch[2], int nch, uint32_t n);
/* strip_dsp_process after the drive in two halves, so that the engine can run the filters of many strips side by side
 * (biquad_process_lanes) between them: the filters (HPF, LPF, EQ), then the dynamics and the end-of-block
 * bookkeeping. [rt] */
void strip_dsp_filters(struct md_strip_dsp *d, float *const ch[2], int nch, uint32_t n);
void strip_dsp_dynamics(struct md_strip_dsp *d, float *const ch[2], int nch, uint32_t n);
/* When nothing glides or cross-fades in this block, the filter half is a plain chain of sections: put
 * them in s[] (in order) and return their count (0: nothing to filter), after resetting the sections at
 * rest as strip_dsp_filters does; running them in series over the block is then exactly strip_dsp_filters.
 * Otherwise -1: call strip_dsp_filters. [rt] */
int strip_dsp_chain(struct md_strip_dsp *d, struct md_biquad *s[MD_BQ_CHAIN_MAX]);
/* Clear all filter and envelope state (after a NaN was seen). [rt] */
void strip_dsp_reset(struct md_strip_dsp *d);
/* Current gain reduction in dB (0 when none): gate plus compressor at the end of the last block. [rt] */
float strip_dsp_gr_db(const struct md_strip_dsp *d);

#endif
