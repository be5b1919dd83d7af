// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tcpdwell's entry point: parses the command line, wires the pipeline
 * (source -> conntable -> filters/stats -> output) for the chosen command and
 * runs it until a signal, --duration, the end of a recording or a closed output
 * ends it. The source is the live tracer or a recording (-i); `record` sends the
 * live tracer's records to a file instead of the table.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "fmt.h"
#include "cli.h"
#include "conntable.h"
#include "doctor.h"
#include "filter.h"
#include "loss.h"
#include "metrics.h"
#include "outfile.h"
#include "output.h"
#include "privdrop.h"
#include "record.h"
#include "sat.h"
#include "state.h"
#include "stats.h"
#include "seed.h"
#include "serve.h"
#include "top.h"
#include "tracer.h"
#include "twdiag.h"

#define SERVE_DEFAULT_LISTEN "127.0.0.1:9877"

static volatile sig_atomic_t exiting;

/*
 * Output buffers. setvbuf() with a NULL buffer keeps glibc's own size
 * (st_blksize, 4 KiB on ext4), so a busy trace became one write() per 4 KiB,
 * each zeroing the rest of a page-cache folio: give the streams real ones.
 */
#define OUT_BUF_SIZE (1 << 20)
static char stdout_buf[OUT_BUF_SIZE];
static char record_buf[OUT_BUF_SIZE];

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

struct app {
	struct td_options *o;
	struct conntable *table; /* NULL for record */
	struct rec_writer *rec;	 /* record, -w: where the records are also written */
	struct stat_table stats;
	struct out out;
	bool stats_failed;
	uint64_t now; /* kernel time of the last tick */
	uint64_t next_stat; /* --interval: next table due */
	uint64_t lost_rb, lost_rec; /* loss counters as last reported */
	uint64_t chain_breaks; /* the table's chain breaks as last reported */
	uint64_t reconciled; /* connections ended by reconcile passes, as last reported */
	uint64_t evicted; /* evictions as last reported */
	uint64_t *seen; /* cookies of records applied while seeding */
	size_t nseen, capseen;
	bool seeding;
	struct conn *seeds; /* sockets from the dump, waiting for the drain */
	size_t nseeds, capseeds;
	struct top *top; /* top */
	struct top_snapshot *snap;
	struct top_rate top_rate;
	uint64_t next_top;
	char top_source[64];
	struct metrics *metrics; /* serve */
	struct server *server;
	uint64_t next_publish;
	struct doctor *doctor; /* doctor */
	uint64_t doctor_start; /* doctor: kernel time of the first tick */
	const struct rec_header *rec_hdr; /* -i: the recording's header */
	struct twdiag *twdiag; /* live, with a table and TIME_WAIT: timewait lookups */
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

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
	default:
		return NULL;
	}
}

/* A dwell for stat --by KEY: out of line, so that the usual unsplit table's
 * path (on_transition) needs no key buffer. */
static __attribute__((noinline)) int add_by_key(struct app *a, const struct conn *c,
						const struct ct_transition *t)
{
	char key[64];

	return stat_table__add(&a->stats, t->old, by_key(a, c, key, sizeof(key)), t->dwell_ns);
}

static void on_transition(void *arg, const struct conn *c, const struct ct_transition *t)
{
	struct app *a = arg;

	/* Only measured dwell feeds statistics: not unknown, not lower bounds. Only
	 * stat prints them. */
	if (a->o->cmd == TD_CMD_STAT && t->dwell_ns != CT_DWELL_UNKNOWN && !t->dwell_lower_bound &&
	    (!a->o->states || (a->o->states & (1u << t->old)))) {
		if ((a->o->by == TD_BY_NONE ? stat_table__add(&a->stats, t->old, NULL, t->dwell_ns) :
					      add_by_key(a, c, t)) < 0)
			a->stats_failed = true;
	}
	if (a->o->cmd == TD_CMD_TRACE && filter__transition(a->o, t))
		out__transition(&a->out, c, t);
	if (a->metrics)
		metrics__transition(a->metrics, c, t);
	if (a->doctor)
		doctor__transition(a->doctor, c, t);
}

static void on_finished(void *arg, const struct conn *c)
{
	struct app *a = arg;

	if (a->o->cmd == TD_CMD_TIMELINE && filter__timeline(a->o, c))
		out__timeline(&a->out, c);
	if (a->doctor)
		doctor__finished(a->doctor, c);
}

static void on_stuck(void *arg, const struct conn *c, int state, uint64_t dwell_ns)
{
	struct app *a = arg;

	if (a->o->cmd == TD_CMD_TRACE || a->o->cmd == TD_CMD_TIMELINE)
		out__stuck(&a->out, c, state, dwell_ns);
}

/* timeline at the end of input: the connections still open (perfetto draws them). */
static void open_at_end(void *arg, const struct conn *c)
{
	struct app *a = arg;

	if (filter__timeline(a->o, c))
		out__open_timeline(&a->out, c, a->now);
}

static enum ct_verdict on_select(void *arg, const struct conn *c)
{
	struct app *a = arg;

	return filter__conn(a->o, c);
}

/*
 * --cgroup PATH: the cgroup v2 id is the directory's inode number; the level is
 * its depth below the cgroup2 mount. Returns 0, or -1 with a message.
 */
static int resolve_cgroup(const char *path, uint64_t *id, int *level, char *err, size_t len)
{
	char real[PATH_MAX], line[4096], mnt[PATH_MAX] = "";
	struct stat st;
	FILE *f;

	if (!realpath(path, real) || stat(real, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(err, len, "invalid cgroup '%s' in --cgroup: %s", path,
			 errno ? strerror(errno) : "not a directory");
		return -1;
	}
	f = fopen("/proc/self/mountinfo", "r");
	while (f && fgets(line, sizeof(line), f)) {
		char m[PATH_MAX], fstype[64];

		/* "... mountpoint opts ... - fstype source opts" */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", m) != 1)
			continue;
		char *dash = strstr(line, " - ");

		if (!dash || sscanf(dash + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
			continue;
		if (!strncmp(real, m, strlen(m)) && strlen(m) > strlen(mnt))
			snprintf(mnt, sizeof(mnt), "%s", m);
	}
	if (f)
		fclose(f);
	if (!mnt[0]) {
		snprintf(err, len, "invalid cgroup '%s' in --cgroup: not under a cgroup v2 mount",
			 path);
		return -1;
	}
	*id = st.st_ino;
	*level = 0;
	for (const char *p = real + strlen(mnt); *p; p++)
		if (*p == '/' && p[1])
			(*level)++;
	if (strlen(real) > strlen(mnt) && real[strlen(mnt)] != '/')
		(*level)++;
	if (strcmp(mnt, "/") == 0) {
		*level = 0;
		for (const char *p = real; *p; p++)
			if (*p == '/' && p[1])
				(*level)++;
	}
	return 0;
}

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static int try_read_lost(void *tr)
{
	return tracer__lost_readable(tr);
}

/*
 * Once the programs are attached, the socket dump is read and the files are open,
 * tracing needs no privilege: the buffers, maps and programs are descriptors
 * tcpdwell holds. Become pd's user with no capabilities (privdrop.h), with one
 * exception: kernels before 5.19 with kernel.unprivileged_bpf_disabled refuse
 * every bpf() command without CAP_BPF (kernel/bpf/syscall.c, __sys_bpf), so the
 * loss counters (a map lookup, each program's recursion_misses) could no longer
 * be read. Whether this kernel does is asked of a child that drops everything and
 * tries; only if it is refused for want of privilege is CAP_BPF kept, alone.
 * Returns 0, or -1 with the one line printed.
 */
static int drop_live(struct app *a, struct privdrop *pd, struct tracer *tr)
{
	char err[512];
	int r = tracer__lost_readable(tr);

	if (!r) {
		r = privdrop__probe(pd, try_read_lost, tr);
		if (r == EPERM || r == EACCES) {
			if (privdrop__permitted(CAP_BPF))
				pd->keep = 1ULL << CAP_BPF;
			else
				fprintf(stderr,
					"tcpdwell: warning: this kernel reads loss counters only with "
					"CAP_BPF, which is not held: losses after start are unknown\n");
		}
	}
	if (privdrop__apply(pd, err, sizeof(err))) {
		if (a->o->json)
			out__error(&a->out, err);
		out__flush(&a->out);
		fprintf(stderr, "tcpdwell: %s\n", err);
		return -1;
	}
	return 0;
}

/* -v: who tcpdwell became and what it kept. */
static void report_drop(const struct td_options *o, const struct privdrop *pd)
{
	if (!o->verbose)
		return;
	if (pd->fallback)
		fprintf(stderr, "tcpdwell: no user 'nobody' on this host: using %s\n", pd->who);
	fprintf(stderr,
		"tcpdwell: privileges: %s %s%s; capabilities: %s; bounding set %s%s%s; "
		"no_new_privs\n",
		pd->switch_ids ? "running as" : "staying", pd->who,
		pd->switch_ids ? ", no supplementary groups" : " (not started as root)",
		pd->keep ? "CAP_BPF only (the kernel wants it to read loss counters)" : "none",
		pd->bounding_cleared ? "cleared" : "kept (",
		pd->bounding_cleared ? "" : strerror(pd->bounding_errno),
		pd->bounding_cleared ? "" : ": no CAP_SETPCAP; no_new_privs makes it moot)");
}

/* Where the records go: record's -o FILE, or a view's -w FILE (timeline's -o is its text). */
static const char *rec_path(const struct td_options *o)
{
	return o->cmd == TD_CMD_RECORD ? o->output : o->write;
}

static int write_failed(struct app *a)
{
	const char *path = a->o->cmd == TD_CMD_TIMELINE ? a->o->output : NULL;
	int err = errno;

	if (err == EPIPE)
		return TD_EXIT_OK; /* `| head` closed the pipe: the user has what they wanted */
	if (path && strcmp(path, "-"))
		fprintf(stderr, "tcpdwell: cannot write '%s': %s\n", path, strerror(err));
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

static void print_stats(struct app *a, uint64_t now)
{
	stat_table__sort(&a->stats);
	if (!a->o->json)
		fprintf(a->out.f, "\n");
	out__stats(&a->out, &a->stats, a->o->by, a->o->hist, now);
}

/*
 * The pipeline behind every view, fed the same way by the live tracer and by a
 * recording: records (app_event), the clock (app_tick), the kernel's loss
 * counters (app_lost) and sockets from the start-up dump (app_seed).
 */
static int app_open(struct app *a, struct td_options *o, int64_t realtime_offset_ns)
{
	struct ct_hooks hooks = {
		.transition = on_transition,
		.finished = on_finished,
		.stuck = on_stuck,
		/* None: every connection is shown, with no call per connection to say so. */
		.select = filter__selects_all(o) ? NULL : on_select,
		.arg = a,
	};

	memset(a, 0, sizeof(*a));
	a->o = o;
	stat_table__init(&a->stats, 4096);
	out__init(&a->out, stdout, o->json, realtime_offset_ns);
	{
		char err[256];

		/* timeline: -o FILE, --format perfetto, --pair */
		if (out__open_view(&a->out, o, err, sizeof(err))) {
			fprintf(stderr, "tcpdwell: %s\n", err);
			return -1;
		}
	}
	a->next_stat = UINT64_MAX;
	if (o->cmd == TD_CMD_RECORD)
		return 0;
	a->table = conntable__new(o->max_conns, &hooks);
	if (!a->table) {
		fprintf(stderr, "tcpdwell: cannot allocate a table of %u connections\n",
			o->max_conns);
		return -1;
	}
	for (int s = 1; s < TD_STATE_MAX; s++)
		conntable__set_stuck(a->table, s, o->stuck_ns[s]);
	if (o->cmd == TD_CMD_DOCTOR) {
		a->doctor = doctor__new(&o->doctor);
		if (!a->doctor) {
			fprintf(stderr, "tcpdwell: out of memory\n");
			return -1;
		}
	}
	if (o->cmd == TD_CMD_TOP) {
		a->snap = calloc(1, sizeof(*a->snap));
		a->top = top__open(isatty(STDOUT_FILENO), o);
		if (!a->snap || !a->top) {
			fprintf(stderr, "tcpdwell: cannot set up the terminal\n");
			return -1;
		}
	}
	if (o->cmd == TD_CMD_SERVE) {
		char err[256];

		a->metrics = calloc(1, sizeof(*a->metrics));
		if (!a->metrics)
			return -1;
		metrics__init(a->metrics, o->by == TD_BY_LPORT);
		memcpy(a->metrics->stuck_ns, o->stuck_ns, sizeof(o->stuck_ns));
		a->metrics->states = o->states;
		/* Bound now, served once the capabilities are gone (run_live). */
		a->server = server__open(o->listen ?: SERVE_DEFAULT_LISTEN, err, sizeof(err));
		if (!a->server) {
			fprintf(stderr, "tcpdwell: %s\n", err);
			return -1;
		}
	}
	return 0;
}

static void app_event(struct app *a, const struct td_event *e)
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
	if (a->rec)
		rec_writer__event(a->rec, e);
	if (a->table)
		conntable__apply(a->table, e);
}

/* A socket that existed before the first record: into the table, or the recording. */
static void app_seed(struct app *a, const struct conn *c)
{
	/*
	 * The kernel filtered the records (family, ports, netns, cgroup); the
	 * dump covers every namespace. A seed the filters reject can never be
	 * shown: keep it out of the recording, which would otherwise carry
	 * every socket of the host.
	 */
	if (a->rec && filter__conn(a->o, c) != CT_REJECT)
		rec_writer__seed(a->rec, c);
	if (a->table)
		conntable__seed(a->table, c);
}

static void collect_seed(void *arg, const struct conn *c)
{
	struct app *a = arg;

	if (a->nseeds == a->capseeds) {
		size_t cap = a->capseeds ? a->capseeds * 2 : 256;
		struct conn *v = realloc(a->seeds, cap * sizeof(*v));

		if (!v)
			return;
		a->seeds = v;
		a->capseeds = cap;
	}
	a->seeds[a->nseeds++] = *c;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/*
 * Seed the table with the sockets that exist now. The programs are attached
 * first, so nothing that happens during the dump is missed; records that
 * arrived meanwhile are applied first and win: a socket they mention is newer
 * than its dump entry (it may even be gone already), so its seed is dropped.
 */
static void app_seed_from_dump(struct app *a, struct tracer *tr)
{
	struct seed_stats st;
	char err[256];

	a->seeding = true;
	if (seed__dump(clock_ns(CLOCK_MONOTONIC), collect_seed, a, &st, err, sizeof(err)))
		fprintf(stderr, "tcpdwell: warning: sockets open before the start are not known: %s\n",
			err);
	tracer__poll(tr, 0);
	a->seeding = false;
	if (a->nseen)
		qsort(a->seen, a->nseen, sizeof(*a->seen), cmp_u64);
	for (size_t i = 0; i < a->nseeds; i++) {
		uint64_t ck = a->seeds[i].cookie;

		if (ck && a->nseen && bsearch(&ck, a->seen, a->nseen, sizeof(ck), cmp_u64))
			continue;
		app_seed(a, &a->seeds[i]);
	}
	if (a->o->verbose)
		fprintf(stderr, "tcpdwell: %u sockets found at start in %u network namespaces "
				"(%u not entered)\n",
			st.sockets, st.netns, st.netns_skipped);
	free(a->seen);
	free(a->seeds);
	a->seen = NULL;
	a->seeds = NULL;
	a->nseen = a->nseeds = 0;
}

/* Render the metrics and hand them to the HTTP thread. */
static void publish_metrics(struct app *a, uint64_t now)
{
	char *text[2] = { NULL, NULL };
	size_t len[2] = { 0, 0 };

	metrics__gauges(a->metrics, a->table, now);
	a->metrics->evictions = conntable__stats(a->table)->evicted;
	a->metrics->tw_lookups = conntable__stats(a->table)->tw_asked;
	a->metrics->tw_time_wait = conntable__stats(a->table)->tw_diag_tw;
	a->metrics->tw_gone = conntable__stats(a->table)->tw_gone;
	a->metrics->tw_uncheckable = conntable__stats(a->table)->tw_uncheckable;
	a->metrics->chain_breaks = conntable__stats(a->table)->gaps;
	a->metrics->reconciled = conntable__stats(a->table)->reconciled;
	a->metrics->reconcile_passes = conntable__stats(a->table)->reconcile_passes;
	for (int om = 0; om < 2; om++) {
		FILE *f = open_memstream(&text[om], &len[om]);

		if (!f)
			return;
		metrics__render(a->metrics, f, om, TD_VERSION);
		fclose(f);
	}
	server__publish(a->server, text[0], len[0], text[1], len[1]);
}

static void draw_top(struct app *a, uint64_t now)
{
	struct top_input in = {
		.realtime_offset_ns = a->out.realtime_offset_ns,
		.transitions_per_s =
			top__rate(&a->top_rate, now, conntable__stats(a->table)->transitions),
		.lost_ringbuf = a->lost_rb,
		.lost_recursion = a->lost_rec,
		.chain_breaks = conntable__stats(a->table)->gaps,
		.source = a->top_source,
	};

	top__collect(a->snap, a->table, now, top__view(a->top), &in);
	if (top__draw(a->top, a->snap))
		exiting = 1;
}

/*
 * Evictions are reported in the stream when their count grows, as lost records
 * are: from the tick and at the end, so that a replay prints them where the live
 * view did. serve, top and doctor show them their own way.
 */
static void report_evictions(struct app *a, bool final)
{
	uint64_t n = conntable__stats(a->table)->evicted;

	if (a->o->cmd == TD_CMD_SERVE || a->o->cmd == TD_CMD_TOP || a->doctor)
		return;
	if (n != a->evicted || (final && n))
		out__evicted(&a->out, n, a->o->max_conns);
	a->evicted = n;
}

/*
 * The lost line, in the stream: when the kernel's loss counters change (app_lost())
 * and, from the tick, when the table counts a chain break, which is a loss too: with
 * the kernel's counters unchanged, one that went missing uncounted. A replay
 * recomputes the breaks and prints them where the live view did. serve, top and
 * doctor show them their own way.
 */
static void report_lost(struct app *a, bool counters_changed)
{
	uint64_t n = conntable__stats(a->table)->gaps;
	uint64_t r = conntable__stats(a->table)->reconciled;

	if (!counters_changed && n == a->chain_breaks && r == a->reconciled)
		return;
	a->chain_breaks = n;
	a->reconciled = r;
	if (a->o->cmd != TD_CMD_SERVE && a->o->cmd != TD_CMD_TOP && !a->doctor)
		out__lost(&a->out, a->lost_rb, a->lost_rec, n, r);
}

static void app_tick(struct app *a, uint64_t now)
{
	a->now = now;
	if (a->rec)
		rec_writer__tick(a->rec, now);
	if (!a->table)
		return;
	if (a->doctor && !a->doctor_start)
		a->doctor_start = now;
	if (a->next_stat == UINT64_MAX && a->o->interval_ns && a->o->cmd == TD_CMD_STAT)
		a->next_stat = sat__add(now, a->o->interval_ns);
	a->now = now;
	conntable__advance(a->table, now);
	report_evictions(a, false);
	report_lost(a, false);
	if (a->top) {
		int k = top__keys(a->top);

		if (k == TOP_QUIT)
			exiting = 1;
		else if (now >= a->next_top || k == TOP_REFRESH)
			draw_top(a, now);
		if (now >= a->next_top)
			a->next_top = sat__add(now, a->o->interval_ns ?: 1000000000ULL);
	}
	if (a->server && now >= a->next_publish) {
		publish_metrics(a, now);
		a->next_publish = sat__add(now, a->o->interval_ns ?: 1000000000ULL);
	}
	/* UINT64_MAX: none due (no --interval, or the next one is past the end of time). */
	if (now >= a->next_stat && a->next_stat != UINT64_MAX) {
		print_stats(a, now);
		a->next_stat = sat__next_due(a->next_stat, now, a->o->interval_ns);
	}
}

static void app_lost(struct app *a, uint64_t rb, uint64_t rec)
{
	if (rb == a->lost_rb && rec == a->lost_rec)
		return;
	a->lost_rb = rb;
	a->lost_rec = rec;
	if (a->rec) {
		struct rec_lost l = { .ts_ns = a->now, .ringbuf = rb, .recursion = rec };

		rec_writer__lost(a->rec, &l);
	}
	if (!a->table) {
		char t[24], b[24], r[24];

		fprintf(stderr,
			"tcpdwell: lost %s records (buffer full %s, recursion %s); the recording "
			"marks where\n",
			loss__fmt(t, sizeof(t), loss__add(rb, rec)), loss__fmt(b, sizeof(b), rb),
			loss__fmt(r, sizeof(r), rec));
		return;
	}
	conntable__mark_loss(a->table);
	if (a->doctor)
		doctor__lost(a->doctor, rb, rec); /* said in the report, not in its stream */
	if (a->metrics) {
		a->metrics->lost_ringbuf = rb;
		a->metrics->lost_recursion = rec;
	}
	report_lost(a, true);
}

static void doctor_open_conn(void *arg, const struct conn *c)
{
	struct app *a = arg;

	doctor__open_conn(a->doctor, c, a->now);
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

/*
 * What doctor weighs TIME_WAIT against, read from this host into h: written to
 * recordings, so that doctor -i judges by the recording host's own settings.
 */
static void read_host_facts(struct rec_header *h)
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

/* doctor: the connections still open, what is known of the host, then the report. */
static void doctor_report(struct app *a)
{
	struct doctor_host h = {
		.source = a->o->input ? "recording" : "live",
		.start_ns = a->doctor_start,
		.end_ns = a->now,
		.evicted = conntable__stats(a->table)->evicted,
		.chain_breaks = conntable__stats(a->table)->gaps,
	};
	struct rec_header live;
	const struct rec_header *facts = a->rec_hdr;
	struct utsname u;

	conntable__foreach(a->table, doctor_open_conn, a);
	if (!facts) {
		memset(&live, 0, sizeof(live));
		read_host_facts(&live);
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
	doctor__report(a->doctor, &h, a->out.f, a->o->json, a->out.realtime_offset_ns);
}

/* End of input: settle the table and print what is printed at exit. */
static int app_close(struct app *a)
{
	const struct ct_stats *cs;
	int ret = TD_EXIT_OK;

	if (a->rec) {
		const char *path = rec_path(a->o);

		if (rec_writer__end(a->rec, a->now)) {
			fprintf(stderr, "tcpdwell: cannot write '%s': %s\n", path,
				strerror(a->rec->err));
			ret = TD_EXIT_FAIL;
		} else {
			fprintf(stderr,
				"tcpdwell: recorded %" PRIu64 " records (%" PRIu64 " bytes) to '%s'\n",
				a->rec->records, a->rec->bytes, path);
		}
	}
	if (!a->table)
		return ret;
	cs = conntable__stats(a->table);
	conntable__drain(a->table);
	if (a->o->cmd == TD_CMD_STAT) {
		print_stats(a, a->now);
		if (!a->o->json && !a->lost_rb && !a->lost_rec && !cs->gaps)
			fprintf(a->out.f, "LOST 0 records\n");
	}
	if (a->doctor)
		doctor_report(a);
	/* Snapshots (top without a terminal) end with the state at the end. */
	if (a->top && !isatty(STDOUT_FILENO))
		draw_top(a, a->now);
	if ((a->lost_rb || a->lost_rec || cs->gaps || cs->reconciled) &&
	    a->o->cmd != TD_CMD_SERVE && !a->doctor)
		out__lost(&a->out, a->lost_rb, a->lost_rec, cs->gaps, cs->reconciled);
	report_evictions(a, true);
	if (cs->evicted)
		fprintf(stderr, "tcpdwell: %" PRIu64 " connections evicted (--max-conns %u)\n",
			cs->evicted, a->o->max_conns);
	if (a->stats_failed)
		fprintf(stderr, "tcpdwell: out of memory: some samples were not counted\n");
	if (a->o->cmd == TD_CMD_TIMELINE)
		conntable__foreach(a->table, open_at_end, a);
	/* --pair: print the sides still held; perfetto: close the JSON (also on SIGINT) */
	out__end_view(&a->out);
	if (out__flush(&a->out) || close_view_file(a))
		ret = write_failed(a);
	return ret;
}

static void app_free(struct app *a)
{
	/* Still open after a failure that was reported already: only released. */
	if (a->out.owned)
		fclose(a->out.owned);
	top__close(a->top);
	free(a->snap);
	server__stop(a->server);
	free(a->metrics);
	conntable__free(a->table);
	stat_table__free(&a->stats);
	doctor__free(a->doctor);
}

static void on_event_ahead(void *arg, const struct td_event *e)
{
	struct app *a = arg;

	if (a->table)
		conntable__prefetch(a->table, e);
}

static void on_event(void *arg, const struct td_event *e)
{
	app_event(arg, e);
}

/* The command line as typed, for the header of a recording. */
static char command_line[REC_OPTIONS_MAX + 1];

static void save_command_line(int argc, char **argv)
{
	size_t off = 0;

	for (int i = 0; i < argc && off < sizeof(command_line) - 1; i++)
		off += (size_t)snprintf(command_line + off, sizeof(command_line) - off, "%s%s",
					i ? " " : "", argv[i]);
}

/* record: open -o FILE ("-" is stdout) and write the header. Returns 0 or -1 with a message. */
static int open_recording(struct app *a, struct rec_writer *w, int64_t realtime_offset_ns,
			  uint64_t start_ns)
{
	struct rec_header h = { .realtime_offset_ns = realtime_offset_ns, .start_ns = start_ns };
	const char *path = rec_path(a->o);
	struct utsname u;
	char err[PATH_MAX + 64];
	FILE *f;

	if (!uname(&u)) {
		snprintf(h.host, sizeof(h.host), "%s", u.nodename);
		snprintf(h.kernel, sizeof(h.kernel), "%s", u.release);
	}
	snprintf(h.options, sizeof(h.options), "%s", command_line);
	read_host_facts(&h);
	f = outfile__create(path, a->o->force, err, sizeof(err));
	if (!f) {
		fprintf(stderr, "tcpdwell: %s\n", err);
		return -1;
	}
	if (f != stdout) /* stdout has its buffer from main() */
		setvbuf(f, record_buf, _IOFBF, sizeof(record_buf));
	if (rec_writer__init(w, f, &h)) {
		fprintf(stderr, "tcpdwell: cannot write '%s': %s\n", path, strerror(errno));
		outfile__close(f);
		return -1;
	}
	a->rec = w;
	return 0;
}

static int close_recording(struct app *a)
{
	FILE *f;

	if (!a->rec)
		return 0;
	f = a->rec->f;
	a->rec = NULL;
	if (outfile__close(f)) {
		fprintf(stderr, "tcpdwell: cannot write '%s': %s\n", rec_path(a->o),
			strerror(errno));
		return -1;
	}
	return 0;
}

/* The time the table and the views may move to: now, but never past the tracer's
 * until, so that nothing is judged before its records are in (tracer__until). */
static uint64_t table_clock(const struct tracer *tr, uint64_t now)
{
	uint64_t until = tracer__until(tr);

	return until < now ? until : now;
}

/* -v: what the timewait lookups did. */
static void twdiag_report(struct app *a)
{
	const struct twdiag_stats *s = twdiag__stats(a->twdiag);
	const struct ct_stats *cs = conntable__stats(a->table);

	fprintf(stderr,
		"tcpdwell: timewait lookups: %" PRIu64 " sent (%" PRIu64 " TIME_WAIT, %" PRIu64
		" still FIN_WAIT2, %" PRIu64 " gone, %" PRIu64 " failed, %" PRIu64
		" unanswered) in %.1f ms of CPU, %" PRIu64 " gone ended, %" PRIu64
		" gone doubted; %" PRIu64
		" connections in namespaces without a socket; %u namespaces (%u could not "
		"be entered, %u closed since)\n",
		s->asked, s->found[TWDIAG_TIME_WAIT], s->found[TWDIAG_STILL], s->found[TWDIAG_GONE],
		s->found[TWDIAG_FAILED], s->unanswered, s->cpu_ns / 1e6, cs->tw_gone,
		cs->tw_gone_doubted, cs->tw_uncheckable, s->netns, s->netns_failed,
		s->netns_closed);
	if (a->o->reconcile_ns)
		fprintf(stderr,
			"tcpdwell: reconcile: %" PRIu64 " dumps (the last %" PRIu64
			" sockets in %.1f ms, the longest %.1f ms, at most %.1f ms in one turn "
			"of the loop, %" PRIu64 " namespace dumps failed), %" PRIu64
			" connections ended, %" PRIu64 " moved to the kernel's state, %" PRIu64
			" adopted\n",
			s->rc_dumps, s->rc_sockets, s->rc_dump_ns / 1e6, s->rc_dump_max_ns / 1e6,
			s->rc_step_max_ns / 1e6, s->rc_ns_failed, cs->reconciled, cs->resynced,
			cs->adopted);
}

static int run_live(struct td_options *o)
{
	uint64_t cg_id = 0, start;
	int64_t realtime_offset;
	struct tracer *tr = NULL;
	struct rec_writer w;
	struct privdrop pd;
	struct app a;
	int cg_level = 0, ret = TD_EXIT_OK, err;
	char msg[512];

	if (o->cgroup_path && resolve_cgroup(o->cgroup_path, &cg_id, &cg_level, msg, sizeof(msg))) {
		fprintf(stderr, "tcpdwell: %s\n", msg);
		return TD_EXIT_USAGE;
	}
	/* Who tcpdwell becomes, known before anything is loaded. */
	if (privdrop__plan(o, &pd, msg, sizeof(msg))) {
		fprintf(stderr, "tcpdwell: %s\n", msg);
		return TD_EXIT_FAIL;
	}
	start = clock_ns(CLOCK_MONOTONIC);
	realtime_offset = (int64_t)(clock_ns(CLOCK_REALTIME) - start);
	if (app_open(&a, o, realtime_offset)) {
		app_free(&a);
		return TD_EXIT_FAIL;
	}
	tr = tracer__open(o, cg_id, cg_level, on_event, &a, msg, sizeof(msg));
	if (!tr) {
		if (o->json)
			out__error(&a.out, msg);
		out__flush(&a.out);
		fprintf(stderr, "tcpdwell: %s\n", msg);
		app_free(&a);
		return TD_EXIT_FAIL;
	}
	tracer__set_ahead(tr, on_event_ahead);
	/* Loading parsed the kernel's BTF (tens of MB, freed since): give it back. */
	malloc_trim(0);
	if ((o->cmd == TD_CMD_RECORD || o->write) &&
	    open_recording(&a, &w, realtime_offset, start)) {
		tracer__close(tr);
		app_free(&a);
		return TD_EXIT_FAIL;
	}
	if (!o->no_seed)
		app_seed_from_dump(&a, tr);
	/*
	 * The last point with privilege. Whatever needs root or a capability is
	 * done above: loading and attaching, the socket dump (setns into every
	 * network namespace, /proc/PID/fd of every process), creating the files
	 * tcpdwell writes. Descriptors that later work must hold from here on are
	 * opened here, before the drop: the netlink sock_diag sockets for exact
	 * lookups and reconciling (a socket stays bound to the namespace it was
	 * opened in; entering another later would need CAP_SYS_ADMIN). Nothing
	 * below runs with more than drop_live() leaves.
	 */
	if (a.table && tracer__info(tr)->timewait) {
		a.twdiag = twdiag__open(msg, sizeof(msg));
		if (!a.twdiag)
			fprintf(stderr, "tcpdwell: warning: %s; a TIME_WAIT the kernel does not "
					"announce is seen when its timer ends\n", msg);
		else
			twdiag__set_reconcile(a.twdiag, o->reconcile_ns);
	}
	if (drop_live(&a, &pd, tr)) {
		ret = TD_EXIT_FAIL;
		goto out;
	}
	report_drop(o, &pd);
	/* After the drop: a thread keeps the credentials it was created with. */
	if (a.server) {
		if (server__start(a.server, msg, sizeof(msg))) {
			fprintf(stderr, "tcpdwell: %s\n", msg);
			ret = TD_EXIT_FAIL;
			goto out;
		}
		fprintf(stderr, "tcpdwell: serving metrics on http://%s/metrics\n",
			o->listen ?: SERVE_DEFAULT_LISTEN);
	}
	{
		const struct tracer_info *ti = tracer__info(tr);

		snprintf(a.top_source, sizeof(a.top_source), "%s, %s buffer",
			 td_backend_name(ti->backend), td_buffer_name(ti->buffer));

		fprintf(stderr,
			"tcpdwell: %s TCP state changes%s%s%s (%s, %s buffer%s%s). Ctrl-C to end.\n",
			o->cmd == TD_CMD_RECORD ? "recording" : "tracing",
			a.rec ? " to '" : "", a.rec ? rec_path(o) : "", a.rec ? "'" : "",
			td_backend_name(ti->backend), td_buffer_name(ti->buffer),
			ti->timewait ? ", TIME_WAIT" : ", no TIME_WAIT",
			ti->accept ? ", accept owners" : "");
	}

	start = clock_ns(CLOCK_MONOTONIC);
	app_tick(&a, table_clock(tr, start));
	while (!exiting) {
		uint64_t now, rb, rec;
		int timeout = (int)(o->latency_ns / 1000000) ?: 1;

		err = tracer__poll(tr, timeout);
		if (err < 0 && err != -EINTR) {
			snprintf(msg, sizeof(msg), "polling the kernel buffer failed: %s",
				 strerror(-err));
			out__error(&a.out, msg);
			ret = TD_EXIT_FAIL;
			break;
		}
		now = clock_ns(CLOCK_MONOTONIC);
		/* The counters first: a chain break the tick reports comes with the
		 * loss that explains it, as it does on replay of a recording. */
		tracer__lost(tr, &rb, &rec);
		a.now = table_clock(tr, now); /* when they were read, for the recording */
		app_lost(&a, rb, rec);
		app_tick(&a, a.now);
		if (a.twdiag)
			twdiag__step(a.twdiag, a.table, now, tracer__until(tr), on_event, &a);
		if (a.twdiag)
			report_lost(&a, false);
		if (out__flush(&a.out)) {
			ret = write_failed(&a);
			goto out;
		}
		if (a.rec && rec_writer__flush(a.rec)) {
			fprintf(stderr, "tcpdwell: cannot write '%s': %s\n", rec_path(o),
				strerror(a.rec->err));
			ret = TD_EXIT_FAIL;
			goto out;
		}
		if (o->duration_ns && now - start >= o->duration_ns)
			break;
	}
	/* Collect what is still in the buffer, then settle the table. */
	tracer__poll(tr, 0);
	tracer__drain(tr);
	if (a.twdiag)
		twdiag__flush(a.twdiag, on_event, &a);
	{
		uint64_t rb, rec;

		tracer__lost(tr, &rb, &rec);
		app_lost(&a, rb, rec);
	}
	a.now = clock_ns(CLOCK_MONOTONIC);
	if (a.twdiag && o->verbose)
		twdiag_report(&a);
	if (ret == TD_EXIT_OK)
		ret = app_close(&a);
out:
	if (close_recording(&a) && ret == TD_EXIT_OK)
		ret = TD_EXIT_FAIL;
	tracer__close(tr);
	twdiag__close(a.twdiag);
	app_free(&a);
	return ret;
}

/* top -i on a terminal: the recording is read; keep its last screen until 'q'. */
static void top_hold(struct app *a)
{
	if (!isatty(STDOUT_FILENO))
		return;
	draw_top(a, a->now);
	while (!exiting) {
		int k = top__keys(a->top);

		if (k == TOP_QUIT)
			break;
		if (k == TOP_REFRESH)
			draw_top(a, a->now);
		usleep(50 * 1000);
	}
}

/*
 * -i FILE: the same pipeline fed from a recording, in file order, as fast as it
 * can be read. The recorder's clock (TICK) drives everything the live view did
 * on its clock, so the output is what the live view printed for these records.
 */
/*
 * -i maps the recording. If the file shrinks while it is read (truncated by
 * another process), touching the pages past its new end raises SIGBUS: within
 * the mapping, and only while the reader (plain loads: record.c copies every
 * field out) runs, that is turned into a jump back to run_replay, which says
 * so. Reading the file with pread() instead would copy every byte once more; a
 * size check before each read could still lose the race to a truncate.
 */
static sigjmp_buf replay_fault;
static const char *volatile replay_lo, *volatile replay_hi;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	const char *p = si->si_addr;

	(void)uc;
	if (replay_lo && p >= replay_lo && p < replay_hi)
		siglongjmp(replay_fault, 1);
	/* Not the recording: a bug. Fault again, with the default action. */
	signal(sig, SIG_DFL);
}

static void replay_guard(const void *map, size_t len)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO };

	replay_lo = map;
	replay_hi = replay_lo + len;
	sigaction(SIGBUS, &sa, NULL);
}

static void replay_unguard(void)
{
	replay_lo = replay_hi = NULL;
	signal(SIGBUS, SIG_DFL);
}

/* How many records replay reads ahead of the one it applies (see run_replay). */
#define REPLAY_AHEAD 16
/* ... and how many ahead the connection each names is fetched. */
#define REPLAY_NEAR 6

/*
 * Read the recording's items and apply them, until its end, an error (the last
 * rec_reader__next result, 0 or -1, is returned), a signal or a failed output
 * (1). Items are read REPLAY_AHEAD ahead of the one applied, so that the table's
 * index entries for them are on their way into the cache (conntable__prefetch).
 */
static int replay_items(struct app *a, struct rec_reader *r)
{
	struct rec_item ring[REPLAY_AHEAD];
	unsigned int head = 0, ahead = 0;
	int n = 1;

	for (;;) {
		struct rec_item *it;

		while (ahead < REPLAY_AHEAD && n > 0) {
			it = &ring[(head + ahead) % REPLAY_AHEAD];
			n = rec_reader__next(r, it);
			if (n <= 0)
				break;
			if (it->type == REC_EVENT && a->table)
				conntable__prefetch(a->table, &it->ev);
			ahead++;
		}
		if (exiting || !ahead)
			break;
		if (ahead > REPLAY_NEAR && a->table) {
			struct rec_item *near = &ring[(head + REPLAY_NEAR) % REPLAY_AHEAD];

			if (near->type == REC_EVENT)
				conntable__prefetch_conn(a->table, &near->ev);
		}
		it = &ring[head];
		head = (head + 1) % REPLAY_AHEAD;
		ahead--;
		switch (it->type) {
		case REC_EVENT:
			app_event(a, &it->ev);
			break;
		case REC_TICK:
			app_tick(a, it->tick_ns);
			break;
		case REC_LOST:
			app_lost(a, it->lost.ringbuf, it->lost.recursion);
			break;
		case REC_SEED:
			app_seed(a, &it->seed);
			break;
		}
		if (!(r->items & 4095) && ferror(a->out.f))
			break; /* the reader of our output is gone: app_close says why */
	}
	return n;
}

static int run_replay(struct td_options *o)
{
	struct rec_reader *r = calloc(1, sizeof(*r));
	/* volatile: read after a jump back from on_sigbus (sigsetjmp). */
	volatile int fd = -1, n = 1, ret = TD_EXIT_OK;
	volatile bool shrank = false;
	struct privdrop pd;
	struct stat st;
	void *volatile map = NULL;
	char msg[512];
	struct app a;

	if (!r) {
		fprintf(stderr, "tcpdwell: out of memory\n");
		return TD_EXIT_FAIL;
	}
	if (privdrop__plan(o, &pd, msg, sizeof(msg))) {
		fprintf(stderr, "tcpdwell: %s\n", msg);
		free(r);
		return TD_EXIT_FAIL;
	}
	/* Opened with the caller's rights (a recording may be readable by root only);
	 * read only after the drop: a recording is untrusted input. */
	fd = open(o->input, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "tcpdwell: cannot read '%s': %s\n", o->input, strerror(errno));
		goto fail_early;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "tcpdwell: cannot read '%s': not a regular file\n", o->input);
		goto fail_early;
	}
	/* The output (timeline -o) is opened before the drop too; the recording's
	 * clock offset is set once its header is read. */
	if (app_open(&a, o, 0))
		goto fail_app;
	if (privdrop__apply(&pd, msg, sizeof(msg))) {
		fprintf(stderr, "tcpdwell: %s\n", msg);
		goto fail_app;
	}
	report_drop(o, &pd);
	if (st.st_size) {
		/* Mapped with its page tables filled at once (one pass in the kernel,
		 * not a fault per 64 KiB: 6% of a 340 MB replay) unless the file is so
		 * large that the first output would wait for all of it to be read. */
		int populate = st.st_size <= (off_t)1 << 30 ? MAP_POPULATE : 0;

		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | populate, fd, 0);
		if (map == MAP_FAILED) {
			fprintf(stderr, "tcpdwell: cannot read '%s': %s\n", o->input,
				strerror(errno));
			map = NULL;
			goto fail_app;
		}
		madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
		replay_guard(map, (size_t)st.st_size);
		if (sigsetjmp(replay_fault, 1)) {
			fprintf(stderr,
				"tcpdwell: '%s': the file shrank while its header was read\n",
				o->input);
			goto fail_app;
		}
	}
	if (rec_reader__open(r, map ? map : "", (size_t)st.st_size)) {
		fprintf(stderr, "tcpdwell: '%s': %s\n", o->input, r->err);
		goto fail_app;
	}
	a.out.realtime_offset_ns = r->hdr.realtime_offset_ns;
	{
		char host[41]; /* 40 bytes of it at most, an escape never cut */

		snprintf(a.top_source, sizeof(a.top_source), "recording from %s",
			 fmt__text(r->hdr.host, sizeof(r->hdr.host), host, sizeof(host)));
	}
	a.rec_hdr = &r->hdr;
	/* The live run ticked on its own clock, and the recording holds every tick. */
	a.now = r->hdr.start_ns;
	/* A fault in the mapping jumps back here (on_sigbus). Only
	 * rec_reader__next was cut short: the table has every item before it and
	 * is closed as at the end of a file cut there. */
	if (map && sigsetjmp(replay_fault, 1))
		shrank = true;
	else
		n = replay_items(&a, r);
	replay_unguard();
	if (r->end_seen)
		a.now = r->end_ns; /* where the live run settled its table */
	ret = app_close(&a);
	if (shrank) {
		struct stat now;

		fprintf(stderr,
			"tcpdwell: '%s': the file shrank while it was read (from %jd to %jd "
			"bytes); read up to byte %zu\n",
			o->input, (intmax_t)st.st_size,
			fstat(fd, &now) ? (intmax_t)-1 : (intmax_t)now.st_size, r->pos);
		ret = TD_EXIT_FAIL;
	} else if (!exiting && n < 0) {
		fprintf(stderr, "tcpdwell: '%s': %s\n", o->input, r->err);
		ret = TD_EXIT_FAIL;
	} else if (!exiting && !r->end_seen) {
		/*
		 * A killed recorder's file: every record in it is whole and was
		 * replayed, so the output is complete for what was recorded.
		 * Warn, but succeed: that output is what the user asked for.
		 */
		fprintf(stderr,
			"tcpdwell: warning: '%s': recording ends at byte %zu without its end record "
			"(the recorder was killed?); everything up to there was read\n",
			o->input, r->pos);
	}
	if (a.top && ret == TD_EXIT_OK)
		top_hold(&a);
	app_free(&a);
	goto out;
fail_app:
	app_free(&a);
fail_early:
	ret = TD_EXIT_FAIL;
out:
	replay_unguard();
	if (map)
		munmap(map, (size_t)st.st_size);
	if (fd >= 0)
		close(fd);
	free(r);
	return ret;
}

static const char *yesno(bool v)
{
	return v ? "yes" : "no";
}

/* `tcpdwell check`: what the kernel offers, then what a real load chooses. */
static int run_check(struct td_options *o)
{
	struct tracer_probe p;
	struct tracer *tr;
	char msg[512];

	tracer__probe(&p);
	printf("kernel:                  %s\n", p.kernel);
	printf("BTF:                     %s%s\n", yesno(p.btf),
	       p.btf ? "" : " (needs CONFIG_DEBUG_INFO_BTF=y)");
	printf("ring buffer:             %s%s\n", yesno(p.ringbuf), p.ringbuf ? "" : " (5.8+)");
	printf("tp_btf programs:         %s%s\n", yesno(p.tp_btf), p.tp_btf ? "" : " (5.5+, BTF)");
	printf("socket cookie helper:    %s%s\n", yesno(p.cookie_helper),
	       p.cookie_helper ? "" : " (5.12+; identity from socket address and order)");
	printf("timer tracepoints:       tp_btf %s, tracefs %s (timer_start, timer_cancel)\n",
	       yesno(p.timer_tps_btf), yesno(p.timer_tps_tracefs));
	printf("TIME_WAIT timer symbol:  %s (tw_timer_handler)\n", yesno(p.tw_timer_symbol));
	printf("tracefs:                 %s\n", yesno(p.tracefs));
	printf("accept tracepoints:      %s\n", yesno(p.accept_tps));
	printf("capabilities:            CAP_BPF %s, CAP_PERFMON %s, CAP_SYS_ADMIN %s, "
	       "CAP_SYS_RESOURCE %s\n",
	       yesno(p.cap_bpf), yesno(p.cap_perfmon), yesno(p.cap_sys_admin), yesno(p.cap_sys_resource));
	tr = tracer__open(o, 0, 0, on_event, NULL, msg, sizeof(msg));
	if (!tr) {
		printf("will use:                nothing: cannot trace: %s\n", msg);
		return TD_EXIT_FAIL;
	}
	const struct tracer_info *ti = tracer__info(tr);

	printf("will use:                %s backend, %s buffer, cookie %s, TIME_WAIT %s, "
	       "accept owners %s\n",
	       td_backend_name(ti->backend), td_buffer_name(ti->buffer), ti->cookie ? "from the helper" : "read from the socket",
	       ti->timewait ? "yes" : "no (shown as the kernel reports it)",
	       ti->accept ? "yes" : "no (listener's owner)");
	if (ti->buffer == TD_BUFFER_SLOTS)
		printf("buffer size:             %d rings of %zu records, %.1f MiB\n", ti->ncpu,
		       ti->slot_records, (double)ti->buffer_bytes / (1 << 20));
	else if (ti->buffer == TD_BUFFER_RING)
		printf("buffer size:             one ring buffer, %.1f MiB\n",
		       (double)ti->buffer_bytes / (1 << 20));
	else
		printf("buffer size:             %d perf buffers, %.1f MiB\n", ti->ncpu,
		       (double)ti->buffer_bytes / (1 << 20));
	tracer__close(tr);
	return TD_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct td_options *o = calloc(1, sizeof(*o));
	struct sigaction sa = { .sa_handler = on_signal };
	char err[512];
	int ret;

	if (!o) {
		fprintf(stderr, "tcpdwell: out of memory\n");
		return TD_EXIT_FAIL;
	}
	save_command_line(argc, argv);
	ret = cli__parse(argc, argv, o, err, sizeof(err));
	if (ret == CLI_HELP) {
		fputs(cli__usage(), stdout);
		free(o);
		return TD_EXIT_OK;
	}
	if (ret == CLI_VERSION) {
		printf("tcpdwell %s\n", TD_VERSION);
		free(o);
		return TD_EXIT_OK;
	}
	if (ret != TD_EXIT_OK) {
		fprintf(stderr, "tcpdwell: %s (see tcpdwell --help)\n", err);
		free(o);
		return TD_EXIT_USAGE;
	}
	/* SIGHUP too: an SSH session that drops must still end a recording with its
	 * END record. SA_RESTART: a write blocked on a slow pipe goes on rather than
	 * failing with EINTR; the waits that must end (epoll_wait, the perf buffer's
	 * poll, usleep) are never restarted, so the stop is seen at once. */
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, stdout_buf, _IOFBF, sizeof(stdout_buf));

	switch (o->cmd) {
	case TD_CMD_TRACE:
	case TD_CMD_TIMELINE:
	case TD_CMD_STAT:
	case TD_CMD_TOP:
	case TD_CMD_SERVE:
	case TD_CMD_RECORD:
	case TD_CMD_DOCTOR:
		ret = o->input ? run_replay(o) : run_live(o);
		break;
	case TD_CMD_CHECK:
		ret = run_check(o);
		break;
	default:
		fprintf(stderr, "tcpdwell: this command is not available yet\n");
		ret = TD_EXIT_FAIL;
		break;
	}
	free(o);
	/* stdout's last write and its close: a full disk must not pass for success.
	 * A reader that went away (`| head`) has what it wanted, as write_failed says;
	 * a stdout closed from the start (`>&-`) had nothing written to it. */
	errno = 0;
	if (fclose(stdout) && ret == TD_EXIT_OK && errno != EPIPE && errno != EBADF) {
		fprintf(stderr, "tcpdwell: cannot write output: %s\n", strerror(errno ?: EIO));
		ret = TD_EXIT_FAIL;
	}
	return ret;
}
