/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Memory inputs of a machine cgroup: the effective limit (tightest from the machine cgroup up to
 * the highest visible ancestor), usage, swap and memory.stat, for cgroup v1 and v2.
 *
 * v1: memory.stat's hierarchical_memory_limit / hierarchical_memsw_limit are computed by the
 * kernel over the cgroup and every ancestor (even those above a cgroup-namespace root), so when
 * present they replace the walk and the cgroup's own limit files. "No limit" is PAGE_COUNTER_MAX
 * pages (9223372036854771712 with 4 KiB pages); anything that large becomes UINT64_MAX.
 *
 * v2: memory.max and memory.swap.max are walked; the root cgroup has neither.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "source.h"

#define MEMSTAT_SIZE 8192

static int read_u64_at(const struct cg_src *src, const struct cg_machine *m, const char *cgpath,
		       const char *file, uint64_t *ret)
{
	char text[64];
	size_t len;
	int r;

	r = cg_read_at(src, m, CG_MEMORY, cgpath, file, text, sizeof(text), &len);
	if (r < 0)
		return r;
	return parse_u64((struct span){text, len}, ret);
}

/* Minimum of @file over the machine cgroup and its ancestors up to the top; UINT64_MAX when no
 * cgroup on the way has the file. A garbage value fails the whole read. */
static int walk_min(const struct cg_src *src, const struct cg_machine *m, const char *file,
		    uint64_t *ret)
{
	char path[CG_PATH_MAX];
	const char *top = cg_machine_top(m, CG_MEMORY) ?: "/";
	uint64_t best = UINT64_MAX;

	strcpy(path, cg_machine_path(m, CG_MEMORY)); /* shorter than CG_PATH_MAX */
	if (!cg_path_below(path, top))
		top = path; /* not below the visible top: the machine cgroup alone */
	for (unsigned depth = 0; depth < CG_PATH_MAX; depth++) {
		uint64_t v;
		int r;

		r = read_u64_at(src, m, path, file, &v);
		if (r == 0)
			best = u64_min(best, v);
		else if (r != -ENODATA)
			return r;
		if (strcmp(path, top) == 0 || !cg_path_parent(path))
			break;
	}
	*ret = best;
	return 0;
}

/* Reads and parses the cgroup's memory.stat into @text. */
static int stat_read(const struct cg_src *src, const struct cg_machine *m, bool v1, char *text,
		     size_t size, struct cg_memory *mem)
{
	size_t len;
	int r;

	r = cg_read(src, m, CG_MEMORY, "memory.stat", text, size, &len);
	if (r < 0)
		return r;
	return memstat_parse((struct span){text, len}, v1, &mem->stat);
}

/* No swap accounting: no swap limit, none used. */
static void swap_unaccounted(struct cg_memory *mem)
{
	mem->swap_accounted = false;
	mem->swap_limit = UINT64_MAX;
	mem->swap_usage = 0;
}

/* memory.memsw.usage_in_bytes of @self into *ret: 1, or 0 when swap is not accounted (the memsw
 * files exist only with swapaccount=1 / CONFIG_MEMCG_SWAP), or -errno. */
static int memsw_usage_read(const struct cg_src *src, const struct cg_machine *m, const char *self,
			    uint64_t *ret)
{
	int r = read_u64_at(src, m, self, "memory.memsw.usage_in_bytes", ret);

	if (r == -ENODATA)
		return 0;
	return r < 0 ? r : 1;
}

/*
 * v1: memory.stat is read in any case, for its hierarchical limits (swap alone is memsw - mem:
 * both limits are needed). Swap only: memsw.usage_in_bytes first, since without swap accounting
 * nothing else is needed.
 */
static int read_v1(const struct cg_src *src, const struct cg_machine *m, unsigned what, char *text,
		   size_t size, struct cg_memory *mem)
{
	const char *self = cg_machine_path(m, CG_MEMORY);
	uint64_t memsw_limit, memsw_usage = 0;
	bool has_memsw = false;
	int r;

	if ((what & CG_MEM_SWAP) && !(what & CG_MEM_STAT)) {
		r = memsw_usage_read(src, m, self, &memsw_usage);
		if (r <= 0) {
			if (r == 0)
				swap_unaccounted(mem);
			return r;
		}
		has_memsw = true;
	}
	r = stat_read(src, m, true, text, size, mem);
	if (r < 0)
		return r;

	r = read_u64_at(src, m, self, "memory.usage_in_bytes", &mem->usage);
	if (r < 0)
		return r;
	/* The kernel's hierarchical limit already is the minimum over the cgroup and all its
	 * ancestors: no walk, not even the cgroup's own file. Only the key's absence (kernels
	 * before 2.6.29) needs the walk. */
	if (mem->stat.has_hierarchical_memory_limit) {
		mem->limit = mem->stat.hierarchical_memory_limit;
	} else {
		r = walk_min(src, m, "memory.limit_in_bytes", &mem->limit);
		if (r < 0)
			return r;
	}
	mem->limit = memory_v1_limit(mem->limit);
	if (!(what & CG_MEM_SWAP)) {
		swap_unaccounted(mem);
		return 0;
	}

	if (!has_memsw) {
		r = memsw_usage_read(src, m, self, &memsw_usage);
		if (r <= 0) {
			if (r == 0)
				swap_unaccounted(mem);
			return r;
		}
	}
	if (mem->stat.has_hierarchical_memsw_limit) {
		memsw_limit = mem->stat.hierarchical_memsw_limit;
	} else {
		r = walk_min(src, m, "memory.memsw.limit_in_bytes", &memsw_limit);
		if (r < 0)
			return r;
	}
	memsw_limit = memory_v1_limit(memsw_limit);
	mem->swap_accounted = true;
	/* memsw counts memory + swap: swap alone is the difference. */
	mem->swap_limit = memsw_limit == UINT64_MAX || mem->limit == UINT64_MAX
				  ? UINT64_MAX
				  : sat_sub(memsw_limit, mem->limit);
	mem->swap_usage = sat_sub(memsw_usage, mem->usage);
	return 0;
}

/* v2: memory and swap have files of their own; each part reads only its own. */
static int read_v2(const struct cg_src *src, const struct cg_machine *m, unsigned what, char *text,
		   size_t size, struct cg_memory *mem)
{
	const char *self = cg_machine_path(m, CG_MEMORY);
	int r;

	if (what & CG_MEM_STAT) {
		r = stat_read(src, m, false, text, size, mem);
		if (r < 0)
			return r;
		r = read_u64_at(src, m, self, "memory.current", &mem->usage);
		if (r < 0)
			return r;
		r = walk_min(src, m, "memory.max", &mem->limit);
		if (r < 0)
			return r;
	}
	if (!(what & CG_MEM_SWAP)) {
		swap_unaccounted(mem);
		return 0;
	}
	r = read_u64_at(src, m, self, "memory.swap.current", &mem->swap_usage);
	if (r == -ENODATA) {
		swap_unaccounted(mem);
		return 0;
	}
	if (r < 0)
		return r;
	mem->swap_accounted = true;
	return walk_min(src, m, "memory.swap.max", &mem->swap_limit);
}

int cg_read_memory_scratch(const struct cg_src *src, const struct cg_machine *m, unsigned what,
			   char *scratch, size_t size, struct cg_memory *ret)
{
	struct cg_memory mem;
	int r;

	if (!src || !m || !ret || (what & ~(CG_MEM_STAT | CG_MEM_SWAP)) || (!scratch && size))
		return -EINVAL;
	if (!cg_machine_has(m, CG_MEMORY))
		return -ENODATA;
	memset(&mem, 0, sizeof(mem));
	mem.limit = UINT64_MAX;
	mem.stat.hierarchical_memory_limit = UINT64_MAX;
	mem.stat.hierarchical_memsw_limit = UINT64_MAX;
	swap_unaccounted(&mem);
	if (what) {
		/* memory.stat is read on v1 in any case, on v2 for the counters */
		if (size == 0 && (what & CG_MEM_STAT || !m->v2[CG_MEMORY]))
			return -ENOBUFS;
		r = m->v2[CG_MEMORY] ? read_v2(src, m, what, scratch, size, &mem)
				     : read_v1(src, m, what, scratch, size, &mem);
		if (r < 0)
			return r;
	}
	*ret = mem;
	return 0;
}

/* Not on the shim's path (front ends pass their scratch memory): a memory.stat on the stack. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wframe-larger-than="
int cg_read_memory(const struct cg_src *src, const struct cg_machine *m, struct cg_memory *ret)
{
	char text[MEMSTAT_SIZE];

	return cg_read_memory_scratch(src, m, CG_MEM_STAT | CG_MEM_SWAP, text, sizeof(text), ret);
}
#pragma GCC diagnostic pop
