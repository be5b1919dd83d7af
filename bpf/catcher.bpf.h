/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The recursion catcher: which state changes the state program was skipped for, so that its
 * second program on the same tracepoint records exactly those (see below). Included once, by
 * tcpdwell.bpf.c, after count() and struct cpu_state.
 */
#ifndef TD_CATCHER_BPF_H
#define TD_CATCHER_BPF_H

/* A claim this old (in jiffies: bpf_jiffies64() is inlined, a clock read is
 * not) was left by a skipped catcher run: a real one waits only for the softirq
 * that interrupted it (a few ms at most). 100 ms, 25 jiffies where HZ is unknown. */
#define CLAIM_STALE (CONFIG_HZ ? CONFIG_HZ / 10 : 25)

static __always_inline __u8 claim_states(int oldstate, int newstate)
{
	return (oldstate & 15) << 4 | (newstate & 15);
}

/*
 * The kernel runs a tracing program at most once per CPU at a time: when a
 * softirq interrupts the state program (or the kernel code around it) and
 * changes another socket's state, that run is skipped and only counted
 * (recursion_misses). A second program on the same tracepoint, attached after
 * the state program, makes the record in exactly those runs. Undisturbed
 * changes are recorded once; nested ones by whichever program was free, so the
 * recursion loss left is the rare run where both were busy.
 *
 * How the catcher knows the state program was skipped for the change it sees:
 * - The state program sets in_state while it runs. A tp_btf program is skipped
 *   only while that same program runs on the CPU, so a catcher that finds
 *   in_state set runs inside a state program's run: the change it sees was
 *   skipped, with certainty. This is the common case (a softirq's change
 *   interrupting a syscall's).
 * - Otherwise the state program pushed a claim (socket, old and new state) on a
 *   per-CPU stack when it ran, which the catcher takes off (claim_pop); a change
 *   with no claim was missed. This covers the few instructions at either end of
 *   a state program's run outside in_state, and, on the classic-tracepoint
 *   path, a state program skipped because another classic BPF program (any
 *   tool's) was running on the CPU: those share one guard.
 * A claim left behind could later match another change of a socket at the same
 * address and say "recorded" wrongly: a silent loss, and the cut of the stack
 * would then make a second record of the change it interrupted. A claim is left
 * behind only when its catcher is skipped, that is when the change interrupted
 * a catcher's run: the state program does not push one while in_catcher is set
 * (its catcher will be skipped), and a catcher run that finds in_state set
 * matches no claim at all. What remains are the few instructions at either end
 * of a catcher's run; the stack is cut at the claim found, and a claim left on
 * top is dropped by the next push once it is CLAIM_STALE old.
 */
static __always_inline void claim_push(struct cpu_state *cl, const struct sock *sk, int oldstate,
				       int newstate)
{
	__u64 now = bpf_jiffies64();
	__u32 d;

	if (!cl || cl->in_catcher)
		return;
	d = cl->depth;
	/* Counted: a full stack is emptied, and a live claim with it makes its catcher record
	 * the change again. That happens when an interrupt lands at the start of a catcher's run
	 * (the kernel counts it running before in_catcher is set): each change in it pushes a
	 * claim whose catcher is skipped, and after it the interrupted catcher finds its own
	 * claim gone. The table drops such a second record (conntable.c, caught_dups). */
	if (d >= CLAIM_DEPTH)
		count(TD_CNT_CLAIM_FULL);
	if (d >= CLAIM_DEPTH || (d > 0 && now - cl->ts[(d - 1) & (CLAIM_DEPTH - 1)] > CLAIM_STALE))
		d = 0;
	cl->sk[d & (CLAIM_DEPTH - 1)] = (__u64)(unsigned long)sk;
	cl->states[d & (CLAIM_DEPTH - 1)] = claim_states(oldstate, newstate);
	cl->ts[d & (CLAIM_DEPTH - 1)] = now;
	cl->depth = d + 1;
}

/* True if the state program saw this change (its claim is on the stack). */
static __always_inline bool claim_pop(struct cpu_state *cl, const struct sock *sk, int oldstate,
				      int newstate)
{
	__u8 states = claim_states(oldstate, newstate);
	__u32 d = cl->depth < CLAIM_DEPTH ? cl->depth : CLAIM_DEPTH;

	for (int i = CLAIM_DEPTH - 1; i >= 0; i--) {
		if (i >= d)
			continue;
		if (cl->sk[i] == (unsigned long)sk && cl->states[i] == states) {
			cl->depth = i;
			return true;
		}
	}
	return false;
}

/* The catcher's decision (see above): true if the state program skipped this
 * change. Sets in_catcher, which the caller clears when it is done. */
static __always_inline bool catcher_takes(struct cpu_state *cs, const struct sock *sk,
					  int oldstate, int newstate)
{
	if (!cs)
		return false;
	cs->in_catcher = 1;
	if (!cs->in_state && claim_pop(cs, sk, oldstate, newstate))
		return false;
	count(TD_CNT_RECOVERED);
	return true;
}

#endif /* TD_CATCHER_BPF_H */
