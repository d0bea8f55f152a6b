/* mixdesk: the client side of the New Session Manager API 1.1 (docs/NSM.md): announce to the server NSM_URL
 * names, wait for its open, answer open and save, say is_dirty and is_clean. The messages travel over a UDP
 * socket of their own (control/oscnet) that answers the session server only. What an open or a save does is
 * the program's: this module only speaks the protocol. Every function is [control]. */
#ifndef MD_NSM_H
#define MD_NSM_H

#include <stdbool.h>
#include <stddef.h>

/* the API's error codes (the numbers every NSM server knows) */
enum nsm_code {
	NSM_OK = 0,
	NSM_ERR_GENERAL = -1,
	NSM_ERR_INCOMPATIBLE_API = -2,
	NSM_ERR_BLACKLISTED = -3,
	NSM_ERR_LAUNCH_FAILED = -4,
	NSM_ERR_NO_SUCH_FILE = -5,
	NSM_ERR_NO_SESSION_OPEN = -6,
	NSM_ERR_UNSAVED_CHANGES = -7,
	NSM_ERR_NOT_NOW = -8,
	NSM_ERR_BAD_PROJECT = -9,
	NSM_ERR_CREATE_FAILED = -10,
	NSM_ERR_SESSION_LOCKED = -11,
	NSM_ERR_OPERATION_PENDING = -12,
};

/* The code's name ("ERR_BAD_PROJECT"), or "unknown error" */
const char *nsm_strerror(int code);

struct md_nsm;

/* Open the socket and announce to the server at url (osc.udp://HOST:PORT/) as "mixdesk", with the
 * capabilities ":dirty:message:", exe (argv[0]) as the executable, API 1.1 and this process's pid. NULL with
 * a message in err when the URL is not one or the socket cannot be opened. */
struct md_nsm *nsm_start(const char *url, const char *exe, char *err, size_t errlen);
void nsm_free(struct md_nsm *n);
/* The socket to poll, and the datagrams waiting on it handled (a message from any other sender is dropped). */
int nsm_fd(const struct md_nsm *n);
void nsm_recv(struct md_nsm *n);

/* Handle messages until the server's first open comes (true; the three strings stay valid until the next
 * open or nsm_free), the server refuses the announce (false, its message in err), or timeout_s passes. */
bool nsm_wait_open(struct md_nsm *n, double timeout_s, const char **path, const char **display_name,
		   const char **client_id, char *err, size_t errlen);
/* Whether the server asked for a save since the last call (then answer it with nsm_reply_save). */
bool nsm_save_requested(struct md_nsm *n);
/* Whether an open came since the last call or nsm_wait_open (a switch to another session), with its
 * arguments as nsm_wait_open gives them; answer it with nsm_reply_open. */
bool nsm_open_requested(struct md_nsm *n, const char **path, const char **display_name, const char **client_id);
/* The answers: /reply "/nsm/client/open" message when ok, else /error "/nsm/client/open" code message (and
 * the same for save). A successful open or save also says the session is clean. */
void nsm_reply_open(struct md_nsm *n, bool ok, int code, const char *message);
void nsm_reply_save(struct md_nsm *n, bool ok, int code, const char *message);
/* Whether the console differs from its file: is_dirty or is_clean is sent when this changes. */
void nsm_set_dirty(struct md_nsm *n, bool dirty);
/* The session manager's name and capabilities from its welcome ("" before it came). */
const char *nsm_server_name(const struct md_nsm *n);
const char *nsm_server_caps(const struct md_nsm *n);

#endif
