// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tcpdwell's entry point: parses the command line, sets up signals and stdout, and runs the
 * command: `check`, or a view (app.h, user/views/) fed by a source, the kernel (live.c) or
 * a recording (-i, replay.c).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cli.h"
#include "record.h"
#include "source.h"

/*
 * Output buffers. setvbuf() with a NULL buffer keeps glibc's own size
 * (st_blksize, 4 KiB on ext4), so a busy trace became one write() per 4 KiB,
 * each zeroing the rest of a page-cache folio: give the streams real ones
 * (live.c has the recording's).
 */
static char stdout_buf[1 << 20];

/* The command line as typed, for the header of a recording. */
static char command_line[REC_OPTIONS_MAX + 1];

static void save_command_line(int argc, char **argv)
{
	size_t off = 0;

	for (int i = 0; i < argc && off < sizeof(command_line) - 1; i++)
		off += (size_t)snprintf(command_line + off, sizeof(command_line) - off, "%s%s",
					i ? " " : "", argv[i]);
}

static void on_signal(int sig)
{
	(void)sig;
	app_exiting = 1;
}

int main(int argc, char **argv)
{
	struct td_options *o = calloc(1, sizeof(*o));
	struct sigaction sa = { .sa_handler = on_signal };
	char err[512];
	int ret;

	if (!o) {
		fprintf(stderr, "tcpdwell: out of memory\n");
		return TD_EXIT_FAIL;
	}
	save_command_line(argc, argv);
	ret = cli__parse(argc, argv, o, err, sizeof(err));
	if (ret == CLI_HELP) {
		fputs(cli__usage(), stdout);
		free(o);
		return TD_EXIT_OK;
	}
	if (ret == CLI_VERSION) {
		printf("tcpdwell %s\n", TD_VERSION);
		free(o);
		return TD_EXIT_OK;
	}
	if (ret != TD_EXIT_OK) {
		fprintf(stderr, "tcpdwell: %s (see tcpdwell --help)\n", err);
		free(o);
		return TD_EXIT_USAGE;
	}
	o->command_line = command_line;
	/* SIGHUP too: an SSH session that drops must still end a recording with its
	 * END record. SA_RESTART: a write blocked on a slow pipe goes on rather than
	 * failing with EINTR; the waits that must end (epoll_wait, the perf buffer's
	 * poll, usleep) are never restarted, so the stop is seen at once. */
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, stdout_buf, _IOFBF, sizeof(stdout_buf));

	if (o->cmd == TD_CMD_CHECK) {
		ret = live__check(o);
	} else if (view__of(o->cmd)) {
		ret = o->input ? replay__run(o) : live__run(o);
	} else {
		fprintf(stderr, "tcpdwell: this command is not available yet\n");
		ret = TD_EXIT_FAIL;
	}
	free(o);
	/* stdout's last write and its close: a full disk must not pass for success.
	 * A reader that went away (`| head`) has what it wanted, as write_failed says;
	 * a stdout closed from the start (`>&-`) had nothing written to it. */
	errno = 0;
	if (fclose(stdout) && ret == TD_EXIT_OK && errno != EPIPE && errno != EBADF) {
		fprintf(stderr, "tcpdwell: cannot write output: %s\n", strerror(errno ?: EIO));
		ret = TD_EXIT_FAIL;
	}
	return ret;
}
