/* mixdesk benchmark: the engine's cost per period for a full console: 64 stereo strips with HPF, LPF, four EQ
 * bands, gate and compressor all working, 4 aux buses, every strip sending to all 4 (two pre-, two
 * post-fader), at 48 kHz with 64- and 256-frame periods. Times engine_run() alone (the audio thread's work,
 * as the JACK host calls it), as a share of the period's real time, i.e. of one core; the engine runs on one
 * thread, so the share of the whole machine is that divided by the cores. Three cases: the console with all
 * DSP off (the mixing itself), everything on and settled, and everything on with every strip's EQ and
 * filters being swept each period (coefficients recomputed every 16 samples on all 64 strips). */
#include "../engine_helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define STRIPS 64
#define BUSES 4
#define RATE 48000

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

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
		double t0 = now();
		engine_run(e, r->bufs, period);
		double dt = now() - t0;
		if (k >= periods / 10) { /* skip the warm-up */
			sum += dt;
			worst = dt > worst ? dt : worst;
		}
	}
	uint32_t counted = periods - periods / 10;
	struct figures f = {100.0 * sum / counted / per, 100.0 * worst / per, engine_strip_gr(e, 0)};
	return f;
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
					fprintf(stderr, "bench_strips: the compressors are not working (gr %.2f dB)\n", f.gr);
					return 1;
				}
			}
			rig_free(r);
			free(r);
		}
	}
	/* the target: under 10 % of one core for this console */
	int ok = full[0] < 10.0 && full[1] < 10.0;
	printf("target (< 10%% of one core, all DSP on): %s (64: %.2f %%, 256: %.2f %%)\n", ok ? "met" : "MISSED",
	       full[0], full[1]);
	return 0;
}
