// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The privilege drop (see privdrop.h): the ids, the groups, the capability sets,
 * no_new_privs, each set with the raw system calls and read back afterwards.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privdrop.h"

/* The user an image without a passwd file still has by number. */
#define NOBODY_ID 65534u

static int fail(char *err, size_t len, const char *what, int e)
{
	snprintf(err, len, "cannot drop privileges: %s: %s", what, strerror(e));
	return -1;
}

int privdrop__plan(const struct td_options *o, struct privdrop *p, char *err, size_t errlen)
{
	const char *name = o->user;
	struct passwd *pw;

	memset(p, 0, sizeof(*p));
	if (o->user_ids) {
		p->switch_ids = true;
		p->uid = o->user_uid;
		p->gid = o->user_gid;
		snprintf(p->who, sizeof(p->who), "%u:%u", p->uid, p->gid);
		return 0;
	}
	if (!name && geteuid() != 0) {
		/* Started unprivileged (systemd's DynamicUser, setpriv): keep the ids,
		 * lose the capabilities. */
		p->uid = (uint32_t)geteuid();
		p->gid = (uint32_t)getegid();
		snprintf(p->who, sizeof(p->who), "%u:%u", p->uid, p->gid);
		return 0;
	}
	p->switch_ids = true;
	errno = 0;
	pw = getpwnam(name ?: "nobody");
	if (!pw && name) {
		snprintf(err, errlen, "invalid user '%s' in --user: %s", name,
			 errno ? strerror(errno) : "no such user");
		return -1;
	}
	if (!pw) {
		p->uid = p->gid = NOBODY_ID;
		p->fallback = true;
		snprintf(p->who, sizeof(p->who), "%u:%u", p->uid, p->gid);
		return 0;
	}
	if (!pw->pw_uid || !pw->pw_gid) {
		snprintf(err, errlen, "invalid user '%s' in --user: it is root (uid %u, gid %u)",
			 name ?: "nobody", (unsigned int)pw->pw_uid, (unsigned int)pw->pw_gid);
		return -1;
	}
	p->uid = (uint32_t)pw->pw_uid;
	p->gid = (uint32_t)pw->pw_gid;
	snprintf(p->who, sizeof(p->who), "%s (%u:%u)", name ?: "nobody", p->uid, p->gid);
	return 0;
}

/* The highest capability number this kernel knows. */
static int cap_last(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	int last = -1;

	if (f) {
		if (fscanf(f, "%d", &last) != 1 || last < 0 || last > 63)
			last = -1;
		fclose(f);
	}
	if (last < 0) /* no /proc: ask the bounding set until the kernel says no such cap */
		for (last = 0; last < 63 && prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0; last++)
			;
	return last;
}

/* Threads of this process (/proc/self/status), or 0 when it cannot be read. */
static int thread_count(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int n = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

static int caps_get(uint64_t *eff, uint64_t *prm, uint64_t *inh)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &hdr, d))
		return -1;
	*eff = d[0].effective | (uint64_t)d[1].effective << 32;
	*prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	*inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	return 0;
}

/* Effective and permitted to keep, inheritable empty. */
static int caps_set(uint64_t keep)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	d[0].effective = d[0].permitted = (uint32_t)keep;
	d[1].effective = d[1].permitted = (uint32_t)(keep >> 32);
	return (int)syscall(SYS_capset, &hdr, d);
}

bool privdrop__permitted(int cap)
{
	uint64_t eff, prm, inh;

	return cap >= 0 && cap < 64 && !caps_get(&eff, &prm, &inh) && (prm >> cap & 1);
}

/* Read back what privdrop__apply() set. */
static int verify(const struct privdrop *p, int last, char *err, size_t errlen)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	uint64_t eff, prm, inh;
	char what[160];

	if (getresuid(&ru, &eu, &su) || getresgid(&rg, &eg, &sg))
		return fail(err, errlen, "reading the ids back", errno);
	if (p->switch_ids && (ru != p->uid || eu != p->uid || su != p->uid || rg != p->gid ||
			      eg != p->gid || sg != p->gid)) {
		snprintf(err, errlen,
			 "cannot drop privileges: ids are uid %u/%u/%u gid %u/%u/%u, not %u:%u",
			 (unsigned int)ru, (unsigned int)eu, (unsigned int)su, (unsigned int)rg,
			 (unsigned int)eg, (unsigned int)sg, p->uid, p->gid);
		return -1;
	}
	if (p->switch_ids && getgroups(0, NULL) != 0) {
		snprintf(err, errlen, "cannot drop privileges: %d supplementary groups remain",
			 getgroups(0, NULL));
		return -1;
	}
	if (caps_get(&eff, &prm, &inh))
		return fail(err, errlen, "capget", errno);
	if (eff != p->keep || prm != p->keep || inh) {
		snprintf(err, errlen,
			 "cannot drop privileges: capabilities effective %#llx permitted %#llx "
			 "inheritable %#llx remain, not %#llx",
			 (unsigned long long)eff, (unsigned long long)prm, (unsigned long long)inh,
			 (unsigned long long)p->keep);
		return -1;
	}
	for (int c = 0; c <= last; c++) {
		int r = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0);

		if (r < 0 && errno == EINVAL && !c)
			break; /* before 4.3: no ambient set */
		if (r != 0) {
			snprintf(what, sizeof(what), "ambient capability %d is still set", c);
			return fail(err, errlen, what, r < 0 ? errno : EPERM);
		}
		if (p->bounding_cleared && prctl(PR_CAPBSET_READ, c, 0, 0, 0) != 0) {
			snprintf(what, sizeof(what), "capability %d is still in the bounding set",
				 c);
			return fail(err, errlen, what, EPERM);
		}
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return fail(err, errlen, "no_new_privs is not set", EPERM);
	if (prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) != 0)
		return fail(err, errlen, "keep-capabilities is still set", EPERM);
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return fail(err, errlen, "the process is still dumpable", EPERM);
	/* The proof that counts: root is out of reach. */
	if (p->switch_ids && p->uid && setuid(0) == 0)
		return fail(err, errlen, "setuid(0) still succeeds", EPERM);
	return 0;
}

int privdrop__apply(struct privdrop *p, char *err, size_t errlen)
{
	int last = cap_last(), threads = thread_count();
	char what[64];

	if (threads > 1) {
		snprintf(err, errlen,
			 "cannot drop privileges: %d threads are running (credentials are per "
			 "thread: the drop must come first)",
			 threads);
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return fail(err, errlen, "PR_SET_NO_NEW_PRIVS", errno);
	/* Only execve() gains from the bounding set, and no_new_privs already stops
	 * that; cleared too where CAP_SETPCAP allows, so that it says what it means. */
	p->bounding_cleared = true;
	p->bounding_errno = 0;
	for (int c = 0; c <= last; c++) {
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == 0)
			continue;
		if (errno == EINVAL)
			break;
		p->bounding_cleared = false;
		p->bounding_errno = errno;
		break;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return fail(err, errlen, "clearing the ambient capabilities", errno);
	if (p->switch_ids) {
		/* Across setresuid() from root the permitted set is emptied unless this
		 * is set; effective is emptied either way and restored below. */
		if (p->keep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))
			return fail(err, errlen, "PR_SET_KEEPCAPS", errno);
		if (setgroups(0, NULL))
			return fail(err, errlen, "setgroups(0) (needs CAP_SETGID)", errno);
		if (setresgid(p->gid, p->gid, p->gid)) {
			snprintf(what, sizeof(what), "setresgid(%u) (needs CAP_SETGID)", p->gid);
			return fail(err, errlen, what, errno);
		}
		if (setresuid(p->uid, p->uid, p->uid)) {
			snprintf(what, sizeof(what), "setresuid(%u) (needs CAP_SETUID)", p->uid);
			return fail(err, errlen, what, errno);
		}
	}
	if (caps_set(p->keep))
		return fail(err, errlen, "capset", errno);
	/* Not dumpable: no other process of the same user may ptrace tcpdwell or open
	 * its /proc/PID/fd (its BPF descriptors, and CAP_BPF where kept). Changing the
	 * ids already did this; a run that keeps its user needs it said. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		return fail(err, errlen, "PR_SET_DUMPABLE", errno);
	if (p->keep && prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0))
		return fail(err, errlen, "clearing PR_SET_KEEPCAPS", errno);
	return verify(p, last, err, errlen);
}

int privdrop__probe(const struct privdrop *p, int (*try)(void *arg), void *arg)
{
	struct privdrop q = *p;
	int status, r;
	pid_t pid;

	q.keep = 0;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char err[512];

		/* _exit: the parent's buffered output is the parent's to write. */
		if (privdrop__apply(&q, err, sizeof(err)))
			_exit(255);
		r = try(arg);
		_exit(r >= 0 ? 0 : -r < 255 ? -r : 254);
	}
	while ((r = (int)waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) == 255)
		return -1;
	return WEXITSTATUS(status);
}

void privdrop__report(const struct privdrop *pd, bool verbose)
{
	if (!verbose)
		return;
	if (pd->fallback)
		fprintf(stderr, "tcpdwell: no user 'nobody' on this host: using %s\n", pd->who);
	fprintf(stderr,
		"tcpdwell: privileges: %s %s%s; capabilities: %s; bounding set %s%s%s; "
		"no_new_privs\n",
		pd->switch_ids ? "running as" : "staying", pd->who,
		pd->switch_ids ? ", no supplementary groups" : " (not started as root)",
		pd->keep ? "CAP_BPF only (the kernel wants it to read loss counters)" : "none",
		pd->bounding_cleared ? "cleared" : "kept (",
		pd->bounding_cleared ? "" : strerror(pd->bounding_errno),
		pd->bounding_cleared ? "" : ": no CAP_SETPCAP; no_new_privs makes it moot)");
}
