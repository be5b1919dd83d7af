/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Saturating arithmetic on nanosecond times and durations. A time read from a
 * recording or a period from the command line can be anything up to 2^64 - 1:
 * sums and multiples stop at UINT64_MAX ("never") instead of wrapping to a time
 * long past, and a periodic deadline moves past a jump in time in one step, not
 * one period at a time.
 */
#ifndef TD_SAT_H
#define TD_SAT_H

#include <stdint.h>

/* a + b, or UINT64_MAX when that does not fit. */
static inline uint64_t sat__add(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* a * b, or UINT64_MAX when that does not fit. */
static inline uint64_t sat__mul(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

/*
 * The deadline of a periodic task that was due at `due` (<= now) with period
 * `period`: the first due + k * period after now (k >= 1), in constant time
 * whatever the gap, or UINT64_MAX when that is beyond 2^64 - 1 or period is 0.
 * A due still in the future (due > now) is returned as it is.
 */
static inline uint64_t sat__next_due(uint64_t due, uint64_t now, uint64_t period)
{
	if (due > now)
		return due;
	if (!period)
		return UINT64_MAX;
	return sat__add(due, sat__mul((now - due) / period + 1, period));
}

/*
 * Wall-clock time, ns since the epoch, of kernel time ts given offset
 * (CLOCK_REALTIME - CLOCK_MONOTONIC): ts + offset, or INT64_MAX when that is
 * beyond it. May be negative (a time before 1970).
 */
static inline int64_t sat__realtime(uint64_t ts, int64_t offset)
{
	int64_t r;

	return __builtin_add_overflow(ts, offset, &r) ? INT64_MAX : r;
}

#endif /* TD_SAT_H */
