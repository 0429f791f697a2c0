/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pool of render working memory: see work.h. */
#include <errno.h>
#include <stdlib.h>

#include "work.h"

void work_pool_init(struct work_pool *pool)
{
	pthread_mutex_init(&pool->lock, NULL);
}

static void work_free(struct work *w)
{
	if (w) {
		free(w->scratch);
		free(w->out);
		free(w);
	}
}

struct work *work_get(struct work_pool *pool)
{
	struct work *w;

	pthread_mutex_lock(&pool->lock);
	w = pool->free;
	if (w) {
		pool->free = w->next;
		pool->n_free--;
	}
	pthread_mutex_unlock(&pool->lock);
	if (w)
		return w;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->scratch = malloc(RENDER_START);
	w->out = malloc(RENDER_START);
	if (!w->scratch || !w->out) {
		work_free(w);
		return NULL;
	}
	w->scap = w->ocap = RENDER_START;
	return w;
}

void work_put(struct work_pool *pool, struct work *w)
{
	if (w->scap + w->ocap <= WORK_KEEP_MAX) {
		pthread_mutex_lock(&pool->lock);
		if (pool->n_free < WORK_KEEP) {
			w->next = pool->free;
			pool->free = w;
			pool->n_free++;
			w = NULL;
		}
		pthread_mutex_unlock(&pool->lock);
	}
	work_free(w);
}

int work_grow(struct work *w, size_t scap, size_t ocap)
{
	char *scratch = malloc(scap), *out = malloc(ocap);

	if (!scratch || !out) {
		free(scratch);
		free(out);
		return -ENOMEM;
	}
	free(w->scratch);
	free(w->out);
	w->scratch = scratch;
	w->out = out;
	w->scap = scap;
	w->ocap = ocap;
	return 0;
}

void work_pool_fini(struct work_pool *pool)
{
	while (pool->free) {
		struct work *w = pool->free;

		pool->free = w->next;
		work_free(w);
	}
	pthread_mutex_destroy(&pool->lock);
}
