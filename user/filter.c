// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Filters: decide which connections, transitions and timelines are shown. They
 * sit between the connection table (which asks filter__conn through its select
 * hook) and the outputs; pure functions of the options and plain structs.
 */
#include <string.h>

#include "filter.h"

static bool port_in(const struct td_portset *ps, uint16_t port)
{
	return ps->bits[port >> 6] & (1ULL << (port & 63));
}

/* Does addr (family 4 or 6) fall in c? An IPv4 prefix also matches the
 * IPv4-mapped IPv6 form (::ffff:a.b.c.d) of a dual-stack socket. */
static bool cidr_match(const struct td_cidr *c, int family, const uint8_t *addr)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	int bits = c->prefix;

	if (c->family == 4 && family == 6) {
		if (memcmp(addr, mapped, 12))
			return false;
		addr += 12;
	} else if (c->family != family) {
		return false;
	}
	for (int i = 0; bits > 0; i++, bits -= 8) {
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

		if ((addr[i] & mask) != c->addr[i])
			return false;
	}
	return true;
}

static bool cidrs_match(const struct td_cidrset *set, int family, const uint8_t *addr)
{
	if (!set->n)
		return true;
	for (int i = 0; i < set->n; i++)
		if (cidr_match(&set->v[i], family, addr))
			return true;
	return false;
}

bool filter__conn(const struct td_options *o, const struct conn *c)
{
	if (o->family && o->family != c->family)
		return false;
	/* A client's local port is chosen after CLOSE -> SYN_SENT: match
	 * provisionally until the table knows it. */
	if (o->lports.any && c->sport && !port_in(&o->lports, c->sport))
		return false;
	if (o->rports.any && !port_in(&o->rports, c->dport))
		return false;
	if (!cidrs_match(&o->laddrs, c->family, c->saddr))
		return false;
	if (!cidrs_match(&o->raddrs, c->family, c->daddr))
		return false;
	if (o->netns && o->netns != c->netns)
		return false;
	if (o->npids) {
		bool found = false;

		for (int i = 0; i < o->npids && !found; i++)
			found = c->pid && c->pid == o->pids[i];
		if (!found)
			return false;
	}
	if (o->ncomms) {
		bool found = false;

		for (int i = 0; i < o->ncomms && !found; i++)
			found = c->pid && !strncmp(c->comm, o->comms[i], sizeof(c->comm));
		if (!found)
			return false;
	}
	return true;
}

bool filter__transition(const struct td_options *o, const struct ct_transition *t)
{
	if (o->states && !(o->states & (1u << t->old)) && !(o->states & (1u << t->new)))
		return false;
	if (o->min_ns && (t->dwell_ns == CT_DWELL_UNKNOWN || t->dwell_ns < o->min_ns))
		return false;
	return true;
}

bool filter__timeline(const struct td_options *o, const struct conn *c)
{
	if (!o->states && !o->min_ns)
		return true;
	for (int i = 0; i < c->nsteps; i++) {
		uint64_t d = conn__step_dwell(c, i);

		if (o->states && !(o->states & (1u << c->step_state[i])))
			continue;
		if (!o->min_ns || (d != CT_DWELL_UNKNOWN && d >= o->min_ns))
			return true;
	}
	return false;
}
