/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The clocks the edges read: CLOCK_MONOTONIC is the clock of the kernel's records
 * (bpf_ktime_get_ns()); CLOCK_REALTIME minus it turns them into UTC. The pure cores never
 * read a clock: they are given the time.
 */
#ifndef TD_CLOCK_H
#define TD_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock__ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline uint64_t clock__mono_ns(void)
{
	return clock__ns(CLOCK_MONOTONIC);
}

#endif /* TD_CLOCK_H */
