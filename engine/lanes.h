/* mixdesk: automation lane interpolation, shared by the audio engine (which plays lanes) and the mixer
 * (which records and follows them). */
#ifndef MD_LANES_H
#define MD_LANES_H

#include "engine/model/console.h"

#include <stdbool.h>

/* Breakpoint helpers shared by the engine (which plays lanes) and the mixer (which records and follows them):
 * the index of the last point at or before `at` (0 when before the first), and the value there. [any] */
int lanes_point_at(const double *t, int n, double at);
float lanes_interp(const double *t, const float *v, int n, int i, double at, bool step);
/* The value of a lane at time t (linear, or a step for switches). [any] */
float lanes_value(const struct md_lane *l, double t, bool step);

#endif
