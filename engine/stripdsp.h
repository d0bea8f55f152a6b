/* mixdesk: the processing between a strip's trim and its fader: high-pass and low-pass filters, the
 * 4-band parametric EQ and the dynamics (gate, compressor). The engine embeds one per strip. */
#ifndef MD_STRIPDSP_H
#define MD_STRIPDSP_H

#include "md.h"
#include "param.h"

#include <stdint.h>

struct md_stripdsp {
	float rate;
	float gr_db; /* current compressor + gate gain reduction, dB (<= 0) */
};

/* Prepare for a sample rate, with the parameter values p[MD_SP_COUNT] already in place (no ramps). [control] */
void stripdsp_init(struct md_stripdsp *d, float rate, const float *p);
/* New parameter values (any filter, EQ or dynamics parameter changed): set targets, ramp from here. [rt] */
void stripdsp_update(struct md_stripdsp *d, const float *p);
/* Process n <= MD_BLOCK frames of nch (1 or 2) channels in place. [rt] */
void stripdsp_process(struct md_stripdsp *d, float *const ch[2], int nch, uint32_t n);
/* Clear all filter and envelope state (after a NaN was seen). [rt] */
void stripdsp_reset(struct md_stripdsp *d);
/* Current gain reduction in dB (0 when none). [rt] */
float stripdsp_gr_db(const struct md_stripdsp *d);

#endif
