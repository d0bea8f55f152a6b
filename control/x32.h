/* mixdesk: the X32 console's OSC dialect on a UDP port of its own (docs/X32.md), so X32 remote apps and
 * TouchOSC X32 layouts drive the console unchanged: /ch/NN/mix/fader and the rest mapped onto mixdesk's
 * parameters, queries, /info /xinfo /status, and /xremote subscribers fed from the feedback drain that the
 * main OSC uses (control/feedback.c calls x32_changed for each changed parameter). Addresses with no
 * mixdesk counterpart are counted and never answered. Every function is [control]. */
#ifndef MD_X32_H
#define MD_X32_H

#include "control/oscnet.h"
#include "engine/model/param.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MD_X32_DEFAULT_PORT 10023
#define MD_X32_MAX_SUBS 8        /* /xremote clients at once */
#define MD_X32_SUB_LIFETIME 10.0 /* seconds an /xremote lasts without renewal */

struct md_control;
struct md_x32;

/* what /x32/status answers */
struct md_x32_counts {
	uint32_t received, rejected; /* datagrams, and those the allowlist refused */
	uint32_t unmapped;           /* messages not answered: no mixdesk counterpart, bad argument, no such strip */
	int subscribers;             /* /xremote clients */
};

/* Open the listener on bind_addr:port with the allowlist of the main OSC. NULL with a message in err. */
struct md_x32 *x32_new(struct md_control *c, const char *bind_addr, int port, const struct md_cidr *allow, int nallow,
		       char *err, size_t errlen);
void x32_free(struct md_x32 *x);
int x32_fd(const struct md_x32 *x);
int x32_port(const struct md_x32 *x);
/* Read and handle every datagram waiting; now is CLOCK_MONOTONIC seconds. */
void x32_recv(struct md_x32 *x, double now);
/* Lapse the /xremote subscriptions not renewed. */
void x32_tick(struct md_x32 *x, double now);
bool x32_has_subs(const struct md_x32 *x);
/* A parameter changed (from the mixer's dirty drain): every /xremote client gets it in X32 form, when it
 * has one, except the echo of a client's own set. */
void x32_changed(struct md_x32 *x, enum md_scope scope, int index, int param);
/* The console's structure changed (names, strips, a load): every /xremote client gets every mapped value. */
void x32_resync(struct md_x32 *x);
void x32_counts(const struct md_x32 *x, struct md_x32_counts *out);

#endif
