/* mixdesk tests: sessions through the real binary. `mixdesk check` on every malformed session of the corpus
 * (tests/sessions/bad: NAME.json and NAME.expect, the text its error must contain) gives exit status 1 and
 * that message, never a crash; `mixdesk check` describes a valid session and knows its usage; `mixdesk check`
 * and the engine refuse a device, a FIFO and an oversized file at once, and a --session-dir that is not a
 * folder; and JACK connections made with jack_connect are saved by --autosave and restored on a fresh server. */
#include "sessions/session.h"
#include "testlib.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void test_bad_corpus(void **state)
{
	(void)state;
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/tests/sessions/bad", tl_top());
	struct dirent **list;
	int n = scandir(dir, &list, NULL, by_name);
	assert_true(n > 0);
	int checked = 0, failed = 0;
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		size_t l = strlen(name);
		if (l < 6 || strcmp(name + l - 5, ".json") != 0) {
			free(list[i]);
			continue;
		}
		char json[1400], expect_path[1400], out[4096];
		snprintf(json, sizeof json, "%s/%s", dir, name);
		snprintf(expect_path, sizeof expect_path, "%s/%.*s.expect", dir, (int)(l - 5), name);
		char *expect = tl_read_file(expect_path);
		if (!expect)
			fail_msg("%s has no .expect file", name);
		expect[strcspn(expect, "\n")] = '\0';
		assert_true(expect[0] != '\0');
		/* relative to its folder, so messages name the file as the expectations do */
		char *prev = getcwd(NULL, 0);
		assert_int_equal(chdir(dir), 0);
		int st = tl_run((const char *[]){"check", name, NULL}, out, sizeof out);
		assert_int_equal(chdir(prev), 0);
		free(prev);
		if (st != 1 || !strstr(out, expect)) {
			fprintf(stderr, "%s: exit status %d, output:\n%s\nexpected status 1 and: %s\n", name, st, out,
				expect);
			failed++;
		}
		/* one line of error, no description of a session */
		if (strstr(out, "valid mixdesk session") || strstr(out, "Sanitizer")) {
			fprintf(stderr, "%s: unexpected output: %s\n", name, out);
			failed++;
		}
		free(expect);
		free(list[i]);
		checked++;
	}
	free(list);
	printf("checked %d malformed sessions\n", checked);
	assert_true(checked >= 20);
	assert_int_equal(failed, 0);
}

static void test_check_cli(void **state)
{
	(void)state;
	char out[16384], demo[1024];
	snprintf(demo, sizeof demo, "%s/sessions/demo.json", tl_top());
	assert_int_equal(tl_run((const char *[]){"check", demo, NULL}, out, sizeof out), 0);
	assert_non_null(strstr(out, "a valid mixdesk session (version 1), 48000 Hz, 9 strips, 2 buses"));
	assert_non_null(strstr(out, "strip 1 Kick: mono"));
	assert_non_null(strstr(out, "Overheads: stereo"));
	assert_non_null(strstr(out, "source audio/kick.wav"));
	assert_non_null(strstr(out, "send to Reverb: -12 dB post-fader"));
	assert_non_null(strstr(out, "bus 2 Delay"));
	assert_non_null(strstr(out, "automation fader: read, 5 points"));
	assert_non_null(strstr(out, "outputs: L system:playback_1 R system:playback_2"));
	/* usage errors: 2 */
	assert_int_equal(tl_run((const char *[]){"check", NULL}, out, sizeof out), 2);
	assert_non_null(strstr(out, "usage: mixdesk check SESSION.json"));
	assert_int_equal(tl_run((const char *[]){"check", "a.json", "b.json", NULL}, out, sizeof out), 2);
	assert_int_equal(tl_run((const char *[]){"check", "--help", NULL}, out, sizeof out), 0);
	/* a file that is not there: 1, and says so */
	assert_int_equal(tl_run((const char *[]){"check", "/nonexistent/s.json", NULL}, out, sizeof out), 1);
	assert_non_null(strstr(out, "/nonexistent/s.json: cannot open"));
	/* the engine refuses a bad session at start, with the same message */
	char *dir = tl_tmpdir(), bad[600];
	snprintf(bad, sizeof bad, "%s/bad.json", dir);
	FILE *f = fopen(bad, "w");
	fputs("{\"format\":\"mixdesk-session\",\"version\":1,\"strips\":[{\"fader\":99}]}", f);
	fclose(f);
	assert_int_equal(tl_run((const char *[]){"--server", "no-such-server", bad, NULL}, out, sizeof out), 1);
	assert_non_null(strstr(out, "strips[0].fader: 99 is out of range (-120 .. 10 dB)"));
	tl_rmtree(dir);
	free(dir);
}

/* `mixdesk ARGS...` ends within 5 s with status want, saying what */
static void expect_quick(const char *const args[], int want, const char *what)
{
	char out[4096];
	double t0 = tl_now();
	int st = tl_run(args, out, sizeof out);
	double took = tl_now() - t0;
	if (st != want || !strstr(out, what) || took > 5.0)
		fail_msg("mixdesk %s %s: status %d after %.1f s, said: %s (expected %d and '%s')", args[0],
			 args[1] ? args[1] : "", st, took, out, want, what);
}

/* A session file that is a device, a FIFO (nobody writes to it: a plain open would wait forever) or larger
 * than 64 MiB is refused at once, by `mixdesk check` and by the engine before it contacts JACK. */
static void test_refuses_what_is_not_a_session_file(void **state)
{
	(void)state;
	char *dir = tl_tmpdir(), fifo[600], big[600];
	snprintf(fifo, sizeof fifo, "%s/fifo.json", dir);
	snprintf(big, sizeof big, "%s/big.json", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	int fd = open(big, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 80L << 20), 0);
	close(fd);
	expect_quick((const char *[]){"check", "/dev/zero", NULL}, 1,
		     "/dev/zero: not a regular file (a character device): a session file is a regular file");
	expect_quick((const char *[]){"check", fifo, NULL}, 1, "fifo.json: not a regular file (a FIFO)");
	expect_quick((const char *[]){"check", big, NULL}, 1, "big.json is 80 MiB: a session file is at most 64 MiB");
	expect_quick((const char *[]){"--server", "no-such-server", fifo, NULL}, 1, "not a regular file (a FIFO)");
	expect_quick((const char *[]){"--server", "no-such-server", "/dev/zero", NULL}, 1,
		     "not a regular file (a character device)");
	expect_quick((const char *[]){"render", fifo, "-o", big, NULL}, 1, "not a regular file (a FIFO)");
	/* --session-dir names a folder, checked before anything else */
	expect_quick((const char *[]){"--server", "no-such-server", "--session-dir", big, NULL}, 2, "--session-dir '");
	expect_quick((const char *[]){"--server", "no-such-server", "--session-dir", "/nonexistent/x", NULL}, 2,
		     "is not a folder: No such file or directory");
	tl_rmtree(dir);
	free(dir);
}

static bool wait_connected(struct tl_jc *c, const char *a, const char *b, double timeout)
{
	double end = tl_now() + timeout;
	while (!tl_jc_connected(c, a, b)) {
		if (tl_now() > end)
			return false;
		tl_sleep(0.05);
	}
	return true;
}

static const char *const pairs[][2] = {
	{"tc:out_1", "mdx:Kick_in"},     {"tc:out_2", "mdx:Keys_in_L"},   {"tc:out_3", "mdx:Keys_in_R"},
	{"tc:out_2", "mdx:Kick_in"},     {"mdx:master_out_L", "tc:in_1"}, {"mdx:master_out_R", "tc:in_2"},
	{"mdx:master_out_R", "tc:in_3"}, {"mdx:Verb_out_L", "tc:in_3"},   {"tc:out_1", "mdx:Verb_return_R"},
};
#define NPAIRS (sizeof pairs / sizeof pairs[0])

#define CHECK(cond, ...)                                                                                               \
	do {                                                                                                           \
		if (!(cond)) {                                                                                         \
			fprintf(stderr, __VA_ARGS__);                                                                  \
			fprintf(stderr, "\n");                                                                         \
			rc = 1;                                                                                        \
			goto out;                                                                                      \
		}                                                                                                      \
	} while (0)

/* Phase 1, on its own server: wire mixdesk with jack_connect, then SIGTERM it (--autosave saves). */
static int phase_connect_and_save(const char *path, const char *log)
{
	int rc = 0;
	struct tl_jackd j = {0};
	struct tl_jc *tc = NULL;
	pid_t md = -1;
	CHECK(tl_jackd_start(&j, 48000, 256) == 0, "no jackd");
	tc = tl_jc_open(j.name, "tc", 3, 3);
	CHECK(tc, "no test client");
	md = tl_mixdesk_start(j.name, "mdx", (const char *const[]){"--autosave", path, NULL}, log);
	CHECK(md > 0, "mixdesk did not start (see %s)", log);
	for (size_t i = 0; i < NPAIRS; i++) {
		const char *theirs = strncmp(pairs[i][0], "mdx:", 4) == 0 ? pairs[i][0] : pairs[i][1];
		CHECK(tl_jc_wait_port(tc, theirs, 5.0), "no port %s", theirs);
		CHECK(tl_jc_connect(tc, pairs[i][0], pairs[i][1]) == 0, "cannot connect %s to %s", pairs[i][0],
		      pairs[i][1]);
	}
	int st = tl_stop(md);
	md = -1;
	CHECK(st == 0, "mixdesk exited with %d on SIGTERM (see %s)", st, log);
out:
	if (md > 0)
		tl_stop(md);
	tl_jc_close(tc);
	tl_jackd_stop(&j);
	return rc;
}

/* Phase 2, on a new server with nothing connected: mixdesk started on the saved file restores the wiring. */
static int phase_restore(const char *path, const char *log)
{
	int rc = 0;
	struct tl_jackd j = {0};
	struct tl_jc *tc = NULL;
	pid_t md = -1;
	CHECK(tl_jackd_start(&j, 48000, 256) == 0, "no jackd");
	tc = tl_jc_open(j.name, "tc", 3, 3);
	CHECK(tc, "no test client");
	for (size_t i = 0; i < NPAIRS; i++)
		CHECK(!tl_jc_connected(tc, pairs[i][0], pairs[i][1]), "%s is connected before mixdesk runs",
		      pairs[i][0]);
	md = tl_mixdesk_start(j.name, "mdx", (const char *const[]){path, NULL}, log);
	CHECK(md > 0, "mixdesk did not start (see %s)", log);
	for (size_t i = 0; i < NPAIRS; i++)
		CHECK(wait_connected(tc, pairs[i][0], pairs[i][1], 5.0), "%s -> %s was not restored", pairs[i][0],
		      pairs[i][1]);
out:
	if (md > 0)
		tl_stop(md);
	tl_jc_close(tc);
	tl_jackd_stop(&j);
	return rc;
}

/* libjack keeps per-process state tied to the first server it talked to, so each server gets a process. */
static int in_child(int (*fn)(const char *, const char *), const char *path, const char *log)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn(path, log));
	int st;
	if (tl_wait_exit(pid, 120.0, &st) != 0)
		st = tl_stop(pid);
	return st;
}

/* The wiring a user makes with jack_connect (qjackctl) is saved, and comes back on a fresh server. */
static void test_connections_saved_and_restored(void **state)
{
	(void)state;
	char *dir = tl_tmpdir(), path[600], log[600];
	snprintf(path, sizeof path, "%s/band.json", dir);
	snprintf(log, sizeof log, "%s/mixdesk.log", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"format\":\"mixdesk-session\",\"version\":1,\"x-note\":\"kept\",\n"
	      " \"strips\":[{\"name\":\"Kick\",\"fader\":-6.5},{\"name\":\"Keys\",\"stereo\":true}],\n"
	      " \"buses\":[{\"name\":\"Verb\"}]}\n",
	      f);
	fclose(f);

	assert_int_equal(in_child(phase_connect_and_save, path, log), 0);
	char err[512];
	struct md_console *c = NULL;
	if (session_load(path, &c, err, sizeof err) != MD_OK)
		fail_msg("the autosaved session does not load: %s", err);
	assert_int_equal(c->nstrips, 2);
	assert_true(console_conns_has(&c->strips[0]->inputs[0], "tc:out_1"));
	assert_true(console_conns_has(&c->strips[0]->inputs[0], "tc:out_2"));
	assert_true(console_conns_has(&c->strips[1]->inputs[0], "tc:out_2"));
	assert_true(console_conns_has(&c->strips[1]->inputs[1], "tc:out_3"));
	assert_true(console_conns_has(&c->master.outputs[0], "tc:in_1"));
	assert_true(console_conns_has(&c->master.outputs[1], "tc:in_2"));
	assert_true(console_conns_has(&c->master.outputs[1], "tc:in_3"));
	assert_true(console_conns_has(&c->buses[0]->outputs[0], "tc:in_3"));
	assert_true(console_conns_has(&c->buses[0]->returns[1], "tc:out_1"));
	/* the rest of the session went through unchanged */
	assert_true(c->strips[0]->p[MD_SP_FADER] == -6.5f);
	assert_non_null(c->extra);
	assert_non_null(strstr(c->extra, "kept"));
	console_free(c);
	char *text = tl_read_file(path);
	assert_non_null(strstr(text, "\"inputs\": [\"tc:out_1\", \"tc:out_2\"]"));
	free(text);

	assert_int_equal(in_child(phase_restore, path, log), 0);
	tl_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_corpus),
		cmocka_unit_test(test_check_cli),
		cmocka_unit_test(test_refuses_what_is_not_a_session_file),
		cmocka_unit_test(test_connections_saved_and_restored),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
