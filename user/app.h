/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The pipeline behind every command, fed the same way by the live tracer (live.c) and by a
 * recording (replay.c): records (app_event), the clock (app_tick), the kernel's loss counters
 * (app_lost) and sockets from the start-up dump (app_seed) go into the connection table, whose
 * hooks call the view the command chose (a struct view_ops, user/views/), and, with record or
 * -w, into a recording. What every view shares lives here: the table, the output stream, the
 * loss accounting and its lines in the stream; what one view needs lives in its file.
 */
#ifndef TD_APP_H
#define TD_APP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "conntable.h"
#include "options.h"
#include "output.h"

struct app;
struct rec_header;
struct rec_writer;

/* What a view tells the pipeline about itself. */
enum view_flags {
	/* The recorder: -o FILE is the recording its records go to, and its table (kept only
	 * for the timewait lookups, app.c) has no view. */
	VIEW_RECORDER = 1 << 0,
	/* Shows lost records, chain breaks and evictions its own way (a screen, metrics, a
	 * report): no lost or evicted lines in the output stream. */
	VIEW_OWN_LOSS = 1 << 1,
};

/*
 * A view: one per command that runs the pipeline. Every hook may be NULL. The table's hooks
 * (transition, finished, stuck) are called from conntable__apply/advance/drain; the rest by
 * the pipeline. A view keeps its own state behind app->view_state.
 * - open: allocate the view's state; 0 or -1 with the reason printed.
 * - start: after the privilege drop, before the first record (a thread to start); 0 or -1
 *   with the reason printed.
 * - accepted: a passive connection was accept()ed after wait_ns in the queue
 *   (conn__accept_wait()); only while the accept tracepoints are on (a->out.accepts).
 * - carried: what a connection carried is known (CT_F_STATS), as its socket closes.
 * - reset: the connection sent or received a reset at ts_ns (c->rst, c->rst_reason).
 * - tick: the clock moved to now (after the table's own advance and the loss lines).
 * - lost: the kernel's loss counters changed to rb (buffer full) and rec (recursion).
 * - close: end of input, after the table was drained: print what is printed at the end,
 *   before the final lost and evicted lines.
 * - end: after those lines, before the output is flushed (timeline's connections still open).
 * - hold: after a replay on a terminal, until the user is done (top keeps its last screen).
 * - free: release the view's state (also after a failed open).
 */
struct view_ops {
	enum td_command cmd;
	unsigned int flags;
	int (*open)(struct app *a);
	int (*start)(struct app *a);
	void (*transition)(struct app *a, const struct conn *c, const struct ct_transition *t);
	void (*finished)(struct app *a, const struct conn *c);
	void (*stuck)(struct app *a, const struct conn *c, int state, uint64_t dwell_ns);
	void (*accepted)(struct app *a, const struct conn *c, uint64_t wait_ns);
	void (*carried)(struct app *a, const struct conn *c);
	void (*reset)(struct app *a, const struct conn *c, uint64_t ts_ns);
	void (*tick)(struct app *a, uint64_t now);
	void (*lost)(struct app *a, uint64_t rb, uint64_t rec);
	void (*close)(struct app *a);
	void (*end)(struct app *a);
	void (*hold)(struct app *a);
	void (*free)(struct app *a);
};

/* The views, one file each in user/views/; view__of() finds a command's (NULL: none). */
extern const struct view_ops view_trace, view_timeline, view_stat, view_top, view_doctor,
    view_serve, view_record;
const struct view_ops *view__of(enum td_command cmd);

struct app {
	struct td_options *o;
	const struct view_ops *view;
	void *view_state;
	struct conntable
	    *table;		/* record: only for the timewait lookups; NULL with --no-timewait */
	struct rec_writer *rec;	 /* record, -w: where the records are also written */
	struct out out;
	bool stop;		    /* a view asked to end (top's 'q') */
	uint64_t now;		    /* kernel time of the last tick */
	uint64_t lost_rb, lost_rec; /* loss counters as last reported */
	uint64_t chain_breaks;	    /* the table's chain breaks as last reported */
	uint64_t reconciled;	    /* connections ended by reconcile passes, as last reported */
	uint64_t evicted;	    /* evictions as last reported */
	uint64_t *seen;		    /* cookies of records applied while seeding */
	size_t nseen, capseen;
	bool seeding;
	char source[64]; /* where records come from, for a view to show ("tp_btf, slots buffer") */
	const struct rec_header *rec_hdr; /* -i: the recording's header */
	struct twdiag *twdiag;		  /* live, with a table and TIME_WAIT: timewait lookups */
	const char *out_path; /* the output's file (timeline -o), for messages; NULL: stdout */
	/* Live: names cgroup ids as records bring them (user/kernel/cgroups.h); NULL on replay,
	 * where the recording's CGROUP records name them, and when there is no cgroup2 mount. */
	struct cgroups *cgroups;
	uint64_t cg_last; /* the last record's cgroup id, when its names are complete */
};

/*
 * Set a up for o's command with its view (o->cmd must have one) and the output stream
 * (stdout, or timeline's -o FILE, --format perfetto, --pair). realtime_offset_ns turns kernel
 * times into UTC. Returns 0, or -1 with the reason printed; app_free() in both cases.
 */
int app_open(struct app *a, struct td_options *o, int64_t realtime_offset_ns);

/* A record, into the recording and the table. */
void app_event(struct app *a, const struct td_event *e);
/* A cgroup id a record or a socket of process pid (0: none) carries: named (live) and, when
 * newly named, written to the recording before the record that carries it. */
void app_cgroup(struct app *a, uint64_t id, uint32_t pid);
/* A recording's names of a cgroup: into the process's table (names.h) and, with -w, the new
 * recording. */
struct rec_cgroup;
void app_cgroup_names(struct app *a, const struct rec_cgroup *g);
/* A socket that existed before the first record: into the table, or the recording. */
void app_seed(struct app *a, const struct conn *c);
/* The clock moved to now: the recording, the table, the loss lines, the view. */
void app_tick(struct app *a, uint64_t now);
/* The kernel's loss counters now read rb and rec. */
void app_lost(struct app *a, uint64_t rb, uint64_t rec);
/* The lost line, when the table's chain breaks or reconciled count changed since it was last
 * printed (or counters_changed). */
void app_report_lost(struct app *a, bool counters_changed);
/* End of input: settle the table and print what is printed at exit. Returns the exit code. */
int app_close(struct app *a);
void app_free(struct app *a);

/* Where the records go: record's -o FILE, or a view's -w FILE; NULL: nowhere. */
const char *app_rec_path(const struct app *a);
/* The output could not be written (errno): says so unless the reader left (EPIPE: exit 0).
 * Returns the exit code. */
int app_write_failed(struct app *a);

/* What doctor weighs TIME_WAIT against, read from this host into h (for recordings, and for a
 * live doctor's report). */
void app_read_host_facts(struct rec_header *h);

/* Set by the signal handler (main.c): every loop that waits ends when it is. */
extern volatile sig_atomic_t app_exiting;

#endif /* TD_APP_H */
