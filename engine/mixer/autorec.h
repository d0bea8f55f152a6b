/* mixdesk: automation recording: how a recorded move is thinned to the fewest breakpoints. */
#ifndef MD_AUTOREC_H
#define MD_AUTOREC_H

#include "engine/model/param.h"

#include <stdbool.h>

/* The tolerance a recorded move is thinned to: 0.1 dB for levels, 0.5 % of the range otherwise. */
float autorec_tolerance(const struct md_param_desc *d);
/* Thin points in place (Ramer-Douglas-Peucker): keep the fewest that stay within tol of every original
 * point, linear between them (steps for switches). Returns the new count. [any] */
int autorec_thin(double *t, float *v, int n, float tol, bool step);

#endif
