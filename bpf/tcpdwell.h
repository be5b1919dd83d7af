/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Records shared between the kernel programs (tcpdwell.bpf.c) and user space.
 * Every record the kernel sends through the ring buffer is one struct td_event;
 * user space never sees anything else from the kernel. Keep in sync: this file is
 * included by both sides, and the recording format (docs/FORMAT.md) stores these
 * records as they are, so a change here is a format version change.
 */
#ifndef TCPDWELL_H
#define TCPDWELL_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TD_COMM_LEN 16

/* What a record reports (td_event.kind). */
enum td_kind {
	/* sock:inet_sock_set_state on a TCP socket: oldstate -> newstate. */
	TD_EV_STATE = 1,
	/* A timewait socket's timer was armed (timer_start); oldstate = tw_substate. */
	TD_EV_TW_ARM = 2,
	/* A timewait socket's timer was detached (timer_cancel); oldstate = tw_substate.
	 * TD_F_TW_DUE says the timer was due (natural expiry); otherwise it is an early
	 * teardown or a re-arm, which a following TD_EV_TW_ARM tells apart. */
	TD_EV_TW_CANCEL = 3,
	/* accept()/accept4() returned this socket to the process in pid/comm. */
	TD_EV_ACCEPT = 4,
	/* Never sent by the kernel programs: made in user space from an exact sock_diag
	 * lookup of a timewait socket in the FIN_WAIT2 substate, at ts_ns (after the
	 * reply came). oldstate = what the lookup found: TD_TIME_WAIT (its FIN came, with
	 * tw_left_ms the timer's time left, TD_F_TW_LEFT), or TD_CLOSE (gone: no such
	 * socket). Kept in recordings like the kernel's records, so replay sees it. */
	TD_EV_TW_DIAG = 5,
	/* What a connection carried, read from its tcp_sock as it goes to CLOSE: sent right
	 * before that state record, by the same program run (struct td_conn_stats, in place
	 * of the addresses; min_rtt_us). oldstate/newstate are the transition's. Only when
	 * user space asked for it (conn_info). */
	TD_EV_CONN_STATS = 6,
	/* A reset the connection sent (TD_F_RST_SENT: tcp:tcp_send_reset) or received
	 * (tcp:tcp_receive_reset), with the kernel's reason where the tracepoint gives one
	 * (rst_reason). oldstate = newstate = the socket's state then: a received reset
	 * comes before the connection's -> CLOSE (tcp_reset() traces it, then tcp_done()),
	 * a sent one after it when the sender aborts (tcp_close(), tcp_disconnect() set
	 * CLOSE, then send the reset). Only when user space asked for it (conn_info). */
	TD_EV_RST = 7,
};

/* td_event.flags */
#define TD_F_PROC 0x01 /* process context: pid/comm are the socket's user */
#define TD_F_TW_DUE 0x02 /* TD_EV_TW_CANCEL: jiffies had reached the expiry */
#define TD_F_NOCOOKIE 0x04 /* cookie was not available: identity is skaddr */
#define TD_F_TW_LEFT 0x08 /* tw_left_ms is valid */
/* TD_EV_TW_CANCEL before expiry in a network namespace nobody references any more:
 * netns exit is tearing the timewait socket down (inet_twsk_purge()). */
#define TD_F_TW_NETNS_GONE 0x10
/* TD_EV_STATE made by the state program's catcher: the state program was skipped
 * (a change that interrupted its run on the same CPU). */
#define TD_F_CAUGHT 0x20
/* TD_EV_STATE leaving SYN_SENT or SYN_RECV (conn_info): rtt_us and retrans are set. */
#define TD_F_HANDSHAKE 0x40
/* TD_EV_RST: the connection sent the reset (else it received it). */
#define TD_F_RST_SENT 0x80
/* TD_EV_RST without a reason (a kernel before 6.10, or a received reset). */
#define TD_RST_REASON_NONE 0xffffffffu

/* TCP_TIMEWAIT_LEN (include/net/tcp.h): fixed, not a sysctl. */
#define TD_TIMEWAIT_LEN_MS 60000

/* Kernel TCP states (include/net/tcp_states.h); values are ABI. */
enum td_tcp_state {
	TD_ESTABLISHED = 1,
	TD_SYN_SENT = 2,
	TD_SYN_RECV = 3,
	TD_FIN_WAIT1 = 4,
	TD_FIN_WAIT2 = 5,
	TD_TIME_WAIT = 6,
	TD_CLOSE = 7,
	TD_CLOSE_WAIT = 8,
	TD_LAST_ACK = 9,
	TD_LISTEN = 10,
	TD_CLOSING = 11,
	TD_NEW_SYN_RECV = 12,
	TD_STATE_MAX = 13,
};

/* TD_EV_CONN_STATS: the socket's counters as it goes to CLOSE (struct tcp_sock). */
struct td_conn_stats {
	__u64 bytes_acked; /* bytes sent and acknowledged */
	__u64 bytes_received;
	__u32 segs_out; /* segments sent, retransmissions included */
	__u32 segs_in;
	__u32 total_retrans; /* segments retransmitted over the connection's life */
	__u32 srtt_us; /* smoothed RTT (the kernel keeps 8 times it); 0: no sample */
};

/* One record, 104 bytes. Addresses are in network byte order (IPv4 in the first
 * four bytes), ports in host byte order. pid is the thread group id, 0 when the
 * record was made in softirq/irq context (TD_F_PROC clear). */
struct td_event {
	__u64 ts_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 cookie; /* socket cookie; 0 when unknown */
	__u64 skaddr; /* struct sock * (or inet_timewait_sock *) */
	__u64 cgroup; /* cgroup v2 id of the socket */
	__u32 netns; /* network namespace inode */
	__u32 pid;
	union {
		struct {
			__u8 saddr[16];
			__u8 daddr[16];
		};
		struct td_conn_stats stats; /* TD_EV_CONN_STATS: no addresses */
	};
	__u16 sport;
	__u16 dport;
	__u8 kind; /* enum td_kind */
	__u8 family; /* 4 or 6 */
	__u8 oldstate;
	__u8 newstate;
	__u8 flags; /* TD_F_* */
	/* TD_F_HANDSHAKE: the handshake's retransmissions, at most 255: SYNs of an active
	 * open, SYN-ACKs of a passive one (the child inherits its request's count). */
	__u8 retrans;
	__u8 pad[2];
	union {
		/* Timewait records with TD_F_TW_LEFT: ms until the timer's expiry (negative
		 * once due). The kernel re-arms a timer without any tracepoint when the new
		 * expiry lands in the same timer-wheel bucket, so this is what tells when a
		 * FIN turned a FIN_WAIT2 timewait socket into TIME_WAIT. */
		__s32 tw_left_ms;
		/* TD_F_HANDSHAKE: the RTT sample the handshake gave, us (srtt_us / 8 as the
		 * handshake ends: the SYN's for an active open, the SYN-ACK's for a passive
		 * one, from tcp_synack_rtt_meas()); 0: none (after a retransmission without
		 * TCP timestamps, Karn's rule). */
		__u32 rtt_us;
		/* TD_EV_CONN_STATS: the minimum RTT seen, us; 0xffffffff: no sample. */
		__u32 min_rtt_us;
		/* TD_EV_RST: enum sk_rst_reason (6.10+, the kernel's own numbering, whose
		 * names user space reads from the kernel's BTF), or TD_RST_REASON_NONE. */
		__u32 rst_reason;
	};
	char comm[TD_COMM_LEN];
};

/*
 * The slot rings (the default buffer where the kernel has BPF atomics): one ring
 * of fixed slots per CPU in mmapable arrays, so that a record costs no lock and
 * no cache line shared with another CPU. A CPU's producers take position
 * `head` with a compare-and-swap (programs nest on one CPU: a softirq's run can
 * interrupt a syscall's), write the record, then seq = position + 1, which
 * commits it. The reader takes a CPU's records in position order up to the
 * first uncommitted one, copies them out, and publishes `tail`; a position at
 * least a ring's length ahead of tail is not taken (the record is lost and
 * counted). Records are stamped after their position is taken: every record
 * whose position was not yet taken when the reader looked at head is younger
 * than the reader's look, which is what lets it merge the CPUs by time exactly.
 */
struct td_slot {
	__u64 seq; /* position + 1 once the record is complete */
	struct td_event ev;
};

struct td_slot_cpu {
	__u64 head; /* next position (producers) */
	__u64 woke; /* position of the last early wakeup */
	__u64 pad0[6];
	__u64 tail; /* next position to read (the reader), own cache line */
	__u64 pad1[7];
};

/* Per-CPU counters (map "counters"), indexes: */
enum td_counter {
	TD_CNT_RB_FAIL = 0, /* no room in the buffer (ring, slots or perf): record lost */
	TD_CNT_RECOVERED = 1, /* state records made by a catcher (see claim_push) */
	TD_CNT_CLAIM_FULL = 2, /* claim_push found the claim stack full (see there) */
	TD_CNT_MAX = 3,
};

#endif /* TCPDWELL_H */
