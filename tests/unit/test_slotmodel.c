// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A model of the slot rings without the kernel: one thread per CPU produces
 * into its own ring (laid out as the BPF maps are) by the programs' protocol
 * (slotmodel.h), while the real reader (slots__scan, slots__pop and
 * slots__release of cpumerge.c), driven as the tracer drives it, hands the
 * records on. Producers are interrupted in the middle of a record by nested
 * ones (a direct call at each step, and SIGUSR1 at any moment, as a softirq
 * interrupts a syscall's program), stall between reserve and commit for longer
 * than the reader waits (a preempted vCPU), go round small rings many times
 * and find them full. The reader must hand on every committed record exactly
 * once, in position order per CPU and in time order overall, never one stamped
 * at or before a horizon it already passed, and produced + refused must equal
 * attempts on every CPU. Built a second time under ThreadSanitizer without the
 * signals (TD_MODEL_NO_SIGNALS: it delays them), which checks the orderings.
 * TD_MODEL_MS sets each run's least length in ms.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cpumerge.h"
#include "slotmodel.h"

/* user/kernel/tracer.c: SLOT_SPIN_NS, BATCH */
#define SPIN_NS	 50000ULL
#define BATCH	 64
#define HISTORY	 16
#define FAIL_LEN 8192

struct model_cfg {
	const char *name;
	uint32_t ncpu, nslots;
	unsigned ms;		  /* least run time */
	bool signals;		  /* SIGUSR1 at random moments (not under TSan) */
	unsigned reader_pause_us; /* most the reader sleeps between reads */
	bool full;		  /* the reader falls behind: refusals must be seen */
};

/* Per CPU, written by its thread (and its signal handler). */
struct cpu_count {
	uint64_t attempts, produced, refused, nested, moved, stalls;
} __attribute__((aligned(64)));

/* What the reader handed on, for a failure's report. */
struct seen_rec {
	uint32_t cpu, depth;
	uint64_t pos, ts, until, id;
};

static struct model {
	const struct model_cfg *cfg;
	struct model_ring r;
	struct cpu_count *cnt;
	pthread_t *tid;
	pthread_t noise;
	int stop, stop_noise;
	/* Reader side. */
	struct slot_view v;
	uint64_t *expect, *delivered;
	uint8_t **idseen;
	size_t *idcap;
	uint64_t last_ts, passed; /* passed: horizon of the last finished pop loop */
	uint64_t scans, unsettled, sigs;
	struct seen_rec hist[HISTORY];
	uint64_t nhist;
	char fail[FAIL_LEN];
	bool failed;
} M;

static _Thread_local int tl_cpu = -1, tl_depth;
static _Thread_local uint64_t tl_rand;

static uint32_t rnd(void)
{
	/* xorshift64*: a signal handler may interleave; any value will do. */
	uint64_t x = tl_rand ? tl_rand : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	tl_rand = x;
	return (uint32_t)((x * 0x2545f4914f6cdd1dULL) >> 32);
}

static void add(uint64_t *p, uint64_t n)
{
	__atomic_fetch_add(p, n, __ATOMIC_RELAXED);
}

static uint64_t get(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void sleep_us(unsigned us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};

	nanosleep(&ts, NULL);
}

/* One attempt on the current thread's CPU at the current depth: id = (cpu,
 * attempt number), counted as handle_state's caller is (TD_CNT_RB_FAIL).
 * Returns false if the ring refused it. */
static bool produce_one(uint32_t cpu)
{
	int depth = tl_depth++;
	uint64_t id =
	    ((uint64_t)cpu << 40) | __atomic_fetch_add(&M.cnt[cpu].attempts, 1, __ATOMIC_RELAXED);
	bool moved = false, ok = true;

	if (model_produce(&M.r, cpu, depth, id, &moved)) {
		add(&M.cnt[cpu].refused, 1);
		ok = false;
	} else {
		add(&M.cnt[cpu].produced, 1);
		if (depth)
			add(&M.cnt[cpu].nested, 1);
		if (moved)
			add(&M.cnt[cpu].moved, 1);
	}
	tl_depth--;
	return ok;
}

/* A program that interrupts the one at this point (a softirq's in a syscall's,
 * a timer irq's in a softirq's), or a stall (the vCPU preempted). */
static void hook(enum model_point at, uint32_t cpu, int depth)
{
	uint32_t x = rnd();

	if (depth == 0 && x % 8 == 0)
		produce_one(cpu);
	else if (depth == 1 && x % 4 == 0)
		produce_one(cpu);
#ifndef TD_MODEL_NO_SIGNALS
	if (depth == 0 && M.cfg->signals && x % 16 == 1)
		pthread_kill(pthread_self(), SIGUSR1);
#endif
	if (depth == 0 && at != MP_BEFORE_CAS && x % 128 == 2) {
		add(&M.cnt[cpu].stalls, 1);
		sleep_us(60 + rnd() % 400);
	}
}

#ifndef TD_MODEL_NO_SIGNALS
static void on_signal(int sig)
{
	int err = errno;

	(void)sig;
	if (tl_cpu >= 0)
		produce_one((uint32_t)tl_cpu);
	errno = err;
}

/* Signals producers at random moments. */
static void *noise_main(void *arg)
{
	(void)arg;
	tl_rand = 0x1234567ULL;
	while (!__atomic_load_n(&M.stop_noise, __ATOMIC_RELAXED)) {
		pthread_kill(M.tid[rnd() % M.cfg->ncpu], SIGUSR1);
		M.sigs++;
		sleep_us(20 + rnd() % 80);
	}
	return NULL;
}
#endif

/* A CPU: bursts of records (up to two rings' worth; mostly cut short by a
 * full ring), then a pause. */
static void *cpu_main(void *arg)
{
	uint32_t cpu = (uint32_t)(uintptr_t)arg;

	tl_cpu = (int)cpu;
	tl_rand = 0x9e3779b97f4a7c15ULL * (cpu + 1);
	while (!__atomic_load_n(&M.stop, __ATOMIC_RELAXED)) {
		uint32_t burst = 1 + rnd() % (2 * M.cfg->nslots);
		bool full = false;

		for (uint32_t i = 0; i < burst && !full; i++)
			full = !produce_one(cpu) && rnd() % 4;
		/* Longer after a full ring: leave the reader the CPU time. */
		sleep_us(rnd() % 200 + (full ? 100 : 0));
	}
	return NULL;
}

static void failf(const char *fmt, ...)
{
	va_list ap;
	size_t len;

	if (M.failed)
		return;
	M.failed = true;
	va_start(ap, fmt);
	vsnprintf(M.fail, sizeof(M.fail), fmt, ap);
	va_end(ap);
	len = strlen(M.fail);
	len += (size_t)snprintf(M.fail + len, sizeof(M.fail) - len,
				"\n  horizon %llu, last handed on %llu, last passed horizon %llu",
				(unsigned long long)M.v.horizon, (unsigned long long)M.last_ts,
				(unsigned long long)M.passed);
	for (uint64_t i = M.nhist > HISTORY ? M.nhist - HISTORY : 0; i < M.nhist && len < FAIL_LEN;
	     i++) {
		const struct seen_rec *h = &M.hist[i % HISTORY];

		len += (size_t)snprintf(M.fail + len, sizeof(M.fail) - len,
					"\n  #%llu cpu %u pos %llu depth %u ts %llu until %llu",
					(unsigned long long)i, h->cpu, (unsigned long long)h->pos,
					h->depth, (unsigned long long)h->ts,
					(unsigned long long)h->until);
	}
	__atomic_store_n(&M.stop, 1, __ATOMIC_RELAXED);
}

static void cpu_state(uint32_t c, char *buf, size_t len)
{
	snprintf(buf, len, "cpu %u: head %llu tail %llu next %llu ready %llu", c,
		 (unsigned long long)__atomic_load_n(&M.r.cpu[c].head, __ATOMIC_RELAXED),
		 (unsigned long long)M.r.cpu[c].tail, (unsigned long long)M.v.next[c],
		 (unsigned long long)M.v.ready[c]);
}

/* Has CPU c's attempt id been handed on before? Marks it. */
static bool id_seen(uint32_t c, uint64_t id)
{
	size_t byte = (size_t)(id >> 3);

	if (byte >= M.idcap[c]) {
		size_t cap = M.idcap[c] ? M.idcap[c] : 4096;
		uint8_t *p;

		while (cap <= byte)
			cap *= 2;
		p = realloc(M.idseen[c], cap);
		if (!p)
			return false; /* checked by the count at the end */
		memset(p + M.idcap[c], 0, cap - M.idcap[c]);
		M.idseen[c] = p;
		M.idcap[c] = cap;
	}
	if (M.idseen[c][byte] & (1u << (id & 7)))
		return true;
	M.idseen[c][byte] |= (uint8_t)(1u << (id & 7));
	return false;
}

/* What the tracer's deliver would get: one record, checked. */
static void check(const struct td_event *e, uint64_t until)
{
	const struct td_slot *s = (const void *)((const uint8_t *)e - offsetof(struct td_slot, ev));
	size_t n = M.r.mask + 1U, idx = (size_t)(s - M.r.slot);
	uint32_t c = e->netns;
	uint64_t pos = e->skaddr, id = e->cookie;
	struct seen_rec *h = &M.hist[M.nhist++ % HISTORY];
	char st[160];

	*h = (struct seen_rec){c, e->pid, pos, e->ts_ns, until, id};
	if (c >= M.cfg->ncpu || idx != c * n + (pos & (n - 1)) || id >> 40 != c) {
		failf(
		    "record in slot %zu says cpu %u pos %llu id %llx: not the slot of its position",
		    idx, c, (unsigned long long)pos, (unsigned long long)id);
		return;
	}
	cpu_state(c, st, sizeof(st));
	if (pos != M.expect[c]) {
		failf("%s: handed on position %llu, expected %llu (%s)", st,
		      (unsigned long long)pos, (unsigned long long)M.expect[c],
		      pos < M.expect[c] ? "again or a stale slot" : "positions passed over");
		return;
	}
	if (__atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) != pos + 1) {
		failf("%s: position %llu handed on while its seq reads %llu", st,
		      (unsigned long long)pos, (unsigned long long)s->seq);
		return;
	}
	if (e->ts_ns < M.last_ts) {
		failf("%s: position %llu stamped %llu handed on after a record stamped %llu "
		      "(%llu ns earlier)",
		      st, (unsigned long long)pos, (unsigned long long)e->ts_ns,
		      (unsigned long long)M.last_ts, (unsigned long long)(M.last_ts - e->ts_ns));
		return;
	}
	if (e->ts_ns <= M.passed) {
		failf("%s: position %llu stamped %llu found after the horizon %llu was passed", st,
		      (unsigned long long)pos, (unsigned long long)e->ts_ns,
		      (unsigned long long)M.passed);
		return;
	}
	if (e->ts_ns > until) {
		failf("%s: position %llu stamped %llu handed on beyond the bound %llu", st,
		      (unsigned long long)pos, (unsigned long long)e->ts_ns,
		      (unsigned long long)until);
		return;
	}
	if (id_seen(c, id & ((1ULL << 40) - 1))) {
		failf("%s: record %llx handed on twice", st, (unsigned long long)id);
		return;
	}
	M.expect[c]++;
	M.delivered[c]++;
	M.last_ts = e->ts_ns;
}

/* The tracer's slots_consume(): scan, then pop and release a batch at a time. */
static void consume(bool all)
{
	const struct td_event *out[BATCH];
	uint64_t before = M.v.horizon, until;
	size_t n;

	slots__scan(&M.v, model_now(), SPIN_NS, model_now);
	M.scans++;
	if (M.v.horizon == before)
		M.unsettled++;
	until = all ? UINT64_MAX : M.v.horizon;
	while ((n = slots__pop(&M.v, until, out, 1 + rnd() % BATCH)) > 0) {
		for (size_t i = 0; i < n && !M.failed; i++)
			check(out[i], until);
		slots__release(&M.v);
		if (M.failed)
			return;
	}
	if (!all)
		M.passed = until;
}

static unsigned run_ms(const struct model_cfg *cfg)
{
	const char *s = getenv("TD_MODEL_MS");

	return s && atoi(s) > 0 ? (unsigned)atoi(s) : cfg->ms;
}

/* Has the run shown every case it is there for? */
static bool covered(void)
{
	uint64_t nested = 0, moved = 0, stalls = 0, refused = 0;

	for (uint32_t c = 0; c < M.cfg->ncpu; c++) {
		if (get(&M.cnt[c].produced) < 4ULL * (M.r.mask + 1))
			return false; /* not yet round its ring a few times */
		nested += get(&M.cnt[c].nested);
		moved += get(&M.cnt[c].moved);
		stalls += get(&M.cnt[c].stalls);
		refused += get(&M.cnt[c].refused);
	}
	return nested && moved && stalls && M.unsettled && (!M.cfg->full || refused);
}

static void run_model(void **state)
{
	const struct model_cfg *cfg = *state;
	uint32_t ncpu = cfg->ncpu, n = cfg->nslots;
	uint64_t t0, least, most, att = 0, prod = 0, ref = 0, nest = 0, mov = 0, stl = 0;
	bool done = false;

	memset(&M, 0, sizeof(M));
	M.cfg = cfg;
	M.r.mask = n - 1;
	M.r.wake = n / 4 ? n / 4 : 1;
	M.r.hook = hook;
	M.r.slot = aligned_alloc(64, (size_t)ncpu * n * sizeof(struct td_slot));
	M.r.cpu = aligned_alloc(64, (size_t)ncpu * sizeof(struct td_slot_cpu));
	M.cnt = aligned_alloc(64, ncpu * sizeof(*M.cnt));
	M.tid = calloc(2 * (size_t)ncpu, sizeof(*M.tid));
	M.expect = calloc(ncpu, sizeof(uint64_t));
	M.delivered = calloc(ncpu, sizeof(uint64_t));
	M.idseen = calloc(ncpu, sizeof(*M.idseen));
	M.idcap = calloc(ncpu, sizeof(*M.idcap));
	M.v.next = calloc(ncpu, sizeof(uint64_t));
	M.v.ready = calloc(ncpu, sizeof(uint64_t));
	M.v.heap = calloc(ncpu, sizeof(struct merge_head));
	assert_non_null(M.r.slot);
	assert_non_null(M.r.cpu);
	assert_non_null(M.cnt);
	assert_true(M.tid && M.expect && M.delivered && M.idseen && M.idcap);
	assert_true(M.v.next && M.v.ready && M.v.heap);
	memset(M.r.slot, 0, (size_t)ncpu * n * sizeof(struct td_slot));
	memset(M.r.cpu, 0, (size_t)ncpu * sizeof(struct td_slot_cpu));
	memset(M.cnt, 0, ncpu * sizeof(*M.cnt));
	M.v.slot = M.r.slot;
	M.v.cpu = M.r.cpu;
	M.v.ncpu = ncpu;
	M.v.n = n;
	tl_rand = 0xc0ffeeULL + ncpu;

#ifndef TD_MODEL_NO_SIGNALS
	struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};

	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
#endif
	for (uint32_t c = 0; c < ncpu; c++)
		assert_int_equal(pthread_create(&M.tid[c], NULL, cpu_main, (void *)(uintptr_t)c),
				 0);
#if TD_MODEL_MUTANT == 8
	for (uint32_t c = 0; c < ncpu; c++)
		assert_int_equal(
		    pthread_create(&M.tid[ncpu + c], NULL, cpu_main, (void *)(uintptr_t)c), 0);
#endif
#ifndef TD_MODEL_NO_SIGNALS
	if (cfg->signals)
		assert_int_equal(pthread_create(&M.noise, NULL, noise_main, NULL), 0);
#endif

	/* The reader, until the least time has passed and every case was seen;
	 * at most ten times the least. */
	least = run_ms(cfg) * 1000000ULL;
	most = 10 * least;
	t0 = model_now();
	while (!M.failed) {
		uint64_t t = model_now() - t0;

		consume(false);
		if (t >= least && covered()) {
			done = true;
			break;
		}
		if (t >= most)
			break;
		if (cfg->full && rnd() % 4 == 0)
			sleep_us(2000);
		else
			sleep_us(rnd() % (cfg->reader_pause_us + 1));
	}

#ifndef TD_MODEL_NO_SIGNALS
	if (cfg->signals) {
		__atomic_store_n(&M.stop_noise, 1, __ATOMIC_RELAXED);
		pthread_join(M.noise, NULL);
	}
#endif
	__atomic_store_n(&M.stop, 1, __ATOMIC_RELAXED);
	for (uint32_t c = 0; c < ncpu; c++)
		pthread_join(M.tid[c], NULL);
#if TD_MODEL_MUTANT == 8
	for (uint32_t c = 0; c < ncpu; c++)
		pthread_join(M.tid[ncpu + c], NULL);
#endif
#ifndef TD_MODEL_NO_SIGNALS
	signal(SIGUSR1, SIG_IGN);
#endif
	if (M.failed)
		fail_msg("%s: %s", cfg->name, M.fail);

	/* Everything is committed now: the last scan finds it all (the tracer's
	 * slots_consume(t, true) on the way out). */
	consume(true);
	if (M.failed)
		fail_msg("%s: at the end: %s", cfg->name, M.fail);
	assert_int_equal(slots__scan(&M.v, model_now(), SPIN_NS, model_now), 0);
	for (uint32_t c = 0; c < ncpu; c++) {
		const struct cpu_count *k = &M.cnt[c];
		char st[160];

		cpu_state(c, st, sizeof(st));
		if (k->produced + k->refused != k->attempts || M.delivered[c] != k->produced ||
		    M.r.cpu[c].head != k->produced || M.v.next[c] != M.r.cpu[c].head)
			fail_msg(
			    "%s: %s: attempts %llu, produced %llu, refused %llu, handed on %llu",
			    cfg->name, st, (unsigned long long)k->attempts,
			    (unsigned long long)k->produced, (unsigned long long)k->refused,
			    (unsigned long long)M.delivered[c]);
		att += k->attempts;
		prod += k->produced;
		ref += k->refused;
		nest += k->nested;
		mov += k->moved;
		stl += k->stalls;
	}
	if (!done)
		fail_msg("%s: not every case seen in %llu ms: nested %llu, stamps moved %llu, "
			 "stalls %llu, scans %llu (%llu unsettled), refused %llu, least laps %s",
			 cfg->name, (unsigned long long)(most / 1000000), (unsigned long long)nest,
			 (unsigned long long)mov, (unsigned long long)stl,
			 (unsigned long long)M.scans, (unsigned long long)M.unsettled,
			 (unsigned long long)ref, "(need 4 a CPU)");
	printf("# %s: %llu records handed on of %llu attempts (%llu refused), %llu nested, "
	       "%llu stamps moved back, %llu stalls, %llu signals, %llu scans (%llu unsettled)\n",
	       cfg->name, (unsigned long long)prod, (unsigned long long)att,
	       (unsigned long long)ref, (unsigned long long)nest, (unsigned long long)mov,
	       (unsigned long long)stl, (unsigned long long)M.sigs, (unsigned long long)M.scans,
	       (unsigned long long)M.unsettled);

	for (uint32_t c = 0; c < ncpu; c++)
		free(M.idseen[c]);
	free(M.idseen);
	free(M.idcap);
	free(M.v.next);
	free(M.v.ready);
	free(M.v.heap);
	free(M.expect);
	free(M.delivered);
	free(M.tid);
	free(M.cnt);
	free(M.r.cpu);
	free(M.r.slot);
}

#ifndef TD_MODEL_NO_SIGNALS
static const struct model_cfg cfgs[] = {
    {"2 CPUs, 16 slots", 2, 16, 2000, true, 100, false},
    {"8 CPUs, 8 slots", 8, 8, 2000, true, 100, false},
    {"32 CPUs, 64 slots", 32, 64, 2000, true, 300, false},
    {"128 CPUs, 16 slots", 128, 16, 3000, true, 300, false},
    {"4 CPUs, 8 slots, reader behind", 4, 8, 1500, true, 100, true},
};
#else
/* ThreadSanitizer makes each step some ten times slower: fewer CPUs. */
static const struct model_cfg cfgs[] = {
    {"2 CPUs, 16 slots", 2, 16, 2000, false, 100, false},
    {"8 CPUs, 8 slots", 8, 8, 2000, false, 100, false},
    {"32 CPUs, 16 slots", 32, 16, 3000, false, 300, false},
    {"4 CPUs, 8 slots, reader behind", 4, 8, 1500, false, 100, true},
};
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(i) {cfgs[i].name, run_model, NULL, NULL, (void *)&cfgs[i]}
	    T(0), T(1), T(2), T(3),
#ifndef TD_MODEL_NO_SIGNALS
	    T(4),
#endif
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
