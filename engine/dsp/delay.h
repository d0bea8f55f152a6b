/* mixdesk: a stereo delay with feedback, ping-pong cross-feed and a high-pass and low-pass in the loop,
 * 100 % wet (it sits on an aux bus). Per side:
 *   out   = line read at the current delay
 *   write = in + feedback * lp(hp((1 - cross) * own out + cross * other out))
 * so the first echo is the input delayed exactly and every further repeat passes the loop filters once.
 *
 * Delay time: settled, the delay is the whole number round(time_ms * rate / 1000) and the line is read at
 * that index, no interpolation. A new time moves the read head like a tape machine's: the delay follows a
 * cubic in time from where it is (position and speed) to the new whole number, where it lands exactly and
 * stops; the read in between is 4-point Hermite interpolated. The pitch bends by the factor 1 - (rate of
 * change of the delay), which the glide's length keeps within 1 -/+ MD_DELAY_GLIDE_SPEED (a fifth down to a
 * fourth up), so a large change takes long (4.5 times the change: 300 -> 700 ms in 1.8 s, the whole range in
 * 9 s) and a small one MD_DELAY_GLIDE_MIN_MS. A new time during a glide starts a new cubic from the head's
 * position and speed: no step in either.
 *
 * Feedback and cross ramp linearly over MD_DELAY_RAMP_MS; the filter corners glide in log2 with a one-pole
 * of MD_DELAY_TAU_MS, stepped every MD_DELAY_SUB samples (the strip filters' scheme, engine/dsp/strip_dsp.h).
 * The filters are 2nd-order Butterworth sections (engine/dsp/biquad.h's SVF, double state), both sides in
 * one section's two channels.
 *
 * Holds a pointer (the lines): it is not copied by value, unlike the strip DSP. */
#ifndef MD_DELAY_H
#define MD_DELAY_H

#include "engine/dsp/biquad.h"
#include "engine/dsp/smooth.h"

#include <stdbool.h>
#include <stdint.h>

#define MD_DELAY_MAX_MS 2000.0f
#define MD_DELAY_MIN_MS 1.0f
#define MD_DELAY_FB_MAX 0.95f
#define MD_DELAY_LOW_CUT_MIN 20.0f
#define MD_DELAY_LOW_CUT_MAX 2000.0f
#define MD_DELAY_HIGH_CUT_MIN 1000.0f
#define MD_DELAY_HIGH_CUT_MAX 20000.0f

#define MD_DELAY_GLIDE_SPEED 0.33333333 /* largest change of the delay per sample during a glide */
#define MD_DELAY_GLIDE_MIN_MS 200.0     /* shortest glide (a change of a few samples) */
#define MD_DELAY_RAMP_MS 20.0f          /* linear ramp of feedback and cross */
#define MD_DELAY_TAU_MS 20.0f           /* time constant of the filter corners' glide */
#define MD_DELAY_SUB 16                 /* samples between filter-corner steps */

struct md_delay_params {
	float time_ms[2]; /* left, right: 1..2000 ms (the engine computes them from tempo sync when that is on) */
	float feedback;   /* 0..0.95, linear gain of each repeat */
	float cross;      /* 0..1: share of each side's feedback that goes to the other side (1 = ping-pong) */
	float low_cut;    /* Hz, 20..2000: high-pass inside the feedback loop; 20 = as good as open */
	float high_cut;   /* Hz, 1000..20000: low-pass inside the feedback loop; 20000 = as good as open */
};

/* One side's read head. The glide is d(x) = from + vel0 len h10(x) + dist h01(x), x = t / len, with the
 * cubic Hermite basis h10 = x (1 - x)^2, h01 = x^2 (3 - 2 x): it starts at from with speed vel0 and stops
 * at from + dist = target with speed 0. */
struct md_delay_head {
	int32_t target; /* samples */
	bool gliding;
	double from, vel0, dist; /* samples, samples per sample, samples */
	double c2, c3;           /* the same cubic's coefficients of t^2 and t^3 */
	uint32_t t, len;         /* the next sample's place in the glide, and the glide's length */
};

struct md_delay {
	float *line[2]; /* left, right: size samples each, one allocation (line[0]) */
	uint32_t size, mask;
	uint32_t w; /* where the next input sample is written (the same place in both lines) */
	float rate;
	double max_pos; /* the longest delay a glide may read at: the line's length less the interpolator's taps */
	struct md_delay_head head[2];
	struct md_smooth fb, cross;
	uint32_t ramp; /* samples of a feedback or cross ramp */
	struct md_biquad hp, lp;
	float hp_lf, hp_lf_target, lp_lf, lp_lf_target; /* log2 of the corners now and where they glide to */
	float glide_k;                                  /* one-pole step of the corners per MD_DELAY_SUB samples */
	uint32_t sub_left;                              /* samples until the next corner step */
	bool filt_moving;
};

/* Allocate and clear the lines for rate (sized for MD_DELAY_MAX_MS plus the glide's reach), with p in
 * place at once (no ramps). 0, or -1 when there is no memory (or rate is not a positive finite number); d
 * then owns nothing. [control] */
int delay_init(struct md_delay *d, float rate, const struct md_delay_params *p);
/* Release the lines; d may be freed twice. [control] */
void delay_free(struct md_delay *d);
/* New targets, clamped to the ranges (NaN counts as the low end): times glide, levels ramp, corners glide.
 * Unchanged values leave their glides alone. [rt] */
void delay_set(struct md_delay *d, const struct md_delay_params *p);
/* n <= MD_BLOCK frames; out is 100 % wet; in and out may not alias. [rt] */
void delay_process(struct md_delay *d, const float *in_l, const float *in_r, float *out_l, float *out_r, uint32_t n);
/* Clear the lines and the filters, land every glide and ramp on its target (after a NaN was seen). [rt] */
void delay_reset(struct md_delay *d);

#endif
