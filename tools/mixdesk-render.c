/* mixdesk render: the command line of the offline bounce (options, exit status, the printed report). */
#include "tools/mixdesk.h"

#include "engine/model/md.h"
#include "engine/plugin.h"
#include "sessions/session.h"
#include "tools/render/render.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mixdesk render SESSION.json -o MIX.wav [options]\n"
		"Bounce a session offline through the same engine as the live console (no JACK needed).\n"
		"\n"
		"  -o, --output FILE     the mixdown (WAV with a BWF bext chunk); required\n"
		"      --bits 16|24|32f  sample format (default: the session's render.bits, 24); 16 and 24 are TPDF-dithered\n"
		"      --headroom DB     true-peak target in dBTP, -60..0 (default: the session's render.headroom, -6)\n"
		"      --no-normalize    only turn the mix down to the target, never up\n"
		"      --gain DB         apply this fixed gain instead of normalizing (-120..+60)\n"
		"      --stems DIR       also write one stereo file per strip and per bus (same gain; they sum to the mix)\n"
		"      --start S         render from S seconds on the session's timeline (default 0)\n"
		"      --end S           render up to S seconds (default: the longest source plus the tail)\n"
		"      --tail S          seconds after the longest source (default: the session's render.tail, 2)\n"
		"      --resample        convert sources at another sample rate (libsamplerate) instead of failing\n"
		"      --report FILE     also write the report as JSON\n"
		"      --timings         say where the time went (read, DSP, true peak, write)\n"
		"      --threads 1|2     1: one engine on one thread; 2 (default on 2+ cores): two threads, the strips\n"
		"                        split between two engines when exact (same mix to float rounding)\n"
		"  -q, --quiet           no progress bar and no printed report\n"
		"  -h, --help            this help\n"
		"Before any work the sources are checked as `mixdesk check` does, and an output (the mix, the\n"
		"report, a stem) that is the session file, a source or another output is refused.\n"
		"Exit status: 0 done, 1 error (such a refusal included; nothing left under the output's name), 2 bad\n"
		"command line, 130 interrupted.\n");
}

static int bad_usage(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "mixdesk render: ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, " (mixdesk render --help)\n");
	return 2;
}

/* the command line, parsed */
struct cli {
	struct render_opts o;
	const char *session;
	const char *report;
	bool quiet, timings;
};

enum {
	O_BITS = 256,
	O_HEADROOM,
	O_NONORM,
	O_GAIN,
	O_STEMS,
	O_START,
	O_END,
	O_TAIL,
	O_RESAMPLE,
	O_REPORT,
	O_TIMINGS,
	O_THREADS
};

/* one option (ch, with its value arg) into cli: -1 to go on, else the exit status (0 after --help, 2 for a bad
 * command line) */
static int parse_option(struct cli *cli, int ch, const char *arg, char **argv)
{
	struct render_opts *o = &cli->o;
	double v;
	switch (ch) {
	case 'o': o->out = arg; break;
	case O_BITS:
		if (strcmp(arg, "16") == 0 || strcmp(arg, "24") == 0)
			o->bits = atoi(arg);
		else if (strcmp(arg, "32f") == 0 || strcmp(arg, "32") == 0)
			o->bits = 32;
		else
			return bad_usage("--bits %s: expected 16, 24 or 32f%s", arg, "");
		break;
	case O_HEADROOM:
		if (md_parse_double(arg, -60.0, 0.0, &v))
			return bad_usage("--headroom %s: expected a level in dBTP from -60 to 0%s", arg, "");
		o->headroom_set = true;
		o->headroom = (float)v;
		break;
	case O_NONORM: o->no_normalize = true; break;
	case O_GAIN:
		if (md_parse_double(arg, -120.0, 60.0, &v))
			return bad_usage("--gain %s: expected a gain in dB from -120 to 60%s", arg, "");
		o->fixed_gain = true;
		o->gain_db = (float)v;
		break;
	case O_STEMS: o->stems_dir = arg; break;
	case O_START:
		if (md_parse_double(arg, 0.0, 86400.0, &o->start))
			return bad_usage("--start %s: expected seconds from 0 to 86400%s", arg, "");
		break;
	case O_END:
		if (md_parse_double(arg, 0.0, 86400.0, &o->end))
			return bad_usage("--end %s: expected seconds from 0 to 86400%s", arg, "");
		o->end_set = true;
		break;
	case O_TAIL:
		if (md_parse_double(arg, 0.0, 3600.0, &o->tail))
			return bad_usage("--tail %s: expected seconds from 0 to 3600%s", arg, "");
		o->tail_set = true;
		break;
	case O_RESAMPLE: o->resample = true; break;
	case O_REPORT: cli->report = arg; break;
	case O_TIMINGS: cli->timings = true; break;
	case O_THREADS:
		if (strcmp(arg, "1") != 0 && strcmp(arg, "2") != 0)
			return bad_usage("--threads %s: expected 1 or 2%s", arg, "");
		o->threads = atoi(arg);
		break;
	case 'q': cli->quiet = true; break;
	case 'h': usage(stdout); return 0;
	case ':': return bad_usage("%s needs a value%s", argv[optind - 1], "");
	default: return bad_usage("unknown option '%s'%s", argv[optind - 1], "");
	}
	return -1;
}

/* the whole command line into cli: -1 to go on, else the exit status */
static int parse_args(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
						 {"bits", required_argument, NULL, O_BITS},
						 {"headroom", required_argument, NULL, O_HEADROOM},
						 {"no-normalize", no_argument, NULL, O_NONORM},
						 {"gain", required_argument, NULL, O_GAIN},
						 {"stems", required_argument, NULL, O_STEMS},
						 {"start", required_argument, NULL, O_START},
						 {"end", required_argument, NULL, O_END},
						 {"tail", required_argument, NULL, O_TAIL},
						 {"resample", no_argument, NULL, O_RESAMPLE},
						 {"report", required_argument, NULL, O_REPORT},
						 {"timings", no_argument, NULL, O_TIMINGS},
						 {"threads", required_argument, NULL, O_THREADS},
						 {"quiet", no_argument, NULL, 'q'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	optind = 0; /* GNU: start afresh (mixdesk_render_main may run more than once in a process) */
	opterr = 0;
	int ch, status;
	while ((ch = getopt_long(argc, argv, ":o:qh", longopts, NULL)) != -1)
		if ((status = parse_option(cli, ch, optarg, argv)) >= 0)
			return status;
	const struct render_opts *o = &cli->o;
	if (optind >= argc)
		return bad_usage("no session given: expected SESSION.json%s%s", "", "");
	if (optind + 1 < argc)
		return bad_usage("one session at a time: '%s' is extra%s", argv[optind + 1], "");
	if (!o->out)
		return bad_usage("no output given: expected -o MIX.wav%s%s", "", "");
	if (o->fixed_gain && o->no_normalize)
		return bad_usage("--gain and --no-normalize exclude each other%s%s", "", "");
	if (o->end_set && o->end <= o->start)
		return bad_usage("--end must be after --start%s%s", "", "");
	cli->session = argv[optind];
	return -1;
}

/* SIGINT and SIGTERM raise stop_flag, which the render watches */
static void catch_stop(void)
{
	struct sigaction sa = {.sa_handler = on_stop};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* the outcome of render_console on the terminal (and the JSON report): the exit status */
static int finish(const struct cli *cli, enum md_err e, const struct render_report *rep, char *err, size_t errlen)
{
	if (e != MD_OK) {
		if (cli->o.progress)
			fputc('\n', stderr);
		fprintf(stderr, "mixdesk render: %s\n", err);
		return rep->interrupted ? 130 : 1;
	}
	if (!cli->quiet)
		render_print_report(stdout, rep, cli->timings);
	else if (cli->timings)
		render_print_report(stderr, rep, cli->timings);
	if (cli->report && render_write_report(cli->report, rep, err, errlen) != MD_OK) {
		fprintf(stderr, "mixdesk render: %s\n", err);
		return 1;
	}
	return 0;
}

int mixdesk_render_main(int argc, char **argv)
{
	struct cli cli = {0};
	int status = parse_args(&cli, argc, argv);
	if (status >= 0)
		return status;
	char err[1024];
	struct md_console *c = NULL;
	enum md_err e = session_load(cli.session, &c, err, sizeof err);
	if (e != MD_OK) {
		fprintf(stderr, "mixdesk render: %s\n", err);
		return 1;
	}
	char dcopy[PATH_MAX], bcopy[PATH_MAX];
	md_strlcpy(dcopy, cli.session, sizeof dcopy);
	md_strlcpy(bcopy, cli.session, sizeof bcopy);
	cli.o.title = basename(bcopy);
	cli.o.session = cli.session;
	cli.o.report = cli.report;
	cli.o.progress = !cli.quiet && isatty(STDERR_FILENO);
	cli.o.stop = &stop_flag;
	catch_stop();

	struct render_report *rep = calloc(1, sizeof *rep);
	if (!rep) {
		console_free(c);
		fprintf(stderr, "mixdesk render: out of memory\n");
		return 1;
	}
	e = render_console(c, dirname(dcopy), &cli.o, rep, err, sizeof err);
	plugins_log_drain(stderr); /* what the plugins logged while they ran */
	console_free(c);
	status = finish(&cli, e, rep, err, sizeof err);
	free(rep);
	return status;
}
