// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Workload of the differential soak (tests/integration/soak.sh): worker threads open loopback TCP
 * connections, IPv4 and IPv6, against listeners of their own and close each in one of the close
 * orders tcpdwell must follow (client first, server first, both at once, half-close, RST from
 * either side, refused, TIME_WAIT reuse), in a random mix drawn from a seed. It stops after a
 * number of connections or a time, whichever comes first, prints one JSON line with what it did,
 * then makes refused connects to the marker port (the soak's "the load is over" point) until
 * SIGUSR1 and prints their count. Every wait is bounded; any unexpected failure exits 1 naming
 * it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Longest any single step (connect, accept, a read) may take. */
#define IO_MS	    5000
#define MAX_THREADS 16

enum kind {
	K_CLIENT_FIRST,
	K_SERVER_FIRST,
	K_SIMULTANEOUS,
	K_HALF_CLOSE,
	K_RST_CLIENT,
	K_RST_SERVER,
	K_REFUSED,
	K_TW_REUSE,
	K_COUNT,
};

static const char *const kind_names[K_COUNT] = {
    "client_first", "server_first", "simultaneous", "half_close",
    "rst_client",   "rst_server",   "refused",	    "tw_reuse",
};

/* The partner closes its end of a simultaneous close at the same moment as the worker. */
struct partner {
	pthread_t thread;
	pthread_barrier_t go, done;
	int fd;
	bool use_shutdown;
	bool quit;
};

struct worker {
	pthread_t thread;
	int idx;
	uint64_t rng;
	int listen_fd[2];  /* [0] IPv4, [1] IPv6 */
	int refused_fd[2]; /* bound, never listening: connects to it are refused */
	int port, refused_port;
	uint64_t kinds[K_COUNT];
	uint64_t families[2];
	uint64_t connections;	/* connect() calls */
	uint64_t tw_reuse_busy; /* reconnects whose port another socket held: plain client-first */
	struct partner partner;
};

static int base_port = 15000;
static int only_kind = -1;
static atomic_long budget;
static long total; /* the budget at start */
static long rate;  /* connections a second, at most; 0: as fast as they go */
static int64_t start_ns, deadline_ns;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_until(int64_t t)
{
	struct timespec ts = {t / 1000000000, t % 1000000000};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static __attribute__((noreturn, format(printf, 1, 2))) void fail(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "soakgen: %s\n", msg);
	exit(1);
}

/* xorshift64*: each worker's own stream, from the seed and its index. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static socklen_t loopback(int v6, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (!v6) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	sin6->sin6_addr = in6addr_loopback;
	return sizeof(*sin6);
}

static int tcp_socket(int v6)
{
	int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		fail("socket: %s", strerror(errno));
	return fd;
}

/* A socket bound to PORT on the loopback address of the family; listening if BACKLOG > 0. */
static int bound_socket(int v6, int port, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(v6, port, &ss);
	int fd = tcp_socket(v6), one = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		fail("SO_REUSEADDR: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&ss, len))
		fail("bind port %d (IPv%d): %s", port, v6 ? 6 : 4, strerror(errno));
	if (backlog > 0 && listen(fd, backlog))
		fail("listen port %d: %s", port, strerror(errno));
	return fd;
}

/* Poll FD for EVENTS within IO_MS; the events seen (POLLHUP and POLLERR included). */
static short wait_io(int fd, short events, const char *what)
{
	struct pollfd p = {.fd = fd, .events = events};
	int n;

	do
		n = poll(&p, 1, IO_MS);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		fail("poll (%s): %s", what, strerror(errno));
	if (n == 0)
		fail("%s: nothing within %d ms", what, IO_MS);
	return p.revents;
}

static void set_linger0(int fd)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};

	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)))
		fail("SO_LINGER: %s", strerror(errno));
}

static int local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		fail("getsockname: %s", strerror(errno));
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/*
 * Connect to PORT from BIND_PORT when nonzero (SO_REUSEADDR). The connected fd (blocking), or
 * -1 with the error in *ERR (refused, or the source port still taken).
 */
static int connect_to(struct worker *w, int v6, int port, int bind_port, int *err)
{
	struct sockaddr_storage ss;
	socklen_t len, elen = sizeof(*err);
	int fd = tcp_socket(v6), one = 1;

	*err = 0;
	if (bind_port) {
		len = loopback(v6, bind_port, &ss);
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
			fail("SO_REUSEADDR: %s", strerror(errno));
		if (bind(fd, (struct sockaddr *)&ss, len)) {
			*err = errno;
			close(fd);
			return -1;
		}
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK))
		fail("fcntl: %s", strerror(errno));
	w->connections++;
	len = loopback(v6, port, &ss);
	if (connect(fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS) {
		*err = errno;
		close(fd);
		return -1;
	}
	wait_io(fd, POLLOUT, "connect");
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &elen))
		fail("SO_ERROR: %s", strerror(errno));
	if (*err) {
		close(fd);
		return -1;
	}
	if (fcntl(fd, F_SETFL, 0))
		fail("fcntl: %s", strerror(errno));
	return fd;
}

static int accept_one(int lfd)
{
	int fd;

	wait_io(lfd, POLLIN, "accept");
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		fail("accept: %s", strerror(errno));
	return fd;
}

/* Read until end of file (or a reset, when RST_OK), within IO_MS a read. */
static void wait_eof(int fd, bool rst_ok, const char *what)
{
	char buf[64];
	ssize_t n;

	for (;;) {
		wait_io(fd, POLLIN, what);
		n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && rst_ok && errno == ECONNRESET)
			return;
		if (n < 0)
			fail("%s: read: %s", what, strerror(errno));
	}
}

static void send_byte(int fd)
{
	if (write(fd, "x", 1) != 1)
		fail("write: %s", strerror(errno));
}

static void *partner_main(void *arg)
{
	struct partner *p = arg;

	for (;;) {
		pthread_barrier_wait(&p->go);
		if (p->quit)
			return NULL;
		if (p->use_shutdown)
			shutdown(p->fd, SHUT_WR);
		else
			close(p->fd);
		pthread_barrier_wait(&p->done);
	}
}

/* Both ends close (or shut down, then close after the peer's FIN) at the same moment. */
static void simultaneous(struct worker *w, int c, int s)
{
	struct partner *p = &w->partner;

	p->fd = s;
	p->use_shutdown = rng_next(&w->rng) & 1;
	pthread_barrier_wait(&p->go);
	if (p->use_shutdown)
		shutdown(c, SHUT_WR);
	else
		close(c);
	pthread_barrier_wait(&p->done);
	if (p->use_shutdown) {
		wait_eof(c, false, "simultaneous: client EOF");
		wait_eof(s, false, "simultaneous: server EOF");
		close(c);
		close(s);
	}
}

/* Server closes first, then a new client takes the old client's port: its SYN reuses the
 * server's TIME_WAIT. Two connections, both closed by the server first (a client TIME_WAIT on
 * a bound port would keep later binds of that port out). */
static void tw_reuse(struct worker *w, int v6, int c, int s)
{
	int64_t until = now_ns() + (int64_t)IO_MS * 1000000;
	struct timespec pause = {0, 200000};
	int lport = local_port(c), err, fd;

	close(s);
	wait_eof(c, false, "tw-reuse: client EOF");
	close(c);
	for (;;) {
		fd = connect_to(w, v6, w->port, lport, &err);
		if (fd >= 0)
			break;
		/* A socket of this host may hold the port for bind() (EADDRINUSE: another
		 * client's TIME_WAIT, or an ephemeral connect): counted, no reconnect. The old
		 * client may still be in LAST_ACK (EADDRNOTAVAIL: the kernel set SYN_SENT and
		 * back to CLOSE, a traced connection): tried again. */
		if (err == EADDRINUSE) {
			w->tw_reuse_busy++;
			return;
		}
		if (err != EADDRNOTAVAIL || now_ns() > until)
			fail("tw-reuse: reconnect from port %d: %s", lport, strerror(err));
		nanosleep(&pause, NULL);
	}
	s = accept_one(w->listen_fd[v6]);
	close(s);
	wait_eof(fd, false, "tw-reuse: second client EOF");
	close(fd);
}

static void one_connection(struct worker *w, enum kind k, int v6)
{
	int c, s, err;
	char b;

	if (k == K_REFUSED) {
		c = connect_to(w, v6, w->refused_port, 0, &err);
		if (c >= 0 || err != ECONNREFUSED)
			fail("refused connect to port %d: %s", w->refused_port,
			     c >= 0 ? "connected" : strerror(err));
		return;
	}
	c = connect_to(w, v6, w->port, 0, &err);
	if (c < 0)
		fail("connect to port %d (IPv%d): %s", w->port, v6 ? 6 : 4, strerror(err));
	s = accept_one(w->listen_fd[v6]);
	switch (k) {
	case K_CLIENT_FIRST:
		close(c);
		wait_eof(s, false, "client-first: server EOF");
		close(s);
		break;
	case K_SERVER_FIRST:
		close(s);
		wait_eof(c, false, "server-first: client EOF");
		close(c);
		break;
	case K_SIMULTANEOUS:
		simultaneous(w, c, s);
		break;
	case K_HALF_CLOSE:
		if (shutdown(c, SHUT_WR))
			fail("shutdown: %s", strerror(errno));
		wait_eof(s, false, "half-close: server EOF");
		send_byte(s);
		close(s);
		wait_io(c, POLLIN, "half-close: client data");
		if (read(c, &b, 1) != 1)
			fail("half-close: client read: %s", strerror(errno));
		wait_eof(c, false, "half-close: client EOF");
		close(c);
		break;
	case K_RST_CLIENT:
		set_linger0(c);
		close(c);
		wait_eof(s, true, "rst: server sees the reset");
		close(s);
		break;
	case K_RST_SERVER:
		set_linger0(s);
		close(s);
		wait_eof(c, true, "rst: client sees the reset");
		close(c);
		break;
	case K_TW_REUSE:
		tw_reuse(w, v6, c, s);
		break;
	default:
		fail("unknown kind %d", k);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	long left;

	while ((left = atomic_fetch_sub(&budget, 1)) > 0 && now_ns() < deadline_ns) {
		uint64_t r = rng_next(&w->rng);
		enum kind k = only_kind >= 0 ? (enum kind)only_kind : (enum kind)(r % K_COUNT);
		int v6 = (r >> 32) & 1;

		/* With a rate, the i-th draw starts no sooner than i / rate s in. */
		if (rate)
			sleep_until(start_ns + (int64_t)((total - left) * (1000000000.0 / rate)));
		w->kinds[k]++;
		w->families[v6]++;
		one_connection(w, k, v6);
	}
	return NULL;
}

/*
 * The markers: once the load is over, a refused connect to PORT every 20 ms (the soak's "the
 * load is over" point, repeated so that a tracer that lost one still sees the next) until
 * SIGUSR1, at most MARKER_S seconds. Prints how many were made.
 */
#define MARKER_S 600
static int markers(int port)
{
	struct timespec wait = {0, 20000000};
	int64_t until = now_ns() + (int64_t)MARKER_S * 1000000000;
	struct worker m = {.port = port};
	int fd = bound_socket(0, port, 0), c, err;
	uint64_t n = 0;
	sigset_t usr1;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	do {
		if (now_ns() > until)
			fail("no SIGUSR1 within %d s of the load's end", MARKER_S);
		c = connect_to(&m, 0, port, 0, &err);
		if (c >= 0 || err != ECONNREFUSED)
			fail("marker connect to port %d: %s", port,
			     c >= 0 ? "connected" : strerror(err));
		n++;
	} while (sigtimedwait(&usr1, NULL, &wait) < 0);
	close(fd);
	printf("{\"type\":\"markers\",\"port\":%d,\"markers\":%" PRIu64 "}\n", port, n);
	return 0;
}

static bool int_arg(const char *s, long lo, long hi, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	return !errno && end != s && !*end && *v >= lo && *v <= hi;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: soakgen [-n CONNECTIONS] [-d SECONDS] [-t THREADS] [-s SEED] [-p PORT]\n"
		"               [-r RATE] [-k KIND]\n"
		"  -n N   connections to make, at most (default 30000)\n"
		"  -d S   seconds, at most (default 60)\n"
		"  -t N   worker threads, 1-16 (default 4)\n"
		"  -s N   seed of the mix (default 1)\n"
		"  -p P   first port (default 15000): worker i listens on P+i and is refused on\n"
		"         P+16+i, IPv4 and IPv6; the marker port is P+32 (IPv4, refused: every\n"
		"         20 ms once the load is over, until SIGUSR1)\n"
		"  -r N   connections begun a second, at most (a TIME_WAIT reuse counts once;\n"
		"         default: as fast as they go)\n"
		"  -k K   one kind only: client_first, server_first, simultaneous, half_close,\n"
		"         rst_client, rst_server, refused or tw_reuse (default: a mix of all)\n");
}

int main(int argc, char **argv)
{
	static struct worker workers[MAX_THREADS];
	long n = 30000, secs = 60, threads = 4, seed = 1, v;
	uint64_t kinds[K_COUNT] = {0}, fam[2] = {0}, conns = 0, busy = 0;
	sigset_t usr1;
	int64_t t0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		long lo = 1, hi = 100000000;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(a, "-k") && val) {
			for (int k = 0; k < K_COUNT; k++)
				if (!strcmp(val, kind_names[k]))
					only_kind = k;
			if (only_kind < 0) {
				fprintf(stderr, "soakgen: bad value '%s' for -k\n", val);
				return 2;
			}
			i++;
			continue;
		}
		if (strlen(a) != 2 || a[0] != '-' || !strchr("ndtspr", a[1]) || !val) {
			fprintf(stderr, "soakgen: bad argument '%s'\n", a);
			usage(stderr);
			return 2;
		}
		if (a[1] == 't')
			hi = MAX_THREADS;
		if (a[1] == 's')
			lo = 0;
		if (a[1] == 'p') {
			lo = 1024;
			hi = 65535 - 32;
		}
		if (!int_arg(val, lo, hi, &v)) {
			fprintf(stderr, "soakgen: bad value '%s' for %s (%ld-%ld)\n", val, a, lo,
				hi);
			return 2;
		}
		switch (a[1]) {
		case 'n':
			n = v;
			break;
		case 'd':
			secs = v;
			break;
		case 't':
			threads = v;
			break;
		case 's':
			seed = v;
			break;
		case 'p':
			base_port = (int)v;
			break;
		case 'r':
			rate = v;
			break;
		}
		i++;
	}
	/* Blocked in every thread: markers() waits for it. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	atomic_store(&budget, n);
	total = n;
	t0 = start_ns = now_ns();
	deadline_ns = t0 + (int64_t)secs * 1000000000;
	for (int i = 0; i < threads; i++) {
		struct worker *w = &workers[i];

		w->idx = i;
		w->rng = ((uint64_t)seed + 1) * 0x9E3779B97F4A7C15ULL + (uint64_t)i * 7919 + 1;
		w->port = base_port + i;
		w->refused_port = base_port + 16 + i;
		for (int f = 0; f < 2; f++) {
			w->listen_fd[f] = bound_socket(f, w->port, 128);
			w->refused_fd[f] = bound_socket(f, w->refused_port, 0);
		}
		if (pthread_barrier_init(&w->partner.go, NULL, 2) ||
		    pthread_barrier_init(&w->partner.done, NULL, 2))
			fail("pthread_barrier_init failed");
		if (pthread_create(&w->partner.thread, NULL, partner_main, &w->partner) ||
		    pthread_create(&w->thread, NULL, worker_main, w))
			fail("pthread_create failed");
	}
	for (int i = 0; i < threads; i++) {
		struct worker *w = &workers[i];

		pthread_join(w->thread, NULL);
		w->partner.quit = true;
		pthread_barrier_wait(&w->partner.go);
		pthread_join(w->partner.thread, NULL);
		for (int k = 0; k < K_COUNT; k++)
			kinds[k] += w->kinds[k];
		fam[0] += w->families[0];
		fam[1] += w->families[1];
		conns += w->connections;
		busy += w->tw_reuse_busy;
		for (int f = 0; f < 2; f++) {
			close(w->listen_fd[f]);
			close(w->refused_fd[f]);
		}
	}
	printf("{\"type\":\"soakgen\",\"seed\":%ld,\"threads\":%ld,\"seconds\":%.1f,"
	       "\"connections\":%" PRIu64 ",\"ipv4\":%" PRIu64 ",\"ipv6\":%" PRIu64 ",\"kinds\":{",
	       seed, threads, (now_ns() - t0) / 1e9, conns, fam[0], fam[1]);
	for (int k = 0; k < K_COUNT; k++)
		printf("%s\"%s\":%" PRIu64, k ? "," : "", kind_names[k], kinds[k]);
	printf("},\"tw_reuse_busy\":%" PRIu64 ",\"marker_port\":%d}\n", busy, base_port + 32);
	fflush(stdout);
	return markers(base_port + 32);
}
