// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test peer for the exporter test: N clients connect to a local listener and
 * close at once; the server holds each peer-closed socket in CLOSE_WAIT for
 * HOLD ms before closing it, so every connection spends a known time there.
 * Usage: cwhold PORT N HOLD_MS [GATE]. Prints the server pid; exits 0 on success.
 * With GATE, the connections are made first and accepted only once the file
 * GATE exists (within 10 s), and the clients close once they are accepted: a
 * tracer started in between sees each socket first in its accept().
 * With CWHOLD_CLOSES=FILE in the environment, the server writes to FILE a line per
 * close of a held socket: "PEER_PORT BEFORE_NS AFTER_NS", CLOCK_MONOTONIC just before
 * and just after its close(), which sends the server's FIN.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static unsigned long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts))
		;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int port, n, hold, one = 1, l, accepted[2];
	const char *gate = argc == 5 ? argv[4] : NULL;
	pid_t child;

	if (argc != 4 && argc != 5)
		return fprintf(stderr, "usage: cwhold PORT N HOLD_MS [GATE]\n"), 2;
	port = atoi(argv[1]);
	n = atoi(argv[2]);
	hold = atoi(argv[3]);
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, n + 8))
		die("listen");
	if (pipe(accepted))
		die("pipe");
	printf("{\"server_pid\":%d}\n", getpid());
	fflush(stdout);
	int *fds = calloc(n, sizeof(int));

	if (!fds)
		die("calloc");
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		char b;

		for (int i = 0; i < n; i++) {
			fds[i] = socket(AF_INET, SOCK_STREAM, 0);
			if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)))
				die("connect");
			if (!gate)
				close(fds[i]);
		}
		if (gate) {
			/* Until the server has accepted them all (or exited). */
			close(accepted[1]);
			if (read(accepted[0], &b, 1) < 0)
				die("read");
			for (int i = 0; i < n; i++)
				close(fds[i]);
		}
		_exit(0);
	}
	for (int i = 0; gate && access(gate, F_OK); i++) {
		if (i == 1000)
			die("gate");
		sleep_ms(10);
	}
	for (int i = 0; i < n; i++) {
		fds[i] = accept(l, NULL, NULL);
		if (fds[i] < 0)
			die("accept");
	}
	if (write(accepted[1], "a", 1) != 1)
		die("write");
	/* Wait (bounded) for every peer's FIN (read() returns 0): they all enter
	 * CLOSE_WAIT within a few ms, then all leave it HOLD ms later. */
	for (int i = 0; i < n; i++) {
		struct pollfd p = { .fd = fds[i], .events = POLLIN };
		char b;

		if (poll(&p, 1, 5000) != 1 || read(fds[i], &b, 1) != 0)
			die("peer close");
	}
	sleep_ms(hold);
	const char *log_path = getenv("CWHOLD_CLOSES");
	FILE *log = log_path ? fopen(log_path, "w") : NULL;

	if (log_path && !log)
		die(log_path);
	for (int i = 0; i < n; i++) {
		struct sockaddr_in peer;
		socklen_t len = sizeof(peer);
		unsigned long long t0, t1;

		if (getpeername(fds[i], (struct sockaddr *)&peer, &len))
			die("getpeername");
		t0 = mono_ns();
		close(fds[i]);
		t1 = mono_ns();
		if (log)
			fprintf(log, "%u %llu %llu\n", ntohs(peer.sin_port), t0, t1);
	}
	if (log && fclose(log))
		die(log_path);
	free(fds);
	close(l);
	int st;

	if (waitpid(child, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return 1;
	return 0;
}
