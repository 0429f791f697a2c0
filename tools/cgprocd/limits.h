/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A cgroup's limits during a pass (see sampler.h): its own limit files (memory, swap, CPU quota,
 * cpuset), read through the fd cache and remembered between refreshes, tightened by its parent's
 * effective limits. Limit files cannot be watched (kernfs sends no inotify event when one is
 * written), so each cgroup re-reads them on a schedule spread over passes. Nothing here walks the
 * tree or counts tasks.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sampler.h"

#define LIMITS_YOUNG 3	    /* passes in which a new cgroup re-reads its limits every time */
#define LIMITS_PER_PASS 256 /* limit refreshes a pass aims at before spreading them out */
#define LIMITS_EVERY_MAX 12 /* ... over at most this many passes (60 s at 5 s) */

/* A cgroup's effective limits (UINT64_MAX: none), handed down the walk to its children. */
struct eff {
	uint64_t mem, memsw, swap, quota, period;
	bool has_cpuset;
	uint64_t cpus[CPUSET_MAX / 64];
};

/* File slots of a cgroup in the fd cache. */
enum {
	SLOT_MEM,
	SLOT_SWAP,
	SLOT_QUOTA,
	SLOT_PERIOD,
	SLOT_CPUSET
};

/* The cgroup being visited. Its directory is opened only when something needs it (a listing, a
 * limit file due, a watch to add): most passes need none for most cgroups. */
struct visit {
	int dirfd;		    /* -1: not open (yet) */
	bool own_fd;		    /* dirfd was opened for this visit: close it after */
	size_t node;		    /* (size_t)-1: not cached */
	const struct visit *parent; /* NULL for a hierarchy's root (always open) */
	const char *name;	    /* in the parent's listing */
};

/* The visit's directory fd, opened (with its parents') on first use. -1 when it vanished. */
int visit_fd(const struct visit *v);

/*
 * The effective limits of the cgroup of @vi (inode @ino) into @ret: its own, from its files or,
 * between refreshes, from what they said last time, tightened by its parent's @parent.
 */
void limits_read(struct sampler *s, const struct sampler_hier *h, const struct visit *vi,
		 uint64_t ino, const struct eff *parent, struct eff *ret);
