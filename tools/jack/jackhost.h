/* mixdesk: the JACK client. It owns the JACK ports (one per I/O slot), runs the engine in the process
 * callback, follows sample-rate changes, counts xruns, and notices when the server goes away. */
#ifndef MD_JACKHOST_H
#define MD_JACKHOST_H

#include "engine/mixer/mixer.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct md_jackhost;

struct md_jackhost_opts {
	const char *client_name; /* default "mixdesk" */
	const char *server_name; /* NULL: the default server (or $JACK_DEFAULT_SERVER) */
};

/* Open the client and create its mixer (empty console). On failure NULL and a message in err. [control] */
struct md_jackhost *jackhost_open(const struct md_jackhost_opts *o, char *err, size_t errlen);
struct md_mixer *jackhost_mixer(struct md_jackhost *h);
/* Start processing. [control] */
enum md_err jackhost_activate(struct md_jackhost *h, char *err, size_t errlen);
/* Periodic work: a new sample rate, connection changes. [control] */
void jackhost_tick(struct md_jackhost *h);
/* False once the server has shut the client down; *why gets JACK's reason. [control] */
bool jackhost_alive(struct md_jackhost *h, const char **why);
/* After a shutdown: connect to a server of the same name again, if one runs: same client name, every port
 * registered again with its pretty name, the connections seen before the shutdown (and the session's)
 * restored, the console rebuilt at the new server's rate. MD_OK when connected (also when it never went
 * away); otherwise the reason in err, and the console goes on without a server. [control] */
enum md_err jackhost_reconnect(struct md_jackhost *h, char *err, size_t errlen);

/* What /status tells of JACK. */
struct md_jack_info {
	bool alive, realtime;
	uint32_t rate, period; /* 0 without a server */
	float load;            /* JACK's DSP load, percent */
	unsigned xruns, reconnects;
};
void jackhost_info(struct md_jackhost *h, struct md_jack_info *out); /* [control] */
/* Xruns reported by the server since start. [any] */
unsigned jackhost_xruns(struct md_jackhost *h);
/* The name JACK gave the client (it may differ from the one asked for). [control] */
const char *jackhost_client_name(struct md_jackhost *h);
/* A file descriptor that becomes readable when the host needs the control loop (shutdown). [control] */
int jackhost_wake_fd(struct md_jackhost *h);
/* Deactivate, close, free. [control] */
void jackhost_close(struct md_jackhost *h);

#endif
