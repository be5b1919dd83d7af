// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The live source: loads and attaches the BPF programs (tracer.c), seeds the table from a
 * socket dump (seed.c), opens the recording and the timewait lookups, drops privileges, then
 * feeds the pipeline (app.h) from the kernel's buffers until a signal, --duration or a failed
 * output ends it. Also `tcpdwell check`.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/capability.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "app.h"
#include "cgroups.h"
#include "outfile.h"
#include "privdrop.h"
#include "record.h"
#include "seed.h"
#include "source.h"
#include "tracer.h"
#include "twdiag.h"

/* The recording's stream buffer (see main.c's for stdout). */
static char record_buf[1 << 20];

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
				fprintf(
				    stderr,
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

/* The sockets the start-up dump found, held until the records that came meanwhile are in. */
struct seed_list {
	struct conn *v;
	size_t n, cap;
};

static void collect_seed(void *arg, const struct conn *c)
{
	struct seed_list *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct conn *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *c;
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
static void seed_from_dump(struct app *a, struct tracer *tr)
{
	struct seed_list seeds = { 0 };
	struct seed_stats st;
	char err[256];

	a->seeding = true;
	if (seed__dump(clock__ns(CLOCK_MONOTONIC), collect_seed, &seeds, &st, err, sizeof(err)))
		fprintf(stderr,
			"tcpdwell: warning: sockets open before the start are not known: %s\n",
			err);
	tracer__poll(tr, 0);
	a->seeding = false;
	if (a->nseen)
		qsort(a->seen, a->nseen, sizeof(*a->seen), cmp_u64);
	for (size_t i = 0; i < seeds.n; i++) {
		uint64_t ck = seeds.v[i].cookie;

		if (ck && a->nseen && bsearch(&ck, a->seen, a->nseen, sizeof(ck), cmp_u64))
			continue;
		app_seed(a, &seeds.v[i]);
	}
	if (a->o->verbose)
		fprintf(stderr,
			"tcpdwell: %u sockets found at start in %u network namespaces "
				"(%u not entered)\n",
			st.sockets, st.netns, st.netns_skipped);
	free(a->seen);
	free(seeds.v);
	a->seen = NULL;
	a->nseen = 0;
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

/* record: open -o FILE ("-" is stdout) and write the header. Returns 0 or -1 with a message. */
static int open_recording(struct app *a, struct rec_writer *w, int64_t realtime_offset_ns,
			  uint64_t start_ns)
{
	struct rec_header h = { .realtime_offset_ns = realtime_offset_ns, .start_ns = start_ns };
	const char *path = app_rec_path(a);
	struct utsname u;
	char err[PATH_MAX + 64];
	FILE *f;

	if (!uname(&u)) {
		snprintf(h.host, sizeof(h.host), "%s", u.nodename);
		snprintf(h.kernel, sizeof(h.kernel), "%s", u.release);
	}
	snprintf(h.options, sizeof(h.options), "%s", a->o->command_line ?: "");
	h.accepts = a->out.accepts;
	h.conn_info = a->o->conn_info;
	h.resets = a->out.resets;
	h.rst = rst_reasons;
	app_read_host_facts(&h);
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
		fprintf(stderr, "tcpdwell: cannot write '%s': %s\n", app_rec_path(a),
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

int live__run(struct td_options *o)
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
	start = clock__ns(CLOCK_MONOTONIC);
	realtime_offset = (int64_t)(clock__ns(CLOCK_REALTIME) - start);
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
	a.out.accepts = tracer__info(tr)->accept;
	a.out.resets = tracer__info(tr)->resets;
	if (a.table)
		conntable__expect_resets(a.table, a.out.resets);
	if (o->accept && !a.out.accepts)
		fprintf(stderr, "tcpdwell: warning: this kernel has no accept() tracepoints "
				"(syscalls:sys_exit_accept4): no accept-queue wait\n");
	/* Loading parsed the kernel's BTF (tens of MB, freed since): give it back. */
	malloc_trim(0);
	if (((a.view->flags & VIEW_RECORDER) || o->write) &&
	    open_recording(&a, &w, realtime_offset, start)) {
		tracer__close(tr);
		app_free(&a);
		return TD_EXIT_FAIL;
	}
	/* Cgroup names: before the socket dump, whose sockets carry their cgroup ids. */
	a.cgroups = cgroups__open(o->pods_dir, msg, sizeof(msg));
	if (!a.cgroups && o->verbose)
		fprintf(stderr, "tcpdwell: %s\n", msg);
	if (!o->no_seed)
		seed_from_dump(&a, tr);
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
			fprintf(stderr,
				"tcpdwell: warning: %s; a TIME_WAIT the kernel does not "
				"announce is seen when its timer ends\n",
				msg);
		else
			twdiag__set_reconcile(a.twdiag, o->reconcile_ns);
	}
	if (drop_live(&a, &pd, tr)) {
		ret = TD_EXIT_FAIL;
		goto out;
	}
	privdrop__report(&pd, o->verbose);
	/* After the drop: a thread keeps the credentials it was created with. */
	if (a.view->start && a.view->start(&a)) {
		ret = TD_EXIT_FAIL;
		goto out;
	}
	{
		const struct tracer_info *ti = tracer__info(tr);

		snprintf(a.source, sizeof(a.source), "%s, %s buffer", td_backend_name(ti->backend),
			 td_buffer_name(ti->buffer));

		fprintf(
		    stderr,
			"tcpdwell: %s TCP state changes%s%s%s (%s, %s buffer%s%s). Ctrl-C to end.\n",
		    a.view->flags & VIEW_RECORDER ? "recording" : "tracing", a.rec ? " to '" : "",
		    a.rec ? app_rec_path(&a) : "", a.rec ? "'" : "", td_backend_name(ti->backend),
		    td_buffer_name(ti->buffer), ti->timewait ? ", TIME_WAIT" : ", no TIME_WAIT",
			ti->accept ? ", accept owners" : "");
	}

	start = clock__ns(CLOCK_MONOTONIC);
	app_tick(&a, table_clock(tr, start));
	while (!app_exiting && !a.stop) {
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
		now = clock__ns(CLOCK_MONOTONIC);
		/* The counters first: a chain break the tick reports comes with the
		 * loss that explains it, as it does on replay of a recording. */
		tracer__lost(tr, &rb, &rec);
		a.now = table_clock(tr, now); /* when they were read, for the recording */
		app_lost(&a, rb, rec);
		app_tick(&a, a.now);
		if (a.twdiag)
			twdiag__step(a.twdiag, a.table, now, tracer__until(tr), on_event, &a);
		if (a.twdiag)
			app_report_lost(&a, false);
		if (out__flush(&a.out)) {
			ret = app_write_failed(&a);
			goto out;
		}
		if (a.rec && rec_writer__flush(a.rec)) {
			fprintf(stderr, "tcpdwell: cannot write '%s': %s\n", app_rec_path(&a),
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
	a.now = clock__ns(CLOCK_MONOTONIC);
	if (a.twdiag && o->verbose)
		twdiag_report(&a);
	if (a.cgroups && o->verbose) {
		const struct cgroups_stats *cs = cgroups__stats(a.cgroups);

		fprintf(stderr,
			"tcpdwell: cgroup names: %u cgroups named (%" PRIu64
			" from /proc/PID/cgroup; %" PRIu64 " not: table full; %" PRIu64
			" given up), %" PRIu64 " walks of the cgroup2 mount in %.1f ms of CPU "
			"(the last found %u directories%s), %u pods and %u containers in the "
			"kubelet's log directories\n",
			cgn__count(), cs->proc_named, cgn__full(), cs->given_up, cs->walks,
			cs->walk_ns / 1e6, cs->dirs, cs->truncated ? ", stopped at its limit" : "",
			cs->pods, cs->containers);
	}
	if (ret == TD_EXIT_OK)
		ret = app_close(&a);
out:
	if (close_recording(&a) && ret == TD_EXIT_OK)
		ret = TD_EXIT_FAIL;
	tracer__close(tr);
	twdiag__close(a.twdiag);
	cgroups__close(a.cgroups);
	app_free(&a);
	return ret;
}

static const char *yesno(bool v)
{
	return v ? "yes" : "no";
}

/* `tcpdwell check`: what the kernel offers, then what a real load chooses. */
int live__check(struct td_options *o)
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
	printf("reset tracepoints:       %s%s\n", yesno(p.reset_tps),
	       !p.reset_tps	 ? " (tp_btf)"
	       : p.reset_reason ? ", with the kernel's reasons"
				: ", without reasons (6.10+)");
	printf("capabilities:            CAP_BPF %s, CAP_PERFMON %s, CAP_SYS_ADMIN %s, "
	       "CAP_SYS_RESOURCE %s\n",
	       yesno(p.cap_bpf), yesno(p.cap_perfmon), yesno(p.cap_sys_admin),
	       yesno(p.cap_sys_resource));
	tr = tracer__open(o, 0, 0, on_event, NULL, msg, sizeof(msg));
	if (!tr) {
		printf("will use:                nothing: cannot trace: %s\n", msg);
		return TD_EXIT_FAIL;
	}
	const struct tracer_info *ti = tracer__info(tr);

	printf("will use:                %s backend, %s buffer, cookie %s, TIME_WAIT %s, "
	       "accept owners %s\n",
	       td_backend_name(ti->backend), td_buffer_name(ti->buffer),
	       ti->cookie ? "from the helper" : "read from the socket",
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
