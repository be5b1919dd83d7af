/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Timewait lookups: the source stage that learns what no tracepoint says, the
 * TIME_WAIT a FIN starts in a timewait socket of the FIN_WAIT2 substate when the
 * re-armed timer stays in its wheel bucket. It asks the kernel about exactly the
 * connections the table hands out (conntable__tw_due()), by sock_diag lookups of
 * one socket each (netlink NETLINK_SOCK_DIAG, no dump), and hands the answers on
 * as TD_EV_TW_DIAG records, like the tracer's.
 *
 * A lookup reaches only the network namespace of the netlink socket it is sent
 * on, and a socket can only be made in a namespace the process can enter, which
 * needs CAP_SYS_ADMIN: every socket is opened by twdiag__open(), before the
 * capabilities are dropped, one per namespace that exists then. Lookups need no
 * capability (inet_diag answers anyone about TCP sockets, as for ss).
 */
#ifndef TD_TWDIAG_H
#define TD_TWDIAG_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/tcpdwell.h"
#include "conntable.h"

/* Lookups per second at most: a storm of client-first closes cannot make the
 * lookups cost more than a few percent of a CPU (measured: see the README). A
 * constant, not an option: it bounds a cost, and a FIN_WAIT2 connection not looked
 * up in time keeps the state the records give it, as before. */
#define TWDIAG_PER_S 2000

/* Requests sent in one sendmsg() (the kernel answers each in the same call). */
#define TWDIAG_BATCH 64

/* What a lookup found (twdiag__parse()). */
enum twdiag_found {
	TWDIAG_STILL = 0, /* still in the FIN_WAIT2 substate */
	TWDIAG_TIME_WAIT, /* in TIME_WAIT: a TD_EV_TW_DIAG record */
	TWDIAG_GONE,	  /* no such socket: a TD_EV_TW_DIAG record */
	TWDIAG_FAILED,	  /* an error, or an answer that is not about it: nothing learnt */
};

struct twdiag_stats {
	uint64_t asked;	       /* lookups sent */
	uint64_t found[4];     /* answers, by enum twdiag_found */
	uint64_t unanswered;   /* lookups sent with no answer read (receive queue overrun) */
	uint64_t cpu_ns;       /* the thread's CPU time (user and system) in sending and reading */
	uint32_t netns;	       /* namespaces with a socket */
	uint32_t netns_failed; /* namespaces found at start that got none */
	uint32_t netns_closed; /* sockets closed since: their namespace's witness ended */
	/* Reconcile passes (twdiag__set_reconcile()): */
	uint64_t rc_dumps;	 /* socket dumps taken (a pass each) */
	uint64_t rc_sockets;	 /* sockets the last one reported, all namespaces */
	uint64_t rc_dump_ns;	 /* how long the last one took (CLOCK_MONOTONIC) */
	uint64_t rc_dump_max_ns; /* the longest one */
	uint64_t rc_step_max_ns; /* the longest turn of the loop spent reading one */
	uint64_t rc_ns_failed;	 /* namespace dumps that failed: their connections kept */
};

struct twdiag;

/*
 * Make the lookup request for q as message seq into buf (at least
 * twdiag__req_len() bytes): SOCK_DIAG_BY_FAMILY, inet_diag_req_v2 naming the exact
 * tuple (local address and port as source), and the cookie, or INET_DIAG_NOCOOKIE
 * without one (then the kernel matches the tuple alone). Returns the length.
 */
size_t twdiag__req(void *buf, const struct ct_tw_query *q, uint32_t seq);
size_t twdiag__req_len(void);

/*
 * Decode one buffer of replies to requests seq0 .. seq0 + nq - 1 (query k sent as
 * seq0 + k), calling fn once per reply with the query's index, what was found, and
 * for TIME_WAIT and gone the record to hand on (ts_ns = now_ns; NULL otherwise).
 * A reply is believed only as far as it matches its query: an answer whose tuple
 * or cookie differs from the query's is the kernel's lookup by tuple finding
 * another socket (a listener, a newer connection), which means the queried one is
 * gone when no cookie was given, and is a failure otherwise; unknown sequence
 * numbers, message types and families are skipped. Returns 0, or -EBADMSG for a
 * malformed buffer (fn called for the replies before it).
 */
int twdiag__parse(const void *buf, size_t len, const struct ct_tw_query *q, size_t nq,
		  uint32_t seq0, uint64_t now_ns,
		  void (*fn)(void *arg, size_t k, enum twdiag_found f, const struct td_event *e),
		  void *arg);

/*
 * Open a lookup socket in the caller's network namespace, and one in every other
 * namespace found now (/proc/PID/ns/net, /run/netns) that can be entered (setns,
 * CAP_SYS_ADMIN) and that has a witness: a socket keeps its namespace alive, so
 * each is closed when its namespace is seen ending: the process it was found by
 * exits (a pidfd), or its /run/netns name goes. Returns NULL with a message when
 * not even the caller's namespace gets one (or the thread cannot return to it).
 */
struct twdiag *twdiag__open(char *err, size_t errlen);

/*
 * One turn of the live loop at now_ns (CLOCK_MONOTONIC): hand on (fn) the records
 * made from earlier answers once every record of the tracer up to the moment they
 * were read has been handed on (until_ns, tracer__until()): a record of the
 * socket's end that was still in the buffer then comes first and wins. Then ask
 * the table what is due, at most TWDIAG_PER_S a second and no more than the
 * answers waiting leave room for, and send the lookups; their answers are read at
 * once (the kernel writes them during sendmsg()) without blocking.
 */
void twdiag__step(struct twdiag *d, struct conntable *t, uint64_t now_ns, uint64_t until_ns,
		  void (*fn)(void *arg, const struct td_event *e), void *arg);

/*
 * Every period_ns (0: never, the default) twdiag__step() starts a reconcile pass
 * (conntable__reconcile_begin()): it dumps every TCP socket of each namespace
 * with a socket (the sockets of the lookups: the same namespaces are reached),
 * marks the ones it finds, and ends the pass in the first step whose until_ns has
 * reached the dump's end, covering the namespaces whose dump succeeded. The dump
 * is read a few replies per step (about 2 ms of the loop's thread: rc_step_max_ns),
 * over as many steps as it needs (rc_dump_ns); the lookups wait meanwhile.
 */
void twdiag__set_reconcile(struct twdiag *d, uint64_t period_ns);

/* At the end, after the tracer's last records: hand on the records of the answers
 * still waiting (fn), which twdiag__step() would have handed on later. */
void twdiag__flush(struct twdiag *d, void (*fn)(void *arg, const struct td_event *e), void *arg);

const struct twdiag_stats *twdiag__stats(const struct twdiag *d);

/* Close every socket; NULL is a no-op. */
void twdiag__close(struct twdiag *d);

#endif /* TD_TWDIAG_H */
