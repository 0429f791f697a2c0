/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CPU sets in the kernel's list format ("0-3,8,10-11"), as found in cpuset.cpus,
 * cpuset.cpus.effective and /sys/devices/system/cpu/{online,possible,present}.
 * Pure: no I/O. CPU ids are kept as they are (never renumbered) so that every virtual file agrees
 * with sched_getaffinity().
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "parse.h"

#define CPUSET_MAX 8192 /* the kernel's NR_CPUS ceiling on x86_64 */

struct cpuset {
	uint64_t bits[CPUSET_MAX / 64];
};

/* "" and "\n" parse as the empty set. Ids >= CPUSET_MAX, reversed ranges, garbage: -EINVAL. */
int cpuset_parse(struct span s, struct cpuset *ret);
void cpuset_clear(struct cpuset *s);
void cpuset_set(struct cpuset *s, unsigned cpu);
bool cpuset_test(const struct cpuset *s, unsigned cpu);
unsigned cpuset_count(const struct cpuset *s);
bool cpuset_empty(const struct cpuset *s);
/* @dst &= @other */
void cpuset_and(struct cpuset *dst, const struct cpuset *other);
/* The @n lowest ids of @s (all of @s when it has fewer). Used by the opt-in quota view. @ret may
 * be @s. */
void cpuset_first_n(const struct cpuset *s, unsigned n, struct cpuset *ret);
/* Whether @a and @b share a CPU. */
bool cpuset_intersects(const struct cpuset *a, const struct cpuset *b);
/* Canonical list format without newline; the empty set prints nothing. */
void cpuset_format(const struct cpuset *s, struct buf *out);

/*
 * The kernel's bitmap format ("%*pb", as in cpuN/topology/core_cpus and thread_siblings): hex,
 * most significant first, in ','-separated groups of 32 bits; the first group has as many digits
 * as nr_cpu_ids needs. Garbage, an empty text or a bit >= CPUSET_MAX: -EINVAL.
 */
int cpuset_parse_mask(struct span s, struct cpuset *ret);
/* @s in the bitmap format with the layout (groups and digits) of @like, a host file of the same
 * kind, so that a mask restricted to visible CPUs is as wide as the host's. No newline. @like
 * not a bitmap: -EINVAL, nothing written. */
int cpuset_format_mask(const struct cpuset *s, struct span like, struct buf *out);
