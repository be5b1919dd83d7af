// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tcpdwell doctor`: transitions and finished connections feed the diagnosis (doctor.c);
 * at the end, the connections still open and what is known of the host go in too, and the
 * report is printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "app.h"
#include "doctor.h"
#include "record.h"

struct doctor_view {
	struct doctor *d;
	uint64_t start; /* kernel time of the first tick */
};

static int doctor_open(struct app *a)
{
	struct doctor_view *v = calloc(1, sizeof(*v));

	a->view_state = v;
	if (v)
		v->d = doctor__new(&a->o->doctor);
	if (!v || !v->d) {
		fprintf(stderr, "tcpdwell: out of memory\n");
		return -1;
	}
	return 0;
}

static void doctor_transition(struct app *a, const struct conn *c, const struct ct_transition *t)
{
	struct doctor_view *v = a->view_state;

	doctor__transition(v->d, c, t);
}

static void doctor_finished(struct app *a, const struct conn *c)
{
	struct doctor_view *v = a->view_state;

	/* Known before the first record (live: once the tracer is loaded; replay: from the
	 * header), which may come before the first tick (the seeding's). */
	doctor__set_accepts(v->d, a->out.accepts);
	doctor__finished(v->d, c);
}

static void doctor_accepted(struct app *a, const struct conn *c, uint64_t wait_ns)
{
	struct doctor_view *v = a->view_state;

	doctor__accepted(v->d, c, wait_ns);
}

static void doctor_tick(struct app *a, uint64_t now)
{
	struct doctor_view *v = a->view_state;

	if (!v->start)
		v->start = now;
}

/* Said in the report, not in its stream. */
static void doctor_lost(struct app *a, uint64_t rb, uint64_t rec)
{
	struct doctor_view *v = a->view_state;

	doctor__lost(v->d, rb, rec);
}

static void open_conn(void *arg, const struct conn *c)
{
	struct app *a = arg;
	struct doctor_view *v = a->view_state;

	doctor__open_conn(v->d, c, a->now);
}

/* The connections still open, what is known of the host, then the report. */
static void doctor_close(struct app *a)
{
	struct doctor_view *v = a->view_state;
	struct doctor_host h = {
	    .source = a->o->input ? "recording" : "live",
	    .start_ns = v->start,
	    .end_ns = a->now,
	    .evicted = conntable__stats(a->table)->evicted,
	    .chain_breaks = conntable__stats(a->table)->gaps,
	};
	struct rec_header live;
	const struct rec_header *facts = a->rec_hdr;
	struct utsname u;

	doctor__set_accepts(v->d, a->out.accepts);
	conntable__foreach(a->table, open_conn, a);
	if (!facts) {
		memset(&live, 0, sizeof(live));
		app_read_host_facts(&live);
		if (!uname(&u))
			snprintf(live.host, sizeof(live.host), "%s", u.nodename);
		facts = &live;
	}
	/* A recording without them (an older one): not known, and the report says so. */
	h.host = facts->host;
	if (facts->port_range_known) {
		h.port_lo = facts->port_lo;
		h.port_hi = facts->port_hi;
	}
	if (facts->max_tw_buckets_known)
		h.max_tw_buckets = facts->max_tw_buckets;
	doctor__report(v->d, &h, a->out.f, a->o->json, a->out.realtime_offset_ns);
}

static void doctor_free(struct app *a)
{
	struct doctor_view *v = a->view_state;

	if (!v)
		return;
	doctor__free(v->d);
	free(v);
}

const struct view_ops view_doctor = {
    .cmd = TD_CMD_DOCTOR,
    .flags = VIEW_OWN_LOSS,
    .open = doctor_open,
    .transition = doctor_transition,
    .finished = doctor_finished,
    .accepted = doctor_accepted,
    .tick = doctor_tick,
    .lost = doctor_lost,
    .close = doctor_close,
    .free = doctor_free,
};
