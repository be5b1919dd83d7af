/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What a cgroup v2 path says about the container and the Kubernetes pod it belongs to, and
 * what the kubelet's log directories say about a pod's and a container's names. Pure: it
 * reads strings it is given, never the file system (user/kernel/cgroups.c walks the cgroup2
 * mount and the log directories and hands their names here).
 *
 * The layouts read (cgroup v2 only; paths are relative to the cgroup2 mount, "/" first):
 *
 *   systemd driver                                   cgroupfs driver
 *   /system.slice/docker-<id>.scope                  /docker/<id>
 *   /machine.slice/libpod-<id>.scope[/container]     /libpod_parent/libpod-<id>
 *   /kubepods.slice/kubepods-<qos>.slice/            /kubepods/<qos>/pod<uid>/<id> (or crio-<id>)
 *     kubepods-<qos>-pod<uid_>.slice/                /kubepods/pod<uid>/<id>     (Guaranteed)
 *       cri-containerd-<id>.scope | crio-<id>.scope | docker-<id>.scope
 *   /kubepods.slice/kubepods-pod<uid_>.slice/...     (Guaranteed: no QoS segment)
 *   .../kubelet-kubepods-<qos>-pod<uid_>.slice/...   (a kubelet with --cgroup-root, as kind's)
 *
 * <id> is 64 lowercase hex digits; <uid> a pod uid (8-4-4-4-12 lowercase hex digits), which
 * the systemd driver writes with '_' for '-' (<uid_>). A path may hold several of these (a
 * kind or Docker-in-Docker node: /docker/<id>/kubepods/...): the innermost one wins, and a
 * pod is taken only with the container inside it, or alone when the path ends in (or below)
 * the pod's own slice. Anything else (an id of the wrong length or with other characters, a
 * uid of the wrong shape) matches nothing: the path is then shown as it is.
 */
#ifndef TD_CGPATH_H
#define TD_CGPATH_H

#include <stdbool.h>
#include <stddef.h>

#define CG_ID_LEN	64 /* a container id's hex digits */
#define CG_SHORT_ID_LEN 12 /* what `docker ps` shows */
#define CG_UID_LEN	36 /* a pod uid, with its '-' */
/* Kubernetes names: a namespace and a container name are DNS labels (63), a pod name a DNS
 * subdomain (253); longer names in a log directory's name are not taken. */
#define CG_NS_MAX   63
#define CG_NAME_MAX 253

enum cg_runtime {
	CG_RT_NONE = 0,
	CG_RT_DOCKER,	  /* docker-<id>.scope, /docker/<id> */
	CG_RT_CONTAINERD, /* cri-containerd-<id>.scope */
	CG_RT_CRIO,	  /* crio-<id>.scope */
	CG_RT_PODMAN,	  /* libpod-<id>.scope, /libpod_parent/libpod-<id> */
	CG_RT_KUBE,	  /* cgroupfs driver: /kubepods/.../pod<uid>/<id>, runtime not named */
};

enum cg_qos {
	CG_QOS_NONE = 0, /* not a pod */
	CG_QOS_GUARANTEED,
	CG_QOS_BURSTABLE,
	CG_QOS_BESTEFFORT,
};

struct cg_parsed {
	unsigned char runtime;		 /* enum cg_runtime; CG_RT_NONE: no container */
	unsigned char qos;		 /* enum cg_qos; CG_QOS_NONE: no pod */
	char container_id[CG_ID_LEN + 1]; /* "" when none */
	char pod_uid[CG_UID_LEN + 1];	 /* with '-' (never '_'); "" when none */
};

/* Read path (len bytes, not necessarily NUL-terminated; any bytes) into out (always fully
 * set). Returns true when a container or a pod was found. Empty and "." segments are
 * skipped; a ".." drops every segment before it (what it undoes is unknown); a path holding
 * a NUL names nothing. */
bool cgpath__parse(const char *path, size_t len, struct cg_parsed *out);

/* The runtime's name ("docker", "containerd", "cri-o", "podman", "kubernetes"), "" for
 * CG_RT_NONE; the QoS class ("guaranteed", "burstable", "besteffort"), "" for none. */
const char *cgpath__runtime_name(unsigned char runtime);
const char *cgpath__qos_name(unsigned char qos);

/* A directory of /var/log/pods: "<namespace>_<name>_<uid>". On success ns, pod and uid
 * (buffers of CG_NS_MAX + 1, CG_NAME_MAX + 1, CG_UID_LEN + 1 bytes) are set and true is
 * returned; a name of any other shape (or with bytes a Kubernetes name cannot have) gives
 * false and leaves them "". */
bool cgpath__pod_dir(const char *name, char *ns, char *pod, char *uid);

/* A file of /var/log/containers: "<pod>_<namespace>_<container>-<id>.log" (id as above).
 * On success pod, ns, container (CG_NAME_MAX + 1, CG_NS_MAX + 1, CG_NAME_MAX + 1 bytes) and
 * id (CG_ID_LEN + 1) are set and true is returned; otherwise false, all of them "". */
bool cgpath__container_log(const char *name, char *pod, char *ns, char *container, char *id);

#endif /* TD_CGPATH_H */
