/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The renderers vfile_table points at (render.c: /proc; render-sys.c: /proc/vmstat and /sys), and
 * the input helpers the two files share. Only vfile.c and the render files use this header.
 */
#pragma once

#include "model/cpu.h"
#include "vfile.h"

/* Bump allocator over the request's scratch memory. */
struct arena {
	char *p;
	size_t left;
};
struct arena arena_of(const struct vfile_req *req);
/* The host file @relpath (relative to the src root) into @a. */
int arena_read(const struct vfile_req *req, struct arena *a, const char *relpath, struct span *ret);
/* @file of the machine cgroup of controller @c into @a; -ENODATA when absent. */
int arena_cg_read(const struct vfile_req *req, struct arena *a, enum cg_controller c,
		  const char *file, struct span *ret);
/* v1 blkio counters: the _recursive files (kernel >= 4.x) include sub-cgroups, like the machine
 * does; older kernels only have the cgroup's own: @first, else @second. */
int arena_cg_read_either(const struct vfile_req *req, struct arena *a, const char *first,
			 const char *second, struct span *ret);
/* @r when it is an error, else the buffer's result (-ENOBUFS when @out was too small). */
int out_result(int r, const struct buf *out);
/* The host's /proc/meminfo (kept in @a while @ret_host is used; its src_read_gen() generation in
 * @ret_gen) and the memory view (@what: CG_MEM_STAT, CG_MEM_SWAP). */
int mem_view_load(const struct vfile_req *req, struct arena *a, unsigned what,
		  struct span *ret_host, uint64_t *ret_gen, struct mem_view *ret);
/* CPU inputs; @a supplies v1's per-CPU usage (kept in the arena while @ret is used), for the
 * CPU lines of /proc/stat. An @a without memory: the total CPU time only. NULL @a: the limits
 * only (no CPU time). @ret->visible becomes the CPUs the machine shows (the view), computed in
 * place: one cpuset on the caller's stack, not three. */
int cpu_read(const struct vfile_req *req, struct arena *a, struct cg_cpu *ret);
/* Whether controller @c's machine is the host's own root cgroup, whose figures are the host's:
 * its files are the host files. */
bool machine_is_host_root(const struct cg_machine *m, enum cg_controller c);

int render_meminfo(const struct vfile_req *req, struct buf *out);
int render_swaps(const struct vfile_req *req, struct buf *out);
int render_cpuinfo(const struct vfile_req *req, struct buf *out);
int render_cpulist(const struct vfile_req *req, struct buf *out);
int render_stat(const struct vfile_req *req, struct buf *out);
int render_uptime(const struct vfile_req *req, struct buf *out);
int render_loadavg(const struct vfile_req *req, struct buf *out);
int render_pressure_cpu(const struct vfile_req *req, struct buf *out);
int render_pressure_memory(const struct vfile_req *req, struct buf *out);
int render_pressure_io(const struct vfile_req *req, struct buf *out);
int render_diskstats(const struct vfile_req *req, struct buf *out);
int render_pid_stat(const struct vfile_req *req, struct buf *out);
int render_vmstat(const struct vfile_req *req, struct buf *out);
int render_node_meminfo(const struct vfile_req *req, struct buf *out);
int render_node_cpulist(const struct vfile_req *req, struct buf *out);
int render_node_cpumap(const struct vfile_req *req, struct buf *out);
