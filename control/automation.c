/* mixdesk: automation and the transport over OSC (docs/AUTOMATION.md, docs/OSC.md): a lane's mode, touch
 * from a controller, point edits and queries, play/stop/locate, and position feedback to subscribers.
 * The mixer does the work (engine/mixer.h); this file checks and answers. Every function is [control]. */
#include "control/control_int.h"
#include "control/oscnet.h"

#include <lo/lo.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const mode_names[MD_AUTO_COUNT] = {"off", "read", "write", "touch", "latch"};

/* The automatable parameter a request names, or -1 after an /error. */
static int auto_param(struct md_control *c, const struct req *r)
{
	enum md_scope scope = (enum md_scope)r->scope;
	int param = md_param_find(scope, r->rest);
	const struct md_param_desc *d = md_param_desc(scope, param);
	if (!d) {
		oscnet_error(&c->net, r->path, "unknown parameter '%s' (see docs/OSC.md)", r->rest);
		return -1;
	}
	if (!d->automatable) {
		oscnet_error(&c->net, r->path, "'%s' cannot be automated (docs/AUTOMATION.md lists what can)", r->rest);
		return -1;
	}
	if (scope == MD_SCOPE_STRIP && param >= MD_SP_SEND_BASE &&
	    (param - MD_SP_SEND_BASE) / MD_SEND_NFIELDS >= mixer_console(c->m)->nbuses) {
		oscnet_error(&c->net, r->path, "no bus %d for a send", (param - MD_SP_SEND_BASE) / MD_SEND_NFIELDS + 1);
		return -1;
	}
	return param;
}

static int index_of(const struct req *r)
{
	return r->scope == MD_SCOPE_MASTER ? 0 : r->index;
}

static void reply_error(struct md_control *c, const struct req *r, enum md_err e, const char *what)
{
	oscnet_error(&c->net, r->path, "%s: %s", what, md_strerror(e));
}

void ctl_h_touch(struct md_control *c, const struct req *r)
{
	int param = auto_param(c, r);
	if (param < 0)
		return;
	enum md_err e = mixer_touch(c->m, (enum md_scope)r->scope, index_of(r), param, r->a[0].num >= 0.5);
	if (e)
		reply_error(c, r, e, "cannot touch");
}

void ctl_h_auto(struct md_control *c, const struct req *r)
{
	int param = auto_param(c, r);
	if (param < 0)
		return;
	enum md_scope scope = (enum md_scope)r->scope;
	if (r->argc == 1) {
		int mode = -1;
		for (int i = 0; i < MD_AUTO_COUNT; i++)
			if (strcmp(r->a[0].s, mode_names[i]) == 0)
				mode = i;
		if (mode < 0) {
			oscnet_error(&c->net, r->path,
				     "unknown mode '%.32s': expected off, read, write, touch or latch", r->a[0].s);
			return;
		}
		enum md_err e = mixer_set_auto_mode(c->m, scope, index_of(r), param, mode);
		if (e)
			reply_error(c, r, e, "cannot set the mode");
		return;
	}
	lo_message m = lo_message_new();
	lo_message_add_string(m, mode_names[mixer_auto_mode(c->m, scope, index_of(r), param)]);
	oscnet_reply(&c->net, r->path, m);
}

void ctl_h_auto_add(struct md_control *c, const struct req *r)
{
	int param = auto_param(c, r);
	if (param < 0)
		return;
	if (r->a[0].num < 0) {
		oscnet_error(&c->net, r->path, "time %g s is before the start: expected seconds >= 0", r->a[0].num);
		return;
	}
	enum md_err e = mixer_lane_add(c->m, (enum md_scope)r->scope, index_of(r), param, r->a[0].num,
				       (float)r->a[1].num);
	if (e == MD_ERR_FULL)
		oscnet_error(&c->net, r->path, "cannot add the point: a lane holds at most %d points",
			     MD_LANE_POINTS_MAX);
	else if (e)
		reply_error(c, r, e, "cannot add the point");
}

/* a 1-based point number of the lane, or -1 after an /error */
static int point_of(struct md_control *c, const struct req *r, int param, double num)
{
	struct md_lane *l = console_lane((struct md_console *)mixer_console(c->m), (enum md_scope)r->scope, index_of(r),
					 param, false);
	int n = l ? l->npoints : 0;
	if (num != floor(num) || num < 1 || num > n) {
		oscnet_error(&c->net, r->path, "no point %g: the lane has %d, numbered from 1", num, n);
		return -1;
	}
	return (int)num - 1;
}

void ctl_h_auto_move(struct md_control *c, const struct req *r)
{
	int param = auto_param(c, r), point;
	if (param < 0 || (point = point_of(c, r, param, r->a[0].num)) < 0)
		return;
	if (r->a[1].num < 0) {
		oscnet_error(&c->net, r->path, "time %g s is before the start: expected seconds >= 0", r->a[1].num);
		return;
	}
	enum md_err e = mixer_lane_move(c->m, (enum md_scope)r->scope, index_of(r), param, point, r->a[1].num,
					(float)r->a[2].num);
	if (e)
		reply_error(c, r, e, "cannot move the point");
}

void ctl_h_auto_delete(struct md_control *c, const struct req *r)
{
	int param = auto_param(c, r), point;
	if (param < 0 || (point = point_of(c, r, param, r->a[0].num)) < 0)
		return;
	enum md_err e = mixer_lane_delete(c->m, (enum md_scope)r->scope, index_of(r), param, point);
	if (e)
		reply_error(c, r, e, "cannot delete the point");
}

void ctl_h_auto_clear(struct md_control *c, const struct req *r)
{
	int param = auto_param(c, r);
	if (param < 0)
		return;
	if (r->argc == 1) {
		oscnet_error(&c->net, r->path, "one time given: expected two (from, to) or none for the whole lane");
		return;
	}
	double t0 = r->argc ? r->a[0].num : 1.0, t1 = r->argc ? r->a[1].num : 0.0; /* t0 > t1: everything */
	if (r->argc && t0 > t1) {
		oscnet_error(&c->net, r->path, "the range %g..%g s is backwards: expected from <= to", t0, t1);
		return;
	}
	enum md_err e = mixer_lane_clear(c->m, (enum md_scope)r->scope, index_of(r), param, t0, t1);
	if (e)
		reply_error(c, r, e, "cannot clear");
}

/* the lane's points as one message: seconds, value, seconds, value ... (none: an empty message) */
void ctl_h_auto_points(struct md_control *c, const struct req *r)
{
	int param = auto_param(c, r);
	if (param < 0)
		return;
	struct md_lane *l = console_lane((struct md_console *)mixer_console(c->m), (enum md_scope)r->scope, index_of(r),
					 param, false);
	lo_message m = lo_message_new();
	/* a datagram holds about 8000 pairs; longer lanes are sent in part (the session file has them all) */
	for (int i = 0; l && i < l->npoints && i < 8000; i++) {
		lo_message_add_float(m, (float)l->t[i]);
		lo_message_add_float(m, l->v[i]);
	}
	oscnet_reply(&c->net, r->path, m);
}

static lo_message position_msg(struct md_control *c)
{
	bool rolling;
	double pos;
	mixer_transport(c->m, &rolling, &pos);
	lo_message m = lo_message_new();
	lo_message_add_float(m, (float)pos);
	lo_message_add_int32(m, rolling);
	return m;
}

void ctl_h_transport(struct md_control *c, const struct req *r)
{
	const char *what = r->path + strlen("/transport/");
	enum md_err e = MD_OK;
	if (strcmp(what, "play") == 0)
		e = mixer_transport_cmd(c->m, MD_TRANSPORT_PLAY, 0);
	else if (strcmp(what, "stop") == 0)
		e = mixer_transport_cmd(c->m, MD_TRANSPORT_STOP, 0);
	else if (strcmp(what, "locate") == 0) {
		if (r->a[0].num < 0) {
			oscnet_error(&c->net, r->path, "%g s is before the start: expected seconds >= 0", r->a[0].num);
			return;
		}
		e = mixer_transport_cmd(c->m, MD_TRANSPORT_LOCATE, r->a[0].num);
	} else {
		oscnet_reply(&c->net, "/transport/position", position_msg(c));
		return;
	}
	if (e)
		reply_error(c, r, e, "the transport cannot be moved here");
}

/* /transport/position ,fi (seconds, rolling) to subscribers: ten times a second while rolling, and once
 * when the transport stops or jumps */
void ctl_transport_tick(struct md_control *c, double now)
{
	if (ctl_nsubs(c) == 0)
		return;
	bool rolling;
	double pos;
	mixer_transport(c->m, &rolling, &pos);
	double expect = c->transport_last_pos + (c->transport_last_rolling ? now - c->transport_sent_at : 0.0);
	bool jumped = fabs(pos - expect) > 0.25;
	if (rolling == c->transport_last_rolling && !jumped && (!rolling || now - c->transport_sent_at < 0.1))
		return;
	for (int i = 0; i < MD_OSC_MAX_SUBS; i++) {
		if (!c->subs[i].used)
			continue;
		struct md_out o;
		oscnet_out_begin(&o, &c->net, &c->subs[i].peer);
		oscnet_out_add(&o, "/transport/position", position_msg(c));
		oscnet_out_flush(&o);
	}
	c->transport_sent_at = now;
	c->transport_last_pos = pos;
	c->transport_last_rolling = rolling;
}
