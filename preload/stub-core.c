/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TEMPORARY stand-in for cgroupfs/vfile.c and source/ until the core lands (built only while
 * cgroupfs/vfile.c does not exist). Fixed content shaped like a 512 MiB / 1 CPU machine, so the
 * shim's interposition mechanics can be tested on their own. Deleted once the core is merged.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vfile.h"

static int stub_render(const struct vfile_req *req, struct buf *out);

const struct vfile vfile_table[_VFILE_MAX] = {
	{VFILE_PROC_MEMINFO, "/proc/meminfo", "meminfo", 0, stub_render},
	{VFILE_PROC_CPUINFO, "/proc/cpuinfo", "cpuinfo", 0, stub_render},
	{VFILE_PROC_STAT, "/proc/stat", "stat", 0, stub_render},
	{VFILE_PROC_UPTIME, "/proc/uptime", "uptime", 0, stub_render},
	{VFILE_PROC_LOADAVG, "/proc/loadavg", "loadavg", 0, stub_render},
	{VFILE_PROC_SWAPS, "/proc/swaps", "swaps", 0, stub_render},
	{VFILE_PROC_DISKSTATS, "/proc/diskstats", "diskstats", 0, stub_render},
	{VFILE_PROC_PRESSURE_CPU, "/proc/pressure/cpu", "pressure/cpu", 0, stub_render},
	{VFILE_PROC_PRESSURE_MEMORY, "/proc/pressure/memory", "pressure/memory", 0, stub_render},
	{VFILE_PROC_PRESSURE_IO, "/proc/pressure/io", "pressure/io", 0, stub_render},
	{VFILE_SYS_CPU_ONLINE, "/sys/devices/system/cpu/online", "online", 0, stub_render},
	{VFILE_SYS_CPU_POSSIBLE, "/sys/devices/system/cpu/possible", "possible", 0, stub_render},
	{VFILE_SYS_CPU_PRESENT, "/sys/devices/system/cpu/present", "present", 0, stub_render},
	{VFILE_PROC_PID_STAT, "/proc/<pid>/stat", "pid-stat", VFILE_PER_PROCESS, stub_render},
};

const struct vfile *vfile_lookup(const char *path_or_name)
{
	vfile_foreach (vf) {
		if (strcmp(vf->path, path_or_name) == 0 || strcmp(vf->name, path_or_name) == 0)
			return vf;
	}
	return NULL;
}

static int stub_render_id(enum vfile_id id, const struct vfile_req *req, struct buf *out);

int vfile_render(const struct vfile *vf, const struct vfile_req *req, struct buf *out)
{
	return stub_render_id(vf->id, req, out);
}

static int stub_render(const struct vfile_req *req, struct buf *out)
{
	return -EOPNOTSUPP;
}

static int stub_render_id(enum vfile_id id, const struct vfile_req *req, struct buf *out)
{
	struct timespec ts;

	switch (id) {
	case VFILE_PROC_MEMINFO: {
		/* "usage" = this process's resident set, from proc/self/statm */
		uint64_t rss_kb = 0;
		char statm[256];
		ssize_t n;
		int fd = openat(req->src->rootfd, "proc/self/statm", O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			n = read(fd, statm, sizeof(statm) - 1);
			close(fd);
			if (n > 0) {
				const char *p = memchr(statm, ' ', (size_t)n);
				statm[n] = '\0';
				for (p = p ? p + 1 : statm; *p >= '0' && *p <= '9'; p++)
					rss_kb = rss_kb * 10 + (uint64_t)(*p - '0');
				rss_kb *= 4;
			}
		}
		buf_puts(out, "MemTotal:         524288 kB\nMemFree:          ");
		buf_put_u64(out, rss_kb < 524288 ? 524288 - rss_kb : 0);
		buf_puts(out, " kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n");
		break;
	}
	case VFILE_PROC_UPTIME:
		clock_gettime(CLOCK_MONOTONIC, &ts);
		buf_put_centi(out, (uint64_t)ts.tv_sec * 100 + (uint64_t)ts.tv_nsec / 10000000);
		buf_puts(out, " 0.00\n");
		break;
	case VFILE_SYS_CPU_ONLINE:
	case VFILE_SYS_CPU_POSSIBLE:
	case VFILE_SYS_CPU_PRESENT:
		buf_puts(out, "0\n");
		break;
	default:
		return -EOPNOTSUPP;
	}
	return buf_result(out);
}

int vfile_sysinfo(const struct vfile_req *req, struct sysinfo *inout)
{
	unsigned unit = inout->mem_unit ? inout->mem_unit : 1;

	inout->totalram = (512UL << 20) / unit;
	inout->freeram = (256UL << 20) / unit;
	return 0;
}

int vfile_nprocs(const struct vfile_req *req, bool conf, unsigned *ret)
{
	*ret = 1;
	return 0;
}

int vfile_loadavg(const struct vfile_req *req, double ret[3])
{
	ret[0] = 0.25;
	ret[1] = 0.5;
	ret[2] = 0.75;
	return 0;
}

/* Reads /proc/self/cgroup through the root fd (libc openat: the shim's re-entrancy path). */
int cg_machine_find(const struct cg_src *src, pid_t pid, const char *override,
		    struct cg_machine *ret)
{
	char buf[4096];
	ssize_t n;
	int fd;

	if (override && override[0]) {
		char path[600] = "sys/fs/cgroup/memory";

		strncat(path, override, sizeof(path) - strlen(path) - 1);
		if (faccessat(src->rootfd, path, F_OK, 0) < 0)
			return -ENODATA;
	}
	fd = openat(src->rootfd, "proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0)
		return -ENODATA;
	memset(ret, 0, sizeof(*ret));
	ret->rule = 4;
	return 0;
}
