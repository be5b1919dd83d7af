// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tcpdwell timeline`: one line (or JSON object) per finished connection the filters pass,
 * the --stuck alerts, and with --format perfetto the connections still open at the end
 * (output.c renders all three, perfetto.c and pair.c its other forms).
 */
#include "app.h"
#include "filter.h"

static void timeline_finished(struct app *a, const struct conn *c)
{
	if (filter__timeline(a->o, c))
		out__timeline(&a->out, c);
}

static void timeline_stuck(struct app *a, const struct conn *c, int state, uint64_t dwell_ns)
{
	out__stuck(&a->out, c, state, dwell_ns);
}

static void open_at_end(void *arg, const struct conn *c)
{
	struct app *a = arg;

	if (filter__timeline(a->o, c))
		out__open_timeline(&a->out, c, a->now);
}

/* The connections still open (perfetto draws them up to the end of input). */
static void timeline_end(struct app *a)
{
	conntable__foreach(a->table, open_at_end, a);
}

const struct view_ops view_timeline = {
    .cmd = TD_CMD_TIMELINE,
    .finished = timeline_finished,
    .stuck = timeline_stuck,
    .end = timeline_end,
};
