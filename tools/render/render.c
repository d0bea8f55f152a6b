/* mixdesk: the offline mixdown render (docs/RENDER.md).
 *
 * Pass 1 reads every strip's source (libsndfile, libsamplerate with --resample), runs the engine itself
 * (engine_build/engine_run, not the mixer: no queue, no JACK) period by period with the timeline rolling, and
 * spools the float master (and the stems) to memory or an anonymous temporary file while libebur128 measures
 * the mix: true peak (4x oversampled), integrated loudness, loudness range. Pass 2 applies one static gain
 * (true peak -> the headroom target), TPDF dither with a fixed seed, converts to integers itself (so nothing
 * wraps) and writes the WAV with a BWF bext chunk. Every output is written under a temporary name beside its
 * final name and renamed only when complete, so an error or Ctrl-C leaves nothing half-written.
 * Every function here is [control]. */
#include "tools/render/render.h"

#include "engine/engine.h"
#include "sessions/session.h"

#include <ebur128.h>
#include <errno.h>
#include <getopt.h>
#include <json.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <samplerate.h>
#include <stdarg.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PERIOD 1024                 /* frames per engine call */
#define PREROLL_SECONDS 0.05        /* silence run before frame 0 so new strips have faded in */
#define SPOOL_BUDGET (512u << 20)   /* bytes of float spool kept in memory; the rest goes to temporary files */
#define SILENT_DB (-60.0)           /* a 100 ms window whose peak is below this (after the gain) is silent */
#define DC_WARN_DB (-60.0)          /* a channel mean above this (after the gain) is flagged as DC offset */
#define DITHER_SEED 0x6d69786465736bull /* "mixdesk": the same session renders to the same samples */

/* ---- small helpers ---- */

static double to_db(double g)
{
	return g > 0.0 ? 20.0 * log10(g) : -HUGE_VAL;
}

static void warn(struct render_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct render_report *r, const char *fmt, ...)
{
	if (r->nwarnings >= RENDER_MAX_WARNINGS)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->warnings[r->nwarnings++], sizeof r->warnings[0], fmt, ap);
	va_end(ap);
}

/* splitmix64: tiny, fast and good enough for dither; one draw gives both uniforms of a TPDF sample */
static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ---- the float spool: interleaved stereo, in memory while the budget lasts, else an unlinked temp file ---- */

struct spool {
	float *mem;
	FILE *f;
	size_t frames, pos;
};

static enum md_err spool_open(struct spool *s, size_t frames, size_t *budget, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	s->frames = frames;
	size_t bytes = frames * 2 * sizeof(float);
	if (bytes <= *budget && (s->mem = malloc(bytes ? bytes : 1))) {
		*budget -= bytes;
		return MD_OK;
	}
	if (!(s->f = tmpfile())) {
		snprintf(err, errlen, "cannot create a temporary file for %zu frames of the mix: %s", frames,
			 strerror(errno));
		return MD_ERR_IO;
	}
	return MD_OK;
}

static enum md_err spool_put(struct spool *s, const float *x, size_t n, char *err, size_t errlen)
{
	if (s->mem)
		memcpy(s->mem + 2 * s->pos, x, n * 2 * sizeof(float));
	else if (fwrite(x, 2 * sizeof(float), n, s->f) != n) {
		snprintf(err, errlen, "writing the temporary float mix: %s", strerror(errno));
		return MD_ERR_IO;
	}
	s->pos += n;
	return MD_OK;
}

/* n frames from the spool: a pointer into memory, or read into buf */
static const float *spool_get(struct spool *s, float *buf, size_t n, char *err, size_t errlen)
{
	const float *p = buf;
	if (s->mem)
		p = s->mem + 2 * s->pos;
	else if (fread(buf, 2 * sizeof(float), n, s->f) != n) {
		snprintf(err, errlen, "reading back the temporary float mix: %s", strerror(errno));
		return NULL;
	}
	s->pos += n;
	return p;
}

static void spool_rewind(struct spool *s)
{
	s->pos = 0;
	if (s->f)
		rewind(s->f);
}

static void spool_close(struct spool *s)
{
	free(s->mem);
	if (s->f)
		fclose(s->f);
	memset(s, 0, sizeof *s);
}

/* ---- sources ---- */

struct source {
	int strip, nch;
	int16_t slot[2]; /* the engine's input slot(s) of its strip */
	char path[PATH_MAX];
	SNDFILE *sf;
	SF_INFO info;
	SRC_STATE *src;
	double ratio;  /* session rate / source rate */
	float *rbuf;   /* the resampler's input */
	uint64_t len;  /* length in session frames */
	float *ra;     /* read-ahead of the source at the session rate: ra_len frames, ra_pos used */
	size_t ra_len, ra_pos;
	int raw_bits;  /* 16 or 24: PCM read as integers and converted here (exactly as libsndfile would) */
	void *raw;
};

/* frames read at once: libsndfile reads with one read() per call, and a call per period of every source
 * made 135,000 system calls for 16 sources of 3 minutes */
#define RA_FRAMES 16384

#define RBUF_FRAMES 4096

static long source_feed(void *data, float **out)
{
	struct source *s = data;
	*out = s->rbuf;
	return (long)sf_readf_float(s->sf, s->rbuf, RBUF_FRAMES);
}

static void source_close(struct source *s)
{
	if (s->sf)
		sf_close(s->sf);
	if (s->src)
		src_delete(s->src);
	free(s->rbuf);
	free(s->ra);
	free(s->raw);
	memset(s, 0, sizeof *s);
}

static enum md_err source_open(struct source *s, const struct md_strip_model *m, int strip, const char *base,
			       uint32_t rate, bool resample, uint64_t start, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	s->strip = strip;
	s->nch = m->stereo ? 2 : 1;
	if (m->source[0] == '/' || !base || !*base)
		md_strlcpy(s->path, m->source, sizeof s->path);
	else
		snprintf(s->path, sizeof s->path, "%s/%s", base, m->source);
	struct stat st;
	if (stat(s->path, &st) != 0) {
		snprintf(err, errlen, "strip '%s': source '%s' (%s): %s", m->name, m->source, s->path, strerror(errno));
		return MD_ERR_NOTFOUND;
	}
	if (!(s->sf = sf_open(s->path, SFM_READ, &s->info))) {
		snprintf(err, errlen, "strip '%s': source '%s' is not an audio file libsndfile can read (%s)", m->name,
			 s->path, sf_strerror(NULL));
		return MD_ERR_FORMAT;
	}
	if (s->info.channels != s->nch) {
		snprintf(err, errlen, "strip '%s' is %s but its source '%s' has %d channel%s (expected %d)", m->name,
			 m->stereo ? "stereo" : "mono", s->path, s->info.channels, s->info.channels == 1 ? "" : "s",
			 s->nch);
		return MD_ERR_FORMAT;
	}
	s->ratio = (double)rate / (double)s->info.samplerate;
	s->len = (uint64_t)ceil((double)s->info.frames * s->ratio - 1e-6);
	if ((uint32_t)s->info.samplerate != rate) {
		if (!resample) {
			snprintf(err, errlen,
				 "strip '%s': source '%s' is at %d Hz but the session is at %u Hz "
				 "(convert it, or render with --resample)",
				 m->name, s->path, s->info.samplerate, rate);
			return MD_ERR_FORMAT;
		}
		int e = 0;
		if (!(s->rbuf = malloc(RBUF_FRAMES * (size_t)s->nch * sizeof(float))) ||
		    !(s->src = src_callback_new(source_feed, SRC_SINC_BEST_QUALITY, s->nch, &e, s))) {
			snprintf(err, errlen, "strip '%s': cannot set up the resampler: %s", m->name,
				 e ? src_strerror(e) : "out of memory");
			return MD_ERR_NOMEM;
		}
	}
	/* 16- and 24-bit PCM: libsndfile's own conversion to float is a scalar loop; reading integers and
	 * scaling them here by the same power of two gives the same floats, bit for bit, in a loop that
	 * vectorises */
	int sub = s->info.format & SF_FORMAT_SUBMASK;
	s->raw_bits = s->src ? 0 : sub == SF_FORMAT_PCM_16 ? 16 : sub == SF_FORMAT_PCM_24 ? 24 : 0;
	if (s->raw_bits && !(s->raw = malloc(RA_FRAMES * (size_t)s->nch * sizeof(int32_t)))) {
		snprintf(err, errlen, "strip '%s': out of memory", m->name);
		return MD_ERR_NOMEM;
	}
	if (!s->src && !(s->ra = malloc(RA_FRAMES * (size_t)s->nch * sizeof(float)))) {
		snprintf(err, errlen, "strip '%s': out of memory", m->name);
		return MD_ERR_NOMEM;
	}
	if (start > 0) {
		sf_count_t at = (sf_count_t)llround((double)start / s->ratio);
		if (at >= s->info.frames || sf_seek(s->sf, at, SEEK_SET) < 0)
			s->len = 0; /* the range starts after this source ends */
	}
	return MD_OK;
}

/* up to RA_FRAMES frames into s->ra; the count read */
static sf_count_t source_fill(struct source *s)
{
	if (s->raw_bits == 0)
		return sf_readf_float(s->sf, s->ra, RA_FRAMES);
	sf_count_t r;
	size_t k;
	if (s->raw_bits == 16) {
		const short *x = s->raw;
		r = sf_readf_short(s->sf, s->raw, RA_FRAMES);
		k = r > 0 ? (size_t)r * (size_t)s->nch : 0;
		for (size_t i = 0; i < k; i++)
			s->ra[i] = (float)x[i] * (1.0f / 32768.0f);
	} else {
		const int32_t *x = s->raw; /* libsndfile puts 24 bits in the top of an int */
		r = sf_readf_int(s->sf, s->raw, RA_FRAMES);
		k = r > 0 ? (size_t)r * (size_t)s->nch : 0;
		for (size_t i = 0; i < k; i++)
			s->ra[i] = (float)x[i] * (1.0f / 2147483648.0f);
	}
	return r;
}

/* n frames of the source into its strip's input buffers; silence after its end */
static void source_read(struct source *s, float *il, float *const in[2], size_t n)
{
	size_t got = 0;
	if (s->len > 0) {
		if (s->src)
			got = (size_t)src_callback_read(s->src, s->ratio, (long)n, il);
		else
			while (got < n) {
				if (s->ra_pos == s->ra_len) {
					s->ra_pos = 0;
					sf_count_t r = source_fill(s);
					s->ra_len = r > 0 ? (size_t)r : 0;
					if (s->ra_len == 0)
						break;
				}
				size_t k = s->ra_len - s->ra_pos < n - got ? s->ra_len - s->ra_pos : n - got;
				memcpy(il + got * (size_t)s->nch, s->ra + s->ra_pos * (size_t)s->nch,
				       k * (size_t)s->nch * sizeof(float));
				s->ra_pos += k;
				got += k;
			}
	}
	if (s->nch == 1) {
		memcpy(in[0], il, got * sizeof(float));
		memset(in[0] + got, 0, (n - got) * sizeof(float));
		return;
	}
	for (size_t i = 0; i < got; i++) {
		in[0][i] = il[2 * i];
		in[1][i] = il[2 * i + 1];
	}
	for (size_t i = got; i < n; i++)
		in[0][i] = in[1][i] = 0.0f;
}

/* ---- outputs: a temporary file beside the final name, renamed when complete ---- */

struct output {
	char path[PATH_MAX], tmp[PATH_MAX + 32];
	SNDFILE *sf;
	struct spool sp;
	uint64_t seed;
	const char *what; /* "mix" or a stem's name, for messages */
};

static enum md_err output_create(struct output *o, const char *path, uint32_t rate, int bits, char *err,
				 size_t errlen)
{
	md_strlcpy(o->path, path, sizeof o->path);
	char dcopy[PATH_MAX], bcopy[PATH_MAX];
	md_strlcpy(dcopy, path, sizeof dcopy);
	md_strlcpy(bcopy, path, sizeof bcopy);
	const char *dir = dirname(dcopy), *base = basename(bcopy);
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "output '%s' is a directory (expected a file name such as mix.wav)", path);
		return MD_ERR_IO;
	}
	snprintf(o->tmp, sizeof o->tmp, "%s/.%s.XXXXXX.part", dir, base);
	int fd = mkstemps(o->tmp, 5);
	if (fd < 0) {
		snprintf(err, errlen, "cannot write the output '%s': cannot create a file in '%s': %s", path, dir,
			 strerror(errno));
		o->tmp[0] = 0;
		return MD_ERR_IO;
	}
	mode_t mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) != 0) { /* mkstemp makes 0600; the result should look like any new file */
		snprintf(err, errlen, "cannot set the mode of '%s': %s", o->tmp, strerror(errno));
		close(fd);
		return MD_ERR_IO;
	}
	SF_INFO info = {.samplerate = (int)rate, .channels = 2,
			.format = SF_FORMAT_WAV | (bits == 16   ? SF_FORMAT_PCM_16
						   : bits == 24 ? SF_FORMAT_PCM_24
								: SF_FORMAT_FLOAT)};
	if (!(o->sf = sf_open_fd(fd, SFM_WRITE, &info, SF_TRUE))) {
		snprintf(err, errlen, "cannot write the output '%s': %s", path, sf_strerror(NULL));
		close(fd);
		return MD_ERR_IO;
	}
	/* no PEAK chunk in float files: libsndfile stamps it with the current time, so the same session would
	 * not render to the same bytes a second later (the peak is in the report) */
	sf_command(o->sf, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);
	return MD_OK;
}

/* [control] close and remove (on failure) or rename into place (on success) */
static enum md_err output_finish(struct output *o, bool keep, char *err, size_t errlen)
{
	enum md_err ret = MD_OK;
	if (o->sf) {
		if (keep)
			sf_write_sync(o->sf);
		if (sf_close(o->sf) != 0 && keep) {
			snprintf(err, errlen, "closing '%s' failed", o->tmp);
			ret = MD_ERR_IO;
			keep = false;
		}
		o->sf = NULL;
	}
	if (o->tmp[0]) {
		if (keep && rename(o->tmp, o->path) != 0) {
			snprintf(err, errlen, "cannot rename '%s' to '%s': %s", o->tmp, o->path, strerror(errno));
			ret = MD_ERR_IO;
			keep = false;
		}
		if (!keep)
			unlink(o->tmp);
		o->tmp[0] = 0;
	}
	spool_close(&o->sp);
	return ret;
}

/* the BWF bext chunk: what the file is, who made it, when, and where on the timeline it starts */
static void set_bext(struct output *o, const struct render_opts *opt, uint32_t rate, int bits, uint64_t start,
		     double gain_db, double target)
{
	SF_BROADCAST_INFO bi;
	memset(&bi, 0, sizeof bi);
	const char *title = opt->title ? opt->title : "session";
	if (opt->fixed_gain)
		snprintf(bi.description, sizeof bi.description, "mixdesk %s of %s, fixed gain %+.2f dB", o->what,
			 title, gain_db);
	else
		snprintf(bi.description, sizeof bi.description,
			 "mixdesk %s of %s, gain %+.2f dB, mix true peak %.1f dBTP", o->what, title, gain_db, target);
	memcpy(bi.originator, "mixdesk", 7);
	snprintf(bi.originator_reference, sizeof bi.originator_reference, "mixdesk %s", MD_VERSION);
	/* SOURCE_DATE_EPOCH (the reproducible-builds convention) pins the date, so the whole file is repeatable */
	time_t t = time(NULL);
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	if (sde && *sde)
		t = (time_t)strtoll(sde, NULL, 10);
	struct tm tm;
	gmtime_r(&t, &tm);
	char date[48], tod[48];
	snprintf(date, sizeof date, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	snprintf(tod, sizeof tod, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
	memcpy(bi.origination_date, date, sizeof bi.origination_date);
	memcpy(bi.origination_time, tod, sizeof bi.origination_time);
	bi.time_reference_low = (uint32_t)(start & 0xffffffffu);
	bi.time_reference_high = (uint32_t)(start >> 32);
	bi.version = 1;
	int n = snprintf(bi.coding_history, sizeof bi.coding_history, "A=%s,F=%u,W=%d,M=stereo,T=mixdesk %s\r\n",
			 bits == 32 ? "PCM_FLOAT" : "PCM", rate, bits, MD_VERSION);
	bi.coding_history_size = (uint32_t)n;
	sf_command(o->sf, SFC_SET_BROADCAST_INFO, &bi, sizeof bi);
}

/* Pass 2 for one output: gain, dither, convert (a converter thread, in chunks, in order: the dither's
 * random sequence stays the same), write (this thread, as chunks become ready, so converting and writing
 * overlap). *peak gets the highest written |sample| (full scale 1). */
#define P2_CHUNK 8192 /* frames */
#define P2_RING 4

struct pass2 {
	struct output *o;
	int bits;
	float gain;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t nchunks, produced, consumed; /* chunks converted, written */
	bool failed, abort;
	char err[512];
	int32_t ibuf[P2_RING][P2_CHUNK * 2];
	float fbuf[P2_RING][P2_CHUNK * 2];
	float rbuf[P2_CHUNK * 2];        /* the spool's read-back when it is a file */
	uint64_t rng;                    /* the dither's generator (the converting thread's only) */
	double peak[P2_RING];            /* of each chunk, full scale 1 */
	uint64_t clamped[P2_RING];
};

/* [converter] chunk k into its ring slot */
static bool pass2_convert(struct pass2 *p, size_t k)
{
	const size_t slot = k % P2_RING, done = k * P2_CHUNK;
	const size_t n = p->o->sp.frames - done < P2_CHUNK ? p->o->sp.frames - done : P2_CHUNK;
	const float *x = spool_get(&p->o->sp, p->rbuf, n, p->err, sizeof p->err);
	if (!x)
		return false;
	const float gain = p->gain;
	if (p->bits == 32) {
		float *y = p->fbuf[slot];
		double pk = 0.0;
		for (size_t i = 0; i < 2 * n; i++) {
			y[i] = x[i] * gain;
			double a = fabs((double)y[i]);
			pk = a > pk ? a : pk;
		}
		p->peak[slot] = pk;
		return true;
	}
	uint64_t rng = p->rng;
	const double scale = p->bits == 16 ? 32768.0 : 8388608.0;
	const int32_t shift = p->bits == 16 ? 65536 : 256; /* libsndfile takes the top bits of an int */
	const long qmax = (long)scale - 1, qmin = -(long)scale;
	long qpk = 0;
	uint64_t clamped = 0;
	int32_t *ibuf = p->ibuf[slot];
	for (size_t i = 0; i < 2 * n; i++) {
		uint64_t r = rng_next(&rng);
		/* TPDF: the difference of two uniforms, +-1 LSB, mean 0 */
		double d = ((double)(uint32_t)(r >> 32) - (double)(uint32_t)r) * (1.0 / 4294967296.0);
		long q = lrint((double)x[i] * (double)gain * scale + d);
		if (q > qmax || q < qmin) { /* only reachable with a fixed --gain: clamp, never wrap */
			q = q > qmax ? qmax : qmin;
			clamped++;
		}
		long a = q < 0 ? -q : q;
		qpk = a > qpk ? a : qpk;
		ibuf[i] = (int32_t)q * shift;
	}
	p->rng = rng;
	p->peak[slot] = (double)qpk / scale;
	p->clamped[slot] = clamped;
	return true;
}

static void *pass2_converter(void *arg)
{
	struct pass2 *p = arg;
	for (size_t k = 0; k < p->nchunks; k++) {
		pthread_mutex_lock(&p->mu);
		while (p->produced - p->consumed == P2_RING && !p->abort)
			pthread_cond_wait(&p->cv, &p->mu);
		bool stop = p->abort;
		pthread_mutex_unlock(&p->mu);
		if (stop)
			return NULL;
		bool ok = pass2_convert(p, k);
		pthread_mutex_lock(&p->mu);
		if (ok)
			p->produced++;
		else
			p->failed = true;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		if (!ok)
			return NULL;
	}
	return NULL;
}

static enum md_err output_write(struct output *o, int bits, float gain, double *peak, uint64_t *clamped,
				const struct render_opts *opt, int threads, char *err, size_t errlen)
{
	struct pass2 *p = calloc(1, sizeof *p);
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return MD_ERR_NOMEM;
	}
	p->o = o;
	p->bits = bits;
	p->gain = gain;
	p->rng = o->seed;
	p->nchunks = (o->sp.frames + P2_CHUNK - 1) / P2_CHUNK;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	spool_rewind(&o->sp);
	pthread_t th;
	bool threaded = threads > 1 && pthread_create(&th, NULL, pass2_converter, p) == 0;
	enum md_err ret = MD_OK;
	double pk = 0.0;
	for (size_t k = 0; k < p->nchunks && !ret; k++) {
		if (opt->stop && *opt->stop) {
			ret = MD_ERR_IO;
			break;
		}
		if (!threaded) { /* no thread to be had: convert here */
			if (!pass2_convert(p, k)) {
				snprintf(err, errlen, "%s", p->err);
				ret = MD_ERR_IO;
				break;
			}
		} else {
			pthread_mutex_lock(&p->mu);
			while (p->produced <= k && !p->failed)
				pthread_cond_wait(&p->cv, &p->mu);
			bool failed = p->produced <= k;
			pthread_mutex_unlock(&p->mu);
			if (failed) {
				snprintf(err, errlen, "%s", p->err);
				ret = MD_ERR_IO;
				break;
			}
		}
		const size_t slot = k % P2_RING, done = k * P2_CHUNK;
		const size_t n = o->sp.frames - done < P2_CHUNK ? o->sp.frames - done : P2_CHUNK;
		sf_count_t w = bits == 32 ? sf_writef_float(o->sf, p->fbuf[slot], (sf_count_t)n)
					  : sf_writef_int(o->sf, p->ibuf[slot], (sf_count_t)n);
		pk = p->peak[slot] > pk ? p->peak[slot] : pk;
		if (bits != 32)
			*clamped += p->clamped[slot];
		if (w != (sf_count_t)n) {
			snprintf(err, errlen, "writing '%s' failed after %zu frames: %s", o->path, done,
				 sf_strerror(o->sf));
			ret = MD_ERR_IO;
		}
		pthread_mutex_lock(&p->mu);
		p->consumed++;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	if (threaded) {
		pthread_mutex_lock(&p->mu);
		p->abort = true;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(th, NULL);
	}
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
	*peak = pk;
	return ret;
}

/* a stem's file name: the strip's or bus's name with '/' and control characters replaced */
static void stem_path(char *dst, size_t size, const char *dir, const char *name, const char *suffix)
{
	char clean[MD_NAME_MAX];
	md_strlcpy(clean, name, sizeof clean);
	for (char *p = clean; *p; p++)
		if (*p == '/' || (unsigned char)*p < 32)
			*p = '_';
	if (strcmp(clean, ".") == 0 || strcmp(clean, "..") == 0)
		clean[0] = '_';
	snprintf(dst, size, "%s/%s%s.wav", dir, clean, suffix);
}

static void progress(double frac, int *shown)
{
	int pct = (int)(frac * 100.0);
	if (pct == *shown)
		return;
	*shown = pct;
	char bar[41];
	int full = pct * 40 / 100;
	for (int i = 0; i < 40; i++)
		bar[i] = i < full ? '#' : '.';
	bar[40] = 0;
	fprintf(stderr, "\rmixdesk render: [%s] %3d%%", bar, pct);
	if (pct >= 100)
		fputc('\n', stderr);
	fflush(stderr);
}

/* ---- pass 1 on two cores ----
 *
 * The strips are split into groups, each rendered by its own engine built from a copy of the console with
 * that group's strips, every bus and the master. The master outputs (and the partial bus stems) of the groups
 * are added in a fixed order (group 0, then group 1). This is exact up to float rounding because everything
 * after the strips is linear per sample: a bus sums its sends and multiplies by its gain (fader, mute,
 * balance), the master sums the buses and strips, mixes towards mono (l + mono * ((l + r) / 2 - l)) and
 * multiplies by its gain; the mono amount and every gain are parameter ramps driven by the same values and
 * the same automation lanes in every group's engine, never by the signal. post_strip_linear() is the one
 * place that says so; a non-linear stage after the strips (a bus compressor, a master limiter) must make it
 * return false, and the render then runs one engine. Solo-in-place couples strips across groups (a soloed
 * strip silences the others), so a session with a strip soloed, or with solo automation, runs one engine too.
 *
 * The work of each chunk of CHUNK frames is split into jobs on lanes: one DSP lane per group (read its
 * sources, run its engine period by period), the MIX lane (add the groups, count clips, DC and window peaks,
 * spool the mix and the stems), and three measuring lanes on the finished mix (true peak of the left
 * channel, true peak of the right channel, loudness and loudness range: three libebur128 states, so that
 * they can run side by side). Each lane takes its chunks in order; a ring of RING chunks between the lanes
 * bounds how far DSP runs ahead. The main thread and one worker take whichever job is ready (MIX first, then
 * the lane furthest behind), so both cores stay busy whatever the balance of DSP and measuring. Which thread
 * runs a job never changes what it computes: the output depends on the number of engines only. */

#define CHUNK_PERIODS 8
#define CHUNK ((size_t)PERIOD * CHUNK_PERIODS)
#define RING 8                 /* chunks in flight between the DSP, MIX and measuring lanes */
#define SPLIT_MIN_STRIPS 4     /* below this one engine is as fast: the buses and master run in every engine */
#define MAX_GROUPS 2

enum lane_kind { LANE_DSP, LANE_MIX, LANE_TP, LANE_LOUD };

struct lane {
	enum lane_kind kind;
	int arg;        /* the group of a DSP lane, the channel of a true-peak lane */
	uint64_t done;  /* chunks finished */
	bool busy;
	double t, t_read; /* seconds spent in this lane's jobs (t_read: reading sources, DSP lanes only) */
};

struct group { /* one engine over some of the strips, every bus and the master */
	struct md_console *c;
	struct md_engine *e;
	int *src;      /* indices into the render's sources read by this group */
	int nsrc;
	float *store;  /* input slots, PERIOD frames each */
	float *il;     /* interleaved read buffer */
	float *ring;   /* RING chunks of [nouts][2][CHUNK] outputs */
	float *bufs[MD_MAX_SLOTS];
};

struct pass1 {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int nlanes, mix_lane;
	struct lane lanes[MAX_GROUPS + 4];
	uint64_t nchunks, frames, start;
	int ngroups;
	struct group g[MAX_GROUPS];
	struct source *srcs;
	struct output *outs;
	int nouts;
	int16_t (*out_slot)[2]; /* [nouts]: the engine slots of the mix and each stem */
	int *owner;             /* [nouts]: the group that alone writes an output (a strip's stem), or -1: all */
	float *mixring;         /* RING chunks of L[CHUNK], R[CHUNK], LR[2 * CHUNK] */
	float *stem_il;         /* the MIX lane's interleaving buffer, 2 * CHUNK */
	ebur128_state *tp[2], *loud;
	/* the MIX lane's figures */
	double dc[2];
	uint64_t clipped;
	float *win_peak;
	size_t win;
	/* how it ends */
	const struct render_opts *opt;
	bool abort, interrupted;
	enum md_err ret;
	char err[1024];
	int shown;
};

/* Everything after the strips is linear per sample (see above), so groups of strips can be rendered by
 * separate engines and added. False names the first non-linear stage in why. Today there is none: a bus is
 * sum x gain (its external insert is rendered as off), the master is sum, mono mix, x gain. A built-in bus or
 * master effect that is not linear (dynamics, saturation) must be checked here. */
static bool post_strip_linear(const struct md_console *c, char *why, size_t whylen)
{
	for (int i = 0; i < c->nbuses; i++)
		if (c->buses[i]->p[MD_BP_INSERT] >= 0.5f) {
			snprintf(why, whylen, "bus '%s' has its insert on", c->buses[i]->name);
			return false;
		}
	return true;
}

/* a strip's relative cost in the engine: channels x (gains, sends and each filter section that is on) */
static double strip_cost(const struct md_strip_model *s)
{
	const float *p = s->p;
	double units = 2.0; /* trim, fader, pan, sums */
	if (p[MD_SP_HPF_ON] >= 0.5f)
		units += p[MD_SP_HPF_SLOPE] > 12.0f ? 2.0 : 1.0;
	if (p[MD_SP_LPF_ON] >= 0.5f)
		units += p[MD_SP_LPF_SLOPE] > 12.0f ? 2.0 : 1.0;
	if (p[MD_SP_EQ_ON] >= 0.5f)
		for (int b = 0; b < MD_EQ_BANDS; b++)
			units += p[MD_SP_EQ(b, MD_EQ_ON)] >= 0.5f;
	units += 2.0 * (p[MD_SP_COMP_ON] >= 0.5f) + 2.0 * (p[MD_SP_GATE_ON] >= 0.5f);
	for (int b = 0; b < MD_MAX_BUSES; b++)
		units += 0.5 * (p[MD_SP_SEND(b, MD_SEND_LEVEL)] > MD_SILENCE_DB);
	return (s->stereo ? 2.0 : 1.0) * units;
}

/* How many engines render the console (1 or 2) and which group each strip goes to. Fixed by the console
 * alone (never by timing), so the same session always renders to the same samples. */
static int split_plan(const struct md_console *c, int threads, int *group_of, char *why, size_t whylen)
{
	for (int i = 0; i < c->nstrips; i++)
		group_of[i] = 0;
	why[0] = 0;
	if (threads == 1) {
		snprintf(why, whylen, "--threads 1");
		return 1;
	}
	if (c->nstrips < SPLIT_MIN_STRIPS) {
		snprintf(why, whylen, "fewer than %d strips", SPLIT_MIN_STRIPS);
		return 1;
	}
	for (int i = 0; i < c->nstrips; i++) {
		const struct md_strip_model *s = c->strips[i];
		bool solo = s->p[MD_SP_SOLO] >= 0.5f;
		for (int k = 0; k < s->nlanes; k++)
			solo |= s->lanes[k].param == MD_SP_SOLO && s->lanes[k].mode != MD_AUTO_OFF && s->lanes[k].npoints;
		if (solo) {
			snprintf(why, whylen, "strip '%s' is soloed or has solo automation", s->name);
			return 1;
		}
	}
	if (!post_strip_linear(c, why, whylen))
		return 1;
	/* greedy by falling cost (ties: by index) into the lighter group (ties: group 0) */
	double cost[MD_MAX_STRIPS], total[MAX_GROUPS] = {0};
	int order[MD_MAX_STRIPS];
	for (int i = 0; i < c->nstrips; i++) {
		cost[i] = strip_cost(c->strips[i]);
		order[i] = i;
	}
	for (int i = 1; i < c->nstrips; i++) /* insertion sort: stable, at most 256 */
		for (int j = i; j > 0 && cost[order[j]] > cost[order[j - 1]]; j--) {
			int t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (int k = 0; k < c->nstrips; k++) {
		int i = order[k], to = total[1] < total[0];
		group_of[i] = to;
		total[to] += cost[i];
	}
	return 2;
}

static bool lane_ready(const struct pass1 *p, int li)
{
	const struct lane *l = &p->lanes[li];
	if (l->busy || l->done >= p->nchunks)
		return false;
	const uint64_t mixed = p->lanes[p->mix_lane].done;
	switch (l->kind) {
	case LANE_DSP:
		return l->done - mixed < RING;
	case LANE_MIX:
		for (int g = 0; g < p->ngroups; g++)
			if (p->lanes[g].done <= l->done)
				return false;
		for (int m = p->mix_lane + 1; m < p->nlanes; m++)
			if (l->done - p->lanes[m].done >= RING)
				return false;
		return true;
	default:
		return l->done < mixed;
	}
}

/* the next job: MIX when it can run (it unblocks the others), else the ready lane furthest behind */
static int pick_lane(const struct pass1 *p)
{
	if (lane_ready(p, p->mix_lane))
		return p->mix_lane;
	int best = -1;
	for (int li = 0; li < p->nlanes; li++)
		if (lane_ready(p, li) && (best < 0 || p->lanes[li].done < p->lanes[best].done))
			best = li;
	return best;
}

/* one group's engine over chunk k: read its sources and run it period by period into its ring slot */
static enum md_err job_dsp(struct pass1 *p, struct lane *l, uint64_t k)
{
	struct group *g = &p->g[l->arg];
	const uint64_t base = k * CHUNK;
	const size_t n = p->frames - base < CHUNK ? (size_t)(p->frames - base) : CHUNK;
	float *ring = g->ring + (size_t)(k % RING) * (size_t)p->nouts * 2 * CHUNK;
	for (size_t off = 0; off < n; off += PERIOD) {
		const size_t m = n - off < PERIOD ? n - off : PERIOD;
		double t0 = md_now_s();
		for (int j = 0; j < g->nsrc; j++) {
			struct source *s = &p->srcs[g->src[j]];
			float *in[2] = {g->bufs[s->slot[0]], s->slot[1] >= 0 ? g->bufs[s->slot[1]] : NULL};
			source_read(s, g->il, in, m);
		}
		double t1 = md_now_s();
		for (int o = 0; o < p->nouts; o++)
			for (int ch = 0; ch < 2; ch++)
				if (p->out_slot[o][ch] >= 0)
					g->bufs[p->out_slot[o][ch]] = ring + ((size_t)o * 2 + (size_t)ch) * CHUNK + off;
		engine_set_time(g->e, true, p->start + base + off);
		engine_run(g->e, g->bufs, (uint32_t)m);
		l->t_read += t1 - t0;
		l->t += md_now_s() - t1;
	}
	return MD_OK;
}

/* chunk k of the groups added (group 0 + group 1, in that order): the figures, the spools, the measuring ring */
static enum md_err job_mix(struct pass1 *p, uint64_t k, char *err, size_t errlen)
{
	const uint64_t base = k * CHUNK;
	const size_t n = p->frames - base < CHUNK ? (size_t)(p->frames - base) : CHUNK;
	const size_t slot = (size_t)(k % RING), stride = (size_t)p->nouts * 2 * CHUNK;
	float *L = p->mixring + slot * 4 * CHUNK, *R = L + CHUNK, *LR = R + CHUNK;
	const float *a[MAX_GROUPS][2];
	for (int g = 0; g < p->ngroups; g++)
		for (int ch = 0; ch < 2; ch++)
			a[g][ch] = p->g[g].ring + slot * stride + (size_t)ch * CHUNK;
	for (size_t i = 0; i < n; i++) {
		float l = a[0][0][i], r = a[0][1][i];
		for (int g = 1; g < p->ngroups; g++) {
			l += a[g][0][i];
			r += a[g][1][i];
		}
		L[i] = l;
		R[i] = r;
		LR[2 * i] = l;
		LR[2 * i + 1] = r;
	}
	/* the figures, a window at a time (no division per sample; the max vectorises) */
	double dc0 = 0.0, dc1 = 0.0;
	uint64_t clipped = 0;
	for (size_t i0 = 0; i0 < n;) {
		size_t w = (size_t)((base + i0) / p->win);
		size_t i1 = (size_t)((uint64_t)(w + 1) * p->win - base);
		if (i1 > n)
			i1 = n;
		float pk = p->win_peak[w];
		for (size_t i = i0; i < i1; i++) {
			float al = fabsf(L[i]), ar = fabsf(R[i]);
			dc0 += L[i];
			dc1 += R[i];
			clipped += (al > 1.0f) + (ar > 1.0f);
			float m = al > ar ? al : ar;
			pk = m > pk ? m : pk;
		}
		p->win_peak[w] = pk;
		i0 = i1;
	}
	p->dc[0] += dc0;
	p->dc[1] += dc1;
	p->clipped += clipped;
	enum md_err ret = spool_put(&p->outs[0].sp, LR, n, err, errlen);
	for (int o = 1; o < p->nouts && !ret; o++) {
		float *y = p->stem_il;
		for (int ch = 0; ch < 2; ch++) {
			int g0 = p->owner[o] >= 0 ? p->owner[o] : 0, g1 = p->owner[o] >= 0 ? p->owner[o] + 1 : p->ngroups;
			const float *x0 = p->g[g0].ring + slot * stride + ((size_t)o * 2 + (size_t)ch) * CHUNK;
			for (size_t i = 0; i < n; i++)
				y[2 * i + (size_t)ch] = x0[i];
			for (int g = g0 + 1; g < g1; g++) {
				const float *x = p->g[g].ring + slot * stride + ((size_t)o * 2 + (size_t)ch) * CHUNK;
				for (size_t i = 0; i < n; i++)
					y[2 * i + (size_t)ch] += x[i];
			}
		}
		ret = spool_put(&p->outs[o].sp, y, n, err, errlen);
	}
	return ret;
}

/* one measuring state over chunk k of the mix, a period at a time (as the one-state render fed it) */
static enum md_err job_measure(struct pass1 *p, const struct lane *l, uint64_t k, char *err, size_t errlen)
{
	const uint64_t base = k * CHUNK;
	const size_t n = p->frames - base < CHUNK ? (size_t)(p->frames - base) : CHUNK;
	const float *L = p->mixring + (size_t)(k % RING) * 4 * CHUNK;
	for (size_t off = 0; off < n; off += PERIOD) {
		const size_t m = n - off < PERIOD ? n - off : PERIOD;
		int r = l->kind == LANE_TP ? ebur128_add_frames_float(p->tp[l->arg], L + (size_t)l->arg * CHUNK + off, m)
					   : ebur128_add_frames_float(p->loud, L + 2 * CHUNK + 2 * off, m);
		if (r != EBUR128_SUCCESS) {
			snprintf(err, errlen, "the loudness meter failed (out of memory?)");
			return MD_ERR_NOMEM;
		}
	}
	return MD_OK;
}

/* the job loop, on the main thread (which also watches for Ctrl-C and draws the progress) and the worker */
static void pass1_loop(struct pass1 *p, bool main_thread)
{
	char err[1024];
	pthread_mutex_lock(&p->mu);
	for (;;) {
		if (main_thread && p->opt->stop && *p->opt->stop && !p->abort) {
			p->abort = p->interrupted = true;
			pthread_cond_broadcast(&p->cv);
		}
		if (p->abort)
			break;
		bool all = true;
		for (int li = 0; li < p->nlanes; li++)
			all &= p->lanes[li].done >= p->nchunks;
		if (all)
			break;
		int li = pick_lane(p);
		if (li < 0) {
			if (main_thread) { /* wake now and then to see Ctrl-C */
				struct timespec ts;
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_nsec += 50000000;
				if (ts.tv_nsec >= 1000000000) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000;
				}
				pthread_cond_timedwait(&p->cv, &p->mu, &ts);
			} else
				pthread_cond_wait(&p->cv, &p->mu);
			continue;
		}
		struct lane *l = &p->lanes[li];
		const uint64_t k = l->done;
		l->busy = true;
		pthread_mutex_unlock(&p->mu);

		enum md_err r = MD_OK;
		double t0 = md_now_s();
		switch (l->kind) {
		case LANE_DSP:
			r = job_dsp(p, l, k);
			break;
		case LANE_MIX:
			r = job_mix(p, k, err, sizeof err);
			l->t += md_now_s() - t0;
			break;
		default:
			r = job_measure(p, l, k, err, sizeof err);
			l->t += md_now_s() - t0;
			break;
		}

		pthread_mutex_lock(&p->mu);
		l->busy = false;
		l->done++;
		if (r != MD_OK && !p->abort) {
			p->abort = true;
			p->ret = r;
			md_strlcpy(p->err, err, sizeof p->err);
		}
		pthread_cond_broadcast(&p->cv);
		if (main_thread && p->opt->progress) {
			uint64_t measured = p->nchunks;
			for (int m = p->mix_lane + 1; m < p->nlanes; m++)
				measured = p->lanes[m].done < measured ? p->lanes[m].done : measured;
			pthread_mutex_unlock(&p->mu);
			progress(0.9 * (double)measured / (double)p->nchunks, &p->shown);
			pthread_mutex_lock(&p->mu);
		}
	}
	pthread_mutex_unlock(&p->mu);
}

static void *pass1_worker(void *arg)
{
	pass1_loop(arg, false);
	return NULL;
}

/* ---- the render ---- */

enum md_err render_console(const struct md_console *c0, const char *base_dir, const struct render_opts *opt,
			   struct render_report *rep, char *err, size_t errlen)
{
	enum md_err ret = MD_OK;
	const double t_start = md_now_s();
	memset(rep, 0, sizeof *rep);
	const uint32_t rate = c0->sample_rate;
	const int bits = opt->bits ? opt->bits : c0->render.bits;
	const double target = opt->headroom_set ? opt->headroom : c0->render.headroom;
	const double tail = opt->tail_set ? opt->tail : c0->render.tail;
	const bool stems = opt->stems_dir != NULL;
	struct md_console *c = NULL;
	struct source *srcs = NULL;
	int nsrc = 0;
	struct output *outs = NULL; /* [0] the mix, then one per strip and bus with --stems */
	int nouts = 0;
	struct pass1 *p = NULL;
	bool p_sync = false, worker = false;
	pthread_t worker_id;
	size_t budget = SPOOL_BUDGET;
	err[0] = 0;
	rep->rate = rate;
	rep->bits = bits;

	if (bits != 16 && bits != 24 && bits != 32) {
		snprintf(err, errlen, "bit depth %d: expected 16, 24 or 32 (float)", bits);
		return MD_ERR_RANGE;
	}
	if (!(target <= 0.0 && target >= -60.0)) {
		snprintf(err, errlen, "headroom %.2f dBTP: expected -60 to 0", target);
		return MD_ERR_RANGE;
	}
	if (opt->threads < 0 || opt->threads > 2) {
		snprintf(err, errlen, "threads %d: expected 1 or 2 (0: as many as the machine has, up to 2)",
			 opt->threads);
		return MD_ERR_RANGE;
	}
	if (!(c = console_clone(c0)) || !(p = calloc(1, sizeof *p))) {
		snprintf(err, errlen, "out of memory copying the console");
		console_free(c);
		return MD_ERR_NOMEM;
	}

	/* the engine's I/O slots: master, then each strip's input(s) and stem, then the bus stems */
	int16_t slot = 0;
	c->master.out_slot[0] = slot++;
	c->master.out_slot[1] = slot++;
	for (int i = 0; i < c->nstrips; i++) {
		struct md_strip_model *s = c->strips[i];
		if (slot + 4 > MD_MAX_SLOTS) {
			snprintf(err, errlen, "%d strips%s need more than %d engine slots", c->nstrips,
				 stems ? " with stems" : "", MD_MAX_SLOTS);
			ret = MD_ERR_FULL;
			goto out;
		}
		s->in_slot[0] = slot++;
		s->in_slot[1] = s->stereo ? slot++ : -1;
		s->stem_slot[0] = stems ? slot++ : -1;
		s->stem_slot[1] = stems ? slot++ : -1;
	}
	for (int i = 0; i < c->nbuses; i++) {
		struct md_bus_model *b = c->buses[i];
		b->out_slot[0] = b->out_slot[1] = b->ret_slot[0] = b->ret_slot[1] = -1;
		b->stem_slot[0] = stems ? slot++ : -1;
		b->stem_slot[1] = stems ? slot++ : -1;
		if (b->p[MD_BP_INSERT] >= 0.5f) {
			b->p[MD_BP_INSERT] = 0.0f;
			warn(rep, "bus '%s': its insert (an external effect over JACK) cannot be rendered offline; "
				  "rendered as if off",
			     b->name);
		}
	}
	if (!(srcs = calloc((size_t)c->nstrips + 1, sizeof *srcs))) {
		snprintf(err, errlen, "out of memory for the render buffers");
		ret = MD_ERR_NOMEM;
		goto out;
	}

	/* sources: open all first, so a missing or wrong file fails before any work */
	const uint64_t start = (uint64_t)llround(opt->start * rate);
	uint64_t longest = 0;
	for (int i = 0; i < c->nstrips; i++) {
		const struct md_strip_model *s = c->strips[i];
		if (!s->source) {
			warn(rep, "strip '%s' has no source: it renders as silence", s->name);
			continue;
		}
		ret = source_open(&srcs[nsrc], s, i, base_dir, rate, opt->resample, start, err, errlen);
		srcs[nsrc].slot[0] = s->in_slot[0];
		srcs[nsrc].slot[1] = s->in_slot[1];
		nsrc++;
		if (ret)
			goto out;
		uint64_t full = (uint64_t)ceil((double)srcs[nsrc - 1].info.frames * srcs[nsrc - 1].ratio - 1e-6);
		longest = full > longest ? full : longest;
	}
	uint64_t end = opt->end_set ? (uint64_t)llround(opt->end * rate) : longest + (uint64_t)llround(tail * rate);
	if (end <= start) {
		snprintf(err, errlen, "nothing to render: the range %.3f s to %.3f s is empty%s", (double)start / rate,
			 (double)end / rate, opt->end_set ? "" : " (the longest source ends before --start)");
		ret = MD_ERR_RANGE;
		goto out;
	}
	const uint64_t frames = end - start;
	for (int k = 0; k < nsrc; k++) {
		uint64_t full = (uint64_t)ceil((double)srcs[k].info.frames * srcs[k].ratio - 1e-6);
		if (full < longest && full < end)
			warn(rep, "strip '%s': its source '%s' lasts %.2f s, shorter than the session (%.2f s): "
				  "silence after it",
			     c->strips[srcs[k].strip]->name, c->strips[srcs[k].strip]->source, (double)full / rate,
			     (double)longest / rate);
	}

	/* outputs: created now, so an unwritable path fails before the long part */
	nouts = 1 + (stems ? c->nstrips + c->nbuses : 0);
	if (!(outs = calloc((size_t)nouts, sizeof *outs))) {
		snprintf(err, errlen, "out of memory");
		ret = MD_ERR_NOMEM;
		goto out;
	}
	outs[0].what = "mixdown";
	outs[0].seed = DITHER_SEED;
	if ((ret = output_create(&outs[0], opt->out, rate, bits, err, errlen)))
		goto out;
	if (stems) {
		if (mkdir(opt->stems_dir, 0777) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create the stems folder '%s': %s", opt->stems_dir, strerror(errno));
			ret = MD_ERR_IO;
			goto out;
		}
		for (int k = 1; k < nouts; k++) {
			bool is_strip = k - 1 < c->nstrips;
			const char *name = is_strip ? c->strips[k - 1]->name : c->buses[k - 1 - c->nstrips]->name;
			char path[PATH_MAX];
			stem_path(path, sizeof path, opt->stems_dir, name, is_strip ? "" : ".bus");
			outs[k].what = "stem";
			outs[k].seed = DITHER_SEED ^ ((uint64_t)k * 0x9e3779b97f4a7c15ull);
			if ((ret = output_create(&outs[k], path, rate, bits, err, errlen)))
				goto out;
		}
	}
	for (int k = 0; k < nouts; k++)
		if ((ret = spool_open(&outs[k].sp, (size_t)frames, &budget, err, errlen)))
			goto out;

	/* the plan: one or two engines, one or two threads */
	int group_of[MD_MAX_STRIPS];
	char why[256];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	const int threads = opt->threads ? opt->threads : ncpu >= 2 ? 2 : 1;
	p->ngroups = split_plan(c, threads, group_of, why, sizeof why);
	rep->threads = threads;
	rep->engines = p->ngroups;
	md_strlcpy(rep->split_off, why, sizeof rep->split_off);
	p->opt = opt;
	p->srcs = srcs;
	p->outs = outs;
	p->nouts = nouts;
	p->frames = frames;
	p->start = start;
	p->nchunks = (frames + CHUNK - 1) / CHUNK;
	p->shown = -1;
	p->win = rate / 10;
	const size_t nwin = (size_t)(frames / p->win) + 1;
	p->out_slot = calloc((size_t)nouts, sizeof *p->out_slot);
	p->owner = calloc((size_t)nouts, sizeof *p->owner);
	p->mixring = malloc((size_t)RING * 4 * CHUNK * sizeof(float));
	p->stem_il = malloc(2 * CHUNK * sizeof(float));
	p->win_peak = calloc(nwin, sizeof *p->win_peak);
	/* the measuring: true peak per channel (4x oversampled) and loudness + range, in three states */
	p->tp[0] = ebur128_init(1, rate, EBUR128_MODE_TRUE_PEAK);
	p->tp[1] = ebur128_init(1, rate, EBUR128_MODE_TRUE_PEAK);
	p->loud = ebur128_init(2, rate, EBUR128_MODE_I | EBUR128_MODE_LRA);
	if (!p->out_slot || !p->owner || !p->mixring || !p->stem_il || !p->win_peak || !p->tp[0] || !p->tp[1] ||
	    !p->loud) {
		snprintf(err, errlen, "out of memory setting up the meters");
		ret = MD_ERR_NOMEM;
		goto out;
	}
	memcpy(p->out_slot[0], c->master.out_slot, sizeof p->out_slot[0]);
	p->owner[0] = -1;
	for (int k = 1; k < nouts; k++) {
		bool is_strip = k - 1 < c->nstrips;
		memcpy(p->out_slot[k], is_strip ? c->strips[k - 1]->stem_slot : c->buses[k - 1 - c->nstrips]->stem_slot,
		       sizeof p->out_slot[k]);
		p->owner[k] = is_strip ? group_of[k - 1] : -1;
	}

	/* the engines: each on a copy of the console with its group's strips, every bus and the master */
	for (int gi = 0; gi < p->ngroups; gi++) {
		struct group *g = &p->g[gi];
		struct md_graph *graph = NULL;
		if (!(g->c = console_clone(c)) || !(g->src = calloc((size_t)nsrc + 1, sizeof *g->src)) ||
		    !(g->store = calloc((size_t)slot * PERIOD, sizeof *g->store)) ||
		    !(g->il = malloc(PERIOD * 2 * sizeof *g->il)) ||
		    !(g->ring = calloc((size_t)RING * (size_t)nouts * 2 * CHUNK, sizeof *g->ring)) ||
		    !(g->e = engine_new())) {
			snprintf(err, errlen, "out of memory setting up the engines");
			ret = MD_ERR_NOMEM;
			goto out;
		}
		for (int i = c->nstrips - 1; i >= 0; i--)
			if (group_of[i] != gi)
				console_remove_strip(g->c, i);
		for (int k = 0; k < nsrc; k++)
			if (group_of[srcs[k].strip] == gi)
				g->src[g->nsrc++] = k;
		for (int i = 0; i < g->c->nstrips; i++)
			for (int ch = 0; ch < 2; ch++)
				if (g->c->strips[i]->in_slot[ch] >= 0)
					g->bufs[g->c->strips[i]->in_slot[ch]] =
						g->store + (size_t)g->c->strips[i]->in_slot[ch] * PERIOD;
		engine_set_metering(g->e, false); /* the render reads no meters */
		if (!(graph = engine_build(g->e, g->c, rate))) {
			snprintf(err, errlen, "out of memory setting up the engines");
			ret = MD_ERR_NOMEM;
			goto out;
		}
		if (engine_submit(g->e, graph) != MD_OK) {
			engine_graph_free(graph);
			snprintf(err, errlen, "the engine refused the graph");
			ret = MD_ERR_FULL;
			goto out;
		}
		/* pre-roll: a new graph fades its strips in from silence over MD_RAMP_SECONDS; run that on silence
		 * with the transport stopped at the start (lanes hold their start values) so frame 0 is exact */
		for (int o = 0; o < nouts; o++)
			for (int ch = 0; ch < 2; ch++)
				if (p->out_slot[o][ch] >= 0)
					g->bufs[p->out_slot[o][ch]] = g->ring + ((size_t)o * 2 + (size_t)ch) * CHUNK;
		for (uint32_t done = 0, pre = (uint32_t)ceil(PREROLL_SECONDS * rate); done < pre;) {
			uint32_t n = pre - done < PERIOD ? pre - done : PERIOD;
			memset(g->store, 0, (size_t)slot * PERIOD * sizeof *g->store);
			engine_set_time(g->e, false, start);
			engine_run(g->e, g->bufs, n);
			done += n;
		}
	}

	/* the lanes: DSP per group, MIX, true peak left and right, loudness */
	for (int gi = 0; gi < p->ngroups; gi++)
		p->lanes[p->nlanes++] = (struct lane){.kind = LANE_DSP, .arg = gi};
	p->mix_lane = p->nlanes;
	p->lanes[p->nlanes++] = (struct lane){.kind = LANE_MIX};
	p->lanes[p->nlanes++] = (struct lane){.kind = LANE_TP, .arg = 0};
	p->lanes[p->nlanes++] = (struct lane){.kind = LANE_TP, .arg = 1};
	p->lanes[p->nlanes++] = (struct lane){.kind = LANE_LOUD};

	/* pass 1: render and measure, on this thread and (with two threads) a worker */
	if (pthread_mutex_init(&p->mu, NULL) != 0 || (pthread_cond_init(&p->cv, NULL) != 0 &&
						       (pthread_mutex_destroy(&p->mu), true))) {
		snprintf(err, errlen, "cannot set up the render's lock");
		ret = MD_ERR_NOMEM;
		goto out;
	}
	p_sync = true;
	const double t_pass1 = md_now_s();
	if (threads > 1 && pthread_create(&worker_id, NULL, pass1_worker, p) == 0)
		worker = true; /* else this thread does it all: the same samples, more slowly */
	if (!worker)
		rep->threads = 1;
	pass1_loop(p, true);
	if (worker) {
		pthread_join(worker_id, NULL);
		worker = false;
	}
	rep->t_pass1 = md_now_s() - t_pass1;
	for (int li = 0; li < p->nlanes; li++) {
		const struct lane *l = &p->lanes[li];
		rep->t_read += l->t_read;
		*(l->kind == LANE_DSP ? &rep->t_dsp : l->kind == LANE_MIX ? &rep->t_mix : &rep->t_measure) += l->t;
	}
	if (p->interrupted) {
		rep->interrupted = true;
		snprintf(err, errlen, "interrupted: nothing written");
		ret = MD_ERR_IO;
		goto out;
	}
	if (p->ret) {
		ret = p->ret;
		md_strlcpy(err, p->err, errlen);
		goto out;
	}
	rep->clipped_before = p->clipped;
	const double *dc = p->dc;
	const float *win_peak = p->win_peak;
	const size_t win = p->win;
	int shown = p->shown;

	/* the gain: true peak to the target */
	double tp = 0.0;
	for (unsigned ch = 0; ch < 2; ch++) {
		double v = 0.0;
		ebur128_true_peak(p->tp[ch], 0, &v);
		tp = fmax(tp, v);
	}
	double lufs = -HUGE_VAL, lra = 0.0;
	ebur128_loudness_global(p->loud, &lufs);
	ebur128_loudness_range(p->loud, &lra);
	double gain_db;
	if (opt->fixed_gain)
		gain_db = opt->gain_db;
	else if (tp <= 0.0) {
		gain_db = 0.0;
		warn(rep, "the mix is silent: nothing to normalize");
	} else {
		gain_db = target - to_db(tp);
		if (opt->no_normalize && gain_db > 0.0)
			gain_db = 0.0;
	}
	const float gain = (float)pow(10.0, gain_db / 20.0);
	rep->gain_db = gain_db;
	rep->true_peak_db = to_db(tp) + gain_db;
	rep->loudness = isfinite(lufs) ? lufs + gain_db : -HUGE_VAL;
	rep->lra = lra;
	rep->frames = frames;
	rep->duration = (double)frames / rate;
	for (int ch = 0; ch < 2; ch++)
		rep->dc_db[ch] = to_db(fabs(dc[ch] / (double)frames) * gain);
	size_t silent = 0, full_wins = (size_t)(frames / win) ? (size_t)(frames / win) : 1;
	const float silent_lin = (float)pow(10.0, SILENT_DB / 20.0);
	for (size_t w = 0; w < full_wins; w++)
		silent += win_peak[w] * gain < silent_lin;
	rep->silent_share = (double)silent / (double)full_wins;

	/* pass 2: gain, dither, write */
	double t5 = md_now_s();
	for (int k = 0; k < nouts; k++) {
		set_bext(&outs[k], opt, rate, bits, start, gain_db, rep->true_peak_db);
		double pk = 0.0;
		uint64_t clamped = 0;
		if ((ret = output_write(&outs[k], bits, gain, &pk, &clamped, opt, threads, err, errlen))) {
			if (opt->stop && *opt->stop) {
				rep->interrupted = true;
				snprintf(err, errlen, "interrupted: nothing written");
			}
			goto out;
		}
		if (k == 0) {
			rep->sample_peak_db = to_db(pk);
			rep->clipped_after = clamped;
		}
		if (opt->progress)
			progress(0.9 + 0.1 * (double)(k + 1) / nouts, &shown);
	}
	for (int k = 1; k < nouts; k++)
		if ((ret = output_finish(&outs[k], true, err, errlen)))
			goto out;
	if ((ret = output_finish(&outs[0], true, err, errlen)))
		goto out;
	rep->nstems = nouts - 1;
	rep->t_write = md_now_s() - t5;

	if (rep->clipped_after)
		warn(rep, "%llu samples clipped at the fixed gain of %+.2f dB (clamped to full scale)",
		     (unsigned long long)rep->clipped_after, gain_db);
	if (rep->silent_share > 0.5)
		warn(rep, "mostly silence: %.0f%% of the mix stays below %.0f dBFS", 100.0 * rep->silent_share,
		     SILENT_DB);
	for (int ch = 0; ch < 2; ch++)
		if (rep->dc_db[ch] > DC_WARN_DB)
			warn(rep, "DC offset on the %s channel: the mean is %.1f dBFS", ch ? "right" : "left",
			     rep->dc_db[ch]);
out:
	for (int k = 0; outs && k < nouts; k++) /* after an error: remove every temporary file */
		output_finish(&outs[k], false, err, 0);
	free(outs);
	for (int k = 0; k < nsrc; k++)
		source_close(&srcs[k]);
	free(srcs);
	if (p) {
		if (p_sync) {
			pthread_cond_destroy(&p->cv);
			pthread_mutex_destroy(&p->mu);
		}
		for (int gi = 0; gi < MAX_GROUPS; gi++) {
			struct group *g = &p->g[gi];
			if (g->e) {
				engine_collect(g->e);
				engine_free(g->e);
			}
			console_free(g->c);
			free(g->src);
			free(g->store);
			free(g->il);
			free(g->ring);
		}
		for (int ch = 0; ch < 2; ch++)
			if (p->tp[ch])
				ebur128_destroy(&p->tp[ch]);
		if (p->loud)
			ebur128_destroy(&p->loud);
		free(p->out_slot);
		free(p->owner);
		free(p->mixring);
		free(p->stem_il);
		free(p->win_peak);
		free(p);
	}
	console_free(c);
	rep->t_total = md_now_s() - t_start;
	return ret;
}

/* ---- the report ---- */

static void fmt_db(char *dst, size_t size, double v, int decimals)
{
	if (isfinite(v))
		snprintf(dst, size, "%.*f", decimals, v);
	else
		snprintf(dst, size, "-inf");
}

void render_print_report(FILE *f, const struct render_report *r, bool timings)
{
	char sp[32], tp[32], lu[32];
	fmt_db(sp, sizeof sp, r->sample_peak_db, 2);
	fmt_db(tp, sizeof tp, r->true_peak_db, 2);
	fmt_db(lu, sizeof lu, r->loudness, 1);
	fprintf(f,
		"duration        %.3f s (%llu frames)\n"
		"sample rate     %u Hz\n"
		"bit depth       %s\n"
		"gain applied    %+.2f dB\n"
		"sample peak     %s dBFS\n"
		"true peak       %s dBTP\n"
		"loudness        %s LUFS integrated\n"
		"loudness range  %.1f LU\n"
		"clipped before  %llu samples above 0 dBFS before the gain\n",
		r->duration, (unsigned long long)r->frames, r->rate,
		r->bits == 32 ? "32-bit float" : r->bits == 24 ? "24-bit" : "16-bit", r->gain_db, sp, tp, lu, r->lra,
		(unsigned long long)r->clipped_before);
	if (r->nstems)
		fprintf(f, "stems           %d\n", r->nstems);
	for (int i = 0; i < r->nwarnings; i++)
		fprintf(f, "warning: %s\n", r->warnings[i]);
	if (timings) {
		fprintf(f,
			"timings         read %.3f s, dsp %.3f s, mix+spool %.3f s, true peak+loudness %.3f s "
			"(pass 1: %.3f s wall on %d thread%s, %d engine%s), write %.3f s, total %.3f s\n",
			r->t_read, r->t_dsp, r->t_mix, r->t_measure, r->t_pass1, r->threads, r->threads == 1 ? "" : "s",
			r->engines, r->engines == 1 ? "" : "s", r->t_write, r->t_total);
		if (r->split_off[0] && r->threads > 1)
			fprintf(f, "one engine      %s\n", r->split_off);
	}
}

static json_object *num_or_null(double v)
{
	return isfinite(v) ? json_object_new_double(v) : NULL;
}

enum md_err render_write_report(const char *path, const struct render_report *r, char *err, size_t errlen)
{
	json_object *o = json_object_new_object(), *w = json_object_new_array(), *t = json_object_new_object();
	json_object_object_add(o, "duration", json_object_new_double(r->duration));
	json_object_object_add(o, "frames", json_object_new_int64((int64_t)r->frames));
	json_object_object_add(o, "sample_rate", json_object_new_int((int)r->rate));
	json_object_object_add(o, "bits", json_object_new_int(r->bits));
	json_object_object_add(o, "float", json_object_new_boolean(r->bits == 32));
	json_object_object_add(o, "gain_db", json_object_new_double(r->gain_db));
	json_object_object_add(o, "sample_peak_dbfs", num_or_null(r->sample_peak_db));
	json_object_object_add(o, "true_peak_dbtp", num_or_null(r->true_peak_db));
	json_object_object_add(o, "loudness_lufs", num_or_null(r->loudness));
	json_object_object_add(o, "loudness_range_lu", json_object_new_double(r->lra));
	json_object_object_add(o, "clipped_before_gain", json_object_new_int64((int64_t)r->clipped_before));
	json_object_object_add(o, "clipped_after_gain", json_object_new_int64((int64_t)r->clipped_after));
	json_object_object_add(o, "dc_left_dbfs", num_or_null(r->dc_db[0]));
	json_object_object_add(o, "dc_right_dbfs", num_or_null(r->dc_db[1]));
	json_object_object_add(o, "silent_share", json_object_new_double(r->silent_share));
	json_object_object_add(o, "stems", json_object_new_int(r->nstems));
	json_object_object_add(o, "measured",
			       json_object_new_string("sample peak: on the written samples (after gain and dither); "
						      "true peak and loudness: on the float mix before the gain, plus "
						      "the gain"));
	for (int i = 0; i < r->nwarnings; i++)
		json_object_array_add(w, json_object_new_string(r->warnings[i]));
	json_object_object_add(o, "warnings", w);
	json_object_object_add(t, "read", json_object_new_double(r->t_read));
	json_object_object_add(t, "dsp", json_object_new_double(r->t_dsp));
	json_object_object_add(t, "mix_spool", json_object_new_double(r->t_mix));
	json_object_object_add(t, "true_peak_loudness", json_object_new_double(r->t_measure));
	json_object_object_add(t, "pass1_wall", json_object_new_double(r->t_pass1));
	json_object_object_add(t, "write", json_object_new_double(r->t_write));
	json_object_object_add(t, "total", json_object_new_double(r->t_total));
	json_object_object_add(o, "timings_s", t);
	json_object_object_add(o, "threads", json_object_new_int(r->threads));
	json_object_object_add(o, "engines", json_object_new_int(r->engines));
	enum md_err ret = MD_OK;
	if (json_object_to_file_ext(path, o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE) != 0) {
		snprintf(err, errlen, "cannot write the report '%s': %s", path, strerror(errno));
		ret = MD_ERR_IO;
	}
	json_object_put(o);
	return ret;
}
