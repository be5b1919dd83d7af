// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Hostile clients for the exporter test: N connections to 127.0.0.1:PORT, client
 * i from 127.0.0.(2 + i % ADDRS) and of kind i % 5 (so with ADDRS a multiple of
 * 5 each address sends one kind, many connections of it): slowloris (a
 * header byte a second, never ending), huge headers (64 KiB, then a byte a
 * second), a bad method announcing a body sent a byte a second, a bad path
 * then the next request a byte a second, and idle (connect, send nothing).
 * A connection the server ends is made again 1 s later, for SECONDS in all.
 * Usage: slowclients PORT N ADDRS SECONDS LIMIT_MS. Prints one line per kind
 * (connects tried, connections ended by the server, of those the ones that had
 * lived at least 1 s, the longest life of an ended one, the ones still open at
 * the end and the oldest of them, in ms from the handshake; a connect still
 * waiting for its handshake is not a connection yet), then the most
 * connections from one address open together for 1 s or more (a connection
 * the server refuses at accept ends within milliseconds); exits 1 when any
 * connection lived or is open longer than LIMIT_MS, 2 on a usage or system
 * error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS  1000
#define MAX_ADDRS    250
#define BIG_HEADER   (64 * 1024)
#define RECONNECT_MS 1000
#define TRICKLE_MS   1000

enum kind { SLOWLORIS, BIGHEADER, BADMETHOD, BADPATH, IDLE, NKINDS };

static const char *const kind_name[NKINDS] = {"slowloris", "huge-header", "bad-method", "bad-path",
					      "idle"};
static const char *const opening[NKINDS] = {
    "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ",
    "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ",
    "PUT /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n",
    "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
    "",
};

struct client {
	int fd; /* -1 while waiting to reconnect */
	enum kind kind;
	struct in_addr src;
	uint64_t start_ms; /* connected (the server may have it from now on) */
	uint64_t next_ms;  /* next trickled byte, or the reconnect */
	bool connected;
	size_t sent; /* of the opening and the big header */
};

struct tally {
	unsigned long made, ended, held;
	uint64_t max_life, oldest_open;
	unsigned long open;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool parse(const char *s, long lo, long hi, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	return !errno && end != s && !*end && *v >= lo && *v <= hi;
}

static void client_open(struct client *c, struct sockaddr_in *dst, struct tally *t, uint64_t now)
{
	struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr = c->src};

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&src, sizeof(src)) ||
	    (connect(c->fd, (struct sockaddr *)dst, sizeof(*dst)) && errno != EINPROGRESS)) {
		perror("slowclients: socket");
		exit(2);
	}
	c->start_ms = now;
	c->connected = false;
	c->sent = 0;
	c->next_ms = now + TRICKLE_MS;
	t[c->kind].made++;
}

static void client_ended(struct client *c, struct tally *t, uint64_t now)
{
	uint64_t life = now - c->start_ms;

	close(c->fd);
	c->fd = -1;
	c->next_ms = now + RECONNECT_MS;
	if (!c->connected)
		return; /* refused or never answered: not the server's connection */
	t[c->kind].ended++;
	if (life >= 1000)
		t[c->kind].held++;
	if (life > t[c->kind].max_life)
		t[c->kind].max_life = life;
}

/* Send what the kind sends now; false when the server has ended the connection. */
static bool client_send(struct client *c, uint64_t now)
{
	static char big[BIG_HEADER];
	const char *op = opening[c->kind];
	size_t oplen = strlen(op), total = oplen + (c->kind == BIGHEADER ? sizeof(big) : 0);
	ssize_t n;

	if (!big[0])
		memset(big, 'a', sizeof(big));
	while (c->sent < total) {
		if (c->sent < oplen)
			n = send(c->fd, op + c->sent, oplen - c->sent, MSG_NOSIGNAL);
		else
			n = send(c->fd, big + (c->sent - oplen), total - c->sent, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN;
		c->sent += (size_t)n;
	}
	if (c->kind == IDLE || now < c->next_ms)
		return true;
	c->next_ms = now + TRICKLE_MS;
	/* a header value, a body, or the next request line: one byte at a time */
	n = send(c->fd, c->kind == BADPATH ? "G" : "a", 1, MSG_NOSIGNAL);
	return n == 1 || (n < 0 && errno == EAGAIN);
}

int main(int argc, char **argv)
{
	static struct client cl[MAX_CLIENTS];
	static struct pollfd pfd[MAX_CLIENTS];
	struct tally t[NKINDS] = {0};
	static unsigned held_from[MAX_ADDRS];
	struct sockaddr_in dst = {.sin_family = AF_INET};
	unsigned most_from_one = 0;
	long port, n, addrs, secs, limit;
	uint64_t now, end;
	bool over = false;
	char buf[4096];
	int i, k;

	if (argc != 6 || !parse(argv[1], 1, 65535, &port) || !parse(argv[2], 1, MAX_CLIENTS, &n) ||
	    !parse(argv[3], 1, MAX_ADDRS, &addrs) || !parse(argv[4], 1, 600, &secs) ||
	    !parse(argv[5], 1, 600000, &limit)) {
		fprintf(stderr, "usage: slowclients PORT N(1-%d) ADDRS(1-%d) SECONDS LIMIT_MS\n",
			MAX_CLIENTS, MAX_ADDRS);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	dst.sin_port = htons((uint16_t)port);
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	now = now_ms();
	end = now + (uint64_t)secs * 1000;
	for (i = 0; i < n; i++) {
		cl[i].kind = (enum kind)(i % NKINDS);
		cl[i].src.s_addr = htonl(INADDR_LOOPBACK + 1 + (uint32_t)(i % addrs));
		client_open(&cl[i], &dst, t, now);
	}
	while ((now = now_ms()) < end) {
		for (i = 0; i < n; i++) {
			struct client *c = &cl[i];

			if (c->fd < 0 && now >= c->next_ms)
				client_open(c, &dst, t, now);
			pfd[i].fd = c->fd;
			pfd[i].events = POLLIN | (c->connected ? 0 : POLLOUT);
			pfd[i].revents = 0;
		}
		if (poll(pfd, (nfds_t)n, 100) < 0 && errno != EINTR) {
			perror("slowclients: poll");
			return 2;
		}
		now = now_ms();
		for (i = 0; i < n; i++) {
			struct client *c = &cl[i];
			bool gone = false;
			ssize_t r;

			if (c->fd < 0)
				continue;
			if (pfd[i].revents & POLLIN) {
				/* a response (discarded), or the end the server chose */
				r = recv(c->fd, buf, sizeof(buf), 0);
				gone = r == 0 || (r < 0 && errno != EAGAIN);
			} else if (pfd[i].revents & (POLLERR | POLLHUP)) {
				gone = true;
			}
			if (!gone && !c->connected && (pfd[i].revents & POLLOUT)) {
				c->connected = true;
				c->start_ms = now;
			}
			if (!gone && c->connected)
				gone = !client_send(c, now);
			if (gone)
				client_ended(c, t, now);
		}
		memset(held_from, 0, sizeof(held_from));
		for (i = 0; i < n; i++) {
			unsigned *h = &held_from[i % addrs];

			if (cl[i].fd >= 0 && cl[i].connected && now - cl[i].start_ms >= 1000 &&
			    ++*h > most_from_one)
				most_from_one = *h;
		}
	}
	for (i = 0; i < n; i++) {
		if (cl[i].fd < 0 || !cl[i].connected)
			continue;
		t[cl[i].kind].open++;
		if (now - cl[i].start_ms > t[cl[i].kind].oldest_open)
			t[cl[i].kind].oldest_open = now - cl[i].start_ms;
	}
	for (k = 0; k < NKINDS; k++) {
		printf(
		    "%-11s made %lu ended %lu held>=1s %lu longest %llu ms; open %lu oldest %llu "
		    "ms\n",
		    kind_name[k], t[k].made, t[k].ended, t[k].held,
		    (unsigned long long)t[k].max_life, t[k].open,
		    (unsigned long long)t[k].oldest_open);
		over |= t[k].max_life > (uint64_t)limit || t[k].oldest_open > (uint64_t)limit;
	}
	printf("most held from one address %u\n", most_from_one);
	return over ? 1 : 0;
}
