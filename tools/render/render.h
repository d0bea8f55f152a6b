/* mixdesk: the offline mixdown render (`mixdesk render`, docs/RENDER.md). Two passes over the same engine
 * the live client runs: pass 1 reads the sources, runs the engine period by period into a float spool and
 * measures it (libebur128: true peak, loudness, range), on two threads with the strips split between two
 * engines when the console allows it (exact: everything after the strips is linear); pass 2 applies one static
 * gain, TPDF dither and writes the WAV (and the stems) under temporary names that are renamed only when
 * complete. Before any work the sources are checked (render_check_sources, which `mixdesk check` shares) and
 * no output may be the session, a source or another output. Every function here is [control]. */
#ifndef MD_RENDER_H
#define MD_RENDER_H

#include "engine/model/console.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define RENDER_MAX_WARNINGS 32
#define RENDER_MAX_PLUGINS 64 /* plugin inserts listed in the report (the count says how many there were) */

/* a plugin insert the render ran */
struct render_plugin {
	char where[MD_NAME_MAX + 16]; /* "strip 'Vox'", "bus 'Verb'", "master" */
	int slot;                     /* 1..MD_MAX_INSERTS */
	char uri[256], name[128];
	bool bypass;
};

struct render_opts {
	const char *out;       /* the mixdown WAV */
	const char *stems_dir; /* NULL: no stems */
	const char *title;     /* what the BWF description names (the session file), or NULL */
	const char *session;   /* the session file, or NULL: no output may be it */
	const char *report;    /* the JSON report the caller writes after the render (render_write_report), or
				  * NULL: checked against the session, the sources and the other outputs like them */
	int bits;              /* 16, 24, 32 (float); 0: the session's render.bits */
	bool headroom_set;     /* else the session's render.headroom */
	float headroom;        /* true-peak target, dBTP */
	bool no_normalize;     /* only turn down to the target, never up */
	bool fixed_gain;       /* apply gain_db instead of normalizing */
	float gain_db;
	double start; /* seconds */
	bool end_set; /* else the longest source + tail */
	double end;
	bool tail_set; /* else the session's render.tail */
	double tail;
	bool resample;               /* convert sources at other rates with libsamplerate */
	bool progress;               /* draw a progress bar on stderr */
	int threads;                 /* 1: one engine on one thread; 2: two threads (two engines when the console
				  * allows the split); 0: 2 on a machine with two or more cores, else 1 */
	volatile sig_atomic_t *stop; /* set (by a signal handler) to abandon the render; may be NULL */
};

struct render_report {
	double duration; /* seconds rendered */
	uint64_t frames;
	uint32_t rate;
	int bits;
	double gain_db;          /* the static gain applied to the mix and every stem */
	double sample_peak_db;   /* of the written samples (after gain and dither), dBFS */
	double true_peak_db;     /* of the mix before the gain, plus the gain, dBTP */
	double loudness;         /* integrated, LUFS (before the gain, plus the gain) */
	double lra;              /* loudness range, LU */
	uint64_t clipped_before; /* samples above 0 dBFS in the mix before the gain */
	uint64_t clipped_after;  /* samples clamped when writing (only possible with --gain) */
	double dc_db[2];         /* mean of each channel after the gain, dBFS */
	double silent_share;     /* share of 100 ms windows below -60 dBFS after the gain, 0..1 */
	int nstems;
	bool interrupted;
	int nwarnings;
	char warnings[RENDER_MAX_WARNINGS][320];
	int nplugins;     /* plugin inserts in the console (the first RENDER_MAX_PLUGINS listed) */
	uint32_t latency; /* frames of plugin latency compensated: the mix is put back at time zero */
	struct render_plugin plugins[RENDER_MAX_PLUGINS];
	int threads, engines; /* how pass 1 ran */
	char split_off[256];  /* why it ran one engine (empty when two) */
	/* where the time went, seconds. read, dsp, mix and measure are summed over the threads (time inside
	 * those jobs); pass1 is the wall time of reading + DSP + mix + measuring, so with two threads
	 * read + dsp + mix + measure - pass1 is how much of it overlapped */
	double t_read, t_dsp, t_mix, t_measure, t_pass1, t_write, t_total;
};

/* Render a console (sources relative to base_dir) as described by o. On failure err names what went wrong,
 * where and what was expected, and no file is left under the output's (or a stem's) name.
 * Before any work it refuses (MD_ERR_EXISTS) an output (the mix, the report, a stem) that is the session file,
 * a source or another output, and (with the first problem's code) any problem render_check_sources finds.
 * MD_ERR_IO with rep->interrupted when o->stop was raised. */
enum md_err render_console(const struct md_console *c, const char *base_dir, const struct render_opts *o,
			   struct render_report *rep, char *err, size_t errlen);

/* The report as text (stdout) and as a JSON file (json-c); the latter returns MD_ERR_IO with err set. */
void render_print_report(FILE *f, const struct render_report *r, bool timings);
enum md_err render_write_report(const char *path, const struct render_report *r, char *err, size_t errlen);

/* ---- the sources, checked before a render: one check for render_console and `mixdesk check` ---- */

enum render_problem_kind {
	RENDER_SRC_MISSING,    /* the file is not there (fine for a console used live, not for a bounce) */
	RENDER_SRC_UNREADABLE, /* there but cannot be read (permissions, a directory) */
	RENDER_SRC_FORMAT,     /* not an audio file libsndfile can read */
	RENDER_SRC_CHANNELS,   /* not the strip's channel count (a mono file on a stereo strip included) */
	RENDER_SRC_RATE,       /* another sample rate than the session's (without resample), or one too far off */
};

struct render_problem {
	int strip; /* index into the console's strips (messages say strip + 1) */
	enum render_problem_kind kind;
	enum md_err code; /* what render_console returns for it */
	char msg[1024];   /* "strip 3 (Bass): source 'bass.wav' (/abs/bass.wav) is at 44100 Hz ..." */
};

typedef void (*render_problem_fn)(void *ctx, const struct render_problem *p);

/* Every problem with the console's sources that makes render_console refuse it (base_dir and resample as the
 * render is given them): each strip's file is there, readable, an audio file libsndfile opens (header only),
 * with the strip's channel count and the session's sample rate (any rate libsamplerate converts with resample).
 * fn (may be NULL) gets each problem in strip order, a file with two problems twice; returns how many. */
int render_check_sources(const struct md_console *c, const char *base_dir, bool resample, render_problem_fn fn,
			 void *ctx);

#endif
