// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tcpdwell trace`: one line (or JSON object) per transition the filters pass, the resets
 * of the connections shown, and the --stuck alerts.
 */
#include "app.h"
#include "filter.h"

static void trace_transition(struct app *a, const struct conn *c, const struct ct_transition *t)
{
	if (filter__transition(a->o, t))
		out__transition(&a->out, c, t);
}

static void trace_stuck(struct app *a, const struct conn *c, int state, uint64_t dwell_ns)
{
	out__stuck(&a->out, c, state, dwell_ns);
}

static void trace_reset(struct app *a, const struct conn *c, uint64_t ts_ns)
{
	out__reset(&a->out, c, ts_ns);
}

const struct view_ops view_trace = {
    .cmd = TD_CMD_TRACE,
    .transition = trace_transition,
    .stuck = trace_stuck,
    .reset = trace_reset,
};
