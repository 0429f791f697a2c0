/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sys.h over libc, for the tools and the tests (the shim links preload/sys-raw.c instead). Only
 * the translation to -errno: no retry, no policy.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys.h"

static long neg_errno(long r)
{
	return r < 0 ? -errno : r;
}

int src_sys_openat(int dirfd, const char *path, int flags)
{
	return (int)neg_errno(openat(dirfd, path, flags));
}

/* glibc 2.36 has no openat2() wrapper. */
int src_sys_openat2(int dirfd, const char *path, const struct src_open_how *how)
{
	return (int)neg_errno(syscall(SYS_openat2, dirfd, path, how, sizeof(*how)));
}

ssize_t src_sys_read(int fd, void *buf, size_t size)
{
	return neg_errno(read(fd, buf, size));
}

ssize_t src_sys_pread(int fd, void *buf, size_t size, uint64_t off)
{
	return neg_errno(pread(fd, buf, size, (off_t)off));
}

int src_sys_close(int fd)
{
	return (int)neg_errno(close(fd));
}

int src_sys_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	return (int)neg_errno(fstatat(dirfd, path, st, flags));
}

ssize_t src_sys_readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
	return neg_errno(readlinkat(dirfd, path, buf, size));
}

ssize_t src_sys_getdents64(int fd, void *buf, size_t size)
{
	return neg_errno(getdents64(fd, buf, size));
}

int src_sys_fcntl(int fd, int cmd, long arg)
{
	return (int)neg_errno(fcntl(fd, cmd, arg));
}
