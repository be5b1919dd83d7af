// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tdrdump: a recording's items as they are stored, one JSON object a line, before
 * any connection table sees them. The evidence a test keeps when a tracer's output
 * and the kernel seem to disagree: `trace -w FILE` records exactly the stream that
 * trace's table was fed, in the order it was fed.
 * Usage: tdrdump FILE. Exit 0 at a clean end, 1 on a bad or torn file (after
 * printing every item before the bad one).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record.h"
#include "state.h"

/* A recording's string (any bytes, n of them) as a JSON string: bytes outside printable
 * ASCII, quotes and backslashes as \u00XX. */
static void put_str(const char *p, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void put_addr(const char *key, const uint8_t *a, int family)
{
	printf(",\"%s\":\"", key);
	if (family == 6)
		for (int i = 0; i < 16; i += 2)
			printf("%s%02x%02x", i ? ":" : "", a[i], a[i + 1]);
	else
		printf("%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	putchar('"');
}

static void put_event(uint64_t n, const struct td_event *e)
{
	static const char *const kinds[] = { "?",	  "state",  "tw_arm",    "tw_cancel",
					     "accept", "tw_diag", "conn_stats", "rst" };

	printf("{\"n\":%" PRIu64 ",\"type\":\"event\",\"ts\":%" PRIu64 ",\"kind\":\"%s\"", n,
	       (uint64_t)e->ts_ns, e->kind < sizeof(kinds) / sizeof(kinds[0]) ? kinds[e->kind] : "?");
	printf(",\"old\":\"%s\",\"new\":\"%s\"", state__name(e->oldstate),
	       state__name(e->newstate));
	printf(",\"cookie\":%" PRIu64 ",\"skaddr\":\"%#" PRIx64 "\",\"flags\":%u", (uint64_t)e->cookie,
	       (uint64_t)e->skaddr, e->flags);
	printf(",\"family\":%u,\"sport\":%u,\"dport\":%u", e->family, e->sport, e->dport);
	if (e->kind == TD_EV_CONN_STATS) {
		/* The counters in the addresses' place. */
		printf(",\"bytes_acked\":%" PRIu64 ",\"bytes_received\":%" PRIu64
		       ",\"segs_out\":%u,\"segs_in\":%u,\"total_retrans\":%u,\"srtt_us\":%u"
		       ",\"min_rtt_us\":%u}\n",
		       (uint64_t)e->stats.bytes_acked, (uint64_t)e->stats.bytes_received,
		       e->stats.segs_out, e->stats.segs_in, e->stats.total_retrans, e->stats.srtt_us,
		       e->min_rtt_us);
		return;
	}
	if (e->flags & TD_F_HANDSHAKE)
		printf(",\"rtt_us\":%u,\"retrans\":%u", e->rtt_us, e->retrans);
	if (e->kind == TD_EV_RST)
		printf(",\"rst_sent\":%s,\"rst_reason\":%u", (e->flags & TD_F_RST_SENT) ? "true" : "false",
		       e->rst_reason);
	put_addr("saddr", e->saddr, e->family);
	put_addr("daddr", e->daddr, e->family);
	printf(",\"pid\":%u,\"netns\":%u,\"tw_left_ms\":%d,\"comm\":\"", e->pid, e->netns,
	       e->tw_left_ms);
	for (int i = 0; i < TD_COMM_LEN && e->comm[i]; i++) {
		unsigned char ch = (unsigned char)e->comm[i];

		if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	printf("\"}\n");
}

int main(int argc, char **argv)
{
	struct rec_reader r;
	struct rec_item it;
	struct stat st;
	uint64_t n = 0;
	void *buf;
	int fd, rc;

	if (argc != 2) {
		fprintf(stderr, "usage: tdrdump FILE\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) || st.st_size <= 0) {
		fprintf(stderr, "tdrdump: cannot read '%s': %s\n", argv[1],
			fd < 0 || errno ? strerror(errno) : "empty");
		return 1;
	}
	buf = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (buf == MAP_FAILED || rec_reader__open(&r, buf, (size_t)st.st_size)) {
		fprintf(stderr, "tdrdump: '%s': %s\n", argv[1],
			buf == MAP_FAILED ? strerror(errno) : r.err);
		return 1;
	}
	while ((rc = rec_reader__next(&r, &it)) == 1) {
		n++;
		switch (it.type) {
		case REC_EVENT:
			put_event(n, &it.ev);
			break;
		case REC_TICK:
			printf("{\"n\":%" PRIu64 ",\"type\":\"tick\",\"ts\":%" PRIu64 "}\n", n,
			       it.tick_ns);
			break;
		case REC_LOST:
			printf("{\"n\":%" PRIu64 ",\"type\":\"lost\",\"ts\":%" PRIu64
			       ",\"ringbuf\":%" PRIu64 ",\"recursion\":%" PRIu64 "}\n",
			       n, it.lost.ts_ns, it.lost.ringbuf, it.lost.recursion);
			break;
		case REC_SEED:
			printf("{\"n\":%" PRIu64 ",\"type\":\"seed\",\"cookie\":%" PRIu64
			       ",\"state\":\"%s\",\"sport\":%u,\"dport\":%u}\n",
			       n, it.seed.cookie, state__name(it.seed.state), it.seed.sport,
			       it.seed.dport);
			break;
		case REC_CGROUP:
			printf("{\"n\":%" PRIu64 ",\"type\":\"cgroup\",\"id\":%" PRIu64 ",\"path\":", n,
			       it.cgroup.id);
			put_str(it.cgroup.path, it.cgroup.path_len);
			fputs(",\"pod\":", stdout);
			put_str(it.cgroup.pod, it.cgroup.pod_len);
			fputs(",\"container\":", stdout);
			put_str(it.cgroup.container, it.cgroup.container_len);
			fputs("}\n", stdout);
			break;
		}
	}
	if (rc < 0) {
		fprintf(stderr, "tdrdump: '%s': %s\n", argv[1], r.err);
		return 1;
	}
	printf("{\"type\":\"end\",\"clean\":%s,\"items\":%" PRIu64 "}\n",
	       r.end_seen ? "true" : "false", n);
	return 0;
}
