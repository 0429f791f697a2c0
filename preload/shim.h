/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internals shared by the shim's files. Nothing here is exported: the build uses
 * -fvisibility=hidden and a version script that exports only the wrapped libc names
 * (libcgproc.sym). Every function is safe in a signal handler: no locks, no malloc, no stdio.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/sysinfo.h>
#include <sys/types.h>

#include "vfile.h"

/* The sampler table reader (cgprocd's load averages and host-side limits), when the core has it. */
#if __has_include("source/table.h")
#include "source/table.h"
#define SHIM_HAVE_TABLE 1
#endif

#define SHIM_EXPORT __attribute__((visibility("default")))

/* Next symbols, resolved once in the constructor (NULL before, and when libc lacks one). */
extern int (*real_open)(const char *, int, ...);
extern int (*real_open64)(const char *, int, ...);
extern int (*real_openat)(int, const char *, int, ...);
extern int (*real_openat64)(int, const char *, int, ...);
extern int (*real_open_2)(const char *, int);
extern int (*real_open64_2)(const char *, int);
extern int (*real_openat_2)(int, const char *, int);
extern int (*real_openat64_2)(int, const char *, int);
extern FILE *(*real_fopen)(const char *, const char *);
extern FILE *(*real_fopen64)(const char *, const char *);
extern FILE *(*real_freopen)(const char *, const char *, FILE *);
extern FILE *(*real_freopen64)(const char *, const char *, FILE *);
extern off_t (*real_lseek)(int, off_t, int);
extern off_t (*real_lseek64)(int, off_t, int);
extern ssize_t (*real_pread)(int, void *, size_t, off_t);
extern ssize_t (*real_pread64)(int, void *, size_t, off_t);
extern ssize_t (*real_pread_chk)(int, void *, size_t, off_t, size_t);
extern ssize_t (*real_pread64_chk)(int, void *, size_t, off_t, size_t);
extern void (*real_rewind)(FILE *);
extern int (*real_fseek)(FILE *, long, int);
extern int (*real_fseeko)(FILE *, off_t, int);
extern int (*real_fseeko64)(FILE *, off_t, int);
extern int (*real_sysinfo)(struct sysinfo *);
extern long (*real_sysconf)(int);
extern int (*real_get_nprocs)(void);
extern int (*real_get_nprocs_conf)(void);
extern long (*real_get_phys_pages)(void);
extern long (*real_get_avphys_pages)(void);
extern int (*real_getloadavg)(double *, int);

/* Set while the shim works on this thread: nested calls (the core's own openat, a signal
 * handler that interrupts us) pass straight through. initial-exec: no allocation on access. */
extern __thread int shim_busy __attribute__((tls_model("initial-exec")));

/* Set at the end of the constructor; the configuration is immutable afterwards. */
extern atomic_bool shim_ready;
extern struct cgproc_config shim_config;
extern bool shim_secure; /* AT_SECURE */

static inline bool shim_active(void)
{
	return atomic_load_explicit(&shim_ready, memory_order_acquire) && shim_config.enabled &&
	       !shim_busy;
}

/*
 * The core's renders use up to ~16 KiB of stack (cpuinfo, the uptime walk). A signal handler
 * running on a small sigaltstack(2) stack gets the real file instead. One cheap system call,
 * made only on the virtual path.
 */
bool shim_stack_ok(void);

/*
 * Around every stretch of shim work: errno saved and restored, nested calls pass through, and
 * thread cancellation held off (the core reads files through libc, whose read/openat are
 * cancellation points: a cancelled thread would leave an fd, an arena or the cache's writer
 * claim behind).
 */
struct shim_guard {
	int err;
	int cancel;
};
void shim_enter(struct shim_guard *g);
void shim_leave(const struct shim_guard *g);

/* The next definition of @name, for the few wrappers that must call it before the constructor
 * (NULL when unknown). Not for use after the constructor: real_* are resolved then. */
void *shim_next_early(const char *name);

/* Debug log to the configured file (never stderr; off under AT_SECURE). */
void shim_log(const char *what, const char *detail, long value);

/*
 * One rendering context: a root fd, the machine (from the process-wide cache), scratch and
 * output memory from mmap. Opened per request, closed before returning to the caller.
 */
struct shim_mem;
struct shim_ctx {
	struct cg_src src;
	struct vfile_req req;
	struct shim_mem *mem;
	bool root_held; /* root_kept is the kept root (machine.c), released, not closed */
	int root_kept;	/* src.rootfd may be replaced by a "/" of the request's own (source.h) */
};
/* @self: getpid() when the caller already has it, 0 to look it up. */
int shim_ctx_open(struct shim_ctx *ctx, pid_t self);
/* CLOCK_MONOTONIC in nanoseconds, 0 when unavailable. */
long long shim_mono_ns(void);
/* Once, in the constructor: the kept input fds (machine.c). */
void shim_kept_init(void);
void shim_ctx_close(struct shim_ctx *ctx);
/* Render @vf (pid/tid for the per-process stat); *ret_data points into ctx memory. 0, or
 * VFILE_SAME when ctx->req.same was set and the inputs make its key (nothing rendered). */
int shim_ctx_render(struct shim_ctx *ctx, const struct vfile *vf, pid_t pid, pid_t tid,
		    const char **ret_data, size_t *ret_len);

/* Before the real open of @path (relative to @dirfd) with @flags: SHIM_OPEN_SERVED with the
 * snapshot in *ret_fd (errno untouched); SHIM_OPEN_PASS: do the real open, nothing more to do;
 * SHIM_OPEN_LATE: do the real open and hand it to shim_open_hook(). */
enum {
	SHIM_OPEN_PASS,
	SHIM_OPEN_LATE,
	SHIM_OPEN_SERVED
};
int shim_open_pre(int dirfd, const char *path, int flags, int *ret_fd);
/* The open path: @fd came from a real open of @path with @flags. Swaps a snapshot of the
 * virtual content onto @fd when it is a virtual file; errno is preserved. Returns @fd. */
int shim_open_hook(int fd, const char *path, int flags);
/* Before a rewind (lseek to 0, pread at 0) of a handed-out fd: re-render onto it. */
void shim_rewind_hook(int fd);
#ifdef SHIM_HAVE_TABLE
/* The sampler's values for @m through the process-wide table cache (sample.c); @priv is request
 * memory for a private copy of that cache. 0 or -ENODATA (no fresh table: host values);
 * -ESTALE: the kept root fd is not ours any more (src_root_check). */
int shim_sample_get(const struct cg_src *src, const struct cg_machine *m, long long machine_stamp,
		    struct cg_sample_cache *priv, struct cg_sample *ret);
#endif

/* After a vfile_sysinfo/nprocs/loadavg call failed with @r: 0 when scratch was grown (call
 * again), else @r. */
int shim_ctx_retry(struct shim_ctx *ctx, int r);
