/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Uptime of a machine cgroup: the host's uptime minus the boot-relative start time of the
 * machine's first process. That process is the pid-namespace init when there is one
 * (cg_machine.init_pid), else the oldest process anywhere in the machine cgroup's subtree of one
 * hierarchy, found by a bounded walk of cgroup.procs (pids as the reader's /proc names them).
 *
 * cgroup.procs lists can be long; they are read in chunks (an exception to the one-read rule:
 * a pid list that changes under us only changes which pid is oldest, not a value we print).
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdalign.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../model/macro.h"
#include "internal.h"
#include "source.h"

struct walk {
	const struct cg_src *src;
	unsigned dirs, pids;
	uint64_t oldest; /* smallest starttime seen, clock ticks after boot */
	bool found;
};

static int pid_starttime(const struct cg_src *src, pid_t pid, uint64_t *ret)
{
	char dir[32], path[48], text[1024];
	size_t len;
	int r;

	r = procdir_name(pid, dir, sizeof(dir));
	if (r < 0)
		return r;
	r = path_join(path, sizeof(path), dir, "stat", NULL);
	if (r < 0)
		return r;
	r = src_read(src, path, text, sizeof(text), &len);
	if (r < 0)
		return r;
	return pidstat_starttime((struct span){text, len}, ret);
}

static void walk_pid(struct walk *w, struct span word)
{
	uint64_t v, start;

	if (parse_u64(word, &v) < 0 || v == 0 || v > INT32_MAX)
		return; /* pid 0: a process outside the reader's pid namespace */
	w->pids++;
	if (pid_starttime(w->src, (pid_t)v, &start) < 0)
		return; /* exited meanwhile */
	if (!w->found || start < w->oldest) {
		w->oldest = start;
		w->found = true;
	}
}

/* Not inlined into the recursive walk_dir(): its buffer is on the stack once, not per level. */
static __attribute__((noinline)) void walk_procs(struct walk *w, int dirfd)
{
	char text[1024]; /* read in chunks: any size works, whole lines are kept across reads */
	size_t keep = 0;
	int fd;

	fd = src_sys_openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return;
	while (w->pids < WALK_MAX_PIDS) {
		ssize_t n = src_sys_read(fd, text + keep, sizeof(text) - keep);
		struct span rest, line;
		size_t end;

		if (n == -EINTR)
			continue;
		if (n <= 0)
			break;
		end = keep + (size_t)n;
		/* Only whole lines; a partial last line waits for the next chunk. */
		rest = (struct span){text, end};
		while (rest.len > 0 && memchr(rest.p, '\n', rest.len) && line_next(&rest, &line))
			walk_pid(w, line);
		keep = rest.len;
		if (keep == sizeof(text))
			break; /* a line longer than the buffer: garbage */
		memmove(text, rest.p, keep);
	}
	if (keep > 0 && keep < sizeof(text))
		walk_pid(w, (struct span){text, keep});
	src_sys_close(fd);
}

static void walk_dir(struct walk *w, int dirfd, unsigned depth)
{
	alignas(8) char dents[1024];
	struct src_dir dir = {dirfd, dents, sizeof(dents), 0, 0};
	const struct src_dirent64 *d;

	w->dirs++;
	walk_procs(w, dirfd);
	if (depth >= WALK_MAX_DEPTH)
		return;
	while ((d = src_dir_next(&dir))) {
		int sub;

		if (d->type != DT_DIR || d->name[0] == '.')
			continue;
		if (w->dirs >= WALK_MAX_DIRS || w->pids >= WALK_MAX_PIDS)
			return;
		sub = src_sys_openat(dirfd, d->name,
				     O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (sub < 0)
			continue;
		walk_dir(w, sub, depth + 1);
		src_sys_close(sub);
	}
}

/* The hierarchy whose machine path is the most specific says most about the machine. */
static int walk_controller(const struct cg_machine *m)
{
	static const enum cg_controller order[] = {CG_MEMORY, CG_PIDS, CG_CPU,	  CG_CPUACCT,
						   CG_CPUSET, CG_IO,   CG_UNIFIED};
	int best = -1;
	size_t best_len = 0;

	for (unsigned i = 0; i < ARRAY_SIZE(order); i++) {
		enum cg_controller c = order[i];
		size_t len;

		if (!cg_machine_has(m, c))
			continue;
		len = strlen(cg_machine_path(m, c));
		if (best < 0 || len > best_len) {
			best = (int)c;
			best_len = len;
		}
	}
	return best;
}

static int machine_start(const struct cg_src *src, const struct cg_machine *m, bool *ret_host,
			 uint64_t *ret_ticks)
{
	char path[CG_PATH_MAX * 2 + 64];
	struct walk w = {.src = src};
	int c, fd, r;

	if (m->start_known) {
		*ret_host = m->start_is_host;
		*ret_ticks = m->start_ticks;
		return 0;
	}
	if (m->init_pid > 0) {
		*ret_host = false;
		return pid_starttime(src, m->init_pid, ret_ticks);
	}
	c = walk_controller(m);
	if (c < 0)
		return -ENODATA;
	/* The host's own root cgroup is the host: its uptime is the host's. */
	if (!m->cgroupns && strcmp(cg_machine_path(m, c), "/") == 0 &&
	    strcmp(cg_machine_root(m, c), "/") == 0) {
		*ret_host = true;
		return 0;
	}
	r = cg_path_at(cg_machine_mount(m, c), cg_machine_root(m, c), cg_machine_path(m, c), NULL,
		       path, sizeof(path));
	if (r < 0)
		return r == -EXDEV ? -ENODATA : r;
	fd = src_open_beneath(src, path, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return fd == -ENOENT || fd == -ENOTDIR ? -ENODATA : fd;
	walk_dir(&w, fd, 0);
	src_sys_close(fd);
	if (!w.found)
		return -ENODATA;
	*ret_host = false;
	*ret_ticks = w.oldest;
	return 0;
}

int cg_machine_resolve_start(const struct cg_src *src, struct cg_machine *m)
{
	uint64_t ticks = 0;
	bool host = false;
	int r;

	if (!src || !m)
		return -EINVAL;
	m->start_known = false;
	r = machine_start(src, m, &host, &ticks);
	if (r < 0)
		return r;
	m->start_ticks = ticks;
	m->start_is_host = host;
	m->start_known = true;
	return 0;
}

int cg_read_uptime(const struct cg_src *src, const struct cg_machine *m, uint64_t *ret_uptime_cs,
		   uint64_t *ret_host_uptime_cs)
{
	uint64_t host_cs, start_ticks = 0, start_cs, up;
	struct timespec ts;
	char text[256];
	bool host = false;
	size_t len;
	int r;

	if (!src || !m || !ret_uptime_cs || !ret_host_uptime_cs || src->ticks_per_sec == 0)
		return -EINVAL;
	if (src->clock_live && clock_gettime(CLOCK_BOOTTIME, &ts) == 0) {
		/* fs/proc/uptime.c: boottime (time-namespace offset included, as the vDSO's),
		 * truncated to hundredths */
		host_cs = (uint64_t)ts.tv_sec * 100 + (uint64_t)ts.tv_nsec / 10000000;
	} else {
		r = src_read(src, "proc/uptime", text, sizeof(text), &len);
		if (r < 0)
			return r;
		r = uptime_parse_cs((struct span){text, len}, &host_cs);
		if (r < 0)
			return r;
	}
	r = machine_start(src, m, &host, &start_ticks);
	if (r < 0)
		return r;
	if (host) {
		up = host_cs;
	} else {
		start_cs = start_ticks / src->ticks_per_sec * 100 +
			   start_ticks % src->ticks_per_sec * 100 / src->ticks_per_sec;
		up = sat_sub(host_cs, start_cs); /* never negative, never above the host */
	}
	*ret_uptime_cs = up;
	*ret_host_uptime_cs = host_cs;
	return 0;
}
