// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The cgroup name table (names.h, cgn__*): what views read a connection's pod and container
 * from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "names.h"

#define ID1  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID2  "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define UID_ "6f1c2d3e_4a5b_4c6d_8e7f_0a1b2c3d4e5f"
#define UID  "6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f"
#define POD  "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice"

static int teardown(void **state)
{
	(void)state;
	cgn__clear();
	return 0;
}

static const struct cg_name *set(uint64_t id, const char *path, const char *pod, const char *ctr)
{
	return cgn__set(id, path, strlen(path), pod, ctr);
}

/* Two containers of one pod share its number; each has its own. */
static void test_pod_and_containers(void **state)
{
	const struct cg_name *a, *b, *h;
	char s[CG_SHORT_ID_LEN + 1];

	(void)state;
	a = set(10, POD "/cri-containerd-" ID1 ".scope", "payments/checkout-7d9f", "app");
	b = set(11, POD "/cri-containerd-" ID2 ".scope", "payments/checkout-7d9f", NULL);
	h = set(12, "/user.slice/user-0.slice/session-1.scope", NULL, NULL);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(h);
	assert_ptr_equal(cgn__get(10), a);
	assert_null(cgn__get(13));
	assert_null(cgn__get(0));
	assert_int_equal(a->pod_ix, b->pod_ix);
	assert_int_not_equal(a->pod_ix, 0);
	assert_int_not_equal(a->ctr_ix, b->ctr_ix);
	assert_int_equal(h->pod_ix, 0);
	assert_int_equal(h->ctr_ix, 0);
	assert_string_equal(cgn__pod_name(a->pod_ix), "payments/checkout-7d9f");
	assert_string_equal(cgn__ctr_name(a->ctr_ix), "payments/checkout-7d9f/app");
	assert_string_equal(cgn__ctr_label(a->ctr_ix), "app");
	/* A container whose name is not known yet: its short id. */
	assert_string_equal(cgn__ctr_name(b->ctr_ix), "fedcba987654");
	assert_true(b->incomplete);
	assert_false(a->incomplete);
	assert_string_equal(cgn__short_id(a, s), "0123456789ab");
	assert_string_equal(a->p.pod_uid, UID);
	assert_string_equal(cgn__pod_name(0), "");
	assert_string_equal(cgn__pod_name(99), "");
	assert_string_equal(cgn__ctr_name(99), "");
	assert_int_equal(cgn__count(), 3);
}

/* Named again once the kubelet's logs tell more: same numbers, names now known. */
static void test_renamed(void **state)
{
	const struct cg_name *a, *b;
	uint32_t pod, ctr;

	(void)state;
	a = set(20, POD "/cri-containerd-" ID1 ".scope", NULL, NULL);
	assert_true(a->incomplete);
	pod = a->pod_ix;
	ctr = a->ctr_ix;
	assert_string_equal(cgn__pod_name(pod), "pod" UID);
	assert_string_equal(cgn__ctr_name(ctr), "0123456789ab");
	b = set(20, POD "/cri-containerd-" ID1 ".scope", "shop/cart-5c4b", "worker");
	assert_ptr_equal(cgn__get(20), b);
	assert_false(b->incomplete);
	assert_int_equal(b->pod_ix, pod);
	assert_int_equal(b->ctr_ix, ctr);
	assert_string_equal(cgn__pod_name(pod), "shop/cart-5c4b");
	assert_string_equal(cgn__ctr_name(ctr), "shop/cart-5c4b/worker");
	assert_int_equal(cgn__count(), 1);
}

/* A path is cut at its first NUL and at CGN_PATH_MAX; names at their bounds. */
static void test_bounds(void **state)
{
	static char big[CGN_PATH_MAX + 100];
	char pod[600];
	const struct cg_name *n;

	(void)state;
	n = cgn__set(30, "/a\0b", 4, NULL, NULL);
	assert_string_equal(n->path, "/a");
	memset(big, 'x', sizeof(big));
	big[0] = '/';
	n = cgn__set(31, big, sizeof(big), NULL, NULL);
	assert_int_equal(strlen(n->path), CGN_PATH_MAX);
	memset(pod, 'p', sizeof(pod) - 1);
	pod[sizeof(pod) - 1] = 0;
	n = cgn__set(32, "/", 1, pod, pod);
	assert_int_equal(strlen(n->pod), CG_NS_MAX + 1 + CG_NAME_MAX);
	assert_int_equal(strlen(n->container), CG_NAME_MAX);
	assert_null(cgn__set(0, "/", 1, NULL, NULL));
}

static void count(void *arg, const struct cg_name *n)
{
	uint64_t *next = arg;

	assert_int_equal(n->id, *next);
	(*next)++;
}

/* At most CGN_MAX ids; later ones are counted, not named; the table keeps its order. */
static void test_full(void **state)
{
	uint64_t next = 1;

	(void)state;
	for (uint64_t id = 1; id <= CGN_MAX; id++)
		assert_non_null(cgn__set(id, "/", 1, NULL, NULL));
	assert_null(cgn__set(CGN_MAX + 1, "/", 1, NULL, NULL));
	assert_int_equal(cgn__full(), 1);
	/* Naming a known id again still works when full. */
	assert_non_null(cgn__set(7, "/seven", 6, NULL, NULL));
	assert_string_equal(cgn__get(7)->path, "/seven");
	assert_int_equal(cgn__count(), CGN_MAX);
	cgn__foreach(count, &next);
	assert_int_equal(next, CGN_MAX + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_pod_and_containers, teardown),
		cmocka_unit_test_teardown(test_renamed, teardown),
		cmocka_unit_test_teardown(test_bounds, teardown),
		cmocka_unit_test_teardown(test_full, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
