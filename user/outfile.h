/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Output files: every file tcpdwell writes (record -o, -w, timeline -o) is made
 * here. tcpdwell runs as root, often in a directory others can write to, so a
 * file is created new, never through a symbolic link, readable by its owner only;
 * --force replaces an existing regular file and nothing else.
 */
#ifndef TD_OUTFILE_H
#define TD_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * Open path for writing; "-" is stdout (returned as is). Otherwise the file is
 * created with mode 0600 (less the umask) and must not exist: a symbolic link
 * counts as existing and is never followed. With force an existing regular file
 * is truncated and replaced instead (its group and other permission bits are
 * cleared, as a new file would have them); a symbolic link, a directory, a FIFO
 * or a device is refused. The descriptor is close-on-exec. Returns the stream,
 * owned by the caller (close it with outfile__close), or NULL with a one-line
 * message naming the path in err, e.g. "'rec.tdr' exists (use --force to
 * replace it)".
 */
FILE *outfile__create(const char *path, bool force, char *err, size_t errlen);

/*
 * Flush f and close it (stdout is only flushed: it stays open). NULL is a no-op.
 * Returns 0, or -1 with errno set when a write, the flush or the close failed:
 * the data may not be on disk, and the caller must say so.
 */
int outfile__close(FILE *f);

#endif /* TD_OUTFILE_H */
