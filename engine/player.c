/* mixdesk: disk streaming for the live console (see player.h): the streams' rings, the disk thread that fills
 * them (libsndfile, libsamplerate for files at another rate), and the audio thread's side of the locate
 * protocol and the fades.
 *
 * Who owns what: the ring's write counter, the file, the converter and the first half of a refill belong to
 * the disk thread (and to player_open before the stream is listed); the read counter and every field under
 * "audio side" belong to the audio thread, except during a refill, when the audio thread leaves the ring
 * and its read counter alone and the disk thread resets both. The request seqlock is written by the audio
 * thread only, the `done` epoch by the disk thread only. refs, busy and the list are the control side's and
 * the disk thread's, under the player's mutex, which the audio thread never takes. */
#include "engine/player.h"

#include "engine/model/md.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <samplerate.h>
#include <sched.h>
#include <semaphore.h>
#include <sndfile.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#define CHUNK_FRAMES 4096   /* a top-up: 32 KB of a stereo float file, one read() */
#define FIRST_S 0.1         /* a refill's first chunk, published before the rest comes in top-ups */
#define TICK_MAX_NS 5000000 /* the disk thread wakes at least this often when nobody posts */
#define TICK_MIN_NS 1000000
#define RBUF_FRAMES 4096    /* the converter's input per callback */
#define SCRATCH_FRAMES 1024 /* output thrown away per call while a converter is positioned */
/* the best converter's filter reaches 143 input samples either side at the lower of the two rates
 * (coefficients / increment in libsamplerate's src_sinc.c); a repositioned converter starts this much (in
 * output frames, times the ratio when upsampling) before the frame asked for, so that the output there is
 * computed from the same input as a conversion from the file's start */
#define SINC_REACH 192
/* where a refill starts the converter: the output frame, at most this far before the preroll's start, whose
 * input time is closest to a whole input frame (the converter's phase repeats every rate / gcd output frames,
 * so on a shorter grid that is exactly one; otherwise the search stops within 1 / GRID_EPS of an input frame) */
#define GRID_WINDOW 16384
#define GRID_EPS 8192
#define AHEAD_MIN (2 * MD_BLOCK)
#define AHEAD_MAX_S 60.0

struct md_stream {
	/* the hand-over, each side's counter on its own cache line */
	alignas(64) _Atomic int64_t wr; /* timeline frame of the next frame the disk thread writes */
	alignas(64) _Atomic int64_t rd; /* timeline frame of the next frame the audio thread reads */
	/* a locate request: req_seq is odd while the audio thread writes it; its epoch is req_seq / 2 */
	alignas(64) atomic_uint_fast64_t req_seq;
	_Atomic int64_t req_frame;
	_Atomic int64_t req_ns; /* when it was asked for (CLOCK_MONOTONIC), for the refill latency */
	atomic_uint_fast64_t underruns;
	alignas(64) atomic_uint_fast64_t done; /* the epoch the disk thread last refilled for */

	alignas(64) float *ring; /* size frames of nch interleaved floats */
	uint32_t size, mask;
	int nch;
	struct md_player *p;

	/* control side and disk thread, under p->mu */
	int refs; /* control side only */
	bool busy;
	struct md_stream *next;

	/* disk side */
	SNDFILE *sf;
	int64_t frames;   /* the file's length at its own rate */
	int64_t sf_at;    /* the file's read position; -1 when unknown (after an error) */
	SRC_STATE *src;   /* NULL: the file is at the player's rate */
	double ratio;     /* player rate / file rate */
	int64_t grid_out; /* output frames per repeat of the converter's phase */
	int64_t grid_in;  /* input frames per repeat */
	int64_t preroll;  /* output frames a repositioned converter runs before the frame asked for */
	int64_t src_at;   /* timeline frame of the converter's next output */
	bool src_eof;     /* the converter has given all it will: zeros from here */
	float *rbuf, *scratch;
	uint64_t epoch_done; /* the disk thread's copy of `done` */

	/* audio side */
	bool live;                  /* the output is the ring's (fading in while fi < fade) */
	bool pend;                  /* a request is out: the ring is the disk thread's */
	bool starved;               /* ready but behind the data: waiting for top-ups counts underruns */
	uint64_t seq;               /* req_seq as last written */
	int64_t pos;                /* rd while not pending */
	int64_t expect;             /* the frame the next call should give: frame + n rolling, frame stopped */
	uint32_t fi;                /* the fade-in's place, 0..fade: the ring's gain is fi / fade */
	uint32_t tail_len, tail_at; /* the fade-out: its length (fi when it began) and place */
	float *tail;                /* its frames, copied from the ring: fade * nch interleaved */
	bool have_last, last_rolling;
	int64_t last_f;
	uint32_t last_n;
	float last[2][MD_BLOCK]; /* the last call's output, for a second graph reading the same sub-block */
};

struct md_player {
	uint32_t rate;
	int64_t ahead; /* frames each ring is kept filled to */
	uint32_t size; /* ring frames: the power of two >= ahead */
	int64_t chunk; /* frames per top-up */
	int64_t first; /* frames of a refill's first chunk */
	uint32_t fade; /* frames of a fade */
	float inv_fade;
	long tick_ns;
	pthread_t thread;
	sem_t wake;
	pthread_mutex_t mu;
	pthread_cond_t idle; /* a stream's busy flag went down */
	struct md_stream *list;
	atomic_bool quit;
	/* under mu */
	uint64_t refills;
	double worst_refill_s;
	uint64_t gone_underruns; /* of streams already freed */
	atomic_uint_fast64_t cpu_ns;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static void say(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- the disk side ---- */

/* the converter's input: the file from where it stands, RBUF_FRAMES at a time; 0 is the end [disk] */
static long feed(void *data, float **out)
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
static void fill(struct md_stream *s, int64_t k)
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
	fill(s, p->first);
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
		fill(s, need);
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

static void *disk_main(void *arg)
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

/* ---- the control side ---- */

struct md_player *player_new(uint32_t rate, double ahead_s)
{
	if (rate == 0 || !(ahead_s > 0.0))
		return NULL;
	if (ahead_s > AHEAD_MAX_S)
		ahead_s = AHEAD_MAX_S;
	struct md_player *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->rate = rate;
	p->ahead = (int64_t)ceil(ahead_s * rate);
	if (p->ahead < AHEAD_MIN)
		p->ahead = AHEAD_MIN;
	p->size = 1;
	while ((int64_t)p->size < p->ahead)
		p->size <<= 1;
	/* half the ring at most per top-up, so a short one is topped up twice per turn-over */
	p->chunk = min64(CHUNK_FRAMES, p->ahead / 2 > MD_BLOCK ? p->ahead / 2 : MD_BLOCK);
	p->first = min64(p->ahead, (int64_t)ceil(FIRST_S * rate));
	if (p->first < p->chunk)
		p->first = min64(p->ahead, p->chunk);
	long fade = lrintf(MD_PLAYER_FADE_MS * 0.001f * (float)rate);
	p->fade = fade < 1 ? 1 : (uint32_t)fade;
	p->inv_fade = 1.0f / (float)p->fade;
	/* a quarter of the ring's time, so a short ring is topped up several times before it runs dry */
	double tick = ahead_s * 0.25e9;
	p->tick_ns = tick > TICK_MAX_NS ? TICK_MAX_NS : tick < TICK_MIN_NS ? TICK_MIN_NS : (long)tick;
	atomic_init(&p->quit, false);
	atomic_init(&p->cpu_ns, 0);
	if (sem_init(&p->wake, 0, 0) != 0) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->idle, NULL);
	if (pthread_create(&p->thread, NULL, disk_main, p) != 0) {
		pthread_cond_destroy(&p->idle);
		pthread_mutex_destroy(&p->mu);
		sem_destroy(&p->wake);
		free(p);
		return NULL;
	}
	pthread_setname_np(p->thread, "mixdesk-disk");
	return p;
}

static void stream_destroy(struct md_stream *s)
{
	if (s->sf)
		sf_close(s->sf);
	if (s->src)
		src_delete(s->src);
	if (s->ring) {
		munlock(s->ring, (size_t)s->size * (size_t)s->nch * sizeof(float));
		free(s->ring);
	}
	free(s->tail);
	free(s->rbuf);
	free(s->scratch);
	free(s);
}

void player_free(struct md_player *p)
{
	if (!p)
		return;
	atomic_store(&p->quit, true);
	sem_post(&p->wake);
	pthread_join(p->thread, NULL);
	while (p->list) {
		struct md_stream *s = p->list;
		p->list = s->next;
		stream_destroy(s);
	}
	pthread_cond_destroy(&p->idle);
	pthread_mutex_destroy(&p->mu);
	sem_destroy(&p->wake);
	free(p);
}

static long gcd(long a, long b)
{
	while (b) {
		long t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* memory the audio thread reads: allocated, written (so its pages exist) and locked where the system lets us */
static void *rt_alloc(size_t n)
{
	n = (n + 63) / 64 * 64;
	void *m = aligned_alloc(64, n);
	if (m) {
		memset(m, 0, n);
		mlock(m, n);
	}
	return m;
}

struct md_stream *player_open(struct md_player *p, const char *path, int nch, char *err, size_t errlen)
{
	if (!p || !path) {
		say(err, errlen, "player_open: no player or no path (expected both)");
		return NULL;
	}
	if (nch != 1 && nch != 2) {
		say(err, errlen, "source '%s': asked for %d channels (expected a strip of 1 or 2)", path, nch);
		return NULL;
	}
	struct stat st;
	if (stat(path, &st) != 0) {
		const bool missing = errno == ENOENT || errno == ENOTDIR;
		say(err, errlen, "source '%s': %s (expected %s)", path, strerror(errno),
		    missing ? "an audio file there" : "a readable audio file");
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		say(err, errlen, "source '%s' is a directory (expected an audio file)", path);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) { /* a FIFO or a device: no seeking, and opening it could wait for ever */
		say(err, errlen, "source '%s' is not a regular file (expected an audio file)", path);
		return NULL;
	}
	SF_INFO info;
	memset(&info, 0, sizeof info);
	SNDFILE *sf = sf_open(path, SFM_READ, &info);
	if (!sf) {
		say(err, errlen,
		    "source '%s' is not a sound file libsndfile can read (%s; expected WAV, AIFF, FLAC, ...)", path,
		    sf_strerror(NULL));
		return NULL;
	}
	const char *bad = NULL;
	char why[160];
	if (info.channels != nch) {
		snprintf(why, sizeof why, "has %d channel%s but the strip is %s (expected %d)", info.channels,
			 info.channels == 1 ? "" : "s", nch == 1 ? "mono" : "stereo", nch);
		bad = why;
	} else if (info.samplerate <= 0 || info.frames < 0) {
		bad = "declares no sample rate or length (expected a sound file with both)";
	} else if (!info.seekable) {
		bad = "cannot be seeked in (expected a seekable sound file)";
	} else if (!src_is_valid_ratio((double)p->rate / info.samplerate)) {
		snprintf(why, sizeof why,
			 "is at %d Hz, too far from the console's %u Hz to resample (expected at most 256 times "
			 "higher or lower)",
			 info.samplerate, p->rate);
		bad = why;
	}
	if (bad) {
		say(err, errlen, "source '%s' %s", path, bad);
		sf_close(sf);
		return NULL;
	}

	struct md_stream *s = rt_alloc(sizeof *s);
	if (!s) {
		sf_close(sf);
		say(err, errlen, "source '%s': out of memory (for its stream)", path);
		return NULL;
	}
	s->sf = sf;
	s->p = p;
	s->nch = nch;
	s->size = p->size;
	s->mask = p->size - 1;
	s->frames = info.frames;
	s->ratio = (double)p->rate / (double)info.samplerate;
	const size_t ring_bytes = (size_t)p->size * (size_t)nch * sizeof(float);
	s->ring = rt_alloc(ring_bytes);
	s->tail = rt_alloc((size_t)p->fade * (size_t)nch * sizeof(float));
	bool ok = s->ring && s->tail;
	if (ok && (uint32_t)info.samplerate != p->rate) {
		int e = 0;
		long g = gcd((long)p->rate, (long)info.samplerate);
		s->grid_out = (long)p->rate / g;
		s->grid_in = info.samplerate / g;
		s->preroll = (int64_t)ceil(SINC_REACH * (s->ratio > 1.0 ? s->ratio : 1.0));
		s->rbuf = malloc(RBUF_FRAMES * (size_t)nch * sizeof(float));
		s->scratch = malloc(SCRATCH_FRAMES * (size_t)nch * sizeof(float));
		ok = s->rbuf && s->scratch && (s->src = src_callback_new(feed, SRC_SINC_BEST_QUALITY, nch, &e, s));
		if (!ok && e) {
			say(err, errlen, "source '%s': cannot set up the resampler from %d Hz to %u Hz: %s", path,
			    info.samplerate, p->rate, src_strerror(e));
			stream_destroy(s);
			return NULL;
		}
	}
	if (!ok) {
		say(err, errlen, "source '%s': out of memory (for a ring of %.1f MB)", path, (double)ring_bytes / 1e6);
		stream_destroy(s);
		return NULL;
	}
	atomic_init(&s->wr, 0);
	atomic_init(&s->rd, 0);
	atomic_init(&s->req_seq, 0);
	atomic_init(&s->req_frame, 0);
	atomic_init(&s->req_ns, 0);
	atomic_init(&s->underruns, 0);
	atomic_init(&s->done, 0);
	s->sf_at = 0;
	s->src_at = 0; /* a new converter gives the file's frame 0 first */
	fill(s, p->ahead);
	s->refs = 1;
	pthread_mutex_lock(&p->mu);
	s->next = p->list;
	p->list = s;
	pthread_mutex_unlock(&p->mu);
	return s;
}

void player_ref(struct md_stream *s)
{
	if (s)
		s->refs++;
}

void player_unref(struct md_stream *s)
{
	if (!s || --s->refs > 0)
		return;
	struct md_player *p = s->p;
	pthread_mutex_lock(&p->mu);
	for (struct md_stream **l = &p->list; *l; l = &(*l)->next)
		if (*l == s) {
			*l = s->next;
			break;
		}
	while (s->busy) /* out of the disk thread's hands first */
		pthread_cond_wait(&p->idle, &p->mu);
	p->gone_underruns += atomic_load(&s->underruns);
	pthread_mutex_unlock(&p->mu);
	stream_destroy(s);
}

void player_stats(struct md_player *p, struct md_player_stats *st)
{
	memset(st, 0, sizeof *st);
	pthread_mutex_lock(&p->mu);
	st->underruns = p->gone_underruns;
	for (struct md_stream *s = p->list; s; s = s->next) {
		st->underruns += atomic_load(&s->underruns);
		st->streams++;
	}
	st->refills = p->refills;
	st->worst_refill_s = p->worst_refill_s;
	pthread_mutex_unlock(&p->mu);
	st->disk_cpu_s = (double)atomic_load(&p->cpu_ns) * 1e-9;
}

/* ---- the audio side ---- */

bool player_ready(const struct md_stream *s)
{
	uint64_t q = atomic_load_explicit(&s->req_seq, memory_order_acquire);
	return (q + 1) / 2 == atomic_load_explicit(&s->done, memory_order_acquire);
}

/* Ask for a refill at frame f: from here until the epoch comes back the ring is the disk thread's. A
 * seqlock (odd while writing), so the disk thread never takes a frame of one request with the time of
 * another; sem_post wakes the disk thread without a lock. [rt] */
static void request(struct md_stream *s, int64_t f)
{
	uint64_t q = s->seq;
	atomic_store_explicit(&s->req_seq, q + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&s->req_frame, f, memory_order_relaxed);
	atomic_store_explicit(&s->req_ns, now_ns(), memory_order_relaxed); /* a vDSO read: no system call */
	atomic_store_explicit(&s->req_seq, q + 2, memory_order_release);
	s->seq = q + 2;
	s->pend = true;
	s->starved = false;
	sem_post(&s->p->wake);
}

/* whether the ring holds frame f now [rt] */
static bool held(const struct md_stream *s, int64_t f)
{
	return f >= s->pos && f < atomic_load_explicit(&s->wr, memory_order_acquire);
}

/* k interleaved frames of the ring from frame `at` into dst [rt] */
static void ring_copy(const struct md_stream *s, int64_t at, float *dst, uint32_t k)
{
	const size_t nch = (size_t)s->nch;
	while (k > 0) {
		uint32_t idx = (uint32_t)((uint64_t)at & s->mask);
		uint32_t m = s->size - idx < k ? s->size - idx : k;
		memcpy(dst, s->ring + (size_t)idx * nch, (size_t)m * nch * sizeof *dst);
		dst += (size_t)m * nch;
		at += m;
		k -= m;
	}
}

/* The fade-out of what was playing, from the ring's gain now (fi / fade) down to 0, copied out of the ring so
 * the disk thread may have it back at once; frames the ring does not hold are zeros. [rt] */
static void start_tail(struct md_stream *s)
{
	s->tail_len = s->fi;
	s->tail_at = 0;
	int64_t have = atomic_load_explicit(&s->wr, memory_order_acquire) - s->pos;
	uint32_t m = have < (int64_t)s->fi ? (uint32_t)(have > 0 ? have : 0) : s->fi;
	ring_copy(s, s->pos, s->tail, m);
	memset(s->tail + (size_t)m * (size_t)s->nch, 0, (size_t)(s->fi - m) * (size_t)s->nch * sizeof(float));
}

/* k frames of the ring at pos into out[..][o, o + k), fading in while fi < fade; the read counter moves on [rt] */
static void play(struct md_stream *s, float *const out[2], uint32_t o, uint32_t k)
{
	const uint32_t nch = (uint32_t)s->nch;
	int64_t at = s->pos;
	for (uint32_t done = 0; done < k;) {
		uint32_t idx = (uint32_t)((uint64_t)at & s->mask);
		uint32_t m = s->size - idx < k - done ? s->size - idx : k - done;
		const float *r = s->ring + (size_t)idx * nch;
		if (nch == 1) {
			memcpy(out[0] + o + done, r, m * sizeof(float));
		} else {
			float *l = out[0] + o + done, *rr = out[1] + o + done;
			for (uint32_t i = 0; i < m; i++) {
				l[i] = r[2 * i];
				rr[i] = r[2 * i + 1];
			}
		}
		done += m;
		at += m;
	}
	/* the fade-in: the same gain on every channel; at fade the gain is 1 and the samples are untouched */
	for (uint32_t i = 0; i < k && s->fi < s->p->fade; i++, s->fi++) {
		const float g = (float)s->fi * s->p->inv_fade;
		for (uint32_t c = 0; c < nch; c++)
			out[c][o + i] *= g;
	}
	s->pos = at;
	atomic_store_explicit(&s->rd, at, memory_order_release);
}

/* go live at pos, fading in unless the frame is at or before the file's start [rt] */
static void go_live(struct md_stream *s)
{
	s->live = true;
	s->starved = false;
	s->fi = s->pos <= 0 ? s->p->fade : 0;
}

void player_read(struct md_stream *s, int64_t frame, bool rolling, float *const out[2], uint32_t n)
{
	const uint32_t nch = (uint32_t)s->nch;
	if (n > MD_BLOCK) { /* outside the contract: silence, and the state is left alone */
		for (uint32_t c = 0; c < nch; c++)
			memset(out[c], 0, n * sizeof(float));
		return;
	}
	/* a second graph reading the same sub-block during a crossfade */
	if (s->have_last && rolling && s->last_rolling && frame == s->last_f && n == s->last_n) {
		for (uint32_t c = 0; c < nch; c++)
			memcpy(out[c], s->last[c], n * sizeof(float));
		return;
	}
	for (uint32_t c = 0; c < nch; c++)
		memset(out[c], 0, n * sizeof(float));

	if (s->pend && atomic_load_explicit(&s->done, memory_order_acquire) == s->seq / 2) {
		s->pend = false; /* the ring is ours again, restarted by the disk thread at the frame asked for */
		s->pos = atomic_load_explicit(&s->rd, memory_order_relaxed);
		s->starved = true; /* the transport moved on: if it is past the first chunk, wait for the rest */
	}
	if (s->live && (!rolling || frame != s->pos)) { /* a stop or a locate */
		start_tail(s);
		s->live = false;
	}
	const bool tail_done = s->tail_at == s->tail_len;
	uint32_t o = 0; /* where in the sub-block the ring's frames start */
	if (!s->live) {
		if (s->pend) {
			if (s->have_last && frame != s->expect) /* the transport jumped again: ask for where it is */
				request(s, frame);
		} else if (frame < s->pos && s->pos <= 0) {
			/* before a ring that starts at or before the file's start: the timeline's own silence until the
			 * transport reaches it, then the ring with no fade */
			if (rolling && tail_done && s->pos - frame < n) {
				o = (uint32_t)(s->pos - frame);
				go_live(s);
			}
		} else if (held(s, frame)) {
			/* the data is there: rolling, skip to the transport (once the fade-out is over) and fade in;
			 * stopped, nothing to do until it rolls */
			if (rolling && tail_done) {
				s->pos = frame;
				atomic_store_explicit(&s->rd, frame, memory_order_release);
				go_live(s);
			}
		} else if (rolling && s->starved && frame >= s->pos && frame + n - s->pos <= s->p->ahead) {
			/* behind the data but within what the disk thread is filling towards: consume what is there (the
			 * transport is past it) so it can go on, and count the miss */
			atomic_fetch_add_explicit(&s->underruns, 1, memory_order_relaxed);
			s->pos = atomic_load_explicit(&s->wr, memory_order_acquire);
			atomic_store_explicit(&s->rd, s->pos, memory_order_release);
		} else {
			request(s, frame);
		}
	}
	if (s->live) {
		int64_t have = atomic_load_explicit(&s->wr, memory_order_acquire) - s->pos;
		uint32_t k = have < (int64_t)(n - o) ? (uint32_t)have : n - o;
		play(s, out, o, k);
		if (k < n - o) { /* an underrun: silence for the rest, and fade in when the data is back */
			atomic_fetch_add_explicit(&s->underruns, 1, memory_order_relaxed);
			s->live = false;
			s->starved = true;
		}
	}
	if (s->tail_at < s->tail_len) { /* never at once with the ring: going live waits for its end */
		uint32_t m = s->tail_len - s->tail_at < n ? s->tail_len - s->tail_at : n;
		const float *t = s->tail + (size_t)s->tail_at * nch;
		for (uint32_t i = 0; i < m; i++) {
			const float g = (float)(s->tail_len - s->tail_at - i) * s->p->inv_fade;
			for (uint32_t c = 0; c < nch; c++)
				out[c][i] = t[i * nch + c] * g;
		}
		s->tail_at += m;
	}
	s->expect = rolling ? frame + n : frame;
	s->have_last = true;
	s->last_rolling = rolling;
	s->last_f = frame;
	s->last_n = n;
	for (uint32_t c = 0; c < nch; c++)
		memcpy(s->last[c], out[c], n * sizeof(float));
}
