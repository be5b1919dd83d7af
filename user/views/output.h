/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Outputs: the text and JSON Lines forms of everything tcpdwell prints
 * (transitions, timelines, stuck alerts, stat tables, lost-record notes,
 * errors). The last stage of the pipeline: plain structs in, bytes to a FILE *.
 * No clock reads: wall-clock times come from the kernel timestamp plus the
 * offset the caller measured once (or read from a recording).
 */
#ifndef TD_OUTPUT_H
#define TD_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "conntable.h"
#include "options.h"
#include "stats.h"

struct perfetto;
struct pair;

struct out {
	FILE *f;
	bool json;
	/* timeline views (out__open_view): --format perfetto, --pair */
	struct perfetto *pf;
	struct pair *pair;
	FILE *owned; /* -o FILE opened by out__open_view */
	/* CLOCK_REALTIME - CLOCK_MONOTONIC, ns: turns kernel timestamps into UTC. */
	int64_t realtime_offset_ns;
	/* The accept() tracepoints are (were) on: a passive connection that ended without
	 * an accept was never accepted. Without them that is not known. */
	bool accepts;
	bool resets; /* resets were traced (TD_EV_RST): c->rst says whether one came */
	bool wide; /* timeline --wide: the handshake's RTT and what connections carried */
	bool header_done;
	/* cached "YYYY-MM-DDTHH:MM:SS" of the last second formatted */
	int64_t cached_sec;
	char cached_date[32];
};

/* Initialise o for stream f. */
void out__init(struct out *o, FILE *f, bool json, int64_t realtime_offset_ns);

/* Durations, addresses, names and escaping: fmt.h. */

/* One transition (trace). The text header is printed before the first line. */
void out__transition(struct out *o, const struct conn *c, const struct ct_transition *t);

/* One finished connection (timeline). With --format perfetto it becomes trace
 * events; with --pair it goes to the pair matcher and is printed with its
 * other end (or alone) by out__pair. */
void out__timeline(struct out *o, const struct conn *c);

/* A connection still open at the end of input (end_ns): drawn up to there with
 * --format perfetto; the text and JSON timelines show finished ones only. */
void out__open_timeline(struct out *o, const struct conn *c, uint64_t end_ns);

/*
 * Set up the timeline views asked for in opt: -o FILE (opened for writing, "-"
 * is stdout; o->f then points to it), --format perfetto (the trace's opening is
 * written at once), --pair (a matcher holding up to PAIR_MAX_HELD sides for PAIR_HOLD_NS of event
 * time). Only for the timeline command; a no-op otherwise. Returns 0, or -1 with
 * a message in err.
 */
int out__open_view(struct out *o, const struct td_options *opt, char *err, size_t errlen);

/*
 * End of input (or a signal): print the sides --pair still holds, alone, and
 * close the perfetto JSON so the file is valid. Frees what out__open_view
 * allocated; the -o stream (o->owned) stays open for the final out__flush: the
 * caller closes it with outfile__close and checks the result. Idempotent.
 */
void out__end_view(struct out *o);

/* Both ends of one connection merged in time order, client and server columns;
 * either may be NULL (an unpaired side, printed alone and marked). */
void out__pair(struct out *o, const struct conn *client, const struct conn *server);

/* A --stuck alert. */
void out__stuck(struct out *o, const struct conn *c, int state, uint64_t dwell_ns);

/*
 * trace: a reset the connection sent or received at ts_ns (c->rst, c->rst_reason), in the
 * state c is in then (CLOSE for an abort's, which follows its -> CLOSE). JSON
 * {"type":"rst",...,"state":"CLOSE","rst":{"dir":"sent","reason":"TCP_ABORT_ON_CLOSE"}};
 * text "... RST sent (TCP_ABORT_ON_CLOSE) in CLOSE".
 */
void out__reset(struct out *o, const struct conn *c, uint64_t ts_ns);

/* The stat table (sorted by the caller), split by `by`, with log2 histograms
 * when hist is set. ts_ns (kernel time) stamps the JSON rows. */
void out__stats(struct out *o, const struct stat_table *t, enum td_by by, bool hist,
		uint64_t ts_ns);

/*
 * Lost records so far: the kernel's counters (ring buffer full, program runs skipped
 * by BPF recursion protection) and the connection table's chain breaks (records whose
 * connection shows an earlier record missing). A chain break with both kernel
 * counters 0 is a record that went missing uncounted: the text line says so. And the
 * open connections ended so far because the kernel no longer had them (their end's
 * record lost: --reconcile).
 */
void out__lost(struct out *o, uint64_t ringbuf, uint64_t recursion, uint64_t chain_breaks,
	       uint64_t reconciled);

/* Connections evicted so far to stay within --max-conns (the table's counter);
 * their records are no longer followed, so what comes later of them is
 * incomplete. */
void out__evicted(struct out *o, uint64_t evicted, uint32_t max_conns);

/* An error inside a JSON stream ({"type":"error","message":...}) or, in text,
 * "tcpdwell: <msg>" on the same stream. */
void out__error(struct out *o, const char *msg);

/* Flush; returns -1 with errno set if the stream has failed (full disk, closed
 * pipe). */
int out__flush(struct out *o);

#endif /* TD_OUTPUT_H */
