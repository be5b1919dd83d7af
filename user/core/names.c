// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Command names, interned, and the kernel's reset reason names (see names.h). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "names.h"

struct names_table names;

static uint32_t name_hash(const char name[TD_COMM_LEN])
{
	uint64_t a, b;

	memcpy(&a, name, 8);
	memcpy(&b, name + 8, 8);
	return (uint32_t)mix64(a ^ mix64(b));
}

/* Doubles the index (or makes it); false if memory is short. */
static bool grow(void)
{
	uint32_t nmask = names.ix ? names.mask * 2 + 1 : 255;
	uint16_t *nix = calloc((size_t)nmask + 1, sizeof(*nix));

	if (!nix)
		return false;
	for (uint32_t id = 1; id < names.n; id++) {
		uint32_t h = name_hash(names__get((uint16_t)id)) & nmask;

		while (nix[h])
			h = (h + 1) & nmask;
		nix[h] = (uint16_t)id;
	}
	free(names.ix);
	names.ix = nix;
	names.mask = nmask;
	return true;
}

uint16_t names__intern(const char name[TD_COMM_LEN])
{
	char(*chunk)[TD_COMM_LEN];
	uint32_t h, id;

	if (!name[0])
		return 0;
	/* At most half full; a grow that fails is fine while one entry is empty. */
	if (names.n < NAMES_MAX && (uint64_t)(names.n + 1) * 2 > (uint64_t)names.mask + 1 &&
	    !grow() && (!names.ix || names.n > names.mask))
		return 0;
	for (h = name_hash(name) & names.mask; names.ix[h]; h = (h + 1) & names.mask) {
		if (!memcmp(names__get(names.ix[h]), name, TD_COMM_LEN))
			return names.ix[h];
	}
	id = names.n ? names.n : 1; /* 0 is "" */
	if (id == NAMES_MAX)
		return 0;
	chunk = names.chunk[id / NAMES_CHUNK];
	if (!chunk) {
		chunk = calloc(NAMES_CHUNK, TD_COMM_LEN);
		if (!chunk)
			return 0;
		names.chunk[id / NAMES_CHUNK] = chunk;
	}
	memcpy(chunk[id % NAMES_CHUNK], name, TD_COMM_LEN);
	names.ix[h] = (uint16_t)id;
	names.n = id + 1;
	return (uint16_t)id;
}

/* --- reset reasons --- */

struct rst_reasons rst_reasons;

void rst__put(struct rst_reasons *t, uint32_t code, const char *name, size_t len)
{
	char *d;

	if (code >= RST_REASONS_MAX)
		return;
	if (len > RST_NAME_LEN - 1)
		len = RST_NAME_LEN - 1;
	d = t->names[code];
	for (size_t i = 0; i < len; i++)
		d[i] = name[i] > ' ' && name[i] < 0x7f ? name[i] : '?';
	d[len] = 0;
	if (code >= t->n)
		t->n = code + 1;
}

void rst__set(uint32_t code, const char *name, size_t len)
{
	rst__put(&rst_reasons, code, name, len);
}

void rst__clear(void)
{
	memset(&rst_reasons, 0, sizeof(rst_reasons));
}

const char *rst__name(uint32_t code)
{
	if (code >= rst_reasons.n || !rst_reasons.names[code][0])
		return NULL;
	return rst_reasons.names[code];
}
