/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the eBPF counter (loadcount.bpf.c) and its reader (bpfcount.c) share. */
#pragma once

/*
 * A task's word in the `tasks` map: its cgroup id shifted left by LC_SHIFT, LC_RUNNABLE when it is
 * on a run queue, LC_COUNTED when the load average counts it (runnable or uninterruptible).
 */
#define LC_COUNTED 1
#define LC_RUNNABLE 2
#define LC_SHIFT 2

/*
 * The `slots` table: a cgroup's slot is the first of LC_PROBES slots from its hash (its id times
 * LC_HASH_MUL, top bits) that holds its id or was empty when the cgroup claimed it.
 */
#define LC_PROBES 32
#define LC_HASH_MUL 0x9E3779B97F4A7C15ULL /* 2^64 / golden ratio: spreads sequential inodes */

/* Per cgroup (cgid: its id = the inode of its directory; 0: a free slot), tasks directly in it. */
struct lc_slot {
	__u64 cgid;
	__s64 active;  /* counted by the load average: runnable + uninterruptible */
	__s64 running; /* runnable */
	__s64 total;   /* every task */
};
