/* mixdesk: reading liblo's message arguments. liblo hands them as union lo_arg pointers that are only
 * 4-byte aligned inside the datagram, so reading a double or int64 through the union's members is undefined
 * behaviour (UBSan says so): copy the bytes instead. Shared by the OSC server, mixdesk-osc and the tests. [any] */
#ifndef MD_OSCARG_H
#define MD_OSCARG_H

#include <lo/lo.h>
#include <stdint.h>
#include <string.h>

static inline int32_t osc_arg_i32(const lo_arg *a)
{
	int32_t v;
	memcpy(&v, a, sizeof v);
	return v;
}

static inline float osc_arg_f32(const lo_arg *a)
{
	float v;
	memcpy(&v, a, sizeof v);
	return v;
}

static inline double osc_arg_f64(const lo_arg *a)
{
	double v;
	memcpy(&v, a, sizeof v);
	return v;
}

static inline int64_t osc_arg_i64(const lo_arg *a)
{
	int64_t v;
	memcpy(&v, a, sizeof v);
	return v;
}

#endif
