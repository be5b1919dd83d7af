// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of the Prometheus metrics: histogram bucketing of dwell samples,
 * transition counters, the lport label cap, gauges from a live table, and the
 * exact text of both exposition formats; --by pod|container labels from the cgroup names,
 * their cap, the recycling of idle sets and their escaping.
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
#include "loss.h"
#include "metrics.h"
#include "names.h"

#define MS     1000000ULL
#define SEC_NS 1000000000ULL

static struct conn mkconn(int role, uint16_t lport)
{
	return fixture__conn(&(struct fixture_conn){ .lport = lport, .role = role });
}

/* Name cgroup id as container number ctr (0: the pod's own cgroup) of pod number pod (0: a
 * host service), with the names given (NULL: not known). */
static void name_cg(uint64_t id, unsigned pod, unsigned ctr, const char *podname,
		    const char *ctrname)
{
	char path[512];
	int n;

	if (!pod)
		n = snprintf(path, sizeof(path), "/system.slice/svc%u.service", ctr);
	else
		n = snprintf(path, sizeof(path),
			     "/kubepods.slice/kubepods-besteffort.slice/"
			     "kubepods-besteffort-pod%08x_0000_4000_8000_000000000000.slice%s",
			     pod, ctr ? "/cri-containerd-" : "");
	if (ctr && pod)
		n += snprintf(path + n, sizeof(path) - n, "%08x%04x%052x.scope", pod, ctr, 0);
	assert_non_null(cgn__set(id, path, (size_t)n, podname, ctrname));
}

/* A connection of cgroup cg. */
static struct conn cgconn(int role, uint64_t cg)
{
	return fixture__conn(&(struct fixture_conn){ .lport = 40000, .role = role, .cgroup = cg });
}

/* One CLOSE_WAIT -> LAST_ACK of c, dwell ms. */
static void close_wait(struct metrics *m, const struct conn *c, uint64_t ms)
{
	struct ct_transition t = { .old = TD_CLOSE_WAIT, .new = TD_LAST_ACK, .dwell_ns = ms * MS };

	metrics__transition(m, c, &t);
}

/* One CLOSE_WAIT -> LAST_ACK of c at ts_ns, dwell ms. */
static void close_wait_at(struct metrics *m, const struct conn *c, uint64_t ms, uint64_t ts_ns)
{
	struct ct_transition t = { .ts_ns = ts_ns, .old = TD_CLOSE_WAIT, .new = TD_LAST_ACK,
				   .dwell_ns = ms * MS };

	metrics__transition(m, c, &t);
}

/* Name cgroup id as pod number pod's own cgroup, podname (NULL: not known), and count one
 * transition of it at ts_ns. */
static void pod_at(struct metrics *m, uint64_t id, unsigned pod, const char *podname,
		   uint64_t ts_ns)
{
	struct conn c;

	name_cg(id, pod, 0, podname, NULL);
	c = cgconn(CT_ROLE_ACTIVE, id);
	close_wait_at(m, &c, 1, ts_ns);
}

/* The slot set_label[] of a set whose text holds needle, or 0. */
static int slot_named(const struct metrics *m, const char *needle)
{
	for (int i = 1; i <= m->nsets; i++)
		if (strstr(m->set_label[i], needle))
			return i;
	return 0;
}

/* How many entries of map point at slot. */
static int map_refs(const struct metrics_ixmap *map, int slot)
{
	int n = 0;

	for (uint32_t k = 0; k < map->n; k++)
		n += map->slot[k] == slot + 1;
	return n;
}

/* A socket of cgroup cg into the table, in state st. */
static void table_conn(struct conntable *t, uint64_t cookie, uint64_t cg, int st)
{
	struct td_event e;

	memset(&e, 0, sizeof(e));
	e.kind = TD_EV_STATE;
	e.family = 4;
	e.cookie = cookie;
	e.skaddr = 0x1000 + cookie * 64;
	e.ts_ns = MS;
	e.oldstate = TD_ESTABLISHED;
	e.newstate = st;
	e.cgroup = cg;
	conntable__apply(t, &e);
}

static int teardown(void **state)
{
	(void)state;
	cgn__clear();
	return 0;
}

static char *render(const struct metrics *m, bool om)
{
	char *p = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&p, &n);

	metrics__render(m, f, om, "9.9");
	fclose(f);
	return p;
}

static void test_histogram_buckets(void **state)
{
	struct metrics *m = calloc(1, sizeof(*m));
	struct conn c = mkconn(CT_ROLE_PASSIVE, 8080);
	struct ct_transition t = { .old = TD_CLOSE_WAIT, .new = TD_LAST_ACK };
	char *s;

	(void)state;
	metrics__init(m, false);
	for (int i = 0; i < 20; i++) {
		t.dwell_ns = 1500 * MS;
		metrics__transition(m, &c, &t);
	}
	t.dwell_ns = 10000; /* exactly on the first bound: le is inclusive */
	metrics__transition(m, &c, &t);
	t.dwell_ns = 400ULL * 1000000000ULL; /* past the last bound */
	metrics__transition(m, &c, &t);
	t.dwell_ns = CT_DWELL_UNKNOWN; /* counted as a transition, not a sample */
	metrics__transition(m, &c, &t);
	t.dwell_ns = 5 * MS;
	t.dwell_lower_bound = 1; /* not a measurement */
	metrics__transition(m, &c, &t);
	s = render(m, false);
	assert_non_null(strstr(s, "tcpdwell_state_dwell_seconds_bucket{state=\"close_wait\","
				  "le=\"1e-05\"} 1\n"));
	assert_non_null(strstr(s, "tcpdwell_state_dwell_seconds_bucket{state=\"close_wait\","
				  "le=\"1\"} 1\n"));
	assert_non_null(strstr(s, "tcpdwell_state_dwell_seconds_bucket{state=\"close_wait\","
				  "le=\"2\"} 21\n"));
	assert_non_null(strstr(s, "tcpdwell_state_dwell_seconds_bucket{state=\"close_wait\","
				  "le=\"300\"} 21\n"));
	assert_non_null(strstr(s, "tcpdwell_state_dwell_seconds_bucket{state=\"close_wait\","
				  "le=\"+Inf\"} 22\n"));
	assert_non_null(strstr(s, "tcpdwell_state_dwell_seconds_count{state=\"close_wait\"} 22\n"));
	assert_non_null(strstr(s, "tcpdwell_state_dwell_seconds_sum{state=\"close_wait\"} "
				  "430.000010000\n"));
	assert_non_null(
		strstr(s, "tcpdwell_transitions_total{from=\"close_wait\",to=\"last_ack\"} 24\n"));
	assert_null(strstr(s, "state=\"close\"")); /* nobody dwells in CLOSE */
	assert_null(strstr(s, "# EOF"));
	free(s);
	free(m);
}

static void test_openmetrics_format(void **state)
{
	struct metrics *m = calloc(1, sizeof(*m));
	char *s;

	(void)state;
	metrics__init(m, false);
	m->lost_ringbuf = 3;
	m->evictions = 2;
	m->tw_lookups = 7;
	m->tw_gone = 1;
	m->chain_breaks = 4;
	s = render(m, true);
	assert_non_null(strstr(s, "# TYPE tcpdwell_transitions counter\n"));
	assert_non_null(strstr(s, "# TYPE tcpdwell_lost_records counter\n"
				  "tcpdwell_lost_records_total{reason=\"ringbuf\"} 3\n"
				  "tcpdwell_lost_records_total{reason=\"recursion\"} 0\n"));
	assert_non_null(strstr(s, "tcpdwell_lost_records_known{reason=\"ringbuf\"} 1\n"
				  "tcpdwell_lost_records_known{reason=\"recursion\"} 1\n"));
	free(s);
	/* A counter that could not be read gets no sample, and says so. */
	m->lost_recursion = LOSS_UNKNOWN;
	s = render(m, true);
	assert_null(strstr(s, "tcpdwell_lost_records_total{reason=\"recursion\"}"));
	assert_non_null(strstr(s, "tcpdwell_lost_records_known{reason=\"recursion\"} 0\n"));
	m->lost_recursion = 0;
	assert_non_null(strstr(s, "tcpdwell_evictions_total 2\n"));
	assert_non_null(strstr(s, "# TYPE tcpdwell_timewait_lookups counter\n"
				  "tcpdwell_timewait_lookups_total{result=\"sent\"} 7\n"
				  "tcpdwell_timewait_lookups_total{result=\"time_wait\"} 0\n"
				  "tcpdwell_timewait_lookups_total{result=\"gone\"} 1\n"));
	assert_non_null(strstr(s, "# TYPE tcpdwell_chain_breaks counter\n"
				  "tcpdwell_chain_breaks_total 4\n"));
	assert_non_null(strstr(s, "tcpdwell_build_info{version=\"9.9\"} 1\n# EOF\n"));
	free(s);
	s = render(m, false);
	assert_non_null(strstr(s, "# TYPE tcpdwell_transitions_total counter\n"));
	assert_non_null(strstr(s, "# HELP tcpdwell_chain_breaks_total "));
	assert_non_null(strstr(s, "# TYPE tcpdwell_chain_breaks_total counter\n"
				  "tcpdwell_chain_breaks_total 4\n"));
	free(s);
	free(m);
}

static void test_lport_label_cap(void **state)
{
	struct metrics *m = calloc(1, sizeof(*m));
	struct ct_transition listen = { .old = TD_CLOSE, .new = TD_LISTEN,
					.dwell_ns = CT_DWELL_UNKNOWN };
	struct ct_transition t = { .old = TD_SYN_RECV, .new = TD_ESTABLISHED, .dwell_ns = 5000 };
	char *s;

	(void)state;
	metrics__init(m, true);
	for (int p = 1; p <= METRICS_MAX_LPORTS + 5; p++) {
		struct conn l = mkconn(CT_ROLE_LISTEN, 1000 + p);

		metrics__transition(m, &l, &listen);
	}
	assert_int_equal(m->nsets, METRICS_MAX_LPORTS);
	struct conn a = mkconn(CT_ROLE_PASSIVE, 1001);
	struct conn b = mkconn(CT_ROLE_PASSIVE, 1000 + METRICS_MAX_LPORTS + 3);
	struct conn client = mkconn(CT_ROLE_ACTIVE, 1001);

	metrics__transition(m, &a, &t);
	metrics__transition(m, &b, &t);
	metrics__transition(m, &client, &t); /* a client's port is no label */
	s = render(m, false);
	assert_non_null(strstr(s, "tcpdwell_state_dwell_seconds_count{state=\"syn_recv\","
				  "lport=\"1001\"} 1\n"));
	assert_non_null(strstr(s, "tcpdwell_state_dwell_seconds_count{state=\"syn_recv\","
				  "lport=\"other\"} 2\n"));
	assert_null(strstr(s, "label_sets"));
	free(s);
	free(m);
}

static void test_gauges_from_table(void **state)
{
	struct metrics *m = calloc(1, sizeof(*m));
	struct conntable *t = conntable__new(64, NULL);
	struct td_event e;
	char *s;

	(void)state;
	metrics__init(m, false);
	m->stuck_ns[TD_CLOSE_WAIT] = 1000 * MS;
	memset(&e, 0, sizeof(e));
	e.kind = TD_EV_STATE;
	e.family = 4;
	for (int i = 0; i < 3; i++) {
		e.cookie = 10 + i;
		e.skaddr = 0x1000 + i * 64;
		e.ts_ns = (100 + i * 1000) * MS; /* entered at 100 ms, 1.1 s, 2.1 s */
		e.oldstate = TD_ESTABLISHED;
		e.newstate = TD_CLOSE_WAIT;
		conntable__apply(t, &e);
	}
	metrics__gauges(m, t, 2500 * MS);
	s = render(m, false);
	assert_non_null(strstr(s, "tcpdwell_sockets{state=\"close_wait\"} 3\n"));
	assert_non_null(strstr(s, "tcpdwell_stuck_sockets{state=\"close_wait\"} 2\n"));
	free(s);
	conntable__free(t);
	free(m);
}

/* --state: transitions into or out of the states shown, their dwell only, their sockets. */
/* serve --accept: the accept-queue wait per listening port, those never accepted; past
 * METRICS_MAX_LPORTS ports, "other"; nothing of it without --accept. */
static void test_accepts(void **state)
{
	struct metrics *m = calloc(1, sizeof(*m));
	struct conn c = mkconn(CT_ROLE_PASSIVE, 8080);
	char *s;

	(void)state;
	metrics__init(m, false);
	metrics__accepted(m, &c, 3 * MS);
	s = render(m, false);
	assert_null(strstr(s, "accept"));
	free(s);

	m->accepts = true;
	metrics__accepted(m, &c, 3 * MS);
	metrics__accepted(m, &c, 200 * MS);
	c.end_ns = 5 * SEC_NS;
	c.nsteps = 1;
	c.step_state[0] = TD_ESTABLISHED;
	c.step_ns[0] = SEC_NS;
	metrics__finished(m, &c); /* ended with no accept: never accepted */
	for (int p = 1; p <= METRICS_MAX_LPORTS + 1; p++) {
		struct conn o = mkconn(CT_ROLE_PASSIVE, (uint16_t)(9000 + p));

		metrics__accepted(m, &o, MS);
	}
	s = render(m, false);
	assert_non_null(strstr(s, "# TYPE tcpdwell_accept_wait_seconds histogram\n"
				  "tcpdwell_accept_wait_seconds_bucket{lport=\"8080\",le=\"1e-05\"} 0\n"));
	assert_non_null(strstr(s, "tcpdwell_accept_wait_seconds_bucket{lport=\"8080\",le=\"0.005\"} 1\n"));
	assert_non_null(strstr(s, "tcpdwell_accept_wait_seconds_bucket{lport=\"8080\",le=\"0.2\"} 2\n"));
	assert_non_null(strstr(s, "tcpdwell_accept_wait_seconds_sum{lport=\"8080\"} 0.203000000\n"
				  "tcpdwell_accept_wait_seconds_count{lport=\"8080\"} 2\n"));
	assert_non_null(strstr(s, "tcpdwell_never_accepted_total{lport=\"8080\"} 1\n"));
	/* 8080 and 31 more ports have their own series; the last two are "other" */
	assert_non_null(strstr(s, "tcpdwell_accept_wait_seconds_count{lport=\"9031\"} 1\n"));
	assert_null(strstr(s, "lport=\"9032\""));
	assert_non_null(strstr(s, "tcpdwell_accept_wait_seconds_count{lport=\"other\"} 2\n"));
	free(s);
	s = render(m, true);
	assert_non_null(strstr(s, "# TYPE tcpdwell_never_accepted counter\n"));
	free(s);
	free(m);
}

/* --by lport: what passive connections carried, per listening port; nothing of it without
 * the label, nothing of active opens. */
static void test_carried(void **state)
{
	struct metrics *m = calloc(1, sizeof(*m));
	struct conn c = mkconn(CT_ROLE_PASSIVE, 8080), a = mkconn(CT_ROLE_ACTIVE, 40000);
	char *s;

	(void)state;
	c.stats.bytes_acked = 1001;
	c.stats.bytes_received = 2001;
	c.stats.total_retrans = 3;
	a.stats = c.stats;
	metrics__init(m, false);
	metrics__carried(m, &c);
	s = render(m, false);
	assert_null(strstr(s, "tcpdwell_bytes_sent"));
	free(s);
	metrics__init(m, true);
	metrics__listener(m, 8080);
	metrics__carried(m, &c);
	metrics__carried(m, &c);
	metrics__carried(m, &a);
	s = render(m, false);
	assert_non_null(strstr(s, "# TYPE tcpdwell_bytes_sent_total counter\n"
				  "tcpdwell_bytes_sent_total{lport=\"other\"} 0\n"
				  "tcpdwell_bytes_sent_total{lport=\"8080\"} 2002\n"));
	assert_non_null(strstr(s, "tcpdwell_bytes_received_total{lport=\"8080\"} 4002\n"));
	assert_non_null(strstr(s, "tcpdwell_retransmits_total{lport=\"8080\"} 6\n"));
	free(s);
	free(m);
}

static void test_state_filter(void **state)
{
	struct metrics *m = calloc(1, sizeof(*m));
	struct conntable *t = conntable__new(64, NULL);
	struct conn c = mkconn(CT_ROLE_ACTIVE, 40000);
	static const struct {
		int old, new;
	} life[] = { { TD_SYN_SENT, TD_ESTABLISHED }, { TD_ESTABLISHED, TD_FIN_WAIT1 },
		     { TD_FIN_WAIT1, TD_FIN_WAIT2 }, { TD_FIN_WAIT2, TD_TIME_WAIT } };
	struct td_event e;
	char *s;

	(void)state;
	metrics__init(m, false);
	m->states = 1u << TD_FIN_WAIT2;
	for (size_t i = 0; i < sizeof(life) / sizeof(life[0]); i++) {
		struct ct_transition tr = { .old = life[i].old, .new = life[i].new,
					    .dwell_ns = 7 * MS };

		metrics__transition(m, &c, &tr);
	}
	memset(&e, 0, sizeof(e));
	e.kind = TD_EV_STATE;
	e.family = 4;
	e.cookie = 1;
	e.skaddr = 0x1000;
	e.oldstate = TD_ESTABLISHED;
	e.newstate = TD_CLOSE_WAIT; /* a socket in a state not shown */
	conntable__apply(t, &e);
	metrics__gauges(m, t, 10 * MS);
	s = render(m, false);
	assert_non_null(
		strstr(s, "tcpdwell_transitions_total{from=\"fin_wait1\",to=\"fin_wait2\"} 1\n"));
	assert_non_null(
		strstr(s, "tcpdwell_transitions_total{from=\"fin_wait2\",to=\"time_wait\"} 1\n"));
	assert_null(strstr(s, "from=\"syn_sent\",to=\"established\"} 1"));
	assert_null(strstr(s, "from=\"established\",to=\"fin_wait1\"} 1"));
	assert_non_null(strstr(s, "tcpdwell_state_dwell_seconds_count{state=\"fin_wait2\"} 1\n"));
	/* FIN_WAIT1 -> FIN_WAIT2 is counted, but FIN_WAIT1's dwell is not shown */
	assert_non_null(strstr(s, "tcpdwell_state_dwell_seconds_count{state=\"fin_wait1\"} 0\n"));
	assert_non_null(strstr(s, "tcpdwell_sockets{state=\"close_wait\"} 0\n"));
	free(s);
	conntable__free(t);
	free(m);
}

/* --by pod: every connection's pod labels its series (three pods, one of them in two
 * containers, and the host's own traffic: an unnamed cgroup, no cgroup, a service's); only
 * what counted something has a series. */
static void test_pod_labels(void **state)
{
	struct metrics *m = calloc(1, sizeof(*m));
	struct conntable *t = conntable__new(64, NULL);
	struct conn web1, web2, dns, cart, h0, h1, h2;
	char *s;

	(void)state;
	name_cg(11, 1, 1, "default/web-0", "nginx");
	name_cg(12, 1, 2, "default/web-0", "sidecar");
	name_cg(21, 2, 3, "kube-system/coredns-5d78c9869d-abcde", "coredns");
	name_cg(31, 3, 0, "shop/cart", NULL); /* the pod's own cgroup */
	name_cg(41, 0, 1, NULL, NULL);	     /* /system.slice/svc1.service */
	web1 = cgconn(CT_ROLE_PASSIVE, 11);
	web2 = cgconn(CT_ROLE_ACTIVE, 12);
	dns = cgconn(CT_ROLE_ACTIVE, 21);
	cart = cgconn(CT_ROLE_ACTIVE, 31);
	h0 = cgconn(CT_ROLE_ACTIVE, 0);
	h1 = cgconn(CT_ROLE_ACTIVE, 99); /* not named */
	h2 = cgconn(CT_ROLE_ACTIVE, 41);
	metrics__init(m, METRICS_LABEL_POD);
	close_wait(m, &web1, 3);
	close_wait(m, &web2, 7);
	close_wait(m, &web1, 2000);
	close_wait(m, &dns, 1);
	close_wait(m, &cart, 40);
	close_wait(m, &cart, 40);
	close_wait(m, &h0, 1);
	close_wait(m, &h1, 1);
	close_wait(m, &h2, 1);
	assert_int_equal(m->nsets, 4);
	web2.stats.bytes_acked = 100;
	web2.stats.bytes_received = 50;
	web2.stats.total_retrans = 2;
	metrics__carried(m, &web2); /* an active open counts too */
	metrics__carried(m, &web1); /* nothing carried: no series of its own */
	table_conn(t, 1, 11, TD_CLOSE_WAIT);
	table_conn(t, 2, 12, TD_CLOSE_WAIT);
	table_conn(t, 3, 31, TD_TIME_WAIT);
	table_conn(t, 4, 0, TD_CLOSE_WAIT);
	metrics__gauges(m, t, 10 * MS);
	s = render(m, false);
	assert_non_null(strstr(s, "tcpdwell_state_dwell_seconds_bucket{state=\"close_wait\","
				  "namespace=\"default\",pod=\"web-0\",le=\"0.005\"} 1\n"));
	assert_non_null(strstr(s, "tcpdwell_state_dwell_seconds_bucket{state=\"close_wait\","
				  "namespace=\"default\",pod=\"web-0\",le=\"+Inf\"} 3\n"
				  "tcpdwell_state_dwell_seconds_sum{state=\"close_wait\","
				  "namespace=\"default\",pod=\"web-0\"} 2.010000000\n"
				  "tcpdwell_state_dwell_seconds_count{state=\"close_wait\","
				  "namespace=\"default\",pod=\"web-0\"} 3\n"));
	assert_non_null(strstr(s, "tcpdwell_state_dwell_seconds_count{state=\"close_wait\","
				  "namespace=\"kube-system\",pod=\"coredns-5d78c9869d-abcde\"} 1\n"));
	assert_non_null(strstr(s, "tcpdwell_state_dwell_seconds_count{state=\"close_wait\","
				  "namespace=\"shop\",pod=\"cart\"} 2\n"));
	assert_non_null(strstr(s, "tcpdwell_state_dwell_seconds_count{state=\"close_wait\","
				  "namespace=\"\",pod=\"\"} 3\n"));
	assert_non_null(strstr(s, "tcpdwell_transitions_total{from=\"close_wait\",to=\"last_ack\","
				  "namespace=\"shop\",pod=\"cart\"} 2\n"));
	assert_non_null(strstr(s, "tcpdwell_transitions_total{from=\"close_wait\",to=\"last_ack\","
				  "namespace=\"\",pod=\"\"} 3\n"));
	/* sparse: no empty histograms, no empty sets, nothing "other" */
	assert_null(strstr(s, "state=\"established\""));
	assert_null(strstr(s, "=\"other\""));
	assert_null(strstr(s, "lport="));
	assert_null(strstr(s, "container="));
	assert_null(strstr(s, "tcpdwell_sockets{state=\"close_wait\"} "));
	assert_non_null(strstr(s, "# TYPE tcpdwell_bytes_sent_total counter\n"
				  "tcpdwell_bytes_sent_total{namespace=\"default\",pod=\"web-0\"} "
				  "100\n# HELP"));
	assert_non_null(strstr(s, "tcpdwell_bytes_received_total{namespace=\"default\","
				  "pod=\"web-0\"} 50\n"));
	assert_non_null(strstr(s, "tcpdwell_retransmits_total{namespace=\"default\","
				  "pod=\"web-0\"} 2\n"));
	assert_non_null(strstr(s, "# TYPE tcpdwell_sockets gauge\n"
				  "tcpdwell_sockets{state=\"close_wait\",namespace=\"default\","
				  "pod=\"web-0\"} 2\n"
				  "tcpdwell_sockets{state=\"time_wait\",namespace=\"shop\","
				  "pod=\"cart\"} 1\n"
				  "tcpdwell_sockets{state=\"close_wait\",namespace=\"\",pod=\"\"} 1\n"
				  "# HELP"));
	assert_non_null(strstr(s, "# TYPE tcpdwell_label_sets_folded gauge\n"
				  "tcpdwell_label_sets_folded 0\n"));
	free(s);

	/* A socket gone: its gauge reads 0 once, then the series goes. */
	conntable__free(t);
	t = conntable__new(64, NULL);
	table_conn(t, 1, 11, TD_CLOSE_WAIT);
	metrics__gauges(m, t, 20 * MS);
	s = render(m, true);
	assert_non_null(strstr(s, "tcpdwell_sockets{state=\"close_wait\",namespace=\"default\","
				  "pod=\"web-0\"} 1\n"
				  "tcpdwell_sockets{state=\"time_wait\",namespace=\"shop\","
				  "pod=\"cart\"} 0\n"
				  "tcpdwell_sockets{state=\"close_wait\",namespace=\"\",pod=\"\"} 0\n"));
	assert_non_null(strstr(s, "# EOF\n"));
	free(s);
	metrics__gauges(m, t, 30 * MS);
	s = render(m, false);
	assert_non_null(strstr(s, "tcpdwell_sockets{state=\"close_wait\",namespace=\"default\","
				  "pod=\"web-0\"} 1\n# HELP"));
	free(s);
	conntable__free(t);
	metrics__free(m);
	free(m);
}

/* --by container: namespace, pod and container; a container's short id while its name is
 * not known, then its name; a pod's connections in no container, a container outside
 * Kubernetes. */
static void test_container_labels(void **state)
{
	struct metrics *m = calloc(1, sizeof(*m));
	struct conn a, b, p, d, h;
	char *s;

	(void)state;
	name_cg(11, 1, 1, "default/web-0", "nginx");
	name_cg(12, 1, 2, "default/web-0", NULL); /* its container's name not known yet */
	name_cg(13, 1, 0, "default/web-0", NULL); /* the pod's own */
	/* docker outside Kubernetes: a container, no pod */
	assert_non_null(cgn__set(14, "/system.slice/docker-"
				     "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
				     ".scope", 93, NULL, NULL));
	a = cgconn(CT_ROLE_ACTIVE, 11);
	b = cgconn(CT_ROLE_ACTIVE, 12);
	p = cgconn(CT_ROLE_ACTIVE, 13);
	d = cgconn(CT_ROLE_ACTIVE, 14);
	h = cgconn(CT_ROLE_ACTIVE, 0);
	metrics__init(m, METRICS_LABEL_CONTAINER);
	close_wait(m, &a, 1);
	close_wait(m, &b, 1);
	close_wait(m, &p, 1);
	close_wait(m, &d, 1);
	close_wait(m, &h, 1);
	/* the name comes: the same container's next transitions go to its name */
	name_cg(12, 1, 2, "default/web-0", "sidecar");
	close_wait(m, &b, 1);
	close_wait(m, &b, 1);
	assert_int_equal(m->nsets, 6);
	s = render(m, false);
	assert_non_null(strstr(s, "tcpdwell_transitions_total{from=\"close_wait\",to=\"last_ack\","
				  "namespace=\"default\",pod=\"web-0\",container=\"nginx\"} 1\n"));
	assert_non_null(strstr(s, "tcpdwell_transitions_total{from=\"close_wait\",to=\"last_ack\","
				  "namespace=\"default\",pod=\"web-0\",container=\"000000010002\"} "
				  "1\n"));
	assert_non_null(strstr(s, "tcpdwell_transitions_total{from=\"close_wait\",to=\"last_ack\","
				  "namespace=\"default\",pod=\"web-0\",container=\"sidecar\"} 2\n"));
	assert_non_null(strstr(s, "tcpdwell_transitions_total{from=\"close_wait\",to=\"last_ack\","
				  "namespace=\"default\",pod=\"web-0\",container=\"\"} 1\n"));
	assert_non_null(strstr(s, "tcpdwell_transitions_total{from=\"close_wait\",to=\"last_ack\","
				  "namespace=\"\",pod=\"\",container=\"abcdef012345\"} 1\n"));
	assert_non_null(strstr(s, "tcpdwell_state_dwell_seconds_count{state=\"close_wait\","
				  "namespace=\"\",pod=\"\",container=\"\"} 1\n"));
	free(s);
	metrics__free(m);
	free(m);
}

/* Past METRICS_MAX_LABEL_SETS sets, new ones go to the set of "other"s, each counted once
 * as folded; sets already known keep theirs. */
static void test_label_set_cap(void **state)
{
	struct metrics *m = calloc(1, sizeof(*m));
	int npods = METRICS_MAX_LABEL_SETS + 5;
	struct conn c;
	char name[64];
	char *s;

	(void)state;
	metrics__init(m, METRICS_LABEL_POD);
	c = cgconn(CT_ROLE_ACTIVE, 0);
	close_wait(m, &c, 1); /* the host's set is one of them */
	for (int i = 1; i <= npods; i++) {
		snprintf(name, sizeof(name), "ns/pod-%d", i);
		name_cg(1000 + i, i, 0, name, NULL);
		c = cgconn(CT_ROLE_ACTIVE, 1000 + i);
		close_wait(m, &c, 1);
		close_wait(m, &c, 1); /* the same pod again: not folded twice */
	}
	c = cgconn(CT_ROLE_ACTIVE, 1001);
	close_wait(m, &c, 1);
	assert_int_equal(m->nsets, METRICS_MAX_LABEL_SETS);
	assert_int_equal(m->sets_folded, 6);
	s = render(m, false);
	assert_non_null(strstr(s, "tcpdwell_transitions_total{from=\"close_wait\",to=\"last_ack\","
				  "namespace=\"ns\",pod=\"pod-1\"} 3\n"));
	assert_non_null(strstr(s, "namespace=\"ns\",pod=\"pod-127\"} 2\n"));
	assert_null(strstr(s, "pod=\"pod-128\""));
	/* the fold set is "_other_", which no Kubernetes name can be */
	assert_non_null(strstr(s, "tcpdwell_transitions_total{from=\"close_wait\",to=\"last_ack\","
				  "namespace=\"_other_\",pod=\"_other_\"} 12\n"));
	assert_non_null(strstr(s, "tcpdwell_state_dwell_seconds_count{state=\"close_wait\","
				  "namespace=\"_other_\",pod=\"_other_\"} 12\n"));
	assert_null(strstr(s, "=\"other\""));
	assert_non_null(strstr(s, "# HELP tcpdwell_label_sets_folded "));
	assert_non_null(strstr(s, "# TYPE tcpdwell_label_sets_folded gauge\n"
				  "tcpdwell_label_sets_folded 6\n"));
	/* no time passed (every ts_ns 0): nothing idle, nothing recycled */
	assert_non_null(strstr(s, "# TYPE tcpdwell_label_sets_recycled_total counter\n"
				  "tcpdwell_label_sets_recycled_total 0\n"));
	free(s);
	metrics__free(m);
	free(m);

	/* container mode: all three labels "_other_" */
	m = calloc(1, sizeof(*m));
	metrics__init(m, METRICS_LABEL_CONTAINER);
	for (int i = 1; i <= npods; i++) {
		c = cgconn(CT_ROLE_ACTIVE, 1000 + i);
		close_wait(m, &c, 1);
	}
	s = render(m, false);
	assert_non_null(
		strstr(s, "namespace=\"_other_\",pod=\"_other_\",container=\"_other_\"} 5\n"));
	assert_non_null(strstr(s, "tcpdwell_label_sets_folded 5\n"));
	free(s);
	metrics__free(m);
	free(m);
}

/*
 * --by pod: all slots taken, a new pod takes the slot of the pod idle longest (no transition
 * for METRICS_SET_IDLE_NS, no socket at the last gauges pass) and its series start from 0;
 * the old pod's series are gone, and it registers again if it comes back. A pod with an open
 * socket keeps its slot however long since its last transition, also while a gauges pass
 * registers a new set before counting that socket. With none idle, new pods fold.
 */
static void test_label_set_recycle(void **state)
{
	struct metrics *m = calloc(1, sizeof(*m));
	struct conntable *t = conntable__new(256, NULL);
	uint64_t t0 = SEC_NS, late;
	int busy1, busy2;
	struct conn c;
	char name[64];
	char *s;

	(void)state;
	metrics__init(m, METRICS_LABEL_POD);
	/* busy-1 and busy-2 have a socket open, seen at 1 ms, and never a transition */
	name_cg(1001, 1, 0, "ns/busy-1", NULL);
	name_cg(1002, 2, 0, "ns/busy-2", NULL);
	table_conn(t, 1, 1001, TD_CLOSE_WAIT);
	table_conn(t, 2, 1002, TD_CLOSE_WAIT);
	metrics__gauges(m, t, MS);
	assert_int_equal(m->nsets, 2);
	/* slots 1 and 2, in the order the table gives them */
	busy1 = slot_named(m, "pod=\"busy-1\"");
	busy2 = slot_named(m, "pod=\"busy-2\"");
	assert_int_equal(busy1 + busy2, 3);
	/* pods 3..128 fill the slots, two transitions each, pod i at t0 + i ms, and carry */
	for (unsigned i = 3; i <= METRICS_MAX_LABEL_SETS; i++) {
		snprintf(name, sizeof(name), "ns/pod-%u", i);
		pod_at(m, 1000 + i, i, name, t0 + i * MS);
		c = cgconn(CT_ROLE_ACTIVE, 1000 + i);
		close_wait_at(m, &c, 1, t0 + i * MS);
		c.stats.bytes_acked = 500;
		metrics__carried(m, &c);
	}
	assert_int_equal(m->nsets, METRICS_MAX_LABEL_SETS);

	/* 1 ns short of pod-3's idle time: nothing is idle (busy-* have sockets), folded */
	pod_at(m, 2000, 200, "ns/new-0", t0 + 3 * MS + METRICS_SET_IDLE_NS - 1);
	assert_int_equal(m->sets_folded, 1);
	assert_int_equal(m->sets_recycled, 0);

	/* pods 3..10 idle now (pod-10 just so): new-1..new-8 take their slots, oldest first */
	late = t0 + 10 * MS + METRICS_SET_IDLE_NS;
	for (unsigned k = 1; k <= 9; k++) {
		snprintf(name, sizeof(name), "ns/new-%u", k);
		pod_at(m, 2000 + k, 200 + k, name, late);
	}
	assert_int_equal(m->nsets, METRICS_MAX_LABEL_SETS);
	assert_int_equal(m->sets_recycled, 8);
	assert_int_equal(m->sets_folded, 2); /* new-9: nothing idle left */
	assert_int_equal(slot_named(m, "pod=\"busy-1\""), busy1);
	assert_int_equal(slot_named(m, "pod=\"busy-2\""), busy2);
	for (unsigned k = 1; k <= 8; k++) {
		snprintf(name, sizeof(name), "pod=\"new-%u\"", k);
		assert_int_equal(slot_named(m, name), k + 2);
	}
	s = render(m, false);
	for (unsigned i = 3; i <= 10; i++) {
		snprintf(name, sizeof(name), "pod=\"pod-%u\"", i);
		assert_null(strstr(s, name));
	}
	assert_non_null(strstr(s, "tcpdwell_transitions_total{from=\"close_wait\",to=\"last_ack\","
				  "namespace=\"ns\",pod=\"pod-11\"} 2\n"));
	assert_non_null(strstr(s, "tcpdwell_bytes_sent_total{namespace=\"ns\",pod=\"pod-11\"} "
				  "500\n"));
	/* from 0: one transition, one sample, nothing carried */
	assert_non_null(strstr(s, "tcpdwell_transitions_total{from=\"close_wait\",to=\"last_ack\","
				  "namespace=\"ns\",pod=\"new-1\"} 1\n"));
	assert_non_null(strstr(s, "tcpdwell_state_dwell_seconds_count{state=\"close_wait\","
				  "namespace=\"ns\",pod=\"new-1\"} 1\n"));
	assert_null(strstr(s, "tcpdwell_bytes_sent_total{namespace=\"ns\",pod=\"new-1\"}"));
	assert_non_null(strstr(s, "tcpdwell_transitions_total{from=\"close_wait\",to=\"last_ack\","
				  "namespace=\"_other_\",pod=\"_other_\"} 2\n"));
	assert_non_null(strstr(s, "tcpdwell_sockets{state=\"close_wait\",namespace=\"ns\","
				  "pod=\"busy-1\"} 1\n"));
	assert_non_null(strstr(s, "tcpdwell_label_sets_folded 2\n"
				  "# HELP tcpdwell_label_sets_recycled_total "));
	assert_non_null(strstr(s, "# TYPE tcpdwell_label_sets_recycled_total counter\n"
				  "tcpdwell_label_sets_recycled_total 8\n"));
	free(s);
	s = render(m, true);
	assert_non_null(strstr(s, "# TYPE tcpdwell_label_sets_recycled counter\n"
				  "tcpdwell_label_sets_recycled_total 8\n"));
	free(s);

	/* pod-3 comes back: its number no longer maps to new-1's slot; nothing idle, folded */
	c = cgconn(CT_ROLE_ACTIVE, 1003);
	close_wait_at(m, &c, 1, late);
	assert_int_equal(m->sets_folded, 3);
	assert_int_equal(m->transitions[3][TD_CLOSE_WAIT][TD_LAST_ACK], 1);

	/*
	 * Much later, a gauges pass that meets a new pod's socket: busy-1 and busy-2, idle by
	 * time (active at 1 ms, the oldest) but with sockets at the last pass and in this one,
	 * keep theirs whichever socket the pass counts first; late-1 takes pod-11's.
	 */
	name_cg(3001, 301, 0, "ns/late-1", NULL);
	table_conn(t, 3, 3001, TD_ESTABLISHED);
	metrics__gauges(m, t, t0 + 200 * MS + METRICS_SET_IDLE_NS);
	assert_int_equal(m->sets_recycled, 9);
	assert_int_equal(slot_named(m, "pod=\"busy-1\""), busy1);
	assert_int_equal(slot_named(m, "pod=\"busy-2\""), busy2);
	assert_int_equal(slot_named(m, "pod=\"late-1\""), 11);
	s = render(m, false);
	assert_non_null(strstr(s, "tcpdwell_sockets{state=\"close_wait\",namespace=\"ns\","
				  "pod=\"busy-1\"} 1\n"));
	assert_non_null(strstr(s, "tcpdwell_sockets{state=\"established\",namespace=\"ns\","
				  "pod=\"late-1\"} 1\n"));
	assert_null(strstr(s, "pod=\"pod-11\""));
	free(s);

	/*
	 * The sockets close. Much later every set is idle, busy-1 and busy-2 too once a pass has
	 * seen none: the next 128 pods take every slot, oldest first, each once; one more folds.
	 */
	conntable__free(t);
	t = conntable__new(64, NULL);
	metrics__gauges(m, t, t0 + 201 * MS + METRICS_SET_IDLE_NS);
	metrics__gauges(m, t, t0 + 202 * MS + METRICS_SET_IDLE_NS);
	for (unsigned k = 1; k <= METRICS_MAX_LABEL_SETS + 1; k++) {
		snprintf(name, sizeof(name), "ns/next-%u", k);
		pod_at(m, 4000 + k, 400 + k, name, t0 + 3 * METRICS_SET_IDLE_NS);
	}
	assert_int_equal(slot_named(m, "pod=\"next-1\""), 12); /* pod-12: t0 + 12 ms */
	assert_int_equal(slot_named(m, "pod=\"busy-1\""), 0);
	assert_int_equal(slot_named(m, "pod=\"busy-2\""), 0);
	assert_int_equal(slot_named(m, "pod=\"late-1\""), 0);
	assert_int_equal(m->sets_recycled, 9 + METRICS_MAX_LABEL_SETS);
	assert_int_equal(m->sets_folded, 4);
	for (int i = 1; i <= METRICS_MAX_LABEL_SETS; i++)
		assert_int_equal(map_refs(&m->pod_map, i), 1);
	s = render(m, false);
	assert_null(strstr(s, "pod=\"pod-"));
	assert_null(strstr(s, "pod=\"new-"));
	assert_null(strstr(s, "tcpdwell_sockets{state=\"close_wait\",namespace=\"ns\""));
	free(s);
	conntable__free(t);
	metrics__free(m);
	free(m);
}

/*
 * A pod seen before its name is known takes a provisional slot, then one of its name; the
 * provisional one, idle from then on, is recycled like any other, and no number maps to it
 * any more. A provisional slot idle longest may be given to its own pod's name.
 */
static void test_label_set_recycle_provisional(void **state)
{
	struct metrics *m = calloc(1, sizeof(*m));
	uint32_t pod_a, pod_b; /* their numbers: naming a cgroup again frees its cg_name */
	char name[64];
	int prov;
	char *s;

	(void)state;
	metrics__init(m, METRICS_LABEL_POD);
	pod_at(m, 11, 1, NULL, SEC_NS); /* pod A, its name not known: slot 1 */
	prov = slot_named(m, "pod=\"pod0");
	assert_int_equal(prov, 1);
	assert_true(m->set_provisional[1]);
	pod_at(m, 11, 1, "ns/a", 2 * SEC_NS); /* named: slot 2 */
	assert_int_equal(slot_named(m, "pod=\"a\""), 2);
	pod_at(m, 12, 2, NULL, 3 * SEC_NS); /* pod B, not named: slot 3 */
	assert_int_equal(m->nsets, 3);
	for (unsigned i = 4; i <= METRICS_MAX_LABEL_SETS; i++) {
		snprintf(name, sizeof(name), "ns/pod-%u", i);
		pod_at(m, 100 + i, 100 + i, name, 3 * SEC_NS + MS);
	}
	pod_a = cgn__get(11)->pod_ix;
	pod_b = cgn__get(12)->pod_ix;
	assert_int_equal(m->pod_map.slot[pod_a], 3);
	assert_int_equal(map_refs(&m->pod_map, 1), 0);
	s = render(m, false);
	assert_non_null(strstr(s, "pod=\"pod0"));
	free(s);

	/* A's provisional slot, idle since 1 s, goes to C; A's name keeps counting in its own */
	pod_at(m, 13, 3, "ns/c", SEC_NS + METRICS_SET_IDLE_NS + 500 * MS);
	assert_int_equal(m->sets_recycled, 1);
	assert_int_equal(m->sets_folded, 0);
	assert_int_equal(slot_named(m, "pod=\"c\""), 1);
	assert_false(m->set_provisional[1]);
	assert_int_equal(map_refs(&m->pod_map, 1), 1); /* C's, and only C's */
	pod_at(m, 11, 1, "ns/a", SEC_NS + METRICS_SET_IDLE_NS + 600 * MS);
	s = render(m, false);
	assert_non_null(strstr(s, "tcpdwell_transitions_total{from=\"close_wait\",to=\"last_ack\","
				  "namespace=\"ns\",pod=\"a\"} 2\n"));
	assert_non_null(strstr(s, "tcpdwell_transitions_total{from=\"close_wait\",to=\"last_ack\","
				  "namespace=\"ns\",pod=\"c\"} 1\n"));
	free(s);

	/* B is named once its provisional slot is the idlest: its name takes that slot */
	pod_at(m, 12, 2, "ns/b", 3 * SEC_NS + METRICS_SET_IDLE_NS);
	assert_int_equal(m->sets_recycled, 2);
	assert_int_equal(slot_named(m, "pod=\"b\""), 3);
	assert_false(m->set_provisional[3]);
	assert_int_equal(m->pod_map.slot[pod_b], 4);
	assert_int_equal(map_refs(&m->pod_map, 3), 1);
	s = render(m, false);
	assert_null(strstr(s, "pod=\"pod0"));
	assert_non_null(strstr(s, "tcpdwell_transitions_total{from=\"close_wait\",to=\"last_ack\","
				  "namespace=\"ns\",pod=\"b\"} 1\n"));
	free(s);
	metrics__free(m);
	free(m);
}

/* Names from a recording may hold any bytes: the label values are escaped, bytes outside
 * printable ASCII become '?', and a value is cut at METRICS_LABEL_VALUE_MAX bytes. */
static void test_label_escaping(void **state)
{
	struct metrics *m = calloc(1, sizeof(*m));
	struct conn c = cgconn(CT_ROLE_ACTIVE, 7), l = cgconn(CT_ROLE_ACTIVE, 8);
	char longname[400];
	size_t at;
	char *s;

	(void)state;
	name_cg(7, 1, 1, "bad\"ns/a\\b\"c\nd\x1b[31me\xc3\xa9/f", "x\"}\ny");
	memset(longname, 'a', sizeof(longname));
	memcpy(longname, "ns/", 3);
	longname[sizeof(longname) - 1] = 0;
	name_cg(8, 2, 2, longname, NULL);
	metrics__init(m, METRICS_LABEL_CONTAINER);
	close_wait(m, &c, 1);
	close_wait(m, &l, 1);
	s = render(m, false);
	assert_non_null(strstr(s, "tcpdwell_transitions_total{from=\"close_wait\",to=\"last_ack\","
				  "namespace=\"bad\\\"ns\",pod=\"a\\\\b\\\"c\\nd?[31me?"
				  "?/f\","
				  "container=\"x\\\"}\\ny\"} 1\n"));
	/* no raw control byte anywhere */
	for (at = 0; s[at]; at++)
		assert_true(s[at] == '\n' || (s[at] >= 0x20 && s[at] < 0x7f));
	at = (size_t)sprintf(longname, ",namespace=\"ns\",pod=\"");
	memset(longname + at, 'a', METRICS_LABEL_VALUE_MAX);
	strcpy(longname + at + METRICS_LABEL_VALUE_MAX, "\",container=\"");
	assert_non_null(strstr(s, longname));
	free(s);
	metrics__free(m);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_histogram_buckets),
		cmocka_unit_test(test_openmetrics_format),
		cmocka_unit_test(test_lport_label_cap),
		cmocka_unit_test(test_gauges_from_table),
		cmocka_unit_test(test_state_filter),
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_carried),
		cmocka_unit_test_teardown(test_pod_labels, teardown),
		cmocka_unit_test_teardown(test_container_labels, teardown),
		cmocka_unit_test_teardown(test_label_set_cap, teardown),
		cmocka_unit_test_teardown(test_label_set_recycle, teardown),
		cmocka_unit_test_teardown(test_label_set_recycle_provisional, teardown),
		cmocka_unit_test_teardown(test_label_escaping, teardown),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
