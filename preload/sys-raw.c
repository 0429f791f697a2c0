/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The core's system calls (cgroupfs/source/sys.h) for the shim: raw system calls (raw.h). Inside
 * libcgproc.so the core thus never calls a libc name the shim exports itself (its openat64 and
 * pread64 wrappers), never reaches a cancellation point and never touches errno. Must not: add
 * policy (retries, fallbacks): that is the core's.
 */
#include "raw.h"
#include "source/sys.h"

int src_sys_openat(int dirfd, const char *path, int flags)
{
	return raw_openat(dirfd, path, flags, 0);
}

int src_sys_openat2(int dirfd, const char *path, const struct src_open_how *how)
{
	return (int)RAW4(SYS_openat2, dirfd, path, how, sizeof(*how));
}

ssize_t src_sys_read(int fd, void *buf, size_t size)
{
	return raw_read(fd, buf, size);
}

ssize_t src_sys_pread(int fd, void *buf, size_t size, uint64_t off)
{
	return raw_pread(fd, buf, size, (off_t)off);
}

int src_sys_close(int fd)
{
	return raw_close(fd);
}

int src_sys_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	return raw_fstatat(dirfd, path, st, flags);
}

ssize_t src_sys_readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
	return raw_readlinkat(dirfd, path, buf, size);
}

ssize_t src_sys_getdents64(int fd, void *buf, size_t size)
{
	return RAW3(SYS_getdents64, fd, buf, size);
}

int src_sys_fcntl(int fd, int cmd, long arg)
{
	return raw_fcntl(fd, cmd, arg);
}
