/* mixdesk tests: the OSC client shared by the end-to-end OSC tests (see osclient.h). */
#include "control/oscarg.h"

#include "osclient.h"

#include "testlib.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void quiet(int num, const char *msg, const char *where)
{
}


static int on_msg(const char *path, const char *types, lo_arg **argv, int argc, lo_message msg, void *user)
{
	struct oc *o = user;
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 1024;
		o->log = realloc(o->log, (size_t)o->cap * sizeof *o->log);
	}
	struct rmsg *r = &o->log[o->n++];
	memset(r, 0, sizeof *r);
	snprintf(r->path, sizeof r->path, "%s", path);
	r->argc = argc;
	r->t = tl_now();
	int ns = 0;
	for (int i = 0; i < argc && i < OC_MAXARGS; i++) {
		r->types[i] = types[i];
		switch (types[i]) {
		case 'f': r->num[i] = osc_arg_f32(argv[i]); break;
		case 'i': r->num[i] = osc_arg_i32(argv[i]); break;
		case 's':
			if (ns < 4)
				snprintf(r->str[ns++], sizeof r->str[0], "%s", (const char *)argv[i]);
			break;
		default: break;
		}
	}
	return 0;
}

struct oc *oc_open(const char *bind_ip, int port)
{
	struct oc *o = calloc(1, sizeof *o);
	o->fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	inet_pton(AF_INET, bind_ip, &a.sin_addr);
	if (bind(o->fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(o->fd);
		free(o);
		return NULL;
	}
	int rcv = 4 << 20;
	setsockopt(o->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
	o->to.sin_family = AF_INET;
	o->to.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, "127.0.0.1", &o->to.sin_addr);
	char dir[] = "/tmp/mixdesk-test-oscXXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/lo", dir);
	o->disp = lo_server_new_with_proto(path, LO_UNIX, quiet);
	unlink(path);
	rmdir(dir);
	assert_non_null(o->disp);
	lo_server_enable_queue(o->disp, 0, 0);
	lo_server_add_method(o->disp, NULL, NULL, on_msg, o);
	return o;
}

void oc_close(struct oc *o)
{
	if (!o)
		return;
	close(o->fd);
	lo_server_free(o->disp);
	free(o->log);
	free(o);
}

void oc_sendm(struct oc *o, const char *path, lo_message m)
{
	size_t size = 0;
	void *data = lo_message_serialise(m, path, NULL, &size);
	lo_message_free(m);
	ssize_t r = sendto(o->fd, data, size, 0, (struct sockaddr *)&o->to, sizeof o->to);
	assert_int_equal(r, (ssize_t)size);
	free(data);
}

void oc_send0(struct oc *o, const char *path)
{
	oc_sendm(o, path, lo_message_new());
}

void oc_sendf(struct oc *o, const char *path, float v)
{
	lo_message m = lo_message_new();
	lo_message_add_float(m, v);
	oc_sendm(o, path, m);
}

void oc_sends(struct oc *o, const char *path, const char *s)
{
	lo_message m = lo_message_new();
	lo_message_add_string(m, s);
	oc_sendm(o, path, m);
}

/* receive for up to `seconds`, or until a message at path arrived past the cursor (path NULL: the whole time) */
struct rmsg *oc_wait(struct oc *o, const char *path, double seconds)
{
	double end = tl_now() + seconds;
	for (;;) {
		for (; path && o->cursor < o->n; o->cursor++)
			if (strcmp(o->log[o->cursor].path, path) == 0)
				return &o->log[o->cursor++];
		double left = end - tl_now();
		if (left <= 0)
			return NULL;
		struct pollfd p = {o->fd, POLLIN, 0};
		if (poll(&p, 1, (int)(left * 1000) + 1) > 0) {
			static unsigned char buf[65536];
			ssize_t n = recv(o->fd, buf, sizeof buf, 0);
			if (n > 0)
				lo_server_dispatch_data(o->disp, buf, (size_t)n);
		}
	}
}

void oc_drain(struct oc *o, double seconds)
{
	oc_wait(o, NULL, seconds);
	o->cursor = o->n;
}

/* messages at path received past index from */
int oc_count(struct oc *o, int from, const char *path)
{
	int k = 0;
	for (int i = from; i < o->n; i++)
		k += strcmp(o->log[i].path, path) == 0;
	return k;
}

/* Query and return the answer (fails the test when none comes). */
struct rmsg *oc_query(struct oc *o, const char *path)
{
	oc_send0(o, path);
	struct rmsg *r = oc_wait(o, path, 3.0);
	if (!r)
		fail_msg("no answer to the query %s", path);
	return r;
}

double qf(struct oc *o, const char *path)
{
	struct rmsg *r = oc_query(o, path);
	assert_int_equal(r->argc, 1);
	return r->num[0];
}

/* A set must not be answered (the value was taken as asked): the next message is the query's answer. */
void set_exact(struct oc *o, const char *path, lo_message m, const char *want_type, double want)
{
	int from = o->n;
	oc_sendm(o, path, m);
	struct rmsg *r = oc_query(o, path);
	assert_int_equal(oc_count(o, from, path), 1); /* no correction reply before the answer */
	assert_int_equal(oc_count(o, from, "/error"), 0);
	assert_int_equal(r->types[0], want_type[0]);
	assert_float_equal(r->num[0], want, 1e-4);
}

/* A set that is corrected: the reply carries the true value. */
void set_corrected(struct oc *o, const char *path, lo_message m, const char *want_type, double want)
{
	int from = o->n;
	oc_sendm(o, path, m);
	struct rmsg *r = oc_wait(o, path, 3.0);
	if (!r)
		fail_msg("no correction for %s", path);
	assert_int_equal(oc_count(o, from, "/error"), 0);
	assert_int_equal(r->types[0], want_type[0]);
	assert_float_equal(r->num[0], want, 1e-4);
}

lo_message mf(float v)
{
	lo_message m = lo_message_new();
	lo_message_add_float(m, v);
	return m;
}

lo_message mi(int v)
{
	lo_message m = lo_message_new();
	lo_message_add_int32(m, v);
	return m;
}

lo_message md(double v)
{
	lo_message m = lo_message_new();
	lo_message_add_double(m, v);
	return m;
}

lo_message mh(int64_t v)
{
	lo_message m = lo_message_new();
	lo_message_add_int64(m, v);
	return m;
}

lo_message mtf(bool t)
{
	lo_message m = lo_message_new();
	if (t)
		lo_message_add_true(m);
	else
		lo_message_add_false(m);
	return m;
}

lo_message ms(const char *s)
{
	lo_message m = lo_message_new();
	lo_message_add_string(m, s);
	return m;
}

/* expect an /error about address whose text contains `what` */
void expect_error(struct oc *o, const char *address, const char *what)
{
	struct rmsg *r = oc_wait(o, "/error", 3.0);
	if (!r)
		fail_msg("no /error for %s", address);
	assert_int_equal(r->argc, 2);
	assert_string_equal(r->str[0], address);
	if (!strstr(r->str[1], what))
		fail_msg("/error for %s says '%s', expected it to mention '%s'", address, r->str[1], what);
}
