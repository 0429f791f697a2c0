/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which open is of a virtual file. Owns shim.ident (state.h): the table paths' last components
 * and the st_dev/st_ino of each table path, learned once per process.
 *
 * Identity is by what was opened, not by spelling (research/interposition.md 4.11): a basename
 * prefilter derived from vfile_table keeps ordinary opens at native cost; candidates are
 * fstat()ed (before the open when the flags allow, else after it) and compared with the
 * st_dev/st_ino of the table's path. That covers relative opens, dirfds, "//proc/./meminfo",
 * /proc/self/root/proc/meminfo, and leaves htop's per-CPU "online" files alone. Files named "stat"
 * on procfs that are not /proc/stat are per-process: their path comes from the text, or from
 * /proc/self/fd/N after the open.
 *
 * Must not: render, keep snapshots (snapcache.c) or touch the caller's fd beyond an fstat and a
 * readlink (fdtab.c puts snapshots on it). Any failure passes the open through. Nothing here
 * allocates, locks or prints.
 */
#include <limits.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include "raw.h"
#include "shim.h"

#define PROC_MAGIC 0x9fa0
#define SYSFS_MAGIC 0x62656572
#define FUSE_SUPER_MAGIC 0x65735546

static const char *base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static bool file_enabled(enum vfile_id id)
{
	return vfile_enabled(&shim.config, id);
}

/*
 * Where each table path's last component starts and how long it is, learned on first use (the
 * same values whichever thread writes them): the prefilter runs on every open of the process,
 * and a strrchr() per table entry per open was most of its cost.
 */
static bool base_is(const struct vfile *vf, const char *base, size_t blen)
{
	size_t len = atomic_load_explicit(&shim.ident.table_base[vf->id].len, memory_order_relaxed);
	size_t off = atomic_load_explicit(&shim.ident.table_base[vf->id].off, memory_order_relaxed);

	if (len == 0) {
		const char *b = base_of(vf->path);

		off = (size_t)(b - vf->path);
		len = strlen(b);
		if (off > UCHAR_MAX || len == 0 || len > UCHAR_MAX)
			return strcmp(base, b) == 0;
		atomic_store_explicit(&shim.ident.table_base[vf->id].off, (unsigned char)off,
				      memory_order_relaxed);
		atomic_store_explicit(&shim.ident.table_base[vf->id].len, (unsigned char)len,
				      memory_order_relaxed);
	}
	return len == blen && memcmp(base, vf->path + off, len) == 0;
}

/* Lengths and first bytes of the table's last components: most names are rejected by two bit
 * tests. */
static void quick_learn(void)
{
	vfile_foreach (vf) {
		const char *b = base_of(vf->path);
		size_t len = strlen(b);
		unsigned char c = (unsigned char)b[0];

		atomic_fetch_or_explicit(&shim.ident.quick_len, 1ULL << (len < 63 ? len : 63),
					 memory_order_relaxed);
		atomic_fetch_or_explicit(&shim.ident.quick_first[c >> 6], 1ULL << (c & 63),
					 memory_order_relaxed);
	}
	atomic_store_explicit(&shim.ident.quick_ready, true, memory_order_release);
}

/* True when @base is the last component of some table path. */
static bool prefilter(const char *base, size_t blen)
{
	unsigned char c = (unsigned char)base[0];

	if (!blen)
		return false;
	if (!atomic_load_explicit(&shim.ident.quick_ready, memory_order_acquire))
		quick_learn();
	if (!(atomic_load_explicit(&shim.ident.quick_len, memory_order_relaxed) >>
		      (blen < 63 ? blen : 63) &
	      1) ||
	    !(atomic_load_explicit(&shim.ident.quick_first[c >> 6], memory_order_relaxed) >>
		      (c & 63) &
	      1))
		return false;
	vfile_foreach (vf) {
		if (base_is(vf, base, blen))
			return true;
	}
	return false;
}

/* st_ino 0 = not learned yet; LEARN_ABSENT = missing or not procfs/sysfs (a FUSE overlay such
 * as cgprocfs or lxcfs already serves it: do not virtualize twice), unless the real file is
 * kept at VFILE_HOST_INPUTS: the shim then renders from it and answers the overlaid path in the
 * process, without a FUSE round trip. */
#define LEARN_ABSENT UINT64_MAX

bool shim_host_inputs(void)
{
	int v = atomic_load_explicit(&shim.ident.host_inputs, memory_order_relaxed);

	if (v == 0) {
		struct statfs sf;

		v = RAW3(SYS_statfs, VFILE_HOST_INPUTS "/proc/meminfo", &sf, 0) == 0 &&
				    sf.f_type == PROC_MAGIC
			    ? 1
			    : -1;
		atomic_store_explicit(&shim.ident.host_inputs, v, memory_order_relaxed);
	}
	return v > 0;
}

bool shim_fs_learnable(const struct statfs *sf)
{
	return sf->f_type == PROC_MAGIC || sf->f_type == SYSFS_MAGIC ||
	       (sf->f_type == FUSE_SUPER_MAGIC && shim_host_inputs());
}

static bool learned_match(const struct vfile *vf, const struct stat *st)
{
	uint64_t ino = atomic_load_explicit(&shim.ident.learned[vf->id].ino, memory_order_acquire);

	if (ino == 0) {
		struct stat ts;
		struct statfs sf;
		int fd;

		ino = LEARN_ABSENT;
		fd = raw_openat(AT_FDCWD, vf->path, O_PATH | O_CLOEXEC, 0);
		if (fd >= 0) {
			if (raw_fstat(fd, &ts) == 0 && RAW3(SYS_fstatfs, fd, &sf, 0) == 0 &&
			    shim_fs_learnable(&sf)) {
				atomic_store_explicit(&shim.ident.learned[vf->id].dev, ts.st_dev,
						      memory_order_relaxed);
				ino = ts.st_ino;
			}
			raw_close(fd);
		}
		atomic_store_explicit(&shim.ident.learned[vf->id].ino, ino, memory_order_release);
	}
	return ino != LEARN_ABSENT && ino == st->st_ino &&
	       atomic_load_explicit(&shim.ident.learned[vf->id].dev, memory_order_relaxed) ==
		       st->st_dev;
}

const struct vfile *vfile_by_id(enum vfile_id id)
{
	vfile_foreach (vf) {
		if (vf->id == id)
			return vf;
	}
	return NULL;
}

/* "/proc/<pid>/stat" or "/proc/<pid>/task/<tid>/stat", as the link of /proc/self/fd/N says. */
static bool pidstat_identify(int fd, pid_t *ret_pid, pid_t *ret_tid)
{
	char link[40], path[128];
	struct statfs sf;
	ssize_t n;

	if (RAW3(SYS_fstatfs, fd, &sf, 0) < 0 || sf.f_type != PROC_MAGIC)
		return false;
	fd_path(link, sizeof(link), fd);
	n = raw_readlinkat(AT_FDCWD, link, path, sizeof(path) - 1);
	if (n <= 0)
		return false;
	path[n] = '\0';
	return vfile_match(path, ret_pid, ret_tid) == vfile_by_id(VFILE_PROC_PID_STAT);
}

/* The enabled system-wide file named @base (@blen bytes) that @st is; NULL: none. */
static const struct vfile *global_by_stat(const struct stat *st, const char *base, size_t blen)
{
	vfile_foreach (vf) {
		if ((vf->flags & VFILE_PER_PROCESS) || !file_enabled(vf->id) ||
		    !base_is(vf, base, blen))
			continue;
		if (learned_match(vf, st))
			return vf;
	}
	return NULL;
}

/* The per-process stat file when it is enabled and its name is @base; NULL otherwise. */
static const struct vfile *pidstat_named(const char *base, size_t blen)
{
	const struct vfile *pidstat = vfile_by_id(VFILE_PROC_PID_STAT);

	return pidstat && file_enabled(pidstat->id) && base_is(pidstat, base, blen) ? pidstat
										    : NULL;
}

static const struct vfile *identify(int fd, const char *base, size_t blen, pid_t *ret_pid,
				    pid_t *ret_tid)
{
	const struct vfile *vf;
	struct stat st;

	if (raw_fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return NULL;
	vf = global_by_stat(&st, base, blen);
	if (vf) {
		*ret_pid = 0;
		*ret_tid = 0;
		return vf;
	}
	vf = pidstat_named(base, blen);
	return vf && pidstat_identify(fd, ret_pid, ret_tid) ? vf : NULL;
}

/*
 * Before the real open: a plain read-only open of a candidate name is identified with one
 * fstatat() of what it names; a virtual file is served without ever opening the real one (the
 * snapshot takes the number the real open would have taken). Opens with flags that change what
 * the kernel would answer (O_CREAT, O_TRUNC, O_NOFOLLOW, O_DIRECTORY, O_PATH...) and spellings of
 * /proc/<pid>/stat that the path text does not resolve are decided after the real open
 * (SHIM_OPEN_LATE). A failing fstatat means the real open decides, with the kernel's errno.
 */
#define PRE_FLAGS_OK (O_ACCMODE | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_LARGEFILE | O_NOATIME)

/*
 * The type and identity of what @path names, for the decision before the open (the snapshot's
 * own stat replaces it). With the inputs kept, a candidate may be a FUSE overlay whose
 * attributes are never cached (cgprocfs renders on each getattr): statx AT_STATX_DONT_SYNC
 * takes the kernel's cached ones, which carry the same identity, without a round trip to the
 * daemon (fuse_update_get_attr()). Where statx is refused, an ordinary stat.
 */
static int stat_candidate(int dirfd, const char *path, struct stat *st)
{
#if defined(STATX_TYPE) && defined(AT_STATX_DONT_SYNC) /* glibc; older musl has no statx */
	struct statx sx;

	if (shim_host_inputs() &&
	    raw_syscall6(SYS_statx, dirfd, (long)path, AT_STATX_DONT_SYNC, STATX_TYPE | STATX_INO,
			 (long)&sx, 0) == 0 &&
	    (sx.stx_mask & (STATX_TYPE | STATX_INO)) == (STATX_TYPE | STATX_INO)) {
		memset(st, 0, sizeof(*st));
		st->st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
		st->st_ino = sx.stx_ino;
		st->st_mode = sx.stx_mode;
		return 0;
	}
#endif
	return raw_fstatat(dirfd, path, st, 0);
}

/* The procfs the table's /proc/stat lives on (its st_dev), learned with it. */
static bool on_learned_proc(const struct stat *st)
{
	const struct vfile *stat = vfile_by_id(VFILE_PROC_STAT);
	struct stat dummy;

	if (!stat)
		return false;
	memset(&dummy, 0, sizeof(dummy));
	(void)learned_match(stat, &dummy); /* learns it */
	return atomic_load_explicit(&shim.ident.learned[VFILE_PROC_STAT].ino,
				    memory_order_acquire) != LEARN_ABSENT &&
	       atomic_load_explicit(&shim.ident.learned[VFILE_PROC_STAT].dev,
				    memory_order_relaxed) == st->st_dev;
}

int shim_open_pre(int dirfd, const char *path, int flags, int *ret_fd)
{
	const struct vfile *vf = NULL, *pidstat;
	const char *base;
	struct shim_guard g;
	struct stat st;
	pid_t pid = 0, tid = 0;
	size_t blen;
	int r = SHIM_OPEN_PASS, fd;

	if (!path || (flags & O_ACCMODE) != O_RDONLY || (flags & (O_PATH | O_DIRECTORY)) ||
	    !shim_active())
		return SHIM_OPEN_PASS;
	/* "/sys/devices/system/cpu/cpu<N>/..." spelled plainly: a per-CPU file (htop, lscpu), never
	 * a table file; decided on the text (cpudir.c) */
	if (shim_cpufile_named(path))
		return shim_cpufile_open(path, flags, ret_fd);
	base = base_of(path);
	blen = strlen(base);
	if (!prefilter(base, blen))
		return SHIM_OPEN_PASS;
	if ((flags & ~PRE_FLAGS_OK) || !shim_stack_ok())
		return SHIM_OPEN_LATE;
	shim_enter(&g);
	if (stat_candidate(dirfd, path, &st) < 0 || !S_ISREG(st.st_mode))
		goto out;
	vf = global_by_stat(&st, base, blen);
	pidstat = vf ? NULL : pidstat_named(base, blen);
	if (pidstat) {
		/* "/proc/self/stat", "/proc/<pid>[/task/<tid>]/stat" on the procfs we know;
		 * any other spelling on a procfs is resolved after the open. */
		if (path[0] == '/' && on_learned_proc(&st) &&
		    vfile_match(path, &pid, &tid) == pidstat) {
			vf = pidstat;
			if (pid == 0)
				pid = raw_getpid(); /* the fd stays the opener's, across fork too */
		} else {
			r = SHIM_OPEN_LATE;
		}
	}
	if (!vf)
		goto out;
	fd = snapshot_render(vf, pid, tid, flags & O_CLOEXEC, &st);
	if (fd < 0) {
		shim_log("serve failed, real file for", vf->name, fd);
		goto out;
	}
	fdtab_set(fd, &st, vf->id, pid, tid);
	*ret_fd = fd;
	r = SHIM_OPEN_SERVED;
out:
	shim_leave(&g);
	return r;
}

int shim_open_hook(int fd, const char *path, int flags)
{
	const struct vfile *vf;
	const char *base;
	struct shim_guard g;
	pid_t pid, tid;
	size_t blen;
	int r;

	if (fd < 0 || !path || (flags & O_ACCMODE) != O_RDONLY ||
	    (flags & (O_PATH | O_DIRECTORY)) || !shim_active())
		return fd;
	base = base_of(path);
	blen = strlen(base);
	if (!prefilter(base, blen) || !shim_stack_ok())
		return fd;
	shim_enter(&g);
	vf = identify(fd, base, blen, &pid, &tid);
	if (vf) {
		r = snapshot_put(fd, vf, pid, tid, flags & O_CLOEXEC);
		if (r < 0)
			shim_log("serve failed, real file for", vf->name, r);
	}
	shim_leave(&g);
	return fd;
}
