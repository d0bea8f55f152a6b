/* mixdesk check: the command line that validates a session file, describes what it holds, and checks its
 * sources with the render's own check (render_check_sources), so a session that passes renders. */
#include "tools/mixdesk.h"

#include "engine/model/param.h"
#include "engine/plugin.h"
#include "sessions/session.h"
#include "tools/render/render.h"

#include <getopt.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void print_conns(const char *label, const struct md_conns *l, int sides)
{
	int total = l[0].n + (sides > 1 ? l[1].n : 0);
	if (!total)
		return;
	printf("      %s:", label);
	for (int k = 0; k < sides; k++) {
		if (sides > 1)
			printf(" %s", k ? "R" : "L");
		for (int i = 0; i < l[k].n; i++)
			printf(" %s", l[k].names[i]);
		if (sides > 1 && !l[k].n)
			printf(" -");
	}
	printf("\n");
}

/* an object's plugin inserts, one line each */
static void print_inserts(const struct md_insert *ins)
{
	for (int k = 0; k < MD_MAX_INSERTS; k++)
		if (ins[k].uri) {
			const struct md_plugin_info *in = plugins_find(ins[k].uri);
			printf("      insert %d: %s <%s>%s%s, %d parameter%s set\n", k + 1, in ? in->name : "?",
			       ins[k].uri, ins[k].bypass ? " (bypassed)" : "",
			       in ? "" : " (not installed: a placeholder)", ins[k].nparams,
			       ins[k].nparams == 1 ? "" : "s");
		}
}

static void print_lanes(enum md_scope sc, const struct md_lane *lanes, int n)
{
	for (int i = 0; i < n; i++) {
		const struct md_param_desc *d = md_param_desc(sc, lanes[i].param);
		printf("      automation %s: %s, %d point%s", d ? d->path : "?", console_auto_mode_name(lanes[i].mode),
		       lanes[i].npoints, lanes[i].npoints == 1 ? "" : "s");
		if (lanes[i].npoints)
			printf(" (%g .. %g s)", lanes[i].t[0], lanes[i].t[lanes[i].npoints - 1]);
		printf("\n");
	}
}

static void describe(const char *path, const struct md_console *c)
{
	char *dircopy = strdup(path);
	const char *dir = dircopy ? dirname(dircopy) : ".";
	printf("%s: a valid mixdesk session (version %d), %u Hz, %d strip%s, %d bus%s\n", path, MD_SESSION_VERSION,
	       c->sample_rate, c->nstrips, c->nstrips == 1 ? "" : "s", c->nbuses, c->nbuses == 1 ? "" : "es");
	for (int i = 0; i < c->nstrips; i++) {
		const struct md_strip_model *s = c->strips[i];
		printf("  strip %d %s: %s, fader %g dB, pan %g", i + 1, s->name, s->stereo ? "stereo" : "mono",
		       (double)s->p[MD_SP_FADER], (double)s->p[MD_SP_PAN]);
		if (s->source) {
			char full[4096];
			if (s->source[0] == '/')
				snprintf(full, sizeof full, "%s", s->source);
			else
				snprintf(full, sizeof full, "%s/%s", dir, s->source);
			printf(", source %s%s", s->source, access(full, R_OK) == 0 ? "" : " (not there yet)");
		}
		printf("\n");
		print_conns("inputs", s->inputs, s->stereo ? 2 : 1);
		for (int b = 0; b < c->nbuses; b++) {
			float lvl = s->p[MD_SP_SEND(b, MD_SEND_LEVEL)];
			if (lvl > MD_SILENCE_DB)
				printf("      send to %s: %g dB %s\n", c->buses[b]->name, (double)lvl,
				       s->p[MD_SP_SEND(b, MD_SEND_PRE)] >= 0.5f ? "pre-fader" : "post-fader");
		}
		print_lanes(MD_SCOPE_STRIP, s->lanes, s->nlanes);
		print_inserts(s->inserts);
	}
	for (int i = 0; i < c->nbuses; i++) {
		const struct md_bus_model *b = c->buses[i];
		const struct md_param_desc *ft = md_param_desc(MD_SCOPE_BUS, MD_BP_FX_TYPE);
		printf("  bus %d %s: fader %g dB, effect %s\n", i + 1, b->name, (double)b->p[MD_BP_FADER],
		       md_param_enum_name(ft, b->p[MD_BP_FX_TYPE]));
		print_conns("outputs", b->outputs, 2);
		print_conns("returns", b->returns, 2);
		print_lanes(MD_SCOPE_BUS, b->lanes, b->nlanes);
		print_inserts(b->inserts);
	}
	printf("  master: fader %g dB, pan law %g dB, tempo %g BPM\n", (double)c->master.p[MD_MP_FADER],
	       (double)c->master.p[MD_MP_PAN_LAW], (double)c->master.p[MD_MP_TEMPO]);
	print_conns("outputs", c->master.outputs, 2);
	print_lanes(MD_SCOPE_MASTER, c->master.lanes, c->master.nlanes);
	print_inserts(c->master.inserts);
	printf("  render: headroom %g dB, %d bits, tail %g s\n", (double)c->render.headroom, c->render.bits,
	       (double)c->render.tail);
	free(dircopy);
}

static void usage(FILE *f, bool full)
{
	fprintf(f, "usage: mixdesk check SESSION.json [--live] [--resample] [--keep-missing-plugins]\n");
	if (!full) {
		fprintf(f,
			"  --live: a missing source is only a warning; --resample: any sample rate "
			"(mixdesk check --help)\n");
		return;
	}
	fprintf(f,
		"Validate a session file and describe what it contains, then check every strip's source exactly\n"
		"as `mixdesk render` does before a bounce: the file is there, readable, an audio file libsndfile\n"
		"reads, at the session's sample rate, with the strip's channel count (a stereo strip needs a stereo\n"
		"file). Every problem is one line on stderr naming the strip, the file and what was expected.\n"
		"  --live      the session is for a console used live (sources are only for render and\n"
		"              playback): a missing source is a warning, not an error\n"
		"  --resample  the bounce will use --resample: a source at another sample rate is fine\n"
		"  --keep-missing-plugins  a plugin insert that is not installed (or cannot run here) is kept as\n"
		"              a placeholder, as `mixdesk --keep-missing-plugins` loads it, not an error\n"
		"Exit status 0 when valid (with --live: missing sources allowed, each with a warning), 1 when\n"
		"not (the reasons on stderr), 2 for a usage error.\n");
}

/* what the sources' check found, printed as it comes */
struct check_run {
	const char *path;
	bool live;
	int errors, missing;
};

static void print_problem(void *ctx, const struct render_problem *p)
{
	struct check_run *x = ctx;
	if (p->kind == RENDER_SRC_MISSING && x->live) {
		fprintf(stderr, "%s: warning: %s; fine for a console used live, but mixdesk render needs it\n", x->path,
			p->msg);
		return;
	}
	fprintf(stderr, "%s: %s\n", x->path, p->msg);
	x->errors++;
	x->missing += p->kind == RENDER_SRC_MISSING;
}

/* the sources checked as a render checks them (render_check_sources): the exit status */
static int check_sources(const char *path, const struct md_console *c, bool live, bool resample)
{
	char *dircopy = strdup(path);
	if (!dircopy) {
		fprintf(stderr, "%s: out of memory\n", path);
		return 1;
	}
	struct check_run x = {.path = path, .live = live};
	fflush(stdout); /* the description first, then the problems */
	render_check_sources(c, dirname(dircopy), resample, print_problem, &x);
	free(dircopy);
	if (!x.errors)
		return 0;
	fprintf(stderr, "%s: %d problem%s with the sources: mixdesk render would refuse this session%s\n", path,
		x.errors, x.errors == 1 ? "" : "s",
		x.missing ? " (with --live a missing source is only a warning)" : "");
	return 1;
}

int mixdesk_check_main(int argc, char **argv)
{
	static const struct option longopts[] = {{"live", no_argument, NULL, 'l'},
						 {"resample", no_argument, NULL, 'r'},
						 {"keep-missing-plugins", no_argument, NULL, 'k'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	bool live = false, resample = false;
	int ch;
	optind = 0; /* GNU: start afresh */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (ch == 'l')
			live = true;
		else if (ch == 'r')
			resample = true;
		else if (ch == 'k')
			session_keep_missing_plugins(true); /* before session_load */
		else if (ch == 'h') {
			usage(stdout, true);
			return 0;
		} else {
			fprintf(stderr, "mixdesk check: unknown option '%s'\n", argv[optind - 1]);
			usage(stderr, false);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr, false);
		return 2;
	}
	const char *path = argv[optind];
	char err[1024];
	struct md_console *c = NULL;
	if (session_load(path, &c, err, sizeof err) != MD_OK) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	describe(path, c);
	int status = check_sources(path, c, live, resample);
	console_free(c);
	return status;
}
