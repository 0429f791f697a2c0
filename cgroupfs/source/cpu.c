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

/*
 * Small files (cpusets, cpuacct.stat, cpu.stat) are read into a small buffer on the stack; only a
 * file that does not fit (a long cpuset list) is read again into a big one, in a function of its
 * own, so that the common path touches no more than SMALL_TRY bytes of the caller's stack (the
 * shim runs in other people's threads, where every page of stack counts).
 */
#define SMALL_TRY 1024
#define SMALL_SIZE 4096

/* A small input file: a cgroup file (@m set) or a host file under the root (@m NULL). */
struct small_file {
	const struct cg_src *src;
	const struct cg_machine *m;
	enum cg_controller c;
	const char *cgpath; /* NULL: the machine cgroup of @c */
	const char *file;
};

typedef int (*small_parse_fn)(struct span text, void *arg);

static int small_read(const struct small_file *f, char *buf, size_t size, size_t *ret_len)
{
	if (!f->m)
		return src_read(f->src, f->file, buf, size, ret_len);
	if (!f->cgpath)
		return cg_read(f->src, f->m, f->c, f->file, buf, size, ret_len);
	return cg_read_at(f->src, f->m, f->c, f->cgpath, f->file, buf, size, ret_len);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wframe-larger-than="
static __attribute__((noinline)) int small_parse_big(const struct small_file *f,
						     small_parse_fn parse, void *arg)
{
	char text[SMALL_SIZE];
	size_t len;
	int r;

	r = small_read(f, text, sizeof(text), &len);
	if (r < 0)
		return r;
	return parse((struct span){text, len}, arg);
}
#pragma GCC diagnostic pop

/* Read @f and hand its text to @parse. */
static __attribute__((noinline)) int small_parse(const struct small_file *f, small_parse_fn parse,
						 void *arg)
{
	char text[SMALL_TRY];
	size_t len;
	int r;

	r = small_read(f, text, sizeof(text), &len);
	if (r == -ENOBUFS)
		return small_parse_big(f, parse, arg);
	if (r < 0)
		return r;
	return parse((struct span){text, len}, arg);
}

static int parse_cpuset(struct span text, void *arg)
{
	return cpuset_parse(text, arg);
}

/* The cgroup's effective cpuset into @ret (which a failure may have changed). */
static int cpuset_read_at(const struct cg_src *src, const struct cg_machine *m, const char *cgpath,
			  struct cpuset *ret)
{
	/* v2 and v1 spell the effective set differently; a v1 cgroup may also lack it. */
	static const char *const v2_files[] = {"cpuset.cpus.effective", "cpuset.cpus"};
	static const char *const v1_files[] = {"cpuset.effective_cpus", "cpuset.cpus"};
	const char *const *files = m->v2[CG_CPUSET] ? v2_files : v1_files;
	int r = -ENODATA;

	for (unsigned i = 0; i < 2; i++) {
		struct small_file f = {src, m, CG_CPUSET, cgpath, files[i]};

		/* parsed straight into @ret: no second cpuset on the stack */
		r = small_parse(&f, parse_cpuset, ret);
		if (r == -ENODATA)
			continue;
		if (r < 0)
			return r;
		if (!cpuset_empty(ret))
			return 0;
		r = -ENODATA;
	}
	return r;
}

static int host_online(const struct cg_src *src, struct cpuset *ret)
{
	struct small_file f = {src, NULL, 0, NULL, "sys/devices/system/cpu/online"};

	return small_parse(&f, parse_cpuset, ret);
}

static int visible_read(const struct cg_src *src, const struct cg_machine *m, struct cpuset *ret)
{
	char path[CG_PATH_MAX];

	if (!cg_machine_has(m, CG_CPUSET))
		return host_online(src, ret);
	strcpy(path, cg_machine_path(m, CG_CPUSET)); /* shorter than CG_PATH_MAX */
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

	if (m->v2[CG_CPU]) {
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
	const char *top = cg_machine_top(m, CG_CPU) ?: "/";
	uint64_t best_q = UINT64_MAX, best_p = 100000;

	if (cg_machine_has(m, CG_CPU)) {
		strcpy(path, cg_machine_path(m, CG_CPU)); /* shorter than CG_PATH_MAX */
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

struct usage_parse {
	uint64_t ticks_per_sec;
	struct cg_cpu *c;
};

static int parse_cpuacct_stat(struct span text, void *arg)
{
	struct usage_parse *u = arg;

	return cpuacct_stat_parse(text, u->ticks_per_sec, u->c);
}

static int parse_cpustat_v2(struct span text, void *arg)
{
	struct usage_parse *u = arg;

	return cpustat_v2_parse(text, u->c);
}

/* What usage_read() is asked for. */
enum usage_want {
	USAGE_BOTH,  /* the totals, and v1's per-CPU split when there is one */
	USAGE_SPLIT, /* v1's per-CPU split; the totals only without one */
	USAGE_TOTAL, /* all CPU time used, in user_ns (system_ns 0) */
};

static int parse_cpuacct_usage(struct span text, void *arg)
{
	struct usage_parse *u = arg;
	uint64_t ns;
	int r;

	r = parse_u64(text, &ns);
	if (r < 0)
		return r == -ERANGE ? -EINVAL : r;
	u->c->user_ns = ns;
	u->c->system_ns = 0;
	return 0;
}

static int usage_read(const struct cg_src *src, const struct cg_machine *m, char *scratch,
		      size_t size, enum usage_want want, struct cg_cpu *c)
{
	struct usage_parse u = {src->ticks_per_sec, c};
	size_t len;
	int r;

	if (cg_machine_has(m, CG_CPUACCT) && !m->v2[CG_CPUACCT]) {
		struct small_file f = {src, m, CG_CPUACCT, NULL, "cpuacct.stat"};

		if (want == USAGE_TOTAL) {
			/* The sum of the per-CPU run times that cpuacct.stat's user and system
			 * are scaled to add up to (kernel/sched/cpuacct.c, cputime_adjust()):
			 * one number, read and parsed in a fraction of the time. */
			struct small_file t = {src, m, CG_CPUACCT, NULL, "cpuacct.usage"};

			r = small_parse(&t, parse_cpuacct_usage, &u);
			if (r != -ENODATA)
				return r;
			return small_parse(&f, parse_cpuacct_stat, &u);
		}
		/* Per-CPU split; a kernel without usage_all gets the even spread of v2. */
		r = size > 0 ? cg_read(src, m, CG_CPUACCT, "cpuacct.usage_all", scratch, size, &len)
			     : -ENODATA;
		if (r == 0)
			c->usage_all = (struct span){scratch, len};
		else if (r != -ENODATA)
			return r;
		/* /proc/stat's CPU lines come from the split alone when there is one */
		if (want == USAGE_SPLIT && c->usage_all.len > 0)
			return 0;
		return small_parse(&f, parse_cpuacct_stat, &u);
	}
	/* v2: cpu.stat exists in every cgroup, with or without the cpu controller. */
	for (unsigned i = 0; i < 2; i++) {
		enum cg_controller ctl = i == 0 ? CG_CPU : CG_UNIFIED;
		struct small_file f = {src, m, ctl, NULL, "cpu.stat"};

		if (!cg_machine_has(m, ctl) || !m->v2[ctl])
			continue;
		r = small_parse(&f, parse_cpustat_v2, &u);
		if (r == -ENODATA)
			continue;
		return r;
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

static int cpu_read_want(const struct cg_src *src, const struct cg_machine *m, char *scratch,
			 size_t size, enum usage_want want, struct cg_cpu *ret)
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
	r = usage_read(src, m, scratch, size, want, &c);
	if (r < 0 && r != -ENODATA)
		return r;
	/* No accounting at all (a cgroup v1 host without cpuacct): zero time used. */
	*ret = c;
	return 0;
}

int cg_read_cpu(const struct cg_src *src, const struct cg_machine *m, char *scratch, size_t size,
		struct cg_cpu *ret)
{
	return cpu_read_want(src, m, scratch, size, USAGE_BOTH, ret);
}

int cg_read_cpu_split(const struct cg_src *src, const struct cg_machine *m, char *scratch,
		      size_t size, struct cg_cpu *ret)
{
	return cpu_read_want(src, m, scratch, size, USAGE_SPLIT, ret);
}

int cg_read_cpu_total(const struct cg_src *src, const struct cg_machine *m, struct cg_cpu *ret)
{
	return cpu_read_want(src, m, NULL, 0, USAGE_TOTAL, ret);
}
