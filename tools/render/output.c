/* mixdesk: the render's output files: each created under a temporary name beside its final name, given its BWF
 * bext chunk, written by pass 2 (gain, TPDF dither, conversion to integers here, on a converter thread while
 * this one writes) and renamed into place only when complete. Every function here is [control]. */
#include "tools/render/render_int.h"

#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum md_err rdr_output_create(struct rdr_output *o, const char *path, uint32_t rate, int bits, char *err, size_t errlen)
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
	SF_INFO info = {.samplerate = (int)rate,
			.channels = 2,
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
enum md_err rdr_output_finish(struct rdr_output *o, bool keep, char *err, size_t errlen)
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
	rdr_spool_close(&o->sp);
	return ret;
}

/* the BWF bext chunk: what the file is, who made it, when, and where on the timeline it starts */
void rdr_output_set_bext(struct rdr_output *o, const struct render_opts *opt, uint32_t rate, int bits, uint64_t start,
			 double gain_db, double target)
{
	SF_BROADCAST_INFO bi;
	memset(&bi, 0, sizeof bi);
	const char *title = opt->title ? opt->title : "session";
	if (opt->fixed_gain)
		snprintf(bi.description, sizeof bi.description, "mixdesk %s of %s, fixed gain %+.2f dB", o->what, title,
			 gain_db);
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

/* splitmix64: tiny, fast and good enough for dither; one draw gives both uniforms of a TPDF sample */
static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Pass 2 for one output: gain, dither, convert (a converter thread, in chunks, in order: the dither's
 * random sequence stays the same), write (this thread, as chunks become ready, so converting and writing
 * overlap). *peak gets the highest written |sample| (full scale 1). */
#define P2_CHUNK 8192 /* frames */
#define P2_RING 4

struct pass2 {
	struct rdr_output *o;
	int bits;
	float gain;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t nchunks, produced, consumed; /* chunks converted, written */
	bool failed, abort;
	char err[512];
	int32_t ibuf[P2_RING][P2_CHUNK * 2];
	float fbuf[P2_RING][P2_CHUNK * 2];
	float rbuf[P2_CHUNK * 2]; /* the spool's read-back when it is a file */
	uint64_t rng;             /* the dither's generator (the converting thread's only) */
	double peak[P2_RING];     /* of each chunk, full scale 1 */
	uint64_t clamped[P2_RING];
};

/* [converter] chunk k into its ring slot */
static bool pass2_convert(struct pass2 *p, size_t k)
{
	const size_t slot = k % P2_RING, done = k * P2_CHUNK;
	const size_t n = p->o->sp.frames - done < P2_CHUNK ? p->o->sp.frames - done : P2_CHUNK;
	const float *x = rdr_spool_get(&p->o->sp, p->rbuf, n, p->err, sizeof p->err);
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

enum md_err rdr_output_write(struct rdr_output *o, int bits, float gain, double *peak, uint64_t *clamped,
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
	rdr_spool_rewind(&o->sp);
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
