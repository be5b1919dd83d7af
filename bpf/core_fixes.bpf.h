/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * CO-RE shims: every place where the kernel's layout or symbols changed between
 * the kernels tcpdwell supports (4.16+ for the classic tracepoint, 5.8+ for the
 * default path). Each shim names the kernel change it works around.
 */
#ifndef TCPDWELL_CORE_FIXES_BPF_H
#define TCPDWELL_CORE_FIXES_BPF_H

#include <vmlinux.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

/*
 * sk_protocol was an 8-bit bitfield before 5.6 (commit bf9765145b85 "sock: Make
 * sk_protocol a 16-bit value"). The probed bitfield read relocates both layouts.
 */
static __always_inline __u16 td_sk_protocol(const struct sock *sk)
{
	return BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
}

/*
 * cgroup->ancestors[] replaced cgroup->ancestor_ids[] in 6.1 (commit 7f203bc89eb6
 * "cgroup: Replace cgroup->ancestor_ids[] with ->ancestors[]").
 */
struct cgroup___o {
	int level;
	u64 ancestor_ids[];
} __attribute__((preserve_access_index));

static __always_inline __u64 td_cgroup_ancestor_id(struct cgroup *cg, int level)
{
	if (bpf_core_field_exists(cg->ancestors)) {
		struct cgroup *a = NULL;

		bpf_core_read(&a, sizeof(a), &cg->ancestors[level]);
		return a ? BPF_CORE_READ(a, kn, id) : 0;
	}
	return BPF_CORE_READ((struct cgroup___o *)cg, ancestor_ids[level]);
}

/*
 * A network namespace's reference count. It was struct net's own count until 5.11
 * moved it into ns_common (the "ns: Add a common refcount into ns_common" series,
 * net's users switched to ns.count); 6.18 renamed ns_common.count to __ns_ref
 * (read through ns_ref_read(), which check_net() uses).
 */
struct ns_common___o {
	refcount_t count;
} __attribute__((preserve_access_index));

struct net___o {
	refcount_t count;
} __attribute__((preserve_access_index));

static __always_inline int td_net_refcount(struct net *net)
{
	if (bpf_core_field_exists(net->ns.__ns_ref))
		return BPF_CORE_READ(net, ns.__ns_ref.refs.counter);
	if (bpf_core_field_exists(((struct ns_common___o *)&net->ns)->count))
		return BPF_CORE_READ((struct ns_common___o *)&net->ns, count.refs.counter);
	return BPF_CORE_READ((struct net___o *)net, count.refs.counter);
}

#endif /* TCPDWELL_CORE_FIXES_BPF_H */
