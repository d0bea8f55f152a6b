/* mixdesk: coefficients of the cookbook responses for the trapezoidal SVF. With g = tan(pi f0 / fs), k = 1/Q
 * and the SVF's low-pass LP = 1/(s^2 + k s + 1), band-pass BP = s/(...) (s normalised to the corner):
 *   low-pass   LP                                  high-pass  1 - k BP - LP
 *   peak       1 + k (A^2 - 1) BP, k = 1/(Q A)     (= (s^2 + s A/Q + 1) / (s^2 + s/(A Q) + 1))
 *   low shelf  1 + k (A - 1) BP + (A^2 - 1) LP, corner g / sqrt(A)
 *   high shelf A^2 + k (1 - A) A BP + (1 - A^2) LP, corner g sqrt(A)
 * with A = 10^(gain/40): exactly the RBJ prototypes (docs/DSP.md), bilinear-transformed. */
#include "engine/dsp/biquad.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

void biquad_identity(struct md_biquad *b)
{
	b->a1 = 1.0;
	b->a2 = b->a3 = 0.0;
	b->m0 = 1.0;
	b->m1 = b->m2 = 0.0;
}

void biquad_setup(struct md_biquad *b, enum md_biquad_kind kind, double rate, double freq, double q, double gain_db)
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

/* The SVF step rewritten as a 2x2 state-space update on the same two states (s1, s2), with v = x - s2:
 *   y   = kx x + k1 s1 + k2 s2,   kx = m0 + c3, k1 = c1, k2 = m2 - c3,   c1 = m1 a1 + m2 a2, c3 = m1 a2 + m2 a3
 *   s1' = p11 s1 + pv v,          p11 = 2 a1 - 1, pv = 2 a2
 *   s2' = s2 + pv s1 + pv2 v,     pv2 = 2 a3
 * 7 multiplies and 6 adds instead of 17 operations. */
struct ss {
	double kx, k1, k2, p11, pv, pv2;
};

static void ss_coefs(const struct md_biquad *q, struct ss *k)
{
	double c1 = q->m1 * q->a1 + q->m2 * q->a2, c3 = q->m1 * q->a2 + q->m2 * q->a3;
	k->kx = q->m0 + c3;
	k->k1 = c1;
	k->k2 = q->m2 - c3;
	k->p11 = 2.0 * q->a1 - 1.0;
	k->pv = 2.0 * q->a2;
	k->pv2 = 2.0 * q->a3;
}

/* two lanes of doubles: the left and right channel of one section (a GCC/Clang vector extension) */
typedef double v2d __attribute__((vector_size(16)));

void biquad_process_chain(struct md_biquad *const *b, int ns, float *const ch[2], int nch, uint32_t n)
{
	if (ns <= 0)
		return;
	if (ns > MD_BQ_CHAIN_MAX)
		ns = MD_BQ_CHAIN_MAX;
	/* the state-space form (struct ss), coefficients broadcast to both lanes */
	v2d kx[MD_BQ_CHAIN_MAX], k1[MD_BQ_CHAIN_MAX], k2[MD_BQ_CHAIN_MAX], p11[MD_BQ_CHAIN_MAX], pv[MD_BQ_CHAIN_MAX],
		pv2[MD_BQ_CHAIN_MAX];
	v2d s1[MD_BQ_CHAIN_MAX], s2[MD_BQ_CHAIN_MAX];
	for (int j = 0; j < ns; j++) {
		const struct md_biquad *q = b[j];
		struct ss k;
		ss_coefs(q, &k);
		kx[j] = (v2d){k.kx, k.kx};
		k1[j] = (v2d){k.k1, k.k1};
		k2[j] = (v2d){k.k2, k.k2};
		p11[j] = (v2d){k.p11, k.p11};
		pv[j] = (v2d){k.pv, k.pv};
		pv2[j] = (v2d){k.pv2, k.pv2};
		s1[j] = (v2d){q->z[0][0], q->z[1][0]};
		s2[j] = (v2d){q->z[0][1], q->z[1][1]};
	}
	float *l = ch[0], *r = nch == 2 ? ch[1] : ch[0];
	for (uint32_t i = 0; i < n; i++) {
		v2d x = {l[i], r[i]};
		for (int j = 0; j < ns; j++) {
			v2d a = s1[j], c = s2[j], v = x - c;
			/* the state terms first: only one multiply and one add stand between a section's input and
			 * its output, which is the chain the eight sections wait on */
			x = (k1[j] * a + k2[j] * c) + kx[j] * x;
			s1[j] = p11[j] * a + pv[j] * v;
			s2[j] = c + pv[j] * a + pv2[j] * v;
		}
		l[i] = (float)x[0];
		if (nch == 2)
			r[i] = (float)x[1];
	}
	for (int j = 0; j < ns; j++) {
		b[j]->z[0][0] = s1[j][0];
		b[j]->z[0][1] = s2[j][0];
		if (nch == 2) {
			b[j]->z[1][0] = s1[j][1];
			b[j]->z[1][1] = s2[j][1];
		}
	}
}

/* four lanes of doubles: one channel each (with AVX one register, with SSE2 two) */
typedef double v4d __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));

/* [rt] one group of MD_BQ_LANES lanes with ns sections each (lanes with fewer get identity sections) */
// clang-format off
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
static void lanes_group(struct md_bq_lane *const *lane, int ns, float *const xs[MD_BQ_LANES], uint32_t n)
// clang-format on
{
	/* the state-space form (struct ss); lane k of each vector is lane[k]'s section j, or the identity
	 * (kx = 1, p11 = 1, everything else 0: the state stays at 0) */
	v4d kx[MD_BQ_CHAIN_MAX], k1[MD_BQ_CHAIN_MAX], k2[MD_BQ_CHAIN_MAX], p11[MD_BQ_CHAIN_MAX], pv[MD_BQ_CHAIN_MAX],
		pv2[MD_BQ_CHAIN_MAX], s1[MD_BQ_CHAIN_MAX], s2[MD_BQ_CHAIN_MAX];
	for (int j = 0; j < ns; j++)
		for (int k = 0; k < MD_BQ_LANES; k++) {
			const struct md_biquad *q = j < lane[k]->ns ? lane[k]->s[j] : NULL;
			if (!q) {
				kx[j][k] = 1.0;
				k1[j][k] = k2[j][k] = pv[j][k] = pv2[j][k] = s1[j][k] = s2[j][k] = 0.0;
				p11[j][k] = 1.0;
				continue;
			}
			const int c = lane[k]->c;
			struct ss ks;
			ss_coefs(q, &ks);
			kx[j][k] = ks.kx;
			k1[j][k] = ks.k1;
			k2[j][k] = ks.k2;
			p11[j][k] = ks.p11;
			pv[j][k] = ks.pv;
			pv2[j][k] = ks.pv2;
			s1[j][k] = q->z[c][0];
			s2[j][k] = q->z[c][1];
		}
	float *x0 = xs[0], *x1 = xs[1], *x2 = xs[2], *x3 = xs[3];
	for (uint32_t i = 0; i < n; i++) {
		v4d x = __builtin_convertvector(((v4f){x0[i], x1[i], x2[i], x3[i]}), v4d);
		for (int j = 0; j < ns; j++) {
			v4d a = s1[j], c = s2[j], v = x - c;
			x = (k1[j] * a + k2[j] * c) + kx[j] * x;
			s1[j] = p11[j] * a + pv[j] * v;
			s2[j] = c + pv[j] * a + pv2[j] * v;
		}
		v4f y = __builtin_convertvector(x, v4f);
		x0[i] = y[0];
		x1[i] = y[1];
		x2[i] = y[2];
		x3[i] = y[3];
	}
	for (int k = 0; k < MD_BQ_LANES; k++)
		for (int j = 0; j < lane[k]->ns; j++) {
			lane[k]->s[j]->z[lane[k]->c][0] = s1[j][k];
			lane[k]->s[j]->z[lane[k]->c][1] = s2[j][k];
		}
}

void biquad_process_lanes(struct md_bq_lane *lanes, int nl, uint32_t n, int16_t *order)
{
	/* longest chains first (a counting sort on ns), so that a group's lanes mostly have the same length */
	int no = 0;
	for (int ns = MD_BQ_CHAIN_MAX; ns >= 1; ns--)
		for (int i = 0; i < nl; i++)
			if (lanes[i].ns == ns)
				order[no++] = (int16_t)i;
	/* a group with fewer lanes than a vector fills up with an identity lane on a silent scratch block */
	enum { CHUNK = 64 };
	float pad_x[CHUNK];
	struct md_bq_lane pad = {.ns = 0, .c = 0, .x = NULL};
	for (int g = 0; g < no; g += MD_BQ_LANES) {
		struct md_bq_lane *grp[MD_BQ_LANES];
		for (int k = 0; k < MD_BQ_LANES; k++)
			grp[k] = g + k < no ? &lanes[order[g + k]] : &pad;
		for (uint32_t off = 0; off < n; off += CHUNK) {
			uint32_t m = n - off < CHUNK ? n - off : CHUNK;
			float *xs[MD_BQ_LANES];
			for (int k = 0; k < MD_BQ_LANES; k++)
				xs[k] = grp[k]->x ? grp[k]->x + off : pad_x;
			if (g + MD_BQ_LANES > no)
				memset(pad_x, 0, sizeof pad_x);
			lanes_group(grp, grp[0]->ns, xs, m);
		}
	}
}
