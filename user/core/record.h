/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Recordings: the file form of a trace, laid out in docs/FORMAT.md. The writer is
 * the sink of `tcpdwell record` (tracer -> recorder -> file); the reader is the
 * source of every view's -i (file -> reader -> conntable). Neither reads a clock
 * nor calls libbpf: the writer appends to a FILE *, the reader walks a buffer the
 * caller has mapped, so both run in tests, fuzzing and benchmarks without root.
 */
#ifndef TD_RECORD_H
#define TD_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bpf/tcpdwell.h"
#include "conntable.h"
#include "names.h"

/* The version this code writes, and the oldest it still reads (FORMAT.md, "Versioning"):
 * version 2 added records that are not state changes (kinds 6 and 7), which a version 1
 * reader that takes every EVENT for one would misread. */
#define REC_VERSION	    2
#define REC_VERSION_OLDEST 1

/* The first eight bytes of every recording (see FORMAT.md for why these). */
#define REC_MAGIC     "\x89TDW\r\n\x1a\n"
#define REC_MAGIC_LEN 8

/* Longest header strings, in bytes, not counting a terminating NUL. */
#define REC_HOST_MAX	255
#define REC_KERNEL_MAX	255
#define REC_OPTIONS_MAX 4095

/* Record types (the first byte of each record). 0 is never valid: a run of
 * zero bytes is what a file system leaves after a crash, and must not read as
 * records. Types above REC_END are skipped by this reader. */
enum rec_type {
	REC_EVENT = 1, /* one struct td_event */
	REC_TICK = 2,  /* the recorder's clock: replay into conntable__advance() */
	REC_LOST = 3,  /* cumulative loss counters */
	REC_SEED = 4,  /* one socket of the start-up socket dump */
	REC_END = 5,   /* the recorder stopped cleanly */
	REC_CGROUP = 6, /* a cgroup id's path, pod and container names (names.h) */
};

/* What the recording says about where and how it was made. */
struct rec_header {
	uint16_t version;	    /* set by the reader; the writer always writes REC_VERSION */
	int64_t realtime_offset_ns; /* CLOCK_REALTIME - CLOCK_MONOTONIC when recording began */
	uint64_t start_ns;	    /* CLOCK_MONOTONIC when recording began */
	char host[REC_HOST_MAX + 1];
	char kernel[REC_KERNEL_MAX + 1];   /* uname release */
	char options[REC_OPTIONS_MAX + 1]; /* the recorder's command line */
	/* Sysctls of the recorder's network namespace, for doctor -i; a recording
	 * made before they were written reads back with both unknown. */
	bool port_range_known; /* net.ipv4.ip_local_port_range */
	uint16_t port_lo, port_hi;
	bool max_tw_buckets_known; /* net.ipv4.tcp_max_tw_buckets */
	uint32_t max_tw_buckets;
	/* The accept() tracepoints were on (header flag REC_HDR_ACCEPTS): every accept
	 * the recording saw is in it, so a passive connection that ended without one was
	 * never accepted. Unset in recordings made before the flag: not known. */
	bool accepts;
	/* The handshake's RTT and retransmits and what connections carried were read
	 * (REC_HDR_CONN_INFO): every -> CLOSE but a listener's and a failed connect's has
	 * its TD_EV_CONN_STATS record. Unset in older recordings: they have none. */
	bool conn_info;
	/* Resets were traced (REC_HDR_RESETS): TD_EV_RST records, and an aborted
	 * connection's end waits for its reset on replay as it did live
	 * (conntable__expect_resets()). Unset in older recordings. */
	bool resets;
	/* The recording kernel's reset reason names (enum sk_rst_reason), after the host
	 * facts; none in older recordings and from kernels before 6.10. */
	struct rst_reasons rst;
};

/* Header flags (FORMAT.md). */
#define REC_HDR_ACCEPTS	  0x1
#define REC_HDR_CONN_INFO 0x2
#define REC_HDR_RESETS	  0x4

/* Loss counters since the recorder started (tracer__lost()), read at ts_ns. */
struct rec_lost {
	uint64_t ts_ns;
	uint64_t ringbuf;
	uint64_t recursion;
};

/* One item read back. Only the union member named by type is set. */
struct rec_item {
	uint8_t type; /* enum rec_type; never REC_END (that ends the stream) */
	union {
		struct td_event ev;   /* REC_EVENT */
		uint64_t tick_ns;     /* REC_TICK */
		struct rec_lost lost; /* REC_LOST */
		struct conn seed;     /* REC_SEED: ready for conntable__seed() */
		/* REC_CGROUP: the strings point into the reader's buffer (not NUL-terminated,
		 * any bytes): copy them before it is unmapped (cgn__set() does). */
		struct rec_cgroup {
			uint64_t id;
			const char *path, *pod, *container;
			uint16_t path_len, pod_len, container_len;
		} cgroup;
	};
};

/* Writer state. Plain data: the caller owns it and the FILE. */
struct rec_writer {
	FILE *f;
	uint64_t records; /* records written, header not counted */
	uint64_t bytes;	  /* bytes written, header included */
	int err;	  /* errno of the first failed write; every later call fails */
};

/*
 * Start a recording on f (opened for writing, positioned at its start) and write
 * the header from h (version is ignored; strings longer than their REC_*_MAX
 * are cut there). w is initialised; nothing is allocated. Returns 0, or -1 with
 * errno (and w->err) set when the write fails.
 */
int rec_writer__init(struct rec_writer *w, FILE *f, const struct rec_header *h);

/*
 * Append one kernel record. It reads back as given, except that comm's last byte
 * reads back as 0 (the kernel always ends it), a record with pid 0 and an
 * empty comm (made outside process context) reads back with all of comm zero, pad
 * reads back 0, and retrans is kept only with TD_F_HANDSHAKE (else it reads back 0). Each record goes to
 * the FILE in one buffered write: what reaches the file between flushes is whole
 * records except, at worst, the last one. Returns 0, or -1 with errno set; after
 * a failure every call fails without writing, so no record follows a torn one.
 */
int rec_writer__event(struct rec_writer *w, const struct td_event *e);

/* Append a clock tick at monotonic now_ns. Returns as rec_writer__event(). */
int rec_writer__tick(struct rec_writer *w, uint64_t now_ns);

/* Append the loss counters as read at ts_ns (cumulative, not deltas). Returns as
 * rec_writer__event(). */
int rec_writer__lost(struct rec_writer *w, const struct rec_lost *l);

/*
 * Append a socket from the start-up dump (see FORMAT.md for where). Kept: cookie,
 * state, family, saddr, daddr, sport, dport, netns, pid, comm, role, owner_src,
 * step_ns[0], start_ns, lower_bound, flags, tw_substate, tw_deadline_ns and cgroup
 * (comm's last byte reads back as 0); the rest of struct conn, which only the
 * connection table fills, reads back as zero. A socket the dump could not
 * produce (state outside 1..12, family not 4 or 6, role, owner_src, lower_bound
 * or tw_substate out of range) is refused with EINVAL and nothing written; other
 * errors as rec_writer__event().
 */
int rec_writer__seed(struct rec_writer *w, const struct conn *c);

/*
 * Append a cgroup's names (written before the first record that carries its id, and again
 * when its pod's or container's name becomes known). Strings longer than their CGN_*
 * bounds are cut there. Returns as rec_writer__event().
 */
int rec_writer__cgroup(struct rec_writer *w, const struct cg_name *n);

/*
 * Write the end marker (now_ns: monotonic time the recording stopped) and flush.
 * The caller still closes the FILE. Returns as rec_writer__event().
 */
int rec_writer__end(struct rec_writer *w, uint64_t now_ns);

/*
 * Push buffered records to the kernel (fflush), so that a recorder killed later
 * leaves them in the file. Call once per poll loop. Returns 0, or -1 with errno.
 */
int rec_writer__flush(struct rec_writer *w);

/* Reader state. Plain data: the caller owns it and the buffer, which must stay
 * mapped while the reader is used. The fields read per record come first. */
struct rec_reader {
	const uint8_t *buf;
	size_t len;
	size_t pos;	  /* offset of the next record */
	uint64_t items;	  /* items returned */
	uint64_t skipped; /* records of types this reader does not know */
	bool end_seen;	  /* the END record was reached */
	uint64_t end_ns;  /* its time, when end_seen */
	size_t trailing;  /* bytes after END (ignored) */
	uint64_t tick_ns; /* the last TICK's time (0 before the first) */
	char err[160];	  /* last error, one line, naming the byte offset; "" if none */
	struct rec_header hdr;
};

/*
 * Start reading the recording in buf[0..len) (the caller maps the file): check
 * the magic and version, and decode the header into r->hdr. Nothing is
 * allocated and nothing past buf + len is read. Returns 0, or -1 with a one-line
 * message in r->err ("bad magic at byte 0: not a tcpdwell recording").
 */
int rec_reader__open(struct rec_reader *r, const void *buf, size_t len);

/*
 * Decode the next item into *it, skipping records of unknown types. Returns 1
 * with an item; 0 at the END record or when the buffer ends exactly after a
 * record (r->end_seen tells which: without it the recorder did not stop
 * cleanly); -1 with a message in r->err naming the byte offset of the bad
 * record ("truncated record at byte 4123: ..."). A TICK or END time before the
 * last TICK's, or past 2^63 - 1 ns (the kernel's ktime_t is signed), is a bad
 * record: the recorder's clock is monotonic. Every item before a bad record
 * is returned first, so a torn tail loses only the torn record. Once 0 or -1 is
 * returned, every later call returns the same.
 */
int rec_reader__next(struct rec_reader *r, struct rec_item *it);

#endif /* TD_RECORD_H */
