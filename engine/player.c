/* mixdesk: disk streaming for the live console (see player.h): the control side (streams opened, shared, freed),
 * and the audio thread's side of the locate protocol and the fades.
 *
 * Who owns what: the ring's write counter, the file, the converter and the first half of a refill belong to
 * the disk thread (and to player_open before the stream is listed); the read counter and every field under
 * "audio side" belong to the audio thread, except during a refill, when the audio thread leaves the ring
 * and its read counter alone and the disk thread resets both. The request seqlock is written by the audio
 * thread only, the `done` epoch by the disk thread only. refs, busy and the list are the control side's and
 * the disk thread's, under the player's mutex, which the audio thread never takes. The disk thread that fills
 * the rings is player_disk.c's. */
#include "engine/player_int.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

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
	if (pthread_create(&p->thread, NULL, player_disk_main, p) != 0) {
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
		long g = md_gcd((long)p->rate, (long)info.samplerate);
		s->grid_out = (long)p->rate / g;
		s->grid_in = info.samplerate / g;
		s->preroll = (int64_t)ceil(SINC_REACH * (s->ratio > 1.0 ? s->ratio : 1.0));
		s->rbuf = malloc(RBUF_FRAMES * (size_t)nch * sizeof(float));
		s->scratch = malloc(SCRATCH_FRAMES * (size_t)nch * sizeof(float));
		ok = s->rbuf && s->scratch &&
		     (s->src = src_callback_new(player_feed, SRC_SINC_BEST_QUALITY, nch, &e, s));
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
	player_fill(s, p->ahead);
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
