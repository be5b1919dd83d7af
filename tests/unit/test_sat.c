// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of tcpdwell's saturating time arithmetic (user/core/sat.h): sums and
 * products stop at UINT64_MAX, and the next deadline of a periodic task moves past
 * any jump of the clock in one step (a recording whose clock leaps by 2^63 ns with
 * a 1 ns period), exactly as far as the period allows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sat.h"

static void test_add(void **state)
{
	assert_int_equal(sat__add(1, 2), 3);
	assert_int_equal(sat__add(UINT64_MAX - 1, 1), UINT64_MAX);
	assert_int_equal(sat__add(UINT64_MAX - 1, 2), UINT64_MAX);
	assert_int_equal(sat__add(UINT64_MAX, UINT64_MAX), UINT64_MAX);
	assert_int_equal(sat__add(1ULL << 63, 1ULL << 63), UINT64_MAX);
	assert_int_equal(sat__add(0, 0), 0);
}

static void test_mul(void **state)
{
	assert_int_equal(sat__mul(3, 5), 15);
	assert_int_equal(sat__mul(0, UINT64_MAX), 0);
	assert_int_equal(sat__mul(UINT64_MAX, 1), UINT64_MAX);
	assert_int_equal(sat__mul(1ULL << 32, 1ULL << 32), UINT64_MAX);
	assert_int_equal(sat__mul(1ULL << 32, (1ULL << 32) - 1), UINT64_MAX - ((1ULL << 32) - 1));
}

static void test_realtime(void **state)
{
	(void)state;
	assert_int_equal(sat__realtime(5, 10), 15);
	assert_int_equal(sat__realtime(5, -10), -5);
	assert_int_equal(sat__realtime((uint64_t)INT64_MAX, 1), INT64_MAX);
	assert_int_equal(sat__realtime(UINT64_MAX, INT64_MAX), INT64_MAX);
	/* Past INT64_MAX as a time, back in range with the offset. */
	assert_int_equal(sat__realtime(1ULL << 63, -1), INT64_MAX);
	assert_int_equal(sat__realtime((1ULL << 63) + 10, INT64_MIN), 10);
}

static void test_next_due(void **state)
{
	/* Not due yet: unchanged. */
	assert_int_equal(sat__next_due(100, 99, 10), 100);
	/* Due now or past: the first due + k * period after now. */
	assert_int_equal(sat__next_due(100, 100, 10), 110);
	assert_int_equal(sat__next_due(100, 109, 10), 110);
	assert_int_equal(sat__next_due(100, 110, 10), 120);
	assert_int_equal(sat__next_due(100, 1000005, 10), 1000010);
	/* A leap of 2^63 ns with a 1 ns period: one step, not 2^63 of them. */
	assert_int_equal(sat__next_due(1000, (1ULL << 63) + 7, 1), (1ULL << 63) + 8);
	/* A clock at the end of the range: nothing fits after it. */
	assert_int_equal(sat__next_due(1000, UINT64_MAX, 1), UINT64_MAX);
	assert_int_equal(sat__next_due(1000, UINT64_MAX - 1, 1), UINT64_MAX);
	/* A period longer than what is left of the range. */
	assert_int_equal(sat__next_due(1ULL << 63, 1ULL << 63, 1ULL << 63), UINT64_MAX);
	assert_int_equal(sat__next_due(5, 5, UINT64_MAX), UINT64_MAX);
	assert_int_equal(sat__next_due(0, 0, UINT64_MAX), UINT64_MAX);
	/* No period: never due again. */
	assert_int_equal(sat__next_due(5, 5, 0), UINT64_MAX);
	/* The result is always after now, and on the period's grid. */
	for (uint64_t due = 0; due < 50; due += 7)
		for (uint64_t now = due; now < due + 100; now += 3)
			for (uint64_t p = 1; p < 40; p += 5) {
				uint64_t n = sat__next_due(due, now, p);

				assert_true(n > now && n - p <= now && (n - due) % p == 0);
			}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_mul),
		cmocka_unit_test(test_realtime),
		cmocka_unit_test(test_next_due),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
