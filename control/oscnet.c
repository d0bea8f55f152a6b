/* mixdesk: OSC over our own UDP socket. The listener owns its socket (bound to --osc-bind, IPv4 or IPv6),
 * reads datagrams with recvfrom, drops those whose source the allowlist does not admit (counted, never
 * answered), and hands the rest to liblo for parsing and dispatch; replies are lo_messages serialised by
 * liblo and sent with sendto. No OSC is parsed here. Every function is [control]. */
#include "control/oscnet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* [control] liblo reports malformed datagrams here; dispatch's return value tells us too, so stay quiet */
static void lo_quiet(int num, const char *msg, const char *where)
{
}

/* [control] "a.b.c.d/n", "x:y::/n" or a bare address (all bits) */
int oscnet_parse_cidr(const char *s, struct md_cidr *out)
{
	char addr[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (n == 0 || n >= sizeof addr)
		return -1;
	memcpy(addr, s, n);
	addr[n] = '\0';
	memset(out, 0, sizeof *out);
	int maxbits;
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = AF_INET;
		maxbits = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
		maxbits = 128;
	} else {
		return -1;
	}
	out->bits = maxbits;
	if (slash) {
		char *end;
		errno = 0;
		long b = strtol(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || b < 0 || b > maxbits)
			return -1;
		out->bits = (int)b;
	}
	return 0;
}

/* [control] the source as (family, bytes); IPv4-mapped IPv6 sources count as IPv4 */
static int peer_bytes(const struct md_peer *p, uint8_t bytes[16])
{
	if (p->addr.ss_family == AF_INET) {
		memcpy(bytes, &((const struct sockaddr_in *)&p->addr)->sin_addr, 4);
		return AF_INET;
	}
	if (p->addr.ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)&p->addr)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(bytes, a->s6_addr + 12, 4);
			return AF_INET;
		}
		memcpy(bytes, a->s6_addr, 16);
		return AF_INET6;
	}
	return -1;
}

static bool cidr_match(const struct md_cidr *c, int family, const uint8_t *b)
{
	if (c->family != family)
		return false;
	int full = c->bits / 8, rest = c->bits % 8;
	if (memcmp(c->addr, b, (size_t)full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));
		if ((c->addr[full] & mask) != (b[full] & mask))
			return false;
	}
	return true;
}

/* [control] whether a source is answered */
static bool allowed(const struct md_oscnet *n, const struct md_peer *p)
{
	uint8_t b[16];
	int fam = peer_bytes(p, b);
	for (int i = 0; i < n->nallow; i++)
		if (cidr_match(&n->allow[i], fam, b))
			return true;
	return false;
}

bool oscnet_peer_equal(const struct md_peer *a, const struct md_peer *b)
{
	return a->len == b->len && memcmp(&a->addr, &b->addr, a->len) == 0;
}

/* [control] liblo needs a lo_server to dispatch with, but liblo 0.31 cannot make one without opening a
 * socket: LO_UDP and LO_TCP bind every interface (a second, unfiltered listener: the very thing the
 * allowlist is there to prevent), and there is no lo_server_config/fd option before 0.32. An LO_UNIX
 * server opens only a local datagram socket at a path we choose: we bind it inside a fresh mkdtemp
 * directory (mode 0700, so only this user could even reach it) and then remove the name and the directory
 * at once, so the socket is unreachable by anyone and nothing is left on disk even after a crash.
 * liblo never reads from it: we only call lo_server_dispatch_data. */
lo_server oscnet_dispatcher(char *err, size_t errlen)
{
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp || strlen(tmp) > 64)
		tmp = "/tmp";
	char dir[128], path[160];
	snprintf(dir, sizeof dir, "%s/mixdesk-osc-XXXXXX", tmp);
	if (!mkdtemp(dir)) {
		snprintf(err, errlen, "cannot create a private directory in %s: %s", tmp, strerror(errno));
		return NULL;
	}
	chmod(dir, 0700);
	snprintf(path, sizeof path, "%s/lo", dir);
	lo_server s = lo_server_new_with_proto(path, LO_UNIX, lo_quiet);
	unlink(path);
	rmdir(dir);
	if (!s) {
		snprintf(err, errlen, "liblo could not create its dispatcher");
		return NULL;
	}
	/* dispatch bundles at once whatever their timetag: a queued bundle would wait for lo_server_recv */
	lo_server_enable_queue(s, 0, 0);
	return s;
}

/* [control] the bind address as a socket address; -1 when it is not a numeric IPv4/IPv6 address */
int oscnet_sockaddr(const char *bind_addr, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, bind_addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof *a4;
	} else if (inet_pton(AF_INET6, bind_addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof *a6;
	} else {
		return -1;
	}
	return 0;
}

/* [control] n->fd: a non-blocking UDP socket bound to bind_addr */
static int open_socket(struct md_oscnet *n, const char *bind_addr, int port, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (oscnet_sockaddr(bind_addr, port, &ss, &len) != 0) {
		snprintf(err, errlen, "--osc-bind '%s' is not an IPv4 or IPv6 address", bind_addr);
		return -1;
	}
	n->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (n->fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (ss.ss_family == AF_INET6) {
		int off = 0; /* "::" also takes IPv4 (as mapped addresses): the allowlist sees them as IPv4 */
		setsockopt(n->fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
	}
	/* room for a burst: a flood waits in the kernel while the loop ticks */
	int rcv = 4 << 20;
	setsockopt(n->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
	if (bind(n->fd, (struct sockaddr *)&ss, len) != 0) {
		snprintf(err, errlen, "cannot bind UDP %s port %d: %s", bind_addr, port, strerror(errno));
		return -1;
	}
	struct sockaddr_storage got;
	socklen_t glen = sizeof got;
	getsockname(n->fd, (struct sockaddr *)&got, &glen);
	n->port = ntohs(got.ss_family == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
						 : ((struct sockaddr_in6 *)&got)->sin6_port);
	return 0;
}

int oscnet_open(struct md_oscnet *n, const char *bind_addr, int port, const struct md_cidr *allow, int nallow,
		lo_method_handler handler, void *user, char *err, size_t errlen)
{
	if (nallow < 0 || nallow > MD_OSCNET_MAX_ALLOW) {
		snprintf(err, errlen, "at most %d allowed networks", MD_OSCNET_MAX_ALLOW);
		return -1;
	}
	memcpy(n->allow, allow, (size_t)nallow * sizeof *allow);
	n->nallow = nallow;
	if (open_socket(n, bind_addr, port, err, errlen) != 0)
		return -1;
	if (!(n->lo = oscnet_dispatcher(err, errlen)))
		return -1;
	/* one catch-all handler: the caller splits the path itself */
	lo_server_add_method(n->lo, NULL, NULL, handler, user);
	return 0;
}

void oscnet_close(struct md_oscnet *n)
{
	if (n->lo)
		lo_server_free(n->lo);
	n->lo = NULL;
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}

void oscnet_dispatch(struct md_oscnet *n, const void *data, size_t len, const struct md_peer *p,
		     void (*on_peer)(void *user, const struct md_peer *p), void *user)
{
	if (len > sizeof n->buf) /* as recvfrom would have cut it */
		len = sizeof n->buf;
	if (data != n->buf)
		memcpy(n->buf, data, len);
	n->received++;
	if (!allowed(n, p)) {
		n->rejected++;
		return;
	}
	if (len == 0)
		return;
	n->cur = *p;
	if (on_peer)
		on_peer(user, p);
	if (lo_server_dispatch_data(n->lo, n->buf, len) < 0)
		oscnet_error(n, "", "malformed OSC datagram (%zu bytes): expected an OSC message or bundle", len);
}

void oscnet_recv(struct md_oscnet *n, void (*on_peer)(void *user, const struct md_peer *p), void *user)
{
	for (int k = 0; k < MD_OSC_RECV_BATCH; k++) {
		struct md_peer p;
		p.len = sizeof p.addr;
		ssize_t r = recvfrom(n->fd, n->buf, sizeof n->buf, MSG_DONTWAIT, (struct sockaddr *)&p.addr, &p.len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break; /* EAGAIN: drained */
		}
		oscnet_dispatch(n, n->buf, (size_t)r, &p, on_peer, user);
	}
}

/* ---- sending ---- */

static void send_raw(struct md_oscnet *n, const struct md_peer *p, const void *data, size_t len)
{
	/* never block the control loop on a slow peer: a datagram that does not fit is dropped */
	ssize_t r = sendto(n->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL, (const struct sockaddr *)&p->addr, p->len);
	(void)r;
}

void oscnet_out_begin(struct md_out *o, struct md_oscnet *n, const struct md_peer *peer)
{
	o->net = n;
	o->peer = *peer;
	o->b = NULL;
	o->bytes = 0;
}

void oscnet_out_add(struct md_out *o, const char *path, lo_message msg)
{
	size_t len = lo_message_length(msg, path) + 4;
	if (o->b && o->bytes + len > MD_OSC_DGRAM_MAX)
		oscnet_out_flush(o);
	if (!o->b) {
		o->b = lo_bundle_new(LO_TT_IMMEDIATE);
		o->bytes = 16; /* "#bundle\0" and the timetag */
		if (!o->b) {
			lo_message_free(msg);
			return;
		}
	}
	lo_bundle_add_message(o->b, path, msg);
	o->bytes += len;
}

void oscnet_out_flush(struct md_out *o)
{
	if (!o->b)
		return;
	size_t size = 0;
	void *data = NULL;
	if (lo_bundle_count(o->b) == 1) { /* a lone message goes bare: simpler for simple clients */
		const char *path = NULL;
		lo_message m = lo_bundle_get_message(o->b, 0, &path);
		data = lo_message_serialise(m, path, NULL, &size);
	} else {
		data = lo_bundle_serialise(o->b, NULL, &size);
	}
	if (data) {
		send_raw(o->net, &o->peer, data, size);
		free(data);
	}
	lo_bundle_free_recursive(o->b);
	o->b = NULL;
	o->bytes = 0;
}

void oscnet_reply(struct md_oscnet *n, const char *path, lo_message msg)
{
	size_t size = 0;
	void *data = lo_message_serialise(msg, path, NULL, &size);
	if (data) {
		send_raw(n, &n->cur, data, size);
		free(data);
	}
	lo_message_free(msg);
}

void oscnet_error(struct md_oscnet *n, const char *address, const char *fmt, ...)
{
	char what[512], addr[MD_OSC_PATH_MAX + 4];
	if (n->quiet) {
		n->errors++;
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	size_t len = strlen(address);
	if (len >= MD_OSC_PATH_MAX) /* an absurd address is quoted shortened */
		snprintf(addr, sizeof addr, "%.*s...", MD_OSC_PATH_MAX - 4, address);
	else
		memcpy(addr, address, len + 1);
	lo_message m = lo_message_new();
	lo_message_add_string(m, addr);
	lo_message_add_string(m, what);
	oscnet_reply(n, "/error", m);
	n->errors++;
}
