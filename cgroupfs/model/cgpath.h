/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parsers of /proc/<pid>/cgroup and /proc/<pid>/mountinfo: which hierarchies exist, where they
 * are mounted, and where a process sits in each. Covers cgroup v1 (named hierarchies, co-mounted
 * controllers such as "cpu,cpuacct"), v2, and hybrid hosts. Pure: no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "parse.h"

#define CG_PATH_MAX 512 /* longer cgroup paths are refused (-ENAMETOOLONG): fall back */

/* The controllers cgproc reads. CG_UNIFIED is the v2 hierarchy itself (pressure files). */
enum cg_controller {
	CG_MEMORY,
	CG_CPU,
	CG_CPUACCT,
	CG_CPUSET,
	CG_IO, /* v1 blkio, v2 io */
	CG_PIDS,
	CG_UNIFIED,
	_CG_MAX,
};

const char *cg_controller_name(enum cg_controller c); /* v1 spelling: "memory", "blkio", ... */

/* Where each controller's hierarchy is mounted (from mountinfo, relative to the root fd given to
 * source/, without leading '/'), and the path of the mount's own root inside the hierarchy. */
struct cg_mounts {
	bool present[_CG_MAX];
	bool v2[_CG_MAX];
	char mount[_CG_MAX][CG_PATH_MAX]; /* "sys/fs/cgroup/memory" */
	char root[_CG_MAX][CG_PATH_MAX];  /* mountinfo field 4: "/" or a cgroup-namespace root */
};

/* One line of /proc/<pid>/mountinfo, as spans into the text; root and mount are still escaped
 * (mountinfo_unescape()), super is the super options ("rw,cpu,cpuacct"). */
struct mountinfo_entry {
	struct span root, mount, fstype, source, super;
};
/* The next well-formed line of @rest ("while (mountinfo_next(&rest, &e))"); malformed lines are
 * skipped. false at the end. */
bool mountinfo_next(struct span *rest, struct mountinfo_entry *ret);
/* @s with its "\ooo" octal escapes decoded (a ' ' in a mount point is "\040") into @dst of @size
 * bytes, NUL-terminated, without a leading '/' when @skip_slash. -ENAMETOOLONG when it does not
 * fit (then @dst holds a truncated prefix). */
int mountinfo_unescape(struct span s, bool skip_slash, char *dst, size_t size);

/* Fills @ret from mountinfo text. A controller mounted twice keeps the first mount whose root
 * is "/"; a v1 controller wins over v2 for the same controller only if it is really there
 * (hybrid: v1 memory + v2 unified). -ENOENT when no cgroup mount exists at all. */
int mountinfo_parse_cgroups(struct span mountinfo, struct cg_mounts *ret);

/* A process's path per controller, from /proc/<pid>/cgroup ("N:ctrl,ctrl:/path", "0::/path"). */
struct cg_paths {
	bool present[_CG_MAX];
	char path[_CG_MAX][CG_PATH_MAX]; /* "/a/b", always starting with '/' */
};
int proc_cgroup_parse(struct span text, struct cg_paths *ret);

/* "/a/b/init.scope" -> "/a/b" (DESIGN.md, machine-cgroup rule 3). In place. */
void cg_path_strip_init_scope(char *path);
/* Parent of "/a/b" is "/a"; of "/a" is "/". false for "/". In place. */
bool cg_path_parent(char *path);
/* How many levels a mount's root (mountinfo field 4) lies above the reader's cgroup-namespace
 * root: "/../.." is 2 (a mount kept from before `unshare --cgroup`); 0 for "/", "/a" or
 * "/../a" (a root that is not an ancestor of the namespace root). */
unsigned cg_root_updepth(const char *root);
/* @rel (a path relative to a cgroup-namespace root: "/", "/a", "/../x") as a path from the mount's
 * root, given @base, the namespace root's path from there ("/n/s"): "/n/s/a", "/n/x". -EXDEV when
 * it would leave the mount's root, -ENAMETOOLONG when it does not fit @size. */
int cg_path_rebase(const char *base, const char *rel, char *out, size_t size);
