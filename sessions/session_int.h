/* mixdesk: what the files of sessions/ share (load.c, json_in.c, save.c, file.c, paths.c, scan.c); not for use
 * outside sessions/. Every function is [control] unless marked otherwise. */
#ifndef MD_SESSION_INT_H
#define MD_SESSION_INT_H

#include "sessions/session.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#define SESS_FORMAT_NAME "mixdesk-session"
#define SESS_WHERE_MAX 320
#define SESS_NOWHERE ((size_t)-1)

/* One load in progress: the file named in messages, where the message goes (and, when pub is not NULL, the
 * message that quotes nothing of the file: see session_load_remote), the text (to find a field's line and
 * column), the console being filled. */
struct sess_ld {
	const char *file;
	char *err;
	size_t errlen;
	char *pub;
	size_t publen;
	const char *text;
	size_t len;
	struct md_console *c;
};

/* ---- typed readers (json_in.c): on a problem, each writes "file: where: message" to x->err and returns
 * its code; where is a field path such as "strips[2].eq.bands[0].gain" ---- */

enum md_err sess_fail(struct sess_ld *x, enum md_err code, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The same for a message that quotes nothing of the file: the public message is the message itself. */
enum md_err sess_fail_safe(struct sess_ld *x, enum md_err code, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A field path for messages (every such buffer is SESS_WHERE_MAX long; a longer path is cut). */
void sess_at(char *dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* What a value is, for messages: "null", "true", "a number", "an object"... */
const char *sess_type_desc(json_object *v);
/* v is of type t (a whole number also passes for json_type_double); what names the expected value. */
enum md_err sess_want(struct sess_ld *x, json_object *v, enum json_type t, const char *where, const char *what);
enum md_err sess_want_string(struct sess_ld *x, json_object *v, const char *where, const char *what, const char **out);
enum md_err sess_want_number(struct sess_ld *x, json_object *v, const char *where, const char *what, double *out);
/* A point's value checked (ctx: what checks it), into *out. */
typedef enum md_err (*sess_value_check)(struct sess_ld *x, const void *ctx, double v, const char *where, float *out);
/* json_in.c: a lane's "mode", and its "points" ([seconds, value], rising, each value checked by check) */
enum md_err sess_lane_mode(struct sess_ld *x, json_object *mv, const char *w, int *out);
enum md_err sess_lane_points(struct sess_ld *x, json_object *ptv, const char *w, struct md_lane *lane,
			     sess_value_check check, const void *ctx);
/* inserts.c: an object's "inserts" (at most MD_MAX_INSERTS, index = slot) on a path of nch channels */
enum md_err sess_load_inserts(struct sess_ld *x, enum md_scope sc, int index, json_object *v, const char *where,
			      int nch, json_object **ex);
enum md_err sess_check_number(struct sess_ld *x, const struct md_param_desc *d, double v, const char *where,
			      float *out);
/* The value of parameter d in the file's form (a number, true/false or a name) into *out. */
enum md_err sess_load_value(struct sess_ld *x, const struct md_param_desc *d, json_object *v, const char *where,
			    float *out);

/* ---- the parameter tree (json_in.c) ---- */

bool sess_excluded(enum md_scope sc, const char *path);
/* Read the object o at group ("" for the strip, bus or master itself) into the values p; keys in own are left
 * to the caller, "x-" keys go to *ex. */
enum md_err sess_load_group(struct sess_ld *x, enum md_scope sc, const char *group, json_object *o, const char *where,
			    float *p, json_object **ex, const char *const *own);

/* ---- "x-" keys (json_in.c keeps them while loading, save.c puts them back) ----
 *
 * "x-" keys are kept in the `extra` field of the strip, bus, master or console they belong to, as the JSON
 * text of one object. Keys found directly in that object are stored as they are ("x-color"); keys found in
 * a nested object are stored under "<where>/<key>", where <where> is the nested object's place in the
 * parameter space: "hpf", "eq", "eq/2" (bands[1]), "send/1" (the send to bus 1), "automation/fader" (the
 * lane of a parameter), "insert/3" (the entry of insert slot 3, inserts[2]), "render". Saving puts each back
 * into the object it came from. */

/* Add key (found at loc, "" for the object itself) with its value v to the collection *ex. */
enum md_err sess_keep_extra(json_object **ex, const char *loc, const char *key, json_object *v);
/* Store the collection as JSON text in *out (left as it is when nothing was collected) and release it. */
enum md_err sess_finish_extra(json_object **ex, char **out);

/* ---- files (file.c): messages start with the path; [any] ---- */

/* Read a whole regular file of at most max bytes (opened without blocking: a FIFO or a device is refused, and
 * so is a larger file, unread); *len gets its size. NULL (err says why) on failure. */
char *sess_read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen);
/* Replace path with text and a newline, atomically (see session_write in sessions/session.h). */
enum md_err sess_write_file(const char *path, const char *text, char *err, size_t errlen);
/* strerror, safe on any thread */
const char *sess_strerror(int e, char *buf, size_t len);

/* ---- the raw text (scan.c); [any] ---- */

/* Whether t is a JSON object whose top-level "format" is "mixdesk-session" (its other keys unread). */
bool sess_scan_is_session(const char *t, size_t n);
/* The offset of the field at where ("strips[2].eq.bands[1]", its key for an object member) in the valid JSON
 * text t, or SESS_NOWHERE. */
size_t sess_scan_locate(const char *t, size_t n, const char *where);
/* The line and column (from 1, counting characters) of offset off. */
void sess_line_col(const char *text, size_t len, size_t off, int *line, int *col);

/* ---- relative paths (paths.c); [any] ---- */

/* How the relative paths of a console move from one session file's folder to another's. */
struct sess_rebase {
	bool same;  /* both files are in one folder: nothing changes */
	char *from; /* the real (absolute, canonical) folders */
	char *to;
};

/* For a console loaded from from (NULL: already relative to to's folder) to be saved as to. MD_OK or
 * MD_ERR_NOMEM. */
enum md_err sess_rebase_init(struct sess_rebase *rb, const char *from, const char *to);
void sess_rebase_free(struct sess_rebase *rb);
/* The path p as it is to be written (a malloc'd copy, NULL when out of memory). */
char *sess_rebase_path(const struct sess_rebase *rb, const char *p);

#endif
