/* mixdesk: coefficients of the cookbook responses for the trapezoidal SVF. With g = tan(pi f0 / fs), k = 1/Q
 * and the SVF's low-pass LP = 1/(s^2 + k s + 1), band-pass BP = s/(...) (s normalised to the corner):
 *   low-pass   LP                                  high-pass  1 - k BP - LP
 *   peak       1 + k (A^2 - 1) BP, k = 1/(Q A)     (= (s^2 + s A/Q + 1) / (s^2 + s/(A Q) + 1))
 *   low shelf  1 + k (A - 1) BP + (A^2 - 1) LP, corner g / sqrt(A)
 *   high shelf A^2 + k (1 - A) A BP + (1 - A^2) LP, corner g sqrt(A)
 * with A = 10^(gain/40): exactly the RBJ prototypes (docs/DSP.md), bilinear-transformed. */
#include "biquad.h"

#include <math.h>
#include <stdbool.h>

void biquad_identity(struct md_biquad *b)
{
	b->a1 = 1.0;
	b->a2 = b->a3 = 0.0;
	b->m0 = 1.0;
	b->m1 = b->m2 = 0.0;
}

void biquad_setup(struct md_biquad *b, enum md_biquad_kind kind, double rate, double freq, double q,
		  double gain_db)
{
	double fmax = 0.49 * rate;
	double f = freq < 1.0 ? 1.0 : freq > fmax ? fmax : freq;
	double g = tan(M_PI * f / rate);
	double k = 1.0 / (q < 0.01 ? 0.01 : q);
	double A = pow(10.0, gain_db / 40.0);
	switch (kind) {
	case MD_BQ_LOWPASS:
		b->m0 = 0.0;
		b->m1 = 0.0;
		b->m2 = 1.0;
		break;
	case MD_BQ_HIGHPASS:
		b->m0 = 1.0;
		b->m1 = -k;
		b->m2 = -1.0;
		break;
	case MD_BQ_PEAK:
		k = 1.0 / (q * A);
		b->m0 = 1.0;
		b->m1 = k * (A * A - 1.0);
		b->m2 = 0.0;
		break;
	case MD_BQ_LOWSHELF:
		g /= sqrt(A);
		b->m0 = 1.0;
		b->m1 = k * (A - 1.0);
		b->m2 = A * A - 1.0;
		break;
	case MD_BQ_HIGHSHELF:
	default:
		g *= sqrt(A);
		b->m0 = A * A;
		b->m1 = k * (1.0 - A) * A;
		b->m2 = 1.0 - A * A;
		break;
	}
	b->a1 = 1.0 / (1.0 + g * (g + k));
	b->a2 = g * b->a1;
	b->a3 = g * b->a2;
}

void biquad_reset(struct md_biquad *b)
{
	for (int c = 0; c < 2; c++)
		b->z[c][0] = b->z[c][1] = 0.0;
}

void biquad_flush(struct md_biquad *b)
{
	bool bad = false;
	for (int c = 0; c < 2; c++)
		for (int k = 0; k < 2; k++) {
			double z = b->z[c][k];
			if (!isfinite(z))
				bad = true;
			else if (fabs(z) < 1e-30)
				b->z[c][k] = 0.0;
		}
	if (bad)
		biquad_reset(b);
}
