/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reference /proc/stat and /proc/cpuinfo renderers for the differential tests: the
 * straightforward line-by-line, word-by-word versions model/stat.c and cpuinfo.c had before its
 * fast paths. Both must give the same bytes for any input.
 */
#include <errno.h>
#include <string.h>

#include "cpu-ref.h"

#define NSEC_PER_SEC UINT64_C(1000000000)

static uint64_t muldiv_sat(uint64_t a, uint64_t b, uint64_t c)
{
	unsigned __int128 r;

	if (c == 0)
		return 0;
	r = (unsigned __int128)a * b / c;
	return r > UINT64_MAX ? UINT64_MAX : (uint64_t)r;
}

/* Line with its '\n' when it had one in the host text ending at @end. */
static void put_line(struct buf *out, struct span line, const char *end)
{
	buf_putn(out, line.p, line.len);
	if (line.p + line.len < end)
		buf_putc(out, '\n');
}

/* ---- /proc/stat ---- */

enum stat_kind {
	STAT_OTHER,
	STAT_CPU_ALL,
	STAT_CPU_N,
	STAT_BTIME,
};

static enum stat_kind stat_line_kind(struct span line, uint64_t *ret_cpu)
{
	struct span rest = line, w;
	uint64_t n;

	if (!word_next(&rest, &w))
		return STAT_OTHER;
	if (span_eq(w, "cpu"))
		return STAT_CPU_ALL;
	if (span_eq(w, "btime"))
		return STAT_BTIME;
	if (w.len > 3 && span_startswith(w, "cpu")) {
		w.p += 3;
		w.len -= 3;
		/* a cpu id is digits only (parse_u64 would take "max"); one too big to parse is
		 * still a CPU line, just never a shown one */
		for (size_t i = 0; i < w.len; i++)
			if (w.p[i] < '0' || w.p[i] > '9')
				return STAT_OTHER;
		*ret_cpu = parse_u64(w, &n) == 0 ? n : UINT64_MAX;
		return STAT_CPU_N;
	}
	return STAT_OTHER;
}

/* One "N user system" line of cpuacct.usage_all for @cpu; the cursor makes the usual ascending
 * walk linear. Missing or garbled: false. */
static bool usage_all_lookup(struct span all, struct span *cursor, uint64_t cpu, uint64_t *ret_user,
			     uint64_t *ret_sys)
{
	for (int pass = 0; pass < 2; pass++) {
		struct span line;

		while (line_next(cursor, &line)) {
			struct span rest = line, w_id, w_user, w_sys;
			uint64_t id, user, sys;

			if (!word_next(&rest, &w_id) || !word_next(&rest, &w_user) ||
			    !word_next(&rest, &w_sys))
				continue;
			if (parse_u64(w_id, &id) < 0 || id != cpu || span_eq(w_id, "max"))
				continue;
			if (parse_u64(w_user, &user) < 0 || parse_u64(w_sys, &sys) < 0)
				continue;
			*ret_user = user;
			*ret_sys = sys;
			return true;
		}
		*cursor = all;
	}
	return false;
}

struct cpu_ticks {
	uint64_t user, system, idle;
};

/* Ticks of the @i-th of @k shown CPUs (id @cpu). */
static struct cpu_ticks cpu_ticks_of(const struct cg_cpu *c, const struct stat_clock *clk,
				     struct span *cursor, uint64_t cpu, uint64_t i, uint64_t k)
{
	struct cpu_ticks t = {0, 0, 0};
	uint64_t uptime;

	if (c->usage_all.len > 0) {
		uint64_t user_ns, sys_ns;

		if (usage_all_lookup(c->usage_all, cursor, cpu, &user_ns, &sys_ns)) {
			t.user = muldiv_sat(user_ns, clk->ticks_per_sec, NSEC_PER_SEC);
			t.system = muldiv_sat(sys_ns, clk->ticks_per_sec, NSEC_PER_SEC);
		}
	} else if (k > 0) {
		/* spread whole ticks, remainder to the lowest ids: the lines add up to the total */
		uint64_t user = muldiv_sat(c->user_ns, clk->ticks_per_sec, NSEC_PER_SEC);
		uint64_t sys = muldiv_sat(c->system_ns, clk->ticks_per_sec, NSEC_PER_SEC);

		t.user = user / k + (i < user % k);
		t.system = sys / k + (i < sys % k);
	}
	uptime = muldiv_sat(clk->uptime_cs, clk->ticks_per_sec, 100);
	t.idle = sat_sub(uptime, sat_add(t.user, t.system));
	return t;
}

static void put_cpu_line(struct buf *out, const char *name, const uint64_t *id, struct cpu_ticks t)
{
	buf_puts(out, name);
	if (id)
		buf_put_u64(out, *id);
	buf_putc(out, ' ');
	buf_put_u64(out, t.user);
	buf_puts(out, " 0 ");
	buf_put_u64(out, t.system);
	buf_putc(out, ' ');
	buf_put_u64(out, t.idle);
	buf_puts(out, " 0 0 0 0 0 0\n");
}

static bool stat_cpu_shown(const struct cpuset *cpus, uint64_t cpu)
{
	return cpu < CPUSET_MAX && cpuset_test(cpus, (unsigned)cpu);
}

int ref_stat_render(struct span host_stat, const struct cg_cpu *c, const struct cpuset *cpus,
		    const struct stat_clock *clk, struct buf *out)
{
	const char *end = host_stat.p + host_stat.len;
	struct cpu_ticks sum = {0, 0, 0};
	struct span rest = host_stat, cursor = c->usage_all, line;
	uint64_t k = 0, i = 0, cpu;
	bool sum_done = false;

	/* Pass 1: how many CPU lines are shown, and their sum for the "cpu" line. */
	while (line_next(&rest, &line))
		if (stat_line_kind(line, &cpu) == STAT_CPU_N && stat_cpu_shown(cpus, cpu))
			k++;
	rest = host_stat;
	while (line_next(&rest, &line)) {
		struct cpu_ticks t;

		if (stat_line_kind(line, &cpu) != STAT_CPU_N || !stat_cpu_shown(cpus, cpu))
			continue;
		t = cpu_ticks_of(c, clk, &cursor, cpu, i++, k);
		sum.user = sat_add(sum.user, t.user);
		sum.system = sat_add(sum.system, t.system);
		sum.idle = sat_add(sum.idle, t.idle);
	}

	/* Pass 2: emit, with the same walk so every cpuN line matches what was summed. */
	rest = host_stat;
	cursor = c->usage_all;
	i = 0;
	while (line_next(&rest, &line)) {
		switch (stat_line_kind(line, &cpu)) {
		case STAT_CPU_ALL:
			if (!sum_done)
				put_cpu_line(out, "cpu ", NULL, sum);
			sum_done = true;
			break;
		case STAT_CPU_N:
			if (!sum_done)
				put_cpu_line(out, "cpu ", NULL, sum);
			sum_done = true;
			if (stat_cpu_shown(cpus, cpu))
				put_cpu_line(out, "cpu", &cpu,
					     cpu_ticks_of(c, clk, &cursor, cpu, i++, k));
			break;
		case STAT_BTIME:
			buf_puts(out, "btime ");
			buf_put_u64(out, clk->btime);
			buf_putc(out, '\n');
			break;
		case STAT_OTHER:
			put_line(out, line, end);
			break;
		}
	}
	return buf_result(out);
}

/* ---- /proc/cpuinfo ---- */

static bool is_blank_line(struct span line)
{
	return span_trim(line).len == 0;
}

/*
 * Next block: its non-blank lines and the blank lines after them, so that a kept block keeps its
 * separator and a dropped one takes it along.
 */
static bool block_next(struct span *rest, struct span *ret_block)
{
	struct span probe = *rest, line;
	bool content = false, gap = false;

	if (rest->len == 0)
		return false;
	for (;;) {
		struct span before = probe;
		bool blank;

		if (!line_next(&probe, &line))
			break;
		blank = is_blank_line(line);
		if (!blank && gap) {
			probe = before;
			break;
		}
		if (blank && content)
			gap = true;
		if (!blank)
			content = true;
	}
	ret_block->p = rest->p;
	ret_block->len = (size_t)(probe.p - rest->p);
	*rest = probe;
	return true;
}

/* "key\t\t: value" -> key without trailing blanks, value trimmed. */
static bool info_line(struct span line, struct span *ret_key, struct span *ret_val)
{
	const char *colon = memchr(line.p, ':', line.len);
	struct span key, val;

	if (!colon)
		return false;
	key = span_trim((struct span){line.p, (size_t)(colon - line.p)});
	val = span_trim((struct span){colon + 1, line.len - (size_t)(colon - line.p) - 1});
	*ret_key = key;
	*ret_val = val;
	return true;
}

struct cpuinfo_block {
	bool has_proc, has_phys, has_core;
	uint64_t proc, phys, core;
};

static void cpuinfo_block_scan(struct span block, struct cpuinfo_block *ret)
{
	struct cpuinfo_block b = {0};
	struct span line, key, val;

	while (line_next(&block, &line)) {
		if (!info_line(line, &key, &val))
			continue;
		if (!b.has_proc && span_eq(key, "processor"))
			b.has_proc = parse_u64(val, &b.proc) == 0;
		else if (!b.has_phys && span_eq(key, "physical id"))
			b.has_phys = parse_u64(val, &b.phys) == 0;
		else if (!b.has_core && span_eq(key, "core id"))
			b.has_core = parse_u64(val, &b.core) == 0;
	}
	*ret = b;
}

static bool cpuinfo_block_shown(const struct cpuinfo_block *b, const struct cpuset *cpus)
{
	if (!b->has_proc)
		return true;
	return b->proc < CPUSET_MAX && cpuset_test(cpus, (unsigned)b->proc);
}

struct cpu_topo {
	unsigned n;
	bool overflow;
	uint32_t phys[CPUINFO_TOPO_MAX];
	uint32_t core[CPUINFO_TOPO_MAX];
	bool has_core[CPUINFO_TOPO_MAX];
	bool first_core[CPUINFO_TOPO_MAX]; /* first shown CPU with this (phys, core) */
};

static void cpu_topo_collect(struct span host, const struct cpuset *cpus, struct cpu_topo *t)
{
	struct span block;

	t->n = 0;
	t->overflow = false;
	while (block_next(&host, &block)) {
		struct cpuinfo_block b;

		cpuinfo_block_scan(block, &b);
		if (!b.has_proc || !b.has_phys || !cpuinfo_block_shown(&b, cpus))
			continue;
		if (b.phys > UINT32_MAX || b.core > UINT32_MAX) {
			t->overflow = true; /* no real topology looks like this: leave it alone */
			return;
		}
		if (t->n == CPUINFO_TOPO_MAX) {
			t->overflow = true;
			return;
		}
		t->phys[t->n] = (uint32_t)b.phys;
		t->core[t->n] = (uint32_t)b.core;
		t->has_core[t->n] = b.has_core;
		t->n++;
	}
	for (unsigned i = 0; i < t->n; i++) {
		t->first_core[i] = t->has_core[i];
		for (unsigned j = 0; j < i && t->first_core[i]; j++)
			if (t->has_core[j] && t->phys[j] == t->phys[i] && t->core[j] == t->core[i])
				t->first_core[i] = false;
	}
}

static void cpu_topo_count(const struct cpu_topo *t, uint64_t phys, uint64_t *ret_siblings,
			   uint64_t *ret_cores)
{
	uint64_t siblings = 0, cores = 0;

	for (unsigned i = 0; i < t->n; i++) {
		if (t->phys[i] != phys)
			continue;
		siblings++;
		cores += t->first_core[i];
	}
	*ret_siblings = siblings;
	*ret_cores = cores;
}

/* "key\t: " kept from the host line, then @v. */
static void put_info_value(struct buf *out, struct span line, const char *end, uint64_t v)
{
	const char *colon = memchr(line.p, ':', line.len);

	buf_putn(out, line.p, (size_t)(colon - line.p) + 1);
	buf_putc(out, ' ');
	buf_put_u64(out, v);
	if (line.p + line.len < end)
		buf_putc(out, '\n');
}

int ref_cpuinfo_render(struct span host_cpuinfo, const struct cpuset *cpus, struct buf *out)
{
	static struct cpu_topo topo; /* 5 KiB: off the test's stack */
	struct span rest = host_cpuinfo, block;

	cpu_topo_collect(host_cpuinfo, cpus, &topo);
	while (block_next(&rest, &block)) {
		const char *end = block.p + block.len;
		struct cpuinfo_block b;
		uint64_t siblings = 0, cores = 0;
		bool rewrite;
		struct span line;

		cpuinfo_block_scan(block, &b);
		if (!cpuinfo_block_shown(&b, cpus))
			continue;
		rewrite = b.has_proc && b.has_phys && !topo.overflow;
		if (rewrite)
			cpu_topo_count(&topo, b.phys, &siblings, &cores);
		while (line_next(&block, &line)) {
			struct span key, val;

			if (rewrite && info_line(line, &key, &val)) {
				if (span_eq(key, "siblings") && siblings > 0) {
					put_info_value(out, line, end, siblings);
					continue;
				}
				if (span_eq(key, "cpu cores") && cores > 0) {
					put_info_value(out, line, end, cores);
					continue;
				}
			}
			put_line(out, line, end);
		}
	}
	return buf_result(out);
}
