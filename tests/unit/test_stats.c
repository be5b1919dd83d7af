// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of the dwell histogram and the per-state table. Percentiles are
 * held against the exact nearest-rank values of sorted random data from several
 * distributions; then the edge values, merging, the log2 view, and the table's
 * lookup, folding, order, clearing and behaviour when allocation fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "../../bpf/tcpdwell.h"
#include "stats.h"

#define NSAMPLES 100000
#define US	 1000ULL
#define SEC	 1000000000ULL

/* --- helpers --- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

/* xorshift64*: deterministic, so a failure replays. */
static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

/* Uniform in [0, 1). */
static double rnd_unit(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank in integers: the value of rank ceil(num * n / den), at least 1. */
static uint64_t exact_quantile(const uint64_t *sorted, uint64_t n, uint64_t num, uint64_t den)
{
	uint64_t rank = (num * n + den - 1) / den;

	return sorted[(rank ? rank : 1) - 1];
}

/* Relative error of got against exact; exact 0 must be reported as 0. */
static double rel_err(uint64_t got, uint64_t exact)
{
	if (!exact)
		return got ? INFINITY : 0;
	return fabs((double)got - (double)exact) / (double)exact;
}

/* Failing allocator: budget successful calls, then NULL; -1 = never fail. */
static long alloc_budget = -1;
static long alloc_calls;

static void *budget_calloc(size_t nmemb, size_t size)
{
	alloc_calls++;
	if (!alloc_budget)
		return NULL;
	if (alloc_budget > 0)
		alloc_budget--;
	return calloc(nmemb, size);
}

static void use_budget(long budget)
{
	alloc_budget = budget;
	alloc_calls = 0;
	stats__set_calloc(budget_calloc);
}

static int restore_alloc(void **state)
{
	(void)state;
	alloc_budget = -1;
	stats__set_calloc(NULL);
	return 0;
}

static void assert_hist_equal(const struct hist *a, const struct hist *b)
{
	assert_int_equal(a->count, b->count);
	assert_int_equal(a->min, b->min);
	assert_int_equal(a->max, b->max);
	assert_true(a->sum == b->sum);
	for (int r = 0; r < 64; r++) {
		if (!a->bucket[r] || !b->bucket[r]) {
			assert_ptr_equal(a->bucket[r], b->bucket[r]);
			continue;
		}
		assert_memory_equal(a->bucket[r], b->bucket[r], HIST_SUB * sizeof(uint64_t));
	}
}

/* --- percentiles against the exact values --- */

/*
 * Fill a histogram with NSAMPLES values from gen and compare every figure it
 * reports with the sorted data: count, min, max and mean exactly (the sum too when
 * it passes 2^64), quantiles within 1%, and a histogram built
 * from two merged halves identical to the one built whole.
 */
static void check_distribution(const char *name, uint64_t (*gen)(void))
{
	static const uint64_t named[][2] = {
	    {1, 2}, {9, 10}, {99, 100}, {999, 1000}, {1, 1},
	};
	uint64_t *v = malloc(NSAMPLES * sizeof(*v));
	unsigned __int128 sum = 0;
	struct hist h, lo, hi, m;
	double worst = 0;

	assert_non_null(v);
	hist__init(&h);
	hist__init(&lo);
	hist__init(&hi);
	hist__init(&m);
	for (size_t i = 0; i < NSAMPLES; i++) {
		v[i] = gen();
		sum += v[i];
		assert_int_equal(hist__add(&h, v[i]), 0);
		assert_int_equal(hist__add(i < NSAMPLES / 2 ? &lo : &hi, v[i]), 0);
	}
	qsort(v, NSAMPLES, sizeof(*v), cmp_u64);
	assert_int_equal(h.count, NSAMPLES);
	assert_int_equal(h.min, v[0]);
	assert_int_equal(h.max, v[NSAMPLES - 1]);
	assert_int_equal(hist__mean(&h), (uint64_t)(sum / NSAMPLES));

	/* The named percentiles, every 0.1%, and every 0.001% of the top 0.1%. */
	for (size_t i = 0; i < 5 + 1000 + 101; i++) {
		uint64_t num, den, exact, got;
		double err;

		if (i < 5) {
			num = named[i][0];
			den = named[i][1];
		} else if (i < 5 + 1000) {
			num = i - 5 + 1;
			den = 1000;
		} else {
			num = 99900 + (i - 5 - 1000);
			den = 100000;
		}
		exact = exact_quantile(v, NSAMPLES, num, den);
		got = hist__quantile(&h, (double)num / (double)den);
		err = rel_err(got, exact);
		if (err > 0.01)
			fail_msg("%s: q=%g exact=%llu got=%llu rel.err=%.5f", name,
				 (double)num / (double)den, (unsigned long long)exact,
				 (unsigned long long)got, err);
		if (err > worst)
			worst = err;
	}
	/* The bound the bucket width gives, tighter than the 1% promised. */
	assert_true(worst <= 1.0 / (2 * HIST_SUB));
	print_message("%-22s worst relative error %.5f%%\n", name, worst * 100);

	assert_int_equal(hist__merge(&m, &lo), 0);
	assert_int_equal(hist__merge(&m, &hi), 0);
	assert_int_equal(m.count, h.count);
	assert_int_equal(m.min, h.min);
	assert_int_equal(m.max, h.max);
	for (int r = 0; r < 64; r++) {
		if (h.bucket[r] && m.bucket[r])
			assert_memory_equal(h.bucket[r], m.bucket[r], HIST_SUB * sizeof(uint64_t));
		else
			assert_ptr_equal(h.bucket[r], m.bucket[r]);
	}
	assert_int_equal(hist__quantile(&m, 0.99), hist__quantile(&h, 0.99));

	hist__reset(&h);
	hist__reset(&lo);
	hist__reset(&hi);
	hist__reset(&m);
	free(v);
}

static uint64_t gen_uniform_1us_10s(void)
{
	return US + rnd() % (10 * SEC - US);
}

static uint64_t gen_uniform_full(void)
{
	return rnd();
}

static uint64_t gen_uniform_small(void)
{
	/* Across the exact buckets into the first shared ones. */
	return rnd() % 600;
}

static uint64_t gen_loguniform_1us_300s(void)
{
	static const double lo = 1e3, hi = 300e9;

	return (uint64_t)exp(log(lo) + rnd_unit() * (log(hi) - log(lo)));
}

static uint64_t gen_constant(void)
{
	return 60 * SEC + 123457; /* not on a bucket midpoint */
}

static uint64_t gen_two_point(void)
{
	return rnd() & 1 ? 60 * SEC : 1500 * US;
}

static uint64_t gen_two_point_skewed(void)
{
	/* The step falls near p99, where an off-by-one rank would show. */
	return rnd() % 100 ? 40 * US : 200 * 1000 * US;
}

static void test_quantile_uniform_1us_10s(void **state)
{
	(void)state;
	check_distribution("uniform 1us..10s", gen_uniform_1us_10s);
}

static void test_quantile_uniform_full_range(void **state)
{
	(void)state;
	check_distribution("uniform 0..2^64-1", gen_uniform_full);
}

static void test_quantile_uniform_small(void **state)
{
	(void)state;
	check_distribution("uniform 0..599", gen_uniform_small);
}

static void test_quantile_loguniform(void **state)
{
	(void)state;
	check_distribution("log-uniform 1us..300s", gen_loguniform_1us_300s);
}

static void test_quantile_constant(void **state)
{
	struct hist h;

	(void)state;
	check_distribution("constant", gen_constant);
	/* With one value, clamping to [min, max] makes every percentile exact. */
	hist__init(&h);
	for (int i = 0; i < 1000; i++)
		hist__add(&h, gen_constant());
	for (int i = 1; i <= 100; i++)
		assert_int_equal(hist__quantile(&h, i / 100.0), gen_constant());
	hist__reset(&h);
}

static void test_quantile_two_point(void **state)
{
	(void)state;
	check_distribution("two-point 1.5ms/60s", gen_two_point);
	check_distribution("two-point 99/1", gen_two_point_skewed);
}

/* Below HIST_SUB the histogram is exact, so the nearest rank must match exactly. */
static void test_quantile_rank_exact(void **state)
{
	static const uint64_t sizes[] = {1, 2, 3, 7, 10, 99, 100, 101, 128, 1000, 99991};
	struct hist h;

	(void)state;
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		uint64_t n = sizes[k], *v = malloc(n * sizeof(*v));

		assert_non_null(v);
		hist__init(&h);
		for (uint64_t i = 0; i < n; i++) {
			v[i] = rnd() % HIST_SUB;
			assert_int_equal(hist__add(&h, v[i]), 0);
		}
		qsort(v, n, sizeof(*v), cmp_u64);
		for (uint64_t num = 1; num <= 1000; num++)
			assert_int_equal(hist__quantile(&h, (double)num / 1000),
					 exact_quantile(v, n, num, 1000));
		hist__reset(&h);
		free(v);
	}

	/* 1..100 once each: the q-quantile is 100q, whatever the product rounds to. */
	hist__init(&h);
	for (uint64_t i = 1; i <= 100; i++)
		hist__add(&h, i);
	assert_int_equal(hist__quantile(&h, 0.07), 7);	/* 0.07 * 100 = 7.000000000000001 */
	assert_int_equal(hist__quantile(&h, 0.29), 29); /* 0.29 * 100 = 28.999999999999996 */
	assert_int_equal(hist__quantile(&h, 0.5), 50);
	assert_int_equal(hist__quantile(&h, 0.99), 99);
	assert_int_equal(hist__quantile(&h, 0.991), 100);
	assert_int_equal(hist__quantile(&h, 0.001), 1);
	hist__reset(&h);
}

/* Every power of two, its ends and points inside: the bucket's midpoint is within 1/256. */
static void test_bucket_error_every_exponent(void **state)
{
	struct hist h;

	(void)state;
	for (int e = 0; e < 64; e++) {
		uint64_t base = 1ULL << e, span = base - 1; /* [base, base + span] */

		for (int k = 0; k < 24; k++) {
			uint64_t v, got;

			switch (k) {
			case 0:
				v = base;
				break;
			case 1:
				v = base + span;
				break;
			case 2:
				v = base + span / 2;
				break;
			case 3:
				v = base + (span ? 1 : 0);
				break;
			default:
				v = base + (span ? rnd() % span : 0);
			}
			/* 0 and 2^64-1 around it keep the clamp out of the way. */
			hist__init(&h);
			hist__add(&h, 0);
			hist__add(&h, v);
			hist__add(&h, UINT64_MAX);
			got = hist__quantile(&h, 0.5);
			if (v < HIST_SUB)
				assert_int_equal(got, v);
			else if (rel_err(got, v) > 1.0 / (2 * HIST_SUB))
				fail_msg("v=%llu got=%llu", (unsigned long long)v,
					 (unsigned long long)got);
			hist__reset(&h);
		}
	}
}

/* --- edge cases --- */

static void test_hist_empty(void **state)
{
	static const double qs[] = {0, 0.5, 1, -1, 2};
	uint64_t counts[64];
	struct hist h, e;

	(void)state;
	hist__init(&h);
	hist__init(&e);
	assert_int_equal(h.count, 0);
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
		assert_int_equal(hist__quantile(&h, qs[i]), 0);
	assert_int_equal(hist__quantile(&h, NAN), 0);
	assert_int_equal(hist__mean(&h), 0);
	memset(counts, 0xa5, sizeof(counts));
	assert_int_equal(hist__log2(&h, counts), 0);
	for (int i = 0; i < 64; i++)
		assert_int_equal(counts[i], 0);
	assert_int_equal(hist__merge(&h, &e), 0);
	assert_hist_equal(&h, &e);
	hist__reset(&h);
	hist__reset(&h); /* twice: reset leaves it reusable */
	assert_int_equal(hist__add(&h, 42), 0);
	assert_int_equal(hist__quantile(&h, 0.5), 42);
	hist__reset(&h);
	assert_int_equal(h.count, 0);
	assert_null(h.bucket[0]);
}

static void test_hist_single_value(void **state)
{
	static const uint64_t values[] = {0, 1, 127, 128, 129, 1001, 60 * SEC + 1, UINT64_MAX};
	struct hist h;

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		uint64_t v = values[i];

		hist__init(&h);
		assert_int_equal(hist__add(&h, v), 0);
		assert_int_equal(h.count, 1);
		assert_int_equal(h.min, v);
		assert_int_equal(h.max, v);
		assert_int_equal(hist__mean(&h), v);
		assert_int_equal(hist__quantile(&h, 0.001), v);
		assert_int_equal(hist__quantile(&h, 0.5), v);
		assert_int_equal(hist__quantile(&h, 1.0), v);
		hist__reset(&h);
	}
}

static void test_hist_zero_and_max(void **state)
{
	uint64_t counts[64];
	struct hist h;

	(void)state;
	hist__init(&h);
	assert_int_equal(hist__add(&h, 0), 0);
	assert_int_equal(hist__add(&h, UINT64_MAX), 0);
	assert_int_equal(h.min, 0);
	assert_int_equal(h.max, UINT64_MAX);
	assert_int_equal(hist__quantile(&h, 0.5), 0);
	assert_true(rel_err(hist__quantile(&h, 0.51), UINT64_MAX) <= 1.0 / (2 * HIST_SUB));
	assert_int_equal(hist__quantile(&h, 1.0), UINT64_MAX);
	/* (0 + 2^64 - 1) / 2, exactly */
	assert_int_equal(hist__mean(&h), UINT64_MAX / 2);
	assert_int_equal(hist__log2(&h, counts), 64);
	assert_int_equal(counts[0], 1);
	assert_int_equal(counts[63], 1);
	hist__reset(&h);

	/* A sum past 2^64 neither rounds nor wraps. */
	for (int i = 0; i < 3; i++)
		hist__add(&h, UINT64_MAX);
	assert_int_equal(hist__mean(&h), UINT64_MAX);
	assert_int_equal(hist__quantile(&h, 0.5), UINT64_MAX);
	hist__reset(&h);

	for (int i = 0; i < 5; i++)
		hist__add(&h, 0);
	assert_int_equal(hist__mean(&h), 0);
	assert_int_equal(hist__quantile(&h, 0.99), 0);
	hist__reset(&h);
}

static void test_hist_mean_rounds_down(void **state)
{
	struct hist h;

	(void)state;
	hist__init(&h);
	hist__add(&h, 1);
	hist__add(&h, 2);
	hist__add(&h, 3);
	hist__add(&h, 1000);
	assert_int_equal(hist__mean(&h), 251); /* 251.5 */
	hist__reset(&h);
}

static void test_hist_quantile_clamp(void **state)
{
	struct hist h;

	(void)state;
	hist__init(&h);
	/* Buckets [1000, 1003] and [2992, 3007]: both midpoints lie outside [min, max]. */
	hist__add(&h, 1003);
	hist__add(&h, 2000);
	hist__add(&h, 2993);
	/* Outside (0, 1]: the exact ends. */
	assert_int_equal(hist__quantile(&h, 0), 1003);
	assert_int_equal(hist__quantile(&h, -0.5), 1003);
	assert_int_equal(hist__quantile(&h, -INFINITY), 1003);
	assert_int_equal(hist__quantile(&h, NAN), 1003);
	assert_int_equal(hist__quantile(&h, 1), 2993);
	assert_int_equal(hist__quantile(&h, 1.5), 2993);
	assert_int_equal(hist__quantile(&h, INFINITY), 2993);
	/* Inside: the rank's bucket midpoint, pulled back to min or max. */
	assert_int_equal(hist__quantile(&h, 1e-300), 1003);
	assert_int_equal(hist__quantile(&h, 0.33), 1003);
	assert_true(rel_err(hist__quantile(&h, 0.34), 2000) <= 1.0 / (2 * HIST_SUB));
	assert_int_equal(hist__quantile(&h, 0.9), 2993);
	assert_int_equal(hist__quantile(&h, nextafter(1, 0)), 2993);
	hist__reset(&h);
}

static void test_hist_log2_placement(void **state)
{
	static const struct {
		uint64_t v;
		int slot;
	} cases[] = {
	    {0, 0},
	    {1, 0},
	    {2, 1},
	    {3, 1},
	    {4, 2},
	    {7, 2},
	    {127, 6},
	    {128, 7},
	    {255, 7},
	    {256, 8},
	    {1000, 9},
	    {1ULL << 62, 62},
	    {(1ULL << 63) - 1, 62},
	    {1ULL << 63, 63},
	    {UINT64_MAX, 63},
	};
	uint64_t counts[64];
	struct hist h;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hist__init(&h);
		hist__add(&h, cases[i].v);
		memset(counts, 0xa5, sizeof(counts));
		assert_int_equal(hist__log2(&h, counts), cases[i].slot + 1);
		for (int j = 0; j < 64; j++)
			assert_int_equal(counts[j], j == cases[i].slot);
		hist__reset(&h);
	}
	/* Both sides of every power of two. */
	for (int k = 1; k < 64; k++) {
		hist__init(&h);
		hist__add(&h, (1ULL << k) - 1);
		hist__add(&h, 1ULL << k);
		hist__add(&h, 1ULL << k);
		assert_int_equal(hist__log2(&h, counts), k + 1);
		assert_int_equal(counts[k - 1], 1);
		assert_int_equal(counts[k], 2);
		hist__reset(&h);
	}
}

static void test_hist_merge(void **state)
{
	struct hist a, b, empty, copy;

	(void)state;
	hist__init(&a);
	hist__init(&b);
	hist__init(&empty);
	hist__init(&copy);

	/* empty into empty */
	assert_int_equal(hist__merge(&a, &empty), 0);
	assert_int_equal(a.count, 0);
	for (int r = 0; r < 64; r++)
		assert_null(a.bucket[r]);

	/* nonempty into empty: a copy */
	hist__add(&b, 5);
	hist__add(&b, 5000);
	hist__add(&b, 7 * SEC);
	assert_int_equal(hist__merge(&a, &b), 0);
	assert_hist_equal(&a, &b);

	/* empty into nonempty: unchanged */
	assert_int_equal(hist__merge(&copy, &a), 0);
	assert_int_equal(hist__merge(&a, &empty), 0);
	assert_hist_equal(&a, &copy);

	/* min and max come from either side */
	hist__reset(&b);
	hist__add(&b, 1);
	hist__add(&b, UINT64_MAX);
	assert_int_equal(hist__merge(&a, &b), 0);
	assert_int_equal(a.count, 5);
	assert_int_equal(a.min, 1);
	assert_int_equal(a.max, UINT64_MAX);

	/* into itself: every count doubles */
	assert_int_equal(hist__merge(&a, &a), 0);
	assert_int_equal(a.count, 10);
	assert_int_equal(a.min, 1);
	assert_int_equal(hist__quantile(&a, 0.1), 1);
	assert_int_equal(hist__quantile(&a, 0.2), 1);
	assert_int_equal(hist__quantile(&a, 0.3), 5);

	hist__reset(&a);
	hist__reset(&b);
	hist__reset(&copy);
}

static void test_hist_alloc_failure(void **state)
{
	struct hist h, src, before;

	(void)state;
	hist__init(&h);
	hist__init(&src);

	use_budget(0);
	assert_int_equal(hist__add(&h, 5), -1);
	assert_int_equal(h.count, 0);
	assert_null(h.bucket[0]);

	use_budget(1);
	assert_int_equal(hist__add(&h, 5), 0);
	/* No new row needed: no allocation, no failure. */
	assert_int_equal(hist__add(&h, 6), 0);
	assert_int_equal(hist__add(&h, 1000), -1);
	assert_int_equal(h.count, 2);
	assert_int_equal(h.max, 6);
	assert_true(h.sum == 11);
	assert_int_equal(hist__quantile(&h, 1.0), 6);

	/* A merge that needs three rows and gets fewer leaves dst as it was. */
	use_budget(-1);
	hist__add(&src, 1000);
	hist__add(&src, SEC);
	hist__add(&src, 100 * SEC);
	hist__add(&src, 3);
	hist__init(&before);
	hist__merge(&before, &h);
	for (long budget = 0; budget < 3; budget++) {
		use_budget(budget);
		assert_int_equal(hist__merge(&h, &src), -1);
		assert_hist_equal(&h, &before);
	}
	use_budget(3);
	assert_int_equal(hist__merge(&h, &src), 0);
	assert_int_equal(h.count, 6);
	assert_int_equal(h.max, 100 * SEC);

	hist__reset(&h);
	hist__reset(&src);
	hist__reset(&before);
}

/* --- the table --- */

static const struct stat_row *row_of(const struct stat_table *t, int state, const char *key)
{
	for (int i = 0; i < t->nrows; i++)
		if (t->rows[i].state == state && !strcmp(t->rows[i].key, key))
			return &t->rows[i];
	return NULL;
}

static uint64_t count_of(const struct stat_table *t, int state, const char *key)
{
	const struct stat_row *r = row_of(t, state, key);

	return r ? r->h.count : 0;
}

static void test_table_rows(void **state)
{
	struct stat_table t;

	(void)state;
	stat_table__init(&t, 64);
	assert_int_equal(t.nrows, 0);
	/* NULL and "" are the same key. */
	assert_int_equal(stat_table__add(&t, TD_TIME_WAIT, NULL, 60 * SEC), 0);
	assert_int_equal(stat_table__add(&t, TD_TIME_WAIT, "", 60 * SEC), 0);
	assert_int_equal(t.nrows, 1);
	assert_int_equal(count_of(&t, TD_TIME_WAIT, ""), 2);

	/* Alternating rows, so the previous-row shortcut misses every time. */
	for (int i = 0; i < 10; i++) {
		assert_int_equal(stat_table__add(&t, TD_ESTABLISHED, "80", i), 0);
		assert_int_equal(stat_table__add(&t, TD_CLOSE_WAIT, "80", i), 0);
		assert_int_equal(stat_table__add(&t, TD_ESTABLISHED, "443", i), 0);
	}
	assert_int_equal(t.nrows, 4);
	assert_int_equal(count_of(&t, TD_ESTABLISHED, "80"), 10);
	assert_int_equal(count_of(&t, TD_CLOSE_WAIT, "80"), 10);
	assert_int_equal(count_of(&t, TD_ESTABLISHED, "443"), 10);
	assert_int_equal(row_of(&t, TD_ESTABLISHED, "443")->h.max, 9);

	/* Runs on one row, the common case. */
	for (int i = 0; i < 100; i++)
		assert_int_equal(stat_table__add(&t, TD_CLOSE_WAIT, "80", 1500 * 1000 * US), 0);
	assert_int_equal(count_of(&t, TD_CLOSE_WAIT, "80"), 110);
	assert_int_equal(t.nrows, 4);
	stat_table__free(&t);
}

static void test_table_long_keys(void **state)
{
	char longkey[400], cut[400];
	size_t max = sizeof(((struct stat_row *)0)->key) - 1;
	struct stat_table t;

	(void)state;
	memset(longkey, 'a', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = 0;
	memcpy(cut, longkey, max);
	cut[max] = 0;
	stat_table__init(&t, 16);
	/* A key cut to fit matches its row again, rather than making a new one each time. */
	assert_int_equal(stat_table__add(&t, TD_ESTABLISHED, longkey, 1), 0);
	assert_int_equal(stat_table__add(&t, TD_ESTABLISHED, "x", 1), 0);
	assert_int_equal(stat_table__add(&t, TD_ESTABLISHED, longkey, 2), 0);
	assert_int_equal(stat_table__add(&t, TD_ESTABLISHED, cut, 3), 0);
	assert_int_equal(t.nrows, 2);
	assert_int_equal(strlen(t.rows[0].key), max);
	assert_int_equal(count_of(&t, TD_ESTABLISHED, cut), 3);
	/* One shorter is another key. */
	cut[max - 1] = 0;
	assert_int_equal(stat_table__add(&t, TD_ESTABLISHED, cut, 3), 0);
	assert_int_equal(t.nrows, 3);
	stat_table__free(&t);
}

static void test_table_fold_into_other(void **state)
{
	struct stat_table t;
	char key[16];

	(void)state;
	stat_table__init(&t, 4);
	assert_int_equal(stat_table__add(&t, TD_CLOSE_WAIT, "8080", 5), 0);
	assert_int_equal(stat_table__add(&t, TD_SYN_SENT, "443", 1), 0);
	assert_int_equal(stat_table__add(&t, TD_ESTABLISHED, "443", 2), 0);
	assert_int_equal(stat_table__add(&t, TD_TIME_WAIT, "80", 3), 0);
	assert_int_equal(t.nrows, 4);

	/* Full: a thousand new keys in three states add one "other" row per state. */
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "%d", 10000 + i);
		assert_int_equal(stat_table__add(&t, TD_TIME_WAIT, key, 4), 0);
		assert_int_equal(stat_table__add(&t, TD_ESTABLISHED, key, 4), 0);
		assert_int_equal(stat_table__add(&t, TD_LAST_ACK, key, 4), 0);
	}
	assert_int_equal(t.nrows, 4 + 3);
	assert_int_equal(count_of(&t, TD_TIME_WAIT, "other"), 1000);
	assert_int_equal(count_of(&t, TD_ESTABLISHED, "other"), 1000);
	assert_int_equal(count_of(&t, TD_LAST_ACK, "other"), 1000);

	/* Rows made before the cap keep their samples... */
	assert_int_equal(stat_table__add(&t, TD_CLOSE_WAIT, "8080", 7), 0);
	assert_int_equal(count_of(&t, TD_CLOSE_WAIT, "8080"), 2);
	/* ...but a known key in a state it had no row for is folded too. */
	assert_int_equal(stat_table__add(&t, TD_FIN_WAIT2, "8080", 7), 0);
	assert_null(row_of(&t, TD_FIN_WAIT2, "8080"));
	assert_int_equal(count_of(&t, TD_FIN_WAIT2, "other"), 1);
	/* A caller's own "other" lands in the same rows and makes none. */
	assert_int_equal(stat_table__add(&t, TD_TIME_WAIT, "other", 4), 0);
	assert_int_equal(count_of(&t, TD_TIME_WAIT, "other"), 1001);
	assert_int_equal(t.nrows, 4 + 4);
	stat_table__free(&t);

	/* Below the cap "other" is a key like any other and counts against it. */
	stat_table__init(&t, 2);
	assert_int_equal(stat_table__add(&t, TD_TIME_WAIT, "other", 1), 0);
	assert_int_equal(stat_table__add(&t, TD_TIME_WAIT, "22", 1), 0);
	assert_int_equal(stat_table__add(&t, TD_TIME_WAIT, "23", 1), 0);
	assert_int_equal(t.nrows, 2);
	assert_int_equal(count_of(&t, TD_TIME_WAIT, "other"), 2);
	stat_table__free(&t);

	/* max_rows below 1 is 1. */
	stat_table__init(&t, 0);
	assert_int_equal(t.max_rows, 1);
	stat_table__free(&t);
}

static void test_table_sort_keys(void **state)
{
	static const char *in[] = {"sshd",	"other",    "8080",
				   "10.0.0.10", "443",	    "",
				   "80",	"10.0.0.2", "18446744073709551616000",
				   "080",	"9",	    "-"};
	/* Numbers first, by value (any length); then the rest by strcmp; "other" last. */
	static const char *want[] = {
	    "9", "080", "80",	     "443",	 "8080", "18446744073709551616000",
	    "",	 "-",	"10.0.0.10", "10.0.0.2", "sshd", "other"};
	struct stat_table t;

	(void)state;
	stat_table__init(&t, 64);
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		assert_int_equal(stat_table__add(&t, TD_ESTABLISHED, in[i], i), 0);
	stat_table__sort(&t);
	assert_int_equal(t.nrows, sizeof(want) / sizeof(want[0]));
	for (int i = 0; i < t.nrows; i++)
		assert_string_equal(t.rows[i].key, want[i]);
	stat_table__free(&t);
}

static void test_table_sort_states(void **state)
{
	static const int order[] = {TD_LISTEN, TD_SYN_SENT, TD_NEW_SYN_RECV, TD_SYN_RECV,
				    TD_ESTABLISHED, TD_FIN_WAIT1, TD_FIN_WAIT2, TD_CLOSING,
				    TD_TIME_WAIT, TD_CLOSE_WAIT, TD_LAST_ACK, TD_CLOSE,
				    /* not states: after them, by value */
				    -1, 0, TD_STATE_MAX, 200};
	const int n = sizeof(order) / sizeof(order[0]);
	struct stat_table t;

	(void)state;
	stat_table__init(&t, 256);
	/* In reverse, under two keys, so both the key and the state order matter. */
	for (int i = n - 1; i >= 0; i--) {
		assert_int_equal(stat_table__add(&t, order[i], "b", 1), 0);
		assert_int_equal(stat_table__add(&t, order[i], "a", 1), 0);
	}
	stat_table__sort(&t);
	assert_int_equal(t.nrows, 2 * n);
	for (int i = 0; i < 2 * n; i++) {
		assert_string_equal(t.rows[i].key, i < n ? "a" : "b");
		assert_int_equal(t.rows[i].state, order[i % n]);
	}
	stat_table__free(&t);
}

/* The unsplit table (key NULL) keeps a row per state without hashing: it must follow
 * the rows through a sort and a clear, share the row of key "", and take states it
 * has no place for (not states) the usual way. */
static void test_table_unsplit_after_sort_and_clear(void **state)
{
	static const int states[] = {TD_CLOSE_WAIT, TD_TIME_WAIT, TD_ESTABLISHED, -1, 200};
	const int n = sizeof(states) / sizeof(states[0]);
	struct stat_table t;

	(void)state;
	stat_table__init(&t, 64);
	for (int i = 0; i < n; i++)
		assert_int_equal(stat_table__add(&t, states[i], NULL, 10 + i), 0);
	stat_table__sort(&t); /* ESTABLISHED, TIME_WAIT, CLOSE_WAIT, -1, 200 */
	assert_int_equal(t.rows[0].state, TD_ESTABLISHED);
	for (int i = 0; i < n; i++) {
		assert_int_equal(stat_table__add(&t, states[i], NULL, 100 + i), 0);
		assert_int_equal(stat_table__add(&t, states[i], "", 1000 + i), 0);
	}
	assert_int_equal(t.nrows, n);
	for (int i = 0; i < n; i++) {
		assert_int_equal(count_of(&t, states[i], ""), 3);
		for (int r = 0; r < t.nrows; r++)
			if (t.rows[r].state == states[i])
				assert_int_equal(t.rows[r].h.max, 1000 + i);
	}
	stat_table__clear(&t);
	assert_int_equal(stat_table__add(&t, TD_TIME_WAIT, NULL, 7), 0);
	assert_int_equal(t.nrows, 1);
	assert_int_equal(t.rows[0].state, TD_TIME_WAIT);
	assert_int_equal(t.rows[0].h.count, 1);
	assert_int_equal(t.rows[0].h.min, 7);
	stat_table__free(&t);
}

static void test_table_lookup_after_sort_and_clear(void **state)
{
	struct stat_table t;
	char key[16];

	(void)state;
	stat_table__init(&t, 4);
	assert_int_equal(stat_table__add(&t, TD_ESTABLISHED, "b", 1), 0);
	assert_int_equal(stat_table__add(&t, TD_ESTABLISHED, "a", 1), 0);
	stat_table__sort(&t);
	assert_string_equal(t.rows[0].key, "a");
	assert_int_equal(stat_table__add(&t, TD_ESTABLISHED, "b", 1), 0);
	assert_int_equal(stat_table__add(&t, TD_ESTABLISHED, "a", 1), 0);
	assert_int_equal(t.nrows, 2);
	assert_int_equal(t.rows[0].h.count, 2);
	assert_int_equal(t.rows[1].h.count, 2);

	/* Clear drops the rows: the same key starts a fresh row, new keys fit again. */
	assert_int_equal(stat_table__add(&t, TD_ESTABLISHED, "c", 1), 0);
	assert_int_equal(stat_table__add(&t, TD_ESTABLISHED, "d", 1), 0);
	assert_int_equal(stat_table__add(&t, TD_ESTABLISHED, "e", 1), 0);
	assert_int_equal(count_of(&t, TD_ESTABLISHED, "other"), 1);
	stat_table__clear(&t);
	assert_int_equal(t.nrows, 0);
	assert_int_equal(stat_table__add(&t, TD_ESTABLISHED, "other", 9), 0);
	assert_int_equal(t.nrows, 1);
	assert_int_equal(t.rows[0].h.count, 1);
	assert_int_equal(t.rows[0].h.min, 9);
	for (int i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "%d", i);
		assert_int_equal(stat_table__add(&t, TD_ESTABLISHED, key, 1), 0);
	}
	assert_int_equal(t.nrows, 4);
	assert_int_equal(count_of(&t, TD_ESTABLISHED, "other"), 1);
	stat_table__clear(&t);
	stat_table__clear(&t);
	assert_int_equal(t.nrows, 0);

	/* Free leaves it ready for use with the same cap. */
	stat_table__free(&t);
	assert_int_equal(t.max_rows, 4);
	assert_int_equal(stat_table__add(&t, TD_ESTABLISHED, "a", 1), 0);
	assert_int_equal(t.nrows, 1);
	stat_table__free(&t);
	stat_table__free(&t);
}

static void test_table_many_keys(void **state)
{
	static const int states[] = {TD_ESTABLISHED, TD_TIME_WAIT, TD_CLOSE_WAIT};
	const int nkeys = 5000;
	struct stat_table t;
	char key[16];

	(void)state;
	stat_table__init(&t, 1000000);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < nkeys; i++)
			for (int s = 0; s < 3; s++) {
				snprintf(key, sizeof(key), "%d", i);
				assert_int_equal(stat_table__add(&t, states[s], key, i), 0);
			}
	assert_int_equal(t.nrows, 3 * nkeys);
	for (int i = 0; i < t.nrows; i++)
		assert_int_equal(t.rows[i].h.count, 2);
	stat_table__sort(&t);
	for (int i = 0; i < nkeys; i++) {
		snprintf(key, sizeof(key), "%d", i);
		assert_int_equal(stat_table__add(&t, TD_TIME_WAIT, key, i), 0);
	}
	assert_int_equal(t.nrows, 3 * nkeys);
	for (int i = 0; i < t.nrows; i++) {
		assert_int_equal(t.rows[i].h.count, t.rows[i].state == TD_TIME_WAIT ? 3 : 2);
		assert_int_equal(strtol(t.rows[i].key, NULL, 10), i / 3);
	}
	stat_table__free(&t);
}

/*
 * Let the n-th allocation fail, for every n a fixed sequence of adds makes: a
 * failed add must leave no trace, every add that succeeded must be in its row,
 * and the table must go on working once memory is back.
 */
static void test_table_alloc_failure(void **state)
{
	enum { NADD = 90, NKEY = 10, NSTATE = 3 };
	uint64_t want[NSTATE][NKEY];
	long total_allocs;
	struct stat_table t;
	char key[16];

	(void)state;
	use_budget(-1);
	stat_table__init(&t, 1000);
	for (int i = 0; i < NADD; i++) {
		snprintf(key, sizeof(key), "k%d", i % NKEY);
		assert_int_equal(stat_table__add(&t, i % NSTATE, key, (uint64_t)i << (i % 40)), 0);
	}
	total_allocs = alloc_calls;
	assert_true(total_allocs > 5); /* index, rows twice (16 then 32), histogram rows */
	stat_table__free(&t);

	for (long budget = 0; budget <= total_allocs; budget++) {
		int failures = 0;

		memset(want, 0, sizeof(want));
		stat_table__init(&t, 1000);
		use_budget(budget);
		for (int i = 0; i < NADD; i++) {
			snprintf(key, sizeof(key), "k%d", i % NKEY);
			if (stat_table__add(&t, i % NSTATE, key, (uint64_t)i << (i % 40)))
				failures++;
			else
				want[i % NSTATE][i % NKEY]++;
		}
		assert_int_equal(failures > 0, budget < total_allocs);

		use_budget(-1);
		for (int s = 0; s < NSTATE; s++)
			for (int k = 0; k < NKEY; k++) {
				snprintf(key, sizeof(key), "k%d", k);
				assert_int_equal(count_of(&t, s, key), want[s][k]);
				assert_int_equal(stat_table__add(&t, s, key, 1), 0);
				assert_int_equal(count_of(&t, s, key), want[s][k] + 1);
			}
		assert_int_equal(t.nrows, NSTATE * NKEY);
		stat_table__free(&t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_quantile_uniform_1us_10s),
	    cmocka_unit_test(test_quantile_uniform_full_range),
	    cmocka_unit_test(test_quantile_uniform_small),
	    cmocka_unit_test(test_quantile_loguniform),
	    cmocka_unit_test(test_quantile_constant),
	    cmocka_unit_test(test_quantile_two_point),
	    cmocka_unit_test(test_quantile_rank_exact),
	    cmocka_unit_test(test_bucket_error_every_exponent),
	    cmocka_unit_test(test_hist_empty),
	    cmocka_unit_test(test_hist_single_value),
	    cmocka_unit_test(test_hist_zero_and_max),
	    cmocka_unit_test(test_hist_mean_rounds_down),
	    cmocka_unit_test(test_hist_quantile_clamp),
	    cmocka_unit_test(test_hist_log2_placement),
	    cmocka_unit_test(test_hist_merge),
	    cmocka_unit_test_teardown(test_hist_alloc_failure, restore_alloc),
	    cmocka_unit_test(test_table_rows),
	    cmocka_unit_test(test_table_long_keys),
	    cmocka_unit_test(test_table_fold_into_other),
	    cmocka_unit_test(test_table_sort_keys),
	    cmocka_unit_test(test_table_sort_states),
	    cmocka_unit_test(test_table_unsplit_after_sort_and_clear),
	    cmocka_unit_test(test_table_lookup_after_sort_and_clear),
	    cmocka_unit_test(test_table_many_keys),
	    cmocka_unit_test_teardown(test_table_alloc_failure, restore_alloc),
	};

	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
