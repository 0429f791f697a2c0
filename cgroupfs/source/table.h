/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reader of the sampler table (format: model/table.h). Everything is opened relative to the
 * src's root fd; reads are bounded preads into stack memory (no malloc), so the shim can call it.
 * Any problem with the table (absent, stale, truncated, corrupt, foreign version, our cgroup not
 * in it) is -ENODATA: the caller serves the host's values instead.
 */
#pragma once

#include <stdint.h>

#include "../model/table.h"
#include "source.h"

/* CLOCK_BOOTTIME in ns as the table's writer sees it: the caller's clock minus the boottime
 * offset of its time namespace (src's proc/self/timens_offsets; 0 when absent). */
int cgtable_now(const struct cg_src *src, uint64_t *ret_ns);

/* Open <rundir>/table under the src root (@rundir absolute, e.g. "/run/cgproc"). Returns an fd. */
int cgtable_open(const struct cg_src *src, const char *rundir);

/* Read and validate the header of an open table against the file's real size (magic, version,
 * sizes, count). Freshness is the caller's: cgtable_fresh(). 0 or -ENODATA. */
int cgtable_read_header(int fd, struct cgtable_header *ret);

/* Binary search with preads. 0, or -ENODATA when absent or corrupt. @ret_cpuset may be NULL. */
int cgtable_lookup(int fd, const struct cgtable_header *h, uint64_t dev, uint64_t ino,
		   struct cgtable_entry *ret, struct cpuset *ret_cpuset);

/* st_dev/st_ino of the machine cgroup's directory of controller @c (the table's key). */
int cg_machine_key(const struct cg_src *src, const struct cg_machine *m, enum cg_controller c,
		   uint64_t *ret_dev, uint64_t *ret_ino);

/*
 * The sampler's values for machine @m: load from the cpu controller's directory (the unified one
 * on v2), memory/swap limits from the memory directory, quota from the cpu directory, cpuset from
 * the cpuset directory, merged. @rundir NULL = CGPROC_RUNDIR_DEFAULT. -ENODATA when there is no
 * fresh valid table or the machine's cpu cgroup has no load entry in it. Limits whose directory
 * has no entry read as "none" (UINT64_MAX / no cpuset).
 */
int cg_sample_lookup(const struct cg_src *src, const struct cg_machine *m, const char *rundir,
		     struct cg_sample *ret);

/*
 * A front end's kept answer (the shim keeps one per process, cgprocfs one per machine): a call
 * costs one stat of the table path and a clock read while the table file is the same one and
 * fresh; the full lookup runs only when the daemon has published a new table (every period) or
 * the machine changed. Plain memory: no fd is kept, so programs that close every fd cannot
 * break it. Zero-initialise it (or call cg_sample_cache_init).
 */
struct cg_sample_cache {
	bool valid;
	int result;	       /* 0 or -ENODATA */
	uint64_t ident[4];     /* table dev, ino, size, mtime ns; all 0: there was no table */
	uint64_t machine_hash; /* of @rundir and the machine's directories */
	uint64_t heartbeat_ns, period_ns;
	struct cg_sample sample;
};

void cg_sample_cache_init(struct cg_sample_cache *c);
/* Which machine @m is (its rule, init and cgroup paths), FNV-1a continuing from @h: equal for
 * two lookups that found the same machine, a key for what is kept per machine. */
uint64_t cg_machine_hash(const struct cg_machine *m, uint64_t h);
/* cg_sample_lookup() through @c. */
int cg_sample_lookup_cached(const struct cg_src *src, const struct cg_machine *m,
			    const char *rundir, struct cg_sample_cache *c, struct cg_sample *ret);
