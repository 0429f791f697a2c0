/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CPU model: quota and usage parsers, the visible CPU set, and the renderers of /proc/cpuinfo,
 * /proc/stat and the sysfs CPU lists (see cpu.h and DESIGN.md "/proc/stat"). Pure: no I/O, no
 * allocation, no stdio; bounded stack (the shim may render from a signal handler).
 */
#include <errno.h>
#include <string.h>

#include "cpu.h"

#define NSEC_PER_SEC UINT64_C(1000000000)
#define NSEC_PER_USEC UINT64_C(1000)

/* a * b / c, saturating at UINT64_MAX; c == 0 gives 0. */
static uint64_t muldiv_sat(uint64_t a, uint64_t b, uint64_t c)
{
	unsigned __int128 r;

	if (c == 0)
		return 0;
	r = (unsigned __int128)a * b / c;
	return r > UINT64_MAX ? UINT64_MAX : (uint64_t)r;
}

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
		ret->user_ns = muldiv_sat(user, NSEC_PER_USEC, 1);
		ret->system_ns = muldiv_sat(sys, NSEC_PER_USEC, 1);
		return 0;
	}
	if (r_usage == 0) {
		ret->user_ns = muldiv_sat(usage, NSEC_PER_USEC, 1);
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
	ret->user_ns = muldiv_sat(user, NSEC_PER_SEC, ticks_per_sec);
	ret->system_ns = muldiv_sat(sys, NSEC_PER_SEC, ticks_per_sec);
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

/* ---- /proc/cpuinfo ---- */

/* Only blanks (span_trim() would leave nothing): false on the first other byte. */
static bool is_blank_line(struct span line)
{
	for (size_t i = 0; i < line.len; i++)
		if (line.p[i] != ' ' && line.p[i] != '\t' && line.p[i] != '\n')
			return false;
	return true;
}

struct cpuinfo_block {
	bool has_proc, has_phys, has_core;
	uint64_t proc, phys, core;
};

static void cpuinfo_line_scan(struct span line, struct cpuinfo_block *b);

/*
 * Next block: its non-blank lines and the blank lines after them, so that a kept block keeps its
 * separator and a dropped one takes it along. Its processor, physical id and core id are read on
 * the same walk over its lines.
 */
static bool block_next(struct span *rest, struct span *ret_block, struct cpuinfo_block *ret_scan)
{
	struct span probe = *rest, line;
	struct cpuinfo_block b = {0};
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
		if (!blank) {
			content = true;
			cpuinfo_line_scan(line, &b);
		}
	}
	ret_block->p = rest->p;
	ret_block->len = (size_t)(probe.p - rest->p);
	*rest = probe;
	*ret_scan = b;
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

static void cpuinfo_line_scan(struct span line, struct cpuinfo_block *b)
{
	/* the three keys start with 'p' or 'c': other lines are not looked into */
	const char *p = line.p, *e = line.p + line.len;
	struct span key, val;

	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	if (p == e || (*p != 'p' && *p != 'c'))
		return;
	if (!info_line(line, &key, &val))
		return;
	if (!b->has_proc && span_eq(key, "processor"))
		b->has_proc = parse_u64(val, &b->proc) == 0;
	else if (!b->has_phys && span_eq(key, "physical id"))
		b->has_phys = parse_u64(val, &b->phys) == 0;
	else if (!b->has_core && span_eq(key, "core id"))
		b->has_core = parse_u64(val, &b->core) == 0;
}

static bool cpuinfo_block_shown(const struct cpuinfo_block *b, const struct cpuset *cpus)
{
	if (!b->has_proc)
		return true;
	return b->proc < CPUSET_MAX && cpuset_test(cpus, (unsigned)b->proc);
}

/* One entry per shown CPU, the fields of a CPU together: a render touches only the memory of the
 * CPUs it shows (issue 3: the shim's scratch pages), not the start of four 512-entry arrays. */
struct cpu_topo {
	unsigned n;
	bool overflow;
	struct {
		uint32_t phys, core;
		bool has_core;
		bool first_core; /* first shown CPU with this (phys, core) */
	} cpu[CPUINFO_TOPO_MAX];
};

static void cpu_topo_collect(struct span host, const struct cpuset *cpus, struct cpu_topo *t)
{
	struct cpuinfo_block b;
	struct span block;

	t->n = 0;
	t->overflow = false;
	while (block_next(&host, &block, &b)) {
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
		t->cpu[t->n].phys = (uint32_t)b.phys;
		t->cpu[t->n].core = (uint32_t)b.core;
		t->cpu[t->n].has_core = b.has_core;
		t->n++;
	}
	for (unsigned i = 0; i < t->n; i++) {
		t->cpu[i].first_core = t->cpu[i].has_core;
		for (unsigned j = 0; j < i && t->cpu[i].first_core; j++)
			if (t->cpu[j].has_core && t->cpu[j].phys == t->cpu[i].phys &&
			    t->cpu[j].core == t->cpu[i].core)
				t->cpu[i].first_core = false;
	}
}

static void cpu_topo_count(const struct cpu_topo *t, uint64_t phys, uint64_t *ret_siblings,
			   uint64_t *ret_cores)
{
	uint64_t siblings = 0, cores = 0;

	for (unsigned i = 0; i < t->n; i++) {
		if (t->cpu[i].phys != phys)
			continue;
		siblings++;
		cores += t->cpu[i].first_core;
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

_Static_assert(sizeof(struct cpu_topo) + 8 <= CPUINFO_WORK_SIZE, "CPUINFO_WORK_SIZE too small");

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wframe-larger-than="
int cpuinfo_render(struct span host_cpuinfo, const struct cpuset *cpus, struct buf *out)
{
	_Alignas(8) char work[CPUINFO_WORK_SIZE];

	return cpuinfo_render_work(host_cpuinfo, cpus, work, sizeof(work), out);
}
#pragma GCC diagnostic pop

int cpuinfo_render_work(struct span host_cpuinfo, const struct cpuset *cpus, void *work,
			size_t size, struct buf *out)
{
	uintptr_t at = ((uintptr_t)work + 7) & ~(uintptr_t)7;
	struct cpu_topo *t = (struct cpu_topo *)at;
	struct span rest = host_cpuinfo, block;
	struct cpuinfo_block b;

	if (!work || size < CPUINFO_WORK_SIZE)
		return -ENOBUFS;
	cpu_topo_collect(host_cpuinfo, cpus, t);
	while (block_next(&rest, &block, &b)) {
		const char *end = block.p + block.len, *run;
		uint64_t siblings = 0, cores = 0;
		bool rewrite;
		struct span line;

		if (!cpuinfo_block_shown(&b, cpus))
			continue;
		rewrite = b.has_proc && b.has_phys && !t->overflow;
		if (!rewrite) {
			buf_putn(out, block.p, block.len); /* every line as it is */
			continue;
		}
		cpu_topo_count(t, b.phys, &siblings, &cores);
		run = block.p;
		while (line_next(&block, &line)) {
			const char *p = line.p, *e = line.p + line.len;
			struct span key, val;
			uint64_t v;

			/* only "siblings" and "cpu cores" change; the lines in between are copied
			 * in one piece */
			while (p < e && (*p == ' ' || *p == '\t'))
				p++;
			if (p == e || (*p != 's' && *p != 'c') || !info_line(line, &key, &val))
				continue;
			if (span_eq(key, "siblings") && siblings > 0)
				v = siblings;
			else if (span_eq(key, "cpu cores") && cores > 0)
				v = cores;
			else
				continue;
			buf_putn(out, run, (size_t)(line.p - run));
			put_info_value(out, line, end, v);
			run = line.p + line.len + (line.p + line.len < end);
		}
		buf_putn(out, run, (size_t)(end - run));
	}
	return buf_result(out);
}

/* ---- /proc/stat ---- */

enum stat_kind {
	STAT_OTHER,
	STAT_CPU_ALL,
	STAT_CPU_N,
	STAT_BTIME,
};

static bool stat_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The kind of the line (its first word, blanks before it skipped) at [p, eol). */
static enum stat_kind stat_line_kind(const char *p, const char *eol, uint64_t *ret_cpu)
{
	const char *d;
	uint64_t n = 0;

	while (p < eol && stat_blank(*p))
		p++;
	if (eol - p >= 5 && memcmp(p, "btime", 5) == 0 && (eol - p == 5 || stat_blank(p[5])))
		return STAT_BTIME;
	if (eol - p < 3 || memcmp(p, "cpu", 3) != 0)
		return STAT_OTHER;
	p += 3;
	if (p == eol || stat_blank(*p))
		return STAT_CPU_ALL;
	/* a cpu id is digits only; one too big to parse is still a CPU line, just never a shown
	 * one */
	for (d = p; p < eol && !stat_blank(*p); p++) {
		if ((unsigned)(*p - '0') > 9)
			return STAT_OTHER;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (p - d > 19 && parse_u64((struct span){d, (size_t)(p - d)}, &n) < 0)
		n = UINT64_MAX;
	*ret_cpu = n;
	return STAT_CPU_N;
}

/* The next line of @rest: [*ret_p, *ret_eol); false at the end. */
static bool stat_line_next(struct span *rest, const char **ret_p, const char **ret_eol)
{
	const char *nl;

	if (rest->len == 0)
		return false;
	nl = memchr(rest->p, '\n', rest->len);
	*ret_p = rest->p;
	*ret_eol = nl ? nl : rest->p + rest->len;
	rest->len -= (size_t)(*ret_eol - rest->p) + (nl != NULL);
	rest->p = nl ? nl + 1 : rest->p + rest->len;
	return true;
}

/* Digits at *@p up to a blank or @eol: 1 to 19 of them, else false. */
static bool usage_digits(const char **p, const char *eol, uint64_t *ret)
{
	const char *q = *p, *d;
	uint64_t v = 0;

	while (q < eol && stat_blank(*q))
		q++;
	for (d = q; q < eol && (unsigned)(*q - '0') <= 9; q++)
		v = v * 10 + (uint64_t)(*q - '0');
	if (q == d || q - d > 19 || (q < eol && !stat_blank(*q)))
		return false;
	*p = q;
	*ret = v;
	return true;
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
			const char *p = line.p, *eol = line.p + line.len;
			uint64_t id, user, sys;

			/* the header and anything else not starting with a number is no CPU's line
			 * (parse_u64 would take only "max", which is refused) */
			while (p < eol && stat_blank(*p))
				p++;
			if (p == eol || (unsigned)(*p - '0') > 9)
				continue;
			/* the kernel's "N USER SYSTEM" read in one go; anything else word by word
			 */
			if (usage_digits(&p, eol, &id) && usage_digits(&p, eol, &user) &&
			    usage_digits(&p, eol, &sys)) {
				if (id != cpu)
					continue;
				*ret_user = user;
				*ret_sys = sys;
				return true;
			}
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
	static const char zeros[] = " 0 0 0 0 0 0\n";
	char d[4][20];
	size_t n[4] = {0, 0, 0, 0}, name_len = strlen(name), len;
	char *o;

	if (id)
		n[0] = buf_u64_digits(*id, d[0]);
	n[1] = buf_u64_digits(t.user, d[1]);
	n[2] = buf_u64_digits(t.system, d[2]);
	n[3] = buf_u64_digits(t.idle, d[3]);
	len = name_len + n[0] + 1 + n[1] + 3 + n[2] + 1 + n[3] + sizeof(zeros) - 1;
	o = buf_room(out, len);
	if (!o) {
		buf_puts(out, name);
		buf_putn(out, d[0] + 20 - n[0], n[0]);
		buf_putc(out, ' ');
		buf_putn(out, d[1] + 20 - n[1], n[1]);
		buf_puts(out, " 0 ");
		buf_putn(out, d[2] + 20 - n[2], n[2]);
		buf_putc(out, ' ');
		buf_putn(out, d[3] + 20 - n[3], n[3]);
		buf_puts(out, zeros);
		return;
	}
	/* built in place: the line is short and fits in the common case */
	memcpy(o, name, name_len);
	o += name_len;
	memcpy(o, d[0] + 20 - n[0], n[0]);
	o += n[0];
	*o++ = ' ';
	memcpy(o, d[1] + 20 - n[1], n[1]);
	o += n[1];
	memcpy(o, " 0 ", 3);
	o += 3;
	memcpy(o, d[2] + 20 - n[2], n[2]);
	o += n[2];
	*o++ = ' ';
	memcpy(o, d[3] + 20 - n[3], n[3]);
	o += n[3];
	memcpy(o, zeros, sizeof(zeros) - 1);
	buf_commit(out, len);
}

static bool stat_cpu_shown(const struct cpuset *cpus, uint64_t cpu)
{
	return cpu < CPUSET_MAX && cpuset_test(cpus, (unsigned)cpu);
}

int stat_render(struct span host_stat, const struct cg_cpu *c, const struct cpuset *cpus,
		const struct stat_clock *clk, struct buf *out)
{
	const char *end = host_stat.p + host_stat.len, *p, *eol, *run = NULL;
	struct cpu_ticks sum = {0, 0, 0};
	struct span rest = host_stat, cursor = c->usage_all;
	uint64_t k = 0, i = 0, cpu;
	bool sum_done = false;

	/* Pass 1: how many CPU lines are shown, and their sum for the "cpu" line. With usage_all
	 * a CPU's ticks do not depend on how many are shown: counted and summed in one pass. */
	if (c->usage_all.len == 0) {
		while (stat_line_next(&rest, &p, &eol))
			if (stat_line_kind(p, eol, &cpu) == STAT_CPU_N && stat_cpu_shown(cpus, cpu))
				k++;
		rest = host_stat;
	}
	while (stat_line_next(&rest, &p, &eol)) {
		struct cpu_ticks t;

		if (stat_line_kind(p, eol, &cpu) != STAT_CPU_N || !stat_cpu_shown(cpus, cpu))
			continue;
		t = cpu_ticks_of(c, clk, &cursor, cpu, i++, k);
		sum.user = sat_add(sum.user, t.user);
		sum.system = sat_add(sum.system, t.system);
		sum.idle = sat_add(sum.idle, t.idle);
	}
	if (c->usage_all.len > 0)
		k = i;

	/* Pass 2: emit, with the same walk so every cpuN line matches what was summed. Lines
	 * copied through are copied in runs. */
	rest = host_stat;
	cursor = c->usage_all;
	i = 0;
	while (stat_line_next(&rest, &p, &eol)) {
		enum stat_kind kind = stat_line_kind(p, eol, &cpu);

		if (kind == STAT_OTHER) {
			if (!run)
				run = p;
			continue;
		}
		if (run) {
			buf_putn(out, run, (size_t)(p - run));
			run = NULL;
		}
		switch (kind) {
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
		default:
			break;
		}
	}
	/* the run ends with the text: its last line keeps its '\n' only when it had one */
	if (run)
		buf_putn(out, run, (size_t)(end - run));
	return buf_result(out);
}

int cpulist_render(const struct cpuset *cpus, struct buf *out)
{
	cpuset_format(cpus, out);
	buf_putc(out, '\n');
	return buf_result(out);
}
