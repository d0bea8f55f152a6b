/* mixdesk: LV2 plugin hosting through lilv (see plugin.h): instances for a mono or stereo path, their ports and
 * atom buffers, parameters, run(), and state save and restore. The world and the checks are plugin_world.c's,
 * the host's features plugin_host.c's, the worker plugin_worker.c's. */
#include "engine/plugin_int.h"

#include <lilv/lilv.h>
#include <lv2/atom/atom.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/core/lv2.h>
#include <lv2/log/log.h>
#include <lv2/options/options.h>
#include <lv2/parameters/parameters.h>
#include <lv2/state/state.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include <dlfcn.h>
#include <math.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void set_features(struct md_plugin *p, uint32_t rate)
{
	p->rate_f = (float)rate;
	p->min_block = 1;
	p->max_block_opt = p->nominal = (int32_t)p->max_block;
	p->seq_size = 8192;
	LV2_URID t_int = pl_urid_map(NULL, LV2_ATOM__Int), t_float = pl_urid_map(NULL, LV2_ATOM__Float);
	p->t_sequence = pl_urid_map(NULL, LV2_ATOM__Sequence);
	p->t_chunk = pl_urid_map(NULL, LV2_ATOM__Chunk);
	const LV2_Options_Option o[6] = {
		{LV2_OPTIONS_INSTANCE, 0, pl_urid_map(NULL, LV2_PARAMETERS__sampleRate), sizeof(float), t_float,
		 &p->rate_f},
		{LV2_OPTIONS_INSTANCE, 0, pl_urid_map(NULL, LV2_BUF_SIZE__minBlockLength), sizeof(int32_t), t_int,
		 &p->min_block},
		{LV2_OPTIONS_INSTANCE, 0, pl_urid_map(NULL, LV2_BUF_SIZE__maxBlockLength), sizeof(int32_t), t_int,
		 &p->max_block_opt},
		{LV2_OPTIONS_INSTANCE, 0, pl_urid_map(NULL, LV2_BUF_SIZE_PREFIX "nominalBlockLength"), sizeof(int32_t),
		 t_int, &p->nominal},
		{LV2_OPTIONS_INSTANCE, 0, pl_urid_map(NULL, LV2_BUF_SIZE__sequenceSize), sizeof(int32_t), t_int,
		 &p->seq_size},
		{LV2_OPTIONS_INSTANCE, 0, 0, 0, 0, NULL},
	};
	memcpy(p->options, o, sizeof o);
	p->log = (LV2_Log_Log){(LV2_Log_Handle)p->d->info.name, pl_log_printf, pl_log_vprintf};
	p->map_path = (LV2_State_Map_Path){&p->paths, pl_abstract_path, pl_absolute_path};
	p->make_path = (LV2_State_Make_Path){&p->paths, pl_make_path};
	p->free_path = (LV2_State_Free_Path){NULL, pl_free_path};
	p->f_map = (LV2_Feature){LV2_URID__map, &pl_map};
	p->f_unmap = (LV2_Feature){LV2_URID__unmap, &pl_unmap};
	p->f_options = (LV2_Feature){LV2_OPTIONS__options, p->options};
	p->f_bounded = (LV2_Feature){LV2_BUF_SIZE__boundedBlockLength, NULL};
	p->f_log = (LV2_Feature){LV2_LOG__log, &p->log};
	p->f_load_default = (LV2_Feature){LV2_STATE__loadDefaultState, NULL};
	p->f_map_path = (LV2_Feature){LV2_STATE__mapPath, &p->map_path};
	p->f_make_path = (LV2_Feature){LV2_STATE__makePath, &p->make_path};
	p->f_free_path = (LV2_Feature){LV2_STATE__freePath, &p->free_path};
	for (int k = 0; k < 2; k++) {
		struct pinst *pi = &p->pi[k];
		pi->p = p;
		pi->sched = (LV2_Worker_Schedule){pi, pl_worker_schedule};
		pi->f_sched = (LV2_Feature){LV2_WORKER__schedule, &pi->sched};
		const LV2_Feature *f[12] = {
			&p->f_map,          &p->f_unmap,    &p->f_options,   &p->f_bounded,   &p->f_log, &pi->f_sched,
			&p->f_load_default, &p->f_map_path, &p->f_make_path, &p->f_free_path, NULL};
		memcpy(pi->features, f, sizeof f);
	}
}

struct md_plugin *plugin_new(const char *uri, uint32_t rate, int nch, uint32_t max_block, bool allow_non_rt,
			     const struct md_plugin_value *init, int ninit, char *err, size_t errlen)
{
	return plugin_new_host(uri, rate, nch, max_block, allow_non_rt, init, ninit, NULL, err, errlen);
}

/* the atom buffers, the worker's rings and messages of instance k [control] */
static bool pinst_alloc(struct md_plugin *p, struct pinst *pi)
{
	const struct pdesc *d = p->d;
	if (!(pi->port_buf = calloc(p->nports ? p->nports : 1, sizeof *pi->port_buf)))
		return false;
	if (d->natom && !(pi->atom = pl_alloc_touched((size_t)d->natom * (size_t)p->seq_size)))
		return false;
	uint32_t a = 0;
	for (uint32_t i = 0; i < p->nports; i++)
		if (d->kinds[i] == PK_ATOM_IN || d->kinds[i] == PK_ATOM_OUT)
			pi->port_buf[i] = pi->atom + (size_t)(a++) * (size_t)p->seq_size;
	return pl_wring_init(&pi->req, WRING_SIZE) && pl_wring_init(&pi->resp, WRING_SIZE) &&
	       (pi->wmsg = pl_alloc_touched(WRING_SIZE)) && (pi->rmsg = pl_alloc_touched(WRING_SIZE));
}

/* an atom input: an empty sequence; an output: an empty chunk as large as the buffer, as the atom spec has
 * the host give before each run [rt] */
static void atoms_reset(struct md_plugin *p, struct pinst *pi)
{
	const struct pdesc *d = p->d;
	for (uint32_t i = 0; d->natom && i < p->nports; i++) {
		if (d->kinds[i] == PK_ATOM_IN) {
			LV2_Atom_Sequence *seq = pi->port_buf[i];
			seq->atom.size = sizeof(LV2_Atom_Sequence_Body);
			seq->atom.type = p->t_sequence;
			seq->body.unit = 0;
			seq->body.pad = 0;
		} else if (d->kinds[i] == PK_ATOM_OUT) {
			LV2_Atom *a = pi->port_buf[i];
			a->size = (uint32_t)p->seq_size - (uint32_t)sizeof(LV2_Atom);
			a->type = p->t_chunk;
		}
	}
}

struct md_plugin *plugin_new_host(const char *uri, uint32_t rate, int nch, uint32_t max_block, bool allow_non_rt,
				  const struct md_plugin_value *init, int ninit, const struct md_plugin_host *h,
				  char *err, size_t errlen)
{
	int ninst = 0;
	struct pdesc *d = pl_check(uri, nch, allow_non_rt, &ninst, err, errlen);
	if (!d)
		return NULL;
	struct md_plugin *p = calloc(1, sizeof *p);
	if (!p) {
		snprintf(err, errlen, "plugin <%s>: out of memory", uri);
		return NULL;
	}
	p->d = d;
	p->nch = nch;
	p->ninst = ninst;
	p->max_block = max_block;
	p->nports = d->nports;
	p->nparams = d->nparams;
	p->params = d->params;
	p->offline = h && h->offline;
	atomic_init(&p->quit, false);
	atomic_init(&p->works, 0);
	atomic_init(&p->responses, 0);
	if (sem_init(&p->wake, 0, 0) != 0) {
		snprintf(err, errlen, "plugin <%s>: cannot make the worker's semaphore (%s)", uri, strerror(errno));
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->work_mu, NULL);
	if (!pl_path_set(&p->paths, h ? h->dir : NULL)) {
		snprintf(err, errlen, "plugin <%s>: the plugin folder \"%s\" cannot be made absolute (or is too long)",
			 uri, h->dir);
		sem_destroy(&p->wake);
		pthread_mutex_destroy(&p->work_mu);
		free(p);
		return NULL;
	}
	set_features(p, rate);
	bool ok = (p->ports = calloc(p->nports ? p->nports : 1, sizeof *p->ports)) &&
		  (p->scratch = calloc(4 * (size_t)max_block, sizeof(float)));
	for (int k = 0; ok && k < ninst; k++)
		ok = pinst_alloc(p, &p->pi[k]);
	if (!ok)
		snprintf(err, errlen, "plugin <%s>: out of memory", uri);
	else {
		memcpy(p->ports, d->port_defs, p->nports * sizeof *p->ports);
		p->sink = p->scratch + max_block;
		p->inbuf[0] = p->scratch + 2 * max_block;
		p->inbuf[1] = p->scratch + 3 * max_block;
	}
	pthread_mutex_lock(&pl_world_mu);
	p->ain[0] = p->ain[1] = p->aout[0] = p->aout[1] = -1;
	int nin = 0, nout = 0;
	for (uint32_t i = 0; ok && i < p->nports; i++) {
		const LilvPort *port = lilv_plugin_get_port_by_index(d->lp, i);
		if (!lilv_port_is_a(d->lp, port, pl_n_audio) || lilv_port_has_property(d->lp, port, pl_n_sidechain))
			continue;
		const bool in = lilv_port_is_a(d->lp, port, pl_n_input);
		if (in && nin < 2)
			p->ain[nin] = (int32_t)i;
		if (!in && nout < 2)
			p->aout[nout] = (int32_t)i;
		in ? nin++ : nout++;
	}
	if (ok && !d->pinned)
		pl_pin_library(d);
	for (int k = 0; ok && k < ninst; k++) {
		p->inst[k] = p->pi[k].inst = lilv_plugin_instantiate(d->lp, (double)rate, p->pi[k].features);
		if (!p->inst[k]) {
			snprintf(err, errlen, "plugin <%s> failed to instantiate at %u Hz", uri, rate);
			ok = false;
		} else
			p->pi[k].wi = lilv_instance_get_extension_data(p->inst[k], LV2_WORKER__interface);
	}
	pthread_mutex_unlock(&pl_world_mu);
	if (ok && !p->offline && p->pi[0].wi) {
		int e = pthread_create(&p->worker, NULL, pl_worker_main, p);
		if (e != 0) {
			snprintf(err, errlen, "plugin <%s>: cannot start its worker thread (%s)", uri, strerror(e));
			ok = false;
		} else
			p->worker_on = true;
	}
	if (!ok) {
		plugin_free(p);
		return NULL;
	}
	for (int i = 0; i < ninit; i++) {
		int k = plugin_param_find(p, init[i].symbol);
		if (k >= 0)
			plugin_set(p, k, init[i].value);
	}
	for (int k = 0; k < ninst; k++) {
		/* every port connected: control ports to their values, atom ports to their buffers, audio to the
		 * scratch until run, an optional port mixdesk does not serve to nothing */
		for (uint32_t i = 0; i < p->nports; i++) {
			void *buf = &p->ports[i];
			switch ((enum pkind)d->kinds[i]) {
			case PK_AUDIO_IN: buf = p->scratch; break;
			case PK_AUDIO_OUT: buf = p->sink; break;
			case PK_ATOM_IN:
			case PK_ATOM_OUT: buf = p->pi[k].port_buf[i]; break;
			case PK_NONE: buf = NULL; break;
			case PK_CONTROL: break;
			}
			lilv_instance_connect_port(p->inst[k], i, buf);
		}
		atoms_reset(p, &p->pi[k]);
	}
	if (d->load_default) {
		/* the description's state:state, after instantiation and before the first run (the spec's order) */
		pthread_mutex_lock(&pl_world_mu);
		LilvState *st = lilv_state_new_from_world(pl_world, &pl_map, lilv_plugin_get_uri(d->lp));
		pthread_mutex_lock(&p->work_mu);
		for (int k = 0; st && k < ninst; k++)
			lilv_state_restore(st, p->inst[k], NULL, NULL, 0, p->pi[k].features);
		pthread_mutex_unlock(&p->work_mu);
		lilv_state_free(st);
		pthread_mutex_unlock(&pl_world_mu);
	}
	for (int k = 0; k < ninst; k++)
		lilv_instance_activate(p->inst[k]);
	return p;
}

uint32_t plugin_latency(const struct md_plugin *p)
{
	int32_t lp = p->d->latency_port;
	float v = lp >= 0 ? p->ports[lp] : 0.0f;
	return isfinite(v) && v > 0.0f && v < 1e7f ? (uint32_t)lrintf(v) : 0;
}

void plugin_set_freewheel(struct md_plugin *p, bool on)
{
	if (p->d->freewheel_port >= 0)
		p->ports[p->d->freewheel_port] = on ? 1.0f : 0.0f;
}

const struct md_plugin_info *plugin_info(const struct md_plugin *p)
{
	return &p->d->info;
}

void plugin_free(struct md_plugin *p)
{
	if (!p)
		return;
	pl_worker_stop(p); /* before the instances go: work() and work_response() use them */
	sem_destroy(&p->wake);
	pthread_mutex_destroy(&p->work_mu);
	for (int k = 0; k < 2; k++) {
		if (p->inst[k]) {
			lilv_instance_deactivate(p->inst[k]);
			lilv_instance_free(p->inst[k]);
		}
		struct pinst *pi = &p->pi[k];
		free(pi->port_buf);
		free(pi->atom);
		free(pi->req.buf);
		free(pi->resp.buf);
		free(pi->wmsg);
		free(pi->rmsg);
	}
	free(p->ports);
	free(p->scratch);
	free(p);
}

int plugin_param_count(const struct md_plugin *p)
{
	return p->nparams;
}

const struct md_plugin_param *plugin_param(const struct md_plugin *p, int i)
{
	return i >= 0 && i < p->nparams ? &p->params[i] : NULL;
}

int plugin_param_find(const struct md_plugin *p, const char *symbol)
{
	for (int i = 0; i < p->nparams; i++)
		if (strcmp(p->params[i].symbol, symbol) == 0)
			return i;
	return -1;
}

float plugin_set(struct md_plugin *p, int i, float v)
{
	if (i < 0 || i >= p->nparams)
		return 0.0f;
	const struct md_plugin_param *q = &p->params[i];
	if (!isfinite(v))
		return p->ports[q->port];
	v = fminf(q->max, fmaxf(q->min, v));
	if (q->toggle)
		v = v >= 0.5f * (q->min + q->max) ? q->max : q->min;
	else if (q->integer || q->enumeration)
		v = roundf(v);
	p->ports[q->port] = v;
	return v;
}

float plugin_get(const struct md_plugin *p, int i)
{
	return i >= 0 && i < p->nparams ? p->ports[p->params[i].port] : 0.0f;
}

void plugin_run(struct md_plugin *p, float *const io[2], uint32_t n)
{
	if (n > p->max_block)
		n = p->max_block;
	if (p->d->info.audio_in == 1 && p->nch == 2 && p->ninst == 1) /* 1 in, 2 out: the mean of the sides */
		for (uint32_t i = 0; i < n; i++)
			p->inbuf[0][i] = 0.5f * (io[0][i] + io[1][i]);
	else
		for (int c = 0; c < p->nch; c++)
			memcpy(p->inbuf[c], io[c], n * sizeof(float));
	for (int k = 0; k < p->ninst; k++) {
		LilvInstance *in = p->inst[k];
		for (int c = 0; c < 2; c++) {
			/* one instance per side: instance k takes channel k on its single port */
			int ch = p->ninst == 2 ? k : c;
			if (p->ain[c] >= 0)
				lilv_instance_connect_port(in, (uint32_t)p->ain[c],
							   ch < p->nch ? p->inbuf[ch] : p->scratch);
			if (p->aout[c] >= 0)
				lilv_instance_connect_port(in, (uint32_t)p->aout[c], ch < p->nch ? io[ch] : p->sink);
		}
		atoms_reset(p, &p->pi[k]);
		lilv_instance_run(in, n);
		/* the worker's answers, in the run() context right after run(), as the worker spec has it */
		if (p->pi[k].wi) {
			pl_worker_deliver(p, k);
			if (p->pi[k].wi->end_run)
				p->pi[k].wi->end_run(lilv_instance_get_handle(in));
		}
	}
	if (p->d->info.audio_in == 0 && p->d->info.audio_out == 1 && p->nch == 2) /* a mono instrument */
		memcpy(io[1], io[0], n * sizeof(float));
	for (int c = 0; c < p->nch; c++)
		if (!md_all_finite(io[c], n))
			memset(io[c], 0, n * sizeof(float));
}

/* ---- state ---- */

#define STATE_URI "urn:mixdesk:plugin-state"

/* instance k's features with mapPath and makePath answering for the folder c instead (for one save or
 * restore) */
static void call_features(const struct md_plugin *p, int k, const LV2_Feature *f[12], LV2_Feature *fmap,
			  LV2_Feature *fmake)
{
	int i = 0;
	for (; p->pi[k].features[i]; i++) {
		const LV2_Feature *x = p->pi[k].features[i];
		f[i] = strcmp(x->URI, LV2_STATE__mapPath) == 0    ? fmap
		       : strcmp(x->URI, LV2_STATE__makePath) == 0 ? fmake
								  : x;
	}
	f[i] = NULL;
}

char *plugin_state_save(struct md_plugin *p, const char *dir)
{
	if (!p || !p->inst[0] || !lilv_instance_get_extension_data(p->inst[0], LV2_STATE__interface))
		return NULL;
	struct pathctx c;
	if (!pl_path_set(&c, dir))
		return NULL;
	LV2_State_Map_Path mp = {&c, pl_abstract_path, pl_absolute_path};
	LV2_State_Make_Path mk = {&c, pl_make_path};
	LV2_Feature fmap = {LV2_STATE__mapPath, &mp}, fmake = {LV2_STATE__makePath, &mk};
	const LV2_Feature *f[12];
	call_features(p, 0, f, &fmap, &fmake);
	pthread_mutex_lock(&pl_world_mu);
	/* no port values (NULL getter): the control ports are the session's parameters; no lilv folders: the
	 * plugin maps its paths through ours, which come first in f */
	LilvState *st = lilv_state_new_from_instance(p->d->lp, p->inst[0], &pl_map, NULL, NULL, NULL, NULL, NULL, NULL,
						     LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE, f);
	char *text = st ? lilv_state_to_string(pl_world, &pl_map, &pl_unmap, st, STATE_URI, NULL) : NULL;
	lilv_state_free(st);
	pthread_mutex_unlock(&pl_world_mu);
	char *out = text ? strdup(text) : NULL; /* ours to free(), whatever allocator lilv uses */
	lilv_free(text);
	return out;
}

bool plugin_state_restore(struct md_plugin *p, const char *ttl, const char *dir, char *err, size_t errlen)
{
	const char *uri = p->d->info.uri;
	if (!p->inst[0] || !lilv_instance_get_extension_data(p->inst[0], LV2_STATE__interface)) {
		snprintf(err, errlen, "plugin <%s> has no state:interface: a saved state cannot be given to it", uri);
		return false;
	}
	struct pathctx c;
	if (!pl_path_set(&c, dir)) {
		snprintf(err, errlen, "plugin <%s>: the plugin folder \"%s\" cannot be made absolute (or is too long)",
			 uri, dir);
		return false;
	}
	if (!ttl || !*ttl) {
		snprintf(err, errlen, "plugin <%s>: the state is empty; expected LV2 state in Turtle", uri);
		return false;
	}
	LV2_State_Map_Path mp = {&c, pl_abstract_path, pl_absolute_path};
	LV2_State_Make_Path mk = {&c, pl_make_path};
	LV2_Feature fmap = {LV2_STATE__mapPath, &mp}, fmake = {LV2_STATE__makePath, &mk};
	bool ok = true;
	pthread_mutex_lock(&pl_world_mu);
	LilvState *st = lilv_state_new_from_string(pl_world, &pl_map, ttl);
	const LilvNode *applies = st ? lilv_state_get_plugin_uri(st) : NULL;
	if (!st || !applies) {
		snprintf(
			err, errlen,
			"plugin <%s>: the state is not LV2 state in Turtle (expected a pset:Preset with lv2:appliesTo, "
			"as plugin_state_save writes)",
			uri);
		ok = false;
	} else if (strcmp(lilv_node_as_uri(applies), uri) != 0) {
		snprintf(err, errlen, "plugin <%s>: the state applies to <%s>, another plugin", uri,
			 lilv_node_as_uri(applies));
		ok = false;
	}
	pthread_mutex_lock(&p->work_mu); /* no work() meanwhile */
	for (int k = 0; ok && k < p->ninst; k++) {
		const LV2_Feature *f[12];
		call_features(p, k, f, &fmap, &fmake);
		lilv_state_restore(st, p->inst[k], NULL, NULL, 0, f);
	}
	pthread_mutex_unlock(&p->work_mu);
	lilv_state_free(st);
	pthread_mutex_unlock(&pl_world_mu);
	return ok;
}
