/* mixdesk benchmark: 64 stereo sources streamed from disk at 48 kHz by the live console's player
 * (engine/player.c), the audio thread's side paced at real time in 64-frame periods.
 *
 * Material: 64 stereo 16-bit WAV files of 20 s each (a different noise per file), written to a temporary
 * folder first (not timed; the page cache then holds them, as it does for a session played twice). The
 * player reads 2 s ahead (as the live console does). The "audio thread" here is this program's main thread:
 * every 1.333 ms (64 frames at 48 kHz) it calls player_read for each of the 64 streams with consecutive
 * frames, and every 2 s all 64 streams locate together (as the transport does) to a random point, back or
 * forward, each a refill. 30 s in all.
 *
 * Printed: the disk thread's CPU share (its CLOCK_THREAD_CPUTIME_ID time over the wall time, % of one core),
 * the worst refill after a locate (the player's own figure: request to data ready), the underruns (a
 * sub-block with too little data: the target is none at 64-frame periods), the rings' memory (resident
 * growth on opening the streams, and per stream), and what the 64 reads cost the audio thread per period
 * (mean, 99.9th percentile and worst, as a share of the period; the reading thread SCHED_FIFO where allowed). Exit 1 only when the player fails to open or play. */
#include "engine/model/md.h"
#include "engine/player.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RATE 48000
#define NSTREAMS 64
#define FILE_S 20
#define RUN_S 30
#define LOCATE_EVERY_S 2

static long rss_kb(void)
{
	long pages = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static int write_file(const char *path, uint32_t seed)
{
	SF_INFO info = {.samplerate = RATE, .channels = 2, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
	SNDFILE *f = sf_open(path, SFM_WRITE, &info);
	if (!f)
		return -1;
	static float buf[2 * 4800];
	for (int b = 0; b < FILE_S * 10; b++) {
		for (int i = 0; i < 2 * 4800; i++) {
			seed = seed * 1664525u + 1013904223u;
			buf[i] = 0.25f * ((float)(seed >> 8) / 8388608.0f - 1.0f);
		}
		sf_writef_float(f, buf, 4800);
	}
	sf_close(f);
	return 0;
}

static uint64_t rng = 88172645463325252ull;
static double rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(void)
{
	char dir[] = "/tmp/mixdesk-bench-player-XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	char paths[NSTREAMS][256];
	double t0 = md_now_s();
	for (int k = 0; k < NSTREAMS; k++) {
		snprintf(paths[k], sizeof paths[k], "%s/src%02d.wav", dir, k);
		if (write_file(paths[k], 1234u + 977u * (uint32_t)k)) {
			fprintf(stderr, "bench_player: cannot write %s\n", paths[k]);
			return 1;
		}
	}
	printf("material: %d stereo 16-bit WAV files x %d s at 48 kHz (%.0f MB), written in %.1f s\n", NSTREAMS, FILE_S,
	       NSTREAMS * (double)FILE_S * RATE * 4 / 1e6, md_now_s() - t0);

	long rss0 = rss_kb();
	struct md_player *p = player_new(RATE, 2.0);
	struct md_stream *s[NSTREAMS];
	char err[512];
	t0 = md_now_s();
	for (int k = 0; k < NSTREAMS; k++)
		if (!(s[k] = player_open(p, paths[k], 2, err, sizeof err))) {
			fprintf(stderr, "bench_player: %s\n", err);
			return 1;
		}
	const double t_open = md_now_s() - t0;
	const long rss1 = rss_kb();

	/* the reading thread realtime where the system allows (root or RLIMIT_RTPRIO), as JACK's is; else the
	 * worst read includes being descheduled */
	struct sched_param sp = {.sched_priority = 70};
	const bool rt = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0;
	static float o[2][MD_BLOCK];
	float *const out[2] = {o[0], o[1]};
	const double period = (double)MD_BLOCK / RATE;
	const long periods = (long)RUN_S * RATE / MD_BLOCK;
	double *cost = calloc((size_t)periods, sizeof *cost);
	struct md_player_stats st0;
	player_stats(p, &st0);
	int64_t frame = 0;
	int locates = 0;
	const double start = md_now_s();
	for (long n = 0; n < periods; n++) {
		/* every LOCATE_EVERY_S of timeline: all streams jump (back or forward, past what the rings hold) */
		if (n > 0 && n % ((long)LOCATE_EVERY_S * RATE / MD_BLOCK) == 0) {
			int64_t to = (int64_t)(rnd() * (FILE_S - 3) * RATE);
			if (llabs(to - frame) < 3 * RATE)
				to = (to + 8 * RATE) % ((FILE_S - 3) * RATE);
			frame = to;
			locates++;
		}
		double a = md_now_s();
		for (int k = 0; k < NSTREAMS; k++)
			player_read(s[k], frame, true, out, MD_BLOCK);
		cost[n] = md_now_s() - a;
		frame += MD_BLOCK;
		/* the next period's deadline */
		double due = start + (double)(n + 1) * period, t;
		while ((t = md_now_s()) < due) {
			double d = due - t;
			struct timespec ts = {0, (long)(d * 1e9)};
			nanosleep(&ts, NULL);
		}
	}
	const double wall = md_now_s() - start;
	struct md_player_stats st;
	player_stats(p, &st);
	double sum = 0;
	for (long n = 0; n < periods; n++)
		sum += cost[n];
	qsort(cost, (size_t)periods, sizeof *cost, cmp_d);
	const double mean = sum / (double)periods, worst = cost[periods - 1], p999 = cost[(size_t)(periods * 0.999)];
	const double ring_bytes = (double)(rss1 - rss0) * 1024.0 / NSTREAMS;

	printf("\n| figure | value |\n|---|---:|\n");
	printf("| streams x rate x period | %d stereo x 48 kHz x 64 frames, %d s, %d locates of all streams |\n",
	       NSTREAMS, RUN_S, locates);
	printf("| opening the %d streams (first 2 s read into each ring) | %.0f ms |\n", NSTREAMS, t_open * 1e3);
	printf("| disk thread CPU | %.2f %% of one core |\n", 100.0 * (st.disk_cpu_s - st0.disk_cpu_s) / wall);
	printf("| worst refill after a locate (64 streams at once) | %.2f ms |\n", st.worst_refill_s * 1e3);
	printf("| refills | %llu |\n", (unsigned long long)st.refills);
	printf("| underruns | %llu |\n", (unsigned long long)st.underruns);
	printf("| memory: resident growth on opening | %.1f MB (%.0f kB per stereo stream) |\n",
	       (double)(rss1 - rss0) / 1024.0, ring_bytes / 1024.0);
	printf("| audio thread: 64 reads per period, mean / 99.9 %% / worst | %.1f / %.1f / %.1f us (%.2f %% / %.1f "
	       "%% / %.1f %% of the 1333 us period) |\n",
	       mean * 1e6, p999 * 1e6, worst * 1e6, 100 * mean / period, 100 * p999 / period, 100 * worst / period);
	printf("| reading thread | %s |\n", rt ? "SCHED_FIFO 70 (as a realtime JACK client)" : "normal scheduling");
	printf("target: no underrun with 64 stereo sources at 64-frame periods: %s\n",
	       st.underruns == 0 ? "met" : "NOT met");

	for (int k = 0; k < NSTREAMS; k++) {
		player_unref(s[k]);
		unlink(paths[k]);
	}
	player_free(p);
	rmdir(dir);
	free(cost);
	return 0;
}
