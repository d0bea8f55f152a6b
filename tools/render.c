/* mixdesk: offline render (placeholder until the render work lands). */
#include "render.h"

#include <stdio.h>

int render_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "mixdesk render: not implemented yet\n");
	return 1;
}
