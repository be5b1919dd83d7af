// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Prometheus metrics for `tcpdwell serve`: dwell histograms per state,
 * transition counters, socket and stuck gauges, loss counters. Updated by the
 * main loop from the connection table's callbacks; rendered to text that the
 * HTTP thread serves as it is, so a scrape never sees a half-updated series.
 * With --by pod|container the series carry the labels of each connection's cgroup, read
 * from the process's cgroup names (names.h) as transitions come; a set idle long enough
 * gives its slot to a new one, as pods come and go over the weeks a node runs.
 */
#include <stdlib.h>
#include <string.h>

#include "loss.h"
#include "metrics.h"
#include "names.h"
#include "state.h"

const double metrics_bucket_le[METRICS_NBUCKETS] = {
    0.00001, 0.00002, 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
    0.05,    0.1,     0.2,     0.5,    1,      2,      5,     10,    30,    60,	  300,
};

/* Bucket bounds in ns, for the per-sample search. */
static uint64_t le_ns(int i)
{
	return (uint64_t)(metrics_bucket_le[i] * 1e9 + 0.5);
}

void metrics__init(struct metrics *m, enum metrics_label label)
{
	memset(m, 0, sizeof(*m));
	m->label = label;
}

void metrics__free(struct metrics *m)
{
	for (int i = 0; i < METRICS_NSLOTS; i++)
		free(m->set_label[i]);
	free(m->pod_map.slot);
	free(m->ctr_map.slot);
	memset(m, 0, sizeof(*m));
}

/* Whether the per-set series are sparse: --by pod|container give a series only to the sets
 * and states that have something to count, as a node may run hundreds of pods. */
static bool by_cgroup(const struct metrics *m)
{
	return m->label == METRICS_LABEL_POD || m->label == METRICS_LABEL_CONTAINER;
}

/* The states of a gauge row that are not 0, a bit each. */
static uint16_t nonzero_states(const uint64_t *v)
{
	uint16_t bits = 0;

	for (int s = 1; s < TD_STATE_MAX; s++)
		if (v[s])
			bits |= (uint16_t)(1u << s);
	return bits;
}

/* Time as the records and the gauges passes tell it. Records of different CPUs come a little
 * out of order: it never goes back, so that now_ns - set_active_ns[] cannot wrap. */
static void advance(struct metrics *m, uint64_t ns)
{
	if (ns > m->now_ns)
		m->now_ns = ns;
}

void metrics__listener(struct metrics *m, uint16_t port)
{
	if (m->label != METRICS_LABEL_LPORT)
		return;
	for (int i = 1; i <= m->nsets; i++)
		if (m->lport[i] == port)
			return;
	if (m->nsets < METRICS_MAX_LPORTS)
		m->lport[++m->nsets] = port;
}

/* Label index of a connection: its local port if that is a registered
 * listening port (passive connections and the listener itself), else 0. */
static int lport_index(const struct metrics *m, const struct conn *c)
{
	if (c->role != CT_ROLE_PASSIVE && c->role != CT_ROLE_LISTEN)
		return 0;
	for (int i = 1; i <= m->nsets; i++)
		if (m->lport[i] == c->sport)
			return i;
	return 0;
}

/* A label set's text: three values of METRICS_LABEL_VALUE_MAX bytes, each escaped to at most
 * twice that, and their names. */
#define SET_LABEL_LEN (3 * (2 * METRICS_LABEL_VALUE_MAX + 16) + 1)

/*
 * Append ,name="value" to p: the first len bytes of v (cut at METRICS_LABEL_VALUE_MAX), escaped
 * as the text format wants (backslash, double quote, newline). Other bytes outside printable
 * ASCII become '?': a recording replayed may name a pod with any bytes, and a scraper that
 * gets invalid UTF-8 drops the whole scrape. Returns the new end (NUL-terminated).
 */
static char *put_label(char *p, const char *name, const char *v, size_t len)
{
	size_t n = strnlen(v, len < METRICS_LABEL_VALUE_MAX ? len : METRICS_LABEL_VALUE_MAX);

	p += sprintf(p, ",%s=\"", name);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch == '\\' || ch == '"') {
			*p++ = '\\';
			*p++ = (char)ch;
		} else if (ch == '\n') {
			*p++ = '\\';
			*p++ = 'n';
		} else {
			*p++ = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
		}
	}
	*p++ = '"';
	*p = 0;
	return p;
}

/* The label set of cgroup name n (NULL: unknown), as the set's map key says: no pod number,
 * no namespace and pod; no container number (container mode), no container. A pod or
 * container whose name is not known yet is shown by its uid or short id, never as "", which
 * is the host's. */
static void cg_labels(const struct metrics *m, const struct cg_name *n, char *buf)
{
	const char *ns = "", *pod = "", *ctr = "", *slash;
	size_t nslen = 0;
	char uid[CG_UID_LEN + 4], sid[CG_SHORT_ID_LEN + 1];
	char *p = buf;

	if (n && n->pod_ix && n->pod[0]) {
		/* "namespace/name"; a name without its namespace (a replay's) is all pod */
		slash = strchr(n->pod, '/');
		if (slash) {
			ns = n->pod;
			nslen = (size_t)(slash - n->pod);
			pod = slash + 1;
		} else {
			pod = n->pod;
		}
	} else if (n && n->pod_ix) {
		snprintf(uid, sizeof(uid), "pod%s", n->p.pod_uid);
		pod = uid;
	}
	if (n && n->ctr_ix)
		ctr = n->container[0] ? n->container : cgn__short_id(n, sid);
	p = put_label(p, "namespace", ns, nslen);
	p = put_label(p, "pod", pod, METRICS_LABEL_VALUE_MAX);
	if (m->label == METRICS_LABEL_CONTAINER)
		put_label(p, "container", ctr, METRICS_LABEL_VALUE_MAX);
}

/* Whether n's labels are final: its pod's name, and in container mode its container's, are
 * known (a container outside Kubernetes never gets a name: its short id is final enough). */
static bool cg_named(const struct metrics *m, const struct cg_name *n)
{
	if (!n)
		return true;
	if (n->pod_ix && !n->pod[0])
		return false;
	return m->label != METRICS_LABEL_CONTAINER || !n->ctr_ix || !n->pod_ix ||
	       n->container[0];
}

/* Map entry ix of map, growing it; NULL when memory is short (or ix is past what the names
 * table gives). */
static uint16_t *ixmap_entry(struct metrics_ixmap *map, uint32_t ix)
{
	if (ix > CGN_MAX)
		return NULL;
	if (ix >= map->n) {
		uint32_t n = map->n ? map->n : 64;
		uint16_t *v;

		while (n <= ix)
			n *= 2;
		v = realloc(map->slot, n * sizeof(*v));
		if (!v)
			return NULL;
		memset(v + map->n, 0, (n - map->n) * sizeof(*v));
		map->slot = v;
		map->n = n;
	}
	return &map->slot[ix];
}

/*
 * Whether slot i's set may give its slot away: nothing counted for METRICS_SET_IDLE_NS, and no
 * open socket. set_sockets_shown covers the previous gauges pass: in the middle of a pass
 * (count_conn registering a set) set_sockets holds only what this pass has counted so far, and
 * a set whose sockets come later in it must not lose its slot.
 */
static bool set_idle(const struct metrics *m, int i)
{
	return m->now_ns - m->set_active_ns[i] >= METRICS_SET_IDLE_NS &&
	       !m->set_sockets_shown[i] && !nonzero_states(m->set_sockets[i]);
}

/* The idle slot idle longest, or 0: none is. */
static int idlest_set(const struct metrics *m)
{
	int best = 0;

	for (int i = 1; i <= m->nsets; i++)
		if (set_idle(m, i) && (!best || m->set_active_ns[i] < m->set_active_ns[best]))
			best = i;
	return best;
}

/*
 * Forget what slot i counted, and every number that mapped to it: they are another set's now,
 * and a pod or container of the old set that comes back registers again. Only when a new set
 * finds all slots taken, so the maps are scanned rather than indexed back.
 */
static void set_clear(struct metrics *m, int i)
{
	uint16_t e = (uint16_t)(i + 1);

	for (uint32_t k = 0; k < m->pod_map.n; k++)
		if (m->pod_map.slot[k] == e)
			m->pod_map.slot[k] = 0;
	for (uint32_t k = 0; k < m->ctr_map.n; k++)
		if (m->ctr_map.slot[k] == e)
			m->ctr_map.slot[k] = 0;
	if (m->host_slot == e)
		m->host_slot = 0;
	memset(m->dwell[i], 0, sizeof(m->dwell[i]));
	memset(m->transitions[i], 0, sizeof(m->transitions[i]));
	memset(m->set_sockets[i], 0, sizeof(m->set_sockets[i]));
	m->set_sockets_shown[i] = 0;
	m->bytes_sent[i] = m->bytes_received[i] = m->retrans[i] = 0;
	m->set_provisional[i] = false;
}

/*
 * Give the label set of n a slot, and remember it in *e (slot + 1): the slot of a set with
 * the same labels (a pod deleted and made again under its name, as a StatefulSet does, is
 * one series, not two of the same labels), else a new one, else the slot of the set idle
 * longest (its series start again from 0 under the new labels), else 0 (the fold set): the
 * slots are all taken and busy (or memory is short), and one more set is counted as folded.
 */
static int cg_register(struct metrics *m, const struct cg_name *n, uint16_t *e)
{
	char buf[SET_LABEL_LEN], *label;
	int i;

	cg_labels(m, n, buf);
	for (i = 1; i <= m->nsets; i++)
		if (!strcmp(m->set_label[i], buf))
			break;
	if (i > m->nsets) {
		if (m->nsets == METRICS_MAX_LABEL_SETS)
			i = idlest_set(m);
		label = i ? strdup(buf) : NULL;
		if (!label) {
			m->sets_folded++;
			*e = 1;
			return 0;
		}
		if (i <= m->nsets) {
			/* *e may be one the scan clears (a provisional slot given to its own
			 * name): it is set below */
			set_clear(m, i);
			free(m->set_label[i]);
			m->sets_recycled++;
		} else {
			m->nsets = i;
		}
		m->set_label[i] = label;
		m->set_provisional[i] = !cg_named(m, n);
		/* not idle before it has counted what it was made for */
		m->set_active_ns[i] = m->now_ns;
	}
	*e = (uint16_t)(i + 1);
	return i;
}

/*
 * The slot of c's cgroup's label set, registered on first sight. Per transition, so the
 * lookup is the names table's hash and an array: pods and containers have small numbers, and
 * the map from them to slots is direct. A number whose slot is provisional (its name was not
 * known) gets a slot of its name when a connection of it comes named.
 */
static int cg_slot(struct metrics *m, const struct conn *c)
{
	const struct cg_name *n = cgn__get(c->cgroup);
	uint16_t *e;

	if (n && m->label == METRICS_LABEL_CONTAINER && n->ctr_ix)
		e = ixmap_entry(&m->ctr_map, n->ctr_ix);
	else if (n && n->pod_ix)
		e = ixmap_entry(&m->pod_map, n->pod_ix); /* container mode: in no container */
	else
		e = &m->host_slot;
	if (!e)
		return 0; /* memory short: the fold set, and tried again next time */
	if (*e && !(m->set_provisional[*e - 1] && cg_named(m, n)))
		return *e - 1;
	return cg_register(m, n, e);
}

/* The slot of c's series: its label set's, or 0. */
static int slot_of(struct metrics *m, const struct conn *c)
{
	if (m->label == METRICS_LABEL_LPORT)
		return lport_index(m, c);
	if (by_cgroup(m))
		return cg_slot(m, c);
	return 0;
}

/* One value into a histogram's bucket. */
static void hist_add(struct metrics_hist *h, uint64_t ns)
{
	int b = 0;

	while (b < METRICS_NBUCKETS && ns > le_ns(b))
		b++;
	if (b < METRICS_NBUCKETS)
		h->bucket[b]++;
	h->count++;
	h->sum_ns += ns;
}

/* The accept series' index of a listening port, registered on first sight; 0 = "other". */
static int accept_index(struct metrics *m, uint16_t port)
{
	for (int i = 1; i <= m->naccept_ports; i++)
		if (m->accept_port[i] == port)
			return i;
	if (m->naccept_ports == METRICS_MAX_LPORTS)
		return 0;
	m->accept_port[++m->naccept_ports] = port;
	return m->naccept_ports;
}

void metrics__accepted(struct metrics *m, const struct conn *c, uint64_t wait_ns)
{
	if (m->accepts && c->role == CT_ROLE_PASSIVE)
		hist_add(&m->accept_wait[accept_index(m, c->sport)], wait_ns);
}

void metrics__carried(struct metrics *m, const struct conn *c)
{
	int li;

	if (m->label == METRICS_LABEL_NONE ||
	    (m->label == METRICS_LABEL_LPORT && c->role != CT_ROLE_PASSIVE))
		return;
	li = slot_of(m, c);
	m->bytes_sent[li] += c->stats.bytes_acked;
	m->bytes_received[li] += c->stats.bytes_received;
	m->retrans[li] += c->stats.total_retrans;
	/* a series that changed is scraped before it may go; no time of its own here (the
	 * socket's close is a transition, but --state may not count it) */
	if (by_cgroup(m))
		m->set_active_ns[li] = m->now_ns;
}

void metrics__finished(struct metrics *m, const struct conn *c)
{
	if (m->accepts && conn__never_accepted(c))
		m->never_accepted[accept_index(m, c->sport)]++;
}

void metrics__transition(struct metrics *m, const struct conn *c, const struct ct_transition *t)
{
	int li;

	if (t->old >= TD_STATE_MAX || t->new >= TD_STATE_MAX)
		return;
	/* before a set is registered, so that a new slot starts its idle time now */
	if (by_cgroup(m))
		advance(m, t->ts_ns);
	if (m->states && !(m->states & (1u << t->old)) && !(m->states & (1u << t->new)))
		return;
	if (c->role == CT_ROLE_LISTEN && t->new == TD_LISTEN)
		metrics__listener(m, c->sport);
	li = slot_of(m, c);
	m->transitions[li][t->old][t->new]++;
	if (by_cgroup(m) && t->ts_ns > m->set_active_ns[li])
		m->set_active_ns[li] = t->ts_ns;
	if (t->dwell_ns == CT_DWELL_UNKNOWN || t->dwell_lower_bound)
		return;
	if (m->states && !(m->states & (1u << t->old)))
		return; /* entered a state shown, but its dwell is of one that is not */

	hist_add(&m->dwell[li][t->old], t->dwell_ns);
}

struct gauge_ctx {
	struct metrics *m;
	uint64_t now;
};

static void count_conn(void *arg, const struct conn *c)
{
	struct gauge_ctx *g = arg;
	uint64_t enter = c->nsteps ? c->step_ns[c->nsteps - 1] : 0;

	if (c->state >= TD_STATE_MAX || (g->m->states && !(g->m->states & (1u << c->state))))
		return;
	g->m->sockets[c->state]++;
	if (by_cgroup(g->m))
		g->m->set_sockets[cg_slot(g->m, c)][c->state]++;
	if (g->m->stuck_ns[c->state] && enter && g->now > enter &&
	    g->now - enter >= g->m->stuck_ns[c->state])
		g->m->stuck[c->state]++;
}

void metrics__gauges(struct metrics *m, struct conntable *t, uint64_t now_ns)
{
	struct gauge_ctx g = { m, now_ns };
	bool sets = by_cgroup(m);

	memset(m->sockets, 0, sizeof(m->sockets));
	memset(m->stuck, 0, sizeof(m->stuck));
	if (sets) {
		/* before count_conn may register a set: a new slot starts its idle time now */
		advance(m, now_ns);
		/* what was shown last time and is 0 now is shown once more, as 0 */
		for (int i = 0; i < METRICS_NSLOTS; i++)
			m->set_sockets_shown[i] = nonzero_states(m->set_sockets[i]);
		memset(m->set_sockets, 0, sizeof(m->set_sockets));
	}
	conntable__foreach(t, count_conn, &g);
	if (sets)
		for (int i = 0; i < METRICS_NSLOTS; i++) {
			uint16_t open = nonzero_states(m->set_sockets[i]);

			m->set_sockets_shown[i] |= open;
			if (open)
				m->set_active_ns[i] = m->now_ns;
		}
}

/* The states that appear as label values (not CLOSE as a dwelling state). */
static bool real_state(int s)
{
	return s >= TD_ESTABLISHED && s <= TD_CLOSING && s != TD_CLOSE;
}

/* Slot li's labels, as they go after another label (",lport=\"8080\""): in buf (len bytes)
 * or the set's own text. */
static const char *slot_label(const struct metrics *m, int li, char *buf, size_t len)
{
	switch (m->label) {
	case METRICS_LABEL_LPORT:
		if (li == 0)
			snprintf(buf, len, ",lport=\"other\"");
		else
			snprintf(buf, len, ",lport=\"%u\"", m->lport[li]);
		return buf;
	/*
	 * The fold set's values are "_other_", not "other": a pod named other in a namespace
	 * named other would be a second series of the same labels. No Kubernetes name holds a
	 * '_' (namespaces, pods and containers are DNS names), so this needs no check of
	 * every set registered against it.
	 */
	case METRICS_LABEL_POD:
		return li ? m->set_label[li] : ",namespace=\"_other_\",pod=\"_other_\"";
	case METRICS_LABEL_CONTAINER:
		return li ? m->set_label[li]
			  : ",namespace=\"_other_\",pod=\"_other_\",container=\"_other_\"";
	default:
		buf[0] = 0;
		return buf;
	}
}

static void counter_head(FILE *f, bool om, const char *name, const char *help)
{
	fprintf(f, "# HELP %s%s %s\n# TYPE %s%s counter\n", name, om ? "" : "_total", help, name,
		om ? "" : "_total");
}

/* One histogram's series: name_bucket{labels,le=...}, _sum, _count. */
static void render_hist(FILE *f, const char *name, const char *labels, const struct metrics_hist *h)
{
	uint64_t cum = 0;

	for (int b = 0; b < METRICS_NBUCKETS; b++) {
		cum += h->bucket[b];
		fprintf(f, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels, metrics_bucket_le[b],
			(unsigned long long)cum);
	}
	fprintf(f, "%s_bucket{%s,le=\"+Inf\"} %llu\n%s_sum{%s} %.9f\n%s_count{%s} %llu\n", name,
		labels, (unsigned long long)h->count, name, labels, h->sum_ns / 1e9, name, labels,
		(unsigned long long)h->count);
}

/* One counter per label set (and "other"); --by pod|container, only those not 0. */
static void render_per_set(const struct metrics *m, FILE *f, bool om, const char *name,
			   const char *help, const uint64_t *v)
{
	bool sparse = by_cgroup(m);
	char lab[32];

	counter_head(f, om, name, help);
	for (int li = 0; li <= m->nsets; li++) {
		if (sparse && !v[li])
			continue;
		/* slot_label's ",lport=..." without its comma */
		fprintf(f, "%s_total{%s} %llu\n", name, slot_label(m, li, lab, sizeof(lab)) + 1,
			(unsigned long long)v[li]);
	}
}

/* serve --by lport: what the passive connections of each listening port carried; --by
 * pod|container, what every connection of each set carried. */
static void render_carried(const struct metrics *m, FILE *f, bool om)
{
	bool sets = by_cgroup(m);

	render_per_set(m, f, om, "tcpdwell_bytes_sent",
		       sets ? "Bytes the connections of a pod or container sent and had "
			      "acknowledged (sequence space: a FIN counts one), counted as each "
			      "socket closes."
			    : "Bytes the passive connections of a listening port sent and had "
			      "acknowledged (sequence space: a FIN counts one), counted as each "
			      "socket closes.",
		       m->bytes_sent);
	render_per_set(m, f, om, "tcpdwell_bytes_received",
		       sets ? "Bytes the connections of a pod or container received (sequence "
			      "space: a FIN counts one), counted as each socket closes."
			    : "Bytes the passive connections of a listening port received "
			      "(sequence space: a FIN counts one), counted as each socket closes.",
		       m->bytes_received);
	render_per_set(m, f, om, "tcpdwell_retransmits",
		       sets ? "Segments the connections of a pod or container retransmitted, "
			      "counted as each socket closes."
			    : "Segments the passive connections of a listening port retransmitted, "
			      "counted as each socket closes.",
		       m->retrans);
}

/* serve --accept: the accept-queue wait per listening port, and those never accepted. */
static void render_accepts(const struct metrics *m, FILE *f, bool om)
{
	char lab[32];

	fprintf(f, "# HELP tcpdwell_accept_wait_seconds Time accepted connections waited in "
		   "their listener's accept queue, from ESTABLISHED to accept().\n"
		   "# TYPE tcpdwell_accept_wait_seconds histogram\n");
	for (int i = 1; i <= m->naccept_ports; i++) {
		snprintf(lab, sizeof(lab), "lport=\"%u\"", m->accept_port[i]);
		render_hist(f, "tcpdwell_accept_wait_seconds", lab, &m->accept_wait[i]);
	}
	if (m->accept_wait[0].count)
		render_hist(f, "tcpdwell_accept_wait_seconds", "lport=\"other\"",
			    &m->accept_wait[0]);
	counter_head(f, om, "tcpdwell_never_accepted",
		     "Passive connections that ended while still in the accept queue.");
	for (int i = 1; i <= m->naccept_ports; i++)
		fprintf(f, "tcpdwell_never_accepted_total{lport=\"%u\"} %llu\n", m->accept_port[i],
			(unsigned long long)m->never_accepted[i]);
	if (m->never_accepted[0] || m->accept_wait[0].count)
		fprintf(f, "tcpdwell_never_accepted_total{lport=\"other\"} %llu\n",
			(unsigned long long)m->never_accepted[0]);
}

void metrics__render(const struct metrics *m, FILE *f, bool om, const char *version)
{
	bool sparse = by_cgroup(m);
	char buf[32], help[128];
	const char *lab;

	fprintf(f, "# HELP tcpdwell_state_dwell_seconds Time TCP connections spent in a state "
		   "before leaving it.\n# TYPE tcpdwell_state_dwell_seconds histogram\n");
	for (int li = 0; li <= m->nsets; li++) {
		lab = slot_label(m, li, buf, sizeof(buf));
		for (int s = 1; s < TD_STATE_MAX; s++) {
			const struct metrics_hist *h = &m->dwell[li][s];
			uint64_t cum = 0;

			if (!real_state(s) || (sparse && !h->count))
				continue;
			for (int b = 0; b < METRICS_NBUCKETS; b++) {
				cum += h->bucket[b];
				fprintf(
				    f,
					"tcpdwell_state_dwell_seconds_bucket{state=\"%s\"%s,le=\"%g\"} "
					"%llu\n",
					state__label(s), lab, metrics_bucket_le[b],
					(unsigned long long)cum);
			}
			fprintf(
			    f,
				"tcpdwell_state_dwell_seconds_bucket{state=\"%s\"%s,le=\"+Inf\"} %llu\n"
				"tcpdwell_state_dwell_seconds_sum{state=\"%s\"%s} %.9f\n"
				"tcpdwell_state_dwell_seconds_count{state=\"%s\"%s} %llu\n",
				state__label(s), lab, (unsigned long long)h->count, state__label(s),
				lab, h->sum_ns / 1e9, state__label(s), lab,
				(unsigned long long)h->count);
		}
	}

	if (m->accepts)
		render_accepts(m, f, om);
	if (m->label != METRICS_LABEL_NONE)
		render_carried(m, f, om);

	counter_head(f, om, "tcpdwell_transitions", "TCP state transitions seen.");
	for (int li = 0; li <= m->nsets; li++) {
		lab = slot_label(m, li, buf, sizeof(buf));
		for (int a = 1; a < TD_STATE_MAX; a++)
			for (int b = 1; b < TD_STATE_MAX; b++)
				if (m->transitions[li][a][b])
					fprintf(
					    f,
						"tcpdwell_transitions_total{from=\"%s\",to=\"%s\"%s} "
						"%llu\n",
						state__label(a), state__label(b), lab,
						(unsigned long long)m->transitions[li][a][b]);
	}

	fprintf(f, "# HELP tcpdwell_sockets TCP sockets per state now (traced and found at "
		   "start).\n# TYPE tcpdwell_sockets gauge\n");
	for (int s = 1; s < TD_STATE_MAX && !sparse; s++)
		if (real_state(s))
			fprintf(f, "tcpdwell_sockets{state=\"%s\"} %llu\n", state__label(s),
				(unsigned long long)m->sockets[s]);
	for (int li = 0; li <= m->nsets && sparse; li++) {
		lab = slot_label(m, li, buf, sizeof(buf));
		for (int s = 1; s < TD_STATE_MAX; s++)
			if (real_state(s) && (m->set_sockets_shown[li] & (1u << s)))
				fprintf(f, "tcpdwell_sockets{state=\"%s\"%s} %llu\n",
					state__label(s), lab,
					(unsigned long long)m->set_sockets[li][s]);
	}

	fprintf(f, "# HELP tcpdwell_stuck_sockets Sockets in a state longer than its --stuck "
		   "threshold.\n# TYPE tcpdwell_stuck_sockets gauge\n");
	for (int s = 1; s < TD_STATE_MAX; s++)
		if (m->stuck_ns[s])
			fprintf(f, "tcpdwell_stuck_sockets{state=\"%s\"} %llu\n", state__label(s),
				(unsigned long long)m->stuck[s]);

	if (sparse) {
		fprintf(f,
			"# HELP tcpdwell_label_sets_folded Pods (--by pod) or containers (--by "
			"container) counted under the label set whose values are all \"_other_\", "
			"because %d label sets were taken and none was idle.\n"
			"# TYPE tcpdwell_label_sets_folded gauge\n"
			"tcpdwell_label_sets_folded %llu\n",
			METRICS_MAX_LABEL_SETS, (unsigned long long)m->sets_folded);
		snprintf(help, sizeof(help),
			 "Label sets that took the slot of a set idle for %llu s (no transition, "
			 "no socket open), whose series then ended.",
			 METRICS_SET_IDLE_NS / 1000000000ULL);
		counter_head(f, om, "tcpdwell_label_sets_recycled", help);
		fprintf(f, "tcpdwell_label_sets_recycled_total %llu\n",
			(unsigned long long)m->sets_recycled);
	}

	counter_head(f, om, "tcpdwell_lost_records",
		     "Kernel records lost (ring buffer full, or program runs the kernel skipped).");
	/* A counter that could not be read has no sample: a 0 would say "none lost". */
	if (m->lost_ringbuf != LOSS_UNKNOWN)
		fprintf(f, "tcpdwell_lost_records_total{reason=\"ringbuf\"} %llu\n",
			(unsigned long long)m->lost_ringbuf);
	if (m->lost_recursion != LOSS_UNKNOWN)
		fprintf(f, "tcpdwell_lost_records_total{reason=\"recursion\"} %llu\n",
			(unsigned long long)m->lost_recursion);
	fprintf(
	    f, "# HELP tcpdwell_lost_records_known 1 if tcpdwell could read that loss counter "
		   "(0: losses of that kind are unknown).\n# TYPE tcpdwell_lost_records_known gauge\n");
	fprintf(f, "tcpdwell_lost_records_known{reason=\"ringbuf\"} %d\n",
		m->lost_ringbuf != LOSS_UNKNOWN);
	fprintf(f, "tcpdwell_lost_records_known{reason=\"recursion\"} %d\n",
		m->lost_recursion != LOSS_UNKNOWN);

	counter_head(f, om, "tcpdwell_chain_breaks",
		     "Records that showed an earlier record of their connection missing; "
		     "more than tcpdwell_lost_records_total explains is a tcpdwell bug.");
	fprintf(f, "tcpdwell_chain_breaks_total %llu\n", (unsigned long long)m->chain_breaks);

	counter_head(f, om, "tcpdwell_evictions",
		     "Connections dropped from the table to stay within --max-conns.");
	fprintf(f, "tcpdwell_evictions_total %llu\n", (unsigned long long)m->evictions);

	counter_head(f, om, "tcpdwell_timewait_lookups",
		     "sock_diag lookups of timewait sockets in the FIN_WAIT2 substate, by what "
		     "they found: time_wait (the FIN came unannounced), gone (ended, its end "
		     "record lost), unreachable (connections in a namespace without a socket).");
	fprintf(f, "tcpdwell_timewait_lookups_total{result=\"sent\"} %llu\n",
		(unsigned long long)m->tw_lookups);
	fprintf(f, "tcpdwell_timewait_lookups_total{result=\"time_wait\"} %llu\n",
		(unsigned long long)m->tw_time_wait);
	fprintf(f, "tcpdwell_timewait_lookups_total{result=\"gone\"} %llu\n",
		(unsigned long long)m->tw_gone);
	fprintf(f, "tcpdwell_timewait_lookups_total{result=\"unreachable\"} %llu\n",
		(unsigned long long)m->tw_uncheckable);

	counter_head(f, om, "tcpdwell_reconciled",
		     "Open connections a socket dump (--reconcile) found gone from the kernel, "
		     "their end's record lost: ended then.");
	fprintf(f, "tcpdwell_reconciled_total %llu\n", (unsigned long long)m->reconciled);
	counter_head(f, om, "tcpdwell_reconcile_passes",
		     "Reconcile passes ended: socket dumps compared with the open connections.");
	fprintf(f, "tcpdwell_reconcile_passes_total %llu\n",
		(unsigned long long)m->reconcile_passes);

	fprintf(f,
		"# HELP tcpdwell_build_info tcpdwell version.\n"
		   "# TYPE tcpdwell_build_info gauge\n"
		   "tcpdwell_build_info{version=\"%s\"} 1\n",
		version);
	if (om)
		fprintf(f, "# EOF\n");
}
