/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TEMPORARY: paths of the virtual-file table until cgroupfs/vfile.c lands (no renderers). */
#include <string.h>

#include "vfile.h"

const struct vfile vfile_table[_VFILE_MAX] = {
	[VFILE_PROC_MEMINFO] = {VFILE_PROC_MEMINFO, "/proc/meminfo", "meminfo", 0, NULL},
	[VFILE_PROC_CPUINFO] = {VFILE_PROC_CPUINFO, "/proc/cpuinfo", "cpuinfo", 0, NULL},
	[VFILE_PROC_STAT] = {VFILE_PROC_STAT, "/proc/stat", "stat", 0, NULL},
	[VFILE_PROC_UPTIME] = {VFILE_PROC_UPTIME, "/proc/uptime", "uptime", 0, NULL},
	[VFILE_PROC_LOADAVG] = {VFILE_PROC_LOADAVG, "/proc/loadavg", "loadavg", 0, NULL},
	[VFILE_PROC_SWAPS] = {VFILE_PROC_SWAPS, "/proc/swaps", "swaps", 0, NULL},
	[VFILE_PROC_DISKSTATS] = {VFILE_PROC_DISKSTATS, "/proc/diskstats", "diskstats", 0, NULL},
	[VFILE_PROC_PRESSURE_CPU] = {VFILE_PROC_PRESSURE_CPU, "/proc/pressure/cpu", "pressure-cpu",
				     0, NULL},
	[VFILE_PROC_PRESSURE_MEMORY] = {VFILE_PROC_PRESSURE_MEMORY, "/proc/pressure/memory",
					"pressure-memory", 0, NULL},
	[VFILE_PROC_PRESSURE_IO] = {VFILE_PROC_PRESSURE_IO, "/proc/pressure/io", "pressure-io", 0,
				    NULL},
	[VFILE_SYS_CPU_ONLINE] = {VFILE_SYS_CPU_ONLINE, "/sys/devices/system/cpu/online",
				  "cpu-online", 0, NULL},
	[VFILE_SYS_CPU_POSSIBLE] = {VFILE_SYS_CPU_POSSIBLE, "/sys/devices/system/cpu/possible",
				    "cpu-possible", 0, NULL},
	[VFILE_SYS_CPU_PRESENT] = {VFILE_SYS_CPU_PRESENT, "/sys/devices/system/cpu/present",
				   "cpu-present", 0, NULL},
	[VFILE_PROC_PID_STAT] = {VFILE_PROC_PID_STAT, "/proc/<pid>/stat", "pid-stat",
				 VFILE_PER_PROCESS, NULL},
};

const struct vfile *vfile_lookup(const char *path_or_name)
{
	vfile_foreach (vf) {
		if (strcmp(vf->path, path_or_name) == 0 || strcmp(vf->name, path_or_name) == 0)
			return vf;
	}
	return NULL;
}
