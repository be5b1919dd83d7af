/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Chrome/Perfetto trace-event JSON for timelines: one track (tid) per
 * connection under its owning process (pid), one complete ("X") slice per state
 * with its dwell, so a recording opens in ui.perfetto.dev as a Gantt chart. A
 * formatter at the end of the pipeline: conns in, bytes to a FILE *; events
 * stream out as connections finish, so memory stays bounded, and the ones still
 * open are written at the end of input.
 */
#ifndef TD_PERFETTO_H
#define TD_PERFETTO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "conntable.h"

/* The pid the tracks of connections without a known owner are grouped under:
 * above the kernel's PID_MAX_LIMIT (4194304), so never a real tgid. */
#define PF_UNKNOWN_PID 4194305u

/* Processes whose process_name was written; past this, names are written again
 * (duplicates are harmless to the viewers), so memory does not grow. */
#define PF_MAX_PIDS 1024

struct perfetto {
	FILE *f;
	bool started; /* the opening {"traceEvents":[ was written */
	bool first; /* no event written yet: the next one has no leading comma */
	bool closed;
	uint32_t next_tid; /* track ids: 1, 2, ... one per connection */
	uint32_t npids;
	uint32_t pids[PF_MAX_PIDS]; /* process_name written for these */
	uint64_t conns; /* connections written */
	uint64_t slices; /* "X" events written */
};

/* Start a trace on f: writes the opening of the JSON object at once, so even a
 * trace with no connection closes to valid JSON. */
void perfetto__open(struct perfetto *p, FILE *f);

/*
 * Write one finished connection: thread_name metadata for its track (and
 * process_name the first time its pid is seen), then one "X" slice per state
 * whose start is known. ts/dur are microseconds with three decimals (ns exact).
 * args carry cookie, state, dwell_ns (null if unknown), end reason and the
 * flags lower_bound (seeded: the first dwell is a lower bound) and incomplete.
 */
void perfetto__conn(struct perfetto *p, const struct conn *c);

/*
 * Write one connection still open at the end of input (end_ns, kernel time),
 * as perfetto__conn() does, with the state it is in drawn from its start up to
 * end_ns: its dwell_ns is null (not over) and so_far_ns says how long it has
 * lasted. Every slice of the connection has "open":true in args, so a leak
 * (CLOSE_WAIT never left) shows as bars that reach the end of the trace.
 */
void perfetto__open_conn(struct perfetto *p, const struct conn *c, uint64_t end_ns);

/* Close the JSON object ("]}"). Idempotent; call once at the end of input or on
 * a signal, before the final flush. */
void perfetto__close(struct perfetto *p);

#endif /* TD_PERFETTO_H */
