// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Command-line parsing, the first stage of tcpdwell: argv becomes a validated struct
 * td_options before anything touches the kernel. Every bad value is refused here with
 * one line that names the value and the option; nothing is printed (messages go to the
 * caller's buffer), so every case is a unit test that needs no root.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "state.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_SEC  1000000000ULL

/* PID_MAX_LIMIT (include/linux/threads.h) on 64-bit kernels. */
#define PID_LIMIT 4194304

#define DEFAULT_MAX_CONNS     262144
#define DEFAULT_LATENCY_NS    (100 * NSEC_PER_MSEC)
/* Off until a pass cannot mistake a timewait socket that expired between its last
 * record and the dump for a lost end (seen: tw_expire.sh, a pass near 60 s ended one
 * as gone, a chain break with nothing lost). */
#define DEFAULT_RECONCILE_NS  0
#define DEFAULT_RINGBUF_BYTES (8u << 20)
/* --ringbuf-size bounds: a power of two from the smallest page to 1 GiB. */
#define MIN_RINGBUF_BYTES 4096
#define MAX_RINGBUF_BYTES (1ULL << 30)
#define MAX_INTERVAL_NS	      (24 * 3600 * NSEC_PER_SEC)

/*
 * Control characters in a message become '?' so that a value with a newline or an
 * escape sequence in it cannot break the one-line promise or the caller's terminal.
 * Returns -1.
 */
static int one_line(char *err)
{
	for (char *p = err; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -1;
}

/* Write one message to err (one_line) and return -1. */
__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
						      ...)
{
	va_list ap;

	if (!err || !errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return one_line(err);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Decimal digits s[0..n) to *v. False when there are none, when anything else is in
 * the span, or when the value does not fit in 64 bits. No sign, no spaces, no base
 * prefixes: strtoull() would accept " -1" as 2^64-1, which a command line must not.
 */
static bool parse_digits(const char *s, size_t n, uint64_t *v)
{
	uint64_t r = 0;

	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		if (r > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return false;
		r = r * 10 + (uint64_t)(s[i] - '0');
	}
	*v = r;
	return true;
}

int cli__parse_uint(const char *s, const char *opt, uint64_t min, uint64_t max, uint64_t *out,
		    char *err, size_t errlen)
{
	uint64_t v;

	if (!parse_digits(s, strlen(s), &v) || v < min || v > max)
		return fail(err, errlen, "invalid number '%s' in %s: must be %llu-%llu", s, opt,
			    (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}

int cli__parse_user(const char *v, struct td_options *o, char *err, size_t errlen)
{
	const char *colon = strchr(v, ':');
	uint64_t uid, gid;

	if (!*v)
		return fail(err, errlen, "invalid user '' in --user: empty");
	if (colon) {
		/* (uid_t)-1 means "unchanged" to setresuid(): never a target. */
		if (!parse_digits(v, (size_t)(colon - v), &uid) ||
		    !parse_digits(colon + 1, strlen(colon + 1), &gid) || uid >= UINT32_MAX ||
		    gid >= UINT32_MAX)
			return fail(err, errlen,
				    "invalid user '%s' in --user: must be NAME or UID:GID, each "
				    "0-4294967294",
				    v);
		if (!uid || !gid)
			return fail(err, errlen,
				    "invalid user '%s' in --user: must not be root (uid or gid 0)",
				    v);
		o->user = NULL;
		o->user_ids = true;
		o->user_uid = (uint32_t)uid;
		o->user_gid = (uint32_t)gid;
		return 0;
	}
	/* A name for getpwnam(): printable ASCII, as passwd files and NSS hold them. */
	for (const char *p = v; *p; p++)
		if (*p <= ' ' || *p > '~' || p - v >= 255)
			return fail(err, errlen, "invalid user name in --user: %s",
				    p - v >= 255 ? "longer than 255 characters"
						 : "only printable characters, no spaces");
	o->user = v;
	o->user_ids = false;
	return 0;
}

/*
 * Walk a comma-separated list, calling fn for each item (pointer and length, not
 * NUL-terminated). An empty list or an empty item is an error that quotes the list:
 * "80,,443" is more likely a typo than a request for nothing.
 */
typedef int (*item_fn)(const char *item, size_t n, void *arg, char *err, size_t errlen);

static int each_item(const char *s, const char *opt, const char *what, item_fn fn, void *arg,
		     char *err, size_t errlen)
{
	const char *p = s;

	if (!*s)
		return fail(err, errlen, "invalid %s '' in %s: empty", what, opt);
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (!n)
			return fail(err, errlen, "invalid %s list '%s' in %s: empty item", what, s,
				    opt);
		if (fn(p, n, arg, err, errlen))
			return -1;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

/* --- ports --------------------------------------------------------------------------- */

struct ports_arg {
	const char *opt;
	struct td_portset *ps; /* NULL: validate only */
};

static int one_port(const char *s, size_t n, const char *opt, unsigned int *port, char *err,
		    size_t errlen)
{
	uint64_t v;

	/* Only digits get the range message; "http" or "8o" are not numbers at all. */
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return fail(err, errlen, "invalid port '%.*s' in %s: not a number", (int)n,
				    s, opt);
	if (!n || !parse_digits(s, n, &v) || v > 65535)
		return fail(err, errlen, "invalid port '%.*s' in %s: must be 0-65535", (int)n, s,
			    opt);
	*port = (unsigned int)v;
	return 0;
}

static int port_item(const char *item, size_t n, void *arg, char *err, size_t errlen)
{
	struct ports_arg *a = arg;
	const char *dash = memchr(item, '-', n);
	unsigned int lo, hi;

	if (dash) {
		size_t nlo = (size_t)(dash - item), nhi = n - nlo - 1;

		if (!nlo || !nhi || memchr(dash + 1, '-', nhi))
			return fail(err, errlen,
				    "invalid port range '%.*s' in %s: expected LOW-HIGH, e.g. "
				    "8000-8100",
				    (int)n, item, a->opt);
		if (one_port(item, nlo, a->opt, &lo, err, errlen) ||
		    one_port(dash + 1, nhi, a->opt, &hi, err, errlen))
			return -1;
		if (lo > hi)
			return fail(err, errlen,
				    "invalid port range '%.*s' in %s: %u is greater than %u",
				    (int)n, item, a->opt, lo, hi);
	} else {
		if (one_port(item, n, a->opt, &lo, err, errlen))
			return -1;
		hi = lo;
	}
	if (a->ps)
		for (unsigned int p = lo; p <= hi; p++)
			a->ps->bits[p >> 6] |= 1ULL << (p & 63);
	return 0;
}

int cli__parse_ports(const char *s, const char *opt, struct td_portset *ps, char *err,
		     size_t errlen)
{
	struct ports_arg a = { .opt = opt };

	/* Validate the whole list first so that a failure leaves *ps as it was. */
	if (each_item(s, opt, "port", port_item, &a, err, errlen))
		return -1;
	a.ps = ps;
	each_item(s, opt, "port", port_item, &a, err, errlen);
	ps->any = true;
	return 0;
}

/* --- durations ----------------------------------------------------------------------- */

static const struct {
	const char *unit;
	uint64_t ns;
} duration_units[] = {
	{ "ns", 1 },
	{ "us", 1000 },
	{ "ms", NSEC_PER_MSEC },
	{ "s", NSEC_PER_SEC },
	{ "m", 60 * NSEC_PER_SEC },
	{ "h", 3600 * NSEC_PER_SEC },
};

/*
 * Integer arithmetic throughout: "1.1s" must be 1100000000 ns exactly, which a double
 * does not promise, and 2^64 ns (about 584 years) must be refused, not wrapped.
 * Fraction digits past the 18th are checked but ignored: they are below a nanosecond
 * for every unit.
 */
static int parse_duration(const char *s, const char *opt, bool allow_zero, uint64_t *ns, char *err,
			  size_t errlen)
{
	uint64_t whole = 0, frac = 0, den = 1, mult = 0, total;
	const char *p = s, *unit;
	size_t n;

	if (!*s)
		return fail(err, errlen, "invalid duration '' in %s: empty", opt);
	if (*s == '-')
		return fail(err, errlen, "invalid duration '%s' in %s: must not be negative", s,
			    opt);
	for (n = 0; is_digit(p[n]); n++)
		;
	if (!n)
		return fail(
			err, errlen,
			"invalid duration '%s' in %s: expected a number and a unit, e.g. 250us, "
			"10ms, 2s, 1m",
			s, opt);
	if (!parse_digits(p, n, &whole))
		return fail(err, errlen, "invalid duration '%s' in %s: too large", s, opt);
	p += n;
	if (*p == '.') {
		p++;
		for (n = 0; is_digit(p[n]); n++) {
			if (n < 18) {
				frac = frac * 10 + (uint64_t)(p[n] - '0');
				den *= 10;
			}
		}
		if (!n)
			return fail(err, errlen,
				    "invalid duration '%s' in %s: expected digits after '.'", s,
				    opt);
		p += n;
	}
	unit = p;
	if (!*unit) {
		mult = NSEC_PER_SEC; /* a bare number is seconds, as sleep(1) reads it */
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(duration_units); i++)
			if (!strcmp(unit, duration_units[i].unit))
				mult = duration_units[i].ns;
		if (!mult)
			return fail(err, errlen, "invalid duration '%s' in %s: unknown unit '%s'",
				    s, opt, unit);
	}
	if (__builtin_mul_overflow(whole, mult, &total) ||
	    __builtin_add_overflow(total, (uint64_t)((unsigned __int128)frac * mult / den), &total))
		return fail(err, errlen, "invalid duration '%s' in %s: too large", s, opt);
	if (!total && !allow_zero)
		return fail(err, errlen, "invalid duration '%s' in %s: must be greater than 0", s,
			    opt);
	*ns = total;
	return 0;
}

/* A Kubernetes name: lowercase letters, digits and '-' (and '.' when dots), 1 to max bytes,
 * a letter or digit at each end. */
static bool kube_name(const char *s, size_t len, size_t max, bool dots)
{
	if (!len || len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');

		if (!alnum && !(ch == '-' || (dots && ch == '.')))
			return false;
		if (!alnum && (i == 0 || i + 1 == len))
			return false;
	}
	return true;
}

bool cli__valid_pod(const char *v)
{
	const char *slash = strchr(v, '/');

	if (!slash || !kube_name(v, (size_t)(slash - v), 63, false))
		return false;
	return !slash[1] || kube_name(slash + 1, strlen(slash + 1), 253, true);
}

bool cli__valid_container(const char *v)
{
	size_t n = strlen(v), hex = strspn(v, "0123456789abcdef");

	return (hex == n && n >= 4 && n <= 64) || kube_name(v, n, 253, true);
}

int cli__parse_duration(const char *s, const char *opt, uint64_t *ns, char *err, size_t errlen)
{
	return parse_duration(s, opt, false, ns, err, errlen);
}

/* --- sizes --------------------------------------------------------------------------- */

int cli__parse_size(const char *s, const char *opt, uint64_t *bytes, char *err, size_t errlen)
{
	static const struct {
		const char *suffix;
		unsigned int shift;
	} suffixes[] = {
		{ "", 0 },   { "K", 10 },   { "k", 10 }, { "KiB", 10 }, { "M", 20 },
		{ "m", 20 }, { "MiB", 20 }, { "G", 30 }, { "g", 30 },	{ "GiB", 30 },
	};
	uint64_t v;
	size_t n;

	for (n = 0; is_digit(s[n]); n++)
		;
	if (!n)
		return fail(err, errlen,
			    "invalid size '%s' in %s: expected a number of bytes, e.g. 65536 or 8M",
			    s, opt);
	if (!parse_digits(s, n, &v))
		return fail(err, errlen, "invalid size '%s' in %s: too large", s, opt);
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		if (strcmp(s + n, suffixes[i].suffix))
			continue;
		if (v > UINT64_MAX >> suffixes[i].shift)
			return fail(err, errlen, "invalid size '%s' in %s: too large", s, opt);
		*bytes = v << suffixes[i].shift;
		return 0;
	}
	return fail(err, errlen, "invalid size '%s' in %s: unknown suffix '%s' (K, M or G)", s, opt,
		    s + n);
}

/* --- addresses ----------------------------------------------------------------------- */

static int one_cidr(const char *item, size_t n, const char *opt, struct td_cidr *c, char *err,
		    size_t errlen)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = memchr(item, '/', n);
	size_t na = slash ? (size_t)(slash - item) : n;
	unsigned int max;

	memset(c, 0, sizeof(*c));
	if (na >= sizeof(addr))
		return fail(err, errlen, "invalid CIDR '%.*s' in %s: bad address", (int)n, item,
			    opt);
	memcpy(addr, item, na);
	addr[na] = 0;
	if (inet_pton(AF_INET, addr, c->addr) == 1) {
		c->family = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, c->addr) == 1) {
		c->family = 6;
		max = 128;
	} else {
		return fail(err, errlen, "invalid CIDR '%.*s' in %s: bad address '%s'", (int)n,
			    item, opt, addr);
	}
	c->prefix = (uint8_t)max;
	if (slash) {
		size_t np = n - na - 1;
		uint64_t v;

		if (!parse_digits(slash + 1, np, &v) || v > max)
			return fail(err, errlen, "invalid CIDR '%.*s' in %s: prefix must be 0-%u",
				    (int)n, item, opt, max);
		c->prefix = (uint8_t)v;
	}
	/* Host bits are accepted (10.1.2.3/8 is how people write "the net of this
	 * host") and cleared, so that matching is a plain masked compare. */
	for (unsigned int i = 0; i < 16; i++) {
		int keep = (int)c->prefix - (int)i * 8;

		if (keep <= 0)
			c->addr[i] = 0;
		else if (keep < 8)
			c->addr[i] &= (uint8_t)(0xff << (8 - keep));
	}
	return 0;
}

struct cidrs_arg {
	const char *opt;
	struct td_cidrset set; /* the new prefixes, appended on success */
};

static int cidr_item(const char *item, size_t n, void *arg, char *err, size_t errlen)
{
	struct cidrs_arg *a = arg;

	if (a->set.n == TD_MAX_CIDRS)
		return fail(err, errlen, "too many prefixes in %s: at most %d", a->opt,
			    TD_MAX_CIDRS);
	return one_cidr(item, n, a->opt, &a->set.v[a->set.n++], err, errlen);
}

int cli__parse_cidrs(const char *s, const char *opt, struct td_cidrset *set, char *err,
		     size_t errlen)
{
	struct cidrs_arg a = { .opt = opt };

	if (each_item(s, opt, "CIDR", cidr_item, &a, err, errlen))
		return -1;
	if (set->n + a.set.n > TD_MAX_CIDRS)
		return fail(err, errlen, "too many prefixes in %s: at most %d", opt, TD_MAX_CIDRS);
	memcpy(&set->v[set->n], a.set.v, (size_t)a.set.n * sizeof(a.set.v[0]));
	set->n += a.set.n;
	return 0;
}

/* "ADDR:PORT", "[v6]:PORT" or ":PORT", numeric only: the same forms the exporter binds. */
static int check_listen(const char *s, char *err, size_t errlen)
{
	const char *colon = strrchr(s, ':');
	unsigned char buf[16];
	char host[INET6_ADDRSTRLEN + 3];
	size_t nh;
	uint64_t port;
	bool ok;

	if (!colon || !parse_digits(colon + 1, strlen(colon + 1), &port) || port < 1 ||
	    port > 65535 || (size_t)(colon - s) >= sizeof(host))
		goto bad;
	nh = (size_t)(colon - s);
	memcpy(host, s, nh);
	host[nh] = 0;
	if (nh >= 2 && host[0] == '[' && host[nh - 1] == ']') {
		host[nh - 1] = 0;
		ok = inet_pton(AF_INET6, host + 1, buf) == 1;
	} else {
		ok = !nh || inet_pton(AF_INET, host, buf) == 1;
	}
	if (ok)
		return 0;
bad:
	return fail(err, errlen,
		    "invalid address '%s' in --listen: expected ADDR:PORT with a numeric address "
		    "and port 1-65535 (127.0.0.1:9877, [::1]:9877, :9877)",
		    s);
}

/* --- states, pids, names --------------------------------------------------------------- */

static int state_of(const char *item, size_t n, const char *opt, int *st, char *err, size_t errlen)
{
	char name[32];

	*st = -1;
	if (n < sizeof(name)) {
		memcpy(name, item, n);
		name[n] = 0;
		*st = state__parse(name);
	}
	if (*st < 0)
		return fail(err, errlen, "unknown state '%.*s' in %s", (int)n, item, opt);
	return 0;
}

struct states_arg {
	const char *opt;
	uint16_t mask;
};

static int state_item(const char *item, size_t n, void *arg, char *err, size_t errlen)
{
	struct states_arg *a = arg;
	int st;

	if (state_of(item, n, a->opt, &st, err, errlen))
		return -1;
	a->mask |= (uint16_t)(1u << st);
	return 0;
}

int cli__parse_states(const char *s, const char *opt, uint16_t *mask, char *err, size_t errlen)
{
	struct states_arg a = { .opt = opt };

	if (each_item(s, opt, "state", state_item, &a, err, errlen))
		return -1;
	*mask |= a.mask;
	return 0;
}

struct pids_arg {
	const char *opt;
	int n;
	uint32_t v[TD_MAX_PIDS];
	const struct td_options *o;
};

static bool has_pid(const uint32_t *v, int n, uint32_t pid)
{
	for (int i = 0; i < n; i++)
		if (v[i] == pid)
			return true;
	return false;
}

static int pid_item(const char *item, size_t n, void *arg, char *err, size_t errlen)
{
	struct pids_arg *a = arg;
	uint64_t v;

	if (!parse_digits(item, n, &v) || v < 1 || v > PID_LIMIT)
		return fail(err, errlen, "invalid pid '%.*s' in %s: must be 1-%d", (int)n, item,
			    a->opt, PID_LIMIT);
	/* Repeats are harmless: keep one, so they do not eat into the limit. */
	if (has_pid(a->o->pids, a->o->npids, (uint32_t)v) || has_pid(a->v, a->n, (uint32_t)v))
		return 0;
	if (a->o->npids + a->n == TD_MAX_PIDS)
		return fail(err, errlen, "too many pids in %s: at most %d", a->opt, TD_MAX_PIDS);
	a->v[a->n++] = (uint32_t)v;
	return 0;
}

int cli__parse_pids(const char *s, const char *opt, struct td_options *o, char *err, size_t errlen)
{
	struct pids_arg a = { .opt = opt, .o = o };

	if (each_item(s, opt, "pid", pid_item, &a, err, errlen))
		return -1;
	memcpy(&o->pids[o->npids], a.v, (size_t)a.n * sizeof(a.v[0]));
	o->npids += a.n;
	return 0;
}

struct comms_arg {
	const char *opt;
	int n;
	char v[TD_MAX_COMMS][TD_COMM_LEN];
	const struct td_options *o;
};

static int comm_item(const char *item, size_t n, void *arg, char *err, size_t errlen)
{
	struct comms_arg *a = arg;

	/* The kernel keeps TASK_COMM_LEN - 1 characters; a longer name never matches. */
	if (n >= TD_COMM_LEN)
		return fail(err, errlen,
			    "invalid name '%.*s' in %s: longer than %d characters (the kernel's "
			    "limit for process names)",
			    (int)n, item, a->opt, TD_COMM_LEN - 1);
	if (a->o->ncomms + a->n == TD_MAX_COMMS)
		return fail(err, errlen, "too many names in %s: at most %d", a->opt, TD_MAX_COMMS);
	memcpy(a->v[a->n], item, n);
	a->v[a->n++][n] = 0;
	return 0;
}

int cli__parse_comms(const char *s, const char *opt, struct td_options *o, char *err, size_t errlen)
{
	struct comms_arg a = { .opt = opt, .o = o };

	if (each_item(s, opt, "name", comm_item, &a, err, errlen))
		return -1;
	memcpy(o->comms[o->ncomms], a.v, (size_t)a.n * sizeof(a.v[0]));
	o->ncomms += a.n;
	return 0;
}

struct stuck_arg {
	const char *opt;
	uint64_t limits[TD_STATE_MAX];
};

static int stuck_item(const char *item, size_t n, void *arg, char *err, size_t errlen)
{
	struct stuck_arg *a = arg;
	const char *eq = memchr(item, '=', n);
	char dur[64];
	size_t nd;
	int st;

	if (!eq || eq == item || eq == item + n - 1)
		return fail(err, errlen, "invalid value '%.*s' in %s: expected STATE=DURATION",
			    (int)n, item, a->opt);
	if (state_of(item, (size_t)(eq - item), a->opt, &st, err, errlen))
		return -1;
	/* The table finishes a connection when it reaches CLOSE: no dwell there ends. */
	if (st == TD_CLOSE)
		return fail(
			err, errlen,
			"invalid state '%.*s' in %s: a traced connection does not stay in CLOSE",
			(int)(eq - item), item, a->opt);
	nd = n - (size_t)(eq - item) - 1;
	if (nd >= sizeof(dur))
		return fail(err, errlen, "invalid duration '%.*s' in %s: too long", (int)nd, eq + 1,
			    a->opt);
	memcpy(dur, eq + 1, nd);
	dur[nd] = 0;
	return cli__parse_duration(dur, a->opt, &a->limits[st], err, errlen);
}

int cli__parse_stuck(const char *s, const char *opt, uint64_t *limits, char *err, size_t errlen)
{
	struct stuck_arg a = { .opt = opt };

	if (each_item(s, opt, "value", stuck_item, &a, err, errlen))
		return -1;
	for (int st = 0; st < TD_STATE_MAX; st++)
		if (a.limits[st])
			limits[st] = a.limits[st];
	return 0;
}

/* --- the command line ---------------------------------------------------------------- */

static const char *const command_names[] = {
	[TD_CMD_TRACE] = "trace",   [TD_CMD_TIMELINE] = "timeline", [TD_CMD_STAT] = "stat",
	[TD_CMD_TOP] = "top",	    [TD_CMD_CHECK] = "check",	    [TD_CMD_RECORD] = "record",
	[TD_CMD_DOCTOR] = "doctor", [TD_CMD_SERVE] = "serve",
};

const char *cli__command_name(enum td_command cmd)
{
	if ((unsigned int)cmd >= ARRAY_SIZE(command_names))
		return "unknown";
	return command_names[cmd];
}

/* Options without a short letter. */
enum {
	OPT_LADDR = 256,
	OPT_RADDR,
	OPT_INTERVAL,
	OPT_BY,
	OPT_HIST,
	OPT_MAX_CONNS,
	OPT_STUCK,
	OPT_LATENCY,
	OPT_RINGBUF,
	OPT_BACKEND,
	OPT_BUFFER,
	OPT_LISTEN,
	OPT_FORMAT,
	OPT_PAIR,
	OPT_THRESHOLD,
	OPT_NO_SEED,
	OPT_NO_TIMEWAIT,
	OPT_FORCE,
	OPT_USER,
	OPT_RECONCILE,
	OPT_ACCEPT,
	OPT_WIDE,
	OPT_POD,
	OPT_CONTAINER,
	OPT_PODS_DIR,
	OPT_LAST = OPT_PODS_DIR
};

#define CMD(x)	 (1u << TD_CMD_##x)
#define ALL_CMDS 0xffu
/* Everything but check, which only probes the kernel. */
#define TRACING (ALL_CMDS & ~CMD(CHECK))
/* The commands that show transitions, timelines or dwell numbers. */
#define VIEWS (CMD(TRACE) | CMD(TIMELINE) | CMD(STAT) | CMD(TOP) | CMD(SERVE))

/*
 * Every option once: its names, what it takes (for "missing value" messages) and the
 * commands it applies to. An option a command would silently ignore is refused, so a
 * user never believes a filter or setting is in force when it is not.
 */
static const struct opt_spec {
	const char *name;  /* long name; NULL for -4 and -6 */
	int val;	   /* short letter, or OPT_* */
	const char *arg;   /* NULL: takes no value */
	unsigned int cmds; /* CMD() mask */
} opt_specs[] = {
	{ NULL, '4', NULL, TRACING },
	{ NULL, '6', NULL, TRACING },
	{ "lport", 'L', "PORTS", TRACING },
	{ "rport", 'R', "PORTS", TRACING },
	{ "laddr", OPT_LADDR, "CIDR", TRACING },
	{ "raddr", OPT_RADDR, "CIDR", TRACING },
	{ "pid", 'p', "PIDS", TRACING },
	{ "comm", 'c', "NAMES", TRACING },
	{ "netns", 'N', "INODE", TRACING },
	{ "cgroup", 'C', "PATH", TRACING },
	{ "pod", OPT_POD, "NAMESPACE/NAME", TRACING & ~CMD(RECORD) },
	{ "container", OPT_CONTAINER, "NAME|ID", TRACING & ~CMD(RECORD) },
	{ "pods-dir", OPT_PODS_DIR, "DIR", TRACING },
	{ "state", 's', "STATES", VIEWS },
	/* stat, top and serve count every dwell: a floor would bias them. */
	{ "min", 'm', "DURATION", CMD(TRACE) | CMD(TIMELINE) },
	{ "duration", 'd', "DURATION", TRACING },
	{ "json", 'j', NULL, CMD(TRACE) | CMD(TIMELINE) | CMD(STAT) | CMD(DOCTOR) },
	{ "verbose", 'v', NULL, ALL_CMDS },
	{ "help", 'h', NULL, ALL_CMDS },
	{ "version", 'V', NULL, ALL_CMDS },
	{ "interval", OPT_INTERVAL, "DURATION", CMD(STAT) | CMD(TOP) | CMD(SERVE) },
	{ "by", OPT_BY, "KEY", CMD(STAT) | CMD(SERVE) },
	{ "hist", OPT_HIST, NULL, CMD(STAT) },
	{ "max-conns", OPT_MAX_CONNS, "N", TRACING & ~CMD(RECORD) },
	{ "stuck", OPT_STUCK, "STATE=DURATION",
	  CMD(TRACE) | CMD(TIMELINE) | CMD(TOP) | CMD(SERVE) },
	{ "latency", OPT_LATENCY, "DURATION", TRACING },
	{ "ringbuf-size", OPT_RINGBUF, "BYTES", ALL_CMDS },
	{ "backend", OPT_BACKEND, "NAME", ALL_CMDS },
	{ "buffer", OPT_BUFFER, "NAME", ALL_CMDS },
	{ "input", 'i', "FILE", CMD(TRACE) | CMD(TIMELINE) | CMD(STAT) | CMD(TOP) | CMD(DOCTOR) },
	{ "output", 'o', "FILE", CMD(RECORD) | CMD(TIMELINE) },
	{ "format", OPT_FORMAT, "FORMAT", CMD(TRACE) | CMD(TIMELINE) | CMD(STAT) | CMD(DOCTOR) },
	{ "pair", OPT_PAIR, NULL, CMD(TIMELINE) },
	{ "write", 'w', "FILE", VIEWS | CMD(DOCTOR) },
	{ "force", OPT_FORCE, NULL, CMD(RECORD) | VIEWS | CMD(DOCTOR) },
	{ "listen", OPT_LISTEN, "ADDR:PORT", CMD(SERVE) },
	{ "no-seed", OPT_NO_SEED, NULL, TRACING },
	{ "no-timewait", OPT_NO_TIMEWAIT, NULL, TRACING },
	{ "user", OPT_USER, "NAME|UID:GID", TRACING },
	{ "reconcile", OPT_RECONCILE, "DURATION", TRACING & ~CMD(RECORD) },
	{ "threshold", OPT_THRESHOLD, "NAME=VALUE", CMD(DOCTOR) },
	/* The other views trace accepts whenever the kernel can (owners need them). */
	{ "accept", OPT_ACCEPT, NULL, CMD(STAT) | CMD(SERVE) },
	{ "wide", OPT_WIDE, NULL, CMD(TRACE) | CMD(TIMELINE) },
};

/* '+': stop at the first non-option instead of permuting argv (which is the caller's);
 * ':': report a missing value as ':' rather than '?'. */
static const char short_opts[] = "+:46L:R:p:c:s:m:N:C:d:jvhVi:o:w:";

static const struct opt_spec *spec_of(int val)
{
	for (size_t i = 0; i < ARRAY_SIZE(opt_specs); i++)
		if (opt_specs[i].val == val)
			return &opt_specs[i];
	return NULL;
}

/* "--lport", or "-4" for the options that have no long name. */
static const char *spec_name(const struct opt_spec *sp, char *buf, size_t len)
{
	if (sp->name)
		snprintf(buf, len, "--%s", sp->name);
	else
		snprintf(buf, len, "-%c", sp->val);
	return buf;
}

/* "stat, top and serve": the commands that take an option, for the error message. */
static const char *cmd_list(unsigned int cmds, char *buf, size_t len)
{
	int total = __builtin_popcount(cmds), k = 0;
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(command_names); i++) {
		const char *sep = ", ";

		if (!(cmds & (1u << i)))
			continue;
		if (++k == 1)
			sep = "";
		else if (k == total)
			sep = " and ";
		off += (size_t)snprintf(buf + off, len - off, "%s%s", sep, command_names[i]);
		if (off >= len)
			break;
	}
	return buf;
}

/* "5", "5%", "0.5", "12.25%": percent to parts per million, 0.01% to 100%. */
static int parse_percent(const char *s, const char *name, uint32_t *ppm, char *err, size_t errlen)
{
	uint64_t whole = 0, frac = 0;
	int nd = 0, nf = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9' && nd < 4; p++, nd++)
		whole = whole * 10 + (uint64_t)(*p - '0');
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9' && nf < 4; p++, nf++)
			frac = frac * 10 + (uint64_t)(*p - '0');
	for (int i = nf; i < 4; i++)
		frac *= 10;
	if (*p == '%')
		p++;
	if (!nd || *p || (s[nd] == '.' && !nf)) {
		snprintf(err, errlen,
			 "invalid percentage '%s' for %s in --threshold: expected e.g. 5, 0.5 or "
			 "25%%",
			 s, name);
		return -1;
	}
	uint64_t v = whole * 10000 + frac; /* 1% is 10000 ppm: frac is in 1/10000 % */

	if (v < 100 || v > 1000000) {
		snprintf(err, errlen,
			 "invalid percentage '%s' for %s in --threshold: must be 0.01-100", s,
			 name);
		return -1;
	}
	*ppm = (uint32_t)v;
	return 0;
}

int cli__parse_thresholds(const char *s, struct doctor_config *out, char *err, size_t errlen)
{
	struct doctor_config c = *out;
	const char *p = s;
	char item[128];

	if (!*s) {
		snprintf(err, errlen, "invalid value '' in --threshold: empty");
		return -1;
	}
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char *eq, *v, opt[160];
		uint64_t u;
		int r = 0;

		if (!n || n >= sizeof(item)) {
			snprintf(err, errlen, "invalid value '%s' in --threshold: %s item", s,
				 n ? "too long an" : "empty");
			return -1;
		}
		memcpy(item, p, n);
		item[n] = 0;
		eq = strchr(item, '=');
		if (!eq || eq == item || !eq[1]) {
			snprintf(err, errlen,
				 "invalid value '%s' in --threshold: expected NAME=VALUE", item);
			return -1;
		}
		*eq = 0;
		v = eq + 1;
		snprintf(opt, sizeof(opt), "--threshold %s", item);
		if (!strcmp(item, "syn-sent")) {
			r = cli__parse_duration(v, opt, &c.syn_sent_ns, err, errlen);
		} else if (!strcmp(item, "close-wait")) {
			r = cli__parse_duration(v, opt, &c.close_wait_ns, err, errlen);
		} else if (!strcmp(item, "accept-wait")) {
			r = cli__parse_duration(v, opt, &c.accept_wait_ns, err, errlen);
		} else if (!strcmp(item, "syn-rate")) {
			r = cli__parse_uint(v, opt, 1, 10000000, &u, err, errlen);
			c.syn_rate = (uint32_t)u;
		} else if (!strcmp(item, "tw-share")) {
			r = parse_percent(v, item, &c.tw_share_ppm, err, errlen);
		} else if (!strcmp(item, "rst-share")) {
			r = parse_percent(v, item, &c.rst_share_ppm, err, errlen);
		} else if (!strcmp(item, "min-conns")) {
			r = cli__parse_uint(v, opt, 1, 1000000000, &u, err, errlen);
			c.min_conns = (uint32_t)u;
		} else if (!strcmp(item, "max-groups")) {
			r = cli__parse_uint(v, opt, 1, 1000000, &u, err, errlen);
			c.max_groups = (uint32_t)u;
		} else {
			snprintf(
			    err, errlen,
			    "unknown threshold '%s' in --threshold: must be syn-sent, "
			    "close-wait, accept-wait, syn-rate, tw-share, rst-share, min-conns or "
			    "max-groups",
			    item);
			return -1;
		}
		if (r)
			return -1;
		if (!comma)
			break;
		p = comma + 1;
	}
	*out = c;
	return 0;
}

/*
 * getopt_long() said '?' with optopt 0: the word is no option, or a prefix of several
 * (glibc accepts unambiguous prefixes such as --max for --max-conns).
 */
static int unknown_long(const char *word, char *err, size_t errlen)
{
	char matches[256] = "";
	size_t n = strcspn(word + 2, "="), off = 0;
	int count = 0;

	for (size_t i = 0; i < ARRAY_SIZE(opt_specs); i++) {
		const char *name = opt_specs[i].name;

		if (!name || strncmp(name, word + 2, n))
			continue;
		count++;
		off += (size_t)snprintf(matches + off, sizeof(matches) - off, "%s--%s",
					off ? ", " : "", name);
		if (off >= sizeof(matches))
			break;
	}
	if (count > 1)
		return fail(err, errlen, "ambiguous option '%.*s': could be %s", (int)n + 2, word,
			    matches);
	return fail(err, errlen, "unknown option '%.*s'", (int)n + 2, word);
}

static void set_defaults(struct td_options *o)
{
	memset(o, 0, sizeof(*o));
	o->cmd = TD_CMD_TRACE;
	o->max_conns = DEFAULT_MAX_CONNS;
	o->latency_ns = DEFAULT_LATENCY_NS;
	o->reconcile_ns = DEFAULT_RECONCILE_NS;
	o->ringbuf_bytes = DEFAULT_RINGBUF_BYTES;
	o->owners = true;
}

/*
 * Does the command need the owners of accepted sockets (the accept() tracepoints)?
 * stat and serve show no owner unless they group or filter by one, and a recording
 * keeps everything. Leaving the syscall tracepoints off matters beyond the
 * records: while any is on, every syscall of every process on the host takes the
 * kernel's slower tracing path.
 */
static bool needs_owners(const struct td_options *o)
{
	if (o->cmd != TD_CMD_STAT && o->cmd != TD_CMD_SERVE)
		return true;
	return o->by == TD_BY_COMM || o->npids || o->ncomms || o->write || o->accept;
}

/*
 * Does the command show what the handshake and the connection carried (RTT, retransmits,
 * bytes)? They cost a read of the socket as a handshake ends and one more record per
 * connection as it closes: stat and serve pay that only when they group (--by: the sums per
 * group), top not at all; a recording keeps everything.
 */
static bool needs_conn_info(const struct td_options *o)
{
	if (o->write)
		return true;
	if (o->cmd == TD_CMD_STAT || o->cmd == TD_CMD_SERVE)
		return o->by != TD_BY_NONE;
	return o->cmd != TD_CMD_TOP;
}

/* Apply one option with its value (NULL for flags). Returns 0 or -1 with err set. */
static int apply(struct td_options *o, int c, const char *v, char *err, size_t errlen)
{
	uint64_t n;

	switch (c) {
	case '4':
	case '6':
		if (o->family && o->family != c - '0')
			return fail(err, errlen, "options -4 and -6 conflict: give one of them");
		o->family = c - '0';
		return 0;
	case 'L':
		return cli__parse_ports(v, "--lport", &o->lports, err, errlen);
	case 'R':
		return cli__parse_ports(v, "--rport", &o->rports, err, errlen);
	case OPT_LADDR:
		return cli__parse_cidrs(v, "--laddr", &o->laddrs, err, errlen);
	case OPT_RADDR:
		return cli__parse_cidrs(v, "--raddr", &o->raddrs, err, errlen);
	case 'p':
		return cli__parse_pids(v, "--pid", o, err, errlen);
	case 'c':
		return cli__parse_comms(v, "--comm", o, err, errlen);
	case 's':
		return cli__parse_states(v, "--state", &o->states, err, errlen);
	case 'm':
		return cli__parse_duration(v, "--min", &o->min_ns, err, errlen);
	case 'N':
		if (cli__parse_uint(v, "--netns", 1, UINT32_MAX, &n, NULL, 0))
			return fail(err, errlen,
				    "invalid inode '%s' in --netns: must be 1-%u (ls -Li "
				    "/proc/PID/ns/net shows it)",
				    v, UINT32_MAX);
		o->netns = (uint32_t)n;
		return 0;
	case 'C':
		/* Only stored: whether it is a cgroup v2 directory is the tracer's check. */
		if (!*v)
			return fail(err, errlen, "invalid path '' in --cgroup: empty");
		o->cgroup_path = v;
		return 0;
	case 'd':
		return cli__parse_duration(v, "--duration", &o->duration_ns, err, errlen);
	case 'j':
		o->json = true;
		return 0;
	case 'v':
		o->verbose++;
		return 0;
	case OPT_INTERVAL:
		/* A period, added to clock times: beyond a day it is a typo, not a plan. */
		if (cli__parse_duration(v, "--interval", &n, err, errlen))
			return -1;
		if (n > MAX_INTERVAL_NS)
			return fail(err, errlen,
				    "invalid duration '%s' in --interval: must be at most 24h", v);
		o->interval_ns = n;
		return 0;
	case OPT_BY:
		if (!strcmp(v, "lport"))
			o->by = TD_BY_LPORT;
		else if (!strcmp(v, "rport"))
			o->by = TD_BY_RPORT;
		else if (!strcmp(v, "raddr"))
			o->by = TD_BY_RADDR;
		else if (!strcmp(v, "comm"))
			o->by = TD_BY_COMM;
		else if (!strcmp(v, "pod"))
			o->by = TD_BY_POD;
		else if (!strcmp(v, "container"))
			o->by = TD_BY_CONTAINER;
		else
			return fail(err, errlen,
				    "invalid key '%s' in --by: must be lport, rport, raddr, comm, "
				    "pod or container",
				    v);
		/* The exporter keeps label cardinality low and bounded: listening ports, pods
		 * or containers, each with a cap (metrics.h). */
		if (o->cmd == TD_CMD_SERVE && o->by != TD_BY_LPORT && o->by != TD_BY_POD &&
		    o->by != TD_BY_CONTAINER)
			return fail(err, errlen,
				    "invalid key '%s' in --by: serve supports lport, pod or "
				    "container",
				    v);
		return 0;
	case OPT_POD:
		if (!cli__valid_pod(v))
			return fail(err, errlen,
				    "invalid pod '%s' in --pod: must be NAMESPACE/NAME or "
				    "NAMESPACE/ (Kubernetes names: lowercase letters, digits, '-', "
				    "'.')",
				    v);
		o->pod = v;
		return 0;
	case OPT_CONTAINER:
		if (!cli__valid_container(v))
			return fail(err, errlen,
				    "invalid container '%s' in --container: must be a container "
				    "name or the first 4 to 64 hex digits of its id",
				    v);
		o->container = v;
		return 0;
	case OPT_PODS_DIR:
		if (!*v)
			return fail(err, errlen, "invalid directory '' in --pods-dir: empty");
		o->pods_dir = v;
		return 0;
	case OPT_HIST:
		o->hist = true;
		return 0;
	case OPT_ACCEPT:
		o->accept = true;
		return 0;
	case OPT_WIDE:
		o->wide = true;
		return 0;
	case OPT_MAX_CONNS:
		if (cli__parse_uint(v, "--max-conns", 16, 100000000, &n, err, errlen))
			return -1;
		o->max_conns = (uint32_t)n;
		return 0;
	case OPT_STUCK:
		return cli__parse_stuck(v, "--stuck", o->stuck_ns, err, errlen);
	case OPT_LATENCY:
		/* 0 is meaningful: wake user space on every record. Otherwise the main loop
		 * polls with a millisecond timeout, so less than 1 ms cannot be honoured. */
		if (parse_duration(v, "--latency", true, &n, err, errlen))
			return -1;
		if (n && (n < NSEC_PER_MSEC || n > 10 * NSEC_PER_SEC))
			return fail(err, errlen,
				    "invalid duration '%s' in --latency: must be 0 or 1ms-10s", v);
		o->latency_ns = n;
		return 0;
	case OPT_RINGBUF:
		if (cli__parse_size(v, "--ringbuf-size", &n, err, errlen))
			return -1;
		/* BPF_MAP_TYPE_RINGBUF wants a power of two and a page multiple. */
		if (n < MIN_RINGBUF_BYTES || n > MAX_RINGBUF_BYTES || (n & (n - 1)))
			return fail(err, errlen,
				    "invalid size '%s' in --ringbuf-size: must be a power of two "
				    "from 4K to 1G",
				    v);
		o->ringbuf_bytes = (uint32_t)n;
		o->ringbuf_given = true;
		return 0;
	case OPT_BACKEND:
		if (!strcmp(v, "tp_btf"))
			o->backend = TD_BACKEND_TP_BTF;
		else if (!strcmp(v, "tracepoint"))
			o->backend = TD_BACKEND_TRACEPOINT;
		else
			return fail(
				err, errlen,
				"invalid backend '%s' in --backend: must be tp_btf or tracepoint",
				v);
		return 0;
	case OPT_BUFFER:
		if (!strcmp(v, "slots"))
			o->buffer = TD_BUFFER_SLOTS;
		else if (!strcmp(v, "ring"))
			o->buffer = TD_BUFFER_RING;
		else if (!strcmp(v, "perf"))
			o->buffer = TD_BUFFER_PERF;
		else
			return fail(err, errlen,
				    "invalid buffer '%s' in --buffer: must be slots, ring or perf", v);
		return 0;
	case 'i':
		if (!*v)
			return fail(err, errlen, "invalid file '' in --input: empty");
		o->input = v;
		return 0;
	case 'o':
		if (!*v)
			return fail(err, errlen, "invalid file '' in --output: empty");
		o->output = v;
		return 0;
	case 'w':
		if (!*v)
			return fail(err, errlen, "invalid file '' in --write: empty");
		o->write = v;
		return 0;
	case OPT_LISTEN:
		if (check_listen(v, err, errlen))
			return -1;
		o->listen = v;
		return 0;
	case OPT_FORMAT:
		if (!strcmp(v, "text")) {
			o->json = false;
			o->perfetto = false;
		} else if (!strcmp(v, "json")) {
			o->json = true;
			o->perfetto = false;
		} else if (!strcmp(v, "perfetto") && o->cmd == TD_CMD_TIMELINE) {
			o->json = false;
			o->perfetto = true;
		} else {
			return fail(err, errlen, "invalid format '%s' in --format: must be text, json%s",
				    v, o->cmd == TD_CMD_TIMELINE ? " or perfetto" : "");
		}
		return 0;
	case OPT_PAIR:
		o->pair = true;
		return 0;
	case OPT_THRESHOLD:
		return cli__parse_thresholds(v, &o->doctor, err, errlen) ? one_line(err) : 0;
	case OPT_NO_SEED:
		o->no_seed = true;
		return 0;
	case OPT_NO_TIMEWAIT:
		o->no_timewait = true;
		return 0;
	case OPT_FORCE:
		o->force = true;
		return 0;
	case OPT_USER:
		return cli__parse_user(v, o, err, errlen);
	case OPT_RECONCILE:
		if (parse_duration(v, "--reconcile", true, &n, err, errlen))
			return -1;
		if (n && (n < NSEC_PER_SEC || n > 24 * 3600 * NSEC_PER_SEC))
			return fail(err, errlen,
				    "invalid duration '%s' in --reconcile: must be 0 or 1s-24h", v);
		o->reconcile_ns = n;
		return 0;
	}
	return fail(err, errlen, "internal error: option %d not handled", c);
}

/* What cli__parse() remembers about the options seen, for check_combination(). */
struct seen {
	bool opt[OPT_LAST + 1];
	const char *v6_cidr[2]; /* an --laddr, --raddr value with an IPv6 prefix */
};

/* Combinations that each option alone cannot judge. */
static int check_combination(const struct td_options *o, const struct seen *seen, char *err,
			     size_t errlen)
{
	/* With -i nothing is loaded into the kernel: these would be ignored. */
	static const int live_only[] = { OPT_BACKEND, OPT_BUFFER,  OPT_RINGBUF, OPT_LATENCY,
					 OPT_NO_SEED, OPT_NO_TIMEWAIT, OPT_RECONCILE, 'C', 'w' };
	char name[32];

	if (o->input) {
		for (size_t i = 0; i < ARRAY_SIZE(live_only); i++)
			if (seen->opt[live_only[i]])
				return fail(err, errlen,
					    "option %s does not apply to a recording (-i '%s')",
					    spec_name(spec_of(live_only[i]), name, sizeof(name)),
					    o->input);
	}
	/* An IPv6 prefix can never match an IPv4 connection (the reverse can: an IPv4
	 * prefix matches the IPv4-mapped addresses of a dual-stack socket). */
	for (int k = 0; k < 2; k++)
		if (o->family == 4 && seen->v6_cidr[k])
			return fail(err, errlen,
				    "invalid CIDR '%s' in %s: an IPv6 prefix conflicts with -4",
				    seen->v6_cidr[k], k ? "--raddr" : "--laddr");
	if (o->cmd == TD_CMD_RECORD && !o->output)
		return fail(err, errlen, "command 'record' needs -o FILE");
	if (o->pair && o->perfetto)
		return fail(err, errlen, "option --pair does not apply to --format perfetto");
	/* Only -o and -w name files tcpdwell creates. */
	if (o->force && !o->write && !(o->output && strcmp(o->output, "-")))
		return fail(err, errlen, "option --force needs -o FILE or -w FILE");
	/* Two streams into one file would interleave: neither would be readable. */
	if (o->output && o->write && !strcmp(o->output, o->write))
		return fail(err, errlen, "options -o and -w name the same file '%s'", o->write);
	return 0;
}

/* Note an --laddr/--raddr value that added an IPv6 prefix (from index `from` on). */
static void note_v6(struct seen *seen, int k, const struct td_cidrset *set, int from, const char *v)
{
	for (int i = from; i < set->n; i++)
		if (set->v[i].family == 6 && !seen->v6_cidr[k])
			seen->v6_cidr[k] = v;
}

int cli__parse(int argc, char **argv, struct td_options *o, char *err, size_t errlen)
{
	struct option lopts[ARRAY_SIZE(opt_specs) + 1];
	struct seen seen = { 0 };
	int first = 1, nlo = 0, nargs, c;
	char **args;

	set_defaults(o);
	if (err && errlen)
		err[0] = 0;
	if (argc > 1 && argv[1][0] != '-') {
		size_t i;

		for (i = 0; i < ARRAY_SIZE(command_names); i++)
			if (!strcmp(argv[1], command_names[i]))
				break;
		if (i == ARRAY_SIZE(command_names)) {
			fail(err, errlen,
			     "unknown command '%s': must be trace, timeline, stat, top, check, "
			     "record, doctor or serve",
			     argv[1]);
			return TD_EXIT_USAGE;
		}
		o->cmd = (enum td_command)i;
		first = 2;
	}
	if (argc < first)
		return TD_EXIT_OK;

	for (size_t i = 0; i < ARRAY_SIZE(opt_specs); i++) {
		if (!opt_specs[i].name)
			continue;
		lopts[nlo++] = (struct option){ opt_specs[i].name,
						opt_specs[i].arg ? required_argument : no_argument,
						NULL, opt_specs[i].val };
	}
	lopts[nlo] = (struct option){ 0 };

	/* getopt sees the command word (if any) as its argv[0]. */
	args = argv + first - 1;
	nargs = argc - first + 1;
	optind = 0; /* glibc: full re-initialisation, so that parsing can run again */
	opterr = 0; /* no messages of its own on stderr: ours go to err */
	while ((c = getopt_long(nargs, args, short_opts, lopts, NULL)) != -1) {
		const struct opt_spec *sp;
		char name[32], cmds[128];
		int nl = o->laddrs.n, nr = o->raddrs.n;

		if (c == '?') {
			sp = optopt ? spec_of(optopt) : NULL;
			if (sp) /* a known long option given "=value" though it takes none */
				fail(err, errlen, "option %s takes no value ('%s')",
				     spec_name(sp, name, sizeof(name)), args[optind - 1]);
			else if (optopt)
				fail(err, errlen, "unknown option '-%c'", optopt);
			else
				unknown_long(args[optind - 1], err, errlen);
			return TD_EXIT_USAGE;
		}
		sp = spec_of(c == ':' ? optopt : c);
		if (!sp) {
			fail(err, errlen, "internal error: getopt returned %d", c);
			return TD_EXIT_USAGE;
		}
		if (c == ':') {
			fail(err, errlen, "option %s needs a value: %s %s",
			     spec_name(sp, name, sizeof(name)), name, sp->arg);
			return TD_EXIT_USAGE;
		}
		if (c == 'h')
			return CLI_HELP;
		if (c == 'V')
			return CLI_VERSION;
		if (!(sp->cmds & (1u << o->cmd))) {
			fail(err, errlen, "option %s does not apply to '%s' (only to %s)",
			     spec_name(sp, name, sizeof(name)), command_names[o->cmd],
			     cmd_list(sp->cmds, cmds, sizeof(cmds)));
			return TD_EXIT_USAGE;
		}
		if (apply(o, c, optarg, err, errlen))
			return TD_EXIT_USAGE;
		seen.opt[c] = true;
		note_v6(&seen, 0, &o->laddrs, nl, optarg);
		note_v6(&seen, 1, &o->raddrs, nr, optarg);
	}
	if (optind < nargs) {
		const char *extra = args[optind];
		size_t i;

		for (i = 0; i < ARRAY_SIZE(command_names); i++)
			if (!strcmp(extra, command_names[i]))
				break;
		if (i < ARRAY_SIZE(command_names))
			fail(err, errlen, "unexpected argument '%s': the command comes first",
			     extra);
		else
			fail(err, errlen, "unexpected argument '%s'", extra);
		return TD_EXIT_USAGE;
	}
	if (check_combination(o, &seen, err, errlen))
		return TD_EXIT_USAGE;
	o->owners = needs_owners(o);
	o->conn_info = needs_conn_info(o);
	return TD_EXIT_OK;
}

/* --- help ---------------------------------------------------------------------------- */

const char *cli__usage(void)
{
	return "Usage: tcpdwell [COMMAND] [OPTIONS]\n"
	       "\n"
	       "Watch every TCP state transition on this host, rebuild each connection's life\n"
	       "from them, and measure how long connections dwell in each state.\n"
	       "\n"
	       "Commands:\n"
	       "  trace       one line per transition, with the dwell in the state it left\n"
	       "              (the default)\n"
	       "  timeline    one line per finished connection: owner, endpoints, role and\n"
	       "              every state with its dwell\n"
	       "  stat        dwell per state: count, min, mean, p50, p90, p99, max\n"
	       "  top         live view: sockets per state and the longest current dwells\n"
	       "  check       what this kernel supports and which path tcpdwell would use\n"
	       "  record      write the kernel's records to a file (-o FILE) for replay\n"
	       "  doctor      look for known symptoms (connects stuck in SYN_SENT, CLOSE_WAIT\n"
	       "              leaks, TIME_WAIT load) and name them\n"
	       "  serve       Prometheus metrics over HTTP (see --listen)\n"
	       "\n"
	       "Connection filters (they select whole connections; every command but check):\n"
	       "  -4, -6                   IPv4 only, or IPv6 only (not both)\n"
	       "  -L, --lport PORTS        local ports: 80,443,8000-8100 (0-65535)\n"
	       "  -R, --rport PORTS        remote ports, as --lport\n"
	       "      --laddr CIDR[,...]   local address in one of the prefixes: 10.0.0.0/8,\n"
	       "                           ::1/128; an IPv4 prefix also matches ::ffff:a.b.c.d\n"
	       "      --raddr CIDR[,...]   remote address in one of the prefixes\n"
	       "  -p, --pid PIDS           owning process ids (comma list)\n"
	       "  -c, --comm NAMES         owning process names (comma list, 15 chars each)\n"
	       "  -N, --netns INODE        network namespace inode (ls -Li /proc/PID/ns/net)\n"
	       "  -C, --cgroup PATH        cgroup v2 directory, with its subtree\n"
	       "      --pod NS/NAME        Kubernetes pod (NS/: every pod of the namespace),\n"
	       "                           from the socket's cgroup and the kubelet's logs\n"
	       "      --container NAME|ID  container: its name, or its id's first 4-64 digits\n"
	       "      --pods-dir DIR       where the kubelet keeps pod logs, which name pods and\n"
	       "                           containers (default /var/log/pods; the containers'\n"
	       "                           are read from DIR/../containers)\n"
	       "  Filters given again add to the list; different filters must all match.\n"
	       "\n"
	       "What is shown (trace, timeline, stat, top, serve):\n"
	       "  -s, --state STATES       comma list; trace: transitions into or out of them;\n"
	       "                           timeline: connections that spent --min in one;\n"
	       "                           stat, serve: the dwell of those; serve: also\n"
	       "                           transitions into or out of them, sockets in them.\n"
	       "                           Kernel names (TIME_WAIT), ss names (time-wait, estab)\n"
	       "                           or textbook ones (FIN_WAIT_1, SYN_RECEIVED, CLOSED)\n"
	       "  -m, --min DURATION       trace: transitions that end a dwell of at least\n"
	       "                           DURATION; timeline: see --state (default: any)\n"
	       "      --stuck STATE=DURATION[,...]\n"
	       "                           report each connection still in STATE after\n"
	       "                           DURATION, once (trace, timeline, top, serve)\n"
	       "\n"
	       "Output:\n"
	       "  -j, --json               JSON Lines, one object a line (trace, timeline, stat,\n"
	       "                           doctor; default: text)\n"
	       "      --format FORMAT      text, json (as -j) or, for timeline, perfetto: trace\n"
	       "                           events for ui.perfetto.dev, one track a connection\n"
	       "      --wide               trace, timeline: add each connection's pod and\n"
	       "                           container (or cgroup); timeline: also the handshake's\n"
	       "                           RTT and what it carried (bytes, segments, retrans.)\n"
	       "      --pair               timeline: both ends of a connection on this host side\n"
	       "                           by side in time order (client, server columns)\n"
	       "      --interval DURATION  stat: print the table every DURATION (default: only\n"
	       "                           at exit); top, serve: refresh period (default 1s)\n"
	       "      --by KEY             stat: rows per state and lport, rport, raddr, comm,\n"
	       "                           pod or container; serve: lport (listening ports), pod\n"
	       "                           or container (namespace, pod and container labels, at\n"
	       "                           most 128 sets, the rest as \"_other_\") (default: none)\n"
	       "      --hist               stat: add a log2 histogram per state\n"
	       "      --accept             stat, serve: also measure the accept-queue wait\n"
	       "                           (traces accept(): every syscall of every process\n"
	       "                           then takes the kernel's slower path)\n"
	       "      --listen ADDR:PORT   serve: where to listen (default 127.0.0.1:9877;\n"
	       "                           [::1]:PORT for IPv6, :PORT for every address)\n"
	       "  -o, --output FILE        record: the file to write (required; - for stdout);\n"
	       "                           timeline: write the output there instead of stdout\n"
	       "  -w, --write FILE         also keep the records in a recording, as record -o\n"
	       "                           does, while the view runs (replay it with -i)\n"
	       "      --force              -o, -w: replace an existing regular file (never a\n"
	       "                           link or device); files are made new, mode 0600\n"
	       "\n"
	       "Doctor (findings with severity, evidence and what to check; docs/DOCTOR.md):\n"
	       "      --threshold NAME=VALUE[,...]\n"
	       "                           when a symptom is a finding (default):\n"
	       "                           syn-sent=DURATION    slow or stuck connect (1s)\n"
	       "                           close-wait=DURATION  CLOSE_WAIT held: a leak (10s)\n"
	       "                           accept-wait=DURATION in the accept queue: accepted\n"
	       "                                                too late (100ms)\n"
	       "                           syn-rate=N           passive opens/s on a port (1000)\n"
	       "                           tw-share=PERCENT     TIME_WAIT to one endpoint, of\n"
	       "                                                the ephemeral ports; or all of\n"
	       "                                                it, of tcp_max_tw_buckets (25%)\n"
	       "                           rst-share=PERCENT    connections ended by RST (5%)\n"
	       "                           min-conns=N          fewer ended: no RST share (20)\n"
	       "                           max-groups=N         groups kept per finding (1024)\n"
	       "\n"
	       "Input and resources:\n"
	       "  -d, --duration DURATION  stop after DURATION (default: until Ctrl-C)\n"
	       "  -i, --input FILE         replay a recording instead of tracing live (trace,\n"
	       "                           timeline, stat, top, doctor); then the options\n"
	       "                           about the kernel (-C, --latency, --ringbuf-size,\n"
	       "                           --backend, --buffer, --no-seed, --no-timewait,\n"
	       "                           --reconcile) do not apply\n"
	       "      --max-conns N        connections tracked at once, 16-100000000; one\n"
	       "                           idle longest (to within N/8) is evicted and counted\n"
	       "                           (default 262144)\n"
	       "      --latency DURATION   longest a record waits in the kernel buffer, 1ms-10s,\n"
	       "                           or 0 to wake on every record (default 100ms)\n"
	       "      --ringbuf-size BYTES kernel buffer size, a power of two from 4K to 1G;\n"
	       "                           suffixes K, M, G (default 8M, and with slots at\n"
	       "                           least 1024 records per CPU); the slot rings share\n"
	       "                           it (tcpdwell check shows the sizes)\n"
	       "      --backend NAME       tp_btf or tracepoint (default: what the kernel has)\n"
	       "      --buffer NAME        slots (per-CPU slot rings), ring (one ring buffer)\n"
	       "                           or perf (default: the first the kernel has)\n"
	       "      --no-seed            do not read the sockets already open at start\n"
	       "      --no-timewait        do not follow timewait sockets: TIME_WAIT shows as\n"
	       "                           the kernel reports it (FIN_WAIT2 -> CLOSE), and\n"
	       "                           no program runs for every kernel timer\n"
	       "      --user NAME|UID:GID  the user tcpdwell becomes once attached (started as\n"
	       "                           root: default nobody, else 65534:65534); no root\n"
	       "      --reconcile DURATION how often to compare the open connections with the\n"
	       "                           kernel's sockets (sock_diag) and end those it no\n"
	       "                           longer has (their end's record was lost); 0 never,\n"
	       "                           else 1s-24h (default 0: never)\n"
	       "  -v, --verbose            more detail on stderr (libbpf's messages); repeatable\n"
	       "  -h, --help               this text\n"
	       "  -V, --version            the version\n"
	       "\n"
	       "DURATION is a number and a unit, ns, us, ms, s, m or h: 250us, 10ms, 1.5s, 2m.\n"
	       "A bare number is seconds.\n"
	       "\n"
	       "Exit status: 0 success; 1 runtime failure (cannot load, cannot write);\n"
	       "2 bad usage (the message names the bad value).\n"
	       "\n"
	       "Examples:\n"
	       "  tcpdwell                                  every transition, live\n"
	       "  tcpdwell timeline -L 8080 -s CLOSE_WAIT -m 1s\n"
	       "                                            connections on port 8080 that sat in\n"
	       "                                            CLOSE_WAIT for a second or more\n"
	       "  tcpdwell stat --by rport --hist -d 60s    a minute of dwell per remote port\n"
	       "  tcpdwell -j --stuck CLOSE_WAIT=30s        JSON, with CLOSE_WAIT leak alerts\n"
	       "  tcpdwell record -o incident.td -d 5m      record now, analyse later with -i\n"
	       "  tcpdwell doctor -d 30s                    what is wrong with TCP here, if any\n"
	       "  tcpdwell serve --listen :9877 --by lport  metrics for Prometheus\n"
	       "  tcpdwell stat --by pod -s CLOSE_WAIT      the dwell in CLOSE_WAIT per pod\n";
}
