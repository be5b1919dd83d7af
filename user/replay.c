// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The recording source (-i FILE): maps the file, drops privileges, and feeds its records,
 * ticks, loss counters and seeds to the pipeline (app.h) in file order, as fast as they can
 * be read (record.c reads them).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "fmt.h"
#include "privdrop.h"
#include "record.h"
#include "source.h"

/*
 * -i FILE: the same pipeline fed from a recording, in file order, as fast as it
 * can be read. The recorder's clock (TICK) drives everything the live view did
 * on its clock, so the output is what the live view printed for these records.
 */
/*
 * -i maps the recording. If the file shrinks while it is read (truncated by
 * another process), touching the pages past its new end raises SIGBUS: within
 * the mapping, and only while the reader (plain loads: record.c copies every
 * field out) runs, that is turned into a jump back to replay__run, which says
 * so. Reading the file with pread() instead would copy every byte once more; a
 * size check before each read could still lose the race to a truncate.
 */
static sigjmp_buf replay_fault;
static const char *volatile replay_lo, *volatile replay_hi;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	const char *p = si->si_addr;

	(void)uc;
	if (replay_lo && p >= replay_lo && p < replay_hi)
		siglongjmp(replay_fault, 1);
	/* Not the recording: a bug. Fault again, with the default action. */
	signal(sig, SIG_DFL);
}

static void replay_guard(const void *map, size_t len)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO };

	replay_lo = map;
	replay_hi = replay_lo + len;
	sigaction(SIGBUS, &sa, NULL);
}

static void replay_unguard(void)
{
	replay_lo = replay_hi = NULL;
	signal(SIGBUS, SIG_DFL);
}

/* How many records replay reads ahead of the one it applies (see replay_items). */
#define REPLAY_AHEAD 16
/* ... and how many ahead the connection each names is fetched. */
#define REPLAY_NEAR 6

/*
 * Read the recording's items and apply them, until its end, an error (the last
 * rec_reader__next result, 0 or -1, is returned), a signal or a failed output
 * (1). Items are read REPLAY_AHEAD ahead of the one applied, so that the table's
 * index entries for them are on their way into the cache (conntable__prefetch).
 */
static int replay_items(struct app *a, struct rec_reader *r)
{
	struct rec_item ring[REPLAY_AHEAD];
	unsigned int head = 0, ahead = 0;
	int n = 1;

	for (;;) {
		struct rec_item *it;

		while (ahead < REPLAY_AHEAD && n > 0) {
			it = &ring[(head + ahead) % REPLAY_AHEAD];
			n = rec_reader__next(r, it);
			if (n <= 0)
				break;
			if (it->type == REC_EVENT && a->table)
				conntable__prefetch(a->table, &it->ev);
			ahead++;
		}
		if (app_exiting || a->stop || !ahead)
			break;
		if (ahead > REPLAY_NEAR && a->table) {
			struct rec_item *near = &ring[(head + REPLAY_NEAR) % REPLAY_AHEAD];

			if (near->type == REC_EVENT)
				conntable__prefetch_conn(a->table, &near->ev);
		}
		it = &ring[head];
		head = (head + 1) % REPLAY_AHEAD;
		ahead--;
		switch (it->type) {
		case REC_EVENT:
			app_event(a, &it->ev);
			break;
		case REC_TICK:
			app_tick(a, it->tick_ns);
			break;
		case REC_LOST:
			app_lost(a, it->lost.ringbuf, it->lost.recursion);
			break;
		case REC_SEED:
			app_seed(a, &it->seed);
			break;
		case REC_CGROUP:
			app_cgroup_names(a, &it->cgroup);
			break;
		}
		if (!(r->items & 4095) && ferror(a->out.f))
			break; /* the reader of our output is gone: app_close says why */
	}
	return n;
}

int replay__run(struct td_options *o)
{
	struct rec_reader *r = calloc(1, sizeof(*r));
	/* volatile: read after a jump back from on_sigbus (sigsetjmp). */
	volatile int fd = -1, n = 1, ret = TD_EXIT_OK;
	volatile bool shrank = false;
	struct privdrop pd;
	struct stat st;
	void *volatile map = NULL;
	char msg[512];
	struct app a;

	if (!r) {
		fprintf(stderr, "tcpdwell: out of memory\n");
		return TD_EXIT_FAIL;
	}
	if (privdrop__plan(o, &pd, msg, sizeof(msg))) {
		fprintf(stderr, "tcpdwell: %s\n", msg);
		free(r);
		return TD_EXIT_FAIL;
	}
	/* Opened with the caller's rights (a recording may be readable by root only);
	 * read only after the drop: a recording is untrusted input. */
	fd = open(o->input, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "tcpdwell: cannot read '%s': %s\n", o->input, strerror(errno));
		goto fail_early;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "tcpdwell: cannot read '%s': not a regular file\n", o->input);
		goto fail_early;
	}
	/* The output (timeline -o) is opened before the drop too; the recording's
	 * clock offset is set once its header is read. */
	if (app_open(&a, o, 0))
		goto fail_app;
	if (privdrop__apply(&pd, msg, sizeof(msg))) {
		fprintf(stderr, "tcpdwell: %s\n", msg);
		goto fail_app;
	}
	privdrop__report(&pd, o->verbose);
	if (st.st_size) {
		/* Mapped with its page tables filled at once (one pass in the kernel,
		 * not a fault per 64 KiB: 6% of a 340 MB replay) unless the file is so
		 * large that the first output would wait for all of it to be read. */
		int populate = st.st_size <= (off_t)1 << 30 ? MAP_POPULATE : 0;

		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | populate, fd, 0);
		if (map == MAP_FAILED) {
			fprintf(stderr, "tcpdwell: cannot read '%s': %s\n", o->input,
				strerror(errno));
			map = NULL;
			goto fail_app;
		}
		madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
		replay_guard(map, (size_t)st.st_size);
		if (sigsetjmp(replay_fault, 1)) {
			fprintf(stderr,
				"tcpdwell: '%s': the file shrank while its header was read\n",
				o->input);
			goto fail_app;
		}
	}
	if (rec_reader__open(r, map ? map : "", (size_t)st.st_size)) {
		fprintf(stderr, "tcpdwell: '%s': %s\n", o->input, r->err);
		goto fail_app;
	}
	a.out.realtime_offset_ns = r->hdr.realtime_offset_ns;
	a.out.accepts = r->hdr.accepts;
	a.out.resets = r->hdr.resets;
	rst_reasons = r->hdr.rst;
	/* A recording made with them has every connection's; an older one none. */
	if (a.table)
		conntable__expect_stats(a.table, r->hdr.conn_info);
	if (a.table)
		conntable__expect_resets(a.table, r->hdr.resets);
	{
		char host[41]; /* 40 bytes of it at most, an escape never cut */

		snprintf(a.source, sizeof(a.source), "recording from %s",
			 fmt__text(r->hdr.host, sizeof(r->hdr.host), host, sizeof(host)));
	}
	a.rec_hdr = &r->hdr;
	/* The live run ticked on its own clock, and the recording holds every tick. */
	a.now = r->hdr.start_ns;
	/* A fault in the mapping jumps back here (on_sigbus). Only
	 * rec_reader__next was cut short: the table has every item before it and
	 * is closed as at the end of a file cut there. */
	if (map && sigsetjmp(replay_fault, 1))
		shrank = true;
	else
		n = replay_items(&a, r);
	replay_unguard();
	if (r->end_seen)
		a.now = r->end_ns; /* where the live run settled its table */
	ret = app_close(&a);
	if (shrank) {
		struct stat now;

		fprintf(stderr,
			"tcpdwell: '%s': the file shrank while it was read (from %jd to %jd "
			"bytes); read up to byte %zu\n",
			o->input, (intmax_t)st.st_size,
			fstat(fd, &now) ? (intmax_t)-1 : (intmax_t)now.st_size, r->pos);
		ret = TD_EXIT_FAIL;
	} else if (!app_exiting && n < 0) {
		fprintf(stderr, "tcpdwell: '%s': %s\n", o->input, r->err);
		ret = TD_EXIT_FAIL;
	} else if (!app_exiting && !r->end_seen) {
		/*
		 * A killed recorder's file: every record in it is whole and was
		 * replayed, so the output is complete for what was recorded.
		 * Warn, but succeed: that output is what the user asked for.
		 */
		fprintf(
		    stderr,
			"tcpdwell: warning: '%s': recording ends at byte %zu without its end record "
			"(the recorder was killed?); everything up to there was read\n",
			o->input, r->pos);
	}
	if (a.view->hold && ret == TD_EXIT_OK)
		a.view->hold(&a);
	app_free(&a);
	goto out;
fail_app:
	app_free(&a);
fail_early:
	ret = TD_EXIT_FAIL;
out:
	replay_unguard();
	if (map)
		munmap(map, (size_t)st.st_size);
	if (fd >= 0)
		close(fd);
	free(r);
	return ret;
}
