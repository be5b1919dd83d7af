/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Filters: which connections, transitions and timelines the user asked to see.
 * Filters select connections, not single records: a connection is selected by
 * its tuple and owner as the table knows them, and then all its transitions are
 * candidates. Pure functions over plain structs.
 */
#ifndef TD_FILTER_H
#define TD_FILTER_H

#include <stdbool.h>

#include "conntable.h"
#include "options.h"

/*
 * Does connection c match the connection filters (-4/-6, --lport, --rport,
 * --laddr, --raddr, --pid, --comm, --netns, --cgroup)? --cgroup trusts the kernel
 * side to have checked the subtree: it only asks that c->cgroup is known (set from a
 * record the kernel filtered). CT_SELECT if it does; CT_REJECT if
 * its tuple does not (final: the table forgets it); CT_HIDE if only the owner
 * does not: --pid/--comm match the current owner, which may still change, and a
 * connection with no known owner does not match them. CT_UNDECIDED if a filter
 * needs a part of the tuple c->flags says is not known yet (CT_F_PARTIAL: a
 * connect()'s local port 0, a child reported with its listener's tuple) and no
 * known part rejects; the table asks again once the tuple is complete.
 */
enum ct_verdict filter__conn(const struct td_options *o, const struct conn *c);

/* No connection filter is set: filter__conn() selects every connection. */
bool filter__selects_all(const struct td_options *o);

/*
 * trace: is this transition shown? --state: old or new is one of the states;
 * --min: the dwell (in old) is known and at least min_ns.
 */
bool filter__transition(const struct td_options *o, const struct ct_transition *t);

/*
 * timeline: is this finished connection shown? With --state and/or --min: it
 * spent at least min_ns (known dwell) in one of the states (any state when
 * --state is not given).
 */
bool filter__timeline(const struct td_options *o, const struct conn *c);

#endif /* TD_FILTER_H */
