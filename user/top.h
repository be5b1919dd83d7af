/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `tcpdwell top`: a live view of the connection table: sockets per state now,
 * transitions per second, lost records, and the connections with the longest
 * current dwell. top__collect and top__render are pure (a snapshot of the table,
 * rendered as text); the terminal side uses ncurses when stdout is a terminal.
 */
#ifndef TD_TOP_H
#define TD_TOP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "conntable.h"

#define TOP_ROWS 200

enum top_sort {
	TOP_SORT_DWELL = 0,
	TOP_SORT_STATE,
	TOP_SORT_PID,
	TOP_SORT_LPORT,
	TOP_SORT_MAX,
};

struct top_snapshot {
	uint64_t now_ns;
	uint64_t sockets[TD_STATE_MAX]; /* live sockets per state */
	uint64_t total;
	double transitions_per_s;
	uint64_t lost_ringbuf, lost_recursion;
	int state_filter; /* 0 = all states */
	enum top_sort sort;
	int nrows;
	struct conn rows[TOP_ROWS]; /* longest current dwell first (or by sort) */
};

/*
 * Take a snapshot of table t at time now_ns: counts per state, and the
 * TOP_ROWS connections (in state_filter, 0 = any) with the longest current
 * dwell, then sorted by `sort`. rate and losses are copied in as given.
 */
void top__collect(struct top_snapshot *s, struct conntable *t, uint64_t now_ns, int state_filter,
		  enum top_sort sort, double transitions_per_s, uint64_t lost_ringbuf,
		  uint64_t lost_recursion);

/* Render s as text, at most `height` lines of at most `width` columns. */
void top__render(const struct top_snapshot *s, FILE *f, int width, int height);

/* Next state with sockets after `current` in the snapshot (0 = all), cycling. */
int top__next_state(const struct top_snapshot *s, int current);

/* The terminal: ncurses when tty, else a text snapshot each time. */
struct top;

/* Returns NULL if the terminal cannot be set up. */
struct top *top__open(bool tty);
/* Draw a snapshot. */
void top__draw(struct top *t, const struct top_snapshot *s);
/*
 * Read pending keys without blocking: 'q' returns 1 (quit); 's' cycles the
 * state filter and 'o' the sort key in *state_filter / *sort (using s).
 */
int top__keys(struct top *t, const struct top_snapshot *s, int *state_filter,
	      enum top_sort *sort);
/* Restore the terminal; NULL is a no-op. */
void top__close(struct top *t);

#endif /* TD_TOP_H */
