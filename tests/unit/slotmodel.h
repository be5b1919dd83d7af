/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The slot rings' producer (slot_reserve, slot_commit and the stamp between
 * them in bpf/tcpdwell.bpf.c) in user-space C, for the model test of the rings
 * and their reader (test_slotmodel.c). One thread stands for one CPU; a signal
 * handler on that thread stands for a program that interrupts another one on
 * the same CPU. The rings lie as the BPF maps do: CPU c's ring is slot[c * n
 * ...], its positions cpu[c]. Each step names the line of tcpdwell.bpf.c it
 * mirrors; keep the two in step.
 *
 * The orderings are the ones the BPF instructions give: the compare-and-swap
 * (BPF_CMPXCHG) is fully ordered; the x86 commit is a compiler barrier and a
 * plain store (a release on x86); elsewhere it is an exchange (fully ordered).
 * ThreadSanitizer does not model fences, so the CAS's full barrier after the
 * producer's read of tail, which is what keeps the slot's stores after that
 * read, is written as an acquire load of tail.
 *
 * TD_MODEL_MUTANT, when defined, breaks one step on purpose (see below), to
 * measure what the model test catches.
 */
#ifndef TD_SLOTMODEL_H
#define TD_SLOTMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../../bpf/tcpdwell.h"

/* Mutants: 1 no stamp adjustment in commit; 2 seq stored relaxed; 3 stamp taken
 * before the position; 4 the full-ring check off by one (a slot in use reused);
 * 5 seq stored before the stamp adjustment; 6 nothing orders the read of tail
 * before the slot's stores; 7 stamp read just before the swap that takes the
 * position (with nothing nested in between: only the reader's horizon can tell);
 * 8 (test_slotmodel.c) two threads a CPU, programs that are preempted instead of
 * nested, which the protocol does not allow for. */
#ifndef TD_MODEL_MUTANT
#define TD_MODEL_MUTANT 0
#endif

/* tcpdwell.bpf.c: SLOT_TRIES */
#define MODEL_SLOT_TRIES 4

/* Where a produce can be interrupted or stalled (model_ring.hook). */
enum model_point {
	MP_BEFORE_CAS, /* head read, swap not yet made */
	MP_RESERVED,   /* position taken, not yet stamped */
	MP_STAMPED,    /* stamped, record written, not yet committed */
	MP_CHECKED,    /* stamp adjusted, seq not yet stored */
	MP_N,
};

struct model_ring {
	struct td_slot *slot;
	struct td_slot_cpu *cpu;
	uint32_t mask; /* slot_mask: slots per CPU - 1 */
	uint32_t wake; /* slot_wake */
	/* Called at each point of a produce, or NULL. */
	void (*hook)(enum model_point at, uint32_t cpu, int depth);
};

struct model_pos {
	uint64_t pos;
	uint64_t early; /* mutant 7 */
	uint32_t cpu;
	int depth;
};

/* bpf_ktime_get_ns(): CLOCK_MONOTONIC. */
static inline uint64_t model_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline void model_at(const struct model_ring *r, const struct model_pos *p,
			    enum model_point at)
{
	if (r->hook)
		r->hook(at, p->cpu, p->depth);
}

/* slot_reserve(): this CPU's next slot, or NULL (ring full, or every try lost
 * its swap to a nested producer); the caller counts the NULL as TD_CNT_RB_FAIL
 * (event_reserve). */
static inline struct td_event *model_reserve(struct model_ring *r, struct model_pos *p)
{
	struct td_slot_cpu *c = &r->cpu[p->cpu];
	uint32_t base = p->cpu * (r->mask + 1);

	for (int i = 0; i < MODEL_SLOT_TRIES; i++) {
		/* h = c->head; */
		__u64 h = __atomic_load_n(&c->head, __ATOMIC_RELAXED);
		uint64_t tail = __atomic_load_n(&c->tail, TD_MODEL_MUTANT == 6 ? __ATOMIC_RELAXED
									       : __ATOMIC_ACQUIRE);

		/* if (h - *(volatile __u64 *)&c->tail > slot_mask) return NULL; */
		if (h - tail > (uint64_t)r->mask + (TD_MODEL_MUTANT == 4))
			return NULL;
		model_at(r, p, MP_BEFORE_CAS);
#if TD_MODEL_MUTANT == 7
		p->early = model_now();
#endif
		/* if (__sync_val_compare_and_swap(&c->head, h, h + 1) != h) continue; */
		if (!__atomic_compare_exchange_n(&c->head, &h, h + 1, false, __ATOMIC_SEQ_CST,
						 __ATOMIC_SEQ_CST))
			continue;
		/* key = base + (h & slot_mask); p->pos = h; */
		p->pos = h;
		return &r->slot[base + (uint32_t)(h & r->mask)].ev;
	}
	return NULL;
}

/* slot_commit(): the nested-stamp adjustment, then seq = position + 1; then the
 * early wakeup's bookkeeping (the wakeup itself is a ring buffer record the
 * model has no use for). Returns whether the stamp was moved back. */
static inline bool model_commit(struct model_ring *r, struct td_event *e, const struct model_pos *p)
{
	struct td_slot *s = (void *)((uint8_t *)e - offsetof(struct td_slot, ev));
	struct td_slot_cpu *c = &r->cpu[p->cpu];
	uint64_t h = p->pos;
	bool moved = false;

#if TD_MODEL_MUTANT == 5
	__atomic_store_n(&s->seq, h + 1, __ATOMIC_RELEASE);
#endif
	/* if (*(volatile __u64 *)&c->head != h + 1) { */
	if (TD_MODEL_MUTANT != 1 && __atomic_load_n(&c->head, __ATOMIC_RELAXED) != h + 1) {
		/* n = slots[base + ((h + 1) & slot_mask)]; */
		const struct td_slot *n = &r->slot[p->cpu * (r->mask + 1) + ((h + 1) & r->mask)];

		/* if (n && n->seq == h + 2 && n->ev.ts_ns < e->ts_ns) e->ts_ns = ...; */
		if (__atomic_load_n(&n->seq, __ATOMIC_RELAXED) == h + 2 && n->ev.ts_ns < e->ts_ns) {
			e->ts_ns = n->ev.ts_ns;
			moved = true;
		}
	}
	model_at(r, p, MP_CHECKED);
#if TD_MODEL_MUTANT == 2
	__atomic_store_n(&s->seq, h + 1, __ATOMIC_RELAXED);
#elif TD_MODEL_MUTANT == 5
#elif defined(__x86_64__)
	/* barrier(); *(volatile __u64 *)&s->seq = h + 1; */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&s->seq, h + 1, __ATOMIC_RELEASE);
#else
	/* __sync_lock_test_and_set(&s->seq, h + 1); */
	__atomic_exchange_n(&s->seq, h + 1, __ATOMIC_SEQ_CST);
#endif
	/* if (h + 1 - tail >= slot_wake && h + 1 - c->woke >= slot_wake) c->woke = h + 1; */
	if (r->wake && h + 1 - __atomic_load_n(&c->tail, __ATOMIC_RELAXED) >= r->wake &&
	    h + 1 - __atomic_load_n(&c->woke, __ATOMIC_RELAXED) >= r->wake)
		__atomic_store_n(&c->woke, h + 1, __ATOMIC_RELAXED);
	return moved;
}

/*
 * One record made as handle_state() makes it: reserve, stamp (e->ts_ns =
 * bpf_ktime_get_ns() once the position is taken), fill, commit. id goes in
 * cookie, the CPU in netns, the position in skaddr and the depth in pid, for
 * the reader's checks. Returns 0, or -1 when the ring refused it. *moved says
 * whether commit moved the stamp back.
 */
static inline int model_produce(struct model_ring *r, uint32_t cpu, int depth, uint64_t id,
				bool *moved)
{
	struct model_pos p = {.cpu = cpu, .depth = depth};
	struct td_event *e;
#if TD_MODEL_MUTANT == 3
	uint64_t early = model_now();
#endif

	e = model_reserve(r, &p);
	if (!e)
		return -1;
	model_at(r, &p, MP_RESERVED);
#if TD_MODEL_MUTANT == 3
	e->ts_ns = early;
#elif TD_MODEL_MUTANT == 7
	e->ts_ns = p.early;
#else
	e->ts_ns = model_now();
#endif
	e->kind = TD_EV_STATE;
	e->oldstate = TD_FIN_WAIT1;
	e->newstate = TD_FIN_WAIT2;
	e->cookie = id;
	e->skaddr = p.pos;
	e->netns = cpu;
	e->pid = (uint32_t)depth;
	e->flags = 0;
	model_at(r, &p, MP_STAMPED);
	*moved = model_commit(r, e, &p);
	return 0;
}

#endif /* TD_SLOTMODEL_H */
