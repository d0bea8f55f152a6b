/* mixdesk-osc: drive and inspect a running mixdesk over OSC from a shell or a script.
 *   mixdesk-osc [-H host] [-p port] [-t seconds] get /ch/1/fader
 *   mixdesk-osc set /ch/1/fader -6          (numbers go as f, anything else as s)
 *   mixdesk-osc set /ch/1/mute i 1          (explicit OSC types: i f d h s T F)
 *   mixdesk-osc watch [meter-Hz]            (subscribe and print every feedback message until Ctrl-C)
 *   mixdesk-osc dump | status | send /path [args]
 *   mixdesk-osc layout SESSION.json > tablet.json   (an Open Stage Control page for that console, control/layout.h)
 * Replies are printed one per line, "ADDRESS ARG...". Exit status 1 on /error or when no answer came in time.
 *
 * OSC is built and parsed by liblo (lo_message_serialise, lo_server_dispatch_data), with the engine's
 * dispatcher (control/oscnet.h). The UDP socket is our own, as in the engine: liblo 0.31's UDP server binds
 * every interface, while this one binds loopback when the engine is local (the wildcard of the family
 * otherwise) and is connect()ed to the engine, so the kernel drops datagrams from anyone else. */
#include "control/layout.h"
#include "control/oscarg.h"
#include "control/oscnet.h"
#include "engine/model/md.h"
#include "sessions/session.h"

#include <lo/lo.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static int sock = -1;
static lo_server dispatcher;
static const char *want; /* the address whose answer ends the wait */
static bool done, failed;
static unsigned char buf[65536];

static void on_signal(int sig)
{
	stop = 1;
}


static int print_msg(const char *path, const char *types, lo_arg **argv, int argc, lo_message msg, void *user)
{
	bool err = strcmp(path, "/error") == 0;
	FILE *f = err ? stderr : stdout;
	fputs(err ? "error:" : path, f);
	for (int i = 0; i < argc; i++) {
		// clang-format off: a table of one-line cases
		switch (types[i]) {
		case 'i': fprintf(f, " %d", osc_arg_i32(argv[i])); break;
		case 'h': fprintf(f, " %lld", (long long)osc_arg_i64(argv[i])); break;
		case 'f': fprintf(f, " %g", (double)osc_arg_f32(argv[i])); break;
		case 'd': fprintf(f, " %g", osc_arg_f64(argv[i])); break;
		case 's':
		case 'S': fprintf(f, " %s", (const char *)argv[i]); break;
		case 'T': fputs(" true", f); break;
		case 'F': fputs(" false", f); break;
		default: fprintf(f, " <%c>", types[i]); break;
		}
		// clang-format on
	}
	fputc('\n', f);
	fflush(f);
	if (err)
		failed = done = true;
	if (want && strcmp(path, want) == 0)
		done = true;
	return 0;
}

/* the engine's dispatcher (control/oscnet.c: an LO_UNIX server that opens nothing anyone can reach), every
 * message printed */
static lo_server make_dispatcher(void)
{
	char err[256];
	lo_server s = oscnet_dispatcher(err, sizeof err);
	if (s)
		lo_server_add_method(s, NULL, NULL, print_msg, NULL);
	return s;
}

static int open_socket(const char *host, const char *port)
{
	struct addrinfo hints = {0}, *ai = NULL;
	hints.ai_socktype = SOCK_DGRAM;
	int r = getaddrinfo(host, port, &hints, &ai);
	if (r != 0) {
		fprintf(stderr, "mixdesk-osc: cannot resolve %s port %s: %s\n", host, port, gai_strerror(r));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_storage local = {0};
	socklen_t llen;
	if (ai->ai_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&local, *to = (struct sockaddr_in *)ai->ai_addr;
		a->sin_family = AF_INET;
		bool loop = (ntohl(to->sin_addr.s_addr) >> 24) == 127;
		a->sin_addr.s_addr = htonl(loop ? INADDR_LOOPBACK : INADDR_ANY);
		llen = sizeof *a;
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&local, *to = (struct sockaddr_in6 *)ai->ai_addr;
		a->sin6_family = AF_INET6;
		a->sin6_addr = IN6_IS_ADDR_LOOPBACK(&to->sin6_addr) ? in6addr_loopback : in6addr_any;
		llen = sizeof *a;
	}
	if (fd < 0 || bind(fd, (struct sockaddr *)&local, llen) != 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		fprintf(stderr, "mixdesk-osc: cannot open a UDP socket to %s:%s: %s\n", host, port, strerror(errno));
		freeaddrinfo(ai);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static int send_msg(const char *path, lo_message m)
{
	size_t size = 0;
	void *data = lo_message_serialise(m, path, NULL, &size);
	lo_message_free(m);
	if (!data)
		return -1;
	ssize_t r = send(sock, data, size, 0);
	free(data);
	if (r < 0) {
		fprintf(stderr, "mixdesk-osc: send: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* read and print replies until the wanted answer, an /error, a signal, or the deadline */
static void receive_until(double deadline)
{
	while (!done && !stop) {
		double left = deadline - md_now_s();
		if (left <= 0)
			break;
		struct pollfd p = {sock, POLLIN, 0};
		int r = poll(&p, 1, (int)(left * 1000) + 1);
		if (r <= 0)
			continue;
		ssize_t n = recv(sock, buf, sizeof buf, 0);
		if (n > 0)
			lo_server_dispatch_data(dispatcher, buf, (size_t)n);
		else if (n < 0 && errno == ECONNREFUSED) {
			fprintf(stderr, "mixdesk-osc: nothing listens there (connection refused)\n");
			failed = done = true;
		}
	}
}

static bool is_number(const char *s, double *v)
{
	char *end;
	*v = strtod(s, &end);
	return end != s && *end == '\0';
}

/* arguments after the path: "i 1", "T", or values whose types are guessed (numbers f, others s) */
static lo_message build_args(int argc, char **argv)
{
	lo_message m = lo_message_new();
	int needed = -1;
	if (argc > 0 && strspn(argv[0], "ifdhsTF") == strlen(argv[0]) && argv[0][0]) {
		needed = 0;
		for (const char *t = argv[0]; *t; t++)
			needed += *t != 'T' && *t != 'F';
	}
	if (argc > 0 && needed == argc - 1) { /* explicit types */
		int k = 1;
		for (const char *t = argv[0]; *t; t++) {
			switch (*t) {
			case 'T': lo_message_add_true(m); continue;
			case 'F': lo_message_add_false(m); continue;
			case 'i': lo_message_add_int32(m, (int32_t)strtol(argv[k], NULL, 0)); break;
			case 'h': lo_message_add_int64(m, strtoll(argv[k], NULL, 0)); break;
			case 'f': lo_message_add_float(m, strtof(argv[k], NULL)); break;
			case 'd': lo_message_add_double(m, strtod(argv[k], NULL)); break;
			case 's': lo_message_add_string(m, argv[k]); break;
			}
			k++;
		}
		return m;
	}
	for (int i = 0; i < argc; i++) {
		double v;
		if (is_number(argv[i], &v))
			lo_message_add_float(m, (float)v);
		else
			lo_message_add_string(m, argv[i]);
	}
	return m;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mixdesk-osc [-H host] [-p port] [-t seconds] COMMAND\n"
		"  get ADDRESS               print the current value\n"
		"  set ADDRESS [TYPES] ARG...  set (types guessed: numbers f, else s; or e.g. 'i 1', 'T'), print the true value\n"
		"  send ADDRESS [TYPES] [ARG...]  send one message, print the replies that come within the timeout\n"
		"  watch [HZ]                subscribe (meters at HZ, default none) and print every message until Ctrl-C\n"
		"  dump                      print the whole console\n"
		"  status                    version, xruns, strips, buses, subscribers, received, rejected, errors, rate\n"
		"  layout SESSION.json       print an Open Stage Control page for that session's console (no engine needed)\n"
		"defaults: -H 127.0.0.1 -p 9000 -t 1\n");
}

/* `layout SESSION.json`: the tablet page on stdout; 1 when the session does not load */
static int layout(const char *session)
{
	if (!session) {
		fprintf(stderr,
			"mixdesk-osc: layout needs one session file (mixdesk-osc layout SESSION.json > tablet.json)\n");
		return 2;
	}
	char err[1024];
	struct md_console *c = NULL;
	if (session_load(session, &c, err, sizeof err) != MD_OK) {
		fprintf(stderr, "mixdesk-osc: %s\n", err);
		return 1;
	}
	char *text = layout_osc_session(c);
	console_free(c);
	if (!text) {
		fprintf(stderr, "mixdesk-osc: out of memory\n");
		return 1;
	}
	puts(text);
	free(text);
	return 0;
}

/* one command, once the socket is open: its exit status (1 when it failed or no answer came in time) */
static int run_command(const char *cmd, char **rest, int nrest, double timeout)
{
	int status = 0;
	if (strcmp(cmd, "get") == 0 || strcmp(cmd, "status") == 0) {
		want = strcmp(cmd, "get") == 0 ? rest[0] : "/status";
		send_msg(want, lo_message_new());
		receive_until(md_now_s() + timeout);
		status = failed || !done;
	} else if (strcmp(cmd, "set") == 0) {
		/* a set is answered only when the value was corrected; the query after it gets the true value */
		send_msg(rest[0], build_args(nrest - 1, rest + 1));
		want = NULL;
		receive_until(md_now_s() + 0.05);
		if (!failed) {
			want = rest[0];
			done = false;
			send_msg(rest[0], lo_message_new());
			receive_until(md_now_s() + timeout);
		}
		status = failed || !done;
	} else if (strcmp(cmd, "send") == 0) {
		send_msg(rest[0], build_args(nrest - 1, rest + 1));
		receive_until(md_now_s() + timeout);
		status = failed;
	} else if (strcmp(cmd, "dump") == 0) {
		want = "/dump/end";
		send_msg("/dump", lo_message_new());
		receive_until(md_now_s() + timeout);
		status = failed || !done;
	} else if (strcmp(cmd, "watch") == 0) {
		float hz = nrest > 0 ? strtof(rest[0], NULL) : 0.0f;
		while (!stop) {
			lo_message m = lo_message_new();
			lo_message_add_float(m, hz);
			send_msg("/subscribe", m); /* renewed well inside the engine's 10 s */
			done = failed = false;
			receive_until(md_now_s() + 5.0);
		}
		send_msg("/unsubscribe", lo_message_new());
	} else {
		fprintf(stderr, "mixdesk-osc: unknown command '%s'\n", cmd);
		usage(stderr);
		status = 2;
	}
	return status;
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1", *port = "9000";
	double timeout = 1.0;
	int opt;
	while ((opt = getopt(argc, argv, "+H:p:t:h")) != -1) {
		switch (opt) {
		case 'H': host = optarg; break;
		case 'p': port = optarg; break;
		case 't': timeout = atof(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[optind];
	char **rest = argv + optind + 1;
	int nrest = argc - optind - 1;
	if (strcmp(cmd, "layout") == 0) /* a file from a file: no engine, no socket */
		return layout(nrest == 1 ? rest[0] : NULL);
	if ((strcmp(cmd, "get") == 0 || strcmp(cmd, "set") == 0 || strcmp(cmd, "send") == 0) &&
	    (nrest < 1 || rest[0][0] != '/')) {
		fprintf(stderr, "mixdesk-osc: %s needs an OSC address starting with '/'\n", cmd);
		return 2;
	}
	if (strcmp(cmd, "set") == 0 && nrest < 2) {
		fprintf(stderr, "mixdesk-osc: set needs a value (mixdesk-osc set /ch/1/fader -6)\n");
		return 2;
	}
	if ((sock = open_socket(host, port)) < 0 || !(dispatcher = make_dispatcher())) {
		fprintf(stderr, "mixdesk-osc: cannot set up OSC\n");
		return 1;
	}
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	int status = run_command(cmd, rest, nrest, timeout);
	if (!done && !failed && status == 1)
		fprintf(stderr, "mixdesk-osc: no answer from %s:%s within %g s\n", host, port, timeout);
	lo_server_free(dispatcher);
	close(sock);
	return status;
}
