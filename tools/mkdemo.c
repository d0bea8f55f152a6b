/* mixdesk: mkdemo writes the sources of the demo session (sessions/demo.json) into a folder: 20 seconds of a
 * small band at 120 BPM over Am-F-C-G (kick, snare, overheads, bass, two guitars, keys, lead and backing
 * "vocals"), 48 kHz, 24-bit WAV, mono or stereo to match each strip. Everything is synthesized from a fixed
 * seed, so every run writes the same bytes and nothing large is committed.
 * usage: mkdemo DIR */
#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RATE 48000
#define SECONDS 20
#define FRAMES (RATE * SECONDS)
#define BEAT 0.5 /* seconds at 120 BPM */
#define BAR (4 * BEAT)
#define PI 3.14159265358979323846

/* Am, F, C, G: chord tones (MIDI) and the bass root, one chord per bar */
static const int chords[4][3] = {{57, 60, 64}, {53, 57, 60}, {55, 60, 64}, {55, 59, 62}};
static const int roots[4] = {45, 41, 48, 43};

static uint32_t rng_state;

static double noise(void)
{
	/* xorshift32: small, fast and the same on every machine */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return (double)rng_state / 2147483648.0 - 1.0;
}

static double mtof(double m)
{
	return 440.0 * pow(2.0, (m - 69.0) / 12.0);
}

/* A band-limited-enough sawtooth: the first harmonics summed (these are short demo sources, not a synth). */
static double saw(double phase, double f)
{
	double s = 0;
	for (int h = 1; h <= 24 && h * f < RATE / 2.5; h++)
		s += sin(2 * PI * phase * h) / h;
	return s * 0.6;
}

/* A two-pole resonator (a formant). */
struct reson {
	double a1, a2, g, y1, y2;
};

static void reson_set(struct reson *r, double f, double bw)
{
	double rad = exp(-PI * bw / RATE);
	r->a1 = 2 * rad * cos(2 * PI * f / RATE);
	r->a2 = -rad * rad;
	r->g = 1 - rad;
}

static double reson_run(struct reson *r, double x)
{
	double y = r->g * x + r->a1 * r->y1 + r->a2 * r->y2;
	r->y2 = r->y1;
	r->y1 = y;
	return y;
}

static void kick_at(float *out, double t0, double amp)
{
	size_t s0 = (size_t)(t0 * RATE);
	double phase = 0;
	for (size_t i = 0; i < (size_t)(0.45 * RATE) && s0 + i < FRAMES; i++) {
		double t = (double)i / RATE;
		double f = 45 + 90 * exp(-t * 30);
		phase += f / RATE;
		double click = i < 96 ? noise() * (1 - i / 96.0) * 0.3 : 0;
		out[s0 + i] += (float)(amp * (sin(2 * PI * phase) * exp(-t * 7) + click));
	}
}

static void snare_at(float *out, double t0, double amp)
{
	size_t s0 = (size_t)(t0 * RATE);
	double lp = 0;
	for (size_t i = 0; i < (size_t)(0.35 * RATE) && s0 + i < FRAMES; i++) {
		double t = (double)i / RATE;
		double n = noise();
		lp += 0.5 * (n - lp);
		double body = sin(2 * PI * 190 * t) * exp(-t * 25);
		out[s0 + i] += (float)(amp * (0.7 * lp * exp(-t * 14) + 0.5 * body));
	}
}

static void hat_at(float *l, float *r, double t0, double amp, double len, double pan)
{
	size_t s0 = (size_t)(t0 * RATE);
	double prev = 0;
	for (size_t i = 0; i < (size_t)(len * RATE) && s0 + i < FRAMES; i++) {
		double t = (double)i / RATE;
		double n = noise();
		double hp = n - prev; /* a first difference: only the highs */
		prev = n;
		double v = amp * hp * exp(-t * 6 / len);
		l[s0 + i] += (float)(v * (1 - pan));
		r[s0 + i] += (float)(v * (1 + pan));
	}
}

/* A plucked or held tone from a saw: attack, decay to a level, release at the end. */
static void tone(float *out, double t0, double len, double f, double amp, double decay, double sustain, double detune)
{
	size_t s0 = (size_t)(t0 * RATE);
	size_t n = (size_t)((len + 0.08) * RATE);
	double ph1 = 0, ph2 = 0.3, lp = 0;
	for (size_t i = 0; i < n && s0 + i < FRAMES; i++) {
		double t = (double)i / RATE;
		double env = (t < 0.005 ? t / 0.005 : 1) * (sustain + (1 - sustain) * exp(-t * decay));
		if (t > len)
			env *= exp(-(t - len) * 60);
		ph1 += f / RATE;
		ph2 += f * (1 + detune) / RATE;
		double x = 0.5 * (saw(ph1 - floor(ph1), f) + saw(ph2 - floor(ph2), f));
		lp += (0.08 + 0.5 * exp(-t * decay)) * (x - lp); /* darker as the note decays */
		out[s0 + i] += (float)(amp * env * lp);
	}
}

/* A sung line: a saw with vibrato through three formants (vowel), notes glide. */
static void voice(float *out, const double *notes, const double *starts, int n, double end, const double formants[3],
		  double amp)
{
	struct reson f[3];
	static const double bw[3] = {90, 110, 170};
	for (int k = 0; k < 3; k++) {
		reson_set(&f[k], formants[k], bw[k]);
		f[k].y1 = f[k].y2 = 0;
	}
	double phase = 0, pitch = mtof(notes[0]);
	for (size_t i = (size_t)(starts[0] * RATE); i < (size_t)(end * RATE) && i < FRAMES; i++) {
		double t = (double)i / RATE;
		int k = 0;
		while (k + 1 < n && t >= starts[k + 1])
			k++;
		double target = mtof(notes[k]);
		pitch += (target - pitch) * 0.002;
		double vib = 1 + 0.006 * sin(2 * PI * 5.5 * t) * fmin(1, (t - starts[k]) * 2);
		phase += pitch * vib / RATE;
		double src = saw(phase - floor(phase), pitch) + 0.02 * noise();
		double y = reson_run(&f[0], src) + 0.6 * reson_run(&f[1], src) + 0.25 * reson_run(&f[2], src);
		double next = k + 1 < n ? starts[k + 1] : end;
		double env = fmin(1, (t - starts[k]) * 20) * fmin(1, (next - t) * 12);
		out[i] += (float)(amp * env * y);
	}
}

static int write_wav(const char *dir, const char *name, float *l, float *r)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int ch = r ? 2 : 1;
	/* normalize to a -6 dBFS peak */
	float peak = 0;
	for (size_t i = 0; i < FRAMES; i++) {
		peak = fabsf(l[i]) > peak ? fabsf(l[i]) : peak;
		if (r)
			peak = fabsf(r[i]) > peak ? fabsf(r[i]) : peak;
	}
	float g = peak > 0 ? 0.5f / peak : 1;
	float *buf = malloc(sizeof *buf * FRAMES * (size_t)ch);
	if (!buf) {
		fprintf(stderr, "mkdemo: out of memory\n");
		return -1;
	}
	for (size_t i = 0; i < FRAMES; i++) {
		buf[i * (size_t)ch] = l[i] * g;
		if (r)
			buf[i * 2 + 1] = r[i] * g;
	}
	SF_INFO info = {.samplerate = RATE, .channels = ch, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_24};
	SNDFILE *f = sf_open(path, SFM_WRITE, &info);
	int rc = -1;
	if (!f) {
		fprintf(stderr, "mkdemo: cannot write %s: %s\n", path, sf_strerror(NULL));
	} else if (sf_writef_float(f, buf, FRAMES) != FRAMES) {
		fprintf(stderr, "mkdemo: writing %s failed: %s\n", path, sf_strerror(f));
	} else {
		rc = 0;
	}
	if (f && sf_close(f) != 0)
		rc = -1;
	free(buf);
	if (rc == 0)
		printf("mkdemo: wrote %s (%s)\n", path, ch == 2 ? "stereo" : "mono");
	return rc;
}

#define CLEAR() (memset(a, 0, sizeof *a * FRAMES), memset(b, 0, sizeof *b * FRAMES))

/* kick, snare, overheads; returns the number of files that could not be written */
static int make_drums(const char *dir, float *a, float *b, int bars)
{
	int fails = 0;
	rng_state = 0x1234567u;
	for (int bar = 0; bar < bars; bar++) {
		double t = bar * BAR;
		kick_at(a, t, 1.0);
		kick_at(a, t + 2 * BEAT, 1.0);
		if (bar % 2)
			kick_at(a, t + 2.5 * BEAT, 0.7);
	}
	fails += write_wav(dir, "kick.wav", a, NULL) != 0;

	CLEAR();
	rng_state = 0x2345678u;
	for (int bar = 0; bar < bars; bar++) {
		snare_at(a, bar * BAR + BEAT, 1.0);
		snare_at(a, bar * BAR + 3 * BEAT, 1.0);
		if (bar % 4 == 3)
			snare_at(a, bar * BAR + 3.75 * BEAT, 0.5);
	}
	fails += write_wav(dir, "snare.wav", a, NULL) != 0;

	CLEAR();
	rng_state = 0x3456789u;
	for (int bar = 0; bar < bars; bar++) {
		for (int e = 0; e < 8; e++)
			hat_at(a, b, bar * BAR + e * BEAT / 2, e % 2 ? 0.35 : 0.55, 0.07, 0.4);
		if (bar % 4 == 0)
			hat_at(a, b, bar * BAR, 0.6, 1.8, -0.3); /* a crash */
	}
	fails += write_wav(dir, "overheads.wav", a, b) != 0;
	return fails;
}

/* bass, two guitars, keys */
static int make_band(const char *dir, float *a, float *b, int bars)
{
	int fails = 0;
	CLEAR();
	for (int bar = 0; bar < bars; bar++) {
		int c = bar % 4;
		static const int pattern[8] = {0, 0, 12, 0, 0, 7, 0, 12};
		for (int e = 0; e < 8; e++)
			tone(a, bar * BAR + e * BEAT / 2, BEAT / 2 * 0.8, mtof(roots[c] - 12 + pattern[e]), 0.8, 6, 0.4,
			     0.0);
	}
	fails += write_wav(dir, "bass.wav", a, NULL) != 0;

	/* two guitars: one strums on the beat, the other on the off-beats an octave up */
	for (int g = 0; g < 2; g++) {
		CLEAR();
		for (int bar = 0; bar < bars; bar++) {
			int c = bar % 4;
			for (int beat = 0; beat < 4; beat++) {
				double t = bar * BAR + beat * BEAT + (g ? BEAT / 2 : 0);
				for (int k = 0; k < 3; k++)
					tone(a, t + k * 0.012, BEAT * 0.45, mtof(chords[c][k] + 12 * g - 12 * !g), 0.4,
					     9, 0.25, 0.004);
			}
		}
		fails += write_wav(dir, g ? "guitar2.wav" : "guitar1.wav", a, NULL) != 0;
	}

	/* keys: held chords, voiced wide across the stereo image */
	CLEAR();
	for (int bar = 0; bar < bars; bar++) {
		int c = bar % 4;
		for (int k = 0; k < 3; k++) {
			tone(k == 0   ? a
			     : k == 2 ? b
				      : a,
			     bar * BAR, BAR * 0.95, mtof(chords[c][k]), 0.35, 1.5, 0.5, 0.002);
			tone(k == 1   ? b
			     : k == 0 ? b
				      : a,
			     bar * BAR + 0.01, BAR * 0.95, mtof(chords[c][k] + 12), 0.15, 2, 0.4, 0.003);
		}
	}
	fails += write_wav(dir, "keys.wav", a, b) != 0;
	return fails;
}

/* the lead "sings" an "ah" line from bar 2, the backing "oo" harmonies from bar 5 */
static int make_vocals(const char *dir, float *a, float *b, int bars)
{
	int fails = 0;
	CLEAR();
	rng_state = 0x456789au;
	{
		static const int line[8] = {64, 67, 69, 67, 64, 62, 60, 62};
		double notes[64], starts[64];
		int n = 0;
		for (int bar = 1; bar < bars && n < 60; bar++)
			for (int h = 0; h < 2; h++, n++) {
				notes[n] = line[(bar * 2 + h) % 8];
				starts[n] = bar * BAR + h * BAR / 2;
			}
		static const double ah[3] = {750, 1150, 2600};
		voice(a, notes, starts, n, bars * BAR - 0.3, ah, 1.0);
	}
	fails += write_wav(dir, "vocal.wav", a, NULL) != 0;

	CLEAR();
	rng_state = 0x56789abu;
	{
		double notes[32], starts[32];
		int n = 0;
		for (int bar = 4; bar < bars && n < 30; bar++, n++) {
			notes[n] = chords[bar % 4][2];
			starts[n] = bar * BAR;
		}
		static const double oo[3] = {320, 850, 2250};
		voice(a, notes, starts, n, bars * BAR - 0.3, oo, 0.8);
	}
	fails += write_wav(dir, "backing.wav", a, NULL) != 0;
	return fails;
}

int main(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: mkdemo DIR   (writes the demo session's sources into DIR)\n");
		return 2;
	}
	const char *dir = argv[1];
	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "mkdemo: cannot create %s: %s\n", dir, strerror(errno));
		return 1;
	}
	float *a = calloc(FRAMES, sizeof *a), *b = calloc(FRAMES, sizeof *b);
	if (!a || !b) {
		fprintf(stderr, "mkdemo: out of memory\n");
		return 1;
	}
	int bars = (int)(SECONDS / BAR);
	int fails = make_drums(dir, a, b, bars);
	fails += make_band(dir, a, b, bars);
	fails += make_vocals(dir, a, b, bars);
	free(a);
	free(b);
	return fails ? 1 : 0;
}
