/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The transient cgroup of `cgproc run`, made by one of two backends behind this interface:
 *  - systemd (run-systemd.c): where systemd manages the cgroup tree (PID 1 is systemd, pure
 *    cgroup v2, the caller in PID 1's cgroup namespace and not in a delegated subtree), a
 *    transient scope unit "NAME.scope" with the limits as unit properties, made by PID 1 through
 *    its D-Bus API;
 *  - cgroupfs (run-libcgroup.c): elsewhere, or when systemd cannot be reached (said on stderr),
 *    a group made with libcgroup in every hierarchy the command's machine needs (v1, v2 or
 *    hybrid), as a child of the caller's own cgroup there (run-where.c) so that limits around the
 *    caller (an outer `cgproc run`, a container) still bind the command.
 * Either way: limits set, the command attached, and on the way out everything left in it killed
 * and the group (or unit) removed. Messages go to stderr prefixed "cgproc run:"; functions return
 * >= 0 or -errno.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct runcg_limits {
	uint64_t memory; /* bytes; 0 = no limit */
	uint64_t swap;	 /* bytes of swap on top of memory; valid when has_swap */
	bool has_swap;
	const char *cpus;	      /* kernel cpu list; NULL = the parent's */
	uint64_t quota_us, period_us; /* quota_us 0 = no quota */
};

#define RUNCG_MAX_DIRS 12
#define RUNCG_MAX_GROUPS 8

struct cgroup; /* libcgroup */

enum runcg_backend {
	RUNCG_CGROUPFS,
	RUNCG_SYSTEMD
};

struct runcg {
	char name[256];
	enum runcg_backend backend;
	struct runcg_limits lim;
	void *bus;	/* systemd: the sd_bus to PID 1 */
	char unit[264]; /* systemd: "NAME.scope" */
	char why[512];	/* systemd: why the last bus call failed */
	/* libcgroup handles, one per distinct path below the hierarchy roots: the caller may sit
	 * in different cgroups in different v1 hierarchies, and libcgroup names one group by one
	 * path in all the controllers it holds. */
	int ngroups;
	struct cgroup *lcg[RUNCG_MAX_GROUPS];
	char rel[RUNCG_MAX_GROUPS][512]; /* "parent/path/NAME", relative to each mount */
	int made; /* groups cgroup_create_cgroup() was called for: libcgroup deletes those */
	int n;	  /* directories (possibly) created, one per hierarchy */
	char dir[RUNCG_MAX_DIRS][512];
	bool manual[RUNCG_MAX_DIRS]; /* made with mkdir(2), not libcgroup: attach by hand */
	bool verbose;
};

/* cgroup2 mounted at @mount: the directory `cgproc run` makes its group in (the caller's cgroup,
 * or its nearest ancestor without processes) into @ret. Returns 0, or why the group made there
 * gets no controllers and no limits of its own: that directory holds processes and cannot be left
 * because it is the top of the caller's cgroup namespace or of the mount (RUNCG_BARE_TOP) or
 * because it sets limits (RUNCG_BARE_LIMITED: an outer `cgproc run`). Reads only. */
enum {
	RUNCG_BARE_LIMITED = 1,
	RUNCG_BARE_TOP = 2
};
int runcg_v2_where(const char *mount, char *ret, size_t size);
/* Which backend runcg_create() tries here, with the reason as one sentence in @why. Reads only. */
enum runcg_backend runcg_backend(char *why, size_t size);
/* Whether systemd answers on its bus (0, @why says where) or not (-errno, @why says why). */
int runcg_systemd_probe(char *why, size_t size);
/* Create @name with @lim (systemd: connect, the scope itself is made by runcg_attach, as a scope
 * starts with its processes). On failure what was made is already removed. -EEXIST when a group
 * or unit of that name exists (it is someone else's: never adopted). */
int runcg_create(struct runcg *cg, const char *name, const struct runcg_limits *lim, bool verbose);
/* Move the (single-threaded) process @pid into the group in every hierarchy (systemd: start the
 * scope with it; if that fails, say so and make the group through cgroupfs instead). */
int runcg_attach(struct runcg *cg, pid_t pid);
/* SIGKILL every process still in the group, reaping the ones that are our children, until it is
 * empty or @timeout_ms passed. Returns the number of processes left (0 = empty). */
int runcg_kill(struct runcg *cg, unsigned timeout_ms);
/* Remove the group from every hierarchy (systemd: stop the scope); safe to call twice and after a
 * failed create. */
void runcg_destroy(struct runcg *cg);
