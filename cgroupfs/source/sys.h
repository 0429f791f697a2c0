/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The system calls of source/: every file operation of the core goes through these and nothing
 * else. Each front end links one implementation: sys-libc.c (over libc, for the tools and the
 * tests) or the shim's preload/sys-raw.c (raw system calls). The core inside libcgproc.so thus
 * never calls a name that the shim itself exports (open, openat64, pread64 ...), reaches no
 * cancellation point and imports no versioned glibc symbol (fstatat64@GLIBC_2.33,
 * fcntl64@GLIBC_2.28) that would keep the shim from loading on an older glibc.
 *
 * Each returns >= 0 on success or -errno; errno is not part of the contract (the raw
 * implementation never touches it, the libc one may). EINTR is returned, not retried.
 * clock_gettime() stays libc's: no front end wraps it and it is the vDSO, no system call.
 */
#pragma once

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

/* openat2(2) (linux/openat2.h, 5.6+), for headers older than the kernel. */
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef RESOLVE_NO_MAGICLINKS
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#endif

struct src_open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};

/* One record of a getdents64(2) buffer (glibc names no type for it). */
struct src_dirent64 {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

/* No O_CREAT: the core only reads. */
int src_sys_openat(int dirfd, const char *path, int flags);
int src_sys_openat2(int dirfd, const char *path, const struct src_open_how *how);
ssize_t src_sys_read(int fd, void *buf, size_t size);
ssize_t src_sys_pread(int fd, void *buf, size_t size, uint64_t off);
int src_sys_close(int fd);
/* The kernel's newfstatat: on x86_64 and aarch64 its struct stat is glibc's. */
int src_sys_fstatat(int dirfd, const char *path, struct stat *st, int flags);
ssize_t src_sys_readlinkat(int dirfd, const char *path, char *buf, size_t size);
ssize_t src_sys_getdents64(int fd, void *buf, size_t size);
int src_sys_fcntl(int fd, int cmd, long arg);

static inline int src_sys_fstat(int fd, struct stat *st)
{
	return src_sys_fstatat(fd, "", st, AT_EMPTY_PATH);
}
