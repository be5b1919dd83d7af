// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of the timewait lookups' pure part: the request names the exact tuple
 * and the cookie (or none), and each kind of reply the kernel writes (a timewait
 * socket in either substate, ENOENT, another socket found by tuple, an answer that
 * does not match) reads as what it means; malformed buffers are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>

#include "twdiag.h"

#define SEQ0 1000u

static struct ct_tw_query query(uint64_t cookie, uint16_t sport, uint8_t family)
{
	struct ct_tw_query q;

	memset(&q, 0, sizeof(q));
	q.cookie = cookie;
	q.skaddr = cookie ? 0 : 0xffff8000;
	q.netns = 4026531840u;
	q.family = family;
	q.sport = sport;
	q.dport = 80;
	if (family == 6) {
		q.saddr[15] = 1;
		q.daddr[15] = 1;
	} else {
		q.saddr[0] = q.daddr[0] = 127;
		q.saddr[3] = q.daddr[3] = 1;
	}
	return q;
}

/* Append a reply: an inet_diag_msg about q's tuple (as the kernel writes it). */
static size_t put_msg(uint8_t *buf, size_t off, uint32_t seq, const struct ct_tw_query *q,
		      uint8_t state, uint8_t timer, uint32_t expires, uint64_t cookie)
{
	struct nlmsghdr h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct inet_diag_msg)),
			     .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			     .nlmsg_seq = seq};
	struct inet_diag_msg m;

	memset(&m, 0, sizeof(m));
	m.idiag_family = q->family == 6 ? AF_INET6 : AF_INET;
	m.idiag_state = state;
	m.idiag_timer = timer;
	m.idiag_expires = expires;
	m.id.idiag_sport = htons(q->sport);
	m.id.idiag_dport = htons(q->dport);
	memcpy(m.id.idiag_src, q->saddr, q->family == 6 ? 16 : 4);
	memcpy(m.id.idiag_dst, q->daddr, q->family == 6 ? 16 : 4);
	m.id.idiag_cookie[0] = (uint32_t)cookie;
	m.id.idiag_cookie[1] = (uint32_t)(cookie >> 32);
	memcpy(buf + off, &h, sizeof(h));
	memcpy(buf + off + NLMSG_HDRLEN, &m, sizeof(m));
	return off + NLMSG_ALIGN(h.nlmsg_len);
}

static size_t put_err(uint8_t *buf, size_t off, uint32_t seq, int error)
{
	struct nlmsghdr h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct nlmsgerr)),
			     .nlmsg_type = NLMSG_ERROR,
			     .nlmsg_seq = seq};
	struct nlmsgerr e = {.error = error};

	memcpy(buf + off, &h, sizeof(h));
	memcpy(buf + off + NLMSG_HDRLEN, &e, sizeof(e));
	return off + NLMSG_ALIGN(h.nlmsg_len);
}

struct got {
	int n;
	size_t k[16];
	enum twdiag_found f[16];
	struct td_event e[16];
	bool has_e[16];
};

static void on_reply(void *arg, size_t k, enum twdiag_found f, const struct td_event *e)
{
	struct got *g = arg;

	if (g->n >= 16)
		return;
	g->k[g->n] = k;
	g->f[g->n] = f;
	g->has_e[g->n] = e != NULL;
	if (e)
		g->e[g->n] = *e;
	g->n++;
}

static void test_request(void **state)
{
	struct ct_tw_query q = query(0x1122334455667788ULL, 45000, 4);
	unsigned char buf[256];
	struct nlmsghdr h;
	struct inet_diag_req_v2 r;

	(void)state;
	assert_int_equal(twdiag__req(buf, &q, 7), twdiag__req_len());
	memcpy(&h, buf, sizeof(h));
	memcpy(&r, buf + NLMSG_HDRLEN, sizeof(r));
	assert_int_equal(h.nlmsg_len, twdiag__req_len());
	assert_int_equal(h.nlmsg_type, SOCK_DIAG_BY_FAMILY);
	assert_int_equal(h.nlmsg_flags, NLM_F_REQUEST); /* one socket, not a dump */
	assert_int_equal(h.nlmsg_seq, 7);
	assert_int_equal(r.sdiag_family, AF_INET);
	assert_int_equal(r.sdiag_protocol, IPPROTO_TCP);
	assert_int_equal(ntohs(r.id.idiag_sport), 45000);
	assert_int_equal(ntohs(r.id.idiag_dport), 80);
	assert_int_equal(r.id.idiag_src[0], htonl(0x7f000001));
	assert_int_equal(r.id.idiag_dst[0], htonl(0x7f000001));
	assert_int_equal(r.id.idiag_cookie[0], 0x55667788u);
	assert_int_equal(r.id.idiag_cookie[1], 0x11223344u);

	q = query(0, 45001, 6);
	twdiag__req(buf, &q, 8);
	memcpy(&r, buf + NLMSG_HDRLEN, sizeof(r));
	assert_int_equal(r.sdiag_family, AF_INET6);
	assert_int_equal(r.id.idiag_cookie[0], INET_DIAG_NOCOOKIE);
	assert_int_equal(r.id.idiag_cookie[1], INET_DIAG_NOCOOKIE);
	assert_int_equal(((uint8_t *)r.id.idiag_src)[15], 1);
}

static void test_replies(void **state)
{
	struct ct_tw_query q[6] = {
	    query(11, 45000, 4), query(12, 45001, 4), query(13, 45002, 6),
	    query(0, 45003, 4),	 query(15, 45004, 4), query(0, 45005, 4),
	};
	struct ct_tw_query listener = query(0, 45003, 4);
	uint8_t buf[2048];
	struct got g = {0};
	size_t len = 0;

	(void)state;
	listener.dport = 0;
	memset(listener.daddr, 0, sizeof(listener.daddr));
	len = put_msg(buf, len, SEQ0 + 0, &q[0], TD_TIME_WAIT, 3, 59000, 11);
	len = put_err(buf, len, SEQ0 + 1, -ENOENT);
	len = put_msg(buf, len, SEQ0 + 2, &q[2], TD_FIN_WAIT2, 3, 40000, 13);
	/* no cookie: a gone timewait resolves to the listener on its port */
	len = put_msg(buf, len, SEQ0 + 3, &listener, TD_LISTEN, 0, 0, 99);
	/* with a cookie, another socket's answer is not believed */
	len = put_msg(buf, len, SEQ0 + 4, &q[4], TD_TIME_WAIT, 3, 59000, 16);
	/* no cookie: a newer connection on the same tuple */
	len = put_msg(buf, len, SEQ0 + 5, &q[5], TD_ESTABLISHED, 0, 0, 17);
	len = put_err(buf, len, SEQ0 + 6, -ENOENT); /* not one of these requests */
	len = put_err(buf, len, SEQ0 - 1, -ENOENT);
	len = put_err(buf, len, SEQ0 + 1, 0); /* an acknowledgement */
	assert_int_equal(twdiag__parse(buf, len, q, 6, SEQ0, 5000, on_reply, &g), 0);
	assert_int_equal(g.n, 6);

	assert_int_equal(g.k[0], 0);
	assert_int_equal(g.f[0], TWDIAG_TIME_WAIT);
	assert_true(g.has_e[0]);
	assert_int_equal(g.e[0].kind, TD_EV_TW_DIAG);
	assert_int_equal(g.e[0].oldstate, TD_TIME_WAIT);
	assert_int_equal(g.e[0].ts_ns, 5000);
	assert_int_equal(g.e[0].tw_left_ms, 59000);
	assert_true(g.e[0].flags & TD_F_TW_LEFT);
	assert_int_equal(g.e[0].cookie, 11);
	assert_int_equal(g.e[0].sport, 45000);
	assert_int_equal(g.e[0].netns, 4026531840u);

	assert_int_equal(g.f[1], TWDIAG_GONE);
	assert_int_equal(g.e[1].oldstate, TD_CLOSE);
	assert_int_equal(g.e[1].cookie, 12);
	assert_int_equal(g.e[1].flags & TD_F_TW_LEFT, 0);

	assert_int_equal(g.f[2], TWDIAG_STILL);
	assert_false(g.has_e[2]);

	assert_int_equal(g.f[3], TWDIAG_GONE);
	assert_int_equal(g.e[3].cookie, 0);
	assert_int_equal(g.e[3].skaddr, 0xffff8000);
	assert_true(g.e[3].flags & TD_F_NOCOOKIE);

	assert_int_equal(g.f[4], TWDIAG_FAILED);
	assert_false(g.has_e[4]);
	assert_int_equal(g.f[5], TWDIAG_GONE);
}

static void test_errors_and_malformed(void **state)
{
	struct ct_tw_query q[1] = {query(11, 45000, 4)};
	uint8_t buf[512];
	struct got g = {0};
	struct nlmsghdr h;
	size_t len;

	(void)state;
	len = put_err(buf, 0, SEQ0, -ENOMEM);
	assert_int_equal(twdiag__parse(buf, len, q, 1, SEQ0, 1, on_reply, &g), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.f[0], TWDIAG_FAILED);

	/* a truncated answer, then a header claiming more than the buffer */
	len = put_msg(buf, 0, SEQ0, &q[0], TD_TIME_WAIT, 3, 1, 11);
	assert_int_equal(twdiag__parse(buf, len - 8, q, 1, SEQ0, 1, on_reply, &g), -EBADMSG);
	h = (struct nlmsghdr){.nlmsg_len = 400, .nlmsg_type = SOCK_DIAG_BY_FAMILY};
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(twdiag__parse(buf, 64, q, 1, SEQ0, 1, on_reply, &g), -EBADMSG);
	/* a message too short for an inet_diag_msg */
	h = (struct nlmsghdr){
	    .nlmsg_len = NLMSG_LENGTH(8), .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_seq = SEQ0};
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(twdiag__parse(buf, h.nlmsg_len, q, 1, SEQ0, 1, on_reply, &g), -EBADMSG);
	/* stray bytes */
	assert_int_equal(twdiag__parse(buf, 5, q, 1, SEQ0, 1, on_reply, &g), -EBADMSG);
	assert_int_equal(g.n, 1);
	/* an expiry past INT32_MAX ms is held there */
	g.n = 0;
	len = put_msg(buf, 0, SEQ0, &q[0], TD_TIME_WAIT, 3, UINT32_MAX, 11);
	assert_int_equal(twdiag__parse(buf, len, q, 1, SEQ0, 1, on_reply, &g), 0);
	assert_int_equal(g.e[0].tw_left_ms, INT32_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request),
	    cmocka_unit_test(test_replies),
	    cmocka_unit_test(test_errors_and_malformed),
	};

	return cmocka_run_group_tests_name("twdiag", tests, NULL, NULL);
}
