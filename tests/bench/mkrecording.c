// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Writes a synthetic recording (tests/lib/synth.c) of N connection lives to a file, for
 * the replay benchmark: `mkrecording FILE N [SEED]`. Prints the record count.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth.h"

int main(int argc, char **argv)
{
	struct synth_stats st;
	unsigned long long n, seed = 1;
	char *end;
	FILE *f;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: mkrecording FILE CONNECTIONS [SEED]\n");
		return 2;
	}
	errno = 0;
	n = strtoull(argv[2], &end, 10);
	if (errno || *end || !n) {
		fprintf(stderr, "mkrecording: invalid count '%s'\n", argv[2]);
		return 2;
	}
	if (argc == 4) {
		seed = strtoull(argv[3], &end, 10);
		if (*end) {
			fprintf(stderr, "mkrecording: invalid seed '%s'\n", argv[3]);
			return 2;
		}
	}
	f = fopen(argv[1], "w");
	if (!f) {
		fprintf(stderr, "mkrecording: cannot create '%s': %s\n", argv[1], strerror(errno));
		return 1;
	}
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	if (synth__write(f, n, seed, &st) || fclose(f)) {
		fprintf(stderr, "mkrecording: cannot write '%s': %s\n", argv[1], strerror(errno));
		return 1;
	}
	printf("%" PRIu64 " records (%" PRIu64 " events) for %" PRIu64 " connections\n",
	       st.records, st.events, st.conns);
	return 0;
}
