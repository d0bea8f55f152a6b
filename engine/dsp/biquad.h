/* mixdesk: one second-order filter section with the responses of the RBJ audio-EQ-cookbook (low-pass,
 * high-pass, peaking, low and high shelf, Q form), realised as a linear trapezoidal state-variable filter
 * (Andrew Simper, Cytomic, "Linear Trapezoidal Integrated SVF", 2013) instead of a direct form.
 * Why: both are the bilinear transform of the same analog prototype with a pre-warped corner, so the
 * magnitude and phase are identical, but the SVF's state is the two integrators' charge, which means the
 * same thing before and after a coefficient change: a glided sweep does not kick the state the way it does
 * in transposed direct form II (measured in tests/test_dsp_sweep.c). State and coefficients are double so
 * that a 20 Hz corner at 192 kHz is exact. No pointers: the strip copies it by value on a graph swap. */
#ifndef MD_BIQUAD_H
#define MD_BIQUAD_H

#include <stdint.h>

enum md_biquad_kind {
	MD_BQ_LOWPASS,
	MD_BQ_HIGHPASS,
	MD_BQ_PEAK,
	MD_BQ_LOWSHELF,
	MD_BQ_HIGHSHELF,
};

struct md_biquad {
	double a1, a2, a3; /* integrator update (from g = tan(pi f / fs) and k = 1 / Q) */
	double m0, m1, m2; /* output mix of input, band-pass and low-pass */
	double z[2][2];    /* the two integrator states per channel */
};

/* Compute coefficients (state untouched). freq is clamped below 0.49 fs; gain_db is ignored by the pass
 * filters. Uses tan and pow: call it per sub-block while a parameter moves, never per sample. [any] */
void biquad_setup(struct md_biquad *b, enum md_biquad_kind kind, double rate, double freq, double q, double gain_db);
/* The identity (output = input). [any] */
void biquad_identity(struct md_biquad *b);
/* Zero the state. [rt] */
void biquad_reset(struct md_biquad *b);
/* End of a block: flush state that fell to denormal size, clear state that went non-finite. [rt] */
void biquad_flush(struct md_biquad *b);

#define MD_BQ_CHAIN_MAX 8

/* Run nch (1 or 2) channels through ns <= MD_BQ_CHAIN_MAX sections in series, sample by sample, both
 * channels side by side. Why not one section over the block at a time: each section's recurrence is a
 * chain of dependent multiply-adds, and a loop over one section is bound by that chain's latency; with all
 * sections and both channels in one loop their recurrences are independent and the CPU overlaps them
 * (measured: twice as fast for a strip's eight sections). [rt] */
void biquad_process_chain(struct md_biquad *const *b, int ns, float *const ch[2], int nch, uint32_t n);

/* One channel of one strip for biquad_process_lanes: its sections in series, the channel's index (0 or 1) in
 * their state, and its samples. */
struct md_bq_lane {
	struct md_biquad *s[MD_BQ_CHAIN_MAX];
	int ns;
	int c;
	float *x;
};

#define MD_BQ_LANES 4 /* channels side by side in biquad_process_lanes' vectors */

/* Run the chains of nl lanes (channels of any strips, mono or stereo) over n samples each, in place,
 * MD_BQ_LANES channels per vector: what biquad_process_chain does for one strip, with the vector full
 * whatever the strips' widths (a mono strip fills one lane, not two). The lanes are grouped by their count
 * of sections, a shorter chain padded with identity sections; order[] is scratch for nl entries. Each lane
 * computes exactly what biquad_process_chain computes for it. With AVX the vector is one register; the
 * function is built for both and picks at run time. [rt] */
void biquad_process_lanes(struct md_bq_lane *lanes, int nl, uint32_t n, int16_t *order);

/* Filter n samples of channel c in place, mixed with the dry signal: x + m[i] * (filtered - x), a
 * cross-fade between bypass (m = 0) and the section (m = 1). [rt] */
static inline void biquad_process_mix(struct md_biquad *b, int c, float *x, uint32_t n, const float *m)
{
	const double a1 = b->a1, a2 = b->a2, a3 = b->a3, m0 = b->m0, m1 = b->m1, m2 = b->m2;
	double s1 = b->z[c][0], s2 = b->z[c][1];
	for (uint32_t i = 0; i < n; i++) {
		double v0 = x[i];
		double v3 = v0 - s2;
		double v1 = a1 * s1 + a2 * v3;
		double v2 = s2 + a2 * s1 + a3 * v3;
		s1 = 2.0 * v1 - s1;
		s2 = 2.0 * v2 - s2;
		double y = m0 * v0 + m1 * v1 + m2 * v2;
		x[i] = (float)(v0 + m[i] * (y - v0));
	}
	b->z[c][0] = s1;
	b->z[c][1] = s2;
}

#endif
