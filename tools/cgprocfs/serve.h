/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The contract between cgprocfs (the thin libfuse host that owns the mount) and
 * libcgprocfs-serve.so (the request handlers plus the core), which the host dlopen()s and can
 * replace on SIGUSR1 without unmounting.
 *
 * Everything that outlives one loaded copy of the library is part of this ABI and must keep its
 * meaning across versions: the inode numbers (derived from vfile ids and directory paths, see
 * serve.c), and struct cgprocfs_file, the per-open handle a new library inherits from the old one
 * for files that were open during the swap. Bump CGPROCFS_SERVE_ABI whenever either changes; the
 * host refuses to swap in a library with a different ABI and keeps serving with the old one.
 */
#pragma once

/* 3.12: fuse_session_loop_mt() takes the opaque fuse_loop_cfg_create() config (older API levels
 * read it as the old public struct: clone_fd and max_idle_threads garbled, a thread per request) */
#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 12)
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define CGPROCFS_SERVE_ABI 2
#define CGPROCFS_SERVE_SYMBOL "cgprocfs_serve_v1"
#define CGPROCFS_SERVE_LIB "libcgprocfs-serve.so"

/* Per-open state, malloc'd by whichever library copy handled the open and freed (free()) by
 * whichever copy handles the release. @data is malloc'd too; NULL (a handle the host made for a
 * file opened under a worker that died) means: render at the next read, whatever its offset. */
struct cgprocfs_file {
	pthread_mutex_t lock;
	unsigned vfile_id; /* enum vfile_id, or CGPROCFS_FILE_PASS */
	bool fresh;	   /* rendered at open and not read yet: the first read at 0 reuses it */
	char *data;
	size_t len;
};

/* vfile_id of a file below /sys/devices/system/cpu (inode PASS_INO_FLAG | hash, cpudir.h): its
 * text is rendered at open for the opener and kept for the life of the handle. */
#define CGPROCFS_FILE_PASS 0xffffffffu

struct cgprocfs_params {
	const char *rundir; /* sampler table directory */
	bool debug;	    /* log every fallback to stderr */
	bool quiet;	    /* no informational messages */
};

/* Each handler gets the state its library copy created in init() and must reply to @req. */
struct cgprocfs_serve_ops {
	unsigned abi; /* CGPROCFS_SERVE_ABI */
	size_t size;  /* sizeof(struct cgprocfs_serve_ops) of the library */
	const char *version;

	int (*init)(const struct cgprocfs_params *params, void **ret_state);
	void (*fini)(void *state);

	void (*lookup)(void *state, fuse_req_t req, fuse_ino_t parent, const char *name);
	void (*getattr)(void *state, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
	void (*open)(void *state, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
	void (*read)(void *state, fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi);
	void (*release)(void *state, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
	void (*opendir)(void *state, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
	void (*readdir)(void *state, fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi);
	/* the symlinks of the host's /sys/devices/system/cpu (cpuN/subsystem, cpuN/node0, ...) */
	void (*readlink)(void *state, fuse_req_t req, fuse_ino_t ino);
};
