// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tcpdwell top`: what the connection table holds right now, refreshed every interval. The
 * first half is pure: a snapshot of the table and one layout of it, written as text when
 * stdout is not a terminal. The second half is the terminal edge: it paints the same layout
 * with ncurses and reads keys.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curses.h>
#include <term.h>

#include "fmt.h"
#include "sat.h"
#include "state.h"
#include "loss.h"
#include "names.h"
#include "top.h"

/* Longest line the layout builds; wider terminals get blank space to the right. */
#define LINE_BYTES 512
/* The socket bar: as wide as the terminal allows, within these bounds. */
#define BAR_MIN 12
#define BAR_MAX 100
/* Widths of the row columns; the endpoint columns fit the longest endpoint shown. */
#define W_PID	 7
#define W_COMM	 15
#define W_STATE	 12
#define W_AGE	 9
#define W_EP_MIN 11
#define X_STATE	 (W_PID + 1 + W_COMM + 1)

/* One letter per state in the bar, unique, chosen to read as the state's name. */
static const char state_letter[TD_STATE_MAX] = {
	[TD_ESTABLISHED] = 'E', [TD_SYN_SENT] = 'S',   [TD_SYN_RECV] = 'R',
	[TD_FIN_WAIT1] = '1',   [TD_FIN_WAIT2] = '2',  [TD_TIME_WAIT] = 'T',
	[TD_CLOSE] = 'X',       [TD_CLOSE_WAIT] = 'C', [TD_LAST_ACK] = 'A',
	[TD_LISTEN] = 'L',      [TD_CLOSING] = 'G',    [TD_NEW_SYN_RECV] = 'N',
};

static const char *const sort_names[TOP_SORT_MAX] = {
	[TOP_SORT_DWELL] = "dwell",
	[TOP_SORT_STATE] = "state",
	[TOP_SORT_PID] = "pid",
	[TOP_SORT_LPORT] = "lport",
};

static bool valid_state(int st)
{
	return st > 0 && st < TD_STATE_MAX;
}

double top__rate(struct top_rate *r, uint64_t now_ns, uint64_t count)
{
	if (!r->last_ns || count < r->last_count || now_ns < r->last_ns) {
		r->last_ns = now_ns;
		r->last_count = count;
		r->per_s = -1;
		return r->per_s;
	}
	if (now_ns - r->last_ns < TOP_RATE_MIN_NS)
		return r->per_s;
	r->per_s = (double)(count - r->last_count) * 1e9 / (double)(now_ns - r->last_ns);
	r->last_ns = now_ns;
	r->last_count = count;
	return r->per_s;
}

/* ---- snapshot ------------------------------------------------------------------------- */

static void row_dwell(struct top_row *r, const struct conn *c, uint64_t now)
{
	uint64_t enter = c->nsteps ? c->step_ns[c->nsteps - 1] : 0;

	if (!enter) {
		r->dwell_ns = 0;
		r->dwell_kind = TOP_DWELL_UNKNOWN;
		return;
	}
	/* A record can be stamped after the caller read its clock: that is no time yet. */
	r->dwell_ns = now > enter ? now - enter : 0;
	/* lower_bound qualifies step 0 only: once the socket moved on, its dwell is real. */
	r->dwell_kind = c->lower_bound && c->nsteps == 1 ? TOP_DWELL_LOWER_BOUND
							 : TOP_DWELL_MEASURED;
}

/* Does a rank above b? Longer dwell, known before unknown, then lower cookie and address. */
static bool longer(const struct top_row *a, const struct top_row *b)
{
	bool ua = a->dwell_kind == TOP_DWELL_UNKNOWN, ub = b->dwell_kind == TOP_DWELL_UNKNOWN;

	if (a->dwell_ns != b->dwell_ns)
		return a->dwell_ns > b->dwell_ns;
	if (ua != ub)
		return ub;
	if (a->c.cookie != b->c.cookie)
		return a->c.cookie < b->c.cookie;
	return a->c.skaddr < b->c.skaddr;
}

static void swap_rows(struct top_row *a, struct top_row *b)
{
	struct top_row tmp = *a;

	*a = *b;
	*b = tmp;
}

/*
 * rows[] is a min-heap while collecting: rows[0] is the shortest dwell kept, so a table of
 * any size costs one comparison per connection that does not make the cut.
 */
static void heap_up(struct top_row *h, int i)
{
	while (i > 0) {
		int p = (i - 1) / 2;

		if (!longer(&h[p], &h[i]))
			break;
		swap_rows(&h[p], &h[i]);
		i = p;
	}
}

static void heap_down(struct top_row *h, int n, int i)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, m = i;

		if (l < n && longer(&h[m], &h[l]))
			m = l;
		if (r < n && longer(&h[m], &h[r]))
			m = r;
		if (m == i)
			break;
		swap_rows(&h[m], &h[i]);
		i = m;
	}
}

static bool view_selects(const struct top_view *v, int st)
{
	if (v->states && !(valid_state(st) && (v->states & (1u << st))))
		return false;
	return !v->state || v->state == st;
}

static void take(void *arg, const struct conn *c)
{
	struct top_snapshot *s = arg;
	struct top_row probe;

	if (valid_state(c->state))
		s->sockets[c->state]++;
	s->total++;
	if (!view_selects(&s->view, c->state))
		return;
	s->matched++;
	row_dwell(&probe, c, s->now_ns);
	if (s->nrows < TOP_ROWS) {
		s->rows[s->nrows].dwell_ns = probe.dwell_ns;
		s->rows[s->nrows].dwell_kind = probe.dwell_kind;
		s->rows[s->nrows].c = *c;
		heap_up(s->rows, s->nrows++);
		return;
	}
	/* Rank on the key fields before copying the whole connection. */
	probe.c.cookie = c->cookie;
	probe.c.skaddr = c->skaddr;
	if (!longer(&probe, &s->rows[0]))
		return;
	s->rows[0].dwell_ns = probe.dwell_ns;
	s->rows[0].dwell_kind = probe.dwell_kind;
	s->rows[0].c = *c;
	heap_down(s->rows, s->nrows, 0);
}

static int cmp_dwell(const void *pa, const void *pb)
{
	const struct top_row *a = pa, *b = pb;

	return longer(a, b) ? -1 : longer(b, a);
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_state(const void *pa, const void *pb)
{
	const struct top_row *a = pa, *b = pb;

	return cmp_u64(a->c.state, b->c.state) ?: cmp_dwell(a, b);
}

static int cmp_pid(const void *pa, const void *pb)
{
	const struct top_row *a = pa, *b = pb;
	/* Unknown owners (pid 0) after every known one. */
	uint64_t ka = a->c.pid ? a->c.pid : 1ULL << 32, kb = b->c.pid ? b->c.pid : 1ULL << 32;

	return cmp_u64(ka, kb) ?: cmp_dwell(a, b);
}

static int cmp_lport(const void *pa, const void *pb)
{
	const struct top_row *a = pa, *b = pb;

	return cmp_u64(a->c.sport, b->c.sport) ?: cmp_dwell(a, b);
}

void top__collect(struct top_snapshot *s, struct conntable *t, uint64_t now_ns,
		  const struct top_view *v, const struct top_input *in)
{
	static int (*const cmp[TOP_SORT_MAX])(const void *, const void *) = {
		[TOP_SORT_DWELL] = cmp_dwell,
		[TOP_SORT_STATE] = cmp_state,
		[TOP_SORT_PID] = cmp_pid,
		[TOP_SORT_LPORT] = cmp_lport,
	};

	/* Only the header: rows past nrows are never read, and clearing 40 kB each second
	 * would be wasted. */
	memset(s, 0, offsetof(struct top_snapshot, rows));
	s->now_ns = now_ns;
	if (v)
		s->view = *v;
	if (!valid_state(s->view.state))
		s->view.state = 0;
	if ((unsigned)s->view.sort >= TOP_SORT_MAX)
		s->view.sort = TOP_SORT_DWELL;
	s->transitions_per_s = -1;
	if (in) {
		s->realtime_offset_ns = in->realtime_offset_ns;
		s->transitions_per_s = in->transitions_per_s;
		s->lost_ringbuf = in->lost_ringbuf;
		s->lost_recursion = in->lost_recursion;
		s->chain_breaks = in->chain_breaks;
		if (in->source)
			snprintf(s->source, sizeof(s->source), "%s", in->source);
	}
	conntable__foreach(t, take, s);
	qsort(s->rows, s->nrows, sizeof(s->rows[0]), cmp[s->view.sort]);
}

int top__next_state(const struct top_snapshot *s, int current)
{
	if (!s)
		return 0;
	for (int st = valid_state(current) ? current + 1 : 1; st < TD_STATE_MAX; st++) {
		if (!s->sockets[st])
			continue;
		if (s->view.states && !(s->view.states & (1u << st)))
			continue;
		return st;
	}
	return 0;
}

/* ---- layout ----------------------------------------------------------------------------- */

enum line_kind {
	L_TITLE,
	L_BAR,
	L_LEGEND,
	L_STATUS,
	L_BLANK,
	L_COLUMNS,
	L_ROW,
	L_MORE,
};

/* One line of the layout, already cut to the width. */
struct line {
	enum line_kind kind;
	const char *text;
	int len;
	int bar_off, bar_len; /* L_BAR: where the cells are in text */
	const struct top_row *row; /* L_ROW */
};

typedef void (*emit_fn)(void *arg, const struct line *l);

struct layout {
	const struct top_snapshot *s;
	int width, height, n;
	emit_fn emit;
	void *arg;
	char buf[LINE_BYTES];
};

static bool room(const struct layout *ly)
{
	return ly->n < ly->height;
}

static void put(struct layout *ly, enum line_kind kind, const struct top_row *row, int bar_off,
		int bar_len, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void put(struct layout *ly, enum line_kind kind, const struct top_row *row, int bar_off,
		int bar_len, const char *fmt, ...)
{
	struct line l = { .kind = kind, .text = ly->buf, .row = row };
	va_list ap;
	int len;

	if (!room(ly))
		return;
	va_start(ap, fmt);
	len = vsnprintf(ly->buf, sizeof(ly->buf), fmt, ap);
	va_end(ap);
	if (len < 0)
		len = 0;
	if (len > (int)sizeof(ly->buf) - 1)
		len = sizeof(ly->buf) - 1;
	if (len > ly->width)
		len = ly->width;
	ly->buf[len] = 0;
	l.len = len;
	if (bar_off < len) {
		l.bar_off = bar_off;
		l.bar_len = bar_len < len - bar_off ? bar_len : len - bar_off;
	}
	ly->emit(ly->arg, &l);
	ly->n++;
}

static void lay_title(struct layout *ly)
{
	const struct top_snapshot *s = ly->s;
	int64_t real = sat__realtime(s->now_ns, s->realtime_offset_ns);
	char clock[32] = "--:--:--";
	time_t sec = real / 1000000000;
	struct tm tm;

	if (real >= 0 && gmtime_r(&sec, &tm))
		strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	put(ly, L_TITLE, NULL, 0, 0, "tcpdwell top  %s UTC%s%s", clock, s->source[0] ? "  " : "",
	    s->source);
}

/*
 * Cells per state, in kernel order, summing to exactly n: each boundary is the rounded
 * cumulative share, and a state with sockets that rounds to nothing takes a cell from the
 * widest segment, so that every state present stays visible.
 */
static void bar_cells(const struct top_snapshot *s, int n, char *out)
{
	int cells[TD_STATE_MAX] = { 0 }, used = 0;
	uint64_t cum = 0;

	if (!s->total) {
		memset(out, ' ', n);
		return;
	}
	for (int st = 1; st < TD_STATE_MAX; st++) {
		int end;

		if (!s->sockets[st])
			continue;
		cum += s->sockets[st];
		end = (int)((cum * n + s->total / 2) / s->total);
		cells[st] = end - used;
		used = end;
	}
	for (int st = 1; st < TD_STATE_MAX; st++) {
		int widest = 0;

		if (!s->sockets[st] || cells[st])
			continue;
		for (int k = 1; k < TD_STATE_MAX; k++)
			if (cells[k] > cells[widest])
				widest = k;
		/* n >= BAR_MIN >= the number of states: the widest has two cells to share. */
		cells[widest]--;
		cells[st] = 1;
	}
	for (int st = 1; st < TD_STATE_MAX; st++)
		for (int i = 0; i < cells[st]; i++)
			*out++ = state_letter[st];
}

static void lay_sockets(struct layout *ly)
{
	const struct top_snapshot *s = ly->s;
	char prefix[48], cells[BAR_MAX + 1], item[64], legend[LINE_BYTES];
	int plen, n, len = 0;

	plen = snprintf(prefix, sizeof(prefix), "sockets %llu ", (unsigned long long)s->total);
	n = ly->width - plen - 2;
	n = n < BAR_MIN ? BAR_MIN : n > BAR_MAX ? BAR_MAX : n;
	bar_cells(s, n, cells);
	cells[n] = 0;
	put(ly, L_BAR, NULL, plen + 1, n, "%s[%s]", prefix, cells);

	/* The legend wraps at the width rather than losing states off the right edge. */
	legend[0] = 0;
	for (int st = 1; st < TD_STATE_MAX; st++) {
		int ilen;

		if (!s->sockets[st])
			continue;
		ilen = snprintf(item, sizeof(item), "%s%c %s %llu", len ? "  " : "",
				state_letter[st], state__name(st),
				(unsigned long long)s->sockets[st]);
		if (len && len + ilen > ly->width) {
			put(ly, L_LEGEND, NULL, 0, 0, "%s", legend);
			len = snprintf(legend, sizeof(legend), "%s", item + 2);
			continue;
		}
		len += snprintf(legend + len, sizeof(legend) - len, "%s", item);
	}
	if (len)
		put(ly, L_LEGEND, NULL, 0, 0, "%s", legend);
}

static void lay_status(struct layout *ly)
{
	const struct top_snapshot *s = ly->s;
	uint64_t lost = loss__add(s->lost_ringbuf, s->lost_recursion);
	char a[24], b[24];
	char rate[32], detail[160] = "", states[LINE_BYTES / 2];
	int dlen = 0;

	if (s->transitions_per_s < 0)
		snprintf(rate, sizeof(rate), "-");
	else
		snprintf(rate, sizeof(rate), s->transitions_per_s < 100 ? "%.1f" : "%.0f",
			 s->transitions_per_s);
	if (lost)
		dlen = snprintf(detail, sizeof(detail), " (ring buffer %s, recursion %s)",
				loss__fmt(a, sizeof(a), s->lost_ringbuf),
				loss__fmt(b, sizeof(b), s->lost_recursion));
	if (s->chain_breaks)
		snprintf(detail + dlen, sizeof(detail) - dlen, ", chain breaks %llu%s",
			 (unsigned long long)s->chain_breaks, lost ? "" : " (none lost: a bug)");
	if (s->view.state) {
		snprintf(states, sizeof(states), "%s", state__name(s->view.state));
	} else if (s->view.states) {
		int len = 0;

		for (int st = 1; st < TD_STATE_MAX; st++)
			if (s->view.states & (1u << st))
				len += snprintf(states + len, sizeof(states) - len, "%s%s",
						len ? "," : "", state__name(st));
	} else {
		snprintf(states, sizeof(states), "all");
	}
	put(ly, L_STATUS, NULL, 0, 0, "transitions %s/s  lost %s%s  state: %s  sort: %s", rate,
	    loss__fmt(a, sizeof(a), lost), detail, states, sort_names[s->view.sort]);
}

/* Port 0 as ss shows it, "*": a listener's peer, a connect() before bind. */
static char *endpoint(const struct conn *c, const uint8_t addr[16], uint16_t port, char *buf,
		      size_t len)
{
	return fmt__endpoint(c->family, addr, port ? port : -1, buf, len);
}

/* A process may name itself anything: keep terminal controls out of the screen and logs. */
static void clean_comm(const struct conn *c, char *buf)
{
	const char *comm = conn__comm(c);
	int i;

	if (!c->pid) {
		strcpy(buf, "-");
		return;
	}
	for (i = 0; i < TD_COMM_LEN - 1 && comm[i]; i++) {
		unsigned char ch = comm[i];

		buf[i] = ch < 0x20 || ch >= 0x7f ? '?' : (char)ch;
	}
	buf[i] = 0;
	if (!i)
		strcpy(buf, "?");
}

/* The POD column: a connection's pod ("namespace/name", names.h), its bytes outside printable
 * ASCII as '?' (a recording may carry any); "-" when in none. */
#define W_POD_MAX 48
static const char *pod_text(const struct conn *c, char buf[W_POD_MAX + 1])
{
	const struct cg_name *n = cgn__get(c->cgroup);
	const char *p = n ? cgn__pod_name(n->pod_ix) : "";
	int i;

	if (!p[0])
		return "-";
	for (i = 0; i < W_POD_MAX && p[i]; i++)
		buf[i] = (unsigned char)p[i] < 0x20 || (unsigned char)p[i] >= 0x7f ? '?' : p[i];
	buf[i] = 0;
	return buf;
}

static void lay_row(struct layout *ly, const struct top_row *r, int ew, bool pods)
{
	const struct conn *c = &r->c;
	char pid[16], comm[TD_COMM_LEN], age[40], d[32], l[80], rem[80];
	const char *role = c->role == CT_ROLE_UNKNOWN ? "-" : fmt__role(c->role);
	bool stuck = valid_state(c->state) && (c->stuck_reported & (1u << c->state));

	if (c->pid)
		snprintf(pid, sizeof(pid), "%u", c->pid);
	else
		strcpy(pid, "-");
	clean_comm(c, comm);
	if (r->dwell_kind == TOP_DWELL_UNKNOWN)
		strcpy(age, "?");
	else
		snprintf(age, sizeof(age), "%s%s",
			 r->dwell_kind == TOP_DWELL_LOWER_BOUND ? ">= " : "",
			 fmt__dur(r->dwell_ns, d, sizeof(d)));
	endpoint(c, c->saddr, c->sport, l, sizeof(l));
	endpoint(c, c->daddr, c->dport, rem, sizeof(rem));
	if (pods) {
		char pod[W_POD_MAX + 1];

		/* The last column: not padded, so a row has no trailing blanks. */
		put(ly, L_ROW, r, 0, 0, "%*s %-*s %-*s %*s  %-*s  %-*s  %-7s  %s%s", W_PID, pid,
		    W_COMM, comm, W_STATE, state__name(c->state), W_AGE, age, ew, l, ew, rem, role,
		    pod_text(c, pod), stuck ? " STUCK" : "");
		return;
	}
	put(ly, L_ROW, r, 0, 0, "%*s %-*s %-*s %*s  %-*s  %-*s  %s%s", W_PID, pid, W_COMM, comm,
	    W_STATE, state__name(c->state), W_AGE, age, ew, l, ew, rem, role,
	    stuck ? " STUCK" : "");
}

static void layout(const struct top_snapshot *s, int width, int height, emit_fn emit, void *arg)
{
	struct layout ly = { .s = s, .width = width, .height = height, .emit = emit, .arg = arg };
	int ew = W_EP_MIN, pw = 0, avail, shown;
	uint64_t hidden;

	if (width <= 0 || height <= 0)
		return;
	lay_title(&ly);
	lay_sockets(&ly);
	lay_status(&ly);
	put(&ly, L_BLANK, NULL, 0, 0, "%s", "");

	/* Rows fill what is left; when some do not fit, the last line says how many. */
	avail = ly.height - ly.n - 1;
	if (avail < 0)
		return;
	shown = s->nrows < avail ? s->nrows : avail;
	hidden = s->matched - (uint64_t)shown;
	if (hidden && shown == avail && shown > 0) {
		shown--;
		hidden++;
	}
	for (int i = 0; i < shown; i++) {
		char ep[80];
		int n;

		endpoint(&s->rows[i].c, s->rows[i].c.saddr, s->rows[i].c.sport, ep, sizeof(ep));
		n = strlen(ep);
		endpoint(&s->rows[i].c, s->rows[i].c.daddr, s->rows[i].c.dport, ep, sizeof(ep));
		if ((int)strlen(ep) > n)
			n = strlen(ep);
		if (n > ew)
			ew = n;
		/* A POD column when any connection shown has one. */
		{
			char pod[W_POD_MAX + 1];
			const char *pt = pod_text(&s->rows[i].c, pod);

			if (pt == pod && (int)strlen(pod) > pw)
				pw = strlen(pod);
		}
	}
	if (pw)
		put(&ly, L_COLUMNS, NULL, 0, 0, "%*s %-*s %-*s %*s  %-*s  %-*s  %-7s  %s", W_PID,
		    "PID", W_COMM, "COMM", W_STATE, "STATE", W_AGE, "AGE", ew, "LADDR:LPORT", ew,
		    "RADDR:RPORT", "ROLE", "POD");
	else
		put(&ly, L_COLUMNS, NULL, 0, 0, "%*s %-*s %-*s %*s  %-*s  %-*s  %s", W_PID, "PID",
		    W_COMM, "COMM", W_STATE, "STATE", W_AGE, "AGE", ew, "LADDR:LPORT", ew,
		    "RADDR:RPORT", "ROLE");
	for (int i = 0; i < shown; i++)
		lay_row(&ly, &s->rows[i], ew, pw > 0);
	if (!s->matched)
		put(&ly, L_MORE, NULL, 0, 0, "no connections%s%s", s->view.state ? " in " : "",
		    s->view.state ? state__name(s->view.state) : "");
	else if (hidden)
		put(&ly, L_MORE, NULL, 0, 0, "... and %llu more", (unsigned long long)hidden);
}

static void emit_text(void *arg, const struct line *l)
{
	FILE *f = arg;

	fwrite(l->text, 1, l->len, f);
	fputc('\n', f);
}

void top__render(const struct top_snapshot *s, FILE *f, int width, int height)
{
	layout(s, width, height, emit_text, f);
}

/* ---- terminal --------------------------------------------------------------------------- */

struct top {
	bool tty;
	bool drawn; /* a snapshot was shown */
	bool help;
	bool colors;
	SCREEN *screen; /* tty: set up at the first draw */
	struct top_view view;
	struct top_snapshot *last; /* tty: on screen now, for help and resize repaints */
};

static const char *const help_text[] = {
	"tcpdwell top: keys",
	"",
	"  q       quit",
	"  s       next state: all, then each state that has sockets",
	"  o       next order: dwell, state, pid, lport",
	"  h, ?    this help (any key closes it)",
	"  Ctrl-L  repaint the screen",
	"",
	"AGE is the time spent in the current state so far.",
	"\">= 12.3s\": a lower bound (the socket is older than tcpdwell);",
	"\"?\": its entry into the state was not seen.",
	"STUCK: longer in its state than the --stuck limit.",
	"The bar shows the sockets per state, one letter each (legend below it).",
};

/* Colour pairs, by how a state reads: open, opening, closing, waiting, leaking, listening. */
enum { P_OPEN = 1, P_OPENING, P_CLOSING, P_TW, P_CW, P_LISTEN };

static short state_pair(int st)
{
	switch (st) {
	case TD_ESTABLISHED:
		return P_OPEN;
	case TD_SYN_SENT:
	case TD_SYN_RECV:
	case TD_NEW_SYN_RECV:
		return P_OPENING;
	case TD_FIN_WAIT1:
	case TD_FIN_WAIT2:
	case TD_CLOSING:
	case TD_LAST_ACK:
		return P_CLOSING;
	case TD_TIME_WAIT:
		return P_TW;
	case TD_CLOSE_WAIT:
		return P_CW;
	case TD_LISTEN:
		return P_LISTEN;
	default:
		return 0;
	}
}

static short letter_pair(char ch)
{
	for (int st = 1; st < TD_STATE_MAX; st++)
		if (state_letter[st] == ch)
			return state_pair(st);
	return 0;
}

struct painter {
	struct top *t;
	int y;
	int title_len;
};

static void paint_line(void *arg, const struct line *l)
{
	struct painter *p = arg;
	bool stuck = l->row && valid_state(l->row->c.state) &&
		     (l->row->c.stuck_reported & (1u << l->row->c.state));

	if (l->kind == L_TITLE)
		p->title_len = l->len;
	attrset(l->kind == L_TITLE || stuck ? A_BOLD : A_NORMAL);
	mvaddnstr(p->y, 0, l->text, l->len);
	attrset(A_NORMAL);
	if (l->kind == L_COLUMNS)
		mvchgat(p->y, 0, -1, A_REVERSE, 0, NULL);
	if (p->t->colors && l->kind == L_BAR) {
		for (int i = 0; i < l->bar_len; i++) {
			char ch = l->text[l->bar_off + i];

			if (ch != ' ')
				mvaddch(p->y, l->bar_off + i,
					(chtype)ch | A_REVERSE | COLOR_PAIR(letter_pair(ch)));
		}
	}
	if (p->t->colors && l->kind == L_ROW && l->len > X_STATE)
		mvchgat(p->y, X_STATE, W_STATE, stuck ? A_BOLD : A_NORMAL,
			state_pair(l->row->c.state), NULL);
	p->y++;
}

static void paint_help(void)
{
	int n = sizeof(help_text) / sizeof(help_text[0]), w = 0, h, y0, x0;

	for (int i = 0; i < n; i++)
		if ((int)strlen(help_text[i]) > w)
			w = strlen(help_text[i]);
	w += 4;
	h = n + 2;
	if (w > COLS)
		w = COLS;
	if (h > LINES)
		h = LINES;
	if (w < 3 || h < 3)
		return;
	y0 = (LINES - h) / 2;
	x0 = (COLS - w) / 2;
	for (int y = y0; y < y0 + h; y++)
		mvhline(y, x0, ' ', w);
	mvhline(y0, x0 + 1, ACS_HLINE, w - 2);
	mvhline(y0 + h - 1, x0 + 1, ACS_HLINE, w - 2);
	mvvline(y0 + 1, x0, ACS_VLINE, h - 2);
	mvvline(y0 + 1, x0 + w - 1, ACS_VLINE, h - 2);
	mvaddch(y0, x0, ACS_ULCORNER);
	mvaddch(y0, x0 + w - 1, ACS_URCORNER);
	mvaddch(y0 + h - 1, x0, ACS_LLCORNER);
	mvaddch(y0 + h - 1, x0 + w - 1, ACS_LRCORNER);
	for (int i = 0; i < n && i < h - 2; i++)
		mvaddnstr(y0 + 1 + i, x0 + 2, help_text[i], w - 4);
}

static void paint(struct top *t)
{
	static const char hint[] = "h: help  q: quit";
	const int hlen = sizeof(hint) - 1;
	struct painter p = { .t = t };

	erase();
	layout(t->last, COLS, LINES, paint_line, &p);
	/* The key hint sits at the right of the title when there is room for it. */
	if (p.y && p.title_len + 2 + hlen < COLS)
		mvaddstr(0, COLS - hlen - 1, hint);
	if (t->help)
		paint_help();
	refresh();
}

static int screen_start(struct top *t)
{
	t->screen = newterm(NULL, stdout, stdin);
	if (!t->screen) {
		errno = ENOTTY;
		return -1;
	}
	set_term(t->screen);
	cbreak(); /* Ctrl-C still raises SIGINT: the main loop's handler ends it cleanly */
	noecho();
	nonl();
	intrflush(stdscr, FALSE);
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	if (has_colors() && start_color() == OK) {
		short bg = use_default_colors() == OK ? -1 : COLOR_BLACK;

		init_pair(P_OPEN, COLOR_GREEN, bg);
		init_pair(P_OPENING, COLOR_YELLOW, bg);
		init_pair(P_CLOSING, COLOR_MAGENTA, bg);
		init_pair(P_TW, COLOR_BLUE, bg);
		init_pair(P_CW, COLOR_RED, bg);
		init_pair(P_LISTEN, COLOR_CYAN, bg);
		t->colors = true;
	}
	return 0;
}

struct top *top__open(bool tty, const struct td_options *o)
{
	struct top *t = calloc(1, sizeof(*t));
	int err;

	if (!t)
		return NULL;
	t->tty = tty;
	if (o)
		t->view.states = o->states & (((1u << TD_STATE_MAX) - 1) & ~1u);
	if (!tty)
		return t;
	t->last = malloc(sizeof(*t->last));
	/* Learn now whether $TERM is usable, while an error can still be read; the screen
	 * itself waits for the first draw. */
	if (!t->last || setupterm(NULL, STDOUT_FILENO, &err) != OK) {
		free(t->last);
		free(t);
		return NULL;
	}
	del_curterm(cur_term);
	return t;
}

const struct top_view *top__view(const struct top *t)
{
	return &t->view;
}

int top__draw(struct top *t, const struct top_snapshot *s)
{
	if (!t->tty) {
		if (t->drawn)
			fputs("---\n", stdout);
		t->drawn = true;
		top__render(s, stdout, LINE_BYTES, INT_MAX);
		return fflush(stdout) || ferror(stdout) ? -1 : 0;
	}
	if (!t->screen && screen_start(t))
		return -1;
	memcpy(t->last, s, offsetof(struct top_snapshot, rows) + s->nrows * sizeof(s->rows[0]));
	t->drawn = true;
	paint(t);
	return 0;
}

int top__keys(struct top *t)
{
	bool repaint = false;
	int ch, ret = TOP_NONE;

	if (!t || !t->screen || !t->drawn)
		return TOP_NONE;
	while ((ch = getch()) != ERR) {
		if (ch == 'q' || ch == 'Q')
			return TOP_QUIT;
		if (ch == KEY_RESIZE) {
			clearok(curscr, TRUE);
			repaint = true;
			continue;
		}
		if (t->help) {
			t->help = false;
			repaint = true;
			continue;
		}
		switch (ch) {
		case 's':
			t->view.state = top__next_state(t->last, t->view.state);
			ret = TOP_REFRESH;
			break;
		case 'o':
			t->view.sort = (t->view.sort + 1) % TOP_SORT_MAX;
			ret = TOP_REFRESH;
			break;
		case 'h':
		case '?':
			t->help = true;
			repaint = true;
			break;
		case 'L' & 0x1f:
			clearok(curscr, TRUE);
			repaint = true;
			break;
		default:
			break;
		}
	}
	/* A view change is repainted by the caller's fresh snapshot. */
	if (repaint && ret == TOP_NONE)
		paint(t);
	return ret;
}

void top__close(struct top *t)
{
	if (!t)
		return;
	if (t->screen) {
		set_term(t->screen);
		if (!isendwin())
			endwin();
		delscreen(t->screen);
	}
	free(t->last);
	free(t);
}
