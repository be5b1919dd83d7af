// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The HTTP edge of `tcpdwell serve`: libmicrohttpd answers /metrics from its
 * own thread with the last text the main loop published. The socket is bound
 * while tcpdwell may still hold privileges (a port below 1024); the thread
 * starts only after they are dropped, since capabilities are per thread. The
 * main loop renders (metrics.c) and swaps the published buffer under a mutex
 * held only for the swap or the copy, so scrapes never block tracing and never
 * see a half-updated histogram.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "serve.h"

struct server {
	struct MHD_Daemon *daemon;
	int fd;	    /* the listening socket until the daemon owns it */
	int family; /* of the listening address */
	pthread_mutex_t lock;
	char *text[2]; /* [0] Prometheus text, [1] OpenMetrics */
	size_t len[2];
	uint64_t scrapes;
};

static const char index_page[] =
	"<html><head><title>tcpdwell</title></head><body><h1>tcpdwell</h1>"
	"<p>TCP state dwell times of this host.</p>"
	"<p><a href=\"/metrics\">/metrics</a>: Prometheus metrics "
	"(tcpdwell_state_dwell_seconds, tcpdwell_transitions_total, tcpdwell_sockets, "
	"tcpdwell_stuck_sockets, tcpdwell_lost_records_total, tcpdwell_evictions_total, "
	"tcpdwell_build_info).</p></body></html>\n";

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const char *type,
			     void *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_size, void **con_cls)
{
	struct server *s = cls;
	const char *accept;
	bool om;
	char *copy;
	size_t len;

	(void)version;
	(void)upload_data;
	(void)upload_size;
	(void)con_cls;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
			     (void *)"method not allowed\n", 19, MHD_RESPMEM_PERSISTENT);
	if (!strcmp(url, "/"))
		return reply(conn, MHD_HTTP_OK, "text/html; charset=utf-8", (void *)index_page,
			     sizeof(index_page) - 1, MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", (void *)"not found\n", 10,
			     MHD_RESPMEM_PERSISTENT);
	accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	om = accept && strstr(accept, "application/openmetrics-text");
	pthread_mutex_lock(&s->lock);
	len = s->len[om];
	copy = malloc(len ? len : 1);
	if (copy && len)
		memcpy(copy, s->text[om], len);
	s->scrapes++;
	pthread_mutex_unlock(&s->lock);
	if (!copy)
		return MHD_NO;
	return reply(conn, MHD_HTTP_OK,
		     om ? "application/openmetrics-text; version=1.0.0; charset=utf-8" :
			  "text/plain; version=0.0.4; charset=utf-8",
		     copy, len, MHD_RESPMEM_MUST_FREE);
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
	    listen(fd, 64)) {
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
	s->family = ss.ss_family;
	return s;
}

int server__start(struct server *s, char *err, size_t errlen)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

	if (s->family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle, s, MHD_OPTION_LISTEN_SOCKET,
				     s->fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	if (!s->daemon) {
		snprintf(err, errlen, "cannot start the HTTP server");
		return -1;
	}
	s->fd = -1; /* the daemon's now: MHD_stop_daemon closes it */
	return 0;
}

void server__publish(struct server *s, char *text, size_t len, char *om_text, size_t om_len)
{
	char *old[2];

	pthread_mutex_lock(&s->lock);
	old[0] = s->text[0];
	old[1] = s->text[1];
	s->text[0] = text;
	s->len[0] = len;
	s->text[1] = om_text;
	s->len[1] = om_len;
	pthread_mutex_unlock(&s->lock);
	free(old[0]);
	free(old[1]);
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
	if (!s)
		return;
	if (s->daemon)
		MHD_stop_daemon(s->daemon);
	if (s->fd >= 0)
		close(s->fd);
	pthread_mutex_destroy(&s->lock);
	free(s->text[0]);
	free(s->text[1]);
	free(s);
}
