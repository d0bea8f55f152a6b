/* mixdesk tests: the session file on disk, where a save or a load can go wrong for reasons other than its JSON.
 * A save-as to another folder rebases relative sources (the saved session finds the very same files: same
 * device and inode), through symlinked folders too, relative under a common folder and absolute otherwise;
 * a load refuses a device, a FIFO (at once, without blocking), a folder and a file over 64 MiB; a save never
 * replaces a file (or a backup) that is not a session; stale temporary files of killed saves are removed by
 * the next save while look-alikes stay; and the messages for a remote sender quote nothing of the file. */
#include "sessions/session.h"
#include "testlib.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- helpers ---- */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void mkdirs(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void mkdirs(const char *fmt, ...)
{
	char path[1024], cmd[1100];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(path, sizeof path, fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
	assert_int_equal(system(cmd), 0);
}

/* Where a session at session_path finds source (as the renderer and mixdesk check do). */
static void resolve(const char *session_path, const char *source, char *out, size_t n)
{
	char copy[1024];
	snprintf(copy, sizeof copy, "%s", session_path);
	if (source[0] == '/')
		snprintf(out, n, "%s", source);
	else
		snprintf(out, n, "%s/%s", dirname(copy), source);
}

/* Every strip of the session saved at saved finds the same file (device and inode) as in orig at orig_path. */
static void expect_same_sources(const struct md_console *orig, const char *orig_path, const char *saved)
{
	char err[512];
	struct md_console *c = NULL;
	if (session_load(saved, &c, err, sizeof err) != MD_OK)
		fail_msg("%s", err);
	assert_int_equal(c->nstrips, orig->nstrips);
	for (int i = 0; i < c->nstrips; i++) {
		char a[2048], b[2048];
		struct stat sa, sb;
		resolve(orig_path, orig->strips[i]->source, a, sizeof a);
		resolve(saved, c->strips[i]->source, b, sizeof b);
		if (stat(a, &sa) != 0)
			fail_msg("the original source %s is not there: %s", a, strerror(errno));
		if (stat(b, &sb) != 0 || sa.st_dev != sb.st_dev || sa.st_ino != sb.st_ino)
			fail_msg("%s: strip %d's source '%s' (%s) is not the original '%s' (%s)", saved, i,
				 c->strips[i]->source, b, orig->strips[i]->source, a);
	}
	console_free(c);
}

/* The source of strip i as the file at path has it. */
static char *saved_source(const char *path, int i)
{
	char err[512];
	struct md_console *c = NULL;
	if (session_load(path, &c, err, sizeof err) != MD_OK)
		fail_msg("%s", err);
	char *s = strdup(c->strips[i]->source);
	console_free(c);
	return s;
}

static void expect_source(const char *path, int i, const char *want)
{
	char *s = saved_source(path, i);
	if (strcmp(s, want) != 0)
		fail_msg("%s: strip %d's source is '%s', expected '%s'", path, i, s, want);
	free(s);
}

/* ---- save-as ---- */

/* The demo session (nine sources under audio/) saved into other folders finds its very files. */
static void test_save_as_rebases_sources(void **state)
{
	(void)state;
	char *t = tl_tmpdir(), demo[1024], path[1024], out[1024], err[512], cmd[2048];
	mkdirs("%s/song/audio", t);
	mkdirs("%s/song/versions", t);
	mkdirs("%s/other/deep", t);
	snprintf(demo, sizeof demo, "%s/song/demo.json", t);
	snprintf(cmd, sizeof cmd, "cp '%s/sessions/demo.json' '%s'", tl_top(), demo);
	assert_int_equal(system(cmd), 0);
	struct md_console *c = NULL;
	if (session_load(demo, &c, err, sizeof err) != MD_OK)
		fail_msg("%s", err);
	for (int i = 0; i < c->nstrips; i++) {
		resolve(demo, c->strips[i]->source, path, sizeof path);
		write_file(path, "RIFF");
	}
	/* below: a folder under the session's, a cousin folder, and through a symlinked folder */
	const char *const targets[] = {"song/versions/v2.json", "other/deep/m.json", "link/v3.json"};
	snprintf(path, sizeof path, "%s/link", t);
	snprintf(out, sizeof out, "%s/song/versions", t);
	assert_int_equal(symlink(out, path), 0);
	for (int k = 0; k < 3; k++) {
		snprintf(out, sizeof out, "%s/%s", t, targets[k]);
		if (session_save_as(out, c, demo, err, sizeof err) != MD_OK)
			fail_msg("%s", err);
		expect_same_sources(c, demo, out);
	}
	snprintf(out, sizeof out, "%s/song/versions/v2.json", t);
	expect_source(out, 0, "../audio/kick.wav");
	snprintf(out, sizeof out, "%s/link/v3.json", t);
	expect_source(out, 0, "../audio/kick.wav");
	snprintf(out, sizeof out, "%s/other/deep/m.json", t);
	expect_source(out, 0, "../../song/audio/kick.wav");
	/* and back from there: plain again */
	struct md_console *m = NULL;
	assert_int_equal(session_load(out, &m, err, sizeof err), MD_OK);
	snprintf(path, sizeof path, "%s/song/back.json", t);
	assert_int_equal(session_save_as(path, m, out, err, sizeof err), MD_OK);
	expect_source(path, 0, "audio/kick.wav");
	expect_same_sources(c, demo, path);
	console_free(m);
	/* the same folder, named another way: the file is the plain save's, byte for byte */
	char plain[1024], same[1024];
	snprintf(plain, sizeof plain, "%s/song/plain.json", t);
	snprintf(same, sizeof same, "%s/song/versions/../same.json", t);
	assert_int_equal(session_save(plain, c, err, sizeof err), MD_OK);
	assert_int_equal(session_save_as(same, c, demo, err, sizeof err), MD_OK);
	char *a = tl_read_file(plain), *b = tl_read_file(same);
	assert_string_equal(a, b);
	free(a);
	free(b);
	/* folders that share only the root: absolute paths */
	char vt[] = "/var/tmp/mixdesk-test-XXXXXX";
	if (mkdtemp(vt)) {
		snprintf(out, sizeof out, "%s/far.json", vt);
		assert_int_equal(session_save_as(out, c, demo, err, sizeof err), MD_OK);
		expect_same_sources(c, demo, out);
		char *s = saved_source(out, 0), real[1024];
		snprintf(path, sizeof path, "%s/song/audio/kick.wav", t);
		assert_non_null(realpath(path, real));
		assert_string_equal(s, real);
		free(s);
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", vt);
		assert_int_equal(system(cmd), 0);
	}
	console_free(c);
	tl_rmtree(t);
	free(t);
}

/* Leading ./ and ../, a .. inside the path (after a symlink), an absolute path; and back from the copy. */
static void test_save_as_path_forms(void **state)
{
	(void)state;
	char *t = tl_tmpdir(), path[1024], out[1024], err[512], mix[1024], text[4096];
	struct md_console *c = NULL;
	mkdirs("%s/song/audio", t);
	mkdirs("%s/song/versions", t);
	mkdirs("%s/shared", t);
	mkdirs("%s/abs", t);
	snprintf(mix, sizeof mix, "%s/song/mix.json", t);
	snprintf(text, sizeof text,
		 "{\"format\": \"mixdesk-session\", \"version\": 1, \"strips\": [\n"
		 " {\"name\": \"a\", \"source\": \"./audio/kick.wav\"},\n"
		 " {\"name\": \"b\", \"source\": \"../shared/loop.wav\"},\n"
		 " {\"name\": \"c\", \"source\": \"audio/../audio/snare.wav\"},\n"
		 " {\"name\": \"d\", \"source\": \"%s/abs/pad.wav\"},\n"
		 " {\"name\": \"e\", \"source\": \"lnk/../far.wav\"}]}\n",
		 t);
	write_file(mix, text);
	/* lnk leads elsewhere, so lnk/.. is not the session's folder: such a path must be kept as it is */
	const char *const files[] = {"song/audio/kick.wav", "shared/loop.wav", "song/audio/snare.wav", "abs/pad.wav",
				     "far/far.wav"};
	mkdirs("%s/far/deeper", t);
	snprintf(path, sizeof path, "%s/far/deeper", t);
	snprintf(out, sizeof out, "%s/song/lnk", t);
	assert_int_equal(symlink(path, out), 0);
	for (int i = 0; i < 5; i++) {
		snprintf(path, sizeof path, "%s/%s", t, files[i]);
		write_file(path, "RIFF");
	}
	assert_int_equal(session_load(mix, &c, err, sizeof err), MD_OK);
	snprintf(out, sizeof out, "%s/song/versions/v4.json", t);
	assert_int_equal(session_save_as(out, c, mix, err, sizeof err), MD_OK);
	expect_same_sources(c, mix, out);
	expect_source(out, 0, "../audio/kick.wav");
	expect_source(out, 1, "../../shared/loop.wav");
	expect_source(out, 2, "../audio/../audio/snare.wav");
	snprintf(path, sizeof path, "%s/abs/pad.wav", t);
	expect_source(out, 3, path);
	expect_source(out, 4, "../lnk/../far.wav");
	struct md_console *v4 = NULL;
	assert_int_equal(session_load(out, &v4, err, sizeof err), MD_OK);
	snprintf(path, sizeof path, "%s/song/back.json", t);
	assert_int_equal(session_save_as(path, v4, out, err, sizeof err), MD_OK);
	expect_same_sources(c, mix, path);
	expect_source(path, 0, "audio/kick.wav");
	expect_source(path, 1, "../shared/loop.wav");
	console_free(v4);
	console_free(c);
	tl_rmtree(t);
	free(t);
}

/* ---- what a load refuses ---- */

/* session_load(path) in a child: its message in msg, or "TIMEOUT" when it did not return within 3 s */
static void load_in_child(const char *path, char *msg, size_t n, double *seconds)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	double t0 = tl_now();
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		char err[512] = "";
		struct md_console *c = NULL;
		enum md_err e = session_load(path, &c, err, sizeof err);
		if (e == MD_OK)
			snprintf(err, sizeof err, "LOADED");
		ssize_t w = write(fds[1], err, strlen(err) + 1);
		(void)w;
		_exit(0);
	}
	close(fds[1]);
	int st = -1;
	if (tl_wait_exit(pid, 3.0, &st) != 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		snprintf(msg, n, "TIMEOUT");
	} else {
		ssize_t r = read(fds[0], msg, n - 1);
		msg[r > 0 ? r : 0] = '\0';
	}
	*seconds = tl_now() - t0;
	close(fds[0]);
}

static void expect_refused(const char *path, const char *want)
{
	char msg[600];
	double s;
	load_in_child(path, msg, sizeof msg, &s);
	if (!strstr(msg, want))
		fail_msg("loading %s said '%s' after %.2f s, expected '%s'", path, msg, s, want);
	assert_true(s < 2.0);
}

static void test_load_refuses_what_is_not_a_file(void **state)
{
	(void)state;
	char *t = tl_tmpdir(), path[1024];
	expect_refused("/dev/zero", "/dev/zero: not a regular file (a character device)");
	snprintf(path, sizeof path, "%s/fifo.json", t);
	assert_int_equal(mkfifo(path, 0600), 0);
	expect_refused(path, "fifo.json: not a regular file (a FIFO): a session file is a regular file");
	/* a symlink to a device is judged by what it leads to */
	snprintf(path, sizeof path, "%s/zero.json", t);
	assert_int_equal(symlink("/dev/zero", path), 0);
	expect_refused(path, "zero.json: not a regular file (a character device)");
	expect_refused(t, ": not a regular file (a folder)");
	/* a sparse file over the limit is refused unread; one at the limit is read (and is not JSON) */
	snprintf(path, sizeof path, "%s/big.json", t);
	int fd = open(path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 80L << 20), 0);
	close(fd);
	expect_refused(path, "big.json is 80 MiB: a session file is at most 64 MiB");
	assert_int_equal(truncate(path, (64L << 20) + 512 * 1024), 0);
	expect_refused(path, "big.json is 64.5 MiB: a session file is at most 64 MiB");
	assert_int_equal(truncate(path, MD_SESSION_MAX_BYTES), 0);
	expect_refused(path, "big.json: broken JSON: a NUL byte at offset 0");
	tl_rmtree(t);
	free(t);
}

/* ---- what a save refuses to replace ---- */

static int count_named(const char *dir, const char *prefix)
{
	char cmd[1200], out[64];
	snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -c '^%s' || true", dir, prefix);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(out, sizeof out, p));
	pclose(p);
	return atoi(out);
}

static void test_save_replaces_only_sessions(void **state)
{
	(void)state;
	char *t = tl_tmpdir(), path[1024], bak[1100], err[600];
	struct md_console *c = console_new(48000);
	int idx;
	assert_int_equal(console_add_strip(c, "One", false, &idx), MD_OK);
	/* a file that is not a session, a JSON file of another program, a folder: left as they were */
	const char *const others[] = {"my notes\n", "{\"format\": \"other-tool\", \"x\": [1, 2]}\n",
				      "{\"version\": 1, \"strips\": []}\n"};
	for (int k = 0; k < 3; k++) {
		snprintf(path, sizeof path, "%s/notes.json", t);
		snprintf(bak, sizeof bak, "%s.bak", path);
		write_file(path, others[k]);
		assert_int_equal(session_save(path, c, err, sizeof err), MD_ERR_EXISTS);
		if (!strstr(err, "notes.json exists and is not a mixdesk session file: it was left as it was"))
			fail_msg("the message does not say why: '%s'", err);
		char *now = tl_read_file(path);
		assert_string_equal(now, others[k]);
		free(now);
		assert_int_equal(access(bak, F_OK), -1);
		assert_int_equal(count_named(t, "notes.json.tmp"), 0);
	}
	snprintf(path, sizeof path, "%s/dir.json", t);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(session_save(path, c, err, sizeof err), MD_ERR_EXISTS);
	assert_non_null(strstr(err, "dir.json exists and is a folder"));
	/* an empty file, and a hand-written session with "format" last, may be replaced */
	snprintf(path, sizeof path, "%s/empty.json", t);
	write_file(path, "");
	assert_int_equal(session_save(path, c, err, sizeof err), MD_OK);
	snprintf(path, sizeof path, "%s/hand.json", t);
	write_file(path,
		   "{\"version\": 1, \"strips\": [{\"name\": \"x\", \"x-format\": \"format\"}],\n"
		   " \"format\" : \"mixdesk-session\" }");
	assert_int_equal(session_save(path, c, err, sizeof err), MD_OK);
	/* a backup that is not a session's stays, and so does the file */
	snprintf(bak, sizeof bak, "%s.bak", path);
	write_file(bak, "keep me");
	char *before = tl_read_file(path);
	assert_int_equal(session_save(path, c, err, sizeof err), MD_ERR_EXISTS);
	if (!strstr(err, "the backup") || !strstr(err, "hand.json.bak exists and is not a mixdesk session file"))
		fail_msg("the message does not say why: '%s'", err);
	char *after = tl_read_file(path), *b = tl_read_file(bak);
	assert_string_equal(before, after);
	assert_string_equal(b, "keep me");
	free(before);
	free(after);
	free(b);
	console_free(c);
	tl_rmtree(t);
	free(t);
}

/* ---- temporary files of saves that were killed ---- */

static void make_temp(const char *dir, const char *name, const char *text, double age)
{
	char path[1200];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	write_file(path, text);
	if (age > 0) {
		struct timeval tv[2];
		gettimeofday(&tv[0], NULL);
		tv[0].tv_sec -= (time_t)age;
		tv[1] = tv[0];
		assert_int_equal(utimes(path, tv), 0);
	}
}

static bool there(const char *dir, const char *name)
{
	char path[1200];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void test_stale_temporaries_removed(void **state)
{
	(void)state;
	char *t = tl_tmpdir(), path[1024], err[600], name[128];
	snprintf(path, sizeof path, "%s/song.json", t);
	struct md_console *c = console_new(48000);
	assert_int_equal(session_save(path, c, err, sizeof err), MD_OK);
	char *saved = tl_read_file(path), part[64];
	snprintf(part, sizeof part, "%.40s", saved); /* what a save killed part-way leaves */
	pid_t dead = fork();
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	pid_t alive = fork();
	if (alive == 0) {
		pause();
		_exit(0);
	}
	/* gone: a dead writer, this very process, an empty one, an old one from before pids were in the name */
	const char *gone[4];
	char g[4][128];
	snprintf(g[0], sizeof g[0], "song.json.tmp-%ld-Xy34Zw", (long)dead);
	snprintf(g[1], sizeof g[1], "song.json.tmp-%ld-Ee55Ff", (long)getpid());
	snprintf(g[2], sizeof g[2], "song.json.tmp-%ld-Qq11Rr", (long)dead);
	snprintf(g[3], sizeof g[3], "song.json.tmp-Ab12Cd");
	for (int i = 0; i < 4; i++)
		gone[i] = g[i];
	make_temp(t, gone[0], part, 0);
	make_temp(t, gone[1], saved, 0);
	make_temp(t, gone[2], "", 0);
	make_temp(t, gone[3], part, 3600);
	/* kept: a live writer's, a fresh old-style one, look-alikes, another file's, one with other contents */
	snprintf(name, sizeof name, "song.json.tmp-%ld-Gg66Hh", (long)alive);
	const char *const kept[] = {name,
				    "song.json.tmp-Fresh1",
				    "song.json.tmp-notes",
				    "song.json.tmp-Ab12Cd.txt",
				    "other.json.tmp-Ab12Cd",
				    "song.json.tmp-backup",
				    "song.json.tmp-12-abc"};
	make_temp(t, kept[0], part, 0);
	make_temp(t, kept[1], part, 0);
	make_temp(t, kept[2], part, 3600);
	make_temp(t, kept[3], part, 3600);
	make_temp(t, kept[4], part, 3600);
	make_temp(t, kept[5], "my own notes, not a session\n", 3600);
	make_temp(t, kept[6], part, 3600);
	assert_int_equal(session_save(path, c, err, sizeof err), MD_OK);
	for (int i = 0; i < 4; i++)
		if (there(t, gone[i]))
			fail_msg("%s is still there", gone[i]);
	for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
		if (!there(t, kept[i]))
			fail_msg("%s was removed", kept[i]);
	kill(alive, SIGKILL);
	waitpid(alive, NULL, 0);
	free(saved);
	console_free(c);
	tl_rmtree(t);
	free(t);
}

/* ---- messages for a remote sender ---- */

/* Loading text as a remote sender's file: the detailed message, as session_load's, and the public one. */
static void remote_load(const char *dir, const char *text, char *err, char *pub, size_t n)
{
	char path[1024], local[600];
	snprintf(path, sizeof path, "%s/r.json", dir);
	write_file(path, text);
	struct md_console *c = NULL;
	assert_int_not_equal(session_load_remote(path, &c, err, n, pub, n), MD_OK);
	assert_null(c);
	assert_int_not_equal(session_load(path, &c, local, sizeof local), MD_OK);
	assert_string_equal(local, err); /* the detailed message is the one the command line shows */
}

static void expect_public(const char *dir, const char *text, const char *secret, const char *want)
{
	char err[600], pub[600];
	remote_load(dir, text, err, pub, sizeof pub);
	if (!strstr(err, secret))
		fail_msg("the detailed message '%s' lacks '%s'", err, secret);
	if (strstr(pub, secret) || !strstr(pub, want))
		fail_msg("the public message '%s' should say '%s' without '%s'", pub, want, secret);
}

static void test_remote_messages_quote_nothing(void **state)
{
	(void)state;
	char *t = tl_tmpdir();
	expect_public(t, "{\"format\": \"hunter2\", \"version\": 1}", "hunter2",
		      "r.json: line 1, column 2: not a mixdesk "
		      "session file");
	expect_public(t,
		      "{\"format\": \"mixdesk-session\", \"version\": 1, \"strips\": [\n  {\"name\": \"Kick\",\n"
		      "    \"passw0rd\": 1}]}\n",
		      "passw0rd", "r.json: line 3, column 5: unknown key");
	expect_public(t,
		      "{\"format\": \"mixdesk-session\", \"version\": 1, \"strips\": [{\"name\": \"TopSecret\"},\n"
		      " {\"name\": \"TopSecret\"}]}",
		      "TopSecret", "line 2, column 3: a name, send or lane given twice");
	expect_public(t,
		      "{\"format\": \"mixdesk-session\", \"version\": 1,\n\"strips\": [{\"inputs\": [\"nocolon\"]}]}",
		      "nocolon", "line 2, column 24: a value that is not valid there");
	expect_public(t,
		      "{\"format\": \"mixdesk-session\", \"version\": 1, \"buses\": [{\"name\": \"R\"}],\n"
		      "\"strips\": [{\"sends\": [{\"bus\": \"Hidden\"}]}]}",
		      "Hidden", "line 2, column 24: a name that the session does not define");
	expect_public(t, "{\"format\": \"mixdesk-session\", \"version\": 1, \"x-ok\": 1,\n \"secret_top\": 2}",
		      "secret_top", "line 2, column 2: unknown key");
	expect_public(t, "{\"format\": \"mixdesk-session\", \"version\": 1, \"strips\": [{\"fader\": 77.5}]}", "77.5",
		      "line 1, column 57: a value out of range");
	/* what quotes nothing of the file is said as it is */
	char err[600], pub[600];
	remote_load(t, "{\"format\": \"mixdesk-session\",\n  \"version\": 1,,}", err, pub, sizeof pub);
	assert_non_null(strstr(err, "r.json:2:16: broken JSON"));
	assert_non_null(strstr(pub, "r.json: line 2, column 16: broken JSON"));
	remote_load(t, "{\"format\": \"mixdesk-session\", \"version\": 9}", err, pub, sizeof pub);
	assert_non_null(strstr(pub, "line 1, column 31: made by a newer mixdesk"));
	tl_rmtree(t);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_save_as_rebases_sources),
		cmocka_unit_test(test_save_as_path_forms),
		cmocka_unit_test(test_load_refuses_what_is_not_a_file),
		cmocka_unit_test(test_save_replaces_only_sessions),
		cmocka_unit_test(test_stale_temporaries_removed),
		cmocka_unit_test(test_remote_messages_quote_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
