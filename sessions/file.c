/* mixdesk: the session file on disk: reading it whole, and replacing it atomically with the old one kept as a
 * backup, so a failed save leaves the file as it was. No JSON here.
 *
 * Every function here is [control]. */
#include "sessions/session_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *sess_read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t n = 0, cap = 0;
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (cap - n < 4096) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *nb = realloc(buf, ncap + 1);
			if (!nb) {
				snprintf(err, errlen, "%s: out of memory", path);
				goto fail;
			}
			buf = nb;
			cap = ncap;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0) {
			if (ferror(f)) {
				snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
				goto fail;
			}
			break;
		}
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	fclose(f);
	free(buf);
	return NULL;
}

static enum md_err write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return MD_ERR_IO;
		}
		buf += w;
		n -= (size_t)w;
	}
	return MD_OK;
}

/* Keep the current file as path.bak: a hard link costs nothing and leaves path itself untouched; where
 * links are not possible, a copy. */
static enum md_err keep_backup(const char *path, char *err, size_t errlen)
{
	char bak[4096];
	if (snprintf(bak, sizeof bak, "%s.bak", path) >= (int)sizeof bak) {
		snprintf(err, errlen, "%s: the path is too long", path);
		return MD_ERR_RANGE;
	}
	if (unlink(bak) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: cannot replace the backup %s: %s; %s was left as it was", path, bak,
			 strerror(errno), path);
		return MD_ERR_IO;
	}
	if (link(path, bak) == 0)
		return MD_OK;
	size_t len;
	char *old = sess_read_file(path, &len, err, errlen);
	if (!old)
		return MD_ERR_IO;
	enum md_err e = MD_OK;
	int fd = open(bak, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, old, len) || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: cannot write the backup %s: %s; %s was left as it was", path, bak,
			 strerror(errno), path);
		e = MD_ERR_IO;
	}
	if (fd >= 0 && close(fd) != 0 && !e) {
		snprintf(err, errlen, "%s: cannot write the backup %s: %s", path, bak, strerror(errno));
		e = MD_ERR_IO;
	}
	free(old);
	return e;
}

/* Write text and a newline into a new file made from the template tmp (beside path, with path's permissions,
 * 0644 for a new one) and sync it; on failure the file is closed and left for the caller to remove. */
static enum md_err write_temp(const char *path, char *tmp, const char *dir, const char *text, char *err, size_t errlen)
{
	int fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create a temporary file in %s: %s; the file was left as it was", path,
			 dir, strerror(errno));
		return MD_ERR_IO;
	}
	struct stat st;
	mode_t mode = 0644;
	if (stat(path, &st) == 0)
		mode = st.st_mode & 07777;
	fchmod(fd, mode);
	if (write_all(fd, text, strlen(text)) || write_all(fd, "\n", 1) || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: cannot write %s: %s; the file was left as it was", path, tmp,
			 strerror(errno));
		close(fd);
		return MD_ERR_IO;
	}
	if (close(fd) != 0) {
		snprintf(err, errlen, "%s: cannot write %s: %s; the file was left as it was", path, tmp,
			 strerror(errno));
		return MD_ERR_IO;
	}
	return MD_OK;
}

/* Put the written temporary file in place of path, keeping the old file (if any) as path.bak first. */
static enum md_err replace(const char *path, const char *tmp, char *err, size_t errlen)
{
	enum md_err e;
	if (access(path, F_OK) == 0 && (e = keep_backup(path, err, errlen)))
		return e;
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: cannot replace the file: %s; it was left as it was", path, strerror(errno));
		return MD_ERR_IO;
	}
	return MD_OK;
}

/* Make the rename itself durable. */
static enum md_err sync_dir(const char *path, const char *dir, char *err, size_t errlen)
{
	enum md_err e = MD_OK;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd) != 0 && errno != EINVAL) {
			snprintf(err, errlen, "%s: saved, but syncing the folder %s failed: %s", path, dir,
				 strerror(errno));
			e = MD_ERR_IO;
		}
		close(dfd);
	}
	return e;
}

enum md_err sess_write_file(const char *path, const char *text, char *err, size_t errlen)
{
	char *tmp = NULL, *dircopy = NULL;
	size_t tl = strlen(path);
	if (!(tmp = malloc(tl + 16)) || !(dircopy = strdup(path))) {
		snprintf(err, errlen, "%s: out of memory", path);
		free(tmp);
		return MD_ERR_NOMEM;
	}
	const char *dir = dirname(dircopy);
	/* the temporary file sits beside the target, so the final rename stays within one file system */
	snprintf(tmp, tl + 16, "%s.tmp-XXXXXX", path);
	enum md_err e = write_temp(path, tmp, dir, text, err, errlen);
	if (!e)
		e = replace(path, tmp, err, errlen);
	if (e)
		unlink(tmp);
	else
		e = sync_dir(path, dir, err, errlen);
	free(tmp);
	free(dircopy);
	return e;
}
