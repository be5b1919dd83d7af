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

/*
 * Both merges take the CPU whose head is oldest (ties to the lower CPU) from a
 * binary min-heap of the CPUs' heads: O(log ncpu) a record, or a run of one
 * CPU's records, instead of a look at every CPU, which on a host of a hundred
 * CPUs under a storm (records of many CPUs interleaved, runs of one or two)
 * would cost more than the record's own handling.
 */
static bool head_before(const struct merge_head *a, const struct merge_head *b)
{
	return a->ts < b->ts || (a->ts == b->ts && a->cpu < b->cpu);
}

static void heap_down(struct merge_head *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		struct merge_head t;

		if (l < n && head_before(&h[l], &h[m]))
			m = l;
		if (l + 1 < n && head_before(&h[l + 1], &h[m]))
			m = l + 1;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void heap_build(struct merge_head *h, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		heap_down(h, n, i);
}

/* The top's CPU has moved on: its next head at ts, or none (ok false). */
static void heap_next(struct merge_head *h, size_t *n, bool ok, uint64_t ts)
{
	if (ok)
		h[0].ts = ts;
	else
		h[0] = h[--*n];
	heap_down(h, *n, 0);
}

int cpumerge__init(struct cpumerge *m, int ncpu)
{
	memset(m, 0, sizeof(*m));
	if (ncpu <= 0)
		return -EINVAL;
	m->q = calloc((size_t)ncpu, sizeof(*m->q));
	m->heap = calloc((size_t)ncpu, sizeof(*m->heap));
	if (!m->q || !m->heap) {
		free(m->q);
		free(m->heap);
		memset(m, 0, sizeof(*m));
		return -ENOMEM;
	}
	m->ncpu = ncpu;
	return 0;
}

void cpumerge__free(struct cpumerge *m)
{
	for (int c = 0; c < m->ncpu; c++)
		free(m->q[c].ev);
	free(m->q);
	free(m->heap);
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
	struct merge_head *h = m->heap;
	size_t n = 0, nh = 0;

	for (int c = 0; c < m->ncpu; c++) {
		struct cpu_queue *q = &m->q[c];

		if (q->head < q->tail && q->ev[q->head].ts_ns <= until)
			h[nh++] = (struct merge_head){ q->ev[q->head].ts_ns, (uint32_t)c };
	}
	heap_build(h, nh);
	while (nh > 0) {
		struct cpu_queue *q = &m->q[h[0].cpu];
		uint64_t ts = 0;
		bool more;

		fn(arg, &q->ev[q->head++]);
		n++;
		more = q->head < q->tail;
		if (more)
			ts = q->ev[q->head].ts_ns;
		else
			q->head = q->tail = 0;
		heap_next(h, &nh, more && ts <= until, ts);
	}
	return n;
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
	v->heap_ok = false;
	return found;
}

size_t slots__per_cpu(uint64_t bytes, size_t ncpu, size_t floor)
{
	uint64_t want = bytes / sizeof(struct td_slot) / (ncpu ? ncpu : 1);
	size_t n = floor ? floor : 1;

	while (n * 2 <= want)
		n *= 2;
	return n;
}

size_t slots__pop(struct slot_view *v, uint64_t until, const struct td_event **out, size_t max)
{
	struct merge_head *h = v->heap;
	size_t n = 0, nh = v->nheap;

	if (!v->heap_ok || v->heap_until != until) {
		nh = 0;
		for (size_t c = 0; c < v->ncpu; c++) {
			uint64_t ts;

			if (v->next[c] == v->ready[c])
				continue;
			ts = slot_at(v, c, v->next[c])->ev.ts_ns;
			if (ts <= until)
				h[nh++] = (struct merge_head){ ts, (uint32_t)c };
		}
		heap_build(h, nh);
		v->heap_ok = true;
		v->heap_until = until;
	}
	while (n < max && nh > 0) {
		size_t c = h[0].cpu;
		uint64_t second = until, ts = 0;
		bool more;

		/* The time up to which the oldest head's CPU goes on alone: the next
		 * oldest head, one of the top's children. */
		if (nh > 1 && h[1].ts < second)
			second = h[1].ts;
		if (nh > 2 && h[2].ts < second)
			second = h[2].ts;
		do {
			out[n++] = &slot_at(v, c, v->next[c]++)->ev;
			more = v->next[c] < v->ready[c];
			if (more)
				ts = slot_at(v, c, v->next[c])->ev.ts_ns;
		} while (n < max && more && ts <= second);
		heap_next(h, &nh, more && ts <= until, ts);
	}
	v->nheap = nh;
	return n;
}

void slots__release(struct slot_view *v)
{
	/* A store only where it moved: the programs read each tail. */
	for (size_t c = 0; c < v->ncpu; c++)
		if (v->cpu[c].tail != v->next[c])
			__atomic_store_n(&v->cpu[c].tail, v->next[c], __ATOMIC_RELEASE);
}
