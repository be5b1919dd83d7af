// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * TCP state names, the one place where tcpdwell turns the kernel's state numbers into
 * words and back. Every output (text, JSON, metrics labels) takes its names from the
 * table below, indexed by the kernel enum; every option that takes a state (--state,
 * --stuck) goes through state__parse().
 */
#include <stddef.h>
#include <string.h>

#include "state.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Indexed by enum td_tcp_state, which mirrors include/net/tcp_states.h. Names are the
 * kernel's constants without their TCP_ prefix, as the inet_sock_set_state trace output,
 * netstat and tcpstates spell them, so tcpdwell's output can be compared with theirs.
 */
static const struct {
	const char *name;
	const char *label;
} states[TD_STATE_MAX] = {
	[TD_ESTABLISHED] = { "ESTABLISHED", "established" },
	[TD_SYN_SENT] = { "SYN_SENT", "syn_sent" },
	[TD_SYN_RECV] = { "SYN_RECV", "syn_recv" },
	[TD_FIN_WAIT1] = { "FIN_WAIT1", "fin_wait1" },
	[TD_FIN_WAIT2] = { "FIN_WAIT2", "fin_wait2" },
	[TD_TIME_WAIT] = { "TIME_WAIT", "time_wait" },
	[TD_CLOSE] = { "CLOSE", "close" },
	[TD_CLOSE_WAIT] = { "CLOSE_WAIT", "close_wait" },
	[TD_LAST_ACK] = { "LAST_ACK", "last_ack" },
	[TD_LISTEN] = { "LISTEN", "listen" },
	[TD_CLOSING] = { "CLOSING", "closing" },
	/* Request sockets only: never reported by inet_sock_set_state, but a value the
	 * kernel has, so a record carrying it still prints as something readable. */
	[TD_NEW_SYN_RECV] = { "NEW_SYN_RECV", "new_syn_recv" },
};

const char *state__name(int s)
{
	if (s <= 0 || s >= TD_STATE_MAX || !states[s].name)
		return "UNKNOWN";
	return states[s].name;
}

const char *state__label(int s)
{
	if (s <= 0 || s >= TD_STATE_MAX || !states[s].label)
		return "unknown";
	return states[s].label;
}

/*
 * What people type besides the kernel names, written with '_' as separator (the input
 * is folded to upper case and '-' becomes '_' before the lookup):
 * - ss's state filter names and column headers: established/estab, syn-sent, syn-recv,
 *   fin-wait-1, fin-wait-2, time-wait, close-wait, last-ack, listening/listen, closing,
 *   closed, and UNCONN, which is how ss shows a TCP socket in CLOSE;
 * - RFC 793 and BSD netstat: SYN-RECEIVED, SYN_RCVD, FIN-WAIT-1, FIN_WAIT_2, CLOSED.
 * Deliberately not accepted: ss's multi-state groups (connected, synchronized, bucket,
 * big), which are sets rather than states, and NEW_SYN_RECV, which no record reports.
 */
static const struct {
	const char *alias;
	int state;
} aliases[] = {
	{ "ESTAB", TD_ESTABLISHED },	{ "SYN_RECEIVED", TD_SYN_RECV },
	{ "SYN_RCVD", TD_SYN_RECV },	{ "FIN_WAIT_1", TD_FIN_WAIT1 },
	{ "FIN_WAIT_2", TD_FIN_WAIT2 }, { "CLOSED", TD_CLOSE },
	{ "UNCONN", TD_CLOSE },		{ "LISTENING", TD_LISTEN },
};

int state__parse(const char *name)
{
	char norm[16];
	size_t n;

	if (!name)
		return -1;
	/* Longer than any accepted spelling: reject before copying. */
	n = strlen(name);
	if (n == 0 || n >= sizeof(norm))
		return -1;
	/* Folded by hand: toupper() follows the locale, and a state name must not. */
	for (size_t i = 0; i <= n; i++) {
		char ch = name[i];

		if (ch == '-')
			ch = '_';
		else if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		norm[i] = ch;
	}
	for (int s = TD_ESTABLISHED; s <= TD_CLOSING; s++)
		if (!strcmp(norm, states[s].name))
			return s;
	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
		if (!strcmp(norm, aliases[i].alias))
			return aliases[i].state;
	return -1;
}
