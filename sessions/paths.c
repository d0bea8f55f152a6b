/* mixdesk: the relative paths a session holds (strip sources, docs/SESSION.md) are relative to the session
 * file's folder; saving the console as a file in another folder rebases them there, so a save-as still finds
 * its audio. Folders are compared as real paths (realpath: symlinks resolved), so "../x/mix.json" and an
 * absolute spelling of the same folder change nothing. The result is relative when the two folders share a
 * folder below the root ("../audio/kick.wav"), absolute otherwise. A path's own text is kept as it was
 * written except for its leading "./" and "../", which are taken out against the (real) old folder, and the
 * folders after them that the new folder's real path goes through: every other component, symlinks and ".."
 * among them, is then looked up from the very same folder as before.
 *
 * Every function here is [any]. */
#include "sessions/session_int.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An absolute path with "." and ".." taken out as text, in place (for a folder that does not exist). */
static void normalize(char *p)
{
	size_t w = 0, r = 0, n = strlen(p);
	while (r < n) {
		while (r < n && p[r] == '/')
			r++;
		size_t s = r;
		while (r < n && p[r] != '/')
			r++;
		size_t len = r - s;
		if (len == 0 || (len == 1 && p[s] == '.'))
			continue;
		if (len == 2 && p[s] == '.' && p[s + 1] == '.') {
			while (w > 0 && p[w - 1] != '/')
				w--;
			if (w > 0)
				w--;
			continue;
		}
		p[w++] = '/';
		memmove(p + w, p + s, len);
		w += len;
	}
	if (w == 0)
		p[w++] = '/';
	p[w] = '\0';
}

/* The folder the file is in, real (realpath), or when it cannot be resolved its absolute path as text.
 * malloc'd; NULL when out of memory. */
static char *real_folder(const char *file)
{
	char *copy = strdup(file), *r = NULL;
	if (!copy)
		return NULL;
	const char *dir = dirname(copy);
	if (!(r = realpath(dir, NULL))) {
		char *cwd = dir[0] == '/' ? NULL : getcwd(NULL, 0);
		size_t n = (cwd ? strlen(cwd) : 0) + strlen(dir) + 2;
		if ((r = malloc(n))) {
			snprintf(r, n, "%s/%s", cwd ? cwd : "", dir);
			normalize(r);
		}
		free(cwd);
	}
	free(copy);
	return r;
}

enum md_err sess_rebase_init(struct sess_rebase *rb, const char *from, const char *to)
{
	*rb = (struct sess_rebase){.same = true};
	if (!from)
		return MD_OK;
	rb->from = real_folder(from);
	rb->to = real_folder(to);
	if (!rb->from || !rb->to) {
		sess_rebase_free(rb);
		return MD_ERR_NOMEM;
	}
	rb->same = strcmp(rb->from, rb->to) == 0;
	return MD_OK;
}

void sess_rebase_free(struct sess_rebase *rb)
{
	free(rb->from);
	free(rb->to);
	*rb = (struct sess_rebase){.same = true};
}

/* The length of the longest folder that both a and b (real, absolute) are in: 0 for the root. */
static size_t common_folder(const char *a, const char *b)
{
	size_t last = 0;
	for (size_t i = 0;; i++) {
		bool ea = a[i] == '\0' || a[i] == '/', eb = b[i] == '\0' || b[i] == '/';
		if (ea && eb) {
			last = i;
			if (!a[i] || !b[i])
				break;
		} else if (a[i] != b[i]) {
			break;
		}
	}
	return last;
}

char *sess_rebase_path(const struct sess_rebase *rb, const char *p)
{
	if (rb->same || p[0] == '/')
		return strdup(p);
	/* the leading "./" and "../" of p, against the old folder (real, so ".." is its parent) */
	size_t flen = strlen(rb->from);
	const char *rest = p;
	for (;;) {
		if (rest[0] == '.' && (rest[1] == '/' || !rest[1])) {
			rest += 1;
		} else if (rest[0] == '.' && rest[1] == '.' && (rest[2] == '/' || !rest[2])) {
			rest += 2;
			while (flen > 0 && rb->from[flen - 1] != '/')
				flen--;
			if (flen > 1)
				flen--; /* the slash, unless it is the root's */
		} else {
			break;
		}
		while (*rest == '/')
			rest++;
	}
	char *from = malloc(flen + strlen(rest) + 2);
	if (!from)
		return NULL;
	memcpy(from, rb->from, flen);
	from[flen] = '\0';
	/* folders at the start of rest that the new folder's (real) path goes through lead the same way */
	for (;;) {
		size_t fl = strlen(from);
		bool root = fl == 1;
		if (strncmp(rb->to, from, fl) != 0 || (!root && rb->to[fl] != '/'))
			break;
		const char *next = rb->to + (root ? 1 : fl + 1);
		size_t nl = strcspn(next, "/");
		if (nl == 0 || strncmp(rest, next, nl) != 0 || rest[nl] != '/')
			break;
		snprintf(from + fl, nl + 2, "%s%.*s", root ? "" : "/", (int)nl, next);
		rest += nl + 1;
		while (*rest == '/')
			rest++;
	}
	size_t common = common_folder(from, rb->to);
	size_t ups = 0;
	if (common > 0)
		for (const char *q = rb->to + common; *q; q++)
			ups += *q == '/';
	/* relative: up from the new folder to the common one, then down to the old one; absolute: the old one */
	const char *down = common > 0 ? from + common : from;
	while (common > 0 && *down == '/')
		down++;
	size_t n = 3 * ups + strlen(down) + strlen(rest) + 3;
	char *out = malloc(n);
	if (out) {
		size_t w = 0;
		for (size_t i = 0; i < ups; i++)
			w += (size_t)snprintf(out + w, n - w, "../");
		w += (size_t)snprintf(out + w, n - w, "%s", down);
		if (*down && *rest && down[strlen(down) - 1] != '/')
			out[w++] = '/';
		snprintf(out + w, n - w, "%s", rest);
		if (!*out)
			snprintf(out, n, ".");
	}
	free(from);
	return out;
}
