/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CPU sets in the kernel's list format: see cpuset.h. Pure and allocation-free; the parser is
 * strict (what bitmap_parselist() prints, plus surrounding whitespace) so that garbage read from
 * a half-written or foreign file is refused rather than turned into a wrong CPU count. The
 * kernel's "0-7:2/4" stride syntax is accepted by cpuset.cpus writes but never printed, so it is
 * refused here.
 */
#include <errno.h>
#include <string.h>

#include "cpuset.h"

#define WORDS (CPUSET_MAX / 64)

void cpuset_clear(struct cpuset *s)
{
	memset(s->bits, 0, sizeof(s->bits));
}

void cpuset_set(struct cpuset *s, unsigned cpu)
{
	if (cpu < CPUSET_MAX)
		s->bits[cpu / 64] |= UINT64_C(1) << (cpu % 64);
}

bool cpuset_test(const struct cpuset *s, unsigned cpu)
{
	return cpu < CPUSET_MAX && (s->bits[cpu / 64] >> (cpu % 64)) & 1;
}

static unsigned word_count(uint64_t w)
{
	w = w - ((w >> 1) & UINT64_C(0x5555555555555555));
	w = (w & UINT64_C(0x3333333333333333)) + ((w >> 2) & UINT64_C(0x3333333333333333));
	w = (w + (w >> 4)) & UINT64_C(0x0f0f0f0f0f0f0f0f);
	return (unsigned)((w * UINT64_C(0x0101010101010101)) >> 56);
}

unsigned cpuset_count(const struct cpuset *s)
{
	unsigned n = 0;

	_Static_assert(WORDS % 4 == 0, "words in fours");
	/* Most words are zero: skipped four at a time; the others are counted in place (without
	 * -mpopcnt the builtin is a libgcc call per word). */
	for (size_t i = 0; i < WORDS; i += 4) {
		const uint64_t *w = s->bits + i;

		if (!(w[0] | w[1] | w[2] | w[3]))
			continue;
		for (size_t j = 0; j < 4; j++)
			if (w[j])
				n += word_count(w[j]);
	}
	return n;
}

bool cpuset_empty(const struct cpuset *s)
{
	for (size_t i = 0; i < WORDS; i += 4)
		if (s->bits[i] | s->bits[i + 1] | s->bits[i + 2] | s->bits[i + 3])
			return false;
	return true;
}

void cpuset_and(struct cpuset *dst, const struct cpuset *other)
{
	for (size_t i = 0; i < WORDS; i++)
		dst->bits[i] &= other->bits[i];
}

void cpuset_first_n(const struct cpuset *s, unsigned n, struct cpuset *ret)
{
	size_t i;

	/* In place (@ret may be @s): no second set on the stack. */
	if (ret != s)
		*ret = *s;
	for (i = 0; i < WORDS && n > 0; i++) {
		uint64_t w = ret->bits[i];
		unsigned c = word_count(w);

		if (c <= n) {
			n -= c;
			continue;
		}
		/* keep the lowest n bits of this word */
		while (c > n) {
			w &= ~(UINT64_C(1) << (63 - __builtin_clzll(w)));
			c--;
		}
		ret->bits[i] = w;
		n = 0;
	}
	for (; i < WORDS; i++)
		ret->bits[i] = 0;
}

bool cpuset_intersects(const struct cpuset *a, const struct cpuset *b)
{
	for (size_t i = 0; i < WORDS; i++)
		if (a->bits[i] & b->bits[i])
			return true;
	return false;
}

/* One CPU id: decimal digits only, < CPUSET_MAX. */
static int cpu_id_parse(const char *p, size_t len, unsigned *ret)
{
	unsigned v = 0;

	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(p[i] - '0');
		if (v >= CPUSET_MAX)
			return -EINVAL;
	}
	*ret = v;
	return 0;
}

static void cpuset_set_range(struct cpuset *s, unsigned lo, unsigned hi)
{
	for (unsigned c = lo; c <= hi; c++) {
		if (c % 64 == 0 && c + 63 <= hi) {
			s->bits[c / 64] = UINT64_MAX;
			c += 63;
			continue;
		}
		cpuset_set(s, c);
	}
}

int cpuset_parse(struct span s, struct cpuset *ret)
{
	struct cpuset out;

	cpuset_clear(&out);
	s = span_trim(s);
	while (s.len > 0) {
		const char *comma = memchr(s.p, ',', s.len);
		size_t n = comma ? (size_t)(comma - s.p) : s.len;
		const char *dash = memchr(s.p, '-', n);
		unsigned lo, hi;
		int r;

		if (dash) {
			r = cpu_id_parse(s.p, (size_t)(dash - s.p), &lo);
			if (r < 0)
				return r;
			r = cpu_id_parse(dash + 1, n - (size_t)(dash - s.p) - 1, &hi);
			if (r < 0)
				return r;
			if (hi < lo)
				return -EINVAL;
		} else {
			r = cpu_id_parse(s.p, n, &lo);
			if (r < 0)
				return r;
			hi = lo;
		}
		cpuset_set_range(&out, lo, hi);
		if (!comma)
			break;
		s.p += n + 1;
		s.len -= n + 1;
		if (s.len == 0) /* trailing comma */
			return -EINVAL;
	}
	*ret = out;
	return 0;
}

/* Lowest set id >= @from, or CPUSET_MAX. */
static unsigned next_set(const struct cpuset *s, unsigned from)
{
	while (from < CPUSET_MAX) {
		uint64_t w = s->bits[from / 64] >> (from % 64);

		if (w)
			return from + (unsigned)__builtin_ctzll(w);
		from = (from / 64 + 1) * 64;
	}
	return CPUSET_MAX;
}

/* Lowest clear id >= @from, or CPUSET_MAX. */
static unsigned next_clear(const struct cpuset *s, unsigned from)
{
	while (from < CPUSET_MAX) {
		uint64_t w = ~s->bits[from / 64] >> (from % 64);

		if (w)
			return from + (unsigned)__builtin_ctzll(w);
		from = (from / 64 + 1) * 64;
	}
	return CPUSET_MAX;
}

void cpuset_format(const struct cpuset *s, struct buf *out)
{
	bool first = true;

	for (unsigned lo = next_set(s, 0); lo < CPUSET_MAX;) {
		unsigned end = next_clear(s, lo); /* one past the run */

		if (!first)
			buf_putc(out, ',');
		first = false;
		buf_put_u64(out, lo);
		if (end - 1 > lo) {
			buf_putc(out, '-');
			buf_put_u64(out, end - 1);
		}
		if (end >= CPUSET_MAX)
			break;
		lo = next_set(s, end);
	}
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The layout of a bitmap text: its number of ','-separated groups and the digits of the first
 * (most significant) one. -EINVAL unless every group is hex and every group after the first has
 * eight digits, as the kernel prints them. */
static int mask_layout(struct span s, unsigned *ret_groups, unsigned *ret_first_digits)
{
	unsigned groups = 1, digits = 0, first = 0;

	s = span_trim(s);
	if (s.len == 0)
		return -EINVAL;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] == ',') {
			if (digits == 0 || (groups > 1 && digits != 8))
				return -EINVAL;
			if (groups == 1)
				first = digits;
			groups++;
			digits = 0;
		} else if (hex_digit(s.p[i]) < 0 || ++digits > 8) {
			return -EINVAL;
		}
	}
	if (digits == 0 || (groups > 1 && digits != 8))
		return -EINVAL;
	if (groups == 1)
		first = digits;
	if ((uint64_t)(groups - 1) * 32 + (uint64_t)first * 4 > CPUSET_MAX + 31)
		return -EINVAL;
	*ret_groups = groups;
	*ret_first_digits = first;
	return 0;
}

int cpuset_parse_mask(struct span s, struct cpuset *ret)
{
	unsigned groups, first, bit;
	struct cpuset set;
	int r;

	r = mask_layout(s, &groups, &first);
	if (r < 0)
		return r;
	s = span_trim(s);
	cpuset_clear(&set);
	/* The least significant digit is the last one. */
	bit = 0;
	for (size_t i = s.len; i-- > 0;) {
		int d = hex_digit(s.p[i]);

		if (d < 0)
			continue; /* a ',' */
		for (unsigned b = 0; b < 4; b++, bit++)
			if (d & (1 << b)) {
				if (bit >= CPUSET_MAX)
					return -EINVAL;
				cpuset_set(&set, bit);
			}
	}
	*ret = set;
	return 0;
}

int cpuset_format_mask(const struct cpuset *s, struct span like, struct buf *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned groups, first;
	int r;

	r = mask_layout(like, &groups, &first);
	if (r < 0)
		return r;
	for (unsigned g = groups; g-- > 0;) {
		unsigned digits = g == groups - 1 ? first : 8;

		for (unsigned d = digits; d-- > 0;) {
			unsigned base = g * 32 + d * 4, v = 0;

			for (unsigned b = 0; b < 4; b++)
				if (base + b < CPUSET_MAX && cpuset_test(s, base + b))
					v |= 1u << b;
			buf_putc(out, hex[v]);
		}
		if (g > 0)
			buf_putc(out, ',');
	}
	return 0;
}
