/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which fd is a virtual file, and serving it: render, copy into a sealed memfd, hand the caller a
 * fresh read-only open file description on the very fd number the real open returned.
 *
 * Identity is by what was opened, not by spelling (research/interposition.md 4.11): a basename
 * prefilter derived from vfile_table keeps ordinary opens at native cost; candidates are
 * fstat()ed after the real open and compared with the st_dev/st_ino of the table's path, learned
 * once per process. That covers relative opens, dirfds, "//proc/./meminfo",
 * /proc/self/root/proc/meminfo, and leaves htop's per-CPU "online" files alone. Files named "stat"
 * on procfs that are not /proc/stat are per-process: their path comes from /proc/self/fd/N.
 *
 * Handed-out fds are remembered in a fixed fd-indexed table (atomics only) so that a rewind
 * (lseek to 0, pread at 0: vmstat, top) re-renders. An entry is trusted only when fstat() of the
 * fd still shows the memfd's inode: the fd may have been closed behind our back and reused.
 *
 * Any failure leaves the caller with the real fd. Nothing here allocates, locks or prints.
 */
#include <string.h>
#include <sys/mman.h>
#include <sys/statfs.h>

#include "raw.h"
#include "shim.h"

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x1U
#define MFD_ALLOW_SEALING 0x2U
#endif
#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_SEAL_SEAL 0x1
#define F_SEAL_SHRINK 0x2
#define F_SEAL_GROW 0x4
#define F_SEAL_WRITE 0x8
#endif
#define PROC_MAGIC 0x9fa0
#define SYSFS_MAGIC 0x62656572

static const char *base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static bool file_enabled(enum vfile_id id)
{
	return (shim_config.files >> id) & 1;
}

/* True when @base is the last component of some table path. */
static bool prefilter(const char *base)
{
	if (!base[0])
		return false;
	vfile_foreach (vf) {
		if (strcmp(base, base_of(vf->path)) == 0)
			return true;
	}
	return false;
}

/* st_ino 0 = not learned yet; LEARN_ABSENT = missing or not procfs/sysfs (a FUSE overlay such
 * as cgprocfs or lxcfs already serves it: do not virtualize twice). */
#define LEARN_ABSENT UINT64_MAX
static struct {
	atomic_uint_least64_t ino;
	atomic_uint_least64_t dev;
} learned[_VFILE_MAX];

static bool learned_match(const struct vfile *vf, const struct stat *st)
{
	uint64_t ino = atomic_load_explicit(&learned[vf->id].ino, memory_order_acquire);

	if (ino == 0) {
		struct stat ts;
		struct statfs sf;
		int fd;

		ino = LEARN_ABSENT;
		fd = raw_openat(AT_FDCWD, vf->path, O_PATH | O_CLOEXEC, 0);
		if (fd >= 0) {
			if (raw_fstat(fd, &ts) == 0 && RAW3(SYS_fstatfs, fd, &sf, 0) == 0 &&
			    (sf.f_type == PROC_MAGIC || sf.f_type == SYSFS_MAGIC)) {
				atomic_store_explicit(&learned[vf->id].dev, ts.st_dev,
						      memory_order_relaxed);
				ino = ts.st_ino;
			}
			raw_close(fd);
		}
		atomic_store_explicit(&learned[vf->id].ino, ino, memory_order_release);
	}
	return ino != LEARN_ABSENT && ino == st->st_ino &&
	       atomic_load_explicit(&learned[vf->id].dev, memory_order_relaxed) == st->st_dev;
}

static const struct vfile *vfile_by_id(enum vfile_id id)
{
	vfile_foreach (vf) {
		if (vf->id == id)
			return vf;
	}
	return NULL;
}

static bool parse_pid(const char **p, pid_t *ret)
{
	unsigned long v = 0;
	const char *s = *p;

	if (*s < '1' || *s > '9')
		return false;
	while (*s >= '0' && *s <= '9' && v < 0x40000000)
		v = v * 10 + (unsigned long)(*s++ - '0');
	if (v >= 0x40000000)
		return false;
	*ret = (pid_t)v;
	*p = s;
	return true;
}

/* "/proc/<pid>/stat" or "/proc/<pid>/task/<tid>/stat", as the link of /proc/self/fd/N says. */
static bool pidstat_identify(int fd, pid_t *ret_pid, pid_t *ret_tid)
{
	char link[64], path[128];
	struct statfs sf;
	const char *p;
	pid_t pid, tid = 0;
	ssize_t n;

	if (RAW3(SYS_fstatfs, fd, &sf, 0) < 0 || sf.f_type != PROC_MAGIC)
		return false;
	memcpy(link, "/proc/self/fd/", 14);
	{
		struct buf b;

		buf_init(&b, link + 14, sizeof(link) - 15);
		buf_put_u64(&b, (uint64_t)fd);
		link[14 + b.len] = '\0';
	}
	n = raw_readlinkat(AT_FDCWD, link, path, sizeof(path) - 1);
	if (n <= 0)
		return false;
	path[n] = '\0';
	if (strncmp(path, "/proc/", 6) != 0)
		return false;
	p = path + 6;
	if (!parse_pid(&p, &pid))
		return false;
	if (strncmp(p, "/task/", 6) == 0) {
		p += 6;
		if (!parse_pid(&p, &tid))
			return false;
	}
	if (strcmp(p, "/stat") != 0)
		return false;
	*ret_pid = pid;
	*ret_tid = tid;
	return true;
}

static const struct vfile *identify(int fd, const char *base, pid_t *ret_pid, pid_t *ret_tid)
{
	struct stat st;
	const struct vfile *pidstat;

	if (raw_fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return NULL;
	vfile_foreach (vf) {
		if ((vf->flags & VFILE_PER_PROCESS) || !file_enabled(vf->id) ||
		    strcmp(base, base_of(vf->path)) != 0)
			continue;
		if (learned_match(vf, &st)) {
			*ret_pid = 0;
			*ret_tid = 0;
			return vf;
		}
	}
	pidstat = vfile_by_id(VFILE_PROC_PID_STAT);
	if (pidstat && file_enabled(pidstat->id) && strcmp(base, base_of(pidstat->path)) == 0 &&
	    pidstat_identify(fd, ret_pid, ret_tid))
		return pidstat;
	return NULL;
}

static void fd_path(char *out, size_t size, int fd)
{
	struct buf b;

	buf_init(&b, out, size - 1);
	buf_puts(&b, "/proc/self/fd/");
	buf_put_u64(&b, (uint64_t)fd);
	out[b.len] = '\0';
}

/* pwrite, not write: the offset stays 0 for the reader, no lseek needed. */
static int write_all(int fd, const char *data, size_t len)
{
	off_t off = 0;

	while (len > 0) {
		ssize_t n = raw_pwrite(fd, data, len, off);

		if (n == -EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? (int)n : -EIO;
		data += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Content as a fresh description on the lowest free fd number (as the real open would have
 * returned), close-on-exec as @cloexec says: a sealed memfd, else an O_TMPFILE in /dev/shm
 * (memfd_create denied by a seccomp profile or missing).
 *
 * The memfd is handed out as it is, O_RDWR but sealed (F_SEAL_WRITE, _GROW, _SHRINK, _SEAL): its
 * bytes cannot change, a write() fails with EPERM (the real /proc file: EBADF) and F_GETFL shows
 * O_RDWR. Re-opening it O_RDONLY through /proc/self/fd/N and moving that onto the number would
 * make both match the real file, but costs openat + dup3 + close: measured 5.3 us on top of an
 * 11 us serve (memfd_create 4.1, pwrite 3.7, seals 0.8, fstat), when the whole virtual open is
 * allowed twice the native read of /proc/meminfo (9-10 us). No program was found to care about
 * a failing write's errno or a read-only fd's access mode, so the re-open is not done. The
 * /dev/shm fallback cannot be sealed: it is still re-opened read-only.
 */
static int snapshot_open(const struct vfile *vf, const char *data, size_t len, bool cloexec)
{
	char name[48], path[40];
	struct buf b;
	int wfd, rfd, r;

	buf_init(&b, name, sizeof(name) - 1);
	buf_puts(&b, "cgproc:");
	buf_puts(&b, vf->name);
	name[b.len] = '\0';
	wfd = raw_memfd_create(name, (cloexec ? MFD_CLOEXEC : 0) | MFD_ALLOW_SEALING);
	if (wfd >= 0) {
		r = write_all(wfd, data, len);
		if (r == 0)
			r = raw_fcntl(wfd, F_ADD_SEALS,
				      F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
		if (r < 0) {
			raw_close(wfd);
			return r;
		}
		return wfd;
	}
	wfd = raw_openat(AT_FDCWD, "/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (wfd < 0)
		return wfd;
	shim_log("memfd_create denied, tmpfile for", vf->name, 0);
	r = write_all(wfd, data, len);
	if (r < 0) {
		raw_close(wfd);
		return r;
	}
	fd_path(path, sizeof(path), wfd);
	rfd = raw_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (rfd < 0) {
		raw_close(wfd);
		return rfd;
	}
	/* onto the lower number: the write end goes away with it */
	r = raw_dup3(rfd, wfd, cloexec ? O_CLOEXEC : 0);
	raw_close(rfd);
	if (r < 0) {
		raw_close(wfd);
		return r;
	}
	return wfd;
}

/* The fd table: meta packs id (6 bits), pid and tid (29 bits each). */
#define FDTAB_SIZE 4096
static struct {
	atomic_uint_least64_t ino;
	atomic_uint_least64_t dev;
	atomic_uint_least64_t meta;
} fdtab[FDTAB_SIZE];

static void fdtab_set(int fd, const struct stat *st, enum vfile_id id, pid_t pid, pid_t tid)
{
	uint64_t meta = (uint64_t)id | ((uint64_t)pid & 0x1fffffff) << 6 |
			((uint64_t)tid & 0x1fffffff) << 35;

	if (fd < 0 || fd >= FDTAB_SIZE)
		return;
	atomic_store_explicit(&fdtab[fd].ino, 0, memory_order_relaxed);
	atomic_store_explicit(&fdtab[fd].dev, st->st_dev, memory_order_relaxed);
	atomic_store_explicit(&fdtab[fd].meta, meta, memory_order_relaxed);
	atomic_store_explicit(&fdtab[fd].ino, st->st_ino, memory_order_release);
}

/*
 * Snapshots that seldom change (the CPU lists, cpuinfo whose host text is kept for a second,
 * swaps, loadavg without a sampler) are kept: one sealed memfd per file at a high fd number, and
 * an open whose render equals its bytes gets a new O_RDONLY description of it (openat of
 * /proc/self/fd/N, ~3 us) instead of a new memfd (create, write, seal, and the caller's close
 * then frees it: ~9 us). The kept fd is checked (fstat) like the kept input fds; claims are a
 * reader count and a writer bit per file, never waited for.
 */
#define KEPT_SNAP_MIN_FD 1000
static struct {
	atomic_uint state; /* 2 * readers + 1 while a writer holds it */
	int fd;
	uint64_t dev, ino;
	size_t len;
} kept_snap[_VFILE_MAX];

static bool snap_keepable(enum vfile_id id)
{
	switch (id) {
	case VFILE_PROC_CPUINFO:
	case VFILE_PROC_SWAPS:
	case VFILE_PROC_LOADAVG:
	case VFILE_SYS_CPU_ONLINE:
	case VFILE_SYS_CPU_POSSIBLE:
	case VFILE_SYS_CPU_PRESENT:
		return true;
	default:
		return false;
	}
}

static bool snap_ours(enum vfile_id id)
{
	struct stat st;

	return kept_snap[id].fd > 0 && raw_fstat(kept_snap[id].fd, &st) == 0 &&
	       (uint64_t)st.st_dev == kept_snap[id].dev && (uint64_t)st.st_ino == kept_snap[id].ino;
}

/* A new description of the kept snapshot of @id when its bytes are @data; -1 otherwise.
 * @scratch (@size bytes) is free memory to compare in. */
static int snap_reuse(enum vfile_id id, const char *data, size_t len, char *scratch, size_t size,
		      bool cloexec, struct stat *ret_st)
{
	unsigned st = atomic_load_explicit(&kept_snap[id].state, memory_order_relaxed);
	char path[40];
	int fd = -1;

	if ((st & 1) || !atomic_compare_exchange_strong(&kept_snap[id].state, &st, st + 2))
		return -1;
	if (kept_snap[id].len == len && len <= size && snap_ours(id) &&
	    raw_pread(kept_snap[id].fd, scratch, len, 0) == (ssize_t)len &&
	    memcmp(scratch, data, len) == 0) {
		fd_path(path, sizeof(path), kept_snap[id].fd);
		fd = raw_openat(AT_FDCWD, path, O_RDONLY | (cloexec ? O_CLOEXEC : 0), 0);
		if (fd >= 0) {
			memset(ret_st, 0, sizeof(*ret_st));
			ret_st->st_dev = (dev_t)kept_snap[id].dev;
			ret_st->st_ino = (ino_t)kept_snap[id].ino;
		}
	}
	atomic_fetch_sub(&kept_snap[id].state, 2);
	return fd < 0 ? -1 : fd;
}

/* Keep @fd (a fresh snapshot of @id, identified by @st) as the one to reuse. */
static void snap_keep(enum vfile_id id, int fd, size_t len, const struct stat *st)
{
	unsigned zero = 0;
	int hi;

	if (!atomic_compare_exchange_strong(&kept_snap[id].state, &zero, 1))
		return;
	hi = raw_fcntl(fd, F_DUPFD_CLOEXEC, KEPT_SNAP_MIN_FD);
	if (hi >= 0) {
		if (snap_ours(id))
			raw_close(kept_snap[id].fd);
		kept_snap[id].fd = hi;
		kept_snap[id].dev = (uint64_t)st->st_dev;
		kept_snap[id].ino = (uint64_t)st->st_ino;
		kept_snap[id].len = len;
	}
	atomic_store_explicit(&kept_snap[id].state, 0, memory_order_release);
}

/* Render @vf into a new snapshot fd (the lowest free number); *ret_st identifies it. */
static int snapshot_render(const struct vfile *vf, pid_t pid, pid_t tid, bool cloexec,
			   struct stat *ret_st)
{
	struct shim_ctx ctx;
	const char *data;
	bool keep;
	size_t len;
	int fd, r;

	r = shim_ctx_open(&ctx);
	if (r < 0)
		return r;
	r = shim_ctx_render(&ctx, vf, pid, tid, &data, &len);
	if (r < 0) {
		shim_ctx_close(&ctx);
		return r;
	}
	keep = snap_keepable(vf->id);
	if (keep) {
		/* the render is done: its scratch memory is free */
		fd = snap_reuse(vf->id, data, len, ctx.req.scratch, ctx.req.scratch_size, cloexec,
				ret_st);
		if (fd >= 0) {
			shim_ctx_close(&ctx);
			return fd;
		}
	}
	fd = snapshot_open(vf, data, len, cloexec);
	shim_ctx_close(&ctx);
	if (fd < 0)
		return fd;
	r = raw_fstat(fd, ret_st);
	if (r < 0) {
		raw_close(fd);
		return r;
	}
	if (keep)
		snap_keep(vf->id, fd, len, ret_st);
	return fd;
}

/* Render @vf and put a snapshot on @fd (a real open, or a rewind of a snapshot) with
 * close-on-exec as @cloexec says (a regular file ignores O_NONBLOCK, so no other status flag
 * needs carrying over). */
static int serve(int fd, const struct vfile *vf, pid_t pid, pid_t tid, bool cloexec)
{
	struct stat st;
	int sfd, r;

	sfd = snapshot_render(vf, pid, tid, cloexec, &st);
	if (sfd < 0)
		return sfd;
	r = raw_dup3(sfd, fd, cloexec ? O_CLOEXEC : 0);
	raw_close(sfd);
	if (r < 0)
		return r;
	fdtab_set(fd, &st, vf->id, pid, tid);
	return 0;
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

/* The procfs the table's /proc/stat lives on (its st_dev), learned with it. */
static bool on_learned_proc(const struct stat *st)
{
	const struct vfile *stat = vfile_by_id(VFILE_PROC_STAT);
	struct stat dummy;

	if (!stat)
		return false;
	memset(&dummy, 0, sizeof(dummy));
	(void)learned_match(stat, &dummy); /* learns it */
	return atomic_load_explicit(&learned[VFILE_PROC_STAT].ino, memory_order_acquire) !=
		       LEARN_ABSENT &&
	       atomic_load_explicit(&learned[VFILE_PROC_STAT].dev, memory_order_relaxed) ==
		       st->st_dev;
}

/* "/sys/devices/system/cpu/cpu<N>/online" spelled plainly: a per-CPU file (htop, lscpu), never
 * the global one; decided on the text, without the extra path walk of an fstatat. */
static bool per_cpu_online(const char *path)
{
	static const char dir[] = "/sys/devices/system/cpu/cpu";
	const char *p = path + sizeof(dir) - 1;

	if (strncmp(path, dir, sizeof(dir) - 1) != 0 || *p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	return strcmp(p, "/online") == 0;
}

int shim_open_pre(int dirfd, const char *path, int flags, int *ret_fd)
{
	const struct vfile *vf = NULL, *pidstat;
	const char *base;
	struct shim_guard g;
	struct stat st;
	pid_t pid = 0, tid = 0;
	int r = SHIM_OPEN_PASS, fd;

	if (!path || (flags & O_ACCMODE) != O_RDONLY || (flags & (O_PATH | O_DIRECTORY)) ||
	    !shim_active())
		return SHIM_OPEN_PASS;
	base = base_of(path);
	if (!prefilter(base) || per_cpu_online(path))
		return SHIM_OPEN_PASS;
	if ((flags & ~PRE_FLAGS_OK) || !shim_stack_ok())
		return SHIM_OPEN_LATE;
	shim_enter(&g);
	if (raw_fstatat(dirfd, path, &st, 0) < 0 || !S_ISREG(st.st_mode))
		goto out;
	vfile_foreach (v) {
		if ((v->flags & VFILE_PER_PROCESS) || !file_enabled(v->id) ||
		    strcmp(base, base_of(v->path)) != 0)
			continue;
		if (learned_match(v, &st)) {
			vf = v;
			break;
		}
	}
	pidstat = vfile_by_id(VFILE_PROC_PID_STAT);
	if (!vf && pidstat && file_enabled(pidstat->id) &&
	    strcmp(base, base_of(pidstat->path)) == 0) {
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
	int r;

	if (fd < 0 || !path || (flags & O_ACCMODE) != O_RDONLY ||
	    (flags & (O_PATH | O_DIRECTORY)) || !shim_active())
		return fd;
	base = base_of(path);
	if (!prefilter(base) || !shim_stack_ok())
		return fd;
	shim_enter(&g);
	vf = identify(fd, base, &pid, &tid);
	if (vf) {
		r = serve(fd, vf, pid, tid, flags & O_CLOEXEC);
		if (r < 0)
			shim_log("serve failed, real file for", vf->name, r);
	}
	shim_leave(&g);
	return fd;
}

void shim_rewind_hook(int fd)
{
	uint64_t ino, meta;
	const struct vfile *vf;
	struct stat st;
	struct shim_guard g;
	int fdflags, r;

	if (fd < 0 || fd >= FDTAB_SIZE)
		return;
	ino = atomic_load_explicit(&fdtab[fd].ino, memory_order_acquire);
	if (ino == 0 || !shim_active() || !shim_stack_ok())
		return;
	shim_enter(&g);
	meta = atomic_load_explicit(&fdtab[fd].meta, memory_order_relaxed);
	if (raw_fstat(fd, &st) < 0 || st.st_ino != ino ||
	    st.st_dev != atomic_load_explicit(&fdtab[fd].dev, memory_order_relaxed)) {
		/* closed behind our back and reused: forget it */
		shim_log("rewind: fd no longer a snapshot, forgotten:", NULL, fd);
		atomic_compare_exchange_strong(&fdtab[fd].ino, &ino, 0);
		goto out;
	}
	vf = vfile_by_id((enum vfile_id)(meta & 0x3f));
	fdflags = raw_fcntl(fd, F_GETFD, 0);
	if (vf && fdflags >= 0) {
		r = serve(fd, vf, (pid_t)((meta >> 6) & 0x1fffffff),
			  (pid_t)((meta >> 35) & 0x1fffffff), fdflags & FD_CLOEXEC);
		if (r < 0)
			shim_log("refresh failed for", vf->name, r);
	}
out:
	shim_leave(&g);
}
