// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target for the socket dump's decoder: the input's first 12 bytes
 * are the namespace's facts (now, little-endian u64 below 2^62, as a
 * CLOCK_MONOTONIC reading is; tcp_fin_timeout in ms, u32), the rest one buffer
 * as recv() on the inet_diag socket would return it, handed to seed__parse().
 * Besides the sanitizers' checks, every socket reported must be one
 * seed__parse() promises (a TCP state 1..11, family 4 or 6, entered no later
 * than now, a timewait deadline not before it), and the result must be 1, 0 or
 * a negative errno with a message.
 *
 * The owners' side of the dump (/proc/PID/fd links, /proc/PID/comm) is read
 * through the file system as it is walked (seed.c's owners_scan_pid) and is not
 * reached from here.
 *
 *   ./fuzz_seed -max_total_time=60 tests/fuzz/corpus-seed
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seed.h"

struct seen {
	const struct seed_ns *ns;
	unsigned int n;
};

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_seed: %s\n", what);
		abort();
	}
}

static void on_conn(void *arg, struct conn *c, uint32_t inode)
{
	struct seen *s = arg;

	(void)inode;
	s->n++;
	check(c->state >= TD_ESTABLISHED && c->state <= TD_CLOSING, "state out of 1..11");
	check(c->family == 4 || c->family == 6, "family neither 4 nor 6");
	check(c->netns == s->ns->netns, "namespace");
	check(c->step_ns[0] <= s->ns->now_ns && c->start_ns == c->step_ns[0],
	      "entered the state after now");
	check((c->role == CT_ROLE_LISTEN) == (c->state == TD_LISTEN), "role");
	if (c->flags & CT_F_TW) {
		check(c->state == TD_TIME_WAIT || c->state == TD_FIN_WAIT2, "timewait state");
		check(c->tw_deadline_ns >= s->ns->now_ns, "timewait deadline before now");
	}
	if (c->family == 4)
		for (int i = 4; i < 16; i++)
			check(!c->saddr[i] && !c->daddr[i], "IPv4 address past 4 bytes");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seed_ns ns = {.netns = 4026531840u};
	struct seen s = {.ns = &ns};
	char err[256] = "";
	uint64_t now;
	uint32_t fin;
	int ret;

	if (size < sizeof(now) + sizeof(fin))
		return 0;
	memcpy(&now, data, sizeof(now));
	memcpy(&fin, data + sizeof(now), sizeof(fin));
	ns.now_ns = now & ((1ULL << 62) - 1);
	ns.fin_timeout_ms = fin;
	data += sizeof(now) + sizeof(fin);
	size -= sizeof(now) + sizeof(fin);
	/* A copy of its own size, so that a read past the buffer is caught. */
	uint8_t *buf = malloc(size ? size : 1);

	check(buf != NULL, "malloc");
	memcpy(buf, data, size);
	ret = seed__parse(buf, size, &ns, on_conn, &s, err, sizeof(err));
	check(ret == 0 || ret == 1 || (ret < 0 && err[0] && !strchr(err, '\n')),
	      "an error without a one-line message");
	free(buf);
	return 0;
}
