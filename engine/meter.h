/* mixdesk: the engine's meters (private to the engine's files): peak max-since-read with atomics and a
 * one-pole RMS, advanced a block at a time on the audio thread and read on the control side. */
#ifndef MD_METER_H
#define MD_METER_H

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>

#define RMS_SECONDS 0.3f

struct md_meter {
	_Atomic float peak[2]; /* max |x| since the control side last read it */
	_Atomic float rms[2];
	float ms[2]; /* running mean square [rt] */
};

void meter_init(struct md_meter *m); /* [control] */
/* [rt] take over another meter's RMS (the peak starts afresh) */
void meter_copy(struct md_meter *dst, struct md_meter *src);

/* [rt] peak and sum of squares of a block, in eight independent lanes so the compiler can vectorise */
static inline void meter_stats(const float *x, uint32_t n, float *peak, float *sumsq)
{
	float p[8] = {0}, q[8] = {0};
	uint32_t i = 0;
	for (; i + 8 <= n; i += 8)
		for (int k = 0; k < 8; k++) {
			float a = fabsf(x[i + k]);
			p[k] = a > p[k] ? a : p[k];
			q[k] += x[i + k] * x[i + k];
		}
	for (; i < n; i++) {
		float a = fabsf(x[i]);
		p[0] = a > p[0] ? a : p[0];
		q[0] += x[i] * x[i];
	}
	float pk = 0.0f, sq = 0.0f;
	for (int k = 0; k < 8; k++) {
		pk = p[k] > pk ? p[k] : pk;
		sq += q[k];
	}
	*peak = pk;
	*sumsq = sq;
}

/* [rt] peak (max since read) and RMS (one pole of RMS_SECONDS, advanced a block at a time) */
static inline void meter_block(struct md_meter *m, int c, const float *x, uint32_t n, float coef)
{
	float peak, sumsq;
	meter_stats(x, n, &peak, &sumsq);
	float ms = m->ms[c] + coef * (sumsq / (float)n - m->ms[c]);
	if (!isfinite(ms)) /* never let one bad block stick to the meter */
		ms = 0.0f;
	m->ms[c] = ms;
	atomic_store_explicit(&m->rms[c], sqrtf(ms), memory_order_relaxed);
	float cur = atomic_load_explicit(&m->peak[c], memory_order_relaxed);
	while (peak > cur && !atomic_compare_exchange_weak_explicit(&m->peak[c], &cur, peak, memory_order_relaxed,
								    memory_order_relaxed))
		;
}

#endif
