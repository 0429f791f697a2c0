/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of /sys/devices/system/cpu for a machine (model/cpusys.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "model/cpusys.h"

static struct span S(const char *s) {
	return (struct span){s, strlen(s)};
}

static struct cpuset
V(const char *list) {
	struct cpuset s;

	cr_assert_eq(cpuset_parse(S(list), &s), 0);
	return s;
}

Test(cpusys, cpu_ids)
{
	cr_assert_eq(cpudir_cpu_id(S("cpu0")), 0);
	cr_assert_eq(cpudir_cpu_id(S("cpu17")), 17);
	cr_assert_eq(cpudir_cpu_id(S("cpu8191")), 8191);
	cr_assert_eq(cpudir_cpu_id(S("cpu8192")), -1);
	cr_assert_eq(cpudir_cpu_id(S("cpu01")), -1);
	cr_assert_eq(cpudir_cpu_id(S("cpu")), -1);
	cr_assert_eq(cpudir_cpu_id(S("cpufreq")), -1);
	cr_assert_eq(cpudir_cpu_id(S("cpu1a")), -1);
	cr_assert_eq(cpudir_cpu_id(S("cpu-1")), -1);
	cr_assert_eq(cpudir_cpu_id(S("cpu99999999999999999999")), -1);
}

Test(cpusys, directory_listing)
{
	struct cpuset v = V("1,3");
	static const char *shown[] = {"cpu1",	"cpu3",		  "cpufreq", "cpuidle",
				      "online", "possible",	  "offline", "kernel_max",
				      "smt",	"vulnerabilities"};
	static const char *hidden[] = {"cpu0", "cpu2", "cpu4", "cpu8191", "cpu01", "cpu99999"};

	for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
		cr_assert(cpudir_entry_visible(S(shown[i]), &v), "%s", shown[i]);
	for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
		cr_assert_not(cpudir_entry_visible(S(hidden[i]), &v), "%s", hidden[i]);
}

Test(cpusys, kinds)
{
	static const struct {
		const char *path;
		enum cpusys_kind kind;
	} k[] = {
		{"online", CPUSYS_VISIBLE},
		{"possible", CPUSYS_VISIBLE},
		{"present", CPUSYS_VISIBLE},
		{"offline", CPUSYS_OFFLINE},
		{"kernel_max", CPUSYS_HOST},
		{"isolated", CPUSYS_HOST},
		{"cpu3/online", CPUSYS_CPU_ONLINE},
		{"cpu3/topology/core_cpus", CPUSYS_MASK},
		{"cpu3/topology/core_cpus_list", CPUSYS_LIST},
		{"cpu3/topology/thread_siblings", CPUSYS_MASK},
		{"cpu3/topology/thread_siblings_list", CPUSYS_LIST},
		{"cpu3/topology/core_siblings", CPUSYS_MASK},
		{"cpu3/topology/package_cpus_list", CPUSYS_LIST},
		{"cpu3/topology/die_cpus", CPUSYS_MASK},
		{"cpu3/topology/core_id", CPUSYS_HOST},
		{"cpu3/topology/physical_package_id", CPUSYS_HOST},
		{"cpu3/cache/index0/shared_cpu_list", CPUSYS_HOST},
		{"cpu3/cpufreq/online", CPUSYS_HOST},
		{"cpufreq/policy0/related_cpus", CPUSYS_HOST},
		{"cpu3/topologyx/core_cpus", CPUSYS_HOST},
		{"cpux/online", CPUSYS_HOST},
		{"vulnerabilities/meltdown", CPUSYS_HOST},
	};

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		cr_assert_eq(cpusys_kind_of(S(k[i].path)), k[i].kind, "%s", k[i].path);
}

static void check(enum cpusys_kind kind, const char *host, const char *visible, const char *want)
{
	struct cpuset v = V(visible);
	char out[256];
	struct buf b;

	buf_init(&b, out, sizeof(out) - 1);
	cr_assert_eq(cpusys_render(kind, S(host), &v, &b), 0);
	out[b.len] = '\0';
	cr_assert_str_eq(out, want, "kind %d host '%s' visible '%s'", kind, host, visible);
}

Test(cpusys, render)
{
	check(CPUSYS_VISIBLE, "0-7\n", "2-3,5", "2-3,5\n");
	check(CPUSYS_OFFLINE, "0-7\n", "2-3,5", "\n");
	check(CPUSYS_CPU_ONLINE, "0\n", "2", "1\n");
	check(CPUSYS_LIST, "2-3\n", "3,5", "3\n");
	check(CPUSYS_LIST, "0-7\n", "2-3,5", "2-3,5\n");
	check(CPUSYS_MASK, "0c\n", "3,5", "08\n");
	check(CPUSYS_MASK, "00000000,000000ff\n", "2-3,5", "00000000,0000002c\n");
	check(CPUSYS_HOST, "65535\n", "0", "65535\n");
}

Test(cpusys, unparsable_host)
{
	struct cpuset v = V("0");
	char out[64];
	struct buf b;

	buf_init(&b, out, sizeof(out));
	cr_assert_eq(cpusys_render(CPUSYS_LIST, S("zz\n"), &v, &b), -EINVAL);
	cr_assert_eq(cpusys_render(CPUSYS_MASK, S("0-1\n"), &v, &b), -EINVAL);
	cr_assert_eq(b.len, 0);
	v = V("0-3,8-11");
	buf_init(&b, out, 2);
	cr_assert_eq(cpusys_render(CPUSYS_VISIBLE, S(""), &v, &b), -ENOBUFS);
}
