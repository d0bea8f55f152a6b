/* mixdesk: parameter values into a graph's ramp targets [rt]: from the control side's queue (engine_begin)
 * and from the automation lanes (automate, engine/process.c); below both, so neither depends on the other. */
#include "engine/graph.h"
#include "engine/pan.h"

#include <math.h>
#include <string.h>

void graph_apply(struct md_graph *g, const struct md_msg *m)
{
	switch (m->scope) {
	case MD_SCOPE_STRIP:
		/* the input is structural (a new graph brings the stream): a record of it changes nothing here */
		if (m->index < g->nstrips && m->param < MD_SP_COUNT && m->param != MD_SP_INPUT) {
			struct gstrip *s = &g->strips[m->index];
			s->p[m->param] = m->value;
			s->dirty = true;
			if (m->param >= MD_SP_HPF_ON && m->param < MD_SP_SEND_BASE)
				s->dsp_dirty = true;
			if (m->param == MD_SP_SOLO)
				g->solo_dirty = true;
		}
		break;
	case MD_SCOPE_BUS:
		/* the effect's type is structural (a new graph brings it): a record of it changes nothing here */
		if (m->index < g->nbuses && m->param < MD_BP_COUNT && m->param != MD_BP_FX_TYPE) {
			g->buses[m->index].p[m->param] = m->value;
			g->buses[m->index].dirty = true;
		}
		break;
	case MD_SCOPE_MASTER:
		if (m->param < MD_MP_COUNT) {
			g->master.p[m->param] = m->value;
			g->master.dirty = true;
			if (m->param == MD_MP_PAN_LAW)
				for (int i = 0; i < g->nstrips; i++)
					g->strips[i].dirty = true;
		}
		break;
	}
}

void graph_insert_msg(struct md_graph *g, const struct md_msg *m)
{
	struct md_insert_rt **ins = m->slot < MD_MAX_INSERTS ? graph_inserts(g, m->scope, m->index) : NULL;
	struct md_insert_rt *r = ins ? ins[m->slot] : NULL;
	if (!r)
		return;
	if (m->param == MD_INSERT_BYPASS)
		insert_bypass(r, m->value >= 0.5f);
	else
		insert_set(r, m->param, m->value);
}

/* [rt] a controller took (value 1) or released (0) a parameter: its lanes stop or resume driving it */
void graph_override(struct md_graph *g, const struct md_msg *m)
{
	for (int i = 0; i < g->nlanes; i++) {
		struct glane *l = &g->lanes[i];
		if (l->scope == m->scope && l->index == m->index && l->param == m->param)
			l->override = m->value >= 0.5f;
	}
}

/* [rt] turn changed parameter values into ramp targets over `ramp` samples */
void graph_retarget(struct md_graph *g, uint32_t ramp)
{
	if (g->solo_dirty) {
		g->any_solo = false;
		for (int i = 0; i < g->nstrips; i++) {
			g->any_solo |= g->strips[i].p[MD_SP_SOLO] >= 0.5f;
			g->strips[i].dirty = true;
		}
	}
	for (int i = 0; i < g->nstrips; i++) {
		struct gstrip *s = &g->strips[i];
		if (!s->dirty)
			continue;
		const float *p = s->p;
		float pre = md_db_to_gain(p[MD_SP_TRIM]) * (p[MD_SP_POLARITY] >= 0.5f ? -1.0f : 1.0f);
		smooth_set_target(&s->pre, pre, ramp);
		/* solo-in-place: while any strip is soloed, the others are silenced */
		bool off = p[MD_SP_MUTE] >= 0.5f || (g->any_solo && p[MD_SP_SOLO] < 0.5f);
		smooth_set_target(&s->mgate, off ? 0.0f : 1.0f, ramp);
		smooth_set_target(&s->fader, md_db_to_gain(p[MD_SP_FADER]), ramp);
		float l, r;
		if (s->nch == 1)
			pan_gains(g->master.p[MD_MP_PAN_LAW], p[MD_SP_PAN], &l, &r);
		else
			pan_balance_gains(p[MD_SP_PAN], &l, &r);
		smooth_set_target(&s->pan[0], l, ramp);
		smooth_set_target(&s->pan[1], r, ramp);
		for (int b = 0; b < MD_MAX_BUSES; b++)
			smooth_set_target(&s->send[b],
					  b < g->nbuses ? md_db_to_gain(p[MD_SP_SEND(b, MD_SEND_LEVEL)]) : 0.0f, ramp);
		if (s->dsp_dirty)
			strip_dsp_update(&s->dsp, p);
		s->dirty = s->dsp_dirty = false;
	}
	g->solo_dirty = false;
	for (int i = 0; i < g->nbuses; i++) {
		struct gbus *b = &g->buses[i];
		if (!b->dirty)
			continue;
		float on = b->p[MD_BP_MUTE] >= 0.5f ? 0.0f : md_db_to_gain(b->p[MD_BP_FADER]);
		float l, r;
		pan_balance_gains(b->p[MD_BP_BALANCE], &l, &r);
		smooth_set_target(&b->gain[0], on * l, ramp);
		smooth_set_target(&b->gain[1], on * r, ramp);
		if (b->fx)
			fx_set(b->fx, b->p, g->bpm);
		b->dirty = false;
	}
	struct gmaster *m = &g->master;
	if (m->dirty) {
		float on = m->p[MD_MP_MUTE] >= 0.5f ? 0.0f : md_db_to_gain(m->p[MD_MP_FADER]);
		float l, r;
		pan_balance_gains(m->p[MD_MP_BALANCE], &l, &r);
		smooth_set_target(&m->gain[0], on * l, ramp);
		smooth_set_target(&m->gain[1], on * r, ramp);
		smooth_set_target(&m->mono, m->p[MD_MP_MONO] >= 0.5f ? 1.0f : 0.0f, ramp);
		m->dirty = false;
	}
}
