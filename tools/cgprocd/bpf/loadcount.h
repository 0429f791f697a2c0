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

/* Per cgroup (key: cgroup id = the inode of its directory), tasks directly in it. */
struct lc_count {
	__s64 active;  /* counted by the load average: runnable + uninterruptible */
	__s64 running; /* runnable */
	__s64 total;   /* every task */
};
