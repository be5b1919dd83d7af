// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * TCP state names for every output and every option that takes a state. One
 * table indexed by the kernel's enum holds the names; a second one maps what
 * users type (kernel names, ss's names, the textbook ones) to the enum.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "state.h"

static const char *const names[TD_STATE_MAX] = {
	[TD_ESTABLISHED] = "ESTABLISHED", [TD_SYN_SENT] = "SYN_SENT",
	[TD_SYN_RECV] = "SYN_RECV",	  [TD_FIN_WAIT1] = "FIN_WAIT1",
	[TD_FIN_WAIT2] = "FIN_WAIT2",	  [TD_TIME_WAIT] = "TIME_WAIT",
	[TD_CLOSE] = "CLOSE",		  [TD_CLOSE_WAIT] = "CLOSE_WAIT",
	[TD_LAST_ACK] = "LAST_ACK",	  [TD_LISTEN] = "LISTEN",
	[TD_CLOSING] = "CLOSING",	  [TD_NEW_SYN_RECV] = "NEW_SYN_RECV",
};

static const char *const labels[TD_STATE_MAX] = {
	[TD_ESTABLISHED] = "established", [TD_SYN_SENT] = "syn_sent",
	[TD_SYN_RECV] = "syn_recv",	  [TD_FIN_WAIT1] = "fin_wait1",
	[TD_FIN_WAIT2] = "fin_wait2",	  [TD_TIME_WAIT] = "time_wait",
	[TD_CLOSE] = "close",		  [TD_CLOSE_WAIT] = "close_wait",
	[TD_LAST_ACK] = "last_ack",	  [TD_LISTEN] = "listen",
	[TD_CLOSING] = "closing",	  [TD_NEW_SYN_RECV] = "new_syn_recv",
};

const char *state__name(int s)
{
	return s > 0 && s < TD_STATE_MAX && names[s] ? names[s] : "UNKNOWN";
}

const char *state__label(int s)
{
	return s > 0 && s < TD_STATE_MAX && labels[s] ? labels[s] : "unknown";
}

/* Aliases, compared after folding case and turning '-' into '_'. */
static const struct {
	const char *alias;
	int state;
} aliases[] = {
	{ "FIN_WAIT_1", TD_FIN_WAIT1 }, { "FIN_WAIT_2", TD_FIN_WAIT2 },
	{ "SYN_RECEIVED", TD_SYN_RECV }, { "SYN_RCVD", TD_SYN_RECV },
	{ "CLOSED", TD_CLOSE },		 { "ESTAB", TD_ESTABLISHED },
	{ "LISTENING", TD_LISTEN },	 { "TIMEWAIT", TD_TIME_WAIT },
	{ "CLOSEWAIT", TD_CLOSE_WAIT },
};

int state__parse(const char *name)
{
	char norm[32];
	size_t n = strlen(name);

	if (n == 0 || n >= sizeof(norm))
		return -1;
	for (size_t i = 0; i <= n; i++)
		norm[i] = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
	for (int s = 1; s < TD_STATE_MAX; s++)
		if (s != TD_NEW_SYN_RECV && !strcmp(norm, names[s]))
			return s;
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (!strcmp(norm, aliases[i].alias))
			return aliases[i].state;
	return -1;
}
