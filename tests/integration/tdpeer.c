// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Client/server driver for the integration suite: one invocation plays one TCP scenario on
 * loopback (127.0.0.1 or ::1) between a server process and client processes it forks, so each
 * side of a connection has its own owner. Every role prints one JSON line (pid, ports and what it
 * measured) for scenarios.sh and tw_expire.sh to compare with what tcpdwell reported.
 * Every wait is bounded; any failure exits nonzero.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Longest any single step (accept, connect, a read) may take. */
#define IO_MS		 5000
#define PREFORK_CHILDREN 3

enum scenario {
	SC_CLIENT_FIRST,
	SC_SERVER_FIRST,
	SC_HALF_CLOSE,
	SC_CW_HOLD,
	SC_RST,
	SC_REFUSED,
	SC_PREFORK,
	SC_NEVER_CLOSE,
	SC_TW_REUSE,
	SC_SHUTDOWN_CLOSE,
};

/* clang-format off */
static const struct {
	const char *name;
	int ms;			/* default for the optional MS argument */
	const char *help;
} scenarios[] = {
	[SC_CLIENT_FIRST] = { "client-first", 0, "client closes, then the server" },
	[SC_SERVER_FIRST] = { "server-first", 0, "server closes, then the client" },
	[SC_HALF_CLOSE] = { "half-close", 0, "client shutdown(SHUT_WR), reads EOF, closes" },
	[SC_CW_HOLD] = { "cw-hold", 1500, "client closes; server holds CLOSE_WAIT MS ms" },
	[SC_RST] = { "rst", 0, "client aborts with SO_LINGER {1, 0} (RST)" },
	[SC_REFUSED] = { "refused", 0, "connect to a port nobody listens on" },
	[SC_PREFORK] = { "prefork", 0, "3 children of the server accept one each; 3 clients" },
	[SC_NEVER_CLOSE] = { "never-close", 1500, "client closes; server exits MS ms later" },
	[SC_TW_REUSE] = { "tw-reuse", 200, "server closes first; client reconnects from its port" },
	[SC_SHUTDOWN_CLOSE] = { "shutdown-close", 0, "client shutdown(), close() in FIN_WAIT2" },
};
/* clang-format on */

static const char *role = "driver";
static int family;
static int port;
/* Client to server, outside TCP: "my close() has returned" (shutdown-close). */
static int order_pipe[2];

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static __attribute__((noreturn, format(printf, 1, 2))) void fail(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "tdpeer: %s (pid %d): %s\n", role, getpid(), msg);
	_exit(1);
}

/* One JSON object per line, in a single write(2) so lines of different processes never mix. */
static __attribute__((format(printf, 1, 2))) void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(line) - 1)
		fail("output line too long");
	line[n++] = '\n';
	if (write(STDOUT_FILENO, line, n) != n)
		fail("write stdout: %s", strerror(errno));
}

static void sleep_until(int64_t deadline)
{
	struct timespec ts = {deadline / 1000000000, deadline % 1000000000};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* A child that outlives its parent or its own time budget is killed, never left behind. */
static void become(const char *name, int budget_s)
{
	role = name;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL))
		fail("prctl: %s", strerror(errno));
	alarm(budget_s);
}

static socklen_t loopback(int p, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(p);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(p);
	sin6->sin6_addr = in6addr_loopback;
	return sizeof(*sin6);
}

static int port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static int local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		fail("getsockname: %s", strerror(errno));
	return port_of(&ss);
}

static int remote_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len))
		fail("getpeername: %s", strerror(errno));
	return port_of(&ss);
}

/* Nonblocking TCP socket of the scenario's family; IPv6 sockets are IPv6 only. */
static int tcp_socket(void)
{
	int fd, one = 1;

	fd =
	    socket(family == 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fail("socket: %s", strerror(errno));
	if (family == 6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)))
		fail("IPV6_V6ONLY: %s", strerror(errno));
	return fd;
}

/* Poll one fd until it reports EVENTS; fails after MS. Returns the revents seen. */
static short wait_io(int fd, short events, int ms, const char *what)
{
	int64_t deadline = now_ns() + (int64_t)ms * 1000000;
	struct pollfd pfd = {.fd = fd, .events = events};

	for (;;) {
		int64_t left = deadline - now_ns();
		int n;

		if (left <= 0)
			fail("%s: no event within %d ms", what, ms);
		n = poll(&pfd, 1, (int)((left + 999999) / 1000000));
		if (n > 0)
			return pfd.revents;
		if (n < 0 && errno != EINTR)
			fail("%s: poll: %s", what, strerror(errno));
	}
}

static int listen_on(void)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(port, &ss);
	int fd = tcp_socket(), one = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		fail("SO_REUSEADDR: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&ss, len))
		fail("bind port %d: %s", port, strerror(errno));
	if (listen(fd, 16))
		fail("listen: %s", strerror(errno));
	return fd;
}

/*
 * Accept one connection within MS. Several processes may poll the same listener (pre-fork), so
 * EAGAIN after a wake-up only means another one took it. PLAIN uses accept(2) rather than
 * accept4(2): the tool must learn the owner from either system call.
 */
static int accept_within(int lfd, int ms, bool plain)
{
	int64_t deadline = now_ns() + (int64_t)ms * 1000000;

	for (;;) {
		int left = (int)((deadline - now_ns()) / 1000000);
		int fd;

		if (left <= 0)
			fail("accept: no connection within %d ms", ms);
		wait_io(lfd, POLLIN, left, "accept");
		if (plain)
			fd = (int)syscall(SYS_accept, lfd, NULL, NULL);
		else
			fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			if (plain && fcntl(fd, F_SETFL, O_NONBLOCK))
				fail("fcntl: %s", strerror(errno));
			return fd;
		}
		if (errno != EAGAIN && errno != EINTR)
			fail("accept: %s", strerror(errno));
	}
}

/*
 * Connect to the scenario's port within MS, from BIND_PORT if nonzero (SO_REUSEADDR; -1 binds
 * a port the kernel picks, also with SO_REUSEADDR). Returns the connected fd, or -1 with *ERR set when the connection failed (refused); *LPORT
 * gets the local port the kernel chose, read while the attempt is in progress.
 */
static int connect_within(int bind_port, int ms, int *err, int *lport)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = tcp_socket(), one = 1, soerr = 0;
	socklen_t elen = sizeof(soerr);

	if (bind_port) {
		len = loopback(bind_port < 0 ? 0 : bind_port, &ss);
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
			fail("SO_REUSEADDR: %s", strerror(errno));
		if (bind(fd, (struct sockaddr *)&ss, len))
			fail("bind source port %d: %s", bind_port, strerror(errno));
	}
	len = loopback(port, &ss);
	if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
		*lport = local_port(fd);
		return fd;
	}
	if (errno != EINPROGRESS) {
		*err = errno;
		*lport = 0;
		close(fd);
		return -1;
	}
	*lport = local_port(fd);
	wait_io(fd, POLLOUT, ms, "connect");
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &elen))
		fail("SO_ERROR: %s", strerror(errno));
	if (soerr) {
		*err = soerr;
		close(fd);
		return -1;
	}
	return fd;
}

static int connect_or_fail(int bind_port, int *lport)
{
	int err = 0, fd = connect_within(bind_port, IO_MS, &err, lport);

	if (fd < 0)
		fail("connect to port %d: %s", port, strerror(err));
	return fd;
}

static void send_byte(int fd)
{
	if (write(fd, "x", 1) != 1)
		fail("write: %s", strerror(errno));
}

static void recv_byte(int fd)
{
	char c;
	ssize_t n;

	wait_io(fd, POLLIN, IO_MS, "read");
	n = read(fd, &c, 1);
	if (n != 1)
		fail("read: expected one byte, got %zd (%s)", n, n < 0 ? strerror(errno) : "EOF");
}

/* Wait for the peer's FIN: read must return 0 (no data is expected). */
static void wait_eof(int fd)
{
	char buf[16];
	ssize_t n;

	wait_io(fd, POLLIN | POLLRDHUP, IO_MS, "wait for EOF");
	n = read(fd, buf, sizeof(buf));
	if (n != 0)
		fail("wait for EOF: read returned %zd (%s)", n, n < 0 ? strerror(errno) : "data");
}

/* Wait (polling TCP_INFO every millisecond, at most IO_MS) until the socket is in STATE. */
static void wait_state(int fd, int state)
{
	int64_t deadline = now_ns() + (int64_t)IO_MS * 1000000;
	struct timespec pause = {0, 1000000};
	struct tcp_info ti;
	socklen_t len;

	for (;;) {
		len = sizeof(ti);
		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
			fail("TCP_INFO: %s", strerror(errno));
		if (ti.tcpi_state == state)
			return;
		if (now_ns() > deadline)
			fail("socket in state %d, not %d, after %d ms", ti.tcpi_state, state,
			     IO_MS);
		nanosleep(&pause, NULL);
	}
}

/* Wait for the peer's RST: read must fail with ECONNRESET. */
static void wait_reset(int fd)
{
	char buf[16];
	ssize_t n;

	wait_io(fd, POLLIN | POLLRDHUP, IO_MS, "wait for RST");
	n = read(fd, buf, sizeof(buf));
	if (n >= 0 || errno != ECONNRESET)
		fail("wait for RST: read returned %zd (%s)", n,
		     n < 0 ? strerror(errno)
		     : n   ? "data"
			   : "EOF");
}

/* A connected socket and its ports, kept so they can be reported after close(). */
struct conn {
	int fd;
	int lport;
	int rport;
};

static struct conn conn_of(int fd)
{
	return (struct conn){.fd = fd, .lport = local_port(fd), .rport = remote_port(fd)};
}

static void say_conn(const struct conn *c, const char *extra)
{
	say("{\"role\":\"%s\",\"pid\":%d,\"family\":%d,\"lport\":%d,\"rport\":%d%s}", role,
	    getpid(), family, c->lport, c->rport, extra);
}

/* Reap N children within the caller's alarm; returns how many failed. */
static int reap(const pid_t *pids, int n)
{
	int failed = 0;

	for (int i = 0; i < n; i++) {
		int st;

		while (waitpid(pids[i], &st, 0) < 0) {
			if (errno != EINTR)
				fail("waitpid: %s", strerror(errno));
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "tdpeer: %s: child %d %s %d\n", role, pids[i],
				WIFEXITED(st) ? "exited with" : "killed by signal",
				WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
			failed++;
		}
	}
	return failed;
}

static void prefork_child(int lfd)
{
	struct conn c;

	become("server", 3 * IO_MS / 1000);
	c = conn_of(accept_within(lfd, IO_MS, true));
	close(lfd);
	send_byte(c.fd);
	wait_eof(c.fd);
	close(c.fd);
	say_conn(&c, "");
	_exit(0);
}

static void server(enum scenario sc, int ms, int ready)
{
	pid_t kids[PREFORK_CHILDREN];
	struct conn c, c2;
	char extra[64];
	int64_t t0;
	int lfd;

	lfd = listen_on();
	say("{\"role\":\"listener\",\"pid\":%d,\"family\":%d,\"lport\":%d}", getpid(), family,
	    local_port(lfd));
	if (sc == SC_PREFORK) {
		for (int i = 0; i < PREFORK_CHILDREN; i++) {
			kids[i] = fork();
			if (kids[i] < 0)
				fail("fork: %s", strerror(errno));
			if (kids[i] == 0)
				prefork_child(lfd);
		}
	}
	if (write(ready, "r", 1) != 1)
		fail("ready pipe: %s", strerror(errno));
	close(ready);
	if (sc == SC_PREFORK) {
		int failed = reap(kids, PREFORK_CHILDREN);

		close(lfd);
		_exit(failed ? 1 : 0);
	}

	c = conn_of(accept_within(lfd, IO_MS, false));
	send_byte(c.fd);
	switch (sc) {
	case SC_CLIENT_FIRST:
	case SC_HALF_CLOSE:
		wait_eof(c.fd);
		close(c.fd);
		say_conn(&c, "");
		break;
	case SC_SERVER_FIRST:
		close(c.fd);
		say_conn(&c, "");
		break;
	case SC_CW_HOLD:
		wait_eof(c.fd);
		t0 = now_ns();
		sleep_until(t0 + (int64_t)ms * 1000000);
		close(c.fd);
		/* The hold as this process saw it: from reading EOF to close() returning. */
		snprintf(extra, sizeof(extra), ",\"held_ns\":%lld", (long long)(now_ns() - t0));
		say_conn(&c, extra);
		break;
	case SC_RST:
		wait_reset(c.fd);
		close(c.fd);
		say_conn(&c, "");
		break;
	case SC_NEVER_CLOSE:
		wait_eof(c.fd);
		say_conn(&c, "");
		/* Both sockets are left to the kernel's cleanup at exit. */
		sleep_until(now_ns() + (int64_t)ms * 1000000);
		_exit(0);
	case SC_SHUTDOWN_CLOSE:
		wait_eof(c.fd);
		/* Close only after the client closed its FIN_WAIT2 socket: it must not see our FIN
		 * first. */
		wait_io(order_pipe[0], POLLIN, IO_MS, "client's close");
		close(c.fd);
		say_conn(&c, "");
		break;
	case SC_TW_REUSE:
		close(c.fd);
		say_conn(&c, ",\"conn\":1");
		c2 = conn_of(accept_within(lfd, IO_MS, false));
		send_byte(c2.fd);
		wait_eof(c2.fd);
		close(c2.fd);
		say_conn(&c2, ",\"conn\":2");
		break;
	default:
		fail("scenario without a server");
	}
	close(lfd);
	_exit(0);
}

/*
 * Reconnect from SRC_PORT: the old connection on that tuple may still be finishing its
 * LAST_ACK, which connect() reports as EADDRNOTAVAIL; retry that until IO_MS.
 */
static int reconnect_from(int src_port, int64_t *t_connect)
{
	int64_t deadline = now_ns() + (int64_t)IO_MS * 1000000;
	struct timespec pause = {0, 5000000};

	for (;;) {
		int err = 0, lport, fd;

		*t_connect = now_ns();
		fd = connect_within(src_port, IO_MS, &err, &lport);
		if (fd >= 0)
			return fd;
		if (err != EADDRNOTAVAIL || now_ns() > deadline)
			fail("reconnect from port %d: %s", src_port, strerror(err));
		nanosleep(&pause, NULL);
	}
}

static void client(enum scenario sc, int ms)
{
	struct linger abort_linger = {.l_onoff = 1, .l_linger = 0};
	int64_t t_close, t_connect;
	int lport, err = 0, fd;
	struct conn c, c2;
	char extra[96];

	if (sc == SC_REFUSED) {
		fd = connect_within(0, IO_MS, &err, &lport);
		if (fd >= 0)
			fail("connect to port %d succeeded; expected ECONNREFUSED", port);
		if (err != ECONNREFUSED)
			fail("connect to port %d: %s; expected ECONNREFUSED", port, strerror(err));
		say("{\"role\":\"client\",\"pid\":%d,\"family\":%d,\"lport\":%d,\"rport\":%d,"
		    "\"error\":\"ECONNREFUSED\"}",
		    getpid(), family, lport, port);
		_exit(0);
	}

	/*
	 * tw-reuse binds its first connection's port with SO_REUSEADDR. An ephemeral port from
	 * connect() is shared with other connections to other destinations, such as an earlier
	 * scenario's client in TIME_WAIT; that socket has no SO_REUSEADDR, so the reconnect's
	 * bind() to the port fails with EADDRINUSE. bind() picks only a port no such socket holds,
	 * and connect() never hands out a port that bind() took.
	 */
	c = conn_of(connect_or_fail(sc == SC_TW_REUSE ? -1 : 0, &lport));
	recv_byte(c.fd);
	switch (sc) {
	case SC_CLIENT_FIRST:
	case SC_CW_HOLD:
	case SC_PREFORK:
	case SC_NEVER_CLOSE:
		close(c.fd);
		say_conn(&c, "");
		break;
	case SC_SERVER_FIRST:
		wait_eof(c.fd);
		close(c.fd);
		say_conn(&c, "");
		break;
	case SC_HALF_CLOSE:
		if (shutdown(c.fd, SHUT_WR))
			fail("shutdown: %s", strerror(errno));
		wait_eof(c.fd);
		close(c.fd);
		say_conn(&c, "");
		break;
	case SC_RST:
		if (setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &abort_linger, sizeof(abort_linger)))
			fail("SO_LINGER: %s", strerror(errno));
		close(c.fd);
		say_conn(&c, "");
		break;
	case SC_SHUTDOWN_CLOSE:
		if (shutdown(c.fd, SHUT_WR))
			fail("shutdown: %s", strerror(errno));
		wait_state(c.fd, TCP_FIN_WAIT2);
		/* The kernel reports this close() as FIN_WAIT2 -> FIN_WAIT2 (tcp_close_state()). */
		close(c.fd);
		if (write(order_pipe[1], "c", 1) != 1)
			fail("order pipe: %s", strerror(errno));
		say_conn(&c, "");
		break;
	case SC_TW_REUSE:
		wait_eof(c.fd);
		close(c.fd);
		/* The server's TIME_WAIT starts when this FIN reaches it. */
		t_close = now_ns();
		say_conn(&c, ",\"conn\":1");
		sleep_until(t_close + (int64_t)ms * 1000000);
		c2 = conn_of(reconnect_from(c.lport, &t_connect));
		recv_byte(c2.fd);
		close(c2.fd);
		snprintf(extra, sizeof(extra), ",\"conn\":2,\"gap_ns\":%lld",
			 (long long)(t_connect - t_close));
		say_conn(&c2, extra);
		break;
	default:
		fail("scenario without a client");
	}
	_exit(0);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: tdpeer SCENARIO 4|6 PORT [MS]\n");
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (scenarios[i].ms)
			fprintf(f, "  %-13s %s (MS default %d)\n", scenarios[i].name,
				scenarios[i].help, scenarios[i].ms);
		else
			fprintf(f, "  %-13s %s\n", scenarios[i].name, scenarios[i].help);
}

int main(int argc, char **argv)
{
	enum scenario sc = (enum scenario) - 1;
	pid_t pids[1 + PREFORK_CHILDREN];
	int npids = 0, nclients, ms, pipefd[2];
	char *end;
	char c;

	if (argc < 4 || argc > 5) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (!strcmp(argv[1], scenarios[i].name))
			sc = (enum scenario)i;
	}
	family = atoi(argv[2]);
	port = (int)strtol(argv[3], &end, 10);
	if ((int)sc < 0 || (family != 4 && family != 6) || *end || port < 1 || port > 65535) {
		usage(stderr);
		return 2;
	}
	ms = argc == 5 ? atoi(argv[4]) : scenarios[sc].ms;
	if (ms < 0 || ms > 600000) {
		fprintf(stderr, "tdpeer: bad MS '%s'\n", argv[4]);
		return 2;
	}
	/* Every step is bounded on its own; this bounds the whole run on top. */
	alarm(3 * IO_MS / 1000 + ms / 1000 + 5);
	if (pipe2(order_pipe, O_CLOEXEC))
		fail("pipe: %s", strerror(errno));

	if (sc != SC_REFUSED) {
		if (pipe2(pipefd, O_CLOEXEC))
			fail("pipe: %s", strerror(errno));
		pids[npids] = fork();
		if (pids[npids] < 0)
			fail("fork: %s", strerror(errno));
		if (pids[npids] == 0) {
			close(pipefd[0]);
			become("server", 3 * IO_MS / 1000 + ms / 1000 + 2);
			server(sc, ms, pipefd[1]);
		}
		npids++;
		close(pipefd[1]);
		/* The clients start once the server listens (and its children exist). */
		wait_io(pipefd[0], POLLIN, IO_MS, "server ready");
		if (read(pipefd[0], &c, 1) != 1)
			fail("server failed before listening");
		close(pipefd[0]);
	}
	nclients = sc == SC_PREFORK ? PREFORK_CHILDREN : 1;
	for (int i = 0; i < nclients; i++) {
		pids[npids] = fork();
		if (pids[npids] < 0)
			fail("fork: %s", strerror(errno));
		if (pids[npids] == 0) {
			become("client", 3 * IO_MS / 1000 + ms / 1000 + 2);
			client(sc, ms);
		}
		npids++;
	}
	return reap(pids, npids) ? 1 : 0;
}
