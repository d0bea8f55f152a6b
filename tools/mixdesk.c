/* mixdesk: the program. `mixdesk [options] [SESSION.json]` runs the console as a JACK client under OSC
 * control (options, opening, the control loop, shutting down); `mixdesk render` bounces a session offline;
 * `mixdesk check` validates one. */
#include "control/control.h"
#include "control/nsm.h"
#include "engine/player.h"
#include "engine/plugin.h"
#include "tools/jack/jackhost.h"
#include "sessions/session.h"
#include "tools/mixdesk.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <sndfile.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PLAYER_AHEAD_S 2.0      /* seconds of each source read ahead of the transport */
#define NSM_OPEN_TIMEOUT_S 60.0 /* how long the session manager's open is waited for after the announce */
#define NSM_DIRTY_EVERY_S 0.25  /* how often the console is compared with its file under NSM */

static int sig_pipe[2] = {-1, -1};
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
	int saved = errno;
	ssize_t r = write(sig_pipe[1], "s", 1);
	(void)r;
	errno = saved;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mixdesk [options] [SESSION.json]     run the console as a JACK client\n"
		"       mixdesk render SESSION.json -o MIX.wav  bounce a session offline (mixdesk render --help)\n"
		"       mixdesk check SESSION.json [--live]     validate a session and its sources (mixdesk check --help)\n"
		"\n"
		"options:\n"
		"  -n, --name CLIENT       JACK client name (default mixdesk)\n"
		"  -s, --server NAME       JACK server to connect to (default: the default server)\n"
		"  -c, --channels N        start with N mono strips Ch1..ChN when no session is given (default 8)\n"
		"  -p, --osc-port PORT     OSC UDP port (default 9000; 0 picks a free one)\n"
		"  -b, --osc-bind ADDR     OSC listen address (default 127.0.0.1: this machine only)\n"
		"  -a, --osc-allow CIDR    with --osc-bind: a network answered (repeatable, e.g. 192.168.1.0/24)\n"
		"      --osc-reply-port PORT  answer and send feedback to the sender's host on this UDP port, not to\n"
		"                          the port it sent from (tablets that listen on another port)\n"
		"      --x32 [PORT]        also speak the X32 console's OSC dialect on UDP PORT (default 10023;\n"
		"                          same --osc-bind and --osc-allow; docs/X32.md)\n"
		"      --session-dir DIR   a folder where OSC may also load and save sessions (repeatable; always:\n"
		"                          the session's folder, or the current one without a session)\n"
		"      --autosave          save the session on SIGINT/SIGTERM and when the JACK server goes away\n"
		"                          (to SESSION.json, or ./mixdesk-session.json)\n"
		"      --play              start the JACK transport once the console is up (strips whose input is\n"
		"                          their source play it from disk, in step with the transport)\n"
		"      --loop              locate the transport back to 0 when it passes the end of the longest\n"
		"                          source (offsets included): the session plays round and round\n"
		"      --keep-missing-plugins  load a session whose plugins are not installed here: each such\n"
		"                          insert passes the signal through and keeps its settings for the save\n"
		"      --allow-non-rt-plugins  run LV2 plugins that do not declare lv2:hardRTCapable (they may\n"
		"                          allocate or block on the audio thread; refused without it)\n"
		"  -h, --help              this help\n"
		"  -V, --version           print the version\n"
		"\n"
		"With NSM_URL set, a session manager (NSM) decides the session file and the JACK client name and says\n"
		"when to save (docs/NSM.md).\n");
}

/* the live console's command line */
struct live_opts {
	struct md_jackhost_opts jo;
	struct md_control_opts co;
	long channels;
	bool autosave;
	bool play, loop;
	bool allow_non_rt; /* --allow-non-rt-plugins */
	const char *session;
	const char *nsm_url; /* NSM_URL: a session manager decides the session file and the client name */
};

/* the live console: the JACK client (which holds the mixer) and the OSC listener */
struct live {
	struct md_jackhost *host;
	struct md_mixer *mixer;
	struct md_control *ctl;
	bool lost;             /* the server went away and has not come back yet */
	double next_reconnect; /* when to try a server again */
	unsigned xruns_said;   /* the xruns the last stderr line counted */
	double next_xrun_line;
	struct md_player *player;      /* streams the strips' sources from disk */
	unsigned src_err_said;         /* the engine's source problem last said */
	unsigned ins_err_said;         /* and its insert problem */
	double loop_end;               /* --loop: where the transport goes back to 0, seconds */
	struct md_nsm *nsm;            /* under a session manager (docs/NSM.md) */
	struct md_console *nsm_loaded; /* its session, loaded before the JACK client opens */
	char nsm_file[4096];           /* the session manager's path + ".json" */
	char nsm_client[256];          /* its client id: the JACK client name */
	char *nsm_clean;               /* the console's text as last opened or saved, for is_dirty/is_clean */
	double nsm_next_check;
	uint64_t nsm_changes_seen; /* mixer_changes at the last look */
};

/* [control] the command line into o: -1 to run the console, or the exit status (0 after --help or
 * --version, 2 for a wrong command line, checked before the JACK server is contacted) */
static int parse_live_opts(int argc, char **argv, struct live_opts *o)
{
	*o = (struct live_opts){.co = {.bind_addr = "127.0.0.1", .port = 9000}, .channels = 8};
	static const struct option longopts[] = {
		{"name", required_argument, NULL, 'n'},
		{"server", required_argument, NULL, 's'},
		{"channels", required_argument, NULL, 'c'},
		{"osc-port", required_argument, NULL, 'p'},
		{"osc-bind", required_argument, NULL, 'b'},
		{"osc-allow", required_argument, NULL, 'a'},
		{"autosave", no_argument, NULL, 'A'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"session-dir", required_argument, NULL, 'D'},
		{"play", no_argument, NULL, 'P'},
		{"loop", no_argument, NULL, 'L'},
		{"allow-non-rt-plugins", no_argument, NULL, 'R'},
		{"keep-missing-plugins", no_argument, NULL, 'K'},
		{"osc-reply-port", required_argument, NULL, 'r'},
		{"x32", optional_argument, NULL, 'X'},
		{NULL, 0, NULL, 0},
	};
	opterr = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, ":n:s:c:p:b:a:hV", longopts, NULL)) != -1) {
		long v;
		switch (opt) {
		case 'n': o->jo.client_name = optarg; break;
		case 's': o->jo.server_name = optarg; break;
		case 'c':
			if (md_parse_long(optarg, 0, MD_MAX_STRIPS, &v)) {
				fprintf(stderr, "mixdesk: --channels takes a number from 0 to %d, not '%s'\n",
					MD_MAX_STRIPS, optarg);
				return 2;
			}
			o->channels = v;
			break;
		case 'p':
			if (md_parse_long(optarg, 0, 65535, &v)) {
				fprintf(stderr, "mixdesk: --osc-port takes a UDP port from 0 to 65535, not '%s'\n",
					optarg);
				return 2;
			}
			o->co.port = (int)v;
			break;
		case 'b': o->co.bind_addr = optarg; break;
		case 'r':
			if (md_parse_long(optarg, 1, 65535, &v)) {
				fprintf(stderr,
					"mixdesk: --osc-reply-port takes a UDP port from 1 to 65535, not '%s'\n",
					optarg);
				return 2;
			}
			o->co.reply_port = (int)v;
			break;
		case 'X': {
			/* the port is optional: --x32=PORT, or --x32 PORT when the next word is all digits (a
			 * session file named 2024.json stays the session) */
			const char *arg = optarg;
			if (!arg && optind < argc && argv[optind][0] &&
			    strspn(argv[optind], "0123456789") == strlen(argv[optind]))
				arg = argv[optind++];
			v = 10023;
			if (arg && md_parse_long(arg, 1, 65535, &v)) {
				fprintf(stderr, "mixdesk: --x32 takes a UDP port from 1 to 65535, not '%s'\n", arg);
				return 2;
			}
			o->co.x32_port = (int)v;
			break;
		}
		case 'a':
			if (o->co.nallow >= MD_OSC_MAX_ALLOW) {
				fprintf(stderr, "mixdesk: at most %d --osc-allow entries\n", MD_OSC_MAX_ALLOW);
				return 2;
			}
			o->co.allow[o->co.nallow++] = optarg;
			break;
		case 'D': {
			struct stat st;
			if (o->co.nsession_dirs >= MD_OSC_MAX_SESSION_DIRS) {
				fprintf(stderr, "mixdesk: at most %d --session-dir folders\n", MD_OSC_MAX_SESSION_DIRS);
				return 2;
			}
			int r = stat(optarg, &st);
			if (r != 0 || !S_ISDIR(st.st_mode)) {
				fprintf(stderr, "mixdesk: --session-dir '%s' is not a folder%s%s\n", optarg,
					r ? ": " : "", r ? strerror(errno) : "");
				return 2;
			}
			o->co.session_dirs[o->co.nsession_dirs++] = optarg;
			break;
		}
		case 'A': o->autosave = true; break;
		case 'P': o->play = true; break;
		case 'L': o->loop = true; break;
		case 'R': o->allow_non_rt = true; break;
		case 'K': session_keep_missing_plugins(true); break; /* before any session is loaded */
		case 'h': usage(stdout); return 0;
		case 'V': printf("mixdesk %s\n", MD_VERSION); return 0;
		case ':':
			fprintf(stderr, "mixdesk: option '%s' needs a value (see mixdesk --help)\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "mixdesk: unknown option '%s' (see mixdesk --help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "mixdesk: one session file at most, got '%s' and '%s'\n", argv[optind],
			argv[optind + 1]);
		return 2;
	}
	o->session = optind < argc ? argv[optind] : NULL;
	o->co.session_path = o->session;

	char err[512];
	if (control_check_opts(&o->co, err, sizeof err) != 0) {
		fprintf(stderr, "mixdesk: %s\n", err);
		return 2;
	}
	return -1;
}

/* [control] the self-pipe the signal handler writes to, and the handlers: 0, or -1 after a message */
static int install_signals(void)
{
	if (pipe(sig_pipe) != 0) {
		perror("mixdesk: pipe");
		return -1;
	}
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* [control] the mixer's first console: the loaded session (the mixer takes it over; freed when it cannot),
 * or o->channels mono strips Ch1..ChN without one. 0, or 1 after a message. */
static int fill_console(struct md_mixer *mixer, struct md_console *loaded, const struct live_opts *o)
{
	if (loaded) {
		enum md_err e = mixer_replace(mixer, loaded);
		if (e) {
			fprintf(stderr, "mixdesk: cannot set up the session %s: %s\n", o->session, md_strerror(e));
			console_free(loaded);
			return 1;
		}
		return 0;
	}
	for (long i = 1; i <= o->channels; i++) {
		char name[32];
		snprintf(name, sizeof name, "Ch%ld", i);
		if (mixer_add_strip(mixer, name, false, NULL) != MD_OK) {
			fprintf(stderr, "mixdesk: cannot add strip %s\n", name);
			return 1;
		}
	}
	return 0;
}

/* [control] the session loaded, the JACK client opened with its console, the OSC listener opened and the
 * client activated, into l: 0, or the exit status after a message (then nothing is left open) */
static int open_live(const struct live_opts *o, struct live *l)
{
	char err[512];
	struct md_console *loaded = l->nsm_loaded;
	l->nsm_loaded = NULL;
	if (!loaded && o->session && session_load(o->session, &loaded, err, sizeof err) != MD_OK) {
		fprintf(stderr, "mixdesk: %s\n", err);
		return 1;
	}
	if (install_signals() != 0) {
		console_free(loaded);
		return 1;
	}

	/* JACK's threads inherit this mask: signals are for the control loop only */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	l->host = jackhost_open(&o->jo, err, sizeof err);
	if (!l->host) {
		fprintf(stderr, "mixdesk: %s\n", err);
		console_free(loaded);
		return 1;
	}
	l->mixer = jackhost_mixer(l->host);
	mixer_set_allow_non_rt(l->mixer, o->allow_non_rt);
	/* the disk streamer for the strips that play their sources, 2 s ahead, at the server's rate */
	l->player = player_new(mixer_rate(l->mixer), PLAYER_AHEAD_S);
	if (!l->player) {
		fprintf(stderr, "mixdesk: cannot start the disk streamer for sources (out of memory)\n");
		console_free(loaded);
		jackhost_close(l->host);
		return 1;
	}
	engine_set_player(mixer_engine(l->mixer), l->player, mixer_rate(l->mixer));
	if (fill_console(l->mixer, loaded, o) != 0) {
		jackhost_close(l->host);
		player_free(l->player);
		return 1;
	}
	l->ctl = control_new(l->mixer, &o->co, err, sizeof err);
	if (!l->ctl) {
		fprintf(stderr, "mixdesk: OSC: %s\n", err);
		jackhost_close(l->host);
		player_free(l->player);
		return 1;
	}
	if (jackhost_activate(l->host, err, sizeof err) != MD_OK) {
		fprintf(stderr, "mixdesk: %s\n", err);
		control_free(l->ctl);
		jackhost_close(l->host);
		player_free(l->player);
		return 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

/* [control] what plays each strip, said once at the start: the strips that stream their sources, and those
 * that have a source but play their JACK input */
static void say_inputs(const struct md_console *c)
{
	char played[512] = "", jack[512] = "";
	int np = 0, nj = 0;
	for (int i = 0; i < c->nstrips; i++) {
		const struct md_strip_model *s = c->strips[i];
		if (!s->source)
			continue;
		bool src = (int)s->p[MD_SP_INPUT] != MD_INPUT_JACK;
		char *list = src ? played : jack;
		size_t len = strlen(list);
		snprintf(list + len, sizeof played - len, "%s%s", len ? ", " : "", s->name);
		if (src)
			np++;
		else
			nj++;
	}
	if (np)
		fprintf(stderr,
			"mixdesk: %d strip%s play%s %s source from disk with the JACK transport (input source or both): "
			"%s\n",
			np, np == 1 ? "" : "s", np == 1 ? "s" : "", np == 1 ? "its" : "their", played);
	if (nj)
		fprintf(stderr,
			"mixdesk: %d strip%s with a source play%s %s JACK input (input jack: the default for a strip "
			"with JACK connections; \"input\": \"source\" or /ch/N/input source plays the file): %s\n",
			nj, nj == 1 ? "" : "s", nj == 1 ? "s" : "", nj == 1 ? "its" : "their", jack);
}

/* [control] the end of the longest source on the timeline (its offset included), seconds; 0 without any */
static double sources_end(const struct md_console *c)
{
	double end = 0;
	for (int i = 0; i < c->nstrips; i++) {
		const struct md_strip_model *s = c->strips[i];
		if (!s->source || (int)s->p[MD_SP_INPUT] == MD_INPUT_JACK)
			continue;
		char path[4096];
		console_source_path(path, sizeof path, s->source, c->dir);
		SF_INFO info = {0};
		SNDFILE *f = sf_open(path, SFM_READ, &info);
		if (!f)
			continue;
		sf_close(f);
		if (info.samplerate > 0)
			end = fmax(end, s->p[MD_SP_OFFSET] + (double)info.frames / info.samplerate);
	}
	return end;
}

/* [control] the control thread put below the audio, and the console announced on stdout */
static void announce(const struct live_opts *o, const struct live *l)
{
	/* The control loop must never compete with audio: when JACK runs without realtime scheduling (or the
	 * machine is loaded), a flood of OSC would otherwise take the CPU from the process callback. On Linux
	 * setpriority on a thread id renices that thread only; JACK's threads keep their priority. */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10) != 0)
		fprintf(stderr, "mixdesk: could not lower the control thread's priority: %s\n", strerror(errno));
	const struct md_console *c = mixer_console(l->mixer);
	say_inputs(c);
	printf("mixdesk %s: JACK client '%s' at %u Hz, %d strip%s, %d bus%s; OSC on %s:%d\n", MD_VERSION,
	       jackhost_client_name(l->host), mixer_rate(l->mixer), c->nstrips, c->nstrips == 1 ? "" : "s", c->nbuses,
	       c->nbuses == 1 ? "" : "es", o->co.bind_addr, control_port(l->ctl));
	if (control_x32_port(l->ctl) > 0)
		printf("mixdesk: X32 OSC on %s:%d (docs/X32.md)\n", o->co.bind_addr, control_x32_port(l->ctl));
	fflush(stdout);
}

/* [control] the control loop: OSC, the host and the mixer's periodic work, until a signal or the JACK
 * server's end. 0, or 1 when the server shut down. */
/* [control] save the session where it came from (or ./mixdesk-session.json); 0, or 1 when it failed */
static int autosave(struct live *l)
{
	char err[640];
	control_save_wait(l->ctl); /* a save-as over OSC may still be changing the session file */
	const char *path = control_session_path(l->ctl);
	if (!path)
		path = "mixdesk-session.json";
	if (control_save_now(l->ctl, path, err, sizeof err) != MD_OK) {
		fprintf(stderr, "mixdesk: autosave failed: %s\n", err);
		return 1;
	}
	fprintf(stderr, "mixdesk: saved %s\n", path);
	return 0;
}

/* [control] the JACK side of one tick: a lost server is said once (and the session autosaved when asked),
 * then a server of the same name is tried every second; xruns are said at most every 2 s */
static void watch_jack(const struct live_opts *o, struct live *l, double now)
{
	const char *why = NULL;
	if (!jackhost_alive(l->host, &why)) {
		if (!l->lost) {
			l->lost = true;
			fprintf(stderr,
				"mixdesk: the JACK server shut down (%s); the console keeps running (OSC on port %d) and "
				"reconnects when the server comes back\n",
				why, control_port(l->ctl));
			if (o->autosave)
				autosave(l);
		}
		if (now >= l->next_reconnect) {
			l->next_reconnect = now + 1.0;
			char err[512];
			if (jackhost_reconnect(l->host, err, sizeof err) == MD_OK) {
				struct md_jack_info ji;
				jackhost_info(l->host, &ji);
				fprintf(stderr, "mixdesk: reconnected to the JACK server as '%s' at %u Hz, %u frames\n",
					jackhost_client_name(l->host), ji.rate, ji.period);
				l->lost = false;
			}
		}
	}
	struct md_jack_info ji;
	jackhost_info(l->host, &ji);
	if (ji.xruns > l->xruns_said && now >= l->next_xrun_line) {
		fprintf(stderr, "mixdesk: %u xrun%s (%u since start)\n", ji.xruns - l->xruns_said,
			ji.xruns - l->xruns_said == 1 ? "" : "s", ji.xruns);
		l->xruns_said = ji.xruns;
		l->next_xrun_line = now + 2.0;
	}
	struct md_host_status hs = {.jack_alive = ji.alive,
				    .realtime = ji.realtime,
				    .period = ji.period,
				    .load = ji.load,
				    .xruns = ji.xruns,
				    .reconnects = ji.reconnects};
	struct md_player_stats ps;
	player_stats(l->player, &ps);
	hs.underruns = (unsigned)ps.underruns;
	hs.refill_worst_s = (float)ps.worst_refill_s;
	control_set_host(l->ctl, &hs);
}

/* [control] a new problem with a source said on stderr; with --loop, the transport back to 0 at the end */
static void watch_sources(const struct live_opts *o, struct live *l)
{
	unsigned serial;
	const char *err = engine_source_error(mixer_engine(l->mixer), &serial);
	if (err && serial != l->src_err_said) {
		fprintf(stderr, "mixdesk: %s\n", err);
		l->src_err_said = serial;
	}
	plugins_log_drain(stderr);
	err = engine_insert_error(mixer_engine(l->mixer), &serial);
	if (err && serial != l->ins_err_said) {
		fprintf(stderr, "mixdesk: %s\n", err);
		l->ins_err_said = serial;
	}
	if (o->loop && l->loop_end > 0) {
		bool rolling;
		double t;
		mixer_transport(l->mixer, &rolling, &t);
		if (rolling && t >= l->loop_end)
			mixer_transport_cmd(l->mixer, MD_TRANSPORT_LOCATE, 0.0);
	}
}

/* ---- under a session manager (NSM_URL; docs/NSM.md) ---- */

/* [control] the session manager's file for path (path + ".json") loaded into *out, or made first (an empty
 * console, saved atomically) when there is none: NSM_OK, or the API's code with a message in err */
static int nsm_load_file(const char *path, char *file, size_t filelen, struct md_console **out, char *err,
			 size_t errlen)
{
	if ((size_t)snprintf(file, filelen, "%s.json", path) >= filelen) {
		snprintf(err, errlen, "the session path '%s' is too long (at most %zu bytes)", path, filelen - 6);
		return NSM_ERR_CREATE_FAILED;
	}
	struct stat st;
	if (stat(file, &st) != 0) {
		struct md_console *c = console_new(48000);
		if (!c) {
			snprintf(err, errlen, "cannot make a new console for %s: out of memory", file);
			return NSM_ERR_CREATE_FAILED;
		}
		char e2[512];
		if (session_save(file, c, e2, sizeof e2) != MD_OK) {
			snprintf(err, errlen, "cannot create the session %s: %s", file, e2);
			console_free(c);
			return NSM_ERR_CREATE_FAILED;
		}
		console_free(c);
		fprintf(stderr, "mixdesk: NSM: new session %s\n", file);
	}
	if (session_load(file, out, err, errlen) != MD_OK)
		return NSM_ERR_BAD_PROJECT;
	return NSM_OK;
}

/* [control] the console's text as a session at the session manager's file (NULL when it cannot be made) */
static char *nsm_text(struct live *l)
{
	char *text = NULL, err[256];
	if (session_serialize(mixer_console(l->mixer), NULL, l->nsm_file, &text, err, sizeof err) != MD_OK)
		return NULL;
	return text;
}

static void nsm_mark_clean(struct live *l)
{
	free(l->nsm_clean);
	l->nsm_clean = nsm_text(l);
}

/* [control] announce, wait for the session manager's open and load (or make) its session, before the JACK
 * client opens: the file and the client name go into o. 0, or the exit status after a message (and the
 * error answered to the server). */
static int nsm_begin(struct live_opts *o, struct live *l, const char *exe)
{
	char err[1024];
	l->nsm = nsm_start(o->nsm_url, exe, err, sizeof err);
	if (!l->nsm) {
		fprintf(stderr, "mixdesk: %s\n", err);
		return 1;
	}
	const char *path, *display, *id;
	if (!nsm_wait_open(l->nsm, NSM_OPEN_TIMEOUT_S, &path, &display, &id, err, sizeof err)) {
		fprintf(stderr, "mixdesk: NSM: %s\n", err);
		return 1;
	}
	fprintf(stderr, "mixdesk: NSM: open '%s' as client '%s' (%s)\n", path, id, display);
	if (o->session)
		fprintf(stderr, "mixdesk: NSM: the session manager decides the session: %s is not opened\n",
			o->session);
	if (o->autosave)
		fprintf(stderr, "mixdesk: NSM: --autosave is off: the session manager says when to save\n");
	o->autosave = false;
	int code = nsm_load_file(path, l->nsm_file, sizeof l->nsm_file, &l->nsm_loaded, err, sizeof err);
	if (code != NSM_OK) {
		fprintf(stderr, "mixdesk: NSM: %s\n", err);
		nsm_reply_open(l->nsm, false, code, err);
		return 1;
	}
	snprintf(l->nsm_client, sizeof l->nsm_client, "%s", *id ? id : "mixdesk");
	o->jo.client_name = l->nsm_client;
	o->session = o->co.session_path = l->nsm_file;
	return 0;
}

/* [control] a later open: the console switches to that session (the JACK client keeps its name) */
static void nsm_switch(struct live *l, const char *path, const char *id)
{
	char err[4600], file[sizeof l->nsm_file];
	struct md_console *c = NULL;
	int code = nsm_load_file(path, file, sizeof file, &c, err, sizeof err);
	if (code == NSM_OK) {
		enum md_err e = mixer_replace(l->mixer, c);
		if (e) {
			snprintf(err, sizeof err, "cannot set up the session %s: %s", file, md_strerror(e));
			console_free(c);
			code = NSM_ERR_GENERAL;
		}
	}
	if (code != NSM_OK) {
		fprintf(stderr, "mixdesk: NSM: %s\n", err);
		nsm_reply_open(l->nsm, false, code, err);
		return;
	}
	if (strcmp(id, jackhost_client_name(l->host)) != 0)
		fprintf(stderr, "mixdesk: NSM: client id '%s': the JACK client keeps its name '%s'\n", id,
			jackhost_client_name(l->host));
	snprintf(l->nsm_file, sizeof l->nsm_file, "%s", file);
	if (control_set_session_path(l->ctl, l->nsm_file) != MD_OK)
		fprintf(stderr, "mixdesk: NSM: out of memory: /session/save without a path still saves the old file\n");
	fprintf(stderr, "mixdesk: NSM: switched to %s\n", file);
	nsm_mark_clean(l);
	snprintf(err, sizeof err, "opened %s", file);
	nsm_reply_open(l->nsm, true, NSM_OK, err);
}

/* [control] the session manager's side of one tick: its save and open asked for, answered, and whether the
 * console differs from its file (checked every NSM_DIRTY_EVERY_S) */
static void nsm_tick(struct live *l, double now)
{
	if (nsm_save_requested(l->nsm)) {
		char err[640], msg[4200];
		control_save_wait(l->ctl); /* a save-as over OSC may still be changing a session file */
		if (control_save_now(l->ctl, l->nsm_file, err, sizeof err) != MD_OK) {
			fprintf(stderr, "mixdesk: NSM: save failed: %s\n", err);
			nsm_reply_save(l->nsm, false, NSM_ERR_GENERAL, err);
		} else {
			fprintf(stderr, "mixdesk: NSM: saved %s\n", l->nsm_file);
			nsm_mark_clean(l);
			snprintf(msg, sizeof msg, "saved %s", l->nsm_file);
			nsm_reply_save(l->nsm, true, NSM_OK, msg);
		}
	}
	const char *path, *display, *id;
	if (nsm_open_requested(l->nsm, &path, &display, &id))
		nsm_switch(l, path, id);
	/* the console's text against the saved one (an undone change is clean again), only when a user changed
	 * something since the last look: a large session is not serialised four times a second for nothing */
	if (now >= l->nsm_next_check && mixer_changes(l->mixer) != l->nsm_changes_seen) {
		l->nsm_next_check = now + NSM_DIRTY_EVERY_S;
		l->nsm_changes_seen = mixer_changes(l->mixer);
		char *text = nsm_text(l);
		if (text && l->nsm_clean)
			nsm_set_dirty(l->nsm, strcmp(text, l->nsm_clean) != 0);
		free(text);
	}
}

static int control_loop(const struct live_opts *o, struct live *l)
{
	if (o->loop && (l->loop_end = sources_end(mixer_console(l->mixer))) <= 0)
		fprintf(stderr, "mixdesk: --loop: no strip plays a source, nothing to loop over\n");
	if (o->play)
		mixer_transport_cmd(l->mixer, MD_TRANSPORT_PLAY, 0.0);
	while (!got_signal) {
		/* the OSC socket and the session manager's are -1 when absent: poll skips those */
		struct pollfd fds[4] = {{sig_pipe[0], POLLIN, 0},
					{jackhost_wake_fd(l->host), POLLIN, 0},
					{control_fd(l->ctl), POLLIN, 0},
					{l->nsm ? nsm_fd(l->nsm) : -1, POLLIN, 0}};
		int r = poll(fds, 4, 5);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && fds[1].revents & POLLIN) {
			char b[16];
			while (read(jackhost_wake_fd(l->host), b, sizeof b) > 0) /* noted: jackhost_alive says why */
				;
		}
		if (r > 0 && fds[2].revents & POLLIN)
			control_recv(l->ctl);
		if (r > 0 && fds[3].revents & POLLIN)
			nsm_recv(l->nsm);
		double now = md_now_s();
		if (l->nsm)
			nsm_tick(l, now);
		watch_jack(o, l, now);
		watch_sources(o, l);
		jackhost_tick(l->host);
		mixer_tick(l->mixer);
		control_tick(l->ctl, now);
	}
	return 0;
}

static int shut_down(const struct live_opts *o, struct live *l, int status)
{
	if (got_signal)
		fprintf(stderr, "mixdesk: %s, shutting down (%u xruns)\n",
			got_signal == SIGINT ? "interrupted" : "terminated", jackhost_xruns(l->host));
	if (o->autosave && status == 0)
		status = autosave(l);
	control_free(l->ctl);
	jackhost_close(l->host); /* the graphs, and the streams they hold, go with the mixer */
	player_free(l->player);
	nsm_free(l->nsm);
	free(l->nsm_clean);
	return status;
}

static int run_live(int argc, char **argv)
{
	struct live_opts o;
	int status = parse_live_opts(argc, argv, &o);
	if (status >= 0)
		return status;
	struct live l = {0};
	o.nsm_url = getenv("NSM_URL");
	if (o.nsm_url && *o.nsm_url && (status = nsm_begin(&o, &l, argv[0])) != 0) {
		nsm_free(l.nsm);
		return status;
	}
	if ((status = open_live(&o, &l)) != 0) {
		if (l.nsm)
			nsm_reply_open(l.nsm, false, NSM_ERR_GENERAL,
				       "mixdesk could not start its JACK client or OSC listener (its log says why)");
		nsm_free(l.nsm);
		return status;
	}
	if (l.nsm) {
		char msg[4200];
		nsm_mark_clean(&l);
		snprintf(msg, sizeof msg, "opened %s as JACK client %s", l.nsm_file, jackhost_client_name(l.host));
		nsm_reply_open(l.nsm, true, NSM_OK, msg);
	}
	announce(&o, &l);
	return shut_down(&o, &l, control_loop(&o, &l));
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "render") == 0)
		return mixdesk_render_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "check") == 0)
		return mixdesk_check_main(argc - 1, argv + 1);
	return run_live(argc, argv);
}
