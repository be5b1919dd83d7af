// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Checker of the differential soak (tests/integration/soak.sh). `reduce` turns `tcpdwell trace -j`
 * output (stdin) into one short tab-separated line per transition or loss record, so that a
 * million connections on five paths fit on disk and in memory. `compare` reads the reduced
 * output of each path up to the soak's marker (the refused connect the workload makes last),
 * groups the transitions by connection, and checks that every path shows the same transitions
 * for each connection, that every chain is whole (each record's old state is the previous one's
 * new state), and that every record a path is missing is covered by the losses it counted. It
 * prints one summary line, and the first offending connections with every path's records.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PATHS 8
#define MAX_TRANS 24 /* transitions kept per connection and path */
#define MAX_SHOWN 5

/* Kernel TCP state numbers (include/net/tcp_states.h). */
static const char *const states[] = {
    "?",     "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",	 "TIME_WAIT",
    "CLOSE", "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "CLOSING",	 "NEW_SYN_RECV", "BOUND_INACTIVE",
};
#define N_STATES     (sizeof(states) / sizeof(states[0]))
#define ST_SYN_SENT  2
#define ST_CLOSE     7
#define ST_LISTEN    10
#define ST_SYN_RECV  3
#define ST_TIME_WAIT 6

static __attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "soakcheck: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		die("out of memory (%zu bytes)", n);
	return p;
}

/* ---- reduce --------------------------------------------------------------------------- */

/* The text after "KEY": in LINE, up to the next ',' or '}' (quotes removed), in OUT. */
static bool field(const char *line, const char *key, char *out, size_t size)
{
	char pat[32];
	const char *p, *e;
	size_t n;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(line, pat);
	if (!p)
		return false;
	p += strlen(pat);
	if (*p == '"') {
		e = strchr(++p, '"');
	} else {
		e = p + strcspn(p, ",}");
	}
	if (!e)
		return false;
	n = (size_t)(e - p);
	if (n >= size)
		n = size - 1;
	memcpy(out, p, n);
	out[n] = 0;
	return true;
}

static void reduce_line(const char *line, FILE *out)
{
	static const char *const tkeys[] = {"ts_ns", "cookie", "family", "lport", "rport",
					    "old",   "new",    "end",	 "pid",	  "netns"};
	char v[64];

	if (strstr(line, "\"type\":\"transition\"")) {
		fputc('T', out);
		for (size_t i = 0; i < sizeof(tkeys) / sizeof(tkeys[0]); i++) {
			if (!field(line, tkeys[i], v, sizeof(v)) || !strcmp(v, "null"))
				strcpy(v, i == 7 ? "-" : "0");
			fprintf(out, "\t%s", v);
		}
		fputc('\n', out);
	} else if (strstr(line, "\"type\":\"lost\"")) {
		char rb[32], rec[32];

		if (!field(line, "ringbuf", rb, sizeof(rb)) ||
		    !field(line, "recursion", rec, sizeof(rec)))
			die("a lost record without its counts: %s", line);
		fprintf(out, "L\t%s\t%s\n", rb, rec);
	}
}

/* stdin to stdout, flushed after each read so a reader waiting on a line sees it soon. */
static int reduce(void)
{
	size_t cap = 1 << 20, len = 0;
	char *buf = xrealloc(NULL, cap + 1);

	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf + len, cap - len);
		char *p = buf, *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read: %s", strerror(errno));
		if (n == 0)
			break;
		len += (size_t)n;
		buf[len] = 0;
		while ((nl = memchr(p, '\n', len - (size_t)(p - buf)))) {
			*nl = 0;
			reduce_line(p, stdout);
			p = nl + 1;
		}
		len -= (size_t)(p - buf);
		memmove(buf, p, len);
		if (len == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
		if (fflush(stdout))
			die("write: %s", strerror(errno));
	}
	free(buf);
	return fflush(stdout) ? 1 : 0;
}

/* ---- a map of 128-bit keys to 32-bit values ---------------------------------------------- */

struct slot {
	uint64_t a, b;
	uint32_t v;
	uint8_t used; /* 0 free, 1 used, 2 deleted */
};
struct map {
	struct slot *s;
	size_t cap, fill;
};

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t h = a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL + (a << 6));

	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ULL;
	return h ^ (h >> 32);
}

static struct slot *map_find(struct map *m, uint64_t a, uint64_t b, bool add);

static void map_grow(struct map *m)
{
	struct map n = {.cap = m->cap ? m->cap * 2 : 1024};

	n.s = calloc(n.cap, sizeof(*n.s));
	if (!n.s)
		die("out of memory");
	for (size_t i = 0; i < m->cap; i++)
		if (m->s[i].used == 1)
			map_find(&n, m->s[i].a, m->s[i].b, true)->v = m->s[i].v;
	free(m->s);
	*m = n;
}

/* The slot of (A, B); with ADD a new one (value 0) when absent, else NULL when absent. */
static struct slot *map_find(struct map *m, uint64_t a, uint64_t b, bool add)
{
	struct slot *tomb = NULL;

	if (add && (m->fill + 1) * 2 > m->cap)
		map_grow(m);
	if (!m->cap)
		return NULL;
	for (size_t i = mix(a, b) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct slot *s = &m->s[i];

		if (s->used == 1 && s->a == a && s->b == b)
			return s;
		if (s->used == 2 && !tomb)
			tomb = s;
		if (s->used == 0) {
			if (!add)
				return NULL;
			if (!tomb) {
				tomb = s;
				m->fill++;
			}
			*tomb = (struct slot){.a = a, .b = b, .used = 1};
			return tomb;
		}
	}
}

static void map_del(struct map *m, uint64_t a, uint64_t b)
{
	struct slot *s = map_find(m, a, b, false);

	if (s)
		s->used = 2;
}

/* ---- one path's records ------------------------------------------------------------------ */

struct rec {
	uint32_t id; /* connection, as the keyer knew it */
	uint8_t old, new;
	bool after; /* delivered after the marker */
};

struct path {
	const char *name, *file;
	struct rec *r;
	size_t n, cap;
	uint64_t *cookie; /* per id: the first nonzero cookie its records carried */
	uint32_t ids;
	uint64_t lost;
	bool marker_seen;
	/* results */
	uint64_t records, connects, breaks, missing, conflicts, extra_conns;
};

static int state_of(const char *s)
{
	for (size_t i = 1; i < N_STATES; i++)
		if (!strcmp(s, states[i]))
			return (int)i;
	return -1;
}

/*
 * Connections by cookie, or where the cookie is 0 (the classic tracepoint before anything
 * generated one) by tuple and order, as the keyed reader of tests/integration/tdlib.sh does: a
 * connect()'s CLOSE -> SYN_SENT (local port 0) belongs with the next SYN_SENT record of the same
 * remote port and owner; a birth starts a new connection on its tuple; TIME_WAIT -> CLOSE ends
 * the one that entered TIME_WAIT there.
 */
struct keyer {
	struct map ck, open, tw, pend;
	uint32_t next;
};

static uint32_t keyer_id(struct keyer *k, uint64_t cookie, unsigned fam, uint64_t netns,
			 unsigned lport, unsigned rport, uint64_t pid, int o, int w)
{
	uint64_t ta = netns << 8 | fam, tb = (uint64_t)lport << 16 | rport;
	uint64_t pa = netns << 8 | fam, pb = pid << 16 | rport;
	struct slot *s;
	uint32_t id;

	if (cookie && !map_find(&k->ck, cookie, 0, false) && !map_find(&k->open, ta, tb, false) &&
	    !map_find(&k->tw, ta, tb, false) &&
	    !(o == ST_SYN_SENT && map_find(&k->pend, pa, pb, false))) {
		id = ++k->next;
		map_find(&k->ck, cookie, 0, true)->v = id;
		/* A cookie seen first: the connection is known by it from here on. */
		return id;
	}
	if (cookie && (s = map_find(&k->ck, cookie, 0, false))) {
		id = s->v;
	} else if (o == ST_CLOSE && w == ST_SYN_SENT && lport == 0) {
		id = ++k->next;
		map_find(&k->pend, pa, pb, true)->v = id;
	} else if (o == ST_TIME_WAIT && (s = map_find(&k->tw, ta, tb, false))) {
		id = s->v;
		map_del(&k->tw, ta, tb);
	} else if ((o == ST_LISTEN && w == ST_SYN_RECV) || (o == ST_CLOSE && w == ST_LISTEN)) {
		id = ++k->next;
		map_find(&k->open, ta, tb, true)->v = id;
	} else if (o == ST_SYN_SENT && (s = map_find(&k->pend, pa, pb, false))) {
		id = s->v;
		map_del(&k->pend, pa, pb);
		map_find(&k->open, ta, tb, true)->v = id;
	} else if ((s = map_find(&k->open, ta, tb, false))) {
		id = s->v;
	} else {
		id = ++k->next;
		map_find(&k->open, ta, tb, true)->v = id;
	}
	if (cookie)
		map_find(&k->ck, cookie, 0, true)->v = id;
	if (w == ST_TIME_WAIT) {
		map_find(&k->tw, ta, tb, true)->v = id;
		map_del(&k->open, ta, tb);
	} else if (w == ST_CLOSE && o != ST_TIME_WAIT) {
		map_del(&k->open, ta, tb);
	}
	return id;
}

/* Splits a reduced line in place into at most MAX fields; their count. */
static int split(char *line, char **f, int max)
{
	int n = 0;

	for (char *p = line; n < max;) {
		f[n++] = p;
		p = strchr(p, '\t');
		if (!p)
			break;
		*p++ = 0;
	}
	return n;
}

static uint64_t num(const char *s, const char *file, size_t line)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		die("%s:%zu: not a number: '%s'", file, line, s);
	return v;
}

/* Reads FILE's transitions, each marked as delivered before or after the marker's (rport
 * MARKER, new CLOSE), and its losses. */
static void path_read(struct path *p, unsigned marker)
{
	FILE *f = fopen(p->file, "r");
	struct keyer k = {0};
	char *line = NULL, *fl[16];
	size_t size = 0, ln = 0;
	ssize_t len;

	if (!f)
		die("cannot open '%s': %s", p->file, strerror(errno));
	while ((len = getline(&line, &size, f)) > 0) {
		int nf, o, w;
		uint64_t cookie;
		uint32_t id;

		ln++;
		if (line[len - 1] == '\n')
			line[len - 1] = 0;
		nf = split(line, fl, 16);
		if (fl[0][0] == 'L' && nf >= 3) {
			uint64_t l = num(fl[1], p->file, ln) + num(fl[2], p->file, ln);

			if (l > p->lost)
				p->lost = l;
			continue;
		}
		if (fl[0][0] != 'T')
			continue;
		if (nf != 11)
			die("%s:%zu: %d fields, not 11", p->file, ln, nf);
		o = state_of(fl[6]);
		w = state_of(fl[7]);
		if (o < 0 || w < 0)
			die("%s:%zu: unknown state '%s' or '%s'", p->file, ln, fl[6], fl[7]);
		cookie = num(fl[2], p->file, ln);
		id = keyer_id(&k, cookie, (unsigned)num(fl[3], p->file, ln),
			      num(fl[10], p->file, ln), (unsigned)num(fl[4], p->file, ln),
			      (unsigned)num(fl[5], p->file, ln), num(fl[9], p->file, ln), o, w);
		if (p->n == p->cap) {
			p->cap = p->cap ? p->cap * 2 : 1 << 16;
			p->r = xrealloc(p->r, p->cap * sizeof(*p->r));
		}
		p->r[p->n++] = (struct rec){
		    .id = id, .old = (uint8_t)o, .new = (uint8_t)w, .after = p->marker_seen};
		if (id >= p->ids) {
			uint32_t n = id * 2 + 16;

			p->cookie = xrealloc(p->cookie, n * sizeof(*p->cookie));
			memset(p->cookie + p->ids, 0, (n - p->ids) * sizeof(*p->cookie));
			p->ids = n;
		}
		if (cookie && !p->cookie[id])
			p->cookie[id] = cookie;
		if (num(fl[5], p->file, ln) == marker && w == ST_CLOSE)
			p->marker_seen = true;
	}
	free(line);
	fclose(f);
	free(k.ck.s);
	free(k.open.s);
	free(k.tw.s);
	free(k.pend.s);
	p->records = p->n;
}

/* ---- compare ------------------------------------------------------------------------------ */

struct conn {
	uint8_t n[MAX_PATHS];
	uint8_t before[MAX_PATHS];	 /* of n, delivered before the path's marker */
	uint8_t t[MAX_PATHS][MAX_TRANS]; /* old << 4 | new */
	bool overflow;
};

static struct path paths[MAX_PATHS];
static int npaths;
static struct conn *conns;
static size_t nconns, capconns;
static struct map bykey;

/* The key of record R of path P: its cookie, or one of the path's own when it never had one. */
static void rec_key(const struct path *p, int pi, const struct rec *r, uint64_t *a, uint64_t *b)
{
	uint64_t c = p->cookie[r->id];

	*a = c ? c : r->id;
	*b = c ? 0 : (uint64_t)pi + 1;
}

static void gather(void)
{
	for (int pi = 0; pi < npaths; pi++) {
		struct path *p = &paths[pi];

		for (size_t i = 0; i < p->n; i++) {
			uint64_t a, b;
			struct slot *s;
			struct conn *c;

			rec_key(p, pi, &p->r[i], &a, &b);
			s = map_find(&bykey, a, b, true);
			if (!s->v) {
				if (nconns == capconns) {
					capconns = capconns ? capconns * 2 : 1 << 16;
					conns = xrealloc(conns, capconns * sizeof(*conns));
				}
				memset(&conns[nconns], 0, sizeof(*conns));
				s->v = (uint32_t)++nconns;
			}
			c = &conns[s->v - 1];
			if (c->n[pi] == MAX_TRANS) {
				c->overflow = true;
				continue;
			}
			if (!p->r[i].after)
				c->before[pi] = (uint8_t)(c->n[pi] + 1);
			c->t[pi][c->n[pi]++] = (uint8_t)(p->r[i].old << 4 | p->r[i].new);
		}
	}
}

static bool subseq(const uint8_t *s, int n, const uint8_t *of, int m)
{
	int j = 0;

	for (int i = 0; i < m && j < n; i++)
		if (of[i] == s[j])
			j++;
	return j == n;
}

/* Chain breaks in one path's sequence of a connection. */
static int breaks_of(const uint8_t *t, int n)
{
	int b = 0;

	if (n && (t[0] >> 4) != ST_CLOSE && (t[0] >> 4) != ST_LISTEN)
		b++;
	for (int i = 1; i < n; i++)
		if ((t[i] >> 4) != (t[i - 1] & 15))
			b++;
	return b;
}

/* Checks every connection; the offending ones' indexes (at most MAX_SHOWN) in SHOWN. */
static uint64_t judge(size_t *shown, int *nshown)
{
	uint64_t differ = 0;

	*nshown = 0;
	for (size_t ci = 0; ci < nconns; ci++) {
		struct conn *c = &conns[ci];
		int ref = 0;
		bool bad = c->overflow, diff = false;

		for (int pi = 1; pi < npaths; pi++)
			if (c->n[pi] > c->n[ref])
				ref = pi;
		for (int pi = 0; pi < npaths; pi++) {
			struct path *p = &paths[pi];
			int b = breaks_of(c->t[pi], c->n[pi]);
			/* What the reference delivered after its marker depends on when it was
			 * stopped: beyond this path's records, that tail is left out. */
			int m = c->before[ref] > c->n[pi] ? c->before[ref] : c->n[pi];

			if (c->n[pi] && c->t[pi][0] == (ST_CLOSE << 4 | ST_SYN_SENT))
				p->connects++;
			p->breaks += (uint64_t)b;
			if (b)
				bad = true;
			if (c->n[pi] == m && !memcmp(c->t[pi], c->t[ref], (size_t)m))
				continue;
			diff = true;
			if (subseq(c->t[pi], c->n[pi], c->t[ref], m)) {
				p->missing += (uint64_t)(m - c->n[pi]);
				bad = true;
			} else {
				p->conflicts++;
				bad = true;
			}
		}
		differ += diff;
		if (bad && *nshown < MAX_SHOWN)
			shown[(*nshown)++] = ci;
	}
	return differ;
}

/* The records of connection CI on every path, as the reduced files hold them. */
static void show(size_t ci)
{
	for (int pi = 0; pi < npaths; pi++) {
		struct path *p = &paths[pi];
		FILE *f = fopen(p->file, "r");
		char *line = NULL;
		size_t size = 0, i = 0;
		ssize_t len;

		printf("#   %s (%s):\n", p->name, p->file);
		if (!f)
			continue;
		while (i < p->n && (len = getline(&line, &size, f)) > 0) {
			uint64_t a, b;
			struct slot *s;

			if (line[0] != 'T')
				continue;
			rec_key(p, pi, &p->r[i++], &a, &b);
			s = map_find(&bykey, a, b, false);
			if (s && s->v - 1 == ci)
				printf("#     %s", line);
		}
		free(line);
		fclose(f);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: soakcheck reduce < TRACE_JSON > REDUCED\n"
		   "       soakcheck compare --marker PORT --connects N "
		   "NAME=REDUCED...\n");
}

int main(int argc, char **argv)
{
	uint64_t connects = 0, differ;
	unsigned marker = 0;
	bool ok = true;
	size_t shown[MAX_SHOWN];
	int nshown;

	if (argc == 2 && !strcmp(argv[1], "reduce"))
		return reduce();
	if (argc < 2 || strcmp(argv[1], "compare")) {
		usage(stderr);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		char *eq;

		if (!strcmp(argv[i], "--marker") && i + 1 < argc) {
			marker = (unsigned)num(argv[++i], "--marker", 0);
		} else if (!strcmp(argv[i], "--connects") && i + 1 < argc) {
			connects = num(argv[++i], "--connects", 0);
		} else if ((eq = strchr(argv[i], '=')) && npaths < MAX_PATHS) {
			*eq = 0;
			paths[npaths].name = argv[i];
			paths[npaths++].file = eq + 1;
		} else {
			fprintf(stderr, "soakcheck: bad argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (!npaths || !marker || !connects)
		die("compare needs --marker, --connects and at least one NAME=FILE");
	for (int pi = 0; pi < npaths; pi++)
		path_read(&paths[pi], marker);
	gather();
	differ = judge(shown, &nshown);

	printf("soak: %zu connections (%" PRIu64 " connects made)", nconns, connects);
	for (int pi = 0; pi < npaths; pi++) {
		struct path *p = &paths[pi];
		/* Every break and every missing record needs a loss that path counted. */
		bool pok = p->marker_seen && !p->conflicts && p->missing <= p->lost &&
			   p->breaks <= p->lost && p->connects <= connects &&
			   p->connects + p->lost >= connects;

		printf("; %s: %" PRIu64 " records, %" PRIu64 " connects, %" PRIu64
		       " missing, %" PRIu64 " conflicting, %" PRIu64 " chain breaks, %" PRIu64
		       " lost%s%s",
		       p->name, p->records, p->connects, p->missing, p->conflicts, p->breaks,
		       p->lost, p->marker_seen ? "" : ", NO MARKER", pok ? "" : " (UNEXPLAINED)");
		ok = ok && pok;
	}
	printf("; %" PRIu64 " connections differ; verdict %s\n", differ, ok ? "PASS" : "FAIL");
	if (!ok) {
		printf(
		    "# first %d offending connections (reduced: T ts cookie family lport rport old "
		    "new end pid netns):\n",
		    nshown);
		for (int i = 0; i < nshown; i++) {
			printf("# connection %d:\n", i + 1);
			show(shown[i]);
		}
	}
	return ok ? 0 : 1;
}
