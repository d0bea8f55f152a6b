/* mixdesk: live control over OSC (liblo): the address space of docs/OSC.md, queries, feedback to
 * subscribers, meters, structure and session commands, and the listener's address allowlist.
 * Every function is [control]: it runs on the control loop's thread, never on the audio thread. */
#ifndef MD_CONTROL_H
#define MD_CONTROL_H

#include "engine/mixer/mixer.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define MD_OSC_MAX_ALLOW 32
#define MD_OSC_MAX_SESSION_DIRS 16

struct md_control;

struct md_control_opts {
	const char *bind_addr;               /* default "127.0.0.1" */
	int port;                            /* default 9000; 0 picks a free port */
	const char *allow[MD_OSC_MAX_ALLOW]; /* CIDRs answered when bound to a network address */
	int nallow;
	const char *session_path; /* the loaded session file, for /session/save without a path */
	/* folders where OSC may load and save sessions (and their subfolders), besides the loaded session's folder
	 * (the current folder when no session was loaded) */
	const char *session_dirs[MD_OSC_MAX_SESSION_DIRS];
	int nsession_dirs;
	/* --osc-reply-port: answers, feedback and meters go to the sender's host on this UDP port rather than to
	 * the port it sent from (tablets that listen on another port than they send from); 0: the source port.
	 * A /subscribe with a port of its own overrides it for that subscriber. */
	int reply_port;
	/* --x32: the X32 console's OSC dialect (control/x32.h, docs/X32.md) on this UDP port of the same bind
	 * address and allowlist; 0: off */
	int x32_port;
};

/* Open the listener. NULL with a message in err when the address cannot be bound or an allow entry is
 * not a valid CIDR. */
struct md_control *control_new(struct md_mixer *m, const struct md_control_opts *o, char *err, size_t errlen);
void control_free(struct md_control *c);
/* Check the options' syntax (bind address, allow entries) without opening anything: 0, or -1 with a
 * message in err. A command line is checked with this before the JACK server is contacted. */
int control_check_opts(const struct md_control_opts *o, char *err, size_t errlen);
/* The UDP port actually bound. */
int control_port(const struct md_control *c);
/* The X32 dialect's UDP port (control/x32.h), 0 when it is off. */
int control_x32_port(const struct md_control *c);
/* The descriptor to poll for input: the OSC socket, or with x32_port an epoll set of it and the X32 one. */
int control_fd(const struct md_control *c);
/* Read and handle every datagram waiting on the socket. */
void control_recv(struct md_control *c);
/* Periodic work: feedback to subscribers, meters, expiry of subscriptions. now is CLOCK_MONOTONIC seconds. */
void control_tick(struct md_control *c, double now);
/* What the host (the JACK client) reports, for /status and subscribers. */
struct md_host_status {
	bool jack_alive; /* a server runs and the console is its client */
	bool realtime;   /* the server schedules the process callback realtime */
	uint32_t period; /* frames per JACK period (0 without a server) */
	float load;      /* JACK's DSP load, percent */
	unsigned xruns;  /* since start, over every server */
	unsigned reconnects;
	unsigned underruns;   /* sub-blocks a source's stream had too little data for (silence given) */
	float refill_worst_s; /* the longest a source took to refill after a locate */
};
/* The host's figures, every control tick: subscribers get `/jack s running|gone` when the server comes or
 * goes and `/xrun i total i new` (at most twice a second) when xruns happen; /status answers them. */
void control_set_host(struct md_control *c, const struct md_host_status *s);
/* The session path after a load or save-as. */
const char *control_session_path(const struct md_control *c);
/* Another session file is the console's (a session manager switched it): /session/save without a path saves
 * there from now on. */
enum md_err control_set_session_path(struct md_control *c, const char *path);
/* Wait until a save asked for over OSC (written on a thread of its own) has finished, and answer it. */
void control_save_wait(struct md_control *c);
/* Save the console to path now, on this thread, after a save in progress (--autosave). Messages as
 * session_save's. */
enum md_err control_save_now(struct md_control *c, const char *path, char *err, size_t errlen);
/* Handle one datagram as if it had come to the socket from `from` at time now (CLOCK_MONOTONIC seconds, as
 * for control_tick): the allowlist, dispatch, and answers sent to from through the socket. For tests and
 * fuzzing, which have no network peer to send it. */
void control_feed(struct md_control *c, const void *data, size_t len, const struct sockaddr *from, socklen_t fromlen,
		  double now);

#endif
