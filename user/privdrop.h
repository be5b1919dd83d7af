/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The privilege drop: once tcpdwell has attached its programs, read the sockets
 * open at start and opened every file it writes, it becomes an unprivileged user
 * (--user, by default nobody when started as root) with no supplementary groups,
 * no capabilities (but the one the kernel may want for reading loss counters),
 * and no_new_privs; then it checks that this is so. Every failure is fatal to the
 * caller: a tracer that runs on with more privilege than it says is worse than
 * one that stops.
 */
#ifndef TD_PRIVDROP_H
#define TD_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "options.h"

struct privdrop {
	bool switch_ids;   /* change uid and gid (started as root, or --user given) */
	uint32_t uid, gid; /* the target ids (the current ones when !switch_ids) */
	char who[320];	   /* for messages: "nobody (65534:65534)", "12345:12345" */
	bool fallback;	   /* started as root, no --user and no user nobody: 65534:65534 */
	uint64_t keep;	   /* capabilities kept effective and permitted: bit n is capability n */
	/* Set by privdrop__apply(): */
	bool bounding_cleared; /* the bounding set is empty */
	int bounding_errno;    /* else why (EPERM: no CAP_SETPCAP) */
};

/*
 * Decide who tcpdwell becomes, from o->user / o->user_ids and the current ids:
 * resolves a name with getpwnam() (so call it while /etc/passwd is readable).
 * Returns 0, or -1 with a one-line reason in err (an unknown user, a user that is
 * root).
 */
int privdrop__plan(const struct td_options *o, struct privdrop *p, char *err, size_t errlen);

/*
 * Drop to p: no_new_privs; the bounding set cleared where CAP_SETPCAP allows; no
 * ambient capabilities; then, if p->switch_ids, no supplementary groups,
 * setresgid() and setresuid() to p's ids (with PR_SET_KEEPCAPS only when p->keep
 * is not empty); effective and permitted reduced to p->keep, inheritable empty;
 * not dumpable (no ptrace or /proc/PID/fd by the same user). Then verifies all of
 * it, and that root cannot be regained. Must run before any
 * thread is created (it refuses when the process has more than one: credentials
 * are per thread). Returns 0, or -1 with "what failed: why" in err.
 */
int privdrop__apply(struct privdrop *p, char *err, size_t errlen);

/*
 * Would try(arg) still work after privdrop__apply(p) with nothing kept? Asked of
 * a forked child that drops and calls try (which returns 0 or a negative errno),
 * so the caller's own credentials are untouched. Returns 0 (it works), the
 * positive errno try failed with, or -1 when the child could not tell (could not
 * fork, or could not drop: the caller's own drop will say why).
 */
int privdrop__probe(const struct privdrop *p, int (*try)(void *arg), void *arg);

/* Whether the calling thread has capability cap in its permitted set. */
bool privdrop__permitted(int cap);

/* With verbose, say on stderr who tcpdwell became after privdrop__apply(p) and what it kept. */
void privdrop__report(const struct privdrop *p, bool verbose);

#endif /* TD_PRIVDROP_H */
