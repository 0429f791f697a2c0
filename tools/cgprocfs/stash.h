/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The getattr-to-open hand-over of cgprocfs. A getattr must render (the size is the caller's);
 * programs that stat() a file and then open it (ls -l, Python's pathlib, tail) would pay two
 * renders, so the rendering is kept briefly for the same caller's open that follows.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define STASH_SLOTS 16
#define STASH_TTL_NS 100000000ULL /* a getattr's rendering is reused by an open within 100 ms */

struct stash_slot {
	pid_t pid;
	unsigned vfile_id;
	uint64_t stamp_ns;
	char *data;
	size_t len;
};

struct stash {
	pthread_mutex_t lock;
	struct stash_slot slot[STASH_SLOTS];
};

void stash_init(struct stash *st);
void stash_fini(struct stash *st);
/* Keep @data (ownership passes) for the open that usually follows a getattr. */
void stash_put(struct stash *st, pid_t pid, unsigned vfile_id, char *data, size_t len);
/* The kept rendering of @vfile_id for @pid (ownership passes), when it is fresh. */
bool stash_take(struct stash *st, pid_t pid, unsigned vfile_id, char **ret_data, size_t *ret_len);
