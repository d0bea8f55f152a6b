/* mixdesk check: the command line that validates a session file and describes what it holds. */
#include "tools/mixdesk.h"

#include "engine/model/param.h"
#include "sessions/session.h"

#include <libgen.h>
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
	}
	for (int i = 0; i < c->nbuses; i++) {
		const struct md_bus_model *b = c->buses[i];
		printf("  bus %d %s: fader %g dB\n", i + 1, b->name, (double)b->p[MD_BP_FADER]);
		print_conns("outputs", b->outputs, 2);
		print_conns("returns", b->returns, 2);
		print_lanes(MD_SCOPE_BUS, b->lanes, b->nlanes);
	}
	printf("  master: fader %g dB, pan law %g dB\n", (double)c->master.p[MD_MP_FADER],
	       (double)c->master.p[MD_MP_PAN_LAW]);
	print_conns("outputs", c->master.outputs, 2);
	print_lanes(MD_SCOPE_MASTER, c->master.lanes, c->master.nlanes);
	printf("  render: headroom %g dB, %d bits, tail %g s\n", (double)c->render.headroom, c->render.bits,
	       (double)c->render.tail);
	free(dircopy);
}

int mixdesk_check_main(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		printf("usage: mixdesk check SESSION.json\n"
		       "Validate a session file and describe what it contains. Exit status 0 when valid, 1 when not\n"
		       "(the reason on stderr), 2 for a usage error.\n");
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: mixdesk check SESSION.json\n");
		return 2;
	}
	char err[1024];
	struct md_console *c = NULL;
	if (session_load(argv[1], &c, err, sizeof err) != MD_OK) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	describe(argv[1], c);
	console_free(c);
	return 0;
}
