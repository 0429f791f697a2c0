/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One cgroup, of one name, made directly in every mounted hierarchy (each v1 hierarchy with a
 * controller, and cgroup2): what `cgproc bench` and the client tests need to place processes in a
 * limited cgroup, and the plain directory operations `cgproc run`'s cgroup module (run-cgroup.h)
 * builds on: finding, killing and removing what a cgroup holds, sweeping stale groups.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#define CGDIRS_MAX 12

struct cgdirs {
	char name[64];
	int n;
	char dir[CGDIRS_MAX][256]; /* "/sys/fs/cgroup/memory/<name>" */
	char ctrl[CGDIRS_MAX][64]; /* "memory", "cpu,cpuacct", "unified" */
};

/* Hierarchies with a controller (v1) or cgroup2, from /proc/self/mountinfo: mount point and
 * controllers ("unified" for cgroup2). Returns how many, or -errno. */
int cgdirs_list(char mounts[][256], char names[][64], int max);
/* Make @name in every hierarchy (v1 cpuset: cpus and mems copied from the parent, without which
 * no task can join). On failure nothing is left behind. */
int cgdirs_create(struct cgdirs *cg, const char *name);
/* Write @value to @file in the first hierarchy that has it. -ENOENT when none has. */
int cgdirs_write(const struct cgdirs *cg, const char *file, const char *value);
/* Move @pid into the cgroup in every hierarchy. */
int cgdirs_attach(const struct cgdirs *cg, pid_t pid);
/* Move what is still inside to the parent, then remove the cgroup everywhere. Safe twice. */
void cgdirs_destroy(struct cgdirs *cg);
/* Remove the cgroups named <prefix><pid>... whose <pid> is no longer running. */
void cgdirs_sweep(const char *prefix);
/* The same in the one directory @parent. @exact: only names that are <prefix><pid> exactly, and
 * only empty cgroups (rmdir(2) refuses others); else what is still inside goes to @parent first. */
void cgdirs_sweep_in(const char *parent, const char *prefix, bool exact);
/* Whether the cgroup.procs file @procs lists @pid (one read). */
bool cgdirs_lists(const char *procs, pid_t pid);
/* SIGKILL each process listed in @dir/cgroup.procs; returns how many were listed. */
int cgdirs_kill_listed(const char *dir);
/* rmdir(2) of a cgroup, retried (bounded) while one whose last task has just died is still busy.
 * 0 (also when it was gone already) or -errno. */
int cgdirs_rmdir(const char *dir);
