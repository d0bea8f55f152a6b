/* mixdesk: OSC over our own UDP socket, the bottom of control/: the listener and its source allowlist,
 * sending lo_messages and bundles, and the liblo dispatcher that parses datagrams. It knows nothing of the
 * console; the OSC server (control/) and mixdesk-osc build on it. Every function is [control]. */
#ifndef MD_OSCNET_H
#define MD_OSCNET_H

#include <lo/lo.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define MD_OSCNET_MAX_ALLOW 32 /* networks in an allowlist */
#define MD_OSC_DGRAM_MAX 8000  /* a bundle is sent before it would pass this many bytes */
#define MD_OSC_RECV_MAX 65536  /* the largest datagram read */
#define MD_OSC_RECV_BATCH 4096 /* datagrams handled per oscnet_recv call, so ticks keep coming */
#define MD_OSC_PATH_MAX 256    /* longer addresses are answered with /error */

/* a UDP peer */
struct md_peer {
	struct sockaddr_storage addr;
	socklen_t len;
};

/* one allowlist entry: an IPv4 or IPv6 network */
struct md_cidr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	int bits;
};

/* a listener: its socket, the networks it answers, and the datagram being dispatched */
struct md_oscnet {
	int fd; /* -1 until oscnet_open */
	int port;
	lo_server lo;
	struct md_cidr allow[MD_OSCNET_MAX_ALLOW];
	int nallow;
	struct md_peer cur; /* the sender of the datagram being dispatched: replies go there */
	uint32_t received, rejected, errors;
	bool quiet; /* errors are counted, never sent (a dialect whose clients do not expect /error) */
	unsigned char buf[MD_OSC_RECV_MAX];
};

/* an outgoing batch to one peer: messages gathered into a bundle, sent before it passes ~8 KB */
struct md_out {
	struct md_oscnet *net;
	struct md_peer peer;
	lo_bundle b;
	size_t bytes;
};

/* "a.b.c.d/n", "x:y::/n" or a bare address (all bits): 0, or -1 when s is not a network. */
int oscnet_parse_cidr(const char *s, struct md_cidr *out);
/* A numeric IPv4/IPv6 address and a port as a socket address: 0, or -1 when it is not one. */
int oscnet_sockaddr(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len);
bool oscnet_peer_equal(const struct md_peer *a, const struct md_peer *b);

/* A liblo server to parse and dispatch datagrams with (lo_server_dispatch_data) that listens on nothing
 * anyone can reach; bundles are dispatched at once whatever their timetag. NULL with a message in err. */
lo_server oscnet_dispatcher(char *err, size_t errlen);

/* Open a listener on n (its fd -1 before): a non-blocking UDP socket bound to bind_addr:port (port 0 picks
 * a free one) answering the nallow networks of allow, and a dispatcher calling handler(..., user) for every
 * message. 0, or -1 with a message in err (oscnet_close still frees what was opened). */
int oscnet_open(struct md_oscnet *n, const char *bind_addr, int port, const struct md_cidr *allow, int nallow,
		lo_method_handler handler, void *user, char *err, size_t errlen);
void oscnet_close(struct md_oscnet *n);
/* Read and dispatch the datagrams waiting, at most MD_OSC_RECV_BATCH: a source the allowlist does not
 * admit is counted and dropped, never answered. Before each dispatch n->cur is its sender, and on_peer
 * (when not NULL) is told it. */
void oscnet_recv(struct md_oscnet *n, void (*on_peer)(void *user, const struct md_peer *p), void *user);
/* What oscnet_recv does with one datagram of len bytes from p (copied into n->buf first, cut to its size,
 * unless data is n->buf): counted, checked against the allowlist, dispatched, answered on n's socket. */
void oscnet_dispatch(struct md_oscnet *n, const void *data, size_t len, const struct md_peer *p,
		     void (*on_peer)(void *user, const struct md_peer *p), void *user);

void oscnet_out_begin(struct md_out *o, struct md_oscnet *n, const struct md_peer *peer);
/* Add a message (the batch takes it over); flushes first when the bundle would grow past ~8 KB. */
void oscnet_out_add(struct md_out *o, const char *path, lo_message msg);
void oscnet_out_flush(struct md_out *o);
/* One message to the current sender, sent at once (the message is freed). */
void oscnet_reply(struct md_oscnet *n, const char *path, lo_message msg);
/* /error ,ss address what, to the current sender; counted in n->errors. */
void oscnet_error(struct md_oscnet *n, const char *address, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
