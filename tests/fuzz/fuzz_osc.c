/* mixdesk fuzz target: the OSC control side (control/: the allowlist, liblo's parsing, the route table and
 * every handler, feedback, meters, automation, sessions) on a JACK-free console whose engine really runs.
 *
 * One input is a sequence of frames, each a 2-byte big-endian header (kind in the top 3 bits, payload
 * length in the other 13) and its payload; a short last frame takes what is left:
 *   0, 1  an OSC datagram from sender A or B (127.0.0.1, two sockets that read the answers back)
 *   2     the same from 10.9.8.7, which the allowlist drops
 *   3, 4  the same from [::1] and [::ffff:127.0.0.1] (both admitted; answers cannot go: the socket is IPv4)
 *   5     a session command from A: payload[0] picks save / save-as / load and payload[1] a file, always in
 *         the sandbox (see below)
 *   6     time: run payload[0] periods (with the control ticks between them); payload[1] bit 0 flips the
 *         host's "JACK alive", bits 1..7 add xruns
 *   7     a datagram from A with no tick after it, so several can arrive between two ticks, as in a flood
 * After every frame but kind 7 the control loop ticks (mixer_tick, control_tick 10 ms later); the audio
 * side (engine_begin, engine_process on a quiet tone, the fake transport moving) runs in time frames, at
 * the end of the input and until every graph swap the input caused is done. Every answer read back must
 * parse as OSC, and every session file the console saves must load again.
 *
 * The mixer's host has no JACK and no ports (a NULL host works as well, the unit tests use one): it only
 * keeps a transport, so that /transport/... moves it and automation records and plays against it.
 *
 * Each input starts from the same console (4 strips, mono and stereo, 2 buses, lanes), stopped transport,
 * no subscribers, the sandbox's session file as the control's and the sandbox as it was (base.json as
 * written at the start, no other session saved), so a crash replays from its input alone, and ends there
 * with every graph it caused freed, so each input frees what it allocates (libFuzzer's leak check). The
 * console is put back as cheaply as it can be: its parameters set back when nothing else changed (and no
 * datagram said "touch": a held control is mixer state the console does not show), else the whole
 * console replaced; the same happens when an input grows it past 32 strips.
 *
 * Why sessions are a frame kind of their own: /session/save s PATH writes PATH, and /session/load s PATH
 * makes a later bare /session/save write it, so a mutated path would write anywhere on the disk. Raw
 * datagrams have every "/session/" turned into "/Session/" (an unknown address: routes match literally, so
 * no other spelling reaches those handlers), and kind 5 builds the session messages itself with paths in a
 * private directory (on /dev/shm when there is one: saves fsync), removed at exit. */
#include "tests/fuzz/fuzz.h"

#include "control/control.h"
#include "control/oscnet.h"
#include "engine/engine.h"
#include "engine/mixer/mixer.h"
#include "engine/model/console.h"
#include "sessions/session.h"

#include <arpa/inet.h>
#include <assert.h>
#include <dirent.h>
#include <lo/lo.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define RATE 48000
#define PERIOD 64         /* frames per engine period */
#define TICK 0.010        /* control-loop seconds per frame */
#define MAX_STRIPS 32     /* an input that grows the console past this starts it again */
#define MAX_PERIODS 32    /* a time frame runs at most this many periods */
#define INPUT_PERIODS 256 /* and all the time frames of one input this many */

enum { K_A, K_B, K_REJECTED, K_V6, K_MAPPED, K_SESSION, K_TIME, K_BURST };

/* the transport a JACK server would keep: the engine follows it, automation records against it */
struct fake_host {
	struct md_mixer_host h;
	bool rolling;
	uint64_t frame;
};

static struct {
	bool ready;
	char dir[128], base[192];
	struct fake_host host;
	struct md_console *start; /* what every input starts from */
	struct md_mixer *m;
	struct md_control *c;
	int sink[2];                     /* senders A and B: the answers arrive here */
	struct sockaddr_storage from[5]; /* the sender of each raw kind */
	socklen_t fromlen[5];
	lo_server check; /* parses the answers */
	struct md_host_status hs;
	double now;
	int periods_left; /* of this input's time frames */
	bool touched;     /* a datagram of this input may have held a control (".../touch") */
	bool saved;       /* this input saved a session into the sandbox */
	char *base_text;  /* base.json as written at the start */
	float *bufs[MD_MAX_SLOTS];
	float slot_buf[MD_MAX_SLOTS][PERIOD];
	float tone[PERIOD];
	unsigned char dgram[MD_OSC_RECV_MAX];
} S;

static void host_transport(struct md_mixer_host *h, bool *rolling, double *seconds)
{
	struct fake_host *f = (struct fake_host *)h;
	*rolling = f->rolling;
	*seconds = (double)f->frame / RATE;
}

static void host_transport_cmd(struct md_mixer_host *h, int cmd, double seconds)
{
	struct fake_host *f = (struct fake_host *)h;
	if (cmd == MD_TRANSPORT_PLAY)
		f->rolling = true;
	else if (cmd == MD_TRANSPORT_STOP)
		f->rolling = false;
	else
		f->frame = (uint64_t)(seconds * RATE + 0.5); /* the mixer checked the range */
}

/* one period of the audio side, as the JACK process callback does it */
static void period(void)
{
	struct md_engine *e = mixer_engine(S.m);
	engine_begin(e);
	engine_set_time(e, S.host.rolling, S.host.frame);
	const int16_t *in, *out;
	int nin, nout;
	engine_io(e, &in, &nin, &out, &nout);
	for (int i = 0; i < nin; i++) {
		assert(in[i] >= 0 && in[i] < MD_MAX_SLOTS);
		memcpy(S.slot_buf[in[i]], S.tone, sizeof S.tone);
	}
	for (int i = 0; i < nout; i++)
		assert(out[i] >= 0 && out[i] < MD_MAX_SLOTS);
	engine_process(e, S.bufs, PERIOD);
	if (S.host.rolling)
		S.host.frame += PERIOD;
}

/* [control] every answer is an OSC message or bundle with an address */
static int check_answer(const char *path, const char *types, lo_arg **argv, int argc, lo_message msg, void *user)
{
	assert(path && path[0] == '/');
	assert(types && (int)strlen(types) == argc);
	return 0;
}

static void drain_answers(void)
{
	for (int k = 0; k < 2; k++)
		for (;;) {
			ssize_t r = recv(S.sink[k], S.dgram, sizeof S.dgram, MSG_DONTWAIT);
			if (r < 0)
				break;
			assert(r > 0);
			int ok = lo_server_dispatch_data(S.check, S.dgram, (size_t)r);
			assert(ok >= 0);
			(void)ok;
		}
}

/* what the control loop does between two datagrams */
static void step(void)
{
	mixer_tick(S.m);
	S.now += TICK;
	control_tick(S.c, S.now);
	drain_answers();
}

static void feed(int kind, const void *data, size_t len)
{
	int who = kind == K_BURST || kind == K_SESSION ? K_A : kind;
	control_feed(S.c, data, len, (const struct sockaddr *)&S.from[who], S.fromlen[who], S.now);
}

static void feed_msg(const char *path, lo_message msg)
{
	size_t len = 0;
	void *data = lo_message_serialise(msg, path, NULL, &len);
	assert(data);
	feed(K_SESSION, data, len);
	free(data);
	lo_message_free(msg);
}

static void sandbox_file(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", S.dir, name);
}

/* whatever the console saved loads again (a file there was written by a save: bad.json never is) */
static void check_saved(const char *path)
{
	if (access(path, F_OK) != 0)
		return;
	struct md_console *con = NULL;
	char err[512];
	enum md_err e = session_load(path, &con, err, sizeof err);
	if (e != MD_OK)
		fprintf(stderr, "fuzz_osc: a session the console saved does not load: %s\n", err);
	assert(e == MD_OK);
	console_free(con);
}

/* kind 5: save (to the current session file, to a sandbox file, to "" and with a wrong type) or load */
static void session_cmd(const uint8_t *p, size_t len)
{
	static const char *const save_as[] = {"a.json", "b.json", "nodir/c.json"};
	static const char *const load[] = {"base.json", "a.json", "b.json", "bad.json", "missing.json"};
	int op = len > 0 ? p[0] % 6 : 0, file = len > 1 ? p[1] : 0;
	char path[256];
	lo_message msg = lo_message_new();
	assert(msg);
	switch (op) {
	case 0:
		snprintf(path, sizeof path, "%s", control_session_path(S.c));
		feed_msg("/session/save", msg);
		control_save_wait(S.c); /* saves are written on a thread: this one must be done before the check */
		check_saved(path);
		S.saved = true;
		break;
	case 1:
		sandbox_file(path, sizeof path, save_as[file % 3]);
		lo_message_add_string(msg, path);
		feed_msg("/session/save", msg);
		control_save_wait(S.c); /* saves are written on a thread: this one must be done before the check */
		check_saved(path);
		S.saved = true;
		break;
	case 2:
		sandbox_file(path, sizeof path, load[file % 5]);
		lo_message_add_string(msg, path);
		feed_msg("/session/load", msg);
		break;
	case 3:
		lo_message_add_string(msg, "");
		feed_msg("/session/save", msg);
		control_save_wait(S.c);
		break;
	case 4:
		lo_message_add_int32(msg, file);
		feed_msg("/session/save", msg);
		control_save_wait(S.c);
		break;
	default: feed_msg("/session/load", msg); break;
	}
}

/* kind 6: let time pass; the host's state may change meanwhile */
static void time_cmd(const uint8_t *p, size_t len)
{
	int n = len > 0 ? p[0] % (MAX_PERIODS + 1) : 1;
	if (len > 1) {
		if (p[1] & 1)
			S.hs.jack_alive = !S.hs.jack_alive;
		S.hs.xruns += p[1] >> 1;
		control_set_host(S.c, &S.hs);
	}
	for (int i = 0; i < n && S.periods_left > 0; i++, S.periods_left--) {
		period();
		step();
	}
}

/* Run the engine until no graph but the current one is alive (crossfades done, the retired graphs freed),
 * so that an input frees every graph it made. */
static void settle(void)
{
	struct md_engine *e = mixer_engine(S.m);
	for (int i = 0; i < 256; i++) {
		mixer_tick(S.m);
		if (!engine_swap_pending(e)) {
			mixer_tick(S.m); /* builds the graph an edit left waiting for the one just freed */
			if (!engine_swap_pending(e))
				return;
		}
		period();
	}
	assert(!"the engine does not settle: a graph swap never completes");
}

static bool same_lanes(const struct md_lane *a, int na, const struct md_lane *b, int nb)
{
	if (na != nb)
		return false;
	for (int i = 0; i < na; i++)
		if (a[i].param != b[i].param || a[i].mode != b[i].mode || a[i].npoints != b[i].npoints ||
		    memcmp(a[i].t, b[i].t, (size_t)a[i].npoints * sizeof *a[i].t) != 0 ||
		    memcmp(a[i].v, b[i].v, (size_t)a[i].npoints * sizeof *a[i].v) != 0)
			return false;
	return true;
}

/* whether two consoles differ at most in their parameter values and I/O slots (which the mixer assigns
 * from the rest); OSC changes nothing else that is not compared here */
static bool same_shape(const struct md_console *a, const struct md_console *b)
{
	if (a->nstrips != b->nstrips || a->nbuses != b->nbuses ||
	    !same_lanes(a->master.lanes, a->master.nlanes, b->master.lanes, b->master.nlanes))
		return false;
	for (int i = 0; i < a->nstrips; i++) {
		const struct md_strip_model *x = a->strips[i], *y = b->strips[i];
		if (strcmp(x->name, y->name) != 0 || x->stereo != y->stereo || x->uid != y->uid ||
		    !same_lanes(x->lanes, x->nlanes, y->lanes, y->nlanes))
			return false;
	}
	for (int i = 0; i < a->nbuses; i++) {
		const struct md_bus_model *x = a->buses[i], *y = b->buses[i];
		if (strcmp(x->name, y->name) != 0 || x->uid != y->uid ||
		    !same_lanes(x->lanes, x->nlanes, y->lanes, y->nlanes))
			return false;
	}
	return true;
}

/* set back every parameter of one object that differs from the starting console */
static void restore(enum md_scope scope, int index, const float *now, const float *start, int n)
{
	for (int p = 0; p < n; p++)
		if (now[p] != start[p])
			mixer_set(S.m, scope, index, p, start[p], NULL, NULL);
}

/* set back the parameters; false when that did not bring the console back to the start */
static bool restore_values(void)
{
	const struct md_console *c = mixer_console(S.m), *s = S.start;
	for (int i = 0; i < s->nstrips; i++)
		restore(MD_SCOPE_STRIP, i, c->strips[i]->p, s->strips[i]->p, MD_SP_COUNT);
	for (int i = 0; i < s->nbuses; i++)
		restore(MD_SCOPE_BUS, i, c->buses[i]->p, s->buses[i]->p, MD_BP_COUNT);
	restore(MD_SCOPE_MASTER, 0, c->master.p, s->master.p, MD_MP_COUNT);
	for (int i = 0; i < s->nstrips; i++)
		if (memcmp(c->strips[i]->p, s->strips[i]->p, sizeof s->strips[i]->p) != 0)
			return false;
	for (int i = 0; i < s->nbuses; i++)
		if (memcmp(c->buses[i]->p, s->buses[i]->p, sizeof s->buses[i]->p) != 0)
			return false;
	return memcmp(c->master.p, s->master.p, sizeof s->master.p) == 0;
}

/* the sandbox as it was at the start: base.json as written then, no other session saved */
static void restore_sandbox(void)
{
	static const char *const saved[] = {"a.json", "b.json", "a.json.bak", "b.json.bak", "base.json.bak"};
	char path[256];
	for (size_t i = 0; i < sizeof saved / sizeof saved[0]; i++) {
		sandbox_file(path, sizeof path, saved[i]);
		unlink(path);
	}
	FILE *f = fopen(S.base, "w");
	assert(f);
	fputs(S.base_text, f);
	fclose(f);
	S.saved = false;
}

/* Back to the starting state: subscriptions lapse, the transport stops at 0 (and the mixer ends its
 * passes), the host is alive, the sandbox as it was, the control's session path is the sandbox's session
 * file (by loading it when a load or save-as moved it), the starting console, every graph but its own
 * freed. */
static void reset(void)
{
	control_save_wait(S.c); /* no save of this input may still be written during the next */
	S.now += 60.0;
	S.host.rolling = false;
	S.host.frame = 0;
	step();
	S.hs.jack_alive = true;
	control_set_host(S.c, &S.hs);
	if (S.saved)
		restore_sandbox();
	if (strcmp(control_session_path(S.c), S.base) != 0) {
		lo_message msg = lo_message_new();
		lo_message_add_string(msg, S.base);
		feed_msg("/session/load", msg);
		assert(strcmp(control_session_path(S.c), S.base) == 0);
	}
	if (S.touched || !same_shape(mixer_console(S.m), S.start) || !restore_values()) {
		struct md_console *con = console_clone(S.start);
		assert(con);
		enum md_err e = mixer_replace(S.m, con);
		assert(e == MD_OK);
		(void)e;
	}
	S.touched = false;
	settle();
	step();
}

static int open_sink(struct sockaddr_storage *ss, socklen_t *len)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert(fd >= 0);
	int rcv = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int r = bind(fd, (struct sockaddr *)&a, sizeof a);
	assert(r == 0);
	*len = sizeof *ss;
	r = getsockname(fd, (struct sockaddr *)ss, len);
	assert(r == 0);
	(void)r;
	return fd;
}

static void set_from(int kind, const char *addr, int port)
{
	int r = oscnet_sockaddr(addr, port, &S.from[kind], &S.fromlen[kind]);
	assert(r == 0);
	(void)r;
}

static void cleanup(void)
{
	control_free(S.c);
	mixer_free(S.m);
	console_free(S.start);
	if (S.check)
		lo_server_free(S.check);
	for (int k = 0; k < 2; k++)
		close(S.sink[k]);
	DIR *d = opendir(S.dir);
	if (d) {
		struct dirent *e;
		char path[512];
		while ((e = readdir(d)))
			if (e->d_name[0] != '.') {
				snprintf(path, sizeof path, "%s/%s", S.dir, e->d_name);
				unlink(path);
			}
		closedir(d);
	}
	rmdir(S.dir);
}

/* the starting console: mono and stereo strips, two buses with sends, lanes on a strip, a bus, the master */
static struct md_console *start_console(void)
{
	struct md_console *c = console_new(RATE);
	assert(c);
	static const char *const names[] = {"Kick", "Keys", "Vox", "Gtr"};
	for (int i = 0; i < 4; i++) {
		enum md_err e = console_add_strip(c, names[i], i % 2 == 1, NULL);
		assert(e == MD_OK);
		(void)e;
	}
	console_add_bus(c, "Reverb", NULL);
	console_add_bus(c, "Delay", NULL);
	console_set(c, MD_SCOPE_STRIP, 2, MD_SP_SEND(0, MD_SEND_LEVEL), -10.0f, NULL, NULL);
	console_set(c, MD_SCOPE_STRIP, 1, MD_SP_SEND(1, MD_SEND_PRE), 1.0f, NULL, NULL);
	console_set(c, MD_SCOPE_STRIP, 0, MD_SP_COMP_ON, 1.0f, NULL, NULL);
	console_set(c, MD_SCOPE_STRIP, 0, MD_SP_COMP_THRESHOLD, -30.0f, NULL, NULL);
	console_set(c, MD_SCOPE_STRIP, 3, MD_SP_GATE_ON, 1.0f, NULL, NULL);
	console_set(c, MD_SCOPE_STRIP, 3, MD_SP_EQ(1, MD_EQ_GAIN), 6.0f, NULL, NULL);
	struct md_lane *l = console_lane(c, MD_SCOPE_STRIP, 2, MD_SP_FADER, true);
	assert(l);
	l->mode = MD_AUTO_READ;
	console_lane_add_point(l, 0.0, -10.0f);
	console_lane_add_point(l, 0.5, 0.0f);
	console_lane_add_point(l, 2.0, -20.0f);
	l = console_lane(c, MD_SCOPE_BUS, 0, MD_BP_FADER, true);
	l->mode = MD_AUTO_TOUCH;
	console_lane_add_point(l, 0.25, -6.0f);
	l = console_lane(c, MD_SCOPE_MASTER, 0, MD_MP_BALANCE, true);
	l->mode = MD_AUTO_LATCH;
	console_lane_add_point(l, 0.1, 0.5f);
	console_lane_add_point(l, 1.0, -0.5f);
	return c;
}

static void init(void)
{
	/* saves fsync: on tmpfs that costs nothing */
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp || strlen(tmp) > 64)
		tmp = "/tmp";
	struct stat st;
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
		tmp = "/dev/shm";
	snprintf(S.dir, sizeof S.dir, "%s/mixdesk-fuzz-osc-XXXXXX", tmp);
	char *dir = mkdtemp(S.dir);
	assert(dir);
	(void)dir;
	atexit(cleanup);
	sandbox_file(S.base, sizeof S.base, "base.json");

	char err[512];
	S.start = start_console();
	enum md_err e = session_save(S.base, S.start, err, sizeof err);
	assert(e == MD_OK);
	FILE *f = fopen(S.base, "r");
	assert(f);
	static char text[1 << 16];
	size_t n = fread(text, 1, sizeof text - 1, f);
	assert(n > 0 && n < sizeof text - 1 && !ferror(f));
	fclose(f);
	text[n] = '\0';
	S.base_text = text;
	char bad[256];
	sandbox_file(bad, sizeof bad, "bad.json");
	f = fopen(bad, "w");
	assert(f);
	fputs("{\"version\": 1, \"strips\": [{\"name\": \"x\", \"fader\": }", f);
	fclose(f);

	S.host.h.transport = host_transport;
	S.host.h.transport_cmd = host_transport_cmd;
	S.m = mixer_new(RATE, &S.host.h);
	assert(S.m);
	struct md_control_opts o = {.bind_addr = "127.0.0.1", .port = 0, .session_path = S.base};
	S.c = control_new(S.m, &o, err, sizeof err);
	assert(S.c);
	S.check = oscnet_dispatcher(err, sizeof err);
	assert(S.check);
	lo_server_add_method(S.check, NULL, NULL, check_answer, NULL);

	S.sink[0] = open_sink(&S.from[K_A], &S.fromlen[K_A]);
	S.sink[1] = open_sink(&S.from[K_B], &S.fromlen[K_B]);
	set_from(K_REJECTED, "10.9.8.7", 9);
	set_from(K_V6, "::1", 9);
	set_from(K_MAPPED, "::ffff:127.0.0.1", 9);

	for (int i = 0; i < PERIOD; i++) /* -18 dBFS at 1 kHz: enough to move meters, gate and compressor */
		S.tone[i] = 0.125f * sinf(6.2831853f * 1000.0f * (float)i / RATE);
	for (int s = 0; s < MD_MAX_SLOTS; s++)
		S.bufs[s] = S.slot_buf[s];
	S.hs = (struct md_host_status){.jack_alive = true, .realtime = true, .period = PERIOD, .load = 12.5f};
	S.now = 1000.0;
	S.ready = true;
	reset();
}

/* a raw datagram cannot name a session file: "/session/" becomes "/Session/" (see the top of the file) */
static size_t sanitise(const uint8_t *p, size_t len)
{
	static const char word[] = "/session/";
	memcpy(S.dgram, p, len);
	if (memmem(S.dgram, len, "touch", 5))
		S.touched = true;
	unsigned char *s = S.dgram, *end = S.dgram + len;
	while ((s = memmem(s, (size_t)(end - s), word, sizeof word - 1))) {
		s[1] = 'S';
		s += sizeof word - 1;
	}
	return len;
}

int fuzz_osc(const uint8_t *data, size_t size)
{
	if (!S.ready)
		init();
	S.periods_left = INPUT_PERIODS;
	size_t off = 0;
	while (off + 2 <= size) {
		unsigned h = (unsigned)data[off] << 8 | data[off + 1];
		off += 2;
		int kind = (int)(h >> 13);
		size_t len = h & 0x1fff;
		if (len > size - off)
			len = size - off;
		const uint8_t *p = data + off;
		off += len;
		if (kind == K_SESSION)
			session_cmd(p, len);
		else if (kind == K_TIME)
			time_cmd(p, len);
		else
			feed(kind, S.dgram, sanitise(p, len));
		if (kind != K_BURST && kind != K_TIME)
			step();
		if (mixer_console(S.m)->nstrips > MAX_STRIPS)
			reset();
	}
	/* let what the input started run a little (graph swaps, coalesced feedback, meters), then start the next
	 * input afresh: each input ends where it began, so it frees all it allocates and replays alone */
	for (int i = 0; i < 2; i++) {
		period();
		step();
	}
	reset();
	return 0;
}

FUZZ_ENTRY(fuzz_osc)
