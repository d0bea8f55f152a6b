/* mixdesk: pan laws for mono sources and balance for stereo ones. */
#include "engine/pan.h"

#include <math.h>

void pan_gains(float law_db, float pan, float *l, float *r)
{
	pan = pan < -1.0f ? -1.0f : pan > 1.0f ? 1.0f : pan;
	if (law_db > -0.01f) {
		*l = fminf(1.0f, 1.0f - pan);
		*r = fminf(1.0f, 1.0f + pan);
		return;
	}
	/* constant-power sin/cos raised to the power that puts the centre exactly at law_db */
	const float e = law_db / (20.0f * log10f(cosf((float)M_PI / 4.0f)));
	const float th = (pan + 1.0f) * (float)M_PI / 4.0f;
	*l = powf(fmaxf(0.0f, cosf(th)), e);
	*r = powf(fmaxf(0.0f, sinf(th)), e);
	if (pan <= -1.0f)
		*r = 0.0f;
	if (pan >= 1.0f)
		*l = 0.0f;
}

void pan_balance_gains(float bal, float *l, float *r)
{
	bal = bal < -1.0f ? -1.0f : bal > 1.0f ? 1.0f : bal;
	*l = fminf(1.0f, 1.0f - bal);
	*r = fminf(1.0f, 1.0f + bal);
}
