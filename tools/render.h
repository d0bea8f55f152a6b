/* mixdesk: the offline mixdown render (`mixdesk render`). [control] */
#ifndef MD_RENDER_H
#define MD_RENDER_H

int render_main(int argc, char **argv);

#endif
