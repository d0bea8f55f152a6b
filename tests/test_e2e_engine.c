/* mixdesk tests: the engine end to end on a real jackd (dummy backend, private server name): the command
 * line, ports and their pretty names, the level and pan of a played tone at the master, clean shutdown on
 * SIGINT, and a console that outlives its server and reconnects when it comes back. */
#include "osclient.h"
#include "testlib.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jack/jack.h>
#include <jack/metadata.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
	struct tl_jackd jackd;
	char *dir;
	char log[512];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	*state = f;
	f->dir = tl_tmpdir();
	snprintf(f->log, sizeof f->log, "%s/mixdesk.log", f->dir);
	return tl_jackd_start(&f->jackd, 48000, 256) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	tl_jackd_stop(&f->jackd);
	tl_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void test_command_line(void **state)
{
	(void)state;
	char out[4096];
	assert_int_equal(tl_run((const char *[]){"--help", NULL}, out, sizeof out), 0);
	assert_non_null(strstr(out, "usage: mixdesk"));
	assert_non_null(strstr(out, "--osc-bind"));
	assert_int_equal(tl_run((const char *[]){"--version", NULL}, out, sizeof out), 0);
	assert_non_null(strstr(out, "mixdesk 0."));
	/* wrong options: one line, exit status 2 */
	assert_int_equal(tl_run((const char *[]){"--frobnicate", NULL}, out, sizeof out), 2);
	assert_non_null(strstr(out, "unknown option '--frobnicate'"));
	assert_null(strchr(out, '\n') == out + strlen(out) - 1 ? NULL : "more than one line");
	assert_int_equal(tl_run((const char *[]){"--channels", "many", NULL}, out, sizeof out), 2);
	assert_non_null(strstr(out, "--channels takes a number"));
	assert_int_equal(tl_run((const char *[]){"--osc-port", "70000", NULL}, out, sizeof out), 2);
	assert_int_equal(tl_run((const char *[]){"--name", NULL}, out, sizeof out), 2);
	assert_non_null(strstr(out, "needs a value"));
	assert_int_equal(tl_run((const char *[]){"a.json", "b.json", NULL}, out, sizeof out), 2);
	/* no server of that name: a clear message and exit status 1 */
	assert_int_equal(tl_run((const char *[]){"--server", "no-such-server-xyz", NULL}, out, sizeof out), 1);
	assert_non_null(strstr(out, "cannot connect to the JACK server 'no-such-server-xyz'"));
}

static void test_ports_level_and_shutdown(void **state)
{
	struct fixture *f = *state;
	pid_t pid = tl_mixdesk_start(f->jackd.name, "mdx", (const char *[]){"--channels", "3", NULL}, f->log);
	assert_true(pid > 0);
	struct tl_jc *jc = tl_jc_open(f->jackd.name, "tester", 1, 2);
	assert_non_null(jc);

	/* the engine's ports, as jack_lsp shows them */
	const char **ports = tl_jc_ports(jc, "^mdx:");
	int n = 0;
	bool seen[5] = {0};
	static const char *const want[5] = {"mdx:Ch1_in", "mdx:Ch2_in", "mdx:Ch3_in", "mdx:master_out_L",
					    "mdx:master_out_R"};
	for (int i = 0; ports && ports[i]; i++, n++)
		for (int k = 0; k < 5; k++)
			seen[k] |= strcmp(ports[i], want[k]) == 0;
	tl_free_ports(ports);
	assert_int_equal(n, 5);
	for (int k = 0; k < 5; k++)
		assert_true(seen[k]);

	/* pretty names for qjackctl (JACK metadata) */
	jack_client_t *probe = jack_client_open("probe2", JackNoStartServer | JackServerName, NULL, f->jackd.name);
	assert_non_null(probe);
	jack_port_t *p = jack_port_by_name(probe, "mdx:Ch1_in");
	char *value = NULL, *type = NULL;
	assert_int_equal(jack_get_property(jack_port_uuid(p), JACK_METADATA_PRETTY_NAME, &value, &type), 0);
	assert_string_equal(value, "Ch1 in");
	jack_free(value);
	jack_free(type);
	jack_client_close(probe);

	/* a -12 dBFS tone into strip 1 leaves each master side at -15 dBFS (default -3 dB pan law) */
	assert_int_equal(tl_jc_connect(jc, tl_jc_out(jc, 0), "mdx:Ch1_in"), 0);
	assert_int_equal(tl_jc_connect(jc, "mdx:master_out_L", tl_jc_in(jc, 0)), 0);
	assert_int_equal(tl_jc_connect(jc, "mdx:master_out_R", tl_jc_in(jc, 1)), 0);
	tl_jc_sine(jc, 0, 1000.0, -12.0);
	tl_sleep(0.3);
	double peak[2], rms[2];
	assert_int_equal(tl_jc_measure_clean(jc, 0.5, peak, rms), 0);
	assert_float_equal(peak[0], -15.0, 0.02);
	assert_float_equal(peak[1], -15.0, 0.02);
	assert_float_equal(rms[0], -15.0 - 3.0103, 0.02);
	assert_float_equal(rms[1], -15.0 - 3.0103, 0.02);
	/* the period size changes under the running engine: the level stays exact */
	static const unsigned sizes[] = {1024, 32, 100};
	for (int k = 0; k < 3; k++) {
		assert_int_equal(tl_jc_set_buffer_size(jc, sizes[k]), 0);
		tl_sleep(0.3);
		assert_int_equal(tl_jc_measure_clean(jc, 0.4, peak, rms), 0);
		assert_float_equal(peak[0], -15.0, 0.02);
		assert_float_equal(rms[1], -15.0 - 3.0103, 0.02);
	}
	/* another strip's input stays silent at the master */
	tl_jc_sine(jc, 0, 1000.0, -300.0);
	tl_sleep(0.2);
	tl_jc_measure(jc, 0.2, peak, rms);
	assert_true(peak[0] < -200.0);

	/* renaming a strip over OSC renames its port; the wiring and the pretty name follow */
	struct oc *o = oc_open("127.0.0.1", tl_mixdesk_osc_port(f->log, 5.0));
	assert_non_null(o);
	oc_sendm(o, "/ch/1/name", ms("Lead Vox"));
	assert_string_equal(oc_query(o, "/ch/1/name")->str[0], "Lead Vox");
	assert_true(tl_jc_wait_port(jc, "mdx:Lead_Vox_in", 5.0));
	assert_false(tl_jc_wait_port(jc, "mdx:Ch1_in", 0.1));
	assert_true(tl_jc_connected(jc, tl_jc_out(jc, 0), "mdx:Lead_Vox_in"));
	probe = jack_client_open("probe3", JackNoStartServer | JackServerName, NULL, f->jackd.name);
	assert_non_null(probe);
	p = jack_port_by_name(probe, "mdx:Lead_Vox_in");
	assert_int_equal(jack_get_property(jack_port_uuid(p), JACK_METADATA_PRETTY_NAME, &value, &type), 0);
	assert_string_equal(value, "Lead Vox in");
	jack_free(value);
	jack_free(type);
	jack_client_close(probe);
	tl_sleep(0.2);
	tl_jc_sine(jc, 0, 1000.0, -12.0);
	tl_sleep(0.3);
	assert_int_equal(tl_jc_measure_clean(jc, 0.3, peak, rms), 0);
	assert_float_equal(peak[0], -15.0, 0.02); /* still playing through the renamed port */
	/* a strip made stereo gets _L/_R inputs; a new bus its send outputs and return inputs. Only the ports
	 * that change get new metadata (2 new ports, 2 properties each, and the old port's taken away): a
	 * console that set every port's again after each change (12 here, 260 with 128 strips) sent every
	 * client a storm of notifications, and JACK2 deadlocked when a client closed during one */
	tl_sleep(0.3);
	unsigned props0 = tl_jc_property_changes(jc);
	oc_sendm(o, "/ch/2/stereo", mi(1));
	assert_true(tl_jc_wait_port(jc, "mdx:Ch2_in_L", 5.0));
	assert_true(tl_jc_wait_port(jc, "mdx:Ch2_in_R", 1.0));
	tl_sleep(0.5);
	unsigned props = tl_jc_property_changes(jc) - props0;
	printf("metadata changes for one strip made stereo: %u\n", props);
	assert_true(props >= 4 && props <= 6);
	oc_sendm(o, "/bus/add", ms("Verb"));
	assert_true(tl_jc_wait_port(jc, "mdx:Verb_out_L", 5.0));
	assert_true(tl_jc_wait_port(jc, "mdx:Verb_return_R", 1.0));
	oc_send0(o, "/bus/1/remove");
	tl_sleep(0.5);
	assert_false(tl_jc_wait_port(jc, "mdx:Verb_out_L", 0.1));
	oc_close(o);

	/* SIGINT: a clean shutdown with a message */
	kill(pid, SIGINT);
	int st = -1;
	assert_int_equal(tl_wait_exit(pid, 10.0, &st), 0);
	assert_int_equal(st, 0);
	char *log = tl_read_file(f->log);
	assert_non_null(strstr(log, "interrupted, shutting down"));
	free(log);
	tl_jc_close(jc);
}

/* A big console (130 ports, each with metadata) shuts down promptly on SIGTERM. */
static void test_big_console_shuts_down(void **state)
{
	struct fixture *f = *state;
	pid_t pid = tl_mixdesk_start(f->jackd.name, "mdbig", (const char *[]){"--channels", "128", NULL}, f->log);
	assert_true(pid > 0);
	double t0 = tl_now();
	kill(pid, SIGTERM);
	int st = -1;
	bool ended = tl_wait_exit(pid, 10.0, &st) == 0;
	if (!ended)
		tl_stop(pid);
	assert_true(ended);
	assert_int_equal(st, 0);
	assert_true(tl_now() - t0 < 5.0);
}

/* The server dies under a running console: the console stays, keeps answering OSC and keeps what is set
 * meanwhile; when a server of the same name comes back (at another rate and period) it is a JACK client
 * again: its ports with their pretty names, the connections made before the kill, the signal path. */
static void test_server_restart(void **state)
{
	struct fixture *f = *state;
	pid_t pid = tl_mixdesk_start(f->jackd.name, "mdk", (const char *[]){"--channels", "2", NULL}, f->log);
	assert_true(pid > 0);
	struct tl_jc *jc = tl_jc_open(f->jackd.name, "tester", 1, 2);
	assert_non_null(jc);
	/* wiring made by the user (as in qjackctl) after the console started: not in any session file */
	assert_int_equal(tl_jc_connect(jc, "system:capture_1", "mdk:Ch1_in"), 0);
	assert_int_equal(tl_jc_connect(jc, "mdk:master_out_L", "system:playback_1"), 0);
	assert_int_equal(tl_jc_connect(jc, "mdk:master_out_R", "system:playback_2"), 0);
	tl_sleep(0.5); /* the console notes the connections */
	tl_jc_close(jc);
	struct oc *o = oc_open("127.0.0.1", tl_mixdesk_osc_port(f->log, 5.0));
	assert_non_null(o);
	oc_send0(o, "/subscribe");
	tl_sleep(0.2);
	/* xruns are said: a console stopped for 100 ms misses its periods; subscribers get /xrun, stderr a line */
	kill(pid, SIGSTOP);
	tl_sleep(0.1);
	kill(pid, SIGCONT);
	struct rmsg *x = oc_wait(o, "/xrun", 5.0);
	assert_non_null(x);
	assert_true(x->num[0] >= 1 && x->num[1] >= 1);
	tl_sleep(0.3);
	char *xlog = tl_read_file(f->log);
	assert_non_null(strstr(xlog, " since start)"));
	free(xlog);
	int from = o->n;

	kill(f->jackd.pid, SIGKILL);
	tl_wait_exit(f->jackd.pid, 5.0, NULL);
	f->jackd.pid = 0;
	/* subscribers hear of it, the console answers, and a fader moved meanwhile is kept */
	struct rmsg *m = oc_wait(o, "/jack", 5.0);
	assert_non_null(m);
	assert_string_equal(m->str[0], "gone");
	assert_int_equal(tl_wait_exit(pid, 0.0, NULL), -1); /* still running */
	struct rmsg st = *oc_query(o, "/status");
	assert_string_equal(st.str[1], "gone");
	oc_sendf(o, "/ch/1/fader", -6.0f);
	assert_float_equal(qf(o, "/ch/1/fader"), -6.0, 1e-6);
	char *log = tl_read_file(f->log);
	assert_non_null(strstr(log, "the JACK server shut down"));
	free(log);

	/* the server comes back, at another rate and period */
	assert_int_equal(tl_jackd_restart(&f->jackd, 44100, 512), 0);
	m = NULL;
	for (double end = tl_now() + 10.0; tl_now() < end && !m; tl_sleep(0.1))
		for (int k = from; k < o->n && !m; k++)
			if (strcmp(o->log[k].path, "/jack") == 0 && strcmp(o->log[k].str[0], "running") == 0)
				m = &o->log[k];
	if (!m)
		oc_wait(o, "/jack", 0.5);
	for (int k = from; k < o->n && !m; k++)
		if (strcmp(o->log[k].path, "/jack") == 0 && strcmp(o->log[k].str[0], "running") == 0)
			m = &o->log[k];
	assert_non_null(m);
	st = *oc_query(o, "/status");
	assert_string_equal(st.str[1], "running");
	assert_int_equal((int)st.num[8], 44100);
	assert_int_equal((int)st.num[10], 512);
	jc = tl_jc_open(f->jackd.name, "tester", 1, 2);
	assert_non_null(jc);
	assert_true(tl_jc_wait_port(jc, "mdk:Ch1_in", 5.0));
	assert_true(tl_jc_wait_port(jc, "mdk:Ch2_in", 1.0));
	assert_true(tl_jc_wait_port(jc, "mdk:master_out_R", 1.0));
	/* the pretty names, set again: the new server numbers the ports afresh (in another order than at the
	 * start, where the master's came first), and the metadata of the killed server's ports is still in
	 * JACK's database under those numbers. (JACK2 keeps one metadata database per user, shared by every
	 * server, keyed by port numbers each server hands out from the same start: two servers with clients
	 * running at once overwrite each other's pretty names. The suite runs one server at a time.) */
	jack_client_t *probe = jack_client_open("probe4", JackNoStartServer | JackServerName, NULL, f->jackd.name);
	assert_non_null(probe);
	static const char *const pretty[][2] = {{"mdk:Ch1_in", "Ch1 in"},
						{"mdk:Ch2_in", "Ch2 in"},
						{"mdk:master_out_L", "master out L"},
						{"mdk:master_out_R", "master out R"}};
	for (int k = 0; k < 4; k++) {
		char *value = NULL, *type = NULL;
		assert_int_equal(jack_get_property(jack_port_uuid(jack_port_by_name(probe, pretty[k][0])),
						   JACK_METADATA_PRETTY_NAME, &value, &type),
				 0);
		assert_string_equal(value, pretty[k][1]);
		jack_free(value);
		jack_free(type);
	}
	jack_client_close(probe);
	assert_true(tl_jc_connected(jc, "system:capture_1", "mdk:Ch1_in"));
	assert_true(tl_jc_connected(jc, "mdk:master_out_L", "system:playback_1"));
	assert_true(tl_jc_connected(jc, "mdk:master_out_R", "system:playback_2"));
	/* the signal path, with the fader set while there was no server: -12 dBFS - 6 dB - 3 dB pan law */
	assert_int_equal(tl_jc_connect(jc, tl_jc_out(jc, 0), "mdk:Ch1_in"), 0);
	assert_int_equal(tl_jc_connect(jc, "mdk:master_out_L", tl_jc_in(jc, 0)), 0);
	assert_int_equal(tl_jc_connect(jc, "mdk:master_out_R", tl_jc_in(jc, 1)), 0);
	tl_jc_sine(jc, 0, 1000.0, -12.0);
	tl_sleep(0.3);
	double peak[2], rms[2];
	assert_int_equal(tl_jc_measure_clean(jc, 0.5, peak, rms), 0);
	assert_float_equal(peak[0], -21.0, 0.02);
	assert_float_equal(peak[1], -21.0, 0.02);
	oc_close(o);
	tl_jc_close(jc);
	kill(pid, SIGTERM);
	int code = -1;
	assert_int_equal(tl_wait_exit(pid, 10.0, &code), 0);
	assert_int_equal(code, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_line),
		cmocka_unit_test_setup_teardown(test_ports_level_and_shutdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_console_shuts_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_restart, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
