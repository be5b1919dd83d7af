// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of the top view's pure part: the snapshot of a connection table
 * (counts per state, longest dwell first, state filter, sort keys) and its
 * text rendering.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "top.h"

#define MS 1000000ULL

static void ev(struct conntable *t, uint64_t cookie, uint64_t ms, int old, int new, uint16_t lport,
	       uint32_t pid)
{
	struct td_event e;

	memset(&e, 0, sizeof(e));
	e.kind = TD_EV_STATE;
	e.ts_ns = ms * MS;
	e.cookie = cookie;
	e.skaddr = 0x1000 + cookie * 64;
	e.oldstate = old;
	e.newstate = new;
	e.family = 4;
	e.saddr[0] = 127;
	e.saddr[3] = 1;
	e.sport = lport;
	e.dport = 80;
	if (pid) {
		e.flags = TD_F_PROC;
		e.pid = pid;
		snprintf(e.comm, sizeof(e.comm), "app%u", pid);
	}
	conntable__apply(t, &e);
}

static struct conntable *table(void)
{
	struct conntable *t = conntable__new(64, NULL);

	ev(t, 1, 100, TD_ESTABLISHED, TD_CLOSE_WAIT, 8080, 0); /* oldest */
	ev(t, 2, 900, TD_ESTABLISHED, TD_CLOSE_WAIT, 8081, 0);
	ev(t, 3, 500, TD_CLOSE, TD_SYN_SENT, 0, 42);
	ev(t, 3, 501, TD_SYN_SENT, TD_ESTABLISHED, 40000, 0);
	ev(t, 4, 50, TD_CLOSE, TD_LISTEN, 8080, 7);
	return t;
}

static void test_collect_counts_and_order(void **state)
{
	struct top_snapshot *s = calloc(1, sizeof(*s));
	struct conntable *t = table();

	(void)state;
	top__collect(s, t, 1000 * MS, 0, TOP_SORT_DWELL, 12.5, 1, 2);
	assert_int_equal(s->total, 4);
	assert_int_equal(s->sockets[TD_CLOSE_WAIT], 2);
	assert_int_equal(s->sockets[TD_ESTABLISHED], 1);
	assert_int_equal(s->sockets[TD_LISTEN], 1);
	assert_int_equal(s->nrows, 4);
	assert_int_equal(s->rows[0].cookie, 4); /* LISTEN since 50 ms */
	assert_int_equal(s->rows[1].cookie, 1); /* CLOSE_WAIT since 100 ms */
	assert_int_equal(s->rows[2].cookie, 3);
	assert_int_equal(s->rows[3].cookie, 2);

	top__collect(s, t, 1000 * MS, TD_CLOSE_WAIT, TOP_SORT_LPORT, 0, 0, 0);
	assert_int_equal(s->nrows, 2);
	assert_int_equal(s->rows[0].sport, 8080);
	assert_int_equal(s->rows[1].sport, 8081);
	assert_int_equal(s->total, 4); /* counts stay for all states */

	assert_int_equal(top__next_state(s, 0), TD_ESTABLISHED);
	assert_int_equal(top__next_state(s, TD_ESTABLISHED), TD_CLOSE_WAIT);
	assert_int_equal(top__next_state(s, TD_CLOSE_WAIT), TD_LISTEN);
	assert_int_equal(top__next_state(s, TD_LISTEN), 0);
	conntable__free(t);
	free(s);
}

static void test_render(void **state)
{
	struct top_snapshot *s = calloc(1, sizeof(*s));
	struct conntable *t = table();
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	top__collect(s, t, 1000 * MS, 0, TOP_SORT_DWELL, 12.5, 1, 2);
	top__render(s, f, 160, 40);
	fclose(f);
	assert_non_null(strstr(text, "tcpdwell top: 4 sockets, 12 transitions/s, lost 3"));
	assert_non_null(strstr(text, "ESTABLISHED 1  CLOSE_WAIT 2  LISTEN 1"));
	assert_non_null(strstr(text, "      7 app7            LISTEN         950.0ms  127.0.0.1:8080"));
	assert_non_null(strstr(text, "      - -               CLOSE_WAIT     900.0ms  127.0.0.1:8080"));
	free(text);

	text = NULL;
	f = open_memstream(&text, &len);
	top__render(s, f, 20, 3); /* clipped to the terminal */
	fclose(f);
	assert_int_equal(strlen(text), 3 * 21);
	free(text);
	conntable__free(t);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collect_counts_and_order),
		cmocka_unit_test(test_render),
	};

	return cmocka_run_group_tests_name("top", tests, NULL, NULL);
}
