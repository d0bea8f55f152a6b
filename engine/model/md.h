/* mixdesk: limits, error codes and small helpers shared by every module. */
#ifndef MD_H
#define MD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MD_VERSION "0.1.0"

#define MD_MAX_STRIPS 256 /* channel strips in one console */
#define MD_MAX_BUSES 16   /* aux buses; every strip has one send per bus */
#define MD_MAX_SLOTS 1024 /* audio I/O slots (JACK ports or render buffers) */
#define MD_EQ_BANDS 4
#define MD_MAX_INSERTS 8 /* LV2 plugin insert slots on each strip, bus and the master */
#define MD_NAME_MAX 64   /* strip and bus names, including the NUL */
/* breakpoints in one automation lane (1.2 MB; a 1-hour ride thinned to 0.1 dB keeps a few thousand) */
#define MD_LANE_POINTS_MAX 100000
/* raw points of one recording pass before it is thinned on the way */
#define MD_PASS_POINTS_MAX (1 << 20)
#define MD_BLOCK 64             /* the engine works in sub-blocks of at most this many frames */
#define MD_SILENCE_DB (-120.0f) /* a level at or below this is silence */

enum md_err {
	MD_OK = 0,
	MD_ERR_NOMEM,
	MD_ERR_RANGE,    /* an index or value outside what is allowed */
	MD_ERR_NAN,      /* a value that is NaN or infinite */
	MD_ERR_TYPE,     /* wrong kind of value */
	MD_ERR_NOTFOUND, /* no such strip, bus or parameter */
	MD_ERR_EXISTS,   /* a name that is already taken */
	MD_ERR_FULL,     /* a fixed limit or a queue is full */
	MD_ERR_IO,       /* a file or system call failed */
	MD_ERR_FORMAT,   /* a file is not in the expected format */
	MD_ERR_JACK,     /* the JACK server refused or went away */
};

const char *md_strerror(enum md_err err); /* [any] */

/* dB to linear gain; MD_SILENCE_DB and below give exactly 0. [any] */
float md_db_to_gain(float db);
/* linear gain to dB, clamped at MD_SILENCE_DB. [any] */
float md_gain_to_db(float gain);

/* The console fader law (OSC.md): position 0..1 to dB and back. [any] */
float md_fader_pos_to_db(float pos);
float md_fader_db_to_pos(float db);

/* Copy a string into a fixed buffer, always terminated; returns 0 when it fitted. [any] */
int md_strlcpy(char *dst, const char *src, size_t size);

/* A whole number (base 10) or a finite real number, the whole string, within lo..hi: 0, or -1 when it is
 * not one or out of range (*out is then untouched). For command lines. [any] */
int md_parse_long(const char *s, long lo, long hi, long *out);
int md_parse_double(const char *s, double lo, double hi, double *out);

/* Seconds on the monotonic clock. [any] */
double md_now_s(void);

/* No NaN or infinity in x[0..n): a test of the exponent bits, an OR over the block that vectorises. [rt] */
static inline bool md_all_finite(const float *x, uint32_t n)
{
	typedef uint32_t md_u32_alias __attribute__((may_alias));
	const md_u32_alias *u = (const md_u32_alias *)x;
	uint32_t bad = 0;
	for (uint32_t i = 0; i < n; i++)
		bad |= (u[i] & 0x7f800000u) == 0x7f800000u;
	return bad == 0;
}

/* dst += x * w for nch channels of n samples, w going from w0 by dw a sample: what each of two graphs in a
 * crossfade adds into a stage they share (an effect, an insert, a delay line). [rt] */
static inline void md_add_weighted(float (*dst)[MD_BLOCK], float (*x)[MD_BLOCK], int nch, uint32_t n, float w0,
				   float dw)
{
	if (dw == 0.0f && w0 == 1.0f) {
		for (int c = 0; c < nch; c++)
			for (uint32_t i = 0; i < n; i++)
				dst[c][i] += x[c][i];
		return;
	}
	for (int c = 0; c < nch; c++) {
		float w = w0;
		for (uint32_t i = 0; i < n; i++, w += dw)
			dst[c][i] += x[c][i] * w;
	}
}

/* The greatest common divisor of two whole numbers (a, b >= 0; 0 when both are). [any] */
long md_gcd(long a, long b);

#endif
