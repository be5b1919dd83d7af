// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Seeding from the kernel's socket dump: the TCP sockets already open when
 * tcpdwell starts enter the connection table with their state, cookie, owner
 * and a lower bound of their dwell. seed__parse (pure) decodes the inet_diag
 * messages; seed__dump (the edge) walks the namespaces, netlink and /proc.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>

#include "clock.h"
#include "seed.h"

/* INET_DIAG_CGROUP_ID (include/uapi/linux/inet_diag.h, 5.7), for older headers. */
#define TD_INET_DIAG_CGROUP_ID 21

/* idiag_timer of a timewait socket (tcp_twsk_diag_fill()). */
#define TIMER_TIMEWAIT 3

#define NS_PER_MS 1000000ULL

/* The kernel's error codes are 1..MAX_ERRNO (include/linux/err.h), negated. */
#define MAX_ERRNO 4095

/*
 * The kernel fills a dump datagram up to about 32 KiB (netlink_dump() caps its
 * allocation there), so this never truncates one; MSG_TRUNC is still checked.
 */

/* --- the pure part: one buffer of inet_diag messages --- */

/*
 * The attributes of a message that matter here: does it carry INET_DIAG_SHUTDOWN (the
 * kernel writes it first for every full socket, inet_diag_msg_attrs_fill(), and never for
 * request sockets, tcp_req_diag_fill(), which otherwise look like a full SYN_RECV socket,
 * a TCP Fast Open child, in the fixed part), and its INET_DIAG_CGROUP_ID (5.7+, every full
 * socket's cgroup v2 id; *cgroup stays 0 without it).
 */
static bool scan_attrs(const unsigned char *p, size_t len, uint64_t *cgroup)
{
	bool shutdown = false;

	while (len >= sizeof(struct nlattr)) {
		struct nlattr a;
		size_t step;

		memcpy(&a, p, sizeof(a));
		if (a.nla_len < sizeof(a) || a.nla_len > len)
			break;
		if ((a.nla_type & NLA_TYPE_MASK) == INET_DIAG_SHUTDOWN)
			shutdown = true;
		if ((a.nla_type & NLA_TYPE_MASK) == TD_INET_DIAG_CGROUP_ID &&
		    a.nla_len >= sizeof(a) + sizeof(*cgroup))
			memcpy(cgroup, p + sizeof(a), sizeof(*cgroup));
		step = NLA_ALIGN(a.nla_len);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
	return shutdown;
}

/*
 * The period a timewait socket's timer was armed for, in ms (tcp_time_wait()):
 * TCP_TIMEWAIT_LEN in TIME_WAIT; in the FIN_WAIT2 substate what is left of
 * tcp_fin_time() at the hand-over: all of it up to 60 s; beyond, the part over
 * 60 s, after the full socket waited as long on its keepalive timer first
 * (tcp_close(), tcp_keepalive_timer()).
 */
static uint64_t tw_period_ms(int state, uint32_t fin_timeout_ms)
{
	uint64_t fin = fin_timeout_ms ? fin_timeout_ms : TD_TIMEWAIT_LEN_MS;

	if (state == TD_TIME_WAIT)
		return TD_TIMEWAIT_LEN_MS;
	return fin <= TD_TIMEWAIT_LEN_MS ? fin : fin - TD_TIMEWAIT_LEN_MS;
}

/* Fill c from one inet_diag message; false for what is not to be reported. */
static bool msg_to_conn(const struct inet_diag_msg *m, const unsigned char *attrs, size_t attrlen,
			const struct seed_ns *ns, struct conn *c)
{
	uint64_t cgroup = 0;
	size_t alen;

	if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6)
		return false;
	if (m->idiag_state < TD_ESTABLISHED || m->idiag_state > TD_CLOSING)
		return false;
	if (!scan_attrs(attrs, attrlen, &cgroup) && m->idiag_state == TD_SYN_RECV)
		return false;

	memset(c, 0, sizeof(*c));
	c->cgroup = cgroup;
	c->cookie = (uint64_t)m->id.idiag_cookie[0] | (uint64_t)m->id.idiag_cookie[1] << 32;
	c->family = m->idiag_family == AF_INET6 ? 6 : 4;
	c->state = m->idiag_state;
	alen = c->family == 6 ? 16 : 4;
	memcpy(c->saddr, m->id.idiag_src, alen);
	memcpy(c->daddr, m->id.idiag_dst, alen);
	c->sport = ntohs(m->id.idiag_sport);
	c->dport = ntohs(m->id.idiag_dport);
	c->netns = ns->netns;
	c->role = c->state == TD_LISTEN ? CT_ROLE_LISTEN : CT_ROLE_UNKNOWN;
	c->step_ns[0] = ns->now_ns;

	if (m->idiag_timer == TIMER_TIMEWAIT &&
	    (c->state == TD_TIME_WAIT || c->state == TD_FIN_WAIT2)) {
		/*
		 * The timer was last armed when the socket entered its substate,
		 * or later (a retransmitted FIN re-arms it): the estimate is not
		 * earlier than the real entry, so the dwell stays a lower bound.
		 * Except in the FIN_WAIT2 substate when the socket had a
		 * TCP_LINGER2 shorter than the sysctl, or the sysctl grew since:
		 * the dump does not show either.
		 */
		uint64_t period = tw_period_ms(c->state, ns->fin_timeout_ms) * NS_PER_MS;
		uint64_t left = (uint64_t)m->idiag_expires * NS_PER_MS;
		uint64_t ago = left < period ? period - left : 0;

		if (ago < ns->now_ns)
			c->step_ns[0] = ns->now_ns - ago;
		c->flags |= CT_F_TW;
		c->tw_substate = c->state;
		c->tw_deadline_ns = ns->now_ns + left;
	}
	c->start_ns = c->step_ns[0];
	return true;
}

/* One SOCK_DIAG_BY_FAMILY message of at least sizeof(struct inet_diag_msg). */
static void diag_msg(const unsigned char *data, size_t plen, const struct seed_ns *ns,
		     void (*fn)(void *arg, struct conn *c, uint32_t inode), void *arg)
{
	size_t mlen = NLMSG_ALIGN(sizeof(struct inet_diag_msg));
	struct inet_diag_msg m;
	struct conn c;

	memcpy(&m, data, sizeof(m));
	if (plen < mlen)
		mlen = plen;
	if (msg_to_conn(&m, data + mlen, plen - mlen, ns, &c))
		fn(arg, &c, m.idiag_inode);
}

int seed__parse(const void *buf, size_t len, const struct seed_ns *ns,
		void (*fn)(void *arg, struct conn *c, uint32_t inode), void *arg, char *err,
		size_t errlen)
{
	const unsigned char *p = buf;
	size_t off = 0;

	/*
	 * Headers and payloads are copied out rather than cast in place: the
	 * buffer may come from anywhere (a test, a file), aligned or not.
	 */
	while (off < len) {
		const unsigned char *data;
		struct nlmsghdr h;
		size_t plen;

		if (len - off < sizeof(h)) {
			snprintf(err, errlen, "socket dump: %zu stray bytes after the last message",
				 len - off);
			return -EBADMSG;
		}
		memcpy(&h, p + off, sizeof(h));
		if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len - off) {
			snprintf(err, errlen,
				 "socket dump: truncated message (%u bytes claimed, %zu left)",
				 h.nlmsg_len, len - off);
			return -EBADMSG;
		}
		data = p + off + NLMSG_HDRLEN;
		plen = h.nlmsg_len - NLMSG_HDRLEN;
		/* The last message of a buffer may lack its padding. */
		off += NLMSG_ALIGN(h.nlmsg_len) < len - off ? NLMSG_ALIGN(h.nlmsg_len) : len - off;

		if (h.nlmsg_type == NLMSG_DONE) {
			int e = 0;

			/* netlink_dump_done() puts the dump's status here. */
			if (plen >= sizeof(e))
				memcpy(&e, data, sizeof(e));
			if (e < -MAX_ERRNO) {
				snprintf(err, errlen, "socket dump: invalid error code %d", e);
				return -EBADMSG;
			}
			if (e < 0) {
				snprintf(err, errlen, "socket dump failed: %s", strerror(-e));
				return e;
			}
			return 1;
		}
		if (h.nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr ne;

			if (plen < sizeof(ne.error)) {
				snprintf(err, errlen, "socket dump: truncated error message");
				return -EBADMSG;
			}
			memcpy(&ne.error, data, sizeof(ne.error));
			if (ne.error == 0)
				continue; /* an acknowledgement, not an error */
			if (ne.error < -MAX_ERRNO || ne.error > MAX_ERRNO) {
				snprintf(err, errlen, "socket dump: invalid error code %d",
					 ne.error);
				return -EBADMSG;
			}
			snprintf(err, errlen, "socket dump failed: %s",
				 strerror(ne.error < 0 ? -ne.error : ne.error));
			return ne.error < 0 ? ne.error : -ne.error;
		}
		if (h.nlmsg_type == NLMSG_OVERRUN) {
			snprintf(err, errlen, "socket dump: the kernel dropped part of the reply");
			return -ENOBUFS;
		}
		if (h.nlmsg_type != SOCK_DIAG_BY_FAMILY)
			continue;
		if (plen < sizeof(struct inet_diag_msg)) {
			snprintf(err, errlen, "socket dump: message of %u bytes is too short",
				 h.nlmsg_len);
			return -EBADMSG;
		}
		diag_msg(data, plen, ns, fn, arg);
	}
	return 0;
}

/* --- owners: socket inode -> the lowest pid holding it, and its comm --- */

struct owner {
	uint32_t inode;
	uint32_t pid;
	uint32_t proc; /* index in owners.comm */
};

struct owners {
	struct owner *v;
	size_t n, cap;
	char (*comm)[TD_COMM_LEN];
	size_t ncomm, capcomm;
	uint32_t unreadable; /* processes whose fds could not be listed */
};

static int cmp_owner(const void *a, const void *b)
{
	const struct owner *x = a, *y = b;

	if (x->inode != y->inode)
		return x->inode < y->inode ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static void read_comm(int procfd, uint32_t pid, char *comm)
{
	char path[64];
	ssize_t n;
	int fd;

	comm[0] = 0;
	snprintf(path, sizeof(path), "%u/comm", pid);
	fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	do
		n = read(fd, comm, TD_COMM_LEN - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0)
		n = 0;
	comm[n] = 0;
	comm[strcspn(comm, "\n")] = 0;
}

/* Record one process's socket descriptors. Returns -1 when out of memory. */
static int owners_scan_pid(struct owners *o, int procfd, uint32_t pid)
{
	char path[64];
	struct dirent *f;
	int fdfd, ret = 0;
	bool have_comm = false;
	DIR *fds;

	snprintf(path, sizeof(path), "%u/fd", pid);
	fdfd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fdfd < 0) {
		if (errno != ENOENT)
			o->unreadable++;
		return 0;
	}
	fds = fdopendir(fdfd);
	if (!fds) {
		close(fdfd);
		return 0;
	}
	while ((f = readdir(fds))) {
		char link[64];
		unsigned long ino;
		ssize_t n;

		if (f->d_name[0] == '.')
			continue;
		n = readlinkat(fdfd, f->d_name, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (strncmp(link, "socket:[", 8) || sscanf(link + 8, "%lu]", &ino) != 1)
			continue;
		if (!have_comm) {
			if (o->ncomm == o->capcomm) {
				size_t cap = o->capcomm ? o->capcomm * 2 : 256;
				void *v = realloc(o->comm, cap * sizeof(*o->comm));

				if (!v) {
					ret = -1;
					break;
				}
				o->comm = v;
				o->capcomm = cap;
			}
			read_comm(procfd, pid, o->comm[o->ncomm++]);
			have_comm = true;
		}
		if (o->n == o->cap) {
			size_t cap = o->cap ? o->cap * 2 : 1024;
			void *v = realloc(o->v, cap * sizeof(*o->v));

			if (!v) {
				ret = -1;
				break;
			}
			o->v = v;
			o->cap = cap;
		}
		o->v[o->n++] = (struct owner){(uint32_t)ino, pid, (uint32_t)(o->ncomm - 1)};
	}
	closedir(fds);
	return ret;
}

/*
 * Socket inodes come from one pseudo file system for all namespaces, so one
 * map serves every namespace's dump. Built before the dumps: a socket made in
 * between has no owner in the seed (the tracer sees its creator anyway).
 */
static void owners_scan(struct owners *o)
{
	struct dirent *p;
	DIR *proc = opendir("/proc");

	if (!proc)
		return;
	while ((p = readdir(proc))) {
		char *end;
		unsigned long pid = strtoul(p->d_name, &end, 10);

		if (*end || !pid || pid > UINT32_MAX)
			continue;
		if (owners_scan_pid(o, dirfd(proc), (uint32_t)pid))
			break; /* out of memory: the owners found so far are still right */
	}
	closedir(proc);
	if (o->n)
		qsort(o->v, o->n, sizeof(*o->v), cmp_owner);
}

static const struct owner *owners_find(const struct owners *o, uint32_t inode)
{
	size_t lo = 0, hi = o->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (o->v[mid].inode < inode)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < o->n && o->v[lo].inode == inode ? &o->v[lo] : NULL;
}

/* --- namespaces seen, by inode (a small open-addressing set) --- */

struct ns_set {
	uint32_t *v; /* 0 = empty slot: no namespace has inode 0 */
	size_t n, cap;
};

/* Returns 1 if added, 0 if already there, -1 when out of memory. */
static int ns_set_add(struct ns_set *s, uint32_t ino)
{
	size_t i;

	if ((s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		uint32_t *v = calloc(cap, sizeof(*v));

		if (!v)
			return -1;
		for (size_t j = 0; j < s->cap; j++) {
			if (!s->v[j])
				continue;
			for (i = s->v[j] * 2654435761u & (cap - 1); v[i]; i = (i + 1) & (cap - 1))
				;
			v[i] = s->v[j];
		}
		free(s->v);
		s->v = v;
		s->cap = cap;
	}
	for (i = ino * 2654435761u & (s->cap - 1); s->v[i]; i = (i + 1) & (s->cap - 1)) {
		if (s->v[i] == ino)
			return 0;
	}
	s->v[i] = ino;
	s->n++;
	return 1;
}

/* --- the dump --- */

struct dumper {
	void (*fn)(void *arg, const struct conn *c);
	void *arg;
	uint64_t now_ns;
	struct owners owners;
	struct ns_set seen;
	struct seed_stats *st;
	void *buf;   /* SEED_RECV_BUF bytes */
	int self_fd; /* the caller's namespace */
};

static void with_owner(void *arg, struct conn *c, uint32_t inode)
{
	struct dumper *d = arg;
	const struct owner *o = inode ? owners_find(&d->owners, inode) : NULL;

	if (o) {
		c->pid = o->pid;
		conn__set_comm(c, d->owners.comm[o->proc]);
		c->owner_src = CT_OWNER_SEED;
	}
	d->st->sockets++;
	d->fn(d->arg, c);
}

/* The current namespace's net.ipv4.tcp_fin_timeout in ms; 0 if unknown. */
static uint32_t read_fin_timeout_ms(void)
{
	unsigned int s;
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_fin_timeout", "re");
	int ok;

	if (!f)
		return 0;
	ok = fscanf(f, "%u", &s) == 1;
	fclose(f);
	return ok && s && s < UINT32_MAX / 1000 ? s * 1000 : 0;
}

/* Wait up to a second for fd (non-blocking) to be readable: the kernel writes a
 * dump's next part as the last one is read, so it is there at once. */
static int wait_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r;

	do
		r = poll(&p, 1, 1000);
	while (r < 0 && errno == EINTR);
	return r > 0 ? 0 : r == 0 ? -ETIMEDOUT : -errno;
}

int seed__dump_ask(int fd, int family, char *err, size_t errlen)
{
	static uint32_t seq;
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req;
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	ssize_t n;

	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nlh.nlmsg_seq = ++seq;
	req.r.sdiag_family = family;
	req.r.sdiag_protocol = IPPROTO_TCP;
	/*
	 * States 1..11. SYN_RECV brings the request sockets along (tcp_diag adds
	 * NEW_SYN_RECV to the mask), and leaving it out would also lose the full
	 * SYN_RECV sockets of TCP Fast Open: the parser tells them apart.
	 */
	req.r.idiag_states = ((1u << (TD_CLOSING + 1)) - 1) & ~1u;
	do
		n = sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = errno;

		snprintf(err, errlen, "cannot ask for the socket dump: %s", strerror(e));
		return -e;
	}
	return 0;
}

int seed__dump_next(int fd, const struct seed_ns *ns, void *buf,
		    void (*fn)(void *arg, struct conn *c, uint32_t inode), void *arg, char *err,
		    size_t errlen)
{
	for (;;) {
		struct sockaddr_nl from;
		struct iovec iov = {buf, SEED_RECV_BUF};
		struct msghdr msg = {.msg_name = &from,
				     .msg_namelen = sizeof(from),
				     .msg_iov = &iov,
				     .msg_iovlen = 1};
		struct seed_ns at;
		ssize_t n;
		int r;

		n = recvmsg(fd, &msg, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			r = wait_readable(fd);
			if (!r)
				continue;
			snprintf(err, errlen, "reading the socket dump: %s", strerror(-r));
			return r;
		}
		if (n < 0) {
			int e = errno;

			snprintf(err, errlen, "reading the socket dump: %s", strerror(e));
			return -e;
		}
		if (n == 0) {
			snprintf(err, errlen, "reading the socket dump: unexpected end");
			return -EPROTO;
		}
		if (msg.msg_flags & MSG_TRUNC) {
			snprintf(err, errlen, "socket dump: a reply did not fit in %d bytes",
				 SEED_RECV_BUF);
			return -EMSGSIZE;
		}
		if (from.nl_pid != 0)
			continue; /* not from the kernel */
		/*
		 * Date this reply's sockets now, after the kernel wrote it: a time
		 * taken earlier could precede a socket's entry into its state, and
		 * the timewait timers count down from the moment of writing.
		 */
		at = *ns;
		at.now_ns = clock__mono_ns();
		if (at.now_ns < ns->now_ns)
			at.now_ns = ns->now_ns;
		r = seed__parse(buf, n, &at, fn, arg, err, errlen);
		return r < 0 ? r : r ? 1 : 0;
	}
}

/* Ask for one family's TCP sockets on fd and feed the replies to the parser. */
static int dump_family(int fd, int family, const struct seed_ns *ns, void *buf,
		       void (*fn)(void *arg, struct conn *c, uint32_t inode), void *arg, char *err,
		       size_t errlen)
{
	int r = seed__dump_ask(fd, family, err, errlen);

	while (!r)
		r = seed__dump_next(fd, ns, buf, fn, arg, err, errlen);
	return r < 0 ? r : 0;
}

static int dump_fd(int fd, const struct seed_ns *ns, void *buf,
		   void (*fn)(void *arg, struct conn *c, uint32_t inode), void *arg, char *err,
		   size_t errlen)
{
	int r = dump_family(fd, AF_INET, ns, buf, fn, arg, err, errlen);

	if (!r) {
		r = dump_family(fd, AF_INET6, ns, buf, fn, arg, err, errlen);
		/* A kernel without IPv6 has no handler for it: no IPv6 sockets. */
		if (r == -ENOENT || r == -EAFNOSUPPORT)
			r = 0;
	}
	return r ? -1 : 0;
}

/* Dump both families of the namespace the thread is in now. */
static int dump_here(struct dumper *d, uint32_t netns, char *err, size_t errlen)
{
	struct seed_ns ns = {d->now_ns, netns, read_fin_timeout_ms()};
	int fd, r;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open a sock_diag socket: %s", strerror(errno));
		return -1;
	}
	r = dump_fd(fd, &ns, d->buf, with_owner, d, err, errlen);
	close(fd);
	return r;
}

static uint32_t thread_netns(void)
{
	struct stat s;

	return stat("/proc/thread-self/ns/net", &s) ? 0 : (uint32_t)s.st_ino;
}

/*
 * Visit the namespace behind one ns file, unless it was seen already: enter
 * it, dump it, come back. Opened and checked by its descriptor, so a process
 * that exits meanwhile cannot make it dump the wrong namespace. Returns true
 * only when the caller's namespace cannot be restored (err says so).
 */
static bool visit(struct dumper *d, const char *path, char *err, size_t errlen)
{
	struct stat s;
	char e[256];
	uint32_t ino;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		/* ENOENT, ESRCH: the process is gone, nothing is missed. */
		if (errno != ENOENT && errno != ESRCH)
			d->st->ns_unreadable++;
		return false;
	}
	if (fstat(fd, &s)) {
		d->st->ns_unreadable++;
		close(fd);
		return false;
	}
	ino = (uint32_t)s.st_ino;
	r = ns_set_add(&d->seen, ino);
	if (r <= 0) {
		if (r < 0)
			d->st->netns_skipped++;
		close(fd);
		return false;
	}
	r = setns(fd, CLONE_NEWNET);
	close(fd);
	if (r) {
		d->st->netns_skipped++;
		return false;
	}
	if (thread_netns() == ino && !dump_here(d, ino, e, sizeof(e)))
		d->st->netns++;
	else
		d->st->netns_skipped++;
	if (setns(d->self_fd, CLONE_NEWNET)) {
		snprintf(err, errlen, "cannot return to the original network namespace: %s",
			 strerror(errno));
		return true;
	}
	return false;
}

int seed__dump(uint64_t now_ns, void (*fn)(void *arg, const struct conn *c), void *arg,
	       struct seed_stats *st, char *err, size_t errlen)
{
	struct seed_stats local;
	struct dumper d = {.fn = fn, .arg = arg, .now_ns = now_ns, .self_fd = -1};
	struct dirent *p;
	struct stat s;
	bool stuck = false;
	uint32_t self;
	int ret = 0;
	DIR *dir;

	d.st = st ? st : &local;
	memset(d.st, 0, sizeof(*d.st));
	d.buf = malloc(SEED_RECV_BUF);
	if (!d.buf) {
		snprintf(err, errlen, "socket dump: out of memory");
		return -1;
	}
	owners_scan(&d.owners);
	d.st->fd_unreadable = d.owners.unreadable;

	/* Our own namespace first, without setns: it is the one that must work. */
	d.self_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (d.self_fd < 0 || fstat(d.self_fd, &s)) {
		snprintf(err, errlen, "cannot open this thread's network namespace: %s",
			 strerror(errno));
		ret = -1;
		goto out;
	}
	self = (uint32_t)s.st_ino;
	if (ns_set_add(&d.seen, self) < 0) {
		snprintf(err, errlen, "socket dump: out of memory");
		ret = -1;
		goto out;
	}
	if (dump_here(&d, self, err, errlen)) {
		/* Go on: the other namespaces may still be dumped. */
		d.st->netns_skipped++;
		ret = -1;
	} else {
		d.st->netns++;
	}

	dir = opendir("/proc");
	while (!stuck && dir && (p = readdir(dir))) {
		char path[64];

		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/ns/net", p->d_name);
		stuck = visit(&d, path, err, errlen);
	}
	if (dir)
		closedir(dir);

	/* Namespaces kept alive by a bind mount alone (ip netns add). */
	dir = stuck ? NULL : opendir("/run/netns");
	while (!stuck && dir && (p = readdir(dir))) {
		char path[sizeof(p->d_name) + 16];

		if (p->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", p->d_name);
		stuck = visit(&d, path, err, errlen);
	}
	if (dir)
		closedir(dir);
	if (stuck)
		ret = -1;
out:
	if (d.self_fd >= 0)
		close(d.self_fd);
	free(d.seen.v);
	free(d.owners.v);
	free(d.owners.comm);
	free(d.buf);
	return ret;
}
