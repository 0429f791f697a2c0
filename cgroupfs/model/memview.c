/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The machine's memory view: a cgroup's limits, usage and memory.stat turned into the figures
 * /proc/meminfo, /proc/swaps and sysinfo(2) show (struct mem_view, kB); see memory.h. Pure.
 */
#include "memory.h"

static uint64_t kb(uint64_t bytes)
{
	return bytes / 1024;
}

static uint64_t kb_to_bytes(uint64_t k)
{
	return k > UINT64_MAX / 1024 ? UINT64_MAX : k * 1024;
}

int mem_view_compute(const struct host_memory *host, const struct cg_memory *cg,
		     struct mem_view *ret)
{
	const struct cg_memstat *st = &cg->stat;
	struct mem_view v = {0};
	uint64_t t, room;

	/* A limit at or above the host's memory (or none) shows the host. */
	t = cg->limit == UINT64_MAX ? host->mem_total
				    : kb(u64_min(cg->limit, kb_to_bytes(host->mem_total)));
	v.total = t;
	v.free = sat_sub(t, kb(cg->usage));

	/* memory.stat races memory.current (separate reads, and the kernel updates its per-CPU
	 * stat batches lazily), so every field is clamped to total. */
	v.cached = u64_min(kb(st->file), t); /* page cache incl. shmem, like Cached */
	v.shmem = u64_min(kb(st->shmem), t);
	v.active_anon = u64_min(kb(st->active_anon), t);
	v.inactive_anon = u64_min(kb(st->inactive_anon), t);
	v.active_file = u64_min(kb(st->active_file), t);
	v.inactive_file = u64_min(kb(st->inactive_file), t);
	v.active = u64_min(sat_add(v.active_anon, v.active_file), t);
	v.inactive = u64_min(sat_add(v.inactive_anon, v.inactive_file), t);
	v.unevictable = u64_min(kb(st->unevictable), t);
	v.dirty = u64_min(kb(st->file_dirty), t);
	v.writeback = u64_min(kb(st->file_writeback), t);
	v.anon_pages = u64_min(kb(st->anon), t);
	v.mapped = u64_min(kb(st->file_mapped), t);
	v.anon_huge = u64_min(kb(st->anon_thp), t);
	v.sreclaimable = u64_min(kb(st->slab_reclaimable), t);
	v.sunreclaim = u64_min(kb(st->slab_unreclaimable), t);
	v.slab = kb(st->slab);
	if (v.slab == 0)
		v.slab = sat_add(v.sreclaimable, v.sunreclaim);
	v.slab = u64_min(v.slab, t);
	v.buffers = 0;

	v.available =
		sat_add(v.free, sat_add(sat_add(v.active_file, v.inactive_file), v.sreclaimable));
	v.available = u64_min(v.available, t);

	/* procps free: used = total - free - buffers - (Cached + SReclaimable). When usage and
	 * memory.stat disagree, give up cache first, then reclaimable slab, so used >= 0. */
	room = sat_sub(t, sat_add(v.free, v.buffers));
	v.cached = u64_min(v.cached, room);
	room -= v.cached;
	v.sreclaimable = u64_min(v.sreclaimable, room);
	if (v.slab < v.sreclaimable)
		v.slab = v.sreclaimable;

	/* Swap only when the cgroup accounts it (lxcfs does the same): otherwise the host's swap
	 * would look usable by the container. */
	if (cg->swap_accounted) {
		v.swap_total = cg->swap_limit == UINT64_MAX
				       ? host->swap_total
				       : u64_min(kb(cg->swap_limit), host->swap_total);
		v.swap_free = v.swap_total - u64_min(kb(cg->swap_usage), v.swap_total);
	}

	*ret = v;
	return 0;
}
