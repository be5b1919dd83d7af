// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Loads tcpdwell's BPF programs and pulls records out of the kernel. First
 * stage of the live pipeline: tracer -> conntable -> stats/filters -> output.
 * Choices are made at run time by probing: tp_btf or the classic tracepoint,
 * slot rings, ring buffer or perf buffer, timewait timers and accept tracking
 * when present.
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "clock.h"
#include "cpumerge.h"
#include "tcpdwell.skel.h"
#include "loss.h"
#include "names.h"
#include "tracer.h"

/* Records are taken out of the buffer in batches and handed on with a hint some
 * records ahead (tracer__set_ahead): under a connection storm the table's lookups
 * are cache misses that then overlap instead of coming one per record. */
#define BATCH 64
#define AHEAD 8
/* How far ahead of the record it reads the ring buffer reader prefetches. */
#define RING_AHEAD 2048

/*
 * The perf buffer and the slot rings are one buffer per CPU, read one CPU after
 * the other: their records are merged by time (cpumerge.h) up to a moment every
 * record before which has been read. The perf buffer's is PERF_SETTLE_NS before
 * the read began (a program takes its timestamp and writes its record within
 * microseconds), and its records are copied into queues; the slot rings' is
 * exact (slots__scan), after waiting up to SLOT_SPIN_NS for a record still
 * being written, and their records are handed on where they lie.
 */
#define PERF_SETTLE_NS 10000000ULL
#define SLOT_SPIN_NS 50000ULL

/* The slot rings, mapped. */
struct slot_rings {
	struct slot_view v;
	size_t slot_len, cpu_len; /* mapped bytes */
	uint64_t pos[]; /* v.next, v.ready, then v.heap */
};

/*
 * The BPF ring buffer, read here rather than through libbpf's ring_buffer: the
 * records are handed on where they lie (no copy), and the consumer position is
 * published once per batch instead of once per record, so that the producers'
 * reservations, which read it, do not pull its cache line back for every record.
 * The data area is mapped once (libbpf maps the kernel's double mapping: twice
 * the buffer in RSS); a record that wraps around its end is copied together.
 */
struct ring {
	int epfd;
	unsigned long *consumer_pos; /* page 0, writable */
	const unsigned long *producer_pos; /* page 1, read-only, then the data */
	const uint8_t *data;
	size_t page, size; /* data area: size bytes, a power of two */
	struct td_event wrapped;
};

struct tracer {
	struct tcpdwell_bpf *skel;
	struct ring *rb; /* the records, or with slot rings, only their wakeups */
	struct slot_rings *sr;
	struct perf_buffer *pb;
	tracer_fn fn;
	tracer_fn ahead;
	void *arg;
	int delivered;
	int nbatch;
	struct td_event batch[BATCH]; /* perf buffer: merged records */
	const struct td_event *ptr[BATCH];
	uint64_t perf_lost;
	/* Every record stamped at or before it has been handed on (tracer__until). */
	uint64_t until;
	struct cpumerge merge; /* perf buffer */
	struct tracer_info info;
};

static int verbose_level;

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!verbose_level || (level == LIBBPF_DEBUG && verbose_level < 2))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static bool path_exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

/* Classic tracepoints are attached by id from tracefs; mount it if nobody did. */
static const char *tracefs_events(void)
{
	if (path_exists("/sys/kernel/tracing/events"))
		return "/sys/kernel/tracing/events";
	if (path_exists("/sys/kernel/debug/tracing/events"))
		return "/sys/kernel/debug/tracing/events";
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0 &&
	    path_exists("/sys/kernel/tracing/events"))
		return "/sys/kernel/tracing/events";
	return NULL;
}

static bool tracepoint_exists(const char *cat, const char *name)
{
	const char *ev = tracefs_events();
	char p[256];

	if (!ev)
		return false;
	snprintf(p, sizeof(p), "%s/%s/%s", ev, cat, name);
	return path_exists(p);
}

static bool has_cap(int cap);

/* Hand on t->ptr[0..n), with the hint AHEAD records ahead. */
static void deliver_ptrs(struct tracer *t, int n)
{
	if (t->ahead)
		for (int i = 0; i < n && i < AHEAD; i++)
			t->ahead(t->arg, t->ptr[i]);
	for (int i = 0; i < n; i++) {
		if (t->ahead && i + AHEAD < n)
			t->ahead(t->arg, t->ptr[i + AHEAD]);
		t->fn(t->arg, t->ptr[i]);
	}
	t->delivered += n;
}

static void deliver(struct tracer *t)
{
	int n = t->nbatch;

	t->nbatch = 0;
	for (int i = 0; i < n; i++)
		t->ptr[i] = &t->batch[i];
	deliver_ptrs(t, n);
}

static void ring_free(struct ring *r)
{
	if (!r)
		return;
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->consumer_pos)
		munmap(r->consumer_pos, r->page);
	if (r->producer_pos)
		munmap((void *)r->producer_pos, r->page + r->size);
	free(r);
}

/*
 * batched: the programs submit with BPF_RB_NO_WAKEUP until the buffer is a
 * quarter full. The ring buffer polls readable whenever it holds anything, so
 * a level-triggered wait would return at once under a steady stream, and the
 * reader would spin through small batches (seen: 1,400 polls a second in a
 * storm, each with its own bookkeeping syscalls). Edge-triggered, it sleeps
 * until a forced wakeup or its timeout. Unbatched, every record may wake it,
 * and level-triggered also covers a record committed just after the reader
 * found it busy.
 */
static struct ring *ring_open(int map_fd, size_t size, bool batched)
{
	struct ring *r = calloc(1, sizeof(*r));
	struct epoll_event ev = { .events = EPOLLIN | (batched ? EPOLLET : 0) };
	void *p;

	if (!r)
		return NULL;
	r->epfd = -1;
	r->page = (size_t)sysconf(_SC_PAGESIZE);
	r->size = size;
	p = mmap(NULL, r->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	r->consumer_pos = p;
	p = mmap(NULL, r->page + size, PROT_READ, MAP_SHARED, map_fd, (off_t)r->page);
	if (p == MAP_FAILED)
		goto fail;
	r->producer_pos = p;
	r->data = (const uint8_t *)p + r->page;
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0 || epoll_ctl(r->epfd, EPOLL_CTL_ADD, map_fd, &ev) < 0)
		goto fail;
	return r;
fail:
	ring_free(r);
	return NULL;
}

/*
 * Everything committed so far, in batches. A record still being written (busy
 * bit) ends the pass: the ones after it wait for the next poll. Returns the
 * number of records delivered.
 */
static int ring_consume(struct tracer *t)
{
	struct ring *r = t->rb;
	unsigned long cons = *r->consumer_pos, prod;
	size_t mask = r->size - 1;
	uint64_t start = clock__mono_ns();
	bool busy = false;
	int total = 0;

	while (!busy) {
		int n = 0;

		prod = __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE);
		if (cons == prod)
			break;
		while (cons < prod && n < BATCH) {
			size_t off = cons & mask;
			const uint8_t *next = r->data + ((cons + RING_AHEAD) & mask);
			uint32_t len;

			/* The records were written from the other CPUs' caches: without this
			 * the load of each one's length is where the reader waits (nine
			 * tenths of its time in a storm, measured). Two lines: a record is
			 * 112 bytes in the buffer. */
			__builtin_prefetch(next);
			__builtin_prefetch(next + 64);
			len = __atomic_load_n((const uint32_t *)(r->data + off), __ATOMIC_ACQUIRE);
			uint32_t size = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);

			if (len & BPF_RINGBUF_BUSY_BIT) {
				busy = true;
				break;
			}
			cons += (BPF_RINGBUF_HDR_SZ + size + 7) & ~7UL;
			if ((len & BPF_RINGBUF_DISCARD_BIT) || size < sizeof(struct td_event))
				continue;
			off = (off + BPF_RINGBUF_HDR_SZ) & mask;
			if (off + sizeof(struct td_event) <= r->size) {
				t->ptr[n++] = (const struct td_event *)(r->data + off);
			} else {
				/* A batch spans at most the buffer's size (prod - cons),
				 * so at most one of its records wraps: one copy is enough. */
				size_t head = r->size - off;

				memcpy(&r->wrapped, r->data + off, head);
				memcpy((uint8_t *)&r->wrapped + head, r->data,
				       sizeof(struct td_event) - head);
				t->ptr[n++] = &r->wrapped;
			}
		}
		deliver_ptrs(t, n);
		total += n;
		__atomic_store_n(r->consumer_pos, cons, __ATOMIC_RELEASE);
	}
	/* Records are stamped after their place is reserved: with nothing left
	 * half-written, every one stamped before start is behind us. */
	if (!busy && !t->sr && start > t->until)
		t->until = start;
	return total;
}

void tracer__set_ahead(struct tracer *t, tracer_fn ahead)
{
	t->ahead = ahead;
}

static void on_perf(void *ctx, int cpu, void *data, __u32 size)
{
	struct tracer *t = ctx;

	if (size >= sizeof(struct td_event))
		cpumerge__push(&t->merge, cpu, data);
}

static void on_merged(void *arg, const struct td_event *e)
{
	struct tracer *t = arg;

	t->batch[t->nbatch++] = *e;
	if (t->nbatch == BATCH)
		deliver(t);
}

/* Hand on the merged records with ts <= until, oldest first. */
static void merge_cpus(struct tracer *t, uint64_t until)
{
	if (t->merge.ncpu)
		cpumerge__pop(&t->merge, until, on_merged, t);
}

static void slots_free(struct slot_rings *r)
{
	if (!r)
		return;
	if (r->v.slot)
		munmap((void *)r->v.slot, r->slot_len);
	if (r->v.cpu)
		munmap(r->v.cpu, r->cpu_len);
	free(r);
}

static struct slot_rings *slots_open(struct tcpdwell_bpf *skel, size_t ncpu, size_t n)
{
	struct slot_rings *r = calloc(1, sizeof(*r) + 2 * ncpu * sizeof(r->pos[0]) +
					     ncpu * sizeof(struct merge_head));
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	if (!r)
		return NULL;
	r->v.ncpu = ncpu;
	r->v.n = n;
	r->v.next = r->pos;
	r->v.ready = r->pos + ncpu;
	r->v.heap = (struct merge_head *)(r->pos + 2 * ncpu);
	r->slot_len = (ncpu * n * sizeof(struct td_slot) + page - 1) & ~(page - 1);
	r->cpu_len = (ncpu * sizeof(struct td_slot_cpu) + page - 1) & ~(page - 1);
	p = mmap(NULL, r->slot_len, PROT_READ, MAP_SHARED, bpf_map__fd(skel->maps.slots), 0);
	if (p == MAP_FAILED)
		goto fail;
	r->v.slot = p;
	p = mmap(NULL, r->cpu_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		 bpf_map__fd(skel->maps.slot_cpus), 0);
	if (p == MAP_FAILED)
		goto fail;
	r->v.cpu = p;
	return r;
fail:
	slots_free(r);
	return NULL;
}

/* Hand on what the slot rings hold up to until (the horizon, or everything at
 * the end), a batch at a time, each batch's slots given back once it is done. */
static void slots_consume(struct tracer *t, bool all)
{
	struct slot_view *v = &t->sr->v;
	size_t n;

	slots__scan(v, clock__mono_ns(), SLOT_SPIN_NS, clock__mono_ns);
	while ((n = slots__pop(v, all ? UINT64_MAX : v->horizon, t->ptr, BATCH)) > 0) {
		deliver_ptrs(t, (int)n);
		slots__release(v);
	}
	if (v->horizon > t->until)
		t->until = v->horizon;
}

static void on_perf_lost(void *ctx, int cpu, __u64 n)
{
	struct tracer *t = ctx;

	(void)cpu;
	t->perf_lost += n;
}

static void fill_ports(struct tcpdwell_bpf *skel, int which, const struct td_portset *ps)
{
	__u32 key = which;

	bpf_map__update_elem(skel->maps.port_bits, &key, sizeof(key), ps->bits, sizeof(ps->bits),
			     BPF_ANY);
}

static void explain_load_error(int err, const struct tracer_info *info, char *msg, size_t len)
{
	/* CAP_SYS_ADMIN covers both on kernels before 5.8 and still works after. */
	bool admin = has_cap(CAP_SYS_ADMIN);
	bool bpf = has_cap(CAP_BPF) || admin, perfmon = has_cap(CAP_PERFMON) || admin;

	if ((err == -EPERM || err == -EACCES) && (!bpf || !perfmon))
		snprintf(msg, len,
			 "failed to load BPF programs: %s: missing capabilities:%s%s (run as root, "
			 "or grant CAP_BPF and CAP_PERFMON, plus CAP_DAC_READ_SEARCH for accept "
			 "owners)",
			 strerror(-err), bpf ? "" : " CAP_BPF", perfmon ? "" : " CAP_PERFMON");
	else if (err == -EPERM || err == -EACCES)
		snprintf(msg, len,
			 "failed to load BPF programs: %s (kernels before 5.11 also need "
			 "CAP_SYS_RESOURCE or a higher RLIMIT_MEMLOCK; lockdown may forbid BPF; "
			 "run with -v for details)",
			 strerror(-err));
	else
		snprintf(msg, len,
			 "failed to load BPF programs (%s, %s buffer): %s (run with -v for the "
			 "verifier log; `tcpdwell check` shows what this kernel supports)",
			 td_backend_name(info->backend), td_buffer_name(info->buffer), strerror(-err));
}

/*
 * Slots per CPU: --ringbuf-size shared by the rings, as given (at least
 * SLOTS_MIN). The default size is shared too, but no ring gets fewer than
 * SLOTS_DEFAULT_MIN: on a host of many CPUs a burst on one of them (a mass
 * close from one process, a softirq storm steered to one queue) fills only
 * that CPU's ring, and 8 MB over 128 CPUs would leave each 512 records. Rings
 * of 1,024 records (115 KB) are 8 MB up to 64 CPUs, and 29 MB for 256.
 */
#define SLOTS_MIN	  16
#define SLOTS_DEFAULT_MIN 1024
static size_t slots_per_cpu(const struct td_options *o, int ncpu)
{
	return slots__per_cpu(o->ringbuf_bytes, ncpu > 0 ? (size_t)ncpu : 1,
			      o->ringbuf_given ? SLOTS_MIN : SLOTS_DEFAULT_MIN);
}

static struct tcpdwell_bpf *try_load(const struct td_options *o, uint64_t cgroup_id,
				     int cgroup_level, struct tracer_info *info, int *errp)
{
	struct tcpdwell_bpf *skel = tcpdwell_bpf__open();
	bool btf = info->backend == TD_BACKEND_TP_BTF;
	bool perf = info->buffer == TD_BUFFER_PERF;
	bool slots = info->buffer == TD_BUFFER_SLOTS;
	int err;

	if (!skel) {
		*errp = -errno;
		return NULL;
	}
	/* The fallback from tp_btf cannot be tried on a kernel where tp_btf loads:
	 * TCPDWELL_TEST_NO_TP_BTF=1 makes every tp_btf load fail as a kernel
	 * without it would (tests/integration/kernel_paths.sh). */
	if (btf && getenv("TCPDWELL_TEST_NO_TP_BTF")) {
		tcpdwell_bpf__destroy(skel);
		*errp = -EINVAL;
		return NULL;
	}
	skel->rodata->filter_family = o->family;
	skel->rodata->filter_lport = o->lports.any;
	skel->rodata->filter_rport = o->rports.any;
	skel->rodata->filter_netns = o->netns;
	skel->rodata->filter_cgroup = cgroup_id;
	skel->rodata->filter_cgroup_level = cgroup_level;
	skel->rodata->use_perfbuf = perf;
	skel->rodata->conn_info = o->conn_info;
	/* Wake user space early only when a quarter of the buffer is waiting;
	 * otherwise it collects every latency_ns (see main loop). */
	skel->rodata->wakeup_bytes = o->latency_ns ? o->ringbuf_bytes / 4 : 0;
	if (slots) {
		int ncpu = libbpf_num_possible_cpus();
		size_t n = slots_per_cpu(o, ncpu);

		/* Early wakeups as for the ring buffer: a quarter full (of one
		 * CPU's ring), or every record when there is no latency. */
		skel->rodata->slot_mask = (__u32)(n - 1);
		skel->rodata->slot_wake = o->latency_ns ? (__u32)(n / 4) : 1;
		bpf_map__set_max_entries(skel->maps.slots, (__u32)(ncpu * n));
		bpf_map__set_max_entries(skel->maps.slot_cpus, (__u32)ncpu);
	}
	if (perf || slots)
		bpf_map__set_max_entries(skel->maps.events, (__u32)sysconf(_SC_PAGESIZE));
	else
		bpf_map__set_max_entries(skel->maps.events, o->ringbuf_bytes);

	bpf_program__set_autoload(skel->progs.td_state_btf, btf);
	bpf_program__set_autoload(skel->progs.td_state_nested, btf);
	bpf_program__set_autoload(skel->progs.td_state_tp, !btf);
	bpf_program__set_autoload(skel->progs.td_state_rawtp, !btf);
	/* Attached by hand after the rest (see attach_catcher). */
	bpf_program__set_autoattach(skel->progs.td_state_nested, false);
	bpf_program__set_autoattach(skel->progs.td_state_rawtp, false);
	bpf_program__set_autoload(skel->progs.td_tw_start, btf && info->timewait);
	bpf_program__set_autoload(skel->progs.td_tw_cancel, btf && info->timewait);
	bpf_program__set_autoload(skel->progs.td_tw_start_raw, !btf && info->timewait);
	bpf_program__set_autoload(skel->progs.td_tw_cancel_raw, !btf && info->timewait);
	bpf_program__set_autoload(skel->progs.td_rst_recv, btf && info->resets);
	bpf_program__set_autoload(skel->progs.td_rst_send, btf && info->resets && !info->rst_reason);
	bpf_program__set_autoload(skel->progs.td_rst_send_reason,
				  btf && info->resets && info->rst_reason);
	bpf_program__set_autoload(skel->progs.td_accept4, info->accept);
	bpf_program__set_autoload(skel->progs.td_accept, info->accept);
	bpf_program__set_autoload(skel->progs.td_probe_btf, false);
	bpf_program__set_autoload(skel->progs.td_probe_cookie, false);

	err = tcpdwell_bpf__load(skel);
	if (err) {
		*errp = err;
		tcpdwell_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

/*
 * The state program's catcher must run after it for each state change (it
 * records what the state program did not claim first): a tracepoint calls its
 * probes in the order they were attached, so it is attached last. The skeleton
 * owns the link.
 */
static int attach_catcher(struct tcpdwell_bpf *skel)
{
	struct bpf_program *p = bpf_program__autoload(skel->progs.td_state_nested) ?
					skel->progs.td_state_nested :
					skel->progs.td_state_rawtp;
	struct bpf_link **link = p == skel->progs.td_state_nested ? &skel->links.td_state_nested :
								    &skel->links.td_state_rawtp;

	*link = bpf_program__attach(p);
	return *link ? 0 : -errno;
}

/* Is there a BTF-typed tracepoint `name` (its btf_trace_<name> typedef)? */
static bool btf_tracepoint(const struct btf *vmlinux, const char *name)
{
	char t[128];

	snprintf(t, sizeof(t), "btf_trace_%s", name);
	return vmlinux && btf__find_by_name_kind(vmlinux, t, BTF_KIND_TYPEDEF) > 0;
}

/*
 * Are tcp:tcp_send_reset and tcp:tcp_receive_reset there as BTF-typed tracepoints? *reason:
 * tcp_send_reset has the reset's reason (6.10+, its third argument), whose names (enum
 * sk_rst_reason, less the SK_RST_REASON_ prefix) then go into rst_reasons.
 */
static bool reset_tracepoints(const struct btf *vmlinux, bool *reason)
{
	const struct btf_type *t;
	bool found;
	int id;

	*reason = false;
	if (!vmlinux)
		return false;
	id = btf__find_by_name_kind(vmlinux, "btf_trace_tcp_send_reset", BTF_KIND_TYPEDEF);
	found = id > 0 && btf_tracepoint(vmlinux, "tcp_receive_reset");
	/* typedef -> pointer -> function prototype (void *, sk, skb[, reason]). */
	t = found ? btf__type_by_id(vmlinux, id) : NULL;
	t = t ? btf__type_by_id(vmlinux, t->type) : NULL;
	t = t && btf_is_ptr(t) ? btf__type_by_id(vmlinux, t->type) : NULL;
	if (t && btf_is_func_proto(t) && btf_vlen(t) == 4) {
		int eid = btf__find_by_name_kind(vmlinux, "sk_rst_reason", BTF_KIND_ENUM);
		const struct btf_type *en = eid > 0 ? btf__type_by_id(vmlinux, eid) : NULL;
		static const char prefix[] = "SK_RST_REASON_";

		*reason = true;
		rst__clear();
		for (int i = 0; en && i < btf_vlen(en); i++) {
			const struct btf_enum *v = btf_enum(en) + i;
			const char *name = btf__name_by_offset(vmlinux, v->name_off);

			if (!name || v->val < 0)
				continue;
			if (!strncmp(name, prefix, sizeof(prefix) - 1))
				name += sizeof(prefix) - 1;
			rst__set((uint32_t)v->val, name, strlen(name));
		}
	}
	return found;
}

struct tracer *tracer__open(const struct td_options *o, uint64_t cgroup_id, int cgroup_level,
			    tracer_fn fn, void *arg, char *err, size_t errlen)
{
	bool have_btf = path_exists("/sys/kernel/btf/vmlinux");
	struct tracer *t = calloc(1, sizeof(*t));
	enum td_buffer buffer;
	bool accept, resets = false, rst_reason = false;
	int e = 0;

	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	verbose_level = o->verbose;
	libbpf_set_print(print_libbpf);
	t->fn = fn;
	t->arg = arg;

	if (!have_btf) {
		snprintf(err, errlen,
			 "this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): tcpdwell "
			 "needs CONFIG_DEBUG_INFO_BTF=y (most distribution kernels since 5.8 have it)");
		free(t);
		return NULL;
	}
	if (o->buffer != TD_BUFFER_AUTO)
		buffer = o->buffer;
	else
		buffer = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) > 0 ? TD_BUFFER_SLOTS
										      : TD_BUFFER_PERF;
	accept = o->owners && tracepoint_exists("syscalls", "sys_exit_accept4") &&
		 tracepoint_exists("syscalls", "sys_exit_accept");
	if (o->conn_info) {
		struct btf *vmlinux = btf__load_vmlinux_btf();

		resets = reset_tracepoints(libbpf_get_error(vmlinux) ? NULL : vmlinux, &rst_reason);
		btf__free(libbpf_get_error(vmlinux) ? NULL : vmlinux);
	}

	/* Try the best path first; on automatic choice, step down on failure. */
	static const enum td_backend backends[] = { TD_BACKEND_TP_BTF, TD_BACKEND_TRACEPOINT };
	for (int b = 0; b < 2; b++) {
		if (o->backend != TD_BACKEND_AUTO && o->backend != backends[b])
			continue;
		/* Each backend starts from the full choice: what the previous one
		 * gave up while failing (accept owners, slot rings) may work here. */
		t->info.buffer = buffer;
		t->info.accept = accept;
		t->info.resets = resets && b == 0;
		t->info.rst_reason = rst_reason;
		t->info.backend = backends[b];
		t->info.cookie = b == 0;
		/* The fallback path attaches the timer programs as raw tracepoints, by
		 * name when attaching, not at load: the events listed in tracefs
		 * (which the classic state program needs anyway) say they exist. */
		t->info.timewait = !o->no_timewait &&
				   (b == 0 || (tracepoint_exists("timer", "timer_start") &&
					       tracepoint_exists("timer", "timer_cancel")));
		t->skel = try_load(o, cgroup_id, cgroup_level, &t->info, &e);
		if (!t->skel && o->buffer == TD_BUFFER_AUTO && t->info.buffer == TD_BUFFER_SLOTS) {
			/* Slot rings need BPF atomics (5.12+) and mmapable arrays. */
			t->info.buffer = TD_BUFFER_RING;
			t->skel = try_load(o, cgroup_id, cgroup_level, &t->info, &e);
		}
		/* Each of these may be what this kernel refuses, alone or with the
		 * other: without the reset programs a connection's end says no more
		 * than its states do; without the timer tracepoints (or
		 * tw_timer_handler) TIME_WAIT shows as the kernel reports it
		 * (-> CLOSE). The one given up first is taken back if giving up
		 * the other is enough. */
		if (!t->skel && t->info.resets) {
			t->info.resets = false;
			t->skel = try_load(o, cgroup_id, cgroup_level, &t->info, &e);
			t->info.resets = !t->skel;
		}
		if (!t->skel && t->info.timewait) {
			t->info.timewait = false;
			t->skel = try_load(o, cgroup_id, cgroup_level, &t->info, &e);
			if (!t->skel && t->info.resets) {
				t->info.resets = false;
				t->skel = try_load(o, cgroup_id, cgroup_level, &t->info, &e);
			}
		}
		if (!t->skel && t->info.accept) {
			/* Without accept tracking, accepted sockets keep the listener's owner. */
			t->info.accept = false;
			t->skel = try_load(o, cgroup_id, cgroup_level, &t->info, &e);
		}
		if (t->skel || e == -EPERM || e == -EACCES)
			break;
	}
	if (!t->skel) {
		if (t->info.backend == TD_BACKEND_AUTO)
			t->info.backend = o->backend != TD_BACKEND_AUTO ? o->backend : TD_BACKEND_TP_BTF;
		explain_load_error(e, &t->info, err, errlen);
		free(t);
		return NULL;
	}
	fill_ports(t->skel, 0, &o->lports);
	fill_ports(t->skel, 1, &o->rports);
	/* No record is stamped before the programs are attached. */
	t->until = clock__mono_ns();

	e = tcpdwell_bpf__attach(t->skel);
	if (!e)
		e = attach_catcher(t->skel);
	if (e) {
		snprintf(err, errlen, "failed to attach BPF programs: %s%s", strerror(-e),
			 e == -ENOENT ? " (is tracefs mounted at /sys/kernel/tracing?)" : "");
		goto fail;
	}
	if (t->info.buffer != TD_BUFFER_PERF) {
		t->rb = ring_open(bpf_map__fd(t->skel->maps.events),
				  bpf_map__max_entries(t->skel->maps.events), o->latency_ns != 0);
		if (!t->rb) {
			snprintf(err, errlen, "failed to set up the ring buffer: %s",
				 strerror(errno));
			goto fail;
		}
		t->info.buffer_bytes = bpf_map__max_entries(t->skel->maps.events);
	}
	if (t->info.buffer == TD_BUFFER_SLOTS) {
		int ncpu = libbpf_num_possible_cpus();

		t->info.ncpu = ncpu;
		t->info.slot_records = slots_per_cpu(o, ncpu);
		t->info.buffer_bytes = (uint64_t)ncpu * t->info.slot_records * sizeof(struct td_slot);
		t->sr = ncpu > 0 ? slots_open(t->skel, (size_t)ncpu, t->info.slot_records) : NULL;
		if (!t->sr) {
			snprintf(err, errlen, "failed to set up the slot rings: %s", strerror(errno));
			goto fail;
		}
	} else if (t->info.buffer == TD_BUFFER_PERF) {
		/* Half of --ringbuf-size per CPU, in pages (a power of two, as perf wants). */
		size_t pages = (o->ringbuf_bytes / (size_t)sysconf(_SC_PAGESIZE)) / 2 ?: 8;

		if (cpumerge__init(&t->merge, libbpf_num_possible_cpus())) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		t->info.ncpu = t->merge.ncpu;
		t->info.buffer_bytes = (uint64_t)t->merge.ncpu * pages * (size_t)sysconf(_SC_PAGESIZE);
		t->pb = perf_buffer__new(bpf_map__fd(t->skel->maps.perf_events), pages, on_perf,
					 on_perf_lost, t, NULL);
		if (!t->pb) {
			snprintf(err, errlen, "failed to set up the perf buffer: %s",
				 strerror(errno));
			goto fail;
		}
	}
	return t;
fail:
	tracer__close(t);
	return NULL;
}

int tracer__poll(struct tracer *t, int timeout_ms)
{
	int err;

	t->delivered = 0;
	if (t->rb) {
		struct epoll_event ev;

		/* Records submitted with BPF_RB_NO_WAKEUP do not wake epoll: collect
		 * whatever is there once the wait is over. With slot rings the ring
		 * buffer holds only wakeups, which ring_consume passes over. */
		err = epoll_wait(t->rb->epfd, &ev, 1, timeout_ms) < 0 ? -errno : 0;
		if (err >= 0 || err == -EINTR)
			ring_consume(t);
		if (t->sr && (err >= 0 || err == -EINTR))
			slots_consume(t, false);
	} else {
		uint64_t now;

		err = perf_buffer__poll(t->pb, timeout_ms);
		now = clock__mono_ns();
		if (err >= 0)
			err = perf_buffer__consume(t->pb);
		merge_cpus(t, now - PERF_SETTLE_NS);
		if (now - PERF_SETTLE_NS > t->until)
			t->until = now - PERF_SETTLE_NS;
	}
	deliver(t);
	if (err < 0)
		return err;
	return t->delivered;
}

uint64_t tracer__until(const struct tracer *t)
{
	return t->until;
}

/* A per-CPU counter's total, or LOSS_UNKNOWN when the map cannot be read (after
 * the capability drop, kernels that keep bpf() from unprivileged callers refuse
 * the lookup). */
static uint64_t sum_counter(struct tracer *t, __u32 idx)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t sum = 0;

	if (ncpu <= 0)
		return LOSS_UNKNOWN;
	__u64 vals[ncpu];

	if (bpf_map__lookup_elem(t->skel->maps.counters, &idx, sizeof(idx), vals,
				 sizeof(vals), 0))
		return LOSS_UNKNOWN;
	for (int i = 0; i < ncpu; i++)
		sum += vals[i];
	return sum;
}

/* recursion_misses ends struct bpf_prog_info's fields this reads (5.12+). */
#define INFO_LEN_MISSES                                            \
	(__u32)(offsetof(struct bpf_prog_info, recursion_misses) + \
		sizeof(((struct bpf_prog_info *)0)->recursion_misses))

void tracer__lost(struct tracer *t, uint64_t *ringbuf, uint64_t *recursion)
{
	struct bpf_program *p;
	uint64_t rec = 0, recovered;

	bpf_object__for_each_program(p, t->skel->obj)
	{
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(p);

		/* A catcher's own misses happen only while the state program is
		 * free to run, so they lose nothing. */
		if (fd < 0 || p == t->skel->progs.td_state_nested ||
		    p == t->skel->progs.td_state_rawtp)
			continue;
		memset(&info, 0, sizeof(info));
		/* A query that fails, or a kernel whose info ends before the
		 * field (it does not count misses), leaves the count unknown. */
		if (bpf_obj_get_info_by_fd(fd, &info, &len) || len < INFO_LEN_MISSES)
			rec = LOSS_UNKNOWN;
		else
			rec = loss__add(rec, info.recursion_misses);
	}
	*ringbuf = loss__add(sum_counter(t, TD_CNT_RB_FAIL), loss__add(t->perf_lost, t->merge.lost));
	/* Misses of the state program that its catcher recorded are not lost. */
	recovered = sum_counter(t, TD_CNT_RECOVERED);
	if (rec == LOSS_UNKNOWN || recovered == LOSS_UNKNOWN)
		*recursion = LOSS_UNKNOWN;
	else
		*recursion = rec > recovered ? rec - recovered : 0;
}

/*
 * What tracer__lost() reads, tried once with the caller's credentials: a lookup in
 * the counters map and the first program's info. Kernels before 5.19 with
 * kernel.unprivileged_bpf_disabled refuse every bpf() command without CAP_BPF
 * (kernel/bpf/syscall.c, __sys_bpf), even on descriptors the caller holds.
 */
int tracer__lost_readable(struct tracer *t)
{
	int ncpu = libbpf_num_possible_cpus();
	struct bpf_program *p;
	__u32 idx = TD_CNT_RB_FAIL;
	int err;

	if (ncpu <= 0)
		return ncpu ?: -EINVAL;
	__u64 vals[ncpu];

	/* libbpf returns a negative errno (and sets errno). */
	err =
	    bpf_map__lookup_elem(t->skel->maps.counters, &idx, sizeof(idx), vals, sizeof(vals), 0);
	if (err)
		return err < 0 ? err : -EIO;
	bpf_object__for_each_program (p, t->skel->obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(p);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		err = bpf_obj_get_info_by_fd(fd, &info, &len);
		return err < 0 ? err : err ? -EIO : 0;
	}
	return 0;
}

const struct tracer_info *tracer__info(const struct tracer *t)
{
	return &t->info;
}

void tracer__drain(struct tracer *t)
{
	t->delivered = 0;
	if (t->sr)
		slots_consume(t, true);
	merge_cpus(t, UINT64_MAX);
	deliver(t);
	t->until = clock__mono_ns();
}

void tracer__close(struct tracer *t)
{
	if (!t)
		return;
	ring_free(t->rb);
	slots_free(t->sr);
	perf_buffer__free(t->pb);
	cpumerge__free(&t->merge);
	tcpdwell_bpf__destroy(t->skel);
	free(t);
}

static bool has_cap(int cap)
{
	char line[256];
	bool yes = false;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long eff;

		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			yes = (eff >> cap) & 1;
	}
	if (f)
		fclose(f);
	return yes;
}

static bool kallsyms_has(const char *name)
{
	char line[512], sym[256];
	bool found = false;
	FILE *f = fopen("/proc/kallsyms", "r");

	while (!found && f && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %*s %255s", sym) == 1 && !strcmp(sym, name);
	if (f)
		fclose(f);
	return found;
}

/* Does program `which` of the object load on its own (not attached)? The buffers are
 * not made: the probe programs use none, and a kernel may lack one kind. libbpf binds
 * .rodata to every program, so the small maps are made. */
static bool probe_load(struct bpf_program *(*which)(struct tcpdwell_bpf *))
{
	struct tcpdwell_bpf *skel = tcpdwell_bpf__open();
	struct bpf_program *prog;
	struct bpf_map *map;
	bool ok;

	if (!skel)
		return false;
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, prog == which(skel));
	bpf_object__for_each_map(map, skel->obj)
		if (bpf_map__type(map) == BPF_MAP_TYPE_RINGBUF ||
		    bpf_map__type(map) == BPF_MAP_TYPE_PERF_EVENT_ARRAY)
			bpf_map__set_autocreate(map, false);
	ok = tcpdwell_bpf__load(skel) == 0;
	tcpdwell_bpf__destroy(skel);
	return ok;
}

static struct bpf_program *prog_btf(struct tcpdwell_bpf *s)
{
	return s->progs.td_probe_btf;
}

static struct bpf_program *prog_cookie(struct tcpdwell_bpf *s)
{
	return s->progs.td_probe_cookie;
}

void tracer__probe(struct tracer_probe *p)
{
	struct btf *vmlinux;

	struct utsname u;

	memset(p, 0, sizeof(*p));
	if (uname(&u) == 0)
		snprintf(p->kernel, sizeof(p->kernel), "%s", u.release);
	libbpf_set_print(print_libbpf);
	p->btf = path_exists("/sys/kernel/btf/vmlinux");
	p->ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) > 0;
	p->tw_timer_symbol = kallsyms_has("tw_timer_handler");
	vmlinux = p->btf ? btf__load_vmlinux_btf() : NULL;
	if (libbpf_get_error(vmlinux))
		vmlinux = NULL;
	p->timer_tps_btf = btf_tracepoint(vmlinux, "timer_start") &&
			   btf_tracepoint(vmlinux, "timer_cancel");
	p->reset_tps = reset_tracepoints(vmlinux, &p->reset_reason);
	btf__free(vmlinux);
	p->timer_tps_tracefs = tracepoint_exists("timer", "timer_start") &&
			       tracepoint_exists("timer", "timer_cancel");
	p->tp_btf = p->btf && probe_load(prog_btf);
	p->reset_tps = p->reset_tps && p->tp_btf;
	p->reset_reason = p->reset_reason && p->reset_tps;
	p->cookie_helper = p->tp_btf && probe_load(prog_cookie);
	p->tracefs = tracefs_events() != NULL;
	p->accept_tps = tracepoint_exists("syscalls", "sys_exit_accept4") &&
			tracepoint_exists("syscalls", "sys_exit_accept");
	p->cap_perfmon = has_cap(CAP_PERFMON);
	p->cap_bpf = has_cap(CAP_BPF);
	p->cap_sys_admin = has_cap(CAP_SYS_ADMIN);
	p->cap_sys_resource = has_cap(CAP_SYS_RESOURCE);
}
