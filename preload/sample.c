/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sampler table (cgprocd) as this process sees it: one cg_sample_cache per process, the
 * "kept answer" of source/table.h, shared by all threads through a seqlock slot like the
 * machine's (machine.c): a request copies the cache out, lets cg_sample_lookup_cached() check it
 * (a stat of the table and a clock read while the table is unchanged and fresh) and publishes
 * it back only when a full lookup replaced it. Writers claim the slot with a compare-and-swap of
 * their pid and never wait; no locks, no malloc.
 *
 * Built only when the core has the reader (source/table.h); without it renders get no sample and
 * show the host's load average.
 */
#include <string.h>

#include "shim.h"

#ifdef SHIM_HAVE_TABLE
#include "raw.h"

struct sample_slot {
	atomic_uint seq;
	atomic_int writer;
	struct cg_sample_cache cache;
};

static struct sample_slot sslot;

static bool sslot_read(struct cg_sample_cache *ret)
{
	for (int tries = 0; tries < 4; tries++) {
		unsigned s1 = atomic_load_explicit(&sslot.seq, memory_order_acquire);

		if (s1 & 1)
			return false;
		memcpy(ret, &sslot.cache, sizeof(*ret));
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&sslot.seq, memory_order_relaxed) == s1)
			return true;
	}
	return false;
}

static void sslot_write(const struct cg_sample_cache *c)
{
	pid_t pid = raw_getpid();
	int w = atomic_load_explicit(&sslot.writer, memory_order_relaxed);
	unsigned s;

	if (w == pid || !atomic_compare_exchange_strong(&sslot.writer, &w, pid))
		return;
	s = atomic_load_explicit(&sslot.seq, memory_order_relaxed) | 1;
	atomic_store_explicit(&sslot.seq, s, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	memcpy(&sslot.cache, c, sizeof(*c));
	atomic_store_explicit(&sslot.seq, s + 1, memory_order_release);
	atomic_store_explicit(&sslot.writer, 0, memory_order_release);
}

int shim_sample_get(const struct cg_src *src, const struct cg_machine *m,
		    struct cg_sample_cache *priv, struct cg_sample *ret)
{
	uint64_t ident[4], hash, heartbeat;
	bool valid;
	int r;

	if (!sslot_read(priv))
		cg_sample_cache_init(priv);
	valid = priv->valid;
	memcpy(ident, priv->ident, sizeof(ident));
	hash = priv->machine_hash;
	heartbeat = priv->heartbeat_ns;
	r = cg_sample_lookup_cached(src, m, shim_config.rundir, priv, ret);
	if (priv->valid && (!valid || memcmp(ident, priv->ident, sizeof(ident)) != 0 ||
			    hash != priv->machine_hash || heartbeat != priv->heartbeat_ns))
		sslot_write(priv);
	return r;
}
#endif
