/* mixdesk tests: /session/save and /session/load over OSC, against the real engine on a private jackd. What
 * reaches the OSC port may be hostile: a path must lead into the session's folder or a --session-dir (no
 * "../", no link out, a .json name), a save never replaces a file that is not a session, a load of a FIFO or
 * a device is refused at once while the console keeps answering, a file over 64 MiB is refused unread, and
 * the /error for a bad file quotes nothing of it (the engine's log has the details). A save-as rebases the
 * sources; a 10 MB save is written on its own thread while another client's queries are answered at once. */
#include "sessions/session.h"
#include "osclient.h"
#include "testlib.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- fixture: one jackd for the program, one engine per test ---- */

struct fixture {
	struct tl_jackd jackd;
	char *dir;
	char log[512];
	pid_t pid;
	int port;
};

static struct fixture *F;

static int group_setup(void **state)
{
	F = calloc(1, sizeof *F);
	F->dir = tl_tmpdir();
	return tl_jackd_start(&F->jackd, 48000, 256) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	tl_jackd_stop(&F->jackd);
	tl_rmtree(F->dir);
	free(F->dir);
	free(F);
	return 0;
}

static int start_engine(const char *const extra[])
{
	static int run;
	snprintf(F->log, sizeof F->log, "%s/mixdesk-%d.log", F->dir, run++);
	F->pid = tl_mixdesk_start(F->jackd.name, "mdsess", extra, F->log);
	if (F->pid <= 0)
		return -1;
	F->port = tl_mixdesk_osc_port(F->log, 10.0);
	return F->port > 0 ? 0 : -1;
}

static void stop_engine(void)
{
	if (F->pid > 0)
		assert_int_equal(tl_stop(F->pid), 0);
	F->pid = 0;
}

/* ---- helpers ---- */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* F->dir/rel, made (with its folders) when it is a folder */
static void at(char *out, size_t n, const char *rel, bool folder)
{
	snprintf(out, n, "%s/%s", F->dir, rel);
	if (folder) {
		char cmd[1200];
		snprintf(cmd, sizeof cmd, "mkdir -p '%s'", out);
		assert_int_equal(system(cmd), 0);
	}
}

static void expect_saved(struct oc *o, const char *path)
{
	oc_sendm(o, "/session/save", ms(path));
	struct rmsg *r = oc_wait(o, "/session/saved", 10.0);
	if (!r)
		fail_msg("no /session/saved for %s", path);
	assert_string_equal(r->str[0], path);
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* ---- tests ---- */

/* Where OSC may save and load: the session's folder and below, a --session-dir; nothing else. */
static void test_confined_to_session_folders(void **state)
{
	char song[600], extra[600], outside[600], mix[700], p[800], q[900];
	at(song, sizeof song, "conf/song", true);
	at(extra, sizeof extra, "conf/extra", true);
	at(outside, sizeof outside, "conf/outside", true);
	snprintf(mix, sizeof mix, "%s/mix.json", song);
	write_file(mix,
		   "{\"format\": \"mixdesk-session\", \"version\": 1,\n"
		   " \"strips\": [{\"name\": \"Kick\", \"source\": \"audio/kick.wav\"}]}\n");
	assert_int_equal(start_engine((const char *[]){"--session-dir", extra, mix, NULL}), 0);
	struct oc *o = oc_open("127.0.0.1", F->port);

	/* out by "..", into a folder not given, another name than .json: refused, nothing written */
	snprintf(p, sizeof p, "%s/../outside/evil.json", song);
	oc_sendm(o, "/session/save", ms(p));
	expect_error(o, "/session/save", "is outside the folders OSC may use");
	snprintf(p, sizeof p, "%s/evil.json", outside);
	oc_sendm(o, "/session/save", ms(p));
	expect_error(o, "/session/save", "is outside the folders OSC may use");
	assert_false(exists(p));
	snprintf(p, sizeof p, "%s/mix.txt", song);
	oc_sendm(o, "/session/save", ms(p));
	expect_error(o, "/session/save", "name ends in .json");
	assert_false(exists(p));
	oc_sendm(o, "/session/save", ms("/etc/passwd"));
	expect_error(o, "/session/save", "name ends in .json");
	/* a link in the session's folder that leads out is refused too, for a save and for a load */
	snprintf(p, sizeof p, "%s/target.json", outside);
	write_file(p, "{\"format\": \"mixdesk-session\", \"version\": 1}");
	snprintf(q, sizeof q, "%s/link.json", song);
	assert_int_equal(symlink(p, q), 0);
	oc_sendm(o, "/session/save", ms(q));
	expect_error(o, "/session/save", "is outside the folders OSC may use");
	oc_sendm(o, "/session/load", ms(q));
	expect_error(o, "/session/load", "is outside the folders OSC may use");
	oc_sendm(o, "/session/load", ms(p));
	expect_error(o, "/session/load", "is outside the folders OSC may use");
	/* a file that is not a session is never replaced */
	snprintf(p, sizeof p, "%s/notes.json", song);
	write_file(p, "my notes for the mix\n");
	oc_sendm(o, "/session/save", ms(p));
	expect_error(o, "/session/save", "exists and is not a mixdesk session file");
	char *text = tl_read_file(p);
	assert_string_equal(text, "my notes for the mix\n");
	free(text);
	snprintf(q, sizeof q, "%s.bak", p);
	assert_false(exists(q));

	/* a subfolder of the session's, and the --session-dir: saved, the source rebased */
	at(p, sizeof p, "conf/song/sub", true);
	strcat(p, "/ok.json");
	expect_saved(o, p);
	snprintf(p, sizeof p, "%s/v2.json", extra);
	expect_saved(o, p);
	text = tl_read_file(p);
	assert_non_null(strstr(text, "\"source\": \"../song/audio/kick.wav\""));
	free(text);
	/* the save-as made it the session file; the next save goes there, still rebased from the loaded one */
	oc_send0(o, "/session/save");
	struct rmsg *r = oc_wait(o, "/session/saved", 10.0);
	assert_non_null(r);
	assert_string_equal(r->str[0], p);
	text = tl_read_file(p);
	assert_non_null(strstr(text, "\"source\": \"../song/audio/kick.wav\""));
	free(text);
	/* loading it back: its sources are relative to its own folder from then on */
	oc_sendm(o, "/session/load", ms(p));
	assert_non_null(oc_wait(o, "/session/loaded", 5.0));
	snprintf(q, sizeof q, "%s/back.json", song);
	expect_saved(o, q);
	text = tl_read_file(q);
	assert_non_null(strstr(text, "\"source\": \"audio/kick.wav\""));
	free(text);
	oc_close(o);
	stop_engine();
}

/* A FIFO, a device and an oversized file are refused at once; the console answers meanwhile. */
static void test_load_refuses_what_is_not_a_file(void **state)
{
	char song[600], p[800];
	at(song, sizeof song, "nonreg", true);
	assert_int_equal(
		start_engine((const char *[]){"--channels", "2", "--session-dir", song, "--session-dir", "/dev", NULL}),
		0);
	struct oc *o = oc_open("127.0.0.1", F->port);
	oc_sendf(o, "/ch/1/fader", -5.0f);
	snprintf(p, sizeof p, "%s/fifo.json", song);
	assert_int_equal(mkfifo(p, 0600), 0);
	double t0 = tl_now();
	oc_sendm(o, "/session/load", ms(p));
	oc_send0(o, "/status");
	expect_error(o, "/session/load", "fifo.json: not a regular file (a FIFO)");
	double took = tl_now() - t0;
	assert_non_null(oc_wait(o, "/status", 1.0));
	printf("a FIFO refused in %.1f ms\n", took * 1e3);
	assert_true(took < 0.5);
	/* a link to /dev/zero, with /dev allowed: judged by what it is */
	snprintf(p, sizeof p, "%s/zero.json", song);
	assert_int_equal(symlink("/dev/zero", p), 0);
	oc_sendm(o, "/session/load", ms(p));
	expect_error(o, "/session/load", "not a regular file (a character device)");
	oc_sendm(o, "/session/load", ms("/dev/zero"));
	expect_error(o, "/session/load", "name ends in .json");
	/* a sparse 80 MiB file: refused unread */
	snprintf(p, sizeof p, "%s/big.json", song);
	int fd = open(p, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 80L << 20), 0);
	close(fd);
	t0 = tl_now();
	oc_sendm(o, "/session/load", ms(p));
	expect_error(o, "/session/load", "big.json is 80 MiB: a session file is at most 64 MiB");
	assert_true(tl_now() - t0 < 0.5);
	/* the console went on as it was */
	assert_float_equal(qf(o, "/ch/1/fader"), -5.0, 1e-4);
	assert_int_equal((int)oc_query(o, "/ch/count")->num[0], 2);
	oc_close(o);
	stop_engine();
}

/* The /error for a bad file says what and where, never what the file holds; the log has it all. */
static void test_load_errors_quote_nothing(void **state)
{
	char song[600], p[800];
	at(song, sizeof song, "quote", true);
	assert_int_equal(start_engine((const char *[]){"--channels", "1", "--session-dir", song, NULL}), 0);
	struct oc *o = oc_open("127.0.0.1", F->port);
	snprintf(p, sizeof p, "%s/secret.json", song);
	write_file(p, "{\"format\": \"hunter2-format\", \"version\": 1}");
	oc_sendm(o, "/session/load", ms(p));
	struct rmsg *r = oc_wait(o, "/error", 3.0);
	assert_non_null(r);
	assert_non_null(strstr(r->str[1], "not a mixdesk session file"));
	assert_null(strstr(r->str[1], "hunter2"));
	snprintf(p, sizeof p, "%s/keys.json", song);
	write_file(p,
		   "{\"format\": \"mixdesk-session\", \"version\": 1, \"strips\": [\n  {\"name\": \"Kick\",\n"
		   "    \"aws_secret_key\": 1}]}\n");
	oc_sendm(o, "/session/load", ms(p));
	r = oc_wait(o, "/error", 3.0);
	assert_non_null(r);
	if (!strstr(r->str[1], "keys.json: line 3, column 5: unknown key") || strstr(r->str[1], "aws_secret"))
		fail_msg("the /error says: %s", r->str[1]);
	tl_sleep(0.2);
	char *log = tl_read_file(F->log);
	assert_non_null(strstr(log, "'hunter2-format' is not a mixdesk session"));
	assert_non_null(strstr(log, "strips[0].aws_secret_key: unknown key"));
	free(log);
	oc_close(o);
	stop_engine();
}

/* A console of about 10 MB (60 strips with a 5000-point lane each). */
static struct md_console *big_console(void)
{
	struct md_console *c = console_new(48000);
	for (int i = 0; i < 60; i++) {
		char name[32];
		int idx;
		snprintf(name, sizeof name, "Strip %d", i + 1);
		assert_int_equal(console_add_strip(c, name, i % 4 == 0, &idx), MD_OK);
		struct md_lane *l = console_lane(c, MD_SCOPE_STRIP, idx, MD_SP_FADER, true);
		l->mode = MD_AUTO_OFF;
		for (int k = 0; k < 5000; k++)
			assert_int_equal(console_lane_add_point(l, 0.01 * k + 0.001 * i, -0.37f * (float)(k % 97)),
					 MD_OK);
	}
	return c;
}

/* The save of a big session is written on its own thread: another client's queries are answered at once
 * meanwhile, a second save is refused until the first is answered, and the file is the one a plain save
 * writes, byte for byte. */
static void test_big_save_keeps_answering(void **state)
{
	char dir[600], path[700], plain[700], err[512];
	at(dir, sizeof dir, "big", true);
	snprintf(path, sizeof path, "%s/big.json", dir);
	snprintf(plain, sizeof plain, "%s/plain.json", dir);
	struct md_console *c = big_console();
	assert_int_equal(session_save(path, c, err, sizeof err), MD_OK);
	assert_int_equal(session_save(plain, c, err, sizeof err), MD_OK);
	console_free(c);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(start_engine((const char *[]){path, NULL}), 0);
	struct oc *a = oc_open("127.0.0.1", F->port), *b = oc_open("127.0.0.1", F->port);
	assert_float_equal(qf(b, "/ch/1/fader"), 0.0, 1e-6);

	double t0 = tl_now(), worst = 0, worst_at = 0;
	oc_send0(a, "/session/save");
	oc_send0(a, "/session/save");
	expect_error(a, "/session/save", "is still being written");
	struct rmsg *saved = NULL;
	int n = 0;
	while (!saved && tl_now() - t0 < 120.0) {
		double q0 = tl_now();
		oc_send0(b, "/ch/1/fader");
		struct rmsg *r = oc_wait(b, "/ch/1/fader", 5.0);
		if (!r)
			fail_msg("no answer to a query %.2f s into the save", q0 - t0);
		if (r->t - q0 > worst) {
			worst = r->t - q0;
			worst_at = q0 - t0;
		}
		n++;
		saved = oc_wait(a, "/session/saved", 0.01);
	}
	assert_non_null(saved);
	double took = saved->t - t0;
	printf("a %.1f MB save took %.2f s; %d queries answered meanwhile, the slowest in %.1f ms (%.2f s in)\n",
	       (double)st.st_size / 1e6, took, n, worst * 1e3, worst_at);
	assert_true(n >= 5);
	assert_true(worst < 0.1);
	/* the file is what a plain save writes; the old one is the backup */
	char *x = tl_read_file(path), *y = tl_read_file(plain);
	assert_non_null(x);
	assert_true(strcmp(x, y) == 0);
	free(x);
	free(y);
	char bak[800];
	snprintf(bak, sizeof bak, "%s.bak", path);
	assert_true(exists(bak));
	/* and the next save is taken again */
	oc_send0(a, "/session/save");
	assert_non_null(oc_wait(a, "/session/saved", 60.0));
	oc_close(a);
	oc_close(b);
	stop_engine();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_confined_to_session_folders),
		cmocka_unit_test(test_load_refuses_what_is_not_a_file),
		cmocka_unit_test(test_load_errors_quote_nothing),
		cmocka_unit_test(test_big_save_keeps_answering),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
