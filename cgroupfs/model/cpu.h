/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CPUs of a machine cgroup: visible CPUs, quota, CPU time used (cpu.c); and the renderers of
 * /proc/cpuinfo (cpuinfo.c), /proc/stat (stat.c) and /sys/devices/system/cpu/{online,...} (cpu.c).
 * Pure: no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "cpuset.h"
#include "parse.h"

#define NSEC_PER_SEC UINT64_C(1000000000)
#define NSEC_PER_USEC UINT64_C(1000)

/* Shown CPUs up to which cpuinfo_render rewrites the topology lines (6 KiB of working memory, of
 * which a render touches 12 bytes per shown CPU). */
#define CPUINFO_TOPO_MAX 512
#define CPUINFO_WORK_SIZE (CPUINFO_TOPO_MAX * 12 + 32)

struct cg_cpu {
	struct cpuset visible; /* effective cpuset of the machine cgroup, real ids */
	uint64_t quota_us;     /* tightest CFS quota over the ancestors; UINT64_MAX = none */
	uint64_t period_us;
	uint64_t user_ns, system_ns; /* CPU time used by the machine cgroup since it was made */
	/* v1 cpuacct.usage_all ("cpu user system" lines, ns per CPU); empty on v2, where the totals
	 * above are spread evenly over the visible CPUs. */
	struct span usage_all;
};

/*
 * v2 cpu.stat (usage_usec, user_usec, system_usec) into @ret's user_ns/system_ns (only those two
 * fields are written, and only on success). With user_usec and system_usec both present they are
 * used; with only usage_usec (kernels without the split) all of it counts as user time.
 * -ENOENT when none of the keys is there, -EINVAL on a garbage value.
 */
int cpustat_v2_parse(struct span text, struct cg_cpu *ret);
/* v1 cpuacct.stat ("user N\nsystem N" in USER_HZ ticks) into user_ns/system_ns (only those,
 * only on success). Both keys required (-ENOENT); @ticks_per_sec 0: -EINVAL. */
int cpuacct_stat_parse(struct span text, uint64_t ticks_per_sec, struct cg_cpu *ret);
/*
 * v2 cpu.max ("max 100000" / "50000 100000"), v1 cpu.cfs_quota_us ("-1" = none, "50000").
 * No quota is UINT64_MAX in *@ret_quota_us. *@ret_period_us is written only when the text
 * carries a period (v2 cpu.max); for the one-number v1 form it is left untouched and the caller
 * reads cpu.cfs_period_us itself (a v1 "max" is accepted like "-1"). A period of 0, a negative
 * number other than -1, a third word or garbage: -EINVAL, nothing written.
 */
int cpumax_parse(struct span text, uint64_t *ret_quota_us, uint64_t *ret_period_us);

/* How many CPUs the machine shows: the visible set, or with @quota_view its first
 * ceil(quota/period) CPUs. Never empty when @c->visible is not. @ret may be &@c->visible. */
void cpu_view_set(const struct cg_cpu *c, bool quota_view, struct cpuset *ret);

/*
 * The blocks (blank-line separated) of the host cpuinfo whose "processor" is in @cpus, ids kept;
 * blocks without a "processor" line (global blocks on some architectures) are kept as they are.
 * In kept blocks "siblings" becomes the number of shown CPUs with the block's "physical id" and
 * "cpu cores" the number of distinct "core id"s among them, so the host topology does not leak
 * (with more than CPUINFO_TOPO_MAX shown CPUs those lines stay as the host has them). Every
 * other line is verbatim.
 */
int cpuinfo_render(struct span host_cpuinfo, const struct cpuset *cpus, struct buf *out);
/* The same with the caller's working memory (@size >= CPUINFO_WORK_SIZE, else -ENOBUFS) instead
 * of 6 KiB of stack. */
int cpuinfo_render_work(struct span host_cpuinfo, const struct cpuset *cpus, void *work,
			size_t size, struct buf *out);

struct stat_clock {
	uint64_t ticks_per_sec; /* USER_HZ (sysconf(_SC_CLK_TCK)) */
	uint64_t uptime_cs;	/* machine uptime, hundredths of a second */
	uint64_t btime;		/* the btime to print (host btime shifted to the machine's start) */
};

/*
 * /proc/stat: "cpu" and "cpuN" lines for @cpus with the cgroup's user/system time, idle =
 * elapsed machine time minus used on that CPU, other columns 0; btime from @clk; every other line
 * from the host. The "cpu" line is the sum of the "cpuN" lines.
 * Per CPU: with @c->usage_all (v1) that CPU's ns; otherwise user_ns/system_ns converted to ticks
 * and spread evenly over the emitted cpuN lines, remainder to the lowest ids. Columns are
 * "user nice system idle iowait irq softirq steal guest guest_nice"; only user, system and idle
 * are non-zero. The "cpu" line goes where the host has it (or before the first cpuN line).
 */
int stat_render(struct span host_stat, const struct cg_cpu *c, const struct cpuset *cpus,
		const struct stat_clock *clk, struct buf *out);

/* "0-1\n": /sys/devices/system/cpu/{online,possible,present}. */
int cpulist_render(const struct cpuset *cpus, struct buf *out);
