/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Seeding: the TCP sockets that exist when tcpdwell starts, read from the
 * kernel's socket dump (netlink NETLINK_SOCK_DIAG, as ss reads it) in every
 * network namespace the process can enter, with their owners from /proc/<pid>/fd.
 * A source stage beside the tracer: it hands struct conn to the connection
 * table (conntable__seed), which trusts records over the dump.
 */
#ifndef TD_SEED_H
#define TD_SEED_H

#include <stddef.h>
#include <stdint.h>

#include "conntable.h"

struct seed_stats {
	uint32_t sockets; /* sockets reported */
	uint32_t netns; /* namespaces dumped */
	uint32_t netns_skipped; /* namespaces that could not be entered */
};

/*
 * Parse one buffer of netlink messages answering an inet_diag dump. For each
 * socket, fill a struct conn (state, tuple, cookie = idiag_cookie as the
 * kernel's sock_gen_cookie(), netns, and the timewait timer) and call fn.
 * now_ns is the monotonic time of the dump: the socket has been in its state at
 * least since then (TIME_WAIT and timewait FIN_WAIT2 sockets: since 60 s
 * before their timer's expiry). inode_out receives each socket's inode for the
 * caller's owner lookup (may be NULL). Returns 1 when NLMSG_DONE was seen, 0
 * when more messages follow, -1 with a message in err on NLMSG_ERROR or a
 * malformed buffer.
 */
int seed__parse(const void *buf, size_t len, uint32_t netns, uint64_t now_ns,
		void (*fn)(void *arg, struct conn *c, uint32_t inode), void *arg, char *err,
		size_t errlen);

/*
 * Dump every TCP socket (not request sockets) in every network namespace that
 * the process can enter (those of /proc/PID/ns/net and the files in /run/netns), and
 * call fn for each with its owner (pid and comm of the lowest pid holding it)
 * set when one was found. Restores the caller's namespace. Returns 0, or -1
 * with a message when even the caller's own namespace cannot be dumped.
 */
int seed__dump(uint64_t now_ns, void (*fn)(void *arg, const struct conn *c), void *arg,
	       struct seed_stats *st, char *err, size_t errlen);

#endif /* TD_SEED_H */
