/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Differential test of stat_render() (model/stat.c) against the word-by-word version kept in
 * cpu-ref.c: real /proc/stat and cpuacct.usage_all texts and thousands of mutations of them, with
 * and without usage_all, various shown sets and small output buffers; the output must be the
 * same, byte for byte, and so must what a too small buffer reports.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "cpu-ref.h"
#include "mutate.h"

static const char stat_text[] =
	"cpu  1321540 0 606413 519368 21159 0 1208 7108 0 0\n"
	"cpu0 644177 0 316723 265287 9069 0 120 3529 0 0\n"
	"cpu1 677363 0 289690 254080 12089 0 1088 3578 0 0\n"
	"cpu2 1 0 2 3 4 0 0 0 0 0\n"
	"cpu3 5 0 6 7 8 0 0 0 0 0\n"
	"intr 41839272 0 0 0 0 0 0 1 1 17 0 0 0 0 2483 358 0 214 1 570974 0 802 629\n"
	"ctxt 199383527\n"
	"btime 1763800000\n"
	"processes 2096436\n"
	"procs_running 3\n"
	"procs_blocked 0\n"
	"softirq 12345 1 2 3 4 5 6 7 8 9 10\n";

static const char usage_text[] = "cpu user system\n"
				 "0 6441773466935 3168462334067\n"
				 "1 6773630405811 2907811337173\n"
				 "2 100000000 200000000\n"
				 "3 300000000 400000000\n";

static const char *const inserts[] = {" ",
				      "\t",
				      "\n",
				      "cpu",
				      "cpu9 ",
				      "max",
				      "0",
				      "99999999999999999999",
				      "18446744073709551615",
				      "btime",
				      "x",
				      "cpu ",
				      "\t\t",
				      "-1"};

static struct mutator mut = {.state = 0x9E3779B97F4A7C15ULL,
			     .inserts = inserts,
			     .n_inserts = sizeof(inserts) / sizeof(inserts[0]),
			     .bytes = " \t\n0123456789cpux",
			     .min_edits = 0,
			     .delete_len = 2};

static uint64_t rnd(void)
{
	return mutator_rnd(&mut);
}

static size_t mutate(const char *src, size_t len, char *out, size_t cap)
{
	return mutator_apply(&mut, src, len, out, cap);
}

static void check(struct span host, const struct cg_cpu *c, const struct cpuset *cpus,
		  const struct stat_clock *clk, size_t cap)
{
	static char oa[8192], ob[8192];
	struct buf a, b;
	int ra, rb;

	buf_init(&a, oa, cap);
	buf_init(&b, ob, cap);
	ra = stat_render(host, c, cpus, clk, &a);
	rb = ref_stat_render(host, c, cpus, clk, &b);
	cr_assert_eq(ra, rb);
	cr_assert_eq(a.need, b.need, "need %zu vs %zu on:\n%.*s\n--- usage_all:\n%.*s", a.need,
		     b.need, (int)host.len, host.p, (int)c->usage_all.len, c->usage_all.p);
	cr_assert_eq(a.len, b.len);
	cr_assert(memcmp(oa, ob, a.len) == 0, "output differs on:\n%.*s\n---\n%.*s\n---\n%.*s",
		  (int)host.len, host.p, (int)a.len, oa, (int)b.len, ob);
}

Test(stat_diff, mutations)
{
	static char host[4096], usage[2048];

	for (unsigned round = 0; round < 30000; round++) {
		struct cg_cpu c = {.user_ns = rnd(), .system_ns = rnd() % 1000000000000ULL};
		struct stat_clock clk = {.ticks_per_sec = rnd() % 5 ? 100 : 1 + rnd() % 1000,
					 .uptime_cs = rnd() % 100000000,
					 .btime = rnd()};
		struct cpuset cpus;
		size_t hn = mutate(stat_text, strlen(stat_text), host, sizeof(host));

		cpuset_clear(&cpus);
		for (unsigned id = 0; id < 12; id++)
			if (rnd() % 3)
				cpuset_set(&cpus, id);
		if (rnd() % 2) {
			size_t un = mutate(usage_text, strlen(usage_text), usage, sizeof(usage));

			c.usage_all = (struct span){usage, un};
		} else {
			c.usage_all = (struct span){usage, 0};
		}
		check((struct span){host, hn}, &c, &cpus, &clk,
		      rnd() % 4 == 0 ? (size_t)(rnd() % 600) : 8192);
	}
}

/* cpuacct.stat in one pass reads what a search for each key reads (keyed_u64). */
static int ref_cpuacct(struct span text, uint64_t *ret_user, uint64_t *ret_sys)
{
	int r = keyed_u64(text, "user", ret_user);

	if (r < 0)
		return r == -ERANGE ? -EINVAL : r;
	r = keyed_u64(text, "system", ret_sys);
	if (r < 0)
		return r == -ERANGE ? -EINVAL : r;
	return 0;
}

Test(stat_diff, cpuacct_stat)
{
	static const char base[] = "user 1162461\nsystem 516593\n";
	static char t[512];

	for (unsigned round = 0; round < 30000; round++) {
		size_t n = mutate(round % 2 ? base : "system 5\n user\t7 \nuser 9\n",
				  round % 2 ? strlen(base) : 24, t, sizeof(t));
		struct cg_cpu c = {0};
		uint64_t u = 0, s = 0;
		int r = cpuacct_stat_parse((struct span){t, n}, 100, &c);
		int rr = ref_cpuacct((struct span){t, n}, &u, &s);

		cr_assert_eq(r, rr, "%d vs %d on:\n%.*s", r, rr, (int)n, t);
		if (r == 0) {
			/* ticks of 1/100 s in ns, saturated */
			cr_assert_eq(c.user_ns,
				     u > UINT64_MAX / 10000000 ? UINT64_MAX : u * 10000000);
			cr_assert_eq(c.system_ns,
				     s > UINT64_MAX / 10000000 ? UINT64_MAX : s * 10000000);
		}
	}
}

static const char cpuinfo_text[] = "processor\t: 0\n"
				   "vendor_id\t: AuthenticAMD\n"
				   "cpu family\t: 25\n"
				   "model name\t: AMD EPYC 7B13\n"
				   "physical id\t: 0\n"
				   "siblings\t: 4\n"
				   "core id\t\t: 0\n"
				   "cpu cores\t: 2\n"
				   "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr\n"
				   "\n"
				   "processor\t: 1\n"
				   "physical id\t: 0\n"
				   "siblings\t: 4\n"
				   "core id\t\t: 0\n"
				   "cpu cores\t: 2\n"
				   "\n"
				   "processor\t: 2\n"
				   "physical id\t: 0\n"
				   "siblings\t: 4\n"
				   "core id\t\t: 1\n"
				   "cpu cores\t: 2\n"
				   "\n"
				   "processor\t: 3\n"
				   "physical id\t: 1\n"
				   "siblings\t: 4\n"
				   "core id\t\t: 1\n"
				   "cpu cores\t: 2\n"
				   "power management:\n"
				   "\n";

Test(cpuinfo_diff, mutations)
{
	static char t[4096], oa[8192], ob[8192];

	for (unsigned round = 0; round < 30000; round++) {
		size_t n = mutate(cpuinfo_text, strlen(cpuinfo_text), t, sizeof(t));
		size_t cap = rnd() % 4 == 0 ? (size_t)(rnd() % 700) : sizeof(oa);
		struct cpuset cpus;
		struct buf a, b;
		int ra, rb;

		cpuset_clear(&cpus);
		for (unsigned id = 0; id < 6; id++)
			if (rnd() % 3)
				cpuset_set(&cpus, id);
		/* extra mutations the generic ones rarely make here */
		if (n > 0 && rnd() % 4 == 0)
			t[rnd() % n] = ":ps \t"[rnd() % 5];
		buf_init(&a, oa, cap);
		buf_init(&b, ob, cap);
		ra = cpuinfo_render((struct span){t, n}, &cpus, &a);
		rb = ref_cpuinfo_render((struct span){t, n}, &cpus, &b);
		cr_assert_eq(ra, rb);
		cr_assert_eq(a.need, b.need, "need %zu vs %zu on:\n%.*s", a.need, b.need, (int)n,
			     t);
		cr_assert(a.len == b.len && memcmp(oa, ob, a.len) == 0,
			  "output differs on:\n%.*s\n---\n%.*s\n---\n%.*s", (int)n, t, (int)a.len,
			  oa, (int)b.len, ob);
	}
}
