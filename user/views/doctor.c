// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The doctor: fed by the connection table's hooks while records flow (transitions,
 * finished connections) and by the connections still open at the end, it counts the
 * symptoms of known TCP trouble per group (remote endpoint, local port, owning process)
 * in bounded tables, then writes findings with severity, evidence and advice. Pure:
 * no clock, no /proc; the caller passes what it knows about the host.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmt.h"
#include "doctor.h"
#include "names.h"
#include "loss.h"
#include "sat.h"
#include "state.h"
#include "stats.h"

#define NSEC_PER_SEC 1000000000ULL
#define PPM	     1000000ULL
#define NEX	     3	/* example connections per finding */
#define NTOP	     5	/* top offenders shown per finding */
#define CW_CRIT	     10 /* CLOSE_WAIT held by one process at the end: critical */
#define SYN_CRIT_MUL 10 /* syn-rate times this: critical */
#define RST_CRIT_MUL 5	/* rst-share times this: critical */
#define TW_CRIT_PPM  800000ULL
#define TW_INFO_ALL  1000 /* TIME_WAIT at once on the host that is worth an info */
#define SYN_WARN_MIN 3	  /* failed or stuck connects that make a warning */
#define SYN_CRIT_MIN 10

/* --- groups ---------------------------------------------------------------------------- */

enum gkind {
	G_REMOTE = 1, /* remote address and port */
	G_LPORT,      /* local port */
	G_PROC,	      /* owning process */
};

struct gkey {
	uint8_t kind;
	uint8_t family;
	uint16_t port;
	uint32_t pid;
	uint32_t pod; /* the connections' pod (cgn pod_ix; 0: none): pods are told apart */
	uint8_t addr[16];
	char comm[TD_COMM_LEN];
};

/* Counter slots; their meaning depends on the finding (see the *_N enums below). */
#define GN 6

struct group {
	struct gkey k;
	bool used;
	uint16_t lport; /* G_PROC: a local port of its sockets, for the report */
	uint64_t n[GN];
	uint64_t cur, peak;	 /* TIME_WAIT now and at most (time-wait) */
	uint64_t sec, sec_count; /* syn-recv: the second being counted and its count */
	uint64_t peak_sec;	 /* its busiest second (start, kernel ns) */
	uint64_t first_ns, last_ns;
	uint32_t ctr;	/* the connections' container (cgn ctr_ix), when they share one */
	bool ctr_set;	/* ctr is the first connection's */
	bool ctr_mixed; /* a later one's differs */
};

/* Open addressing over a power-of-two array, at most max groups; once full, new keys
 * count in `other` (and `dropped` counts them) so memory stays bounded. */
struct gtab {
	struct group *v;
	uint32_t cap, n, max;
	struct group other;
	uint64_t dropped;
};

static int gtab_init(struct gtab *t, uint32_t max)
{
	uint32_t cap = 16;

	while (cap < 2 * max)
		cap <<= 1;
	memset(t, 0, sizeof(*t));
	t->v = calloc(cap, sizeof(*t->v));
	t->cap = cap;
	t->max = max;
	return t->v ? 0 : -1;
}

static uint64_t key_hash(const struct gkey *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static struct group *gtab_find(struct gtab *t, const struct gkey *k);

/* The pod of c's cgroup (names.h): part of every key. */
static uint32_t pod_of(const struct conn *c)
{
	const struct cg_name *n = cgn__get(c->cgroup);

	return n ? n->pod_ix : 0;
}

/* The group of key k, which connection c is counted in now. */
static struct group *gtab_get(struct gtab *t, const struct gkey *k, const struct conn *c)
{
	struct group *g = gtab_find(t, k);
	const struct cg_name *n = cgn__get(c->cgroup);
	uint32_t ctr = n ? n->ctr_ix : 0;

	if (!g->ctr_set) {
		g->ctr = ctr;
		g->ctr_set = true;
	} else if (g->ctr != ctr) {
		g->ctr_mixed = true;
	}
	return g;
}

static struct group *gtab_find(struct gtab *t, const struct gkey *k)
{
	uint32_t i = (uint32_t)key_hash(k) & (t->cap - 1);

	for (;; i = (i + 1) & (t->cap - 1)) {
		struct group *g = &t->v[i];

		if (!g->used)
			break;
		if (!memcmp(&g->k, k, sizeof(*k)))
			return g;
	}
	if (t->n >= t->max) {
		t->dropped++;
		return &t->other;
	}
	t->v[i].used = true;
	t->v[i].k = *k;
	t->n++;
	return &t->v[i];
}

/* Keys are compared as bytes: build them from zero. */
static struct gkey key_remote(const struct conn *c)
{
	struct gkey k;

	memset(&k, 0, sizeof(k));
	k.kind = G_REMOTE;
	k.pod = pod_of(c);
	k.family = c->family;
	k.port = c->dport;
	memcpy(k.addr, c->daddr, c->family == 6 ? 16 : 4);
	return k;
}

static struct gkey key_lport(const struct conn *c)
{
	struct gkey k;

	memset(&k, 0, sizeof(k));
	k.kind = G_LPORT;
	k.pod = pod_of(c);
	k.port = c->sport;
	return k;
}

static struct gkey key_proc(const struct conn *c)
{
	struct gkey k;

	memset(&k, 0, sizeof(k));
	k.kind = G_PROC;
	k.pod = pod_of(c);
	k.pid = c->pid;
	if (c->pid)
		memcpy(k.comm, conn__comm(c), TD_COMM_LEN - 1);
	return k;
}

/* A listener's accept queue: the owner of the connections it queued, and their local port
 * (the listener's). */
static struct gkey key_listener(const struct conn *c)
{
	struct gkey k = key_proc(c);

	k.port = c->sport;
	return k;
}

/* The "peer" of a connection for TIME_WAIT and RST: the remote endpoint of an active
 * open (its ephemeral ports are what TIME_WAIT uses up), the local port of a passive one
 * (grouping a server's clients by their ephemeral ports would say nothing). */
static struct gkey key_peer(const struct conn *c)
{
	return c->role == CT_ROLE_PASSIVE ? key_lport(c) : key_remote(c);
}

/* --- examples -------------------------------------------------------------------------- */

struct example {
	bool used;
	uint8_t family, state, lower_bound;
	uint8_t saddr[16], daddr[16];
	uint16_t sport, dport;
	uint32_t pid;
	char comm[TD_COMM_LEN];
	uint64_t ts_ns, dwell_ns;
	const char *what;
	/* The handshake's retransmissions (SYNs, or SYN-ACKs), when known (hs_known). */
	bool hs_known;
	uint8_t hs_retrans;
};

/* Keep the NEX examples with the longest dwell (first seen wins ties). */
static void example_add(struct example *ex, const struct conn *c, int state, uint64_t ts,
			uint64_t dwell, bool lower_bound, const char *what)
{
	int slot = -1;

	for (int i = 0; i < NEX; i++) {
		if (!ex[i].used) {
			slot = i;
			break;
		}
		if (slot < 0 || ex[i].dwell_ns < ex[slot].dwell_ns)
			slot = i;
	}
	if (ex[slot].used && (dwell == CT_DWELL_UNKNOWN || ex[slot].dwell_ns >= dwell))
		return;
	memset(&ex[slot], 0, sizeof(ex[slot]));
	ex[slot].used = true;
	ex[slot].family = c->family;
	ex[slot].state = (uint8_t)state;
	ex[slot].lower_bound = lower_bound;
	memcpy(ex[slot].saddr, c->saddr, 16);
	memcpy(ex[slot].daddr, c->daddr, 16);
	ex[slot].sport = c->sport;
	ex[slot].dport = c->dport;
	ex[slot].pid = c->pid;
	if (c->pid)
		memcpy(ex[slot].comm, conn__comm(c), TD_COMM_LEN - 1);
	ex[slot].ts_ns = ts;
	ex[slot].dwell_ns = dwell == CT_DWELL_UNKNOWN ? 0 : dwell;
	ex[slot].what = what;
	ex[slot].hs_known = (c->flags & CT_F_HANDSHAKE) && state == TD_SYN_SENT;
	ex[slot].hs_retrans = c->hs_retrans;
}

/* --- the doctor ------------------------------------------------------------------------ */

/* syn-sent group counters */
enum { SS_ATTEMPTS, SS_REFUSED, SS_TIMEDOUT, SS_SLOW, SS_PENDING };
/* syn-recv */
enum { SR_OPENS, SR_RESET };
/* close-wait */
enum { CW_HELD, CW_LATE, CW_SEEN };
/* time-wait */
enum { TW_ENTERED, TW_END, TW_REUSED };
/* rst */
enum { RS_ABORTED, RS_ESTABLISHED };
/* accept: accepted after the threshold, ended in the queue, still queued at the end, all
 * accepted */
enum { AW_SLOW, AW_NEVER, AW_PENDING, AW_ACCEPTED };

struct finding_data {
	struct gtab g;
	struct hist h;
	struct example ex[NEX];
};

enum { F_SYN_SENT, F_SYN_RECV, F_CLOSE_WAIT, F_TIME_WAIT, F_RST, F_ACCEPT, F_MAX };

struct doctor {
	struct doctor_config cfg;
	struct finding_data f[F_MAX];
	uint64_t lost_ringbuf, lost_recursion;
	uint64_t transitions, finished, open_conns;
	uint64_t first_ns, last_ns;
	/* syn-sent */
	uint64_t connects;
	/* time-wait */
	uint64_t tw_cur, tw_peak, tw_end_all, tw_entered;
	/* rst */
	uint64_t est_finished, aborted, aborted_from[TD_STATE_MAX];
	/* the resets themselves, where traced (c->rst): sent by reason (CT_RST_NO_REASON: none
	 * given), received */
	uint64_t rst_sent, rst_received, rst_sent_why[CT_RST_NO_REASON + 1];
	/* close-wait */
	uint64_t cw_held, cw_late, cw_seen;
	/* accept */
	uint64_t aw_accepted, aw_slow, aw_never, aw_pending;
	bool accepts; /* every accept is traced (doctor__set_accepts) */
	int nfindings;
	bool alloc_failed;
};

const char *doctor__severity_name(int sev)
{
	static const char *const names[] = {"info", "warning", "critical"};

	return sev >= 0 && sev <= DOCTOR_CRITICAL ? names[sev] : "info";
}

static void config_defaults(struct doctor_config *c)
{
	if (!c->syn_sent_ns)
		c->syn_sent_ns = DOCTOR_SYN_SENT_NS;
	if (!c->close_wait_ns)
		c->close_wait_ns = DOCTOR_CLOSE_WAIT_NS;
	if (!c->accept_wait_ns)
		c->accept_wait_ns = DOCTOR_ACCEPT_WAIT_NS;
	if (!c->syn_rate)
		c->syn_rate = DOCTOR_SYN_RATE;
	if (!c->tw_share_ppm)
		c->tw_share_ppm = DOCTOR_TW_SHARE_PPM;
	if (!c->rst_share_ppm)
		c->rst_share_ppm = DOCTOR_RST_SHARE_PPM;
	if (!c->min_conns)
		c->min_conns = DOCTOR_MIN_CONNS;
	if (!c->max_groups)
		c->max_groups = DOCTOR_MAX_GROUPS;
}

struct doctor *doctor__new(const struct doctor_config *cfg)
{
	struct doctor *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	if (cfg)
		d->cfg = *cfg;
	config_defaults(&d->cfg);
	for (int i = 0; i < F_MAX; i++) {
		hist__init(&d->f[i].h);
		if (gtab_init(&d->f[i].g, d->cfg.max_groups)) {
			doctor__free(d);
			return NULL;
		}
	}
	return d;
}

void doctor__free(struct doctor *d)
{
	if (!d)
		return;
	for (int i = 0; i < F_MAX; i++) {
		free(d->f[i].g.v);
		hist__reset(&d->f[i].h);
	}
	free(d);
}

static void hadd(struct doctor *d, int f, uint64_t v)
{
	if (v != CT_DWELL_UNKNOWN && hist__add(&d->f[f].h, v) < 0)
		d->alloc_failed = true;
}

static void seen_at(struct doctor *d, uint64_t ts)
{
	if (!ts)
		return;
	if (!d->first_ns || ts < d->first_ns)
		d->first_ns = ts;
	if (ts > d->last_ns)
		d->last_ns = ts;
}

static void syn_sent_left(struct doctor *d, const struct conn *c, const struct ct_transition *t)
{
	struct finding_data *f = &d->f[F_SYN_SENT];
	struct gkey k = key_remote(c);
	struct group *g = gtab_get(&f->g, &k, c);
	uint64_t dw = t->dwell_ns;
	bool known = dw != CT_DWELL_UNKNOWN;
	const char *what = NULL;

	d->connects++;
	g->n[SS_ATTEMPTS]++;
	if (t->new == TD_CLOSE) {
		/* Quick: an RST (nobody listens) or ICMP; slow: the SYN retries ran out, or
		 * the application gave up (connect timeout, close before done). */
		if (known && dw >= d->cfg.syn_sent_ns) {
			g->n[SS_TIMEDOUT]++;
			what = "timed out";
		} else {
			g->n[SS_REFUSED]++;
			what = "refused";
		}
	} else if (t->new == TD_ESTABLISHED && known &&dw >= d->cfg.syn_sent_ns) {
		g->n[SS_SLOW]++; /* a SYN or SYN-ACK was lost and retransmitted */
		what = "slow";
	}
	if (!what)
		return;
	hadd(d, F_SYN_SENT, dw);
	g->last_ns = t->ts_ns;
	example_add(f->ex, c, TD_SYN_SENT, t->ts_ns, dw, false, what);
}

static void syn_recv(struct doctor *d, const struct conn *c, const struct ct_transition *t)
{
	struct finding_data *f = &d->f[F_SYN_RECV];
	struct gkey k = key_lport(c);
	struct group *g = gtab_get(&f->g, &k, c);
	uint64_t sec = t->ts_ns / NSEC_PER_SEC;

	if (t->new == TD_CLOSE) {
		g->n[SR_RESET]++;
		return;
	}
	g->n[SR_OPENS]++;
	if (!g->first_ns)
		g->first_ns = t->ts_ns;
	g->last_ns = t->ts_ns;
	/* Records arrive in time order per socket, nearly so across sockets: a record
	 * a little late for its second counts in the current one. */
	if (sec > g->sec || !g->sec_count) {
		g->sec = sec;
		g->sec_count = 0;
	}
	if (++g->sec_count > g->peak) {
		g->peak = g->sec_count;
		g->peak_sec = sec * NSEC_PER_SEC;
		/* Examples: connections of the busiest seconds. */
		example_add(f->ex, c, TD_SYN_RECV, t->ts_ns, g->peak, false, "surge");
	}
}

static void close_wait_left(struct doctor *d, const struct conn *c, const struct ct_transition *t)
{
	struct finding_data *f = &d->f[F_CLOSE_WAIT];
	struct gkey k = key_proc(c);
	struct group *g;

	d->cw_seen++;
	if (t->dwell_ns == CT_DWELL_UNKNOWN)
		return;
	hadd(d, F_CLOSE_WAIT, t->dwell_ns);
	if (t->dwell_ns < d->cfg.close_wait_ns)
		return;
	d->cw_late++;
	g = gtab_get(&f->g, &k, c);
	g->n[CW_LATE]++;
	g->lport = c->sport;
	example_add(f->ex, c, TD_CLOSE_WAIT, t->ts_ns, t->dwell_ns, t->dwell_lower_bound,
		    "closed late");
}

static void tw_enter(struct doctor *d, const struct conn *c)
{
	struct gkey k = key_peer(c);
	struct group *g = gtab_get(&d->f[F_TIME_WAIT].g, &k, c);

	d->tw_entered++;
	g->n[TW_ENTERED]++;
	if (++g->cur > g->peak)
		g->peak = g->cur;
	if (++d->tw_cur > d->tw_peak)
		d->tw_peak = d->tw_cur;
}

static void tw_leave(struct doctor *d, const struct conn *c, const struct ct_transition *t)
{
	struct gkey k = key_peer(c);
	struct group *g = gtab_get(&d->f[F_TIME_WAIT].g, &k, c);

	/* A socket in TIME_WAIT before tracing began leaves without having entered. */
	if (g->cur)
		g->cur--;
	if (d->tw_cur)
		d->tw_cur--;
	if (t->tw_end == CT_TW_REUSED)
		g->n[TW_REUSED]++;
	hadd(d, F_TIME_WAIT, t->dwell_ns);
}

void doctor__transition(struct doctor *d, const struct conn *c, const struct ct_transition *t)
{
	d->transitions++;
	seen_at(d, t->ts_ns);
	if (t->old == TD_SYN_SENT)
		syn_sent_left(d, c, t);
	if ((t->old == TD_LISTEN && t->new == TD_SYN_RECV) ||
	    (t->old == TD_SYN_RECV && t->new == TD_CLOSE))
		syn_recv(d, c, t);
	if (t->old == TD_CLOSE_WAIT)
		close_wait_left(d, c, t);
	if (t->new == TD_TIME_WAIT)
		tw_enter(d, c);
	if (t->old == TD_TIME_WAIT)
		tw_leave(d, c, t);
}

void doctor__set_accepts(struct doctor *d, bool accepts)
{
	d->accepts = accepts;
}

void doctor__accepted(struct doctor *d, const struct conn *c, uint64_t wait_ns)
{
	struct finding_data *f = &d->f[F_ACCEPT];
	struct gkey k = key_listener(c);
	struct group *g = gtab_get(&f->g, &k, c);

	d->aw_accepted++;
	g->n[AW_ACCEPTED]++;
	g->lport = c->sport;
	hadd(d, F_ACCEPT, wait_ns);
	if (wait_ns < d->cfg.accept_wait_ns)
		return;
	d->aw_slow++;
	g->n[AW_SLOW]++;
	example_add(f->ex, c, TD_ESTABLISHED, c->accept_ns, wait_ns, false, "accepted late");
}

/* A passive connection that left the queue without an accept (ended there), or is still
 * in it at now (queued at least the threshold): counted only when every accept is traced
 * (doctor__set_accepts), as one not seen is otherwise no evidence of one not made. */
static void not_accepted(struct doctor *d, const struct conn *c, uint64_t now, uint64_t queued,
			 int slot)
{
	struct finding_data *f = &d->f[F_ACCEPT];
	struct gkey k = key_listener(c);
	uint64_t age = queued && now >= queued ? now - queued : CT_DWELL_UNKNOWN;
	struct group *g;

	if (!d->accepts)
		return;
	if (slot == AW_PENDING && (age == CT_DWELL_UNKNOWN || age < d->cfg.accept_wait_ns))
		return;
	g = gtab_get(&f->g, &k, c);
	if (slot == AW_NEVER)
		d->aw_never++;
	else
		d->aw_pending++;
	g->n[slot]++;
	g->lport = c->sport;
	example_add(f->ex, c, TD_ESTABLISHED, now, age, false,
		    slot == AW_NEVER ? "never accepted" : "still queued");
}

void doctor__finished(struct doctor *d, const struct conn *c)
{
	struct finding_data *f = &d->f[F_RST];
	bool established = false;
	struct group *g;
	struct gkey k;
	int last;

	d->finished++;
	if (conn__never_accepted(c))
		not_accepted(d, c, c->end_ns, conn__unaccepted_since(c), AW_NEVER);
	if (!c->nsteps || c->role == CT_ROLE_LISTEN)
		return;
	for (int i = 0; i < c->nsteps; i++)
		if (c->step_state[i] == TD_ESTABLISHED)
			established = true;
	if (!established)
		return;
	/* A connection that closes cleanly ends LAST_ACK -> CLOSE, or through TIME_WAIT
	 * (CLOSING, FIN_WAIT2); one that goes to CLOSE from these states was aborted: an
	 * RST sent (SO_LINGER 0, close with unread data) or received, or the kernel gave
	 * up on retransmissions. */
	last = c->step_state[c->nsteps - 1];
	k = key_peer(c);
	g = gtab_get(&f->g, &k, c);
	d->est_finished++;
	g->n[RS_ESTABLISHED]++;
	if (c->rst == CT_RST_SENT) {
		d->rst_sent++;
		d->rst_sent_why[c->rst_reason]++;
	} else if (c->rst == CT_RST_RECEIVED) {
		d->rst_received++;
	}
	/* A traced reset says so outright (data after close() aborts FIN_WAIT2 too). */
	if (last != TD_ESTABLISHED && last != TD_CLOSE_WAIT && last != TD_FIN_WAIT1 && !c->rst)
		return;
	d->aborted++;
	d->aborted_from[last]++;
	g->n[RS_ABORTED]++;
	example_add(f->ex, c, last, c->end_ns, conn__step_dwell(c, c->nsteps - 1), false, "reset");
}

void doctor__open_conn(struct doctor *d, const struct conn *c, uint64_t now_ns)
{
	uint64_t enter = c->nsteps ? c->step_ns[c->nsteps - 1] : 0;
	uint64_t age = enter && now_ns >= enter ? now_ns - enter : CT_DWELL_UNKNOWN;
	bool lb = c->nsteps == 1 && c->lower_bound;
	struct group *g;
	struct gkey k;

	d->open_conns++;
	seen_at(d, now_ns);
	/* In the queue still. */
	if (conn__unaccepted_since(c))
		not_accepted(d, c, now_ns, conn__unaccepted_since(c), AW_PENDING);
	if (c->state == TD_SYN_SENT && age != CT_DWELL_UNKNOWN && age >= d->cfg.syn_sent_ns) {
		k = key_remote(c);
		g = gtab_get(&d->f[F_SYN_SENT].g, &k, c);
		d->connects++;
		g->n[SS_ATTEMPTS]++;
		g->n[SS_PENDING]++;
		g->last_ns = now_ns;
		hadd(d, F_SYN_SENT, age);
		example_add(d->f[F_SYN_SENT].ex, c, TD_SYN_SENT, now_ns, age, lb, "pending");
	} else if (c->state == TD_CLOSE_WAIT && age != CT_DWELL_UNKNOWN &&
		   age >= d->cfg.close_wait_ns) {
		k = key_proc(c);
		g = gtab_get(&d->f[F_CLOSE_WAIT].g, &k, c);
		d->cw_held++;
		g->n[CW_HELD]++;
		g->lport = c->sport;
		hadd(d, F_CLOSE_WAIT, age);
		example_add(d->f[F_CLOSE_WAIT].ex, c, TD_CLOSE_WAIT, now_ns, age, lb, "held");
	} else if (c->state == TD_TIME_WAIT || (c->flags & CT_F_TW)) {
		k = key_peer(c);
		g = gtab_get(&d->f[F_TIME_WAIT].g, &k, c);
		g->n[TW_END]++;
		d->tw_end_all++;
		example_add(d->f[F_TIME_WAIT].ex, c, c->state, now_ns, age, lb, "time-wait");
	}
}

void doctor__lost(struct doctor *d, uint64_t ringbuf, uint64_t recursion)
{
	d->lost_ringbuf = ringbuf;
	d->lost_recursion = recursion;
}

int doctor__nfindings(const struct doctor *d)
{
	return d->nfindings;
}

/* --- thresholds ------------------------------------------------------------------------ */

/* --- the report ------------------------------------------------------------------------ */

/* One number of the evidence: its JSON key and how to show it. */
struct kv {
	const char *key;
	uint64_t v;
	enum { KV_N, KV_NS, KV_PPM } fmt;
};

#define MAX_KV	  16
#define MAX_NOTES 3

struct finding {
	const char *id;
	int sev;
	char title[256];
	char summary[512];
	struct kv ev[MAX_KV];
	int nev;
	const struct hist *h; /* p50/p99 of ... */
	const char *h_what;
	struct gtab *g; /* top offenders */
	const char *g_what;
	const char *const *g_names; /* names of the group counters shown, NULL-ended */
	const int *g_slots;
	int g_sort; /* the counter slot they are sorted by; -1: peak */
	const struct example *ex;
	const char *check;
	char notes[MAX_NOTES][200];
	int nnotes;
};

/* The finding's top offenders: group table g, shown with the counters names[] (from
 * slots[], NULL-ended), sorted by counter slot sort (-1: the peak); and its examples. */
static void offenders(struct finding *fd, struct gtab *g, const char *what,
		      const char *const *names, const int *slots, int sort,
		      const struct example *ex)
{
	fd->g = g;
	fd->g_what = what;
	fd->g_names = names;
	fd->g_slots = slots;
	fd->g_sort = sort;
	fd->ex = ex;
}

static void ev(struct finding *f, const char *key, uint64_t v, int fmt)
{
	if (f->nev < MAX_KV)
		f->ev[f->nev++] = (struct kv){key, v, fmt};
}

__attribute__((format(printf, 2, 3))) static void note(struct finding *f, const char *fmt, ...)
{
	va_list ap;

	if (f->nnotes == MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(f->notes[f->nnotes++], sizeof(f->notes[0]), fmt, ap);
	va_end(ap);
}

static uint64_t pct_ppm(uint64_t part, uint64_t whole)
{
	return whole ? (uint64_t)((unsigned __int128)part * PPM / whole) : 0;
}

/* "12.5%" from ppm */
static char *pct(uint64_t ppm, char *buf, size_t len)
{
	if (ppm % 10000 == 0)
		snprintf(buf, len, "%" PRIu64 "%%", ppm / 10000);
	else
		snprintf(buf, len, "%" PRIu64 ".%02" PRIu64 "%%", ppm / 10000, ppm / 100 % 100);
	return buf;
}

static char *dur(uint64_t ns, char *buf, size_t len)
{
	return fmt__dur(ns, buf, len);
}

static void put_time(FILE *f, uint64_t ts, int64_t off, bool json)
{
	int64_t real = sat__realtime(ts, off);
	struct tm tm;
	time_t sec;
	char date[32];

	if (real < 0)
		real = 0;
	sec = real / 1000000000;
	gmtime_r(&sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	if (json)
		fprintf(f, "\"%s.%09" PRId64 "Z\"", date, real % 1000000000);
	else
		fprintf(f, "%s.%03" PRId64 "Z", date + 11, real % 1000000000 / 1000000);
}

/* " in pod NS/NAME, container C" (or the part known) after a group's label: where its
 * connections are (names.h), escaped for a terminal. */
static void group_where(const struct group *g, char *buf, size_t len)
{
	char pod[FMT_TEXT_LEN(64)], ctr[FMT_TEXT_LEN(64)];
	size_t n = strlen(buf);
	bool has_ctr = g->ctr && !g->ctr_mixed;

	if (!g->k.pod && !has_ctr)
		return;
	fmt__text(cgn__pod_name(g->k.pod), SIZE_MAX, pod, sizeof(pod));
	fmt__text(has_ctr ? cgn__ctr_label(g->ctr) : "", SIZE_MAX, ctr, sizeof(ctr));
	if (g->k.pod && has_ctr)
		snprintf(buf + n, len - n, " in pod %s, container %s", pod, ctr);
	else if (g->k.pod)
		snprintf(buf + n, len - n, " in pod %s", pod);
	else
		snprintf(buf + n, len - n, " in container %s", ctr);
}

static char *group_label(const struct group *g, bool other, char *buf, size_t len)
{
	char comm[FMT_TEXT_LEN(TD_COMM_LEN)];

	if (other)
		snprintf(buf, len, "(other groups)");
	else if (g->k.kind == G_REMOTE)
		fmt__endpoint(g->k.family, g->k.addr, g->k.port, buf, len);
	else if (g->k.kind == G_LPORT)
		snprintf(buf, len, "local port %u", g->k.port);
	else if (g->k.pid)
		snprintf(buf, len, "pid %u (%s)", g->k.pid,
			 fmt__text(g->k.comm, sizeof(g->k.comm), comm, sizeof(comm)));
	else
		snprintf(buf, len, "owner unknown");
	if (!other)
		group_where(g, buf, len);
	return buf;
}

static void group_json_key(FILE *f, const struct group *g, bool other)
{
	char a[64];

	if (other) {
		fputs("\"other\":true", f);
	} else if (g->k.kind == G_REMOTE) {
		fputs("\"raddr\":", f);
		fmt__json_put(f, fmt__addr(g->k.family, g->k.addr, a, sizeof(a)), SIZE_MAX);
		fprintf(f, ",\"rport\":%u", g->k.port);
	} else if (g->k.kind == G_LPORT) {
		fprintf(f, "\"lport\":%u", g->k.port);
	} else if (g->k.pid) {
		fprintf(f, "\"pid\":%u,\"comm\":", g->k.pid);
		fmt__json_put(f, g->k.comm, sizeof(g->k.comm));
		if (g->lport)
			fprintf(f, ",\"lport\":%u", g->lport);
	} else {
		fputs("\"pid\":null,\"comm\":null", f);
	}
	if (other)
		return;
	/* Where its connections are, when they are in a pod or a container: the pod, and the
	 * container when they share one. */
	if (g->k.pod) {
		fputs(",\"pod\":", f);
		fmt__json_put(f, cgn__pod_name(g->k.pod), SIZE_MAX);
	}
	if (g->ctr && !g->ctr_mixed) {
		fputs(",\"container\":", f);
		fmt__json_put(f, cgn__ctr_label(g->ctr), SIZE_MAX);
	}
}

static uint64_t sort_value(const struct finding *fd, const struct group *g)
{
	return fd->g_sort < 0 ? g->peak : g->n[fd->g_sort];
}

/* The NTOP groups with the highest sort value, then `other` if it has any. */
static int top_groups(const struct finding *fd, const struct group **top)
{
	const struct gtab *t = fd->g;
	int n = 0;

	for (uint32_t i = 0; i < t->cap; i++) {
		const struct group *g = &t->v[i];
		uint64_t v = sort_value(fd, g);
		int j;

		if (!g->used || !v)
			continue;
		if (n < NTOP)
			n++;
		else if (v <= sort_value(fd, top[NTOP - 1]))
			continue;
		/* insertion: ties keep the earlier slot (deterministic for a given input) */
		for (j = n - 1; j > 0 && sort_value(fd, top[j - 1]) < v; j--)
			top[j] = top[j - 1];
		top[j] = g;
	}
	return n;
}

static bool other_used(const struct gtab *t)
{
	for (int i = 0; i < GN; i++)
		if (t->other.n[i])
			return true;
	return t->other.peak != 0;
}

static void example_text(FILE *f, const struct example *e, int64_t off)
{
	char a[80], b[80], d[32], comm[FMT_TEXT_LEN(TD_COMM_LEN)];

	fputs("    ", f);
	put_time(f, e->ts_ns, off, false);
	fprintf(f, "  %s -> %s", fmt__endpoint(e->family, e->saddr, e->sport, a, sizeof(a)),
		fmt__endpoint(e->family, e->daddr, e->dport, b, sizeof(b)));
	if (e->pid)
		fprintf(f, "  pid %u (%s)", e->pid,
			fmt__text(e->comm, sizeof(e->comm), comm, sizeof(comm)));
	else
		fputs("  owner unknown", f);
	if (!strcmp(e->what, "surge"))
		fprintf(f, "  %s, %" PRIu64 " passive opens in its second\n", state__name(e->state),
			e->dwell_ns);
	else if (e->hs_known)
		fprintf(f, "  %s %s%s, %s: %u SYN%s retransmitted\n", state__name(e->state),
			e->lower_bound ? ">= " : "", dur(e->dwell_ns, d, sizeof(d)), e->what,
			e->hs_retrans, e->hs_retrans == 1 ? "" : "s");
	else
		fprintf(f, "  %s %s%s, %s\n", state__name(e->state), e->lower_bound ? ">= " : "",
			dur(e->dwell_ns, d, sizeof(d)), e->what);
}

static void example_json(FILE *f, const struct example *e, int64_t off)
{
	char a[64];

	fputs("{\"time\":", f);
	put_time(f, e->ts_ns, off, true);
	fputs(",\"laddr\":", f);
	fmt__json_put(f, fmt__addr(e->family, e->saddr, a, sizeof(a)), SIZE_MAX);
	fprintf(f, ",\"lport\":%u,\"raddr\":", e->sport);
	fmt__json_put(f, fmt__addr(e->family, e->daddr, a, sizeof(a)), SIZE_MAX);
	fprintf(f, ",\"rport\":%u,\"pid\":", e->dport);
	if (e->pid) {
		fprintf(f, "%u,\"comm\":", e->pid);
		fmt__json_put(f, e->comm, sizeof(e->comm));
	} else {
		fputs("null,\"comm\":null", f);
	}
	fputs(",\"state\":", f);
	fmt__json_put(f, state__name(e->state), SIZE_MAX);
	if (!strcmp(e->what, "surge"))
		fprintf(f, ",\"opens_in_second\":%" PRIu64, e->dwell_ns);
	else
		fprintf(f, ",\"dwell_ns\":%" PRIu64 ",\"dwell_lower_bound\":%s", e->dwell_ns,
			e->lower_bound ? "true" : "false");
	if (e->hs_known)
		fprintf(f, ",\"syn_retrans\":%u", e->hs_retrans);
	fputs(",\"what\":", f);
	fmt__json_put(f, e->what, SIZE_MAX);
	putc('}', f);
}

static void finding_text(FILE *f, const struct finding *fd, int64_t off)
{
	static const char *const sev[] = {"INFO", "WARNING", "CRITICAL"};
	const struct group *top[NTOP];
	int ntop = fd->g ? top_groups(fd, top) : 0;
	char buf[640], d1[32], d2[32];

	fprintf(f, "\n%-8s  %s: %s\n", sev[fd->sev], fd->id, fd->title);
	fprintf(f, "  evidence: %s\n", fd->summary);
	if (fd->h && fd->h->count)
		fprintf(f, "            %s: p50 %s, p99 %s, max %s (%" PRIu64 " samples)\n",
			fd->h_what, dur(hist__quantile(fd->h, 0.5), d1, sizeof(d1)),
			dur(hist__quantile(fd->h, 0.99), d2, sizeof(d2)),
			dur(fd->h->max, buf, sizeof(buf)), fd->h->count);
	if (ntop) {
		fprintf(f, "  top %s (%u seen", fd->g_what, fd->g->n);
		if (fd->g->dropped)
			fprintf(f, ", more not kept: %" PRIu64 " samples in other", fd->g->dropped);
		fputs("):\n", f);
		for (int i = 0; i <= ntop; i++) {
			const struct group *g = i < ntop ? top[i] : &fd->g->other;

			if (i == ntop && !other_used(fd->g))
				break;
			fprintf(f, "    %-28s", group_label(g, i == ntop, buf, sizeof(buf)));
			for (int j = 0; fd->g_names[j]; j++)
				fprintf(f, "  %s %" PRIu64, fd->g_names[j],
					fd->g_slots[j] < 0 ? g->peak : g->n[fd->g_slots[j]]);
			if (fd->g_slots[0] < 0 && g->k.kind == G_LPORT && g->peak_sec) {
				fputs("  at ", f);
				put_time(f, g->peak_sec, off, false);
			}
			if (g->k.kind == G_PROC && g->lport)
				fprintf(f, "  (local port %u)", g->lport);
			putc('\n', f);
		}
	}
	if (fd->ex && fd->ex[0].used) {
		fputs("  examples:\n", f);
		for (int i = 0; i < NEX && fd->ex[i].used; i++)
			example_text(f, &fd->ex[i], off);
	}
	for (int i = 0; i < fd->nnotes; i++)
		fprintf(f, "  note: %s\n", fd->notes[i]);
	fprintf(f, "  check: %s\n", fd->check);
}

static void finding_json(FILE *f, const struct finding *fd, int64_t off)
{
	const struct group *top[NTOP];
	int ntop = fd->g ? top_groups(fd, top) : 0;

	fputs("{\"id\":", f);
	fmt__json_put(f, fd->id, SIZE_MAX);
	fputs(",\"severity\":", f);
	fmt__json_put(f, doctor__severity_name(fd->sev), SIZE_MAX);
	fputs(",\"title\":", f);
	fmt__json_put(f, fd->title, SIZE_MAX);
	fputs(",\"summary\":", f);
	fmt__json_put(f, fd->summary, SIZE_MAX);
	fputs(",\"evidence\":{", f);
	for (int i = 0; i < fd->nev; i++)
		fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", fd->ev[i].key, fd->ev[i].v);
	if (fd->h && fd->h->count)
		fprintf(f,
			"%s\"samples\":%" PRIu64 ",\"p50_ns\":%" PRIu64 ",\"p99_ns\":%" PRIu64
			",\"max_ns\":%" PRIu64,
			fd->nev ? "," : "", fd->h->count, hist__quantile(fd->h, 0.5),
			hist__quantile(fd->h, 0.99), fd->h->max);
	fputs("}", f);
	if (fd->g) {
		fprintf(f, ",\"groups\":%u,\"groups_dropped_samples\":%" PRIu64 ",\"top\":[",
			fd->g->n, fd->g->dropped);
		for (int i = 0; i <= ntop; i++) {
			const struct group *g = i < ntop ? top[i] : &fd->g->other;

			if (i == ntop && !other_used(fd->g))
				break;
			fputs(i ? ",{" : "{", f);
			group_json_key(f, g, i == ntop);
			for (int j = 0; fd->g_names[j]; j++)
				fprintf(f, ",\"%s\":%" PRIu64, fd->g_names[j],
					fd->g_slots[j] < 0 ? g->peak : g->n[fd->g_slots[j]]);
			if (fd->g_slots[0] < 0 && g->k.kind == G_LPORT && g->peak_sec) {
				fputs(",\"peak_at\":", f);
				put_time(f, g->peak_sec, off, true);
			}
			putc('}', f);
		}
		putc(']', f);
	}
	fputs(",\"examples\":[", f);
	for (int i = 0; fd->ex && i < NEX && fd->ex[i].used; i++) {
		if (i)
			putc(',', f);
		example_json(f, &fd->ex[i], off);
	}
	fputs("],\"notes\":[", f);
	for (int i = 0; i < fd->nnotes; i++) {
		if (i)
			putc(',', f);
		fmt__json_put(f, fd->notes[i], SIZE_MAX);
	}
	fputs("],\"check\":", f);
	fmt__json_put(f, fd->check, SIZE_MAX);
	putc('}', f);
}

/* --- the findings ---------------------------------------------------------------------- */

static const char *const ss_names[] = {"refused", "timed_out", "slow", "pending", "attempts", NULL};
static const int ss_slots[] = {SS_REFUSED, SS_TIMEDOUT, SS_SLOW, SS_PENDING, SS_ATTEMPTS};

/* Sum over every group (kept and other) of counter slot i. */
static uint64_t gsum(const struct gtab *t, int i)
{
	uint64_t s = t->other.n[i];

	for (uint32_t j = 0; j < t->cap; j++)
		if (t->v[j].used)
			s += t->v[j].n[i];
	return s;
}

/* A group sort slot for syn-sent: everything bad. Stored in slot GN-1. */
static void syn_sent_badness(struct gtab *t)
{
	for (uint32_t j = 0; j <= t->cap; j++) {
		struct group *g = j < t->cap ? &t->v[j] : &t->other;

		if (j < t->cap && !g->used)
			continue;
		g->n[GN - 1] =
		    g->n[SS_REFUSED] + g->n[SS_TIMEDOUT] + g->n[SS_SLOW] + g->n[SS_PENDING];
	}
}

static bool find_syn_sent(struct doctor *d, struct finding *fd)
{
	struct gtab *t = &d->f[F_SYN_SENT].g;
	uint64_t refused = gsum(t, SS_REFUSED), timedout = gsum(t, SS_TIMEDOUT),
		 slow = gsum(t, SS_SLOW), pending = gsum(t, SS_PENDING);
	uint64_t bad = refused + timedout + slow + pending;
	char p[32], th[32];

	if (!bad)
		return false;
	syn_sent_badness(t);
	fd->id = "syn-sent";
	snprintf(fd->title, sizeof(fd->title), "connects refused, timed out or stuck in SYN_SENT");
	fd->sev = bad >= SYN_CRIT_MIN && bad * 2 >= d->connects ? DOCTOR_CRITICAL
		  : bad >= SYN_WARN_MIN				? DOCTOR_WARNING
								: DOCTOR_INFO;
	dur(d->cfg.syn_sent_ns, th, sizeof(th));
	snprintf(fd->summary, sizeof(fd->summary),
		 "%" PRIu64 " of %" PRIu64 " connects (%s) failed or were slow: %" PRIu64
		 " refused (SYN_SENT -> CLOSE in under %s), %" PRIu64 " timed out (after %s or "
		 "more), %" PRIu64 " established only after %s or more, %" PRIu64
		 " still in SYN_SENT for %s or more at the end",
		 bad, d->connects, pct(pct_ppm(bad, d->connects), p, sizeof(p)), refused, th,
		 timedout, th, slow, th, pending, th);
	ev(fd, "connects", d->connects, KV_N);
	ev(fd, "refused", refused, KV_N);
	ev(fd, "timed_out", timedout, KV_N);
	ev(fd, "slow", slow, KV_N);
	ev(fd, "pending", pending, KV_N);
	ev(fd, "threshold_ns", d->cfg.syn_sent_ns, KV_NS);
	fd->h = &d->f[F_SYN_SENT].h;
	fd->h_what = "time in SYN_SENT of these";
	offenders(fd, t, "remote endpoints", ss_names, ss_slots, GN - 1, d->f[F_SYN_SENT].ex);
	fd->check =
	    "refused: is the service up and listening on that port (ss -ltn on the "
	    "server), is the address right? timed out, slow or pending: SYNs are dropped "
	    "on the way or by the server: firewall rules, a full accept queue on the server "
	    "(nstat TcpExtListenOverflows, ss -ltn Recv-Q vs Send-Q), routing; the client "
	    "retries per net.ipv4.tcp_syn_retries.";
	return true;
}

static const char *const sr_names[] = {"peak_per_s", "opens", "reset", NULL};
static const int sr_slots[] = {-1, SR_OPENS, SR_RESET};

static bool find_syn_recv(struct doctor *d, struct finding *fd)
{
	struct gtab *t = &d->f[F_SYN_RECV].g;
	const struct group *worst = NULL;
	uint64_t opens = gsum(t, SR_OPENS), resets = gsum(t, SR_RESET), ports = 0;
	char th[32], when[64] = "";

	for (uint32_t j = 0; j < t->cap; j++) {
		const struct group *g = &t->v[j];

		if (!g->used)
			continue;
		if (g->peak >= d->cfg.syn_rate)
			ports++;
		if (!worst || g->peak > worst->peak)
			worst = g;
	}
	if (!worst || worst->peak < d->cfg.syn_rate)
		return false;
	fd->id = "syn-recv";
	snprintf(fd->title, sizeof(fd->title), "surge of incoming connections (SYN_RECV) on %s%u",
		 "local port ", worst->k.port);
	fd->sev = worst->peak >= (uint64_t)d->cfg.syn_rate * SYN_CRIT_MUL ? DOCTOR_CRITICAL
									  : DOCTOR_WARNING;
	snprintf(th, sizeof(th), "%u", d->cfg.syn_rate);
	{
		uint64_t span =
		    worst->last_ns > worst->first_ns ? worst->last_ns - worst->first_ns : 0;
		uint64_t mean = span >= NSEC_PER_SEC ? worst->n[SR_OPENS] * NSEC_PER_SEC / span
						     : worst->n[SR_OPENS];

		snprintf(when, sizeof(when), "%" PRIu64, mean);
		snprintf(fd->summary, sizeof(fd->summary),
			 "local port %u took %" PRIu64 " passive opens (LISTEN -> SYN_RECV) in one "
			 "second, %" PRIu64 " in all (about %s per second on average); %" PRIu64
			 " ports at or over %s per second; %" PRIu64 " SYN_RECV -> CLOSE (reset "
			 "before established) in all",
			 worst->k.port, worst->peak, worst->n[SR_OPENS], when, ports, th, resets);
		ev(fd, "peak_per_s", worst->peak, KV_N);
		ev(fd, "lport", worst->k.port, KV_N);
		ev(fd, "opens", opens, KV_N);
		ev(fd, "mean_per_s", mean, KV_N);
		ev(fd, "ports_over", ports, KV_N);
		ev(fd, "reset", resets, KV_N);
		ev(fd, "threshold_per_s", d->cfg.syn_rate, KV_N);
	}
	offenders(fd, t, "local ports by busiest second", sr_names, sr_slots, -1,
		  d->f[F_SYN_RECV].ex);
	fd->check = "is the surge expected (a deploy, a reconnect storm after a restart, a "
		    "retry loop in clients) or a SYN flood (many remote addresses, few "
		    "established)? Is the server accepting fast enough: ss -ltn (Recv-Q against "
		    "Send-Q = backlog), nstat TcpExtListenOverflows and TcpExtListenDrops, "
		    "net.core.somaxconn, net.ipv4.tcp_max_syn_backlog, tcp_syncookies.";
	return true;
}

static const char *const cw_names[] = {"held", "closed_late", NULL};
static const int cw_slots[] = {CW_HELD, CW_LATE};

static bool find_close_wait(struct doctor *d, struct finding *fd)
{
	struct gtab *t = &d->f[F_CLOSE_WAIT].g;
	const struct group *worst = NULL;
	char th[32];

	if (!d->cw_held && !d->cw_late)
		return false;
	for (uint32_t j = 0; j < t->cap; j++)
		if (t->v[j].used && (!worst || t->v[j].n[CW_HELD] > worst->n[CW_HELD]))
			worst = &t->v[j];
	if (t->other.n[CW_HELD] > (worst ? worst->n[CW_HELD] : 0))
		worst = &t->other;
	fd->id = "close-wait";
	dur(d->cfg.close_wait_ns, th, sizeof(th));
	if (d->cw_held && worst && worst != &t->other && worst->k.pid) {
		char where[640] = "";

		group_where(worst, where, sizeof(where));
		snprintf(fd->title, sizeof(fd->title),
			 "CLOSE_WAIT leak: pid %u (%s)%s holds %" PRIu64 " peer-closed sockets open",
			 worst->k.pid, worst->k.comm, where, worst->n[CW_HELD]);
	} else if (d->cw_held)
		snprintf(fd->title, sizeof(fd->title),
			 "CLOSE_WAIT leak: %" PRIu64 " peer-closed sockets held open", d->cw_held);
	else
		snprintf(fd->title, sizeof(fd->title),
			 "sockets closed late: CLOSE_WAIT longer than %s", th);
	fd->sev = worst && worst->n[CW_HELD] >= CW_CRIT ? DOCTOR_CRITICAL : DOCTOR_WARNING;
	snprintf(fd->summary, sizeof(fd->summary),
		 "%" PRIu64 " sockets still in CLOSE_WAIT for %s or more at the end, %" PRIu64
		 " closed after %s or more in CLOSE_WAIT, of %" PRIu64 " that left CLOSE_WAIT "
		 "while traced",
		 d->cw_held, th, d->cw_late, th, d->cw_seen);
	ev(fd, "held", d->cw_held, KV_N);
	ev(fd, "closed_late", d->cw_late, KV_N);
	ev(fd, "left_close_wait", d->cw_seen, KV_N);
	ev(fd, "threshold_ns", d->cfg.close_wait_ns, KV_NS);
	fd->h = &d->f[F_CLOSE_WAIT].h;
	fd->h_what = "time in CLOSE_WAIT (all closed, and those held)";
	offenders(fd, t, "owning processes", cw_names, cw_slots, d->cw_held ? CW_HELD : CW_LATE,
		  d->f[F_CLOSE_WAIT].ex);
	fd->check = "the peer closed and the process has not: find the code path that reads EOF "
		    "(read() returning 0) or an error without close() (connection pools, leaked "
		    "handles, a blocked worker). ss -tanp state close-wait; ls -l /proc/PID/fd; "
		    "a leak grows the fd count until EMFILE.";
	return true;
}

static const char *const tw_names[] = {"peak", "at_end", "entered", "reused", NULL};
static const int tw_slots[] = {-1, TW_END, TW_ENTERED, TW_REUSED};

static bool find_time_wait(struct doctor *d, const struct doctor_host *h, struct finding *fd)
{
	struct gtab *t = &d->f[F_TIME_WAIT].g;
	const struct group *worst = NULL;
	uint32_t lo = h->port_lo, hi = h->port_hi;
	bool range_known = lo && hi >= lo;
	uint64_t range, all, share, bshare = 0;
	char p1[32], p2[32], ep[96];

	/* The end count is exact (it includes sockets in TIME_WAIT before tracing began);
	 * the running count is not: keep the larger as the peak. */
	for (uint32_t j = 0; j <= t->cap; j++) {
		struct group *g = j < t->cap ? &t->v[j] : &t->other;

		if (j < t->cap && !g->used)
			continue;
		if (g->n[TW_END] > g->peak)
			g->peak = g->n[TW_END];
		if (j < t->cap && g->k.kind == G_REMOTE && (!worst || g->peak > worst->peak))
			worst = g;
	}
	all = d->tw_peak > d->tw_end_all ? d->tw_peak : d->tw_end_all;
	if (!all)
		return false;
	if (!range_known) {
		lo = DOCTOR_DEFAULT_PORT_LO;
		hi = DOCTOR_DEFAULT_PORT_HI;
	}
	range = (uint64_t)hi - lo + 1;
	share = worst ? pct_ppm(worst->peak, range) : 0;
	if (h->max_tw_buckets)
		bshare = pct_ppm(all, h->max_tw_buckets);
	if (share >= TW_CRIT_PPM || bshare >= TW_CRIT_PPM)
		fd->sev = DOCTOR_CRITICAL;
	else if (share >= d->cfg.tw_share_ppm || bshare >= d->cfg.tw_share_ppm)
		fd->sev = DOCTOR_WARNING;
	else if (all >= TW_INFO_ALL || share >= d->cfg.tw_share_ppm / 5)
		fd->sev = DOCTOR_INFO;
	else
		return false;
	fd->id = "time-wait";
	snprintf(fd->title, sizeof(fd->title), "TIME_WAIT load%s%s",
		 worst ? ": ephemeral ports to " : "",
		 worst
		     ? fmt__endpoint(worst->k.family, worst->k.addr, worst->k.port, ep, sizeof(ep))
		       : "");
	snprintf(fd->summary, sizeof(fd->summary),
		 "up to %" PRIu64 " sockets in TIME_WAIT at once (%" PRIu64 " at the end, %" PRIu64
		 " entered while traced)%s%s%s; up to %" PRIu64 " to one remote endpoint, %s of "
		 "the %" PRIu64 " ephemeral ports (%u-%u%s)",
		 all, d->tw_end_all, d->tw_entered, h->max_tw_buckets ? ", " : "",
		 h->max_tw_buckets ? pct(bshare, p2, sizeof(p2)) : "",
		 h->max_tw_buckets ? " of tcp_max_tw_buckets" : "", worst ? worst->peak : 0,
		 pct(share, p1, sizeof(p1)), range, lo, hi,
		 range_known ? "" : ", Linux's default: this host's range is not known");
	ev(fd, "peak", all, KV_N);
	ev(fd, "at_end", d->tw_end_all, KV_N);
	ev(fd, "entered", d->tw_entered, KV_N);
	ev(fd, "endpoint_peak", worst ? worst->peak : 0, KV_N);
	ev(fd, "endpoint_share_ppm", share, KV_PPM);
	ev(fd, "port_range_size", range, KV_N);
	ev(fd, "port_range_known", range_known, KV_N);
	ev(fd, "max_tw_buckets", h->max_tw_buckets, KV_N);
	if (h->max_tw_buckets)
		ev(fd, "buckets_share_ppm", bshare, KV_PPM);
	ev(fd, "threshold_ppm", d->cfg.tw_share_ppm, KV_PPM);
	if (!range_known)
		note(fd,
		     "net.ipv4.ip_local_port_range of the traced host is not known (a "
		     "recording from another host?): compared with Linux's default %u-%u",
		     lo, hi);
	if (!h->max_tw_buckets)
		note(fd, "net.ipv4.tcp_max_tw_buckets of the traced host is not known: not "
			 "compared");
	fd->h = &d->f[F_TIME_WAIT].h;
	fd->h_what = "time in TIME_WAIT (ended while traced)";
	offenders(fd, t, "remote endpoints (active close) and local ports (server closes first)",
		  tw_names, tw_slots, -1, d->f[F_TIME_WAIT].ex);
	fd->check = "each TIME_WAIT holds its 4-tuple for 60 s: many short connections to one "
		    "endpoint use up the ephemeral ports (connect() fails with EADDRNOTAVAIL). "
		    "Reuse connections (keep-alive, pooling), let the server close first, widen "
		    "net.ipv4.ip_local_port_range, enable net.ipv4.tcp_tw_reuse for clients; "
		    "dmesg \"time wait bucket table overflow\" means tcp_max_tw_buckets was hit.";
	return true;
}

static const char *const rs_names[] = {"aborted", "established", NULL};
static const int rs_slots[] = {RS_ABORTED, RS_ESTABLISHED};

static bool find_rst(struct doctor *d, struct finding *fd)
{
	uint64_t share = pct_ppm(d->aborted, d->est_finished);
	uint64_t crit = (uint64_t)d->cfg.rst_share_ppm * RST_CRIT_MUL;
	char p[32], t1[32];

	uint64_t others = d->aborted - d->aborted_from[TD_ESTABLISHED] -
			  d->aborted_from[TD_CLOSE_WAIT] - d->aborted_from[TD_FIN_WAIT1];
	char other[64] = "";

	if (d->est_finished < d->cfg.min_conns || !d->aborted || share < d->cfg.rst_share_ppm)
		return false;
	/* A traced reset ends a connection from any state (data after close(): FIN_WAIT2). */
	if (others)
		snprintf(other, sizeof(other), ", %" PRIu64 " from other states (a traced reset)",
			 others);
	if (crit > PPM)
		crit = PPM;
	fd->id = "rst";
	fd->sev = share >= crit ? DOCTOR_CRITICAL : DOCTOR_WARNING;
	snprintf(fd->title, sizeof(fd->title), "%s of connections ended by RST",
		 pct(share, p, sizeof(p)));
	snprintf(fd->summary, sizeof(fd->summary),
		 "%" PRIu64 " of %" PRIu64 " established connections that ended while traced "
		 "went to CLOSE without a clean close (threshold %s): %" PRIu64
		 " from ESTABLISHED, %" PRIu64 " from CLOSE_WAIT, %" PRIu64 " from FIN_WAIT1%s",
		 d->aborted, d->est_finished, pct(d->cfg.rst_share_ppm, t1, sizeof(t1)),
		 d->aborted_from[TD_ESTABLISHED], d->aborted_from[TD_CLOSE_WAIT],
		 d->aborted_from[TD_FIN_WAIT1], other);
	ev(fd, "aborted", d->aborted, KV_N);
	ev(fd, "established", d->est_finished, KV_N);
	ev(fd, "share_ppm", share, KV_PPM);
	ev(fd, "from_established", d->aborted_from[TD_ESTABLISHED], KV_N);
	ev(fd, "from_close_wait", d->aborted_from[TD_CLOSE_WAIT], KV_N);
	ev(fd, "from_fin_wait1", d->aborted_from[TD_FIN_WAIT1], KV_N);
	ev(fd, "threshold_ppm", d->cfg.rst_share_ppm, KV_PPM);
	if (d->rst_sent || d->rst_received) {
		/* Who reset, and why, where the resets were traced. */
		char why[400];
		size_t n = 0;

		ev(fd, "rst_sent", d->rst_sent, KV_N);
		ev(fd, "rst_received", d->rst_received, KV_N);
		why[0] = 0;
		for (uint32_t r = 0; r <= CT_RST_NO_REASON && n < sizeof(why); r++) {
			const char *name = r < CT_RST_NO_REASON ? rst__name(r) : "no reason";
			char num[16];

			if (!d->rst_sent_why[r])
				continue;
			if (!name) {
				snprintf(num, sizeof(num), "%u", r);
				name = num;
			}
			n += (size_t)snprintf(why + n, sizeof(why) - n, "%s%s %" PRIu64, n ? ", " : "",
					      name, d->rst_sent_why[r]);
		}
		note(fd, "resets traced: %" PRIu64 " sent%s%s%s, %" PRIu64 " received", d->rst_sent,
		     d->rst_sent ? " (" : "", d->rst_sent ? why : "", d->rst_sent ? ")" : "",
		     d->rst_received);
	}
	offenders(fd, &d->f[F_RST].g, "remote endpoints (active opens) and local ports (passive)",
		  rs_names, rs_slots, RS_ABORTED, d->f[F_RST].ex);
	fd->check = "who sends the RST: a peer or middlebox timing out idle connections, "
		    "SO_LINGER 0 closes, close() with unread data, a crashing or restarting "
		    "process, or retransmissions giving up (nstat TcpExtTCPAbortOnData, "
		    "TcpExtTCPAbortOnTimeout, TcpOutRsts); tcpdump 'tcp[tcpflags] & tcp-rst != 0'.";
	return true;
}

static const char *const aw_names[] = {"accepted_late", "never_accepted", "still_queued",
				       "accepted", NULL};
static const int aw_slots[] = {AW_SLOW, AW_NEVER, AW_PENDING, AW_ACCEPTED};

static bool find_accept(struct doctor *d, struct finding *fd)
{
	struct gtab *t = &d->f[F_ACCEPT].g;
	const struct group *worst = NULL;
	uint64_t never = d->aw_never, pending = d->aw_pending;
	uint64_t bad = d->aw_slow + never + pending;
	char th[32], comm[FMT_TEXT_LEN(TD_COMM_LEN)];

	if (bad < SYN_WARN_MIN)
		return false;
	for (uint32_t j = 0; j < t->cap; j++) {
		const struct group *g = &t->v[j];
		uint64_t n = g->n[AW_SLOW] + g->n[AW_NEVER] + g->n[AW_PENDING];

		if (g->used && n &&
		    (!worst || n > worst->n[AW_SLOW] + worst->n[AW_NEVER] + worst->n[AW_PENDING]))
			worst = g;
	}
	fd->id = "accept-queue";
	fd->sev = bad >= SYN_CRIT_MIN ? DOCTOR_CRITICAL : DOCTOR_WARNING;
	dur(d->cfg.accept_wait_ns, th, sizeof(th));
	if (worst && worst->k.pid)
		snprintf(fd->title, sizeof(fd->title),
			 "slow accept: pid %u (%s) leaves connections in the accept queue of port "
			 "%u",
			 worst->k.pid,
			 fmt__text(worst->k.comm, sizeof(worst->k.comm), comm, sizeof(comm)),
			 worst->k.port);
	else if (worst)
		snprintf(fd->title, sizeof(fd->title),
			 "slow accept: connections wait in the accept queue of port %u",
			 worst->k.port);
	else
		snprintf(fd->title, sizeof(fd->title),
			 "slow accept: connections wait in accept queues");
	snprintf(fd->summary, sizeof(fd->summary),
		 "%" PRIu64 " of %" PRIu64 " accepted connections waited %s or more in the "
		 "accept queue; %s",
		 d->aw_slow, d->aw_accepted, th,
		 d->accepts ? ""
			    : "accepts were not all traced, so connections never accepted "
			      "are not known");
	if (d->accepts) {
		size_t n = strlen(fd->summary);

		snprintf(fd->summary + n, sizeof(fd->summary) - n,
			 "%" PRIu64 " ended there never accepted, %" PRIu64
			 " were still there after %s or more at the end",
			 never, pending, th);
	}
	ev(fd, "accepted_late", d->aw_slow, KV_N);
	ev(fd, "accepted", d->aw_accepted, KV_N);
	if (d->accepts) {
		ev(fd, "never_accepted", never, KV_N);
		ev(fd, "still_queued", pending, KV_N);
	}
	ev(fd, "threshold_ns", d->cfg.accept_wait_ns, KV_NS);
	fd->h = &d->f[F_ACCEPT].h;
	fd->h_what = "accept-queue wait of the accepted";
	offenders(fd, t, "listeners (owner and port)", aw_names, aw_slots,
		  d->aw_slow >= never + pending ? AW_SLOW
		  : never >= pending		? AW_NEVER
						: AW_PENDING,
		  d->f[F_ACCEPT].ex);
	fd->check =
	    "the application accepts too slowly: its accept loop is blocked or "
	    "starved (a single thread doing the work, a full worker pool, a stalled event "
	    "loop). ss -ltn (Recv-Q against Send-Q = backlog); nstat TcpExtListenOverflows. "
	    "Accepts made through io_uring pass no syscall tracepoint: such a server's "
	    "connections all look never accepted.";
	return true;
}

static void add_common_notes(struct doctor *d, const struct doctor_host *h, struct finding *fd)
{
	if (d->lost_ringbuf || d->lost_recursion) {
		char n[24];

		note(fd, "%s records were lost while tracing: counts are lower bounds",
		     loss__fmt(n, sizeof(n), loss__add(d->lost_ringbuf, d->lost_recursion)));
	}
	if (h->evicted)
		note(fd,
		     "%" PRIu64 " connections were evicted (--max-conns): counts are lower "
		     "bounds",
		     h->evicted);
	if (h->chain_breaks)
		note(fd,
		     "%" PRIu64 " chain breaks (a connection's records showed one missing): "
		     "no dwell across them is counted",
		     h->chain_breaks);
	if (d->alloc_failed)
		note(fd, "out of memory: some dwell samples were not counted");
}

int doctor__report(struct doctor *d, const struct doctor_host *host, FILE *f, bool json,
		   int64_t realtime_offset_ns)
{
	static const struct doctor_host none;
	const struct doctor_host *h = host ? host : &none;
	struct finding *fds = calloc(F_MAX + 2, sizeof(*fds)); /* + records-lost, chain-breaks */
	uint64_t start = h->start_ns ?: d->first_ns, end = h->end_ns ?: d->last_ns;
	uint64_t span = end > start ? end - start : 0;
	const char *source = h->source ?: "live";
	int n = 0, worst = DOCTOR_INFO;
	char d1[32], hostname[256]; /* a host name (at most 255 bytes), escaped: what fits */
	char la[24], lb[24], lt[24];

	if (!fds)
		return -1;
	if (find_syn_sent(d, &fds[n]))
		n++;
	if (find_syn_recv(d, &fds[n]))
		n++;
	if (find_close_wait(d, &fds[n]))
		n++;
	if (find_time_wait(d, h, &fds[n]))
		n++;
	if (find_rst(d, &fds[n]))
		n++;
	if (find_accept(d, &fds[n]))
		n++;
	if (d->lost_ringbuf || d->lost_recursion) {
		struct finding *fd = &fds[n++];
		char a[24], b[24], t[24];

		fd->id = "records-lost";
		fd->sev = DOCTOR_WARNING;
		snprintf(fd->title, sizeof(fd->title), "the kernel lost %s records",
			 loss__fmt(t, sizeof(t), loss__add(d->lost_ringbuf, d->lost_recursion)));
		snprintf(
		    fd->summary, sizeof(fd->summary),
			 "%s with the ring buffer full, %s skipped while another BPF program ran on "
			 "the CPU: every count here is a lower bound and a connection may be "
			 "missing from every finding",
			 loss__fmt(a, sizeof(a), d->lost_ringbuf),
			 loss__fmt(b, sizeof(b), d->lost_recursion));
		/* An unknown count has no number to give (loss.h). */
		if (d->lost_ringbuf != LOSS_UNKNOWN)
			ev(fd, "ringbuf", d->lost_ringbuf, KV_N);
		if (d->lost_recursion != LOSS_UNKNOWN)
			ev(fd, "recursion", d->lost_recursion, KV_N);
		fd->check = "a larger --ringbuf-size or a lower --latency; filters (-L, -R, -p) "
			    "to trace less.";
	}
	if (h->chain_breaks && !d->lost_ringbuf && !d->lost_recursion) {
		/* With a loss counted, records-lost says it all; without, it is a bug. */
		struct finding *fd = &fds[n++];

		fd->id = "chain-breaks";
		fd->sev = DOCTOR_WARNING;
		snprintf(fd->title, sizeof(fd->title),
			 "%" PRIu64 " record%s went missing with no loss counted", h->chain_breaks,
			 h->chain_breaks == 1 ? "" : "s");
		snprintf(fd->summary, sizeof(fd->summary),
			 "%" PRIu64 " times a connection's records showed an earlier one missing "
			 "(a chain break) while the kernel counted no record lost: a tcpdwell bug; "
			 "those connections are marked incomplete and no dwell spans the gap",
			 h->chain_breaks);
		ev(fd, "chain_breaks", h->chain_breaks, KV_N);
		fd->check = "report it, with a recording of the run (tcpdwell record -w FILE).";
	}
	/* Worst first, then in the order above. */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && fds[j].sev > fds[j - 1].sev; j--) {
			struct finding tmp = fds[j];

			fds[j] = fds[j - 1];
			fds[j - 1] = tmp;
		}
	for (int i = 0; i < n; i++) {
		if (strcmp(fds[i].id, "records-lost") && strcmp(fds[i].id, "chain-breaks"))
			add_common_notes(d, h, &fds[i]);
		if (fds[i].sev > worst)
			worst = fds[i].sev;
	}
	d->nfindings = n;

	if (json) {
		fputs("{\"type\":\"doctor\",\"source\":", f);
		fmt__json_put(f, source, SIZE_MAX);
		fputs(",\"host\":", f);
		fmt__json_put(f, h->host ?: "", SIZE_MAX);
		fprintf(f,
			",\"duration_ns\":%" PRIu64 ",\"transitions\":%" PRIu64
			",\"finished\":%" PRIu64 ",\"open\":%" PRIu64
			",\"lost\":{\"ringbuf\":%s,\"recursion\":%s},\"evicted\":%" PRIu64
			",\"chain_breaks\":%" PRIu64,
			span, d->transitions, d->finished, d->open_conns,
			loss__json(la, sizeof(la), d->lost_ringbuf),
			loss__json(lb, sizeof(lb), d->lost_recursion), h->evicted, h->chain_breaks);
		fputs(",\"host_facts\":{\"ip_local_port_range\":", f);
		if (h->port_lo && h->port_hi >= h->port_lo)
			fprintf(f, "[%u,%u]", h->port_lo, h->port_hi);
		else
			fputs("null", f);
		fputs(",\"tcp_max_tw_buckets\":", f);
		if (h->max_tw_buckets)
			fprintf(f, "%" PRIu64, h->max_tw_buckets);
		else
			fputs("null", f);
		fprintf(f,
			"},\"thresholds\":{\"syn_sent_ns\":%" PRIu64 ",\"close_wait_ns\":%" PRIu64
			",\"accept_wait_ns\":%" PRIu64
			",\"syn_rate\":%u,\"tw_share_ppm\":%u,\"rst_share_ppm\":%u,"
			"\"min_conns\":%u,\"max_groups\":%u}",
			d->cfg.syn_sent_ns, d->cfg.close_wait_ns, d->cfg.accept_wait_ns,
			d->cfg.syn_rate, d->cfg.tw_share_ppm, d->cfg.rst_share_ppm,
			d->cfg.min_conns, d->cfg.max_groups);
		fputs(",\"severity\":", f);
		if (n)
			fmt__json_put(f, doctor__severity_name(worst), SIZE_MAX);
		else
			fputs("null", f);
		fputs(",\"findings\":[", f);
		for (int i = 0; i < n; i++) {
			if (i)
				putc(',', f);
			finding_json(f, &fds[i], realtime_offset_ns);
		}
		fputs("]}\n", f);
	} else {
		fprintf(f,
			"tcpdwell doctor: %s of %s%s%s: %" PRIu64 " transitions, %" PRIu64
			" connections ended, %" PRIu64 " open at the end, ",
			dur(span, d1, sizeof(d1)),
			strcmp(source, "live") ? "a recording" : "tracing",
			h->host && h->host[0] ? " from " : "",
			fmt__text(h->host ?: "", SIZE_MAX, hostname, sizeof(hostname)),
			d->transitions, d->finished, d->open_conns);
		if (d->lost_ringbuf || d->lost_recursion)
			fprintf(f, "%s records lost",
				loss__fmt(lt, sizeof(lt),
					  loss__add(d->lost_ringbuf, d->lost_recursion)));
		else
			fputs("no records lost", f);
		if (h->chain_breaks)
			fprintf(f, ", %" PRIu64 " chain break%s", h->chain_breaks,
				h->chain_breaks == 1 ? "" : "s");
		putc('\n', f);
		for (int i = 0; i < n; i++)
			finding_text(f, &fds[i], realtime_offset_ns);
		if (!n)
			fputs("\nno findings: no connect failures, SYN surges, CLOSE_WAIT leaks, "
			      "TIME_WAIT load, RST excess or slow accepts above the thresholds\n",
			      f);
	}
	free(fds);
	return ferror(f) ? -1 : worst;
}
