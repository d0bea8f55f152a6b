/* mixdesk: 2x up- and down-sampling with polyphase IIR half-band low-pass filters (Valenzuela and
 * Constantinides, "Digital signal processing schemes for efficient interpolation and decimation", IEE Proc.
 * G 130(6), 1983): H(z) = (A0(z^2) + z^-1 A1(z^2)) / 2, each branch a cascade of first-order allpass
 * sections (a + z^-2) / (1 + a z^-2). The coefficients are the poles of an elliptic half-band filter of odd
 * order 2n + 1, computed at design time from the transition band with Jacobi's theta series, so the stop
 * band is equiripple and the pass band ripple is negligible (power complementary: about the square of the
 * stop band ripple, 2e-9 dB for 93 dB of stop band).
 * Why IIR and not a linear-phase FIR half-band: for the drive's sharpest stage (93 dB, a transition of 1/48
 * of the high rate) a FIR needs about 280 taps (Kaiser's estimate), 70 multiplies per output sample after
 * the half-band zeros, symmetry and polyphase are used, and delays 140 samples of the high rate; this filter
 * needs 9 multiplies, and up and down together delay 3.8 frames of the base rate at 1 kHz. Its phase is not
 * linear, which a saturation whose dry and wet share the filters does not mind.
 * Each branch runs at the low rate: a section there is (a + z^-1) / (1 + a z^-1). No pointers: the drive
 * embeds coefficients and state, and the strip copies them by value on a graph swap. */
#ifndef MD_HALFBAND_H
#define MD_HALFBAND_H

#include <stdint.h>

#define HALFBAND_MAX 12                    /* allpass sections of one filter (order 2 HALFBAND_MAX + 1) */
#define HALFBAND_BRANCH (HALFBAND_MAX / 2) /* sections of one branch, at most */

/* one designed filter: branch 0 takes the even-numbered coefficients of the ascending list, branch 1 the odd */
struct md_halfband {
	int n0, n1; /* sections in branch 0 and branch 1 (n0 = n1 or n1 + 1) */
	float a0[HALFBAND_BRANCH], a1[HALFBAND_BRANCH];
	float transition; /* width of the transition band, relative to the high sample rate */
	float atten_db;   /* stop band attenuation of the design (the equiripple level) */
};

/* The state of one channel through one filter, in either direction. z[k] is the last input of section k
 * and z[k + 1] its last output (which is the next section's last input). */
struct md_halfband_state {
	float z0[HALFBAND_BRANCH + 1], z1[HALFBAND_BRANCH + 1];
};

/* Design the filter whose transition band is `transition` wide (relative to the high rate, centred on a
 * quarter of it: pass band up to 0.25 - transition / 2, stop band from 0.25 + transition / 2) with the
 * fewest sections that reach atten_db (at most HALFBAND_MAX; the stop band is then less). Returns the
 * attenuation reached. Uses libm: call it at set-up. [any] */
double halfband_design(struct md_halfband *h, double transition, double atten_db);
/* The stop band attenuation of an n-section design (exact for the elliptic design: the equiripple level). [any] */
double halfband_atten_db(double transition, int n);
/* Magnitude (linear) and group delay (in samples of the high rate) of the filter at frequency f (relative
 * to the high rate, 0..0.5), evaluated from the float coefficients. For tests and reports. [any] */
void halfband_response(const struct md_halfband *h, double f, double *mag, double *delay);

/* Zero the state. [rt] */
void halfband_reset(struct md_halfband_state *s);
/* End of a block: flush state that fell to denormal size; clear it all when any of it is not finite
 * (returns 1 then). [rt] */
int halfband_flush(struct md_halfband_state *s);

/* Up-sample n samples of in[] to 2n samples of out[] (zero-stuffing and filtering, gain 2 so that the level
 * is kept). in and out must not overlap. [rt] */
void halfband_up(const struct md_halfband *h, struct md_halfband_state *s, const float *in, float *out, uint32_t n);
/* Filter and down-sample 2n samples of in[] to n samples of out[]; out may be in. [rt] */
void halfband_down(const struct md_halfband *h, struct md_halfband_state *s, const float *in, float *out, uint32_t n);

#endif
