// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of the Prometheus metrics: histogram bucketing of dwell samples,
 * transition counters, the lport label cap, gauges from a live table, and the
 * exact text of both exposition formats.
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

#define MS     1000000ULL
#define SEC_NS 1000000000ULL

static struct conn mkconn(int role, uint16_t lport)
{
	return fixture__conn(&(struct fixture_conn){ .lport = lport, .role = role });
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
	assert_int_equal(m->nlports, METRICS_MAX_LPORTS);
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
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
