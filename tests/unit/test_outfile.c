// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of tcpdwell's output files (user/outfile.c), in a directory of their
 * own: a new file is mode 0600; an existing file, a symbolic link (to a file or to
 * nothing) and a FIFO are refused without --force and left as they were; --force
 * replaces a regular file and clears its group and other bits, but never follows a
 * link or opens a FIFO, directory or device; "-" is stdout; a failed flush is
 * reported by outfile__close.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "outfile.h"

static char dir[64];

static const char *in_dir(const char *name)
{
	static char buf[4][PATH_MAX];
	static int k;
	char *p = buf[k++ % 4];

	snprintf(p, PATH_MAX, "%s/%s", dir, name);
	return p;
}

static void put(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* The whole file, or "<missing>". */
static const char *get(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return "<missing>";
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

static int setup(void **state)
{
	char *d;

	snprintf(dir, sizeof(dir), "/tmp/test_outfile.XXXXXX");
	d = mkdtemp(dir);
	umask(022);
	return d ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_new_file_is_0600(void **state)
{
	const char *p = in_dir("new");
	char err[256] = "";
	FILE *f = outfile__create(p, false, err, sizeof(err));

	assert_non_null(f);
	assert_int_equal(fputs("hello", f) >= 0, 1);
	assert_int_equal(outfile__close(f), 0);
	assert_string_equal(get(p), "hello");
	assert_int_equal(mode_of(p), 0600);
	assert_true(fcntl(STDOUT_FILENO, F_GETFD) >= 0);
}

static void test_close_on_exec(void **state)
{
	char err[256];
	FILE *f = outfile__create(in_dir("cloexec"), false, err, sizeof(err));

	assert_non_null(f);
	assert_true(fcntl(fileno(f), F_GETFD) & FD_CLOEXEC);
	assert_int_equal(outfile__close(f), 0);
}

static void test_existing_file_refused(void **state)
{
	const char *p = in_dir("exists");
	char err[256] = "";

	put(p, "old", 0644);
	errno = 0;
	assert_null(outfile__create(p, false, err, sizeof(err)));
	assert_int_equal(errno, EEXIST);
	char want[PATH_MAX + 64];

	snprintf(want, sizeof(want), "'%s' exists (use --force to replace it)", p);
	assert_string_equal(err, want);
	assert_string_equal(get(p), "old");
	assert_int_equal(mode_of(p), 0644);
}

static void test_symlink_never_followed(void **state)
{
	const char *target = in_dir("target"), *link = in_dir("link");
	const char *dangling = in_dir("dangling"), *nowhere = in_dir("nowhere");
	char err[256] = "";

	put(target, "precious", 0644);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(symlink(nowhere, dangling), 0);
	/* Without --force a link exists, whatever it points to. */
	assert_null(outfile__create(link, false, err, sizeof(err)));
	assert_non_null(strstr(err, "exists (use --force to replace it)"));
	assert_null(outfile__create(dangling, false, err, sizeof(err)));
	assert_string_equal(get(nowhere), "<missing>");
	/* With --force it is refused, not followed. */
	assert_null(outfile__create(link, true, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot replace '"));
	assert_non_null(strstr(err, "': it is a symbolic link"));
	assert_null(outfile__create(dangling, true, err, sizeof(err)));
	assert_non_null(strstr(err, "it is a symbolic link"));
	assert_string_equal(get(target), "precious");
	assert_int_equal(mode_of(target), 0644);
	assert_string_equal(get(nowhere), "<missing>");
}

static void test_force_replaces_regular_file(void **state)
{
	const char *p = in_dir("replace");
	char err[256] = "";
	FILE *f;

	put(p, "a much longer old content", 0664);
	f = outfile__create(p, true, err, sizeof(err));
	assert_non_null(f);
	fputs("new", f);
	assert_int_equal(outfile__close(f), 0);
	assert_string_equal(get(p), "new");
	assert_int_equal(mode_of(p), 0600);
	/* --force on a file that does not exist creates it. */
	p = in_dir("forced-new");
	f = outfile__create(p, true, err, sizeof(err));
	assert_non_null(f);
	assert_int_equal(outfile__close(f), 0);
	assert_int_equal(mode_of(p), 0600);
}

static void test_force_refuses_non_regular(void **state)
{
	const char *fifo = in_dir("fifo"), *sub = in_dir("subdir");
	char err[256] = "";

	/* A FIFO without a reader: opening it for writing the usual way would block. */
	assert_int_equal(mkfifo(fifo, 0644), 0);
	assert_null(outfile__create(fifo, false, err, sizeof(err)));
	assert_non_null(strstr(err, "exists (use --force"));
	assert_null(outfile__create(fifo, true, err, sizeof(err)));
	assert_non_null(strstr(err, "': not a regular file"));
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_null(outfile__create(sub, true, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot replace '"));
	assert_null(outfile__create("/dev/null", true, err, sizeof(err)));
	assert_string_equal(err, "cannot replace '/dev/null': not a regular file");
}

static void test_missing_directory(void **state)
{
	char err[256] = "";

	assert_null(outfile__create(in_dir("no/such/file"), false, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot create '"));
	assert_non_null(strstr(err, "': No such file or directory"));
}

static void test_dash_is_stdout(void **state)
{
	char err[256] = "";

	assert_ptr_equal(outfile__create("-", false, err, sizeof(err)), stdout);
	assert_ptr_equal(outfile__create("-", true, err, sizeof(err)), stdout);
	assert_int_equal(outfile__close(NULL), 0);
}

static void test_close_reports_a_failed_write(void **state)
{
	FILE *f = fopen("/dev/full", "w");

	if (!f)
		skip();
	fputs("does not fit", f);
	errno = 0;
	assert_int_equal(outfile__close(f), -1);
	assert_int_equal(errno, ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_file_is_0600),
		cmocka_unit_test(test_close_on_exec),
		cmocka_unit_test(test_existing_file_refused),
		cmocka_unit_test(test_symlink_never_followed),
		cmocka_unit_test(test_force_replaces_regular_file),
		cmocka_unit_test(test_force_refuses_non_regular),
		cmocka_unit_test(test_missing_directory),
		cmocka_unit_test(test_dash_is_stdout),
		cmocka_unit_test(test_close_reports_a_failed_write),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
