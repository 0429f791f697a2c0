/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Working memory of cgprocfs's renders (scratch for the inputs, the output buffer), kept in a
 * small pool between requests: no page faults and no heap trimming per request.
 */
#pragma once

#include <pthread.h>
#include <stddef.h>

#define RENDER_START (64 * 1024)
#define RENDER_MAX (64 * 1024 * 1024)
#define WORK_KEEP 8		    /* working areas kept between requests */
#define WORK_KEEP_MAX (1024 * 1024) /* larger ones are freed after use */

/* Working memory of one render: kept in a pool between requests. */
struct work {
	struct work *next;
	char *scratch, *out;
	size_t scap, ocap;
};

struct work_pool {
	pthread_mutex_t lock;
	struct work *free;
	unsigned n_free;
};

void work_pool_init(struct work_pool *pool);
void work_pool_fini(struct work_pool *pool);
/* A working area of at least RENDER_START each for scratch and output; NULL: out of memory. */
struct work *work_get(struct work_pool *pool);
/* Back to the pool (or freed when the pool is full or @w grew large). */
void work_put(struct work_pool *pool, struct work *w);
/* Grow @w to @scap and @ocap (contents are not kept). 0 or -ENOMEM (@w unchanged). */
int work_grow(struct work *w, size_t scap, size_t ocap);
