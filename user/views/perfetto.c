// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Trace-event JSON writer. Each connection becomes a thread track named
 * "laddr:lport > raddr:rport" under its owner's process track; each state one
 * complete event. Times are kernel CLOCK_MONOTONIC: the viewer shows relative
 * time, and all connections of a run share the clock.
 */
#include <inttypes.h>
#include <string.h>

#include "fmt.h"
#include "names.h"
#include "perfetto.h"
#include "state.h"

/* ns as microseconds with three decimals: 1234567 -> "1234.567". */
static void put_us(FILE *f, uint64_t ns)
{
	fprintf(f, "%" PRIu64 ".%03u", ns / 1000, (unsigned)(ns % 1000));
}

static void sep(struct perfetto *p)
{
	fputs(p->first ? "\n" : ",\n", p->f);
	p->first = false;
}

void perfetto__open(struct perfetto *p, FILE *f)
{
	memset(p, 0, sizeof(*p));
	p->f = f;
	p->first = true;
	p->next_tid = 1;
	fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", f);
	p->started = true;
}

static bool pid_named(struct perfetto *p, uint32_t pid)
{
	for (uint32_t i = 0; i < p->npids; i++)
		if (p->pids[i] == pid)
			return true;
	if (p->npids < PF_MAX_PIDS)
		p->pids[p->npids++] = pid;
	return false;
}

/* The opening of an instant event on a connection's track, up to its args. */
static void instant_head(struct perfetto *p, const char *name, uint32_t pid, uint32_t tid,
			 uint64_t ts)
{
	sep(p);
	fprintf(p->f, "{\"ph\":\"i\",\"s\":\"t\",\"cat\":\"tcp\",\"name\":\"%s\",\"pid\":%u,"
		      "\"tid\":%u,\"ts\":",
		name, pid, tid);
	put_us(p->f, ts);
}

/* The handshake's end (the step after SYN_SENT or SYN_RECV): its RTT sample and
 * retransmissions. */
static void put_handshake(struct perfetto *p, const struct conn *c, uint32_t pid, uint32_t tid)
{
	for (int i = 0; i + 1 < c->nsteps; i++) {
		if ((c->step_state[i] != TD_SYN_SENT && c->step_state[i] != TD_SYN_RECV) ||
		    !c->step_ns[i + 1])
			continue;
		instant_head(p, "handshake", pid, tid, c->step_ns[i + 1]);
		fprintf(p->f, ",\"args\":{\"cookie\":%" PRIu64 ",\"rtt_us\":%u,\"retrans\":%u}}",
			c->cookie, c->hs_rtt_us, c->hs_retrans);
		return;
	}
}

/* open_end_ns: 0 for a finished connection, else the end of input it is drawn up to. */
/* ,"pod":"ns/name","container":"name" of c's cgroup (names.h), each when known. */
static void put_where(FILE *f, const struct conn *c)
{
	const struct cg_name *n = cgn__get(c->cgroup);

	if (n && n->pod_ix) {
		fputs(",\"pod\":", f);
		fmt__json_put(f, cgn__pod_name(n->pod_ix), SIZE_MAX);
	}
	if (n && n->ctr_ix) {
		fputs(",\"container\":", f);
		fmt__json_put(f, cgn__ctr_label(n->ctr_ix), SIZE_MAX);
	}
}

static void write_conn(struct perfetto *p, const struct conn *c, uint64_t open_end_ns)
{
	uint32_t pid = c->pid ? c->pid : PF_UNKNOWN_PID;
	uint32_t tid = p->next_tid++;
	char l[80], r[80];

	if (p->closed)
		return;
	if (!pid_named(p, pid)) {
		sep(p);
		fprintf(p->f,
			"{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%u,\"tid\":0,"
			"\"args\":{\"name\":",
			pid);
		if (c->pid) {
			/* "nginx 4711", and its pod when it has one: "nginx 4711 (pod ns/name)". */
			const struct cg_name *n = cgn__get(c->cgroup);
			const char *pod = n ? cgn__pod_name(n->pod_ix) : "";
			char name[64 + CG_NS_MAX + CG_NAME_MAX + 8];

			snprintf(name, sizeof(name), "%s %u%s%s%s", conn__comm(c), c->pid,
				 pod[0] ? " (pod " : "", pod, pod[0] ? ")" : "");
			fmt__json_put(p->f, name, SIZE_MAX);
		} else {
			fmt__json_put(p->f, "unknown owner", SIZE_MAX);
		}
		fputs("}}", p->f);
	}
	fmt__endpoint(c->family, c->saddr, c->sport, l, sizeof(l));
	fmt__endpoint(c->family, c->daddr, c->dport, r, sizeof(r));
	sep(p);
	fprintf(p->f,
		"{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%u,\"tid\":%u,\"args\":"
		      "{\"name\":\"%s > %s\"}}",
		pid, tid, l, r);
	for (int i = 0; i < c->nsteps; i++) {
		bool current = open_end_ns && i + 1 == c->nsteps;
		uint64_t dw = current ? CT_DWELL_UNKNOWN : conn__step_dwell(c, i);
		uint64_t so_far = 0;

		if (!c->step_ns[i])
			continue; /* no start: cannot be placed on the time axis */
		/* The state it is still in: drawn up to the end, its dwell not known yet. */
		if (current && open_end_ns > c->step_ns[i])
			so_far = open_end_ns - c->step_ns[i];
		sep(p);
		fprintf(p->f,
			"{\"ph\":\"X\",\"cat\":\"tcp\",\"name\":\"%s\",\"pid\":%u,\"tid\":%u,"
			      "\"ts\":",
			state__name(c->step_state[i]), pid, tid);
		put_us(p->f, c->step_ns[i]);
		fputs(",\"dur\":", p->f);
		put_us(p->f, current ? so_far : dw == CT_DWELL_UNKNOWN ? 0 : dw);
		fprintf(p->f, ",\"args\":{\"cookie\":%" PRIu64 ",\"state\":\"%s\",\"dwell_ns\":",
			c->cookie, state__name(c->step_state[i]));
		if (dw == CT_DWELL_UNKNOWN)
			fputs("null", p->f);
		else
			fprintf(p->f, "%" PRIu64, dw);
		if (current)
			fprintf(p->f, ",\"so_far_ns\":%" PRIu64, so_far);
		put_where(p->f, c);
		if (open_end_ns)
			fputs(",\"open\":true", p->f);
		if (i + 1 == c->nsteps && c->tw_end)
			fprintf(p->f, ",\"end\":\"%s\"", fmt__tw_end(c->tw_end));
		if (i == 0 && c->lower_bound)
			fputs(",\"lower_bound\":true", p->f);
		if (c->flags & CT_F_INCOMPLETE)
			fputs(",\"incomplete\":true", p->f);
		fputs("}}", p->f);
		p->slices++;
	}
	if (c->flags & CT_F_HANDSHAKE)
		put_handshake(p, c, pid, tid);
	if ((c->flags & CT_F_STATS) && c->end_ns) {
		/* What it carried, where its socket closed. */
		instant_head(p, "carried", pid, tid, c->end_ns);
		fprintf(p->f,
			",\"args\":{\"cookie\":%" PRIu64 ",\"bytes_acked\":%" PRIu64
			",\"bytes_received\":%" PRIu64 ",\"segs_out\":%u,\"segs_in\":%u,"
			"\"total_retrans\":%u,\"srtt_us\":%u,\"min_rtt_us\":%u}}",
			c->cookie, (uint64_t)c->stats.bytes_acked, (uint64_t)c->stats.bytes_received,
			c->stats.segs_out, c->stats.segs_in, c->stats.total_retrans, c->stats.srtt_us,
			c->min_rtt_us);
	}
	if (c->rst) {
		/* A received reset comes just before the end, an abort's just after it. The
		 * reason is printable ASCII (rst__set()), escaped. */
		const char *why = c->rst_reason != CT_RST_NO_REASON ? rst__name(c->rst_reason) : NULL;

		instant_head(p, "rst", pid, tid, c->rst_ns);
		fprintf(p->f, ",\"args\":{\"cookie\":%" PRIu64 ",\"dir\":\"%s\",\"reason\":",
			c->cookie, c->rst == CT_RST_SENT ? "sent" : "received");
		if (why)
			fmt__json_put(p->f, why, RST_NAME_LEN);
		else if (c->rst_reason != CT_RST_NO_REASON)
			fprintf(p->f, "\"%u\"", c->rst_reason);
		else
			fputs("null", p->f);
		fputs("}}", p->f);
	}
	if (c->accept_ns) {
		uint64_t wait = conn__accept_wait(c);

		/* Where accept() took it from the queue. */
		instant_head(p, "accept", pid, tid, c->accept_ns);
		fprintf(p->f, ",\"args\":{\"cookie\":%" PRIu64 ",\"accept_wait_ns\":", c->cookie);
		if (wait == CT_DWELL_UNKNOWN)
			fputs("null", p->f);
		else
			fprintf(p->f, "%" PRIu64, wait);
		fputs("}}", p->f);
	}
	p->conns++;
}

void perfetto__conn(struct perfetto *p, const struct conn *c)
{
	write_conn(p, c, 0);
}

void perfetto__open_conn(struct perfetto *p, const struct conn *c, uint64_t end_ns)
{
	write_conn(p, c, end_ns ? end_ns : 1);
}

void perfetto__close(struct perfetto *p)
{
	if (!p->started || p->closed)
		return;
	fputs("\n]}\n", p->f);
	p->closed = true;
}
