// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tcpdwell top`: what the connection table holds right now, refreshed every
 * interval. The snapshot and its text are pure (unit-tested, and what is
 * printed when stdout is not a terminal); ncurses only paints that text and
 * reads keys.
 */
#include <curses.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "state.h"
#include "top.h"

struct collect {
	struct top_snapshot *s;
	int state_filter;
};

static uint64_t dwell_now(const struct conn *c, uint64_t now)
{
	uint64_t enter = c->nsteps ? c->step_ns[c->nsteps - 1] : 0;

	return enter && now > enter ? now - enter : 0;
}

/* Keep the TOP_ROWS longest-dwelling rows: a min-heap on dwell would be
 * faster, but a replace-the-shortest scan over 200 rows is cheap at 1 Hz. */
static void take(void *arg, const struct conn *c)
{
	struct collect *k = arg;
	struct top_snapshot *s = k->s;
	uint64_t d = dwell_now(c, s->now_ns);
	int shortest = 0;

	if (c->state < TD_STATE_MAX)
		s->sockets[c->state]++;
	s->total++;
	if (k->state_filter && c->state != k->state_filter)
		return;
	if (s->nrows < TOP_ROWS) {
		s->rows[s->nrows++] = *c;
		return;
	}
	for (int i = 1; i < s->nrows; i++)
		if (dwell_now(&s->rows[i], s->now_ns) < dwell_now(&s->rows[shortest], s->now_ns))
			shortest = i;
	if (d > dwell_now(&s->rows[shortest], s->now_ns))
		s->rows[shortest] = *c;
}

static uint64_t sort_now;
static enum top_sort sort_key;

static int cmp_rows(const void *pa, const void *pb)
{
	const struct conn *a = pa, *b = pb;
	uint64_t da = dwell_now(a, sort_now), db = dwell_now(b, sort_now);
	int c = 0;

	switch (sort_key) {
	case TOP_SORT_STATE:
		c = a->state - b->state;
		break;
	case TOP_SORT_PID:
		c = a->pid < b->pid ? -1 : a->pid > b->pid;
		break;
	case TOP_SORT_LPORT:
		c = a->sport - b->sport;
		break;
	default:
		break;
	}
	if (c)
		return c;
	return da > db ? -1 : da < db;
}

void top__collect(struct top_snapshot *s, struct conntable *t, uint64_t now_ns, int state_filter,
		  enum top_sort sort, double transitions_per_s, uint64_t lost_ringbuf,
		  uint64_t lost_recursion)
{
	struct collect k = { s, state_filter };

	memset(s, 0, sizeof(*s));
	s->now_ns = now_ns;
	s->state_filter = state_filter;
	s->sort = sort;
	s->transitions_per_s = transitions_per_s;
	s->lost_ringbuf = lost_ringbuf;
	s->lost_recursion = lost_recursion;
	conntable__foreach(t, take, &k);
	sort_now = now_ns;
	sort_key = sort;
	qsort(s->rows, s->nrows, sizeof(s->rows[0]), cmp_rows);
}

int top__next_state(const struct top_snapshot *s, int current)
{
	for (int i = 1; i <= TD_STATE_MAX; i++) {
		int st = (current + i) % TD_STATE_MAX;

		if (st == 0 || s->sockets[st])
			return st;
	}
	return 0;
}

static const char *sort_name(enum top_sort s)
{
	static const char *names[] = { "dwell", "state", "pid", "lport" };

	return s < TOP_SORT_MAX ? names[s] : "dwell";
}

void top__render(const struct top_snapshot *s, FILE *f, int width, int height)
{
	char line[512], a[64], b[64], d[32];
	int lines = 0;

	if (width > (int)sizeof(line) - 1)
		width = sizeof(line) - 1;
#define EMIT()                                                                                   \
	do {                                                                                     \
		if (lines++ < height)                                                            \
			fprintf(f, "%.*s\n", width, line);                                       \
	} while (0)
	snprintf(line, sizeof(line),
		 "tcpdwell top: %llu sockets, %.0f transitions/s, lost %llu (ring buffer %llu, "
		 "recursion %llu)",
		 (unsigned long long)s->total, s->transitions_per_s,
		 (unsigned long long)(s->lost_ringbuf + s->lost_recursion),
		 (unsigned long long)s->lost_ringbuf, (unsigned long long)s->lost_recursion);
	EMIT();
	line[0] = 0;
	for (int st = 1; st < TD_STATE_MAX; st++) {
		char part[48];

		if (!s->sockets[st])
			continue;
		snprintf(part, sizeof(part), "%s%s %llu", line[0] ? "  " : "", state__name(st),
			 (unsigned long long)s->sockets[st]);
		strncat(line, part, sizeof(line) - strlen(line) - 1);
	}
	EMIT();
	snprintf(line, sizeof(line), "state: %s   sort: %s   (s: state, o: sort, q: quit)",
		 s->state_filter ? state__name(s->state_filter) : "all", sort_name(s->sort));
	EMIT();
	snprintf(line, sizeof(line), "%7s %-15s %-11s %10s  %-28s %-28s %s", "PID", "COMM", "STATE",
		 "DWELL", "LOCAL", "REMOTE", "ROLE");
	EMIT();
	for (int i = 0; i < s->nrows && lines < height; i++) {
		const struct conn *c = &s->rows[i];
		char pid[16], ep1[80], ep2[80], dw[40];

		snprintf(pid, sizeof(pid), c->pid ? "%u" : "-", c->pid);
		out__addr(c->family, c->saddr, a, sizeof(a));
		out__addr(c->family, c->daddr, b, sizeof(b));
		snprintf(ep1, sizeof(ep1), c->family == 6 ? "[%s]:%u" : "%s:%u", a, c->sport);
		snprintf(ep2, sizeof(ep2), c->family == 6 ? "[%s]:%u" : "%s:%u", b, c->dport);
		snprintf(dw, sizeof(dw), "%s%s", c->nsteps == 1 && c->lower_bound ? ">=" : "",
			 out__dur(dwell_now(c, s->now_ns), d, sizeof(d)));
		snprintf(line, sizeof(line), "%7s %-15s %-11s %10s  %-28s %-28s %s", pid,
			 c->pid ? c->comm : "-", state__name(c->state), dw, ep1, ep2,
			 out__role(c->role));
		EMIT();
	}
#undef EMIT
}

struct top {
	bool tty;
	WINDOW *win;
};

struct top *top__open(bool tty)
{
	struct top *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->tty = tty;
	if (tty) {
		t->win = initscr();
		if (!t->win) {
			free(t);
			return NULL;
		}
		cbreak();
		noecho();
		nodelay(stdscr, TRUE);
		keypad(stdscr, TRUE);
		curs_set(0);
	}
	return t;
}

void top__draw(struct top *t, const struct top_snapshot *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (!t->tty) {
		fprintf(stdout, "---\n");
		top__render(s, stdout, 200, 1000);
		fflush(stdout);
		return;
	}
	f = open_memstream(&text, &len);
	if (!f)
		return;
	top__render(s, f, COLS, LINES);
	fclose(f);
	erase();
	mvaddnstr(0, 0, text, (int)len);
	refresh();
	free(text);
}

int top__keys(struct top *t, const struct top_snapshot *s, int *state_filter,
	      enum top_sort *sort)
{
	int ch;

	if (!t->tty)
		return 0;
	while ((ch = getch()) != ERR) {
		switch (ch) {
		case 'q':
		case 'Q':
			return 1;
		case 's':
			*state_filter = top__next_state(s, *state_filter);
			break;
		case 'o':
			*sort = (*sort + 1) % TOP_SORT_MAX;
			break;
		default:
			break;
		}
	}
	return 0;
}

void top__close(struct top *t)
{
	if (!t)
		return;
	if (t->tty)
		endwin();
	free(t);
}
