/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Binding host files into a container's root file system from a hook that runs in the
 * container's mount namespace. Every path inside the container is resolved beneath the rootfs
 * with openat2(RESOLVE_IN_ROOT): the image decides what its paths contain (a symlink
 * /etc/ld.so.preload -> /etc/shadow must not reach the host), never where they lead.
 */
#pragma once

#include <stdbool.h>

enum rootfs_create {
	ROOTFS_EXISTING, /* the destination must exist */
	ROOTFS_FILE,	 /* else create an empty file (and its parent directories) */
	ROOTFS_DIR,	 /* else create the directory and its parents */
};

/*
 * Opens @path (absolute, inside the container) beneath @rootfd with @flags, creating it as
 * @create says, as runtimes create their mount points. The fd or -errno.
 */
int rootfs_open(int rootfd, const char *path, int flags, enum rootfs_create create);

/*
 * Binds the host file or directory open as @src_fd (any fd, O_PATH is enough) read-only, nosuid
 * and nodev over @dest in the container. 1 when @dest already is that inode (nothing done), 0
 * when bound, -errno.
 */
int rootfs_bind(int rootfd, int src_fd, const char *dest, enum rootfs_create create);
