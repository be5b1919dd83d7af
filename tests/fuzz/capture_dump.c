// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Writes fuzz_seed's seed corpus from this host's own socket dump: after making
 * loopback sockets in LISTEN, ESTABLISHED, CLOSE_WAIT, FIN_WAIT2 and TIME_WAIT
 * (IPv4 and IPv6), every buffer the inet_diag dump returns becomes one file,
 * DIR/dump-FAMILY-N, prefixed by the 12 bytes fuzz_seed reads first (now in ns,
 * tcp_fin_timeout in ms). The dump itself needs no privilege.
 *
 * In a network namespace of its own (root), the dump holds these sockets only:
 *
 *   cc -D_GNU_SOURCE tests/fuzz/capture_dump.c -o capture_dump
 *   unshare -n sh -c 'ip link set lo up && ./capture_dump tests/fuzz/corpus-seed'
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>

static int pair(int family, int *lfd, int *cfd, int *sfd)
{
	struct sockaddr_storage ss = {.ss_family = family};
	socklen_t len =
	    family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);

	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	*lfd = socket(family, SOCK_STREAM, 0);
	if (*lfd < 0 || bind(*lfd, (struct sockaddr *)&ss, len) || listen(*lfd, 8) ||
	    getsockname(*lfd, (struct sockaddr *)&ss, &len))
		return -1;
	*cfd = socket(family, SOCK_STREAM, 0);
	if (*cfd < 0 || connect(*cfd, (struct sockaddr *)&ss, len))
		return -1;
	*sfd = accept(*lfd, NULL, NULL);
	return *sfd < 0 ? -1 : 0;
}

static int dump(const char *dir, int family)
{
	struct {
		struct nlmsghdr h;
		struct inet_diag_req_v2 r;
	} req = {
	    .h = {.nlmsg_len = sizeof(req),
		  .nlmsg_type = SOCK_DIAG_BY_FAMILY,
		  .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
	    .r = {.sdiag_family = family, .sdiag_protocol = IPPROTO_TCP, .idiag_states = ~0u},
	};
	static char buf[64 * 1024];
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	int n = 0;

	if (fd < 0 || send(fd, &req, sizeof(req), 0) != sizeof(req))
		return -1;
	for (;;) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct timespec ts;
		uint64_t now;
		uint32_t fin = 60000;
		char path[4096];
		FILE *f;

		if (len <= 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
		snprintf(path, sizeof(path), "%s/dump-%s-%d", dir,
			 family == AF_INET ? "ipv4" : "ipv6", n++);
		f = fopen(path, "w");
		if (!f || fwrite(&now, sizeof(now), 1, f) != 1 ||
		    fwrite(&fin, sizeof(fin), 1, f) != 1 ||
		    fwrite(buf, 1, (size_t)len, f) != (size_t)len || fclose(f))
			return -1;
		if (((struct nlmsghdr *)buf)->nlmsg_type == NLMSG_DONE)
			break;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	int fds[2][6];

	if (argc != 2) {
		fprintf(stderr, "usage: capture_dump DIR\n");
		return 2;
	}
	for (int i = 0; i < 2; i++) {
		int family = i ? AF_INET6 : AF_INET;

		/* ESTABLISHED and LISTEN stay; the second pair's client closes first
		 * (FIN_WAIT2 / CLOSE_WAIT); the third's closes both ends (TIME_WAIT). */
		if (pair(family, &fds[i][0], &fds[i][1], &fds[i][2]) ||
		    pair(family, &fds[i][3], &fds[i][4], &fds[i][5])) {
			perror("capture_dump: loopback sockets");
			return 1;
		}
		close(fds[i][4]);
		int l, c, s;

		if (pair(family, &l, &c, &s)) {
			perror("capture_dump: loopback sockets");
			return 1;
		}
		close(c);
		usleep(10000);
		close(s);
		close(l);
	}
	usleep(50000);
	if (dump(argv[1], AF_INET) || dump(argv[1], AF_INET6)) {
		perror("capture_dump: socket dump");
		return 1;
	}
	return 0;
}
