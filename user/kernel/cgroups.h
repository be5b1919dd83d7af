/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Names for the cgroup ids the kernel's records carry (the socket's own cgroup v2, the
 * directory's inode number): the path below the cgroup2 mount, found by walking it, and the
 * pod and container names the kubelet leaves in its log directories (/var/log/pods/
 * <namespace>_<name>_<uid>/, /var/log/containers/<pod>_<namespace>_<container>-<id>.log),
 * read without any API server or credential. What it finds goes into the process's table
 * (names.h, cgn__*), which the views read; cgpath.c reads the paths.
 *
 * An id the last walk did not find is looked up first in /proc/PID/cgroup of the process
 * its record names (checked against the directory's inode), then by a new walk, at most once
 * per CGROUPS_WALK_EVERY_NS, bounded (CGROUPS_WALK_MAX directories, CGROUPS_POOL_MAX bytes of
 * paths; the first at open, with the caller's privileges). A pod whose names are not in the
 * last read of the log directories has them read again on their own (at most every
 * CGROUPS_LOGS_EVERY_NS). Ids are never reused, so an id named once keeps its name after its cgroup is
 * removed. An id that CGROUPS_GIVE_UP_WALKS walks since it was first seen did not find (its
 * cgroup was removed before it was seen), or whose pod's or container's name
 * CGROUPS_NAME_WALKS walks did not find, is settled: not looked up again, so that no id makes
 * tcpdwell walk for ever.
 */
#ifndef TD_CGROUPS_H
#define TD_CGROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "names.h"

#define CGROUPS_WALK_EVERY_NS 1000000000ULL /* a walk at most once a second */
#define CGROUPS_LOGS_EVERY_NS 100000000ULL  /* the log directories alone: 10 a second */
#define CGROUPS_WALK_MAX      65536	   /* directories read by one walk */
#define CGROUPS_POOL_MAX      (16u << 20)   /* bytes of paths one walk keeps */
#define CGROUPS_GIVE_UP_WALKS 2		   /* walks that must miss an id before it is settled */
#define CGROUPS_NAME_WALKS    5		   /* walks that may still bring a pod's names */
#define CGROUPS_PENDING_MAX   4096	   /* ids looked up and not named in full, kept */
#define CGROUPS_PODS_DIR      "/var/log/pods"

struct cgroups;

struct cgroups_stats {
	uint64_t walks, walk_ns; /* walks done, their CPU time */
	uint32_t dirs;		 /* directories the last walk found */
	uint64_t truncated;	 /* walks that stopped at CGROUPS_WALK_MAX */
	uint32_t pods, containers; /* names the last walk read from the log directories */
	uint64_t proc_named;	   /* ids named from /proc/PID/cgroup, without a walk */
	uint64_t given_up;	   /* ids settled without a name, or without their pod's */
	uint64_t pending_resets;   /* times the table of ids being looked up was full */
};

/*
 * Find the cgroup2 mount (/sys/fs/cgroup, else the first in /proc/self/mountinfo). pods_dir
 * is the kubelet's pod log directory (NULL: CGROUPS_PODS_DIR); the container logs are read
 * from "containers" beside it. A missing log directory is not an error (not a Kubernetes
 * node). Returns NULL with a message when there is no cgroup2 mount.
 */
struct cgroups *cgroups__open(const char *pods_dir, char *err, size_t len);
void cgroups__close(struct cgroups *g);

/*
 * Cgroup id was seen in a record (or a socket dump) of process pid (0: none, a record made
 * outside process context). Names it if it is not named yet, or named without its pod's or
 * container's name (cg_name.incomplete) and the log directories may tell more now. Returns
 * the entry when it was named or renamed by this call (to be written to a recording), NULL
 * otherwise; *settled says whether the id needs no more looking up (named in full, or given
 * up): the caller need not call again for it.
 */
const struct cg_name *cgroups__see(struct cgroups *g, uint64_t id, uint32_t pid, bool *settled);

const struct cgroups_stats *cgroups__stats(const struct cgroups *g);

#endif /* TD_CGROUPS_H */
