/* mixdesk tests: drive a mixer and its engine offline, the way the renderer does. */
#ifndef MD_ENGINE_HELPERS_H
#define MD_ENGINE_HELPERS_H

#include "engine/mixer/mixer.h"

#include <math.h>
#include <string.h>

struct rig {
	struct md_mixer *m;
	float *bufs[MD_MAX_SLOTS];
	float store[MD_MAX_SLOTS / 4][4096];
	uint32_t rate;
};

/* Give every slot the console uses a buffer, in slot order. */
static inline void rig_map(struct rig *r)
{
	memset(r->bufs, 0, sizeof r->bufs);
	for (int s = 0; s < MD_MAX_SLOTS / 4; s++)
		r->bufs[s] = r->store[s];
}

static inline void rig_init(struct rig *r, uint32_t rate)
{
	memset(r, 0, sizeof *r);
	r->rate = rate;
	r->m = mixer_new(rate, NULL);
	rig_map(r);
}

static inline void rig_free(struct rig *r)
{
	mixer_free(r->m);
}

static inline float *rig_in(struct rig *r, int strip, int ch)
{
	return r->bufs[mixer_console(r->m)->strips[strip]->in_slot[ch]];
}

static inline float *rig_out(struct rig *r, int ch)
{
	return r->bufs[mixer_console(r->m)->master.out_slot[ch]];
}

static inline float *rig_bus_out(struct rig *r, int bus, int ch)
{
	return r->bufs[mixer_console(r->m)->buses[bus]->out_slot[ch]];
}

/* Run n frames (<= 4096) with the control loop's tick before, as the live host does. */
static inline void rig_run(struct rig *r, uint32_t n)
{
	mixer_tick(r->m);
	engine_run(mixer_engine(r->m), r->bufs, n);
}

/* Fill a strip input with a constant. */
static inline void rig_fill(struct rig *r, int strip, int ch, float v, uint32_t n)
{
	float *b = rig_in(r, strip, ch);
	for (uint32_t i = 0; i < n; i++)
		b[i] = v;
}

/* Run long enough for every ramp and crossfade to settle. */
static inline void rig_settle(struct rig *r)
{
	for (int i = 0; i < 8; i++)
		rig_run(r, 1024);
}

static inline double db(double g)
{
	return 20.0 * log10(fabs(g));
}

#endif
