/* mixdesk: LV2 plugin hosting, the features the host gives every instance (see plugin.h): urid:map and unmap
 * (one map for the process), log:log through a lock-free ring, and state:mapPath, makePath and freePath against
 * a folder. */
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

/* urid:map, shared by every instance of the process (plugins map at instantiation; a mutex guards it) */
static pthread_mutex_t urid_mu = PTHREAD_MUTEX_INITIALIZER;
static char **urids;
static uint32_t nurids, capurids;

LV2_URID pl_urid_map(LV2_URID_Map_Handle h, const char *uri)
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

LV2_URID_Map pl_map = {NULL, pl_urid_map};
LV2_URID_Unmap pl_unmap = {NULL, urid_unmap};

/* log: a plugin may log from run(), on the audio thread, where nothing may print: each message is formatted
 * into a slot of a fixed ring (claimed with an atomic, no lock, no allocation) and printed by
 * plugins_log_drain on the control side; a message finding no free slot is counted as dropped */
#define LOG_SLOTS 64
static struct {
	atomic_int state; /* 0 free, 1 being written, 2 ready */
	char text[300];
} logq[LOG_SLOTS];
static atomic_uint log_next, log_dropped;

int pl_log_vprintf(LV2_Log_Handle h, LV2_URID type, const char *fmt, va_list ap)
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

int pl_log_printf(LV2_Log_Handle h, LV2_URID type, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = pl_log_vprintf(h, type, fmt, ap);
	va_end(ap);
	return r;
}

/* ---- state:mapPath, makePath, freePath ---- */

/* the folder as the path features want it (absolute, one trailing '/'), or "" for NULL; false when it cannot
 * be made absolute or is too long */
bool pl_path_set(struct pathctx *c, const char *dir)
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
char *pl_abstract_path(LV2_State_Map_Path_Handle h, const char *abs)
{
	const struct pathctx *c = h;
	size_t n = strlen(c->dir);
	if (n && strncmp(abs, c->dir, n) == 0 && abs[n])
		return strdup(abs + n);
	return strdup(abs);
}

/* a relative path taken inside the folder; an absolute one (or any, without a folder) as it is */
char *pl_absolute_path(LV2_State_Map_Path_Handle h, const char *path)
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
char *pl_make_path(LV2_State_Make_Path_Handle h, const char *path)
{
	const struct pathctx *c = h;
	if (!c->dir[0] || !path)
		return NULL;
	while (*path == '/')
		path++;
	char *out = pl_absolute_path(h, path);
	if (out && !make_leading_dirs(out)) {
		free(out);
		return NULL;
	}
	return out;
}

void pl_free_path(LV2_State_Free_Path_Handle h, char *path)
{
	(void)h;
	free(path);
}
