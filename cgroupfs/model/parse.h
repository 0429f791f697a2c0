/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Small, allocation-free text scanners shared by every parser in model/.
 *
 * Inputs are (pointer, length) pairs that need not be NUL-terminated: they come straight from
 * one read() of a proc, sys or cgroup file. Nothing here allocates, logs or touches errno.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct span {
	const char *p;
	size_t len;
};

/* Iterate over lines: "while (line_next(&rest, &line))". The '\n' is not part of @ret_line; a
 * last line without '\n' is returned too. */
bool line_next(struct span *rest, struct span *ret_line);

/* Split off the next whitespace-separated word (spaces and tabs). false at the end. */
bool word_next(struct span *rest, struct span *ret_word);

/* Inline and without strlen(): parsers compare every key of a file against a table of literals
 * (thousands of calls per render of meminfo), and most comparisons end at the first byte. */
static inline bool span_eq(struct span s, const char *lit)
{
	size_t i;

	for (i = 0; i < s.len; i++)
		if (!lit[i] || lit[i] != s.p[i])
			return false;
	return lit[i] == '\0';
}

static inline bool span_startswith(struct span s, const char *lit)
{
	size_t i;

	for (i = 0; lit[i]; i++)
		if (i >= s.len || lit[i] != s.p[i])
			return false;
	return true;
}
struct span span_trim(struct span s);

/*
 * Parse a whole span as an unsigned decimal, surrounding whitespace and one trailing newline
 * allowed. "max" is UINT64_MAX (cgroup v2 spelling of "no limit"). Overflow, sign, empty input
 * or trailing garbage: -EINVAL / -ERANGE. @ret written only on success.
 */
int parse_u64(struct span s, uint64_t *ret);
int parse_u64_str(const char *s, uint64_t *ret);

/*
 * Flat keyed files ("key value\n" lines: memory.stat, cpu.stat, cpuacct.stat): find @key (the
 * whole first word) and parse its value. -ENOENT when the key is absent, -EINVAL when the value
 * is garbage.
 */
int keyed_u64(struct span text, const char *key, uint64_t *ret);

/*
 * /proc/meminfo style ("Key:   value kB"): value of @key (without the colon) in the file's unit.
 * -ENOENT when absent.
 */
int meminfo_u64(struct span text, const char *key, uint64_t *ret);

/* Saturating arithmetic on u64 counters. */
static inline uint64_t sat_sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}
static inline uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}
static inline uint64_t u64_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}
