// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tcpdwell record`: the records go to the recording (-o FILE) as the tracer delivers them,
 * with no connection table (app.c writes them; record.c is the format).
 */
#include "app.h"

const struct view_ops view_record = {
    .cmd = TD_CMD_RECORD,
    .flags = VIEW_RECORDER,
};
