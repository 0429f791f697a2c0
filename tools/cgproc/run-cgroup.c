/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The cgroup of `cgproc run` (see run-cgroup.h): which backend makes it, and what is common to
 * both: killing what the command left behind.
 *
 * systemd is asked only where it owns the tree the group would go into: PID 1 is systemd
 * (sd_booted(3)'s test, /run/systemd/system), the host is pure cgroup v2 (systemd's scopes carry
 * v2 limits; on v1 and hybrid hosts the group spans several hierarchies), the caller is in PID 1's
 * cgroup namespace (a container's namespace is its own), and the caller's cgroup is not in a
 * delegated subtree: systemd marks a cgroup it hands over (Delegate=, as a scope of an outer
 * `cgproc run` is, or a container's) with the extended attribute trusted.delegate (or
 * user.delegate) "1", and below it the delegatee makes groups itself (systemd.resource-control(5),
 * systemd's CGROUP_DELEGATION document). A nested run therefore nests inside the outer scope.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cgdirs.h"
#include "run-backend.h"
#include "util.h"

bool runcg_log_verbose;

static void vsay(const char *fmt, va_list ap)
{
	fputs("cgproc run: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void runcg_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

void runcg_verbose(const char *fmt, ...)
{
	va_list ap;

	if (!runcg_log_verbose)
		return;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

static bool delegated(const char *dir)
{
	static const char *const names[] = {"trusted.delegate", "user.delegate"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char v[8];
		ssize_t n = getxattr(dir, names[i], v, sizeof(v));

		if (n == 1 && v[0] == '1')
			return true;
	}
	return false;
}

enum runcg_backend runcg_backend(char *why, size_t size)
{
	struct stat own_ns, init_ns;
	char dir[600], own[CG_PATH_MAX];

	if (!HAVE_SYSTEMD) {
		snprintf(why, size, "cgroupfs: this cgproc was built without libsystemd");
		return RUNCG_CGROUPFS;
	}
	if (access("/run/systemd/system", F_OK) != 0) {
		snprintf(why, size, "cgroupfs: PID 1 is not systemd (no /run/systemd/system)");
		return RUNCG_CGROUPFS;
	}
	if (!runcg_is_cgroup2("/sys/fs/cgroup")) {
		snprintf(why, size,
			 "cgroupfs: systemd runs, but on cgroup v1 or hybrid cgroups (only pure v2 "
			 "hosts get scopes)");
		return RUNCG_CGROUPFS;
	}
	if (stat("/proc/self/ns/cgroup", &own_ns) < 0 || stat("/proc/1/ns/cgroup", &init_ns) < 0) {
		snprintf(why, size,
			 "cgroupfs: cannot compare this cgroup namespace with PID 1's (%s; not "
			 "root?)",
			 strerror(errno));
		return RUNCG_CGROUPFS;
	}
	if (own_ns.st_ino != init_ns.st_ino || own_ns.st_dev != init_ns.st_dev) {
		snprintf(why, size,
			 "cgroupfs: this process is in a cgroup namespace other than PID 1's "
			 "(systemd does not manage the tree it sees)");
		return RUNCG_CGROUPFS;
	}
	if (runcg_pid_cgroup(0, CG_UNIFIED, own, sizeof(own)) == 0) {
		snprintf(dir, sizeof(dir), "/sys/fs/cgroup%s", strcmp(own, "/") ? own : "");
		for (char *slash; strcmp(dir, "/sys/fs/cgroup") != 0; *slash = 0) {
			if (delegated(dir)) {
				snprintf(why, size,
					 "cgroupfs: %s is delegated (an outer cgproc run's scope "
					 "or a "
					 "container's unit): the group goes below it",
					 dir);
				return RUNCG_CGROUPFS;
			}
			slash = strrchr(dir, '/');
		}
	}
	snprintf(why, size,
		 "systemd scope: systemd manages the cgroup tree (PID 1 is systemd, pure cgroup "
		 "v2)");
	return RUNCG_SYSTEMD;
}

/* The bus failed: say so (once) and make the group through cgroupfs. */
static int fall_back(struct runcg *cg)
{
	runcg_err("systemd cannot make the scope (%s): making the group through cgroupfs instead",
		  cg->why);
	cg->backend = RUNCG_CGROUPFS;
	return runfs_create(cg);
}

int runcg_create(struct runcg *cg, const char *name, const struct runcg_limits *lim, bool verbose)
{
	char why[512];
	int r;

	memset(cg, 0, sizeof(*cg));
	cg->verbose = runcg_log_verbose = verbose;
	if (strlen(name) >= sizeof(cg->name))
		return -ENAMETOOLONG;
	strcpy(cg->name, name);
	cg->lim = *lim;
	cg->backend = runcg_backend(why, sizeof(why));
	runcg_verbose("backend: %s", why);
	if (cg->backend == RUNCG_CGROUPFS)
		return runfs_create(cg);
	r = runsd_open(cg);
	if (r == -EEXIST)
		return r;
	return r < 0 ? fall_back(cg) : 0;
}

int runcg_attach(struct runcg *cg, pid_t pid)
{
	char path[CG_PATH_MAX], mount[512];
	int r;

	if (cg->backend == RUNCG_CGROUPFS)
		return runfs_attach(cg, pid);
	r = runsd_start(cg, pid);
	if (r < 0) {
		r = fall_back(cg);
		return r < 0 ? r : runfs_attach(cg, pid);
	}
	/* The scope's directory, for runcg_kill: systemd made it and removes it. */
	if (runcg_cgroup2_mount(mount, sizeof(mount)) == 0 &&
	    runcg_pid_cgroup(pid, CG_UNIFIED, path, sizeof(path)) == 0 &&
	    (size_t)snprintf(cg->dir[0], sizeof(cg->dir[0]), "%s%s", mount, path) <
		    sizeof(cg->dir[0])) {
		cg->n = 1;
		runcg_verbose("the command is in %s", cg->dir[0]);
	}
	return 0;
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
		if (runcg_read(path, procs, sizeof(procs)) < 0 || !procs[0])
			continue;
		snprintf(path, sizeof(path), "%s/cgroup.kill", cg->dir[i]);
		if (file_write_str(path, "1") == 0)
			runcg_verbose("killed what was left through %s", path);
	}
	/* Else SIGKILL through pidfds taken from cgroup.procs, so that a pid reused by an
	 * unrelated process is never signalled. */
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		left = 0;
		reap_children();
		for (int i = 0; i < cg->n; i++) {
			int k = cgdirs_kill_listed(cg->dir[i]);

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
	if (cg->backend == RUNCG_SYSTEMD) {
		cg->n = 0; /* the scope's directory is systemd's to remove */
		runsd_close(cg);
		return;
	}
	runfs_destroy(cg);
}
