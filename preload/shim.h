/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internals shared by the shim's files. Nothing here is exported: the build uses
 * -fvisibility=hidden and a version script that exports only the wrapped libc names
 * (libcgproc.sym). Every function is safe in a signal handler: no locks, no malloc, no stdio.
 */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/types.h>

#include "state.h"
#include "vfile.h"

/*
 * musl before 1.2.4 defines the large-file function names (open64, readdir64 ...) as macros for
 * the plain ones under _GNU_SOURCE, while its libc.so still exports the *64 symbols for older
 * binaries. The shim defines both names as functions on every libc, so those macros go (the type
 * names stay: struct dirent64 is struct dirent there).
 */
#ifndef __GLIBC__
#undef open64
#undef openat64
#undef fopen64
#undef freopen64
#undef lseek64
#undef pread64
#undef fseeko64
#undef readdir64
#undef scandir64
#undef glob64
#undef nftw64
#undef ftw64
#endif

#define SHIM_EXPORT __attribute__((visibility("default")))

/*
 * The next definitions of the wrapped names (what dlsym(RTLD_NEXT) gives), by id, in the order of
 * init.c's name list. Each is looked up on its first use (init.c, next.c) and kept; real_X is
 * NULL before the constructor ran and when nothing after the shim defines X: the wrappers then
 * use system calls.
 */
enum shim_next_id {
	SHIM_NEXT_OPEN,
	SHIM_NEXT_OPEN64,
	SHIM_NEXT_OPENAT,
	SHIM_NEXT_OPENAT64,
	SHIM_NEXT_OPEN_2,
	SHIM_NEXT_OPEN64_2,
	SHIM_NEXT_OPENAT_2,
	SHIM_NEXT_OPENAT64_2,
	SHIM_NEXT_FOPEN,
	SHIM_NEXT_FOPEN64,
	SHIM_NEXT_FREOPEN,
	SHIM_NEXT_FREOPEN64,
	SHIM_NEXT_LSEEK,
	SHIM_NEXT_LSEEK64,
	SHIM_NEXT_PREAD,
	SHIM_NEXT_PREAD64,
	SHIM_NEXT_PREAD_CHK,
	SHIM_NEXT_PREAD64_CHK,
	SHIM_NEXT_REWIND,
	SHIM_NEXT_FSEEK,
	SHIM_NEXT_FSEEKO,
	SHIM_NEXT_FSEEKO64,
	SHIM_NEXT_SYSINFO,
	SHIM_NEXT_SYSCONF,
	SHIM_NEXT_GET_NPROCS,
	SHIM_NEXT_GET_NPROCS_CONF,
	SHIM_NEXT_GET_PHYS_PAGES,
	SHIM_NEXT_GET_AVPHYS_PAGES,
	SHIM_NEXT_GETLOADAVG,
	SHIM_NEXT_READDIR,
	SHIM_NEXT_READDIR64,
	SHIM_NEXT_SCANDIR,
	SHIM_NEXT_SCANDIR64,
	SHIM_NEXT_GLOB,
	SHIM_NEXT_GLOB64,
	SHIM_NEXT_NFTW,
	SHIM_NEXT_NFTW64,
	SHIM_NEXT_FTW,
	SHIM_NEXT_FTW64,
	SHIM_NEXT_MAX
};
#define SHIM_NEXT_NONE ((void *)1) /* looked up: none */
extern void *shim_next[SHIM_NEXT_MAX];
void *shim_next_slow(unsigned id);

static inline void *shim_next_get(unsigned id)
{
	void *p = __atomic_load_n(&shim_next[id], __ATOMIC_RELAXED);

	if (__builtin_expect(!p, 0))
		p = shim_next_slow(id);
	return p == SHIM_NEXT_NONE ? NULL : p;
}

/* real_X args when there is an X, else @fallback: one lookup (real_X ? real_X args : ... would
 * make two). */
#define NEXT_CALL(real, args, fallback)                                                            \
	__extension__({                                                                            \
		__typeof__(real) next_ = (real);                                                   \
		next_ ? next_ args : (fallback);                                                   \
	})

#define real_open ((int (*)(const char *, int, ...))shim_next_get(SHIM_NEXT_OPEN))
#define real_open64 ((int (*)(const char *, int, ...))shim_next_get(SHIM_NEXT_OPEN64))
#define real_openat ((int (*)(int, const char *, int, ...))shim_next_get(SHIM_NEXT_OPENAT))
#define real_openat64 ((int (*)(int, const char *, int, ...))shim_next_get(SHIM_NEXT_OPENAT64))
#define real_open_2 ((int (*)(const char *, int))shim_next_get(SHIM_NEXT_OPEN_2))
#define real_open64_2 ((int (*)(const char *, int))shim_next_get(SHIM_NEXT_OPEN64_2))
#define real_openat_2 ((int (*)(int, const char *, int))shim_next_get(SHIM_NEXT_OPENAT_2))
#define real_openat64_2 ((int (*)(int, const char *, int))shim_next_get(SHIM_NEXT_OPENAT64_2))
#define real_fopen ((FILE * (*)(const char *, const char *)) shim_next_get(SHIM_NEXT_FOPEN))
#define real_fopen64 ((FILE * (*)(const char *, const char *)) shim_next_get(SHIM_NEXT_FOPEN64))
#define real_freopen                                                                               \
	((FILE * (*)(const char *, const char *, FILE *)) shim_next_get(SHIM_NEXT_FREOPEN))
#define real_freopen64                                                                             \
	((FILE * (*)(const char *, const char *, FILE *)) shim_next_get(SHIM_NEXT_FREOPEN64))
#define real_lseek ((off_t(*)(int, off_t, int))shim_next_get(SHIM_NEXT_LSEEK))
#define real_lseek64 ((off_t(*)(int, off_t, int))shim_next_get(SHIM_NEXT_LSEEK64))
#define real_pread ((ssize_t(*)(int, void *, size_t, off_t))shim_next_get(SHIM_NEXT_PREAD))
#define real_pread64 ((ssize_t(*)(int, void *, size_t, off_t))shim_next_get(SHIM_NEXT_PREAD64))
#define real_pread_chk                                                                             \
	((ssize_t(*)(int, void *, size_t, off_t, size_t))shim_next_get(SHIM_NEXT_PREAD_CHK))
#define real_pread64_chk                                                                           \
	((ssize_t(*)(int, void *, size_t, off_t, size_t))shim_next_get(SHIM_NEXT_PREAD64_CHK))
#define real_rewind ((void (*)(FILE *))shim_next_get(SHIM_NEXT_REWIND))
#define real_fseek ((int (*)(FILE *, long, int))shim_next_get(SHIM_NEXT_FSEEK))
#define real_fseeko ((int (*)(FILE *, off_t, int))shim_next_get(SHIM_NEXT_FSEEKO))
#define real_fseeko64 ((int (*)(FILE *, off_t, int))shim_next_get(SHIM_NEXT_FSEEKO64))
#define real_sysinfo ((int (*)(struct sysinfo *))shim_next_get(SHIM_NEXT_SYSINFO))
#define real_sysconf ((long (*)(int))shim_next_get(SHIM_NEXT_SYSCONF))
#define real_get_nprocs ((int (*)(void))shim_next_get(SHIM_NEXT_GET_NPROCS))
#define real_get_nprocs_conf ((int (*)(void))shim_next_get(SHIM_NEXT_GET_NPROCS_CONF))
#define real_get_phys_pages ((long (*)(void))shim_next_get(SHIM_NEXT_GET_PHYS_PAGES))
#define real_get_avphys_pages ((long (*)(void))shim_next_get(SHIM_NEXT_GET_AVPHYS_PAGES))
#define real_getloadavg ((int (*)(double *, int))shim_next_get(SHIM_NEXT_GETLOADAVG))
#define real_readdir ((struct dirent * (*)(DIR *)) shim_next_get(SHIM_NEXT_READDIR))
#define real_readdir64 ((struct dirent64 * (*)(DIR *)) shim_next_get(SHIM_NEXT_READDIR64))
#define real_scandir                                                                               \
	((int (*)(const char *, struct dirent ***, int (*)(const struct dirent *),                 \
		  int (*)(const struct dirent **,                                                  \
			  const struct dirent **)))shim_next_get(SHIM_NEXT_SCANDIR))
#define real_scandir64                                                                             \
	((int (*)(const char *, struct dirent64 ***, int (*)(const struct dirent64 *),             \
		  int (*)(const struct dirent64 **,                                                \
			  const struct dirent64 **)))shim_next_get(SHIM_NEXT_SCANDIR64))
/* glob, nftw and ftw (walk.c); the glob_t, stat and callback types as there (musl has no 64
 * types of its own). */
#define real_glob                                                                                  \
	((int (*)(const char *, int, int (*)(const char *, int), glob_t *))shim_next_get(          \
		SHIM_NEXT_GLOB))
#define real_glob64                                                                                \
	((int (*)(const char *, int, int (*)(const char *, int), glob64_t *))shim_next_get(        \
		SHIM_NEXT_GLOB64))
#define real_nftw ((int (*)(const char *, nftw_fn, int, int))shim_next_get(SHIM_NEXT_NFTW))
#define real_nftw64 ((int (*)(const char *, nftw64_fn, int, int))shim_next_get(SHIM_NEXT_NFTW64))
#define real_ftw ((int (*)(const char *, ftw_fn, int))shim_next_get(SHIM_NEXT_FTW))
#define real_ftw64 ((int (*)(const char *, ftw64_fn, int))shim_next_get(SHIM_NEXT_FTW64))

/*
 * The one thread-local flag: set while the shim works on this thread. A signal handler that
 * interrupts that work and calls a wrapper on the same thread passes straight through: the
 * request's memory, the claims on the kept caches and the set-up are not re-entrant on one
 * thread. The shim's own work calls no wrapped name (the core goes through source/sys.h, the shim
 * through raw.h), so nothing else sets it off. initial-exec: no allocation on access.
 */
extern __thread int shim_busy __attribute__((tls_model("initial-exec")));

/* Set at the end of the constructor (real_* resolved). */
extern atomic_bool shim_ready;
#define SHIM_SETUP_DONE (-1) /* shim.setup_state */
/* The configuration, once per process: true when it is set (init.c). */
bool shim_setup(void);

/* Whether a wrapper may take the virtual path now. The first call after the constructor sets the
 * configuration up (set up implies ready: one load on the common path). */
static inline bool shim_active(void)
{
	if (shim_busy)
		return false;
	if (atomic_load_explicit(&shim.setup_state, memory_order_acquire) != SHIM_SETUP_DONE &&
	    (!atomic_load_explicit(&shim_ready, memory_order_acquire) || !shim_setup()))
		return false;
	return shim.config.enabled;
}

/*
 * The core's renders use up to ~16 KiB of stack (cpuinfo, the uptime walk). A signal handler
 * running on a small sigaltstack(2) stack gets the real file instead. One cheap system call,
 * made only on the virtual path.
 */
bool shim_stack_ok(void);

/*
 * Around every stretch of shim work: errno saved and restored, a nested call on this thread
 * passes through. No cancellation point is reached in between (raw system calls only), so a
 * cancelled thread never leaves an fd, an arena or a cache claim behind.
 */
struct shim_guard {
	int err;
};
static inline void shim_enter(struct shim_guard *g)
{
	g->err = errno;
	shim_busy++;
}
static inline void shim_leave(const struct shim_guard *g)
{
	shim_busy--;
	errno = g->err;
}

/* The next definition of @name, for the few wrappers that must call it before the constructor
 * (NULL when unknown). Not for use after the constructor: real_* are resolved then. */
void *shim_next_early(const char *name);
/* @next = @real, or before the constructor the next definition of @name; none: errno ENOSYS and
 * the wrapper returns @fail. For the wrappers that cannot do their work with system calls. */
#define NEXT_OR_EARLY(next, real, name, fail)                                                      \
	do {                                                                                       \
		next = (real);                                                                     \
		if (!next)                                                                         \
			next = (__typeof__(next))shim_next_early(name);                            \
		if (!next) {                                                                       \
			errno = ENOSYS;                                                            \
			return fail;                                                               \
		}                                                                                  \
	} while (0)

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
	bool root_held; /* root_kept is the kept root (request.c), released, not closed */
	int root_kept;	/* src.rootfd may be replaced by a "/" of the request's own (source.h) */
};
/* @self: getpid() when the caller already has it, 0 to look it up. */
int shim_ctx_open(struct shim_ctx *ctx, pid_t self);
void shim_ctx_close(struct shim_ctx *ctx);
/* Render @vf (pid/tid for the per-process stat); *ret_data points into ctx memory. 0, or
 * VFILE_SAME when ctx->req.same was set and the inputs make its key (nothing rendered). */
int shim_ctx_render(struct shim_ctx *ctx, const struct vfile *vf, pid_t pid, pid_t tid,
		    const char **ret_data, size_t *ret_len);

/* Render file @rel ("cpu0/topology/core_cpus") of /sys/devices/system/cpu; -ENODATA: the host's
 * bytes are the machine's. */
int shim_ctx_render_cpudir(struct shim_ctx *ctx, const char *rel, const char **ret_data,
			   size_t *ret_len);
/* /sys/devices/system/cpu (cpudir.c): whether @path spells a file below one of its cpuN, and the
 * open of one: like shim_open_pre(), SHIM_OPEN_SERVED with a snapshot (cpuN/online, topology
 * lists and masks) or with -1 and errno ENOENT (a CPU the machine does not have), else
 * SHIM_OPEN_PASS. */
bool shim_cpufile_named(const char *path);
int shim_cpufile_open(const char *path, int flags, int *ret_fd);
/* The same for a relative @path at @dirfd (AT_FDCWD: the working directory): whether its text may
 * name a per-CPU file ("cpu<digit>...", "online", "topology/..."), and the open of one, decided
 * as the absolute path the directory's /proc/self/fd link gives. */
bool shim_cpufile_rel_named(const char *path);
int shim_cpufile_open_at(int dirfd, const char *path, int flags, int *ret_fd);
/* The only names of /sys/devices/system/cpu ever left out: "cpu<digit>...". */
static inline bool shim_cpu_named(const char *name)
{
	return name[0] == 'c' && name[1] == 'p' && name[2] == 'u' && name[3] >= '0' &&
	       name[3] <= '9';
}
/* Whether @st is the host's /sys/devices/system/cpu on sysfs (not a cgprocfs already over it:
 * that one lists the machine's entries itself); learned once per process (cpudir.c). */
bool shim_cpudir_is(const struct stat *st);
/* Under shim_enter(): the CPUs the machine sees, the cpuN entries it lists (cpudir.c). */
struct cpuset;
int shim_cpudir_visible(struct cpuset *ret);

/* Whether the OCI hook left the unvirtualised inputs at VFILE_HOST_INPUTS (a procfs file at
 * its proc/meminfo), looked at once per process (identify.c): the table files that a FUSE
 * overlay covers are then answered by the shim from those inputs. */
bool shim_host_inputs(void);
/* Whether a table path on the file system @sf is the shim's to serve: procfs or sysfs, or a
 * FUSE overlay when shim_host_inputs() (identify.c). */
struct statfs;
bool shim_fs_learnable(const struct statfs *sf);
/* The table's entry for @id (identify.c). */
const struct vfile *vfile_by_id(enum vfile_id id);
/* Render @vf (through the snapshot cache) into a new snapshot fd on the lowest free number;
 * *ret_st identifies it (snapcache.c). */
int snapshot_render(const struct vfile *vf, pid_t pid, pid_t tid, bool cloexec,
		    struct stat *ret_st);
/* A new snapshot fd of @data, close-on-exec as @cloexec says; *ret_sealed: a sealed memfd, whose
 * bytes cannot change (fdtab.c). */
int snapshot_open(const struct vfile *vf, const char *data, size_t len, bool cloexec,
		  bool *ret_sealed);
/* "/proc/self/fd/<fd>" (fdtab.c). */
void fd_path(char *out, size_t size, int fd);
/* Render @vf and put a snapshot on @fd (fdtab.c). */
int snapshot_put(int fd, const struct vfile *vf, pid_t pid, pid_t tid, bool cloexec);
/* @fd (identified by @st) is a snapshot of @id for @pid/@tid: a rewind re-renders it. */
void fdtab_set(int fd, const struct stat *st, enum vfile_id id, pid_t pid, pid_t tid);

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
/* The sampler's values for @m through the process-wide table cache (sample.c); @priv is request
 * memory for a private copy of that cache. 0 or -ENODATA (no fresh table: host values);
 * -ESTALE: the kept root fd is not ours any more (src_root_check). */
int shim_sample_get(const struct cg_src *src, const struct cg_machine *m, long long machine_stamp,
		    struct cg_sample_cache *priv, struct cg_sample *ret);

/* After a vfile_sysinfo/nprocs/loadavg call failed with @r: 0 when scratch was grown (call
 * again), else @r. */
int shim_ctx_retry(struct shim_ctx *ctx, int r);
