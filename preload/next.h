/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The next definitions of names after the shim (dlsym(RTLD_NEXT) without dlsym): next.c.
 */
#pragma once

/*
 * For code that runs only in the constructor: with it at the start of the text, next to the PLT
 * (.text.unlikely), so that starting a process maps in one fault-around window of the shim's
 * text, not two (issue 3: process start).
 */
#define SHIM_STARTUP __attribute__((section(".text.startup")))

/* A name next_find_all() could not decide: the caller asks dlsym(RTLD_NEXT). */
#define NEXT_UNKNOWN_PTR ((void *)-1L)

/*
 * @names: @n NUL-terminated names one after the other. ret[k]: the next definition of name k, or
 * NEXT_UNKNOWN_PTR. Returns how many are NEXT_UNKNOWN_PTR. Takes the loader's lock
 * (dl_iterate_phdr): for the constructor only, never from a wrapper.
 */
SHIM_STARTUP int next_find_all(const char *names, void **ret, unsigned n);
