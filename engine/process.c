/* mixdesk: the audio thread's work each period [rt]: parameter records and automation lanes into ramp
 * targets (through engine/apply.c), then the graph in 64-frame sub-blocks (strips, sends and buses, the master section, meters,
 * stems), with the crossfade from an old graph to a new one. The helpers of the sample loops stay in this
 * file (or are static inline in meter.h) so that GCC can inline and vectorise them. */
#include "engine/graph.h"
#include "engine/lanes.h"
#include "engine/player.h"

#include <math.h>
#include <string.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

/* ---- one sub-block of a graph ---- */

/* [rt] the one-pole RMS coefficient for a whole block of n samples: 1 - (1 - a)^n */
static float block_coef(const struct md_graph *g, uint32_t n)
{
	return n == MD_BLOCK ? g->rms_block_coef : 1.0f - powf(1.0f - g->rms_coef, (float)n);
}

static const float zeros[MD_BLOCK];

/* [rt] l += (a * g) * pl, r += (b * g) * pr (restrict: the sums are not the inputs, so the loop vectorises) */
static void add_panned(float *restrict l, float *restrict r, const float *a, const float *b, float g, float pl,
		       float pr, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		l[i] += (a[i] * g) * pl;
		r[i] += (b[i] * g) * pr;
	}
}

/* [rt] l = a * ga, r = b * gb (in place allowed: element by element) */
static void scale2(float *l, float *r, const float *a, const float *b, float ga, float gb, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		float u = a[i] * ga, v = b[i] * gb;
		l[i] = u;
		r[i] = v;
	}
}

/* [rt] one strip's sub-block, first half: trim/polarity into the strip's buffers, then its filters: on
 * its own while they glide or cross-fade, otherwise as lanes of g->flanes, which graph_block runs for all
 * strips together before strip_out. While no gain is ramping (nearly always) the gains are constants and
 * the loops vectorise. */
static void strip_in(struct md_graph *g, struct gstrip *s, float *const *bufs, uint32_t off, uint32_t n, int *nfl)
{
	const int nch = s->nch;
	const bool ramping = smooth_active(&s->pre) || smooth_active(&s->mgate) || smooth_active(&s->fader) ||
			     smooth_active(&s->pan[0]) || smooth_active(&s->pan[1]);
	s->ramping = ramping;
	/* the source, streamed in step with the timeline (input source or both) */
	/* without a streamer (the offline render) the source arrives on the strip's input slot, as JACK's does */
	const int input = g->streaming ? (int)s->p[MD_SP_INPUT] : MD_INPUT_JACK;
	float sb[2][MD_BLOCK];
	if (s->src && input != MD_INPUT_JACK) {
		float *const o[2] = {sb[0], sb[1]};
		int64_t at = g->play_frame - (int64_t)llround((double)s->p[MD_SP_OFFSET] * (double)g->rate);
		player_read(s->src, at, g->play_rolling, o, n);
	}
	for (int c = 0; c < nch; c++) {
		int16_t slot = s->in_slot[c];
		const float *in = slot >= 0 && bufs[slot] ? bufs[slot] + off : zeros;
		if (input == MD_INPUT_SOURCE)
			in = s->src ? sb[c] : zeros;
		else if (input == MD_INPUT_BOTH && s->src) {
			for (uint32_t i = 0; i < n; i++)
				sb[c][i] += in[i];
			in = sb[c];
		}
		float *x = s->buf[c];
		if (!ramping) {
			const float pre = s->pre.cur;
			for (uint32_t i = 0; i < n; i++)
				x[i] = in[i] * pre;
			continue;
		}
		struct md_smooth pre = s->pre; /* every channel follows the same ramp */
		for (uint32_t i = 0; i < n; i++)
			x[i] = in[i] * smooth_next(&pre);
		if (c == nch - 1)
			s->pre = pre;
	}
	float *const ch[2] = {s->buf[0], s->buf[1]};
	strip_dsp_drive(&s->dsp, ch, nch, n); /* the preamp stage, before the filters */
	struct md_biquad *sec[MD_BQ_CHAIN_MAX];
	int ns = strip_dsp_chain(&s->dsp, sec);
	if (ns < 0) {
		strip_dsp_filters(&s->dsp, ch, nch, n);
		return;
	}
	for (int c = 0; c < nch && ns > 0; c++) {
		struct md_bq_lane *l = &g->flanes[(*nfl)++];
		memcpy(l->s, sec, (size_t)ns * sizeof *sec);
		l->ns = ns;
		l->c = c;
		l->x = s->buf[c];
	}
}

/* [rt] the strip's dynamics, then its NaN guard and its gain-reduction reading */
static void strip_dynamics(struct gstrip *s, uint32_t n)
{
	const int nch = s->nch;
	float *const ch[2] = {s->buf[0], s->buf[1]};
	strip_dsp_dynamics(&s->dsp, ch, nch, n);

	/* NaN guard: a strip that produced a non-finite sample is silenced for this block and reset */
	if (!md_all_finite(s->buf[0], n) || (nch == 2 && !md_all_finite(s->buf[1], n))) {
		for (int c = 0; c < nch; c++)
			memset(s->buf[c], 0, n * sizeof(float));
		strip_dsp_reset(&s->dsp);
	}
	atomic_store_explicit(&s->gr, strip_dsp_gr_db(&s->dsp), memory_order_relaxed);
}

/* [rt] the mute/solo gate, fader and pan into the master sum; also, as this block needs them, y (post-fader,
 * pre-pan), s->post (post-pan) and gate (the gate per sample) */
static void strip_fader(struct md_graph *g, struct gstrip *s, uint32_t n, float (*y)[MD_BLOCK], float *gate)
{
	const int nch = s->nch;
	const bool ramping = s->ramping;
	/* what this block needs besides the master sum: the post-pan signal for post-fader sends and stems,
	 * the mute/solo gate for pre-fader sends, the post-fader signal for the meter */
	bool want_post = s->stem_slot[0] >= 0 || s->stem_slot[1] >= 0, want_gate = false;
	for (int b = 0; b < g->nbuses; b++)
		if (s->send[b].cur != 0.0f || s->send[b].target != 0.0f) {
			if (s->p[MD_SP_SEND(b, MD_SEND_PRE)] >= 0.5f)
				want_gate = true;
			else
				want_post = true;
		}
	float *ml = g->master.acc[0], *mr = g->master.acc[1];
	float(*post)[MD_BLOCK] = s->post;
	const float *x0 = s->buf[0], *x1 = s->buf[nch - 1];
	if (!ramping) {
		/* each output in its own loop, computed the same way as in the ramping case ((x * gf) * pan) */
		const float gm = s->mgate.cur, gf = s->fader.cur * gm, pl = s->pan[0].cur, pr = s->pan[1].cur;
		add_panned(ml, mr, x0, x1, gf, pl, pr, n);
		if (g->metering)
			scale2(y[0], y[1], x0, x1, gf, gf, n);
		if (want_post) {
			scale2(post[0], post[1], x0, x1, gf, gf, n);
			scale2(post[0], post[1], post[0], post[1], pl, pr, n);
		}
		if (want_gate)
			for (uint32_t i = 0; i < n; i++)
				gate[i] = gm;
	} else {
		for (uint32_t i = 0; i < n; i++) {
			float gm = smooth_next(&s->mgate);
			float gf = smooth_next(&s->fader) * gm;
			float pl = smooth_next(&s->pan[0]), pr = smooth_next(&s->pan[1]);
			float a = x0[i] * gf, b = x1[i] * gf;
			y[0][i] = a;
			y[1][i] = b;
			post[0][i] = a * pl;
			post[1][i] = b * pr;
			ml[i] += post[0][i];
			mr[i] += post[1][i];
			gate[i] = gm;
		}
	}
}

/* [rt] the strip's sends into the mix buses, through gate (strip_fader's) for the pre-fader ones */
static void strip_sends(struct md_graph *g, struct gstrip *s, const float *gate, uint32_t n)
{
	float(*post)[MD_BLOCK] = s->post;
	const float *x0 = s->buf[0], *x1 = s->buf[s->nch - 1];
	for (int b = 0; b < g->nbuses; b++) {
		struct gbus *bus = &g->buses[b];
		struct md_smooth *sg = &s->send[b];
		if (sg->cur == 0.0f && sg->target == 0.0f)
			continue;
		/* post-fader sends follow the pan; pre-fader sends take the strip unpanned, after the mute */
		const bool pre = s->p[MD_SP_SEND(b, MD_SEND_PRE)] >= 0.5f;
		const float *l = pre ? x0 : post[0], *r = pre ? x1 : post[1];
		if (!smooth_active(sg)) {
			const float gs = sg->cur;
			if (pre)
				for (uint32_t i = 0; i < n; i++) {
					bus->acc[0][i] += l[i] * gate[i] * gs;
					bus->acc[1][i] += r[i] * gate[i] * gs;
				}
			else
				for (uint32_t i = 0; i < n; i++) {
					bus->acc[0][i] += l[i] * gs;
					bus->acc[1][i] += r[i] * gs;
				}
			continue;
		}
		for (uint32_t i = 0; i < n; i++) {
			float gs = smooth_next(sg) * (pre ? gate[i] : 1.0f);
			bus->acc[0][i] += l[i] * gs;
			bus->acc[1][i] += r[i] * gs;
		}
	}
	/* sends to no bus still move their ramps along */
	for (int b = g->nbuses; b < MD_MAX_BUSES; b++)
		if (smooth_active(&s->send[b]))
			for (uint32_t i = 0; i < n; i++)
				smooth_next(&s->send[b]);
}

/* [rt] the second half: dynamics, then fader, pan and sends into the mix buses */
static void strip_out(struct md_graph *g, struct gstrip *s, uint32_t n, uint64_t stamp)
{
	float y[2][MD_BLOCK]; /* post-fader, pre-pan: what the strip meter shows */
	float gate[MD_BLOCK]; /* the mute/solo gate per sample, for pre-fader sends */
	strip_dynamics(s, n);
	for (int k = 0; k < s->nins; k++) /* the insert point: after the dynamics, before the fader */
		if (s->ins[k])
			insert_process(s->ins[k], stamp, s->buf, n);
	if (s->comp) /* as late as the latest strip */
		latency_delay_process(s->comp, stamp, s->buf, n);
	strip_fader(g, s, n, y, gate);
	if (g->metering) {
		meter_block(&s->meter, 0, y[0], n, block_coef(g, n));
		if (s->nch == 2)
			meter_block(&s->meter, 1, y[1], n, block_coef(g, n));
	}
	strip_sends(g, s, gate, n);
}

/* [rt] a stem: one strip's or bus's contribution to the master, through the master section's mono sum and
 * gains, so that the stems of every strip and bus add up to the master output */
static void stem_out(const struct md_graph *g, const int16_t slot[2], float (*x)[MD_BLOCK], float *const *bufs,
		     uint32_t off, uint32_t n, float w0, float dw)
{
	const struct gmaster *m = &g->master;
	for (int c = 0; c < 2; c++) {
		if (slot[c] < 0 || !bufs[slot[c]])
			continue;
		float *o = bufs[slot[c]] + off;
		float w = w0;
		for (uint32_t i = 0; i < n; i++, w += dw) {
			float v = x[c][i];
			v += m->mono_used[i] * (0.5f * (x[0][i] + x[1][i]) - v);
			o[i] += v * m->gain_used[c][i] * w;
		}
	}
}

/* [rt] add the two channels x to the output slots that have a buffer, with weight w0 ramping by dw */
static void out_add(const int16_t slot[2], float (*x)[MD_BLOCK], float *const *bufs, uint32_t off, uint32_t n, float w0,
		    float dw)
{
	for (int c = 0; c < 2; c++) {
		int16_t os = slot[c];
		if (os >= 0 && bufs[os]) {
			float *o = bufs[os] + off;
			float w = w0;
			for (uint32_t i = 0; i < n; i++, w += dw)
				o[i] += x[c][i] * w;
		}
	}
}

/* [rt] one bus's sub-block, first half: the sum of its sends to its outputs, the insert's return in its
 * place, and that into its effect, weighted as this graph's outputs are (w0, dw) */
static void bus_in(struct md_graph *g, struct gbus *b, float *const *bufs, uint32_t off, uint32_t n, float w0, float dw,
		   uint64_t stamp)
{
	out_add(b->out_slot, b->acc, bufs, off, n, w0, dw);
	if (b->p[MD_BP_INSERT] >= 0.5f) { /* the bus signal comes back from the external effect */
		for (int c = 0; c < 2; c++) {
			int16_t rs = b->ret_slot[c];
			if (rs >= 0 && bufs[rs])
				memcpy(b->acc[c], bufs[rs] + off, n * sizeof(float));
			else
				memset(b->acc[c], 0, n * sizeof(float));
			/* an external effect may send anything: a non-finite block is silenced, as for strips */
			if (!md_all_finite(b->acc[c], n))
				memset(b->acc[c], 0, n * sizeof(float));
		}
	}
	if (b->fx)
		fx_gather(b->fx, stamp, b->acc, n, w0, dw);
	else { /* the first shared stage takes the bus sum, which differs between two graphs in a crossfade */
		int k = 0;
		while (k < b->nins && !b->ins[k])
			k++;
		if (k < b->nins)
			insert_gather(b->ins[k], stamp, b->acc, n, w0, dw);
		else if (b->comp)
			latency_delay_gather(b->comp, stamp, b->acc, n, w0, dw);
	}
}

/* [rt] the second half: the effect's wet output in place of the sum, then the bus's gains, into the master
 * sum, and its meter */
static void bus_out(struct md_graph *g, struct gbus *b, uint32_t n, uint64_t stamp)
{
	struct gmaster *m = &g->master;
	if (b->fx) {
		float(*wet)[MD_BLOCK] = fx_run(b->fx, stamp, n);
		memcpy(b->acc[0], wet[0], n * sizeof(float));
		memcpy(b->acc[1], wet[1], n * sizeof(float));
	}
	for (int k = 0; k < b->nins; k++) /* the inserts, after the built-in effect */
		if (b->ins[k])
			insert_process(b->ins[k], stamp, b->acc, n);
	if (b->comp) /* as late as the latest bus */
		latency_delay_process(b->comp, stamp, b->acc, n);
	if (!smooth_active(&b->gain[0]) && !smooth_active(&b->gain[1])) {
		const float gl = b->gain[0].cur, gr = b->gain[1].cur;
		for (uint32_t i = 0; i < n; i++) {
			b->acc[0][i] *= gl;
			b->acc[1][i] *= gr;
			m->acc[0][i] += b->acc[0][i];
			m->acc[1][i] += b->acc[1][i];
		}
	} else {
		for (uint32_t i = 0; i < n; i++) {
			b->acc[0][i] *= smooth_next(&b->gain[0]);
			b->acc[1][i] *= smooth_next(&b->gain[1]);
			m->acc[0][i] += b->acc[0][i];
			m->acc[1][i] += b->acc[1][i];
		}
	}
	if (g->metering) {
		meter_block(&b->meter, 0, b->acc[0], n, block_coef(g, n));
		meter_block(&b->meter, 1, b->acc[1], n, block_coef(g, n));
	}
}

/* [rt] the master section over the master sum: mono fold, then the gains; what it used per sample is kept for
 * the stems */
/* [rt] one sample of the master section */
static inline void master_sample(struct gmaster *m, uint32_t i, float mono, float gl, float gr)
{
	float l = m->acc[0][i], r = m->acc[1][i];
	float sum = 0.5f * (l + r);
	m->acc[0][i] = (l + mono * (sum - l)) * gl;
	m->acc[1][i] = (r + mono * (sum - r)) * gr;
	m->mono_used[i] = mono;
	m->gain_used[0][i] = gl;
	m->gain_used[1][i] = gr;
}

static void master_section(struct gmaster *m, uint32_t n)
{
	if (!smooth_active(&m->mono) && !smooth_active(&m->gain[0]) && !smooth_active(&m->gain[1])) {
		const float mono = m->mono.cur, gl = m->gain[0].cur, gr = m->gain[1].cur;
		for (uint32_t i = 0; i < n; i++) /* settled: a loop that vectorises */
			master_sample(m, i, mono, gl, gr);
	} else {
		for (uint32_t i = 0; i < n; i++) {
			float mono = smooth_next(&m->mono);
			float gl = smooth_next(&m->gain[0]);
			float gr = smooth_next(&m->gain[1]);
			master_sample(m, i, mono, gl, gr);
		}
	}
}

/* [rt] the master's correlation and meters */
static void master_meter(const struct md_graph *g, struct gmaster *m, uint32_t n)
{
	/* correlation: one-pole averages of L*R, L*L, R*R, advanced a block at a time */
	float slr[8] = {0}, sll[8] = {0}, srr[8] = {0};
	for (uint32_t i = 0; i < n; i++) {
		float l = m->acc[0][i], r = m->acc[1][i];
		slr[i & 7] += l * r;
		sll[i & 7] += l * l;
		srr[i & 7] += r * r;
	}
	float tlr = 0, tll = 0, trr = 0;
	for (int k = 0; k < 8; k++) {
		tlr += slr[k];
		tll += sll[k];
		trr += srr[k];
	}
	const float k = block_coef(g, n), inv = 1.0f / (float)n;
	m->lr += k * (tlr * inv - m->lr);
	m->ll += k * (tll * inv - m->ll);
	m->rr += k * (trr * inv - m->rr);
	if (!isfinite(m->lr + m->ll + m->rr))
		m->lr = m->ll = m->rr = 0.0f;
	float den = sqrtf(m->ll * m->rr);
	atomic_store_explicit(&m->corr, den > 1e-12f ? fmaxf(-1.0f, fminf(1.0f, m->lr / den)) : 0.0f,
			      memory_order_relaxed);
	meter_block(&m->meter, 0, m->acc[0], n, block_coef(g, n));
	meter_block(&m->meter, 1, m->acc[1], n, block_coef(g, n));
}

/* [rt] one sub-block of graph g, first half: the strips into the master and bus sums, the buses into their
 * effects. Outputs are added into bufs with weight w0 ramping by dw. Two graphs in a crossfade both run this
 * half before either runs the second, so that an effect they share takes both their inputs. */
static void graph_block_in(struct md_graph *g, float *const *bufs, uint32_t off, uint32_t n, float w0, float dw,
			   uint64_t stamp)
{
	memset(g->master.acc, 0, sizeof g->master.acc);
	for (int b = 0; b < g->nbuses; b++)
		memset(g->buses[b].acc, 0, sizeof g->buses[b].acc);
	int nfl = 0;
	for (int i = 0; i < g->nstrips; i++)
		strip_in(g, &g->strips[i], bufs, off, n, &nfl);
	biquad_process_lanes(g->flanes, nfl, n, g->forder);
	for (int i = 0; i < g->nstrips; i++)
		strip_out(g, &g->strips[i], n, stamp);
	for (int b = 0; b < g->nbuses; b++)
		bus_in(g, &g->buses[b], bufs, off, n, w0, dw, stamp);
	if (g->master.direct) /* the strips' direct sum, which differs between two graphs in a crossfade */
		latency_delay_gather(g->master.direct, stamp, g->master.acc, n, w0, dw);
}

/* [rt] the middle: the buses' effects, inserts and gains into the master sum, which the master's first insert
 * takes weighted as this graph's outputs are (two graphs in a crossfade both run this before either runs the
 * last part, as for the first half) */
static void graph_block_buses(struct md_graph *g, uint32_t n, float w0, float dw, uint64_t stamp)
{
	struct gmaster *m = &g->master;
	if (m->direct) /* the strips' direct sum as late as the path through the latest bus */
		latency_delay_process(m->direct, stamp, m->acc, n);
	for (int b = 0; b < g->nbuses; b++)
		bus_out(g, &g->buses[b], n, stamp);
	for (int k = 0; k < m->nins; k++)
		if (m->ins[k]) {
			insert_gather(m->ins[k], stamp, m->acc, n, w0, dw);
			break;
		}
}

/* [rt] the last part: the master's inserts, its section, meters, stems and the master's outputs */
static void graph_block_out(struct md_graph *g, float *const *bufs, uint32_t off, uint32_t n, float w0, float dw,
			    uint64_t stamp)
{
	struct gmaster *m = &g->master;
	for (int k = 0; k < m->nins; k++) /* the master's inserts, before its mono fold and fader */
		if (m->ins[k])
			insert_process(m->ins[k], stamp, m->acc, n);
	master_section(m, n);
	if (g->metering)
		master_meter(g, m, n);
	if (g->stems) {
		for (int i = 0; i < g->nstrips; i++)
			stem_out(g, g->strips[i].stem_slot, g->strips[i].post, bufs, off, n, w0, dw);
		for (int b = 0; b < g->nbuses; b++)
			stem_out(g, g->buses[b].stem_slot, g->buses[b].acc, bufs, off, n, w0, dw);
	}
	out_add(m->out_slot, m->acc, bufs, off, n, w0, dw);
}

/* [rt] the tempo the effects follow: the transport's when it gives one, else the session's */
static void follow_tempo(struct md_engine *e, struct md_graph *g)
{
	float bpm = e->host_bpm > 0 ? e->host_bpm : g->master.p[MD_MP_TEMPO];
	if (bpm == g->bpm)
		return;
	g->bpm = bpm;
	for (int b = 0; b < g->nbuses; b++)
		if (g->buses[b].fx)
			fx_set(g->buses[b].fx, g->buses[b].p, bpm);
}

/* ---- automation lanes, and the period ---- */

/* [rt] a lane's value at time t; the cursor makes a rolling transport O(1) per evaluation */
static float lane_value(struct glane *l, double t)
{
	int i = l->cursor;
	if (i >= l->n || (i > 0 && l->t[i] > t)) /* moved backwards: search again */
		i = lanes_point_at(l->t, l->n, t);
	while (i + 1 < l->n && l->t[i + 1] <= t)
		i++;
	l->cursor = i;
	return lanes_interp(l->t, l->v, l->n, i, t, l->step);
}

static bool lane_plays(const struct glane *l)
{
	return !l->override && (l->mode == MD_AUTO_READ || l->mode == MD_AUTO_TOUCH || l->mode == MD_AUTO_LATCH);
}

/* [rt] set every playing lane's parameter to its value at frame `at`, ramping over `ramp` samples */
static void automate(struct md_graph *g, uint64_t at, uint32_t ramp)
{
	const double t = (double)at / (double)g->rate;
	bool any = false;
	for (int i = 0; i < g->nlanes; i++) {
		struct glane *l = &g->lanes[i];
		if (!lane_plays(l))
			continue;
		if (l->slot) { /* a plugin's parameter: straight to its instance, which glides levels */
			struct md_insert_rt **ins = graph_inserts(g, l->scope, l->index);
			if (ins && ins[l->slot - 1])
				insert_set(ins[l->slot - 1], l->param, lane_value(l, t));
			continue;
		}
		struct md_msg m = {.kind = MSG_PARAM,
				   .scope = l->scope,
				   .index = l->index,
				   .param = l->param,
				   .value = lane_value(l, t)};
		graph_apply(g, &m);
		any = true;
	}
	if (any)
		graph_retarget(g, ramp);
}

void engine_process(struct md_engine *e, float *const *bufs, uint32_t nframes)
{
#if defined(__SSE__)
	unsigned int csr = _mm_getcsr();
	_mm_setcsr(csr | 0x8040); /* flush-to-zero and denormals-are-zero */
#endif
	for (int i = 0; i < e->nio_out; i++)
		if (bufs[e->io_out[i]])
			memset(bufs[e->io_out[i]], 0, nframes * sizeof(float));
	struct md_graph *g = e->cur;
	bool jumped = e->time_frame != e->expect_frame || (g && !g->auto_started);
	/* a jump while rolling is smoothed over the whole ramp (while stopped, automate() below does it) */
	e->jump_left = jumped && g && e->rolling ? g->ramp : e->rolling ? e->jump_left : 0;
	if (g && g->nlanes && !e->rolling && jumped) /* stopped, but located (or a new graph): the value there */
		automate(g, e->time_frame, g->ramp);
	if (g) {
		g->auto_started = true;
		follow_tempo(e, g);
	}
	for (uint32_t off = 0; off < nframes;) {
		uint32_t n = nframes - off < MD_BLOCK ? nframes - off : MD_BLOCK;
		if (e->rolling && e->cur && e->cur->nlanes) {
			/* lanes move linearly to their value at the end of this sub-block; a jump is smoothed over
			 * the full parameter ramp, whatever the sub-blocks that follow it */
			uint32_t ramp = e->jump_left > n ? e->jump_left : n;
			automate(e->cur, e->time_frame + off + n, ramp);
			e->jump_left = e->jump_left > n ? e->jump_left - n : 0;
		}
		uint64_t stamp = ++e->stamp;
		for (int k = 0; k < 2; k++) {
			struct md_graph *pg = k ? e->old : e->cur;
			if (pg) {
				pg->play_frame = (int64_t)(e->time_frame + off);
				pg->play_rolling = e->rolling;
			}
		}
		if (e->old) {
			uint32_t left = e->fade_len - e->fade_pos;
			if (n > left)
				n = left;
			float w = (float)e->fade_pos / (float)e->fade_len, dw = 1.0f / (float)e->fade_len;
			graph_block_in(e->old, bufs, off, n, 1.0f - w, -dw, stamp);
			graph_block_in(e->cur, bufs, off, n, w, dw, stamp);
			graph_block_buses(e->old, n, 1.0f - w, -dw, stamp);
			graph_block_buses(e->cur, n, w, dw, stamp);
			graph_block_out(e->old, bufs, off, n, 1.0f - w, -dw, stamp);
			graph_block_out(e->cur, bufs, off, n, w, dw, stamp);
			e->fade_pos += n;
			if (e->fade_pos >= e->fade_len) {
				graph_retire(e, e->old);
				e->old = NULL;
				graph_update_io(e);
			}
		} else if (e->cur) {
			graph_block_in(e->cur, bufs, off, n, 1.0f, 0.0f, stamp);
			graph_block_buses(e->cur, n, 1.0f, 0.0f, stamp);
			graph_block_out(e->cur, bufs, off, n, 1.0f, 0.0f, stamp);
		}
		off += n;
	}
	e->expect_frame = e->time_frame + (e->rolling ? nframes : 0);
	e->time_frame = e->expect_frame;
	atomic_fetch_add_explicit(&e->frames, nframes, memory_order_relaxed);
#if defined(__SSE__)
	_mm_setcsr(csr);
#endif
}

void engine_set_time(struct md_engine *e, bool rolling, uint64_t frame)
{
	e->rolling = rolling;
	e->time_frame = frame;
}

void engine_set_tempo(struct md_engine *e, float bpm)
{
	e->host_bpm = isfinite(bpm) && bpm >= 1.0f && bpm <= 999.0f ? bpm : 0.0f;
}

void engine_run(struct md_engine *e, float *const *bufs, uint32_t nframes)
{
	engine_begin(e);
	engine_process(e, bufs, nframes);
}
