// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Writes the seed corpus of fuzz_record into a directory: small recordings made
 * by the real writer (each record type, IPv4 and IPv6, a torn tail, a record
 * type from the future, the start of a synthetic recording), so that fuzzing
 * begins from valid files rather than from nothing; and the crafted recordings
 * that once hung or misled a replay (clock leaps, out-of-range states), so that
 * the fuzzer keeps trying them.
 *
 *   make build/mkcorpus && build/mkcorpus tests/fuzz/corpus   (or: make fuzz-corpus)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "synth.h"

static char dir[4096];

static void save(const char *name, const void *p, size_t n)
{
	char path[4352];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		perror(path);
		exit(1);
	}
}

static void header(struct rec_writer *w, FILE *f)
{
	struct rec_header h;

	memset(&h, 0, sizeof(h));
	h.realtime_offset_ns = 1700000000000000000LL - 3600000000000LL;
	h.start_ns = 3600000000000ULL;
	strcpy(h.host, "node-1");
	strcpy(h.kernel, "6.1.0-28-cloud-amd64");
	strcpy(h.options, "record -o x.rec");
	h.port_range_known = true;
	h.port_lo = 32768;
	h.port_hi = 60999;
	h.max_tw_buckets_known = true;
	h.max_tw_buckets = 262144;
	rec_writer__init(w, f, &h);
}

static struct td_event event(int kind, int family, int old, int new, int pid)
{
	struct td_event e;

	memset(&e, 0, sizeof(e));
	e.ts_ns = 3600000000000ULL + 12345;
	e.cookie = 0x4001;
	e.skaddr = 0xffff888100000980ULL;
	e.cgroup = 1;
	e.netns = 4026531840u;
	e.kind = kind;
	e.family = family;
	e.oldstate = old;
	e.newstate = new;
	e.sport = 41000;
	e.dport = 443;
	e.saddr[0] = family == 6 ? 0xfd : 10;
	e.saddr[family == 6 ? 15 : 3] = 2;
	e.daddr[0] = family == 6 ? 0x20 : 203;
	e.daddr[family == 6 ? 15 : 3] = 9;
	if (pid) {
		e.flags = TD_F_PROC;
		e.pid = pid;
		strcpy(e.comm, kind == TD_EV_ACCEPT ? "nginx" : "curl");
	}
	if (kind == TD_EV_TW_ARM || kind == TD_EV_TW_CANCEL) {
		e.flags |= TD_F_TW_LEFT;
		e.tw_left_ms = kind == TD_EV_TW_ARM ? 60000 : -3;
		if (kind == TD_EV_TW_CANCEL)
			e.flags |= TD_F_TW_DUE;
	}
	return e;
}

/* One of each record type, with or without the end marker. */
static void each_type(FILE *f, bool end)
{
	struct rec_writer w;
	struct rec_lost l = {3600000000000ULL, 2, 1};
	struct conn c;
	struct td_event e;

	header(&w, f);
	memset(&c, 0, sizeof(c));
	c.cookie = 0x4000;
	c.state = TD_LISTEN;
	c.family = 4;
	c.sport = 80;
	c.netns = 4026531840u;
	c.pid = 1200;
	conn__set_comm(&c, "nginx");
	c.role = CT_ROLE_LISTEN;
	c.owner_src = CT_OWNER_SEED;
	c.step_ns[0] = 3600000000000ULL;
	rec_writer__seed(&w, &c);
	e = event(TD_EV_STATE, 4, TD_CLOSE, TD_SYN_SENT, 3100);
	{
		struct cg_name n = {
			.id = e.cgroup,
			.path = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod6f1c2d3e_"
				"4a5b_4c6d_8e7f_0a1b2c3d4e5f.slice/cri-containerd-0123456789abcdef0123456789"
				"abcdef0123456789abcdef0123456789abcdef.scope",
			.pod = "payments/checkout-7d9f",
			.container = "app",
		};

		rec_writer__cgroup(&w, &n);
	}
	rec_writer__event(&w, &e);
	e = event(TD_EV_STATE, 6, TD_SYN_SENT, TD_ESTABLISHED, 0);
	rec_writer__event(&w, &e);
	e = event(TD_EV_TW_ARM, 4, TD_TIME_WAIT, TD_TIME_WAIT, 0);
	rec_writer__event(&w, &e);
	e = event(TD_EV_TW_CANCEL, 6, TD_TIME_WAIT, TD_TIME_WAIT, 0);
	rec_writer__event(&w, &e);
	e = event(TD_EV_ACCEPT, 6, TD_ESTABLISHED, TD_ESTABLISHED, 1201);
	rec_writer__event(&w, &e);
	rec_writer__tick(&w, 3600100000000ULL);
	rec_writer__lost(&w, &l);
	if (end)
		rec_writer__end(&w, 3600200000000ULL);
}

/* Run fn into memory and save all but its last cut bytes under name. */
static void make(const char *name, size_t cut, void (*fn)(FILE *f, bool end), bool end)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m) {
		perror("open_memstream");
		exit(1);
	}
	fn(m, end);
	fclose(m);
	save(name, buf, len > cut ? len - cut : 0);
	free(buf);
}

/* A record type this version does not know, between known ones. */
static void unknown_type(FILE *f, bool end)
{
	static const uint8_t unknown[] = {0x42, 4, 0, 1, 2, 3, 4};
	struct rec_writer w;

	header(&w, f);
	rec_writer__tick(&w, 1);
	fwrite(unknown, 1, sizeof(unknown), f);
	rec_writer__tick(&w, 2);
	if (end)
		rec_writer__end(&w, 3);
}

static void header_only(FILE *f, bool end)
{
	struct rec_writer w;

	(void)end;
	header(&w, f);
}

/*
 * Clock ticks a replay must survive in bounded time: a leap to the last
 * nanosecond a ktime_t holds (stat --interval 1ns once counted its way there
 * period by period), then, in the wrap case, a tick past it (next_stat + interval
 * wrapped) and, in the back case, one before the last; both are damage.
 */
static void ticks(FILE *f, uint64_t last)
{
	struct rec_writer w;
	struct td_event e;

	header(&w, f);
	rec_writer__tick(&w, 3600000000000ULL);
	e = event(TD_EV_STATE, 4, TD_CLOSE, TD_SYN_SENT, 3100);
	rec_writer__event(&w, &e);
	e = event(TD_EV_STATE, 4, TD_SYN_SENT, TD_CLOSE, 0);
	e.ts_ns += 1000;
	rec_writer__event(&w, &e);
	rec_writer__tick(&w, 3600000000000ULL + 1000000);
	rec_writer__tick(&w, INT64_MAX);
	if (last)
		rec_writer__tick(&w, last);
	rec_writer__end(&w, INT64_MAX);
}

static void tick_leap(FILE *f, bool end)
{
	(void)end;
	ticks(f, 0);
}

static void tick_wrap(FILE *f, bool end)
{
	(void)end;
	ticks(f, UINT64_MAX - 1);
}

static void tick_back(FILE *f, bool end)
{
	(void)end;
	ticks(f, 3600000000000ULL);
}

/*
 * Timewait and accept records whose state is outside the kernel's enum (200),
 * for a connection seen before and for new ones, then transitions of those
 * connections: no such state may reach a shift or an index.
 */
static void bad_states(FILE *f, bool end)
{
	struct rec_writer w;
	struct td_event e;

	(void)end;
	header(&w, f);
	rec_writer__tick(&w, 3600000000000ULL);
	e = event(TD_EV_ACCEPT, 4, 200, 200, 1201);
	rec_writer__event(&w, &e);
	e = event(TD_EV_STATE, 4, TD_ESTABLISHED, TD_CLOSE_WAIT, 0);
	e.ts_ns += 1000;
	rec_writer__event(&w, &e);
	e = event(TD_EV_TW_ARM, 4, 200, 200, 0);
	e.cookie = 0x4002;
	rec_writer__event(&w, &e);
	e = event(TD_EV_TW_CANCEL, 4, 200, 200, 0);
	e.cookie = 0x4002;
	e.ts_ns += 2000;
	rec_writer__event(&w, &e);
	e = event(TD_EV_STATE, 6, TD_CLOSE, TD_SYN_SENT, 3100);
	e.cookie = 0x4003;
	rec_writer__event(&w, &e);
	e = event(TD_EV_TW_ARM, 6, 255, 255, 0);
	e.cookie = 0x4003;
	e.ts_ns += 1000;
	rec_writer__event(&w, &e);
	e = event(TD_EV_ACCEPT, 6, 32, 32, 1201);
	e.cookie = 0x4003;
	e.ts_ns += 2000;
	rec_writer__event(&w, &e);
	e = event(TD_EV_STATE, 6, TD_SYN_SENT, TD_CLOSE, 0);
	e.cookie = 0x4003;
	e.ts_ns += 3000;
	rec_writer__event(&w, &e);
	rec_writer__tick(&w, 3600000000000ULL + 60000000000ULL);
	rec_writer__end(&w, 3600000000000ULL + 60000000000ULL);
}

/*
 * Names with terminal escapes (a title change, a bell, a screen clear), a C1
 * control and invalid UTF-8: the host name in the header and a process name
 * (any process can set its own with prctl(PR_SET_NAME)). Views must escape them.
 */
static void hostile_names(FILE *f, bool end)
{
	static const char pwn[] = "\x1b]0;pwn\x07\x1b[2J";
	struct rec_writer w;
	struct rec_header h;
	struct td_event e;

	(void)end;
	memset(&h, 0, sizeof(h));
	h.start_ns = 3600000000000ULL;
	snprintf(h.host, sizeof(h.host), "%snode\x9b\xff", pwn);
	strcpy(h.kernel, "6.1.0\x1b[31m");
	strcpy(h.options, "record -o x.rec");
	rec_writer__init(&w, f, &h);
	rec_writer__tick(&w, 3600000000000ULL);
	e = event(TD_EV_STATE, 4, TD_CLOSE, TD_SYN_SENT, 3100);
	memset(e.comm, 0, sizeof(e.comm));
	memcpy(e.comm, pwn, sizeof(pwn) - 1);
	{
		/* A cgroup anyone with a delegated subtree can name, and names a recording may
		 * carry: terminal escapes, quotes, a newline, bytes that are not UTF-8. */
		struct cg_name n = { .id = e.cgroup,
				     .path = "/user.slice/\x1b]0;pwn\x07\"},\n\x9b\xff",
				     .pod = "ns\"/\x1b[2J\\",
				     .container = "c\n\"}" };

		rec_writer__cgroup(&w, &n);
	}
	rec_writer__event(&w, &e);
	e = event(TD_EV_STATE, 4, TD_SYN_SENT, TD_ESTABLISHED, 0);
	e.ts_ns += 1000;
	rec_writer__event(&w, &e);
	e = event(TD_EV_STATE, 4, TD_ESTABLISHED, TD_CLOSE, 0);
	e.ts_ns += 2000;
	rec_writer__event(&w, &e);
	rec_writer__tick(&w, 3600000000000ULL + 1000000000ULL);
	rec_writer__end(&w, 3600000000000ULL + 1000000000ULL);
}

/* The start of a synthetic recording: seeds, then interleaved lives. */
static void synth_head(FILE *f, bool end)
{
	(void)end;
	if (synth__write(f, 40, 1, NULL)) {
		perror("synth");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	make("each-type.rec", 0, each_type, true);
	make("torn.rec", 5, each_type, false); /* killed mid-record: no END */
	make("unknown-type.rec", 0, unknown_type, true);
	make("header-only.rec", 0, header_only, false);
	make("tick-leap.rec", 0, tick_leap, true);
	make("tick-wrap.rec", 0, tick_wrap, true);
	make("tick-back.rec", 0, tick_back, true);
	make("bad-states.rec", 0, bad_states, true);
	make("hostile-names.rec", 0, hostile_names, true);

	m = open_memstream(&buf, &len);
	if (!m)
		return 1;
	synth_head(m, false);
	fclose(m);
	save("synth-head.rec", buf, len < 3072 ? len : 3072);
	free(buf);
	return 0;
}
