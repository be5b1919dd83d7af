/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Loss counts as every view shows them. A count tcpdwell could not read (the
 * kernel's counter map or a program's recursion_misses, when the query fails or
 * the kernel does not keep the number) is LOSS_UNKNOWN, never 0: a tracer that
 * says nothing was lost must know it. Sums with an unknown are unknown. Pure.
 */
#ifndef TD_LOSS_H
#define TD_LOSS_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define LOSS_UNKNOWN UINT64_MAX

/* a + b, unknown if either is; saturates below LOSS_UNKNOWN. */
static inline uint64_t loss__add(uint64_t a, uint64_t b)
{
	if (a == LOSS_UNKNOWN || b == LOSS_UNKNOWN)
		return LOSS_UNKNOWN;
	return a + b < a || a + b == LOSS_UNKNOWN ? LOSS_UNKNOWN - 1 : a + b;
}

/* The count as text: digits, or "unknown". buf holds at least 24 bytes. */
static inline const char *loss__fmt(char *buf, size_t len, uint64_t n)
{
	if (n == LOSS_UNKNOWN)
		return "unknown";
	snprintf(buf, len, "%" PRIu64, n);
	return buf;
}

/* The count as a JSON value: a number, or null. */
static inline const char *loss__json(char *buf, size_t len, uint64_t n)
{
	if (n == LOSS_UNKNOWN)
		return "null";
	snprintf(buf, len, "%" PRIu64, n);
	return buf;
}

#endif /* TD_LOSS_H */
