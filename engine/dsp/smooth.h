/* mixdesk: a linear parameter ramp. A new target restarts the ramp from the current in-between value,
 * and the value lands exactly on the target when the ramp ends (no asymptotic tail). All [rt]. */
#ifndef MD_SMOOTH_H
#define MD_SMOOTH_H

#include <stdint.h>

struct md_smooth {
	float cur, target, step;
	uint32_t left; /* samples until cur == target */
};

static inline void smooth_init(struct md_smooth *s, float v)
{
	s->cur = s->target = v;
	s->step = 0.0f;
	s->left = 0;
}

static inline void smooth_set_target(struct md_smooth *s, float target, uint32_t ramp)
{
	if (target == s->target)
		return;
	s->target = target;
	if (ramp == 0) {
		s->cur = target;
		s->left = 0;
		return;
	}
	s->left = ramp;
	s->step = (target - s->cur) / (float)ramp;
}

static inline float smooth_next(struct md_smooth *s)
{
	if (s->left) {
		if (--s->left == 0)
			s->cur = s->target;
		else
			s->cur += s->step;
	}
	return s->cur;
}

static inline int smooth_active(const struct md_smooth *s)
{
	return s->left != 0;
}

#endif
