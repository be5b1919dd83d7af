// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Accept-queue driver for accept.sh: a server on loopback (127.0.0.1 or ::1) that leaves each
 * connection in its accept queue for a known time, and a client that resets one while it is
 * still queued.
 *
 *   acceptq -4|-6 PORT WAIT_MS N
 *
 * For each of N clients (forked, one at a time): the client connects and tells the server,
 * through a pipe, the CLOCK_MONOTONIC time its connect() returned (the child is queued by
 * then: on loopback the handshake's last ACK is processed before connect() returns); the
 * server sleeps WAIT_MS and accepts, then the client closes first and the server after it
 * (so that the server's end has no TIME_WAIT). One JSON line per connection:
 *   {"rport":CLIENT_PORT,"queued_ns":ACCEPT_RETURNED - CONNECT_RETURNED,"state":"ESTABLISHED"}
 * Then one more client connects and closes with SO_LINGER {1, 0} (an RST) while queued; the
 * server accepts it after that and prints the same line with the state the accepted socket is
 * in ("CLOSE": the reset came first, as it must on loopback). Every wait is bounded; any
 * failure exits nonzero with a message.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "peerlib.h"

#define IO_MS 5000

/* Read exactly len bytes from fd within IO_MS (len 0: wait for end of file). */
static void read_all(int fd, void *buf, size_t len, const char *what)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c;

	if (poll(&p, 1, IO_MS) != 1)
		fail(what);
	if (!len ? read(fd, &c, 1) != 0 : read(fd, buf, len) != (ssize_t)len)
		fail(what);
}

/* The client: connect, report (connect time, local port), then reset or wait for the word
 * to close. */
static __attribute__((noreturn)) void client(int port, int report, int go, int reset)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback_addr(&ss, port);
	int fd = socket(peer_family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	int64_t msg[2];
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len))
		fail("client: connect");
	msg[0] = now_ns();
	msg[1] = local_port(fd);
	if (reset) {
		struct linger l = {1, 0};

		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)))
			fail("client: SO_LINGER");
		close(fd); /* the RST is processed before close() returns (loopback) */
		msg[0] = now_ns();
	}
	if (write(report, msg, sizeof(msg)) != sizeof(msg))
		fail("client: report");
	if (!reset)
		read_all(go, &c, 1, "client: wait for the server");
	_exit(0);
}

static const char *state_name(int s)
{
	return s == TCP_ESTABLISHED  ? "ESTABLISHED"
	       : s == TCP_CLOSE	     ? "CLOSE"
	       : s == TCP_CLOSE_WAIT ? "CLOSE_WAIT"
				     : "OTHER";
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	int lfd, port, wait_ms, n, one = 1;
	socklen_t len;

	peer_name = "acceptq";
	if (argc != 5 || (strcmp(argv[1], "-4") && strcmp(argv[1], "-6"))) {
		fprintf(stderr, "usage: acceptq -4|-6 PORT WAIT_MS N\n");
		return 2;
	}
	peer_family = argv[1][1] - '0';
	port = atoi(argv[2]);
	wait_ms = atoi(argv[3]);
	n = atoi(argv[4]);
	if (port <= 0 || port > 65535 || wait_ms < 0 || wait_ms > 10000 || n < 0 || n > 100) {
		fprintf(stderr, "acceptq: bad argument\n");
		return 2;
	}
	len = loopback_addr(&ss, port);
	lfd = socket(peer_family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&ss, len) || listen(lfd, 16))
		fail("server: listen");
	for (int i = 0; i <= n; i++) {
		int reset = i == n, report[2], go[2], fd, st;
		struct timespec d = {wait_ms / 1000, (long)(wait_ms % 1000) * 1000000};
		struct tcp_info ti;
		socklen_t tl = sizeof(ti);
		int64_t msg[2];
		pid_t pid;

		if (pipe(report) || pipe(go))
			fail("pipe");
		pid = fork();
		if (pid < 0)
			fail("fork");
		if (!pid)
			client(port, report[1], go[0], reset);
		read_all(report[0], msg, sizeof(msg), "server: wait for the client");
		nanosleep(&d, NULL);
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			fail("server: accept");
		int64_t t = now_ns();

		memset(&ti, 0, sizeof(ti));
		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl))
			fail("server: TCP_INFO");
		printf("{\"rport\":%d,\"queued_ns\":%lld,\"state\":\"%s\"}\n", (int)msg[1],
		       (long long)(t - msg[0]), state_name(ti.tcpi_state));
		fflush(stdout);
		/* The client closes first, so that this end ends without TIME_WAIT: it
		 * reads the EOF, then closes (CLOSE_WAIT, LAST_ACK, CLOSE). */
		if (!reset) {
			char c;

			if (write(go[1], "x", 1) != 1)
				fail("server: tell the client");
			read_all(fd, &c, 0, "server: wait for the client's FIN");
		}
		close(fd);
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
			fail("server: the client failed");
		close(report[0]);
		close(report[1]);
		close(go[0]);
		close(go[1]);
	}
	close(lfd);
	return 0;
}
