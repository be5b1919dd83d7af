// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of the top view's pure part on connection tables fed with synthetic records:
 * the snapshot (counts per state, the longest current dwells, lower bounds, the state filter,
 * the sort keys, the transition rate) and its text, compared line for line. The text output
 * used when stdout is not a terminal is checked through a redirected stdout.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "state.h"
#include "names.h"
#include "top.h"

#define MS 1000000ULL
/* Makes kernel time 10 s read 2026-11-24T10:00:00Z. */
#define REAL_OFFSET ((int64_t)1795514400 * 1000000000LL - 10LL * 1000000000LL)

/* Fails with the whole text when needle is not in it. */
#define assert_has(text, needle)                                                                 \
	do {                                                                                     \
		if (!strstr((text), (needle)))                                                   \
			fail_msg("missing \"%s\" in:\n%s", (needle), (text));                    \
	} while (0)
#define assert_lacks(text, needle)                                                               \
	do {                                                                                     \
		if (strstr((text), (needle)))                                                    \
			fail_msg("unexpected \"%s\" in:\n%s", (needle), (text));                 \
	} while (0)

/* A state record on 127.0.0.1:lport -> 127.0.0.1:rport at `ms` (rport 0: no peer); pid 0 =
 * softirq. */
static void ev(struct conntable *t, uint64_t cookie, uint64_t ms, int old, int new, uint16_t lport,
	       uint16_t rport, uint32_t pid)
{
	struct td_event e;

	memset(&e, 0, sizeof(e));
	e.kind = TD_EV_STATE;
	e.ts_ns = ms * MS;
	e.cookie = cookie;
	e.skaddr = 0x10000 + cookie * 64;
	e.oldstate = old;
	e.newstate = new;
	e.family = 4;
	e.saddr[0] = 127;
	e.saddr[3] = 1;
	if (rport) { /* a listener has no peer */
		e.daddr[0] = 127;
		e.daddr[3] = 1;
	}
	e.sport = lport;
	e.dport = rport;
	if (pid) {
		e.flags = TD_F_PROC;
		e.pid = pid;
		snprintf(e.comm, sizeof(e.comm), "app%u", pid);
	}
	conntable__apply(t, &e);
}

/* A socket from the dump at start, in `state` since at least since_ms (0 = unknown). */
static void seed(struct conntable *t, uint64_t cookie, int state, uint64_t since_ms,
		 uint16_t lport, uint16_t rport, uint32_t pid)
{
	struct conn c;

	memset(&c, 0, sizeof(c));
	c.cookie = cookie;
	c.state = state;
	c.family = 4;
	c.saddr[0] = c.daddr[0] = 127;
	c.saddr[3] = c.daddr[3] = 1;
	c.sport = lport;
	c.dport = rport;
	c.pid = pid;
	if (pid) {
		char name[TD_COMM_LEN];

		snprintf(name, sizeof(name), "srv%u", pid);
		conn__set_comm(&c, name);
	}
	c.step_ns[0] = since_ms * MS;
	assert_true(conntable__seed(t, &c));
}

/*
 * The table most tests read, at now = 10 s:
 *   1  LISTEN :8080 since 1 s (pid 7)
 *   2  CLOSE_WAIT :8080 <- :40001 since 4 s (entered in softirq: no owner)
 *   3  ESTABLISHED :50000 -> :8080 since 9.5 s (pid 42, connect())
 *   4  CLOSE_WAIT :8080 <- :40002 seeded, since at least 2 s (pid 300)
 *   5  a connection that ended: not live, not counted
 */
static struct conntable *small_table(void)
{
	struct conntable *t = conntable__new(64, NULL);

	assert_non_null(t);
	ev(t, 1, 1000, TD_CLOSE, TD_LISTEN, 8080, 0, 7);
	ev(t, 2, 4000, TD_ESTABLISHED, TD_CLOSE_WAIT, 8080, 40001, 0);
	ev(t, 3, 9000, TD_CLOSE, TD_SYN_SENT, 0, 8080, 42);
	ev(t, 3, 9500, TD_SYN_SENT, TD_ESTABLISHED, 50000, 8080, 0);
	seed(t, 4, TD_CLOSE_WAIT, 2000, 8080, 40002, 300);
	ev(t, 5, 3000, TD_ESTABLISHED, TD_CLOSE_WAIT, 8080, 40003, 0);
	ev(t, 5, 3100, TD_CLOSE_WAIT, TD_LAST_ACK, 8080, 40003, 9);
	ev(t, 5, 3101, TD_LAST_ACK, TD_CLOSE, 8080, 40003, 0);
	return t;
}

static struct top_snapshot *snap(void)
{
	struct top_snapshot *s = malloc(sizeof(*s));

	assert_non_null(s);
	/* Garbage, not zeros: collect must not rely on a cleared snapshot. */
	memset(s, 0xa5, sizeof(*s));
	return s;
}

static char *render(const struct top_snapshot *s, int width, int height)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	top__render(s, f, width, height);
	fclose(f);
	return text;
}

static int count_lines(const char *text)
{
	int n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

static int longest_line(const char *text)
{
	int max = 0, cur = 0;

	for (; *text; text++) {
		if (*text == '\n') {
			max = cur > max ? cur : max;
			cur = 0;
		} else {
			cur++;
		}
	}
	return max;
}

static void test_rate(void **state)
{
	struct top_rate r = { 0 };

	(void)state;
	assert_true(top__rate(&r, 1000 * MS, 50) < 0); /* one sample: no rate */
	assert_float_equal(top__rate(&r, 2000 * MS, 150), 100.0, 1e-9);
	/* A key redraw 50 ms later keeps the rate and the window. */
	assert_float_equal(top__rate(&r, 2050 * MS, 151), 100.0, 1e-9);
	assert_float_equal(top__rate(&r, 2500 * MS, 155), 10.0, 1e-9);
	assert_float_equal(top__rate(&r, 3500 * MS, 155), 0.0, 1e-9);
	/* A counter that went backwards belongs to a new table: start over. */
	assert_true(top__rate(&r, 4500 * MS, 3) < 0);
	assert_float_equal(top__rate(&r, 5000 * MS, 13), 20.0, 1e-9);
}

static void test_collect_counts(void **state)
{
	struct top_snapshot *s = snap();
	struct conntable *t = small_table();
	struct top_view v = { 0 };
	struct top_input in = { .transitions_per_s = 12.5, .lost_ringbuf = 1, .lost_recursion = 2,
				.source = "tp_btf, ring buffer", .realtime_offset_ns = 5 };

	(void)state;
	top__collect(s, t, 10000 * MS, &v, &in);
	assert_int_equal(s->now_ns, 10000 * MS);
	assert_int_equal(s->total, 4);
	assert_int_equal(s->matched, 4);
	assert_int_equal(s->sockets[TD_LISTEN], 1);
	assert_int_equal(s->sockets[TD_CLOSE_WAIT], 2); /* one traced, one seeded */
	assert_int_equal(s->sockets[TD_ESTABLISHED], 1);
	assert_int_equal(s->sockets[TD_LAST_ACK], 0);
	assert_int_equal(s->sockets[TD_CLOSE], 0);
	assert_float_equal(s->transitions_per_s, 12.5, 1e-9);
	assert_int_equal(s->lost_ringbuf, 1);
	assert_int_equal(s->lost_recursion, 2);
	assert_int_equal(s->realtime_offset_ns, 5);
	assert_string_equal(s->source, "tp_btf, ring buffer");

	assert_int_equal(s->nrows, 4);
	assert_int_equal(s->rows[0].c.cookie, 1);
	assert_int_equal(s->rows[0].dwell_ns, 9000 * MS);
	assert_int_equal(s->rows[0].dwell_kind, TOP_DWELL_MEASURED);
	assert_int_equal(s->rows[1].c.cookie, 4);
	assert_int_equal(s->rows[1].dwell_ns, 8000 * MS);
	assert_int_equal(s->rows[1].dwell_kind, TOP_DWELL_LOWER_BOUND);
	assert_int_equal(s->rows[2].c.cookie, 2);
	assert_int_equal(s->rows[2].dwell_ns, 6000 * MS);
	assert_int_equal(s->rows[3].c.cookie, 3);
	assert_int_equal(s->rows[3].dwell_ns, 500 * MS);
	assert_int_equal(s->rows[3].c.pid, 42);
	assert_int_equal(s->rows[3].c.sport, 50000);

	/* No input: no rate, no losses, no source. */
	top__collect(s, t, 10000 * MS, NULL, NULL);
	assert_true(s->transitions_per_s < 0);
	assert_int_equal(s->lost_ringbuf + s->lost_recursion, 0);
	assert_string_equal(s->source, "");
	assert_int_equal(s->view.state, 0);
	assert_int_equal(s->nrows, 4);
	conntable__free(t);
	free(s);
}

static void test_collect_dwell_kinds(void **state)
{
	struct top_snapshot *s = snap();
	struct conntable *t = conntable__new(64, NULL);

	(void)state;
	seed(t, 1, TD_CLOSE_WAIT, 2000, 8080, 40001, 300);
	seed(t, 2, TD_ESTABLISHED, 0, 8080, 40002, 300); /* entry time not known */
	ev(t, 3, 12000, TD_ESTABLISHED, TD_CLOSE_WAIT, 8080, 40003, 0); /* after `now` */
	top__collect(s, t, 10000 * MS, NULL, NULL);
	assert_int_equal(s->nrows, 3);
	assert_int_equal(s->rows[0].c.cookie, 1);
	assert_int_equal(s->rows[0].dwell_kind, TOP_DWELL_LOWER_BOUND);
	assert_int_equal(s->rows[0].dwell_ns, 8000 * MS);
	/* A dwell of 0 ranks above an unknown one. */
	assert_int_equal(s->rows[1].c.cookie, 3);
	assert_int_equal(s->rows[1].dwell_kind, TOP_DWELL_MEASURED);
	assert_int_equal(s->rows[1].dwell_ns, 0);
	assert_int_equal(s->rows[2].c.cookie, 2);
	assert_int_equal(s->rows[2].dwell_kind, TOP_DWELL_UNKNOWN);

	/* Once the seeded socket moves on, its new dwell is a measurement. */
	ev(t, 1, 11000, TD_CLOSE_WAIT, TD_LAST_ACK, 8080, 40001, 300);
	top__collect(s, t, 11500 * MS, NULL, NULL);
	assert_int_equal(s->rows[0].c.cookie, 1);
	assert_int_equal(s->rows[0].c.state, TD_LAST_ACK);
	assert_int_equal(s->rows[0].dwell_kind, TOP_DWELL_MEASURED);
	assert_int_equal(s->rows[0].dwell_ns, 500 * MS);
	conntable__free(t);
	free(s);
}

/* More connections than TOP_ROWS, added in a scrambled order: the longest are kept. */
static void test_collect_keeps_longest(void **state)
{
	const int n = 3 * TOP_ROWS / 2;
	struct top_snapshot *s = snap();
	struct conntable *t = conntable__new(1024, NULL);

	(void)state;
	for (int i = 0; i < n; i++) {
		/* i visits 0..n-1 once each (n = 300; 7 is coprime with it). */
		int k = (i * 7 + 3) % n;

		ev(t, 1000 + k, 100 + k, TD_SYN_RECV, TD_ESTABLISHED, 8080, 20000 + k, 0);
	}
	/* Two connections with equal dwell: the lower cookie ranks first. */
	ev(t, 7, 50, TD_SYN_RECV, TD_ESTABLISHED, 8080, 30000, 0);
	ev(t, 6, 50, TD_SYN_RECV, TD_ESTABLISHED, 8080, 30001, 0);
	top__collect(s, t, 10000 * MS, NULL, NULL);
	assert_int_equal(s->total, n + 2);
	assert_int_equal(s->matched, n + 2);
	assert_int_equal(s->nrows, TOP_ROWS);
	assert_int_equal(s->rows[0].c.cookie, 6);
	assert_int_equal(s->rows[1].c.cookie, 7);
	for (int i = 2; i < TOP_ROWS; i++) {
		/* Entered at 100 + k ms, k = 0.. in order: the earliest first. */
		assert_int_equal(s->rows[i].c.cookie, 1000 + (i - 2));
		assert_int_equal(s->rows[i].dwell_ns, (10000 - 100 - (i - 2)) * MS);
	}
	conntable__free(t);
	free(s);
}

static void test_collect_state_filter(void **state)
{
	struct top_snapshot *s = snap();
	struct conntable *t = small_table();
	struct top_view v = { .state = TD_CLOSE_WAIT };

	(void)state;
	top__collect(s, t, 10000 * MS, &v, NULL);
	assert_int_equal(s->view.state, TD_CLOSE_WAIT);
	assert_int_equal(s->total, 4); /* the counts stay for every state */
	assert_int_equal(s->sockets[TD_LISTEN], 1);
	assert_int_equal(s->matched, 2);
	assert_int_equal(s->nrows, 2);
	assert_int_equal(s->rows[0].c.cookie, 4);
	assert_int_equal(s->rows[1].c.cookie, 2);

	/* --state as a base: rows in LISTEN or ESTABLISHED only. */
	v.state = 0;
	v.states = 1u << TD_LISTEN | 1u << TD_ESTABLISHED;
	top__collect(s, t, 10000 * MS, &v, NULL);
	assert_int_equal(s->matched, 2);
	assert_int_equal(s->rows[0].c.state, TD_LISTEN);
	assert_int_equal(s->rows[1].c.state, TD_ESTABLISHED);

	/* A state outside the base selects nothing. */
	v.state = TD_CLOSE_WAIT;
	top__collect(s, t, 10000 * MS, &v, NULL);
	assert_int_equal(s->matched, 0);
	assert_int_equal(s->nrows, 0);

	/* Out-of-range values from a caller read as "all" and "dwell". */
	v.state = 99;
	v.states = 0;
	v.sort = TOP_SORT_MAX;
	top__collect(s, t, 10000 * MS, &v, NULL);
	assert_int_equal(s->view.state, 0);
	assert_int_equal(s->view.sort, TOP_SORT_DWELL);
	assert_int_equal(s->nrows, 4);
	conntable__free(t);
	free(s);
}

static void test_collect_sorts(void **state)
{
	struct top_snapshot *s = snap();
	struct conntable *t = small_table();
	struct top_view v = { .sort = TOP_SORT_STATE };

	(void)state;
	ev(t, 6, 7000, TD_CLOSE, TD_LISTEN, 443, 0, 5);
	/* Kernel order: ESTABLISHED (1), CLOSE_WAIT (8), LISTEN (10); longest first within. */
	top__collect(s, t, 10000 * MS, &v, NULL);
	assert_int_equal(s->nrows, 5);
	assert_int_equal(s->rows[0].c.cookie, 3);
	assert_int_equal(s->rows[1].c.cookie, 4);
	assert_int_equal(s->rows[2].c.cookie, 2);
	assert_int_equal(s->rows[3].c.cookie, 1);
	assert_int_equal(s->rows[4].c.cookie, 6);

	/* pid: 5, 7, 42, 300, then the one with no owner. */
	v.sort = TOP_SORT_PID;
	top__collect(s, t, 10000 * MS, &v, NULL);
	assert_int_equal(s->rows[0].c.pid, 5);
	assert_int_equal(s->rows[1].c.pid, 7);
	assert_int_equal(s->rows[2].c.pid, 42);
	assert_int_equal(s->rows[3].c.pid, 300);
	assert_int_equal(s->rows[4].c.pid, 0);

	/* lport: 443, then the three on 8080 longest first, then 50000. */
	v.sort = TOP_SORT_LPORT;
	top__collect(s, t, 10000 * MS, &v, NULL);
	assert_int_equal(s->rows[0].c.cookie, 6);
	assert_int_equal(s->rows[1].c.cookie, 1);
	assert_int_equal(s->rows[2].c.cookie, 4);
	assert_int_equal(s->rows[3].c.cookie, 2);
	assert_int_equal(s->rows[4].c.cookie, 3);
	conntable__free(t);
	free(s);
}

static void test_next_state(void **state)
{
	struct top_snapshot *s = snap();
	struct conntable *t = small_table();

	(void)state;
	assert_int_equal(top__next_state(NULL, 0), 0);
	top__collect(s, t, 10000 * MS, NULL, NULL);
	assert_int_equal(top__next_state(s, 0), TD_ESTABLISHED);
	assert_int_equal(top__next_state(s, TD_ESTABLISHED), TD_CLOSE_WAIT);
	assert_int_equal(top__next_state(s, TD_CLOSE_WAIT), TD_LISTEN);
	assert_int_equal(top__next_state(s, TD_LISTEN), 0);
	/* The current state may have emptied since: the next one after it still follows. */
	assert_int_equal(top__next_state(s, TD_SYN_SENT), TD_CLOSE_WAIT);
	assert_int_equal(top__next_state(s, 42), TD_ESTABLISHED);

	s->view.states = 1u << TD_LISTEN | 1u << TD_TIME_WAIT;
	assert_int_equal(top__next_state(s, 0), TD_LISTEN);
	assert_int_equal(top__next_state(s, TD_LISTEN), 0);
	conntable__free(t);
	free(s);
}

/* small_table() at 10 s on a 160-column terminal; the bar is filled in by the test. */
static const char *const small_text[] = {
	"tcpdwell top  10:00:00 UTC  tp_btf, ring buffer",
	"sockets 4 [%s]",
	"E ESTABLISHED 1  C CLOSE_WAIT 2  L LISTEN 1",
	"transitions 12.5/s  lost 3 (ring buffer 1, recursion 2)  state: all  sort: dwell",
	"",
	"    PID COMM            STATE              AGE  "
	"LADDR:LPORT      RADDR:RPORT      ROLE",
	"      7 app7            LISTEN           9.00s  "
	"127.0.0.1:8080   0.0.0.0:*        listen",
	"    300 srv300          CLOSE_WAIT    >= 8.00s  "
	"127.0.0.1:8080   127.0.0.1:40002  -",
	"      - -               CLOSE_WAIT       6.00s  "
	"127.0.0.1:8080   127.0.0.1:40001  -",
	"     42 app42           ESTABLISHED    500.0ms  "
	"127.0.0.1:50000  127.0.0.1:8080   active",
};

static void test_render_exact(void **state)
{
	struct top_snapshot *s = snap();
	struct conntable *t = small_table();
	struct top_input in = { .realtime_offset_ns = REAL_OFFSET, .transitions_per_s = 12.5,
				.lost_ringbuf = 1, .lost_recursion = 2,
				.source = "tp_btf, ring buffer" };
	char bar[101], want[4096], *text;
	size_t n = 0;

	(void)state;
	/* 4 sockets over 100 cells: ESTABLISHED 1, CLOSE_WAIT 2, LISTEN 1. */
	memset(bar, 'E', 25);
	memset(bar + 25, 'C', 50);
	memset(bar + 75, 'L', 25);
	bar[100] = 0;
	for (size_t i = 0; i < sizeof(small_text) / sizeof(small_text[0]); i++) {
		if (i == 1)
			n += snprintf(want + n, sizeof(want) - n, small_text[i], bar);
		else
			n += snprintf(want + n, sizeof(want) - n, "%s", small_text[i]);
		n += snprintf(want + n, sizeof(want) - n, "\n");
	}
	top__collect(s, t, 10000 * MS, NULL, &in);
	text = render(s, 160, 40);
	assert_string_equal(text, want);
	free(text);
	conntable__free(t);
	free(s);
}

static void test_render_empty(void **state)
{
	struct top_snapshot *s = snap();
	struct conntable *t = small_table();
	struct top_view v = { .state = TD_TIME_WAIT };
	char *text;

	(void)state;
	top__collect(s, t, 10000 * MS, &v, NULL);
	text = render(s, 160, 40);
	assert_has(text, "transitions -/s  lost 0  state: TIME_WAIT  sort: dwell\n");
	assert_has(text, "\nno connections in TIME_WAIT\n");
	free(text);
	/* chain breaks: with a loss, and without one (a bug) */
	{
		struct top_input in = { .lost_ringbuf = 1, .chain_breaks = 2 };

		top__collect(s, t, 10000 * MS, &v, &in);
		text = render(s, 160, 40);
		assert_has(text, "lost 1 (ring buffer 1, recursion 0), chain breaks 2  state:");
		free(text);
		in.lost_ringbuf = 0;
		top__collect(s, t, 10000 * MS, &v, &in);
		text = render(s, 160, 40);
		assert_has(text, "lost 0, chain breaks 2 (none lost: a bug)  state:");
		free(text);
	}
	conntable__free(t);

	/* An empty table: an empty bar and no legend. */
	t = conntable__new(16, NULL);
	top__collect(s, t, 10000 * MS, NULL, NULL);
	text = render(s, 40, 40);
	/* 40 - "sockets 0 " - 2 = 28 cells. */
	assert_has(text, "UTC\nsockets 0 [                            ]\ntransitions -/s");
	assert_has(text, "\nno connections\n");
	free(text);
	conntable__free(t);
	free(s);
}

/* Every state present keeps at least one cell, and the cells add up to the bar's width. */
static void test_render_bar(void **state)
{
	struct top_snapshot *s = snap();
	struct conntable *t = conntable__new(1024, NULL);
	int count[256] = { 0 };
	size_t lb, rb;
	char *text;

	(void)state;
	for (int i = 0; i < 500; i++)
		ev(t, 100 + i, 1000, TD_SYN_RECV, TD_ESTABLISHED, 8080, 20000 + i, 0);
	ev(t, 1, 1000, TD_CLOSE, TD_LISTEN, 8080, 0, 7);
	ev(t, 2, 1000, TD_ESTABLISHED, TD_CLOSE_WAIT, 8080, 30000, 0);
	top__collect(s, t, 10000 * MS, NULL, NULL);
	text = render(s, 60, 5);
	/* "sockets 502 " is 12 wide: 60 - 12 - 2 = 46 cells. */
	lb = strcspn(text, "[");
	rb = strcspn(text, "]");
	assert_true(text[lb] && text[rb]);
	assert_int_equal(rb - lb - 1, 46);
	for (size_t i = lb + 1; i < rb; i++)
		count[(unsigned char)text[i]]++;
	assert_int_equal(count['E'], 44);
	assert_int_equal(count['C'], 1);
	assert_int_equal(count['L'], 1);
	free(text);

	/* Wide terminals: the bar stops at 100 cells. Narrow ones: at least 12, then cut. */
	text = render(s, 300, 5);
	assert_int_equal(strcspn(text, "]") - strcspn(text, "[") - 1, 100);
	free(text);
	text = render(s, 20, 5);
	assert_has(text, "sockets 502 [EEEEEEE\n");
	free(text);
	conntable__free(t);
	free(s);
}

/* Cut to the terminal: width per line, height in lines, and a line for what did not fit. */
static void test_render_clip(void **state)
{
	struct top_snapshot *s = snap();
	struct conntable *t = conntable__new(1024, NULL);
	char *text;

	(void)state;
	for (int i = 0; i < 30; i++)
		ev(t, 100 + i, 1000 + i, TD_ESTABLISHED, TD_CLOSE_WAIT, 8080, 20000 + i, 0);
	top__collect(s, t, 10000 * MS, NULL, NULL);
	text = render(s, 50, 12);
	/* title, bar, legend, status, blank, columns: 6 rows left, 5 of them shown. */
	assert_int_equal(count_lines(text), 12);
	assert_int_equal(longest_line(text), 50);
	assert_has(text, "\n... and 25 more\n");
	assert_has(text, "\n      - -               CLOSE_WAIT       9.00s  12\n");
	free(text);

	/* Exactly enough room: no "more" line. */
	s->matched = s->nrows = 6;
	text = render(s, 160, 12);
	assert_int_equal(count_lines(text), 12);
	assert_lacks(text, "more");
	free(text);

	/* More matches than TOP_ROWS kept: the line counts them too. */
	s->matched = 1000;
	text = render(s, 160, 40);
	assert_has(text, "\n... and 994 more\n");
	free(text);

	text = render(s, 160, 2);
	assert_int_equal(count_lines(text), 2);
	free(text);
	text = render(s, 0, 10);
	assert_string_equal(text, "");
	free(text);
	text = render(s, 10, 0);
	assert_string_equal(text, "");
	free(text);
	conntable__free(t);
	free(s);
}

static void test_render_legend_wraps(void **state)
{
	static const int states[] = { TD_ESTABLISHED, TD_SYN_SENT, TD_FIN_WAIT1, TD_FIN_WAIT2,
				      TD_CLOSE_WAIT, TD_LAST_ACK, TD_LISTEN };
	struct top_snapshot *s = snap();
	struct conntable *t = conntable__new(64, NULL);
	char *text;

	(void)state;
	for (int i = 0; i < 7; i++)
		ev(t, 1 + i, 1000, TD_CLOSE, states[i], 8000 + i, 0, 0);
	top__collect(s, t, 10000 * MS, NULL, NULL);
	text = render(s, 40, 40);
	/* The last line is exactly 40 wide: it fits. */
	assert_has(text, "\nE ESTABLISHED 1  S SYN_SENT 1\n1 FIN_WAIT1 1  2 FIN_WAIT2 1\n"
			 "C CLOSE_WAIT 1  A LAST_ACK 1  L LISTEN 1\ntransitions");
	free(text);
	conntable__free(t);
	free(s);
}

static void test_render_row_details(void **state)
{
	struct top_snapshot *s = snap();
	struct conntable *t = conntable__new(64, NULL);
	struct top_view v = { .sort = TOP_SORT_LPORT };
	struct td_event e;
	char *text;

	(void)state;
	/* IPv6, a process name with terminal controls, and a --stuck alert. */
	memset(&e, 0, sizeof(e));
	e.kind = TD_EV_STATE;
	e.ts_ns = 1000 * MS;
	e.cookie = 1;
	e.skaddr = 0x9000;
	e.oldstate = TD_ESTABLISHED;
	e.newstate = TD_CLOSE_WAIT;
	e.family = 6;
	e.saddr[15] = e.daddr[15] = 1;
	e.sport = 8080;
	e.dport = 40000;
	e.flags = TD_F_PROC;
	e.pid = 4242;
	memcpy(e.comm, "ev\033[2Jil\x7f", 10);
	conntable__apply(t, &e);
	conntable__set_stuck(t, TD_CLOSE_WAIT, 5000 * MS);
	conntable__advance(t, 6000 * MS);
	ev(t, 2, 9000, TD_CLOSE, TD_LISTEN, 9090, 0, 1);
	top__collect(s, t, 10000 * MS, &v, NULL);
	text = render(s, 160, 40);
	/* The endpoint columns are as wide as the longest endpoint, 127.0.0.1:9090. */
	assert_has(text, "    PID COMM            STATE              AGE  LADDR:LPORT     "
			 "RADDR:RPORT     ROLE\n");
	assert_has(text, "   4242 ev?[2Jil?       CLOSE_WAIT       9.00s  [::1]:8080      "
			 "[::1]:40000     - STUCK\n");
	assert_has(text, "      1 app1            LISTEN           1.00s  127.0.0.1:9090  "
			 "0.0.0.0:*       listen\n");
	assert_lacks(text, "\033");
	free(text);
	conntable__free(t);
	free(s);
}

/* A POD column once a connection shown is in a pod: "-" for the others, a hostile name with
 * its controls replaced. */
static void test_render_pod_column(void **state)
{
	static const char path[] =
	    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod6f1c2d3e_4a5b_4c6d_"
	    "8e7f_0a1b2c3d4e5f.slice/cri-containerd-0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef.scope";
	struct top_snapshot *s = snap();
	struct conntable *t = conntable__new(64, NULL);
	struct top_view v = { .sort = TOP_SORT_LPORT };
	struct td_event e;
	char *text;

	(void)state;
	assert_non_null(cgn__set(77, path, strlen(path), "pay\033[2J/checkout-7d9f", "app"));
	memset(&e, 0, sizeof(e));
	e.kind = TD_EV_STATE;
	e.ts_ns = 1000 * MS;
	e.cookie = 1;
	e.skaddr = 0x9000;
	e.cgroup = 77;
	e.oldstate = TD_ESTABLISHED;
	e.newstate = TD_CLOSE_WAIT;
	e.family = 4;
	e.saddr[0] = e.daddr[0] = 127;
	e.saddr[3] = e.daddr[3] = 1;
	e.sport = 8080;
	e.dport = 40000;
	conntable__apply(t, &e);
	ev(t, 2, 9000, TD_CLOSE, TD_LISTEN, 9090, 0, 1);
	top__collect(s, t, 10000 * MS, &v, NULL);
	text = render(s, 160, 40);
	assert_has(text, "ROLE     POD\n");
	assert_has(text, "127.0.0.1:40000  -        pay?[2J/checkout-7d9f\n");
	assert_has(text, "0.0.0.0:*        listen   -\n");
	assert_lacks(text, "\033");
	free(text);
	conntable__free(t);
	free(s);
	cgn__clear();
}

/* Run fn with stdout going to a file; return what it wrote. */
static char *capture_stdout(void (*fn)(void *), void *arg)
{
	char path[] = "/tmp/test_top.XXXXXX", *text;
	int fd = mkstemp(path), saved;
	long len;
	FILE *f;

	assert_true(fd >= 0);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	fn(arg);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(fd);
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = calloc(1, len + 1);
	assert_int_equal(fread(text, 1, len, f), len);
	fclose(f);
	unlink(path);
	return text;
}

struct text_run {
	struct top_snapshot *s;
	struct conntable *t;
	int draws[2];
	int keys;
	const struct top_view *view;
};

static void two_snapshots(void *arg)
{
	struct text_run *r = arg;
	struct td_options o;
	struct top *top;

	memset(&o, 0, sizeof(o));
	o.states = 1u << TD_CLOSE_WAIT;
	top = top__open(false, &o);
	assert_non_null(top);
	r->view = top__view(top);
	assert_int_equal(r->view->states, 1u << TD_CLOSE_WAIT);
	top__collect(r->s, r->t, 10000 * MS, top__view(top), NULL);
	r->draws[0] = top__draw(top, r->s);
	r->keys = top__keys(top);
	top__collect(r->s, r->t, 11000 * MS, top__view(top), NULL);
	r->draws[1] = top__draw(top, r->s);
	top__close(top);
	top__close(NULL);
}

/* Not a terminal: the same text each interval, a separator between snapshots, no keys. */
static void test_text_output(void **state)
{
	struct text_run r = { .s = snap(), .t = small_table() };
	char *text, *second;

	(void)state;
	text = capture_stdout(two_snapshots, &r);
	assert_int_equal(r.draws[0], 0);
	assert_int_equal(r.draws[1], 0);
	assert_int_equal(r.keys, TOP_NONE);
	assert_true(!strncmp(text, "tcpdwell top  ", 14));
	second = strstr(text, "\n---\ntcpdwell top  ");
	assert_non_null(second);
	assert_null(strstr(second + 4, "---"));
	/* --state CLOSE_WAIT restricts the rows, not the counts. */
	assert_has(text, "state: CLOSE_WAIT");
	assert_has(text, "L LISTEN 1");
	assert_has(text, ">= 8.00s");
	assert_has(second, ">= 9.00s");
	assert_lacks(text, "app7");
	free(text);
	conntable__free(r.t);
	free(r.s);
}

static void draw_to_full(void *arg)
{
	struct text_run *r = arg;
	struct top *top = top__open(false, NULL);
	int fd = open("/dev/full", O_WRONLY);

	assert_non_null(top);
	assert_true(fd >= 0);
	dup2(fd, STDOUT_FILENO);
	close(fd);
	r->draws[0] = top__draw(top, r->s);
	clearerr(stdout);
	top__close(top);
}

/* A failed stdout (full disk, closed pipe) is reported so that the caller can stop. */
static void test_text_output_fails(void **state)
{
	struct text_run r = { .s = snap(), .t = small_table() };

	(void)state;
	top__collect(r.s, r.t, 10000 * MS, NULL, NULL);
	free(capture_stdout(draw_to_full, &r));
	assert_int_equal(r.draws[0], -1);
	conntable__free(r.t);
	free(r.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_collect_counts),
		cmocka_unit_test(test_collect_dwell_kinds),
		cmocka_unit_test(test_collect_keeps_longest),
		cmocka_unit_test(test_collect_state_filter),
		cmocka_unit_test(test_collect_sorts),
		cmocka_unit_test(test_next_state),
		cmocka_unit_test(test_render_exact),
		cmocka_unit_test(test_render_empty),
		cmocka_unit_test(test_render_bar),
		cmocka_unit_test(test_render_clip),
		cmocka_unit_test(test_render_legend_wraps),
		cmocka_unit_test(test_render_row_details),
		cmocka_unit_test(test_render_pod_column),
		cmocka_unit_test(test_text_output),
		cmocka_unit_test(test_text_output_fails),
	};

	return cmocka_run_group_tests_name("top", tests, NULL, NULL);
}
