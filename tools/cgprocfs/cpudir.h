/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /sys/devices/system/cpu as a directory of cgprocfs: the host's directory, read-only, with the
 * cpuN entries of CPUs the caller's machine does not see left out and the files that name CPUs
 * rendered for the caller (vfile_cpudir_render(), through serve.c). Part of
 * libcgprocfs-serve.so: serve.c hands this file the requests for the directory's inodes (all but
 * the table files in it, which are tree.c's nodes).
 *
 * Inodes below the directory are PASS_INO_FLAG | FNV-1a of the path (stable across library
 * copies: a new copy learns a path again from the lookup the kernel repeats, entry timeouts being
 * short). The map from inode to path only grows, bounded by the host directory's size.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "model/cpuset.h"
#include "serve.h"
#include "tree.h"

#define PASS_INO_FLAG (1ULL << 61)
/* relative to the served root, no leading '/' */
#define CPUDIR_REL "sys/devices/system/cpu"
#define CPUDIR_PATH_MAX 256

/* What the directory needs from the serving library. */
struct cpudir_host {
	void *ctx;
	int rootfd;		 /* the served root */
	const struct tree *tree; /* its table files (online, possible, present) */
	/* The CPUs caller @pid's machine sees; -errno: unknown (every host entry is listed). */
	int (*visible)(void *ctx, pid_t pid, struct cpuset *ret);
	/* The text of file @path (under the root) as @pid reads it: rendered, or the host's. */
	int (*read)(void *ctx, const char *path, pid_t pid, char **ret_data, size_t *ret_len);
};

struct cpudir;

/* The directory whose tree inode is @dir_ino. */
int cpudir_new(fuse_ino_t dir_ino, const struct cpudir_host *host, struct cpudir **ret);
void cpudir_free(struct cpudir *d);

/* Whether @ino is the directory itself or an entry below it. */
bool cpudir_owns(const struct cpudir *d, fuse_ino_t ino);

/* The FUSE requests for the directory's own inodes (tree nodes excepted), each replying to @req;
 * cpudir_open() instead gives the bytes an open of @ino serves (0) or the errno to reply (< 0). */
void cpudir_lookup(struct cpudir *d, fuse_req_t req, fuse_ino_t parent, const char *name);
void cpudir_getattr(struct cpudir *d, fuse_req_t req, fuse_ino_t ino);
int cpudir_open(struct cpudir *d, fuse_req_t req, fuse_ino_t ino, char **ret_data, size_t *ret_len);
void cpudir_opendir(struct cpudir *d, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void cpudir_readdir(struct cpudir *d, fuse_req_t req, fuse_ino_t ino, size_t size, off_t off);
void cpudir_readlink(struct cpudir *d, fuse_req_t req, fuse_ino_t ino);
