// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Recording writer and reader (docs/FORMAT.md is the layout; this file must match
 * it byte for byte). The writer turns kernel records, ticks, loss counters and
 * seeded sockets into little-endian, length-prefixed records on a FILE *; the
 * reader checks and decodes them from a mapped buffer for the connection table.
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "record.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Header: magic, version, header length, flags, two clocks, then the strings. */
#define HDR_VERSION  8
#define HDR_LEN	     10
#define HDR_FLAGS    12
#define HDR_REALTIME 16
#define HDR_START    24
#define HDR_FIXED    32
#define HDR_MIN	     (HDR_FIXED + 1 + 1 + 2) /* three empty strings */
/* Host facts after the options: known bits, port_lo, port_hi, max_tw_buckets. */
#define HDR_FACTS	    (1 + 2 + 2 + 4)
/* The reset reasons after the facts: a count, then per name its number, length, bytes. */
#define HDR_RST_MAX (1 + RST_REASONS_MAX * (2 + RST_NAME_LEN - 1))
#define FACT_PORT_RANGE	    0x1
#define FACT_MAX_TW_BUCKETS 0x2

/* Record prefix: u8 type, u16 payload length. */
#define PREFIX 3

/* EVENT payload: fixed part, then the addresses (4 or 16 bytes each, by
 * EV_ADDR16), then pid and comm when EV_OWNER. */
#define EV_TS	     0
#define EV_COOKIE    8
#define EV_SKADDR    16
#define EV_CGROUP    24
#define EV_NETNS     32
#define EV_TWLEFT    36
#define EV_SPORT     40
#define EV_DPORT     42
#define EV_KIND	     44
#define EV_FLAGS     45
#define EV_FAMILY    46
#define EV_OLD	     47
#define EV_NEW	     48
#define EV_LAYOUT    49
#define EV_FIXED     50
#define EV_OWNER_LEN (4 + TD_COMM_LEN)
#define EV_MAX	     (EV_FIXED + 2 * 16 + EV_OWNER_LEN + 1) /* + the handshake's byte */

/* EVENT layout bits. */
#define EV_ADDR16 0x01 /* addresses are 16 bytes each (else 4: IPv4) */
#define EV_OWNER  0x02 /* pid and comm follow the addresses (else both zero) */

#define TICK_LEN 8
#define LOST_LEN 24
#define END_LEN	 8

/* SEED payload. */
#define SD_COOKIE      0
#define SD_STEP0       8
#define SD_START       16
#define SD_TW_DEADLINE 24
#define SD_NETNS       32
#define SD_PID	       36
#define SD_SPORT       40
#define SD_DPORT       42
#define SD_FLAGS       44
#define SD_STATE       46
#define SD_FAMILY      47
#define SD_ROLE	       48
#define SD_OWNER_SRC   49
#define SD_LOWER       50
#define SD_TWSUB       51
#define SD_SADDR       52
#define SD_DADDR       68
#define SD_COMM	       84
#define SD_CGROUP      100 /* added in 0.x: a shorter seed reads back with cgroup 0 */
#define SD_MIN	       100
#define SD_LEN	       108

/* CGROUP payload: id, the three strings' lengths, then the strings. */
#define CG_FIXED 14

/*
 * Little-endian loads and stores through memcpy: no alignment assumed, and on
 * x86 each compiles to one mov (the byte swap is a no-op there). Decoding an
 * event is a couple of dozen of these, so they must inline.
 */
static inline uint16_t ld16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

static inline uint32_t ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static inline uint64_t ld64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static inline void st16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, sizeof(v));
}

static inline void st32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static inline void st64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

/*
 * A seeded socket goes into the connection table as it is, and the table trusts
 * a struct conn (it indexes arrays and shifts by its state): values the socket
 * dump never produces are refused when writing and when reading. Returns true,
 * or false with the reason in why.
 */
static bool seed_valid(const struct conn *c, char *why, size_t len)
{
	if (c->state == 0 || c->state >= TD_STATE_MAX)
		snprintf(why, len, "state %u is not a TCP state", c->state);
	else if (c->tw_substate >= TD_STATE_MAX)
		snprintf(why, len, "timewait substate %u is not a TCP state", c->tw_substate);
	else if (c->family != 4 && c->family != 6)
		snprintf(why, len, "family %u is neither 4 nor 6", c->family);
	else if (c->role > CT_ROLE_LISTEN || c->owner_src > CT_OWNER_SEED || c->lower_bound > 1)
		snprintf(why, len, "role %u, owner source %u or lower bound %u out of range",
			 c->role, c->owner_src, c->lower_bound);
	else
		return true;
	return false;
}

/* --- writer --- */

static int wr(struct rec_writer *w, const void *p, size_t n)
{
	if (w->err) {
		errno = w->err;
		return -1;
	}
	/* One FILE per recorder thread: the unlocked call saves a lock round trip
	 * per record at storm rates. */
	if (fwrite_unlocked(p, 1, n, w->f) != n) {
		w->err = errno ? errno : EIO;
		errno = w->err;
		return -1;
	}
	w->bytes += n;
	return 0;
}

/* Write the record in rec[0..PREFIX + n): type and payload already there. */
static int put_record(struct rec_writer *w, uint8_t *rec, uint8_t type, size_t n)
{
	rec[0] = type;
	st16(rec + 1, (uint16_t)n);
	if (wr(w, rec, PREFIX + n))
		return -1;
	w->records++;
	return 0;
}

int rec_writer__init(struct rec_writer *w, FILE *f, const struct rec_header *h)
{
	size_t hl = strnlen(h->host, REC_HOST_MAX), kl = strnlen(h->kernel, REC_KERNEL_MAX);
	size_t ol = strnlen(h->options, REC_OPTIONS_MAX);
	uint8_t b[HDR_MIN + REC_HOST_MAX + REC_KERNEL_MAX + REC_OPTIONS_MAX + HDR_FACTS +
		  HDR_RST_MAX];
	size_t count_at;
	size_t n = HDR_FIXED;

	memset(w, 0, sizeof(*w));
	w->f = f;
	memcpy(b, REC_MAGIC, REC_MAGIC_LEN);
	st16(b + HDR_VERSION, REC_VERSION);
	st32(b + HDR_FLAGS,
	     (h->accepts ? REC_HDR_ACCEPTS : 0) | (h->conn_info ? REC_HDR_CONN_INFO : 0) |
		 (h->resets ? REC_HDR_RESETS : 0));
	st64(b + HDR_REALTIME, (uint64_t)h->realtime_offset_ns);
	st64(b + HDR_START, h->start_ns);
	b[n++] = (uint8_t)hl;
	memcpy(b + n, h->host, hl);
	n += hl;
	b[n++] = (uint8_t)kl;
	memcpy(b + n, h->kernel, kl);
	n += kl;
	st16(b + n, (uint16_t)ol);
	n += 2;
	memcpy(b + n, h->options, ol);
	n += ol;
	b[n] = (h->port_range_known ? FACT_PORT_RANGE : 0) |
	       (h->max_tw_buckets_known ? FACT_MAX_TW_BUCKETS : 0);
	st16(b + n + 1, h->port_range_known ? h->port_lo : 0);
	st16(b + n + 3, h->port_range_known ? h->port_hi : 0);
	st32(b + n + 5, h->max_tw_buckets_known ? h->max_tw_buckets : 0);
	n += HDR_FACTS;
	count_at = n++;
	b[count_at] = 0;
	for (uint32_t i = 0; i < h->rst.n && i < RST_REASONS_MAX; i++) {
		size_t len = strnlen(h->rst.names[i], RST_NAME_LEN - 1);

		if (!len)
			continue;
		b[n++] = (uint8_t)i;
		b[n++] = (uint8_t)len;
		memcpy(b + n, h->rst.names[i], len);
		n += len;
		b[count_at]++;
	}
	st16(b + HDR_LEN, (uint16_t)n);
	return wr(w, b, n);
}

/* Does a 16-byte address use more than its first four bytes? */
static bool addr_wide(const uint8_t a[16])
{
	uint32_t x[3];

	memcpy(x, a + 4, sizeof(x));
	return x[0] | x[1] | x[2];
}

/* A TD_EV_CONN_STATS record's counters, in the addresses' place, little-endian as every
 * field of the format (FORMAT.md); stats_get() reads them back. */
static void stats_put(uint8_t *p, const struct td_conn_stats *s)
{
	st64(p, s->bytes_acked);
	st64(p + 8, s->bytes_received);
	st32(p + 16, s->segs_out);
	st32(p + 20, s->segs_in);
	st32(p + 24, s->total_retrans);
	st32(p + 28, s->srtt_us);
}

static void stats_get(struct td_conn_stats *s, const uint8_t *p)
{
	s->bytes_acked = ld64(p);
	s->bytes_received = ld64(p + 8);
	s->segs_out = ld32(p + 16);
	s->segs_in = ld32(p + 20);
	s->total_retrans = ld32(p + 24);
	s->srtt_us = ld32(p + 28);
}

int rec_writer__event(struct rec_writer *w, const struct td_event *e)
{
	struct td_event le;

	if (e->kind == TD_EV_CONN_STATS) {
		/* The counters as the format stores them: byte for byte on little-endian. */
		uint8_t b[sizeof(e->stats)];

		le = *e;
		stats_put(b, &e->stats);
		memcpy(&le.stats, b, sizeof(b));
		e = &le;
	}
	uint8_t rec[PREFIX + EV_MAX], *p = rec + PREFIX;
	uint8_t layout = 0;
	size_t n = EV_FIXED, alen;

	/* Lossless for every address: only an IPv4 record whose other twelve
	 * bytes are zero (as the kernel side leaves them) takes the short form. */
	if (e->family == 6 || addr_wide(e->saddr) || addr_wide(e->daddr))
		layout |= EV_ADDR16;
	/* A record made outside process context has pid 0 and comm[0] == 0, with
	 * whatever the ring buffer held before behind it: no owner to keep. */
	if (e->pid || e->comm[0])
		layout |= EV_OWNER;
	alen = layout & EV_ADDR16 ? 16 : 4;

	st64(p + EV_TS, e->ts_ns);
	st64(p + EV_COOKIE, e->cookie);
	st64(p + EV_SKADDR, e->skaddr);
	st64(p + EV_CGROUP, e->cgroup);
	st32(p + EV_NETNS, e->netns);
	st32(p + EV_TWLEFT, (uint32_t)e->tw_left_ms);
	st16(p + EV_SPORT, e->sport);
	st16(p + EV_DPORT, e->dport);
	p[EV_KIND] = e->kind;
	p[EV_FLAGS] = e->flags;
	p[EV_FAMILY] = e->family;
	p[EV_OLD] = e->oldstate;
	p[EV_NEW] = e->newstate;
	p[EV_LAYOUT] = layout;
	memcpy(p + n, e->saddr, alen);
	n += alen;
	memcpy(p + n, e->daddr, alen);
	n += alen;
	if (layout & EV_OWNER) {
		st32(p + n, e->pid);
		n += 4;
		memcpy(p + n, e->comm, TD_COMM_LEN);
		/* The reader ends comm where the kernel does: write it that way. */
		p[n + TD_COMM_LEN - 1] = 0;
		n += TD_COMM_LEN;
	}
	/* After the fields every EVENT has (FORMAT.md): the handshake's retransmissions. */
	if (e->flags & TD_F_HANDSHAKE)
		p[n++] = e->retrans;
	return put_record(w, rec, REC_EVENT, n);
}

int rec_writer__tick(struct rec_writer *w, uint64_t now_ns)
{
	uint8_t rec[PREFIX + TICK_LEN];

	st64(rec + PREFIX, now_ns);
	return put_record(w, rec, REC_TICK, TICK_LEN);
}

int rec_writer__lost(struct rec_writer *w, const struct rec_lost *l)
{
	uint8_t rec[PREFIX + LOST_LEN];

	st64(rec + PREFIX, l->ts_ns);
	st64(rec + PREFIX + 8, l->ringbuf);
	st64(rec + PREFIX + 16, l->recursion);
	return put_record(w, rec, REC_LOST, LOST_LEN);
}

int rec_writer__seed(struct rec_writer *w, const struct conn *c)
{
	uint8_t rec[PREFIX + SD_LEN], *p = rec + PREFIX;
	char why[80];

	/* Refused here rather than written into a file nothing could read. */
	if (!seed_valid(c, why, sizeof(why))) {
		errno = EINVAL;
		return -1;
	}

	st64(p + SD_COOKIE, c->cookie);
	st64(p + SD_STEP0, c->step_ns[0]);
	st64(p + SD_START, c->start_ns);
	st64(p + SD_TW_DEADLINE, c->tw_deadline_ns);
	st32(p + SD_NETNS, c->netns);
	st32(p + SD_PID, c->pid);
	st16(p + SD_SPORT, c->sport);
	st16(p + SD_DPORT, c->dport);
	st16(p + SD_FLAGS, c->flags);
	p[SD_STATE] = c->state;
	p[SD_FAMILY] = c->family;
	p[SD_ROLE] = c->role;
	p[SD_OWNER_SRC] = c->owner_src;
	p[SD_LOWER] = c->lower_bound;
	p[SD_TWSUB] = c->tw_substate;
	memcpy(p + SD_SADDR, c->saddr, 16);
	memcpy(p + SD_DADDR, c->daddr, 16);
	memcpy(p + SD_COMM, conn__comm(c), TD_COMM_LEN);
	p[SD_COMM + TD_COMM_LEN - 1] = 0;
	st64(p + SD_CGROUP, c->cgroup);
	return put_record(w, rec, REC_SEED, SD_LEN);
}

int rec_writer__cgroup(struct rec_writer *w, const struct cg_name *n)
{
	uint8_t rec[PREFIX + CG_FIXED + CGN_PATH_MAX + CG_NS_MAX + 1 + 2 * CG_NAME_MAX];
	size_t lp = strnlen(n->path, CGN_PATH_MAX), lo = strnlen(n->pod, CG_NS_MAX + 1 + CG_NAME_MAX);
	size_t lc = strnlen(n->container, CG_NAME_MAX);
	uint8_t *p = rec + PREFIX;

	st64(p, n->id);
	st16(p + 8, (uint16_t)lp);
	st16(p + 10, (uint16_t)lo);
	st16(p + 12, (uint16_t)lc);
	memcpy(p + CG_FIXED, n->path, lp);
	memcpy(p + CG_FIXED + lp, n->pod, lo);
	memcpy(p + CG_FIXED + lp + lo, n->container, lc);
	return put_record(w, rec, REC_CGROUP, CG_FIXED + lp + lo + lc);
}

int rec_writer__end(struct rec_writer *w, uint64_t now_ns)
{
	uint8_t rec[PREFIX + END_LEN];

	st64(rec + PREFIX, now_ns);
	if (put_record(w, rec, REC_END, END_LEN))
		return -1;
	return rec_writer__flush(w);
}

int rec_writer__flush(struct rec_writer *w)
{
	if (w->err) {
		errno = w->err;
		return -1;
	}
	if (fflush(w->f)) {
		w->err = errno ? errno : EIO;
		return -1;
	}
	return 0;
}

/* --- reader --- */

/* Errors are rare: keep their code out of the decoding path. */
static int fail(struct rec_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), cold));

static int fail(struct rec_reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	if (!r->err[0])
		snprintf(r->err, sizeof(r->err), "unreadable recording");
	return -1;
}

/*
 * Copy one header string of lbytes length bytes (1 or 2) at *off into dst (room
 * for max bytes and a NUL), checking that it lies inside the header's hlen bytes.
 */
static int hdr_string(struct rec_reader *r, const char *what, size_t *off, size_t hlen, int lbytes,
		      size_t max, char *dst)
{
	const uint8_t *p = r->buf + *off;
	size_t n;

	if (*off + lbytes > hlen)
		return fail(r,
			    "truncated header at byte %zu: the %s's length runs past the "
			    "header's end (byte %zu)",
			    *off, what, hlen);
	n = lbytes == 1 ? p[0] : ld16(p);
	if (n > max)
		return fail(r, "%s length %zu at byte %zu exceeds %zu", what, n, *off, max);
	if (*off + lbytes + n > hlen)
		return fail(r, "%s length %zu at byte %zu runs past the header's end (byte %zu)",
			    what, n, *off, hlen);
	memcpy(dst, p + lbytes, n);
	dst[n] = 0;
	*off += lbytes + n;
	return 0;
}

/* The reset reason names after the host facts, if the header has them: a count, then per
 * name its number, length and bytes (FORMAT.md); a number past RST_REASONS_MAX is skipped,
 * a name running past the header is an error. */
static int get_rst_names(struct rec_reader *r, const uint8_t *p, size_t off, size_t hlen)
{
	unsigned count;

	if (off >= hlen)
		return 0;
	count = p[off++];
	for (unsigned k = 0; k < count; k++) {
		unsigned code, len;

		if (hlen - off < 2 || hlen - off - 2 < p[off + 1])
			return fail(r, "truncated reset reason name at byte %zu of the header", off);
		code = p[off];
		len = p[off + 1];
		off += 2;
		rst__put(&r->hdr.rst, code, (const char *)p + off, len);
		off += len;
	}
	return 0;
}

int rec_reader__open(struct rec_reader *r, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t off = HDR_FIXED, hlen;
	unsigned version;

	memset(r, 0, sizeof(*r));
	r->buf = buf;
	r->len = len;
	if (!len)
		return fail(r, "empty file at byte 0: not a tcpdwell recording");
	if (memcmp(p, REC_MAGIC, len < REC_MAGIC_LEN ? len : REC_MAGIC_LEN))
		return fail(r, "bad magic at byte 0: not a tcpdwell recording");
	if (len < HDR_VERSION + 2)
		return fail(r, "truncated header at byte %zu: a header has at least %d bytes", len,
			    HDR_MIN);
	/* The version comes before any other check of the header, so that a file
	 * from a newer tcpdwell says so rather than looking corrupt. */
	version = ld16(p + HDR_VERSION);
	if (version < REC_VERSION_OLDEST || version > REC_VERSION)
		return fail(r,
			    "unsupported format version %u at byte %d (this tcpdwell reads "
			    "versions %d to %d)",
			    version, HDR_VERSION, REC_VERSION_OLDEST, REC_VERSION);
	if (len < HDR_MIN)
		return fail(r, "truncated header at byte %zu: a header has at least %d bytes", len,
			    HDR_MIN);
	hlen = ld16(p + HDR_LEN);
	if (hlen < HDR_MIN)
		return fail(r,
			    "header length %zu at byte %d is less than the %d bytes of its "
			    "fields",
			    hlen, HDR_LEN, HDR_MIN);
	if (hlen > len)
		return fail(r, "truncated header at byte %zu: the header is %zu bytes", len, hlen);
	r->hdr.version = version;
	r->hdr.realtime_offset_ns = (int64_t)ld64(p + HDR_REALTIME);
	r->hdr.start_ns = ld64(p + HDR_START);
	/* Flags this reader does not know are ignored (FORMAT.md). */
	r->hdr.accepts = ld32(p + HDR_FLAGS) & REC_HDR_ACCEPTS;
	r->hdr.conn_info = ld32(p + HDR_FLAGS) & REC_HDR_CONN_INFO;
	r->hdr.resets = ld32(p + HDR_FLAGS) & REC_HDR_RESETS;
	if (hdr_string(r, "host name", &off, hlen, 1, REC_HOST_MAX, r->hdr.host) ||
	    hdr_string(r, "kernel release", &off, hlen, 1, REC_KERNEL_MAX, r->hdr.kernel) ||
	    hdr_string(r, "options", &off, hlen, 2, REC_OPTIONS_MAX, r->hdr.options))
		return -1;
	/* The host facts, in recordings that have them; a range that is not a
	 * range is not trusted. Bytes after them are fields of later revisions:
	 * skipped. */
	if (hlen - off >= HDR_FACTS) {
		unsigned known = p[off];
		unsigned lo = ld16(p + off + 1), hi = ld16(p + off + 3);

		r->hdr.port_range_known = (known & FACT_PORT_RANGE) && lo && lo <= hi;
		if (r->hdr.port_range_known) {
			r->hdr.port_lo = (uint16_t)lo;
			r->hdr.port_hi = (uint16_t)hi;
		}
		r->hdr.max_tw_buckets_known = known & FACT_MAX_TW_BUCKETS;
		if (r->hdr.max_tw_buckets_known)
			r->hdr.max_tw_buckets = ld32(p + off + 5);
		off += HDR_FACTS;
		if (get_rst_names(r, p, off, hlen))
			return -1;
	}
	r->pos = hlen;
	return 0;
}

static int too_short(struct rec_reader *r, const char *what, size_t pos, size_t n, size_t need)
{
	return fail(r, "%s record at byte %zu: length %zu is less than the %zu bytes of its fields",
		    what, pos, n, need);
}

/* The hot path: a few dozen loads and stores, one length check, no calls. */
static inline int get_event(struct rec_reader *r, const uint8_t *p, size_t n, size_t pos,
			    struct td_event *e)
{
	unsigned layout;
	size_t alen, need;

	if (unlikely(n < EV_FIXED))
		return too_short(r, "event", pos, n, EV_FIXED);
	layout = p[EV_LAYOUT];
	if (unlikely(layout & ~(EV_ADDR16 | EV_OWNER)))
		return fail(r, "event record at byte %zu: unknown layout bits 0x%02x", pos, layout);
	alen = layout & EV_ADDR16 ? 16 : 4;
	need = EV_FIXED + 2 * alen + (layout & EV_OWNER ? EV_OWNER_LEN : 0);
	if (unlikely(n < need))
		return too_short(r, "event", pos, n, need);

	e->ts_ns = ld64(p + EV_TS);
	e->cookie = ld64(p + EV_COOKIE);
	e->skaddr = ld64(p + EV_SKADDR);
	e->cgroup = ld64(p + EV_CGROUP);
	e->netns = ld32(p + EV_NETNS);
	e->tw_left_ms = (int32_t)ld32(p + EV_TWLEFT);
	e->sport = ld16(p + EV_SPORT);
	e->dport = ld16(p + EV_DPORT);
	e->kind = p[EV_KIND];
	e->flags = p[EV_FLAGS];
	e->family = p[EV_FAMILY];
	e->oldstate = p[EV_OLD];
	e->newstate = p[EV_NEW];
	memset(e->pad, 0, sizeof(e->pad));
	/* Bytes past the fields: the handshake's retransmissions, then what later
	 * revisions add (ignored). */
	e->retrans = n > need && (e->flags & TD_F_HANDSHAKE) ? p[need] : 0;
	p += EV_FIXED;
	if (layout & EV_ADDR16) {
		memcpy(e->saddr, p, 16);
		memcpy(e->daddr, p + 16, 16);
		p += 32;
	} else {
		memset(e->saddr, 0, 16);
		memset(e->daddr, 0, 16);
		memcpy(e->saddr, p, 4);
		memcpy(e->daddr, p + 4, 4);
		p += 8;
	}
	if (layout & EV_OWNER) {
		e->pid = ld32(p);
		memcpy(e->comm, p + 4, TD_COMM_LEN);
		/* Outputs print comm as a C string; the kernel always ends it. */
		e->comm[TD_COMM_LEN - 1] = 0;
		/* What the writer would not keep reads as it would read back. */
		if (unlikely(!e->pid && !e->comm[0]))
			memset(e->comm, 0, TD_COMM_LEN);
	} else {
		e->pid = 0;
		memset(e->comm, 0, TD_COMM_LEN);
	}
	if (unlikely(e->kind == TD_EV_CONN_STATS)) {
		uint8_t b[sizeof(e->stats)];

		memcpy(b, &e->stats, sizeof(b));
		stats_get(&e->stats, b);
	}
	return 0;
}

static int get_seed(struct rec_reader *r, const uint8_t *p, size_t n, size_t pos, struct conn *c)
{
	char why[80], comm[TD_COMM_LEN];

	if (n < SD_MIN)
		return too_short(r, "seed", pos, n, SD_MIN);
	memset(c, 0, sizeof(*c));
	c->cookie = ld64(p + SD_COOKIE);
	c->step_ns[0] = ld64(p + SD_STEP0);
	c->start_ns = ld64(p + SD_START);
	c->tw_deadline_ns = ld64(p + SD_TW_DEADLINE);
	c->netns = ld32(p + SD_NETNS);
	c->pid = ld32(p + SD_PID);
	c->sport = ld16(p + SD_SPORT);
	c->dport = ld16(p + SD_DPORT);
	c->flags = ld16(p + SD_FLAGS);
	c->state = p[SD_STATE];
	c->family = p[SD_FAMILY];
	c->role = p[SD_ROLE];
	c->owner_src = p[SD_OWNER_SRC];
	c->lower_bound = p[SD_LOWER];
	c->tw_substate = p[SD_TWSUB];
	memcpy(c->saddr, p + SD_SADDR, 16);
	memcpy(c->daddr, p + SD_DADDR, 16);
	/* Copied first: the caller's buffer may be a mapping, and nothing but plain
	 * loads may touch it (run_replay turns a fault there into an error). */
	memcpy(comm, p + SD_COMM, TD_COMM_LEN - 1);
	comm[TD_COMM_LEN - 1] = 0;
	conn__set_comm(c, comm);
	if (n >= SD_CGROUP + 8)
		c->cgroup = ld64(p + SD_CGROUP);
	if (!seed_valid(c, why, sizeof(why)))
		return fail(r, "seed record at byte %zu: %s", pos, why);
	return 0;
}

/*
 * A clock time out of range: the recorder's CLOCK_MONOTONIC never goes back and
 * fits in the kernel's signed ktime_t. Checked here so that what replays a
 * recording can add periods to it without meeting a wrapped clock.
 */
static int bad_time(struct rec_reader *r, const char *what, size_t pos, uint64_t ns)
{
	if (ns > (uint64_t)INT64_MAX)
		return fail(r, "%s record at byte %zu: time %" PRIu64 " ns is out of range", what,
			    pos, ns);
	if (ns < r->tick_ns)
		return fail(r,
			    "%s record at byte %zu: time %" PRIu64
			    " ns goes back before the last tick (%" PRIu64 " ns)",
			    what, pos, ns, r->tick_ns);
	return 0;
}

int rec_reader__next(struct rec_reader *r, struct rec_item *it)
{
	const uint8_t *p;
	size_t pos, left, n;
	unsigned type;

	if (unlikely(r->err[0]))
		return -1;
	for (;;) {
		if (unlikely(r->end_seen))
			return 0;
		pos = r->pos;
		left = r->len - pos;
		if (unlikely(left < PREFIX)) {
			if (!left)
				return 0;
			return fail(r, "truncated record at byte %zu: %zu of its %d prefix bytes",
				    pos, left, PREFIX);
		}
		p = r->buf + pos;
		type = p[0];
		n = ld16(p + 1);
		if (unlikely(n > left - PREFIX))
			return fail(r,
				    "truncated record at byte %zu: length %zu exceeds the %zu "
				    "bytes left",
				    pos, n, left - PREFIX);
		p += PREFIX;
		if (likely(type == REC_EVENT)) {
			if (unlikely(get_event(r, p, n, pos, &it->ev)))
				return -1;
			break;
		}
		switch (type) {
		case REC_TICK:
			if (n < TICK_LEN)
				return too_short(r, "tick", pos, n, TICK_LEN);
			it->tick_ns = ld64(p);
			if (bad_time(r, "tick", pos, it->tick_ns))
				return -1;
			r->tick_ns = it->tick_ns;
			break;
		case REC_LOST:
			if (n < LOST_LEN)
				return too_short(r, "lost", pos, n, LOST_LEN);
			it->lost.ts_ns = ld64(p);
			it->lost.ringbuf = ld64(p + 8);
			it->lost.recursion = ld64(p + 16);
			break;
		case REC_SEED:
			if (get_seed(r, p, n, pos, &it->seed))
				return -1;
			break;
		case REC_CGROUP: {
			struct rec_cgroup *g = &it->cgroup;

			if (n < CG_FIXED)
				return too_short(r, "cgroup", pos, n, CG_FIXED);
			g->id = ld64(p);
			g->path_len = ld16(p + 8);
			g->pod_len = ld16(p + 10);
			g->container_len = ld16(p + 12);
			if ((size_t)g->path_len + g->pod_len + g->container_len > n - CG_FIXED)
				return fail(r,
					    "cgroup record at byte %zu: its names' lengths %u, %u "
					    "and %u exceed its %zu bytes",
					    pos, g->path_len, g->pod_len, g->container_len,
					    n - CG_FIXED);
			if (!g->id)
				return fail(r, "cgroup record at byte %zu: cgroup id 0", pos);
			g->path = (const char *)p + CG_FIXED;
			g->pod = g->path + g->path_len;
			g->container = g->pod + g->pod_len;
			break;
		}
		case REC_END:
			if (n < END_LEN)
				return too_short(r, "end", pos, n, END_LEN);
			r->end_ns = ld64(p);
			if (bad_time(r, "end", pos, r->end_ns))
				return -1;
			r->end_seen = true;
			r->pos = pos + PREFIX + n;
			r->trailing = r->len - r->pos;
			return 0;
		case 0:
			return fail(r,
				    "record type 0 at byte %zu: zero bytes where a record "
				    "should start (file cut short by a crash?)",
				    pos);
		default:
			/* A record type from a later tcpdwell: its length lets us pass. */
			r->skipped++;
			r->pos = pos + PREFIX + n;
			continue;
		}
		break;
	}
	it->type = type;
	r->pos = pos + PREFIX + n;
	r->items++;
	return 1;
}
