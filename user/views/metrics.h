/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Prometheus metrics: the counters and dwell histograms `tcpdwell serve`
 * exposes, fed from the connection table's transitions, and their rendering in
 * the Prometheus text format or OpenMetrics. Pure: no I/O, no threads; the
 * HTTP side (serve.c) only ever sees rendered text.
 */
#ifndef TD_METRICS_H
#define TD_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "conntable.h"

/* Histogram buckets: 1-2-5 steps from 10 us to 300 s (seconds). */
#define METRICS_NBUCKETS 22
extern const double metrics_bucket_le[METRICS_NBUCKETS];

/*
 * What labels the per-connection series carry (serve --by). METRICS_LABEL_NONE and
 * METRICS_LABEL_LPORT are 0 and 1, so that a bool "by lport" still says the right thing.
 */
enum metrics_label {
	METRICS_LABEL_NONE = 0,
	METRICS_LABEL_LPORT,	 /* lport="8080": a passive connection's listening port */
	METRICS_LABEL_POD,	 /* namespace="...",pod="...": any connection's pod */
	METRICS_LABEL_CONTAINER, /* namespace, pod and container="..." */
};

/* --by lport: at most this many distinct listening ports get their own label
 * value; later ones are counted under lport="other". */
#define METRICS_MAX_LPORTS 32
/* --by pod|container: at most this many distinct label sets at once (the host's own, all
 * values "", is one of them). When all are taken, a new set takes the slot of the set idle
 * longest (METRICS_SET_IDLE_NS), or if none is idle is counted under the fold set, whose
 * values are all "_other_". A node runs a few hundred pods at most, and a scrape of every one
 * of them is what the cap keeps small. */
#define METRICS_MAX_LABEL_SETS 128
/* A label set with no transition counted for this long, and no open socket at the last
 * metrics__gauges(), may give its slot to a new set: its series then go. Long enough for
 * Prometheus to have scraped its final values many times over. */
#define METRICS_SET_IDLE_NS (10 * 60 * 1000000000ULL)
/* A label value from the cgroup names is cut to this many bytes (a pod name's most) before
 * escaping. */
#define METRICS_LABEL_VALUE_MAX 253
/* Series slots: index 0 is "other" (--by pod|container: "_other_"), or the only one, with
 * no label. */
#define METRICS_NSLOTS (METRICS_MAX_LABEL_SETS + 1)

struct metrics_hist {
	uint64_t bucket[METRICS_NBUCKETS]; /* cumulative when rendered, not here */
	uint64_t count;
	uint64_t sum_ns;
};

/* --by pod|container: cgroup name numbers (pod_ix or ctr_ix, names.h) to slot + 1, 0 = not
 * seen yet; grown as numbers come. */
struct metrics_ixmap {
	uint16_t *slot;
	uint32_t n;
};

/* Series per state, optionally per label set (index 0 = no label, or the fold set). */
struct metrics {
	enum metrics_label label;
	int nsets; /* label slots in use: [1..nsets] */
	uint16_t lport[METRICS_MAX_LPORTS + 1]; /* --by lport: [1..nsets] */
	struct metrics_hist dwell[METRICS_NSLOTS][TD_STATE_MAX];
	uint64_t transitions[METRICS_NSLOTS][TD_STATE_MAX][TD_STATE_MAX];
	/*
	 * --by pod|container: each slot's labels, escaped, as they go after another label:
	 * ",namespace=\"...\",pod=\"...\"" ([1..nsets], allocated: metrics__free()). A slot
	 * made while its pod's or container's name was not known yet is provisional: the first
	 * connection of it seen named moves the number to a slot with the name (the old one keeps
	 * what it counted, until it is recycled). The numbers of the pods (pod mode; container
	 * mode: connections of a pod in no container) and containers map to slots; host_slot is
	 * the slot + 1 of connections in no pod and no container, or of unknown cgroups.
	 */
	char *set_label[METRICS_NSLOTS];
	bool set_provisional[METRICS_NSLOTS];
	struct metrics_ixmap pod_map, ctr_map;
	uint16_t host_slot;
	/* --by pod|container: the latest time the records and metrics__gauges() have told of
	 * (this module reads no clock), and when each slot last counted a transition or had an
	 * open socket at a gauges pass: what says a slot is idle. */
	uint64_t now_ns;
	uint64_t set_active_ns[METRICS_NSLOTS];
	/* Pods (pod mode) or containers (container mode; pods, for a pod's connections in no
	 * container) counted under the fold set because the slots were all taken and none was
	 * idle: each once. */
	uint64_t sets_folded;
	/* Slots an idle set gave to a new one. */
	uint64_t sets_recycled;
	uint64_t lost_ringbuf, lost_recursion, evictions;
	/* Timewait lookups (ct_stats): sent, found TIME_WAIT, found gone and so ended,
	 * connections in namespaces no lookup reaches. */
	uint64_t tw_lookups, tw_time_wait, tw_gone, tw_uncheckable;
	uint64_t chain_breaks; /* the connection table's (ct_stats.gaps) */
	/* Open connections the kernel no longer had (their end's record lost), ended by
	 * the reconcile passes (ct_stats.reconciled). */
	uint64_t reconciled, reconcile_passes;
	/* Gauges, recomputed by metrics__gauges() before each render. */
	uint64_t sockets[TD_STATE_MAX];
	uint64_t stuck[TD_STATE_MAX];
	uint64_t stuck_ns[TD_STATE_MAX]; /* --stuck thresholds */
	/* --by pod|container: sockets per label set and state, and the states each set shows
	 * (bit per state): those with sockets now or at the previous recount, so that a gauge
	 * falls to 0 once before its series goes. */
	uint64_t set_sockets[METRICS_NSLOTS][TD_STATE_MAX];
	uint16_t set_sockets_shown[METRICS_NSLOTS];
	uint16_t states; /* --state: bit per state shown; 0 shows all */
	/* --accept: the accept-queue wait and the connections never accepted, per
	 * listening port (the local port of a passive connection is its listener's). Its
	 * own port list, whatever --by says: [1..naccept_ports], index 0 "other". */
	bool accepts;
	int naccept_ports;
	uint16_t accept_port[METRICS_MAX_LPORTS + 1];
	struct metrics_hist accept_wait[METRICS_MAX_LPORTS + 1];
	uint64_t never_accepted[METRICS_MAX_LPORTS + 1];
	/* What connections carried, counted as each socket closes, per slot: --by lport, the
	 * passive connections of each listening port; --by pod|container, every connection. */
	uint64_t bytes_sent[METRICS_NSLOTS], bytes_received[METRICS_NSLOTS];
	uint64_t retrans[METRICS_NSLOTS];
};

/*
 * Zero m (calloc'ed or metrics__free()d: what metrics__free() releases is not freed here) and
 * set its label mode. --by pod|container read the process's cgroup names (names.h) as
 * connections come; they allocate: release with metrics__free().
 */
void metrics__init(struct metrics *m, enum metrics_label label);

/* Release what m allocated (not m itself) and zero m. */
void metrics__free(struct metrics *m);

/*
 * Register a listening port for the lport label (from a LISTEN connection).
 * Ports past METRICS_MAX_LPORTS are not registered and count as "other".
 */
void metrics__listener(struct metrics *m, uint16_t port);

/* Count one transition of c; a known dwell goes into the histogram of the
 * state left (lower bounds do not: they are not measurements). With
 * m->states set, only transitions into or out of those states are counted,
 * and only the dwell of those states is sampled. --by pod|container, t->ts_ns is when c's
 * label set was last active, and it advances the time that says which sets are idle. */
void metrics__transition(struct metrics *m, const struct conn *c, const struct ct_transition *t);

/* A passive connection c was accepted after wait_ns in the queue (m->accepts). */
void metrics__accepted(struct metrics *m, const struct conn *c, uint64_t wait_ns);

/* What c carried is known (CT_F_STATS): added to its label set's counters (--by lport:
 * passive connections only, per listening port; --by pod|container: every connection). */
void metrics__carried(struct metrics *m, const struct conn *c);

/* A connection finished: counted if it was never accepted (m->accepts). */
void metrics__finished(struct metrics *m, const struct conn *c);

/* Recompute the socket and stuck gauges from the live table at time now
 * (with m->states set, only sockets in those states; --by pod|container, sockets per set:
 * a set with sockets is active at now_ns, and now_ns advances the time that says which sets
 * are idle). */
void metrics__gauges(struct metrics *m, struct conntable *t, uint64_t now_ns);

/*
 * Render everything to f: the Prometheus text format 0.0.4, or OpenMetrics
 * 1.0.0 (counter families without _total in # TYPE, # EOF at the end).
 * version goes into tcpdwell_build_info.
 */
void metrics__render(const struct metrics *m, FILE *f, bool openmetrics, const char *version);

#endif /* TD_METRICS_H */
