/* mixdesk: one LV2 insert slot as the graph runs it: the plugin instance (engine/plugin.h) made off the audio
 * thread from the slot's model, its parameters smoothed, its bypass crossfaded, its latency read.
 *
 * Consecutive graphs share the instance of a slot that keeps its plugin (same uid, width and rate), so an
 * edit elsewhere in the console never cuts a plugin's tail. During the graphs' crossfade both graphs call
 * insert_process for the same sub-block: the first call runs the plugin, a later call for the same stamp
 * gets the same output. Where the two graphs feed a shared slot different signals (a bus's sum or the
 * master's when a strip comes or goes), each graph first adds its input weighted as its outputs are
 * (insert_gather), as the buses' built-in effects do, and the plugin runs once on that mix; a strip's slots
 * and the slots after the first of a chain take the same signal in both graphs and need no gathering. A
 * reference count, touched only on the control side, frees the instance with the last graph holding it.
 *
 * A slot whose plugin cannot be instantiated here is a placeholder (insert_new returns one with no plugin):
 * it passes the signal through. */
#ifndef MD_INSERT_H
#define MD_INSERT_H

#include "engine/dsp/smooth.h"
#include "engine/model/console.h"
#include "engine/model/md.h"
#include "engine/plugin.h"

#include <stdbool.h>
#include <stdint.h>

struct md_insert_rt {
	uint32_t uid, rate;
	int nch;
	int refs;             /* graphs holding it [control] */
	struct md_plugin *pl; /* NULL: a placeholder, the signal passes through */
	int nparams;
	float *target;        /* [rt] each parameter's value to glide to (levels) or jump to (switches) */
	bool gliding;         /* some parameter is still on its way */
	float glide;          /* per sub-block of MD_BLOCK frames: the share of the distance covered */
	struct md_smooth wet; /* 1 running, 0 bypassed: the crossfade between the plugin and the dry signal */
	uint64_t stamp;       /* the sub-block last processed */
	uint64_t in_stamp;    /* the sub-block `in` was gathered for */
	float in[2][MD_BLOCK];
	float out[2][MD_BLOCK];
};

/* The instance for slot m on a path of nch channels at `rate`, its parameters at m's values (the others at
 * the plugin's defaults), its bypass as m's, settled (no glide). freewheel: the plugin's lv2:freeWheeling port
 * on, and its worker run offline (inside run(): the render's bounce is reproducible). When m->state is
 * {"lv2": "<turtle>"} (plugin_state_save's text) it is restored into the plugin here, before the instance is
 * published; any other state is left to the model (kept for the next save, not given to the plugin). A
 * plugin that cannot run here gives a placeholder with err set; a state that does not restore leaves the
 * plugin running at its defaults with err set; NULL only without memory. [control] */
struct md_insert_rt *insert_new(const struct md_insert *m, uint32_t rate, int nch, bool allow_non_rt, bool freewheel,
				const char *dir, char *err, size_t errlen);
void insert_ref(struct md_insert_rt *r);   /* [control] */
void insert_unref(struct md_insert_rt *r); /* [control] frees with the last reference */

/* A parameter by index (plugin_param order): clamped and rounded as the plugin's port says; levels glide
 * over about 10 ms, switches, integers and enumerations jump. [rt] */
void insert_set(struct md_insert_rt *r, int param, float v);
/* Bypass on or off, crossfaded over MD_RAMP_SECONDS; the plugin keeps running while bypassed, so taking
 * it back in is as click-free as taking it out. [rt] */
void insert_bypass(struct md_insert_rt *r, bool on);
/* Add x (nch channels, n frames) weighted by w0 ramping by dw into the input of sub-block `stamp` (the first
 * call for a stamp clears it). [rt] */
void insert_gather(struct md_insert_rt *r, uint64_t stamp, float (*x)[MD_BLOCK], uint32_t n, float w0, float dw);
/* Run sub-block `stamp` over x (nch channels, n <= MD_BLOCK frames) in place: on the gathered input when
 * there is one for this stamp, else on x. [rt] */
void insert_process(struct md_insert_rt *r, uint64_t stamp, float (*x)[MD_BLOCK], uint32_t n);
/* The latency the plugin reports now, frames (0 for a placeholder). [any] */
uint32_t insert_latency(const struct md_insert_rt *r);

#endif
