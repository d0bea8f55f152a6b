/* mixdesk: what the render tells the user: the progress bar on stderr, and the report as text and as JSON
 * (json-c). Every function here is [control]. */
#include "tools/render/render_int.h"

#include <errno.h>
#include <json.h>
#include <math.h>
#include <string.h>

void rdr_progress(double frac, int *shown)
{
	int pct = (int)(frac * 100.0);
	if (pct == *shown)
		return;
	*shown = pct;
	char bar[41];
	int full = pct * 40 / 100;
	for (int i = 0; i < 40; i++)
		bar[i] = i < full ? '#' : '.';
	bar[40] = 0;
	fprintf(stderr, "\rmixdesk render: [%s] %3d%%", bar, pct);
	if (pct >= 100)
		fputc('\n', stderr);
	fflush(stderr);
}

/* ---- the report ---- */

static void fmt_db(char *dst, size_t size, double v, int decimals)
{
	if (isfinite(v))
		snprintf(dst, size, "%.*f", decimals, v);
	else
		snprintf(dst, size, "-inf");
}

void render_print_report(FILE *f, const struct render_report *r, bool timings)
{
	char sp[32], tp[32], lu[32];
	fmt_db(sp, sizeof sp, r->sample_peak_db, 2);
	fmt_db(tp, sizeof tp, r->true_peak_db, 2);
	fmt_db(lu, sizeof lu, r->loudness, 1);
	fprintf(f,
		"duration        %.3f s (%llu frames)\n"
		"sample rate     %u Hz\n"
		"bit depth       %s\n"
		"gain applied    %+.2f dB\n"
		"sample peak     %s dBFS\n"
		"true peak       %s dBTP\n"
		"loudness        %s LUFS integrated\n"
		"loudness range  %.1f LU\n"
		"clipped before  %llu samples above 0 dBFS before the gain\n",
		r->duration, (unsigned long long)r->frames, r->rate,
		r->bits == 32   ? "32-bit float"
		: r->bits == 24 ? "24-bit"
				: "16-bit",
		r->gain_db, sp, tp, lu, r->lra, (unsigned long long)r->clipped_before);
	if (r->nstems)
		fprintf(f, "stems           %d\n", r->nstems);
	for (int i = 0; i < r->nplugins && i < RENDER_MAX_PLUGINS; i++) {
		const struct render_plugin *p = &r->plugins[i];
		fprintf(f, "plugin          %s insert %d: %s <%s>%s\n", p->where, p->slot, p->name[0] ? p->name : "?",
			p->uri, p->bypass ? " (bypassed)" : "");
	}
	if (r->latency)
		fprintf(f, "latency         %u frames of plugin latency compensated (the mix starts at time zero)\n",
			r->latency);
	if (r->nplugins > RENDER_MAX_PLUGINS)
		fprintf(f, "plugin          ... and %d more\n", r->nplugins - RENDER_MAX_PLUGINS);
	for (int i = 0; i < r->nwarnings; i++)
		fprintf(f, "warning: %s\n", r->warnings[i]);
	if (timings) {
		fprintf(f,
			"timings         read %.3f s, dsp %.3f s, mix+spool %.3f s, true peak+loudness %.3f s "
			"(pass 1: %.3f s wall on %d thread%s, %d engine%s), write %.3f s, total %.3f s\n",
			r->t_read, r->t_dsp, r->t_mix, r->t_measure, r->t_pass1, r->threads, r->threads == 1 ? "" : "s",
			r->engines, r->engines == 1 ? "" : "s", r->t_write, r->t_total);
		if (r->split_off[0] && r->threads > 1)
			fprintf(f, "one engine      %s\n", r->split_off);
	}
}

static json_object *num_or_null(double v)
{
	return isfinite(v) ? json_object_new_double(v) : NULL;
}

enum md_err render_write_report(const char *path, const struct render_report *r, char *err, size_t errlen)
{
	json_object *o = json_object_new_object(), *w = json_object_new_array(), *t = json_object_new_object();
	json_object_object_add(o, "duration", json_object_new_double(r->duration));
	json_object_object_add(o, "frames", json_object_new_int64((int64_t)r->frames));
	json_object_object_add(o, "sample_rate", json_object_new_int((int)r->rate));
	json_object_object_add(o, "bits", json_object_new_int(r->bits));
	json_object_object_add(o, "float", json_object_new_boolean(r->bits == 32));
	json_object_object_add(o, "gain_db", json_object_new_double(r->gain_db));
	json_object_object_add(o, "sample_peak_dbfs", num_or_null(r->sample_peak_db));
	json_object_object_add(o, "true_peak_dbtp", num_or_null(r->true_peak_db));
	json_object_object_add(o, "loudness_lufs", num_or_null(r->loudness));
	json_object_object_add(o, "loudness_range_lu", json_object_new_double(r->lra));
	json_object_object_add(o, "clipped_before_gain", json_object_new_int64((int64_t)r->clipped_before));
	json_object_object_add(o, "clipped_after_gain", json_object_new_int64((int64_t)r->clipped_after));
	json_object_object_add(o, "dc_left_dbfs", num_or_null(r->dc_db[0]));
	json_object_object_add(o, "dc_right_dbfs", num_or_null(r->dc_db[1]));
	json_object_object_add(o, "silent_share", json_object_new_double(r->silent_share));
	json_object_object_add(o, "stems", json_object_new_int(r->nstems));
	json_object_object_add(o, "measured",
			       json_object_new_string("sample peak: on the written samples (after gain and dither); "
						      "true peak and loudness: on the float mix before the gain, plus "
						      "the gain"));
	for (int i = 0; i < r->nwarnings; i++)
		json_object_array_add(w, json_object_new_string(r->warnings[i]));
	json_object_object_add(o, "warnings", w);
	json_object *pl = json_object_new_array();
	for (int i = 0; i < r->nplugins && i < RENDER_MAX_PLUGINS; i++) {
		const struct render_plugin *p = &r->plugins[i];
		json_object *e = json_object_new_object();
		json_object_object_add(e, "where", json_object_new_string(p->where));
		json_object_object_add(e, "slot", json_object_new_int(p->slot));
		json_object_object_add(e, "plugin", json_object_new_string(p->uri));
		json_object_object_add(e, "name", json_object_new_string(p->name));
		json_object_object_add(e, "bypass", json_object_new_boolean(p->bypass));
		json_object_array_add(pl, e);
	}
	json_object_object_add(o, "plugins", pl);
	json_object_object_add(o, "plugins_count", json_object_new_int(r->nplugins));
	json_object_object_add(o, "latency_frames", json_object_new_int64((int64_t)r->latency));
	json_object_object_add(t, "read", json_object_new_double(r->t_read));
	json_object_object_add(t, "dsp", json_object_new_double(r->t_dsp));
	json_object_object_add(t, "mix_spool", json_object_new_double(r->t_mix));
	json_object_object_add(t, "true_peak_loudness", json_object_new_double(r->t_measure));
	json_object_object_add(t, "pass1_wall", json_object_new_double(r->t_pass1));
	json_object_object_add(t, "write", json_object_new_double(r->t_write));
	json_object_object_add(t, "total", json_object_new_double(r->t_total));
	json_object_object_add(o, "timings_s", t);
	json_object_object_add(o, "threads", json_object_new_int(r->threads));
	json_object_object_add(o, "engines", json_object_new_int(r->engines));
	enum md_err ret = MD_OK;
	if (json_object_to_file_ext(path, o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE) != 0) {
		snprintf(err, errlen, "cannot write the report '%s': %s", path, strerror(errno));
		ret = MD_ERR_IO;
	}
	json_object_put(o);
	return ret;
}
