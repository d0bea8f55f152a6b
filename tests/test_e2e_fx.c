/* mixdesk tests: the buses' built-in effects in the live console, on a private dummy jackd over real OSC: the
 * effect's type and parameters over OSC (set, query, feedback, errors), a type change under a running tone
 * without a click, and the delay's tempo sync following a JACK timebase master's BBT tempo (and the session's
 * tempo without one). */
#include "osclient.h"
#include "testlib.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jack/jack.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RATE 48000
#define PERIOD 256
#define REC_MAX (RATE * 4)

/* a JACK client that may be the timebase master (BBT at `bpm`), plays an impulse or a sine, and records */
struct tc {
	jack_client_t *client;
	jack_port_t *out, *in;
	_Atomic float bpm;
	atomic_int impulse; /* 1: the next period starts with a 0.5 impulse */
	_Atomic float sine; /* amplitude of a 1 kHz sine, 0 for none */
	double phase;
	float rec[REC_MAX];
	atomic_size_t pos, want;
	atomic_uint xruns;
};

static int tc_xrun(void *arg)
{
	atomic_fetch_add(&((struct tc *)arg)->xruns, 1);
	return 0;
}

static void tc_timebase(jack_transport_state_t st, jack_nframes_t n, jack_position_t *pos, int new_pos, void *arg)
{
	struct tc *t = arg;
	(void)st, (void)n, (void)new_pos;
	pos->valid |= JackPositionBBT;
	pos->beats_per_bar = 4;
	pos->beat_type = 4;
	pos->ticks_per_beat = 1920;
	pos->beats_per_minute = atomic_load(&t->bpm);
	double beats = (double)pos->frame / RATE * pos->beats_per_minute / 60.0;
	pos->bar = (int32_t)(beats / 4) + 1;
	pos->beat = (int32_t)fmod(beats, 4) + 1;
	pos->tick = (int32_t)(fmod(beats, 1) * 1920);
	pos->bar_start_tick = 0;
}

static int tc_process(jack_nframes_t n, void *arg)
{
	struct tc *t = arg;
	float *o = jack_port_get_buffer(t->out, n);
	const float *in = jack_port_get_buffer(t->in, n);
	float a = atomic_load_explicit(&t->sine, memory_order_relaxed);
	for (jack_nframes_t i = 0; i < n; i++) {
		o[i] = (float)(a * sin(t->phase));
		t->phase = fmod(t->phase + 2 * M_PI * 1000.0 / RATE, 2 * M_PI);
	}
	if (atomic_exchange(&t->impulse, 0))
		o[0] += 0.5f;
	size_t pos = atomic_load(&t->pos), want = atomic_load(&t->want);
	if (pos < want) {
		size_t k = want - pos < n ? want - pos : n;
		memcpy(t->rec + pos, in, k * sizeof(float));
		atomic_store(&t->pos, pos + k);
	}
	return 0;
}

static struct tc *tc_open(const char *server)
{
	struct tc *t = calloc(1, sizeof *t);
	t->client = jack_client_open("fxtest", JackNoStartServer | JackServerName, NULL, server);
	assert_non_null(t->client);
	t->out = jack_port_register(t->client, "out", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
	t->in = jack_port_register(t->client, "in", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
	jack_set_process_callback(t->client, tc_process, t);
	jack_set_xrun_callback(t->client, tc_xrun, t);
	assert_int_equal(jack_activate(t->client), 0);
	return t;
}

static void tc_close(struct tc *t)
{
	jack_deactivate(t->client);
	jack_client_close(t->client);
	free(t);
}

static size_t tc_record(struct tc *t, size_t n, bool impulse)
{
	atomic_store(&t->want, 0);
	atomic_store(&t->pos, 0);
	atomic_store(&t->want, n);
	if (impulse)
		atomic_store(&t->impulse, 1);
	double end = tl_now() + 10.0;
	while (atomic_load(&t->pos) < n && tl_now() < end)
		tl_sleep(0.01);
	return atomic_load(&t->pos);
}

struct live {
	struct tl_jackd jackd;
	char *dir, log[600], sess[600];
	pid_t md;
	int port;
	struct oc *o;
	struct tc *t;
};

/* a strip "Click" fed by the test client, sending post-fader at 0 dB to bus "Fx" with the effect `fx`;
 * the strip's own level at the master given by fader (dB) */
static void live_start(struct live *L, const char *fx, double fader)
{
	L->dir = tl_tmpdir();
	assert_int_equal(tl_jackd_start(&L->jackd, RATE, PERIOD), 0);
	snprintf(L->sess, sizeof L->sess, "%s/s.json", L->dir);
	snprintf(L->log, sizeof L->log, "%s/mixdesk.log", L->dir);
	FILE *f = fopen(L->sess, "w");
	assert_non_null(f);
	fprintf(f,
		"{\"format\":\"mixdesk-session\",\"version\":1,\"sample_rate\":48000,\"tempo\":120,"
		"\"strips\":[{\"name\":\"Click\",\"fader\":%g,\"sends\":[{\"bus\":\"Fx\",\"level\":0.0,\"pre\":true}]}],"
		"\"buses\":[{\"name\":\"Fx\",\"fx\":%s}]}",
		fader, fx);
	fclose(f);
	L->md = tl_mixdesk_start(L->jackd.name, "mdfx", (const char *[]){L->sess, NULL}, L->log);
	assert_true(L->md > 0);
	L->port = tl_mixdesk_osc_port(L->log, 10.0);
	assert_true(L->port > 0);
	L->o = oc_open("127.0.0.1", L->port);
	assert_non_null(L->o);
	L->t = tc_open(L->jackd.name);
	assert_int_equal(jack_connect(L->t->client, "fxtest:out", "mdfx:Click_in"), 0);
	assert_int_equal(jack_connect(L->t->client, "mdfx:master_out_L", "fxtest:in"), 0);
	tl_sleep(0.3);
}

static void live_stop(struct live *L)
{
	tc_close(L->t);
	oc_close(L->o);
	assert_int_equal(tl_stop(L->md), 0);
	tl_jackd_stop(&L->jackd);
	tl_rmtree(L->dir);
	free(L->dir);
}

/* one take of echo_after: 1 s holds the longest echo measured here (30000 frames) and the path's latency;
 * a short take is what a loaded machine, with an xrun every few seconds, can still record whole */
#define ECHO_TAKE RATE
#define ECHO_TAKES (3 * TL_TAKES)

/* the frames between the impulse (the first sample above half of 0.5) and its echo (the next one), in a
 * recording that an xrun did not touch (taken again, at most ECHO_TAKES times) */
static long echo_after(struct tc *t)
{
	for (int take = 0; take < ECHO_TAKES; take++) {
		unsigned x0 = atomic_load(&t->xruns);
		size_t got = tc_record(t, ECHO_TAKE, true);
		tl_sleep(0.05);
		unsigned x = atomic_load(&t->xruns) - x0;
		if (x || got < ECHO_TAKE) {
			fprintf(stderr, "echo_after: %u xruns in take %d (%zu of %d frames), taking it again\n", x,
				take + 1, got, ECHO_TAKE);
			tl_sleep(0.3);
			continue;
		}
		long first = -1;
		for (size_t i = 0; i < got; i++)
			if (fabsf(t->rec[i]) > 0.25f) {
				if (first < 0)
					first = (long)i;
				else if ((long)i > first + 100)
					return (long)i - first;
			}
		return -1;
	}
	return -2;
}

static void test_tempo_follows_timebase(void **state)
{
	(void)state;
	struct live L;
	/* 1/4 at the session's 120 BPM is 500 ms; the strip at 0 dB carries the impulse itself to the master */
	live_start(&L, "{\"type\":\"delay\",\"sync\":\"1/4\",\"feedback\":0}", 0.0);
	long d = echo_after(L.t);
	printf("no timebase master: 1/4 echo after %ld frames (session tempo 120 BPM: 24000)\n", d);
	assert_int_equal(d, 24000);
	/* a timebase master at 100 BPM: 600 ms */
	atomic_store(&L.t->bpm, 100.0f);
	assert_int_equal(jack_set_timebase_callback(L.t->client, 0, tc_timebase, L.t), 0);
	jack_transport_start(L.t->client);
	tl_sleep(3.0); /* the delay glides to the new time (at most a third of a sample per sample) */
	d = echo_after(L.t);
	printf("timebase master at 100 BPM: 1/4 echo after %ld frames (want 28800)\n", d);
	assert_int_equal(d, 28800);
	/* the master's tempo moves: 150 BPM, 400 ms */
	atomic_store(&L.t->bpm, 150.0f);
	tl_sleep(3.0);
	d = echo_after(L.t);
	printf("timebase master at 150 BPM: 1/4 echo after %ld frames (want 19200)\n", d);
	assert_int_equal(d, 19200);
	/* the session's tempo over OSC counts once no master gives one */
	jack_release_timebase(L.t->client);
	jack_transport_stop(L.t->client);
	oc_sendf(L.o, "/master/tempo", 96.0f);
	assert_float_equal(qf(L.o, "/master/tempo"), 96.0, 1e-6);
	tl_sleep(3.0);
	d = echo_after(L.t);
	printf("timebase released, session tempo 96 BPM over OSC: 1/4 echo after %ld frames (want 30000)\n", d);
	assert_int_equal(d, 30000);
	live_stop(&L);
}

/* the largest sample step of x[from, to) */
static double max_step(const float *x, size_t from, size_t to)
{
	double m = 0;
	for (size_t i = from + 1; i < to; i++)
		m = fmax(m, fabs((double)x[i] - x[i - 1]));
	return m;
}

static void test_osc_and_type_change(void **state)
{
	(void)state;
	struct live L;
	/* the strip silent at the master: what the master carries is the bus */
	live_start(&L, "{\"type\":\"none\"}", -120.0);
	struct oc *o = L.o, *watcher = oc_open("127.0.0.1", L.port);
	assert_non_null(watcher);
	oc_send0(watcher, "/subscribe"); /* a second client sees the changes the first makes */
	tl_sleep(0.2);
	/* type: string set and query; a wrong name is an error naming the choices */
	struct rmsg *r = oc_query(o, "/bus/1/fx/type");
	assert_non_null(r);
	assert_string_equal(r->str[0], "none");
	oc_sends(o, "/bus/1/fx/type", "plate");
	expect_error(o, "/bus/1/fx/type", "reverb");
	/* parameters: clamped to their ranges, fed back to subscribers */
	set_exact(o, "/bus/1/fx/decay", mf(3.5f), "f", 3.5);
	set_corrected(o, "/bus/1/fx/decay", mf(50.0f), "f", 10.0);
	set_exact(o, "/bus/1/fx/time_l", mf(250.0f), "f", 250.0);
	set_corrected(o, "/bus/1/fx/feedback", mf(120.0f), "f", 95.0);
	oc_sendf(o, "/bus/1/fx/decay", 1.5f);
	struct rmsg *fb = NULL;
	for (double end = tl_now() + 3.0; tl_now() < end;) {
		fb = oc_wait(watcher, "/bus/1/fx/decay", 0.5);
		if (fb && fabs(fb->num[0] - 1.5) < 1e-6)
			break;
	}
	assert_non_null(fb);
	assert_float_equal(fb->num[0], 1.5, 1e-6);
	oc_close(watcher);
	oc_sendf(o, "/bus/1/fx/predelay", NAN);
	expect_error(o, "/bus/1/fx/predelay", "finite");

	/* type changes under a running 1 kHz tone: none -> reverb -> delay -> none, each crossfaded */
	atomic_store(&L.t->sine, 0.25f);
	oc_sendf(o, "/bus/1/fx/feedback", 30.0f);
	tl_sleep(0.5);
	static const char *const types[] = {"reverb", "delay", "none"};
	for (int k = 0; k < 3; k++) {
		int take = 0;
		for (; take < TL_TAKES; take++) {
			unsigned x0 = atomic_load(&L.t->xruns);
			/* record 1.5 s, the change at 0.5 s into it */
			atomic_store(&L.t->want, 0);
			atomic_store(&L.t->pos, 0);
			atomic_store(&L.t->want, (size_t)(1.5 * RATE));
			tl_sleep(0.5);
			size_t at = atomic_load(&L.t->pos);
			oc_sends(o, "/bus/1/fx/type", types[k]);
			double end = tl_now() + 5.0;
			while (atomic_load(&L.t->pos) < (size_t)(1.5 * RATE) && tl_now() < end)
				tl_sleep(0.01);
			tl_sleep(0.05);
			r = oc_query(o, "/bus/1/fx/type");
			assert_non_null(r);
			assert_string_equal(r->str[0], types[k]);
			if (atomic_load(&L.t->xruns) != x0) {
				fprintf(stderr, "type change: an xrun in take %d, again\n", take + 1);
				if (k < 2) /* back to where this change starts */
					oc_sends(o, "/bus/1/fx/type", k == 0 ? "none" : "reverb");
				tl_sleep(1.0);
				continue;
			}
			/* steady before the change, the change (from the message's period to 0.3 s after), steady
			 * after: the change's largest step is no larger than the larger steady one (a click would be) */
			size_t n = (size_t)(1.5 * RATE);
			double before = max_step(L.t->rec, 0, at), during = max_step(L.t->rec, at, at + RATE * 3 / 10),
			       after = max_step(L.t->rec, n - RATE / 4, n);
			printf("type -> %s: largest sample step before %.5f, over the change %.5f, after %.5f\n",
			       types[k], before, during, after);
			assert_true(during <= 1.2 * fmax(before, after) + 1e-4);
			break;
		}
		assert_true(take < TL_TAKES);
	}
	live_stop(&L);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_osc_and_type_change),
		cmocka_unit_test(test_tempo_follows_timebase),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
