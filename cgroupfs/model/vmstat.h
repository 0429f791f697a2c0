/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /proc/vmstat for a machine cgroup: the host file, in the host's order, with the lines the cgroup
 * accounts for replaced by the cgroup's own numbers. Pure: no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "parse.h"

struct vmstat_inputs {
	struct span memstat; /* the machine cgroup's memory.stat */
	bool v1;	     /* v1 memory.stat (hierarchical total_* keys) */
	struct span
		events; /* v2 memory.events or v1 memory.oom_control ("oom_kill N"); may be empty */
	struct span iostat;	 /* v2 io.stat; empty on v1 */
	struct span v1_io_bytes; /* v1 blkio.throttle.io_service_bytes; empty on v2 */
	uint64_t free_kb;	 /* MemFree of the machine's meminfo (mem_view.free) */
	uint64_t page_size;	 /* bytes; the host's page size */
};

/*
 * Which lines are the cgroup's:
 * - nr_* page counts from memory.stat byte counts (nr_anon_pages <- anon / v1 rss, nr_file_pages
 *   <- file / v1 cache, nr_mapped, nr_dirty, nr_writeback, nr_shmem, the LRU lists and their
 *   nr_zone_* twins, slab, kernel stack (kB, as the kernel prints it), page tables, swap cache,
 *   transparent huge pages), nr_free_pages <- free_kb;
 * - event counters the cgroup keeps under the same name (pgfault, pgmajfault, pgrefill, pgscan_*,
 *   pgsteal_*, pgactivate, workingset_*, thp_*, zswpin/zswpout, pswpin/pswpout: whichever the
 *   kernel's memory.stat has), oom_kill <- memory.events;
 * - pgpgin/pgpgout: kB read from and written to block devices by the cgroup (io.stat, blkio),
 *   which is what the host's pgpgin/pgpgout count (vmstat(8)'s bi/bo). v1's memory.stat
 *   pgpgin/pgpgout are charge events, not I/O, and are not used.
 * A line whose counterpart the cgroup's files lack (a key this kernel's memory.stat does not
 * have, v1 without slab or kernel-stack keys) and every host-only line (numa_*, compaction,
 * thresholds, allocation per zone) are the host's, verbatim.
 */
int vmstat_render(struct span host_vmstat, const struct vmstat_inputs *in, struct buf *out);
