/* mixdesk: the NSM client protocol (control/nsm.h, docs/NSM.md) over a socket of its own. The server's
 * address comes from NSM_URL (a host name, usually this machine's); the socket is bound to the loopback when
 * that address is a loopback one, and answers that address only either way. Every function is [control]. */
#include "control/nsm.h"
#include "control/oscarg.h"
#include "control/oscnet.h"

#include <arpa/inet.h>
#include <lo/lo.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NSM_API_MAJOR 1
#define NSM_API_MINOR 1
#define NSM_STR_MAX 4096

struct md_nsm {
	struct md_oscnet net;
	struct md_peer server;
	bool welcomed;     /* the server answered the announce */
	bool refused;      /* the server answered it with /error */
	char refusal[512]; /* and said this */
	char server_name[256], server_caps[256];
	bool open_pending, save_pending;
	char path[NSM_STR_MAX], display_name[256], client_id[256];
	int dirty_said; /* -1: nothing said yet, 0: is_clean, 1: is_dirty */
};

const char *nsm_strerror(int code)
{
	switch (code) {
	case NSM_OK: return "ERR_OK";
	case NSM_ERR_GENERAL: return "ERR_GENERAL";
	case NSM_ERR_INCOMPATIBLE_API: return "ERR_INCOMPATIBLE_API";
	case NSM_ERR_BLACKLISTED: return "ERR_BLACKLISTED";
	case NSM_ERR_LAUNCH_FAILED: return "ERR_LAUNCH_FAILED";
	case NSM_ERR_NO_SUCH_FILE: return "ERR_NO_SUCH_FILE";
	case NSM_ERR_NO_SESSION_OPEN: return "ERR_NO_SESSION_OPEN";
	case NSM_ERR_UNSAVED_CHANGES: return "ERR_UNSAVED_CHANGES";
	case NSM_ERR_NOT_NOW: return "ERR_NOT_NOW";
	case NSM_ERR_BAD_PROJECT: return "ERR_BAD_PROJECT";
	case NSM_ERR_CREATE_FAILED: return "ERR_CREATE_FAILED";
	case NSM_ERR_SESSION_LOCKED: return "ERR_SESSION_LOCKED";
	case NSM_ERR_OPERATION_PENDING: return "ERR_OPERATION_PENDING";
	}
	return "unknown error";
}

static void copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

static void send_msg(struct md_nsm *n, const char *path, lo_message m)
{
	if (!m)
		return;
	struct md_out o;
	oscnet_out_begin(&o, &n->net, &n->server);
	oscnet_out_add(&o, path, m); /* a lone message goes bare */
	oscnet_out_flush(&o);
}

/* every message from the server */
static int on_msg(const char *path, const char *types, lo_arg **argv, int argc, lo_message msg, void *user)
{
	struct md_nsm *n = user;
	if (strcmp(path, "/reply") == 0 && argc >= 1 && types[0] == 's') {
		if (strcmp((const char *)argv[0], "/nsm/server/announce") == 0) {
			n->welcomed = true;
			if (argc >= 3 && types[2] == 's')
				copy_str(n->server_name, sizeof n->server_name, (const char *)argv[2]);
			if (argc >= 4 && types[3] == 's')
				copy_str(n->server_caps, sizeof n->server_caps, (const char *)argv[3]);
			fprintf(stderr, "mixdesk: NSM: session manager '%s' welcomes us: %s\n", n->server_name,
				argc >= 2 && types[1] == 's' ? (const char *)argv[1] : "");
		}
		return 0;
	}
	if (strcmp(path, "/error") == 0 && argc >= 3 && strncmp(types, "sis", 3) == 0) {
		fprintf(stderr, "mixdesk: NSM: the session manager answers %s with %s (%d): %s\n",
			(const char *)argv[0], nsm_strerror(osc_arg_i32(argv[1])), osc_arg_i32(argv[1]),
			(const char *)argv[2]);
		if (strcmp((const char *)argv[0], "/nsm/server/announce") == 0) {
			n->refused = true;
			snprintf(n->refusal, sizeof n->refusal, "the session manager refused the announce: %s (%d): %s",
				 nsm_strerror(osc_arg_i32(argv[1])), osc_arg_i32(argv[1]), (const char *)argv[2]);
		}
		return 0;
	}
	if (strcmp(path, "/nsm/client/open") == 0) {
		if (argc != 3 || strcmp(types, "sss") != 0) {
			fprintf(stderr,
				"mixdesk: NSM: /nsm/client/open takes ,sss (path, display name, client id), "
				"not ,%s: ignored\n",
				types);
			return 0;
		}
		copy_str(n->path, sizeof n->path, (const char *)argv[0]);
		copy_str(n->display_name, sizeof n->display_name, (const char *)argv[1]);
		copy_str(n->client_id, sizeof n->client_id, (const char *)argv[2]);
		n->open_pending = true;
		return 0;
	}
	if (strcmp(path, "/nsm/client/save") == 0) {
		n->save_pending = true;
		return 0;
	}
	/* /nsm/client/session_is_loaded and anything newer: nothing to do */
	return 0;
}

/* [control] the server's address from the URL into n->server, its numeric form into host: 0, or -1 */
static int resolve(struct md_nsm *n, const char *url, char *host, size_t hostlen, char *err, size_t errlen)
{
	int proto = lo_url_get_protocol_id(url);
	char *name = lo_url_get_hostname(url);
	char *port = lo_url_get_port(url);
	int rc = -1;
	if (proto != LO_UDP || !name || !port || !*port) {
		snprintf(err, errlen, "NSM_URL '%s' is not an OSC UDP address (expected osc.udp://HOST:PORT/)", url);
		goto out;
	}
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM}, *ai = NULL;
	int e = getaddrinfo(name, port, &hints, &ai);
	if (e) { /* no IPv4 address: an IPv6 one */
		hints.ai_family = AF_UNSPEC;
		e = getaddrinfo(name, port, &hints, &ai);
	}
	if (e) {
		snprintf(err, errlen, "NSM_URL '%s': cannot resolve '%s' port %s: %s", url, name, port,
			 gai_strerror(e));
		goto out;
	}
	memcpy(&n->server.addr, ai->ai_addr, ai->ai_addrlen);
	n->server.len = ai->ai_addrlen;
	e = getnameinfo(ai->ai_addr, ai->ai_addrlen, host, (socklen_t)hostlen, NULL, 0, NI_NUMERICHOST);
	freeaddrinfo(ai);
	if (e) {
		snprintf(err, errlen, "NSM_URL '%s': no numeric address for '%s': %s", url, name, gai_strerror(e));
		goto out;
	}
	rc = 0;
out:
	free(name);
	free(port);
	return rc;
}

struct md_nsm *nsm_start(const char *url, const char *exe, char *err, size_t errlen)
{
	struct md_nsm *n = calloc(1, sizeof *n);
	if (!n) {
		snprintf(err, errlen, "NSM: out of memory");
		return NULL;
	}
	n->net.fd = -1;
	n->dirty_said = -1;
	char host[INET6_ADDRSTRLEN + 8];
	if (resolve(n, url, host, sizeof host, err, errlen) != 0)
		goto fail;
	bool v6 = n->server.addr.ss_family == AF_INET6;
	bool loop = v6 ? IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&n->server.addr)->sin6_addr)
		       : (ntohl(((struct sockaddr_in *)&n->server.addr)->sin_addr.s_addr) >> 24) == 127;
	/* a server on 127.0.1.1 (Debian's host name) answers from whichever loopback address routing picks */
	struct md_cidr allow;
	if (oscnet_parse_cidr(loop && !v6 ? "127.0.0.0/8" : host, &allow) != 0) {
		snprintf(err, errlen, "NSM_URL '%s': '%s' is not an address", url, host);
		goto fail;
	}
	const char *bind = loop ? (v6 ? "::1" : "127.0.0.1") : (v6 ? "::" : "0.0.0.0");
	char e2[256];
	if (oscnet_open(&n->net, bind, 0, &allow, 1, on_msg, n, e2, sizeof e2) != 0) {
		snprintf(err, errlen, "NSM: cannot open a UDP socket on %s: %s", bind, e2);
		goto fail;
	}
	lo_message m = lo_message_new();
	if (m) {
		lo_message_add_string(m, "mixdesk");
		lo_message_add_string(m, ":dirty:message:");
		lo_message_add_string(m, exe);
		lo_message_add_int32(m, NSM_API_MAJOR);
		lo_message_add_int32(m, NSM_API_MINOR);
		lo_message_add_int32(m, (int32_t)getpid());
	}
	send_msg(n, "/nsm/server/announce", m);
	return n;
fail:
	nsm_free(n);
	return NULL;
}

void nsm_free(struct md_nsm *n)
{
	if (!n)
		return;
	if (n->net.fd >= 0 || n->net.lo)
		oscnet_close(&n->net);
	free(n);
}

int nsm_fd(const struct md_nsm *n)
{
	return n->net.fd;
}

void nsm_recv(struct md_nsm *n)
{
	oscnet_recv(&n->net, NULL, NULL);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

bool nsm_wait_open(struct md_nsm *n, double timeout_s, const char **path, const char **display_name,
		   const char **client_id, char *err, size_t errlen)
{
	double end = now_s() + timeout_s;
	while (!n->open_pending && !n->refused) {
		double left = end - now_s();
		if (left <= 0) {
			snprintf(err, errlen,
				 "the session manager sent no /nsm/client/open within %.0f s of the announce%s",
				 timeout_s, n->welcomed ? "" : " (nor answered the announce)");
			return false;
		}
		struct pollfd p = {n->net.fd, POLLIN, 0};
		if (poll(&p, 1, (int)(left * 1000) + 1) > 0)
			nsm_recv(n);
	}
	if (n->refused) {
		snprintf(err, errlen, "%s", n->refusal);
		return false;
	}
	return nsm_open_requested(n, path, display_name, client_id);
}

bool nsm_save_requested(struct md_nsm *n)
{
	bool r = n->save_pending;
	n->save_pending = false;
	return r;
}

bool nsm_open_requested(struct md_nsm *n, const char **path, const char **display_name, const char **client_id)
{
	if (!n->open_pending)
		return false;
	n->open_pending = false;
	*path = n->path;
	*display_name = n->display_name;
	*client_id = n->client_id;
	return true;
}

static void reply(struct md_nsm *n, const char *what, bool ok, int code, const char *message)
{
	lo_message m = lo_message_new();
	if (!m)
		return;
	lo_message_add_string(m, what);
	if (!ok)
		lo_message_add_int32(m, code);
	lo_message_add_string(m, message ? message : "");
	send_msg(n, ok ? "/reply" : "/error", m);
	if (ok)
		nsm_set_dirty(n, false);
}

void nsm_reply_open(struct md_nsm *n, bool ok, int code, const char *message)
{
	reply(n, "/nsm/client/open", ok, code, message);
}

void nsm_reply_save(struct md_nsm *n, bool ok, int code, const char *message)
{
	reply(n, "/nsm/client/save", ok, code, message);
}

void nsm_set_dirty(struct md_nsm *n, bool dirty)
{
	if (n->dirty_said == (int)dirty)
		return;
	n->dirty_said = dirty;
	send_msg(n, dirty ? "/nsm/client/is_dirty" : "/nsm/client/is_clean", lo_message_new());
}

const char *nsm_server_name(const struct md_nsm *n)
{
	return n->server_name;
}

const char *nsm_server_caps(const struct md_nsm *n)
{
	return n->server_caps;
}
