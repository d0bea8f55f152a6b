/* mixdesk tests: controllers that are not mixdesk's own, end to end on a private jackd (dummy backend) with
 * the real mixdesk: a tablet that listens on another port than it sends from (/subscribe's reply port), and
 * the X32 console's OSC dialect on its own port (docs/X32.md): the fader law, mute, pan, queries, /xremote
 * feedback and its timing, its lapse, unmapped addresses and the allowlist. */
#include "osclient.h"
#include "testlib.h"

#include "engine/model/md.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <lo/lo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct fixture {
	struct tl_jackd jackd;
	char *dir;
	char log[512];
	pid_t pid;
	int port;     /* mixdesk's own OSC */
	int x32_port; /* the X32 dialect's */
};

static struct fixture *F;

static int group_setup(void **state)
{
	F = calloc(1, sizeof *F);
	F->dir = tl_tmpdir();
	return tl_jackd_start(&F->jackd, 48000, 256) != 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
	tl_jackd_stop(&F->jackd);
	tl_rmtree(F->dir);
	free(F->dir);
	free(F);
	return 0;
}

/* the UDP port an oc receives on */
static int oc_port(const struct oc *o)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	getsockname(o->fd, (struct sockaddr *)&a, &len);
	return ntohs(a.sin_port);
}

/* a UDP port free a moment ago (the X32 port is given on the command line, not picked by mixdesk) */
static int free_port(void)
{
	struct oc *o = oc_open("127.0.0.1", 0);
	int p = oc_port(o);
	oc_close(o);
	return p;
}

static int start_engine(const char *const extra[])
{
	static int run;
	snprintf(F->log, sizeof F->log, "%s/mixdesk-%d.log", F->dir, run++);
	F->pid = tl_mixdesk_start(F->jackd.name, "mdx32", extra, F->log);
	if (F->pid <= 0)
		return -1;
	F->port = tl_mixdesk_osc_port(F->log, 10.0);
	return F->port > 0 ? 0 : -1;
}

static void stop_engine(void)
{
	if (F->pid > 0)
		assert_int_equal(tl_stop(F->pid), 0);
	F->pid = 0;
}

/* ---- the reply port ---- */

/* A client sends from port A and listens on B: with /subscribe 0 B its feedback and answers go to B and
 * nothing to A; a renewal from A keeps the one subscription. */
static void test_reply_port(void **state)
{
	assert_int_equal(start_engine((const char *[]){"--channels", "2", NULL}), 0);
	struct oc *a = oc_open("127.0.0.1", F->port), *b = oc_open("127.0.0.1", F->port);
	struct oc *other = oc_open("127.0.0.1", F->port);
	assert_non_null(a);
	assert_non_null(b);
	lo_message m = lo_message_new();
	lo_message_add_float(m, 0.0f);
	lo_message_add_int32(m, oc_port(b));
	oc_sendm(a, "/subscribe", m);
	oc_drain(b, 0.2);
	/* a change made by another controller comes to B */
	oc_sendf(other, "/ch/1/fader", -7.0f);
	struct rmsg *r = oc_wait(b, "/ch/1/fader", 2.0);
	assert_non_null(r);
	assert_float_equal(r->num[0], -7.0, 1e-4);
	/* a query from A is answered on B */
	oc_send0(a, "/ch/2/pan");
	assert_non_null(oc_wait(b, "/ch/2/pan", 2.0));
	/* renewed from A: still one subscriber, still on B */
	m = lo_message_new();
	lo_message_add_float(m, 0.0f);
	lo_message_add_int32(m, oc_port(b));
	oc_sendm(a, "/subscribe", m);
	oc_drain(b, 0.1);
	oc_send0(other, "/status");
	r = oc_wait(other, "/status", 2.0);
	assert_non_null(r);
	assert_int_equal((int)r->num[4], 1); /* subscribers */
	oc_sendf(other, "/ch/1/fader", -8.0f);
	r = oc_wait(b, "/ch/1/fader", 2.0);
	assert_non_null(r);
	assert_float_equal(r->num[0], -8.0, 1e-4);
	/* a bad port is an /error (to B: the sender's answers go where its feedback goes) */
	m = lo_message_new();
	lo_message_add_float(m, 0.0f);
	lo_message_add_int32(m, 70000);
	oc_sendm(a, "/subscribe", m);
	r = oc_wait(b, "/error", 2.0);
	assert_non_null(r);
	assert_non_null(strstr(r->str[1], "1..65535"));
	/* nothing ever came to A */
	oc_drain(a, 0.2);
	assert_int_equal(a->n, 0);
	oc_close(a);
	oc_close(b);
	oc_close(other);
	stop_engine();
}

/* --osc-reply-port: every sender's answers go to its host on that port */
static void test_reply_port_option(void **state)
{
	struct oc *b = oc_open("127.0.0.1", 0);
	char port[16];
	snprintf(port, sizeof port, "%d", oc_port(b));
	assert_int_equal(start_engine((const char *[]){"--channels", "1", "--osc-reply-port", port, NULL}), 0);
	struct oc *a = oc_open("127.0.0.1", F->port);
	b->to.sin_port = htons((uint16_t)F->port);
	oc_send0(a, "/ch/1/fader");
	struct rmsg *r = oc_wait(b, "/ch/1/fader", 2.0);
	assert_non_null(r);
	oc_send0(a, "/subscribe");
	oc_drain(b, 0.1);
	struct oc *other = oc_open("127.0.0.1", F->port);
	oc_sendf(other, "/ch/1/mute", 1.0f);
	r = oc_wait(b, "/ch/1/mute", 2.0);
	assert_non_null(r);
	assert_int_equal((int)r->num[0], 1);
	oc_drain(a, 0.2);
	assert_int_equal(a->n, 0);
	oc_close(other);
	oc_close(a);
	oc_close(b);
	stop_engine();
}

/* ---- the X32 dialect ---- */

/* mixdesk with --x32 on a free port, and an X32 client on it once it answers /info */
static struct oc *start_x32(const char *const extra[], const char *client_ip)
{
	char port[16];
	F->x32_port = free_port();
	snprintf(port, sizeof port, "%d", F->x32_port);
	const char *args[32];
	int n = 0;
	args[n++] = "--x32";
	args[n++] = port;
	for (int i = 0; extra[i] && n < 30; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	assert_int_equal(start_engine(args), 0);
	struct oc *x = oc_open(client_ip, F->x32_port);
	assert_non_null(x);
	return x;
}

static void x32_sendi(struct oc *o, const char *path, int v)
{
	oc_sendm(o, path, mi(v));
}

/* a query on the X32 port: the one-argument answer at the same address */
static struct rmsg *x32_query(struct oc *x, const char *path)
{
	oc_send0(x, path);
	struct rmsg *r = oc_wait(x, path, 2.0);
	if (!r)
		fail_msg("no X32 answer to %s", path);
	return r;
}

/* An X32 set, then a query on the same port: it is done by the time the answer comes (the two sockets are
 * read one after the other, so a query on mixdesk's own port could overtake it). */
static void x32_setf(struct oc *x, const char *path, float v)
{
	oc_sendf(x, path, v);
	x32_query(x, path);
}

static void x32_seti(struct oc *x, const char *path, int v)
{
	x32_sendi(x, path, v);
	x32_query(x, path);
}

static void test_x32_map(void **state)
{
	struct oc *x = start_x32((const char *[]){"--channels", "2", NULL}, "127.0.0.1");
	struct oc *o = oc_open("127.0.0.1", F->port);
	/* the console as an X32 says it is */
	struct rmsg *r = x32_query(x, "/info");
	assert_int_equal(r->argc, 4);
	assert_string_equal(r->str[2], "X32");
	r = x32_query(x, "/xinfo");
	assert_int_equal(r->argc, 4);
	assert_string_equal(r->str[0], "127.0.0.1");
	r = x32_query(x, "/status");
	assert_int_equal(r->argc, 3);
	assert_string_equal(r->str[0], "active");
	/* the fader law, read back over mixdesk's own OSC */
	static const double law[][2] = {{0.75, 0}, {0.5, -10}, {0.25, -30}, {1.0, 10}, {0.0625, -60}, {0.0, -120}};
	for (size_t i = 0; i < sizeof law / sizeof law[0]; i++) {
		x32_setf(x, "/ch/01/mix/fader", (float)law[i][0]);
		assert_float_equal(qf(o, "/ch/1/fader"), law[i][1], 1e-3);
	}
	x32_setf(x, "/ch/01/mix/fader", 0.25f);
	/* a query answers in X32 form */
	r = x32_query(x, "/ch/01/mix/fader");
	assert_int_equal(r->types[0], 'f');
	assert_float_equal(r->num[0], 0.25, 1e-5);
	/* on = not muted */
	x32_seti(x, "/ch/01/mix/on", 0);
	assert_int_equal((int)qf(o, "/ch/1/mute"), 1);
	r = x32_query(x, "/ch/01/mix/on");
	assert_int_equal(r->types[0], 'i');
	assert_int_equal((int)r->num[0], 0);
	x32_seti(x, "/ch/01/mix/on", 1);
	assert_int_equal((int)qf(o, "/ch/1/mute"), 0);
	/* pan 0..1 onto -1..+1 */
	x32_setf(x, "/ch/01/mix/pan", 0.25f);
	assert_float_equal(qf(o, "/ch/1/pan"), -0.5, 1e-5);
	assert_float_equal(x32_query(x, "/ch/01/mix/pan")->num[0], 0.25, 1e-5);
	/* names */
	oc_sends(x, "/ch/02/config/name", "Snare");
	x32_query(x, "/ch/02/config/name");
	assert_string_equal(oc_query(o, "/ch/2/name")->str[0], "Snare");
	assert_string_equal(x32_query(x, "/ch/02/config/name")->str[0], "Snare");
	/* EQ and dynamics where they map */
	x32_setf(x, "/ch/01/eq/2/g", 0.75f);
	assert_float_equal(qf(o, "/ch/1/eq/2/gain"), 7.5, 1e-4);
	x32_setf(x, "/ch/01/eq/2/f", 0.5f); /* log 20..20k: the middle is 632 Hz */
	assert_float_equal(qf(o, "/ch/1/eq/2/freq"), 632.46, 0.05);
	x32_seti(x, "/ch/01/eq/1/type", 4); /* HShv */
	assert_string_equal(oc_query(o, "/ch/1/eq/1/type")->str[0], "highshelf");
	assert_int_equal((int)x32_query(x, "/ch/01/eq/1/type")->num[0], 4);
	x32_setf(x, "/ch/01/dyn/thr", 0.5f);
	assert_float_equal(qf(o, "/ch/1/comp/threshold"), -30.0, 1e-4);
	x32_seti(x, "/ch/01/dyn/ratio", 3); /* 2.0 */
	assert_float_equal(qf(o, "/ch/1/comp/ratio"), 2.0, 1e-5);
	x32_setf(x, "/ch/01/gate/range", 1.0f);
	assert_float_equal(qf(o, "/ch/1/gate/range"), -60.0, 1e-4);
	/* sends, a bus and the main */
	oc_sends(o, "/bus/add", "Verb");
	assert_non_null(oc_wait(o, "/bus/count", 3.0));
	x32_setf(x, "/ch/02/mix/01/level", 0.75f);
	assert_float_equal(qf(o, "/ch/2/send/1/level"), 0.0, 1e-3);
	x32_setf(x, "/bus/01/mix/fader", 0.5f);
	assert_float_equal(qf(o, "/bus/1/fader"), -10.0, 1e-3);
	x32_setf(x, "/main/st/mix/fader", 0.5f);
	assert_float_equal(qf(o, "/master/fader"), -10.0, 1e-3);
	x32_seti(x, "/main/st/mix/on", 0);
	assert_int_equal((int)qf(o, "/master/mute"), 1);
	x32_setf(x, "/main/st/mix/pan", 1.0f);
	assert_float_equal(qf(o, "/master/balance"), 1.0, 1e-5);
	oc_close(o);
	oc_close(x);
	stop_engine();
}

/* /xremote: a change made over mixdesk's own OSC arrives in X32 form within 50 ms; without a renewal the
 * feedback stops after 10 s */
static void test_xremote(void **state)
{
	struct oc *x = start_x32((const char *[]){"--channels", "2", NULL}, "127.0.0.1");
	struct oc *o = oc_open("127.0.0.1", F->port);
	x32_query(x, "/info");
	double t_sub = tl_now();
	oc_send0(x, "/xremote");
	oc_drain(x, 0.1);
	double worst = 0, sum = 0;
	const int n = 20;
	for (int i = 0; i < n; i++) {
		float db = -40.0f + (float)i;
		double t0 = tl_now();
		oc_sendf(o, "/ch/1/fader", db);
		struct rmsg *r = oc_wait(x, "/ch/01/mix/fader", 1.0);
		assert_non_null(r);
		double dt = r->t - t0;
		assert_float_equal(r->num[0], md_fader_db_to_pos(db), 1e-5);
		worst = dt > worst ? dt : worst;
		sum += dt;
		tl_sleep(0.013); /* not in step with the feedback rate */
	}
	printf("x32: /xremote feedback of a native set: mean %.1f ms, worst %.1f ms over %d changes\n", 1000 * sum / n,
	       1000 * worst, n);
	assert_true(worst < 0.050);
	/* a change from the X32 client itself is not echoed to it; a mute from mixdesk comes as mix/on */
	int from = x->n;
	oc_sendf(x, "/ch/02/mix/fader", 0.5f);
	oc_sendf(o, "/ch/2/mute", 1.0f);
	struct rmsg *r = oc_wait(x, "/ch/02/mix/on", 1.0);
	assert_non_null(r);
	assert_int_equal((int)r->num[0], 0);
	oc_drain(x, 0.1);
	assert_int_equal(oc_count(x, from, "/ch/02/mix/fader"), 0);
	/* a rename reaches it as config/name */
	oc_sends(o, "/ch/1/name", "Kick");
	bool named = false;
	for (double end = tl_now() + 2.0; !named && tl_now() < end;) {
		r = oc_wait(x, "/ch/01/config/name", end - tl_now());
		named = r && strcmp(r->str[0], "Kick") == 0;
	}
	assert_true(named);
	/* lapse: 10 s after the /xremote nothing comes any more */
	tl_sleep(t_sub + 10.3 - tl_now());
	oc_drain(x, 0.05);
	from = x->n;
	oc_sendf(o, "/ch/1/fader", -3.0f);
	oc_drain(x, 0.3);
	assert_int_equal(oc_count(x, from, "/ch/01/mix/fader"), 0);
	/* renewed, it comes again */
	oc_send0(x, "/xremote");
	oc_drain(x, 0.05);
	oc_sendf(o, "/ch/1/fader", -4.0f);
	assert_non_null(oc_wait(x, "/ch/01/mix/fader", 1.0));
	oc_close(o);
	oc_close(x);
	stop_engine();
}

/* no counterpart: no answer, counted */
static void test_x32_unmapped(void **state)
{
	struct oc *x = start_x32((const char *[]){"--channels", "2", NULL}, "127.0.0.1");
	x32_query(x, "/info");
	int from = x->n;
	oc_sendf(x, "/ch/01/mix/fader/extra", 0.5f);
	x32_sendi(x, "/ch/01/mix/01/on", 1);   /* mixdesk's sends have no on/off */
	oc_sendf(x, "/ch/40/mix/fader", 0.5f); /* no such strip */
	x32_sendi(x, "/ch/01/eq/1/type", 0);   /* LCut: no such band shape */
	oc_send0(x, "/ch/01/dyn/hold");        /* the compressor has no hold */
	oc_sends(x, "/node", "ch/01/mix");
	oc_send0(x, "/-stat/solosw/01");
	oc_sendf(x, "/ch/01/mix/fader", 0.5f); /* a mapped one among them, not answered either (a set) */
	for (int i = 0; i < 1000; i++)         /* a flood of them, still no answer */
		oc_send0(x, "/meters/1");
	oc_drain(x, 0.5);
	assert_int_equal(x->n - from, 0);
	struct rmsg *r = x32_query(x, "/x32/status");
	assert_int_equal(r->argc, 4);
	assert_int_equal((int)r->num[2], 1007); /* unmapped */
	struct oc *o = oc_open("127.0.0.1", F->port);
	r = oc_query(o, "/x32/status");
	assert_int_equal((int)r->num[2], 1007);
	oc_close(o);
	oc_close(x);
	stop_engine();
}

/* the main OSC's allowlist applies: a sender outside it gets nothing */
static void test_x32_allowlist(void **state)
{
	struct oc *bad = start_x32(
		(const char *[]){"--osc-bind", "0.0.0.0", "--osc-allow", "127.0.0.1/32", "--channels", "1", NULL},
		"127.0.0.2");
	struct oc *good = oc_open("127.0.0.1", F->x32_port);
	x32_query(good, "/info");
	oc_send0(bad, "/info");
	oc_send0(bad, "/xremote");
	oc_send0(bad, "/ch/01/mix/fader");
	oc_sendf(bad, "/ch/01/mix/fader", 0.1f);
	oc_drain(bad, 0.5);
	assert_int_equal(bad->n, 0);
	assert_float_equal(x32_query(good, "/ch/01/mix/fader")->num[0], 0.75, 1e-5); /* untouched: 0 dB */
	struct rmsg *r = x32_query(good, "/x32/status");
	assert_int_equal((int)r->num[1], 4); /* rejected */
	assert_int_equal((int)r->num[3], 0); /* no /xremote client */
	oc_close(bad);
	oc_close(good);
	stop_engine();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_port),   cmocka_unit_test(test_reply_port_option),
		cmocka_unit_test(test_x32_map),      cmocka_unit_test(test_xremote),
		cmocka_unit_test(test_x32_unmapped), cmocka_unit_test(test_x32_allowlist),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
