// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test peer for pods.sh: the two ends of a CLOSE_WAIT leak, as separate processes that the
 * script puts into cgroups of their own (a pod's container each) before they make a socket.
 *   podpeer server PORT N READY GATE: listen on 127.0.0.1:PORT, create READY, accept N
 *     connections, read each to its end (the client's FIN: CLOSE_WAIT), create READY.held,
 *     and hold them all until the file GATE exists (at most 60 s); then close them.
 *   podpeer client PORT N: connect N times and close each at once (each goes FIN_WAIT1,
 *     FIN_WAIT2, and TIME_WAIT once the server closes).
 * Every wait is bounded; any failure exits nonzero.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "peerlib.h"

#define MAX_CONNS 256

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		fail(path);
	close(fd);
}

static void server(int port, int n, const char *ready, const char *gate)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback_addr(&ss, port);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, fds[MAX_CONNS];
	char held[4096], b[64];
	int64_t end;

	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(l, (struct sockaddr *)&ss, len) || listen(l, MAX_CONNS))
		fail("listen");
	touch(ready);
	for (int i = 0; i < n; i++) {
		wait_in(l, 10000, "accept: no connection within 10 s");
		fds[i] = accept(l, NULL, NULL);
		if (fds[i] < 0)
			fail("accept");
	}
	close(l);
	for (int i = 0; i < n; i++) {
		ssize_t r;

		wait_in(fds[i], 10000, "the client's FIN did not come within 10 s");
		r = read(fds[i], b, sizeof(b));
		if (r != 0) {
			errno = r < 0 ? errno : EPROTO;
			fail("read: want the end of the stream");
		}
	}
	snprintf(held, sizeof(held), "%s.held", ready);
	touch(held);
	for (end = now_ns() + 60 * 1000000000LL; access(gate, F_OK); usleep(10000))
		if (now_ns() > end) {
			errno = ETIMEDOUT;
			fail("the gate file did not appear within 60 s");
		}
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

static void client(int port, int n)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback_addr(&ss, port);

	for (int i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len))
			fail("connect");
		close(fd);
	}
}

int main(int argc, char **argv)
{
	int port, n;

	peer_name = "podpeer";
	if (argc < 4 ||
	    ((strcmp(argv[1], "server") || argc != 6) && (strcmp(argv[1], "client") || argc != 4)))
		return fprintf(stderr, "usage: podpeer server PORT N READY GATE | client PORT N\n"),
		       2;
	port = atoi(argv[2]);
	n = atoi(argv[3]);
	if (port < 1 || port > 65535 || n < 1 || n > MAX_CONNS)
		return fprintf(stderr, "podpeer: bad PORT or N\n"), 2;
	if (!strcmp(argv[1], "server"))
		server(port, n, argv[4], argv[5]);
	else
		client(port, n);
	return 0;
}
