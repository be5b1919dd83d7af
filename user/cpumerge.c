// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Per-CPU record queues merged by time, and the slot rings' reader (see
 * cpumerge.h). Used by the tracer between the kernel's buffers and the
 * connection table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpumerge.h"

int cpumerge__init(struct cpumerge *m, int ncpu)
{
	memset(m, 0, sizeof(*m));
	if (ncpu <= 0)
		return -EINVAL;
	m->q = calloc((size_t)ncpu, sizeof(*m->q));
	if (!m->q)
		return -ENOMEM;
	m->ncpu = ncpu;
	return 0;
}

void cpumerge__free(struct cpumerge *m)
{
	for (int c = 0; c < m->ncpu; c++)
		free(m->q[c].ev);
	free(m->q);
	memset(m, 0, sizeof(*m));
}

void cpumerge__push(struct cpumerge *m, int cpu, const struct td_event *e)
{
	struct cpu_queue *q;
	size_t i;

	if (cpu < 0 || cpu >= m->ncpu) {
		m->lost++;
		return;
	}
	q = &m->q[cpu];
	if (q->head > 0 && q->tail == q->cap) {
		memmove(q->ev, q->ev + q->head, (q->tail - q->head) * sizeof(*q->ev));
		q->tail -= q->head;
		q->head = 0;
	}
	if (q->tail == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 1024;
		struct td_event *ev = realloc(q->ev, cap * sizeof(*ev));

		if (!ev) {
			m->lost++; /* counted like the kernel's own losses */
			return;
		}
		q->ev = ev;
		q->cap = cap;
	}
	i = q->tail++;
	memcpy(&q->ev[i], e, sizeof(*e));
	for (; i > q->head && q->ev[i - 1].ts_ns > q->ev[i].ts_ns; i--) {
		struct td_event tmp = q->ev[i];

		q->ev[i] = q->ev[i - 1];
		q->ev[i - 1] = tmp;
	}
}

size_t cpumerge__pop(struct cpumerge *m, uint64_t until, cpumerge_fn fn, void *arg)
{
	size_t n = 0;

	for (;;) {
		struct cpu_queue *best = NULL;

		for (int c = 0; c < m->ncpu; c++) {
			struct cpu_queue *q = &m->q[c];

			if (q->head < q->tail &&
			    (!best || q->ev[q->head].ts_ns < best->ev[best->head].ts_ns))
				best = q;
		}
		if (!best || best->ev[best->head].ts_ns > until)
			return n;
		fn(arg, &best->ev[best->head++]);
		n++;
		if (best->head == best->tail)
			best->head = best->tail = 0;
	}
}

size_t cpumerge__queued(const struct cpumerge *m)
{
	size_t n = 0;

	for (int c = 0; c < m->ncpu; c++)
		n += m->q[c].tail - m->q[c].head;
	return n;
}

/* Is the record at position pos complete? Waits up to spin_ns for one being
 * written (a few hundred ns: the programs run with preemption off). */
static bool slot_ready(const struct td_slot *s, uint64_t pos, uint64_t spin_ns,
		       uint64_t (*clock)(void))
{
	uint64_t until = 0;

	while (__atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) != pos + 1) {
		uint64_t now = clock();

		if (!until)
			until = now + spin_ns;
		else if (now >= until)
			return false;
	}
	return true;
}

static const struct td_slot *slot_at(const struct slot_view *v, size_t c, uint64_t pos)
{
	return &v->slot[c * v->n + (pos & (v->n - 1))];
}

size_t slots__scan(struct slot_view *v, uint64_t start, uint64_t spin_ns,
		   uint64_t (*clock)(void))
{
	bool settled = true;
	size_t found = 0;

	/* Each look at a head comes after start was read. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (size_t c = 0; c < v->ncpu; c++) {
		uint64_t head = __atomic_load_n(&v->cpu[c].head, __ATOMIC_ACQUIRE);
		uint64_t r = v->ready[c];

		for (; r < head; r++) {
			if (!slot_ready(slot_at(v, c, r), r, spin_ns, clock)) {
				settled = false;
				break;
			}
			found++;
		}
		v->ready[c] = r;
	}
	if (settled && start > v->horizon)
		v->horizon = start;
	return found;
}

size_t slots__pop(struct slot_view *v, uint64_t until, const struct td_event **out, size_t max)
{
	size_t n = 0;

	while (n < max) {
		size_t best = v->ncpu;
		uint64_t bts = until, second = until;

		/* The oldest head, and the time up to which its CPU goes on alone. */
		for (size_t c = 0; c < v->ncpu; c++) {
			uint64_t ts;

			if (v->next[c] == v->ready[c])
				continue;
			ts = slot_at(v, c, v->next[c])->ev.ts_ns;
			if (ts > until)
				continue;
			if (best == v->ncpu || ts < bts) {
				if (best != v->ncpu)
					second = bts;
				best = c;
				bts = ts;
			} else if (ts < second) {
				second = ts;
			}
		}
		if (best == v->ncpu)
			break;
		do {
			out[n++] = &slot_at(v, best, v->next[best]++)->ev;
		} while (n < max && v->next[best] < v->ready[best] &&
			 slot_at(v, best, v->next[best])->ev.ts_ns <= second);
	}
	return n;
}

void slots__release(struct slot_view *v)
{
	/* A store only where it moved: the programs read each tail. */
	for (size_t c = 0; c < v->ncpu; c++)
		if (v->cpu[c].tail != v->next[c])
			__atomic_store_n(&v->cpu[c].tail, v->next[c], __ATOMIC_RELEASE);
}
