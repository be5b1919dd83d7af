// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Command-line parsing: the first stage before anything touches the kernel.
 * argv becomes a validated struct td_options; every bad value is reported in
 * one line that names the value and the option. No I/O here: messages go to
 * the caller's buffer, so every case is unit-tested.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "state.h"

static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

int cli__parse_uint(const char *s, const char *opt, uint64_t min, uint64_t max, uint64_t *out,
		    char *err, size_t errlen)
{
	unsigned long long v;
	char *end;

	if (!*s || !isdigit((unsigned char)*s))
		return fail(err, errlen, "invalid number '%s' in %s", s, opt);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end || errno == ERANGE)
		return fail(err, errlen, "invalid number '%s' in %s", s, opt);
	if (v < min || v > max)
		return fail(err, errlen, "invalid number '%s' in %s: must be %llu-%llu", s, opt,
			    (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}

static int parse_port(const char *s, size_t n, const char *whole, const char *opt,
		      unsigned *port, char *err, size_t errlen)
{
	char buf[16];
	uint64_t v;

	if (n == 0 || n >= sizeof(buf))
		return fail(err, errlen, "invalid port '%.*s' in %s ('%s')", (int)n, s, opt, whole);
	memcpy(buf, s, n);
	buf[n] = 0;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)buf[i]))
			return fail(err, errlen, "invalid port '%s' in %s", buf, opt);
	if (cli__parse_uint(buf, opt, 0, 65535, &v, err, errlen))
		return fail(err, errlen, "invalid port '%s' in %s: must be 0-65535", buf, opt);
	*port = (unsigned)v;
	return 0;
}

int cli__parse_ports(const char *s, const char *opt, struct td_portset *ps, char *err,
		     size_t errlen)
{
	const char *p = s;

	if (!*s)
		return fail(err, errlen, "empty value in %s: expected ports like 80,443,8000-8100",
			    opt);
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		const char *dash = memchr(p, '-', n);
		unsigned lo, hi;

		if (dash) {
			if (parse_port(p, dash - p, s, opt, &lo, err, errlen) ||
			    parse_port(dash + 1, n - (dash - p) - 1, s, opt, &hi, err, errlen))
				return -1;
			if (lo > hi)
				return fail(err, errlen, "invalid port range '%.*s' in %s: %u > %u",
					    (int)n, p, opt, lo, hi);
		} else {
			if (parse_port(p, n, s, opt, &lo, err, errlen))
				return -1;
			hi = lo;
		}
		for (unsigned v = lo; v <= hi; v++)
			ps->bits[v >> 6] |= 1ULL << (v & 63);
		ps->any = true;
		if (!comma)
			break;
		if (!comma[1])
			return fail(err, errlen, "invalid port list '%s' in %s: trailing comma", s,
				    opt);
		p = comma + 1;
	}
	return 0;
}

int cli__parse_duration(const char *s, const char *opt, uint64_t *ns, char *err, size_t errlen)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {
		{ "ns", 1 },	  { "us", 1e3 },   { "ms", 1e6 },  { "s", 1e9 },
		{ "m", 60e9 },	  { "min", 60e9 }, { "h", 3600e9 }, { "", 1e9 },
	};
	char *end;
	double v;

	if (!*s)
		return fail(err, errlen, "empty duration in %s: expected e.g. 250us, 10ms, 2s, 1m",
			    opt);
	if (!isdigit((unsigned char)*s) && *s != '.')
		return fail(err, errlen, "invalid duration '%s' in %s", s, opt);
	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno == ERANGE)
		return fail(err, errlen, "invalid duration '%s' in %s", s, opt);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit))
			continue;
		v *= units[i].ns;
		if (v < 1)
			return fail(err, errlen, "invalid duration '%s' in %s: must be > 0", s, opt);
		if (v > 1.8e19)
			return fail(err, errlen, "invalid duration '%s' in %s: too large", s, opt);
		*ns = (uint64_t)v;
		return 0;
	}
	return fail(err, errlen, "invalid duration '%s' in %s: unknown unit '%s' (ns, us, ms, s, m, h)",
		    s, opt, end);
}

static int parse_cidr(const char *s, const char *opt, struct td_cidr *c, char *err, size_t errlen)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	int max;

	if (n == 0 || n >= sizeof(addr))
		return fail(err, errlen, "invalid CIDR '%s' in %s", s, opt);
	memcpy(addr, s, n);
	addr[n] = 0;
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, addr, c->addr) == 1) {
		c->family = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, c->addr) == 1) {
		c->family = 6;
		max = 128;
	} else {
		return fail(err, errlen, "invalid CIDR '%s' in %s: bad address '%s'", s, opt, addr);
	}
	c->prefix = max;
	if (slash) {
		uint64_t p;
		char tmp[256];

		if (cli__parse_uint(slash + 1, opt, 0, max, &p, tmp, sizeof(tmp)))
			return fail(err, errlen, "invalid CIDR '%s' in %s: prefix must be 0-%d", s,
				    opt, max);
		c->prefix = (uint8_t)p;
	}
	/* Clear host bits: 10.1.2.3/8 means 10.0.0.0/8. */
	for (int i = 0; i < 16; i++) {
		int keep = c->prefix - i * 8;

		if (keep <= 0)
			c->addr[i] = 0;
		else if (keep < 8)
			c->addr[i] &= (uint8_t)(0xff << (8 - keep));
	}
	return 0;
}

/* Call fn on each comma-separated item of s; empty items are errors. */
static int each_item(const char *s, const char *opt, char *err, size_t errlen,
		     int (*fn)(const char *item, void *arg, char *err, size_t errlen), void *arg)
{
	char buf[4096];
	char *save = NULL, *tok;

	if (!*s)
		return fail(err, errlen, "empty value in %s", opt);
	if (strlen(s) >= sizeof(buf))
		return fail(err, errlen, "value too long in %s", opt);
	if (s[0] == ',' || s[strlen(s) - 1] == ',' || strstr(s, ",,"))
		return fail(err, errlen, "invalid list '%s' in %s: empty item", s, opt);
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (fn(tok, arg, err, errlen))
			return -1;
	return 0;
}

struct cidr_arg {
	const char *opt;
	struct td_cidrset *set;
};

static int add_cidr(const char *item, void *arg, char *err, size_t errlen)
{
	struct cidr_arg *a = arg;

	if (a->set->n == TD_MAX_CIDRS)
		return fail(err, errlen, "too many prefixes in %s (at most %d)", a->opt,
			    TD_MAX_CIDRS);
	return parse_cidr(item, a->opt, &a->set->v[a->set->n++], err, errlen);
}

int cli__parse_cidrs(const char *s, const char *opt, struct td_cidrset *set, char *err,
		     size_t errlen)
{
	struct cidr_arg a = { opt, set };

	return each_item(s, opt, err, errlen, add_cidr, &a);
}

struct state_arg {
	const char *opt;
	uint16_t *mask;
};

static int add_state(const char *item, void *arg, char *err, size_t errlen)
{
	struct state_arg *a = arg;
	int st = state__parse(item);

	if (st < 0)
		return fail(err, errlen, "unknown state '%s' in %s", item, a->opt);
	*a->mask |= 1u << st;
	return 0;
}

int cli__parse_states(const char *s, const char *opt, uint16_t *mask, char *err, size_t errlen)
{
	struct state_arg a = { opt, mask };

	return each_item(s, opt, err, errlen, add_state, &a);
}

struct pid_arg {
	const char *opt;
	struct td_options *o;
};

static int add_pid(const char *item, void *arg, char *err, size_t errlen)
{
	struct pid_arg *a = arg;
	uint64_t v;

	if (a->o->npids == TD_MAX_PIDS)
		return fail(err, errlen, "too many pids in %s (at most %d)", a->opt, TD_MAX_PIDS);
	if (cli__parse_uint(item, a->opt, 1, 4194304, &v, err, errlen))
		return fail(err, errlen, "invalid pid '%s' in %s: must be 1-4194304", item, a->opt);
	a->o->pids[a->o->npids++] = (uint32_t)v;
	return 0;
}

int cli__parse_pids(const char *s, const char *opt, struct td_options *o, char *err,
		    size_t errlen)
{
	struct pid_arg a = { opt, o };

	return each_item(s, opt, err, errlen, add_pid, &a);
}

static int add_comm(const char *item, void *arg, char *err, size_t errlen)
{
	struct td_options *o = arg;

	if (o->ncomms == TD_MAX_COMMS)
		return fail(err, errlen, "too many names in --comm (at most %d)", TD_MAX_COMMS);
	if (strlen(item) > 15)
		return fail(err, errlen,
			    "invalid name '%s' in --comm: the kernel keeps at most 15 characters",
			    item);
	snprintf(o->comms[o->ncomms++], sizeof(o->comms[0]), "%s", item);
	return 0;
}

struct stuck_arg {
	const char *opt;
	uint64_t *limits;
};

static int add_stuck(const char *item, void *arg, char *err, size_t errlen)
{
	struct stuck_arg *a = arg;
	const char *eq = strchr(item, '=');
	char name[32];
	int st;

	if (!eq || eq == item || (size_t)(eq - item) >= sizeof(name))
		return fail(err, errlen, "invalid '%s' in %s: expected STATE=DURATION", item,
			    a->opt);
	memcpy(name, item, eq - item);
	name[eq - item] = 0;
	st = state__parse(name);
	if (st < 0)
		return fail(err, errlen, "unknown state '%s' in %s", name, a->opt);
	return cli__parse_duration(eq + 1, a->opt, &a->limits[st], err, errlen);
}

int cli__parse_stuck(const char *s, const char *opt, uint64_t *limits, char *err, size_t errlen)
{
	struct stuck_arg a = { opt, limits };

	return each_item(s, opt, err, errlen, add_stuck, &a);
}

static int parse_size(const char *s, const char *opt, uint32_t *out, char *err, size_t errlen)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		return fail(err, errlen, "invalid size '%s' in %s", s, opt);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return fail(err, errlen, "invalid size '%s' in %s", s, opt);
	if (!strcmp(end, "K") || !strcmp(end, "k"))
		v <<= 10;
	else if (!strcmp(end, "M"))
		v <<= 20;
	else if (!strcmp(end, "G"))
		v <<= 30;
	else if (*end)
		return fail(err, errlen, "invalid size '%s' in %s: unknown suffix '%s' (K, M, G)",
			    s, opt, end);
	if (v < 4096 || v > (1ULL << 30) || (v & (v - 1)))
		return fail(err, errlen,
			    "invalid size '%s' in %s: must be a power of two from 4K to 1G", s,
			    opt);
	*out = (uint32_t)v;
	return 0;
}

static const char *const commands[] = {
	[TD_CMD_TRACE] = "trace",   [TD_CMD_TIMELINE] = "timeline", [TD_CMD_STAT] = "stat",
	[TD_CMD_TOP] = "top",	    [TD_CMD_CHECK] = "check",	    [TD_CMD_RECORD] = "record",
	[TD_CMD_DOCTOR] = "doctor", [TD_CMD_SERVE] = "serve",
};

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
	OPT_NO_SEED,
};

static const struct option long_opts[] = {
	{ "lport", required_argument, NULL, 'L' },
	{ "rport", required_argument, NULL, 'R' },
	{ "laddr", required_argument, NULL, OPT_LADDR },
	{ "raddr", required_argument, NULL, OPT_RADDR },
	{ "pid", required_argument, NULL, 'p' },
	{ "comm", required_argument, NULL, 'c' },
	{ "state", required_argument, NULL, 's' },
	{ "min", required_argument, NULL, 'm' },
	{ "netns", required_argument, NULL, 'N' },
	{ "cgroup", required_argument, NULL, 'C' },
	{ "duration", required_argument, NULL, 'd' },
	{ "json", no_argument, NULL, 'j' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "by", required_argument, NULL, OPT_BY },
	{ "hist", no_argument, NULL, OPT_HIST },
	{ "max-conns", required_argument, NULL, OPT_MAX_CONNS },
	{ "stuck", required_argument, NULL, OPT_STUCK },
	{ "latency", required_argument, NULL, OPT_LATENCY },
	{ "ringbuf-size", required_argument, NULL, OPT_RINGBUF },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "buffer", required_argument, NULL, OPT_BUFFER },
	{ "input", required_argument, NULL, 'i' },
	{ "output", required_argument, NULL, 'o' },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "no-seed", no_argument, NULL, OPT_NO_SEED },
	{ NULL, 0, NULL, 0 },
};

/* Which commands take an option; a mismatch is a usage error. */
static bool allowed(enum td_command cmd, int opt)
{
	switch (opt) {
	case OPT_INTERVAL:
		return cmd == TD_CMD_STAT || cmd == TD_CMD_TOP || cmd == TD_CMD_SERVE;
	case OPT_BY:
		return cmd == TD_CMD_STAT || cmd == TD_CMD_SERVE;
	case OPT_HIST:
		return cmd == TD_CMD_STAT;
	case OPT_STUCK:
		return cmd == TD_CMD_TRACE || cmd == TD_CMD_TIMELINE || cmd == TD_CMD_TOP ||
		       cmd == TD_CMD_SERVE || cmd == TD_CMD_DOCTOR;
	case OPT_LISTEN:
		return cmd == TD_CMD_SERVE;
	case 'o':
		return cmd == TD_CMD_RECORD || cmd == TD_CMD_TIMELINE;
	case 'i':
		return cmd != TD_CMD_RECORD && cmd != TD_CMD_CHECK && cmd != TD_CMD_SERVE;
	default:
		return true;
	}
}

static const char *opt_name(int c, const char *arg0)
{
	for (const struct option *lo = long_opts; lo->name; lo++)
		if (lo->val == c)
			return lo->name;
	(void)arg0;
	return "?";
}

static void set_defaults(struct td_options *o)
{
	memset(o, 0, sizeof(*o));
	o->cmd = TD_CMD_TRACE;
	o->max_conns = 262144;
	o->latency_ns = 100000000ULL;
	o->ringbuf_bytes = 8u << 20;
}

int cli__parse(int argc, char **argv, struct td_options *o, char *err, size_t errlen)
{
	int first = 1, c;

	set_defaults(o);
	err[0] = 0;
	if (argc > 1 && argv[1][0] != '-') {
		bool found = false;

		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
			if (!strcmp(argv[1], commands[i])) {
				o->cmd = (enum td_command)i;
				found = true;
			}
		}
		if (!found)
			return fail(err, errlen, "unknown command '%s' (trace, timeline, stat, top, "
					 "check, record, doctor, serve)", argv[1]), TD_EXIT_USAGE;
		first = 2;
	}
	/* getopt_long over argv[first..]: shift the view so argv[0] stays a name. */
	char **args = argv + first - 1;
	int nargs = argc - first + 1;

	optind = 0; /* full re-initialisation (glibc), so parsing can run again */
	opterr = 0;
	while ((c = getopt_long(nargs, args, ":46L:R:p:c:s:m:N:C:d:jvhVi:o:", long_opts, NULL)) !=
	       -1) {
		uint64_t v;
		int r = 0;

		if (c == '?') {
			if (optopt && optopt < 256)
				fail(err, errlen, "unknown option '-%c'", optopt);
			else
				fail(err, errlen, "unknown option '%s'", args[optind - 1]);
			return TD_EXIT_USAGE;
		}
		if (c == ':') {
			fail(err, errlen, "option '%s' needs a value", args[optind - 1]);
			return TD_EXIT_USAGE;
		}
		if (!allowed(o->cmd, c)) {
			fail(err, errlen, "option '--%s' does not apply to '%s'", opt_name(c, NULL),
			     commands[o->cmd]);
			return TD_EXIT_USAGE;
		}
		switch (c) {
		case '4':
		case '6':
			if (o->family && o->family != c - '0') {
				fail(err, errlen, "options '-4' and '-6' conflict: give one");
				return TD_EXIT_USAGE;
			}
			o->family = c - '0';
			break;
		case 'L':
			r = cli__parse_ports(optarg, "--lport", &o->lports, err, errlen);
			break;
		case 'R':
			r = cli__parse_ports(optarg, "--rport", &o->rports, err, errlen);
			break;
		case OPT_LADDR:
			r = cli__parse_cidrs(optarg, "--laddr", &o->laddrs, err, errlen);
			break;
		case OPT_RADDR:
			r = cli__parse_cidrs(optarg, "--raddr", &o->raddrs, err, errlen);
			break;
		case 'p':
			r = cli__parse_pids(optarg, "--pid", o, err, errlen);
			break;
		case 'c':
			r = each_item(optarg, "--comm", err, errlen, add_comm, o);
			break;
		case 's':
			r = cli__parse_states(optarg, "--state", &o->states, err, errlen);
			break;
		case 'm':
			r = cli__parse_duration(optarg, "--min", &o->min_ns, err, errlen);
			break;
		case 'N':
			r = cli__parse_uint(optarg, "--netns", 1, UINT32_MAX, &v, err, errlen);
			o->netns = (uint32_t)v;
			break;
		case 'C':
			if (!*optarg)
				r = fail(err, errlen, "empty value in --cgroup");
			o->cgroup_path = optarg;
			break;
		case 'd':
			r = cli__parse_duration(optarg, "--duration", &o->duration_ns, err, errlen);
			break;
		case 'j':
			o->json = true;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			return CLI_HELP;
		case 'V':
			return CLI_VERSION;
		case OPT_INTERVAL:
			r = cli__parse_duration(optarg, "--interval", &o->interval_ns, err, errlen);
			break;
		case OPT_BY:
			if (!strcmp(optarg, "lport"))
				o->by = TD_BY_LPORT;
			else if (!strcmp(optarg, "rport"))
				o->by = TD_BY_RPORT;
			else if (!strcmp(optarg, "raddr"))
				o->by = TD_BY_RADDR;
			else if (!strcmp(optarg, "comm"))
				o->by = TD_BY_COMM;
			else
				r = fail(err, errlen,
					 "invalid value '%s' in --by: lport, rport, raddr or comm",
					 optarg);
			break;
		case OPT_HIST:
			o->hist = true;
			break;
		case OPT_MAX_CONNS:
			r = cli__parse_uint(optarg, "--max-conns", 16, 100000000, &v, err, errlen);
			o->max_conns = (uint32_t)v;
			break;
		case OPT_STUCK:
			r = cli__parse_stuck(optarg, "--stuck", o->stuck_ns, err, errlen);
			break;
		case OPT_LATENCY:
			r = cli__parse_duration(optarg, "--latency", &o->latency_ns, err, errlen);
			if (!r && (o->latency_ns < 1000000 || o->latency_ns > 10000000000ULL))
				r = fail(err, errlen, "invalid duration '%s' in --latency: must be 1ms-10s",
					 optarg);
			break;
		case OPT_RINGBUF:
			r = parse_size(optarg, "--ringbuf-size", &o->ringbuf_bytes, err, errlen);
			break;
		case OPT_BACKEND:
			if (strcmp(optarg, "tp_btf") && strcmp(optarg, "tracepoint"))
				r = fail(err, errlen,
					 "invalid value '%s' in --backend: tp_btf or tracepoint", optarg);
			o->backend = optarg;
			break;
		case OPT_BUFFER:
			if (strcmp(optarg, "ring") && strcmp(optarg, "perf"))
				r = fail(err, errlen, "invalid value '%s' in --buffer: ring or perf",
					 optarg);
			o->buffer = optarg;
			break;
		case 'i':
			if (!*optarg)
				r = fail(err, errlen, "empty value in --input");
			o->input = optarg;
			break;
		case 'o':
			if (!*optarg)
				r = fail(err, errlen, "empty value in --output");
			o->output = optarg;
			break;
		case OPT_LISTEN:
			if (!*optarg || !strrchr(optarg, ':'))
				r = fail(err, errlen, "invalid address '%s' in --listen: expected ADDR:PORT",
					 optarg);
			o->listen = optarg;
			break;
		case OPT_NO_SEED:
			o->no_seed = true;
			break;
		}
		if (r)
			return TD_EXIT_USAGE;
	}
	if (optind < nargs) {
		fail(err, errlen, "unexpected argument '%s'", args[optind]);
		return TD_EXIT_USAGE;
	}
	if (o->cmd == TD_CMD_RECORD && !o->output) {
		fail(err, errlen, "'record' needs -o FILE");
		return TD_EXIT_USAGE;
	}
	return TD_EXIT_OK;
}

const char *cli__usage(void)
{
	return "Usage: tcpdwell [COMMAND] [OPTIONS]\n"
	       "Trace every TCP state transition and measure the time spent in each state.\n"
	       "\n"
	       "Commands:\n"
	       "  trace             one line per transition, with the dwell in the state left (default)\n"
	       "  timeline          one line per finished connection: every state with its dwell\n"
	       "  stat              dwell statistics per state (count, min, mean, p50, p90, p99, max)\n"
	       "  top               live view: sockets per state, longest current dwell\n"
	       "  check             what this kernel supports and which path tcpdwell uses\n"
	       "  record            write raw records to a file (-o FILE) for later analysis\n"
	       "  doctor            report symptoms (stuck connects, CLOSE_WAIT leaks, ...)\n"
	       "  serve             Prometheus metrics on --listen ADDR:PORT\n"
	       "\n"
	       "Connection filters (select whole connections):\n"
	       "  -4, -6                      IPv4 or IPv6 only\n"
	       "  -L, --lport PORTS           local ports: 80,443,8000-8100\n"
	       "  -R, --rport PORTS           remote ports\n"
	       "      --laddr CIDR[,CIDR]     local address in a prefix (10.0.0.0/8, ::1/128)\n"
	       "      --raddr CIDR[,CIDR]     remote address in a prefix\n"
	       "  -p, --pid PIDS              owning process ids\n"
	       "  -c, --comm NAMES            owning process names\n"
	       "  -N, --netns INODE           network namespace inode\n"
	       "  -C, --cgroup PATH           cgroup v2 directory (and its subtree)\n"
	       "\n"
	       "What is shown:\n"
	       "  -s, --state STATES          trace: transitions into or out of these states;\n"
	       "                              timeline: connections that spent --min in one;\n"
	       "                              names as the kernel's (TIME_WAIT), ss's (time-wait)\n"
	       "                              or the textbook's (FIN_WAIT_1, SYN_RECEIVED, CLOSED)\n"
	       "  -m, --min DURATION          only dwell of at least this (250us, 10ms, 2s, 1m)\n"
	       "      --stuck STATE=DUR[,..]  report connections still in STATE after DUR\n"
	       "      --interval DURATION     stat/top/serve: refresh period (stat: 0 = at exit)\n"
	       "      --by lport|rport|raddr|comm   stat: split rows by this key\n"
	       "      --hist                  stat: add a log2 histogram per state\n"
	       "  -j, --json                  JSON Lines output (one object per line)\n"
	       "\n"
	       "Running:\n"
	       "  -d, --duration DURATION     stop after this long (default: until Ctrl-C)\n"
	       "  -i, --input FILE            read a recording instead of tracing live\n"
	       "  -o, --output FILE           record: the file to write\n"
	       "      --max-conns N           connections tracked at most (default 262144)\n"
	       "      --latency DURATION      longest a record waits in the kernel buffer\n"
	       "                              (default 100ms)\n"
	       "      --ringbuf-size BYTES    kernel ring buffer size (default 8M)\n"
	       "      --backend tp_btf|tracepoint   force a kernel attach method\n"
	       "      --buffer ring|perf      force a kernel buffer type\n"
	       "      --no-seed               do not read the sockets that exist at start\n"
	       "  -v, --verbose               libbpf messages (twice: debug)\n"
	       "  -h, --help                  this text\n"
	       "  -V, --version               version\n"
	       "\n"
	       "Exit status: 0 success, 1 runtime failure, 2 bad usage.\n"
	       "\n"
	       "Examples:\n"
	       "  tcpdwell timeline -L 8080 -s CLOSE_WAIT -m 1s   slow closers on port 8080\n"
	       "  tcpdwell stat --by rport --hist -d 60s           dwell per remote port\n"
	       "  tcpdwell trace -j --stuck CLOSE_WAIT=30s         JSON with leak alerts\n";
}
