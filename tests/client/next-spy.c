/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A second interposer of open(), preloaded after libcgproc.so by shim-probe's "nextspy" mode: the
 * shim's next open() must be this one (dlsym(RTLD_NEXT) semantics, preload/next.c), which
 * counts its calls and forwards them to its own next definition.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>

static int opens;

__attribute__((visibility("default"))) int spy_opens(void);
int spy_opens(void)
{
	return __atomic_load_n(&opens, __ATOMIC_RELAXED);
}

__attribute__((visibility("default"))) int open(const char *path, int flags, ...)
{
	int (*next)(const char *, int, ...);
	void *p = dlsym(RTLD_NEXT, "open");
	mode_t mode = 0;

	if (__OPEN_NEEDS_MODE(flags)) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, int);
		va_end(ap);
	}
	__atomic_add_fetch(&opens, 1, __ATOMIC_RELAXED);
	*(void **)&next = p;
	return next(path, flags, mode);
}
