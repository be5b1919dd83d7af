// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Timewait lookups: exact sock_diag lookups of the timewait sockets in the
 * FIN_WAIT2 substate that the connection table hands out, their answers handed
 * on as TD_EV_TW_DIAG records. twdiag__req and twdiag__parse (pure) make the
 * requests and read the replies; the rest (the edge) keeps one netlink socket
 * per network namespace, opened before the capabilities are dropped.
 *
 * The kernel's side (net/ipv4/tcp_diag.c, tcp_diag_dump_one()): a request
 * without NLM_F_DUMP looks one socket up by its tuple as an incoming packet
 * would (inet_lookup(): the established hash, where timewait sockets are, then
 * the listeners), checks the cookie (sock_diag_check_cookie(); ~0 in both words
 * checks none) and answers with one inet_diag_msg, or with NLMSG_ERROR -ENOENT.
 * For a timewait socket the answer is inet_twsk_diag_fill()'s: idiag_state the
 * substate (FIN_WAIT2 or TIME_WAIT), idiag_timer 3, idiag_expires the timer's
 * time left in ms (jiffies_to_msecs(expires - jiffies), 0 once due). A socket's
 * cookie never changes and is never reused, so a lookup with it finds that
 * socket or nothing; without it a gone timewait socket resolves to whatever
 * else matches: a listener on the port, or a newer connection on the tuple.
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
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>

#include "clock.h"
#include "seed.h"
#include "twdiag.h"

/* idiag_timer of a timewait socket (inet_twsk_diag_fill()). */
#define TIMER_TIMEWAIT 3

/* Lookups that may be sent in one burst: a quarter second's worth. */
#define BURST (TWDIAG_PER_S / 4)

/* Replies to a batch: each is at most an inet_diag_msg with a few attributes (a
 * full socket found by tuple) or an error with the request's header. */
#define RECV_BUF (64 * 1024)

/* The receive queue holds a batch's replies; the kernel drops what does not fit
 * (the lookup then counts as unanswered). */
#define SOCK_RCVBUF (1 << 20)

/* How often the namespaces' witnesses are looked at. */
#define WITNESS_NS 1000000000ULL

struct request {
	struct nlmsghdr nlh;
	struct inet_diag_req_v2 r;
};

/* --- the pure part: requests and replies --- */

size_t twdiag__req_len(void)
{
	return sizeof(struct request);
}

size_t twdiag__req(void *buf, const struct ct_tw_query *q, uint32_t seq)
{
	struct request req;
	size_t alen = q->family == 6 ? 16 : 4;

	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST;
	req.nlh.nlmsg_seq = seq;
	req.r.sdiag_family = q->family == 6 ? AF_INET6 : AF_INET;
	req.r.sdiag_protocol = IPPROTO_TCP;
	req.r.idiag_states = ~0u; /* not used by an exact lookup */
	req.r.id.idiag_sport = htons(q->sport);
	req.r.id.idiag_dport = htons(q->dport);
	memcpy(req.r.id.idiag_src, q->saddr, alen);
	memcpy(req.r.id.idiag_dst, q->daddr, alen);
	if (q->cookie) {
		req.r.id.idiag_cookie[0] = (uint32_t)q->cookie;
		req.r.id.idiag_cookie[1] = (uint32_t)(q->cookie >> 32);
	} else {
		req.r.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
		req.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	}
	memcpy(buf, &req, sizeof(req));
	return sizeof(req);
}

/* The record handed on for what a lookup of q found (TIME_WAIT or gone). */
static void answer_event(struct td_event *e, const struct ct_tw_query *q, uint64_t now_ns,
			 uint8_t found, uint32_t expires_ms)
{
	memset(e, 0, sizeof(*e));
	e->ts_ns = now_ns;
	e->kind = TD_EV_TW_DIAG;
	e->cookie = q->cookie;
	e->skaddr = q->skaddr;
	e->netns = q->netns;
	e->family = q->family;
	memcpy(e->saddr, q->saddr, sizeof(e->saddr));
	memcpy(e->daddr, q->daddr, sizeof(e->daddr));
	e->sport = q->sport;
	e->dport = q->dport;
	e->oldstate = e->newstate = found;
	if (!q->cookie)
		e->flags |= TD_F_NOCOOKIE;
	if (found == TD_TIME_WAIT) {
		e->flags |= TD_F_TW_LEFT;
		e->tw_left_ms = expires_ms > INT32_MAX ? INT32_MAX : (int32_t)expires_ms;
	}
}

/* What an inet_diag_msg says about the socket q asked for. */
static enum twdiag_found judge(const struct inet_diag_msg *m, const struct ct_tw_query *q,
			       uint32_t *expires_ms)
{
	size_t alen = q->family == 6 ? 16 : 4;
	uint64_t cookie = (uint64_t)m->id.idiag_cookie[0] | (uint64_t)m->id.idiag_cookie[1] << 32;
	bool same = m->idiag_family == (q->family == 6 ? AF_INET6 : AF_INET) &&
		    ntohs(m->id.idiag_sport) == q->sport && ntohs(m->id.idiag_dport) == q->dport &&
		    !memcmp(m->id.idiag_src, q->saddr, alen) &&
		    !memcmp(m->id.idiag_dst, q->daddr, alen) && (!q->cookie || cookie == q->cookie);

	if (!same || m->idiag_timer != TIMER_TIMEWAIT)
		/* Another socket: by tuple alone, the one asked for is gone; with
		 * the cookie the kernel cannot answer this, so it is not believed. */
		return q->cookie ? TWDIAG_FAILED : TWDIAG_GONE;
	if (m->idiag_state == TD_FIN_WAIT2)
		return TWDIAG_STILL;
	if (m->idiag_state != TD_TIME_WAIT)
		return TWDIAG_FAILED;
	*expires_ms = m->idiag_expires;
	return TWDIAG_TIME_WAIT;
}

int twdiag__parse(const void *buf, size_t len, const struct ct_tw_query *q, size_t nq,
		  uint32_t seq0, uint64_t now_ns,
		  void (*fn)(void *arg, size_t k, enum twdiag_found f, const struct td_event *e),
		  void *arg)
{
	const unsigned char *p = buf;
	size_t off = 0;

	while (off < len) {
		enum twdiag_found f;
		const unsigned char *data;
		struct nlmsghdr h;
		struct td_event e;
		uint32_t expires = 0;
		size_t plen, k;

		if (len - off < sizeof(h))
			return -EBADMSG;
		memcpy(&h, p + off, sizeof(h));
		if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len - off)
			return -EBADMSG;
		data = p + off + NLMSG_HDRLEN;
		plen = h.nlmsg_len - NLMSG_HDRLEN;
		off += NLMSG_ALIGN(h.nlmsg_len) < len - off ? NLMSG_ALIGN(h.nlmsg_len) : len - off;

		k = h.nlmsg_seq - seq0; /* wraps for what is not ours */
		if (k >= nq)
			continue;
		if (h.nlmsg_type == NLMSG_ERROR) {
			int error;

			if (plen < sizeof(error))
				return -EBADMSG;
			memcpy(&error, data, sizeof(error));
			if (error == 0)
				continue; /* an acknowledgement */
			f = error == -ENOENT ? TWDIAG_GONE : TWDIAG_FAILED;
		} else if (h.nlmsg_type == SOCK_DIAG_BY_FAMILY) {
			struct inet_diag_msg m;

			if (plen < sizeof(m))
				return -EBADMSG;
			memcpy(&m, data, sizeof(m));
			f = judge(&m, &q[k], &expires);
		} else {
			continue;
		}
		if (f == TWDIAG_TIME_WAIT || f == TWDIAG_GONE) {
			answer_event(&e, &q[k], now_ns, f == TWDIAG_GONE ? TD_CLOSE : TD_TIME_WAIT,
				     expires);
			fn(arg, k, f, &e);
		} else {
			fn(arg, k, f, NULL);
		}
	}
	return 0;
}

/* --- the edge: sockets per namespace, the turn of the loop --- */

/* One namespace's socket and what tells that the namespace ends. */
struct ns_sock {
	uint32_t netns;
	int fd;	    /* -1 once closed */
	int pidfd;  /* the process it was found by; -1: none */
	char *path; /* its /run/netns name, NULL: none */
	bool rc_ok; /* dumped by the reconcile pass under way */
};

struct twdiag {
	struct ns_sock *ns;
	size_t nns;
	double tokens;
	uint64_t last_ns, next_witness;
	uint32_t seq;
	struct ct_tw_query q[BURST];
	uint8_t answered[BURST];     /* by index in q */
	size_t batch;		     /* index in q of the batch being read */
	struct td_event pend[BURST]; /* answers' records waiting for the tracer's (until) */
	size_t npend;
	unsigned char *buf; /* RECV_BUF */
	/* Reconcile: the period, when the next pass is due, and the pass waiting
	 * for the tracer's records up to its dump's end (rc_end_ns). */
	uint64_t rc_period, rc_next, rc_end_ns;
	bool rc_pending;
	/* The dump under way: from rc_start, namespace rc_ns, family rc_family. */
	bool rc_dumping;
	uint64_t rc_start, rc_sockets;
	size_t rc_ns;
	int rc_family;
	struct conntable *rc_table;
	struct twdiag_stats st;
};

/* A lookup socket in the thread's namespace: non-blocking, its receive queue
 * large enough for a batch (forced while CAP_NET_ADMIN is held, else up to
 * net.core.rmem_max). */
static int diag_socket(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_SOCK_DIAG);
	int size = SOCK_RCVBUF, one = 1;

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	/* Errors without the request copied back: a smaller reply. */
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	return fd;
}

static struct ns_sock *ns_find(struct twdiag *d, uint32_t netns)
{
	for (size_t i = 0; i < d->nns; i++) {
		if (d->ns[i].netns == netns)
			return &d->ns[i];
	}
	return NULL;
}

static bool reachable(void *arg, uint32_t netns)
{
	struct ns_sock *s = ns_find(arg, netns);

	return s && s->fd >= 0;
}

/* Did the reconcile pass's dump cover netns? */
static bool rc_reachable(void *arg, uint32_t netns)
{
	struct ns_sock *s = ns_find(arg, netns);

	return s && s->rc_ok;
}

static int ns_add(struct twdiag *d, uint32_t netns, int fd, int pidfd, const char *path)
{
	struct ns_sock *v = realloc(d->ns, (d->nns + 1) * sizeof(*v));

	if (!v)
		return -1;
	d->ns = v;
	v[d->nns] = (struct ns_sock){netns, fd, pidfd, path ? strdup(path) : NULL, false};
	d->nns++;
	if (fd >= 0)
		d->st.netns++;
	return 0;
}

static void ns_close(struct ns_sock *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->pidfd >= 0)
		close(s->pidfd);
	s->fd = s->pidfd = -1;
	free(s->path);
	s->path = NULL;
}

/*
 * Visit the namespace behind path, found by process pid (0: a /run/netns name):
 * unless it is known already, enter it, open a socket, come back. A socket holds
 * its namespace, so one is opened only with a witness of the namespace's end. A
 * namespace that gets none is kept with fd -1, so that it is counted once.
 * Returns -1 only when the thread cannot return to its namespace (self_fd).
 */
static int visit(struct twdiag *d, const char *path, uint32_t pid, int self_fd)
{
	struct pollfd alive = {.events = POLLIN};
	int fd, sock = -1, pidfd = -1, ret = 0;
	struct stat s;

	/* The pidfd first, and the process still there once the namespace file is
	 * open: then the file was that process's, not a later one's with its pid. */
	if (pid) {
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (pidfd < 0 && errno == ESRCH)
			return 0;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	alive.fd = pidfd;
	if (fd < 0 || fstat(fd, &s) || ns_find(d, (uint32_t)s.st_ino) ||
	    (pidfd >= 0 && poll(&alive, 1, 0) != 0))
		goto out;
	/* Without a pidfd (Linux before 5.3) no witness: no socket. */
	if ((pid && pidfd < 0) || setns(fd, CLONE_NEWNET))
		goto failed;
	sock = diag_socket();
	if (setns(self_fd, CLONE_NEWNET)) {
		ret = -1;
		goto out;
	}
	if (sock >= 0 && !ns_add(d, (uint32_t)s.st_ino, sock, pidfd, pid ? NULL : path)) {
		close(fd);
		return 0;
	}
failed:
	d->st.netns_failed++;
	ns_add(d, (uint32_t)s.st_ino, -1, -1, NULL);
out:
	if (fd >= 0)
		close(fd);
	if (sock >= 0)
		close(sock);
	if (pidfd >= 0)
		close(pidfd);
	return ret;
}

struct twdiag *twdiag__open(char *err, size_t errlen)
{
	struct twdiag *d = calloc(1, sizeof(*d));
	struct dirent *p;
	struct stat s;
	int self_fd = -1, fd = -1, ret = 0;
	DIR *dir;

	if (!d || !(d->buf = malloc(RECV_BUF))) {
		snprintf(err, errlen, "timewait lookups: out of memory");
		goto fail;
	}
	self_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	fd = diag_socket();
	if (self_fd < 0 || fstat(self_fd, &s) || fd < 0) {
		snprintf(err, errlen, "timewait lookups: cannot open a sock_diag socket: %s",
			 strerror(errno));
		goto fail;
	}
	/* The caller's own namespace lives as long as the process: no witness. */
	if (ns_add(d, (uint32_t)s.st_ino, fd, -1, NULL)) {
		snprintf(err, errlen, "timewait lookups: out of memory");
		goto fail;
	}
	fd = -1;
	/* In pid order: the first process found in a namespace is, pid wrap aside,
	 * its oldest (a container's init, a pod's sandbox), which lives as long. */
	dir = opendir("/proc");
	while (!ret && dir && (p = readdir(dir))) {
		char path[64], *end;
		unsigned long pid = strtoul(p->d_name, &end, 10);

		if (*end || !pid || pid > UINT32_MAX)
			continue;
		snprintf(path, sizeof(path), "/proc/%lu/ns/net", pid);
		ret = visit(d, path, (uint32_t)pid, self_fd);
	}
	if (dir)
		closedir(dir);
	dir = ret ? NULL : opendir("/run/netns");
	while (!ret && dir && (p = readdir(dir))) {
		char path[sizeof(p->d_name) + 16];

		if (p->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", p->d_name);
		ret = visit(d, path, 0, self_fd);
	}
	if (dir)
		closedir(dir);
	if (ret) {
		snprintf(err, errlen, "cannot return to the original network namespace: %s",
			 strerror(errno));
		goto fail;
	}
	close(self_fd);
	return d;
fail:
	if (fd >= 0)
		close(fd);
	if (self_fd >= 0)
		close(self_fd);
	twdiag__close(d);
	return NULL;
}

/* Close the sockets of namespaces whose witness ended: their process exited (its
 * pidfd is readable), or their /run/netns name is gone or names another. Their
 * connections are then unreachable (conntable__tw_due() counts them). */
static void check_witnesses(struct twdiag *d)
{
	for (size_t i = 1; i < d->nns; i++) {
		struct ns_sock *s = &d->ns[i];
		bool ended = false;

		if (s->fd < 0)
			continue;
		if (s->pidfd >= 0) {
			struct pollfd pfd = {.fd = s->pidfd, .events = POLLIN};

			ended = poll(&pfd, 1, 0) > 0;
		} else if (s->path) {
			struct stat st;

			ended = stat(s->path, &st) || (uint32_t)st.st_ino != s->netns;
		}
		if (ended) {
			ns_close(s);
			d->st.netns_closed++;
		}
	}
}

static void on_answer(void *arg, size_t k, enum twdiag_found f, const struct td_event *e)
{
	struct twdiag *d = arg;

	d->st.found[f]++;
	d->answered[d->batch + k] = 1;
	if (e && d->npend < BURST)
		d->pend[d->npend++] = *e;
}

/* Send the lookups q[0..n) (one namespace's) on fd and read their answers. */
static void ask(struct twdiag *d, int fd, struct ct_tw_query *q, size_t n)
{
	unsigned char req[TWDIAG_BATCH * sizeof(struct request)];
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	uint64_t cpu0 = clock__ns(CLOCK_THREAD_CPUTIME_ID);
	uint32_t seq0 = d->seq;
	size_t len = 0;
	ssize_t r;

	d->seq += (uint32_t)n;
	for (size_t k = 0; k < n; k++)
		len += twdiag__req(req + len, &q[k], seq0 + (uint32_t)k);
	d->batch = (size_t)(q - d->q);
	memset(d->answered + d->batch, 0, n);
	do
		r = sendto(fd, req, len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
	while (r < 0 && errno == EINTR);
	d->st.asked += n;
	if (r < 0) {
		d->st.unanswered += n;
		d->st.cpu_ns += clock__ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
		return;
	}
	for (;;) {
		struct sockaddr_nl from;
		struct iovec iov = {d->buf, RECV_BUF};
		struct msghdr msg = {.msg_name = &from,
				     .msg_namelen = sizeof(from),
				     .msg_iov = &iov,
				     .msg_iovlen = 1};

		r = recvmsg(fd, &msg, MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == ENOBUFS))
			continue; /* ENOBUFS: some replies were dropped; read the rest */
		if (r <= 0)
			break;
		if (from.nl_pid != 0 || (msg.msg_flags & MSG_TRUNC))
			continue;
		/* The answers' moment: after the kernel wrote them. */
		twdiag__parse(d->buf, (size_t)r, q, n, seq0, clock__ns(CLOCK_MONOTONIC), on_answer,
			      d);
	}
	for (size_t k = 0; k < n; k++)
		d->st.unanswered += !d->answered[d->batch + k];
	d->st.cpu_ns += clock__ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
}

void twdiag__flush(struct twdiag *d, void (*fn)(void *arg, const struct td_event *e), void *arg)
{
	for (size_t i = 0; i < d->npend; i++)
		fn(arg, &d->pend[i]);
	d->npend = 0;
}

void twdiag__set_reconcile(struct twdiag *d, uint64_t period_ns)
{
	d->rc_period = period_ns;
	d->rc_next = 0;
}

_Static_assert(RECV_BUF >= SEED_RECV_BUF, "the reconcile dump reads into twdiag.buf");

/* Replies of a reconcile dump read in one turn of the loop, at most: the turn
 * ends after the reply that takes it past this long (measured: see the README). */
#define RC_STEP_NS 2000000ULL

static void on_dumped(void *arg, struct conn *c, uint32_t inode)
{
	struct twdiag *d = arg;

	(void)inode;
	d->rc_sockets++;
	conntable__reconcile_mark(d->rc_table, c);
}

/* Read what a failed dump left on fd. */
static void rc_drain(struct twdiag *d, int fd)
{
	for (;;) {
		ssize_t r = recv(fd, d->buf, RECV_BUF, MSG_DONTWAIT);

		if (r <= 0 && !(r < 0 && errno == EINTR))
			break;
	}
}

/* Ask namespace d->rc_ns (and on) for family d->rc_family, skipping the namespaces
 * without a socket and those that fail; false when none is left. */
static bool rc_ask(struct twdiag *d)
{
	char err[256];

	for (; d->rc_ns < d->nns; d->rc_ns++, d->rc_family = AF_INET) {
		struct ns_sock *s = &d->ns[d->rc_ns];
		int r;

		if (s->fd < 0)
			continue;
		r = seed__dump_ask(s->fd, d->rc_family, err, sizeof(err));
		if (!r)
			return true;
		if (d->rc_family == AF_INET6 && (r == -ENOENT || r == -EAFNOSUPPORT)) {
			s->rc_ok = true;
			continue;
		}
		s->rc_ok = false;
		d->st.rc_ns_failed++;
	}
	return false;
}

/* One turn's share of the reconcile dump: replies for up to RC_STEP_NS. Ends the
 * dump (rc_end_ns, rc_pending) when the last namespace is done. */
static void rc_step(struct twdiag *d)
{
	uint64_t t0 = clock__ns(CLOCK_MONOTONIC), now = t0;
	char err[256];

	while (d->rc_ns < d->nns && now - t0 < RC_STEP_NS) {
		struct ns_sock *s = &d->ns[d->rc_ns];
		struct seed_ns ns = {d->rc_start, s->netns, 0};
		int r = seed__dump_next(s->fd, &ns, d->buf, on_dumped, d, err, sizeof(err));

		now = clock__ns(CLOCK_MONOTONIC);
		if (!r)
			continue;
		if (r < 0 && !(d->rc_family == AF_INET6 && (r == -ENOENT || r == -EAFNOSUPPORT))) {
			rc_drain(d, s->fd);
			s->rc_ok = false;
			d->st.rc_ns_failed++;
			d->rc_ns++;
			d->rc_family = AF_INET;
		} else if (d->rc_family == AF_INET) {
			d->rc_family = AF_INET6;
		} else {
			s->rc_ok = true;
			d->rc_ns++;
			d->rc_family = AF_INET;
		}
		if (!rc_ask(d))
			break;
	}
	if (now - t0 > d->st.rc_step_max_ns)
		d->st.rc_step_max_ns = now - t0;
	if (d->rc_ns < d->nns)
		return;
	d->rc_dumping = false;
	d->rc_end_ns = now;
	d->rc_pending = true;
	d->st.rc_sockets = d->rc_sockets;
	d->st.rc_dump_ns = now - d->rc_start;
	if (d->st.rc_dump_ns > d->st.rc_dump_max_ns)
		d->st.rc_dump_max_ns = d->st.rc_dump_ns;
}

/* Start a reconcile pass: its dump runs over the next turns (rc_step()). */
static void rc_start(struct twdiag *d, struct conntable *t)
{
	d->rc_start = clock__ns(CLOCK_MONOTONIC);
	d->rc_table = t;
	d->rc_sockets = 0;
	d->rc_ns = 0;
	d->rc_family = AF_INET;
	for (size_t i = 0; i < d->nns; i++)
		d->ns[i].rc_ok = false;
	conntable__reconcile_begin(t, d->rc_start);
	d->rc_dumping = true;
	d->st.rc_dumps++;
	rc_ask(d);
}

void twdiag__step(struct twdiag *d, struct conntable *t, uint64_t now_ns, uint64_t until_ns,
		  void (*fn)(void *arg, const struct td_event *e), void *arg)
{
	size_t n, max, kept = 0;

	/* Every record up to the dump's end is in: what the dump missed is gone. */
	if (d->rc_pending && until_ns >= d->rc_end_ns) {
		conntable__reconcile_end(t, d->rc_end_ns, rc_reachable, d);
		d->rc_pending = false;
	}
	if (d->rc_period && !d->rc_pending && !d->rc_dumping) {
		if (!d->rc_next) {
			d->rc_next = now_ns + d->rc_period;
		} else if (now_ns >= d->rc_next) {
			rc_start(d, t);
			d->rc_next = now_ns + d->rc_period;
		}
	}
	/* The lookups share the sockets: they wait while a dump is read. */
	if (d->rc_dumping) {
		rc_step(d);
		return;
	}

	/* In the order they were read, up to the first one still ahead of the records. */
	for (size_t i = 0; i < d->npend; i++) {
		if (kept || d->pend[i].ts_ns > until_ns)
			d->pend[kept++] = d->pend[i];
		else
			fn(arg, &d->pend[i]);
	}
	d->npend = kept;
	if (now_ns >= d->next_witness) {
		check_witnesses(d);
		d->next_witness = now_ns + WITNESS_NS;
	}
	if (!d->last_ns || now_ns < d->last_ns) {
		d->tokens = BURST;
	} else {
		d->tokens += (double)(now_ns - d->last_ns) * TWDIAG_PER_S / 1e9;
		if (d->tokens > BURST)
			d->tokens = BURST;
	}
	d->last_ns = now_ns;
	max = (size_t)d->tokens;
	if (max > BURST - d->npend)
		max = BURST - d->npend; /* every answer finds room in pend[] */
	if (!max)
		return;
	n = conntable__tw_due(t, now_ns, d->q, max, reachable, d);
	d->tokens -= (double)n;
	/* Batches of one namespace each: the queries come in due order, mostly
	 * from one namespace. */
	for (size_t i = 0; i < n;) {
		struct ns_sock *s = ns_find(d, d->q[i].netns);
		size_t j = i + 1;

		while (j < n && j - i < TWDIAG_BATCH && d->q[j].netns == d->q[i].netns)
			j++;
		if (s && s->fd >= 0)
			ask(d, s->fd, &d->q[i], j - i);
		i = j;
	}
}

const struct twdiag_stats *twdiag__stats(const struct twdiag *d)
{
	return &d->st;
}

void twdiag__close(struct twdiag *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nns; i++)
		ns_close(&d->ns[i]);
	free(d->ns);
	free(d->buf);
	free(d);
}
