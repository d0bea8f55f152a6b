/* mixdesk: the disk streamer's disk thread (see player.c for the protocol): it fills every stream's ring from
 * its file (libsndfile, libsamplerate for files at another rate), refills after a locate first, then tops up
 * the least-filled stream. [disk] is this thread. */
#include "engine/player_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>


/* the converter's input: the file from where it stands, RBUF_FRAMES at a time; 0 is the end [disk] */
long player_feed(void *data, float **out)
{
	struct md_stream *s = data;
	*out = s->rbuf;
	if (s->sf_at < 0)
		return 0;
	sf_count_t got = sf_readf_float(s->sf, s->rbuf, RBUF_FRAMES);
	if (got <= 0)
		return 0;
	s->sf_at += got;
	return (long)got;
}

/* The output frame j0, in [hi - GRID_WINDOW, hi] and >= 0, where the converter is best restarted, and the
 * input frame a to restart it at: j0 / ratio = j0 * grid_in / grid_out input frames, as close to the whole
 * number a as the window allows (exactly, on a grid shorter than the window; frame 0 always is). [disk] */
static int64_t grid_start(const struct md_stream *s, int64_t hi, int64_t *a)
{
	const int64_t L = s->grid_out, M = s->grid_in;
	int64_t best = hi, best_d = L;
	for (int64_t j = hi; j >= 0 && j > hi - GRID_WINDOW; j--) {
		const int64_t r = j % L * M % L; /* j * M mod L, without overflow for any file */
		const int64_t d = r < L - r ? r : L - r;
		if (d < best_d) {
			best_d = d;
			best = j;
			if (d == 0 || d * GRID_EPS <= L)
				break;
		}
	}
	*a = best / L * M + (best % L * M + L / 2) / L; /* the nearest input frame */
	return best;
}

/* Make the converter's next output timeline frame `at` (>= 0): a reset converter started at file frame a
 * gives output k at input time a + k / ratio, where a conversion from the file's start gives its output
 * a * ratio + k. So it restarts at an output frame j0 whose input time is (as near as may be) the whole
 * frame a, far enough back for the filter to see the same input as it would there, and what comes before
 * `at` is thrown away. [disk] */
static void src_position(struct md_stream *s, int64_t at)
{
	src_reset(s->src);
	s->src_eof = false;
	s->src_at = at;
	int64_t a = 0, j0 = at - s->preroll > 0 ? grid_start(s, at - s->preroll, &a) : 0;
	int64_t d = at - j0;
	if (a >= s->frames || sf_seek(s->sf, a, SEEK_SET) != a) {
		s->sf_at = a >= s->frames ? s->sf_at : -1;
		s->src_eof = true;
		return;
	}
	s->sf_at = a;
	while (d > 0) {
		long m = (long)min64(d, SCRATCH_FRAMES);
		if (src_callback_read(s->src, s->ratio, m, s->scratch) < m) {
			s->src_eof = true;
			return;
		}
		d -= m;
	}
}

/* k frames of the timeline from frame `at` into dst (interleaved): zeros before 0 and after the end, the
 * file (or the converter) in between; a read error gives zeros too. [disk] */
static void produce(struct md_stream *s, int64_t at, float *dst, int64_t k)
{
	const size_t nch = (size_t)s->nch;
	while (k > 0) {
		int64_t m = k, got = 0;
		if (at < 0) {
			m = min64(k, -at);
		} else if (!s->src) {
			if (at < s->frames) {
				m = min64(k, s->frames - at);
				if (s->sf_at == at || sf_seek(s->sf, at, SEEK_SET) == at) {
					sf_count_t r = sf_readf_float(s->sf, dst, m);
					got = r > 0 ? r : 0;
				}
				s->sf_at = got == m ? at + m : -1; /* short: seek again next time */
			}
		} else {
			if (s->src_at != at)
				src_position(s, at);
			if (!s->src_eof) {
				long r = src_callback_read(s->src, s->ratio, (long)m, dst);
				got = r > 0 ? r : 0;
				if (got < m)
					s->src_eof = true;
			}
			s->src_at = at + m;
		}
		memset(dst + (size_t)got * nch, 0, (size_t)(m - got) * nch * sizeof *dst);
		dst += (size_t)m * nch;
		at += m;
		k -= m;
	}
}

/* k more frames into the ring, each contiguous piece published as it lands [disk] */
void player_fill(struct md_stream *s, int64_t k)
{
	int64_t w = atomic_load_explicit(&s->wr, memory_order_relaxed);
	while (k > 0) {
		uint32_t idx = (uint32_t)((uint64_t)w & s->mask);
		int64_t m = min64(k, (int64_t)(s->size - idx));
		produce(s, w, s->ring + (size_t)idx * (size_t)s->nch, m);
		w += m;
		k -= m;
		atomic_store_explicit(&s->wr, w, memory_order_release);
	}
}

/* the latest request, consistent (the writer is the audio thread: a few stores, so the wait is short) */
static uint64_t read_request(struct md_stream *s, int64_t *frame, int64_t *ns)
{
	for (;;) {
		uint64_t a = atomic_load_explicit(&s->req_seq, memory_order_acquire);
		if (!(a & 1)) {
			*frame = atomic_load_explicit(&s->req_frame, memory_order_relaxed);
			*ns = atomic_load_explicit(&s->req_ns, memory_order_relaxed);
			atomic_thread_fence(memory_order_acquire);
			if (atomic_load_explicit(&s->req_seq, memory_order_relaxed) == a)
				return a / 2;
		}
		sched_yield();
	}
}

/* a locate: the ring restarts at the frame asked for, its first chunk is published with the epoch; the
 * audio thread is not touching the ring (it published the request after its last read) [disk] */
static void refill(struct md_player *p, struct md_stream *s)
{
	int64_t frame, ns;
	uint64_t epoch = read_request(s, &frame, &ns);
	atomic_store_explicit(&s->rd, frame, memory_order_relaxed);
	atomic_store_explicit(&s->wr, frame, memory_order_relaxed);
	player_fill(s, p->first);
	s->epoch_done = epoch;
	atomic_store_explicit(&s->done, epoch, memory_order_release);
	double lat = (double)(now_ns() - ns) * 1e-9;
	pthread_mutex_lock(&p->mu);
	p->refills++;
	if (lat > p->worst_refill_s)
		p->worst_refill_s = lat;
	pthread_mutex_unlock(&p->mu);
}

/* up to a chunk more, as far as the ring is to be kept filled [disk] */
static void top_up(struct md_player *p, struct md_stream *s)
{
	int64_t rd = atomic_load_explicit(&s->rd, memory_order_acquire);
	int64_t wr = atomic_load_explicit(&s->wr, memory_order_relaxed);
	int64_t need = min64(rd + p->ahead - wr, p->chunk);
	if (need > 0)
		player_fill(s, need);
}

/* The next stream to serve, under p->mu: any with a request out, else the one with the least data ahead of
 * those a chunk short of full, so every stream stays ahead; NULL when all are full. [disk] */
static struct md_stream *pick(struct md_player *p, bool *refill_it)
{
	struct md_stream *best = NULL;
	int64_t best_level = INT64_MAX;
	for (struct md_stream *s = p->list; s; s = s->next) {
		uint64_t q = atomic_load_explicit(&s->req_seq, memory_order_acquire);
		if ((q + 1) / 2 != s->epoch_done) {
			*refill_it = true;
			return s;
		}
		int64_t level = atomic_load_explicit(&s->wr, memory_order_relaxed) -
				atomic_load_explicit(&s->rd, memory_order_acquire);
		if (p->ahead - level >= p->chunk && level < best_level) {
			best = s;
			best_level = level;
		}
	}
	*refill_it = false;
	return best;
}

/* serve streams until none needs anything; the mutex is held only to choose and to let go [disk] */
static void serve(struct md_player *p)
{
	struct md_stream *s = NULL;
	bool r = false;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		if (s) {
			s->busy = false;
			pthread_cond_broadcast(&p->idle);
		}
		s = atomic_load(&p->quit) ? NULL : pick(p, &r);
		if (!s)
			break;
		s->busy = true;
		pthread_mutex_unlock(&p->mu);
		if (r)
			refill(p, s);
		else
			top_up(p, s);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
}

void *player_disk_main(void *arg)
{
	struct md_player *p = arg;
	while (!atomic_load(&p->quit)) {
		serve(p);
		struct timespec ts;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
		atomic_store(&p->cpu_ns, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += p->tick_ns;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		sem_clockwait(&p->wake, CLOCK_MONOTONIC, &ts);
		while (sem_trywait(&p->wake) == 0) /* many posts, one round */
			;
	}
	return NULL;
}
