// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of the seed's pure part: seed__parse on netlink buffers built here
 * the way the kernel lays out an inet_diag dump (IPv4, IPv6, listeners,
 * timewait sockets, request sockets, multipart, NLMSG_DONE, NLMSG_ERROR and
 * malformed buffers). The dump itself needs root and is tested live.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>

#include "seed.h"

#define S     1000000000ULL
#define MS    1000000ULL
#define NOW   (1000 * S)
#define NETNS 4026531840u

/* A dump buffer under construction. */
struct buf {
	unsigned char b[4096];
	size_t len;
};

/* What seed__parse handed to the callback. */
struct got {
	struct conn c[16];
	uint32_t inode[16];
	int n;
};

static void collect(void *arg, struct conn *c, uint32_t inode)
{
	struct got *g = arg;

	assert_true(g->n < 16);
	g->c[g->n] = *c;
	g->inode[g->n] = inode;
	g->n++;
}

static void put(struct buf *b, uint16_t type, const void *data, size_t len, bool pad)
{
	struct nlmsghdr h = {
	    .nlmsg_len = NLMSG_LENGTH(len),
	    .nlmsg_type = type,
	    .nlmsg_flags = NLM_F_MULTI,
	    .nlmsg_seq = 1,
	};
	size_t total = pad ? NLMSG_SPACE(len) : NLMSG_LENGTH(len);

	assert_true(b->len + total <= sizeof(b->b));
	memset(b->b + b->len, 0, total);
	memcpy(b->b + b->len, &h, sizeof(h));
	if (len)
		memcpy(b->b + b->len + NLMSG_HDRLEN, data, len);
	b->len += total;
}

/* A socket message as the kernel builds it. with_shut adds INET_DIAG_SHUTDOWN,
 * which every full socket has: a 5-byte attribute, so that the message length
 * is not a multiple of 4 (the padding is only there when put() is told to). */
struct sk {
	int family, state, timer;
	const char *src, *dst;
	uint16_t sport, dport;
	uint64_t cookie;
	uint32_t expires, inode;
	bool with_shut;
};

static void put_sk(struct buf *b, const struct sk *s, bool pad)
{
	unsigned char data[NLMSG_ALIGN(sizeof(struct inet_diag_msg)) + 16];
	struct inet_diag_msg m;
	size_t len = NLMSG_ALIGN(sizeof(m));

	memset(&m, 0, sizeof(m));
	memset(data, 0, sizeof(data));
	m.idiag_family = s->family;
	m.idiag_state = s->state;
	m.idiag_timer = s->timer;
	m.idiag_expires = s->expires;
	m.idiag_inode = s->inode;
	m.id.idiag_sport = htons(s->sport);
	m.id.idiag_dport = htons(s->dport);
	m.id.idiag_cookie[0] = (uint32_t)s->cookie;
	m.id.idiag_cookie[1] = (uint32_t)(s->cookie >> 32);
	if (s->src)
		assert_int_equal(inet_pton(s->family, s->src, m.id.idiag_src), 1);
	if (s->dst)
		assert_int_equal(inet_pton(s->family, s->dst, m.id.idiag_dst), 1);
	memcpy(data, &m, sizeof(m));
	if (s->with_shut) {
		struct nlattr a = {.nla_len = NLA_HDRLEN + 1, .nla_type = INET_DIAG_SHUTDOWN};

		memcpy(data + len, &a, sizeof(a));
		data[len + NLA_HDRLEN] = 0;
		len += NLA_HDRLEN + 1; /* unpadded: the message length says 5 */
	}
	put(b, SOCK_DIAG_BY_FAMILY, data, len, pad);
}

static void put_done(struct buf *b, int status)
{
	put(b, NLMSG_DONE, &status, sizeof(status), true);
}

static void put_error(struct buf *b, int error)
{
	struct nlmsgerr e;

	memset(&e, 0, sizeof(e));
	e.error = error;
	put(b, NLMSG_ERROR, &e, sizeof(e), true);
}

static const struct seed_ns ns_default = {.now_ns = NOW, .netns = NETNS};

static int parse(const struct buf *b, const struct seed_ns *ns, struct got *g, char *err)
{
	memset(g, 0, sizeof(*g));
	err[0] = 0;
	return seed__parse(b->b, b->len, ns ? ns : &ns_default, collect, g, err, 256);
}

static const struct sk estab4 = {
    .family = AF_INET,
    .state = 1,
    .src = "127.0.0.1",
    .dst = "10.1.2.3",
    .sport = 8080,
    .dport = 54321,
    .cookie = 0x0123456789abcdefULL,
    .inode = 777,
    .with_shut = true,
};

static void test_ipv4_established(void **state)
{
	struct buf b = {0};
	struct got g;
	char err[256];
	const unsigned char lo[4] = {127, 0, 0, 1}, dst[4] = {10, 1, 2, 3};
	const unsigned char zero[12] = {0};

	put_sk(&b, &estab4, true);
	assert_int_equal(parse(&b, NULL, &g, err), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.inode[0], 777);
	assert_true(g.c[0].cookie == 0x0123456789abcdefULL);
	assert_int_equal(g.c[0].family, 4);
	assert_int_equal(g.c[0].state, TD_ESTABLISHED);
	assert_memory_equal(g.c[0].saddr, lo, 4);
	assert_memory_equal(g.c[0].daddr, dst, 4);
	assert_memory_equal(g.c[0].saddr + 4, zero, 12);
	assert_memory_equal(g.c[0].daddr + 4, zero, 12);
	assert_int_equal(g.c[0].sport, 8080);
	assert_int_equal(g.c[0].dport, 54321);
	assert_int_equal(g.c[0].netns, NETNS);
	assert_int_equal(g.c[0].role, CT_ROLE_UNKNOWN);
	assert_true(g.c[0].step_ns[0] == NOW);
	assert_true(g.c[0].start_ns == NOW);
	/* The owner is the dump's business, not the parser's. */
	assert_int_equal(g.c[0].pid, 0);
	assert_int_equal(g.c[0].owner_src, CT_OWNER_NONE);
	assert_int_equal(g.c[0].flags, 0);
	assert_true(g.c[0].tw_deadline_ns == 0);
}

static void test_ipv6_and_listener(void **state)
{
	struct sk v6 = {
	    .family = AF_INET6,
	    .state = 10,
	    .src = "2001:db8::1",
	    .dst = "::",
	    .sport = 443,
	    .cookie = 5,
	    .inode = 9,
	    .with_shut = true,
	};
	struct buf b = {0};
	struct got g;
	char err[256];
	unsigned char a[16];

	put_sk(&b, &v6, true);
	v6.src = "::ffff:192.0.2.7"; /* a v4-mapped socket stays IPv6 */
	v6.state = 1;
	v6.dst = "::1";
	put_sk(&b, &v6, true);
	assert_int_equal(parse(&b, NULL, &g, err), 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.c[0].family, 6);
	assert_int_equal(g.c[0].state, TD_LISTEN);
	assert_int_equal(g.c[0].role, CT_ROLE_LISTEN);
	inet_pton(AF_INET6, "2001:db8::1", a);
	assert_memory_equal(g.c[0].saddr, a, 16);
	assert_int_equal(g.c[0].sport, 443);
	assert_int_equal(g.c[0].dport, 0);
	assert_int_equal(g.c[1].family, 6);
	assert_int_equal(g.c[1].role, CT_ROLE_UNKNOWN);
	inet_pton(AF_INET6, "::ffff:192.0.2.7", a);
	assert_memory_equal(g.c[1].saddr, a, 16);
	inet_pton(AF_INET6, "::1", a);
	assert_memory_equal(g.c[1].daddr, a, 16);
}

static void test_multipart_then_done(void **state)
{
	struct buf b1 = {0}, b2 = {0};
	struct sk s = estab4;
	struct got g;
	char err[256];

	put_sk(&b1, &s, true);
	s.sport = 8081;
	put_sk(&b1, &s, true);
	assert_int_equal(parse(&b1, NULL, &g, err), 0); /* more to come */
	assert_int_equal(g.n, 2);
	assert_int_equal(g.c[1].sport, 8081);

	s.sport = 8082;
	put_sk(&b2, &s, true);
	put_done(&b2, 0);
	s.sport = 8083; /* after DONE: not part of the dump */
	put_sk(&b2, &s, true);
	assert_int_equal(parse(&b2, NULL, &g, err), 1);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.c[0].sport, 8082);
}

static void test_done_alone_and_empty(void **state)
{
	struct buf b = {0};
	struct got g;
	char err[256];

	assert_int_equal(parse(&b, NULL, &g, err), 0);
	assert_int_equal(g.n, 0);
	put_done(&b, 0);
	assert_int_equal(parse(&b, NULL, &g, err), 1);
	assert_int_equal(g.n, 0);
	/* A DONE without the status word (older kernels) is still the end. */
	b.len = 0;
	put(&b, NLMSG_DONE, NULL, 0, true);
	assert_int_equal(parse(&b, NULL, &g, err), 1);
}

static void test_done_with_error(void **state)
{
	struct buf b = {0};
	struct got g;
	char err[256];

	put_sk(&b, &estab4, true);
	put_done(&b, -EMSGSIZE);
	assert_int_equal(parse(&b, NULL, &g, err), -EMSGSIZE);
	assert_int_equal(g.n, 1);
	assert_non_null(strstr(err, "socket dump failed"));
}

static void test_nlmsg_error(void **state)
{
	struct buf b = {0};
	struct got g;
	char err[256];

	put_error(&b, -EPERM);
	assert_int_equal(parse(&b, NULL, &g, err), -EPERM);
	assert_int_equal(g.n, 0);
	assert_non_null(strstr(err, strerror(EPERM)));

	/* An acknowledgement (error 0) is not an error. */
	b.len = 0;
	put_error(&b, 0);
	put_sk(&b, &estab4, true);
	put_done(&b, 0);
	assert_int_equal(parse(&b, NULL, &g, err), 1);
	assert_int_equal(g.n, 1);

	/* Too short to hold the error code. */
	b.len = 0;
	put(&b, NLMSG_ERROR, "\x01\x02", 2, true);
	assert_int_equal(parse(&b, NULL, &g, err), -EBADMSG);
	assert_non_null(strstr(err, "truncated error"));
}

/* An error code no kernel sends (INT_MIN cannot even be negated) is a malformed dump. */
static void test_error_code_out_of_range(void **state)
{
	struct buf b = {0};
	struct got g;
	char err[256];

	put_error(&b, INT_MIN);
	assert_int_equal(parse(&b, NULL, &g, err), -EBADMSG);
	assert_non_null(strstr(err, "invalid error code -2147483648"));

	b.len = 0;
	put_error(&b, 5000);
	assert_int_equal(parse(&b, NULL, &g, err), -EBADMSG);
	assert_non_null(strstr(err, "invalid error code 5000"));

	b.len = 0;
	put_sk(&b, &estab4, true);
	put_done(&b, INT_MIN);
	assert_int_equal(parse(&b, NULL, &g, err), -EBADMSG);
	assert_int_equal(g.n, 1);
	assert_non_null(strstr(err, "invalid error code -2147483648"));
}

static void test_overrun(void **state)
{
	struct buf b = {0};
	struct got g;
	char err[256];

	put(&b, NLMSG_OVERRUN, NULL, 0, true);
	assert_int_equal(parse(&b, NULL, &g, err), -ENOBUFS);
	assert_true(err[0] != 0);
}

static void test_truncated(void **state)
{
	struct buf b = {0}, t;
	struct got g;
	char err[256];
	size_t first;

	put_sk(&b, &estab4, true);
	first = b.len;
	put_sk(&b, &estab4, true);

	/* The second message (93 bytes and 3 of padding) cut short anywhere:
	 * the first one is still reported. */
	for (size_t cut = first + 1; cut < b.len - 3; cut++) {
		t = b;
		t.len = cut;
		assert_int_equal(parse(&t, NULL, &g, err), -EBADMSG);
		assert_int_equal(g.n, 1);
		assert_true(err[0] != 0);
	}

	/* A length below the header's own. */
	t = b;
	memcpy(t.b, &(uint32_t){8}, sizeof(uint32_t)); /* nlmsg_len comes first */
	assert_int_equal(parse(&t, NULL, &g, err), -EBADMSG);
	assert_int_equal(g.n, 0);

	/* A socket message too short for inet_diag_msg. */
	t.len = 0;
	put(&t, SOCK_DIAG_BY_FAMILY, "0123456789", 10, true);
	assert_int_equal(parse(&t, NULL, &g, err), -EBADMSG);
	assert_non_null(strstr(err, "too short"));
}

static void test_unaligned_and_unpadded(void **state)
{
	struct buf b = {0};
	struct got g;
	char err[256];
	unsigned char *odd = malloc(sizeof(b.b) + 1);

	/* Both messages end with a 5-byte attribute; the last one unpadded. */
	put_sk(&b, &estab4, true);
	put_sk(&b, &estab4, false);
	assert_int_equal(b.len % 4, 1);
	assert_int_equal(parse(&b, NULL, &g, err), 0);
	assert_int_equal(g.n, 2);

	/* The same bytes at an odd address. */
	memcpy(odd + 1, b.b, b.len);
	memset(&g, 0, sizeof(g));
	assert_int_equal(seed__parse(odd + 1, b.len, &ns_default, collect, &g, err, sizeof(err)),
			 0);
	assert_int_equal(g.n, 2);
	assert_true(g.c[1].cookie == estab4.cookie);
	free(odd);
}

static void test_stray_bytes(void **state)
{
	struct buf b = {0};
	struct got g;
	char err[256];

	put_sk(&b, &estab4, true);
	b.len += 3;
	assert_int_equal(parse(&b, NULL, &g, err), -EBADMSG);
	assert_int_equal(g.n, 1);
	assert_non_null(strstr(err, "stray"));
}

static void test_time_wait_entry_from_timer(void **state)
{
	struct sk tw = estab4;
	struct buf b = {0};
	struct seed_ns ns = ns_default;
	struct got g;
	char err[256];

	tw.state = 6;
	tw.timer = 3;
	tw.expires = 45000; /* armed 15 s ago */
	tw.inode = 0;
	tw.with_shut = false; /* timewait sockets carry no attributes */
	put_sk(&b, &tw, true);
	assert_int_equal(parse(&b, NULL, &g, err), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.inode[0], 0);
	assert_int_equal(g.c[0].state, TD_TIME_WAIT);
	assert_true(g.c[0].step_ns[0] == NOW - 15 * S);
	assert_true(g.c[0].start_ns == NOW - 15 * S);
	assert_true(g.c[0].flags & CT_F_TW);
	assert_int_equal(g.c[0].tw_substate, TD_TIME_WAIT);
	assert_true(g.c[0].tw_deadline_ns == NOW + 45 * S);

	/* tcp_fin_timeout does not matter in TIME_WAIT. */
	ns.fin_timeout_ms = 30000;
	assert_int_equal(parse(&b, &ns, &g, err), 0);
	assert_true(g.c[0].step_ns[0] == NOW - 15 * S);
}

static void test_time_wait_clamped(void **state)
{
	struct sk tw = estab4;
	struct buf b = {0};
	struct seed_ns ns = ns_default;
	struct got g;
	char err[256];

	tw.state = 6;
	tw.timer = 3;
	tw.with_shut = false;
	tw.expires = 70000; /* more than a full period: entered now at the earliest */
	put_sk(&b, &tw, true);
	tw.expires = 0; /* due: a full period ago */
	put_sk(&b, &tw, true);
	assert_int_equal(parse(&b, NULL, &g, err), 0);
	assert_int_equal(g.n, 2);
	assert_true(g.c[0].step_ns[0] == NOW);
	assert_true(g.c[1].step_ns[0] == NOW - 60 * S);

	/* A clock younger than the period (cannot happen): the dump time. */
	ns.now_ns = 10 * S;
	assert_int_equal(parse(&b, &ns, &g, err), 0);
	assert_true(g.c[1].step_ns[0] == 10 * S);
	assert_true(g.c[1].start_ns == 10 * S);
}

static void test_fin_wait2_timewait(void **state)
{
	struct sk fw2 = estab4;
	struct buf b = {0};
	struct seed_ns ns = ns_default;
	struct got g;
	char err[256];

	fw2.state = 5;
	fw2.timer = 3;
	fw2.expires = 10000;
	fw2.inode = 0;
	fw2.with_shut = false;
	put_sk(&b, &fw2, true);

	/* Default tcp_fin_timeout: a 60 s timer, armed 50 s ago. */
	assert_int_equal(parse(&b, NULL, &g, err), 0);
	assert_int_equal(g.c[0].state, TD_FIN_WAIT2);
	assert_true(g.c[0].flags & CT_F_TW);
	assert_int_equal(g.c[0].tw_substate, TD_FIN_WAIT2);
	assert_true(g.c[0].step_ns[0] == NOW - 50 * S);

	/* tcp_fin_timeout 30 s: armed for 30 s, 20 s ago. */
	ns.fin_timeout_ms = 30000;
	assert_int_equal(parse(&b, &ns, &g, err), 0);
	assert_true(g.c[0].step_ns[0] == NOW - 20 * S);

	/* 90 s: the full socket waited 30 s, then the timer got the other 30 s. */
	ns.fin_timeout_ms = 90000;
	assert_int_equal(parse(&b, &ns, &g, err), 0);
	assert_true(g.c[0].step_ns[0] == NOW - 20 * S);
}

static void test_fin_wait2_full_socket(void **state)
{
	struct sk fw2 = estab4;
	struct buf b = {0};
	struct got g;
	char err[256];

	fw2.state = 5;
	fw2.timer = 2; /* keepalive/FIN_WAIT2 timer of a full socket */
	fw2.expires = 10000;
	put_sk(&b, &fw2, true);
	assert_int_equal(parse(&b, NULL, &g, err), 0);
	assert_int_equal(g.n, 1);
	assert_true(g.c[0].step_ns[0] == NOW);
	assert_int_equal(g.c[0].flags, 0);
	assert_int_equal(g.c[0].tw_substate, 0);
	assert_int_equal(g.inode[0], 777);
}

static void test_request_sockets_skipped(void **state)
{
	struct sk req = estab4, tfo = estab4;
	struct buf b = {0};
	struct got g;
	char err[256];

	/* tcp_req_diag_fill(): SYN_RECV, timer 1, no inode, no attributes. */
	req.state = 3;
	req.timer = 1;
	req.inode = 0;
	req.with_shut = false;
	req.cookie = 1;
	put_sk(&b, &req, true);
	/* A full SYN_RECV socket (TCP Fast Open child) has INET_DIAG_SHUTDOWN. */
	tfo.state = 3;
	tfo.timer = 1;
	tfo.inode = 0;
	tfo.cookie = 2;
	put_sk(&b, &tfo, true);
	/* NEW_SYN_RECV, should a kernel report it, and values outside the enum. */
	req.state = 12;
	put_sk(&b, &req, true);
	req.state = 0;
	put_sk(&b, &req, true);
	req.state = 13;
	put_sk(&b, &req, true);
	put_done(&b, 0);
	assert_int_equal(parse(&b, NULL, &g, err), 1);
	assert_int_equal(g.n, 1);
	assert_true(g.c[0].cookie == 2);
	assert_int_equal(g.c[0].state, TD_SYN_RECV);
}

static void test_shutdown_attr_search(void **state)
{
	struct buf b = {0};
	struct got g;
	char err[256];
	unsigned char data[NLMSG_ALIGN(sizeof(struct inet_diag_msg)) + 16];
	size_t base = NLMSG_ALIGN(sizeof(struct inet_diag_msg));
	struct inet_diag_msg m;
	struct nlattr mark = {.nla_len = NLA_HDRLEN + 4, .nla_type = INET_DIAG_MARK};
	struct nlattr shut = {.nla_len = NLA_HDRLEN + 1, .nla_type = INET_DIAG_SHUTDOWN};
	struct nlattr bad = {.nla_len = 2, .nla_type = INET_DIAG_MARK};

	memset(&m, 0, sizeof(m));
	memset(data, 0, sizeof(data));
	m.idiag_family = AF_INET;
	m.idiag_state = 3;
	memcpy(data, &m, sizeof(m));

	/* SHUTDOWN after another attribute is still found. */
	memcpy(data + base, &mark, sizeof(mark));
	memcpy(data + base + 8, &shut, sizeof(shut));
	put(&b, SOCK_DIAG_BY_FAMILY, data, base + 13, true);
	/* A request socket with INET_DIAG_MARK only (CAP_NET_ADMIN dumps). */
	put(&b, SOCK_DIAG_BY_FAMILY, data, base + 8, true);
	/* A malformed attribute ends the search. */
	memcpy(data + base, &bad, sizeof(bad));
	put(&b, SOCK_DIAG_BY_FAMILY, data, base + 13, true);
	/* An attribute claiming more than the message holds. */
	shut.nla_len = 40;
	memcpy(data + base, &shut, sizeof(shut));
	put(&b, SOCK_DIAG_BY_FAMILY, data, base + 8, true);
	assert_int_equal(parse(&b, NULL, &g, err), 0);
	assert_int_equal(g.n, 1);
}

static void test_other_messages_skipped(void **state)
{
	struct sk unix_sk = estab4;
	struct buf b = {0};
	struct got g;
	char err[256];

	put(&b, NLMSG_NOOP, NULL, 0, true);
	unix_sk.family = AF_UNIX;
	unix_sk.src = unix_sk.dst = NULL;
	put_sk(&b, &unix_sk, true);
	put_sk(&b, &estab4, true);
	put_done(&b, 0);
	assert_int_equal(parse(&b, NULL, &g, err), 1);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.c[0].family, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ipv4_established),
	    cmocka_unit_test(test_ipv6_and_listener),
	    cmocka_unit_test(test_multipart_then_done),
	    cmocka_unit_test(test_done_alone_and_empty),
	    cmocka_unit_test(test_done_with_error),
	    cmocka_unit_test(test_nlmsg_error),
	    cmocka_unit_test(test_error_code_out_of_range),
	    cmocka_unit_test(test_overrun),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_unaligned_and_unpadded),
	    cmocka_unit_test(test_stray_bytes),
	    cmocka_unit_test(test_time_wait_entry_from_timer),
	    cmocka_unit_test(test_time_wait_clamped),
	    cmocka_unit_test(test_fin_wait2_timewait),
	    cmocka_unit_test(test_fin_wait2_full_socket),
	    cmocka_unit_test(test_request_sockets_skipped),
	    cmocka_unit_test(test_shutdown_attr_search),
	    cmocka_unit_test(test_other_messages_skipped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
