// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target for the recording reader: any bytes go to rec_reader__open()
 * and rec_reader__next() until the stream ends, as `tcpdwell ... -i FILE` would
 * read them. Besides the sanitizers' checks, every item read is written again
 * and must read back the same, so writer and reader cannot drift apart. Built
 * with -DFUZZ_REPLAY it also replays what it reads into a connection table, so
 * any file the reader accepts is also tried against the table.
 *
 *   make build/fuzz_record && build/fuzz_record -max_total_time=60 tests/fuzz/corpus
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#ifdef FUZZ_REPLAY
#include "conntable.h"
#endif

/* Up to this many items are checked again after re-encoding; the rest are
 * only read (libFuzzer inputs are small, this is rarely reached). */
#define KEEP 256

static struct rec_reader r, again;
static struct rec_item items[KEEP];

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_record: %s\n", what);
		abort();
	}
}

/* A CGROUP record's string as the writer takes it: up to its first NUL, at most max bytes. */
static size_t cut(const char *p, size_t n, size_t max, char *buf)
{
	const char *nul = memchr(p, 0, n);

	if (nul)
		n = (size_t)(nul - p);
	if (n > max)
		n = max;
	memcpy(buf, p, n);
	buf[n] = 0;
	return n;
}

static char cg_path[CGN_PATH_MAX + 1], cg_pod[CG_NS_MAX + 1 + CG_NAME_MAX + 1],
    cg_ctr[CG_NAME_MAX + 1];

/* The names a CGROUP item reads back as once written again. */
static struct cg_name cg_of(const struct rec_cgroup *g)
{
	cut(g->path, g->path_len, CGN_PATH_MAX, cg_path);
	cut(g->pod, g->pod_len, sizeof(cg_pod) - 1, cg_pod);
	cut(g->container, g->container_len, CG_NAME_MAX, cg_ctr);
	return (struct cg_name){ .id = g->id, .path = cg_path, .pod = cg_pod, .container = cg_ctr };
}

static bool same(const char *p, size_t n, const char *s)
{
	return n == strlen(s) && !memcmp(p, s, n);
}

static void rewrite(struct rec_writer *w, const struct rec_item *it)
{
	struct cg_name cg;

	switch (it->type) {
	case REC_CGROUP:
		cg = cg_of(&it->cgroup);
		rec_writer__cgroup(w, &cg);
		break;
	case REC_EVENT:
		rec_writer__event(w, &it->ev);
		break;
	case REC_TICK:
		rec_writer__tick(w, it->tick_ns);
		break;
	case REC_LOST:
		rec_writer__lost(w, &it->lost);
		break;
	case REC_SEED:
		rec_writer__seed(w, &it->seed);
		break;
	default:
		check(false, "item of a type the reader does not return");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec_writer w;
	struct rec_item it;
	size_t n = 0, len = 0;
	char *buf = NULL;
	FILE *f;
	int ret;
#ifdef FUZZ_REPLAY
	struct conntable *t = conntable__new(64, &(struct ct_hooks){0});

	check(t != NULL, "conntable__new");
#endif

	if (rec_reader__open(&r, data, size)) {
		check(r.err[0] != 0, "open failed without a message");
		check(strstr(r.err, "at byte ") != NULL, "message names no offset");
		goto out;
	}
	while ((ret = rec_reader__next(&r, &it)) == 1) {
		check(r.pos <= size, "position past the end");
		if (n < KEEP)
			items[n] = it;
		n++;
#ifdef FUZZ_REPLAY
		if (it.type == REC_EVENT)
			conntable__apply(t, &it.ev);
		else if (it.type == REC_TICK)
			conntable__advance(t, it.tick_ns);
		else if (it.type == REC_SEED)
			conntable__seed(t, &it.seed);
		else if (it.type == REC_LOST)
			conntable__mark_loss(t);
		else if (it.type == REC_CGROUP)
			cgn__set(it.cgroup.id, it.cgroup.path, it.cgroup.path_len, NULL, NULL);
#endif
	}
	check(ret == 0 || (ret == -1 && strstr(r.err, "at byte ")), "error names no offset");
	check(rec_reader__next(&r, &it) == ret, "end or error is not sticky");
	check(n == r.items, "item count");

	/* Write what was read, read it again: the same items, a clean end. */
	f = open_memstream(&buf, &len);
	check(f != NULL, "open_memstream");
	check(rec_writer__init(&w, f, &r.hdr) == 0, "writer init");
	for (size_t i = 0; i < n && i < KEEP; i++)
		rewrite(&w, &items[i]);
	/* A file cut before its END has no end time: the last tick is one a reader
	 * takes (an END before it is damage). */
	check(rec_writer__end(&w, r.end_seen ? r.end_ns : r.tick_ns) == 0, "writer end");
	fclose(f);
	check(rec_reader__open(&again, buf, len) == 0, "re-encoded header unreadable");
	check(!strcmp(again.hdr.host, r.hdr.host) && !strcmp(again.hdr.kernel, r.hdr.kernel) &&
		  !strcmp(again.hdr.options, r.hdr.options) &&
		  again.hdr.start_ns == r.hdr.start_ns &&
		  again.hdr.realtime_offset_ns == r.hdr.realtime_offset_ns,
	      "header changed by re-encoding");
	for (size_t i = 0; i < n && i < KEEP; i++) {
		check(rec_reader__next(&again, &it) == 1, "re-encoded item unreadable");
		check(it.type == items[i].type, "item type changed by re-encoding");
		switch (it.type) {
		case REC_EVENT:
			check(!memcmp(&it.ev, &items[i].ev, sizeof(it.ev)), "event changed");
			break;
		case REC_TICK:
			check(it.tick_ns == items[i].tick_ns, "tick changed");
			break;
		case REC_LOST:
			check(!memcmp(&it.lost, &items[i].lost, sizeof(it.lost)), "lost changed");
			break;
		case REC_SEED:
			check(!memcmp(&it.seed, &items[i].seed, sizeof(it.seed)), "seed changed");
			break;
		case REC_CGROUP: {
			struct cg_name cg = cg_of(&items[i].cgroup);

			check(it.cgroup.id == cg.id && same(it.cgroup.path, it.cgroup.path_len, cg.path) &&
				  same(it.cgroup.pod, it.cgroup.pod_len, cg.pod) &&
				  same(it.cgroup.container, it.cgroup.container_len, cg.container),
			      "cgroup changed");
			break;
		}
		}
	}
	check(rec_reader__next(&again, &it) == 0 && again.end_seen, "re-encoded end");
	free(buf);
out:
#ifdef FUZZ_REPLAY
	conntable__drain(t);
	conntable__free(t);
	cgn__clear();
#endif
	return 0;
}
