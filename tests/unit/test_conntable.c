// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of the connection table on synthetic record sequences: the
 * kernel's behaviours described in docs/KERNEL.md (softirq context, old == new,
 * SYN_SENT with lport 0, listener-tuple stitching, address reuse, TIME_WAIT from
 * the timer tracepoints) each get a sequence and exact expected output; so do the
 * filters' verdicts (rejected connections take no slot, undecided ones and children
 * reported with their listener's tuple are held until their next record).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "conntable.h"
#include "state.h"

#define MS 1000000ULL

/* What the hooks saw. */
struct seen {
	int ntr;
	struct ct_transition tr[64];
	uint32_t tr_pid[64];
	uint16_t tr_lport[64];
	uint16_t tr_rport[64];
	uint64_t tr_cookie[64];
	uint8_t tr_laddr0[64]; /* first byte of the local address */
	char order[128]; /* hooks in call order: T transition, F finished, S stuck */
	int norder;
	int nfin;
	struct conn fin[16];
	int nstuck;
	int stuck_state[16];
	uint64_t stuck_dwell[16];
	int hide_lport; /* select: CT_HIDE connections with this lport (an owner filter) */
	int only_lport; /* select: like -L: reject other lports, undecided while partial */
	int only_rport; /* select: like -R */
	int nacc;
	uint64_t acc_wait[16];
	uint64_t acc_cookie[16];
	int nrst; /* reset hooks: 'R' in order */
	uint64_t rst_cookie[16];
	uint64_t rst_ts[16];
	uint16_t rst_lport[16];
	uint8_t rst_dir[16];
};

static void log_hook(struct seen *s, char k)
{
	if (s->norder < (int)sizeof(s->order) - 1)
		s->order[s->norder++] = k;
}

static void h_tr(void *arg, const struct conn *c, const struct ct_transition *t)
{
	struct seen *s = arg;

	if (s->ntr >= 64) {
		s->ntr++; /* counted, not kept */
		return;
	}
	log_hook(s, 'T');
	s->tr_pid[s->ntr] = c->pid;
	s->tr_lport[s->ntr] = c->sport;
	s->tr_rport[s->ntr] = c->dport;
	s->tr_cookie[s->ntr] = c->cookie;
	s->tr_laddr0[s->ntr] = c->saddr[0];
	s->tr[s->ntr++] = *t;
}

static void h_fin(void *arg, const struct conn *c)
{
	struct seen *s = arg;

	log_hook(s, 'F');
	if (s->nfin >= 16) {
		s->nfin++;
		return;
	}
	s->fin[s->nfin++] = *c;
}

static void h_stuck(void *arg, const struct conn *c, int state, uint64_t dwell)
{
	struct seen *s = arg;

	(void)c;
	log_hook(s, 'S');
	s->stuck_state[s->nstuck] = state;
	s->stuck_dwell[s->nstuck++] = dwell;
}

static void h_accepted(void *arg, const struct conn *c, uint64_t wait)
{
	struct seen *s = arg;

	log_hook(s, 'A');
	if (s->nacc < 16) {
		s->acc_wait[s->nacc] = wait;
		s->acc_cookie[s->nacc] = c->cookie;
	}
	s->nacc++;
}

static void h_reset(void *arg, const struct conn *c, uint64_t ts)
{
	struct seen *s = arg;

	log_hook(s, 'R');
	if (s->nrst < 16) {
		s->rst_cookie[s->nrst] = c->cookie;
		s->rst_ts[s->nrst] = ts;
		s->rst_lport[s->nrst] = c->sport;
		s->rst_dir[s->nrst] = c->rst;
	}
	s->nrst++;
}

static enum ct_verdict h_select(void *arg, const struct conn *c)
{
	struct seen *s = arg;
	bool partial = (c->flags & CT_F_PARTIAL) && c->role != CT_ROLE_LISTEN;

	if (s->only_rport && c->role != CT_ROLE_LISTEN) {
		if (partial && !c->dport)
			return CT_UNDECIDED;
		if (c->dport != s->only_rport)
			return CT_REJECT;
	}
	if (s->only_lport) {
		if (partial && !c->sport)
			return CT_UNDECIDED;
		if (c->sport != s->only_lport)
			return CT_REJECT;
	}
	if (s->hide_lport && c->sport == s->hide_lport)
		return CT_HIDE;
	return CT_SELECT;
}

static struct conntable *mk(struct seen *s, uint32_t cap)
{
	struct ct_hooks h = {
	    .transition = h_tr,
	    .finished = h_fin,
	    .stuck = h_stuck,
	    .accepted = h_accepted,
	    .reset = h_reset,
	    .select = h_select,
	    .arg = s,
	};

	memset(s, 0, sizeof(*s));
	return conntable__new(cap, &h);
}

/* A record: cookie, skaddr, time (ms), old, new, lport, rport, pid (0 = softirq). */
static struct td_event mkev(uint64_t cookie, uint64_t sk, uint64_t ms, int old, int new,
			    uint16_t lport, uint16_t rport, uint32_t pid)
{
	struct td_event e;

	memset(&e, 0, sizeof(e));
	e.kind = TD_EV_STATE;
	e.ts_ns = ms * MS;
	e.cookie = cookie;
	e.skaddr = sk;
	e.oldstate = old;
	e.newstate = new;
	e.family = 4;
	e.saddr[0] = 127;
	e.saddr[3] = 1;
	e.daddr[0] = 127;
	e.daddr[3] = 1;
	e.sport = lport;
	e.dport = rport;
	e.netns = 4026531840u;
	if (pid) {
		e.flags = TD_F_PROC;
		e.pid = pid;
		snprintf(e.comm, sizeof(e.comm), "p%u", pid);
	}
	return e;
}

static void ev(struct conntable *t, uint64_t cookie, uint64_t sk, uint64_t ms, int old, int new,
	       uint16_t lport, uint16_t rport, uint32_t pid)
{
	struct td_event e = mkev(cookie, sk, ms, old, new, lport, rport, pid);

	conntable__apply(t, &e);
}

static void tw_left(struct conntable *t, int kind, uint64_t cookie, uint64_t ms, int sub,
		    bool due, uint16_t lport, uint16_t rport, int32_t left_ms)
{
	struct td_event e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.ts_ns = ms * MS;
	e.cookie = cookie;
	e.skaddr = 0xffff9000;
	e.oldstate = e.newstate = sub;
	e.flags = (due ? TD_F_TW_DUE : 0) | TD_F_TW_LEFT;
	e.tw_left_ms = left_ms;
	e.family = 4;
	e.sport = lport;
	e.dport = rport;
	conntable__apply(t, &e);
}

static void tw(struct conntable *t, int kind, uint64_t cookie, uint64_t ms, int sub, bool due,
	       uint16_t lport, uint16_t rport)
{
	struct td_event e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.ts_ns = ms * MS;
	e.cookie = cookie;
	e.skaddr = 0xffff9000;
	e.oldstate = e.newstate = sub;
	e.flags = due ? TD_F_TW_DUE : 0;
	e.family = 4;
	e.sport = lport;
	e.dport = rport;
	e.netns = 4026531840u;
	conntable__apply(t, &e);
}

/* accept() returned the socket, in state at (TD_ESTABLISHED unless said). */
static void accept_in(struct conntable *t, uint64_t cookie, uint64_t sk, uint64_t ms, uint32_t pid,
		      int at)
{
	struct td_event e;

	memset(&e, 0, sizeof(e));
	e.kind = TD_EV_ACCEPT;
	e.ts_ns = ms * MS;
	e.cookie = cookie;
	e.skaddr = sk;
	e.oldstate = e.newstate = at;
	e.family = 4;
	e.sport = 8080;
	e.dport = 40000;
	e.flags = TD_F_PROC;
	e.pid = pid;
	snprintf(e.comm, sizeof(e.comm), "p%u", pid);
	conntable__apply(t, &e);
}

static void accept_ev(struct conntable *t, uint64_t cookie, uint64_t sk, uint64_t ms,
		      uint32_t pid)
{
	accept_in(t, cookie, sk, ms, pid, TD_ESTABLISHED);
}

#define ASSERT_TR(s, i, o, n, dwell)                                                             \
	do {                                                                                     \
		assert_string_equal(state__name((s)->tr[i].old), state__name(o));                \
		assert_string_equal(state__name((s)->tr[i].new), state__name(n));                \
		assert_int_equal((s)->tr[i].dwell_ns, (dwell));                                  \
	} while (0)

/* Client closes first: connect, established, FIN_WAIT1/2, TIME_WAIT that expires. */
static void test_active_open_close_timewait(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	ev(t, 7, 0xa000, 100, TD_CLOSE, TD_SYN_SENT, 0, 8080, 100);
	ev(t, 7, 0xa000, 101, TD_SYN_SENT, TD_ESTABLISHED, 45000, 8080, 0);
	ev(t, 7, 0xa000, 300, TD_ESTABLISHED, TD_FIN_WAIT1, 45000, 8080, 100);
	ev(t, 7, 0xa000, 301, TD_FIN_WAIT1, TD_FIN_WAIT2, 45000, 8080, 0);
	tw(t, TD_EV_TW_ARM, 7, 302, TD_TIME_WAIT, false, 45000, 8080);
	ev(t, 7, 0xa000, 302, TD_FIN_WAIT2, TD_CLOSE, 45000, 8080, 0);
	assert_int_equal(s.nfin, 0); /* still in TIME_WAIT */
	tw(t, TD_EV_TW_CANCEL, 7, 60302, TD_TIME_WAIT, true, 45000, 8080);

	assert_int_equal(s.ntr, 6);
	ASSERT_TR(&s, 0, TD_CLOSE, TD_SYN_SENT, CT_DWELL_UNKNOWN);
	ASSERT_TR(&s, 1, TD_SYN_SENT, TD_ESTABLISHED, 1 * MS);
	ASSERT_TR(&s, 2, TD_ESTABLISHED, TD_FIN_WAIT1, 199 * MS);
	ASSERT_TR(&s, 3, TD_FIN_WAIT1, TD_FIN_WAIT2, 1 * MS);
	ASSERT_TR(&s, 4, TD_FIN_WAIT2, TD_TIME_WAIT, 1 * MS);
	ASSERT_TR(&s, 5, TD_TIME_WAIT, TD_CLOSE, 60000 * MS);
	assert_int_equal(s.tr[5].tw_end, CT_TW_EXPIRED);
	for (int i = 0; i < s.ntr; i++)
		assert_int_equal(s.tr_pid[i], 100); /* never the softirq task */
	assert_int_equal(s.tr_lport[0], 0); /* as the kernel reported it */
	assert_int_equal(s.tr_lport[1], 45000);

	assert_int_equal(s.nfin, 1);
	const struct conn *c = &s.fin[0];

	assert_int_equal(c->role, CT_ROLE_ACTIVE);
	assert_int_equal(c->flags & CT_F_INCOMPLETE, 0);
	assert_int_equal(c->nsteps, 5);
	assert_int_equal(c->step_state[4], TD_TIME_WAIT);
	assert_int_equal(conn__step_dwell(c, 4), 60000 * MS);
	assert_int_equal(c->end_ns - c->step_ns[0], 60202 * MS);
	assert_int_equal(conntable__stats(t)->live, 0);
	conntable__free(t);
}

/* Simultaneous close: the peer's FIN comes before the ACK of ours (FIN_WAIT1 ->
 * CLOSING); the ACK then sends the socket to TIME_WAIT, which the kernel reports
 * as CLOSING -> CLOSE after arming the timewait timer (tcp_rcv_state_process()). */
static void test_simultaneous_close_closing(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	ev(t, 9, 0xa100, 100, TD_CLOSE, TD_SYN_SENT, 0, 8080, 100);
	ev(t, 9, 0xa100, 101, TD_SYN_SENT, TD_ESTABLISHED, 45001, 8080, 0);
	ev(t, 9, 0xa100, 200, TD_ESTABLISHED, TD_FIN_WAIT1, 45001, 8080, 100);
	ev(t, 9, 0xa100, 203, TD_FIN_WAIT1, TD_CLOSING, 45001, 8080, 0);
	tw(t, TD_EV_TW_ARM, 9, 207, TD_TIME_WAIT, false, 45001, 8080);
	ev(t, 9, 0xa100, 207, TD_CLOSING, TD_CLOSE, 45001, 8080, 0);
	assert_int_equal(s.nfin, 0);
	tw(t, TD_EV_TW_CANCEL, 9, 60207, TD_TIME_WAIT, true, 45001, 8080);

	assert_int_equal(s.ntr, 6);
	ASSERT_TR(&s, 2, TD_ESTABLISHED, TD_FIN_WAIT1, 99 * MS);
	ASSERT_TR(&s, 3, TD_FIN_WAIT1, TD_CLOSING, 3 * MS);
	ASSERT_TR(&s, 4, TD_CLOSING, TD_TIME_WAIT, 4 * MS);
	ASSERT_TR(&s, 5, TD_TIME_WAIT, TD_CLOSE, 60000 * MS);
	assert_int_equal(s.tr[5].tw_end, CT_TW_EXPIRED);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(s.fin[0].nsteps, 5);
	assert_int_equal(s.fin[0].step_state[3], TD_CLOSING);
	assert_int_equal(s.fin[0].step_state[4], TD_TIME_WAIT);
	assert_int_equal(s.fin[0].flags & CT_F_INCOMPLETE, 0);
	conntable__free(t);
}

/* Passive open, accept by another process, server closes after CLOSE_WAIT. */
static void test_passive_accept_close_wait(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	ev(t, 1, 0xb000, 10, TD_CLOSE, TD_LISTEN, 8080, 0, 200);
	ev(t, 2, 0xb100, 20, TD_LISTEN, TD_SYN_RECV, 8080, 40000, 0);
	ev(t, 2, 0xb100, 20, TD_SYN_RECV, TD_ESTABLISHED, 8080, 40000, 0);
	assert_int_equal(s.tr_pid[1], 200); /* the listener's owner, for now */
	accept_ev(t, 2, 0xb100, 21, 201);
	ev(t, 2, 0xb100, 30, TD_ESTABLISHED, TD_CLOSE_WAIT, 8080, 40000, 0);
	ev(t, 2, 0xb100, 1530, TD_CLOSE_WAIT, TD_LAST_ACK, 8080, 40000, 201);
	ev(t, 2, 0xb100, 1531, TD_LAST_ACK, TD_CLOSE, 8080, 40000, 0);

	assert_int_equal(s.ntr, 6);
	ASSERT_TR(&s, 1, TD_LISTEN, TD_SYN_RECV, CT_DWELL_UNKNOWN);
	ASSERT_TR(&s, 3, TD_ESTABLISHED, TD_CLOSE_WAIT, 10 * MS);
	ASSERT_TR(&s, 4, TD_CLOSE_WAIT, TD_LAST_ACK, 1500 * MS);
	assert_int_equal(s.tr_pid[3], 201);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(s.fin[0].role, CT_ROLE_PASSIVE);
	assert_int_equal(s.fin[0].pid, 201);
	assert_int_equal(s.fin[0].owner_src, CT_OWNER_TASK);
	assert_int_equal(s.fin[0].nsteps, 4);
	assert_int_equal(conn__step_dwell(&s.fin[0], 2), 1500 * MS);
	/* The listener is still there. */
	assert_int_equal(conntable__stats(t)->live, 1);
	ev(t, 1, 0xb000, 2000, TD_LISTEN, TD_CLOSE, 8080, 0, 200);
	assert_int_equal(s.nfin, 2);
	assert_int_equal(s.fin[1].role, CT_ROLE_LISTEN);
	conntable__free(t);
}

/*
 * The accept-queue wait: from ESTABLISHED (the child is queued as its handshake ends) to
 * the accept; once per connection; a Fast Open child accepted in SYN_RECV waits from
 * there; a child the peer reset in the queue ended never accepted, and the accept that
 * still returns it later adds no connection.
 */
static void test_accept_wait(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	ev(t, 1, 0xb000, 10, TD_CLOSE, TD_LISTEN, 8080, 0, 200);
	/* Accepted 7 ms after it was queued; a second accept record is no new wait. */
	ev(t, 2, 0xb100, 20, TD_LISTEN, TD_SYN_RECV, 8080, 40000, 0);
	ev(t, 2, 0xb100, 21, TD_SYN_RECV, TD_ESTABLISHED, 8080, 40000, 0);
	accept_ev(t, 2, 0xb100, 28, 201);
	accept_ev(t, 2, 0xb100, 29, 201);
	assert_int_equal(s.nacc, 1);
	assert_int_equal(s.acc_wait[0], 7 * MS);
	assert_int_equal(s.acc_cookie[0], 2);
	ev(t, 2, 0xb100, 40, TD_ESTABLISHED, TD_CLOSE, 8080, 40000, 0);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(s.fin[0].accept_ns, 28 * MS);
	assert_int_equal(conn__accept_wait(&s.fin[0]), 7 * MS);
	assert_false(conn__never_accepted(&s.fin[0]));

	/* Reset by the peer while queued: never accepted; the accept that returns it later
	 * (in CLOSE) is counted, and brings back no connection. */
	ev(t, 3, 0xb200, 50, TD_LISTEN, TD_SYN_RECV, 8080, 40001, 0);
	ev(t, 3, 0xb200, 50, TD_SYN_RECV, TD_ESTABLISHED, 8080, 40001, 0);
	ev(t, 3, 0xb200, 60, TD_ESTABLISHED, TD_CLOSE, 8080, 40001, 0);
	assert_int_equal(s.nfin, 2);
	assert_true(conn__never_accepted(&s.fin[1]));
	assert_int_equal(conn__accept_wait(&s.fin[1]), CT_DWELL_UNKNOWN);
	accept_in(t, 3, 0xb200, 70, 201, TD_CLOSE);
	assert_int_equal(conntable__stats(t)->accepted_closed, 1);
	assert_int_equal(conntable__stats(t)->live, 1); /* the listener */
	assert_int_equal(s.nacc, 1);

	/* Fast Open: queued in SYN_RECV, accepted before its handshake ends. */
	ev(t, 4, 0xb300, 80, TD_LISTEN, TD_SYN_RECV, 8080, 40002, 0);
	accept_in(t, 4, 0xb300, 83, 201, TD_SYN_RECV);
	ev(t, 4, 0xb300, 90, TD_SYN_RECV, TD_ESTABLISHED, 8080, 40002, 0);
	assert_int_equal(s.nacc, 2);
	assert_int_equal(s.acc_wait[1], 3 * MS);

	/* Seen only from the middle (its accept before tracing): no wait, and nothing to
	 * say about an accept. */
	ev(t, 5, 0xb400, 100, TD_ESTABLISHED, TD_CLOSE_WAIT, 8080, 40003, 0);
	ev(t, 5, 0xb400, 101, TD_CLOSE_WAIT, TD_LAST_ACK, 8080, 40003, 201);
	ev(t, 5, 0xb400, 102, TD_LAST_ACK, TD_CLOSE, 8080, 40003, 0);
	assert_int_equal(s.nfin, 3);
	assert_false(conn__never_accepted(&s.fin[2]));
	/* An active open is never "never accepted". */
	ev(t, 6, 0xb500, 110, TD_CLOSE, TD_SYN_SENT, 0, 80, 5);
	ev(t, 6, 0xb500, 111, TD_SYN_SENT, TD_ESTABLISHED, 5000, 80, 0);
	ev(t, 6, 0xb500, 112, TD_ESTABLISHED, TD_CLOSE, 5000, 80, 0);
	assert_int_equal(s.nfin, 4);
	assert_false(conn__never_accepted(&s.fin[3]));
	assert_int_equal(conn__accept_wait(&s.fin[3]), CT_DWELL_UNKNOWN);
	conntable__free(t);
}

static void tw_at(struct conntable *t, int kind, uint64_t cookie, uint64_t ms, int sub,
		  uint8_t flags, uint16_t lport, uint16_t rport);

static void stats_ev(struct conntable *t, uint64_t cookie, uint64_t sk, uint64_t ms, int old,
		     uint16_t lport, uint16_t rport, uint64_t acked, uint64_t received)
{
	struct td_event e = mkev(cookie, sk, ms, old, TD_CLOSE, lport, rport, 0);

	e.kind = TD_EV_CONN_STATS;
	memset(e.saddr, 0, sizeof(e.saddr));
	memset(e.daddr, 0, sizeof(e.daddr));
	e.stats.bytes_acked = acked;
	e.stats.bytes_received = received;
	e.stats.segs_out = 7;
	e.stats.segs_in = 9;
	e.stats.total_retrans = 3;
	e.stats.srtt_us = 250;
	e.min_rtt_us = 180;
	conntable__apply(t, &e);
}

/*
 * What the handshake gave (TD_F_HANDSHAKE on the record leaving SYN_SENT or SYN_RECV) and
 * what the connection carried (TD_EV_CONN_STATS before its -> CLOSE) land on the
 * connection, its tuple untouched by the counters in the addresses' place. Expected, a ->
 * CLOSE without them is a missing record: a chain break, but not a listener's, a failed
 * connect's or one first seen at its end; a stats record of no connection is counted.
 */
static void test_conn_info(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);
	struct td_event e;

	(void)state;
	conntable__expect_stats(t, true);
	ev(t, 1, 0xd000, 1, TD_CLOSE, TD_SYN_SENT, 0, 443, 5);
	e = mkev(1, 0xd000, 3001, TD_SYN_SENT, TD_ESTABLISHED, 41000, 443, 0);
	e.flags |= TD_F_HANDSHAKE;
	e.rtt_us = 512;
	e.retrans = 2;
	conntable__apply(t, &e);
	ev(t, 1, 0xd000, 3010, TD_ESTABLISHED, TD_FIN_WAIT1, 41000, 443, 5);
	stats_ev(t, 1, 0xd000, 3011, TD_FIN_WAIT1, 41000, 443, 1000000, 2000000);
	ev(t, 1, 0xd000, 3011, TD_FIN_WAIT1, TD_CLOSE, 41000, 443, 0);
	assert_int_equal(s.nfin, 1);
	assert_true(s.fin[0].flags & CT_F_HANDSHAKE);
	assert_int_equal(s.fin[0].hs_rtt_us, 512);
	assert_int_equal(s.fin[0].hs_retrans, 2);
	assert_true(s.fin[0].flags & CT_F_STATS);
	assert_int_equal(s.fin[0].stats.bytes_acked, 1000000);
	assert_int_equal(s.fin[0].stats.bytes_received, 2000000);
	assert_int_equal(s.fin[0].stats.total_retrans, 3);
	assert_int_equal(s.fin[0].min_rtt_us, 180);
	assert_int_equal(s.fin[0].sport, 41000);
	assert_int_equal(s.fin[0].saddr[0], 127); /* the tuple is the state records' */
	assert_int_equal(conntable__stats(t)->gaps, 0);

	/* No stats before this -> CLOSE: lost. */
	ev(t, 2, 0xd100, 4000, TD_CLOSE, TD_SYN_SENT, 0, 443, 5);
	ev(t, 2, 0xd100, 4001, TD_SYN_SENT, TD_ESTABLISHED, 41001, 443, 0);
	ev(t, 2, 0xd100, 4002, TD_ESTABLISHED, TD_CLOSE, 41001, 443, 0);
	assert_int_equal(conntable__stats(t)->gaps, 1);
	assert_true(s.fin[1].flags & CT_F_GAP);
	assert_false(s.fin[1].flags & CT_F_STATS);

	/* A refused connect and a listener carry none; one first seen at its end neither
	 * (its stats found no connection: counted). */
	ev(t, 3, 0xd200, 5000, TD_CLOSE, TD_SYN_SENT, 0, 444, 5);
	ev(t, 3, 0xd200, 5001, TD_SYN_SENT, TD_CLOSE, 41002, 444, 0);
	ev(t, 4, 0xd300, 5002, TD_CLOSE, TD_LISTEN, 8080, 0, 5);
	ev(t, 4, 0xd300, 5003, TD_LISTEN, TD_CLOSE, 8080, 0, 5);
	stats_ev(t, 5, 0xd400, 5004, TD_CLOSE_WAIT, 8081, 50000, 1, 1);
	ev(t, 5, 0xd400, 5004, TD_LAST_ACK, TD_CLOSE, 8081, 50000, 0);
	assert_int_equal(conntable__stats(t)->gaps, 1);
	assert_int_equal(conntable__stats(t)->stats_unmatched, 1);
	assert_int_equal(s.nfin, 5);

	/* No cookies (the classic tracepoint): the timewait socket has taken the connection
	 * over (by its own address) when the full socket's counters come; its -> CLOSE says
	 * whose they are. */
	ev(t, 0, 0xd500, 6000, TD_CLOSE, TD_SYN_SENT, 0, 80, 5);
	ev(t, 0, 0xd500, 6001, TD_SYN_SENT, TD_ESTABLISHED, 41010, 80, 0);
	ev(t, 0, 0xd500, 6002, TD_ESTABLISHED, TD_FIN_WAIT1, 41010, 80, 5);
	ev(t, 0, 0xd500, 6003, TD_FIN_WAIT1, TD_FIN_WAIT2, 41010, 80, 0);
	tw_at(t, TD_EV_TW_ARM, 0, 6004, TD_TIME_WAIT, 0, 41010, 80);
	stats_ev(t, 0, 0xd500, 6004, TD_FIN_WAIT2, 41010, 80, 777, 888);
	ev(t, 0, 0xd500, 6004, TD_FIN_WAIT2, TD_CLOSE, 41010, 80, 0);
	tw_at(t, TD_EV_TW_CANCEL, 0, 66004, TD_TIME_WAIT, TD_F_TW_DUE, 41010, 80);
	assert_int_equal(s.nfin, 6);
	assert_true(s.fin[5].flags & CT_F_STATS);
	assert_int_equal(s.fin[5].stats.bytes_acked, 777);
	assert_int_equal(s.fin[5].stats.bytes_received, 888);
	assert_int_equal(conntable__stats(t)->stats_unmatched, 1);
	assert_int_equal(conntable__stats(t)->gaps, 1);
	conntable__free(t);

	/* Not expected (an older recording): no break. */
	t = mk(&s, 64);
	ev(t, 2, 0xd100, 4000, TD_CLOSE, TD_SYN_SENT, 0, 443, 5);
	ev(t, 2, 0xd100, 4001, TD_SYN_SENT, TD_ESTABLISHED, 41001, 443, 0);
	ev(t, 2, 0xd100, 4002, TD_ESTABLISHED, TD_CLOSE, 41001, 443, 0);
	assert_int_equal(conntable__stats(t)->gaps, 0);
	conntable__free(t);
}

/* shutdown() then close(): FIN_WAIT1 -> FIN_WAIT1 is not a state change. */
static void test_same_state_ignored(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	ev(t, 3, 0xc000, 1, TD_CLOSE, TD_SYN_SENT, 0, 80, 5);
	ev(t, 3, 0xc000, 2, TD_SYN_SENT, TD_ESTABLISHED, 5000, 80, 0);
	ev(t, 3, 0xc000, 3, TD_ESTABLISHED, TD_FIN_WAIT1, 5000, 80, 5);
	ev(t, 3, 0xc000, 4, TD_FIN_WAIT1, TD_FIN_WAIT1, 5000, 80, 5);
	ev(t, 3, 0xc000, 6, TD_FIN_WAIT1, TD_FIN_WAIT2, 5000, 80, 0);
	assert_int_equal(s.ntr, 4);
	ASSERT_TR(&s, 3, TD_FIN_WAIT1, TD_FIN_WAIT2, 3 * MS);
	assert_int_equal(conntable__stats(t)->same_state, 1);
	conntable__free(t);
}

/* A catcher's second record of a change the state program recorded (an interrupt between the
 * two emptied the claim stack) is dropped and counted; a catcher's record of a change the
 * table has not seen is a change like any other. */
static void test_caught_duplicate_dropped(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);
	struct td_event e;

	(void)state;
	ev(t, 3, 0xc000, 1, TD_CLOSE, TD_SYN_SENT, 0, 80, 5);
	ev(t, 3, 0xc000, 2, TD_SYN_SENT, TD_ESTABLISHED, 5000, 80, 0);
	ev(t, 3, 0xc000, 3, TD_ESTABLISHED, TD_CLOSE_WAIT, 5000, 80, 0);
	e = mkev(3, 0xc000, 4, TD_CLOSE_WAIT, TD_LAST_ACK, 5000, 80, 5);
	conntable__apply(t, &e); /* the state program's */
	e.ts_ns = 5 * MS;
	e.flags |= TD_F_CAUGHT; /* its catcher's, after the interrupt */
	conntable__apply(t, &e);
	assert_int_equal(s.ntr, 4);
	assert_int_equal(conntable__stats(t)->caught_dups, 1);
	assert_int_equal(conntable__stats(t)->gaps, 0);
	/* a caught change the table has not seen: applied */
	e = mkev(3, 0xc000, 6, TD_LAST_ACK, TD_CLOSE, 5000, 80, 0);
	e.flags |= TD_F_CAUGHT;
	conntable__apply(t, &e);
	assert_int_equal(s.ntr, 5);
	ASSERT_TR(&s, 4, TD_LAST_ACK, TD_CLOSE, 2 * MS);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(conntable__stats(t)->caught_dups, 1);
	assert_int_equal(conntable__stats(t)->gaps, 0);
	/* the catcher's second -> CLOSE finds its connection gone: dropped, no new connection */
	e.ts_ns = 7 * MS;
	conntable__apply(t, &e);
	conntable__drain(t);
	assert_int_equal(s.ntr, 5);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(conntable__stats(t)->caught_dups, 2);
	assert_int_equal(conntable__stats(t)->gaps, 0);
	conntable__free(t);
}

/* An abort (RST) and a refused connect end without TIME_WAIT. */
static void test_rst_and_refused(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	ev(t, 4, 0xd000, 1, TD_CLOSE, TD_SYN_SENT, 0, 9, 7);
	ev(t, 4, 0xd000, 2, TD_SYN_SENT, TD_CLOSE, 41000, 9, 0);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(s.fin[0].nsteps, 1);
	assert_int_equal(conn__step_dwell(&s.fin[0], 0), 1 * MS);
	assert_int_equal(s.fin[0].pid, 7);

	ev(t, 5, 0xd100, 10, TD_CLOSE, TD_SYN_SENT, 0, 80, 7);
	ev(t, 5, 0xd100, 11, TD_SYN_SENT, TD_ESTABLISHED, 41001, 80, 0);
	ev(t, 5, 0xd100, 15, TD_ESTABLISHED, TD_CLOSE, 41001, 80, 7);
	assert_int_equal(s.nfin, 2);
	ASSERT_TR(&s, 4, TD_ESTABLISHED, TD_CLOSE, 4 * MS);
	conntable__free(t);
}

/* A reset record: sent (with the kernel's reason) or received, in the socket's state. */
static void rst_ev(struct conntable *t, uint64_t cookie, uint64_t sk, uint64_t ms, int st,
		   uint16_t lport, uint16_t rport, bool sent, uint32_t reason)
{
	struct td_event e = mkev(cookie, sk, ms, st, st, lport, rport, 0);

	e.kind = TD_EV_RST;
	e.flags = sent ? TD_F_RST_SENT : 0;
	e.rst_reason = reason;
	conntable__apply(t, &e);
}

/*
 * Resets (conntable__expect_resets()): a received one comes before the -> CLOSE and is on the
 * connection when it ends; an abort's comes after its -> CLOSE, and the connection's end waits
 * for it (finished after the reset hook), up to CT_RST_WAIT_NS; a refused connect's reset
 * fills the port its first record lacked; a second reset and one of no connection are
 * counted unmatched; a new life of an ending socket ends the old one first.
 */
static void test_resets(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);
	int nfin_before;

	(void)state;
	conntable__expect_resets(t, true);
	/* Received in ESTABLISHED, then the end. */
	ev(t, 1, 0xa000, 1, TD_CLOSE, TD_SYN_SENT, 0, 80, 7);
	ev(t, 1, 0xa000, 2, TD_SYN_SENT, TD_ESTABLISHED, 40001, 80, 0);
	rst_ev(t, 1, 0xa000, 5, TD_ESTABLISHED, 40001, 80, false, TD_RST_REASON_NONE);
	ev(t, 1, 0xa000, 5, TD_ESTABLISHED, TD_CLOSE, 40001, 80, 0);
	/* A received reset may be an abort on data after close(), whose sent one follows. */
	assert_int_equal(s.nfin, 0);
	conntable__advance(t, 5 * MS + CT_RST_WAIT_NS);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(s.fin[0].rst, CT_RST_RECEIVED);
	assert_int_equal(s.fin[0].rst_reason, CT_RST_NO_REASON);
	assert_string_equal(s.order, "TTRTF");

	/* An abort: -> CLOSE, then the reset it sends; finished only then. */
	ev(t, 2, 0xb000, 10, TD_CLOSE, TD_SYN_SENT, 0, 80, 7);
	ev(t, 2, 0xb000, 11, TD_SYN_SENT, TD_ESTABLISHED, 40002, 80, 0);
	ev(t, 2, 0xb000, 20, TD_ESTABLISHED, TD_CLOSE, 40002, 80, 7);
	assert_int_equal(s.nfin, 1);
	rst_ev(t, 2, 0xb000, 20, TD_CLOSE, 40002, 80, true, 3);
	assert_int_equal(s.nfin, 2);
	assert_int_equal(s.fin[1].rst, CT_RST_SENT);
	assert_int_equal(s.fin[1].rst_reason, 3);
	assert_int_equal(s.fin[1].rst_ns, 20 * MS);
	assert_string_equal(s.order, "TTRTFTTTRF");

	/* A clean end from LAST_ACK waits CT_RST_WAIT_NS of the table's time, then ends. */
	ev(t, 3, 0xc000, 30, TD_LISTEN, TD_SYN_RECV, 80, 40003, 0);
	ev(t, 3, 0xc000, 31, TD_SYN_RECV, TD_ESTABLISHED, 80, 40003, 0);
	ev(t, 3, 0xc000, 32, TD_ESTABLISHED, TD_CLOSE_WAIT, 80, 40003, 0);
	ev(t, 3, 0xc000, 33, TD_CLOSE_WAIT, TD_LAST_ACK, 80, 40003, 9);
	ev(t, 3, 0xc000, 34, TD_LAST_ACK, TD_CLOSE, 80, 40003, 0);
	assert_int_equal(s.nfin, 2);
	conntable__advance(t, 34 * MS + CT_RST_WAIT_NS - 1);
	assert_int_equal(s.nfin, 2);
	conntable__advance(t, 34 * MS + CT_RST_WAIT_NS);
	assert_int_equal(s.nfin, 3);
	assert_int_equal(s.fin[2].rst, CT_RST_NONE);
	/* Its late reset finds no connection: unmatched. */
	rst_ev(t, 3, 0xc000, 50, TD_CLOSE, 80, 40003, true, 3);
	assert_int_equal(conntable__stats(t)->rst_unmatched, 1);

	/* A refused connect: the reset fills its port; the first transition comes first. */
	ev(t, 4, 0xd000, 60, TD_CLOSE, TD_SYN_SENT, 0, 81, 7);
	rst_ev(t, 4, 0xd000, 61, TD_SYN_SENT, 40004, 81, false, TD_RST_REASON_NONE);
	assert_int_equal(s.rst_lport[s.nrst - 1], 40004);
	ev(t, 4, 0xd000, 61, TD_SYN_SENT, TD_CLOSE, 40004, 81, 0);
	assert_int_equal(s.nfin, 4); /* SYN_SENT -> CLOSE: no abort sends a reset */
	assert_int_equal(s.fin[3].sport, 40004);
	/* A second reset of one connection: unmatched. */
	ev(t, 5, 0xe000, 70, TD_CLOSE, TD_SYN_SENT, 0, 80, 7);
	ev(t, 5, 0xe000, 71, TD_SYN_SENT, TD_ESTABLISHED, 40005, 80, 0);
	rst_ev(t, 5, 0xe000, 72, TD_ESTABLISHED, 40005, 80, false, TD_RST_REASON_NONE);
	rst_ev(t, 5, 0xe000, 72, TD_ESTABLISHED, 40005, 80, false, TD_RST_REASON_NONE);
	assert_int_equal(conntable__stats(t)->rst_unmatched, 2);
	assert_int_equal(conntable__stats(t)->resets, 4);

	/* Data after close(): the kernel traces a received reset (tcp_reset()), the -> CLOSE,
	 * then the reset it sends: the sent one is the truth, and ends the wait. */
	ev(t, 7, 0x7000, 90, TD_CLOSE, TD_SYN_SENT, 0, 80, 7);
	ev(t, 7, 0x7000, 91, TD_SYN_SENT, TD_ESTABLISHED, 40008, 80, 0);
	ev(t, 7, 0x7000, 92, TD_ESTABLISHED, TD_FIN_WAIT1, 40008, 80, 7);
	ev(t, 7, 0x7000, 93, TD_FIN_WAIT1, TD_FIN_WAIT2, 40008, 80, 0);
	rst_ev(t, 7, 0x7000, 94, TD_FIN_WAIT2, 40008, 80, false, TD_RST_REASON_NONE);
	ev(t, 7, 0x7000, 94, TD_FIN_WAIT2, TD_CLOSE, 40008, 80, 0);
	rst_ev(t, 7, 0x7000, 94, TD_CLOSE, 40008, 80, true, 4);
	assert_int_equal(s.nfin, 5);
	assert_int_equal(s.fin[4].rst, CT_RST_SENT);
	assert_int_equal(s.fin[4].rst_reason, 4);
	/* A listener's reset (to a stray segment) is no connection's. */
	ev(t, 8, 0x8000, 95, TD_CLOSE, TD_LISTEN, 81, 0, 9);
	rst_ev(t, 8, 0x8000, 96, TD_LISTEN, 81, 0, true, 1);
	assert_int_equal(conntable__stats(t)->rst_unmatched, 3);
	nfin_before = s.nfin;

	/* connect(AF_UNSPEC) then connect() again on the same socket, within the wait: the
	 * ending life ends first, the new one is a new connection. */
	ev(t, 6, 0xf000, 80, TD_CLOSE, TD_SYN_SENT, 0, 80, 7);
	ev(t, 6, 0xf000, 81, TD_SYN_SENT, TD_ESTABLISHED, 40006, 80, 0);
	ev(t, 6, 0xf000, 82, TD_ESTABLISHED, TD_CLOSE, 40006, 80, 7);
	ev(t, 6, 0xf000, 83, TD_CLOSE, TD_SYN_SENT, 0, 80, 7);
	assert_int_equal(s.nfin, nfin_before + 1);
	assert_int_equal(s.fin[nfin_before].nsteps, 2);
	assert_int_equal(conntable__stats(t)->gaps, 0);
	/* The end of input ends what still waits. */
	ev(t, 6, 0xf000, 84, TD_SYN_SENT, TD_ESTABLISHED, 40007, 80, 0);
	ev(t, 6, 0xf000, 85, TD_ESTABLISHED, TD_CLOSE, 40007, 80, 7);
	conntable__drain(t);
	assert_int_equal(s.nfin, nfin_before + 2); /* cookie 5 is still open */
	conntable__free(t);
}

/* An ending connection the table must evict to make room ends (its finished hook), it is not
 * dropped; a catcher's second -> CLOSE of it does not cut its wait short. */
static void test_resets_ending_evicted(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 16);

	(void)state;
	conntable__expect_resets(t, true);
	ev(t, 1, 0x1000, 1, TD_CLOSE, TD_SYN_SENT, 0, 80, 7);
	ev(t, 1, 0x1000, 2, TD_SYN_SENT, TD_ESTABLISHED, 40001, 80, 0);
	ev(t, 1, 0x1000, 3, TD_ESTABLISHED, TD_CLOSE, 40001, 80, 7);
	{
		struct td_event e = mkev(1, 0x1000, 3, TD_ESTABLISHED, TD_CLOSE, 40001, 80, 7);

		e.flags |= TD_F_CAUGHT;
		conntable__apply(t, &e);
	}
	assert_int_equal(conntable__stats(t)->caught_dups, 1);
	assert_int_equal(s.nfin, 0);
	/* 16 more connections, all within the wait: the ending one is the oldest. */
	for (uint64_t k = 0; k < 16; k++)
		ev(t, 100 + k, 0x2000 + k, 4, TD_CLOSE, TD_SYN_SENT, 0, 80, 7);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(s.fin[0].cookie, 1);
	assert_int_equal(conntable__stats(t)->evicted, 0);
	conntable__free(t);
}

/* A loss counted while an end is held marks it incomplete too: the -> CLOSE may be the full
 * socket's at the hand-over to its timewait socket, the FIN_WAIT2 -> TIME_WAIT before it lost. */
static void test_resets_ending_loss(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	conntable__expect_resets(t, true);
	ev(t, 3, 0xc000, 1, TD_CLOSE, TD_SYN_SENT, 0, 80, 7);
	ev(t, 3, 0xc000, 2, TD_SYN_SENT, TD_ESTABLISHED, 40003, 80, 0);
	ev(t, 3, 0xc000, 3, TD_ESTABLISHED, TD_FIN_WAIT1, 40003, 80, 7);
	ev(t, 3, 0xc000, 4, TD_FIN_WAIT1, TD_FIN_WAIT2, 40003, 80, 0);
	ev(t, 3, 0xc000, 5, TD_FIN_WAIT2, TD_CLOSE, 40003, 80, 0);
	assert_int_equal(s.nfin, 0);
	conntable__mark_loss(t);
	conntable__advance(t, 5 * MS + CT_RST_WAIT_NS);
	assert_int_equal(s.nfin, 1);
	assert_true(s.fin[0].flags & CT_F_INCOMPLETE);
	conntable__free(t);
}

/* Without conntable__expect_resets() an abort's end is not held. */
static void test_resets_off(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	ev(t, 2, 0xb000, 10, TD_CLOSE, TD_SYN_SENT, 0, 80, 7);
	ev(t, 2, 0xb000, 11, TD_SYN_SENT, TD_ESTABLISHED, 40002, 80, 0);
	ev(t, 2, 0xb000, 20, TD_ESTABLISHED, TD_CLOSE, 40002, 80, 7);
	assert_int_equal(s.nfin, 1);
	conntable__free(t);
}

/* Older kernels: the child's LISTEN -> SYN_RECV carries the listener's cookie. */
static void test_listener_cookie_stitched(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	ev(t, 1, 0xb000, 10, TD_CLOSE, TD_LISTEN, 8080, 0, 200);
	ev(t, 1, 0xb200, 20, TD_LISTEN, TD_SYN_RECV, 8080, 0, 0);
	ev(t, 9, 0xb200, 21, TD_SYN_RECV, TD_ESTABLISHED, 8080, 40001, 0);
	ev(t, 9, 0xb200, 25, TD_ESTABLISHED, TD_CLOSE, 8080, 40001, 200);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(s.fin[0].cookie, 9);
	assert_int_equal(s.fin[0].role, CT_ROLE_PASSIVE);
	assert_int_equal(s.fin[0].nsteps, 2);
	assert_int_equal(conn__step_dwell(&s.fin[0], 0), 1 * MS);
	assert_int_equal(s.fin[0].dport, 40001);
	/* The listener is untouched. */
	assert_int_equal(conntable__stats(t)->live, 1);
	conntable__free(t);
}

/* A freed struct sock is reused at once: a new cookie is a new connection. */
static void test_skaddr_reuse_new_cookie(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	ev(t, 20, 0xe000, 1, TD_CLOSE, TD_SYN_SENT, 0, 80, 9);
	ev(t, 20, 0xe000, 2, TD_SYN_SENT, TD_ESTABLISHED, 42000, 80, 0);
	/* Lost: the first connection's end. The address comes back with cookie 21. */
	ev(t, 21, 0xe000, 5, TD_CLOSE, TD_SYN_SENT, 0, 81, 9);
	ev(t, 21, 0xe000, 6, TD_SYN_SENT, TD_ESTABLISHED, 42001, 81, 0);
	ev(t, 21, 0xe000, 9, TD_ESTABLISHED, TD_CLOSE, 42001, 81, 9);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(s.fin[0].cookie, 21);
	assert_int_equal(s.fin[0].flags & CT_F_INCOMPLETE, 0);
	assert_int_equal(conntable__stats(t)->live, 1); /* cookie 20 is still open */
	conntable__free(t);
}

/* A connection open before tracing started, and a record missing mid-life. */
static void test_incomplete_and_gap(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	ev(t, 30, 0xf000, 50, TD_ESTABLISHED, TD_FIN_WAIT1, 43000, 80, 3);
	ASSERT_TR(&s, 0, TD_ESTABLISHED, TD_FIN_WAIT1, CT_DWELL_UNKNOWN);
	/* FIN_WAIT1 -> FIN_WAIT2 lost; the next record leaves FIN_WAIT2. */
	ev(t, 30, 0xf000, 90, TD_FIN_WAIT2, TD_CLOSE, 43000, 80, 0);
	assert_int_equal(s.ntr, 2);
	ASSERT_TR(&s, 1, TD_FIN_WAIT2, TD_CLOSE, CT_DWELL_UNKNOWN); /* not 40 ms */
	assert_int_equal(s.nfin, 1);
	assert_true(s.fin[0].flags & CT_F_INCOMPLETE);
	assert_true(s.fin[0].flags & CT_F_GAP);
	assert_int_equal(conn__step_dwell(&s.fin[0], 0), CT_DWELL_UNKNOWN);
	assert_int_equal(conntable__stats(t)->gaps, 1);
	conntable__free(t);
}

/* FIN_WAIT1 -> FIN_WAIT2 lost before the timewait timer is armed: the timewait
 * starts from FIN_WAIT2 (tcp_time_wait() runs nowhere else for this), whose
 * dwell is unknown, never FIN_WAIT1 -> TIME_WAIT with FIN_WAIT1's dwell. */
static void test_gap_before_timewait(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	ev(t, 31, 0xf100, 50, TD_CLOSE, TD_SYN_SENT, 0, 80, 3);
	ev(t, 31, 0xf100, 51, TD_SYN_SENT, TD_ESTABLISHED, 43001, 80, 0);
	ev(t, 31, 0xf100, 60, TD_ESTABLISHED, TD_FIN_WAIT1, 43001, 80, 3);
	tw(t, TD_EV_TW_ARM, 31, 70, TD_TIME_WAIT, false, 43001, 80);
	ev(t, 31, 0xf100, 70, TD_FIN_WAIT2, TD_CLOSE, 43001, 80, 0);
	assert_int_equal(s.ntr, 4);
	ASSERT_TR(&s, 3, TD_FIN_WAIT2, TD_TIME_WAIT, CT_DWELL_UNKNOWN);
	tw(t, TD_EV_TW_CANCEL, 31, 60070, TD_TIME_WAIT, true, 43001, 80);
	assert_int_equal(s.ntr, 5);
	ASSERT_TR(&s, 4, TD_TIME_WAIT, TD_CLOSE, 60000 * MS);
	assert_int_equal(s.nfin, 1);
	assert_true(s.fin[0].flags & CT_F_GAP);
	assert_true(s.fin[0].flags & CT_F_INCOMPLETE);
	assert_int_equal(conntable__stats(t)->gaps, 1);

	/* The same in the FIN_WAIT2 substate (an orphan): FIN_WAIT2 is reached with
	 * no transition shown for it, and no FIN_WAIT2 -> FIN_WAIT2 either. */
	ev(t, 32, 0xf200, 100, TD_ESTABLISHED, TD_FIN_WAIT1, 43002, 80, 3);
	tw(t, TD_EV_TW_ARM, 32, 110, TD_FIN_WAIT2, false, 43002, 80);
	ev(t, 32, 0xf200, 110, TD_FIN_WAIT2, TD_CLOSE, 43002, 80, 0);
	assert_int_equal(s.ntr, 6);
	ASSERT_TR(&s, 5, TD_ESTABLISHED, TD_FIN_WAIT1, CT_DWELL_UNKNOWN);
	conntable__free(t);
}

/* Only the timer was seen (the earlier records lost or before the start), in the
 * FIN_WAIT2 substate: the full socket's FIN_WAIT2 -> CLOSE tells where it came
 * from, which is the state it is in: no transition. */
static void test_timewait_first_fin_wait2(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	tw(t, TD_EV_TW_ARM, 33, 10, TD_FIN_WAIT2, false, 43003, 80);
	ev(t, 33, 0xf300, 10, TD_FIN_WAIT2, TD_CLOSE, 43003, 80, 0);
	assert_int_equal(s.ntr, 0);
	tw(t, TD_EV_TW_CANCEL, 33, 60010, TD_FIN_WAIT2, true, 43003, 80);
	assert_int_equal(s.ntr, 1);
	ASSERT_TR(&s, 0, TD_FIN_WAIT2, TD_CLOSE, CT_DWELL_UNKNOWN);
	assert_int_equal(s.nfin, 1);
	assert_true(s.fin[0].flags & CT_F_INCOMPLETE);
	conntable__free(t);
}

/* The table never grows past max_conns; the idle-longest connection goes. */
static void test_eviction(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 16);

	(void)state;
	for (int i = 0; i < 40; i++) {
		ev(t, 100 + i, 0x10000 + i * 64, i, TD_CLOSE, TD_SYN_SENT, 0, 80, 1);
		/* keep connection 100 busy: it must survive */
		ev(t, 100, 0x10000, i, TD_SYN_SENT, TD_SYN_SENT, 0, 80, 1);
	}
	assert_int_equal(conntable__stats(t)->live, 16);
	assert_int_equal(conntable__stats(t)->evicted, 24);
	ev(t, 100, 0x10000, 50, TD_SYN_SENT, TD_CLOSE, 44000, 80, 0);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(s.fin[0].cookie, 100);
	/* An evicted connection's later record starts an incomplete one. */
	ev(t, 101, 0x10040, 51, TD_SYN_SENT, TD_CLOSE, 44001, 80, 0);
	assert_int_equal(s.nfin, 2);
	assert_true(s.fin[1].flags & CT_F_INCOMPLETE);
	conntable__free(t);
}

/* TIME_WAIT re-armed (FIN_WAIT2 substate gets its FIN), then reset early. */
static void test_timewait_rearm_and_kill(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	ev(t, 40, 0x20000, 0, TD_ESTABLISHED, TD_FIN_WAIT1, 45000, 80, 3);
	ev(t, 40, 0x20000, 1, TD_FIN_WAIT1, TD_FIN_WAIT2, 45000, 80, 0);
	/* orphaned FIN_WAIT2 handed to a timewait socket: no TIME_WAIT yet */
	tw(t, TD_EV_TW_ARM, 40, 2, TD_FIN_WAIT2, false, 45000, 80);
	ev(t, 40, 0x20000, 2, TD_FIN_WAIT2, TD_CLOSE, 45000, 80, 0);
	assert_int_equal(s.ntr, 2);
	/* the peer's FIN: substate TIME_WAIT, timer re-armed */
	tw(t, TD_EV_TW_CANCEL, 40, 10, TD_TIME_WAIT, false, 45000, 80);
	tw(t, TD_EV_TW_ARM, 40, 10, TD_TIME_WAIT, false, 45000, 80);
	assert_int_equal(s.ntr, 3);
	ASSERT_TR(&s, 2, TD_FIN_WAIT2, TD_TIME_WAIT, 9 * MS);
	/* RST: torn down early; no re-arm follows */
	tw(t, TD_EV_TW_CANCEL, 40, 500, TD_TIME_WAIT, false, 45000, 80);
	assert_int_equal(s.ntr, 3); /* not settled yet */
	conntable__advance(t, 1600 * MS);
	assert_int_equal(s.ntr, 4);
	ASSERT_TR(&s, 3, TD_TIME_WAIT, TD_CLOSE, 490 * MS);
	assert_int_equal(s.tr[3].tw_end, CT_TW_RESET);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(s.fin[0].tw_end, CT_TW_RESET);
	conntable__free(t);
}

/* A timewait record with the tuple mkev() gives, cookie 0 (classic tracepoint path)
 * or not, at a timewait socket address of its own (one per local port). */
static void tw_at(struct conntable *t, int kind, uint64_t cookie, uint64_t ms, int sub,
		  uint8_t flags, uint16_t lport, uint16_t rport)
{
	struct td_event e = mkev(cookie, 0xffff0000 + lport, ms, sub, sub, lport, rport, 0);

	e.kind = kind;
	e.flags = flags | (cookie ? 0 : TD_F_NOCOOKIE);
	conntable__apply(t, &e);
}

/* Netns exit tears TIME_WAIT down: known at once from the record, no settling. */
static void test_timewait_netns_exit(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	ev(t, 41, 0x20000, 0, TD_ESTABLISHED, TD_FIN_WAIT1, 45000, 80, 3);
	ev(t, 41, 0x20000, 1, TD_FIN_WAIT1, TD_FIN_WAIT2, 45000, 80, 0);
	tw_at(t, TD_EV_TW_ARM, 41, 2, TD_TIME_WAIT, 0, 45000, 80);
	ev(t, 41, 0x20000, 2, TD_FIN_WAIT2, TD_CLOSE, 45000, 80, 0);
	tw_at(t, TD_EV_TW_CANCEL, 41, 302, TD_TIME_WAIT, TD_F_TW_NETNS_GONE, 45000, 80);
	assert_int_equal(s.ntr, 4);
	ASSERT_TR(&s, 3, TD_TIME_WAIT, TD_CLOSE, 300 * MS);
	assert_int_equal(s.tr[3].tw_end, CT_TW_KILLED);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(s.fin[0].tw_end, CT_TW_KILLED);
	conntable__free(t);
}

/* Without cookies (classic tracepoint) the timewait socket, at another address, is
 * the connection in FIN_WAIT2 with its tuple; the full socket's -> CLOSE after the
 * hand-over ends nothing, and a later connection on the same socket address is new. */
static void test_timewait_no_cookie(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	ev(t, 0, 0x30000, 0, TD_ESTABLISHED, TD_FIN_WAIT1, 45002, 80, 3);
	ev(t, 0, 0x30000, 1, TD_FIN_WAIT1, TD_FIN_WAIT2, 45002, 80, 0);
	/* another connection's timewait (other port): not this one */
	tw_at(t, TD_EV_TW_ARM, 0, 3, TD_TIME_WAIT, 0, 45003, 80);
	tw_at(t, TD_EV_TW_ARM, 0, 5, TD_TIME_WAIT, 0, 45002, 80);
	ev(t, 0, 0x30000, 5, TD_FIN_WAIT2, TD_CLOSE, 45002, 80, 0);
	assert_int_equal(s.ntr, 3);
	ASSERT_TR(&s, 2, TD_FIN_WAIT2, TD_TIME_WAIT, 4 * MS);
	assert_int_equal(s.nfin, 0);
	/* the socket address is reused by a new connection meanwhile */
	ev(t, 0, 0x30000, 100, TD_CLOSE, TD_SYN_SENT, 0, 80, 3);
	tw_at(t, TD_EV_TW_CANCEL, 0, 60005, TD_TIME_WAIT, TD_F_TW_DUE, 45002, 80);
	assert_int_equal(s.ntr, 5);
	ASSERT_TR(&s, 4, TD_TIME_WAIT, TD_CLOSE, 60000 * MS);
	assert_int_equal(s.tr[4].tw_end, CT_TW_EXPIRED);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(s.fin[0].sport, 45002);
	assert_int_equal(s.fin[0].nsteps, 4); /* ESTABLISHED (seen from FIN_WAIT1 on) .. */
	assert_int_equal(s.fin[0].step_state[3], TD_TIME_WAIT);
	assert_int_equal(conntable__stats(t)->gaps, 0);
	conntable__free(t);
}

/* Without cookies, a timewait socket's memory is reused by the next one at once: a
 * record there with another tuple ends the first (it was torn down) and is not its
 * re-arm. */
static void test_timewait_no_cookie_addr_reuse(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);
	struct td_event e;

	(void)state;
	for (int k = 0; k < 2; k++) {
		uint16_t port = 45010 + k;
		uint64_t ms = 10 * k;

		ev(t, 0, 0x31000 + k, ms, TD_ESTABLISHED, TD_FIN_WAIT1, port, 80, 3);
		ev(t, 0, 0x31000 + k, ms + 1, TD_FIN_WAIT1, TD_FIN_WAIT2, port, 80, 0);
		e = mkev(0, 0xffff7000, ms + 2, TD_TIME_WAIT, TD_TIME_WAIT, port, 80, 0);
		e.kind = TD_EV_TW_ARM;
		e.flags = TD_F_NOCOOKIE;
		conntable__apply(t, &e);
		ev(t, 0, 0x31000 + k, ms + 2, TD_FIN_WAIT2, TD_CLOSE, port, 80, 0);
		if (k == 0) {
			/* RST: detached early, the memory is free for the next one */
			e.kind = TD_EV_TW_CANCEL;
			e.ts_ns = (ms + 5) * MS;
			conntable__apply(t, &e);
		}
	}
	/* first: FW1, FW2, TIME_WAIT, CLOSE (reset, settled by the second's arm) */
	assert_int_equal(s.nfin, 1);
	assert_int_equal(s.fin[0].sport, 45010);
	assert_int_equal(s.fin[0].tw_end, CT_TW_RESET);
	/* second: FW1, FW2, TIME_WAIT so far, on its own connection */
	assert_int_equal(s.ntr, 7);
	ASSERT_TR(&s, 6, TD_FIN_WAIT2, TD_TIME_WAIT, 1 * MS);
	assert_int_equal(s.tr_lport[6], 45011);
	conntable__free(t);
}

/* close() orphans the socket: FIN_WAIT2 is handed to a timewait socket, and the
 * peer's FIN re-arms its timer silently (same wheel bucket). The FIN moment is
 * rebuilt from the timer's expiry. */
static void test_timewait_silent_rearm(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	ev(t, 45, 0x21000, 1000, TD_ESTABLISHED, TD_FIN_WAIT1, 45001, 80, 3);
	ev(t, 45, 0x21000, 1001, TD_FIN_WAIT1, TD_FIN_WAIT2, 45001, 80, 0);
	tw_left(t, TD_EV_TW_ARM, 45, 1002, TD_FIN_WAIT2, false, 45001, 80, 60000);
	ev(t, 45, 0x21000, 1002, TD_FIN_WAIT2, TD_CLOSE, 45001, 80, 0);
	/* FIN at 1500 ms: expiry moves to 61500 ms without a record. */
	tw_left(t, TD_EV_TW_CANCEL, 45, 61504, TD_TIME_WAIT, true, 45001, 80, -4);
	assert_int_equal(s.ntr, 4);
	ASSERT_TR(&s, 2, TD_FIN_WAIT2, TD_TIME_WAIT, 499 * MS);
	assert_int_equal(s.tr[2].ts_ns, 1500 * MS);
	ASSERT_TR(&s, 3, TD_TIME_WAIT, TD_CLOSE, 60004 * MS);
	assert_int_equal(s.tr[3].tw_end, CT_TW_EXPIRED);
	conntable__free(t);
}

/* A lookup's answer about the timewait connection with this cookie (or, with
 * cookie 0, the timewait socket at 0xffff0000 + lport), as the edge makes it:
 * found = TD_TIME_WAIT with left_ms, TD_FIN_WAIT2, or TD_CLOSE (gone). */
static void diag(struct conntable *t, uint64_t cookie, uint64_t ms, int found, int32_t left_ms,
		 uint16_t lport, uint16_t rport)
{
	struct td_event e =
	    mkev(cookie, cookie ? 0 : 0xffff0000 + lport, ms, found, found, lport, rport, 0);

	e.kind = TD_EV_TW_DIAG;
	if (found == TD_TIME_WAIT) {
		e.flags |= TD_F_TW_LEFT;
		e.tw_left_ms = left_ms;
	}
	conntable__apply(t, &e);
}

/* A client closes first: FIN_WAIT2 from 1001 ms, its timewait socket in the
 * FIN_WAIT2 substate from 1002 ms, the timer due at 61002 ms. */
static void fin_wait2_substate(struct conntable *t, uint64_t cookie, uint16_t lport)
{
	uint64_t sk = cookie ? 0x21000 + cookie * 64 : 0x31000 + lport * 64u;

	ev(t, cookie, sk, 1000, TD_ESTABLISHED, TD_FIN_WAIT1, lport, 80, 3);
	ev(t, cookie, sk, 1001, TD_FIN_WAIT1, TD_FIN_WAIT2, lport, 80, 0);
	{
		struct td_event e = mkev(cookie, 0xffff0000 + lport, 1002, TD_FIN_WAIT2,
					 TD_FIN_WAIT2, lport, 80, 0);

		e.kind = TD_EV_TW_ARM;
		e.flags = TD_F_TW_LEFT | (cookie ? 0 : TD_F_NOCOOKIE);
		e.tw_left_ms = 60000;
		conntable__apply(t, &e);
	}
	ev(t, cookie, sk, 1002, TD_FIN_WAIT2, TD_CLOSE, lport, 80, 0);
}

static size_t due(struct conntable *t, uint64_t ms, struct ct_tw_query *q, size_t max)
{
	return conntable__tw_due(t, ms * MS, q, max, NULL, NULL);
}

/* The peer's FIN re-armed the timer in its bucket: no record. A lookup finds the
 * TIME_WAIT substate and the new expiry, from which the FIN's moment follows. */
static void test_twdiag_time_wait(void **state)
{
	struct ct_tw_query q[4];
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	fin_wait2_substate(t, 45, 45001);
	assert_int_equal(s.ntr, 2);
	assert_int_equal(due(t, 1500, q, 4), 0); /* not a period in FIN_WAIT2 yet */
	assert_int_equal(due(t, 2002, q, 4), 1);
	assert_int_equal(q[0].cookie, 45);
	assert_int_equal(q[0].sport, 45001);
	assert_int_equal(q[0].dport, 80);
	assert_int_equal(q[0].family, 4);
	assert_int_equal(q[0].saddr[0], 127);
	assert_int_equal(q[0].netns, 4026531840u);
	diag(t, 45, 2003, TD_FIN_WAIT2, 0, 45001, 80); /* still: nothing happens */
	assert_int_equal(s.ntr, 2);
	assert_int_equal(due(t, 2900, q, 4), 0); /* asked within the period */
	assert_int_equal(due(t, 3002, q, 4), 1);
	/* FIN at 2500 ms: expiry 62500 ms, 59490 ms left at 3010 ms. */
	diag(t, 45, 3010, TD_TIME_WAIT, 59490, 45001, 80);
	assert_int_equal(s.ntr, 3);
	ASSERT_TR(&s, 2, TD_FIN_WAIT2, TD_TIME_WAIT, 1499 * MS);
	assert_int_equal(s.tr[2].ts_ns, 2500 * MS);
	assert_int_equal(conntable__stats(t)->tw_diag_tw, 1);
	assert_int_equal(due(t, 10000, q, 4), 0);	   /* in TIME_WAIT: never again */
	diag(t, 45, 3020, TD_TIME_WAIT, 59480, 45001, 80); /* a late duplicate: ignored */
	assert_int_equal(s.ntr, 3);
	/* The timer's end is the usual record. */
	tw_left(t, TD_EV_TW_CANCEL, 45, 62504, TD_TIME_WAIT, true, 45001, 80, -4);
	assert_int_equal(s.ntr, 4);
	ASSERT_TR(&s, 3, TD_TIME_WAIT, TD_CLOSE, 60004 * MS);
	assert_int_equal(s.tr[3].tw_end, CT_TW_EXPIRED);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(s.fin[0].flags & CT_F_GAP, 0);
	conntable__free(t);
}

/* The estimate is clamped: never before the FIN_WAIT2 entry (an expiry a jiffy
 * early), never after the answer (a timer re-armed by a retransmitted FIN). */
static void test_twdiag_clamped(void **state)
{
	struct ct_tw_query q[4];
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	fin_wait2_substate(t, 46, 45002);
	fin_wait2_substate(t, 47, 45003);
	assert_int_equal(due(t, 2002, q, 4), 2);
	/* expiry - 60 s = 1000 ms, before the FIN_WAIT2 entry at 1001 ms */
	diag(t, 46, 2010, TD_TIME_WAIT, 58990, 45002, 80);
	/* expiry - 60 s = 2110 ms, after the answer at 2010 ms */
	diag(t, 47, 2010, TD_TIME_WAIT, 60100, 45003, 80);
	assert_int_equal(s.ntr, 6);
	ASSERT_TR(&s, 4, TD_FIN_WAIT2, TD_TIME_WAIT, 0);
	assert_int_equal(s.tr[4].ts_ns, 1001 * MS);
	ASSERT_TR(&s, 5, TD_FIN_WAIT2, TD_TIME_WAIT, 1009 * MS);
	assert_int_equal(s.tr[5].ts_ns, 2010 * MS);
	conntable__free(t);
}

/* Gone when looked up: its end record was lost. It ends there, counted, with the
 * end unseen; but only once a loss was counted: with every record there, the end's
 * would have come, and the lookup is what failed. An answer about a connection the
 * records ended already, or whose timer was detached and waits to be settled,
 * changes nothing. */
static void test_twdiag_gone(void **state)
{
	struct ct_tw_query q[4];
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	fin_wait2_substate(t, 48, 45004);
	fin_wait2_substate(t, 49, 45005);
	assert_int_equal(due(t, 2002, q, 4), 2);
	diag(t, 48, 2010, TD_CLOSE, 0, 45004, 80);
	assert_int_equal(s.ntr, 4); /* no loss: doubted */
	assert_int_equal(conntable__stats(t)->tw_gone_doubted, 1);
	assert_int_equal(conntable__stats(t)->gaps, 0);
	conntable__mark_loss(t);
	diag(t, 48, 2010, TD_CLOSE, 0, 45004, 80);
	assert_int_equal(s.ntr, 5);
	ASSERT_TR(&s, 4, TD_FIN_WAIT2, TD_CLOSE, CT_DWELL_UNKNOWN);
	assert_int_equal(s.tr[4].tw_end, CT_TW_GONE);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(s.fin[0].tw_end, CT_TW_GONE);
	assert_int_equal(s.fin[0].end_ns, 2010 * MS);
	assert_true(s.fin[0].flags & CT_F_INCOMPLETE);
	assert_int_equal(conntable__stats(t)->tw_gone, 1);
	assert_int_equal(conntable__stats(t)->gaps, 1); /* a chain break: the end is missing */
	assert_int_equal(conntable__stats(t)->live, 1);
	/* Connection 49: an RST tears it down (timer detached, no re-arm) ... */
	tw_left(t, TD_EV_TW_CANCEL, 49, 2005, TD_FIN_WAIT2, false, 45005, 80, 59000);
	diag(t, 49, 2010, TD_CLOSE, 0, 45005, 80); /* ... the records settle it */
	assert_int_equal(s.nfin, 1);
	conntable__advance(t, 3100 * MS);
	assert_int_equal(s.nfin, 2);
	assert_int_equal(s.fin[1].tw_end, CT_TW_RESET);
	diag(t, 49, 3200, TD_CLOSE, 0, 45005, 80); /* gone from the table: nothing */
	assert_int_equal(s.nfin, 2);
	assert_int_equal(conntable__stats(t)->tw_gone, 1);
	assert_int_equal(due(t, 20000, q, 4), 0);
	conntable__free(t);
}

/* At most max per call, the longest waiting first, each at most once a period,
 * and only while a FIN can still re-arm the timer silently: its expiry minus 60 s
 * plus CT_TW_SILENT_NS (here 1002 + 16000 ms), then once more, then never. */
static void test_twdiag_due_bounded(void **state)
{
	struct ct_tw_query q[4];
	struct seen s;
	struct conntable *t = mk(&s, 64);
	int asks = 0;

	(void)state;
	fin_wait2_substate(t, 50, 45006);
	ev(t, 51, 0x40000, 1100, TD_ESTABLISHED, TD_FIN_WAIT1, 45007, 80, 3);
	ev(t, 51, 0x40000, 1101, TD_FIN_WAIT1, TD_FIN_WAIT2, 45007, 80, 0);
	tw_left(t, TD_EV_TW_ARM, 51, 1102, TD_FIN_WAIT2, false, 45007, 80, 60000);
	ev(t, 51, 0x40000, 1102, TD_FIN_WAIT2, TD_CLOSE, 45007, 80, 0);
	assert_int_equal(due(t, 5000, q, 1), 1);
	assert_int_equal(q[0].cookie, 50); /* the older first */
	assert_int_equal(due(t, 5000, q, 1), 1);
	assert_int_equal(q[0].cookie, 51);
	assert_int_equal(due(t, 5000, q, 1), 0);
	for (uint64_t ms = 6000; ms <= 40000; ms += 250) {
		size_t n = due(t, ms, q, 4);

		for (size_t k = 0; k < n; k++)
			asks += q[k].cookie == 50;
	}
	/* 6000, 7000 .. 17000 (the window's end is 17002 ms), then at 17002 */
	assert_int_equal(asks, 13);
	assert_int_equal(conntable__stats(t)->tw_asked, 2 + 13 + 13);
	conntable__free(t);
}

static bool only_init_netns(void *arg, uint32_t netns)
{
	(void)arg;
	return netns == 4026531840u;
}

/* A connection in a namespace no lookup reaches is never handed out: counted. */
static void test_twdiag_unreachable(void **state)
{
	struct ct_tw_query q[4];
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	fin_wait2_substate(t, 52, 45008);
	/* only its timer seen, in another namespace */
	tw_left(t, TD_EV_TW_ARM, 53, 1102, TD_FIN_WAIT2, false, 45009, 80, 60000);
	assert_int_equal(conntable__tw_due(t, 3000 * MS, q, 4, only_init_netns, NULL), 1);
	assert_int_equal(q[0].cookie, 52);
	assert_int_equal(conntable__stats(t)->tw_uncheckable, 1);
	assert_int_equal(conntable__tw_due(t, 5000 * MS, q, 4, only_init_netns, NULL), 1);
	assert_int_equal(conntable__stats(t)->tw_uncheckable, 1); /* once */
	conntable__free(t);
}

/* Without a cookie (classic tracepoint path) the lookup names the tuple and the
 * answer the timewait socket's address: an answer about another tuple there is not
 * this connection's. */
static void test_twdiag_no_cookie(void **state)
{
	struct ct_tw_query q[4];
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	fin_wait2_substate(t, 0, 45010);
	assert_int_equal(s.ntr, 2);
	assert_int_equal(due(t, 2002, q, 4), 1);
	assert_int_equal(q[0].cookie, 0);
	assert_int_equal(q[0].skaddr, 0xffff0000 + 45010);
	assert_int_equal(q[0].sport, 45010);
	{
		struct td_event e =
		    mkev(0, 0xffff0000 + 45010, 2010, TD_CLOSE, TD_CLOSE, 45011, 80, 0);

		e.kind = TD_EV_TW_DIAG;
		conntable__apply(t, &e);
	}
	assert_int_equal(s.nfin, 0);
	diag(t, 0, 2010, TD_TIME_WAIT, 59600, 45010, 80);
	assert_int_equal(s.ntr, 3);
	ASSERT_TR(&s, 2, TD_FIN_WAIT2, TD_TIME_WAIT, 609 * MS);
	conntable__free(t);
}

/* A socket as the reconcile pass's dump reports it: the tuple of mkev()'s records. */
static struct conn dumped(uint64_t cookie, uint16_t lport, uint16_t rport, int state)
{
	struct td_event e = mkev(cookie, 0, 0, state, state, lport, rport, 0);
	struct conn c;

	memset(&c, 0, sizeof(c));
	c.cookie = cookie;
	c.family = e.family;
	c.netns = e.netns;
	memcpy(c.saddr, e.saddr, sizeof(c.saddr));
	memcpy(c.daddr, e.daddr, sizeof(c.daddr));
	c.sport = lport;
	c.dport = rport;
	c.state = state;
	return c;
}

static void mark(struct conntable *t, uint64_t cookie, uint16_t lport, uint16_t rport, int state)
{
	struct conn c = dumped(cookie, lport, rport, state);

	conntable__reconcile_mark(t, &c);
}

/* Open connections the dump finds stay; one it does not find, older than the dump,
 * is ended as gone at the pass's end: CLOSE with its last dwell unknown, counted. */
static void test_reconcile_present_absent(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	ev(t, 1, 0x1000, 1000, TD_CLOSE, TD_SYN_SENT, 40001, 80, 7);
	ev(t, 1, 0x1000, 1001, TD_SYN_SENT, TD_ESTABLISHED, 40001, 80, 0);
	ev(t, 2, 0x2000, 1000, TD_CLOSE, TD_SYN_SENT, 40002, 80, 7);
	ev(t, 2, 0x2000, 1001, TD_SYN_SENT, TD_ESTABLISHED, 40002, 80, 0);
	assert_int_equal(s.ntr, 4);
	conntable__reconcile_begin(t, 2000 * MS);
	mark(t, 1, 40001, 80, TD_ESTABLISHED);
	mark(t, 99, 50000, 443, TD_ESTABLISHED); /* not in the table */
	assert_int_equal(conntable__reconcile_end(t, 2100 * MS, NULL, NULL), 1);
	assert_int_equal(s.ntr, 5);
	assert_int_equal(s.tr_cookie[4], 2);
	assert_int_equal(s.tr[4].old, TD_ESTABLISHED);
	assert_int_equal(s.tr[4].new, TD_CLOSE);
	assert_int_equal(s.tr[4].ts_ns, 2100 * MS);
	assert_true(s.tr[4].dwell_ns == CT_DWELL_UNKNOWN);
	assert_int_equal(s.tr[4].tw_end, CT_TW_NONE);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(s.fin[0].cookie, 2);
	assert_int_equal(s.fin[0].end_ns, 2100 * MS);
	assert_true(s.fin[0].flags & CT_F_GAP);
	assert_true(s.fin[0].flags & CT_F_INCOMPLETE);
	assert_int_equal(conntable__stats(t)->reconciled, 1);
	assert_int_equal(conntable__stats(t)->gaps, 1);
	/* The socket no record showed is adopted, as a seed. */
	assert_int_equal(conntable__stats(t)->adopted, 1);
	assert_int_equal(conntable__stats(t)->live, 2);
	/* The next pass starts afresh: those found before are not found now. */
	conntable__reconcile_begin(t, 3000 * MS);
	assert_int_equal(conntable__reconcile_end(t, 3100 * MS, NULL, NULL), 2);
	assert_int_equal(conntable__stats(t)->reconciled, 3);
	assert_int_equal(conntable__stats(t)->live, 0);
	/* Its later records start a new, incomplete connection. */
	ev(t, 1, 0x1000, 3200, TD_ESTABLISHED, TD_FIN_WAIT1, 40001, 80, 7);
	assert_int_equal(conntable__stats(t)->live, 1);
	conntable__free(t);
}

/* Born, or moved on, after the dump started: the dump may have missed it and its
 * records say it lives. Never ended by that pass. */
static void test_reconcile_born_during_pass(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	ev(t, 1, 0x1000, 1000, TD_CLOSE, TD_SYN_SENT, 40001, 80, 7);
	ev(t, 1, 0x1000, 1001, TD_SYN_SENT, TD_ESTABLISHED, 40001, 80, 0);
	conntable__reconcile_begin(t, 2000 * MS);
	/* Records of the dump's time, applied before its end. */
	ev(t, 3, 0x3000, 2050, TD_CLOSE, TD_SYN_SENT, 40003, 80, 7);
	ev(t, 1, 0x1000, 2060, TD_ESTABLISHED, TD_FIN_WAIT1, 40001, 80, 7);
	assert_int_equal(conntable__reconcile_end(t, 2100 * MS, NULL, NULL), 0);
	assert_int_equal(conntable__stats(t)->live, 2);
	assert_int_equal(s.nfin, 0);
	/* A later pass that still does not find them ends both. */
	conntable__reconcile_begin(t, 3000 * MS);
	assert_int_equal(conntable__reconcile_end(t, 3100 * MS, NULL, NULL), 2);
	assert_int_equal(s.nfin, 2);
	conntable__free(t);
}

/* Without a cookie (classic tracepoint), a connection is found by its tuple, in
 * its namespace and family; the dump's cookie, unknown to the table, is no match. */
static void test_reconcile_no_cookie(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);
	struct conn c;

	(void)state;
	ev(t, 0, 0x1000, 1000, TD_CLOSE, TD_SYN_SENT, 40001, 80, 7);
	ev(t, 0, 0x1000, 1001, TD_SYN_SENT, TD_ESTABLISHED, 40001, 80, 0);
	ev(t, 0, 0x2000, 1000, TD_CLOSE, TD_SYN_SENT, 40002, 80, 7);
	ev(t, 0, 0x2000, 1001, TD_SYN_SENT, TD_ESTABLISHED, 40002, 80, 0);
	ev(t, 0, 0x3000, 1000, TD_CLOSE, TD_SYN_SENT, 40003, 80, 7);
	ev(t, 0, 0x3000, 1001, TD_SYN_SENT, TD_ESTABLISHED, 40003, 80, 0);
	assert_int_equal(conntable__stats(t)->live, 3);
	conntable__reconcile_begin(t, 2000 * MS);
	mark(t, 1234, 40001, 80, TD_ESTABLISHED);
	/* 40002's tuple in another namespace, 40003's reversed: neither is it. */
	c = dumped(1235, 40002, 80, TD_ESTABLISHED);
	c.netns++;
	conntable__reconcile_mark(t, &c);
	mark(t, 1236, 80, 40003, TD_ESTABLISHED);
	assert_int_equal(conntable__reconcile_end(t, 2100 * MS, NULL, NULL), 2);
	assert_int_equal(s.nfin, 2);
	assert_int_equal(s.fin[0].sport + s.fin[1].sport, 40002 + 40003);
	assert_int_equal(conntable__stats(t)->live, 1);
	conntable__free(t);
}

/* A timewait connection the dump does not find ended as gone (tw_end CT_TW_GONE);
 * one it finds stays. */
static void test_reconcile_timewait(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	fin_wait2_substate(t, 5, 45010);
	fin_wait2_substate(t, 6, 45011);
	assert_int_equal(s.ntr, 4);
	assert_int_equal(conntable__stats(t)->live, 2);
	conntable__reconcile_begin(t, 2000 * MS);
	mark(t, 6, 45011, 80, TD_FIN_WAIT2);
	assert_int_equal(conntable__reconcile_end(t, 2100 * MS, NULL, NULL), 1);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(s.fin[0].cookie, 5);
	assert_int_equal(s.fin[0].tw_end, CT_TW_GONE);
	assert_int_equal(s.tr[4].tw_end, CT_TW_GONE);
	assert_int_equal(s.tr[4].old, TD_FIN_WAIT2);
	assert_int_equal(conntable__stats(t)->live, 1);
	/* A timer detached early (a reset, or a re-arm to come) is the records' to settle:
	 * gone from the dump, it is not a lost end. */
	tw(t, TD_EV_TW_CANCEL, 6, 1500, TD_FIN_WAIT2, false, 45011, 80);
	conntable__reconcile_begin(t, 2200 * MS);
	assert_int_equal(conntable__reconcile_end(t, 2300 * MS, NULL, NULL), 0);
	assert_int_equal(conntable__stats(t)->reconciled, 1);
	conntable__free(t);
}

static bool only_other_netns(void *arg, uint32_t netns)
{
	(void)arg;
	return netns != 4026531840u;
}

/* A namespace the dump did not cover keeps its connections; an abandoned pass's
 * marks do not count in the next. */
static void test_reconcile_unreachable_and_restarted(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	ev(t, 1, 0x1000, 1000, TD_CLOSE, TD_SYN_SENT, 40001, 80, 7);
	ev(t, 1, 0x1000, 1001, TD_SYN_SENT, TD_ESTABLISHED, 40001, 80, 0);
	conntable__reconcile_begin(t, 2000 * MS);
	assert_int_equal(conntable__reconcile_end(t, 2100 * MS, only_other_netns, NULL), 0);
	assert_int_equal(conntable__stats(t)->live, 1);
	conntable__reconcile_begin(t, 3000 * MS);
	mark(t, 1, 40001, 80, TD_ESTABLISHED);
	conntable__reconcile_begin(t, 4000 * MS);
	assert_int_equal(conntable__reconcile_end(t, 4100 * MS, NULL, NULL), 1);
	assert_int_equal(conntable__stats(t)->reconcile_passes, 2);
	/* No pass under way: nothing to end. */
	assert_int_equal(conntable__reconcile_end(t, 4200 * MS, NULL, NULL), 0);
	conntable__free(t);
}

/* Found in another state than its records say (a record lost): moved to the dump's
 * state at the time the dump gives, the dwell unknown; a timewait one gets its
 * timewait details, and its timer's end closes it. One that moved on since the
 * dump started is left alone. */
static void test_reconcile_resync(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);
	struct conn d;

	(void)state;
	ev(t, 1, 0x1000, 1000, TD_CLOSE, TD_SYN_SENT, 40001, 80, 7);
	ev(t, 1, 0x1000, 1001, TD_SYN_SENT, TD_ESTABLISHED, 40001, 80, 0);
	ev(t, 2, 0x2000, 1000, TD_CLOSE, TD_SYN_SENT, 40002, 80, 7);
	ev(t, 2, 0x2000, 1001, TD_SYN_SENT, TD_ESTABLISHED, 40002, 80, 0);
	assert_int_equal(s.ntr, 4);
	conntable__reconcile_begin(t, 2000 * MS);
	d = dumped(1, 40001, 80, TD_TIME_WAIT);
	d.flags = CT_F_TW;
	d.tw_substate = TD_TIME_WAIT;
	d.step_ns[0] = 1500 * MS;
	d.tw_deadline_ns = 61500 * MS;
	conntable__reconcile_mark(t, &d);
	mark(t, 2, 40002, 80, TD_FIN_WAIT1);
	ev(t, 2, 0x2000, 2050, TD_ESTABLISHED, TD_FIN_WAIT1, 40002, 80, 7);
	assert_int_equal(s.ntr, 5);
	assert_int_equal(conntable__reconcile_end(t, 2100 * MS, NULL, NULL), 0);
	assert_int_equal(conntable__stats(t)->resynced, 1);
	assert_int_equal(conntable__stats(t)->gaps, 1);
	assert_int_equal(s.ntr, 6);
	assert_int_equal(s.tr_cookie[5], 1);
	assert_int_equal(s.tr[5].old, TD_ESTABLISHED);
	assert_int_equal(s.tr[5].new, TD_TIME_WAIT);
	assert_int_equal(s.tr[5].ts_ns, 1500 * MS);
	assert_true(s.tr[5].dwell_ns == CT_DWELL_UNKNOWN);
	tw(t, TD_EV_TW_CANCEL, 1, 61500, TD_TIME_WAIT, true, 40001, 80);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(s.fin[0].cookie, 1);
	assert_int_equal(s.fin[0].tw_end, CT_TW_EXPIRED);
	assert_int_equal(s.tr[6].old, TD_TIME_WAIT);
	assert_int_equal(s.tr[6].new, TD_CLOSE);
	/* Its TIME_WAIT was entered at an unknown time: no dwell measured across the break. */
	assert_true(s.tr[6].dwell_ns == CT_DWELL_UNKNOWN);
	conntable__free(t);
}

/* A connect() whose record with its local port was lost keeps a partial tuple: it is
 * judged by its own cookie, ended when gone, and completed from the dump when found
 * in another state. */
static void test_reconcile_partial(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	ev(t, 1, 0x1000, 1000, TD_CLOSE, TD_SYN_SENT, 0, 80, 7);
	ev(t, 2, 0x2000, 1000, TD_CLOSE, TD_SYN_SENT, 0, 80, 7);
	assert_int_equal(s.ntr, 2);
	conntable__reconcile_begin(t, 2000 * MS);
	mark(t, 2, 40002, 80, TD_ESTABLISHED);
	assert_int_equal(conntable__reconcile_end(t, 2100 * MS, NULL, NULL), 1);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(s.fin[0].cookie, 1);
	assert_int_equal(conntable__stats(t)->resynced, 1);
	assert_int_equal(s.ntr, 4);
	assert_int_equal(s.tr_cookie[3], 2);
	assert_int_equal(s.tr[3].old, TD_SYN_SENT);
	assert_int_equal(s.tr[3].new, TD_ESTABLISHED);
	assert_int_equal(s.tr_lport[3], 40002);
	conntable__free(t);
}

/* A socket the dump found that ended before the pass's end (its records came after
 * the dump) is not brought back. */
static void test_reconcile_ended_during_pass(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	ev(t, 1, 0x1000, 1000, TD_CLOSE, TD_SYN_SENT, 40001, 80, 7);
	ev(t, 1, 0x1000, 1001, TD_SYN_SENT, TD_ESTABLISHED, 40001, 80, 0);
	conntable__reconcile_begin(t, 2000 * MS);
	mark(t, 1, 40001, 80, TD_FIN_WAIT1); /* its records are still in the buffer */
	mark(t, 2, 40002, 80, TD_SYN_SENT); /* born, records in the buffer too */
	ev(t, 1, 0x1000, 2010, TD_ESTABLISHED, TD_FIN_WAIT1, 40001, 80, 7);
	ev(t, 1, 0x1000, 2020, TD_FIN_WAIT1, TD_CLOSE, 40001, 80, 0);
	ev(t, 2, 0x2000, 1990, TD_CLOSE, TD_SYN_SENT, 40002, 80, 7);
	ev(t, 2, 0x2000, 2030, TD_SYN_SENT, TD_CLOSE, 40002, 80, 0);
	assert_int_equal(conntable__stats(t)->live, 0);
	assert_int_equal(conntable__reconcile_end(t, 2100 * MS, NULL, NULL), 0);
	assert_int_equal(conntable__stats(t)->adopted, 0);
	assert_int_equal(conntable__stats(t)->live, 0);
	conntable__free(t);
}

/* A timewait socket the dump finds in TIME_WAIT while the records leave it in the
 * FIN_WAIT2 substate: the FIN came without a record, as the kernel does when the
 * re-arm stays in its bucket. Taken as a lookup's answer: no chain break, the FIN at
 * the timer's expiry - 60 s. */
static void test_reconcile_silent_time_wait(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);
	struct conn d;

	(void)state;
	fin_wait2_substate(t, 5, 45010);
	assert_int_equal(s.ntr, 2);
	conntable__reconcile_begin(t, 2000 * MS);
	d = dumped(5, 45010, 80, TD_TIME_WAIT);
	d.flags = CT_F_TW;
	d.tw_substate = TD_TIME_WAIT;
	d.step_ns[0] = 1600 * MS;
	d.tw_deadline_ns = 61500 * MS;
	conntable__reconcile_mark(t, &d);
	assert_int_equal(conntable__reconcile_end(t, 2100 * MS, NULL, NULL), 0);
	assert_int_equal(s.ntr, 3);
	ASSERT_TR(&s, 2, TD_FIN_WAIT2, TD_TIME_WAIT, 499 * MS);
	assert_int_equal(conntable__stats(t)->gaps, 0);
	assert_int_equal(conntable__stats(t)->resynced, 1);
	conntable__free(t);
}

/* A seeded timewait socket in the FIN_WAIT2 substate is asked about too; a hidden
 * connection is not. */
static void test_twdiag_seeded_and_hidden(void **state)
{
	struct ct_tw_query q[4];
	struct seen s;
	struct conntable *t = mk(&s, 64);
	struct conn c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.cookie = 60;
	c.state = TD_FIN_WAIT2;
	c.tw_substate = TD_FIN_WAIT2;
	c.flags = CT_F_TW;
	c.family = 4;
	c.sport = 45020;
	c.dport = 80;
	c.step_ns[0] = c.start_ns = 500 * MS;
	c.tw_deadline_ns = 60500 * MS;
	assert_true(conntable__seed(t, &c));
	s.hide_lport = 45021;
	fin_wait2_substate(t, 61, 45021);
	assert_int_equal(due(t, 2002, q, 4), 1);
	assert_int_equal(q[0].cookie, 60);
	diag(t, 60, 2010, TD_TIME_WAIT, 59000, 45020, 80);
	assert_int_equal(s.ntr, 1);
	ASSERT_TR(&s, 0, TD_FIN_WAIT2, TD_TIME_WAIT, 510 * MS);
	assert_int_equal(s.tr[0].dwell_lower_bound, 1);
	conntable__free(t);
}

/* A new SYN on the tuple of a server-side TIME_WAIT: reported as reused. */
static void test_timewait_reused(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	ev(t, 50, 0x30000, 0, TD_ESTABLISHED, TD_FIN_WAIT1, 8080, 40000, 3);
	ev(t, 50, 0x30000, 1, TD_FIN_WAIT1, TD_FIN_WAIT2, 8080, 40000, 0);
	tw(t, TD_EV_TW_ARM, 50, 2, TD_TIME_WAIT, false, 8080, 40000);
	ev(t, 50, 0x30000, 2, TD_FIN_WAIT2, TD_CLOSE, 8080, 40000, 0);
	tw(t, TD_EV_TW_CANCEL, 50, 100, TD_TIME_WAIT, false, 8080, 40000);
	ev(t, 51, 0x30000, 101, TD_LISTEN, TD_SYN_RECV, 8080, 40000, 0);
	/* Settled by the new connection itself, not TW_SETTLE_NS later. */
	assert_int_equal(s.nfin, 1);
	conntable__drain(t);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(s.fin[0].tw_end, CT_TW_REUSED);
	assert_int_equal(conn__step_dwell(&s.fin[0], s.fin[0].nsteps - 1), 98 * MS);
	conntable__free(t);
}

/* --stuck fires once per connection and state, with the dwell so far. */
static void test_stuck(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	conntable__set_stuck(t, TD_CLOSE_WAIT, 1000 * MS);
	ev(t, 60, 0x40000, 1, TD_ESTABLISHED, TD_CLOSE_WAIT, 8080, 40000, 0);
	conntable__advance(t, 900 * MS);
	assert_int_equal(s.nstuck, 0);
	conntable__advance(t, 1001 * MS);
	assert_int_equal(s.nstuck, 1);
	assert_int_equal(s.stuck_state[0], TD_CLOSE_WAIT);
	assert_int_equal(s.stuck_dwell[0], 1000 * MS);
	conntable__advance(t, 5000 * MS);
	assert_int_equal(s.nstuck, 1);
	conntable__free(t);
}

static void count_bad_state(void *arg, const struct conn *c)
{
	int *bad = arg;

	for (int i = 0; i < c->nsteps; i++)
		*bad += c->step_state[i] >= TD_STATE_MAX;
	*bad += c->state >= TD_STATE_MAX;
}

/*
 * Records from a crafted recording: timewait and accept records whose state is
 * outside the kernel's enum are ignored, as state records with one are, so no
 * such value becomes a connection's state (and a shift by it, a --state mask
 * test or an array index).
 */
static void test_out_of_range_states_ignored(void **state)
{
	static const int bad_states[] = { TD_STATE_MAX, 31, 32, 200, 255 };
	struct seen s;
	struct conntable *t = mk(&s, 64);
	int bad = 0;
	struct td_event e;

	(void)state;
	conntable__set_stuck(t, TD_CLOSE_WAIT, 1 * MS);
	for (size_t k = 0; k < sizeof(bad_states) / sizeof(bad_states[0]); k++) {
		uint64_t ck = 700 + k, ms = 10 * (k + 1);

		/* A connection first seen at its accept() or its timewait ... */
		e = mkev(ck, 0x70000 + k, ms, bad_states[k], bad_states[k], 8080, 40000, 9);
		e.kind = TD_EV_ACCEPT;
		conntable__apply(t, &e);
		tw(t, TD_EV_TW_ARM, ck + 100, ms, bad_states[k], false, 5000, 80);
		tw(t, TD_EV_TW_CANCEL, ck + 100, ms + 1, bad_states[k], true, 5000, 80);
		/* ... and one known before it. */
		ev(t, ck + 200, 0x72000 + k, ms, TD_ESTABLISHED, TD_CLOSE_WAIT, 8080, 40000, 0);
		e = mkev(ck + 200, 0x72000 + k, ms + 1, bad_states[k], bad_states[k], 8080, 40000,
			 9);
		e.kind = TD_EV_ACCEPT;
		conntable__apply(t, &e);
		tw(t, TD_EV_TW_ARM, ck + 200, ms + 2, bad_states[k], false, 8080, 40000);
		conntable__advance(t, (ms + 5) * MS);
	}
	conntable__foreach(t, count_bad_state, &bad);
	assert_int_equal(bad, 0);
	for (int i = 0; i < s.ntr && i < 64; i++) {
		assert_true(s.tr[i].old < TD_STATE_MAX);
		assert_true(s.tr[i].new < TD_STATE_MAX);
	}
	for (int i = 0; i < s.nstuck; i++)
		assert_true(s.stuck_state[i] < TD_STATE_MAX);
	conntable__drain(t);
	for (int i = 0; i < s.nfin && i < 16; i++)
		for (int j = 0; j < s.fin[i].nsteps; j++)
			assert_true(s.fin[i].step_state[j] < TD_STATE_MAX);
	conntable__free(t);
}

/* CT_HIDE (an owner filter): tracked, hidden, shown once the filters say so. */
static void test_select_hides(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	s.hide_lport = 45000;
	ev(t, 70, 0x50000, 1, TD_CLOSE, TD_SYN_SENT, 0, 80, 1);
	assert_int_equal(s.ntr, 1); /* nothing undecidable: shown at once, lport 0 */
	assert_int_equal(s.tr_lport[0], 0);
	ev(t, 70, 0x50000, 2, TD_SYN_SENT, TD_ESTABLISHED, 45000, 80, 0);
	assert_int_equal(conntable__stats(t)->live, 1); /* hidden, still tracked */
	s.hide_lport = 0; /* its owner changed: asked again at its next owner record */
	ev(t, 70, 0x50000, 3, TD_ESTABLISHED, TD_FIN_WAIT1, 45000, 80, 2);
	assert_int_equal(s.ntr, 2);
	ASSERT_TR(&s, 1, TD_ESTABLISHED, TD_FIN_WAIT1, 1 * MS);
	conntable__free(t);
}

/*
 * -L 8080 (bug: other clients' CLOSE -> SYN_SENT leaked, and their hidden entries
 * filled the table). A connect() is undecided until its next record brings the local
 * port; rejected then, it is forgotten, and its later records are rejected one by one
 * without taking a slot: a full table of 16 evicts nothing.
 */
static void test_lport_filter_rejects_other_clients(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 16);

	(void)state;
	s.only_lport = 8080;
	ev(t, 1, 0xb000, 1, TD_CLOSE, TD_LISTEN, 8080, 0, 200);
	for (int i = 0; i < 500; i++) {
		uint64_t ck = 1000 + i, sk = 0x100000 + i * 64, ms = 10 + i * 10;

		ev(t, ck, sk, ms, TD_CLOSE, TD_SYN_SENT, 0, 8080, 300);
		assert_int_equal(s.ntr, 1 + i * 3); /* held, not shown */
		ev(t, 5000 + i, 0x900000 + i * 64, ms + 1, TD_LISTEN, TD_SYN_RECV, 8080,
		   40000 + i, 0);
		ev(t, ck, sk, ms + 1, TD_SYN_SENT, TD_ESTABLISHED, 40000 + i, 8080, 0);
		ev(t, 5000 + i, 0x900000 + i * 64, ms + 1, TD_SYN_RECV, TD_ESTABLISHED, 8080,
		   40000 + i, 0);
		ev(t, ck, sk, ms + 2, TD_ESTABLISHED, TD_FIN_WAIT1, 40000 + i, 8080, 300);
		ev(t, 5000 + i, 0x900000 + i * 64, ms + 3, TD_ESTABLISHED, TD_CLOSE, 8080,
		   40000 + i, 200);
		ev(t, ck, sk, ms + 3, TD_FIN_WAIT1, TD_CLOSE, 40000 + i, 8080, 0);
	}
	/* Only the listener's and the server side's transitions. */
	assert_int_equal(s.ntr, 1 + 500 * 3);
	for (int i = 0; i < 64; i++)
		assert_int_equal(s.tr_lport[i], 8080);
	assert_int_equal(s.nfin > 0, 1);
	assert_int_equal(conntable__stats(t)->evicted, 0);
	assert_int_equal(conntable__stats(t)->live, 1); /* the listener */
	/* each client: once when decided, once per later record */
	assert_int_equal(conntable__stats(t)->rejected, 500 * 3);
	conntable__free(t);
}

/* -L with the client's own port: the held CLOSE -> SYN_SENT comes out first, with
 * the real local port, its time and its owner, then the rest in order. */
static void test_lport_filter_selects_held_connect(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	s.only_lport = 45000;
	ev(t, 7, 0xa000, 100, TD_CLOSE, TD_SYN_SENT, 0, 8080, 100);
	assert_int_equal(s.ntr, 0);
	assert_int_equal(conntable__stats(t)->live, 1);
	ev(t, 7, 0xa000, 103, TD_SYN_SENT, TD_ESTABLISHED, 45000, 8080, 0);
	assert_int_equal(s.ntr, 2);
	ASSERT_TR(&s, 0, TD_CLOSE, TD_SYN_SENT, CT_DWELL_UNKNOWN);
	assert_int_equal(s.tr[0].ts_ns, 100 * MS);
	assert_int_equal(s.tr_lport[0], 45000);
	assert_int_equal(s.tr_pid[0], 100);
	ASSERT_TR(&s, 1, TD_SYN_SENT, TD_ESTABLISHED, 3 * MS);
	ev(t, 7, 0xa000, 110, TD_ESTABLISHED, TD_CLOSE, 45000, 8080, 100);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(s.fin[0].nsteps, 2);
	assert_int_equal(s.fin[0].flags & (CT_F_HELD | CT_F_UNDECIDED | CT_F_PARTIAL), 0);
	assert_string_equal(s.order, "TTTF");
	conntable__free(t);
}

/* A refused connect() ends while undecided: decided on its final record. One that
 * ended before a port was chosen has none, and -L cannot match it. */
static void test_undecided_decided_at_end(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	s.only_lport = 41000;
	ev(t, 4, 0xd000, 1, TD_CLOSE, TD_SYN_SENT, 0, 9, 7);
	ev(t, 4, 0xd000, 2, TD_SYN_SENT, TD_CLOSE, 41000, 9, 0);
	assert_int_equal(s.ntr, 2);
	ASSERT_TR(&s, 0, TD_CLOSE, TD_SYN_SENT, CT_DWELL_UNKNOWN);
	ASSERT_TR(&s, 1, TD_SYN_SENT, TD_CLOSE, 1 * MS);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(conn__step_dwell(&s.fin[0], 0), 1 * MS);

	ev(t, 5, 0xd100, 10, TD_CLOSE, TD_SYN_SENT, 0, 9, 7);
	ev(t, 5, 0xd100, 11, TD_SYN_SENT, TD_CLOSE, 0, 9, 7);
	assert_int_equal(s.ntr, 2);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(conntable__stats(t)->live, 0);
	assert_int_equal(conntable__stats(t)->rejected, 1);
	conntable__free(t);
}

/* --stuck SYN_SENT=3s on a held connect(): -R decides at once, so the alert fires
 * on time; -L cannot, so it comes when the port is known, after the held
 * transition and before the one leaving SYN_SENT, with the dwell then. */
static void test_stuck_while_held(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	s.only_rport = 9;
	conntable__set_stuck(t, TD_SYN_SENT, 3000 * MS);
	ev(t, 4, 0xd000, 1000, TD_CLOSE, TD_SYN_SENT, 0, 9, 7);
	assert_int_equal(s.ntr, 1);
	conntable__advance(t, 4000 * MS);
	assert_int_equal(s.nstuck, 1);
	assert_int_equal(s.stuck_dwell[0], 3000 * MS);
	conntable__free(t);

	t = mk(&s, 64);
	s.only_lport = 41000;
	conntable__set_stuck(t, TD_SYN_SENT, 3000 * MS);
	ev(t, 4, 0xd000, 1000, TD_CLOSE, TD_SYN_SENT, 0, 9, 7);
	conntable__advance(t, 4000 * MS);
	assert_int_equal(s.nstuck, 0);
	assert_int_equal(s.ntr, 0);
	ev(t, 4, 0xd000, 5000, TD_SYN_SENT, TD_ESTABLISHED, 41000, 9, 0);
	assert_string_equal(s.order, "TST");
	assert_int_equal(s.stuck_state[0], TD_SYN_SENT);
	assert_int_equal(s.stuck_dwell[0], 4000 * MS);
	ASSERT_TR(&s, 1, TD_SYN_SENT, TD_ESTABLISHED, 4000 * MS);
	conntable__advance(t, 9000 * MS);
	assert_int_equal(s.nstuck, 1);
	/* Rejected when decided: no alert, ever. */
	ev(t, 5, 0xd100, 10000, TD_CLOSE, TD_SYN_SENT, 0, 9, 7);
	conntable__advance(t, 14000 * MS);
	ev(t, 5, 0xd100, 15000, TD_SYN_SENT, TD_ESTABLISHED, 41001, 9, 0);
	assert_int_equal(s.nstuck, 1);
	assert_int_equal(s.ntr, 2);
	conntable__free(t);
}

/* drain: an undecided connect() is decided on what is known (no port: rejected by
 * -L); a decided held child is reported. */
static void test_drain_releases_held(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);
	struct td_event e;

	(void)state;
	s.only_lport = 8080;
	ev(t, 1, 0xb000, 10, TD_CLOSE, TD_LISTEN, 8080, 0, 200);
	ev(t, 4, 0xd000, 11, TD_CLOSE, TD_SYN_SENT, 0, 9, 7);
	e = mkev(0, 0xb200, 20, TD_LISTEN, TD_SYN_RECV, 8080, 0, 0);
	conntable__apply(t, &e);
	assert_int_equal(s.ntr, 1);
	assert_int_equal(conntable__stats(t)->live, 3);
	conntable__drain(t);
	assert_int_equal(s.ntr, 2);
	ASSERT_TR(&s, 1, TD_LISTEN, TD_SYN_RECV, CT_DWELL_UNKNOWN);
	assert_int_equal(conntable__stats(t)->live, 2); /* listener, child */
	assert_int_equal(conntable__stats(t)->rejected, 1);
	conntable__free(t);
}

/*
 * Debian 6.1/6.12: the child's LISTEN -> SYN_RECV carries its listener's tuple
 * (wildcard address, rport 0) and cookie 0. Held until the child's next record,
 * then reported with the child's own tuple and cookie, before that record's.
 */
static void test_synrecv_held_for_child_tuple(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);
	struct td_event e;

	(void)state;
	e = mkev(1, 0xb000, 10, TD_CLOSE, TD_LISTEN, 8080, 0, 200);
	memset(e.saddr, 0, sizeof(e.saddr));
	memset(e.daddr, 0, sizeof(e.daddr));
	conntable__apply(t, &e);
	e = mkev(0, 0xb200, 20, TD_LISTEN, TD_SYN_RECV, 8080, 0, 0);
	memset(e.saddr, 0, sizeof(e.saddr));
	memset(e.daddr, 0, sizeof(e.daddr));
	conntable__apply(t, &e);
	assert_int_equal(s.ntr, 1); /* held */
	ev(t, 9, 0xb200, 21, TD_SYN_RECV, TD_ESTABLISHED, 8080, 40001, 0);
	assert_int_equal(s.ntr, 3);
	ASSERT_TR(&s, 1, TD_LISTEN, TD_SYN_RECV, CT_DWELL_UNKNOWN);
	assert_int_equal(s.tr[1].ts_ns, 20 * MS);
	assert_int_equal(s.tr_cookie[1], 9);
	assert_int_equal(s.tr_rport[1], 40001);
	assert_int_equal(s.tr_laddr0[1], 127);
	assert_int_equal(s.tr_pid[1], 200); /* the listener's owner */
	ASSERT_TR(&s, 2, TD_SYN_RECV, TD_ESTABLISHED, 1 * MS);
	assert_int_equal(s.tr_cookie[2], 9);

	/* The same with the listener's cookie, ending in SYN_RECV (RST). */
	e = mkev(1, 0xb300, 30, TD_LISTEN, TD_SYN_RECV, 8080, 0, 0);
	conntable__apply(t, &e);
	assert_int_equal(s.ntr, 3);
	ev(t, 11, 0xb300, 32, TD_SYN_RECV, TD_CLOSE, 8080, 40002, 0);
	assert_int_equal(s.ntr, 5);
	ASSERT_TR(&s, 3, TD_LISTEN, TD_SYN_RECV, CT_DWELL_UNKNOWN);
	assert_int_equal(s.tr_cookie[3], 11);
	assert_int_equal(s.tr_rport[3], 40002);
	ASSERT_TR(&s, 4, TD_SYN_RECV, TD_CLOSE, 2 * MS);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(s.fin[0].cookie, 11);
	assert_int_equal(conntable__stats(t)->live, 2); /* listener, first child */
	conntable__free(t);
}

/* The classic tracepoint on an older kernel: no cookie at all (TD_F_NOCOOKIE) and the
 * listener's tuple: held for the tuple alone, stitched by socket address. */
static void test_synrecv_held_nocookie(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);
	struct td_event e;

	(void)state;
	s.only_rport = 40001; /* undecidable on the listener's tuple */
	e = mkev(0, 0xb000, 10, TD_CLOSE, TD_LISTEN, 8080, 0, 200);
	e.flags |= TD_F_NOCOOKIE;
	conntable__apply(t, &e);
	e = mkev(0, 0xb200, 20, TD_LISTEN, TD_SYN_RECV, 8080, 0, 0);
	e.flags |= TD_F_NOCOOKIE;
	conntable__apply(t, &e);
	assert_int_equal(s.ntr, 1); /* the listener's only */
	e = mkev(0, 0xb200, 22, TD_SYN_RECV, TD_ESTABLISHED, 8080, 40001, 0);
	e.flags |= TD_F_NOCOOKIE;
	conntable__apply(t, &e);
	assert_int_equal(s.ntr, 3);
	ASSERT_TR(&s, 1, TD_LISTEN, TD_SYN_RECV, CT_DWELL_UNKNOWN);
	assert_int_equal(s.tr_rport[1], 40001);
	assert_int_equal(s.tr_cookie[1], 0);
	ASSERT_TR(&s, 2, TD_SYN_RECV, TD_ESTABLISHED, 2 * MS);
	/* Another child, for another client: rejected once known, and forgotten. */
	e = mkev(0, 0xb300, 30, TD_LISTEN, TD_SYN_RECV, 8080, 0, 0);
	e.flags |= TD_F_NOCOOKIE;
	conntable__apply(t, &e);
	e = mkev(0, 0xb300, 31, TD_SYN_RECV, TD_ESTABLISHED, 8080, 40002, 0);
	e.flags |= TD_F_NOCOOKIE;
	conntable__apply(t, &e);
	assert_int_equal(s.ntr, 3);
	assert_int_equal(conntable__stats(t)->live, 2); /* listener, first child */
	conntable__free(t);
}

/* A held child whose next record does not come: released after CT_HOLD_NS with
 * what is known; one with its full tuple and own cookie (6.18, or the classic
 * tracepoint that has no cookie at all) is not held. */
static void test_synrecv_hold_bounded(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);
	struct td_event e;

	(void)state;
	ev(t, 1, 0xb000, 10, TD_CLOSE, TD_LISTEN, 8080, 0, 200);
	e = mkev(0, 0xb200, 20, TD_LISTEN, TD_SYN_RECV, 8080, 0, 0);
	conntable__apply(t, &e);
	conntable__advance(t, 20 * MS + CT_HOLD_NS - 1);
	assert_int_equal(s.ntr, 1);
	conntable__advance(t, 20 * MS + CT_HOLD_NS);
	assert_int_equal(s.ntr, 2);
	ASSERT_TR(&s, 1, TD_LISTEN, TD_SYN_RECV, CT_DWELL_UNKNOWN);
	assert_int_equal(s.tr_rport[1], 0); /* what was known */
	/* Its next record reports only itself, in order. */
	ev(t, 9, 0xb200, 2000, TD_SYN_RECV, TD_ESTABLISHED, 8080, 40001, 0);
	assert_int_equal(s.ntr, 3);
	ASSERT_TR(&s, 2, TD_SYN_RECV, TD_ESTABLISHED, 1980 * MS);
	assert_int_equal(s.tr_rport[2], 40001);

	e = mkev(0, 0xb400, 3000, TD_LISTEN, TD_SYN_RECV, 8080, 40005, 0);
	e.flags |= TD_F_NOCOOKIE;
	conntable__apply(t, &e);
	assert_int_equal(s.ntr, 4);
	ev(t, 12, 0xb500, 3001, TD_LISTEN, TD_SYN_RECV, 8080, 40006, 0);
	assert_int_equal(s.ntr, 5);
	assert_int_equal(s.tr_cookie[4], 12);
	/* A --stuck alert on a held child releases it first. */
	conntable__set_stuck(t, TD_SYN_RECV, 500 * MS);
	e = mkev(0, 0xb600, 4000, TD_LISTEN, TD_SYN_RECV, 8080, 0, 0);
	conntable__apply(t, &e);
	conntable__advance(t, 4600 * MS);
	assert_int_equal(s.ntr, 6);
	assert_int_equal(s.nstuck, 3); /* this one (most recent first), the two others */
	assert_string_equal(s.order + s.norder - 4, "TSSS");
	conntable__free(t);
}

/* A rejected connection's timewait and accept records, and a rejected seed, take
 * no slot. */
static void test_rejected_takes_no_slot(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);
	struct conn c;

	(void)state;
	s.only_lport = 8080;
	tw(t, TD_EV_TW_ARM, 40, 2, TD_TIME_WAIT, false, 45000, 80);
	accept_ev(t, 41, 0xc000, 3, 5); /* lport 8080: kept */
	ev(t, 42, 0xc100, 4, TD_ESTABLISHED, TD_CLOSE_WAIT, 45001, 80, 0);
	memset(&c, 0, sizeof(c));
	c.cookie = 80;
	c.state = TD_ESTABLISHED;
	c.family = 4;
	c.sport = 45002;
	c.dport = 80;
	c.step_ns[0] = 1 * MS;
	assert_false(conntable__seed(t, &c));
	assert_int_equal(conntable__stats(t)->live, 1);
	assert_int_equal(conntable__stats(t)->rejected, 3);
	conntable__free(t);
}

/* A seeded socket: lower-bound dwell, then complete from the next record on. */
static void test_seeded(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);
	struct conn c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.cookie = 80;
	c.state = TD_CLOSE_WAIT;
	c.family = 4;
	c.sport = 8080;
	c.dport = 40000;
	c.pid = 300;
	c.step_ns[0] = 100 * MS;
	assert_true(conntable__seed(t, &c));
	assert_false(conntable__seed(t, &c)); /* same cookie twice */
	ev(t, 80, 0x60000, 2100, TD_CLOSE_WAIT, TD_LAST_ACK, 8080, 40000, 300);
	assert_int_equal(s.ntr, 1);
	assert_int_equal(s.tr[0].dwell_ns, 2000 * MS);
	assert_int_equal(s.tr[0].dwell_lower_bound, 1);
	ev(t, 80, 0x60000, 2101, TD_LAST_ACK, TD_CLOSE, 8080, 40000, 0);
	assert_int_equal(s.tr[1].dwell_lower_bound, 0);
	assert_int_equal(s.nfin, 1);
	assert_true(s.fin[0].flags & CT_F_SEEDED);
	assert_int_equal(s.fin[0].pid, 300);
	conntable__free(t);
}

/* Index churn: many connections come and go; lookups must stay exact. */
static void test_index_churn(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 1024);

	(void)state;
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 1000; i++) {
			uint64_t ck = round * 1000 + i + 1;

			ev(t, ck, 0x100000 + (i % 300) * 64, round * 10, TD_CLOSE, TD_SYN_SENT, 0,
			   80, 1);
		}
		for (int i = 0; i < 1000; i++) {
			uint64_t ck = round * 1000 + i + 1;

			ev(t, ck, 0x100000 + (i % 300) * 64, round * 10 + 1, TD_SYN_SENT, TD_CLOSE,
			   1000 + i, 80, 0);
		}
	}
	assert_int_equal(s.nfin > 0, 1);
	assert_int_equal(conntable__stats(t)->finished, 20000);
	assert_int_equal(conntable__stats(t)->live, 0);
	assert_int_equal(conntable__stats(t)->gaps, 0);
	conntable__free(t);
}

/* The indexes start small and double as connections come: every connection is
 * still found after several doublings, with deletions (backward shifts) between. */
static void test_index_growth(void **state)
{
	enum { N = 15000 };
	struct seen s;
	struct conntable *t = mk(&s, 20000);
	uint64_t before;

	(void)state;
	for (int i = 0; i < N; i++)
		ev(t, i + 1, 0x200000 + (uint64_t)i * 64, 1, TD_CLOSE, TD_SYN_SENT, 0, 80, 1);
	for (int i = 0; i < N; i++)
		ev(t, i + 1, 0x200000 + (uint64_t)i * 64, 2, TD_SYN_SENT, TD_ESTABLISHED,
		   (uint16_t)(1024 + i % 60000), 80, 0);
	assert_int_equal(conntable__stats(t)->live, N);
	/* Every third one ends: holes all over each index. */
	for (int i = 0; i < N; i += 3)
		ev(t, i + 1, 0x200000 + (uint64_t)i * 64, 3, TD_ESTABLISHED, TD_CLOSE,
		   (uint16_t)(1024 + i % 60000), 80, 0);
	assert_int_equal(conntable__stats(t)->finished, N / 3);
	before = conntable__stats(t)->transitions;
	for (int i = 0; i < N; i++) {
		if (i % 3 == 0)
			continue;
		ev(t, i + 1, 0x200000 + (uint64_t)i * 64, 4, TD_ESTABLISHED, TD_CLOSE_WAIT,
		   (uint16_t)(1024 + i % 60000), 80, 0);
	}
	/* Each found as the connection it is: a state change, no gap, no new entry. */
	assert_int_equal(conntable__stats(t)->transitions - before, N - N / 3);
	assert_int_equal(conntable__stats(t)->gaps, 0);
	assert_int_equal(conntable__stats(t)->live, N - N / 3);
	/* The ended ones' cookies, between the live ones' in the same index lines, are
	 * not found: each record starts a connection of its own. */
	for (int i = 0; i < N; i += 3)
		ev(t, i + 1, 0x200000 + (uint64_t)i * 64, 5, TD_ESTABLISHED, TD_CLOSE_WAIT,
		   (uint16_t)(1024 + i % 60000), 80, 0);
	assert_int_equal(conntable__stats(t)->live, N);
	assert_int_equal(conntable__stats(t)->evicted, 0);
	conntable__free(t);
}

/* The state of the one live connection. */
static void grab_state(void *arg, const struct conn *c)
{
	*(int *)arg = c->state;
}

static int live_state(struct conntable *t)
{
	int st = -1;

	conntable__foreach(t, grab_state, &st);
	return st;
}

/* Every close order the kernel takes, each chain whole: no chain break. */
static void test_whole_chains_no_break(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);
	struct td_event e;

	(void)state;
	/* client first, TIME_WAIT expires */
	ev(t, 1, 0x1000, 1, TD_CLOSE, TD_SYN_SENT, 0, 80, 5);
	ev(t, 1, 0x1000, 2, TD_SYN_SENT, TD_ESTABLISHED, 41000, 80, 0);
	ev(t, 1, 0x1000, 5, TD_ESTABLISHED, TD_FIN_WAIT1, 41000, 80, 5);
	ev(t, 1, 0x1000, 6, TD_FIN_WAIT1, TD_FIN_WAIT2, 41000, 80, 0);
	ev(t, 1, 0x1000, 7, TD_FIN_WAIT2, TD_FIN_WAIT2, 41000, 80, 5); /* close() */
	tw(t, TD_EV_TW_ARM, 1, 8, TD_TIME_WAIT, false, 41000, 80);
	ev(t, 1, 0x1000, 8, TD_FIN_WAIT2, TD_CLOSE, 41000, 80, 0);
	tw(t, TD_EV_TW_CANCEL, 1, 60008, TD_TIME_WAIT, true, 41000, 80);
	/* server first: CLOSE_WAIT, LAST_ACK */
	ev(t, 2, 0x1100, 10, TD_CLOSE, TD_LISTEN, 8080, 0, 6);
	ev(t, 3, 0x1200, 11, TD_LISTEN, TD_SYN_RECV, 8080, 41001, 0);
	ev(t, 3, 0x1200, 12, TD_SYN_RECV, TD_ESTABLISHED, 8080, 41001, 0);
	accept_ev(t, 3, 0x1200, 13, 6);
	ev(t, 3, 0x1200, 20, TD_ESTABLISHED, TD_CLOSE_WAIT, 8080, 41001, 0);
	ev(t, 3, 0x1200, 30, TD_CLOSE_WAIT, TD_LAST_ACK, 8080, 41001, 6);
	ev(t, 3, 0x1200, 31, TD_LAST_ACK, TD_CLOSE, 8080, 41001, 0);
	/* a child reported with its listener's cookie and tuple (older kernels) */
	e = mkev(2, 0x1300, 40, TD_LISTEN, TD_SYN_RECV, 8080, 0, 0);
	conntable__apply(t, &e);
	ev(t, 4, 0x1300, 41, TD_SYN_RECV, TD_ESTABLISHED, 8080, 41002, 0);
	ev(t, 4, 0x1300, 42, TD_ESTABLISHED, TD_CLOSE, 8080, 41002, 0); /* RST */
	/* simultaneous close */
	ev(t, 5, 0x1400, 50, TD_CLOSE, TD_SYN_SENT, 0, 80, 5);
	ev(t, 5, 0x1400, 51, TD_SYN_SENT, TD_ESTABLISHED, 41003, 80, 0);
	ev(t, 5, 0x1400, 52, TD_ESTABLISHED, TD_FIN_WAIT1, 41003, 80, 5);
	ev(t, 5, 0x1400, 53, TD_FIN_WAIT1, TD_CLOSING, 41003, 80, 0);
	tw(t, TD_EV_TW_ARM, 5, 54, TD_TIME_WAIT, false, 41003, 80);
	ev(t, 5, 0x1400, 54, TD_CLOSING, TD_CLOSE, 41003, 80, 0);
	tw(t, TD_EV_TW_CANCEL, 5, 60054, TD_TIME_WAIT, true, 41003, 80);
	/* refused connect */
	ev(t, 6, 0x1500, 60, TD_CLOSE, TD_SYN_SENT, 0, 9, 5);
	ev(t, 6, 0x1500, 61, TD_SYN_SENT, TD_CLOSE, 41004, 9, 0);
	/* the same socket connect()s again (a new life, same cookie) */
	ev(t, 6, 0x1500, 62, TD_CLOSE, TD_SYN_SENT, 0, 80, 5);
	ev(t, 6, 0x1500, 63, TD_SYN_SENT, TD_ESTABLISHED, 41004, 80, 0);
	ev(t, 6, 0x1500, 64, TD_ESTABLISHED, TD_CLOSE, 41004, 80, 5); /* RST sent */
	/* orphan: FIN_WAIT2 substate, the peer's FIN re-arms as TIME_WAIT, then reused */
	ev(t, 7, 0x1600, 70, TD_CLOSE, TD_SYN_SENT, 0, 8080, 5);
	ev(t, 7, 0x1600, 71, TD_SYN_SENT, TD_ESTABLISHED, 41005, 8080, 0);
	ev(t, 7, 0x1600, 72, TD_ESTABLISHED, TD_FIN_WAIT1, 41005, 8080, 5);
	ev(t, 7, 0x1600, 73, TD_FIN_WAIT1, TD_FIN_WAIT2, 41005, 8080, 0);
	tw(t, TD_EV_TW_ARM, 7, 73, TD_FIN_WAIT2, false, 41005, 8080);
	ev(t, 7, 0x1600, 73, TD_FIN_WAIT2, TD_CLOSE, 41005, 8080, 0);
	tw(t, TD_EV_TW_CANCEL, 7, 80, TD_TIME_WAIT, false, 41005, 8080);
	tw(t, TD_EV_TW_ARM, 7, 80, TD_TIME_WAIT, false, 41005, 8080);
	tw(t, TD_EV_TW_CANCEL, 7, 90, TD_TIME_WAIT, false, 41005, 8080);
	ev(t, 8, 0x1700, 90, TD_CLOSE, TD_SYN_SENT, 41005, 8080, 5);
	ev(t, 8, 0x1700, 91, TD_SYN_SENT, TD_ESTABLISHED, 41005, 8080, 0);
	ev(t, 8, 0x1700, 92, TD_ESTABLISHED, TD_CLOSE, 41005, 8080, 5);
	/* classic tracepoint: no cookie, the timewait socket adopted by tuple */
	ev(t, 0, 0x1800, 100, TD_CLOSE, TD_SYN_SENT, 0, 80, 5);
	ev(t, 0, 0x1800, 101, TD_SYN_SENT, TD_ESTABLISHED, 41006, 80, 0);
	ev(t, 0, 0x1800, 102, TD_ESTABLISHED, TD_FIN_WAIT1, 41006, 80, 5);
	ev(t, 0, 0x1800, 103, TD_FIN_WAIT1, TD_FIN_WAIT2, 41006, 80, 0);
	tw_at(t, TD_EV_TW_ARM, 0, 104, TD_TIME_WAIT, 0, 41006, 80);
	ev(t, 0, 0x1800, 104, TD_FIN_WAIT2, TD_CLOSE, 41006, 80, 0);
	ev(t, 0, 0x1800, 105, TD_CLOSE, TD_SYN_SENT, 0, 80, 5); /* the address reused */
	tw_at(t, TD_EV_TW_CANCEL, 0, 60104, TD_TIME_WAIT, TD_F_TW_DUE, 41006, 80);
	ev(t, 0, 0x1800, 60105, TD_SYN_SENT, TD_CLOSE, 41007, 80, 0);
	conntable__drain(t);

	assert_int_equal(conntable__stats(t)->gaps, 0);
	assert_int_equal(s.nfin, 10);
	for (int i = 0; i < s.nfin; i++) {
		assert_int_equal(s.fin[i].flags & (CT_F_GAP | CT_F_INCOMPLETE), 0);
		for (int k = 0; k < s.fin[i].nsteps; k++)
			assert_true(conn__step_dwell(&s.fin[i], k) != CT_DWELL_UNKNOWN);
	}
	assert_int_equal(conntable__stats(t)->live, 1); /* the listener */
	conntable__free(t);
}

/* A state change missing from a connection seen from its birth: counted once, the
 * connection marked, and neither dwell around the hole measured. */
static void test_chain_break_missing_change(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	ev(t, 1, 0x1000, 0, TD_CLOSE, TD_SYN_SENT, 0, 80, 5);
	ev(t, 1, 0x1000, 1, TD_SYN_SENT, TD_ESTABLISHED, 41000, 80, 0);
	ev(t, 1, 0x1000, 10, TD_ESTABLISHED, TD_FIN_WAIT1, 41000, 80, 5);
	/* FIN_WAIT1 -> FIN_WAIT2 lost */
	ev(t, 1, 0x1000, 30, TD_FIN_WAIT2, TD_CLOSE, 41000, 80, 0);
	assert_int_equal(conntable__stats(t)->gaps, 1);
	assert_int_equal(s.ntr, 4);
	ASSERT_TR(&s, 2, TD_ESTABLISHED, TD_FIN_WAIT1, 9 * MS);
	ASSERT_TR(&s, 3, TD_FIN_WAIT2, TD_CLOSE, CT_DWELL_UNKNOWN); /* not 20 ms */
	assert_int_equal(s.nfin, 1);
	assert_int_equal(s.fin[0].flags & (CT_F_GAP | CT_F_INCOMPLETE), CT_F_GAP | CT_F_INCOMPLETE);
	assert_int_equal(s.fin[0].nsteps, 4);
	assert_int_equal(s.fin[0].step_state[2], TD_FIN_WAIT1);
	assert_int_equal(s.fin[0].step_state[3], TD_FIN_WAIT2);
	assert_int_equal(conn__step_dwell(&s.fin[0], 1), 9 * MS);
	assert_int_equal(conn__step_dwell(&s.fin[0], 2), CT_DWELL_UNKNOWN);
	assert_int_equal(conn__step_dwell(&s.fin[0], 3), CT_DWELL_UNKNOWN);
	conntable__free(t);
}

/* old == new (tcp_close_state()) is no change, but it says where the socket is: when
 * that is not where the connection was, the change into it went missing. */
static void test_chain_break_same_state(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	ev(t, 1, 0x1000, 0, TD_CLOSE, TD_SYN_SENT, 0, 80, 5);
	ev(t, 1, 0x1000, 1, TD_SYN_SENT, TD_ESTABLISHED, 41000, 80, 0);
	ev(t, 1, 0x1000, 2, TD_ESTABLISHED, TD_ESTABLISHED, 41000, 80, 5); /* no change */
	assert_int_equal(conntable__stats(t)->gaps, 0);
	/* shutdown()'s ESTABLISHED -> FIN_WAIT1 lost, close()'s FIN_WAIT1 -> FIN_WAIT1 seen */
	ev(t, 1, 0x1000, 10, TD_FIN_WAIT1, TD_FIN_WAIT1, 41000, 80, 5);
	assert_int_equal(conntable__stats(t)->gaps, 1);
	assert_int_equal(conntable__stats(t)->same_state, 2);
	assert_int_equal(live_state(t), TD_FIN_WAIT1);
	assert_int_equal(s.ntr, 2); /* nothing reported for it */
	ev(t, 1, 0x1000, 12, TD_FIN_WAIT1, TD_FIN_WAIT2, 41000, 80, 0);
	assert_int_equal(conntable__stats(t)->gaps, 1); /* counted once */
	ASSERT_TR(&s, 2, TD_FIN_WAIT1, TD_FIN_WAIT2, CT_DWELL_UNKNOWN);
	ev(t, 1, 0x1000, 13, TD_FIN_WAIT2, TD_CLOSE, 41000, 80, 0);
	ASSERT_TR(&s, 3, TD_FIN_WAIT2, TD_CLOSE, 1 * MS);
	assert_int_equal(s.nfin, 1);
	assert_true(s.fin[0].flags & CT_F_GAP);
	assert_int_equal(conn__step_dwell(&s.fin[0], 1), CT_DWELL_UNKNOWN); /* ESTABLISHED */
	conntable__free(t);
}

/* A birth on a connection still alive: its -> CLOSE went missing. The new life is a
 * connection of its own, whole; the old one is marked. */
static void test_chain_break_birth_on_live(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);
	struct td_event e;

	(void)state;
	/* no cookie (classic tracepoint): the socket address comes back */
	ev(t, 0, 0x1000, 0, TD_CLOSE, TD_SYN_SENT, 0, 80, 5);
	ev(t, 0, 0x1000, 1, TD_SYN_SENT, TD_ESTABLISHED, 41000, 80, 0);
	e = mkev(0, 0x1000, 5, TD_CLOSE, TD_SYN_SENT, 0, 81, 5);
	e.flags |= TD_F_NOCOOKIE;
	conntable__apply(t, &e);
	assert_int_equal(conntable__stats(t)->gaps, 1);
	ev(t, 0, 0x1000, 6, TD_SYN_SENT, TD_ESTABLISHED, 41001, 81, 0);
	ev(t, 0, 0x1000, 9, TD_ESTABLISHED, TD_CLOSE, 41001, 81, 5);
	assert_int_equal(conntable__stats(t)->gaps, 1);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(s.fin[0].dport, 81);
	assert_int_equal(s.fin[0].flags & (CT_F_GAP | CT_F_INCOMPLETE), 0);
	assert_int_equal(conn__step_dwell(&s.fin[0], 0), 1 * MS);

	/* with a cookie: the same socket connect()s again */
	ev(t, 2, 0x2000, 20, TD_CLOSE, TD_SYN_SENT, 0, 80, 5);
	ev(t, 2, 0x2000, 21, TD_SYN_SENT, TD_ESTABLISHED, 42000, 80, 0);
	/* ESTABLISHED -> CLOSE (disconnect) lost */
	ev(t, 2, 0x2000, 30, TD_CLOSE, TD_SYN_SENT, 42000, 82, 5);
	assert_int_equal(conntable__stats(t)->gaps, 2);
	ev(t, 2, 0x2000, 32, TD_SYN_SENT, TD_ESTABLISHED, 42000, 82, 0);
	ASSERT_TR(&s, s.ntr - 1, TD_SYN_SENT, TD_ESTABLISHED, 2 * MS);
	ev(t, 2, 0x2000, 33, TD_ESTABLISHED, TD_CLOSE, 42000, 82, 5);
	assert_int_equal(conntable__stats(t)->gaps, 2);
	assert_int_equal(s.nfin, 2);
	assert_int_equal(s.fin[1].dport, 82);
	assert_int_equal(s.fin[1].nsteps, 2);
	assert_int_equal(s.fin[1].flags & (CT_F_GAP | CT_F_INCOMPLETE), 0);
	conntable__free(t);
}

/* Timewait records where the chain cannot lead: each counted once. */
static void test_chain_break_timewait(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);

	(void)state;
	/* armed in the FIN_WAIT2 substate from CLOSING: tcp_time_wait() never does */
	ev(t, 1, 0x1000, 1, TD_ESTABLISHED, TD_FIN_WAIT1, 41000, 80, 5);
	ev(t, 1, 0x1000, 2, TD_FIN_WAIT1, TD_CLOSING, 41000, 80, 0);
	tw(t, TD_EV_TW_ARM, 1, 3, TD_FIN_WAIT2, false, 41000, 80);
	assert_int_equal(conntable__stats(t)->gaps, 1);
	ASSERT_TR(&s, s.ntr - 1, TD_FIN_WAIT1, TD_CLOSING, 1 * MS); /* no CLOSING -> FIN_WAIT2 */
	ev(t, 1, 0x1000, 3, TD_FIN_WAIT2, TD_CLOSE, 41000, 80, 0);
	assert_int_equal(conntable__stats(t)->gaps, 1);

	/* the full socket's hand-over from a state tcp_time_wait() does not run in */
	ev(t, 2, 0x2000, 10, TD_ESTABLISHED, TD_FIN_WAIT1, 41001, 80, 5);
	ev(t, 2, 0x2000, 11, TD_FIN_WAIT1, TD_CLOSING, 41001, 80, 0);
	tw(t, TD_EV_TW_ARM, 2, 12, TD_TIME_WAIT, false, 41001, 80);
	assert_int_equal(conntable__stats(t)->gaps, 1);
	ev(t, 2, 0x2000, 12, TD_ESTABLISHED, TD_CLOSE, 41001, 80, 0);
	assert_int_equal(conntable__stats(t)->gaps, 2);

	/* armed twice with no detach between: the detach is missing */
	ev(t, 3, 0x3000, 20, TD_ESTABLISHED, TD_FIN_WAIT1, 41002, 80, 5);
	ev(t, 3, 0x3000, 21, TD_FIN_WAIT1, TD_FIN_WAIT2, 41002, 80, 0);
	tw(t, TD_EV_TW_ARM, 3, 22, TD_FIN_WAIT2, false, 41002, 80);
	ev(t, 3, 0x3000, 22, TD_FIN_WAIT2, TD_CLOSE, 41002, 80, 0);
	tw_left(t, TD_EV_TW_ARM, 3, 30, TD_TIME_WAIT, false, 41002, 80, 60000);
	assert_int_equal(conntable__stats(t)->gaps, 3);
	ASSERT_TR(&s, s.ntr - 1, TD_FIN_WAIT2, TD_TIME_WAIT, 9 * MS);

	/* detached twice (within TW_SETTLE_NS, while the first waits for its re-arm):
	 * the re-arm between is missing, so the timewait went on; it ends at the
	 * second detach (its netns gone), not as reset at the first */
	tw(t, TD_EV_TW_CANCEL, 3, 40, TD_TIME_WAIT, false, 41002, 80);
	tw_at(t, TD_EV_TW_CANCEL, 3, 500, TD_TIME_WAIT, TD_F_TW_NETNS_GONE, 41002, 80);
	assert_int_equal(conntable__stats(t)->gaps, 4);
	ASSERT_TR(&s, s.ntr - 1, TD_TIME_WAIT, TD_CLOSE, 470 * MS);
	assert_int_equal(s.tr[s.ntr - 1].tw_end, CT_TW_KILLED);
	assert_int_equal(s.nfin, 1);
	assert_int_equal(s.fin[0].cookie, 3);
	assert_int_equal(s.fin[0].flags & (CT_F_GAP | CT_F_INCOMPLETE), CT_F_GAP | CT_F_INCOMPLETE);
	assert_int_equal(conntable__stats(t)->live, 2); /* the first two, in timewait */
	conntable__free(t);
}

/* A seeded socket's state comes from the dump, read while records were already
 * coming: a record that disagrees with it raced the dump. Not a chain break, and
 * no dwell measured from the seed. */
static void test_seed_race_not_a_break(void **state)
{
	struct seen s;
	struct conntable *t = mk(&s, 64);
	struct conn c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.cookie = 80;
	c.state = TD_FIN_WAIT1;
	c.family = 4;
	c.sport = 8080;
	c.dport = 40000;
	c.step_ns[0] = 100 * MS;
	assert_true(conntable__seed(t, &c));
	ev(t, 80, 0x60000, 90, TD_ESTABLISHED, TD_FIN_WAIT1, 8080, 40000, 300);
	assert_int_equal(conntable__stats(t)->gaps, 0);
	ASSERT_TR(&s, 0, TD_ESTABLISHED, TD_FIN_WAIT1, CT_DWELL_UNKNOWN);
	/* from then on, a hole is one */
	ev(t, 80, 0x60000, 200, TD_FIN_WAIT2, TD_CLOSE, 8080, 40000, 0);
	assert_int_equal(conntable__stats(t)->gaps, 1);
	assert_int_equal(s.nfin, 1);
	assert_true(s.fin[0].flags & CT_F_GAP);
	conntable__free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_growth),
		cmocka_unit_test(test_simultaneous_close_closing),
		cmocka_unit_test(test_active_open_close_timewait),
		cmocka_unit_test(test_passive_accept_close_wait),
		cmocka_unit_test(test_accept_wait),
		cmocka_unit_test(test_conn_info),
		cmocka_unit_test(test_same_state_ignored),
		cmocka_unit_test(test_caught_duplicate_dropped),
		cmocka_unit_test(test_rst_and_refused),
		cmocka_unit_test(test_resets),
		cmocka_unit_test(test_resets_off),
		cmocka_unit_test(test_resets_ending_loss),
		cmocka_unit_test(test_resets_ending_evicted),
		cmocka_unit_test(test_listener_cookie_stitched),
		cmocka_unit_test(test_skaddr_reuse_new_cookie),
		cmocka_unit_test(test_incomplete_and_gap),
		cmocka_unit_test(test_gap_before_timewait),
		cmocka_unit_test(test_timewait_first_fin_wait2),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_timewait_rearm_and_kill),
		cmocka_unit_test(test_timewait_netns_exit),
		cmocka_unit_test(test_timewait_no_cookie),
		cmocka_unit_test(test_timewait_no_cookie_addr_reuse),
		cmocka_unit_test(test_timewait_silent_rearm),
		cmocka_unit_test(test_timewait_reused),
		cmocka_unit_test(test_twdiag_time_wait),
		cmocka_unit_test(test_twdiag_clamped),
		cmocka_unit_test(test_twdiag_gone),
		cmocka_unit_test(test_twdiag_due_bounded),
		cmocka_unit_test(test_twdiag_unreachable),
		cmocka_unit_test(test_twdiag_no_cookie),
		cmocka_unit_test(test_twdiag_seeded_and_hidden),
		cmocka_unit_test(test_reconcile_present_absent),
		cmocka_unit_test(test_reconcile_born_during_pass),
		cmocka_unit_test(test_reconcile_no_cookie),
		cmocka_unit_test(test_reconcile_timewait),
		cmocka_unit_test(test_reconcile_resync),
		cmocka_unit_test(test_reconcile_partial),
		cmocka_unit_test(test_reconcile_silent_time_wait),
		cmocka_unit_test(test_reconcile_ended_during_pass),
		cmocka_unit_test(test_reconcile_unreachable_and_restarted),
		cmocka_unit_test(test_stuck),
		cmocka_unit_test(test_out_of_range_states_ignored),
		cmocka_unit_test(test_select_hides),
		cmocka_unit_test(test_lport_filter_rejects_other_clients),
		cmocka_unit_test(test_lport_filter_selects_held_connect),
		cmocka_unit_test(test_undecided_decided_at_end),
		cmocka_unit_test(test_stuck_while_held),
		cmocka_unit_test(test_drain_releases_held),
		cmocka_unit_test(test_synrecv_held_for_child_tuple),
		cmocka_unit_test(test_synrecv_held_nocookie),
		cmocka_unit_test(test_synrecv_hold_bounded),
		cmocka_unit_test(test_rejected_takes_no_slot),
		cmocka_unit_test(test_seeded),
		cmocka_unit_test(test_index_churn),
		cmocka_unit_test(test_whole_chains_no_break),
		cmocka_unit_test(test_chain_break_missing_change),
		cmocka_unit_test(test_chain_break_same_state),
		cmocka_unit_test(test_chain_break_birth_on_live),
		cmocka_unit_test(test_chain_break_timewait),
		cmocka_unit_test(test_seed_race_not_a_break),
	};

	return cmocka_run_group_tests_name("conntable", tests, NULL, NULL);
}
