/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The state of one loaded copy of the serving library (struct serve, made by serve_init() in
 * serve.c) and the rendering for a caller (render.c).
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "callers.h"
#include "cgproc-config.h"
#include "cpudir.h"
#include "tree.h"
#include "work.h"
#include "source/source.h"
#include "source/table.h"
#include "vfile.h"

#define FDS_SHARDS 8 /* kept-fd caches, each for the machines whose hash falls in it */
#define FDS_NOFILE (4096 + FDS_SHARDS * SRC_FDCACHE_SLOTS) /* RLIMIT_NOFILE wanted */
#define FDS_MIN 64 /* kept input fds are dup'd at or above this number */
/* Kept fds are forgotten this often: a cgroup removed and made again under the same name is
 * read through an old fd for no longer. */
#define FDS_TTL_NS 1000000000ULL
#define HOST_TEXTS (SRC_HOST_TEXTS + 1) /* and the daemon's mountinfo */

struct serve {
	struct cg_src src;
	struct src_fdcache *fds; /* [FDS_SHARDS] */
	struct src_textcache *texts;
	char *text_bufs;	       /* [HOST_TEXTS][SRC_TEXTCACHE_MAX]: the kept texts */
	_Atomic uint64_t fds_stamp_ns; /* when the kept fds were last forgotten */
	struct caller_cache *callers;
	struct work_pool work;
	struct cgproc_config config;
	struct cpudir *cpu; /* /sys/devices/system/cpu beyond its table files; NULL: not served */
	bool debug;
	char rundir[256];
	time_t mtime;
	struct tree tree;
};

/* The host file @relpath (under the root)'s bytes, malloc'ed: the fallback for every failure. */
int render_host(const struct serve *s, const char *relpath, char **ret_data, size_t *ret_len);
/* @vf, or with @vf NULL the file @relpath of the CPU directory, rendered for @pid into a
 * malloc'ed copy; the host file when that fails. */
int render_for(struct serve *s, const struct vfile *vf, const char *relpath, pid_t pid,
	       char **ret_data, size_t *ret_len);
/* cpudir.h's callbacks (@ctx: the struct serve). */
int render_cpu_visible(void *ctx, pid_t pid, struct cpuset *ret);
int render_cpu_read(void *ctx, const char *path, pid_t pid, char **ret_data, size_t *ret_len);
