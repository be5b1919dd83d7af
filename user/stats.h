/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Dwell statistics: a log-linear histogram of nanosecond values (count, min,
 * mean, max exact; percentiles within 1% relative error) and a table of them per
 * state, optionally split by a key (--by). No I/O; formatting lives in output.c.
 */
#ifndef TD_STATS_H
#define TD_STATS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Histogram: values 0..2^64-1 ns. Values below HIST_SUB are counted exactly;
 * above, each power of two is split into HIST_SUB linear sub-buckets, one row
 * of them allocated on first use (1 KiB), so a histogram costs a few KiB.
 * A percentile is reported as the midpoint of its bucket, clamped to
 * [min, max]: within 1/(2*HIST_SUB) = 0.4% of the exact value.
 */
#define HIST_SUB_BITS 7
#define HIST_SUB (1u << HIST_SUB_BITS)

struct hist {
	uint64_t count;
	uint64_t min, max;
	long double sum;
	uint64_t *bucket[64]; /* [exponent] -> HIST_SUB counters, or NULL */
};

/* Zero h (no allocation). */
void hist__init(struct hist *h);
/* Free the buckets; h is then empty and reusable. */
void hist__reset(struct hist *h);
/* Add one value. Returns -1 (value not added) only when allocation fails. */
int hist__add(struct hist *h, uint64_t v);
/* Add all of src into dst. Returns -1 on allocation failure. */
int hist__merge(struct hist *dst, const struct hist *src);
/* The q-quantile (0 < q <= 1) by nearest rank; 0 when empty. */
uint64_t hist__quantile(const struct hist *h, double q);
/* Mean, 0 when empty. */
uint64_t hist__mean(const struct hist *h);
/*
 * Log2 view for --hist: counts[i] = number of values v with 2^i <= v < 2^(i+1)
 * (counts[0] also holds v = 0 and 1). Returns the highest i with a count + 1.
 */
int hist__log2(const struct hist *h, uint64_t counts[64]);

/*
 * Per-state statistics, split by a key. Keys are strings (a port number, an
 * address, a comm) chosen by the caller; "" when not split. Rows are created on
 * first use; at most max_rows rows (further keys are folded into key "other").
 */
struct stat_row {
	int state; /* kernel state */
	char key[48];
	struct hist h;
};

struct stat_table {
	struct stat_row *rows;
	int nrows, cap, max_rows;
	void *priv; /* lookup index (stats.c) */
};

void stat_table__init(struct stat_table *t, int max_rows);
void stat_table__free(struct stat_table *t);
/* Add a dwell sample for state under key (NULL = ""). Returns -1 on allocation failure. */
int stat_table__add(struct stat_table *t, int state, const char *key, uint64_t dwell_ns);
/* Sort rows by key, then by state in the order connections pass through them. */
void stat_table__sort(struct stat_table *t);
/* Empty every row (for --interval tables that restart each interval). */
void stat_table__clear(struct stat_table *t);

#endif /* TD_STATS_H */
