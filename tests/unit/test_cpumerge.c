// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of the per-CPU merge of copied records (time order across CPUs
 * and within one, the bound, losses) and of the slot rings' reader on rings
 * made in memory: it finds committed records in position order, stops at one
 * still being written (and then keeps the horizon), merges the CPUs by time in
 * place up to a bound, gives slots back only once released, follows the
 * positions around the ring, and moves the horizon only when it saw everything;
 * and both merges over 97 CPUs, where they take the oldest head from a heap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cpumerge.h"

/* What pop handed on: cookies and times, in order. */
struct seen {
	size_t n;
	uint64_t cookie[64], ts[64];
};

static void collect(void *arg, const struct td_event *e)
{
	struct seen *s = arg;

	assert_true(s->n < 64);
	s->cookie[s->n] = e->cookie;
	s->ts[s->n++] = e->ts_ns;
}

static struct td_event ev(uint64_t cookie, uint64_t ts)
{
	struct td_event e;

	memset(&e, 0, sizeof(e));
	e.cookie = cookie;
	e.ts_ns = ts;
	e.kind = TD_EV_STATE;
	return e;
}

static void push(struct cpumerge *m, int cpu, uint64_t cookie, uint64_t ts)
{
	struct td_event e = ev(cookie, ts);

	cpumerge__push(m, cpu, &e);
}

static void test_merge_by_time(void **state)
{
	struct cpumerge m;
	struct seen s = { 0 };

	(void)state;
	assert_int_equal(cpumerge__init(&m, 3), 0);
	push(&m, 0, 1, 10);
	push(&m, 0, 2, 40);
	push(&m, 1, 3, 20);
	push(&m, 1, 4, 50);
	push(&m, 2, 5, 30);
	/* Up to 35: the three oldest, across the CPUs. */
	assert_int_equal(cpumerge__pop(&m, 35, collect, &s), 3);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.cookie[0], 1);
	assert_int_equal(s.cookie[1], 3);
	assert_int_equal(s.cookie[2], 5);
	assert_int_equal(cpumerge__queued(&m), 2);
	/* The bound is inclusive; then the rest. */
	assert_int_equal(cpumerge__pop(&m, 40, collect, &s), 1);
	assert_int_equal(s.cookie[3], 2);
	assert_int_equal(cpumerge__pop(&m, UINT64_MAX, collect, &s), 1);
	assert_int_equal(s.cookie[4], 4);
	assert_int_equal(cpumerge__queued(&m), 0);
	assert_int_equal(m.lost, 0);
	cpumerge__free(&m);
}

/* A record that interrupted another took its place first and its time later. */
static void test_inversion_within_a_cpu(void **state)
{
	struct cpumerge m;
	struct seen s = { 0 };

	(void)state;
	assert_int_equal(cpumerge__init(&m, 1), 0);
	push(&m, 0, 1, 100);
	push(&m, 0, 2, 300);
	push(&m, 0, 3, 200);
	push(&m, 0, 4, 150);
	assert_int_equal(cpumerge__pop(&m, UINT64_MAX, collect, &s), 4);
	assert_int_equal(s.ts[0], 100);
	assert_int_equal(s.ts[1], 150);
	assert_int_equal(s.ts[2], 200);
	assert_int_equal(s.ts[3], 300);
	assert_int_equal(s.cookie[1], 4);
	/* Equal times keep their order; after a pop the queue starts over. */
	push(&m, 0, 5, 400);
	push(&m, 0, 6, 400);
	assert_int_equal(cpumerge__pop(&m, UINT64_MAX, collect, &s), 2);
	assert_int_equal(s.cookie[4], 5);
	assert_int_equal(s.cookie[5], 6);
	cpumerge__free(&m);
}

/* Thousands queued (the queue grows and slides), a bad CPU counted as lost. */
static void test_growth_and_loss(void **state)
{
	struct cpumerge m;
	struct seen s = { 0 };
	uint64_t last = 0;
	size_t got = 0;

	(void)state;
	assert_int_equal(cpumerge__init(&m, 2), 0);
	for (uint64_t i = 0; i < 5000; i++)
		push(&m, (int)(i & 1), i, 1000 + i);
	push(&m, 2, 9, 1);
	push(&m, -1, 9, 1);
	assert_int_equal(m.lost, 2);
	assert_int_equal(cpumerge__queued(&m), 5000);
	while (got < 5000) {
		s.n = 0;
		got += cpumerge__pop(&m, 1000 + got + 60, collect, &s);
		for (size_t i = 0; i < s.n; i++) {
			assert_true(s.ts[i] >= last);
			last = s.ts[i];
		}
		assert_true(s.n > 0);
	}
	assert_int_equal(last, 1000 + 4999);
	cpumerge__free(&m);
}

/* Slot rings in memory, 2 CPUs of 4 slots. */
#define NCPU 2
#define NSLOT 4
static struct td_slot ring[NCPU * NSLOT];
static struct td_slot_cpu pos[NCPU];
static uint64_t next[NCPU], ready[NCPU];
static struct merge_head heap[NCPU];
static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now += 1000;
}

/* A producer on cpu: take the next position (if the ring has room); commit
 * writes the sequence. */
static uint64_t take(int cpu, uint64_t cookie, uint64_t ts, bool commit)
{
	uint64_t h = pos[cpu].head;
	struct td_slot *s = &ring[cpu * NSLOT + (h & (NSLOT - 1))];

	assert_true(h - pos[cpu].tail < NSLOT);
	pos[cpu].head++;
	s->ev = ev(cookie, ts);
	if (commit)
		s->seq = h + 1;
	return h;
}

static void commit(int cpu, uint64_t h)
{
	ring[cpu * NSLOT + (h & (NSLOT - 1))].seq = h + 1;
}

/* Pop everything up to until into s (cookies), then release. */
static size_t pop_all(struct slot_view *v, uint64_t until, struct seen *s)
{
	const struct td_event *out[3];
	size_t n, total = 0;

	/* Batches of 3: a batch ends in the middle of a CPU's run. */
	while ((n = slots__pop(v, until, out, 3)) > 0) {
		for (size_t i = 0; i < n; i++)
			collect(s, out[i]);
		total += n;
		slots__release(v);
	}
	return total;
}

static void test_slots(void **state)
{
	struct slot_view v = { ring, pos, NCPU, NSLOT, next, ready, 0, heap };
	struct seen s = { 0 };
	uint64_t h;

	(void)state;
	memset(ring, 0, sizeof(ring));
	memset(pos, 0, sizeof(pos));
	memset(next, 0, sizeof(next));
	memset(ready, 0, sizeof(ready));

	/* Nothing there: settled, the horizon moves to the call's start. */
	assert_int_equal(slots__scan(&v, 50, 0, fake_clock), 0);
	assert_int_equal(v.horizon, 50);

	take(0, 1, 100, true);
	take(1, 2, 110, true);
	h = take(0, 3, 120, false); /* being written */
	take(0, 4, 130, true); /* after it */
	assert_int_equal(slots__scan(&v, 500, 5000, fake_clock), 2);
	/* CPU 0 stopped at the unfinished record, and the horizon stayed: nothing
	 * is handed on, nothing given back. */
	assert_int_equal(ready[0], 1);
	assert_int_equal(ready[1], 1);
	assert_int_equal(v.horizon, 50);
	assert_int_equal(pop_all(&v, v.horizon, &s), 0);
	assert_int_equal(pos[0].tail, 0);

	commit(0, h);
	assert_int_equal(slots__scan(&v, 600, 5000, fake_clock), 2);
	assert_int_equal(v.horizon, 600);
	/* Merged by time across the CPUs, in place. */
	assert_int_equal(pop_all(&v, v.horizon, &s), 4);
	assert_int_equal(s.cookie[0], 1);
	assert_int_equal(s.cookie[1], 2);
	assert_int_equal(s.cookie[2], 3);
	assert_int_equal(s.cookie[3], 4);
	assert_int_equal(pos[0].tail, 3);
	assert_int_equal(pos[1].tail, 1);

	/* Only up to the bound; a record found but younger waits in its slot. */
	take(1, 5, 700, true);
	take(0, 6, 710, true);
	take(1, 7, 720, true);
	take(1, 8, 900, true);
	assert_int_equal(slots__scan(&v, 800, 0, fake_clock), 4);
	s.n = 0;
	assert_int_equal(pop_all(&v, v.horizon, &s), 3);
	assert_int_equal(s.cookie[0], 5);
	assert_int_equal(s.cookie[1], 6);
	assert_int_equal(s.cookie[2], 7);
	assert_int_equal(pos[1].tail, 3);

	/* Around the ring: CPU 0's positions 4..6 use slots 0..2; an old lap's
	 * sequence in a slot is not taken for the new one. */
	take(0, 9, 910, true);
	take(0, 10, 920, true);
	h = take(0, 11, 930, false);
	assert_int_equal(slots__scan(&v, 1000, 0, fake_clock), 2);
	assert_int_equal(v.horizon, 800);
	commit(0, h);
	assert_int_equal(slots__scan(&v, 1100, 0, fake_clock), 1);
	assert_int_equal(v.horizon, 1100);
	s.n = 0;
	assert_int_equal(pop_all(&v, v.horizon, &s), 4);
	assert_int_equal(s.cookie[0], 8);
	assert_int_equal(s.cookie[1], 9);
	assert_int_equal(s.cookie[2], 10);
	assert_int_equal(s.cookie[3], 11);
	assert_int_equal(pos[0].tail, 7);
	assert_int_equal(pos[1].tail, 4);
	/* A horizon never goes back. */
	assert_int_equal(slots__scan(&v, 1050, 0, fake_clock), 0);
	assert_int_equal(v.horizon, 1100);
}

/*
 * Many CPUs (the heap of the merges): 97 rings of 32 records, times drawn from a
 * narrow range so that many are equal across CPUs, each ring in time order.
 * Every record comes out once, in time order (within each scan's share), each
 * CPU's in its own order; the queues' merge puts ties to the lower CPU.
 */
#define MANY 97
#define MSLOT 32
static struct td_slot mring[MANY * MSLOT];
static struct td_slot_cpu mpos[MANY];
static uint64_t mnext[MANY], mready[MANY];
static struct merge_head mheap[MANY];

struct cookies {
	size_t n;
	uint64_t *v;
};

/* The record a test_many_cpus cookie (CPU << 32 | position) names. */
static const struct td_event *mev(uint64_t cookie)
{
	return &mring[(cookie >> 32) * MSLOT + (cookie & 0xffffffff)].ev;
}

static void collect_all(void *arg, const struct td_event *e)
{
	struct cookies *a = arg;

	a->v[a->n++] = e->cookie;
}

static void test_many_cpus(void **state)
{
	struct slot_view v = { mring, mpos, MANY, MSLOT, mnext, mready, 0, mheap };
	static uint64_t got_slots[MANY * MSLOT], got_queues[MANY * MSLOT];
	const struct td_event *out[7];
	struct cookies all = { 0, got_queues };
	struct cpumerge m;
	uint64_t seed = 12345, last_pos[MANY];
	size_t n, total = 0;

	(void)state;
	assert_int_equal(cpumerge__init(&m, MANY), 0);
	for (int c = 0; c < MANY; c++) {
		uint64_t ts = 1000;

		for (int i = 0; i < MSLOT; i++) {
			struct td_slot *sl = &mring[c * MSLOT + i];

			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			ts += (seed >> 60) & 3; /* steps of 0..3 ns: many ties */
			/* cookie: CPU and position, to check each CPU's order */
			sl->ev = ev((uint64_t)c << 32 | (uint64_t)i, ts);
			sl->seq = (uint64_t)i + 1;
			cpumerge__push(&m, c, &sl->ev);
		}
		last_pos[c] = UINT64_MAX;
	}
	/* In two scans, with the same bound: the first half of every ring, then
	 * the rest (a CPU the merge had run out of has records again). */
	for (int half = 1; half <= 2; half++) {
		size_t first = total;

		for (int c = 0; c < MANY; c++)
			mpos[c].head = (uint64_t)half * MSLOT / 2;
		assert_int_equal(slots__scan(&v, 1000000, 0, fake_clock), MANY * MSLOT / 2);
		while ((n = slots__pop(&v, UINT64_MAX, out, 7)) > 0) {
			for (size_t i = 0; i < n; i++) {
				uint64_t c = out[i]->cookie >> 32, p = out[i]->cookie & 0xffffffff;

				assert_true(total < MANY * MSLOT);
				assert_true(last_pos[c] == UINT64_MAX ? p == 0 : p == last_pos[c] + 1);
				last_pos[c] = p;
				if (total > first)
					assert_true(mev(got_slots[total - 1])->ts_ns <= out[i]->ts_ns);
				got_slots[total++] = out[i]->cookie;
			}
			slots__release(&v);
		}
		assert_int_equal(total, (size_t)half * MANY * MSLOT / 2);
	}
	assert_int_equal(total, MANY * MSLOT);
	for (int c = 0; c < MANY; c++)
		assert_int_equal(mpos[c].tail, MSLOT);

	/* The queues' merge: strictly by (time, CPU), one record at a time. */
	assert_int_equal(cpumerge__pop(&m, UINT64_MAX, collect_all, &all), MANY * MSLOT);
	assert_int_equal(all.n, MANY * MSLOT);
	for (size_t i = 1; i < all.n; i++) {
		uint64_t a = got_queues[i - 1], b = got_queues[i];
		uint64_t ta = mev(a)->ts_ns, tb = mev(b)->ts_ns;

		assert_true(ta < tb || (ta == tb && (a >> 32) < (b >> 32)) ||
			    (ta == tb && a >> 32 == b >> 32 && a < b));
	}
	cpumerge__free(&m);
}

/* Ring sizes: what fits of the total per CPU, a power of two, never below the floor. */
static void test_slots_per_cpu(void **state)
{
	(void)state;
	assert_int_equal(slots__per_cpu(8u << 20, 2, 1024), 32768); /* 37,449 fit */
	assert_int_equal(slots__per_cpu(8u << 20, 64, 1024), 1024);
	assert_int_equal(slots__per_cpu(8u << 20, 128, 1024), 1024); /* 585 fit */
	assert_int_equal(slots__per_cpu(8u << 20, 128, 16), 512);
	assert_int_equal(slots__per_cpu(65536, 2, 16), 256);
	assert_int_equal(slots__per_cpu(4096, 64, 16), 16);
	assert_int_equal(slots__per_cpu(1u << 30, 1, 16), 8388608);
	assert_int_equal(slots__per_cpu(4096, 0, 0), 32); /* no CPU count: as one */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_by_time),
		cmocka_unit_test(test_inversion_within_a_cpu),
		cmocka_unit_test(test_growth_and_loss),
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_many_cpus),
		cmocka_unit_test(test_slots_per_cpu),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
