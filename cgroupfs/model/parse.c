/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Allocation-free text scanners for proc, sys and cgroup files: see parse.h. */
#include <errno.h>
#include <string.h>

#include "parse.h"

bool line_next(struct span *rest, struct span *ret_line)
{
	return field_next(rest, '\n', ret_line);
}

bool word_next(struct span *rest, struct span *ret_word)
{
	const char *p = rest->p, *end = p + rest->len, *start;

	/* Pointer loops: this runs over every byte of memory.stat and meminfo per render. */
	while (p < end && is_blank(*p))
		p++;
	if (p == end) {
		rest->p = p;
		rest->len = 0;
		return false;
	}
	start = p;
	while (p < end && !is_blank(*p))
		p++;
	ret_word->p = start;
	ret_word->len = (size_t)(p - start);
	rest->p = p;
	rest->len = (size_t)(end - p);
	return true;
}

struct span span_trim(struct span s)
{
	while (s.len > 0 && (is_blank(s.p[0]) || s.p[0] == '\n')) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && (is_blank(s.p[s.len - 1]) || s.p[s.len - 1] == '\n'))
		s.len--;
	return s;
}

int parse_u64(struct span s, uint64_t *ret)
{
	uint64_t v = 0;

	s = span_trim(s);
	if (s.len == 0)
		return -EINVAL;
	if (span_eq(s, "max")) {
		*ret = UINT64_MAX;
		return 0;
	}
	if (s.len <= 19) {
		/* 19 digits cannot overflow (10^19 - 1 < 2^64): no check per digit */
		for (size_t i = 0; i < s.len; i++) {
			unsigned d = (unsigned)(unsigned char)s.p[i] - '0';

			if (d > 9)
				return -EINVAL;
			v = v * 10 + d;
		}
		*ret = v;
		return 0;
	}
	for (size_t i = 0; i < s.len; i++) {
		unsigned d;

		if (s.p[i] < '0' || s.p[i] > '9')
			return -EINVAL;
		d = (unsigned)(s.p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*ret = v;
	return 0;
}

int parse_u64_str(const char *s, uint64_t *ret)
{
	return parse_u64((struct span){s, strlen(s)}, ret);
}

int keyed_u64(struct span text, const char *key, uint64_t *ret)
{
	size_t klen = strlen(key);
	struct span line;

	/* The first word equals @key: compared in place, without scanning every line's first word
	 * (this runs over whole memory.stat files). */
	while (line_next(&text, &line)) {
		while (line.len > 0 && is_blank(line.p[0])) {
			line.p++;
			line.len--;
		}
		if (line.len < klen || (klen > 0 && line.p[0] != key[0]) ||
		    memcmp(line.p, key, klen) != 0 || klen == 0 ||
		    (line.len > klen && !is_blank(line.p[klen])))
			continue;
		line.p += klen;
		line.len -= klen;
		return parse_u64(line, ret);
	}
	return -ENOENT;
}

int meminfo_u64(struct span text, const char *key, uint64_t *ret)
{
	size_t klen = strlen(key);
	struct span line;

	while (line_next(&text, &line)) {
		struct span w;

		if (line.len <= klen || line.p[klen] != ':' || memcmp(line.p, key, klen) != 0)
			continue;
		line.p += klen + 1;
		line.len -= klen + 1;
		if (!word_next(&line, &w))
			return -EINVAL;
		return parse_u64(w, ret);
	}
	return -ENOENT;
}

uint64_t fnv1a(uint64_t h, const void *p, size_t len)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

uint64_t hash_bytes(const char *p, size_t len)
{
	uint64_t h[4] = {0x9e3779b97f4a7c15ULL ^ len, 0xc2b2ae3d27d4eb4fULL, 0x165667b19e3779f9ULL,
			 0x27d4eb2f165667c5ULL};
	uint64_t w, r;

	for (; len >= 32; p += 32, len -= 32) {
		for (int i = 0; i < 4; i++) {
			memcpy(&w, p + 8 * i, 8);
			h[i] = (h[i] ^ w) * 0xff51afd7ed558ccdULL;
			h[i] ^= h[i] >> 32;
		}
	}
	r = h[0] ^ (h[1] * 0x9e3779b97f4a7c15ULL) ^ (h[2] * 0xc4ceb9fe1a85ec53ULL) ^
	    (h[3] * 0xff51afd7ed558ccdULL);
	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		r = (r ^ w) * 0xff51afd7ed558ccdULL;
		r ^= r >> 32;
	}
	w = 0;
	memcpy(&w, p, len);
	r = (r ^ w) * 0xc4ceb9fe1a85ec53ULL;
	return r ^ (r >> 29);
}
