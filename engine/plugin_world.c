/* mixdesk: LV2 plugin hosting, the world (see plugin.h): lilv's world loaded once, the installed plugins'
 * descriptions and their ports scanned once, and the checks an instance must pass (features, ports, channel
 * counts, real-time capability). */
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

LilvWorld *pl_world;
static struct pdesc *descs;
static int ndescs;
static pthread_once_t world_once = PTHREAD_ONCE_INIT;
pthread_mutex_t pl_world_mu = PTHREAD_MUTEX_INITIALIZER; /* lilv is not thread-safe: every call under it */

LilvNode *pl_n_audio, *pl_n_input, *pl_n_sidechain;
static LilvNode *n_control, *n_output, *n_hardrt, *n_toggled, *n_integer, *n_enum, *n_optional, *n_latency,
	*n_designation, *n_freewheel, *n_enabled, *n_unit, *n_usymbol, *n_limiter, *n_compressor, *n_atom_port, *n_cv,
	*n_buffer_type, *n_sequence;

static int cmp_desc(const void *a, const void *b)
{
	return strcmp(((const struct pdesc *)a)->info.uri, ((const struct pdesc *)b)->info.uri);
}

/* main audio ports in one direction: side-chains not counted */
static int count_audio(const LilvPlugin *lp, const LilvNode *dir)
{
	int n = 0;
	uint32_t np = lilv_plugin_get_num_ports(lp);
	for (uint32_t i = 0; i < np; i++) {
		const LilvPort *port = lilv_plugin_get_port_by_index(lp, i);
		if (lilv_port_is_a(lp, port, pl_n_audio) && lilv_port_is_a(lp, port, dir) &&
		    !lilv_port_has_property(lp, port, pl_n_sidechain))
			n++;
	}
	return n;
}

static bool has_feature(const LilvPlugin *lp, const LilvNode *f)
{
	LilvNodes *fs = lilv_plugin_get_optional_features(lp);
	bool yes = lilv_nodes_contains(fs, f);
	lilv_nodes_free(fs);
	if (!yes) {
		fs = lilv_plugin_get_required_features(lp);
		yes = lilv_nodes_contains(fs, f);
		lilv_nodes_free(fs);
	}
	return yes;
}

/* a lv2:pluginProperty (swh-lv2 declares real-time capability that way) */
static bool has_property(const LilvPlugin *lp, const LilvNode *v)
{
	LilvNode *pp = lilv_new_uri(pl_world, LV2_CORE_PREFIX "pluginProperty");
	LilvNodes *vals = lilv_plugin_get_value(lp, pp);
	bool yes = vals && lilv_nodes_contains(vals, v);
	lilv_nodes_free(vals);
	lilv_node_free(pp);
	return yes;
}

/* LV2_PATH with every relative folder made absolute (lilv 0.24 crashes on a relative entry), or NULL when it
 * is unset or already absolute */
static char *absolute_lv2_path(void)
{
	const char *env = getenv("LV2_PATH");
	if (!env || !*env)
		return NULL;
	bool relative = false;
	for (const char *p = env; p; p = strchr(p, ':')) {
		p += *p == ':';
		relative |= *p && *p != '/' && *p != ':';
	}
	if (!relative)
		return NULL;
	char cwd[4096];
	if (!getcwd(cwd, sizeof cwd))
		return NULL;
	size_t cap = strlen(env) * 2 + 64, len = 0;
	char *out = malloc(cap);
	for (const char *p = env; out && *p;) {
		size_t n = strcspn(p, ":");
		if (n > 0) {
			size_t need = len + n + strlen(cwd) + 3;
			if (need > cap && !(out = realloc(out, cap = need * 2)))
				break;
			len += (size_t)sprintf(out + len, "%s%s%s%.*s", len ? ":" : "", *p == '/' ? "" : cwd,
					       *p == '/' ? "" : "/", (int)n, p);
		}
		p += n + (p[n] == ':');
	}
	return out;
}

static void world_load(void)
{
	pl_world = lilv_world_new();
	if (!pl_world)
		return;
	char *path = absolute_lv2_path();
	if (path) {
		LilvNode *v = lilv_new_string(pl_world, path);
		lilv_world_set_option(pl_world, LILV_OPTION_LV2_PATH, v);
		lilv_node_free(v);
		free(path);
	}
	lilv_world_load_all(pl_world);
	pl_n_audio = lilv_new_uri(pl_world, LV2_CORE__AudioPort);
	n_control = lilv_new_uri(pl_world, LV2_CORE__ControlPort);
	pl_n_input = lilv_new_uri(pl_world, LV2_CORE__InputPort);
	n_output = lilv_new_uri(pl_world, LV2_CORE__OutputPort);
	pl_n_sidechain = lilv_new_uri(pl_world, LV2_CORE_PREFIX "isSideChain");
	n_hardrt = lilv_new_uri(pl_world, LV2_CORE__hardRTCapable);
	n_toggled = lilv_new_uri(pl_world, LV2_CORE__toggled);
	n_integer = lilv_new_uri(pl_world, LV2_CORE__integer);
	n_enum = lilv_new_uri(pl_world, LV2_CORE__enumeration);
	n_optional = lilv_new_uri(pl_world, LV2_CORE__connectionOptional);
	n_latency = lilv_new_uri(pl_world, LV2_CORE__reportsLatency);
	n_designation = lilv_new_uri(pl_world, LV2_CORE__designation);
	n_freewheel = lilv_new_uri(pl_world, LV2_CORE__freeWheeling);
	n_enabled = lilv_new_uri(pl_world, LV2_CORE_PREFIX "enabled");
	n_unit = lilv_new_uri(pl_world, "http://lv2plug.in/ns/extensions/units#unit");
	n_usymbol = lilv_new_uri(pl_world, "http://lv2plug.in/ns/extensions/units#symbol");
	n_limiter = lilv_new_uri(pl_world, LV2_CORE__LimiterPlugin);
	n_compressor = lilv_new_uri(pl_world, LV2_CORE__CompressorPlugin);
	n_atom_port = lilv_new_uri(pl_world, LV2_ATOM__AtomPort);
	n_cv = lilv_new_uri(pl_world, LV2_CORE__CVPort);
	n_buffer_type = lilv_new_uri(pl_world, LV2_ATOM__bufferType);
	n_sequence = lilv_new_uri(pl_world, LV2_ATOM__Sequence);
	const LilvPlugins *all = lilv_world_get_all_plugins(pl_world);
	descs = calloc(lilv_plugins_size(all) + 1, sizeof *descs);
	if (!descs)
		return;
	LilvNode *typo = lilv_new_uri(pl_world, LV2_CORE_PREFIX "hardRtCapable"); /* swh-lv2 spells it so */
	LILV_FOREACH(plugins, it, all)
	{
		const LilvPlugin *lp = lilv_plugins_get(all, it);
		struct pdesc *d = &descs[ndescs];
		LilvNode *name = lilv_plugin_get_name(lp);
		d->info.uri = strdup(lilv_node_as_uri(lilv_plugin_get_uri(lp)));
		d->info.name = strdup(name ? lilv_node_as_string(name) : d->info.uri);
		lilv_node_free(name);
		if (!d->info.uri || !d->info.name)
			continue;
		d->info.audio_in = count_audio(lp, pl_n_input);
		d->info.audio_out = count_audio(lp, n_output);
		d->info.rt = has_feature(lp, n_hardrt) || has_feature(lp, typo) || has_property(lp, n_hardrt) ||
			     has_property(lp, typo);
		const LilvPluginClass *cls = lilv_plugin_get_class(lp);
		const LilvNode *cu = cls ? lilv_plugin_class_get_uri(cls) : NULL;
		d->info.dynamics = cu && (lilv_node_equals(cu, n_limiter) || lilv_node_equals(cu, n_compressor));
		d->info.limiter = cu && lilv_node_equals(cu, n_limiter);
		d->lp = lp;
		ndescs++;
	}
	lilv_node_free(typo);
	qsort(descs, (size_t)ndescs, sizeof *descs, cmp_desc);
}

static void world_get(void)
{
	pthread_once(&world_once, world_load);
}

int plugins_count(void)
{
	world_get();
	return ndescs;
}

const struct md_plugin_info *plugins_info(int i)
{
	world_get();
	return i >= 0 && i < ndescs ? &descs[i].info : NULL;
}

static struct pdesc *find(const char *uri)
{
	world_get();
	struct pdesc key = {.info.uri = uri};
	return uri && descs ? bsearch(&key, descs, (size_t)ndescs, sizeof *descs, cmp_desc) : NULL;
}

const struct md_plugin_info *plugins_find(const char *uri)
{
	struct pdesc *d = find(uri);
	return d ? &d->info : NULL;
}

static const char *supported[] = {LV2_URID__map,
				  LV2_URID__unmap,
				  LV2_OPTIONS__options,
				  LV2_BUF_SIZE__boundedBlockLength,
				  LV2_LOG__log,
				  LV2_WORKER__schedule,
				  LV2_STATE__loadDefaultState,
				  LV2_STATE__mapPath,
				  LV2_STATE__makePath,
				  LV2_STATE__freePath,
				  LV2_STATE__threadSafeRestore,
				  LV2_CORE__isLive,
				  LV2_CORE__hardRTCapable,
				  LV2_CORE_PREFIX "hardRtCapable",
				  LV2_CORE__inPlaceBroken,
				  NULL};

static bool supported_feature(const char *uri)
{
	for (int i = 0; supported[i]; i++)
		if (strcmp(uri, supported[i]) == 0)
			return true;
	return false;
}

/* the first required feature the host does not give, or NULL [world_mu held] */
static const char *missing_feature(const LilvPlugin *lp, char *buf, size_t size)
{
	LilvNodes *req = lilv_plugin_get_required_features(lp);
	const char *miss = NULL;
	LILV_FOREACH(nodes, it, req)
	{
		const char *u = lilv_node_as_uri(lilv_nodes_get(req, it));
		if (!supported_feature(u)) {
			snprintf(buf, size, "%s", u);
			miss = buf;
			break;
		}
	}
	lilv_nodes_free(req);
	return miss;
}

/* whether a port is designated `what` (lv2:designation) [world_mu held] */
static bool designated(const LilvPlugin *lp, const LilvPort *port, const LilvNode *what)
{
	LilvNodes *v = lilv_port_get_value(lp, port, n_designation);
	bool yes = v && lilv_nodes_contains(v, what);
	lilv_nodes_free(v);
	return yes;
}

/* a port's unit as its symbol ("dB", "ms"), or "" [world_mu held] */
static char *unit_of(const LilvPlugin *lp, const LilvPort *port)
{
	LilvNodes *u = lilv_port_get_value(lp, port, n_unit);
	char *out = NULL;
	if (u && lilv_nodes_size(u) > 0) {
		const LilvNode *un = lilv_nodes_get_first(u);
		LilvNodes *sym = lilv_node_is_uri(un) ? lilv_world_find_nodes(pl_world, un, n_usymbol, NULL) : NULL;
		if (sym && lilv_nodes_size(sym) > 0)
			out = strdup(lilv_node_as_string(lilv_nodes_get_first(sym)));
		lilv_nodes_free(sym);
	}
	lilv_nodes_free(u);
	return out ? out : strdup("");
}

/* whether an atom port takes atom:Sequence buffers [world_mu held] */
static bool sequence_port(const LilvPlugin *lp, const LilvPort *port)
{
	LilvNodes *v = lilv_port_get_value(lp, port, n_buffer_type);
	bool yes = v && lilv_nodes_contains(v, n_sequence);
	lilv_nodes_free(v);
	return yes;
}

/* the ports of a plugin, once: how each is served, parameters (control inputs), starting values, the
 * latency, free-wheeling and enabled ports, and why a port cannot be served (d->bad_port) [world_mu held] */
static void desc_scan(struct pdesc *d)
{
	if (d->scanned)
		return;
	d->scanned = true;
	const LilvPlugin *lp = d->lp;
	char why[600] = "";
	d->nports = lilv_plugin_get_num_ports(lp);
	d->latency_port = d->freewheel_port = d->enabled_port = -1;
	d->port_defs = calloc(d->nports ? d->nports : 1, sizeof *d->port_defs);
	d->params = calloc(d->nports ? d->nports : 1, sizeof *d->params);
	d->kinds = calloc(d->nports ? d->nports : 1, 1);
	float *mins = calloc(d->nports + 1, sizeof(float)), *maxs = calloc(d->nports + 1, sizeof(float)),
	      *defs = calloc(d->nports + 1, sizeof(float));
	if (!d->port_defs || !d->params || !d->kinds || !mins || !maxs || !defs) {
		snprintf(why, sizeof why, "plugin <%s>: out of memory", d->info.uri);
		goto out;
	}
	lilv_plugin_get_port_ranges_float(lp, mins, maxs, defs);
	for (uint32_t i = 0; i < d->nports; i++) {
		const LilvPort *port = lilv_plugin_get_port_by_index(lp, i);
		const bool in = lilv_port_is_a(lp, port, pl_n_input);
		if (lilv_port_is_a(lp, port, pl_n_audio)) {
			d->kinds[i] = in ? PK_AUDIO_IN : PK_AUDIO_OUT;
			continue;
		}
		if (lilv_port_is_a(lp, port, n_atom_port) && sequence_port(lp, port)) {
			d->kinds[i] = in ? PK_ATOM_IN : PK_ATOM_OUT;
			d->natom++;
			continue;
		}
		if (lilv_port_is_a(lp, port, n_control)) {
			d->kinds[i] = PK_CONTROL;
			float lo = isnan(mins[i]) ? 0.0f : mins[i], hi = isnan(maxs[i]) ? 1.0f : maxs[i];
			float def = isnan(defs[i]) ? lo : defs[i];
			d->port_defs[i] = def;
			if (!in) {
				if (lilv_port_has_property(lp, port, n_latency))
					d->latency_port = (int32_t)i;
				continue;
			}
			if (designated(lp, port, n_freewheel)) {
				d->freewheel_port = (int32_t)i;
				d->port_defs[i] = 0.0f;
				continue;
			}
			if (designated(lp, port, n_enabled)) {
				d->enabled_port = (int32_t)i;
				d->port_defs[i] = 1.0f;
				continue;
			}
			struct md_plugin_param *q = &d->params[d->nparams++];
			q->symbol = strdup(lilv_node_as_string(lilv_port_get_symbol(lp, port)));
			LilvNode *nm = lilv_port_get_name(lp, port);
			q->name = strdup(nm ? lilv_node_as_string(nm) : q->symbol ? q->symbol : "");
			lilv_node_free(nm);
			q->unit = unit_of(lp, port);
			q->port = i;
			q->min = lo;
			q->max = hi > lo ? hi : lo;
			q->def = fminf(q->max, fmaxf(q->min, def));
			q->toggle = lilv_port_has_property(lp, port, n_toggled);
			q->integer = lilv_port_has_property(lp, port, n_integer);
			q->enumeration = lilv_port_has_property(lp, port, n_enum);
			if (!q->symbol || !q->name || !q->unit) {
				snprintf(why, sizeof why, "plugin <%s>: out of memory", d->info.uri);
				goto out;
			}
		} else if (!lilv_port_has_property(lp, port, n_optional) && !why[0]) {
			LilvNode *nm = lilv_port_get_name(lp, port);
			const char *what = lilv_port_is_a(lp, port, n_cv)          ? "a CV port"
					   : lilv_port_is_a(lp, port, n_atom_port) ? "an atom port not of atom:Sequence"
										   : "neither audio, control nor atom";
			snprintf(why, sizeof why,
				 "plugin <%s>: port %u \"%s\" (%s) is %s and not optional: mixdesk cannot feed it (it "
				 "serves audio, control and atom:Sequence ports)",
				 d->info.uri, i, lilv_node_as_string(lilv_port_get_symbol(lp, port)),
				 nm ? lilv_node_as_string(nm) : "?", what);
			lilv_node_free(nm);
		}
	}
	LilvNode *ld = lilv_new_uri(pl_world, LV2_STATE__loadDefaultState);
	d->load_default = has_feature(lp, ld);
	lilv_node_free(ld);
out:
	if (why[0])
		d->bad_port = strdup(why);
	free(mins);
	free(maxs);
	free(defs);
}

static bool fits(const struct md_plugin_info *in, int nch, int *ninst)
{
	if (in->audio_in == nch && in->audio_out == nch) {
		*ninst = 1;
		return true;
	}
	if (in->audio_in == 1 && in->audio_out == 2 && nch == 2) { /* a mono-in stereo reverb: fed the sides' mean */
		*ninst = 1;
		return true;
	}
	if (in->audio_in == 1 && in->audio_out == 1 && nch == 2) {
		*ninst = 2;
		return true;
	}
	/* an instrument or generator: its output replaces the signal (a mono one's on both sides of a stereo
	 * path); a plugin with no audio at all runs beside the signal */
	if (in->audio_in == 0 && (in->audio_out == nch || (in->audio_out == 1 && nch == 2) || in->audio_out == 0)) {
		*ninst = 1;
		return true;
	}
	return false;
}

/* [world_mu held] the plugin's shared library kept loaded for the rest of the process (RTLD_NODELETE): lilv
 * closes it with the last instance, and a console that loads, removes and loads a plugin again would map and
 * unmap it each time (running its static constructors again); a library that stays also keeps its symbols
 * for a sanitizer's report of what the plugin itself leaked */
void pl_pin_library(struct pdesc *d)
{
	d->pinned = true;
	const LilvNode *lib = lilv_plugin_get_library_uri(d->lp);
	char *path = lib ? lilv_file_uri_parse(lilv_node_as_uri(lib), NULL) : NULL;
	if (path && !dlopen(path, RTLD_NOW | RTLD_NODELETE))
		fprintf(stderr, "mixdesk: plugin <%s>: %s\n", d->info.uri, dlerror());
	lilv_free(path);
}

/* the checks of plugin_new before instantiating: NULL with err set when the plugin cannot run here */
struct pdesc *pl_check(const char *uri, int nch, bool allow_non_rt, int *ninst, char *err, size_t errlen)
{
	struct pdesc *d = find(uri);
	if (!d) {
		snprintf(err, errlen, "plugin <%s> is not installed (searched LV2_PATH or the standard LV2 folders)",
			 uri ? uri : "");
		return NULL;
	}
	char fb[512];
	pthread_mutex_lock(&pl_world_mu);
	const char *miss = missing_feature(d->lp, fb, sizeof fb);
	desc_scan(d);
	pthread_mutex_unlock(&pl_world_mu);
	if (miss) {
		snprintf(err, errlen, "plugin <%s> requires the feature <%s>, which mixdesk does not provide", uri,
			 miss);
		return NULL;
	}
	if (d->bad_port) {
		snprintf(err, errlen, "%s", d->bad_port);
		return NULL;
	}
	if (!fits(&d->info, nch, ninst)) {
		snprintf(
			err, errlen,
			"plugin <%s> has %d audio input(s) and %d output(s); a %s path takes one with %d in and %d out%s",
			uri, d->info.audio_in, d->info.audio_out, nch == 2 ? "stereo" : "mono", nch, nch,
			nch == 2
				? ", a mono plugin (1 in, 1 out: one instance per side), 1 in and 2 out (fed the mean "
				  "of the sides), or no input and 1 or 2 out (an instrument)"
				: " (mixdesk does not widen a mono strip: make the strip stereo), or no input and 1 out (an "
				  "instrument)");
		return NULL;
	}
	if (!d->info.rt && !allow_non_rt) {
		snprintf(err, errlen,
			 "plugin <%s> does not declare lv2:hardRTCapable: it may allocate or block on the audio thread "
			 "(allow it with --allow-non-rt-plugins)",
			 uri);
		return NULL;
	}
	return d;
}

bool plugins_check(const char *uri, int nch, bool allow_non_rt, char *err, size_t errlen)
{
	int ninst;
	return pl_check(uri, nch, allow_non_rt, &ninst, err, errlen) != NULL;
}

int plugins_params(const char *uri, const struct md_plugin_param **params)
{
	struct pdesc *d = find(uri);
	if (!d)
		return -1;
	pthread_mutex_lock(&pl_world_mu);
	desc_scan(d);
	pthread_mutex_unlock(&pl_world_mu);
	*params = d->params;
	return d->params ? d->nparams : 0;
}
