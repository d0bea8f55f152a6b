/* mixdesk: the reverb's numbers and inner loops.
 *
 * Network: 16 lines, base lengths 12..78 ms at size 1 (roughly geometric, ratio 1.13, so that the echoes
 * of the first passes do not bunch), times size and the rate, each rounded up to a prime, all distinct (so
 * mutually prime: no two lines share a period, and the network's modes do not pile up on common
 * frequencies). Their sum at size 1 is 0.57 s: 0.57 modes per Hz. The shortest line is the network's own
 * gap after the predelay: 12 ms x size. The feedback matrix is the 16-point Sylvester Hadamard matrix / 4
 * (orthogonal, every entry +-1/4: each line feeds every line equally, the echo density multiplies by 16
 * per pass), done as four butterfly stages: one between two vectors of 8 lines, three inside each vector.
 *
 * Absorption (Jot): a line of L samples must lose 60 dB in T seconds, g = 10^(-3 L / (T fs)), so that
 * every mode decays at the same rate whichever lines it lives in. Per line, in the loop:
 *   crossover: lp = one-pole low-pass at `crossover`; y = m x + (l - m) lp, a first-order shelf from l
 *     (DC: the gain for decay * low_decay) to m (the mids). Its modulus stays below max(l, m) at every
 *     frequency (lp lies in the disc on [a/(2-a), 1]), so the shelf can never make the loop gain reach 1.
 *   damping: a one-pole low-pass (1 - p) / (1 - p z^-1) whose pole is solved from the line's mid gain g
 *     so that |H(damping)| = g: the loss per pass at `damping` is twice the mid loss, the decay time there
 *     half of `decay`. With A = 1 - g^2, B = A + g^2 (1 - cos wd): p = A / (B + sqrt(B^2 - A^2)).
 *   reference: both filters also cost a little in the mids (the low-pass 3 % of the decay at 1 kHz at the
 *     defaults, 6 % at 0.5 s; the shelf's low gain leaks 2 octaves up, 6 % at low_decay 0.5), so m is
 *     solved (a quadratic) for the loop gain g exactly at f_ref = min(1 kHz, damping / 3): the decay there
 *     is `decay`. The loop gain still stays below 1: the low-pass falls with frequency and f_ref < damping,
 *     so |H(f_ref)| > |H(damping)| = g, the shelf must give g / |H(f_ref)| < 1 at f_ref, and m is kept
 *     within [q^2, sqrt(q)] of that q. At `damping` the decay comes out a little over half (0.52 of
 *     `decay` at 6 kHz, 0.55 at 3 kHz, measured).
 *
 * Input: the mono sum, clamped at +-1e4 (+80 dBFS: far above any real signal; it keeps the state finite
 * for any finite input), the predelay, four Schroeder allpasses of 1.4..5.2 ms (gains 0.62, 0.58: their
 * echoes are 60 dB down within 75 ms, well inside the shortest decay), then into every line with a fixed
 * +-1/4 sign pattern.
 *
 * Output: two rows of the matrix (what the feedback sends into lines 5 and 10, before the input is
 * added), two orthogonal +-1/4 patterns over all 16 lines, taken as mid and side: L = mid + width side,
 * R = mid - width side. Why not one row per side: the rows' energies differ by up to 1 dB (echoes along
 * the same lines in another order arrive together, and add or cancel by the signs of the row), and a row
 * per side leaned the image 0.5 dB; mid/side of two uncorrelated rows gives both sides the same level
 * (0.1 dB measured) at the price of the rows' small correlation (0.1). The mono sum never changes with
 * width. Level: by the network's energy balance (the power put in equals the energy lost per sample,
 * spread over the lines' total length S) a row's power is (input power) T fs / (6 ln 10 S), so the gain
 * sqrt(3 ln 10 S / (2 s fs)) gives out RMS = in RMS at a 2 s decay, whatever the size (S is the lengths of
 * the moment). That balance assumes the decay is the same at every frequency; the damping and the low cut
 * take 3.75 dB from -20 dBFS pink noise at the defaults, measured, which LEVEL_TRIM gives back: out is
 * then -20 dBFS RMS (+-0.3 dB at sizes 0.5..2), and goes with the decay (-7 dB at 0.5 s, +8 dB at 10 s).
 *
 * Glides: decay (in ln s), low_decay, crossover, damping and low_cut (in log2 Hz) and width move every
 * MD_REVERB_SUB samples through two one-poles in series of MD_REVERB_TAU_MS / 2 each (critically damped:
 * a glide sets off with zero speed, where a single one-pole's kink in the gains or the read heads' speed
 * shows as a faint broadband burst). The loop coefficients, the output gain and width are computed at
 * those steps and ramped linearly sample by sample between them; the low cut, which cannot be ramped, is
 * stepped every HP_SUB samples while it moves. Line lengths glide to their new primes the same way
 * (SIZE_TAU_MS), the second one-pole's speed limited to SIZE_SLEW samples per sample (a pitch glide of
 * under a semitone for the circulating sound), read with a cubic (Catmull-Rom: its gain is at most 1 at
 * every fraction and frequency, so the loop stays stable while lengths move), and land on the exact
 * integers: at rest the lines are plain copies. The predelay's read head moves the same way (PRE_TAU_MS,
 * at most PRE_SLEW samples per sample: 4 semitones) and is read with the same cubic. */
#include "engine/dsp/reverb.h"

#include "engine/model/md.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NL MD_REVERB_LINES
#define SUB MD_REVERB_SUB

#define IN_MAX 1e4f
#define DENORM 1e-20f /* added to every recursive state: it never decays into denormals */
#define TAP_L 5       /* the matrix rows that are the outputs */
#define TAP_R 10
#define REF_DECAY 2.0   /* s: the decay at which out RMS = in RMS */
#define LEVEL_TRIM 1.54 /* +3.75 dB: measured, see above */
#define SIZE_SLEW 0.05  /* samples per sample */
#define SIZE_TAU_MS 100.0
#define LEN_SNAP 1e-4 /* samples: a length this close to its target has arrived */
#define HP_SUB 8      /* samples between updates of the low cut while it glides */
#define PRE_SLEW 0.25 /* samples per sample */
#define PRE_TAU_MS 50.0
#define PRE_SNAP 1e-4 /* samples */
#define PRIME_GAP 100 /* more than any gap between primes below 155921 (72) */
#define RATE_MIN 8000.0f
#define RATE_MAX 768000.0f

static const float base_ms[NL] = {12.0f, 13.7f, 15.3f, 17.6f, 19.6f, 22.5f, 25.2f, 28.9f,
				  32.4f, 37.1f, 41.6f, 47.5f, 53.4f, 61.0f, 68.6f, 78.0f};
static const float ap_ms[MD_REVERB_DIFFUSERS] = {1.37f, 2.23f, 3.41f, 5.17f};
static const float ap_g[MD_REVERB_DIFFUSERS] = {0.62f, 0.62f, 0.58f, 0.58f};
/* the input's sign per line, times 1/4 (unit norm); not a row of the matrix */
static const float in_gain[NL] = {0.25f,  -0.25f, 0.25f, 0.25f,  -0.25f, 0.25f, -0.25f, -0.25f,
				  -0.25f, 0.25f,  0.25f, -0.25f, 0.25f,  0.25f, -0.25f, 0.25f};

/* [any] */
static float clampf(float x, float lo, float hi)
{
	return fminf(fmaxf(x, lo), hi); /* NaN gives lo */
}

/* [any] */
static struct md_reverb_params clamp_params(const struct md_reverb_params *p)
{
	struct md_reverb_params q;
	q.decay = clampf(p->decay, 0.2f, 10.0f);
	q.predelay = clampf(p->predelay, 0.0f, 250.0f);
	q.low_decay = clampf(p->low_decay, 0.5f, 2.5f);
	q.crossover = clampf(p->crossover, 50.0f, 1000.0f);
	q.damping = clampf(p->damping, 1000.0f, 20000.0f);
	q.low_cut = clampf(p->low_cut, 20.0f, 1000.0f);
	q.width = clampf(p->width, 0.0f, 1.0f);
	q.size = clampf(p->size, 0.5f, 2.0f);
	return q;
}

/* [any] */
static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t p = 1;
	while (p < n)
		p <<= 1;
	return p;
}

/* [any] trial division: at most sqrt(n) / 2 divisions, only for the few candidates near each length */
static bool is_prime(uint32_t n)
{
	if (n < 4)
		return n >= 2;
	if (n % 2 == 0)
		return false;
	for (uint32_t d = 3; d * d <= n; d += 2)
		if (n % d == 0)
			return false;
	return true;
}

/* [rt] the target lengths for a size: distinct primes, in the order of the base lengths */
static void target_lengths(struct md_reverb *r, float size)
{
	uint32_t prev = SUB + 3;
	for (int i = 0; i < NL; i++) {
		uint32_t n = (uint32_t)lrint((double)base_ms[i] * size * r->rate / 1000.0);
		if (n <= prev)
			n = prev + 1;
		while (!is_prime(n))
			n++;
		r->len_to[i] = prev = n;
	}
	r->size_to = size;
}

/* [rt] one parameter step of a glide (two one-poles in series: critically damped, so that it sets off
 * with zero speed instead of a kink); true when it moved */
static bool glide(struct md_reverb_glide *g, float k, float eps)
{
	if (g->cur == g->target && g->mid == g->target)
		return false;
	const float mid = g->mid + k * (g->target - g->mid);
	g->mid = mid == g->mid || fabsf(g->target - mid) < eps ? g->target : mid;
	const float next = g->cur + k * (g->mid - g->cur);
	g->cur = next == g->cur || (g->mid == g->target && fabsf(g->target - next) < eps) ? g->target : next;
	return true;
}

/* [rt] */
static bool glide_active(const struct md_reverb_glide *g)
{
	return g->cur != g->target || g->mid != g->target;
}

/* [rt] the loop coefficients from the glided parameters and the lengths at the end of this step */
static void loop_coefs(struct md_reverb *r)
{
	const double fs = r->rate;
	const double T = exp((double)r->decay.cur), ld = r->low_decay.cur;
	const double fc = exp2((double)r->crossover.cur);
	const double fd = fmin(exp2((double)r->damping.cur), 0.45 * fs);
	const double wr = 2.0 * M_PI * fmin(1000.0, fd / 3.0) / fs;
	const double sd = sin(M_PI * fd / fs), sr = sin(0.5 * wr);
	const double omc_d = 2.0 * sd * sd, omc_r = 2.0 * sr * sr; /* 1 - cos w */
	const double k = -3.0 * M_LN10 / (T * fs);                 /* ln of the gain per sample of delay */
	const double a = 1.0 - exp(-2.0 * M_PI * fc / fs);
	/* the crossover low-pass at f_ref: lam = a / (1 - (1 - a) e^-jw) */
	const double dr = 1.0 - (1.0 - a) * cos(wr), di = (1.0 - a) * sin(wr), dd = dr * dr + di * di;
	const double lr = a * dr / dd, l2 = a * a / dd, a2 = 1.0 - 2.0 * lr + l2; /* Re lam, |lam|^2, |1 - lam|^2 */
	double S = 0.0;
	for (int i = 0; i < NL; i++) {
		const double L = r->len_end[i];
		S += L;
		const double g = exp(k * L), gl = exp(k * L / ld), g2 = g * g;
		const double A = 1.0 - g2, B = A + g2 * omc_d;
		const double p = A / (B + sqrt(g2 * omc_d * (A + B)));
		const double h = (1.0 - p) / sqrt((1.0 - p) * (1.0 - p) + 2.0 * p * omc_r);
		/* the shelf must give q at f_ref: |m (1 - lam) + gl lam| = q, a quadratic in m; kept within
		 * [q^2, sqrt(q)] (at worst half or twice the mid decay, always below 1) where the crossover sits
		 * so close to f_ref that it has no good solution */
		const double q = g / h;
		const double bre = gl * (lr - l2), c = gl * gl * l2 - q * q, disc = bre * bre - a2 * c;
		double m = disc > 0.0 ? (-bre + sqrt(disc)) / a2 : -bre / a2;
		m = fmin(fmax(m, q * q), sqrt(q));
		r->co_to[MD_REVERB_MID][i] = (float)m;
		r->co_to[MD_REVERB_DIF][i] = (float)(gl - m);
		r->co_to[MD_REVERB_POLE][i] = (float)p;
		r->co_to[MD_REVERB_XO][i] = (float)a;
	}
	r->gain_to = (float)(LEVEL_TRIM * sqrt(3.0 * M_LN10 * S / (REF_DECAY * fs)));
}

/* [rt] the low cut at lf (log2 Hz): a Butterworth high-pass */
static void hp_coefs(struct md_reverb *r, float lf)
{
	biquad_setup(&r->hp, MD_BQ_HIGHPASS, r->rate, exp2((double)lf), M_SQRT1_2, 0.0);
}

/* [rt] the next parameter step: glides, the lengths' moves for the coming SUB samples, coefficients */
static void step(struct md_reverb *r)
{
	/* the previous step's ramps end exactly where they were headed */
	r->width_cur = r->width.cur;
	r->width_step = 0.0f;
	r->gain = r->gain_to;
	r->gain_step = 0.0f;
	for (int i = 0; i < NL; i++) {
		r->len[i] = r->len_end[i];
		r->len_step[i] = 0.0;
	}
	memcpy(r->co, r->co_to, sizeof r->co);
	memset(r->co_d, 0, sizeof r->co_d);
	if (r->hp_moving) {
		r->hp_moving = false;
		hp_coefs(r, r->low_cut.cur);
	}
	if (!r->moving)
		return;
	const float k = r->glide_k;
	bool loop = glide(&r->decay, k, 1e-4f);
	loop |= glide(&r->low_decay, k, 1e-4f);
	loop |= glide(&r->crossover, k, 1e-4f);
	loop |= glide(&r->damping, k, 1e-4f);
	const float lc0 = r->low_cut.cur;
	if (glide(&r->low_cut, k, 1e-4f)) {
		r->hp_from = lc0;
		r->hp_moving = true;
	}
	if (glide(&r->width, k, 1e-4f))
		r->width_step = (r->width.cur - r->width_cur) / (float)SUB;
	if (r->len_moving) {
		const double lk = 1.0 - exp(-SUB / (0.5e-3 * SIZE_TAU_MS * r->rate)), lim = SIZE_SLEW * SUB;
		bool still = false;
		for (int i = 0; i < NL; i++) {
			/* two one-poles in series, the second one's speed limited */
			const double L = r->len[i], to = r->len_to[i];
			double mid = r->len_mid[i] + (to - r->len_mid[i]) * lk;
			if (fabs(to - mid) < 1e-6)
				mid = to;
			r->len_mid[i] = mid;
			double e = L + fmax(-lim, fmin(lim, (mid - L) * lk));
			if (mid == to && fabs(to - e) < LEN_SNAP)
				e = to;
			still |= e != to;
			r->len_end[i] = e;
			r->len_step[i] = (e - L) / SUB;
		}
		r->len_moving = still;
		loop = true;
	}
	if (loop) {
		loop_coefs(r);
		for (int j = 0; j < 4; j++)
			for (int i = 0; i < NL; i++)
				r->co_d[j][i] = (r->co_to[j][i] - r->co[j][i]) / (float)SUB;
		r->gain_step = (r->gain_to - r->gain) / (float)SUB;
	}
	r->moving = r->len_moving || glide_active(&r->decay) || glide_active(&r->low_decay) ||
		    glide_active(&r->crossover) || glide_active(&r->damping) || glide_active(&r->low_cut) ||
		    glide_active(&r->width);
}

/* [rt] Catmull-Rom between x1 (f = 0) and x2 (f = 1): its gain is at most 1 at every fraction and
 * frequency */
static inline float cubic(float x0, float x1, float x2, float x3, float f)
{
	const float c1 = 0.5f * (x2 - x0), c2 = x0 - 2.5f * x1 + 2.0f * x2 - 0.5f * x3,
		    c3 = 0.5f * (x3 - x0) + 1.5f * (x1 - x2);
	return ((c3 * f + c2) * f + c1) * f + x1;
}

/* [rt] the mono in-sum through the predelay and the diffusers into u[] */
static void input(struct md_reverb *r, const float *in_l, const float *in_r, float *u, uint32_t m)
{
	float *pre = r->pre;
	const uint32_t pmask = r->pre_mask;
	uint32_t w = r->pre_w;
	double d = r->pre_d, mid = r->pre_mid;
	const double to = r->pre_to, pk = r->pre_k;
	for (uint32_t t = 0; t < m; t++, w++) {
		float x = 0.5f * in_l[t] + 0.5f * in_r[t];
		x = x > IN_MAX ? IN_MAX : x < -IN_MAX ? -IN_MAX : x;
		pre[w & pmask] = x;
		if (d != to || mid != to) { /* as the lengths: two one-poles, the second speed-limited */
			mid += (to - mid) * pk;
			if (fabs(to - mid) < 1e-6)
				mid = to;
			const double v = (mid - d) * pk;
			d += v > PRE_SLEW ? PRE_SLEW : v < -PRE_SLEW ? -PRE_SLEW : v;
			if (mid == to && fabs(to - d) < PRE_SNAP)
				d = to;
		}
		/* read position w - d: from x1 = pre[w - q] towards the older x2 by f; the cubic needs the
		 * newer x0 too, which exists once q >= 1 */
		const uint32_t q = (uint32_t)d; /* d >= 0: the integer part */
		const float f = (float)(d - (double)q);
		const uint32_t i1 = w - q;
		const float x1 = pre[i1 & pmask];
		if (f == 0.0f) {
			u[t] = x1;
		} else {
			const float x2 = pre[(i1 - 1) & pmask];
			if (q == 0) {
				u[t] = x1 + f * (x2 - x1);
			} else {
				const float x0 = pre[(i1 + 1) & pmask], x3 = pre[(i1 - 2) & pmask];
				u[t] = cubic(x0, x1, x2, x3, f);
			}
		}
	}
	r->pre_w = w;
	r->pre_d = d;
	r->pre_mid = mid;
	for (int k = 0; k < MD_REVERB_DIFFUSERS; k++) {
		float *buf = r->ap[k];
		const uint32_t len = r->ap_len[k];
		const float g = ap_g[k];
		uint32_t i = r->ap_i[k];
		for (uint32_t t = 0; t < m; t++) {
			const float z = buf[i];
			const float v = u[t] + g * z + DENORM;
			u[t] = z - g * v;
			buf[i] = v;
			if (++i == len)
				i = 0;
		}
		r->ap_i[k] = i;
	}
}

/* [rt] the lines' outputs for the coming m <= SUB samples into tp[1]; all were written before this pass,
 * since every line is longer than SUB + 3. While lengths move, the four taps around each read position
 * into tp[0..3] and its fraction into fr (the network interpolates, all lines side by side); a line at
 * rest then has its sample in all four taps and fraction 0. Returns whether anything moves. */
static bool gather(struct md_reverb *r, float tp[4][SUB][NL], float fr[SUB][NL], uint32_t m)
{
	const uint32_t mask = r->line_mask, w = r->w;
	bool moving = false;
	for (int i = 0; i < NL; i++)
		moving |= r->len_step[i] != 0.0;
	for (int i = 0; i < NL; i++) {
		const float *b = r->lines + (size_t)i * (mask + 1);
		if (r->len_step[i] == 0.0) {
			const uint32_t p = w - (uint32_t)r->len[i];
			for (uint32_t t = 0; t < m; t++)
				tp[1][t][i] = b[(p + t) & mask];
			if (moving)
				for (uint32_t t = 0; t < m; t++) {
					tp[0][t][i] = tp[2][t][i] = tp[3][t][i] = tp[1][t][i];
					fr[t][i] = 0.0f;
				}
			continue;
		}
		/* L = Q + ph: Q the integer part at the start, ph the rest plus the steps so far, within (-2, 3)
		 * (a step moves at most SIZE_SLEW * SUB < 2 samples). The read position w + t - L is p + f with
		 * p = w + t - Q + c, c = floor(-ph), and f = -c - ph in [0, 1) */
		const double L0 = r->len[i];
		const uint32_t Q = (uint32_t)L0;
		const float ph0 = (float)(L0 - (double)Q), s = (float)r->len_step[i];
		for (uint32_t t = 0; t < m; t++) {
			const float ph = ph0 + (float)(t + 1) * s;
			const int c = (int)(3.0f - ph) - 3;
			const uint32_t p = w + t - Q + (uint32_t)c;
			fr[t][i] = (float)-c - ph;
			tp[0][t][i] = b[(p - 1) & mask];
			tp[1][t][i] = b[p & mask];
			tp[2][t][i] = b[(p + 1) & mask];
			tp[3][t][i] = b[(p + 2) & mask];
		}
		r->len[i] = L0 + m * r->len_step[i];
	}
	return moving;
}

/* [rt] the lines' inputs of the pass into the lines */
static void scatter(struct md_reverb *r, float wr[SUB][NL], uint32_t m)
{
	const uint32_t mask = r->line_mask, w = r->w;
	for (int i = 0; i < NL; i++) {
		float *b = r->lines + (size_t)i * (mask + 1);
		for (uint32_t t = 0; t < m; t++)
			b[(w + t) & mask] = wr[t][i];
	}
}

/* eight lines side by side: with AVX one register, with SSE2 two */
typedef float v8f __attribute__((vector_size(32)));

/* macros, not functions: a function passing a 32-byte vector has a different ABI with and without AVX */
#define LOAD8(v, p) memcpy(&(v), (p), sizeof(v8f))
#define STORE8(p, v) memcpy((p), &(v), sizeof(v8f))

/* the butterflies of strides 4, 2 and 1 inside one vector: v[i] + v[i ^ s] in the lower, v[i ^ s] - v[i]
 * in the upper element of each pair */
#define BFLY8(v)                                                                                                       \
	do {                                                                                                           \
		(v) = __builtin_shufflevector((v), (v), 4, 5, 6, 7, 0, 1, 2, 3) + s4 * (v);                            \
		(v) = __builtin_shufflevector((v), (v), 2, 3, 0, 1, 6, 7, 4, 5) + s2 * (v);                            \
		(v) = __builtin_shufflevector((v), (v), 1, 0, 3, 2, 5, 4, 7, 6) + s1 * (v);                            \
	} while (0)

/* [rt] the network's filters and matrix for m samples: the lines' outputs are tp[1] (with interp: the
 * cubic through tp[0..3] at fr), u the diffused input, wr the lines' new inputs, tl and tr the two output
 * rows */
// clang-format off
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
static void network(struct md_reverb *r, const float *u, float tp[4][SUB][NL], float fr[SUB][NL], bool interp,
		    float wr[SUB][NL], float *tl, float *tr, uint32_t m)
// clang-format on
{
	const v8f s4 = {1, 1, 1, 1, -1, -1, -1, -1}, s2 = {1, 1, -1, -1, 1, 1, -1, -1},
		  s1 = {1, -1, 1, -1, 1, -1, 1, -1};
	v8f m0, m1, d0, d1, p0, p1, a0, a1, dm0, dm1, dd0, dd1, dp0, dp1, da0, da1, b0, b1, lp0, lp1, z0, z1;
	LOAD8(m0, r->co[MD_REVERB_MID]);
	LOAD8(m1, r->co[MD_REVERB_MID] + 8);
	LOAD8(d0, r->co[MD_REVERB_DIF]);
	LOAD8(d1, r->co[MD_REVERB_DIF] + 8);
	LOAD8(p0, r->co[MD_REVERB_POLE]);
	LOAD8(p1, r->co[MD_REVERB_POLE] + 8);
	LOAD8(a0, r->co[MD_REVERB_XO]);
	LOAD8(a1, r->co[MD_REVERB_XO] + 8);
	LOAD8(dm0, r->co_d[MD_REVERB_MID]);
	LOAD8(dm1, r->co_d[MD_REVERB_MID] + 8);
	LOAD8(dd0, r->co_d[MD_REVERB_DIF]);
	LOAD8(dd1, r->co_d[MD_REVERB_DIF] + 8);
	LOAD8(dp0, r->co_d[MD_REVERB_POLE]);
	LOAD8(dp1, r->co_d[MD_REVERB_POLE] + 8);
	LOAD8(da0, r->co_d[MD_REVERB_XO]);
	LOAD8(da1, r->co_d[MD_REVERB_XO] + 8);
	LOAD8(b0, in_gain);
	LOAD8(b1, in_gain + 8);
	LOAD8(lp0, r->lp_z);
	LOAD8(lp1, r->lp_z + 8);
	LOAD8(z0, r->damp_z);
	LOAD8(z1, r->damp_z + 8);
	for (uint32_t t = 0; t < m; t++) {
		v8f x0, x1;
		LOAD8(x0, tp[1][t]);
		LOAD8(x1, tp[1][t] + 8);
		if (interp) {
			/* Catmull-Rom between taps 1 and 2 */
			v8f t00, t01, t20, t21, t30, t31, f0, f1;
			LOAD8(t00, tp[0][t]);
			LOAD8(t01, tp[0][t] + 8);
			LOAD8(t20, tp[2][t]);
			LOAD8(t21, tp[2][t] + 8);
			LOAD8(t30, tp[3][t]);
			LOAD8(t31, tp[3][t] + 8);
			LOAD8(f0, fr[t]);
			LOAD8(f1, fr[t] + 8);
			const v8f k10 = 0.5f * (t20 - t00), k11 = 0.5f * (t21 - t01);
			const v8f k20 = t00 - 2.5f * x0 + 2.0f * t20 - 0.5f * t30,
				  k21 = t01 - 2.5f * x1 + 2.0f * t21 - 0.5f * t31;
			const v8f k30 = 0.5f * (t30 - t00) + 1.5f * (x0 - t20),
				  k31 = 0.5f * (t31 - t01) + 1.5f * (x1 - t21);
			x0 = ((k30 * f0 + k20) * f0 + k10) * f0 + x0;
			x1 = ((k31 * f1 + k21) * f1 + k11) * f1 + x1;
		}
		m0 += dm0;
		m1 += dm1;
		d0 += dd0;
		d1 += dd1;
		p0 += dp0;
		p1 += dp1;
		a0 += da0;
		a1 += da1;
		lp0 += a0 * (x0 - lp0);
		lp1 += a1 * (x1 - lp1);
		const v8f y0 = m0 * x0 + d0 * lp0, y1 = m1 * x1 + d1 * lp1;
		z0 = y0 + p0 * (z0 - y0);
		z1 = y1 + p1 * (z1 - y1);
		v8f h0 = z0 + z1, h1 = z0 - z1;
		BFLY8(h0);
		BFLY8(h1);
		h0 *= 0.25f;
		h1 *= 0.25f;
		tl[t] = h0[TAP_L];
		tr[t] = h1[TAP_R - 8];
		const v8f w0 = h0 + b0 * u[t] + DENORM, w1 = h1 + b1 * u[t] + DENORM;
		STORE8(wr[t], w0);
		STORE8(wr[t] + 8, w1);
	}
	STORE8(r->co[MD_REVERB_MID], m0);
	STORE8(r->co[MD_REVERB_MID] + 8, m1);
	STORE8(r->co[MD_REVERB_DIF], d0);
	STORE8(r->co[MD_REVERB_DIF] + 8, d1);
	STORE8(r->co[MD_REVERB_POLE], p0);
	STORE8(r->co[MD_REVERB_POLE] + 8, p1);
	STORE8(r->co[MD_REVERB_XO], a0);
	STORE8(r->co[MD_REVERB_XO] + 8, a1);
	STORE8(r->lp_z, lp0);
	STORE8(r->lp_z + 8, lp1);
	STORE8(r->damp_z, z0);
	STORE8(r->damp_z + 8, z1);
}

/* [rt] the low cut over m samples from offset o within the parameter step; while it glides its
 * frequency is stepped every HP_SUB samples (log2 Hz interpolated through the step) */
static void low_cut(struct md_reverb *r, float *out_l, float *out_r, uint32_t o, uint32_t m)
{
	struct md_biquad *hp = &r->hp;
	if (!r->hp_moving) {
		float *const ch[2] = {out_l, out_r};
		biquad_process_chain(&hp, 1, ch, 2, m);
		return;
	}
	for (uint32_t t = 0; t < m;) {
		const uint32_t at = o + t;
		if (at % HP_SUB == 0) {
			const float x = ((float)at + 0.5f * HP_SUB) / (float)SUB;
			hp_coefs(r, r->hp_from + x * (r->low_cut.cur - r->hp_from));
		}
		uint32_t k = HP_SUB - at % HP_SUB;
		if (k > m - t)
			k = m - t;
		float *const ch[2] = {out_l + t, out_r + t};
		biquad_process_chain(&hp, 1, ch, 2, k);
		t += k;
	}
}

/* [rt] m samples from offset o within one parameter step */
static void pass(struct md_reverb *r, const float *in_l, const float *in_r, float *out_l, float *out_r, uint32_t o,
		 uint32_t m)
{
	float u[SUB], tp[4][SUB][NL], fr[SUB][NL], wr[SUB][NL];
	input(r, in_l, in_r, u, m);
	const bool interp = gather(r, tp, fr, m);
	network(r, u, tp, fr, interp, wr, out_l, out_r, m);
	scatter(r, wr, m);
	r->w += m;
	const float ws = r->width_step, gs = r->gain_step;
	float wc = r->width_cur, g = r->gain;
	for (uint32_t t = 0; t < m; t++) {
		wc += ws;
		g += gs;
		const float mid = out_l[t], side = out_r[t] * wc;
		out_l[t] = g * (mid + side);
		out_r[t] = g * (mid - side);
	}
	r->width_cur = wc;
	r->gain = g;
	low_cut(r, out_l, out_r, o, m);
}

int reverb_init(struct md_reverb *r, float rate, const struct md_reverb_params *p)
{
	memset(r, 0, sizeof *r);
	if (!(rate >= RATE_MIN && rate <= RATE_MAX))
		return -1;
	r->rate = rate;
	const uint32_t pre_n = pow2_at_least((uint32_t)ceil(0.25 * rate) + 4);
	const uint32_t max_len = (uint32_t)ceil((double)base_ms[NL - 1] * 2.0 * rate / 1000.0) + NL + PRIME_GAP;
	const uint32_t line_n = pow2_at_least(max_len + SUB + 8);
	size_t total = pre_n + (size_t)NL * line_n;
	for (int k = 0; k < MD_REVERB_DIFFUSERS; k++) {
		r->ap_len[k] = (uint32_t)lrint((double)ap_ms[k] * rate / 1000.0);
		total += r->ap_len[k];
	}
	r->mem = malloc(total * sizeof(float));
	if (!r->mem)
		return -1;
	memset(r->mem, 0, total * sizeof(float));
	/* a store to every page that cannot be optimised away (malloc + memset may become calloc, whose
	 * pages stay unmapped until first touched: by the audio thread) */
	for (size_t i = 0; i < total; i += 1024)
		((volatile float *)r->mem)[i] = 0.0f;
	r->pre = r->mem;
	r->pre_mask = pre_n - 1;
	r->lines = r->pre + pre_n;
	r->line_mask = line_n - 1;
	float *ap = r->lines + (size_t)NL * line_n;
	for (int k = 0; k < MD_REVERB_DIFFUSERS; k++) {
		r->ap[k] = ap;
		ap += r->ap_len[k];
	}

	/* each of a glide's two one-poles has half the time constant */
	r->glide_k = (float)(1.0 - exp(-SUB / (0.5e-3 * MD_REVERB_TAU_MS * rate)));
	r->pre_k = 1.0 - exp(-1.0 / (0.5e-3 * PRE_TAU_MS * rate));

	reverb_set(r, p);
	struct md_reverb_glide *gl[] = {&r->decay, &r->low_decay, &r->crossover, &r->damping, &r->low_cut, &r->width};
	for (size_t i = 0; i < sizeof gl / sizeof gl[0]; i++)
		gl[i]->cur = gl[i]->mid = gl[i]->target;
	r->pre_d = r->pre_mid = r->pre_to;
	for (int i = 0; i < NL; i++)
		r->len[i] = r->len_end[i] = r->len_mid[i] = r->len_to[i];
	r->len_moving = false;
	r->moving = false;
	r->width_cur = r->width.cur;
	loop_coefs(r);
	memcpy(r->co, r->co_to, sizeof r->co);
	r->gain = r->gain_to;
	hp_coefs(r, r->low_cut.cur);
	return 0;
}

void reverb_free(struct md_reverb *r)
{
	free(r->mem);
	r->mem = NULL;
	r->pre = r->lines = NULL;
	for (int k = 0; k < MD_REVERB_DIFFUSERS; k++)
		r->ap[k] = NULL;
}

void reverb_set(struct md_reverb *r, const struct md_reverb_params *p)
{
	const struct md_reverb_params q = clamp_params(p);
	r->decay.target = logf(q.decay);
	r->low_decay.target = q.low_decay;
	r->crossover.target = log2f(q.crossover);
	r->damping.target = log2f(q.damping);
	r->low_cut.target = log2f(q.low_cut);
	r->width.target = q.width;
	r->pre_to = rint((double)q.predelay * r->rate / 1000.0);
	if (q.size != r->size_to) {
		target_lengths(r, q.size);
		r->len_moving = true;
	}
	r->moving = true;
}

void reverb_process(struct md_reverb *r, const float *in_l, const float *in_r, float *out_l, float *out_r, uint32_t n)
{
	if (!r->mem) { /* reverb_init failed: silence rather than a crash */
		memset(out_l, 0, n * sizeof(float));
		memset(out_r, 0, n * sizeof(float));
		return;
	}
	uint32_t done = 0;
	while (done < n) {
		if (r->sub_left == 0) {
			step(r);
			r->sub_left = SUB;
		}
		const uint32_t m = n - done < r->sub_left ? n - done : r->sub_left;
		pass(r, in_l + done, in_r + done, out_l + done, out_r + done, SUB - r->sub_left, m);
		r->sub_left -= m;
		done += m;
	}
	biquad_flush(&r->hp);
}

void reverb_reset(struct md_reverb *r)
{
	if (!r->mem)
		return;
	size_t total = (size_t)r->pre_mask + 1 + (size_t)NL * (r->line_mask + 1);
	for (int k = 0; k < MD_REVERB_DIFFUSERS; k++)
		total += r->ap_len[k];
	memset(r->mem, 0, total * sizeof(float));
	memset(r->lp_z, 0, sizeof r->lp_z);
	memset(r->damp_z, 0, sizeof r->damp_z);
	biquad_reset(&r->hp);
}
