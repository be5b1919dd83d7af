// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Transfer driver for conninfo.sh: one connection on loopback (127.0.0.1 or ::1) that carries
 * a known number of bytes each way.
 *
 *   xfer -4|-6 PORT UP DOWN [ADDR CLIENT_NETNS]
 *
 * With ADDR and CLIENT_NETNS (a path such as /run/netns/NAME), the server listens on ADDR in
 * the network namespace xfer runs in and the client connects from CLIENT_NETNS (setns), so
 * the connection crosses a link between two namespaces (netem.sh delays it).
 *
 * The client connects (from a forked process), sends UP bytes and shuts its side down; the
 * server reads to the end, counting, then sends DOWN bytes; the client reads them all and
 * closes, the server after it (the client's FIN came first: the server's end has no
 * TIME_WAIT and its timeline comes at once). One JSON line:
 *   {"cport":CLIENT_PORT,"up":BYTES_THE_SERVER_READ,"down":BYTES_THE_CLIENT_READ,
 *    "connect_ns":TIME_CONNECT_TOOK}
 * Every wait is bounded (IO_MS, more for a connect whose SYNs are dropped); any failure exits
 * nonzero with a message.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "peerlib.h"

#define IO_MS	   20000 /* a connect through dropped SYNs takes 1 + 2 + 4 s */
#define CHUNK	   65536
#define MAX_BYTES  (1ULL << 34)

static const char *addr_text; /* ADDR; NULL: loopback */

/* ADDR (or loopback) at port, in ss; returns its length. */
static socklen_t addr_of(struct sockaddr_storage *ss, int port)
{
	socklen_t len = loopback_addr(ss, port);
	void *a = peer_family == 6 ? (void *)&((struct sockaddr_in6 *)ss)->sin6_addr
				   : (void *)&((struct sockaddr_in *)ss)->sin_addr;

	if (addr_text && inet_pton(peer_family == 6 ? AF_INET6 : AF_INET, addr_text, a) != 1)
		fail("bad address");
	return len;
}

/* Send n bytes. */
static void send_all(int fd, uint64_t n, const char *what)
{
	static char buf[CHUNK];

	while (n) {
		ssize_t w = send(fd, buf, n < sizeof(buf) ? n : sizeof(buf), MSG_NOSIGNAL);

		if (w <= 0)
			fail(what);
		n -= (uint64_t)w;
	}
}

/* Read until the end of the stream (or, with limit, until limit bytes); the bytes read. */
static uint64_t read_all(int fd, uint64_t limit, const char *what)
{
	static char buf[CHUNK];
	uint64_t n = 0;

	for (;;) {
		ssize_t r;

		if (limit && n == limit)
			return n;
		wait_in(fd, IO_MS, what);
		r = read(fd, buf, sizeof(buf));
		if (r < 0)
			fail(what);
		if (!r)
			return n;
		n += (uint64_t)r;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	uint64_t up, down, got_up;
	int lfd, fd, port, one = 1, report[2], st;
	int64_t msg[3];
	socklen_t len;
	pid_t pid;

	const char *client_ns = NULL;

	peer_name = "xfer";
	if ((argc != 5 && argc != 7) || (strcmp(argv[1], "-4") && strcmp(argv[1], "-6"))) {
		fprintf(stderr, "usage: xfer -4|-6 PORT UP DOWN [ADDR CLIENT_NETNS]\n");
		return 2;
	}
	if (argc == 7) {
		addr_text = argv[5];
		client_ns = argv[6];
	}
	peer_family = argv[1][1] - '0';
	port = atoi(argv[2]);
	up = strtoull(argv[3], NULL, 10);
	down = strtoull(argv[4], NULL, 10);
	if (port <= 0 || port > 65535 || up > MAX_BYTES || down > MAX_BYTES) {
		fprintf(stderr, "xfer: bad argument\n");
		return 2;
	}
	len = addr_of(&ss, port);
	lfd = socket(peer_family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&ss, len) || listen(lfd, 4) || pipe(report))
		fail("server: listen");
	pid = fork();
	if (pid < 0)
		fail("fork");
	if (!pid) {
		int c = socket(peer_family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
		struct sockaddr_storage me;
		socklen_t ml = sizeof(me);
		int64_t t0 = now_ns();

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (client_ns) {
			int nfd = open(client_ns, O_RDONLY | O_CLOEXEC);

			/* The socket is made in the namespace current when socket() runs. */
			if (nfd < 0 || setns(nfd, CLONE_NEWNET))
				fail("client: setns");
			close(nfd);
			close(c);
			c = socket(peer_family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
		}
		if (c < 0 || connect(c, (struct sockaddr *)&ss, len))
			fail("client: connect");
		msg[2] = now_ns() - t0;
		if (getsockname(c, (struct sockaddr *)&me, &ml))
			fail("client: getsockname");
		msg[0] = ntohs(peer_family == 6 ? ((struct sockaddr_in6 *)&me)->sin6_port
					   : ((struct sockaddr_in *)&me)->sin_port);
		send_all(c, up, "client: send");
		if (shutdown(c, SHUT_WR))
			fail("client: shutdown");
		msg[1] = (int64_t)read_all(c, down, "client: read");
		close(c); /* first: the server's end then closes without TIME_WAIT */
		if (write(report[1], msg, sizeof(msg)) != sizeof(msg))
			fail("client: report");
		_exit(0);
	}
	wait_in(lfd, IO_MS, "server: accept");
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		fail("server: accept");
	got_up = read_all(fd, 0, "server: read");
	send_all(fd, down, "server: send");
	wait_in(report[0], IO_MS, "server: wait for the client");
	if (read(report[0], msg, sizeof(msg)) != sizeof(msg))
		fail("server: the client's report");
	close(fd); /* after the client has read it all: CLOSE_WAIT, LAST_ACK, CLOSE */
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("server: the client failed");
	printf("{\"cport\":%lld,\"up\":%llu,\"down\":%lld,\"connect_ns\":%lld}\n",
	       (long long)msg[0], (unsigned long long)got_up, (long long)msg[1],
	       (long long)msg[2]);
	close(lfd);
	return 0;
}
