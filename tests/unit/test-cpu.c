/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the CPU model (model/cpu.c, cpuinfo.c, stat.c): quota/usage parsers, the quota
 * view, and the cpuinfo, stat and CPU list renderers. Host texts below were copied from the
 * development machine (2-CPU AMD EPYC VM, hybrid cgroups) and from kernel documentation formats.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/cpu.h"

static struct span S(const char *s) {
	return (struct span){s, strlen(s)};
}

/* This machine's /proc/cpuinfo, verbatim. */
static const char host_cpuinfo[] =
	"processor\t: 0\n"
	"vendor_id\t: AuthenticAMD\n"
	"cpu family\t: 25\n"
	"model\t\t: 17\n"
	"model name\t: AMD EPYC\n"
	"stepping\t: 1\n"
	"microcode\t: 0x1000065\n"
	"cpu MHz\t\t: 2596.140\n"
	"cache size\t: 1024 KB\n"
	"physical id\t: 0\n"
	"siblings\t: 2\n"
	"core id\t\t: 0\n"
	"cpu cores\t: 2\n"
	"apicid\t\t: 0\n"
	"initial apicid\t: 0\n"
	"fpu\t\t: yes\n"
	"fpu_exception\t: yes\n"
	"cpuid level\t: 28\n"
	"wp\t\t: yes\n"
	"flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 "
	"clflush mmx fxsr sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc "
	"rep_good nopl xtopology nonstop_tsc cpuid extd_apicid tsc_known_freq pni pclmulqdq ssse3 "
	"fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c "
	"rdrand hypervisor lahf_lm cmp_legacy cr8_legacy abm sse4a misalignsse 3dnowprefetch osvw "
	"topoext vmmcall fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid avx512f avx512dq "
	"rdseed adx smap avx512ifma clflushopt clwb avx512cd sha_ni avx512bw avx512vl xsaveopt "
	"xsavec xgetbv1 xsaves avx512_bf16 clzero xsaveerptr arat avx512vbmi umip avx512_vbmi2 "
	"gfni vaes vpclmulqdq avx512_vnni avx512_bitalg avx512_vpopcntdq rdpid fsrm\n"
	"bugs\t\t: sysret_ss_attrs null_seg spectre_v1 spectre_v2 spec_store_bypass srso "
	"spectre_v2_user\n"
	"bogomips\t: 5192.28\n"
	"TLB size\t: 3584 4K pages\n"
	"clflush size\t: 64\n"
	"cache_alignment\t: 64\n"
	"address sizes\t: 48 bits physical, 48 bits virtual\n"
	"power management:\n"
	"\n"
	"processor\t: 1\n"
	"vendor_id\t: AuthenticAMD\n"
	"cpu family\t: 25\n"
	"model\t\t: 17\n"
	"model name\t: AMD EPYC\n"
	"stepping\t: 1\n"
	"microcode\t: 0x1000065\n"
	"cpu MHz\t\t: 2596.140\n"
	"cache size\t: 1024 KB\n"
	"physical id\t: 0\n"
	"siblings\t: 2\n"
	"core id\t\t: 1\n"
	"cpu cores\t: 2\n"
	"apicid\t\t: 1\n"
	"initial apicid\t: 1\n"
	"fpu\t\t: yes\n"
	"fpu_exception\t: yes\n"
	"cpuid level\t: 28\n"
	"wp\t\t: yes\n"
	"flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 "
	"clflush mmx fxsr sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc "
	"rep_good nopl xtopology nonstop_tsc cpuid extd_apicid tsc_known_freq pni pclmulqdq ssse3 "
	"fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c "
	"rdrand hypervisor lahf_lm cmp_legacy cr8_legacy abm sse4a misalignsse 3dnowprefetch osvw "
	"topoext vmmcall fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid avx512f avx512dq "
	"rdseed adx smap avx512ifma clflushopt clwb avx512cd sha_ni avx512bw avx512vl xsaveopt "
	"xsavec xgetbv1 xsaves avx512_bf16 clzero xsaveerptr arat avx512vbmi umip avx512_vbmi2 "
	"gfni vaes vpclmulqdq avx512_vnni avx512_bitalg avx512_vpopcntdq rdpid fsrm\n"
	"bugs\t\t: sysret_ss_attrs null_seg spectre_v1 spectre_v2 spec_store_bypass srso "
	"spectre_v2_user\n"
	"bogomips\t: 5192.28\n"
	"TLB size\t: 3584 4K pages\n"
	"clflush size\t: 64\n"
	"cache_alignment\t: 64\n"
	"address sizes\t: 48 bits physical, 48 bits virtual\n"
	"power management:\n"
	"\n";

/* This machine's /proc/stat, verbatim. */
static const char host_stat[] =
	"cpu  3450 0 3084 207373 681 0 114 1384 0 0\n"
	"cpu0 1056 0 1258 104956 51 0 11 733 0 0\n"
	"cpu1 2394 0 1826 102417 630 0 103 650 0 0\n"
	"intr 174152 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 17 0 0 0 0 215 49 0 30 1 "
	"47915 0 769 587 0 1951 4160 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 "
	"0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 "
	"0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 "
	"0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 "
	"0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 "
	"0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 "
	"0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 "
	"0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 "
	"0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
	"ctxt 329965\n"
	"btime 1795448998\n"
	"processes 9760\n"
	"procs_running 1\n"
	"procs_blocked 0\n"
	"softirq 139191 0 18921 4 1333 47915 0 4 38541 0 32473\n";

/* A two-socket, two-threads-per-core x86 host (4 CPUs), trimmed to the topology lines. */
static const char smt_cpuinfo[] = "processor\t: 0\n"
				  "physical id\t: 0\n"
				  "siblings\t: 2\n"
				  "core id\t\t: 0\n"
				  "cpu cores\t: 1\n"
				  "\n"
				  "processor\t: 1\n"
				  "physical id\t: 0\n"
				  "siblings\t: 2\n"
				  "core id\t\t: 0\n"
				  "cpu cores\t: 1\n"
				  "\n"
				  "processor\t: 2\n"
				  "physical id\t: 1\n"
				  "siblings\t: 2\n"
				  "core id\t\t: 0\n"
				  "cpu cores\t: 1\n"
				  "\n"
				  "processor\t: 3\n"
				  "physical id\t: 1\n"
				  "siblings\t: 2\n"
				  "core id\t\t: 1\n"
				  "cpu cores\t: 1\n"
				  "\n";

/* arm64 style: no topology lines. */
static const char arm_cpuinfo[] = "processor\t: 0\n"
				  "BogoMIPS\t: 50.00\n"
				  "Features\t: fp asimd evtstrm\n"
				  "CPU part\t: 0xd0c\n"
				  "\n"
				  "processor\t: 1\n"
				  "BogoMIPS\t: 50.00\n"
				  "Features\t: fp asimd evtstrm\n"
				  "CPU part\t: 0xd0c\n"
				  "\n";

static char out_mem[1 << 20];

static const char *render_cpuinfo(const char *host, const char *list)
{
	struct cpuset cpus;
	struct buf b;

	cr_assert_eq(cpuset_parse(S(list), &cpus), 0);
	buf_init(&b, out_mem, sizeof(out_mem) - 1);
	cr_assert_eq(cpuinfo_render(S(host), &cpus, &b), 0);
	out_mem[b.len] = '\0';
	return out_mem;
}

static unsigned count_substr(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

Test(cpustat, v2_split)
{
	struct cg_cpu c = {.user_ns = 1, .system_ns = 2};

	cr_assert_eq(cpustat_v2_parse(S("usage_usec 300\nuser_usec 100\nsystem_usec 200\n"
					"nr_periods 0\n"),
				      &c),
		     0);
	cr_assert_eq(c.user_ns, 100000);
	cr_assert_eq(c.system_ns, 200000);
}

Test(cpustat, v2_usage_only_counts_as_user)
{
	struct cg_cpu c = {0};

	cr_assert_eq(cpustat_v2_parse(S("usage_usec 5000\n"), &c), 0);
	cr_assert_eq(c.user_ns, 5000000);
	cr_assert_eq(c.system_ns, 0);
}

Test(cpustat, v2_hostile)
{
	struct cg_cpu c = {.user_ns = 7, .system_ns = 8};

	cr_assert_eq(cpustat_v2_parse(S(""), &c), -ENOENT);
	cr_assert_eq(cpustat_v2_parse(S("nr_periods 3\n"), &c), -ENOENT);
	cr_assert_eq(cpustat_v2_parse(S("usage_usec 1\nuser_usec x\nsystem_usec 1\n"), &c),
		     -EINVAL);
	cr_assert_eq(cpustat_v2_parse(S("user_usec 99999999999999999999\nsystem_usec 1"), &c),
		     -EINVAL);
	cr_assert_eq(c.user_ns, 7);
	cr_assert_eq(c.system_ns, 8);
	/* near UINT64_MAX: usec -> ns saturates instead of wrapping */
	cr_assert_eq(cpustat_v2_parse(S("user_usec 18446744073709551615\nsystem_usec "
					"18446744073709551\n"),
				      &c),
		     0);
	cr_assert_eq(c.user_ns, UINT64_MAX);
	cr_assert_eq(c.system_ns, UINT64_C(18446744073709551) * 1000);
}

Test(cpustat, v1_cpuacct_stat)
{
	struct cg_cpu c = {.user_ns = 7, .system_ns = 8};

	cr_assert_eq(cpuacct_stat_parse(S("user 150\nsystem 25\n"), 100, &c), 0);
	cr_assert_eq(c.user_ns, UINT64_C(1500000000));
	cr_assert_eq(c.system_ns, UINT64_C(250000000));
	c.user_ns = 7;
	cr_assert_eq(cpuacct_stat_parse(S("user 150\n"), 100, &c), -ENOENT);
	cr_assert_eq(cpuacct_stat_parse(S("user 1\nsystem -1\n"), 100, &c), -EINVAL);
	cr_assert_eq(cpuacct_stat_parse(S("user 1\nsystem 1\n"), 0, &c), -EINVAL);
	cr_assert_eq(c.user_ns, 7);
	cr_assert_eq(cpuacct_stat_parse(S("user 18446744073709551615\nsystem 0\n"), 100, &c), 0);
	cr_assert_eq(c.user_ns, UINT64_MAX);
}

Test(cpumax, v2_forms)
{
	uint64_t q = 1, p = 2;

	cr_assert_eq(cpumax_parse(S("max 100000\n"), &q, &p), 0);
	cr_assert_eq(q, UINT64_MAX);
	cr_assert_eq(p, 100000);
	cr_assert_eq(cpumax_parse(S("50000 100000\n"), &q, &p), 0);
	cr_assert_eq(q, 50000);
	cr_assert_eq(p, 100000);
}

Test(cpumax, v1_forms_leave_period)
{
	uint64_t q = 1, p = 4242;

	cr_assert_eq(cpumax_parse(S("-1\n"), &q, &p), 0);
	cr_assert_eq(q, UINT64_MAX);
	cr_assert_eq(p, 4242);
	cr_assert_eq(cpumax_parse(S("50000\n"), &q, &p), 0);
	cr_assert_eq(q, 50000);
	cr_assert_eq(p, 4242);
}

Test(cpumax, hostile)
{
	static const char *const bad[] = {
		"",	     "\n",    "-2",	  "abc 100000", "50000 0",
		"50000 max", "1 2 3", "50000 -1", "-1-1",	"18446744073709551616 1",
		"50000 1x",  "--1",
	};
	uint64_t q = 11, p = 22;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(cpumax_parse(S(bad[i]), &q, &p), -EINVAL, "accepted \"%s\"", bad[i]);
		cr_assert(q == 11 && p == 22, "written on failure: \"%s\"", bad[i]);
	}
}

Test(cpu_view, quota_view)
{
	struct cg_cpu c = {.quota_us = 150000, .period_us = 100000};
	struct cpuset r;

	cr_assert_eq(cpuset_parse(S("2-5"), &c.visible), 0);
	cpu_view_set(&c, false, &r);
	cr_assert_eq(cpuset_count(&r), 4);
	cpu_view_set(&c, true, &r); /* ceil(1.5) = 2: the two lowest ids */
	cr_assert_eq(cpuset_count(&r), 2);
	cr_assert(cpuset_test(&r, 2) && cpuset_test(&r, 3));
	c.quota_us = 1000; /* quota < period: still one CPU */
	cpu_view_set(&c, true, &r);
	cr_assert_eq(cpuset_count(&r), 1);
	cr_assert(cpuset_test(&r, 2));
	c.quota_us = 0;
	cpu_view_set(&c, true, &r);
	cr_assert_eq(cpuset_count(&r), 1);
	c.quota_us = UINT64_MAX - 1; /* huge but not "none": capped to the visible set */
	c.period_us = 1;
	cpu_view_set(&c, true, &r);
	cr_assert_eq(cpuset_count(&r), 4);
	c.quota_us = UINT64_MAX; /* none */
	c.period_us = 100000;
	cpu_view_set(&c, true, &r);
	cr_assert_eq(cpuset_count(&r), 4);
	c.quota_us = 200000;
	c.period_us = 100000; /* exact multiple: no rounding up */
	cpu_view_set(&c, true, &r);
	cr_assert_eq(cpuset_count(&r), 2);
}

Test(cpuinfo, this_host_one_cpu)
{
	const char *o = render_cpuinfo(host_cpuinfo, "1");

	cr_assert_eq(count_substr(o, "processor\t: "), 1);
	cr_assert_eq(count_substr(o, "processor\t: 1\n"), 1);
	cr_assert_eq(strncmp(o, "processor\t: 1\n", 14), 0);
	/* one CPU shown: topology must say so */
	cr_assert_eq(count_substr(o, "siblings\t: 1\n"), 1);
	cr_assert_eq(count_substr(o, "cpu cores\t: 1\n"), 1);
	/* every other line is a line of the host file */
	{
		char copy[sizeof(out_mem)];
		char *save, *line;

		strcpy(copy, o);
		for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			if (!strncmp(line, "siblings", 8) || !strncmp(line, "cpu cores", 9))
				continue;
			cr_assert(strstr(host_cpuinfo, line), "invented line: %s", line);
		}
	}
}

Test(cpuinfo, all_and_none)
{
	const char *o = render_cpuinfo(host_cpuinfo, "0-1");
	unsigned host_cpus = count_substr(host_cpuinfo, "processor\t: ");

	cr_assert_eq(count_substr(o, "processor\t: "), host_cpus);
	cr_assert_eq(strlen(o), strlen(host_cpuinfo), "same CPU count must not change length");
	o = render_cpuinfo(host_cpuinfo, "");
	cr_assert_str_eq(o, "");
	o = render_cpuinfo(host_cpuinfo, "5-100");
	cr_assert_str_eq(o, "");
}

Test(cpuinfo, smt_topology)
{
	const char *o = render_cpuinfo(smt_cpuinfo, "0,2-3");

	cr_assert_eq(count_substr(o, "processor\t: "), 3);
	cr_assert_eq(count_substr(o, "processor\t: 1\n"), 0);
	/* socket 0 keeps CPU 0 only; socket 1 keeps CPUs 2 and 3 on cores 0 and 1 */
	cr_assert(strstr(o, "processor\t: 0\nphysical id\t: 0\nsiblings\t: 1\ncore id\t\t: "
			    "0\ncpu cores\t: 1\n"));
	cr_assert(strstr(o, "processor\t: 2\nphysical id\t: 1\nsiblings\t: 2\ncore id\t\t: "
			    "0\ncpu cores\t: 2\n"));
	o = render_cpuinfo(smt_cpuinfo, "0-1");
	cr_assert_eq(count_substr(o, "siblings\t: 2\n"), 2);
	cr_assert_eq(count_substr(o, "cpu cores\t: 1\n"), 2);
}

Test(cpuinfo, non_x86)
{
	const char *o = render_cpuinfo(arm_cpuinfo, "1");

	cr_assert_str_eq(o, "processor\t: 1\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd "
			    "evtstrm\nCPU part\t: 0xd0c\n\n");
}

Test(cpuinfo, hostile)
{
	static const char *const inputs[] = {
		"",
		"\n\n\n",
		"processor",
		"processor\t:",
		"processor\t: x\nsiblings\t: 9\n",
		"processor\t: 99999999999999999999\n\nprocessor\t: 1\n",
		"processor\t: 1\nphysical id\t: 99999999999\nsiblings\t: 4\ncpu cores: 3",
		"Hardware\t: foo\n\nprocessor : 1\nsiblings:\n",
	};
	struct cpuset one;

	cr_assert_eq(cpuset_parse(S("1"), &one), 0);
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		char small[8];
		struct buf b;
		int r;

		buf_init(&b, out_mem, sizeof(out_mem));
		cr_assert_eq(cpuinfo_render(S(inputs[i]), &one, &b), 0);
		cr_assert(b.len <= strlen(inputs[i]) + 64);
		buf_init(&b, small, sizeof(small));
		r = cpuinfo_render(S(inputs[i]), &one, &b);
		cr_assert(r == 0 || r == -ENOBUFS);
		cr_assert(b.len <= sizeof(small));
	}
	/* a cpuinfo without any "processor" line is kept whole */
	cr_assert_str_eq(render_cpuinfo("Hardware\t: foo\n", "1"), "Hardware\t: foo\n");
}

/* ---- /proc/stat ---- */

struct stat_line {
	bool found;
	uint64_t v[10];
};

/* Columns of the line starting with @name + ' ' in @text. */
static struct stat_line stat_get(const char *text, const char *name)
{
	struct stat_line l = {0};
	size_t n = strlen(name);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, name, n) && p[n] == ' ') {
			char *end;

			p += n;
			for (int i = 0; i < 10; i++) {
				l.v[i] = strtoull(p, &end, 10);
				cr_assert(end != p, "short %s line", name);
				p = end;
			}
			cr_assert(*p == '\n', "%s line has more than 10 columns", name);
			l.found = true;
			return l;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return l;
}

static const char *render_stat(const char *host, const struct cg_cpu *c, const char *list,
			       const struct stat_clock *clk)
{
	struct cpuset cpus;
	struct buf b;

	cr_assert_eq(cpuset_parse(S(list), &cpus), 0);
	buf_init(&b, out_mem, sizeof(out_mem) - 1);
	cr_assert_eq(stat_render(S(host), c, &cpus, clk, &b), 0);
	out_mem[b.len] = '\0';
	return out_mem;
}

/* The "cpu" line is the column-wise sum of the cpuN lines; returns how many cpuN lines. */
static unsigned assert_sum_invariant(const char *o)
{
	uint64_t sum[10] = {0};
	unsigned n = 0;
	struct stat_line all = stat_get(o, "cpu ");

	cr_assert(all.found, "no aggregate line");
	cr_assert(strstr(o, "cpu  "), "aggregate must start with two spaces like the kernel's");
	for (const char *p = o; (p = strstr(p, "\ncpu")); p++) {
		char name[16];
		size_t k = 0;
		struct stat_line l;

		if (p[4] < '0' || p[4] > '9')
			continue;
		for (const char *q = p + 1; *q != ' ' && k < sizeof(name) - 1; q++)
			name[k++] = *q;
		name[k] = '\0';
		l = stat_get(o, name);
		cr_assert(l.found);
		for (int i = 0; i < 10; i++)
			sum[i] += l.v[i];
		n++;
	}
	for (int i = 0; i < 10; i++)
		cr_assert_eq(all.v[i], sum[i], "column %d: cpu %llu != sum %llu", i,
			     (unsigned long long)all.v[i], (unsigned long long)sum[i]);
	return n;
}

Test(stat, v2_spread_this_host)
{
	struct cg_cpu c = {.user_ns = UINT64_C(3000000000) + 10000000, /* 3.01 s */
			   .system_ns = UINT64_C(1000000000)};
	struct stat_clock clk = {.ticks_per_sec = 100, .uptime_cs = 50000, .btime = 1700000000};
	const char *o = render_stat(host_stat, &c, "0-1", &clk);
	struct stat_line c0 = stat_get(o, "cpu0"), c1 = stat_get(o, "cpu1"), all;

	cr_assert_eq(assert_sum_invariant(o), 2);
	all = stat_get(o, "cpu ");
	cr_assert_eq(all.v[0], 301);
	cr_assert_eq(all.v[2], 100);
	cr_assert(c0.v[0] >= c1.v[0], "remainder goes to the lowest id");
	cr_assert_eq(c0.v[3], 50000 - c0.v[0] - c0.v[2], "idle = uptime - used");
	cr_assert(strstr(o, "\nbtime 1700000000\n"));
	cr_assert_eq(count_substr(o, "btime"), 1);
	/* every non-cpu, non-btime host line is there verbatim */
	cr_assert(strstr(o, "\nctxt "));
	cr_assert(strstr(o, "\nintr "));
	cr_assert(strstr(o, "\nprocs_running "));
	cr_assert(strstr(o, "\nsoftirq "));
	{
		const char *intr = strstr(host_stat, "\nintr ");
		const char *nl = strchr(intr + 1, '\n');

		cr_assert(memmem(o, strlen(o), intr, (size_t)(nl - intr + 1)));
	}
}

Test(stat, one_cpu_subset)
{
	struct cg_cpu c = {.user_ns = UINT64_C(5000000000), .system_ns = 0};
	struct stat_clock clk = {.ticks_per_sec = 100, .uptime_cs = 100, .btime = 1};
	const char *o = render_stat(host_stat, &c, "1", &clk);

	cr_assert_eq(assert_sum_invariant(o), 1);
	cr_assert_not(stat_get(o, "cpu0").found);
	cr_assert_eq(stat_get(o, "cpu1").v[0], 500);
	cr_assert_eq(stat_get(o, "cpu1").v[3], 0, "idle saturates at 0 when used > uptime");
	cr_assert_eq(strncmp(o, "cpu  ", 5), 0, "aggregate stays first");
}

Test(stat, v1_usage_all_per_cpu)
{
	struct cg_cpu c = {
		.user_ns = 999, /* ignored when usage_all is there */
		.usage_all = S("cpu user system\n0 8439338712 10370450319\n1 20718664888 "
			       "16455797436\n"),
	};
	struct stat_clock clk = {.ticks_per_sec = 100, .uptime_cs = 1000000, .btime = 5};
	const char *o = render_stat(host_stat, &c, "0-1", &clk);

	cr_assert_eq(assert_sum_invariant(o), 2);
	cr_assert_eq(stat_get(o, "cpu0").v[0], 843);
	cr_assert_eq(stat_get(o, "cpu0").v[2], 1037);
	cr_assert_eq(stat_get(o, "cpu1").v[0], 2071);
	cr_assert_eq(stat_get(o, "cpu1").v[2], 1645);
	/* CPU 1 only, and a usage_all missing CPU 0 and with garbage lines */
	c.usage_all = S("cpu user system\nx y z\n1 100000000 garbage\n1 200000000 300000000\n");
	o = render_stat(host_stat, &c, "0-1", &clk);
	cr_assert_eq(assert_sum_invariant(o), 2);
	cr_assert_eq(stat_get(o, "cpu0").v[0], 0);
	cr_assert_eq(stat_get(o, "cpu1").v[0], 20);
	cr_assert_eq(stat_get(o, "cpu1").v[2], 30);
}

/* Random host CPU lists, usage and clocks: the aggregate is always the exact sum, the spread
 * totals are exact to the tick rounding, and the output never exceeds the buffer. */
Test(stat, sum_invariant_random)
{
	unsigned seed = 777;

	for (int iter = 0; iter < 500; iter++) {
		char host[8192], small[16];
		size_t hl = 0;
		unsigned ncpu = 1 + (unsigned)rand_r(&seed) % 40;
		struct cg_cpu c = {
			.user_ns = ((uint64_t)rand_r(&seed) << 20) ^ (uint64_t)rand_r(&seed),
			.system_ns = ((uint64_t)rand_r(&seed) << 16) ^ (uint64_t)rand_r(&seed),
		};
		struct stat_clock clk = {
			.ticks_per_sec = (iter % 3) ? 100 : 1000,
			.uptime_cs = (uint64_t)rand_r(&seed) % 10000000,
			.btime = (uint64_t)rand_r(&seed),
		};
		struct cpuset cpus;
		struct buf b;
		char list[64];
		const char *o;
		unsigned shown;

		hl += (size_t)snprintf(host + hl, sizeof(host) - hl, "cpu  1 2 3 4 5 6 7 8 9 10\n");
		for (unsigned i = 0; i < ncpu; i++)
			hl += (size_t)snprintf(host + hl, sizeof(host) - hl,
					       "cpu%u 1 2 3 4 5 6 7 8 9 10\n", i * 3);
		snprintf(host + hl, sizeof(host) - hl, "ctxt 5\nbtime 9\nprocesses 3\n");
		snprintf(list, sizeof(list), "%u-%u", (unsigned)rand_r(&seed) % 20,
			 20 + (unsigned)rand_r(&seed) % 100);
		o = render_stat(host, &c, list, &clk);
		shown = assert_sum_invariant(o);
		cr_assert_eq(cpuset_parse(S(list), &cpus), 0);
		{
			unsigned expect = 0;

			for (unsigned i = 0; i < ncpu; i++)
				expect += cpuset_test(&cpus, i * 3);
			cr_assert_eq(shown, expect);
			if (expect > 0 && clk.ticks_per_sec == 100) {
				struct stat_line all = stat_get(o, "cpu ");
				uint64_t want = c.user_ns / 10000000;

				cr_assert_eq(all.v[0], want, "user %llu vs %llu",
					     (unsigned long long)all.v[0],
					     (unsigned long long)want);
				cr_assert_eq(all.v[2], c.system_ns / 10000000);
				cr_assert(all.v[0] <= want && all.v[0] + expect >= want,
					  "user %llu vs %llu", (unsigned long long)all.v[0],
					  (unsigned long long)want);
			}
		}
		buf_init(&b, small, sizeof(small));
		cr_assert_eq(stat_render(S(host), &c, &cpus, &clk, &b), -ENOBUFS);
		cr_assert_eq(b.len, sizeof(small));
		cr_assert_eq(b.need, strlen(o));
	}
}

Test(stat, hostile)
{
	static const char *const inputs[] = {
		"",
		"cpu",
		"cpu0",
		"cpu99999999999999999999 1 2\n",
		"cpux 1 2\ncpu 1\n",
		"btime\nbtime\n",
		"cpu1 1\ncpu  2\ncpu 3\n",
		"intr 1 2 3",
	};
	struct cg_cpu c = {.user_ns = UINT64_MAX, .system_ns = UINT64_MAX};
	struct stat_clock clk = {.ticks_per_sec = UINT64_MAX, .uptime_cs = UINT64_MAX};

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		const char *o = render_stat(inputs[i], &c, "0-8191", &clk);

		cr_assert(count_substr(o, "btime") <= 2);
		cr_assert(count_substr(o, "cpu  ") <= 1, "one aggregate at most: %s", o);
	}
	/* a CPU id too big for 64 bits is still a CPU line: dropped, never copied */
	cr_assert_null(strstr(
		render_stat("cpu99999999999999999999 1 2\nctxt 1\n", &c, "0-8191", &clk), "cpu9"));
	/* cpu1 before the aggregate: the aggregate is emitted first, the host one dropped */
	cr_assert_eq(strncmp(render_stat("cpu1 1\ncpu  2\n", &c, "1", &clk), "cpu  ", 5), 0);
}

Test(cpulist, render)
{
	struct cpuset s;
	char mem[32];
	struct buf b;

	cr_assert_eq(cpuset_parse(S("0-1"), &s), 0);
	buf_init(&b, mem, sizeof(mem));
	cr_assert_eq(cpulist_render(&s, &b), 0);
	cr_assert_eq(b.len, 4);
	cr_assert_arr_eq(mem, "0-1\n", 4);
	cpuset_clear(&s);
	buf_init(&b, mem, sizeof(mem));
	cr_assert_eq(cpulist_render(&s, &b), 0);
	cr_assert_eq(b.len, 1);
}

/* The caller's working memory gives the same text as the stack version, at any alignment. */
Test(cpuinfo, work_memory)
{
	static char work[CPUINFO_WORK_SIZE + 16];
	static const char *const hosts[] = {host_cpuinfo, smt_cpuinfo, arm_cpuinfo};
	char a[8192], b2[8192];
	struct cpuset cpus;

	cr_assert_eq(cpuset_parse(S("0-1,3"), &cpus), 0);
	for (size_t h = 0; h < 3; h++) {
		for (size_t off = 0; off < 8; off++) {
			struct buf x, y;

			buf_init(&x, a, sizeof(a));
			buf_init(&y, b2, sizeof(b2));
			cr_assert_eq(cpuinfo_render(S(hosts[h]), &cpus, &x), 0);
			cr_assert_eq(cpuinfo_render_work(S(hosts[h]), &cpus, work + off,
							 CPUINFO_WORK_SIZE, &y),
				     0);
			cr_assert_eq(x.len, y.len);
			cr_assert(memcmp(a, b2, x.len) == 0);
		}
		{
			struct buf y;

			buf_init(&y, b2, sizeof(b2));
			cr_assert_eq(cpuinfo_render_work(S(hosts[h]), &cpus, work,
							 CPUINFO_WORK_SIZE - 1, &y),
				     -ENOBUFS);
		}
	}
}
