/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * HTTP server for `tcpdwell serve` (libmicrohttpd, one thread of its own). The
 * main loop publishes rendered metrics; the server only hands them out.
 */
#ifndef TD_SERVE_H
#define TD_SERVE_H

#include <stddef.h>
#include <stdint.h>

struct server;

/*
 * Bind and listen on "ADDR:PORT" ("[::1]:PORT" for IPv6) without serving yet.
 * Returns NULL with a one-line message in err when the address is malformed or
 * cannot be bound.
 */
struct server *server__open(const char *listen_addr, char *err, size_t errlen);

/*
 * Start the HTTP thread that answers GET and HEAD of / and /metrics on the
 * socket of server__open() (other methods 405, other paths 404, a request body
 * 413, oversized request lines or headers 414/431). It holds at most 512
 * connections (fewer when RLIMIT_NOFILE is low), 8 per client address, and
 * closes any connection still open 5 s after its accept, however slowly it
 * sends or reads. The thread gets
 * the capabilities the caller has now: call it after dropping them. Returns 0,
 * or -1 with a one-line message in err.
 */
int server__start(struct server *s, char *err, size_t errlen);

/*
 * Replace the texts served from now on (Prometheus text and OpenMetrics). The
 * server takes ownership of both malloc()ed buffers and frees the old ones.
 */
void server__publish(struct server *s, char *text, size_t len, char *om_text, size_t om_len);

/* Number of /metrics requests answered so far. */
uint64_t server__scrapes(struct server *s);

/* Stop the thread and free everything; NULL is a no-op. */
void server__stop(struct server *s);

#endif /* TD_SERVE_H */
