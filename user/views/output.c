// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Text and JSON Lines formatting of tcpdwell's outputs. Lines are built in a
 * stack buffer with small appenders (no printf in the per-transition path) and
 * written with one fwrite, so a busy trace costs little more than the copy.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmt.h"
#include "outfile.h"
#include "loss.h"
#include "output.h"
#include "pair.h"
#include "perfetto.h"
#include "sat.h"
#include "names.h"
#include "state.h"

#define LINE_MAX_LEN 16384

/* A line being built; never overflows (appends past the end are dropped, and
 * the buffer is sized well above the longest line). */
struct line {
	char buf[LINE_MAX_LEN];
	size_t n;
};

static void put(struct line *l, const char *s, size_t n)
{
	if (n > sizeof(l->buf) - l->n)
		n = sizeof(l->buf) - l->n;
	memcpy(l->buf + l->n, s, n);
	l->n += n;
}

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static void putc_(struct line *l, char c)
{
	if (l->n < sizeof(l->buf))
		l->buf[l->n++] = c;
}

/* v in exactly `digits` digits, zero-padded. */
static void putu_pad(struct line *l, uint64_t v, int digits)
{
	char tmp[24];

	for (int i = digits - 1; i >= 0; i--) {
		tmp[i] = '0' + v % 10;
		v /= 10;
	}
	put(l, tmp, digits);
}

/* "00" to "99": two digits per division (putu is the hottest appender of trace -j). */
static const char digit_pairs[201] = "00010203040506070809101112131415161718192021222324"
				     "25262728293031323334353637383940414243444546474849"
				     "50515253545556575859606162636465666768697071727374"
				     "75767778798081828384858687888990919293949596979899";

static void putu(struct line *l, uint64_t v)
{
	char tmp[24];
	int i = sizeof(tmp);

	while (v >= 100) {
		unsigned int r = (unsigned int)(v % 100);

		v /= 100;
		i -= 2;
		memcpy(tmp + i, digit_pairs + 2 * r, 2);
	}
	if (v >= 10) {
		i -= 2;
		memcpy(tmp + i, digit_pairs + 2 * v, 2);
	} else {
		tmp[--i] = (char)('0' + v);
	}
	put(l, tmp + i, sizeof(tmp) - i);
}

/* Right- or left-justify s in width w. */
static void pad(struct line *l, const char *s, int w, bool right)
{
	int n = strlen(s);

	if (right)
		for (int i = n; i < w; i++)
			putc_(l, ' ');
	puts_(l, s);
	if (!right)
		for (int i = n; i < w; i++)
			putc_(l, ' ');
}

/* A JSON string (fmt__json) into the line. */
static void putjs(struct line *l, const char *s)
{
	l->n += fmt__json(s, SIZE_MAX, l->buf + l->n, sizeof(l->buf) - l->n);
}

static void emit(struct out *o, struct line *l)
{
	putc_(l, '\n');
	fwrite(l->buf, 1, l->n, o->f);
}

void out__init(struct out *o, FILE *f, bool json, int64_t realtime_offset_ns)
{
	memset(o, 0, sizeof(*o));
	o->f = f;
	o->json = json;
	o->realtime_offset_ns = realtime_offset_ns;
	o->cached_sec = -1;
}

/* Wall-clock time of kernel timestamp ts: RFC 3339 UTC with ns in JSON,
 * HH:MM:SS.uuuuuu (UTC) in text. */
static void put_time(struct out *o, struct line *l, uint64_t ts, bool json)
{
	int64_t real = sat__realtime(ts, o->realtime_offset_ns);
	int64_t sec = real / 1000000000;
	uint64_t frac = real % 1000000000;

	if (real < 0) {
		sec = 0;
		frac = 0;
	}
	if (sec != o->cached_sec) {
		struct tm tm;
		time_t t = sec;

		gmtime_r(&t, &tm);
		strftime(o->cached_date, sizeof(o->cached_date), "%Y-%m-%dT%H:%M:%S", &tm);
		o->cached_sec = sec;
	}
	if (json) {
		putc_(l, '"');
		puts_(l, o->cached_date);
		putc_(l, '.');
		putu_pad(l, frac, 9);
		puts_(l, "Z\"");
	} else {
		puts_(l, o->cached_date + 11);
		putc_(l, '.');
		putu_pad(l, frac / 1000, 6);
	}
}

static void put_endpoint(struct line *l, int family, const uint8_t *addr, uint16_t port)
{
	char e[FMT_ENDPOINT_LEN];

	if (sizeof(l->buf) - l->n >= FMT_ENDPOINT_LEN)
		l->n += fmt__endpoint_n(family, addr, port, l->buf + l->n);
	else
		put(l, e, fmt__endpoint_n(family, addr, port, e));
}

/* A cgroup path is shown up to this many bytes. Escaped for JSON (6 bytes each at worst) with
 * a recording's pod (317 bytes) and container (253), about 9.6 KB: a line holds it with room
 * to spare, so no JSON line is ever cut. */
#define CG_SHOW_MAX 1024
_Static_assert(6 * (CG_SHOW_MAX + CG_NS_MAX + 1 + 2 * CG_NAME_MAX) + 4096 <= LINE_MAX_LEN,
	       "a connection's names, escaped, must fit a line");

/* ,"cgroup_path":...,"container_id":...,"container":...,"pod":...: what the cgroup's name
 * says (names.h), null where it says nothing (or is not known). */
static void put_cgroup_json(struct line *l, const struct conn *c)
{
	const struct cg_name *n = cgn__get(c->cgroup);
	char id[CG_SHORT_ID_LEN + 1];

	if (!n) {
		puts_(l, ",\"cgroup_path\":null,\"container_id\":null,\"container\":null,"
			 "\"pod\":null");
		return;
	}
	puts_(l, ",\"cgroup_path\":");
	l->n += fmt__json(n->path, CG_SHOW_MAX, l->buf + l->n, sizeof(l->buf) - l->n);
	puts_(l, ",\"container_id\":");
	if (n->p.container_id[0])
		putjs(l, cgn__short_id(n, id));
	else
		puts_(l, "null");
	puts_(l, ",\"container\":");
	if (n->container[0])
		putjs(l, n->container);
	else
		puts_(l, "null");
	puts_(l, ",\"pod\":");
	if (n->pod[0])
		putjs(l, n->pod);
	else
		puts_(l, "null");
}

/* --wide: "  pod NS/NAME container NAME (ID)", "  container ID", "  cgroup PATH", or nothing
 * when the cgroup is not known; escaped for a terminal. */
static void put_cgroup_text(struct line *l, const struct conn *c)
{
	const struct cg_name *n = cgn__get(c->cgroup);
	char b[FMT_TEXT_LEN(CG_SHOW_MAX)], id[CG_SHORT_ID_LEN + 1];

	if (!n)
		return;
	if (n->pod[0] || n->p.pod_uid[0]) {
		puts_(l, "  pod ");
		if (n->pod[0])
			puts_(l, fmt__text(n->pod, SIZE_MAX, b, sizeof(b)));
		else {
			puts_(l, "uid ");
			puts_(l, n->p.pod_uid);
		}
	}
	if (n->p.container_id[0]) {
		puts_(l, "  container ");
		if (n->container[0]) {
			puts_(l, fmt__text(n->container, SIZE_MAX, b, sizeof(b)));
			puts_(l, " (");
			puts_(l, cgn__short_id(n, id));
			putc_(l, ')');
		} else {
			puts_(l, cgn__short_id(n, id));
		}
	}
	if (!n->p.container_id[0] && !n->p.pod_uid[0]) {
		puts_(l, "  cgroup ");
		puts_(l, fmt__text(n->path, CG_SHOW_MAX, b, sizeof(b)));
	}
}

/* The keys every connection-level JSON object shares. */
static void put_json_conn(struct line *l, const struct conn *c)
{
	char a[64];

	puts_(l, ",\"cookie\":");
	putu(l, c->cookie);
	puts_(l, ",\"pid\":");
	if (c->pid) {
		putu(l, c->pid);
		puts_(l, ",\"comm\":");
		putjs(l, conn__comm(c));
	} else {
		puts_(l, "null,\"comm\":null");
	}
	puts_(l, ",\"family\":");
	putu(l, c->family);
	puts_(l, ",\"laddr\":");
	putjs(l, fmt__addr(c->family, c->saddr, a, sizeof(a)));
	puts_(l, ",\"lport\":");
	putu(l, c->sport);
	puts_(l, ",\"raddr\":");
	putjs(l, fmt__addr(c->family, c->daddr, a, sizeof(a)));
	puts_(l, ",\"rport\":");
	putu(l, c->dport);
	puts_(l, ",\"netns\":");
	putu(l, c->netns);
	puts_(l, ",\"cgroup\":");
	putu(l, c->cgroup);
	put_cgroup_json(l, c);
}

static void put_owner_text(struct line *l, const struct conn *c)
{
	char pid[16], comm[FMT_TEXT_LEN(TD_COMM_LEN)];

	if (c->pid) {
		snprintf(pid, sizeof(pid), "%u", c->pid);
		pad(l, pid, 7, true);
		putc_(l, ' ');
		pad(l, fmt__text(conn__comm(c), TD_COMM_LEN, comm, sizeof(comm)), 15, false);
	} else {
		pad(l, "-", 7, true);
		putc_(l, ' ');
		pad(l, "-", 15, false);
	}
}

static void put_endpoints_text(struct line *l, const struct conn *c)
{
	struct line ep = { .n = 0 };

	put_endpoint(&ep, c->family, c->saddr, c->sport);
	ep.buf[ep.n] = 0;
	pad(l, ep.buf, 22, false);
	putc_(l, ' ');
	ep.n = 0;
	put_endpoint(&ep, c->family, c->daddr, c->dport);
	ep.buf[ep.n] = 0;
	pad(l, ep.buf, 22, false);
}

/* The handshake (CT_F_HANDSHAKE): its RTT sample and retransmissions. */
static void put_handshake_json(struct line *l, const struct conn *c)
{
	puts_(l, ",\"handshake_rtt_ns\":");
	if (c->hs_rtt_us)
		putu(l, (uint64_t)c->hs_rtt_us * 1000);
	else
		puts_(l, "null");
	puts_(l, ",\"handshake_retrans\":");
	putu(l, c->hs_retrans);
}

/* A reset's reason as text: the kernel's name, its number when the name is not known, NULL
 * when the kernel gave none. */
static const char *rst_reason_text(const struct conn *c, char *buf, size_t len)
{
	const char *name;

	if (c->rst_reason == CT_RST_NO_REASON)
		return NULL;
	name = rst__name(c->rst_reason);
	if (name)
		return name;
	snprintf(buf, len, "%u", c->rst_reason);
	return buf;
}

/* ,"rst":{"dir":"sent","reason":"..."} (reason null when the kernel gave none). A name is
 * printable ASCII (rst__set()); quotes and backslashes in it are escaped. */
static void put_rst_json(struct line *l, const struct conn *c)
{
	char n[16];
	const char *why = rst_reason_text(c, n, sizeof(n));

	puts_(l, ",\"rst\":{\"dir\":\"");
	puts_(l, c->rst == CT_RST_SENT ? "sent" : "received");
	puts_(l, "\",\"reason\":");
	if (why)
		putjs(l, why);
	else
		puts_(l, "null");
	putc_(l, '}');
}

/* " (RST sent: REASON)", " (RST sent)", " (RST received)". */
static void put_rst_text(struct line *l, const struct conn *c)
{
	char n[16];
	const char *why = rst_reason_text(c, n, sizeof(n));

	puts_(l, c->rst == CT_RST_SENT ? " (RST sent" : " (RST received");
	if (why) {
		puts_(l, ": ");
		puts_(l, why);
	}
	putc_(l, ')');
}

/* What the connection carried (CT_F_STATS): its socket's counters as it closed. */
static void put_stats_json(struct line *l, const struct conn *c)
{
	puts_(l, ",\"bytes_acked\":");
	putu(l, c->stats.bytes_acked);
	puts_(l, ",\"bytes_received\":");
	putu(l, c->stats.bytes_received);
	puts_(l, ",\"segs_out\":");
	putu(l, c->stats.segs_out);
	puts_(l, ",\"segs_in\":");
	putu(l, c->stats.segs_in);
	puts_(l, ",\"total_retrans\":");
	putu(l, c->stats.total_retrans);
	puts_(l, ",\"srtt_ns\":");
	if (c->stats.srtt_us)
		putu(l, (uint64_t)c->stats.srtt_us * 1000);
	else
		puts_(l, "null");
	puts_(l, ",\"min_rtt_ns\":");
	if (c->min_rtt_us != UINT32_MAX)
		putu(l, (uint64_t)c->min_rtt_us * 1000);
	else
		puts_(l, "null");
}

void out__transition(struct out *o, const struct conn *c, const struct ct_transition *t)
{
	struct line l = { .n = 0 };
	char d[32];

	if (o->json) {
		puts_(&l, "{\"type\":\"transition\",\"time\":");
		put_time(o, &l, t->ts_ns, true);
		puts_(&l, ",\"ts_ns\":");
		putu(&l, t->ts_ns);
		put_json_conn(&l, c);
		puts_(&l, ",\"old\":\"");
		puts_(&l, state__name(t->old));
		puts_(&l, "\",\"new\":\"");
		puts_(&l, state__name(t->new));
		puts_(&l, "\",\"dwell_ns\":");
		if (t->dwell_ns == CT_DWELL_UNKNOWN)
			puts_(&l, "null");
		else
			putu(&l, t->dwell_ns);
		if (t->dwell_lower_bound)
			puts_(&l, ",\"dwell_lower_bound\":true");
		if (t->tw_end) {
			puts_(&l, ",\"end\":\"");
			puts_(&l, fmt__tw_end(t->tw_end));
			putc_(&l, '"');
		}
		/* The handshake as it ends; what the connection carried as it closes. */
		if ((t->old == TD_SYN_SENT || t->old == TD_SYN_RECV) &&
		    (c->flags & CT_F_HANDSHAKE))
			put_handshake_json(&l, c);
		if (t->new == TD_CLOSE && (c->flags & CT_F_STATS))
			put_stats_json(&l, c);
		putc_(&l, '}');
		emit(o, &l);
		return;
	}
	if (!o->header_done) {
		fprintf(o->f, "%-15s %7s %-15s %-22s %-22s %-11s    %-11s %s\n", "TIME(UTC)", "PID",
			"COMM", "LADDR:LPORT", "RADDR:RPORT", "OLD", "NEW", "DWELL");
		o->header_done = true;
	}
	put_time(o, &l, t->ts_ns, false);
	putc_(&l, ' ');
	put_owner_text(&l, c);
	putc_(&l, ' ');
	put_endpoints_text(&l, c);
	putc_(&l, ' ');
	pad(&l, state__name(t->old), 11, false);
	puts_(&l, " -> ");
	pad(&l, state__name(t->new), 11, false);
	putc_(&l, ' ');
	if (t->dwell_lower_bound)
		puts_(&l, ">= ");
	puts_(&l, fmt__dur(t->dwell_ns, d, sizeof(d)));
	if (t->tw_end) {
		puts_(&l, " (");
		puts_(&l, fmt__tw_end(t->tw_end));
		putc_(&l, ')');
	}
	if (o->wide)
		put_cgroup_text(&l, c);
	emit(o, &l);
}

/* The JSON object of a finished timeline, appended to l. */
static void put_timeline_json(struct out *o, struct line *l, const struct conn *c)
{
	uint64_t start = c->nsteps && c->step_ns[0] ? c->step_ns[0] : c->start_ns;
	bool complete = !(c->flags & (CT_F_INCOMPLETE | CT_F_TRUNCATED));

	puts_(l, "{\"type\":\"timeline\",\"time\":");
	put_time(o, l, c->end_ns, true);
	put_json_conn(l, c);
	puts_(l, ",\"role\":\"");
	puts_(l, fmt__role(c->role));
	puts_(l, "\",\"start\":");
	put_time(o, l, start, true);
	puts_(l, ",\"duration_ns\":");
	putu(l, c->end_ns >= start ? c->end_ns - start : 0);
	puts_(l, ",\"complete\":");
	puts_(l, complete ? "true" : "false");
	if (c->flags & CT_F_SEEDED)
		puts_(l, ",\"seeded\":true,\"dwell_lower_bound\":true");
	if (c->tw_end) {
		puts_(l, ",\"end\":\"");
		puts_(l, fmt__tw_end(c->tw_end));
		putc_(l, '"');
	}
	if (c->role == CT_ROLE_PASSIVE) {
		uint64_t wait = conn__accept_wait(c);

		puts_(l, ",\"accept_wait_ns\":");
		if (wait == CT_DWELL_UNKNOWN)
			puts_(l, "null");
		else
			putu(l, wait);
		if (o->accepts) {
			puts_(l, ",\"never_accepted\":");
			puts_(l, conn__never_accepted(c) ? "true" : "false");
		}
	}
	if (c->flags & CT_F_HANDSHAKE)
		put_handshake_json(l, c);
	if (c->flags & CT_F_STATS)
		put_stats_json(l, c);
	if (c->rst)
		put_rst_json(l, c);
	puts_(l, ",\"states\":[");
	for (int i = 0; i < c->nsteps; i++) {
		uint64_t dw = conn__step_dwell(c, i);

		if (i)
			putc_(l, ',');
		puts_(l, "{\"state\":\"");
		puts_(l, state__name(c->step_state[i]));
		puts_(l, "\",\"dwell_ns\":");
		if (dw == CT_DWELL_UNKNOWN)
			puts_(l, "null");
		else
			putu(l, dw);
		if (i == 0 && c->lower_bound)
			puts_(l, ",\"dwell_lower_bound\":true");
		putc_(l, '}');
	}
	puts_(l, "]}");
}

/*
 * The step of a passive connection's text timeline that carries its accept: the one it
 * was queued in (ESTABLISHED, or a Fast Open child's SYN_RECV), with the wait in *wait,
 * or the ESTABLISHED of one never accepted (*never). -1: none to show.
 */
static int queued_step(const struct out *o, const struct conn *c, uint64_t *wait, bool *never)
{
	*wait = conn__accept_wait(c);
	*never = o->accepts && conn__never_accepted(c);
	if (c->role != CT_ROLE_PASSIVE || (*wait == CT_DWELL_UNKNOWN && !*never))
		return -1;
	for (int i = 0; i < c->nsteps; i++) {
		if (*never ? c->step_state[i] == TD_ESTABLISHED
			   : c->step_ns[i] == c->accept_ns - *wait &&
				 (c->step_state[i] == TD_ESTABLISHED ||
				  c->step_state[i] == TD_SYN_RECV))
			return i;
	}
	return -1;
}

/* The step a handshake with retransmissions is told on: the SYN_SENT of an active open,
 * the SYN_RECV of a passive one. -1: none (no retransmission, or not known). */
static int hs_step(const struct conn *c)
{
	uint8_t st = c->role == CT_ROLE_PASSIVE ? TD_SYN_RECV : TD_SYN_SENT;

	if (!(c->flags & CT_F_HANDSHAKE) || !c->hs_retrans)
		return -1;
	for (int i = 0; i < c->nsteps; i++)
		if (c->step_state[i] == st)
			return i;
	return -1;
}

/* --wide: the handshake's RTT and what the connection carried, after the timeline. */
static void put_wide(struct line *l, const struct conn *c)
{
	char d[32], n[160];

	if (c->flags & CT_F_HANDSHAKE) {
		puts_(l, "  handshake rtt ");
		puts_(l, c->hs_rtt_us ? fmt__dur((uint64_t)c->hs_rtt_us * 1000, d, sizeof(d)) : "?");
	}
	if (!(c->flags & CT_F_STATS))
		return;
	snprintf(n, sizeof(n), "  sent %" PRIu64 " B, received %" PRIu64 " B, segs %u/%u, retrans %u",
		 (uint64_t)c->stats.bytes_acked, (uint64_t)c->stats.bytes_received, c->stats.segs_out,
		 c->stats.segs_in, c->stats.total_retrans);
	puts_(l, n);
	puts_(l, ", srtt ");
	puts_(l, c->stats.srtt_us ? fmt__dur((uint64_t)c->stats.srtt_us * 1000, d, sizeof(d)) : "?");
	puts_(l, ", min rtt ");
	puts_(l, c->min_rtt_us != UINT32_MAX ? fmt__dur((uint64_t)c->min_rtt_us * 1000, d, sizeof(d))
					      : "?");
}

void out__timeline(struct out *o, const struct conn *c)
{
	struct line l = { .n = 0 };
	uint64_t start = c->nsteps && c->step_ns[0] ? c->step_ns[0] : c->start_ns;
	bool complete = !(c->flags & (CT_F_INCOMPLETE | CT_F_TRUNCATED));
	uint64_t wait;
	bool never;
	int queued;
	char d[32];

	if (o->pf) {
		perfetto__conn(o->pf, c);
		return;
	}
	if (o->pair) {
		pair__add(o->pair, c);
		return;
	}
	if (o->json) {
		put_timeline_json(o, &l, c);
		emit(o, &l);
		return;
	}
	put_time(o, &l, start, false);
	putc_(&l, ' ');
	put_owner_text(&l, c);
	putc_(&l, ' ');
	pad(&l, fmt__role(c->role), 7, false);
	putc_(&l, ' ');
	put_endpoints_text(&l, c);
	puts_(&l, "  ");
	if (c->flags & CT_F_INCOMPLETE)
		puts_(&l, "... ");
	queued = queued_step(o, c, &wait, &never);
	for (int i = 0; i < c->nsteps; i++) {
		puts_(&l, state__name(c->step_state[i]));
		putc_(&l, ' ');
		if (i == hs_step(c)) {
			/* The handshake's retransmissions: why SYN_SENT took seconds. */
			char n[24];

			snprintf(n, sizeof(n), "(%u ", c->hs_retrans);
			puts_(&l, n);
			puts_(&l, c->role == CT_ROLE_PASSIVE ? "SYN-ACK" : "SYN");
			puts_(&l, c->hs_retrans == 1 ? " retransmitted) " : "s retransmitted) ");
		}
		if (i == queued && never) {
			puts_(&l, "(never accepted) ");
		} else if (i == queued) {
			puts_(&l, "(queued ");
			puts_(&l, fmt__dur(wait, d, sizeof(d)));
			puts_(&l, ") ");
		}
		if (i == 0 && c->lower_bound)
			puts_(&l, ">= ");
		puts_(&l, fmt__dur(conn__step_dwell(c, i), d, sizeof(d)));
		if (i + 1 == c->nsteps && c->tw_end) {
			puts_(&l, " (");
			puts_(&l, fmt__tw_end(c->tw_end));
			putc_(&l, ')');
		}
		puts_(&l, " > ");
	}
	puts_(&l, "CLOSE");
	if (c->rst)
		put_rst_text(&l, c);
	puts_(&l, "  total ");
	if (!complete)
		puts_(&l, ">= ");
	puts_(&l,
	      fmt__dur(c->end_ns >= start ? c->end_ns - start : CT_DWELL_UNKNOWN, d, sizeof(d)));
	if (o->wide) {
		put_wide(&l, c);
		put_cgroup_text(&l, c);
	}
	emit(o, &l);
}

void out__reset(struct out *o, const struct conn *c, uint64_t ts_ns)
{
	struct line l = { .n = 0 };
	char n[16];
	const char *why;

	if (o->json) {
		puts_(&l, "{\"type\":\"rst\",\"time\":");
		put_time(o, &l, ts_ns, true);
		puts_(&l, ",\"ts_ns\":");
		putu(&l, ts_ns);
		put_json_conn(&l, c);
		puts_(&l, ",\"state\":\"");
		puts_(&l, state__name(c->state));
		putc_(&l, '"');
		put_rst_json(&l, c);
		putc_(&l, '}');
		emit(o, &l);
		return;
	}
	why = rst_reason_text(c, n, sizeof(n));
	put_time(o, &l, ts_ns, false);
	putc_(&l, ' ');
	put_owner_text(&l, c);
	putc_(&l, ' ');
	put_endpoints_text(&l, c);
	puts_(&l, c->rst == CT_RST_SENT ? " RST sent" : " RST received");
	if (why) {
		puts_(&l, " (");
		puts_(&l, why);
		putc_(&l, ')');
	}
	puts_(&l, " in ");
	puts_(&l, state__name(c->state));
	emit(o, &l);
}

void out__stuck(struct out *o, const struct conn *c, int state, uint64_t dwell_ns)
{
	struct line l = { .n = 0 };
	char d[32];

	if (o->pf) {
		/* Not a trace event: keep the perfetto JSON valid, say it on stderr. */
		struct out t = *o;

		t.f = stderr;
		t.json = false;
		t.pf = NULL;
		out__stuck(&t, c, state, dwell_ns);
		return;
	}
	if (o->json) {
		puts_(&l, "{\"type\":\"stuck\",\"time\":");
		put_time(o, &l, c->step_ns[c->nsteps - 1] + dwell_ns, true);
		put_json_conn(&l, c);
		puts_(&l, ",\"state\":\"");
		puts_(&l, state__name(state));
		puts_(&l, "\",\"dwell_ns\":");
		putu(&l, dwell_ns);
		if (c->nsteps == 1 && c->lower_bound)
			puts_(&l, ",\"dwell_lower_bound\":true");
		putc_(&l, '}');
		emit(o, &l);
		return;
	}
	put_time(o, &l, c->step_ns[c->nsteps - 1] + dwell_ns, false);
	putc_(&l, ' ');
	put_owner_text(&l, c);
	putc_(&l, ' ');
	put_endpoints_text(&l, c);
	puts_(&l, " STUCK in ");
	puts_(&l, state__name(state));
	puts_(&l, c->nsteps == 1 && c->lower_bound ? " for >= " : " for ");
	puts_(&l, fmt__dur(dwell_ns, d, sizeof(d)));
	emit(o, &l);
}

/* stat's text key column: at most this wide (bytes of escaped text). */
#define KEY_COL_MAX 63

static const char *by_name(enum td_by by)
{
	switch (by) {
	case TD_BY_LPORT:
		return "lport";
	case TD_BY_RPORT:
		return "rport";
	case TD_BY_RADDR:
		return "raddr";
	case TD_BY_COMM:
		return "comm";
	case TD_BY_POD:
		return "pod";
	case TD_BY_CONTAINER:
		return "container";
	default:
		return NULL;
	}
}

static void put_hist_text(struct out *o, const struct hist *h)
{
	uint64_t counts[64], maxc = 0;
	int top = hist__log2(h, counts);
	int lo = 0;
	char a[32], b[32];

	while (lo < top && !counts[lo])
		lo++;
	for (int i = lo; i < top; i++)
		if (counts[i] > maxc)
			maxc = counts[i];
	for (int i = lo; i < top; i++) {
		int stars = maxc ? (int)((counts[i] * 40 + maxc - 1) / maxc) : 0;
		char bar[41];

		memset(bar, '*', stars);
		bar[stars] = 0;
		fprintf(o->f, "  %10s .. %-10s : %-10" PRIu64 " |%-40s|\n",
			fmt__dur(i ? 1ULL << i : 0, a, sizeof(a)),
			/* the last bucket: to 2^64 - 2, as UINT64_MAX is "?" (unknown) */
			fmt__dur(i < 63 ? (1ULL << (i + 1)) - 1 : UINT64_MAX - 1, b, sizeof(b)),
			counts[i], bar);
	}
}

/* A stat row's name: its state's, or that of a row that is no state. */
static const char *row_name(int state)
{
	switch (state) {
	case STAT_ACCEPT_WAIT:
		return "ACCEPT_WAIT";
	case STAT_BYTES_SENT:
		return "BYTES_SENT";
	case STAT_BYTES_RECEIVED:
		return "BYTES_RECV";
	case STAT_RETRANS:
		return "RETRANS";
	default:
		return state__name(state);
	}
}

/* A count row's sum (bytes, segments), saturated. */
static uint64_t row_sum(const struct hist *h)
{
	return h->sum > UINT64_MAX ? UINT64_MAX : (uint64_t)h->sum;
}

/* A count row of the text table: plain numbers, and their sum. */
static void put_count_row(struct out *o, const struct stat_row *r)
{
	const struct hist *h = &r->h;

	fprintf(o->f,
		"%-11s %10" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64
		" %9" PRIu64 "  sum %" PRIu64 "\n",
		row_name(r->state), h->count, h->min, hist__mean(h), hist__quantile(h, 0.5),
		hist__quantile(h, 0.9), hist__quantile(h, 0.99), h->max, row_sum(h));
}

void out__stats(struct out *o, const struct stat_table *t, enum td_by by, bool hist, uint64_t ts_ns)
{
	const char *key = by_name(by);
	char v[7][32];

	int kw = 15;

	for (int i = 0; key && !o->json && i < t->nrows; i++) {
		char k[KEY_COL_MAX + 1];
		int w = (int)strlen(fmt__text(t->rows[i].key, sizeof(t->rows[i].key), k, sizeof(k)));

		if (t->rows[i].h.count && w > kw)
			kw = w;
	}
	if (!o->json)
		fprintf(o->f, "%-*s%s%-11s %10s %9s %9s %9s %9s %9s %9s\n", key ? kw : 0,
			key ? "KEY" : "", key ? " " : "", "STATE", "COUNT", "MIN", "MEAN", "P50",
			"P90", "P99", "MAX");
	for (int i = 0; i < t->nrows; i++) {
		const struct stat_row *r = &t->rows[i];
		const struct hist *h = &r->h;

		if (!h->count)
			continue;
		if (o->json) {
			struct line l = { .n = 0 };

			puts_(&l, "{\"type\":\"stat\",\"time\":");
			put_time(o, &l, ts_ns, true);
			puts_(&l, ",\"state\":\"");
			puts_(&l, row_name(r->state));
			puts_(&l, "\"");
			if (key) {
				puts_(&l, ",\"");
				puts_(&l, key);
				puts_(&l, "\":");
				/* Ports are numbers, as in every other record; "other" (past
				 * the row cap) and addresses and names are strings. */
				if (by == TD_BY_LPORT || by == TD_BY_RPORT) {
					if (r->key[0] >= '0' && r->key[0] <= '9')
						puts_(&l, r->key);
					else
						putjs(&l, r->key);
				} else {
					putjs(&l, r->key);
				}
			}
			/* Durations in ns; a count row's values are counts, with their sum. */
			const char *u = STAT_IS_COUNT(r->state) ? "" : "_ns";

			puts_(&l, ",\"count\":");
			putu(&l, h->count);
			if (*u == 0) {
				puts_(&l, ",\"sum\":");
				putu(&l, row_sum(h));
			}
			puts_(&l, ",\"min");
			puts_(&l, u);
			puts_(&l, "\":");
			putu(&l, h->min);
			puts_(&l, ",\"mean");
			puts_(&l, u);
			puts_(&l, "\":");
			putu(&l, hist__mean(h));
			puts_(&l, ",\"p50");
			puts_(&l, u);
			puts_(&l, "\":");
			putu(&l, hist__quantile(h, 0.50));
			puts_(&l, ",\"p90");
			puts_(&l, u);
			puts_(&l, "\":");
			putu(&l, hist__quantile(h, 0.90));
			puts_(&l, ",\"p99");
			puts_(&l, u);
			puts_(&l, "\":");
			putu(&l, hist__quantile(h, 0.99));
			puts_(&l, ",\"max");
			puts_(&l, u);
			puts_(&l, "\":");
			putu(&l, h->max);
			if (hist) {
				uint64_t counts[64];
				int top = hist__log2(h, counts);

				puts_(&l, ",\"log2_ns\":[");
				for (int j = 0; j < top; j++) {
					if (j)
						putc_(&l, ',');
					putu(&l, counts[j]);
				}
				putc_(&l, ']');
			}
			putc_(&l, '}');
			emit(o, &l);
			continue;
		}
		if (key) {
			/* The column: as wide as the longest key (pods and containers have long
			 * names), at most KEY_COL_MAX bytes, an escape never cut. */
			char k[KEY_COL_MAX + 1];

			fprintf(o->f, "%-*s ", kw, fmt__text(r->key, sizeof(r->key), k, sizeof(k)));
		}
		if (STAT_IS_COUNT(r->state)) {
			put_count_row(o, r);
			continue;
		}
		fprintf(o->f, "%-11s %10" PRIu64 " %9s %9s %9s %9s %9s %9s\n", row_name(r->state),
			h->count, fmt__dur(h->min, v[0], 32), fmt__dur(hist__mean(h), v[1], 32),
			fmt__dur(hist__quantile(h, 0.5), v[2], 32),
			fmt__dur(hist__quantile(h, 0.9), v[3], 32),
			fmt__dur(hist__quantile(h, 0.99), v[4], 32), fmt__dur(h->max, v[5], 32));
		if (hist)
			put_hist_text(o, h);
	}
}

/* Perfetto output holds trace events only: a status record goes to stderr as text
 * instead (through t), so the JSON stays valid. False when o is not perfetto. */
static bool perfetto_aside(const struct out *o, struct out *t)
{
	if (!o->pf)
		return false;
	*t = *o;
	t->f = stderr;
	t->json = false;
	t->pf = NULL;
	return true;
}

void out__lost(struct out *o, uint64_t ringbuf, uint64_t recursion, uint64_t chain_breaks,
	       uint64_t reconciled)
{
	uint64_t total = loss__add(ringbuf, recursion);
	char a[24], b[24], c[24];
	struct out t;

	if (perfetto_aside(o, &t)) {
		out__lost(&t, ringbuf, recursion, chain_breaks, reconciled);
		return;
	}
	if (o->json) {
		fprintf(
		    o->f,
			"{\"type\":\"lost\",\"ringbuf\":%s,\"recursion\":%s,\"chain_breaks\":%" PRIu64
			",\"reconciled\":%" PRIu64 "}\n",
			loss__json(a, sizeof(a), ringbuf), loss__json(b, sizeof(b), recursion),
			chain_breaks, reconciled);
		return;
	}
	fprintf(o->f,
		"LOST %s records so far: %s ring buffer full, %s skipped by the kernel (BPF "
		"recursion)%s",
		loss__fmt(c, sizeof(c), total), loss__fmt(a, sizeof(a), ringbuf),
		loss__fmt(b, sizeof(b), recursion),
		total == LOSS_UNKNOWN ? " (a counter could not be read: losses may be hidden)"
				      : "");
	if (chain_breaks)
		/* A break with no loss counted means a record went missing unseen. */
		fprintf(o->f, "; %" PRIu64 " chain break%s (connections missing a record)%s",
			chain_breaks, chain_breaks == 1 ? "" : "s",
			total ? "" : " with no loss counted: a tcpdwell bug");
	if (reconciled)
		fprintf(o->f,
			"; %" PRIu64 " open connections the kernel no longer had were ended "
			"(reconciled)",
			reconciled);
	putc('\n', o->f);
}

void out__evicted(struct out *o, uint64_t evicted, uint32_t max_conns)
{
	struct out t;

	if (perfetto_aside(o, &t)) {
		out__evicted(&t, evicted, max_conns);
		return;
	}
	if (o->json)
		fprintf(o->f,
			"{\"type\":\"evicted\",\"connections\":%" PRIu64 ",\"max_conns\":%u}\n",
			evicted, max_conns);
	else
		fprintf(o->f,
			"EVICTED %" PRIu64 " connections so far (--max-conns %u): the idle "
			"longest were forgotten; their later records start incomplete timelines\n",
			evicted, max_conns);
}

void out__error(struct out *o, const char *msg)
{
	struct line l = { .n = 0 };

	if (o->pf) {
		/* Not a trace event: keep the perfetto JSON valid, say it on stderr. */
		struct out t = *o;

		t.f = stderr;
		t.json = false;
		t.pf = NULL;
		out__error(&t, msg);
		return;
	}
	if (o->json) {
		puts_(&l, "{\"type\":\"error\",\"message\":");
		putjs(&l, msg);
		putc_(&l, '}');
	} else {
		puts_(&l, "tcpdwell: ");
		puts_(&l, msg);
	}
	emit(o, &l);
}

int out__flush(struct out *o)
{
	if (fflush(o->f) || ferror(o->f))
		return -1;
	return 0;
}

/* One line of a pair: time, then the event in the client or the server column. */
struct pair_ev {
	uint64_t ts;
	uint8_t state;
	uint64_t dwell; /* of state; CT_DWELL_UNKNOWN for CLOSE */
	bool lower_bound;
};

/* The events of one side: each state entered, then CLOSE at end_ns. */
static int pair_events(const struct conn *c, struct pair_ev *ev)
{
	int n = 0;

	if (!c)
		return 0;
	for (int i = 0; i < c->nsteps; i++)
		ev[n++] = (struct pair_ev){ c->step_ns[i], c->step_state[i], conn__step_dwell(c, i),
					    i == 0 && c->lower_bound };
	if (c->end_ns)
		ev[n++] = (struct pair_ev){ c->end_ns, TD_CLOSE, CT_DWELL_UNKNOWN, false };
	return n;
}

static void put_pair_cell(struct line *l, const struct pair_ev *e)
{
	struct line cell = { .n = 0 };
	char d[32];

	puts_(&cell, state__name(e->state));
	if (e->dwell != CT_DWELL_UNKNOWN) {
		putc_(&cell, ' ');
		if (e->lower_bound)
			puts_(&cell, ">=");
		puts_(&cell, fmt__dur(e->dwell, d, sizeof(d)));
	}
	cell.buf[cell.n] = 0;
	pad(l, cell.buf, 30, false);
}

static void put_pair_side_head(struct line *l, const char *label, const struct conn *c)
{
	char pid[16];

	puts_(l, label);
	if (!c) {
		pad(l, " (not seen)", 30 - (int)strlen(label), false);
		return;
	}
	snprintf(pid, sizeof(pid), " %u ", c->pid);
	{
		struct line cell = { .n = 0 };
		char comm[FMT_TEXT_LEN(TD_COMM_LEN)];

		puts_(&cell, c->pid ? pid + 1 : "- ");
		puts_(&cell,
		      c->pid ? fmt__text(conn__comm(c), TD_COMM_LEN, comm, sizeof(comm)) : "-");
		cell.buf[cell.n] = 0;
		putc_(l, ' ');
		pad(l, cell.buf, 29 - (int)strlen(label), false);
	}
}

void out__pair(struct out *o, const struct conn *client, const struct conn *server)
{
	struct pair_ev ce[CT_MAX_STEPS + 1], se[CT_MAX_STEPS + 1];
	const struct conn *any = client ? client : server;
	struct line l = { .n = 0 };
	int nc, ns;

	if (!any)
		return;
	/* A side alone goes in the column of its role (a listener is a server). */
	if (!server && (client->role == CT_ROLE_PASSIVE || client->role == CT_ROLE_LISTEN)) {
		server = client;
		client = NULL;
	}
	nc = pair_events(client, ce);
	ns = pair_events(server, se);
	if (o->json) {
		puts_(&l, "{\"type\":\"pair\",\"paired\":");
		puts_(&l, client && server ? "true" : "false");
		puts_(&l, ",\"client\":");
		if (client)
			put_timeline_json(o, &l, client);
		else
			puts_(&l, "null");
		puts_(&l, ",\"server\":");
		if (server)
			put_timeline_json(o, &l, server);
		else
			puts_(&l, "null");
		putc_(&l, '}');
		emit(o, &l);
		return;
	}
	puts_(&l, client && server ? "PAIR " : "UNPAIRED ");
	/* Name the connection from the client's side: client > server. */
	if (client) {
		put_endpoint(&l, client->family, client->saddr, client->sport);
		puts_(&l, " > ");
		put_endpoint(&l, client->family, client->daddr, client->dport);
	} else {
		put_endpoint(&l, server->family, server->daddr, server->dport);
		puts_(&l, " > ");
		put_endpoint(&l, server->family, server->saddr, server->sport);
	}
	puts_(&l, " netns ");
	putu(&l, any->netns);
	if (client && server && client->netns != server->netns) {
		puts_(&l, " > "); /* containers: the client's, then the server's */
		putu(&l, server->netns);
	}
	emit(o, &l);
	l.n = 0;
	pad(&l, "  TIME(UTC)", 19, false);
	put_pair_side_head(&l, "CLIENT", client);
	puts_(&l, "  ");
	put_pair_side_head(&l, "SERVER", server);
	while (l.n && l.buf[l.n - 1] == ' ')
		l.n--;
	emit(o, &l);
	/* Merge in time order; on a tie the client's event first (it caused it). */
	for (int i = 0, j = 0; i < nc || j < ns;) {
		bool take_c = j >= ns || (i < nc && ce[i].ts <= se[j].ts);
		const struct pair_ev *e = take_c ? &ce[i++] : &se[j++];

		l.n = 0;
		puts_(&l, "  ");
		put_time(o, &l, e->ts, false);
		puts_(&l, "  ");
		if (take_c) {
			put_pair_cell(&l, e);
		} else {
			pad(&l, "", 30, false);
			puts_(&l, "  ");
			put_pair_cell(&l, e);
		}
		while (l.n && l.buf[l.n - 1] == ' ')
			l.n--;
		emit(o, &l);
	}
}

static void pair_emit(void *arg, const struct conn *client, const struct conn *server)
{
	out__pair(arg, client, server);
}

int out__open_view(struct out *o, const struct td_options *opt, char *err, size_t errlen)
{
	if (opt->cmd != TD_CMD_TIMELINE)
		return 0;
	if (opt->output && strcmp(opt->output, "-")) {
		o->owned = outfile__create(opt->output, opt->force, err, errlen);
		if (!o->owned)
			return -1;
		o->f = o->owned;
	}
	if (opt->perfetto) {
		o->pf = malloc(sizeof(*o->pf));
		if (!o->pf) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		perfetto__open(o->pf, o->f);
	} else if (opt->pair) {
		o->pair = pair__new(PAIR_MAX_HELD, PAIR_HOLD_NS, pair_emit, o);
		if (!o->pair) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

void out__open_timeline(struct out *o, const struct conn *c, uint64_t end_ns)
{
	if (o->pf)
		perfetto__open_conn(o->pf, c, end_ns);
}

void out__end_view(struct out *o)
{
	if (o->pair) {
		struct pair *p = o->pair;

		pair__drain(p);
		o->pair = NULL;
		pair__free(p);
	}
	if (o->pf) {
		perfetto__close(o->pf);
		free(o->pf);
		o->pf = NULL;
	}
}
