/* mixdesk tests: the live console's disk streaming (engine/player.c) on generated WAVs: bit-exact playback in
 * 64-frame and odd sub-blocks, before frame 0 and past the end; locates forward, back and before 0 (the fade
 * out, the silence, the fade in, then the file exactly) with their refill latency; stop and start; the same
 * sub-block read twice; a 44.1 kHz file against libsamplerate's own conversion, also after locates; the
 * errors; no allocation, lock or file I/O on the audio path; underruns with a tiny ring; and the figures for
 * 16 and 64 streams at real-time pace. The audio thread is emulated by each test's own loop (this thread),
 * paced by the clock, with the player's disk thread running beside it. */
#include "engine/player.h"
#include "engine/model/md.h"
#include "testlib.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RATE 48000
#define FILE_FRAMES (10 * RATE) /* the counter files: 10 s */
#define NFILES 16
#define FADE 240 /* MD_PLAYER_FADE_MS at RATE */

static char *dir;
static char path_mono[512], path_st[NFILES][512], path_text[512];

/* ---- the audio path's watchdogs: allocator, mutex and file I/O wrapped, counted while armed ---- */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WRAP 0 /* the sanitizer owns malloc; the wrappers are left out */
#else
#define WRAP 1
#endif

static _Thread_local volatile int armed; /* volatile: GCC knows malloc reads no globals and would drop the stores */
#if WRAP
static atomic_int bad_calls;
#endif

#if WRAP
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
static int (*real_mutex_lock)(pthread_mutex_t *);

static void count_bad(void)
{
	if (armed)
		atomic_fetch_add(&bad_calls, 1);
}

void *malloc(size_t n)
{
	count_bad();
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	count_bad();
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	count_bad();
	return __libc_realloc(p, n);
}

void free(void *p)
{
	if (p)
		count_bad();
	__libc_free(p);
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
	count_bad();
	if (!real_mutex_lock)
		real_mutex_lock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_lock");
	return real_mutex_lock(m);
}

/* libsndfile's file I/O (its imports: open, read, write, lseek), straight to the kernel */
ssize_t read(int fd, void *buf, size_t n)
{
	count_bad();
	return syscall(SYS_read, fd, buf, n);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	count_bad();
	return syscall(SYS_write, fd, buf, n);
}

off_t lseek(int fd, off_t off, int whence)
{
	count_bad();
	return syscall(SYS_lseek, fd, off, whence);
}

int open(const char *path, int flags, ...)
{
	count_bad();
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}
#endif

/* ---- material ---- */

/* The counter signal: frame i of file k is (i + 1 + 600000 k) / 2^24, the right channel its negative; every
 * frame distinct and non-zero, exact in float, so any slip, swap or stale frame shows. 0 outside the file. */
static float cval(int64_t i, int c, int k)
{
	if (i < 0 || i >= FILE_FRAMES)
		return 0.0f;
	float v = (float)(i + 1 + 600000 * (int64_t)k) * (1.0f / 16777216.0f);
	return c ? -v : v;
}

static void write_wav(const char *path, int rate, int nch, const float *x, int64_t frames)
{
	SF_INFO info = {.samplerate = rate, .channels = nch, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
	SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
	assert_non_null(sf);
	assert_int_equal(sf_writef_float(sf, x, frames), frames);
	sf_close(sf);
}

static void write_counter(const char *path, int nch, int k)
{
	float *x = malloc((size_t)FILE_FRAMES * (size_t)nch * sizeof *x);
	for (int64_t i = 0; i < FILE_FRAMES; i++)
		for (int c = 0; c < nch; c++)
			x[i * nch + c] = cval(i, c, k);
	write_wav(path, RATE, nch, x, FILE_FRAMES);
	free(x);
}

/* the counter file k as an array, for the generic checks */
static float *counter_array(int k, int nch)
{
	float *x = malloc((size_t)FILE_FRAMES * (size_t)nch * sizeof *x);
	for (int64_t i = 0; i < FILE_FRAMES; i++)
		for (int c = 0; c < nch; c++)
			x[i * nch + c] = cval(i, c, k);
	return x;
}

/* 6 s at `rate`, stereo: a 1 kHz sine and low-passed noise, different on each side */
#define SRC_SECONDS 6
static float *src_data(int rate)
{
	const int64_t frames = (int64_t)SRC_SECONDS * rate;
	float *x = malloc((size_t)frames * 2 * sizeof *x);
	uint64_t st = 987654321;
	float lp[2] = {0, 0};
	for (int64_t i = 0; i < frames; i++)
		for (int c = 0; c < 2; c++) {
			st ^= st << 13;
			st ^= st >> 7;
			st ^= st << 17;
			float u = (float)((double)(st >> 11) / (double)(1ull << 52) - 1.0);
			lp[c] += 0.3f * (u - lp[c]);
			x[i * 2 + c] = 0.4f * (float)sin(2.0 * M_PI * 1000.0 * (double)i / rate + c) + 0.4f * lp[c];
		}
	return x;
}

static const int src_rates[] = {44100, 96000, 44101};
static char path_src[3][512];

static int setup(void **state)
{
	(void)state;
	dir = tl_tmpdir();
	snprintf(path_mono, sizeof path_mono, "%s/mono.wav", dir);
	write_counter(path_mono, 1, 0);
	for (int k = 0; k < NFILES; k++) {
		snprintf(path_st[k], sizeof path_st[k], "%s/st%02d.wav", dir, k);
		write_counter(path_st[k], 2, k);
	}
	for (int k = 0; k < 3; k++) {
		snprintf(path_src[k], sizeof path_src[k], "%s/src%d.wav", dir, src_rates[k]);
		float *x = src_data(src_rates[k]);
		write_wav(path_src[k], src_rates[k], 2, x, (int64_t)SRC_SECONDS * src_rates[k]);
		free(x);
	}
	snprintf(path_text, sizeof path_text, "%s/notes.wav", dir);
	FILE *f = fopen(path_text, "w");
	fputs("this is not a sound file, just some words\n", f);
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tl_rmtree(dir);
	free(dir);
	return 0;
}

/* ---- pacing: the emulated audio thread sleeps until its sub-block is due ---- */

struct pacer {
	double t0, speed;
};

static void pacer_start(struct pacer *pc, double speed)
{
	pc->t0 = tl_now();
	pc->speed = speed;
}

static void sleep_s(double d)
{
	struct timespec ts = {(time_t)d, (long)((d - floor(d)) * 1e9)};
	nanosleep(&ts, NULL);
}

/* until `frames` frames are due; meanwhile, with s and ready_at (< 0 until then), note when s turns ready */
static void pace(const struct pacer *pc, int64_t frames, struct md_stream *s, double *ready_at)
{
	const double due = pc->t0 + (double)frames / (RATE * pc->speed);
	for (;;) {
		double t = tl_now();
		const bool watch = s && ready_at && *ready_at < 0;
		if (watch && player_ready(s))
			*ready_at = t;
		if (t >= due)
			return;
		double d = due - t;
		sleep_s(watch && d > 50e-6 ? 50e-6 : d);
	}
}

static struct md_player_stats stats(struct md_player *p)
{
	struct md_player_stats st;
	player_stats(p, &st);
	return st;
}

/* ---- a recording of the output, and the check of what follows a locate ---- */

struct rec {
	float *o[2];
	int64_t *t; /* the transport frame of each sample */
	size_t n, cap;
	size_t *blk; /* each sub-block's first sample */
	bool *ready; /* whether player_ready was seen before its call */
	size_t nblk;
};

static void rec_init(struct rec *r, size_t cap)
{
	memset(r, 0, sizeof *r);
	r->cap = cap;
	r->o[0] = calloc(cap, sizeof(float));
	r->o[1] = calloc(cap, sizeof(float));
	r->t = calloc(cap, sizeof(int64_t));
	r->blk = calloc(cap + 1, sizeof(size_t));
	r->ready = calloc(cap + 1, sizeof(bool));
}

static void rec_free(struct rec *r)
{
	free(r->o[0]);
	free(r->o[1]);
	free(r->t);
	free(r->blk);
	free(r->ready);
}

/* one sub-block through player_read, recorded */
static void rec_read(struct rec *r, struct md_stream *s, int64_t frame, bool rolling, uint32_t n)
{
	assert_true(r->n + n <= r->cap);
	r->blk[r->nblk] = r->n;
	r->ready[r->nblk] = player_ready(s);
	r->nblk++;
	float *out[2] = {r->o[0] + r->n, r->o[1] + r->n};
	player_read(s, frame, rolling, out, n);
	for (uint32_t i = 0; i < n; i++)
		r->t[r->n + i] = rolling ? frame + i : frame;
	r->n += n;
}

/* what the stream should give at frame t: want (interleaved nch, wlen frames), 0 outside */
static float want_at(const float *want, int64_t wlen, int nch, int64_t t, int c)
{
	return t >= 0 && t < wlen ? want[t * nch + c] : 0.0f;
}

struct seg_check {
	double max_err;     /* largest |out - want| after the fade-in, and in the fades (tol > 0 only) */
	size_t live_at;     /* where the fade-in began */
	int64_t live_frame; /* at which transport frame */
};

static bool near(float a, float b, float tol)
{
	return tol == 0.0f ? a == b : fabsf(a - b) <= tol;
}

/* The samples [L, E) after a locate (or a stop and a start) at sample L, when the stream was playing frame
 * `old` there at full gain: the fade-out (old's data, gain (FADE - i) / FADE), silence, then from the start of
 * a sub-block no earlier than the fade-out's end and no later than the first sub-block called with
 * player_ready seen, the data at the transport's frame, fading in (gain i / FADE, or none at a frame <= 0),
 * then exactly (or within tol). With fade_out false the check starts with the silence. */
static bool check_segment(const struct rec *r, size_t L, size_t E, bool fade_out, int64_t old, const float *want,
			  int64_t wlen, int nch, float tol, struct seg_check *res)
{
	const float inv = 1.0f / (float)FADE;
	size_t quiet = L;
	double err = 0;
	if (fade_out) {
		for (size_t i = 0; i < FADE && L + i < E; i++)
			for (int c = 0; c < nch; c++) {
				float w = want_at(want, wlen, nch, old + (int64_t)i, c) * ((float)(FADE - i) * inv);
				if (!near(r->o[c][L + i], w, tol)) {
					printf("  fade-out: sample %zu (frame %lld + %zu): %.9g, expected %.9g\n",
					       L + i, (long long)old, i, r->o[c][L + i], w);
					return false;
				}
				err = fmax(err, fabs(r->o[c][L + i] - w));
			}
		quiet = L + FADE;
	}
	/* the candidates: block starts from the fade-out's end up to the first block with ready seen */
	size_t b = 0;
	while (b < r->nblk && r->blk[b] < quiet)
		b++;
	size_t last = b;
	while (last < r->nblk && r->blk[last] < E && !r->ready[last])
		last++;
	for (size_t k = b; k <= last && k < r->nblk && r->blk[k] < E; k++) {
		const size_t s0 = r->blk[k];
		bool ok = true;
		for (size_t i = quiet; i < s0 && ok; i++)
			for (int c = 0; c < nch; c++)
				ok = ok && r->o[c][i] == 0.0f;
		double e = err;
		for (size_t i = s0; i < E && ok; i++) {
			const size_t j = i - s0;
			const float g = r->t[s0] <= 0 || j >= FADE ? 1.0f : (float)j * inv;
			for (int c = 0; c < nch && ok; c++) {
				float w = want_at(want, wlen, nch, r->t[i], c);
				w = g == 1.0f ? w : w * g;
				ok = near(r->o[c][i], w, tol);
				e = fmax(e, fabs(r->o[c][i] - w));
			}
		}
		if (ok) {
			res->max_err = e;
			res->live_at = s0;
			res->live_frame = r->t[s0];
			return true;
		}
	}
	printf("  no fade-in start in blocks %zu..%zu fits (samples %zu..%zu)\n", b, last, quiet, E);
	return false;
}

/* the samples [L, E) after a stop at sample L while the stream played frame `old`: the fade-out, then silence */
static bool check_stopped(const struct rec *r, size_t L, size_t E, int64_t old, const float *want, int nch)
{
	const float inv = 1.0f / (float)FADE;
	for (size_t i = L; i < E; i++)
		for (int c = 0; c < nch; c++) {
			const size_t j = i - L;
			const float w = j < FADE ? want_at(want, FILE_FRAMES, nch, old + (int64_t)j, c) *
							   ((float)(FADE - j) * inv)
						 : 0.0f;
			if (r->o[c][i] != w) {
				printf("  stopped: sample %zu (+%zu): %.9g, expected %.9g\n", i, j, r->o[c][i], w);
				return false;
			}
		}
	return true;
}

/* ---- exactness ---- */

static void run_exact(const char *path, int nch, int64_t start, const uint32_t *sizes, size_t nsizes)
{
	struct md_player *p = player_new(RATE, 2.0);
	assert_non_null(p);
	char err[512];
	struct md_stream *s = player_open(p, path, nch, err, sizeof err);
	assert_non_null(s);
	float l[MD_BLOCK], r[MD_BLOCK];
	float *out[2] = {l, r};
	const int64_t end = FILE_FRAMES + RATE / 2; /* half a second past the end */
	struct pacer pc;
	pacer_start(&pc, 8.0);
	long bad = 0, zeros_before = 0, zeros_after = 0;
	size_t bi = 0;
	int64_t f = start;
	while (f < end) {
		uint32_t n = sizes[bi++ % nsizes];
		player_read(s, f, true, out, n);
		for (uint32_t i = 0; i < n; i++)
			for (int c = 0; c < nch; c++) {
				const float w = cval(f + i, c, 0);
				if (out[c][i] != w && bad++ == 0)
					printf("  first mismatch at frame %lld ch %d: %.9g, expected %.9g\n",
					       (long long)(f + i), c, out[c][i], w);
				zeros_before += f + i < 0 && out[c][i] == 0.0f;
				zeros_after += f + i >= FILE_FRAMES && out[c][i] == 0.0f;
			}
		f += n;
		pace(&pc, f - start, NULL, NULL);
	}
	struct md_player_stats st = stats(p);
	printf("  %s, from frame %lld in %s sub-blocks: %lld frames, %ld mismatches, %ld zero samples before 0, %ld "
	       "after the end; underruns %llu, refills %llu\n",
	       nch == 1 ? "mono" : "stereo", (long long)start, nsizes == 1 ? "64-frame" : "odd-sized",
	       (long long)(end - start), bad, zeros_before, zeros_after, (unsigned long long)st.underruns,
	       (unsigned long long)st.refills);
	assert_int_equal(bad, 0);
	assert_int_equal(zeros_before, (long)(start < 0 ? -start : 0) * nch);
	assert_int_equal(zeros_after, (long)(f - FILE_FRAMES) * nch);
	assert_int_equal(st.underruns, 0);
	assert_int_equal(st.refills, 0); /* from the top, or from before it: the ring opened with it */
	player_unref(s);
	assert_int_equal(stats(p).streams, 0);
	player_free(p);
}

static void test_exact(void **state)
{
	(void)state;
	static const uint32_t b64[] = {64};
	static const uint32_t odd[] = {1, 63, 17, 64, 5, 33, 47, 2, 61, 29, 64, 11};
	run_exact(path_mono, 1, 0, b64, 1);
	run_exact(path_mono, 1, -3001, odd, sizeof odd / sizeof odd[0]);
	run_exact(path_st[0], 2, 0, odd, sizeof odd / sizeof odd[0]);
	run_exact(path_st[0], 2, -4800, b64, 1);
}

/* ---- locates ---- */

static uint64_t rng = 88172645463325252ull;
static double rnd(void) /* 0..1 */
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / (double)(1ull << 53);
}

struct locate {
	size_t at;   /* the sample of the locating call */
	int64_t old; /* the frame the stream was at */
	int64_t to;
	int kind; /* 0 far forward, 1 back, 2 before 0, 3 forward inside the ring */
	double latency;
};

static const char *const kind_name[] = {"far forward", "back", "before 0", "inside the ring"};

static void test_locate(void **state)
{
	(void)state;
	enum { NLOC = 50 };
	struct md_player *p = player_new(RATE, 2.0);
	char err[512];
	struct md_stream *s = player_open(p, path_st[0], 2, err, sizeof err);
	assert_non_null(s);
	float *want = counter_array(0, 2);
	struct rec r;
	rec_init(&r, (size_t)RATE * 12);
	struct locate loc[NLOC];
	struct pacer pc;
	pacer_start(&pc, 1.0);
	int64_t f = 0, played = 0;
	int expected_refills = 0;
	for (int j = 0; j <= NLOC; j++) {
		/* play 0.1 .. 0.15 s */
		const int64_t seg = RATE / 10 + (int64_t)(rnd() * RATE / 20);
		double ready_at = -1;
		for (int64_t k = 0; k < seg; k += MD_BLOCK) {
			rec_read(&r, s, f, true, MD_BLOCK);
			f += MD_BLOCK;
			played += MD_BLOCK;
			pace(&pc, played, s, j > 0 && loc[j - 1].kind != 3 ? &ready_at : NULL);
		}
		if (j > 0)
			loc[j - 1].latency = ready_at < 0 ? -1 : ready_at - loc[j - 1].latency;
		if (j == NLOC)
			break;
		int kind = j % 4;
		if (kind == 0 && f > 5 * RATE)
			kind = 1;
		int64_t to;
		switch (kind) {
		case 0: to = f + 3 * RATE + (int64_t)(rnd() * 2 * RATE); break;
		case 1: to = (int64_t)(rnd() * (double)(f > RATE / 2 ? f - RATE / 2 : 0)); break;
		case 2: to = -(RATE / 20) - (int64_t)(rnd() * RATE / 4); break;
		default: to = f + RATE / 2; break;
		}
		loc[j] = (struct locate){.at = r.n, .old = f, .to = to, .kind = kind, .latency = tl_now()};
		expected_refills += kind != 3;
		f = to;
	}
	struct md_player_stats st = stats(p);
	int failed = 0;
	double worst = 0, sum = 0, max_err = 0;
	int nlat = 0;
	for (int j = 0; j < NLOC; j++) {
		const size_t E = j + 1 < NLOC ? loc[j + 1].at : r.n;
		struct seg_check res;
		if (!check_segment(&r, loc[j].at, E, true, loc[j].old, want, FILE_FRAMES, 2, 0.0f, &res)) {
			printf("  locate %d (%s, %lld -> %lld) failed the check\n", j, kind_name[loc[j].kind],
			       (long long)loc[j].old, (long long)loc[j].to);
			failed++;
			continue;
		}
		max_err = fmax(max_err, res.max_err);
		if (loc[j].kind != 3) {
			assert_true(loc[j].latency >= 0);
			worst = fmax(worst, loc[j].latency);
			sum += loc[j].latency;
			nlat++;
		} else {
			/* no refill: the fade-in starts at the first sub-block after the fade-out */
			assert_true(res.live_at < loc[j].at + FADE + MD_BLOCK);
		}
		if (j < 4)
			printf("  locate %d (%s) %lld -> %lld: fade-out, silence, fade-in at sample +%zu (frame %lld)\n",
			       j, kind_name[loc[j].kind], (long long)loc[j].old, (long long)loc[j].to,
			       res.live_at - loc[j].at, (long long)res.live_frame);
	}
	printf("  %d locates (%d with a refill): refill latency (locate to player_ready, seen from the audio loop) "
	       "worst %.2f ms, mean %.2f ms; the player's worst %.2f ms; refills %llu; underruns %llu\n",
	       NLOC, expected_refills, worst * 1e3, sum / nlat * 1e3, st.worst_refill_s * 1e3,
	       (unsigned long long)st.refills, (unsigned long long)st.underruns);
	assert_int_equal(failed, 0);
	assert_int_equal(st.refills, expected_refills);
	assert_int_equal(st.underruns, 0);
	assert_true(st.worst_refill_s < 0.1); /* the first chunk is 0.1 s: a slower refill would underrun */
	rec_free(&r);
	free(want);
	player_unref(s);
	player_free(p);
}

/* ---- stop and start ---- */

static void play_for(struct rec *r, struct md_stream *s, int64_t *f, bool rolling, int64_t frames, struct pacer *pc,
		     int64_t *played)
{
	for (int64_t k = 0; k < frames; k += MD_BLOCK) {
		rec_read(r, s, *f, rolling, MD_BLOCK);
		if (rolling)
			*f += MD_BLOCK;
		*played += MD_BLOCK;
		pace(pc, *played, NULL, NULL);
	}
}

static void test_stop_start(void **state)
{
	(void)state;
	struct md_player *p = player_new(RATE, 2.0);
	char err[512];
	struct md_stream *s = player_open(p, path_st[0], 2, err, sizeof err);
	assert_non_null(s);
	float *want = counter_array(0, 2);
	struct rec r;
	rec_init(&r, (size_t)RATE * 6);
	struct pacer pc;
	pacer_start(&pc, 4.0);
	int64_t f = 0, played = 0;
	struct seg_check res;

	/* play, stop for 0.1 s, roll on from where it stopped: fades, no refill */
	play_for(&r, s, &f, true, RATE / 2, &pc, &played);
	const int64_t stop1 = f;
	const size_t at1 = r.n;
	play_for(&r, s, &f, false, RATE / 10, &pc, &played);
	const size_t start1 = r.n;
	play_for(&r, s, &f, true, RATE / 4, &pc, &played);
	assert_true(check_stopped(&r, at1, start1, stop1, want, 2));
	assert_true(check_segment(&r, start1, r.n, false, 0, want, FILE_FRAMES, 2, 0.0f, &res));
	assert_true(res.live_at == start1 && res.live_frame == stop1);
	assert_int_equal(stats(p).refills, 0);
	printf("  stop at frame %lld: fade-out of %d frames, silence; rolling again there fades in at once, no "
	       "refill\n",
	       (long long)stop1, FADE);

	/* a stop of one sub-block: the fade-out runs to its end, then the fade-in at where the transport is */
	const int64_t stop2 = f;
	const size_t at2 = r.n;
	play_for(&r, s, &f, false, MD_BLOCK, &pc, &played);
	play_for(&r, s, &f, true, RATE / 4, &pc, &played);
	assert_true(check_segment(&r, at2, r.n, true, stop2, want, FILE_FRAMES, 2, 0.0f, &res));
	printf("  a stop of one sub-block at %lld: fade-out, fade-in at sample +%zu (frame %lld)\n", (long long)stop2,
	       res.live_at - at2, (long long)res.live_frame);
	assert_true(res.live_at == at2 + (FADE + MD_BLOCK - 1) / MD_BLOCK * MD_BLOCK);
	assert_int_equal(stats(p).refills, 0);

	/* stop, locate while stopped: the refill happens then, rolling there fades in at once */
	const int64_t stop3 = f;
	const size_t at3 = r.n;
	play_for(&r, s, &f, false, RATE / 20, &pc, &played);
	f = 6 * RATE + 123;
	double t0 = tl_now();
	rec_read(&r, s, f, false, MD_BLOCK);
	while (!player_ready(s)) {
		played += MD_BLOCK;
		pace(&pc, played, NULL, NULL);
		rec_read(&r, s, f, false, MD_BLOCK);
	}
	double lat = tl_now() - t0;
	play_for(&r, s, &f, false, RATE / 20, &pc, &played);
	const size_t start3 = r.n;
	play_for(&r, s, &f, true, RATE / 4, &pc, &played);
	assert_true(check_stopped(&r, at3, start3, stop3, want, 2));
	assert_true(check_segment(&r, start3, r.n, false, 0, want, FILE_FRAMES, 2, 0.0f, &res));
	assert_true(res.live_at == start3 && res.live_frame == 6 * RATE + 123);
	assert_int_equal(stats(p).refills, 1);
	assert_int_equal(stats(p).underruns, 0);
	printf("  stop, locate to %d while stopped: refilled in %.2f ms, rolling there fades in at once\n",
	       6 * RATE + 123, lat * 1e3);
	rec_free(&r);
	free(want);
	player_unref(s);
	player_free(p);
}

/* ---- the same sub-block twice ---- */

static void test_same_frame_twice(void **state)
{
	(void)state;
	struct md_player *p = player_new(RATE, 2.0);
	char err[512];
	struct md_stream *s = player_open(p, path_st[3], 2, err, sizeof err);
	assert_non_null(s);
	player_ref(s); /* two graphs hold it */
	float a[2][MD_BLOCK], b[2][MD_BLOCK];
	float *oa[2] = {a[0], a[1]}, *ob[2] = {b[0], b[1]};
	struct pacer pc;
	pacer_start(&pc, 8.0);
	long bad = 0, differ = 0, blocks = 0;
	int64_t f = 0;
	uint32_t n = 1;
	while (f < 3 * RATE) {
		n = n % MD_BLOCK + 7 > MD_BLOCK ? 3 : n % MD_BLOCK + 7;
		player_read(s, f, true, oa, n);
		player_read(s, f, true, ob, n);
		if (blocks % 5 == 0) /* and a third reader now and then */
			player_read(s, f, true, ob, n);
		blocks++;
		for (int c = 0; c < 2; c++) {
			differ += memcmp(a[c], b[c], n * sizeof(float)) != 0;
			for (uint32_t i = 0; i < n; i++)
				bad += a[c][i] != cval(f + i, c, 3);
		}
		f += n;
		pace(&pc, f, NULL, NULL);
	}
	printf("  %ld sub-blocks read twice or three times: %ld pairs differ, %ld samples off the file\n", blocks,
	       differ, bad);
	assert_int_equal(differ, 0);
	assert_int_equal(bad, 0);
	assert_int_equal(stats(p).underruns, 0);
	player_unref(s);
	assert_int_equal(stats(p).streams, 1);
	player_unref(s);
	assert_int_equal(stats(p).streams, 0);
	player_free(p);
}

/* ---- resampling ---- */

/* A file at file_rate into the 48 kHz player, against libsamplerate's own conversion of the whole file
 * (src_simple, the same converter): from the top, then after locates back and far forward while rolling,
 * and after locates while stopped (rolling from the seek point itself), each a refill; compared from the
 * start of each fade-in, within tol. exact: the converter's phase grid (output frames after which input and
 * output times coincide again) fits the player's search window, measured 0 difference; otherwise the
 * restart point's input time is off a whole frame by up to 1/8192 of one, and so is the output's timing. */
static void run_resample(int k, bool exact, float tol)
{
	const int file_rate = src_rates[k];
	float *in = src_data(file_rate);
	const double ratio = (double)RATE / file_rate;
	const long in_frames = (long)SRC_SECONDS * file_rate;
	const long ref_len = (long)ceil(in_frames * ratio) + 64;
	float *ref = calloc((size_t)ref_len * 2, sizeof *ref);
	SRC_DATA d = {.data_in = in,
		      .data_out = ref,
		      .input_frames = in_frames,
		      .output_frames = ref_len,
		      .src_ratio = ratio};
	assert_int_equal(src_simple(&d, SRC_SINC_BEST_QUALITY, 2), 0);
	const int64_t ref_frames = d.output_frames_gen;
	free(in);
	struct md_player *p = player_new(RATE, 2.0);
	char err[512];
	double t_open = tl_now();
	struct md_stream *s = player_open(p, path_src[k], 2, err, sizeof err);
	t_open = tl_now() - t_open;
	assert_non_null(s);
	struct rec r;
	rec_init(&r, (size_t)RATE * 14);
	struct pacer pc;
	pacer_start(&pc, 2.0);
	/* from the top for 4 s: the disk thread's CPU here is the conversion alone */
	int64_t f = 0, played = 0;
	play_for(&r, s, &f, true, 4 * RATE, &pc, &played);
	const double cpu_top = stats(p).disk_cpu_s;
	double err0 = 0;
	long differ0 = 0;
	for (size_t i = 0; i < r.n; i++)
		for (int c = 0; c < 2; c++) {
			float w = want_at(ref, ref_frames, 2, r.t[i], c);
			err0 = fmax(err0, fabs(r.o[c][i] - w));
			differ0 += r.o[c][i] != w;
		}
	printf("  %d Hz into 48 kHz (opened in %.0f ms), 4 s from the top: %ld of %zu samples differ from "
	       "src_simple's conversion, max |diff| %.3g; the conversion costs the disk thread %.1f ms of CPU per "
	       "second of audio\n",
	       file_rate, t_open * 1e3, differ0, r.n * 2, err0, cpu_top / 4 * 1e3);
	assert_true(err0 == 0.0);

	enum { NLOC = 12 };
	size_t at[NLOC];
	int64_t old[NLOC];
	for (int j = 0; j < NLOC; j++) {
		at[j] = r.n;
		old[j] = f;
		/* back, or forward past what the ring holds: each one a refill */
		if (j % 2 == 1 && f + 3 * RATE < 5 * RATE)
			f += 3 * RATE;
		else
			f = 1000 + (int64_t)(rnd() * (double)(f - 2000));
		if (j == 3)
			f = 37; /* inside the first preroll: the converter restarts from the top */
		/* the locate, then the transport waits for the refill, however long a loaded machine takes: this test
		 * is about the conversion after a refill (test_locate covers a transport that runs on meanwhile; here,
		 * at twice real time, a refill slowed by a busy machine ran past the first chunk and the segment
		 * never went live: a test that failed now and then) */
		rec_read(&r, s, f, true, MD_BLOCK);
		f += MD_BLOCK;
		for (int w = 0; w < 50000 && !player_ready(s); w++)
			sleep_s(200e-6);
		assert_true(player_ready(s));
		pacer_start(&pc, 2.0);
		played = 0;
		play_for(&r, s, &f, true, RATE / 8 - MD_BLOCK, &pc, &played);
	}
	double worst = 0;
	long differ = 0, total = 0;
	for (int j = 0; j < NLOC; j++) {
		const size_t E = j + 1 < NLOC ? at[j + 1] : r.n;
		struct seg_check res;
		assert_true(check_segment(&r, at[j], E, true, old[j], ref, ref_frames, 2, tol, &res));
		worst = fmax(worst, res.max_err);
		for (size_t i = res.live_at + FADE; i < E; i++)
			for (int c = 0; c < 2; c++) {
				differ += r.o[c][i] != want_at(ref, ref_frames, 2, r.t[i], c);
				total++;
			}
	}
	/* locates while stopped, then rolling from there: the fade-in starts at the seek point itself, the one
	 * place the converter's preroll is visible (rolling, the transport is a fade-out past it by then) */
	enum { NSTOP = 6 };
	double worst_seek = 0;
	for (int j = 0; j < NSTOP; j++) {
		play_for(&r, s, &f, false, RATE / 50, &pc, &played);
		int64_t to = j == 0 ? 100 : j == 1 ? 160 * 1000 + 7 : 2000 + (int64_t)(rnd() * 3.0 * RATE);
		if (to >= f && to < f + 5 * RATE / 2) /* not what the ring holds: a refill each time */
			to += 5 * RATE / 2;
		f = to;
		while (rec_read(&r, s, f, false, MD_BLOCK), !player_ready(s)) {
			played += MD_BLOCK;
			pace(&pc, played, NULL, NULL);
		}
		const size_t start = r.n;
		play_for(&r, s, &f, true, RATE / 10, &pc, &played);
		struct seg_check res;
		assert_true(check_segment(&r, start, r.n, false, 0, ref, ref_frames, 2, tol, &res));
		assert_true(res.live_at == start && res.live_frame == to);
		worst_seek = fmax(worst_seek, res.max_err);
	}
	struct md_player_stats st = stats(p);
	printf("  %d locates while stopped, rolling from the seek point: max |diff| %.3g there and after\n", NSTOP,
	       worst_seek);
	printf("  %d locates (%s): after the fade-in %ld of %ld samples differ from the conversion from the top, "
	       "max |diff| %.3g (tolerance %.3g); worst refill %.2f ms, refills %llu, underruns %llu\n",
	       NLOC, exact ? "on the converter's phase grid" : "phase grid too long: the nearest point in the window",
	       differ, total, worst, tol, st.worst_refill_s * 1e3, (unsigned long long)st.refills,
	       (unsigned long long)st.underruns);
	assert_true(worst <= tol);
	assert_true(worst_seek <= tol);
	if (!exact)
		assert_true(differ > 0); /* (the slip is there: this is not the exact path) */
	assert_int_equal(st.refills, NLOC + NSTOP);
	assert_int_equal(st.underruns, 0);
	rec_free(&r);
	free(ref);
	player_unref(s);
	player_free(p);
}

static void test_resample(void **state)
{
	(void)state;
	/* the seek point needs no more than float rounding (tolerance 1e-6, measured 0): a refill restarts the
	 * converter on its phase grid (output frames a multiple of 160 for 44.1 -> 48 kHz, where input and
	 * output times coincide) more than the filter's reach before the frame asked for, so the sums are over
	 * the same input with the same filter phase; only the converter's phase accumulator, summed in double
	 * from another start, could round a filter-table position differently (1e-7 at most). 44101 Hz has a
	 * grid of 48000 frames, longer than the search: a restart within 1/8192 of an input frame moves the
	 * output by that much time: 1/8192 of a frame times this material's slope (at most about 1 per frame),
	 * so 2e-4 leaves room; measured 3.5e-5 */
	run_resample(0, true, 1e-6f);
	run_resample(1, true, 1e-6f);
	run_resample(2, false, 2e-4f);
}

/* ---- errors ---- */

static void expect_error(struct md_player *p, const char *path, int nch, const char *const *needles)
{
	char err[512] = "";
	struct md_stream *s = player_open(p, path, nch, err, sizeof err);
	printf("  %s\n", err);
	assert_null(s);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "expected"));
	for (; *needles; needles++)
		assert_non_null(strstr(err, *needles));
}

static void test_errors(void **state)
{
	(void)state;
	struct md_player *p = player_new(RATE, 2.0);
	char missing[600];
	snprintf(missing, sizeof missing, "%s/no-such-file.wav", dir);
	expect_error(p, missing, 2, (const char *const[]){"No such file", "an audio file there", NULL});
	expect_error(p, path_text, 1, (const char *const[]){"not a sound file", NULL});
	expect_error(p, path_st[0], 1, (const char *const[]){"2 channels", "mono", "expected 1", NULL});
	expect_error(p, path_mono, 2, (const char *const[]){"1 channel ", "stereo", "expected 2", NULL});
	expect_error(p, dir, 2, (const char *const[]){"directory", NULL});
	expect_error(p, path_mono, 3, (const char *const[]){"3 channels", NULL});
	assert_int_equal(stats(p).streams, 0);
	player_free(p);
}

/* ---- no allocation, lock or file I/O on the audio path ---- */

#if WRAP /* under a sanitizer the wrappers are left out, and this test with them */
static void read_armed(struct md_stream *s, int64_t f, bool rolling, float *const out[2], uint32_t n)
{
	armed = 1;
	player_read(s, f, rolling, out, n);
	armed = 0;
}
#endif

static void test_audio_path_clean(void **state)
{
	(void)state;
#if !WRAP
	skip();
#else
	/* the wrappers work */
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&mu);
	pthread_mutex_unlock(&mu);
	int fd = open(path_mono, O_RDONLY);
	char c;
	armed = 1;
	void *volatile q = malloc(16);
	pthread_mutex_lock(&mu);
	ssize_t got = read(fd, &c, 1);
	armed = 0;
	pthread_mutex_unlock(&mu);
	free(q);
	close(fd);
	assert_int_equal(got, 1);
	assert_int_equal(atomic_exchange(&bad_calls, 0), 3);

	struct md_player *p = player_new(RATE, 2.0);
	char err[512];
	struct md_stream *s = player_open(p, path_st[1], 2, err, sizeof err);
	struct md_stream *r44 = player_open(p, path_src[0], 2, err, sizeof err);
	assert_non_null(s);
	assert_non_null(r44);
	float l[MD_BLOCK], r[MD_BLOCK];
	float *out[2] = {l, r};
	struct pacer pc;
	pacer_start(&pc, 4.0);
	int64_t played = 0, f = -1000;
	long calls = 0;
	/* before the top, rolling, a sub-block twice, locates back and forward, a stop, a locate while stopped,
	 * rolling again: every path of player_read */
	static const struct {
		int64_t to; /* -1: go on */
		bool rolling;
		int blocks;
	} plan[] = {{-1, true, 300},       {2 * RATE, true, 100}, {-1, false, 50},      {-1, true, 100},
		    {7 * RATE, true, 100}, {RATE, false, 100},    {-1, true, 100},      {-500, true, 100},
		    {-1, true, 200},       {5 * RATE, true, 2},   {9 * RATE, true, 100}};
	for (size_t k = 0; k < sizeof plan / sizeof plan[0]; k++) {
		if (plan[k].to != -1)
			f = plan[k].to;
		for (int b = 0; b < plan[k].blocks; b++) {
			read_armed(s, f, plan[k].rolling, out, MD_BLOCK);
			read_armed(r44, f, plan[k].rolling, out, MD_BLOCK);
			if (b % 7 == 0)
				read_armed(s, f, plan[k].rolling, out, MD_BLOCK);
			calls += 2 + (b % 7 == 0);
			if (plan[k].rolling)
				f += MD_BLOCK;
			played += MD_BLOCK;
			pace(&pc, played, NULL, NULL);
		}
	}
	struct md_player_stats st = stats(p);
	printf("  %ld armed player_read calls through locates and stops (%llu refills): %d allocations, locks or "
	       "file calls\n",
	       calls, (unsigned long long)st.refills, atomic_load(&bad_calls));
	assert_int_equal(atomic_load(&bad_calls), 0);
	assert_true(st.refills >= 6);
	player_unref(s);
	player_unref(r44);
	player_free(p);
#endif
}

/* ---- underruns ---- */

static void test_underruns_tiny_ring(void **state)
{
	(void)state;
	struct md_player *p = player_new(RATE, 0.01);
	char err[512];
	struct md_stream *s = player_open(p, path_st[2], 2, err, sizeof err);
	assert_non_null(s);
	float l[MD_BLOCK], r[MD_BLOCK];
	float *out[2] = {l, r};
	const float inv = 1.0f / (float)FADE;
	struct pacer pc;
	pacer_start(&pc, 20.0);
	long silent = 0, exact = 0, faded = 0, garbage = 0;
	for (int64_t f = 0; f < 3 * RATE; f += MD_BLOCK) {
		player_read(s, f, true, out, MD_BLOCK);
		for (int i = 0; i < MD_BLOCK; i++) {
			const float w0 = cval(f + i, 0, 2), w1 = cval(f + i, 1, 2);
			if (l[i] == 0.0f && r[i] == 0.0f) {
				silent++;
			} else if (l[i] == w0 && r[i] == w1) {
				exact++;
			} else {
				/* a fade-in: both sides the file times the same step j / FADE */
				long j = lrintf(l[i] / w0 * FADE);
				float g = (float)j * inv;
				if (j > 0 && j < FADE && l[i] == w0 * g && r[i] == w1 * g)
					faded++;
				else if (garbage++ == 0)
					printf("  garbage at frame %lld: %.9g %.9g, file %.9g %.9g\n",
					       (long long)(f + i), l[i], r[i], w0, w1);
			}
		}
		pace(&pc, f + MD_BLOCK, NULL, NULL);
	}
	struct md_player_stats st = stats(p);
	printf("  a 10 ms ring read at 20 times real time: %llu underruns, %llu refills; frames silent %ld, exact "
	       "%ld, fading in %ld, anything else %ld\n",
	       (unsigned long long)st.underruns, (unsigned long long)st.refills, silent, exact, faded, garbage);
	assert_true(st.underruns > 0);
	assert_true(silent > 0);
	assert_true(exact > 0);
	assert_int_equal(garbage, 0);
	player_unref(s);
	player_free(p);
}

/* n stereo streams over the counter files, played at real-time pace for `seconds`, every sample checked;
 * then (with locate) all of them locate at once, and play on */
static void run_streams(int n, double seconds, bool locate)
{
	struct md_player *p = player_new(RATE, 2.0);
	assert_non_null(p);
	struct md_stream **s = calloc((size_t)n, sizeof *s);
	char err[512];
	double t_open = tl_now();
	for (int i = 0; i < n; i++) {
		s[i] = player_open(p, path_st[i % NFILES], 2, err, sizeof err);
		assert_non_null(s[i]);
	}
	t_open = tl_now() - t_open;
	float l[MD_BLOCK], r[MD_BLOCK];
	float *out[2] = {l, r};
	const double cpu0 = stats(p).disk_cpu_s;
	struct pacer pc;
	pacer_start(&pc, 1.0);
	long bad = 0;
	int64_t f = 0;
	const int64_t frames = (int64_t)(seconds * RATE);
	for (; f < frames; f += MD_BLOCK) {
		for (int i = 0; i < n; i++) {
			player_read(s[i], f, true, out, MD_BLOCK);
			for (int j = 0; j < MD_BLOCK; j++)
				bad += (l[j] != cval(f + j, 0, i % NFILES)) + (r[j] != cval(f + j, 1, i % NFILES));
		}
		pace(&pc, f + MD_BLOCK, NULL, NULL);
	}
	struct md_player_stats st = stats(p);
	const double cpu = st.disk_cpu_s - cpu0;
	printf("  %d stereo streams (opened in %.0f ms), %.1f s at real-time pace: disk thread CPU %.3f s = %.2f %% "
	       "of one core; underruns %llu, samples off the file %ld\n",
	       n, t_open * 1e3, seconds, cpu, 100.0 * cpu / seconds, (unsigned long long)st.underruns, bad);
	if (n <= 16)
		assert_int_equal(st.underruns, 0);
	if (st.underruns == 0)
		assert_int_equal(bad, 0);
	if (locate) {
		/* every stream locates back to 1 s at the same sub-block */
		const int64_t to = RATE;
		double t0 = tl_now(), all_ready = -1;
		int64_t g = to;
		bool late = false;
		int64_t played = f;
		for (int k = 0; k < RATE; k += MD_BLOCK, g += MD_BLOCK) {
			for (int i = 0; i < n; i++) {
				player_read(s[i], g, true, out, MD_BLOCK);
				/* the last half second must be the file again, exactly */
				if (k >= RATE / 2)
					for (int j = 0; j < MD_BLOCK; j++)
						late |= l[j] != cval(g + j, 0, i % NFILES) ||
							r[j] != cval(g + j, 1, i % NFILES);
			}
			if (all_ready < 0) {
				bool all = true;
				for (int i = 0; i < n && all; i++)
					all = player_ready(s[i]);
				if (all)
					all_ready = tl_now() - t0;
			}
			played += MD_BLOCK;
			pace(&pc, played, NULL, NULL);
		}
		st = stats(p);
		printf("  all %d locate at once: all ready after %.2f ms (seen per sub-block), the player's worst refill "
		       "%.2f ms; %llu refills, underruns %llu\n",
		       n, all_ready * 1e3, st.worst_refill_s * 1e3, (unsigned long long)st.refills,
		       (unsigned long long)st.underruns);
		assert_true(all_ready >= 0);
		assert_int_equal(st.refills, n);
		assert_false(late);
	}
	for (int i = 0; i < n; i++)
		player_unref(s[i]);
	free(s);
	player_free(p);
}

static void test_16_streams_realtime(void **state)
{
	(void)state;
	run_streams(16, 10.0, false);
}

static void test_64_streams_figures(void **state)
{
	(void)state;
	run_streams(64, 5.0, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_locate),
		cmocka_unit_test(test_stop_start),
		cmocka_unit_test(test_same_frame_twice),
		cmocka_unit_test(test_resample),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_audio_path_clean),
		cmocka_unit_test(test_underruns_tiny_ring),
		cmocka_unit_test(test_16_streams_realtime),
		cmocka_unit_test(test_64_streams_figures),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
