/* mixdesk: LV2 plugin hosting through lilv (see plugin.h): the world and its descriptions, the host's
 * features, instances for a mono or stereo path. */
#include "engine/plugin.h"
#include "engine/model/md.h"

#include <lilv/lilv.h>
#include <lv2/atom/atom.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/core/lv2.h>
#include <lv2/log/log.h>
#include <lv2/options/options.h>
#include <lv2/parameters/parameters.h>
#include <lv2/urid/urid.h>

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the world: loaded once, descriptions kept ---- */

struct pdesc {
	struct md_plugin_info info;
	const LilvPlugin *lp;
	/* the ports, scanned once on first use (desc_scan) */
	bool scanned;
	char *bad_port; /* why a port cannot be served, or NULL */
	uint32_t nports;
	float *port_defs; /* a starting value per port */
	int nparams;
	struct md_plugin_param *params;
	int32_t latency_port;   /* the control output with lv2:reportsLatency, or -1 */
	int32_t freewheel_port; /* the control input designated lv2:freeWheeling, or -1 */
	int32_t enabled_port;   /* the control input designated lv2:enabled, or -1 (held at 1) */
	bool pinned;            /* its library is held loaded (pin_library) */
};

static LilvWorld *world;
static struct pdesc *descs;
static int ndescs;
static pthread_once_t world_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t world_mu = PTHREAD_MUTEX_INITIALIZER; /* lilv is not thread-safe: every call under it */

static LilvNode *n_audio, *n_control, *n_input, *n_output, *n_sidechain, *n_hardrt, *n_toggled, *n_integer, *n_enum,
	*n_optional, *n_latency, *n_designation, *n_freewheel, *n_enabled, *n_unit, *n_usymbol, *n_limiter,
	*n_compressor;

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
		if (lilv_port_is_a(lp, port, n_audio) && lilv_port_is_a(lp, port, dir) &&
		    !lilv_port_has_property(lp, port, n_sidechain))
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
	LilvNode *pp = lilv_new_uri(world, LV2_CORE_PREFIX "pluginProperty");
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
	world = lilv_world_new();
	if (!world)
		return;
	char *path = absolute_lv2_path();
	if (path) {
		LilvNode *v = lilv_new_string(world, path);
		lilv_world_set_option(world, LILV_OPTION_LV2_PATH, v);
		lilv_node_free(v);
		free(path);
	}
	lilv_world_load_all(world);
	n_audio = lilv_new_uri(world, LV2_CORE__AudioPort);
	n_control = lilv_new_uri(world, LV2_CORE__ControlPort);
	n_input = lilv_new_uri(world, LV2_CORE__InputPort);
	n_output = lilv_new_uri(world, LV2_CORE__OutputPort);
	n_sidechain = lilv_new_uri(world, LV2_CORE_PREFIX "isSideChain");
	n_hardrt = lilv_new_uri(world, LV2_CORE__hardRTCapable);
	n_toggled = lilv_new_uri(world, LV2_CORE__toggled);
	n_integer = lilv_new_uri(world, LV2_CORE__integer);
	n_enum = lilv_new_uri(world, LV2_CORE__enumeration);
	n_optional = lilv_new_uri(world, LV2_CORE__connectionOptional);
	n_latency = lilv_new_uri(world, LV2_CORE__reportsLatency);
	n_designation = lilv_new_uri(world, LV2_CORE__designation);
	n_freewheel = lilv_new_uri(world, LV2_CORE__freeWheeling);
	n_enabled = lilv_new_uri(world, LV2_CORE_PREFIX "enabled");
	n_unit = lilv_new_uri(world, "http://lv2plug.in/ns/extensions/units#unit");
	n_usymbol = lilv_new_uri(world, "http://lv2plug.in/ns/extensions/units#symbol");
	n_limiter = lilv_new_uri(world, LV2_CORE__LimiterPlugin);
	n_compressor = lilv_new_uri(world, LV2_CORE__CompressorPlugin);
	const LilvPlugins *all = lilv_world_get_all_plugins(world);
	descs = calloc(lilv_plugins_size(all) + 1, sizeof *descs);
	if (!descs)
		return;
	LilvNode *typo = lilv_new_uri(world, LV2_CORE_PREFIX "hardRtCapable"); /* swh-lv2 spells it so */
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
		d->info.audio_in = count_audio(lp, n_input);
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

/* ---- host features ---- */

/* urid:map, shared by every instance of the process (plugins map at instantiation; a mutex guards it) */
static pthread_mutex_t urid_mu = PTHREAD_MUTEX_INITIALIZER;
static char **urids;
static uint32_t nurids, capurids;

static LV2_URID urid_map(LV2_URID_Map_Handle h, const char *uri)
{
	(void)h;
	pthread_mutex_lock(&urid_mu);
	LV2_URID id = 0;
	for (uint32_t i = 0; i < nurids; i++)
		if (strcmp(urids[i], uri) == 0) {
			id = i + 1;
			goto out;
		}
	if (nurids == capurids) {
		uint32_t cap = capurids ? 2 * capurids : 64;
		char **n = realloc(urids, cap * sizeof *n);
		if (!n)
			goto out;
		urids = n;
		capurids = cap;
	}
	if ((urids[nurids] = strdup(uri)))
		id = ++nurids;
out:
	pthread_mutex_unlock(&urid_mu);
	return id;
}

static const char *urid_unmap(LV2_URID_Unmap_Handle h, LV2_URID id)
{
	(void)h;
	pthread_mutex_lock(&urid_mu);
	const char *s = id >= 1 && id <= nurids ? urids[id - 1] : NULL;
	pthread_mutex_unlock(&urid_mu);
	return s;
}

static LV2_URID_Map map = {NULL, urid_map};
static LV2_URID_Unmap unmap = {NULL, urid_unmap};

/* log: a plugin may log from run(), on the audio thread, where nothing may print: each message is formatted
 * into a slot of a fixed ring (claimed with an atomic, no lock, no allocation) and printed by
 * plugins_log_drain on the control side; a message finding no free slot is counted as dropped */
#define LOG_SLOTS 64
static struct {
	atomic_int state; /* 0 free, 1 being written, 2 ready */
	char text[300];
} logq[LOG_SLOTS];
static atomic_uint log_next, log_dropped;

static int log_vprintf(LV2_Log_Handle h, LV2_URID type, const char *fmt, va_list ap)
{
	(void)type;
	unsigned i = atomic_fetch_add_explicit(&log_next, 1, memory_order_relaxed) % LOG_SLOTS;
	int expect = 0;
	if (!atomic_compare_exchange_strong(&logq[i].state, &expect, 1)) {
		atomic_fetch_add_explicit(&log_dropped, 1, memory_order_relaxed);
		return 0;
	}
	int n = snprintf(logq[i].text, sizeof logq[i].text, "plugin %s: ", (const char *)h);
	if (n < 0 || (size_t)n >= sizeof logq[i].text)
		n = 0;
	int m = vsnprintf(logq[i].text + n, sizeof logq[i].text - (size_t)n, fmt, ap);
	atomic_store_explicit(&logq[i].state, 2, memory_order_release);
	return m;
}

int plugins_log_drain(FILE *f)
{
	int n = 0;
	unsigned start = atomic_load_explicit(&log_next, memory_order_relaxed);
	for (unsigned k = 0; k < LOG_SLOTS; k++) {
		unsigned i = (start + k) % LOG_SLOTS; /* oldest first */
		if (atomic_load_explicit(&logq[i].state, memory_order_acquire) != 2)
			continue;
		size_t len = strlen(logq[i].text);
		fprintf(f, "mixdesk: %s%s", logq[i].text, len && logq[i].text[len - 1] == '\n' ? "" : "\n");
		atomic_store_explicit(&logq[i].state, 0, memory_order_release);
		n++;
	}
	unsigned lost = atomic_exchange(&log_dropped, 0);
	if (lost)
		fprintf(f, "mixdesk: %u plugin log messages dropped (the log ring was full)\n", lost);
	return n;
}

static int log_printf(LV2_Log_Handle h, LV2_URID type, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = log_vprintf(h, type, fmt, ap);
	va_end(ap);
	return r;
}

/* ---- instances ---- */

struct md_plugin {
	struct pdesc *d;
	int nch, ninst; /* path channels; instances (1, or 2 for a mono plugin on a stereo path) */
	uint32_t max_block;
	LilvInstance *inst[2];
	int nparams;
	struct md_plugin_param *params;
	float *ports;   /* a value per port (control ports read and written through it) */
	float *scratch; /* zeros for side-chains and optional inputs, a sink for extra outputs, and the inputs'
			 * copies (the plugin never runs in place, so lv2:inPlaceBroken plugins work): max_block each */
	float *sink, *inbuf[2];
	uint32_t nports;
	int32_t ain[2], aout[2]; /* the main audio ports' indices */
	/* the features given at instantiation, alive as long as the instance */
	int32_t min_block, max_block_opt, nominal, seq_size;
	float rate_f;
	LV2_Options_Option options[6];
	LV2_Log_Log log;
	LV2_Feature f_map, f_unmap, f_options, f_bounded, f_log;
	const LV2_Feature *features[6];
};

static const char *supported[] = {LV2_URID__map,
				  LV2_URID__unmap,
				  LV2_OPTIONS__options,
				  LV2_BUF_SIZE__boundedBlockLength,
				  LV2_LOG__log,
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

static void set_features(struct md_plugin *p, uint32_t rate)
{
	p->rate_f = (float)rate;
	p->min_block = 1;
	p->max_block_opt = p->nominal = (int32_t)p->max_block;
	p->seq_size = 8192;
	LV2_URID t_int = urid_map(NULL, LV2_ATOM__Int), t_float = urid_map(NULL, LV2_ATOM__Float);
	const LV2_Options_Option o[6] = {
		{LV2_OPTIONS_INSTANCE, 0, urid_map(NULL, LV2_PARAMETERS__sampleRate), sizeof(float), t_float,
		 &p->rate_f},
		{LV2_OPTIONS_INSTANCE, 0, urid_map(NULL, LV2_BUF_SIZE__minBlockLength), sizeof(int32_t), t_int,
		 &p->min_block},
		{LV2_OPTIONS_INSTANCE, 0, urid_map(NULL, LV2_BUF_SIZE__maxBlockLength), sizeof(int32_t), t_int,
		 &p->max_block_opt},
		{LV2_OPTIONS_INSTANCE, 0, urid_map(NULL, LV2_BUF_SIZE_PREFIX "nominalBlockLength"), sizeof(int32_t),
		 t_int, &p->nominal},
		{LV2_OPTIONS_INSTANCE, 0, urid_map(NULL, LV2_BUF_SIZE__sequenceSize), sizeof(int32_t), t_int,
		 &p->seq_size},
		{LV2_OPTIONS_INSTANCE, 0, 0, 0, 0, NULL},
	};
	memcpy(p->options, o, sizeof o);
	p->log = (LV2_Log_Log){(LV2_Log_Handle)p->d->info.name, log_printf, log_vprintf};
	p->f_map = (LV2_Feature){LV2_URID__map, &map};
	p->f_unmap = (LV2_Feature){LV2_URID__unmap, &unmap};
	p->f_options = (LV2_Feature){LV2_OPTIONS__options, p->options};
	p->f_bounded = (LV2_Feature){LV2_BUF_SIZE__boundedBlockLength, NULL};
	p->f_log = (LV2_Feature){LV2_LOG__log, &p->log};
	const LV2_Feature *f[6] = {&p->f_map, &p->f_unmap, &p->f_options, &p->f_bounded, &p->f_log, NULL};
	memcpy(p->features, f, sizeof f);
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
		LilvNodes *sym = lilv_node_is_uri(un) ? lilv_world_find_nodes(world, un, n_usymbol, NULL) : NULL;
		if (sym && lilv_nodes_size(sym) > 0)
			out = strdup(lilv_node_as_string(lilv_nodes_get_first(sym)));
		lilv_nodes_free(sym);
	}
	lilv_nodes_free(u);
	return out ? out : strdup("");
}

/* the ports of a plugin, once: parameters (control inputs), starting values, the latency, free-wheeling and
 * enabled ports, and why a port cannot be served (d->bad_port) [world_mu held] */
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
	float *mins = calloc(d->nports + 1, sizeof(float)), *maxs = calloc(d->nports + 1, sizeof(float)),
	      *defs = calloc(d->nports + 1, sizeof(float));
	if (!d->port_defs || !d->params || !mins || !maxs || !defs) {
		snprintf(why, sizeof why, "plugin <%s>: out of memory", d->info.uri);
		goto out;
	}
	lilv_plugin_get_port_ranges_float(lp, mins, maxs, defs);
	for (uint32_t i = 0; i < d->nports; i++) {
		const LilvPort *port = lilv_plugin_get_port_by_index(lp, i);
		const bool in = lilv_port_is_a(lp, port, n_input);
		if (lilv_port_is_a(lp, port, n_audio))
			continue;
		if (lilv_port_is_a(lp, port, n_control)) {
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
			snprintf(why, sizeof why,
				 "plugin <%s>: port %u (%s) is neither audio nor control and not optional: mixdesk "
				 "cannot feed it yet (atom and CV ports are not supported)",
				 d->info.uri, i, nm ? lilv_node_as_string(nm) : "?");
			lilv_node_free(nm);
		}
	}
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
	return false;
}

/* [world_mu held] the plugin's shared library kept loaded for the rest of the process (RTLD_NODELETE): lilv
 * closes it with the last instance, and a console that loads, removes and loads a plugin again would map and
 * unmap it each time (running its static constructors again); a library that stays also keeps its symbols
 * for a sanitizer's report of what the plugin itself leaked */
static void pin_library(struct pdesc *d)
{
	d->pinned = true;
	const LilvNode *lib = lilv_plugin_get_library_uri(d->lp);
	char *path = lib ? lilv_file_uri_parse(lilv_node_as_uri(lib), NULL) : NULL;
	if (path && !dlopen(path, RTLD_NOW | RTLD_NODELETE))
		fprintf(stderr, "mixdesk: plugin <%s>: %s\n", d->info.uri, dlerror());
	lilv_free(path);
}

/* the checks of plugin_new before instantiating: NULL with err set when the plugin cannot run here */
static struct pdesc *check(const char *uri, int nch, bool allow_non_rt, int *ninst, char *err, size_t errlen)
{
	struct pdesc *d = find(uri);
	if (!d) {
		snprintf(err, errlen, "plugin <%s> is not installed (searched LV2_PATH or the standard LV2 folders)",
			 uri ? uri : "");
		return NULL;
	}
	char fb[512];
	pthread_mutex_lock(&world_mu);
	const char *miss = missing_feature(d->lp, fb, sizeof fb);
	desc_scan(d);
	pthread_mutex_unlock(&world_mu);
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
				? ", a mono plugin (1 in, 1 out: one instance per side), or 1 in and 2 out (fed the mean "
				  "of the sides)"
				: " (mixdesk does not widen a mono strip: make the strip stereo)");
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
	return check(uri, nch, allow_non_rt, &ninst, err, errlen) != NULL;
}

int plugins_params(const char *uri, const struct md_plugin_param **params)
{
	struct pdesc *d = find(uri);
	if (!d)
		return -1;
	pthread_mutex_lock(&world_mu);
	desc_scan(d);
	pthread_mutex_unlock(&world_mu);
	*params = d->params;
	return d->params ? d->nparams : 0;
}

struct md_plugin *plugin_new(const char *uri, uint32_t rate, int nch, uint32_t max_block, bool allow_non_rt,
			     const struct md_plugin_value *init, int ninit, char *err, size_t errlen)
{
	int ninst = 0;
	struct pdesc *d = check(uri, nch, allow_non_rt, &ninst, err, errlen);
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
	set_features(p, rate);
	bool ok = (p->ports = calloc(p->nports ? p->nports : 1, sizeof *p->ports)) &&
		  (p->scratch = calloc(4 * (size_t)max_block, sizeof(float)));
	if (!ok)
		snprintf(err, errlen, "plugin <%s>: out of memory", uri);
	else {
		memcpy(p->ports, d->port_defs, p->nports * sizeof *p->ports);
		p->sink = p->scratch + max_block;
		p->inbuf[0] = p->scratch + 2 * max_block;
		p->inbuf[1] = p->scratch + 3 * max_block;
	}
	pthread_mutex_lock(&world_mu);
	p->ain[0] = p->ain[1] = p->aout[0] = p->aout[1] = -1;
	int nin = 0, nout = 0;
	for (uint32_t i = 0; ok && i < p->nports; i++) {
		const LilvPort *port = lilv_plugin_get_port_by_index(d->lp, i);
		if (!lilv_port_is_a(d->lp, port, n_audio) || lilv_port_has_property(d->lp, port, n_sidechain))
			continue;
		const bool in = lilv_port_is_a(d->lp, port, n_input);
		if (in && nin < 2)
			p->ain[nin] = (int32_t)i;
		if (!in && nout < 2)
			p->aout[nout] = (int32_t)i;
		in ? nin++ : nout++;
	}
	if (ok && !d->pinned)
		pin_library(d);
	for (int k = 0; ok && k < ninst; k++) {
		p->inst[k] = lilv_plugin_instantiate(d->lp, (double)rate, p->features);
		if (!p->inst[k]) {
			snprintf(err, errlen, "plugin <%s> failed to instantiate at %u Hz", uri, rate);
			ok = false;
		}
	}
	pthread_mutex_unlock(&world_mu);
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
		/* every port connected: control ports to their values, audio to the scratch until run */
		for (uint32_t i = 0; i < p->nports; i++)
			lilv_instance_connect_port(p->inst[k], i, &p->ports[i]);
		const LilvPlugin *lp = d->lp;
		for (uint32_t i = 0; i < p->nports; i++) {
			const LilvPort *port = lilv_plugin_get_port_by_index(lp, i);
			if (lilv_port_is_a(lp, port, n_audio))
				lilv_instance_connect_port(p->inst[k], i,
							   lilv_port_is_a(lp, port, n_input) ? p->scratch : p->sink);
		}
		lilv_instance_activate(p->inst[k]);
	}
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
	for (int k = 0; k < 2; k++)
		if (p->inst[k]) {
			lilv_instance_deactivate(p->inst[k]);
			lilv_instance_free(p->inst[k]);
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
		lilv_instance_run(in, n);
	}
	for (int c = 0; c < p->nch; c++)
		if (!md_all_finite(io[c], n))
			memset(io[c], 0, n * sizeof(float));
}
