/* mixdesk: one engine or two for pass 1: when the strips may be split between two engines (exactly), and
 * which strips go to which. Every function here is [control].
 *
 * The strips are split into groups, each rendered by its own engine built from a copy of the console with
 * that group's strips, every bus and the master. The master outputs (and the partial bus stems) of the groups
 * are added in a fixed order (group 0, then group 1). This is exact up to float rounding because everything
 * after the strips is linear per sample: a bus sums its sends and multiplies by its gain (fader, mute,
 * balance), the master sums the buses and strips, mixes towards mono (l + mono * ((l + r) / 2 - l)) and
 * multiplies by its gain; the mono amount and every gain are parameter ramps driven by the same values and
 * the same automation lanes in every group's engine, never by the signal. post_strip_linear() is the one
 * place that says so; a non-linear stage after the strips (a bus compressor, a master limiter) must make it
 * return false, and the render then runs one engine. Solo-in-place couples strips across groups (a soloed
 * strip silences the others), so a session with a strip soloed, or with solo automation, runs one engine too. */
#include "tools/render/render_int.h"

#define SPLIT_MIN_STRIPS 4 /* below this one engine is as fast: the buses and master run in every engine */

/* Everything after the strips is linear (see above), so groups of strips can be rendered by separate engines
 * and added. False names the first non-linear stage in why. Today there is none: a bus is sum x gain (its
 * external insert is rendered as off), its built-in reverb or delay is linear in its input (a network of
 * delays, gains and filters whose parameters, like the gains, move with values and lanes, never with the
 * signal), so each engine runs it on its share of the sends; the master is sum, mono mix, x gain. A built-in
 * bus or master effect that is not linear (dynamics, saturation) must be checked here; so is a plugin insert
 * on a bus or the master, which may be anything. */
static bool post_strip_linear(const struct md_console *c, char *why, size_t whylen)
{
	for (int i = 0; i < c->nbuses; i++) {
		if (c->buses[i]->p[MD_BP_INSERT] >= 0.5f) {
			snprintf(why, whylen, "bus '%s' has its insert on", c->buses[i]->name);
			return false;
		}
		/* a plugin may be anything (a compressor, a saturator): one engine runs it on the whole sum */
		for (int k = 0; k < MD_MAX_INSERTS; k++)
			if (c->buses[i]->inserts[k].uri) {
				snprintf(why, whylen, "bus '%s' has a plugin insert", c->buses[i]->name);
				return false;
			}
	}
	for (int k = 0; k < MD_MAX_INSERTS; k++)
		if (c->master.inserts[k].uri) {
			snprintf(why, whylen, "the master has a plugin insert");
			return false;
		}
	/* a strip's plugin may report latency, and its compensation delays every other strip: one engine sees
	 * them all (two would each align their own strips only) */
	for (int i = 0; i < c->nstrips; i++)
		for (int k = 0; k < MD_MAX_INSERTS; k++)
			if (c->strips[i]->inserts[k].uri) {
				snprintf(why, whylen, "strip '%s' has a plugin insert", c->strips[i]->name);
				return false;
			}
	return true;
}

/* a strip's relative cost in the engine: channels x (gains, sends and each filter section that is on) */
static double strip_cost(const struct md_strip_model *s)
{
	const float *p = s->p;
	double units = 2.0; /* trim, fader, pan, sums */
	if (p[MD_SP_HPF_ON] >= 0.5f)
		units += p[MD_SP_HPF_SLOPE] > 12.0f ? 2.0 : 1.0;
	if (p[MD_SP_LPF_ON] >= 0.5f)
		units += p[MD_SP_LPF_SLOPE] > 12.0f ? 2.0 : 1.0;
	if (p[MD_SP_EQ_ON] >= 0.5f)
		for (int b = 0; b < MD_EQ_BANDS; b++)
			units += p[MD_SP_EQ(b, MD_EQ_ON)] >= 0.5f;
	units += 2.0 * (p[MD_SP_COMP_ON] >= 0.5f) + 2.0 * (p[MD_SP_GATE_ON] >= 0.5f);
	units += 6.0 * (p[MD_SP_DRIVE_ON] >= 0.5f); /* 4x oversampled, measured about three EQ bands' worth */
	for (int b = 0; b < MD_MAX_BUSES; b++)
		units += 0.5 * (p[MD_SP_SEND(b, MD_SEND_LEVEL)] > MD_SILENCE_DB);
	return (s->stereo ? 2.0 : 1.0) * units;
}

/* How many engines render the console (1 or 2) and which group each strip goes to. Fixed by the console
 * alone (never by timing), so the same session always renders to the same samples. */
int rdr_split_plan(const struct md_console *c, int threads, int *group_of, char *why, size_t whylen)
{
	for (int i = 0; i < c->nstrips; i++)
		group_of[i] = 0;
	why[0] = 0;
	if (threads == 1) {
		snprintf(why, whylen, "--threads 1");
		return 1;
	}
	if (c->nstrips < SPLIT_MIN_STRIPS) {
		snprintf(why, whylen, "fewer than %d strips", SPLIT_MIN_STRIPS);
		return 1;
	}
	for (int i = 0; i < c->nstrips; i++) {
		const struct md_strip_model *s = c->strips[i];
		bool solo = s->p[MD_SP_SOLO] >= 0.5f;
		for (int k = 0; k < s->nlanes; k++)
			solo |= s->lanes[k].param == MD_SP_SOLO && s->lanes[k].mode != MD_AUTO_OFF &&
				s->lanes[k].npoints;
		if (solo) {
			snprintf(why, whylen, "strip '%s' is soloed or has solo automation", s->name);
			return 1;
		}
	}
	if (!post_strip_linear(c, why, whylen))
		return 1;
	/* greedy by falling cost (ties: by index) into the lighter group (ties: group 0) */
	double cost[MD_MAX_STRIPS], total[RDR_MAX_GROUPS] = {0};
	int order[MD_MAX_STRIPS];
	for (int i = 0; i < c->nstrips; i++) {
		cost[i] = strip_cost(c->strips[i]);
		order[i] = i;
	}
	for (int i = 1; i < c->nstrips; i++) /* insertion sort: stable, at most 256 */
		for (int j = i; j > 0 && cost[order[j]] > cost[order[j - 1]]; j--) {
			int t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (int k = 0; k < c->nstrips; k++) {
		int i = order[k], to = total[1] < total[0];
		group_of[i] = to;
		total[to] += cost[i];
	}
	return 2;
}
