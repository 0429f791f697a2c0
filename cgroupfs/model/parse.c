/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Allocation-free text scanners for proc, sys and cgroup files: see parse.h. */
#include <errno.h>
#include <string.h>

#include "parse.h"

bool line_next(struct span *rest, struct span *ret_line)
{
	const char *nl;

	if (rest->len == 0)
		return false;
	nl = memchr(rest->p, '\n', rest->len);
	if (!nl) {
		*ret_line = *rest;
		rest->p += rest->len;
		rest->len = 0;
		return true;
	}
	ret_line->p = rest->p;
	ret_line->len = (size_t)(nl - rest->p);
	rest->len -= ret_line->len + 1;
	rest->p = nl + 1;
	return true;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

bool word_next(struct span *rest, struct span *ret_word)
{
	size_t i = 0, start;

	while (i < rest->len && is_blank(rest->p[i]))
		i++;
	if (i == rest->len) {
		rest->p += i;
		rest->len = 0;
		return false;
	}
	start = i;
	while (i < rest->len && !is_blank(rest->p[i]))
		i++;
	ret_word->p = rest->p + start;
	ret_word->len = i - start;
	rest->p += i;
	rest->len -= i;
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
	struct span line;

	while (line_next(&text, &line)) {
		struct span w;

		if (!word_next(&line, &w) || !span_eq(w, key))
			continue;
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
