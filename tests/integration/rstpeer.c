// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Reset driver for rst.sh: on loopback (127.0.0.1 or ::1), one connection for each way a
 * reset is sent, each side's reset known in advance:
 *
 *   rstpeer -4|-6 PORT
 *
 * - unread: the client sends 100 bytes the server never reads; the server closes: it sends
 *   a reset (close() with unread data aborts: CLOSE, then the reset), the client receives it.
 * - linger0: the client closes with SO_LINGER {1, 0}: it sends a reset, the server receives it.
 * - refused: the client, bound to PORT + 2, connects to PORT + 1, where nobody listens: it
 *   receives a reset sent for no socket.
 * - after_close: the server shuts down its side, waits (TCP_INFO, bounded) until the client
 *   has acknowledged its FIN (FIN_WAIT2), and closes, so its end lives on as a timewait socket;
 *   the client then sends data: the timewait socket answers with a reset, the client receives
 *   it.
 *
 * - after_shutdown: the server shuts down both directions (its socket stays, in FIN_WAIT2
 *   once the client has acknowledged its FIN); the client sends data: the server aborts
 *   (tcp_reset(), which traces a received reset, then the reset it sends), the client
 *   receives it.
 *
 * One JSON line per connection, {"scenario":NAME,"client":PORT,"server":PORT}, with each end's
 * local port (server 0: none). Every wait is bounded; a failure exits nonzero with a message.
 */
#include <netinet/tcp.h>
#include <unistd.h>

#include "peerlib.h"

#define IO_MS 5000

static int tcp_socket(void)
{
	int fd = socket(peer_family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		fail("socket");
	return fd;
}

static int connect_to(int port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback_addr(&ss, port);
	int fd = tcp_socket();

	if (connect(fd, (struct sockaddr *)&ss, len))
		fail("connect");
	return fd;
}

/* The accepted end of a connection the client has just made (loopback: it is queued). */
static int accept_one(int l)
{
	int fd;

	wait_in(l, IO_MS, "accept: nothing queued");
	fd = accept(l, NULL, NULL);
	if (fd < 0)
		fail("accept");
	return fd;
}

/* Until fd's state is state (TCP_INFO), within IO_MS; fail with what if it never is. */
static void wait_state(int fd, int state, const char *what)
{
	struct tcp_info ti;
	socklen_t len;

	for (int i = 0; i < IO_MS; i++) {
		len = sizeof(ti);
		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
			fail(what);
		if (ti.tcpi_state == state)
			return;
		usleep(1000);
	}
	errno = ETIMEDOUT;
	fail(what);
}

/* The reset reached fd: within IO_MS its state is CLOSE and its error the one tcp_reset()
 * gives in the state it was in (ECONNRESET; EPIPE in CLOSE_WAIT, where a read returns the
 * end of file that came first). */
static void expect_reset(int fd, int err, const char *what)
{
	socklen_t len = sizeof(int);
	int e = 0;

	wait_state(fd, TCP_CLOSE, what);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) || e != err) {
		errno = e;
		fail(what);
	}
}

/* server: the server's socket, or -1 for none. */
static void say(const char *scenario, int client, int server)
{
	printf("{\"scenario\":\"%s\",\"client\":%d,\"server\":%d}\n", scenario, client,
	       server >= 0 ? local_port(server) : 0);
	fflush(stdout);
}

static void unread(int l)
{
	static const char data[100];
	int c = connect_to(local_port(l)), s = accept_one(l);

	if (write(c, data, sizeof(data)) != (ssize_t)sizeof(data))
		fail("unread: write");
	wait_in(s, IO_MS, "unread: the data never came");
	say("unread", local_port(c), s);
	close(s);
	expect_reset(c, ECONNRESET, "unread: the client got no reset");
	close(c);
}

static void linger0(int l)
{
	struct linger lg = {1, 0};
	int c = connect_to(local_port(l)), s = accept_one(l);

	say("linger0", local_port(c), s);
	if (setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		fail("linger0: SO_LINGER");
	close(c);
	expect_reset(s, ECONNRESET, "linger0: the server got no reset");
	close(s);
}

/* Bound to PORT + 2 first: a refused connect() gives back a port it chose itself. */
static void refused(int l)
{
	struct sockaddr_storage ss, me;
	socklen_t len = loopback_addr(&ss, local_port(l) + 1);
	socklen_t mlen = loopback_addr(&me, local_port(l) + 2);
	int c = tcp_socket();

	if (bind(c, (struct sockaddr *)&me, mlen))
		fail("refused: bind");
	if (!connect(c, (struct sockaddr *)&ss, len) || errno != ECONNREFUSED)
		fail("refused: connect was not refused");
	say("refused", local_port(c), -1);
	close(c);
}

static void after_close(int l)
{
	static const char data[10];
	int c = connect_to(local_port(l)), s = accept_one(l);

	if (shutdown(s, SHUT_WR))
		fail("after_close: shutdown");
	wait_state(s, TCP_FIN_WAIT2, "after_close: the server never reached FIN_WAIT2");
	say("after_close", local_port(c), s);
	close(s);
	if (write(c, data, sizeof(data)) != (ssize_t)sizeof(data))
		fail("after_close: write");
	expect_reset(c, EPIPE, "after_close: the client got no reset");
	close(c);
}

static void after_shutdown(int l)
{
	static const char data[10];
	int c = connect_to(local_port(l)), s = accept_one(l);

	if (shutdown(s, SHUT_RDWR))
		fail("after_shutdown: shutdown");
	wait_state(s, TCP_FIN_WAIT2, "after_shutdown: the server never reached FIN_WAIT2");
	say("after_shutdown", local_port(c), s);
	if (write(c, data, sizeof(data)) != (ssize_t)sizeof(data))
		fail("after_shutdown: write");
	expect_reset(s, ECONNRESET, "after_shutdown: the server did not abort");
	expect_reset(c, EPIPE, "after_shutdown: the client got no reset");
	close(s);
	close(c);
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int l, one = 1;

	peer_name = "rstpeer";
	if (argc != 3 || (strcmp(argv[1], "-4") && strcmp(argv[1], "-6")))
		return fprintf(stderr, "usage: rstpeer -4|-6 PORT\n"), 2;
	peer_family = argv[1][1] - '0';
	len = loopback_addr(&ss, atoi(argv[2]));
	l = tcp_socket();
	if (setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(l, (struct sockaddr *)&ss, len) || listen(l, 8))
		fail("listen");
	unread(l);
	linger0(l);
	refused(l);
	after_close(l);
	after_shutdown(l);
	close(l);
	return 0;
}
