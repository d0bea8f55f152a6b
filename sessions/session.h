/* mixdesk: the session file (docs/SESSION.md): JSON (json-c) to a console model and back.
 * Every function is [control]. */
#ifndef MD_SESSION_H
#define MD_SESSION_H

#include "engine/model/console.h"

#include <stddef.h>

#define MD_SESSION_VERSION 1

/* Read and validate a session. On MD_OK *out is a new console; otherwise err says what is wrong and
 * where (file:line:column for broken JSON, the field's path for a bad value), and nothing is allocated. */
enum md_err session_load(const char *path, struct md_console **out, char *err, size_t errlen);
/* The same from a string (path names the source in messages and anchors relative source paths). */
enum md_err session_parse(const char *text, const char *path, struct md_console **out, char *err, size_t errlen);
/* Write atomically: a temporary file beside path, fsync, the old file kept as path.bak, rename, fsync of
 * the folder. A failed save leaves the old file (and its backup) as they were and says why in err. */
enum md_err session_save(const char *path, const struct md_console *c, char *err, size_t errlen);

#endif
