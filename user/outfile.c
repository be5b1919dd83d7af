// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Output files (outfile.h): created with O_EXCL and O_NOFOLLOW, mode 0600, or
 * with --force a regular file replaced in place. The last stage of the pipeline
 * for record and -w, and for timeline -o.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outfile.h"

#define OUTFILE_MODE 0600

static FILE *fail(int fd, char *err, size_t errlen, const char *fmt, const char *path,
		  const char *why)
{
	int e = errno;

	if (fd >= 0)
		close(fd);
	if (err && errlen)
		snprintf(err, errlen, fmt, path, why);
	errno = e;
	return NULL;
}

/*
 * --force: the file exists. What the name is now (lstat) keeps a link, FIFO or
 * device from being opened at all (opening some devices acts on them). The open
 * then goes without O_CREAT's exclusion but still without following a link, and
 * non-blocking, so that a FIFO put there since cannot hold it until a reader
 * comes; the open file itself (fstat: the name can change between a look and the
 * open) is judged again, and only then truncated.
 */
static int open_existing(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd, fl;

	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		errno = EEXIST;
		fail(-1, err, errlen, "cannot replace '%s': %s", path,
		     S_ISLNK(st.st_mode) ? "it is a symbolic link" : "not a regular file");
		return -1;
	}
	fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT) /* gone since: create it as if there had been none */
			return -2;
		if (errno == ELOOP)
			fail(-1, err, errlen, "cannot replace '%s': %s", path,
			     "it is a symbolic link");
		else if (errno == ENXIO) /* a FIFO without a reader */
			fail(-1, err, errlen, "cannot replace '%s': %s", path,
			     "not a regular file");
		else
			fail(-1, err, errlen, "cannot replace '%s': %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st)) {
		fail(fd, err, errlen, "cannot replace '%s': %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(fd, err, errlen, "cannot replace '%s': %s", path, "not a regular file");
		return -1;
	}
	if (ftruncate(fd, 0) || ((st.st_mode & 077) && fchmod(fd, st.st_mode & 0700)) ||
	    (fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK)) {
		fail(fd, err, errlen, "cannot replace '%s': %s", path, strerror(errno));
		return -1;
	}
	return fd;
}

FILE *outfile__create(const char *path, bool force, char *err, size_t errlen)
{
	const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
	FILE *f;
	int fd;

	if (!strcmp(path, "-"))
		return stdout;
	fd = open(path, flags, OUTFILE_MODE);
	if (fd < 0 && errno == EEXIST) {
		if (!force)
			return fail(-1, err, errlen, "'%s' exists %s", path,
				    "(use --force to replace it)");
		fd = open_existing(path, err, errlen);
		if (fd == -2)
			fd = open(path, flags, OUTFILE_MODE);
		else if (fd < 0)
			return NULL;
	}
	if (fd < 0)
		return fail(-1, err, errlen, "cannot create '%s': %s", path, strerror(errno));
	f = fdopen(fd, "w");
	if (!f)
		return fail(fd, err, errlen, "cannot create '%s': %s", path, strerror(errno));
	return f;
}

int outfile__close(FILE *f)
{
	int bad;

	if (!f)
		return 0;
	errno = 0;
	bad = fflush(f) | ferror(f);
	if (f == stdout)
		return bad ? -1 : 0;
	if (fclose(f) || bad) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}
