/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * THE table of virtual files (see vfile.h and DESIGN.md "The virtual files"): one row per file
 * with its id, path, short name, policy flags and renderer (render.c), and everything that is
 * derived from it: lookup by path or name, the per-process path match, "files=" resolution and
 * the render dispatch. No allocation, no logging, no globals but the const table.
 */
#include <errno.h>
#include <string.h>

#include "model/proc.h"
#include "render.h"
#include "vfile.h"

const struct vfile vfile_table[_VFILE_MAX] = {
	[VFILE_PROC_MEMINFO] = {VFILE_PROC_MEMINFO, "/proc/meminfo", "meminfo", VFILE_USAGE,
				render_meminfo},
	[VFILE_PROC_CPUINFO] = {VFILE_PROC_CPUINFO, "/proc/cpuinfo", "cpuinfo", 0, render_cpuinfo},
	[VFILE_PROC_STAT] = {VFILE_PROC_STAT, "/proc/stat", "stat", 0, render_stat},
	[VFILE_PROC_UPTIME] = {VFILE_PROC_UPTIME, "/proc/uptime", "uptime", 0, render_uptime},
	[VFILE_PROC_LOADAVG] = {VFILE_PROC_LOADAVG, "/proc/loadavg", "loadavg", 0, render_loadavg},
	[VFILE_PROC_SWAPS] = {VFILE_PROC_SWAPS, "/proc/swaps", "swaps", VFILE_USAGE, render_swaps},
	[VFILE_PROC_DISKSTATS] = {VFILE_PROC_DISKSTATS, "/proc/diskstats", "diskstats", 0,
				  render_diskstats},
	[VFILE_PROC_PRESSURE_CPU] = {VFILE_PROC_PRESSURE_CPU, "/proc/pressure/cpu", "pressure-cpu",
				     0, render_pressure_cpu},
	[VFILE_PROC_PRESSURE_MEMORY] = {VFILE_PROC_PRESSURE_MEMORY, "/proc/pressure/memory",
					"pressure-memory", 0, render_pressure_memory},
	[VFILE_PROC_PRESSURE_IO] = {VFILE_PROC_PRESSURE_IO, "/proc/pressure/io", "pressure-io", 0,
				    render_pressure_io},
	[VFILE_SYS_CPU_ONLINE] = {VFILE_SYS_CPU_ONLINE, "/sys/devices/system/cpu/online",
				  "cpu-online", 0, render_cpulist},
	[VFILE_SYS_CPU_POSSIBLE] = {VFILE_SYS_CPU_POSSIBLE, "/sys/devices/system/cpu/possible",
				    "cpu-possible", 0, render_cpulist},
	[VFILE_SYS_CPU_PRESENT] = {VFILE_SYS_CPU_PRESENT, "/sys/devices/system/cpu/present",
				   "cpu-present", 0, render_cpulist},
	[VFILE_PROC_PID_STAT] = {VFILE_PROC_PID_STAT, "/proc/<pid>/stat", "pid-stat",
				 VFILE_PER_PROCESS, render_pid_stat},
};

int vfile_config_resolve(struct cgproc_config *cfg)
{
	const char *names[_VFILE_MAX];

	vfile_foreach (vf)
		names[vf - vfile_table] = vf->name;
	return config_files_resolve(cfg, names, _VFILE_MAX);
}

const struct vfile *vfile_lookup(const char *path_or_name)
{
	if (!path_or_name)
		return NULL;
	vfile_foreach (vf) {
		if (strcmp(vf->path, path_or_name) == 0 || strcmp(vf->name, path_or_name) == 0)
			return vf;
	}
	return NULL;
}

const struct vfile *vfile_match(const char *path, pid_t *ret_pid, pid_t *ret_tid)
{
	const struct vfile *vf = vfile_lookup(path);
	const char *p;
	pid_t pid = 0, tid = 0;

	if (vf && !(vf->flags & VFILE_PER_PROCESS))
		return vf;
	if (!path || strncmp(path, "/proc/", 6) != 0)
		return NULL;
	p = path + 6;
	if (strncmp(p, "self/", 5) == 0) {
		p += 4;
	} else if (!pid_parse(&p, &pid)) {
		return NULL;
	}
	if (strncmp(p, "/task/", 6) == 0) {
		p += 6;
		if (!pid_parse(&p, &tid))
			return NULL;
	}
	if (strcmp(p, "/stat") != 0)
		return NULL;
	if (ret_pid)
		*ret_pid = pid;
	if (ret_tid)
		*ret_tid = tid;
	return &vfile_table[VFILE_PROC_PID_STAT];
}

int vfile_render(const struct vfile *vf, const struct vfile_req *req, struct buf *out)
{
	if (!vf || !req || !req->src || !req->machine || !out || (unsigned)vf->id >= _VFILE_MAX)
		return -EINVAL;
	if (!vfile_enabled(req->config, vf->id))
		return -ENODATA;
	if (req->key)
		req->key->n = 0; /* the renderers that know their key set it */
	return vf->render(req, out);
}
