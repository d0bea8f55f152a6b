/* mixdesk: the console model (control side). */
#include "engine/model/console.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_uint_fast32_t uid_counter = 1;

uint32_t console_new_uid(void)
{
	return (uint32_t)atomic_fetch_add(&uid_counter, 1);
}

static void defaults(enum md_scope scope, float *p)
{
	int n = md_param_count(scope);
	for (int i = 0; i < n; i++)
		p[i] = md_param_default(scope, i);
}

struct md_console *console_new(uint32_t sample_rate)
{
	struct md_console *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->sample_rate = sample_rate ? sample_rate : 48000;
	defaults(MD_SCOPE_MASTER, c->master.p);
	c->master.out_slot[0] = c->master.out_slot[1] = -1;
	c->render.headroom = -6.0f;
	c->render.bits = 24;
	c->render.tail = 2.0f;
	return c;
}

void console_conns_clear(struct md_conns *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	l->names = NULL;
	l->n = 0;
}

bool console_conns_has(const struct md_conns *l, const char *name)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->names[i], name) == 0)
			return true;
	return false;
}

enum md_err console_conns_add(struct md_conns *l, const char *name)
{
	if (console_conns_has(l, name))
		return MD_OK;
	char **nn = realloc(l->names, (size_t)(l->n + 1) * sizeof *nn);
	if (!nn)
		return MD_ERR_NOMEM;
	l->names = nn;
	if (!(nn[l->n] = strdup(name)))
		return MD_ERR_NOMEM;
	l->n++;
	return MD_OK;
}

static enum md_err console_conns_copy(struct md_conns *dst, const struct md_conns *src)
{
	*dst = (struct md_conns){0};
	for (int i = 0; i < src->n; i++)
		if (console_conns_add(dst, src->names[i]) != MD_OK)
			return MD_ERR_NOMEM;
	return MD_OK;
}

void console_lane_clear(struct md_lane *l)
{
	free(l->t);
	free(l->v);
	l->t = NULL;
	l->v = NULL;
	l->npoints = l->cap = 0;
}

enum md_err console_lane_add_point(struct md_lane *l, double t, float v)
{
	if (l->npoints >= MD_LANE_POINTS_MAX) {
		for (int i = 0; i < l->npoints; i++)
			if (l->t[i] == t) { /* replacing a point is still allowed */
				l->v[i] = v;
				return MD_OK;
			}
		return MD_ERR_FULL;
	}
	if (l->npoints == l->cap) {
		int cap = l->cap ? l->cap * 2 : 16;
		double *nt = realloc(l->t, (size_t)cap * sizeof *nt);
		if (!nt)
			return MD_ERR_NOMEM;
		l->t = nt;
		float *nv = realloc(l->v, (size_t)cap * sizeof *nv);
		if (!nv)
			return MD_ERR_NOMEM;
		l->v = nv;
		l->cap = cap;
	}
	/* keep points sorted; a point at an existing time replaces it */
	int i = l->npoints;
	while (i > 0 && l->t[i - 1] > t)
		i--;
	if (i > 0 && l->t[i - 1] == t) {
		l->v[i - 1] = v;
		return MD_OK;
	}
	memmove(&l->t[i + 1], &l->t[i], (size_t)(l->npoints - i) * sizeof *l->t);
	memmove(&l->v[i + 1], &l->v[i], (size_t)(l->npoints - i) * sizeof *l->v);
	l->t[i] = t;
	l->v[i] = v;
	l->npoints++;
	return MD_OK;
}

static void lanes_free(struct md_lane *lanes, int n)
{
	for (int i = 0; i < n; i++)
		console_lane_clear(&lanes[i]);
	free(lanes);
}

static enum md_err lanes_copy(struct md_lane **dst, int *ndst, const struct md_lane *src, int n)
{
	*dst = NULL;
	*ndst = 0;
	if (n == 0)
		return MD_OK;
	struct md_lane *l = calloc((size_t)n, sizeof *l);
	if (!l)
		return MD_ERR_NOMEM;
	*dst = l;
	*ndst = n;
	for (int i = 0; i < n; i++) {
		l[i].param = src[i].param;
		l[i].mode = src[i].mode;
		for (int k = 0; k < src[i].npoints; k++)
			if (console_lane_add_point(&l[i], src[i].t[k], src[i].v[k]) != MD_OK)
				return MD_ERR_NOMEM;
	}
	return MD_OK;
}

static void insert_clear(struct md_insert *ins)
{
	for (int i = 0; i < ins->nlanes; i++) {
		free(ins->lanes[i].symbol);
		console_lane_clear(&ins->lanes[i].lane);
	}
	free(ins->lanes);
	free(ins->uri);
	for (int i = 0; i < ins->nparams; i++)
		free(ins->params[i].symbol);
	free(ins->params);
	free(ins->state);
	memset(ins, 0, sizeof *ins);
}

static void inserts_free(struct md_insert *ins)
{
	for (int k = 0; k < MD_MAX_INSERTS; k++)
		insert_clear(&ins[k]);
}

/* [control] a deep copy of a slot (uid kept) */
static enum md_err insert_copy(struct md_insert *d, const struct md_insert *s)
{
	memset(d, 0, sizeof *d);
	if (!s->uri)
		return MD_OK;
	d->uid = s->uid;
	d->bypass = s->bypass;
	d->uri = strdup(s->uri);
	d->state = s->state ? strdup(s->state) : NULL;
	if (!d->uri || (s->state && !d->state))
		return MD_ERR_NOMEM;
	for (int i = 0; i < s->nparams; i++)
		if (console_insert_set_param(d, s->params[i].symbol, s->params[i].value) != MD_OK)
			return MD_ERR_NOMEM;
	for (int i = 0; i < s->nlanes; i++) {
		const struct md_lane *sl = &s->lanes[i].lane;
		struct md_lane *l = console_insert_lane(d, s->lanes[i].symbol, true);
		if (!l)
			return MD_ERR_NOMEM;
		l->mode = sl->mode;
		for (int k = 0; k < sl->npoints; k++)
			if (console_lane_add_point(l, sl->t[k], sl->v[k]) != MD_OK)
				return MD_ERR_NOMEM;
	}
	return MD_OK;
}

struct md_lane *console_insert_lane(struct md_insert *ins, const char *symbol, bool create)
{
	for (int i = 0; i < ins->nlanes; i++)
		if (strcmp(ins->lanes[i].symbol, symbol) == 0)
			return &ins->lanes[i].lane;
	if (!create)
		return NULL;
	char *sym = strdup(symbol);
	struct md_insert_lane *n = sym ? realloc(ins->lanes, (size_t)(ins->nlanes + 1) * sizeof *n) : NULL;
	if (!n) {
		free(sym);
		return NULL;
	}
	ins->lanes = n;
	n[ins->nlanes] = (struct md_insert_lane){.symbol = sym, .lane = {.param = -1, .mode = MD_AUTO_READ}};
	return &n[ins->nlanes++].lane;
}

static bool inserts_copy(struct md_insert *d, const struct md_insert *s)
{
	bool fail = false;
	for (int k = 0; k < MD_MAX_INSERTS; k++)
		fail |= insert_copy(&d[k], &s[k]) != MD_OK;
	return fail;
}

struct md_insert *console_inserts(struct md_console *c, enum md_scope scope, int index)
{
	if (scope == MD_SCOPE_STRIP && index >= 0 && index < c->nstrips)
		return c->strips[index]->inserts;
	if (scope == MD_SCOPE_BUS && index >= 0 && index < c->nbuses)
		return c->buses[index]->inserts;
	if (scope == MD_SCOPE_MASTER && index == 0)
		return c->master.inserts;
	return NULL;
}

enum md_err console_insert_load(struct md_insert *ins, const char *uri)
{
	char *u = NULL;
	if (uri && !(u = strdup(uri)))
		return MD_ERR_NOMEM;
	insert_clear(ins);
	ins->uri = u;
	ins->uid = u ? console_new_uid() : 0;
	return MD_OK;
}

enum md_err console_insert_set_param(struct md_insert *ins, const char *symbol, float value)
{
	if (!isfinite(value))
		return MD_ERR_NAN;
	for (int i = 0; i < ins->nparams; i++)
		if (strcmp(ins->params[i].symbol, symbol) == 0) {
			ins->params[i].value = value;
			return MD_OK;
		}
	struct md_insert_param *p = realloc(ins->params, (size_t)(ins->nparams + 1) * sizeof *p);
	if (!p)
		return MD_ERR_NOMEM;
	ins->params = p;
	if (!(p[ins->nparams].symbol = strdup(symbol)))
		return MD_ERR_NOMEM;
	p[ins->nparams++].value = value;
	return MD_OK;
}

bool console_insert_get_param(const struct md_insert *ins, const char *symbol, float *value)
{
	for (int i = 0; i < ins->nparams; i++)
		if (strcmp(ins->params[i].symbol, symbol) == 0) {
			*value = ins->params[i].value;
			return true;
		}
	return false;
}

enum md_err console_insert_set_state(struct md_insert *ins, const char *json)
{
	char *d = NULL;
	if (json && !(d = strdup(json)))
		return MD_ERR_NOMEM;
	free(ins->state);
	ins->state = d;
	return MD_OK;
}

static void strip_free(struct md_strip_model *s)
{
	if (!s)
		return;
	inserts_free(s->inserts);
	free(s->source);
	console_conns_clear(&s->inputs[0]);
	console_conns_clear(&s->inputs[1]);
	lanes_free(s->lanes, s->nlanes);
	free(s->extra);
	free(s);
}

static void bus_free(struct md_bus_model *b)
{
	if (!b)
		return;
	for (int i = 0; i < 2; i++) {
		console_conns_clear(&b->outputs[i]);
		console_conns_clear(&b->returns[i]);
	}
	inserts_free(b->inserts);
	lanes_free(b->lanes, b->nlanes);
	free(b->extra);
	free(b);
}

void console_free(struct md_console *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->nstrips; i++)
		strip_free(c->strips[i]);
	for (int i = 0; i < c->nbuses; i++)
		bus_free(c->buses[i]);
	console_conns_clear(&c->master.outputs[0]);
	console_conns_clear(&c->master.outputs[1]);
	lanes_free(c->master.lanes, c->master.nlanes);
	inserts_free(c->master.inserts);
	free(c->master.extra);
	free(c->extra);
	free(c->dir);
	free(c);
}

static char *dup_or_null(const char *s, bool *fail)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*fail = true;
	return d;
}

struct md_console *console_clone(const struct md_console *c)
{
	struct md_console *n = console_new(c->sample_rate);
	if (!n)
		return NULL;
	bool fail = false;
	n->render = c->render;
	memcpy(n->master.p, c->master.p, sizeof n->master.p);
	memcpy(n->master.out_slot, c->master.out_slot, sizeof n->master.out_slot);
	n->extra = dup_or_null(c->extra, &fail);
	n->dir = dup_or_null(c->dir, &fail);
	n->master.extra = dup_or_null(c->master.extra, &fail);
	for (int k = 0; k < 2; k++)
		fail |= console_conns_copy(&n->master.outputs[k], &c->master.outputs[k]) != MD_OK;
	fail |= lanes_copy(&n->master.lanes, &n->master.nlanes, c->master.lanes, c->master.nlanes) != MD_OK;
	fail |= inserts_copy(n->master.inserts, c->master.inserts);
	for (int i = 0; i < c->nstrips && !fail; i++) {
		const struct md_strip_model *s = c->strips[i];
		struct md_strip_model *d = calloc(1, sizeof *d);
		if (!d) {
			fail = true;
			break;
		}
		n->strips[n->nstrips++] = d;
		memcpy(d->name, s->name, sizeof d->name);
		d->stereo = s->stereo;
		d->uid = s->uid;
		memcpy(d->in_slot, s->in_slot, sizeof d->in_slot);
		memcpy(d->stem_slot, s->stem_slot, sizeof d->stem_slot);
		memcpy(d->p, s->p, sizeof d->p);
		d->source = dup_or_null(s->source, &fail);
		d->extra = dup_or_null(s->extra, &fail);
		for (int k = 0; k < 2; k++)
			fail |= console_conns_copy(&d->inputs[k], &s->inputs[k]) != MD_OK;
		fail |= lanes_copy(&d->lanes, &d->nlanes, s->lanes, s->nlanes) != MD_OK;
		fail |= inserts_copy(d->inserts, s->inserts);
	}
	for (int i = 0; i < c->nbuses && !fail; i++) {
		const struct md_bus_model *b = c->buses[i];
		struct md_bus_model *d = calloc(1, sizeof *d);
		if (!d) {
			fail = true;
			break;
		}
		n->buses[n->nbuses++] = d;
		memcpy(d->name, b->name, sizeof d->name);
		d->uid = b->uid;
		memcpy(d->out_slot, b->out_slot, sizeof d->out_slot);
		memcpy(d->ret_slot, b->ret_slot, sizeof d->ret_slot);
		memcpy(d->stem_slot, b->stem_slot, sizeof d->stem_slot);
		memcpy(d->p, b->p, sizeof d->p);
		d->extra = dup_or_null(b->extra, &fail);
		for (int k = 0; k < 2; k++) {
			fail |= console_conns_copy(&d->outputs[k], &b->outputs[k]) != MD_OK;
			fail |= console_conns_copy(&d->returns[k], &b->returns[k]) != MD_OK;
		}
		fail |= lanes_copy(&d->lanes, &d->nlanes, b->lanes, b->nlanes) != MD_OK;
		fail |= inserts_copy(d->inserts, b->inserts);
	}
	if (fail) {
		console_free(n);
		return NULL;
	}
	return n;
}

/* [any] the length of the UTF-8 sequence at p (RFC 3629: no overlong forms, no surrogates, at most
 * U+10FFFF), or 0 when there is none */
static int utf8_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	int n = p[0] >= 0xc2 && p[0] <= 0xdf   ? 2
		: p[0] >= 0xe0 && p[0] <= 0xef ? 3
		: p[0] >= 0xf0 && p[0] <= 0xf4 ? 4
					       : 0;
	for (int i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80) /* the terminating NUL stops it too */
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) || (p[0] == 0xf0 && p[1] < 0x90) ||
	    (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;
	return n;
}

/* Names go into session files, which must be UTF-8 to load again, and into JACK port names. */
enum md_err console_check_name(const char *name)
{
	if (!name || !name[0] || strlen(name) >= MD_NAME_MAX)
		return MD_ERR_RANGE;
	for (const unsigned char *p = (const unsigned char *)name; *p;) {
		int n = utf8_len(p);
		if (*p < 0x20 || *p == 0x7f || *p == ':' || n == 0)
			return MD_ERR_FORMAT;
		p += n;
	}
	return MD_OK;
}

int console_find_strip(const struct md_console *c, const char *name)
{
	for (int i = 0; i < c->nstrips; i++)
		if (strcmp(c->strips[i]->name, name) == 0)
			return i;
	return -1;
}

int console_find_bus(const struct md_console *c, const char *name)
{
	for (int i = 0; i < c->nbuses; i++)
		if (strcmp(c->buses[i]->name, name) == 0)
			return i;
	return -1;
}

enum md_err console_add_strip(struct md_console *c, const char *name, bool stereo, int *index)
{
	enum md_err err = console_check_name(name);
	if (err)
		return err;
	if (console_find_strip(c, name) >= 0)
		return MD_ERR_EXISTS;
	if (c->nstrips >= MD_MAX_STRIPS)
		return MD_ERR_FULL;
	struct md_strip_model *s = calloc(1, sizeof *s);
	if (!s)
		return MD_ERR_NOMEM;
	md_strlcpy(s->name, name, sizeof s->name);
	s->stereo = stereo;
	s->uid = console_new_uid();
	s->in_slot[0] = s->in_slot[1] = -1;
	s->stem_slot[0] = s->stem_slot[1] = -1;
	defaults(MD_SCOPE_STRIP, s->p);
	if (index)
		*index = c->nstrips;
	c->strips[c->nstrips++] = s;
	return MD_OK;
}

enum md_err console_remove_strip(struct md_console *c, int index)
{
	if (index < 0 || index >= c->nstrips)
		return MD_ERR_NOTFOUND;
	strip_free(c->strips[index]);
	memmove(&c->strips[index], &c->strips[index + 1], (size_t)(c->nstrips - index - 1) * sizeof c->strips[0]);
	c->nstrips--;
	return MD_OK;
}

enum md_err console_rename_strip(struct md_console *c, int index, const char *name)
{
	if (index < 0 || index >= c->nstrips)
		return MD_ERR_NOTFOUND;
	enum md_err err = console_check_name(name);
	if (err)
		return err;
	int other = console_find_strip(c, name);
	if (other >= 0 && other != index)
		return MD_ERR_EXISTS;
	md_strlcpy(c->strips[index]->name, name, sizeof c->strips[index]->name);
	return MD_OK;
}

enum md_err console_add_bus(struct md_console *c, const char *name, int *index)
{
	enum md_err err = console_check_name(name);
	if (err)
		return err;
	if (console_find_bus(c, name) >= 0)
		return MD_ERR_EXISTS;
	if (c->nbuses >= MD_MAX_BUSES)
		return MD_ERR_FULL;
	struct md_bus_model *b = calloc(1, sizeof *b);
	if (!b)
		return MD_ERR_NOMEM;
	md_strlcpy(b->name, name, sizeof b->name);
	b->uid = console_new_uid();
	b->out_slot[0] = b->out_slot[1] = b->ret_slot[0] = b->ret_slot[1] = -1;
	b->stem_slot[0] = b->stem_slot[1] = -1;
	defaults(MD_SCOPE_BUS, b->p);
	int bi = c->nbuses;
	/* the sends to a new bus start silent and post-fader */
	for (int i = 0; i < c->nstrips; i++) {
		c->strips[i]->p[MD_SP_SEND(bi, MD_SEND_LEVEL)] = md_param_default(MD_SCOPE_STRIP,
										  MD_SP_SEND(bi, MD_SEND_LEVEL));
		c->strips[i]->p[MD_SP_SEND(bi, MD_SEND_PRE)] = 0;
	}
	if (index)
		*index = bi;
	c->buses[c->nbuses++] = b;
	return MD_OK;
}

enum md_err console_remove_bus(struct md_console *c, int index)
{
	if (index < 0 || index >= c->nbuses)
		return MD_ERR_NOTFOUND;
	bus_free(c->buses[index]);
	memmove(&c->buses[index], &c->buses[index + 1], (size_t)(c->nbuses - index - 1) * sizeof c->buses[0]);
	c->nbuses--;
	for (int i = 0; i < c->nstrips; i++) {
		float *p = c->strips[i]->p;
		float *from = &p[MD_SP_SEND(index + 1, 0)];
		float *to = &p[MD_SP_SEND(index, 0)];
		memmove(to, from, (size_t)(MD_MAX_BUSES - index - 1) * MD_SEND_NFIELDS * sizeof *p);
		p[MD_SP_SEND(MD_MAX_BUSES - 1, MD_SEND_LEVEL)] = MD_SILENCE_DB;
		p[MD_SP_SEND(MD_MAX_BUSES - 1, MD_SEND_PRE)] = 0;
	}
	return MD_OK;
}

enum md_err console_rename_bus(struct md_console *c, int index, const char *name)
{
	if (index < 0 || index >= c->nbuses)
		return MD_ERR_NOTFOUND;
	enum md_err err = console_check_name(name);
	if (err)
		return err;
	int other = console_find_bus(c, name);
	if (other >= 0 && other != index)
		return MD_ERR_EXISTS;
	md_strlcpy(c->buses[index]->name, name, sizeof c->buses[index]->name);
	return MD_OK;
}

int console_count(const struct md_console *c, enum md_scope scope)
{
	switch (scope) {
	case MD_SCOPE_STRIP: return c->nstrips;
	case MD_SCOPE_BUS: return c->nbuses;
	case MD_SCOPE_MASTER: return 1;
	}
	return 0;
}

static float *values(struct md_console *c, enum md_scope scope, int index)
{
	if (index < 0 || index >= console_count(c, scope))
		return NULL;
	switch (scope) {
	case MD_SCOPE_STRIP: return c->strips[index]->p;
	case MD_SCOPE_BUS: return c->buses[index]->p;
	case MD_SCOPE_MASTER: return c->master.p;
	}
	return NULL;
}

enum md_err console_set(struct md_console *c, enum md_scope scope, int index, int param, float v, float *stored,
			bool *changed)
{
	float *p = values(c, scope, index);
	const struct md_param_desc *d = md_param_desc(scope, param);
	if (!p || !d)
		return MD_ERR_NOTFOUND;
	float out;
	enum md_err err = md_param_clamp(d, v, &out, changed);
	if (err)
		return err;
	p[param] = out;
	if (stored)
		*stored = out;
	return MD_OK;
}

enum md_err console_get(const struct md_console *c, enum md_scope scope, int index, int param, float *v)
{
	const float *p = values((struct md_console *)c, scope, index);
	if (!p || param < 0 || param >= md_param_count(scope))
		return MD_ERR_NOTFOUND;
	*v = p[param];
	return MD_OK;
}

void console_lanes(struct md_console *c, enum md_scope scope, int index, struct md_lane **lanes, int *n)
{
	*lanes = NULL;
	*n = 0;
	if (index < 0 || index >= console_count(c, scope))
		return;
	switch (scope) {
	case MD_SCOPE_STRIP:
		*lanes = c->strips[index]->lanes;
		*n = c->strips[index]->nlanes;
		break;
	case MD_SCOPE_BUS:
		*lanes = c->buses[index]->lanes;
		*n = c->buses[index]->nlanes;
		break;
	case MD_SCOPE_MASTER:
		*lanes = c->master.lanes;
		*n = c->master.nlanes;
		break;
	}
}

struct md_lane *console_lane(struct md_console *c, enum md_scope scope, int index, int param, bool create)
{
	struct md_lane **lanes;
	int *n;
	if (index < 0 || index >= console_count(c, scope) || param < 0 || param >= md_param_count(scope))
		return NULL;
	switch (scope) {
	case MD_SCOPE_STRIP:
		lanes = &c->strips[index]->lanes;
		n = &c->strips[index]->nlanes;
		break;
	case MD_SCOPE_BUS:
		lanes = &c->buses[index]->lanes;
		n = &c->buses[index]->nlanes;
		break;
	default:
		lanes = &c->master.lanes;
		n = &c->master.nlanes;
		break;
	}
	for (int i = 0; i < *n; i++)
		if ((*lanes)[i].param == param)
			return &(*lanes)[i];
	if (!create)
		return NULL;
	struct md_lane *nl = realloc(*lanes, (size_t)(*n + 1) * sizeof *nl);
	if (!nl)
		return NULL;
	*lanes = nl;
	nl[*n] = (struct md_lane){.param = param, .mode = MD_AUTO_READ};
	return &nl[(*n)++];
}

bool console_uses_slot(const struct md_console *c, int16_t slot)
{
	if (c->master.out_slot[0] == slot || c->master.out_slot[1] == slot)
		return true;
	for (int i = 0; i < c->nstrips; i++)
		if (c->strips[i]->in_slot[0] == slot || c->strips[i]->in_slot[1] == slot)
			return true;
	for (int i = 0; i < c->nbuses; i++)
		for (int k = 0; k < 2; k++)
			if (c->buses[i]->out_slot[k] == slot || c->buses[i]->ret_slot[k] == slot)
				return true;
	return false;
}

const char *console_auto_mode_name(int mode)
{
	static const char *const names[MD_AUTO_COUNT] = {"off", "read", "write", "touch", "latch"};
	return mode >= 0 && mode < MD_AUTO_COUNT ? names[mode] : NULL;
}

size_t console_source_path(char *dst, size_t size, const char *source, const char *dir)
{
	int n = source[0] == '/' || !dir || !*dir ? snprintf(dst, size, "%s", source)
						  : snprintf(dst, size, "%s/%s", dir, source);
	return n < 0 ? 0 : (size_t)n;
}
