/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Dwell statistics: a log-linear histogram of nanosecond values (count, min,
 * mean, max exact; percentiles within 1% relative error) and a table of them per
 * state, optionally split by a key (--by). No I/O; formatting lives in output.c.
 */
#ifndef TD_STATS_H
#define TD_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Histogram: values 0..2^64-1 ns. Values below HIST_SUB are counted exactly;
 * above, each power of two is split into HIST_SUB linear sub-buckets, one row
 * of them allocated on first use (1 KiB), so a histogram costs a few KiB.
 * A percentile is reported as the midpoint of its bucket, clamped to
 * [min, max]: within 1/(2*HIST_SUB) = 0.4% of the exact value.
 */
#define HIST_SUB_BITS 7
#define HIST_SUB      (1u << HIST_SUB_BITS)

struct hist {
	uint64_t count;
	uint64_t min, max;    /* 0 while count is 0 */
	unsigned __int128 sum; /* exact: 2^64 values of up to 2^64 - 1 ns */
	uint64_t *bucket[64]; /* [row] -> HIST_SUB counters, or NULL (row 0: 0..HIST_SUB-1) */
};

/* Zero h (no allocation). */
void hist__init(struct hist *h);
/* Free the buckets; h is then empty and reusable. */
void hist__reset(struct hist *h);
/*
 * Add one value. O(1), no division; allocates only the first time a value lands
 * in a new power of two. Returns -1 (h unchanged, value not added) only when
 * that allocation fails.
 */
int hist__add(struct hist *h, uint64_t v);
/*
 * Add all of src into dst (src may be dst). Returns -1 on allocation failure,
 * in which case dst is unchanged.
 */
int hist__merge(struct hist *dst, const struct hist *src);
/*
 * The q-quantile (0 < q <= 1) by nearest rank: the value of rank ceil(q * count)
 * in sorted order, as the midpoint of its bucket clamped to [min, max]. q <= 0
 * (or NaN) gives min, q >= 1 gives max; 0 when empty.
 */
uint64_t hist__quantile(const struct hist *h, double q);
/* Mean, rounded down, 0 when empty. */
uint64_t hist__mean(const struct hist *h);
/*
 * Log2 view for --hist: counts[i] = number of values v with 2^i <= v < 2^(i+1)
 * (counts[0] also holds v = 0 and 1). Returns the highest i with a count + 1,
 * 0 when empty. Every entry of counts is written.
 */
int hist__log2(const struct hist *h, uint64_t counts[64]);

/*
 * Per-state statistics, split by a key. Keys are strings (a port number, an
 * address, a comm) chosen by the caller; "" when not split; longer ones are cut
 * to sizeof(key) - 1 bytes. Rows are created on first use; at most max_rows
 * rows for the caller's keys. Once that many exist, a sample for a (state, key)
 * without a row goes to (state, "other"): those rows come on top of max_rows,
 * at most one per state, so nothing is dropped and memory stays bounded. A
 * caller's own key "other" shares them.
 */
/* A row that is no state: the time passive connections waited in the accept queue
 * (conn__accept_wait()), sorted after ESTABLISHED; "ACCEPT_WAIT" in the output. */
#define STAT_ACCEPT_WAIT 14
/* Rows of what connections carried (stat --by: per group, one sample per connection as its
 * socket closes): bytes sent and acknowledged, bytes received, segments retransmitted.
 * Counts, not durations; the output adds their sum. */
#define STAT_BYTES_SENT	    15
#define STAT_BYTES_RECEIVED 16
#define STAT_RETRANS	    17
/* Is this row a count (bytes, segments) rather than a duration? */
#define STAT_IS_COUNT(s) ((s) >= STAT_BYTES_SENT && (s) <= STAT_RETRANS)

struct stat_row {
	int state; /* kernel state */
	char key[320]; /* a pod's "namespace/name" fits (names.h) */
	struct hist h;
};

struct stat_table {
	struct stat_row *rows;
	int nrows, cap, max_rows;
	void *priv; /* lookup index (stats.c) */
};

/* Empty table (no allocation); max_rows below 1 is taken as 1. */
void stat_table__init(struct stat_table *t, int max_rows);
/* Free everything; t is left as stat_table__init left it, with the same max_rows. */
void stat_table__free(struct stat_table *t);
/*
 * Add a dwell sample for state under key (NULL = ""). Returns -1 on allocation
 * failure (sample not added, table still consistent). Rows may move: pointers
 * into t->rows are valid only until the next call.
 */
int stat_table__add(struct stat_table *t, int state, const char *key, uint64_t dwell_ns);
/*
 * Sort rows by key (all-digit keys first, by value; then the rest by strcmp;
 * "other" last), then by state in the order connections pass through them
 * (LISTEN, SYN_SENT, NEW_SYN_RECV, SYN_RECV, ESTABLISHED, ... CLOSE; values
 * that are not states after those). No allocation.
 */
void stat_table__sort(struct stat_table *t);
/*
 * Drop every row (for --interval tables that restart each interval), keeping
 * the row array and the index allocated. Rows go rather than being zeroed so
 * that keys seen in earlier intervals do not hold max_rows against new ones.
 */
void stat_table__clear(struct stat_table *t);

/*
 * The allocator behind both: calloc unless set (NULL restores it). Whatever it
 * returns is released with free(). Lets allocation failure be simulated; not
 * thread-safe, set it while no histogram or table is in use by another thread.
 */
void stats__set_calloc(void *(*calloc_fn)(size_t nmemb, size_t size));

#endif /* TD_STATS_H */
