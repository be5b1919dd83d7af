/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The tracer: the only part of tcpdwell that talks to libbpf. It probes what the
 * kernel offers, loads and attaches the programs of bpf/tcpdwell.bpf.c with the
 * user's kernel-side filters, and delivers struct td_event records to a
 * callback: in time order from the slot rings and the perf buffer (merged
 * across CPUs), in reservation order from the one ring buffer. It also reads
 * the kernel's loss counters.
 */
#ifndef TD_TRACER_H
#define TD_TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/tcpdwell.h"
#include "options.h"

struct tracer;

typedef void (*tracer_fn)(void *arg, const struct td_event *e);

/* What the running tracer uses (for messages and `check`). */
struct tracer_info {
	enum td_backend backend; /* never AUTO once open */
	enum td_buffer buffer; /* never AUTO once open */
	bool timewait; /* timer tracepoints attached: real TIME_WAIT */
	bool accept; /* accept()/accept4() exits attached: owners of accepted sockets */
	bool cookie; /* socket cookie helper available */
	/* Resets (conn_info, BTF-typed tracepoints only): tcp_send_reset and tcp_receive_reset
	 * attached; rst_reason: the kernel's tcp_send_reset gives a reason (6.10+), whose names
	 * are then in rst_reasons (names.h). */
	bool resets, rst_reason;
	int ncpu; /* rings (slots) or buffers (perf): one per possible CPU */
	size_t slot_records; /* slots: records per CPU's ring */
	uint64_t buffer_bytes; /* the kernel buffers' memory in all */
};

/*
 * Open, configure (filters from o, cgroup id/level resolved by the caller),
 * load and attach. fn is called for every record from tracer__poll(). On
 * failure returns NULL with a one-line reason and what to do in err; libbpf's
 * own messages are printed only when o->verbose.
 */
struct tracer *tracer__open(const struct td_options *o, uint64_t cgroup_id, int cgroup_level,
			    tracer_fn fn, void *arg, char *err, size_t errlen);

/*
 * ahead (NULL: none) is called with each record a few records before fn gets
 * it, in the same order, so that fn's caller can prefetch what fn will read
 * (conntable__prefetch). A hint: it must not change state.
 */
void tracer__set_ahead(struct tracer *t, tracer_fn ahead);

/*
 * Wait up to timeout_ms for records and deliver all that are ready. Returns the
 * number delivered, or a negative errno (-EINTR when a signal arrived: a clean
 * stop for the caller).
 */
int tracer__poll(struct tracer *t, int timeout_ms);

/* At the end, after the last tracer__poll(): deliver the records the per-CPU
 * merge still holds back (slot rings, perf buffer; none with the ring buffer). */
void tracer__drain(struct tracer *t);

/*
 * The time (CLOCK_MONOTONIC, as the records' stamps) up to which every record has
 * been handed on: the slot rings' horizon, the ring buffer's last pass that found
 * nothing half-written, the perf buffer's settle point. What consumes the records
 * keeps its clock there: a tick past it would judge a connection whose next
 * record is still in the buffer (a stuck alert, a timewait settled as ended).
 */
uint64_t tracer__until(const struct tracer *t);

/* Records lost so far: no room in the kernel buffer (slot ring or ring buffer
 * full, perf buffer drops), and program runs the kernel skipped (recursion_misses)
 * that no catcher recorded. Either is LOSS_UNKNOWN (loss.h) when a counter could
 * not be read: a failed map lookup or program-info query (bpf() refused after the
 * capability drop), or a kernel that keeps no recursion_misses (before 5.12). */
void tracer__lost(struct tracer *t, uint64_t *ringbuf, uint64_t *recursion);

/*
 * Whether tracer__lost() can read the kernel's counters with the caller's current
 * credentials: 0, or the negative errno of the first read refused (-EPERM where
 * the kernel wants CAP_BPF for every bpf() command). Reads, changes nothing.
 */
int tracer__lost_readable(struct tracer *t);

const struct tracer_info *tracer__info(const struct tracer *t);

/* What the kernel offers, probed without loading tcpdwell's programs. */
struct tracer_probe {
	char kernel[128]; /* uname release */
	bool btf; /* /sys/kernel/btf/vmlinux */
	bool ringbuf; /* BPF_MAP_TYPE_RINGBUF */
	bool tw_timer_symbol; /* tw_timer_handler in /proc/kallsyms */
	bool tp_btf; /* a tp_btf program loads */
	bool cookie_helper; /* bpf_get_socket_cookie() loads in a tp_btf program */
	bool timer_tps_btf; /* timer_start, timer_cancel as tp_btf (in BTF) */
	bool timer_tps_tracefs; /* timer:timer_start, timer:timer_cancel in tracefs */
	bool tracefs; /* classic tracepoints can be attached */
	bool accept_tps; /* syscalls:sys_exit_accept{,4} */
	bool reset_tps, reset_reason; /* tcp_send_reset, tcp_receive_reset (tp_btf); reasons */
	bool cap_bpf, cap_perfmon, cap_sys_admin, cap_sys_resource; /* effective */
};

/* Fill p; never fails (what cannot be probed reads false). tp_btf and the
 * cookie helper are learnt by loading a probe program (not attached). */
void tracer__probe(struct tracer_probe *p);

/* Detach and free; NULL is a no-op. */
void tracer__close(struct tracer *t);

#endif /* TD_TRACER_H */
