// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The pair matcher keeps held sides in a ring, oldest first, and finds a mirror
 * by a linear scan: the cap bounds it, and a side is held at most hold_ns, so
 * the ring holds only the connections that finished in the last few seconds.
 */
#include <stdlib.h>
#include <string.h>

#include "pair.h"
#include "state.h"

struct pair {
	struct conn *ring;
	uint32_t cap, head, n; /* held: ring[(head + i) % cap], i < n, oldest first */
	uint64_t hold_ns;
	pair_emit_fn emit;
	void *arg;
	struct pair_stats st;
};

struct pair *pair__new(uint32_t cap, uint64_t hold_ns, pair_emit_fn emit, void *arg)
{
	struct pair *p;

	if (!cap || !emit)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->ring = calloc(cap, sizeof(*p->ring));
	if (!p->ring) {
		free(p);
		return NULL;
	}
	p->cap = cap;
	p->hold_ns = hold_ns;
	p->emit = emit;
	p->arg = arg;
	return p;
}

void pair__free(struct pair *p)
{
	if (!p)
		return;
	free(p->ring);
	free(p);
}

/* addr as IPv4-mapped IPv6 when it is IPv4, so a dual-stack end matches a v4 one. */
static void norm(int family, const uint8_t *addr, uint8_t out[16])
{
	if (family == 6) {
		memcpy(out, addr, 16);
		return;
	}
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, addr, 4);
}

/*
 * Does a (normalised) address name something only inside its own network
 * namespace? Loopback is per namespace, and an unspecified address names no
 * host: a mirror tuple of those in another namespace is another connection.
 */
static bool netns_local(const uint8_t a[16])
{
	static const uint8_t zero[16], v6_loopback[16] = { [15] = 1 };

	if (!memcmp(a, zero, 16) || !memcmp(a, v6_loopback, 16))
		return true;
	if (memcmp(a, zero, 10) || a[10] != 0xff || a[11] != 0xff)
		return false;
	return a[12] == 127 || !(a[12] | a[13] | a[14] | a[15]); /* 127/8, 0.0.0.0 */
}

bool pair__mirror(const struct conn *a, const struct conn *b)
{
	uint8_t as[16], ad[16], bs[16], bd[16];

	if (a->sport != b->dport || a->dport != b->sport)
		return false;
	if (a->cookie && a->cookie == b->cookie)
		return false; /* the same socket */
	norm(a->family, a->saddr, as);
	norm(a->family, a->daddr, ad);
	norm(b->family, b->saddr, bs);
	norm(b->family, b->daddr, bd);
	if (memcmp(as, bd, 16) || memcmp(ad, bs, 16))
		return false;
	/* Across namespaces (containers joined by veth or a bridge) only addresses
	 * that mean the same thing in both can name the same connection. */
	return a->netns == b->netns || (!netns_local(as) && !netns_local(ad));
}

static struct conn *slot(struct pair *p, uint32_t i)
{
	return &p->ring[(p->head + i) % p->cap];
}

static void pop_oldest(struct pair *p)
{
	p->emit(p->arg, slot(p, 0), NULL);
	p->st.unpaired++;
	p->head = (p->head + 1) % p->cap;
	p->n--;
}

/* Remove held entry i, keeping the order of the others. */
static void remove_at(struct pair *p, uint32_t i)
{
	for (; i + 1 < p->n; i++)
		*slot(p, i) = *slot(p, i + 1);
	p->n--;
}

/* Is a the client (the side that connect()ed) of the pair (a, b)? */
static bool is_client(const struct conn *a, const struct conn *b)
{
	if (a->role == CT_ROLE_ACTIVE || b->role == CT_ROLE_PASSIVE)
		return a->role != CT_ROLE_PASSIVE;
	if (b->role == CT_ROLE_ACTIVE || a->role == CT_ROLE_PASSIVE)
		return false;
	if (a->nsteps && a->step_state[0] == TD_SYN_SENT)
		return true;
	if (b->nsteps && b->step_state[0] == TD_SYN_SENT)
		return false;
	return a->start_ns <= b->start_ns;
}

void pair__add(struct pair *p, const struct conn *c)
{
	uint64_t now = c->end_ns;

	while (p->n && slot(p, 0)->end_ns + p->hold_ns < now)
		pop_oldest(p);
	if (c->role == CT_ROLE_LISTEN) {
		/* A listener has no other end: alone, at once. */
		p->emit(p->arg, c, NULL);
		p->st.unpaired++;
		return;
	}
	/*
	 * A mirror in the same namespace is the other end. One in another
	 * namespace is taken only if it is the only one: two containers can
	 * reuse the same private addresses on separate networks, and then
	 * which one is the peer cannot be told from the tuple.
	 */
	uint32_t match = UINT32_MAX, other = UINT32_MAX, nother = 0;

	for (uint32_t i = 0; i < p->n && match == UINT32_MAX; i++) {
		struct conn *h = slot(p, i);

		if (!pair__mirror(h, c))
			continue;
		if (h->netns == c->netns) {
			match = i;
		} else {
			other = i;
			nother++;
		}
	}
	if (match == UINT32_MAX && nother == 1)
		match = other;
	if (match != UINT32_MAX) {
		struct conn *h = slot(p, match);

		if (is_client(h, c))
			p->emit(p->arg, h, c);
		else
			p->emit(p->arg, c, h);
		p->st.paired++;
		remove_at(p, match);
		p->st.held = p->n;
		return;
	}
	if (p->n == p->cap) {
		pop_oldest(p);
		p->st.overflow++;
	}
	*slot(p, p->n++) = *c;
	p->st.held = p->n;
}

void pair__drain(struct pair *p)
{
	while (p->n)
		pop_oldest(p);
	p->st.held = 0;
}

const struct pair_stats *pair__stats(const struct pair *p)
{
	return &p->st;
}
