/* mixdesk: the session file (docs/SESSION.md): JSON (json-c) to a console model and back.
 * Every function is [control] unless marked otherwise. */
#ifndef MD_SESSION_H
#define MD_SESSION_H

#include "engine/model/console.h"

#include <stdbool.h>
#include <stddef.h>

#define MD_SESSION_VERSION 1
/* the largest session file read (a larger one is refused before it is read): 64 MiB */
#define MD_SESSION_MAX_BYTES (64L << 20)

/* Read and validate a session. On MD_OK *out is a new console; otherwise err says what is wrong and
 * where (file:line:column for broken JSON, the field's path for a bad value), and nothing is allocated.
 * Only a regular file of at most MD_SESSION_MAX_BYTES is read (a FIFO or a device is refused unread). */
enum md_err session_load(const char *path, struct md_console **out, char *err, size_t errlen);
/* The same for a file a remote sender named (OSC): err gets the full message (for the engine's log), pub one
 * that quotes nothing of the file, no value, name or key: what is wrong, and where as a line and column. */
enum md_err session_load_remote(const char *path, struct md_console **out, char *err, size_t errlen, char *pub,
				size_t publen);
/* The same from a string (path names the source in messages and anchors relative source paths). */
enum md_err session_parse(const char *text, const char *path, struct md_console **out, char *err, size_t errlen);
/* [any] Whether the loads that follow keep an insert whose plugin is not installed, or cannot run on its strip,
 * bus or master here (a mono-in stereo-out plugin on a mono strip, a feature mixdesk lacks), instead of refusing
 * the session: the slot keeps its URI, bypass, parameters and state as written (the parameters unchecked), so
 * a save loses nothing, and the engine makes it a pass-through placeholder. Off by default; process-wide (the
 * command line's --keep-missing-plugins). */
void session_keep_missing_plugins(bool keep);

/* [any] The text of c as a session file at path (*text is malloc'd, without the final newline). The relative
 * paths c holds (strip sources) are relative to the folder of from, the file c was loaded from (NULL: path's
 * own folder); they are rebased to path's folder: relative when both folders share a folder below the root
 * ("../audio/kick.wav"), absolute otherwise; absolute paths stay as they are. Reads c only: any thread may
 * call it as long as nobody changes c meanwhile. */
enum md_err session_serialize(const struct md_console *c, const char *from, const char *path, char **text, char *err,
			      size_t errlen);
/* [any] Write text (and a newline) to path atomically: a temporary file beside path, fsync, the old file kept
 * as path.bak, rename, fsync of the folder. A failed write leaves the old file (and its backup) as they were
 * and says why in err. An existing file (or backup) that is not a mixdesk session is never replaced, and the
 * temporary files of earlier saves of path that were killed part-way are removed. One write at a time. */
enum md_err session_write(const char *path, const char *text, char *err, size_t errlen);
/* session_serialize (from NULL: c's relative paths are relative to path's folder), then session_write. */
enum md_err session_save(const char *path, const struct md_console *c, char *err, size_t errlen);
/* The same, for a console loaded from the file from (rebased as session_serialize says). */
enum md_err session_save_as(const char *path, const struct md_console *c, const char *from, char *err, size_t errlen);

#endif
