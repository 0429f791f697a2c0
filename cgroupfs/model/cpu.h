/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CPUs of a machine cgroup: visible CPUs, quota, CPU time used; and the renderers of
 * /proc/cpuinfo, /proc/stat and /sys/devices/system/cpu/{online,possible,present}.
 * Pure: no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "cpuset.h"
#include "parse.h"

struct cg_cpu {
	struct cpuset visible; /* effective cpuset of the machine cgroup, real ids */
	uint64_t quota_us;     /* tightest CFS quota over the ancestors; UINT64_MAX = none */
	uint64_t period_us;
	uint64_t user_ns, system_ns; /* CPU time used by the machine cgroup since it was made */
	/* v1 cpuacct.usage_all ("cpu user system" lines, ns per CPU); empty on v2, where the totals
	 * above are spread evenly over the visible CPUs. */
	struct span usage_all;
};

/* v2 cpu.stat (usage_usec, user_usec, system_usec) into @ret's user_ns/system_ns. */
int cpustat_v2_parse(struct span text, struct cg_cpu *ret);
/* v1 cpuacct.stat ("user N\nsystem N" in USER_HZ ticks) into user_ns/system_ns. */
int cpuacct_stat_parse(struct span text, uint64_t ticks_per_sec, struct cg_cpu *ret);
/* v2 cpu.max ("max 100000" / "50000 100000"), v1 cfs_quota_us (-1 = none). */
int cpumax_parse(struct span text, uint64_t *ret_quota_us, uint64_t *ret_period_us);

/* How many CPUs the machine shows: the visible set, or with @quota_view its first
 * ceil(quota/period) CPUs. Never empty when @c->visible is not. */
void cpu_view_set(const struct cg_cpu *c, bool quota_view, struct cpuset *ret);

/* The blocks of the host cpuinfo whose "processor" is in @cpus (ids kept). */
int cpuinfo_render(struct span host_cpuinfo, const struct cpuset *cpus, struct buf *out);

struct stat_clock {
	uint64_t ticks_per_sec; /* USER_HZ (sysconf(_SC_CLK_TCK)) */
	uint64_t uptime_cs;	/* machine uptime, hundredths of a second */
	uint64_t btime;		/* the btime to print (host btime shifted to the machine's start) */
};

/*
 * /proc/stat: "cpu" and "cpuN" lines for @cpus with the cgroup's user/system time, idle =
 * elapsed machine time minus used on that CPU, other columns 0; btime from @clk; every other line
 * from the host. The "cpu" line is the sum of the "cpuN" lines.
 */
int stat_render(struct span host_stat, const struct cg_cpu *c, const struct cpuset *cpus,
		const struct stat_clock *clk, struct buf *out);

/* "0-1\n": /sys/devices/system/cpu/{online,possible,present}. */
int cpulist_render(const struct cpuset *cpus, struct buf *out);
