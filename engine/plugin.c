/* mixdesk: LV2 plugin hosting through lilv (see plugin.h): the world and its descriptions, the host's
 * features, instances for a mono or stereo path, their atom buffers, worker and state. */
#include "engine/plugin.h"
#include "engine/model/md.h"

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

/* ---- the world: loaded once, descriptions kept ---- */

/* how the host serves a port */
enum pkind { PK_NONE, PK_AUDIO_IN, PK_AUDIO_OUT, PK_CONTROL, PK_ATOM_IN, PK_ATOM_OUT };

struct pdesc {
	struct md_plugin_info info;
	const LilvPlugin *lp;
	/* the ports, scanned once on first use (desc_scan) */
	bool scanned;
	char *bad_port; /* why a port cannot be served, or NULL */
	uint32_t nports;
	float *port_defs;     /* a starting value per port */
	unsigned char *kinds; /* an enum pkind per port (PK_NONE: an optional port left unconnected) */
	uint32_t natom;       /* atom ports (inputs and outputs) */
	bool load_default;    /* lists state:loadDefaultState: its state:state is restored after instantiation */
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
	*n_compressor, *n_atom_port, *n_cv, *n_buffer_type, *n_sequence;

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
	n_atom_port = lilv_new_uri(world, LV2_ATOM__AtomPort);
	n_cv = lilv_new_uri(world, LV2_CORE__CVPort);
	n_buffer_type = lilv_new_uri(world, LV2_ATOM__bufferType);
	n_sequence = lilv_new_uri(world, LV2_ATOM__Sequence);
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

/* A byte ring of messages (a 32-bit size, then the body) between one producer and one consumer: C11
 * acquire/release on the two free-running indices, no lock; the memory is allocated and touched when the
 * instance is made. */
struct wring {
	atomic_uint head, tail; /* bytes written, bytes read */
	uint32_t size;          /* a power of two */
	unsigned char *buf;
};

#define WRING_SIZE 32768u /* per direction and instance; a request or response is at most this less 4 bytes */

/* preallocated and resident: the audio thread never faults on it [control] */
static void *alloc_touched(size_t n)
{
	void *m = malloc(n);
	if (m) {
		memset(m, 0, n);
		mlock(m, n);
	}
	return m;
}

static bool wring_init(struct wring *r, uint32_t size)
{
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	r->size = size;
	return (r->buf = alloc_touched(size)) != NULL;
}

static void wring_copy_in(struct wring *r, uint32_t at, const void *src, uint32_t n)
{
	uint32_t o = at & (r->size - 1), first = n < r->size - o ? n : r->size - o;
	memcpy(r->buf + o, src, first);
	memcpy(r->buf, (const unsigned char *)src + first, n - first);
}

static void wring_copy_out(const struct wring *r, uint32_t at, void *dst, uint32_t n)
{
	uint32_t o = at & (r->size - 1), first = n < r->size - o ? n : r->size - o;
	memcpy(dst, r->buf + o, first);
	memcpy((unsigned char *)dst + first, r->buf, n - first);
}

/* [any, the producer] false when it does not fit now */
static bool wring_write(struct wring *r, uint32_t n, const void *data)
{
	uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	if (n > r->size - 4 || r->size - (head - tail) < 4 + n)
		return false;
	wring_copy_in(r, head, &n, 4);
	if (n)
		wring_copy_in(r, head + 4, data, n);
	atomic_store_explicit(&r->head, head + 4 + n, memory_order_release);
	return true;
}

/* [any, the consumer] the next message into out (r->size bytes), its size in *n; false when empty */
static bool wring_read(struct wring *r, void *out, uint32_t *n)
{
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint32_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	if (head - tail < 4)
		return false;
	wring_copy_out(r, tail, n, 4);
	wring_copy_out(r, tail + 4, out, *n);
	atomic_store_explicit(&r->tail, tail + 4 + *n, memory_order_release);
	return true;
}

/* the folder of plugin files behind mapPath/makePath: "" for none, else absolute with a trailing '/' */
struct pathctx {
	char dir[4096];
};

struct md_plugin;

/* one LilvInstance with what is its own: atom buffers, the worker's rings and the features naming them */
struct pinst {
	struct md_plugin *p;
	LilvInstance *inst;
	const LV2_Worker_Interface *wi; /* NULL: the plugin has no worker */
	LV2_Worker_Schedule sched;
	struct wring req, resp;     /* requests to work(), responses to work_response() */
	unsigned char *wmsg, *rmsg; /* a message being handled: worker side, audio side */
	unsigned char *atom;        /* d->natom buffers of seq_size bytes */
	void **port_buf;            /* an atom port's buffer by port index, else NULL */
	LV2_Feature f_sched;
	const LV2_Feature *features[12];
};

struct md_plugin {
	struct pdesc *d;
	int nch, ninst; /* path channels; instances (1, or 2 for a mono plugin on a stereo path) */
	uint32_t max_block;
	LilvInstance *inst[2];
	struct pinst pi[2];
	int nparams;
	struct md_plugin_param *params;
	float *ports;   /* a value per port (control ports read and written through it) */
	float *scratch; /* zeros for side-chains and optional inputs, a sink for extra outputs, and the inputs'
			 * copies (the plugin never runs in place, so lv2:inPlaceBroken plugins work): max_block each */
	float *sink, *inbuf[2];
	uint32_t nports;
	int32_t ain[2], aout[2]; /* the main audio ports' indices */
	/* the worker: offline, work() runs inside schedule_work; live, on a thread woken by `wake` */
	bool offline, worker_on;
	pthread_t worker;
	/* held by the worker thread around each work() and by restores: LV2 puts restore() in the instantiation
	 * class, never beside another call on the instance (the audio thread never takes it) */
	pthread_mutex_t work_mu;
	sem_t wake;
	atomic_bool quit;
	atomic_uint works, responses;
	LV2_URID t_sequence, t_chunk;
	/* the features given at instantiation, alive as long as the instance */
	int32_t min_block, max_block_opt, nominal, seq_size;
	float rate_f;
	LV2_Options_Option options[6];
	LV2_Log_Log log;
	struct pathctx paths;
	LV2_State_Map_Path map_path;
	LV2_State_Make_Path make_path;
	LV2_State_Free_Path free_path;
	LV2_Feature f_map, f_unmap, f_options, f_bounded, f_log, f_load_default, f_map_path, f_make_path, f_free_path;
};

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

/* ---- state:mapPath, makePath, freePath ---- */

/* the folder as the path features want it (absolute, one trailing '/'), or "" for NULL; false when it cannot
 * be made absolute or is too long */
static bool pathctx_set(struct pathctx *c, const char *dir)
{
	c->dir[0] = '\0';
	if (!dir || !*dir)
		return true;
	char cwd[2048] = "";
	if (dir[0] != '/' && !getcwd(cwd, sizeof cwd))
		return false;
	size_t n = strlen(dir);
	int w = snprintf(c->dir, sizeof c->dir, "%s%s%s%s", cwd, cwd[0] ? "/" : "", dir, dir[n - 1] == '/' ? "" : "/");
	if (w < 0 || (size_t)w >= sizeof c->dir) {
		c->dir[0] = '\0';
		return false;
	}
	return true;
}

/* a path inside the folder as relative to it; any other as it is [control, worker] */
static char *abstract_path(LV2_State_Map_Path_Handle h, const char *abs)
{
	const struct pathctx *c = h;
	size_t n = strlen(c->dir);
	if (n && strncmp(abs, c->dir, n) == 0 && abs[n])
		return strdup(abs + n);
	return strdup(abs);
}

/* a relative path taken inside the folder; an absolute one (or any, without a folder) as it is */
static char *absolute_path(LV2_State_Map_Path_Handle h, const char *path)
{
	const struct pathctx *c = h;
	if (path[0] == '/' || !c->dir[0])
		return strdup(path);
	size_t n = strlen(c->dir) + strlen(path) + 1;
	char *out = malloc(n);
	if (out)
		snprintf(out, n, "%s%s", c->dir, path);
	return out;
}

/* mkdir -p of the folders leading to `path` (not its last component) */
static bool make_leading_dirs(const char *path)
{
	char buf[4096];
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return false;
	for (char *q = buf + 1; *q; q++)
		if (*q == '/') {
			*q = '\0';
			if (mkdir(buf, 0777) != 0 && errno != EEXIST)
				return false;
			*q = '/';
		}
	return true;
}

/* a path inside the folder, its leading folders made; NULL without a folder (or when they cannot be made) */
static char *make_path(LV2_State_Make_Path_Handle h, const char *path)
{
	const struct pathctx *c = h;
	if (!c->dir[0] || !path)
		return NULL;
	while (*path == '/')
		path++;
	char *out = absolute_path(h, path);
	if (out && !make_leading_dirs(out)) {
		free(out);
		return NULL;
	}
	return out;
}

static void free_path(LV2_State_Free_Path_Handle h, char *path)
{
	(void)h;
	free(path);
}

/* ---- the worker ---- */

/* respond() from work(): into the instance's response ring, delivered after its next run() [worker, or the
 * caller of schedule_work offline] */
static LV2_Worker_Status worker_respond(LV2_Worker_Respond_Handle h, uint32_t size, const void *data)
{
	struct pinst *pi = h;
	return wring_write(&pi->resp, size, data) ? LV2_WORKER_SUCCESS : LV2_WORKER_ERR_NO_SPACE;
}

/* schedule_work() from run() (or restore()): offline, work() at once, on this thread (work() and
 * work_response() may schedule more: they run nested); live, the request copied into the ring and the worker thread woken: no
 * lock, no allocation (sem_post is async-signal-safe) [rt] */
static LV2_Worker_Status worker_schedule(LV2_Worker_Schedule_Handle h, uint32_t size, const void *data)
{
	struct pinst *pi = h;
	struct md_plugin *p = pi->p;
	if (!pi->wi || !pi->wi->work)
		return LV2_WORKER_ERR_UNKNOWN;
	if (p->offline) {
		LV2_Worker_Status st = pi->wi->work(lilv_instance_get_handle(pi->inst), worker_respond, pi, size, data);
		atomic_fetch_add_explicit(&p->works, 1, memory_order_relaxed);
		return st;
	}
	if (!wring_write(&pi->req, size, data))
		return LV2_WORKER_ERR_NO_SPACE;
	sem_post(&p->wake);
	return LV2_WORKER_SUCCESS;
}

/* every queued request of the instances to work() [worker thread, or the control thread once it stopped] */
static bool worker_drain(struct md_plugin *p)
{
	bool any = false;
	for (int k = 0; k < p->ninst; k++) {
		struct pinst *pi = &p->pi[k];
		uint32_t n;
		while (pi->wi && wring_read(&pi->req, pi->wmsg, &n)) {
			pthread_mutex_lock(&p->work_mu);
			pi->wi->work(lilv_instance_get_handle(pi->inst), worker_respond, pi, n, pi->wmsg);
			pthread_mutex_unlock(&p->work_mu);
			atomic_fetch_add_explicit(&p->works, 1, memory_order_relaxed);
			any = true;
		}
	}
	return any;
}

static void *worker_main(void *arg)
{
	struct md_plugin *p = arg;
	for (;;) {
		while (sem_wait(&p->wake) != 0 && errno == EINTR)
			;
		if (atomic_load_explicit(&p->quit, memory_order_acquire))
			break;
		worker_drain(p);
	}
	return NULL;
}

/* the responses queued for instance k to work_response() [rt, or control when the audio thread does not run
 * the instance] */
static bool worker_deliver(struct md_plugin *p, int k)
{
	struct pinst *pi = &p->pi[k];
	if (!pi->wi)
		return false;
	bool any = false;
	uint32_t n;
	LV2_Handle h = lilv_instance_get_handle(pi->inst);
	while (wring_read(&pi->resp, pi->rmsg, &n)) {
		if (pi->wi->work_response)
			pi->wi->work_response(h, n, pi->rmsg);
		atomic_fetch_add_explicit(&p->responses, 1, memory_order_relaxed);
		any = true;
	}
	return any;
}

void plugin_worker_counts(const struct md_plugin *p, unsigned *works, unsigned *responses)
{
	if (works)
		*works = atomic_load_explicit(&((struct md_plugin *)p)->works, memory_order_relaxed);
	if (responses)
		*responses = atomic_load_explicit(&((struct md_plugin *)p)->responses, memory_order_relaxed);
}

static void set_features(struct md_plugin *p, uint32_t rate)
{
	p->rate_f = (float)rate;
	p->min_block = 1;
	p->max_block_opt = p->nominal = (int32_t)p->max_block;
	p->seq_size = 8192;
	LV2_URID t_int = urid_map(NULL, LV2_ATOM__Int), t_float = urid_map(NULL, LV2_ATOM__Float);
	p->t_sequence = urid_map(NULL, LV2_ATOM__Sequence);
	p->t_chunk = urid_map(NULL, LV2_ATOM__Chunk);
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
	p->map_path = (LV2_State_Map_Path){&p->paths, abstract_path, absolute_path};
	p->make_path = (LV2_State_Make_Path){&p->paths, make_path};
	p->free_path = (LV2_State_Free_Path){NULL, free_path};
	p->f_map = (LV2_Feature){LV2_URID__map, &map};
	p->f_unmap = (LV2_Feature){LV2_URID__unmap, &unmap};
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
		pi->sched = (LV2_Worker_Schedule){pi, worker_schedule};
		pi->f_sched = (LV2_Feature){LV2_WORKER__schedule, &pi->sched};
		const LV2_Feature *f[12] = {
			&p->f_map,          &p->f_unmap,    &p->f_options,   &p->f_bounded,   &p->f_log, &pi->f_sched,
			&p->f_load_default, &p->f_map_path, &p->f_make_path, &p->f_free_path, NULL};
		memcpy(pi->features, f, sizeof f);
	}
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
		const bool in = lilv_port_is_a(lp, port, n_input);
		if (lilv_port_is_a(lp, port, n_audio)) {
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
	LilvNode *ld = lilv_new_uri(world, LV2_STATE__loadDefaultState);
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
	return plugin_new_host(uri, rate, nch, max_block, allow_non_rt, init, ninit, NULL, err, errlen);
}

/* the atom buffers, the worker's rings and messages of instance k [control] */
static bool pinst_alloc(struct md_plugin *p, struct pinst *pi)
{
	const struct pdesc *d = p->d;
	if (!(pi->port_buf = calloc(p->nports ? p->nports : 1, sizeof *pi->port_buf)))
		return false;
	if (d->natom && !(pi->atom = alloc_touched((size_t)d->natom * (size_t)p->seq_size)))
		return false;
	uint32_t a = 0;
	for (uint32_t i = 0; i < p->nports; i++)
		if (d->kinds[i] == PK_ATOM_IN || d->kinds[i] == PK_ATOM_OUT)
			pi->port_buf[i] = pi->atom + (size_t)(a++) * (size_t)p->seq_size;
	return wring_init(&pi->req, WRING_SIZE) && wring_init(&pi->resp, WRING_SIZE) &&
	       (pi->wmsg = alloc_touched(WRING_SIZE)) && (pi->rmsg = alloc_touched(WRING_SIZE));
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

/* stop the worker thread; what it left queued is handled here, responses and the work they schedule, until
 * nothing is left (a few rounds at most) [control] */
static void worker_stop(struct md_plugin *p)
{
	if (p->worker_on) {
		atomic_store_explicit(&p->quit, true, memory_order_release);
		sem_post(&p->wake);
		pthread_join(p->worker, NULL);
		p->worker_on = false;
	}
	for (int round = 0; round < 8; round++) {
		bool any = worker_drain(p);
		for (int k = 0; k < p->ninst; k++)
			any |= p->pi[k].inst && worker_deliver(p, k);
		if (!any)
			break;
	}
}

struct md_plugin *plugin_new_host(const char *uri, uint32_t rate, int nch, uint32_t max_block, bool allow_non_rt,
				  const struct md_plugin_value *init, int ninit, const struct md_plugin_host *h,
				  char *err, size_t errlen)
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
	if (!pathctx_set(&p->paths, h ? h->dir : NULL)) {
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
		p->inst[k] = p->pi[k].inst = lilv_plugin_instantiate(d->lp, (double)rate, p->pi[k].features);
		if (!p->inst[k]) {
			snprintf(err, errlen, "plugin <%s> failed to instantiate at %u Hz", uri, rate);
			ok = false;
		} else
			p->pi[k].wi = lilv_instance_get_extension_data(p->inst[k], LV2_WORKER__interface);
	}
	pthread_mutex_unlock(&world_mu);
	if (ok && !p->offline && p->pi[0].wi) {
		int e = pthread_create(&p->worker, NULL, worker_main, p);
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
		pthread_mutex_lock(&world_mu);
		LilvState *st = lilv_state_new_from_world(world, &map, lilv_plugin_get_uri(d->lp));
		pthread_mutex_lock(&p->work_mu);
		for (int k = 0; st && k < ninst; k++)
			lilv_state_restore(st, p->inst[k], NULL, NULL, 0, p->pi[k].features);
		pthread_mutex_unlock(&p->work_mu);
		lilv_state_free(st);
		pthread_mutex_unlock(&world_mu);
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
	worker_stop(p); /* before the instances go: work() and work_response() use them */
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
			worker_deliver(p, k);
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
	if (!pathctx_set(&c, dir))
		return NULL;
	LV2_State_Map_Path mp = {&c, abstract_path, absolute_path};
	LV2_State_Make_Path mk = {&c, make_path};
	LV2_Feature fmap = {LV2_STATE__mapPath, &mp}, fmake = {LV2_STATE__makePath, &mk};
	const LV2_Feature *f[12];
	call_features(p, 0, f, &fmap, &fmake);
	pthread_mutex_lock(&world_mu);
	/* no port values (NULL getter): the control ports are the session's parameters; no lilv folders: the
	 * plugin maps its paths through ours, which come first in f */
	LilvState *st = lilv_state_new_from_instance(p->d->lp, p->inst[0], &map, NULL, NULL, NULL, NULL, NULL, NULL,
						     LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE, f);
	char *text = st ? lilv_state_to_string(world, &map, &unmap, st, STATE_URI, NULL) : NULL;
	lilv_state_free(st);
	pthread_mutex_unlock(&world_mu);
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
	if (!pathctx_set(&c, dir)) {
		snprintf(err, errlen, "plugin <%s>: the plugin folder \"%s\" cannot be made absolute (or is too long)",
			 uri, dir);
		return false;
	}
	if (!ttl || !*ttl) {
		snprintf(err, errlen, "plugin <%s>: the state is empty; expected LV2 state in Turtle", uri);
		return false;
	}
	LV2_State_Map_Path mp = {&c, abstract_path, absolute_path};
	LV2_State_Make_Path mk = {&c, make_path};
	LV2_Feature fmap = {LV2_STATE__mapPath, &mp}, fmake = {LV2_STATE__makePath, &mk};
	bool ok = true;
	pthread_mutex_lock(&world_mu);
	LilvState *st = lilv_state_new_from_string(world, &map, ttl);
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
	pthread_mutex_unlock(&world_mu);
	return ok;
}
