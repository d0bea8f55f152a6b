/* mixdesk tests: controllers that are not mixdesk's own, end to end on a private jackd (dummy backend) with
 * the real mixdesk: a tablet that listens on another port than it sends from (/subscribe's reply port), and
 * the X32 console's OSC dialect on its own port (docs/X32.md): the fader law, mute, pan, queries, /xremote
 * feedback and its timing, its lapse, unmapped addresses and the allowlist. */
#include "osclient.h"
#include "testlib.h"

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
__attribute__((unused)) static int free_port(void)
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_port),
		cmocka_unit_test(test_reply_port_option),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
