/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * All I/O of the core. Every file is opened relative to a root directory fd, so that the real
 * host ("/") and a fixture tree under tests/data go through the same code. Files are read with one
 * read() into a caller-sized buffer (a second read could see a newer value instead of EOF).
 *
 * Never logs, exits or allocates on the read path; every function returns -errno. A missing
 * cgroup file is -ENODATA. Fds are O_CLOEXEC and closed before return.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "../model/cgpath.h"
#include "../model/cpu.h"
#include "../model/memory.h"
#include "../model/misc.h"

struct src_fdcache;
struct src_textcache;

/* CLOCK_MONOTONIC in nanoseconds, for ages and timings (the vDSO: no system call); 0 when the
 * clock cannot be read, which makes everything look old. */
static inline int64_t src_mono_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct cg_src {
	int rootfd;		 /* directory fd of "/" (host) or of a fixture tree */
	uint64_t ticks_per_sec;	 /* USER_HZ, normally 100 */
	struct src_fdcache *fds; /* optional: kept input fds (NULL: open, read, close each time) */
	struct src_textcache *texts; /* optional: host files whose text may be a little old */
	/* The src is the caller's own live system (its "/", its time namespace): the host's
	 * uptime is clock_gettime(CLOCK_BOOTTIME), the very clock /proc/uptime prints, instead of a
	 * read of proc/uptime. Off for fixture trees and for front ends serving other processes. */
	bool clock_live;
	/* With fds: the caller's own pid, whose "proc/<pid>/stat" may be kept too (it cannot be
	 * reused while the caller reads it); 0: no per-process file is kept. */
	pid_t self_pid;
	/* With fds: rootfd is the cache's kept root, handed out by src_fdcache_root_hold() without
	 * the check that it still is the directory that was opened (a program may have closed the
	 * number and reused it); src_root_check() makes it, once per request, before a path is
	 * resolved through rootfd for the first time, and clears this (and may replace rootfd).
	 * The front end sets it on its own, writable cg_src only. */
	bool root_unchecked;
	/* NULL, or a directory under rootfd ("usr/lib/cgproc/host/", ending in '/') that mirrors
	 * the host's /proc and /sys/devices/system files unvirtualised where "/" has them covered
	 * (VFILE_HOST_INPUTS): src_open_input() opens those inputs there first. */
	const char *inputs;
};

/*
 * Kept fds for input files (cgroup files, host /proc and /sys files), owned by a front end that
 * reads the same files again and again (the shim): src_read() then preads at offset 0 on a kept
 * fd (procfs, sysfs and cgroupfs regenerate the content for a read at 0) instead of openat, read,
 * close. Per-process files (proc/self/..., proc/<pid>/...) are never kept.
 *
 * Kept fds are O_CLOEXEC and moved to numbers >= min_fd so that they do not take the low numbers
 * programs expect; they are checked (fstat: st_dev and st_ino as opened) before every use,
 * because programs close fds they do not know (closefrom) and the number may then be reused:
 * a kept fd that is not ours any more is forgotten, never closed. A missing file is remembered
 * as missing too. Lock-free: each slot is claimed by a compare-and-swap (readers count, one
 * writer), never waited for: on contention the file is read the ordinary way. Safe in signal
 * handlers and across fork (the child inherits the fds; the check still holds).
 * src_fdcache_invalidate() forgets every entry (the front end calls it when the machine
 * changes); the old fds are closed as their slots are reused.
 *
 * Memory (the cache lives in every process the shim is in, so every page it dirties is paid per
 * process): lookups only load; a slot
 * is written only when it is filled. Slots are filled from the front (stale ones first, then the
 * next never-used one), and each slot's path takes a region of a shared pool sized to it (64,
 * 128 or 256 bytes, taken once and kept; a longer path later takes a bigger one), so the ~20
 * files of a process's renders dirty about one page, not the whole cache. The pool holds three
 * regions per slot: it cannot run out.
 */
#define SRC_FDCACHE_SLOTS 64
#define SRC_FDCACHE_PATH 256
#define SRC_FDCACHE_POOL (SRC_FDCACHE_SLOTS * (64 + 128 + 256))
struct src_fdslot {
	atomic_uint state;	     /* 2 * readers + 1 while a writer holds it */
	atomic_uint gen;	     /* the cache generation it was filled in (0: never) */
	atomic_uint hash;	     /* of its path */
	int fd;			     /* -1: nothing kept */
	int err;		     /* fd < 0 and err < 0: the file was missing (-errno) */
	uint16_t path_off, path_cap; /* its path in the pool; cap 0: none yet */
	uint64_t dev, ino;
};
struct src_fdcache {
	atomic_uint gen;
	atomic_uint used;      /* slots [0, used) have been filled at some time */
	atomic_uint pool_used; /* bytes of the pool given to slots */
	int min_fd;
	struct src_fdslot root; /* the process's "/", for src_fdcache_root_hold() */
	/* Set after init by a front end that owns every descriptor of its process (cgprocfs: no
	 * foreign code closes fds there): kept fds are used without the fstat check. */
	bool owns_fds;
	struct src_fdslot slot[SRC_FDCACHE_SLOTS];
	char pool[SRC_FDCACHE_POOL];
};
/* An empty cache keeping fds at >= @min_fd. */
void src_fdcache_init(struct src_fdcache *c, int min_fd);
/* Forget every entry (new generation). */
void src_fdcache_invalidate(struct src_fdcache *c);
/* A kept O_PATH fd of the process's root directory ("/" now, or when the generation began),
 * to use as a cg_src rootfd until src_fdcache_root_release(): an openat and a close fewer per
 * request. Not checked here: the caller sets root_unchecked in its cg_src (a request served
 * from kept fds and texts then resolves no path through it and needs no check: one fstat fewer
 * per request). -EAGAIN: open one yourself. */
int src_fdcache_root_hold(struct src_fdcache *c);
void src_fdcache_root_release(struct src_fdcache *c);
/* With src->root_unchecked: whether rootfd still is the kept root (one fstat), then clears the
 * flag. When it is not, the kept root is forgotten (the next hold opens "/" again) and rootfd is
 * replaced with a new fd of "/" that the front end closes after the request (rootfd differs from
 * what the hold returned); -ESTALE when that open fails. Without the flag: 0. Every resolution
 * through rootfd in source/ is preceded by it: src_read()/src_read_beneath() through src_fdcache_*
 * (which call it before they answer -EAGAIN or open), the machine lookup and sample lookup of
 * the front end (which call it first). */
int src_root_check(const struct cg_src *src);

/*
 * Kept text of a few host files that a front end declares slow-moving, each with its own maximum
 * age: /proc/cpuinfo (static but for "cpu MHz"), /proc/meminfo (the machine's values come from
 * the cgroup; of the host's only MemTotal and SwapTotal are used, the rest is copied through).
 * src_read() of such a path copies the kept text while it is younger than its age, else reads
 * the file and keeps the new text. Each entry is a seqlock (readers copy and retry, never wait;
 * one writer claimed by compare-and-swap, never waited for). Texts that do not fit the entry's
 * buffer are not kept. The memory belongs to the front end: the entries (small, with its other
 * hot data) and each entry's text buffer (its own, so that only the pages a text takes are
 * touched: each is a page of every process the shim is in).
 */
#define SRC_TEXTCACHE_ENTRIES 4
#define SRC_TEXTCACHE_MAX (64u << 10) /* a good buffer size: cpuinfo of ~50 CPUs */
#define SRC_TEXTCACHE_PATH 64
struct src_textentry {
	atomic_uint seq;     /* odd while written */
	atomic_uint writer;  /* 1 while claimed */
	uint64_t max_age_ns; /* 0: unused entry */
	char path[SRC_TEXTCACHE_PATH];
	int64_t stamp_ns; /* CLOCK_MONOTONIC of the read; 0 = nothing kept */
	uint64_t gen;	  /* stores so far: each kept text has its own (src_read_gen) */
	size_t len;
	char *text; /* the front end's buffer of @size bytes */
	size_t size;
};
struct src_textcache {
	struct src_textentry e[SRC_TEXTCACHE_ENTRIES];
};
/* Declare @relpath ("proc/cpuinfo") kept for up to @max_age_ns in @buf (@size bytes, texts of up
 * to @size - 1 bytes). Before any reader runs. -ENOSPC when all entries are used,
 * -ENAMETOOLONG, -EINVAL. */
int src_textcache_add(struct src_textcache *c, const char *relpath, uint64_t max_age_ns, char *buf,
		      size_t size);
/* The host texts every front end keeps, up to SRC_HOST_TEXT_AGE_NS old: cpuinfo and meminfo
 * (of meminfo's numbers a render uses only MemTotal and SwapTotal; the lines without a cgroup
 * counterpart are copied through, DESIGN.md cost model "host's static fields cached").
 * /proc/stat, uptime and loadavg stay fresh. @bufs: SRC_HOST_TEXTS * SRC_TEXTCACHE_MAX bytes. */
#define SRC_HOST_TEXTS 2
#define SRC_HOST_TEXT_AGE_NS 1000000000ULL
void src_textcache_add_host(struct src_textcache *c, char *bufs);

/* Read @relpath (no leading '/') under the root. -ENOBUFS when @size was too small. */
int src_read(const struct cg_src *src, const char *relpath, char *buf, size_t size,
	     size_t *ret_len);
/* src_read(), and in *@ret_gen which kept text it was (src_textcache): two reads of one path
 * with the same nonzero generation got the same bytes. 0 when the text was read from the file
 * and is not kept. */
int src_read_gen(const struct cg_src *src, const char *relpath, char *buf, size_t size,
		 size_t *ret_len, uint64_t *ret_gen);

/*
 * The machine cgroup of a process: see DESIGN.md "Which cgroup is the machine".
 *
 * Compact (the shim keeps one in every process that opens a virtual file, where its dirtied
 * pages stay): the strings
 * of each controller (where its hierarchy is mounted, the mount's own root, the machine cgroup,
 * the highest ancestor visible to the reader) are kept in a pool at the end of the struct, filled
 * from its start, each string once; the pool has room for all of them at their longest, so
 * nothing that fits a cg_mounts and cg_paths is refused, and a typical machine touches only the
 * first ~2 KiB. Offsets, not pointers: copies stay valid. Read the strings with cg_machine_str()
 * (or the four wrappers), write them with cg_machine_set(); a zeroed header (cg_machine_clear())
 * has none.
 */
enum cg_machine_field {
	CG_MACHINE_MOUNT, /* "sys/fs/cgroup/memory": mount point under the src's root, no '/' */
	CG_MACHINE_ROOT,  /* the mount's root in the hierarchy (mountinfo field 4): "/" or deeper */
	CG_MACHINE_PATH,  /* the machine cgroup: "/a/b", always starting with '/' */
	CG_MACHINE_TOP,	  /* the highest ancestor visible to the reader */
	_CG_MACHINE_FIELD_MAX,
};
#define CG_MACHINE_POOL (_CG_MACHINE_FIELD_MAX * _CG_MAX * CG_PATH_MAX)

/* Which DESIGN.md rule chose the machine, in the order they are tried; the numbers are the
 * rules' numbers there (`cgproc show --explain` prints them). */
enum machine_rule {
	MACHINE_RULE_NONE,
	MACHINE_RULE_EXPLICIT,	 /* machine= in the configuration, or --machine */
	MACHINE_RULE_CGROUPNS,	 /* the root of the process's cgroup namespace */
	MACHINE_RULE_PIDNS_INIT, /* the cgroup of its pid namespace's init, minus /init.scope */
	MACHINE_RULE_OWN_CGROUP, /* the process's own cgroup */
};

struct cg_machine {
	/* 1 + offset in pool of each string; 0: absent (a ROOT is there when the MOUNT is) */
	uint16_t at[_CG_MACHINE_FIELD_MAX][_CG_MAX];
	uint16_t pool_used;
	bool v2[_CG_MAX]; /* the controller's hierarchy is cgroup v2 */
	pid_t init_pid;	  /* pid (in the src's /proc) whose start time is the machine's
			     start; 0 = the oldest process in the machine cgroup */
	enum machine_rule rule;
	bool cgroupns, pidns; /* the process is in a non-initial namespace */
	/* When the machine started, in clock ticks since boot (field 22 of /proc/<pid>/stat), as
	 * cg_machine_resolve_start() found it; start_known false = find it on every uptime read.
	 * start_is_host: the machine is the host's root cgroup, whose uptime is the host's. */
	bool start_known, start_is_host;
	uint64_t start_ticks;
	/* The visible CPUs and the tightest CFS quota as cg_machine_resolve_limits() found them;
	 * limits_known false = read them on every call (cg_read_cpu, cg_read_cpu_limits). */
	bool limits_known;
	uint64_t limits_quota_us, limits_period_us;
	struct cpuset limits_visible;
	char pool[CG_MACHINE_POOL]; /* last: only its used start is ever touched */
};

/* @f of controller @c, NULL when absent. */
static inline const char *cg_machine_str(const struct cg_machine *m, enum cg_machine_field f,
					 enum cg_controller c)
{
	unsigned at = m->at[f][c];

	return at ? m->pool + at - 1 : NULL;
}
static inline const char *cg_machine_mount(const struct cg_machine *m, enum cg_controller c)
{
	return cg_machine_str(m, CG_MACHINE_MOUNT, c);
}
static inline const char *cg_machine_root(const struct cg_machine *m, enum cg_controller c)
{
	return cg_machine_str(m, CG_MACHINE_ROOT, c);
}
static inline const char *cg_machine_path(const struct cg_machine *m, enum cg_controller c)
{
	return cg_machine_str(m, CG_MACHINE_PATH, c);
}
static inline const char *cg_machine_top(const struct cg_machine *m, enum cg_controller c)
{
	return cg_machine_str(m, CG_MACHINE_TOP, c);
}
/* Whether controller @c is mounted and has a machine path: what reading its files needs. */
static inline bool cg_machine_has(const struct cg_machine *m, enum cg_controller c)
{
	return m->at[CG_MACHINE_MOUNT][c] && m->at[CG_MACHINE_PATH][c];
}
/* No strings, every other field 0; the pool is not touched. */
void cg_machine_clear(struct cg_machine *m);
/* Bytes of @m in use: the header and the used start of the pool. The core reads and writes
 * nothing past them (until cg_machine_set() appends), so a front end that keeps a machine may lend
 * the rest of the struct out meanwhile (the shim writes a request's output there, which saves a
 * page per process). */
static inline size_t cg_machine_size(const struct cg_machine *m)
{
	return offsetof(struct cg_machine, pool) + m->pool_used;
}
/* Set @f of controller @c to @s (NULL: absent). Appends to the pool (an old value's room is not
 * reused): -ENOSPC once the pool is full, -ENAMETOOLONG for @s of CG_PATH_MAX bytes or more. */
int cg_machine_set(struct cg_machine *m, enum cg_machine_field f, enum cg_controller c,
		   const char *s);

/*
 * @pid as the src's /proc names it (0 = "self"). @override, when not NULL or "", is a cgroup path
 * used for every controller (rule 1). Works from inside a container (the shim) and from the host
 * (cgprocfs, cgproc show), where namespace roots and pid-namespace inits are resolved to host
 * paths and host pids.
 */
int cg_machine_find(const struct cg_src *src, pid_t pid, const char *override,
		    struct cg_machine *ret);
/* The same with the caller's working memory instead of ~46 KiB of stack (signal handlers, small
 * thread stacks): @scratch holds the lookup's full-size working copies (~14 KiB) plus the
 * mountinfo text. -ENOBUFS: bigger. Only the header of @ret and the used start of its pool are
 * written. */
int cg_machine_find_scratch(const struct cg_src *src, pid_t pid, const char *override,
			    char *scratch, size_t size, struct cg_machine *ret);

/* Read @file of the machine cgroup of controller @c ("memory.stat"). -ENODATA when absent. */
int cg_read(const struct cg_src *src, const struct cg_machine *m, enum cg_controller c,
	    const char *file, char *buf, size_t size, size_t *ret_len);

/* Limits walked from the machine cgroup up to m->top, usage and memory.stat; v1 and v2. */
int cg_read_memory(const struct cg_src *src, const struct cg_machine *m, struct cg_memory *ret);
/*
 * The same reading only what @what asks for, with memory.stat read into @scratch (no big stack
 * frame). CG_MEM_STAT: limit, usage and memory.stat; CG_MEM_SWAP: swap usage and limit (without
 * it swap reads as unaccounted: no reads of memsw or swap files). The fields of a part not asked
 * for are those of no limit and nothing used, except that v1 reads memory.stat, usage and the
 * limit for swap too (swap alone is memsw - memory). 0 = no reads at all, only the check that the
 * memory controller is there (-ENODATA). -ENOBUFS: @scratch is too small for memory.stat.
 */
#define CG_MEM_STAT 0x1u
#define CG_MEM_SWAP 0x2u
int cg_read_memory_scratch(const struct cg_src *src, const struct cg_machine *m, unsigned what,
			   char *scratch, size_t size, struct cg_memory *ret);
/* cpuset, quota (tightest over ancestors), CPU time; v1 usage_all is read into @scratch. */
int cg_read_cpu(const struct cg_src *src, const struct cg_machine *m, char *scratch, size_t size,
		struct cg_cpu *ret);
/* cg_read_cpu() for /proc/stat, whose CPU lines come from the per-CPU split: user_ns and
 * system_ns are read (v1 cpuacct.stat) only when there is no split (v2, a v1 kernel without
 * cpuacct.usage_all); one read fewer on v1. */
int cg_read_cpu_split(const struct cg_src *src, const struct cg_machine *m, char *scratch,
		      size_t size, struct cg_cpu *ret);
/* cg_read_cpu() for the total only (uptime's idle): user_ns + system_ns is all CPU time used, the
 * split between them unspecified (v1: cpuacct.usage, the run time cpuacct.stat is scaled to). */
int cg_read_cpu_total(const struct cg_src *src, const struct cg_machine *m, struct cg_cpu *ret);
/* cpuset and quota only (user/system 0, usage_all empty): what cpuinfo, the CPU lists and
 * sysconf(_SC_NPROCESSORS_*) need, two to three reads fewer. */
int cg_read_cpu_limits(const struct cg_src *src, const struct cg_machine *m, struct cg_cpu *ret);

/* Find and store the machine's start (a walk of cgroup.procs on rule 4), so that front ends that
 * keep a machine for a while do not repeat that walk on every read of stat, uptime or pid-stat. */
int cg_machine_resolve_start(const struct cg_src *src, struct cg_machine *m);

/* Find and store the visible CPUs and the quota (walks of cpuset and cpu files up the tree), for
 * front ends that keep a machine for a while (the shim: 1 s), so that a render of stat, cpuinfo,
 * uptime or the CPU lists reads only what moves. A changed cpuset or quota then shows once the
 * front end looks the machine up again. */
int cg_machine_resolve_limits(const struct cg_src *src, struct cg_machine *m);

/* Uptime of the machine and of the host, hundredths of a second, both from the src's
 * proc/uptime and the start time of the machine's first process. */
int cg_read_uptime(const struct cg_src *src, const struct cg_machine *m, uint64_t *ret_uptime_cs,
		   uint64_t *ret_host_uptime_cs);
