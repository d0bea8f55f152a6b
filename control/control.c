/* mixdesk: the OSC server's life and the control loop's hooks: the options checked, the listener opened
 * (control/oscnet.c: socket, allowlist, dispatcher) with routes.c's dispatcher as its handler, datagrams
 * read, and the periodic feedback and transport work. Every function is [control]. */
#include "control/control.h"
#include "control/control_int.h"
#include "control/oscnet.h"

#include "engine/mixer/mixer.h"

#include <stdio.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(MD_OSC_MAX_ALLOW <= MD_OSCNET_MAX_ALLOW, "the listener holds every --osc-allow entry");

/* [control] the allowlist of o (loopback only when it lists nothing) into allow[]; the count, or -1 with
 * a message */
static int parse_opts(const struct md_control_opts *o, struct md_cidr allow[MD_OSC_MAX_ALLOW], char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (o->bind_addr && oscnet_sockaddr(o->bind_addr, 0, &ss, &len) != 0) {
		snprintf(err, errlen, "--osc-bind '%s' is not an IPv4 or IPv6 address (e.g. 127.0.0.1, 0.0.0.0, ::1)",
			 o->bind_addr);
		return -1;
	}
	if (o->nallow > MD_OSC_MAX_ALLOW) {
		snprintf(err, errlen, "at most %d --osc-allow entries", MD_OSC_MAX_ALLOW);
		return -1;
	}
	for (int i = 0; i < o->nallow; i++)
		if (oscnet_parse_cidr(o->allow[i], &allow[i]) != 0) {
			snprintf(
				err, errlen,
				"--osc-allow '%s' is not a network: expected an address with an optional prefix length, "
				"e.g. 192.168.1.0/24, 10.0.0.7, fd00::/8",
				o->allow[i]);
			return -1;
		}
	if (o->nallow > 0)
		return o->nallow;
	oscnet_parse_cidr("127.0.0.0/8", &allow[0]);
	oscnet_parse_cidr("::1/128", &allow[1]);
	return 2;
}

int control_check_opts(const struct md_control_opts *o, char *err, size_t errlen)
{
	struct md_cidr allow[MD_OSC_MAX_ALLOW];
	return parse_opts(o, allow, err, errlen) < 0 ? -1 : 0;
}

struct md_control *control_new(struct md_mixer *m, const struct md_control_opts *o, char *err, size_t errlen)
{
	struct md_control *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->m = m;
	c->net.fd = -1;
	c->epfd = -1;
	c->next_sub_id = 1;
	c->reply_port = o->reply_port;
	c->serial = mixer_structure_serial(m);
	c->last_strip = calloc((size_t)MD_MAX_STRIPS * MD_SP_COUNT, sizeof *c->last_strip);
	if (!c->last_strip) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* The allowlist: the --osc-allow networks, or loopback only when none is given. It applies whatever
	 * the bind address, so --osc-bind 0.0.0.0 alone still answers nobody but this machine. */
	struct md_cidr allow[MD_OSC_MAX_ALLOW];
	int nallow = parse_opts(o, allow, err, errlen);
	if (nallow < 0)
		goto fail;
	if (o->session_path && !(c->session_path = strdup(o->session_path))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* the folders /session/load and /session/save may use */
	if (ctl_sessions_init(c, o, err, errlen) != 0)
		goto fail;
	/* one catch-all handler: routes.c splits the path against its table of routes */
	if (oscnet_open(&c->net, o->bind_addr ? o->bind_addr : "127.0.0.1", o->port, allow, nallow, ctl_dispatch, c,
			err, errlen) != 0)
		goto fail;
	/* the X32 dialect listens beside it, with the same address and allowlist; the loop polls one fd, so
	 * both sockets go into an epoll set that control_fd gives */
	if (o->x32_port > 0) {
		if (!(c->x32 = x32_new(c, o->bind_addr ? o->bind_addr : "127.0.0.1", o->x32_port, allow, nallow, err,
				       errlen)))
			goto fail;
		c->epfd = epoll_create1(EPOLL_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN};
		if (c->epfd < 0 || epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->net.fd, &ev) != 0 ||
		    epoll_ctl(c->epfd, EPOLL_CTL_ADD, x32_fd(c->x32), &ev) != 0) {
			snprintf(err, errlen, "epoll for the OSC and X32 sockets: %s", strerror(errno));
			goto fail;
		}
	}
	return c;
fail:
	control_free(c);
	return NULL;
}

void control_free(struct md_control *c)
{
	if (!c)
		return;
	ctl_sessions_free(c); /* a save being written is finished and answered first */
	for (int i = 0; i < MD_OSC_MAX_SUBS; i++)
		if (c->fb[i].b)
			lo_bundle_free_recursive(c->fb[i].b);
	oscnet_close(&c->net);
	x32_free(c->x32);
	if (c->epfd >= 0)
		close(c->epfd);
	free(c->last_strip);
	free(c->session_path);
	free(c);
}

int control_port(const struct md_control *c)
{
	return c->net.port;
}

int control_x32_port(const struct md_control *c)
{
	return c->x32 ? x32_port(c->x32) : 0;
}

int control_fd(const struct md_control *c)
{
	return c->epfd >= 0 ? c->epfd : c->net.fd;
}

void control_set_host(struct md_control *c, const struct md_host_status *s)
{
	bool changed = !c->host_known || s->jack_alive != c->host.jack_alive;
	if (!c->host_known)
		c->xruns_sent = s->xruns;
	c->host = *s;
	c->host_known = true;
	if (changed) {
		lo_message m = lo_message_new();
		lo_message_add_string(m, s->jack_alive ? "running" : "gone");
		ctl_broadcast(c, "/jack", m);
	}
	if (s->xruns > c->xruns_sent && c->now - c->xrun_sent_at >= 0.5) {
		lo_message m = lo_message_new();
		lo_message_add_int32(m, (int32_t)s->xruns);
		lo_message_add_int32(m, (int32_t)(s->xruns - c->xruns_sent));
		ctl_broadcast(c, "/xrun", m);
		c->xruns_sent = s->xruns;
		c->xrun_sent_at = c->now;
	}
}

const char *control_session_path(const struct md_control *c)
{
	return c->session_path;
}

enum md_err control_set_session_path(struct md_control *c, const char *path)
{
	char *dup = path ? strdup(path) : NULL;
	if (path && !dup)
		return MD_ERR_NOMEM;
	free(c->session_path);
	c->session_path = dup;
	return MD_OK;
}

/* [control] a datagram from p is about to be dispatched: its handlers see the sender's subscription, and
 * its answers go where that subscription's feedback goes (its reply port), or to the sender's host on
 * --osc-reply-port, or back to the sender */
static void on_peer(void *user, const struct md_peer *p)
{
	struct md_control *c = user;
	c->sender = *p;
	c->cur_sub = ctl_find_sub_from(c, p);
	if (c->cur_sub)
		c->net.cur = c->cur_sub->peer;
	else
		c->net.cur = ctl_peer_port(p, c->reply_port);
}

void control_recv(struct md_control *c)
{
	c->now = md_now_s();
	oscnet_recv(&c->net, on_peer, c);
	c->cur_sub = NULL;
	if (c->x32)
		x32_recv(c->x32, c->now);
}

void control_tick(struct md_control *c, double now)
{
	c->now = now;
	ctl_save_tick(c);
	if (c->x32)
		x32_tick(c->x32, now);
	ctl_feedback_tick(c, now);
	ctl_transport_tick(c, now);
}

void control_feed(struct md_control *c, const void *data, size_t len, const struct sockaddr *from, socklen_t fromlen,
		  double now)
{
	struct md_peer p;
	memset(&p, 0, sizeof p);
	p.len = fromlen < (socklen_t)sizeof p.addr ? fromlen : (socklen_t)sizeof p.addr;
	memcpy(&p.addr, from, p.len);
	c->now = now;
	oscnet_dispatch(&c->net, data, len, &p, on_peer, c);
	c->cur_sub = NULL;
}
