// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of the pair matcher (mirror tuples, client/server choice, hold
 * timeouts in event time, the cap, IPv4/IPv6/IPv4-mapped) and of the --pair
 * text and JSON output built on it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "output.h"
#include "pair.h"
#include "state.h"

#define MS 1000000ULL
#define SEC 1000000000ULL

/* What emit saw: cookies of client and server (0 = none), in order. */
struct seen {
	int n;
	uint64_t client[64], server[64];
};

static void record(void *arg, const struct conn *client, const struct conn *server)
{
	struct seen *s = arg;

	assert_true(s->n < 64);
	s->client[s->n] = client ? client->cookie : 0;
	s->server[s->n] = server ? server->cookie : 0;
	s->n++;
}

/* Client side of 127.0.0.1:lport -> 127.0.0.1:8080, active; ends at end_ns. */
static void client4(struct conn *c, uint64_t cookie, uint16_t lport, uint64_t start,
		    uint64_t end_ns)
{
	memset(c, 0, sizeof(*c));
	c->cookie = cookie;
	c->family = 4;
	c->saddr[0] = c->daddr[0] = 127;
	c->saddr[3] = c->daddr[3] = 1;
	c->sport = lport;
	c->dport = 8080;
	c->netns = 1;
	c->role = CT_ROLE_ACTIVE;
	c->pid = 10;
	conn__set_comm(c, "client");
	c->nsteps = 2;
	c->step_state[0] = TD_SYN_SENT;
	c->step_ns[0] = start;
	c->step_state[1] = TD_ESTABLISHED;
	c->step_ns[1] = start + 100;
	c->start_ns = start;
	c->end_ns = end_ns;
}

/* The server side of the same connection. */
static void server_of(struct conn *s, const struct conn *c, uint64_t cookie, uint64_t end_ns)
{
	*s = *c;
	s->cookie = cookie;
	memcpy(s->saddr, c->daddr, 16);
	memcpy(s->daddr, c->saddr, 16);
	s->sport = c->dport;
	s->dport = c->sport;
	s->role = CT_ROLE_PASSIVE;
	s->pid = 20;
	conn__set_comm(s, "server");
	s->step_state[0] = TD_SYN_RECV;
	s->step_ns[0] = c->step_ns[0] + 50;
	s->step_ns[1] = c->step_ns[0] + 150;
	s->start_ns = s->step_ns[0];
	s->end_ns = end_ns;
}

static void test_match_either_order(void **state)
{
	struct seen s = { 0 };
	struct pair *p = pair__new(16, 2 * SEC, record, &s);
	struct conn c, sv;

	client4(&c, 1, 40000, 1000, 5000);
	server_of(&sv, &c, 2, 6000);
	pair__add(p, &c);
	assert_int_equal(s.n, 0);
	pair__add(p, &sv);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.client[0], 1);
	assert_int_equal(s.server[0], 2);
	/* server finishes first (client in TIME_WAIT): still client, server */
	client4(&c, 3, 40001, 1000, 9000);
	server_of(&sv, &c, 4, 7000);
	pair__add(p, &sv);
	pair__add(p, &c);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.client[1], 3);
	assert_int_equal(s.server[1], 4);
	assert_int_equal(pair__stats(p)->paired, 2);
	assert_int_equal(pair__stats(p)->held, 0);
	pair__free(p);
}

static void test_no_match(void **state)
{
	struct conn c, sv;

	client4(&c, 1, 40000, 1000, 5000);
	server_of(&sv, &c, 2, 6000);
	assert_true(pair__mirror(&c, &sv));
	assert_false(pair__mirror(&c, &c)); /* the same socket */
	sv.netns = 2;
	assert_false(pair__mirror(&c, &sv)); /* another netns */
	server_of(&sv, &c, 2, 6000);
	sv.dport = 40001;
	assert_false(pair__mirror(&c, &sv));
	server_of(&sv, &c, 2, 6000);
	sv.saddr[3] = 2;
	assert_false(pair__mirror(&c, &sv));
}

static void test_ipv6_and_mapped(void **state)
{
	struct conn c, sv;

	client4(&c, 1, 40000, 1000, 5000);
	c.family = 6;
	memset(c.saddr, 0, 16);
	memset(c.daddr, 0, 16);
	c.saddr[15] = c.daddr[15] = 1;
	server_of(&sv, &c, 2, 6000);
	assert_true(pair__mirror(&c, &sv));
	sv.saddr[14] = 1;
	assert_false(pair__mirror(&c, &sv));

	/* v4 client, dual-stack server seeing ::ffff:127.0.0.1 */
	client4(&c, 1, 40000, 1000, 5000);
	server_of(&sv, &c, 2, 6000);
	sv.family = 6;
	for (int k = 0; k < 2; k++) {
		uint8_t *a = k ? sv.daddr : sv.saddr;

		memset(a, 0, 16);
		a[10] = a[11] = 0xff;
		a[12] = 127;
		a[15] = 1;
	}
	assert_true(pair__mirror(&c, &sv));
	assert_true(pair__mirror(&sv, &c));
	sv.saddr[11] = 0; /* ::127.0.0.1 is not mapped */
	assert_false(pair__mirror(&c, &sv));
}

static void test_timeout_in_event_time(void **state)
{
	struct seen s = { 0 };
	struct pair *p = pair__new(16, 2 * SEC, record, &s);
	struct conn a, b, sv;

	client4(&a, 1, 40000, 1000, 1 * SEC);
	pair__add(p, &a);
	client4(&b, 2, 40001, 1000, 3 * SEC); /* exactly 2 s later: a still held */
	pair__add(p, &b);
	assert_int_equal(s.n, 0);
	client4(&b, 3, 40002, 1000, 3 * SEC + 1); /* past 2 s: a goes alone */
	pair__add(p, &b);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.client[0], 1);
	assert_int_equal(s.server[0], 0);
	/* a's partner comes too late: alone too */
	server_of(&sv, &a, 9, 3 * SEC + 2);
	pair__add(p, &sv);
	assert_int_equal(pair__stats(p)->paired, 0);
	pair__drain(p);
	assert_int_equal(s.n, 4);
	/* drain: oldest first */
	assert_int_equal(s.client[1], 2);
	assert_int_equal(s.client[2], 3);
	assert_int_equal(s.client[3], 9); /* alone: reported as given */
	assert_int_equal(pair__stats(p)->unpaired, 4);
	assert_int_equal(pair__stats(p)->held, 0);
	pair__free(p);
}

static void test_cap(void **state)
{
	struct seen s = { 0 };
	struct pair *p = pair__new(4, 60 * SEC, record, &s);
	struct conn c, sv, first;

	client4(&first, 1, 40000, 1000, 2000);
	pair__add(p, &first);
	for (int i = 1; i < 6; i++) {
		client4(&c, 1 + i, 40000 + i, 1000, 2000 + i);
		pair__add(p, &c);
	}
	/* 6 added, cap 4: the two oldest went out alone */
	assert_int_equal(s.n, 2);
	assert_int_equal(s.client[0], 1);
	assert_int_equal(s.client[1], 2);
	assert_int_equal(pair__stats(p)->overflow, 2);
	assert_int_equal(pair__stats(p)->held, 4);
	server_of(&sv, &first, 99, 3000); /* its partner is gone: held itself */
	pair__add(p, &sv);
	assert_int_equal(pair__stats(p)->paired, 0);
	pair__free(p);
	assert_null(pair__new(0, SEC, record, &s));
}

/* Roles unknown: the side that began in SYN_SENT is the client. A listener is
 * never held. */
static void test_client_choice_and_listener(void **state)
{
	struct seen s = { 0 };
	struct pair *p = pair__new(16, 2 * SEC, record, &s);
	struct conn c, sv, l;

	client4(&c, 1, 40000, 1000, 5000);
	server_of(&sv, &c, 2, 4000);
	c.role = sv.role = CT_ROLE_UNKNOWN;
	pair__add(p, &c);
	pair__add(p, &sv);
	assert_int_equal(s.client[0], 1);
	assert_int_equal(s.server[0], 2);

	memset(&l, 0, sizeof(l));
	l.cookie = 7;
	l.role = CT_ROLE_LISTEN;
	l.end_ns = 6000;
	pair__add(p, &l);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.client[1], 7);
	assert_int_equal(pair__stats(p)->held, 0);
	pair__free(p);
}

/* Give c and its server sv the private addresses 10.0.0.1 (client) and 10.0.0.2. */
static void private4(struct conn *c, struct conn *sv)
{
	c->saddr[0] = c->daddr[0] = sv->saddr[0] = sv->daddr[0] = 10;
	c->saddr[3] = sv->daddr[3] = 1;
	c->daddr[3] = sv->saddr[3] = 2;
}

/* Containers on one node (veth): the two ends are in two namespaces. */
static void test_across_netns(void **state)
{
	struct seen s = { 0 };
	struct pair *p = pair__new(16, 2 * SEC, record, &s);
	struct conn c, sv, sv2, same;

	client4(&c, 1, 40000, 1000, 5000);
	server_of(&sv, &c, 2, 6000);
	sv.netns = 2;
	assert_false(pair__mirror(&c, &sv)); /* loopback: one per namespace */
	private4(&c, &sv);
	assert_true(pair__mirror(&c, &sv));
	c.saddr[3] = 0;
	sv.daddr[3] = 0;
	c.saddr[0] = sv.daddr[0] = 0;
	assert_false(pair__mirror(&c, &sv)); /* unspecified */
	private4(&c, &sv);

	/* IPv6: a ULA pairs across, ::1 and ::ffff:127.0.0.1 do not */
	{
		struct conn a = c, b = sv;

		a.family = b.family = 6;
		memset(a.saddr, 0, 16);
		memset(a.daddr, 0, 16);
		a.saddr[0] = a.daddr[0] = 0xfd;
		a.saddr[15] = 1;
		a.daddr[15] = 2;
		memcpy(b.saddr, a.daddr, 16);
		memcpy(b.daddr, a.saddr, 16);
		assert_true(pair__mirror(&a, &b));
		memset(a.saddr, 0, 16);
		a.saddr[15] = 1;
		memcpy(b.daddr, a.saddr, 16);
		assert_false(pair__mirror(&a, &b));
		memset(a.saddr, 0, 16);
		a.saddr[10] = a.saddr[11] = 0xff;
		a.saddr[12] = 127;
		a.saddr[15] = 1;
		memcpy(b.daddr, a.saddr, 16);
		assert_false(pair__mirror(&a, &b));
	}

	pair__add(p, &c);
	pair__add(p, &sv);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.client[0], 1);
	assert_int_equal(s.server[0], 2);
	{
		char *txt = NULL;
		size_t n = 0;
		FILE *f = open_memstream(&txt, &n);
		struct out o;

		out__init(&o, f, false, 0);
		out__pair(&o, &c, &sv);
		fclose(f);
		assert_non_null(strstr(txt, "PAIR 10.0.0.1:40000 > 10.0.0.2:8080 netns 1 > 2\n"));
		free(txt);
	}

	/* Two servers in two other namespaces mirror the client: which one is its
	 * peer cannot be told, so none is paired. */
	client4(&c, 3, 40001, 10000, 15000);
	server_of(&sv, &c, 4, 14000);
	private4(&c, &sv);
	sv.netns = 2;
	sv2 = sv;
	sv2.cookie = 5;
	sv2.netns = 3;
	pair__add(p, &sv);
	pair__add(p, &sv2);
	pair__add(p, &c);
	assert_int_equal(s.n, 1);
	assert_int_equal(pair__stats(p)->held, 3);
	pair__drain(p);
	assert_int_equal(s.n, 4);
	assert_int_equal(pair__stats(p)->paired, 1);

	/* One in another namespace and one in the same: the same one wins. */
	client4(&c, 6, 40002, 20000, 25000);
	server_of(&sv, &c, 7, 24000);
	private4(&c, &sv);
	sv.netns = 2;
	same = sv;
	same.cookie = 8;
	same.netns = c.netns;
	pair__add(p, &sv);
	pair__add(p, &same);
	pair__add(p, &c);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.client[4], 6);
	assert_int_equal(s.server[4], 8);
	pair__free(p);
}

/* The text view: merged in time order, client column then server column. */
static void test_text_and_json_output(void **state)
{
	/* 2026-11-24T10:00:00Z at kernel time 0 */
	const int64_t off = (int64_t)1795514400 * 1000000000LL;
	struct conn c, sv;
	struct out o;
	char *p = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&p, &n);

	client4(&c, 1, 40000, 1000, 5000);
	server_of(&sv, &c, 2, 6000);
	out__init(&o, f, false, off);
	out__pair(&o, &c, &sv);
	out__pair(&o, NULL, &sv);
	out__pair(&o, &sv, NULL); /* alone: passive goes to the server column */
	fclose(f);
	assert_string_equal(
		p,
		"PAIR 127.0.0.1:40000 > 127.0.0.1:8080 netns 1\n"
		"  TIME(UTC)        CLIENT 10 client                SERVER 20 server\n"
		"  10:00:00.000001  SYN_SENT 100ns\n"
		"  10:00:00.000001                                  SYN_RECV 100ns\n"
		"  10:00:00.000001  ESTABLISHED 3.9us\n"
		"  10:00:00.000001                                  ESTABLISHED 4.8us\n"
		"  10:00:00.000005  CLOSE\n"
		"  10:00:00.000006                                  CLOSE\n"
		"UNPAIRED 127.0.0.1:40000 > 127.0.0.1:8080 netns 1\n"
		"  TIME(UTC)        CLIENT (not seen)               SERVER 20 server\n"
		"  10:00:00.000001                                  SYN_RECV 100ns\n"
		"  10:00:00.000001                                  ESTABLISHED 4.8us\n"
		"  10:00:00.000006                                  CLOSE\n"
		"UNPAIRED 127.0.0.1:40000 > 127.0.0.1:8080 netns 1\n"
		"  TIME(UTC)        CLIENT (not seen)               SERVER 20 server\n"
		"  10:00:00.000001                                  SYN_RECV 100ns\n"
		"  10:00:00.000001                                  ESTABLISHED 4.8us\n"
		"  10:00:00.000006                                  CLOSE\n");
	free(p);

	/* a listener alone: the server column */
	p = NULL;
	f = open_memstream(&p, &n);
	out__init(&o, f, false, off);
	sv.role = CT_ROLE_LISTEN;
	out__pair(&o, &sv, NULL);
	fclose(f);
	assert_non_null(strstr(p, "CLIENT (not seen)               SERVER 20 server\n"));
	sv.role = CT_ROLE_PASSIVE;
	free(p);

	p = NULL;
	f = open_memstream(&p, &n);
	out__init(&o, f, true, off);
	out__pair(&o, &c, &sv);
	out__pair(&o, &c, NULL);
	fclose(f);
	assert_non_null(strstr(p, "{\"type\":\"pair\",\"paired\":true,\"client\":{\"type\":"
				  "\"timeline\""));
	assert_non_null(strstr(p, ",\"server\":{\"type\":\"timeline\""));
	assert_non_null(strstr(p, "\"paired\":false,\"client\":{"));
	assert_non_null(strstr(p, ",\"server\":null}\n"));
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_either_order),
		cmocka_unit_test(test_no_match),
		cmocka_unit_test(test_ipv6_and_mapped),
		cmocka_unit_test(test_timeout_in_event_time),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_client_choice_and_listener),
		cmocka_unit_test(test_across_netns),
		cmocka_unit_test(test_text_and_json_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
