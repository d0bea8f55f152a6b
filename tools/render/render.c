/* mixdesk: the offline mixdown render (docs/RENDER.md).
 *
 * Pass 1 reads every strip's source (libsndfile, libsamplerate with --resample), runs the engine itself
 * (engine_build/engine_run, not the mixer: no queue, no JACK) period by period with the timeline rolling, and
 * spools the float master (and the stems) to memory or an anonymous temporary file while libebur128 measures
 * the mix: true peak (4x oversampled), integrated loudness, loudness range. Pass 2 applies one static gain
 * (true peak -> the headroom target), TPDF dither with a fixed seed, converts to integers itself (so nothing
 * wraps) and writes the WAV with a BWF bext chunk. Every output is written under a temporary name beside its
 * final name and renamed only when complete, so an error or Ctrl-C leaves nothing half-written.
 *
 * This file is render_console: the steps of one render, in order (check the options, assign the engine's
 * slots, check the files, open the sources, create the outputs, pass 1, the gain, pass 2, the report's last
 * warnings). The checks made before any work are in check.c, the sources in source.c, the spool in spool.c,
 * one engine or two in split.c, pass 1 in pass1.c, the files and pass 2 in output.c, the progress bar and the
 * report in report.c (render_int.h: what they share).
 * Every function here is [control]. */
#include "tools/render/render_int.h"

#include "engine/plugin.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_BUDGET (512u << 20)       /* bytes of float spool kept in memory; the rest goes to temporary files */
#define SILENT_DB (-60.0)               /* a 100 ms window whose peak is below this (after the gain) is silent */
#define DC_WARN_DB (-60.0)              /* a channel mean above this (after the gain) is flagged as DC offset */
#define DITHER_SEED 0x6d69786465736bull /* "mixdesk": the same session renders to the same samples */

/* ---- small helpers ---- */

static double to_db(double g)
{
	return g > 0.0 ? 20.0 * log10(g) : -HUGE_VAL;
}

static void warn(struct render_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct render_report *r, const char *fmt, ...)
{
	if (r->nwarnings >= RENDER_MAX_WARNINGS)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->warnings[r->nwarnings++], sizeof r->warnings[0], fmt, ap);
	va_end(ap);
}

/* ---- the steps of a render ---- */

static enum md_err check_opts(const struct rdr_render *r, char *err, size_t errlen)
{
	if (r->bits != 16 && r->bits != 24 && r->bits != 32) {
		snprintf(err, errlen, "bit depth %d: expected 16, 24 or 32 (float)", r->bits);
		return MD_ERR_RANGE;
	}
	if (!(r->target <= 0.0 && r->target >= -60.0)) {
		snprintf(err, errlen, "headroom %.2f dBTP: expected -60 to 0", r->target);
		return MD_ERR_RANGE;
	}
	if (r->opt->threads < 0 || r->opt->threads > 2) {
		snprintf(err, errlen, "threads %d: expected 1 or 2 (0: as many as the machine has, up to 2)",
			 r->opt->threads);
		return MD_ERR_RANGE;
	}
	return MD_OK;
}

/* the engine's I/O slots: master, then each strip's input(s) and stem, then the bus stems */
static enum md_err assign_slots(struct rdr_render *r, char *err, size_t errlen)
{
	struct md_console *c = r->c;
	const bool stems = r->opt->stems_dir != NULL;
	int16_t slot = 0;
	c->master.out_slot[0] = slot++;
	c->master.out_slot[1] = slot++;
	for (int i = 0; i < c->nstrips; i++) {
		struct md_strip_model *s = c->strips[i];
		if (slot + 4 > MD_MAX_SLOTS) {
			snprintf(err, errlen, "%d strips%s need more than %d engine slots", c->nstrips,
				 stems ? " with stems" : "", MD_MAX_SLOTS);
			return MD_ERR_FULL;
		}
		s->in_slot[0] = slot++;
		s->in_slot[1] = s->stereo ? slot++ : -1;
		s->stem_slot[0] = stems ? slot++ : -1;
		s->stem_slot[1] = stems ? slot++ : -1;
	}
	for (int i = 0; i < c->nbuses; i++) {
		struct md_bus_model *b = c->buses[i];
		b->out_slot[0] = b->out_slot[1] = b->ret_slot[0] = b->ret_slot[1] = -1;
		b->stem_slot[0] = stems ? slot++ : -1;
		b->stem_slot[1] = stems ? slot++ : -1;
		if (b->p[MD_BP_INSERT] >= 0.5f) {
			b->p[MD_BP_INSERT] = 0.0f;
			warn(r->rep,
			     "bus '%s': its insert (an external effect over JACK) cannot be rendered offline; "
			     "rendered as if off",
			     b->name);
		}
	}
	r->nslots = slot;
	return MD_OK;
}

/* before any work: no output may be the session, a source or another output, and every source must be one the
 * render can play (render_check_sources: the check `mixdesk check` makes) */
static enum md_err check_files(struct rdr_render *r, const char *base_dir, char *err, size_t errlen)
{
	enum md_err ret = rdr_check_outputs(r, base_dir, err, errlen);
	if (ret)
		return ret;
	struct rdr_first f = {err, errlen, MD_OK, 0};
	render_check_sources(r->c, base_dir, r->opt->resample, rdr_keep_first, &f);
	if (f.n > 1) {
		size_t len = strlen(err);
		snprintf(err + len, errlen - len,
			 "; and %d more problem%s with the sources (mixdesk check lists them all)", f.n - 1,
			 f.n == 2 ? "" : "s");
	}
	return f.code;
}

/* sources: open all first, so a missing or wrong file fails before any work; *longest: the longest one's
 * length in session frames */
static enum md_err open_sources(struct rdr_render *r, const char *base_dir, uint64_t *longest, char *err, size_t errlen)
{
	const struct md_console *c = r->c;
	const struct render_opts *opt = r->opt;
	if (!(r->srcs = calloc((size_t)c->nstrips + 1, sizeof *r->srcs))) {
		snprintf(err, errlen, "out of memory for the render buffers");
		return MD_ERR_NOMEM;
	}
	r->start = (uint64_t)llround(opt->start * r->rate);
	*longest = 0;
	for (int i = 0; i < c->nstrips; i++) {
		const struct md_strip_model *s = c->strips[i];
		if (!s->source) {
			warn(r->rep, "strip '%s' has no source: it renders as silence", s->name);
			continue;
		}
		struct rdr_source *src = &r->srcs[r->nsrc];
		enum md_err ret = rdr_source_open(src, s, i, base_dir, r->rate, opt->resample, r->start, err, errlen);
		src->slot[0] = s->in_slot[0];
		src->slot[1] = s->in_slot[1];
		r->nsrc++;
		if (ret)
			return ret;
		uint64_t full = rdr_source_end(src);
		*longest = full > *longest ? full : *longest;
	}
	return MD_OK;
}

/* How long the buses' effects ring on after their input stops, to -60 dB: a reverb's longest decay (its low
 * band's when that is longer) after its predelay, a delay's repeats until they are 60 dB down; at most
 * MAX_RING s (a delay at 95 % feedback would ring for minutes). */
#define MAX_RING 30.0
static double effects_ring(const struct md_console *c)
{
	double ring = 0;
	for (int i = 0; i < c->nbuses; i++) {
		const float *p = c->buses[i]->p;
		double t = 0;
		if ((int)p[MD_BP_FX_TYPE] == MD_FX_REVERB) {
			t = p[MD_BP_FX_PREDELAY] / 1000.0 + p[MD_BP_FX_DECAY] * fmax(1.0, p[MD_BP_FX_LOW_DECAY]);
		} else if ((int)p[MD_BP_FX_TYPE] == MD_FX_DELAY) {
			double fb = p[MD_BP_FX_FEEDBACK] / 100.0, beats = md_param_sync_beats((int)p[MD_BP_FX_SYNC]);
			double ms = beats > 0 ? beats * 60000.0 / c->master.p[MD_MP_TEMPO]
					      : fmax(p[MD_BP_FX_TIME_L], p[MD_BP_FX_TIME_R]);
			double repeats = fb > 0.001 ? 1.0 + 3.0 / -log10(fb) : 1.0;
			t = fmin(ms, 2000.0) / 1000.0 * repeats;
		}
		ring = fmax(ring, t);
	}
	return fmin(ring, MAX_RING);
}

/* the range: --start to --end, or to the longest source + the tail (at least as long as the effects ring
 * on, unless --tail says otherwise); a warning for each shorter source */
static enum md_err set_range(struct rdr_render *r, uint64_t longest, char *err, size_t errlen)
{
	const struct md_console *c = r->c;
	const struct render_opts *opt = r->opt;
	const uint32_t rate = r->rate;
	const uint64_t start = r->start;
	const double tail = opt->tail_set ? opt->tail : fmax(c->render.tail, effects_ring(c));
	uint64_t end = opt->end_set ? (uint64_t)llround(opt->end * rate) : longest + (uint64_t)llround(tail * rate);
	if (end <= start) {
		snprintf(err, errlen, "nothing to render: the range %.3f s to %.3f s is empty%s", (double)start / rate,
			 (double)end / rate, opt->end_set ? "" : " (the longest source ends before --start)");
		return MD_ERR_RANGE;
	}
	r->frames = end - start;
	for (int k = 0; k < r->nsrc; k++) {
		const struct rdr_source *s = &r->srcs[k];
		uint64_t full = rdr_source_end(s);
		if (full < longest && full < end)
			warn(r->rep,
			     "strip '%s': its source '%s' lasts %.2f s, shorter than the session (%.2f s): "
			     "silence after it",
			     c->strips[s->strip]->name, c->strips[s->strip]->source, (double)full / rate,
			     (double)longest / rate);
	}
	return MD_OK;
}

/* the stems folder, and a file in it for each strip and each bus */
static enum md_err create_stems(struct rdr_render *r, char *err, size_t errlen)
{
	const struct md_console *c = r->c;
	const struct render_opts *opt = r->opt;
	if (mkdir(opt->stems_dir, 0777) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create the stems folder '%s': %s", opt->stems_dir, strerror(errno));
		return MD_ERR_IO;
	}
	for (int k = 1; k < r->nouts; k++) {
		char path[PATH_MAX];
		rdr_stem_path(path, sizeof path, c, opt->stems_dir, k);
		r->outs[k].what = "stem";
		r->outs[k].seed = DITHER_SEED ^ ((uint64_t)k * 0x9e3779b97f4a7c15ull);
		enum md_err ret = rdr_output_create(&r->outs[k], path, r->rate, r->bits, err, errlen);
		if (ret)
			return ret;
	}
	return MD_OK;
}

/* outputs: created now, so an unwritable path fails before the long part; then their spools */
static enum md_err create_outputs(struct rdr_render *r, char *err, size_t errlen)
{
	const struct md_console *c = r->c;
	const struct render_opts *opt = r->opt;
	const bool stems = opt->stems_dir != NULL;
	size_t budget = SPOOL_BUDGET;
	enum md_err ret;
	r->nouts = 1 + (stems ? c->nstrips + c->nbuses : 0);
	if (!(r->outs = calloc((size_t)r->nouts, sizeof *r->outs))) {
		snprintf(err, errlen, "out of memory");
		return MD_ERR_NOMEM;
	}
	r->outs[0].what = "mixdown";
	r->outs[0].seed = DITHER_SEED;
	if ((ret = rdr_output_create(&r->outs[0], opt->out, r->rate, r->bits, err, errlen)))
		return ret;
	if (stems && (ret = create_stems(r, err, errlen)))
		return ret;
	for (int k = 0; k < r->nouts; k++)
		if ((ret = rdr_spool_open(&r->outs[k].sp, (size_t)r->frames, &budget, err, errlen)))
			return ret;
	return MD_OK;
}

/* the gain: true peak to the target; the report's figures of pass 1 after it. Returns the linear gain. */
static float choose_gain(struct rdr_render *r, const struct rdr_pass1 *p)
{
	const struct render_opts *opt = r->opt;
	struct render_report *rep = r->rep;
	const uint64_t frames = r->frames;
	struct rdr_measure m;
	rdr_pass1_measured(p, &m);
	rep->clipped_before = m.clipped;
	const double *dc = m.dc;
	const float *win_peak = m.win_peak;
	const size_t win = m.win;
	const double tp = m.true_peak, lufs = m.lufs, lra = m.lra;
	double gain_db;
	if (opt->fixed_gain)
		gain_db = opt->gain_db;
	else if (tp <= 0.0) {
		gain_db = 0.0;
		warn(rep, "the mix is silent: nothing to normalize");
	} else {
		gain_db = r->target - to_db(tp);
		if (opt->no_normalize && gain_db > 0.0)
			gain_db = 0.0;
	}
	const float gain = (float)pow(10.0, gain_db / 20.0);
	rep->gain_db = gain_db;
	rep->true_peak_db = to_db(tp) + gain_db;
	rep->loudness = isfinite(lufs) ? lufs + gain_db : -HUGE_VAL;
	rep->lra = lra;
	rep->frames = frames;
	rep->duration = (double)frames / r->rate;
	for (int ch = 0; ch < 2; ch++)
		rep->dc_db[ch] = to_db(fabs(dc[ch] / (double)frames) * gain);
	size_t silent = 0, full_wins = (size_t)(frames / win) ? (size_t)(frames / win) : 1;
	const float silent_lin = (float)pow(10.0, SILENT_DB / 20.0);
	for (size_t w = 0; w < full_wins; w++)
		silent += win_peak[w] * gain < silent_lin;
	rep->silent_share = (double)silent / (double)full_wins;
	return gain;
}

/* pass 2: gain, dither, write every output; then each into place, the stems first, the mix last */
static enum md_err write_outputs(struct rdr_render *r, float gain, char *err, size_t errlen)
{
	const struct render_opts *opt = r->opt;
	struct render_report *rep = r->rep;
	struct rdr_output *outs = r->outs;
	const int nouts = r->nouts;
	enum md_err ret;
	double t5 = md_now_s();
	for (int k = 0; k < nouts; k++) {
		rdr_output_set_bext(&outs[k], opt, r->rate, r->bits, r->start, rep->gain_db, rep->true_peak_db);
		double pk = 0.0;
		uint64_t clamped = 0;
		if ((ret = rdr_output_write(&outs[k], r->bits, gain, &pk, &clamped, opt, r->threads, err, errlen))) {
			if (opt->stop && *opt->stop) {
				rep->interrupted = true;
				snprintf(err, errlen, "interrupted: nothing written");
			}
			return ret;
		}
		if (k == 0) {
			rep->sample_peak_db = to_db(pk);
			rep->clipped_after = clamped;
		}
		if (opt->progress)
			rdr_progress(0.9 + 0.1 * (double)(k + 1) / nouts, &r->shown);
	}
	for (int k = 1; k < nouts; k++)
		if ((ret = rdr_output_finish(&outs[k], true, err, errlen)))
			return ret;
	if ((ret = rdr_output_finish(&outs[0], true, err, errlen)))
		return ret;
	rep->nstems = nouts - 1;
	rep->t_write = md_now_s() - t5;
	return MD_OK;
}

/* the warnings about what was written */
static void warn_written(struct render_report *rep)
{
	if (rep->clipped_after)
		warn(rep, "%llu samples clipped at the fixed gain of %+.2f dB (clamped to full scale)",
		     (unsigned long long)rep->clipped_after, rep->gain_db);
	if (rep->silent_share > 0.5)
		warn(rep, "mostly silence: %.0f%% of the mix stays below %.0f dBFS", 100.0 * rep->silent_share,
		     SILENT_DB);
	for (int ch = 0; ch < 2; ch++)
		if (rep->dc_db[ch] > DC_WARN_DB)
			warn(rep, "DC offset on the %s channel: the mean is %.1f dBFS", ch ? "right" : "left",
			     rep->dc_db[ch]);
}

/* the plugin inserts of one strip, bus or the master into the report; a limiter or compressor on the master
 * is warned about: the mix for mastering is asked for without one on its bus */
static void list_inserts(struct render_report *rep, const struct md_insert *ins, const char *where, bool master)
{
	for (int k = 0; k < MD_MAX_INSERTS; k++) {
		if (!ins[k].uri)
			continue;
		const struct md_plugin_info *in = plugins_find(ins[k].uri);
		if (rep->nplugins < RENDER_MAX_PLUGINS) {
			struct render_plugin *p = &rep->plugins[rep->nplugins];
			snprintf(p->where, sizeof p->where, "%s", where);
			p->slot = k + 1;
			snprintf(p->uri, sizeof p->uri, "%s", ins[k].uri);
			snprintf(p->name, sizeof p->name, "%s", in ? in->name : "");
			p->bypass = ins[k].bypass;
		}
		rep->nplugins++;
		if (master && in && in->dynamics && !ins[k].bypass)
			warn(rep,
			     "the master's insert %d is a %s (%s): a mix for mastering should leave the master bus "
			     "without one",
			     k + 1, in->limiter ? "limiter" : "compressor", in->name);
	}
}

static void list_plugins(struct render_report *rep, const struct md_console *c)
{
	char where[MD_NAME_MAX + 16];
	for (int i = 0; i < c->nstrips; i++) {
		snprintf(where, sizeof where, "strip '%s'", c->strips[i]->name);
		list_inserts(rep, c->strips[i]->inserts, where, false);
	}
	for (int i = 0; i < c->nbuses; i++) {
		snprintf(where, sizeof where, "bus '%s'", c->buses[i]->name);
		list_inserts(rep, c->buses[i]->inserts, where, false);
	}
	list_inserts(rep, c->master.inserts, "master", true);
}

/* after an error, every temporary file removed; then everything freed */
static void release(struct rdr_render *r, struct rdr_pass1 *p, char *err)
{
	for (int k = 0; r->outs && k < r->nouts; k++)
		rdr_output_finish(&r->outs[k], false, err, 0);
	free(r->outs);
	for (int k = 0; k < r->nsrc; k++)
		rdr_source_close(&r->srcs[k]);
	free(r->srcs);
	rdr_pass1_free(p);
	console_free(r->c);
}

/* ---- the render ---- */

enum md_err render_console(const struct md_console *c0, const char *base_dir, const struct render_opts *opt,
			   struct render_report *rep, char *err, size_t errlen)
{
	const double t_start = md_now_s();
	memset(rep, 0, sizeof *rep);
	const long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct rdr_render r = {
		.opt = opt,
		.rep = rep,
		.rate = c0->sample_rate,
		.bits = opt->bits ? opt->bits : c0->render.bits,
		.threads = opt->threads ? opt->threads
			   : ncpu >= 2  ? 2
					: 1,
		.target = opt->headroom_set ? opt->headroom : c0->render.headroom,
		.shown = -1,
	};
	struct rdr_pass1 *p = NULL;
	uint64_t longest = 0;
	err[0] = 0;
	rep->rate = r.rate;
	rep->bits = r.bits;

	enum md_err ret = check_opts(&r, err, errlen);
	if (ret)
		return ret;
	list_plugins(rep, c0);
	if (!(r.c = console_clone(c0)) || !(p = rdr_pass1_new())) {
		snprintf(err, errlen, "out of memory copying the console");
		console_free(r.c);
		return MD_ERR_NOMEM;
	}
	/* set-up: everything that can fail on the session's files or the outputs' paths fails here */
	if ((ret = assign_slots(&r, err, errlen)) || (ret = check_files(&r, base_dir, err, errlen)) ||
	    (ret = open_sources(&r, base_dir, &longest, err, errlen)) || (ret = set_range(&r, longest, err, errlen)) ||
	    (ret = create_outputs(&r, err, errlen)))
		goto out;
	/* pass 1: render and measure, on this thread and (with two threads) a worker */
	if ((ret = rdr_pass1_setup(p, &r, err, errlen)) || (ret = rdr_pass1_run(p, rep, err, errlen)))
		goto out;
	const float gain = choose_gain(&r, p);
	if ((ret = write_outputs(&r, gain, err, errlen)))
		goto out;
	warn_written(rep);
out:
	release(&r, p, err);
	rep->t_total = md_now_s() - t_start;
	return ret;
}
