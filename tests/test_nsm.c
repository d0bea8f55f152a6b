/* mixdesk tests: the live program under a session manager (docs/NSM.md). A small NSM server written here
 * (liblo, a free UDP port) is given to a real mixdesk through NSM_URL, on a private jackd: the announce and
 * its arguments, nothing in JACK before the open, the open answered and the JACK client named by the client
 * id, PATH.json created, is_dirty after a change over OSC, a save answered and written, then is_clean, a save
 * that cannot be written answered with /error and the API's code, and SIGTERM ending it with status 0; a
 * broken PATH.json answers the open with ERR_BAD_PROJECT and opens nothing. */
#include "control/nsm.h"
#include "osclient.h"
#include "control/oscarg.h"
#include "testlib.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <lo/lo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAXMSG 256

/* one message the server received: its strings and integers in order */
struct nmsg {
	char path[64];
	char types[16];
	char s[4][1024];
	int i[4];
	int ns, ni;
};

/* the test's session manager */
struct srv {
	lo_server lo;
	lo_address client; /* where the announce came from: every message to the client goes there */
	struct nmsg msg[MAXMSG];
	int n;
};

static int on_msg(const char *path, const char *types, lo_arg **argv, int argc, lo_message m, void *user)
{
	struct srv *s = user;
	if (s->n >= MAXMSG)
		return 0;
	struct nmsg *r = &s->msg[s->n++];
	memset(r, 0, sizeof *r);
	snprintf(r->path, sizeof r->path, "%s", path);
	snprintf(r->types, sizeof r->types, "%s", types);
	for (int k = 0; k < argc; k++) {
		if (types[k] == 's' && r->ns < 4)
			snprintf(r->s[r->ns++], sizeof r->s[0], "%s", (const char *)argv[k]);
		else if (types[k] == 'i' && r->ni < 4)
			r->i[r->ni++] = osc_arg_i32(argv[k]); /* liblo does not align arguments */
	}
	if (strcmp(path, "/nsm/server/announce") == 0) {
		lo_address src = lo_message_get_source(m);
		if (s->client)
			lo_address_free(s->client);
		s->client = lo_address_new(lo_address_get_hostname(src), lo_address_get_port(src));
	}
	return 0;
}

static void srv_open(struct srv *s)
{
	memset(s, 0, sizeof *s);
	s->lo = lo_server_new_with_proto(NULL, LO_UDP, NULL);
	assert_non_null(s->lo);
	lo_server_add_method(s->lo, NULL, NULL, on_msg, s);
}

static void srv_close(struct srv *s)
{
	if (s->client)
		lo_address_free(s->client);
	lo_server_free(s->lo);
}

/* The index of the first message at or after from with this path (and first string, unless NULL), waiting
 * up to seconds for it; -1 when none came. */
static int srv_wait(struct srv *s, int from, const char *path, const char *first, double seconds)
{
	double end = tl_now() + seconds;
	for (;;) {
		for (int k = from; k < s->n; k++)
			if (strcmp(s->msg[k].path, path) == 0 && (!first || strcmp(s->msg[k].s[0], first) == 0))
				return k;
		if (tl_now() > end)
			return -1;
		lo_server_recv_noblock(s->lo, 20);
	}
}

static void srv_pump(struct srv *s, double seconds)
{
	double end = tl_now() + seconds;
	while (tl_now() < end)
		lo_server_recv_noblock(s->lo, 20);
}

static int srv_count(struct srv *s, int from, const char *path)
{
	int c = 0;
	for (int k = from; k < s->n; k++)
		c += strcmp(s->msg[k].path, path) == 0;
	return c;
}

/* Start mixdesk with NSM_URL pointing at the server (and a --name the session manager must override). */
static pid_t start_under_nsm(struct srv *s, const struct tl_jackd *j, const char *log)
{
	char url[128];
	snprintf(url, sizeof url, "osc.udp://127.0.0.1:%d/", lo_server_get_port(s->lo));
	setenv("NSM_URL", url, 1);
	const char *argv[] = {tl_mixdesk(), "--server", j->name, "--name", "notthisname", "--osc-port", "0", NULL};
	pid_t pid = tl_spawn(argv, log);
	unsetenv("NSM_URL");
	return pid;
}

/* The announce: its form and arguments, and the pid of the process that sent it. */
static void check_announce(struct srv *s, pid_t pid)
{
	int k = srv_wait(s, 0, "/nsm/server/announce", NULL, 10.0);
	assert_true(k >= 0);
	struct nmsg *a = &s->msg[k];
	printf("announce ,%s \"%s\" \"%s\" \"%s\" %d %d %d (child pid %d)\n", a->types, a->s[0], a->s[1], a->s[2],
	       a->i[0], a->i[1], a->i[2], (int)pid);
	assert_string_equal(a->types, "sssiii");
	assert_string_equal(a->s[0], "mixdesk");
	assert_non_null(strstr(a->s[1], ":dirty:"));
	assert_true(strstr(a->s[2], "mixdesk") != NULL);
	assert_int_equal(a->i[0], 1);
	assert_int_equal(a->i[2], (int)pid);
	assert_non_null(s->client);
}

static void send_open(struct srv *s, const char *path, const char *id)
{
	lo_send_from(s->client, s->lo, LO_TT_IMMEDIATE, "/reply", "ssss", "/nsm/server/announce", "welcome", "test-nsm",
		     ":server-control:");
	lo_send_from(s->client, s->lo, LO_TT_IMMEDIATE, "/nsm/client/open", "sss", path, "Test session", id);
}

static void test_nsm_session(void **state)
{
	(void)state;
	struct tl_jackd j;
	assert_int_equal(tl_jackd_start(&j, 48000, 256), 0);
	char *dir = tl_tmpdir(), sess[600], path[700], file[720], log[700], moved[640];
	snprintf(sess, sizeof sess, "%s/session", dir);
	assert_int_equal(mkdir(sess, 0755), 0);
	snprintf(path, sizeof path, "%s/mixdesk.mdnsm1", sess);
	snprintf(file, sizeof file, "%s.json", path);
	snprintf(log, sizeof log, "%s/mixdesk.log", dir);
	struct srv s;
	srv_open(&s);
	pid_t pid = start_under_nsm(&s, &j, log);
	assert_true(pid > 0);
	check_announce(&s, pid);

	/* nothing in JACK before the open */
	struct tl_jc *probe = tl_jc_open(j.name, "nsmprobe", 0, 0);
	assert_non_null(probe);
	tl_sleep(0.5);
	const char **early = tl_jc_ports(probe, "^(notthisname|mdnsm1|mixdesk):");
	assert_null(early);
	tl_free_ports(early);

	/* open: answered, then clean; the JACK client is the client id; the file exists */
	send_open(&s, path, "mdnsm1");
	int k_open = srv_wait(&s, 0, "/reply", "/nsm/client/open", 20.0);
	if (k_open < 0) {
		char *l = tl_read_file(log);
		fprintf(stderr, "no open reply; log:\n%s\n", l ? l : "(none)");
		free(l);
	}
	assert_true(k_open >= 0);
	printf("open reply ,%s \"%s\" \"%s\"\n", s.msg[k_open].types, s.msg[k_open].s[0], s.msg[k_open].s[1]);
	assert_string_equal(s.msg[k_open].types, "ss");
	int k_clean0 = srv_wait(&s, k_open, "/nsm/client/is_clean", NULL, 5.0);
	assert_true(k_clean0 > k_open);
	assert_true(tl_jc_wait_port(probe, "mdnsm1:master_out_L", 10.0));
	const char **wrong = tl_jc_ports(probe, "^notthisname:");
	assert_null(wrong);
	tl_free_ports(wrong);
	struct stat st;
	assert_int_equal(stat(file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(srv_count(&s, 0, "/nsm/client/is_dirty"), 0);

	/* a change over OSC: is_dirty */
	int oscport = tl_mixdesk_osc_port(log, 10.0);
	assert_true(oscport > 0);
	struct oc *o = oc_open("127.0.0.1", oscport);
	assert_non_null(o);
	oc_sendf(o, "/master/fader", -6.5f);
	int k_dirty = srv_wait(&s, k_clean0, "/nsm/client/is_dirty", NULL, 5.0);
	assert_true(k_dirty > k_clean0);

	/* save: answered, written, then clean */
	lo_send_from(s.client, s.lo, LO_TT_IMMEDIATE, "/nsm/client/save", "");
	int k_save = srv_wait(&s, k_dirty, "/reply", "/nsm/client/save", 10.0);
	assert_true(k_save > k_dirty);
	printf("save reply ,%s \"%s\" \"%s\"\n", s.msg[k_save].types, s.msg[k_save].s[0], s.msg[k_save].s[1]);
	assert_string_equal(s.msg[k_save].types, "ss");
	int k_clean1 = srv_wait(&s, k_save, "/nsm/client/is_clean", NULL, 5.0);
	assert_true(k_clean1 > k_save);
	char *text = tl_read_file(file);
	assert_non_null(text);
	if (!strstr(text, "-6.5"))
		fprintf(stderr, "saved file:\n%s\n", text);
	assert_non_null(strstr(text, "-6.5"));
	free(text);
	/* the state is said once per change: no second is_clean or is_dirty */
	srv_pump(&s, 1.0);
	assert_int_equal(srv_count(&s, k_clean1 + 1, "/nsm/client/is_clean"), 0);
	assert_int_equal(srv_count(&s, k_clean1 + 1, "/nsm/client/is_dirty"), 0);

	/* a save that cannot be written (the session's folder replaced by a file; root ignores permissions) */
	oc_sendf(o, "/master/fader", -3.0f);
	int k_dirty2 = srv_wait(&s, k_clean1, "/nsm/client/is_dirty", NULL, 5.0);
	assert_true(k_dirty2 > k_clean1);
	snprintf(moved, sizeof moved, "%s.moved", sess);
	assert_int_equal(rename(sess, moved), 0);
	FILE *f = fopen(sess, "w");
	assert_non_null(f);
	fclose(f);
	lo_send_from(s.client, s.lo, LO_TT_IMMEDIATE, "/nsm/client/save", "");
	int k_err = srv_wait(&s, k_dirty2, "/error", "/nsm/client/save", 10.0);
	assert_true(k_err > k_dirty2);
	printf("failed save ,%s \"%s\" %d \"%s\"\n", s.msg[k_err].types, s.msg[k_err].s[0], s.msg[k_err].i[0],
	       s.msg[k_err].s[1]);
	assert_string_equal(s.msg[k_err].types, "sis");
	assert_int_equal(s.msg[k_err].i[0], NSM_ERR_GENERAL);
	assert_true(strlen(s.msg[k_err].s[1]) > 10);
	srv_pump(&s, 0.5);
	assert_int_equal(srv_count(&s, k_err, "/nsm/client/is_clean"), 0);
	assert_int_equal(unlink(sess), 0);
	assert_int_equal(rename(moved, sess), 0);

	/* SIGTERM: status 0, nothing asked, nothing saved on the way out */
	tl_jc_close(probe);
	kill(pid, SIGTERM);
	int status = -1;
	assert_int_equal(tl_wait_exit(pid, 10.0, &status), 0);
	assert_int_equal(status, 0);
	text = tl_read_file(file);
	assert_non_null(text);
	assert_non_null(strstr(text, "-6.5")); /* the -3 dB was never saved */
	free(text);
	char *l = tl_read_file(log);
	assert_non_null(l);
	assert_non_null(strstr(l, "terminated"));
	free(l);

	oc_close(o);
	srv_close(&s);
	tl_jackd_stop(&j);
	tl_rmtree(dir);
	free(dir);
}

static void test_nsm_bad_project(void **state)
{
	(void)state;
	struct tl_jackd j;
	assert_int_equal(tl_jackd_start(&j, 48000, 256), 0);
	char *dir = tl_tmpdir(), path[700], file[720], log[700];
	snprintf(path, sizeof path, "%s/mixdesk.mdnsm2", dir);
	snprintf(file, sizeof file, "%s.json", path);
	snprintf(log, sizeof log, "%s/mixdesk.log", dir);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fputs("{ \"version\": 1, \"strips\": [ \n", f);
	fclose(f);
	struct srv s;
	srv_open(&s);
	pid_t pid = start_under_nsm(&s, &j, log);
	check_announce(&s, pid);
	send_open(&s, path, "mdnsm2");
	int k = srv_wait(&s, 0, "/error", "/nsm/client/open", 10.0);
	assert_true(k >= 0);
	printf("broken open ,%s \"%s\" %d \"%s\"\n", s.msg[k].types, s.msg[k].s[0], s.msg[k].i[0], s.msg[k].s[1]);
	assert_string_equal(s.msg[k].types, "sis");
	assert_int_equal(s.msg[k].i[0], NSM_ERR_BAD_PROJECT);
	assert_non_null(strstr(s.msg[k].s[1], "mixdesk.mdnsm2.json"));
	int status = -1;
	assert_int_equal(tl_wait_exit(pid, 10.0, &status), 0);
	assert_int_equal(status, 1);
	assert_int_equal(srv_count(&s, 0, "/reply") - 0, 0);
	srv_close(&s);
	tl_jackd_stop(&j);
	tl_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nsm_session),
		cmocka_unit_test(test_nsm_bad_project),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
