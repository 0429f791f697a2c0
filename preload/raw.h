/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Raw system calls for the shim: they return -errno, never touch errno, take no locks and go
 * through no interposable symbol, so they are safe before the constructor ran, under
 * re-entrancy and in signal handlers. x86_64 and aarch64 use inline assembly; other
 * architectures go through syscall(3) with errno saved and restored.
 *
 * The shim's one way to the kernel: its own files call these, and the core's system-call
 * interface (cgroupfs/source/sys.h) is implemented on them (sys-raw.c).
 */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#if defined(__x86_64__)
static inline long raw_syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#elif defined(__aarch64__)
static inline long raw_syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a1;
	register long x1 __asm__("x1") = a2;
	register long x2 __asm__("x2") = a3;
	register long x3 __asm__("x3") = a4;
	register long x4 __asm__("x4") = a5;
	register long x5 __asm__("x5") = a6;

	__asm__ volatile("svc 0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			 : "memory");
	return x0;
}
#else
static inline long raw_syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	int saved = errno;
	long r = syscall(n, a1, a2, a3, a4, a5, a6);

	if (r < 0)
		r = -errno;
	errno = saved;
	return r;
}
#endif

#define RAW0(n) raw_syscall6((n), 0, 0, 0, 0, 0, 0)
#define RAW3(n, a, b, c) raw_syscall6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define RAW4(n, a, b, c, d) raw_syscall6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

static inline int raw_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	return (int)RAW4(SYS_openat, dirfd, path, flags, mode);
}
static inline int raw_close(int fd)
{
	return (int)RAW3(SYS_close, fd, 0, 0);
}
static inline ssize_t raw_read(int fd, void *buf, size_t n)
{
	return RAW3(SYS_read, fd, buf, n);
}
static inline ssize_t raw_write(int fd, const void *buf, size_t n)
{
	return RAW3(SYS_write, fd, buf, n);
}
static inline ssize_t raw_pread(int fd, void *buf, size_t n, off_t off)
{
	return RAW4(SYS_pread64, fd, buf, n, off);
}
static inline ssize_t raw_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return RAW4(SYS_pwrite64, fd, buf, n, off);
}
static inline off_t raw_lseek(int fd, off_t off, int whence)
{
	return RAW3(SYS_lseek, fd, off, whence);
}
static inline int raw_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	return (int)RAW4(SYS_newfstatat, dirfd, path, st, flags);
}
static inline int raw_fstat(int fd, struct stat *st)
{
	return raw_fstatat(fd, "", st, AT_EMPTY_PATH);
}
static inline int raw_fcntl(int fd, int cmd, long arg)
{
	return (int)RAW3(SYS_fcntl, fd, cmd, arg);
}
static inline int raw_dup3(int oldfd, int newfd, int flags)
{
	return (int)RAW3(SYS_dup3, oldfd, newfd, flags);
}
static inline ssize_t raw_readlinkat(int dirfd, const char *path, char *buf, size_t n)
{
	return RAW4(SYS_readlinkat, dirfd, path, buf, n);
}
static inline int raw_memfd_create(const char *name, unsigned flags)
{
	return (int)RAW3(SYS_memfd_create, name, flags, 0);
}
static inline pid_t raw_getpid(void)
{
	return (pid_t)RAW0(SYS_getpid);
}
static inline void *raw_mmap(size_t len)
{
	/* PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE */
	long r = raw_syscall6(SYS_mmap, 0, (long)len, 0x1 | 0x2, 0x02 | 0x20 | 0x4000, -1, 0);

	return r < 0 && r > -4096 ? NULL : (void *)r;
}
/* Give the pages back (they read as zeros afterwards): MADV_DONTNEED. */
static inline void raw_madvise_dontneed(void *p, size_t len)
{
	if (p && len)
		RAW3(SYS_madvise, p, len, 4);
}
static inline void raw_munmap(void *p, size_t len)
{
	if (p)
		RAW3(SYS_munmap, p, len, 0);
}

/* errno-setting forms, for passthrough before the real symbols are known. */
static inline long raw_errno(long r)
{
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}
