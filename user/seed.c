// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Seeding from the kernel's socket dump: the sockets already open when
 * tcpdwell starts enter the connection table with their state, cookie and owner,
 * and a lower bound of their dwell. seed__parse (pure) decodes inet_diag
 * messages; seed__dump (the edge) walks namespaces, netlink and /proc.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>

#include "seed.h"

#define TIMER_TIMEWAIT 3 /* idiag_timer of a timewait socket */

int seed__parse(const void *buf, size_t len, uint32_t netns, uint64_t now_ns,
		void (*fn)(void *arg, struct conn *c, uint32_t inode), void *arg, char *err,
		size_t errlen)
{
	const struct nlmsghdr *h = buf;
	size_t left = len;

	for (; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
		const struct inet_diag_msg *m;
		struct conn c;

		if (h->nlmsg_type == NLMSG_DONE)
			return 1;
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				snprintf(err, errlen, "socket dump: truncated error message");
			else
				snprintf(err, errlen, "socket dump failed: %s", strerror(-e->error));
			return -1;
		}
		if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m))) {
			snprintf(err, errlen, "socket dump: message of %u bytes is too short",
				 h->nlmsg_len);
			return -1;
		}
		m = NLMSG_DATA(h);
		if ((m->idiag_family != AF_INET && m->idiag_family != AF_INET6) ||
		    m->idiag_state == 0 || m->idiag_state >= TD_NEW_SYN_RECV)
			continue;
		memset(&c, 0, sizeof(c));
		c.cookie = (uint64_t)m->id.idiag_cookie[0] | (uint64_t)m->id.idiag_cookie[1] << 32;
		c.family = m->idiag_family == AF_INET6 ? 6 : 4;
		c.state = m->idiag_state;
		memcpy(c.saddr, m->id.idiag_src, c.family == 6 ? 16 : 4);
		memcpy(c.daddr, m->id.idiag_dst, c.family == 6 ? 16 : 4);
		c.sport = ntohs(m->id.idiag_sport);
		c.dport = ntohs(m->id.idiag_dport);
		c.netns = netns;
		c.role = c.state == TD_LISTEN ? CT_ROLE_LISTEN : CT_ROLE_UNKNOWN;
		c.step_ns[0] = now_ns;
		if (m->idiag_timer == TIMER_TIMEWAIT) {
			/* A timewait socket: its timer was set to 60 s at entry (both for
			 * TIME_WAIT and for the orphaned FIN_WAIT2 hand-off). */
			uint64_t left_ns = (uint64_t)m->idiag_expires * 1000000ULL;
			uint64_t full = (uint64_t)TD_TIMEWAIT_LEN_MS * 1000000ULL;

			c.flags |= CT_F_TW;
			c.tw_substate = c.state;
			if (left_ns < full && now_ns > full - left_ns)
				c.step_ns[0] = now_ns - (full - left_ns);
		}
		c.start_ns = c.step_ns[0];
		fn(arg, &c, m->idiag_inode);
	}
	if (left) {
		snprintf(err, errlen, "socket dump: %zu stray bytes after the last message", left);
		return -1;
	}
	return 0;
}

/* --- owners: socket inode -> lowest pid holding it --- */

struct owner {
	uint32_t inode;
	uint32_t pid;
};

struct owners {
	struct owner *v;
	size_t n, cap;
};

static int cmp_owner(const void *a, const void *b)
{
	const struct owner *x = a, *y = b;

	if (x->inode != y->inode)
		return x->inode < y->inode ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static void owners_scan(struct owners *o)
{
	DIR *proc = opendir("/proc");
	struct dirent *p;

	while (proc && (p = readdir(proc))) {
		char path[64], link[64];
		struct dirent *f;
		DIR *fds;
		char *end;
		unsigned long pid = strtoul(p->d_name, &end, 10);

		if (*end || !pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%lu/fd", pid);
		fds = opendir(path);
		while (fds && (f = readdir(fds))) {
			char fpath[384];
			ssize_t n;
			unsigned long ino;

			if (f->d_name[0] == '.')
				continue;
			snprintf(fpath, sizeof(fpath), "%s/%s", path, f->d_name);
			n = readlink(fpath, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = 0;
			if (sscanf(link, "socket:[%lu]", &ino) != 1)
				continue;
			if (o->n == o->cap) {
				size_t cap = o->cap ? o->cap * 2 : 1024;
				struct owner *v = realloc(o->v, cap * sizeof(*v));

				if (!v)
					break;
				o->v = v;
				o->cap = cap;
			}
			o->v[o->n].inode = (uint32_t)ino;
			o->v[o->n].pid = (uint32_t)pid;
			o->n++;
		}
		if (fds)
			closedir(fds);
	}
	if (proc)
		closedir(proc);
	if (o->n)
		qsort(o->v, o->n, sizeof(*o->v), cmp_owner);
}

static uint32_t owners_find(const struct owners *o, uint32_t inode)
{
	size_t lo = 0, hi = o->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (o->v[mid].inode < inode)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < o->n && o->v[lo].inode == inode ? o->v[lo].pid : 0;
}

/* --- the dump --- */

struct dump_ctx {
	void (*fn)(void *arg, const struct conn *c);
	void *arg;
	const struct owners *owners;
	uint32_t count;
};

static void with_owner(void *arg, struct conn *c, uint32_t inode)
{
	struct dump_ctx *d = arg;
	uint32_t pid = inode ? owners_find(d->owners, inode) : 0;

	if (pid) {
		char path[64];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%u/comm", pid);
		f = fopen(path, "r");
		if (f) {
			if (fgets(c->comm, sizeof(c->comm), f))
				c->comm[strcspn(c->comm, "\n")] = 0;
			fclose(f);
		}
		c->pid = pid;
		c->owner_src = CT_OWNER_SEED;
	}
	d->count++;
	d->fn(d->arg, c);
}

/* Dump one family of the current namespace. */
static int dump_family(int family, uint32_t netns, uint64_t now_ns, struct dump_ctx *d, char *err,
		       size_t errlen)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	static char buf[65536] __attribute__((aligned(8)));
	int fd, ret = -1;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open a sock_diag socket: %s", strerror(errno));
		return -1;
	}
	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.r.sdiag_family = family;
	req.r.sdiag_protocol = IPPROTO_TCP;
	/* Every state but request sockets (NEW_SYN_RECV): those have no
	 * tracepoint life of their own. */
	req.r.idiag_states = ((1u << TD_NEW_SYN_RECV) - 1) & ~1u;
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "cannot ask for the socket dump: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "reading the socket dump: %s",
				 n ? strerror(errno) : "unexpected end");
			goto out;
		}
		r = seed__parse(buf, n, netns, now_ns, with_owner, d, err, errlen);
		if (r < 0)
			goto out;
		if (r == 1)
			break;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

static uint32_t current_netns(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : (uint32_t)st.st_ino;
}

/* Distinct namespaces: one path to open for each inode. */
struct ns_list {
	uint32_t ino[1024];
	char path[1024][64];
	int n;
};

static void ns_add(struct ns_list *l, const char *path)
{
	struct stat st;

	if (stat(path, &st) || l->n == 1024)
		return;
	for (int i = 0; i < l->n; i++)
		if (l->ino[i] == (uint32_t)st.st_ino)
			return;
	l->ino[l->n] = (uint32_t)st.st_ino;
	snprintf(l->path[l->n], sizeof(l->path[0]), "%s", path);
	l->n++;
}

int seed__dump(uint64_t now_ns, void (*fn)(void *arg, const struct conn *c), void *arg,
	       struct seed_stats *st, char *err, size_t errlen)
{
	struct owners owners = { 0 };
	struct dump_ctx d = { fn, arg, &owners, 0 };
	struct ns_list *ns = calloc(1, sizeof(*ns));
	uint32_t self = current_netns();
	int self_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), ret = 0;
	struct dirent *p;
	DIR *dir;

	memset(st, 0, sizeof(*st));
	if (!ns) {
		snprintf(err, errlen, "out of memory");
		if (self_fd >= 0)
			close(self_fd);
		return -1;
	}
	owners_scan(&owners);
	ns_add(ns, "/proc/self/ns/net");
	dir = opendir("/proc");
	while (dir && (p = readdir(dir))) {
		char path[64];

		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/ns/net", p->d_name);
		ns_add(ns, path);
	}
	if (dir)
		closedir(dir);
	dir = opendir("/run/netns");
	while (dir && (p = readdir(dir))) {
		char path[300];

		if (p->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%.200s", p->d_name);
		if (strlen(path) < sizeof(ns->path[0]))
			ns_add(ns, path);
	}
	if (dir)
		closedir(dir);

	for (int i = 0; i < ns->n; i++) {
		char e[256];
		int fd;

		if (ns->ino[i] != self) {
			fd = open(ns->path[i], O_RDONLY | O_CLOEXEC);
			if (fd < 0 || setns(fd, CLONE_NEWNET)) {
				if (fd >= 0)
					close(fd);
				st->netns_skipped++;
				continue;
			}
			close(fd);
		}
		if (dump_family(AF_INET, ns->ino[i], now_ns, &d, e, sizeof(e)) ||
		    dump_family(AF_INET6, ns->ino[i], now_ns, &d, e, sizeof(e))) {
			if (ns->ino[i] == self) {
				snprintf(err, errlen, "%s", e);
				ret = -1;
			} else {
				st->netns_skipped++;
			}
		} else {
			st->netns++;
		}
		if (ns->ino[i] != self && self_fd >= 0 && setns(self_fd, CLONE_NEWNET)) {
			snprintf(err, errlen, "cannot return to the original network namespace: %s",
				 strerror(errno));
			ret = -1;
			break;
		}
	}
	st->sockets = d.count;
	if (self_fd >= 0)
		close(self_fd);
	free(owners.v);
	free(ns);
	return ret;
}
