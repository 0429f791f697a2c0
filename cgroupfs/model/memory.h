/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Memory of a machine cgroup: the parsed inputs (limits, usage, memory.stat) and the view derived
 * from them that /proc/meminfo, /proc/swaps, sysinfo() and sysconf(_SC_*PAGES) all report.
 * Pure: no I/O. All byte counts are bytes; all view fields are kB (meminfo's unit).
 *
 * One file per job: memstat.c parses memory.stat, meminfo.c parses and renders /proc/meminfo,
 * memview.c computes the view, swaps.c renders /proc/swaps.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "parse.h"

/* cgroup v1 prints "unlimited" as PAGE_COUNTER_MAX * PAGE_SIZE (9223372036854771712 with 4k
 * pages, less with larger ones); anything this large is no limit. */
#define MEMORY_V1_UNLIMITED_MIN (UINT64_C(1) << 62)

/* A v1 limit file's value, UINT64_MAX ("max") for "unlimited". */
static inline uint64_t memory_v1_limit(uint64_t v)
{
	return v >= MEMORY_V1_UNLIMITED_MIN ? UINT64_MAX : v;
}

/* memory.stat normalised to cgroup v2 key names; bytes. v1 reads the hierarchical total_* keys. */
struct cg_memstat {
	uint64_t anon, file, shmem, file_mapped, file_dirty, file_writeback, anon_thp;
	uint64_t active_anon, inactive_anon, active_file, inactive_file, unevictable;
	uint64_t slab, slab_reclaimable, slab_unreclaimable;
	/* v1 only: limits the kernel computed over all ancestors; UINT64_MAX when absent. */
	uint64_t hierarchical_memory_limit, hierarchical_memsw_limit;
	/* v1: the key was in the file (kernels before 2.6.29 have neither). */
	bool has_hierarchical_memory_limit, has_hierarchical_memsw_limit;
};

/* @v1 selects total_* keys. Missing keys read as 0; a garbage value is -EINVAL. */
int memstat_parse(struct span text, bool v1, struct cg_memstat *ret);

struct cg_memory {
	uint64_t limit;	     /* effective memory limit, bytes; UINT64_MAX = none */
	uint64_t usage;	     /* memory.current / memory.usage_in_bytes */
	bool swap_accounted; /* the cgroup exposes swap accounting */
	uint64_t
		swap_limit; /* swap alone (v2 memory.swap.max; v1 memsw - mem); UINT64_MAX = none */
	uint64_t swap_usage; /* swap alone, bytes */
	struct cg_memstat stat;
};

/* The host's own numbers, from /proc/meminfo (kB). */
struct host_memory {
	uint64_t mem_total, mem_free, mem_available, buffers, cached, swap_total, swap_free, shmem;
};
int host_memory_parse(struct span meminfo, struct host_memory *ret);
/* With @totals_only, the parse stops once MemTotal and SwapTotal are found (all a view needs:
 * mem_view_compute() reads no other host field); fields after them may read 0. */
int host_memory_parse_totals(struct span meminfo, bool totals_only, struct host_memory *ret);

/* What the machine looks like, kB. Invariant: every field <= total; swap_free <= swap_total. */
struct mem_view {
	uint64_t total, free, available, buffers, cached, shmem;
	uint64_t active, inactive, active_anon, inactive_anon, active_file, inactive_file;
	uint64_t unevictable, dirty, writeback, anon_pages, mapped, anon_huge;
	uint64_t slab, sreclaimable, sunreclaim;
	uint64_t swap_total, swap_free;
};

/*
 * With no limit (or a limit above the host) total is the host's MemTotal. cg->limit must already
 * be the effective one (the caller folds in stat.hierarchical_memory_limit and sampled limits).
 * Fields are clamped so that every field <= total and procps free never shows negative used
 * (free + buffers + cached + sreclaimable <= total: cached is cut first, then sreclaimable).
 * Swap is 0 unless cg->swap_accounted. Always returns 0.
 */
int mem_view_compute(const struct host_memory *host, const struct cg_memory *cg,
		     struct mem_view *ret);

/* The host file with the machine's fields substituted, other lines copied in host order. */
int meminfo_render(struct span host_meminfo, const struct mem_view *v, struct buf *out);
int swaps_render(const struct mem_view *v, struct buf *out);
