// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Dwell statistics: a log-linear histogram (exact below 128 ns, then 128
 * linear steps per power of two, so any percentile is within 0.4% of the exact
 * one) and the per-state table of them that `stat` prints. Fed from the
 * connection table's transitions; formatted by output.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bpf/tcpdwell.h"
#include "stats.h"

/* Row r of the histogram holds values with bit length r + HIST_SUB_BITS - 1
 * (r >= 1); row 0 holds 0 .. HIST_SUB - 1 exactly. */
static inline void locate(uint64_t v, int *row, int *sub)
{
	if (v < HIST_SUB) {
		*row = 0;
		*sub = (int)v;
		return;
	}
	int e = 63 - __builtin_clzll(v); /* >= HIST_SUB_BITS */

	*row = e - HIST_SUB_BITS + 1;
	*sub = (int)((v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

/* Lowest value and width of bucket (row, sub). */
static inline void bounds(int row, int sub, uint64_t *lo, uint64_t *width)
{
	if (row == 0) {
		*lo = sub;
		*width = 1;
		return;
	}
	int shift = row - 1;

	*lo = (uint64_t)(HIST_SUB + sub) << shift;
	*width = 1ULL << shift;
}

void hist__init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

void hist__reset(struct hist *h)
{
	for (int r = 0; r < 64; r++)
		free(h->bucket[r]);
	hist__init(h);
}

int hist__add(struct hist *h, uint64_t v)
{
	int row, sub;

	locate(v, &row, &sub);
	if (!h->bucket[row]) {
		h->bucket[row] = calloc(HIST_SUB, sizeof(uint64_t));
		if (!h->bucket[row])
			return -1;
	}
	h->bucket[row][sub]++;
	if (!h->count || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->count++;
	h->sum += v;
	return 0;
}

int hist__merge(struct hist *dst, const struct hist *src)
{
	if (!src->count)
		return 0;
	for (int r = 0; r < 64; r++) {
		if (!src->bucket[r])
			continue;
		if (!dst->bucket[r]) {
			dst->bucket[r] = calloc(HIST_SUB, sizeof(uint64_t));
			if (!dst->bucket[r])
				return -1;
		}
		for (int s = 0; s < (int)HIST_SUB; s++)
			dst->bucket[r][s] += src->bucket[r][s];
	}
	if (!dst->count || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum += src->sum;
	return 0;
}

uint64_t hist__quantile(const struct hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (!h->count)
		return 0;
	if (q <= 0)
		return h->min;
	if (q >= 1)
		return h->max;
	/* Nearest rank: the smallest value with at least q * count values <= it. */
	rank = (uint64_t)(q * (double)h->count);
	if ((double)rank < q * (double)h->count)
		rank++;
	if (rank == 0)
		rank = 1;
	for (int r = 0; r < 64; r++) {
		if (!h->bucket[r])
			continue;
		for (int s = 0; s < (int)HIST_SUB; s++) {
			seen += h->bucket[r][s];
			if (seen >= rank) {
				uint64_t lo, width, mid;

				bounds(r, s, &lo, &width);
				mid = lo + width / 2;
				if (mid < h->min)
					mid = h->min;
				if (mid > h->max)
					mid = h->max;
				return mid;
			}
		}
	}
	return h->max;
}

uint64_t hist__mean(const struct hist *h)
{
	return h->count ? (uint64_t)(h->sum / h->count) : 0;
}

int hist__log2(const struct hist *h, uint64_t counts[64])
{
	int top = 0;

	memset(counts, 0, 64 * sizeof(counts[0]));
	for (int r = 0; r < 64; r++) {
		if (!h->bucket[r])
			continue;
		for (int s = 0; s < (int)HIST_SUB; s++) {
			uint64_t lo, width;
			int idx;

			if (!h->bucket[r][s])
				continue;
			bounds(r, s, &lo, &width);
			idx = lo < 2 ? 0 : 63 - __builtin_clzll(lo);
			counts[idx] += h->bucket[r][s];
			if (idx + 1 > top)
				top = idx + 1;
		}
	}
	return top;
}

/* --- the per-state table --- */

static uint32_t row_hash(int state, const char *key)
{
	uint32_t h = 2166136261u ^ (uint32_t)state;

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return h;
}

/* Open-addressing index over rows (row + 1; 0 = empty), rebuilt on growth. */
struct stat_index {
	uint32_t *v;
	uint32_t mask;
};

static struct stat_index *index_of(struct stat_table *t)
{
	return (struct stat_index *)t->priv;
}

static int reindex(struct stat_table *t)
{
	struct stat_index *ix = index_of(t);
	uint32_t size = 64;

	while (size < (uint32_t)t->cap * 2)
		size <<= 1;
	uint32_t *v = calloc(size, sizeof(*v));

	if (!v)
		return -1;
	free(ix->v);
	ix->v = v;
	ix->mask = size - 1;
	for (int i = 0; i < t->nrows; i++) {
		uint32_t h = row_hash(t->rows[i].state, t->rows[i].key) & ix->mask;

		while (ix->v[h])
			h = (h + 1) & ix->mask;
		ix->v[h] = i + 1;
	}
	return 0;
}

void stat_table__init(struct stat_table *t, int max_rows)
{
	memset(t, 0, sizeof(*t));
	t->max_rows = max_rows > 0 ? max_rows : 1;
	t->priv = calloc(1, sizeof(struct stat_index));
}

void stat_table__free(struct stat_table *t)
{
	for (int i = 0; i < t->nrows; i++)
		hist__reset(&t->rows[i].h);
	free(t->rows);
	if (t->priv)
		free(index_of(t)->v);
	free(t->priv);
	memset(t, 0, sizeof(*t));
}

static struct stat_row *find_row(struct stat_table *t, int state, const char *key, bool create)
{
	struct stat_index *ix = index_of(t);
	uint32_t h;

	if (!ix)
		return NULL;
	if (ix->v) {
		for (h = row_hash(state, key) & ix->mask; ix->v[h]; h = (h + 1) & ix->mask) {
			struct stat_row *r = &t->rows[ix->v[h] - 1];

			if (r->state == state && !strcmp(r->key, key))
				return r;
		}
	}
	if (!create)
		return NULL;
	if (t->nrows == t->cap) {
		int cap = t->cap ? t->cap * 2 : 16;
		struct stat_row *rows = realloc(t->rows, cap * sizeof(*rows));

		if (!rows)
			return NULL;
		t->rows = rows;
		t->cap = cap;
		if (reindex(t))
			return NULL;
	}
	struct stat_row *r = &t->rows[t->nrows];

	memset(r, 0, sizeof(*r));
	r->state = state;
	snprintf(r->key, sizeof(r->key), "%s", key);
	hist__init(&r->h);
	t->nrows++;
	for (h = row_hash(state, r->key) & ix->mask; ix->v[h]; h = (h + 1) & ix->mask)
		;
	ix->v[h] = t->nrows;
	return r;
}

int stat_table__add(struct stat_table *t, int state, const char *key, uint64_t dwell_ns)
{
	struct stat_row *r;

	if (!key)
		key = "";
	r = find_row(t, state, key, false);
	if (!r) {
		/* Past the cap, new keys fold into "other" (one row per state). */
		if (t->nrows >= t->max_rows && strcmp(key, "other"))
			return stat_table__add(t, state, "other", dwell_ns);
		r = find_row(t, state, key, true);
		if (!r)
			return -1;
	}
	return hist__add(&r->h, dwell_ns);
}

/* Lifecycle order of states for printing. */
static int order_of(int state)
{
	static const int order[TD_STATE_MAX] = {
		[TD_LISTEN] = 1,     [TD_SYN_SENT] = 2,	  [TD_SYN_RECV] = 3,
		[TD_ESTABLISHED] = 4, [TD_FIN_WAIT1] = 5, [TD_FIN_WAIT2] = 6,
		[TD_CLOSING] = 7,    [TD_TIME_WAIT] = 8,  [TD_CLOSE_WAIT] = 9,
		[TD_LAST_ACK] = 10,  [TD_CLOSE] = 11,	  [TD_NEW_SYN_RECV] = 12,
	};

	return state > 0 && state < TD_STATE_MAX ? order[state] : 99;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static int cmp_rows(const void *pa, const void *pb)
{
	const struct stat_row *a = pa, *b = pb;
	int c;

	if (all_digits(a->key) && all_digits(b->key)) {
		unsigned long long x = strtoull(a->key, NULL, 10), y = strtoull(b->key, NULL, 10);

		c = x < y ? -1 : x > y;
	} else {
		/* "other" (folded keys) sorts last. */
		bool ao = !strcmp(a->key, "other"), bo = !strcmp(b->key, "other");

		c = ao != bo ? (ao ? 1 : -1) : strcmp(a->key, b->key);
	}
	if (c)
		return c;
	return order_of(a->state) - order_of(b->state);
}

void stat_table__sort(struct stat_table *t)
{
	if (t->nrows > 1)
		qsort(t->rows, t->nrows, sizeof(*t->rows), cmp_rows);
	reindex(t);
}

void stat_table__clear(struct stat_table *t)
{
	for (int i = 0; i < t->nrows; i++)
		hist__reset(&t->rows[i].h);
}
