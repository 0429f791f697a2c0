/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sampler table (cgprocd) as this process sees it: one cg_sample_cache per process, the
 * "kept answer" of source/table.h, shared by all threads through a seqlock slot (shim.sample):
 * a request copies the cache out, lets cg_sample_lookup_cached() check it
 * (a stat of the table and a clock read while the table is unchanged and fresh) and publishes
 * it back with the time of that check. For SAMPLE_RECHECK_NS after a check, requests for the
 * same machine snapshot take the answer without the stat. Writers claim the slot with a
 * compare-and-swap of their pid and never wait; no locks, no malloc.
 *
 * Owns shim.sample (state.h). Must not: write the table (cgprocd does) or render.
 */
#include <string.h>
#include <time.h>

#include "raw.h"
#include "shim.h"

/* How long an answer stands without looking at the table again (a stat per request otherwise;
 * the sampler publishes every 5 s). */
#define SAMPLE_RECHECK_NS 250000000LL

static bool sslot_read(struct cg_sample_cache *ret, long long *ret_stamp, long long *ret_checked)
{
	for (int tries = 0; tries < 4; tries++) {
		unsigned s1 = atomic_load_explicit(&shim.sample.seq, memory_order_acquire);

		if (s1 & 1)
			return false;
		*ret_stamp = shim.sample.machine_stamp;
		*ret_checked = shim.sample.checked_ns;
		memcpy(ret, &shim.sample.cache, sizeof(*ret));
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&shim.sample.seq, memory_order_relaxed) == s1)
			return true;
	}
	return false;
}

static void sslot_write(const struct cg_sample_cache *c, long long stamp, long long checked)
{
	pid_t pid = raw_getpid();
	int w = atomic_load_explicit(&shim.sample.writer, memory_order_relaxed);
	unsigned s;

	if (w == pid || !atomic_compare_exchange_strong(&shim.sample.writer, &w, pid))
		return;
	s = atomic_load_explicit(&shim.sample.seq, memory_order_relaxed) | 1;
	atomic_store_explicit(&shim.sample.seq, s, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	memcpy(&shim.sample.cache, c, sizeof(*c));
	shim.sample.machine_stamp = stamp;
	shim.sample.checked_ns = checked;
	atomic_store_explicit(&shim.sample.seq, s + 1, memory_order_release);
	atomic_store_explicit(&shim.sample.writer, 0, memory_order_release);
}

int shim_sample_get(const struct cg_src *src, const struct cg_machine *m, long long machine_stamp,
		    struct cg_sample_cache *priv, struct cg_sample *ret)
{
	long long stamp = 0, checked = 0, now = src_mono_ns();
	int r;

	if (!sslot_read(priv, &stamp, &checked))
		cg_sample_cache_init(priv);
	else if (priv->valid && stamp == machine_stamp && now >= checked &&
		 now - checked < SAMPLE_RECHECK_NS) {
		/* looked at moments ago for this very machine */
		if (priv->result < 0)
			return -ENODATA;
		*ret = priv->sample;
		return 0;
	}
	/* the lookup stats and opens the table through the root */
	r = src_root_check(src);
	if (r < 0)
		return r;
	r = cg_sample_lookup_cached(src, m, shim.config.rundir, priv, ret);
	if (priv->valid)
		sslot_write(priv, machine_stamp, now);
	return r;
}
