/* mixdesk: LV2 plugin hosting, worker:schedule (see plugin.h): the lock-free byte rings between the audio
 * thread and a plugin's worker thread (preallocated and resident), the thread itself, the offline mode where
 * work() runs inside schedule_work, the delivery of responses after run(), and the orderly stop. */
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

/* preallocated and resident: the audio thread never faults on it [control] */
void *pl_alloc_touched(size_t n)
{
	void *m = malloc(n);
	if (m) {
		memset(m, 0, n);
		mlock(m, n);
	}
	return m;
}

bool pl_wring_init(struct wring *r, uint32_t size)
{
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	r->size = size;
	return (r->buf = pl_alloc_touched(size)) != NULL;
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
LV2_Worker_Status pl_worker_schedule(LV2_Worker_Schedule_Handle h, uint32_t size, const void *data)
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

void *pl_worker_main(void *arg)
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
bool pl_worker_deliver(struct md_plugin *p, int k)
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

/* stop the worker thread; what it left queued is handled here, responses and the work they schedule, until
 * nothing is left (a few rounds at most) [control] */
void pl_worker_stop(struct md_plugin *p)
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
			any |= p->pi[k].inst && pl_worker_deliver(p, k);
		if (!any)
			break;
	}
}
