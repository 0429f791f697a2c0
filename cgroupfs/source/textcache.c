/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kept text of slow-moving host files (struct src_textcache in source.h). The memory belongs to
 * the front end; nothing here is global. Seqlock entries: a reader copies the text into its own
 * buffer and retries when a writer moved the sequence meanwhile (a few times, then it reads the
 * file itself); a writer is claimed by compare-and-swap and never waited for. Signal handlers
 * and forked children only ever fall back to reading the file.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "source.h"

int src_textcache_add(struct src_textcache *c, const char *relpath, uint64_t max_age_ns, char *buf,
		      size_t size)
{
	size_t n = strlen(relpath);

	if (n >= SRC_TEXTCACHE_PATH)
		return -ENAMETOOLONG;
	if (!buf || size < 2)
		return -EINVAL;
	for (unsigned i = 0; i < SRC_TEXTCACHE_ENTRIES; i++) {
		struct src_textentry *e = &c->e[i];

		if (e->max_age_ns != 0)
			continue;
		memcpy(e->path, relpath, n + 1);
		e->text = buf;
		e->size = size;
		e->stamp_ns = 0;
		e->max_age_ns = max_age_ns ? max_age_ns : 1;
		return 0;
	}
	return -ENOSPC;
}

/* A fresh kept copy into @buf (and its generation): 0, -ENOBUFS (too small), -EAGAIN (none: read
 * the file). */
static int entry_copy(struct src_textentry *e, int64_t now, char *buf, size_t size, size_t *ret_len,
		      uint64_t *ret_gen)
{
	for (int tries = 0; tries < 4; tries++) {
		unsigned s1 = atomic_load_explicit(&e->seq, memory_order_acquire);
		int64_t stamp;
		uint64_t gen;
		size_t len;
		int r = 0;

		if (s1 & 1)
			return -EAGAIN;
		stamp = e->stamp_ns;
		gen = e->gen;
		len = e->len;
		if (stamp == 0 || now < stamp || (uint64_t)(now - stamp) >= e->max_age_ns ||
		    len >= e->size)
			r = -EAGAIN;
		else if (len >= size)
			r = -ENOBUFS;
		else
			memcpy(buf, e->text, len);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&e->seq, memory_order_relaxed) != s1)
			continue;
		if (r == 0) {
			buf[len] = 0;
			if (ret_len)
				*ret_len = len;
			*ret_gen = gen;
		}
		return r;
	}
	return -EAGAIN;
}

/* Keep @text; its generation, 0 when it was not kept (another writer, too long). */
static uint64_t entry_store(struct src_textentry *e, int64_t now, const char *text, size_t len)
{
	unsigned zero = 0, s;
	uint64_t gen;

	if (len >= e->size ||
	    !atomic_compare_exchange_strong_explicit(&e->writer, &zero, 1, memory_order_acquire,
						     memory_order_relaxed))
		return 0;
	s = atomic_load_explicit(&e->seq, memory_order_relaxed) | 1;
	atomic_store_explicit(&e->seq, s, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	memcpy(e->text, text, len);
	e->len = len;
	e->stamp_ns = now;
	gen = ++e->gen;
	atomic_store_explicit(&e->seq, s + 1, memory_order_release);
	atomic_store_explicit(&e->writer, 0, memory_order_release);
	return gen;
}

int src_textcache_read(const struct cg_src *src, const char *relpath, char *buf, size_t size,
		       size_t *ret_len, uint64_t *ret_gen)
{
	struct src_textentry *e = NULL;
	size_t len;
	int64_t now;
	int r;

	for (unsigned i = 0; i < SRC_TEXTCACHE_ENTRIES; i++) {
		if (src->texts->e[i].max_age_ns && strcmp(src->texts->e[i].path, relpath) == 0) {
			e = &src->texts->e[i];
			break;
		}
	}
	if (!e)
		return -EAGAIN;
	now = src_mono_ns();
	r = entry_copy(e, now, buf, size, ret_len, ret_gen);
	if (r != -EAGAIN)
		return r;
	r = src_read_uncached(src, relpath, buf, size, &len);
	if (r < 0)
		return r;
	*ret_gen = entry_store(e, now, buf, len);
	if (ret_len)
		*ret_len = len;
	return 0;
}

void src_textcache_add_host(struct src_textcache *c, char *bufs)
{
	(void)src_textcache_add(c, "proc/cpuinfo", SRC_HOST_TEXT_AGE_NS, bufs, SRC_TEXTCACHE_MAX);
	(void)src_textcache_add(c, "proc/meminfo", SRC_HOST_TEXT_AGE_NS, bufs + SRC_TEXTCACHE_MAX,
				SRC_TEXTCACHE_MAX);
}
