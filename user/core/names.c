// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Command names, interned, and the kernel's reset reason names (see names.h). */
#include <stdbool.h>
#include <stdio.h>
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

/* --- cgroup names --- */

/* Pods by uid and containers by id share one kind of list: a number per key, its display
 * name, kept in the order given (number = index + 1). Few (a node runs at most a few hundred
 * pods), so a linear search at naming time, which happens once per cgroup, is enough. */
struct cgn_group {
	char key[CG_ID_LEN + 1];
	char *name;
};

static struct {
	struct cg_name **v; /* in naming order */
	uint32_t n, cap;
	uint32_t *ix; /* open addressing by id: index into v + 1, 0 = empty */
	uint32_t mask;
	uint64_t full;
	struct cgn_group *pods, *ctrs;
	uint32_t npods, nctrs, cappods, capctrs;
} cgn;

static uint32_t cgn_slot(uint64_t id)
{
	uint32_t h = (uint32_t)mix64(id) & cgn.mask;

	while (cgn.ix[h] && cgn.v[cgn.ix[h] - 1]->id != id)
		h = (h + 1) & cgn.mask;
	return h;
}

const struct cg_name *cgn__get(uint64_t id)
{
	uint32_t i;

	if (!id || !cgn.ix)
		return NULL;
	i = cgn.ix[cgn_slot(id)];
	return i ? cgn.v[i - 1] : NULL;
}

/* Grows the index to keep it at most half full; false if memory is short. */
static bool cgn_grow(void)
{
	uint32_t nmask = cgn.ix ? cgn.mask * 2 + 1 : 255;
	uint32_t *nix = calloc((size_t)nmask + 1, sizeof(*nix));

	if (!nix)
		return false;
	free(cgn.ix);
	cgn.ix = nix;
	cgn.mask = nmask;
	for (uint32_t i = 0; i < cgn.n; i++)
		cgn.ix[cgn_slot(cgn.v[i]->id)] = i + 1;
	return true;
}

/* The number of key in list (added with name when new; a known key's name is replaced when
 * name is longer known than before); 0 when memory is short. */
static uint32_t cgn_group(struct cgn_group **list, uint32_t *n, uint32_t *cap, const char *key,
			  const char *name, bool name_known)
{
	struct cgn_group *g;
	char *copy;

	for (uint32_t i = 0; i < *n; i++) {
		g = &(*list)[i];
		if (strcmp(g->key, key))
			continue;
		if (name_known && strcmp(g->name, name)) {
			copy = strdup(name);
			if (copy) {
				free(g->name);
				g->name = copy;
			}
		}
		return i + 1;
	}
	if (*n == *cap) {
		uint32_t ncap = *cap ? *cap * 2 : 64;
		struct cgn_group *nl = realloc(*list, ncap * sizeof(*nl));

		if (!nl)
			return 0;
		*list = nl;
		*cap = ncap;
	}
	copy = strdup(name);
	if (!copy)
		return 0;
	g = &(*list)[*n];
	snprintf(g->key, sizeof(g->key), "%s", key);
	g->name = copy;
	return ++*n;
}

const struct cg_name *cgn__set(uint64_t id, const char *path, size_t len, const char *pod,
			       const char *container)
{
	const char *nul = memchr(path, 0, len);
	struct cg_name *c, *old = NULL;
	size_t lpod, lctr, need;
	uint32_t i, slot;
	char buf[CG_NAME_MAX * 2 + CG_NS_MAX + 8];
	char *p;

	if (!id)
		return NULL;
	if (nul)
		len = (size_t)(nul - path);
	if (len > CGN_PATH_MAX)
		len = CGN_PATH_MAX;
	pod = pod ?: "";
	container = container ?: "";
	lpod = strnlen(pod, CG_NS_MAX + 1 + CG_NAME_MAX);
	lctr = strnlen(container, CG_NAME_MAX);
	if (cgn.ix) {
		i = cgn.ix[cgn_slot(id)];
		old = i ? cgn.v[i - 1] : NULL;
	}
	if (!old && (cgn.n == CGN_MAX ||
		     ((uint64_t)(cgn.n + 1) * 2 > (uint64_t)cgn.mask + 1 && !cgn_grow()))) {
		cgn.full++;
		return NULL;
	}
	need = sizeof(*c) + len + 1 + lpod + 1 + lctr + 1;
	c = calloc(1, need);
	if (!c) {
		cgn.full++;
		return NULL;
	}
	p = (char *)(c + 1);
	memcpy(p, path, len);
	c->path = p;
	p += len + 1;
	memcpy(p, pod, lpod);
	c->pod = p;
	p += lpod + 1;
	memcpy(p, container, lctr);
	c->container = p;
	c->id = id;
	cgpath__parse(c->path, len, &c->p);
	c->incomplete = (c->p.pod_uid[0] && !c->pod[0]) ||
			(c->p.container_id[0] && c->p.pod_uid[0] && !c->container[0]);
	if (c->p.pod_uid[0]) {
		if (c->pod[0])
			snprintf(buf, sizeof(buf), "%s", c->pod);
		else
			snprintf(buf, sizeof(buf), "pod%s", c->p.pod_uid);
		c->pod_ix = cgn_group(&cgn.pods, &cgn.npods, &cgn.cappods, c->p.pod_uid, buf,
				      c->pod[0]);
	}
	if (c->p.container_id[0]) {
		if (c->pod[0] && c->container[0])
			snprintf(buf, sizeof(buf), "%s/%s", c->pod, c->container);
		else if (c->container[0])
			snprintf(buf, sizeof(buf), "%s", c->container);
		else
			snprintf(buf, sizeof(buf), "%.*s", CG_SHORT_ID_LEN, c->p.container_id);
		c->ctr_ix = cgn_group(&cgn.ctrs, &cgn.nctrs, &cgn.capctrs, c->p.container_id, buf,
				      c->container[0]);
	}
	slot = cgn_slot(id);
	if (old) {
		/* Replaced in place: its index and order stay. Views may hold the old entry's
		 * strings only for the line they print, so it can go. */
		cgn.v[cgn.ix[slot] - 1] = c;
		free(old);
		return c;
	}
	if (cgn.n == cgn.cap) {
		uint32_t ncap = cgn.cap ? cgn.cap * 2 : 256;
		struct cg_name **nv = realloc(cgn.v, ncap * sizeof(*nv));

		if (!nv) {
			free(c);
			cgn.full++;
			return NULL;
		}
		cgn.v = nv;
		cgn.cap = ncap;
	}
	cgn.v[cgn.n++] = c;
	cgn.ix[slot] = cgn.n;
	return c;
}

uint64_t cgn__full(void)
{
	return cgn.full;
}

uint32_t cgn__count(void)
{
	return cgn.n;
}

void cgn__foreach(void (*fn)(void *arg, const struct cg_name *n), void *arg)
{
	for (uint32_t i = 0; i < cgn.n; i++)
		fn(arg, cgn.v[i]);
}

const char *cgn__short_id(const struct cg_name *n, char buf[CG_SHORT_ID_LEN + 1])
{
	snprintf(buf, CG_SHORT_ID_LEN + 1, "%.*s", CG_SHORT_ID_LEN, n->p.container_id);
	return buf;
}

const char *cgn__pod_name(uint32_t ix)
{
	return ix && ix <= cgn.npods ? cgn.pods[ix - 1].name : "";
}

const char *cgn__ctr_name(uint32_t ix)
{
	return ix && ix <= cgn.nctrs ? cgn.ctrs[ix - 1].name : "";
}

const char *cgn__ctr_label(uint32_t ix)
{
	const char *name = cgn__ctr_name(ix), *slash = strrchr(name, '/');

	return slash ? slash + 1 : name;
}

void cgn__clear(void)
{
	for (uint32_t i = 0; i < cgn.n; i++)
		free(cgn.v[i]);
	for (uint32_t i = 0; i < cgn.npods; i++)
		free(cgn.pods[i].name);
	for (uint32_t i = 0; i < cgn.nctrs; i++)
		free(cgn.ctrs[i].name);
	free(cgn.v);
	free(cgn.ix);
	free(cgn.pods);
	free(cgn.ctrs);
	memset(&cgn, 0, sizeof(cgn));
}
