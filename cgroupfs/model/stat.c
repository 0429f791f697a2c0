/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /proc/stat: one cpuN line per visible CPU with the cgroup's own time, idle the elapsed time
 * minus the time used (see cpu.h and DESIGN.md "/proc/stat"). Pure: no I/O, no allocation, no
 * stdio; bounded stack (the shim may render from a signal handler).
 */
#include <errno.h>
#include <string.h>

#include "cpu.h"

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
			t.user = u64_muldiv(user_ns, clk->ticks_per_sec, NSEC_PER_SEC);
			t.system = u64_muldiv(sys_ns, clk->ticks_per_sec, NSEC_PER_SEC);
		}
	} else if (k > 0) {
		/* spread whole ticks, remainder to the lowest ids: the lines add up to the total */
		uint64_t user = u64_muldiv(c->user_ns, clk->ticks_per_sec, NSEC_PER_SEC);
		uint64_t sys = u64_muldiv(c->system_ns, clk->ticks_per_sec, NSEC_PER_SEC);

		t.user = user / k + (i < user % k);
		t.system = sys / k + (i < sys % k);
	}
	uptime = u64_muldiv(clk->uptime_cs, clk->ticks_per_sec, 100);
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
