/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The next definitions of names after the shim (dlsym(RTLD_NEXT) without dlsym): next.c.
 */
#pragma once

/*
 * For code that runs only in the constructor: with it at the start of the text, next to the PLT
 * (.text.startup), so that starting a process maps in one fault-around window of the shim's
 * text, not two (a fault at every process start).
 */
#define SHIM_STARTUP __attribute__((section(".text.startup")))
/*
 * For what the constructor writes: in .data, the first page of the writable segment, which
 * ld.so writes anyway (it clears the rest of that page for .bss). In .bss it would be one more
 * page fault at every process start.
 */
#define NEXT_BOOT __attribute__((section(".data.shim_boot")))

/* A name next.c could not decide: only dlsym(RTLD_NEXT) can. */
#define NEXT_UNKNOWN_PTR ((void *)-1L)

/*
 * Once, in the constructor: note the objects after this one up to libc (dl_iterate_phdr, which
 * takes the loader's lock: never from a wrapper). < 0: next.c does not apply (this object was
 * dlopen()ed, an object lacks DT_GNU_HASH, not glibc): every name is for dlsym.
 */
SHIM_STARTUP int next_init(void);
/*
 * After next_init(): how many of @n NUL-terminated @names (one after the other) the objects
 * between this one and libc may define (their Bloom filters). 0: only libc can define them,
 * so each can be looked up on its first use with next_find().
 */
SHIM_STARTUP int next_check(const char *names, unsigned n);
/*
 * After next_init() returned 0: the next definition of @name, or NEXT_UNKNOWN_PTR (not decided:
 * an IFUNC, a name with two visible versions, a name not defined up to libc). No locks, no
 * allocation, no libc call: safe in any context a wrapper runs in (the objects up to libc are
 * never unloaded).
 */
void *next_find(const char *name);
