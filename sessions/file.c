/* mixdesk: the session file on disk: reading it whole (a regular file of bounded size only: a FIFO, a device or
 * a huge file is refused before it is read), and replacing it atomically with the old one kept as a backup,
 * so a failed save leaves the file as it was; a save never replaces a file that is not a session, and removes
 * the temporary files that earlier saves of the same file left when they were killed. No JSON here beyond
 * asking sessions/scan.c whether a file is a session.
 *
 * Every function here is [any]: saves are one at a time (a lock), and nothing else is shared. */
#include "sessions/session_int.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* a temporary file of a save whose process is still there is left alone unless it is this old (a pid that
 * was reused); one from before the pid was in the name, unless it is this old */
#define TEMP_MAX_AGE_LIVE 600
#define TEMP_MAX_AGE_LEGACY 10
/* how a saved file starts (json-c's pretty printer, "format" first): a temporary file is only removed when it
 * starts so, or is empty */
#define SAVED_PREFIX "{\n  \"format\": \"" SESS_FORMAT_NAME "\""

static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

const char *sess_strerror(int e, char *buf, size_t len)
{
	return strerror_r(e, buf, len); /* the GNU form: a message, in buf or static */
}

static const char *file_kind(mode_t m)
{
	return S_ISDIR(m)    ? "a folder"
	       : S_ISFIFO(m) ? "a FIFO"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
	       : S_ISSOCK(m) ? "a socket"
			     : "not a regular file";
}

static void too_big(const char *path, uintmax_t size, size_t max, char *err, size_t errlen)
{
	double mib = (double)size / (1 << 20);
	if (size % (1 << 20) == 0)
		snprintf(err, errlen, "%s is %.0f MiB: a session file is at most %zu MiB", path, mib, max >> 20);
	else
		snprintf(err, errlen, "%s is %.1f MiB: a session file is at most %zu MiB", path, mib, max >> 20);
}

/* Open path for reading when it is a regular file of at most max bytes: the fd (blocking again), or -1 with a
 * message. Opened with O_NONBLOCK, so a FIFO that slipped in after the stat does not block the open. */
static int open_regular(const char *path, size_t max, uintmax_t *size, char *err, size_t errlen)
{
	char eb[128];
	struct stat st;
	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, sess_strerror(errno, eb, sizeof eb));
		return -1;
	}
	int fd = S_ISREG(st.st_mode) ? open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC) : -1;
	if (fd < 0 && S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: cannot open: %s", path, sess_strerror(errno, eb, sizeof eb));
		return -1;
	}
	if (fd >= 0 && fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path, sess_strerror(errno, eb, sizeof eb));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file (%s): a session file is a regular file", path,
			 file_kind(st.st_mode));
	} else if ((uintmax_t)st.st_size > max) {
		too_big(path, (uintmax_t)st.st_size, max, err, errlen);
	} else {
		int fl = fcntl(fd, F_GETFL);
		*size = (uintmax_t)st.st_size;
		if (fl != -1 && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0)
			return fd;
		snprintf(err, errlen, "%s: cannot read: %s", path, sess_strerror(errno, eb, sizeof eb));
	}
	if (fd >= 0)
		close(fd);
	return -1;
}

char *sess_read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
	char eb[128];
	uintmax_t size;
	int fd = open_regular(path, max, &size, err, errlen);
	if (fd < 0)
		return NULL;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (n == cap) {
			/* the file may grow while it is read: never past max (+1, to see that it did) */
			if (cap > max) {
				too_big(path, n, max, err, errlen);
				goto fail;
			}
			size_t ncap = cap ? cap * 2 : (size_t)size + 1;
			if (ncap > max + 1)
				ncap = max + 1;
			char *nb = realloc(buf, ncap + 1);
			if (!nb) {
				snprintf(err, errlen, "%s: out of memory", path);
				goto fail;
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: cannot read: %s", path, sess_strerror(errno, eb, sizeof eb));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	close(fd);
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

/* Whether a save may replace the file at path (what names it in messages: "" for the file itself, "the
 * backup " for its backup): it is not there, or it is an empty regular file, or a mixdesk session. */
static enum md_err check_replaceable(const char *path, const char *target, const char *what, char *err, size_t errlen)
{
	char eb[128];
	struct stat st;
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return MD_OK;
		snprintf(err, errlen, "%s: cannot look at %s%s: %s; nothing was written", target, what, path,
			 sess_strerror(errno, eb, sizeof eb));
		return MD_ERR_IO;
	}
	const char *kind = stat(path, &st) != 0   ? "a link to nothing"
			   : !S_ISREG(st.st_mode) ? file_kind(st.st_mode)
						  : NULL;
	if (kind) {
		snprintf(err, errlen, "%s%s%s%s exists and is %s: it was left as it was, nothing was written",
			 *what ? target : "", *what ? ": " : "", what, path, kind);
		return MD_ERR_EXISTS;
	}
	if (st.st_size == 0)
		return MD_OK;
	char msg[512];
	size_t len;
	char *text = sess_read_file(path, MD_SESSION_MAX_BYTES, &len, msg, sizeof msg);
	bool ok = text && sess_scan_is_session(text, len);
	free(text);
	if (ok)
		return MD_OK;
	snprintf(err, errlen,
		 "%s%s%s%s exists and is not a mixdesk session file: it was left as it was, nothing was "
		 "written (save under another name, or move it away first)",
		 *what ? target : "", *what ? ": " : "", what, path);
	return MD_ERR_EXISTS;
}

/* Keep the current file as path.bak: a hard link costs nothing and leaves path itself untouched; where
 * links are not possible, a copy. */
static enum md_err keep_backup(const char *path, const char *bak, char *err, size_t errlen)
{
	char eb[128];
	if (unlink(bak) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: cannot replace the backup %s: %s; %s was left as it was", path, bak,
			 sess_strerror(errno, eb, sizeof eb), path);
		return MD_ERR_IO;
	}
	if (link(path, bak) == 0)
		return MD_OK;
	size_t len;
	char *old = sess_read_file(path, MD_SESSION_MAX_BYTES, &len, err, errlen);
	if (!old)
		return MD_ERR_IO;
	enum md_err e = MD_OK;
	int fd = open(bak, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, old, len) || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: cannot write the backup %s: %s; %s was left as it was", path, bak,
			 sess_strerror(errno, eb, sizeof eb), path);
		e = MD_ERR_IO;
	}
	if (fd >= 0 && close(fd) != 0 && !e) {
		snprintf(err, errlen, "%s: cannot write the backup %s: %s", path, bak,
			 sess_strerror(errno, eb, sizeof eb));
		e = MD_ERR_IO;
	}
	free(old);
	return e;
}

/* name is a temporary file of a save of the file called base: "BASE.tmp-PID-XXXXXX", or "BASE.tmp-XXXXXX"
 * from before the pid was in the name; *pid gets PID (0 for the older form). */
static bool temp_name(const char *name, const char *base, long *pid)
{
	size_t bl = strlen(base);
	if (strncmp(name, base, bl) != 0 || strncmp(name + bl, ".tmp-", 5) != 0)
		return false;
	const char *s = name + bl + 5, *d = s;
	long v = 0;
	while (isdigit((unsigned char)*d) && d - s < 10)
		v = v * 10 + (*d++ - '0');
	*pid = 0;
	if (d > s && *d == '-' && v > 0) {
		*pid = v;
		s = d + 1;
	}
	if (strlen(s) != 6)
		return false;
	for (int i = 0; i < 6; i++)
		if (!isalnum((unsigned char)s[i]))
			return false;
	return true;
}

/* The file (a regular file of ours) starts as a saved session does, or is empty. */
static bool looks_saved(int dfd, const char *name, const struct stat *st)
{
	if (st->st_size == 0)
		return true;
	char head[sizeof SAVED_PREFIX];
	int fd = openat(dfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, head, sizeof head - 1);
	close(fd);
	return n > 0 && memcmp(head, SAVED_PREFIX, (size_t)n) == 0;
}

/* A temporary file left by a save that did not finish: its process is gone (or is this one: saves here are
 * one at a time), or it is old. */
static bool stale_temp(int dfd, const char *name, long pid, time_t now)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
		return false;
	double age = difftime(now, st.st_mtime);
	bool gone = pid > 0 && (pid == (long)getpid() || (kill((pid_t)pid, 0) != 0 && errno == ESRCH));
	bool old = age > (pid > 0 ? TEMP_MAX_AGE_LIVE : TEMP_MAX_AGE_LEGACY);
	return (gone || old) && looks_saved(dfd, name, &st);
}

/* Remove what earlier saves of path left behind (best effort: a file that cannot be removed stays). */
static void remove_stale_temps(const char *path, const char *dir)
{
	char *copy = strdup(path);
	DIR *d = copy ? opendir(dir) : NULL;
	if (d) {
		const char *base = basename(copy);
		time_t now = time(NULL);
		for (struct dirent *e; (e = readdir(d));) {
			long pid;
			if (temp_name(e->d_name, base, &pid) && stale_temp(dirfd(d), e->d_name, pid, now))
				unlinkat(dirfd(d), e->d_name, 0);
		}
		closedir(d);
	}
	free(copy);
}

/* Write text and a newline into a new file made from the template tmp (beside path, with path's permissions,
 * 0644 for a new one) and sync it; on failure the file is closed and left for the caller to remove. */
static enum md_err write_temp(const char *path, char *tmp, const char *dir, const char *text, char *err, size_t errlen)
{
	char eb[128];
	int fd = mkstemp(tmp);
	if (fd < 0) {
		tmp[0] = '\0'; /* nothing to remove */
		snprintf(err, errlen, "%s: cannot create a temporary file in %s: %s; the file was left as it was", path,
			 dir, sess_strerror(errno, eb, sizeof eb));
		return MD_ERR_IO;
	}
	struct stat st;
	mode_t mode = 0644;
	if (stat(path, &st) == 0)
		mode = st.st_mode & 07777;
	fchmod(fd, mode);
	if (write_all(fd, text, strlen(text)) || write_all(fd, "\n", 1) || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: cannot write %s: %s; the file was left as it was", path, tmp,
			 sess_strerror(errno, eb, sizeof eb));
		close(fd);
		return MD_ERR_IO;
	}
	if (close(fd) != 0) {
		snprintf(err, errlen, "%s: cannot write %s: %s; the file was left as it was", path, tmp,
			 sess_strerror(errno, eb, sizeof eb));
		return MD_ERR_IO;
	}
	return MD_OK;
}

/* Put the written temporary file in place of path, keeping the old file (if any) as bak first. */
static enum md_err replace(const char *path, const char *tmp, const char *bak, char *err, size_t errlen)
{
	char eb[128];
	enum md_err e;
	if (access(path, F_OK) == 0 && (e = keep_backup(path, bak, err, errlen)))
		return e;
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: cannot replace the file: %s; it was left as it was", path,
			 sess_strerror(errno, eb, sizeof eb));
		return MD_ERR_IO;
	}
	return MD_OK;
}

/* Make the rename itself durable. */
static enum md_err sync_dir(const char *path, const char *dir, char *err, size_t errlen)
{
	char eb[128];
	enum md_err e = MD_OK;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd) != 0 && errno != EINVAL) {
			snprintf(err, errlen, "%s: saved, but syncing the folder %s failed: %s", path, dir,
				 sess_strerror(errno, eb, sizeof eb));
			e = MD_ERR_IO;
		}
		close(dfd);
	}
	return e;
}

/* sess_write_file under the lock: the names it needs made */
static enum md_err write_locked(const char *path, const char *text, char *err, size_t errlen)
{
	size_t tl = strlen(path) + 40;
	char *tmp = malloc(tl), *bak = malloc(tl), *dircopy = strdup(path);
	enum md_err e = MD_ERR_NOMEM;
	if (!tmp || !bak || !dircopy) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	const char *dir = dirname(dircopy);
	snprintf(bak, tl, "%s.bak", path);
	if ((e = check_replaceable(path, path, "", err, errlen)) ||
	    (e = check_replaceable(bak, path, "the backup ", err, errlen)))
		goto out;
	remove_stale_temps(path, dir);
	/* the temporary file sits beside the target, so the final rename stays within one file system; the pid
	 * in its name tells a later save whether its writer is still there */
	snprintf(tmp, tl, "%s.tmp-%ld-XXXXXX", path, (long)getpid());
	e = write_temp(path, tmp, dir, text, err, errlen);
	if (!e)
		e = replace(path, tmp, bak, err, errlen);
	if (e && tmp[0])
		unlink(tmp);
	else if (!e)
		e = sync_dir(path, dir, err, errlen);
out:
	free(tmp);
	free(bak);
	free(dircopy);
	return e;
}

enum md_err sess_write_file(const char *path, const char *text, char *err, size_t errlen)
{
	pthread_mutex_lock(&write_lock);
	enum md_err e = write_locked(path, text, err, errlen);
	pthread_mutex_unlock(&write_lock);
	return e;
}
