// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tcpdwell record`: the records go to the recording (-o FILE) as the tracer delivers them
 * (app.c writes them; record.c is the format). Losses are said on stderr and marked in the
 * recording, never in the output stream, which may be the recording itself (-o -).
 */
#include "app.h"

const struct view_ops view_record = {
    .cmd = TD_CMD_RECORD,
    .flags = VIEW_RECORDER,
};
