/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The house idioms every part may use: ARRAY_SIZE with a type check, and cleanup attributes so a
 * function that owns memory, an fd or a stream releases it on every return without an unwind
 * ladder. Header only, no state; the pure model may include it (it calls nothing itself).
 */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Elements of an array; a compile error when @a is a pointer (sizeof would be the pointer's). */
#define ARRAY_SIZE(a)                                                                              \
	(sizeof(a) / sizeof((a)[0]) +                                                              \
	 0 * sizeof(struct {                                                                       \
		 _Static_assert(!__builtin_types_compatible_p(__typeof__(a), __typeof__(&(a)[0])), \
				"ARRAY_SIZE of a pointer");                                        \
		 int unused;                                                                       \
	 }))

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(const int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
}

static inline void fclosep(FILE *const *f)
{
	if (*f)
		(void)fclose(*f);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Hand a cleanup variable's object to the caller: its value, and the variable no longer owns it. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) take_ptr_ = (p);                                                     \
		(p) = NULL;                                                                        \
		take_ptr_;                                                                         \
	})
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int take_fd_ = (fd);                                                               \
		(fd) = -1;                                                                         \
		take_fd_;                                                                          \
	})
