/* mixdesk: the engine's private structures (the graph the audio thread runs, the queue's records, the engine
 * itself) and the graph_* functions its files share: built in graph.c, swapped in by engine.c, run by
 * process.c, metered through meter.h. Not for use outside engine/. */
#ifndef MD_GRAPH_H
#define MD_GRAPH_H

#include "engine/engine.h"
#include "engine/meter.h"

#include "engine/fx.h"
#include "engine/insert.h"
#include "engine/latency.h"
#include "engine/dsp/smooth.h"
#include "engine/dsp/strip_dsp.h"
#include "engine/spsc.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct gstrip {
	uint32_t uid;
	int nch;
	int16_t in_slot[2];
	int inherit; /* index in the previous graph, or -1 */
	bool dirty, dsp_dirty;
	bool ramping; /* a gain ramps in this sub-block (set by strip_in for strip_out) */
	float p[MD_SP_COUNT];
	struct md_smooth pre, mgate, fader, pan[2];
	struct md_smooth send[MD_MAX_BUSES];
	struct md_strip_dsp dsp;
	struct md_meter meter;
	_Atomic float gr;
	int16_t stem_slot[2];
	struct md_insert_rt *ins[MD_MAX_INSERTS]; /* the plugin inserts after the dynamics (NULL: empty) */
	int nins;                                 /* the slots in use: ins[0..nins) has every non-empty one */
	uint32_t lat;                             /* the inserts' latency when the graph was built, frames */
	struct md_latency_delay *comp;            /* its compensation (max over strips - lat), or NULL */
	struct md_stream *src;                    /* the source streamed from disk (input source or both), or NULL */
	char *src_path;                           /* its file, resolved; shared with the next graph when unchanged */
	float buf[2][MD_BLOCK];
	float post[2][MD_BLOCK]; /* post-fader, post-pan: what reaches the master and post-fader sends */
};

struct gbus {
	uint32_t uid;
	int16_t out_slot[2], ret_slot[2], stem_slot[2];
	int inherit;
	bool dirty;
	float p[MD_BP_COUNT];
	struct md_smooth gain[2];
	struct md_meter meter;
	struct md_fx *fx; /* the built-in effect, or NULL; shared with the graphs before and after */
	struct md_insert_rt *ins[MD_MAX_INSERTS]; /* the plugin inserts after the effect */
	int nins;
	uint32_t lat;                  /* as for strips */
	struct md_latency_delay *comp; /* max over buses - lat, or NULL */
	float acc[2][MD_BLOCK];        /* sum of the sends: the pre-fader bus mix, also sent to its output ports */
};

struct gmaster {
	int16_t out_slot[2];
	bool dirty;
	float p[MD_MP_COUNT];
	struct md_smooth gain[2], mono;
	struct md_meter meter;
	struct md_insert_rt *ins[MD_MAX_INSERTS]; /* the plugin inserts before the master section */
	int nins;
	uint32_t lat;                    /* its inserts' latency */
	struct md_latency_delay *direct; /* the strips' direct sum delayed by the latest bus's latency, or NULL */
	float lr, ll, rr;
	_Atomic float corr;
	float acc[2][MD_BLOCK];
	float gain_used[2][MD_BLOCK], mono_used[MD_BLOCK]; /* this block's master section, for stems */
};

/* one automation lane, compiled for the audio thread */
struct glane {
	uint8_t scope, mode;
	uint8_t slot; /* 0: a console parameter; k: a parameter (param: its index) of the plugin in insert slot k-1 */
	uint16_t index, param;
	bool step;     /* switches, enums and choices jump; levels and the rest are interpolated */
	bool override; /* a controller holds the parameter (touch/latch): the lane does not drive it */
	int n;
	const double *t; /* seconds, ascending */
	const float *v;
	int cursor; /* t[cursor] <= now < t[cursor + 1] */
};

struct md_graph {
	uint32_t rate;
	uint32_t ramp;        /* samples of a gain ramp */
	float rms_coef;       /* one-pole coefficient of the RMS meters, per sample */
	float rms_block_coef; /* the same over MD_BLOCK samples */
	bool metering;        /* meters and correlation are computed (off in the offline render) */
	int nstrips, nbuses;
	bool solo_dirty, any_solo;
	struct gstrip *strips;
	struct gbus *buses;
	struct gmaster master;
	const struct md_graph *prev; /* the graph this one inherits from, compared by pointer only */
	uint32_t latency;            /* input to master output, frames: max strip + max bus + master (latency.h) */
	float bpm;                   /* the tempo the buses' effects were last given */
	/* the timeline at the sub-block being processed (engine_process sets them): what sources play */
	int64_t play_frame;
	bool play_rolling;
	bool streaming; /* a disk streamer plays the sources (live); else they come on the input slots */
	int16_t in_slots[MD_MAX_SLOTS], out_slots[MD_MAX_SLOTS];
	int nin, nout;
	bool stems; /* some strip or bus has a stem output */
	int nlanes;
	bool auto_started; /* the lanes were evaluated at least once on this graph */
	struct glane *lanes;
	double *lane_t; /* the points of every lane, one allocation each */
	float *lane_v;
	/* the strips' filter chains of one sub-block, run side by side (biquad_process_lanes) */
	struct md_bq_lane *flanes;
	int16_t *forder;
};

enum { MSG_PARAM, MSG_GRAPH, MSG_OVERRIDE, MSG_INSERT };

/* MSG_INSERT's param for the slot's bypass (else it is the plugin parameter's index) */
#define MD_INSERT_BYPASS 0xffff

struct md_msg {
	uint8_t kind, scope;
	uint8_t slot; /* MSG_INSERT: the insert slot */
	uint16_t index;
	uint16_t param;
	float value;
	struct md_graph *graph;
};

struct md_engine {
	struct md_spsc *q;    /* control -> audio: struct md_msg */
	struct md_spsc *retq; /* audio -> control: struct md_graph * */
	/* audio thread's */
	struct md_graph *cur, *old, *retire_pending;
	struct md_graph *next; /* popped while a crossfade ran: installed when it is over (the queue waits) */
	uint32_t jump_left;    /* samples of the ramp that smooths a timeline jump */
	uint32_t fade_pos, fade_len;
	int16_t io_in[MD_MAX_SLOTS * 2], io_out[MD_MAX_SLOTS * 2];
	int nio_in, nio_out;
	_Atomic uint64_t frames;
	atomic_bool metering;
	bool rolling;
	uint64_t time_frame, expect_frame;
	float host_bpm; /* the JACK transport's tempo, 0 when it gives none (engine_set_tempo) */
	uint64_t stamp; /* sub-blocks processed: a shared effect runs once per stamp */
	/* control side's: how plugins are instantiated, and the last problem one had */
	bool allow_non_rt, freewheel;
	char ins_err[700];
	unsigned ins_err_serial;
	/* control side's: the disk streamer for sources, and what went wrong opening one */
	struct md_player *player;
	uint32_t player_rate;
	char src_err[512];
	unsigned src_err_serial;
	/* control side's */
	struct md_graph *submitted;
	int in_flight; /* graphs submitted and not yet retired, including the current one */
};

/* graph.c */
/* [rt] take over the running state of strips and buses that exist in both graphs */
void graph_inherit(struct md_graph *g, struct md_graph *prev);

/* graph.c: the latency of a chain of inserts as they report it now (capped at MD_LATENCY_MAX_FRAMES) [any] */
uint32_t graph_inserts_latency(struct md_insert_rt *const *ins, int nins);

/* graph.c: the insert slots (MD_MAX_INSERTS) of a strip, bus or the master of g, or NULL for a bad index [any] */
struct md_insert_rt **graph_inserts(struct md_graph *g, int scope, int index);

/* apply.c */
/* [rt] an insert's parameter or bypass record */
void graph_insert_msg(struct md_graph *g, const struct md_msg *m);

/* engine.c: the swap */
/* [rt] hand a graph back to the control side (or keep it for the next period when the queue is full) */
void graph_retire(struct md_engine *e, struct md_graph *g);
/* [rt] the slots the current and the fading graph read and write, each once */
void graph_update_io(struct md_engine *e);

/* process.c: parameter values, also applied there by the lanes every sub-block */
/* [rt] store one parameter record into graph g and mark what it changes */
void graph_apply(struct md_graph *g, const struct md_msg *m);
/* [rt] a controller took (value 1) or released (0) a parameter: its lanes stop or resume driving it */
void graph_override(struct md_graph *g, const struct md_msg *m);
/* [rt] turn changed parameter values into ramp targets over `ramp` samples */
void graph_retarget(struct md_graph *g, uint32_t ramp);

#endif
