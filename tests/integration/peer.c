// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test peer for the integration suite: one run plays one TCP scenario on
 * loopback between a server (this process, or its pre-forked children) and a
 * client (a child process), so that each side has its own pid. It prints one
 * JSON line with the pids and ports the suite needs to find the connections in
 * tcpdwell's output. Every wait is bounded; any failure exits 1.
 *
 * Usage: peer SCENARIO 4|6 PORT [MS]
 *   client-first, server-first, cw-hold MS, rst, refused, tw-reuse, prefork,
 *   never-close MS, hold N (N sockets each ESTABLISHED pairs, CLOSE_WAIT/FIN_WAIT2
 *   pairs and TIME_WAIT, plus the listener; SIGUSR1 closes the CLOSE_WAIT ones,
 *   SIGTERM ends)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int family, port, ms;

static void die(const char *what)
{
	fprintf(stderr, "peer: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void sleep_ms(long t)
{
	struct timespec ts = { t / 1000, (t % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static socklen_t addr(struct sockaddr_storage *ss, int p)
{
	memset(ss, 0, sizeof(*ss));
	if (family == 6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(p);
		a->sin6_addr = in6addr_loopback;
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	a->sin_port = htons(p);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sizeof(*a);
}

static int sock(void)
{
	int s = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0), one = 1;

	if (s < 0)
		die("socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	return s;
}

static int listener(void)
{
	struct sockaddr_storage ss;
	socklen_t len = addr(&ss, port);
	int l = sock();

	if (bind(l, (struct sockaddr *)&ss, len) || listen(l, 16))
		die("listen");
	return l;
}

/* Connect from a chosen local port (0: any). Returns the socket, or -1 with
 * errno if the connect failed. */
static int client(int lport)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int c = sock();

	if (lport) { /* -1: a port bind() picks, which connect() never shares */
		len = addr(&ss, lport < 0 ? 0 : lport);
		if (bind(c, (struct sockaddr *)&ss, len))
			die("bind client port");
	}
	len = addr(&ss, port);
	if (connect(c, (struct sockaddr *)&ss, len)) {
		int e = errno;

		close(c);
		errno = e;
		return -1;
	}
	return c;
}

static int local_port(int s)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(s, (struct sockaddr *)&ss, &len))
		die("getsockname");
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
						((struct sockaddr_in *)&ss)->sin_port);
}

/* Wait (at most 5 s) until the peer has closed: read() returns 0. */
static void wait_eof(int s)
{
	struct pollfd p = { .fd = s, .events = POLLIN };
	char b[64];

	for (;;) {
		if (poll(&p, 1, 5000) != 1)
			die("waiting for the peer's FIN");
		ssize_t n = read(s, b, sizeof(b));

		if (n == 0)
			return;
		if (n < 0 && errno == ECONNRESET)
			return;
		if (n < 0)
			die("read");
	}
}

/* A pipe used by the client to report its local port to the parent. */
static int report[2];

static void send_port(int p)
{
	if (write(report[1], &p, sizeof(p)) != sizeof(p))
		die("report");
}

static int recv_port(void)
{
	struct pollfd p = { .fd = report[0], .events = POLLIN };
	int v;

	if (poll(&p, 1, 5000) != 1 || read(report[0], &v, sizeof(v)) != sizeof(v))
		die("client report");
	return v;
}

static int reap(pid_t pid)
{
	int st;

	for (int i = 0; i < 500; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
		if (r < 0)
			die("waitpid");
		sleep_ms(10);
	}
	kill(pid, SIGKILL);
	return 1;
}

static void print(pid_t server, pid_t client_pid, int cport, const char *extra)
{
	printf("{\"server_pid\":%d,\"client_pid\":%d,\"port\":%d,\"client_port\":%d%s}\n", server,
	       client_pid, port, cport, extra ? extra : "");
	fflush(stdout);
}

/* One connection; who closes first and how long the other side waits. */
static int one_connection(const char *mode)
{
	bool client_first = !strcmp(mode, "client-first") || !strcmp(mode, "cw-hold") ||
			    !strcmp(mode, "never-close");
	bool rst = !strcmp(mode, "rst");
	int l = listener(), s, cport, ret;
	struct timespec eof_at = { 0 }, close_at = { 0 };
	char extra[64] = "";
	pid_t pid;

	if (pipe(report))
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int c = client(0);

		if (c < 0)
			die("connect");
		send_port(local_port(c));
		if (rst) {
			struct linger lg = { 1, 0 };

			/* Let the server accept first, so both sides are established. */
			sleep_ms(100);
			setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(c);
		} else if (client_first) {
			close(c);
		} else {
			wait_eof(c);
			close(c);
		}
		_exit(0);
	}
	s = accept(l, NULL, NULL);
	if (s < 0)
		die("accept");
	cport = recv_port();
	if (rst || client_first) {
		wait_eof(s);
		clock_gettime(CLOCK_MONOTONIC, &eof_at);
		if (!strcmp(mode, "cw-hold") || !strcmp(mode, "never-close"))
			sleep_ms(ms);
	}
	clock_gettime(CLOCK_MONOTONIC, &close_at);
	close(s);
	ret = reap(pid);
	close(l);
	/* What the server really held, on the clock BPF timestamps use: a loaded
	 * machine oversleeps, and the tracer must report what happened. */
	if (eof_at.tv_sec)
		snprintf(extra, sizeof(extra), ",\"held_ns\":%lld",
			 (long long)(close_at.tv_sec - eof_at.tv_sec) * 1000000000LL +
				 (close_at.tv_nsec - eof_at.tv_nsec));
	print(getpid(), pid, cport, extra);
	return ret;
}

/* connect() to a port nobody listens on: SYN_SENT -> CLOSE. */
static int refused(void)
{
	pid_t pid;

	if (pipe(report))
		die("pipe");
	pid = fork();
	if (pid == 0) {
		int c = client(0);

		_exit(c < 0 && errno == ECONNREFUSED ? 0 : 1);
	}
	int ret = reap(pid);

	print(getpid(), pid, 0, NULL);
	return ret;
}

/*
 * The server closes first and holds TIME_WAIT; the client then connects again
 * from the same source port: the new SYN ends the server's TIME_WAIT early.
 */
static int tw_reuse(void)
{
	int l = listener(), s, c, cport;

	/* Bound, not connect()'s ephemeral port: another connection's TIME_WAIT may share that
	 * one and then make the reconnect's bind() fail (see tdpeer.c). */
	c = client(-1);
	if (c < 0)
		die("connect");
	cport = local_port(c);
	s = accept(l, NULL, NULL);
	if (s < 0)
		die("accept");
	close(s); /* server: FIN_WAIT1 ... TIME_WAIT */
	wait_eof(c);
	close(c); /* client: CLOSE_WAIT -> LAST_ACK -> CLOSE */
	sleep_ms(ms ? ms : 300);
	c = client(cport);
	if (c < 0)
		die("reconnect from the same port");
	s = accept(l, NULL, NULL);
	if (s < 0)
		die("accept again");
	close(c);
	wait_eof(s);
	close(s);
	close(l);
	print(getpid(), getpid(), cport, NULL);
	return 0;
}

/* A pre-fork server: the parent listens, three children accept one each. */
static int prefork(void)
{
	int l = listener(), ret = 0;
	pid_t kids[3], clients[3];

	for (int i = 0; i < 3; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			die("fork");
		if (kids[i] == 0) {
			int s = accept(l, NULL, NULL);

			if (s < 0)
				_exit(1);
			wait_eof(s);
			close(s);
			_exit(0);
		}
	}
	/* Let every child block in accept() first. */
	sleep_ms(200);
	for (int i = 0; i < 3; i++) {
		clients[i] = fork();
		if (clients[i] == 0) {
			int c = client(0);

			if (c < 0)
				_exit(1);
			sleep_ms(100);
			close(c);
			_exit(0);
		}
	}
	for (int i = 0; i < 3; i++)
		ret |= reap(clients[i]) | reap(kids[i]);
	close(l);
	printf("{\"server_pid\":%d,\"port\":%d,\"children\":[%d,%d,%d]}\n", getpid(), port, kids[0],
	       kids[1], kids[2]);
	fflush(stdout);
	return ret;
}

static volatile sig_atomic_t got_usr1, got_term;

static void on_sig(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_term = 1;
}

/* Connected pair: *cs client side, *ss server side. */
static void pair(int l, int *cs, int *ss)
{
	*cs = client(0);
	if (*cs < 0)
		die("connect");
	*ss = accept(l, NULL, NULL);
	if (*ss < 0)
		die("accept");
}

/* Sockets held in known states, for seeding tests; runs until SIGTERM. */
static int hold(int n)
{
	int l = listener(), *est = calloc(4 * n, sizeof(int)), *cw = est + 2 * n,
	    *fw2 = est + 3 * n;
	struct sigaction sa = { .sa_handler = on_sig };

	if (!est)
		die("calloc");
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	alarm(0);
	for (int i = 0; i < n; i++)
		pair(l, &est[2 * i], &est[2 * i + 1]);
	for (int i = 0; i < n; i++) {
		/* The client half-closes and keeps its fd: a full FIN_WAIT2 socket;
		 * the server never closes: CLOSE_WAIT. */
		pair(l, &fw2[i], &cw[i]);
		shutdown(fw2[i], SHUT_WR);
		wait_eof(cw[i]);
	}
	for (int i = 0; i < n; i++) {
		int c, s;

		/* The client closes first, then the server: the client in TIME_WAIT. */
		pair(l, &c, &s);
		close(c);
		wait_eof(s);
		close(s);
	}
	printf("{\"server_pid\":%d,\"port\":%d,\"n\":%d}\n", getpid(), port, n);
	fflush(stdout);
	for (int t = 0; !got_term && t < 6000; t++) {
		if (got_usr1) {
			got_usr1 = 0;
			for (int i = 0; i < n; i++)
				close(cw[i]);
			printf("{\"released\":%d}\n", n);
			fflush(stdout);
		}
		sleep_ms(10);
	}
	free(est); /* the sanitizer build checks the test peers for leaks too */
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode;

	if (argc < 4) {
		fprintf(stderr, "usage: peer SCENARIO 4|6 PORT [MS]\n");
		return 2;
	}
	mode = argv[1];
	family = atoi(argv[2]);
	port = atoi(argv[3]);
	ms = argc > 4 ? atoi(argv[4]) : 0;
	alarm(60); /* nothing here may hang the suite */
	if (!strcmp(mode, "refused"))
		return refused();
	if (!strcmp(mode, "tw-reuse"))
		return tw_reuse();
	if (!strcmp(mode, "prefork"))
		return prefork();
	if (!strcmp(mode, "hold"))
		return hold(ms ? ms : 100);
	if (!strcmp(mode, "client-first") || !strcmp(mode, "server-first") ||
	    !strcmp(mode, "cw-hold") || !strcmp(mode, "rst") || !strcmp(mode, "never-close"))
		return one_connection(mode);
	fprintf(stderr, "peer: unknown scenario '%s'\n", mode);
	return 2;
}
