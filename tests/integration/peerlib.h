/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the integration tests' socket drivers (acceptq, xfer, rstpeer) share: failing with the
 * reason, the monotonic clock, loopback addresses of either family, a socket's local port and a
 * bounded wait for input. Each driver sets peer_name (for its messages) and peer_family (4 or 6).
 */
#ifndef TD_PEERLIB_H
#define TD_PEERLIB_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static const char *peer_name = "peer";
static int peer_family = 4;

static inline __attribute__((noreturn)) void fail(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", peer_name, what, strerror(errno));
	exit(1);
}

static inline int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The loopback address of peer_family at port, in ss; returns its length. */
static inline socklen_t loopback_addr(struct sockaddr_storage *ss, int port)
{
	memset(ss, 0, sizeof(*ss));
	if (peer_family == 6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		a->sin6_port = htons(port);
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->sin_port = htons(port);
	return sizeof(*a);
}

static inline int local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		fail("getsockname");
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					      : ((struct sockaddr_in *)&ss)->sin_port);
}

/* Wait up to ms for fd to have input (or an error, or its end); fail with what if none. */
static inline void wait_in(int fd, int ms, const char *what)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	if (poll(&p, 1, ms) != 1)
		fail(what);
}

#endif /* TD_PEERLIB_H */
