/* mixdesk: the X32 dialect (control/x32.h, docs/X32.md). One table maps X32 addresses (relative to
 * /ch/NN/, /bus/NN/ or /main/st/) onto mixdesk parameters with a conversion between the X32's 0..1 floats
 * or enum ints and mixdesk's units; the same table, read backwards, gives the X32 form of a change for the
 * /xremote clients. The X32 answers nothing but queries and never sends errors, so neither does this:
 * whatever it cannot map is counted. Every function is [control]. */
#include "control/x32.h"
#include "control/control_int.h"
#include "control/oscarg.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define X32_FIRMWARE "4.06" /* what /info and /xinfo report: apps check they know the console's version */
#define X32_OWN_MAX 16      /* a client's own recent sets remembered, so their echo is spared */

/* how an X32 value becomes a mixdesk one */
enum x32_conv {
	XC_LAW,    /* f 0..1, the fader law (docs/OSC.md) <-> dB */
	XC_LIN,    /* f 0..1 <-> lo..hi */
	XC_LOG,    /* f 0..1 <-> lo..hi on a log scale */
	XC_NEG,    /* f 0..1 <-> -(lo..hi) (a gate's range is a positive depth on the X32) */
	XC_BOOL,   /* i 0/1 */
	XC_ON,     /* i 1 = sounding: mixdesk's mute inverted */
	XC_EQTYPE, /* i 0..5 LCut LShv PEQ VEQ HShv HCut: the three shapes mixdesk has */
	XC_RATIO,  /* i 0..11 index into the X32's ratio list */
	XC_NAME,   /* s: the strip's or bus's name */
};

struct x32_map {
	int scope;
	const char *addr; /* relative, "#" a number (band, bus) */
	enum x32_conv conv;
	int param;  /* mixdesk parameter (for "#": of number 1) */
	int stride; /* the parameter step from one "#" to the next */
	int nmax;   /* "#" runs 1..nmax (0: sends, the console's bus count) */
	const char *numfmt;
	float lo, hi;
};

#define S MD_SCOPE_STRIP
#define B MD_SCOPE_BUS
#define M MD_SCOPE_MASTER
static const struct x32_map maps[] = {
	{S, "mix/fader", XC_LAW, MD_SP_FADER, 0, 0, NULL, 0, 0},
	{S, "mix/on", XC_ON, MD_SP_MUTE, 0, 0, NULL, 0, 0},
	{S, "mix/pan", XC_LIN, MD_SP_PAN, 0, 0, NULL, -1, 1},
	{S, "config/name", XC_NAME, -1, 0, 0, NULL, 0, 0},
	{S, "mix/#/level", XC_LAW, MD_SP_SEND(0, MD_SEND_LEVEL), MD_SEND_NFIELDS, 0, "%02d", 0, 0},
	{S, "preamp/trim", XC_LIN, MD_SP_TRIM, 0, 0, NULL, -18, 18},
	{S, "preamp/invert", XC_BOOL, MD_SP_POLARITY, 0, 0, NULL, 0, 0},
	{S, "preamp/hpon", XC_BOOL, MD_SP_HPF_ON, 0, 0, NULL, 0, 0},
	{S, "preamp/hpf", XC_LOG, MD_SP_HPF_FREQ, 0, 0, NULL, 20, 400},
	{S, "eq/on", XC_BOOL, MD_SP_EQ_ON, 0, 0, NULL, 0, 0},
	{S, "eq/#/type", XC_EQTYPE, MD_SP_EQ(0, MD_EQ_TYPE), MD_EQ_NFIELDS, MD_EQ_BANDS, "%d", 0, 0},
	{S, "eq/#/f", XC_LOG, MD_SP_EQ(0, MD_EQ_FREQ), MD_EQ_NFIELDS, MD_EQ_BANDS, "%d", 20, 20000},
	{S, "eq/#/g", XC_LIN, MD_SP_EQ(0, MD_EQ_GAIN), MD_EQ_NFIELDS, MD_EQ_BANDS, "%d", -15, 15},
	{S, "eq/#/q", XC_LOG, MD_SP_EQ(0, MD_EQ_Q), MD_EQ_NFIELDS, MD_EQ_BANDS, "%d", 10, 0.3f},
	{S, "dyn/on", XC_BOOL, MD_SP_COMP_ON, 0, 0, NULL, 0, 0},
	{S, "dyn/thr", XC_LIN, MD_SP_COMP_THRESHOLD, 0, 0, NULL, -60, 0},
	{S, "dyn/ratio", XC_RATIO, MD_SP_COMP_RATIO, 0, 0, NULL, 0, 0},
	{S, "dyn/attack", XC_LIN, MD_SP_COMP_ATTACK, 0, 0, NULL, 0, 120},
	{S, "dyn/release", XC_LOG, MD_SP_COMP_RELEASE, 0, 0, NULL, 5, 4000},
	{S, "dyn/mgain", XC_LIN, MD_SP_COMP_MAKEUP, 0, 0, NULL, 0, 24},
	{S, "gate/on", XC_BOOL, MD_SP_GATE_ON, 0, 0, NULL, 0, 0},
	{S, "gate/thr", XC_LIN, MD_SP_GATE_THRESHOLD, 0, 0, NULL, -80, 0},
	{S, "gate/range", XC_NEG, MD_SP_GATE_RANGE, 0, 0, NULL, 3, 60},
	{S, "gate/attack", XC_LIN, MD_SP_GATE_ATTACK, 0, 0, NULL, 0, 120},
	{S, "gate/hold", XC_LOG, MD_SP_GATE_HOLD, 0, 0, NULL, 0.02f, 2000},
	{S, "gate/release", XC_LOG, MD_SP_GATE_RELEASE, 0, 0, NULL, 5, 4000},
	{B, "mix/fader", XC_LAW, MD_BP_FADER, 0, 0, NULL, 0, 0},
	{B, "mix/on", XC_ON, MD_BP_MUTE, 0, 0, NULL, 0, 0},
	{B, "mix/pan", XC_LIN, MD_BP_BALANCE, 0, 0, NULL, -1, 1},
	{B, "config/name", XC_NAME, -1, 0, 0, NULL, 0, 0},
	{M, "mix/fader", XC_LAW, MD_MP_FADER, 0, 0, NULL, 0, 0},
	{M, "mix/on", XC_ON, MD_MP_MUTE, 0, 0, NULL, 0, 0},
	{M, "mix/pan", XC_LIN, MD_MP_BALANCE, 0, 0, NULL, -1, 1},
};
#undef S
#undef B
#undef M

/* the X32's compressor ratios, /ch/NN/dyn/ratio 0..11 */
static const float ratios[] = {1.1f, 1.3f, 1.5f, 2.0f, 2.5f, 3.0f, 4.0f, 5.0f, 7.0f, 10.0f, 20.0f, 100.0f};
#define NRATIOS (int)(sizeof ratios / sizeof ratios[0])
/* X32 EQ types onto mixdesk's (-1: no counterpart) and back */
static const int eq_from_x32[6] = {-1, MD_EQT_LOWSHELF, MD_EQT_PEAK, -1, MD_EQT_HIGHSHELF, -1};
static const int eq_to_x32[MD_EQT_COUNT] = {1, 2, 4};

struct x32_own {
	int scope, index, param;
	float value;
};

struct x32_sub {
	bool used;
	struct md_peer peer;
	double expires;
	struct x32_own own[X32_OWN_MAX]; /* this client's sets not yet seen in the drain */
	int nown;
};

struct md_x32 {
	struct md_control *c;
	struct md_oscnet net;
	struct x32_sub subs[MD_X32_MAX_SUBS];
	struct x32_sub *cur_sub; /* the sender's subscription while its datagram is dispatched */
	uint32_t unmapped;
	double now;
};

/* ---- conversions ---- */

static float clamp01(double f)
{
	return f < 0 ? 0.0f : f > 1 ? 1.0f : (float)f;
}

/* an X32 number (f 0..1, or i for the enum kinds) as a mixdesk value; false when it has no counterpart */
static bool to_md(const struct x32_map *mp, double x, float *v)
{
	switch (mp->conv) {
	case XC_LAW: *v = md_fader_pos_to_db(clamp01(x)); return true;
	case XC_LIN: *v = mp->lo + clamp01(x) * (mp->hi - mp->lo); return true;
	case XC_NEG: *v = -(mp->lo + clamp01(x) * (mp->hi - mp->lo)); return true;
	case XC_LOG: *v = mp->lo * expf(clamp01(x) * logf(mp->hi / mp->lo)); return true;
	case XC_BOOL: *v = x >= 0.5 ? 1.0f : 0.0f; return true;
	case XC_ON: *v = x >= 0.5 ? 0.0f : 1.0f; return true;
	case XC_EQTYPE: {
		long t = lrint(x);
		if (t < 0 || t > 5 || eq_from_x32[t] < 0)
			return false;
		*v = (float)eq_from_x32[t];
		return true;
	}
	case XC_RATIO: {
		long t = lrint(x);
		if (t < 0 || t >= NRATIOS)
			return false;
		*v = ratios[t];
		return true;
	}
	case XC_NAME: return false;
	}
	return false;
}

/* a mixdesk value as the X32's message: f 0..1 or i */
static lo_message to_x32(const struct x32_map *mp, float v)
{
	lo_message m = lo_message_new();
	switch (mp->conv) {
	case XC_LAW: lo_message_add_float(m, md_fader_db_to_pos(v)); break;
	case XC_LIN: lo_message_add_float(m, clamp01((v - mp->lo) / (mp->hi - mp->lo))); break;
	case XC_NEG: lo_message_add_float(m, clamp01((-v - mp->lo) / (mp->hi - mp->lo))); break;
	case XC_LOG:
		lo_message_add_float(m, v <= fminf(mp->lo, mp->hi) && mp->lo < mp->hi
						? 0.0f
						: clamp01(logf(fmaxf(v, 1e-6f) / mp->lo) / logf(mp->hi / mp->lo)));
		break;
	case XC_BOOL: lo_message_add_int32(m, v >= 0.5f ? 1 : 0); break;
	case XC_ON: lo_message_add_int32(m, v >= 0.5f ? 0 : 1); break;
	case XC_EQTYPE: {
		int t = (int)lrintf(v);
		lo_message_add_int32(m, t >= 0 && t < MD_EQT_COUNT ? eq_to_x32[t] : 2);
		break;
	}
	case XC_RATIO: {
		int best = 0;
		for (int i = 1; i < NRATIOS; i++)
			if (fabsf(ratios[i] - v) < fabsf(ratios[best] - v))
				best = i;
		lo_message_add_int32(m, best);
		break;
	}
	case XC_NAME: break;
	}
	return m;
}

/* ---- addresses ---- */

/* "/ch/NN/rest", "/bus/NN/rest", "/main/st/rest": the scope, the index from 0 and the rest; -1 otherwise */
static int split(const char *path, int *index, const char **rest)
{
	int scope;
	const char *p;
	if (strncmp(path, "/ch/", 4) == 0) {
		scope = MD_SCOPE_STRIP;
		p = path + 4;
	} else if (strncmp(path, "/bus/", 5) == 0) {
		scope = MD_SCOPE_BUS;
		p = path + 5;
	} else if (strncmp(path, "/main/st/", 9) == 0) {
		*index = 0;
		*rest = path + 9;
		return MD_SCOPE_MASTER;
	} else {
		return -1;
	}
	long n = 0;
	const char *d = p;
	while (*p >= '0' && *p <= '9' && p - d < 4)
		n = n * 10 + (*p++ - '0');
	if (p == d || *p != '/')
		return -1;
	*index = (int)n - 1;
	*rest = p + 1;
	return scope;
}

/* rest against a map's address: the "#" number (from 0) in *num; false when it does not match */
static bool match(const char *addr, const char *rest, int *num)
{
	*num = 0;
	while (*addr) {
		if (*addr == '#') {
			const char *d = rest;
			long n = 0;
			while (*rest >= '0' && *rest <= '9' && rest - d < 4)
				n = n * 10 + (*rest++ - '0');
			if (rest == d)
				return false;
			*num = (int)n - 1;
			addr++;
		} else if (*addr++ != *rest++) {
			return false;
		}
	}
	return *rest == '\0';
}

static int object_count(const struct md_console *con, int scope)
{
	return scope == MD_SCOPE_STRIP ? con->nstrips : scope == MD_SCOPE_BUS ? con->nbuses : 1;
}

static int num_max(const struct md_console *con, const struct x32_map *mp)
{
	return mp->nmax ? mp->nmax : con->nbuses;
}

static void map_path(char *buf, size_t len, const struct x32_map *mp, int index, int num)
{
	char rel[64];
	const char *hash = strchr(mp->addr, '#');
	if (hash) {
		char n[8];
		snprintf(n, sizeof n, mp->numfmt, num + 1);
		snprintf(rel, sizeof rel, "%.*s%s%s", (int)(hash - mp->addr), mp->addr, n, hash + 1);
	} else {
		snprintf(rel, sizeof rel, "%s", mp->addr);
	}
	if (mp->scope == MD_SCOPE_STRIP)
		snprintf(buf, len, "/ch/%02d/%s", index + 1, rel);
	else if (mp->scope == MD_SCOPE_BUS)
		snprintf(buf, len, "/bus/%02d/%s", index + 1, rel);
	else
		snprintf(buf, len, "/main/st/%s", rel);
}

/* a mapped parameter's current value in X32 form */
static lo_message value_msg(struct md_x32 *x, const struct x32_map *mp, int index, int num)
{
	const struct md_console *con = mixer_console(x->c->m);
	if (mp->conv == XC_NAME) {
		lo_message m = lo_message_new();
		lo_message_add_string(m,
				      mp->scope == MD_SCOPE_STRIP ? con->strips[index]->name : con->buses[index]->name);
		return m;
	}
	float v = 0.0f;
	mixer_get(x->c->m, (enum md_scope)mp->scope, index, mp->param + num * mp->stride, &v);
	return to_x32(mp, v);
}

/* ---- sending ---- */

/* one bare message to a peer: X32 clients expect no bundles */
static void send_to(struct md_x32 *x, const struct md_peer *p, const char *path, lo_message m)
{
	struct md_out o;
	oscnet_out_begin(&o, &x->net, p);
	oscnet_out_add(&o, path, m);
	oscnet_out_flush(&o);
}

/* the address this machine has towards peer (what an X32 reports as its IP) */
static void local_ip(const struct md_peer *p, char *buf, size_t len)
{
	snprintf(buf, len, "127.0.0.1");
	int fd = socket(p->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	struct sockaddr_storage me;
	socklen_t mlen = sizeof me;
	if (connect(fd, (const struct sockaddr *)&p->addr, p->len) == 0 &&
	    getsockname(fd, (struct sockaddr *)&me, &mlen) == 0) {
		if (me.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&me)->sin_addr, buf, (socklen_t)len);
		else if (me.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&me)->sin6_addr, buf, (socklen_t)len);
	}
	close(fd);
}

/* ---- subscriptions ---- */

static struct x32_sub *find_sub(struct md_x32 *x, const struct md_peer *p)
{
	for (int i = 0; i < MD_X32_MAX_SUBS; i++)
		if (x->subs[i].used && oscnet_peer_equal(&x->subs[i].peer, p))
			return &x->subs[i];
	return NULL;
}

static void xremote(struct md_x32 *x)
{
	struct x32_sub *s = find_sub(x, &x->net.cur);
	for (int i = 0; i < MD_X32_MAX_SUBS && !s; i++)
		if (!x->subs[i].used) {
			s = &x->subs[i];
			memset(s, 0, sizeof *s);
			s->used = true;
			s->peer = x->net.cur;
		}
	if (!s) {
		x->unmapped++; /* full: the X32 too serves a few clients only */
		return;
	}
	s->expires = x->now + MD_X32_SUB_LIFETIME;
}

/* remember a client's own set, so the drain does not echo it back */
static void note_own(struct md_x32 *x, int scope, int index, int param, float value)
{
	struct x32_sub *s = x->cur_sub;
	if (!s)
		return;
	for (int i = 0; i < s->nown; i++)
		if (s->own[i].scope == scope && s->own[i].index == index && s->own[i].param == param) {
			s->own[i].value = value;
			return;
		}
	if (s->nown == X32_OWN_MAX) {
		memmove(s->own, s->own + 1, (X32_OWN_MAX - 1) * sizeof *s->own);
		s->nown--;
	}
	s->own[s->nown++] = (struct x32_own){scope, index, param, value};
}

/* whether the change is s's own set (forgotten once seen) */
static bool take_own(struct x32_sub *s, int scope, int index, int param, float value)
{
	for (int i = 0; i < s->nown; i++)
		if (s->own[i].scope == scope && s->own[i].index == index && s->own[i].param == param) {
			bool same = s->own[i].value == value;
			memmove(s->own + i, s->own + i + 1, (size_t)(s->nown - i - 1) * sizeof *s->own);
			s->nown--;
			return same;
		}
	return false;
}

/* ---- requests ---- */

static void reply_status(struct md_x32 *x, const char *path)
{
	char ip[64];
	local_ip(&x->net.cur, ip, sizeof ip);
	lo_message m = lo_message_new();
	if (strcmp(path, "/info") == 0) {
		lo_message_add_string(m, "V2.05");
		lo_message_add_string(m, "mixdesk");
		lo_message_add_string(m, "X32");
		lo_message_add_string(m, X32_FIRMWARE);
	} else if (strcmp(path, "/xinfo") == 0) {
		lo_message_add_string(m, ip);
		lo_message_add_string(m, "mixdesk");
		lo_message_add_string(m, "X32");
		lo_message_add_string(m, X32_FIRMWARE);
	} else {
		lo_message_add_string(m, "active");
		lo_message_add_string(m, ip);
		lo_message_add_string(m, "mixdesk");
	}
	oscnet_reply(&x->net, path, m);
}

static void reply_counts(struct md_x32 *x, const char *path)
{
	struct md_x32_counts n;
	x32_counts(x, &n);
	lo_message m = lo_message_new();
	lo_message_add_int32(m, (int32_t)n.received);
	lo_message_add_int32(m, (int32_t)n.rejected);
	lo_message_add_int32(m, (int32_t)n.unmapped);
	lo_message_add_int32(m, n.subscribers);
	oscnet_reply(&x->net, path, m);
}

/* a number argument (f, i, T/F) into *v; false for anything else */
static bool arg_num(const char *types, lo_arg **argv, double *v)
{
	switch (types[0]) {
	case 'f': *v = osc_arg_f32(argv[0]); return isfinite(*v);
	case 'i': *v = osc_arg_i32(argv[0]); return true;
	case 'T': *v = 1; return true;
	case 'F': *v = 0; return true;
	default: return false;
	}
}

/* [control] set or query one mapped parameter; false when the request has no mixdesk counterpart */
static bool param_request(struct md_x32 *x, const char *path, const char *types, lo_arg **argv, int argc)
{
	int index;
	const char *rest;
	int scope = split(path, &index, &rest);
	if (scope < 0)
		return false;
	const struct md_console *con = mixer_console(x->c->m);
	if (index < 0 || index >= object_count(con, scope))
		return false;
	const struct x32_map *mp = NULL;
	int num = 0;
	for (size_t i = 0; i < sizeof maps / sizeof maps[0] && !mp; i++)
		if (maps[i].scope == scope && match(maps[i].addr, rest, &num))
			mp = &maps[i];
	if (!mp || (strchr(mp->addr, '#') && (num < 0 || num >= num_max(con, mp))))
		return false;
	if (argc == 0) {
		oscnet_reply(&x->net, path, value_msg(x, mp, index, num));
		return true;
	}
	if (argc != 1)
		return false;
	if (mp->conv == XC_NAME) {
		if (types[0] != 's' && types[0] != 'S')
			return false;
		const char *name = (const char *)argv[0];
		if (strlen(name) >= MD_NAME_MAX || console_check_name(name) != MD_OK)
			return false;
		return (scope == MD_SCOPE_STRIP ? mixer_rename_strip(x->c->m, index, name)
						: mixer_rename_bus(x->c->m, index, name)) == MD_OK;
	}
	double a;
	float v, stored;
	if (!arg_num(types, argv, &a) || !to_md(mp, a, &v))
		return false;
	int param = mp->param + num * mp->stride;
	if (mixer_set(x->c->m, (enum md_scope)scope, index, param, v, &stored, NULL) != MD_OK)
		return false;
	note_own(x, scope, index, param, stored);
	ctl_note_set(x->c, (enum md_scope)scope, index, param, stored, false); /* mixdesk's own subscribers */
	return true;
}

static int dispatch(const char *path, const char *types, lo_arg **argv, int argc, lo_message msg, void *user)
{
	struct md_x32 *x = user;
	if (strcmp(path, "/xremote") == 0) {
		xremote(x);
	} else if (argc == 0 && (!strcmp(path, "/info") || !strcmp(path, "/xinfo") || !strcmp(path, "/status"))) {
		reply_status(x, path);
	} else if (argc == 0 && strcmp(path, "/x32/status") == 0) {
		reply_counts(x, path);
	} else if (!param_request(x, path, types, argv, argc)) {
		x->unmapped++;
	}
	return 0;
}

static void on_peer(void *user, const struct md_peer *p)
{
	struct md_x32 *x = user;
	x->cur_sub = find_sub(x, p);
}

/* ---- the listener's life ---- */

struct md_x32 *x32_new(struct md_control *c, const char *bind_addr, int port, const struct md_cidr *allow, int nallow,
		       char *err, size_t errlen)
{
	struct md_x32 *x = calloc(1, sizeof *x);
	if (!x) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	x->c = c;
	x->net.fd = -1;
	x->net.quiet = true; /* X32 clients get no /error: a malformed datagram is counted only */
	char why[256];
	if (oscnet_open(&x->net, bind_addr, port, allow, nallow, dispatch, x, why, sizeof why) != 0) {
		snprintf(err, errlen, "X32 OSC (--x32 %d): %s", port, why);
		x32_free(x);
		return NULL;
	}
	return x;
}

void x32_free(struct md_x32 *x)
{
	if (!x)
		return;
	oscnet_close(&x->net);
	free(x);
}

int x32_fd(const struct md_x32 *x)
{
	return x->net.fd;
}

int x32_port(const struct md_x32 *x)
{
	return x->net.port;
}

void x32_recv(struct md_x32 *x, double now)
{
	x->now = now;
	struct md_sub *keep = x->c->cur_sub;
	x->c->cur_sub = NULL; /* sets from here are nobody's on the main OSC */
	oscnet_recv(&x->net, on_peer, x);
	x->cur_sub = NULL;
	x->c->cur_sub = keep;
}

void x32_tick(struct md_x32 *x, double now)
{
	x->now = now;
	for (int i = 0; i < MD_X32_MAX_SUBS; i++)
		if (x->subs[i].used && now > x->subs[i].expires)
			x->subs[i].used = false;
}

bool x32_has_subs(const struct md_x32 *x)
{
	for (int i = 0; i < MD_X32_MAX_SUBS; i++)
		if (x->subs[i].used)
			return true;
	return false;
}

void x32_changed(struct md_x32 *x, enum md_scope scope, int index, int param)
{
	if (!x32_has_subs(x))
		return;
	const struct md_console *con = mixer_console(x->c->m);
	for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
		const struct x32_map *mp = &maps[i];
		if (mp->scope != (int)scope || mp->conv == XC_NAME || param < mp->param)
			continue;
		int num = 0;
		if (mp->stride) {
			if ((param - mp->param) % mp->stride != 0)
				continue;
			num = (param - mp->param) / mp->stride;
			if (num >= num_max(con, mp))
				continue;
		} else if (param != mp->param) {
			continue;
		}
		float v = 0.0f;
		mixer_get(x->c->m, scope, index, param, &v);
		char path[96];
		map_path(path, sizeof path, mp, index, num);
		for (int k = 0; k < MD_X32_MAX_SUBS; k++) {
			struct x32_sub *s = &x->subs[k];
			if (s->used && !take_own(s, scope, index, param, v))
				send_to(x, &s->peer, path, to_x32(mp, v));
		}
		return;
	}
}

void x32_resync(struct md_x32 *x)
{
	const struct md_console *con = mixer_console(x->c->m);
	for (int k = 0; k < MD_X32_MAX_SUBS; k++) {
		struct x32_sub *s = &x->subs[k];
		if (!s->used)
			continue;
		s->nown = 0;
		for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
			const struct x32_map *mp = &maps[i];
			int nnum = strchr(mp->addr, '#') ? num_max(con, mp) : 1;
			for (int index = 0; index < object_count(con, mp->scope); index++)
				for (int num = 0; num < nnum; num++) {
					char path[96];
					map_path(path, sizeof path, mp, index, num);
					send_to(x, &s->peer, path, value_msg(x, mp, index, num));
				}
		}
	}
}

void x32_counts(const struct md_x32 *x, struct md_x32_counts *out)
{
	int n = 0;
	for (int i = 0; i < MD_X32_MAX_SUBS; i++)
		n += x->subs[i].used;
	*out = (struct md_x32_counts){x->net.received, x->net.rejected, x->unmapped + x->net.errors, n};
}
