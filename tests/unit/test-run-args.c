/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `cgproc run` value parsers: sizes, CPU quotas, cgroup names (tools/cgproc/run-args.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>

#include "../../tools/cgproc/run-args.h"

static uint64_t size_ok(const char *s)
{
	uint64_t v = 12345;

	cr_assert_eq(size_parse(s, &v), 0, "size_parse(\"%s\") should succeed", s);
	return v;
}

Test(run_args, sizes)
{
	cr_assert_eq(size_ok("536870912"), 536870912ULL);
	cr_assert_eq(size_ok("512M"), 512ULL << 20);
	cr_assert_eq(size_ok("512m"), 512ULL << 20);
	cr_assert_eq(size_ok("512MiB"), 512ULL << 20);
	cr_assert_eq(size_ok("512mb"), 512ULL << 20);
	cr_assert_eq(size_ok("1.5G"), 3ULL << 29);
	cr_assert_eq(size_ok("0.5k"), 512);
	cr_assert_eq(size_ok("2T"), 2ULL << 40);
	cr_assert_eq(size_ok("64K"), 65536);
	cr_assert_eq(size_ok("100b"), 100);
	cr_assert_eq(size_ok("0"), 0);
	/* a fraction that is not a whole number of bytes is rounded down */
	cr_assert_eq(size_ok("0.0001K"), 0);
	cr_assert_eq(size_ok("0.25M"), 262144);
	cr_assert_eq(size_ok("1.999999999K"), 2047);
	cr_assert_eq(size_ok("18446744073709551615"), UINT64_MAX);
}

Test(run_args, bad_sizes)
{
	static const char *const bad[] = {"",	  "M",	 "-1",	"1.5",	 "12X",		 "1.G",
					  ".5G",  "1 G", "1GG", "1e9",	 "0x100",	 "1Gi",
					  "1.5 ", " 1G", "1K2", "1.2.3", "1.0000000001G"};
	uint64_t v = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_lt(size_parse(bad[i], &v), 0, "\"%s\" must be refused", bad[i]);
		cr_assert_eq(v, 42, "ret written on failure for \"%s\"", bad[i]);
	}
	cr_assert_eq(size_parse("18446744073709551616", &v), -ERANGE);
	cr_assert_eq(size_parse("16777216T", &v), -ERANGE);
	cr_assert_eq(v, 42);
}

Test(run_args, quotas)
{
	uint64_t q = 0, p = 0;

	cr_assert_eq(quota_parse("0.5", &q, &p), 0);
	cr_assert_eq(q, 50000);
	cr_assert_eq(p, 100000);
	cr_assert_eq(quota_parse("2", &q, &p), 0);
	cr_assert_eq(q, 200000);
	cr_assert_eq(p, 100000);
	cr_assert_eq(quota_parse("1.25", &q, &p), 0);
	cr_assert_eq(q, 125000);
	cr_assert_eq(quota_parse("0.01", &q, &p), 0);
	cr_assert_eq(q, 1000);
	cr_assert_eq(quota_parse("50000/100000", &q, &p), 0);
	cr_assert_eq(q, 50000);
	cr_assert_eq(p, 100000);
	cr_assert_eq(quota_parse("25000/50000", &q, &p), 0);
	cr_assert_eq(q, 25000);
	cr_assert_eq(p, 50000);
	cr_assert_eq(quota_parse("3000000/1000000", &q, &p), 0);
	cr_assert_eq(q, 3000000);
}

Test(run_args, bad_quotas)
{
	static const char *const bad[] = {
		"",	"0",	  "0.001",	    "-1",	    "x",
		"1/",	"/1000",  "1000/999",	    "1000/1000001", "0.5/1000",
		"1.5.", "2 CPUs", "1000/1000/1000", "0.0000001"};
	uint64_t q = 7, p = 7;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_lt(quota_parse(bad[i], &q, &p), 0, "\"%s\" must be refused", bad[i]);
		cr_assert(q == 7 && p == 7, "ret written on failure for \"%s\"", bad[i]);
	}
}

Test(run_args, names)
{
	cr_assert(cgname_valid("cgproc-run-42"));
	cr_assert(cgname_valid("a.b_c-D9"));
	cr_assert_not(cgname_valid(""));
	cr_assert_not(cgname_valid("."));
	cr_assert_not(cgname_valid(".."));
	cr_assert_not(cgname_valid("a/b"));
	cr_assert_not(cgname_valid("a b"));
	cr_assert_not(cgname_valid("x\n"));
	{
		char longname[202];

		memset(longname, 'a', 201);
		longname[201] = 0;
		cr_assert_not(cgname_valid(longname));
		longname[200] = 0;
		cr_assert(cgname_valid(longname));
	}
}
