// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of the dwell histogram and the per-state table: percentiles are
 * checked against exact nearest-rank percentiles of sorted random data from
 * several distributions; edge values and the table's folding and order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <stdio.h>

#include "../../bpf/tcpdwell.h"
#include "stats.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t exact_rank(const uint64_t *sorted, size_t n, double q)
{
	double r = q * (double)n;
	size_t rank = (size_t)r;

	if ((double)rank < r)
		rank++;
	if (rank == 0)
		rank = 1;
	return sorted[rank - 1];
}

static void check_distribution(uint64_t (*gen)(void))
{
	static const double qs[] = { 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0 };
	const size_t n = 100000;
	uint64_t *v = malloc(n * sizeof(*v));
	struct hist h;

	assert_non_null(v);
	hist__init(&h);
	for (size_t i = 0; i < n; i++) {
		v[i] = gen();
		assert_int_equal(hist__add(&h, v[i]), 0);
	}
	qsort(v, n, sizeof(*v), cmp_u64);
	assert_int_equal(h.count, n);
	assert_int_equal(h.min, v[0]);
	assert_int_equal(h.max, v[n - 1]);
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		uint64_t exact = exact_rank(v, n, qs[i]), got = hist__quantile(&h, qs[i]);
		double err = exact ? ((double)got - (double)exact) / (double)exact : (double)got;

		if (err < 0)
			err = -err;
		if (err > 0.01)
			fail_msg("q=%g exact=%llu got=%llu rel.err=%.4f", qs[i],
				 (unsigned long long)exact, (unsigned long long)got, err);
	}
	hist__reset(&h);
	free(v);
}

static uint64_t gen_uniform(void)
{
	return 1000 + rnd() % 10000000000ULL;
}

static uint64_t gen_loguniform(void)
{
	/* 1 us .. 300 s, uniform in the exponent */
	double e = 3.0 + (double)(rnd() % 1000000) / 1000000.0 * 8.477;
	double x = 1.0;

	for (int i = 0; i < (int)e; i++)
		x *= 10.0;
	x *= 1.0 + (e - (int)e) * 9.0;
	return (uint64_t)x;
}

static uint64_t gen_twopoint(void)
{
	return rnd() & 1 ? 60000000000ULL : 1500000ULL;
}

static uint64_t gen_small(void)
{
	return rnd() % 300;
}

static void test_percentiles_uniform(void **s)
{
	(void)s;
	check_distribution(gen_uniform);
}

static void test_percentiles_loguniform(void **s)
{
	(void)s;
	check_distribution(gen_loguniform);
}

static void test_percentiles_twopoint(void **s)
{
	(void)s;
	check_distribution(gen_twopoint);
}

static void test_percentiles_small_exact(void **s)
{
	(void)s;
	check_distribution(gen_small);
}

static void test_edges(void **s)
{
	struct hist h, m;
	uint64_t counts[64];

	(void)s;
	hist__init(&h);
	assert_int_equal(hist__quantile(&h, 0.5), 0);
	assert_int_equal(hist__mean(&h), 0);
	assert_int_equal(hist__log2(&h, counts), 0);
	assert_int_equal(hist__add(&h, 0), 0);
	assert_int_equal(hist__add(&h, UINT64_MAX), 0);
	assert_int_equal(hist__quantile(&h, 0.5), 0);
	assert_int_equal(hist__quantile(&h, 1.0), UINT64_MAX);
	assert_int_equal(hist__log2(&h, counts), 64);
	assert_int_equal(counts[0], 1);
	assert_int_equal(counts[63], 1);

	hist__init(&m);
	assert_int_equal(hist__merge(&m, &h), 0);
	assert_int_equal(m.count, 2);
	assert_int_equal(m.min, 0);
	assert_int_equal(m.max, UINT64_MAX);
	hist__reset(&m);
	hist__reset(&h);

	/* log2 placement: 1 -> [0], 2..3 -> [1], 1000 -> [9] */
	hist__add(&h, 1);
	hist__add(&h, 2);
	hist__add(&h, 3);
	hist__add(&h, 1000);
	assert_int_equal(hist__log2(&h, counts), 10);
	assert_int_equal(counts[0], 1);
	assert_int_equal(counts[1], 2);
	assert_int_equal(counts[9], 1);
	assert_int_equal(hist__mean(&h), 251);
	hist__reset(&h);
}

static void test_table_fold_and_sort(void **s)
{
	struct stat_table t;

	(void)s;
	stat_table__init(&t, 4);
	assert_int_equal(stat_table__add(&t, TD_CLOSE_WAIT, "8080", 5), 0);
	assert_int_equal(stat_table__add(&t, TD_SYN_SENT, "443", 1), 0);
	assert_int_equal(stat_table__add(&t, TD_ESTABLISHED, "443", 2), 0);
	assert_int_equal(stat_table__add(&t, TD_TIME_WAIT, "80", 3), 0);
	/* the table is full: new keys fold into "other" */
	assert_int_equal(stat_table__add(&t, TD_TIME_WAIT, "9", 4), 0);
	assert_int_equal(stat_table__add(&t, TD_TIME_WAIT, "10", 4), 0);
	/* existing rows still count */
	assert_int_equal(stat_table__add(&t, TD_CLOSE_WAIT, "8080", 7), 0);
	stat_table__sort(&t);
	assert_int_equal(t.nrows, 5);
	assert_string_equal(t.rows[0].key, "80");
	assert_string_equal(t.rows[1].key, "443");
	assert_int_equal(t.rows[1].state, TD_SYN_SENT);
	assert_int_equal(t.rows[2].state, TD_ESTABLISHED);
	assert_string_equal(t.rows[3].key, "8080");
	assert_int_equal(t.rows[3].h.count, 2);
	assert_string_equal(t.rows[4].key, "other");
	assert_int_equal(t.rows[4].h.count, 2);
	/* lookups still work after sorting */
	assert_int_equal(stat_table__add(&t, TD_CLOSE_WAIT, "8080", 9), 0);
	assert_int_equal(t.rows[3].h.count, 3);
	stat_table__clear(&t);
	assert_int_equal(t.rows[3].h.count, 0);
	stat_table__free(&t);
}

static void test_table_many_keys(void **s)
{
	struct stat_table t;
	char key[16];

	(void)s;
	stat_table__init(&t, 100000);
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "%d", i);
		assert_int_equal(stat_table__add(&t, TD_ESTABLISHED, key, i), 0);
		assert_int_equal(stat_table__add(&t, TD_ESTABLISHED, key, i + 1), 0);
	}
	assert_int_equal(t.nrows, 5000);
	for (int i = 0; i < t.nrows; i++)
		assert_int_equal(t.rows[i].h.count, 2);
	stat_table__free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percentiles_uniform),
		cmocka_unit_test(test_percentiles_loguniform),
		cmocka_unit_test(test_percentiles_twopoint),
		cmocka_unit_test(test_percentiles_small_exact),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_table_fold_and_sort),
		cmocka_unit_test(test_table_many_keys),
	};

	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
