/* mixdesk: the descriptor tables of every strip, bus and master parameter. */
#include "engine/model/param.h"

#include <math.h>
#include <string.h>

static const char *const eq_type_names[] = {"lowshelf", "peak", "highshelf"};
static const float slopes[] = {12.0f, 24.0f};
static const float pan_laws[] = {0.0f, -3.0f, -4.5f, -6.0f};
static const char *const input_names[] = {"jack", "source", "both"};
static const char *const drive_names[] = {"soft", "tape", "tube"};
static const char *const fx_names[] = {"none", "reverb", "delay"};
static const char *const sync_names[] = {"off",  "1/1", "1/2.", "1/2",   "1/2t", "1/4.",  "1/4", "1/4t",
					 "1/8.", "1/8", "1/8t", "1/16.", "1/16", "1/16t", "1/32"};
static const float sync_beats[] = {0,     4,    3,        2,      4.0f / 3, 1.5f,     1,     2.0f / 3,
				   0.75f, 0.5f, 1.0f / 3, 0.375f, 0.25f,    1.0f / 6, 0.125f};
_Static_assert(sizeof sync_names / sizeof *sync_names == MD_SYNC_COUNT, "a name per sync value");
_Static_assert(sizeof sync_beats / sizeof *sync_beats == MD_SYNC_COUNT, "a length per sync value");

/* the tables are laid out by hand, a row per parameter */
// clang-format off
#define LEVEL(p, lo, hi, d) {p, MD_KIND_FLOAT, MD_UNIT_DB, lo, hi, d, NULL, NULL, 0, true, true}
#define SWITCH(p, d, a) {p, MD_KIND_BOOL, MD_UNIT_NONE, 0, 1, d, NULL, NULL, 0, a, false}
#define FLOAT(p, u, lo, hi, d, a) {p, MD_KIND_FLOAT, u, lo, hi, d, NULL, NULL, 0, a, false}
#define SLOPE(p) {p, MD_KIND_CHOICE, MD_UNIT_DB_OCT, 12, 24, 12, NULL, slopes, 2, false, false}
#define EQBAND(n, t, f, g, q, on)                                                                       \
	{"eq/" #n "/type", MD_KIND_ENUM, MD_UNIT_NONE, 0, MD_EQT_COUNT - 1, t, eq_type_names, NULL,      \
	 MD_EQT_COUNT, false, false},                                                                    \
	    FLOAT("eq/" #n "/freq", MD_UNIT_HZ, 20, 20000, f, true),                                    \
	    FLOAT("eq/" #n "/gain", MD_UNIT_DB, -18, 18, g, true), FLOAT("eq/" #n "/q", MD_UNIT_Q, 0.1f, 10, q, true), \
	    SWITCH("eq/" #n "/on", on, false)
#define ENUM(p, names, n, d) {p, MD_KIND_ENUM, MD_UNIT_NONE, 0, (n) - 1, d, names, NULL, n, false, false}
#define SEND(n) LEVEL("send/" #n "/level", -120, 10, -120), SWITCH("send/" #n "/pre", 0, false)

static const struct md_param_desc strip_params[MD_SP_COUNT] = {
	FLOAT("trim", MD_UNIT_DB, -20, 20, 0, true),
	SWITCH("polarity", 0, false),
	LEVEL("fader", -120, 10, 0),
	SWITCH("mute", 0, true),
	SWITCH("solo", 0, false),
	FLOAT("pan", MD_UNIT_PAN, -1, 1, 0, true),
	ENUM("input", input_names, MD_INPUT_COUNT, MD_INPUT_JACK),
	FLOAT("offset", MD_UNIT_S, -3600, 3600, 0, false),
	SWITCH("hpf/on", 0, false),
	FLOAT("hpf/freq", MD_UNIT_HZ, 20, 2000, 80, true),
	SLOPE("hpf/slope"),
	SWITCH("lpf/on", 0, false),
	FLOAT("lpf/freq", MD_UNIT_HZ, 200, 20000, 18000, true),
	SLOPE("lpf/slope"),
	SWITCH("eq/on", 0, false),
	EQBAND(1, MD_EQT_LOWSHELF, 80, 0, 0.7f, 1),
	EQBAND(2, MD_EQT_PEAK, 400, 0, 1.0f, 1),
	EQBAND(3, MD_EQT_PEAK, 3000, 0, 1.0f, 1),
	EQBAND(4, MD_EQT_HIGHSHELF, 10000, 0, 0.7f, 1),
	SWITCH("comp/on", 0, false),
	FLOAT("comp/threshold", MD_UNIT_DB, -60, 0, -18, true),
	FLOAT("comp/ratio", MD_UNIT_RATIO, 1, 20, 4, true),
	FLOAT("comp/attack", MD_UNIT_MS, 0.1f, 200, 10, false),
	FLOAT("comp/release", MD_UNIT_MS, 5, 2000, 120, false),
	FLOAT("comp/knee", MD_UNIT_DB, 0, 24, 6, false),
	FLOAT("comp/makeup", MD_UNIT_DB, 0, 24, 0, true),
	SWITCH("gate/on", 0, false),
	FLOAT("gate/threshold", MD_UNIT_DB, -90, 0, -50, true),
	FLOAT("gate/range", MD_UNIT_DB, -90, 0, -40, false),
	FLOAT("gate/attack", MD_UNIT_MS, 0.05f, 100, 1, false),
	FLOAT("gate/hold", MD_UNIT_MS, 0, 2000, 20, false),
	FLOAT("gate/release", MD_UNIT_MS, 5, 4000, 100, false),
	SWITCH("drive/on", 0, false),
	FLOAT("drive/amount", MD_UNIT_DB, 0, 24, 6, true),
	ENUM("drive/character", drive_names, MD_DRIVE_CHAR_COUNT, MD_DRIVE_CHAR_SOFT),
	FLOAT("drive/mix", MD_UNIT_NONE, 0, 1, 1, true),
	SEND(1), SEND(2), SEND(3), SEND(4), SEND(5), SEND(6), SEND(7), SEND(8),
	SEND(9), SEND(10), SEND(11), SEND(12), SEND(13), SEND(14), SEND(15), SEND(16),
};

static const struct md_param_desc bus_params[MD_BP_COUNT] = {
	LEVEL("fader", -120, 10, 0),
	SWITCH("mute", 0, true),
	FLOAT("balance", MD_UNIT_PAN, -1, 1, 0, true),
	SWITCH("insert", 0, false),
	ENUM("fx/type", fx_names, MD_FX_TYPE_COUNT, MD_FX_NONE),
	FLOAT("fx/decay", MD_UNIT_S, 0.2f, 10, 2, true),
	FLOAT("fx/predelay", MD_UNIT_MS, 0, 250, 20, true),
	FLOAT("fx/low_decay", MD_UNIT_FACTOR, 0.5f, 2.5f, 1.2f, true),
	FLOAT("fx/crossover", MD_UNIT_HZ, 50, 1000, 250, true),
	FLOAT("fx/damping", MD_UNIT_HZ, 1000, 20000, 6000, true),
	FLOAT("fx/width", MD_UNIT_NONE, 0, 1, 1, true),
	FLOAT("fx/size", MD_UNIT_FACTOR, 0.5f, 2, 1, true),
	FLOAT("fx/low_cut", MD_UNIT_HZ, 20, 2000, 80, true),
	FLOAT("fx/time_l", MD_UNIT_MS, 1, 2000, 375, true),
	FLOAT("fx/time_r", MD_UNIT_MS, 1, 2000, 500, true),
	FLOAT("fx/feedback", MD_UNIT_PERCENT, 0, 95, 35, true),
	FLOAT("fx/cross", MD_UNIT_PERCENT, 0, 100, 0, true),
	FLOAT("fx/high_cut", MD_UNIT_HZ, 1000, 20000, 8000, true),
	ENUM("fx/sync", sync_names, MD_SYNC_COUNT, MD_SYNC_OFF),
};

static const struct md_param_desc master_params[MD_MP_COUNT] = {
	LEVEL("fader", -120, 10, 0),
	FLOAT("balance", MD_UNIT_PAN, -1, 1, 0, true),
	SWITCH("mono", 0, false),
	SWITCH("mute", 0, true),
	{"pan_law", MD_KIND_CHOICE, MD_UNIT_DB, -6, 0, -3, NULL, pan_laws, 4, false, false},
	FLOAT("tempo", MD_UNIT_BPM, 20, 300, 120, false),
};
// clang-format on

const struct md_param_desc *md_param_desc(enum md_scope scope, int param)
{
	if (param < 0 || param >= md_param_count(scope))
		return NULL;
	switch (scope) {
	case MD_SCOPE_STRIP: return &strip_params[param];
	case MD_SCOPE_BUS: return &bus_params[param];
	case MD_SCOPE_MASTER: return &master_params[param];
	}
	return NULL;
}

int md_param_count(enum md_scope scope)
{
	switch (scope) {
	case MD_SCOPE_STRIP: return MD_SP_COUNT;
	case MD_SCOPE_BUS: return MD_BP_COUNT;
	case MD_SCOPE_MASTER: return MD_MP_COUNT;
	}
	return 0;
}

int md_param_find(enum md_scope scope, const char *path)
{
	int n = md_param_count(scope);
	for (int i = 0; i < n; i++)
		if (strcmp(md_param_desc(scope, i)->path, path) == 0)
			return i;
	return -1;
}

enum md_err md_param_clamp(const struct md_param_desc *d, float v, float *out, bool *changed)
{
	if (!isfinite(v))
		return MD_ERR_NAN;
	float r = v;
	switch (d->kind) {
	case MD_KIND_FLOAT:
		if (d->smooth_db && r < MD_SILENCE_DB)
			r = MD_SILENCE_DB;
		r = r < d->min ? d->min : r > d->max ? d->max : r;
		break;
	case MD_KIND_BOOL: r = r >= 0.5f ? 1.0f : 0.0f; break;
	case MD_KIND_ENUM:
		r = roundf(r);
		r = r < 0 ? 0 : r > d->count - 1 ? (float)(d->count - 1) : r;
		break;
	case MD_KIND_CHOICE: {
		float best = d->choices[0];
		for (int i = 1; i < d->count; i++)
			if (fabsf(d->choices[i] - v) < fabsf(best - v))
				best = d->choices[i];
		r = best;
		break;
	}
	}
	*out = r;
	if (changed)
		*changed = r != v;
	return MD_OK;
}

const char *md_param_enum_name(const struct md_param_desc *d, float v)
{
	int i = (int)lroundf(v);
	if (d->kind != MD_KIND_ENUM || i < 0 || i >= d->count)
		return NULL;
	return d->names[i];
}

int md_param_enum_value(const struct md_param_desc *d, const char *name)
{
	if (d->kind != MD_KIND_ENUM)
		return -1;
	for (int i = 0; i < d->count; i++)
		if (strcmp(d->names[i], name) == 0)
			return i;
	return -1;
}

const char *md_param_unit_name(enum md_unit u)
{
	switch (u) {
	case MD_UNIT_NONE: return "";
	case MD_UNIT_DB: return "dB";
	case MD_UNIT_PAN: return "-1..+1";
	case MD_UNIT_HZ: return "Hz";
	case MD_UNIT_MS: return "ms";
	case MD_UNIT_RATIO: return ":1";
	case MD_UNIT_Q: return "Q";
	case MD_UNIT_DB_OCT: return "dB/oct";
	case MD_UNIT_S: return "s";
	case MD_UNIT_PERCENT: return "%";
	case MD_UNIT_FACTOR: return "x";
	case MD_UNIT_BPM: return "BPM";
	}
	return "";
}

bool md_param_fx_applies(int param, int type)
{
	if (param >= MD_BP_FX_DECAY && param <= MD_BP_FX_SIZE)
		return type == MD_FX_REVERB;
	if (param == MD_BP_FX_LOW_CUT)
		return type == MD_FX_REVERB || type == MD_FX_DELAY;
	if (param >= MD_BP_FX_TIME_L && param <= MD_BP_FX_SYNC)
		return type == MD_FX_DELAY;
	return true;
}

float md_param_sync_beats(int sync)
{
	return sync > 0 && sync < MD_SYNC_COUNT ? sync_beats[sync] : 0.0f;
}

float md_param_default(enum md_scope scope, int param)
{
	const struct md_param_desc *d = md_param_desc(scope, param);
	return d ? d->def : 0.0f;
}
