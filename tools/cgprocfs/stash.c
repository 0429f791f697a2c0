/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The getattr-to-open hand-over of cgprocfs: see stash.h. */
#include <stdlib.h>

#include "source/source.h"
#include "stash.h"

void stash_init(struct stash *st)
{
	pthread_mutex_init(&st->lock, NULL);
}

void stash_fini(struct stash *st)
{
	for (size_t i = 0; i < STASH_SLOTS; i++)
		free(st->slot[i].data);
	pthread_mutex_destroy(&st->lock);
}

static struct stash_slot *stash_slot_of(struct stash *st, pid_t pid, unsigned vfile_id)
{
	return &st->slot[((unsigned)pid * 31u + vfile_id) % STASH_SLOTS];
}

void stash_put(struct stash *st, pid_t pid, unsigned vfile_id, char *data, size_t len)
{
	struct stash_slot *slot = stash_slot_of(st, pid, vfile_id);
	char *old;

	pthread_mutex_lock(&st->lock);
	old = slot->data;
	slot->pid = pid;
	slot->vfile_id = vfile_id;
	slot->stamp_ns = (uint64_t)src_mono_ns();
	slot->data = data;
	slot->len = len;
	pthread_mutex_unlock(&st->lock);
	free(old);
}

bool stash_take(struct stash *st, pid_t pid, unsigned vfile_id, char **ret_data, size_t *ret_len)
{
	struct stash_slot *slot = stash_slot_of(st, pid, vfile_id);
	bool hit = false;

	pthread_mutex_lock(&st->lock);
	if (slot->data && slot->pid == pid && slot->vfile_id == vfile_id &&
	    (uint64_t)src_mono_ns() - slot->stamp_ns < STASH_TTL_NS) {
		*ret_data = slot->data;
		*ret_len = slot->len;
		slot->data = NULL;
		hit = true;
	}
	pthread_mutex_unlock(&st->lock);
	return hit;
}
