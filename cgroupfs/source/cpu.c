/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CPU inputs of a machine cgroup: the visible CPUs (its effective cpuset, else the nearest
 * ancestor with a non-empty one, else the host's online CPUs), the tightest CFS quota from the
 * machine cgroup up to the highest visible ancestor, and the CPU time it used (v1 cpuacct,
 * v2 cpu.stat). cgroup v1 and v2.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "source.h"

#define SMALL_SIZE 4096

static int cpuset_read_at(const struct cg_src *src, const struct cg_machine *m, const char *cgpath,
			  struct cpuset *ret)
{
	/* v2 and v1 spell the effective set differently; a v1 cgroup may also lack it. */
	static const char *const v2_files[] = {"cpuset.cpus.effective", "cpuset.cpus"};
	static const char *const v1_files[] = {"cpuset.effective_cpus", "cpuset.cpus"};
	const char *const *files = m->mounts.v2[CG_CPUSET] ? v2_files : v1_files;
	char text[SMALL_SIZE];
	int r = -ENODATA;

	for (unsigned i = 0; i < 2; i++) {
		struct cpuset set;
		size_t len;

		r = cg_read_at(src, m, CG_CPUSET, cgpath, files[i], text, sizeof(text), &len);
		if (r == -ENODATA)
			continue;
		if (r < 0)
			return r;
		r = cpuset_parse((struct span){text, len}, &set);
		if (r < 0)
			return r;
		if (!cpuset_empty(&set)) {
			*ret = set;
			return 0;
		}
		r = -ENODATA;
	}
	return r;
}

static int host_online(const struct cg_src *src, struct cpuset *ret)
{
	char text[SMALL_SIZE];
	size_t len;
	int r;

	r = src_read(src, "sys/devices/system/cpu/online", text, sizeof(text), &len);
	if (r < 0)
		return r;
	return cpuset_parse((struct span){text, len}, ret);
}

static int visible_read(const struct cg_src *src, const struct cg_machine *m, struct cpuset *ret)
{
	char path[CG_PATH_MAX];

	if (!m->paths.present[CG_CPUSET] || !m->mounts.present[CG_CPUSET])
		return host_online(src, ret);
	memcpy(path, m->paths.path[CG_CPUSET], sizeof(path));
	/* v2 cgroups without the cpuset controller enabled have no cpuset files, and v1 children
	 * start with an empty cpuset.cpus: the nearest ancestor's set applies. */
	for (unsigned depth = 0; depth < CG_PATH_MAX; depth++) {
		int r = cpuset_read_at(src, m, path, ret);

		if (r != -ENODATA)
			return r;
		if (!cg_path_parent(path))
			break;
	}
	return host_online(src, ret);
}

/* q1/p1 < q2/p2 without overflow: quotas and periods are below 2^32 in practice, but a fixture
 * may say anything. */
static bool ratio_less(uint64_t q1, uint64_t p1, uint64_t q2, uint64_t p2)
{
	return (unsigned __int128)q1 * p2 < (unsigned __int128)q2 * p1;
}

static int quota_read_at(const struct cg_src *src, const struct cg_machine *m, const char *cgpath,
			 uint64_t *ret_quota, uint64_t *ret_period)
{
	char text[128];
	size_t len;
	int r;

	if (m->mounts.v2[CG_CPU]) {
		r = cg_read_at(src, m, CG_CPU, cgpath, "cpu.max", text, sizeof(text), &len);
		if (r < 0)
			return r;
		return cpumax_parse((struct span){text, len}, ret_quota, ret_period);
	}

	/* v1: cpu.cfs_quota_us is -1 without a limit. */
	uint64_t q, p;
	struct span s;

	r = cg_read_at(src, m, CG_CPU, cgpath, "cpu.cfs_quota_us", text, sizeof(text), &len);
	if (r < 0)
		return r;
	s = span_trim((struct span){text, len});
	if (span_eq(s, "-1")) {
		q = UINT64_MAX;
	} else {
		r = parse_u64(s, &q);
		if (r < 0)
			return r;
	}
	r = cg_read_at(src, m, CG_CPU, cgpath, "cpu.cfs_period_us", text, sizeof(text), &len);
	if (r < 0)
		return r;
	r = parse_u64((struct span){text, len}, &p);
	if (r < 0)
		return r;
	*ret_quota = q;
	*ret_period = p;
	return 0;
}

static int quota_read(const struct cg_src *src, const struct cg_machine *m, uint64_t *ret_quota,
		      uint64_t *ret_period)
{
	char path[CG_PATH_MAX];
	const char *top = m->top.present[CG_CPU] ? m->top.path[CG_CPU] : "/";
	uint64_t best_q = UINT64_MAX, best_p = 100000;

	if (m->paths.present[CG_CPU] && m->mounts.present[CG_CPU]) {
		memcpy(path, m->paths.path[CG_CPU], sizeof(path));
		if (!cg_path_below(path, top))
			top = path;
		for (unsigned depth = 0; depth < CG_PATH_MAX; depth++) {
			uint64_t q, p;
			int r = quota_read_at(src, m, path, &q, &p);

			if (r < 0 && r != -ENODATA)
				return r;
			if (r == 0 && q != UINT64_MAX && p > 0 &&
			    (best_q == UINT64_MAX || ratio_less(q, p, best_q, best_p))) {
				best_q = q;
				best_p = p;
			}
			if (strcmp(path, top) == 0 || !cg_path_parent(path))
				break;
		}
	}
	*ret_quota = best_q;
	*ret_period = best_p;
	return 0;
}

static int usage_read(const struct cg_src *src, const struct cg_machine *m, char *scratch,
		      size_t size, struct cg_cpu *c)
{
	char text[SMALL_SIZE];
	size_t len;
	int r;

	if (m->paths.present[CG_CPUACCT] && m->mounts.present[CG_CPUACCT] &&
	    !m->mounts.v2[CG_CPUACCT]) {
		r = cg_read(src, m, CG_CPUACCT, "cpuacct.stat", text, sizeof(text), &len);
		if (r < 0)
			return r;
		r = cpuacct_stat_parse((struct span){text, len}, src->ticks_per_sec, c);
		if (r < 0)
			return r;
		/* Per-CPU split; a kernel without usage_all gets the even spread of v2. */
		r = size > 0 ? cg_read(src, m, CG_CPUACCT, "cpuacct.usage_all", scratch, size, &len)
			     : -ENODATA;
		if (r == 0)
			c->usage_all = (struct span){scratch, len};
		else if (r != -ENODATA)
			return r;
		return 0;
	}
	/* v2: cpu.stat exists in every cgroup, with or without the cpu controller. */
	for (unsigned i = 0; i < 2; i++) {
		enum cg_controller ctl = i == 0 ? CG_CPU : CG_UNIFIED;

		if (!m->paths.present[ctl] || !m->mounts.present[ctl] || !m->mounts.v2[ctl])
			continue;
		r = cg_read(src, m, ctl, "cpu.stat", text, sizeof(text), &len);
		if (r == -ENODATA)
			continue;
		if (r < 0)
			return r;
		return cpustat_v2_parse((struct span){text, len}, c);
	}
	return -ENODATA;
}

/* The cpuset and the quota: kept in @m, or read now. */
static int limits_read(const struct cg_src *src, const struct cg_machine *m, struct cg_cpu *c)
{
	int r;

	if (m->limits_known) {
		c->visible = m->limits_visible;
		c->quota_us = m->limits_quota_us;
		c->period_us = m->limits_period_us;
		return 0;
	}
	r = visible_read(src, m, &c->visible);
	if (r < 0)
		return r;
	return quota_read(src, m, &c->quota_us, &c->period_us);
}

int cg_machine_resolve_limits(const struct cg_src *src, struct cg_machine *m)
{
	struct cg_cpu c;
	int r;

	if (!src || !m)
		return -EINVAL;
	m->limits_known = false;
	memset(&c, 0, sizeof(c));
	r = limits_read(src, m, &c);
	if (r < 0)
		return r;
	m->limits_visible = c.visible;
	m->limits_quota_us = c.quota_us;
	m->limits_period_us = c.period_us;
	m->limits_known = true;
	return 0;
}

int cg_read_cpu_limits(const struct cg_src *src, const struct cg_machine *m, struct cg_cpu *ret)
{
	struct cg_cpu c;
	int r;

	if (!src || !m || !ret)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	r = limits_read(src, m, &c);
	if (r < 0)
		return r;
	*ret = c;
	return 0;
}

int cg_read_cpu(const struct cg_src *src, const struct cg_machine *m, char *scratch, size_t size,
		struct cg_cpu *ret)
{
	struct cg_cpu c;
	int r;

	if (!src || !m || !ret || (!scratch && size > 0))
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	c.usage_all = (struct span){scratch, 0};
	r = limits_read(src, m, &c);
	if (r < 0)
		return r;
	r = usage_read(src, m, scratch, size, &c);
	if (r < 0 && r != -ENODATA)
		return r;
	/* No accounting at all (a cgroup v1 host without cpuacct): zero time used. */
	*ret = c;
	return 0;
}
