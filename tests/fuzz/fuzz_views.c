// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target for the views: the input's first byte picks a command line
 * (trace, timeline with its three formats, stat with --interval, top, doctor,
 * serve), parsed by cli__parse() as `tcpdwell VIEW -i FILE ...` would be; the
 * rest is a recording, read with rec_reader__next() and replayed into a
 * connection table whose hooks feed that view's formatters, as the replay path
 * of tcpdwell does (user/app.c and user/views/): out__* for trace and timeline (text, JSON,
 * perfetto, --pair), stat_table + out__stats at every --interval and at the end,
 * top__collect + top__render at every interval and at the end, doctor's
 * report, and serve's metrics__render in both formats at every publication.
 * Output goes to a memory stream, which must hold no control byte but newline
 * and tab: whatever a recording carries (process and host names, states,
 * times) is escaped or formatted, never copied raw to a terminal.
 *
 * Not reached: top's terminal painting (ncurses needs a terminal: top__render
 * is the text it paints), serve's HTTP thread (it only hands out the rendered
 * text) and `-o FILE` (outfile.c creates files).
 *
 *   ./fuzz_views -max_total_time=60 tests/fuzz/corpus-views
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "cli.h"
#include "conntable.h"
#include "doctor.h"
#include "filter.h"
#include "metrics.h"
#include "output.h"
#include "record.h"
#include "sat.h"
#include "stats.h"
#include "names.h"
#include "top.h"

/* The command lines, picked by the first byte (modulo their number). */
static const char *const views[][12] = {
    {"trace", "-i", "f"},
    {"trace", "-i", "f", "--json", "--stuck", "CLOSE_WAIT=1ms,SYN_SENT=1s"},
    {"trace", "-i", "f", "-s", "ESTABLISHED,TIME_WAIT", "-L", "1-1024", "--max-conns", "16"},
    {"timeline", "-i", "f"},
    {"timeline", "-i", "f", "--json"},
    {"timeline", "-i", "f", "--format", "perfetto"},
    {"timeline", "-i", "f", "--pair"},
    {"timeline", "-i", "f", "--wide"},
    {"stat", "-i", "f", "--interval", "1ms"},
    {"stat", "-i", "f", "--interval", "1s", "--json", "--hist"},
    {"stat", "-i", "f", "--interval", "10ms", "--by", "comm", "--max-conns", "16"},
    {"stat", "-i", "f", "--by", "raddr", "--hist"},
    {"stat", "-i", "f", "--by", "lport", "--json"},
    {"stat", "-i", "f", "--accept", "--by", "comm"},
    {"top", "-i", "f", "--interval", "1ms"},
    {"top", "-i", "f", "-s", "CLOSE_WAIT,LISTEN"},
    {"doctor", "-i", "f"},
    {"doctor", "-i", "f", "--json", "--threshold", "close-wait=1ms"},
    {"serve", "--interval", "1ms"},
    {"serve", "--by", "lport", "--stuck", "CLOSE_WAIT=1ms"},
    {"serve", "--accept", "--interval", "1ms"},
    /* The names of the cgroups the recording carries (CGROUP records): any bytes. */
    {"trace", "-i", "f", "--wide", "--json"},
    {"stat", "-i", "f", "--by", "pod"},
    {"serve", "--by", "container", "--interval", "1ms"},
};
#define NVIEWS (sizeof(views) / sizeof(views[0]))

struct view {
	struct td_options o;
	struct conntable *table;
	struct stat_table stats;
	struct out out;
	uint64_t now, next_stat, next_top, next_publish;
	uint64_t lost_rb, lost_rec, chain_breaks;
	struct top *top;
	struct top_snapshot *snap;
	struct top_rate rate;
	int top_width;
	struct metrics *metrics;
	struct doctor *doctor;
	uint64_t doctor_start;
};

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_views: %s\n", what);
		abort();
	}
}

static void on_transition(void *arg, const struct conn *c, const struct ct_transition *t)
{
	struct view *v = arg;
	char key[64];
	const char *k = NULL;

	if (v->o.cmd == TD_CMD_STAT && t->dwell_ns != CT_DWELL_UNKNOWN && !t->dwell_lower_bound &&
	    (!v->o.states || (v->o.states & (1u << t->old)))) {
		if (v->o.by == TD_BY_LPORT)
			snprintf(key, sizeof(key), "%u", c->sport), k = key;
		else if (v->o.by == TD_BY_RADDR)
			k = fmt__addr(c->family, c->daddr, key, sizeof(key));
		else if (v->o.by == TD_BY_COMM)
			k = c->pid ? conn__comm(c) : "-";
		stat_table__add(&v->stats, t->old, k, t->dwell_ns);
	}
	if (v->o.cmd == TD_CMD_TRACE && filter__transition(&v->o, t))
		out__transition(&v->out, c, t);
	if (v->metrics)
		metrics__transition(v->metrics, c, t);
	if (v->doctor)
		doctor__transition(v->doctor, c, t);
}

static void on_finished(void *arg, const struct conn *c)
{
	struct view *v = arg;

	if (v->o.cmd == TD_CMD_TIMELINE && filter__timeline(&v->o, c))
		out__timeline(&v->out, c);
	if (v->doctor)
		doctor__finished(v->doctor, c);
	if (v->metrics)
		metrics__finished(v->metrics, c);
}

static void on_accepted(void *arg, const struct conn *c, uint64_t wait_ns)
{
	struct view *v = arg;

	if (v->o.cmd == TD_CMD_STAT && v->o.accept)
		stat_table__add(&v->stats, STAT_ACCEPT_WAIT,
				v->o.by == TD_BY_COMM ? (c->pid ? conn__comm(c) : "-") : NULL,
				wait_ns);
	if (v->metrics)
		metrics__accepted(v->metrics, c, wait_ns);
	if (v->doctor)
		doctor__accepted(v->doctor, c, wait_ns);
}

static void on_carried(void *arg, const struct conn *c)
{
	struct view *v = arg;

	if (v->o.cmd == TD_CMD_STAT && v->o.by == TD_BY_COMM) {
		const char *k = c->pid ? conn__comm(c) : "-";

		stat_table__add(&v->stats, STAT_BYTES_SENT, k, c->stats.bytes_acked);
		stat_table__add(&v->stats, STAT_BYTES_RECEIVED, k, c->stats.bytes_received);
		stat_table__add(&v->stats, STAT_RETRANS, k, c->stats.total_retrans);
	}
	if (v->metrics)
		metrics__carried(v->metrics, c);
}

static void on_stuck(void *arg, const struct conn *c, int state, uint64_t dwell_ns)
{
	struct view *v = arg;

	if (v->o.cmd == TD_CMD_TRACE || v->o.cmd == TD_CMD_TIMELINE)
		out__stuck(&v->out, c, state, dwell_ns);
}

static enum ct_verdict on_select(void *arg, const struct conn *c)
{
	struct view *v = arg;

	return filter__conn(&v->o, c);
}

static void open_at_end(void *arg, const struct conn *c)
{
	struct view *v = arg;

	if (filter__timeline(&v->o, c))
		out__open_timeline(&v->out, c, v->now);
}

static void doctor_open(void *arg, const struct conn *c)
{
	struct view *v = arg;

	doctor__open_conn(v->doctor, c, v->now);
}

static void print_stats(struct view *v)
{
	stat_table__sort(&v->stats);
	out__stats(&v->out, &v->stats, v->o.by, v->o.hist, v->now);
}

static void draw_top(struct view *v)
{
	struct top_input in = {
	    .realtime_offset_ns = v->out.realtime_offset_ns,
	    .transitions_per_s =
		top__rate(&v->rate, v->now, conntable__stats(v->table)->transitions),
	    .lost_ringbuf = v->lost_rb,
	    .lost_recursion = v->lost_rec,
	    .chain_breaks = conntable__stats(v->table)->gaps,
	    .source = "recording from fuzz",
	};

	top__collect(v->snap, v->table, v->now, top__view(v->top), &in);
	top__render(v->snap, v->out.f, v->top_width, v->top_width / 4);
}

static void publish(struct view *v)
{
	metrics__gauges(v->metrics, v->table, v->now);
	v->metrics->evictions = conntable__stats(v->table)->evicted;
	v->metrics->chain_breaks = conntable__stats(v->table)->gaps;
	for (int om = 0; om < 2; om++)
		metrics__render(v->metrics, v->out.f, om, "0");
}

/* The lost record: when the kernel's counters change, and when the table counts a
 * chain break. */
static void report_lost(struct view *v, bool counters_changed)
{
	uint64_t n = conntable__stats(v->table)->gaps;

	if (!counters_changed && n == v->chain_breaks)
		return;
	v->chain_breaks = n;
	if (v->o.cmd != TD_CMD_SERVE && v->o.cmd != TD_CMD_TOP && !v->doctor)
		out__lost(&v->out, v->lost_rb, v->lost_rec, n,
			  conntable__stats(v->table)->reconciled);
}

static void tick(struct view *v, uint64_t now)
{
	v->now = now;
	if (v->doctor && !v->doctor_start)
		v->doctor_start = now;
	if (v->next_stat == UINT64_MAX && v->o.interval_ns && v->o.cmd == TD_CMD_STAT)
		v->next_stat = sat__add(now, v->o.interval_ns);
	conntable__advance(v->table, now);
	report_lost(v, false);
	if (v->top && now >= v->next_top) {
		draw_top(v);
		v->next_top = sat__add(now, v->o.interval_ns ?: 1000000000ULL);
	}
	if (v->metrics && now >= v->next_publish) {
		publish(v);
		v->next_publish = sat__add(now, v->o.interval_ns ?: 1000000000ULL);
	}
	if (now >= v->next_stat && v->next_stat != UINT64_MAX) {
		print_stats(v);
		v->next_stat = sat__next_due(v->next_stat, now, v->o.interval_ns);
	}
}

static void lost(struct view *v, uint64_t rb, uint64_t rec)
{
	if (rb == v->lost_rb && rec == v->lost_rec)
		return;
	v->lost_rb = rb;
	v->lost_rec = rec;
	conntable__mark_loss(v->table);
	if (v->doctor)
		doctor__lost(v->doctor, rb, rec);
	if (v->metrics) {
		v->metrics->lost_ringbuf = rb;
		v->metrics->lost_recursion = rec;
	}
	report_lost(v, true);
}

static void finish(struct view *v, const struct rec_reader *r)
{
	conntable__drain(v->table);
	if (v->o.cmd == TD_CMD_STAT)
		print_stats(v);
	if (v->doctor) {
		struct doctor_host h = {
		    .source = "recording",
		    .host = r->hdr.host,
		    .start_ns = v->doctor_start,
		    .end_ns = v->now,
		    .evicted = conntable__stats(v->table)->evicted,
		};

		conntable__foreach(v->table, doctor_open, v);
		if (r->hdr.port_range_known) {
			h.port_lo = r->hdr.port_lo;
			h.port_hi = r->hdr.port_hi;
		}
		if (r->hdr.max_tw_buckets_known)
			h.max_tw_buckets = r->hdr.max_tw_buckets;
		doctor__report(v->doctor, &h, v->out.f, v->o.json, v->out.realtime_offset_ns);
	}
	if (v->top)
		draw_top(v);
	if (v->metrics)
		publish(v);
	if ((v->lost_rb || v->lost_rec || conntable__stats(v->table)->gaps) &&
	    v->o.cmd != TD_CMD_SERVE && !v->doctor)
		out__lost(&v->out, v->lost_rb, v->lost_rec, conntable__stats(v->table)->gaps,
			  conntable__stats(v->table)->reconciled);
	if (conntable__stats(v->table)->evicted)
		out__evicted(&v->out, conntable__stats(v->table)->evicted, v->o.max_conns);
	if (v->o.cmd == TD_CMD_TIMELINE)
		conntable__foreach(v->table, open_at_end, v);
	out__end_view(&v->out);
	out__flush(&v->out);
}

static struct rec_reader r;
static struct view v;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_hooks hooks = {
	    .transition = on_transition,
	    .finished = on_finished,
	    .stuck = on_stuck,
	    .accepted = on_accepted,
	    .carried = on_carried,
	    .arg = &v,
	};
	char *argv[14] = {"tcpdwell"}, err[256], *text = NULL;
	size_t len = 0, argc = 1;
	struct rec_item it;
	unsigned int pick;
	FILE *f;

	if (!size)
		return 0;
	pick = data[0] % NVIEWS;
	memset(&v, 0, sizeof(v));
	for (const char *const *w = views[pick]; *w; w++)
		argv[argc++] = (char *)*w;
	check(cli__parse((int)argc, argv, &v.o, err, sizeof(err)) == TD_EXIT_OK, err);
	if (rec_reader__open(&r, data + 1, size - 1))
		return 0;
	f = open_memstream(&text, &len);
	check(f != NULL, "open_memstream");
	stat_table__init(&v.stats, 4096);
	out__init(&v.out, f, v.o.json, r.hdr.realtime_offset_ns);
	v.out.accepts = r.hdr.accepts;
	v.out.wide = v.o.wide;
	check(out__open_view(&v.out, &v.o, err, sizeof(err)) == 0, err);
	v.next_stat = UINT64_MAX;
	hooks.select = filter__selects_all(&v.o) ? NULL : on_select;
	v.table = conntable__new(v.o.max_conns, &hooks);
	check(v.table != NULL, "conntable__new");
	conntable__expect_stats(v.table, r.hdr.conn_info);
	for (int s = 1; s < TD_STATE_MAX; s++)
		conntable__set_stuck(v.table, s, v.o.stuck_ns[s]);
	if (v.o.cmd == TD_CMD_DOCTOR) {
		v.doctor = doctor__new(&v.o.doctor);
		check(v.doctor != NULL, "doctor__new");
		doctor__set_accepts(v.doctor, r.hdr.accepts);
	} else if (v.o.cmd == TD_CMD_TOP) {
		v.snap = calloc(1, sizeof(*v.snap));
		v.top = top__open(false, &v.o);
		check(v.snap && v.top, "top__open");
		/* From a single column up, the widths a terminal may have. */
		v.top_width = 1 + (int)(data[0] / NVIEWS) * 2;
	} else if (v.o.cmd == TD_CMD_SERVE) {
		v.metrics = calloc(1, sizeof(*v.metrics));
		check(v.metrics != NULL, "calloc");
		metrics__init(v.metrics, v.o.by == TD_BY_LPORT	    ? METRICS_LABEL_LPORT
					 : v.o.by == TD_BY_POD	    ? METRICS_LABEL_POD
					 : v.o.by == TD_BY_CONTAINER ? METRICS_LABEL_CONTAINER
								    : METRICS_LABEL_NONE);
		memcpy(v.metrics->stuck_ns, v.o.stuck_ns, sizeof(v.o.stuck_ns));
		v.metrics->states = v.o.states;
		v.metrics->accepts = v.o.accept;
	}
	v.now = r.hdr.start_ns;
	while (rec_reader__next(&r, &it) == 1) {
		switch (it.type) {
		case REC_EVENT:
			conntable__apply(v.table, &it.ev);
			break;
		case REC_TICK:
			tick(&v, it.tick_ns);
			break;
		case REC_LOST:
			lost(&v, it.lost.ringbuf, it.lost.recursion);
			break;
		case REC_SEED:
			conntable__seed(v.table, &it.seed);
			break;
		case REC_CGROUP: {
			/* As app_cgroup_names() does: strings copied, cut at their bounds. */
			char pod[CG_NS_MAX + 1 + CG_NAME_MAX + 1], ctr[CG_NAME_MAX + 1];
			size_t lo = it.cgroup.pod_len < sizeof(pod) ? it.cgroup.pod_len : sizeof(pod) - 1;
			size_t lc = it.cgroup.container_len < sizeof(ctr) ? it.cgroup.container_len
									    : sizeof(ctr) - 1;

			memcpy(pod, it.cgroup.pod, lo);
			pod[lo] = 0;
			memcpy(ctr, it.cgroup.container, lc);
			ctr[lc] = 0;
			cgn__set(it.cgroup.id, it.cgroup.path, it.cgroup.path_len, pod, ctr);
			break;
		}
		}
	}
	if (r.end_seen)
		v.now = r.end_ns;
	finish(&v, &r);
	fclose(f);
	for (size_t i = 0; i < len; i++)
		check((unsigned char)text[i] >= 0x20 || text[i] == '\n' || text[i] == '\t',
		      "a control byte in the output");
	free(text);
	top__close(v.top);
	free(v.snap);
	if (v.metrics)
		metrics__free(v.metrics);
	free(v.metrics);
	cgn__clear();
	doctor__free(v.doctor);
	conntable__free(v.table);
	stat_table__free(&v.stats);
	return 0;
}
