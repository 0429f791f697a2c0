/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The renderers of /proc/vmstat and of the /sys files (the CPU directory's files beyond the
 * table's lists, NUMA node 0), with render.c's input helpers (render.h). No allocation, no
 * logging, no globals. Any error other than -ENOBUFS tells the front end to serve the host file.
 */
#include <errno.h>
#include <string.h>
#include <sys/auxv.h>

#include "model/cpusys.h"
#include "model/memory.h"
#include "model/misc.h"
#include "model/nodemem.h"
#include "model/vmstat.h"
#include "render.h"
#include "source/source.h"
#include "vfile.h"

int vfile_cpudir_visible(const struct vfile_req *req, struct cpuset *ret)
{
	struct cg_cpu cpu;
	int r;

	if (!req || !req->src || !req->machine || !ret)
		return -EINVAL;
	if (!vfile_enabled(req->config, VFILE_SYS_CPU_ONLINE))
		return -ENODATA;
	r = cpu_read(req, NULL, &cpu);
	if (r < 0)
		return r;
	if (cpuset_empty(&cpu.visible))
		return -ENODATA;
	*ret = cpu.visible;
	return 0;
}

int vfile_cpudir_render(const struct vfile_req *req, const char *relpath, struct buf *out)
{
	static const char dir[] = "sys/devices/system/cpu/";
	struct arena a = arena_of(req);
	struct span host = {"", 0};
	enum cpusys_kind kind;
	struct cpuset visible;
	size_t n;
	int r;

	if (!relpath || !out)
		return -EINVAL;
	n = strlen(relpath);
	kind = cpusys_kind_of((struct span){relpath, n});
	if (kind == CPUSYS_HOST)
		return -ENODATA;
	r = vfile_cpudir_visible(req, &visible);
	if (r < 0)
		return r;
	if (kind == CPUSYS_LIST || kind == CPUSYS_MASK) {
		char path[256];

		if (sizeof(dir) + n > sizeof(path))
			return -ENAMETOOLONG;
		memcpy(path, dir, sizeof(dir) - 1);
		memcpy(path + sizeof(dir) - 1, relpath, n + 1);
		r = arena_read(req, &a, path, &host);
		if (r < 0)
			return r;
	}
	return out_result(cpusys_render(kind, host, &visible, out), out);
}

/* The cgroup's block I/O byte counters into *@iostat (v2) or *@v1_bytes (v1); both stay empty
 * when the I/O controller or its files are absent (a machine without I/O accounting read and
 * wrote nothing of its own). */
static int io_bytes_read(const struct vfile_req *req, struct arena *a, struct span *iostat,
			 struct span *v1_bytes)
{
	const struct cg_machine *m = req->machine;
	int r;

	if (!cg_machine_has(m, CG_IO))
		return 0;
	if (m->v2[CG_IO])
		r = arena_cg_read(req, a, CG_IO, "io.stat", iostat);
	else
		r = arena_cg_read_either(req, a, "blkio.throttle.io_service_bytes_recursive",
					 "blkio.throttle.io_service_bytes", v1_bytes);
	return r == -ENODATA ? 0 : r;
}

int render_vmstat(const struct vfile_req *req, struct buf *out)
{
	struct arena a = arena_of(req);
	struct vmstat_inputs in = {.events = {"", 0}, .iostat = {"", 0}, .v1_io_bytes = {"", 0}};
	const struct cg_machine *m = req->machine;
	struct mem_view v;
	struct span host, host_meminfo;
	unsigned long page = getauxval(AT_PAGESZ);
	uint64_t gen;
	int r;

	if (!cg_machine_has(m, CG_MEMORY) || machine_is_host_root(m, CG_MEMORY))
		return -ENODATA;
	in.v1 = !m->v2[CG_MEMORY];
	in.page_size = page ? page : 4096;
	in.no_swap = req->config && !req->config->swap;
	r = arena_read(req, &a, "proc/vmstat", &host);
	if (r < 0)
		return r;
	r = arena_cg_read(req, &a, CG_MEMORY, "memory.stat", &in.memstat);
	if (r < 0)
		return r;
	/* oom_kill: v2 memory.events (hierarchical), v1 memory.oom_control (4.13+) */
	r = arena_cg_read(req, &a, CG_MEMORY, in.v1 ? "memory.oom_control" : "memory.events",
			  &in.events);
	if (r < 0 && r != -ENODATA)
		return r;
	r = io_bytes_read(req, &a, &in.iostat, &in.v1_io_bytes);
	if (r < 0)
		return r;
	r = mem_view_load(req, &a, CG_MEM_STAT, &host_meminfo, &gen, &v);
	if (r < 0)
		return r;
	in.free_kb = v.free;
	return out_result(vmstat_render(host, &in, out), out);
}

/* Whether the host is one NUMA node (node/online is "0"): then node0 is the machine's only node
 * and its files show the machine. With more nodes they are the host's. */
static int single_node(const struct vfile_req *req, struct arena a)
{
	struct cpuset nodes;
	struct span text;
	int r;

	r = arena_read(req, &a, "sys/devices/system/node/online", &text);
	if (r < 0)
		return r;
	r = cpuset_parse(text, &nodes);
	if (r < 0)
		return r;
	return cpuset_count(&nodes) == 1 && cpuset_test(&nodes, 0) ? 0 : -ENODATA;
}

int render_node_meminfo(const struct vfile_req *req, struct buf *out)
{
	struct arena a = arena_of(req);
	struct span host, host_meminfo;
	struct mem_view v;
	uint64_t gen;
	int r;

	r = single_node(req, a);
	if (r < 0)
		return r;
	r = arena_read(req, &a, "sys/devices/system/node/node0/meminfo", &host);
	if (r < 0)
		return r;
	r = mem_view_load(req, &a, CG_MEM_STAT, &host_meminfo, &gen, &v);
	if (r < 0)
		return r;
	return out_result(nodememinfo_render(host, &v, out), out);
}

int render_node_cpulist(const struct vfile_req *req, struct buf *out)
{
	int r = single_node(req, arena_of(req));

	return r < 0 ? r : render_cpulist(req, out);
}

/* node0/cpumap: the visible CPUs as a bitmap as wide as the host's (lscpu's "NUMA node0 CPU(s)").
 */
int render_node_cpumap(const struct vfile_req *req, struct buf *out)
{
	struct arena a = arena_of(req);
	struct cpuset vis;
	struct span host;
	int r;

	r = single_node(req, a);
	if (r < 0)
		return r;
	r = vfile_cpudir_visible(req, &vis);
	if (r < 0)
		return r;
	r = arena_read(req, &a, "sys/devices/system/node/node0/cpumap", &host);
	if (r < 0)
		return r;
	return out_result(cpusys_render(CPUSYS_MASK, host, &vis, out), out);
}
