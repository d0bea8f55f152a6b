/* mixdesk: automation recording: thinning a recorded move (Ramer-Douglas-Peucker). */
#include "engine/mixer/autorec.h"

#include <math.h>
#include <stdlib.h>

float autorec_tolerance(const struct md_param_desc *d)
{
	return d->unit == MD_UNIT_DB ? 0.1f : 0.005f * (d->max - d->min);
}

/* Ramer-Douglas-Peucker on (t, v) with a vertical tolerance; keep[] marks the survivors. */
static void rdp(const double *t, const float *v, bool *keep, int a, int b, float tol, bool step)
{
	if (b <= a + 1)
		return;
	float worst = 0.0f;
	int wi = -1;
	for (int i = a + 1; i < b; i++) {
		float line = step ? v[a] : (float)((double)v[a] + (t[i] - t[a]) / (t[b] - t[a]) * (double)(v[b] - v[a]));
		float d = fabsf(v[i] - line);
		if (d > worst) {
			worst = d;
			wi = i;
		}
	}
	if (wi >= 0 && worst > tol) {
		keep[wi] = true;
		rdp(t, v, keep, a, wi, tol, step);
		rdp(t, v, keep, wi, b, tol, step);
	}
}

int autorec_thin(double *t, float *v, int n, float tol, bool step)
{
	if (n <= 2)
		return n;
	bool *keep = calloc((size_t)n, sizeof *keep);
	if (!keep)
		return n;
	keep[0] = keep[n - 1] = true;
	if (step) { /* a switch keeps every change and the point before it */
		for (int i = 1; i < n; i++)
			if (v[i] != v[i - 1])
				keep[i] = true;
	} else {
		rdp(t, v, keep, 0, n - 1, tol, step);
	}
	int k = 0;
	for (int i = 0; i < n; i++)
		if (keep[i]) {
			t[k] = t[i];
			v[k] = v[i];
			k++;
		}
	free(keep);
	return k;
}
