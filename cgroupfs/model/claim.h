/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A readers/writer claim in one atomic word that nobody ever waits on: 2 per reader, +1 while a
 * writer holds it. A reader gets in while no writer is in; a writer only when the word is 0. A
 * failed claim is the caller's cue to do without (read the file itself, skip keeping it): the
 * shim runs in signal handlers and other people's threads, where waiting could deadlock. Header
 * only, lock-free; no I/O.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>

static inline bool claim_read(atomic_uint *state)
{
	unsigned st = atomic_load_explicit(state, memory_order_relaxed);

	return !(st & 1) && atomic_compare_exchange_strong_explicit(
				    state, &st, st + 2, memory_order_acquire, memory_order_relaxed);
}

static inline void release_read(atomic_uint *state)
{
	atomic_fetch_sub_explicit(state, 2, memory_order_release);
}

static inline bool claim_write(atomic_uint *state)
{
	unsigned zero = 0;

	return atomic_compare_exchange_strong_explicit(state, &zero, 1, memory_order_acquire,
						       memory_order_relaxed);
}

static inline void release_write(atomic_uint *state)
{
	atomic_store_explicit(state, 0, memory_order_release);
}
