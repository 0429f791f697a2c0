/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the shared scanners (model/parse.c) and bounded output (model/buf.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "model/buf.h"
#include "model/parse.h"

static struct span S(const char *s) {
	return (struct span){s, strlen(s)};
}

Test(parse, u64_plain_and_max)
{
	uint64_t v = 7;

	cr_assert_eq(parse_u64(S("536870912\n"), &v), 0);
	cr_assert_eq(v, 536870912);
	cr_assert_eq(parse_u64(S("max\n"), &v), 0);
	cr_assert_eq(v, UINT64_MAX);
	cr_assert_eq(parse_u64(S("18446744073709551615"), &v), 0);
	cr_assert_eq(v, UINT64_MAX);
}

Test(parse, u64_hostile)
{
	uint64_t v = 42;

	cr_assert_eq(parse_u64(S(""), &v), -EINVAL);
	cr_assert_eq(parse_u64(S("\n"), &v), -EINVAL);
	cr_assert_eq(parse_u64(S("-1"), &v), -EINVAL);
	cr_assert_eq(parse_u64(S("12abc"), &v), -EINVAL);
	cr_assert_eq(parse_u64(S("18446744073709551616"), &v), -ERANGE);
	cr_assert_eq(parse_u64(S("1 2"), &v), -EINVAL);
	cr_assert_eq(v, 42, "ret must be untouched on failure");
}

Test(parse, lines_and_words)
{
	struct span rest = S("a b\n\nlast"), line, w;
	int n = 0;

	while (line_next(&rest, &line))
		n++;
	cr_assert_eq(n, 3);
	rest = S("  cpu0\t 12  34 ");
	cr_assert(word_next(&rest, &w) && span_eq(w, "cpu0"));
	cr_assert(word_next(&rest, &w) && span_eq(w, "12"));
	cr_assert(word_next(&rest, &w) && span_eq(w, "34"));
	cr_assert_not(word_next(&rest, &w));
}

Test(parse, keyed_and_meminfo)
{
	uint64_t v = 0;

	cr_assert_eq(keyed_u64(S("cache 1\ntotal_cache 99\n"), "total_cache", &v), 0);
	cr_assert_eq(v, 99);
	cr_assert_eq(keyed_u64(S("cache 1\n"), "total_cache", &v), -ENOENT);
	cr_assert_eq(keyed_u64(S("cache x\n"), "cache", &v), -EINVAL);
	cr_assert_eq(meminfo_u64(S("MemTotal:  24684084 kB\nMemFree: 1 kB\n"), "MemFree", &v), 0);
	cr_assert_eq(v, 1);
	cr_assert_eq(meminfo_u64(S("MemTotalX: 5 kB\n"), "MemTotal", &v), -ENOENT);
	cr_assert_eq(meminfo_u64(S("MemTotal:"), "MemTotal", &v), -EINVAL);
}

Test(buf, formats_and_overflow)
{
	char mem[16];
	struct buf b;

	buf_init(&b, mem, sizeof(mem));
	buf_put_u64_width(&b, 42, 5);
	buf_putc(&b, '|');
	buf_put_centi(&b, 12345);
	cr_assert_eq(buf_result(&b), 0);
	cr_assert_eq(b.len, 12);
	cr_assert_arr_eq(mem, "   42|123.45", 12);
	buf_put_u64(&b, UINT64_MAX);
	cr_assert_eq(buf_result(&b), -ENOBUFS);
	cr_assert_eq(b.len, sizeof(mem), "never writes past cap");
	cr_assert_eq(b.need, 12 + 20);
}

/*
 * hash_bytes() is a filter before exact compares (snapshot reuse, kept fds): every byte of every
 * length must reach it, the 32-byte lanes, the 8-byte words and the tail alike, and the length
 * must count (a text and the same text with a NUL appended differ).
 */
Test(hash, every_byte_and_the_length_count)
{
	char a[200], b[200];

	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = (char)('a' + i * 7 % 26);
	for (size_t len = 0; len <= sizeof(a); len++) {
		uint64_t h = hash_bytes(a, len);

		cr_assert_eq(hash_bytes(a, len), h, "deterministic at %zu", len);
		if (len < sizeof(a)) {
			memcpy(b, a, len);
			b[len] = 0;
			cr_expect_neq(hash_bytes(b, len + 1), h, "length counts at %zu", len);
		}
		for (size_t pos = 0; pos < len; pos++) {
			memcpy(b, a, len);
			b[pos] ^= 1;
			cr_expect_neq(hash_bytes(b, len), h, "byte %zu of %zu", pos, len);
		}
	}
}

Test(parse, fnv1a_reference_vectors)
{
	/* the published FNV-1a 64-bit test vectors; chaining equals one pass */
	cr_expect_eq(fnv1a(FNV1A_INIT, "", 0), UINT64_C(0xcbf29ce484222325));
	cr_expect_eq(fnv1a(FNV1A_INIT, "a", 1), UINT64_C(0xaf63dc4c8601ec8c));
	cr_expect_eq(fnv1a(FNV1A_INIT, "foobar", 6), UINT64_C(0x85944171f73967e8));
	cr_expect_eq(fnv1a(fnv1a(FNV1A_INIT, "foo", 3), "bar", 3), fnv1a(FNV1A_INIT, "foobar", 6));
}
