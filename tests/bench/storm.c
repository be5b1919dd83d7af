// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Load generator for the benchmark: client threads open and close loopback TCP connections as
 * fast as they can against an epoll server in the same process for a fixed time (about ten
 * state transitions per connection), then print one JSON line with connections per second.
 * With --hold N it instead opens N connections, keeps them open until SIGINT or SIGTERM, and
 * prints a JSON line once they are all established (for the memory-per-connection measurement).
 *
 * Avoiding ephemeral port exhaustion: the side that closes first keeps TIME_WAIT for 60 s. When
 * the server closes first, TIME_WAIT sits on the server's accepted sockets and uses no client
 * port. When the client closes first, every closed connection pins its 4-tuple, so clients spread
 * their 4-tuples: each connection goes to the next of the -P listening ports, and with IPv4 it is
 * bound (IP_BIND_ADDRESS_NO_PORT, so the port is still chosen at connect() by 4-tuple) to the
 * next of the -S source addresses 127.0.0.2, 127.0.0.3, ...: ports x sources x 28k tuples.
 * bench.sh also sets net.ipv4.tcp_tw_reuse=1 so that connect() may reuse a tuple whose TIME_WAIT
 * is more than a second old (the only help IPv6, which has one loopback address, gets besides
 * the ports). Measured here, client closing first for 8 s without tcp_tw_reuse: one port and one
 * source 2,200 connections/s; 4 ports x 32 sources 26,600/s, as fast as the server closing first.
 * --hold spreads its connections over child processes, one listening port each.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS   64
#define MAX_PORTS     64
#define MAX_SOURCES   250
#define HOLD_PER_PORT 20000
#define LISTEN_TAG    (1ULL << 32)

struct opts {
	int family;
	bool client_closes;
	bool reset; /* -c reset: the client closes first with SO_LINGER {1, 0}: a reset */
	int clients;
	int servers;
	double seconds;
	int port;
	int nports;
	int nsources;
	long hold;
};

/* One per client thread, padded so the counters of two threads never share a cache line. */
struct client {
	pthread_t th;
	int id;
	uint64_t conns;
	uint64_t errors;
	int first_errno;
	char pad[64];
};

struct server {
	pthread_t th;
	int ep;
	uint64_t accepted;
	char pad[64];
};

static struct opts opt = {
    .family = AF_INET,
    .clients = 2,
    .servers = 2,
    .seconds = 5,
    .port = 9970,
    .nports = 4,
    .nsources = -1,
};
static int listeners[MAX_PORTS];
static atomic_bool clients_stop, servers_stop;
static pthread_barrier_t start_line;
static volatile sig_atomic_t signalled;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Loopback address host (127.0.0.host for IPv4, ::1 for IPv6) and port, in *ss. */
static socklen_t loopback(struct sockaddr_storage *ss, int host, int port)
{
	memset(ss, 0, sizeof(*ss));
	if (opt.family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		a->sin6_port = htons(port);
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(0x7f000000u | (unsigned int)host);
	a->sin_port = htons(port);
	return sizeof(*a);
}

/* Listening sockets on ports port .. port+n-1 of 127.0.0.1 or ::1 (never a wildcard address). */
static int open_listeners(int n, bool nonblock)
{
	for (int i = 0; i < n; i++) {
		struct sockaddr_storage ss;
		socklen_t len = loopback(&ss, 1, opt.port + i);
		int fd, one = 1;

		fd = socket(opt.family, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0),
			    0);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
		    bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 4096)) {
			fprintf(stderr, "storm: cannot listen on loopback port %d: %s\n",
				opt.port + i, strerror(errno));
			return -1;
		}
		listeners[i] = fd;
	}
	return 0;
}

/*
 * Server thread: accepts from every listener (shared with the other server threads through
 * EPOLLEXCLUSIVE) and either closes at once (server closes first) or waits for the client's
 * FIN and then closes.
 */
static void *server_main(void *arg)
{
	struct server *s = arg;
	struct epoll_event evs[64];
	char buf[256];

	while (!atomic_load_explicit(&servers_stop, memory_order_relaxed)) {
		int n = epoll_wait(s->ep, evs, 64, 100);

		for (int i = 0; i < n; i++) {
			uint64_t d = evs[i].data.u64;
			int fd = (int)(d & 0xffffffffu);

			if (!(d & LISTEN_TAG)) {
				/* The client has closed (or reset): read the EOF, close our end. */
				if (read(fd, buf, sizeof(buf)) <= 0)
					close(fd);
				continue;
			}
			for (;;) {
				int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
				struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP};

				if (c < 0)
					break;
				s->accepted++;
				if (!opt.client_closes) {
					close(c);
					continue;
				}
				ev.data.u64 = (uint64_t)c;
				if (epoll_ctl(s->ep, EPOLL_CTL_ADD, c, &ev))
					close(c);
			}
		}
	}
	return NULL;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	struct sockaddr_storage dst[MAX_PORTS], src[MAX_SOURCES];
	socklen_t dlen = 0, slen = 0;
	unsigned int k = (unsigned int)c->id;
	char b[256];

	for (int i = 0; i < opt.nports; i++)
		dlen = loopback(&dst[i], 1, opt.port + i);
	for (int i = 0; i < opt.nsources; i++)
		slen = loopback(&src[i], 2 + i, 0);
	pthread_barrier_wait(&start_line);

	while (!atomic_load_explicit(&clients_stop, memory_order_relaxed)) {
		int fd = socket(opt.family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

		k++;
		if (fd < 0)
			goto fail;
		if (opt.nsources > 1 &&
		    (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) ||
		     bind(fd, (struct sockaddr *)&src[k % opt.nsources], slen)))
			goto fail;
		if (connect(fd, (struct sockaddr *)&dst[k % opt.nports], dlen))
			goto fail;
		if (opt.reset) {
			struct linger lg = {1, 0};

			if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
				goto fail;
		} else if (!opt.client_closes) {
			/* Wait for the server's FIN: the server is the active closer. */
			ssize_t r;

			while ((r = read(fd, b, sizeof(b))) > 0)
				;
			if (r < 0)
				goto fail;
		}
		close(fd);
		c->conns++;
		continue;
	fail:
		if (!c->errors++)
			c->first_errno = errno;
		if (fd >= 0)
			close(fd);
	}
	return NULL;
}

static void on_signal(int sig)
{
	(void)sig;
	signalled = 1;
}

/* Sleep until the deadline or a signal, whichever comes first. */
static void sleep_until(double deadline)
{
	double left;

	while (!signalled && (left = deadline - now_s()) > 0) {
		struct timespec ts = {.tv_sec = (time_t)left,
				      .tv_nsec = (long)((left - (time_t)left) * 1e9)};

		nanosleep(&ts, NULL);
	}
}

/* Join a thread, but give up at the deadline: a stuck thread must not hang the benchmark. */
static int join_by(pthread_t th, double deadline)
{
	struct timespec ts;
	double left = deadline - now_s();

	clock_gettime(CLOCK_REALTIME, &ts);
	if (left < 0)
		left = 0;
	ts.tv_sec += (time_t)left;
	ts.tv_nsec += (long)((left - (time_t)left) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return pthread_timedjoin_np(th, NULL, &ts);
}

static int run_storm(void)
{
	struct client *cl = calloc(opt.clients, sizeof(*cl));
	struct server *sv = calloc(opt.servers, sizeof(*sv));
	uint64_t conns = 0, errors = 0, accepted = 0;
	int first_errno = 0, ret = 0;
	double t0, t1;

	if (!cl || !sv || open_listeners(opt.nports, true))
		return 1;
	for (int i = 0; i < opt.servers; i++) {
		sv[i].ep = epoll_create1(EPOLL_CLOEXEC);
		if (sv[i].ep < 0) {
			perror("storm: epoll_create1");
			return 1;
		}
		for (int p = 0; p < opt.nports; p++) {
			struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE,
						 .data.u64 = LISTEN_TAG | (uint64_t)listeners[p]};

			if (epoll_ctl(sv[i].ep, EPOLL_CTL_ADD, listeners[p], &ev)) {
				perror("storm: epoll_ctl");
				return 1;
			}
		}
		pthread_create(&sv[i].th, NULL, server_main, &sv[i]);
	}
	pthread_barrier_init(&start_line, NULL, opt.clients + 1);
	for (int i = 0; i < opt.clients; i++) {
		cl[i].id = i * 7919;
		pthread_create(&cl[i].th, NULL, client_main, &cl[i]);
	}
	pthread_barrier_wait(&start_line);
	t0 = now_s();
	sleep_until(t0 + opt.seconds);
	atomic_store(&clients_stop, true);
	for (int i = 0; i < opt.clients; i++) {
		if (join_by(cl[i].th, now_s() + 10)) {
			fprintf(stderr, "storm: client thread %d stuck for 10 s, giving up\n", i);
			return 1;
		}
		conns += cl[i].conns;
		errors += cl[i].errors;
		if (!first_errno)
			first_errno = cl[i].first_errno;
	}
	t1 = now_s();
	atomic_store(&servers_stop, true);
	for (int i = 0; i < opt.servers; i++) {
		if (join_by(sv[i].th, now_s() + 5)) {
			fprintf(stderr, "storm: server thread %d stuck for 5 s, giving up\n", i);
			return 1;
		}
		accepted += sv[i].accepted;
	}
	if (!conns)
		ret = 1;
	printf("{\"mode\":\"storm\",\"family\":%d,\"closer\":\"%s\",\"client_threads\":%d,"
	       "\"server_threads\":%d,\"ports\":%d,\"sources\":%d,\"seconds\":%.3f,"
	       "\"connections\":%llu,\"connections_per_s\":%.0f,\"accepted\":%llu,"
	       "\"errors\":%llu,\"first_error\":\"%s\"}\n",
	       opt.family == AF_INET6 ? 6 : 4, opt.reset ? "reset" : opt.client_closes ? "client" : "server", opt.clients,
	       opt.servers, opt.nports, opt.nsources, t1 - t0, (unsigned long long)conns,
	       conns / (t1 - t0), (unsigned long long)accepted, (unsigned long long)errors,
	       first_errno ? strerror(first_errno) : "");
	return ret;
}

/*
 * Open file budget of one holding process: the limit is raised as far as allowed (raising the
 * hard limit needs CAP_SYS_RESOURCE, which containers often drop), and what is granted decides
 * how many processes the hold needs.
 */
static long nofile_budget(void)
{
	struct rlimit rl;
	rlim_t want = 2 * HOLD_PER_PORT + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -1;
	if (rl.rlim_cur < want) {
		struct rlimit up = {want, rl.rlim_max > want ? rl.rlim_max : want};

		if (setrlimit(RLIMIT_NOFILE, &up)) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return (long)rl.rlim_cur;
}

/* Accept one connection from listener fd, waiting at most 5 s. */
static int accept_one(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	if (c >= 0 || errno != EAGAIN)
		return c;
	if (poll(&p, 1, 5000) != 1) {
		errno = ETIMEDOUT;
		return -1;
	}
	return accept4(fd, NULL, NULL, SOCK_CLOEXEC);
}

/*
 * One holding process: listen on port, open n connections to it (both ends stay here), write one
 * byte to ready ('y', or 'n' after a failure), keep everything until SIGTERM or SIGINT (blocked
 * by the caller and taken with sigwait) or until the parent dies.
 */
static void hold_child(int port, long n, int ready, const sigset_t *set)
{
	struct sockaddr_storage dst;
	socklen_t dlen = loopback(&dst, 1, port);
	char ok = 'y';
	int sig;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	opt.port = port;
	if (open_listeners(1, true))
		ok = 'n';
	for (long i = 0; ok == 'y' && i < n; i++) {
		int fd = socket(opt.family, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0 || connect(fd, (struct sockaddr *)&dst, dlen) ||
		    accept_one(listeners[0]) < 0) {
			fprintf(stderr, "storm: hold: connection %ld of %ld to port %d: %s\n",
				i + 1, n, port, strerror(errno));
			ok = 'n';
		}
	}
	if (write(ready, &ok, 1) != 1 || ok != 'y')
		_exit(1);
	sigwait(set, &sig);
	_exit(0);
}

/*
 * Open opt.hold connections and keep them until SIGINT or SIGTERM. They are spread over child
 * processes, each with its own listening port (opt.port + k) and at most HOLD_PER_PORT
 * connections, and fewer if the open file limit says so: both ends of each connection are open
 * files of the child. One source address per port is then enough for the ephemeral port range.
 */
static int run_hold(void)
{
	long budget = nofile_budget(), per, left = opt.hold;
	int nproc, done = 0, fds[2], sig, ret = 0;
	pid_t *kids;
	sigset_t set;
	double t0 = now_s();

	if (budget < 256) {
		fprintf(stderr, "storm: hold: open file limit %ld is too low\n", budget);
		return 1;
	}
	per = (budget - 64) / 2;
	if (per > HOLD_PER_PORT)
		per = HOLD_PER_PORT;
	nproc = (int)((opt.hold + per - 1) / per);
	if (opt.port + nproc - 1 > 65535 || nproc > 1024) {
		fprintf(stderr, "storm: hold: %d processes of %ld connections do not fit\n", nproc,
			per);
		return 2;
	}
	kids = calloc(nproc, sizeof(*kids));
	if (!kids || pipe2(fds, O_CLOEXEC))
		return 1;
	/* Signals are taken with sigwait(), in the parent and in every child. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	for (int k = 0; k < nproc; k++) {
		long n = left < per ? left : per;

		left -= n;
		kids[k] = fork();
		if (kids[k] < 0) {
			perror("storm: hold: fork");
			ret = 1;
			nproc = k;
			break;
		}
		if (!kids[k]) {
			close(fds[0]);
			hold_child(opt.port + k, n, fds[1], &set);
		}
	}
	close(fds[1]);
	while (!ret && done < nproc) {
		struct pollfd p = {.fd = fds[0], .events = POLLIN};
		char c;

		/* Each child reports once; 120 s without news from any of them is a failure. */
		if (poll(&p, 1, 120000) != 1 || read(fds[0], &c, 1) != 1 || c != 'y') {
			fprintf(stderr, "storm: hold: a holding process failed or timed out\n");
			ret = 1;
			break;
		}
		done++;
	}
	if (!ret) {
		printf("{\"mode\":\"hold\",\"family\":%d,\"connections\":%ld,\"sockets\":%ld,"
		       "\"processes\":%d,\"first_port\":%d,\"seconds\":%.3f}\n",
		       opt.family == AF_INET6 ? 6 : 4, opt.hold, 2 * opt.hold, nproc, opt.port,
		       now_s() - t0);
		fflush(stdout);
		sigwait(&set, &sig);
	}
	for (int k = 0; k < nproc; k++)
		kill(kids[k], SIGTERM);
	for (int k = 0; k < nproc; k++)
		waitpid(kids[k], NULL, 0);
	free(kids);
	return ret;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: storm [-t CLIENTS] [-s SERVERS] [-d SECONDS] [-c client|server] [-4|-6]\n"
	    "             [-p PORT] [-P PORTS] [-S SOURCES]\n"
	    "       storm --hold N [-4|-6] [-p PORT]\n"
	    "  -t N        client threads (default 2)\n"
	    "  -s N        server threads, one epoll each (default 2)\n"
	    "  -d S        duration in seconds, fractions allowed (default 5)\n"
	    "  -c SIDE     which side closes first: server (default) or client; reset: the\n"
	    "              client, with a reset (SO_LINGER 0)\n"
	    "  -4, -6      127.0.0.1 (default) or ::1\n"
	    "  -p PORT     first listening port (default 9970)\n"
	    "  -P N        listening ports, used in turn by the clients (default 4)\n"
	    "  -S N        IPv4 source addresses 127.0.0.2.. used in turn (default: 32 when the\n"
	    "              client closes first, else none: the kernel picks 127.0.0.1)\n"
	    "  --hold N    open N connections, print a JSON line, keep them until SIGINT/SIGTERM\n"
	    "              (child processes on ports PORT, PORT+1, ..., each within the open file\n"
	    "              limit and 20,000 connections)\n");
}

static bool int_arg(const char *s, long lo, long hi, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	return !errno && end != s && !*end && *v >= lo && *v <= hi;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal};
	long v;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		bool ok = true;

		if (!strcmp(a, "-4") || !strcmp(a, "-6")) {
			opt.family = a[1] == '6' ? AF_INET6 : AF_INET;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		}
		if (!val) {
			usage(stderr);
			return 2;
		}
		i++;
		if (!strcmp(a, "-t"))
			ok = int_arg(val, 1, MAX_THREADS, &v) && (opt.clients = (int)v);
		else if (!strcmp(a, "-s"))
			ok = int_arg(val, 1, MAX_THREADS, &v) && (opt.servers = (int)v);
		else if (!strcmp(a, "-d"))
			ok = (opt.seconds = strtod(val, NULL)) > 0 && opt.seconds <= 86400;
		else if (!strcmp(a, "-c") &&
			 (!strcmp(val, "client") || !strcmp(val, "server") || !strcmp(val, "reset"))) {
			opt.client_closes = val[0] != 's';
			opt.reset = val[0] == 'r';
		}
		else if (!strcmp(a, "-p"))
			ok = int_arg(val, 1, 65535, &v) && (opt.port = (int)v);
		else if (!strcmp(a, "-P"))
			ok = int_arg(val, 1, MAX_PORTS, &v) && (opt.nports = (int)v);
		else if (!strcmp(a, "-S"))
			ok = int_arg(val, 1, MAX_SOURCES, &v) && (opt.nsources = (int)v);
		else if (!strcmp(a, "--hold"))
			ok = int_arg(val, 1, 10000000, &opt.hold);
		else
			ok = false;
		if (!ok) {
			fprintf(stderr, "storm: bad option %s %s\n", a, val);
			usage(stderr);
			return 2;
		}
	}
	if (opt.nsources < 0)
		opt.nsources = opt.client_closes && opt.family == AF_INET ? 32 : 1;
	if (opt.family == AF_INET6)
		opt.nsources = 1;
	if (opt.port + opt.nports - 1 > 65535) {
		fprintf(stderr, "storm: ports %d..%d out of range\n", opt.port,
			opt.port + opt.nports - 1);
		return 2;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return opt.hold ? run_hold() : run_storm();
}
