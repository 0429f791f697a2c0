/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Encoding, decoding and validation of the sampler table (format in table.h). Pure: works on byte
 * spans only, never trusts a length or count it read, never allocates.
 */
#include <errno.h>
#include <string.h>

#include "table.h"

uint64_t cgtable_hash(const void *p, size_t len)
{
	return fnv1a(FNV1A_INIT, p, len);
}

uint32_t cgtable_cpu_words(unsigned ncpus)
{
	uint32_t w = (ncpus + 63) / 64;

	if (w < 1)
		w = 1;
	if (w > CPUSET_MAX / 64)
		w = CPUSET_MAX / 64;
	return w;
}

int cgtable_key_cmp(uint64_t dev_a, uint64_t ino_a, uint64_t dev_b, uint64_t ino_b)
{
	if (dev_a != dev_b)
		return dev_a < dev_b ? -1 : 1;
	if (ino_a != ino_b)
		return ino_a < ino_b ? -1 : 1;
	return 0;
}

void cgtable_header_init(struct cgtable_header *h, uint32_t cpu_words, uint64_t count,
			 uint64_t period_ns, uint64_t heartbeat_ns, uint64_t generation)
{
	memset(h, 0, sizeof(*h));
	h->magic = CGTABLE_MAGIC;
	h->version = CGTABLE_VERSION;
	h->header_size = sizeof(*h);
	h->cpu_words = cpu_words;
	h->entry_size = (uint32_t)cgtable_entry_size(cpu_words);
	h->count = count;
	h->period_ns = period_ns;
	h->heartbeat_ns = heartbeat_ns;
	h->generation = generation;
	h->check = 0;
	h->check = cgtable_hash(h, sizeof(*h));
}

void cgtable_entry_encode(const struct cgtable_entry *e, const uint64_t *cpus, uint32_t cpu_words,
			  void *out)
{
	struct cgtable_entry fixed = *e;
	unsigned char *o = out;
	size_t size = cgtable_entry_size(cpu_words);

	fixed.check = 0;
	if (cpus)
		memmove(o + sizeof(fixed), cpus, (size_t)cpu_words * 8);
	memcpy(o, &fixed, sizeof(fixed));
	if (!cpus)
		memset(o + sizeof(fixed), 0, (size_t)cpu_words * 8);
	fixed.check = (uint32_t)cgtable_hash(o, size);
	memcpy(o, &fixed, sizeof(fixed));
}

int cgtable_header_decode(struct span raw, uint64_t file_size, struct cgtable_header *ret)
{
	struct cgtable_header h;
	uint64_t check, body;

	if (!raw.p || raw.len < sizeof(h) || file_size < sizeof(h))
		return -ENODATA;
	memcpy(&h, raw.p, sizeof(h));
	if (h.magic != CGTABLE_MAGIC || h.version != CGTABLE_VERSION || h.header_size != sizeof(h))
		return -ENODATA;
	check = h.check;
	h.check = 0;
	if (cgtable_hash(&h, sizeof(h)) != check)
		return -ENODATA;
	h.check = check;
	if (h.cpu_words < 1 || h.cpu_words > CPUSET_MAX / 64 ||
	    h.entry_size != cgtable_entry_size(h.cpu_words))
		return -ENODATA;
	if (h.period_ns < CGTABLE_PERIOD_MIN_NS || h.period_ns > CGTABLE_PERIOD_MAX_NS)
		return -ENODATA;
	if (h.count > CGTABLE_COUNT_MAX)
		return -ENODATA;
	/* count <= 2^24 and entry_size <= 96 + 1024: the product cannot overflow */
	body = file_size - sizeof(h);
	if (body != h.count * h.entry_size)
		return -ENODATA;
	*ret = h;
	return 0;
}

bool cgtable_fresh(const struct cgtable_header *h, uint64_t now_ns)
{
	if (h->heartbeat_ns > now_ns)
		return h->heartbeat_ns - now_ns <= h->period_ns;
	return now_ns - h->heartbeat_ns <= h->period_ns * CGTABLE_STALE_PERIODS;
}

static bool cpuset_words_empty(const uint64_t *w, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (w[i])
			return false;
	return true;
}

int cgtable_entry_decode(const struct cgtable_header *h, struct span raw, struct cgtable_entry *ret,
			 struct cpuset *ret_cpuset)
{
	struct cgtable_entry e;
	uint64_t words[CPUSET_MAX / 64];
	uint32_t check;

	if (h->cpu_words < 1 || h->cpu_words > CPUSET_MAX / 64 ||
	    h->entry_size != cgtable_entry_size(h->cpu_words) || raw.len < h->entry_size)
		return -ENODATA;
	/* One copy of the entry (the table may change under a reader), checked and used as copied;
	 * the hash runs over the fixed part with its check zeroed, then the cpuset words. */
	memcpy(&e, raw.p, sizeof(e));
	memcpy(words, raw.p + sizeof(e), (size_t)h->cpu_words * 8);
	check = e.check;
	e.check = 0;
	if ((uint32_t)fnv1a(cgtable_hash(&e, sizeof(e)), words, (size_t)h->cpu_words * 8) != check)
		return -ENODATA;
	e.check = check;

	if (e.flags & ~CGTABLE_FLAGS_ALL)
		return -ENODATA;
	for (int i = 0; i < 3; i++)
		if (e.load[i] > CGTABLE_LOAD_MAX)
			return -ENODATA;
	if (e.running > e.total)
		return -ENODATA;
	if ((e.flags & CGTABLE_HAS_CPU) && e.quota_us != UINT64_MAX && e.period_us == 0)
		return -ENODATA;
	if ((e.flags & CGTABLE_HAS_CPUSET) && cpuset_words_empty(words, h->cpu_words))
		return -ENODATA;

	*ret = e;
	if (ret_cpuset) {
		memset(ret_cpuset, 0, sizeof(*ret_cpuset));
		memcpy(ret_cpuset->bits, words, (size_t)h->cpu_words * 8);
	}
	return 0;
}

int cgtable_find(struct span raw, uint64_t dev, uint64_t ino, struct cgtable_entry *ret,
		 struct cpuset *ret_cpuset)
{
	struct cgtable_header h;
	uint64_t lo = 0, hi;
	int r;

	r = cgtable_header_decode(raw, raw.len, &h);
	if (r < 0)
		return r;
	hi = h.count;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		const char *p = raw.p + h.header_size + mid * h.entry_size;
		struct cgtable_entry key;
		int c;

		/* Compare on the raw key first; decode (and check) only the hit. */
		memcpy(&key, p, sizeof(key));
		c = cgtable_key_cmp(dev, ino, key.dev, key.ino);
		if (c == 0) {
			struct cgtable_entry e;

			r = cgtable_entry_decode(&h, (struct span){p, h.entry_size}, &e,
						 ret_cpuset);
			if (r < 0)
				return r;
			*ret = e;
			return 0;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -ENODATA;
}

void cg_sample_init(struct cg_sample *s)
{
	memset(s, 0, sizeof(*s));
	s->mem_limit = UINT64_MAX;
	s->swap_limit = UINT64_MAX;
	s->quota_us = UINT64_MAX;
	s->period_us = 0;
	s->has_cpuset = false;
}

void cg_sample_merge(struct cg_sample *s, const struct cgtable_entry *e,
		     const struct cpuset *cpuset)
{
	if (e->flags & CGTABLE_HAS_LOAD) {
		for (int i = 0; i < 3; i++)
			s->load.avg[i] = e->load[i];
		s->load.running = e->running;
		s->load.total = e->total;
		s->load.lastpid = 0;
	}
	if (e->flags & CGTABLE_HAS_MEMORY) {
		if (e->mem_limit < s->mem_limit)
			s->mem_limit = e->mem_limit;
		if (e->swap_limit < s->swap_limit)
			s->swap_limit = e->swap_limit;
	}
	if ((e->flags & CGTABLE_HAS_CPU) && e->quota_us != UINT64_MAX && e->period_us) {
		/* keep the tighter ratio: q1/p1 < q2/p2  <=>  q1*p2 < q2*p1 */
		if (s->quota_us == UINT64_MAX || !s->period_us ||
		    (unsigned __int128)e->quota_us * s->period_us <
			    (unsigned __int128)s->quota_us * e->period_us) {
			s->quota_us = e->quota_us;
			s->period_us = e->period_us;
		}
	}
	if ((e->flags & CGTABLE_HAS_CPUSET) && cpuset) {
		if (!s->has_cpuset) {
			s->cpuset = *cpuset;
			s->has_cpuset = true;
		} else {
			for (size_t i = 0; i < CPUSET_MAX / 64; i++)
				s->cpuset.bits[i] &= cpuset->bits[i];
		}
	}
}
