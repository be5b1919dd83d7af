// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tcpdwell kernel side: turns TCP state changes, timewait timer activity and
 * accept() returns into fixed-size td_event records in per-CPU slot rings (see
 * struct td_slot), or one ring buffer, or a perf buffer on kernels without one.
 * Filters the kernel can decide (family, ports, netns, cgroup) are applied here
 * so that other traffic costs one early return.
 * User space (user/kernel/tracer.c) picks which of these programs to load.
 */
#include <vmlinux.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "core_fixes.bpf.h"
#include "tcpdwell.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define SOCK_STREAM 1

/* Set by user space before load. */
const volatile __u8 filter_family = 0; /* 0 any, 4 or 6 */
const volatile bool filter_lport = false; /* consult port_bits[0] */
const volatile bool filter_rport = false; /* consult port_bits[1] */
const volatile __u32 filter_netns = 0;
const volatile __u64 filter_cgroup = 0; /* cgroup v2 id; 0: off */
const volatile __s32 filter_cgroup_level = 0;
/* Read what the handshake and the connection carried (TD_F_HANDSHAKE, TD_EV_CONN_STATS). */
const volatile bool conn_info = false;

struct port_bitmap {
	__u64 bits[65536 / 64];
};

/* [0] local ports, [1] remote ports selected by the user. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct port_bitmap);
} port_bits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TD_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/*
 * Per-CPU state of the programs: the stack of the state changes the state
 * program has seen and its catcher has not yet (see claim_push), and the count
 * of records submitted since the ring buffer's fill was last looked at (see
 * event_submit). Programs that nest on one CPU share it; the count tolerates
 * their races.
 */
#define CLAIM_DEPTH 4
struct cpu_state {
	__u32 depth;
	__u32 unchecked;
	/* The state program, or its catcher, is running on this CPU (see claim_push). */
	__u32 in_state;
	__u32 in_catcher;
	__u8 states[CLAIM_DEPTH];
	__u64 sk[CLAIM_DEPTH];
	__u64 ts[CLAIM_DEPTH]; /* jiffies */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_state);
} cpu_states SEC(".maps");

static __always_inline struct cpu_state *cpu_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cpu_states, &zero);
}

extern const void tw_timer_handler __ksym __weak;
extern unsigned int CONFIG_HZ __kconfig __weak;

/* An atomic add (BPF_XADD, which every kernel takes): a program that interrupts
 * another one on the same CPU between its load and its store would otherwise
 * lose a count, and these counts are what says a record was lost. */
static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		__sync_fetch_and_add(c, 1);
}

#include "buffers.bpf.h"

static __always_inline bool port_selected(__u32 which, __u16 port)
{
	struct port_bitmap *b = bpf_map_lookup_elem(&port_bits, &which);

	if (!b)
		return true;
	return b->bits[(port >> 6) & 1023] & (1ULL << (port & 63));
}

/*
 * Filters on the tuple. A record with a port still 0 (CLOSE -> SYN_SENT is
 * emitted before the port is chosen) or leaving SYN_SENT/SYN_RECV (the first
 * record that shows the real tuple) always passes, so that user space can decide
 * per connection rather than lose its first transition.
 */
static __always_inline bool tuple_selected(__u8 family, __u16 sport, __u16 dport, __u8 oldstate)
{
	if (filter_family && filter_family != family)
		return false;
	if (!filter_lport && !filter_rport)
		return true;
	if (sport == 0 || dport == 0 || oldstate == TD_SYN_SENT || oldstate == TD_SYN_RECV)
		return true;
	if (filter_lport && !port_selected(0, sport))
		return false;
	if (filter_rport && !port_selected(1, dport))
		return false;
	return true;
}

static __always_inline bool cgroup_selected(__u64 cgid, struct cgroup *cg)
{
	if (!filter_cgroup)
		return true;
	if (!cg)
		return false;
	if (cgid == filter_cgroup)
		return true;
	if (BPF_CORE_READ(cg, level) < filter_cgroup_level)
		return false;
	return td_cgroup_ancestor_id(cg, filter_cgroup_level) == filter_cgroup;
}

/*
 * Reads from the socket. tp_btf programs get a BTF-typed pointer and read it
 * with plain loads (CO-RE relocated, checked by the verifier, a few ns each);
 * the classic tracepoint gets an untyped pointer and must go through
 * bpf_probe_read_kernel() per field. `btf` is a constant at every call site,
 * so each program keeps only its own kind of read.
 */
#define RD(btf, p, f) ((btf) ? (p)->f : BPF_CORE_READ(p, f))

/*
 * Is this record made by the process that holds the socket? TCP changes a
 * socket's state either under lock_sock() in a syscall (connect, listen,
 * shutdown, close, and the backlog that release_sock() processes), where
 * sk_lock.owned is 1 and current is that process; or in softirq (packets,
 * timers), which only touches a socket nobody owns and defers to the backlog
 * otherwise (tcp_v4_rcv(), tcp_write_timer()). So owned == 1 tells process
 * context exactly, with no per-CPU state: current in softirq is whoever was
 * interrupted (swapper, or on loopback the peer's process) and is never used.
 * (preempt_count would also tell, but it is a per-CPU variable that kernels
 * without CONFIG_KALLSYMS_ALL do not let BPF programs resolve.)
 */
static __always_inline void fill_owner(struct td_event *e, const struct sock *sk, bool btf)
{
	if (!RD(btf, sk, sk_lock.owned))
		return;
	e->flags |= TD_F_PROC;
	if (btf) {
		/* Plain loads from current: bpf_get_current_comm() (strscpy with
		 * padding) was an eighth of this program's time. A comm is NUL-padded
		 * to its end (__set_task_comm()); a rename racing this read can at
		 * worst mix two names, which user space bounds to 15 characters. */
		struct task_struct *t = bpf_get_current_task_btf();
		const __u64 *name = (const __u64 *)t->comm;

		e->pid = t->tgid;
		*(__u64 *)&e->comm[0] = name[0];
		*(__u64 *)&e->comm[8] = name[1];
		return;
	}
	e->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

static __always_inline __u32 sk_netns(const struct sock *sk, bool btf)
{
	if (btf)
		return sk->__sk_common.skc_net.net->ns.inum;
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/*
 * Tuple, netns of a full socket. The classic tracepoint's record already holds
 * the tuple as the kernel copied it (args; NULL elsewhere): its addresses cost no
 * probed read. Its IPv4 ones are inet_saddr/inet_daddr, which TCP keeps equal to
 * skc_rcv_saddr/skc_daddr: connect() and accept set them together, and
 * disconnecting resets them together.
 */
static __always_inline void fill_sock(struct td_event *e, const struct sock *sk, __u16 family,
				      const struct trace_event_raw_inet_sock_set_state *args,
				      bool btf)
{
	e->skaddr = (__u64)(unsigned long)sk;
	e->family = family == AF_INET6 ? 6 : 4;
	if (args) {
		/* One probed read for the four address fields: a tracepoint's record
		 * may be loaded from only at constant offsets, and an array's element
		 * is relocated as field offset plus index. The offsets are taken
		 * relative to saddr (protocol was one byte before 5.6). */
		__u32 base = bpf_core_field_offset(args->saddr);
		__u32 s6 = bpf_core_field_offset(args->saddr_v6) - base;
		__u32 d6 = bpf_core_field_offset(args->daddr_v6) - base;
		__u32 d4 = bpf_core_field_offset(args->daddr) - base;
		__u8 a[40]; /* the helper zeroes it if the read fails */

		/* Offsets into a, not differences of pointers into it: the
		 * verifier refuses subtracting from a stack pointer. */
		barrier_var(s6);
		barrier_var(d6);
		barrier_var(d4);
		bpf_probe_read_kernel(a, d6 + 16, (const __u8 *)args + base);
		if (family == AF_INET6) {
			__builtin_memcpy(e->saddr, a + s6, 16);
			__builtin_memcpy(e->daddr, a + d6, 16);
		} else {
			__builtin_memcpy(e->saddr, a, 4);
			__builtin_memcpy(e->daddr, a + d4, 4);
		}
	} else if (family == AF_INET6) {
		if (btf) {
			__builtin_memcpy(e->saddr, &sk->__sk_common.skc_v6_rcv_saddr, 16);
			__builtin_memcpy(e->daddr, &sk->__sk_common.skc_v6_daddr, 16);
		} else {
			/* Whole arrays: BPF_CORE_READ_INTO() would copy sizeof(*dst), one byte. */
			bpf_core_read(e->saddr, sizeof(e->saddr), &sk->__sk_common.skc_v6_rcv_saddr);
			bpf_core_read(e->daddr, sizeof(e->daddr), &sk->__sk_common.skc_v6_daddr);
		}
	} else {
		*(__u32 *)e->saddr = RD(btf, sk, __sk_common.skc_rcv_saddr);
		*(__u32 *)e->daddr = RD(btf, sk, __sk_common.skc_daddr);
	}
	e->netns = sk_netns(sk, btf);
}

static __always_inline __u64 sk_cgroup(const struct sock *sk, struct cgroup **cgp, bool btf)
{
	struct cgroup *cg;

	if (!bpf_core_field_exists(sk->sk_cgrp_data.cgroup))
		return 0;
	cg = RD(btf, sk, sk_cgrp_data.cgroup);
	*cgp = cg;
	if (!cg)
		return 0;
	return btf ? cg->kn->id : BPF_CORE_READ(cg, kn, id);
}

/* The tcp_sock of a full TCP socket (the state tracepoint's). */
static __always_inline struct tcp_sock *tcp_of(const struct sock *sk, bool btf)
{
	if (btf)
		return bpf_skc_to_tcp_sock((void *)sk);
	return (struct tcp_sock *)sk;
}

/*
 * A connection leaving SYN_SENT or SYN_RECV: how many times its handshake was
 * retransmitted (total_retrans: an active open counts its SYNs; a passive child starts
 * with its request's num_retrans, the SYN-ACKs) and the RTT sample it gave (the kernel
 * takes it before this transition: tcp_ack() of the SYN-ACK for an active open,
 * tcp_synack_rtt_meas() in tcp_check_req() for a child).
 */
static __always_inline void fill_handshake(struct td_event *e, const struct sock *sk, bool btf)
{
	struct tcp_sock *tp = tcp_of(sk, btf);
	__u32 retrans;

	if (!tp)
		return;
	retrans = RD(btf, tp, total_retrans);
	e->retrans = retrans > 255 ? 255 : retrans;
	e->rtt_us = RD(btf, tp, srtt_us) >> 3;
	e->flags |= TD_F_HANDSHAKE;
}

/*
 * What the connection carried, as it goes to CLOSE: a TD_EV_CONN_STATS record, sent
 * before the state record so that user space has it while the connection is still
 * open. The state record's filters have passed; e is its place (the stack, on the perf
 * buffer path), reused by the caller afterwards.
 */
static __always_inline void send_conn_stats(void *ctx, struct cpu_state *cs,
					    const struct sock *sk, struct td_event *stack,
					    __u64 cookie, __u64 cgid, __u16 family, __u16 sport,
					    __u16 dport, int oldstate, __u8 flags, bool btf)
{
	struct tcp_sock *tp = tcp_of(sk, btf);
	struct slot_pos pos = {};
	struct td_event *e;

	if (!tp)
		return;
	e = event_reserve(stack, &pos);
	if (!e)
		return;
	barrier_var(e);
	e->ts_ns = bpf_ktime_get_ns();
	e->kind = TD_EV_CONN_STATS;
	e->oldstate = oldstate;
	e->newstate = TD_CLOSE;
	e->cookie = cookie;
	e->skaddr = (__u64)(unsigned long)sk;
	e->flags = flags | (cookie ? 0 : TD_F_NOCOOKIE);
	e->family = family == AF_INET6 ? 6 : 4;
	e->sport = sport;
	e->dport = dport;
	e->cgroup = cgid;
	e->netns = sk_netns(sk, btf);
	e->pid = 0;
	e->comm[0] = 0;
	e->retrans = 0;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	e->stats.bytes_acked = RD(btf, tp, bytes_acked);
	e->stats.bytes_received = RD(btf, tp, bytes_received);
	e->stats.segs_out = RD(btf, tp, segs_out);
	e->stats.segs_in = RD(btf, tp, segs_in);
	e->stats.total_retrans = RD(btf, tp, total_retrans);
	e->stats.srtt_us = RD(btf, tp, srtt_us) >> 3;
	e->min_rtt_us = RD(btf, tp, rtt_min.s[0].v);
	event_submit(ctx, e, cs, &pos);
}

/*
 * A BTF-typed full socket's local port, if it is a TCP stream socket: skc_num while the port
 * is bound (it and inet_sport are set together); at -> CLOSE it is already unhashed and
 * skc_num reads 0 (seen on 6.18), so there inet_sport, which the helper reaches.
 */
static __always_inline bool full_tcp_sport(const struct sock *sk, __u16 *sport)
{
	if (sk->sk_protocol != IPPROTO_TCP || sk->sk_type != SOCK_STREAM)
		return false;
	*sport = sk->__sk_common.skc_num;
	if (!*sport) {
		struct tcp_sock *tp = bpf_skc_to_tcp_sock((void *)sk);

		if (!tp)
			return false;
		*sport = bpf_ntohs(tp->inet_conn.icsk_inet.inet_sport);
	}
	return true;
}

static __always_inline int handle_state(void *ctx, struct cpu_state *cs, const struct sock *sk,
					int oldstate, int newstate, __u64 cookie,
					const struct trace_event_raw_inet_sock_set_state *args,
					bool btf, __u8 flags)
{
	struct cgroup *cg = NULL;
	struct td_event ev, *e;
	struct slot_pos pos = {};
	__u16 family, sport, dport;
	__u64 cgid;

	if (btf) {
		/* The checks bpf_skc_to_tcp_sock() makes, as plain loads (the
		 * tracepoint fires only for full sockets). */
		if (!full_tcp_sport(sk, &sport))
			return 0;
	} else if (args) {
		/* The tracepoint's own copy (the caller has checked its protocol):
		 * sport is inet_sport, as above. */
		sport = args->sport;
	} else {
		if (td_sk_protocol(sk) != IPPROTO_TCP)
			return 0;
		sport = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
	}
	if (args) {
		family = args->family;
		dport = args->dport;
	} else {
		family = RD(btf, sk, __sk_common.skc_family);
		dport = bpf_ntohs(RD(btf, sk, __sk_common.skc_dport));
	}
	if (!tuple_selected(family == AF_INET6 ? 6 : 4, sport, dport, oldstate))
		return 0;
	if (filter_netns && sk_netns(sk, btf) != filter_netns)
		return 0;
	cgid = sk_cgroup(sk, &cg, btf);
	if (!cgroup_selected(cgid, cg))
		return 0;

	/* A listener carried nothing, a connect that never got through neither. */
	if (conn_info && newstate == TD_CLOSE && oldstate != TD_LISTEN && oldstate != TD_SYN_SENT)
		send_conn_stats(ctx, cs, sk, &ev, cookie, cgid, family, sport, dport, oldstate,
				flags, btf);
	e = event_reserve(&ev, &pos);
	if (!e)
		return 0;
	barrier_var(e);
	/* Stamped once the record has its place (see struct td_slot). */
	e->ts_ns = bpf_ktime_get_ns();
	e->kind = TD_EV_STATE;
	e->oldstate = oldstate;
	e->newstate = newstate;
	e->cookie = cookie;
	e->flags = flags | (cookie ? 0 : TD_F_NOCOOKIE);
	e->pid = 0;
	e->comm[0] = 0;
	e->cgroup = cgid;
	e->sport = sport;
	e->dport = dport;
	if (family != AF_INET6) {
		__builtin_memset(e->saddr, 0, sizeof(e->saddr));
		__builtin_memset(e->daddr, 0, sizeof(e->daddr));
	}
	e->retrans = 0;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	e->tw_left_ms = 0;
	fill_sock(e, sk, family, args, btf);
	fill_owner(e, sk, btf);
	if (conn_info && (oldstate == TD_SYN_SENT || oldstate == TD_SYN_RECV))
		fill_handshake(e, sk, btf);
	event_submit(ctx, e, cs, &pos);
	return 0;
}

#include "catcher.bpf.h"

/* The socket's cookie, made by the helper the first time it is asked for; once
 * made it never changes, so a plain load saves the call from then on. */
static __always_inline __u64 sk_cookie(struct sock *sk)
{
	__u64 cookie = sk->__sk_common.skc_cookie.counter;

	return cookie ? cookie : bpf_get_socket_cookie(sk);
}

/* Default path (5.12+): BTF-typed tracepoint, socket cookie from the helper. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(td_state_btf, struct sock *sk, int oldstate, int newstate)
{
	struct cpu_state *cs = cpu_state();

	if (!cs)
		return 0;
	cs->in_state = 1;
	claim_push(cs, sk, oldstate, newstate);
	handle_state(ctx, cs, sk, oldstate, newstate, sk_cookie(sk), NULL, true, 0);
	cs->in_state = 0;
	return 0;
}

/* Its catcher (see claim_push). */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(td_state_nested, struct sock *sk, int oldstate, int newstate)
{
	struct cpu_state *cs = cpu_state();

	if (catcher_takes(cs, sk, oldstate, newstate))
		handle_state(ctx, cs, sk, oldstate, newstate, sk_cookie(sk), NULL, true,
			     TD_F_CAUGHT);
	if (cs)
		cs->in_catcher = 0;
	return 0;
}

/*
 * Fallback (4.16+): classic tracepoint. No cookie helper here; read the cookie
 * the socket already has (0 if nothing generated it yet: user space then keys
 * the connection by skaddr and event order).
 */
SEC("tracepoint/sock/inet_sock_set_state")
int td_state_tp(struct trace_event_raw_inet_sock_set_state *args)
{
	const struct sock *sk = args->skaddr;
	struct cpu_state *cs = cpu_state();
	__u64 cookie;

	if (!cs)
		return 0;
	cs->in_state = 1;
	claim_push(cs, sk, args->oldstate, args->newstate);
	if (args->protocol == IPPROTO_TCP) {
		cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
		handle_state(args, cs, sk, args->oldstate, args->newstate, cookie, args, false, 0);
	}
	cs->in_state = 0;
	return 0;
}

/*
 * Its catcher. Classic tracepoint programs share one per-CPU guard with every
 * other classic tracepoint and kprobe program (bpf_prog_active): a state
 * change in a softirq that interrupts td_accept4, or td_state_tp itself, is
 * skipped. A raw tracepoint program is guarded only against itself, so it can
 * record those (4.17+; same untyped socket pointer and reads).
 */
SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(td_state_rawtp, const struct sock *sk, int oldstate, int newstate)
{
	struct cpu_state *cs = cpu_state();

	if (catcher_takes(cs, sk, oldstate, newstate))
		handle_state(ctx, cs, sk, oldstate, newstate,
			     BPF_CORE_READ(sk, __sk_common.skc_cookie.counter), NULL, false,
			     TD_F_CAUGHT);
	if (cs)
		cs->in_catcher = 0;
	return 0;
}

/* The timewait socket that owns this timer (function fn), or NULL if it is
 * another timer. These programs run for every timer in the system: handle_tw
 * gets fn with one load (plain on tp_btf, probed on the raw tracepoint). */
static __always_inline struct inet_timewait_sock *tw_of_timer(struct timer_list *timer, void *fn)
{
	if (!&tw_timer_handler || fn != &tw_timer_handler)
		return NULL;
	return (void *)((unsigned long)timer -
			bpf_core_field_offset(struct inet_timewait_sock, tw_timer));
}

/*
 * struct sock_common heads both a full socket and a timewait one and holds
 * nearly every field a record needs. Where the socket pointer is untyped (a
 * timewait socket, or the socket behind an accept()ed fd), it is read in one
 * probed read instead of one per field (each a helper call: a timewait record
 * took a dozen). HEAD_WORDS bounds the read: on a kernel whose head were longer
 * the read fails the verifier, and user space loads without the program (as
 * when the kernel lacks what it needs) instead of reading past the copy.
 */
#define HEAD_WORDS 24
struct sk_head {
	__u64 w[HEAD_WORDS];
};

/* Field f of a struct TYPE that starts at the head. */
#define HEAD(h, TYPE, t, f) \
	(*(t const *)((const __u8 *)(h)->w + bpf_core_field_offset(struct TYPE, f)))
#define SKC(h, t, f) HEAD(h, sock_common, t, f)

/* What the head gives a record: family, remote port, addresses, cookie. */
static __always_inline void fill_head(struct td_event *e, const struct sk_head *h, __u16 family)
{
	e->family = family == AF_INET6 ? 6 : 4;
	e->dport = bpf_ntohs(SKC(h, __be16, skc_dport));
	e->cookie = SKC(h, __u64, skc_cookie.counter);
	if (!e->cookie)
		e->flags |= TD_F_NOCOOKIE;
	if (family == AF_INET6) {
		__builtin_memcpy(e->saddr, &SKC(h, struct in6_addr, skc_v6_rcv_saddr), 16);
		__builtin_memcpy(e->daddr, &SKC(h, struct in6_addr, skc_v6_daddr), 16);
	} else {
		*(__u32 *)e->saddr = SKC(h, __be32, skc_rcv_saddr);
		*(__u32 *)e->daddr = SKC(h, __be32, skc_daddr);
	}
}

static __always_inline int handle_tw(void *ctx, struct timer_list *timer, __u8 kind, bool btf)
{
	struct inet_timewait_sock *tw = tw_of_timer(timer, RD(btf, timer, function));
	struct sk_head h;
	struct td_event ev, *e;
	struct slot_pos pos = {};
	__u16 family, sport;
	struct net *net;
	__u32 netns;
	long left;

	if (!tw)
		return 0;
	/* inet_twsk_alloc() copies the full socket's cookie into the head. */
	bpf_probe_read_kernel(&h, bpf_core_field_offset(struct inet_timewait_sock, tw_sport) +
					  sizeof(__be16),
			      tw);
	family = SKC(&h, __u16, skc_family);
	sport = bpf_ntohs(HEAD(&h, inet_timewait_sock, __be16, tw_sport));
	if (!tuple_selected(family == AF_INET6 ? 6 : 4, sport, bpf_ntohs(SKC(&h, __be16, skc_dport)),
			    TD_TIME_WAIT))
		return 0;
	net = SKC(&h, struct net *, skc_net.net);
	netns = BPF_CORE_READ(net, ns.inum);
	if (filter_netns && netns != filter_netns)
		return 0;

	e = event_reserve(&ev, &pos);
	if (!e)
		return 0;
	barrier_var(e);
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->kind = kind;
	e->oldstate = e->newstate = HEAD(&h, inet_timewait_sock, __u8, tw_substate);
	e->skaddr = (__u64)(unsigned long)tw;
	e->sport = sport;
	e->netns = netns;
	fill_head(e, &h, family);
	/* timer->expires is what the owner asked for; the wheel only ever fires
	 * at or after it, so a detach at or past it is the natural expiry. */
	left = (long)(RD(btf, timer, expires) - bpf_jiffies64());
	if (kind == TD_EV_TW_CANCEL && left <= 0)
		e->flags |= TD_F_TW_DUE;
	/* Netns exit tears timewait sockets down from cleanup_net() once the netns
	 * is unreferenced: inet_twsk_purge() picks exactly the ones whose netns
	 * count reads 0. No other early teardown (RST, a SYN or connect() reusing
	 * the tuple, SOCK_DESTROY) happens in a namespace nobody holds. */
	if (kind == TD_EV_TW_CANCEL && left > 0 && td_net_refcount(net) == 0)
		e->flags |= TD_F_TW_NETNS_GONE;
	if (CONFIG_HZ) {
		/* BPF has no signed division (before v4 ISA): divide the magnitude. */
		__u64 ms = (__u64)(left < 0 ? -left : left) * 1000 / CONFIG_HZ;

		e->tw_left_ms = left < 0 ? -(__s32)ms : (__s32)ms;
		e->flags |= TD_F_TW_LEFT;
	}
	event_submit(ctx, e, cpu_state(), &pos);
	return 0;
}

/* timer_start's arguments changed in 6.8 (commit 20160ee3ad93 "timers: Update
 * tracepoint to the new tick"): use only the first. */
SEC("tp_btf/timer_start")
int BPF_PROG(td_tw_start, struct timer_list *timer)
{
	return handle_tw(ctx, timer, TD_EV_TW_ARM, true);
}

SEC("tp_btf/timer_cancel")
int BPF_PROG(td_tw_cancel, struct timer_list *timer)
{
	return handle_tw(ctx, timer, TD_EV_TW_CANCEL, true);
}

/*
 * The same as raw tracepoints for the fallback path (4.17+), not classic ones:
 * a classic tracepoint program holds the per-CPU guard that every classic
 * tracepoint program shares (bpf_prog_active), and these run for every timer in
 * the system, so they would make td_state_tp skip the state changes that
 * interrupt them, and be skipped themselves (a lost timewait record) whenever a
 * timer is armed under another classic program. A raw tracepoint program is
 * guarded only against itself. The untyped pointer costs one probed read.
 */
SEC("raw_tp/timer_start")
int BPF_PROG(td_tw_start_raw, struct timer_list *timer)
{
	return handle_tw(ctx, timer, TD_EV_TW_ARM, false);
}

SEC("raw_tp/timer_cancel")
int BPF_PROG(td_tw_cancel_raw, struct timer_list *timer)
{
	return handle_tw(ctx, timer, TD_EV_TW_CANCEL, false);
}

/*
 * A reset sent or received on a connection (conn_info): tcp:tcp_send_reset and
 * tcp:tcp_receive_reset, BTF-typed (tp_btf) only. A reset sent for no socket (a
 * segment to a closed port) has no connection and is not recorded. A sent reset's
 * socket may be a timewait or request socket (their struct sock_common is all that
 * is read of them: no owner, no cgroup). The filters are the state records'.
 */
static __always_inline int handle_rst(void *ctx, const struct sock *sk, __u8 flags,
				      __u32 reason)
{
	struct cgroup *cg = NULL;
	struct td_event ev, *e;
	struct slot_pos pos = {};
	__u16 family, sport, dport;
	__u64 cgid = 0;
	__u8 state;
	bool full;

	if (!sk)
		return 0;
	family = sk->__sk_common.skc_family;
	if (family != AF_INET && family != AF_INET6)
		return 0;
	state = sk->__sk_common.skc_state;
	full = state != TD_TIME_WAIT && state != TD_NEW_SYN_RECV;
	if (!full)
		sport = sk->__sk_common.skc_num;
	else if (!full_tcp_sport(sk, &sport))
		return 0;
	dport = bpf_ntohs(sk->__sk_common.skc_dport);
	if (!tuple_selected(family == AF_INET6 ? 6 : 4, sport, dport, state))
		return 0;
	if (filter_netns && sk_netns(sk, true) != filter_netns)
		return 0;
	if (full)
		cgid = sk_cgroup(sk, &cg, true);
	if (!cgroup_selected(cgid, cg))
		return 0;
	e = event_reserve(&ev, &pos);
	if (!e)
		return 0;
	barrier_var(e);
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->kind = TD_EV_RST;
	e->oldstate = e->newstate = state;
	e->cookie = sk_cookie((struct sock *)sk);
	e->flags = flags | (e->cookie ? 0 : TD_F_NOCOOKIE);
	e->cgroup = cgid;
	e->sport = sport;
	e->dport = dport;
	e->rst_reason = reason;
	fill_sock(e, sk, family, NULL, true);
	if (full)
		fill_owner(e, sk, true);
	event_submit(ctx, e, cpu_state(), &pos);
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(td_rst_recv, struct sock *sk)
{
	return handle_rst(ctx, sk, 0, TD_RST_REASON_NONE);
}

/* Before 6.10 the tracepoint has no reason; user space loads the one that fits. */
SEC("tp_btf/tcp_send_reset")
int BPF_PROG(td_rst_send, const struct sock *sk, const struct sk_buff *skb)
{
	return handle_rst(ctx, sk, TD_F_RST_SENT, TD_RST_REASON_NONE);
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(td_rst_send_reason, const struct sock *sk, const struct sk_buff *skb, int reason)
{
	return handle_rst(ctx, sk, TD_F_RST_SENT, (__u32)reason);
}

/*
 * accept()/accept4() returned fd: resolve it to its socket in the calling
 * task's file table and report the accepting process as the socket's owner.
 */
static __always_inline int handle_accept(void *ctx, long fd)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct file **fdarr, *file = NULL;
	struct cgroup *cg = NULL;
	__u16 family, sport, dport;
	struct td_event ev, *e;
	struct slot_pos pos = {};
	struct socket *sock;
	struct fdtable *fdt;
	struct sk_head h;
	struct sock *sk;
	struct net *net;
	__u32 netns;
	__u64 cgid;

	if (fd < 0)
		return 0;
	fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || (unsigned long)fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	fdarr = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fdarr[fd]) || !file)
		return 0;
	sock = BPF_CORE_READ(file, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || td_sk_protocol(sk) != IPPROTO_TCP)
		return 0;
	bpf_probe_read_kernel(&h, bpf_core_type_size(struct sock_common), sk);
	family = SKC(&h, __u16, skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	/* The local port as bound: an accepted socket's inet_sport is this. */
	sport = SKC(&h, __u16, skc_num);
	dport = bpf_ntohs(SKC(&h, __be16, skc_dport));
	if (!tuple_selected(family == AF_INET6 ? 6 : 4, sport, dport, TD_ESTABLISHED))
		return 0;
	net = SKC(&h, struct net *, skc_net.net);
	netns = BPF_CORE_READ(net, ns.inum);
	if (filter_netns && netns != filter_netns)
		return 0;
	/* The socket's cgroup, as for its state records: an accepted socket has
	 * its listener's (sk_clone_lock() copies sk_cgrp_data), not necessarily the
	 * accepting process's. */
	cgid = sk_cgroup(sk, &cg, false);
	if (!cgroup_selected(cgid, cg))
		return 0;

	e = event_reserve(&ev, &pos);
	if (!e)
		return 0;
	barrier_var(e);
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->kind = TD_EV_ACCEPT;
	e->cgroup = cgid;
	e->oldstate = e->newstate = SKC(&h, __u8, skc_state);
	e->skaddr = (__u64)(unsigned long)sk;
	e->sport = sport;
	e->netns = netns;
	fill_head(e, &h, family);
	e->flags |= TD_F_PROC;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	event_submit(ctx, e, cpu_state(), &pos);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int td_accept4(struct syscall_trace_exit *args)
{
	return handle_accept(args, args->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int td_accept(struct syscall_trace_exit *args)
{
	return handle_accept(args, args->ret);
}

/*
 * Never attached: `tcpdwell check` loads each alone to learn whether this kernel
 * takes tp_btf programs at all, and whether bpf_get_socket_cookie() is allowed in
 * them (5.12+, commit c5dbb89fc2ac "bpf: Expose bpf_get_socket_cookie to tracing
 * programs").
 */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(td_probe_btf, struct sock *sk)
{
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(td_probe_cookie, struct sock *sk)
{
	return bpf_get_socket_cookie(sk) == 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
