/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the kernel CPU list format (model/cpuset.c): parse, set algebra, format. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/cpuset.h"

static struct span S(const char *s) {
	return (struct span){s, strlen(s)};
}

/* Format @s into a static buffer (tests only). */
static const char *
fmt(const struct cpuset *s)
{
	static char mem[65536];
	struct buf b;

	buf_init(&b, mem, sizeof(mem) - 1);
	cpuset_format(s, &b);
	cr_assert_eq(buf_result(&b), 0);
	mem[b.len] = '\0';
	return mem;
}

Test(cpuset, parse_simple_and_ranges)
{
	struct cpuset s;

	cr_assert_eq(cpuset_parse(S("0-3,5,7-8\n"), &s), 0);
	cr_assert_eq(cpuset_count(&s), 7);
	cr_assert(cpuset_test(&s, 0) && cpuset_test(&s, 3) && cpuset_test(&s, 5));
	cr_assert(!cpuset_test(&s, 4) && !cpuset_test(&s, 6) && !cpuset_test(&s, 9));
	cr_assert_str_eq(fmt(&s), "0-3,5,7-8");
}

Test(cpuset, parse_unordered_and_whitespace)
{
	struct cpuset s;

	cr_assert_eq(cpuset_parse(S("3,1-2\n"), &s), 0);
	cr_assert_eq(cpuset_count(&s), 3);
	cr_assert_str_eq(fmt(&s), "1-3");
	cr_assert_eq(cpuset_parse(S(" 0 "), &s), 0);
	cr_assert_eq(cpuset_count(&s), 1);
	cr_assert(cpuset_test(&s, 0));
	/* overlapping ranges and duplicates */
	cr_assert_eq(cpuset_parse(S("0-5,2-8,8"), &s), 0);
	cr_assert_str_eq(fmt(&s), "0-8");
}

Test(cpuset, parse_empty)
{
	struct cpuset s;

	cr_assert_eq(cpuset_parse(S(""), &s), 0);
	cr_assert(cpuset_empty(&s));
	cr_assert_eq(cpuset_parse(S("\n"), &s), 0);
	cr_assert(cpuset_empty(&s));
	cr_assert_str_eq(fmt(&s), "");
}

Test(cpuset, parse_full_range)
{
	struct cpuset s;

	cr_assert_eq(cpuset_parse(S("0-1023"), &s), 0);
	cr_assert_eq(cpuset_count(&s), 1024);
	cr_assert(cpuset_test(&s, 1023) && !cpuset_test(&s, 1024));
	cr_assert_str_eq(fmt(&s), "0-1023");
	cr_assert_eq(cpuset_parse(S("0-8191"), &s), 0);
	cr_assert_eq(cpuset_count(&s), CPUSET_MAX);
	cr_assert_str_eq(fmt(&s), "0-8191");
	cr_assert_eq(cpuset_parse(S("63-64,127,8191"), &s), 0);
	cr_assert_str_eq(fmt(&s), "63-64,127,8191");
}

Test(cpuset, parse_hostile)
{
	static const char *const bad[] = {
		"1-",
		"-1",
		",,",
		"1,,2",
		"1,",
		",1",
		"3-1",
		"abc",
		"1 2",
		"1-2-3",
		"8192",
		"0-8192",
		"99999999999999999999",
		"1:2",
		"0-7:2/4",
		"+1",
		"0x1",
		"1\n2",
		"\t,",
		"1- 2",
		"1 -2",
	};
	struct cpuset s, keep;

	cr_assert_eq(cpuset_parse(S("42"), &keep), 0);
	s = keep;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(cpuset_parse(S(bad[i]), &s), -EINVAL, "accepted \"%s\"", bad[i]);
		cr_assert(memcmp(&s, &keep, sizeof(s)) == 0, "ret written on failure: \"%s\"",
			  bad[i]);
	}
	/* not NUL-terminated: the parser must stop at the span's end */
	cr_assert_eq(cpuset_parse((struct span){"12345", 1}, &s), 0);
	cr_assert_eq(cpuset_count(&s), 1);
	cr_assert(cpuset_test(&s, 1));
}

Test(cpuset, set_and_first_n)
{
	struct cpuset a, b, r;

	cpuset_clear(&a);
	cpuset_set(&a, 2);
	cpuset_set(&a, 70);
	cpuset_set(&a, 8191);
	cpuset_set(&a, 8192); /* out of range: ignored */
	cr_assert_eq(cpuset_count(&a), 3);
	cr_assert(!cpuset_test(&a, 8192));
	cr_assert_eq(cpuset_parse(S("0-69,8191"), &b), 0);
	cpuset_and(&b, &a);
	cr_assert_str_eq(fmt(&b), "2,8191");
	cpuset_first_n(&a, 2, &r);
	cr_assert_str_eq(fmt(&r), "2,70");
	cpuset_first_n(&a, 0, &r);
	cr_assert(cpuset_empty(&r));
	cpuset_first_n(&a, 100, &r);
	cr_assert(memcmp(&r, &a, sizeof(r)) == 0);
	cr_assert(cpuset_intersects(&a, &b));
	cpuset_clear(&r);
	cpuset_set(&r, 3);
	cr_assert(!cpuset_intersects(&a, &r));
}

/* first_n in place and within one word agrees with taking the lowest ids one by one. */
Test(cpuset, first_n_in_place)
{
	unsigned seed = 777;

	for (unsigned round = 0; round < 300; round++) {
		struct cpuset a, r, want;
		unsigned n = (unsigned)(rand_r(&seed) % 200), left;

		cpuset_clear(&a);
		for (unsigned k = 0; k < 150; k++)
			cpuset_set(&a, (unsigned)(rand_r(&seed) % (round % 2 ? 130 : 8192)));
		cpuset_clear(&want);
		left = n;
		for (unsigned id = 0; id < CPUSET_MAX && left > 0; id++)
			if (cpuset_test(&a, id)) {
				cpuset_set(&want, id);
				left--;
			}
		cpuset_first_n(&a, n, &r);
		cr_assert(memcmp(&r, &want, sizeof(r)) == 0, "round %u n %u", round, n);
		cpuset_first_n(&a, n, &a);
		cr_assert(memcmp(&a, &want, sizeof(a)) == 0, "in place, round %u", round);
	}
}

/* Random sets survive format -> parse unchanged, and format is canonical. */
Test(cpuset, roundtrip_random)
{
	unsigned seed = 12345;

	for (int iter = 0; iter < 300; iter++) {
		struct cpuset a, b;
		char copy[65536];

		cpuset_clear(&a);
		for (int k = rand_r(&seed) % 64; k > 0; k--) {
			unsigned lo = (unsigned)rand_r(&seed) % CPUSET_MAX;
			unsigned len = (unsigned)rand_r(&seed) % 200;

			for (unsigned c = lo; c < lo + len && c < CPUSET_MAX; c++)
				cpuset_set(&a, c);
		}
		strcpy(copy, fmt(&a));
		cr_assert_eq(cpuset_parse(S(copy), &b), 0, "%s", copy);
		cr_assert(memcmp(&a, &b, sizeof(a)) == 0, "%s", copy);
		cr_assert_str_eq(fmt(&b), copy);
	}
}

Test(cpuset, format_truncated)
{
	struct cpuset s;
	char mem[4];
	struct buf b;

	cr_assert_eq(cpuset_parse(S("0-3,5,7-8"), &s), 0);
	buf_init(&b, mem, sizeof(mem));
	cpuset_format(&s, &b);
	cr_assert_eq(buf_result(&b), -ENOBUFS);
	cr_assert_eq(b.len, 4);
	cr_assert_eq(b.need, strlen("0-3,5,7-8"));
}

static void mask_restrict(const char *host, const char *visible, const char *want)
{
	struct cpuset m, v;
	char out[256];
	struct buf b;

	cr_assert_eq(cpuset_parse_mask(S(host), &m), 0, "%s", host);
	cr_assert_eq(cpuset_parse(S(visible), &v), 0);
	cpuset_and(&m, &v);
	buf_init(&b, out, sizeof(out) - 1);
	cr_assert_eq(cpuset_format_mask(&m, S(host), &b), 0);
	cr_assert_eq(buf_result(&b), 0);
	out[b.len] = '\0';
	cr_assert_str_eq(out, want, "%s & %s", host, visible);
}

Test(cpuset, mask_restricted_keeps_host_layout)
{
	mask_restrict("3\n", "0", "1");
	mask_restrict("3", "1", "2");
	mask_restrict("3", "", "0");
	mask_restrict("ff", "2-5", "3c");
	mask_restrict("00000000,00000003\n", "1", "00000000,00000002");
	mask_restrict("0000,00000000,80000001", "31-32,63", "0000,00000000,80000000");
	mask_restrict("f,ffffffff,ffffffff", "0,64-67", "f,00000000,00000001");
}

Test(cpuset, mask_parse_matches_list)
{
	struct cpuset m, l;

	cr_assert_eq(cpuset_parse_mask(S("00000001,0000f00f"), &m), 0);
	cr_assert_eq(cpuset_parse(S("0-3,12-15,32"), &l), 0);
	cr_assert(memcmp(&m, &l, sizeof(m)) == 0);
	cr_assert_eq(cpuset_count(&m), 9);
}

Test(cpuset, mask_hostile)
{
	static const char *bad[] = {"",	    "\n",	 ",",	      "3,",  ",3", "g",
				    "12,3", "123456789", "1,0000000", "0x3", "3 4"};
	struct cpuset m;
	char out[8];
	struct buf b;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(cpuset_parse_mask(S(bad[i]), &m), -EINVAL, "'%s'", bad[i]);
	/* 8193 bits and more do not fit a cpuset. */
	char big[4096] = "1";
	for (int g = 0; g < 256; g++)
		strcat(big, ",00000000");
	cr_assert_eq(cpuset_parse_mask(S(big), &m), -EINVAL);
	buf_init(&b, out, sizeof(out));
	cr_assert_eq(cpuset_format_mask(&m, S("xyz"), &b), -EINVAL);
	cr_assert_eq(b.len, 0);
}
