/* mixdesk: pass 1 of the render: one or two engines (split.c) render the strips' sources chunk by chunk, their
 * outputs are added and spooled, and the mix is measured (libebur128: true peak, loudness, range), as jobs on
 * lanes that the main thread and one worker take. Every function here is [control] (the worker is a thread of
 * the render, not the audio thread).
 *
 * The work of each chunk of CHUNK frames is split into jobs on lanes: one DSP lane per group (read its
 * sources, run its engine period by period), the MIX lane (add the groups, count clips, DC and window peaks,
 * spool the mix and the stems), and three measuring lanes on the finished mix (true peak of the left
 * channel, true peak of the right channel, loudness and loudness range: three libebur128 states, so that
 * they can run side by side). Each lane takes its chunks in order; a ring of RING chunks between the lanes
 * bounds how far DSP runs ahead. The main thread and one worker take whichever job is ready (MIX first, then
 * the lane furthest behind), so both cores stay busy whatever the balance of DSP and measuring. Which thread
 * runs a job never changes what it computes: the output depends on the number of engines only. */
#include "tools/render/render_int.h"

#include "engine/engine.h"

#include <ebur128.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PERIOD 1024          /* frames per engine call */
#define PREROLL_SECONDS 0.05 /* silence run before frame 0 so new strips have faded in */
#define CHUNK_PERIODS 8
#define CHUNK ((size_t)PERIOD * CHUNK_PERIODS)
#define RING 8 /* chunks in flight between the DSP, MIX and measuring lanes */

enum lane_kind { LANE_DSP, LANE_MIX, LANE_TP, LANE_LOUD };

struct lane {
	enum lane_kind kind;
	int arg;       /* the group of a DSP lane, the channel of a true-peak lane */
	uint64_t done; /* chunks finished */
	bool busy;
	double t, t_read; /* seconds spent in this lane's jobs (t_read: reading sources, DSP lanes only) */
};

struct group { /* one engine over some of the strips, every bus and the master */
	struct md_console *c;
	struct md_engine *e;
	int *src; /* indices into the render's sources read by this group */
	int nsrc;
	float *store; /* input slots, PERIOD frames each */
	float *il;    /* interleaved read buffer */
	float *ring;  /* RING chunks of [nouts][2][CHUNK] outputs */
	float *bufs[MD_MAX_SLOTS];
};

struct rdr_pass1 {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int nlanes, mix_lane;
	struct lane lanes[RDR_MAX_GROUPS + 4];
	uint64_t nchunks, frames, start;
	uint32_t latency; /* the console's plugin latency: the engines run this far ahead of the output */
	int ngroups;
	struct group g[RDR_MAX_GROUPS];
	struct rdr_source *srcs;
	struct rdr_output *outs;
	int nouts;
	int16_t (*out_slot)[2]; /* [nouts]: the engine slots of the mix and each stem */
	int *owner;             /* [nouts]: the group that alone writes an output (a strip's stem), or -1: all */
	float *mixring;         /* RING chunks of L[CHUNK], R[CHUNK], LR[2 * CHUNK] */
	float *stem_il;         /* the MIX lane's interleaving buffer, 2 * CHUNK */
	ebur128_state *tp[2], *loud;
	/* the MIX lane's figures */
	double dc[2];
	uint64_t clipped;
	float *win_peak;
	size_t win;
	/* how it ends */
	const struct render_opts *opt;
	bool abort, interrupted;
	enum md_err ret;
	char err[1024];
	int *shown; /* the render's progress bar */
	/* how it was planned */
	int threads;
	int group_of[MD_MAX_STRIPS]; /* the group of each strip */
};

static bool lane_ready(const struct rdr_pass1 *p, int li)
{
	const struct lane *l = &p->lanes[li];
	if (l->busy || l->done >= p->nchunks)
		return false;
	const uint64_t mixed = p->lanes[p->mix_lane].done;
	switch (l->kind) {
	case LANE_DSP: return l->done - mixed < RING;
	case LANE_MIX:
		for (int g = 0; g < p->ngroups; g++)
			if (p->lanes[g].done <= l->done)
				return false;
		for (int m = p->mix_lane + 1; m < p->nlanes; m++)
			if (l->done - p->lanes[m].done >= RING)
				return false;
		return true;
	default: return l->done < mixed;
	}
}

/* the next job: MIX when it can run (it unblocks the others), else the ready lane furthest behind */
static int pick_lane(const struct rdr_pass1 *p)
{
	if (lane_ready(p, p->mix_lane))
		return p->mix_lane;
	int best = -1;
	for (int li = 0; li < p->nlanes; li++)
		if (lane_ready(p, li) && (best < 0 || p->lanes[li].done < p->lanes[best].done))
			best = li;
	return best;
}

/* the next n frames of every source of group g into its input slots */
static void read_sources(struct rdr_pass1 *p, struct group *g, size_t n)
{
	for (int j = 0; j < g->nsrc; j++) {
		struct rdr_source *s = &p->srcs[g->src[j]];
		float *in[2] = {g->bufs[s->slot[0]], s->slot[1] >= 0 ? g->bufs[s->slot[1]] : NULL};
		rdr_source_read(s, g->il, in, n);
	}
}

/* one group's engine over chunk k: read its sources and run it period by period into its ring slot */
static enum md_err job_dsp(struct rdr_pass1 *p, struct lane *l, uint64_t k)
{
	struct group *g = &p->g[l->arg];
	const uint64_t base = k * CHUNK;
	const size_t n = p->frames - base < CHUNK ? (size_t)(p->frames - base) : CHUNK;
	float *ring = g->ring + (size_t)(k % RING) * (size_t)p->nouts * 2 * CHUNK;
	for (size_t off = 0; off < n; off += PERIOD) {
		const size_t m = n - off < PERIOD ? n - off : PERIOD;
		double t0 = md_now_s();
		read_sources(p, g, m);
		double t1 = md_now_s();
		for (int o = 0; o < p->nouts; o++)
			for (int ch = 0; ch < 2; ch++)
				if (p->out_slot[o][ch] >= 0)
					g->bufs[p->out_slot[o][ch]] = ring + ((size_t)o * 2 + (size_t)ch) * CHUNK + off;
		engine_set_time(g->e, true, p->start + p->latency + base + off);
		engine_run(g->e, g->bufs, (uint32_t)m);
		l->t_read += t1 - t0;
		l->t += md_now_s() - t1;
	}
	return MD_OK;
}

/* chunk k of the groups added (group 0 + group 1, in that order): the figures, the spools, the measuring ring */
static enum md_err job_mix(struct rdr_pass1 *p, uint64_t k, char *err, size_t errlen)
{
	const uint64_t base = k * CHUNK;
	const size_t n = p->frames - base < CHUNK ? (size_t)(p->frames - base) : CHUNK;
	const size_t slot = (size_t)(k % RING), stride = (size_t)p->nouts * 2 * CHUNK;
	float *L = p->mixring + slot * 4 * CHUNK, *R = L + CHUNK, *LR = R + CHUNK;
	const float *a[RDR_MAX_GROUPS][2];
	for (int g = 0; g < p->ngroups; g++)
		for (int ch = 0; ch < 2; ch++)
			a[g][ch] = p->g[g].ring + slot * stride + (size_t)ch * CHUNK;
	for (size_t i = 0; i < n; i++) {
		float l = a[0][0][i], r = a[0][1][i];
		for (int g = 1; g < p->ngroups; g++) {
			l += a[g][0][i];
			r += a[g][1][i];
		}
		L[i] = l;
		R[i] = r;
		LR[2 * i] = l;
		LR[2 * i + 1] = r;
	}
	/* the figures, a window at a time (no division per sample; the max vectorises) */
	double dc0 = 0.0, dc1 = 0.0;
	uint64_t clipped = 0;
	for (size_t i0 = 0; i0 < n;) {
		size_t w = (size_t)((base + i0) / p->win);
		size_t i1 = (size_t)((uint64_t)(w + 1) * p->win - base);
		if (i1 > n)
			i1 = n;
		float pk = p->win_peak[w];
		for (size_t i = i0; i < i1; i++) {
			float al = fabsf(L[i]), ar = fabsf(R[i]);
			dc0 += L[i];
			dc1 += R[i];
			clipped += (al > 1.0f) + (ar > 1.0f);
			float m = al > ar ? al : ar;
			pk = m > pk ? m : pk;
		}
		p->win_peak[w] = pk;
		i0 = i1;
	}
	p->dc[0] += dc0;
	p->dc[1] += dc1;
	p->clipped += clipped;
	enum md_err ret = rdr_spool_put(&p->outs[0].sp, LR, n, err, errlen);
	for (int o = 1; o < p->nouts && !ret; o++) {
		float *y = p->stem_il;
		for (int ch = 0; ch < 2; ch++) {
			int g0 = p->owner[o] >= 0 ? p->owner[o] : 0,
			    g1 = p->owner[o] >= 0 ? p->owner[o] + 1 : p->ngroups;
			const float *x0 = p->g[g0].ring + slot * stride + ((size_t)o * 2 + (size_t)ch) * CHUNK;
			for (size_t i = 0; i < n; i++)
				y[2 * i + (size_t)ch] = x0[i];
			for (int g = g0 + 1; g < g1; g++) {
				const float *x = p->g[g].ring + slot * stride + ((size_t)o * 2 + (size_t)ch) * CHUNK;
				for (size_t i = 0; i < n; i++)
					y[2 * i + (size_t)ch] += x[i];
			}
		}
		ret = rdr_spool_put(&p->outs[o].sp, y, n, err, errlen);
	}
	return ret;
}

/* one measuring state over chunk k of the mix, a period at a time (as the one-state render fed it) */
static enum md_err job_measure(struct rdr_pass1 *p, const struct lane *l, uint64_t k, char *err, size_t errlen)
{
	const uint64_t base = k * CHUNK;
	const size_t n = p->frames - base < CHUNK ? (size_t)(p->frames - base) : CHUNK;
	const float *L = p->mixring + (size_t)(k % RING) * 4 * CHUNK;
	for (size_t off = 0; off < n; off += PERIOD) {
		const size_t m = n - off < PERIOD ? n - off : PERIOD;
		int r = l->kind == LANE_TP
				? ebur128_add_frames_float(p->tp[l->arg], L + (size_t)l->arg * CHUNK + off, m)
				: ebur128_add_frames_float(p->loud, L + 2 * CHUNK + 2 * off, m);
		if (r != EBUR128_SUCCESS) {
			snprintf(err, errlen, "the loudness meter failed (out of memory?)");
			return MD_ERR_NOMEM;
		}
	}
	return MD_OK;
}

/* the job loop, on the main thread (which also watches for Ctrl-C and draws the progress) and the worker */
static void pass1_loop(struct rdr_pass1 *p, bool main_thread)
{
	char err[1024];
	pthread_mutex_lock(&p->mu);
	for (;;) {
		if (main_thread && p->opt->stop && *p->opt->stop && !p->abort) {
			p->abort = p->interrupted = true;
			pthread_cond_broadcast(&p->cv);
		}
		if (p->abort)
			break;
		bool all = true;
		for (int li = 0; li < p->nlanes; li++)
			all &= p->lanes[li].done >= p->nchunks;
		if (all)
			break;
		int li = pick_lane(p);
		if (li < 0) {
			if (main_thread) { /* wake now and then to see Ctrl-C */
				struct timespec ts;
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_nsec += 50000000;
				if (ts.tv_nsec >= 1000000000) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000;
				}
				pthread_cond_timedwait(&p->cv, &p->mu, &ts);
			} else
				pthread_cond_wait(&p->cv, &p->mu);
			continue;
		}
		struct lane *l = &p->lanes[li];
		const uint64_t k = l->done;
		l->busy = true;
		pthread_mutex_unlock(&p->mu);

		enum md_err r = MD_OK;
		double t0 = md_now_s();
		switch (l->kind) {
		case LANE_DSP: r = job_dsp(p, l, k); break;
		case LANE_MIX:
			r = job_mix(p, k, err, sizeof err);
			l->t += md_now_s() - t0;
			break;
		default:
			r = job_measure(p, l, k, err, sizeof err);
			l->t += md_now_s() - t0;
			break;
		}

		pthread_mutex_lock(&p->mu);
		l->busy = false;
		l->done++;
		if (r != MD_OK && !p->abort) {
			p->abort = true;
			p->ret = r;
			md_strlcpy(p->err, err, sizeof p->err);
		}
		pthread_cond_broadcast(&p->cv);
		if (main_thread && p->opt->progress) {
			uint64_t measured = p->nchunks;
			for (int m = p->mix_lane + 1; m < p->nlanes; m++)
				measured = p->lanes[m].done < measured ? p->lanes[m].done : measured;
			pthread_mutex_unlock(&p->mu);
			rdr_progress(0.9 * (double)measured / (double)p->nchunks, p->shown);
			pthread_mutex_lock(&p->mu);
		}
	}
	pthread_mutex_unlock(&p->mu);
}

static void *pass1_worker(void *arg)
{
	pass1_loop(arg, false);
	return NULL;
}

struct rdr_pass1 *rdr_pass1_new(void)
{
	return calloc(1, sizeof(struct rdr_pass1));
}

/* the plan: one or two engines, one or two threads */
static void pass1_plan(struct rdr_pass1 *p, struct rdr_render *r)
{
	struct render_report *rep = r->rep;
	char why[256];
	p->threads = r->threads;
	p->ngroups = rdr_split_plan(r->c, r->threads, p->group_of, why, sizeof why);
	rep->threads = r->threads;
	rep->engines = p->ngroups;
	md_strlcpy(rep->split_off, why, sizeof rep->split_off);
	p->opt = r->opt;
	p->srcs = r->srcs;
	p->outs = r->outs;
	p->nouts = r->nouts;
	p->frames = r->frames;
	p->start = r->start;
	p->nchunks = (p->frames + CHUNK - 1) / CHUNK;
	p->shown = &r->shown;
	p->win = r->rate / 10;
}

/* the MIX lane's buffers, the measuring states and the engine slots of the mix and each stem */
static enum md_err pass1_alloc(struct rdr_pass1 *p, const struct rdr_render *r, char *err, size_t errlen)
{
	const struct md_console *c = r->c;
	const uint32_t rate = r->rate;
	const int nouts = p->nouts;
	const size_t nwin = (size_t)(p->frames / p->win) + 1;
	p->out_slot = calloc((size_t)nouts, sizeof *p->out_slot);
	p->owner = calloc((size_t)nouts, sizeof *p->owner);
	p->mixring = malloc((size_t)RING * 4 * CHUNK * sizeof(float));
	p->stem_il = malloc(2 * CHUNK * sizeof(float));
	p->win_peak = calloc(nwin, sizeof *p->win_peak);
	/* the measuring: true peak per channel (4x oversampled) and loudness + range, in three states */
	p->tp[0] = ebur128_init(1, rate, EBUR128_MODE_TRUE_PEAK);
	p->tp[1] = ebur128_init(1, rate, EBUR128_MODE_TRUE_PEAK);
	p->loud = ebur128_init(2, rate, EBUR128_MODE_I | EBUR128_MODE_LRA);
	if (!p->out_slot || !p->owner || !p->mixring || !p->stem_il || !p->win_peak || !p->tp[0] || !p->tp[1] ||
	    !p->loud) {
		snprintf(err, errlen, "out of memory setting up the meters");
		return MD_ERR_NOMEM;
	}
	memcpy(p->out_slot[0], c->master.out_slot, sizeof p->out_slot[0]);
	p->owner[0] = -1;
	for (int k = 1; k < nouts; k++) {
		bool is_strip = k - 1 < c->nstrips;
		memcpy(p->out_slot[k], is_strip ? c->strips[k - 1]->stem_slot : c->buses[k - 1 - c->nstrips]->stem_slot,
		       sizeof p->out_slot[k]);
		p->owner[k] = is_strip ? p->group_of[k - 1] : -1;
	}
	return MD_OK;
}

/* pre-roll: a new graph fades its strips in from silence over MD_RAMP_SECONDS; run that on silence
 * with the transport stopped at the start (lanes hold their start values) so frame 0 is exact */
static void pass1_preroll(struct rdr_pass1 *p, struct group *g, const struct rdr_render *r)
{
	const int16_t slot = r->nslots;
	for (int o = 0; o < p->nouts; o++)
		for (int ch = 0; ch < 2; ch++)
			if (p->out_slot[o][ch] >= 0)
				g->bufs[p->out_slot[o][ch]] = g->ring + ((size_t)o * 2 + (size_t)ch) * CHUNK;
	for (uint32_t done = 0, pre = (uint32_t)ceil(PREROLL_SECONDS * r->rate); done < pre;) {
		uint32_t n = pre - done < PERIOD ? pre - done : PERIOD;
		memset(g->store, 0, (size_t)slot * PERIOD * sizeof *g->store);
		engine_set_time(g->e, false, r->start);
		engine_run(g->e, g->bufs, n);
		done += n;
	}
}

/* the console's latency (plugins that report one, compensated: latency.h) as a second pre-roll: the first
 * `latency` frames of the sources are run and their output dropped, so the engine's output starts with what
 * the sources hold at time zero, and the timeline runs that far ahead (lanes act where the audio enters) */
static void pass1_align(struct rdr_pass1 *p, struct group *g)
{
	/* the outputs still point at the ring's first chunk, as pass1_preroll left them (a chunk DSP overwrites) */
	for (uint32_t done = 0; done < p->latency;) {
		uint32_t n = p->latency - done < PERIOD ? p->latency - done : PERIOD;
		read_sources(p, g, n);
		engine_set_time(g->e, true, p->start + done);
		engine_run(g->e, g->bufs, n);
		done += n;
	}
}

/* group gi's engine: on a copy of the console with the group's strips, every bus and the master */
static enum md_err pass1_engine(struct rdr_pass1 *p, int gi, const struct rdr_render *r, char *err, size_t errlen)
{
	const struct md_console *c = r->c;
	const int16_t slot = r->nslots;
	const int *group_of = p->group_of;
	struct group *g = &p->g[gi];
	struct md_graph *graph = NULL;
	if (!(g->c = console_clone(c)) || !(g->src = calloc((size_t)r->nsrc + 1, sizeof *g->src)) ||
	    !(g->store = calloc((size_t)slot * PERIOD, sizeof *g->store)) ||
	    !(g->il = malloc(PERIOD * 2 * sizeof *g->il)) ||
	    !(g->ring = calloc((size_t)RING * (size_t)p->nouts * 2 * CHUNK, sizeof *g->ring)) ||
	    !(g->e = engine_new())) {
		snprintf(err, errlen, "out of memory setting up the engines");
		return MD_ERR_NOMEM;
	}
	for (int i = c->nstrips - 1; i >= 0; i--)
		if (group_of[i] != gi)
			console_remove_strip(g->c, i);
	for (int k = 0; k < r->nsrc; k++)
		if (group_of[r->srcs[k].strip] == gi)
			g->src[g->nsrc++] = k;
	for (int i = 0; i < g->c->nstrips; i++)
		for (int ch = 0; ch < 2; ch++)
			if (g->c->strips[i]->in_slot[ch] >= 0)
				g->bufs[g->c->strips[i]->in_slot[ch]] = g->store +
									(size_t)g->c->strips[i]->in_slot[ch] * PERIOD;
	engine_set_metering(g->e, false);           /* the render reads no meters */
	engine_set_plugin_policy(g->e, true, true); /* any plugin runs offline, free-wheeling */
	if (!(graph = engine_build(g->e, g->c, r->rate))) {
		snprintf(err, errlen, "out of memory setting up the engines");
		return MD_ERR_NOMEM;
	}
	/* a plugin that cannot run would pass the signal through: the bounce would not be the mix */
	unsigned serial;
	const char *ie = engine_insert_error(g->e, &serial);
	if (ie) {
		snprintf(err, errlen, "%s: the render stops rather than bounce a mix without it", ie);
		engine_graph_free(graph);
		return MD_ERR_FORMAT;
	}
	if (engine_submit(g->e, graph) != MD_OK) {
		engine_graph_free(graph);
		snprintf(err, errlen, "the engine refused the graph");
		return MD_ERR_FULL;
	}
	pass1_preroll(p, g, r);
	/* one engine when plugins are in (split.c): its latency is the console's */
	p->latency = engine_latency(g->e);
	r->rep->latency = p->latency;
	pass1_align(p, g);
	return MD_OK;
}

enum md_err rdr_pass1_setup(struct rdr_pass1 *p, struct rdr_render *r, char *err, size_t errlen)
{
	pass1_plan(p, r);
	enum md_err ret = pass1_alloc(p, r, err, errlen);
	/* the engines: each on a copy of the console with its group's strips, every bus and the master */
	for (int gi = 0; gi < p->ngroups && !ret; gi++)
		ret = pass1_engine(p, gi, r, err, errlen);
	if (ret)
		return ret;
	/* the lanes: DSP per group, MIX, true peak left and right, loudness */
	for (int gi = 0; gi < p->ngroups; gi++)
		p->lanes[p->nlanes++] = (struct lane){.kind = LANE_DSP, .arg = gi};
	p->mix_lane = p->nlanes;
	p->lanes[p->nlanes++] = (struct lane){.kind = LANE_MIX};
	p->lanes[p->nlanes++] = (struct lane){.kind = LANE_TP, .arg = 0};
	p->lanes[p->nlanes++] = (struct lane){.kind = LANE_TP, .arg = 1};
	p->lanes[p->nlanes++] = (struct lane){.kind = LANE_LOUD};
	return MD_OK;
}

enum md_err rdr_pass1_run(struct rdr_pass1 *p, struct render_report *rep, char *err, size_t errlen)
{
	pthread_t worker_id;
	bool worker = false;
	if (pthread_mutex_init(&p->mu, NULL) != 0 ||
	    (pthread_cond_init(&p->cv, NULL) != 0 && (pthread_mutex_destroy(&p->mu), true))) {
		snprintf(err, errlen, "cannot set up the render's lock");
		return MD_ERR_NOMEM;
	}
	const double t_pass1 = md_now_s();
	if (p->threads > 1 && pthread_create(&worker_id, NULL, pass1_worker, p) == 0)
		worker = true; /* else this thread does it all: the same samples, more slowly */
	if (!worker)
		rep->threads = 1;
	pass1_loop(p, true);
	if (worker)
		pthread_join(worker_id, NULL);
	rep->t_pass1 = md_now_s() - t_pass1;
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	for (int li = 0; li < p->nlanes; li++) {
		const struct lane *l = &p->lanes[li];
		rep->t_read += l->t_read;
		*(l->kind == LANE_DSP ? &rep->t_dsp : l->kind == LANE_MIX ? &rep->t_mix : &rep->t_measure) += l->t;
	}
	if (p->interrupted) {
		rep->interrupted = true;
		snprintf(err, errlen, "interrupted: nothing written");
		return MD_ERR_IO;
	}
	if (p->ret) {
		md_strlcpy(err, p->err, errlen);
		return p->ret;
	}
	return MD_OK;
}

void rdr_pass1_measured(const struct rdr_pass1 *p, struct rdr_measure *m)
{
	double tp = 0.0;
	for (unsigned ch = 0; ch < 2; ch++) {
		double v = 0.0;
		ebur128_true_peak(p->tp[ch], 0, &v);
		tp = fmax(tp, v);
	}
	m->true_peak = tp;
	m->lufs = -HUGE_VAL;
	m->lra = 0.0;
	ebur128_loudness_global(p->loud, &m->lufs);
	ebur128_loudness_range(p->loud, &m->lra);
	m->dc[0] = p->dc[0];
	m->dc[1] = p->dc[1];
	m->clipped = p->clipped;
	m->win_peak = p->win_peak;
	m->win = p->win;
}

void rdr_pass1_free(struct rdr_pass1 *p)
{
	if (!p)
		return;
	for (int gi = 0; gi < RDR_MAX_GROUPS; gi++) {
		struct group *g = &p->g[gi];
		if (g->e) {
			engine_collect(g->e);
			engine_free(g->e);
		}
		console_free(g->c);
		free(g->src);
		free(g->store);
		free(g->il);
		free(g->ring);
	}
	for (int ch = 0; ch < 2; ch++)
		if (p->tp[ch])
			ebur128_destroy(&p->tp[ch]);
	if (p->loud)
		ebur128_destroy(&p->loud);
	free(p->out_slot);
	free(p->owner);
	free(p->mixring);
	free(p->stem_il);
	free(p->win_peak);
	free(p);
}
