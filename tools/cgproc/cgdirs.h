/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One cgroup, of one name, made directly in every mounted hierarchy (each v1 hierarchy with a
 * controller, and cgroup2): what `cgproc bench` and the client tests need to place processes in a
 * limited cgroup. (`cgproc run` goes through libcgroup instead: run-cgroup.c.)
 */
#pragma once

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
