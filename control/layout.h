/* mixdesk: a tablet page for any console: an Open Stage Control session (JSON, json-c) with a mixer tab (every
 * strip, bus and the master: name, pan, mute, solo, meter, a fader that tells mixdesk when it is touched, so
 * touch and latch automation work from the tablet, its dB readout) and a tab per strip (EQ, dynamics, sends).
 * `mixdesk-osc layout SESSION.json` prints it. Every address is one of docs/OSC.md. [any] */
#ifndef MD_LAYOUT_H
#define MD_LAYOUT_H

#include "engine/model/console.h"

/* The session's text (malloc'd), or NULL without memory. */
char *layout_osc_session(const struct md_console *c);

#endif
