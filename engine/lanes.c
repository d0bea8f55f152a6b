/* mixdesk: automation lane interpolation: a breakpoint search and the value between two points. */
#include "engine/lanes.h"

int lanes_point_at(const double *t, int n, double at)
{
	int lo = 0, hi = n - 1;
	while (lo < hi) {
		int mid = (lo + hi + 1) / 2;
		if (t[mid] <= at)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

float lanes_interp(const double *t, const float *v, int n, int i, double at, bool step)
{
	if (at <= t[0])
		return v[0];
	if (i + 1 >= n || step)
		return v[i];
	double f = (at - t[i]) / (t[i + 1] - t[i]);
	return (float)((double)v[i] + f * (double)(v[i + 1] - v[i]));
}

float lanes_value(const struct md_lane *l, double t, bool step)
{
	if (l->npoints == 0)
		return 0.0f;
	return lanes_interp(l->t, l->v, l->npoints, lanes_point_at(l->t, l->npoints, t), t, step);
}
