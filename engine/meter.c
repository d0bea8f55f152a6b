/* mixdesk: the engine's meters off the audio thread: their set-up, the state a new graph takes over, and the
 * readers of the strip, bus and master meters and the strips' gain reduction [control]. */
#include "engine/graph.h"

#include <math.h>

void meter_init(struct md_meter *m)
{
	for (int c = 0; c < 2; c++) {
		atomic_init(&m->peak[c], 0.0f);
		atomic_init(&m->rms[c], 0.0f);
		m->ms[c] = 0.0f;
	}
}

void meter_copy(struct md_meter *dst, struct md_meter *src)
{
	for (int c = 0; c < 2; c++) {
		dst->ms[c] = src->ms[c];
		atomic_store_explicit(&dst->rms[c], atomic_load_explicit(&src->rms[c], memory_order_relaxed),
				      memory_order_relaxed);
	}
}

static float read_level(struct md_meter *m, struct md_level *out)
{
	float peak = 0.0f;
	for (int c = 0; c < 2; c++) {
		float p = atomic_exchange_explicit(&m->peak[c], 0.0f, memory_order_relaxed);
		out->peak_db[c] = md_gain_to_db(p);
		out->rms_db[c] = md_gain_to_db(atomic_load_explicit(&m->rms[c], memory_order_relaxed));
		peak = fmaxf(peak, p);
	}
	return peak;
}

/* [control] the meter of strip or bus `index` of the last submitted graph; a mono strip reads the same on
 * both sides */
static enum md_err read_meter(struct md_engine *e, enum md_scope scope, int index, struct md_level *out)
{
	struct md_graph *g = e->submitted;
	const bool strip = scope == MD_SCOPE_STRIP;
	if (!g || index < 0 || index >= (strip ? g->nstrips : g->nbuses))
		return MD_ERR_NOTFOUND;
	read_level(strip ? &g->strips[index].meter : &g->buses[index].meter, out);
	if (strip && g->strips[index].nch == 1) {
		out->peak_db[1] = out->peak_db[0];
		out->rms_db[1] = out->rms_db[0];
	}
	return MD_OK;
}

enum md_err engine_strip_meter(struct md_engine *e, int index, struct md_level *out)
{
	return read_meter(e, MD_SCOPE_STRIP, index, out);
}

enum md_err engine_bus_meter(struct md_engine *e, int index, struct md_level *out)
{
	return read_meter(e, MD_SCOPE_BUS, index, out);
}

void engine_master_meter(struct md_engine *e, struct md_level *out, float *correlation)
{
	struct md_graph *g = e->submitted;
	if (!g) {
		*out = (struct md_level){{MD_SILENCE_DB, MD_SILENCE_DB}, {MD_SILENCE_DB, MD_SILENCE_DB}};
		if (correlation)
			*correlation = 0.0f;
		return;
	}
	read_level(&g->master.meter, out);
	if (correlation)
		*correlation = atomic_load_explicit(&g->master.corr, memory_order_relaxed);
}

float engine_strip_gr(struct md_engine *e, int index)
{
	struct md_graph *g = e->submitted;
	if (!g || index < 0 || index >= g->nstrips)
		return 0.0f;
	return atomic_load_explicit(&g->strips[index].gr, memory_order_relaxed);
}
