/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Command names, interned: one table for the process, since a struct conn says its owner's
 * name (a 16-bit number) wherever it is, and conn__comm() has no table to ask. Names live in
 * chunks that never move, so a name's string stays where it is; an index by hash finds a
 * name's number. Number 0 is "". Both grow as names come: a few hundred names take a few KiB,
 * the most there can be (65,535) about 1.25 MiB. Names are never forgotten, so a number once
 * given stays right for the life of the process.
 */
#ifndef TD_NAMES_H
#define TD_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/tcpdwell.h"
#include "cgpath.h"

#define NAMES_MAX   65536 /* numbers are 16 bits */
#define NAMES_CHUNK 256	  /* names per chunk */

struct names_table {
	char (*chunk[NAMES_MAX / NAMES_CHUNK])[TD_COMM_LEN];
	uint16_t *ix;  /* open addressing: a name's number, 0 = empty */
	uint32_t mask; /* ix has mask + 1 entries */
	uint32_t n;    /* numbers given, "" included */
};
extern struct names_table names;

/* The name of number id (given by names__intern, not 0): TD_COMM_LEN bytes, zero after its
 * end. Inline: a record's owner is looked up by it on the hot path. */
static inline const char *names__get(uint16_t id)
{
	return names.chunk[id / NAMES_CHUNK][id % NAMES_CHUNK];
}

/* The number of name (TD_COMM_LEN bytes, zero after its end; "" is 0); 0 too if the table is
 * full or memory short. */
uint16_t names__intern(const char name[TD_COMM_LEN]);

/*
 * The names of the kernel's reset reasons (enum sk_rst_reason, 6.10+), by number: one table
 * for the process, as the numbering is the recording kernel's own (it grows between
 * versions). Live, the tracer fills it from the kernel's BTF; on replay, the recording's
 * RST_REASONS record fills it. A number without a name prints as its number.
 */
#define RST_REASONS_MAX 128 /* 6.18 has 41; more are ignored (they print as numbers) */
#define RST_NAME_LEN	48  /* "TCP_ABORT_ON_CLOSE": the enumerator less SK_RST_REASON_ */

struct rst_reasons {
	uint32_t n; /* names[0..n) are set ("" where the kernel has no such number) */
	char names[RST_REASONS_MAX][RST_NAME_LEN];
};
extern struct rst_reasons rst_reasons;

/* Name number code in t (cut to RST_NAME_LEN - 1 bytes; its bytes outside printable ASCII,
 * spaces included, become '?'). A code >= RST_REASONS_MAX is ignored. t starts zeroed. */
void rst__put(struct rst_reasons *t, uint32_t code, const char *name, size_t len);
/* rst__put() into the process's table. */
void rst__set(uint32_t code, const char *name, size_t len);
/* Forget every name. */
void rst__clear(void);
/* The name of code, or NULL when none is known. */
const char *rst__name(uint32_t code);

/*
 * Cgroup v2 ids' names: the cgroup's path below the cgroup2 mount, and the container and pod
 * it belongs to (cgpath.h), by id. One table for the process, like the command names: a
 * struct conn carries only the id. Live, user/kernel/cgroups.c fills it as ids are first
 * seen (walking the cgroup2 mount and the kubelet's log directories); on replay, the
 * recording's CGROUP records do. Ids are never reused, so a name once known stays right,
 * also after its cgroup is removed. At most CGN_MAX ids; later ones are not named (counted in
 * cgn__full). Pods and containers get small numbers (pod_ix, ctr_ix, from 1), so that views
 * can group by them: the containers of one pod share its pod_ix.
 */
#define CGN_MAX	    65536
#define CGN_PATH_MAX 4096 /* PATH_MAX: a longer path is cut (cgroupfs names are shorter) */

struct cg_name {
	uint64_t id;
	const char *path;      /* "/..." below the mount: any bytes but NUL (escape to show) */
	const char *pod;       /* "namespace/name"; "" when not a pod's or its name is unknown */
	const char *container; /* the container's name; "" when unknown */
	struct cg_parsed p;    /* container id, runtime, pod uid, QoS */
	uint32_t pod_ix;       /* its pod's number (same pod, same number), 0: no pod */
	uint32_t ctr_ix;       /* its container's number, 0: no container */
	/* A pod or container whose name was not known when it was named (its log directory not
	 * there yet): the resolver may name it again. */
	bool incomplete;
};

/* The name of cgroup id, NULL when not known (or id is 0). */
const struct cg_name *cgn__get(uint64_t id);
/*
 * Name cgroup id (not 0): path (len bytes, cut at CGN_PATH_MAX, from the first NUL), pod
 * ("namespace/name" or NULL) and container (NULL: not known). Naming an id again replaces its
 * names (a pod whose name came later). Returns the entry, or NULL when the table is full or
 * memory short (counted in cgn__full()).
 */
const struct cg_name *cgn__set(uint64_t id, const char *path, size_t len, const char *pod,
			       const char *container);
/* How many ids could not be named because the table was full or memory short. */
uint64_t cgn__full(void);
/* How many ids are named. */
uint32_t cgn__count(void);
/* Call fn for every named id, in the order they were first named. */
void cgn__foreach(void (*fn)(void *arg, const struct cg_name *n), void *arg);
/* The short container id of n ("" when none): CG_SHORT_ID_LEN hex digits. */
const char *cgn__short_id(const struct cg_name *n, char buf[CG_SHORT_ID_LEN + 1]);
/* What views group by: pod ix's "namespace/name" ("pod<uid>" while its name is not known);
 * container ix's "namespace/pod/container" (its short id while its name is not known). ""
 * for 0 or a number not given. */
const char *cgn__pod_name(uint32_t pod_ix);
const char *cgn__ctr_name(uint32_t ctr_ix);
/* Container ix's own name (its short id while its name is not known): the last part of
 * cgn__ctr_name() (Kubernetes names have no '/'). */
const char *cgn__ctr_label(uint32_t ctr_ix);
/* Forget everything (tests). */
void cgn__clear(void);

#endif /* TD_NAMES_H */
