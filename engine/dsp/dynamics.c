/* mixdesk: gate and compressor. The per-sample work avoids libm: levels go to dB through a fast log2 and gains
 * back through a fast exp2 (the compressor four samples at a time), and a unit that is off and settled at
 * 0 dB costs nothing. */
#include "engine/dsp/dynamics.h"

#include <math.h>

#define DB_PER_LOG2 6.02059991f  /* 20 log10(2) */
#define LOG2_PER_DB 0.166096404f /* 1 / DB_PER_LOG2 */
#define SNAP_DB 1e-4f            /* a gain this close to its target has arrived */
#define BYPASS_MS 20.0f          /* a unit switched off fades to 0 dB no slower than this time constant */
#define MD_DYN_BLOCK 64          /* the compressor works in passes over this many frames */

union fbits {
	float f;
	uint32_t u;
};

static inline float log2_fast(float x)
{
	if (!(x > 1e-30f))
		x = 1e-30f;
	union fbits v = {x};
	int e = (int)((v.u >> 23) & 0xff) - 127;
	v.u = (v.u & 0x7fffffu) | 0x3f800000u;
	float m = v.f;
	if (m > 1.41421356f) {
		m *= 0.5f;
		e++;
	}
	/* ln m = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.172: the series to s^7 is exact to 3e-8 */
	float s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
	float ln = 2.0f * s * (1.0f + s2 * (1.0f / 3.0f + s2 * (1.0f / 5.0f + s2 * (1.0f / 7.0f))));
	return (float)e + ln * 1.44269504f;
}

static inline float exp2_fast(float x)
{
	x = x < -126.0f ? -126.0f : x > 126.0f ? 126.0f : x;
	int i = (int)(x + 127.5f) - 127;         /* round to nearest: the argument of the truncation is positive */
	float r = (x - (float)i) * 0.693147181f; /* |r| <= 0.347: Taylor to r^6 is exact to 1.3e-7 */
	float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6.0f +
						      r * (1.0f / 24.0f + r * (1.0f / 120.0f + r * (1.0f / 720.0f))))));
	union fbits v;
	v.u = (uint32_t)(i + 127) << 23;
	return p * v.f;
}

/* the step of a one-pole with time constant ms; expm1 keeps it exact for release times of seconds */
float dyn_log2(float x)
{
	return log2_fast(x);
}

float dyn_exp2(float x)
{
	return exp2_fast(x);
}

/* Four lanes at a time for the compressor's detector and gain (GCC/Clang vector extensions): the same
 * formulas as log2_fast and exp2_fast, bit for bit the same method. */
typedef float v4sf __attribute__((vector_size(16)));
typedef int32_t v4si __attribute__((vector_size(16)));

static inline v4sf v_select(v4si mask, v4sf a, v4sf b)
{
	return (v4sf)(((v4si)a & mask) | ((v4si)b & ~mask));
}

static inline v4sf v_log2(v4sf x)
{
	x = v_select(x > 1e-30f, x, (v4sf){1e-30f, 1e-30f, 1e-30f, 1e-30f});
	v4si u = (v4si)x;
	v4si e = ((u >> 23) & 0xff) - 127;
	v4sf m = (v4sf)((u & 0x7fffff) | 0x3f800000);
	v4si big = m > 1.41421356f;
	m = v_select(big, m * 0.5f, m);
	e -= big; /* big is -1 where true */
	v4sf t = (m - 1.0f) / (m + 1.0f), t2 = t * t;
	v4sf ln = 2.0f * t * (1.0f + t2 * (1.0f / 3.0f + t2 * (1.0f / 5.0f + t2 * (1.0f / 7.0f))));
	return __builtin_convertvector(e, v4sf) + ln * 1.44269504f;
}

static inline v4sf v_exp2(v4sf x)
{
	x = v_select(x < -126.0f, (v4sf){-126.0f, -126.0f, -126.0f, -126.0f}, x);
	x = v_select(x > 126.0f, (v4sf){126.0f, 126.0f, 126.0f, 126.0f}, x);
	v4si i = __builtin_convertvector(x + 127.5f, v4si) - 127;
	v4sf r = (x - __builtin_convertvector(i, v4sf)) * 0.693147181f;
	v4sf p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6.0f +
						     r * (1.0f / 24.0f + r * (1.0f / 120.0f + r * (1.0f / 720.0f))))));
	return p * (v4sf)((i + 127) << 23);
}

static double coef(float rate, float ms)
{
	return -expm1(-1000.0 / ((double)ms * rate));
}

/* max through fabs: branch-free for certain (compilers turn a ternary on floats into a branch when
 * they must keep NaN semantics, and a branch on noise is mispredicted half the time) */
static inline float max_f(float a, float b)
{
	return 0.5f * (a + b + fabsf(a - b));
}

/* min(x, 0) and max(x, 0) in one instruction each where there is SSE2 (a compiler keeps a branch for one
 * of them otherwise, and a branch on the direction of a compressor's gain is a coin toss on noise) */
#ifdef __SSE2__
#include <emmintrin.h>
static inline double min_d0(double x)
{
	return _mm_cvtsd_f64(_mm_min_sd(_mm_set_sd(x), _mm_setzero_pd()));
}
static inline double max_d0(double x)
{
	return _mm_cvtsd_f64(_mm_max_sd(_mm_set_sd(x), _mm_setzero_pd()));
}
#else
static inline double min_d0(double x)
{
	return 0.5 * (x - fabs(x));
}
static inline double max_d0(double x)
{
	return 0.5 * (x + fabs(x));
}
#endif

static inline float peak_at(float *const ch[2], int nch, uint32_t i)
{
	float a = fabsf(ch[0][i]);
	if (nch == 2) {
		float b = fabsf(ch[1][i]);
		a = b > a ? b : a;
	}
	return a;
}

void dyn_gate_setup(struct md_gate *g, float rate, bool on, float thr_db, float range_db, float attack_ms,
		    float hold_ms, float release_ms)
{
	g->on = on;
	g->thr = powf(10.0f, thr_db / 20.0f);
	g->range_db = range_db > 0.0f ? 0.0f : range_db;
	g->att = coef(rate, attack_ms);
	g->rel = coef(rate, release_ms);
	/* switched off, the gain goes back to 0 dB with the opening time constant (at most 100 ms) */
	g->hold = (uint32_t)lrintf(hold_ms * rate / 1000.0f);
	if (g->hold_left > g->hold)
		g->hold_left = g->hold;
}

void dyn_gate_reset(struct md_gate *g)
{
	g->g_db = 0.0f;
	g->hold_left = 0;
}

void dyn_gate_process(struct md_gate *g, float *const ch[2], int nch, uint32_t n)
{
	if (!g->on && g->g_db == 0.0f)
		return;
	const float thr = g->thr;
	const double range = g->range_db, att = g->att, rel = g->rel;
	const bool on = g->on;
	double gdb = g->g_db;
	uint32_t left = g->hold_left;
	for (uint32_t i = 0; i < n; i++) {
		bool open = true;
		if (on) {
			if (peak_at(ch, nch, i) >= thr)
				left = g->hold;
			else if (left > 0)
				left--;
			else
				open = false;
		}
		double t = open ? 0.0 : range;
		if (gdb != t) {
			gdb += (t > gdb ? att : rel) * (t - gdb);
			if (fabs(gdb - t) < SNAP_DB)
				gdb = t;
		}
		if (gdb != 0.0) {
			float k = exp2_fast((float)gdb * LOG2_PER_DB);
			ch[0][i] *= k;
			if (nch == 2)
				ch[1][i] *= k;
		}
	}
	g->g_db = gdb;
	g->hold_left = left;
}

float dyn_comp_static_db(float thr_db, float ratio, float knee_db, float x_db)
{
	float slope = 1.0f / ratio - 1.0f, d = x_db - thr_db;
	if (2.0f * d > knee_db)
		return slope * d;
	if (knee_db > 0.0f && 2.0f * d >= -knee_db) {
		float k = d + knee_db / 2.0f;
		return slope * k * k / (2.0f * knee_db);
	}
	return 0.0f;
}

void dyn_comp_setup(struct md_comp *c, float rate, bool on, float thr_db, float ratio, float attack_ms,
		    float release_ms, float knee_db, float makeup_db, bool instant)
{
	c->rate = rate;
	c->on = on;
	c->thr_db = thr_db;
	c->knee_db = knee_db < 0.0f ? 0.0f : knee_db;
	c->slope = 1.0f / (ratio < 1.0f ? 1.0f : ratio) - 1.0f;
	c->att = coef(rate, attack_ms);
	/* switched off, the gain returns to 0 dB with the release, but no slower than BYPASS_MS */
	c->rel = coef(rate, on || release_ms < BYPASS_MS ? release_ms : BYPASS_MS);
	float mk = on ? makeup_db : 0.0f;
	smooth_set_target(&c->makeup, mk, instant ? 0 : (uint32_t)(BYPASS_MS * rate / 1000.0f));
}

void dyn_comp_reset(struct md_comp *c)
{
	c->g_db = 0.0f;
}

void dyn_comp_process(struct md_comp *c, float *const ch[2], int nch, uint32_t n)
{
	if (!c->on && c->g_db == 0.0 && !smooth_active(&c->makeup) && c->makeup.cur == 0.0f)
		return;
	const float thr = c->thr_db, knee = c->knee_db, slope = c->on ? c->slope : 0.0f;
	const float inv2w = knee > 0.0f ? 1.0f / (2.0f * knee) : 0.0f;
	const double att = c->att, rel = c->rel;
	/* padded to whole vectors; lanes past m are computed and ignored */
	float a[MD_DYN_BLOCK] __attribute__((aligned(16))), gc[MD_DYN_BLOCK] __attribute__((aligned(16))),
		g[MD_DYN_BLOCK] __attribute__((aligned(16)));
	for (uint32_t off = 0; off < n; off += MD_DYN_BLOCK) {
		uint32_t m = n - off < MD_DYN_BLOCK ? n - off : MD_DYN_BLOCK, mv = (m + 3) & ~3u;
		float *x0 = ch[0] + off, *x1 = ch[nch - 1] + off;
		for (uint32_t i = 0; i < m; i++)
			a[i] = max_f(fabsf(x0[i]), fabsf(x1[i]));
		for (uint32_t i = m; i < mv; i++)
			a[i] = 0.0f;
		/* the gain computer, branch-free (noise near the threshold would defeat branch prediction):
		 * slope * (clamp(d + W/2, 0, W))^2 / (2W) + slope * max(d - W/2, 0) is the soft-knee curve */
		for (uint32_t i = 0; i < mv; i += 4) {
			v4sf d = v_log2(*(v4sf *)&a[i]) * DB_PER_LOG2 - thr;
			v4sf k = d + 0.5f * knee;
			k = v_select(k > 0.0f, k, (v4sf){0, 0, 0, 0});
			k = v_select(k < knee, k, (v4sf){knee, knee, knee, knee});
			v4sf over = d - 0.5f * knee;
			over = v_select(over > 0.0f, over, (v4sf){0, 0, 0, 0});
			*(v4sf *)&gc[i] = slope * (k * k * inv2w + over);
		}
		/* the only serial part: attack when more reduction is asked for (the step is negative), release
		 * otherwise. min and max (one instruction each, no branch) keep the chain from one sample to the
		 * next short: subtract, min/max, multiply, add, add */
		double gdb = c->g_db;
		for (uint32_t i = 0; i < m; i++) {
			double delta = (double)gc[i] - gdb;
			gdb += att * min_d0(delta) + rel * max_d0(delta);
			g[i] = (float)gdb;
		}
		c->g_db = gdb;
		if (smooth_active(&c->makeup) || c->makeup.cur != 0.0f)
			for (uint32_t i = 0; i < m; i++)
				g[i] += smooth_next(&c->makeup);
		for (uint32_t i = m; i < mv; i++)
			g[i] = 0.0f;
		for (uint32_t i = 0; i < mv; i += 4)
			*(v4sf *)&g[i] = v_exp2(*(v4sf *)&g[i] * LOG2_PER_DB);
		for (uint32_t i = 0; i < m; i++)
			x0[i] *= g[i];
		if (nch == 2)
			for (uint32_t i = 0; i < m; i++)
				x1[i] *= g[i];
	}
	/* settled at no reduction: land exactly, so that an idle compressor costs nothing */
	if (fabs(c->g_db) < SNAP_DB && (!c->on || gc[(n - 1) % MD_DYN_BLOCK] == 0.0f))
		c->g_db = 0.0;
	if (!isfinite(c->g_db))
		c->g_db = 0.0;
}
