// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Synthetic recordings (see synth.h): connection lives scripted after what the
 * kernel reports (docs/KERNEL.md, bpf/tcpdwell.bpf.c), interleaved in time
 * order by a heap and written through the recording writer like a recorder would.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "synth.h"

#define US 1000ULL
#define MS 1000000ULL
#define S  1000000000ULL

#define START_NS	  (3600 * S)		/* an hour after boot */
#define REALTIME_AT_START 1700000000000000000LL /* 2023-11-14 22:13:20 UTC */
#define BIRTH_GAP_NS	  (400 * US)		/* birth gaps are uniform in [0, this): 5,000/s */
#define TICK_NS		  (100 * MS)
#define NETNS		  4026531840u		/* the initial network namespace's inode */
#define SK_BASE		  0xffff888100000000ULL /* struct tcp_sock slab (2,432-byte objects) */
#define SK_SIZE		  0x980ULL
#define TW_BASE		  0xffff888200000000ULL /* tw_sock_TCP slab (256-byte objects) */
#define TW_SIZE		  0x100ULL

/* What a life does at one step: one record, or a pause. */
enum act {
	A_CONNECT,	 /* CLOSE -> SYN_SENT in connect(): process context, lport still 0 */
	A_SYNACK,	 /* SYN_SENT -> ESTABLISHED */
	A_REFUSED,	 /* SYN_SENT -> CLOSE: RST answered the SYN */
	A_CHILD,	 /* LISTEN -> SYN_RECV on the new child socket */
	A_CHILD_EST,	 /* SYN_RECV -> ESTABLISHED */
	A_ACCEPT,	 /* accept() returned it: the server's process */
	A_CLOSE,	 /* ESTABLISHED -> FIN_WAIT1 in close() or shutdown() */
	A_CLOSE_AGAIN,	 /* FIN_WAIT1 -> FIN_WAIT1: close() after shutdown() */
	A_FINACK,	 /* FIN_WAIT1 -> FIN_WAIT2 */
	A_TW_ARM,	 /* timewait timer armed, substate TIME_WAIT (tcp_time_wait()) */
	A_TW_ARM_FW2,	 /* timewait timer armed, substate FIN_WAIT2 (orphan hand-off) */
	A_FW2_CLOSE,	 /* FIN_WAIT2 -> CLOSE: the full socket goes (tcp_done()) */
	A_TW_DUE,	 /* timewait timer detached at expiry */
	A_TW_FIN,	 /* the peer's FIN re-arms a FIN_WAIT2 timewait: detach ... */
	A_TW_REARM,	 /* ... and arm again, substate TIME_WAIT */
	A_TW_KILL,	 /* timewait torn down early (RST, tuple reuse) */
	A_PEER_FIN,	 /* ESTABLISHED -> CLOSE_WAIT */
	A_LAST_ACK,	 /* CLOSE_WAIT -> LAST_ACK in close() */
	A_LAST_ACK_DONE, /* LAST_ACK -> CLOSE */
	A_RST,		 /* ESTABLISHED -> CLOSE: reset */
};

/* How long until the next step. */
enum pause {
	D_END,	    /* no next step */
	D_TINY,	    /* the same code path: microseconds */
	D_RTT,	    /* a network round trip */
	D_APP,	    /* the other side's or the application's reaction */
	D_LIFE,	    /* the connection's useful life */
	D_TW,	    /* TCP_TIMEWAIT_LEN plus timer-wheel slack */
	D_PEER_FIN, /* a slow peer's FIN to an orphaned FIN_WAIT2 socket */
	D_TW_KILL,  /* somewhere inside the 60 s */
};

struct step {
	uint8_t act, pause;
};

/* The lives, step by step; each ends with D_END. */
static const struct step active_close[] = {
    {A_CONNECT, D_RTT}, {A_SYNACK, D_LIFE},  {A_CLOSE, D_RTT},	{A_FINACK, D_APP},
    {A_TW_ARM, D_TINY}, {A_FW2_CLOSE, D_TW}, {A_TW_DUE, D_END},
};
static const struct step active_shutdown[] = {
    {A_CONNECT, D_RTT}, {A_SYNACK, D_LIFE}, {A_CLOSE, D_TINY},	 {A_CLOSE_AGAIN, D_RTT},
    {A_FINACK, D_APP},	{A_TW_ARM, D_TINY}, {A_FW2_CLOSE, D_TW}, {A_TW_DUE, D_END},
};
static const struct step active_peer_close[] = {
    {A_CONNECT, D_RTT},	 {A_SYNACK, D_LIFE},	   {A_PEER_FIN, D_APP},
    {A_LAST_ACK, D_RTT}, {A_LAST_ACK_DONE, D_END},
};
static const struct step refused[] = {
    {A_CONNECT, D_RTT},
    {A_REFUSED, D_END},
};
static const struct step reset[] = {
    {A_CONNECT, D_RTT},
    {A_SYNACK, D_LIFE},
    {A_RST, D_END},
};
static const struct step orphan_fin_wait2[] = {
    {A_CONNECT, D_RTT}, {A_SYNACK, D_LIFE},	{A_CLOSE, D_RTT},
    {A_FINACK, D_TINY}, {A_TW_ARM_FW2, D_TINY}, {A_FW2_CLOSE, D_PEER_FIN},
    {A_TW_FIN, D_TINY}, {A_TW_REARM, D_TW},	{A_TW_DUE, D_END},
};
static const struct step timewait_killed[] = {
    {A_CONNECT, D_RTT}, {A_SYNACK, D_LIFE},	  {A_CLOSE, D_RTT},   {A_FINACK, D_APP},
    {A_TW_ARM, D_TINY}, {A_FW2_CLOSE, D_TW_KILL}, {A_TW_KILL, D_END},
};
static const struct step passive_peer_close[] = {
    {A_CHILD, D_RTT},	 {A_CHILD_EST, D_TINY}, {A_ACCEPT, D_LIFE},
    {A_PEER_FIN, D_APP}, {A_LAST_ACK, D_RTT},	{A_LAST_ACK_DONE, D_END},
};
static const struct step passive_close[] = {
    {A_CHILD, D_RTT},  {A_CHILD_EST, D_TINY}, {A_ACCEPT, D_LIFE},  {A_CLOSE, D_RTT},
    {A_FINACK, D_APP}, {A_TW_ARM, D_TINY},    {A_FW2_CLOSE, D_TW}, {A_TW_DUE, D_END},
};

struct plot {
	unsigned weight; /* out of 100 */
	bool passive;
	const struct step *s;
};

static const struct plot plots[] = {
    {30, false, active_close},	    /* client closes first: TIME_WAIT here */
    {5, false, active_shutdown},    /* the same, shutdown(SHUT_WR) then close() */
    {12, false, active_peer_close}, /* server closes first: CLOSE_WAIT, LAST_ACK */
    {4, false, refused},	    /* nobody listens */
    {3, false, reset},		    /* reset while established */
    /* Closed before the peer's FIN: the orphaned FIN_WAIT2 socket hands over to
     * a timewait socket, which the peer's FIN later re-arms into TIME_WAIT. */
    {4, false, orphan_fin_wait2},
    {2, false, timewait_killed},    /* TIME_WAIT cut short */
    {25, true, passive_peer_close}, /* inbound, the client closes first */
    {15, true, passive_close},	    /* inbound, the server closes first */
};

static const char *const clients[] = {"curl", "java", "python3", "envoy"};
static const uint16_t client_dports[] = {443, 80, 5432, 6379};
static const uint16_t server_ports[] = {80, 443};

#define SERVER_PID 1200 /* nginx master: owns the listeners */
#define WORKERS	   4	/* nginx workers 1201..1204 accept */

struct life {
	uint64_t cookie;
	uint64_t sk, tw;   /* socket addresses: full and timewait */
	uint64_t tw_armed; /* when the timewait timer was last armed */
	uint32_t pid;
	uint32_t raddr; /* low bits of the remote address */
	uint16_t lport, rport;
	uint8_t plot, step, family, comm;
	uint32_t next_free;
};

struct hnode {
	uint64_t at;
	uint32_t life;
};

/* Freed socket addresses, reused first, as the slab allocator does
 * (SLAB_TYPESAFE_BY_RCU: the same skaddr in consecutive connections). */
struct addrs {
	uint64_t *v;
	size_t n, cap;
	uint64_t next, base, size;
};

struct synth {
	uint64_t rng;
	struct rec_writer w;
	struct life *lives;
	uint32_t nlives, cap, free_head;
	struct hnode *heap;
	uint32_t nheap;
	struct addrs sks, tws;
	uint64_t cookie;
	uint64_t next_tick;
	struct synth_stats st;
};

#define NIL UINT32_MAX

/* splitmix64: small, fast, and the same sequence everywhere. */
static uint64_t rnd(struct synth *g)
{
	uint64_t z = (g->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t below(struct synth *g, uint64_t n)
{
	return n ? rnd(g) % n : 0;
}

/* Roughly log-uniform in [lo, hi]: latencies spread over decades. */
static uint64_t spread(struct synth *g, uint64_t lo, uint64_t hi)
{
	unsigned octaves = 0;
	uint64_t d;

	while ((lo << (octaves + 1)) <= hi)
		octaves++;
	d = lo << below(g, octaves + 1);
	d += below(g, d);
	return d > hi ? hi : d;
}

static uint64_t pause_ns(struct synth *g, int p)
{
	switch (p) {
	case D_TINY:
		return spread(g, 1 * US, 20 * US);
	case D_RTT:
		return spread(g, 40 * US, 80 * MS);
	case D_APP:
		return spread(g, 20 * US, 200 * MS);
	case D_LIFE:
		return spread(g, 1 * MS, 5 * S);
	case D_TW:
		return TD_TIMEWAIT_LEN_MS * MS + below(g, 1500 * MS);
	case D_PEER_FIN:
		return spread(g, 50 * MS, 10 * S);
	case D_TW_KILL:
		return spread(g, 100 * MS, 59 * S);
	}
	return 0;
}

static uint64_t addr_get(struct addrs *a)
{
	if (a->n)
		return a->v[--a->n];
	return a->base + a->next++ * a->size;
}

static int addr_put(struct addrs *a, uint64_t v)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 1024;
		uint64_t *nv = realloc(a->v, cap * sizeof(*nv));

		if (!nv)
			return -1;
		a->v = nv;
		a->cap = cap;
	}
	a->v[a->n++] = v;
	return 0;
}

static void heap_push(struct synth *g, uint64_t at, uint32_t life)
{
	uint32_t i = g->nheap++;

	while (i) {
		uint32_t up = (i - 1) / 2;

		if (g->heap[up].at <= at)
			break;
		g->heap[i] = g->heap[up];
		i = up;
	}
	g->heap[i].at = at;
	g->heap[i].life = life;
}

static struct hnode heap_pop(struct synth *g)
{
	struct hnode top = g->heap[0], last = g->heap[--g->nheap];
	uint32_t i = 0;

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= g->nheap)
			break;
		if (c + 1 < g->nheap && g->heap[c + 1].at < g->heap[c].at)
			c++;
		if (last.at <= g->heap[c].at)
			break;
		g->heap[i] = g->heap[c];
		i = c;
	}
	if (g->nheap)
		g->heap[i] = last;
	return top;
}

/* A new life in the pool (and room for it in the heap). */
static int life_new(struct synth *g, uint32_t *out)
{
	if (g->free_head == NIL) {
		if (g->nlives == g->cap) {
			uint32_t cap = g->cap ? g->cap * 2 : 4096;
			struct life *nl = realloc(g->lives, cap * sizeof(*nl));
			struct hnode *nh;

			if (!nl)
				return -1;
			g->lives = nl;
			nh = realloc(g->heap, cap * sizeof(*nh));
			if (!nh)
				return -1;
			g->heap = nh;
			g->cap = cap;
		}
		g->lives[g->nlives].next_free = NIL;
		g->free_head = g->nlives++;
	}
	*out = g->free_head;
	g->free_head = g->lives[*out].next_free;
	return 0;
}

static void life_free(struct synth *g, uint32_t i)
{
	g->lives[i].next_free = g->free_head;
	g->free_head = i;
}

static uint8_t pick_plot(struct synth *g)
{
	uint64_t r = below(g, 100);

	for (uint8_t i = 0; i < sizeof(plots) / sizeof(plots[0]); i++) {
		if (r < plots[i].weight)
			return i;
		r -= plots[i].weight;
	}
	return 0;
}

static void born(struct synth *g, struct life *l)
{
	memset(l, 0, sizeof(*l));
	l->plot = pick_plot(g);
	l->family = below(g, 4) ? 4 : 6;
	l->raddr = (uint32_t)rnd(g);
	l->cookie = g->cookie++;
	l->sk = addr_get(&g->sks);
	if (plots[l->plot].passive) {
		l->lport = server_ports[below(g, 2)];
		l->rport = 32768 + below(g, 28232);
		l->pid = SERVER_PID + 1 + below(g, WORKERS);
	} else {
		l->comm = below(g, 4);
		l->lport = 32768 + below(g, 28232);
		l->rport = client_dports[l->comm];
		l->pid = 3100 + 17 * l->comm;
	}
}

static void set_addrs(uint8_t family, uint32_t raddr, uint8_t *local, uint8_t *remote)
{
	if (family == 4) {
		/* 10.1.0.2 here; TEST-NET-2 and -3 (RFC 5737) there. */
		static const uint8_t me[4] = {10, 1, 0, 2};

		memcpy(local, me, 4);
		remote[0] = raddr & 1 ? 198 : 203;
		remote[1] = raddr & 1 ? 51 : 0;
		remote[2] = raddr & 1 ? 100 : 113;
		remote[3] = 1 + (raddr >> 1) % 254;
	} else {
		/* fd00::2 here; the documentation prefix 2001:db8::/32 there. */
		local[0] = 0xfd;
		local[15] = 2;
		remote[0] = 0x20;
		remote[1] = 0x01;
		remote[2] = 0x0d;
		remote[3] = 0xb8;
		for (int i = 0; i < 4; i++)
			remote[12 + i] = raddr >> (8 * i);
	}
}

static void fill(struct td_event *e, const struct life *l, uint64_t at, uint8_t kind, int old,
		 int new, bool proc)
{
	memset(e, 0, sizeof(*e));
	e->ts_ns = at;
	e->kind = kind;
	e->oldstate = old;
	e->newstate = new;
	e->cookie = l->cookie;
	e->skaddr = l->sk;
	e->netns = NETNS;
	e->family = l->family;
	e->sport = l->lport;
	e->dport = l->rport;
	set_addrs(l->family, l->raddr, e->saddr, e->daddr);
	if (proc) {
		e->flags |= TD_F_PROC;
		e->pid = l->pid;
		strncpy(e->comm, plots[l->plot].passive ? "nginx" : clients[l->comm],
			TD_COMM_LEN - 1);
	}
}

/* A timewait timer record as handle_tw() makes it: no owner, the tw socket's
 * address, tw_left_ms from the timer's expiry. */
static void fill_tw(struct td_event *e, const struct life *l, uint64_t at, uint8_t kind, int sub,
		    int64_t left_ms)
{
	fill(e, l, at, kind, sub, sub, false);
	e->skaddr = l->tw;
	e->flags |= TD_F_TW_LEFT;
	e->tw_left_ms = (int32_t)left_ms;
	if (kind == TD_EV_TW_CANCEL && left_ms <= 0)
		e->flags |= TD_F_TW_DUE;
}

static int64_t tw_left(const struct life *l, uint64_t at)
{
	return (int64_t)TD_TIMEWAIT_LEN_MS - (int64_t)((at - l->tw_armed) / MS);
}

/* Make the record of l's current step at time at. */
static void act(struct synth *g, struct life *l, uint64_t at, struct td_event *e)
{
	int a = plots[l->plot].s[l->step].act;

	switch (a) {
	case A_CONNECT:
		fill(e, l, at, TD_EV_STATE, TD_CLOSE, TD_SYN_SENT, true);
		e->sport = 0;
		break;
	case A_SYNACK:
		fill(e, l, at, TD_EV_STATE, TD_SYN_SENT, TD_ESTABLISHED, false);
		break;
	case A_REFUSED:
		fill(e, l, at, TD_EV_STATE, TD_SYN_SENT, TD_CLOSE, false);
		break;
	case A_CHILD:
		fill(e, l, at, TD_EV_STATE, TD_LISTEN, TD_SYN_RECV, false);
		break;
	case A_CHILD_EST:
		fill(e, l, at, TD_EV_STATE, TD_SYN_RECV, TD_ESTABLISHED, false);
		break;
	case A_ACCEPT:
		fill(e, l, at, TD_EV_ACCEPT, TD_ESTABLISHED, TD_ESTABLISHED, true);
		break;
	case A_CLOSE:
		fill(e, l, at, TD_EV_STATE, TD_ESTABLISHED, TD_FIN_WAIT1, true);
		break;
	case A_CLOSE_AGAIN:
		fill(e, l, at, TD_EV_STATE, TD_FIN_WAIT1, TD_FIN_WAIT1, true);
		break;
	case A_FINACK:
		fill(e, l, at, TD_EV_STATE, TD_FIN_WAIT1, TD_FIN_WAIT2, false);
		break;
	case A_TW_ARM:
	case A_TW_ARM_FW2:
		l->tw = addr_get(&g->tws);
		l->tw_armed = at;
		fill_tw(e, l, at, TD_EV_TW_ARM, a == A_TW_ARM ? TD_TIME_WAIT : TD_FIN_WAIT2,
			TD_TIMEWAIT_LEN_MS);
		break;
	case A_FW2_CLOSE:
		fill(e, l, at, TD_EV_STATE, TD_FIN_WAIT2, TD_CLOSE, false);
		break;
	case A_TW_DUE:
	case A_TW_FIN:
	case A_TW_KILL: {
		/* Due: at or past the expiry (the wheel's slack makes it late). Early:
		 * some time left. tcp_timewait_state_process() sets the substate to
		 * TIME_WAIT before rescheduling, so a re-arm's detach reads TIME_WAIT. */
		int64_t left = tw_left(l, at);

		if (a == A_TW_DUE)
			left = left > 0 ? 0 : left;
		else
			left = left < 1 ? 1 : left;
		fill_tw(e, l, at, TD_EV_TW_CANCEL, TD_TIME_WAIT, left);
		break;
	}
	case A_TW_REARM:
		l->tw_armed = at;
		fill_tw(e, l, at, TD_EV_TW_ARM, TD_TIME_WAIT, TD_TIMEWAIT_LEN_MS);
		break;
	case A_PEER_FIN:
		fill(e, l, at, TD_EV_STATE, TD_ESTABLISHED, TD_CLOSE_WAIT, false);
		break;
	case A_LAST_ACK:
		fill(e, l, at, TD_EV_STATE, TD_CLOSE_WAIT, TD_LAST_ACK, true);
		break;
	case A_LAST_ACK_DONE:
		fill(e, l, at, TD_EV_STATE, TD_LAST_ACK, TD_CLOSE, false);
		break;
	case A_RST:
		fill(e, l, at, TD_EV_STATE, TD_ESTABLISHED, TD_CLOSE, false);
		break;
	}
}

/* Socket addresses go back to their slab when the kernel frees the object. */
static int release(struct synth *g, struct life *l, const struct td_event *e)
{
	if (e->kind == TD_EV_STATE && e->newstate == TD_CLOSE)
		return addr_put(&g->sks, l->sk);
	if (e->kind == TD_EV_TW_CANCEL && e->skaddr == l->tw &&
	    plots[l->plot].s[l->step].act != A_TW_FIN)
		return addr_put(&g->tws, l->tw);
	return 0;
}

static int put_ticks(struct synth *g, uint64_t upto)
{
	while (g->next_tick <= upto) {
		if (rec_writer__tick(&g->w, g->next_tick))
			return -1;
		g->st.ticks++;
		g->next_tick += TICK_NS;
	}
	return 0;
}

static int seed_one(struct synth *g, int state, uint16_t lport, uint16_t rport, uint32_t raddr,
		    int family, uint32_t pid, const char *comm, uint64_t since)
{
	uint8_t la[16] = {0}, ra[16] = {0};
	struct conn c;

	memset(&c, 0, sizeof(c));
	set_addrs(family, raddr, la, ra);
	c.cookie = g->cookie++;
	c.state = state;
	c.family = family;
	memcpy(c.saddr, la, 16);
	if (state != TD_LISTEN)
		memcpy(c.daddr, ra, 16);
	c.sport = lport;
	c.dport = state == TD_LISTEN ? 0 : rport;
	c.netns = NETNS;
	c.role = state == TD_LISTEN ? CT_ROLE_LISTEN : CT_ROLE_UNKNOWN;
	c.step_ns[0] = since;
	c.start_ns = since;
	if (state == TD_TIME_WAIT) {
		c.flags |= CT_F_TW;
		c.tw_substate = state;
		c.tw_deadline_ns = since + TD_TIMEWAIT_LEN_MS * MS;
	}
	if (pid) {
		c.pid = pid;
		c.owner_src = CT_OWNER_SEED;
		conn__set_comm(&c, comm);
	}
	g->st.seeds++;
	return rec_writer__seed(&g->w, &c);
}

/* What the socket dump finds at start: the server's listeners, two older
 * sessions, one socket already in TIME_WAIT (entered 20 s before). */
static int seeds(struct synth *g)
{
	for (int fam = 4; fam <= 6; fam += 2)
		for (int i = 0; i < 2; i++)
			if (seed_one(g, TD_LISTEN, server_ports[i], 0, 0, fam, SERVER_PID, "nginx",
				     START_NS))
				return -1;
	if (seed_one(g, TD_ESTABLISHED, 22, 50022, 7, 4, 880, "sshd", START_NS) ||
	    seed_one(g, TD_ESTABLISHED, 22, 50122, 9, 6, 881, "sshd", START_NS) ||
	    seed_one(g, TD_TIME_WAIT, 40000, 443, 11, 4, 0, "", START_NS - 20 * S))
		return -1;
	return 0;
}

static int run(struct synth *g, FILE *f, uint64_t nconns, uint64_t seed)
{
	struct rec_header h;
	uint64_t next_birth = START_NS + 1 * MS, last = START_NS, born_n = 0;
	struct rec_lost lost = {0};
	struct td_event e;

	memset(&h, 0, sizeof(h));
	h.realtime_offset_ns = REALTIME_AT_START - (int64_t)START_NS;
	h.start_ns = START_NS;
	snprintf(h.host, sizeof(h.host), "synth");
	snprintf(h.kernel, sizeof(h.kernel), "6.18.0-synthetic");
	snprintf(h.options, sizeof(h.options), "synth --conns %llu --seed %llu",
		 (unsigned long long)nconns, (unsigned long long)seed);
	g->rng = seed;
	g->free_head = NIL;
	g->cookie = 0x4000;
	g->next_tick = START_NS + TICK_NS;
	g->sks.base = SK_BASE;
	g->sks.size = SK_SIZE;
	g->tws.base = TW_BASE;
	g->tws.size = TW_SIZE;
	if (rec_writer__init(&g->w, f, &h) || seeds(g))
		return -1;

	while (born_n < nconns || g->nheap) {
		struct hnode n;
		struct life *l;
		const struct step *s;
		uint32_t i;

		if (born_n < nconns && (!g->nheap || next_birth <= g->heap[0].at)) {
			if (life_new(g, &i)) {
				errno = ENOMEM;
				return -1;
			}
			born(g, &g->lives[i]);
			heap_push(g, next_birth, i);
			next_birth += 1 + below(g, BIRTH_GAP_NS);
			born_n++;
			continue;
		}
		n = heap_pop(g);
		l = &g->lives[n.life];
		if (put_ticks(g, n.at))
			return -1;
		act(g, l, n.at, &e);
		if (release(g, l, &e)) {
			errno = ENOMEM;
			return -1;
		}
		if (rec_writer__event(&g->w, &e))
			return -1;
		g->st.events++;
		last = n.at;
		s = &plots[l->plot].s[l->step++];
		if (s->pause == D_END) {
			g->st.conns++;
			life_free(g, n.life);
		} else {
			heap_push(g, n.at + pause_ns(g, s->pause), n.life);
		}
	}
	g->st.end_ns = last + 1 * MS;
	if (put_ticks(g, g->st.end_ns))
		return -1;
	lost.ts_ns = g->st.end_ns;
	if (rec_writer__lost(&g->w, &lost) || rec_writer__end(&g->w, g->st.end_ns))
		return -1;
	return 0;
}

int synth__write(FILE *f, uint64_t nconns, uint64_t seed, struct synth_stats *st)
{
	struct synth *g = calloc(1, sizeof(*g));
	int ret, saved;

	if (!g)
		return -1;
	ret = run(g, f, nconns, seed);
	saved = errno;
	g->st.records = g->w.records;
	if (st)
		*st = g->st;
	free(g->lives);
	free(g->heap);
	free(g->sks.v);
	free(g->tws.v);
	free(g);
	errno = saved;
	return ret;
}
