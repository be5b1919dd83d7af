/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Records that come per CPU, put back in time order. A socket's records come
 * from whichever CPU ran its syscall or softirq, so a reader that takes the
 * kernel's buffers one CPU after the other (the slot rings, the perf buffer)
 * queues them per CPU and hands them on merged by timestamp, up to a moment
 * before which it knows it has every record. No I/O: the tracer gives it the
 * records and the moment; the slot rings are read here from memory the tracer
 * maps (or a test makes).
 */
#ifndef TD_CPUMERGE_H
#define TD_CPUMERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/tcpdwell.h"

struct cpu_queue {
	struct td_event *ev;
	size_t head, tail, cap;
};

/* A CPU's oldest record not yet handed on, in the merges' heap. */
struct merge_head {
	uint64_t ts;
	uint32_t cpu;
};

struct cpumerge {
	struct cpu_queue *q;
	struct merge_head *heap; /* ncpu */
	int ncpu;
	uint64_t lost; /* records that could not be queued (no memory, bad CPU) */
};

typedef void (*cpumerge_fn)(void *arg, const struct td_event *e);

/* 0, or -ENOMEM. */
int cpumerge__init(struct cpumerge *m, int ncpu);
void cpumerge__free(struct cpumerge *m);

/*
 * Queue a copy of CPU cpu's record e. A CPU's records come in the order they
 * took their place in its buffer, and a program that interrupted another one
 * takes its place before it with a later time: a record older than the one
 * queued before it is moved back, to keep the queue in time order.
 */
void cpumerge__push(struct cpumerge *m, int cpu, const struct td_event *e);

/*
 * Hand on, oldest first, every queued record with ts_ns <= until, each with
 * fn(arg, e); e is valid until the next push. Records of equal time keep their
 * CPUs' order. Returns the number handed on.
 */
size_t cpumerge__pop(struct cpumerge *m, uint64_t until, cpumerge_fn fn, void *arg);

/* Records queued. */
size_t cpumerge__queued(const struct cpumerge *m);

/*
 * The slot rings (struct td_slot), read where they lie: CPU c's ring is
 * slot[c * n ...], its positions cpu[c]. A ring's records are in time order
 * (the programs see to it, see slot_commit in bpf/tcpdwell.bpf.c), so they are
 * merged across the CPUs in place, with no copy. next[c] is the reader's next
 * position on CPU c, ready[c] the end of what it has found committed; both are
 * the caller's arrays of ncpu, as is heap, the merge's room (kept between
 * pops of the same bound; a scan or another bound rebuilds it). horizon: every
 * record stamped at or before it has been found.
 */
struct slot_view {
	const struct td_slot *slot;
	struct td_slot_cpu *cpu;
	size_t ncpu, n; /* n slots per CPU, a power of two */
	uint64_t *next, *ready;
	uint64_t horizon;
	struct merge_head *heap;
	/* The heap's state between pops: nheap heads, of records <= heap_until;
	 * heap_ok false until built, and again after a scan. */
	size_t nheap;
	uint64_t heap_until;
	bool heap_ok;
};

/*
 * Find what the CPUs have committed since the last call. start is the clock
 * (CLOCK_MONOTONIC, as the records' stamps) read before the call; clock reads
 * it again while a record is still being written, which is waited for up to
 * spin_ns. If none was left unfinished, the horizon moves to start: a position
 * not yet taken when its CPU's head was looked at is stamped after start.
 * Otherwise it stays where it was. Returns the number of records found.
 */
size_t slots__scan(struct slot_view *v, uint64_t start, uint64_t spin_ns,
		   uint64_t (*clock)(void));

/*
 * Up to max of the found records with ts_ns <= until, oldest first, as
 * pointers into the rings. They stay valid until slots__release(), which
 * gives their slots back to the programs. Returns how many.
 */
size_t slots__pop(struct slot_view *v, uint64_t until, const struct td_event **out, size_t max);
void slots__release(struct slot_view *v);

/*
 * Slots per CPU for a total of bytes (--ringbuf-size) over ncpu rings: the
 * largest power of two that fits, but at least floor (a power of two).
 */
size_t slots__per_cpu(uint64_t bytes, size_t ncpu, size_t floor);

#endif /* TD_CPUMERGE_H */
