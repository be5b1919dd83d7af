// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Dwell statistics: the log-linear histogram every measured dwell goes into, and
 * the table of them per (state, key) that `stat` prints. The connection table's
 * transitions feed stat_table__add once each, so adding is O(1) and allocates
 * only on first sight of a row; output.c turns the table into text or JSON.
 */
#include <stdlib.h>
#include <string.h>

#include "bpf/tcpdwell.h"
#include "stats.h"

/*
 * Row 0 holds 0..HIST_SUB-1, one bucket per value. Row r >= 1 holds the values
 * whose highest set bit is bit r - 1 + HIST_SUB_BITS, in HIST_SUB buckets of
 * width 2^(r-1): a bucket is at most 1/HIST_SUB of its lowest value wide, which
 * is what bounds the percentile error.
 */
#define HIST_ROWS (64 - HIST_SUB_BITS + 1)
_Static_assert(HIST_ROWS <= sizeof(((struct hist *)0)->bucket) / sizeof(uint64_t *),
	       "struct hist has too few rows");

#define KEY_LEN (sizeof(((struct stat_row *)0)->key) - 1)

static void *(*stats_calloc)(size_t nmemb, size_t size) = calloc;

void stats__set_calloc(void *(*calloc_fn)(size_t nmemb, size_t size))
{
	stats_calloc = calloc_fn ? calloc_fn : calloc;
}

static inline void hist_locate(uint64_t v, unsigned int *row, unsigned int *sub)
{
	unsigned int shift;

	if (v < HIST_SUB) {
		*row = 0;
		*sub = (unsigned int)v;
		return;
	}
	/* Keep the HIST_SUB_BITS + 1 top bits: the leading 1 picks the row, the rest the bucket. */
	shift = 63 - HIST_SUB_BITS - (unsigned int)__builtin_clzll(v);
	*row = shift + 1;
	*sub = (unsigned int)(v >> shift) - HIST_SUB;
}

/* The value a bucket stands for: its midpoint (no overflow: row 57 ends below 2^64). */
static uint64_t hist_mid(unsigned int row, unsigned int sub)
{
	if (!row)
		return sub;
	return ((uint64_t)(HIST_SUB + sub) << (row - 1)) + ((1ULL << (row - 1)) >> 1);
}

void hist__init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

void hist__reset(struct hist *h)
{
	for (int r = 0; r < HIST_ROWS; r++)
		free(h->bucket[r]);
	hist__init(h);
}

static inline __attribute__((always_inline)) int hist_add(struct hist *h, uint64_t v)
{
	unsigned int row, sub;
	uint64_t *b;

	hist_locate(v, &row, &sub);
	b = h->bucket[row];
	if (__builtin_expect(!b, 0)) {
		b = stats_calloc(HIST_SUB, sizeof(*b));
		if (!b)
			return -1;
		h->bucket[row] = b;
	}
	b[sub]++;
	if (v < h->min || !h->count)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->count++;
	h->sum += v;
	return 0;
}

int hist__add(struct hist *h, uint64_t v)
{
	return hist_add(h, v);
}

int hist__merge(struct hist *dst, const struct hist *src)
{
	uint64_t *fresh[HIST_ROWS] = {NULL};

	if (!src->count)
		return 0;
	/* Allocate every missing row before touching dst, so a failure leaves it whole. */
	for (int r = 0; r < HIST_ROWS; r++) {
		if (!src->bucket[r] || dst->bucket[r])
			continue;
		fresh[r] = stats_calloc(HIST_SUB, sizeof(*fresh[r]));
		if (!fresh[r]) {
			for (int i = 0; i < r; i++)
				free(fresh[i]);
			return -1;
		}
	}
	for (int r = 0; r < HIST_ROWS; r++) {
		if (fresh[r])
			dst->bucket[r] = fresh[r];
		if (!src->bucket[r])
			continue;
		for (unsigned int s = 0; s < HIST_SUB; s++)
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

/* ceil(q * count), at least 1; q > 0. */
static uint64_t hist_rank(uint64_t count, double q)
{
	double x = q * (double)count;
	uint64_t r;

	if (x >= (double)count)
		return count;
	r = (uint64_t)x;
	/*
	 * A product that should be whole often comes out a hair above it
	 * (0.07 * 100 = 7.000000000000001); rounding error is not a fraction of
	 * a rank, and taking it for one would report the next value up.
	 */
	if (x - (double)r > x * 1e-12)
		r++;
	return r ? r : 1;
}

uint64_t hist__quantile(const struct hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (!h->count)
		return 0;
	if (!(q > 0)) /* also NaN */
		return h->min;
	if (q >= 1)
		return h->max;
	rank = hist_rank(h->count, q);
	for (unsigned int r = 0; r < HIST_ROWS; r++) {
		const uint64_t *b = h->bucket[r];

		if (!b)
			continue;
		for (unsigned int s = 0; s < HIST_SUB; s++) {
			uint64_t mid;

			seen += b[s];
			if (seen < rank)
				continue;
			/* The exact value lies in [min, max]: clamping only brings mid closer. */
			mid = hist_mid(r, s);
			if (mid < h->min)
				return h->min;
			if (mid > h->max)
				return h->max;
			return mid;
		}
	}
	return h->max;
}

uint64_t hist__mean(const struct hist *h)
{
	if (!h->count)
		return 0;
	/* Exact: the mean of values in [min, max] lies in [min, max]. */
	return (uint64_t)(h->sum / h->count);
}

int hist__log2(const struct hist *h, uint64_t counts[64])
{
	int top = 0;

	memset(counts, 0, 64 * sizeof(counts[0]));
	if (h->bucket[0]) {
		for (unsigned int s = 0; s < HIST_SUB; s++) {
			int i = s < 2 ? 0 : 31 - __builtin_clz(s);

			if (!h->bucket[0][s])
				continue;
			counts[i] += h->bucket[0][s];
			if (i + 1 > top)
				top = i + 1;
		}
	}
	/* Every other row lies within one power of two. */
	for (int r = 1; r < HIST_ROWS; r++) {
		int i = r - 1 + HIST_SUB_BITS;
		uint64_t n = 0;

		if (!h->bucket[r])
			continue;
		for (unsigned int s = 0; s < HIST_SUB; s++)
			n += h->bucket[r][s];
		if (!n)
			continue;
		counts[i] += n;
		top = i + 1;
	}
	return top;
}

/* --- the per-state table --- */

#define PLAIN_STATES 20
_Static_assert(STAT_ACCEPT_WAIT < PLAIN_STATES && STAT_ACCEPT_WAIT >= TD_STATE_MAX &&
		   STAT_RETRANS < PLAIN_STATES,
	       "the rows that are no state have plain rows too");

/*
 * Open addressing over t->rows: slot holds row index + 1 (0 = free), linear
 * probing, kept at most half full so probes stay short. Most samples in a row
 * share (state, key) with the one before (one key when the table is not split,
 * bursts from one peer otherwise), so the previous row is tried before hashing.
 */
struct stat_index {
	uint32_t *slot;
	uint32_t mask;
	int last; /* row of the previous sample, -1 = none */
	/* An unsplit table's row of each state (key ""), -1 = none: no key to hash. */
	int plain[PLAIN_STATES];
};

static uint32_t key_hash(int state, const char *key, size_t n)
{
	uint32_t h = 2166136261u ^ (uint32_t)state; /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)key[i]) * 16777619u;
	return h ^ (h >> 15);
}

/* n is strnlen(key, KEY_LEN): a longer key matches the row it was cut to. */
static bool row_is(const struct stat_row *r, int state, const char *key, size_t n)
{
	return r->state == state && r->key[n] == '\0' && !memcmp(r->key, key, n);
}

static void index_put(struct stat_index *ix, const struct stat_row *r, uint32_t row)
{
	uint32_t i = key_hash(r->state, r->key, strlen(r->key)) & ix->mask;

	while (ix->slot[i])
		i = (i + 1) & ix->mask;
	ix->slot[i] = row + 1;
}

static void index_rebuild(struct stat_table *t, struct stat_index *ix)
{
	ix->last = -1;
	for (int i = 0; i < PLAIN_STATES; i++)
		ix->plain[i] = -1;
	if (!ix->slot)
		return;
	memset(ix->slot, 0, ((size_t)ix->mask + 1) * sizeof(*ix->slot));
	for (int i = 0; i < t->nrows; i++)
		index_put(ix, &t->rows[i], (uint32_t)i);
}

static int index_find(const struct stat_table *t, const struct stat_index *ix, int state,
		      const char *key, size_t n)
{
	if (!ix->slot)
		return -1;
	for (uint32_t i = key_hash(state, key, n) & ix->mask; ix->slot[i]; i = (i + 1) & ix->mask) {
		int row = (int)ix->slot[i] - 1;

		if (row_is(&t->rows[row], state, key, n))
			return row;
	}
	return -1;
}

/* Double the row array and the index together: either both grow or neither changes. */
static int table_grow(struct stat_table *t, struct stat_index *ix)
{
	int cap = t->cap ? t->cap * 2 : 16;
	uint32_t size = 32;
	struct stat_row *rows;
	uint32_t *slot;

	if (t->cap > (1 << 28))
		return -1;
	while (size < 2 * (uint32_t)cap)
		size <<= 1;
	rows = stats_calloc((size_t)cap, sizeof(*rows));
	slot = stats_calloc(size, sizeof(*slot));
	if (!rows || !slot) {
		free(rows);
		free(slot);
		return -1;
	}
	if (t->nrows)
		memcpy(rows, t->rows, (size_t)t->nrows * sizeof(*rows));
	free(t->rows);
	free(ix->slot);
	t->rows = rows;
	t->cap = cap;
	ix->slot = slot;
	ix->mask = size - 1;
	index_rebuild(t, ix);
	return 0;
}

static int table_append(struct stat_table *t, struct stat_index *ix, int state, const char *key,
			size_t n)
{
	struct stat_row *r;

	if (t->nrows == t->cap && table_grow(t, ix))
		return -1;
	r = &t->rows[t->nrows];
	memset(r, 0, sizeof(*r));
	r->state = state;
	memcpy(r->key, key, n);
	index_put(ix, r, (uint32_t)t->nrows);
	return t->nrows++;
}

void stat_table__init(struct stat_table *t, int max_rows)
{
	memset(t, 0, sizeof(*t));
	t->max_rows = max_rows > 0 ? max_rows : 1;
}

void stat_table__free(struct stat_table *t)
{
	struct stat_index *ix = t->priv;

	for (int i = 0; i < t->nrows; i++)
		hist__reset(&t->rows[i].h);
	free(t->rows);
	if (ix)
		free(ix->slot);
	free(ix);
	stat_table__init(t, t->max_rows);
}

int stat_table__add(struct stat_table *t, int state, const char *key, uint64_t dwell_ns)
{
	struct stat_index *ix = t->priv;
	bool plain = !key && state >= 0 && state < PLAIN_STATES;
	size_t n;
	int row;

	if (plain && ix && ix->plain[state] >= 0)
		return hist_add(&t->rows[ix->plain[state]].h, dwell_ns);
	if (!key)
		key = "";
	n = strnlen(key, KEY_LEN);
	if (ix && ix->last >= 0 && row_is(&t->rows[ix->last], state, key, n))
		return hist_add(&t->rows[ix->last].h, dwell_ns);
	if (!ix) {
		/* Here rather than in init, which cannot report a failure. */
		ix = stats_calloc(1, sizeof(*ix));
		if (!ix)
			return -1;
		t->priv = ix;
		index_rebuild(t, ix);
	}
	row = index_find(t, ix, state, key, n);
	if (row < 0 && t->nrows >= t->max_rows) {
		key = "other";
		n = strlen(key);
		row = index_find(t, ix, state, key, n);
	}
	if (row < 0) {
		row = table_append(t, ix, state, key, n);
		if (row < 0)
			return -1;
	}
	ix->last = row;
	if (plain && !t->rows[row].key[0])
		ix->plain[state] = row;
	return hist_add(&t->rows[row].h, dwell_ns);
}

/*
 * Position in a connection's life (even; the accept-wait row the odd one after
 * ESTABLISHED); 0 for values that are not a known state.
 * NEW_SYN_RECV (the request socket) comes before the SYN_RECV child it becomes.
 */
static int lifecycle_pos(int state)
{
	static const unsigned char pos[TD_STATE_MAX] = {
	    [TD_LISTEN] = 1,	  [TD_SYN_SENT] = 2,	[TD_NEW_SYN_RECV] = 3, [TD_SYN_RECV] = 4,
	    [TD_ESTABLISHED] = 5, [TD_FIN_WAIT1] = 6,	[TD_FIN_WAIT2] = 7,    [TD_CLOSING] = 8,
	    [TD_TIME_WAIT] = 9,	  [TD_CLOSE_WAIT] = 10, [TD_LAST_ACK] = 11,    [TD_CLOSE] = 12,
	};

	/* The accept queue is waited in while ESTABLISHED: right after it. What the
	 * connections carried comes after every state, in its own order. */
	if (state == STAT_ACCEPT_WAIT)
		return 2 * pos[TD_ESTABLISHED] + 1;
	if (STAT_IS_COUNT(state))
		return 2 * pos[TD_CLOSE] + 1 + (state - STAT_BYTES_SENT);
	return state >= 0 && state < TD_STATE_MAX ? 2 * pos[state] : 0;
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

static int cmp_key(const char *a, const char *b)
{
	bool ao = !strcmp(a, "other"), bo = !strcmp(b, "other");
	bool ad = all_digits(a), bd = all_digits(b);

	/* Folded keys are the remainder, not a key to find in alphabetical order. */
	if (ao != bo)
		return ao ? 1 : -1;
	/*
	 * Numbers before the rest: comparing a number with a string by strcmp would
	 * break transitivity (9 < 10 numerically, "10" < "5x" < "9" by strcmp), and
	 * qsort needs a consistent order.
	 */
	if (ad != bd)
		return ad ? -1 : 1;
	if (ad) {
		/* By length once leading zeros are gone: no overflow whatever the length. */
		const char *x = a + strspn(a, "0"), *y = b + strspn(b, "0");
		size_t xl = strlen(x), yl = strlen(y);
		int c;

		if (xl != yl)
			return xl < yl ? -1 : 1;
		c = strcmp(x, y);
		if (c)
			return c;
	}
	return strcmp(a, b);
}

static int cmp_rows(const void *pa, const void *pb)
{
	const struct stat_row *a = pa, *b = pb;
	int c = cmp_key(a->key, b->key);
	int x = lifecycle_pos(a->state), y = lifecycle_pos(b->state);

	if (c)
		return c;
	if (x != y)
		return !x ? 1 : !y ? -1 : x - y; /* unknown values after the known ones */
	return a->state < b->state ? -1 : a->state > b->state;
}

void stat_table__sort(struct stat_table *t)
{
	if (t->nrows > 1)
		qsort(t->rows, (size_t)t->nrows, sizeof(*t->rows), cmp_rows);
	if (t->priv)
		index_rebuild(t, t->priv);
}

void stat_table__clear(struct stat_table *t)
{
	for (int i = 0; i < t->nrows; i++)
		hist__reset(&t->rows[i].h);
	t->nrows = 0;
	if (t->priv)
		index_rebuild(t, t->priv);
}
