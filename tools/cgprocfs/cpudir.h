/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /sys/devices/system/cpu as a directory of cgprocfs: the host's directory, read-only, with the
 * cpuN entries of CPUs the caller's machine does not see left out and the files that name CPUs
 * rendered for the caller (vfile_cpudir_render()). Part of libcgprocfs-serve.so; the FUSE
 * handlers in serve.c ask this file which inodes are its and what their host paths are.
 *
 * Inodes below the directory are PASS_INO_FLAG | FNV-1a of the path (stable across library
 * copies: a new copy learns a path again from the lookup the kernel repeats, entry timeouts being
 * short). The map from inode to path only grows, bounded by the host directory's size.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "serve.h"

#define PASS_INO_FLAG (1ULL << 61)
/* relative to the served root, no leading '/' */
#define CPUDIR_REL "sys/devices/system/cpu"
#define CPUDIR_PATH_MAX 256

struct cpudir;

int cpudir_new(fuse_ino_t dir_ino, struct cpudir **ret);
void cpudir_free(struct cpudir *d);

/* Whether @ino is the directory itself or an entry below it. */
bool cpudir_owns(const struct cpudir *d, fuse_ino_t ino);
/* The host path of @ino (CPUDIR_REL for the directory). -ENOENT when not known (yet). */
int cpudir_path(struct cpudir *d, fuse_ino_t ino, char *buf, size_t size);
/* The inode of host path @path (below CPUDIR_REL), remembered. -ENOMEM, -ENAMETOOLONG, -EEXIST
 * (another path has the same hash: the entry is not served). */
int cpudir_ino(struct cpudir *d, const char *path, fuse_ino_t *ret);
/* Whether @path is a cpuN entry directly in the directory (shown to some callers only). */
bool cpudir_is_cpu_entry(const char *path);
