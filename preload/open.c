/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The interposed open family (glibc 2.36's exported set, checked with nm -D), stdio opens, and
 * the rewind points: lseek/pread, and the stdio ones (rewind, fseek, fseeko), which glibc
 * implements with an internal lseek the lseek wrapper never sees (libproc2's /proc/stat reader
 * in vmstat and top rewinds a FILE). An open first asks identify.c (shim_open_pre), which may
 * serve the virtual file without any real open; otherwise the real call is made (raw system
 * calls before the constructor ran) and, when identify.c asked for it, its result handed to
 * shim_open_hook. A rewind point hands the fd to fdtab.c (shim_rewind_hook) before the real
 * call. Must not: keep state or decide anything about files itself.
 */
#include <stdarg.h>
#include <string.h>

#include "raw.h"
#include "shim.h"

/* glibc's test for the open flags that take a mode argument (musl has no name for it) */
#ifndef __OPEN_NEEDS_MODE
#define __OPEN_NEEDS_MODE(flags) (((flags)&O_CREAT) || ((flags)&O_TMPFILE) == O_TMPFILE)
#endif

#define MODE_ARG(flags, mode)                                                                      \
	do {                                                                                       \
		if (__OPEN_NEEDS_MODE(flags)) {                                                    \
			va_list ap;                                                                \
			va_start(ap, flags);                                                       \
			mode = va_arg(ap, int);                                                    \
			va_end(ap);                                                                \
		}                                                                                  \
	} while (0)

/* A relative open whose text may name a per-CPU file of /sys/devices/system/cpu (cpudir.c), then
 * identify.c's decision. */
static int open_pre(int dirfd, const char *path, int flags, int *ret_fd)
{
	if (path && path[0] != '/' && (flags & O_ACCMODE) == O_RDONLY &&
	    shim_cpufile_rel_named(path)) {
		int k = shim_cpufile_open_at(dirfd, path, flags, ret_fd);

		if (k != SHIM_OPEN_PASS)
			return k;
	}
	return shim_open_pre(dirfd, path, flags, ret_fd);
}

/* Serve a virtual file before the real open when that can be decided (identify.c); else the real
 * open, handed to the late hook when shim_open_pre() asked for it. */
#define OPEN_PRE(dirfd, path, flags, late)                                                         \
	do {                                                                                       \
		int _fd, _k = open_pre((dirfd), (path), (flags), &_fd);                            \
		if (_k == SHIM_OPEN_SERVED)                                                        \
			return _fd;                                                                \
		late = _k == SHIM_OPEN_LATE;                                                       \
	} while (0)

static int open_late(bool late, int fd, const char *path, int flags)
{
	return late ? shim_open_hook(fd, path, flags) : fd;
}

/* Declared by glibc only under _FORTIFY_SOURCE, which the shim is built without. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
int __open(const char *path, int flags, ...);
int __open64(const char *path, int flags, ...);

static int raw_open_errno(int dirfd, const char *path, int flags, mode_t mode)
{
	return (int)raw_errno(raw_openat(dirfd, path, flags, mode));
}

SHIM_EXPORT int open(const char *path, int flags, ...)
{
	bool late;
	mode_t mode = 0;

	MODE_ARG(flags, mode);
	OPEN_PRE(AT_FDCWD, path, flags, late);
	return open_late(late,
			 NEXT_CALL(real_open, (path, flags, mode),
				   raw_open_errno(AT_FDCWD, path, flags, mode)),
			 path, flags);
}

SHIM_EXPORT int open64(const char *path, int flags, ...)
{
	bool late;
	mode_t mode = 0;

	MODE_ARG(flags, mode);
	OPEN_PRE(AT_FDCWD, path, flags, late);
	return open_late(late,
			 NEXT_CALL(real_open64, (path, flags, mode),
				   raw_open_errno(AT_FDCWD, path, flags | O_LARGEFILE, mode)),
			 path, flags);
}

/* __open and __open64 are the same functions as open and open64 in libc. */
SHIM_EXPORT int __open(const char *path, int flags, ...) __attribute__((alias("open"), nonnull(1)));
SHIM_EXPORT int __open64(const char *path, int flags, ...)
	__attribute__((alias("open64"), nonnull(1)));

SHIM_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	bool late;
	mode_t mode = 0;

	MODE_ARG(flags, mode);
	OPEN_PRE(dirfd, path, flags, late);
	return open_late(late,
			 NEXT_CALL(real_openat, (dirfd, path, flags, mode),
				   raw_open_errno(dirfd, path, flags, mode)),
			 path, flags);
}

SHIM_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	bool late;
	mode_t mode = 0;

	MODE_ARG(flags, mode);
	OPEN_PRE(dirfd, path, flags, late);
	return open_late(late,
			 NEXT_CALL(real_openat64, (dirfd, path, flags, mode),
				   raw_open_errno(dirfd, path, flags | O_LARGEFILE, mode)),
			 path, flags);
}

/* _FORTIFY_SOURCE variants: the real ones check for O_CREAT without a mode. */
SHIM_EXPORT int __open_2(const char *path, int flags)
{
	bool late;
	OPEN_PRE(AT_FDCWD, path, flags, late);
	return open_late(
		late,
		NEXT_CALL(real_open_2, (path, flags), raw_open_errno(AT_FDCWD, path, flags, 0)),
		path, flags);
}

SHIM_EXPORT int __open64_2(const char *path, int flags)
{
	bool late;
	OPEN_PRE(AT_FDCWD, path, flags, late);
	return open_late(late,
			 NEXT_CALL(real_open64_2, (path, flags),
				   raw_open_errno(AT_FDCWD, path, flags | O_LARGEFILE, 0)),
			 path, flags);
}

SHIM_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	bool late;
	OPEN_PRE(dirfd, path, flags, late);
	return open_late(late,
			 NEXT_CALL(real_openat_2, (dirfd, path, flags),
				   raw_open_errno(dirfd, path, flags, 0)),
			 path, flags);
}

SHIM_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	bool late;
	OPEN_PRE(dirfd, path, flags, late);
	return open_late(late,
			 NEXT_CALL(real_openat64_2, (dirfd, path, flags),
				   raw_open_errno(dirfd, path, flags | O_LARGEFILE, 0)),
			 path, flags);
}

/* fopen mode string -> open flags (as glibc's _IO_file_fopen reads it). */
static int mode_flags(const char *mode)
{
	int flags;

	switch (mode[0]) {
	case 'r':
		flags = O_RDONLY;
		break;
	case 'w':
		flags = O_WRONLY | O_CREAT | O_TRUNC;
		break;
	case 'a':
		flags = O_WRONLY | O_CREAT | O_APPEND;
		break;
	default:
		return -1;
	}
	for (const char *m = mode + 1; *m && m < mode + 7; m++) {
		if (*m == '+')
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		else if (*m == 'x')
			flags |= O_EXCL;
		else if (*m == 'e')
			flags |= O_CLOEXEC;
	}
	return flags;
}

static FILE *stream_hook(FILE *f, const char *path, const char *mode)
{
	int flags;

	if (!f || !mode)
		return f;
	flags = mode_flags(mode);
	if (flags >= 0)
		shim_open_hook(fileno_unlocked(f), path, flags);
	return f;
}

/* Before the constructor: fdopen() of a raw open (fdopen is not interposed). */
static FILE *fopen_early(const char *path, const char *mode)
{
	int flags = mode_flags(mode), fd;
	FILE *f;

	if (flags < 0) {
		errno = EINVAL;
		return NULL;
	}
	fd = raw_open_errno(AT_FDCWD, path, flags, 0666);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, mode);
	if (!f) {
		int saved = errno;

		raw_close(fd);
		errno = saved;
	}
	return f;
}

/*
 * A virtual file decided before the open (shim_open_pre) becomes a FILE with fdopen(), like
 * fopen() it allocates; when that fails the real fopen runs. *ret_late: hand the real fopen's
 * result to stream_hook(). A file the machine does not have (a hidden CPU's) is NULL with ENOENT
 * and *ret_gone set: no real fopen.
 */
static FILE *fopen_pre(const char *path, const char *mode, bool *ret_late, bool *ret_gone)
{
	int flags, fd, k, saved = errno;
	FILE *f;

	*ret_late = true;
	*ret_gone = false;
	if (!mode || (flags = mode_flags(mode)) < 0)
		return NULL;
	k = open_pre(AT_FDCWD, path, flags, &fd);
	*ret_late = k == SHIM_OPEN_LATE;
	if (k != SHIM_OPEN_SERVED)
		return NULL;
	if (fd < 0) {
		*ret_gone = true;
		return NULL;
	}
	f = fdopen(fd, mode);
	if (!f) {
		raw_close(fd);
		*ret_late = true;
	}
	errno = saved;
	return f;
}

SHIM_EXPORT FILE *fopen(const char *path, const char *mode)
{
	bool late, gone;
	FILE *f = fopen_pre(path, mode, &late, &gone);

	if (f || gone)
		return f;
	f = NEXT_CALL(real_fopen, (path, mode), fopen_early(path, mode));
	return late ? stream_hook(f, path, mode) : f;
}

SHIM_EXPORT FILE *fopen64(const char *path, const char *mode)
{
	bool late, gone;
	FILE *f = fopen_pre(path, mode, &late, &gone);

	if (f || gone)
		return f;
	f = NEXT_CALL(real_fopen64, (path, mode), fopen_early(path, mode));
	return late ? stream_hook(f, path, mode) : f;
}

/* freopen cannot be emulated before the constructor: ENOSYS there (no program seen doing it). */
SHIM_EXPORT FILE *freopen(const char *path, const char *mode, FILE *stream)
{
	FILE *(*next)(const char *, const char *, FILE *) = real_freopen;

	if (!next) {
		errno = ENOSYS;
		return NULL;
	}
	return stream_hook(next(path, mode, stream), path, mode);
}

SHIM_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *stream)
{
	FILE *(*next)(const char *, const char *, FILE *) = real_freopen64;

	if (!next) {
		errno = ENOSYS;
		return NULL;
	}
	return stream_hook(next(path, mode, stream), path, mode);
}

SHIM_EXPORT off_t lseek(int fd, off_t off, int whence)
{
	if (off == 0 && whence == SEEK_SET)
		shim_rewind_hook(fd);
	return NEXT_CALL(real_lseek, (fd, off, whence), raw_errno(raw_lseek(fd, off, whence)));
}

SHIM_EXPORT off_t lseek64(int fd, off_t off, int whence)
{
	if (off == 0 && whence == SEEK_SET)
		shim_rewind_hook(fd);
	return NEXT_CALL(real_lseek64, (fd, off, whence), raw_errno(raw_lseek(fd, off, whence)));
}

SHIM_EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	if (off == 0)
		shim_rewind_hook(fd);
	return NEXT_CALL(real_pread, (fd, buf, n, off), raw_errno(raw_pread(fd, buf, n, off)));
}

SHIM_EXPORT ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
	if (off == 0)
		shim_rewind_hook(fd);
	return NEXT_CALL(real_pread64, (fd, buf, n, off), raw_errno(raw_pread(fd, buf, n, off)));
}

/*
 * _FORTIFY_SOURCE builds (Debian's packages) call these instead of pread/pread64 when the size
 * is not a compile-time constant: the same rewind point. The bounds check is glibc's own; before
 * the constructor an oversized request is cut to the buffer instead (the shim never aborts, and
 * __chk_fail would be one more glibc-only import).
 */
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);

SHIM_EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	if (off == 0)
		shim_rewind_hook(fd);
	return NEXT_CALL(real_pread_chk, (fd, buf, n, off, buflen),
			 raw_errno(raw_pread(fd, buf, n < buflen ? n : buflen, off)));
}

SHIM_EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	if (off == 0)
		shim_rewind_hook(fd);
	return NEXT_CALL(real_pread64_chk, (fd, buf, n, off, buflen),
			 raw_errno(raw_pread(fd, buf, n < buflen ? n : buflen, off)));
}

/*
 * stdio rewinds: refresh the fd first, then let stdio discard its buffer and seek. Before the
 * constructor (another library's constructor seeking a FILE) the seek is done with fsetpos(),
 * which is not interposed: SEEK_CUR from ftello(), SEEK_END from the file's size.
 */
static int fseek_early(FILE *f, off_t off, int whence)
{
	fpos_t pos;
	struct stat st;

	memset(&pos, 0, sizeof(pos));
	if (whence == SEEK_CUR) {
		off_t cur = ftello(f);

		if (cur < 0)
			return -1;
		off += cur;
	} else if (whence == SEEK_END) {
		long r = raw_fstat(fileno_unlocked(f), &st);

		if (r < 0) {
			errno = (int)-r;
			return -1;
		}
		off += st.st_size;
	} else if (whence != SEEK_SET) {
		errno = EINVAL;
		return -1;
	}
	if (off < 0) {
		errno = EINVAL;
		return -1;
	}
#ifdef __GLIBC__
	pos.__pos = off;
	return fsetpos(f, &pos);
#else
	/* musl's fpos_t is opaque; its constructors run after the shim's (no early seek) */
	(void)pos;
	errno = ENOSYS;
	return -1;
#endif
}

SHIM_EXPORT void rewind(FILE *f)
{
	void (*next)(FILE *);

	shim_rewind_hook(fileno_unlocked(f));
	next = real_rewind;
	if (next) {
		next(f);
	} else {
		int saved = errno;

		fseek_early(f, 0, SEEK_SET);
		clearerr(f);
		errno = saved;
	}
}

SHIM_EXPORT int fseek(FILE *f, long off, int whence)
{
	if (off == 0 && whence == SEEK_SET)
		shim_rewind_hook(fileno_unlocked(f));
	return NEXT_CALL(real_fseek, (f, off, whence), fseek_early(f, off, whence));
}

SHIM_EXPORT int fseeko(FILE *f, off_t off, int whence)
{
	if (off == 0 && whence == SEEK_SET)
		shim_rewind_hook(fileno_unlocked(f));
	return NEXT_CALL(real_fseeko, (f, off, whence), fseek_early(f, off, whence));
}

SHIM_EXPORT int fseeko64(FILE *f, off_t off, int whence)
{
	if (off == 0 && whence == SEEK_SET)
		shim_rewind_hook(fileno_unlocked(f));
	return NEXT_CALL(real_fseeko64, (f, off, whence), fseek_early(f, off, whence));
}
