/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The sources that feed the pipeline (app.h): the kernel (live.c) and a recording (replay.c).
 * Each runs o's command to its end and returns the exit code (TD_EXIT_*), having said what
 * went wrong on stderr.
 */
#ifndef TD_SOURCE_H
#define TD_SOURCE_H

#include "options.h"

/* Trace the kernel until a signal, --duration or a failed output ends it. */
int live__run(struct td_options *o);
/* `tcpdwell check`: what the kernel offers, then what a real load chooses. */
int live__check(struct td_options *o);
/* Replay the recording o->input through the command's view. */
int replay__run(struct td_options *o);

#endif /* TD_SOURCE_H */
