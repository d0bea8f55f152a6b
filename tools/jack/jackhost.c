/* mixdesk: the JACK client; the only file that includes <jack/jack.h>. */
#include "tools/jack/jackhost.h"

#include <jack/jack.h>
#include <jack/metadata.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum slot_role { ROLE_NONE, ROLE_IN, ROLE_OUT };

struct md_jackhost {
	struct md_mixer_host hooks; /* first: the mixer calls back through it */
	jack_client_t *client;      /* NULL while there is no server (after a shutdown, before a reconnect) */
	char client_name[MD_NAME_MAX + 1], server_name[256];
	bool has_server_name;
	struct md_mixer *mixer;
	struct md_engine *engine;
	jack_port_t *ports[MD_MAX_SLOTS];
	char port_names[MD_MAX_SLOTS][MD_NAME_MAX + 16];
	/* the metadata each port was given last: set again only when it changes (every property set is a
	 * notification to every client; a whole console's worth after each rebuild is a storm JACK2 can
	 * deadlock in when a client closes meanwhile) */
	char pretty_set[MD_MAX_SLOTS][MD_NAME_MAX + 32];
	int order_set[MD_MAX_SLOTS];
	float *bufs[MD_MAX_SLOTS]; /* [rt] */
	atomic_uint xruns;
	atomic_uint new_rate;
	atomic_bool dead;
	atomic_bool conns_changed; /* a port of ours was connected or disconnected: refresh the cache */
	atomic_uint latency;       /* the console's latency as last reported to JACK, frames (its plugins') */
	char why[256];
	int wake[2];
	bool active;
	/* each slot's connections as last seen while the server ran: what a save records and a reconnect
	 * restores once the server is gone (there is nobody to ask then) */
	struct md_conns cache[MD_MAX_SLOTS];
	bool last_rolling;
	double last_seconds;
	unsigned reconnects;
};

/* ---- callbacks from JACK's threads ---- */

/* [JACK's non-realtime thread] the console's latency on its ports, as a processing client reports it: its
 * outputs are as late as the latest of its inputs plus the console (capture), its inputs as the latest of its
 * outputs plus the console (playback). Our ports are found by name (the control thread may be registering
 * some meanwhile: the slot table is not read here). */
static void on_latency(jack_latency_callback_mode_t mode, void *arg)
{
	struct md_jackhost *h = arg;
	const jack_nframes_t lat = atomic_load(&h->latency);
	char pat[MD_NAME_MAX + 8];
	snprintf(pat, sizeof pat, "^%s:", jack_get_client_name(h->client));
	const unsigned long from = mode == JackCaptureLatency ? JackPortIsInput : JackPortIsOutput;
	const unsigned long to = mode == JackCaptureLatency ? JackPortIsOutput : JackPortIsInput;
	jack_latency_range_t r = {0, 0};
	const char **names = jack_get_ports(h->client, pat, JACK_DEFAULT_AUDIO_TYPE, from);
	for (int i = 0; names && names[i]; i++) {
		jack_port_t *p = jack_port_by_name(h->client, names[i]);
		jack_latency_range_t pr;
		if (!p)
			continue;
		jack_port_get_latency_range(p, mode, &pr);
		r.min = pr.min > r.min ? pr.min : r.min;
		r.max = pr.max > r.max ? pr.max : r.max;
	}
	jack_free(names);
	r.min += lat;
	r.max += lat;
	names = jack_get_ports(h->client, pat, JACK_DEFAULT_AUDIO_TYPE, to);
	for (int i = 0; names && names[i]; i++) {
		jack_port_t *p = jack_port_by_name(h->client, names[i]);
		if (p)
			jack_port_set_latency_range(p, mode, &r);
	}
	jack_free(names);
}

static int on_process(jack_nframes_t n, void *arg) /* [rt] */
{
	struct md_jackhost *h = arg;
	const int16_t *in, *out;
	int nin, nout;
	jack_position_t pos;
	jack_transport_state_t ts = jack_transport_query(h->client, &pos);
	engine_begin(h->engine);
	engine_set_time(h->engine, ts == JackTransportRolling, pos.frame);
	/* a timebase master's tempo, for the delay's sync (none: the session's) */
	engine_set_tempo(h->engine, (pos.valid & JackPositionBBT) ? (float)pos.beats_per_minute : 0.0f);
	engine_io(h->engine, &in, &nin, &out, &nout);
	for (int i = 0; i < nin; i++)
		h->bufs[in[i]] = h->ports[in[i]] ? jack_port_get_buffer(h->ports[in[i]], n) : NULL;
	for (int i = 0; i < nout; i++)
		h->bufs[out[i]] = h->ports[out[i]] ? jack_port_get_buffer(h->ports[out[i]], n) : NULL;
	engine_process(h->engine, h->bufs, n);
	return 0;
}

static int on_xrun(void *arg)
{
	struct md_jackhost *h = arg;
	atomic_fetch_add(&h->xruns, 1);
	return 0;
}

static int on_rate(jack_nframes_t rate, void *arg)
{
	struct md_jackhost *h = arg;
	atomic_store(&h->new_rate, rate);
	return 0;
}

static void on_connect(jack_port_id_t a, jack_port_id_t b, int connect, void *arg)
{
	struct md_jackhost *h = arg;
	(void)a, (void)b, (void)connect;
	atomic_store(&h->conns_changed, true);
}

static void on_shutdown(jack_status_t code, const char *reason, void *arg)
{
	struct md_jackhost *h = arg;
	(void)code;
	/* only async-signal-safe work here: copy, flag, wake the control loop */
	size_t i = 0;
	for (; reason && reason[i] && i < sizeof h->why - 1; i++)
		h->why[i] = reason[i];
	h->why[i] = '\0';
	atomic_store(&h->dead, true);
	ssize_t r = write(h->wake[1], "x", 1);
	(void)r;
}

static void quiet_jack(const char *msg)
{
	(void)msg;
}

static void jack_to_stderr(const char *msg) /* what libjack does by default */
{
	fprintf(stderr, "%s\n", msg);
}

/* ---- ports ---- */

static void port_short_name(char *dst, size_t size, const char *name, const char *suffix)
{
	snprintf(dst, size, "%s%s", name, suffix);
	for (char *p = dst; *p; p++)
		if (*p == ' ')
			*p = '_';
}

static void set_pretty(struct md_jackhost *h, int16_t slot, const char *pretty, int order)
{
	jack_uuid_t uuid = jack_port_uuid(h->ports[slot]);
	if (strcmp(h->pretty_set[slot], pretty) != 0) {
		jack_set_property(h->client, uuid, JACK_METADATA_PRETTY_NAME, pretty, "text/plain");
		md_strlcpy(h->pretty_set[slot], pretty, sizeof h->pretty_set[slot]);
	}
	if (h->order_set[slot] != order) {
		char num[16];
		snprintf(num, sizeof num, "%d", order);
		jack_set_property(h->client, uuid, JACK_METADATA_ORDER, num,
				  "http://www.w3.org/2001/XMLSchema#integer");
		h->order_set[slot] = order;
	}
}

/* A slot's port is gone (or belongs to a dead client): its name and metadata are to be made afresh. */
static void forget_port(struct md_jackhost *h, int16_t slot)
{
	h->ports[slot] = NULL;
	h->port_names[slot][0] = '\0';
	h->pretty_set[slot][0] = '\0';
	h->order_set[slot] = -1;
}

/* Make slot's port exist with this name and direction. */
static enum md_err ensure_port(struct md_jackhost *h, int16_t slot, enum slot_role role, const char *name,
			       const char *suffix, const char *pretty_suffix, int order, bool *created)
{
	char shortname[MD_NAME_MAX + 16], pretty[MD_NAME_MAX + 32];
	port_short_name(shortname, sizeof shortname, name, suffix);
	snprintf(pretty, sizeof pretty, "%s %s", name, pretty_suffix);
	*created = false;
	jack_port_t *p = h->ports[slot];
	if (p && (bool)(jack_port_flags(p) & JackPortIsInput) != (role == ROLE_IN)) {
		jack_port_unregister(h->client, p); /* a slot never changes direction while in use */
		forget_port(h, slot);
		p = NULL;
	}
	if (p) {
		if (strcmp(h->port_names[slot], shortname) != 0) {
			if (jack_port_rename(h->client, p, shortname) != 0) {
				fprintf(stderr, "mixdesk: could not rename port %s to %s\n", h->port_names[slot],
					shortname);
				return MD_ERR_JACK;
			}
			md_strlcpy(h->port_names[slot], shortname, sizeof h->port_names[slot]);
		}
	} else {
		p = jack_port_register(h->client, shortname, JACK_DEFAULT_AUDIO_TYPE,
				       role == ROLE_IN ? JackPortIsInput : JackPortIsOutput, 0);
		if (!p) {
			fprintf(stderr, "mixdesk: JACK refused to register port %s\n", shortname);
			return MD_ERR_JACK;
		}
		forget_port(h, slot);
		h->ports[slot] = p;
		md_strlcpy(h->port_names[slot], shortname, sizeof h->port_names[slot]);
		*created = true;
	}
	set_pretty(h, slot, pretty, order);
	return MD_OK;
}

/* Connect a port to the ports its list names (input: they feed it; output: it feeds them). */
static void connect_list(struct md_jackhost *h, int16_t slot, const struct md_conns *l, bool is_input)
{
	const char *me = jack_port_name(h->ports[slot]);
	for (int i = 0; i < l->n; i++) {
		int r = is_input ? jack_connect(h->client, l->names[i], me) : jack_connect(h->client, me, l->names[i]);
		if (r != 0 && r != EEXIST)
			fprintf(stderr, "mixdesk: could not connect %s %s %s (is that port there?)\n", me,
				is_input ? "from" : "to", l->names[i]);
	}
}

static enum md_err sync_one(struct md_jackhost *h, int16_t slot, enum slot_role role, const char *name,
			    const char *suffix, const char *pretty, int order, const struct md_conns *l)
{
	bool created;
	if (slot < 0)
		return MD_OK;
	enum md_err err = ensure_port(h, slot, role, name, suffix, pretty, order, &created);
	if (!err && created && h->active)
		connect_list(h, slot, l, role == ROLE_IN);
	return err;
}

static enum md_err hook_sync_ports(struct md_mixer_host *hooks, const struct md_console *c)
{
	struct md_jackhost *h = (struct md_jackhost *)hooks;
	if (!h->client || atomic_load(&h->dead))
		return MD_OK; /* no server: the ports are made when one comes back (jackhost_reconnect) */
	enum md_err err = MD_OK;
	int order = 0;
	for (int i = 0; i < c->nstrips && !err; i++) {
		const struct md_strip_model *s = c->strips[i];
		if (s->stereo) {
			err = sync_one(h, s->in_slot[0], ROLE_IN, s->name, "_in_L", "in L", order++, &s->inputs[0]);
			if (!err)
				err = sync_one(h, s->in_slot[1], ROLE_IN, s->name, "_in_R", "in R", order++,
					       &s->inputs[1]);
		} else {
			err = sync_one(h, s->in_slot[0], ROLE_IN, s->name, "_in", "in", order++, &s->inputs[0]);
		}
	}
	for (int i = 0; i < c->nbuses && !err; i++) {
		const struct md_bus_model *b = c->buses[i];
		static const char *const lr[2][2] = {{"_out_L", "_out_R"}, {"_return_L", "_return_R"}};
		static const char *const plr[2][2] = {{"send L", "send R"}, {"return L", "return R"}};
		for (int k = 0; k < 2 && !err; k++)
			err = sync_one(h, b->out_slot[k], ROLE_OUT, b->name, lr[0][k], plr[0][k], order++,
				       &b->outputs[k]);
		for (int k = 0; k < 2 && !err; k++)
			err = sync_one(h, b->ret_slot[k], ROLE_IN, b->name, lr[1][k], plr[1][k], order++,
				       &b->returns[k]);
	}
	if (!err)
		err = sync_one(h, c->master.out_slot[0], ROLE_OUT, "master", "_out_L", "out L", order++,
			       &c->master.outputs[0]);
	if (!err)
		err = sync_one(h, c->master.out_slot[1], ROLE_OUT, "master", "_out_R", "out R", order++,
			       &c->master.outputs[1]);
	return err;
}

static void hook_release_ports(struct md_mixer_host *hooks, const struct md_console *c)
{
	struct md_jackhost *h = (struct md_jackhost *)hooks;
	bool alive = h->client && !atomic_load(&h->dead);
	for (int16_t s = 0; s < MD_MAX_SLOTS; s++)
		if (!console_uses_slot(c, s)) {
			if (h->ports[s] && alive) { /* its metadata first: the next port of that number is another */
				jack_remove_properties(h->client, jack_port_uuid(h->ports[s]));
				jack_port_unregister(h->client, h->ports[s]);
			}
			forget_port(h, s);
			console_conns_clear(&h->cache[s]);
		}
}

/* A slot's connections: asked from the server while it runs, the cache once it is gone. */
static void read_list(struct md_jackhost *h, int16_t slot, struct md_conns *l)
{
	if (slot < 0)
		return;
	if (!h->client || atomic_load(&h->dead)) {
		if (h->cache[slot].n) {
			console_conns_clear(l);
			for (int i = 0; i < h->cache[slot].n; i++)
				console_conns_add(l, h->cache[slot].names[i]);
		}
		return;
	}
	if (!h->ports[slot])
		return;
	console_conns_clear(l);
	const char **names = jack_port_get_all_connections(h->client, h->ports[slot]);
	for (int i = 0; names && names[i]; i++)
		console_conns_add(l, names[i]);
	jack_free(names);
}

/* [control] after a connection changed: every port's connections into the cache */
static void refresh_cache(struct md_jackhost *h)
{
	for (int16_t s = 0; s < MD_MAX_SLOTS; s++) {
		console_conns_clear(&h->cache[s]);
		if (!h->ports[s])
			continue;
		const char **names = jack_port_get_all_connections(h->client, h->ports[s]);
		for (int i = 0; names && names[i]; i++)
			console_conns_add(&h->cache[s], names[i]);
		jack_free(names);
	}
}

static void hook_read_conns(struct md_mixer_host *hooks, struct md_console *c)
{
	struct md_jackhost *h = (struct md_jackhost *)hooks;
	for (int i = 0; i < c->nstrips; i++)
		for (int k = 0; k < 2; k++)
			read_list(h, c->strips[i]->in_slot[k], &c->strips[i]->inputs[k]);
	for (int i = 0; i < c->nbuses; i++)
		for (int k = 0; k < 2; k++) {
			read_list(h, c->buses[i]->out_slot[k], &c->buses[i]->outputs[k]);
			read_list(h, c->buses[i]->ret_slot[k], &c->buses[i]->returns[k]);
		}
	for (int k = 0; k < 2; k++)
		read_list(h, c->master.out_slot[k], &c->master.outputs[k]);
}

static void hook_transport(struct md_mixer_host *hooks, bool *rolling, double *seconds)
{
	struct md_jackhost *h = (struct md_jackhost *)hooks;
	if (h->client && !atomic_load(&h->dead)) {
		jack_position_t pos;
		jack_transport_state_t ts = jack_transport_query(h->client, &pos);
		h->last_rolling = ts == JackTransportRolling;
		h->last_seconds = pos.frame_rate ? (double)pos.frame / (double)pos.frame_rate : 0.0;
	} else {
		h->last_rolling = false; /* no server: the timeline stands where it was */
	}
	*rolling = h->last_rolling;
	*seconds = h->last_seconds;
}

static void hook_transport_cmd(struct md_mixer_host *hooks, int cmd, double seconds)
{
	struct md_jackhost *h = (struct md_jackhost *)hooks;
	if (!h->client || atomic_load(&h->dead))
		return;
	switch (cmd) {
	case MD_TRANSPORT_PLAY: jack_transport_start(h->client); break;
	case MD_TRANSPORT_STOP: jack_transport_stop(h->client); break;
	case MD_TRANSPORT_LOCATE:
		jack_transport_locate(h->client,
				      (jack_nframes_t)(seconds * (double)jack_get_sample_rate(h->client) + 0.5));
		break;
	}
}

/* ---- life cycle ---- */

/* Open a client on the server and set its callbacks (not activated). */
static enum md_err connect_client(struct md_jackhost *h, char *err, size_t errlen)
{
	jack_status_t status;
	jack_options_t opts = JackNoStartServer | (h->has_server_name ? JackServerName : 0);
	h->client = h->has_server_name ? jack_client_open(h->client_name, opts, &status, h->server_name)
				       : jack_client_open(h->client_name, opts, &status);
	if (!h->client) {
		snprintf(err, errlen, "cannot connect to the JACK server%s%s%s (status 0x%x): is jackd running?",
			 h->has_server_name ? " '" : "", h->has_server_name ? h->server_name : "",
			 h->has_server_name ? "'" : "", (unsigned)status);
		return MD_ERR_JACK;
	}
	jack_set_process_callback(h->client, on_process, h);
	jack_set_xrun_callback(h->client, on_xrun, h);
	jack_set_sample_rate_callback(h->client, on_rate, h);
	jack_set_port_connect_callback(h->client, on_connect, h);
	jack_set_latency_callback(h->client, on_latency, h);
	jack_on_info_shutdown(h->client, on_shutdown, h);
	return MD_OK;
}

struct md_jackhost *jackhost_open(const struct md_jackhost_opts *o, char *err, size_t errlen)
{
	struct md_jackhost *h = calloc(1, sizeof *h);
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->wake[0] = h->wake[1] = -1;
	for (int16_t s = 0; s < MD_MAX_SLOTS; s++)
		forget_port(h, s);
	if (pipe(h->wake) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	fcntl(h->wake[0], F_SETFL, O_NONBLOCK);
	fcntl(h->wake[1], F_SETFL, O_NONBLOCK);
	h->hooks.sync_ports = hook_sync_ports;
	h->hooks.release_ports = hook_release_ports;
	h->hooks.read_conns = hook_read_conns;
	h->hooks.transport = hook_transport;
	h->hooks.transport_cmd = hook_transport_cmd;

	md_strlcpy(h->client_name, o->client_name ? o->client_name : "mixdesk", sizeof h->client_name);
	h->has_server_name = o->server_name != NULL;
	if (o->server_name)
		md_strlcpy(h->server_name, o->server_name, sizeof h->server_name);
	if (connect_client(h, err, errlen) != MD_OK)
		goto fail;
	h->mixer = mixer_new(jack_get_sample_rate(h->client), &h->hooks);
	if (!h->mixer) {
		snprintf(err, errlen, "out of memory creating the mixer");
		goto fail;
	}
	h->engine = mixer_engine(h->mixer);
	atomic_store(&h->new_rate, 0);
	return h;
fail:
	jackhost_close(h);
	return NULL;
}

struct md_mixer *jackhost_mixer(struct md_jackhost *h)
{
	return h->mixer;
}

/* A slot's connections: the console's list, and after a reconnect also what the cache saw last. */
static void connect_slot(struct md_jackhost *h, int16_t slot, const struct md_conns *l, bool is_input)
{
	if (slot < 0 || !h->ports[slot])
		return;
	connect_list(h, slot, l, is_input);
	struct md_conns *seen = &h->cache[slot];
	for (int i = 0; i < seen->n; i++)
		if (!console_conns_has(l, seen->names[i])) {
			struct md_conns one = {0};
			if (console_conns_add(&one, seen->names[i]) == MD_OK)
				connect_list(h, slot, &one, is_input);
			console_conns_clear(&one);
		}
}

static void connect_all(struct md_jackhost *h, const struct md_console *c)
{
	for (int i = 0; i < c->nstrips; i++)
		for (int k = 0; k < 2; k++)
			connect_slot(h, c->strips[i]->in_slot[k], &c->strips[i]->inputs[k], true);
	for (int i = 0; i < c->nbuses; i++)
		for (int k = 0; k < 2; k++) {
			connect_slot(h, c->buses[i]->out_slot[k], &c->buses[i]->outputs[k], false);
			connect_slot(h, c->buses[i]->ret_slot[k], &c->buses[i]->returns[k], true);
		}
	for (int k = 0; k < 2; k++)
		connect_slot(h, c->master.out_slot[k], &c->master.outputs[k], false);
}

enum md_err jackhost_activate(struct md_jackhost *h, char *err, size_t errlen)
{
	if (jack_activate(h->client) != 0) {
		snprintf(err, errlen, "the JACK server refused to activate the client");
		return MD_ERR_JACK;
	}
	h->active = true;
	connect_all(h, mixer_console(h->mixer));
	return MD_OK;
}

void jackhost_tick(struct md_jackhost *h)
{
	if (!h->client || atomic_load(&h->dead))
		return;
	unsigned rate = atomic_exchange(&h->new_rate, 0);
	if (rate && rate != mixer_rate(h->mixer))
		mixer_set_rate(h->mixer, rate);
	if (atomic_exchange(&h->conns_changed, false))
		refresh_cache(h);
	/* the plugins' latency changed the console's: the server asks every client again */
	uint32_t lat = engine_latency(h->engine);
	if (lat != atomic_load(&h->latency)) {
		atomic_store(&h->latency, lat);
		jack_recompute_total_latencies(h->client);
	}
}

static enum md_err restore_client(struct md_jackhost *h, char *err, size_t errlen);

enum md_err jackhost_reconnect(struct md_jackhost *h, char *err, size_t errlen)
{
	if (h->client && !atomic_load(&h->dead))
		return MD_OK;
	/* the dead client is not closed: libjack already cleaned it up when its server went away, and a
	 * close would talk to a dead socket. Its ports went with it. */
	h->client = NULL;
	h->active = false;
	for (int16_t s = 0; s < MD_MAX_SLOTS; s++)
		forget_port(h, s);
	/* the threads the new client starts inherit this thread's signal mask: they must not take the program's
	 * signals (they are the control loop's); the mask is put back once the client runs (without this, the
	 * control thread was found with SIGINT and SIGTERM blocked after a reconnect, deaf to Ctrl-C) */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	jack_set_error_function(quiet_jack); /* one line per attempt from libjack would flood stderr */
	enum md_err e = connect_client(h, err, errlen);
	jack_set_error_function(jack_to_stderr);
	if (!e)
		e = restore_client(h, err, errlen);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return e;
}

/* the rest of a reconnect: the console at the new rate, its ports, activation, the connections */
static enum md_err restore_client(struct md_jackhost *h, char *err, size_t errlen)
{
	atomic_store(&h->dead, false);
	h->why[0] = '\0';
	char c;
	while (read(h->wake[0], &c, 1) == 1) /* the shutdown's wake-up is spent */
		;
	uint32_t rate = jack_get_sample_rate(h->client);
	atomic_store(&h->new_rate, 0);
	if (rate != mixer_rate(h->mixer) && mixer_set_rate(h->mixer, rate) != MD_OK)
		fprintf(stderr, "mixdesk: could not rebuild the console at %u Hz\n", rate);
	enum md_err e = hook_sync_ports(&h->hooks, mixer_console(h->mixer));
	if (!e)
		e = jackhost_activate(h, err, errlen);
	else
		snprintf(err, errlen, "could not register the ports again");
	if (e) { /* give up on this server for now: the next attempt starts afresh */
		jack_client_close(h->client);
		h->client = NULL;
		atomic_store(&h->dead, true);
		return e;
	}
	h->reconnects++;
	return MD_OK;
}

void jackhost_info(struct md_jackhost *h, struct md_jack_info *out)
{
	bool alive = h->client && !atomic_load(&h->dead);
	out->alive = alive;
	out->rate = alive ? jack_get_sample_rate(h->client) : 0;
	out->period = alive ? jack_get_buffer_size(h->client) : 0;
	out->realtime = alive && jack_is_realtime(h->client);
	out->load = alive ? jack_cpu_load(h->client) : 0.0f;
	out->xruns = atomic_load(&h->xruns);
	out->reconnects = h->reconnects;
}

bool jackhost_alive(struct md_jackhost *h, const char **why)
{
	if (atomic_load(&h->dead)) {
		if (why)
			*why = h->why[0] ? h->why : "no reason given";
		return false;
	}
	return true;
}

unsigned jackhost_xruns(struct md_jackhost *h)
{
	return atomic_load(&h->xruns);
}

const char *jackhost_client_name(struct md_jackhost *h)
{
	return h->client && !atomic_load(&h->dead) ? jack_get_client_name(h->client) : h->client_name;
}

int jackhost_wake_fd(struct md_jackhost *h)
{
	return h->wake[0];
}

void jackhost_close(struct md_jackhost *h)
{
	if (!h)
		return;
	if (h->client) {
		if (!atomic_load(&h->dead)) {
			if (h->active)
				jack_deactivate(h->client);
			/* Take our ports' metadata away and unregister them while the client is whole: left to
			 * jack_client_close, a console with some hundred ports made the server's clean-up wait on
			 * the closing client and the close never returned. */
			for (int s = 0; s < MD_MAX_SLOTS; s++)
				if (h->ports[s]) {
					jack_remove_properties(h->client, jack_port_uuid(h->ports[s]));
					jack_port_unregister(h->client, h->ports[s]);
					h->ports[s] = NULL;
				}
			jack_client_close(h->client);
		}
		/* after a server shutdown the client is already gone on the server's side; closing it would
		 * talk to a dead socket, so it is left to process exit */
	}
	mixer_free(h->mixer);
	for (int s = 0; s < MD_MAX_SLOTS; s++)
		console_conns_clear(&h->cache[s]);
	if (h->wake[0] >= 0)
		close(h->wake[0]);
	if (h->wake[1] >= 0)
		close(h->wake[1]);
	free(h);
}
