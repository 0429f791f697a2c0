/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libcgproc-early.so, linked by cgproc-probe: its constructor calls sysconf() the way allocators
 * and sanitizer runtimes do during their own start-up. A library the program links is
 * initialised before a preloaded one, so these calls reach the shim before its constructor ran.
 * The probe's "early" action prints what they returned. Test code.
 */
#include <errno.h>
#include <unistd.h>

#include "early.h"

struct early_seen early_seen;

__attribute__((constructor)) static void early_init(void)
{
	static const int names[EARLY_N] = {
		_SC_ARG_MAX,  _SC_SIGSTKSZ,	    _SC_NGROUPS_MAX,	  _SC_OPEN_MAX,
		_SC_PAGESIZE, _SC_CLK_TCK,	    _SC_NPROCESSORS_ONLN, _SC_PHYS_PAGES,
		_SC_LINE_MAX, _SC_GETPW_R_SIZE_MAX, _SC_HOST_NAME_MAX,	  _SC_MINSIGSTKSZ,
	};

	for (int i = 0; i < EARLY_N; i++) {
		errno = 4242;
		early_seen.value[i] = sysconf(names[i]);
		early_seen.err[i] = errno;
	}
	early_seen.done = 1;
}
