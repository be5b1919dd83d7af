/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The buffers a record reaches user space through (user/kernel/tracer.c picks one before
 * load): per-CPU slot rings in mmapable arrays (the default, slot_mask != 0), the BPF ring
 * buffer, or a perf buffer (use_perfbuf). event_reserve() gives the place to build a record
 * in, event_submit() hands it on; a record that finds no room is counted (TD_CNT_RB_FAIL).
 * Included once, by tcpdwell.bpf.c, after count() and struct cpu_state.
 */
#ifndef TD_BUFFERS_BPF_H
#define TD_BUFFERS_BPF_H

const volatile __u64 wakeup_bytes = 0; /* 0: wake on every record */
const volatile bool use_perfbuf = false;
/* Slot rings: slots per CPU - 1 (0: not used); records waiting on a CPU that
 * wake user space early (1: every record). */
const volatile __u32 slot_mask = 0;
const volatile __u32 slot_wake = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);
} events SEC(".maps");

/* Slot rings (user space sizes both): CPU c's ring is slots[c * (slot_mask + 1)
 * ...], its positions slot_cpus[c]. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct td_slot);
} slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct td_slot_cpu);
} slot_cpus SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");

/* A slot ring position taken by event_reserve, for event_submit. */
struct slot_pos {
	struct td_slot_cpu *cpu;
	__u64 pos;
	__u32 base; /* the CPU's first slot */
};

/* Programs nest at most a few deep on one CPU (a syscall's, a softirq's, a
 * hard irq's timer): each retry of the swap means one of them took a position. */
#define SLOT_TRIES 4

/* Take this CPU's next slot (see struct td_slot), or NULL if its ring is full. */
static __always_inline struct td_event *slot_reserve(struct slot_pos *p)
{
	__u32 cpu = bpf_get_smp_processor_id(), base = cpu * (slot_mask + 1), key = 0;
	struct td_slot_cpu *c = bpf_map_lookup_elem(&slot_cpus, &cpu);
	struct td_slot *s;
	__u64 h = 0;

	if (!c)
		return NULL;
	for (int i = 0; i < SLOT_TRIES; i++) {
		h = c->head;
		if (h - *(volatile __u64 *)&c->tail > slot_mask)
			return NULL;
		if (__sync_val_compare_and_swap(&c->head, h, h + 1) != h)
			continue;
		/* Within the map: cpu < the CPUs it was sized for. Were it not,
		 * the position would stay uncommitted and the reader stop there. */
		key = base + (__u32)(h & slot_mask);
		s = bpf_map_lookup_elem(&slots, &key);
		if (!s)
			return NULL;
		p->cpu = c;
		p->pos = h;
		p->base = base;
		return &s->ev;
	}
	return NULL;
}

/*
 * Where a record is built: in its slot or in the ring buffer itself, or, on the
 * perf-buffer path, on the program's stack (zeroed, since all of it is copied
 * out), which a softirq's program that interrupts another one half-way through
 * its record does not share. Callers check for NULL and then pass the pointer
 * through barrier_var(): one of the two is never NULL, and the compiler may
 * otherwise compute field addresses before the check, which the verifier
 * refuses for the ring buffer's.
 */
static __always_inline struct td_event *event_reserve(struct td_event *stack, struct slot_pos *p)
{
	struct td_event *e;

	if (use_perfbuf) {
		__builtin_memset(stack, 0, sizeof(*stack));
		return stack;
	}
	if (slot_mask)
		e = slot_reserve(p);
	else
		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		count(TD_CNT_RB_FAIL);
	return e;
}

/*
 * Commit a slot. A ring's records must be in time order, which lets the reader
 * merge the CPUs in place. Programs on one CPU nest (tracepoints run their
 * programs with preemption off): any position taken after this one before its
 * commit belongs to a program that ran inside this one and has finished, and
 * the one right after holds the smallest stamp among them (each of them saw to
 * it in turn). A stamp later than that one's is moved back to it: still after
 * this record's state change, which came before its program ran.
 *
 * Then the record's stores before the sequence's (x86 keeps stores in order;
 * elsewhere the exchange is a full barrier). Wake the reader when the CPU's
 * ring holds slot_wake records, once per slot_wake positions: a small record
 * in the ring buffer, which the reader waits on.
 */
static __always_inline void slot_commit(struct td_event *e, struct slot_pos *p)
{
	struct td_slot *s = (void *)((__u8 *)e - __builtin_offsetof(struct td_slot, ev));
	struct td_slot_cpu *c = p->cpu;
	__u64 h = p->pos;

	if (*(volatile __u64 *)&c->head != h + 1) {
		__u32 key = p->base + (__u32)((h + 1) & slot_mask);
		struct td_slot *n = bpf_map_lookup_elem(&slots, &key);

		if (n && n->seq == h + 2 && n->ev.ts_ns < e->ts_ns)
			e->ts_ns = n->ev.ts_ns;
	}

#if defined(__TARGET_ARCH_x86)
	barrier();
	*(volatile __u64 *)&s->seq = h + 1;
#else
	__sync_lock_test_and_set(&s->seq, h + 1);
#endif
	if (h + 1 - *(volatile __u64 *)&c->tail >= slot_wake && h + 1 - c->woke >= slot_wake) {
		c->woke = h + 1;
		bpf_ringbuf_output(&events, &h, sizeof(h), BPF_RB_FORCE_WAKEUP);
	}
}

/* Records a CPU submits between two looks at the ring buffer's fill. */
#define WAKE_CHECK 64

static __always_inline void event_submit(void *ctx, struct td_event *e, struct cpu_state *cs,
					 struct slot_pos *p)
{
	__u64 flags = 0;

	if (slot_mask) {
		slot_commit(e, p);
		return;
	}
	if (use_perfbuf) {
		if (bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, e, sizeof(*e)))
			count(TD_CNT_RB_FAIL);
		return;
	}
	/* Batch wakeups: user space polls with a timeout, so a record waits at most
	 * that long; wake it early only when the buffer is filling up. Forced: a
	 * plain submit wakes only a consumer that has read everything before it.
	 * The fill is looked at once every WAKE_CHECK records of a CPU: the query
	 * is a helper call, and until user space has read below the mark every
	 * forced submit queues an irq_work, a self-IPI (in a guest, an exit to the
	 * hypervisor: seen in profiles of a storm). */
	if (wakeup_bytes) {
		flags = BPF_RB_NO_WAKEUP;
		if (!cs || ++cs->unchecked >= WAKE_CHECK) {
			if (cs)
				cs->unchecked = 0;
			if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
				flags = BPF_RB_FORCE_WAKEUP;
		}
	}
	bpf_ringbuf_submit(e, flags);
}

#endif /* TD_BUFFERS_BPF_H */
