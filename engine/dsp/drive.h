/* mixdesk: the strip's drive, an oversampled saturation. The input is up-sampled so that the shaper runs
 * at 176.4 kHz or more (4x at 44.1/48 kHz, 2x at 88.2/96 kHz, none from 176.4 kHz on) through the
 * half-band filters of engine/dsp/halfband.h, shaped by one of three smooth curves, mixed with its own
 * up-sampled dry signal (so that dry and wet share the filters and never comb), and down-sampled again.
 * The wet signal is scaled by a level compensation c(amount, character) that keeps a -12 dBFS sine at its
 * RMS level, so that the amount changes the colour more than the level.
 *
 * Smoothing: amount (in dB), mix and the character cross-fade move in linear ramps of MD_DRIVE_RAMP_MS;
 * the shaper's gains are recomputed every MD_DRIVE_SUB frames from the ramped values and interpolated
 * linearly in between at the oversampled rate. `on` cross-fades between the untouched input and the
 * processed path over MD_DRIVE_RAMP_MS. A character change while another is under way waits for it to end
 * (or turns it back when it asks for the character being left).
 *
 * Fixed-size state without pointers: the strip copies it by value on a graph swap. */
#ifndef MD_DRIVE_H
#define MD_DRIVE_H

#include "engine/dsp/halfband.h"
#include "engine/dsp/smooth.h"

#include <stdint.h>

#define MD_DRIVE_RAMP_MS 20.0f /* ramps of amount and mix, and the on and character cross-fades */
#define MD_DRIVE_SUB 16        /* frames between recomputations of the shaper's gains while they move */
#define MD_DRIVE_AMOUNT_MAX 24.0f
#define MD_DRIVE_REF_DB (-12.0f) /* the peak level of the sine that the level compensation keeps */
/* corner of the DC blocker on the wet signal: low enough that the wet part is within 0.07 dB at 20 Hz
 * (5 Hz would take 0.26 dB there), its time constant 64 ms */
#define MD_DRIVE_DC_HZ 2.5f

enum md_drive_character { MD_DRIVE_SOFT, MD_DRIVE_TAPE, MD_DRIVE_TUBE, MD_DRIVE_CHARACTERS };

struct md_drive_params {
	int on;        /* 0/1 */
	float amount;  /* dB of drive into the shaper, 0..24 */
	int character; /* enum md_drive_character */
	float mix;     /* 0..1, 1 = all driven */
};

/* the gains of the oversampled mix at one instant: out = dry x + wa fa(g x) + wb fb(g x) */
struct md_drive_gains {
	float g, dry, wa, wb;
};

struct md_drive {
	float rate;
	int factor;               /* oversampling: 1, 2 or 4 */
	int stages;               /* half-band stages: 0, 1 or 2 */
	uint32_t ramp;            /* frames of a ramp */
	struct md_halfband hb[2]; /* stage 0 between the base rate and 2x, stage 1 between 2x and 4x */
	struct md_halfband_state up[2][2], down[2][2]; /* [stage][channel] */
	double dc_r;                                   /* DC blocker pole, at the oversampled rate */
	double dc_x[2], dc_y[2];                       /* its last input and output per channel */

	int on_target;
	struct md_smooth on; /* 0: the input untouched, 1: the processed path */
	struct md_smooth amount, mix;
	/* the character cross-fade: from ch_a to ch_b while fade ramps 0 -> 1; ch_next waits for its turn */
	int ch_a, ch_b, ch_next;
	struct md_smooth fade;
	/* level compensation for ch_a and ch_b, and the amounts they were computed at (NAN: not yet) */
	float comp_a, comp_b, comp_a_db, comp_b_db;
	float gain, gain_db;         /* the linear drive gain, and the amount it was computed at (NAN: not yet) */
	struct md_drive_gains gains; /* now (at the last oversampled sample processed) */
	struct md_drive_gains end;   /* at the end of the current sub-block */
	struct md_drive_gains step;  /* per oversampled sample, in the current sub-block */
	uint32_t sub_left;           /* frames left in the current sub-block */
	int moving;                  /* the gains change in the current sub-block */
};

/* Prepare for a sample rate and parameters: no ramps, the state cleared. [control] */
void drive_init(struct md_drive *d, float rate, const struct md_drive_params *p);
/* New parameter targets, reached through the ramps. Out-of-range values are clamped, a non-finite one
 * ignored. [rt] */
void drive_set(struct md_drive *d, const struct md_drive_params *p);
/* 0 when off and settled: drive_process is then the identity and may be skipped. [rt] */
int drive_active(const struct md_drive *d);
/* Process n <= MD_BLOCK frames of nch (1 or 2) channels in place. [rt] */
void drive_process(struct md_drive *d, float *const ch[2], int nch, uint32_t n);
/* Clear the filter state (after a NaN was seen). [rt] */
void drive_reset(struct md_drive *d);

/* The shaper of a character at input x (its slope at 0 is 1), and the level compensation for an amount in
 * dB: the gain that brings a -12 dBFS sine driven by `amount_db` back to its own RMS level. For tests and
 * reports; drive_process uses the same functions. [any] */
float drive_shape(int character, float x);
float drive_comp(int character, float amount_db);
/* Group delay of the filters (up and down together) in frames of the base rate, at frequency f. [any] */
double drive_delay(const struct md_drive *d, double f);

#endif
