/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Seeding: the TCP sockets that already exist when tcpdwell starts, read from
 * the kernel's socket dump (netlink NETLINK_SOCK_DIAG, the interface ss uses)
 * in every network namespace the process can enter, with their owners from
 * /proc/PID/fd. A source stage beside the tracer: it hands struct conn to the
 * connection table (conntable__seed), which trusts records over the dump.
 */
#ifndef TD_SEED_H
#define TD_SEED_H

#include <stddef.h>
#include <stdint.h>

#include "conntable.h"

/* What a dump found. Namespaces are counted once each, by inode. */
struct seed_stats {
	uint32_t sockets;	/* sockets reported to the callback */
	uint32_t netns;		/* namespaces dumped */
	uint32_t netns_skipped; /* namespaces found but not dumped (setns refused, dump failed) */
	uint32_t ns_unreadable; /* ns files that could not be opened (EACCES...): unknown ones */
	uint32_t fd_unreadable; /* processes whose fds could not be listed: owners missed */
};

/* What seed__parse needs to know about the namespace a dump came from. */
struct seed_ns {
	uint64_t now_ns;	 /* CLOCK_MONOTONIC, not before the kernel wrote the buffer */
	uint32_t netns;		 /* the namespace's inode */
	uint32_t fin_timeout_ms; /* its net.ipv4.tcp_fin_timeout; 0 = the default, 60 s */
};

/*
 * Decode one buffer of netlink messages answering an inet_diag dump
 * (SOCK_DIAG_BY_FAMILY, IPPROTO_TCP) and call fn once per TCP socket with a
 * struct conn it may modify, valid during the call only, and the socket's inode
 * (0 for sockets no file refers to: timewait, orphans). The conn is filled as
 * follows; everything else is zero:
 * - cookie: idiag_cookie[0] | idiag_cookie[1] << 32 (sock_diag_save_cookie()),
 *   the value bpf_get_socket_cookie() returns for the same socket;
 * - state: idiag_state, the kernel's enum (a timewait socket reports its
 *   substate, TIME_WAIT or FIN_WAIT2); family 4 or 6; saddr/daddr in network
 *   byte order, IPv4 in the first four bytes; sport/dport in host order;
 *   netns = ns->netns; role CT_ROLE_LISTEN for LISTEN, else CT_ROLE_UNKNOWN;
 * - step_ns[0] = start_ns: when it entered the state, no earlier than it did,
 *   so that the dwell is a lower bound: ns->now_ns, except for timewait
 *   sockets (idiag_timer 3), whose timer was armed for a known period (60 s in
 *   TIME_WAIT; in the FIN_WAIT2 substate tcp_fin_timeout, or its part beyond
 *   60 s when longer) and so entered now - (period - idiag_expires), clamped
 *   to now. Those also get flags CT_F_TW, tw_substate = state and
 *   tw_deadline_ns = now + idiag_expires.
 * Request sockets (a SYN received, no full socket yet; the kernel reports them
 * as SYN_RECV without the attributes of a full socket) are skipped, as are
 * states outside 1..11: no tracepoint fires for a request socket, and the
 * socket accepted from it gets a cookie of its own, so a seeded one would
 * never see its end. Messages of other types and
 * other families are skipped too. Returns 1 when NLMSG_DONE ends the dump, 0
 * when more buffers are to come, or a negative errno with a message in err:
 * the kernel's (NLMSG_ERROR, NLMSG_DONE carrying an error), -ENOBUFS for
 * NLMSG_OVERRUN, -EBADMSG for a malformed buffer (a message truncated, too
 * short, stray bytes at the end). fn may have been called for the messages
 * before the error. An NLMSG_ERROR of 0 is an acknowledgement and is skipped.
 * buf needs no alignment and is not modified.
 */
int seed__parse(const void *buf, size_t len, const struct seed_ns *ns,
		void (*fn)(void *arg, struct conn *c, uint32_t inode), void *arg, char *err,
		size_t errlen);

/*
 * Dump every TCP socket, IPv4 and IPv6, in every network namespace the process
 * can enter: its own, those of /proc/PID/ns/net (one visit per distinct inode)
 * and the files in /run/netns. Each namespace is entered with setns() from the
 * calling thread only, and the caller's namespace is restored before the next
 * one and at the end. fn is called once per socket, as seed__parse describes,
 * with the owner added when a process holds the socket in a file descriptor:
 * pid (the lowest pid among the holders: for a listener shared by pre-forked
 * workers that is, pid wrap aside, the parent that made it, and it does not
 * change from run to run), comm from /proc/PID/comm (the process's main
 * thread), owner_src CT_OWNER_SEED; without a holder (timewait sockets,
 * orphans, sockets made after the /proc scan that precedes the dumps), pid 0
 * and CT_OWNER_NONE. Sockets are dated (seed__parse's now) with the CLOCK_MONOTONIC
 * time read just after the reply that carries them arrived, never earlier than
 * now_ns: a time taken before the call could precede a socket made while the
 * dump ran, and would shift every timewait estimate back by the dump's length.
 * st (may be NULL) receives counts, among them the namespaces that could not be
 * entered (no CAP_SYS_ADMIN) and so were skipped. Opens no file descriptor that
 * outlives the call. Returns 0, or -1 with a message in err when the caller's
 * own namespace cannot be dumped (fn has still been called for the other
 * namespaces' sockets) or cannot be returned to: then the thread is left in
 * another namespace and should not go on.
 */
int seed__dump(uint64_t now_ns, void (*fn)(void *arg, const struct conn *c), void *arg,
	       struct seed_stats *st, char *err, size_t errlen);

/* The buffer seed__dump_next() reads into: one reply of the kernel's at most. */
#define SEED_RECV_BUF (64 * 1024)

/*
 * A dump in steps, on a NETLINK_SOCK_DIAG socket opened earlier (the namespace it
 * was opened in is the one dumped): seed__dump_ask() asks for every TCP socket of
 * one family (AF_INET or AF_INET6); returns 0 or a negative errno with a message.
 * Then each seed__dump_next() reads one reply (a few hundred sockets; waiting for
 * it up to a second when fd does not block) and calls fn for each socket in it as
 * seed__parse() describes, the sockets dated after the reply arrived, never before
 * ns->now_ns; no owners are looked up. It returns 0 while more is to come, 1 once
 * the dump is over, or a negative errno with a message in err (-ENOENT or
 * -EAFNOSUPPORT for AF_INET6: a kernel without IPv6). After an error, replies of
 * the dump may still wait on the socket. buf holds SEED_RECV_BUF bytes. One dump
 * at a time per socket, and no other request's answer waiting on it.
 */
int seed__dump_ask(int fd, int family, char *err, size_t errlen);
int seed__dump_next(int fd, const struct seed_ns *ns, void *buf,
		    void (*fn)(void *arg, struct conn *c, uint32_t inode), void *arg, char *err,
		    size_t errlen);

#endif /* TD_SEED_H */
