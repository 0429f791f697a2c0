/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Everything the shim remembers in a process, in one struct (struct shim_state, `shim`, defined
 * in init.c). Outside it are only what STYLE.md allows and what must sit elsewhere:
 *   - the next-symbol table (shim_next) and the few words the constructor writes (shim_ready, the
 *     noted CGPROC_* entries, next.c's list of objects): in .data.shim_boot, the first page of
 *     the writable segment, which ld.so writes anyway (next.h). In .bss they would be one more
 *     page fault at every process start;
 *   - the thread-local re-entrancy flag shim_busy (shim.h), and three thread-local words about
 *     what this thread is doing: the caller's scandir() filter while cpudir.c's own filter runs
 *     in front of it, the directory listing in progress (cpudir.c), the file-tree walk in
 *     progress (walk.c).
 *
 * All of it is zero at start (.bss: no page of it exists until written), filled on first use and
 * shared by the threads of the process without locks: atomics, claims that are never waited for
 * (a state word: 2 per reader, 1 for the writer) and seqlock slots. A fork child inherits it;
 * every cache is keyed by getpid() or checks its fds before use.
 *
 * Member order is page placement (pages written per process count: Rss): the snapshot cache and
 * the head of the fd table are written by a process that opens virtual files; identification,
 * the configuration, the libc answers, the sample slot, the arenas and the head of the kept fds
 * and texts follow one another so that what every process writes shares pages; the kept fds'
 * path pool comes last.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/sysinfo.h>
#include <sys/types.h>

#include "model/config.h"
#include "source/source.h"
#include "source/table.h"
#include "vfile.h"

/* snapcache.c: the last snapshot of each file, kept for reuse. */
#define SNAP_SMALL 128 /* bytes kept as a copy to compare with (larger: hash, then pread) */
struct shim_snap {
	atomic_uint state;    /* 2 * readers + 1 while a writer holds it */
	atomic_uint misses;   /* renders in a row that differed from the kept one */
	atomic_uint backoff;  /* misses to go before a re-render is tried again */
	atomic_bool rerender; /* the last miss was rendered again */
	/* Start of the newest render that produced the kept bytes, and whose it was; start of the
	 * newest render served that differed from them (the kept bytes are older than what a
	 * reader may already have seen while fresh_ns < served_ns). */
	atomic_llong fresh_ns, served_ns;
	atomic_int fresh_pid;
	int fd; /* a number >= KEPT_SNAP_MIN_FD when kept (0: never kept) */
	uint64_t dev, ino, hash;
	uint64_t gen; /* bumped whenever fd is replaced or dropped */
	size_t len;
	char small[SNAP_SMALL]; /* the bytes, when len <= SNAP_SMALL */
};

struct shim_snapcache {
	/* O_NOATIME on a reopen was refused (EPERM: the snapshot's owner is not our fsuid now). */
	atomic_bool noatime_denied;
	/* The vfile_key of meminfo's kept snapshot (snapcache.c), under kept[KEYED_ID].state. */
	struct {
		uint64_t gen; /* kept[KEYED_ID].gen the key belongs to; 0: none */
		struct vfile_key key;
	} key;
	/* The kept O_PATH fd of this process's /proc/self/fd, to reopen kept snapshots through. */
	struct {
		atomic_uint state;
		int fd; /* >= KEPT_SNAP_MIN_FD when open (0: never opened) */
		pid_t pid;
		uint64_t dev, ino;
		/* the open failed in this process: tried again every FD_DIR_RETRY-th time only */
		pid_t failed_pid;
		unsigned failed_skips;
	} fd_dir;
	struct shim_snap kept[_VFILE_MAX];
};

/* fdtab.c: the snapshots handed out, by fd number (rewinds re-render them). meta packs the file
 * id (6 bits), pid and tid (29 bits each). */
#define FDTAB_SIZE 4096
struct shim_fdtab_entry {
	atomic_uint_least64_t ino; /* 0: none */
	atomic_uint_least64_t dev;
	atomic_uint_least64_t meta;
};

/* identify.c: what the table's paths are, learned once per process (the same values whichever
 * thread writes them). */
struct shim_ident {
	/* st_ino 0 = not learned yet; LEARN_ABSENT = missing or not procfs/sysfs */
	struct {
		atomic_uint_least64_t ino;
		atomic_uint_least64_t dev;
	} learned[_VFILE_MAX];
	/* Lengths (bit min(len, 63)) and first bytes of the table's last components. */
	atomic_bool quick_ready;
	atomic_uint_least64_t quick_first[4];
	atomic_uint_least64_t quick_len;
	/* /sys/devices/system/cpu, as learned[] (cpudir.c) */
	struct {
		atomic_uint_least64_t ino;
		atomic_uint_least64_t dev;
	} cpudir;
	/* Where each table path's last component starts and how long it is (len 0: not yet). */
	struct {
		atomic_uchar off, len;
	} table_base[_VFILE_MAX];
	/* VFILE_HOST_INPUTS holds a procfs (shim_host_inputs()): 0 not looked at yet, 1, -1 */
	atomic_int host_inputs;
};

/* libc.c: a kept answer of sysinfo() or the CPU count (a seqlock slot). */
struct shim_answer {
	atomic_uint seq;
	atomic_int writer;
	pid_t pid;
	long long stamp_ns;
	struct sysinfo si;
	unsigned nprocs;
};

/* sample.c: the sampler table's cache of this process (a seqlock slot). */
struct shim_sample_slot {
	atomic_uint seq;
	atomic_int writer;
	long long machine_stamp; /* the machine snapshot (request.c) the cache was checked for */
	long long checked_ns;	 /* when the table was last looked at */
	struct cg_sample_cache cache;
};

/* request.c: request memory and the kept inputs of renders. */
#define SHIM_ARENA_N 8
struct shim_mem;
struct shim_requests {
	struct {
		atomic_int busy;
		struct shim_mem *mem;
	} arenas[SHIM_ARENA_N];
	atomic_int kept_state; /* 0: not set up, 1: being set up, 2: ready */
	/* together, so that what every request touches shares pages: the text entries, the fd
	 * cache's slot heads and the used start of its path pool */
	struct src_textcache texts;
	struct src_fdcache fds;
};

struct shim_state {
	struct shim_snapcache snaps;
	struct shim_fdtab_entry fdtab[FDTAB_SIZE];
	struct shim_ident ident;
	/* init.c: read on the first shim_active() call after the constructor, immutable then */
	atomic_int setup_state; /* 0, the id of the thread setting up, or SHIM_SETUP_DONE */
	bool secure;		/* AT_SECURE */
	struct cgproc_config config;
	/* libc.c */
	struct shim_answer nprocs, sysinfo;
	/* sample.c */
	struct shim_sample_slot sample;
	/* request.c */
	struct shim_requests req;
};

extern struct shim_state shim;
