/* mixdesk: the OSC session commands (docs/OSC.md), /session/load and /session/save. Anything that reaches the
 * OSC port may be wrong or hostile, so a path it names is confined: its folder (symlinks resolved) must be one
 * of the folders OSC may use, the loaded session's (the current one when none was loaded) and each
 * --session-dir, or below one, and its name must end in .json; a load's /error quotes nothing of the file (the
 * full message goes to the engine's stderr). A save copies the console on the control thread and hands the
 * copy to a thread of its own, which serializes, writes, syncs and renames it (a 20 MB session takes
 * seconds to serialize), so the control loop keeps answering; control_tick sends the answer when it is done.
 * One save at a time: another one meanwhile is refused.
 *
 * Every function here is [control], but save_worker, which runs on the save's thread and touches nothing
 * but its job (until it sets the job's done flag). */
#include "control/control_int.h"
#include "control/oscnet.h"

#include "sessions/session.h"

#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SAVE_NICE 15 /* the save thread's niceness: below the control loop (10), which is below the audio */

/* one save being written */
struct ctl_save {
	atomic_bool done;        /* the worker's last touch: result and err are final, the job is the loop's */
	struct md_console *copy; /* the console as it was when asked; the worker reads it until done */
	char *path;              /* as it was asked for: the answer, and the session file after a save-as */
	char *target;            /* where it is written (its folder resolved) */
	char *from;              /* the file the console's relative paths are relative to, or NULL */
	struct md_peer peer;     /* who asked: the answer goes there */
	unsigned loads;          /* c->loads when it was asked */
	enum md_err result;
	char err[640];
};

/* ---- the folders OSC may use ---- */

/* The real folder a file is in (malloc'd), or NULL with errno set. */
static char *folder_of(const char *file)
{
	char *copy = strdup(file);
	if (!copy)
		return NULL;
	char *r = realpath(dirname(copy), NULL);
	int saved = errno;
	free(copy);
	errno = saved;
	return r;
}

static int add_dir(struct md_control *c, char *real, const char *what, char *err, size_t errlen)
{
	struct stat st;
	if (!real || stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: %s", what, real ? "not a folder" : strerror(errno));
		free(real);
		return -1;
	}
	c->session_dirs[c->nsession_dirs++] = real;
	return 0;
}

int ctl_sessions_init(struct md_control *c, const struct md_control_opts *o, char *err, size_t errlen)
{
	if (o->session_path && !(c->session_base = strdup(o->session_path))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	char what[600];
	snprintf(what, sizeof what, "the folder of %s", o->session_path ? o->session_path : "the current folder");
	if (add_dir(c, o->session_path ? folder_of(o->session_path) : realpath(".", NULL), what, err, errlen) != 0)
		return -1;
	for (int i = 0; i < o->nsession_dirs && i < MD_OSC_MAX_SESSION_DIRS; i++) {
		snprintf(what, sizeof what, "--session-dir '%s'", o->session_dirs[i]);
		if (add_dir(c, realpath(o->session_dirs[i], NULL), what, err, errlen) != 0)
			return -1;
	}
	return 0;
}

/* real is one of the folders OSC may use, or below one */
static bool allowed(const struct md_control *c, const char *real)
{
	for (int i = 0; i < c->nsession_dirs; i++) {
		const char *d = c->session_dirs[i];
		size_t n = strlen(d);
		if (strcmp(d, "/") == 0 || (strncmp(real, d, n) == 0 && (real[n] == '\0' || real[n] == '/')))
			return true;
	}
	return false;
}

/* A path a sender named, for use: its name ends in .json, its folder (resolved) is allowed, and when the file
 * exists, what it leads to is in an allowed folder too (a link cannot lead out). The path to open or write
 * (the folder resolved, malloc'd), or NULL after an /error to the sender. */
static char *confine(struct md_control *c, const char *address, const char *path)
{
	const char *name = strrchr(path, '/');
	name = name ? name + 1 : path;
	size_t nl = strlen(name);
	if (nl <= 5 || strcmp(name + nl - 5, ".json") != 0) {
		oscnet_error(&c->net, address, "%s: over OSC, a session file's name ends in .json", path);
		return NULL;
	}
	char *dir = folder_of(path), *full = NULL, *real = NULL;
	if (!dir) {
		oscnet_error(&c->net, address, "%s: its folder cannot be used: %s", path, strerror(errno));
		return NULL;
	}
	bool ok = allowed(c, dir);
	size_t n = strlen(dir) + nl + 2;
	if (ok && (full = malloc(n))) {
		snprintf(full, n, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", name);
		if ((real = realpath(full, NULL))) {
			char *rd = folder_of(real);
			ok = rd && allowed(c, rd);
			free(rd);
		}
	}
	free(dir);
	free(real);
	if (!ok) {
		free(full);
		oscnet_error(
			&c->net, address,
			"%s is outside the folders OSC may use (the session's folder, or one given to mixdesk with "
			"--session-dir, and their subfolders)",
			path);
		return NULL;
	}
	if (!full)
		oscnet_error(&c->net, address, "out of memory");
	return full;
}

/* ---- loading ---- */

void ctl_h_load(struct md_control *c, const struct req *r)
{
	const char *path = r->a[0].s;
	char *target = confine(c, r->path, path);
	if (!target)
		return;
	char err[640], pub[512];
	struct md_console *con = NULL;
	enum md_err e = session_load_remote(target, &con, err, sizeof err, pub, sizeof pub);
	free(target);
	if (e != MD_OK) {
		/* the sender is told what is wrong and where, without the file's contents; the log has it all */
		fprintf(stderr, "mixdesk: /session/load: %s\n", err);
		oscnet_error(&c->net, r->path, "%s%s", pub, strcmp(pub, err) ? " (the engine's log says more)" : "");
		return;
	}
	if ((e = mixer_replace(c->m, con))) {
		console_free(con);
		oscnet_error(&c->net, r->path, "cannot set up the session %s: %s (the console is unchanged)", path,
			     md_strerror(e));
		return;
	}
	c->loads++;
	char *dup = strdup(path), *base = strdup(path);
	if (dup && base) {
		free(c->session_path);
		free(c->session_base);
		c->session_path = dup;
		c->session_base = base;
	} else {
		free(dup);
		free(base);
	}
	lo_message m = lo_message_new();
	lo_message_add_string(m, path);
	oscnet_reply(&c->net, "/session/loaded", m);
}

/* ---- saving ---- */

/* [any] the save's own thread: serialize the copy, write it */
static void *save_worker(void *arg)
{
	struct ctl_save *s = arg;
	pid_t tid = (pid_t)syscall(SYS_gettid);
	errno = 0;
	int prio = getpriority(PRIO_PROCESS, (id_t)tid);
	if (errno == 0 && prio < SAVE_NICE)
		setpriority(PRIO_PROCESS, (id_t)tid, SAVE_NICE);
	char *text = NULL;
	s->result = session_serialize(s->copy, s->from, s->target, &text, s->err, sizeof s->err);
	if (s->result == MD_OK)
		s->result = session_write(s->target, text, s->err, sizeof s->err);
	free(text);
	atomic_store_explicit(&s->done, true, memory_order_release);
	return NULL;
}

static void save_free(struct ctl_save *s)
{
	console_free(s->copy);
	free(s->path);
	free(s->target);
	free(s->from);
	free(s);
}

/* The save is done: the session file follows a save-as (unless a session was loaded meanwhile), and the
 * sender is answered. */
static void save_finish(struct md_control *c)
{
	struct ctl_save *s = c->save;
	c->save = NULL;
	if (s->result == MD_OK && s->loads == c->loads && (!c->session_path || strcmp(c->session_path, s->path))) {
		char *dup = strdup(s->path);
		if (dup) {
			free(c->session_path);
			c->session_path = dup;
		}
	}
	/* the replies go to the current sender: the one who asked, for a moment */
	struct md_peer cur = c->net.cur;
	c->net.cur = s->peer;
	if (s->result != MD_OK) {
		oscnet_error(&c->net, "/session/save", "%s", s->err);
	} else {
		lo_message m = lo_message_new();
		lo_message_add_string(m, s->path);
		oscnet_reply(&c->net, "/session/saved", m);
	}
	c->net.cur = cur;
	save_free(s);
}

/* Start writing the console to target (path as asked), answered to the current sender: false after an
 * /error. */
static bool save_start(struct md_control *c, const struct req *r, const char *path, char *target)
{
	struct ctl_save *s = calloc(1, sizeof *s);
	if (!s || !(s->path = strdup(path)) || (c->session_base && !(s->from = strdup(c->session_base))) ||
	    !(s->copy = console_clone(mixer_snapshot(c->m)))) {
		free(target);
		if (s)
			save_free(s);
		oscnet_error(&c->net, r->path, "out of memory: the session was not saved");
		return false;
	}
	s->target = target;
	s->peer = c->net.cur;
	s->loads = c->loads;
	atomic_init(&s->done, false);
	/* The thread takes no signal (SIGINT and SIGTERM are the control loop's), and is detached: the done flag
	 * says when the job is the loop's again, so the loop never waits for the thread's own exit (a thread at
	 * nice 15 on a loaded machine can take tens of milliseconds to get there). */
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t thread;
	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int e = pthread_create(&thread, &attr, save_worker, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (e != 0) {
		save_free(s);
		oscnet_error(&c->net, r->path, "cannot start the save: %s; the session was not saved", strerror(e));
		return false;
	}
	c->save = s;
	return true;
}

void ctl_h_save(struct md_control *c, const struct req *r)
{
	if (c->save) {
		oscnet_error(&c->net, r->path,
			     "a save to %s is still being written: send /session/save again once it is answered",
			     c->save->path);
		return;
	}
	const char *path = r->argc ? r->a[0].s : c->session_path;
	if (!path || !*path) {
		oscnet_error(&c->net, r->path, "no session file was loaded: expected s path");
		return;
	}
	/* the session file itself came from the command line or from a load or save that was confined */
	char *target = r->argc ? confine(c, r->path, path) : strdup(path);
	if (!target) {
		if (!r->argc)
			oscnet_error(&c->net, r->path, "out of memory: the session was not saved");
		return;
	}
	save_start(c, r, path, target);
}

void ctl_save_tick(struct md_control *c)
{
	if (c->save && atomic_load_explicit(&c->save->done, memory_order_acquire))
		save_finish(c);
}

void control_save_wait(struct md_control *c)
{
	if (!c->save)
		return;
	while (!atomic_load_explicit(&c->save->done, memory_order_acquire))
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	save_finish(c);
}

enum md_err control_save_now(struct md_control *c, const char *path, char *err, size_t errlen)
{
	control_save_wait(c);
	return session_save_as(path, mixer_snapshot(c->m), c->session_base, err, errlen);
}

void ctl_sessions_free(struct md_control *c)
{
	control_save_wait(c);
	for (int i = 0; i < c->nsession_dirs; i++)
		free(c->session_dirs[i]);
	c->nsession_dirs = 0;
	free(c->session_base);
	c->session_base = NULL;
}
