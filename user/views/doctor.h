/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The doctor: a diagnosis stage fed by the connection table's hooks (transitions,
 * finished connections) and, at the end, by the connections still open. It looks for
 * known symptoms (connects failing or hanging in SYN_SENT, SYN_RECV surges, CLOSE_WAIT
 * leaks, TIME_WAIT load, connections ended by RST) and writes a report of findings to a
 * FILE *. Pure: no clock, no /proc; facts about the host come from the caller.
 */
#ifndef TD_DOCTOR_H
#define TD_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conntable.h"
#include "options.h"

/* Defaults of struct doctor_config (documented in --help and docs/DOCTOR.md). */
#define DOCTOR_SYN_SENT_NS   1000000000ULL  /* 1s: the first SYN retransmit (TCP_TIMEOUT_INIT) */
#define DOCTOR_CLOSE_WAIT_NS 10000000000ULL /* 10s */
#define DOCTOR_ACCEPT_WAIT_NS 100000000ULL   /* 100ms in the accept queue */
#define DOCTOR_SYN_RATE	     1000	    /* passive opens per second on one local port */
#define DOCTOR_TW_SHARE_PPM  250000	    /* 25% of the ephemeral range or tcp_max_tw_buckets */
#define DOCTOR_RST_SHARE_PPM 50000	    /* 5% of established connections */
#define DOCTOR_MIN_CONNS     20		    /* fewer established conns: no RST share finding */
#define DOCTOR_MAX_GROUPS    1024	    /* per finding; more are counted in "other" */

/* Linux's default net.ipv4.ip_local_port_range, assumed when the host's is not known. */
#define DOCTOR_DEFAULT_PORT_LO 32768
#define DOCTOR_DEFAULT_PORT_HI 60999

/* Thresholds: struct doctor_config (options.h), parsed by cli__parse_thresholds. */

/*
 * What the caller knows about the host and the run, for the report. Unknown host
 * facts are 0; the report then says so and compares with Linux defaults.
 * - source: "live" or "recording" (NULL: "live"); host: its name ("" unknown).
 * - port_lo, port_hi: net.ipv4.ip_local_port_range of the tracing host.
 * - max_tw_buckets: net.ipv4.tcp_max_tw_buckets.
 * - start_ns, end_ns: kernel time (CLOCK_MONOTONIC) the run covers.
 * - evicted: connections the table dropped (--max-conns).
 * - chain_breaks: records the table found an earlier record of their connection
 *   missing for (ct_stats.gaps).
 * - timewait: the tracer sees TIME_WAIT (timer tracepoints); false hides it.
 */
struct doctor_host {
	const char *source;
	const char *host;
	uint32_t port_lo, port_hi;
	uint64_t max_tw_buckets;
	uint64_t start_ns, end_ns;
	uint64_t evicted;
	uint64_t chain_breaks;
	bool timewait;
};

enum doctor_severity {
	DOCTOR_INFO = 0,
	DOCTOR_WARNING,
	DOCTOR_CRITICAL,
};

struct doctor;

/*
 * A new doctor with thresholds cfg (copied; NULL or 0 fields: defaults). Memory is
 * bounded by max_groups groups per finding. Returns NULL on allocation failure.
 */
struct doctor *doctor__new(const struct doctor_config *cfg);

/* Free d and everything it holds; NULL is a no-op. */
void doctor__free(struct doctor *d);

/* One state change (the table's transition hook). c and t are read, not kept. */
void doctor__transition(struct doctor *d, const struct conn *c, const struct ct_transition *t);

/* A connection reached its final CLOSE (the table's finished hook). */
void doctor__finished(struct doctor *d, const struct conn *c);

/* Every accept() is traced (the accept tracepoints are on, or were for a recording): a
 * passive connection that ended in the accept queue, or is still there at the end, is
 * known. Without it only the accepts seen count. Call before the first record. */
void doctor__set_accepts(struct doctor *d, bool accepts);

/* A passive connection was accept()ed after wait_ns in the queue (the table's accepted
 * hook). */
void doctor__accepted(struct doctor *d, const struct conn *c, uint64_t wait_ns);

/*
 * A connection still open at the end (conntable__foreach after conntable__drain), at
 * kernel time now_ns: a connect still in SYN_SENT, a CLOSE_WAIT still held, a socket in
 * TIME_WAIT. Call once per connection, before doctor__report().
 */
void doctor__open_conn(struct doctor *d, const struct conn *c, uint64_t now_ns);

/*
 * The kernel's loss counters (cumulative: ring buffer full, BPF recursion). The report
 * says counts are lower bounds when any record was lost.
 */
void doctor__lost(struct doctor *d, uint64_t ringbuf, uint64_t recursion);

/*
 * Write the report to f: one JSON object on one line when json, else text; "no
 * findings" when healthy. realtime_offset_ns turns kernel times of the examples into
 * UTC. Returns the highest severity found (DOCTOR_INFO also when none), or -1 when
 * writing failed (ferror(f)).
 */
int doctor__report(struct doctor *d, const struct doctor_host *host, FILE *f, bool json,
		   int64_t realtime_offset_ns);

/* Number of findings the last report had (for tests). */
int doctor__nfindings(const struct doctor *d);

/* Name of a severity ("info", "warning", "critical"). */
const char *doctor__severity_name(int sev);

#endif /* TD_DOCTOR_H */
