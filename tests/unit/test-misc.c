/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the small renderers (model/misc.c): uptime, the load average EWMA and file,
 * diskstats, the /proc/<pid>/stat starttime shift and sysinfo(). */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "model/misc.h"

static struct span S(const char *s) {
	return (struct span){s, strlen(s)};
}

#define RENDER(call, out)                                                                          \
	do {                                                                                       \
		struct buf b_;                                                                     \
		buf_init(&b_, (out), sizeof(out) - 1);                                             \
		cr_assert_eq((call), 0);                                                           \
		(out)[b_.len] = '\0';                                                              \
	} while (0)

Test(uptime, render)
{
	char out[64];
	struct buf b;

	buf_init(&b, out, sizeof(out) - 1);
	cr_assert_eq(uptime_render(12345, 7, &b), 0);
	out[b.len] = '\0';
	cr_assert_str_eq(out, "123.45 0.07\n");
	buf_init(&b, out, sizeof(out) - 1);
	cr_assert_eq(uptime_render(UINT64_MAX, 0, &b), 0);
	out[b.len] = '\0';
	cr_assert_str_eq(out, "184467440737095516.15 0.00\n");
	buf_init(&b, out, 4);
	cr_assert_eq(uptime_render(100, 100, &b), -ENOBUFS);
}

static uint64_t lcg_state;
static uint64_t lcg(void)
{
	lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return lcg_state >> 11;
}

/* The kernel formula written out separately (kernel/sched/loadavg.c calc_load(), with
 * active = n * FIXED_1), in floating-free unsigned long arithmetic like the kernel. */
static unsigned long ref_calc_load(unsigned long load, unsigned long exp, unsigned long n)
{
	unsigned long active = n * 2048;
	unsigned long newload = load * exp + active * (2048 - exp);

	if (active >= load)
		newload += 2048 - 1;
	return newload / 2048;
}

Test(loadavg, step_matches_kernel_formula)
{
	const uint64_t exps[] = {LOADAVG_EXP_1, LOADAVG_EXP_5, LOADAVG_EXP_15};

	lcg_state = 42;
	for (int i = 0; i < 100000; i++) {
		uint64_t load = lcg() % (1u << 24), n = lcg() % 5000, e = exps[lcg() % 3];

		cr_assert_eq(loadavg_step(load, e, n), ref_calc_load(load, e, n),
			     "load %llu exp %llu n %llu", (unsigned long long)load,
			     (unsigned long long)e, (unsigned long long)n);
	}
	/* rounding up only while rising */
	cr_assert_eq(loadavg_step(0, LOADAVG_EXP_1, 0), 0);
	cr_assert_eq(loadavg_step(0, LOADAVG_EXP_1, 1), (2048u * 164 + 2047) / 2048);
	/* absurd input saturates instead of wrapping */
	cr_assert_eq(loadavg_step(UINT64_MAX, LOADAVG_EXP_15, UINT64_MAX), UINT64_MAX);
}

Test(loadavg, converges_and_decays)
{
	const uint64_t exps[] = {LOADAVG_EXP_1, LOADAVG_EXP_5, LOADAVG_EXP_15};

	for (int k = 0; k < 3; k++) {
		uint64_t l = 0;

		/* 3 runnable tasks for four hours (2880 ticks of 5 s) */
		for (int i = 0; i < 2880; i++)
			l = loadavg_step(l, exps[k], 3);
		cr_assert_eq(l, 3 * LOADAVG_FIXED_1, "exp %llu: %llu", (unsigned long long)exps[k],
			     (unsigned long long)l);
		/* idle for four hours: back to 0 */
		for (int i = 0; i < 2880; i++)
			l = loadavg_step(l, exps[k], 0);
		cr_assert_eq(l, 0, "exp %llu: %llu", (unsigned long long)exps[k],
			     (unsigned long long)l);
	}
	/* the 1-minute average moves faster than the 15-minute one */
	{
		uint64_t a = 0, c = 0;

		for (int i = 0; i < 12; i++) {
			a = loadavg_step(a, LOADAVG_EXP_1, 2);
			c = loadavg_step(c, LOADAVG_EXP_15, 2);
		}
		cr_assert_gt(a, c);
		cr_assert_lt(a, 2 * LOADAVG_FIXED_1);
	}
}

Test(loadavg, parse_render_roundtrip)
{
	struct loadavg l;
	char out[128], in[64];

	cr_assert_eq(loadavg_parse(S("0.52 0.31 0.12 1/96 10159\n"), &l), 0);
	cr_assert_eq(l.running, 1);
	cr_assert_eq(l.total, 96);
	cr_assert_eq(l.lastpid, 10159);
	/* 0.52 * 2048 = 1064.96 */
	cr_assert_eq(l.avg[0], 1065);
	RENDER(loadavg_render(&l, &b_), out);
	cr_assert_str_eq(out, "0.52 0.31 0.12 1/96 10159\n");

	/* every two-digit value survives parse + render */
	for (unsigned v = 0; v < 10000; v++) {
		snprintf(in, sizeof(in), "%u.%02u 0.00 %u.%02u 0/0 1", v / 100, v % 100, v / 100,
			 v % 100);
		cr_assert_eq(loadavg_parse(S(in), &l), 0, "%s", in);
		RENDER(loadavg_render(&l, &b_), out);
		cr_assert_eq(strncmp(out, in, strlen(in)), 0, "%s -> %s", in, out);
	}

	/* kernel rounding: LOAD_INT/LOAD_FRAC of a + FIXED_1/200 */
	l = (struct loadavg){.avg = {2047, 2048 * 3 + 1023, 0}, .running = 2, .total = 7};
	RENDER(loadavg_render(&l, &b_), out);
	cr_assert_str_eq(out, "1.00 3.50 0.00 2/7 0\n");
}

Test(loadavg, parse_hostile)
{
	struct loadavg l = {.running = 99};

	cr_assert_eq(loadavg_parse(S(""), &l), -EINVAL);
	cr_assert_eq(loadavg_parse(S("0.52 0.31 0.12"), &l), -EINVAL, "truncated");
	cr_assert_eq(loadavg_parse(S("0.52 0.31 0.12 1/96"), &l), -EINVAL);
	cr_assert_eq(loadavg_parse(S("0.52 0.31 0.12 196 5"), &l), -EINVAL);
	cr_assert_eq(loadavg_parse(S("0.52 0.31 0.12 /96 5"), &l), -EINVAL);
	cr_assert_eq(loadavg_parse(S("0.52 0.31 x.12 1/96 5"), &l), -EINVAL);
	cr_assert_eq(loadavg_parse(S("0.52 0.31 .12 1/96 5"), &l), -EINVAL);
	cr_assert_eq(loadavg_parse(S("0.52 0.31 1. 1/96 5"), &l), -EINVAL);
	cr_assert_eq(loadavg_parse(S("-0.52 0.31 0.12 1/96 5"), &l), -EINVAL);
	cr_assert_eq(loadavg_parse(S("0.52 0.31 0.12 1/96 5 6"), &l), -EINVAL);
	cr_assert_eq(loadavg_parse(S("0.52 0.31 0.12 max/96 5"), &l), -EINVAL);
	cr_assert_eq(loadavg_parse(S("99999999999999999999.00 0 0 1/1 1"), &l), -EINVAL);
	cr_assert_eq(l.running, 99, "ret untouched on failure");
	cr_assert_eq(loadavg_parse(S("3 0.5 0.123456789123 1/2 3"), &l), 0, "other precisions");
	cr_assert_eq(l.avg[0], 3 * 2048);
	cr_assert_eq(l.avg[1], 1024);
	cr_assert_eq(l.avg[2], 253); /* 0.1234... * 2048 = 252.8 */
}

static const char host_diskstats[] =
	"   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
	"   8       0 sda 1000 10 80000 500 2000 20 160000 900 0 1200 1400 5 0 40 1 30 2\n"
	"   8       1 sda1 900 10 70000 400 1900 20 150000 800 0 1100 1300 0 0 0 0 0 0\n"
	" 253       0 dm-0 10 0 80 1 0 0 0 0 0 1 1 0 0 0 0 0 0\n"
	" 259       0 nvme0n1 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n";

Test(diskstats, v2_iostat)
{
	char out[1024];
	const char *iostat = "8:0 rbytes=1048576 wbytes=4096 rios=10 wios=1 dbytes=512 dios=1\n"
			     "253:0 rbytes=0 wbytes=0 rios=0 wios=0 dbytes=0 dios=0\n"
			     "259:0 rbytes=512 wbytes=0 rios=1 wios=0 dbytes=0 dios=0 extra=9\n"
			     "9:9 rbytes=512 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n";

	RENDER(diskstats_render(S(host_diskstats), S(iostat), S(""), S(""), &b_), out);
	/* sda in host order, dm-0 all zero (omitted), sda1/loop0 absent (omitted), 9:9 not a
	 * host device (omitted) */
	cr_assert_str_eq(out, "   8       0 sda 10 0 2048 0 1 0 8 0 0 0 0 1 0 1 0 0 0\n"
			      " 259       0 nvme0n1 1 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
}

Test(diskstats, v1_blkio)
{
	char out[1024];
	const char *serviced = "8:0 Read 10\n8:0 Write 3\n8:0 Sync 13\n8:0 Async 0\n"
			       "8:0 Discard 2\n8:0 Total 15\n8:1 Read 0\n8:1 Write 0\nTotal 15\n";
	const char *bytes = "8:0 Read 5120\n8:0 Write 1024\n8:0 Sync 6144\n8:0 Async 0\n"
			    "8:0 Discard 1024\n8:0 Total 7168\nTotal 7168\n";

	RENDER(diskstats_render(S(host_diskstats), S(""), S(serviced), S(bytes), &b_), out);
	cr_assert_str_eq(out, "   8       0 sda 10 0 10 0 3 0 2 0 0 0 0 2 0 2 0 0 0\n");
	/* 20 fields per line, like the kernel */
	{
		struct span l = S(out), w;
		int n = 0;

		while (word_next(&l, &w))
			n++;
		cr_assert_eq(n, 20);
	}
}

Test(diskstats, hostile)
{
	char out[1024];

	RENDER(diskstats_render(S(""), S("8:0 rios=1"), S(""), S(""), &b_), out);
	cr_assert_str_eq(out, "");
	RENDER(diskstats_render(S(host_diskstats), S(""), S(""), S(""), &b_), out);
	cr_assert_str_eq(out, "", "no I/O stats: no devices");
	RENDER(diskstats_render(S("garbage\n   8\n x 0 sda 1\n   8       0 sda"),
				S("8:0 rios=zz wios=2\n8: rios=1\n:0 rios=1\nbad\n"), S(""), S(""),
				&b_),
	       out);
	cr_assert_str_eq(out, "   8       0 sda 0 0 0 0 2 0 0 0 0 0 0 0 0 0 0 0 0\n");
}

/* A real line (cat /proc/self/stat) with the comm replaced by one holding ") (" */
static const char pidstat[] =
	"9414 (a) b (c) R 9370 9370 5080 0 -1 4194304 100 0 0 0 0 0 0 0 20 0 1 0 105159 "
	"3133440 362 18446744073709551615 94808094494720 94808094514601 140731295925392 0 0 0 0 "
	"0 0 0 0 0 17 1 0 0 0 0 0 94808094530608 94808094532224 94809145495552 140731295931000 "
	"140731295931020 140731295931020 140731295932395 0\n";

Test(pidstat, starttime_and_shift)
{
	char out[1024], expect[1024];
	const char *p;
	uint64_t t = 0;

	cr_assert_eq(pidstat_starttime(S(pidstat), &t), 0);
	cr_assert_eq(t, 105159);

	RENDER(pidstat_render(S(pidstat), 100000, &b_), out);
	p = strstr(pidstat, " 105159 ");
	cr_assert(p);
	snprintf(expect, sizeof(expect), "%.*s 5159 %s", (int)(p - pidstat), pidstat, p + 8);
	cr_assert_str_eq(out, expect);
	cr_assert_eq(pidstat_starttime(S(out), &t), 0);
	cr_assert_eq(t, 5159);

	/* saturating at 0 */
	RENDER(pidstat_render(S(pidstat), 200000, &b_), out);
	cr_assert_eq(pidstat_starttime(S(out), &t), 0);
	cr_assert_eq(t, 0);
	cr_assert_eq(strlen(out), strlen(pidstat) - 5);

	/* no shift: byte-identical */
	RENDER(pidstat_render(S(pidstat), 0, &b_), out);
	cr_assert_str_eq(out, pidstat);
}

Test(pidstat, hostile)
{
	char out[256];
	struct buf b;
	uint64_t t = 7;

	buf_init(&b, out, sizeof(out));
	cr_assert_eq(pidstat_starttime(S(""), &t), -EINVAL);
	cr_assert_eq(pidstat_starttime(S("1 (x R 1 2 3"), &t), -EINVAL, "no ')'");
	cr_assert_eq(pidstat_starttime(S("1 (x) R 1 2 3 4 5\n"), &t), -EINVAL, "truncated");
	cr_assert_eq(
		pidstat_starttime(S("1 (x) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 abc 1\n"), &t),
		-EINVAL);
	cr_assert_eq(
		pidstat_render(S("1 (x) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 abc 1\n"), 5, &b),
		-EINVAL);
	/* field 22 is on the first line only */
	cr_assert_eq(
		pidstat_starttime(S("1 (x) R 1 1 1 0\n-1 0 0 0 0 0 0 0 0 0 20 0 1 0 7 1\n"), &t),
		-EINVAL);
	cr_assert_eq(t, 7, "ret untouched on failure");
	cr_assert_eq(pidstat_starttime(S("1 (x) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 77"), &t),
		     0, "starttime last, no newline");
	cr_assert_eq(t, 77);
}

Test(sysinfo, apply)
{
	struct mem_view v = {.total = 524288,
			     .free = 300000,
			     .shmem = 1000,
			     .buffers = 0,
			     .swap_total = 2048,
			     .swap_free = 1024};
	struct loadavg l = {.avg = {2048, 1024, 3 * 2048 + 512}};
	struct sysinfo si;

	memset(&si, 0, sizeof(si));
	si.procs = 123;
	si.totalhigh = 77;
	si.mem_unit = 4096;
	sysinfo_apply(&v, 3600, &l, &si);
	cr_assert_eq(si.mem_unit, 1);
	cr_assert_eq(si.totalram, 524288UL * 1024);
	cr_assert_eq(si.freeram, 300000UL * 1024);
	cr_assert_eq(si.sharedram, 1000UL * 1024);
	cr_assert_eq(si.bufferram, 0);
	cr_assert_eq(si.totalswap, 2048UL * 1024);
	cr_assert_eq(si.freeswap, 1024UL * 1024);
	cr_assert_eq(si.totalhigh, 0);
	cr_assert_eq(si.freehigh, 0);
	cr_assert_eq(si.procs, 123, "procs left alone");
	cr_assert_eq(si.uptime, 3600);
	/* SI_LOAD_SHIFT 16: 1.0 is 65536 */
	cr_assert_eq(si.loads[0], 65536);
	cr_assert_eq(si.loads[1], 32768);
	cr_assert_eq(si.loads[2], 3 * 65536 + 16384);
}

Test(sysinfo, huge_values_scale_mem_unit)
{
	struct mem_view v = {.total = UINT64_MAX / 4, .free = UINT64_MAX / 8};
	struct loadavg l = {0};
	struct sysinfo si;
	unsigned __int128 total;

	memset(&si, 0, sizeof(si));
	sysinfo_apply(&v, UINT64_MAX, &l, &si);
	cr_assert_gt(si.mem_unit, 1);
	cr_assert_eq(si.mem_unit & (si.mem_unit - 1), 0, "power of two");
	total = (unsigned __int128)si.totalram * si.mem_unit;
	cr_assert_leq(total, (unsigned __int128)v.total * 1024);
	cr_assert_gt(total + si.mem_unit, (unsigned __int128)v.total * 1024);
	/* the smallest such unit: half of it would not fit */
	cr_assert_gt((unsigned __int128)v.total * 1024 / (si.mem_unit / 2),
		     (unsigned __int128)ULONG_MAX);
	cr_assert_eq(si.uptime, LONG_MAX);
}

/* A cgroup that did no I/O has no device lines: nothing is shown, whatever the host has; a
 * device line in only one of the v1 files still counts. */
Test(diskstats, no_device_lines)
{
	char out[1024];

	RENDER(diskstats_render(S(host_diskstats), S(""), S("Total 0\n"), S("Total 0\n"), &b_),
	       out);
	cr_assert_str_eq(out, "");
	RENDER(diskstats_render(S(host_diskstats), S("\n"), S(""), S(""), &b_), out);
	cr_assert_str_eq(out, "");
	RENDER(diskstats_render(S(host_diskstats), S(""), S("8:0 Read 7\nTotal 7\n"),
				S("Total 0\n"), &b_),
	       out);
	cr_assert_str_eq(out, "   8       0 sda 7 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
	RENDER(diskstats_render(S(host_diskstats), S(""), S("Total 0\n"), S("8:0 Write 4096\n"),
				&b_),
	       out);
	cr_assert_str_eq(out, "   8       0 sda 0 0 0 0 0 0 8 0 0 0 0 0 0 0 0 0 0\n");
}
