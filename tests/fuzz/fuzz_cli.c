// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target for the command line: the input is split at NUL bytes into
 * words, the arguments after argv[0] "tcpdwell", and given to cli__parse().
 * Besides the sanitizers' checks (and libFuzzer's, which reports an exit() as a
 * failure), the result must be one cli__parse() promises: TD_EXIT_OK,
 * CLI_HELP, CLI_VERSION, or TD_EXIT_USAGE with a one-line message; a parse that
 * succeeds keeps its options in range; and a second parse of the same words
 * gives the same answer (getopt's state does not carry over).
 *
 *   ./fuzz_cli -max_total_time=60 tests/fuzz/corpus-cli
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_WORDS 64

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_cli: %s\n", what);
		abort();
	}
}

/* argv from the input: a copy of its own, as getopt may reorder argv. */
static int split(const uint8_t *data, size_t size, char *text, char **argv)
{
	int argc = 1;

	argv[0] = "tcpdwell";
	memcpy(text, data, size);
	text[size] = 0;
	for (size_t i = 0; i < size && argc < MAX_WORDS; i++) {
		argv[argc++] = text + i;
		i += strlen(text + i);
	}
	argv[argc] = NULL;
	return argc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *again = malloc(size + 1);
	char *argv[MAX_WORDS + 1], *argv2[MAX_WORDS + 1];
	char err[256], err2[256];
	struct td_options o, o2;
	int argc, ret, ret2;

	check(text && again, "malloc");
	argc = split(data, size, text, argv);
	ret = cli__parse(argc, argv, &o, err, sizeof(err));
	check(ret == TD_EXIT_OK || ret == CLI_HELP || ret == CLI_VERSION || ret == TD_EXIT_USAGE,
	      "a result cli__parse does not return");
	if (ret == TD_EXIT_USAGE)
		check(err[0] && !strchr(err, '\n'), "usage error without a one-line message");
	if (ret == TD_EXIT_OK) {
		check(err[0] == 0, "a message on success");
		check(o.max_conns >= 16 && o.max_conns <= 100000000, "max_conns out of range");
		check(strcmp(cli__command_name(o.cmd), "unknown"), "a command out of range");
	}
	split(data, size, again, argv2);
	ret2 = cli__parse(argc, argv2, &o2, err2, sizeof(err2));
	check(ret2 == ret && !strcmp(err, err2), "a second parse answers differently");
	free(text);
	free(again);
	return 0;
}
