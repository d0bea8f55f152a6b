/* mixdesk: an LV2 insert slot in the graph (see insert.h). */
#include "engine/insert.h"
#include "engine/engine.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a level parameter covers this share of its distance to the target per sub-block: a one-pole glide with a
 * time constant of 5 ms, within 0.2 % of the target after 30 ms */
#define GLIDE_SECONDS 0.005

/* the Turtle of a slot's state when it is {"lv2": "<turtle>"} (plugin_state_save's text, as the session
 * keeps it), malloc'd; NULL for any other state, which is kept for the next save and not given to the plugin */
static char *lv2_state_text(const char *json)
{
	if (!json)
		return NULL;
	json_object *o = json_tokener_parse(json), *v = NULL;
	char *t = NULL;
	if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, "lv2", &v) &&
	    json_object_is_type(v, json_type_string))
		t = strdup(json_object_get_string(v));
	json_object_put(o);
	return t;
}

struct md_insert_rt *insert_new(const struct md_insert *m, uint32_t rate, int nch, bool allow_non_rt, bool freewheel,
				const char *dir, char *err, size_t errlen)
{
	struct md_insert_rt *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->uid = m->uid;
	r->rate = rate;
	r->nch = nch;
	r->refs = 1;
	r->glide = (float)(1.0 - exp(-(double)MD_BLOCK / (GLIDE_SECONDS * (double)rate)));
	smooth_init(&r->wet, m->bypass ? 0.0f : 1.0f);
	if (err && errlen)
		err[0] = '\0';
	char e2[600];
	struct md_plugin_value *init = calloc((size_t)m->nparams + 1, sizeof *init);
	if (!init) {
		free(r);
		return NULL;
	}
	for (int i = 0; i < m->nparams; i++)
		init[i] = (struct md_plugin_value){m->params[i].symbol, m->params[i].value};
	/* free-wheeling (the render): the plugin's worker runs inside its run(), so a bounce is reproducible */
	const struct md_plugin_host host = {.offline = freewheel, .dir = dir};
	r->pl = plugin_new_host(m->uri, rate, nch, MD_BLOCK, allow_non_rt, init, m->nparams, &host, err ? err : e2,
				err ? errlen : sizeof e2);
	free(init);
	if (!r->pl)
		return r;
	/* the saved state, before the instance is published to the audio thread (restore() may not run
	 * beside run()); a state that does not restore leaves the plugin at its defaults, with err saying why */
	char *ttl = lv2_state_text(m->state);
	if (ttl)
		(void)plugin_state_restore(r->pl, ttl, dir, err ? err : e2, err ? errlen : sizeof e2);
	free(ttl);
	r->nparams = plugin_param_count(r->pl);
	if (!(r->target = calloc((size_t)(r->nparams ? r->nparams : 1), sizeof *r->target))) {
		plugin_free(r->pl);
		free(r);
		return NULL;
	}
	for (int i = 0; i < r->nparams; i++)
		r->target[i] = plugin_get(r->pl, i);
	plugin_set_freewheel(r->pl, freewheel);
	/* a run of no frames: a plugin reports its latency from run() (the LV2 spec allows 0 frames) */
	float *const io[2] = {r->out[0], r->out[1]};
	plugin_run(r->pl, io, 0);
	return r;
}

void insert_ref(struct md_insert_rt *r)
{
	if (r)
		r->refs++;
}

void insert_unref(struct md_insert_rt *r)
{
	if (!r || --r->refs > 0)
		return;
	plugin_free(r->pl);
	free(r->target);
	free(r);
}

void insert_set(struct md_insert_rt *r, int param, float v)
{
	if (!r->pl || param < 0 || param >= r->nparams || !isfinite(v))
		return;
	const struct md_plugin_param *q = plugin_param(r->pl, param);
	v = fminf(q->max, fmaxf(q->min, v));
	if (q->toggle || q->integer || q->enumeration) {
		r->target[param] = plugin_set(r->pl, param, v);
		return;
	}
	r->target[param] = v;
	r->gliding = true;
}

void insert_bypass(struct md_insert_rt *r, bool on)
{
	smooth_set_target(&r->wet, on ? 0.0f : 1.0f, (uint32_t)(MD_RAMP_SECONDS * (float)r->rate));
}

/* [rt] every level parameter one sub-block nearer its target */
static void glide(struct md_insert_rt *r, uint32_t n)
{
	const float k = n >= MD_BLOCK ? r->glide : r->glide * (float)n / (float)MD_BLOCK;
	bool more = false;
	for (int i = 0; i < r->nparams; i++) {
		float cur = plugin_get(r->pl, i), t = r->target[i];
		if (cur == t)
			continue;
		const struct md_plugin_param *q = plugin_param(r->pl, i);
		float next = cur + k * (t - cur);
		if (fabsf(t - next) <= 1e-5f * (q->max - q->min) || next == cur)
			next = t;
		else
			more = true;
		plugin_set(r->pl, i, next);
	}
	r->gliding = more;
}

void insert_gather(struct md_insert_rt *r, uint64_t stamp, float (*x)[MD_BLOCK], uint32_t n, float w0, float dw)
{
	if (!r->pl)
		return;
	if (r->in_stamp != stamp) {
		r->in_stamp = stamp;
		memset(r->in, 0, sizeof r->in);
	}
	md_add_weighted(r->in, x, r->nch, n, w0, dw);
}

void insert_process(struct md_insert_rt *r, uint64_t stamp, float (*x)[MD_BLOCK], uint32_t n)
{
	if (!r->pl)
		return;
	if (r->stamp != stamp) {
		r->stamp = stamp;
		if (r->gliding)
			glide(r, n);
		if (r->in_stamp == stamp) /* the graphs' weighted inputs: the dry signal too */
			for (int c = 0; c < r->nch; c++)
				memcpy(x[c], r->in[c], n * sizeof(float));
		for (int c = 0; c < r->nch; c++)
			memcpy(r->out[c], x[c], n * sizeof(float));
		float *const io[2] = {r->out[0], r->out[1]};
		plugin_run(r->pl, io, n);
		if (smooth_active(&r->wet) || r->wet.cur != 1.0f) {
			/* the crossfade with the dry signal; the dry one stays in x */
			struct md_smooth w = r->wet;
			for (int c = 0; c < r->nch; c++) {
				w = r->wet;
				for (uint32_t i = 0; i < n; i++) {
					float g = smooth_next(&w);
					r->out[c][i] = x[c][i] + g * (r->out[c][i] - x[c][i]);
				}
			}
			r->wet = w;
		}
	}
	for (int c = 0; c < r->nch; c++)
		memcpy(x[c], r->out[c], n * sizeof(float));
}

uint32_t insert_latency(const struct md_insert_rt *r)
{
	return r->pl ? plugin_latency(r->pl) : 0;
}
