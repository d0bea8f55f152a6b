/* mixdesk: the elliptic half-band design and the polyphase up/down-samplers.
 *
 * Design (the classical elliptic half-band, as in Valenzuela and Constantinides 1983; the elliptic function
 * series are those of Abramowitz and Stegun, chapters 16 and 17): with the pass band edge wp = pi/2 - pi * transition (radians
 * at the high rate), the bilinear-transformed analog prototype has selectivity k = tan^2(wp / 2), and the
 * poles of the order N = 2n + 1 elliptic half-band filter lie on the imaginary axis of the z plane, at
 * z^2 = -a_i, with
 *   x_i = cn(u_i) dn(u_i) / (1 + k sn^2(u_i)),   a_i = (1 - x_i) / (1 + x_i),   u_i = 2 i K / N, i = 1..n,
 * where sn, cn and dn are Jacobi's functions of modulus k and K the complete integral. sqrt(k) sn(u) is the
 * ratio of the theta functions theta1 / theta4 at v = pi u / (2 K) = i pi / N, summed as series in the
 * nome q of k (q is about 0.1 for the drive's sharpest filter: five terms reach double precision).
 * The stop band ripple follows from the nome of the N-th degree transformation, q^N: its modulus
 * k1 = 4 sqrt(q^N) prod ((1 + q^(2mN)) / (1 + q^((2m-1)N)))^4, and |H|^2 = k1 / (1 + k1) at the ripple
 * peaks (power complementarity of the half-band: |H(w)|^2 + |H(pi - w)|^2 = 1). */
#include "engine/dsp/halfband.h"

#include <complex.h>
#include <math.h>
#include <string.h>

#define THETA_TERMS 12
#define DENORMAL_FLUSH 1e-25f /* state below this (far under audio, far over float denormals) is zeroed */

/* the nome q of modulus k, by the series in l = (1 - sqrt(k')) / (2 (1 + sqrt(k'))) */
static double nome(double transition)
{
	double k = tan(M_PI / 4.0 - M_PI * transition / 2.0);
	k *= k;
	double kp = sqrt(sqrt(1.0 - k * k));
	double l = 0.5 * (1.0 - kp) / (1.0 + kp), l4 = l * l * l * l;
	return l * (1.0 + l4 * (2.0 + l4 * (15.0 + l4 * 150.0)));
}

double halfband_atten_db(double transition, int n)
{
	double q1 = pow(nome(transition), 2.0 * n + 1.0);
	double k1 = 4.0 * sqrt(q1);
	for (int m = 1; m < THETA_TERMS; m++) {
		double r = (1.0 + pow(q1, 2.0 * m)) / (1.0 + pow(q1, 2.0 * m - 1.0));
		k1 *= r * r * r * r;
	}
	return -10.0 * log10(k1 / (1.0 + k1));
}

double halfband_design(struct md_halfband *h, double transition, double atten_db)
{
	if (!(transition > 1e-4))
		transition = 1e-4;
	if (transition > 0.45)
		transition = 0.45;
	int n = 1;
	while (n < HALFBAND_MAX && halfband_atten_db(transition, n) < atten_db)
		n++;
	int order = 2 * n + 1;
	double k = tan(M_PI / 4.0 - M_PI * transition / 2.0);
	k *= k;
	double q = nome(transition);
	memset(h, 0, sizeof *h);
	for (int i = 1; i <= n; i++) {
		double v = i * M_PI / order;
		double num = 0.0, den = 1.0;
		for (int m = 0; m < THETA_TERMS; m++) {
			double sg = (m & 1) ? -1.0 : 1.0;
			num += sg * pow(q, m * (m + 1.0)) * sin((2 * m + 1) * v);
			if (m > 0)
				den += 2.0 * sg * pow(q, (double)m * m) * cos(2.0 * m * v);
		}
		double w = 2.0 * pow(q, 0.25) * num / den; /* sqrt(k) sn(u_i) */
		double ww = w * w;
		double x = sqrt((1.0 - ww * k) * (1.0 - ww / k)) / (1.0 + ww);
		float a = (float)((1.0 - x) / (1.0 + x));
		/* u_i grows with i, so the a_i come out ascending: alternate them between the branches */
		if ((i - 1) & 1)
			h->a1[h->n1++] = a;
		else
			h->a0[h->n0++] = a;
	}
	h->transition = (float)transition;
	h->atten_db = (float)halfband_atten_db(transition, n);
	return h->atten_db;
}

static double complex response(const struct md_halfband *h, double f)
{
	double complex z1 = cexp(-2.0 * M_PI * I * f), z2 = z1 * z1;
	double complex b0 = 1.0, b1 = 1.0;
	for (int i = 0; i < h->n0; i++)
		b0 *= (h->a0[i] + z2) / (1.0 + h->a0[i] * z2);
	for (int i = 0; i < h->n1; i++)
		b1 *= (h->a1[i] + z2) / (1.0 + h->a1[i] * z2);
	return 0.5 * (b0 + z1 * b1);
}

void halfband_response(const struct md_halfband *h, double f, double *mag, double *delay)
{
	double complex r = response(h, f);
	if (mag)
		*mag = cabs(r);
	if (delay) {
		/* the phase difference over a small step, unwrapped by taking it as the argument of a ratio */
		double df = 1e-6;
		double complex a = response(h, f - df), b = response(h, f + df);
		*delay = -carg(b / a) / (2.0 * M_PI * 2.0 * df);
	}
}

void halfband_reset(struct md_halfband_state *s)
{
	memset(s, 0, sizeof *s);
}

static int flush_one(float *z, int n)
{
	int bad = 0;
	for (int i = 0; i < n; i++) {
		float a = fabsf(z[i]);
		if (!(a < 1e30f))
			bad = 1;
		else if (a < DENORMAL_FLUSH)
			z[i] = 0.0f;
	}
	return bad;
}

int halfband_flush(struct md_halfband_state *s)
{
	int bad = flush_one(s->z0, HALFBAND_BRANCH + 1) | flush_one(s->z1, HALFBAND_BRANCH + 1);
	if (bad)
		halfband_reset(s);
	return bad;
}

/* One branch, one sample: each section y = a (x - y1) + x1, where x1 = z[k] and y1 = z[k + 1]. */
static inline __attribute__((always_inline)) float branch(const float *a, float *z, int n, float x)
{
	for (int k = 0; k < n; k++) {
		float y = a[k] * (x - z[k + 1]) + z[k];
		z[k] = x;
		x = y;
	}
	z[n] = x;
	return x;
}

/* The loops over samples, for a count of sections n0 + n1 that is a constant where they are instantiated:
 * the branches are then unrolled and their state lives in registers (local copies, which cannot alias the
 * caller's buffers). Measured at 48 kHz: the drive's four filters take 19 ns per frame and channel, 30 with
 * the count known only at run time. */
static inline __attribute__((always_inline)) void up_loop(const struct md_halfband *h, struct md_halfband_state *s,
							  const float *in, float *out, uint32_t n, int n0, int n1)
{
	float a0[HALFBAND_BRANCH], a1[HALFBAND_BRANCH], z0[HALFBAND_BRANCH + 1], z1[HALFBAND_BRANCH + 1];
	memcpy(a0, h->a0, sizeof a0);
	memcpy(a1, h->a1, sizeof a1);
	memcpy(z0, s->z0, sizeof z0);
	memcpy(z1, s->z1, sizeof z1);
	for (uint32_t m = 0; m < n; m++) {
		float x = in[m];
		out[2 * m] = branch(a0, z0, n0, x);
		out[2 * m + 1] = branch(a1, z1, n1, x);
	}
	memcpy(s->z0, z0, sizeof z0);
	memcpy(s->z1, z1, sizeof z1);
}

static inline __attribute__((always_inline)) void down_loop(const struct md_halfband *h, struct md_halfband_state *s,
							    const float *in, float *out, uint32_t n, int n0, int n1)
{
	float a0[HALFBAND_BRANCH], a1[HALFBAND_BRANCH], z0[HALFBAND_BRANCH + 1], z1[HALFBAND_BRANCH + 1];
	memcpy(a0, h->a0, sizeof a0);
	memcpy(a1, h->a1, sizeof a1);
	memcpy(z0, s->z0, sizeof z0);
	memcpy(z1, s->z1, sizeof z1);
	/* the output at the odd instants: branch 0 sees the odd samples, branch 1 (behind its z^-1) the even */
	for (uint32_t m = 0; m < n; m++) {
		float e = in[2 * m], o = in[2 * m + 1];
		out[m] = 0.5f * (branch(a0, z0, n0, o) + branch(a1, z1, n1, e));
	}
	memcpy(s->z0, z0, sizeof z0);
	memcpy(s->z1, z1, sizeof z1);
}

/* one instance per count of sections that the designs produce (n0 = n1 or n1 + 1) */
#define HB_CASES(F)                                                                                                    \
	switch (h->n0 * 8 + h->n1) {                                                                                   \
	case 1 * 8 + 0: F(1, 0); break;                                                                                \
	case 1 * 8 + 1: F(1, 1); break;                                                                                \
	case 2 * 8 + 1: F(2, 1); break;                                                                                \
	case 2 * 8 + 2: F(2, 2); break;                                                                                \
	case 3 * 8 + 2: F(3, 2); break;                                                                                \
	case 3 * 8 + 3: F(3, 3); break;                                                                                \
	case 4 * 8 + 3: F(4, 3); break;                                                                                \
	case 4 * 8 + 4: F(4, 4); break;                                                                                \
	case 5 * 8 + 4: F(5, 4); break;                                                                                \
	case 5 * 8 + 5: F(5, 5); break;                                                                                \
	case 6 * 8 + 5: F(6, 5); break;                                                                                \
	default: F(h->n0, h->n1); break;                                                                               \
	}

void halfband_up(const struct md_halfband *h, struct md_halfband_state *s, const float *in, float *out, uint32_t n)
{
#define UP(A, B) up_loop(h, s, in, out, n, A, B)
	HB_CASES(UP)
#undef UP
}

void halfband_down(const struct md_halfband *h, struct md_halfband_state *s, const float *in, float *out, uint32_t n)
{
#define DOWN(A, B) down_loop(h, s, in, out, n, A, B)
	HB_CASES(DOWN)
#undef DOWN
}
