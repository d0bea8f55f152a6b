/* mixdesk: the render's float spool: pass 1 writes the mix and each stem here, pass 2 reads them back; in memory
 * while the render's budget lasts, else an anonymous temporary file. Every function here is [control]. */
#include "tools/render/render_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum md_err rdr_spool_open(struct rdr_spool *s, size_t frames, size_t *budget, char *err, size_t errlen)
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

enum md_err rdr_spool_put(struct rdr_spool *s, const float *x, size_t n, char *err, size_t errlen)
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
const float *rdr_spool_get(struct rdr_spool *s, float *buf, size_t n, char *err, size_t errlen)
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

void rdr_spool_rewind(struct rdr_spool *s)
{
	s->pos = 0;
	if (s->f)
		rewind(s->f);
}

void rdr_spool_close(struct rdr_spool *s)
{
	free(s->mem);
	if (s->f)
		fclose(s->f);
	memset(s, 0, sizeof *s);
}
