/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Where `cgproc run`'s cgroupfs backend makes its group (see run-cgroup.h). Reads only.
 *
 * Under the caller's own cgroup in each hierarchy (/proc/self/cgroup), not at the root, so that
 * whatever limits the caller (an outer `cgproc run`, a container, a systemd slice) still limit
 * the command; the shim then shows the tighter of the two (limits are walked up the tree).
 * On cgroup2 a cgroup that holds processes cannot hand controllers to children (the "no internal
 * processes" rule of cgroup-v2.rst), so the group goes under the nearest ancestor without
 * processes: for a login shell on a systemd host that is its user slice rather than its session
 * scope. Never above a cgroup that holds processes and sets limits (an outer `cgproc run`): the
 * group is made inside it without controllers, so that its limits keep applying. The
 * caller's cgroup is used when it is visible under the mount; otherwise (another cgroup
 * namespace, a bind mount of a subtree) the mount's root.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cgdirs.h"
#include "run-backend.h"
#include "util.h"

#define MOUNTINFO_MAX (1 << 20) /* hosts with many containers have long mount tables */

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* One read() of a small cgroup file, trailing newline removed. */
int runcg_read(const char *path, char *buf, size_t size)
{
	int n = file_read_str(path, buf, size);

	if (n < 0)
		return n;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = 0;
	return 0;
}

bool runcg_is_cgroup2(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

/* The first cgroup2 mount in this mount namespace ("/sys/fs/cgroup" on v2 hosts,
 * "/sys/fs/cgroup/unified" on hybrid ones), by the core's mountinfo parser. */
int runcg_cgroup2_mount(char *ret, size_t size)
{
	struct cg_mounts *mnt = calloc(1, sizeof(*mnt));
	char *text = malloc(MOUNTINFO_MAX);
	int n = text ? file_read_str("/proc/self/mountinfo", text, MOUNTINFO_MAX) : -ENOMEM;
	int r = n < 0 ? n
		: mnt ? mountinfo_parse_cgroups((struct span){text, (size_t)n}, mnt)
		      : -ENOMEM;

	if (r == 0 && !(mnt->present[CG_UNIFIED] && mnt->v2[CG_UNIFIED]))
		r = -ENOENT;
	if (r == 0 && (size_t)snprintf(ret, size, "/%s", mnt->mount[CG_UNIFIED]) >= size)
		r = -ENAMETOOLONG;
	free(text);
	free(mnt);
	return r;
}

int runcg_pid_cgroup(pid_t pid, enum cg_controller c, char *ret, size_t size)
{
	struct cg_paths paths;
	char path[64], text[4096];
	int n, r;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/cgroup");
	n = file_read_str(path, text, sizeof(text));
	r = n < 0 ? n : proc_cgroup_parse((struct span){text, (size_t)n}, &paths);
	if (r < 0)
		return r;
	if (!paths.present[c])
		return -ENOENT;
	if (strlen(paths.path[c]) >= size)
		return -ENAMETOOLONG;
	strcpy(ret, paths.path[c]);
	return 0;
}

/* Depth-first below @dir (in place, bounded): the cgroup whose cgroup.procs lists @pid. */
static bool find_pid_dir(char *dir, size_t size, pid_t pid, int depth)
{
	size_t len = strlen(dir);
	char procs[600];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	if (cgdirs_lists(procs, pid))
		return true;
	if (depth == 0 || !(d = opendir(dir)))
		return false;
	while (!found && (de = readdir(d)))
		found = de->d_type == DT_DIR && de->d_name[0] != '.' &&
			(size_t)snprintf(dir + len, size - len, "/%s", de->d_name) < size - len &&
			find_pid_dir(dir, size, pid, depth - 1);
	closedir(d);
	if (!found)
		dir[len] = 0;
	return found;
}

/*
 * The directory to make the group in, in the hierarchy of @c mounted at @mount: the caller's
 * cgroup, else the mount's root. Returns the length of the prefix of @ret that is the caller's
 * cgroup-namespace root, which a walk up must not leave.
 * /proc/self/cgroup names the cgroup relative to the caller's cgroup namespace, the mount shows
 * what it was mounted with: after `unshare --cgroup` that kept the parent's mount (its root shows
 * as "/../.." in mountinfo) the two disagree, and the caller's cgroup is found by its pid.
 */
size_t runcg_base_dir(const char *mount, enum cg_controller c, char *ret, size_t size)
{
	char own[CG_PATH_MAX], procs[600];
	bool root;

	if (runcg_pid_cgroup(0, c, own, sizeof(own)) < 0)
		strcpy(own, "/");
	root = strcmp(own, "/") == 0;
	if ((size_t)snprintf(ret, size, "%s%s", mount, root ? "" : own) < size &&
	    (size_t)snprintf(procs, sizeof(procs), "%s/cgroup.procs", ret) < sizeof(procs) &&
	    cgdirs_lists(procs, getpid()))
		return strlen(ret) - (root ? 0 : strlen(own));
	snprintf(ret, size, "%s", mount);
	if (!find_pid_dir(ret, size, getpid(), 16))
		snprintf(ret, size, "%s", mount);
	return strlen(ret) >= strlen(mount) + (root ? 0 : strlen(own))
		       ? strlen(ret) - (root ? 0 : strlen(own))
		       : strlen(mount);
}

/* v2: whether @dir holds processes of its own. Such a cgroup (the root aside) cannot hand a
 * domain controller to a child (the "no internal processes" rule of cgroup-v2.rst), and handing it
 * a threaded one (cpuset, cpu, pids) would make it a threaded root whose new child is "domain
 * invalid", where no process can be moved: neither is tried there. */
static bool v2_has_procs(const char *dir)
{
	char path[600], procs[16];

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	return runcg_read(path, procs, sizeof(procs)) < 0 || procs[0] != 0;
}

/* v2: whether @dir sets a limit of its own that the command's machine shows (memory, swap, CPU
 * quota, CPU set). Not pids.max: systemd gives every service and session scope a TasksMax=, and
 * a session scope is what a login shell's run must be able to leave for its slice. */
static bool v2_limited(const char *dir)
{
	static const char *const files[] = {"memory.max", "memory.high", "memory.swap.max",
					    "cpu.max", "cpuset.cpus"};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[600], val[256];

		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (runcg_read(path, val, sizeof(val)) == 0 && val[0] &&
		    strncmp(val, "max", 3) != 0)
			return true;
	}
	return false;
}

/* v2: whether @dir is a cgroup below the real root: only those have cgroup.type. The real root is
 * exempt from the "no internal processes" rule; a cgroup-namespace root is not. */
static bool v2_below_root(const char *dir)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/cgroup.type", dir);
	return access(path, F_OK) == 0;
}

int runcg_v2_where(const char *mount, char *ret, size_t size)
{
	size_t top = runcg_base_dir(mount, CG_UNIFIED, ret, size);

	while (v2_has_procs(ret) && v2_below_root(ret)) {
		if (strlen(ret) <= top) {
			runcg_verbose(
				"%s, the top of this cgroup namespace or mount, holds processes: "
				"the "
				"group goes there, without controllers of its own",
				ret);
			return RUNCG_BARE_TOP;
		}
		if (v2_limited(ret)) {
			runcg_verbose(
				"%s holds processes and sets limits: the group goes there, without "
				"controllers of its own",
				ret);
			return RUNCG_BARE_LIMITED;
		}
		runcg_verbose("%s holds processes: trying its parent", ret);
		*strrchr(ret, '/') = 0;
	}
	return 0;
}
