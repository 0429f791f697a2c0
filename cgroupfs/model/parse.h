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
#include <string.h>

struct span {
	const char *p;
	size_t len;
};

/* Split off the next item of a list separated by @sep ("a,b,c"): the separator is not part of
 * @ret_item; a last item without one is returned too. false at the end. Inline: it runs per line
 * of every file a render reads. */
static inline bool field_next(struct span *rest, char sep, struct span *ret_item)
{
	const char *end;

	if (rest->len == 0)
		return false;
	end = memchr(rest->p, sep, rest->len);
	if (!end) {
		*ret_item = *rest;
		rest->p += rest->len;
		rest->len = 0;
		return true;
	}
	ret_item->p = rest->p;
	ret_item->len = (size_t)(end - rest->p);
	rest->len -= ret_item->len + 1;
	rest->p = end + 1;
	return true;
}

/* Iterate over lines: "while (line_next(&rest, &line))" (field_next() at '\n'). */
bool line_next(struct span *rest, struct span *ret_line);

/* Split off the next whitespace-separated word (spaces and tabs). false at the end. */
bool word_next(struct span *rest, struct span *ret_word);

/* Inline and without strlen(): parsers compare every key of a file against a table of literals
 * (thousands of calls per render of meminfo), and most comparisons end at the first byte. */
/* Blanks between words of proc and cgroup files. */
static inline bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* @lit is the @n bytes at @k (with constant @lit, memcmp compiles to a load and a compare). */
#define KEY_IS(k, n, lit) ((n) == sizeof(lit) - 1 && memcmp((k), (lit), sizeof(lit) - 1) == 0)

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
 * Byte scans over [p, end) eight bytes at a time (SWAR, little-endian hosts; a byte loop on
 * others and for the last few bytes). For parsers that run over whole proc files per render.
 */
#define SCAN_ONES UINT64_C(0x0101010101010101)
#define SCAN_HIGHS UINT64_C(0x8080808080808080)

/* High bit of each byte of @x that is 0, exactly (no false positives next to a zero byte). */
static inline uint64_t scan_zero_bytes(uint64_t x)
{
	return ~(((x & ~SCAN_HIGHS) + ~SCAN_HIGHS) | x) & SCAN_HIGHS;
}

static inline uint64_t scan_load(const char *p)
{
	uint64_t x;

	__builtin_memcpy(&x, p, sizeof(x));
	return x;
}

/* The first ' ', '\t' or '\n' at or after @p, or @end. */
static inline const char *scan_word_end(const char *p, const char *end)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (end - p >= 8) {
		uint64_t x = scan_load(p);
		uint64_t m = scan_zero_bytes(x ^ (SCAN_ONES * ' ')) |
			     scan_zero_bytes(x ^ (SCAN_ONES * '\t')) |
			     scan_zero_bytes(x ^ (SCAN_ONES * '\n'));

		if (m)
			return p + (__builtin_ctzll(m) >> 3);
		p += 8;
	}
#endif
	while (p < end && *p != ' ' && *p != '\t' && *p != '\n')
		p++;
	return p;
}

/* The first byte at or after @p that is not a blank (' ', '\t'), or @end. */
static inline const char *scan_blanks(const char *p, const char *end)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (end - p >= 8) {
		uint64_t x = scan_load(p);
		uint64_t other = ~(scan_zero_bytes(x ^ (SCAN_ONES * ' ')) |
				   scan_zero_bytes(x ^ (SCAN_ONES * '\t'))) &
				 SCAN_HIGHS;

		if (other)
			return p + (__builtin_ctzll(other) >> 3);
		p += 8;
	}
#endif
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* Going back from @b (exclusive) to @p: the start of the run of blanks (' ', '\t') ending at @b. */
static inline const char *scan_back_blanks(const char *p, const char *b)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (b - p >= 8) {
		uint64_t x = scan_load(b - 8);
		uint64_t other = ~(scan_zero_bytes(x ^ (SCAN_ONES * ' ')) |
				   scan_zero_bytes(x ^ (SCAN_ONES * '\t'))) &
				 SCAN_HIGHS;

		if (other)
			return b - (__builtin_clzll(other) >> 3);
		b -= 8;
	}
#endif
	while (b > p && (b[-1] == ' ' || b[-1] == '\t'))
		b--;
	return b;
}

/* Going back from @b (exclusive) to @p: the start of the run of decimal digits ending at @b. */
static inline const char *scan_back_digits(const char *p, const char *b)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (b - p >= 8) {
		uint64_t t = scan_load(b - 8) ^ (SCAN_ONES * '0');
		/* high bit of each byte whose value, xor '0', is above 9 (not a digit) */
		uint64_t other = (((t & ~SCAN_HIGHS) + SCAN_ONES * (0x7f - 9)) | t) & SCAN_HIGHS;

		if (other)
			return b - (__builtin_clzll(other) >> 3);
		b -= 8;
	}
#endif
	while (b > p && (unsigned)(b[-1] - '0') <= 9)
		b--;
	return b;
}

/*
 * Parse a whole span as an unsigned decimal, surrounding whitespace and one trailing newline
 * allowed. "max" is UINT64_MAX (cgroup v2 spelling of "no limit"). Overflow, sign, empty input
 * or trailing garbage: -EINVAL / -ERANGE. @ret written only on success.
 */
/*
 * A fast non-cryptographic hash of @len bytes at @p: a filter before an exact compare, never
 * trusted alone (the shim's snapshot reuse, the kept-fd cache's slots). Four independent lanes of
 * 8 bytes, then a word at a time.
 */
uint64_t hash_bytes(const char *p, size_t len);

/*
 * FNV-1a of @len bytes at @p, continuing from @h (FNV1A_INIT to start): the stable hash of keys
 * and checksums that must not change between builds (the sampler table's format uses it).
 */
#define FNV1A_INIT UINT64_C(0xcbf29ce484222325)
uint64_t fnv1a(uint64_t h, const void *p, size_t len);

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
/* a * b / c, saturating at UINT64_MAX; c == 0 gives 0. */
static inline uint64_t u64_muldiv(uint64_t a, uint64_t b, uint64_t c)
{
	unsigned __int128 r;

	if (c == 0)
		return 0;
	r = (unsigned __int128)a * b / c;
	return r > UINT64_MAX ? UINT64_MAX : (uint64_t)r;
}
