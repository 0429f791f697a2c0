/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers shared by the files of source/ (and by the integration tests). Not part of the core's
 * API: front ends use source.h.
 */
#pragma once

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "source.h"
#include "sys.h"

/* A walk of the entries of directory @fd through getdents64(2) into the caller's @buf (aligned
 * for struct src_dirent64): "while ((e = src_dir_next(&d)))". Stops at the end and on an error. */
struct src_dir {
	int fd;
	char *buf;
	size_t size;
	long n, off;
};

static inline const struct src_dirent64 *src_dir_next(struct src_dir *d)
{
	const struct src_dirent64 *e;

	if (d->off >= d->n) {
		d->n = src_sys_getdents64(d->fd, d->buf, d->size);
		d->off = 0;
		if (d->n <= 0)
			return NULL;
	}
	e = (const void *)(d->buf + d->off);
	d->off += e->reclen;
	return e;
}

/* The kernel's fixed inode numbers of the initial namespaces (include/linux/proc_ns.h). */
#define NS_INIT_CGROUP_INO 0xEFFFFFFBU
#define NS_INIT_PID_INO 0xEFFFFFFCU

/* How deep and how wide the oldest-process walk of a machine cgroup goes. */
#define WALK_MAX_DEPTH 8
#define WALK_MAX_DIRS 512
#define WALK_MAX_PIDS 4096

/* src_read() through src->fds (fdcache.c); -EAGAIN: not kept, read it the ordinary way. */
int src_fdcache_read(const struct cg_src *src, const char *relpath, char *buf, size_t size,
		     size_t *ret_len);
/* The same for src_read_beneath(): a slot it fills is opened with src_open_beneath(). */
int src_fdcache_read_beneath(const struct cg_src *src, const char *relpath, char *buf, size_t size,
			     size_t *ret_len);

/* src_read() through src->texts (textcache.c); -EAGAIN: not a kept text. */
int src_textcache_read(const struct cg_src *src, const char *relpath, char *buf, size_t size,
		       size_t *ret_len, uint64_t *ret_gen);
/* src_read() without src->texts (relpath without leading '/'). */
int src_read_uncached(const struct cg_src *src, const char *relpath, char *buf, size_t size,
		      size_t *ret_len);

/*
 * Opens of source/: O_NONBLOCK because a FIFO put where a file should be (a container can mount
 * anything over its own /sys/fs/cgroup) must not hang the reader in open(); on regular, proc,
 * sys and cgroup files the flag changes nothing.
 */
#define SRC_OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
/* Open the host input @relpath for reading (SRC_OPEN_FLAGS) under the root, through src->inputs
 * when that mirror has it: a relpath in proc/ that is not per-process, or in sys/devices/system/.
 * Returns an fd or -errno. */
int src_open_input(const struct cg_src *src, const char *relpath);
/* Open @relpath under the root without following any symlink and without leaving the root
 * (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS; O_NOFOLLOW on the last
 * component where openat2 is missing). For cgroup files and directories. Returns an fd or -errno
 * (-ELOOP for a symlink, -EXDEV for an escape). */
int src_open_beneath(const struct cg_src *src, const char *relpath, int flags);
/* src_read() through src_open_beneath() (and kept fds opened that way). */
int src_read_beneath(const struct cg_src *src, const char *relpath, char *buf, size_t size,
		     size_t *ret_len);
/* readlinkat under the root; NUL-terminated; -ENOBUFS when cut. */
int src_readlink(const struct cg_src *src, const char *relpath, char *buf, size_t size);
/* Inode of @procdir/ns/@ns ("cgroup", "pid") from the link text "cgroup:[4026531835]". */
int src_ns_inode(const struct cg_src *src, const char *procdir, const char *ns, uint64_t *ret);

/* Join up to three parts with single '/', no leading '/' ("." when all are empty). */
int path_join(char *out, size_t size, const char *a, const char *b, const char *c);
/* "proc/self" for 0, else "proc/<pid>". */
int procdir_name(pid_t pid, char *out, size_t size);
/* First field of /proc/uptime ("350735.47 ...") in hundredths of a second. */
int uptime_parse_cs(struct span text, uint64_t *ret_cs);

/* Path under the root of @file (may be NULL) in cgroup @cgpath of a hierarchy mounted at @mount
 * with root @root: the mount point plus @cgpath made relative to the mount's root. -EXDEV when
 * @cgpath is not below that root, -ENODATA when @mount or @root is NULL (not mounted). */
int cg_path_at(const char *mount, const char *root, const char *cgpath, const char *file, char *out,
	       size_t size);
/* cg_read() for an arbitrary cgroup path of controller @c (ancestor walks). */
int cg_read_at(const struct cg_src *src, const struct cg_machine *m, enum cg_controller c,
	       const char *cgpath, const char *file, char *buf, size_t size, size_t *ret_len);
/* Whether @path is @top or below it. */
bool cg_path_below(const char *path, const char *top);
