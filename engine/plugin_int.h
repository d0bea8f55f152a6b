/* mixdesk: the private structures of LV2 plugin hosting (a plugin's description, an instance, the worker's
 * rings) and the pl_ functions its files share: plugin_world.c (the world, descriptions, checks), plugin_host.c
 * (urid, log, state paths), plugin_worker.c (rings and the worker thread), plugin.c (instances). Not for use
 * outside engine/plugin*.c. */
#ifndef MD_PLUGIN_INT_H
#define MD_PLUGIN_INT_H

#include "engine/model/md.h"
#include "engine/plugin.h"

#include <lilv/lilv.h>
#include <lv2/log/log.h>
#include <lv2/options/options.h>
#include <lv2/state/state.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

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

/* A byte ring of messages (a 32-bit size, then the body) between one producer and one consumer: C11
 * acquire/release on the two free-running indices, no lock; the memory is allocated and touched when the
 * instance is made. */
struct wring {
	atomic_uint head, tail; /* bytes written, bytes read */
	uint32_t size;          /* a power of two */
	unsigned char *buf;
};

#define WRING_SIZE 32768u /* per direction and instance; a request or response is at most this less 4 bytes */

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

/* plugin_world.c: the world (every lilv call under pl_world_mu), the nodes instances need, a plugin's checks
 * before instantiation (NULL with err set when it cannot run here), and its library held loaded */
extern LilvWorld *pl_world;
extern pthread_mutex_t pl_world_mu;
extern LilvNode *pl_n_audio, *pl_n_input, *pl_n_sidechain;
struct pdesc *pl_check(const char *uri, int nch, bool allow_non_rt, int *ninst, char *err, size_t errlen);
void pl_pin_library(struct pdesc *d); /* [pl_world_mu held] */

/* plugin_host.c: urid:map and unmap, log:log, the state path features */
extern LV2_URID_Map pl_map;
extern LV2_URID_Unmap pl_unmap;
LV2_URID pl_urid_map(LV2_URID_Map_Handle h, const char *uri);
int pl_log_printf(LV2_Log_Handle h, LV2_URID type, const char *fmt, ...);
int pl_log_vprintf(LV2_Log_Handle h, LV2_URID type, const char *fmt, va_list ap);
bool pl_path_set(struct pathctx *c, const char *dir);
char *pl_abstract_path(LV2_State_Map_Path_Handle h, const char *abs);
char *pl_absolute_path(LV2_State_Map_Path_Handle h, const char *path);
char *pl_make_path(LV2_State_Make_Path_Handle h, const char *path);
void pl_free_path(LV2_State_Free_Path_Handle h, char *path);

/* plugin_worker.c: resident memory, a ring, schedule_work, the worker thread, delivering responses after run()
 * (true when there were any), and stopping the worker */
void *pl_alloc_touched(size_t n);
bool pl_wring_init(struct wring *r, uint32_t size);
LV2_Worker_Status pl_worker_schedule(LV2_Worker_Schedule_Handle h, uint32_t size, const void *data);
void *pl_worker_main(void *arg);
bool pl_worker_deliver(struct md_plugin *p, int k);
void pl_worker_stop(struct md_plugin *p);

#endif
