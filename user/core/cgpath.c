// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Container ids and pod uids out of cgroup v2 paths, and pod and container names out of the
 * kubelet's log directory names (see cgpath.h for the layouts). The edge that walks the
 * cgroup2 mount hands its strings here; nothing in this file touches the file system.
 *
 * Every input is treated as hostile: any byte may appear, a path need not be terminated,
 * and nothing is read past its length. Each check is a fixed shape tested after its length,
 * so a path costs O(len) whatever it holds. Character classes are spelled out by hand:
 * isxdigit() and friends follow the locale, and a cgroup name must not.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "cgpath.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A piece of a string that is not NUL-terminated. */
struct span {
	const char *p;
	size_t n;
};

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
}

/* A container id: exactly 64 lowercase hex digits (upper case is not what any runtime
 * writes, so a name using it is not a runtime's). */
static bool is_id(struct span s)
{
	if (s.n != CG_ID_LEN)
		return false;
	for (size_t i = 0; i < s.n; i++)
		if (!is_hex(s.p[i]))
			return false;
	return true;
}

/* A pod uid, 8-4-4-4-12 lowercase hex digits, its groups joined by sep only: the systemd
 * driver's '_' form and the API's '-' form are never mixed in one name. */
static bool is_uid(struct span s, char sep)
{
	if (s.n != CG_UID_LEN)
		return false;
	for (size_t i = 0; i < s.n; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s.p[i] != sep)
				return false;
		} else if (!is_hex(s.p[i])) {
			return false;
		}
	}
	return true;
}

static bool span_is(struct span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n == n && !memcmp(s.p, lit, n);
}

/* s is pre + something + suf: *mid is set to the something (which may be empty). */
static bool strip(struct span s, const char *pre, const char *suf, struct span *mid)
{
	size_t np = strlen(pre), ns = strlen(suf);

	if (s.n < np + ns || memcmp(s.p, pre, np) || memcmp(s.p + s.n - ns, suf, ns))
		return false;
	mid->p = s.p + np;
	mid->n = s.n - np - ns;
	return true;
}

/* The systemd driver's scopes: the unit name says which runtime made it. Their conmon
 * scopes (crio-conmon-<id>.scope, libpod-conmon-<id>.scope) fail the id check, as they
 * should: the monitor is not the container. */
static const struct {
	const char *prefix;
	unsigned char runtime;
} scopes[] = {
	{ "docker-", CG_RT_DOCKER },
	{ "cri-containerd-", CG_RT_CONTAINERD },
	{ "crio-", CG_RT_CRIO },
	{ "libpod-", CG_RT_PODMAN },
};

/* The systemd driver's pod slices, named after their QoS class. */
static const struct {
	const char *prefix;
	unsigned char qos;
} pod_slices[] = {
	{ "kubepods-pod", CG_QOS_GUARANTEED },
	{ "kubepods-burstable-pod", CG_QOS_BURSTABLE },
	{ "kubepods-besteffort-pod", CG_QOS_BESTEFFORT },
};

/*
 * Where the segment being read sits. The cgroupfs driver's names (/docker/<id>,
 * /kubepods/burstable/pod<uid>/<id>) say nothing alone: a bare id or pod<uid> is only taken
 * below the parents that give it its meaning.
 */
struct ctx {
	struct span parent, grand;
	bool parent_is_cgfs_pod;
};

/* The runtime of a container segment (*id set to its id), or CG_RT_NONE. */
static unsigned char container_seg(struct span s, const struct ctx *c, struct span *id)
{
	struct span mid;

	for (size_t i = 0; i < ARRAY_SIZE(scopes); i++) {
		if (strip(s, scopes[i].prefix, ".scope", &mid) && is_id(mid)) {
			*id = mid;
			return scopes[i].runtime;
		}
	}
	if (is_id(s)) {
		*id = s;
		if (span_is(c->parent, "docker"))
			return CG_RT_DOCKER;
		if (c->parent_is_cgfs_pod)
			return CG_RT_KUBE;
		return CG_RT_NONE;
	}
	if (span_is(c->parent, "libpod_parent") && strip(s, "libpod-", "", &mid) && is_id(mid)) {
		*id = mid;
		return CG_RT_PODMAN;
	}
	/* CRI-O's cgroupfs manager names a pod's container crio-<id>, without ".scope". */
	if (c->parent_is_cgfs_pod && strip(s, "crio-", "", &mid) && is_id(mid)) {
		*id = mid;
		return CG_RT_CRIO;
	}
	return CG_RT_NONE;
}

/* The QoS class of a pod segment (*uid set to its uid, *cgfs to whether it is the cgroupfs
 * driver's), or CG_QOS_NONE. */
static unsigned char pod_seg(struct span s, const struct ctx *c, struct span *uid, bool *cgfs)
{
	struct span mid;

	/* systemd names a slice after the slices it is in, so a kubelet with its own
	 * --cgroup-root (kind's: /kubelet) makes "kubelet-kubepods-burstable-pod<uid_>.slice":
	 * the pod's prefix starts the name or follows a '-'. */
	if (strip(s, "", ".slice", &mid) && mid.n >= CG_UID_LEN) {
		struct span u = { mid.p + mid.n - CG_UID_LEN, CG_UID_LEN };
		struct span head = { mid.p, mid.n - CG_UID_LEN };

		for (size_t i = 0; is_uid(u, '_') && i < ARRAY_SIZE(pod_slices); i++) {
			size_t np = strlen(pod_slices[i].prefix);

			if (head.n < np || memcmp(head.p + head.n - np, pod_slices[i].prefix, np) ||
			    (head.n > np && head.p[head.n - np - 1] != '-'))
				continue;
			*uid = u;
			*cgfs = false;
			return pod_slices[i].qos;
		}
	}
	if (!strip(s, "pod", "", &mid) || !is_uid(mid, '-'))
		return CG_QOS_NONE;
	*uid = mid;
	*cgfs = true;
	if (span_is(c->parent, "kubepods"))
		return CG_QOS_GUARANTEED;
	if (!span_is(c->grand, "kubepods"))
		return CG_QOS_NONE;
	if (span_is(c->parent, "burstable"))
		return CG_QOS_BURSTABLE;
	if (span_is(c->parent, "besteffort"))
		return CG_QOS_BESTEFFORT;
	return CG_QOS_NONE;
}

bool cgpath__parse(const char *path, size_t len, struct cg_parsed *out)
{
	static const struct span none = { "", 0 };
	struct ctx c = { none, none, false };
	struct span id = none, uid = none;
	unsigned char runtime = CG_RT_NONE, qos = CG_QOS_NONE;
	/* A pod segment came after the last container segment: the pod is reported alone. */
	bool pod_last = false;
	size_t i = 0;

	if (!out)
		return false;
	memset(out, 0, sizeof(*out));
	/* No cgroup name holds a NUL, and whoever prints the path as a C string would show
	 * less of it than was read here: such a path names nothing. */
	if (!path || !len || memchr(path, 0, len))
		return false;

	while (i < len) {
		const char *slash = memchr(path + i, '/', len - i);
		size_t end = slash ? (size_t)(slash - path) : len;
		struct span s = { path + i, end - i }, sid, suid;
		unsigned char rt, q = CG_QOS_NONE;
		bool cgfs = false;

		i = end + 1;
		/* "//" and "/./" name the same cgroup as "/" (a trailing '/' is a join's). */
		if (s.n == 0 || span_is(s, "."))
			continue;
		/*
		 * ".." may undo any segment before it, so none of them can be trusted to hold
		 * what follows: start again. The segments after the last ".." do descend one
		 * from the other (a reader inside a cgroup namespace sees paths outside its root
		 * as /../../system.slice/...), so what they name is still taken.
		 */
		if (span_is(s, "..")) {
			c = (struct ctx){ none, none, false };
			id = uid = none;
			runtime = CG_RT_NONE;
			qos = CG_QOS_NONE;
			pod_last = false;
			continue;
		}
		rt = container_seg(s, &c, &sid);
		if (rt != CG_RT_NONE) {
			runtime = rt;
			id = sid;
			pod_last = false;
		} else {
			q = pod_seg(s, &c, &suid, &cgfs);
			if (q != CG_QOS_NONE) {
				qos = q;
				uid = suid;
				pod_last = true;
			}
		}
		c.grand = c.parent;
		c.parent = s;
		/* Only a pod taken as one gives a bare id below it a meaning. */
		c.parent_is_cgfs_pod = cgfs && q != CG_QOS_NONE;
	}

	if (pod_last)
		runtime = CG_RT_NONE;
	if (runtime != CG_RT_NONE) {
		out->runtime = runtime;
		memcpy(out->container_id, id.p, CG_ID_LEN);
	}
	if (qos != CG_QOS_NONE) {
		out->qos = qos;
		for (size_t k = 0; k < CG_UID_LEN; k++)
			out->pod_uid[k] = uid.p[k] == '_' ? '-' : uid.p[k];
	}
	return out->runtime != CG_RT_NONE || out->qos != CG_QOS_NONE;
}

const char *cgpath__runtime_name(unsigned char runtime)
{
	static const char *const names[] = {
		[CG_RT_NONE] = "",
		[CG_RT_DOCKER] = "docker",
		[CG_RT_CONTAINERD] = "containerd",
		[CG_RT_CRIO] = "cri-o",
		[CG_RT_PODMAN] = "podman",
		[CG_RT_KUBE] = "kubernetes",
	};

	return runtime < ARRAY_SIZE(names) ? names[runtime] : "";
}

const char *cgpath__qos_name(unsigned char qos)
{
	static const char *const names[] = {
		[CG_QOS_NONE] = "",
		[CG_QOS_GUARANTEED] = "guaranteed",
		[CG_QOS_BURSTABLE] = "burstable",
		[CG_QOS_BESTEFFORT] = "besteffort",
	};

	return qos < ARRAY_SIZE(names) ? names[qos] : "";
}

/* A DNS-1123 label (a namespace, a container): [a-z0-9-], 1..max, alphanumeric at both
 * ends. */
static bool is_label(struct span s, size_t max)
{
	if (s.n == 0 || s.n > max || !is_alnum(s.p[0]) || !is_alnum(s.p[s.n - 1]))
		return false;
	for (size_t i = 0; i < s.n; i++)
		if (!is_alnum(s.p[i]) && s.p[i] != '-')
			return false;
	return true;
}

/*
 * A DNS-1123 subdomain (a pod name): labels joined by '.', 1..max in all. Kubernetes'
 * regex makes every label, not only the whole name, start and end alphanumeric, so "a..b"
 * and "a.-b" are refused as the API server refuses them.
 */
static bool is_subdomain(struct span s, size_t max)
{
	if (s.n == 0 || s.n > max || !is_alnum(s.p[0]) || !is_alnum(s.p[s.n - 1]))
		return false;
	for (size_t i = 0; i < s.n; i++) {
		if (s.p[i] == '.') {
			/* Not at either end (checked above), so both neighbours exist. */
			if (!is_alnum(s.p[i - 1]) || !is_alnum(s.p[i + 1]))
				return false;
		} else if (!is_alnum(s.p[i]) && s.p[i] != '-') {
			return false;
		}
	}
	return true;
}

/* name (n bytes) as "<a>_<b>_<c>", with exactly two '_'. */
static bool split3(const char *name, size_t n, struct span *a, struct span *b, struct span *c)
{
	const char *u1 = memchr(name, '_', n), *u2, *end = name + n;

	if (!u1)
		return false;
	u2 = memchr(u1 + 1, '_', (size_t)(end - u1 - 1));
	if (!u2 || memchr(u2 + 1, '_', (size_t)(end - u2 - 1)))
		return false;
	*a = (struct span){ name, (size_t)(u1 - name) };
	*b = (struct span){ u1 + 1, (size_t)(u2 - u1 - 1) };
	*c = (struct span){ u2 + 1, (size_t)(end - u2 - 1) };
	return true;
}

/* Callers size dst for the field's maximum, which the checks have already enforced. */
static void put(char *dst, struct span s)
{
	memcpy(dst, s.p, s.n);
	dst[s.n] = 0;
}

bool cgpath__pod_dir(const char *name, char *ns, char *pod, char *uid)
{
	/* The longest name that can be valid; strnlen() stops one past it, so a hostile
	 * name of any length costs no more than this. */
	const size_t max = CG_NS_MAX + 1 + CG_NAME_MAX + 1 + CG_UID_LEN;
	struct span sns, spod, suid;
	size_t n;

	if (ns)
		ns[0] = 0;
	if (pod)
		pod[0] = 0;
	if (uid)
		uid[0] = 0;
	if (!name || !ns || !pod || !uid)
		return false;
	n = strnlen(name, max + 1);
	if (n > max || !split3(name, n, &sns, &spod, &suid))
		return false;
	if (!is_label(sns, CG_NS_MAX) || !is_subdomain(spod, CG_NAME_MAX) || !is_uid(suid, '-'))
		return false;
	put(ns, sns);
	put(pod, spod);
	put(uid, suid);
	return true;
}

bool cgpath__container_log(const char *name, char *pod, char *ns, char *container, char *id)
{
	/* Container names are DNS labels (63): Kubernetes validates them as such. */
	const size_t cmax = CG_NS_MAX;
	const size_t tail = 1 + CG_ID_LEN + 4; /* "-<id>.log" */
	const size_t max = CG_NAME_MAX + 1 + CG_NS_MAX + 1 + cmax + tail;
	struct span spod, sns, sctr, sid, whole;
	size_t n;

	if (pod)
		pod[0] = 0;
	if (ns)
		ns[0] = 0;
	if (container)
		container[0] = 0;
	if (id)
		id[0] = 0;
	if (!name || !pod || !ns || !container || !id)
		return false;
	n = strnlen(name, max + 1);
	if (n > max || n < tail)
		return false;
	/* The id is split off from the end: container names hold '-' too. */
	whole = (struct span){ name, n };
	if (!strip(whole, "", ".log", &whole) || whole.p[whole.n - CG_ID_LEN - 1] != '-')
		return false;
	sid = (struct span){ whole.p + whole.n - CG_ID_LEN, CG_ID_LEN };
	if (!is_id(sid) || !split3(name, whole.n - CG_ID_LEN - 1, &spod, &sns, &sctr))
		return false;
	if (!is_subdomain(spod, CG_NAME_MAX) || !is_label(sns, CG_NS_MAX) || !is_label(sctr, cmax))
		return false;
	put(pod, spod);
	put(ns, sns);
	put(container, sctr);
	put(id, sid);
	return true;
}
