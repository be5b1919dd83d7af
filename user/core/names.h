/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Command names, interned: one table for the process, since a struct conn says its owner's
 * name (a 16-bit number) wherever it is, and conn__comm() has no table to ask. Names live in
 * chunks that never move, so a name's string stays where it is; an index by hash finds a
 * name's number. Number 0 is "". Both grow as names come: a few hundred names take a few KiB,
 * the most there can be (65,535) about 1.25 MiB. Names are never forgotten, so a number once
 * given stays right for the life of the process.
 */
#ifndef TD_NAMES_H
#define TD_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/tcpdwell.h"

#define NAMES_MAX   65536 /* numbers are 16 bits */
#define NAMES_CHUNK 256	  /* names per chunk */

struct names_table {
	char (*chunk[NAMES_MAX / NAMES_CHUNK])[TD_COMM_LEN];
	uint16_t *ix;  /* open addressing: a name's number, 0 = empty */
	uint32_t mask; /* ix has mask + 1 entries */
	uint32_t n;    /* numbers given, "" included */
};
extern struct names_table names;

/* The name of number id (given by names__intern, not 0): TD_COMM_LEN bytes, zero after its
 * end. Inline: a record's owner is looked up by it on the hot path. */
static inline const char *names__get(uint16_t id)
{
	return names.chunk[id / NAMES_CHUNK][id % NAMES_CHUNK];
}

/* The number of name (TD_COMM_LEN bytes, zero after its end; "" is 0); 0 too if the table is
 * full or memory short. */
uint16_t names__intern(const char name[TD_COMM_LEN]);

/*
 * The names of the kernel's reset reasons (enum sk_rst_reason, 6.10+), by number: one table
 * for the process, as the numbering is the recording kernel's own (it grows between
 * versions). Live, the tracer fills it from the kernel's BTF; on replay, the recording's
 * RST_REASONS record fills it. A number without a name prints as its number.
 */
#define RST_REASONS_MAX 128 /* 6.18 has 41; more are ignored (they print as numbers) */
#define RST_NAME_LEN	48  /* "TCP_ABORT_ON_CLOSE": the enumerator less SK_RST_REASON_ */

struct rst_reasons {
	uint32_t n; /* names[0..n) are set ("" where the kernel has no such number) */
	char names[RST_REASONS_MAX][RST_NAME_LEN];
};
extern struct rst_reasons rst_reasons;

/* Name number code in t (cut to RST_NAME_LEN - 1 bytes; its bytes outside printable ASCII,
 * spaces included, become '?'). A code >= RST_REASONS_MAX is ignored. t starts zeroed. */
void rst__put(struct rst_reasons *t, uint32_t code, const char *name, size_t len);
/* rst__put() into the process's table. */
void rst__set(uint32_t code, const char *name, size_t len);
/* Forget every name. */
void rst__clear(void);
/* The name of code, or NULL when none is known. */
const char *rst__name(uint32_t code);

#endif /* TD_NAMES_H */
