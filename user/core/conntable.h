/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The connection table: the heart of tcpdwell's user space. Records from the
 * kernel (struct td_event, in the order the tracer delivers them) go in;
 * per-connection timelines, transitions with the dwell of the state they leave,
 * finished connections and stuck alerts come out through callbacks. It does no
 * I/O, reads no clock and calls no libbpf: time only moves through the records'
 * timestamps and conntable__advance(), so a recording replays byte for byte.
 */
#ifndef TD_CONNTABLE_H
#define TD_CONNTABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bpf/tcpdwell.h"

/* A timeline keeps this many states: the longest path through TCP's state
 * diagram, a simultaneous open that ends in TIME_WAIT (SYN_SENT, SYN_RECV,
 * ESTABLISHED, FIN_WAIT1, FIN_WAIT2 or CLOSING, TIME_WAIT; CLOSE ends it). A
 * longer one is marked truncated and keeps its first and last ones. */
#define CT_MAX_STEPS 6

#define CT_DWELL_UNKNOWN UINT64_MAX

/* How a connection was opened. */
enum ct_role {
	CT_ROLE_UNKNOWN = 0,
	CT_ROLE_ACTIVE, /* connect() */
	CT_ROLE_PASSIVE, /* accepted from a listener */
	CT_ROLE_LISTEN, /* a listening socket */
};

/* How TIME_WAIT (or a timewait FIN_WAIT2) ended. */
enum ct_tw_end {
	CT_TW_NONE = 0,
	CT_TW_EXPIRED, /* the timer ran out */
	CT_TW_REUSED, /* a new connection took the tuple (SYN on it, tcp_tw_reuse) */
	CT_TW_KILLED, /* its network namespace went away (netns exit) */
	/* torn down early otherwise: a reset (an RST received, or one sent in answer to
	 * a SYN in the FIN_WAIT2 substate), or SOCK_DESTROY (ss -K), which the kernel's
	 * tracepoints do not tell apart from it */
	CT_TW_RESET,
	/* gone when a sock_diag lookup asked for it: the record of its end was lost */
	CT_TW_GONE,
};

/* Where the owner (pid, comm) comes from. */
enum ct_owner_src {
	CT_OWNER_NONE = 0,
	CT_OWNER_LISTENER, /* inherited from the listening socket */
	CT_OWNER_ACCEPT, /* the process that accept()ed it */
	CT_OWNER_TASK, /* a transition made in that process's context */
	CT_OWNER_SEED, /* /proc/<pid>/fd at start */
};

/* conn.flags */
#define CT_F_INCOMPLETE 0x01 /* began before tracing, or records are missing */
#define CT_F_SEEDED 0x02 /* first known from the socket dump at start */
#define CT_F_TRUNCATED 0x04 /* more than CT_MAX_STEPS states */
#define CT_F_TW 0x08 /* a timewait socket carries it now */
#define CT_F_TW_CANCEL 0x10 /* tw timer detached early: re-arm or end, not known yet */
#define CT_F_GAP 0x20 /* a record was missing: a dwell is unknown */
#define CT_F_HIDDEN 0x40 /* filtered out: kept only to track identity */
#define CT_F_TW_FIRST 0x80 /* known only from its timewait timer: entry not reported */
#define CT_F_REUSED_SEEN 0x100 /* CT_F_TW_CANCEL: a new connection took the tuple */
/* The tuple is not complete yet: a connect() before its local port is chosen (lport 0),
 * or a child reported with its listener's tuple (rport 0). The socket's next record
 * completes it; until then a filter may answer CT_UNDECIDED. */
#define CT_F_PARTIAL 0x200
#define CT_F_UNDECIDED 0x400 /* select said CT_UNDECIDED: hidden, first transition held */
#define CT_F_HELD 0x800 /* first transition not reported yet: waits for the real tuple */
#define CT_F_PRESENT 0x1000 /* found by the socket dump of the reconcile pass under way */
#define CT_F_HANDSHAKE 0x2000 /* hs_rtt_us and hs_retrans are known (TD_F_HANDSHAKE) */
#define CT_F_STATS     0x4000 /* stats and min_rtt_us are known (TD_EV_CONN_STATS) */
/* Ended in CLOSE, its end (the finished hook) waiting up to CT_RST_WAIT_NS for the reset
 * an abort sends after its -> CLOSE (conntable__expect_resets()). */
#define CT_F_ENDING    0x8000

/* One connection. Addresses in network byte order, ports in host order. */
struct conn {
	uint64_t cookie;
	uint64_t skaddr;
	uint64_t cgroup;
	uint64_t start_ns; /* first state's enter_ns, or first record's ts */
	uint64_t end_ns; /* when it reached CLOSE; 0 while alive */
	uint64_t tw_deadline_ns; /* timewait timer expiry at the last timer record; 0 = unknown */
	uint32_t netns;
	uint32_t pid; /* owner tgid; 0 = unknown */
	uint8_t saddr[16];
	uint8_t daddr[16];
	uint16_t sport;
	uint16_t dport;
	uint8_t family; /* 4 or 6 */
	uint8_t state; /* current state */
	uint8_t role; /* enum ct_role */
	uint8_t owner_src; /* enum ct_owner_src */
	uint8_t tw_end; /* enum ct_tw_end */
	uint8_t nsteps;
	uint8_t lower_bound; /* step_ns[0] is a lower bound (seeded: the socket is older) */
	uint8_t tw_substate; /* timewait socket's substate (FIN_WAIT2 or TIME_WAIT) */
	uint16_t flags; /* CT_F_* */
	uint16_t stuck_reported; /* bit per state: --stuck alert already sent */
	uint16_t comm; /* the owner's command name, interned: conn__comm(), conn__set_comm() */
	/* Timeline: state step_state[i] entered at step_ns[i] (0 = unknown). */
	uint8_t step_state[CT_MAX_STEPS];
	uint64_t step_ns[CT_MAX_STEPS];
	/* When accept()/accept4() returned it to a process (TD_EV_ACCEPT); 0 = no accept
	 * seen. conn__accept_wait() is how long it waited in the accept queue. */
	uint64_t accept_ns;
	/* What it carried, read as it went to CLOSE (CT_F_STATS; TD_EV_CONN_STATS). */
	struct td_conn_stats stats;
	uint32_t min_rtt_us; /* with CT_F_STATS; UINT32_MAX: no sample */
	/* Its handshake (CT_F_HANDSHAKE): the RTT sample it gave (us, 0: none) and how many
	 * times it was retransmitted (SYNs of an active open, SYN-ACKs of a passive one). */
	uint32_t hs_rtt_us;
	uint8_t hs_retrans;
	/* A reset it sent or received (TD_EV_RST; the first one), and the kernel's reason for a
	 * sent one: enum sk_rst_reason (rst__name()), CT_RST_NO_REASON when not given. */
	uint8_t rst; /* enum ct_rst */
	uint8_t rst_reason;
	uint64_t rst_ns; /* when the reset was sent or received (with rst) */
};

enum ct_rst {
	CT_RST_NONE = 0,
	CT_RST_RECEIVED = 1,
	CT_RST_SENT = 2,
};
#define CT_RST_NO_REASON 0xff

/* One state change as the table reports it. */
struct ct_transition {
	uint64_t ts_ns;
	uint64_t dwell_ns; /* time spent in old; CT_DWELL_UNKNOWN if not known */
	uint8_t old;
	uint8_t new;
	uint8_t dwell_lower_bound; /* dwell_ns is a lower bound (seeded socket) */
	uint8_t tw_end; /* enum ct_tw_end when new is CLOSE after timewait */
};

/* What the select hook (the filters) says about a connection. */
enum ct_verdict {
	CT_REJECT = 0, /* never shown: the table forgets it (a listener is kept, hidden) */
	CT_SELECT = 1, /* shown */
	CT_HIDE = 2, /* not shown now, kept: its owner may still change (accept()) */
	CT_UNDECIDED = 3, /* depends on what CT_F_PARTIAL says is not known yet */
};

/*
 * Callbacks. Each may be NULL. The conn pointer is valid only during the call.
 * - transition: a real state change (old != new) of a selected connection, in
 *   order per connection. A connection's first transition may be held until its
 *   next record (see select, and LISTEN -> SYN_RECV below) and is then reported
 *   with the tuple and cookie that record completed.
 * - finished: the connection reached its final CLOSE (after TIME_WAIT, if any);
 *   its step_*[] hold the whole timeline. Called after the last transition.
 * - stuck: the connection has stayed in state longer than the --stuck limit for
 *   it; once per connection and state. An undecided connection's alert waits for
 *   the decision (then dwell_ns is the time in state when it was decided).
 * - accepted: an accept record reached a selected passive connection whose time in the
 *   accept queue is known (conn__accept_wait(), wait_ns); once per connection.
 * - carried: what a selected connection carried is known (CT_F_STATS: its
 *   TD_EV_CONN_STATS record, as its socket goes to CLOSE); once per connection.
 * - reset: a selected connection sent or received a reset at ts_ns (c->rst,
 *   c->rst_reason, c->rst_ns); after its first transition and before its finished
 *   hook; once per connection, but for a sent reset after a received one (an abort
 *   on data after close(), which the kernel traces as a received reset first).
 * - select: the filters; NULL shows all. Called before a connection is stored:
 *   CT_REJECT keeps it out of the table (its later records are rejected again
 *   one by one, so unselected traffic takes no table space). CT_UNDECIDED (only
 *   while CT_F_PARTIAL) holds its first transition, hidden, until the socket's
 *   next record completes the tuple, the connection ends, or drain; then the
 *   table asks again with CT_F_PARTIAL clear and must get a final answer
 *   (CT_UNDECIDED then counts as CT_HIDE). Asked again when the owner changes.
 *
 * LISTEN -> SYN_RECV reported with the listener's tuple (rport 0) or without the
 * child's own cookie (older kernels) is held until the child's next record (its
 * SYN_RECV -> ESTABLISHED or -> CLOSE), at most CT_HOLD_NS, or drain.
 */
struct ct_hooks {
	void (*transition)(void *arg, const struct conn *c, const struct ct_transition *t);
	void (*finished)(void *arg, const struct conn *c);
	void (*stuck)(void *arg, const struct conn *c, int state, uint64_t dwell_ns);
	void (*accepted)(void *arg, const struct conn *c, uint64_t wait_ns);
	void (*carried)(void *arg, const struct conn *c);
	void (*reset)(void *arg, const struct conn *c, uint64_t ts_ns);
	enum ct_verdict (*select)(void *arg, const struct conn *c);
	void *arg;
};

/* Longest a decided connection's held first transition waits for the record that
 * completes its tuple: TCP_TIMEOUT_INIT, when the SYN-ACK would be retransmitted. */
#define CT_HOLD_NS 1000000000ULL

struct ct_stats {
	uint64_t records; /* records applied */
	uint64_t transitions; /* state changes reported */
	uint64_t same_state; /* old == new records (not state changes) */
	uint64_t caught_dups; /* a catcher's record of a change already applied: dropped */
	/* accept() of a socket that had already ended (a child the peer reset or closed
	 * while it waited in the queue is still returned): nothing left to follow. */
	uint64_t accepted_closed;
	/* TD_EV_CONN_STATS records of no connection the table holds (not selected, or seen
	 * first at its end) or of one that has them already (a catcher's second record). */
	uint64_t stats_unmatched;
	/* TD_EV_RST records: resets on a connection the table holds (the first of each, and a
	 * sent one after a received one), and those of no connection it holds (not selected, a
	 * listener's, a second one, or a sent reset that came later than CT_RST_WAIT_NS after
	 * the connection's -> CLOSE). */
	uint64_t resets;
	uint64_t rst_unmatched;
	uint64_t finished;
	uint64_t evicted; /* connections dropped to stay within max_conns */
	/* Chain breaks: records that showed an earlier record of their connection was
	 * missing (each counted once): a state record whose old state is not the
	 * connection's, old == new included; a birth on a connection still alive (its
	 * -> CLOSE missing); a timewait armed where tcp_time_wait() cannot run, armed
	 * twice or detached twice, or found gone by a lookup (its end's record lost). A seed's
	 * first record may disagree with the dump it raced: not counted. Every break marks its
	 * connection CT_F_GAP and CT_F_INCOMPLETE, and no dwell is measured across it. */
	uint64_t gaps;
	uint64_t live; /* connections in the table now */
	uint64_t rejected; /* connections the filters rejected: not kept */
	/* Timewait lookups (conntable__tw_due, TD_EV_TW_DIAG): */
	uint64_t tw_asked; /* lookups handed out */
	uint64_t tw_diag_tw; /* answers that found TIME_WAIT: the FIN came unannounced */
	uint64_t tw_gone; /* answers that found no socket: ended, end record lost */
	uint64_t tw_gone_doubted; /* found none, but no record was missing: not believed */
	uint64_t tw_uncheckable; /* connections no lookup can reach (their netns) */
	/* Reconcile passes (conntable__reconcile_begin()): */
	uint64_t reconcile_passes; /* passes ended */
	uint64_t reconciled;	   /* open connections the kernel no longer had: ended as gone */
	uint64_t resynced;	   /* connections the dump found in another state: moved there */
	uint64_t adopted;	   /* sockets the dump found that no record had shown: seeded */
};

struct conntable;

/*
 * Create a table holding at most max_conns connections (>= 16). When full, the
 * connection idle the longest is evicted (counted in ct_stats.evicted; it
 * produces no output). hooks is copied. Returns NULL on allocation failure.
 */
struct conntable *conntable__new(uint32_t max_conns, const struct ct_hooks *hooks);

/* Free the table; NULL is a no-op. No callbacks are made. */
void conntable__free(struct conntable *t);

/*
 * Every connection's -> CLOSE comes with a TD_EV_CONN_STATS record before it (the
 * kernel reads them: conn_info), but a listener's and a connect's that never got
 * through: from then on one that comes without it is a missing record, a chain break.
 * Off by default (the kernel side does not send them; an older recording has none).
 */
void conntable__expect_stats(struct conntable *t, bool on);

/*
 * Resets are traced (TD_EV_RST): a connection that goes to CLOSE from a state an abort can
 * leave (SYN_RECV, ESTABLISHED, CLOSE_WAIT, FIN_WAIT1, FIN_WAIT2, CLOSING, LAST_ACK) ends,
 * in its transition hook, at once, but its finished hook waits for the reset an abort sends
 * right after it (tcp_close(), tcp_disconnect(), data after close: CLOSE first, then the
 * reset), up to CT_RST_WAIT_NS of the table's time. Off by default.
 */
#define CT_RST_WAIT_NS 10000000ULL
void conntable__expect_resets(struct conntable *t, bool on);

/*
 * Set the --stuck limit for a state (ns; 0 = off). Alerts fire from
 * conntable__advance() and from records.
 */
void conntable__set_stuck(struct conntable *t, int state, uint64_t limit_ns);

/*
 * Apply one kernel record. Records must come in timestamp order per socket. A
 * record with a state outside the kernel's enum (>= TD_STATE_MAX: a corrupt or
 * crafted recording) is ignored, so every state a hook or a connection shows is
 * below TD_STATE_MAX. A TD_EV_TW_DIAG record (a lookup's answer, see
 * conntable__tw_due()) is taken only by a connection still in the FIN_WAIT2
 * substate as the records say: TIME_WAIT moves it there at the timer's expiry
 * minus TCP_TIMEWAIT_LEN, gone ends it (tw_end CT_TW_GONE, counted in
 * ct_stats.tw_gone, the last dwell unknown) if it may have missed records
 * (CT_F_GAP), else it is doubted and counted.
 */
void conntable__apply(struct conntable *t, const struct td_event *e);

/*
 * A hint, no effect on the table: starts loading the index entries that
 * conntable__apply(t, e) will read. A reader that knows its next records (a
 * recording) calls it some records ahead of applying them, so that the cache
 * misses of a table larger than the caches overlap instead of coming one per
 * record (measured: replay of 1.9M records of a TIME_WAIT-heavy recording 30%
 * faster).
 */
void conntable__prefetch(const struct conntable *t, const struct td_event *e);

/* The second stage: the connection that index entry names, once the entry is in
 * the cache. Called a few records after conntable__prefetch(t, e) and a few before
 * conntable__apply(t, e) (measured: replay of a TIME_WAIT-heavy recording of 9.7M
 * records 12% faster). */
void conntable__prefetch_conn(const struct conntable *t, const struct td_event *e);

/*
 * Tell the table that kernel time has reached now_ns (CLOCK_MONOTONIC). Resolves
 * timewait timers detached without a re-arm (they ended early) and fires stuck
 * alerts. Call it periodically, and with each recorded tick on replay.
 */
void conntable__advance(struct conntable *t, uint64_t now_ns);

/*
 * End of input: settle what is still pending (timewait timers detached with no
 * re-arm seen are reported as ended early, with the reason known so far; held
 * first transitions are decided on what is known and reported). Live
 * connections stay in the table. Call once before the final output.
 */
void conntable__drain(struct conntable *t);

/*
 * Add a socket found by the socket dump at start (seed). c->state, tuple,
 * cookie, owner and step_ns[0] (a lower bound of when it entered the
 * state) must be set; flags gains CT_F_SEEDED | CT_F_INCOMPLETE. A socket whose
 * cookie is already in the table (a record came first) is ignored: records are
 * newer than the dump; so is one the filters reject. Returns true if added.
 */
bool conntable__seed(struct conntable *t, const struct conn *c);

/*
 * Mark every live connection as possibly missing records (the kernel reported
 * lost records): their next dwell is not trusted and their timelines become
 * incomplete.
 */
void conntable__mark_loss(struct conntable *t);

/* Visit every live, selected connection (for top and the socket gauges). */
void conntable__foreach(struct conntable *t, void (*fn)(void *arg, const struct conn *c),
			void *arg);

/*
 * Timewait sockets in the FIN_WAIT2 substate whose peer's FIN may have come
 * without a record: the kernel then sets the TIME_WAIT substate and re-arms the
 * timer, and a re-arm that stays in the same timer-wheel bucket fires no
 * tracepoint. The edge looks these up in the kernel (sock_diag) and feeds the
 * answers back as TD_EV_TW_DIAG records through conntable__apply().
 */
struct ct_tw_query {
	uint64_t cookie; /* 0: none known (look up by tuple alone) */
	uint64_t skaddr; /* with cookie 0, the timewait socket's address */
	uint32_t netns;
	uint8_t family;	   /* 4 or 6 */
	uint8_t saddr[16]; /* network byte order, IPv4 in the first four bytes */
	uint8_t daddr[16];
	uint16_t sport, dport; /* host order */
};

/* A connection is not asked about again sooner than this after its last ask (or
 * after it entered the FIN_WAIT2 substate): the delay with which an unannounced
 * TIME_WAIT is learnt, given lookups to spare. */
#define CT_TW_CHECK_NS 1000000000ULL

/*
 * A timer re-armed TCP_TIMEWAIT_LEN ahead lands in a wheel bucket at most
 * 1/8 of that wide (each level's buckets are 8 times wider than the level
 * below's and its first expiry 63 of them ahead: 4.1 s at HZ=1000, 7.7 s at
 * most). A FIN can re-arm silently only while the new expiry (FIN + 60 s) may
 * share the old one's bucket, that is up to the FIN_WAIT2 timer's expiry minus
 * 60 s plus that width: after that every FIN brings timer records. Twice the
 * widest bucket, for the wheel's clock lagging jiffies.
 */
#define CT_TW_SILENT_NS 16000000000ULL

/*
 * Fill q[0..max) with the connections due for a lookup at now_ns, the longest
 * waiting first, and return how many: selected timewait connections in the
 * FIN_WAIT2 substate (CT_F_TW, state FIN_WAIT2) not asked about within
 * CT_TW_CHECK_NS, and only while a silent TIME_WAIT is still possible for them
 * (see CT_TW_SILENT_NS; one last ask just after that; to the end when the
 * timer's expiry is unknown). A connection handed out is not handed out again
 * before now_ns + CT_TW_CHECK_NS. reachable (may be NULL: all are) says whether a
 * lookup can reach netns; a connection in one it cannot is never asked about and
 * counted once in ct_stats.tw_uncheckable (it keeps its FIN_WAIT2 until a record
 * says otherwise). Work per call: the entries handed out plus those found stale.
 */
size_t conntable__tw_due(struct conntable *t, uint64_t now_ns, struct ct_tw_query *q, size_t max,
			 bool (*reachable)(void *arg, uint32_t netns), void *arg);

/*
 * Reconcile: bring the table back to what the kernel has after lost records. A pass
 * compares the open connections with a socket dump (sock_diag) taken from
 * start_ns (CLOCK_MONOTONIC, read before the dump was asked for):
 * - conntable__reconcile_begin() starts it (a pass under way is abandoned);
 * - conntable__reconcile_mark() once per socket the dump reports: the connection
 *   with its cookie is present; a socket whose cookie the table does not know is
 *   remembered by tuple (netns, family, addresses, ports), which is how
 *   connections without a cookie (classic tracepoint) are found present;
 * - conntable__reconcile_end() once every record up to the dump's end has been
 *   applied (tracer__until() past it), so that the records of connections that
 *   ended or changed while the dump ran are in. It ends, at end_ns, each
 *   connection that is a candidate and was not found: one whose current state
 *   (and birth) is older than start_ns (a connection born or moved on since may
 *   have been missed by the dump, and its records say it lives), whose tuple is
 *   complete (CT_F_PARTIAL, CT_F_HELD) or else whose cookie is its own, whose
 *   timewait timer was not detached early (CT_F_TW_CANCEL: the records tell its
 *   end once settled, conntable__advance()), and whose
 *   namespace reachable() says the dump covered (NULL: all). Such a connection
 *   ended without its last record: it goes to CLOSE with its last dwell
 *   unknown (tw_end CT_TW_GONE for a timewait one), a chain break (CT_F_GAP,
 *   CT_F_INCOMPLETE, ct_stats.gaps), and is counted in ct_stats.reconciled. Returns how many
 *   it ended. Then, so that the table holds what the kernel does, a candidate
 *   found in another state is moved to it (a transition at the time the dump gives
 *   for its entry, a chain break: no dwell is measured across it; counted in
 *   ct_stats.resynced; a timewait one that the dump finds in TIME_WAIT where the
 *   records leave it in the FIN_WAIT2 substate is no break: that FIN comes without
 *   a record when its timer's re-arm stays in its bucket, and is taken as a
 *   lookup's answer is, conntable__apply(); not a timewait one back to a full
 *   socket, not one without a cookie or whose first transition is held; a partial tuple is
 *   completed from the dump), and a dumped socket whose cookie is still unknown and that
 *   the filters show is added as conntable__seed() does (counted in ct_stats.adopted; not
 *   while the table holds connections without a cookie, which such a socket may be; not
 *   one that ended during the pass). Memory: 8 bytes per dumped socket whose cookie is not
 *   in the table and per connection ended during the pass, and a struct conn per socket
 *   kept for the end, until the end; when that cannot be had the pass ends and changes
 *   nobody.
 */
void conntable__reconcile_begin(struct conntable *t, uint64_t start_ns);
void conntable__reconcile_mark(struct conntable *t, const struct conn *c);
uint64_t conntable__reconcile_end(struct conntable *t, uint64_t end_ns,
				  bool (*reachable)(void *arg, uint32_t netns), void *arg);

/* Counters; never NULL. */
const struct ct_stats *conntable__stats(const struct conntable *t);

/*
 * The owner's command name of c: "" if none. Command names are interned for the
 * whole process, so that a connection keeps 2 bytes for it instead of 16: the
 * string stays valid (and the same) until the process ends.
 */
const char *conn__comm(const struct conn *c);

/*
 * Set the owner's command name of c to comm: its bytes up to a NUL, at most
 * TD_COMM_LEN - 1 of them. A process keeps at most 65,535 different names (a
 * host's sockets see a few hundred); past that a new name reads as "" (no name),
 * as if the record had carried none. c may be anywhere: a copy of c has the name.
 */
void conn__set_comm(struct conn *c, const char *comm);

/* Dwell of step i of c: the time until the next step (or until end_ns), or
 * CT_DWELL_UNKNOWN. For the current (last) state of a live connection it is
 * CT_DWELL_UNKNOWN. */
uint64_t conn__step_dwell(const struct conn *c, int i);

/*
 * How long c waited in its listener's accept queue: from when the kernel queued it to
 * the accept() that returned it (accept_ns). A child is queued as it becomes
 * ESTABLISHED (tcp_check_req() -> inet_csk_complete_hashdance()); a TCP Fast Open child
 * is queued in SYN_RECV, before the handshake ends, and may be accepted there: its wait
 * runs from its SYN_RECV. CT_DWELL_UNKNOWN when no accept was seen or when the queueing
 * was not (a connection seen only from the middle).
 */
uint64_t conn__accept_wait(const struct conn *c);

/* When a passive connection seen from its start entered its listener's accept queue (its
 * ESTABLISHED), if no accept took it from there; 0 otherwise (accepted, not passive, seen
 * from the middle or after lost records). Meaningful only while accepts are traced. */
uint64_t conn__unaccepted_since(const struct conn *c);

/* A passive connection that ended (end_ns) with no accept seen: nobody took it from the
 * accept queue (a child the peer reset or closed there is still returned by a later
 * accept(), but it has ended by then). Meaningful only while accepts are traced. */
bool conn__never_accepted(const struct conn *c);

#endif /* TD_CONNTABLE_H */
