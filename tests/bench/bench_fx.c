/* mixdesk benchmark: the live cost of the buses' built-in effects and of the strips' drive, at 48 kHz, timing
 * engine_run() alone (the audio thread's work, as the JACK host calls it) as a share of the period's real time,
 * i.e. of one core, like bench_strips.
 *
 * 1. One effect: a small console (4 stereo strips, strip DSP off, all sending post-fader to 1 aux bus) with
 *    the bus's fx type set to reverb or delay, against the same console with fx none; the cost of the effect
 *    is the difference of the two means. The two consoles are timed in alternating chunks of 0.5 s of audio
 *    (5 s each in all), so that a change of the machine's load hits both alike. Once at the default
 *    parameters, once with them gliding (the control side sets new values every period: the reverb's decay
 *    and damping, or its size; the delay's two times and its feedback), the fx-none console receiving the
 *    same parameter messages. 64-frame periods (the target's), also 256.
 * 2. The console of bench_strips (64 stereo strips, every strip unit on, drive off, 4 aux buses, a send from
 *    every strip to each) with buses 1-2 running a reverb and 3-4 a delay, beside the same console with fx
 *    none; and the same console (fx none) with every strip's drive on, beside drive off: the drive's cost per
 *    stereo strip is the difference divided by 64.
 *
 * Every strip input gets fresh noise every period (-15 dBFS RMS, not timed), so the effects work on a signal
 * that does not repeat. The program checks that each effect works: its bus (the meter reads the wet return)
 * must still ring 0.2-0.8 s after the input stops, where the same bus with fx none is silent; otherwise it
 * fails (exit 1). It prints its table, then a line saying whether each target is met (reverb < 1.5 %, delay
 * < 0.3 % of one core; the 64-strip console with 2 reverbs and 2 delays < 12 %), and exits 0 either way.
 * The offline comparison with sox and ffmpeg is tests/bench/bench_fx.sh. */
#include "tests/engine_helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define RATE 48000
#define CHUNK_S 0.5    /* seconds of audio per timed chunk */
#define CHUNKS 10      /* chunks per console: 5 s of audio */
#define MAX_TIMED 4096 /* >= CHUNKS * CHUNK_S * RATE / 64: every timed period of the shortest kind */

enum glide { GLIDE_NONE, GLIDE_REVERB, GLIDE_REVERB_SIZE, GLIDE_DELAY };

struct spec {
	int strips, buses;
	bool dsp;             /* every strip unit of bench_strips on */
	bool drive;           /* every strip's drive on */
	int fx[MD_MAX_BUSES]; /* enum md_fx_type per bus */
};

struct bench {
	struct rig rig;
	struct spec spec;
	uint64_t k;             /* periods run (the glides' clock) */
	double sum, worst;      /* timed seconds, worst period's seconds */
	uint64_t counted;       /* periods timed */
	float times[MAX_TIMED]; /* each timed period's seconds, for the percentile */
};

static uint32_t rng = 12345;
static float noise(void)
{
	rng = rng * 1664525u + 1013904223u;
	return (float)((int32_t)rng) / 2147483648.0f;
}

static void set(struct rig *r, enum md_scope scope, int i, int p, float v)
{
	if (mixer_set(r->m, scope, i, p, v, NULL, NULL) != MD_OK) {
		fprintf(stderr, "bench_fx: cannot set parameter %d of %s %d\n", p,
			scope == MD_SCOPE_BUS ? "bus" : "strip", i);
		exit(1);
	}
}

static void feed(struct bench *b, uint32_t n, bool silent)
{
	for (int s = 0; s < b->spec.strips; s++)
		for (int c = 0; c < 2; c++) {
			float *in = rig_in(&b->rig, s, c);
			for (uint32_t i = 0; i < n; i++)
				in[i] = silent ? 0.0f : 0.3f * noise(); /* about -15 dBFS RMS */
		}
}

static struct bench *bench_new(const struct spec *sp)
{
	struct bench *b = calloc(1, sizeof *b);
	if (!b)
		exit(1);
	b->spec = *sp;
	struct rig *r = &b->rig;
	rig_init(r, RATE);
	for (int i = 0; i < sp->buses; i++) {
		char name[16];
		snprintf(name, sizeof name, "Aux %d", i + 1);
		if (mixer_add_bus(r->m, name, NULL) != MD_OK)
			exit(1);
		set(r, MD_SCOPE_BUS, i, MD_BP_FX_TYPE, (float)sp->fx[i]);
	}
	for (int s = 0; s < sp->strips; s++) {
		char name[16];
		snprintf(name, sizeof name, "Ch %d", s + 1);
		if (mixer_add_strip(r->m, name, true, NULL) != MD_OK)
			exit(1);
		if (!sp->dsp) { /* the small console: post-fader sends to its bus */
			set(r, MD_SCOPE_STRIP, s, MD_SP_FADER, -6.0f);
			for (int i = 0; i < sp->buses; i++)
				set(r, MD_SCOPE_STRIP, s, MD_SP_SEND(i, MD_SEND_LEVEL), 0.0f);
			continue;
		}
		/* bench_strips' console */
		for (int i = 0; i < sp->buses; i++) {
			set(r, MD_SCOPE_STRIP, s, MD_SP_SEND(i, MD_SEND_LEVEL), -10.0f);
			set(r, MD_SCOPE_STRIP, s, MD_SP_SEND(i, MD_SEND_PRE), i < 2 ? 1.0f : 0.0f);
		}
		set(r, MD_SCOPE_STRIP, s, MD_SP_FADER, -20.0f);
		set(r, MD_SCOPE_STRIP, s, MD_SP_HPF_ON, 1);
		set(r, MD_SCOPE_STRIP, s, MD_SP_HPF_FREQ, 80);
		set(r, MD_SCOPE_STRIP, s, MD_SP_HPF_SLOPE, 24);
		set(r, MD_SCOPE_STRIP, s, MD_SP_LPF_ON, 1);
		set(r, MD_SCOPE_STRIP, s, MD_SP_LPF_FREQ, 16000);
		set(r, MD_SCOPE_STRIP, s, MD_SP_LPF_SLOPE, 24);
		set(r, MD_SCOPE_STRIP, s, MD_SP_EQ_ON, 1);
		static const float gains[MD_EQ_BANDS] = {3, -4, 2, -3};
		for (int i = 0; i < MD_EQ_BANDS; i++)
			set(r, MD_SCOPE_STRIP, s, MD_SP_EQ(i, MD_EQ_GAIN), gains[i]);
		set(r, MD_SCOPE_STRIP, s, MD_SP_GATE_ON, 1);
		set(r, MD_SCOPE_STRIP, s, MD_SP_GATE_THRESHOLD, -60);
		set(r, MD_SCOPE_STRIP, s, MD_SP_COMP_ON, 1);
		set(r, MD_SCOPE_STRIP, s, MD_SP_COMP_THRESHOLD, -24);
		set(r, MD_SCOPE_STRIP, s, MD_SP_COMP_RATIO, 4);
		set(r, MD_SCOPE_STRIP, s, MD_SP_COMP_MAKEUP, 4);
		if (sp->drive)
			set(r, MD_SCOPE_STRIP, s, MD_SP_DRIVE_ON, 1); /* amount 6 dB, soft, mix 1: the defaults */
	}
	rig_map(r);
	feed(b, 4096, false);
	rig_settle(r);
	return b;
}

static void bench_free(struct bench *b)
{
	rig_free(&b->rig);
	free(b);
}

/* The control side's moves before a period (not timed: another thread does them live). */
static void glide(struct bench *b, enum glide g, uint32_t period)
{
	if (g == GLIDE_NONE)
		return;
	double t = (double)b->k * period / RATE;
	float x = 0.5f + 0.5f * sinf((float)(t * 2.0)); /* 0..1, a cycle every 3.1 s */
	for (int i = 0; i < b->spec.buses; i++) {
		struct rig *r = &b->rig;
		switch (g) {
		case GLIDE_REVERB:
			set(r, MD_SCOPE_BUS, i, MD_BP_FX_DECAY, 1.0f + 3.0f * x);
			set(r, MD_SCOPE_BUS, i, MD_BP_FX_DAMPING, 3000.0f + 9000.0f * x);
			break;
		case GLIDE_REVERB_SIZE: set(r, MD_SCOPE_BUS, i, MD_BP_FX_SIZE, 0.6f + 1.2f * x); break;
		case GLIDE_DELAY:
			set(r, MD_SCOPE_BUS, i, MD_BP_FX_TIME_L, 300.0f + 400.0f * x);
			set(r, MD_SCOPE_BUS, i, MD_BP_FX_TIME_R, 700.0f - 400.0f * x);
			set(r, MD_SCOPE_BUS, i, MD_BP_FX_FEEDBACK, 20.0f + 40.0f * x);
			break;
		default: break;
		}
	}
	mixer_tick(b->rig.m);
}

/* Run `seconds` of audio in `period`-frame periods, timing engine_run when `timed`. */
static void run(struct bench *b, uint32_t period, double seconds, enum glide g, bool timed)
{
	struct md_engine *e = mixer_engine(b->rig.m);
	uint32_t periods = (uint32_t)(seconds * RATE / period);
	for (uint32_t k = 0; k < periods; k++, b->k++) {
		feed(b, period, false);
		glide(b, g, period);
		double t0 = md_now_s();
		engine_run(e, b->rig.bufs, period);
		double dt = md_now_s() - t0;
		if (timed) {
			b->sum += dt;
			b->worst = dt > b->worst ? dt : b->worst;
			if (b->counted < MAX_TIMED)
				b->times[b->counted] = (float)dt;
			b->counted++;
		}
	}
}

static double mean_pct(const struct bench *b, uint32_t period)
{
	return 100.0 * b->sum / (double)b->counted / ((double)period / RATE);
}

static double worst_pct(const struct bench *b, uint32_t period)
{
	return 100.0 * b->worst / ((double)period / RATE);
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

/* The 99th percentile of the timed periods: the worst period once the rare hiccups of the machine (timer
 * interrupts, the other guests of the VM's host) are left out */
static double p99_pct(struct bench *b, uint32_t period)
{
	uint64_t n = b->counted < MAX_TIMED ? b->counted : MAX_TIMED;
	if (!n)
		return 0;
	qsort(b->times, n, sizeof b->times[0], cmp_float);
	return 100.0 * b->times[(n * 99) / 100] / ((double)period / RATE);
}

/* Time two consoles in alternating chunks after a warm-up. */
static void measure_pair(struct bench *a, struct bench *b, uint32_t period, enum glide g)
{
	run(a, period, CHUNK_S, g, false);
	run(b, period, CHUNK_S, g, false);
	for (int c = 0; c < CHUNKS; c++) {
		run(a, period, CHUNK_S, g, true);
		run(b, period, CHUNK_S, g, true);
	}
}

/* The loudest sample of each bus's return (after its effect) 0.2-0.8 s after the input stops, dBFS; the
 * input comes back afterwards. */
static void tail_peaks(struct bench *b, float *peak_db)
{
	struct md_engine *e = mixer_engine(b->rig.m);
	struct md_level lv;
	for (int k = 0; k < (int)(0.2 * RATE / 64); k++) {
		feed(b, 64, true);
		engine_run(e, b->rig.bufs, 64);
	}
	for (int i = 0; i < b->spec.buses; i++)
		engine_bus_meter(e, i, &lv); /* resets the peaks */
	for (int k = 0; k < (int)(0.6 * RATE / 64); k++) {
		feed(b, 64, true);
		engine_run(e, b->rig.bufs, 64);
	}
	for (int i = 0; i < b->spec.buses; i++) {
		engine_bus_meter(e, i, &lv);
		peak_db[i] = fmaxf(lv.peak_db[0], lv.peak_db[1]);
		if (!isfinite(peak_db[i]))
			peak_db[i] = 1000.0f; /* caught below */
	}
}

/* Fail unless every effect bus of `fx` rings on and the same bus of `dry` (fx none) does not. */
static void check_effects(struct bench *dry, struct bench *fx, const char *what)
{
	float pd[MD_MAX_BUSES], pf[MD_MAX_BUSES];
	tail_peaks(dry, pd);
	tail_peaks(fx, pf);
	for (int i = 0; i < fx->spec.buses; i++) {
		if (fx->spec.fx[i] == MD_FX_NONE)
			continue;
		if (!(pf[i] > -90.0f && pf[i] < 20.0f) || !(pd[i] < -100.0f)) {
			fprintf(stderr,
				"bench_fx: %s: bus %d's %s does not work: %.1f dBFS 0.2-0.8 s after the input stops "
				"(fx none: %.1f)\n",
				what, i + 1, fx->spec.fx[i] == MD_FX_REVERB ? "reverb" : "delay", pf[i], pd[i]);
			exit(1);
		}
	}
}

static void row(const char *name, uint32_t period, struct bench *b, const char *extra)
{
	printf("%-40s %6u %8.3f %8.2f %8.2f  %s\n", name, period, mean_pct(b, period), p99_pct(b, period),
	       worst_pct(b, period), extra);
}

/* One effect on the small console: prints both lines and returns the effect's cost in % of one core. */
static double one_effect(int type, enum glide g, uint32_t period, const char *name)
{
	struct spec sp = {.strips = 4, .buses = 1, .dsp = false};
	struct bench *none = bench_new(&sp);
	sp.fx[0] = type;
	struct bench *fx = bench_new(&sp);
	measure_pair(none, fx, period, g);
	double cost = mean_pct(fx, period) - mean_pct(none, period);
	char extra[96];
	snprintf(extra, sizeof extra, "cost %.3f %% = %.1f ns/frame", cost, cost / 100.0 / RATE * 1e9);
	row(name, period, fx, extra);
	row("  the same console, fx none", period, none, "");
	check_effects(none, fx, name);
	bench_free(none);
	bench_free(fx);
	return cost;
}

int main(void)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	printf("bench_fx: %d Hz, %ld cores; timing engine_run alone: mean, 99th percentile and worst period as %% of "
	       "one core;\n",
	       RATE, cores);
	printf("each console timed over %.0f s of audio, alternating 0.5 s chunks with the console it is compared "
	       "to\n",
	       CHUNK_S * CHUNKS);
	printf("%-40s %6s %8s %8s %8s\n", "case", "period", "mean %", "p99 %", "worst %");

	printf("-- one effect: 4 stereo strips (DSP off) sending to 1 bus\n");
	double rev = 0, rev_glide = 0, rev_size = 0, dly = 0, dly_glide = 0;
	static const uint32_t periods[] = {64, 256};
	for (int p = 0; p < 2; p++) {
		uint32_t n = periods[p];
		double r0 = one_effect(MD_FX_REVERB, GLIDE_NONE, n, "reverb, default parameters");
		double r1 = one_effect(MD_FX_REVERB, GLIDE_REVERB, n, "reverb, decay + damping gliding");
		double r2 = one_effect(MD_FX_REVERB, GLIDE_REVERB_SIZE, n, "reverb, size gliding");
		double d0 = one_effect(MD_FX_DELAY, GLIDE_NONE, n, "delay, default parameters");
		double d1 = one_effect(MD_FX_DELAY, GLIDE_DELAY, n, "delay, times + feedback gliding");
		if (n == 64) {
			rev = r0, rev_glide = r1, rev_size = r2, dly = d0, dly_glide = d1;
		}
	}

	printf("-- bench_strips' console: 64 stereo strips, every unit on, 4 buses, 4 sends per strip\n");
	double full[2] = {0, 0}, drive[2] = {0, 0};
	for (int p = 0; p < 2; p++) {
		uint32_t n = periods[p];
		struct spec sp = {.strips = 64, .buses = 4, .dsp = true};
		struct bench *none = bench_new(&sp);
		sp.fx[0] = sp.fx[1] = MD_FX_REVERB;
		sp.fx[2] = sp.fx[3] = MD_FX_DELAY;
		struct bench *fx = bench_new(&sp);
		measure_pair(none, fx, n, GLIDE_NONE);
		if (engine_strip_gr(mixer_engine(fx->rig.m), 0) > -0.5f) {
			fprintf(stderr, "bench_fx: the compressors are not working\n");
			return 1;
		}
		full[p] = mean_pct(fx, n);
		char extra[96];
		snprintf(extra, sizeof extra, "the 4 effects: %.3f %%", full[p] - mean_pct(none, n));
		row("2 reverbs + 2 delays, drive off", n, fx, extra);
		row("fx none, drive off", n, none, "");
		check_effects(none, fx, "64 strips");
		bench_free(fx);

		/* the drive: the same console (fx none) with every strip's drive on */
		sp = (struct spec){.strips = 64, .buses = 4, .dsp = true, .drive = true};
		struct bench *drv = bench_new(&sp);
		none->sum = none->worst = 0;
		none->counted = 0;
		measure_pair(none, drv, n, GLIDE_NONE);
		drive[p] = (mean_pct(drv, n) - mean_pct(none, n)) / 64.0;
		snprintf(extra, sizeof extra, "per stereo strip %.3f %% = %.1f ns/frame/channel", drive[p],
			 drive[p] / 100.0 / RATE / 2.0 * 1e9);
		row("fx none, drive on (all 64 strips)", n, drv, extra);
		row("fx none, drive off", n, none, "");
		bench_free(drv);
		bench_free(none);
	}

	printf("summary at 64-frame periods: one reverb %.3f %% (gliding %.3f, size gliding %.3f), one delay %.3f %% "
	       "(gliding %.3f),\n  64-strip console with 2 reverbs + 2 delays %.2f %%, drive %.3f %% per stereo "
	       "strip (%.1f %% for 64)\n",
	       rev, rev_glide, rev_size, dly, dly_glide, full[0], drive[0], 64.0 * drive[0]);
	double rmax = fmax(rev, fmax(rev_glide, rev_size)), dmax = fmax(dly, dly_glide);
	/* the worst of each effect's lines, and target / measured (above 1: met, with that much headroom) */
	printf("targets (64-frame periods, %% of one core): reverb < 1.5 %%: %s (%.3f %% with the worst glide, target "
	       "/ measured %.1f); delay < 0.3 %%: %s (%.3f %%, %.1f); 64 strips + 2 reverbs + 2 delays < 12 %%: %s "
	       "(%.2f %%, %.1f)\n",
	       rmax < 1.5 ? "met" : "MISSED", rmax, 1.5 / fmax(rmax, 1e-3), dmax < 0.3 ? "met" : "MISSED", dmax,
	       0.3 / fmax(dmax, 1e-3), full[0] < 12.0 ? "met" : "MISSED", full[0], 12.0 / full[0]);
	return 0;
}
