/* mixdesk: error strings, level conversions, the fader law, and small helpers (strings, numbers, clock). */
#include "engine/model/md.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *md_strerror(enum md_err err)
{
	switch (err) {
	case MD_OK: return "no error";
	case MD_ERR_NOMEM: return "out of memory";
	case MD_ERR_RANGE: return "value or index out of range";
	case MD_ERR_NAN: return "value is not a finite number";
	case MD_ERR_TYPE: return "wrong type";
	case MD_ERR_NOTFOUND: return "not found";
	case MD_ERR_EXISTS: return "name already in use";
	case MD_ERR_FULL: return "limit reached";
	case MD_ERR_IO: return "input/output error";
	case MD_ERR_FORMAT: return "bad format";
	case MD_ERR_JACK: return "JACK error";
	}
	return "unknown error";
}

float md_db_to_gain(float db)
{
	if (!(db > MD_SILENCE_DB))
		return 0.0f;
	return powf(10.0f, db * 0.05f);
}

float md_gain_to_db(float gain)
{
	if (!(gain > 1e-6f))
		return MD_SILENCE_DB;
	float db = 20.0f * log10f(gain);
	return db < MD_SILENCE_DB ? MD_SILENCE_DB : db;
}

float md_fader_pos_to_db(float pos)
{
	if (!(pos > 0.0f))
		return MD_SILENCE_DB;
	if (pos >= 1.0f)
		return 10.0f;
	if (pos >= 0.5f)
		return 40.0f * pos - 30.0f;
	if (pos >= 0.25f)
		return 80.0f * pos - 50.0f;
	if (pos >= 0.0625f)
		return 160.0f * pos - 70.0f;
	return 480.0f * pos - 90.0f;
}

float md_fader_db_to_pos(float db)
{
	if (db >= 10.0f)
		return 1.0f;
	if (db >= -10.0f)
		return (db + 30.0f) / 40.0f;
	if (db >= -30.0f)
		return (db + 50.0f) / 80.0f;
	if (db >= -60.0f)
		return (db + 70.0f) / 160.0f;
	if (db > -90.0f)
		return (db + 90.0f) / 480.0f;
	return 0.0f;
}

int md_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);
	if (size == 0)
		return -1;
	if (n >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

int md_parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int md_parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

double md_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

long md_gcd(long a, long b)
{
	while (b) {
		long t = a % b;
		a = b;
		b = t;
	}
	return a;
}
