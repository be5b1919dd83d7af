/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Formatting shared by every view: durations, addresses and endpoints, role and timewait-end
 * names, and the escaping of untrusted text (process and host names come from the kernel, a
 * recording or a peer) for a terminal and for JSON. One rule for each, so the views cannot
 * drift apart. No I/O except fmt__json_put's write to the FILE it is given.
 */
#ifndef TD_FMT_H
#define TD_FMT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/*
 * ns as "850ns", "51.2us", "12.3ms", "1.50s", "61.3s", "12m05s", "3h07m"; "?" for
 * CT_DWELL_UNKNOWN. Returns buf.
 */
char *fmt__dur(uint64_t ns, char *buf, size_t len);

/* "127.0.0.1" or "::1" for family 4 or 6 ("?" if it cannot be written). Returns buf; len >= 46
 * holds any address. */
char *fmt__addr(int family, const uint8_t addr[16], char *buf, size_t len);

/*
 * "10.0.0.1:80" or "[::1]:80"; a negative port is written "*" (as ss shows a listener's peer).
 * Returns buf, cut to len (FMT_ENDPOINT_LEN holds any).
 */
#define FMT_ENDPOINT_LEN 56
char *fmt__endpoint(int family, const uint8_t addr[16], int port, char *buf, size_t len);
/* The same into buf, which has FMT_ENDPOINT_LEN bytes at least; returns its length. */
size_t fmt__endpoint_n(int family, const uint8_t addr[16], int port, char *buf);

/* Role ("unknown", "active", "passive", "listen") and timewait end ("", "expired", "reused",
 * "killed", "reset", "gone") names; out-of-range values get the first. */
const char *fmt__role(int role);
const char *fmt__tw_end(int end);

/*
 * Text made safe to print to a terminal or a log: the bytes of s, up to its NUL or max bytes,
 * with every control character (C0, DEL, the C1 range U+0080..U+009F), every byte that is not
 * part of valid UTF-8 and the backslash written as \xNN; valid UTF-8 otherwise passes through.
 * buf (len >= 1) always ends with a NUL; what does not fit is cut at a character or escape
 * boundary, never inside one. FMT_TEXT_LEN(n) bytes hold any n bytes escaped. Returns buf.
 */
#define FMT_TEXT_LEN(n) (4 * (n) + 1)
char *fmt__text(const char *s, size_t max, char *buf, size_t len);

/*
 * A JSON string: s (up to its NUL or max bytes) between quotes, with '"' and '\' escaped and
 * every byte outside printable ASCII (controls, DEL, and each byte >= 0x80 on its own) written
 * as \u00XX, so the output is ASCII, hence valid UTF-8, whatever s holds.
 * fmt__json writes it to buf with a NUL (len >= 3): what does not fit is cut at an escape
 * boundary and the string is still closed. Returns its length without the NUL.
 * FMT_JSON_LEN(n) bytes hold any n bytes.
 * fmt__json_put writes it to f.
 */
#define FMT_JSON_LEN(n) (6 * (n) + 3)
void fmt__json_put(FILE *f, const char *s, size_t max);

/* Inline, as every trace -j line quotes two addresses and a name. */

/* The JSON escape of byte ch into e (6 bytes); its length (1, 2 or 6). */
static inline size_t fmt__json_char(unsigned char ch, char *e)
{
	static const char hex[] = "0123456789abcdef";

	if (ch == '"' || ch == '\\') {
		e[0] = '\\';
		e[1] = (char)ch;
		return 2;
	}
	if (ch < 0x20 || ch >= 0x7f) {
		memcpy(e, "\\u00", 4);
		e[4] = hex[ch >> 4];
		e[5] = hex[ch & 15];
		return 6;
	}
	e[0] = (char)ch;
	return 1;
}

static inline size_t fmt__json(const char *s, size_t max, char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = max == SIZE_MAX ? strlen(s) : strnlen(s, max), o = 0;
	char e[6];

	if (len < 3) {
		if (len)
			buf[0] = 0;
		return 0;
	}
	buf[o++] = '"';
	if (n <= (len - 3) / 6) {
		/* Room for the worst case (each byte escaped): no bound to check per byte, and
		 * most bytes are copied as they are. */
		for (size_t i = 0; i < n; i++) {
			unsigned char ch = p[i];

			if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
				buf[o++] = (char)ch;
			else
				o += fmt__json_char(ch, buf + o);
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			size_t k = fmt__json_char(p[i], e);

			if (o + k + 2 > len) /* the closing quote and the NUL */
				break;
			memcpy(buf + o, e, k);
			o += k;
		}
	}
	buf[o++] = '"';
	buf[o] = 0;
	return o;
}

#endif /* TD_FMT_H */
