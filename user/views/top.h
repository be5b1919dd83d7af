/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `tcpdwell top`: a live view of the connection table, fed by the same pipeline as the other
 * commands (tracer -> conntable -> here). A pure core takes a snapshot of the table (sockets
 * per state, the connections with the longest current dwell) and renders it as text; a thin
 * edge paints that snapshot with ncurses and reads keys when stdout is a terminal, and prints
 * the text every interval, and once more at the end, when it is not.
 *
 * The main loop drives it:
 *
 *	top = top__open(isatty(STDOUT_FILENO), o);
 *	every --interval (and when top__keys() returns TOP_REFRESH):
 *		in.transitions_per_s = top__rate(&rate, now, conntable__stats(t)->transitions);
 *		top__collect(snap, t, now, top__view(top), &in);
 *		top__draw(top, snap);
 *	every poll (~100 ms):
 *		top__keys(top): TOP_QUIT ends the loop
 *	top__close(top);
 */
#ifndef TD_TOP_H
#define TD_TOP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "conntable.h"
#include "options.h"

/* Connections a snapshot keeps: more than any terminal shows, few enough to copy each second. */
#define TOP_ROWS 200

/* Row order. Whatever the order, the rows are the TOP_ROWS longest current dwells. */
enum top_sort {
	TOP_SORT_DWELL = 0, /* longest first */
	TOP_SORT_STATE, /* kernel state order, then longest first */
	TOP_SORT_PID, /* owner pid, unknown owners last, then longest first */
	TOP_SORT_LPORT, /* local port, then longest first */
	TOP_SORT_MAX,
};

/* Which rows the user asked for: the keys change it, --state sets the base. */
struct top_view {
	int state; /* only this state (1..TD_STATE_MAX-1); 0 = every state */
	uint16_t states; /* only these states (bit per state, from --state); 0 = all */
	enum top_sort sort;
};

/* What the caller knows besides the table. */
struct top_input {
	int64_t realtime_offset_ns; /* CLOCK_REALTIME - CLOCK_MONOTONIC: the header's clock */
	double transitions_per_s; /* from top__rate(); negative = not known yet */
	uint64_t lost_ringbuf, lost_recursion; /* records lost so far (kernel counters) */
	uint64_t chain_breaks; /* the table's chain breaks so far (ct_stats.gaps) */
	const char *source; /* where records come from ("tp_btf, ring buffer", a file); NULL */
};

/* How far a row's dwell can be trusted. */
enum top_dwell {
	TOP_DWELL_MEASURED = 0,
	TOP_DWELL_LOWER_BOUND, /* seeded socket: it entered the state before tcpdwell started */
	TOP_DWELL_UNKNOWN, /* the entry into the state was not seen */
};

struct top_row {
	uint64_t dwell_ns; /* time in the current state at the snapshot; 0 when unknown */
	uint8_t dwell_kind; /* enum top_dwell */
	struct conn c; /* a copy: the table may drop the connection after the snapshot */
};

struct top_snapshot {
	uint64_t now_ns; /* kernel clock (CLOCK_MONOTONIC) of the snapshot */
	int64_t realtime_offset_ns;
	char source[64];
	double transitions_per_s;
	uint64_t lost_ringbuf, lost_recursion, chain_breaks;
	uint64_t sockets[TD_STATE_MAX]; /* live sockets per state, traced and seeded */
	uint64_t total;
	uint64_t matched; /* sockets the view selects; rows holds the longest TOP_ROWS of them */
	struct top_view view;
	int nrows;
	struct top_row rows[TOP_ROWS];
};

/* Memory of a cumulative counter between two samples; zero it before the first. */
struct top_rate {
	uint64_t last_ns, last_count;
	double per_s;
};

/* Narrowest window top__rate() turns into a rate (see there). */
#define TOP_RATE_MIN_NS 250000000ULL

/*
 * The rate per second of cumulative counter `count` (conntable__stats()->transitions) between
 * the previous sample and this one at now_ns, kept in r. The first sample has no rate: returns
 * -1. A sample less than TOP_RATE_MIN_NS after the previous one returns the previous rate and
 * keeps the old window, so that a redraw forced by a key does not turn a few milliseconds of
 * traffic into a wild rate. A counter that went backwards (a new table) starts over.
 */
double top__rate(struct top_rate *r, uint64_t now_ns, uint64_t count);

/*
 * Take a snapshot of table t at kernel time now_ns into s (which the caller owns; its previous
 * contents are overwritten). Counts every live connection conntable__foreach() visits by
 * state; keeps the TOP_ROWS of them that view v selects with the longest current dwell
 * (now_ns minus the entry into the current state; unknown entries rank last, ties go to the
 * lower cookie so that equal tables give equal snapshots), ordered by v->sort. The fields of
 * in are copied as given; in may be NULL (no rate, no losses, no source). Reads no clock,
 * does no I/O.
 */
void top__collect(struct top_snapshot *s, struct conntable *t, uint64_t now_ns,
		  const struct top_view *v, const struct top_input *in);

/*
 * Write snapshot s as text to f: a title line (UTC time, source), the sockets per state as a
 * proportional bar of one letter per state with its legend, a status line (transitions/s,
 * lost records, view), then one line per row (PID COMM STATE AGE LADDR:LPORT RADDR:RPORT
 * ROLE; AGE is the dwell, ">= " when a lower bound, "?" when unknown), and a last line saying
 * how many matching connections did not fit. At most `height` lines, each cut to `width`
 * columns (the bar stretches with width, up to 100 cells). Control bytes in process names
 * are shown as '?'. This is the non-terminal output and what the screen paints.
 */
void top__render(const struct top_snapshot *s, FILE *f, int width, int height);

/*
 * The state filter after `current` when the user cycles: every state (0), then each state
 * that has sockets in s (and is in s->view.states when that is set), in kernel order, then
 * every state again. s may be NULL (no snapshot yet): returns 0.
 */
int top__next_state(const struct top_snapshot *s, int current);

/* The terminal side. */
struct top;

/* top__keys() results. */
enum top_key {
	TOP_NONE = 0, /* nothing the caller must do */
	TOP_REFRESH, /* the view changed: collect and draw now, not at the next interval */
	TOP_QUIT, /* the user pressed q */
};

/*
 * Set up the view. tty (isatty(STDOUT_FILENO)) picks ncurses on stdout/stdin; otherwise text
 * snapshots go to stdout. o (may be NULL) gives the base view: --state restricts the rows.
 * The screen itself starts at the first top__draw(), so that messages printed before it stay
 * visible; whether the terminal is usable ($TERM known) is checked now. Returns NULL on
 * allocation failure or an unusable terminal. Free with top__close().
 */
struct top *top__open(bool tty, const struct td_options *o);

/* The view the keys have chosen so far: pass it to top__collect(). Never NULL. */
const struct top_view *top__view(const struct top *t);

/*
 * Show snapshot s (copied: it may change after the call). On a terminal: repaint the screen
 * (starting it on the first call) at its current size. Otherwise: top__render() at full width
 * to stdout, a "---" line before every snapshot but the first, then flush. Returns 0, or -1
 * with errno set when stdout failed (closed pipe, full disk) or the screen could not start.
 */
int top__draw(struct top *t, const struct top_snapshot *s);

/*
 * Read the keys typed since the last call, without blocking: q quits (TOP_QUIT), s cycles the
 * state filter and o the sort (TOP_REFRESH), h or ? toggles the help, Ctrl-L repaints; a
 * window resize repaints at the new size. Help and resize repaint the last snapshot here.
 * Always TOP_NONE when stdout is not a terminal or nothing was drawn yet.
 */
int top__keys(struct top *t);

/*
 * Give the terminal back (leave the alternate screen, restore the modes) and free t. Call it
 * on every exit path, including after a signal ended the loop; it only runs code meant for
 * normal context, so call it from there and not from a handler. NULL is a no-op.
 */
void top__close(struct top *t);

#endif /* TD_TOP_H */
