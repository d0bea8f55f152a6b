/* mixdesk: OSC control (placeholder until the OSC listener lands). */
#include "control.h"

#include <stdio.h>
#include <stdlib.h>

struct md_control {
	struct md_mixer *mixer;
	const char *session_path;
};

struct md_control *control_new(struct md_mixer *m, const struct md_control_opts *o, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	struct md_control *c = calloc(1, sizeof *c);
	if (c) {
		c->mixer = m;
		c->session_path = o->session_path;
	}
	return c;
}

void control_free(struct md_control *c)
{
	free(c);
}

int control_port(const struct md_control *c)
{
	(void)c;
	return 0;
}

int control_fd(const struct md_control *c)
{
	(void)c;
	return -1;
}

void control_recv(struct md_control *c)
{
	(void)c;
}

void control_tick(struct md_control *c, double now)
{
	(void)c;
	(void)now;
}

void control_set_xruns(struct md_control *c, unsigned xruns)
{
	(void)c;
	(void)xruns;
}

const char *control_session_path(const struct md_control *c)
{
	return c->session_path;
}
