/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The transient cgroup of `cgproc run` (see run-cgroup.h).
 *
 * libcgroup does the work where it can: it finds the hierarchy of each controller (v1, v2 or
 * hybrid), creates the group in all of them, writes the limits in the order they were added,
 * attaches the command and deletes the group. Two things it cannot do on its own (libcgroup
 * 2.0.2, checked on a hybrid host), done here with plain mkdir/write:
 *  - a group in the cgroup2 hierarchy when that hierarchy holds none of the controllers we use.
 *    libcgroup addresses a hierarchy only through a controller mounted on it, and on a hybrid
 *    host the unified hierarchy typically has none of ours (here: only hugetlb). The command
 *    still gets its own v2 group there, so its pressure files (/proc/pressure/...) are its own.
 *  - finding out up front whether a v2 controller can be enabled in the parent's
 *    cgroup.subtree_control. cgroup_create_cgroup() enables it itself, but a failure there fails
 *    the whole group; enabling it first lets an optional controller (io, pids) be left out.
 * Killing what is left uses cgroup.kill where v2 has it, else SIGKILL through pidfds taken from
 * cgroup.procs, so that a pid reused by an unrelated process is never signalled.
 *
 * Where: under the caller's own cgroup in each hierarchy (/proc/self/cgroup), not at the root, so
 * that whatever limits the caller (an outer `cgproc run`, a container, a systemd slice) still
 * limit the command; the shim then shows the tighter of the two (limits are walked up the tree).
 * On cgroup2 a cgroup that holds processes cannot hand controllers to children (the "no internal
 * processes" rule of cgroup-v2.rst), so the group goes under the nearest ancestor without
 * processes: for a login shell on a systemd host that is its user slice rather than its session
 * scope. Never above a cgroup that holds processes and sets limits (an outer `cgproc run`): the
 * group is made inside it without controllers, so that its limits keep applying. The
 * caller's cgroup is used when it is visible under the mount; otherwise (another cgroup
 * namespace, a bind mount of a subtree) the mount's root, as before.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libcgroup.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "model/cgpath.h"
#include "run-cgroup.h"
#include "util.h"

#define MOUNTINFO_MAX (1 << 20) /* hosts with many containers have long mount tables */

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static bool log_verbose;

static void err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("cgproc run: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void verbose(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	fputs("cgproc run: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* libcgroup logs to stdout by default, which is the command's output: send it to stderr. */
static void libcgroup_log(void *userdata, int level, const char *fmt, va_list ap)
{
	fputs("cgproc run: libcgroup: ", stderr);
	vfprintf(stderr, fmt, ap);
}

/* One read() of a small cgroup file, trailing newline removed. */
static int read_file(const char *path, char *buf, size_t size)
{
	int n = file_read_str(path, buf, size);

	if (n < 0)
		return n;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = 0;
	return 0;
}

static bool is_cgroup2(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

/* The first cgroup2 mount in this mount namespace ("/sys/fs/cgroup" on v2 hosts,
 * "/sys/fs/cgroup/unified" on hybrid ones), by the core's mountinfo parser. */
static int cgroup2_mount(char *ret, size_t size)
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

/* Whether @word is one of the @sep-separated words of @list. */
static bool word_in(const char *list, const char *word, char sep)
{
	size_t len = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += len)
		if ((p == list || p[-1] == sep) && (p[len] == 0 || p[len] == sep))
			return true;
	return false;
}

/* The caller's cgroup ("/" or "/a/b") in the hierarchy of @c (CG_UNIFIED: the cgroup2 one), by
 * the core's parser of /proc/self/cgroup. */
static int own_cgroup(enum cg_controller c, char *ret, size_t size)
{
	struct cg_paths paths;
	char text[4096];
	int n = file_read_str("/proc/self/cgroup", text, sizeof(text));
	int r = n < 0 ? n : proc_cgroup_parse((struct span){text, (size_t)n}, &paths);

	if (r < 0)
		return r;
	if (!paths.present[c])
		return -ENOENT;
	if (strlen(paths.path[c]) >= size)
		return -ENAMETOOLONG;
	strcpy(ret, paths.path[c]);
	return 0;
}

static bool pid_listed(const char *procs, pid_t pid);

/* Depth-first below @dir (in place, bounded): the cgroup whose cgroup.procs lists @pid. */
static bool find_pid_dir(char *dir, size_t size, pid_t pid, int depth)
{
	size_t len = strlen(dir);
	char procs[600];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	if (pid_listed(procs, pid))
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
static size_t base_dir(const char *mount, enum cg_controller c, char *ret, size_t size)
{
	char own[CG_PATH_MAX], procs[600];
	bool root;

	if (own_cgroup(c, own, sizeof(own)) < 0)
		strcpy(own, "/");
	root = strcmp(own, "/") == 0;
	if ((size_t)snprintf(ret, size, "%s%s", mount, root ? "" : own) < size &&
	    (size_t)snprintf(procs, sizeof(procs), "%s/cgroup.procs", ret) < sizeof(procs) &&
	    pid_listed(procs, getpid()))
		return strlen(ret) - (root ? 0 : strlen(own));
	snprintf(ret, size, "%s", mount);
	if (!find_pid_dir(ret, size, getpid(), 16))
		snprintf(ret, size, "%s", mount);
	return strlen(ret) >= strlen(mount) + (root ? 0 : strlen(own))
		       ? strlen(ret) - (root ? 0 : strlen(own))
		       : strlen(mount);
}

/* v2: a child of @mount only gets @ctl's files once the parent delegates it. */
static int v2_enable(const char *mount, const char *ctl)
{
	char path[600], val[1024], plus[64];
	int r;

	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", mount);
	r = read_file(path, val, sizeof(val));
	if (r < 0)
		return r;
	if (word_in(val, ctl, ' '))
		return 0;
	snprintf(plus, sizeof(plus), "+%s", ctl);
	r = file_write_str(path, plus);
	if (r == 0)
		verbose("enabled %s in %s", ctl, path);
	return r;
}

/* Remove "cgproc-run-<pid>" groups of cgproc processes that no longer exist (killed with SIGKILL,
 * so they could not clean up). Only empty groups go: rmdir(2) refuses anything else. */
static void sweep_stale(const char *mount)
{
	DIR *d = opendir(mount);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char dir[600], rest;
		int pid;

		if (sscanf(de->d_name, "cgproc-run-%d%c", &pid, &rest) != 1 || pid <= 0)
			continue;
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", mount, de->d_name);
		if (rmdir(dir) == 0)
			verbose("removed stale %s", dir);
	}
	closedir(d);
}

/* Record the directory of @name under @parent once (co-mounted controllers share one). */
static int dir_add(struct runcg *cg, const char *parent, bool manual)
{
	char dir[512];

	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", parent, cg->name) >= sizeof(dir))
		return -ENAMETOOLONG;
	for (int i = 0; i < cg->n; i++)
		if (strcmp(cg->dir[i], dir) == 0)
			return 0;
	if (cg->n >= RUNCG_MAX_DIRS)
		return -E2BIG;
	if (access(dir, F_OK) == 0) {
		err("cgroup %s already exists (not ours: choose another --name)", dir);
		return -EEXIST;
	}
	strcpy(cg->dir[cg->n], dir);
	cg->manual[cg->n] = manual;
	cg->n++;
	return 0;
}

static int add_u64(struct cgroup_controller *ctl, const char *file, uint64_t v)
{
	int r = cgroup_add_value_uint64(ctl, file, v);

	verbose("set %s = %llu", file, (unsigned long long)v);
	return r ? -ENOMEM : 0;
}

static int add_str(struct cgroup_controller *ctl, const char *file, const char *v)
{
	int r = cgroup_add_value_string(ctl, file, v);

	verbose("set %s = %s", file, v);
	return r ? -ENOMEM : 0;
}

static int limits_memory(struct cgroup_controller *ctl, const char *parent, bool v2,
			 const struct runcg_limits *lim)
{
	char path[600];
	int r;

	if (!lim->memory)
		return 0;
	if (v2) {
		r = add_u64(ctl, "memory.max", lim->memory);
		if (r == 0 && lim->has_swap)
			r = add_u64(ctl, "memory.swap.max", lim->swap);
		return r;
	}
	/* v1 memsw counts memory + swap and must stay >= the memory limit: written second. */
	r = add_u64(ctl, "memory.limit_in_bytes", lim->memory);
	if (r < 0 || !lim->has_swap)
		return r;
	snprintf(path, sizeof(path), "%s/memory.memsw.limit_in_bytes", parent);
	if (access(path, F_OK) != 0) {
		err("--swap: swap accounting is off on this host (no %s; boot with swapaccount=1)",
		    path);
		return -EOPNOTSUPP;
	}
	if (lim->swap > UINT64_MAX - lim->memory)
		return -ERANGE;
	return add_u64(ctl, "memory.memsw.limit_in_bytes", lim->memory + lim->swap);
}

static int limits_cpuset(struct cgroup_controller *ctl, const char *parent, bool v2,
			 const struct runcg_limits *lim)
{
	char path[600], cpus[4096], mems[4096];
	int r;

	if (v2)
		return lim->cpus ? add_str(ctl, "cpuset.cpus", lim->cpus) : 0;
	/* v1: a task can only join a cpuset whose cpus and mems are both set; nothing is
	 * inherited unless cgroup.clone_children is on, so copy the parent's. */
	snprintf(path, sizeof(path), "%s/cpuset.cpus", parent);
	r = read_file(path, cpus, sizeof(cpus));
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/cpuset.mems", parent);
	r = read_file(path, mems, sizeof(mems));
	if (r < 0)
		return r;
	r = add_str(ctl, "cpuset.cpus", lim->cpus ? lim->cpus : cpus);
	if (r == 0)
		r = add_str(ctl, "cpuset.mems", mems);
	return r;
}

static int limits_cpu(struct cgroup_controller *ctl, bool v2, const struct runcg_limits *lim)
{
	char max[64];
	int r;

	if (!lim->quota_us)
		return 0;
	if (v2) {
		snprintf(max, sizeof(max), "%llu %llu", (unsigned long long)lim->quota_us,
			 (unsigned long long)lim->period_us);
		return add_str(ctl, "cpu.max", max);
	}
	/* v1: period first, so that the quota is checked against the period it is meant for. */
	r = add_u64(ctl, "cpu.cfs_period_us", lim->period_us);
	if (r == 0)
		r = add_u64(ctl, "cpu.cfs_quota_us", lim->quota_us);
	return r;
}

enum {
	NEED_MEMORY = 1,
	NEED_CPUSET = 2,
	NEED_CPU = 4
};

/* The controllers whose files make up the command's machine: memory, CPUs and quota, CPU time
 * (cpuacct on v1), disk statistics (blkio / io) and tasks (pids). */
static const struct {
	const char *name;
	enum cg_controller id;
	unsigned need;
	const char *option;
} controllers[] = {
	{"memory", CG_MEMORY, NEED_MEMORY, "--memory"},
	{"cpuset", CG_CPUSET, NEED_CPUSET, "--cpus"},
	{"cpu", CG_CPU, NEED_CPU, "--cpu-quota"},
	{"cpuacct", CG_CPUACCT, 0, NULL},
	{"blkio", CG_IO, 0, NULL},
	{"io", CG_IO, 0, NULL},
	{"pids", CG_PIDS, 0, NULL},
};

/* The libcgroup group for @parent (a directory under @mount): one per distinct path. */
static struct cgroup *group_for(struct runcg *cg, const char *mount, const char *parent)
{
	char rel[512];
	int k;

	if ((size_t)snprintf(rel, sizeof(rel), "%s/%s", parent + strlen(mount), cg->name) >=
	    sizeof(rel))
		return NULL;
	for (k = 0; k < cg->ngroups; k++)
		if (strcmp(cg->rel[k], rel) == 0)
			return cg->lcg[k];
	if (k >= RUNCG_MAX_GROUPS)
		return NULL;
	cg->lcg[k] = cgroup_new_cgroup(rel);
	if (!cg->lcg[k])
		return NULL;
	strcpy(cg->rel[k], rel);
	cg->ngroups++;
	return cg->lcg[k];
}

/* v2: whether @dir holds processes of its own. Such a cgroup (the root aside) cannot hand a
 * domain controller to a child (the "no internal processes" rule of cgroup-v2.rst), and handing it
 * a threaded one (cpuset, cpu, pids) would make it a threaded root whose new child is "domain
 * invalid", where no process can be moved: neither is tried there. */
static bool v2_has_procs(const char *dir)
{
	char path[600], procs[16];

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	return read_file(path, procs, sizeof(procs)) < 0 || procs[0] != 0;
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
		if (read_file(path, val, sizeof(val)) == 0 && val[0] && strncmp(val, "max", 3) != 0)
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
	size_t top = base_dir(mount, CG_UNIFIED, ret, size);

	while (v2_has_procs(ret) && v2_below_root(ret)) {
		if (strlen(ret) <= top) {
			verbose("%s, the top of this cgroup namespace or mount, holds processes: "
				"the "
				"group goes there, without controllers of its own",
				ret);
			return RUNCG_BARE_TOP;
		}
		if (v2_limited(ret)) {
			verbose("%s holds processes and sets limits: the group goes there, without "
				"controllers of its own",
				ret);
			return RUNCG_BARE_LIMITED;
		}
		verbose("%s holds processes: trying its parent", ret);
		*strrchr(ret, '/') = 0;
	}
	return 0;
}

/* cgroup2: runcg_v2_where() for the mount that holds our v2 controllers, with the controllers
 * in @need handed down unless the group is bare. Empty when no controller lives on cgroup2. */
static int v2_parent(unsigned need, char *ret, size_t size, bool *ret_bare)
{
	char *mount = NULL;
	size_t failed = 0;
	int r = 0;

	ret[0] = 0;
	*ret_bare = false;
	for (size_t i = 0; i < sizeof(controllers) / sizeof(controllers[0]) && !mount; i++) {
		if (cgroup_get_subsys_mount_point(controllers[i].name, &mount) == 0 && mount &&
		    !is_cgroup2(mount)) {
			free(mount);
			mount = NULL;
		}
	}
	if (!mount)
		return 0;
	*ret_bare = runcg_v2_where(mount, ret, size) != 0;
	for (size_t i = 0; i < sizeof(controllers) / sizeof(controllers[0]) && r == 0 && !*ret_bare;
	     i++) {
		char *m = NULL;

		if (!(need & controllers[i].need) ||
		    cgroup_get_subsys_mount_point(controllers[i].name, &m) != 0 || !m)
			continue;
		if (strcmp(m, mount) == 0) {
			r = v2_enable(ret, controllers[i].name);
			failed = i;
		}
		free(m);
	}
	if (r < 0)
		err("%s: cannot enable the %s controller in %s/cgroup.subtree_control: %s",
		    controllers[failed].option, controllers[failed].name, ret, strerror(-r));
	free(mount);
	return r;
}

/* v2, a group without controllers under @dir (v2_parent's *ret_bare): a limit cannot be set on it,
 * only inherited. A memory limit no tighter than the one in force is met already; anything else
 * is refused rather than silently ignored. */
static int v2_bare_check(const char *dir, size_t i, const struct runcg_limits *lim)
{
	char path[600], val[64];

	if (strcmp(controllers[i].name, "memory") == 0) {
		snprintf(path, sizeof(path), "%s/memory.max", dir);
		if (read_file(path, val, sizeof(val)) == 0 && strcmp(val, "max") != 0 &&
		    strtoull(val, NULL, 10) <= lim->memory && !lim->has_swap) {
			verbose("--memory: %s already limits the command to %s bytes", dir, val);
			return 0;
		}
	}
	err("%s: %s holds processes, so it cannot hand the %s controller to a new group; "
	    "move its processes into a child cgroup (or run cgproc from a cgroup without "
	    "processes of its own), or ask for no tighter limit than it has",
	    controllers[i].option, dir, controllers[i].name);
	return -EBUSY;
}

/* Add controllers[@i] with its limits to the group, or skip it when it is not mounted and not
 * @need'ed. @v2dir: where cgroup2 controllers go (v2_parent). */
static int controller_add(struct runcg *cg, size_t i, unsigned need, const struct runcg_limits *lim,
			  const char *v2dir, bool v2bare, bool *have_v2)
{
	const char *c = controllers[i].name;
	bool needed = need & controllers[i].need;
	struct cgroup_controller *ctl;
	struct cgroup *lcg;
	char *mount = NULL, parent[512];
	bool v2;
	int r;

	if (cgroup_get_subsys_mount_point(c, &mount) != 0 || !mount) {
		if (!needed)
			return 0;
		err("%s: the %s controller is not available on this host", controllers[i].option,
		    c);
		return -EOPNOTSUPP;
	}
	v2 = is_cgroup2(mount);
	if (v2 && v2bare) {
		/* the group is made by hand, with the hybrid case's code in runcg_create */
		r = needed ? v2_bare_check(v2dir, i, lim) : 0;
		goto out;
	}
	if (v2)
		snprintf(parent, sizeof(parent), "%s", v2dir[0] ? v2dir : mount);
	else
		base_dir(mount, controllers[i].id, parent, sizeof(parent));
	/* needed ones were enabled by v2_parent; an optional one may be left out */
	if (v2 && (r = v2_enable(parent, c)) < 0) {
		verbose("leaving out %s: %s", c, strerror(-r));
		r = needed ? r : 0;
		goto out;
	}
	sweep_stale(parent);
	r = dir_add(cg, parent, false);
	if (r < 0)
		goto out;
	*have_v2 |= v2;
	lcg = group_for(cg, mount, parent);
	ctl = lcg ? cgroup_add_controller(lcg, c) : NULL;
	if (!ctl) {
		r = -ENOMEM;
		goto out;
	}
	if (strcmp(c, "memory") == 0)
		r = limits_memory(ctl, parent, v2, lim);
	else if (strcmp(c, "cpuset") == 0)
		r = limits_cpuset(ctl, parent, v2, lim);
	else if (strcmp(c, "cpu") == 0)
		r = limits_cpu(ctl, v2, lim);
out:
	free(mount);
	return r;
}

/* libcgroup's error for a call that returned @r, as text (ECGOTHER with no errno recorded is
 * its own text, not "Success"). */
static const char *lcg_strerror(int r)
{
	int e = cgroup_get_last_errno();

	return r == ECGOTHER && e ? strerror(e) : cgroup_strerror(r);
}

int runcg_create(struct runcg *cg, const char *name, const struct runcg_limits *lim, bool verbose_)
{
	unsigned need = (lim->memory ? NEED_MEMORY : 0) | (lim->cpus ? NEED_CPUSET : 0) |
			(lim->quota_us ? NEED_CPU : 0);
	char v2mount[512], v2dir[512];
	bool have_v2 = false, v2bare;
	int r;

	memset(cg, 0, sizeof(*cg));
	cg->verbose = log_verbose = verbose_;
	if (strlen(name) >= sizeof(cg->name))
		return -ENAMETOOLONG;
	strcpy(cg->name, name);

	cgroup_set_logger(libcgroup_log, verbose_ ? CGROUP_LOG_WARNING : CGROUP_LOG_ERROR, NULL);
	r = cgroup_init();
	if (r) {
		err("no usable cgroup file system: %s", cgroup_strerror(r));
		return -ENODEV;
	}
	r = v2_parent(need, v2dir, sizeof(v2dir), &v2bare);
	if (r < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(controllers) / sizeof(controllers[0]); i++) {
		r = controller_add(cg, i, need, lim, v2dir, v2bare, &have_v2);
		if (r < 0)
			goto fail;
	}
	/* Hybrid host: the unified hierarchy holds none of our controllers (see the head
	 * comment), so libcgroup cannot reach it; likewise a v2 group without controllers. */
	if (!have_v2 && cgroup2_mount(v2mount, sizeof(v2mount)) == 0) {
		char parent[512];

		if (v2bare)
			snprintf(parent, sizeof(parent), "%s", v2dir);
		else
			base_dir(v2mount, CG_UNIFIED, parent, sizeof(parent));
		sweep_stale(parent);
		r = dir_add(cg, parent, true);
		if (r < 0)
			goto fail;
	}
	if (cg->n == 0) {
		err("no cgroup hierarchy is mounted");
		r = -ENODEV;
		goto fail;
	}

	for (int k = 0; k < cg->ngroups; k++) {
		cg->made = k + 1;
		r = cgroup_create_cgroup(cg->lcg[k], 1);
		if (r) {
			err("cannot create cgroup %s: %s", cg->rel[k], lcg_strerror(r));
			r = -EIO;
			goto fail;
		}
	}
	for (int i = 0; i < cg->n; i++) {
		if (cg->manual[i] && mkdir(cg->dir[i], 0755) < 0) {
			r = -errno;
			err("cannot create %s: %m", cg->dir[i]);
			goto fail;
		}
		verbose("created %s", cg->dir[i]);
	}
	return 0;
fail:
	runcg_destroy(cg);
	return r;
}

int runcg_attach(struct runcg *cg, pid_t pid)
{
	char val[32];
	int r;

	for (int k = 0; k < cg->ngroups; k++) {
		r = cgroup_attach_task_pid(cg->lcg[k], pid);
		if (r) {
			err("cannot move process %d into cgroup %s: %s", (int)pid, cg->rel[k],
			    lcg_strerror(r));
			return -EIO;
		}
	}
	snprintf(val, sizeof(val), "%d", (int)pid);
	for (int i = 0; i < cg->n; i++) {
		char path[600];

		if (!cg->manual[i])
			continue;
		snprintf(path, sizeof(path), "%s/cgroup.procs", cg->dir[i]);
		r = file_write_str(path, val);
		if (r < 0) {
			err("cannot move process %d into %s: %s", (int)pid, cg->dir[i],
			    strerror(-r));
			return r;
		}
	}
	return 0;
}

static bool pid_listed(const char *procs, pid_t pid)
{
	char buf[65536], *p, *end;
	int fd = open(procs, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	for (p = buf; *p; p = end) {
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		if (v == pid)
			return true;
	}
	return false;
}

/* SIGKILL each process listed in @dir/cgroup.procs; returns how many were listed. */
static int kill_listed(const char *dir)
{
	char procs[600];
	FILE *f;
	int pid, count = 0;

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	f = fopen(procs, "re");
	if (!f)
		return 0;
	while (fscanf(f, "%d", &pid) == 1) {
		/* Pin the process first, then check it is still ours: a pid that was reused by
		 * someone else after the listing is not in this group. */
		int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

		count++;
		if (pidfd < 0)
			continue;
		if (pid_listed(procs, pid))
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		close(pidfd);
	}
	fclose(f);
	return count;
}

static void reap_children(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int runcg_kill(struct runcg *cg, unsigned timeout_ms)
{
	struct timespec start, now;
	int left = 0;

	/* v2 (5.14+): one write kills the whole group, forks in flight included. */
	for (int i = 0; i < cg->n; i++) {
		char path[600], procs[16];

		snprintf(path, sizeof(path), "%s/cgroup.procs", cg->dir[i]);
		if (read_file(path, procs, sizeof(procs)) < 0 || !procs[0])
			continue;
		snprintf(path, sizeof(path), "%s/cgroup.kill", cg->dir[i]);
		if (file_write_str(path, "1") == 0)
			verbose("killed what was left through %s", path);
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		left = 0;
		reap_children();
		for (int i = 0; i < cg->n; i++) {
			int k = kill_listed(cg->dir[i]);

			left = k > left ? k : left;
		}
		if (left == 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >=
		    (long)timeout_ms)
			break;
		usleep(5000);
	}
	reap_children();
	return left;
}

void runcg_destroy(struct runcg *cg)
{
	/* Quiet: on v2 every controller names the same directory, and deleting it again is an
	 * error to libcgroup. What really stays behind is reported below. */
	if (cg->ngroups)
		cgroup_set_loglevel(cg->verbose ? CGROUP_LOG_WARNING : 0);
	for (int k = 0; k < cg->ngroups; k++) {
		/* Tasks still inside (only when runcg_kill gave up) go to the parent. */
		if (k < cg->made)
			cgroup_delete_cgroup_ext(cg->lcg[k], CGFLAG_DELETE_IGNORE_MIGRATION);
		cgroup_free(&cg->lcg[k]);
	}
	cg->ngroups = 0;
	cg->made = 0;
	/* Whatever libcgroup did not remove (manual groups; a half-made create): by hand. A group
	 * whose last task has just died can stay busy for a moment: retry, bounded. */
	for (int i = cg->n - 1; i >= 0; i--) {
		for (int tries = 0; tries < 100; tries++) {
			if (rmdir(cg->dir[i]) == 0 || errno == ENOENT) {
				verbose("removed %s", cg->dir[i]);
				break;
			}
			if (errno != EBUSY) {
				err("cannot remove %s: %m", cg->dir[i]);
				break;
			}
			usleep(10000);
		}
	}
	cg->n = 0;
}
