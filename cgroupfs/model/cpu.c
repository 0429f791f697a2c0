/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CPU model: quota and usage parsers, the visible CPU set and the sysfs CPU lists (see cpu.h).
 * /proc/cpuinfo is cpuinfo.c's, /proc/stat stat.c's. Pure: no I/O, no allocation, no stdio.
 */
#include <errno.h>
#include <string.h>

#include "cpu.h"

int cpustat_v2_parse(struct span text, struct cg_cpu *ret)
{
	uint64_t usage, user, sys;
	int r_usage, r_user, r_sys;

	r_usage = keyed_u64(text, "usage_usec", &usage);
	r_user = keyed_u64(text, "user_usec", &user);
	r_sys = keyed_u64(text, "system_usec", &sys);
	if (r_usage == -EINVAL || r_user == -EINVAL || r_sys == -EINVAL || r_usage == -ERANGE ||
	    r_user == -ERANGE || r_sys == -ERANGE)
		return -EINVAL;
	if (r_user == 0 && r_sys == 0) {
		ret->user_ns = u64_muldiv(user, NSEC_PER_USEC, 1);
		ret->system_ns = u64_muldiv(sys, NSEC_PER_USEC, 1);
		return 0;
	}
	if (r_usage == 0) {
		ret->user_ns = u64_muldiv(usage, NSEC_PER_USEC, 1);
		ret->system_ns = 0;
		return 0;
	}
	return -ENOENT;
}

/* @key ("user") is the first word of @line (blanks before it skipped): the rest in @ret_rest. */
static bool line_key(struct span line, const char *key, size_t klen, struct span *ret_rest)
{
	while (line.len > 0 && (line.p[0] == ' ' || line.p[0] == '\t')) {
		line.p++;
		line.len--;
	}
	if (line.len < klen || memcmp(line.p, key, klen) != 0 ||
	    (line.len > klen && line.p[klen] != ' ' && line.p[klen] != '\t'))
		return false;
	*ret_rest = (struct span){line.p + klen, line.len - klen};
	return true;
}

int cpuacct_stat_parse(struct span text, uint64_t ticks_per_sec, struct cg_cpu *ret)
{
	uint64_t user = 0, sys = 0;
	int r_user = -ENOENT, r_sys = -ENOENT;
	struct span line, rest;

	if (ticks_per_sec == 0)
		return -EINVAL;
	/* One pass; the first line of each key counts, as keyed_u64() reads it. */
	while ((r_user == -ENOENT || r_sys == -ENOENT) && line_next(&text, &line)) {
		if (r_user == -ENOENT && line_key(line, "user", 4, &rest))
			r_user = parse_u64(rest, &user);
		else if (r_sys == -ENOENT && line_key(line, "system", 6, &rest))
			r_sys = parse_u64(rest, &sys);
	}
	if (r_user < 0)
		return r_user == -ERANGE ? -EINVAL : r_user;
	if (r_sys < 0)
		return r_sys == -ERANGE ? -EINVAL : r_sys;
	ret->user_ns = u64_muldiv(user, NSEC_PER_SEC, ticks_per_sec);
	ret->system_ns = u64_muldiv(sys, NSEC_PER_SEC, ticks_per_sec);
	return 0;
}

int cpumax_parse(struct span text, uint64_t *ret_quota_us, uint64_t *ret_period_us)
{
	struct span rest = span_trim(text), w_quota, w_period, w_extra;
	uint64_t quota, period;
	bool has_period;
	int r;

	if (!word_next(&rest, &w_quota))
		return -EINVAL;
	has_period = word_next(&rest, &w_period);
	if (word_next(&rest, &w_extra))
		return -EINVAL;
	if (span_eq(w_quota, "-1"))
		quota = UINT64_MAX;
	else {
		r = parse_u64(w_quota, &quota);
		if (r < 0)
			return -EINVAL;
	}
	if (has_period) {
		/* "max" is not a period: parse_u64 would take it as UINT64_MAX */
		if (span_eq(w_period, "max"))
			return -EINVAL;
		r = parse_u64(w_period, &period);
		if (r < 0 || period == 0)
			return -EINVAL;
		*ret_period_us = period;
	}
	*ret_quota_us = quota;
	return 0;
}

void cpu_view_set(const struct cg_cpu *c, bool quota_view, struct cpuset *ret)
{
	uint64_t n;

	if (!quota_view || c->quota_us == UINT64_MAX || c->period_us == 0) {
		if (ret != &c->visible)
			*ret = c->visible;
		return;
	}
	n = c->quota_us / c->period_us + (c->quota_us % c->period_us != 0);
	if (n == 0)
		n = 1;
	if (n > CPUSET_MAX)
		n = CPUSET_MAX;
	cpuset_first_n(&c->visible, (unsigned)n, ret);
}

int cpulist_render(const struct cpuset *cpus, struct buf *out)
{
	cpuset_format(cpus, out);
	buf_putc(out, '\n');
	return buf_result(out);
}
