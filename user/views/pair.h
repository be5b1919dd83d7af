/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Pairs the two ends of a connection when both are on this host (loopback,
 * containers on the node): two finished timelines whose tuples are mirror
 * images, in the same netns or, for addresses other than loopback, in two. Sits after the connection table's finished hook and
 * before the output: a finished side is held until its partner finishes, the
 * hold expires (event time: the end_ns of later connections) or drain. No I/O,
 * no clock: time only moves with the timelines given to it.
 */
#ifndef TD_PAIR_H
#define TD_PAIR_H

#include <stdbool.h>
#include <stdint.h>

#include "conntable.h"

/* Default hold, in event time: longer than TIME_WAIT (60 s), so the side that
 * closed first (and finishes a minute after its partner) still pairs. */
#define PAIR_HOLD_NS 65000000000ULL
/* Sides --pair holds at once, waiting for their other side. */
#define PAIR_MAX_HELD 4096

/* Called with both sides (paired) or one side and NULL (unpaired: the other end
 * is not on this host, or finished too far apart, or the cap forced it out).
 * client/server are valid only during the call. */
typedef void (*pair_emit_fn)(void *arg, const struct conn *client, const struct conn *server);

struct pair_stats {
	uint64_t paired;
	uint64_t unpaired; /* sides emitted alone (timeout, drain or overflow) */
	uint64_t overflow; /* of them: forced out early because the cap was reached */
	uint64_t held; /* now */
};

struct pair;

/*
 * Create a matcher holding at most cap (>= 1) finished sides for at most hold_ns
 * of event time. emit is required. Returns NULL on allocation failure.
 */
struct pair *pair__new(uint32_t cap, uint64_t hold_ns, pair_emit_fn emit, void *arg);

/* Free; held sides are dropped without emit (call pair__drain first). */
void pair__free(struct pair *p);

/*
 * Offer a finished timeline (copied). Its end_ns advances event time: held sides
 * older than hold_ns are emitted alone first. If its mirror is held, both are
 * emitted (client = the active opener, else the one that began in SYN_SENT, else
 * the one that started first); otherwise it is held (the oldest held side is
 * emitted alone if the cap is reached).
 */
void pair__add(struct pair *p, const struct conn *c);

/* Emit every held side alone, oldest first. */
void pair__drain(struct pair *p);

/* True if a and b can be the two ends of one connection: a's local endpoint
 * is b's remote one and the reverse, and they are in the same netns or, in two
 * (containers joined by veth), neither address is loopback or unspecified.
 * IPv4 and IPv4-mapped IPv6 addresses compare equal. pair__add() takes a
 * mirror in another netns only when it is the only one held. */
bool pair__mirror(const struct conn *a, const struct conn *b);

const struct pair_stats *pair__stats(const struct pair *p);

#endif /* TD_PAIR_H */
