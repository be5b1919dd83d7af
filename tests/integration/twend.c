// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Puts one IPv4 loopback connection's client in TIME_WAIT and ends it the way the test asks,
 * for kernel_paths.sh. One process: listener, client and accepted socket. The client half-closes
 * (shutdown(SHUT_WR)), the server closes on EOF; the server's FIN, seen on a raw TCP socket,
 * gives the client's rcv_nxt. Then:
 *   rst   an RST from the server's tuple with seq = rcv_nxt, built and sent on the raw socket:
 *         the one segment tcp_timewait_state_process() accepts to kill a TIME_WAIT socket
 *         (net.ipv4.tcp_rfc1337 = 0, the default);
 *   stay  nothing: the TIME_WAIT socket stays (for a netns exit to tear down).
 * With -C DIR the client socket is made while the process is in cgroup v2 directory DIR (the
 * socket keeps the cgroup it was made in); the listener, and so the accepted socket, are not.
 * Prints one JSON line: pid, port, lport (the client's), rcv_nxt. Run it in a network namespace
 * of its own: the raw socket sees all TCP there. Every wait is bounded; failures exit 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IO_MS 5000

static void die(const char *what)
{
	fprintf(stderr, "twend: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Move this process into the cgroup v2 directory dir (its cgroup.procs). */
static void join_cgroup(const char *dir)
{
	char path[4096], pid[32];
	int fd, n;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		die(path);
	n = snprintf(pid, sizeof(pid), "%d\n", getpid());
	if (write(fd, pid, n) != n)
		die(path);
	close(fd);
}

/* The cgroup v2 directory this process is in now, from /proc/self/cgroup ("0::/path"),
 * under mount point root. */
static void own_cgroup(const char *root, char *dir, size_t len)
{
	char line[4096];
	FILE *f = fopen("/proc/self/cgroup", "r");

	if (!f)
		die("/proc/self/cgroup");
	dir[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = 0;
		snprintf(dir, len, "%s%s", root, line + 3);
	}
	fclose(f);
	if (!dir[0]) {
		errno = ENOENT;
		die("no cgroup v2 line in /proc/self/cgroup");
	}
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	return sum;
}

/* An RST from 127.0.0.1:sport to 127.0.0.1:dport with sequence number seq (host order). */
static void send_rst(int raw, uint16_t sport, uint16_t dport, uint32_t seq)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct tcphdr th;
	struct {
		uint32_t saddr, daddr;
		uint8_t zero, proto;
		uint16_t len;
	} __attribute__((packed))
	ph = {htonl(INADDR_LOOPBACK), htonl(INADDR_LOOPBACK), 0, IPPROTO_TCP, htons(sizeof(th))};
	uint32_t sum;

	memset(&th, 0, sizeof(th));
	th.source = htons(sport);
	th.dest = htons(dport);
	th.seq = htonl(seq);
	th.doff = sizeof(th) / 4;
	th.rst = 1;
	sum = csum_add(0, &ph, sizeof(ph));
	sum = csum_add(sum, &th, sizeof(th));
	th.check = htons(csum_fold(sum));
	if (sendto(raw, &th, sizeof(th), 0, (struct sockaddr *)&to, sizeof(to)) != sizeof(th))
		die("sendto (raw RST)");
}

/* Wait for the FIN segment from sport to dport on the raw socket; its sequence number. */
static uint32_t fin_seq(int raw, uint16_t sport, uint16_t dport)
{
	uint64_t deadline = now_ms() + IO_MS;
	uint8_t buf[4096];

	while (now_ms() < deadline) {
		struct pollfd p = {.fd = raw, .events = POLLIN};
		const struct tcphdr *th;
		const struct iphdr *ip;
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recv(raw, buf, sizeof(buf), 0);
		if (n < (ssize_t)sizeof(*ip))
			continue;
		ip = (const struct iphdr *)buf;
		if (n < (ssize_t)(ip->ihl * 4 + sizeof(*th)))
			continue;
		th = (const struct tcphdr *)(buf + ip->ihl * 4);
		if (ntohs(th->source) == sport && ntohs(th->dest) == dport && th->fin)
			return ntohl(th->seq);
	}
	errno = ETIMEDOUT;
	die("waiting for the server's FIN");
	return 0;
}

/* Wait until the client's full socket reached CLOSE: tcp_time_wait() handed it over. */
static void wait_closed(int fd)
{
	uint64_t deadline = now_ms() + IO_MS;

	while (now_ms() < deadline) {
		struct tcp_info ti;
		socklen_t len = sizeof(ti);

		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
			die("TCP_INFO");
		if (ti.tcpi_state == TCP_CLOSE)
			return;
		usleep(1000);
	}
	errno = ETIMEDOUT;
	die("waiting for TIME_WAIT");
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	const char *cgdir = NULL, *cgroot = NULL, *mode;
	char home[4096], b;
	socklen_t alen = sizeof(a);
	int l, c, s, raw, one = 1;
	uint16_t port, lport;
	uint32_t seq;

	if (argc > 3 && !strcmp(argv[1], "-C")) {
		cgdir = argv[2];
		cgroot = argv[3];
		argv += 3;
		argc -= 3;
	}
	if (argc != 3 || (strcmp(argv[2], "rst") && strcmp(argv[2], "stay"))) {
		fprintf(stderr, "usage: twend [-C CGROUP_DIR CGROUP2_MOUNT] PORT rst|stay\n");
		return 2;
	}
	port = (uint16_t)atoi(argv[1]);
	mode = argv[2];

	raw = socket(AF_INET, SOCK_RAW, IPPROTO_TCP);
	if (raw < 0)
		die("raw socket (needs CAP_NET_RAW)");
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		die("listener");
	a.sin_port = htons(port);
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4))
		die("bind/listen");
	if (cgdir) {
		own_cgroup(cgroot, home, sizeof(home));
		join_cgroup(cgdir);
	}
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0)
		die("client socket");
	if (cgdir)
		join_cgroup(home);
	if (connect(c, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	s = accept(l, NULL, NULL);
	if (s < 0)
		die("accept");
	if (getsockname(c, (struct sockaddr *)&a, &alen))
		die("getsockname");
	lport = ntohs(a.sin_port);

	if (shutdown(c, SHUT_WR))
		die("shutdown");
	if (read(s, &b, 1) != 0)
		die("server: EOF expected");
	close(s);
	seq = fin_seq(raw, port, lport);
	wait_closed(c);
	close(c);
	close(l);
	if (!strcmp(mode, "rst"))
		send_rst(raw, port, lport, seq + 1);
	close(raw);
	printf("{\"pid\":%d,\"port\":%u,\"lport\":%u,\"rcv_nxt\":%u}\n", getpid(), port, lport,
	       seq + 1);
	return 0;
}
