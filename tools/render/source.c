/* mixdesk: the render's sources: each strip's file opened and checked (libsndfile), read ahead in large blocks,
 * 16- and 24-bit PCM converted here, other rates resampled with libsamplerate (--resample), and split into the
 * strip's input buffers period by period. Every function here is [control]. */
#include "tools/render/render_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* frames read at once: libsndfile reads with one read() per call, and a call per period of every source
 * made 135,000 system calls for 16 sources of 3 minutes */
#define RA_FRAMES 16384

#define RBUF_FRAMES 4096

static long source_feed(void *data, float **out)
{
	struct rdr_source *s = data;
	*out = s->rbuf;
	return (long)sf_readf_float(s->sf, s->rbuf, RBUF_FRAMES);
}

void rdr_source_close(struct rdr_source *s)
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

enum md_err rdr_source_open(struct rdr_source *s, const struct md_strip_model *m, int strip, const char *base,
			    uint32_t rate, bool resample, uint64_t start, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	s->strip = strip;
	s->nch = m->stereo ? 2 : 1;
	struct rdr_first first = {err, errlen, MD_OK, 0};
	if (rdr_source_probe(m, strip, base, rate, resample, s->path, sizeof s->path, &s->sf, &s->info, rdr_keep_first,
			     &first))
		return first.code;
	s->ratio = (double)rate / (double)s->info.samplerate;
	s->len = (uint64_t)ceil((double)s->info.frames * s->ratio - 1e-6);
	if ((uint32_t)s->info.samplerate != rate) { /* with resample: rdr_source_probe refuses it otherwise */
		int e = 0;
		if (!(s->rbuf = malloc(RBUF_FRAMES * (size_t)s->nch * sizeof(float))) ||
		    !(s->src = src_callback_new(source_feed, SRC_SINC_BEST_QUALITY, s->nch, &e, s))) {
			snprintf(err, errlen, "strip %d (%s): cannot set up the resampler: %s", strip + 1, m->name,
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
		snprintf(err, errlen, "strip %d (%s): out of memory", strip + 1, m->name);
		return MD_ERR_NOMEM;
	}
	if (!s->src && !(s->ra = malloc(RA_FRAMES * (size_t)s->nch * sizeof(float)))) {
		snprintf(err, errlen, "strip %d (%s): out of memory", strip + 1, m->name);
		return MD_ERR_NOMEM;
	}
	/* the strip's offset places the file on the timeline: silence before it, or its start skipped */
	s->offset = (int64_t)llround((double)m->p[MD_SP_OFFSET] * rate);
	int64_t pos = (int64_t)start - s->offset;
	if (pos < 0)
		s->lead = (uint64_t)-pos;
	else if (pos > 0) {
		sf_count_t at = (sf_count_t)llround((double)pos / s->ratio);
		if (at >= s->info.frames || sf_seek(s->sf, at, SEEK_SET) < 0)
			s->len = 0; /* the range starts after this source ends */
	}
	return MD_OK;
}

uint64_t rdr_source_end(const struct rdr_source *s)
{
	int64_t end = s->offset + (int64_t)ceil((double)s->info.frames * s->ratio - 1e-6);
	return end > 0 ? (uint64_t)end : 0;
}

/* up to RA_FRAMES frames into s->ra; the count read */
static sf_count_t source_fill(struct rdr_source *s)
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
void rdr_source_read(struct rdr_source *s, float *il, float *const in[2], size_t n)
{
	if (s->lead > 0) { /* before the file's first frame on the timeline */
		size_t k = s->lead < n ? (size_t)s->lead : n;
		for (int c = 0; c < s->nch; c++)
			memset(in[c], 0, k * sizeof(float));
		s->lead -= k;
		if (k < n) {
			float *const rest[2] = {in[0] + k, s->nch == 2 ? in[1] + k : NULL};
			rdr_source_read(s, il, rest, n - k);
		}
		return;
	}
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
