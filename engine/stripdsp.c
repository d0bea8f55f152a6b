/* mixdesk: strip processing (placeholder: passes audio through until filters, EQ and dynamics land). */
#include "stripdsp.h"

void stripdsp_init(struct md_stripdsp *d, float rate, const float *p)
{
	(void)p;
	d->rate = rate;
	d->gr_db = 0.0f;
}

void stripdsp_update(struct md_stripdsp *d, const float *p)
{
	(void)d;
	(void)p;
}

void stripdsp_process(struct md_stripdsp *d, float *const ch[2], int nch, uint32_t n)
{
	(void)d;
	(void)ch;
	(void)nch;
	(void)n;
}

float stripdsp_gr_db(const struct md_stripdsp *d)
{
	return d->gr_db;
}

void stripdsp_reset(struct md_stripdsp *d)
{
	d->gr_db = 0.0f;
}
