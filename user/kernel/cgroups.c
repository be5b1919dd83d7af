// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Names for cgroup ids: the cgroup2 mount and the kubelet's log directories (cgroups.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "cgpath.h"
#include "cgroups.h"
#include "clock.h"
#include "hash.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* Depth of the walk: systemd's deepest (a rootless Podman container) is about 10. */
#define WALK_DEPTH 32

/* A pod's name by uid, a container's by id: what the last walk read from the log dirs. */
struct pod_ent {
	char uid[CG_UID_LEN + 1];
	char name[CG_NS_MAX + 1 + CG_NAME_MAX + 1]; /* namespace/name */
};
struct ctr_ent {
	char id[CG_ID_LEN + 1];
	char name[CG_NAME_MAX + 1];
};

/* What one walk found: every directory's inode and path, by inode. */
struct snapshot {
	uint64_t *ino;
	uint32_t *off; /* into pool */
	uint32_t n, cap;
	uint32_t *ix; /* open addressing: index + 1 */
	uint32_t mask;
	char *pool;
	size_t used, pcap;
	struct pod_ent *pods;
	struct ctr_ent *ctrs;
	uint32_t npods, nctrs, cappods, capctrs;
};

/* An id being looked up: the walks done when it was first seen; settled: no more tries. */
struct pending {
	uint64_t id; /* 0: empty */
	uint64_t first_walk;
	bool settled;
};

struct cgroups {
	char mount[PATH_MAX];
	char pods_dir[PATH_MAX];
	char ctrs_dir[PATH_MAX];
	uint64_t last_walk_ns; /* 0: never */
	uint64_t last_logs_ns; /* when the log directories were last read; 0: never */
	struct snapshot s;
	struct cgroups_stats st;
	/* Open addressing by id, CGROUPS_PENDING_MAX * 2 entries, at most half full. */
	struct pending pend[CGROUPS_PENDING_MAX * 2];
	uint32_t npend;
};

static void snap_free(struct snapshot *s)
{
	free(s->ino);
	free(s->off);
	free(s->ix);
	free(s->pool);
	free(s->pods);
	free(s->ctrs);
	memset(s, 0, sizeof(*s));
}

static uint32_t snap_slot(const struct snapshot *s, uint64_t ino)
{
	uint32_t h = (uint32_t)mix64(ino) & s->mask;

	while (s->ix[h] && s->ino[s->ix[h] - 1] != ino)
		h = (h + 1) & s->mask;
	return h;
}

static const char *snap_find(const struct snapshot *s, uint64_t ino)
{
	uint32_t i;

	if (!s->ix)
		return NULL;
	i = s->ix[snap_slot(s, ino)];
	return i ? s->pool + s->off[i - 1] : NULL;
}

/* Adds a directory; false when memory is short (the walk then stops). */
static bool snap_add(struct snapshot *s, uint64_t ino, const char *path, size_t len)
{
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 256;
		uint64_t *ni = realloc(s->ino, cap * sizeof(*ni));

		if (!ni)
			return false;
		s->ino = ni;
		uint32_t *no = realloc(s->off, cap * sizeof(*no));

		if (!no)
			return false;
		s->off = no;
		s->cap = cap;
	}
	if (s->used + len + 1 > CGROUPS_POOL_MAX)
		return false;
	if (s->used + len + 1 > s->pcap) {
		size_t cap = s->pcap ? s->pcap * 2 : 16384;
		char *np;

		while (cap < s->used + len + 1)
			cap *= 2;
		if (cap > UINT32_MAX)
			return false;
		np = realloc(s->pool, cap);
		if (!np)
			return false;
		s->pool = np;
		s->pcap = cap;
	}
	memcpy(s->pool + s->used, path, len);
	s->pool[s->used + len] = 0;
	s->ino[s->n] = ino;
	s->off[s->n] = (uint32_t)s->used;
	s->used += len + 1;
	s->n++;
	return true;
}

/* The inode index, made once the walk is done. */
static bool snap_index(struct snapshot *s)
{
	uint32_t size = 256;

	while (size < s->n * 2)
		size *= 2;
	s->ix = calloc(size, sizeof(*s->ix));
	if (!s->ix)
		return false;
	s->mask = size - 1;
	for (uint32_t i = 0; i < s->n; i++) {
		uint32_t h = snap_slot(s, s->ino[i]);

		if (!s->ix[h])
			s->ix[h] = i + 1;
	}
	return true;
}

/* Reads the directory at dfd (path is its path below the mount, len bytes in a buffer of
 * PATH_MAX) and its subdirectories. Returns false when the walk must stop. */
static bool walk(struct cgroups *g, int dfd, char *path, size_t len, int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	bool go_on = true;

	if (!d) {
		close(dfd);
		return true;
	}
	while (go_on && (de = readdir(d))) {
		struct stat st;
		size_t nl;
		int fd;

		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		nl = strlen(de->d_name);
		if (len + 1 + nl >= PATH_MAX)
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st)) {
			close(fd);
			continue;
		}
		path[len] = '/';
		memcpy(path + len + 1, de->d_name, nl + 1);
		if (g->s.n >= CGROUPS_WALK_MAX) {
			g->st.truncated++;
			close(fd);
			go_on = false;
		} else if (!snap_add(&g->s, st.st_ino, path, len + 1 + nl)) {
			g->st.truncated++;
			close(fd);
			go_on = false;
		} else if (depth + 1 < WALK_DEPTH) {
			go_on = walk(g, fd, path, len + 1 + nl, depth + 1);
		} else {
			close(fd);
		}
		path[len] = 0;
	}
	closedir(d);
	return go_on;
}

/* The kubelet's pod and container log directories' names. */
static void read_logs(struct cgroups *g)
{
	struct snapshot *s = &g->s;
	struct dirent *de;
	DIR *d;

	d = opendir(g->pods_dir);
	while (d && (de = readdir(d))) {
		char ns[CG_NS_MAX + 1], pod[CG_NAME_MAX + 1], uid[CG_UID_LEN + 1];

		if (!cgpath__pod_dir(de->d_name, ns, pod, uid))
			continue;
		if (s->npods == s->cappods) {
			uint32_t cap = s->cappods ? s->cappods * 2 : 64;
			struct pod_ent *n = realloc(s->pods, cap * sizeof(*n));

			if (!n)
				break;
			s->pods = n;
			s->cappods = cap;
		}
		memcpy(s->pods[s->npods].uid, uid, sizeof(uid));
		snprintf(s->pods[s->npods].name, sizeof(s->pods[s->npods].name), "%s/%s", ns, pod);
		s->npods++;
	}
	if (d)
		closedir(d);
	d = opendir(g->ctrs_dir);
	while (d && (de = readdir(d))) {
		char pod[CG_NAME_MAX + 1], ns[CG_NS_MAX + 1], ctr[CG_NAME_MAX + 1];
		char id[CG_ID_LEN + 1];

		if (!cgpath__container_log(de->d_name, pod, ns, ctr, id))
			continue;
		if (s->nctrs == s->capctrs) {
			uint32_t cap = s->capctrs ? s->capctrs * 2 : 64;
			struct ctr_ent *n = realloc(s->ctrs, cap * sizeof(*n));

			if (!n)
				break;
			s->ctrs = n;
			s->capctrs = cap;
		}
		memcpy(s->ctrs[s->nctrs].id, id, sizeof(id));
		memcpy(s->ctrs[s->nctrs].name, ctr, sizeof(ctr));
		s->nctrs++;
	}
	if (d)
		closedir(d);
	g->st.pods = s->npods;
	g->st.containers = s->nctrs;
}

/* The log directories again, without a walk: a pod that started since the last one. */
static void refresh_logs(struct cgroups *g, uint64_t now)
{
	g->s.npods = g->s.nctrs = 0;
	g->last_logs_ns = now ? now : 1;
	read_logs(g);
}

static void rewalk(struct cgroups *g, uint64_t now)
{
	uint64_t cpu = clock__ns(CLOCK_THREAD_CPUTIME_ID);
	char path[PATH_MAX] = "";
	int fd;

	snap_free(&g->s);
	g->last_walk_ns = now ? now : 1;
	g->st.walks++;
	fd = open(g->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* The mount itself is the root cgroup, "/". */
	if (fd >= 0) {
		struct stat st;

		if (!fstat(fd, &st))
			snap_add(&g->s, st.st_ino, "/", 1);
		walk(g, fd, path, 0, 0);
	}
	snap_index(&g->s);
	g->last_logs_ns = g->last_walk_ns;
	read_logs(g);
	g->st.dirs = g->s.n;
	g->st.walk_ns += clock__ns(CLOCK_THREAD_CPUTIME_ID) - cpu;
}

static const char *pod_name(const struct snapshot *s, const char *uid)
{
	for (uint32_t i = 0; i < s->npods; i++)
		if (!strcmp(s->pods[i].uid, uid))
			return s->pods[i].name;
	return NULL;
}

static const char *ctr_name(const struct snapshot *s, const char *id)
{
	for (uint32_t i = 0; i < s->nctrs; i++)
		if (!strcmp(s->ctrs[i].id, id))
			return s->ctrs[i].name;
	return NULL;
}

/*
 * The pending entry of id; with make, made when absent (first_walk: walks done before). A
 * full table is emptied first: the ids settled in it are tried again, at the cost of at most
 * CGROUPS_NAME_WALKS walks each, rather than never looked up.
 */
static struct pending *pending_of(struct cgroups *g, uint64_t id, bool make, uint64_t walks)
{
	uint32_t mask = CGROUPS_PENDING_MAX * 2 - 1, h = (uint32_t)mix64(id) & mask;

	while (g->pend[h].id && g->pend[h].id != id)
		h = (h + 1) & mask;
	if (g->pend[h].id || !make)
		return g->pend[h].id ? &g->pend[h] : NULL;
	if (g->npend == CGROUPS_PENDING_MAX) {
		memset(g->pend, 0, sizeof(g->pend));
		g->npend = 0;
		g->st.pending_resets++;
		for (h = (uint32_t)mix64(id) & mask; g->pend[h].id; h = (h + 1) & mask)
			;
	}
	g->npend++;
	g->pend[h] = (struct pending){ .id = id, .first_walk = walks };
	return &g->pend[h];
}

/*
 * Id's path from /proc/PID/cgroup ("0::/path" in the cgroup2 line), into buf, when the
 * directory at that path below the mount is id's (its inode): the process may have moved
 * since its record, and in a cgroup namespace of its own the path is not the mount's.
 */
static const char *proc_path(struct cgroups *g, uint32_t pid, uint64_t id, char *buf,
			     size_t len)
{
	char file[64], full[PATH_MAX * 2];
	struct stat st;
	bool found = false;
	FILE *f;

	if (!pid)
		return NULL;
	snprintf(file, sizeof(file), "/proc/%u/cgroup", pid);
	f = fopen(file, "re");
	while (f && !found && fgets(buf, (int)len, f)) {
		size_t n = strlen(buf);

		if (strncmp(buf, "0::/", 4) || !n || buf[n - 1] != '\n')
			continue;
		buf[n - 1] = 0;
		memmove(buf, buf + 3, n - 3);
		found = true;
	}
	if (f)
		fclose(f);
	if (!found)
		return NULL;
	snprintf(full, sizeof(full), "%s%s", g->mount, strcmp(buf, "/") ? buf : "");
	if (stat(full, &st) || !S_ISDIR(st.st_mode) || st.st_ino != id)
		return NULL;
	g->st.proc_named++;
	return buf;
}

const struct cg_name *cgroups__see(struct cgroups *g, uint64_t id, uint32_t pid, bool *settled)
{
	const struct cg_name *old = cgn__get(id), *n = NULL;
	const char *path, *pod = NULL, *ctr = NULL;
	uint64_t now, walks_before = g->st.walks;
	struct pending *p;
	struct cg_parsed cp;
	char buf[PATH_MAX];

	*settled = true;
	if (!id || (old && !old->incomplete))
		return NULL;
	p = pending_of(g, id, false, 0);
	if (p && p->settled)
		return NULL;
	/* Known from the last walk; or named already (its pod's names missing); or, the first
	 * time only (a file read: not once per record), from its process. */
	path = snap_find(&g->s, id);
	if (!path && old)
		path = old->path;
	else if (!path && !p)
		path = proc_path(g, pid, id, buf, sizeof(buf));
	now = clock__mono_ns();
	/* Not found, or found without the names the node may have by now: look again, at most
	 * once per CGROUPS_WALK_EVERY_NS. */
	if ((!path || old) && (!g->last_walk_ns || now - g->last_walk_ns >= CGROUPS_WALK_EVERY_NS)) {
		rewalk(g, now);
		path = snap_find(&g->s, id) ?: path;
	}
	if (path) {
		cgpath__parse(path, strlen(path), &cp);
		if (cp.pod_uid[0])
			pod = pod_name(&g->s, cp.pod_uid);
		if (cp.container_id[0])
			ctr = ctr_name(&g->s, cp.container_id);
		/* A pod newer than the last read of the kubelet's directories: read them again
		 * (two readdirs, at most every CGROUPS_LOGS_EVERY_NS), not the whole mount. */
		if (((cp.pod_uid[0] && !pod) || (cp.pod_uid[0] && cp.container_id[0] && !ctr)) &&
		    now - g->last_logs_ns >= CGROUPS_LOGS_EVERY_NS) {
			refresh_logs(g, now);
			pod = cp.pod_uid[0] ? pod_name(&g->s, cp.pod_uid) : NULL;
			ctr = cp.container_id[0] ? ctr_name(&g->s, cp.container_id) : NULL;
		}
		if (!old || strcmp(old->path, path) || strcmp(old->pod, pod ?: "") ||
		    strcmp(old->container, ctr ?: ""))
			n = cgn__set(id, path, strlen(path), pod, ctr);
		old = cgn__get(id);
		if (old && !old->incomplete)
			return n; /* named in full: nothing pending */
	}
	/* Not named, or not in full: pending, until enough walks since it was first seen. */
	p = p ?: pending_of(g, id, true, walks_before);
	*settled = false;
	if (g->st.walks - p->first_walk >= (path ? CGROUPS_NAME_WALKS : CGROUPS_GIVE_UP_WALKS)) {
		/* Its cgroup was gone before it was seen, or the kubelet's logs never name it
		 * (Docker in a pod, a kubelet elsewhere): it keeps what it has. */
		p->settled = *settled = true;
		g->st.given_up++;
	}
	return n;
}

/* The first cgroup2 mount in mountinfo (its mount point unescaped: \040 is a space). */
static bool find_mount(char *out, size_t len)
{
	char line[4096];
	struct statfs sf;
	bool found = false;
	FILE *f;

	if (!statfs("/sys/fs/cgroup", &sf) && sf.f_type == CGROUP2_SUPER_MAGIC) {
		snprintf(out, len, "/sys/fs/cgroup");
		return true;
	}
	f = fopen("/proc/self/mountinfo", "re");
	while (f && !found && fgets(line, sizeof(line), f)) {
		char m[PATH_MAX], fstype[64], *dash = strstr(line, " - ");
		size_t o = 0;

		if (!dash || sscanf(dash + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", m) != 1)
			continue;
		for (size_t i = 0; m[i] && o + 1 < len; i++) {
			if (m[i] == '\\' && m[i + 1] >= '0' && m[i + 1] <= '3' && m[i + 2] >= '0' &&
			    m[i + 2] <= '7' && m[i + 3] >= '0' && m[i + 3] <= '7') {
				out[o++] = (char)((m[i + 1] - '0') << 6 | (m[i + 2] - '0') << 3 |
						  (m[i + 3] - '0'));
				i += 3;
			} else {
				out[o++] = m[i];
			}
		}
		out[o] = 0;
		found = true;
	}
	if (f)
		fclose(f);
	return found;
}

struct cgroups *cgroups__open(const char *pods_dir, char *err, size_t len)
{
	struct cgroups *g = calloc(1, sizeof(*g));
	const char *slash;
	size_t plen;

	if (!g) {
		snprintf(err, len, "out of memory");
		return NULL;
	}
	if (!find_mount(g->mount, sizeof(g->mount))) {
		snprintf(err, len, "no cgroup v2 mount: cgroups are shown as numbers");
		free(g);
		return NULL;
	}
	pods_dir = pods_dir ?: CGROUPS_PODS_DIR;
	snprintf(g->pods_dir, sizeof(g->pods_dir), "%s", pods_dir);
	/* "containers" beside the pods directory: /var/log/pods -> /var/log/containers. */
	plen = strlen(g->pods_dir);
	while (plen > 1 && g->pods_dir[plen - 1] == '/')
		g->pods_dir[--plen] = 0;
	slash = strrchr(g->pods_dir, '/');
	if (!slash)
		snprintf(g->ctrs_dir, sizeof(g->ctrs_dir), "containers");
	else
		snprintf(g->ctrs_dir, sizeof(g->ctrs_dir), "%.*s/containers",
			 (int)(slash - g->pods_dir), g->pods_dir);
	/* The first walk now, while the caller may still hold its privileges: the sockets found
	 * at start and the first records find their cgroups there. */
	rewalk(g, clock__mono_ns());
	return g;
}

void cgroups__close(struct cgroups *g)
{
	if (!g)
		return;
	snap_free(&g->s);
	free(g);
}

const struct cgroups_stats *cgroups__stats(const struct cgroups *g)
{
	return &g->st;
}
