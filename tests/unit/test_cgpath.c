// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of the cgroup path and kubelet log name reader (user/core/cgpath.c): the path
 * each runtime and cgroup driver really makes, nested ones (kind, Docker-in-Docker), and
 * hostile ones (ids and uids one byte off, NULs, escapes, paths past 64 KiB, ".."). Every
 * input is copied to a heap buffer of its exact size, without a terminator, so a read past
 * len is caught by ASan or valgrind; every output is compared whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cgpath.h"

/* Three container ids (sha256 of "a", "b", "c": the shape docker and containerd use). */
#define ID1 "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
#define ID2 "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
#define ID3 "2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6"
/* A pod uid in the API's form and in the systemd driver's. */
#define UID1  "8a3f5c2e-1b4d-4e6f-9a7b-0c1d2e3f4a5b"
#define UID1_ "8a3f5c2e_1b4d_4e6f_9a7b_0c1d2e3f4a5b"
#define UID2  "d4c3b2a1-0f9e-4d8c-b7a6-958473625140"
#define UID2_ "d4c3b2a1_0f9e_4d8c_b7a6_958473625140"

_Static_assert(sizeof(ID1) == CG_ID_LEN + 1 && sizeof(ID2) == CG_ID_LEN + 1 &&
		       sizeof(ID3) == CG_ID_LEN + 1,
	       "test ids are 64 digits");
_Static_assert(sizeof(UID1) == CG_UID_LEN + 1 && sizeof(UID2_) == CG_UID_LEN + 1,
	       "test uids are 36 characters");

#define NONE   CG_RT_NONE
#define DOCKER CG_RT_DOCKER
#define CTRD   CG_RT_CONTAINERD
#define CRIO   CG_RT_CRIO
#define PODMAN CG_RT_PODMAN
#define KUBE   CG_RT_KUBE
#define NOPOD  CG_QOS_NONE
#define GUAR   CG_QOS_GUARANTEED
#define BURST  CG_QOS_BURSTABLE
#define BEST   CG_QOS_BESTEFFORT

#define KP_SYSTEMD_BURST "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
#define KP_SYSTEMD_BEST	 "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
#define KP_SYSTEMD_GUAR	 "/kubepods.slice/kubepods-pod"

/* At most 120 bytes of s, with the bytes a terminal would act on shown as \xNN. */
static const char *shown(const char *s, size_t n)
{
	static char buf[120 * 4 + 4];
	size_t o = 0;

	for (size_t i = 0; i < n && i < 120; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\\x%02x", c);
	}
	if (n > 120)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "...");
	buf[o] = 0;
	return buf;
}

/* Parses a copy of path in a buffer of exactly len bytes and compares the whole result
 * (the struct is all chars: no padding, so memcmp is exact). */
static void check_parse(int line, const char *path, size_t len, unsigned char rt,
			unsigned char qos, const char *id, const char *uid)
{
	struct cg_parsed want, got;
	char *copy = malloc(len ? len : 1);
	bool ok;

	assert_non_null(copy);
	memcpy(copy, path, len);
	memset(&want, 0, sizeof(want));
	want.runtime = rt;
	want.qos = qos;
	strcpy(want.container_id, id);
	strcpy(want.pod_uid, uid);
	/* Poisoned, so a field left unset shows. */
	memset(&got, 0xa5, sizeof(got));
	ok = cgpath__parse(copy, len, &got);
	free(copy);
	if (ok != (rt != NONE || qos != NOPOD) || memcmp(&want, &got, sizeof(want))) {
		print_error("line %d: path \"%s\" (%zu bytes)\n", line, shown(path, len), len);
		print_error("  want %d runtime=%u qos=%u id=\"%s\" uid=\"%s\"\n", rt != NONE || qos,
			    rt, qos, id, uid);
		print_error("  got  %d runtime=%u qos=%u id=\"%.*s\" uid=\"%.*s\"\n", ok,
			    got.runtime, got.qos, CG_ID_LEN, got.container_id, CG_UID_LEN,
			    got.pod_uid);
		fail();
	}
}

/* For string literals (sizeof keeps a NUL inside them). */
#define EXPECT(path, rt, qos, id, uid)                                                             \
	check_parse(__LINE__, path, sizeof(path) - 1, rt, qos, id, uid)
#define EXPECT_NONE(path) EXPECT(path, NONE, NOPOD, "", "")
/* For strings built at run time. */
#define EXPECT_STR(path, rt, qos, id, uid)                                                         \
	check_parse(__LINE__, path, strlen(path), rt, qos, id, uid)

static void test_docker_systemd(void **state)
{
	EXPECT("/system.slice/docker-" ID1 ".scope", DOCKER, NOPOD, ID1, "");
	/* rootless, systemd driver */
	EXPECT("/user.slice/user-1000.slice/user@1000.service/user.slice/docker-" ID1 ".scope",
	       DOCKER, NOPOD, ID1, "");
	/* A process in a sub-cgroup of the scope is still in the container. */
	EXPECT("/system.slice/docker-" ID1 ".scope/init", DOCKER, NOPOD, ID1, "");
	EXPECT_NONE("/system.slice/docker.service");
	EXPECT_NONE("/system.slice/containerd.service");
	EXPECT_NONE("/system.slice/docker-" ID1);
	EXPECT_NONE("/system.slice/docker-" ID1 ".slice");
	EXPECT_NONE("/system.slice/docker_" ID1 ".scope");
	EXPECT_NONE("/system.slice/xdocker-" ID1 ".scope");
	EXPECT_NONE("/system.slice/docker-" ID1 ".scopex");
}

static void test_docker_cgroupfs(void **state)
{
	EXPECT("/docker/" ID1, DOCKER, NOPOD, ID1, "");
	EXPECT("/docker/" ID1 "/sub", DOCKER, NOPOD, ID1, "");
	EXPECT_NONE("/docker");
	EXPECT_NONE("/docker/");
	/* A bare id means nothing without its parent. */
	EXPECT_NONE("/" ID1);
	EXPECT_NONE("/dockerx/" ID1);
	EXPECT_NONE("/Docker/" ID1);
	EXPECT_NONE("/docker/x/" ID1);
}

static void test_containerd_kubepods_systemd(void **state)
{
	EXPECT(KP_SYSTEMD_BURST UID1_ ".slice/cri-containerd-" ID1 ".scope", CTRD, BURST, ID1,
	       UID1);
	EXPECT(KP_SYSTEMD_BEST UID1_ ".slice/cri-containerd-" ID1 ".scope", CTRD, BEST, ID1, UID1);
	/* Guaranteed pods have no QoS slice. */
	EXPECT(KP_SYSTEMD_GUAR UID2_ ".slice/cri-containerd-" ID2 ".scope", CTRD, GUAR, ID2, UID2);
	/* The sandbox (pause) container is a container of the pod like any other. */
	EXPECT(KP_SYSTEMD_BURST UID1_ ".slice/cri-containerd-" ID3 ".scope", CTRD, BURST, ID3,
	       UID1);
	/* Below the scope. */
	EXPECT(KP_SYSTEMD_BURST UID1_ ".slice/cri-containerd-" ID1 ".scope/foo/bar", CTRD, BURST,
	       ID1, UID1);
	/* Outside Kubernetes (nerdctl with the systemd driver). */
	EXPECT("/system.slice/cri-containerd-" ID1 ".scope", CTRD, NOPOD, ID1, "");
	EXPECT_NONE("/system.slice/containerd-" ID1 ".scope");
}

static void test_crio(void **state)
{
	EXPECT(KP_SYSTEMD_BEST UID1_ ".slice/crio-" ID1 ".scope", CRIO, BEST, ID1, UID1);
	EXPECT(KP_SYSTEMD_GUAR UID1_ ".slice/crio-" ID1 ".scope", CRIO, GUAR, ID1, UID1);
	/* CRI-O's cgroupfs manager: crio-<id> below the pod, no ".scope"; its conmon is not. */
	EXPECT("/kubepods/burstable/pod" UID1 "/crio-" ID1, CRIO, BURST, ID1, UID1);
	EXPECT("/kubepods/burstable/pod" UID1 "/crio-conmon-" ID1, NONE, BURST, "", UID1);
	EXPECT("/elsewhere/crio-" ID1, NONE, NOPOD, "", "");
	/* CRI-O puts the container's processes one level down. */
	EXPECT(KP_SYSTEMD_BURST UID1_ ".slice/crio-" ID1 ".scope/container", CRIO, BURST, ID1,
	       UID1);
}

/* conmon, the container monitor, has a scope of its own beside the container's: it is in
 * the pod, but it is not the container. */
static void test_conmon_not_a_container(void **state)
{
	EXPECT_NONE("/system.slice/crio-conmon-" ID1 ".scope");
	EXPECT(KP_SYSTEMD_BURST UID1_ ".slice/crio-conmon-" ID1 ".scope", NONE, BURST, "", UID1);
	EXPECT_NONE("/machine.slice/libpod-conmon-" ID1 ".scope");
	EXPECT_NONE("/libpod_parent/libpod-conmon-" ID1);
}

/* dockershim and cri-dockerd: docker's scope inside a pod. */
static void test_docker_in_kubepods(void **state)
{
	EXPECT(KP_SYSTEMD_BURST UID1_ ".slice/docker-" ID1 ".scope", DOCKER, BURST, ID1, UID1);
	EXPECT("/kubepods/burstable/pod" UID1 "/" ID1, KUBE, BURST, ID1, UID1);
}

static void test_podman(void **state)
{
	EXPECT("/machine.slice/libpod-" ID1 ".scope", PODMAN, NOPOD, ID1, "");
	EXPECT("/machine.slice/libpod-" ID1 ".scope/container", PODMAN, NOPOD, ID1, "");
	/* rootless */
	EXPECT("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID1
	       ".scope/container",
	       PODMAN, NOPOD, ID1, "");
	/* in a podman pod (not a Kubernetes one: no pod uid) */
	EXPECT("/machine.slice/machine-libpod_pod_" ID2 ".slice/libpod-" ID1 ".scope/container",
	       PODMAN, NOPOD, ID1, "");
	/* cgroupfs driver */
	EXPECT("/libpod_parent/libpod-" ID1, PODMAN, NOPOD, ID1, "");
	EXPECT("/libpod_parent/libpod-" ID1 "/ctr", PODMAN, NOPOD, ID1, "");
	EXPECT_NONE("/libpod_parent");
	EXPECT_NONE("/libpod-" ID1);
	EXPECT_NONE("/other/libpod-" ID1);
	EXPECT_NONE("/libpod_parent/" ID1);
	EXPECT_NONE("/libpod_parent/x/libpod-" ID1);
}

static void test_kubepods_cgroupfs(void **state)
{
	EXPECT("/kubepods/burstable/pod" UID1 "/" ID1, KUBE, BURST, ID1, UID1);
	EXPECT("/kubepods/besteffort/pod" UID1 "/" ID1, KUBE, BEST, ID1, UID1);
	EXPECT("/kubepods/pod" UID2 "/" ID2, KUBE, GUAR, ID2, UID2);
	EXPECT("/kubepods/pod" UID2 "/" ID2 "/sub", KUBE, GUAR, ID2, UID2);
	/* The kubelet's --cgroup-root above kubepods changes nothing. */
	EXPECT("/kubelet/kubepods/burstable/pod" UID1 "/" ID1, KUBE, BURST, ID1, UID1);
}

/* The cgroupfs driver's names only mean something below the exact parents. */
static void test_kubepods_cgroupfs_wrong_parents(void **state)
{
	EXPECT_NONE("/kubepods/guaranteed/pod" UID1 "/" ID1);
	EXPECT_NONE("/kubepods/Burstable/pod" UID1 "/" ID1);
	EXPECT_NONE("/burstable/pod" UID1 "/" ID1);
	EXPECT_NONE("/kubepods/burstable/x/pod" UID1 "/" ID1);
	EXPECT_NONE("/kubepods.slice/pod" UID1 "/" ID1);
	EXPECT_NONE("/pod" UID1 "/" ID1);
	EXPECT_NONE("/foo/pod" UID1 "/" ID1);
	EXPECT_NONE("/x/burstable/pod" UID1 "/" ID1);
	/* The id must be directly below the pod. */
	EXPECT("/kubepods/burstable/pod" UID1 "/x/" ID1, NONE, BURST, "", UID1);
	/* A systemd pod slice does not make a bare id below it a container. */
	EXPECT(KP_SYSTEMD_BURST UID1_ ".slice/" ID1, NONE, BURST, "", UID1);
	/* Nor does a cgroupfs pod make a bare id two levels down one. */
	EXPECT("/kubepods/pod" UID1 "/" ID1 "/" ID2, KUBE, GUAR, ID1, UID1);
}

/* A kind node or a Docker-in-Docker host: the node's container, and inside it the pods. */
static void test_nested_kind_dind(void **state)
{
	EXPECT("/docker/" ID1 "/kubepods/burstable/pod" UID1 "/" ID2, KUBE, BURST, ID2, UID1);
	EXPECT("/docker/" ID1 "/kubepods/pod" UID1 "/" ID2, KUBE, GUAR, ID2, UID1);
	EXPECT("/system.slice/docker-" ID1 ".scope/kubepods/besteffort/pod" UID2 "/" ID3, KUBE,
	       BEST, ID3, UID2);
	EXPECT("/system.slice/docker-" ID1 ".scope" KP_SYSTEMD_BURST UID1_
	       ".slice/cri-containerd-" ID2 ".scope",
	       CTRD, BURST, ID2, UID1);
	/* Docker in Docker */
	EXPECT("/docker/" ID1 "/docker/" ID2, DOCKER, NOPOD, ID2, "");
	EXPECT("/system.slice/docker-" ID1 ".scope/docker/" ID2, DOCKER, NOPOD, ID2, "");
	/* Inside the node but in no container of it: the node's own container. */
	EXPECT("/docker/" ID1 "/system.slice/containerd.service", DOCKER, NOPOD, ID1, "");
	/* kind's kubelet runs with --cgroup-root=/kubelet and the systemd driver: its slices
	 * are named "kubelet-kubepods-...", the pod's prefix after a '-'. */
	EXPECT("/system.slice/docker-" ID1 ".scope/kubelet.slice/kubelet-kubepods.slice/"
	       "kubelet-kubepods-burstable.slice/kubelet-kubepods-burstable-pod" UID1_
	       ".slice/cri-containerd-" ID2 ".scope",
	       CTRD, BURST, ID2, UID1);
	/* Not after a '-': another name that happens to end like one. */
	EXPECT("/xkubepods-burstable-pod" UID1_ ".slice/cri-containerd-" ID2 ".scope", CTRD, NOPOD,
	       ID2, "");
}

static void test_innermost_wins(void **state)
{
	/* The last container, with the last pod before it. */
	EXPECT("/kubepods/pod" UID1 "/" ID1 "/kubepods/besteffort/pod" UID2 "/" ID2, KUBE, BEST,
	       ID2, UID2);
	/* A container below a pod below a container below a pod: the inner pair. */
	EXPECT(KP_SYSTEMD_GUAR UID1_ ".slice/cri-containerd-" ID1 ".scope" KP_SYSTEMD_BEST UID2_
	       ".slice/crio-" ID2 ".scope/sub",
	       CRIO, BEST, ID2, UID2);
	/* A pod with no container after it: the pod alone, not the outer container. */
	EXPECT("/docker/" ID1 "/kubepods/burstable/pod" UID1, NONE, BURST, "", UID1);
	EXPECT("/kubepods/pod" UID1 "/" ID1 "/kubepods/burstable/pod" UID2 "/x", NONE, BURST, "",
	       UID2);
	/* A pod, then a container not below any pod of its own: still in that pod. */
	EXPECT(KP_SYSTEMD_BURST UID1_ ".slice/x/docker/" ID2, DOCKER, BURST, ID2, UID1);
}

static void test_pod_alone(void **state)
{
	EXPECT(KP_SYSTEMD_BURST UID1_ ".slice", NONE, BURST, "", UID1);
	EXPECT(KP_SYSTEMD_BEST UID1_ ".slice", NONE, BEST, "", UID1);
	EXPECT(KP_SYSTEMD_GUAR UID1_ ".slice", NONE, GUAR, "", UID1);
	EXPECT(KP_SYSTEMD_GUAR UID1_ ".slice/", NONE, GUAR, "", UID1);
	EXPECT("/kubepods/burstable/pod" UID1, NONE, BURST, "", UID1);
	EXPECT("/kubepods/pod" UID1, NONE, GUAR, "", UID1);
	EXPECT("/kubepods/burstable/pod" UID1 "/not-a-container", NONE, BURST, "", UID1);
	/* The QoS slices and the root are not pods. */
	EXPECT_NONE("/kubepods.slice");
	EXPECT_NONE("/kubepods.slice/kubepods-burstable.slice");
	EXPECT_NONE("/kubepods.slice/kubepods-besteffort.slice");
	EXPECT_NONE("/kubepods");
	EXPECT_NONE("/kubepods/burstable");
	/* The slice named with the other QoS spelling is not one of the three. */
	EXPECT_NONE("/kubepods.slice/kubepods-guaranteed-pod" UID1_ ".slice");
}

static void test_bad_ids(void **state)
{
	static const char *const bad[] = {
		/* 63 and 65 digits */
		"ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48b",
		"ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb0",
		/* upper case */
		"CA978112CA1BBDCAFAC231B39A23DC4DA786EFF8147C4E72B9807785AFEE48BB",
		"ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bB",
		/* not hex */
		"ga978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
		"ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48b-",
		"ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48b ",
		"",
	};
	static const char *const shapes[][2] = {
		{ "/system.slice/docker-", ".scope" },
		{ "/docker/", "" },
		{ KP_SYSTEMD_BURST UID1_ ".slice/cri-containerd-", ".scope" },
		{ "/kubepods/burstable/pod" UID1 "/", "" },
		{ "/machine.slice/libpod-", ".scope/container" },
		{ "/libpod_parent/libpod-", "" },
		{ "/x/crio-", ".scope" },
	};
	char path[512];

	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		/* The same shape with a good id matches (so what fails below is the id). */
		snprintf(path, sizeof(path), "%s%s%s", shapes[s][0], ID1, shapes[s][1]);
		{
			struct cg_parsed out;

			assert_true(cgpath__parse(path, strlen(path), &out));
			assert_string_equal(out.container_id, ID1);
		}
		for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
			bool in_pod = s == 2 || s == 3;

			snprintf(path, sizeof(path), "%s%s%s", shapes[s][0], bad[b], shapes[s][1]);
			/* Inside a pod, the pod stays: the path is below its slice. */
			EXPECT_STR(path, NONE, in_pod ? BURST : NOPOD, "", in_pod ? UID1 : "");
		}
	}
}

/* Every byte value at every position of the id: only [0-9a-f] keep the match. */
static void test_id_every_byte(void **state)
{
	char path[] = "/docker/" ID1;
	const size_t off = sizeof("/docker/") - 1;

	for (size_t i = 0; i < CG_ID_LEN; i++) {
		char keep = path[off + i];

		for (int c = 0; c < 256; c++) {
			bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
			char want[CG_ID_LEN + 1];

			path[off + i] = (char)c;
			memcpy(want, path + off, CG_ID_LEN);
			want[CG_ID_LEN] = 0;
			/* A '/' splits the id: its second half is below "x", its first below
			 * docker, and neither is 64 digits. */
			check_parse(__LINE__, path, sizeof(path) - 1, hex ? DOCKER : NONE, NOPOD,
				    hex ? want : "", "");
		}
		path[off + i] = keep;
	}
}

static void test_bad_uids(void **state)
{
	/* Each in the systemd form and in the cgroupfs form; with a container below, which
	 * is then taken without a pod. */
	static const char *const bad_[] = {
		UID1,					 /* '-' in the systemd form */
		"8a3f5c2e_1b4d-4e6f_9a7b_0c1d2e3f4a5b", /* mixed */
		"8a3f5c2e1_b4d_4e6f_9a7b_0c1d2e3f4a5b", /* separator moved */
		"8a3f5c2e_1b4d_4e6f_9a7b_0c1d2e3f4a5",	 /* 35 */
		"8a3f5c2e_1b4d_4e6f_9a7b_0c1d2e3f4a5b0", /* 37 */
		"8A3F5C2E_1B4D_4E6F_9A7B_0C1D2E3F4A5B", /* upper case */
		"8a3f5c2e_1b4d_4e6f_9a7b_0c1d2e3f4a5g", /* not hex */
		"8a3f5c2e_1b4d_4e6f_9a7b__c1d2e3f4a5b", /* '_' for a digit */
		"",
	};
	static const char *const bad[] = {
		UID1_,					 /* '_' in the cgroupfs form */
		"8a3f5c2e-1b4d-4e6f_9a7b-0c1d2e3f4a5b", /* mixed */
		"8a3f5c2e-1b4d-4e6f-9a7b0-c1d2e3f4a5b", /* separator moved */
		"8a3f5c2e-1b4d-4e6f-9a7b-0c1d2e3f4a5",	 /* 35 */
		"8a3f5c2e-1b4d-4e6f-9a7b-0c1d2e3f4a5bb", /* 37 */
		"8A3F5C2E-1B4D-4E6F-9A7B-0C1D2E3F4A5B", /* upper case */
		"8a3f5c2e-1b4d-4e6f-9a7b--c1d2e3f4a5b", /* '-' for a digit */
		"8a3f5c2e-1b4d-4e6f-9a7b-0c1d2e3f4a5b-",
		"",
	};
	char path[512];

	for (size_t i = 0; i < sizeof(bad_) / sizeof(bad_[0]); i++) {
		snprintf(path, sizeof(path), KP_SYSTEMD_BURST "%s.slice", bad_[i]);
		EXPECT_STR(path, NONE, NOPOD, "", "");
		snprintf(path, sizeof(path),
			 KP_SYSTEMD_BURST "%s.slice/cri-containerd-" ID1 ".scope", bad_[i]);
		EXPECT_STR(path, CTRD, NOPOD, ID1, "");
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/kubepods/burstable/pod%s", bad[i]);
		EXPECT_STR(path, NONE, NOPOD, "", "");
		/* The id below a pod not taken is below nothing it can be read by. */
		snprintf(path, sizeof(path), "/kubepods/burstable/pod%s/" ID1, bad[i]);
		EXPECT_STR(path, NONE, NOPOD, "", "");
	}
}

/* Every byte value at every position of the systemd form's uid: hex digits where digits go,
 * '_' where separators go, nothing else. */
static void test_uid_every_byte(void **state)
{
	char path[] = KP_SYSTEMD_GUAR UID1_ ".slice";
	const size_t off = sizeof(KP_SYSTEMD_GUAR) - 1;

	for (size_t i = 0; i < CG_UID_LEN; i++) {
		bool sep = i == 8 || i == 13 || i == 18 || i == 23;
		char keep = path[off + i];

		for (int c = 0; c < 256; c++) {
			bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
			bool good = sep ? c == '_' : hex;
			char want[CG_UID_LEN + 1];

			path[off + i] = (char)c;
			memcpy(want, path + off, CG_UID_LEN);
			want[CG_UID_LEN] = 0;
			for (size_t k = 0; k < CG_UID_LEN; k++)
				if (want[k] == '_')
					want[k] = '-';
			check_parse(__LINE__, path, sizeof(path) - 1, NONE, good ? GUAR : NOPOD, "",
				    good ? want : "");
		}
		path[off + i] = keep;
	}
}

static void test_nul(void **state)
{
	EXPECT_NONE("/system.slice/docker-" ID1 ".scope\0");
	EXPECT_NONE("\0/system.slice/docker-" ID1 ".scope");
	EXPECT_NONE("/system.slice\0/docker-" ID1 ".scope");
	EXPECT_NONE("/system.slice/docker-" ID1 ".scope/\0");
	EXPECT_NONE("/docker/" ID1 "\0/docker/" ID2);
	EXPECT_NONE(KP_SYSTEMD_BURST UID1_ ".slice/\0");
	EXPECT_NONE("\0");
	/* A NUL past len is not read: the terminator of a literal one byte shorter. */
	check_parse(__LINE__, "/docker/" ID1 "\0", sizeof("/docker/" ID1) - 1, DOCKER, NOPOD, ID1,
		    "");
	/* Nor is anything past len: one byte short leaves a 63-digit id. */
	check_parse(__LINE__, "/docker/" ID1, sizeof("/docker/" ID1) - 2, NONE, NOPOD, "", "");
}

static void test_escapes_and_control_bytes(void **state)
{
	/* A terminal escape glued to a name: the name is not the shape. */
	EXPECT_NONE("/system.slice/docker-" ID1 ".scope\x1b[0m");
	EXPECT_NONE("/system.slice/\x1b[31mdocker-" ID1 ".scope");
	EXPECT_NONE("/docker/\x1b[2J" ID1);
	EXPECT_NONE("/docker\x1b/" ID1);
	/* One in a segment of its own below a container: a sub-cgroup of it. */
	EXPECT("/system.slice/docker-" ID1 ".scope/\x1b]0;x\x07", DOCKER, NOPOD, ID1, "");
	/* The line end of /proc/<pid>/cgroup is the caller's to strip. */
	EXPECT_NONE("/docker/" ID1 "\n");
	EXPECT_NONE("/system.slice/docker-" ID1 ".scope\r\n");
	EXPECT("/docker/" ID1 "/\n", DOCKER, NOPOD, ID1, "");
	EXPECT_NONE("/docker\n/" ID1);
	/* systemd's escaped '-' is not a '-'. */
	EXPECT_NONE("/system.slice/docker\\x2d" ID1 ".scope");
	/* Bytes past ASCII, and a '\' inside a uid. */
	EXPECT_NONE("/system.slice/docker-" ID1 ".scope\xff");
	EXPECT_NONE("/system.slice/docker-\xc3\xa9" ID1 ".scope");
	EXPECT_NONE(KP_SYSTEMD_GUAR "8a3f5c2e\\1b4d_4e6f_9a7b_0c1d2e3f4a5b.slice");
	/* A '%' or a quote in the path reaches no format. */
	EXPECT_NONE("/%s%n%s/\"docker\"/" ID1);
}

static char *repeat(const char *head, const char *unit, size_t times, const char *tail)
{
	size_t nh = strlen(head), nu = strlen(unit), nt = strlen(tail);
	char *s = malloc(nh + nu * times + nt + 1), *p;

	assert_non_null(s);
	memcpy(s, head, nh);
	p = s + nh;
	for (size_t i = 0; i < times; i++, p += nu)
		memcpy(p, unit, nu);
	memcpy(p, tail, nt + 1);
	return s;
}

static void test_long_paths(void **state)
{
	char *p;

	/* 80 KiB of sub-cgroups above the container: no limit on depth or length. */
	p = repeat("/", "x/", 40000, "system.slice/docker-" ID1 ".scope");
	assert_true(strlen(p) > 64 * 1024);
	EXPECT_STR(p, DOCKER, NOPOD, ID1, "");
	free(p);
	/* and below it */
	p = repeat("/kubepods/burstable/pod" UID1 "/" ID1, "/y", 40000, "");
	EXPECT_STR(p, KUBE, BURST, ID1, UID1);
	free(p);
	/* 1 MiB of one segment of hex digits below docker: not an id. */
	p = repeat("/docker/", "a", 1 << 20, "");
	EXPECT_STR(p, NONE, NOPOD, "", "");
	free(p);
	/* 1 MiB of slashes. */
	p = repeat("", "/", 1 << 20, "");
	EXPECT_STR(p, NONE, NOPOD, "", "");
	free(p);
	/* 1 MiB of Docker in Docker: the last one wins. */
	p = repeat("", "/docker/" ID1, 15000, "/docker/" ID2);
	assert_true(strlen(p) > 1 << 20);
	EXPECT_STR(p, DOCKER, NOPOD, ID2, "");
	free(p);
	/* 1 MiB of pods and containers, ending in a pod. */
	p = repeat("", "/kubepods/pod" UID1 "/" ID1, 10000, "/kubepods/besteffort/pod" UID2);
	EXPECT_STR(p, NONE, BEST, "", UID2);
	free(p);
	/* 1 MiB of "kubepods-" prefixes with no end. */
	p = repeat("/", "kubepods-burstable-pod", 50000, "");
	EXPECT_STR(p, NONE, NOPOD, "", "");
	free(p);
}

/* Every prefix of a good path, each in a buffer of its exact length: nothing read past len,
 * and each prefix gives what it names. */
static void test_every_prefix(void **state)
{
	static const char path[] = "/kubepods/burstable/pod" UID1 "/" ID1;
	const size_t pod_end = sizeof("/kubepods/burstable/pod" UID1) - 1;
	const size_t n = sizeof(path) - 1;

	for (size_t k = 0; k <= n; k++) {
		if (k == n)
			check_parse(__LINE__, path, k, KUBE, BURST, ID1, UID1);
		else if (k >= pod_end)
			check_parse(__LINE__, path, k, NONE, BURST, "", UID1);
		else
			check_parse(__LINE__, path, k, NONE, NOPOD, "", "");
	}
}

static void test_empty_root_null(void **state)
{
	struct cg_parsed out, zero;

	EXPECT_NONE("");
	EXPECT_NONE("/");
	EXPECT_NONE("//");
	EXPECT_NONE("/.");
	EXPECT_NONE("/..");
	EXPECT_NONE("system.slice");
	memset(&zero, 0, sizeof(zero));
	memset(&out, 0xa5, sizeof(out));
	assert_false(cgpath__parse(NULL, 0, &out));
	assert_memory_equal(&out, &zero, sizeof(out));
	memset(&out, 0xa5, sizeof(out));
	assert_false(cgpath__parse(NULL, 10, &out));
	assert_memory_equal(&out, &zero, sizeof(out));
	assert_false(cgpath__parse("/docker/" ID1, sizeof("/docker/" ID1) - 1, NULL));
	/* Relative to the mount without its leading '/'. */
	EXPECT("docker/" ID1, DOCKER, NOPOD, ID1, "");
}

static void test_dot_segments(void **state)
{
	/* "//" and "/./" are "/". */
	EXPECT("/docker//" ID1, DOCKER, NOPOD, ID1, "");
	EXPECT("/docker/./" ID1, DOCKER, NOPOD, ID1, "");
	EXPECT("//system.slice//docker-" ID1 ".scope//", DOCKER, NOPOD, ID1, "");
	EXPECT("/kubepods/./burstable/./pod" UID1 "/./" ID1, KUBE, BURST, ID1, UID1);
	/* ".." may undo what is before it: none of that is taken. */
	EXPECT_NONE("/docker/" ID1 "/..");
	EXPECT_NONE("/docker/../" ID1);
	EXPECT_NONE("/docker/x/../" ID1);
	EXPECT_NONE("/kubepods/burstable/pod" UID1 "/../" ID1);
	EXPECT_NONE("/kubepods/burstable/../pod" UID1 "/" ID1);
	EXPECT_NONE(KP_SYSTEMD_BURST UID1_ ".slice/..");
	EXPECT_NONE(KP_SYSTEMD_BURST UID1_ ".slice/cri-containerd-" ID1 ".scope/..");
	EXPECT_NONE("/system.slice/docker-" ID1 ".scope/../../..");
	/* What comes after the last ".." is a chain of real names, as a reader inside a cgroup
	 * namespace sees a path outside its root. */
	EXPECT("/../../system.slice/docker-" ID1 ".scope", DOCKER, NOPOD, ID1, "");
	EXPECT("/docker/" ID1 "/../kubepods/besteffort/pod" UID2 "/" ID2, KUBE, BEST, ID2, UID2);
	EXPECT("/../" KP_SYSTEMD_BURST UID1_ ".slice/crio-" ID1 ".scope", CRIO, BURST, ID1, UID1);
	/* "..." and ".x" are ordinary names. */
	EXPECT("/docker/" ID1 "/...", DOCKER, NOPOD, ID1, "");
	EXPECT("/docker/" ID1 "/.x", DOCKER, NOPOD, ID1, "");
	EXPECT_NONE("/docker/.../" ID1);
}

static void test_names(void **state)
{
	assert_string_equal(cgpath__runtime_name(CG_RT_NONE), "");
	assert_string_equal(cgpath__runtime_name(CG_RT_DOCKER), "docker");
	assert_string_equal(cgpath__runtime_name(CG_RT_CONTAINERD), "containerd");
	assert_string_equal(cgpath__runtime_name(CG_RT_CRIO), "cri-o");
	assert_string_equal(cgpath__runtime_name(CG_RT_PODMAN), "podman");
	assert_string_equal(cgpath__runtime_name(CG_RT_KUBE), "kubernetes");
	assert_string_equal(cgpath__runtime_name(CG_RT_KUBE + 1), "");
	assert_string_equal(cgpath__runtime_name(255), "");
	assert_string_equal(cgpath__qos_name(CG_QOS_NONE), "");
	assert_string_equal(cgpath__qos_name(CG_QOS_GUARANTEED), "guaranteed");
	assert_string_equal(cgpath__qos_name(CG_QOS_BURSTABLE), "burstable");
	assert_string_equal(cgpath__qos_name(CG_QOS_BESTEFFORT), "besteffort");
	assert_string_equal(cgpath__qos_name(CG_QOS_BESTEFFORT + 1), "");
	assert_string_equal(cgpath__qos_name(255), "");
}

/* Output buffers of exactly the documented sizes, filled with garbage and unterminated. */
struct outs {
	char *a, *b, *c, *d;
};

static struct outs outs_new(size_t na, size_t nb, size_t nc, size_t nd)
{
	struct outs o = { malloc(na), malloc(nb), malloc(nc), malloc(nd) };

	assert_true(o.a && o.b && o.c && o.d);
	memset(o.a, 'Z', na);
	memset(o.b, 'Z', nb);
	memset(o.c, 'Z', nc);
	memset(o.d, 'Z', nd);
	return o;
}

static void outs_free(struct outs *o)
{
	free(o->a);
	free(o->b);
	free(o->c);
	free(o->d);
}

static void check_pod_dir(int line, const char *name, bool ok, const char *ns, const char *pod,
			  const char *uid)
{
	struct outs o = outs_new(CG_NS_MAX + 1, CG_NAME_MAX + 1, CG_UID_LEN + 1, 1);
	bool got = cgpath__pod_dir(name, o.a, o.b, o.c);

	if (got != ok || strcmp(o.a, ns) || strcmp(o.b, pod) || strcmp(o.c, uid)) {
		print_error("line %d: pod dir \"%s\"\n", line, shown(name, strlen(name)));
		print_error("  want %d \"%s\" \"%s\" \"%s\"\n", ok, ns, pod, uid);
		print_error("  got  %d \"%.*s\" \"%.*s\" \"%.*s\"\n", got, CG_NS_MAX, o.a,
			    CG_NAME_MAX, o.b, CG_UID_LEN, o.c);
		outs_free(&o);
		fail();
	}
	outs_free(&o);
}

#define POD_DIR(name, ns, pod, uid) check_pod_dir(__LINE__, name, true, ns, pod, uid)
#define POD_DIR_BAD(name)	    check_pod_dir(__LINE__, name, false, "", "", "")

static void check_log(int line, const char *name, bool ok, const char *pod, const char *ns,
		      const char *ctr, const char *id)
{
	struct outs o = outs_new(CG_NAME_MAX + 1, CG_NS_MAX + 1, CG_NAME_MAX + 1, CG_ID_LEN + 1);
	bool got = cgpath__container_log(name, o.a, o.b, o.c, o.d);

	if (got != ok || strcmp(o.a, pod) || strcmp(o.b, ns) || strcmp(o.c, ctr) ||
	    strcmp(o.d, id)) {
		print_error("line %d: log \"%s\"\n", line, shown(name, strlen(name)));
		print_error("  want %d \"%s\" \"%s\" \"%s\" \"%s\"\n", ok, pod, ns, ctr, id);
		print_error("  got  %d \"%.*s\" \"%.*s\" \"%.*s\" \"%.*s\"\n", got, CG_NAME_MAX,
			    o.a, CG_NS_MAX, o.b, CG_NAME_MAX, o.c, CG_ID_LEN, o.d);
		outs_free(&o);
		fail();
	}
	outs_free(&o);
}

#define LOG(name, pod, ns, ctr, id) check_log(__LINE__, name, true, pod, ns, ctr, id)
#define LOG_BAD(name)		    check_log(__LINE__, name, false, "", "", "", "")

static void test_pod_dir_good(void **state)
{
	char name[CG_NS_MAX + CG_NAME_MAX + CG_UID_LEN + 3], ns[CG_NS_MAX + 1],
		pod[CG_NAME_MAX + 1];

	POD_DIR("default_nginx-7c5ddbdf54-2xkqz_" UID1, "default", "nginx-7c5ddbdf54-2xkqz", UID1);
	POD_DIR("kube-system_coredns-5d78c9869d-h6qzp_" UID2, "kube-system",
		"coredns-5d78c9869d-h6qzp", UID2);
	POD_DIR("kube-system_etcd-kind-control-plane_" UID1, "kube-system",
		"etcd-kind-control-plane", UID1);
	/* Static pods on a node named by its FQDN have dots in their names. */
	POD_DIR("kube-system_kube-apiserver-node1.example.com_" UID1, "kube-system",
		"kube-apiserver-node1.example.com", UID1);
	POD_DIR("a_b_" UID1, "a", "b", UID1);
	POD_DIR("0_1_" UID1, "0", "1", UID1);
	/* The longest names taken: 63 and 253. */
	memset(ns, 'n', CG_NS_MAX);
	ns[CG_NS_MAX] = 0;
	memset(pod, 'p', CG_NAME_MAX);
	pod[CG_NAME_MAX] = 0;
	snprintf(name, sizeof(name), "%s_%s_%s", ns, pod, UID1);
	POD_DIR(name, ns, pod, UID1);
}

static void test_pod_dir_bad(void **state)
{
	char name[CG_NS_MAX + CG_NAME_MAX + CG_UID_LEN + 8], ns[CG_NS_MAX + 2],
		pod[CG_NAME_MAX + 2];

	/* too long: 64 and 254 */
	memset(ns, 'n', CG_NS_MAX + 1);
	ns[CG_NS_MAX + 1] = 0;
	snprintf(name, sizeof(name), "%s_p_%s", ns, UID1);
	POD_DIR_BAD(name);
	memset(pod, 'p', CG_NAME_MAX + 1);
	pod[CG_NAME_MAX + 1] = 0;
	snprintf(name, sizeof(name), "n_%s_%s", pod, UID1);
	POD_DIR_BAD(name);
	/* upper case */
	POD_DIR_BAD("Default_nginx_" UID1);
	POD_DIR_BAD("default_Nginx_" UID1);
	POD_DIR_BAD("default_nginx_" "8A3F5C2E-1B4D-4E6F-9A7B-0C1D2E3F4A5B");
	/* underscores: three, one, none, doubled */
	POD_DIR_BAD("default_nginx_x_" UID1);
	POD_DIR_BAD("default_" UID1);
	POD_DIR_BAD("default-nginx-" UID1);
	POD_DIR_BAD("default__nginx_" UID1);
	POD_DIR_BAD("default_nginx__" UID1);
	POD_DIR_BAD("_default_nginx_" UID1);
	POD_DIR_BAD("default_nginx_" UID1 "_");
	/* empty parts */
	POD_DIR_BAD("_nginx_" UID1);
	POD_DIR_BAD("default__" UID1);
	POD_DIR_BAD("default_nginx_");
	POD_DIR_BAD("");
	POD_DIR_BAD("__");
	/* ends that are not alphanumeric, characters a name cannot have */
	POD_DIR_BAD("-default_nginx_" UID1);
	POD_DIR_BAD("default-_nginx_" UID1);
	POD_DIR_BAD("default_nginx-_" UID1);
	POD_DIR_BAD("default_.nginx_" UID1);
	POD_DIR_BAD("default_nginx._" UID1);
	POD_DIR_BAD("de.fault_nginx_" UID1); /* a namespace is a label: no dots */
	POD_DIR_BAD("default_ngi..nx_" UID1);
	POD_DIR_BAD("default_ngi.-nx_" UID1);
	POD_DIR_BAD("default_ngi-.nx_" UID1);
	POD_DIR_BAD("default_ngi nx_" UID1);
	POD_DIR_BAD("default_ngi/nx_" UID1);
	POD_DIR_BAD("default_nginx\x1b[0m_" UID1);
	POD_DIR_BAD("default_nginx\xc3\xa9_" UID1);
	/* the uid: systemd form, short, long, trailing line end */
	POD_DIR_BAD("default_nginx_" UID1_);
	POD_DIR_BAD("default_nginx_8a3f5c2e-1b4d-4e6f-9a7b-0c1d2e3f4a5");
	POD_DIR_BAD("default_nginx_" UID1 "0");
	POD_DIR_BAD("default_nginx_" UID1 "\n");
	/* the NULL name, and NULL outputs (the others still cleared) */
	{
		char a[CG_NS_MAX + 1] = "x", b[CG_NAME_MAX + 1] = "x", c[CG_UID_LEN + 1] = "x";

		assert_false(cgpath__pod_dir(NULL, a, b, c));
		assert_string_equal(a, "");
		assert_string_equal(b, "");
		assert_string_equal(c, "");
		strcpy(a, "x");
		strcpy(c, "x");
		assert_false(cgpath__pod_dir("a_b_" UID1, a, NULL, c));
		assert_string_equal(a, "");
		assert_string_equal(c, "");
	}
}

static void test_container_log_good(void **state)
{
	char name[CG_NAME_MAX + CG_NS_MAX * 2 + CG_ID_LEN + 16], pod[CG_NAME_MAX + 1],
		ns[CG_NS_MAX + 1], ctr[CG_NS_MAX + 1];

	LOG("nginx-7c5ddbdf54-2xkqz_default_nginx-" ID1 ".log", "nginx-7c5ddbdf54-2xkqz",
	    "default", "nginx", ID1);
	/* '-' in the container name: the id is split off from the end. */
	LOG("coredns-5d78c9869d-h6qzp_kube-system_my-side-car-" ID2 ".log",
	    "coredns-5d78c9869d-h6qzp", "kube-system", "my-side-car", ID2);
	LOG("kube-apiserver-node1.example.com_kube-system_kube-apiserver-" ID3 ".log",
	    "kube-apiserver-node1.example.com", "kube-system", "kube-apiserver", ID3);
	/* A container name of hex digits, one short of an id. */
	LOG("p_n_abc-" ID1 ".log", "p", "n", "abc", ID1);
	LOG("p_n_3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009-" ID1 ".log", "p",
	    "n", "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009", ID1);
	/* The longest names taken. */
	memset(pod, 'p', CG_NAME_MAX);
	pod[CG_NAME_MAX] = 0;
	memset(ns, 'n', CG_NS_MAX);
	ns[CG_NS_MAX] = 0;
	memset(ctr, 'c', CG_NS_MAX);
	ctr[CG_NS_MAX] = 0;
	snprintf(name, sizeof(name), "%s_%s_%s-%s.log", pod, ns, ctr, ID1);
	LOG(name, pod, ns, ctr, ID1);
}

static void test_container_log_bad(void **state)
{
	char name[CG_NAME_MAX + CG_NS_MAX * 2 + CG_ID_LEN + 16], ctr[CG_NS_MAX + 2];

	/* the ".log" */
	LOG_BAD("nginx_default_nginx-" ID1);
	LOG_BAD("nginx_default_nginx-" ID1 ".LOG");
	LOG_BAD("nginx_default_nginx-" ID1 ".log.1");
	LOG_BAD("nginx_default_nginx-" ID1 ".log\n");
	LOG_BAD("nginx_default_nginx-" ID1 ".lo");
	LOG_BAD("nginx_default_nginx-" ID1 "log");
	/* the id: short, long, upper case, not hex, no '-' before it */
	LOG_BAD("n_d_c-ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48b.log");
	LOG_BAD("nginx_default_nginx-0" ID1 ".log");
	LOG_BAD("n_d_c-CA978112CA1BBDCAFAC231B39A23DC4DA786EFF8147C4E72B9807785AFEE48BB.log");
	LOG_BAD("n_d_c-ga978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb.log");
	LOG_BAD("nginx_default_nginx_" ID1 ".log");
	LOG_BAD("nginx_default_nginx" ID1 ".log");
	LOG_BAD("nginx_default_nginx-1234.log");
	LOG_BAD("-" ID1 ".log");
	LOG_BAD(ID1 ".log");
	/* the container: empty, too long, upper case, ends */
	LOG_BAD("nginx_default_-" ID1 ".log");
	LOG_BAD("nginx_default_Nginx-" ID1 ".log");
	LOG_BAD("nginx_default_nginx--" ID1 ".log");
	LOG_BAD("nginx_default_-nginx-" ID1 ".log");
	LOG_BAD("nginx_default_ngi.nx-" ID1 ".log"); /* a label: no dots */
	LOG_BAD("p_n_" ID2 "-" ID1 ".log");	      /* 64: one past a label */
	memset(ctr, 'c', CG_NS_MAX + 1);
	ctr[CG_NS_MAX + 1] = 0;
	snprintf(name, sizeof(name), "p_n_%s-%s.log", ctr, ID1);
	LOG_BAD(name);
	/* the pod and the namespace */
	LOG_BAD("_default_nginx-" ID1 ".log");
	LOG_BAD("nginx__nginx-" ID1 ".log");
	LOG_BAD("Nginx_default_nginx-" ID1 ".log");
	LOG_BAD("nginx_Default_nginx-" ID1 ".log");
	LOG_BAD("nginx_de.fault_nginx-" ID1 ".log");
	/* underscores: three, one */
	LOG_BAD("nginx_default_x_nginx-" ID1 ".log");
	LOG_BAD("a_nginx_default_nginx-" ID1 ".log");
	LOG_BAD("default_nginx-" ID1 ".log");
	LOG_BAD("");
	LOG_BAD(".log");
	assert_false(cgpath__container_log(NULL, name, name, name, name));
	assert_string_equal(name, "");
}

/* Names far past any valid length are refused without being read to their end. */
static void test_long_names(void **state)
{
	char *p;

	p = repeat("default_nginx_", "a", 1 << 20, "");
	POD_DIR_BAD(p);
	free(p);
	p = repeat("", "a", 1 << 20, "_b_" UID1);
	POD_DIR_BAD(p);
	free(p);
	p = repeat("p_n_", "c", 1 << 20, "-" ID1 ".log");
	LOG_BAD(p);
	free(p);
	p = repeat("", "_", 1 << 20, "");
	POD_DIR_BAD(p);
	LOG_BAD(p);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docker_systemd),
		cmocka_unit_test(test_docker_cgroupfs),
		cmocka_unit_test(test_containerd_kubepods_systemd),
		cmocka_unit_test(test_crio),
		cmocka_unit_test(test_conmon_not_a_container),
		cmocka_unit_test(test_docker_in_kubepods),
		cmocka_unit_test(test_podman),
		cmocka_unit_test(test_kubepods_cgroupfs),
		cmocka_unit_test(test_kubepods_cgroupfs_wrong_parents),
		cmocka_unit_test(test_nested_kind_dind),
		cmocka_unit_test(test_innermost_wins),
		cmocka_unit_test(test_pod_alone),
		cmocka_unit_test(test_bad_ids),
		cmocka_unit_test(test_id_every_byte),
		cmocka_unit_test(test_bad_uids),
		cmocka_unit_test(test_uid_every_byte),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_escapes_and_control_bytes),
		cmocka_unit_test(test_long_paths),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_empty_root_null),
		cmocka_unit_test(test_dot_segments),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_pod_dir_good),
		cmocka_unit_test(test_pod_dir_bad),
		cmocka_unit_test(test_container_log_good),
		cmocka_unit_test(test_container_log_bad),
		cmocka_unit_test(test_long_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
