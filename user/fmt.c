// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Formatting shared by every view (see fmt.h): durations, addresses, endpoints, names, and the
 * escaping of untrusted text for a terminal and for JSON.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <string.h>

#include "conntable.h"
#include "fmt.h"

char *fmt__dur(uint64_t ns, char *buf, size_t len)
{
	if (ns == CT_DWELL_UNKNOWN)
		snprintf(buf, len, "?");
	else if (ns < 1000)
		snprintf(buf, len, "%" PRIu64 "ns", ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.1fms", ns / 1e6);
	else if (ns < 10000000000ULL)
		snprintf(buf, len, "%.2fs", ns / 1e9);
	else if (ns < 600000000000ULL)
		snprintf(buf, len, "%.1fs", ns / 1e9);
	else if (ns < 36000000000000ULL)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", (uint64_t)(ns / 60000000000ULL),
			 (uint64_t)(ns / 1000000000ULL % 60));
	else
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", (uint64_t)(ns / 3600000000000ULL),
			 (uint64_t)(ns / 60000000000ULL % 60));
	return buf;
}

char *fmt__addr(int family, const uint8_t addr[16], char *buf, size_t len)
{
	/* IPv4 by hand: inet_ntop() goes through sprintf, which shows in profiles
	 * of a busy trace. */
	if (family != 6 && len >= 16) {
		char *p = buf;

		for (int i = 0; i < 4; i++) {
			unsigned v = addr[i];

			if (v >= 100)
				*p++ = '0' + v / 100;
			if (v >= 10)
				*p++ = '0' + v / 10 % 10;
			*p++ = '0' + v % 10;
			*p++ = i < 3 ? '.' : 0;
		}
		return buf;
	}
	if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

size_t fmt__endpoint_n(int family, const uint8_t addr[16], int port, char *buf)
{
	char digits[8];
	size_t n = 0;
	int i = sizeof(digits);

	if (family == 6)
		buf[n++] = '[';
	fmt__addr(family, addr, buf + n, FMT_ENDPOINT_LEN - 9);
	n += strlen(buf + n);
	if (family == 6)
		buf[n++] = ']';
	buf[n++] = ':';
	if (port < 0) {
		buf[n++] = '*';
	} else {
		unsigned int v = (unsigned int)port;

		do {
			digits[--i] = (char)('0' + v % 10);
			v /= 10;
		} while (v && i > 0);
		memcpy(buf + n, digits + i, sizeof(digits) - i);
		n += sizeof(digits) - i;
	}
	buf[n] = 0;
	return n;
}

char *fmt__endpoint(int family, const uint8_t addr[16], int port, char *buf, size_t len)
{
	char tmp[FMT_ENDPOINT_LEN];
	size_t n;

	if (len >= FMT_ENDPOINT_LEN) {
		fmt__endpoint_n(family, addr, port, buf);
		return buf;
	}
	n = fmt__endpoint_n(family, addr, port, tmp);
	if (len) {
		if (n >= len)
			n = len - 1;
		memcpy(buf, tmp, n);
		buf[n] = 0;
	}
	return buf;
}

const char *fmt__role(int role)
{
	static const char *names[] = {"unknown", "active", "passive", "listen"};

	return role >= 0 && role < 4 ? names[role] : "unknown";
}

const char *fmt__tw_end(int end)
{
	static const char *names[] = {"", "expired", "reused", "killed", "reset", "gone"};

	return end >= 0 && end < (int)(sizeof(names) / sizeof(names[0])) ? names[end] : "";
}

/* The length of the valid UTF-8 character at s[0..n) that is not a control
 * character (C1 is U+0080..U+009F, 0xc2 0x80..0x9f), or 0. */
static size_t utf8_printable(const unsigned char *s, size_t n)
{
	size_t want;
	uint32_t cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0; /* ASCII, a continuation byte, or an overlong or too large lead */
	want = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (n < want)
		return 0;
	cp = s[0] & (0x7f >> want);
	for (size_t i = 1; i < want; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((want == 3 && cp < 0x800) || (want == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp <= 0x9f)
		return 0; /* overlong, beyond Unicode, a surrogate, or C1 */
	return want;
}

char *fmt__text(const char *s, size_t max, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strnlen(s, max), o = 0;

	for (size_t i = 0; i < n;) {
		size_t k = p[i] >= 0x80 ? utf8_printable(p + i, n - i) : 0;

		if (k) {
			if (o + k >= len)
				break;
			memcpy(buf + o, p + i, k);
			o += k;
			i += k;
		} else if (p[i] < 0x20 || p[i] >= 0x7f || p[i] == '\\') {
			if (o + 4 >= len)
				break;
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[p[i] >> 4];
			buf[o++] = hex[p[i] & 15];
			i++;
		} else {
			if (o + 1 >= len)
				break;
			buf[o++] = (char)p[i++];
		}
	}
	buf[o] = 0;
	return buf;
}

void fmt__json_put(FILE *f, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	char e[6];

	putc('"', f);
	for (size_t i = 0; i < max && p[i]; i++)
		fwrite(e, 1, fmt__json_char(p[i], e), f);
	putc('"', f);
}
