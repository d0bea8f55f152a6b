/* mixdesk tests: shared helpers. A private jackd (dummy backend) per test program, spawning the mixdesk
 * binary, a JACK test client that plays sines into ports and measures what comes back, and small signal
 * measurements. Everything real: no mocks of JACK, liblo or libsndfile. */
#ifndef MD_TESTLIB_H
#define MD_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Paths from tests/run.sh's environment (with fallbacks for running a test binary by hand). */
const char *tl_top(void);
const char *tl_mixdesk(void);
const char *tl_build(void);
/* A fresh temporary directory (removed by tl_rmtree). */
char *tl_tmpdir(void);
void tl_rmtree(const char *dir);
double tl_now(void);
void tl_sleep(double seconds);

/* A jackd with the dummy backend on its own server name, realtime where the system allows it. */
struct tl_jackd {
	pid_t pid;
	char name[64];
};
int tl_jackd_start(struct tl_jackd *j, unsigned rate, unsigned period);
void tl_jackd_stop(struct tl_jackd *j);
/* Start the server again under the same name (after it was stopped or killed), at this rate and period. */
int tl_jackd_restart(struct tl_jackd *j, unsigned rate, unsigned period);
/* Whether test servers run realtime (root or RLIMIT_RTPRIO; MIXDESK_TEST_RT=0/1 overrides). */
bool tl_realtime_allowed(void);

/* Start a program with its output going to logfile (NULL: inherit). argv[0] is the path. */
pid_t tl_spawn(const char *const argv[], const char *logfile);
/* Wait up to timeout seconds; returns 0 and the exit status (or 128+signal) when it ended, -1 otherwise. */
int tl_wait_exit(pid_t pid, double timeout, int *status);
/* SIGTERM, then SIGKILL after 5 s; returns the exit status as tl_wait_exit does. */
int tl_stop(pid_t pid);
/* Run the mixdesk binary with args (NULL-terminated, without argv[0]) and wait up to 30 s; returns its exit
 * status, with its stdout and stderr in out. */
int tl_run(const char *const args[], char *out, size_t outlen);
/* Read a whole file into a new string (NULL on error). */
char *tl_read_file(const char *path);

/* Start `mixdesk --server NAME --name CLIENT --osc-port 0 [extra...]` and wait until its master ports exist
 * and (with a logfile) it has printed its ready line
 * (extra may give its own --osc-port, which then wins). */
pid_t tl_mixdesk_start(const char *server, const char *client, const char *const extra[], const char *logfile);

/* The OSC port a running mixdesk printed in its log ("OSC on ADDR:PORT"); -1 if not found within timeout. */
int tl_mixdesk_osc_port(const char *logfile, double timeout);

/* A JACK test client with nout sine players and nin recorders. */
struct tl_jc;
struct tl_jc *tl_jc_open(const char *server, const char *name, int nout, int nin);
void tl_jc_close(struct tl_jc *c);
/* Full name of one of its ports ("name:out_1", "name:in_1"). */
const char *tl_jc_out(struct tl_jc *c, int i);
const char *tl_jc_in(struct tl_jc *c, int i);
/* Play a sine (amplitude in dBFS peak; -inf/<= -200 for silence) on output i. */
void tl_jc_sine(struct tl_jc *c, int i, double freq, double amp_db);
int tl_jc_connect(struct tl_jc *c, const char *src, const char *dst);
/* Add a constant to output i (a DC source, for measuring gain curves). */
void tl_jc_dc(struct tl_jc *c, int i, double value);
/* Record input i for n frames, with the JACK transport frame of each sample (-1 while stopped). */
size_t tl_jc_record_timed(struct tl_jc *c, int i, float *out, int64_t *tframe, size_t n);
/* Metadata changes (a property set or removed, on any port) the server told this client of so far. */
unsigned tl_jc_property_changes(struct tl_jc *c);
/* Xruns the server reported to this client so far. */
unsigned tl_jc_xruns(struct tl_jc *c);
/* How the client's process thread is actually scheduled ("realtime (SCHED_FIFO)", "normal"): a server
 * asked for realtime falls back to normal scheduling where the system refuses it. */
const char *tl_jc_scheduling(struct tl_jc *c);
/* The xrun notices of the last recording: how many came (all of them, even past max), and where the
 * recording stood at each (the first max of them into pos). A notice comes on another thread, a little
 * after the late cycle it reports. */
size_t tl_jc_xrun_marks(struct tl_jc *c, size_t *pos, size_t max);
/* Locate (when locate >= 0) and start or stop the JACK transport. */
void tl_jc_transport(struct tl_jc *c, bool roll, int64_t locate);
/* True when the port exists within timeout seconds. */
bool tl_jc_wait_port(struct tl_jc *c, const char *port, double timeout);
/* Record every input for seconds, then give each input's peak and RMS in dBFS (arrays of nin). */
void tl_jc_measure(struct tl_jc *c, double seconds, double *peak_db, double *rms_db);
/* Takes of a measurement that an xrun may spoil (a late cycle hands the recorder a stale buffer). */
#define TL_TAKES 10
/* The same over `seconds` of clean signal: measured in chunks of 0.1 s, leaving out every chunk an xrun
 * touched (a late cycle hands the recorder a stale buffer: the test machine's doing, not the engine's;
 * xruns themselves are asserted where they are the point). 0 when enough clean chunks came within
 * 30 s + 4 x seconds, otherwise the number of spoiled chunks. */
unsigned tl_jc_measure_clean(struct tl_jc *c, double seconds, double *peak_db, double *rms_db);
/* Record input i for n frames into out (returns frames recorded). */
size_t tl_jc_record(struct tl_jc *c, int i, float *out, size_t n);
/* Ask the server for another period size; 0 on success. */
int tl_jc_set_buffer_size(struct tl_jc *c, unsigned frames);
/* The server's sample rate. */
unsigned tl_jc_rate(struct tl_jc *c);
/* Names of the ports matching a pattern (jack_get_ports); free with tl_free_ports. */
const char **tl_jc_ports(struct tl_jc *c, const char *pattern);
void tl_free_ports(const char **ports);
/* Whether two ports are connected. */
bool tl_jc_connected(struct tl_jc *c, const char *a, const char *b);

/* Signal figures. */
double tl_peak_db(const float *x, size_t n);
double tl_rms_db(const float *x, size_t n);

#endif
