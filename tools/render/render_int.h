/* mixdesk: the offline render's private parts, shared by render.c (render_console: the steps of one render),
 * check.c (the sources and the outputs' names checked before any work; render_check_sources, which `mixdesk
 * check` shares), source.c (reading the strips' sources), spool.c (the float spool), split.c (one engine or
 * two), pass1.c
 * (pass 1: the engines, the lanes and their two-thread scheduler), output.c (the files: create, pass 2, bext,
 * finish) and report.c (the progress bar and the report). Every function is [control]; pass 1's jobs and pass
 * 2's converter run on helper threads of the render, never on the audio thread. */
#ifndef MD_RENDER_INT_H
#define MD_RENDER_INT_H

#include "tools/render/render.h"

#include <limits.h>
#include <samplerate.h>
#include <sndfile.h>

/* ---- the float spool (spool.c): interleaved stereo, in memory while the budget lasts, else an unlinked temp
 * file ---- */

struct rdr_spool {
	float *mem;
	FILE *f;
	size_t frames, pos;
};

/* room for frames frames, in memory when they fit in *budget (which they then use up), else in a file */
enum md_err rdr_spool_open(struct rdr_spool *s, size_t frames, size_t *budget, char *err, size_t errlen);
enum md_err rdr_spool_put(struct rdr_spool *s, const float *x, size_t n, char *err, size_t errlen);
/* n frames from the spool: a pointer into memory, or read into buf; NULL with err set on a read error */
const float *rdr_spool_get(struct rdr_spool *s, float *buf, size_t n, char *err, size_t errlen);
void rdr_spool_rewind(struct rdr_spool *s);
void rdr_spool_close(struct rdr_spool *s);

/* ---- sources (source.c) ---- */

struct rdr_source {
	int strip, nch;
	int16_t slot[2]; /* the engine's input slot(s) of its strip */
	char path[PATH_MAX];
	SNDFILE *sf;
	SF_INFO info;
	SRC_STATE *src;
	double ratio; /* session rate / source rate */
	float *rbuf;  /* the resampler's input */
	uint64_t len; /* length in session frames */
	float *ra;    /* read-ahead of the source at the session rate: ra_len frames, ra_pos used */
	size_t ra_len, ra_pos;
	int raw_bits; /* 16 or 24: PCM read as integers and converted here (exactly as libsndfile would) */
	void *raw;
	int64_t offset; /* where the file's first frame sits on the timeline (the strip's offset), frames */
	uint64_t lead;  /* frames of silence still to give before the file's first frame */
};
/* where a source ends on the timeline, frames (0 when it ends before the timeline starts) */
uint64_t rdr_source_end(const struct rdr_source *s);

/* what a check found, as a render's error: the first problem's message in err and its code, and how many */
struct rdr_first {
	char *err;
	size_t errlen;
	enum md_err code;
	int n;
};
void rdr_keep_first(void *ctx, const struct render_problem *p); /* a render_problem_fn on a struct rdr_first */

/* The one check of strip m's source (strip: its index), for the render and `mixdesk check` alike (check.c):
 * path gets its path (console_source_path); each problem goes to fn (may be NULL); returns how many. With sf
 * non-NULL and no problem, *sf is the file open for reading and info its header (else *sf is NULL). */
int rdr_source_probe(const struct md_strip_model *m, int strip, const char *base, uint32_t rate, bool resample,
		     char *path, size_t pathlen, SNDFILE **sf, SF_INFO *info, render_problem_fn fn, void *ctx);

/* strip m's source (relative to base), positioned at frame start of the session; err names the file and what
 * was expected (rdr_source_probe's first problem). s->slot is the caller's to set. */
enum md_err rdr_source_open(struct rdr_source *s, const struct md_strip_model *m, int strip, const char *base,
			    uint32_t rate, bool resample, uint64_t start, char *err, size_t errlen);
/* n frames of the source into its strip's input buffers (il: an interleaving buffer of n frames); silence after
 * its end */
void rdr_source_read(struct rdr_source *s, float *il, float *const in[2], size_t n);
void rdr_source_close(struct rdr_source *s);

/* ---- outputs (output.c): a temporary file beside the final name, renamed when complete ---- */

struct rdr_output {
	char path[PATH_MAX], tmp[PATH_MAX + 32];
	SNDFILE *sf;
	struct rdr_spool sp;
	uint64_t seed;
	const char *what; /* "mix" or a stem's name, for messages */
};

enum md_err rdr_output_create(struct rdr_output *o, const char *path, uint32_t rate, int bits, char *err,
			      size_t errlen);
/* the BWF bext chunk: what the file is, who made it, when, and where on the timeline it starts */
void rdr_output_set_bext(struct rdr_output *o, const struct render_opts *opt, uint32_t rate, int bits, uint64_t start,
			 double gain_db, double target);
/* pass 2 for one output: its spool x gain, dithered and converted to bits, written; *peak gets the highest
 * written |sample| (full scale 1), *clamped the samples clamped to full scale */
enum md_err rdr_output_write(struct rdr_output *o, int bits, float gain, double *peak, uint64_t *clamped,
			     const struct render_opts *opt, int threads, char *err, size_t errlen);
/* close and remove (keep false, or on failure) or rename into place (keep true); frees the spool */
enum md_err rdr_output_finish(struct rdr_output *o, bool keep, char *err, size_t errlen);

/* ---- one render, as render_console sets it up for the passes ---- */

struct rdr_render {
	const struct render_opts *opt;
	struct render_report *rep;
	struct md_console *c; /* a copy of the console with the render's I/O slots */
	int16_t nslots;       /* engine slots in use */
	uint32_t rate;
	int bits, threads;
	double target;           /* the true-peak target, dBTP */
	struct rdr_source *srcs; /* the strips that have a source */
	int nsrc;
	struct rdr_output *outs; /* [0] the mix, then one per strip and bus with --stems */
	int nouts;
	uint64_t start, frames; /* the range, in session frames */
	int shown;              /* the progress bar's last percentage (-1: none yet) */
};

/* ---- the outputs' names (check.c) ---- */

/* the file of output k >= 1 with --stems in dir: strip k - 1, or bus k - 1 - nstrips, named after it ('/' and
 * control characters as '_', a bus with ".bus") */
void rdr_stem_path(char *dst, size_t size, const struct md_console *c, const char *dir, int k);
/* MD_ERR_EXISTS, err naming both, when an output (the mix, r->opt->report, a stem) is the session file
 * (r->opt->session), a source or another output: the same file (device and inode) when it exists, else the
 * same name once its folders are resolved (realpath) */
enum md_err rdr_check_outputs(const struct rdr_render *r, const char *base_dir, char *err, size_t errlen);

/* ---- one engine or two (split.c) ---- */

#define RDR_MAX_GROUPS 2

/* How many engines render the console (1 or 2) and which group each strip goes to (group_of[strip]); why names
 * the reason for one engine. Fixed by the console alone (never by timing). */
int rdr_split_plan(const struct md_console *c, int threads, int *group_of, char *why, size_t whylen);

/* ---- pass 1 (pass1.c): render and measure ---- */

struct rdr_pass1;

/* what pass 1 measured on the mix before the gain */
struct rdr_measure {
	double true_peak;      /* linear, the higher channel */
	double lufs, lra;      /* integrated loudness (-inf when none), loudness range */
	double dc[2];          /* each channel's sum */
	uint64_t clipped;      /* samples above full scale */
	const float *win_peak; /* the peak of each window of win frames (pass 1's, valid until it is freed) */
	size_t win;
};

struct rdr_pass1 *rdr_pass1_new(void);
/* the plan (rep gets threads, engines and split_off), the buffers, the meters and the engines (run through the
 * pre-roll) */
enum md_err rdr_pass1_setup(struct rdr_pass1 *p, struct rdr_render *r, char *err, size_t errlen);
/* pass 1 on this thread and (with two threads) a worker: the spools of r->outs filled, the mix measured; rep
 * gets the threads used, the timings and interrupted */
enum md_err rdr_pass1_run(struct rdr_pass1 *p, struct render_report *rep, char *err, size_t errlen);
void rdr_pass1_measured(const struct rdr_pass1 *p, struct rdr_measure *m);
void rdr_pass1_free(struct rdr_pass1 *p);

/* ---- the progress bar (report.c): on stderr, redrawn when the percentage changes ---- */

void rdr_progress(double frac, int *shown);

#endif
