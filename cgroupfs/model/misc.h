/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The small renderers: /proc/uptime, /proc/loadavg (and the kernel's load-average EWMA),
 * /proc/diskstats, the starttime shift of /proc/<pid>/stat, and the numbers behind sysinfo().
 * Pure: no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/sysinfo.h>

#include "buf.h"
#include "memory.h"
#include "parse.h"

/* "U.UU I.II\n" */
int uptime_render(uint64_t uptime_cs, uint64_t idle_cs, struct buf *out);

/* Kernel fixed point (include/linux/sched/loadavg.h). */
#define LOADAVG_FSHIFT 11
#define LOADAVG_FIXED_1 (1UL << LOADAVG_FSHIFT)
#define LOADAVG_EXP_1 1884
#define LOADAVG_EXP_5 2014
#define LOADAVG_EXP_15 2037

/* One 5-second step of the kernel's calc_load(): @load and the result are fixed point, @active is
 * the number of runnable + uninterruptible tasks (an integer, not fixed point). */
uint64_t loadavg_step(uint64_t load, uint64_t exp, uint64_t active);

struct loadavg {
	uint64_t avg[3];  /* fixed point, FSHIFT 11 */
	uint64_t running; /* runnable threads of the machine */
	uint64_t total;	  /* threads of the machine */
	uint64_t lastpid; /* newest pid as the reader sees it */
};
int loadavg_parse(struct span host_loadavg, struct loadavg *ret);
/* "0.52 0.31 0.12 1/96 10159\n", rounded like the kernel's /proc/loadavg. */
int loadavg_render(const struct loadavg *l, struct buf *out);

/*
 * /proc/diskstats from the cgroup's I/O counters: v2 io.stat ("MAJ:MIN rbytes= wbytes= rios=
 * wios= dbytes= dios=") or v1 blkio.throttle.io_serviced + io_service_bytes ("MAJ:MIN Read N").
 * Device names and order come from the host file; devices the cgroup never touched are omitted.
 * Pass @v1_serviced/@v1_bytes empty for v2, @iostat empty for v1.
 */
/* Whether the cgroup's I/O files name any device ("MAJ:MIN"): without, diskstats_render() shows
 * nothing, whatever the host file says (it need not even be read). */
bool diskstats_io_any(struct span iostat, struct span v1_serviced, struct span v1_bytes);
int diskstats_render(struct span host_diskstats, struct span iostat, struct span v1_serviced,
		     struct span v1_bytes, struct buf *out);
/* Bytes read and written over every device of the cgroup's I/O files (v2 io.stat, else v1
 * blkio.throttle.io_service_bytes); 0 and 0 when they name no device. */
void io_totals(struct span iostat, struct span v1_bytes, uint64_t *ret_read, uint64_t *ret_write);

/*
 * /proc/<pid>/stat and /proc/<pid>/task/<tid>/stat with field 22 (starttime, clock ticks since
 * boot) lowered by @shift_ticks (saturating at 0). The comm field may hold spaces and ')'.
 */
int pidstat_render(struct span host_pidstat, uint64_t shift_ticks, struct buf *out);
/* Field 22 of a /proc/<pid>/stat line. */
int pidstat_starttime(struct span pidstat, uint64_t *ret_ticks);

/*
 * Fill the memory, swap, uptime and load fields of @si from the machine's view, keeping
 * procs from the host values already in @si. mem_unit is 1 when every byte count fits an
 * unsigned long, else the smallest power of two that makes them fit (32-bit callers).
 * totalhigh/freehigh are set to 0 (the machine has no high memory; host values would be in
 * the host's mem_unit). Loads are FSHIFT fixed point shifted to SI_LOAD_SHIFT.
 */
void sysinfo_apply(const struct mem_view *v, uint64_t uptime_s, const struct loadavg *l,
		   struct sysinfo *si);
