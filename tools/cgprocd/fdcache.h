/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgprocd's kept file descriptors. Opening a proc or cgroup file costs 2-3 times as much as
 * re-reading it with pread() at offset 0 on a kept fd (which makes the kernel regenerate it):
 * measured on this kind of machine, /proc/<tid>/stat open+read+close 17.6 us vs pread 4.8-7 us.
 * A sampling pass reads every thread's stat file and a few files per cgroup, so cgprocd keeps
 * them open between passes:
 *   - thread stat fds, indexed by tid; a kept fd of a thread that exited reads ESRCH (a new
 *     thread that reuses the tid gets a fresh open), fds of threads not seen in a pass are
 *     closed at its end;
 *   - per cgroup directory (key: dev, inode): the limit files; directories not seen in a pass
 *     are closed at its end. A directory fd is kept only when a pass reads more than limit
 *     files through it (the /proc walk's thread lists) and for a hierarchy's root: limit files
 *     are read through their own fds, a directory is listed only when inotify says it changed,
 *     and at 10,000 cgroups in three hierarchies the directory fds alone would take 30,000 of
 *     the budget that the limit files need.
 * All of it is bounded by a budget below RLIMIT_NOFILE (raised to its hard limit); past the
 * budget files are opened, read and closed as before.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fd_budget {
	long left; /* fds we may still keep */
};
/* Raise RLIMIT_NOFILE to its hard limit and keep 256 fds in reserve. */
void fd_budget_init(struct fd_budget *b);

struct tid_cache {
	int *fd;	/* by tid: fd + 1, 0 = none */
	uint64_t *seen; /* by tid: pass that last read it */
	size_t size;	/* entries of fd and seen */
	pid_t *open;	/* tids with a kept fd */
	size_t nopen, capopen;
};

/*
 * State letter of thread @tid (field 3 of /proc/<tid>/stat: 'R', 'S', 'D', ...) into *ret.
 * -ESRCH (or another -errno) when the thread is gone or unreadable.
 */
int tid_cache_state(struct tid_cache *c, struct fd_budget *b, int procfd, pid_t tid, uint64_t pass,
		    char *ret);
/* Close the fds of threads not read in @pass. */
void tid_cache_sweep(struct tid_cache *c, struct fd_budget *b, uint64_t pass);
void tid_cache_done(struct tid_cache *c);

/* file slots of a cgroup: see limits.h */
#define CG_FILES_MAX 5

/*
 * A subdirectory in a kept listing: only these are kept (a listing holds some 25 files per
 * cgroup, and walking them was most of a pass's own CPU time at 1,000 cgroups).
 */
struct cg_child {
	uint64_t ino;
	size_t hint;   /* index of its node when last seen, checked against the key before use */
	uint32_t name; /* offset of its NUL-terminated name from the start of the array */
};

/* What every pass touches comes first: one cache line per visit of an unchanged cgroup. */
struct cg_node {
	uint64_t dev, ino;
	uint64_t seen;
	int dirfd; /* -1 when not kept */
	/* the sampler's own state of this directory (freed with the node) */
	int wd;		       /* inotify watch, or -1 */
	bool listed;	       /* list holds its subdirectories as of the last listing */
	bool dirty;	       /* a subdirectory came or went since: list it again */
	struct cg_child *kids; /* that listing, names after the array (NULL: none, a leaf) */
	size_t nkids;
	void *own;	      /* the last values read from its limit files (limits.c) */
	int fd[CG_FILES_MAX]; /* -1 not opened, -2 absent (see absent_pass) */
	uint64_t absent_pass[CG_FILES_MAX];
};

struct cg_cache {
	struct cg_node *nodes;
	size_t count, cap;
	size_t *slots; /* open addressing: index + 1, 0 = empty */
	size_t nslots; /* power of two, > 2 * count */
};

/*
 * The directory fd of child @name (inode @ino) of @parentfd in hierarchy @dev, kept or newly
 * opened; *ret_idx is its node ((size_t)-1 when out of memory). A new node keeps the fd when
 * @keep and the budget allow; unless it is the node's kept dirfd, the fd is the caller's to
 * close. -errno when it vanished.
 */
int cg_cache_dir(struct cg_cache *c, struct fd_budget *b, uint64_t dev, uint64_t ino, int parentfd,
		 const char *name, uint64_t pass, bool keep, size_t *ret_idx);
/* Same for a hierarchy root opened by path. */
int cg_cache_root(struct cg_cache *c, struct fd_budget *b, const char *path, uint64_t pass,
		  size_t *ret_idx, uint64_t *ret_dev, uint64_t *ret_ino);
/*
 * Whether reading file @slot of node @idx in @pass needs the directory's fd (cg_cache_read's
 * @dirfd): not when the file's fd is kept or it is known to be absent.
 */
bool cg_cache_read_needs_dir(const struct cg_cache *c, size_t idx, unsigned slot, uint64_t pass);
/*
 * Read file @slot (@name) of node @idx (or of @dirfd when @idx is (size_t)-1) into @buf (NUL
 * terminated). Length, or -errno (-ENOENT: the file does not exist; checked again every 12
 * passes, since a v2 controller can be enabled later).
 */
ssize_t cg_cache_read(struct cg_cache *c, struct fd_budget *b, size_t idx, int dirfd, unsigned slot,
		      const char *name, uint64_t pass, char *buf, size_t size);
/* Undo what a read that found no file @slot of node @idx concluded: the next read opens it. */
void cg_cache_forget_absent(struct cg_cache *c, size_t idx, unsigned slot);
/*
 * A known node: mark it seen in @pass, its index into *idx. On entry *idx is a guess (where the
 * node was last time), used when it holds the key. false when unknown.
 */
bool cg_cache_touch(struct cg_cache *c, uint64_t dev, uint64_t ino, uint64_t pass, size_t *idx);
/* The node of (@dev, @ino), or NULL. The pointer is valid until the next sweep. */
struct cg_node *cg_cache_node(struct cg_cache *c, uint64_t dev, uint64_t ino);
/* Close what was not seen in @pass. */
void cg_cache_sweep(struct cg_cache *c, struct fd_budget *b, uint64_t pass);
void cg_cache_done(struct cg_cache *c);
