// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The connection table: rebuilds each connection's life from the kernel's
 * records. Connections live in one preallocated array; an open-addressing index
 * maps socket cookies (and socket addresses, and listening ports) to them, and an
 * LRU list picks the victim when the table is full. No per-record allocation.
 * The filters are asked before a connection is stored: rejected ones are never
 * kept, and one whose tuple is not known yet is held (hidden) until it is.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "conntable.h"
#include "hash.h"
#include "names.h"
#include "sat.h"

#define NIL UINT32_MAX

/* Index keys: a socket cookie, a socket address, or a listener's (netns, port). A
 * connection is known by its socket address only while its cookie is not known
 * (classic tracepoint path, a child still under its listener's cookie, a seed
 * without one): the kernel never drops a cookie once a socket has one, and an
 * index entry per connection less is memory and a cache miss per life saved. */
#define SK_COOKIE 0
#define SK_SKADDR 1
#define SK_LISTEN 2
#define SK_TUPLE 3 /* only connections whose timewait timer was detached early */
/* Connections without a cookie (classic tracepoint path) in FIN_WAIT2 or CLOSING, the
 * states tcp_time_wait() starts from, by tuple: how their timewait socket, which has
 * another address, is found (see tw_adopt()). */
#define SK_NCTUPLE 4
#define NKINDS 5

/* How long a timewait timer detached before its expiry may wait for the re-arm
 * that would follow at once, or for a new connection taking its tuple. */
#define TW_SETTLE_NS 1000000000ULL
#define PEND_CAP 65536 /* power of two */
#define HOLD_CAP 65536 /* power of two */
/* Connections whose end waits for an abort's reset (CT_F_ENDING): at CT_RST_WAIT_NS each, a
 * few hundred thousand ends a second fit; when full the oldest ends at once. */
#define ENDING_CAP 4096 /* power of two */

/* Per-slot bookkeeping kept apart from struct conn (which callbacks see), in an
 * array of its own: the LRU list's neighbours of a touched connection are read in
 * it, and dense it stays in cache where the connections do not (measured: with
 * these fields inside the connections' array replay was 5% slower). */
struct slot {
	uint32_t prev, next; /* LRU list, or the free list; NIL-terminated */
	/* CT_F_TW_CANCEL: its entry in pend[]. That entry and the one looked at are
	 * both between pend_head and pend_tail, fewer than PEND_CAP apart: the same
	 * index is the same entry. */
	uint16_t pend;
	uint8_t used;
	uint8_t keys; /* bit per SK_* kind this connection holds in the index */
	uint32_t moved; /* conntable.pushes when it last went to the LRU list's head */
};
_Static_assert(PEND_CAP - 1 <= UINT16_MAX, "struct slot.pend holds an index in pend[]");

/* One open-addressing index per key kind. An entry holds slot + 1 (0 = empty) and
 * the low 32 bits of its key's hash: probes compare the hash first and read the
 * connection only on a match, and deletion finds an entry's home without it (a
 * table larger than the caches makes every connection read a miss). */
struct ix_entry {
	uint32_t v;
	uint32_t hash;
};

struct index {
	struct ix_entry *e;
	uint32_t mask;
	uint32_t count; /* entries in use */
	uint32_t max_mask; /* mask of the largest size it may grow to */
};

/* Each index starts small and doubles when half full, up to twice the table's
 * capacity: a host with a few thousand connections keeps its indexes in cache
 * (every lookup is otherwise a cache miss) and its RSS small. */
#define IX_MIN_SIZE 1024u

/* A timewait connection waiting for a lookup (conntable.twq). */
struct twq_entry {
	uint32_t slot;
	uint64_t start_ns; /* the connection's start_ns: tells it from a later one */
	uint64_t due_ns;
};

/* Cookies of finished connections kept to recognise a catcher's duplicate -> CLOSE. */
#define CLOSED_KEPT 64

/* Cookie-less TD_EV_CONN_STATS records no connection took yet: see tw_handover(). */
#define STATS_PEND 8

struct conntable {
	struct conn *conns;
	bool expect_stats; /* conntable__expect_stats() */
	struct td_event stats_pend[STATS_PEND];
	uint32_t nstats_pend; /* records put in stats_pend, ever (wraps: a ring) */
	struct slot *slots;
	uint32_t cap; /* connections */
	uint32_t fresh; /* slots fresh..cap-1 were never used: not in the free list */
	uint32_t free_head; /* free list through slots[].next: slots used before */
	uint32_t lru_head, lru_tail; /* head = most recently used */
	uint32_t pushes; /* to the LRU list's head, ever (wraps) */
	uint32_t near; /* see touch() */
	struct index index[NKINDS];
	/* Cookies of the last CLOSED_KEPT connections a -> CLOSE record finished: a catcher's
	 * second record of that -> CLOSE finds its connection gone (see apply_state). */
	uint64_t closed[CLOSED_KEPT];
	uint32_t nclosed;
	/* Connections with CT_F_TW_CANCEL, oldest first (records come in time
	 * order). Entries whose connection moved on are skipped when reached. */
	struct {
		uint32_t slot;
		uint64_t ns;
	} pend[PEND_CAP];
	uint32_t pend_head, pend_tail;
	/* When the oldest entry, found to stand, is due (0: look again). Until then
	 * a record need not look at pend[] (most records come while one waits). */
	uint64_t pend_due;
	/* Selected connections whose first transition is held (CT_F_HELD without
	 * CT_F_UNDECIDED), by birth time: released after CT_HOLD_NS at the latest.
	 * Entries whose connection moved on are skipped when reached. */
	struct {
		uint32_t slot;
		uint64_t ns;
	} hold[HOLD_CAP];
	uint32_t hold_head, hold_tail;
	/* Connections with CT_F_ENDING, by when they ended (conntable__expect_resets()). An
	 * entry whose connection ended already (its reset came) is skipped when reached. */
	bool expect_resets;
	struct {
		uint32_t slot;
		uint64_t cookie;
		uint64_t end_ns; /* the connection's, so that a later life of its socket is not it */
	} ending[ENDING_CAP];
	uint32_t ending_head, ending_tail;
	/* Timewait connections in the FIN_WAIT2 substate, by when they are due for a
	 * lookup (conntable__tw_due()); a ring that grows, cap a power of two (0 until
	 * the first). Entries are pushed with due times that grow but for the few ms
	 * records lag the clock, so the head is the oldest to within that. Entries
	 * whose connection moved on are skipped when reached. */
	struct twq_entry *twq;
	uint32_t twq_head, twq_tail, twq_cap;
	uint64_t stuck_ns[TD_STATE_MAX];
	bool any_stuck;
	/* The reconcile pass under way (conntable__reconcile_begin()): its dump's
	 * start, and the tuple hashes of dumped sockets whose cookie was not found. */
	bool rc_active, rc_failed;
	uint64_t rc_start;
	uint64_t *rc_tuples;
	size_t rc_n, rc_cap;
	/* Dumped sockets to settle at the end: known in another state, or unknown. */
	struct conn *rc_socks;
	size_t rc_nsocks, rc_capsocks;
	/* Cookies of the connections that ended during the pass: not adopted again. */
	uint64_t *rc_ended;
	size_t rc_nended, rc_capended;
	struct ct_hooks hooks;
	struct ct_stats stats;
};

/*
 * An index key's hash: one multiply (Fibonacci hashing), taking bits 32-63. Index
 * keys are cookies (a counter), socket addresses (slab strides) and port keys, which
 * it spreads evenly, or tuple hashes, already mixed; every record hashes a few.
 */
static inline uint32_t ix_hash(uint64_t k)
{
	return (uint32_t)((k * 0x9e3779b97f4a7c15ULL) >> 32);
}

/*
 * Cookies come from a counter (per CPU, in batches), and sockets made together,
 * whose records come together, have neighbouring ones: eight neighbours share a
 * home line of the index (the low three bits pick the entry in it), and the lines
 * are spread by the hash of the rest. A burst of connections then finds and adds
 * its entries in a few lines, not one line each.
 */
static inline uint32_t cookie_hash(uint64_t k)
{
	return (ix_hash(k >> 3) & ~7u) | (uint32_t)(k & 7);
}

static inline uint32_t key_hash(int kind, uint64_t k)
{
	return kind == SK_COOKIE ? cookie_hash(k) : ix_hash(k);
}

const char *conn__comm(const struct conn *c)
{
	/* TD_COMM_LEN bytes like every name, for callers that copy them all */
	static const char none[TD_COMM_LEN];

	return c->comm ? names__get(c->comm) : none;
}

void conn__set_comm(struct conn *c, const char *comm)
{
	char name[TD_COMM_LEN] = { 0 };

	for (int i = 0; i < TD_COMM_LEN - 1 && comm[i]; i++)
		name[i] = comm[i];
	c->comm = names__intern(name);
}

static uint64_t tuple_hash(const struct conn *c)
{
	uint64_t h = ((uint64_t)c->netns << 32) ^ ((uint64_t)c->sport << 16) ^ c->dport;

	/* Odd multipliers between the words: the order counts (a reversed tuple is
	 * another key), and one full mix at the end. */
	for (int i = 0; i < 16; i += 8) {
		uint64_t a, b;

		memcpy(&a, c->saddr + i, 8);
		memcpy(&b, c->daddr + i, 8);
		h = (h ^ a) * 0x9e3779b97f4a7c15ULL;
		h = (h ^ b) * 0xc2b2ae3d27d4eb4fULL;
	}
	return mix64(h) ^ c->family;
}

static uint64_t key_of(const struct conn *c, int kind)
{
	if (kind == SK_COOKIE)
		return c->cookie;
	if (kind == SK_SKADDR)
		return c->skaddr;
	if (kind == SK_TUPLE || kind == SK_NCTUPLE)
		return tuple_hash(c);
	return ((uint64_t)c->netns << 16) | c->sport;
}

static uint64_t listen_key(uint32_t netns, uint16_t port)
{
	return ((uint64_t)netns << 16) | port;
}

/* Inlined: nearly every record calls it more than once, with kind a constant that
 * picks key_of()'s branch at compile time, and as a call it spent more on saving
 * registers than on probing (measured: 6% of replay's instructions). */
static inline __attribute__((always_inline)) uint32_t index_find(const struct conntable *t,
								 int kind, uint64_t k)
{
	const struct index *ix = &t->index[kind];
	uint32_t hash = key_hash(kind, k);

	for (uint32_t h = hash & ix->mask;; h = (h + 1) & ix->mask) {
		const struct ix_entry *e = &ix->e[h];

		if (!e->v)
			return NIL;
		if (e->hash == hash && key_of(&t->conns[e->v - 1], kind) == k)
			return e->v - 1;
	}
}

/* Linear probing with backward-shift deletion: no tombstones, so lookups stay
 * short however long the tracer runs. */
static void index_del(struct conntable *t, int kind, uint32_t slot)
{
	struct index *ix = &t->index[kind];
	uint32_t h = key_hash(kind, key_of(&t->conns[slot], kind)) & ix->mask;

	while (ix->e[h].v != slot + 1)
		h = (h + 1) & ix->mask;
	for (uint32_t j = (h + 1) & ix->mask; ix->e[j].v; j = (j + 1) & ix->mask) {
		uint32_t home = ix->e[j].hash & ix->mask;

		/* Entry j may fill the hole unless its home lies cyclically in (h, j]. */
		if (h <= j ? (home > h && home <= j) : (home > h || home <= j))
			continue;
		ix->e[h] = ix->e[j];
		h = j;
	}
	ix->e[h].v = 0;
	ix->count--;
}

/* Doubles ix; false (ix unchanged) when memory is short, which only makes probes
 * longer: the load factor of a full table is then above one half, never one. */
static bool index_grow(struct index *ix)
{
	uint32_t nmask = ix->mask * 2 + 1;
	struct ix_entry *ne = calloc((size_t)nmask + 1, sizeof(*ne));

	if (!ne)
		return false;
	for (uint64_t i = 0; i <= ix->mask; i++) {
		uint32_t h;

		if (!ix->e[i].v)
			continue;
		for (h = ix->e[i].hash & nmask; ne[h].v; h = (h + 1) & nmask)
			;
		ne[h] = ix->e[i];
	}
	free(ix->e);
	ix->e = ne;
	ix->mask = nmask;
	return true;
}

static void key_add(struct conntable *t, uint32_t i, int kind)
{
	struct index *ix = &t->index[kind];
	uint64_t k = key_of(&t->conns[i], kind);
	uint32_t hash = key_hash(kind, k);
	uint32_t other, h;

	if (t->slots[i].keys & (1u << kind))
		return;
	/* A key another connection still holds (a reused socket address, a new
	 * listener on the port) now belongs to this one. */
	other = index_find(t, kind, k);
	if (other != NIL) {
		index_del(t, kind, other);
		t->slots[other].keys &= ~(1u << kind);
	}
	t->slots[i].keys |= 1u << kind;
	if ((uint64_t)(ix->count + 1) * 2 > (uint64_t)ix->mask + 1 && ix->mask < ix->max_mask)
		index_grow(ix);
	for (h = hash & ix->mask; ix->e[h].v; h = (h + 1) & ix->mask)
		;
	ix->e[h] = (struct ix_entry){ .v = i + 1, .hash = hash };
	ix->count++;
}

static void key_drop(struct conntable *t, uint32_t i, int kind)
{
	if (!(t->slots[i].keys & (1u << kind)))
		return;
	index_del(t, kind, i);
	t->slots[i].keys &= ~(1u << kind);
}

static void lru_unlink(struct conntable *t, uint32_t i)
{
	struct slot *s = &t->slots[i];

	if (s->prev != NIL)
		t->slots[s->prev].next = s->next;
	else
		t->lru_head = s->next;
	if (s->next != NIL)
		t->slots[s->next].prev = s->prev;
	else
		t->lru_tail = s->prev;
}

static void lru_push(struct conntable *t, uint32_t i)
{
	struct slot *s = &t->slots[i];

	s->moved = ++t->pushes;
	s->prev = NIL;
	s->next = t->lru_head;
	if (t->lru_head != NIL)
		t->slots[t->lru_head].prev = i;
	t->lru_head = i;
	if (t->lru_tail == NIL)
		t->lru_tail = i;
}

/*
 * A connection that went to the head fewer than t->near pushes ago is still among
 * the first t->near of the list, far from the tail that eviction takes: it is not
 * moved again. Most records come in bursts of one connection's few transitions,
 * and a move reads and writes two neighbours' slots, which are anywhere. Eviction
 * still takes a connection idle the longest, to within t->near newer ones.
 */
static void touch(struct conntable *t, uint32_t i)
{
	if (t->lru_head == i || t->pushes - t->slots[i].moved < t->near)
		return;
	lru_unlink(t, i);
	lru_push(t, i);
}

/* Connection i is no longer waiting; its queue entry, marked here (it was written
 * moments ago, when the timer was detached), is skipped later without a look at
 * the connection, which by then is long out of the cache. */
static void pending_del(struct conntable *t, uint32_t i)
{
	t->pend[t->slots[i].pend].slot = NIL;
	t->pend_due = 0; /* it may be the oldest */
	t->conns[i].flags &= ~(CT_F_TW_CANCEL | CT_F_REUSED_SEEN);
	key_drop(t, i, SK_TUPLE);
}

static void release(struct conntable *t, uint32_t i)
{
	struct conn *c = &t->conns[i];

	key_drop(t, i, SK_COOKIE);
	key_drop(t, i, SK_SKADDR);
	key_drop(t, i, SK_LISTEN);
	key_drop(t, i, SK_NCTUPLE);
	if (c->flags & CT_F_TW_CANCEL)
		pending_del(t, i);
	c->flags &= ~CT_F_TW_CANCEL;
	lru_unlink(t, i);
	t->slots[i].used = 0;
	t->slots[i].next = t->free_head;
	t->free_head = i;
	t->stats.live--;
}

static void end_now(struct conntable *t, uint32_t i);

static uint32_t alloc_slot(struct conntable *t)
{
	uint32_t i = t->free_head;

	/* The slot freed last, whose memory is the likeliest to be in cache; else one
	 * never used: the kernel zeroes its page on first touch, so the table touches
	 * only as much memory as connections were ever live at once. */
	if (i == NIL && t->fresh < t->cap) {
		i = t->fresh++;
	} else {
		if (i == NIL && (t->conns[t->lru_tail].flags & CT_F_ENDING)) {
			/* Full, and the one idle the longest has ended: it ends now, not
			 * waiting for its reset any more (finish() frees its slot). */
			end_now(t, t->lru_tail);
			i = t->free_head;
		} else if (i == NIL) {
			/* Full: drop the connection idle the longest. */
			release(t, t->lru_tail);
			t->stats.evicted++;
			i = t->free_head;
		}
		t->free_head = t->slots[i].next;
	}
	memset(&t->conns[i], 0, sizeof(t->conns[i]));
	t->slots[i].used = 1;
	t->slots[i].keys = 0;
	lru_push(t, i);
	t->stats.live++;
	return i;
}

/*
 * The connection and slot arrays: zeroed pages from the kernel, touched only as
 * slots are used (nothing initialises them, so an idle table costs no memory for
 * them). The connections' on transparent huge pages where the system allows them
 * for whoever asks (a table filling up otherwise takes a page fault every 25
 * connections); the slots', 16 bytes each, need no more than small pages.
 */
static void *big_zalloc(size_t n, bool huge)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	if (huge)
		madvise(p, n, MADV_HUGEPAGE); /* a hint: fine if refused */
#endif
	return p;
}

struct conntable *conntable__new(uint32_t max_conns, const struct ct_hooks *hooks)
{
	struct conntable *t = calloc(1, sizeof(*t));
	uint64_t isize = 16;

	if (!t)
		return NULL;
	if (max_conns < 16)
		max_conns = 16;
	/* Load factor at most 1/2 in each index. */
	while (isize < (uint64_t)max_conns * 2)
		isize <<= 1;
	t->cap = max_conns;
	t->near = max_conns / 8;
	t->conns = big_zalloc((size_t)max_conns * sizeof(*t->conns), true);
	t->slots = big_zalloc((size_t)max_conns * sizeof(*t->slots), false);
	for (int k = 0; k < NKINDS; k++) {
		uint64_t size = isize < IX_MIN_SIZE ? isize : IX_MIN_SIZE;

		t->index[k].e = calloc(size, sizeof(struct ix_entry));
		t->index[k].mask = (uint32_t)(size - 1);
		t->index[k].max_mask = (uint32_t)(isize - 1);
		if (!t->index[k].e) {
			conntable__free(t);
			return NULL;
		}
	}
	if (!t->conns || !t->slots) {
		conntable__free(t);
		return NULL;
	}
	t->free_head = NIL;
	t->lru_head = t->lru_tail = NIL;
	if (hooks)
		t->hooks = *hooks;
	return t;
}

void conntable__free(struct conntable *t)
{
	if (!t)
		return;
	if (t->conns)
		munmap(t->conns, (size_t)t->cap * sizeof(*t->conns));
	if (t->slots)
		munmap(t->slots, (size_t)t->cap * sizeof(*t->slots));
	for (int k = 0; k < NKINDS; k++)
		free(t->index[k].e);
	free(t->twq);
	free(t->rc_tuples);
	free(t->rc_socks);
	free(t->rc_ended);
	free(t);
}

void conntable__set_stuck(struct conntable *t, int state, uint64_t limit_ns)
{
	if (state <= 0 || state >= TD_STATE_MAX)
		return;
	t->stuck_ns[state] = limit_ns;
	t->any_stuck = false;
	for (int s = 0; s < TD_STATE_MAX; s++)
		t->any_stuck |= t->stuck_ns[s] != 0;
}

const struct ct_stats *conntable__stats(const struct conntable *t)
{
	return &t->stats;
}

uint64_t conn__step_dwell(const struct conn *c, int i)
{
	uint64_t from, to;

	if (i < 0 || i >= c->nsteps)
		return CT_DWELL_UNKNOWN;
	from = c->step_ns[i];
	to = i + 1 < c->nsteps ? c->step_ns[i + 1] : c->end_ns;
	if (!from || !to || to < from)
		return CT_DWELL_UNKNOWN;
	return to - from;
}

/* When c was queued for accept(): its ESTABLISHED entry, or a Fast Open child's SYN_RECV
 * entry when that child was accepted before its handshake ended. 0 = not known. */
static uint64_t queued_ns(const struct conn *c, uint64_t accept_ns)
{
	uint64_t syn_recv = 0;

	if (c->role != CT_ROLE_PASSIVE)
		return 0;
	for (int i = 0; i < c->nsteps; i++) {
		uint64_t ns = c->step_ns[i];

		/* A seed's first entry is a lower bound of the real one: no wait from it. */
		if (!ns || (i == 0 && c->lower_bound) || (accept_ns && ns > accept_ns))
			continue;
		if (c->step_state[i] == TD_ESTABLISHED)
			return ns;
		if (c->step_state[i] == TD_SYN_RECV)
			syn_recv = ns;
	}
	return syn_recv;
}

uint64_t conn__accept_wait(const struct conn *c)
{
	uint64_t q;

	if (!c->accept_ns)
		return CT_DWELL_UNKNOWN;
	q = queued_ns(c, c->accept_ns);
	return q ? c->accept_ns - q : CT_DWELL_UNKNOWN;
}

uint64_t conn__unaccepted_since(const struct conn *c)
{
	/* One seen from the middle may have been accepted before tracing began; after lost
	 * records (conntable__mark_loss, a chain break) the accept may be the one lost. */
	if (c->role != CT_ROLE_PASSIVE || c->accept_ns ||
	    (c->flags & (CT_F_SEEDED | CT_F_INCOMPLETE | CT_F_GAP)))
		return 0;
	/* Queued: it became ESTABLISHED (a child that died in SYN_RECV was never queued,
	 * Fast Open aside, which the records do not tell). */
	for (int i = 0; i < c->nsteps; i++)
		if (c->step_state[i] == TD_ESTABLISHED && c->step_ns[i])
			return c->step_ns[i];
	return 0;
}

bool conn__never_accepted(const struct conn *c)
{
	return c->end_ns && conn__unaccepted_since(c);
}

static bool shown(const struct conn *c)
{
	return !(c->flags & CT_F_HIDDEN);
}

/* Ask the filters about c and note the answer in its flags. Returns false if c is
 * not to be kept. A listener is always kept: its children inherit its owner and,
 * on older kernels, arrive under its cookie. */
static bool decide(struct conntable *t, struct conn *c)
{
	enum ct_verdict v = t->hooks.select ? t->hooks.select(t->hooks.arg, c) : CT_SELECT;

	c->flags &= ~(CT_F_HIDDEN | CT_F_UNDECIDED);
	if (v == CT_SELECT)
		return true;
	if (v == CT_UNDECIDED && (c->flags & CT_F_PARTIAL)) {
		c->flags |= CT_F_HIDDEN | CT_F_UNDECIDED;
		return true;
	}
	c->flags |= CT_F_HIDDEN;
	return v != CT_REJECT || c->role == CT_ROLE_LISTEN;
}

static void set_tuple(struct conn *c, const struct td_event *e)
{
	c->family = e->family;
	memcpy(c->saddr, e->saddr, sizeof(c->saddr));
	memcpy(c->daddr, e->daddr, sizeof(c->daddr));
	c->sport = e->sport;
	c->dport = e->dport;
	c->netns = e->netns;
	if (e->cgroup)
		c->cgroup = e->cgroup;
}

/* The name a record named last: most come from one process. */
static uint16_t last_comm;

static void set_owner(struct conn *c, const struct td_event *e, uint8_t src)
{
	c->pid = e->pid;
	/* Names are never forgotten, so a number once given stays right. */
	if (last_comm && !memcmp(e->comm, names__get(last_comm), TD_COMM_LEN)) {
		c->comm = last_comm;
	} else {
		conn__set_comm(c, e->comm);
		if (c->comm)
			last_comm = c->comm;
	}
	c->owner_src = src;
}

/* Append a state entered at ts (0 = unknown). A full timeline keeps its first
 * states and lets the last slot follow the connection. */
static void push_step(struct conn *c, uint8_t state, uint64_t ts)
{
	if (c->nsteps == CT_MAX_STEPS) {
		c->flags |= CT_F_TRUNCATED;
		c->nsteps--;
	}
	c->step_state[c->nsteps] = state;
	c->step_ns[c->nsteps] = ts;
	c->nsteps++;
	c->state = state;
}

static uint64_t current_enter(const struct conn *c)
{
	return c->nsteps ? c->step_ns[c->nsteps - 1] : 0;
}

/* A seeded connection no record has moved yet: its state is the socket dump's, read
 * while records were already coming, so a record that disagrees with it raced the
 * dump rather than followed a lost one. */
static bool fresh_seed(const struct conn *c)
{
	return (c->flags & CT_F_SEEDED) && c->nsteps == 1;
}

/* A record shows that c's chain of states is broken: one or more of its records
 * are missing. Counted once per such record. */
static void chain_break(struct conntable *t, struct conn *c)
{
	c->flags |= CT_F_GAP | CT_F_INCOMPLETE;
	t->stats.gaps++;
}

/*
 * A record shows c in state, which is not where c was: the change into state went
 * missing (a chain break, unless c is a seed the record raced). state is entered at
 * an unknown time, so no dwell is measured across the gap: not state's (its entry
 * was not seen), nor the earlier state's (its end was not seen).
 */
static void chain_repair(struct conntable *t, struct conn *c, uint8_t state)
{
	if (fresh_seed(c))
		c->flags |= CT_F_INCOMPLETE;
	else
		chain_break(t, c);
	push_step(c, state, 0);
}

/* Report old -> new at ts and make new the current state. */
static void change_state(struct conntable *t, struct conn *c, uint8_t old, uint8_t new, uint64_t ts,
			 uint8_t tw_end)
{
	struct ct_transition tr = {
		.ts_ns = ts,
		.old = old,
		.new = new,
		.tw_end = tw_end,
		.dwell_ns = CT_DWELL_UNKNOWN,
	};
	uint64_t enter = current_enter(c);

	if (c->state == old && enter && ts >= enter) {
		tr.dwell_ns = ts - enter;
		tr.dwell_lower_bound = c->nsteps == 1 && c->lower_bound;
	}
	if (new == TD_CLOSE) {
		c->end_ns = ts;
		c->state = TD_CLOSE;
	} else {
		push_step(c, new, ts);
	}
	t->stats.transitions++;
	if (shown(c) && !(c->flags & CT_F_HELD) && t->hooks.transition)
		t->hooks.transition(t->hooks.arg, c, &tr);
}

/* During a reconcile pass, remember that the connection with cookie ended: the
 * dump may have found it alive, and must not bring it back. */
static void rc_note_end(struct conntable *t, uint64_t cookie)
{
	if (t->rc_nended == t->rc_capended) {
		size_t cap = t->rc_capended ? t->rc_capended * 2 : 256;
		uint64_t *v = realloc(t->rc_ended, cap * sizeof(*v));

		if (!v) {
			t->rc_failed = true;
			return;
		}
		t->rc_ended = v;
		t->rc_capended = cap;
	}
	t->rc_ended[t->rc_nended++] = cookie;
}

/* The connection reached its final CLOSE: report it and free its slot. */
static void finish(struct conntable *t, uint32_t i)
{
	struct conn *c = &t->conns[i];

	if (t->rc_active && c->cookie)
		rc_note_end(t, c->cookie);
	t->stats.finished++;
	if (c->cookie)
		t->closed[t->nclosed++ % CLOSED_KEPT] = c->cookie;
	if (shown(c) && t->hooks.finished)
		t->hooks.finished(t->hooks.arg, c);
	release(t, i);
}

/* Can an abort send a reset after a -> CLOSE from state old (tcp_need_reset(), and data that
 * comes after close() in FIN_WAIT1/FIN_WAIT2 or later)? */
static bool abortable(uint8_t old)
{
	return old == TD_SYN_RECV || old == TD_ESTABLISHED || old == TD_CLOSE_WAIT ||
	       old == TD_FIN_WAIT1 || old == TD_FIN_WAIT2 || old == TD_CLOSING || old == TD_LAST_ACK;
}

/* An ending connection ends now: no reset is waited for any more. */
static void end_now(struct conntable *t, uint32_t i)
{
	t->conns[i].flags &= ~CT_F_ENDING;
	finish(t, i);
}

/* Does FIFO entry h still stand for the ending connection it was pushed for? */
static bool ending_stands(const struct conntable *t, uint32_t h)
{
	const struct conn *c = &t->conns[t->ending[h].slot];

	return t->slots[t->ending[h].slot].used && c->cookie == t->ending[h].cookie &&
	       c->end_ns == t->ending[h].end_ns && (c->flags & CT_F_ENDING);
}

/* Connection i went to CLOSE from old: it ends now, or (CT_F_ENDING) once its reset came or
 * CT_RST_WAIT_NS later. One that received a reset waits too: data that comes after close()
 * aborts a socket in FIN_WAIT1 or FIN_WAIT2 through tcp_reset(), which traces a received
 * reset, and then the reset it sends follows. Known by its cookie alone meanwhile: its
 * socket's memory may serve a new socket at once. */
static void end_conn(struct conntable *t, uint32_t i, uint8_t old)
{
	struct conn *c = &t->conns[i];
	uint32_t h;

	if (!t->expect_resets || !c->cookie || c->rst == CT_RST_SENT || !abortable(old)) {
		finish(t, i);
		return;
	}
	if (t->ending_tail - t->ending_head == ENDING_CAP) {
		h = t->ending_head++ & (ENDING_CAP - 1);
		if (ending_stands(t, h))
			end_now(t, t->ending[h].slot);
	}
	c->flags |= CT_F_ENDING;
	key_drop(t, i, SK_SKADDR);
	key_drop(t, i, SK_NCTUPLE);
	h = t->ending_tail++ & (ENDING_CAP - 1);
	t->ending[h].slot = i;
	t->ending[h].cookie = c->cookie;
	t->ending[h].end_ns = c->end_ns;
}

/* End the connections whose wait for a reset is over by now. */
static void settle_ending(struct conntable *t, uint64_t now)
{
	while (t->ending_head != t->ending_tail) {
		uint32_t h = t->ending_head & (ENDING_CAP - 1);

		/* The entries' own times first: most records come while the oldest waits,
		 * and they need not touch its connection. Entries are in end order. */
		if (now < t->ending[h].end_ns + CT_RST_WAIT_NS)
			return;
		if (ending_stands(t, h))
			end_now(t, t->ending[h].slot);
		t->ending_head++;
	}
}

/* i as a record other than a reset finds it: an ending connection ends first (a new life of
 * its socket, a late record), and is no longer there. */
static uint32_t not_ending(struct conntable *t, uint32_t i)
{
	if (i == NIL || !(t->conns[i].flags & CT_F_ENDING))
		return i;
	end_now(t, i);
	return NIL;
}

/* A connection as a record first shows it, not stored yet. */
static void conn_from(struct conn *c, const struct td_event *e)
{
	memset(c, 0, sizeof(*c));
	c->cookie = e->cookie;
	c->skaddr = e->skaddr;
	c->start_ns = e->ts_ns;
	set_tuple(c, e);
}

/* Store connection n unless the filters reject it: a rejected connection takes no
 * slot (and so evicts nobody). Returns its slot, or NIL. */
static uint32_t admit(struct conntable *t, struct conn *n)
{
	uint32_t i;

	if (!decide(t, n)) {
		t->stats.rejected++;
		return NIL;
	}
	i = alloc_slot(t);
	t->conns[i] = *n;
	if (n->cookie)
		key_add(t, i, SK_COOKIE);
	else
		key_add(t, i, SK_SKADDR);
	return i;
}

/* Forget a connection the filters rejected once its tuple was known. */
static void drop(struct conntable *t, uint32_t i)
{
	t->stats.rejected++;
	release(t, i);
}

/* Fire the --stuck alert for c's current state if due at now (0: not checked). */
static void check_stuck(struct conntable *t, struct conn *c, uint64_t now)
{
	uint64_t limit = t->stuck_ns[c->state < TD_STATE_MAX ? c->state : 0];
	uint64_t enter = current_enter(c);

	if (!limit || !enter || now < enter || now - enter < limit)
		return;
	if (c->stuck_reported & (1u << c->state))
		return;
	c->stuck_reported |= 1u << c->state;
	if (shown(c) && t->hooks.stuck)
		t->hooks.stuck(t->hooks.arg, c, c->state, now - enter);
}

/*
 * Report a held first transition (CLOSE -> SYN_SENT or LISTEN -> SYN_RECV) with
 * what is known now: nothing else happened to the connection since (every record
 * releases it before applying its own transition), so it is its only step. Then
 * the --stuck alert an undecided connection could not have yet, as of now.
 */
static void release_held(struct conntable *t, struct conn *c, uint64_t now)
{
	struct ct_transition tr = {
		.ts_ns = c->step_ns[0],
		.dwell_ns = CT_DWELL_UNKNOWN,
		.old = c->role == CT_ROLE_PASSIVE ? TD_LISTEN : TD_CLOSE,
		.new = c->step_state[0],
	};

	c->flags &= ~CT_F_HELD;
	if (shown(c) && c->nsteps == 1 && t->hooks.transition)
		t->hooks.transition(t->hooks.arg, c, &tr);
	check_stuck(t, c, now);
}

/* Release what waited longer than CT_HOLD_NS (or everything when full). */
static void settle_held(struct conntable *t, uint64_t now)
{
	while (t->hold_head != t->hold_tail) {
		uint32_t h = t->hold_head & (HOLD_CAP - 1), i = t->hold[h].slot;
		struct conn *c = &t->conns[i];

		if (t->slots[i].used && (c->flags & CT_F_HELD) && c->step_ns[0] == t->hold[h].ns) {
			if (now < t->hold[h].ns + CT_HOLD_NS)
				return;
			release_held(t, c, now);
		}
		t->hold_head++;
	}
}

static void hold_push(struct conntable *t, uint32_t i)
{
	uint32_t h;

	if (t->hold_tail - t->hold_head == HOLD_CAP) {
		h = t->hold_head & (HOLD_CAP - 1);
		if (t->slots[t->hold[h].slot].used && (t->conns[t->hold[h].slot].flags & CT_F_HELD))
			release_held(t, &t->conns[t->hold[h].slot], 0);
		t->hold_head++;
	}
	h = t->hold_tail++ & (HOLD_CAP - 1);
	t->hold[h].slot = i;
	t->hold[h].ns = t->conns[i].step_ns[0];
}

/*
 * A FIN turned a FIN_WAIT2 timewait socket into TIME_WAIT. The kernel re-arms
 * the timer to FIN + TCP_TIMEWAIT_LEN, often without a tracepoint (same wheel
 * bucket), so the moment is the timer's expiry minus 60 s, as of the record
 * that showed the new substate. Without that expiry the moment is unknown.
 */
static void tw_fin_seen(struct conntable *t, struct conn *c, uint64_t ts)
{
	uint64_t at = 0, enter = current_enter(c);

	if (c->tw_deadline_ns > (uint64_t)TD_TIMEWAIT_LEN_MS * 1000000) {
		at = c->tw_deadline_ns - (uint64_t)TD_TIMEWAIT_LEN_MS * 1000000;
		if (at > ts)
			at = ts;
		if (enter && at < enter)
			at = enter;
	}
	if (!at) {
		c->flags |= CT_F_INCOMPLETE;
		push_step(c, TD_TIME_WAIT, 0);
		return;
	}
	change_state(t, c, c->state, TD_TIME_WAIT, at, 0);
}

/* When the timewait timer of connection i (CT_F_TW_CANCEL) was detached: its entry
 * in pend[] stays there until it is settled (pend_push() settles the oldest before
 * it takes its place). */
static uint64_t tw_cancel_ns(const struct conntable *t, uint32_t i)
{
	return t->pend[t->slots[i].pend].ns;
}

/* Settle a timewait timer detached before expiry: no re-arm came, so the
 * timewait socket was torn down early, in a live namespace: by a new connection on
 * its tuple if one came, else by a reset (tcp_timewait_state_process()). */
static void tw_settle(struct conntable *t, uint32_t i)
{
	struct conn *c = &t->conns[i];
	uint8_t end = (c->flags & CT_F_REUSED_SEEN) ? CT_TW_REUSED : CT_TW_RESET;
	uint64_t at = tw_cancel_ns(t, i);

	pending_del(t, i);
	if (c->tw_substate == TD_TIME_WAIT && c->state == TD_FIN_WAIT2)
		tw_fin_seen(t, c, at);
	c->tw_end = end;
	change_state(t, c, c->state, TD_CLOSE, at, end);
	finish(t, i);
}

/* Whether pend[] entry pos (not masked) still stands for its connection: it may
 * have moved on, or its slot hold another one by now. */
static bool pend_live(const struct conntable *t, uint32_t pos)
{
	uint32_t i = t->pend[pos & (PEND_CAP - 1)].slot;

	return i != NIL && t->slots[i].used && (t->conns[i].flags & CT_F_TW_CANCEL) &&
	       t->slots[i].pend == (pos & (PEND_CAP - 1));
}

static void settle_pending(struct conntable *t, uint64_t now)
{
	while (t->pend_head != t->pend_tail) {
		uint32_t h = t->pend_head & (PEND_CAP - 1);

		if (pend_live(t, t->pend_head)) {
			if (now < t->pend[h].ns + TW_SETTLE_NS) {
				t->pend_due = t->pend[h].ns + TW_SETTLE_NS;
				return;
			}
			tw_settle(t, t->pend[h].slot);
		}
		t->pend_head++;
	}
}

/* Connection i's timewait timer was detached at ns: wait for what follows. */
static void pend_push(struct conntable *t, uint32_t i, uint64_t ns)
{
	uint32_t h;

	if (t->pend_tail - t->pend_head == PEND_CAP) {
		h = t->pend_head & (PEND_CAP - 1);
		if (pend_live(t, t->pend_head))
			tw_settle(t, t->pend[h].slot);
		t->pend_head++;
		t->pend_due = 0;
	}
	if (t->pend_head == t->pend_tail)
		t->pend_due = 0; /* this one will be the oldest */
	h = t->pend_tail++ & (PEND_CAP - 1);
	t->slots[i].pend = (uint16_t)h;
	t->pend[h].slot = i;
	t->pend[h].ns = ns;
	key_add(t, i, SK_TUPLE);
}

/* A new connection took this tuple: an early-ended timewait on the same tuple
 * (same netns, same orientation) was reused, not killed. It is settled now: a
 * re-arm comes at once after its detach (mod_timer() does both), before any new
 * connection could take the tuple, so none can follow any more; and its lines are
 * in the cache now, a second later they would not be. */
static void note_tuple_reuse(struct conntable *t, const struct conn *n)
{
	uint32_t i;

	if (!t->index[SK_TUPLE].count)
		return; /* the usual case: no timewait is waiting to be settled */
	i = index_find(t, SK_TUPLE, tuple_hash(n));

	if (i != NIL && (t->conns[i].flags & CT_F_TW_CANCEL)) {
		t->conns[i].flags |= CT_F_REUSED_SEEN;
		tw_settle(t, i);
	}
}

static bool is_birth(uint8_t old, uint8_t new)
{
	return (old == TD_CLOSE && (new == TD_SYN_SENT || new == TD_LISTEN)) ||
	       (old == TD_LISTEN && new == TD_SYN_RECV);
}

/* Find the connection a record belongs to, adopting a stitched or seeded one
 * (known by socket address, cookie not known yet) when the cookie is new. */
static uint32_t lookup(struct conntable *t, const struct td_event *e)
{
	uint32_t i;

	if (e->cookie) {
		i = index_find(t, SK_COOKIE, e->cookie);
		if (i != NIL)
			return i;
	}
	i = index_find(t, SK_SKADDR, e->skaddr);
	if (i == NIL)
		return NIL;
	if (!e->cookie)
		return i;
	if (t->conns[i].cookie == 0 && !(t->conns[i].flags & CT_F_TW)) {
		t->conns[i].cookie = e->cookie;
		key_drop(t, i, SK_SKADDR);
		key_add(t, i, SK_COOKIE);
		return i;
	}
	return NIL;
}

/*
 * A record for a socket not in the table: a birth (CLOSE -> SYN_SENT/LISTEN,
 * LISTEN -> SYN_RECV), or a connection older than the tracing (or evicted, or
 * forgotten as rejected). Stored only if the filters do not reject it. A birth
 * whose tuple is not complete yet is CT_F_PARTIAL; its first transition is held
 * while the filters cannot decide, and a child's also while it shows its
 * listener's tuple or lacks its own cookie.
 */
static uint32_t first_record(struct conntable *t, const struct td_event *e)
{
	uint8_t old = e->oldstate, new = e->newstate;
	bool proc = (e->flags & TD_F_PROC) && e->pid;
	struct conn n;
	uint32_t i;

	conn_from(&n, e);
	if (is_birth(old, new)) {
		n.role = new == TD_SYN_SENT ? CT_ROLE_ACTIVE
			 : new == TD_LISTEN ? CT_ROLE_LISTEN
					    : CT_ROLE_PASSIVE;
		n.state = old;
		if (n.role == CT_ROLE_PASSIVE) {
			uint32_t l = index_find(t, SK_LISTEN, listen_key(n.netns, n.sport));

			if (l != NIL && t->conns[l].pid) {
				n.pid = t->conns[l].pid;
				n.comm = t->conns[l].comm;
				n.owner_src = CT_OWNER_LISTENER;
			}
			if (n.dport == 0)
				n.flags |= CT_F_PARTIAL; /* the listener's tuple */
			else
				note_tuple_reuse(t, &n);
		} else if (n.role == CT_ROLE_ACTIVE && n.sport == 0) {
			n.flags |= CT_F_PARTIAL; /* tcp_v4_connect(): port chosen after */
		}
	} else {
		/* Already open when tracing started: the first dwell is unknown. */
		n.flags |= CT_F_INCOMPLETE;
		push_step(&n, old, 0);
	}
	if (proc)
		set_owner(&n, e, CT_OWNER_TASK);
	i = admit(t, &n);
	if (i == NIL)
		return NIL;
	if (n.role == CT_ROLE_LISTEN)
		key_add(t, i, SK_LISTEN);
	if (is_birth(old, new) &&
	    ((n.flags & CT_F_UNDECIDED) ||
	     (n.role == CT_ROLE_PASSIVE && shown(&n) &&
	      ((n.flags & CT_F_PARTIAL) || (!n.cookie && !(e->flags & TD_F_NOCOOKIE))))))
		t->conns[i].flags |= CT_F_HELD;
	return i;
}

/*
 * Any later record of connection i: it completes a partial tuple (the real local
 * port of a connect(), a child's own tuple), may change the owner, and releases a
 * held first transition. The filters are asked again when something changed.
 * Returns false if they now reject it (it is forgotten).
 */
static bool next_record(struct conntable *t, uint32_t i, const struct td_event *e)
{
	struct conn *c = &t->conns[i];
	bool proc = (e->flags & TD_F_PROC) && e->pid;
	bool again = false;

	touch(t, i);
	if ((c->sport == 0 && e->sport) ||
	    (c->dport == 0 && e->dport && c->role != CT_ROLE_LISTEN)) {
		set_tuple(c, e);
		again = true;
		if (c->role != CT_ROLE_LISTEN)
			note_tuple_reuse(t, c);
	}
	if (c->flags & CT_F_PARTIAL) {
		/* Whatever this record says is all there will be. */
		c->flags &= ~CT_F_PARTIAL;
		again = true;
	}
	if (proc && e->kind == TD_EV_STATE && (c->pid != e->pid || c->owner_src != CT_OWNER_TASK)) {
		set_owner(c, e, CT_OWNER_TASK);
		again = true;
	}
	if (again && !decide(t, c)) {
		drop(t, i);
		return false;
	}
	if (c->flags & CT_F_HELD)
		release_held(t, c, e->ts_ns);
	return true;
}

static bool same_tuple(const struct conn *a, const struct conn *b)
{
	return a->family == b->family && a->netns == b->netns && a->sport == b->sport &&
	       a->dport == b->dport && !memcmp(a->saddr, b->saddr, sizeof(a->saddr)) &&
	       !memcmp(a->daddr, b->daddr, sizeof(a->daddr));
}

/* The cookie-less connection in FIN_WAIT2 or CLOSING with e's tuple, or NIL. */
static uint32_t nctuple_find(struct conntable *t, const struct td_event *e)
{
	struct conn k;
	uint32_t i;

	conn_from(&k, e);
	i = index_find(t, SK_NCTUPLE, tuple_hash(&k));
	return i != NIL && same_tuple(&t->conns[i], &k) ? i : NIL;
}

/*
 * Without cookies the timewait socket has an address of its own. tcp_time_wait()
 * arms its timer (the first TD_EV_TW_ARM) just before tcp_done() moves the full
 * socket to CLOSE, in the same context: the connection in FIN_WAIT2 or CLOSING with
 * the same tuple is the one, and from now on it is known by the timewait socket's
 * address. Returns its slot, or NIL.
 */
static uint32_t tw_adopt(struct conntable *t, const struct td_event *e)
{
	uint32_t i = nctuple_find(t, e);

	if (i == NIL || (t->conns[i].flags & CT_F_TW))
		return NIL;
	key_drop(t, i, SK_SKADDR);
	t->conns[i].skaddr = e->skaddr;
	key_add(t, i, SK_SKADDR);
	return i;
}

/* What a connection carried (a TD_EV_CONN_STATS record) onto c. */
static void take_conn_stats(struct conntable *t, struct conn *c, const struct td_event *e)
{
	c->stats = e->stats;
	c->min_rtt_us = e->min_rtt_us;
	c->flags |= CT_F_STATS;
	if (shown(c) && t->hooks.carried)
		t->hooks.carried(t->hooks.arg, c);
}

/* The full socket's -> CLOSE after tw_adopt() handed its connection over: nothing
 * ends there. True if e is that record. */
static bool tw_handover(struct conntable *t, const struct td_event *e)
{
	uint32_t i = nctuple_find(t, e);

	if (i == NIL || !(t->conns[i].flags & CT_F_TW) ||
	    (e->oldstate != TD_FIN_WAIT2 && e->oldstate != TD_CLOSING))
		return false;
	key_drop(t, i, SK_NCTUPLE);
	/* Its counters came just before, from the same program run, under the full
	 * socket's address (apply_conn_stats()). */
	for (uint32_t k = 0; k < STATS_PEND && k < t->nstats_pend; k++) {
		struct td_event *s = &t->stats_pend[(t->nstats_pend - 1 - k) % STATS_PEND];

		if (s->skaddr == e->skaddr && s->netns == e->netns && s->sport == e->sport &&
		    s->dport == e->dport && s->kind == TD_EV_CONN_STATS) {
			if (!(t->conns[i].flags & CT_F_STATS)) {
				take_conn_stats(t, &t->conns[i], s);
				t->stats.stats_unmatched--;
			}
			s->kind = 0; /* taken */
			break;
		}
	}
	return true;
}

/*
 * The connection whose timewait socket is at e->skaddr, for a record without a
 * cookie. Timewait sockets are SLAB_TYPESAFE_BY_RCU too: another tuple at the
 * address means that timewait socket is gone and its memory holds a new one, so a
 * connection still waiting for a re-arm there is settled now (it ended early).
 */
static uint32_t tw_by_addr(struct conntable *t, const struct td_event *e)
{
	uint32_t i = index_find(t, SK_SKADDR, e->skaddr);
	struct conn k;

	if (i == NIL || !(t->conns[i].flags & CT_F_TW))
		return i;
	conn_from(&k, e);
	if (same_tuple(&t->conns[i], &k))
		return i;
	if (t->conns[i].flags & CT_F_TW_CANCEL)
		tw_settle(t, i);
	else
		key_drop(t, i, SK_SKADDR);
	return NIL;
}

/* Did a -> CLOSE record finish the connection of this cookie lately? */
static bool recently_closed(const struct conntable *t, uint64_t cookie)
{
	if (!cookie)
		return false;
	for (uint32_t k = 0; k < CLOSED_KEPT && k < t->nclosed; k++)
		if (t->closed[k] == cookie)
			return true;
	return false;
}

static void apply_state(struct conntable *t, const struct td_event *e)
{
	uint8_t old = e->oldstate, new = e->newstate;
	struct td_event child;
	uint32_t i = NIL;
	bool born = true; /* the connection was not in the table before this record */
	struct conn *c;

	if (old == TD_LISTEN && new == TD_SYN_RECV) {
		if (e->cookie)
			i = index_find(t, SK_COOKIE, e->cookie);
		if (e->dport == 0 || (i != NIL && t->conns[i].role == CT_ROLE_LISTEN)) {
			/* Older kernels report the child's first record with its
			 * listener's tuple and cookie (inet_csk_clone_lock()): a new
			 * child, known by its socket address until its next record. */
			child = *e;
			child.cookie = 0;
			e = &child;
			i = first_record(t, e);
			if (i == NIL)
				return;
			c = &t->conns[i];
			goto apply;
		}
	}
	i = lookup(t, e);
	if (i != NIL && (t->conns[i].flags & CT_F_ENDING) && (e->flags & TD_F_CAUGHT) &&
	    new == TD_CLOSE) {
		t->stats.caught_dups++; /* as below: the -> CLOSE ended it already */
		return;
	}
	i = not_ending(t, i);
	born = i == NIL;
	if (i == NIL && (e->flags & TD_F_CAUGHT) && new == TD_CLOSE &&
	    recently_closed(t, e->cookie)) {
		t->stats.caught_dups++; /* see below: the -> CLOSE ended the connection already */
		return;
	}
	if (i == NIL && !e->cookie && new == TD_CLOSE && tw_handover(t, e))
		return;
	if (i != NIL && is_birth(old, new) && t->conns[i].state != TD_CLOSE &&
	    !(t->conns[i].flags & CT_F_TW)) {
		/* A birth on a connection still alive: its -> CLOSE went missing. Without
		 * a cookie (classic tracepoint path) the socket address was reused; with
		 * one, the same socket connect()ed or listen()ed again. The old life
		 * keeps what it had; the record starts a new one. */
		struct conn *o = &t->conns[i];

		if (!fresh_seed(o))
			chain_break(t, o);
		o->flags |= CT_F_INCOMPLETE;
		key_drop(t, i, SK_COOKIE);
		key_drop(t, i, SK_SKADDR);
		key_drop(t, i, SK_NCTUPLE);
		i = NIL;
	}
	if (i == NIL) {
		i = first_record(t, e);
		if (i == NIL)
			return;
	} else if (!next_record(t, i, e)) {
		return;
	}
	c = &t->conns[i];
	/*
	 * A catcher's record (TD_F_CAUGHT) of the change that made the connection what it is: the
	 * state program recorded it already. Its catcher records it again when an interrupt that
	 * came between the two emptied the claim stack it looks in (bpf/catcher.bpf.h); the
	 * change is the earlier record's, made when the state program stamped it. TCP never
	 * enters a state twice in one life (a new life starts from CLOSE), so a record into the
	 * state the connection is in is not a change the table missed.
	 */
	if ((e->flags & TD_F_CAUGHT) && c->state == new && old != new && !(c->flags & CT_F_TW)) {
		t->stats.caught_dups++;
		return;
	}
apply:
	if (e->flags & TD_F_HANDSHAKE) {
		c->hs_rtt_us = e->rtt_us;
		c->hs_retrans = e->retrans;
		c->flags |= CT_F_HANDSHAKE;
	}
	if (old == new) {
		t->stats.same_state++; /* tcp_close_state(): not a state change */
		/* Still, it says where the socket is: a change into old went missing. */
		if (c->state != old && !(c->flags & CT_F_TW))
			chain_repair(t, c, old);
		return;
	}
	if (c->flags & CT_F_TW) {
		/* The full socket closes after handing over to its timewait socket
		 * (tcp_time_wait() -> tcp_done()): the connection lives on. */
		if (new == TD_CLOSE) {
			/* tcp_time_wait() runs in FIN_WAIT2 (either substate) or CLOSING
			 * (TIME_WAIT only): from anywhere else, records are missing. */
			if (old != TD_FIN_WAIT2 &&
			    (old != TD_CLOSING || c->tw_substate != TD_TIME_WAIT))
				chain_break(t, c);
			if (c->flags & CT_F_TW_FIRST) {
				/* Known only from the timer: now we learn where it came from. */
				c->flags &= ~CT_F_TW_FIRST;
				uint8_t tw_state = c->state;
				uint64_t tw_ts = c->step_ns[c->nsteps - 1];

				c->nsteps = 0;
				push_step(c, old, 0);
				/* A FIN_WAIT2 handed to a FIN_WAIT2 timewait socket is no
				 * state change; when it entered FIN_WAIT2 is not known. */
				if (old != tw_state)
					change_state(t, c, old, tw_state, tw_ts, 0);
			}
			key_drop(t, i, SK_SKADDR);
			return;
		}
	}
	if (c->state != old && !(c->state == TD_CLOSE && c->nsteps == 0))
		chain_repair(t, c, old); /* a record is missing between what we saw and this */
	/* Its TD_EV_CONN_STATS record came right before, from the same program run: without
	 * it, that record is lost (a connection first known by this record had its stats
	 * dropped as no connection's). */
	if (new == TD_CLOSE && t->expect_stats && !born && old != TD_LISTEN &&
	    old != TD_SYN_SENT && !(c->flags & CT_F_STATS))
		chain_break(t, c);
	change_state(t, c, old, new, e->ts_ns, 0);
	if ((c->flags & (CT_F_HELD | CT_F_UNDECIDED)) == CT_F_HELD)
		hold_push(t, i);
	if (new == TD_CLOSE) {
		end_conn(t, i, old);
		return;
	}
	if (!c->cookie && (new == TD_FIN_WAIT2 || new == TD_CLOSING))
		key_add(t, i, SK_NCTUPLE);
	else
		key_drop(t, i, SK_NCTUPLE);
}

/* The timer's expiry, in unsigned arithmetic that saturates: a recording's stamp
 * may be anything (a signed sum of it overflowed). 0 when the record has none. */
static void set_deadline(struct conn *c, const struct td_event *e)
{
	uint64_t left = (uint64_t)(e->tw_left_ms < 0 ? -(int64_t)e->tw_left_ms : e->tw_left_ms);

	if (!(e->flags & TD_F_TW_LEFT))
		c->tw_deadline_ns = 0;
	else if (e->tw_left_ms >= 0)
		c->tw_deadline_ns = sat__add(e->ts_ns, left * 1000000);
	else
		c->tw_deadline_ns = e->ts_ns > left * 1000000 ? e->ts_ns - left * 1000000 : 0;
}

/* --- timewait lookups: the FIN_WAIT2 substate's unannounced FIN --- */

#define TWQ_MIN_CAP 1024u

/* Queue connection i for a lookup at due_ns. A queue that cannot grow (memory
 * short, or four entries per connection the table holds, which only stale
 * entries can fill) leaves the connection unchecked, counted. */
static void twq_push(struct conntable *t, uint32_t i, uint64_t due_ns)
{
	struct twq_entry *e;

	if (t->twq_tail - t->twq_head == t->twq_cap) {
		uint32_t ncap = t->twq_cap ? t->twq_cap * 2 : TWQ_MIN_CAP;
		struct twq_entry *v;

		if (t->twq_cap && (uint64_t)ncap > 4ULL * t->cap + TWQ_MIN_CAP)
			goto full;
		v = malloc((size_t)ncap * sizeof(*v));
		if (!v)
			goto full;
		for (uint32_t k = 0; k < t->twq_tail - t->twq_head; k++)
			v[k] = t->twq[(t->twq_head + k) & (t->twq_cap - 1)];
		free(t->twq);
		t->twq = v;
		t->twq_tail -= t->twq_head;
		t->twq_head = 0;
		t->twq_cap = ncap;
	}
	e = &t->twq[t->twq_tail++ & (t->twq_cap - 1)];
	e->slot = i;
	e->start_ns = t->conns[i].start_ns;
	e->due_ns = due_ns;
	return;
full:
	t->stats.tw_uncheckable++;
}

/* Connection i has just become a timewait socket (CT_F_TW set now, not before):
 * in the FIN_WAIT2 substate it waits for its first lookup. */
static void twq_note(struct conntable *t, uint32_t i, uint64_t ts)
{
	const struct conn *c = &t->conns[i];

	if ((c->flags & CT_F_TW) && c->state == TD_FIN_WAIT2 && shown(c))
		twq_push(t, i, ts + CT_TW_CHECK_NS);
}

/* Whether queue entry e still names a connection that wants lookups. */
static bool twq_wants(const struct conntable *t, const struct twq_entry *e)
{
	const struct conn *c = &t->conns[e->slot];

	return t->slots[e->slot].used && c->start_ns == e->start_ns && (c->flags & CT_F_TW) &&
	       c->state == TD_FIN_WAIT2 && shown(c);
}

/* After when a FIN can no longer re-arm c's timer silently (CT_TW_SILENT_NS);
 * 0 when its timer's expiry is not known. */
static uint64_t tw_silent_end(const struct conn *c)
{
	const uint64_t len = (uint64_t)TD_TIMEWAIT_LEN_MS * 1000000;

	if (c->tw_deadline_ns <= len)
		return 0;
	return c->tw_deadline_ns - len + CT_TW_SILENT_NS;
}

size_t conntable__tw_due(struct conntable *t, uint64_t now, struct ct_tw_query *q, size_t max,
			 bool (*reachable)(void *arg, uint32_t netns), void *arg)
{
	size_t n = 0;

	while (n < max && t->twq_head != t->twq_tail) {
		struct twq_entry e = t->twq[t->twq_head & (t->twq_cap - 1)];
		struct conn *c = &t->conns[e.slot];
		uint64_t end;

		if (!twq_wants(t, &e)) {
			t->twq_head++;
			continue;
		}
		if (e.due_ns > now)
			break;
		t->twq_head++;
		if (c->flags & CT_F_TW_CANCEL) {
			/* Its timer was detached: records settle it within a second. */
			twq_push(t, e.slot, now + CT_TW_CHECK_NS);
			continue;
		}
		if (reachable && !reachable(arg, c->netns)) {
			t->stats.tw_uncheckable++;
			continue;
		}
		memset(&q[n], 0, sizeof(q[n]));
		q[n].cookie = c->cookie;
		q[n].skaddr = c->cookie ? 0 : c->skaddr;
		q[n].netns = c->netns;
		q[n].family = c->family;
		memcpy(q[n].saddr, c->saddr, sizeof(q[n].saddr));
		memcpy(q[n].daddr, c->daddr, sizeof(q[n].daddr));
		q[n].sport = c->sport;
		q[n].dport = c->dport;
		n++;
		t->stats.tw_asked++;
		/* Again a period later while a silent FIN is possible; the last ask just
		 * after that, so that a FIN shortly before its end is not missed. */
		end = tw_silent_end(c);
		if (!end || now + CT_TW_CHECK_NS <= end)
			twq_push(t, e.slot, now + CT_TW_CHECK_NS);
		else if (now < end)
			twq_push(t, e.slot, end);
	}
	return n;
}

/* The connection a TD_EV_TW_DIAG record is about, or NIL: by cookie, else by the
 * timewait socket's address and tuple (no side effects, unlike tw_by_addr()). */
static uint32_t tw_diag_find(struct conntable *t, const struct td_event *e)
{
	uint32_t i;
	struct conn k;

	if (e->cookie)
		return index_find(t, SK_COOKIE, e->cookie);
	i = index_find(t, SK_SKADDR, e->skaddr);
	if (i == NIL)
		return NIL;
	conn_from(&k, e);
	return same_tuple(&t->conns[i], &k) ? i : NIL;
}

/*
 * What a lookup found for a timewait connection in the FIN_WAIT2 substate. Only a
 * connection still there, as far as the records say, takes it: records applied
 * since the lookup (the end, a re-arm with TIME_WAIT, a detached timer waiting to
 * be settled) are newer, and win.
 * - TIME_WAIT with the timer's time left: the peer's FIN came and re-armed the timer
 *   to TCP_TIMEWAIT_LEN, so it came at expiry - 60 s (tw_fin_seen()). The expiry
 *   is the kernel's, in jiffies: tw_left_ms is jiffies_to_msecs(expires - jiffies)
 *   as the reply was written, and ts_ns is read after it arrived, so the estimate
 *   is off by at most a jiffy either way (jiffies advance in ticks: 1 ms at
 *   HZ=1000, 4 ms at HZ=250), later by the reply's latency (microseconds), and
 *   later still if the FIN was retransmitted (each re-arms the timer). It is
 *   clamped to the FIN_WAIT2 entry and to ts_ns.
 * - gone: the timewait socket ended (expired, reset, its tuple reused) before the
 *   lookup and the record of it was lost. It ends at ts_ns, the first moment it
 *   is known gone, the end unseen: the dwell of its last state is not known.
 *   Believed only of a connection that may have missed records (CT_F_GAP: a loss
 *   was counted, conntable__mark_loss()): otherwise the end's record would have
 *   come, and the lookup failed for another reason (a socket bound to a device,
 *   SO_BINDTODEVICE or a VRF, is not matched by a lookup without the interface,
 *   which tcpdwell does not know). Such answers are counted in tw_gone_doubted.
 */
static void apply_tw_diag(struct conntable *t, const struct td_event *e)
{
	uint32_t i = tw_diag_find(t, e);
	struct conn *c;

	if (i == NIL)
		return;
	c = &t->conns[i];
	if (!(c->flags & CT_F_TW) || c->state != TD_FIN_WAIT2 || (c->flags & CT_F_TW_CANCEL))
		return;
	touch(t, i);
	if (e->oldstate == TD_TIME_WAIT && (e->flags & TD_F_TW_LEFT)) {
		t->stats.tw_diag_tw++;
		set_deadline(c, e);
		c->tw_substate = TD_TIME_WAIT;
		tw_fin_seen(t, c, e->ts_ns);
	} else if (e->oldstate == TD_CLOSE && !(c->flags & CT_F_GAP)) {
		t->stats.tw_gone_doubted++;
	} else if (e->oldstate == TD_CLOSE) {
		struct ct_transition tr = {
		    .ts_ns = e->ts_ns,
		    .dwell_ns = CT_DWELL_UNKNOWN,
		    .old = c->state,
		    .new = TD_CLOSE,
		    .tw_end = CT_TW_GONE,
		};

		t->stats.tw_gone++;
		t->stats.transitions++;
		chain_break(t, c); /* the end's record went missing */
		c->tw_end = CT_TW_GONE;
		c->end_ns = e->ts_ns;
		c->state = TD_CLOSE;
		if (shown(c) && !(c->flags & CT_F_HELD) && t->hooks.transition)
			t->hooks.transition(t->hooks.arg, c, &tr);
		finish(t, i);
	}
}

static void apply_tw(struct conntable *t, const struct td_event *e)
{
	uint8_t sub = e->oldstate;
	uint32_t i = NIL;
	struct conn *c;

	if (e->cookie)
		i = not_ending(t, index_find(t, SK_COOKIE, e->cookie));
	else
		i = tw_by_addr(t, e);
	if (i == NIL && !e->cookie && e->kind == TD_EV_TW_ARM)
		i = tw_adopt(t, e);
	if (e->kind == TD_EV_TW_ARM) {
		if (i == NIL) {
			/* A connection we never saw before its timewait. */
			struct conn n;

			conn_from(&n, e);
			n.flags |= CT_F_INCOMPLETE | CT_F_TW | CT_F_TW_FIRST;
			n.tw_substate = sub;
			set_deadline(&n, e);
			push_step(&n, sub, e->ts_ns);
			i = admit(t, &n);
			if (i != NIL)
				twq_note(t, i, e->ts_ns);
			return;
		}
		if (!next_record(t, i, e))
			return;
		c = &t->conns[i];
		bool rearm = c->flags & CT_F_TW_CANCEL;
		bool was_tw = c->flags & CT_F_TW;

		if (rearm) {
			/* Re-armed (a FIN in the FIN_WAIT2 substate, a retransmitted FIN):
			 * the timewait goes on, and this is the moment it happened. */
			pending_del(t, i);
		}
		set_deadline(c, e);
		c->tw_substate = sub;
		if (!rearm && (c->flags & CT_F_TW)) {
			/* Armed again with no detach between: the detach's record is
			 * missing (mod_timer() detaches a pending timer first). */
			chain_break(t, c);
		} else if (!rearm && c->state != TD_FIN_WAIT2 &&
			   (c->state != TD_CLOSING || sub != TD_TIME_WAIT)) {
			/* tcp_time_wait() runs in FIN_WAIT2 (either substate) or CLOSING
			 * (TIME_WAIT only): the record of how the socket got there is
			 * missing. FIN_WAIT2 (the only one for a FIN_WAIT2 substate, and
			 * the one a close that is not simultaneous takes), entered at an
			 * unknown time. */
			chain_repair(t, c, TD_FIN_WAIT2);
		}
		if (!rearm && (c->flags & CT_F_TW) && c->state == TD_FIN_WAIT2 &&
		    sub == TD_TIME_WAIT)
			tw_fin_seen(t, c, e->ts_ns);
		else if (c->state != sub)
			change_state(t, c, c->state, sub, e->ts_ns, 0);
		c->flags |= CT_F_TW;
		if (!was_tw)
			twq_note(t, i, e->ts_ns);
		return;
	}
	/* TD_EV_TW_CANCEL */
	if (i == NIL)
		return;
	c = &t->conns[i];
	if (!(c->flags & CT_F_TW))
		return;
	if (c->flags & CT_F_TW_CANCEL) {
		/* Detached twice: the re-arm between went missing (only a pending
		 * timer is detached), so the timewait went on until now. */
		chain_break(t, c);
		pending_del(t, i);
	}
	if (!next_record(t, i, e))
		return;
	set_deadline(c, e);
	c->tw_substate = sub;
	/* Due: the timer ran out. Netns exit: no re-arm can follow, and no new
	 * connection. Either way the end is known now. */
	uint8_t end = (e->flags & TD_F_TW_DUE)		? CT_TW_EXPIRED
		      : (e->flags & TD_F_TW_NETNS_GONE) ? CT_TW_KILLED
							: CT_TW_NONE;
	if (end != CT_TW_NONE) {
		if (sub == TD_TIME_WAIT && c->state == TD_FIN_WAIT2)
			tw_fin_seen(t, c, e->ts_ns);
		c->tw_end = end;
		change_state(t, c, c->state, TD_CLOSE, e->ts_ns, end);
		finish(t, i);
		return;
	}
	c->flags |= CT_F_TW_CANCEL;
	pend_push(t, i, e->ts_ns);
}

static void apply_accept(struct conntable *t, const struct td_event *e)
{
	uint32_t i = not_ending(t, lookup(t, e));
	struct conn *c;

	if (i == NIL) {
		/* Established before tracing started, accepted now. */
		struct conn n;

		if (e->oldstate == TD_CLOSE) {
			/* Ended in the queue (or before tracing): returned by accept()
			 * all the same, with nothing left to follow. */
			t->stats.accepted_closed++;
			return;
		}

		conn_from(&n, e);
		n.role = CT_ROLE_PASSIVE;
		n.flags |= CT_F_INCOMPLETE;
		push_step(&n, e->oldstate, 0);
		set_owner(&n, e, CT_OWNER_ACCEPT);
		admit(t, &n);
		return;
	}
	if (!next_record(t, i, e))
		return;
	c = &t->conns[i];
	set_owner(c, e, CT_OWNER_ACCEPT);
	if (!decide(t, c)) {
		drop(t, i);
		return;
	}
	if (c->accept_ns)
		return; /* one socket, one accept: a second record is no new wait */
	c->accept_ns = e->ts_ns;
	uint64_t wait = conn__accept_wait(c);

	if (wait != CT_DWELL_UNKNOWN && shown(c) && t->hooks.accepted)
		t->hooks.accepted(t->hooks.arg, c, wait);
}

/* What a connection carried, just before its -> CLOSE record. Not a record of its
 * chain of states: it moves nothing, and its tuple fields are not read (the addresses'
 * place holds the counters). */
static void apply_conn_stats(struct conntable *t, const struct td_event *e)
{
	uint32_t i = not_ending(t, lookup(t, e));

	if (i == NIL && !e->cookie) {
		/* Without cookies a connection handed to its timewait socket is known by that
		 * socket's address already (tw_adopt()): the full socket's -> CLOSE, next, says
		 * whose these are (tw_handover()). Counted unmatched until then. */
		t->stats_pend[t->nstats_pend++ % STATS_PEND] = *e;
	}
	if (i == NIL || (t->conns[i].flags & CT_F_STATS)) {
		t->stats.stats_unmatched++;
		return;
	}
	take_conn_stats(t, &t->conns[i], e);
}

void conntable__expect_stats(struct conntable *t, bool on)
{
	t->expect_stats = on;
}

void conntable__expect_resets(struct conntable *t, bool on)
{
	t->expect_resets = on;
}

/* A reset sent or received (TD_EV_RST): onto its connection, the first one, known by its
 * cookie (the reset programs run only where cookies are), an ending one included. */
static void apply_rst(struct conntable *t, const struct td_event *e)
{
	uint32_t i = e->cookie ? index_find(t, SK_COOKIE, e->cookie) : NIL;
	struct conn *c;

	/* A listener's (to a segment no connection took) is no connection's; a second one is
	 * not news, but a sent one after a received one is the truth (see end_conn()). */
	if (i == NIL || t->conns[i].role == CT_ROLE_LISTEN || t->conns[i].rst == CT_RST_SENT ||
	    (t->conns[i].rst == CT_RST_RECEIVED && !(e->flags & TD_F_RST_SENT))) {
		t->stats.rst_unmatched++;
		return;
	}
	/* Like any record of it: a connect()'s first record had no port yet, a refused one's
	 * reset comes before its second; a held first transition is reported here, first. */
	if (!(t->conns[i].flags & CT_F_ENDING) && !next_record(t, i, e))
		return;
	c = &t->conns[i];
	t->stats.resets++;
	c->rst = (e->flags & TD_F_RST_SENT) ? CT_RST_SENT : CT_RST_RECEIVED;
	c->rst_reason = e->rst_reason < CT_RST_NO_REASON ? (uint8_t)e->rst_reason : CT_RST_NO_REASON;
	c->rst_ns = e->ts_ns;
	if (shown(c) && t->hooks.reset)
		t->hooks.reset(t->hooks.arg, c, e->ts_ns);
	if (c->flags & CT_F_ENDING)
		end_now(t, i);
}

void conntable__prefetch(const struct conntable *t, const struct td_event *e)
{
	const struct index *ck = &t->index[SK_COOKIE], *sk = &t->index[SK_SKADDR];

	if (e->cookie)
		__builtin_prefetch(&ck->e[cookie_hash(e->cookie) & ck->mask]);
	else
		__builtin_prefetch(&sk->e[ix_hash(e->skaddr) & sk->mask]);
}

void conntable__prefetch_conn(const struct conntable *t, const struct td_event *e)
{
	const struct index *ix = &t->index[e->cookie ? SK_COOKIE : SK_SKADDR];
	uint32_t hash = e->cookie ? cookie_hash(e->cookie) : ix_hash(e->skaddr);
	const struct ix_entry *x = &ix->e[hash & ix->mask];

	/* Only the entry at home: one further down was not brought in. */
	if (x->v && x->hash == hash) {
		const char *c = (const char *)&t->conns[x->v - 1];

		__builtin_prefetch(c); /* the keys */
		__builtin_prefetch(c + 96); /* state, flags, the first steps */
	}
}

void conntable__apply(struct conntable *t, const struct td_event *e)
{
	t->stats.records++;
	if (t->pend_head != t->pend_tail && e->ts_ns >= t->pend_due)
		settle_pending(t, e->ts_ns);
	if (t->hold_head != t->hold_tail)
		settle_held(t, e->ts_ns);
	if (t->ending_head != t->ending_tail)
		settle_ending(t, e->ts_ns);
	switch (e->kind) {
	case TD_EV_STATE:
		if (e->oldstate < TD_STATE_MAX && e->newstate < TD_STATE_MAX)
			apply_state(t, e);
		break;
	/* Their oldstate (the timewait substate, the state at accept) becomes a
	 * connection's state: outside the enum (a crafted recording), ignored. */
	case TD_EV_TW_ARM:
	case TD_EV_TW_CANCEL:
		if (e->oldstate < TD_STATE_MAX)
			apply_tw(t, e);
		break;
	case TD_EV_ACCEPT:
		if (e->oldstate < TD_STATE_MAX)
			apply_accept(t, e);
		break;
	case TD_EV_TW_DIAG:
		apply_tw_diag(t, e);
		break;
	case TD_EV_CONN_STATS:
		apply_conn_stats(t, e);
		break;
	case TD_EV_RST:
		apply_rst(t, e);
		break;
	default:
		break;
	}
}

void conntable__advance(struct conntable *t, uint64_t now)
{
	if (t->pend_head != t->pend_tail)
		settle_pending(t, now);
	if (t->hold_head != t->hold_tail)
		settle_held(t, now);
	if (t->ending_head != t->ending_tail)
		settle_ending(t, now);
	if (!t->any_stuck)
		return;
	for (uint32_t i = t->lru_head; i != NIL; i = t->slots[i].next) {
		struct conn *c = &t->conns[i];

		/* Not decided yet: its alert comes with the decision, if selected. Ended. */
		if (c->flags & (CT_F_UNDECIDED | CT_F_ENDING))
			continue;
		if (c->flags & CT_F_HELD) {
			uint64_t limit = t->stuck_ns[c->state < TD_STATE_MAX ? c->state : 0];
			uint64_t enter = current_enter(c);

			/* Its first transition comes before any alert about it. */
			if (limit && enter && now >= enter && now - enter >= limit)
				release_held(t, c, now);
			continue;
		}
		check_stuck(t, c, now);
	}
}

void conntable__drain(struct conntable *t)
{
	settle_pending(t, UINT64_MAX - TW_SETTLE_NS);
	settle_ending(t, UINT64_MAX);
	/* Held first transitions: decide on what is known, and report. */
	for (uint32_t i = t->lru_head, next; i != NIL; i = next) {
		struct conn *c = &t->conns[i];

		next = t->slots[i].next;
		if (!(c->flags & CT_F_HELD))
			continue;
		if (c->flags & CT_F_PARTIAL) {
			c->flags &= ~CT_F_PARTIAL;
			if (!decide(t, c)) {
				drop(t, i);
				continue;
			}
		}
		release_held(t, c, 0);
	}
	t->hold_head = t->hold_tail;
}

bool conntable__seed(struct conntable *t, const struct conn *s)
{
	struct conn n = *s, *c;
	uint32_t i;

	if (s->cookie && index_find(t, SK_COOKIE, s->cookie) != NIL)
		return false;
	n.flags |= CT_F_SEEDED | CT_F_INCOMPLETE;
	/* What only records give (a crafted recording's seed may claim anything). */
	n.flags &= ~(CT_F_HIDDEN | CT_F_PARTIAL | CT_F_UNDECIDED | CT_F_HELD | CT_F_STATS |
		     CT_F_HANDSHAKE);
	if (n.state == TD_LISTEN)
		n.role = CT_ROLE_LISTEN;
	if (!decide(t, &n)) {
		t->stats.rejected++;
		return false;
	}
	i = alloc_slot(t);
	c = &t->conns[i];
	*c = n;
	c->lower_bound = 1;
	c->nsteps = 1;
	c->step_state[0] = s->state;
	if (!c->start_ns)
		c->start_ns = c->step_ns[0];
	if (c->cookie)
		key_add(t, i, SK_COOKIE);
	if (c->state == TD_TIME_WAIT || c->state == TD_FIN_WAIT2) {
		/* A timewait socket in the dump (FIN_WAIT2 ones may be either; the
		 * caller says by role). */
	}
	if (c->state == TD_TIME_WAIT)
		c->flags |= CT_F_TW;
	else if (c->skaddr && !c->cookie)
		key_add(t, i, SK_SKADDR);
	if (c->state == TD_LISTEN)
		key_add(t, i, SK_LISTEN);
	if (c->flags & CT_F_TW)
		twq_note(t, i, c->start_ns);
	return true;
}

void conntable__mark_loss(struct conntable *t)
{
	/*
	 * Ending connections too: their -> CLOSE may be what a lost record hid. A client's
	 * FIN_WAIT2 -> TIME_WAIT lost, the full socket's FIN_WAIT2 -> CLOSE that follows it at
	 * the hand-over to its timewait socket reads as an end from FIN_WAIT2, held for its
	 * reset (CT_F_ENDING) when the loss is counted (pressure.sh, a 4 KiB buffer: a timeline
	 * "complete" with FIN_WAIT2 ending in CLOSE, where the kernel went to TIME_WAIT).
	 */
	for (uint32_t i = t->lru_head; i != NIL; i = t->slots[i].next)
		t->conns[i].flags |= CT_F_INCOMPLETE | CT_F_GAP;
}

void conntable__foreach(struct conntable *t, void (*fn)(void *arg, const struct conn *c), void *arg)
{
	for (uint32_t i = t->lru_head; i != NIL; i = t->slots[i].next) {
		if (shown(&t->conns[i]) && !(t->conns[i].flags & CT_F_ENDING))
			fn(arg, &t->conns[i]);
	}
}

void conntable__reconcile_begin(struct conntable *t, uint64_t start_ns)
{
	/* Marks of an abandoned pass would count as found in this one. */
	if (t->rc_active) {
		for (uint32_t i = t->lru_head; i != NIL; i = t->slots[i].next)
			t->conns[i].flags &= ~CT_F_PRESENT;
	}
	t->rc_active = true;
	t->rc_failed = false;
	t->rc_start = start_ns;
	t->rc_n = 0;
	t->rc_nsocks = 0;
	t->rc_nended = 0;
}

/* Keep dumped socket c for the pass's end; false when memory is short. */
static bool rc_keep(struct conntable *t, const struct conn *c)
{
	if (t->rc_nsocks == t->rc_capsocks) {
		size_t cap = t->rc_capsocks ? t->rc_capsocks * 2 : 256;
		struct conn *v = realloc(t->rc_socks, cap * sizeof(*v));

		if (!v)
			return false;
		t->rc_socks = v;
		t->rc_capsocks = cap;
	}
	t->rc_socks[t->rc_nsocks++] = *c;
	return true;
}

void conntable__reconcile_mark(struct conntable *t, const struct conn *c)
{
	uint32_t i;

	if (!t->rc_active || t->rc_failed)
		return;
	if (c->cookie) {
		i = index_find(t, SK_COOKIE, c->cookie);
		if (i != NIL && (t->conns[i].flags & CT_F_ENDING))
			return; /* ended since the dump saw it: waits only for its reset */
		if (i != NIL) {
			t->conns[i].flags |= CT_F_PRESENT;
			if (t->conns[i].state != c->state && !rc_keep(t, c))
				t->rc_failed = true;
			return;
		} else {
			struct conn k = *c;

			/* Shown if adopted: the others would only take room. */
			if (decide(t, &k) && !(k.flags & CT_F_HIDDEN) && !rc_keep(t, c))
				t->rc_failed = true;
		}
	}
	if (t->rc_n == t->rc_cap) {
		size_t cap = t->rc_cap ? t->rc_cap * 2 : 1024;
		uint64_t *v = realloc(t->rc_tuples, cap * sizeof(*v));

		if (!v) {
			t->rc_failed = true;
			return;
		}
		t->rc_tuples = v;
		t->rc_cap = cap;
	}
	t->rc_tuples[t->rc_n++] = tuple_hash(c);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Is c a connection the pass may end: older than the dump, final, reachable, not
 * found (by tuple, when it has no cookie)? */
static bool rc_gone(const struct conntable *t, uint32_t i,
		    bool (*reachable)(void *arg, uint32_t netns), void *arg)
{
	const struct conn *c = &t->conns[i];
	uint64_t h;

	/* A timewait timer detached early: its end is known, not settled yet. Ended,
	 * waiting for its reset: not open. */
	if (c->flags & (CT_F_PRESENT | CT_F_TW_CANCEL | CT_F_ENDING))
		return false;
	/* A tuple not complete yet: judged by its cookie alone, if the cookie is its own
	 * (a child may be reported under its listener's). */
	if ((c->flags & (CT_F_HELD | CT_F_PARTIAL)) &&
	    (!c->cookie || index_find(t, SK_COOKIE, c->cookie) != i))
		return false;
	if (c->start_ns >= t->rc_start || current_enter(c) >= t->rc_start)
		return false;
	if (reachable && !reachable(arg, c->netns))
		return false;
	if (c->cookie)
		return true;
	/* A hash collision keeps a gone one open until a later pass: never the
	 * other way round. */
	h = tuple_hash(c);
	return !bsearch(&h, t->rc_tuples, t->rc_n, sizeof(h), cmp_u64);
}

/*
 * Dumped socket d is in the table (slot i) in another state, which the records
 * still say it is in since before the dump: records were lost. Move it to the
 * dump's state (its timewait details too), the dwell left unknown.
 */
static void rc_resync(struct conntable *t, uint32_t i, const struct conn *d)
{
	struct conn *c = &t->conns[i];
	uint64_t enter = current_enter(c), at = d->step_ns[0];
	struct ct_transition tr = {
	    .dwell_ns = CT_DWELL_UNKNOWN,
	    .old = c->state,
	    .new = d->state,
	};

	if (c->flags & (CT_F_HELD | CT_F_UNDECIDED | CT_F_TW_CANCEL) || !c->cookie)
		return;
	if (c->start_ns >= t->rc_start || enter >= t->rc_start)
		return;
	/* A timewait socket never goes back to a full one. */
	if ((c->flags & CT_F_TW) && !(d->flags & CT_F_TW))
		return;
	if (at < enter)
		at = enter;
	/* A timewait socket's FIN that came without a record (a re-arm in its timer's
	 * bucket): no record is missing, the kernel sent none. As a lookup's answer. */
	if ((c->flags & CT_F_TW) && c->state == TD_FIN_WAIT2 && d->state == TD_TIME_WAIT &&
	    d->tw_deadline_ns) {
		c->tw_deadline_ns = d->tw_deadline_ns;
		c->tw_substate = TD_TIME_WAIT;
		t->stats.resynced++;
		tw_fin_seen(t, c, d->step_ns[0] ? d->step_ns[0] : t->rc_start);
		return;
	}
	tr.ts_ns = at;
	if (c->flags & CT_F_PARTIAL) {
		/* The record that completes the tuple went missing: the dump has it. */
		c->family = d->family;
		memcpy(c->saddr, d->saddr, sizeof(c->saddr));
		memcpy(c->daddr, d->daddr, sizeof(c->daddr));
		c->sport = d->sport;
		c->dport = d->dport;
		c->flags &= ~CT_F_PARTIAL;
	}
	/* The change into the dump's state went missing; no dwell across it. */
	chain_break(t, c);
	push_step(c, d->state, 0);
	if (d->flags & CT_F_TW) {
		bool was_tw = c->flags & CT_F_TW;

		c->flags |= CT_F_TW;
		c->tw_substate = d->tw_substate;
		c->tw_deadline_ns = d->tw_deadline_ns;
		if (!was_tw)
			twq_note(t, i, at);
	}
	key_drop(t, i, SK_NCTUPLE);
	t->stats.transitions++;
	t->stats.resynced++;
	if (shown(c) && t->hooks.transition)
		t->hooks.transition(t->hooks.arg, c, &tr);
}

/* Settle the dumped sockets kept: resync the known ones, adopt the unknown ones
 * (as a seed, unless records made them known meanwhile). Not without cookies in
 * the table: a cookie-less connection may be the unknown socket. */
static void rc_settle(struct conntable *t, bool nocookie)
{
	if (t->rc_nended)
		qsort(t->rc_ended, t->rc_nended, sizeof(*t->rc_ended), cmp_u64);
	for (size_t k = 0; k < t->rc_nsocks; k++) {
		const struct conn *d = &t->rc_socks[k];
		uint32_t i = index_find(t, SK_COOKIE, d->cookie);

		/* Ended since the dump saw it (its records came after), or ending. */
		if (i == NIL && t->rc_nended &&
		    bsearch(&d->cookie, t->rc_ended, t->rc_nended, sizeof(d->cookie), cmp_u64))
			continue;
		if (i != NIL && (t->conns[i].flags & CT_F_ENDING))
			continue;

		if (i != NIL && t->conns[i].state != d->state)
			rc_resync(t, i, d);
		else if (i == NIL && !nocookie && conntable__seed(t, d))
			t->stats.adopted++;
	}
}

uint64_t conntable__reconcile_end(struct conntable *t, uint64_t end_ns,
				  bool (*reachable)(void *arg, uint32_t netns), void *arg)
{
	uint64_t n = 0;
	bool nocookie = false;

	if (!t->rc_active)
		return 0;
	if (t->rc_n)
		qsort(t->rc_tuples, t->rc_n, sizeof(*t->rc_tuples), cmp_u64);
	for (uint32_t i = t->lru_head, next; i != NIL; i = next) {
		struct conn *c = &t->conns[i];
		struct ct_transition tr;
		bool gone = !t->rc_failed && rc_gone(t, i, reachable, arg);

		next = t->slots[i].next;
		c->flags &= ~CT_F_PRESENT;
		nocookie |= !c->cookie && !gone;
		if (!gone)
			continue;
		tr = (struct ct_transition){
		    .ts_ns = end_ns,
		    .dwell_ns = CT_DWELL_UNKNOWN,
		    .old = c->state,
		    .new = TD_CLOSE,
		    .tw_end = (c->flags & CT_F_TW) ? CT_TW_GONE : CT_TW_NONE,
		};
		t->stats.transitions++;
		chain_break(t, c); /* the end's record went missing */
		c->tw_end = tr.tw_end;
		c->end_ns = end_ns;
		c->state = TD_CLOSE;
		if (shown(c) && t->hooks.transition)
			t->hooks.transition(t->hooks.arg, c, &tr);
		finish(t, i);
		n++;
	}
	if (!t->rc_failed)
		rc_settle(t, nocookie);
	t->rc_nsocks = 0;
	t->rc_active = false;
	t->stats.reconciled += n;
	t->stats.reconcile_passes++;
	return n;
}
