// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test peer for the exporter test: N clients connect to a local listener and
 * close at once; the server holds each peer-closed socket in CLOSE_WAIT for
 * HOLD ms before closing it, so every connection spends a known time there.
 * Usage: cwhold PORT N HOLD_MS. Prints the server pid; exits 0 on success.
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

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts))
		;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int port, n, hold, one = 1, l;
	pid_t child;

	if (argc != 4)
		return fprintf(stderr, "usage: cwhold PORT N HOLD_MS\n"), 2;
	port = atoi(argv[1]);
	n = atoi(argv[2]);
	hold = atoi(argv[3]);
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, n + 8))
		die("listen");
	printf("{\"server_pid\":%d}\n", getpid());
	fflush(stdout);
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		for (int i = 0; i < n; i++) {
			int c = socket(AF_INET, SOCK_STREAM, 0);

			if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)))
				die("connect");
			close(c);
		}
		_exit(0);
	}
	int *fds = calloc(n, sizeof(int));

	if (!fds)
		die("calloc");
	for (int i = 0; i < n; i++) {
		fds[i] = accept(l, NULL, NULL);
		if (fds[i] < 0)
			die("accept");
	}
	/* Wait (bounded) for every peer's FIN (read() returns 0): they all enter
	 * CLOSE_WAIT within a few ms, then all leave it HOLD ms later. */
	for (int i = 0; i < n; i++) {
		struct pollfd p = { .fd = fds[i], .events = POLLIN };
		char b;

		if (poll(&p, 1, 5000) != 1 || read(fds[i], &b, 1) != 0)
			die("peer close");
	}
	sleep_ms(hold);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	close(l);
	int st;

	if (waitpid(child, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return 1;
	return 0;
}
