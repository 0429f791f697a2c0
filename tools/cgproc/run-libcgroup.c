/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The cgroupfs backend of `cgproc run`'s cgroup (see run-cgroup.h).
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
 * Where the group goes: run-where.c.
 */
#include <errno.h>
#include <libcgroup.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgdirs.h"
#include "run-backend.h"
#include "util.h"

/* libcgroup logs to stdout by default, which is the command's output: send it to stderr. */
static void libcgroup_log(void *userdata, int level, const char *fmt, va_list ap)
{
	fputs("cgproc run: libcgroup: ", stderr);
	vfprintf(stderr, fmt, ap);
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

/* v2: a child of @mount only gets @ctl's files once the parent delegates it. */
static int v2_enable(const char *mount, const char *ctl)
{
	char path[600], val[1024], plus[64];
	int r;

	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", mount);
	r = runcg_read(path, val, sizeof(val));
	if (r < 0)
		return r;
	if (word_in(val, ctl, ' '))
		return 0;
	snprintf(plus, sizeof(plus), "+%s", ctl);
	r = file_write_str(path, plus);
	if (r == 0)
		runcg_verbose("enabled %s in %s", ctl, path);
	return r;
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
		runcg_err("cgroup %s already exists (not ours: choose another --name)", dir);
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

	runcg_verbose("set %s = %llu", file, (unsigned long long)v);
	return r ? -ENOMEM : 0;
}

static int add_str(struct cgroup_controller *ctl, const char *file, const char *v)
{
	int r = cgroup_add_value_string(ctl, file, v);

	runcg_verbose("set %s = %s", file, v);
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
		runcg_err("--swap: swap accounting is off on this host (no %s; boot with "
			  "swapaccount=1)",
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
	r = runcg_read(path, cpus, sizeof(cpus));
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/cpuset.mems", parent);
	r = runcg_read(path, mems, sizeof(mems));
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
		    !runcg_is_cgroup2(mount)) {
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
		runcg_err("%s: cannot enable the %s controller in %s/cgroup.subtree_control: %s",
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
		if (runcg_read(path, val, sizeof(val)) == 0 && strcmp(val, "max") != 0 &&
		    strtoull(val, NULL, 10) <= lim->memory && !lim->has_swap) {
			runcg_verbose("--memory: %s already limits the command to %s bytes", dir,
				      val);
			return 0;
		}
	}
	runcg_err("%s: %s holds processes, so it cannot hand the %s controller to a new group; "
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
		runcg_err("%s: the %s controller is not available on this host",
			  controllers[i].option, c);
		return -EOPNOTSUPP;
	}
	v2 = runcg_is_cgroup2(mount);
	if (v2 && v2bare) {
		/* the group is made by hand, with the hybrid case's code in runcg_create */
		r = needed ? v2_bare_check(v2dir, i, lim) : 0;
		goto out;
	}
	if (v2)
		snprintf(parent, sizeof(parent), "%s", v2dir[0] ? v2dir : mount);
	else
		runcg_base_dir(mount, controllers[i].id, parent, sizeof(parent));
	/* needed ones were enabled by v2_parent; an optional one may be left out */
	if (v2 && (r = v2_enable(parent, c)) < 0) {
		runcg_verbose("leaving out %s: %s", c, strerror(-r));
		r = needed ? r : 0;
		goto out;
	}
	cgdirs_sweep_in(parent, "cgproc-run-", true);
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

int runfs_create(struct runcg *cg)
{
	const struct runcg_limits *lim = &cg->lim;
	unsigned need = (lim->memory ? NEED_MEMORY : 0) | (lim->cpus ? NEED_CPUSET : 0) |
			(lim->quota_us ? NEED_CPU : 0);
	char v2mount[512], v2dir[512];
	bool have_v2 = false, v2bare;
	int r;

	cgroup_set_logger(libcgroup_log, cg->verbose ? CGROUP_LOG_WARNING : CGROUP_LOG_ERROR, NULL);
	r = cgroup_init();
	if (r) {
		runcg_err("no usable cgroup file system: %s", cgroup_strerror(r));
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
	if (!have_v2 && runcg_cgroup2_mount(v2mount, sizeof(v2mount)) == 0) {
		char parent[512];

		if (v2bare)
			snprintf(parent, sizeof(parent), "%s", v2dir);
		else
			runcg_base_dir(v2mount, CG_UNIFIED, parent, sizeof(parent));
		cgdirs_sweep_in(parent, "cgproc-run-", true);
		r = dir_add(cg, parent, true);
		if (r < 0)
			goto fail;
	}
	if (cg->n == 0) {
		runcg_err("no cgroup hierarchy is mounted");
		r = -ENODEV;
		goto fail;
	}

	for (int k = 0; k < cg->ngroups; k++) {
		cg->made = k + 1;
		r = cgroup_create_cgroup(cg->lcg[k], 1);
		if (r) {
			runcg_err("cannot create cgroup %s: %s", cg->rel[k], lcg_strerror(r));
			r = -EIO;
			goto fail;
		}
	}
	for (int i = 0; i < cg->n; i++) {
		if (cg->manual[i] && mkdir(cg->dir[i], 0755) < 0) {
			r = -errno;
			runcg_err("cannot create %s: %m", cg->dir[i]);
			goto fail;
		}
		runcg_verbose("created %s", cg->dir[i]);
	}
	return 0;
fail:
	runfs_destroy(cg);
	return r;
}

int runfs_attach(struct runcg *cg, pid_t pid)
{
	char val[32];
	int r;

	for (int k = 0; k < cg->ngroups; k++) {
		r = cgroup_attach_task_pid(cg->lcg[k], pid);
		if (r) {
			runcg_err("cannot move process %d into cgroup %s: %s", (int)pid, cg->rel[k],
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
			runcg_err("cannot move process %d into %s: %s", (int)pid, cg->dir[i],
				  strerror(-r));
			return r;
		}
	}
	return 0;
}

void runfs_destroy(struct runcg *cg)
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
	 * whose last task has just died can stay busy for a moment (cgdirs_rmdir retries). */
	for (int i = cg->n - 1; i >= 0; i--) {
		int r = cgdirs_rmdir(cg->dir[i]);

		if (r < 0)
			runcg_err("cannot remove %s: %s", cg->dir[i], strerror(-r));
		else
			runcg_verbose("removed %s", cg->dir[i]);
	}
	cg->n = 0;
}
