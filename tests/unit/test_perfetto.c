// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of the perfetto trace-event writer: finished connections are
 * rendered into a memory stream and compared with the exact expected bytes; a
 * small checker confirms the result is one balanced JSON value.
 */
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
#include "perfetto.h"
#include "state.h"

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

/* True if s is brackets-balanced JSON with closed strings and nothing after the
 * top-level value but whitespace: enough to catch a missing "]}" or a stray comma
 * before "]" (jq checks the rest in tests/integration/views.sh). */
static bool json_balanced(const char *s)
{
	char stack[64];
	int depth = 0;
	bool in_str = false, done = false;
	char prev = 0;

	for (; *s; s++) {
		char ch = *s;

		if (in_str) {
			if (ch == '\\')
				s++;
			else if (ch == '"')
				in_str = false;
			continue;
		}
		if (ch == ' ' || ch == '\n')
			continue;
		if (done)
			return false;
		if (ch == '"')
			in_str = true;
		else if (ch == '{' || ch == '[')
			stack[depth++] = ch == '{' ? '}' : ']';
		else if (ch == '}' || ch == ']') {
			if (!depth || stack[--depth] != ch || prev == ',')
				return false;
			done = depth == 0;
		}
		prev = ch;
	}
	return done && !in_str;
}

static void mkconn(struct conn *c)
{
	*c = fixture__conn(&(struct fixture_conn){
		.laddr = "127.0.0.1", .lport = 40000, .raddr = "127.0.0.1", .rport = 8080,
		.role = CT_ROLE_ACTIVE, .pid = 1234, .comm = "curl", .cookie = 42 });
	c->nsteps = 3;
	c->step_state[0] = TD_SYN_SENT;
	c->step_ns[0] = 1000000;
	c->step_state[1] = TD_ESTABLISHED;
	c->step_ns[1] = 1000250; /* SYN_SENT 250 ns */
	c->step_state[2] = TD_FIN_WAIT1;
	c->step_ns[2] = 3500001; /* ESTABLISHED 2499751 ns */
	c->end_ns = 3600001; /* FIN_WAIT1 100000 ns */
	c->state = TD_CLOSE;
}

static void test_one_connection(void **state)
{
	struct perfetto p;
	struct buf b;
	struct conn c;
	char *s;

	mkconn(&c);
	open_buf(&b);
	perfetto__open(&p, b.f);
	perfetto__conn(&p, &c);
	perfetto__close(&p);
	s = close_buf(&b);
	assert_string_equal(
		s,
		"{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n"
		"{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":1234,\"tid\":0,\"args\":{\"name\":"
		"\"curl 1234\"}},\n"
		"{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1234,\"tid\":1,\"args\":{\"name\":"
		"\"127.0.0.1:40000 > 127.0.0.1:8080\"}},\n"
		"{\"ph\":\"X\",\"cat\":\"tcp\",\"name\":\"SYN_SENT\",\"pid\":1234,\"tid\":1,"
		"\"ts\":1000.000,\"dur\":0.250,\"args\":{\"cookie\":42,\"state\":\"SYN_SENT\","
		"\"dwell_ns\":250}},\n"
		"{\"ph\":\"X\",\"cat\":\"tcp\",\"name\":\"ESTABLISHED\",\"pid\":1234,\"tid\":1,"
		"\"ts\":1000.250,\"dur\":2499.751,\"args\":{\"cookie\":42,\"state\":\"ESTABLISHED\","
		"\"dwell_ns\":2499751}},\n"
		"{\"ph\":\"X\",\"cat\":\"tcp\",\"name\":\"FIN_WAIT1\",\"pid\":1234,\"tid\":1,"
		"\"ts\":3500.001,\"dur\":100.000,\"args\":{\"cookie\":42,\"state\":\"FIN_WAIT1\","
		"\"dwell_ns\":100000}}\n"
		"]}\n");
	assert_true(json_balanced(s));
	assert_int_equal(p.slices, 3);
	assert_int_equal(p.conns, 1);
	free(s);
}

/* A connection in a pod's container: the process track says the pod, each slice both. */
static void test_pod(void **state)
{
	static const char path[] =
	    "/kubepods/besteffort/pod3c2b1a09-8f7e-4d6c-b5a4-392817161514/"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct perfetto p;
	struct buf b;
	struct conn c;
	char *s;

	(void)state;
	mkconn(&c);
	c.cgroup = 9;
	assert_non_null(cgn__set(9, path, strlen(path), "batch/report-x1", "job\""));
	open_buf(&b);
	perfetto__open(&p, b.f);
	perfetto__conn(&p, &c);
	perfetto__close(&p);
	s = close_buf(&b);
	assert_non_null(strstr(s, "\"args\":{\"name\":\"curl 1234 (pod batch/report-x1)\"}}"));
	assert_non_null(strstr(s, "\"dwell_ns\":250,\"pod\":\"batch/report-x1\","
				  "\"container\":\"job\\\"\"}}"));
	assert_true(json_balanced(s));
	free(s);
	cgn__clear();
}

/* Still open at the end of input: the current state is drawn up to the end,
 * its dwell not known yet; every slice says the connection was open. */
static void test_open_connection(void **state)
{
	struct perfetto p;
	struct buf b;
	struct conn c;
	char *s;

	mkconn(&c);
	c.end_ns = 0;
	c.state = TD_FIN_WAIT1;
	open_buf(&b);
	perfetto__open(&p, b.f);
	perfetto__open_conn(&p, &c, 4000001);
	perfetto__close(&p);
	s = close_buf(&b);
	assert_string_equal(
		s,
		"{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n"
		"{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":1234,\"tid\":0,\"args\":{\"name\":"
		"\"curl 1234\"}},\n"
		"{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1234,\"tid\":1,\"args\":{\"name\":"
		"\"127.0.0.1:40000 > 127.0.0.1:8080\"}},\n"
		"{\"ph\":\"X\",\"cat\":\"tcp\",\"name\":\"SYN_SENT\",\"pid\":1234,\"tid\":1,"
		"\"ts\":1000.000,\"dur\":0.250,\"args\":{\"cookie\":42,\"state\":\"SYN_SENT\","
		"\"dwell_ns\":250,\"open\":true}},\n"
		"{\"ph\":\"X\",\"cat\":\"tcp\",\"name\":\"ESTABLISHED\",\"pid\":1234,\"tid\":1,"
		"\"ts\":1000.250,\"dur\":2499.751,\"args\":{\"cookie\":42,\"state\":\"ESTABLISHED\","
		"\"dwell_ns\":2499751,\"open\":true}},\n"
		"{\"ph\":\"X\",\"cat\":\"tcp\",\"name\":\"FIN_WAIT1\",\"pid\":1234,\"tid\":1,"
		"\"ts\":3500.001,\"dur\":500.000,\"args\":{\"cookie\":42,\"state\":\"FIN_WAIT1\","
		"\"dwell_ns\":null,\"so_far_ns\":500000,\"open\":true}}\n"
		"]}\n");
	assert_true(json_balanced(s));
	assert_int_equal(p.slices, 3);
	assert_int_equal(p.conns, 1);
	free(s);
}

/* Same owner twice: one process_name, two tracks. Unknown owner: the synthetic
 * pid. Seeded and incomplete flags and the end reason reach args. IPv6 in []. */
static void test_tracks_and_flags(void **state)
{
	struct perfetto p;
	struct buf b;
	struct conn c;
	char *s;

	open_buf(&b);
	perfetto__open(&p, b.f);
	mkconn(&c);
	perfetto__conn(&p, &c);
	c.cookie = 43;
	perfetto__conn(&p, &c);
	mkconn(&c);
	c.pid = 0;
	c.family = 6;
	memset(c.saddr, 0, 16);
	memset(c.daddr, 0, 16);
	c.saddr[15] = 1;
	c.daddr[15] = 1;
	c.flags = CT_F_SEEDED | CT_F_INCOMPLETE;
	c.lower_bound = 1;
	c.tw_end = CT_TW_EXPIRED;
	perfetto__conn(&p, &c);
	perfetto__close(&p);
	perfetto__close(&p); /* idempotent */
	perfetto__conn(&p, &c); /* after close: ignored */
	s = close_buf(&b);
	assert_true(json_balanced(s));
	assert_int_equal(p.conns, 3);
	assert_int_equal(p.slices, 9);
	/* one process_name for pid 1234, one for the unknown owner */
	{
		int n = 0;

		for (const char *q = s; (q = strstr(q, "process_name")); q++)
			n++;
		assert_int_equal(n, 2);
	}
	assert_non_null(strstr(s, "\"pid\":1234,\"tid\":2,"));
	assert_non_null(strstr(s, "\"pid\":4194305,\"tid\":0,\"args\":{\"name\":\"unknown owner\"}"));
	assert_non_null(strstr(s, "\"name\":\"[::1]:40000 > [::1]:8080\""));
	assert_non_null(strstr(s, "\"dwell_ns\":250,\"lower_bound\":true,\"incomplete\":true}"));
	assert_non_null(
		strstr(s, "\"dwell_ns\":100000,\"end\":\"expired\",\"incomplete\":true}"));
	free(s);
}

/* No connection at all (a SIGINT at once) is still valid JSON. */
static void test_empty_trace(void **state)
{
	struct perfetto p;
	struct buf b;
	char *s;

	open_buf(&b);
	perfetto__open(&p, b.f);
	perfetto__close(&p);
	s = close_buf(&b);
	assert_string_equal(s, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n]}\n");
	assert_true(json_balanced(s));
	free(s);
}

/* A state whose start is unknown cannot be placed: skipped. An unknown dwell
 * gives dur 0 and dwell_ns null. */
static void test_unknown_times(void **state)
{
	struct perfetto p;
	struct buf b;
	struct conn c;
	char *s;

	mkconn(&c);
	c.step_ns[0] = 0;
	c.flags = CT_F_GAP | CT_F_INCOMPLETE;
	open_buf(&b);
	perfetto__open(&p, b.f);
	perfetto__conn(&p, &c);
	perfetto__close(&p);
	s = close_buf(&b);
	assert_true(json_balanced(s));
	assert_int_equal(p.slices, 2);
	free(s);
}

/* The cap on remembered pids: past it, names are written again, memory fixed. */
static void test_pid_cap(void **state)
{
	struct perfetto p;
	struct conn c;
	FILE *f = fopen("/dev/null", "w");

	assert_non_null(f);
	mkconn(&c);
	perfetto__open(&p, f);
	for (uint32_t i = 0; i < PF_MAX_PIDS + 10; i++) {
		c.pid = 100 + i;
		perfetto__conn(&p, &c);
	}
	assert_int_equal(p.npids, PF_MAX_PIDS);
	perfetto__close(&p);
	fclose(f);
}

static void test_checker(void **state)
{
	assert_true(json_balanced("{\"a\":[1,2]}\n"));
	assert_false(json_balanced("{\"a\":[1,2,]}"));
	assert_false(json_balanced("{\"a\":[1,2]"));
	assert_false(json_balanced("{\"a\":\"]}\"]"));
	assert_false(json_balanced("{}{}"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checker),
		cmocka_unit_test(test_one_connection),
		cmocka_unit_test(test_pod),
		cmocka_unit_test(test_open_connection),
		cmocka_unit_test(test_tracks_and_flags),
		cmocka_unit_test(test_empty_trace),
		cmocka_unit_test(test_unknown_times),
		cmocka_unit_test(test_pid_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
