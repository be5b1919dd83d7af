// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Filters: which connections, transitions and timelines tcpdwell shows. The connection
 * table asks filter__conn() through its select hook before it stores a connection and
 * again whenever its tuple or owner becomes known or changes; the views then ask
 * filter__transition() and filter__timeline(). Pure functions of the options and plain
 * structs.
 */
#include <string.h>

#include "filter.h"
#include "names.h"

static bool port_in(const struct td_portset *ps, uint16_t port)
{
	return ps->bits[port >> 6] & (1ULL << (port & 63));
}

/* A state mask is 16 bits wide; anything outside it (a corrupt record) is in no set. */
static bool state_in(uint16_t mask, unsigned int state)
{
	return state < 16 && (mask & (1u << state));
}

/* Prefix compare of addr against c->addr, whose host bits are already clear. */
static bool prefix_match(const uint8_t *addr, const struct td_cidr *c)
{
	unsigned int bits = c->prefix, i;

	for (i = 0; bits >= 8; i++, bits -= 8)
		if (addr[i] != c->addr[i])
			return false;
	return !bits || (addr[i] & (uint8_t)(0xff << (8 - bits))) == c->addr[i];
}

/*
 * Is addr (a connection's, family 4 or 6) in prefix c? An IPv4 prefix also matches the
 * IPv4-mapped form ::ffff:a.b.c.d: a dual-stack AF_INET6 socket talking to an IPv4
 * peer reports family 6 with such addresses, and "--raddr 10.0.0.0/8" means that peer
 * too. An IPv6 prefix never matches a family-4 connection.
 */
static bool cidr_match(const struct td_cidr *c, unsigned int family, const uint8_t *addr)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (c->family == 4 && family == 6) {
		if (memcmp(addr, v4mapped, sizeof(v4mapped)))
			return false;
		addr += sizeof(v4mapped);
	} else if (c->family != family) {
		return false;
	}
	return prefix_match(addr, c);
}

static bool cidrs_match(const struct td_cidrset *set, unsigned int family, const uint8_t *addr)
{
	for (int i = 0; i < set->n; i++)
		if (cidr_match(&set->v[i], family, addr))
			return true;
	return false;
}

static bool is_zero(const uint8_t *addr, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (addr[i])
			return false;
	return true;
}

static bool owner_matches(const struct td_options *o, const struct conn *c)
{
	bool found;
	int i;

	/* pid 0 is "owner not known": softirq context, not the swapper task. */
	if ((o->npids || o->ncomms) && !c->pid)
		return false;
	for (i = 0, found = !o->npids; i < o->npids && !found; i++)
		found = c->pid == o->pids[i];
	if (!found)
		return false;
	for (i = 0, found = !o->ncomms; i < o->ncomms && !found; i++)
		found = !strncmp(conn__comm(c), o->comms[i], TD_COMM_LEN);
	return found;
}

/* --pod NS/NAME (or NS/: all of its pods) and --container NAME or id prefix. */
static bool cgroup_matches(const struct td_options *o, const struct cg_name *n)
{
	if (!n)
		return false;
	if (o->pod) {
		size_t len = strlen(o->pod);

		if (len && o->pod[len - 1] == '/' ? strncmp(n->pod, o->pod, len) : strcmp(n->pod, o->pod))
			return false;
	}
	if (o->container) {
		size_t len = strlen(o->container);
		bool hex = strspn(o->container, "0123456789abcdef") == len && len >= 4;

		if (strcmp(n->container, o->container) &&
		    !(hex && n->p.container_id[0] && !strncmp(n->p.container_id, o->container, len)))
			return false;
	}
	return true;
}

bool filter__selects_all(const struct td_options *o)
{
	return !o->family && !o->netns && !o->cgroup_path && !o->lports.any && !o->rports.any &&
	       !o->laddrs.n && !o->raddrs.n && !o->npids && !o->ncomms && !o->pod && !o->container;
}

/*
 * A filter decides only on what is known. While the table says the tuple is partial
 * (CT_F_PARTIAL), a zero local port (a connect() before its port is chosen: the record
 * after CLOSE -> SYN_SENT brings it), a zero remote end or a wildcard local address (a
 * LISTEN -> SYN_RECV record carrying its listener's tuple, which 6.1 and later do not
 * make but the table still accepts, see docs/KERNEL.md, passive open) are unknown, and a criterion on them leaves the answer
 * undecided unless a known part already rejects. Without CT_F_PARTIAL they are the
 * values: a connection that never had a local port has none --lport can match. A
 * listener's zero remote end and wildcard address are its real ones. Failing only
 * --pid/--comm hides rather than rejects: the owner may still change (accept() in
 * another process).
 */
enum ct_verdict filter__conn(const struct td_options *o, const struct conn *c)
{
	bool listener = c->role == CT_ROLE_LISTEN || c->state == TD_LISTEN;
	bool partial = !listener && (c->flags & CT_F_PARTIAL);
	size_t alen = c->family == 4 ? 4 : 16;
	bool lport_unknown = partial && c->sport == 0;
	bool remote_unknown = partial && c->dport == 0;
	bool laddr_unknown = partial && is_zero(c->saddr, alen);
	bool undecided = false;

	if (o->family && o->family != c->family)
		return CT_REJECT;
	if (o->netns && o->netns != c->netns)
		return CT_REJECT;
	/* --cgroup is decided in the kernel on the socket's own cgroup (sk_cgrp_data) for
	 * the records that have a socket with one: state changes and accepts. A
	 * connection known only from records without it (a timewait socket's timer:
	 * struct inet_timewait_sock has no cgroup; a seeded socket) cannot be shown to
	 * be in the subtree, so it is not. */
	if (o->cgroup_path && !c->cgroup)
		return CT_REJECT;
	/* --pod and --container: by the names of the socket's cgroup, known before its first
	 * record reaches the table (app_cgroup()); an unnamed cgroup is in no pod. */
	if ((o->pod || o->container) && !cgroup_matches(o, cgn__get(c->cgroup)))
		return CT_REJECT;
	if (o->lports.any) {
		if (lport_unknown)
			undecided = true;
		else if (!port_in(&o->lports, c->sport))
			return CT_REJECT;
	}
	if (o->rports.any) {
		if (remote_unknown)
			undecided = true;
		else if (!port_in(&o->rports, c->dport))
			return CT_REJECT;
	}
	if (o->laddrs.n) {
		if (laddr_unknown)
			undecided = true;
		else if (!cidrs_match(&o->laddrs, c->family, c->saddr))
			return CT_REJECT;
	}
	if (o->raddrs.n) {
		if (remote_unknown)
			undecided = true;
		else if (!cidrs_match(&o->raddrs, c->family, c->daddr))
			return CT_REJECT;
	}
	if (undecided)
		return CT_UNDECIDED;
	return owner_matches(o, c) ? CT_SELECT : CT_HIDE;
}

bool filter__transition(const struct td_options *o, const struct ct_transition *t)
{
	if (o->states && !state_in(o->states, t->old) && !state_in(o->states, t->new))
		return false;
	/* A lower bound at or above --min proves the real dwell is too. */
	if (o->min_ns && (t->dwell_ns == CT_DWELL_UNKNOWN || t->dwell_ns < o->min_ns))
		return false;
	return true;
}

bool filter__timeline(const struct td_options *o, const struct conn *c)
{
	int n = c->nsteps < CT_MAX_STEPS ? c->nsteps : CT_MAX_STEPS;

	if (!o->states && !o->min_ns)
		return true;
	for (int i = 0; i < n; i++) {
		uint64_t d;

		if (o->states && !state_in(o->states, c->step_state[i]))
			continue;
		/* Without --min, having been in the state is enough, measured or not. */
		if (!o->min_ns)
			return true;
		d = conn__step_dwell(c, i);
		if (d != CT_DWELL_UNKNOWN && d >= o->min_ns)
			return true;
	}
	return false;
}
