/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sampler table: the on-disk format that cgprocd writes and every reader decodes. Pure: this
 * file only encodes, decodes and validates bytes; opening, reading and the clock live in
 * source/table.c (reader) and tools/cgprocd (writer).
 *
 * File: <rundir>/table (CGTABLE_FILE), mode 0644, written only by cgprocd. The daemon never
 * modifies a published file: each pass writes a new file next to it and rename()s it over the old
 * one, so an open table is immutable and a reader never sees a torn entry (no seqlock needed).
 * Runtimes must bind-mount the run DIRECTORY into containers, not the file (a file bind mount pins
 * the first inode and would go stale at the first rename).
 *
 * Layout, native byte order (the table never leaves its host; a foreign-endian file fails the
 * magic check):
 *   struct cgtable_header
 *   count x entry, each entry_size bytes: struct cgtable_entry, then cpu_words uint64_t words of
 *   effective-cpuset bitmap (bit n of word n/64 = CPU n)
 * Entries are sorted by (dev, ino), strictly increasing, so a reader binary-searches with a few
 * bounded preads instead of reading the whole file.
 *
 * Key: (dev, ino) of the cgroup directory, i.e. st_dev and st_ino of stat(2) on it. Every cgroup
 * hierarchy is its own superblock, so inode numbers repeat across hierarchies (every root is inode
 * 1) and the device number tells them apart. Both are the same from inside a cgroup namespace or
 * a mount namespace (one superblock per hierarchy: a v1 or v2 mount made inside a cgroup namespace
 * reuses it), so a reader stats its own machine cgroup directory and looks that up.
 *
 * Which hierarchies have entries: every hierarchy that carries a role below, one entry per cgroup
 * directory of it:
 *   - load: the hierarchy of the cpu controller (v1 "cpu", where CPU contention lives; the unified
 *     tree on a v2 host) groups threads for the load average; CGTABLE_HAS_LOAD.
 *   - CPU quota: the cpu controller's hierarchy; CGTABLE_HAS_CPU.
 *   - memory and swap: the memory controller's hierarchy; CGTABLE_HAS_MEMORY.
 *   - cpuset: the cpuset controller's hierarchy; CGTABLE_HAS_CPUSET.
 * On a v2 host that is one entry per cgroup with all flags; on a hybrid host the reader looks up
 * its cpu, memory and cpuset directories separately and merges (cg_sample_lookup does it).
 *
 * Heartbeat: CLOCK_BOOTTIME nanoseconds of the end of the pass. BOOTTIME is monotonic (NTP steps
 * and settimeofday cannot make a dead table look alive or a live one dead, as CLOCK_REALTIME
 * could) and counts suspend (a laptop resumed after an hour shows a stale table, correctly). It is
 * the same in every container except in a time namespace with a boottime offset; the reader
 * corrects for that from /proc/self/timens_offsets. A table whose heartbeat is older than
 * CGTABLE_STALE_PERIODS periods, or more than a period in the future, is treated as absent.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpuset.h"
#include "parse.h"
#include "sample.h"

#define CGTABLE_FILE "table"
#define CGTABLE_MAGIC UINT64_C(0x3142415444524743) /* "CGRDTAB1" little-endian */
#define CGTABLE_VERSION 2 /* 2: the header says which sampler wrote the table */
#define CGTABLE_STALE_PERIODS 3
#define CGTABLE_PERIOD_MIN_NS UINT64_C(100000000)     /* 0.1 s */
#define CGTABLE_PERIOD_MAX_NS UINT64_C(3600000000000) /* 1 h */
#define CGTABLE_COUNT_MAX (UINT64_C(1) << 24)	      /* 16M cgroups: sanity bound */

struct cgtable_header {
	uint64_t magic;
	uint32_t version;
	uint32_t header_size;  /* sizeof(struct cgtable_header) */
	uint32_t entry_size;   /* sizeof(struct cgtable_entry) + 8 * cpu_words */
	uint32_t cpu_words;    /* 1..CPUSET_MAX/64 */
	uint64_t count;	       /* entries */
	uint64_t period_ns;    /* sampling period */
	uint64_t heartbeat_ns; /* CLOCK_BOOTTIME at the end of the pass that wrote the file */
	uint64_t generation;   /* passes since the daemon started */
	uint32_t sampler;      /* CGTABLE_SAMPLER_*: how the load counts were taken */
	uint32_t reserved;     /* 0 */
	uint64_t check;	       /* cgtable_hash of the header with this field 0 */
};

/* How cgprocd counted the threads: walking /proc, or from its eBPF counters. */
#define CGTABLE_SAMPLER_UNKNOWN 0
#define CGTABLE_SAMPLER_PROC 1
#define CGTABLE_SAMPLER_BPF 2
#define CGTABLE_SAMPLER_MAX CGTABLE_SAMPLER_BPF

#define CGTABLE_HAS_LOAD 0x1u
#define CGTABLE_HAS_MEMORY 0x2u
#define CGTABLE_HAS_CPU 0x4u
#define CGTABLE_HAS_CPUSET 0x8u
#define CGTABLE_FLAGS_ALL 0xfu

struct cgtable_entry {
	uint64_t dev;	     /* st_dev of the hierarchy */
	uint64_t ino;	     /* st_ino of the cgroup directory */
	uint32_t flags;	     /* CGTABLE_HAS_* */
	uint32_t check;	     /* low 32 bits of cgtable_hash of the whole entry (cpuset words
				included) with this field 0 */
	uint64_t load[3];    /* 1, 5, 15 minutes; fixed point, FSHIFT 11 */
	uint64_t running;    /* R threads in the subtree */
	uint64_t total;	     /* threads in the subtree */
	uint64_t mem_limit;  /* effective (tightest over ancestors), bytes; UINT64_MAX = none */
	uint64_t swap_limit; /* effective, swap alone, bytes; UINT64_MAX = none */
	uint64_t quota_us;   /* tightest quota/period over ancestors; UINT64_MAX = none */
	uint64_t period_us;
};

_Static_assert(sizeof(struct cgtable_header) == 72, "cgtable_header layout");
_Static_assert(sizeof(struct cgtable_entry) == 96, "cgtable_entry layout");

/* Load values above this are corrupt (2^20 runnable threads in fixed point). */
#define CGTABLE_LOAD_MAX (UINT64_C(1) << 31)

/* FNV-1a 64 over @len bytes. */
uint64_t cgtable_hash(const void *p, size_t len);

/* Smallest cpu_words that holds CPUs 0..@ncpus-1 (at least 1). */
uint32_t cgtable_cpu_words(unsigned ncpus);
static inline size_t cgtable_entry_size(uint32_t cpu_words)
{
	return sizeof(struct cgtable_entry) + (size_t)cpu_words * 8;
}

/* Compare keys: <0, 0, >0. */
int cgtable_key_cmp(uint64_t dev_a, uint64_t ino_a, uint64_t dev_b, uint64_t ino_b);

/* Fill the header fields and its check (sampler: unknown). */
void cgtable_header_init(struct cgtable_header *h, uint32_t cpu_words, uint64_t count,
			 uint64_t period_ns, uint64_t heartbeat_ns, uint64_t generation);
/* Say which sampler wrote the table (CGTABLE_SAMPLER_*) and recompute the check. */
void cgtable_header_set_sampler(struct cgtable_header *h, uint32_t sampler);
/* "proc", "bpf" or "unknown". */
const char *cgtable_sampler_name(uint32_t sampler);
/*
 * Encode one entry into @out (entry_size bytes for @cpu_words): the fixed part, @cpus (cpu_words
 * words of bitmap, e.g. a struct cpuset's bits; zeros when NULL), and the check. @out may alias
 * @e (the daemon encodes its entries in place).
 */
void cgtable_entry_encode(const struct cgtable_entry *e, const uint64_t *cpus, uint32_t cpu_words,
			  void *out);

/*
 * Validate a header read from a file of @file_size bytes: magic, version, sizes, cpu_words,
 * count (header + count * entry_size must equal file_size exactly), period, sampler, check. Does
 * not look at the heartbeat. 0 or -ENODATA. @raw may be shorter than a header (-ENODATA).
 */
int cgtable_header_decode(struct span raw, uint64_t file_size, struct cgtable_header *ret);

/* Fresh: heartbeat within CGTABLE_STALE_PERIODS periods before @now_ns and at most one period
 * after it. */
bool cgtable_fresh(const struct cgtable_header *h, uint64_t now_ns);

/*
 * Decode one entry of @h's size: check, flags, bounds (load, running <= total, period set when a
 * quota is, non-empty cpuset when flagged). 0 or -ENODATA. @ret_cpuset may be NULL; otherwise it
 * is cleared and the entry's words copied in.
 */
int cgtable_entry_decode(const struct cgtable_header *h, struct span raw, struct cgtable_entry *ret,
			 struct cpuset *ret_cpuset);

/*
 * Find (@dev, @ino) in a whole table already in memory (@raw: header + entries, e.g. the daemon's
 * previous table or a test buffer). 0 with the entry, -ENODATA when absent or corrupt. Does not
 * check freshness.
 */
int cgtable_find(struct span raw, uint64_t dev, uint64_t ino, struct cgtable_entry *ret,
		 struct cpuset *ret_cpuset);

/*
 * Merge one entry into a sample: the fields its flags say it carries. Start from
 * cg_sample_init(). Load from a HAS_LOAD entry, memory/swap from HAS_MEMORY, quota from HAS_CPU,
 * cpuset from HAS_CPUSET (intersected with what is already there).
 */
void cg_sample_init(struct cg_sample *s);
void cg_sample_merge(struct cg_sample *s, const struct cgtable_entry *e,
		     const struct cpuset *cpuset);
