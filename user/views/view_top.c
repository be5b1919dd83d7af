// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tcpdwell top`: a snapshot of the connection table every --interval, painted on the
 * terminal (or printed when stdout is not one, and once more at the end); keys change what
 * is shown. top.c takes and renders the snapshot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "app.h"
#include "sat.h"
#include "top.h"

struct top_state {
	struct top *top;
	struct top_snapshot *snap;
	struct top_rate rate;
	uint64_t next; /* the next screen due */
};

static int top_open(struct app *a)
{
	struct top_state *v = calloc(1, sizeof(*v));

	a->view_state = v;
	if (v) {
		v->snap = calloc(1, sizeof(*v->snap));
		v->top = top__open(isatty(STDOUT_FILENO), a->o);
	}
	if (!v || !v->snap || !v->top) {
		fprintf(stderr, "tcpdwell: cannot set up the terminal\n");
		return -1;
	}
	return 0;
}

static void draw(struct app *a, struct top_state *v, uint64_t now)
{
	struct top_input in = {
	    .realtime_offset_ns = a->out.realtime_offset_ns,
	    .transitions_per_s = top__rate(&v->rate, now, conntable__stats(a->table)->transitions),
	    .lost_ringbuf = a->lost_rb,
	    .lost_recursion = a->lost_rec,
	    .chain_breaks = conntable__stats(a->table)->gaps,
	    .source = a->source,
	};

	top__collect(v->snap, a->table, now, top__view(v->top), &in);
	if (top__draw(v->top, v->snap))
		a->stop = true;
}

static void top_tick(struct app *a, uint64_t now)
{
	struct top_state *v = a->view_state;
	int k = top__keys(v->top);

	if (k == TOP_QUIT)
		a->stop = true;
	else if (now >= v->next || k == TOP_REFRESH)
		draw(a, v, now);
	if (now >= v->next)
		v->next = sat__add(now, a->o->interval_ns ?: 1000000000ULL);
}

/* Snapshots (top without a terminal) end with the state at the end. */
static void top_close(struct app *a)
{
	if (!isatty(STDOUT_FILENO))
		draw(a, a->view_state, a->now);
}

/* top -i on a terminal: the recording is read; keep its last screen until 'q'. */
static void top_hold(struct app *a)
{
	struct top_state *v = a->view_state;

	if (!isatty(STDOUT_FILENO))
		return;
	draw(a, v, a->now);
	while (!app_exiting && !a->stop) {
		int k = top__keys(v->top);

		if (k == TOP_QUIT)
			break;
		if (k == TOP_REFRESH)
			draw(a, v, a->now);
		usleep(50 * 1000);
	}
}

static void top_free(struct app *a)
{
	struct top_state *v = a->view_state;

	if (!v)
		return;
	top__close(v->top);
	free(v->snap);
	free(v);
}

const struct view_ops view_top = {
    .cmd = TD_CMD_TOP,
    .flags = VIEW_OWN_LOSS,
    .open = top_open,
    .tick = top_tick,
    .close = top_close,
    .hold = top_hold,
    .free = top_free,
};
