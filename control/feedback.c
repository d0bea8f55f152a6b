/* mixdesk: what the console tells its controllers: parameter values in their OSC types, full dumps,
 * subscriptions (renewed within 10 s), coalesced feedback of every change whoever made it (the mixer's
 * dirty set drained at most 30 times a second, one bundle per subscriber, split under ~8 KB), and meters
 * (one poller reads the engine's meters and keeps a peak hold per subscriber). Every function is [control]. */
#include "control/control_int.h"
#include "control/oscnet.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

bool ctl_param_has_pos(enum md_scope scope, int param)
{
	switch (scope) {
	case MD_SCOPE_STRIP:
		return param == MD_SP_FADER ||
		       (param >= MD_SP_SEND_BASE && (param - MD_SP_SEND_BASE) % MD_SEND_NFIELDS == MD_SEND_LEVEL);
	case MD_SCOPE_BUS: return param == MD_BP_FADER;
	case MD_SCOPE_MASTER: return param == MD_MP_FADER;
	}
	return false;
}

void ctl_param_path(char *buf, size_t len, enum md_scope scope, int index, int param, bool pos)
{
	const struct md_param_desc *d = md_param_desc(scope, param);
	const char *suffix = pos ? "/pos" : "";
	if (scope == MD_SCOPE_STRIP)
		snprintf(buf, len, "/ch/%d/%s%s", index + 1, d->path, suffix);
	else if (scope == MD_SCOPE_BUS)
		snprintf(buf, len, "/bus/%d/%s%s", index + 1, d->path, suffix);
	else
		snprintf(buf, len, "/master/%s%s", d->path, suffix);
}

lo_message ctl_param_msg(struct md_control *c, enum md_scope scope, int index, int param, bool pos)
{
	const struct md_param_desc *d = md_param_desc(scope, param);
	float v = 0.0f;
	mixer_get(c->m, scope, index, param, &v);
	lo_message m = lo_message_new();
	if (pos) {
		lo_message_add_float(m, md_fader_db_to_pos(v));
		return m;
	}
	switch (d->kind) {
	case MD_KIND_FLOAT: lo_message_add_float(m, v); break;
	case MD_KIND_BOOL: lo_message_add_int32(m, v >= 0.5f ? 1 : 0); break;
	case MD_KIND_ENUM: {
		const char *name = md_param_enum_name(d, v);
		lo_message_add_string(m, name ? name : "");
		break;
	}
	case MD_KIND_CHOICE:
		/* 12/24 dB/oct slopes are whole numbers and go as i; a choice with fractions (pan law) as f */
		if (v == rintf(v))
			lo_message_add_int32(m, (int32_t)v);
		else
			lo_message_add_float(m, v);
		break;
	}
	return m;
}

static void add_param(struct md_control *c, struct md_out *o, enum md_scope scope, int index, int param, bool pos)
{
	char path[MD_OSC_PATH_MAX];
	ctl_param_path(path, sizeof path, scope, index, param, pos);
	oscnet_out_add(o, path, ctl_param_msg(c, scope, index, param, pos));
}

/* a strip's send to a bus that does not exist is not part of the address space */
static bool param_exists(const struct md_console *con, enum md_scope scope, int param)
{
	return scope != MD_SCOPE_STRIP || param < MD_SP_SEND_BASE ||
	       (param - MD_SP_SEND_BASE) / MD_SEND_NFIELDS < con->nbuses;
}

static void add_object(struct md_control *c, struct md_out *o, enum md_scope scope, int index)
{
	const struct md_console *con = mixer_console(c->m);
	for (int p = 0; p < md_param_count(scope); p++) {
		if (!param_exists(con, scope, p))
			continue;
		add_param(c, o, scope, index, p, false);
		if (ctl_param_has_pos(scope, p))
			add_param(c, o, scope, index, p, true);
	}
	ctl_dump_inserts(c, o, scope, index);
}

void ctl_dump_names(struct md_control *c, struct md_out *o)
{
	const struct md_console *con = mixer_console(c->m);
	char path[64];
	lo_message m = lo_message_new();
	lo_message_add_int32(m, con->nstrips);
	oscnet_out_add(o, "/ch/count", m);
	m = lo_message_new();
	lo_message_add_int32(m, con->nbuses);
	oscnet_out_add(o, "/bus/count", m);
	for (int i = 0; i < con->nstrips; i++) {
		snprintf(path, sizeof path, "/ch/%d/name", i + 1);
		m = lo_message_new();
		lo_message_add_string(m, con->strips[i]->name);
		oscnet_out_add(o, path, m);
		snprintf(path, sizeof path, "/ch/%d/stereo", i + 1);
		m = lo_message_new();
		lo_message_add_int32(m, con->strips[i]->stereo ? 1 : 0);
		oscnet_out_add(o, path, m);
	}
	for (int i = 0; i < con->nbuses; i++) {
		snprintf(path, sizeof path, "/bus/%d/name", i + 1);
		m = lo_message_new();
		lo_message_add_string(m, con->buses[i]->name);
		oscnet_out_add(o, path, m);
	}
}

void ctl_dump(struct md_control *c, struct md_out *o)
{
	const struct md_console *con = mixer_console(c->m);
	ctl_dump_names(c, o);
	for (int i = 0; i < con->nstrips; i++)
		add_object(c, o, MD_SCOPE_STRIP, i);
	for (int i = 0; i < con->nbuses; i++)
		add_object(c, o, MD_SCOPE_BUS, i);
	add_object(c, o, MD_SCOPE_MASTER, 0);
	oscnet_out_add(o, "/dump/end", lo_message_new());
	oscnet_out_flush(o);
}

/* ---- subscriptions ---- */

struct md_sub *ctl_find_sub(struct md_control *c, const struct md_peer *p)
{
	for (int i = 0; i < MD_OSC_MAX_SUBS; i++)
		if (c->subs[i].used && oscnet_peer_equal(&c->subs[i].peer, p))
			return &c->subs[i];
	return NULL;
}

struct md_sub *ctl_find_sub_from(struct md_control *c, const struct md_peer *p)
{
	for (int i = 0; i < MD_OSC_MAX_SUBS; i++)
		if (c->subs[i].used && oscnet_peer_equal(&c->subs[i].src, p))
			return &c->subs[i];
	return ctl_find_sub(c, p);
}

struct md_peer ctl_peer_port(const struct md_peer *p, int port)
{
	struct md_peer r = *p;
	if (port <= 0)
		return r;
	if (r.addr.ss_family == AF_INET)
		((struct sockaddr_in *)&r.addr)->sin_port = htons((uint16_t)port);
	else if (r.addr.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&r.addr)->sin6_port = htons((uint16_t)port);
	return r;
}

int ctl_nsubs(const struct md_control *c)
{
	int n = 0;
	for (int i = 0; i < MD_OSC_MAX_SUBS; i++)
		n += c->subs[i].used;
	return n;
}

static bool any_meters(const struct md_control *c)
{
	for (int i = 0; i < MD_OSC_MAX_SUBS; i++)
		if (c->subs[i].used && c->subs[i].meter_hz > 0)
			return true;
	return false;
}

static void poll_meters(struct md_control *c);

struct md_sub *ctl_subscribe(struct md_control *c, const struct md_peer *p, float meter_hz)
{
	struct md_sub *s = ctl_find_sub(c, p);
	if (!s) {
		for (int i = 0; i < MD_OSC_MAX_SUBS && !s; i++)
			if (!c->subs[i].used)
				s = &c->subs[i];
		if (!s)
			return NULL;
		memset(s, 0, sizeof *s);
		s->used = true;
		s->id = c->next_sub_id++;
		s->peer = *p;
	}
	s->src = c->sender;
	if (meter_hz > 0 && !(s->meter_hz > 0)) {
		if (!any_meters(c))
			poll_meters(c); /* forget peaks from before anyone was looking */
		s->nmeters = 0;         /* start the hold afresh */
		s->next_meter = c->now;
	}
	s->meter_hz = meter_hz;
	s->expires = c->now + MD_OSC_SUB_LIFETIME;
	c->cur_sub = s;
	return s;
}

void ctl_unsubscribe(struct md_control *c, struct md_sub *s)
{
	struct md_out *o = &c->fb[s - c->subs];
	if (o->b)
		lo_bundle_free_recursive(o->b);
	o->b = NULL;
	s->used = false;
}

/* ---- coalesced feedback ---- */

/* A changed parameter goes to every subscriber at the address that sets it (and its /pos form), except
 * the echo of a subscriber's own set: when it was the last to set the parameter and the value is what it
 * asked for, it already shows it (echoing a fader being dragged would make it jitter). */
static void on_dirty(void *ctx, enum md_scope scope, int index, int param)
{
	struct md_control *c = ctx;
	struct md_last *l = ctl_last_of(c, scope, index, param);
	float v = 0.0f;
	mixer_get(c->m, scope, index, param, &v);
	bool has_pos = ctl_param_has_pos(scope, param);
	for (int i = 0; i < MD_OSC_MAX_SUBS; i++) {
		struct md_sub *s = &c->subs[i];
		if (!s->used)
			continue;
		bool own = l->sub == s->id && l->value == v;
		if (!(own && !l->pos))
			add_param(c, &c->fb[i], scope, index, param, false);
		if (has_pos && !(own && l->pos))
			add_param(c, &c->fb[i], scope, index, param, true);
	}
	l->sub = 0;
	if (c->x32) /* the one drain feeds the X32 dialect's /xremote clients too */
		x32_changed(c->x32, scope, index, param);
}

static void no_op(void *ctx, enum md_scope scope, int index, int param)
{
}

static void feedback(struct md_control *c)
{
	uint32_t serial = mixer_structure_serial(c->m);
	if (serial != c->serial) {
		/* strips or buses came, went, moved or were renamed (or a session was loaded): indices changed
		 * meaning, so every subscriber gets the whole console again */
		c->serial = serial;
		memset(c->last_strip, 0, (size_t)MD_MAX_STRIPS * MD_SP_COUNT * sizeof *c->last_strip);
		memset(c->last_bus, 0, sizeof c->last_bus);
		memset(c->last_master, 0, sizeof c->last_master);
		mixer_drain_dirty(c->m, no_op, c);
		ctl_insert_feedback(c, false);
		ctl_insert_forget(c);
		for (int i = 0; i < MD_OSC_MAX_SUBS; i++) {
			if (!c->subs[i].used)
				continue;
			c->subs[i].nmeters = 0;
			struct md_out o;
			oscnet_out_begin(&o, &c->net, &c->subs[i].peer);
			ctl_dump(c, &o);
		}
		if (c->x32)
			x32_resync(c->x32);
		return;
	}
	if (ctl_nsubs(c) == 0 && !(c->x32 && x32_has_subs(c->x32))) {
		mixer_drain_dirty(c->m, no_op, c);
		ctl_insert_feedback(c, false);
		ctl_insert_forget(c);
		return;
	}
	for (int i = 0; i < MD_OSC_MAX_SUBS; i++)
		if (c->subs[i].used)
			oscnet_out_begin(&c->fb[i], &c->net, &c->subs[i].peer);
	mixer_drain_dirty(c->m, on_dirty, c);
	ctl_insert_feedback(c, true);
	for (int i = 0; i < MD_OSC_MAX_SUBS; i++)
		if (c->subs[i].used)
			oscnet_out_flush(&c->fb[i]);
}

/* ---- meters ---- */

/* The one reader of the engine's meters (each read resets their peaks): the latest figures go to
 * c->meter_cur in /meters order; peaks are the highest since the previous poll. */
static void poll_meters(struct md_control *c)
{
	struct md_engine *e = mixer_engine(c->m);
	const struct md_console *con = mixer_console(c->m);
	struct md_level lv;
	int k = 0;
	for (int i = 0; i < con->nstrips; i++) {
		if (engine_strip_meter(e, i, &lv) != MD_OK)
			lv = (struct md_level){{MD_SILENCE_DB, MD_SILENCE_DB}, {MD_SILENCE_DB, MD_SILENCE_DB}};
		/* mono strips read the same on both sides; stereo strips show the louder side */
		c->meter_cur[k++] = fmaxf(lv.peak_db[0], lv.peak_db[1]);
		c->meter_cur[k++] = fmaxf(lv.rms_db[0], lv.rms_db[1]);
	}
	for (int i = 0; i < con->nbuses; i++) {
		if (engine_bus_meter(e, i, &lv) != MD_OK)
			lv = (struct md_level){{MD_SILENCE_DB, MD_SILENCE_DB}, {MD_SILENCE_DB, MD_SILENCE_DB}};
		c->meter_cur[k++] = fmaxf(lv.peak_db[0], lv.peak_db[1]);
		c->meter_cur[k++] = fmaxf(lv.rms_db[0], lv.rms_db[1]);
	}
	float corr = 0.0f;
	engine_master_meter(e, &lv, &corr);
	c->meter_cur[k++] = lv.peak_db[0];
	c->meter_cur[k++] = lv.peak_db[1];
	c->meter_cur[k++] = lv.rms_db[0];
	c->meter_cur[k++] = lv.rms_db[1];
	c->meter_cur[k++] = corr;
	for (int i = 0; i < con->nstrips; i++)
		c->meter_cur[k++] = engine_strip_gr(e, i);
	c->nmeters = k;
}

/* which entries of the /meters vector are peaks (held) rather than levels (latest) */
static bool is_peak(const struct md_console *con, int k)
{
	int tracks = 2 * (con->nstrips + con->nbuses);
	if (k < tracks)
		return k % 2 == 0;
	return k == tracks || k == tracks + 1;
}

static void fold_meters(struct md_control *c, struct md_sub *s)
{
	const struct md_console *con = mixer_console(c->m);
	if (s->nmeters != c->nmeters) {
		memcpy(s->hold, c->meter_cur, (size_t)c->nmeters * sizeof(float));
		s->nmeters = c->nmeters;
		return;
	}
	for (int k = 0; k < c->nmeters; k++)
		s->hold[k] = is_peak(con, k) ? fmaxf(s->hold[k], c->meter_cur[k]) : c->meter_cur[k];
}

static void send_meters(struct md_control *c, struct md_sub *s)
{
	const struct md_console *con = mixer_console(c->m);
	struct md_out o;
	oscnet_out_begin(&o, &c->net, &s->peer);
	lo_message m = lo_message_new();
	for (int k = 0; k < s->nmeters; k++)
		lo_message_add_float(m, s->hold[k]);
	oscnet_out_add(&o, "/meters", m);
	char path[64];
	int k = 0;
	for (int i = 0; i < con->nstrips && k + 1 < s->nmeters; i++, k += 2) {
		snprintf(path, sizeof path, "/ch/%d/meter", i + 1);
		m = lo_message_new();
		lo_message_add_float(m, s->hold[k]);
		lo_message_add_float(m, s->hold[k + 1]);
		oscnet_out_add(&o, path, m);
	}
	for (int i = 0; i < con->nbuses && k + 1 < s->nmeters; i++, k += 2) {
		snprintf(path, sizeof path, "/bus/%d/meter", i + 1);
		m = lo_message_new();
		lo_message_add_float(m, s->hold[k]);
		lo_message_add_float(m, s->hold[k + 1]);
		oscnet_out_add(&o, path, m);
	}
	if (k + 3 < s->nmeters) {
		m = lo_message_new();
		for (int j = 0; j < 4; j++)
			lo_message_add_float(m, s->hold[k + j]);
		oscnet_out_add(&o, "/master/meter", m);
	}
	oscnet_out_flush(&o);
	/* the next hold starts empty: its peaks are those of the polls to come */
	for (int j = 0; j < s->nmeters; j++)
		if (is_peak(con, j))
			s->hold[j] = MD_SILENCE_DB;
}

/* Read the engine's meters into every hold that keeps them: the metering subscribers' and the queries'. */
static void poll_and_fold(struct md_control *c)
{
	poll_meters(c);
	fold_meters(c, &c->query);
	for (int i = 0; i < MD_OSC_MAX_SUBS; i++)
		if (c->subs[i].used && c->subs[i].meter_hz > 0)
			fold_meters(c, &c->subs[i]);
}

void ctl_meter_query(struct md_control *c, enum md_scope scope, int index)
{
	const struct md_console *con = mixer_console(c->m);
	poll_and_fold(c);
	c->last_poll = c->now;
	int k = scope == MD_SCOPE_STRIP ? 2 * index
		: scope == MD_SCOPE_BUS ? 2 * (con->nstrips + index)
					: 2 * (con->nstrips + con->nbuses);
	int n = scope == MD_SCOPE_MASTER ? 4 : 2;
	lo_message m = lo_message_new();
	for (int j = 0; j < n; j++)
		lo_message_add_float(m, k + j < c->query.nmeters ? c->query.hold[k + j] : MD_SILENCE_DB);
	char path[32];
	if (scope == MD_SCOPE_MASTER)
		snprintf(path, sizeof path, "/master/meter");
	else
		snprintf(path, sizeof path, "/%s/%d/meter", scope == MD_SCOPE_STRIP ? "ch" : "bus", index + 1);
	oscnet_reply(&c->net, path, m);
	/* the next query's peaks start from here */
	for (int j = k; j < k + n && j < c->query.nmeters; j++)
		if (is_peak(con, j))
			c->query.hold[j] = MD_SILENCE_DB;
}

void ctl_broadcast(struct md_control *c, const char *path, lo_message m)
{
	for (int i = 0; i < MD_OSC_MAX_SUBS; i++) {
		if (!c->subs[i].used)
			continue;
		struct md_out o;
		oscnet_out_begin(&o, &c->net, &c->subs[i].peer);
		lo_message copy = lo_message_clone(m);
		if (copy)
			oscnet_out_add(&o, path, copy);
		oscnet_out_flush(&o);
	}
	lo_message_free(m);
}

static void meters(struct md_control *c, double now)
{
	if (!any_meters(c) || now - c->last_poll < MD_OSC_METER_POLL)
		return;
	c->last_poll = now;
	poll_and_fold(c);
	for (int i = 0; i < MD_OSC_MAX_SUBS; i++) {
		struct md_sub *s = &c->subs[i];
		if (!s->used || !(s->meter_hz > 0))
			continue;
		if (now >= s->next_meter) {
			send_meters(c, s);
			s->next_meter += 1.0 / s->meter_hz;
			if (s->next_meter < now)
				s->next_meter = now + 1.0 / s->meter_hz;
		}
	}
}

void ctl_feedback_tick(struct md_control *c, double now)
{
	const char *ie = ctl_insert_error_new(c); /* the live program says it on stderr, as a source's problem */
	if (ie) {
		lo_message m = lo_message_new();
		lo_message_add_string(m, ie);
		ctl_broadcast(c, "/insert/error", m);
	}
	for (int i = 0; i < MD_OSC_MAX_SUBS; i++)
		if (c->subs[i].used && now > c->subs[i].expires)
			ctl_unsubscribe(c, &c->subs[i]);
	if (now >= c->next_feedback) {
		c->next_feedback = now + 1.0 / MD_OSC_FEEDBACK_HZ;
		feedback(c);
	}
	meters(c, now);
}
