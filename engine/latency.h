/* mixdesk: plugin delay compensation (docs/PLUGINS.md): the delay lines that keep every path from a strip to
 * the master equally late when plugins report latency (lv2:reportsLatency), as Ardour's compensation does.
 *
 * With Ls the latency of a strip's inserts, Lb a bus's and Lm the master's: each strip is delayed by
 * max(Ls) - Ls after its inserts (before its fader, so its sends and its direct path are aligned), each bus by
 * max(Lb) - Lb after its inserts, and the strips' direct sum to the master by max(Lb) (the path through a bus
 * is as late as the latest bus). The console's latency, input to master output, is then
 * max(Ls) + max(Lb) + Lm: the JACK ports report it and the render starts that much early to put the mix at
 * time zero.
 *
 * A delay line is made with its memory on the control side, shared by consecutive graphs while its length
 * stays the same (the sharing of engine/insert.h: one run per sub-block; where the two graphs of a crossfade
 * feed it different signals they add theirs, weighted, first), and freed with the last graph holding it. */
#ifndef MD_LATENCY_H
#define MD_LATENCY_H

#include "engine/model/md.h"

#include <stdint.h>

/* the longest delay a path is given: 2 s at 48 kHz (a plugin reporting more is compensated this much) */
#define MD_LATENCY_MAX_FRAMES 96000u

struct md_latency_delay {
	uint32_t len; /* frames of delay, 1 .. MD_LATENCY_MAX_FRAMES */
	int nch;
	int refs;     /* graphs holding it [control] */
	uint32_t pos; /* the next frame written */
	uint64_t stamp, in_stamp;
	float *buf; /* nch lines of len frames */
	float in[2][MD_BLOCK];
	float out[2][MD_BLOCK];
};

/* A delay of len frames for nch channels, silent; NULL without memory or for len 0. [control] */
struct md_latency_delay *latency_delay_new(uint32_t len, int nch);
void latency_delay_ref(struct md_latency_delay *d);   /* [control] */
void latency_delay_unref(struct md_latency_delay *d); /* [control] frees with the last reference */
/* Add x weighted by w0 ramping by dw into the input of sub-block `stamp` (the first call clears it). [rt] */
void latency_delay_gather(struct md_latency_delay *d, uint64_t stamp, float (*x)[MD_BLOCK], uint32_t n, float w0,
			  float dw);
/* Delay x in place by sub-block `stamp`: run once per stamp (on the gathered input when there is one), a
 * later call for the same stamp gets the same output. [rt] */
void latency_delay_process(struct md_latency_delay *d, uint64_t stamp, float (*x)[MD_BLOCK], uint32_t n);

#endif
