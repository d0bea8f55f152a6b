/* mixdesk benchmark: 64 stereo sources streamed from disk at 48 kHz (issue 14, "the session's sources play
 * live"): the disk thread's CPU share, the refill latency after a locate, the rings' memory, the audio thread's
 * cost, and whether any stream underruns at 64-frame periods.
 *
 * The material: 64 stereo 48 kHz 24-bit PCM WAV files of 60 s each (libsndfile), each two sines at frequencies
 * of its own (so every frame of every file is known without reading it back), in a temporary folder that is
 * removed at the end. Generating them, writing them out (fdatasync) and dropping them from the page cache
 * (posix_fadvise DONTNEED on these files only, so the reads come from the disk as far as the VM's disk lets
 * them) are outside every timing; the share of the files still cached is printed (mincore).
 *
 * Part A, the player alone (engine/player.c): player_new(48000, 2.0), as tools/mixdesk.c makes it, and 64
 * streams; this thread plays the audio thread (SCHED_FIFO where the system allows it; the disk thread is made
 * before that and runs normally, as in mixdesk), reading 64-frame sub-blocks of all 64 streams once per period
 * (1.333 ms), paced by the clock (absolute sleeps), for 20 s. Every 1.5-2.5 s all 64 locate together (as the
 * transport does) to a new position: far and near forward, far and near back, forward within the ring (no
 * refill needed), anywhere. Measured: the disk thread's CPU time (player_stats' disk_cpu_s) over the wall time,
 * as a % of one core; the refill latency of each stream after each locate, from the period of the locate to
 * player_ready turning true (polled every 50 us between periods), and the time until all 64 are ready; the
 * player's own worst refill (request to data ready, measured by the disk thread); the underruns (0 meets the
 * target); the rings' memory, computed (the power of two >= ahead_s * rate frames, x 2 channels x 4 bytes) and
 * measured (resident memory, /proc/self/statm, before and after opening the streams); and the time the 64
 * player_read calls take per period (mean, 99th percentile, worst, as a % of the period). One stream per
 * period (in turn) is compared with the file's known samples wherever it plays steadily (20 ms after it is
 * ready again): a sample off the file with no underrun means the player is broken (exit 1).
 *
 * Part B, live: a private `jackd -d dummy -r 48000 -p 64` under its own name (benchsrcPID; -R when root or
 * allowed realtime, else --no-realtime), build/mixdesk on a session of 64 stereo strips, each playing one of
 * the files ("input": "source"), for 20 s with a /transport/locate over OSC (127.0.0.1) every 2.5 s, /status
 * read every second (DSP load) and at the end (xruns, underruns, longest refill). First a baseline: the same
 * server, session and locates without --play (the transport stays stopped: the streams refill at each locate
 * but do not roll), then with --play. The live target is met when the --play run has no underrun; both xrun
 * counts are printed, so that xruns of the VM are told from mixdesk's. Only the PIDs this program started are
 * ever stopped.
 *
 * It prints its tables and a line per target (met / NOT met) and exits 0 unless something measured is broken
 * (a stream off its file, mixdesk or jackd not starting, the transport not rolling with --play). */
#include "engine/player.h"
#include "engine/model/md.h"
#include "tests/osclient.h"
#include "tests/testlib.h"

#include <jack/jack.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RATE 48000
#define NSTREAMS 64
#define FILE_S 60
#define FILE_FRAMES ((int64_t)FILE_S * RATE)
#define AHEAD_S 2.0 /* tools/mixdesk.c's PLAYER_AHEAD_S */
#define PERIOD 64
#define RUN_A_S 20.0
#define RUN_B_S 20.0
#define LOCATE_B_S 2.5
#define MAX_LOCATES 64
#define POLL_S 50e-6
#define STEADY_FRAMES (RATE / 50) /* 20 ms after a stream is ready again its output is the file's */
#define AMP1 0.25
#define AMP2 0.1

static char dir[64];
static char paths[NSTREAMS][128];
static char extra_paths[3][128]; /* the session, mixdesk's log, jackd's log */
#define SESSION_PATH extra_paths[0]
#define MIXDESK_LOG extra_paths[1]
#define JACKD_LOG extra_paths[2]

/* ---- the material ---- */

static double freq1(int k)
{
	return 97.0 + 41.3 * k;
}

static double freq2(int k)
{
	return 1013.0 + 97.1 * k;
}

/* file k's sample at frame i, channel c (the right channel's first sine is 1 radian on) */
static double sample(int k, int64_t i, int c)
{
	const double t = (double)i / RATE;
	return AMP1 * sin(2 * M_PI * freq1(k) * t + c) + AMP2 * sin(2 * M_PI * freq2(k) * t);
}

/* file k: two phasors turned per frame, reset from sin/cos every block so they never drift; 0 on success */
static int write_file(int k, const char *path)
{
	SF_INFO info = {.samplerate = RATE, .channels = 2, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_24};
	SNDFILE *f = sf_open(path, SFM_WRITE, &info);
	if (!f)
		return -1;
	enum { BLK = 8192 };
	static float buf[2 * BLK];
	const double w1 = 2 * M_PI * freq1(k) / RATE, w2 = 2 * M_PI * freq2(k) / RATE;
	const double c1 = cos(w1), s1 = sin(w1), c2 = cos(w2), s2 = sin(w2), cr = cos(1.0), sr = sin(1.0);
	for (int64_t at = 0; at < FILE_FRAMES; at += BLK) {
		double re1 = cos(w1 * (double)at), im1 = sin(w1 * (double)at);
		double re2 = cos(w2 * (double)at), im2 = sin(w2 * (double)at);
		const int64_t n = FILE_FRAMES - at < BLK ? FILE_FRAMES - at : BLK;
		for (int64_t i = 0; i < n; i++) {
			const double b = AMP2 * im2;
			buf[2 * i] = (float)(AMP1 * im1 + b);
			buf[2 * i + 1] = (float)(AMP1 * (im1 * cr + re1 * sr) + b); /* sin(x + 1) */
			double t = re1 * c1 - im1 * s1;
			im1 = re1 * s1 + im1 * c1;
			re1 = t;
			t = re2 * c2 - im2 * s2;
			im2 = re2 * s2 + im2 * c2;
			re2 = t;
		}
		if (sf_writef_float(f, buf, n) != n) {
			sf_close(f);
			return -1;
		}
	}
	return sf_close(f);
}

/* written out and dropped from the page cache (our files only) */
static void evict(void)
{
	for (int k = 0; k < NSTREAMS; k++) {
		int fd = open(paths[k], O_RDONLY);
		if (fd < 0)
			continue;
		fdatasync(fd);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
}

/* the share of the files' pages in the page cache (mincore), 0..1; < 0 when it cannot be told */
static double cached(void)
{
	const long pg = sysconf(_SC_PAGESIZE);
	double in = 0, all = 0;
	for (int k = 0; k < NSTREAMS; k++) {
		int fd = open(paths[k], O_RDONLY);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		close(fd);
		if (m == MAP_FAILED)
			return -1;
		size_t pages = ((size_t)st.st_size + (size_t)pg - 1) / (size_t)pg;
		unsigned char *v = malloc(pages);
		if (v && mincore(m, (size_t)st.st_size, v) == 0)
			for (size_t i = 0; i < pages; i++)
				in += v[i] & 1;
		all += (double)pages;
		free(v);
		munmap(m, (size_t)st.st_size);
	}
	return all > 0 ? in / all : -1;
}

static void remove_material(void)
{
	for (int k = 0; k < NSTREAMS; k++)
		if (paths[k][0])
			unlink(paths[k]);
	for (int k = 0; k < 3; k++)
		if (extra_paths[k][0])
			unlink(extra_paths[k]);
	if (dir[0])
		rmdir(dir);
}

/* ---- small things ---- */

static uint64_t rng = 0x2545f4914f6cdd1dull;
static double rnd(void) /* [0, 1) */
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / (double)(1ull << 53);
}

static void sleep_until(double t)
{
	struct timespec ts = {(time_t)t, (long)((t - floor(t)) * 1e9)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static long resident_bytes(void)
{
	long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &res) != 2)
		res = -1;
	fclose(f);
	return res < 0 ? -1 : res * sysconf(_SC_PAGESIZE);
}

static int cmp_double(const void *a, const void *b)
{
	const double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* the q-quantile (0..1) of n sorted values */
static double quant(const double *v, size_t n, double q)
{
	if (n == 0)
		return NAN;
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static struct md_player_stats stats(struct md_player *p)
{
	struct md_player_stats st;
	player_stats(p, &st);
	return st;
}

/* ---- where the locates go ---- */

enum kind { FAR_FWD, NEAR_BACK, FAR_BACK, NEAR_FWD, IN_RING, ANYWHERE, KINDS };
static const char *const kind_names[KINDS] = {"far forward",  "near back",       "far back",
					      "near forward", "within the ring", "anywhere"};

/* a new transport frame from f: kinds in turn, kept in [0, 55 s] so 2.5 s of rolling stays in the file */
static int64_t locate_to(enum kind k, int64_t f)
{
	double s = (double)f / RATE, to = 0;
	switch (k) {
	case FAR_FWD: to = s + 8 + 8 * rnd(); break;
	case NEAR_BACK: to = s - 0.5 - 1.5 * rnd(); break;
	case FAR_BACK: to = 3 * rnd(); break;
	case NEAR_FWD: to = s + 2.6 + 1.4 * rnd(); break; /* past what a full ring holds (2 s ahead) */
	case IN_RING: to = s + 0.2 + 0.6 * rnd(); break;
	default: to = 55 * rnd(); break;
	}
	if (to > 55)
		to = 55 - 10 * rnd();
	if (to < 0)
		to = 2 * rnd();
	return (int64_t)(to * RATE);
}

/* ---- part A: the player alone ---- */

struct locate_rec {
	enum kind kind;
	int64_t from, to;
	uint64_t refills;     /* refills it caused (counted until the next locate) */
	uint64_t underruns;   /* underruns until the next locate */
	double all_ready;     /* s from the locate's period until all 64 were ready; < 0: not within 1 s */
	int nlat;             /* streams seen ready */
	double lat[NSTREAMS]; /* s from the locate's period until each was seen ready */
};

struct part_a {
	bool fifo;
	double cached_before, open_s, rss_growth, ring_bytes, wall, cpu;
	double read_mean, read_p99, read_worst; /* s per period, the 64 streams' player_read */
	size_t periods, late;                   /* periods; periods this thread woke more than a period late */
	int nloc;
	struct locate_rec loc[MAX_LOCATES];
	size_t nlat; /* stream refills measured */
	double lat_median, lat_p90, lat_worst, all_median, all_worst, player_worst;
	uint64_t underruns, refills, checked, off;
};

static int run_part_a(struct part_a *a)
{
	memset(a, 0, sizeof *a);
	struct md_player *p = player_new(RATE, AHEAD_S);
	if (!p) {
		fprintf(stderr, "bench_sources: player_new failed\n");
		return -1;
	}
	/* the audio thread is realtime in mixdesk (JACK's process thread); the disk thread, made above, is not */
	struct sched_param sp = {.sched_priority = 10};
	a->fifo = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0;
	a->cached_before = cached();
	static struct md_stream *s[NSTREAMS];
	char err[512];
	const long rss0 = resident_bytes();
	double t = md_now_s();
	for (int i = 0; i < NSTREAMS; i++) {
		s[i] = player_open(p, paths[i], 2, err, sizeof err);
		if (!s[i]) {
			fprintf(stderr, "bench_sources: %s\n", err);
			return -1;
		}
	}
	a->open_s = md_now_s() - t;
	const long rss1 = resident_bytes();
	a->rss_growth = rss0 >= 0 && rss1 >= 0 ? (double)(rss1 - rss0) : -1;
	uint32_t size = 1;
	while (size < (uint32_t)ceil(AHEAD_S * RATE))
		size <<= 1;
	a->ring_bytes = (double)size * 2 * sizeof(float);

	static float scratch[2][PERIOD], mine[2][PERIOD];
	float *const out_any[2] = {scratch[0], scratch[1]}, *const out_mine[2] = {mine[0], mine[1]};
	const size_t periods = (size_t)(RUN_A_S * RATE / PERIOD);
	double *cost = malloc(periods * sizeof *cost);
	if (!cost)
		return -1;
	bool seen[NSTREAMS];      /* seen ready since the last locate */
	int64_t steady[NSTREAMS]; /* from this frame on its output is the file's */
	for (int i = 0; i < NSTREAMS; i++) {
		seen[i] = true;
		steady[i] = 0;
	}
	struct locate_rec *cur = NULL; /* the last locate, while some of its streams are not ready */
	double t_loc = 0;
	uint64_t refills_at = 0, underruns_at = 0;
	int64_t f = 0, next_loc = (int64_t)((1.5 + rnd()) * RATE);
	const double cpu0 = stats(p).disk_cpu_s, t0 = md_now_s();
	for (size_t k = 0; k < periods; k++) {
		const double due = t0 + (double)k * PERIOD / RATE;
		/* between periods: wait, watching the streams that are refilling */
		for (;;) {
			const double tn = md_now_s();
			if (cur) {
				for (int i = 0; i < NSTREAMS; i++)
					if (!seen[i] && player_ready(s[i])) {
						seen[i] = true;
						steady[i] = f + STEADY_FRAMES;
						cur->lat[cur->nlat++] = tn - t_loc;
					}
				if (cur->nlat == NSTREAMS)
					cur->all_ready = tn - t_loc;
				if (cur->nlat == NSTREAMS || tn - t_loc > 1.0)
					cur = NULL;
			}
			if (tn >= due)
				break;
			sleep_until(cur && due - tn > POLL_S ? tn + POLL_S : due);
		}
		if (md_now_s() - due > (double)PERIOD / RATE)
			a->late++;
		if (f >= next_loc && a->nloc < MAX_LOCATES) {
			/* all 64 locate together, at this period */
			const struct md_player_stats st = stats(p);
			if (a->nloc > 0) {
				a->loc[a->nloc - 1].refills = st.refills - refills_at;
				a->loc[a->nloc - 1].underruns = st.underruns - underruns_at;
			}
			refills_at = st.refills;
			underruns_at = st.underruns;
			cur = &a->loc[a->nloc];
			cur->kind = (enum kind)(a->nloc % KINDS);
			cur->from = f;
			cur->to = locate_to(cur->kind, f);
			cur->all_ready = -1;
			a->nloc++;
			f = cur->to;
			next_loc = f + (int64_t)((1.5 + rnd()) * RATE);
			for (int i = 0; i < NSTREAMS; i++) {
				seen[i] = false;
				steady[i] = INT64_MAX;
			}
			t_loc = md_now_s();
		}
		const double r0 = md_now_s();
		const int me = (int)(k % NSTREAMS);
		for (int i = 0; i < NSTREAMS; i++)
			player_read(s[i], f, true, i == me ? out_mine : out_any, PERIOD);
		cost[k] = md_now_s() - r0;
		/* the stream in turn, against its file where it plays steadily */
		if (f >= steady[me] && f + PERIOD <= FILE_FRAMES)
			for (int j = 0; j < PERIOD; j++)
				for (int c = 0; c < 2; c++) {
					a->checked++;
					a->off += fabs((double)mine[c][j] - sample(me, f + j, c)) > 1e-6;
				}
		f += PERIOD;
	}
	a->wall = md_now_s() - t0;
	const struct md_player_stats st = stats(p);
	a->cpu = st.disk_cpu_s - cpu0;
	if (a->nloc > 0) {
		a->loc[a->nloc - 1].refills = st.refills - refills_at;
		a->loc[a->nloc - 1].underruns = st.underruns - underruns_at;
	}
	a->underruns = st.underruns;
	a->refills = st.refills;
	a->player_worst = st.worst_refill_s;
	a->periods = periods;

	struct sched_param sp0 = {.sched_priority = 0};
	pthread_setschedparam(pthread_self(), SCHED_OTHER, &sp0); /* what this program starts must not inherit it */
	for (int i = 0; i < NSTREAMS; i++)
		player_unref(s[i]);
	player_free(p);

	double sum = 0;
	for (size_t k = 0; k < periods; k++)
		sum += cost[k];
	a->read_mean = sum / (double)periods;
	qsort(cost, periods, sizeof *cost, cmp_double);
	a->read_p99 = quant(cost, periods, 0.99);
	a->read_worst = cost[periods - 1];
	free(cost);
	/* the refill latencies: of the locates that refilled (one within the ring needs none) */
	static double lat[MAX_LOCATES * NSTREAMS];
	double all[MAX_LOCATES];
	size_t n = 0, nall = 0;
	for (int i = 0; i < a->nloc; i++) {
		const struct locate_rec *l = &a->loc[i];
		if (l->refills == 0)
			continue;
		for (int j = 0; j < l->nlat; j++)
			lat[n++] = l->lat[j];
		if (l->all_ready >= 0)
			all[nall++] = l->all_ready;
	}
	a->nlat = n;
	qsort(lat, n, sizeof *lat, cmp_double);
	qsort(all, nall, sizeof *all, cmp_double);
	a->lat_median = quant(lat, n, 0.5);
	a->lat_p90 = quant(lat, n, 0.9);
	a->lat_worst = n ? lat[n - 1] : NAN;
	a->all_median = quant(all, nall, 0.5);
	a->all_worst = nall ? all[nall - 1] : NAN;
	return 0;
}

static void print_part_a(const struct part_a *a)
{
	printf("\npart A: the player alone, %d stereo streams, ahead %.1f s, %d-frame sub-blocks paced at %d Hz for "
	       "%.1f s; the reading thread %s, the disk thread normal\n",
	       NSTREAMS, AHEAD_S, PERIOD, RATE, a->wall, a->fifo ? "SCHED_FIFO 10" : "normal (SCHED_FIFO refused)");
	printf("  files in the page cache before opening: %.1f %%\n", a->cached_before * 100);
	printf("  opening the %d streams (each reads its first %.1f s): %.0f ms\n", NSTREAMS, AHEAD_S, a->open_s * 1e3);
	printf("  %-6s %-16s %9s %9s %8s %15s %9s\n", "locate", "kind", "from s", "to s", "refills", "all ready ms",
	       "underruns");
	for (int i = 0; i < a->nloc; i++) {
		const struct locate_rec *l = &a->loc[i];
		char ready[32];
		if (l->refills == 0)
			snprintf(ready, sizeof ready, "no refill");
		else if (l->all_ready < 0)
			snprintf(ready, sizeof ready, "> 1000 (%d)", l->nlat);
		else
			snprintf(ready, sizeof ready, "%.2f", l->all_ready * 1e3);
		printf("  %-6d %-16s %9.3f %9.3f %8llu %15s %9llu\n", i + 1, kind_names[l->kind],
		       (double)l->from / RATE, (double)l->to / RATE, (unsigned long long)l->refills, ready,
		       (unsigned long long)l->underruns);
	}
	const double per = (double)PERIOD / RATE;
	printf("  %-52s %s\n", "figure", "value");
	printf("  %-52s %.3f s over %.1f s = %.2f %% of one core\n", "disk thread CPU", a->cpu, a->wall,
	       100 * a->cpu / a->wall);
	printf("  %-52s median %.2f, 90 %% %.2f, worst %.2f ms (%zu refills)\n",
	       "refill latency per stream (locate -> ready, seen)", a->lat_median * 1e3, a->lat_p90 * 1e3,
	       a->lat_worst * 1e3, a->nlat);
	printf("  %-52s median %.2f, worst %.2f ms\n", "all 64 streams ready after a locate", a->all_median * 1e3,
	       a->all_worst * 1e3);
	printf("  %-52s %.2f ms\n", "the player's worst refill (request -> data ready)", a->player_worst * 1e3);
	printf("  %-52s %llu\n", "underruns", (unsigned long long)a->underruns);
	printf("  %-52s %.0f B per stream, %.0f B for %d (%.1f MiB)\n", "ring memory, computed (2^17 frames x 2 x 4 B)",
	       a->ring_bytes, a->ring_bytes * NSTREAMS, NSTREAMS, a->ring_bytes * NSTREAMS / 1048576.0);
	printf("  %-52s %.0f B, %.0f B per stream\n", "resident memory grown by opening the streams", a->rss_growth,
	       a->rss_growth / NSTREAMS);
	printf("  %-52s mean %.1f, 99 %% %.1f, worst %.1f us = %.2f / %.2f / %.2f %% of the %.3f ms period\n",
	       "player_read of 64 streams per period", a->read_mean * 1e6, a->read_p99 * 1e6, a->read_worst * 1e6,
	       100 * a->read_mean / per, 100 * a->read_p99 / per, 100 * a->read_worst / per, per * 1e3);
	printf("  %-52s %zu of %zu\n", "periods this thread woke more than a period late", a->late, a->periods);
	printf("  %-52s %llu, %llu off the file\n", "samples checked against the file", (unsigned long long)a->checked,
	       (unsigned long long)a->off);
}

/* ---- part B: live, on a private JACK server ---- */

static pid_t jackd_pid;
static char server[64];
static bool jackd_rt;

static void silent(const char *msg)
{
	(void)msg;
}

/* a dummy server of our own at 64-frame periods; 0 when it answers */
static int start_jackd(void)
{
	snprintf(server, sizeof server, "benchsrc%ld", (long)getpid());
	jack_set_error_function(silent);
	jack_set_info_function(silent);
	for (int attempt = 0; attempt < 2; attempt++) {
		jackd_rt = attempt == 0 && tl_realtime_allowed();
		const char *argv[] = {"jackd", jackd_rt ? "-R" : "--no-realtime",
				      "-n",    server,
				      "-d",    "dummy",
				      "-r",    "48000",
				      "-p",    "64",
				      NULL};
		jackd_pid = tl_spawn(argv, JACKD_LOG);
		for (double end = md_now_s() + 15.0; jackd_pid > 0 && md_now_s() < end; tl_sleep(0.05)) {
			if (tl_wait_exit(jackd_pid, 0.0, NULL) == 0) {
				jackd_pid = 0;
				break;
			}
			jack_status_t st;
			jack_client_t *c = jack_client_open("benchprobe", JackNoStartServer | JackServerName, &st,
							    server);
			if (c) {
				jack_client_close(c);
				return 0;
			}
		}
		if (jackd_pid > 0)
			tl_stop(jackd_pid);
		jackd_pid = 0;
		if (!jackd_rt)
			break;
	}
	return -1;
}

struct part_b {
	bool play;
	char why[200]; /* empty: measured */
	int xruns, underruns, period, realtime, nloc, nstatus;
	double worst_refill_ms, dsp_mean, dsp_max, pos;
	bool rolling;
	char jack[128];
};

static void write_session(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	fprintf(f, "{\"format\":\"mixdesk-session\",\"version\":1,\"sample_rate\":48000,\"strips\":[\n");
	for (int k = 0; k < NSTREAMS; k++)
		fprintf(f,
			"{\"name\":\"Src %d\",\"stereo\":true,\"source\":\"%s\","
			"\"input\":\"source\",\"fader\":-24.0}%s\n",
			k + 1, paths[k], k + 1 < NSTREAMS ? "," : "");
	fprintf(f, "]}\n");
	fclose(f);
}

static struct rmsg *query(struct oc *o, const char *path)
{
	oc_send0(o, path);
	return oc_wait(o, path, 2.0);
}

static void run_part_b(bool play, struct part_b *b)
{
	memset(b, 0, sizeof *b);
	b->play = play;
	unlink(MIXDESK_LOG);
	evict();
	const char *extra[] = {play ? "--play" : SESSION_PATH, play ? SESSION_PATH : NULL, NULL};
	pid_t md = tl_mixdesk_start(server, "benchsrc", extra, MIXDESK_LOG);
	if (md <= 0) {
		snprintf(b->why, sizeof b->why, "mixdesk did not start on the session (its log is printed above)");
		char *text = tl_read_file(MIXDESK_LOG);
		fprintf(stderr, "bench_sources: mixdesk's log:\n%s\n", text ? text : "(none)");
		free(text);
		return;
	}
	/* every strip must stream its file */
	char *text = tl_read_file(MIXDESK_LOG), want[64];
	snprintf(want, sizeof want, "mixdesk: %d strips play their source from disk", NSTREAMS);
	const bool streams = text && strstr(text, want) && !strstr(text, "plays silence");
	if (!streams)
		fprintf(stderr, "bench_sources: mixdesk's log:\n%s\n", text ? text : "(none)");
	free(text);
	if (!streams) {
		snprintf(b->why, sizeof b->why, "mixdesk does not stream all %d sources (its log is printed above)",
			 NSTREAMS);
		tl_stop(md);
		return;
	}
	const int port = tl_mixdesk_osc_port(MIXDESK_LOG, 10.0);
	struct oc *o = port > 0 ? oc_open("127.0.0.1", port) : NULL;
	if (!o) {
		snprintf(b->why, sizeof b->why, "no OSC port in mixdesk's log");
		tl_stop(md);
		return;
	}
	if (!play)
		oc_send0(o, "/transport/stop");
	const double t0 = md_now_s();
	double next_status = t0 + 1.0, next_loc = t0 + LOCATE_B_S, t_last = t0, dsp_sum = 0;
	int64_t last_to = 0;
	while (md_now_s() < t0 + RUN_B_S) {
		const double tn = md_now_s();
		if (tn >= next_loc) {
			int64_t f = last_to + (play ? (int64_t)((tn - t_last) * RATE) : 0);
			last_to = locate_to((enum kind)(b->nloc % KINDS), f);
			t_last = tn;
			lo_message m = lo_message_new();
			lo_message_add_float(m, (float)((double)last_to / RATE));
			oc_sendm(o, "/transport/locate", m);
			b->nloc++;
			next_loc += LOCATE_B_S;
		}
		if (tn >= next_status) {
			struct rmsg *r = query(o, "/status");
			if (r && r->argc == 16) {
				dsp_sum += r->num[12];
				b->dsp_max = fmax(b->dsp_max, r->num[12]);
				b->nstatus++;
			}
			next_status += 1.0;
		}
		oc_wait(o, NULL, 0.02);
	}
	struct rmsg *r = query(o, "/status");
	if (r && r->argc == 16 && strcmp(r->types, "siiiiiiiisiifiif") == 0) {
		b->xruns = (int)r->num[1];
		snprintf(b->jack, sizeof b->jack, "%s", r->str[1]);
		b->period = (int)r->num[10];
		b->realtime = (int)r->num[11];
		b->underruns = (int)r->num[14];
		b->worst_refill_ms = r->num[15];
	} else {
		snprintf(b->why, sizeof b->why, "no /status answer of 16 arguments");
	}
	b->dsp_mean = b->nstatus ? dsp_sum / b->nstatus : NAN;
	r = query(o, "/transport/position");
	if (r && r->argc == 2) {
		b->pos = r->num[0];
		b->rolling = r->num[1] != 0;
	}
	oc_close(o);
	tl_stop(md);
}

/* ---- the program ---- */

static void on_signal(int sig)
{
	if (jackd_pid > 0)
		kill(jackd_pid, SIGTERM);
	remove_material(); /* unlink and rmdir only */
	_exit(128 + sig);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (!getenv("MIXDESK_BIN")) { /* build/bench/bench_sources -> build/mixdesk */
		static char bin[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", bin, sizeof bin - 16);
		if (n > 0) {
			bin[n] = '\0';
			for (int up = 0; up < 2; up++) {
				char *slash = strrchr(bin, '/');
				if (slash)
					*slash = '\0';
			}
			strcat(bin, "/mixdesk");
			setenv("MIXDESK_BIN", bin, 1);
		}
	}
	double load[3] = {0, 0, 0};
	getloadavg(load, 3);
	printf("bench_sources: %d stereo sources, %d s each, 24-bit WAV at %d Hz, %d-frame periods, %ld cores, load "
	       "average %.2f\n",
	       NSTREAMS, FILE_S, RATE, PERIOD, sysconf(_SC_NPROCESSORS_ONLN), load[0]);

	snprintf(dir, sizeof dir, "/tmp/mdbench-sources-XXXXXX");
	if (!mkdtemp(dir)) {
		fprintf(stderr, "bench_sources: no temporary folder: %s\n", strerror(errno));
		return 1;
	}
	snprintf(SESSION_PATH, sizeof SESSION_PATH, "%s/session.json", dir);
	snprintf(MIXDESK_LOG, sizeof MIXDESK_LOG, "%s/mixdesk.log", dir);
	snprintf(JACKD_LOG, sizeof JACKD_LOG, "%s/jackd.log", dir);
	double t = md_now_s();
	double bytes = 0;
	for (int k = 0; k < NSTREAMS; k++) {
		snprintf(paths[k], sizeof paths[k], "%s/src%02d.wav", dir, k + 1);
		struct stat st;
		if (write_file(k, paths[k]) != 0 || stat(paths[k], &st) != 0) {
			fprintf(stderr, "bench_sources: cannot write %s\n", paths[k]);
			remove_material();
			return 1;
		}
		bytes += (double)st.st_size;
	}
	const double t_gen = md_now_s() - t;
	t = md_now_s();
	evict();
	printf("material: %d files, %.0f bytes (%.2f GB) in %s, generated in %.1f s, written out and dropped from "
	       "the page cache in %.1f s (not timed)\n",
	       NSTREAMS, bytes, bytes / 1e9, dir, t_gen, md_now_s() - t);

	int status = 0;
	struct part_a a;
	if (run_part_a(&a) != 0) {
		remove_material();
		return 1;
	}
	print_part_a(&a);
	if (a.underruns == 0 && a.off > 0) {
		fprintf(stderr, "bench_sources: %llu samples off the file with no underrun: the player is broken\n",
			(unsigned long long)a.off);
		status = 1;
	}

	/* part B: a baseline without --play, then with it, on one server */
	struct part_b b[2];
	memset(b, 0, sizeof b);
	write_session(SESSION_PATH);
	const bool server_up = start_jackd() == 0;
	for (int m = 0; m < 2; m++) {
		b[m].play = m == 1;
		if (server_up)
			run_part_b(m == 1, &b[m]);
		else
			snprintf(b[m].why, sizeof b[m].why, "jackd -d dummy did not start (its log is printed above)");
	}
	if (!server_up) {
		char *text = tl_read_file(JACKD_LOG);
		fprintf(stderr, "bench_sources: jackd's log:\n%s\n", text ? text : "(none)");
		free(text);
	}
	if (jackd_pid > 0)
		tl_stop(jackd_pid);
	jackd_pid = 0;
	printf("\npart B: live, build/mixdesk on a session of %d stereo strips playing the files, on jackd -n %s -d "
	       "dummy -r %d -p %d (%s), %.0f s each, a /transport/locate every %.1f s\n",
	       NSTREAMS, server, RATE, PERIOD, jackd_rt ? "-R" : "--no-realtime", RUN_B_S, LOCATE_B_S);
	printf("  %-26s %7s %8s %9s %16s %16s %8s %9s\n", "case", "xruns", "period", "realtime", "DSP load mean %",
	       "DSP load max %", "locates", "underruns");
	for (int m = 0; m < 2; m++) {
		const char *name = m ? "--play (rolling)" : "baseline (no --play)";
		if (b[m].why[0]) {
			printf("  %-26s not measured: %s\n", name, b[m].why);
			continue;
		}
		printf("  %-26s %7d %8d %9s %16.1f %16.1f %8d %9d\n", name, b[m].xruns, b[m].period,
		       b[m].realtime ? "yes" : "no", b[m].dsp_mean, b[m].dsp_max, b[m].nloc, b[m].underruns);
	}
	for (int m = 0; m < 2; m++)
		if (!b[m].why[0])
			printf("  %s: longest refill after a locate %.2f ms; transport %s at %.2f s; JACK %s\n",
			       m ? "--play" : "baseline", b[m].worst_refill_ms, b[m].rolling ? "rolling" : "stopped",
			       b[m].pos, b[m].jack);
	const bool live_measured = !b[1].why[0];
	if (live_measured && !b[1].rolling) {
		fprintf(stderr, "bench_sources: with --play the transport is not rolling at the end\n");
		status = 1;
	}
	if (!live_measured)
		status = 1;
	getloadavg(load, 3);
	printf("  load average at the end: %.2f\n", load[0]);

	printf("\ntarget: no underrun at 64-frame periods, the player alone paced at 48 kHz: %s (%llu underruns)\n",
	       a.underruns == 0 ? "met" : "NOT met", (unsigned long long)a.underruns);
	if (live_measured)
		printf("target: no underrun at 64-frame periods, live on jackd -p 64: %s (%d underruns; xruns %d, "
		       "baseline %d)\n",
		       b[1].underruns == 0 ? "met" : "NOT met", b[1].underruns, b[1].xruns, b[0].xruns);
	else
		printf("target: no underrun at 64-frame periods, live on jackd -p 64: not measured (%s)\n", b[1].why);
	remove_material();
	return status;
}
