// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of the text and JSON formatters: each output kind is rendered into
 * a memory stream and compared with the exact expected bytes.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "names.h"
#include "fmt.h"
#include "loss.h"
#include "output.h"
#include "state.h"
#include "stats.h"

#define MS 1000000ULL
/* 2026-11-24T10:00:00Z as an offset from a kernel clock that reads 1000 s then. */
#define REAL_OFFSET ((int64_t)1795514400 * 1000000000LL - 1000LL * 1000000000LL)

struct buf {
	char *p;
	size_t n;
	FILE *f;
};

static void open_buf(struct buf *b)
{
	b->p = NULL;
	b->n = 0;
	b->f = open_memstream(&b->p, &b->n);
	assert_non_null(b->f);
}

static char *close_buf(struct buf *b)
{
	fclose(b->f);
	return b->p;
}

static void mkconn(struct conn *c)
{
	*c = fixture__conn(&(struct fixture_conn){
		.laddr = "127.0.0.1", .lport = 8080, .raddr = "10.0.0.7", .rport = 51000,
		.role = CT_ROLE_PASSIVE, .pid = 1234, .comm = "nginx", .cookie = 42,
		.netns = 4026531840u, .cgroup = 77 });
}

static void test_dur(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(fmt__dur(850, b, sizeof(b)), "850ns");
	assert_string_equal(fmt__dur(51200, b, sizeof(b)), "51.2us");
	assert_string_equal(fmt__dur(12300000, b, sizeof(b)), "12.3ms");
	assert_string_equal(fmt__dur(1500000000ULL, b, sizeof(b)), "1.50s");
	assert_string_equal(fmt__dur(61400000000ULL, b, sizeof(b)), "61.4s");
	assert_string_equal(fmt__dur(725000000000ULL, b, sizeof(b)), "12m05s");
	assert_string_equal(fmt__dur(7200000000000ULL * 10, b, sizeof(b)), "20h00m");
	assert_string_equal(fmt__dur(CT_DWELL_UNKNOWN, b, sizeof(b)), "?");
}

static void test_transition_json(void **state)
{
	struct ct_transition t = { .ts_ns = 1000 * 1000000000ULL + 5, .dwell_ns = 1500 * MS,
				   .old = TD_CLOSE_WAIT, .new = TD_LAST_ACK };
	struct conn c;
	struct buf b;
	struct out o;
	char *s;

	(void)state;
	mkconn(&c);
	open_buf(&b);
	out__init(&o, b.f, true, REAL_OFFSET);
	out__transition(&o, &c, &t);
	s = close_buf(&b);
	assert_string_equal(
		s, "{\"type\":\"transition\",\"time\":\"2026-11-24T10:00:00.000000005Z\","
		   "\"ts_ns\":1000000000005,\"cookie\":42,\"pid\":1234,\"comm\":\"nginx\","
		   "\"family\":4,\"laddr\":\"127.0.0.1\",\"lport\":8080,\"raddr\":\"10.0.0.7\","
		   "\"rport\":51000,\"netns\":4026531840,\"cgroup\":77,\"cgroup_path\":null,"
		   "\"container_id\":null,\"container\":null,\"pod\":null,\"old\":\"CLOSE_WAIT\","
		   "\"new\":\"LAST_ACK\",\"dwell_ns\":1500000000}\n");
	free(s);
}

#define CG_ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CG_POD_PATH                                                                   \
	"/kubepods.slice/kubepods-burstable.slice/"                                   \
	"kubepods-burstable-pod6f1c2d3e_4a5b_4c6d_8e7f_0a1b2c3d4e5f.slice/cri-containerd-" \
	CG_ID64 ".scope"

/* A socket in a pod's container: its names in JSON, and with --wide in text; a cgroup
 * that is no container's by its path, escaped. */
static void test_cgroup_names(void **state)
{
	struct ct_transition t = { .ts_ns = 1000 * 1000000000ULL + 5, .dwell_ns = 1500 * MS,
				   .old = TD_CLOSE_WAIT, .new = TD_LAST_ACK };
	struct conn c;
	struct buf b;
	struct out o;
	char *s;

	(void)state;
	mkconn(&c);
	assert_non_null(cgn__set(77, CG_POD_PATH, strlen(CG_POD_PATH), "payments/checkout-7d9f",
				 "app"));
	assert_non_null(cgn__set(78, "/user.slice/\x1b[2Jevil\"", 26, NULL, NULL));
	open_buf(&b);
	out__init(&o, b.f, true, REAL_OFFSET);
	out__transition(&o, &c, &t);
	c.cgroup = 78;
	out__transition(&o, &c, &t);
	s = close_buf(&b);
	assert_non_null(strstr(s, ",\"cgroup\":77,\"cgroup_path\":\"" CG_POD_PATH "\","
				  "\"container_id\":\"0123456789ab\",\"container\":\"app\","
				  "\"pod\":\"payments/checkout-7d9f\","));
	assert_non_null(strstr(s, ",\"cgroup\":78,\"cgroup_path\":\"/user.slice/\\u001b[2Jevil\\\"\","
				  "\"container_id\":null,\"container\":null,\"pod\":null,"));
	free(s);

	open_buf(&b);
	out__init(&o, b.f, false, REAL_OFFSET);
	o.wide = true;
	c.cgroup = 77;
	out__transition(&o, &c, &t);
	c.cgroup = 78;
	out__transition(&o, &c, &t);
	c.cgroup = 79; /* not named: nothing */
	out__transition(&o, &c, &t);
	s = close_buf(&b);
	assert_non_null(strstr(s, " 1.50s  pod payments/checkout-7d9f  container app (0123456789ab)\n"));
	assert_non_null(strstr(s, " 1.50s  cgroup /user.slice/\\x1b[2Jevil\"\n"));
	assert_non_null(strstr(s, " 1.50s\n"));
	assert_null(strchr(s, '\x1b'));
	free(s);

	/* A recording's names at their longest, every byte escaped: the line stays whole. */
	{
		static char path[CGN_PATH_MAX + 1], pod[CG_NS_MAX + 1 + CG_NAME_MAX + 1],
		    ctr[CG_NAME_MAX + 1];
		size_t n;

		memset(path, 1, sizeof(path) - 1);
		memset(pod, 1, sizeof(pod) - 1);
		memset(ctr, 1, sizeof(ctr) - 1);
		assert_non_null(cgn__set(80, path, sizeof(path) - 1, pod, ctr));
		c.cgroup = 80;
		open_buf(&b);
		out__init(&o, b.f, true, REAL_OFFSET);
		out__transition(&o, &c, &t);
		s = close_buf(&b);
		n = strlen(s);
		assert_true(n > 9000);
		assert_string_equal(s + n - strlen("\"dwell_ns\":1500000000}\n"),
				    "\"dwell_ns\":1500000000}\n");
		assert_null(strchr(s, '\x01'));
		free(s);
	}
	cgn__clear();
}

/* Numbers at every digit-count boundary come out exactly. */
static void test_json_numbers(void **state)
{
	static const uint64_t v[] = { 0, 9, 10, 99, 100, 101, 999, 1000, 65535, 4294967295ULL,
				      10000000000000000000ULL, UINT64_MAX - 1, UINT64_MAX };
	struct ct_transition t = { .ts_ns = 1000 * 1000000000ULL, .old = TD_ESTABLISHED,
				   .new = TD_CLOSE_WAIT };
	struct conn c;

	(void)state;
	mkconn(&c);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char want[64], *s;
		struct buf b;
		struct out o;

		c.cookie = v[i];
		t.dwell_ns = v[i] == CT_DWELL_UNKNOWN ? 1 : v[i];
		open_buf(&b);
		out__init(&o, b.f, true, REAL_OFFSET);
		out__transition(&o, &c, &t);
		s = close_buf(&b);
		snprintf(want, sizeof(want), "\"cookie\":%" PRIu64 ",", v[i]);
		assert_non_null(strstr(s, want));
		snprintf(want, sizeof(want), "\"dwell_ns\":%" PRIu64 "}", t.dwell_ns);
		assert_non_null(strstr(s, want));
		free(s);
	}
}

static void test_transition_json_unknown_owner_and_tw_end(void **state)
{
	struct ct_transition t = { .ts_ns = 1000 * 1000000000ULL, .dwell_ns = CT_DWELL_UNKNOWN,
				   .old = TD_TIME_WAIT, .new = TD_CLOSE, .tw_end = CT_TW_EXPIRED };
	struct conn c;
	struct buf b;
	struct out o;
	char *s;

	(void)state;
	mkconn(&c);
	c.pid = 0;
	c.family = 6;
	memset(c.saddr, 0, 16);
	c.saddr[15] = 1;
	memset(c.daddr, 0, 16);
	c.daddr[15] = 1;
	open_buf(&b);
	out__init(&o, b.f, true, REAL_OFFSET);
	out__transition(&o, &c, &t);
	s = close_buf(&b);
	assert_non_null(strstr(s, "\"pid\":null,\"comm\":null,\"family\":6,\"laddr\":\"::1\""));
	assert_non_null(strstr(s, "\"dwell_ns\":null,\"end\":\"expired\"}\n"));
	free(s);
}

static void test_json_escapes_comm(void **state)
{
	struct ct_transition t = { .ts_ns = 1, .dwell_ns = 1, .old = 1, .new = 4 };
	struct conn c;
	struct buf b;
	struct out o;
	char *s;

	(void)state;
	mkconn(&c);
	conn__set_comm(&c, "a\"b\\c\n\xff");
	open_buf(&b);
	out__init(&o, b.f, true, 0);
	out__transition(&o, &c, &t);
	s = close_buf(&b);
	assert_non_null(strstr(s, "\"comm\":\"a\\\"b\\\\c\\u000a\\u00ff\""));
	free(s);
}

static void finished_conn(struct conn *c);

/* fmt__text(s, max) into a buffer of len bytes. */
static const char *esc(const char *s, size_t max, size_t len)
{
	static char buf[256];

	assert_true(len <= sizeof(buf));
	memset(buf, 'Z', sizeof(buf));
	return fmt__text(s, max, buf, len);
}

static void test_escape(void **state)
{
	(void)state;
	/* C0, DEL, and the backslash that would make an escape ambiguous */
	assert_string_equal(esc("a\\x1b" "b", 64, 64), "a\\x5cx1bb");
	assert_string_equal(esc("\x1b]0;pwn\x07\x1b[2J", 64, 64),
			    "\\x1b]0;pwn\\x07\\x1b[2J");
	assert_string_equal(esc("tab\there\nnl\x7f", 64, 64), "tab\\x09here\\x0anl\\x7f");
	/* C1: a raw byte (not UTF-8) and the same control encoded as UTF-8 (U+009B) */
	assert_string_equal(esc("\x9b[2J", 64, 64), "\\x9b[2J");
	assert_string_equal(esc("\xc2\x9b[2J", 64, 64), "\\xc2\\x9b[2J");
	assert_string_equal(esc("\xc2\x80\xc2\x9f", 64, 64), "\\xc2\\x80\\xc2\\x9f");
	/* valid UTF-8 passes through: U+00A0 (the first after C1), 2, 3 and 4 bytes */
	assert_string_equal(esc("\xc2\xa0" "caf\xc3\xa9", 64, 64), "\xc2\xa0" "caf\xc3\xa9");
	assert_string_equal(esc("\xe6\x97\xa5\xe6\x9c\xac", 64, 64), "\xe6\x97\xa5\xe6\x9c\xac");
	assert_string_equal(esc("\xf0\x9f\x98\x80!", 64, 64), "\xf0\x9f\x98\x80!");
	/* invalid UTF-8: a lone continuation, overlong forms, a surrogate, beyond
	 * U+10FFFF, a sequence cut short, a lead byte followed by ASCII */
	assert_string_equal(esc("\x80", 64, 64), "\\x80");
	assert_string_equal(esc("\xc0\xaf", 64, 64), "\\xc0\\xaf");
	assert_string_equal(esc("\xe0\x80\xaf", 64, 64), "\\xe0\\x80\\xaf");
	assert_string_equal(esc("\xed\xa0\x80", 64, 64), "\\xed\\xa0\\x80");
	assert_string_equal(esc("\xf4\x90\x80\x80", 64, 64), "\\xf4\\x90\\x80\\x80");
	assert_string_equal(esc("\xe6\x97", 64, 64), "\\xe6\\x97");
	assert_string_equal(esc("\xe6" "a", 64, 64), "\\xe6" "a");
	assert_string_equal(esc("\xff\xfe", 64, 64), "\\xff\\xfe");
	/* max bytes of s are read, even without a NUL; a character cut there is
	 * not one */
	assert_string_equal(esc("abcdef", 3, 64), "abc");
	assert_string_equal(esc("ab\xc3\xa9", 3, 64), "ab\\xc3");
	assert_string_equal(esc("", 64, 64), "");
	/* what does not fit is cut at an escape or character boundary */
	assert_string_equal(esc("\x1b", 64, 4), "");
	assert_string_equal(esc("\x1b", 64, 5), "\\x1b");
	assert_string_equal(esc("ab\x1b", 64, 5), "ab");
	assert_string_equal(esc("a\xc3\xa9", 64, 3), "a");
	assert_string_equal(esc("a\xc3\xa9", 64, 4), "a\xc3\xa9");
	assert_string_equal(esc("abc", 64, 1), "");
	assert_string_equal(esc("abc", 64, 3), "ab");
	/* FMT_TEXT_LEN(n) holds any n bytes */
	{
		char all[16], big[FMT_TEXT_LEN(15)];

		memset(all, 0xff, 15);
		all[15] = 0;
		assert_int_equal(strlen(fmt__text(all, 15, big, sizeof(big))), 60);
	}
}

/* A process may name itself anything (prctl PR_SET_NAME): the text views escape it. */
static void test_text_views_escape_comm(void **state)
{
	static const char pwn[] = "\x1b]0;pwn\x07\x1b[2J";
	static const char want[] = "\\x1b]0;pwn\\x07\\x1b[2J";
	struct ct_transition t = { .ts_ns = 1000 * 1000000000ULL, .dwell_ns = 1500 * MS,
				   .old = TD_CLOSE_WAIT, .new = TD_LAST_ACK };
	struct stat_table st;
	struct conn c;
	struct buf b;
	struct out o;
	char *s;

	(void)state;
	finished_conn(&c);
	conn__set_comm(&c, pwn);
	open_buf(&b);
	out__init(&o, b.f, false, REAL_OFFSET);
	out__transition(&o, &c, &t);
	out__timeline(&o, &c);
	stat_table__init(&st, 16);
	assert_int_equal(stat_table__add(&st, TD_CLOSE_WAIT, pwn, 10 * MS), 0);
	stat_table__sort(&st);
	out__stats(&o, &st, TD_BY_COMM, false, 0);
	stat_table__free(&st);
	s = close_buf(&b);
	assert_null(strchr(s, '\x1b'));
	assert_null(strchr(s, '\x07'));
	/* the trace line and the timeline line, each with the whole name */
	assert_non_null(strstr(s, want));
	assert_non_null(strstr(strstr(s, want) + 1, want));
	/* the stat key column: as wide as the whole escaped key */
	assert_non_null(strstr(s, "\n\\x1b]0;pwn\\x07\\x1b[2J CLOSE_WAIT "));
	free(s);
}

static void test_transition_text(void **state)
{
	struct ct_transition t = { .ts_ns = 1000 * 1000000000ULL + 123456000, .dwell_ns = 1500 * MS,
				   .old = TD_CLOSE_WAIT, .new = TD_LAST_ACK };
	struct conn c;
	struct buf b;
	struct out o;
	char *s, *line2;

	(void)state;
	mkconn(&c);
	open_buf(&b);
	out__init(&o, b.f, false, REAL_OFFSET);
	out__transition(&o, &c, &t);
	t.dwell_lower_bound = 1;
	out__transition(&o, &c, &t);
	s = close_buf(&b);
	assert_true(strncmp(s, "TIME(UTC)", 9) == 0); /* header once */
	line2 = strchr(s, '\n') + 1;
	assert_string_equal(line2, "10:00:00.123456    1234 nginx           127.0.0.1:8080         "
				   "10.0.0.7:51000         CLOSE_WAIT  -> LAST_ACK    1.50s\n"
				   "10:00:00.123456    1234 nginx           127.0.0.1:8080         "
				   "10.0.0.7:51000         CLOSE_WAIT  -> LAST_ACK    >= 1.50s\n");
	free(s);
}

static void finished_conn(struct conn *c)
{
	mkconn(c);
	c->nsteps = 4;
	c->step_state[0] = TD_SYN_RECV;
	c->step_state[1] = TD_ESTABLISHED;
	c->step_state[2] = TD_CLOSE_WAIT;
	c->step_state[3] = TD_LAST_ACK;
	c->step_ns[0] = 1000 * 1000000000ULL;
	c->step_ns[1] = c->step_ns[0] + 10000;
	c->step_ns[2] = c->step_ns[1] + 20 * MS;
	c->step_ns[3] = c->step_ns[2] + 1500 * MS;
	c->end_ns = c->step_ns[3] + 40000;
	c->start_ns = c->step_ns[0];
}

static void test_timeline_json(void **state)
{
	struct conn c;
	struct buf b;
	struct out o;
	char *s;

	(void)state;
	finished_conn(&c);
	open_buf(&b);
	out__init(&o, b.f, true, REAL_OFFSET);
	out__timeline(&o, &c);
	s = close_buf(&b);
	assert_non_null(strstr(s, "\"role\":\"passive\",\"start\":\"2026-11-24T10:00:00.000000000Z\","
				  "\"duration_ns\":1520050000,\"complete\":true,"
				  "\"accept_wait_ns\":null,\"states\":["
				  "{\"state\":\"SYN_RECV\",\"dwell_ns\":10000},"
				  "{\"state\":\"ESTABLISHED\",\"dwell_ns\":20000000},"
				  "{\"state\":\"CLOSE_WAIT\",\"dwell_ns\":1500000000},"
				  "{\"state\":\"LAST_ACK\",\"dwell_ns\":40000}]}\n"));
	assert_true(strncmp(s, "{\"type\":\"timeline\",", 19) == 0);
	free(s);
}

static void test_timeline_text_incomplete(void **state)
{
	struct conn c;
	struct buf b;
	struct out o;
	char *s;

	(void)state;
	finished_conn(&c);
	c.flags |= CT_F_INCOMPLETE;
	c.step_ns[0] = 0;
	open_buf(&b);
	out__init(&o, b.f, false, REAL_OFFSET);
	out__timeline(&o, &c);
	s = close_buf(&b);
	assert_non_null(strstr(s, "passive 127.0.0.1:8080         10.0.0.7:51000          ... "
				  "SYN_RECV ? > ESTABLISHED 20.0ms > CLOSE_WAIT 1.50s > LAST_ACK "
				  "40.0us > CLOSE  total >="));
	free(s);
}

/* The accept-queue wait, in JSON and on the ESTABLISHED of the text timeline; one never
 * accepted says so when accepts were traced, and nothing when not. */
static void test_timeline_accept(void **state)
{
	struct conn c;
	struct buf b;
	struct out o;
	char *s;

	(void)state;
	finished_conn(&c);
	c.accept_ns = c.step_ns[1] + 1200 * 1000;
	open_buf(&b);
	out__init(&o, b.f, true, REAL_OFFSET);
	o.accepts = true;
	out__timeline(&o, &c);
	s = close_buf(&b);
	assert_non_null(strstr(s, "\"accept_wait_ns\":1200000,\"never_accepted\":false,"));
	free(s);

	open_buf(&b);
	out__init(&o, b.f, false, REAL_OFFSET);
	o.accepts = true;
	out__timeline(&o, &c);
	s = close_buf(&b);
	assert_non_null(strstr(s, "SYN_RECV 10.0us > ESTABLISHED (queued 1.2ms) 20.0ms > "
				  "CLOSE_WAIT 1.50s"));
	free(s);

	c.accept_ns = 0;
	open_buf(&b);
	out__init(&o, b.f, false, REAL_OFFSET);
	o.accepts = true;
	out__timeline(&o, &c);
	s = close_buf(&b);
	assert_non_null(strstr(s, "> ESTABLISHED (never accepted) 20.0ms > CLOSE_WAIT"));
	free(s);

	open_buf(&b);
	out__init(&o, b.f, true, REAL_OFFSET);
	o.accepts = true;
	out__timeline(&o, &c);
	s = close_buf(&b);
	assert_non_null(strstr(s, "\"accept_wait_ns\":null,\"never_accepted\":true,"));
	free(s);

	/* Accepts not traced: nothing is known of one never seen. */
	open_buf(&b);
	out__init(&o, b.f, false, REAL_OFFSET);
	out__timeline(&o, &c);
	s = close_buf(&b);
	assert_non_null(strstr(s, "> ESTABLISHED 20.0ms > CLOSE_WAIT"));
	free(s);
}

/* A reset on the timeline's end, in JSON and text, and as trace's rst line: its direction,
 * the kernel's name for the reason (its number when the name is not known, nothing when the
 * kernel gave none). */
static void test_reset_outputs(void **state)
{
	struct conn c;
	struct buf b;
	struct out o;
	char *s;

	(void)state;
	rst__clear();
	rst__set(2, "TCP_ABORT_ON_CLOSE", 18);
	finished_conn(&c);
	c.state = TD_CLOSE;
	c.rst = CT_RST_SENT;
	c.rst_reason = 2;
	c.rst_ns = c.end_ns;
	open_buf(&b);
	out__init(&o, b.f, true, REAL_OFFSET);
	out__timeline(&o, &c);
	s = close_buf(&b);
	assert_non_null(strstr(s, ",\"rst\":{\"dir\":\"sent\",\"reason\":\"TCP_ABORT_ON_CLOSE\"},"
				  "\"states\":["));
	free(s);
	open_buf(&b);
	out__init(&o, b.f, false, REAL_OFFSET);
	out__timeline(&o, &c);
	s = close_buf(&b);
	assert_non_null(strstr(s, " > CLOSE (RST sent: TCP_ABORT_ON_CLOSE)  total "));
	free(s);
	/* A number the table has no name for; a received reset, no reason. */
	c.rst_reason = 9;
	open_buf(&b);
	out__init(&o, b.f, true, REAL_OFFSET);
	out__reset(&o, &c, c.rst_ns);
	s = close_buf(&b);
	assert_non_null(strstr(s, "{\"type\":\"rst\",\"time\":"));
	assert_non_null(strstr(s, ",\"state\":\"CLOSE\",\"rst\":{\"dir\":\"sent\",\"reason\":\"9\"}}"));
	free(s);
	c.rst = CT_RST_RECEIVED;
	c.rst_reason = CT_RST_NO_REASON;
	open_buf(&b);
	out__init(&o, b.f, false, REAL_OFFSET);
	out__reset(&o, &c, c.rst_ns);
	out__timeline(&o, &c);
	s = close_buf(&b);
	assert_non_null(strstr(s, " RST received in CLOSE\n"));
	assert_non_null(strstr(s, " > CLOSE (RST received)  total "));
	free(s);
	rst__clear();
}

/* The handshake's retransmissions on its step; its RTT and what the connection carried in
 * JSON, and in text behind --wide. */
static void test_timeline_conn_info(void **state)
{
	struct conn c;
	struct buf b;
	struct out o;
	char *s;

	(void)state;
	finished_conn(&c); /* passive: SYN_RECV first */
	c.flags |= CT_F_HANDSHAKE | CT_F_STATS;
	c.hs_rtt_us = 52;
	c.hs_retrans = 1;
	c.stats = (struct td_conn_stats){.bytes_acked = 12346,
					 .bytes_received = 100001,
					 .segs_out = 4,
					 .segs_in = 8,
					 .total_retrans = 2,
					 .srtt_us = 0};
	c.min_rtt_us = 12;
	open_buf(&b);
	out__init(&o, b.f, true, REAL_OFFSET);
	out__timeline(&o, &c);
	s = close_buf(&b);
	assert_non_null(strstr(s, ",\"handshake_rtt_ns\":52000,\"handshake_retrans\":1,"
				  "\"bytes_acked\":12346,\"bytes_received\":100001,\"segs_out\":4,"
				  "\"segs_in\":8,\"total_retrans\":2,\"srtt_ns\":null,"
				  "\"min_rtt_ns\":12000,\"states\":["));
	free(s);

	open_buf(&b);
	out__init(&o, b.f, false, REAL_OFFSET);
	out__timeline(&o, &c);
	s = close_buf(&b);
	assert_non_null(strstr(s, "SYN_RECV (1 SYN-ACK retransmitted) 10.0us > ESTABLISHED"));
	assert_null(strstr(s, "sent 12346 B"));
	free(s);

	open_buf(&b);
	out__init(&o, b.f, false, REAL_OFFSET);
	o.wide = true;
	c.role = CT_ROLE_ACTIVE;
	c.step_state[0] = TD_SYN_SENT;
	c.hs_retrans = 2;
	out__timeline(&o, &c);
	s = close_buf(&b);
	assert_non_null(strstr(s, "SYN_SENT (2 SYNs retransmitted) 10.0us > ESTABLISHED"));
	assert_non_null(strstr(s, "  handshake rtt 52.0us  sent 12346 B, received 100001 B, "
				  "segs 4/8, retrans 2, srtt ?, min rtt 12.0us\n"));
	free(s);
}

/* The accept-queue row: named ACCEPT_WAIT, right after ESTABLISHED. */
static void test_stats_accept_row(void **state)
{
	struct stat_table t;
	struct buf b;
	struct out o;
	char *s, *e, *a, *w;

	(void)state;
	stat_table__init(&t, 16);
	assert_int_equal(stat_table__add(&t, TD_CLOSE_WAIT, NULL, 5 * MS), 0);
	assert_int_equal(stat_table__add(&t, STAT_ACCEPT_WAIT, NULL, 2 * MS), 0);
	assert_int_equal(stat_table__add(&t, TD_ESTABLISHED, NULL, 9 * MS), 0);
	stat_table__sort(&t);
	open_buf(&b);
	out__init(&o, b.f, false, REAL_OFFSET);
	out__stats(&o, &t, TD_BY_NONE, false, 0);
	s = close_buf(&b);
	e = strstr(s, "\nESTABLISHED ");
	a = strstr(s, "\nACCEPT_WAIT ");
	w = strstr(s, "\nCLOSE_WAIT ");
	assert_non_null(e);
	assert_non_null(a);
	assert_non_null(w);
	assert_true(e < a && a < w);
	free(s);
	open_buf(&b);
	out__init(&o, b.f, true, REAL_OFFSET);
	out__stats(&o, &t, TD_BY_NONE, false, 0);
	s = close_buf(&b);
	assert_non_null(strstr(s, "\"state\":\"ACCEPT_WAIT\",\"count\":1,\"min_ns\":2000000,"));
	free(s);
	stat_table__free(&t);
}

/* What connections carried: count rows after the states, plain numbers and their sum. */
static void test_stats_count_rows(void **state)
{
	struct stat_table t;
	struct buf b;
	struct out o;
	char *s;

	(void)state;
	stat_table__init(&t, 16);
	assert_int_equal(stat_table__add(&t, STAT_RETRANS, "8080", 2), 0);
	assert_int_equal(stat_table__add(&t, STAT_BYTES_SENT, "8080", 1000), 0);
	assert_int_equal(stat_table__add(&t, STAT_BYTES_SENT, "8080", 3000), 0);
	assert_int_equal(stat_table__add(&t, TD_CLOSE_WAIT, "8080", 5 * MS), 0);
	stat_table__sort(&t);
	open_buf(&b);
	out__init(&o, b.f, false, REAL_OFFSET);
	out__stats(&o, &t, TD_BY_LPORT, false, 0);
	s = close_buf(&b);
	assert_non_null(strstr(s, "8080            CLOSE_WAIT           1     5.0ms"));
	assert_non_null(strstr(s, "\n8080            BYTES_SENT           2      1000      2000      "));
	assert_non_null(strstr(s, "  sum 4000\n8080            RETRANS              1         2"));
	free(s);
	open_buf(&b);
	out__init(&o, b.f, true, REAL_OFFSET);
	out__stats(&o, &t, TD_BY_LPORT, false, 0);
	s = close_buf(&b);
	assert_non_null(strstr(s, "\"state\":\"BYTES_SENT\",\"lport\":8080,\"count\":2,\"sum\":4000,"
				  "\"min\":1000,\"mean\":2000,"));
	free(s);
	stat_table__free(&t);
}

static void test_stats_json_and_text(void **state)
{
	struct stat_table t;
	struct buf b;
	struct out o;
	char *s;

	(void)state;
	stat_table__init(&t, 16);
	for (int i = 1; i <= 100; i++)
		assert_int_equal(stat_table__add(&t, TD_CLOSE_WAIT, NULL, i * MS), 0);
	stat_table__sort(&t);
	open_buf(&b);
	out__init(&o, b.f, true, REAL_OFFSET);
	out__stats(&o, &t, TD_BY_NONE, false, 1000 * 1000000000ULL);
	s = close_buf(&b);
	assert_non_null(strstr(s, "\"state\":\"CLOSE_WAIT\",\"count\":100,\"min_ns\":1000000,"));
	assert_non_null(strstr(s, "\"max_ns\":100000000}\n"));
	free(s);

	open_buf(&b);
	out__init(&o, b.f, false, REAL_OFFSET);
	out__stats(&o, &t, TD_BY_NONE, true, 0);
	s = close_buf(&b);
	assert_non_null(strstr(s, "STATE"));
	assert_non_null(strstr(s, "CLOSE_WAIT         100     1.0ms"));
	assert_non_null(strstr(s, "|****")); /* histogram bars */
	free(s);
	stat_table__free(&t);

	/* --by lport: a port is a number, as in every other record; "other" a string. */
	stat_table__init(&t, 2);
	assert_int_equal(stat_table__add(&t, TD_CLOSE_WAIT, "8080", MS), 0);
	assert_int_equal(stat_table__add(&t, TD_CLOSE_WAIT, "9090", MS), 0);
	assert_int_equal(stat_table__add(&t, TD_CLOSE_WAIT, "7070", MS), 0);
	stat_table__sort(&t);
	open_buf(&b);
	out__init(&o, b.f, true, REAL_OFFSET);
	out__stats(&o, &t, TD_BY_LPORT, false, 0);
	s = close_buf(&b);
	assert_non_null(strstr(s, "\"state\":\"CLOSE_WAIT\",\"lport\":8080,\"count\":1,"));
	assert_non_null(strstr(s, "\"lport\":\"other\""));
	assert_null(strstr(s, "\"lport\":\"8080\""));
	free(s);
	stat_table__free(&t);
}

/* A recording's time near 2^63 plus the offset: the latest time there is, not 1970. */
static void test_stats_time_beyond_range(void **state)
{
	struct stat_table t;
	struct buf b;
	struct out o;
	char *s;

	(void)state;
	stat_table__init(&t, 16);
	assert_int_equal(stat_table__add(&t, TD_CLOSE_WAIT, NULL, MS), 0);
	open_buf(&b);
	out__init(&o, b.f, true, REAL_OFFSET);
	out__stats(&o, &t, TD_BY_NONE, false, (uint64_t)INT64_MAX);
	out__stats(&o, &t, TD_BY_NONE, false, UINT64_MAX);
	s = close_buf(&b);
	assert_null(strstr(s, "1970-"));
	assert_non_null(strstr(s, "\"2262-04-11T23:47:16.854775807Z\""));
	free(s);
	stat_table__free(&t);
}

/* A dwell in the last power of two (2^63 ns and up, from a recording): its bucket
 * ends at the longest duration there is. */
static void test_hist_top_bucket(void **state)
{
	struct stat_table t;
	struct buf b;
	struct out o;
	char *s, top[32], want[40];

	(void)state;
	stat_table__init(&t, 16);
	assert_int_equal(stat_table__add(&t, TD_CLOSE_WAIT, NULL, MS), 0);
	assert_int_equal(stat_table__add(&t, TD_CLOSE_WAIT, NULL, UINT64_MAX - 5), 0);
	stat_table__sort(&t);
	open_buf(&b);
	out__init(&o, b.f, false, REAL_OFFSET);
	out__stats(&o, &t, TD_BY_NONE, true, 0);
	s = close_buf(&b);
	snprintf(want, sizeof(want), ".. %s ", fmt__dur(UINT64_MAX - 1, top, sizeof(top)));
	if (!strstr(s, want))
		fail_msg("no bucket up to %s in:\n%s", top, s);
	free(s);
	stat_table__free(&t);
}

static void test_lost_and_error(void **state)
{
	struct buf b;
	struct out o;
	char *s;

	(void)state;
	open_buf(&b);
	out__init(&o, b.f, true, 0);
	out__lost(&o, 3, 4, 0, 0);
	out__lost(&o, 0, 0, 2, 5);
	out__evicted(&o, 5000000000ULL, 1024);
	out__error(&o, "failed \"x\"");
	s = close_buf(&b);
	assert_string_equal(s,
			    "{\"type\":\"lost\",\"ringbuf\":3,\"recursion\":4,\"chain_breaks\":0,"
			    "\"reconciled\":0}\n"
			    "{\"type\":\"lost\",\"ringbuf\":0,\"recursion\":0,\"chain_breaks\":2,"
			    "\"reconciled\":5}\n"
			    "{\"type\":\"evicted\",\"connections\":5000000000,\"max_conns\":1024}\n"
			    "{\"type\":\"error\",\"message\":\"failed \\\"x\\\"\"}\n");
	free(s);
}

static void test_evicted_text(void **state)
{
	struct buf b;
	struct out o;
	char *s;

	(void)state;
	open_buf(&b);
	out__init(&o, b.f, false, 0);
	out__evicted(&o, 7, 16);
	s = close_buf(&b);
	assert_string_equal(s, "EVICTED 7 connections so far (--max-conns 16): the idle "
			       "longest were forgotten; their later records start incomplete "
			       "timelines\n");
	free(s);
}

/* The lost line in text: the kernel's counters as before; chain breaks when there are
 * some, and when no loss explains them, that they are a bug. */
static void test_lost_text(void **state)
{
	struct buf b;
	struct out o;
	char *s;

	(void)state;
	open_buf(&b);
	out__init(&o, b.f, false, 0);
	out__lost(&o, 3, 4, 0, 0);
	out__lost(&o, 3, 0, 2, 0);
	out__lost(&o, 0, 0, 1, 0);
	out__lost(&o, 3, 0, 2, 7);
	s = close_buf(&b);
	assert_string_equal(s, "LOST 7 records so far: 3 ring buffer full, 4 skipped by the "
			       "kernel (BPF recursion)\n"
			       "LOST 3 records so far: 3 ring buffer full, 0 skipped by the "
			       "kernel (BPF recursion); 2 chain breaks (connections missing a "
			       "record)\n"
			       "LOST 0 records so far: 0 ring buffer full, 0 skipped by the "
			       "kernel (BPF recursion); 1 chain break (connections missing a "
			       "record) with no loss counted: a tcpdwell bug\n"
			       "LOST 3 records so far: 3 ring buffer full, 0 skipped by the "
			       "kernel (BPF recursion); 2 chain breaks (connections missing a "
			       "record); 7 open connections the kernel no longer had were ended "
			       "(reconciled)\n");
	free(s);
}

/* A loss counter tcpdwell could not read is unknown, never 0: null in JSON, "unknown"
 * in text, and no chain break is blamed on tcpdwell when a loss may be hidden. */
static void test_lost_unknown(void **state)
{
	struct buf b;
	struct out o;
	char *s;

	(void)state;
	open_buf(&b);
	out__init(&o, b.f, true, 0);
	out__lost(&o, 3, LOSS_UNKNOWN, 1, 0);
	s = close_buf(&b);
	assert_string_equal(s, "{\"type\":\"lost\",\"ringbuf\":3,\"recursion\":null,"
			       "\"chain_breaks\":1,\"reconciled\":0}\n");
	free(s);
	open_buf(&b);
	out__init(&o, b.f, false, 0);
	out__lost(&o, 3, LOSS_UNKNOWN, 1, 0);
	s = close_buf(&b);
	assert_string_equal(s, "LOST unknown records so far: 3 ring buffer full, unknown skipped "
			       "by the kernel (BPF recursion) (a counter could not be read: "
			       "losses may be hidden); 1 chain break (connections missing a "
			       "record)\n");
	free(s);
	assert_int_equal(loss__add(2, 3), 5);
	assert_int_equal(loss__add(LOSS_UNKNOWN, 3), LOSS_UNKNOWN);
	assert_int_equal(loss__add(LOSS_UNKNOWN - 1, 5), LOSS_UNKNOWN - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dur),
		cmocka_unit_test(test_transition_json),
		cmocka_unit_test(test_cgroup_names),
		cmocka_unit_test(test_json_numbers),
		cmocka_unit_test(test_transition_json_unknown_owner_and_tw_end),
		cmocka_unit_test(test_json_escapes_comm),
		cmocka_unit_test(test_transition_text),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_text_views_escape_comm),
		cmocka_unit_test(test_timeline_json),
		cmocka_unit_test(test_timeline_text_incomplete),
		cmocka_unit_test(test_timeline_accept),
		cmocka_unit_test(test_stats_accept_row),
		cmocka_unit_test(test_timeline_conn_info),
		cmocka_unit_test(test_reset_outputs),
		cmocka_unit_test(test_stats_count_rows),
		cmocka_unit_test(test_stats_json_and_text),
		cmocka_unit_test(test_stats_time_beyond_range),
		cmocka_unit_test(test_hist_top_bucket),
		cmocka_unit_test(test_lost_and_error),
		cmocka_unit_test(test_lost_text),
		cmocka_unit_test(test_lost_unknown),
		cmocka_unit_test(test_evicted_text),
	};

	return cmocka_run_group_tests_name("output", tests, NULL, NULL);
}
