/* mixdesk: the subcommands of the mixdesk program, each in its own file (tools/mixdesk-SUB.c). */
#ifndef MD_MIXDESK_H
#define MD_MIXDESK_H

/* `mixdesk render SESSION.json -o MIX.wav [options]`: argv[0] is "render". Exit status 0, 1 (error),
 * 2 (bad command line), 130 (interrupted). */
int mixdesk_render_main(int argc, char **argv);
/* `mixdesk check SESSION.json` (argv[0] is "check"): validate and describe on stdout; exit status 0 when
 * valid, 1 with the error on stderr, 2 for a usage error. */
int mixdesk_check_main(int argc, char **argv);

#endif
