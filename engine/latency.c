/* mixdesk: plugin delay compensation's delay lines (see latency.h). */
#include "engine/latency.h"

#include <stdlib.h>
#include <string.h>

struct md_latency_delay *latency_delay_new(uint32_t len, int nch)
{
	if (len == 0)
		return NULL;
	if (len > MD_LATENCY_MAX_FRAMES)
		len = MD_LATENCY_MAX_FRAMES;
	struct md_latency_delay *d = calloc(1, sizeof *d);
	if (!d || !(d->buf = calloc((size_t)len * (size_t)nch, sizeof *d->buf))) {
		free(d);
		return NULL;
	}
	d->len = len;
	d->nch = nch;
	d->refs = 1;
	return d;
}

void latency_delay_ref(struct md_latency_delay *d)
{
	if (d)
		d->refs++;
}

void latency_delay_unref(struct md_latency_delay *d)
{
	if (!d || --d->refs > 0)
		return;
	free(d->buf);
	free(d);
}

void latency_delay_gather(struct md_latency_delay *d, uint64_t stamp, float (*x)[MD_BLOCK], uint32_t n, float w0,
			  float dw)
{
	if (d->in_stamp != stamp) {
		d->in_stamp = stamp;
		memset(d->in, 0, sizeof d->in);
	}
	md_add_weighted(d->in, x, d->nch, n, w0, dw);
}

void latency_delay_process(struct md_latency_delay *d, uint64_t stamp, float (*x)[MD_BLOCK], uint32_t n)
{
	if (d->stamp != stamp) {
		d->stamp = stamp;
		const float(*in)[MD_BLOCK] = d->in_stamp == stamp ? (const float(*)[MD_BLOCK])d->in
								  : (const float(*)[MD_BLOCK])x;
		for (int c = 0; c < d->nch; c++) {
			float *line = d->buf + (size_t)c * d->len;
			uint32_t p = d->pos;
			for (uint32_t i = 0; i < n; i++) {
				d->out[c][i] = line[p];
				line[p] = in[c][i];
				if (++p == d->len)
					p = 0;
			}
		}
		d->pos = (d->pos + n) % d->len;
	}
	for (int c = 0; c < d->nch; c++)
		memcpy(x[c], d->out[c], n * sizeof(float));
}
