/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Command-line parsing: argv -> struct td_options, and the value parsers behind
 * it (ports, CIDRs, durations, states, pids, --stuck). Pure: no I/O; an error is
 * one line written to err naming the bad value, e.g.
 * "invalid port '70000' in --lport: must be 0-65535".
 */
#ifndef TD_CLI_H
#define TD_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "options.h"

/* Returned by cli__parse besides TD_EXIT_OK and TD_EXIT_USAGE. */
#define CLI_HELP 100 /* -h/--help: print cli__usage() and exit 0 */
#define CLI_VERSION 101 /* -V/--version */

/*
 * Parse the whole command line. o is reset to defaults first (max_conns 262144,
 * latency 100 ms, ring buffer 8 MiB). Returns TD_EXIT_OK, CLI_HELP, CLI_VERSION,
 * or TD_EXIT_USAGE with a one-line message (no trailing newline) in err.
 * String options point into argv.
 */
int cli__parse(int argc, char **argv, struct td_options *o, char *err, size_t errlen);

/* The --help text. */
const char *cli__usage(void);

/*
 * Value parsers. Each returns 0 on success, -1 with a message in err naming the
 * value and the option (opt, e.g. "--lport") on failure.
 * - ports: "80", "80,443", "8000-8100", "80,8000-8100"; 0-65535; sets ps->any.
 * - duration: integer or decimal with unit ns, us, ms, s, m, h ("250us", "1.5s",
 *   "2m"); a bare number is seconds; must be > 0 and fit in 64-bit ns.
 * - cidr: "10.0.0.0/8", "::1/128", "127.0.0.1" (host prefix); comma lists add.
 * - states: comma list of names (state__parse); sets a bit per state.
 * - pids: comma list of 1..4194304.
 * - stuck: "STATE=DURATION[,STATE=DURATION...]".
 * - uint: decimal within [min, max].
 */
int cli__parse_ports(const char *s, const char *opt, struct td_portset *ps, char *err,
		     size_t errlen);
int cli__parse_duration(const char *s, const char *opt, uint64_t *ns, char *err, size_t errlen);
int cli__parse_cidrs(const char *s, const char *opt, struct td_cidrset *set, char *err,
		     size_t errlen);
int cli__parse_states(const char *s, const char *opt, uint16_t *mask, char *err, size_t errlen);
int cli__parse_pids(const char *s, const char *opt, struct td_options *o, char *err,
		    size_t errlen);
int cli__parse_stuck(const char *s, const char *opt, uint64_t *limits, char *err, size_t errlen);
int cli__parse_uint(const char *s, const char *opt, uint64_t min, uint64_t max, uint64_t *out,
		    char *err, size_t errlen);
/*
 * --user: "UID:GID" (decimal, 1-4294967294 each: never root, never the "unchanged"
 * -1) sets o->user_ids and the ids; a NAME (printable ASCII, no spaces, at most 255
 * characters, resolved later by getpwnam()) sets o->user. 0, or -1 with a message
 * that never echoes a non-printable byte.
 */
int cli__parse_user(const char *v, struct td_options *o, char *err, size_t errlen);

/*
 * More value parsers, same convention (0, or -1 with the message in err). Every
 * parser in this header leaves its destination as it was when it fails.
 * - size: bytes, with an optional suffix K, M, G (also k, m, g, KiB, MiB, GiB:
 *   powers of 1024); must fit in 64 bits. Range checks are the caller's.
 * - comms: comma list of process names, 1..15 characters each (the kernel keeps
 *   15), added to o->comms (at most TD_MAX_COMMS in all).
 */
int cli__parse_size(const char *s, const char *opt, uint64_t *bytes, char *err, size_t errlen);
int cli__parse_comms(const char *s, const char *opt, struct td_options *o, char *err,
		     size_t errlen);

/* The word for a command ("trace", "stat", ...); "unknown" outside the enum. */
const char *cli__command_name(enum td_command cmd);

/*
 * Parse a --threshold value: comma-separated NAME=VALUE items into *c (only the
 * named fields change; on error nothing does). Names: syn-sent=DURATION,
 * close-wait=DURATION, syn-rate=N (1-10000000), tw-share=PERCENT, rst-share=PERCENT
 * (0.01-100, "%" optional, up to 4 decimals), min-conns=N (1-1000000000),
 * max-groups=N (1-1000000). Returns 0, or -1 with one line in err naming the value.
 */
int cli__parse_thresholds(const char *s, struct doctor_config *c, char *err, size_t errlen);

/* --pod's value: "NAMESPACE/NAME" or "NAMESPACE/" (Kubernetes' name rules). */
bool cli__valid_pod(const char *v);
/* --container's value: a Kubernetes container name, or 4 to 64 lowercase hex digits. */
bool cli__valid_container(const char *v);

#endif /* TD_CLI_H */
