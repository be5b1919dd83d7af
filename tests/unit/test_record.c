// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of the recording format: every record type written, read back and
 * written again byte for byte; the byte layout of docs/FORMAT.md checked against
 * hand-made bytes; and every kind of bad file (cut at each byte, wrong magic,
 * future version, corrupt lengths, empty, header only) read without a crash,
 * with the message naming the offset. Also the synthetic recordings' contract.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conntable.h"
#include "record.h"
#include "synth.h"

/* Bytes a writer produced, in a buffer of exactly their size (so that ASan
 * and valgrind see any read past the end). */
struct blob {
	uint8_t *b;
	size_t n;
};

struct mem {
	char *buf;
	size_t len;
	FILE *f;
	struct rec_writer w;
};

static void hdr_fill(struct rec_header *h)
{
	memset(h, 0, sizeof(*h));
	h->realtime_offset_ns = 1700000000123456789LL - 5000000000LL;
	h->start_ns = 5000000000ULL;
	strcpy(h->host, "h");
	strcpy(h->kernel, "k");
	strcpy(h->options, "o");
}

static void mem_open(struct mem *m, const struct rec_header *h)
{
	struct rec_header dflt;

	if (!h) {
		hdr_fill(&dflt);
		h = &dflt;
	}
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	assert_non_null(m->f);
	assert_int_equal(rec_writer__init(&m->w, m->f, h), 0);
}

/* Close the stream; the caller frees the blob. */
static struct blob mem_close(struct mem *m)
{
	struct blob b;

	assert_int_equal(fclose(m->f), 0);
	b.n = m->len;
	b.b = malloc(b.n ? b.n : 1);
	assert_non_null(b.b);
	memcpy(b.b, m->buf, b.n);
	free(m->buf);
	return b;
}

static struct blob dup_prefix(const struct blob *src, size_t n)
{
	struct blob b = {malloc(n ? n : 1), n};

	assert_non_null(b.b);
	memcpy(b.b, src->b, n);
	return b;
}

/* Read everything: returns the last rec_reader__next() result, items in *n. */
static int drain(struct rec_reader *r, const struct blob *b, size_t *n)
{
	struct rec_item it;
	int ret;

	*n = 0;
	if (rec_reader__open(r, b->b, b->n))
		return -2;
	while ((ret = rec_reader__next(r, &it)) == 1)
		(*n)++;
	return ret;
}

static void st16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

/* A kernel record with every field distinct. */
static struct td_event ev_v4(void)
{
	struct td_event e;

	memset(&e, 0, sizeof(e));
	e.ts_ns = 0x0102030405060708ULL;
	e.cookie = 0x1112131415161718ULL;
	e.skaddr = 0xffff888100000980ULL;
	e.cgroup = 0x21;
	e.netns = 0xf0000000u;
	e.tw_left_ms = -5;
	e.sport = 0xa1b2;
	e.dport = 443;
	e.kind = TD_EV_TW_CANCEL;
	e.flags = TD_F_TW_DUE | TD_F_TW_LEFT | TD_F_NOCOOKIE;
	e.family = 4;
	e.oldstate = TD_TIME_WAIT;
	e.newstate = TD_TIME_WAIT;
	e.saddr[0] = 10, e.saddr[1] = 1, e.saddr[3] = 2;
	e.daddr[0] = 203, e.daddr[2] = 113, e.daddr[3] = 9;
	return e;
}

static struct td_event ev_v6_proc(void)
{
	struct td_event e;

	memset(&e, 0, sizeof(e));
	e.ts_ns = UINT64_MAX;
	e.cookie = UINT64_MAX - 1;
	e.skaddr = 0xffff888100001300ULL;
	e.cgroup = UINT64_MAX;
	e.netns = UINT32_MAX;
	e.pid = 0x12345678;
	e.tw_left_ms = INT32_MIN;
	e.sport = UINT16_MAX;
	e.dport = 1;
	e.kind = TD_EV_STATE;
	e.flags = TD_F_PROC;
	e.family = 6;
	e.oldstate = TD_CLOSE;
	e.newstate = TD_SYN_SENT;
	for (int i = 0; i < 16; i++) {
		e.saddr[i] = 0xf0 + i;
		e.daddr[i] = 0x20 + i;
	}
	strcpy(e.comm, "curl");
	return e;
}

static struct conn seed_conn(void)
{
	struct conn c;

	memset(&c, 0, sizeof(c));
	c.cookie = 0x4000;
	c.state = TD_TIME_WAIT;
	c.family = 6;
	for (int i = 0; i < 16; i++) {
		c.saddr[i] = i;
		c.daddr[i] = 0xff - i;
	}
	c.sport = 40000;
	c.dport = 443;
	c.netns = 4026531840u;
	c.pid = 880;
	conn__set_comm(&c, "sshd");
	c.role = CT_ROLE_ACTIVE;
	c.owner_src = CT_OWNER_SEED;
	c.step_ns[0] = 3600000000000ULL;
	c.start_ns = 3500000000000ULL;
	c.tw_deadline_ns = 3660000000000ULL;
	c.lower_bound = 1;
	c.flags = CT_F_TW | CT_F_HIDDEN;
	c.tw_substate = TD_TIME_WAIT;
	return c;
}

/* Header, one record of each type, END; offsets of the record ends in end[]. */
static struct blob small_file(size_t *hlen, size_t end[7])
{
	struct td_event a = ev_v4(), b = ev_v6_proc();
	struct conn s = seed_conn();
	struct rec_lost l = {7, 8, 9};
	struct mem m;

	mem_open(&m, NULL);
	*hlen = m.w.bytes;
	assert_int_equal(rec_writer__seed(&m.w, &s), 0);
	end[0] = m.w.bytes;
	assert_int_equal(rec_writer__event(&m.w, &a), 0);
	end[1] = m.w.bytes;
	assert_int_equal(rec_writer__event(&m.w, &b), 0);
	end[2] = m.w.bytes;
	assert_int_equal(rec_writer__tick(&m.w, 42), 0);
	end[3] = m.w.bytes;
	assert_int_equal(rec_writer__lost(&m.w, &l), 0);
	end[4] = m.w.bytes;
	assert_int_equal(rec_writer__end(&m.w, 99), 0);
	end[5] = m.w.bytes;
	end[6] = 0;
	return mem_close(&m);
}

/* Hex digits to bytes; spaces are for the reader. Returns the byte count. */
static size_t unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;

	for (; *s; s++) {
		if (*s == ' ')
			continue;
		assert_true(n < max && s[1]);
		sscanf(s, "%2hhx", &out[n++]);
		s++;
	}
	return n;
}

/* FORMAT.md's header layout, byte for byte. */
static void test_header_layout(void **state)
{
	static const char hex[] = "89 54 44 57 0d 0a 1a 0a" /* magic */
				  "0200"		    /* version */
				  "3100"		    /* header length: 49 */
				  "00000000"		    /* flags */
				  "15db7f13fd9c9717"	    /* realtime offset */
				  "00f2052a01000000"	    /* start */
				  "01 68 01 6b 0100 6f"	    /* "h", "k", "o" */
				  "00 0000 0000 00000000"   /* host facts: none known */
				  "00";			    /* no reset reason names */
	uint8_t want[64];
	size_t n = unhex(hex, want, sizeof(want));
	struct mem m;
	struct blob b;

	(void)state;
	mem_open(&m, NULL);
	assert_int_equal(m.w.bytes, n);
	b = mem_close(&m);
	assert_int_equal(b.n, n);
	assert_memory_equal(b.b, want, n);
	free(b.b);
}

/*
 * The host facts after the options: written as FORMAT.md lays them out, read
 * back; a header without them (written before they existed) and one whose
 * facts are marked unknown or make no range read as unknown.
 */
static void test_header_facts(void **state)
{
	static const char facts[] = "03 0080 47ee 00000400"; /* 32768-60999, 262144 */
	static const char old[] = "89 54 44 57 0d 0a 1a 0a 0100 2700 00000000"
				  "15db7f13fd9c9717 00f2052a01000000 01 68 01 6b 0100 6f";
	uint8_t want[16], buf[64];
	size_t n = unhex(facts, want, sizeof(want)), k;
	struct rec_header h;
	struct rec_reader r;
	struct mem m;
	struct blob b;

	(void)state;
	hdr_fill(&h);
	h.port_range_known = true;
	h.port_lo = 32768;
	h.port_hi = 60999;
	h.max_tw_buckets_known = true;
	h.max_tw_buckets = 262144;
	mem_open(&m, &h);
	b = mem_close(&m);
	assert_int_equal(b.n, 39 + n + 1); /* and a count of 0 reset reason names */
	assert_memory_equal(b.b + 39, want, n);
	assert_int_equal(rec_reader__open(&r, b.b, b.n), 0);
	assert_true(r.hdr.port_range_known);
	assert_int_equal(r.hdr.port_lo, 32768);
	assert_int_equal(r.hdr.port_hi, 60999);
	assert_true(r.hdr.max_tw_buckets_known);
	assert_int_equal(r.hdr.max_tw_buckets, 262144);
	/* the range inverted: not a range, not trusted; the other fact still read */
	b.b[39 + 1] = 0xff;
	b.b[39 + 2] = 0xff;
	assert_int_equal(rec_reader__open(&r, b.b, b.n), 0);
	assert_false(r.hdr.port_range_known);
	assert_int_equal(r.hdr.port_lo, 0);
	assert_true(r.hdr.max_tw_buckets_known);
	/* marked unknown */
	b.b[39] = 0;
	assert_int_equal(rec_reader__open(&r, b.b, b.n), 0);
	assert_false(r.hdr.port_range_known);
	assert_false(r.hdr.max_tw_buckets_known);
	assert_int_equal(r.hdr.max_tw_buckets, 0);
	free(b.b);
	/* an older recording: the header ends after the options */
	k = unhex(old, buf, sizeof(buf));
	assert_int_equal(k, 39);
	assert_int_equal(rec_reader__open(&r, buf, k), 0);
	assert_string_equal(r.hdr.options, "o");
	assert_false(r.hdr.port_range_known);
	assert_false(r.hdr.max_tw_buckets_known);
}

/* Header flag bit 0: the accept tracepoints were on; other bits are ignored. */
static void test_header_accepts(void **state)
{
	struct rec_header h;
	struct rec_reader r;
	struct mem m;
	struct blob b;

	(void)state;
	hdr_fill(&h);
	h.accepts = true;
	mem_open(&m, &h);
	b = mem_close(&m);
	assert_int_equal(b.b[12], 0x01);
	assert_int_equal(rec_reader__open(&r, b.b, b.n), 0);
	assert_true(r.hdr.accepts);
	b.b[12] = 0xfe; /* every bit but the known one: not known, not refused */
	b.b[15] = 0x80;
	assert_int_equal(rec_reader__open(&r, b.b, b.n), 0);
	assert_false(r.hdr.accepts);
	free(b.b);
}

/*
 * Header flag bit 2 and the reset reason names after the host facts: written as FORMAT.md lays
 * them out (a count, then number, length, bytes per name; numbers without a name left out),
 * read back; a name running past the header is an error naming it; a number past
 * RST_REASONS_MAX is skipped; bytes outside printable ASCII read as '?'.
 */
static void test_header_rst_names(void **state)
{
	static const char names[] = "02 00 0d 4e4f545f5350454349464945 44" /* 0 NOT_SPECIFIED */
				    "05 03 414243";			   /* 5 "ABC" */
	uint8_t want[32];
	size_t n = unhex(names, want, sizeof(want));
	struct rec_header h;
	struct rec_reader r;
	struct mem m;
	struct blob b;

	(void)state;
	hdr_fill(&h);
	h.resets = true;
	memset(&h.rst, 0, sizeof(h.rst));
	snprintf(h.rst.names[0], RST_NAME_LEN, "NOT_SPECIFIED");
	snprintf(h.rst.names[5], RST_NAME_LEN, "ABC");
	h.rst.n = 6;
	mem_open(&m, &h);
	b = mem_close(&m);
	assert_int_equal(b.b[12], 0x04);
	assert_int_equal(b.n, 39 + 9 + n);
	assert_memory_equal(b.b + 48, want, n);
	assert_int_equal(rec_reader__open(&r, b.b, b.n), 0);
	assert_true(r.hdr.resets);
	assert_int_equal(r.hdr.rst.n, 6);
	assert_string_equal(r.hdr.rst.names[0], "NOT_SPECIFIED");
	assert_string_equal(r.hdr.rst.names[5], "ABC");
	assert_string_equal(r.hdr.rst.names[3], "");
	/* a control byte in a name */
	b.b[48 + n - 2] = 0x07;
	assert_int_equal(rec_reader__open(&r, b.b, b.n), 0);
	assert_string_equal(r.hdr.rst.names[5], "A?C");
	/* a number past RST_REASONS_MAX: skipped, the next still read */
	b.b[48 + 1] = RST_REASONS_MAX;
	assert_int_equal(rec_reader__open(&r, b.b, b.n), 0);
	assert_string_equal(r.hdr.rst.names[0], "");
	assert_string_equal(r.hdr.rst.names[5], "A?C");
	/* a name longer than what is left of the header */
	b.b[48 + 2] = 0x40;
	assert_int_equal(rec_reader__open(&r, b.b, b.n), -1);
	assert_non_null(strstr(r.err, "truncated reset reason name"));
	free(b.b);
}

/* FORMAT.md's EVENT layout: an IPv4 record with no owner takes 61 bytes. */
static void test_event_layout(void **state)
{
	static const char hex[] = "01 3a00"	       /* type, length 58 */
				  "0807060504030201"   /* ts_ns */
				  "1817161514131211"   /* cookie */
				  "80090000 8188ffff"  /* skaddr */
				  "2100000000000000"   /* cgroup */
				  "000000f0"	       /* netns */
				  "fbffffff"	       /* tw_left_ms: -5 */
				  "b2a1 bb01"	       /* sport, dport */
				  "03 0e 04 06 06 00"  /* kind, flags, family, old, new, layout */
				  "0a010002 cb007109"; /* saddr, daddr */
	struct td_event e = ev_v4();
	uint8_t want[64];
	size_t h, n = unhex(hex, want, sizeof(want));
	struct mem m;
	struct blob b;

	(void)state;
	assert_int_equal(n, 61);
	mem_open(&m, NULL);
	h = m.w.bytes;
	assert_int_equal(rec_writer__event(&m.w, &e), 0);
	b = mem_close(&m);
	assert_int_equal(b.n - h, n);
	assert_memory_equal(b.b + h, want, n);
	free(b.b);
}

/*
 * The handshake's retransmissions ride after the fields (one byte, only with
 * TD_F_HANDSHAKE), rtt_us in tw_left_ms' place; a TD_EV_CONN_STATS record's counters,
 * in the addresses' place, come back whole whatever their bytes (the long form when
 * they need it); a reader finds the byte missing in a record written without it (0).
 */
static void test_conn_info_round_trip(void **state)
{
	struct td_event h = ev_v4(), st = ev_v4(), g;
	struct rec_reader r;
	struct rec_item it;
	struct mem m;
	struct blob b;
	size_t n0, n1;

	(void)state;
	h.kind = TD_EV_STATE;
	h.flags = TD_F_HANDSHAKE;
	h.rtt_us = 123456;
	h.retrans = 3;
	st.kind = TD_EV_CONN_STATS;
	st.flags = 0;
	st.stats.bytes_acked = 0x0102030405060708ULL;
	st.stats.bytes_received = 100001;
	st.stats.segs_out = 70;
	st.stats.segs_in = 90;
	st.stats.total_retrans = 0;
	st.stats.srtt_us = 21;
	st.min_rtt_us = UINT32_MAX;
	mem_open(&m, NULL);
	n0 = m.w.bytes;
	assert_int_equal(rec_writer__event(&m.w, &h), 0);
	n1 = m.w.bytes;
	assert_int_equal(n1 - n0, 3 + 58 + 1); /* the short form, and the byte */
	assert_int_equal(rec_writer__event(&m.w, &st), 0);
	b = mem_close(&m);
	assert_int_equal(rec_reader__open(&r, b.b, b.n), 0);
	assert_int_equal(rec_reader__next(&r, &it), 1);
	assert_true(it.ev.flags & TD_F_HANDSHAKE);
	assert_int_equal(it.ev.retrans, 3);
	assert_int_equal(it.ev.rtt_us, 123456);
	assert_int_equal(rec_reader__next(&r, &it), 1);
	g = it.ev;
	assert_int_equal(g.kind, TD_EV_CONN_STATS);
	assert_memory_equal(&g.stats, &st.stats, sizeof(st.stats));
	assert_int_equal(g.min_rtt_us, UINT32_MAX);
	/* The byte cut off (a writer before it): read as 0, the record still whole. */
	assert_int_equal(b.b[n1 - 1], 3);
	b.b[n0 + 1] = 58; /* the length: without the byte */
	memmove(b.b + n1 - 1, b.b + n1, b.n - n1);
	assert_int_equal(rec_reader__open(&r, b.b, b.n - 1), 0);
	assert_int_equal(rec_reader__next(&r, &it), 1);
	assert_int_equal(it.ev.retrans, 0);
	assert_int_equal(it.ev.rtt_us, 123456);
	assert_int_equal(rec_reader__next(&r, &it), 1);
	assert_int_equal(it.ev.kind, TD_EV_CONN_STATS);
	free(b.b);
}

/* Each type written, read back equal, and written again to the same bytes. */
static void test_round_trip_every_type(void **state)
{
	struct td_event a = ev_v4(), b = ev_v6_proc(), c = ev_v4();
	struct conn s = seed_conn();
	struct rec_lost l = {1, UINT64_MAX, 3};
	struct rec_header hdr;
	struct rec_reader *r = malloc(sizeof(*r));
	struct rec_item it;
	struct mem m, m2;
	struct blob f1, f2;

	(void)state;
	assert_non_null(r);
	/* An IPv4 record with stray bytes past the first four of an address is
	 * kept as it is: the long form. */
	c.daddr[15] = 1;
	c.pid = 7;
	hdr_fill(&hdr);
	memset(hdr.host, 'a', REC_HOST_MAX);
	strcpy(hdr.kernel, "6.18.0-13-cloud-amd64");
	strcpy(hdr.options, "record -o /tmp/x.rec --lport 80,443");
	mem_open(&m, &hdr);
	assert_int_equal(rec_writer__seed(&m.w, &s), 0);
	assert_int_equal(rec_writer__event(&m.w, &a), 0);
	assert_int_equal(rec_writer__event(&m.w, &b), 0);
	assert_int_equal(rec_writer__event(&m.w, &c), 0);
	assert_int_equal(rec_writer__tick(&m.w, 123456789), 0);
	assert_int_equal(rec_writer__lost(&m.w, &l), 0);
	assert_int_equal(rec_writer__end(&m.w, 987654321), 0);
	assert_int_equal(m.w.records, 7);
	f1 = mem_close(&m);

	assert_int_equal(rec_reader__open(r, f1.b, f1.n), 0);
	assert_int_equal(r->hdr.version, REC_VERSION);
	assert_int_equal(r->hdr.realtime_offset_ns, hdr.realtime_offset_ns);
	assert_int_equal(r->hdr.start_ns, hdr.start_ns);
	assert_string_equal(r->hdr.host, hdr.host);
	assert_string_equal(r->hdr.kernel, hdr.kernel);
	assert_string_equal(r->hdr.options, hdr.options);

	mem_open(&m2, &r->hdr);
	assert_int_equal(rec_reader__next(r, &it), 1);
	assert_int_equal(it.type, REC_SEED);
	assert_memory_equal(&it.seed, &s, sizeof(s));
	rec_writer__seed(&m2.w, &it.seed);
	assert_int_equal(rec_reader__next(r, &it), 1);
	assert_int_equal(it.type, REC_EVENT);
	assert_memory_equal(&it.ev, &a, sizeof(a));
	rec_writer__event(&m2.w, &it.ev);
	assert_int_equal(rec_reader__next(r, &it), 1);
	assert_memory_equal(&it.ev, &b, sizeof(b));
	rec_writer__event(&m2.w, &it.ev);
	assert_int_equal(rec_reader__next(r, &it), 1);
	assert_memory_equal(&it.ev, &c, sizeof(c));
	rec_writer__event(&m2.w, &it.ev);
	assert_int_equal(rec_reader__next(r, &it), 1);
	assert_int_equal(it.type, REC_TICK);
	assert_int_equal(it.tick_ns, 123456789);
	rec_writer__tick(&m2.w, it.tick_ns);
	assert_int_equal(rec_reader__next(r, &it), 1);
	assert_int_equal(it.type, REC_LOST);
	assert_memory_equal(&it.lost, &l, sizeof(l));
	rec_writer__lost(&m2.w, &it.lost);
	assert_int_equal(rec_reader__next(r, &it), 0);
	assert_true(r->end_seen);
	assert_int_equal(r->end_ns, 987654321);
	assert_int_equal(r->trailing, 0);
	assert_int_equal(r->items, 6);
	assert_int_equal(r->skipped, 0);
	assert_string_equal(r->err, "");
	rec_writer__end(&m2.w, r->end_ns);
	f2 = mem_close(&m2);

	assert_int_equal(f2.n, f1.n);
	assert_memory_equal(f2.b, f1.b, f1.n);
	free(f1.b);
	free(f2.b);
	free(r);
}

/* What the writer normalises: the stale bytes behind an empty comm of a record
 * without owner, and a comm filling all 16 bytes (the kernel always ends it). */
static void test_comm_normalised(void **state)
{
	struct td_event e = ev_v4(), softirq = ev_v4(), want;
	struct rec_reader r;
	struct rec_item it;
	struct mem m;
	struct blob b;

	(void)state;
	memcpy(softirq.comm, "\0stale-bytes!!!", 16);
	memcpy(e.comm, "0123456789abcdef", 16);
	e.pid = 1;
	mem_open(&m, NULL);
	rec_writer__event(&m.w, &softirq);
	rec_writer__event(&m.w, &e);
	b = mem_close(&m);
	assert_int_equal(rec_reader__open(&r, b.b, b.n), 0);
	assert_int_equal(rec_reader__next(&r, &it), 1);
	want = softirq;
	memset(want.comm, 0, sizeof(want.comm));
	assert_memory_equal(&it.ev, &want, sizeof(want));
	assert_int_equal(rec_reader__next(&r, &it), 1);
	want = e;
	want.comm[15] = 0;
	assert_memory_equal(&it.ev, &want, sizeof(want));
	assert_int_equal(rec_reader__next(&r, &it), 0);
	assert_false(r.end_seen);
	free(b.b);
}

/* Header strings longer than the format allows are cut at its limits. */
static void test_header_strings_cut(void **state)
{
	struct rec_header *h = calloc(1, sizeof(*h));
	struct rec_reader *r = malloc(sizeof(*r));
	struct mem m;
	struct blob b;

	(void)state;
	assert_non_null(h);
	assert_non_null(r);
	memset(h->host, 'h', sizeof(h->host));
	memset(h->kernel, 'k', sizeof(h->kernel));
	memset(h->options, 'o', sizeof(h->options));
	mem_open(&m, h);
	b = mem_close(&m);
	assert_int_equal(rec_reader__open(r, b.b, b.n), 0);
	assert_int_equal(strlen(r->hdr.host), REC_HOST_MAX);
	assert_int_equal(strlen(r->hdr.kernel), REC_KERNEL_MAX);
	assert_int_equal(strlen(r->hdr.options), REC_OPTIONS_MAX);
	assert_int_equal(b.n, 36 + REC_HOST_MAX + REC_KERNEL_MAX + REC_OPTIONS_MAX + 9 + 1); /* the facts, no reset reason names */
	free(b.b);
	free(h);
	free(r);
}

static void test_empty_file(void **state)
{
	struct rec_reader r;

	(void)state;
	assert_int_equal(rec_reader__open(&r, "", 0), -1);
	assert_string_equal(r.err, "empty file at byte 0: not a tcpdwell recording");
}

static void test_bad_magic(void **state)
{
	static const char *const inputs[] = {"hello, world\n", "\x89TDX\r\n\x1a\n\1\0",
					     "\x89TDW\n\x1a\n", "T"};
	struct rec_reader r;

	(void)state;
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct blob b = {(uint8_t *)strdup(inputs[i]), strlen(inputs[i])};

		assert_int_equal(rec_reader__open(&r, b.b, b.n), -1);
		assert_string_equal(r.err, "bad magic at byte 0: not a tcpdwell recording");
		free(b.b);
	}
}

static void test_future_version(void **state)
{
	size_t hlen, end[7];
	struct blob f = small_file(&hlen, end);
	struct rec_reader r;

	(void)state;
	st16(f.b + 8, 7);
	assert_int_equal(rec_reader__open(&r, f.b, f.n), -1);
	assert_string_equal(
	    r.err, "unsupported format version 7 at byte 8 (this tcpdwell reads versions 1 to 2)");
	/* Even when the rest of a future header is not there. */
	assert_int_equal(rec_reader__open(&r, f.b, 10), -1);
	assert_string_equal(
	    r.err, "unsupported format version 7 at byte 8 (this tcpdwell reads versions 1 to 2)");
	st16(f.b + 8, 3);
	assert_int_equal(rec_reader__open(&r, f.b, f.n), -1);
	assert_string_equal(
	    r.err, "unsupported format version 3 at byte 8 (this tcpdwell reads versions 1 to 2)");
	/* Version 1 (before kinds 6 and 7) is still read: its files are a subset. */
	st16(f.b + 8, 1);
	assert_int_equal(rec_reader__open(&r, f.b, f.n), 0);
	assert_int_equal(r.hdr.version, 1);
	st16(f.b + 8, 0);
	assert_int_equal(rec_reader__open(&r, f.b, f.n), -1);
	assert_string_equal(
	    r.err, "unsupported format version 0 at byte 8 (this tcpdwell reads versions 1 to 2)");
	free(f.b);
}

static void test_header_only(void **state)
{
	size_t hlen, end[7], n;
	struct blob f = small_file(&hlen, end);
	struct blob h = dup_prefix(&f, hlen);
	struct rec_reader r;

	(void)state;
	assert_int_equal(drain(&r, &h, &n), 0);
	assert_int_equal(n, 0);
	assert_false(r.end_seen);
	assert_string_equal(r.hdr.options, "o");
	free(h.b);
	free(f.b);
}

/*
 * Cut the file after every byte: the header is refused with an offset, or
 * every complete record comes back and then either a clean stop (cut on a
 * boundary, no END) or "truncated record at byte X" with X the torn record.
 */
static void test_truncated_everywhere(void **state)
{
	size_t hlen, end[7], n;
	struct blob f = small_file(&hlen, end);
	struct rec_reader r;
	char want[64];

	(void)state;
	for (size_t cut = 0; cut <= f.n; cut++) {
		struct blob b = dup_prefix(&f, cut);
		size_t whole = 0, last = hlen;
		bool boundary = cut == hlen;
		int ret = drain(&r, &b, &n);

		if (cut < hlen) {
			assert_int_equal(ret, -2);
			assert_non_null(strstr(r.err, cut ? "truncated header at byte "
							  : "empty file at byte 0"));
			free(b.b);
			continue;
		}
		for (int k = 0; end[k]; k++) {
			if (end[k] <= cut) {
				whole++;
				last = end[k];
			}
			boundary |= end[k] == cut;
		}
		if (cut == f.n) {
			assert_int_equal(ret, 0);
			assert_true(r.end_seen);
			assert_int_equal(n, whole - 1); /* END is not an item */
		} else if (boundary) {
			assert_int_equal(ret, 0);
			assert_false(r.end_seen);
			assert_int_equal(n, whole);
		} else {
			assert_int_equal(ret, -1);
			assert_int_equal(n, whole);
			snprintf(want, sizeof(want), "truncated record at byte %zu:", last);
			assert_memory_equal(r.err, want, strlen(want));
			/* And it stays an error. */
			assert_int_equal(rec_reader__next(&r, &(struct rec_item){0}), -1);
		}
		free(b.b);
	}
	free(f.b);
}

/* One corruption of the small file and the message it must give. */
struct corrupt {
	size_t at; /* byte to change, from the start of the record (or of the file) */
	int rec;   /* -1: from the start of the file; k: the record ending at end[k] */
	int bytes; /* 1 or 2 */
	unsigned value;
	const char *want; /* the message, with %zu for the record's offset */
	bool open_fails;
};

static void test_corrupt_lengths(void **state)
{
	static const struct corrupt cases[] = {
	    {10, -1, 2, 35,
	     "header length 35 at byte 10 is less than the 36 bytes of its "
	     "fields",
	     true},
	    {10, -1, 2, 5000, "truncated header at byte 160: the header is 5000 bytes", true},
	    {32, -1, 1, 200,
	     "host name length 200 at byte 32 runs past the header's end "
	     "(byte 49)",
	     true},
	    {36, -1, 2, 4096, "options length 4096 at byte 36 exceeds 4095", true},
	    {36, -1, 2, 12, "options length 12 at byte 36 runs past the header's end (byte 49)",
	     true},
	    /* record 1 is the IPv4 event, 2 the IPv6 one, 3 the tick, 0 the seed */
	    {1, 1, 2, 300, "truncated record at byte %zu: length 300 exceeds the", false},
	    {1, 1, 2, 20,
	     "event record at byte %zu: length 20 is less than the 50 bytes of "
	     "its fields",
	     false},
	    {1, 2, 2, 90,
	     "event record at byte %zu: length 90 is less than the 102 bytes "
	     "of its fields",
	     false},
	    {3 + 49, 1, 1, 0x04, "event record at byte %zu: unknown layout bits 0x04", false},
	    {3 + 49, 1, 1, 0x01,
	     "event record at byte %zu: length 58 is less than the 82 "
	     "bytes of its fields",
	     false},
	    {1, 3, 2, 4,
	     "tick record at byte %zu: length 4 is less than the 8 bytes of its "
	     "fields",
	     false},
	    {1, 4, 2, 23,
	     "lost record at byte %zu: length 23 is less than the 24 bytes of "
	     "its fields",
	     false},
	    {1, 5, 2, 7,
	     "end record at byte %zu: length 7 is less than the 8 bytes of its "
	     "fields",
	     false},
	    {1, 0, 2, 99,
	     "seed record at byte %zu: length 99 is less than the 100 bytes of "
	     "its fields",
	     false},
	    {3 + 46, 0, 1, 13, "seed record at byte %zu: state 13 is not a TCP state", false},
	    {3 + 46, 0, 1, 0, "seed record at byte %zu: state 0 is not a TCP state", false},
	    {3 + 47, 0, 1, 5, "seed record at byte %zu: family 5 is neither 4 nor 6", false},
	    {3 + 48, 0, 1, 9,
	     "seed record at byte %zu: role 9, owner source 4 or lower "
	     "bound 1 out of range",
	     false},
	    {3 + 51, 0, 1, 200,
	     "seed record at byte %zu: timewait substate 200 is not a TCP "
	     "state",
	     false},
	    {0, 2, 1, 0,
	     "record type 0 at byte %zu: zero bytes where a record should start "
	     "(file cut short by a crash?)",
	     false},
	};
	size_t hlen, end[7], n;
	struct blob f = small_file(&hlen, end);
	struct rec_reader r;
	char want[200];

	(void)state;
	assert_int_equal(hlen, 49);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct corrupt *c = &cases[i];
		size_t base = c->rec < 0 ? 0 : c->rec == 0 ? hlen : end[c->rec - 1];
		struct blob b = dup_prefix(&f, c->open_fails && c->value == 5000 ? 160 : f.n);
		int ret;

		if (c->bytes == 1)
			b.b[base + c->at] = c->value;
		else
			st16(b.b + base + c->at, c->value);
		ret = drain(&r, &b, &n);
		assert_int_equal(ret, c->open_fails ? -2 : -1);
		snprintf(want, sizeof(want), c->want, base);
		if (strncmp(r.err, want, strlen(want)))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, r.err, want);
		if (!c->open_fails)
			assert_int_equal(n, c->rec < 0 ? 0 : c->rec); /* the records before it */
		free(b.b);
	}
	free(f.b);
}

/* Append raw bytes to a blob. */
static void put(struct blob *b, const void *p, size_t n)
{
	b->b = realloc(b->b, b->n + n);
	assert_non_null(b->b);
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

/* Records of types this reader does not know are passed over; longer records
 * and headers (fields of a later revision) are read for what is known. */
static void test_unknown_and_longer_skipped(void **state)
{
	size_t hlen, end[7], n;
	struct blob f = small_file(&hlen, end);
	struct blob b = {NULL, 0};
	uint8_t unk1[3 + 10] = {0x42, 10, 0}, unk2[3] = {200, 0, 0};
	uint8_t ext[5] = {0xde, 0xad, 0xbe, 0xef, 0};
	uint8_t big[3] = {0x80, 0xff, 0xff};
	struct rec_reader r;
	struct rec_item it;
	struct td_event want = ev_v4();

	(void)state;
	/* Header with 5 more bytes; an unknown record, the IPv4 event with 5 more
	 * bytes, another unknown record, then the rest of the file. */
	put(&b, f.b, hlen);
	put(&b, ext, sizeof(ext));
	st16(b.b + 10, hlen + sizeof(ext));
	put(&b, unk1, sizeof(unk1));
	put(&b, f.b + end[0], end[1] - end[0]);
	put(&b, ext, sizeof(ext));
	st16(b.b + b.n - (end[1] - end[0]) - sizeof(ext) + 1, end[1] - end[0] - 3 + sizeof(ext));
	put(&b, unk2, sizeof(unk2));
	put(&b, f.b + end[1], f.n - end[1]);

	assert_int_equal(rec_reader__open(&r, b.b, b.n), 0);
	assert_string_equal(r.hdr.options, "o");
	assert_int_equal(rec_reader__next(&r, &it), 1);
	assert_int_equal(it.type, REC_EVENT);
	assert_memory_equal(&it.ev, &want, sizeof(want));
	assert_int_equal(r.skipped, 1);
	assert_int_equal(rec_reader__next(&r, &it), 1);
	assert_int_equal(it.type, REC_EVENT);
	assert_int_equal(it.ev.family, 6);
	assert_int_equal(r.skipped, 2);
	assert_int_equal(drain(&r, &b, &n), 0);
	assert_int_equal(n, 4);
	assert_true(r.end_seen);

	/* An unknown type's length is checked like any other. */
	b.n -= end[5] - end[4]; /* drop END */
	put(&b, big, sizeof(big));
	assert_int_equal(drain(&r, &b, &n), -1);
	assert_int_equal(n, 4);
	assert_non_null(strstr(r.err, "length 65535 exceeds the 0 bytes left"));
	free(b.b);
	free(f.b);
}

/* After END the reader stops, counting what follows. */
static void test_trailing_after_end(void **state)
{
	size_t hlen, end[7], n;
	struct blob f = small_file(&hlen, end);
	struct rec_reader r;
	struct rec_item it;

	(void)state;
	put(&f, "\0\0\0garbage", 10);
	assert_int_equal(drain(&r, &f, &n), 0);
	assert_int_equal(n, 5);
	assert_true(r.end_seen);
	assert_int_equal(r.end_ns, 99);
	assert_int_equal(r.trailing, 10);
	assert_int_equal(rec_reader__next(&r, &it), 0);
	free(f.b);
}

/* Byte flips anywhere: the reader returns, and never reads outside the blob. */
static void test_random_damage(void **state)
{
	size_t hlen, end[7], n;
	struct blob f = small_file(&hlen, end);
	uint64_t x = 88172645463325252ULL;
	struct rec_reader r;

	(void)state;
	for (int round = 0; round < 20000; round++) {
		struct blob b = dup_prefix(&f, f.n);
		int flips = 1 + round % 4;

		for (int k = 0; k < flips; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			b.b[x % b.n] ^= (uint8_t)(x >> 32) | 1;
		}
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		b.n -= round & 1 ? x % b.n : 0;
		drain(&r, &b, &n);
		assert_true(n <= b.n / 3); /* a record is at least its prefix */
		free(b.b);
	}
	free(f.b);
}

/* A write error is reported once it happens and every later call fails. */
static void test_writer_error_sticky(void **state)
{
	FILE *f = fopen("/dev/full", "w");
	struct rec_header h;
	struct rec_writer w;
	struct td_event e = ev_v4();

	(void)state;
	if (!f)
		skip();
	hdr_fill(&h);
	assert_int_equal(rec_writer__init(&w, f, &h), 0); /* buffered */
	assert_int_equal(rec_writer__flush(&w), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(w.err, ENOSPC);
	errno = 0;
	assert_int_equal(rec_writer__event(&w, &e), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(rec_writer__end(&w, 1), -1);
	fclose(f);
}

/* A seed nothing could read back is refused, and the writer carries on. */
/* CGROUP records: a cgroup's names read back as written, byte for byte (any bytes: a
 * recording's strings are escaped where shown); bad lengths and id 0 are bad records; a
 * seed keeps its cgroup, and a seed of the older 100-byte layout reads back with none. */
static void test_cgroup_record(void **state)
{
	static const char path[] = "/kubepods.slice/x\x1b\"y";
	struct conn s = seed_conn();
	struct cg_name n = { .id = 0x1234, .path = path, .pod = "ns/pod", .container = "app" };
	struct rec_reader r;
	struct rec_item it;
	struct mem m;
	struct blob b;
	size_t at;

	(void)state;
	s.cgroup = 0x5555;
	mem_open(&m, NULL);
	assert_int_equal(rec_writer__cgroup(&m.w, &n), 0);
	assert_int_equal(rec_writer__seed(&m.w, &s), 0);
	at = m.w.bytes;
	assert_int_equal(rec_writer__end(&m.w, 99), 0);
	b = mem_close(&m);
	assert_int_equal(rec_reader__open(&r, b.b, b.n), 0);
	assert_int_equal(rec_reader__next(&r, &it), 1);
	assert_int_equal(it.type, REC_CGROUP);
	assert_int_equal(it.cgroup.id, 0x1234);
	assert_int_equal(it.cgroup.path_len, strlen(path));
	assert_memory_equal(it.cgroup.path, path, strlen(path));
	assert_int_equal(it.cgroup.pod_len, 6);
	assert_memory_equal(it.cgroup.pod, "ns/pod", 6);
	assert_int_equal(it.cgroup.container_len, 3);
	assert_memory_equal(it.cgroup.container, "app", 3);
	assert_int_equal(rec_reader__next(&r, &it), 1);
	assert_int_equal(it.type, REC_SEED);
	assert_int_equal(it.seed.cgroup, 0x5555);
	assert_int_equal(rec_reader__next(&r, &it), 0);

	/* The seed cut to its first 100 bytes (the layout before the cgroup): cgroup 0. */
	{
		uint8_t *p = (uint8_t *)b.b + at - 111;

		assert_int_equal(p[0], REC_SEED);
		st16(p + 1, 100);
		memmove(p + 3 + 100, p + 3 + 108, b.n - (at - 111 + 111));
		b.n -= 8;
		assert_int_equal(rec_reader__open(&r, b.b, b.n), 0);
		assert_int_equal(rec_reader__next(&r, &it), 1);
		assert_int_equal(rec_reader__next(&r, &it), 1);
		assert_int_equal(it.type, REC_SEED);
		assert_int_equal(it.seed.cgroup, 0);
		assert_int_equal(it.seed.cookie, s.cookie);
		assert_int_equal(rec_reader__next(&r, &it), 0);
	}

	free(b.b);

	/* Lengths past the record, then id 0: bad records, named by their offset. */
	for (int bad = 0; bad < 2; bad++) {
		char want[128];
		size_t hlen, items;
		uint8_t *p;

		mem_open(&m, NULL);
		hlen = m.w.bytes;
		assert_int_equal(rec_writer__cgroup(&m.w, &n), 0);
		assert_int_equal(rec_writer__end(&m.w, 99), 0);
		b = mem_close(&m);
		p = (uint8_t *)b.b + hlen + 3;
		if (bad == 0) {
			st16(p + 10, 7); /* pod: 7 bytes, one more than there are */
			snprintf(want, sizeof(want),
				 "cgroup record at byte %zu: its names' lengths %zu, 7 and 3 exceed "
				 "its %zu bytes",
				 hlen, strlen(path), strlen(path) + 6 + 3);
		} else {
			memset(p, 0, 8);
			snprintf(want, sizeof(want), "cgroup record at byte %zu: cgroup id 0", hlen);
		}
		assert_int_equal(drain(&r, &b, &items), -1);
		assert_int_equal(items, 0);
		assert_string_equal(r.err, want);
		free(b.b);
	}
}

static void test_writer_refuses_bad_seed(void **state)
{
	struct conn c = seed_conn();
	struct mem m;
	struct blob b;
	uint64_t bytes;

	(void)state;
	mem_open(&m, NULL);
	bytes = m.w.bytes;
	c.state = TD_STATE_MAX;
	assert_int_equal(rec_writer__seed(&m.w, &c), -1);
	assert_int_equal(errno, EINVAL);
	c = seed_conn();
	c.family = 0;
	assert_int_equal(rec_writer__seed(&m.w, &c), -1);
	assert_int_equal(m.w.bytes, bytes);
	assert_int_equal(m.w.err, 0);
	c = seed_conn();
	assert_int_equal(rec_writer__seed(&m.w, &c), 0);
	b = mem_close(&m);
	assert_int_equal(b.n, bytes + 111);
	free(b.b);
}

/* Synthetic recordings: deterministic, valid, and every life ends in the
 * connection table with no record missing. */
static uint64_t nfinished;

static void count_fin(void *arg, const struct conn *c)
{
	(void)arg;
	(void)c;
	nfinished++;
}

static struct blob synth_blob(uint64_t nconns, uint64_t seed, struct synth_stats *st)
{
	struct blob b;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(synth__write(f, nconns, seed, st), 0);
	assert_int_equal(fclose(f), 0);
	b.b = (uint8_t *)buf;
	b.n = len;
	return b;
}

static void test_synth(void **state)
{
	struct synth_stats st, st2;
	struct blob a = synth_blob(3000, 7, &st), b = synth_blob(3000, 7, &st2);
	struct blob c = synth_blob(3000, 8, NULL);
	struct ct_hooks hooks = {.finished = count_fin};
	struct conntable *t = conntable__new(1 << 16, &hooks);
	struct rec_reader *r = malloc(sizeof(*r));
	uint64_t counts[6] = {0};
	struct rec_item it;
	struct mem m;
	struct blob again;
	int ret;

	(void)state;
	assert_non_null(t);
	assert_non_null(r);
	assert_int_equal(a.n, b.n);
	assert_memory_equal(a.b, b.b, a.n);
	assert_true(a.n != c.n || memcmp(a.b, c.b, a.n));
	assert_int_equal(st.conns, 3000);
	assert_int_equal(st.seeds, 7);

	/* Read it all into the table, and write it all again. */
	assert_int_equal(rec_reader__open(r, a.b, a.n), 0);
	mem_open(&m, &r->hdr);
	nfinished = 0;
	while ((ret = rec_reader__next(r, &it)) == 1) {
		counts[it.type]++;
		switch (it.type) {
		case REC_EVENT:
			conntable__apply(t, &it.ev);
			rec_writer__event(&m.w, &it.ev);
			break;
		case REC_TICK:
			conntable__advance(t, it.tick_ns);
			rec_writer__tick(&m.w, it.tick_ns);
			break;
		case REC_SEED:
			assert_int_equal(counts[REC_EVENT], 0);
			assert_true(conntable__seed(t, &it.seed));
			rec_writer__seed(&m.w, &it.seed);
			break;
		case REC_LOST:
			assert_int_equal(it.lost.ringbuf + it.lost.recursion, 0);
			rec_writer__lost(&m.w, &it.lost);
			break;
		}
	}
	assert_int_equal(ret, 0);
	assert_true(r->end_seen);
	assert_int_equal(r->end_ns, st.end_ns);
	rec_writer__end(&m.w, r->end_ns);
	again = mem_close(&m);
	assert_int_equal(again.n, a.n);
	assert_memory_equal(again.b, a.b, a.n);

	assert_int_equal(counts[REC_EVENT], st.events);
	assert_int_equal(counts[REC_TICK], st.ticks);
	assert_int_equal(counts[REC_SEED], st.seeds);
	assert_int_equal(counts[REC_LOST], 1);
	assert_int_equal(r->items + 1, st.records);
	conntable__drain(t);
	assert_int_equal(nfinished, st.conns);
	assert_int_equal(conntable__stats(t)->gaps, 0);
	assert_int_equal(conntable__stats(t)->live, st.seeds);
	/* About 7 records a life, most shorter than the 104-byte struct. */
	assert_true(st.events > 6 * st.conns && st.events < 8 * st.conns);
	assert_true(a.n < st.records * 80);

	conntable__free(t);
	free(r);
	free(again.b);
	free(a.b);
	free(b.b);
	free(c.b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_layout),
	    cmocka_unit_test(test_header_facts),
	    cmocka_unit_test(test_header_accepts),
	    cmocka_unit_test(test_header_rst_names),
	    cmocka_unit_test(test_conn_info_round_trip),
	    cmocka_unit_test(test_event_layout),
	    cmocka_unit_test(test_round_trip_every_type),
	    cmocka_unit_test(test_comm_normalised),
	    cmocka_unit_test(test_header_strings_cut),
	    cmocka_unit_test(test_empty_file),
	    cmocka_unit_test(test_bad_magic),
	    cmocka_unit_test(test_future_version),
	    cmocka_unit_test(test_header_only),
	    cmocka_unit_test(test_truncated_everywhere),
	    cmocka_unit_test(test_corrupt_lengths),
	    cmocka_unit_test(test_unknown_and_longer_skipped),
	    cmocka_unit_test(test_trailing_after_end),
	    cmocka_unit_test(test_random_damage),
	    cmocka_unit_test(test_writer_error_sticky),
	    cmocka_unit_test(test_writer_refuses_bad_seed),
	    cmocka_unit_test(test_cgroup_record),
	    cmocka_unit_test(test_synth),
	};

	return cmocka_run_group_tests_name("record", tests, NULL, NULL);
}
