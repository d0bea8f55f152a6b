/* mixdesk tests: shared helpers (see testlib.h). */
#include "testlib.h"
#include "engine/model/md.h"

#include <jack/jack.h>
#include <jack/metadata.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *tl_top(void)
{
	const char *t = getenv("MIXDESK_TOP");
	return t ? t : ".";
}

const char *tl_mixdesk(void)
{
	const char *t = getenv("MIXDESK_BIN");
	return t ? t : "build/mixdesk";
}

const char *tl_build(void)
{
	const char *t = getenv("MIXDESK_BUILD");
	return t ? t : "build";
}

char *tl_tmpdir(void)
{
	char tmpl[] = "/tmp/mixdesk-test-XXXXXX";
	char *d = mkdtemp(tmpl);
	return d ? strdup(d) : NULL;
}

void tl_rmtree(const char *dir)
{
	if (!dir || strncmp(dir, "/tmp/mixdesk-test-", 18) != 0)
		return;
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

double tl_now(void)
{
	return md_now_s();
}

void tl_sleep(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

pid_t tl_spawn(const char *const argv[], const char *logfile)
{
	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		/* a test that crashes must not leave its jackd or engine running: they get SIGTERM when it dies */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		if (logfile) {
			int fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND, 0644);
			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
				close(fd);
			}
		}
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

int tl_wait_exit(pid_t pid, double timeout, int *status)
{
	double end = tl_now() + timeout;
	for (;;) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid) {
			if (status)
				*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			return 0;
		}
		if (r < 0 || tl_now() > end)
			return -1;
		tl_sleep(0.01);
	}
}

int tl_stop(pid_t pid)
{
	int st = -1;
	if (pid <= 0)
		return -1;
	kill(pid, SIGTERM);
	if (tl_wait_exit(pid, 5.0, &st) != 0) {
		kill(pid, SIGKILL);
		tl_wait_exit(pid, 5.0, &st);
	}
	return st;
}

int tl_run(const char *const args[], char *out, size_t outlen)
{
	char *dir = tl_tmpdir();
	char log[512];
	snprintf(log, sizeof log, "%s/out.log", dir);
	const char *argv[32];
	int n = 0;
	argv[n++] = tl_mixdesk();
	for (int i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid_t pid = tl_spawn(argv, log);
	int st = -1;
	if (tl_wait_exit(pid, 30.0, &st) != 0)
		st = tl_stop(pid);
	char *text = tl_read_file(log);
	snprintf(out, outlen, "%s", text ? text : "");
	free(text);
	tl_rmtree(dir);
	free(dir);
	return st;
}

char *tl_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	}
	if (s)
		s[n] = '\0';
	fclose(f);
	return s;
}

static void silent_error(const char *msg)
{
	(void)msg;
}

/* JACK2's shared registry holds at most 8 servers and reclaims the entry of a dead server (one that was
 * killed) only when a server of the same name starts again. So test servers take their names from a small
 * pool, mdtest-0 .. mdtest-7, skipping names that a live jackd (another test program's) holds: such a
 * server is never contacted, since it may be busy or hung. */
#define TL_SERVER_POOL 8

/* Whether a running jackd process was started with -n name. */
static bool name_in_use(const char *name)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool used = false;
	while (d && !used && (e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		char path[300], buf[1024];
		snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
		FILE *f = fopen(path, "rb");
		if (!f)
			continue;
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[n] = '\0';
		if (!strstr(buf, "jackd")) /* argv[0] */
			continue;
		for (size_t i = 0; i + 1 < n; i++)
			if (buf[i] == '\0' && strcmp(buf + i + 1, "-n") == 0) {
				size_t k = i + 1 + 3;
				if (k < n && strcmp(buf + k, name) == 0)
					used = true;
			}
	}
	if (d)
		closedir(d);
	return used;
}

/* Test servers run realtime (SCHED_FIFO, as a studio's jackd -R does) where the system allows it: as root
 * or with an RLIMIT_RTPRIO, as CI and the test machines have. Without it a dummy server's periods are
 * scheduled like any process and come late when the machine is busy: xruns that measure the machine, not
 * mixdesk. MIXDESK_TEST_RT=0 forces --no-realtime, =1 forces -R. */
bool tl_realtime_allowed(void)
{
	const char *env = getenv("MIXDESK_TEST_RT");
	if (env && *env)
		return strcmp(env, "0") != 0;
	struct rlimit rl;
	return geteuid() == 0 || (getrlimit(RLIMIT_RTPRIO, &rl) == 0 && rl.rlim_cur > 0);
}

static bool try_jackd(struct tl_jackd *j, const char *r, const char *p)
{
	if (name_in_use(j->name))
		return false;
	const char *rt = tl_realtime_allowed() ? "--realtime" : "--no-realtime";
	const char *argv[] = {"jackd", rt, "-n", j->name, "-d", "dummy", "-r", r, "-p", p, NULL};
	char log[128];
	snprintf(log, sizeof log, "/tmp/%s.log", j->name);
	unlink(log);
	j->pid = tl_spawn(argv, log);
	if (j->pid <= 0)
		return false;
	double end = tl_now() + 20.0;
	while (tl_now() < end) {
		if (tl_wait_exit(j->pid, 0.0, NULL) == 0) { /* the name is taken (or jackd failed) */
			j->pid = 0;
			return false;
		}
		jack_status_t st;
		jack_client_t *c = jack_client_open("probe", JackNoStartServer | JackServerName, &st, j->name);
		if (c) {
			jack_client_close(c);
			/* the client may have reached another program's server of this name: ours must be alive */
			tl_sleep(0.3);
			if (tl_wait_exit(j->pid, 0.0, NULL) == 0) {
				j->pid = 0;
				return false;
			}
			return true;
		}
		tl_sleep(0.05);
	}
	tl_jackd_stop(j);
	return false;
}

int tl_jackd_start(struct tl_jackd *j, unsigned rate, unsigned period)
{
	char r[16], p[16];
	snprintf(r, sizeof r, "%u", rate);
	snprintf(p, sizeof p, "%u", period);
	jack_set_error_function(silent_error);
	jack_set_info_function(silent_error);
	for (int round = 0; round < 3; round++)
		for (int slot = 0; slot < TL_SERVER_POOL; slot++) {
			snprintf(j->name, sizeof j->name, "mdtest-%d", slot);
			if (try_jackd(j, r, p))
				return 0;
		}
	fprintf(stderr, "tl_jackd_start: no jackd could start (see /tmp/mdtest-*.log)\n");
	return -1;
}

int tl_jackd_restart(struct tl_jackd *j, unsigned rate, unsigned period)
{
	char r[16], p[16];
	snprintf(r, sizeof r, "%u", rate);
	snprintf(p, sizeof p, "%u", period);
	tl_jackd_stop(j);
	/* a killed server's process may still be in the kernel's hands for a moment: its name is taken
	 * until then */
	for (double end = tl_now() + 10.0; tl_now() < end; tl_sleep(0.2))
		if (try_jackd(j, r, p))
			return 0;
	fprintf(stderr, "tl_jackd_restart: %s could not start again (see /tmp/%s.log)\n", j->name, j->name);
	return -1;
}

void tl_jackd_stop(struct tl_jackd *j)
{
	if (j->pid > 0)
		tl_stop(j->pid);
	j->pid = 0;
}

/* ---- the JACK test client ---- */

#define TL_MAX_PORTS 8
#define TL_REC_SECONDS 8
#define TL_MARKS 256

struct tl_jc {
	jack_client_t *client;
	int nout, nin;
	jack_port_t *out[TL_MAX_PORTS], *in[TL_MAX_PORTS];
	char out_name[TL_MAX_PORTS][128], in_name[TL_MAX_PORTS][128];
	_Atomic double freq[TL_MAX_PORTS], amp[TL_MAX_PORTS], dc[TL_MAX_PORTS];
	double phase[TL_MAX_PORTS];
	float *rec[TL_MAX_PORTS];
	int64_t *rec_tframe; /* transport frame of each recorded sample, -1 while stopped */
	size_t rec_cap;
	atomic_size_t rec_pos, rec_want; /* recording runs while rec_pos < rec_want */
	atomic_uint xruns;
	atomic_size_t marks[TL_MARKS]; /* rec_pos at each xrun notice of the current recording */
	atomic_uint nmarks;
	atomic_int policy; /* the process thread's scheduling policy, -1 until it ran */
	atomic_uint property_changes;
	unsigned rate;
};

static int jc_xrun(void *arg)
{
	struct tl_jc *c = arg;
	atomic_fetch_add(&c->xruns, 1);
	unsigned k = atomic_fetch_add(&c->nmarks, 1);
	if (k < TL_MARKS)
		atomic_store(&c->marks[k], atomic_load(&c->rec_pos));
	return 0;
}

static void jc_property(jack_uuid_t subject, const char *key, jack_property_change_t change, void *arg)
{
	struct tl_jc *c = arg;
	(void)subject, (void)key, (void)change;
	atomic_fetch_add(&c->property_changes, 1);
}

unsigned tl_jc_property_changes(struct tl_jc *c)
{
	return atomic_load(&c->property_changes);
}

unsigned tl_jc_xruns(struct tl_jc *c)
{
	return atomic_load(&c->xruns);
}

static int jc_process(jack_nframes_t n, void *arg)
{
	struct tl_jc *c = arg;
	if (atomic_load_explicit(&c->policy, memory_order_relaxed) < 0) {
		struct sched_param sp;
		int pol = SCHED_OTHER;
		pthread_getschedparam(pthread_self(), &pol, &sp);
		atomic_store(&c->policy, pol);
	}
	for (int i = 0; i < c->nout; i++) {
		float *o = jack_port_get_buffer(c->out[i], n);
		double f = atomic_load(&c->freq[i]), a = atomic_load(&c->amp[i]);
		double inc = 2.0 * M_PI * f / c->rate;
		for (jack_nframes_t k = 0; k < n; k++) {
			o[k] = (float)(a * sin(c->phase[i]) + atomic_load(&c->dc[i]));
			c->phase[i] += inc;
			if (c->phase[i] > 2.0 * M_PI)
				c->phase[i] -= 2.0 * M_PI;
		}
	}
	size_t pos = atomic_load(&c->rec_pos), want = atomic_load(&c->rec_want);
	if (pos < want) {
		size_t k = want - pos < n ? want - pos : n;
		jack_position_t tp;
		bool rolling = jack_transport_query(c->client, &tp) == JackTransportRolling;
		for (size_t i = 0; i < k; i++)
			c->rec_tframe[pos + i] = rolling ? (int64_t)tp.frame + (int64_t)i : -1;
		for (int i = 0; i < c->nin; i++) {
			float *in = jack_port_get_buffer(c->in[i], n);
			memcpy(c->rec[i] + pos, in, k * sizeof(float));
		}
		atomic_store(&c->rec_pos, pos + k);
	}
	return 0;
}

struct tl_jc *tl_jc_open(const char *server, const char *name, int nout, int nin)
{
	struct tl_jc *c = calloc(1, sizeof *c);
	jack_status_t st;
	c->client = jack_client_open(name, JackNoStartServer | JackServerName, &st, server);
	if (!c->client) {
		free(c);
		return NULL;
	}
	c->rate = jack_get_sample_rate(c->client);
	atomic_init(&c->policy, -1);
	c->nout = nout;
	c->nin = nin;
	c->rec_cap = (size_t)c->rate * TL_REC_SECONDS;
	c->rec_tframe = calloc(c->rec_cap, sizeof *c->rec_tframe);
	for (int i = 0; i < nout; i++) {
		char pn[32];
		snprintf(pn, sizeof pn, "out_%d", i + 1);
		c->out[i] = jack_port_register(c->client, pn, JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
		snprintf(c->out_name[i], sizeof c->out_name[i], "%s", jack_port_name(c->out[i]));
	}
	for (int i = 0; i < nin; i++) {
		char pn[32];
		snprintf(pn, sizeof pn, "in_%d", i + 1);
		c->in[i] = jack_port_register(c->client, pn, JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
		snprintf(c->in_name[i], sizeof c->in_name[i], "%s", jack_port_name(c->in[i]));
		c->rec[i] = calloc(c->rec_cap, sizeof(float));
	}
	jack_set_process_callback(c->client, jc_process, c);
	jack_set_xrun_callback(c->client, jc_xrun, c);
	jack_set_property_change_callback(c->client, jc_property, c);
	jack_activate(c->client);
	return c;
}

void tl_jc_close(struct tl_jc *c)
{
	if (!c)
		return;
	jack_deactivate(c->client);
	jack_client_close(c->client);
	for (int i = 0; i < c->nin; i++)
		free(c->rec[i]);
	free(c->rec_tframe);
	free(c);
}

const char *tl_jc_out(struct tl_jc *c, int i)
{
	return c->out_name[i];
}

const char *tl_jc_in(struct tl_jc *c, int i)
{
	return c->in_name[i];
}

int tl_jc_set_buffer_size(struct tl_jc *c, unsigned frames)
{
	return jack_set_buffer_size(c->client, frames);
}

unsigned tl_jc_rate(struct tl_jc *c)
{
	return c->rate;
}

void tl_jc_sine(struct tl_jc *c, int i, double freq, double amp_db)
{
	atomic_store(&c->freq[i], freq);
	atomic_store(&c->amp[i], amp_db <= -200 ? 0.0 : pow(10.0, amp_db / 20.0));
}

int tl_jc_connect(struct tl_jc *c, const char *src, const char *dst)
{
	int r = jack_connect(c->client, src, dst);
	return r == EEXIST ? 0 : r;
}

bool tl_jc_wait_port(struct tl_jc *c, const char *port, double timeout)
{
	double end = tl_now() + timeout;
	do {
		if (jack_port_by_name(c->client, port))
			return true;
		tl_sleep(0.02);
	} while (tl_now() < end);
	return false;
}

static void record(struct tl_jc *c, size_t n)
{
	if (n > c->rec_cap)
		n = c->rec_cap;
	atomic_store(&c->rec_want, 0);
	atomic_store(&c->rec_pos, 0);
	atomic_store(&c->nmarks, 0);
	atomic_store(&c->rec_want, n);
	double end = tl_now() + 3.0 + (double)n / c->rate * 4.0;
	while (atomic_load(&c->rec_pos) < n && tl_now() < end)
		tl_sleep(0.01);
}

void tl_jc_measure(struct tl_jc *c, double seconds, double *peak_db, double *rms_db)
{
	size_t n = (size_t)(seconds * c->rate);
	record(c, n);
	size_t got = atomic_load(&c->rec_pos);
	for (int i = 0; i < c->nin; i++) {
		if (peak_db)
			peak_db[i] = tl_peak_db(c->rec[i], got);
		if (rms_db)
			rms_db[i] = tl_rms_db(c->rec[i], got);
	}
}

unsigned tl_jc_measure_clean(struct tl_jc *c, double seconds, double *peak_db, double *rms_db)
{
	/* In chunks of 0.1 s (a whole number of periods of the tones the tests play): a chunk that an xrun
	 * notice touches (from its start to 50 ms after its end: the notice comes on another thread) is left
	 * out, the others add up until `seconds` of clean signal are in. Xruns on a busy VM come in bursts, and
	 * under ASan on a shared machine they can come every few periods for seconds on end: whole takes of
	 * the measurement (as before) were all spoiled once in CI. */
	const size_t chunk = c->rate / 10, want = (size_t)(seconds * c->rate);
	double sum2[TL_MAX_PORTS] = {0}, peak[TL_MAX_PORTS] = {0};
	size_t kept = 0;
	unsigned spoiled = 0, chunks = 0;
	double end = tl_now() + 30.0 + 4.0 * seconds;
	while (kept < want && tl_now() < end) {
		unsigned before = tl_jc_xruns(c);
		record(c, chunk);
		tl_sleep(0.05);
		size_t got = atomic_load(&c->rec_pos);
		chunks++;
		if (tl_jc_xruns(c) != before || got < chunk) {
			spoiled++;
			continue;
		}
		for (int i = 0; i < c->nin; i++)
			for (size_t k = 0; k < got; k++) {
				double v = c->rec[i][k];
				sum2[i] += v * v;
				peak[i] = fabs(v) > peak[i] ? fabs(v) : peak[i];
			}
		kept += got;
	}
	for (int i = 0; i < c->nin; i++) {
		if (peak_db)
			peak_db[i] = peak[i] > 0 ? 20.0 * log10(peak[i]) : -999.0;
		if (rms_db)
			rms_db[i] = kept && sum2[i] > 0 ? 10.0 * log10(sum2[i] / (double)kept) : -999.0;
	}
	if (spoiled)
		fprintf(stderr, "tl_jc_measure_clean: %u of %u chunks of 0.1 s had an xrun and were left out%s\n",
			spoiled, chunks, kept < want ? "; too few clean ones" : "");
	return kept < want ? spoiled : 0;
}

size_t tl_jc_record(struct tl_jc *c, int i, float *out, size_t n)
{
	record(c, n);
	size_t got = atomic_load(&c->rec_pos);
	memcpy(out, c->rec[i], got * sizeof(float));
	return got;
}

void tl_jc_dc(struct tl_jc *c, int i, double value)
{
	atomic_store(&c->dc[i], value);
}

size_t tl_jc_record_timed(struct tl_jc *c, int i, float *out, int64_t *tframe, size_t n)
{
	record(c, n);
	size_t got = atomic_load(&c->rec_pos);
	memcpy(out, c->rec[i], got * sizeof(float));
	memcpy(tframe, c->rec_tframe, got * sizeof *tframe);
	return got;
}

const char *tl_jc_scheduling(struct tl_jc *c)
{
	for (int i = 0; i < 100 && atomic_load(&c->policy) < 0; i++)
		tl_sleep(0.01);
	int p = atomic_load(&c->policy);
	return p == SCHED_FIFO ? "realtime (SCHED_FIFO)"
	       : p == SCHED_RR ? "realtime (SCHED_RR)"
	       : p < 0         ? "unknown"
			       : "normal";
}

size_t tl_jc_xrun_marks(struct tl_jc *c, size_t *pos, size_t max)
{
	size_t n = atomic_load(&c->nmarks);
	if (n > TL_MARKS)
		n = TL_MARKS;
	for (size_t i = 0; i < n && i < max; i++)
		pos[i] = atomic_load(&c->marks[i]);
	return atomic_load(&c->nmarks);
}

void tl_jc_transport(struct tl_jc *c, bool roll, int64_t locate)
{
	if (locate >= 0)
		jack_transport_locate(c->client, (jack_nframes_t)locate);
	if (roll)
		jack_transport_start(c->client);
	else
		jack_transport_stop(c->client);
}

const char **tl_jc_ports(struct tl_jc *c, const char *pattern)
{
	return jack_get_ports(c->client, pattern, NULL, 0);
}

void tl_free_ports(const char **ports)
{
	jack_free(ports);
}

bool tl_jc_connected(struct tl_jc *c, const char *a, const char *b)
{
	jack_port_t *p = jack_port_by_name(c->client, a);
	return p && jack_port_connected_to(p, b);
}

pid_t tl_mixdesk_start(const char *server, const char *client, const char *const extra[], const char *logfile)
{
	const char *argv[64];
	int n = 0;
	argv[n++] = tl_mixdesk();
	argv[n++] = "--server";
	argv[n++] = server;
	argv[n++] = "--name";
	argv[n++] = client;
	argv[n++] = "--osc-port";
	argv[n++] = "0";
	for (int i = 0; extra && extra[i] && n < 62; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	pid_t pid = tl_spawn(argv, logfile);
	/* First the line it prints once it is active and listening: by then every port and its metadata is
	 * made. Only then a probe client looks for the master port. A JACK client closed while the server is
	 * still sending it notifications (a new console sets two properties per port: 260 for 128 strips)
	 * deadlocks JACK2: the server's request thread blocks writing to the closing client's socket while
	 * that client waits for the server to answer its close. */
	bool ok = true;
	double end = tl_now() + 20.0;
	while (logfile) {
		char *log = tl_read_file(logfile);
		bool ready = log && strstr(log, "OSC on ");
		free(log);
		if (ready)
			break;
		if (tl_now() > end || tl_wait_exit(pid, 0.02, NULL) == 0) {
			ok = false;
			break;
		}
	}
	if (ok) {
		struct tl_jc *probe = tl_jc_open(server, "waiter", 0, 0);
		char port[160];
		snprintf(port, sizeof port, "%s:master_out_L", client);
		ok = probe && tl_jc_wait_port(probe, port, 20.0);
		if (probe && !logfile)
			tl_sleep(0.5); /* no ready line to wait for: let the notifications of its start pass */
		tl_jc_close(probe);
	}
	if (!ok) {
		tl_stop(pid);
		return -1;
	}
	return pid;
}

double tl_peak_db(const float *x, size_t n)
{
	float p = 0;
	for (size_t i = 0; i < n; i++)
		p = fabsf(x[i]) > p ? fabsf(x[i]) : p;
	return p > 0 ? 20.0 * log10(p) : -999.0;
}

double tl_rms_db(const float *x, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += (double)x[i] * x[i];
	return n && s > 0 ? 10.0 * log10(s / (double)n) : -999.0;
}

int tl_mixdesk_osc_port(const char *logfile, double timeout)
{
	double end = tl_now() + timeout;
	do {
		char *log = tl_read_file(logfile);
		const char *p = log ? strstr(log, "OSC on ") : NULL;
		if (p) {
			/* "OSC on ADDR:PORT": the last ':' of the line, since an IPv6 address has its own */
			const char *eol = strchr(p, '\n'), *colon = NULL;
			for (const char *q = p; *q && (!eol || q < eol); q++)
				if (*q == ':')
					colon = q;
			int port = colon ? atoi(colon + 1) : -1;
			free(log);
			if (port > 0)
				return port;
		} else {
			free(log);
		}
		tl_sleep(0.02);
	} while (tl_now() < end);
	return -1;
}
