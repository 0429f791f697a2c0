/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgprocd's sampler: one pass walks every cgroup hierarchy that carries a role of the table
 * (model/table.h), counts R and D threads per cgroup of the cpu hierarchy, aggregates children
 * into parents, computes effective limits top-down, steps the load averages and writes the table.
 * The counts come from the eBPF counters (bpfcount.h: one map read per pass, O(cgroups)) or, as
 * the fallback, from one read of /proc/<tid>/stat per thread of the cpu hierarchy
 * (O(threads + cgroups) reads). A handful of small limit files per cgroup are read either way;
 * sorting the entries adds O(cgroups log cgroups) comparisons.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bpfcount.h"
#include "model/cpuset.h"
#include "fdcache.h"

#define SAMPLER_HIER_MAX 4

struct sampler_hier {
	char mount[512]; /* absolute mount point of the hierarchy's root */
	bool v2;
	unsigned roles; /* CGTABLE_HAS_* this hierarchy provides */
};

/* --sampler: how load counts are taken. */
enum sampler_mode {
	SAMPLER_PROC,
	SAMPLER_BPF,
	/* The default: whichever costs the host less (choose.h), among those that load. The bpf
	 * sampler charges every context switch and wakeup on the host, which pays off against
	 * the /proc walk on hosts with many threads that switch at ordinary rates. */
	SAMPLER_AUTO,
};

struct sampler_stats {
	uint64_t pass;
	uint64_t cgroups;  /* directories visited (all hierarchies) */
	uint64_t threads;  /* thread states read */
	uint64_t vanished; /* threads or cgroups gone mid-walk */
	uint64_t limits;   /* cgroups whose limit files were read */
	uint64_t listed;   /* directories listed (new, changed, or not watched) */
	uint64_t cpu_us;   /* user + system CPU time of the pass */
	uint64_t wall_us;
	uint64_t walk_us;     /* wall time of the tree walk: limits, counts, aggregation */
	uint64_t walk_cpu_us; /* CPU time of the walk (the rest of cpu_us: averages and table) */
	uint64_t write_us;    /* wall time of averaging, sorting, encoding and writing the table */
	uint64_t bytes;	      /* table size */
	/* parts of the above, wall time: where a pass over many cgroups goes */
	uint64_t limits_us; /* reading limit files (in walk_us) */
	uint64_t bpf_us;    /* reading and pruning the eBPF counts (in walk_us) */
	uint64_t file_us;   /* writing and renaming the table file (in write_us) */
};

struct sampler_key {
	uint64_t dev, ino;
	size_t at; /* position in the walk */
};

struct sampler {
	int procfd;
	int rundirfd;
	char self_str[16]; /* our own pid: the sampler is not part of anyone's load */
	size_t self_len;
	struct sampler_hier hier[SAMPLER_HIER_MAX];
	unsigned nhier;
	uint32_t cpu_words;
	uint64_t period_ns;
	uint64_t exp[3];
	uint64_t generation;
	struct bpfcount *bpf;	   /* the eBPF counters; NULL: the /proc walk counts */
	struct bpfcount *bpf_idle; /* auto: the counters loaded but detached (proc counts) */
	int inofd;		   /* inotify on every cgroup directory walked: new children */
	bool ino_full;		   /* out of inotify watches (logged once) */
	bool all_dirty;		   /* inotify lost events: list every directory in the next pass */
	uint64_t (*wd_key)[2];	   /* by watch descriptor: dev, ino of the directory */
	size_t nwd;
	uint64_t limits_every; /* a cgroup re-reads its limit files every this many passes */
	char bpf_err[256];     /* why not, in auto mode */

	/* this pass: entries of entry_size bytes, unsorted until the end */
	unsigned char *body;
	size_t count, cap;
	/* the order of the last sort: the keys in walk order and, by key, where each entry
	 * was in the walk; a pass over an unchanged tree (most) reuses it instead of sorting */
	struct sampler_key *walk_keys;
	size_t *sorted;
	size_t nkeys;
	unsigned char *spare; /* cap entries: the body in key order */
	void *effs;	      /* the walk's effective limits, one struct eff (limits.h) per depth */
	/* the previous table (header + entries), the EWMA state */
	unsigned char *prev;
	size_t prev_len;

	struct fd_budget budget;
	struct tid_cache tids;
	struct cg_cache cgs;

	struct cpuset scratch_cpuset; /* a parsed cpuset file, before it is cut to cpu_words */
	char *buf;		      /* tasks files */
	size_t buf_size;
	struct sampler_stats stats;
};

/*
 * Find the hierarchies (from /proc/self/mountinfo), the CPU count, the EWMA factors for
 * @period_ns (exactly the kernel's at 5 s), open @rundir (created 0755 when missing) and seed the
 * load averages from a table already there when it is recent (a restart resumes them).
 * -errno with a message in @err.
 */
int sampler_init(struct sampler *s, const char *rundir, uint64_t period_ns, enum sampler_mode mode,
		 char *err, size_t errsize);
/* CGTABLE_SAMPLER_* of this sampler. */
uint32_t sampler_kind(const struct sampler *s);
/* New period (SIGHUP): new EWMA factors. */
void sampler_set_period(struct sampler *s, uint64_t period_ns);
/*
 * --sampler=auto: count with the eBPF counters from the next pass on (@on; they seed at it) or
 * with the /proc walk (detaching them). 0, or -errno when they cannot attach. No-op when there
 * are none or they already do what @on says.
 */
int sampler_use_bpf(struct sampler *s, bool on);
/*
 * One pass and one table write. Only errors writing the table are returned. @step: a periodic
 * pass, which steps the load averages; an extra pass (a new cgroup appeared) publishes the
 * tree and the limits with the averages left as they are (new cgroups start at 0).
 */
int sampler_pass(struct sampler *s, bool step);
/*
 * Read what inotify reported (s->inofd is non-blocking): true when a directory was created in a
 * cgroup directory of any hierarchy, i.e. a new cgroup that deserves an entry now.
 */
bool sampler_new_cgroups(struct sampler *s);
void sampler_done(struct sampler *s);

/* The EWMA factor for an average of @minutes with one step per @period_ns, fixed point. */
uint64_t sampler_exp(uint64_t period_ns, unsigned minutes);
