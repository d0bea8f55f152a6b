/* mixdesk: the OSC control side's private state, shared by control.c (the server's life and its loop
 * hooks), routes.c (the one table of routes and its handlers), automation.c (automation and the transport),
 * feedback.c (subscribers, coalesced feedback, dumps and meters) and session_cmds.c (/session/load and
 * /session/save, the folders they may use, the save worker); the socket, the allowlist and sending are
 * control/oscnet.h's. Every function is [control]: the control loop's thread only. */
#ifndef MD_CONTROL_INT_H
#define MD_CONTROL_INT_H

#include "control/control.h"
#include "control/oscnet.h"
#include "control/x32.h"
#include "engine/mixer/mixer.h"

#include <lo/lo.h>
#include <stdbool.h>
#include <stdint.h>

#define MD_OSC_MAX_SUBS 16
#define MD_OSC_SUB_LIFETIME 10.0 /* seconds a /subscribe lasts without renewal */
#define MD_OSC_FEEDBACK_HZ 30.0  /* at most this many updates per parameter and second */
#define MD_OSC_METER_MAX_HZ 60.0
#define MD_OSC_METER_POLL 0.005 /* the meter poller reads the engine at most this often, seconds */
#define MD_OSC_ARGS_MAX 8
/* the /meters vector: strips (peak, RMS), buses (peak, RMS), master (peak L, peak R, RMS L, RMS R,
 * correlation), then each strip's compressor gain reduction */
#define MD_METER_MAX (2 * MD_MAX_STRIPS + 2 * MD_MAX_BUSES + 5 + MD_MAX_STRIPS)

struct md_sub {
	bool used;
	uint32_t id;         /* never reused, so stale echo records cannot match a new subscriber */
	struct md_peer peer; /* where its feedback, answers and meters go (the sender's host on its reply port) */
	struct md_peer src;  /* the address its messages come from (renewals are recognised by it) */
	double expires;
	float meter_hz; /* 0: no meters */
	double next_meter;
	int nmeters;              /* length of hold[] when it was last reset */
	float hold[MD_METER_MAX]; /* peak-hold since the last /meters sent to this subscriber */
};

/* who set a parameter last (a subscriber id, 0 for none), to what, and through which form (dB or /pos) */
struct md_last {
	uint32_t sub;
	float value;
	bool pos;
};

/* who set an insert's parameter (or bypass, param -1) last, and to what: its echo is spared */
struct md_insert_last {
	int scope, index, slot, param;
	uint32_t sub;
	float value;
};
#define MD_OSC_INSERT_LAST 64 /* sets remembered between two feedback rounds; the oldest is forgotten */

struct ctl_save;

struct md_control {
	struct md_mixer *m;
	struct md_oscnet net; /* the socket, the allowlist, the current sender, the counts */
	char *session_path;
	char *session_base; /* the file the console's relative paths (sources) are relative to: the one loaded */
	char *session_dirs[MD_OSC_MAX_SESSION_DIRS + 1]; /* real folders OSC may load from and save to */
	int nsession_dirs;
	struct ctl_save *save; /* the save being written (control/session_cmds.c), or NULL */
	unsigned loads;        /* sessions loaded: a save-as that ends after a load leaves the session file */
	struct md_host_status host;
	bool host_known;     /* a first report came (before it, no /jack message is due) */
	unsigned xruns_sent; /* the xrun count subscribers were last told */
	double xrun_sent_at;
	double now;
	double transport_sent_at, transport_last_pos; /* position feedback (control/automation.c) */
	bool transport_last_rolling;

	/* the datagram being dispatched (liblo's handlers do not see its sender): net.cur is where its answers
	 * go (the sender, or its host on the reply port), sender where it came from */
	struct md_peer sender;
	struct md_sub *cur_sub; /* the sender's subscription, or NULL */
	int reply_port;         /* --osc-reply-port, 0 for none */
	struct md_x32 *x32;     /* the X32 dialect's listener (control/x32.h), or NULL */
	int epfd;               /* with x32: an epoll set of both sockets, control_fd's answer */

	struct md_sub subs[MD_OSC_MAX_SUBS];
	uint32_t next_sub_id;
	uint32_t serial;
	double next_feedback;
	double last_poll;
	bool meters_reset;
	struct md_out fb[MD_OSC_MAX_SUBS]; /* feedback batches, one per subscriber slot */

	struct md_last *last_strip; /* [MD_MAX_STRIPS * MD_SP_COUNT] */
	struct md_last last_bus[MD_MAX_BUSES * MD_BP_COUNT];
	struct md_last last_master[MD_MP_COUNT];

	float meter_cur[MD_METER_MAX]; /* the poller's latest reading (peaks since the previous poll) */
	int nmeters;
	struct md_sub query; /* the hold that meter queries (/ch/N/meter with no argument) read and reset */

	struct md_insert_last ins_last[MD_OSC_INSERT_LAST];
	int nins_last;
	unsigned ins_err_said; /* the engine's insert-problem serial last told */
};

/* routes.c */
/* a request as the route table matched it (control/routes.c), for handlers in other files */
/* one argument, with the OSC number types folded into num */
struct arg {
	char type;   /* the OSC type tag */
	bool is_num; /* i f d h */
	bool is_tf;  /* T F */
	double num;
	const char *s;
};

struct req {
	const char *path;
	int scope;                     /* enum md_scope, or -1 */
	int index;                     /* the strip/bus, from 0 */
	int index2;                    /* a second number (the send's bus), from 0 */
	const char *rest;              /* "*": the parameter path */
	char restbuf[MD_OSC_PATH_MAX]; /* the parameter path when a suffix follows "*" (".../fader/touch") */
	int argc;
	struct arg a[MD_OSC_ARGS_MAX];
};

/* automation and transport (control/automation.c) */
void ctl_h_touch(struct md_control *c, const struct req *r);
void ctl_h_auto(struct md_control *c, const struct req *r);
void ctl_h_auto_add(struct md_control *c, const struct req *r);
void ctl_h_auto_move(struct md_control *c, const struct req *r);
void ctl_h_auto_delete(struct md_control *c, const struct req *r);
void ctl_h_auto_clear(struct md_control *c, const struct req *r);
void ctl_h_auto_points(struct md_control *c, const struct req *r);
void ctl_h_transport(struct md_control *c, const struct req *r);
/* position feedback to subscribers while the transport rolls, and once when it stops or jumps */
void ctl_transport_tick(struct md_control *c, double now);

int ctl_dispatch(const char *path, const char *types, lo_arg **argv, int argc, lo_message msg, void *user);

/* plugin inserts (control/inserts.c) */
void ctl_h_insert_plugin(struct md_control *c, const struct req *r);
void ctl_h_insert_remove(struct md_control *c, const struct req *r);
void ctl_h_insert_bypass(struct md_control *c, const struct req *r);
void ctl_h_insert_param(struct md_control *c, const struct req *r);
void ctl_h_insert_auto(struct md_control *c, const struct req *r);
void ctl_h_insert_auto_add(struct md_control *c, const struct req *r);
void ctl_h_insert_auto_clear(struct md_control *c, const struct req *r);
void ctl_h_insert_auto_points(struct md_control *c, const struct req *r);
void ctl_h_insert_params(struct md_control *c, const struct req *r);
void ctl_h_insert_latency(struct md_control *c, const struct req *r);
void ctl_h_plugins(struct md_control *c, const struct req *r);
/* Every slot of an object into a dump: its plugin (s, "" for an empty slot), then for a loaded one its
 * bypass and every parameter (the kept values of a plugin not installed here). */
void ctl_dump_inserts(struct md_control *c, struct md_out *o, enum md_scope scope, int index);
/* Drain the mixer's insert marks: into every subscriber's feedback batch (begun) when send, else dropped. */
void ctl_insert_feedback(struct md_control *c, bool send);
/* Forget who set what (indices changed meaning). */
void ctl_insert_forget(struct md_control *c);
/* A problem a graph build had with an insert that was not told yet, or NULL (feedback.c sends it to every
 * subscriber as /insert/error ,s). */
const char *ctl_insert_error_new(struct md_control *c);

/* sessions (control/session_cmds.c) */
void ctl_h_save(struct md_control *c, const struct req *r);
void ctl_h_load(struct md_control *c, const struct req *r);
/* The folders OSC may use (o's session's, or the current one, and o's session_dirs) and the session's base:
 * 0, or -1 with a message. */
int ctl_sessions_init(struct md_control *c, const struct md_control_opts *o, char *err, size_t errlen);
/* A save that has finished is answered (its sender gets /session/saved or /error). */
void ctl_save_tick(struct md_control *c);
/* A save in progress is waited for and answered; the folders are freed. */
void ctl_sessions_free(struct md_control *c);

/* feedback.c */
/* The address of a parameter ("/ch/3/eq/2/gain"), with "/pos" appended when pos. */
void ctl_param_path(char *buf, size_t len, enum md_scope scope, int index, int param, bool pos);
/* Whether a parameter also has a 0..1 fader-position form (faders and send levels). */
bool ctl_param_has_pos(enum md_scope scope, int param);
/* A message carrying a parameter's current value in its OSC type (f, i 0/1, s enum name, i/f choice). */
lo_message ctl_param_msg(struct md_control *c, enum md_scope scope, int index, int param, bool pos);
/* Every parameter, name and count, then /dump/end. */
void ctl_dump(struct md_control *c, struct md_out *o);
/* Counts and names only. */
void ctl_dump_names(struct md_control *c, struct md_out *o);
struct md_sub *ctl_find_sub(struct md_control *c, const struct md_peer *p);
/* The subscription whose messages come from p (its source, or its reply address when the two are one). */
struct md_sub *ctl_find_sub_from(struct md_control *c, const struct md_peer *p);
/* p's host on port (IPv4 or IPv6, port kept when port is 0). */
struct md_peer ctl_peer_port(const struct md_peer *p, int port);
struct md_sub *ctl_subscribe(struct md_control *c, const struct md_peer *p, float meter_hz);
void ctl_unsubscribe(struct md_control *c, struct md_sub *s);
int ctl_nsubs(const struct md_control *c);
/* Note that the current sender set a parameter to value, so its echo can be spared. */
static inline struct md_last *ctl_last_of(struct md_control *c, enum md_scope scope, int index, int param)
{
	switch (scope) {
	case MD_SCOPE_STRIP: return &c->last_strip[(size_t)index * MD_SP_COUNT + (size_t)param];
	case MD_SCOPE_BUS: return &c->last_bus[index * MD_BP_COUNT + param];
	case MD_SCOPE_MASTER: return &c->last_master[param];
	}
	return NULL;
}

static inline void ctl_note_set(struct md_control *c, enum md_scope scope, int index, int param, float value, bool pos)
{
	struct md_last *l = ctl_last_of(c, scope, index, param);
	*l = (struct md_last){c->cur_sub ? c->cur_sub->id : 0, value, pos};
}
void ctl_feedback_tick(struct md_control *c, double now);
/* Send one message to every subscriber (the message is freed). */
void ctl_broadcast(struct md_control *c, const char *path, lo_message m);
/* Answer a meter query with the object's current peak (highest since the previous query) and RMS. */
void ctl_meter_query(struct md_control *c, enum md_scope scope, int index);

#endif
