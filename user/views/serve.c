// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The HTTP edge of `tcpdwell serve`: libmicrohttpd answers /metrics from one
 * thread of tcpdwell's own with the last text the main loop published. The
 * socket is bound while tcpdwell may still hold privileges (a port below 1024);
 * the thread starts only after they are dropped, since capabilities are per
 * thread. The main loop renders (metrics.c) and swaps the published buffer
 * under a mutex held only for the swap, so scrapes never block tracing and
 * never see a half-updated histogram; responses share the published text by
 * reference, so a slow reader costs no copy of it.
 *
 * No client can hold the exporter: libmicrohttpd limits connections in all and
 * per address, request sizes and idle time, but has no total deadline, so a
 * client sending a header byte every second keeps its socket forever. The
 * thread therefore runs libmicrohttpd's event loop itself (external epoll) and,
 * between its runs, shuts down every connection still open SERVE_DEADLINE_MS
 * after its accept. Every request is answered in the first callback, after
 * which libmicrohttpd (0.9.75) closes the connection, so one connection is one
 * request; a library that kept connections alive would see them cut at the
 * deadline, which scrapers take as a closed idle connection. Sweeping in the
 * thread that also closes sockets means a socket is never shut down after
 * libmicrohttpd closed it and its number was reused.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "serve.h"

/*
 * A scrape is one small GET answered from memory: 5 s from accept to the last
 * byte of the answer is ample (Prometheus's own scrape timeout is 10 s).
 */
#define SERVE_DEADLINE_MS 5000
/* Prometheus, a readiness probe and a person with curl need a few each. */
#define SERVE_PER_ADDR 8
/* At most, and at most half the descriptors tcpdwell may open. */
#define SERVE_MAX_CONNS 512
/* Per connection, for the request line and headers: larger ones get 414 or 431. */
#define SERVE_REQUEST_MEMORY 8192
/* libmicrohttpd's messages (a refused connection each) are shown once per this. */
#define SERVE_LOG_EVERY_MS 10000

/* A published text, shared by the responses still sending it. */
struct text {
	struct server *s;
	char *buf;
	size_t len;
	unsigned refs; /* the server's own, plus one per response; under s->lock */
};

/* A connection the deadline sweep watches; only the HTTP thread touches these. */
struct slot {
	int fd;
	uint64_t since_ms; /* accepted */
	bool used, cut;
};

struct server {
	struct MHD_Daemon *daemon;
	int fd;	    /* the listening socket until the daemon owns it */
	int family; /* of the listening address */
	int wake;   /* eventfd: written to stop the HTTP thread */
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	struct text *text[2]; /* [0] Prometheus text, [1] OpenMetrics; NULL before the first */
	uint64_t scrapes;
	/* Owned by the HTTP thread (and by whoever starts and stops the daemon). */
	struct slot *slots;
	unsigned nslots, nused;
	uint64_t log_next_ms;
	unsigned long log_dropped;
};

static const char index_page[] =
	"<html><head><title>tcpdwell</title></head><body><h1>tcpdwell</h1>"
	"<p>TCP state dwell times of this host.</p>"
	"<p><a href=\"/metrics\">/metrics</a>: Prometheus metrics "
	"(tcpdwell_state_dwell_seconds, tcpdwell_transitions_total, tcpdwell_sockets, "
	"tcpdwell_stuck_sockets, tcpdwell_lost_records_total, tcpdwell_chain_breaks_total, "
	"tcpdwell_evictions_total, tcpdwell_build_info).</p></body></html>\n";

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Drop one reference; the last frees. Caller holds s->lock. */
static void text__put_locked(struct text *t)
{
	if (t && !--t->refs) {
		free(t->buf);
		free(t);
	}
}

/* libmicrohttpd is done sending a response that shared t. */
static void text__release(void *cls)
{
	struct text *t = cls;
	struct server *s = t->s;

	pthread_mutex_lock(&s->lock);
	text__put_locked(t);
	pthread_mutex_unlock(&s->lock);
}

static enum MHD_Result queue(struct MHD_Connection *conn, unsigned code, const char *type,
			     struct MHD_Response *r)
{
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const char *type,
			     const char *body)
{
	return queue(
	    conn, code, type,
	    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT));
}

/* Whether the request announces a body: nothing served here takes one. */
static bool has_body(struct MHD_Connection *conn)
{
	const char *cl =
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

	return MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					   MHD_HTTP_HEADER_TRANSFER_ENCODING) ||
	       (cl && strcmp(cl, "0"));
}

/* Called once the request line and headers are in: every request is answered then. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_size, void **con_cls)
{
	struct server *s = cls;
	static const char om_type[] = "application/openmetrics-text; version=1.0.0; charset=utf-8";
	static const char prom_type[] = "text/plain; version=0.0.4; charset=utf-8";
	struct MHD_Response *r;
	const char *accept;
	struct text *t;
	bool om;

	(void)version;
	(void)upload_data;
	(void)upload_size;
	(void)con_cls;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
			     "method not allowed\n");
	if (has_body(conn))
		return reply(conn, MHD_HTTP_CONTENT_TOO_LARGE, "text/plain",
			     "a request body is not accepted\n");
	if (!strcmp(url, "/"))
		return reply(conn, MHD_HTTP_OK, "text/html; charset=utf-8", index_page);
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n");
	accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	om = accept && strstr(accept, "application/openmetrics-text");
	pthread_mutex_lock(&s->lock);
	t = s->text[om];
	if (t)
		t->refs++;
	s->scrapes++;
	pthread_mutex_unlock(&s->lock);
	if (t)
		r = MHD_create_response_from_buffer_with_free_callback_cls(t->len, t->buf,
									   text__release, t);
	else
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!r && t)
		text__release(t);
	return queue(conn, MHD_HTTP_OK, om ? om_type : prom_type, r);
}

/* A connection was accepted or closed: the sweep's table follows. HTTP thread. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct server *s = cls;
	const union MHD_ConnectionInfo *ci;
	struct slot *sl = *socket_context;
	unsigned i;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (sl) {
			sl->used = false;
			s->nused--;
		}
		*socket_context = NULL;
		return;
	}
	if (code != MHD_CONNECTION_NOTIFY_STARTED)
		return;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return;
	for (i = 0; i < s->nslots && s->slots[i].used; i++)
		;
	if (i == s->nslots) {
		/* More connections than the limit given to libmicrohttpd: not served. */
		shutdown(ci->connect_fd, SHUT_RDWR);
		return;
	}
	sl = &s->slots[i];
	sl->fd = ci->connect_fd;
	sl->since_ms = now_ms();
	sl->used = true;
	sl->cut = false;
	s->nused++;
	*socket_context = sl;
}

/*
 * Shut down every connection past its deadline; libmicrohttpd then sees the end
 * of its stream and closes it. Returns the milliseconds until the next
 * deadline, or -1 when no connection is open.
 */
static int sweep(struct server *s, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	unsigned i, seen = 0;

	for (i = 0; i < s->nslots && seen < s->nused; i++) {
		struct slot *sl = &s->slots[i];
		uint64_t due = sl->since_ms + SERVE_DEADLINE_MS;

		if (!sl->used)
			continue;
		seen++;
		if (sl->cut)
			continue;
		if (now >= due) {
			shutdown(sl->fd, SHUT_RDWR);
			sl->cut = true;
		} else if (due - now < next) {
			next = due - now;
		}
	}
	return next == UINT64_MAX ? -1 : (int)next;
}

/*
 * libmicrohttpd's messages, at most one per SERVE_LOG_EVERY_MS so that a flood
 * of refused clients cannot flood the log, with anything not printable
 * replaced since a message may quote what a client sent.
 */
static void on_log(void *cls, const char *fmt, va_list ap)
{
	struct server *s = cls;
	uint64_t now = now_ms();
	char msg[256];
	size_t i, n;

	if (now < s->log_next_ms) {
		s->log_dropped++;
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = 0;
	for (i = 0; i < n; i++)
		if (!isprint((unsigned char)msg[i]))
			msg[i] = '?';
	fprintf(stderr, "tcpdwell: http: %s\n", msg);
	if (s->log_dropped)
		fprintf(stderr, "tcpdwell: http: %lu earlier messages not shown\n", s->log_dropped);
	s->log_dropped = 0;
	s->log_next_ms = now + SERVE_LOG_EVERY_MS;
}

/* The HTTP thread: libmicrohttpd's event loop and the deadline sweep, until s->wake. */
static void *serve_loop(void *arg)
{
	struct server *s = arg;
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	struct pollfd pfd[2];

	pfd[0] = (struct pollfd){ .fd = di ? di->epoll_fd : -1, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = s->wake, .events = POLLIN };

	for (;;) {
		MHD_UNSIGNED_LONG_LONG mhd_ms;
		int ms = sweep(s, now_ms());

		if (MHD_get_timeout(s->daemon, &mhd_ms) == MHD_YES &&
		    (ms < 0 || mhd_ms < (MHD_UNSIGNED_LONG_LONG)ms))
			ms = mhd_ms < INT_MAX ? (int)mhd_ms : INT_MAX;
		if (poll(pfd, 2, ms) < 0 && errno != EINTR)
			fprintf(stderr, "tcpdwell: http: poll: %s\n", strerror(errno));
		if (pfd[1].revents)
			break;
		MHD_run(s->daemon);
	}
	return NULL;
}

/* "ADDR:PORT", "[v6]:PORT" or ":PORT" (all addresses). */
static int parse_listen(const char *s, struct sockaddr_storage *ss, char *err, size_t errlen)
{
	char host[128];
	const char *colon = strrchr(s, ':');
	long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		goto bad;
	port = strtol(colon + 1, &end, 10);
	if (*end || colon[1] == 0 || port < 1 || port > 65535)
		goto bad;
	memcpy(host, s, colon - s);
	host[colon - s] = 0;
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		host[strlen(host) - 1] = 0;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
			goto bad;
		return 0;
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

	a4->sin_family = AF_INET;
	a4->sin_port = htons(port);
	if (host[0] && inet_pton(AF_INET, host, &a4->sin_addr) != 1)
		goto bad;
	return 0;
bad:
	snprintf(err, errlen, "invalid address '%s' in --listen: expected ADDR:PORT", s);
	return -1;
}

struct server *server__open(const char *listen_addr, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct server *s;
	int one = 1, fd;

	if (parse_listen(listen_addr, &ss, err, errlen))
		return NULL;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&ss,
		 ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
					    sizeof(struct sockaddr_in)) ||
	    listen(fd, SERVE_MAX_CONNS)) {
		snprintf(err, errlen, "cannot listen on %s: %s", listen_addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->fd = fd;
	s->wake = -1;
	s->family = ss.ss_family;
	return s;
}

int server__start(struct server *s, char *err, size_t errlen)
{
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	unsigned limit = SERVE_MAX_CONNS;
	struct rlimit rl;
	int e;

	if (s->family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 2 < limit)
		limit = rl.rlim_cur / 2 ? (unsigned)(rl.rlim_cur / 2) : 1;
	s->slots = calloc(limit, sizeof(*s->slots));
	s->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!s->slots || s->wake < 0) {
		snprintf(err, errlen, "cannot start the HTTP server: %s", strerror(errno));
		return -1;
	}
	s->nslots = limit;
	s->daemon =
	    MHD_start_daemon(flags, 0, NULL, NULL, handle, s, MHD_OPTION_EXTERNAL_LOGGER, on_log, s,
			     MHD_OPTION_LISTEN_SOCKET, s->fd, MHD_OPTION_CONNECTION_LIMIT, limit,
			     MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)SERVE_PER_ADDR,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(SERVE_DEADLINE_MS / 1000),
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SERVE_REQUEST_MEMORY,
			     MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_END);
	if (!s->daemon) {
		snprintf(err, errlen, "cannot start the HTTP server");
		return -1;
	}
	s->fd = -1; /* the daemon's now: MHD_stop_daemon closes it */
	e = pthread_create(&s->thread, NULL, serve_loop, s);
	if (e) {
		snprintf(err, errlen, "cannot start the HTTP thread: %s", strerror(e));
		return -1;
	}
	s->running = true;
	return 0;
}

/* Make t the published text of kind k; the old one lives on while responses send it. */
static void publish_one(struct server *s, int k, char *buf, size_t len)
{
	struct text *t = malloc(sizeof(*t));

	if (!t) {
		/* Keep serving the previous render rather than none. */
		free(buf);
		return;
	}
	*t = (struct text){.s = s, .buf = buf, .len = len, .refs = 1};
	pthread_mutex_lock(&s->lock);
	text__put_locked(s->text[k]);
	s->text[k] = t;
	pthread_mutex_unlock(&s->lock);
}

void server__publish(struct server *s, char *text, size_t len, char *om_text, size_t om_len)
{
	publish_one(s, 0, text, len);
	publish_one(s, 1, om_text, om_len);
}

uint64_t server__scrapes(struct server *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->scrapes;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void server__stop(struct server *s)
{
	uint64_t one = 1;

	if (!s)
		return;
	if (s->running) {
		if (write(s->wake, &one, sizeof(one)) != sizeof(one)) {
			/* The thread still runs: leave it everything rather than free under it. */
			fprintf(stderr, "tcpdwell: http: cannot stop the HTTP thread: %s\n",
				strerror(errno));
			return;
		}
		pthread_join(s->thread, NULL);
	}
	if (s->daemon)
		MHD_stop_daemon(s->daemon); /* releases the texts of unfinished responses */
	if (s->fd >= 0)
		close(s->fd);
	if (s->wake >= 0)
		close(s->wake);
	pthread_mutex_lock(&s->lock);
	text__put_locked(s->text[0]);
	text__put_locked(s->text[1]);
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_destroy(&s->lock);
	free(s->slots);
	free(s);
}
