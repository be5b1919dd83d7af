// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of fmt.c: the JSON string escaping every view shares and the endpoint formatter.
 * (Durations and the terminal escaping are exercised through test_output.c.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fmt.h"

/* Every byte from 0 to 255 in one string (but NUL, which ends it): the output is printable
 * ASCII, so valid UTF-8, and reads back to the input. */
static void test_json_all_bytes(void **state)
{
	char in[256], out[FMT_JSON_LEN(255)];
	size_t n;

	for (int i = 1; i < 256; i++)
		in[i - 1] = (char)i;
	in[255] = 0;
	n = fmt__json(in, SIZE_MAX, out, sizeof(out));
	assert_int_equal(n, strlen(out));
	assert_int_equal(out[0], '"');
	assert_int_equal(out[n - 1], '"');
	for (size_t i = 0; i < n; i++)
		assert_true(out[i] >= 0x20 && out[i] < 0x7f);
	/* decode: each \u00XX, \" or \\ back to its byte */
	size_t o = 0;
	for (size_t i = 1; i + 1 < n; o++) {
		unsigned int v;

		if (out[i] == '\\' && out[i + 1] == 'u') {
			assert_int_equal(sscanf(out + i + 2, "%4x", &v), 1);
			i += 6;
		} else if (out[i] == '\\') {
			v = (unsigned char)out[i + 1];
			assert_true(v == '"' || v == '\\');
			i += 2;
		} else {
			v = (unsigned char)out[i++];
		}
		assert_int_equal(v, (unsigned char)in[o]);
	}
	assert_int_equal(o, 255);
}

static void test_json_exact(void **state)
{
	char out[64];

	fmt__json("a\"b\\c\x01\x7f\xc3\xa9", SIZE_MAX, out, sizeof(out));
	assert_string_equal(out, "\"a\\\"b\\\\c\\u0001\\u007f\\u00c3\\u00a9\"");
	/* max bounds a name that has no NUL (a 16-byte comm) */
	fmt__json("abcdefgh", 3, out, sizeof(out));
	assert_string_equal(out, "\"abc\"");
	fmt__json("", SIZE_MAX, out, sizeof(out));
	assert_string_equal(out, "\"\"");
}

/* A buffer too small: cut at an escape boundary, the string still closed, never overrun. */
static void test_json_cut(void **state)
{
	char out[16];

	memset(out, 'X', sizeof(out));
	assert_int_equal(fmt__json("ab\x01"
				   "cd",
				   SIZE_MAX, out, 8),
			 4);
	assert_string_equal(out, "\"ab\""); /* \u0001 (6) does not fit in 8 with '"' and NUL */
	assert_int_equal(out[8], 'X');
	assert_int_equal(fmt__json("abc", SIZE_MAX, out, 3), 2);
	assert_string_equal(out, "\"\"");
	assert_int_equal(fmt__json("abc", SIZE_MAX, out, 2), 0);
	assert_string_equal(out, "");
}

static void test_json_put(void **state)
{
	char *p = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&p, &n);
	char want[64];

	assert_non_null(f);
	fmt__json_put(f, "x\"\xff\n", SIZE_MAX);
	fclose(f);
	fmt__json("x\"\xff\n", SIZE_MAX, want, sizeof(want));
	assert_string_equal(p, want);
	assert_string_equal(p, "\"x\\\"\\u00ff\\u000a\"");
	free(p);
}

static void test_endpoint(void **state)
{
	uint8_t v4[16] = {10, 0, 0, 1}, v6[16] = {0};
	char b[FMT_ENDPOINT_LEN];

	v6[15] = 1;
	assert_string_equal(fmt__endpoint(4, v4, 80, b, sizeof(b)), "10.0.0.1:80");
	assert_string_equal(fmt__endpoint(6, v6, 65535, b, sizeof(b)), "[::1]:65535");
	assert_string_equal(fmt__endpoint(4, v4, 0, b, sizeof(b)), "10.0.0.1:0");
	assert_string_equal(fmt__endpoint(6, v6, -1, b, sizeof(b)), "[::1]:*");
	memset(v6, 0xff, sizeof(v6));
	fmt__endpoint(6, v6, 65535, b, sizeof(b));
	assert_string_equal(b, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	assert_string_equal(fmt__endpoint(4, v4, 80, b, 6), "10.0.");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_all_bytes), cmocka_unit_test(test_json_exact),
	    cmocka_unit_test(test_json_cut),	   cmocka_unit_test(test_json_put),
	    cmocka_unit_test(test_endpoint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
