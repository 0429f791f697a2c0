/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Binds into a container's rootfs (oci-mount.h) with the file-descriptor mount API
 * (open_tree/mount_setattr/move_mount, Linux 5.12+): the source and the destination are both
 * open file descriptors, so nothing is resolved twice and no path can be swapped in between.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "oci-mount.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

static int open_beneath(int rootfd, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		/* openat2 refuses O_PATH with any flag but O_CLOEXEC, O_DIRECTORY, O_NOFOLLOW */
		.flags =
			(unsigned long long)(flags | O_CLOEXEC | ((flags & O_PATH) ? 0 : O_NOCTTY)),
		.mode = (flags & O_CREAT) ? mode : 0,
		/* symlinks in the image resolve as they would inside it; /proc/self/fd-style
		 * magic links would escape, so they are refused */
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	do
		fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	while (fd < 0 && (errno == EAGAIN || errno == EINTR));
	return fd < 0 ? -errno : (int)fd;
}

/* mkdir -p @dir beneath @rootfd. */
static int mkdir_beneath(int rootfd, const char *dir)
{
	char buf[4096];
	size_t len = strlen(dir);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, dir, len + 1);
	for (char *p = buf + 1;; p++) {
		char saved = *p;
		int parent, fd;

		if (*p && *p != '/')
			continue;
		*p = 0;
		fd = open_beneath(rootfd, buf, O_PATH | O_DIRECTORY, 0);
		if (fd == -ENOENT) {
			char *slash = strrchr(buf, '/');

			*slash = 0;
			parent = open_beneath(rootfd, buf[0] ? buf : "/", O_PATH | O_DIRECTORY, 0);
			*slash = '/';
			if (parent < 0)
				return parent;
			if (mkdirat(parent, slash + 1, 0755) < 0 && errno != EEXIST) {
				int r = -errno;

				close(parent);
				return r;
			}
			close(parent);
			fd = open_beneath(rootfd, buf, O_PATH | O_DIRECTORY, 0);
		}
		if (fd < 0)
			return fd;
		close(fd);
		*p = saved;
		if (!saved)
			return 0;
	}
}

/* rootfs_open(), saying whether it created the last component. */
static int open_or_create(int rootfd, const char *path, int flags, enum rootfs_create create,
			  bool *ret_created)
{
	int fd = open_beneath(rootfd, path, flags, 0);

	*ret_created = false;
	if (fd != -ENOENT || create == ROOTFS_EXISTING)
		return fd;
	if (create == ROOTFS_DIR) {
		int r = mkdir_beneath(rootfd, path);

		*ret_created = r >= 0;
		return r < 0 ? r : open_beneath(rootfd, path, flags, 0);
	} else {
		char parent[4096];
		const char *slash = strrchr(path, '/');
		int created;

		if (!slash || (size_t)(slash - path) >= sizeof(parent))
			return -EINVAL;
		memcpy(parent, path, (size_t)(slash - path));
		parent[slash - path] = 0;
		if (parent[0]) {
			int r = mkdir_beneath(rootfd, parent);

			if (r < 0)
				return r;
		}
		created = open_beneath(rootfd, path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (created < 0 && created != -EEXIST)
			return created;
		if (created >= 0) {
			close(created);
			*ret_created = true;
		}
		return open_beneath(rootfd, path, flags, 0);
	}
}

int rootfs_open(int rootfd, const char *path, int flags, enum rootfs_create create)
{
	bool created;

	return open_or_create(rootfd, path, flags, create, &created);
}

/* Removes the mount point @path that open_or_create() made, when nothing could be bound on it. */
static void remove_created(int rootfd, const char *path, bool dir)
{
	const char *slash = strrchr(path, '/');
	char parent[4096];
	int pfd;

	if (!slash || (size_t)(slash - path) >= sizeof(parent))
		return;
	memcpy(parent, path, (size_t)(slash - path));
	parent[slash - path] = 0;
	pfd = open_beneath(rootfd, parent[0] ? parent : "/", O_PATH | O_DIRECTORY, 0);
	if (pfd < 0)
		return;
	unlinkat(pfd, slash + 1, dir ? AT_REMOVEDIR : 0);
	close(pfd);
}

int rootfs_bind(int rootfd, int src_fd, const char *dest, enum rootfs_create create)
{
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
	};
	struct stat src, dst;
	int tree, target, r = 0;
	bool created;

	if (fstat(src_fd, &src) < 0)
		return -errno;
	target = open_or_create(rootfd, dest, O_PATH, create, &created);
	if (target < 0)
		return target;
	if (fstat(target, &dst) < 0) {
		r = -errno;
		goto out;
	}
	if (dst.st_dev == src.st_dev && dst.st_ino == src.st_ino) {
		r = 1; /* bound by an earlier run of the hook */
		goto out;
	}
	if (S_ISDIR(src.st_mode) != S_ISDIR(dst.st_mode)) {
		r = S_ISDIR(dst.st_mode) ? -EISDIR : -ENOTDIR;
		goto out;
	}
	tree = open_tree(src_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0) {
		r = -errno;
		goto out;
	}
	if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0 ||
	    move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		r = -errno;
	close(tree);
out:
	close(target);
	if (r < 0 && created)
		remove_created(rootfd, dest, create == ROOTFS_DIR);
	return r;
}
