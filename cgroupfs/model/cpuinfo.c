/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /proc/cpuinfo: the host's blocks of the visible CPUs only, with siblings and cpu cores counted
 * over them (see cpu.h). Pure: no I/O, no allocation, no stdio; bounded stack (the shim may
 * render from a signal handler).
 */
#include <errno.h>
#include <string.h>

#include "cpu.h"

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
 * CPUs it shows (the shim's scratch pages count toward every process's memory), not the start of
 * four 512-entry arrays. */
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
