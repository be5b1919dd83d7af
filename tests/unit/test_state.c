// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of tcpdwell's state table (user/core/state.c): the kernel names and labels
 * for every value of the enum and for values outside it, and state__parse() on every
 * spelling users type (kernel, ss, textbook) and on names it must refuse.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "state.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The kernel's names, in enum order (include/net/tcp_states.h). */
static const char *const kernel_names[] = {
	NULL,	 "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",    "TIME_WAIT",
	"CLOSE", "CLOSE_WAIT",	"LAST_ACK", "LISTEN",	"CLOSING",   "NEW_SYN_RECV",
};

static void test_names_follow_the_kernel_enum(void **state)
{
	assert_int_equal(ARRAY_SIZE(kernel_names), TD_STATE_MAX);
	for (int s = 1; s < TD_STATE_MAX; s++)
		assert_string_equal(state__name(s), kernel_names[s]);
	/* Spot checks against the enum constants themselves, not only positions. */
	assert_string_equal(state__name(TD_ESTABLISHED), "ESTABLISHED");
	assert_string_equal(state__name(TD_TIME_WAIT), "TIME_WAIT");
	assert_string_equal(state__name(TD_CLOSE), "CLOSE");
	assert_string_equal(state__name(TD_CLOSING), "CLOSING");
}

static void test_name_out_of_range(void **state)
{
	static const int bad[] = {
		0, -1, TD_STATE_MAX, TD_STATE_MAX + 1, 255, 256, INT_MAX, INT_MIN
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_non_null(state__name(bad[i]));
		assert_string_equal(state__name(bad[i]), "UNKNOWN");
		assert_string_equal(state__label(bad[i]), "unknown");
	}
}

static void test_labels_are_lower_case_names(void **state)
{
	for (int s = 1; s < TD_STATE_MAX; s++) {
		const char *name = state__name(s), *label = state__label(s);
		char want[32];
		size_t i;

		for (i = 0; name[i] && i < sizeof(want) - 1; i++)
			want[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
		want[i] = 0;
		assert_string_equal(label, want);
	}
	/* The form node_exporter's node_tcp_connection_states uses. */
	assert_string_equal(state__label(TD_CLOSE_WAIT), "close_wait");
	assert_string_equal(state__label(TD_TIME_WAIT), "time_wait");
	assert_string_equal(state__label(TD_NEW_SYN_RECV), "new_syn_recv");
}

static void test_names_are_static(void **state)
{
	/* Two calls give the same string: callers may keep the pointer. */
	assert_ptr_equal(state__name(TD_LISTEN), state__name(TD_LISTEN));
	assert_ptr_equal(state__label(TD_LISTEN), state__label(TD_LISTEN));
}

static const struct {
	const char *in;
	int want;
} good_names[] = {
	/* the kernel's names, any case */
	{ "ESTABLISHED", TD_ESTABLISHED },
	{ "established", TD_ESTABLISHED },
	{ "Established", TD_ESTABLISHED },
	{ "SYN_SENT", TD_SYN_SENT },
	{ "syn_sent", TD_SYN_SENT },
	{ "SYN_RECV", TD_SYN_RECV },
	{ "FIN_WAIT1", TD_FIN_WAIT1 },
	{ "fin_wait1", TD_FIN_WAIT1 },
	{ "FIN_WAIT2", TD_FIN_WAIT2 },
	{ "TIME_WAIT", TD_TIME_WAIT },
	{ "tImE_wAiT", TD_TIME_WAIT },
	{ "CLOSE", TD_CLOSE },
	{ "CLOSE_WAIT", TD_CLOSE_WAIT },
	{ "LAST_ACK", TD_LAST_ACK },
	{ "LISTEN", TD_LISTEN },
	{ "CLOSING", TD_CLOSING },
	/* ss: state filter names and column headers */
	{ "estab", TD_ESTABLISHED },
	{ "ESTAB", TD_ESTABLISHED },
	{ "syn-sent", TD_SYN_SENT },
	{ "SYN-SENT", TD_SYN_SENT },
	{ "syn-recv", TD_SYN_RECV },
	{ "fin-wait-1", TD_FIN_WAIT1 },
	{ "FIN-WAIT-1", TD_FIN_WAIT1 },
	{ "fin-wait-2", TD_FIN_WAIT2 },
	{ "time-wait", TD_TIME_WAIT },
	{ "TIME-WAIT", TD_TIME_WAIT },
	{ "close-wait", TD_CLOSE_WAIT },
	{ "last-ack", TD_LAST_ACK },
	{ "listening", TD_LISTEN },
	{ "listen", TD_LISTEN },
	{ "closing", TD_CLOSING },
	{ "closed", TD_CLOSE },
	{ "UNCONN", TD_CLOSE },
	{ "unconn", TD_CLOSE },
	/* RFC 793 and BSD netstat */
	{ "FIN_WAIT_1", TD_FIN_WAIT1 },
	{ "FIN_WAIT_2", TD_FIN_WAIT2 },
	{ "SYN_RECEIVED", TD_SYN_RECV },
	{ "SYN-RECEIVED", TD_SYN_RECV },
	{ "syn_received", TD_SYN_RECV },
	{ "SYN_RCVD", TD_SYN_RECV },
	{ "CLOSED", TD_CLOSE },
	/* '-' and '_' are interchangeable anywhere */
	{ "FIN-WAIT1", TD_FIN_WAIT1 },
	{ "fin_wait-2", TD_FIN_WAIT2 },
	{ "close_wait", TD_CLOSE_WAIT },
	{ "LAST-ACK", TD_LAST_ACK },
	{ "syn_recv", TD_SYN_RECV },
};

static void test_parse_good(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(good_names); i++) {
		int got = state__parse(good_names[i].in);

		if (got != good_names[i].want)
			fail_msg("state__parse(\"%s\"): expected %d (%s), got %d (%s)",
				 good_names[i].in, good_names[i].want,
				 state__name(good_names[i].want), got, state__name(got));
	}
}

static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"FOO",
		"TIMED_WAIT",	/* a common misspelling, not a state */
		"NEW_SYN_RECV", /* request sockets: never reported */
		"new-syn-recv",
		"UNKNOWN",
		"time wait",
		" LISTEN",
		"LISTEN ",
		"LISTEN\n",
		"ESTABLISHEDX",
		"ESTA",
		"FIN_WAIT_3",
		"FIN_WAIT",
		"FIN_WAIT__1",
		"TIMEWAIT",
		"CLOSEWAIT",
		"_CLOSE",
		"CLOSE_",
		"connected", /* ss multi-state groups are sets, not states */
		"synchronized",
		"bucket",
		"big",
		"all",
		"1",
		"6",
		"0",
		"-",
		"SYN_SENT,LISTEN",
		"an extraordinarily long name that fits no buffer at all, and is far too long",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int got = state__parse(bad[i]);

		if (got != -1)
			fail_msg("state__parse(\"%s\"): expected -1, got %d (%s)", bad[i], got,
				 state__name(got));
	}
	assert_int_equal(state__parse(NULL), -1);
}

static void test_parse_round_trip(void **state)
{
	for (int s = TD_ESTABLISHED; s <= TD_CLOSING; s++) {
		assert_int_equal(state__parse(state__name(s)), s);
		assert_int_equal(state__parse(state__label(s)), s);
	}
}

/* Every byte after a valid name is refused, and no byte alone is a state. */
static void test_parse_single_bytes_and_suffixes(void **state)
{
	char buf[16];

	for (int ch = 1; ch < 256; ch++) {
		buf[0] = (char)ch;
		buf[1] = 0;
		assert_int_equal(state__parse(buf), -1);
		snprintf(buf, sizeof(buf), "LISTEN%c", ch);
		assert_int_equal(state__parse(buf), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_follow_the_kernel_enum),
		cmocka_unit_test(test_name_out_of_range),
		cmocka_unit_test(test_labels_are_lower_case_names),
		cmocka_unit_test(test_names_are_static),
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_round_trip),
		cmocka_unit_test(test_parse_single_bytes_and_suffixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
