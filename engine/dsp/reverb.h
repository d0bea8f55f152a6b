/* mixdesk: a stereo algorithmic reverb for the aux returns, 100 % wet. The mono in-sum goes through a
 * predelay and four series allpasses (input diffusion) into a feedback delay network of 16 lines (Jot and
 * Chaigne 1991) closed by a 16 x 16 Hadamard matrix. Each line carries its own absorption: a one-pole
 * low/mid split with gains from the RT60 of each band, then a one-pole low-pass solved per line so that
 * the decay time at `damping` Hz is half of `decay`; so every mode of the network decays at the rate
 * asked for whatever lines it lives in. The outputs are two rows of the matrix (orthogonal tap patterns
 * over the lines) as mid and side, width scaling the side, then a 12 dB/oct high-pass. The level: -20 dBFS
 * pink noise in gives -20 dBFS RMS out at a 2 s decay, at any size. engine/dsp/reverb.c has the numbers.
 *
 * Memory is allocated once, for the longest setting at the rate. Parameters glide (two one-poles of
 * MD_REVERB_TAU_MS / 2 stepped every MD_REVERB_SUB samples, coefficients ramped between the steps; line
 * lengths and the predelay as moving read heads with interpolation, exact integer lengths once they have
 * arrived). Cost at 48 kHz: about 25 ns per frame at rest, 80 while the size glides. Unlike the strip
 * DSP, a reverb owns its buffers (2.4 MB at 192 kHz, 0.6 MB at 48 kHz): pass it by pointer, never copy it. */
#ifndef MD_REVERB_H
#define MD_REVERB_H

#include "engine/dsp/biquad.h"

#include <stdbool.h>
#include <stdint.h>

#define MD_REVERB_LINES 16
#define MD_REVERB_DIFFUSERS 4
#define MD_REVERB_SUB 32       /* samples between parameter steps; also the most one inner pass handles */
#define MD_REVERB_TAU_MS 50.0f /* time constant of the parameter glide */

enum { MD_REVERB_MID, MD_REVERB_DIF, MD_REVERB_POLE, MD_REVERB_XO };

struct md_reverb_params {
	float decay;     /* s, RT60 at mid frequencies, 0.2..10 */
	float predelay;  /* ms, 0..250 */
	float low_decay; /* multiplier of decay below the crossover, 0.5..2.5 */
	float crossover; /* Hz, 50..1000: the low/mid split of the decay */
	float damping;   /* Hz, 1000..20000: above it the decay time falls (at this frequency it is half of decay) */
	float low_cut;   /* Hz, 20..1000: high-pass on the return */
	float width;     /* 0..1: 0 mono, 1 fully decorrelated sides */
	float size;      /* 0.5..2: scales the network's delay lengths (room .. hall) */
};

/* a glided value: mid follows target and cur follows mid, one-pole steps at every parameter step */
struct md_reverb_glide {
	float cur, mid, target;
};

struct md_reverb {
	float rate;
	float *mem; /* one block holds every delay buffer */

	/* glides, in the domain each moves in: ln s, factor, log2 Hz, log2 Hz, log2 Hz, 0..1 */
	struct md_reverb_glide decay, low_decay, crossover, damping, low_cut, width;
	float glide_k;     /* the step of each of a glide's one-poles per parameter step */
	uint32_t sub_left; /* samples until the next parameter step */
	bool moving;       /* a loop or output coefficient has still to follow a glide */

	/* predelay: a read head behind the write head, in samples (double: a float stalls short of its
	 * target at 48000 samples) */
	float *pre;
	uint32_t pre_mask, pre_w;
	double pre_d, pre_mid, pre_to;
	double pre_k; /* the step of each of its one-poles per sample */

	/* input diffusion: Schroeder allpasses (lattice form) */
	float *ap[MD_REVERB_DIFFUSERS];
	uint32_t ap_len[MD_REVERB_DIFFUSERS], ap_i[MD_REVERB_DIFFUSERS];

	/* the network: line i is lines[i * (line_mask + 1) ...], all written at w */
	float *lines;
	uint32_t line_mask, w;
	float size_to;                    /* the size the target lengths were made for */
	uint32_t len_to[MD_REVERB_LINES]; /* target lengths, mutually prime (distinct primes) */
	double len[MD_REVERB_LINES];      /* the lengths now, fractional while they move */
	double len_step[MD_REVERB_LINES]; /* per sample, until the next parameter step */
	double len_end[MD_REVERB_LINES];  /* where this parameter step ends */
	double len_mid[MD_REVERB_LINES];  /* the first of the two one-poles the lengths glide with */
	bool len_moving;                  /* some length is not at its target */
	/* the loop coefficients per line, ramped sample by sample to the values computed at each parameter
	 * step: [MD_REVERB_MID] per-pass gain of the mids, [MD_REVERB_DIF] low gain minus mid gain (applied
	 * to the low band), [MD_REVERB_POLE] the damping one-pole's pole, [MD_REVERB_XO] the crossover
	 * one-pole's coefficient (the same in every line) */
	float co[4][MD_REVERB_LINES], co_to[4][MD_REVERB_LINES], co_d[4][MD_REVERB_LINES];
	float lp_z[MD_REVERB_LINES];    /* crossover low-pass state */
	float damp_z[MD_REVERB_LINES];  /* damping state */
	float width_cur, width_step;    /* the side gain, ramped sample by sample */
	float gain, gain_to, gain_step; /* the output gain (it follows the lines' total length) */

	struct md_biquad hp; /* the low cut, both channels */
	float hp_from;       /* log2 Hz at the start of this parameter step */
	bool hp_moving;      /* the low cut glides in this step */
};

/* Allocate for the rate (sized for the longest setting, 192 kHz included) and start at p without glides.
 * r is overwritten: reverb_free an initialised one first. 0, or -1 (no memory, or a rate that is not
 * finite and positive). [control] */
int reverb_init(struct md_reverb *r, float rate, const struct md_reverb_params *p);
/* Release the memory; safe on a zeroed or freed struct. [control] */
void reverb_free(struct md_reverb *r);
/* New targets (clamped to their ranges), glided from where the parameters are now. [rt] */
void reverb_set(struct md_reverb *r, const struct md_reverb_params *p);
/* n <= MD_BLOCK frames; out is 100 % wet; in and out may not alias. [rt] */
void reverb_process(struct md_reverb *r, const float *in_l, const float *in_r, float *out_l, float *out_r, uint32_t n);
/* Clear every delay and filter state (after a NaN was seen); the parameters stay. [rt] */
void reverb_reset(struct md_reverb *r);

#endif
