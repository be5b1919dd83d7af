/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The 64-bit mixer the core's hash tables share (the connection index, the name table). */
#ifndef TD_HASH_H
#define TD_HASH_H

#include <stdint.h>

/* A full avalanche of x: every input bit moves every output bit (splitmix64's finaliser). */
static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

#endif /* TD_HASH_H */
