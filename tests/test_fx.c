/* mixdesk tests: the buses' built-in reverb and delay and the strips' drive, measured end to end through the
 * offline render (render_console, the code `mixdesk render` runs) on generated material, from the bus stems:
 * the reverb's RT60 by Schroeder backward integration at 1 kHz and below the crossover, its predelay and the
 * correlation of its sides; the delay's echoes to the sample, each repeat's level, tempo sync and a click-free
 * time change; no NaN, no DC and a bounded output while every effect parameter is swept by automation. */
#include "engine/model/param.h"
#include "sessions/session.h"
#include "tools/render/render.h"
#include "testlib.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- material and rendering ---- */

typedef double (*signal_fn)(size_t i, int rate);

static void write_mono(const char *path, int rate, size_t frames, signal_fn fn)
{
	SF_INFO info = {.samplerate = rate, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
	SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
	assert_non_null(sf);
	float *x = malloc(frames * sizeof *x);
	for (size_t i = 0; i < frames; i++)
		x[i] = (float)fn(i, rate);
	assert_int_equal(sf_writef_float(sf, x, (sf_count_t)frames), (sf_count_t)frames);
	sf_close(sf);
	free(x);
}

#define IMPULSE_AT 0.1 /* s */
static double impulse(size_t i, int rate)
{
	return i == (size_t)llround(IMPULSE_AT * rate) ? 0.5 : 0.0;
}

static uint64_t rng = 88172645463325252ull;
static double noise(size_t i, int rate)
{
	(void)i, (void)rate;
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return 0.25 * ((double)(rng >> 11) / (double)(1ull << 52) - 1.0);
}

/* a 1 kHz burst of 5 ms, Hann-windowed, at IMPULSE_AT */
static double burst(size_t i, int rate)
{
	double t = (double)i / rate - IMPULSE_AT, len = 0.005;
	if (t < 0 || t >= len)
		return 0.0;
	return 0.5 * sin(2 * M_PI * 1000.0 * t) * (0.5 - 0.5 * cos(2 * M_PI * t / len));
}

static double tone440(size_t i, int rate)
{
	return 0.5 * sin(2 * M_PI * 440.0 * (double)i / rate);
}

struct take {
	int rate;
	size_t frames;
	float *bus[2]; /* the bus's stem, each side */
	float *mix[2];
};

static void take_free(struct take *t)
{
	for (int c = 0; c < 2; c++) {
		free(t->bus[c]);
		free(t->mix[c]);
	}
}

static void load_stereo(const char *path, float *out[2], size_t *frames)
{
	SF_INFO info = {0};
	SNDFILE *sf = sf_open(path, SFM_READ, &info);
	assert_non_null(sf);
	assert_int_equal(info.channels, 2);
	float *x = malloc((size_t)info.frames * 2 * sizeof *x);
	assert_int_equal(sf_readf_float(sf, x, info.frames), info.frames);
	sf_close(sf);
	for (int c = 0; c < 2; c++) {
		out[c] = malloc((size_t)info.frames * sizeof(float));
		for (sf_count_t i = 0; i < info.frames; i++)
			out[c][i] = x[2 * i + c];
	}
	*frames = (size_t)info.frames;
	free(x);
}

/* Render session text `json` (its one strip's source "src.wav" made from fn, seconds long) in 32-bit float at
 * a fixed 0 dB gain with stems, and keep the stem of the bus named `bus` and the mix. */
static void render(const char *json, int rate, double seconds, signal_fn fn, const char *bus, struct take *t)
{
	char *dir = tl_tmpdir(), sess[512], src[512], out[512], stems[512], err[512];
	snprintf(sess, sizeof sess, "%s/s.json", dir);
	snprintf(src, sizeof src, "%s/src.wav", dir);
	snprintf(out, sizeof out, "%s/mix.wav", dir);
	snprintf(stems, sizeof stems, "%s/stems", dir);
	write_mono(src, rate, (size_t)llround(seconds * rate), fn);
	FILE *f = fopen(sess, "w");
	assert_non_null(f);
	fputs(json, f);
	fclose(f);
	struct md_console *c = NULL;
	if (session_load(sess, &c, err, sizeof err) != MD_OK)
		fail_msg("session: %s", err);
	struct render_opts o = {.out = out,
				.stems_dir = stems,
				.session = sess,
				.bits = 32,
				.fixed_gain = true,
				.gain_db = 0.0f,
				.threads = 1};
	struct render_report rep;
	if (render_console(c, dir, &o, &rep, err, sizeof err) != MD_OK)
		fail_msg("render: %s", err);
	console_free(c);
	t->rate = rate;
	load_stereo(out, t->mix, &t->frames);
	/* the bus's stem: the file in stems/ whose name holds the bus's */
	DIR *d = opendir(stems);
	assert_non_null(d);
	struct dirent *de;
	char stem[1024] = "";
	while ((de = readdir(d)))
		if (strstr(de->d_name, bus))
			snprintf(stem, sizeof stem, "%s/%s", stems, de->d_name);
	closedir(d);
	assert_true(stem[0] != 0);
	size_t n;
	load_stereo(stem, t->bus, &n);
	assert_int_equal(n, t->frames);
	tl_rmtree(dir);
	free(dir);
}

/* a session: one mono strip "Src" (silent at the master: fader off, a pre-fader send at 0 dB to bus "Fx"),
 * bus "Fx" with the effect given as JSON, a render tail of tail seconds, and extra top-level JSON (may be "") */
static char *session(int rate, const char *fx, double tail, const char *strip_extra, const char *top_extra)
{
	char *s = malloc(8192);
	snprintf(s, 8192,
		 "{\"format\":\"mixdesk-session\",\"version\":1,\"sample_rate\":%d,%s"
		 "\"strips\":[{\"name\":\"Src\",\"source\":\"src.wav\",\"fader\":-120.0%s%s,"
		 "\"sends\":[{\"bus\":\"Fx\",\"level\":0.0,\"pre\":true}]}],"
		 "\"buses\":[{\"name\":\"Fx\",\"fx\":%s}],"
		 "\"render\":{\"tail\":%g}}",
		 rate, top_extra, *strip_extra ? "," : "", strip_extra, fx, tail);
	return s;
}

/* ---- measuring ---- */

/* a constant-peak band-pass (RBJ), one octave around f, over x into y */
static void bandpass(const float *x, double *y, size_t n, double f, int rate)
{
	double w = 2 * M_PI * f / rate, q = 1.41, al = sin(w) / (2 * q);
	double b0 = al, b2 = -al, a0 = 1 + al, a1 = -2 * cos(w), a2 = 1 - al;
	double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
	for (size_t i = 0; i < n; i++) {
		double v = (b0 * x[i] + b2 * x2 - a1 * y1 - a2 * y2) / a0;
		x2 = x1;
		x1 = x[i];
		y2 = y1;
		y1 = v;
		y[i] = v;
	}
}

/* RT60 by Schroeder backward integration of h (from index `from`): T30, the least-squares slope of the energy
 * decay curve between -5 and -35 dB, times 2 */
static double rt60(const double *h, size_t from, size_t n, int rate)
{
	double *edc = malloc(n * sizeof *edc), acc = 0;
	for (size_t i = n; i-- > from;)
		edc[i] = acc += h[i] * h[i];
	double e0 = edc[from];
	double sx = 0, sy = 0, sxx = 0, sxy = 0;
	int k = 0;
	for (size_t i = from; i < n; i++) {
		double db = 10 * log10(edc[i] / e0 + 1e-300);
		if (db > -5 || db < -35)
			continue;
		double t = (double)(i - from) / rate;
		sx += t, sy += db, sxx += t * t, sxy += t * db;
		k++;
	}
	free(edc);
	assert_true(k > 100);
	double slope = (k * sxy - sx * sy) / (k * sxx - sx * sx);
	return -60.0 / slope;
}

static double reverb_rt(int rate, const char *params, double f, double tail)
{
	char fx[512];
	snprintf(fx, sizeof fx, "{\"type\":\"reverb\"%s}", params);
	char *s = session(rate, fx, tail, "", "");
	struct take t;
	render(s, rate, 0.2, impulse, "Fx", &t);
	free(s);
	double *h = malloc(t.frames * sizeof *h);
	bandpass(t.bus[0], h, t.frames, f, rate);
	double r = rt60(h, (size_t)llround(IMPULSE_AT * rate), t.frames, rate);
	free(h);
	take_free(&t);
	return r;
}

/* ---- the reverb ---- */

static void test_reverb_rt60(void **state)
{
	(void)state;
	static const int rates[] = {44100, 48000};
	static const double decays[] = {0.5, 2.0, 6.0};
	for (int r = 0; r < 2; r++)
		for (int d = 0; d < 3; d++) {
			char p[128];
			snprintf(p, sizeof p, ",\"decay\":%g", decays[d]);
			double rt = reverb_rt(rates[r], p, 1000.0, decays[d] * 1.3 + 0.5);
			printf("reverb at %d Hz, decay %g s: RT60 at 1 kHz %.3f s (%+.1f %%)\n", rates[r], decays[d],
			       rt, 100 * (rt / decays[d] - 1));
			assert_true(fabs(rt / decays[d] - 1) <= 0.10);
		}
	double lo1 = reverb_rt(48000, ",\"decay\":2,\"low_decay\":1.0,\"crossover\":500", 125.0, 4.0),
	       lo15 = reverb_rt(48000, ",\"decay\":2,\"low_decay\":1.5,\"crossover\":500", 125.0, 5.0);
	printf("reverb, decay 2 s: RT60 at 125 Hz (crossover 500 Hz) %.3f s with low_decay 1.0, %.3f s with 1.5 (x%.2f)\n",
	       lo1, lo15, lo15 / lo1);
	assert_true(lo15 / lo1 >= 1.35);
}

static void test_reverb_predelay_and_width(void **state)
{
	(void)state;
	const int rate = 48000;
	static const double pre[] = {0.0, 30.0, 250.0};
	for (int k = 0; k < 3; k++) {
		char fx[256];
		snprintf(fx, sizeof fx, "{\"type\":\"reverb\",\"decay\":1.0,\"predelay\":%g}", pre[k]);
		char *s = session(rate, fx, 1.5, "", "");
		struct take t;
		render(s, rate, 0.2, impulse, "Fx", &t);
		free(s);
		double peak = 0;
		for (size_t i = 0; i < t.frames; i++)
			for (int c = 0; c < 2; c++)
				peak = fmax(peak, fabs(t.bus[c][i]));
		size_t first = t.frames;
		for (size_t i = 0; i < t.frames && first == t.frames; i++)
			for (int c = 0; c < 2; c++)
				if (fabs(t.bus[c][i]) > peak * 1e-5) /* -100 dB */
					first = i;
		size_t at = (size_t)llround(IMPULSE_AT * rate), want = at + (size_t)llround(pre[k] * rate / 1000.0);
		printf("predelay %g ms: first wet sample %.3f ms after the impulse\n", pre[k],
		       ((double)first - (double)at) * 1000.0 / rate);
		assert_true(peak > 1e-3);
		assert_true(first >= want);
		take_free(&t);
	}
	static const double widths[] = {1.0, 0.0};
	for (int k = 0; k < 2; k++) {
		char fx[256];
		snprintf(fx, sizeof fx, "{\"type\":\"reverb\",\"decay\":2.0,\"width\":%g}", widths[k]);
		char *s = session(rate, fx, 2.0, "", "");
		struct take t;
		render(s, rate, 0.2, impulse, "Fx", &t);
		free(s);
		double lr = 0, ll = 0, rr = 0;
		for (size_t i = (size_t)(0.4 * rate); i < (size_t)(1.6 * rate) && i < t.frames; i++) {
			lr += (double)t.bus[0][i] * t.bus[1][i];
			ll += (double)t.bus[0][i] * t.bus[0][i];
			rr += (double)t.bus[1][i] * t.bus[1][i];
		}
		double corr = lr / sqrt(ll * rr + 1e-300);
		printf("width %g: L/R correlation of the tail %.3f\n", widths[k], corr);
		if (widths[k] == 1.0)
			assert_true(fabs(corr) < 0.3);
		else
			assert_true(corr > 0.99);
		take_free(&t);
	}
}

/* ---- the delay ---- */

static size_t first_nonzero(const float *x, size_t from, size_t n)
{
	for (size_t i = from; i < n; i++)
		if (fabsf(x[i]) > 1e-6f)
			return i;
	return n;
}

static void test_delay_echoes(void **state)
{
	(void)state;
	static const struct {
		int rate;
		double l, r;
	} cases[] = {{48000, 375, 500}, {48000, 1, 2000}, {44100, 10, 12.3}, {44100, 375, 500}};
	for (int k = 0; k < 4; k++) {
		char fx[256];
		snprintf(fx, sizeof fx, "{\"type\":\"delay\",\"time_l\":%g,\"time_r\":%g,\"feedback\":0}", cases[k].l,
			 cases[k].r);
		int rate = cases[k].rate;
		char *s = session(rate, fx, 2.5, "", "");
		struct take t;
		render(s, rate, 0.2, impulse, "Fx", &t);
		free(s);
		size_t at = (size_t)llround(IMPULSE_AT * rate);
		size_t l = first_nonzero(t.bus[0], 0, t.frames), r = first_nonzero(t.bus[1], 0, t.frames);
		size_t wl = at + (size_t)llround(cases[k].l * rate / 1000.0),
		       wr = at + (size_t)llround(cases[k].r * rate / 1000.0);
		printf("delay %g/%g ms at %d Hz: first echo at %zu/%zu samples after the impulse (want %zu/%zu)\n",
		       cases[k].l, cases[k].r, rate, l - at, r - at, wl - at, wr - at);
		assert_int_equal(l, wl);
		assert_int_equal(r, wr);
		assert_float_equal(t.bus[0][l], 0.5, 1e-6);
		take_free(&t);
	}
	/* sync: 1/8. at 120 BPM is 375 ms, whatever time_l says */
	char *s = session(48000, "{\"type\":\"delay\",\"sync\":\"1/8.\",\"time_l\":100,\"time_r\":100,\"feedback\":0}",
			  1.0, "", "\"tempo\":120.0,");
	struct take t;
	render(s, 48000, 0.2, impulse, "Fx", &t);
	free(s);
	size_t at = (size_t)llround(IMPULSE_AT * 48000);
	printf("sync 1/8. at 120 BPM: first echo %zu samples after the impulse\n",
	       first_nonzero(t.bus[0], 0, t.frames) - at);
	assert_int_equal(first_nonzero(t.bus[0], 0, t.frames) - at, 18000);
	assert_int_equal(first_nonzero(t.bus[1], 0, t.frames) - at, 18000);
	take_free(&t);
}

static double energy(const float *x, size_t from, size_t len)
{
	double e = 0;
	for (size_t i = from; i < from + len; i++)
		e += (double)x[i] * x[i];
	return e;
}

static void test_delay_repeats(void **state)
{
	(void)state;
	const int rate = 48000;
	static const double fbs[] = {35, 70, 95};
	for (int k = 0; k < 3; k++) {
		char fx[256];
		snprintf(fx, sizeof fx,
			 "{\"type\":\"delay\",\"time_l\":100,\"time_r\":100,\"feedback\":%g,\"low_cut\":20,"
			 "\"high_cut\":20000}",
			 fbs[k]);
		char *s = session(rate, fx, 1.0, "", "");
		struct take t;
		render(s, rate, 0.2, burst, "Fx", &t);
		free(s);
		size_t at = (size_t)llround(IMPULSE_AT * rate), step = rate / 10, win = rate / 50;
		double worst = 0, want = 20 * log10(fbs[k] / 100);
		for (int e = 1; e < 6; e++) {
			double a = energy(t.bus[0], at + (size_t)e * step - win / 4, win),
			       b = energy(t.bus[0], at + (size_t)(e + 1) * step - win / 4, win);
			double got = 10 * log10(b / a);
			worst = fmax(worst, fabs(got - want));
		}
		printf("delay feedback %g %%: each repeat %.3f dB below the last, worst error %.4f dB\n", fbs[k], want,
		       worst);
		assert_true(worst < 0.1);
		take_free(&t);
	}
	/* ping-pong: cross 100 %, the input on the left only after the first echo: the repeats alternate */
	char *s = session(
		rate,
		"{\"type\":\"delay\",\"time_l\":100,\"time_r\":100,\"feedback\":50,\"cross\":100,\"low_cut\":20,"
		"\"high_cut\":20000}",
		1.0, "", "");
	struct take t;
	render(s, rate, 0.2, burst, "Fx", &t);
	free(s);
	size_t at = (size_t)llround(IMPULSE_AT * rate), step = rate / 10, win = rate / 50;
	/* the send is mono (pre-fader, centred): both sides echo first, then each repeat crosses over, which for a
	 * centred input keeps both sides equal; its level still falls by the feedback */
	double e1 = energy(t.bus[0], at + step - win / 4, win), e2 = energy(t.bus[1], at + 2 * step - win / 4, win);
	printf("ping-pong: second repeat %.2f dB below the first\n", 10 * log10(e2 / e1));
	assert_float_equal(10 * log10(e2 / e1), 20 * log10(0.5), 0.1);
	take_free(&t);
}

static void test_delay_time_change_no_click(void **state)
{
	(void)state;
	const int rate = 48000;
	/* under a sustained tone (feedback 0, so the bus carries the tone itself): time_l moves 300 -> 700 ms
	 * within 10 ms at 2 s and back at 4 s, time_r jumps 1 -> 2000 ms at 3 s (lanes); the delay glides, the
	 * pitch bends (at most 4/3 up while the time shrinks), and no step is a click */
	char *s = session(rate,
			  "{\"type\":\"delay\",\"time_l\":300,\"time_r\":1,\"feedback\":0},"
			  "\"automation\":[{\"param\":\"fx/time_l\",\"mode\":\"read\",\"points\":"
			  "[[0,300],[2.0,300],[2.01,700],[4.0,700],[4.01,300]]},"
			  "{\"param\":\"fx/time_r\",\"mode\":\"read\",\"points\":[[0,1],[3.0,1],[3.0001,2000]]}]",
			  0.5, "", "");
	struct take t;
	render(s, rate, 8.0, tone440, "Fx", &t);
	free(s);
	const double tone_step = 2 * sin(M_PI * 440.0 / rate) * 0.5; /* the tone's own largest sample step */
	double before[2] = {0}, after[2] = {0};
	for (int c = 0; c < 2; c++)
		for (size_t i = 1; i < (size_t)(7.9 * rate) && i < t.frames; i++) {
			double d = fabs((double)t.bus[c][i] - t.bus[c][i - 1]);
			if (i > (size_t)(1.2 * rate) && i < (size_t)(1.9 * rate))
				before[c] = fmax(before[c], d);
			else if (i >= (size_t)(1.95 * rate))
				after[c] = fmax(after[c], d);
		}
	printf("time change: the tone's step %.5f; largest sample step before %.5f/%.5f, during and after "
	       "%.5f/%.5f\n",
	       tone_step, before[0], before[1], after[0], after[1]);
	for (int c = 0; c < 2; c++) {
		assert_float_equal(before[c], tone_step, 0.01 * tone_step);
		assert_true(after[c] <= 1.5 * tone_step);
	}
	take_free(&t);
}

/* ---- every effect parameter swept: no NaN, no DC, bounded ---- */

static void test_sweeps_bounded(void **state)
{
	(void)state;
	static const int rates[] = {48000, 192000};
	for (int r = 0; r < 2; r++) {
		int rate = rates[r];
		double seconds = rate == 48000 ? 30.0 : 4.0;
		char lanes[8][4096];
		for (int type = MD_FX_REVERB; type <= MD_FX_DELAY; type++) {
			size_t n = 0;
			char *l = lanes[type];
			n += (size_t)snprintf(l + n, 4096 - n, "\"automation\":[");
			int k = 0;
			for (int p = 0; p < MD_BP_COUNT; p++) {
				const struct md_param_desc *d = md_param_desc(MD_SCOPE_BUS, p);
				if (p <= MD_BP_FX_TYPE || d->kind != MD_KIND_FLOAT || !md_param_fx_applies(p, type))
					continue;
				/* each parameter its own way between its ends: min, max, min... at its own pace */
				n += (size_t)snprintf(l + n, 4096 - n,
						      "%s{\"param\":\"%s\",\"mode\":\"read\",\"points\":[",
						      k ? "," : "", d->path);
				double step = seconds / (3 + k % 4);
				for (int j = 0; j * step <= seconds; j++)
					n += (size_t)snprintf(l + n, 4096 - n, "%s[%g,%g]", j ? "," : "", j * step,
							      (double)((j + k) % 2 ? d->max : d->min));
				n += (size_t)snprintf(l + n, 4096 - n, "]}");
				k++;
			}
			snprintf(l + n, 4096 - n, "]");
		}
		char fx[8192];
		snprintf(fx, sizeof fx, "{\"type\":\"reverb\"},%s", lanes[MD_FX_REVERB]);
		/* the strip's drive swept too, and a second bus with the delay */
		char top[8192];
		snprintf(top, sizeof top, "\"tempo\":90,");
		char *s = malloc(32768);
		snprintf(
			s, 32768,
			"{\"format\":\"mixdesk-session\",\"version\":1,\"sample_rate\":%d,%s"
			"\"strips\":[{\"name\":\"Src\",\"source\":\"src.wav\",\"fader\":-6.0,"
			"\"drive\":{\"on\":true,\"character\":\"tube\"},"
			"\"automation\":[{\"param\":\"drive/amount\",\"mode\":\"read\",\"points\":[[0,0],[%g,24],[%g,0]]},"
			"{\"param\":\"drive/mix\",\"mode\":\"read\",\"points\":[[0,1],[%g,0],[%g,1]]}],"
			"\"sends\":[{\"bus\":\"Fx\",\"level\":0.0,\"pre\":true},{\"bus\":\"Dly\",\"level\":0.0,\"pre\":true}]}],"
			"\"buses\":[{\"name\":\"Fx\",\"fx\":%s},"
			"{\"name\":\"Dly\",\"fx\":{\"type\":\"delay\",\"cross\":100},%s}],"
			"\"render\":{\"tail\":1.0}}",
			rate, top, seconds / 2, seconds, seconds / 3, seconds, fx, lanes[MD_FX_DELAY]);
		struct take t;
		render(s, rate, seconds, noise, "Fx", &t);
		struct take u;
		render(s, rate, seconds, noise, "Dly", &u);
		free(s);
		const struct take *both[2] = {&t, &u};
		for (int b = 0; b < 2; b++) {
			double peak = 0, sum[2] = {0};
			size_t bad = 0;
			for (int c = 0; c < 2; c++)
				for (size_t i = 0; i < both[b]->frames; i++) {
					float v = both[b]->bus[c][i];
					bad += !isfinite(v);
					peak = fmax(peak, fabs(v));
					sum[c] += v;
				}
			double dc = fmax(fabs(sum[0]), fabs(sum[1])) / (double)both[b]->frames;
			printf("%s at %d Hz, every parameter swept over %g s: peak %.2f dBFS, DC %.2e, %zu non-finite\n",
			       b ? "delay" : "reverb", rate, seconds, 20 * log10(peak + 1e-30), dc, bad);
			assert_int_equal(bad, 0);
			assert_true(peak < 8.0);
			assert_true(peak > 1e-3);
			assert_true(dc < 1e-3);
		}
		take_free(&t);
		take_free(&u);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reverb_rt60),
		cmocka_unit_test(test_reverb_predelay_and_width),
		cmocka_unit_test(test_delay_echoes),
		cmocka_unit_test(test_delay_repeats),
		cmocka_unit_test(test_delay_time_change_no_click),
		cmocka_unit_test(test_sweeps_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
