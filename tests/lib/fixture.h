/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Fixtures the unit tests share: a connection described in a line (addresses as text), as
 * the connection table would hold it.
 */
#ifndef TD_FIXTURE_H
#define TD_FIXTURE_H

#include <stdint.h>

#include "conntable.h"

/* What fixture__conn fills in; fields left 0 (or NULL) stay 0 in the connection. */
struct fixture_conn {
	int family;		   /* 4 (default) or 6 */
	const char *laddr, *raddr; /* "10.0.0.1", "::1"; NULL: all zeros */
	uint16_t lport, rport;
	int role;  /* CT_ROLE_* */
	int state; /* TD_* */
	uint32_t pid;
	const char *comm;
	uint64_t cookie;
	uint32_t netns;
	uint64_t cgroup;
};

/* The connection f describes. An address that does not parse for its family aborts the
 * test program: it is a bug in the test. */
struct conn fixture__conn(const struct fixture_conn *f);

#endif /* TD_FIXTURE_H */
