// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Fixtures the unit tests share (see fixture.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

static void set_addr(int family, uint8_t dst[16], const char *s)
{
	memset(dst, 0, 16);
	if (s && inet_pton(family == 6 ? AF_INET6 : AF_INET, s, dst) != 1) {
		fprintf(stderr, "test bug: bad address '%s' for family %d\n", s, family);
		abort();
	}
}

struct conn fixture__conn(const struct fixture_conn *f)
{
	struct conn c;

	memset(&c, 0, sizeof(c));
	c.family = (uint8_t)(f->family ? f->family : 4);
	set_addr(c.family, c.saddr, f->laddr);
	set_addr(c.family, c.daddr, f->raddr);
	c.sport = f->lport;
	c.dport = f->rport;
	c.role = (uint8_t)f->role;
	c.state = (uint8_t)f->state;
	c.pid = f->pid;
	if (f->comm)
		conn__set_comm(&c, f->comm);
	c.cookie = f->cookie;
	c.netns = f->netns;
	c.cgroup = f->cgroup;
	return c;
}
