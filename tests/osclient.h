/* mixdesk tests: a small OSC client for end-to-end tests: its own UDP socket (so a test can pick the source
 * address), liblo to build and parse messages, a log of everything received, and waits and queries. */
#ifndef MD_OSCLIENT_H
#define MD_OSCLIENT_H

#include <lo/lo.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#define OC_MAXARGS 128 /* a lane query answers two values per point */

struct rmsg {
	char path[64];
	char types[OC_MAXARGS + 1];
	int argc;
	double num[OC_MAXARGS];
	char str[4][512]; /* the first four strings (an /error's text can be long) */
	double t;
};

struct oc {
	int fd;
	struct sockaddr_in to;
	lo_server disp;
	struct rmsg *log;
	int n, cap, cursor;
};

struct oc *oc_open(const char *bind_ip, int port);
void oc_close(struct oc *o);
void oc_sendm(struct oc *o, const char *path, lo_message m);
void oc_send0(struct oc *o, const char *path);
void oc_sendf(struct oc *o, const char *path, float v);
void oc_sends(struct oc *o, const char *path, const char *s);
struct rmsg *oc_wait(struct oc *o, const char *path, double seconds);
void oc_drain(struct oc *o, double seconds);
int oc_count(struct oc *o, int from, const char *path);
struct rmsg *oc_query(struct oc *o, const char *path);
double qf(struct oc *o, const char *path);
void set_exact(struct oc *o, const char *path, lo_message m, const char *want_type, double want);
void set_corrected(struct oc *o, const char *path, lo_message m, const char *want_type, double want);
lo_message mf(float v);
lo_message mi(int v);
lo_message md(double v);
lo_message mh(int64_t v);
lo_message mtf(bool t);
lo_message ms(const char *s);
void expect_error(struct oc *o, const char *address, const char *what);

#endif
