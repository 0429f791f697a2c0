/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /sys/devices/system/cpu for the programs that count or read its per-CPU entries (htop, lscpu,
 * hwloc, ls, Python's os.listdir and os.scandir): the machine's view, as cgprocfs serves it.
 *
 * Listing: opendir() is a getdents64(2) loop inside libc, nothing to interpose; programs then
 * call readdir or readdir64 through the PLT (checked with LD_DEBUG=bindings for ls, htop, lscpu,
 * lstopo and python3), and those skip the cpuN entries of CPUs the machine does not see.
 * scandir/scandir64 call libc's internal readdir, so they are wrapped as a whole: the caller's
 * filter runs behind one that drops the hidden entries. glob() and nftw() read with the internal
 * readdir too: walk.c wraps them.
 *
 * Reading: cpuN/online and cpuN/topology's lists and masks, spelled plainly, are served as
 * snapshots from vfile_cpudir_render(), a visible CPU's other files are the host's (cache,
 * cpufreq); every file of a hidden CPU is ENOENT, like its entry. Relative opens (lscpu and htop
 * open "cpuN/..." or "online" at a directory fd) whose text may name one ("cpu<digit>...",
 * "online", "topology/...") pay one readlink of /proc/self/fd/N (or /proc/self/cwd) and are then
 * decided as the absolute path; every other relative open costs a byte compare or two.
 *
 * Cost on other paths: an entry not named "cpu<digit>" costs four byte compares; a cpuN entry one
 * fstat() of the directory and, in the directory, one machine lookup per listing (request.c
 * keeps the machine; the listing keeps the visible set). Every failure shows the host's entry or
 * file. Must not: allocate, lock, print, or change errno on success.
 */
#include <dirent.h>
#include <string.h>
#include <sys/statfs.h>

#include "model/cpusys.h"
#include "raw.h"
#include "shim.h"

#define LEARN_ABSENT UINT64_MAX
#define CPUDIR_SLASH VFILE_CPU_DIR "/"
/* Longest relative path a per-CPU open is resolved for ("cpu8191/topology/core_siblings_list"
 * is 35 bytes). */
#define PATH_MAX_REL 64

bool shim_cpudir_is(const struct stat *st)
{
	uint64_t ino = atomic_load_explicit(&shim.ident.cpudir.ino, memory_order_acquire);

	if (ino == 0) {
		struct stat ds;
		struct statfs sf;
		int fd = raw_openat(AT_FDCWD, VFILE_CPU_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);

		ino = LEARN_ABSENT;
		if (fd >= 0) {
			if (raw_fstat(fd, &ds) == 0 && RAW3(SYS_fstatfs, fd, &sf, 0) == 0 &&
			    shim_fs_learnable(&sf)) {
				atomic_store_explicit(&shim.ident.cpudir.dev, ds.st_dev,
						      memory_order_relaxed);
				ino = ds.st_ino;
			}
			raw_close(fd);
		}
		atomic_store_explicit(&shim.ident.cpudir.ino, ino, memory_order_release);
	}
	return ino != LEARN_ABSENT && ino == st->st_ino &&
	       atomic_load_explicit(&shim.ident.cpudir.dev, memory_order_relaxed) == st->st_dev;
}

int shim_cpudir_visible(struct cpuset *ret)
{
	struct shim_ctx ctx;
	int r;

	r = shim_ctx_open(&ctx, 0);
	if (r < 0)
		return r;
	r = vfile_cpudir_visible(&ctx.req, ret);
	shim_ctx_close(&ctx);
	return r;
}

/*
 * The listing this thread is reading (readdir): the DIR and the machine's CPUs below 64 as they
 * were at its first cpuN entry, so that one listing looks the machine up once, not once per
 * entry. Forgotten when the listing ends; a DIR closed before its end and another opened at the
 * same address reuses the set, one listing old. Machines with a CPU above 63 are not kept.
 */
static __thread struct {
	const DIR *dir;
	uint64_t vis;
} listing __attribute__((tls_model("initial-exec")));

/* Under shim_enter(): whether CPU entry @name is one the machine does not see; @d: the listing it
 * comes from (NULL: none to remember). */
static bool hidden_cpu(const DIR *d, const char *name, size_t len)
{
	struct span sp = {name, len};
	struct cpuset vis;
	int id = cpudir_cpu_id(sp);
	bool small = true;

	if (d && listing.dir == d && id >= 0 && id < 64)
		return !(listing.vis >> id & 1);
	if (shim_cpudir_visible(&vis) < 0)
		return false;
	for (size_t i = 1; i < sizeof(vis.bits) / sizeof(vis.bits[0]); i++)
		small &= vis.bits[i] == 0;
	if (d && small) {
		listing.dir = d;
		listing.vis = vis.bits[0];
	}
	return !cpudir_entry_visible(sp, &vis);
}

/* Entry @name, read from @d (NULL: a scandir() of the CPU directory), is a CPU the machine does
 * not see. */
static bool entry_hidden(DIR *d, const char *name)
{
	struct shim_guard g;
	struct stat st;
	bool hidden = false;

	if (!shim_cpu_named(name) || !shim_active() || !shim_stack_ok())
		return false;
	shim_enter(&g);
	if (!d || (raw_fstat(dirfd(d), &st) == 0 && shim_cpudir_is(&st)))
		hidden = hidden_cpu(d, name, strlen(name));
	shim_leave(&g);
	return hidden;
}

/* readdir() and readdir64(): the next entry the machine has. */
#define READDIR_WRAPPER(NAME, DIRENT, REAL)                                                        \
	SHIM_EXPORT struct DIRENT *NAME(DIR *d)                                                    \
	{                                                                                          \
		__typeof__(REAL) next;                                                             \
		struct DIRENT *e;                                                                  \
                                                                                                   \
		NEXT_OR_EARLY(next, REAL, #NAME, NULL);                                            \
		do                                                                                 \
			e = next(d);                                                               \
		while (e && entry_hidden(d, e->d_name));                                           \
		if (!e && listing.dir == d)                                                        \
			listing.dir = NULL;                                                        \
		return e;                                                                          \
	}

READDIR_WRAPPER(readdir, dirent, real_readdir)
READDIR_WRAPPER(readdir64, dirent64, real_readdir64)

/* Whether @path names the CPU directory: a last component "cpu" (text), then the fstatat. */
static bool scans_cpudir(const char *path)
{
	size_t n = path ? strlen(path) : 0;
	struct shim_guard g;
	struct stat st;
	bool yes;

	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n < 3 || memcmp(path + n - 3, "cpu", 3) != 0 || (n > 3 && path[n - 4] != '/') ||
	    !shim_active())
		return false;
	shim_enter(&g);
	yes = raw_fstatat(AT_FDCWD, path, &st, 0) == 0 && shim_cpudir_is(&st);
	shim_leave(&g);
	return yes;
}

/*
 * scandir() and scandir64() (the same code for struct dirent and struct dirent64): the caller's
 * filter of a scandir() of the CPU directory runs, on this thread, behind FILTER.
 */
#define SCANDIR_WRAPPER(NAME, DIRENT, REAL, FILTER, SAVED)                                         \
	static __thread int (*SAVED)(const struct DIRENT *);                                       \
	static int FILTER(const struct DIRENT *e)                                                  \
	{                                                                                          \
		if (entry_hidden(NULL, e->d_name))                                                 \
			return 0;                                                                  \
		return SAVED ? SAVED(e) : 1;                                                       \
	}                                                                                          \
	SHIM_EXPORT int NAME(const char *path, struct DIRENT ***list,                              \
			     int (*filter)(const struct DIRENT *),                                 \
			     int (*compar)(const struct DIRENT **, const struct DIRENT **))        \
	{                                                                                          \
		int (*saved)(const struct DIRENT *) = SAVED;                                       \
		__typeof__(REAL) next;                                                             \
		int r;                                                                             \
                                                                                                   \
		NEXT_OR_EARLY(next, REAL, #NAME, -1);                                              \
		if (!scans_cpudir(path))                                                           \
			return next(path, list, filter, compar);                                   \
		SAVED = filter;                                                                    \
		r = next(path, list, FILTER, compar);                                              \
		SAVED = saved;                                                                     \
		return r;                                                                          \
	}

SCANDIR_WRAPPER(scandir, dirent, real_scandir, filter_cpus, scan_filter)
SCANDIR_WRAPPER(scandir64, dirent64, real_scandir64, filter_cpus64, scan_filter64)

bool shim_cpufile_named(const char *path)
{
	return path[0] == '/' && strncmp(path, CPUDIR_SLASH, sizeof(CPUDIR_SLASH) - 1) == 0 &&
	       shim_cpu_named(path + sizeof(CPUDIR_SLASH) - 1);
}

/* Plain read-only opens only, as identify.c's before-the-open path. */
#define CPUFILE_FLAGS_OK (O_ACCMODE | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_LARGEFILE | O_NOATIME)

int shim_cpufile_open(const char *path, int flags, int *ret_fd)
{
	const char *rel = path + sizeof(CPUDIR_SLASH) - 1, *slash = strchr(rel, '/');
	enum cpusys_kind kind = cpusys_kind_of((struct span){rel, strlen(rel)});
	struct shim_guard g;
	struct shim_ctx ctx;
	struct stat st;
	const char *data;
	size_t len;
	bool sealed, gone = false;
	int r = SHIM_OPEN_PASS, fd = -1;

	if ((flags & ~CPUFILE_FLAGS_OK) || !slash || !shim_stack_ok())
		return SHIM_OPEN_PASS;
	shim_enter(&g);
	if (raw_fstatat(AT_FDCWD, VFILE_CPU_DIR, &st, 0) < 0 || !shim_cpudir_is(&st) ||
	    shim_ctx_open(&ctx, 0) < 0)
		goto out;
	{
		struct cpuset vis;

		if (vfile_cpudir_visible(&ctx.req, &vis) == 0 &&
		    !cpudir_entry_visible((struct span){rel, (size_t)(slash - rel)}, &vis))
			gone = true;
	}
	if (!gone && kind != CPUSYS_HOST && shim_ctx_render_cpudir(&ctx, rel, &data, &len) == 0)
		fd = snapshot_open(vfile_by_id(VFILE_SYS_CPU_ONLINE), data, len, flags & O_CLOEXEC,
				   &sealed);
	shim_ctx_close(&ctx);
	if (gone || fd >= 0) {
		*ret_fd = fd;
		r = SHIM_OPEN_SERVED;
	}
out:
	shim_leave(&g);
	if (gone)
		errno = ENOENT;
	return r;
}

bool shim_cpufile_rel_named(const char *path)
{
	switch (path[0]) {
	case 'c':
		return shim_cpu_named(path);
	case 'o':
		return strcmp(path, "online") == 0;
	case 't':
		return strncmp(path, "topology/", 9) == 0;
	default:
		return false;
	}
}

/* Longest directory a relative per-CPU open is resolved in ("/sys/devices/system/cpu/cpuN/
 * topology" is 40 bytes): a longer one is not the CPU directory or below it. */
#define REL_DIR_MAX 64

int shim_cpufile_open_at(int dirfd, const char *path, int flags, int *ret_fd)
{
	char link[40], abs[REL_DIR_MAX + PATH_MAX_REL];
	size_t plen = strlen(path);
	struct shim_guard g;
	ssize_t n;

	if (plen >= PATH_MAX_REL || !shim_active() || !shim_stack_ok())
		return SHIM_OPEN_PASS;
	shim_enter(&g);
	if (dirfd == AT_FDCWD)
		memcpy(link, "/proc/self/cwd", sizeof("/proc/self/cwd"));
	else
		fd_path(link, sizeof(link), dirfd);
	n = raw_readlinkat(AT_FDCWD, link, abs, REL_DIR_MAX);
	shim_leave(&g);
	if (n <= 0 || n >= REL_DIR_MAX || abs[0] != '/')
		return SHIM_OPEN_PASS;
	abs[n] = '/';
	memcpy(abs + n + 1, path, plen + 1);
	if (!shim_cpufile_named(abs))
		return SHIM_OPEN_PASS;
	return shim_cpufile_open(abs, flags, ret_fd);
}
