/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * TCP state names: one table indexed by the kernel's enum (include/net/tcp_states.h),
 * used for every output, plus the aliases users type (ss's "time-wait", the
 * textbook "FIN_WAIT_1", "SYN_RECEIVED", "CLOSED").
 */
#ifndef TD_STATE_H
#define TD_STATE_H

#include <stdbool.h>

#include "bpf/tcpdwell.h"

/*
 * The kernel name of state s ("ESTABLISHED", "TIME_WAIT", ...), or "UNKNOWN" for a
 * value outside the table. Never NULL; the string is static.
 */
const char *state__name(int s);

/* The same name in lower case ("close_wait"), as Prometheus labels use it. */
const char *state__label(int s);

/*
 * Parse one state name, case-insensitively, accepting the kernel names, ss's
 * names ("time-wait", "syn-recv", "fin-wait-1", "close-wait", "last-ack",
 * "listening", "estab", "closed", "unconn") and the textbook ones ("FIN_WAIT_1",
 * "FIN_WAIT_2", "SYN_RECEIVED", "CLOSED", "TIMED_WAIT" is not one). Returns the
 * kernel enum value (1..11) or -1 when the name is unknown.
 */
int state__parse(const char *name);

#endif /* TD_STATE_H */
