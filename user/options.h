/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Command line: what the user asked for, parsed and validated into plain data
 * (struct td_options) before anything touches the kernel. Parsing is pure: it
 * writes one error line to the buffer it is given and returns, so every bad
 * value can be tested without root.
 */
#ifndef TD_OPTIONS_H
#define TD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/tcpdwell.h"

#define TD_EXIT_OK 0
#define TD_EXIT_FAIL 1
#define TD_EXIT_USAGE 2

enum td_command {
	TD_CMD_TRACE = 0,
	TD_CMD_TIMELINE,
	TD_CMD_STAT,
	TD_CMD_TOP,
	TD_CMD_CHECK,
	TD_CMD_RECORD,
	TD_CMD_DOCTOR,
	TD_CMD_SERVE,
};

enum td_by {
	TD_BY_NONE = 0,
	TD_BY_LPORT,
	TD_BY_RPORT,
	TD_BY_RADDR,
	TD_BY_COMM,
	TD_BY_POD,	 /* the socket's pod (cgroup names, names.h) */
	TD_BY_CONTAINER, /* its container */
};

/* A set of ports: bit p set = port p selected. */
struct td_portset {
	bool any; /* true: the option was given */
	uint64_t bits[65536 / 64];
};

/* Up to TD_MAX_CIDRS prefixes; an address matches if it is in any of them. */
#define TD_MAX_CIDRS 16
struct td_cidr {
	uint8_t family; /* 4 or 6 */
	uint8_t prefix; /* 0..32 or 0..128 */
	uint8_t addr[16]; /* network byte order, host bits cleared */
};

struct td_cidrset {
	int n;
	struct td_cidr v[TD_MAX_CIDRS];
};

#define TD_MAX_PIDS 64
#define TD_MAX_COMMS 16

/*
 * doctor's thresholds. A field left 0 takes its DOCTOR_* default (doctor.h, doctor__new), so a
 * zeroed struct is the default configuration.
 * - syn_sent_ns: a connect is stuck (still pending at the end, or established only
 *   after) when it spends this long in SYN_SENT; a SYN_SENT -> CLOSE quicker than
 *   this is "refused" (RST or ICMP), a slower one "timed out".
 * - close_wait_ns: CLOSE_WAIT held longer than this is a leak (still held at the end)
 *   or a late close.
 * - syn_rate: passive opens (LISTEN -> SYN_RECV) in one second on one local port that
 *   make a surge.
 * - tw_share_ppm: TIME_WAIT sockets to one remote endpoint (active closes) against the
 *   ephemeral port range, or all TIME_WAIT against tcp_max_tw_buckets, in parts per
 *   million, that make a warning.
 * - rst_share_ppm, min_conns: share of established connections that ended by an
 *   abort (RST); judged only from min_conns finished established connections.
 * - max_groups: groups (endpoints, ports, processes) kept per finding.
 */
struct doctor_config {
	uint64_t syn_sent_ns;
	uint64_t close_wait_ns;
	uint64_t accept_wait_ns;
	uint32_t syn_rate;
	uint32_t tw_share_ppm;
	uint32_t rst_share_ppm;
	uint32_t min_conns;
	uint32_t max_groups;
};

/* --backend: how the programs attach to the tracepoints. AUTO: tp_btf, else the classic
 * tracepoint (tracer.c). */
enum td_backend { TD_BACKEND_AUTO, TD_BACKEND_TP_BTF, TD_BACKEND_TRACEPOINT };
/* --buffer: how records reach user space. AUTO: slot rings, else the BPF ring buffer, else the
 * perf buffer. */
enum td_buffer { TD_BUFFER_AUTO, TD_BUFFER_SLOTS, TD_BUFFER_RING, TD_BUFFER_PERF };

/* Their names on the command line and in messages ("auto" for AUTO). */
static inline const char *td_backend_name(enum td_backend b)
{
	return b == TD_BACKEND_TP_BTF	    ? "tp_btf"
	       : b == TD_BACKEND_TRACEPOINT ? "tracepoint"
					    : "auto";
}

static inline const char *td_buffer_name(enum td_buffer b)
{
	return b == TD_BUFFER_SLOTS  ? "slots"
	       : b == TD_BUFFER_RING ? "ring"
	       : b == TD_BUFFER_PERF ? "perf"
				     : "auto";
}

struct td_options {
	enum td_command cmd;
	int family; /* 0, 4 or 6 */
	struct td_portset lports, rports;
	struct td_cidrset laddrs, raddrs;
	int npids;
	uint32_t pids[TD_MAX_PIDS];
	int ncomms;
	char comms[TD_MAX_COMMS][16];
	uint16_t states; /* bit per kernel state; 0 = all */
	uint64_t min_ns; /* --min */
	uint32_t netns; /* --netns inode; 0 = any */
	const char *cgroup_path; /* --cgroup */
	const char *pod;	 /* --pod NAMESPACE/NAME, or NAMESPACE/ for all its pods */
	const char *container;	 /* --container: a name, or an id's first 4-64 hex digits */
	const char *pods_dir;	 /* --pods-dir: the kubelet's pod logs (/var/log/pods) */
	uint64_t duration_ns; /* --duration; 0 = until signal */
	uint64_t interval_ns; /* stat --interval; 0 = only at exit */
	enum td_by by;
	bool hist;
	bool json;
	bool perfetto; /* timeline --format perfetto */
	bool pair; /* timeline --pair */
	int verbose;
	uint32_t max_conns;
	uint64_t stuck_ns[TD_STATE_MAX]; /* --stuck limits per state; 0 = off */
	uint64_t latency_ns; /* max delay of a record in the kernel buffer */
	uint32_t ringbuf_bytes; /* --ringbuf-size */
	bool ringbuf_given; /* --ringbuf-size was given, not the default */
	enum td_backend backend; /* --backend; AUTO: the best that loads */
	enum td_buffer buffer; /* --buffer; AUTO: the best that loads */
	const char *input; /* -i FILE */
	const char *command_line; /* as typed, for a recording's header (main.c sets it) */
	const char *output; /* -o FILE */
	const char *write; /* -w FILE: a view's records also go to a recording */
	bool force; /* --force: -o and -w may replace an existing regular file */
	const char *listen; /* serve --listen */
	bool no_seed; /* --no-seed */
	bool no_timewait; /* --no-timewait: no timer programs */
	/* stat, serve --accept: trace accept() (the accept-queue wait); the other views
	 * always do where the kernel can */
	bool accept;
	bool wide; /* timeline --wide */
	uint64_t reconcile_ns; /* --reconcile: period of the reconcile passes; 0 = off */
	/* --user: a name to resolve (user), or ids (user_ids); neither: the default. */
	const char *user;
	bool user_ids;
	uint32_t user_uid, user_gid;
	/* Derived: the command shows owners or selects by them, so accept() is
	 * tracked (see cli__parse). */
	bool owners;
	/* Derived: the command shows the handshake's RTT and retransmits and what connections
	 * carried (the kernel reads them: tcpdwell.bpf.c, conn_info). */
	bool conn_info;
	struct doctor_config doctor; /* doctor --threshold; 0 fields = defaults */
};

#endif /* TD_OPTIONS_H */
