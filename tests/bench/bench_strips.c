/* mixdesk benchmark: the engine's cost per period for a full console: 64 stereo strips with HPF, LPF, four EQ
 * bands, gate and compressor all working, 4 aux buses, every strip sending to all 4 (two pre-, two
 * post-fader), at 48 kHz with 64- and 256-frame periods. Times engine_run() alone (the audio thread's work,
 * as the JACK host calls it), as a share of the period's real time, i.e. of one core; the engine runs on one
 * thread, so the share of the whole machine is that divided by the cores. Three cases: the console with all
 * DSP off (the mixing itself), everything on and settled, and everything on with every strip's EQ and
 * filters being swept each period (coefficients recomputed every 16 samples on all 64 strips).
 *
 * The peer: ecasound (when installed) running 64 stereo chains offline from a noise file into one sum, each
 * with the closest built-in work: 2 high-pass + 2 low-pass sections, 4 band-pass/band-reject sections for
 * the EQ, its noise gate (-enm), its advanced compressor (-eca) and a gain; no aux sends (ecasound would
 * need duplicate chains), so the peer does less than mixdesk. Its CPU time (user + system, from the
 * child's rusage) per second of audio is the same "share of one core". A JACK DSP-load comparison on a
 * shared dummy server is not made here (see docs/DSP.md). */
#include "tests/engine_helpers.h"

#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STRIPS 64
#define BUSES 4
#define RATE 48000

static uint32_t rng = 12345;
static float noise(void)
{
	rng = rng * 1664525u + 1013904223u;
	return (float)((int32_t)rng) / 2147483648.0f;
}

static void set(struct rig *r, int s, int p, float v)
{
	if (mixer_set(r->m, MD_SCOPE_STRIP, s, p, v, NULL, NULL) != MD_OK) {
		fprintf(stderr, "bench_strips: cannot set strip %d parameter %d\n", s, p);
		exit(1);
	}
}

static void setup(struct rig *r, bool dsp)
{
	for (int b = 0; b < BUSES; b++) {
		char name[16];
		snprintf(name, sizeof name, "Aux %d", b + 1);
		if (mixer_add_bus(r->m, name, NULL) != MD_OK)
			exit(1);
	}
	for (int s = 0; s < STRIPS; s++) {
		char name[16];
		snprintf(name, sizeof name, "Ch %d", s + 1);
		if (mixer_add_strip(r->m, name, true, NULL) != MD_OK)
			exit(1);
		for (int b = 0; b < BUSES; b++) {
			set(r, s, MD_SP_SEND(b, MD_SEND_LEVEL), -10.0f);
			set(r, s, MD_SP_SEND(b, MD_SEND_PRE), b < 2 ? 1.0f : 0.0f);
		}
		set(r, s, MD_SP_FADER, -20.0f);
		if (!dsp)
			continue;
		set(r, s, MD_SP_HPF_ON, 1);
		set(r, s, MD_SP_HPF_FREQ, 80);
		set(r, s, MD_SP_HPF_SLOPE, 24);
		set(r, s, MD_SP_LPF_ON, 1);
		set(r, s, MD_SP_LPF_FREQ, 16000);
		set(r, s, MD_SP_LPF_SLOPE, 24);
		set(r, s, MD_SP_EQ_ON, 1);
		static const float gains[MD_EQ_BANDS] = {3, -4, 2, -3};
		for (int b = 0; b < MD_EQ_BANDS; b++)
			set(r, s, MD_SP_EQ(b, MD_EQ_GAIN), gains[b]);
		set(r, s, MD_SP_GATE_ON, 1);
		set(r, s, MD_SP_GATE_THRESHOLD, -60);
		set(r, s, MD_SP_COMP_ON, 1);
		set(r, s, MD_SP_COMP_THRESHOLD, -24);
		set(r, s, MD_SP_COMP_RATIO, 4);
		set(r, s, MD_SP_COMP_MAKEUP, 4);
	}
	rig_map(r);
	for (int s = 0; s < STRIPS; s++)
		for (int c = 0; c < 2; c++) {
			float *in = rig_in(r, s, c);
			for (int i = 0; i < 4096; i++)
				in[i] = 0.3f * noise(); /* about -15 dBFS RMS, peaks over the threshold */
		}
	rig_settle(r);
}

struct figures {
	double mean, worst; /* % of the period */
	float gr;
};

static struct figures measure(struct rig *r, uint32_t period, bool sweep)
{
	struct md_engine *e = mixer_engine(r->m);
	double per = (double)period / RATE;
	uint32_t periods = (uint32_t)(5.0 / per); /* 5 s of audio */
	double sum = 0, worst = 0;
	for (uint32_t k = 0; k < periods; k++) {
		if (sweep) {
			/* the control side moves every strip's EQ and filters; not timed (another thread) */
			float x = 0.5f + 0.5f * sinf((float)k * per * 2.0f);
			for (int s = 0; s < STRIPS; s++) {
				set(r, s, MD_SP_EQ(1, MD_EQ_FREQ), 200.0f * powf(10.0f, x));
				set(r, s, MD_SP_EQ(2, MD_EQ_GAIN), -12.0f + 24.0f * x);
				set(r, s, MD_SP_HPF_FREQ, 40.0f + 100.0f * x);
			}
			mixer_tick(r->m);
		}
		double t0 = md_now_s();
		engine_run(e, r->bufs, period);
		double dt = md_now_s() - t0;
		if (k >= periods / 10) { /* skip the warm-up */
			sum += dt;
			worst = dt > worst ? dt : worst;
		}
	}
	uint32_t counted = periods - periods / 10;
	struct figures f = {100.0 * sum / counted / per, 100.0 * worst / per, engine_strip_gr(e, 0)};
	return f;
}

#define PEER_SECONDS 10

/* CPU seconds ecasound takes for PEER_SECONDS of 64 chains; < 0 when it is not there or failed. */
static double peer_ecasound(const char *wav, bool fx)
{
	static const char *const fxargs[] = {"-efh:80",          "-efh:80",         "-efl:16000",
					     "-efl:16000",       "-efb:100,50",     "-efb:400,200",
					     "-efr:3000,1000",   "-efb:10000,5000", "-enm:1,0,1,20,100",
					     "-eca:69,0.12,1,1", "-ea:80"};
	enum { NFX = sizeof fxargs / sizeof fxargs[0] };
	static char chain[STRIPS][16], input[512], list[STRIPS * 4 + 8];
	const char *argv[8 + STRIPS * (2 + NFX) + 4];
	int a = 0;
	argv[a++] = "/usr/bin/ecasound";
	argv[a++] = "-q";
	argv[a++] = "-z:mixmode,sum";
	argv[a++] = "-f:f32,2,48000";
	snprintf(input, sizeof input, "-i:%s", wav);
	list[0] = 0;
	for (int s = 0; s < STRIPS; s++) {
		snprintf(chain[s], sizeof chain[s], "-a:%d", s + 1);
		argv[a++] = chain[s];
		argv[a++] = input;
		for (int k = fx ? 0 : NFX - 1; k < NFX; k++)
			argv[a++] = fxargs[k];
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d", s ? "," : "-a:", s + 1);
	}
	argv[a++] = list;
	argv[a++] = "-o:null";
	argv[a] = NULL;
	fflush(stdout); /* or the child's freopen writes our buffered lines a second time */
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		freopen("/dev/null", "w", stdout);
		freopen("/dev/null", "w", stderr);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
	       1e-6 * (double)ru.ru_stime.tv_usec;
}

/* Write PEER_SECONDS of stereo noise at about -15 dBFS RMS; 0 on success. */
static int write_noise(const char *path)
{
	SF_INFO info = {.samplerate = RATE, .channels = 2, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
	SNDFILE *f = sf_open(path, SFM_WRITE, &info);
	if (!f)
		return -1;
	static float buf[2 * 4800];
	for (int k = 0; k < PEER_SECONDS * 10; k++) {
		for (int i = 0; i < 2 * 4800; i++)
			buf[i] = 0.3f * noise();
		sf_writef_float(f, buf, 4800);
	}
	return sf_close(f);
}

int main(void)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	static const uint32_t periods[] = {64, 256};
	printf("bench_strips: %d stereo strips, %d aux buses, %d sends per strip, %d Hz, %ld cores\n", STRIPS, BUSES,
	       BUSES, RATE, cores);
	printf("%-34s %6s %10s %10s %12s\n", "case", "period", "mean %", "worst %", "mean % of all");
	double full[2] = {0, 0};
	for (int c = 0; c < 3; c++) {
		for (int p = 0; p < 2; p++) {
			struct rig *r = malloc(sizeof *r);
			if (!r)
				return 1;
			rig_init(r, RATE);
			setup(r, c > 0);
			struct figures f = measure(r, periods[p], c == 2);
			static const char *const names[] = {"mixing only (strip DSP off)", "all DSP on, settled",
							    "all DSP on, EQ/HPF swept"};
			printf("%-34s %6u %10.2f %10.2f %12.2f\n", names[c], periods[p], f.mean, f.worst,
			       f.mean / (double)cores);
			if (c == 1) {
				full[p] = f.mean;
				if (f.gr > -0.5f) {
					fprintf(stderr, "bench_strips: the compressors are not working (gr %.2f dB)\n",
						f.gr);
					return 1;
				}
			}
			rig_free(r);
			free(r);
		}
	}
	/* the peer */
	double peer[2] = {-1, -1};
	char dir[] = "/tmp/mdbench-XXXXXX", wav[64];
	if (access("/usr/bin/ecasound", X_OK) == 0 && mkdtemp(dir)) {
		snprintf(wav, sizeof wav, "%s/noise.wav", dir);
		if (write_noise(wav) == 0)
			for (int fx = 0; fx < 2; fx++)
				peer[fx] = peer_ecasound(wav, fx);
		unlink(wav);
		rmdir(dir);
	}
	if (peer[1] > 0) {
		double pm = 100.0 * peer[0] / PEER_SECONDS, pf = 100.0 * peer[1] / PEER_SECONDS;
		printf("%-34s %6s %10.2f %10s %12.2f\n", "ecasound, 64 chains, gain only", "file", pm, "-",
		       pm / (double)cores);
		printf("%-34s %6s %10.2f %10s %12.2f\n", "ecasound, 64 chains, filters+dyn", "file", pf, "-",
		       pf / (double)cores);
		printf("peer / mixdesk (all DSP on, 256-frame periods): %.2fx the CPU\n", pf / full[1]);
	} else {
		printf("ecasound: not installed or failed; no peer figures\n");
	}
	/* the target: under 10 % of one core for this console */
	int ok = full[0] < 10.0 && full[1] < 10.0;
	printf("target (< 10%% of one core, all DSP on): %s (64: %.2f %%, 256: %.2f %%)\n", ok ? "met" : "MISSED",
	       full[0], full[1]);
	return 0;
}
