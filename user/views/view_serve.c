// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tcpdwell serve`: Prometheus metrics of every transition and of the table's gauges, rendered
 * every --interval and handed to the HTTP thread (metrics.c renders, serve.c serves).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "metrics.h"
#include "sat.h"
#include "serve.h"

#define SERVE_DEFAULT_LISTEN "127.0.0.1:9877"

struct serve_view {
	struct metrics *m;
	struct server *server;
	uint64_t next; /* the next publication due */
};

/* The metrics' labels for --by: only these three label a series (the others are stat's). */
static enum metrics_label label_mode(enum td_by by)
{
	switch (by) {
	case TD_BY_LPORT:
		return METRICS_LABEL_LPORT;
	case TD_BY_POD:
		return METRICS_LABEL_POD;
	case TD_BY_CONTAINER:
		return METRICS_LABEL_CONTAINER;
	default:
		return METRICS_LABEL_NONE;
	}
}

static int serve_open(struct app *a)
{
	struct serve_view *v = calloc(1, sizeof(*v));
	char err[256];

	a->view_state = v;
	if (v)
		v->m = calloc(1, sizeof(*v->m));
	if (!v || !v->m) {
		fprintf(stderr, "tcpdwell: out of memory\n");
		return -1;
	}
	metrics__init(v->m, label_mode(a->o->by));
	memcpy(v->m->stuck_ns, a->o->stuck_ns, sizeof(a->o->stuck_ns));
	v->m->states = a->o->states;
	/* Bound now, served once the capabilities are gone (serve_start). */
	v->server = server__open(a->o->listen ?: SERVE_DEFAULT_LISTEN, err, sizeof(err));
	if (!v->server) {
		fprintf(stderr, "tcpdwell: %s\n", err);
		return -1;
	}
	return 0;
}

/* After the drop: a thread keeps the credentials it was created with. */
static int serve_start(struct app *a)
{
	struct serve_view *v = a->view_state;
	char err[256];

	/* Known once the tracer is loaded: whether the kernel let accept() be traced. */
	v->m->accepts = a->o->accept && a->out.accepts;
	if (server__start(v->server, err, sizeof(err))) {
		fprintf(stderr, "tcpdwell: %s\n", err);
		return -1;
	}
	fprintf(stderr, "tcpdwell: serving metrics on http://%s/metrics\n",
		a->o->listen ?: SERVE_DEFAULT_LISTEN);
	return 0;
}

static void serve_accepted(struct app *a, const struct conn *c, uint64_t wait_ns)
{
	struct serve_view *v = a->view_state;

	metrics__accepted(v->m, c, wait_ns);
}

static void serve_carried(struct app *a, const struct conn *c)
{
	struct serve_view *v = a->view_state;

	metrics__carried(v->m, c);
}

static void serve_finished(struct app *a, const struct conn *c)
{
	struct serve_view *v = a->view_state;

	metrics__finished(v->m, c);
}

static void serve_transition(struct app *a, const struct conn *c, const struct ct_transition *t)
{
	struct serve_view *v = a->view_state;

	metrics__transition(v->m, c, t);
}

/* Render the metrics and hand them to the HTTP thread. */
static void publish(struct app *a, struct serve_view *v, uint64_t now)
{
	const struct ct_stats *cs = conntable__stats(a->table);
	char *text[2] = {NULL, NULL};
	size_t len[2] = {0, 0};

	metrics__gauges(v->m, a->table, now);
	v->m->evictions = cs->evicted;
	v->m->tw_lookups = cs->tw_asked;
	v->m->tw_time_wait = cs->tw_diag_tw;
	v->m->tw_gone = cs->tw_gone;
	v->m->tw_uncheckable = cs->tw_uncheckable;
	v->m->chain_breaks = cs->gaps;
	v->m->reconciled = cs->reconciled;
	v->m->reconcile_passes = cs->reconcile_passes;
	for (int om = 0; om < 2; om++) {
		FILE *f = open_memstream(&text[om], &len[om]);

		if (!f)
			return;
		metrics__render(v->m, f, om, TD_VERSION);
		fclose(f);
	}
	server__publish(v->server, text[0], len[0], text[1], len[1]);
}

static void serve_tick(struct app *a, uint64_t now)
{
	struct serve_view *v = a->view_state;

	if (now >= v->next) {
		publish(a, v, now);
		v->next = sat__add(now, a->o->interval_ns ?: 1000000000ULL);
	}
}

static void serve_lost(struct app *a, uint64_t rb, uint64_t rec)
{
	struct serve_view *v = a->view_state;

	v->m->lost_ringbuf = rb;
	v->m->lost_recursion = rec;
}

static void serve_free(struct app *a)
{
	struct serve_view *v = a->view_state;

	if (!v)
		return;
	server__stop(v->server);
	if (v->m)
		metrics__free(v->m);
	free(v->m);
	free(v);
}

const struct view_ops view_serve = {
    .cmd = TD_CMD_SERVE,
    .flags = VIEW_OWN_LOSS,
    .open = serve_open,
    .start = serve_start,
    .transition = serve_transition,
    .finished = serve_finished,
    .accepted = serve_accepted,
    .carried = serve_carried,
    .tick = serve_tick,
    .lost = serve_lost,
    .free = serve_free,
};
