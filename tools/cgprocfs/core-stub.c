/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TEMPORARY stand-in for the core (cgroupfs/vfile.c and source/) so cgprocfs builds and its
 * plumbing can be tested before the core branch lands. Built only when cgroupfs/vfile.c does not
 * exist; deleted when the core is merged. Knows only MemTotal (v1 memory cgroup); every other
 * file is the host's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vfile.h"

static int stub_host(const struct vfile_req *req, const char *path, char *buf, size_t size,
		     size_t *ret_len)
{
	return src_read(req->src, path + 1, buf, size, ret_len);
}

static int stub_copy(const struct vfile_req *req, struct buf *out, const char *path)
{
	size_t len;
	int r = stub_host(req, path, req->scratch, req->scratch_size, &len);

	if (r < 0)
		return r;
	buf_putn(out, req->scratch, len);
	return buf_result(out);
}

static int stub_limit(const struct vfile_req *req, uint64_t *ret)
{
	char b[64];
	size_t len;
	int r = cg_read(req->src, req->machine, CG_MEMORY, "memory.limit_in_bytes", b,
			sizeof(b) - 1, &len);

	if (r < 0)
		return r;
	b[len] = 0;
	return parse_u64_str(b, ret);
}

static int render_generic(const struct vfile_req *req, struct buf *out);
static int render_meminfo(const struct vfile_req *req, struct buf *out)
{
	uint64_t limit, host;
	size_t len;
	struct span rest, line;
	int r = stub_limit(req, &limit);

	if (r < 0)
		return r;
	r = stub_host(req, "/proc/meminfo", req->scratch, req->scratch_size, &len);
	if (r < 0)
		return r;
	rest = (struct span){req->scratch, len};
	if (meminfo_u64(rest, "MemTotal", &host) < 0)
		return -EINVAL;
	if (limit / 1024 > host)
		limit = host * 1024;
	while (line_next(&rest, &line)) {
		if (span_startswith(line, "MemTotal:")) {
			buf_puts(out, "MemTotal:       ");
			buf_put_u64_width(out, limit / 1024, 8);
			buf_puts(out, " kB\n");
		} else {
			buf_putn(out, line.p, line.len);
			buf_putc(out, '\n');
		}
	}
	return buf_result(out);
}

const struct vfile vfile_table[_VFILE_MAX] = {
	{VFILE_PROC_MEMINFO, "/proc/meminfo", "meminfo", 0, render_meminfo},
	{VFILE_PROC_CPUINFO, "/proc/cpuinfo", "cpuinfo", 0, render_generic},
	{VFILE_PROC_STAT, "/proc/stat", "stat", 0, render_generic},
	{VFILE_PROC_UPTIME, "/proc/uptime", "uptime", 0, render_generic},
	{VFILE_PROC_LOADAVG, "/proc/loadavg", "loadavg", 0, render_generic},
	{VFILE_PROC_SWAPS, "/proc/swaps", "swaps", 0, render_generic},
	{VFILE_PROC_DISKSTATS, "/proc/diskstats", "diskstats", 0, render_generic},
	{VFILE_PROC_PRESSURE_CPU, "/proc/pressure/cpu", "pressure/cpu", 0, render_generic},
	{VFILE_PROC_PRESSURE_MEMORY, "/proc/pressure/memory", "pressure/memory", 0, render_generic},
	{VFILE_PROC_PRESSURE_IO, "/proc/pressure/io", "pressure/io", 0, render_generic},
	{VFILE_SYS_CPU_ONLINE, "/sys/devices/system/cpu/online", "cpu/online", 0, render_generic},
	{VFILE_SYS_CPU_POSSIBLE, "/sys/devices/system/cpu/possible", "cpu/possible", 0,
	 render_generic},
	{VFILE_SYS_CPU_PRESENT, "/sys/devices/system/cpu/present", "cpu/present", 0,
	 render_generic},
	{VFILE_PROC_PID_STAT, "/proc/<pid>/stat", "pid-stat", VFILE_PER_PROCESS, render_generic},
};

static int render_generic(const struct vfile_req *req, struct buf *out)
{
	return -ENOSYS; /* vfile_render copies the host file */
}

const struct vfile *vfile_lookup(const char *path_or_name)
{
	vfile_foreach (vf)
		if (strcmp(vf->path, path_or_name) == 0 || strcmp(vf->name, path_or_name) == 0)
			return vf;
	return NULL;
}

int vfile_render(const struct vfile *vf, const struct vfile_req *req, struct buf *out)
{
	int r = vf->render(req, out);

	return r == -ENOSYS ? stub_copy(req, out, vf->path) : r;
}

int vfile_sysinfo(const struct vfile_req *req, struct sysinfo *inout)
{
	uint64_t limit;
	int r = stub_limit(req, &limit);

	if (r < 0)
		return r;
	if (limit / inout->mem_unit < inout->totalram) {
		inout->totalram = limit / inout->mem_unit;
		if (inout->freeram > inout->totalram)
			inout->freeram = inout->totalram / 2;
	}
	return 0;
}

int src_read(const struct cg_src *src, const char *relpath, char *buf, size_t size, size_t *ret_len)
{
	ssize_t n;
	int fd = openat(src->rootfd, relpath, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? -ENODATA : -errno;
	n = read(fd, buf, size);
	close(fd);
	if (n < 0)
		return -errno;
	if ((size_t)n == size)
		return -ENOBUFS;
	*ret_len = (size_t)n;
	return 0;
}

int cg_machine_find(const struct cg_src *src, pid_t pid, const char *override,
		    struct cg_machine *ret)
{
	char path[64], text[4096];
	size_t len;
	struct span rest, line;
	int r;

	snprintf(path, sizeof(path), "proc/%d/cgroup", (int)pid);
	r = src_read(src, path, text, sizeof(text), &len);
	if (r < 0)
		return r;
	memset(ret, 0, sizeof(*ret));
	rest = (struct span){text, len};
	while (line_next(&rest, &line)) {
		const char *p = memchr(line.p, ':', line.len);

		if (p && line.len - (size_t)(p - line.p) > 8 && memcmp(p, ":memory:", 8) == 0) {
			size_t n = line.len - (size_t)(p + 8 - line.p);

			if (n >= CG_PATH_MAX)
				return -ENAMETOOLONG;
			memcpy(ret->paths.path[CG_MEMORY], p + 8, n);
			ret->paths.present[CG_MEMORY] = true;
		}
	}
	ret->rule = 4;
	return ret->paths.present[CG_MEMORY] ? 0 : -ENODATA;
}

int cg_read(const struct cg_src *src, const struct cg_machine *m, enum cg_controller c,
	    const char *file, char *buf, size_t size, size_t *ret_len)
{
	char path[CG_PATH_MAX + 128];

	snprintf(path, sizeof(path), "sys/fs/cgroup/memory%s/%s", m->paths.path[c], file);
	return src_read(src, path, buf, size, ret_len);
}

void config_defaults(struct cgproc_config *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->enabled = true;
	ret->files = ~0ULL;
	snprintf(ret->rundir, sizeof(ret->rundir), "%s", CGPROC_RUNDIR_DEFAULT);
}

int config_apply_text(struct cgproc_config *cfg, struct span text)
{
	return 0;
}
