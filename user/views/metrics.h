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

/* --by lport: at most this many distinct listening ports get their own label
 * value; later ones are counted under lport="other". */
#define METRICS_MAX_LPORTS 32

struct metrics_hist {
	uint64_t bucket[METRICS_NBUCKETS]; /* cumulative when rendered, not here */
	uint64_t count;
	uint64_t sum_ns;
};

/* Series per state, optionally per listening port (index 0 = no label or
 * "other"). */
struct metrics {
	bool by_lport;
	int nlports;
	uint16_t lport[METRICS_MAX_LPORTS + 1]; /* [1..nlports] */
	struct metrics_hist dwell[METRICS_MAX_LPORTS + 1][TD_STATE_MAX];
	uint64_t transitions[METRICS_MAX_LPORTS + 1][TD_STATE_MAX][TD_STATE_MAX];
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
	uint16_t states; /* --state: bit per state shown; 0 shows all */
	/* --accept: the accept-queue wait and the connections never accepted, per
	 * listening port (the local port of a passive connection is its listener's). Its
	 * own port list, whatever --by says: [1..naccept_ports], index 0 "other". */
	bool accepts;
	int naccept_ports;
	uint16_t accept_port[METRICS_MAX_LPORTS + 1];
	struct metrics_hist accept_wait[METRICS_MAX_LPORTS + 1];
	uint64_t never_accepted[METRICS_MAX_LPORTS + 1];
	/* --by lport: what the passive connections of each listening port carried, counted as
	 * each socket closes (the lport label's ports, index 0 "other"). */
	uint64_t bytes_sent[METRICS_MAX_LPORTS + 1], bytes_received[METRICS_MAX_LPORTS + 1];
	uint64_t retrans[METRICS_MAX_LPORTS + 1];
};

/* Zero m; by_lport enables the lport label. */
void metrics__init(struct metrics *m, bool by_lport);

/*
 * Register a listening port for the lport label (from a LISTEN connection).
 * Ports past METRICS_MAX_LPORTS are not registered and count as "other".
 */
void metrics__listener(struct metrics *m, uint16_t port);

/* Count one transition of c; a known dwell goes into the histogram of the
 * state left (lower bounds do not: they are not measurements). With
 * m->states set, only transitions into or out of those states are counted,
 * and only the dwell of those states is sampled. */
void metrics__transition(struct metrics *m, const struct conn *c, const struct ct_transition *t);

/* A passive connection c was accepted after wait_ns in the queue (m->accepts). */
void metrics__accepted(struct metrics *m, const struct conn *c, uint64_t wait_ns);

/* What c carried is known (CT_F_STATS): added to its listening port's counters (--by lport;
 * passive connections only). */
void metrics__carried(struct metrics *m, const struct conn *c);

/* A connection finished: counted if it was never accepted (m->accepts). */
void metrics__finished(struct metrics *m, const struct conn *c);

/* Recompute the socket and stuck gauges from the live table at time now
 * (with m->states set, only sockets in those states). */
void metrics__gauges(struct metrics *m, struct conntable *t, uint64_t now_ns);

/*
 * Render everything to f: the Prometheus text format 0.0.4, or OpenMetrics
 * 1.0.0 (counter families without _total in # TYPE, # EOF at the end).
 * version goes into tcpdwell_build_info.
 */
void metrics__render(const struct metrics *m, FILE *f, bool openmetrics, const char *version);

#endif /* TD_METRICS_H */
