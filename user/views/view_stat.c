// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tcpdwell stat`: the dwell of every measured transition into a table of statistics per
 * state (per --by key too), printed every --interval and at the end (stats.c keeps it,
 * output.c prints it).
 */
#include <stdio.h>
#include <stdlib.h>

#include "app.h"
#include "names.h"
#include "fmt.h"
#include "sat.h"
#include "stats.h"

/* Rows of the table (a row per state and --by key); a key past them goes to its state's
 * "other" row (stats.h). */
#define STAT_MAX_ROWS 4096

struct stat_view {
	struct stat_table stats;
	bool failed;   /* a sample could not be counted (out of memory) */
	uint64_t next; /* --interval: next table due; UINT64_MAX: none */
};

/* The --by key of a connection for the stat table. */
static const char *by_key(const struct app *a, const struct conn *c, char *buf, size_t len)
{
	switch (a->o->by) {
	case TD_BY_LPORT:
		snprintf(buf, len, "%u", c->sport);
		return buf;
	case TD_BY_RPORT:
		snprintf(buf, len, "%u", c->dport);
		return buf;
	case TD_BY_RADDR:
		return fmt__addr(c->family, c->daddr, buf, len);
	case TD_BY_COMM:
		return c->pid ? conn__comm(c) : "-";
	case TD_BY_POD:
	case TD_BY_CONTAINER: {
		/* Pods by "namespace/name", containers by "namespace/pod/container" (names.h); a
		 * socket in no pod (or no container) by its cgroup path, "-" when not known. */
		const struct cg_name *n = cgn__get(c->cgroup);
		uint32_t ix = !n ? 0 : a->o->by == TD_BY_POD ? n->pod_ix : n->ctr_ix;

		if (ix)
			return a->o->by == TD_BY_POD ? cgn__pod_name(ix) : cgn__ctr_name(ix);
		return n ? n->path : "-";
	}
	default:
		return NULL;
	}
}

/* A dwell for stat --by KEY: out of line, so that the usual unsplit table's
 * path (stat_transition) needs no key buffer. */
static __attribute__((noinline)) int add_by_key(struct app *a, struct stat_view *v,
						const struct conn *c, const struct ct_transition *t)
{
	char key[64];

	return stat_table__add(&v->stats, t->old, by_key(a, c, key, sizeof(key)), t->dwell_ns);
}

static int stat_open(struct app *a)
{
	struct stat_view *v = calloc(1, sizeof(*v));

	if (!v) {
		fprintf(stderr, "tcpdwell: out of memory\n");
		return -1;
	}
	stat_table__init(&v->stats, STAT_MAX_ROWS);
	v->next = UINT64_MAX;
	a->view_state = v;
	return 0;
}

/* Only measured dwell feeds statistics: not unknown, not lower bounds. */
static void stat_transition(struct app *a, const struct conn *c, const struct ct_transition *t)
{
	struct stat_view *v = a->view_state;

	if (t->dwell_ns != CT_DWELL_UNKNOWN && !t->dwell_lower_bound &&
	    (!a->o->states || (a->o->states & (1u << t->old)))) {
		if ((a->o->by == TD_BY_NONE ? stat_table__add(&v->stats, t->old, NULL, t->dwell_ns)
					    : add_by_key(a, v, c, t)) < 0)
			v->failed = true;
	}
}

/* A passive connection taken from the accept queue after wait_ns (stat --accept). Its row
 * is kept whatever --state says: it is asked for by name. */
static void stat_accepted(struct app *a, const struct conn *c, uint64_t wait_ns)
{
	struct stat_view *v = a->view_state;
	char key[64];

	if (!a->o->accept)
		return; /* a recording has the accepts; the table has the row when asked for */
	if (stat_table__add(&v->stats, STAT_ACCEPT_WAIT,
			    a->o->by == TD_BY_NONE ? NULL : by_key(a, c, key, sizeof(key)),
			    wait_ns) < 0)
		v->failed = true;
}

/* What a connection carried, as its socket closed (stat --by: the kernel reads it only
 * then): a sample per connection in its group's count rows. */
static void stat_carried(struct app *a, const struct conn *c)
{
	struct stat_view *v = a->view_state;
	char buf[64];
	const char *key;

	if (a->o->by == TD_BY_NONE)
		return;
	key = by_key(a, c, buf, sizeof(buf));
	if (stat_table__add(&v->stats, STAT_BYTES_SENT, key, c->stats.bytes_acked) < 0 ||
	    stat_table__add(&v->stats, STAT_BYTES_RECEIVED, key, c->stats.bytes_received) < 0 ||
	    stat_table__add(&v->stats, STAT_RETRANS, key, c->stats.total_retrans) < 0)
		v->failed = true;
}

static void print_stats(struct app *a, struct stat_view *v, uint64_t now)
{
	stat_table__sort(&v->stats);
	if (!a->o->json)
		fprintf(a->out.f, "\n");
	out__stats(&a->out, &v->stats, a->o->by, a->o->hist, now);
}

static void stat_tick(struct app *a, uint64_t now)
{
	struct stat_view *v = a->view_state;

	if (v->next == UINT64_MAX && a->o->interval_ns)
		v->next = sat__add(now, a->o->interval_ns);
	/* UINT64_MAX: none due (no --interval, or the next one is past the end of time). */
	if (now >= v->next && v->next != UINT64_MAX) {
		print_stats(a, v, now);
		v->next = sat__next_due(v->next, now, a->o->interval_ns);
	}
}

static void stat_close(struct app *a)
{
	print_stats(a, a->view_state, a->now);
	if (!a->o->json && !a->lost_rb && !a->lost_rec && !conntable__stats(a->table)->gaps)
		fprintf(a->out.f, "LOST 0 records\n");
}

static void stat_end(struct app *a)
{
	struct stat_view *v = a->view_state;

	if (v->failed)
		fprintf(stderr, "tcpdwell: out of memory: some samples were not counted\n");
}

static void stat_free(struct app *a)
{
	struct stat_view *v = a->view_state;

	if (!v)
		return;
	stat_table__free(&v->stats);
	free(v);
}

const struct view_ops view_stat = {
    .cmd = TD_CMD_STAT,
    .open = stat_open,
    .transition = stat_transition,
    .accepted = stat_accepted,
    .carried = stat_carried,
    .tick = stat_tick,
    .close = stat_close,
    .end = stat_end,
    .free = stat_free,
};
