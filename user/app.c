// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The pipeline behind every command (see app.h): records, ticks, loss counters and seeds go
 * into the connection table and the recording; the table's hooks go to the command's view.
 * No source of its own: live.c and replay.c feed it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cgroups.h"
#include "filter.h"
#include "loss.h"
#include "outfile.h"
#include "record.h"
#include "sat.h"
#include "twdiag.h"

volatile sig_atomic_t app_exiting;

static void on_transition(void *arg, const struct conn *c, const struct ct_transition *t)
{
	struct app *a = arg;

	a->view->transition(a, c, t);
}

static void on_finished(void *arg, const struct conn *c)
{
	struct app *a = arg;

	a->view->finished(a, c);
}

static void on_stuck(void *arg, const struct conn *c, int state, uint64_t dwell_ns)
{
	struct app *a = arg;

	a->view->stuck(a, c, state, dwell_ns);
}

static void on_accepted(void *arg, const struct conn *c, uint64_t wait_ns)
{
	struct app *a = arg;

	a->view->accepted(a, c, wait_ns);
}

static void on_carried(void *arg, const struct conn *c)
{
	struct app *a = arg;

	a->view->carried(a, c);
}

static void on_reset(void *arg, const struct conn *c, uint64_t ts_ns)
{
	struct app *a = arg;

	a->view->reset(a, c, ts_ns);
}

static enum ct_verdict on_select(void *arg, const struct conn *c)
{
	struct app *a = arg;

	return filter__conn(a->o, c);
}

const char *app_rec_path(const struct app *a)
{
	return a->view->flags & VIEW_RECORDER ? a->o->output : a->o->write;
}

int app_write_failed(struct app *a)
{
	int err = errno;

	if (err == EPIPE)
		return TD_EXIT_OK; /* `| head` closed the pipe: the user has what they wanted */
	if (a->out_path && strcmp(a->out_path, "-"))
		fprintf(stderr, "tcpdwell: cannot write '%s': %s\n", a->out_path, strerror(err));
	else
		fprintf(stderr, "tcpdwell: cannot write output: %s\n", strerror(err));
	return TD_EXIT_FAIL;
}

/* timeline -o FILE: close it (out__open_view made it); -1 with errno if that failed. */
static int close_view_file(struct app *a)
{
	FILE *f = a->out.owned;

	if (!f)
		return 0;
	a->out.owned = NULL;
	a->out.f = stdout;
	return outfile__close(f);
}

int app_open(struct app *a, struct td_options *o, int64_t realtime_offset_ns)
{
	struct ct_hooks hooks = {
	    .arg = a,
	    /* None: every connection is shown, with no call per connection to say so. */
	    .select = filter__selects_all(o) ? NULL : on_select,
	};
	char err[256];

	memset(a, 0, sizeof(*a));
	a->o = o;
	a->view = view__of(o->cmd);
	out__init(&a->out, stdout, o->json, realtime_offset_ns);
	a->out.wide = o->wide;
	if (!a->view) {
		fprintf(stderr, "tcpdwell: this command has no view\n");
		return -1;
	}
	/* timeline: -o FILE, --format perfetto, --pair */
	if (out__open_view(&a->out, o, err, sizeof(err))) {
		fprintf(stderr, "tcpdwell: %s\n", err);
		return -1;
	}
	if (a->out.owned)
		a->out_path = o->output;
	if (a->view->open && a->view->open(a))
		return -1;
	/*
	 * The recorder keeps a table, with no view behind it, only for the timewait lookups
	 * (twdiag.c), which ask about the connections it holds in the FIN_WAIT2 substate: their
	 * answers go into the recording as records, so that a replay learns a silent re-arm's
	 * TIME_WAIT entry when the live views did.
	 */
	if ((a->view->flags & VIEW_RECORDER) && o->no_timewait)
		return 0;
	/* The table calls only the hooks the view has. */
	if (a->view->transition)
		hooks.transition = on_transition;
	if (a->view->finished)
		hooks.finished = on_finished;
	if (a->view->stuck)
		hooks.stuck = on_stuck;
	if (a->view->accepted)
		hooks.accepted = on_accepted;
	if (a->view->carried)
		hooks.carried = on_carried;
	if (a->view->reset)
		hooks.reset = on_reset;
	a->table = conntable__new(o->max_conns, &hooks);
	if (!a->table) {
		fprintf(stderr, "tcpdwell: cannot allocate a table of %u connections\n",
			o->max_conns);
		return -1;
	}
	for (int s = 1; s < TD_STATE_MAX; s++)
		conntable__set_stuck(a->table, s, o->stuck_ns[s]);
	/* Live, the kernel sends them when asked; a recording says (replay.c). */
	conntable__expect_stats(a->table, o->conn_info && !o->input);
	return 0;
}

void app_event(struct app *a, const struct td_event *e)
{
	if (a->seeding && e->cookie) {
		if (a->nseen == a->capseen) {
			size_t cap = a->capseen ? a->capseen * 2 : 1024;
			uint64_t *v = realloc(a->seen, cap * sizeof(*v));

			if (v) {
				a->seen = v;
				a->capseen = cap;
			}
		}
		if (a->nseen < a->capseen)
			a->seen[a->nseen++] = e->cookie;
	}
	if (e->cgroup != a->cg_last)
		app_cgroup(a, e->cgroup, e->pid);
	if (a->rec)
		rec_writer__event(a->rec, e);
	if (a->table)
		conntable__apply(a->table, e);
}

void app_cgroup(struct app *a, uint64_t id, uint32_t pid)
{
	const struct cg_name *n;
	bool settled;

	a->cg_last = id;
	if (!a->cgroups || !id)
		return;
	n = cgroups__see(a->cgroups, id, pid, &settled);
	if (n && a->rec)
		rec_writer__cgroup(a->rec, n);
	/* Not named yet, or without its pod's or container's name: asked again on the next
	 * record, until cgroups__see() names it or gives up on it. */
	if (!settled)
		a->cg_last = 0;
}

void app_cgroup_names(struct app *a, const struct rec_cgroup *g)
{
	/* The recording's bytes are copied out, cut at the bounds a live tracer keeps and at
	 * a NUL; what they hold is escaped wherever it is shown. */
	char pod[CG_NS_MAX + 1 + CG_NAME_MAX + 1], ctr[CG_NAME_MAX + 1];
	size_t lo = g->pod_len < sizeof(pod) ? g->pod_len : sizeof(pod) - 1;
	size_t lc = g->container_len < sizeof(ctr) ? g->container_len : sizeof(ctr) - 1;
	const struct cg_name *n;

	memcpy(pod, g->pod, lo);
	pod[lo] = 0;
	memcpy(ctr, g->container, lc);
	ctr[lc] = 0;
	n = cgn__set(g->id, g->path, g->path_len, pod, ctr);
	if (n && a->rec)
		rec_writer__cgroup(a->rec, n);
}

void app_seed(struct app *a, const struct conn *c)
{
	/*
	 * The kernel filtered the records (family, ports, netns, cgroup); the
	 * dump covers every namespace. A seed the filters reject can never be
	 * shown: keep it out of the recording, which would otherwise carry
	 * every socket of the host.
	 */
	if (c->cgroup)
		app_cgroup(a, c->cgroup, c->pid);
	if (a->rec && filter__conn(a->o, c) != CT_REJECT)
		rec_writer__seed(a->rec, c);
	if (a->table)
		conntable__seed(a->table, c);
}

/*
 * Evictions are reported in the stream when their count grows, as lost records
 * are: from the tick and at the end, so that a replay prints them where the live
 * view did. Views with VIEW_OWN_LOSS show them their own way.
 */
static void report_evictions(struct app *a, bool final)
{
	uint64_t n = conntable__stats(a->table)->evicted;

	if (a->view->flags & VIEW_OWN_LOSS)
		return;
	if (n != a->evicted || (final && n))
		out__evicted(&a->out, n, a->o->max_conns);
	a->evicted = n;
}

/*
 * The lost line, in the stream: when the kernel's loss counters change (app_lost())
 * and, from the tick, when the table counts a chain break, which is a loss too: with
 * the kernel's counters unchanged, one that went missing uncounted. A replay
 * recomputes the breaks and prints them where the live view did. Views with
 * VIEW_OWN_LOSS show them their own way.
 */
void app_report_lost(struct app *a, bool counters_changed)
{
	uint64_t n = conntable__stats(a->table)->gaps;
	uint64_t r = conntable__stats(a->table)->reconciled;

	if (!counters_changed && n == a->chain_breaks && r == a->reconciled)
		return;
	a->chain_breaks = n;
	a->reconciled = r;
	if (!(a->view->flags & VIEW_OWN_LOSS))
		out__lost(&a->out, a->lost_rb, a->lost_rec, n, r);
}

void app_tick(struct app *a, uint64_t now)
{
	a->now = now;
	if (a->rec)
		rec_writer__tick(a->rec, now);
	if (!a->table)
		return;
	conntable__advance(a->table, now);
	report_evictions(a, false);
	app_report_lost(a, false);
	if (a->view->tick)
		a->view->tick(a, now);
}

void app_lost(struct app *a, uint64_t rb, uint64_t rec)
{
	if (rb == a->lost_rb && rec == a->lost_rec)
		return;
	a->lost_rb = rb;
	a->lost_rec = rec;
	if (a->rec) {
		struct rec_lost l = {.ts_ns = a->now, .ringbuf = rb, .recursion = rec};

		rec_writer__lost(a->rec, &l);
	}
	if (a->view->flags & VIEW_RECORDER) {
		char t[24], b[24], r[24];

		if (a->table)
			conntable__mark_loss(a->table);

		fprintf(stderr,
			"tcpdwell: lost %s records (buffer full %s, recursion %s); the recording "
			"marks where\n",
			loss__fmt(t, sizeof(t), loss__add(rb, rec)), loss__fmt(b, sizeof(b), rb),
			loss__fmt(r, sizeof(r), rec));
		return;
	}
	conntable__mark_loss(a->table);
	if (a->view->lost)
		a->view->lost(a, rb, rec);
	app_report_lost(a, true);
}

int app_close(struct app *a)
{
	const struct ct_stats *cs;
	int ret = TD_EXIT_OK;

	if (a->rec) {
		const char *path = app_rec_path(a);

		if (rec_writer__end(a->rec, a->now)) {
			fprintf(stderr, "tcpdwell: cannot write '%s': %s\n", path,
				strerror(a->rec->err));
			ret = TD_EXIT_FAIL;
		} else {
			fprintf(stderr,
				"tcpdwell: recorded %" PRIu64 " records (%" PRIu64
				" bytes) to '%s'\n",
				a->rec->records, a->rec->bytes, path);
		}
	}
	if (!a->table || (a->view->flags & VIEW_RECORDER))
		return ret;
	cs = conntable__stats(a->table);
	conntable__drain(a->table);
	if (a->view->close)
		a->view->close(a);
	if ((a->lost_rb || a->lost_rec || cs->gaps || cs->reconciled) &&
	    !(a->view->flags & VIEW_OWN_LOSS))
		out__lost(&a->out, a->lost_rb, a->lost_rec, cs->gaps, cs->reconciled);
	report_evictions(a, true);
	if (cs->evicted)
		fprintf(stderr, "tcpdwell: %" PRIu64 " connections evicted (--max-conns %u)\n",
			cs->evicted, a->o->max_conns);
	if (a->view->end)
		a->view->end(a);
	/* --pair: print the sides still held; perfetto: close the JSON (also on SIGINT) */
	out__end_view(&a->out);
	if (out__flush(&a->out) || close_view_file(a))
		ret = app_write_failed(a);
	return ret;
}

void app_free(struct app *a)
{
	/* Still open after a failure that was reported already: only released. */
	if (a->out.owned)
		fclose(a->out.owned);
	a->out.owned = NULL;
	if (a->view && a->view->free)
		a->view->free(a);
	a->view_state = NULL;
	conntable__free(a->table);
	a->table = NULL;
}

const struct view_ops *view__of(enum td_command cmd)
{
	static const struct view_ops *const views[] = {
	    &view_trace,  &view_timeline, &view_stat,	&view_top,
	    &view_doctor, &view_serve,	  &view_record,
	};

	for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
		if (views[i]->cmd == cmd)
			return views[i];
	return NULL;
}

/* A sysctl of the tracing host (this network namespace's): one or two numbers. */
static bool read_sysctl(const char *path, int n, unsigned long long *v1, unsigned long long *v2)
{
	FILE *f = fopen(path, "r");
	bool ok = f && fscanf(f, "%llu %llu", v1, v2) >= n;

	if (f)
		fclose(f);
	return ok;
}

void app_read_host_facts(struct rec_header *h)
{
	unsigned long long lo = 0, hi = 0, tw = 0, unused;

	h->port_range_known = read_sysctl("/proc/sys/net/ipv4/ip_local_port_range", 2, &lo, &hi) &&
			      lo && lo <= hi && hi <= 65535;
	h->port_lo = h->port_range_known ? (uint16_t)lo : 0;
	h->port_hi = h->port_range_known ? (uint16_t)hi : 0;
	h->max_tw_buckets_known =
	    read_sysctl("/proc/sys/net/ipv4/tcp_max_tw_buckets", 1, &tw, &unused) &&
	    tw <= UINT32_MAX;
	h->max_tw_buckets = h->max_tw_buckets_known ? (uint32_t)tw : 0;
}
