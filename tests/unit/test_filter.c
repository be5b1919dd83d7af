// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of tcpdwell's filters (user/core/filter.c) on synthetic connections: every
 * connection filter alone and combined, prefix matching at and off byte boundaries,
 * IPv4 prefixes against IPv4-mapped IPv6 addresses, the provisional matches of a tuple
 * not known yet, owners, and the transition and timeline selections. The options are
 * built by cli__parse() from real command lines.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "cli.h"
#include "filter.h"
#include "names.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define MS  1000000ULL
#define SEC 1000000000ULL

static struct td_options opts;

/* Options from "tcpdwell ARGS..."; the command line must be valid. */
static const struct td_options *options_from(const char *const *args)
{
	char *argv[32] = { (char *)"tcpdwell" };
	char err[256];
	int argc = 1, r;

	for (int i = 0; args[i]; i++)
		argv[argc++] = (char *)args[i];
	r = cli__parse(argc, argv, &opts, err, sizeof(err));
	if (r != TD_EXIT_OK)
		fail_msg("cli__parse: expected %d, got %d: %s", TD_EXIT_OK, r, err);
	return &opts;
}

#define OPTS(...) options_from((const char *const[]){ __VA_ARGS__, NULL })
#define NO_OPTS() options_from((const char *const[]){ NULL })

/* An established connection laddr:lport -> raddr:rport, owned by pid/comm. */
static struct conn mkconn(int family, const char *laddr, uint16_t lport, const char *raddr,
			  uint16_t rport)
{
	return fixture__conn(&(struct fixture_conn){
		.family = family, .laddr = laddr, .lport = lport, .raddr = raddr, .rport = rport,
		.role = CT_ROLE_PASSIVE, .state = TD_ESTABLISHED, .pid = 1234, .comm = "nginx",
		.cookie = 4242, .netns = 4026531840u });
}

static struct conn v4(void)
{
	return mkconn(4, "10.1.2.3", 8080, "192.168.7.9", 51000);
}

static struct conn v6(void)
{
	return mkconn(6, "2001:db8::10", 8080, "2001:db8:1::20", 51000);
}

/* An IPv4 peer of a dual-stack AF_INET6 socket. */
static struct conn mapped(void)
{
	return mkconn(6, "::ffff:10.1.2.3", 8080, "::ffff:192.168.7.9", 51000);
}

/* Shown, or not shown (rejected or hidden); and the exact verdicts. */
#define MATCH(o, c)	 assert_int_equal(filter__conn((o), &(c)), CT_SELECT)
#define NO_MATCH(o, c)                                                                             \
	assert_true(filter__conn((o), &(c)) == CT_REJECT || filter__conn((o), &(c)) == CT_HIDE)
#define REJECTS(o, c)	 assert_int_equal(filter__conn((o), &(c)), CT_REJECT)
#define HIDES(o, c)	 assert_int_equal(filter__conn((o), &(c)), CT_HIDE)
#define UNDECIDED(o, c) assert_int_equal(filter__conn((o), &(c)), CT_UNDECIDED)

static void test_no_filter_matches_everything(void **state)
{
	const struct td_options *o = NO_OPTS();
	struct conn a = v4(), b = v6(), m = mapped();

	MATCH(o, a);
	MATCH(o, b);
	MATCH(o, m);
	a.pid = 0; /* no owner known */
	MATCH(o, a);
}

/* filter__selects_all() lets the table skip the filters: true only when no connection
 * filter is given, and then filter__conn() selects whatever the connection is. */
static void test_selects_all(void **state)
{
	static const char *const one[][3] = {
		{ "-4" },		 { "-6" },		  { "-L", "80" },
		{ "-R", "443" },	 { "--laddr", "10.0.0.0/8" }, { "--raddr", "::1/128" },
		{ "-p", "1" },		 { "-c", "nginx" },	  { "-N", "4026531840" },
	};
	const struct td_options *o = NO_OPTS();
	struct conn a = v4(), partial = v4(), lis = v4();

	assert_true(filter__selects_all(o));
	a.pid = 0;
	MATCH(o, a);
	partial.flags |= CT_F_PARTIAL;
	partial.sport = 0;
	memset(partial.saddr, 0, sizeof(partial.saddr));
	MATCH(o, partial);
	lis.role = CT_ROLE_LISTEN;
	lis.state = TD_LISTEN;
	MATCH(o, lis);
	/* Options that are not connection filters keep it. */
	assert_true(filter__selects_all(OPTS("-s", "CLOSE_WAIT", "-m", "1s")));
	for (size_t i = 0; i < ARRAY_SIZE(one); i++) {
		o = options_from(one[i]);
		if (filter__selects_all(o))
			fail_msg("'%s %s' is a connection filter", one[i][0], one[i][1] ? one[i][1] : "");
	}
	/* --cgroup, without a cgroup directory to resolve here */
	opts = *NO_OPTS();
	opts.cgroup_path = "/sys/fs/cgroup/x";
	assert_false(filter__selects_all(&opts));
}

static void test_family(void **state)
{
	struct conn a = v4(), b = v6(), m = mapped();

	MATCH(OPTS("-4"), a);
	NO_MATCH(OPTS("-4"), b);
	/* The kernel reports a dual-stack socket as family 6, and so does -6. */
	NO_MATCH(OPTS("-4"), m);
	MATCH(OPTS("-6"), b);
	MATCH(OPTS("-6"), m);
	NO_MATCH(OPTS("-6"), a);
}

static void test_ports(void **state)
{
	struct conn c = v4();

	MATCH(OPTS("-L", "8080"), c);
	MATCH(OPTS("-L", "80,8000-8100"), c);
	NO_MATCH(OPTS("-L", "80,443"), c);
	NO_MATCH(OPTS("-L", "51000"), c); /* that is the remote port */
	MATCH(OPTS("-R", "51000"), c);
	MATCH(OPTS("-R", "50000-52000"), c);
	NO_MATCH(OPTS("-R", "8080"), c);
	MATCH(OPTS("-L", "8080", "-R", "51000"), c);
	NO_MATCH(OPTS("-L", "8080", "-R", "51001"), c);
	/* Repeated options add. */
	MATCH(OPTS("-L", "1", "-L", "8080"), c);

	c.sport = 0xffff;
	MATCH(OPTS("-L", "65535"), c);
	NO_MATCH(OPTS("-L", "65534"), c);
	c.sport = 64; /* bitmap word boundary */
	MATCH(OPTS("-L", "64"), c);
	NO_MATCH(OPTS("-L", "63,65"), c);
}

/* CLOSE -> SYN_SENT: the kernel picks the local port after the record. */
static void test_lport_provisional_until_known(void **state)
{
	struct conn c = mkconn(4, "10.1.2.3", 0, "10.9.9.9", 443);

	c.state = TD_SYN_SENT;
	c.role = CT_ROLE_ACTIVE;
	c.flags = CT_F_PARTIAL;
	UNDECIDED(OPTS("-L", "59594"), c);
	UNDECIDED(OPTS("-L", "1-2"), c);
	UNDECIDED(OPTS("-L", "59594", "-R", "443"), c);
	UNDECIDED(OPTS("-L", "59594", "-p", "1"), c); /* the tuple first */
	/* Other filters still decide on what is known: at once. */
	REJECTS(OPTS("-L", "59594", "-R", "80"), c);
	REJECTS(OPTS("-L", "59594", "-6"), c);
	REJECTS(OPTS("-R", "80"), c);
	MATCH(OPTS("-R", "443"), c);
	MATCH(OPTS("--raddr", "10.9.9.9", "--laddr", "10.1.2.3"), c);
	MATCH(NO_OPTS(), c);
	/* Once the port is known the answer is final. */
	c.sport = 59594;
	MATCH(OPTS("-L", "59594"), c);
	c.sport = 59595;
	REJECTS(OPTS("-L", "59594"), c);
	/* The tuple is complete (the connection ended before a port was chosen):
	 * a connection without a local port matches no --lport. */
	c.sport = 0;
	c.flags = 0;
	REJECTS(OPTS("-L", "59594"), c);
	MATCH(OPTS("-R", "443"), c);
}

/*
 * A child whose first record carried its listener's tuple: remote end 0, local address
 * possibly the wildcard. Known parts decide; unknown ones match until the table asks
 * again with the real tuple.
 */
static void test_remote_provisional_until_known(void **state)
{
	struct conn c = mkconn(4, "0.0.0.0", 8080, "0.0.0.0", 0);

	c.state = TD_SYN_RECV;
	c.role = CT_ROLE_PASSIVE;
	c.flags = CT_F_PARTIAL;
	UNDECIDED(OPTS("-R", "51000"), c);
	UNDECIDED(OPTS("--raddr", "192.168.0.0/16"), c);
	UNDECIDED(OPTS("--laddr", "10.0.0.0/8"), c);
	REJECTS(OPTS("-L", "80"), c); /* the local port is known */
	MATCH(OPTS("-L", "8080"), c);
	/* Complete now, and still zero: those are the values. */
	c.flags = 0;
	REJECTS(OPTS("-R", "51000"), c);
	REJECTS(OPTS("--laddr", "10.0.0.0/8"), c);

	c = mkconn(4, "10.1.2.3", 8080, "192.168.7.9", 51000);
	c.state = TD_SYN_RECV;
	NO_MATCH(OPTS("-R", "51001"), c);
	NO_MATCH(OPTS("--raddr", "172.16.0.0/12"), c);
	NO_MATCH(OPTS("--laddr", "10.9.0.0/16"), c);
}

/* A listener has no remote end, and its wildcard address is its real one. */
static void test_listener(void **state)
{
	struct conn l = mkconn(4, "0.0.0.0", 8080, "0.0.0.0", 0);
	struct conn l6 = mkconn(6, "::", 8080, "::", 0);

	l.state = TD_LISTEN;
	l.role = CT_ROLE_LISTEN;
	l6.state = TD_LISTEN;
	l6.role = CT_ROLE_LISTEN;
	MATCH(OPTS("-L", "8080"), l);
	NO_MATCH(OPTS("-L", "8081"), l);
	NO_MATCH(OPTS("-R", "51000"), l);
	MATCH(OPTS("-R", "0"), l);
	NO_MATCH(OPTS("--raddr", "192.168.0.0/16"), l);
	NO_MATCH(OPTS("--laddr", "127.0.0.1"), l);
	MATCH(OPTS("--laddr", "0.0.0.0/0"), l);
	NO_MATCH(OPTS("--laddr", "::1"), l6);
	MATCH(OPTS("--laddr", "::/0"), l6);
	/* A closed listener keeps its role. */
	l.state = TD_CLOSE;
	NO_MATCH(OPTS("-R", "51000"), l);
}

static void test_prefixes_v4(void **state)
{
	struct conn c = v4(); /* 10.1.2.3 -> 192.168.7.9 */

	static const struct {
		const char *cidr;
		bool local, remote; /* matches laddr, raddr */
	} cases[] = {
		{ "10.1.2.3", true, false },
		{ "10.1.2.3/32", true, false },
		{ "10.1.2.2/32", false, false },
		{ "10.1.2.2/31", true, false },
		{ "10.1.2.4/31", false, false },
		{ "10.1.2.0/30", true, false },
		{ "10.1.2.0/24", true, false },
		{ "10.1.3.0/24", false, false },
		{ "10.1.0.0/20", true, false },
		{ "10.1.16.0/20", false, false },
		{ "10.0.0.0/8", true, false },
		{ "10.200.1.1/8", true, false }, /* host bits cleared */
		{ "11.0.0.0/8", false, false },
		{ "0.0.0.0/1", true, false },
		{ "128.0.0.0/1", false, true },
		{ "192.168.7.9", false, true },
		{ "192.168.0.0/16", false, true },
		{ "192.168.7.8/29", false, true },
		{ "192.168.7.0/29", false, false },
		{ "0.0.0.0/0", true, true },
		{ "10.0.0.0/8,192.168.0.0/16", true, true },
		{ "::/0", false, false }, /* an IPv6 prefix never matches family 4 */
		{ "::ffff:10.1.2.3", false, false },
		{ "::ffff:0:0/96", false, false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		bool l = filter__conn(OPTS("--laddr", cases[i].cidr), &c) == CT_SELECT;
		bool r = filter__conn(OPTS("--raddr", cases[i].cidr), &c) == CT_SELECT;

		if (l != cases[i].local || r != cases[i].remote)
			fail_msg("%s vs 10.1.2.3 -> 192.168.7.9: expected laddr %d raddr %d, got "
				 "%d %d",
				 cases[i].cidr, cases[i].local, cases[i].remote, l, r);
	}
}

static void test_prefixes_v6(void **state)
{
	struct conn c = v6(); /* 2001:db8::10 -> 2001:db8:1::20 */

	static const struct {
		const char *cidr;
		bool local, remote;
	} cases[] = {
		{ "2001:db8::10", true, false },
		{ "2001:db8::10/128", true, false },
		{ "2001:db8::11/128", false, false },
		{ "2001:db8::11/127", true, false },
		{ "2001:db8::/64", true, false },
		{ "2001:db8::/48", true, false },
		{ "2001:db8::/47", true, true },
		{ "2001:db8:1::/48", false, true },
		{ "2001:db8:1::20", false, true },
		{ "2001:db8::/32", true, true },
		{ "2001:db9::/32", false, false },
		{ "2001:db8::/29", true, true },
		{ "2001:db0::/28", true, true },
		{ "2001:db0::/29", false, false },
		{ "2001:dc0::/29", false, false },
		{ "::/0", true, true },
		{ "fe80::/10", false, false },
		{ "0.0.0.0/0", false, false }, /* not IPv4-mapped */
		{ "fe80::/10,2001:db8:1::/48", false, true },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		bool l = filter__conn(OPTS("--laddr", cases[i].cidr), &c) == CT_SELECT;
		bool r = filter__conn(OPTS("--raddr", cases[i].cidr), &c) == CT_SELECT;

		if (l != cases[i].local || r != cases[i].remote)
			fail_msg(
				"%s vs 2001:db8::10 -> 2001:db8:1::20: expected laddr %d raddr %d, "
				"got %d %d",
				cases[i].cidr, cases[i].local, cases[i].remote, l, r);
	}
}

/* An IPv4 prefix matches ::ffff:a.b.c.d, and only that form. */
static void test_prefixes_v4_mapped(void **state)
{
	struct conn m = mapped(); /* ::ffff:10.1.2.3 -> ::ffff:192.168.7.9 */
	struct conn compat = mkconn(6, "::10.1.2.3", 8080, "::192.168.7.9", 51000);
	struct conn other = mkconn(6, "64:ff9b::10.1.2.3", 8080, "::ffff:0:192.168.7.9", 51000);

	MATCH(OPTS("--laddr", "10.0.0.0/8"), m);
	MATCH(OPTS("--laddr", "10.1.2.3"), m);
	NO_MATCH(OPTS("--laddr", "10.1.2.4"), m);
	MATCH(OPTS("--raddr", "192.168.7.0/24"), m);
	NO_MATCH(OPTS("--raddr", "10.0.0.0/8"), m);
	MATCH(OPTS("--laddr", "0.0.0.0/0"), m);
	/* The IPv6 spelling of the same prefix works too. */
	MATCH(OPTS("--laddr", "::ffff:10.0.0.0/104"), m);
	MATCH(OPTS("--laddr", "::ffff:0:0/96"), m);
	/* Deprecated IPv4-compatible (::a.b.c.d), NAT64 and SIIT forms are not IPv4. */
	NO_MATCH(OPTS("--laddr", "10.0.0.0/8"), compat);
	NO_MATCH(OPTS("--raddr", "192.168.0.0/16"), compat);
	NO_MATCH(OPTS("--laddr", "10.0.0.0/8"), other);
	NO_MATCH(OPTS("--raddr", "192.168.0.0/16"), other);
	NO_MATCH(OPTS("--laddr", "0.0.0.0/0"), compat);
}

static void test_netns(void **state)
{
	struct conn c = v4();

	MATCH(OPTS("-N", "4026531840"), c);
	NO_MATCH(OPTS("-N", "4026531841"), c);
	c.netns = 0;
	NO_MATCH(OPTS("-N", "4026531840"), c);
}

/* The kernel checks the subtree; a connection whose records never carried the
 * socket's cgroup (timewait timer, seed) is out, and stays out whatever its owner. */
static void test_cgroup(void **state)
{
	struct conn c = v4();

	MATCH(NO_OPTS(), c);
	REJECTS(OPTS("-C", "/sys/fs/cgroup/x"), c);
	c.cgroup = 7781;
	MATCH(OPTS("-C", "/sys/fs/cgroup/x"), c);
	c.pid = 0;
	HIDES(OPTS("-C", "/sys/fs/cgroup/x", "-p", "1234"), c);
}

#define CG_ID1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CG_ID2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define CG_POD                                                                          \
	"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod6f1c2d3e_4a5b_4c6d_" \
	"8e7f_0a1b2c3d4e5f.slice"

/* --pod and --container: by the names of the socket's cgroup; one not named (or no
 * cgroup at all) is in no pod and no container. */
static void test_pod_container(void **state)
{
	static const char a[] = CG_POD "/cri-containerd-" CG_ID1 ".scope";
	static const char d[] = "/system.slice/docker-" CG_ID2 ".scope";
	struct conn c = v4();

	(void)state;
	assert_non_null(cgn__set(501, a, strlen(a), "payments/checkout-7d9f", "app"));
	assert_non_null(cgn__set(502, d, strlen(d), NULL, NULL));
	REJECTS(OPTS("--pod", "payments/checkout-7d9f"), c);
	c.cgroup = 501;
	MATCH(OPTS("--pod", "payments/checkout-7d9f"), c);
	MATCH(OPTS("--pod", "payments/"), c);
	REJECTS(OPTS("--pod", "payments/checkout"), c);
	REJECTS(OPTS("--pod", "pay/"), c);
	MATCH(OPTS("--container", "app"), c);
	MATCH(OPTS("--container", "0123"), c);
	MATCH(OPTS("--container", CG_ID1), c);
	REJECTS(OPTS("--container", "fedc"), c);
	REJECTS(OPTS("--container", "ap"), c);
	MATCH(OPTS("--pod", "payments/checkout-7d9f", "--container", "app"), c);
	REJECTS(OPTS("--pod", "payments/checkout-7d9f", "--container", "web"), c);
	/* A Docker container: an id, no name, no pod. */
	c.cgroup = 502;
	MATCH(OPTS("--container", "fedcba98"), c);
	REJECTS(OPTS("--pod", "payments/"), c);
	/* Named nowhere. */
	c.cgroup = 503;
	REJECTS(OPTS("--container", "fedcba98"), c);
	assert_false(filter__selects_all(OPTS("--pod", "a/")));
	assert_false(filter__selects_all(OPTS("--container", "app")));
	cgn__clear();
}

static void test_owner(void **state)
{
	struct conn c = v4(); /* pid 1234, nginx */

	MATCH(OPTS("-p", "1234"), c);
	MATCH(OPTS("-p", "1,2,1234"), c);
	MATCH(OPTS("-p", "1", "-p", "1234"), c);
	NO_MATCH(OPTS("-p", "1235"), c);
	/* The owner may still change (accept() elsewhere): hidden, not rejected. */
	HIDES(OPTS("-p", "1235"), c);
	HIDES(OPTS("-c", "sshd"), c);
	REJECTS(OPTS("-p", "1234", "-L", "80"), c);
	MATCH(OPTS("-c", "nginx"), c);
	MATCH(OPTS("-c", "sshd,nginx"), c);
	NO_MATCH(OPTS("-c", "ngin"), c); /* whole names, not prefixes */
	NO_MATCH(OPTS("-c", "nginx2"), c);
	NO_MATCH(OPTS("-c", "NGINX"), c);
	MATCH(OPTS("-p", "1234", "-c", "nginx"), c);
	NO_MATCH(OPTS("-p", "1234", "-c", "sshd"), c);
	NO_MATCH(OPTS("-p", "99", "-c", "nginx"), c);

	/* A 15-character name, as the kernel truncates it. */
	conn__set_comm(&c, "a-fifteen-chars");
	MATCH(OPTS("-c", "a-fifteen-chars"), c);
	NO_MATCH(OPTS("-c", "a-fifteen-char"), c);

	/* No owner known (softirq): never matches an owner filter, whatever comm says. */
	c.pid = 0;
	conn__set_comm(&c, "swapper/0");
	NO_MATCH(OPTS("-p", "1"), c);
	NO_MATCH(OPTS("-c", "swapper/0"), c);
	MATCH(OPTS("-L", "8080"), c);
}

static void test_all_filters_together(void **state)
{
	const struct td_options *o =
		OPTS("-4", "-L", "8080", "-R", "50000-52000", "--laddr", "10.0.0.0/8", "--raddr",
		     "192.168.0.0/16", "-p", "1234", "-c", "nginx", "-N", "4026531840");
	struct conn c = v4(), d;

	MATCH(o, c);
	/* Each single difference is enough to reject. */
	d = c;
	d.family = 6;
	NO_MATCH(o, d);
	d = c;
	d.sport = 8081;
	NO_MATCH(o, d);
	d = c;
	d.dport = 52001;
	NO_MATCH(o, d);
	d = c;
	d.saddr[0] = 11;
	NO_MATCH(o, d);
	d = c;
	d.daddr[1] = 169;
	NO_MATCH(o, d);
	d = c;
	d.pid = 1;
	NO_MATCH(o, d);
	d = c;
	conn__set_comm(&d, "curl");
	NO_MATCH(o, d);
	d = c;
	d.netns = 1;
	NO_MATCH(o, d);
	/* Things no filter looks at do not matter. */
	d = c;
	d.cookie = 1;
	d.cgroup = 77;
	d.state = TD_CLOSE_WAIT;
	d.flags = CT_F_INCOMPLETE | CT_F_SEEDED;
	MATCH(o, d);
}

/* --- transitions ----------------------------------------------------------------------- */

static struct ct_transition tr(int old, int new, uint64_t dwell)
{
	struct ct_transition t = { .ts_ns = 5 * SEC, .dwell_ns = dwell };

	t.old = (uint8_t)old;
	t.new = (uint8_t) new;
	return t;
}

static void test_transition(void **state)
{
	struct ct_transition t = tr(TD_ESTABLISHED, TD_CLOSE_WAIT, 3 * SEC);
	struct ct_transition unknown = tr(TD_ESTABLISHED, TD_CLOSE_WAIT, CT_DWELL_UNKNOWN);

	assert_true(filter__transition(NO_OPTS(), &t));
	assert_true(filter__transition(NO_OPTS(), &unknown));

	/* --state: into or out of */
	assert_true(filter__transition(OPTS("-s", "CLOSE_WAIT"), &t));
	assert_true(filter__transition(OPTS("-s", "ESTABLISHED"), &t));
	assert_true(filter__transition(OPTS("-s", "LISTEN,close-wait"), &t));
	assert_false(filter__transition(OPTS("-s", "LAST_ACK"), &t));
	assert_false(filter__transition(OPTS("-s", "TIME_WAIT,SYN_SENT"), &t));

	/* --min: known dwell at least min */
	assert_true(filter__transition(OPTS("-m", "3s"), &t));
	assert_true(filter__transition(OPTS("-m", "2999ms"), &t));
	assert_false(filter__transition(OPTS("-m", "3000000001ns"), &t));
	assert_false(filter__transition(OPTS("-m", "1ns"), &unknown));
	assert_true(filter__transition(OPTS("-s", "CLOSE_WAIT", "-m", "1s"), &t));
	assert_false(filter__transition(OPTS("-s", "CLOSE_WAIT", "-m", "1s"), &unknown));
	assert_false(filter__transition(OPTS("-s", "LISTEN", "-m", "1s"), &t));

	/* A seeded socket's dwell is a lower bound: at or above --min proves enough. */
	t.dwell_lower_bound = 1;
	assert_true(filter__transition(OPTS("-m", "3s"), &t));
	assert_false(filter__transition(OPTS("-m", "4s"), &t));

	/* A zero dwell is a measurement, not "unknown". */
	t = tr(TD_SYN_RECV, TD_ESTABLISHED, 0);
	assert_true(filter__transition(NO_OPTS(), &t));
	assert_true(filter__transition(OPTS("-s", "SYN_RECV"), &t));
	assert_false(filter__transition(OPTS("-m", "1ns"), &t));

	/* Values outside the state mask are in no set (and cause no undefined shift:
	 * 33 would alias ESTABLISHED where the CPU masks the shift count). */
	t = tr(33, 255, SEC);
	assert_false(filter__transition(OPTS("-s", "ESTABLISHED"), &t));
	t = tr(200, 255, SEC);
	assert_false(filter__transition(OPTS("-s", "ESTABLISHED"), &t));
	assert_true(filter__transition(NO_OPTS(), &t));
	t = tr(16, TD_LISTEN, SEC);
	assert_true(filter__transition(OPTS("-s", "LISTEN"), &t));
	assert_false(filter__transition(OPTS("-s", "ESTABLISHED"), &t));
}

/* --- timelines ------------------------------------------------------------------------- */

/* An active client's whole life: SYN_SENT 2 ms, ESTABLISHED 5 s, FIN_WAIT1 1 ms,
 * FIN_WAIT2 40 ms, TIME_WAIT 60 s, CLOSE. */
static struct conn finished_client(void)
{
	static const struct {
		int state;
		uint64_t at;
	} steps[] = {
		{ TD_SYN_SENT, 1000 * SEC },
		{ TD_ESTABLISHED, 1000 * SEC + 2 * MS },
		{ TD_FIN_WAIT1, 1005 * SEC + 2 * MS },
		{ TD_FIN_WAIT2, 1005 * SEC + 3 * MS },
		{ TD_TIME_WAIT, 1005 * SEC + 43 * MS },
		{ TD_CLOSE, 1065 * SEC + 43 * MS },
	};
	struct conn c = mkconn(4, "10.1.2.3", 40000, "10.9.9.9", 443);

	c.role = CT_ROLE_ACTIVE;
	c.state = TD_CLOSE;
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		c.step_state[i] = (uint8_t)steps[i].state;
		c.step_ns[i] = steps[i].at;
	}
	c.nsteps = ARRAY_SIZE(steps);
	c.start_ns = c.step_ns[0];
	c.end_ns = c.step_ns[c.nsteps - 1];
	return c;
}

static void test_timeline(void **state)
{
	struct conn c = finished_client();

	/* The fixture says what it means to. */
	assert_int_equal(conn__step_dwell(&c, 0), 2 * MS);
	assert_int_equal(conn__step_dwell(&c, 1), 5 * SEC);
	assert_int_equal(conn__step_dwell(&c, 4), 60 * SEC);

	assert_true(filter__timeline(NO_OPTS(), &c));
	/* --state alone: it was in the state */
	assert_true(filter__timeline(OPTS("-s", "FIN_WAIT2"), &c));
	assert_true(filter__timeline(OPTS("-s", "time-wait"), &c));
	assert_false(filter__timeline(OPTS("-s", "CLOSE_WAIT"), &c));
	assert_false(filter__timeline(OPTS("-s", "LISTEN,SYN_RECV,LAST_ACK"), &c));
	assert_true(filter__timeline(OPTS("-s", "LISTEN,SYN_SENT"), &c));
	/* --min alone: any state */
	assert_true(filter__timeline(OPTS("-m", "60s"), &c));
	assert_false(filter__timeline(OPTS("-m", "61s"), &c));
	/* both: at least min in one of the states */
	assert_true(filter__timeline(OPTS("-s", "ESTABLISHED", "-m", "5s"), &c));
	assert_false(filter__timeline(OPTS("-s", "ESTABLISHED", "-m", "6s"), &c));
	assert_true(filter__timeline(OPTS("-s", "SYN_SENT", "-m", "2ms"), &c));
	assert_false(filter__timeline(OPTS("-s", "SYN_SENT", "-m", "3ms"), &c));
	assert_true(filter__timeline(OPTS("-s", "SYN_SENT,TIME_WAIT", "-m", "1m"), &c));
	assert_false(filter__timeline(OPTS("-s", "SYN_SENT,FIN_WAIT2", "-m", "1s"), &c));
}

/* Dwell not measured (began before tracing, or a gap): enough for --state, never for
 * --min. */
static void test_timeline_unknown_dwell(void **state)
{
	struct conn c = finished_client();

	c.step_ns[0] = 0; /* entered SYN_SENT at an unknown time */
	c.flags |= CT_F_INCOMPLETE;
	assert_true(conn__step_dwell(&c, 0) == CT_DWELL_UNKNOWN);
	assert_true(filter__timeline(OPTS("-s", "SYN_SENT"), &c));
	assert_false(filter__timeline(OPTS("-s", "SYN_SENT", "-m", "1ns"), &c));
	assert_true(filter__timeline(OPTS("-s", "ESTABLISHED", "-m", "1s"), &c));

	/* A connection with no steps at all */
	memset(&c, 0, sizeof(c));
	assert_true(filter__timeline(NO_OPTS(), &c));
	assert_false(filter__timeline(OPTS("-s", "CLOSE"), &c));
	assert_false(filter__timeline(OPTS("-m", "1ns"), &c));

	/* A state value outside the mask */
	c = finished_client();
	c.step_state[1] = 33;
	assert_false(filter__timeline(OPTS("-s", "ESTABLISHED"), &c));
	assert_true(filter__timeline(OPTS("-m", "5s"), &c));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_filter_matches_everything),
		cmocka_unit_test(test_selects_all),
		cmocka_unit_test(test_pod_container),
		cmocka_unit_test(test_family),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_lport_provisional_until_known),
		cmocka_unit_test(test_remote_provisional_until_known),
		cmocka_unit_test(test_listener),
		cmocka_unit_test(test_prefixes_v4),
		cmocka_unit_test(test_prefixes_v6),
		cmocka_unit_test(test_prefixes_v4_mapped),
		cmocka_unit_test(test_netns),
		cmocka_unit_test(test_cgroup),
		cmocka_unit_test(test_owner),
		cmocka_unit_test(test_all_filters_together),
		cmocka_unit_test(test_transition),
		cmocka_unit_test(test_timeline),
		cmocka_unit_test(test_timeline_unknown_dwell),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
