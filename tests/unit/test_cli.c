// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of tcpdwell's command line (user/cli.c): every value parser on good and
 * bad input, the defaults, every option of cli__parse() and which commands take it,
 * conflicts, a table of bad command lines that must each give exit 2 and one line
 * naming the bad value, repeated calls, and the help text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"
#include "state.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define US  1000ULL
#define MS  1000000ULL
#define SEC 1000000000ULL

#define MAX_ARGS 64

/* One command line, without argv[0]; NULL-terminated. */
struct cmdline {
	const char *args[MAX_ARGS];
};

static struct td_options opts;
static char err[512];

/* "tcpdwell a b c" for messages. */
static const char *joined(const char *const *args)
{
	static char buf[1024];
	size_t off = (size_t)snprintf(buf, sizeof(buf), "tcpdwell");

	for (int i = 0; args[i] && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, " '%s'", args[i]);
	return buf;
}

/* Run cli__parse on "tcpdwell ARGS..." into opts and err. */
static int parse_args(const char *const *args)
{
	char *argv[MAX_ARGS + 2];
	int argc = 0;

	argv[argc++] = (char *)"tcpdwell";
	for (int i = 0; args[i]; i++) {
		assert_true(argc < MAX_ARGS + 1);
		argv[argc++] = (char *)args[i];
	}
	argv[argc] = NULL;
	memset(err, 'X', sizeof(err) - 1);
	err[sizeof(err) - 1] = 0;
	return cli__parse(argc, argv, &opts, err, sizeof(err));
}

#define PARSE(...) parse_args((const char *const[]){ __VA_ARGS__, NULL })

/* Parse and require success, printing the message if not. */
#define PARSE_OK(...)                                                                              \
	do {                                                                                       \
		const char *const a_[] = { __VA_ARGS__, NULL };                                    \
		int r_ = parse_args(a_);                                                           \
		if (r_ != TD_EXIT_OK)                                                              \
			fail_msg("%s: expected %d, got %d: %s", joined(a_), TD_EXIT_OK, r_, err);  \
	} while (0)

static bool port_set(const struct td_portset *ps, unsigned int p)
{
	return ps->bits[p >> 6] & (1ULL << (p & 63));
}

static unsigned int port_count(const struct td_portset *ps)
{
	unsigned int n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(ps->bits); i++)
		n += (unsigned int)__builtin_popcountll(ps->bits[i]);
	return n;
}

/* --- value parsers ------------------------------------------------------------------- */

static void test_ports_good(void **state)
{
	static struct td_portset ps;

	memset(&ps, 0, sizeof(ps));
	assert_int_equal(cli__parse_ports("80,443,8000-8100", "--lport", &ps, err, sizeof(err)), 0);
	assert_true(ps.any);
	assert_true(port_set(&ps, 80));
	assert_true(port_set(&ps, 443));
	assert_true(port_set(&ps, 8000));
	assert_true(port_set(&ps, 8050));
	assert_true(port_set(&ps, 8100));
	assert_false(port_set(&ps, 79));
	assert_false(port_set(&ps, 81));
	assert_false(port_set(&ps, 7999));
	assert_false(port_set(&ps, 8101));
	assert_int_equal(port_count(&ps), 2 + 101);

	/* A second call adds. */
	assert_int_equal(cli__parse_ports("22", "--lport", &ps, err, sizeof(err)), 0);
	assert_true(port_set(&ps, 22));
	assert_int_equal(port_count(&ps), 3 + 101);

	memset(&ps, 0, sizeof(ps));
	assert_int_equal(cli__parse_ports("0-65535", "--rport", &ps, err, sizeof(err)), 0);
	assert_int_equal(port_count(&ps), 65536);

	memset(&ps, 0, sizeof(ps));
	assert_int_equal(cli__parse_ports("0,65535,7-7,0080", "--rport", &ps, err, sizeof(err)), 0);
	assert_true(port_set(&ps, 0));
	assert_true(port_set(&ps, 65535));
	assert_true(port_set(&ps, 7));
	assert_true(port_set(&ps, 80));
	assert_int_equal(port_count(&ps), 4);

	/* Word boundaries of the bitmap. */
	memset(&ps, 0, sizeof(ps));
	assert_int_equal(cli__parse_ports("63-64,127,128", "--lport", &ps, err, sizeof(err)), 0);
	assert_true(port_set(&ps, 63) && port_set(&ps, 64) && port_set(&ps, 127) &&
		    port_set(&ps, 128));
	assert_int_equal(port_count(&ps), 4);
}

static const struct {
	const char *in;
	const char *want; /* the exact message */
} bad_ports[] = {
	{ "70000", "invalid port '70000' in --lport: must be 0-65535" },
	{ "65536", "invalid port '65536' in --lport: must be 0-65535" },
	{ "99999999999999999999999", "invalid port '99999999999999999999999' in --lport: must be "
				     "0-65535" },
	{ "http", "invalid port 'http' in --lport: not a number" },
	{ "8o", "invalid port '8o' in --lport: not a number" },
	{ " 80", "invalid port ' 80' in --lport: not a number" },
	{ "+80", "invalid port '+80' in --lport: not a number" },
	{ "0x50", "invalid port '0x50' in --lport: not a number" },
	{ "", "invalid port '' in --lport: empty" },
	{ ",", "invalid port list ',' in --lport: empty item" },
	{ "80,", "invalid port list '80,' in --lport: empty item" },
	{ ",80", "invalid port list ',80' in --lport: empty item" },
	{ "80,,443", "invalid port list '80,,443' in --lport: empty item" },
	{ "9000-8000", "invalid port range '9000-8000' in --lport: 9000 is greater than 8000" },
	{ "80-", "invalid port range '80-' in --lport: expected LOW-HIGH, e.g. 8000-8100" },
	{ "-80", "invalid port range '-80' in --lport: expected LOW-HIGH, e.g. 8000-8100" },
	{ "-1", "invalid port range '-1' in --lport: expected LOW-HIGH, e.g. 8000-8100" },
	{ "1-2-3", "invalid port range '1-2-3' in --lport: expected LOW-HIGH, e.g. 8000-8100" },
	{ "1-70000", "invalid port '70000' in --lport: must be 0-65535" },
	{ "80,443,x", "invalid port 'x' in --lport: not a number" },
};

static void test_ports_bad(void **state)
{
	static struct td_portset ps, before;

	for (size_t i = 0; i < ARRAY_SIZE(bad_ports); i++) {
		memset(&ps, 0, sizeof(ps));
		/* A failure leaves the set as it was, even after good items. */
		assert_int_equal(cli__parse_ports("1", "--lport", &ps, err, sizeof(err)), 0);
		before = ps;
		if (cli__parse_ports(bad_ports[i].in, "--lport", &ps, err, sizeof(err)) != -1)
			fail_msg("ports '%s': expected -1", bad_ports[i].in);
		assert_string_equal(err, bad_ports[i].want);
		assert_memory_equal(&ps, &before, sizeof(ps));
	}
}

static const struct {
	const char *in;
	uint64_t ns;
} good_durations[] = {
	{ "250us", 250 * US },
	{ "10ms", 10 * MS },
	{ "2s", 2 * SEC },
	{ "1m", 60 * SEC },
	{ "1.5s", 1500 * MS },
	{ "1h", 3600 * SEC },
	{ "1ns", 1 },
	{ "0.5us", 500 },
	{ "1.1s", 1100 * MS }, /* exact: no binary floating point on the way */
	{ "0.000000001s", 1 },
	{ "0.0000000019s", 1 }, /* below a nanosecond: truncated */
	{ "1.25m", 75 * SEC },
	{ "0.5h", 1800 * SEC },
	{ "2.5ms", 2500 * US },
	{ "3", 3 * SEC }, /* a bare number is seconds */
	{ "0.25", 250 * MS },
	{ "007ms", 7 * MS },
	{ "18446744073709551615ns", UINT64_MAX },
	{ "18446744073.709551615s", UINT64_MAX },
	{ "5124095h", 5124095ULL * 3600 * SEC },
	{ "1.123456789123456789123s", 1123456789 },
};

static void test_duration_good(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(good_durations); i++) {
		uint64_t ns = 0;

		if (cli__parse_duration(good_durations[i].in, "--min", &ns, err, sizeof(err)))
			fail_msg("duration '%s': %s", good_durations[i].in, err);
		if (ns != good_durations[i].ns)
			fail_msg("duration '%s': expected %llu ns, got %llu ns",
				 good_durations[i].in, (unsigned long long)good_durations[i].ns,
				 (unsigned long long)ns);
	}
}

static const struct {
	const char *in;
	const char *want;
} bad_durations[] = {
	{ "5x", "invalid duration '5x' in --min: unknown unit 'x'" },
	{ "-1s", "invalid duration '-1s' in --min: must not be negative" },
	{ "", "invalid duration '' in --min: empty" },
	{ "0", "invalid duration '0' in --min: must be greater than 0" },
	{ "0ms", "invalid duration '0ms' in --min: must be greater than 0" },
	{ "0.0000000001s", "invalid duration '0.0000000001s' in --min: must be greater than 0" },
	{ "18446744073709551616ns", "invalid duration '18446744073709551616ns' in --min: too "
				    "large" },
	{ "18446744074s", "invalid duration '18446744074s' in --min: too large" },
	{ "5124096h", "invalid duration '5124096h' in --min: too large" },
	{ "99999999999999999999999h", "invalid duration '99999999999999999999999h' in --min: too "
				      "large" },
	{ "2S", "invalid duration '2S' in --min: unknown unit 'S'" },
	{ "2 s", "invalid duration '2 s' in --min: unknown unit ' s'" },
	{ "2sec", "invalid duration '2sec' in --min: unknown unit 'sec'" },
	{ "1e3s", "invalid duration '1e3s' in --min: unknown unit 'e3s'" },
	{ "1.s", "invalid duration '1.s' in --min: expected digits after '.'" },
	{ "1.5.5s", "invalid duration '1.5.5s' in --min: unknown unit '.5s'" },
	{ "s", "invalid duration 's' in --min: expected a number and a unit, e.g. 250us, 10ms, "
	       "2s, 1m" },
	{ ".5s", "invalid duration '.5s' in --min: expected a number and a unit, e.g. 250us, "
		 "10ms, 2s, 1m" },
	{ "+1s", "invalid duration '+1s' in --min: expected a number and a unit, e.g. 250us, "
		 "10ms, 2s, 1m" },
	{ " 1s", "invalid duration ' 1s' in --min: expected a number and a unit, e.g. 250us, "
		 "10ms, 2s, 1m" },
	{ "inf", "invalid duration 'inf' in --min: expected a number and a unit, e.g. 250us, "
		 "10ms, 2s, 1m" },
	{ "1h30m", "invalid duration '1h30m' in --min: unknown unit 'h30m'" },
};

static void test_duration_bad(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_durations); i++) {
		uint64_t ns = 12345;

		if (cli__parse_duration(bad_durations[i].in, "--min", &ns, err, sizeof(err)) != -1)
			fail_msg("duration '%s': expected -1, got %llu ns", bad_durations[i].in,
				 (unsigned long long)ns);
		assert_string_equal(err, bad_durations[i].want);
		assert_int_equal(ns, 12345);
	}
}

static void test_cidrs_good(void **state)
{
	static const struct {
		const char *in;
		int family, prefix;
		uint8_t addr[16];
	} cases[] = {
		{ "10.0.0.0/8", 4, 8, { 10 } },
		{ "10.1.2.3/8", 4, 8, { 10 } }, /* host bits accepted and cleared */
		{ "192.168.1.77/24", 4, 24, { 192, 168, 1 } },
		{ "192.168.1.77/20", 4, 20, { 192, 168, 0 } },
		{ "172.31.255.255/12", 4, 12, { 172, 16 } },
		{ "127.0.0.1", 4, 32, { 127, 0, 0, 1 } },
		{ "127.0.0.1/32", 4, 32, { 127, 0, 0, 1 } },
		{ "255.255.255.255/1", 4, 1, { 128 } },
		{ "1.2.3.4/0", 4, 0, { 0 } },
		{ "::1", 6, 128, { [15] = 1 } },
		{ "::1/128", 6, 128, { [15] = 1 } },
		{ "::/0", 6, 0, { 0 } },
		{ "2001:db8::1/32", 6, 32, { 0x20, 0x01, 0x0d, 0xb8 } },
		{ "2001:db8:ffff::1/33", 6, 33, { 0x20, 0x01, 0x0d, 0xb8, 0x80 } },
		{ "fe80::1:2:3:4/64", 6, 64, { 0xfe, 0x80 } },
		{ "::ffff:10.1.2.3/104", 6, 104, { [10] = 0xff, [11] = 0xff, [12] = 10 } },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/127",
		  6,
		  127,
		  { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		    0xff, 0xff, 0xfe } },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct td_cidrset set = { 0 };

		if (cli__parse_cidrs(cases[i].in, "--laddr", &set, err, sizeof(err)))
			fail_msg("cidr '%s': %s", cases[i].in, err);
		assert_int_equal(set.n, 1);
		assert_int_equal(set.v[0].family, cases[i].family);
		assert_int_equal(set.v[0].prefix, cases[i].prefix);
		if (memcmp(set.v[0].addr, cases[i].addr, 16))
			fail_msg("cidr '%s': address bytes differ", cases[i].in);
	}
}

static void test_cidrs_lists_add_up_to_the_limit(void **state)
{
	struct td_cidrset set = { 0 };
	char list[1024] = "";

	assert_int_equal(cli__parse_cidrs("10.0.0.0/8,::1", "--raddr", &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 2);
	assert_int_equal(set.v[0].family, 4);
	assert_int_equal(set.v[1].family, 6);
	assert_int_equal(cli__parse_cidrs("192.168.0.0/16", "--raddr", &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 3);
	for (int i = 3; i < TD_MAX_CIDRS; i++) {
		char one[32];

		snprintf(one, sizeof(one), "%s10.%d.0.0/16", i > 3 ? "," : "", i);
		strcat(list, one);
	}
	assert_int_equal(cli__parse_cidrs(list, "--raddr", &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, TD_MAX_CIDRS);
	/* One more is refused and changes nothing. */
	assert_int_equal(cli__parse_cidrs("1.1.1.1", "--raddr", &set, err, sizeof(err)), -1);
	assert_string_equal(err, "too many prefixes in --raddr: at most 16");
	assert_int_equal(set.n, TD_MAX_CIDRS);

	/* Too many within one list. */
	memset(&set, 0, sizeof(set));
	list[0] = 0;
	for (int i = 0; i <= TD_MAX_CIDRS; i++) {
		char one[32];

		snprintf(one, sizeof(one), "%s10.%d.0.0/16", i ? "," : "", i);
		strcat(list, one);
	}
	assert_int_equal(cli__parse_cidrs(list, "--laddr", &set, err, sizeof(err)), -1);
	assert_string_equal(err, "too many prefixes in --laddr: at most 16");
	assert_int_equal(set.n, 0);
}

static const struct {
	const char *in;
	const char *want;
} bad_cidrs[] = {
	{ "10.0.0.0/33", "invalid CIDR '10.0.0.0/33' in --laddr: prefix must be 0-32" },
	{ "::1/129", "invalid CIDR '::1/129' in --laddr: prefix must be 0-128" },
	{ "10.0.0.0/", "invalid CIDR '10.0.0.0/' in --laddr: prefix must be 0-32" },
	{ "10.0.0.0/-1", "invalid CIDR '10.0.0.0/-1' in --laddr: prefix must be 0-32" },
	{ "10.0.0.0/8/8", "invalid CIDR '10.0.0.0/8/8' in --laddr: prefix must be 0-32" },
	{ "10.0.0.0/ 8", "invalid CIDR '10.0.0.0/ 8' in --laddr: prefix must be 0-32" },
	{ "10.0.0.0/99999999999999999999", "invalid CIDR '10.0.0.0/99999999999999999999' in "
					   "--laddr: prefix must be 0-32" },
	{ "300.1.1.1", "invalid CIDR '300.1.1.1' in --laddr: bad address '300.1.1.1'" },
	{ "10.0.0", "invalid CIDR '10.0.0' in --laddr: bad address '10.0.0'" },
	{ "10.0.0.0.0/8", "invalid CIDR '10.0.0.0.0/8' in --laddr: bad address '10.0.0.0.0'" },
	{ "localhost", "invalid CIDR 'localhost' in --laddr: bad address 'localhost'" },
	{ "/8", "invalid CIDR '/8' in --laddr: bad address ''" },
	{ "1::2::3", "invalid CIDR '1::2::3' in --laddr: bad address '1::2::3'" },
	{ "fe80::1%eth0", "invalid CIDR 'fe80::1%eth0' in --laddr: bad address 'fe80::1%eth0'" },
	{ "[::1]/128", "invalid CIDR '[::1]/128' in --laddr: bad address '[::1]'" },
	{ "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000/64",
	  "invalid CIDR '0000:0000:0000:0000:0000:0000:0000:0000:0000:0000/64' in --laddr: bad "
	  "address" },
	{ "", "invalid CIDR '' in --laddr: empty" },
	{ "10.0.0.0/8,", "invalid CIDR list '10.0.0.0/8,' in --laddr: empty item" },
};

static void test_cidrs_bad(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_cidrs); i++) {
		struct td_cidrset set = { 0 };

		if (cli__parse_cidrs(bad_cidrs[i].in, "--laddr", &set, err, sizeof(err)) != -1)
			fail_msg("cidr '%s': expected -1", bad_cidrs[i].in);
		assert_string_equal(err, bad_cidrs[i].want);
		assert_int_equal(set.n, 0);
	}
}

static void test_states(void **state)
{
	uint16_t mask = 0;

	assert_int_equal(cli__parse_states("TIME_WAIT", "--state", &mask, err, sizeof(err)), 0);
	assert_int_equal(mask, 1u << TD_TIME_WAIT);
	assert_int_equal(cli__parse_states("close-wait,estab,FIN_WAIT_1,SYN_RECEIVED,CLOSED",
					   "--state", &mask, err, sizeof(err)),
			 0);
	assert_int_equal(mask, (1u << TD_TIME_WAIT) | (1u << TD_CLOSE_WAIT) |
				       (1u << TD_ESTABLISHED) | (1u << TD_FIN_WAIT1) |
				       (1u << TD_SYN_RECV) | (1u << TD_CLOSE));

	mask = 0;
	assert_int_equal(
		cli__parse_states("LISTEN,listen,Listening", "--state", &mask, err, sizeof(err)),
		0);
	assert_int_equal(mask, 1u << TD_LISTEN);

	mask = 1u << TD_LISTEN;
	assert_int_equal(cli__parse_states("ESTABLISHED,FOO", "--state", &mask, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "unknown state 'FOO' in --state");
	assert_int_equal(mask, 1u << TD_LISTEN);

	assert_int_equal(cli__parse_states("NEW_SYN_RECV", "--state", &mask, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown state 'NEW_SYN_RECV' in --state");
	assert_int_equal(cli__parse_states("LISTEN,", "--state", &mask, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid state list 'LISTEN,' in --state: empty item");
	assert_int_equal(cli__parse_states("", "--state", &mask, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid state '' in --state: empty");
	assert_int_equal(cli__parse_states("AN_EXTREMELY_LONG_STATE_NAME_THAT_NO_ONE_HAS",
					   "--state", &mask, err, sizeof(err)),
			 -1);
	assert_string_equal(
		err, "unknown state 'AN_EXTREMELY_LONG_STATE_NAME_THAT_NO_ONE_HAS' in --state");
}

static void test_pids(void **state)
{
	static struct td_options o;
	char list[1024] = "";

	memset(&o, 0, sizeof(o));
	assert_int_equal(cli__parse_pids("1,42,4194304", "--pid", &o, err, sizeof(err)), 0);
	assert_int_equal(o.npids, 3);
	assert_int_equal(o.pids[0], 1);
	assert_int_equal(o.pids[1], 42);
	assert_int_equal(o.pids[2], 4194304);
	/* Repeats are kept once, across calls too. */
	assert_int_equal(cli__parse_pids("42,42,7", "--pid", &o, err, sizeof(err)), 0);
	assert_int_equal(o.npids, 4);
	assert_int_equal(o.pids[3], 7);

	static const struct {
		const char *in, *want;
	} bad[] = {
		{ "0", "invalid pid '0' in --pid: must be 1-4194304" },
		{ "4194305", "invalid pid '4194305' in --pid: must be 1-4194304" },
		{ "-1", "invalid pid '-1' in --pid: must be 1-4194304" },
		{ "abc", "invalid pid 'abc' in --pid: must be 1-4194304" },
		{ "12 ", "invalid pid '12 ' in --pid: must be 1-4194304" },
		{ "99999999999999999999999", "invalid pid '99999999999999999999999' in --pid: must "
					     "be 1-4194304" },
		{ "1,,2", "invalid pid list '1,,2' in --pid: empty item" },
		{ "", "invalid pid '' in --pid: empty" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(cli__parse_pids(bad[i].in, "--pid", &o, err, sizeof(err)), -1);
		assert_string_equal(err, bad[i].want);
		assert_int_equal(o.npids, 4);
	}

	memset(&o, 0, sizeof(o));
	for (int i = 1; i <= TD_MAX_PIDS; i++) {
		char one[16];

		snprintf(one, sizeof(one), "%s%d", i > 1 ? "," : "", i);
		strcat(list, one);
	}
	assert_int_equal(cli__parse_pids(list, "--pid", &o, err, sizeof(err)), 0);
	assert_int_equal(o.npids, TD_MAX_PIDS);
	assert_int_equal(cli__parse_pids("64", "--pid", &o, err, sizeof(err)), 0); /* a repeat */
	assert_int_equal(cli__parse_pids("65", "--pid", &o, err, sizeof(err)), -1);
	assert_string_equal(err, "too many pids in --pid: at most 64");
	assert_int_equal(o.npids, TD_MAX_PIDS);
}

static void test_comms(void **state)
{
	static struct td_options o;

	memset(&o, 0, sizeof(o));
	assert_int_equal(
		cli__parse_comms("nginx,a-fifteen-chars,x", "--comm", &o, err, sizeof(err)), 0);
	assert_int_equal(o.ncomms, 3);
	assert_string_equal(o.comms[0], "nginx");
	assert_string_equal(o.comms[1], "a-fifteen-chars");
	assert_string_equal(o.comms[2], "x");

	assert_int_equal(cli__parse_comms("ok,sixteen-chars-xy", "--comm", &o, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "invalid name 'sixteen-chars-xy' in --comm: longer than 15 "
				 "characters (the kernel's limit for process names)");
	assert_int_equal(o.ncomms, 3);
	assert_int_equal(cli__parse_comms("a,,b", "--comm", &o, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid name list 'a,,b' in --comm: empty item");
	assert_int_equal(cli__parse_comms("", "--comm", &o, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid name '' in --comm: empty");

	memset(&o, 0, sizeof(o));
	assert_int_equal(
		cli__parse_comms("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p", "--comm", &o, err, sizeof(err)),
		0);
	assert_int_equal(o.ncomms, TD_MAX_COMMS);
	assert_int_equal(cli__parse_comms("q", "--comm", &o, err, sizeof(err)), -1);
	assert_string_equal(err, "too many names in --comm: at most 16");
}

static void test_stuck(void **state)
{
	uint64_t lim[TD_STATE_MAX] = { 0 };

	assert_int_equal(
		cli__parse_stuck("CLOSE_WAIT=30s,SYN_SENT=3s", "--stuck", lim, err, sizeof(err)),
		0);
	assert_int_equal(lim[TD_CLOSE_WAIT], 30 * SEC);
	assert_int_equal(lim[TD_SYN_SENT], 3 * SEC);
	assert_int_equal(lim[TD_ESTABLISHED], 0);
	/* Aliases, and a later limit for the same state wins. */
	assert_int_equal(
		cli__parse_stuck("close-wait=1.5s,fin-wait-2=2m", "--stuck", lim, err, sizeof(err)),
		0);
	assert_int_equal(lim[TD_CLOSE_WAIT], 1500 * MS);
	assert_int_equal(lim[TD_FIN_WAIT2], 120 * SEC);

	static const struct {
		const char *in, *want;
	} bad[] = {
		{ "CLOSE_WAIT", "invalid value 'CLOSE_WAIT' in --stuck: expected STATE=DURATION" },
		{ "CLOSE_WAIT=",
		  "invalid value 'CLOSE_WAIT=' in --stuck: expected STATE=DURATION" },
		{ "=5s", "invalid value '=5s' in --stuck: expected STATE=DURATION" },
		{ "FOO=1s", "unknown state 'FOO' in --stuck" },
		{ "CLOSE_WAIT=5x", "invalid duration '5x' in --stuck: unknown unit 'x'" },
		{ "CLOSE_WAIT=0s", "invalid duration '0s' in --stuck: must be greater than 0" },
		{ "CLOSE_WAIT=1s=2s", "invalid duration '1s=2s' in --stuck: unknown unit 's=2s'" },
		{ "CLOSE=1s", "invalid state 'CLOSE' in --stuck: a traced connection does not stay "
			      "in CLOSE" },
		{ "SYN_SENT=1s,", "invalid value list 'SYN_SENT=1s,' in --stuck: empty item" },
		{ "SYN_SENT=1s,LAST_ACK=-1s", "invalid duration '-1s' in --stuck: must not be "
					      "negative" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t before[TD_STATE_MAX];

		memcpy(before, lim, sizeof(lim));
		assert_int_equal(cli__parse_stuck(bad[i].in, "--stuck", lim, err, sizeof(err)), -1);
		assert_string_equal(err, bad[i].want);
		assert_memory_equal(lim, before, sizeof(lim));
	}
}

static void test_uint(void **state)
{
	uint64_t v = 0;

	assert_int_equal(cli__parse_uint("16", "--max-conns", 16, 100, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 16);
	assert_int_equal(cli__parse_uint("100", "--max-conns", 16, 100, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 100);
	assert_int_equal(
		cli__parse_uint("18446744073709551615", "--x", 0, UINT64_MAX, &v, err, sizeof(err)),
		0);
	assert_true(v == UINT64_MAX);

	static const char *const bad[] = { "15",  "101", "",	"-16",	"+16",
					   " 16", "16 ", "1e2", "0x10", "18446744073709551616" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char want[128];

		v = 7;
		assert_int_equal(
			cli__parse_uint(bad[i], "--max-conns", 16, 100, &v, err, sizeof(err)), -1);
		snprintf(want, sizeof(want), "invalid number '%s' in --max-conns: must be 16-100",
			 bad[i]);
		assert_string_equal(err, want);
		assert_int_equal(v, 7);
	}
}

static void test_size(void **state)
{
	static const struct {
		const char *in;
		uint64_t want;
	} good[] = {
		{ "4096", 4096 },     { "4K", 4096 },	    { "4k", 4096 },
		{ "4KiB", 4096 },     { "8M", 8 << 20 },    { "8m", 8 << 20 },
		{ "8MiB", 8 << 20 },  { "1G", 1ULL << 30 }, { "1GiB", 1ULL << 30 },
		{ "3g", 3ULL << 30 }, { "0", 0 },	    { "1000", 1000 },
	};
	static const struct {
		const char *in, *want;
	} bad[] = {
		{ "8X", "invalid size '8X' in --ringbuf-size: unknown suffix 'X' (K, M or G)" },
		{ "8MB", "invalid size '8MB' in --ringbuf-size: unknown suffix 'MB' (K, M or G)" },
		{ "8 M", "invalid size '8 M' in --ringbuf-size: unknown suffix ' M' (K, M or G)" },
		{ "",
		  "invalid size '' in --ringbuf-size: expected a number of bytes, e.g. 65536 or "
		  "8M" },
		{ "M", "invalid size 'M' in --ringbuf-size: expected a number of bytes, e.g. 65536 "
		       "or 8M" },
		{ "-4096",
		  "invalid size '-4096' in --ringbuf-size: expected a number of bytes, e.g. "
		  "65536 or 8M" },
		{ "99999999999999999999", "invalid size '99999999999999999999' in --ringbuf-size: "
					  "too large" },
	};
	uint64_t v;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		v = 0;
		if (cli__parse_size(good[i].in, "--ringbuf-size", &v, err, sizeof(err)))
			fail_msg("size '%s': %s", good[i].in, err);
		if (v != good[i].want)
			fail_msg("size '%s': expected %llu, got %llu", good[i].in,
				 (unsigned long long)good[i].want, (unsigned long long)v);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		v = 5;
		assert_int_equal(cli__parse_size(bad[i].in, "--ringbuf-size", &v, err, sizeof(err)),
				 -1);
		assert_string_equal(err, bad[i].want);
		assert_int_equal(v, 5);
	}
	/* 2^34 G is 2^64 bytes: one past what fits. */
	assert_int_equal(cli__parse_size("17179869184G", "--ringbuf-size", &v, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "invalid size '17179869184G' in --ringbuf-size: too large");
	assert_int_equal(cli__parse_size("17179869183G", "--ringbuf-size", &v, err, sizeof(err)),
			 0);
	assert_true(v == 17179869183ULL << 30);
}

/* A message longer than the buffer is cut, still terminated; no buffer at all is fine. */
static void test_small_error_buffer(void **state)
{
	static struct td_portset ps;
	char small[12];
	uint64_t ns;

	memset(small, 'X', sizeof(small));
	assert_int_equal(cli__parse_ports("70000", "--lport", &ps, small, sizeof(small)), -1);
	assert_string_equal(small, "invalid por");
	assert_int_equal(cli__parse_duration("5x", "--min", &ns, NULL, 0), -1);
	assert_int_equal(cli__parse_ports("70000", "--lport", &ps, small, 0), -1);
}

/* --- cli__parse ---------------------------------------------------------------------- */

static void test_defaults(void **state)
{
	const char *none[] = { NULL };

	/* Garbage first: the defaults must come from cli__parse, not from the caller. */
	memset(&opts, 0xa5, sizeof(opts));
	assert_int_equal(parse_args(none), TD_EXIT_OK);
	assert_string_equal(err, "");
	assert_int_equal(opts.cmd, TD_CMD_TRACE);
	assert_int_equal(opts.family, 0);
	assert_false(opts.lports.any);
	assert_false(opts.rports.any);
	assert_int_equal(port_count(&opts.lports), 0);
	assert_int_equal(opts.laddrs.n, 0);
	assert_int_equal(opts.raddrs.n, 0);
	assert_int_equal(opts.npids, 0);
	assert_int_equal(opts.ncomms, 0);
	assert_int_equal(opts.states, 0);
	assert_int_equal(opts.min_ns, 0);
	assert_int_equal(opts.netns, 0);
	assert_null(opts.cgroup_path);
	assert_int_equal(opts.duration_ns, 0);
	assert_int_equal(opts.interval_ns, 0);
	assert_int_equal(opts.by, TD_BY_NONE);
	assert_false(opts.hist);
	assert_false(opts.json);
	assert_int_equal(opts.verbose, 0);
	assert_int_equal(opts.max_conns, 262144);
	for (int s = 0; s < TD_STATE_MAX; s++)
		assert_int_equal(opts.stuck_ns[s], 0);
	assert_int_equal(opts.latency_ns, 100 * MS);
	assert_int_equal(opts.reconcile_ns, 0);
	assert_int_equal(opts.ringbuf_bytes, 8u << 20);
	assert_int_equal(opts.backend, TD_BACKEND_AUTO);
	assert_int_equal(opts.buffer, TD_BUFFER_AUTO);
	assert_null(opts.input);
	assert_null(opts.output);
	assert_null(opts.listen);
	assert_false(opts.no_seed);
	assert_false(opts.no_timewait);

	/* argc 0 (no argv[0] at all) is not a crash. */
	assert_int_equal(cli__parse(0, (char *[]){ NULL }, &opts, err, sizeof(err)), TD_EXIT_OK);
	assert_int_equal(opts.cmd, TD_CMD_TRACE);
}

static void test_commands(void **state)
{
	static const struct {
		const char *word;
		enum td_command cmd;
	} cases[] = {
		{ "trace", TD_CMD_TRACE }, { "timeline", TD_CMD_TIMELINE },
		{ "stat", TD_CMD_STAT },   { "top", TD_CMD_TOP },
		{ "check", TD_CMD_CHECK }, { "doctor", TD_CMD_DOCTOR },
		{ "serve", TD_CMD_SERVE },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		PARSE_OK(cases[i].word);
		assert_int_equal(opts.cmd, cases[i].cmd);
		assert_string_equal(cli__command_name(cases[i].cmd), cases[i].word);
	}
	PARSE_OK("record", "-o", "x.td");
	assert_int_equal(opts.cmd, TD_CMD_RECORD);
	assert_string_equal(opts.output, "x.td");
	assert_string_equal(cli__command_name(TD_CMD_RECORD), "record");
	assert_string_equal(cli__command_name((enum td_command)99), "unknown");
	/* No command: trace. */
	PARSE_OK("-j");
	assert_int_equal(opts.cmd, TD_CMD_TRACE);
	assert_true(opts.json);
}

/* Accept tracking is loaded only where an owner is shown or selects: not for plain
 * stat and serve, which show none, and always for a recording. */
static void test_owners(void **state)
{
	static const struct {
		const char *const args[5];
		bool owners;
	} cases[] = {
		{ { "trace" }, true },
		{ { "timeline" }, true },
		{ { "top" }, true },
		{ { "doctor" }, true },
		{ { "check" }, true },
		{ { "record", "-o", "x.td" }, true },
		{ { "stat" }, false },
		{ { "stat", "--by", "lport", "--hist" }, false },
		{ { "stat", "--by", "comm" }, true },
		{ { "stat", "-c", "nginx" }, true },
		{ { "stat", "-p", "1" }, true },
		{ { "stat", "-w", "x.td" }, true },
		{ { "serve" }, false },
		{ { "serve", "--by", "lport" }, false },
		{ { "serve", "-c", "nginx" }, true },
		{ { "serve", "-p", "1" }, true },
		/* --accept: the accept-queue wait needs the accept tracepoints */
		{ { "stat", "--accept" }, true },
		{ { "serve", "--accept" }, true },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		if (parse_args(cases[i].args) != TD_EXIT_OK)
			fail_msg("case %zu (%s): %s", i, cases[i].args[0], err);
		if (opts.owners != cases[i].owners)
			fail_msg("case %zu (%s %s): owners %d, want %d", i, cases[i].args[0],
				 cases[i].args[1] ?: "", opts.owners, cases[i].owners);
	}
}

/* What the handshake and the connection carried: read where it is shown or kept. */
static void test_conn_info(void **state)
{
	static const struct {
		const char *const args[5];
		bool on;
	} cases[] = {
		{ { "trace" }, true },
		{ { "timeline" }, true },
		{ { "timeline", "--wide" }, true },
		{ { "doctor" }, true },
		{ { "record", "-o", "x.td" }, true },
		{ { "top" }, false },
		{ { "top", "-w", "x.td" }, true },
		{ { "stat" }, false },
		{ { "stat", "--by", "lport" }, true },
		{ { "stat", "-w", "x.td" }, true },
		{ { "serve" }, false },
		{ { "serve", "--by", "lport" }, true },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		if (parse_args(cases[i].args) != TD_EXIT_OK)
			fail_msg("case %zu (%s): %s", i, cases[i].args[0], err);
		if (opts.conn_info != cases[i].on)
			fail_msg("case %zu (%s %s): conn_info %d, want %d", i, cases[i].args[0],
				 cases[i].args[1] ?: "", opts.conn_info, cases[i].on);
	}
	assert_int_equal(PARSE("stat", "--wide"), TD_EXIT_USAGE);
	assert_string_equal(err, "option --wide does not apply to 'stat' (only to trace and timeline)");
}

/* --pod, --container, --pods-dir, --by pod|container. */
static void test_cgroup_names(void **state)
{
	(void)state;
	assert_int_equal(PARSE("trace", "--pod", "payments/checkout-7d9f"), TD_EXIT_OK);
	assert_string_equal(opts.pod, "payments/checkout-7d9f");
	assert_int_equal(PARSE("trace", "--pod", "kube-system/"), TD_EXIT_OK);
	assert_int_equal(PARSE("stat", "--container", "app"), TD_EXIT_OK);
	assert_int_equal(PARSE("stat", "--container", "0123abcd"), TD_EXIT_OK);
	assert_int_equal(PARSE("stat", "--by", "pod"), TD_EXIT_OK);
	assert_int_equal(opts.by, TD_BY_POD);
	assert_int_equal(PARSE("serve", "--by", "container"), TD_EXIT_OK);
	assert_int_equal(opts.by, TD_BY_CONTAINER);
	assert_int_equal(PARSE("trace", "--pods-dir", "/tmp/pods"), TD_EXIT_OK);
	assert_string_equal(opts.pods_dir, "/tmp/pods");

	assert_int_equal(PARSE("trace", "--pod", "checkout"), TD_EXIT_USAGE);
	assert_string_equal(err, "invalid pod 'checkout' in --pod: must be NAMESPACE/NAME or "
				 "NAMESPACE/ (Kubernetes names: lowercase letters, digits, '-', '.')");
	assert_int_equal(PARSE("trace", "--pod", "Pay/x"), TD_EXIT_USAGE);
	assert_int_equal(PARSE("trace", "--pod", "/x"), TD_EXIT_USAGE);
	assert_int_equal(PARSE("trace", "--pod", "a/b/c"), TD_EXIT_USAGE);
	assert_int_equal(PARSE("trace", "--pod", "a/-b"), TD_EXIT_USAGE);
	assert_int_equal(PARSE("trace", "--container", "App"), TD_EXIT_USAGE);
	assert_string_equal(err, "invalid container 'App' in --container: must be a container "
				 "name or the first 4 to 64 hex digits of its id");
	assert_int_equal(PARSE("trace", "--container", "a\x1b[2J"), TD_EXIT_USAGE);
	assert_int_equal(PARSE("trace", "--pods-dir", ""), TD_EXIT_USAGE);
	assert_int_equal(PARSE("serve", "--by", "comm"), TD_EXIT_USAGE);
	assert_string_equal(err, "invalid key 'comm' in --by: serve supports lport, pod or container");
	assert_int_equal(PARSE("record", "--pod", "a/b"), TD_EXIT_USAGE);
}

#define BAD_IDS "in --user: must be NAME or UID:GID, each 0-4294967294"
#define NOT_PRINTABLE "only printable characters, no spaces"

/* --user: a name kept for getpwnam(), or ids; never root, never a hostile byte echoed. */
static void test_user(void **state)
{
	static const struct {
		const char *v, *msg;
	} bad[] = {
		{ "", "invalid user '' in --user: empty" },
		{ "0:0", "invalid user '0:0' in --user: must not be root (uid or gid 0)" },
		{ "12345:0", "invalid user '12345:0' in --user: must not be root (uid or gid 0)" },
		{ "4294967295:1", "invalid user '4294967295:1' " BAD_IDS },
		{ "1:", "invalid user '1:' " BAD_IDS },
		{ ":1", "invalid user ':1' " BAD_IDS },
		{ "-1:5", "invalid user '-1:5' " BAD_IDS },
		{ "1:2:3", "invalid user '1:2:3' " BAD_IDS },
		{ "no body", "invalid user name in --user: " NOT_PRINTABLE },
		{ "\x1b]0;x\x07", "invalid user name in --user: " NOT_PRINTABLE },
	};
	char longname[300];

	(void)state;
	PARSE_OK("trace", "--user", "12345:54321");
	assert_true(opts.user_ids);
	assert_null(opts.user);
	assert_int_equal(opts.user_uid, 12345);
	assert_int_equal(opts.user_gid, 54321);
	PARSE_OK("serve", "--user=4294967294:4294967294");
	assert_int_equal(opts.user_uid, 4294967294u);
	PARSE_OK("stat", "-i", "rec.td", "--user", "daemon");
	assert_false(opts.user_ids);
	assert_string_equal(opts.user, "daemon");
	PARSE_OK("record", "-o", "x.td");
	assert_false(opts.user_ids);
	assert_null(opts.user);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(PARSE("trace", "--user", bad[i].v), TD_EXIT_USAGE);
		assert_string_equal(err, bad[i].msg);
	}
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	assert_int_equal(PARSE("trace", "--user", longname), TD_EXIT_USAGE);
	assert_string_equal(err, "invalid user name in --user: longer than 255 characters");
	assert_int_equal(PARSE("check", "--user", "nobody"), TD_EXIT_USAGE);
}

static void test_every_option(void **state)
{
	PARSE_OK("trace", "-4", "-L", "80,443,8000-8100", "-R", "9000", "--laddr", "10.1.2.3/8",
		 "--raddr", "127.0.0.1,192.168.0.0/16", "-p", "1,2", "-c", "nginx,curl", "-s",
		 "time-wait,CLOSE_WAIT", "-m", "250us", "-N", "4026531840", "-C",
		 "/sys/fs/cgroup/system.slice", "-d", "1.5s", "-j", "-v", "-v", "--max-conns", "16",
		 "--stuck", "CLOSE_WAIT=30s", "--latency", "10s", "--ringbuf-size", "1G",
		 "--backend", "tracepoint", "--buffer", "perf", "--no-seed", "--no-timewait");
	assert_int_equal(opts.cmd, TD_CMD_TRACE);
	assert_int_equal(opts.family, 4);
	assert_true(opts.lports.any && port_set(&opts.lports, 8050) &&
		    port_count(&opts.lports) == 103);
	assert_true(opts.rports.any && port_set(&opts.rports, 9000) &&
		    port_count(&opts.rports) == 1);
	assert_int_equal(opts.laddrs.n, 1);
	assert_int_equal(opts.laddrs.v[0].addr[0], 10);
	assert_int_equal(opts.laddrs.v[0].addr[1], 0);
	assert_int_equal(opts.raddrs.n, 2);
	assert_int_equal(opts.npids, 2);
	assert_int_equal(opts.ncomms, 2);
	assert_string_equal(opts.comms[1], "curl");
	assert_int_equal(opts.states, (1u << TD_TIME_WAIT) | (1u << TD_CLOSE_WAIT));
	assert_int_equal(opts.min_ns, 250 * US);
	assert_int_equal(opts.netns, 4026531840u);
	assert_string_equal(opts.cgroup_path, "/sys/fs/cgroup/system.slice");
	assert_int_equal(opts.duration_ns, 1500 * MS);
	assert_true(opts.json);
	assert_int_equal(opts.verbose, 2);
	assert_int_equal(opts.max_conns, 16);
	assert_int_equal(opts.stuck_ns[TD_CLOSE_WAIT], 30 * SEC);
	assert_int_equal(opts.latency_ns, 10 * SEC);
	assert_int_equal(opts.ringbuf_bytes, 1u << 30);
	assert_int_equal(opts.backend, TD_BACKEND_TRACEPOINT);
	assert_int_equal(opts.buffer, TD_BUFFER_PERF);
	assert_true(opts.no_seed);
	assert_true(opts.no_timewait);

	/* The same through long names and "=" */
	PARSE_OK("--lport=80", "--rport=443", "--pid=7", "--comm=sshd", "--state=LISTEN",
		 "--min=1m", "--netns=1", "--cgroup=/x", "--duration=2h", "--json", "--verbose",
		 "--max-conns=100000000", "--latency=0", "--ringbuf-size=4096", "--backend=tp_btf",
		 "--buffer=ring", "-6");
	assert_true(port_set(&opts.lports, 80) && port_count(&opts.lports) == 1);
	assert_true(port_set(&opts.rports, 443));
	assert_int_equal(opts.pids[0], 7);
	assert_string_equal(opts.comms[0], "sshd");
	assert_int_equal(opts.states, 1u << TD_LISTEN);
	assert_int_equal(opts.min_ns, 60 * SEC);
	assert_int_equal(opts.netns, 1);
	assert_string_equal(opts.cgroup_path, "/x");
	assert_int_equal(opts.duration_ns, 7200 * SEC);
	assert_int_equal(opts.verbose, 1);
	assert_int_equal(opts.max_conns, 100000000);
	assert_int_equal(opts.latency_ns, 0);
	assert_int_equal(opts.ringbuf_bytes, 4096);
	assert_int_equal(opts.backend, TD_BACKEND_TP_BTF);
	assert_int_equal(opts.buffer, TD_BUFFER_RING);
	assert_int_equal(opts.family, 6);

	/* Attached short values, clusters, repeats */
	PARSE_OK("serve", "--reconcile", "2s");
	assert_int_equal(opts.reconcile_ns, 2 * SEC);
	PARSE_OK("--reconcile", "0");
	assert_int_equal(opts.reconcile_ns, 0);
	PARSE_OK("-L80", "-jvv", "-4", "-4", "-vL", "443", "--latency", "1ms");
	assert_true(port_set(&opts.lports, 80) && port_set(&opts.lports, 443));
	assert_true(opts.json);
	assert_int_equal(opts.verbose, 3);
	assert_int_equal(opts.family, 4);
	assert_int_equal(opts.latency_ns, 1 * MS);

	/* glibc accepts an unambiguous prefix of a long name */
	PARSE_OK("--max=1000", "--ring", "64K", "--no-s");
	assert_int_equal(opts.max_conns, 1000);
	assert_int_equal(opts.ringbuf_bytes, 65536);
	assert_true(opts.no_seed);

	/* A value that looks like an option is still the value of a required argument. */
	PARSE_OK("-c", "-j");
	assert_string_equal(opts.comms[0], "-j");
	assert_false(opts.json);
}

static void test_command_specific_options(void **state)
{
	PARSE_OK("stat", "--interval", "10s", "--by", "lport", "--hist", "-j", "-i", "rec.td");
	assert_int_equal(opts.interval_ns, 10 * SEC);
	assert_int_equal(opts.by, TD_BY_LPORT);
	assert_true(opts.hist);
	assert_string_equal(opts.input, "rec.td");
	PARSE_OK("stat", "--by", "rport");
	assert_int_equal(opts.by, TD_BY_RPORT);
	PARSE_OK("stat", "--by", "raddr");
	assert_int_equal(opts.by, TD_BY_RADDR);
	PARSE_OK("stat", "--by", "comm");
	assert_int_equal(opts.by, TD_BY_COMM);

	PARSE_OK("stat", "--interval", "24h");
	assert_int_equal(opts.interval_ns, 24 * 3600 * SEC);
	PARSE_OK("stat", "--interval", "1ns");
	assert_int_equal(opts.interval_ns, 1);
	PARSE_OK("top", "--interval", "500ms", "--stuck", "SYN_SENT=3s", "-i", "f");
	assert_int_equal(opts.interval_ns, 500 * MS);
	assert_int_equal(opts.stuck_ns[TD_SYN_SENT], 3 * SEC);

	PARSE_OK("serve", "--listen", "127.0.0.1:9877", "--interval", "15s", "--by", "lport",
		 "--stuck", "CLOSE_WAIT=30s,SYN_SENT=3s", "-L", "8080");
	assert_string_equal(opts.listen, "127.0.0.1:9877");
	assert_int_equal(opts.by, TD_BY_LPORT);
	PARSE_OK("serve", "--listen", "[::1]:9877");
	assert_string_equal(opts.listen, "[::1]:9877");
	PARSE_OK("serve", "--listen", ":9877");
	PARSE_OK("serve", "--listen", "0.0.0.0:65535");

	PARSE_OK("timeline", "--stuck", "CLOSE_WAIT=1s", "-s", "CLOSE_WAIT", "-m", "1s", "-j");
	PARSE_OK("record", "-o", "out.td", "-d", "5m", "-L", "80", "--ringbuf-size", "16M");
	assert_string_equal(opts.output, "out.td");
	PARSE_OK("doctor", "-i", "out.td", "-j");
	PARSE_OK("doctor", "-d", "30s");

	/* timeline views: --format, --pair, -o */
	PARSE_OK("timeline", "--format", "perfetto", "-o", "t.json");
	assert_true(opts.perfetto);
	assert_false(opts.json);
	assert_string_equal(opts.output, "t.json");
	PARSE_OK("timeline", "--format", "perfetto");
	assert_true(opts.perfetto);
	assert_null(opts.output);
	PARSE_OK("timeline", "--format", "json", "-o", "-");
	assert_true(opts.json);
	assert_false(opts.perfetto);
	PARSE_OK("timeline", "-j", "--format", "text");
	assert_false(opts.json);
	PARSE_OK("trace", "--format", "json");
	assert_true(opts.json);
	PARSE_OK("stat", "--format", "text");
	assert_false(opts.json);
	PARSE_OK("timeline", "--pair", "-j", "-o", "p.json");
	assert_true(opts.pair);
	assert_true(opts.json);
	PARSE_OK("timeline");
	assert_false(opts.pair);
	assert_false(opts.perfetto);
	assert_false(opts.force);
	/* --force: -o and -w may replace a file */
	PARSE_OK("record", "-o", "r.tdr", "--force");
	assert_true(opts.force);
	PARSE_OK("timeline", "--force", "-o", "t.txt", "-w", "t.tdr");
	assert_true(opts.force);
	PARSE_OK("stat", "-w", "s.tdr", "--force");
	PARSE_OK("doctor", "-w", "d.tdr", "--force");
	PARSE_OK("timeline", "-i", "in.tdr", "-o", "t.txt", "--force");
	PARSE_OK("check", "--backend", "tracepoint", "--buffer", "perf", "-v");
	PARSE_OK("check", "--ringbuf-size", "8M");
	PARSE_OK("trace", "--buffer", "slots");
	assert_int_equal(opts.buffer, TD_BUFFER_SLOTS);
	PARSE_OK("trace", "--buffer", "ring");
	assert_int_equal(opts.buffer, TD_BUFFER_RING);
}

static void test_help_and_version(void **state)
{
	assert_int_equal(PARSE("-h"), CLI_HELP);
	assert_int_equal(PARSE("--help"), CLI_HELP);
	assert_int_equal(PARSE("stat", "--help"), CLI_HELP);
	assert_int_equal(PARSE("serve", "-h", "-j"), CLI_HELP);
	assert_int_equal(PARSE("-V"), CLI_VERSION);
	assert_int_equal(PARSE("--version"), CLI_VERSION);
	assert_int_equal(PARSE("top", "-V"), CLI_VERSION);
	/* Options are read in order: an error before -h is still an error. */
	assert_int_equal(PARSE("-L", "70000", "-h"), TD_EXIT_USAGE);
	assert_int_equal(PARSE("serve", "-j", "-h"), TD_EXIT_USAGE);
}

/*
 * Bad command lines: each must give TD_EXIT_USAGE and one line that contains the bad
 * value (want) and, where given, the option or command it was for (also).
 */
static const struct {
	struct cmdline cl;
	const char *want;
	const char *also;
} bad_lines[] = {
	/* values */
	{ { { "-L", "70000" } }, "'70000'", "--lport" },
	{ { { "--lport", "80,,443" } }, "'80,,443'", "--lport" },
	{ { { "-L", "9000-8000" } }, "'9000-8000'", "--lport" },
	{ { { "-L", "http" } }, "'http'", "--lport" },
	{ { { "-L", "-1" } }, "'-1'", "--lport" },
	{ { { "-L", "" } }, "''", "--lport" },
	{ { { "-R", "65536" } }, "'65536'", "--rport" },
	{ { { "--rport=99999999999999999999" } }, "'99999999999999999999'", "--rport" },
	{ { { "--laddr", "10.0.0.0/33" } }, "'10.0.0.0/33'", "--laddr" },
	{ { { "--raddr", "300.1.1.1" } }, "'300.1.1.1'", "--raddr" },
	{ { { "--raddr", "::1/129" } }, "'::1/129'", "--raddr" },
	{ { { "--laddr", "localhost" } }, "'localhost'", "--laddr" },
	{ { { "--laddr", "10.0.0.0/8/8" } }, "'10.0.0.0/8/8'", "--laddr" },
	{ { { "-p", "0" } }, "'0'", "--pid" },
	{ { { "-p", "4194305" } }, "'4194305'", "--pid" },
	{ { { "--pid", "abc" } }, "'abc'", "--pid" },
	{ { { "-c", "averyveryverylongname" } }, "'averyveryverylongname'", "--comm" },
	{ { { "-c", "" } }, "''", "--comm" },
	{ { { "-s", "FOO" } }, "'FOO'", "--state" },
	{ { { "--state", "TIMED_WAIT" } }, "'TIMED_WAIT'", "--state" },
	{ { { "-s", "LISTEN,,CLOSE" } }, "'LISTEN,,CLOSE'", "--state" },
	{ { { "-m", "5x" } }, "'5x'", "--min" },
	{ { { "-m", "-1s" } }, "'-1s'", "--min" },
	{ { { "-m", "" } }, "''", "--min" },
	{ { { "--min", "0" } }, "'0'", "--min" },
	{ { { "-m", "99999999999999h" } }, "'99999999999999h'", "--min" },
	{ { { "-d", "forever" } }, "'forever'", "--duration" },
	{ { { "-N", "0" } }, "'0'", "--netns" },
	{ { { "-N", "4294967296" } }, "'4294967296'", "--netns" },
	{ { { "--netns", "-5" } }, "'-5'", "--netns" },
	{ { { "-C", "" } }, "''", "--cgroup" },
	{ { { "--max-conns", "15" } }, "'15'", "--max-conns" },
	{ { { "--max-conns", "100000001" } }, "'100000001'", "--max-conns" },
	{ { { "--max-conns", "1e6" } }, "'1e6'", "--max-conns" },
	{ { { "--latency", "11s" } }, "'11s'", "--latency" },
	{ { { "--latency", "500us" } }, "'500us'", "--latency" },
	{ { { "--latency", "-1ms" } }, "'-1ms'", "--latency" },
	{ { { "--reconcile", "500ms" } },
	  "invalid duration '500ms' in --reconcile: must be 0 or 1s-24h" },
	{ { { "--reconcile", "25h" } }, "'25h'", "--reconcile" },
	{ { { "record", "--reconcile", "5s" } }, "--reconcile", "record" },
	{ { { "--ringbuf-size", "3000" } }, "'3000'", "--ringbuf-size" },
	{ { { "--ringbuf-size", "2048" } }, "'2048'", "--ringbuf-size" },
	{ { { "--ringbuf-size", "2G" } }, "'2G'", "--ringbuf-size" },
	{ { { "--ringbuf-size", "12K" } }, "'12K'", "--ringbuf-size" },
	{ { { "--ringbuf-size", "8X" } }, "'8X'", "--ringbuf-size" },
	{ { { "--backend", "kprobe" } }, "'kprobe'", "--backend" },
	{ { { "--buffer", "mmap" } }, "'mmap'", "--buffer" },
	{ { { "stat", "--by", "pid" } }, "'pid'", "--by" },
	{ { { "serve", "--by", "rport" } }, "'rport'", "--by" },
	{ { { "stat", "--interval", "0" } }, "'0'", "--interval" },
	{ { { "top", "--interval", "1q" } }, "'1q'", "--interval" },
	{ { { "stat", "--interval", "86400.000000001s" } }, "'86400.000000001s'", "at most 24h" },
	{ { { "stat", "--interval", "18446744073s" } }, "'18446744073s'", "at most 24h" },
	{ { { "serve", "--interval", "100000h" } }, "'100000h'", "at most 24h" },
	{ { { "--stuck", "CLOSE_WAIT" } }, "'CLOSE_WAIT'", "--stuck" },
	{ { { "--stuck", "FOO=1s" } }, "'FOO'", "--stuck" },
	{ { { "--stuck", "CLOSE_WAIT=5x" } }, "'5x'", "--stuck" },
	{ { { "serve", "--listen", "127.0.0.1" } }, "'127.0.0.1'", "--listen" },
	{ { { "serve", "--listen", "127.0.0.1:0" } }, "'127.0.0.1:0'", "--listen" },
	{ { { "serve", "--listen", "localhost:9877" } }, "'localhost:9877'", "--listen" },
	{ { { "serve", "--listen", "[::1:9877" } }, "'[::1:9877'", "--listen" },
	{ { { "serve", "--listen", "::1:9877" } }, "'::1:9877'", "--listen" },
	{ { { "serve", "--listen", "1.2.3.4:70000" } }, "'1.2.3.4:70000'", "--listen" },
	{ { { "-i", "" } }, "''", "--input" },
	{ { { "record", "-o", "" } }, "''", "--output" },
	/* commands, options, arguments */
	{ { { "bogus" } }, "'bogus'", "command" },
	{ { { "Trace" } }, "'Trace'", "command" },
	{ { { "" } }, "''", "command" },
	{ { { "--bogus" } }, "'--bogus'", "unknown option" },
	{ { { "--bogus=1" } }, "'--bogus'", "unknown option" },
	{ { { "-x" } }, "'-x'", "unknown option" },
	{ { { "-jx" } }, "'-x'", "unknown option" },
	{ { { "stat", "-Z" } }, "'-Z'", "unknown option" },
	{ { { "--l", "80" } }, "'--l'", "ambiguous" },
	{ { { "-L" } }, "--lport", "needs a value" },
	{ { { "trace", "--laddr" } }, "--laddr", "needs a value" },
	{ { { "-j", "--min" } }, "--min", "needs a value" },
	{ { { "--json=1" } }, "'--json=1'", "--json" },
	{ { { "--hist=yes" } }, "'--hist=yes'", "--hist" },
	{ { { "trace", "extra" } }, "'extra'", "unexpected argument" },
	{ { { "-j", "stat" } }, "'stat'", "command comes first" },
	{ { { "stat", "top" } }, "'top'", "command comes first" },
	{ { { "-L", "80", "--", "x" } }, "'x'", "unexpected argument" },
	/* conflicts and options a command does not take */
	{ { { "-4", "-6" } }, "-4", "-6" },
	{ { { "-6", "-4" } }, "-4", "-6" },
	{ { { "-4", "--laddr", "::1" } }, "'::1'", "-4" },
	{ { { "--raddr", "10.0.0.0/8,2001:db8::5/32", "-4" } },
	  "'10.0.0.0/8,2001:db8::5/32'",
	  "-4" },
	{ { { "--laddr", "10.0.0.0/8", "--laddr", "::/0", "-4" } }, "'::/0'", "--laddr" },
	{ { { "--hist" } }, "--hist", "'trace'" },
	{ { { "timeline", "--hist" } }, "--hist", "'timeline'" },
	{ { { "--by", "lport" } }, "--by", "'trace'" },
	{ { { "trace", "--interval", "1s" } }, "--interval", "'trace'" },
	{ { { "timeline", "--interval", "1s" } }, "--interval", "'timeline'" },
	{ { { "stat", "--listen", ":9877" } }, "--listen", "'stat'" },
	{ { { "stat", "--stuck", "CLOSE_WAIT=1s" } }, "--stuck", "'stat'" },
	{ { { "doctor", "--stuck", "CLOSE_WAIT=1s" } }, "--stuck", "'doctor'" },
	{ { { "-o", "out" } }, "--output", "'trace'" },
	{ { { "stat", "-o", "out" } }, "--output", "'stat'" },
	{ { { "timeline", "--format", "xml" } }, "'xml'", "--format" },
	{ { { "trace", "--format", "perfetto" } }, "'perfetto'", "--format" },
	{ { { "timeline", "--format" } }, "--format", "FORMAT" },
	{ { { "trace", "--pair" } }, "--pair", "'trace'" },
	{ { { "timeline", "--pair", "--format", "perfetto" } }, "--pair", "perfetto" },
	{ { { "record" } }, "'record'", "-o FILE" },
	{ { { "record", "-i", "in", "-o", "out" } }, "--input", "'record'" },
	{ { { "serve", "-i", "in" } }, "--input", "'serve'" },
	{ { { "check", "-L", "80" } }, "--lport", "'check'" },
	{ { { "check", "-d", "1s" } }, "--duration", "'check'" },
	{ { { "top", "-j" } }, "--json", "'top'" },
	{ { { "serve", "-j" } }, "--json", "'serve'" },
	{ { { "record", "-o", "f", "-s", "LISTEN" } }, "--state", "'record'" },
	{ { { "record", "-o", "f", "--max-conns", "100" } }, "--max-conns", "'record'" },
	{ { { "-i", "rec.td", "--backend", "tp_btf" } }, "--backend", "'rec.td'" },
	{ { { "stat", "-i", "rec.td", "--ringbuf-size", "4M" } }, "--ringbuf-size", "'rec.td'" },
	{ { { "--latency", "1s", "-i", "rec.td" } }, "--latency", "'rec.td'" },
	{ { { "--reconcile", "1s", "-i", "rec.td" } }, "--reconcile", "'rec.td'" },
	{ { { "-i", "rec.td", "-C", "/sys/fs/cgroup" } }, "--cgroup", "'rec.td'" },
	{ { { "-i", "rec.td", "--no-seed" } }, "--no-seed", "'rec.td'" },
	{ { { "-i", "rec.td", "--no-timewait" } }, "--no-timewait", "'rec.td'" },
	{ { { "check", "--no-timewait" } }, "--no-timewait", "'check'" },
	{ { { "trace", "--force" } }, "--force", "-o FILE or -w FILE" },
	{ { { "timeline", "-o", "-", "--force" } }, "--force", "-o FILE or -w FILE" },
	{ { { "check", "--force" } }, "--force", "'check'" },
	{ { { "timeline", "-o", "t", "-w", "t" } }, "'t'", "the same file" },
	/* a control character in a value does not break the line */
	{ { { "-L", "80\n81" } }, "'80?81'", "--lport" },
	{ { { "-s", "\033[2J" } }, "'?[2J'", "--state" },
};

static void test_bad_command_lines(void **state)
{
	assert_true(ARRAY_SIZE(bad_lines) >= 30);
	for (size_t i = 0; i < ARRAY_SIZE(bad_lines); i++) {
		const char *const *args = bad_lines[i].cl.args;
		int r = parse_args(args);

		if (r != TD_EXIT_USAGE)
			fail_msg("#%zu %s: expected %d, got %d (err: %s)", i, joined(args),
				 TD_EXIT_USAGE, r, err);
		if (!err[0] || strchr(err, '\n') || strlen(err) >= sizeof(err) - 1)
			fail_msg("#%zu %s: not one line: \"%s\"", i, joined(args), err);
		if (!strstr(err, bad_lines[i].want))
			fail_msg("#%zu %s: expected the message to contain \"%s\", got \"%s\"", i,
				 joined(args), bad_lines[i].want, err);
		if (bad_lines[i].also && !strstr(err, bad_lines[i].also))
			fail_msg("#%zu %s: expected the message to contain \"%s\", got \"%s\"", i,
				 joined(args), bad_lines[i].also, err);
	}
}

/* The exact wording of the examples in the specification. */
static void test_spec_messages(void **state)
{
	assert_int_equal(PARSE("-L", "70000"), TD_EXIT_USAGE);
	assert_string_equal(err, "invalid port '70000' in --lport: must be 0-65535");
	assert_int_equal(PARSE("--state", "FOO"), TD_EXIT_USAGE);
	assert_string_equal(err, "unknown state 'FOO' in --state");
	assert_int_equal(PARSE("--min", "5x"), TD_EXIT_USAGE);
	assert_string_equal(err, "invalid duration '5x' in --min: unknown unit 'x'");
	assert_int_equal(PARSE("--laddr", "10.0.0.0/33"), TD_EXIT_USAGE);
	assert_string_equal(err, "invalid CIDR '10.0.0.0/33' in --laddr: prefix must be 0-32");
	assert_int_equal(PARSE("-4", "-6"), TD_EXIT_USAGE);
	assert_string_equal(err, "options -4 and -6 conflict: give one of them");
	assert_int_equal(PARSE("-4", "--raddr", "10.0.0.0/8,::1"), TD_EXIT_USAGE);
	assert_string_equal(err, "invalid CIDR '10.0.0.0/8,::1' in --raddr: an IPv6 prefix "
				 "conflicts with -4");
	/* -6 with an IPv4 prefix is fine: it matches IPv4-mapped addresses. */
	PARSE_OK("-6", "--raddr", "10.0.0.0/8");
	assert_int_equal(PARSE("stat", "--hist", "--listen", ":1"), TD_EXIT_USAGE);
	assert_string_equal(err, "option --listen does not apply to 'stat' (only to serve)");
	assert_int_equal(PARSE("serve", "-m", "1s"), TD_EXIT_USAGE);
	assert_string_equal(err, "option --min does not apply to 'serve' (only to trace and "
				 "timeline)");
	assert_int_equal(PARSE("--interval", "1s"), TD_EXIT_USAGE);
	assert_string_equal(
		err, "option --interval does not apply to 'trace' (only to stat, top and serve)");
	/* trace and the other views trace accepts always: --accept is stat's and serve's */
	assert_int_equal(PARSE("timeline", "--accept"), TD_EXIT_USAGE);
	assert_string_equal(err,
			    "option --accept does not apply to 'timeline' (only to stat and serve)");
	assert_int_equal(PARSE("-L"), TD_EXIT_USAGE);
	assert_string_equal(err, "option --lport needs a value: --lport PORTS");
	assert_int_equal(PARSE("--json=1"), TD_EXIT_USAGE);
	assert_string_equal(err, "option --json takes no value ('--json=1')");
	assert_int_equal(PARSE("--l"), TD_EXIT_USAGE);
	assert_string_equal(
		err, "ambiguous option '--l': could be --lport, --laddr, --latency, --listen");
	assert_int_equal(PARSE("record"), TD_EXIT_USAGE);
	assert_string_equal(err, "command 'record' needs -o FILE");
	assert_int_equal(PARSE("nope"), TD_EXIT_USAGE);
	assert_string_equal(err, "unknown command 'nope': must be trace, timeline, stat, top, "
				 "check, record, doctor or serve");
}

/*
 * getopt keeps state between calls (optind, and the position inside "-jx"): every call
 * must start afresh, after an error in the middle of a cluster too.
 */
static void test_repeated_calls(void **state)
{
	static struct td_options first;
	const char *none[] = { NULL };

	assert_int_equal(parse_args(none), TD_EXIT_OK);
	first = opts;

	PARSE_OK("stat", "-4", "-L", "80", "--laddr", "10.0.0.0/8", "-p", "1", "-c", "x", "-s",
		 "LISTEN", "-N", "5", "-j", "-v", "--interval", "1s", "--by", "comm",
		 "--hist", "--max-conns", "99", "--latency", "0", "--ringbuf-size", "4K");
	assert_int_equal(PARSE("-jx"), TD_EXIT_USAGE);
	assert_int_equal(PARSE("-vL"), TD_EXIT_USAGE);
	assert_int_equal(PARSE("--bogus"), TD_EXIT_USAGE);

	/* Everything back to the defaults. */
	assert_int_equal(parse_args(none), TD_EXIT_OK);
	assert_memory_equal(&opts, &first, sizeof(opts));

	/* An error in the middle of a cluster leaves "j" pending inside getopt. */
	assert_int_equal(PARSE("-xj"), TD_EXIT_USAGE);
	assert_string_equal(err, "unknown option '-x'");
	PARSE_OK("-L", "22");
	assert_false(opts.json);

	/* And options parse normally again, from the first argument. */
	for (int round = 0; round < 3; round++) {
		PARSE_OK("-v", "-L", "22");
		assert_int_equal(opts.verbose, 1);
		assert_int_equal(port_count(&opts.lports), 1);
		assert_true(port_set(&opts.lports, 22));
		assert_int_equal(PARSE("-vx"), TD_EXIT_USAGE);
		assert_string_equal(err, "unknown option '-x'");
	}
}

/* argv is the caller's: parsing neither reorders nor writes it. */
static void test_argv_untouched(void **state)
{
	char a0[] = "tcpdwell", a1[] = "stat", a2[] = "-L", a3[] = "80", a4[] = "--hist",
	     a5[] = "-C", a6[] = "/cg", a7[] = "-i", a8[] = "f";
	char *argv[] = { a0, a1, a2, a3, a4, a5, a6, a7, a8, NULL };
	char *copy[ARRAY_SIZE(argv)];

	memcpy(copy, argv, sizeof(argv));
	/* -C with -i is refused, but only after the whole line was read. */
	assert_int_equal(cli__parse(9, argv, &opts, err, sizeof(err)), TD_EXIT_USAGE);
	assert_memory_equal(copy, argv, sizeof(argv));
	assert_int_equal(cli__parse(7, argv, &opts, err, sizeof(err)), TD_EXIT_OK);
	assert_memory_equal(copy, argv, sizeof(argv));
	assert_string_equal(a2, "-L");
	assert_string_equal(a3, "80");
	/* String options point into argv, as documented. */
	assert_ptr_equal(opts.cgroup_path, a6);

	/* A stray word before more options: refused, and argv not permuted either. */
	char b0[] = "tcpdwell", b1[] = "-L", b2[] = "80", b3[] = "extra", b4[] = "-j";
	char *argv2[] = { b0, b1, b2, b3, b4, NULL };
	char *copy2[ARRAY_SIZE(argv2)];

	memcpy(copy2, argv2, sizeof(argv2));
	assert_int_equal(cli__parse(5, argv2, &opts, err, sizeof(err)), TD_EXIT_USAGE);
	assert_string_equal(err, "unexpected argument 'extra'");
	assert_memory_equal(copy2, argv2, sizeof(argv2));
}

static void test_usage_text(void **state)
{
	static const char *const must[] = {
		"Usage: tcpdwell [COMMAND] [OPTIONS]",
		"trace",
		"timeline",
		"stat",
		"top",
		"check",
		"record",
		"doctor",
		"serve",
		"-4, -6",
		"-L, --lport PORTS",
		"-R, --rport PORTS",
		"--laddr CIDR",
		"--raddr CIDR",
		"-p, --pid PIDS",
		"-c, --comm NAMES",
		"-s, --state STATES",
		"-m, --min DURATION",
		"-N, --netns INODE",
		"-C, --cgroup PATH",
		"-d, --duration DURATION",
		"-j, --json",
		"-v, --verbose",
		"-h, --help",
		"-V, --version",
		"--interval DURATION",
		"--by KEY",
		"--hist",
		"--max-conns N",
		"default 262144",
		"--stuck STATE=DURATION",
		"--latency DURATION",
		"default 100ms",
		"--ringbuf-size BYTES",
		"default 8M",
		"--backend NAME",
		"--buffer NAME",
		"-i, --input FILE",
		"-o, --output FILE",
		"--listen ADDR:PORT",
		"default 127.0.0.1:9877",
		"--no-seed",
		"--no-timewait",
		"--pod NS/NAME",
		"--container NAME|ID",
		"--pods-dir DIR",
		"Exit status: 0 success; 1 runtime failure",
		"2 bad usage",
		"Examples:",
	};
	const char *u = cli__usage(), *line;

	assert_non_null(u);
	for (size_t i = 0; i < ARRAY_SIZE(must); i++)
		if (!strstr(u, must[i]))
			fail_msg("help text lacks \"%s\"", must[i]);
	assert_int_equal(u[strlen(u) - 1], '\n');
	assert_null(strchr(u, '\t'));
	for (line = u; *line;) {
		const char *nl = strchr(line, '\n');

		assert_non_null(nl);
		if (nl - line > 80)
			fail_msg("help line longer than 80 columns (%d): %.*s", (int)(nl - line),
				 (int)(nl - line), line);
		if (nl > line && nl[-1] == ' ')
			fail_msg("help line with trailing space: %.*s", (int)(nl - line), line);
		line = nl + 1;
	}
}

/* A bad value with a newline or an escape in it: still a one-line message, from
 * doctor's --threshold (worded in doctor.c) as from the rest. */
static void test_message_control_bytes(void **state)
{
	(void)state;
	assert_int_equal(PARSE("trace", "--lport", "80\n81"), TD_EXIT_USAGE);
	assert_non_null(strstr(err, "'80?81'"));
	assert_int_equal(PARSE("doctor", "--threshold", "close-\nwait=1s"), TD_EXIT_USAGE);
	assert_null(strchr(err, '\n'));
	assert_non_null(strstr(err, "close-?wait"));
	assert_int_equal(PARSE("doctor", "--threshold", "close-wait=1\x1b[2J"), TD_EXIT_USAGE);
	assert_null(strchr(err, 0x1b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ports_good),
		cmocka_unit_test(test_message_control_bytes),
		cmocka_unit_test(test_ports_bad),
		cmocka_unit_test(test_duration_good),
		cmocka_unit_test(test_duration_bad),
		cmocka_unit_test(test_cidrs_good),
		cmocka_unit_test(test_cidrs_lists_add_up_to_the_limit),
		cmocka_unit_test(test_cidrs_bad),
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_pids),
		cmocka_unit_test(test_comms),
		cmocka_unit_test(test_stuck),
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_small_error_buffer),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_owners),
		cmocka_unit_test(test_conn_info),
		cmocka_unit_test(test_cgroup_names),
		cmocka_unit_test(test_every_option),
		cmocka_unit_test(test_command_specific_options),
		cmocka_unit_test(test_help_and_version),
		cmocka_unit_test(test_bad_command_lines),
		cmocka_unit_test(test_spec_messages),
		cmocka_unit_test(test_repeated_calls),
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_argv_untouched),
		cmocka_unit_test(test_usage_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
