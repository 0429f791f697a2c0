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
#include <limits.h>
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
	return vfile_enabled(&shim_config, id);
}

/*
 * Where each table path's last component starts and how long it is, learned on first use (the
 * same values whichever thread writes them): the prefilter runs on every open of the process,
 * and a strrchr() per table entry per open was most of its cost.
 */
static struct {
	atomic_uchar off, len; /* len 0: not learned yet */
} table_base[_VFILE_MAX];

static bool base_is(const struct vfile *vf, const char *base, size_t blen)
{
	size_t len = atomic_load_explicit(&table_base[vf->id].len, memory_order_relaxed);
	size_t off = atomic_load_explicit(&table_base[vf->id].off, memory_order_relaxed);

	if (len == 0) {
		const char *b = base_of(vf->path);

		off = (size_t)(b - vf->path);
		len = strlen(b);
		if (off > UCHAR_MAX || len == 0 || len > UCHAR_MAX)
			return strcmp(base, b) == 0;
		atomic_store_explicit(&table_base[vf->id].off, (unsigned char)off,
				      memory_order_relaxed);
		atomic_store_explicit(&table_base[vf->id].len, (unsigned char)len,
				      memory_order_relaxed);
	}
	return len == blen && memcmp(base, vf->path + off, len) == 0;
}

/* Lengths (bit min(len, 63)) and first bytes of the table's last components: most names are
 * rejected by two bit tests. Learned once, the same values whichever thread does it. */
static atomic_uint_least64_t quick_len, quick_first[4];
static atomic_bool quick_ready;

static void quick_learn(void)
{
	vfile_foreach (vf) {
		const char *b = base_of(vf->path);
		size_t len = strlen(b);
		unsigned char c = (unsigned char)b[0];

		atomic_fetch_or_explicit(&quick_len, 1ULL << (len < 63 ? len : 63),
					 memory_order_relaxed);
		atomic_fetch_or_explicit(&quick_first[c >> 6], 1ULL << (c & 63),
					 memory_order_relaxed);
	}
	atomic_store_explicit(&quick_ready, true, memory_order_release);
}

/* True when @base is the last component of some table path. */
static bool prefilter(const char *base, size_t blen)
{
	unsigned char c = (unsigned char)base[0];

	if (!blen)
		return false;
	if (!atomic_load_explicit(&quick_ready, memory_order_acquire))
		quick_learn();
	if (!(atomic_load_explicit(&quick_len, memory_order_relaxed) >> (blen < 63 ? blen : 63) &
	      1) ||
	    !(atomic_load_explicit(&quick_first[c >> 6], memory_order_relaxed) >> (c & 63) & 1))
		return false;
	vfile_foreach (vf) {
		if (base_is(vf, base, blen))
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

static const struct vfile *identify(int fd, const char *base, size_t blen, pid_t *ret_pid,
				    pid_t *ret_tid)
{
	struct stat st;
	const struct vfile *pidstat;

	if (raw_fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return NULL;
	vfile_foreach (vf) {
		if ((vf->flags & VFILE_PER_PROCESS) || !file_enabled(vf->id) ||
		    !base_is(vf, base, blen))
			continue;
		if (learned_match(vf, &st)) {
			*ret_pid = 0;
			*ret_tid = 0;
			return vf;
		}
	}
	pidstat = vfile_by_id(VFILE_PROC_PID_STAT);
	if (pidstat && file_enabled(pidstat->id) && base_is(pidstat, base, blen) &&
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
static int snapshot_open(const struct vfile *vf, const char *data, size_t len, bool cloexec,
			 bool *ret_sealed)
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
		*ret_sealed = true;
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
	*ret_sealed = false;
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
 * The last snapshot of every file is kept (a sealed memfd at a high fd number), and an open
 * whose fresh render has exactly its bytes gets a new O_RDONLY description of it instead of a
 * new memfd: openat() of its number in a kept O_PATH fd of /proc/self/fd (~3 us with the
 * caller's close) instead of memfd_create, pwrite, F_ADD_SEALS and fstat (~9-10 us, and the
 * caller's close then frees it). Renders repeat far more often than they change: uptime and
 * loadavg move every 10 ms and 5 s, /proc/stat's ticks every 10 ms of the cgroup's CPU time,
 * meminfo with a page of usage.
 *
 * Equality is exact: snapshots of up to SNAP_SMALL bytes are compared with a copy kept here;
 * for larger ones (no per-file copy: issue 3, RSS) a 64-bit hash (hash_bytes) and the length rule
 * most differences out, then a pread() of the reopened description is compared. The kept memfd and
 * the /proc/self/fd dirfd are checked (fstat: dev and ino) before the openat(), so a number closed
 * and reused by the program (closefrom, dup2) only costs a fresh memfd, never an open of the
 * program's FIFO or device. The dirfd is the process's: a fork child (another pid) opens its own.
 * Like "/proc/self/fd/N", it shows the thread group leader's fd table: a thread that unshared its
 * own (CLONE_FILES) has its number checked in its table and opened in the leader's, which holds the
 * same memfd unless one of them closed that number since (the leader's not ours: snapshots larger
 * than SNAP_SMALL are compared after the open, smaller ones are not).
 *
 * A snapshot's own memory moves the cgroup's usage: its page is charged from the per-CPU charge
 * stock (usage unchanged) and uncharged straight from the counter when the memfd is freed (usage
 * down a page). So freeing the kept snapshot when a new one replaces it makes the next meminfo
 * render differ from the new one by a page, and a program reading meminfo in a loop would never
 * see two equal renders (measured: 999 of 1000). When a miss of meminfo or swaps follows a
 * miss, the kept snapshot is therefore dropped first and the file rendered again: that render
 * already counts the free, and the next open gets it back. Should that not help (the usage
 * really moves on every open), a re-render is not tried again for RERENDER_BACKOFF misses. A file
 * that misses again and again (other files: loadavg's last pid on a busy host) keeps only every
 * KEEP_EVERY-th snapshot meanwhile: keeping costs a dup and a close.
 *
 * A snapshot confirmed by a render that began less than reuse_ms ago (default 10 ms, one USER_HZ
 * tick: the resolution of the CPU times in stat and of uptime; the kernel's own meminfo and
 * memory.stat counters are folded from per-CPU deltas far more lazily, cgroup v2's memory.stat
 * up to 2 s late) is reused without rendering again, by the process that rendered it (a fork
 * child renders its own); reuse_ms = 0 renders on every open. Programs
 * that re-read every second (top, vmstat 1, monitoring agents) always get a fresh render; one
 * that reads in a tight loop gets each tick's numbers once per tick instead of paying for a
 * render per read.
 *
 * Per-process files (/proc/<pid>/stat) are not kept: their renders differ per pid and change
 * with every tick. Claims are a reader count and a writer bit per file, never waited for; the
 * policy counters are hints (racing threads only change what is tried, never what is served).
 */
#define KEPT_SNAP_MIN_FD 1000
#define SNAP_SMALL 128
#define KEEP_EVERY 16
#define RERENDER_BACKOFF 32
static struct {
	atomic_uint state;    /* 2 * readers + 1 while a writer holds it */
	atomic_uint misses;   /* renders in a row that differed from the kept one */
	atomic_uint backoff;  /* misses to go before a re-render is tried again */
	atomic_bool rerender; /* the last miss was rendered again */
	/* Start of the newest render that produced the kept bytes, and whose it was; start of the
	 * newest render served that differed from them (the kept bytes are older than what a
	 * reader may already have seen while fresh_ns < served_ns). */
	atomic_llong fresh_ns, served_ns;
	atomic_int fresh_pid;
	int fd;
	uint64_t dev, ino, hash;
	uint64_t gen; /* bumped whenever fd is replaced or dropped */
	size_t len;
	char small[SNAP_SMALL]; /* the bytes, when len <= SNAP_SMALL */
} kept_snap[_VFILE_MAX];

/*
 * The key (vfile.h, struct vfile_key) of meminfo's kept snapshot, when known: a render whose
 * inputs (read afresh: memory.stat, the usage, the host text's generation) make that key is
 * answered with the kept snapshot without turning them into text, hashing the text and reading
 * the kept bytes back to compare them (meminfo: ~19,000 of its 30,000 instructions and a
 * pread). Equal keys give equal bytes, and the kept bytes are sealed: exact. One slot, for
 * meminfo only (issue 3: RSS; the other files' inputs are their text, or nearly). Written under
 * kept_snap[KEYED_ID].state's writer claim, read under a reader claim; valid while its gen is
 * the kept snapshot's.
 */
#define KEYED_ID VFILE_PROC_MEMINFO
static struct {
	uint64_t gen; /* kept_snap[KEYED_ID].gen the key belongs to; 0: none */
	struct vfile_key key;
} snap_key;

#define FD_DIR_RETRY 64
static struct {
	atomic_uint state;
	int fd;
	pid_t pid;
	uint64_t dev, ino;
	/* the open failed in this process: tried again every FD_DIR_RETRY-th time only */
	pid_t failed_pid;
	unsigned failed_skips;
} fd_dir = {.fd = -1};

static bool claim_read(atomic_uint *state)
{
	unsigned st = atomic_load_explicit(state, memory_order_relaxed);

	return !(st & 1) && atomic_compare_exchange_strong_explicit(
				    state, &st, st + 2, memory_order_acquire, memory_order_relaxed);
}

static void release_read(atomic_uint *state)
{
	atomic_fetch_sub_explicit(state, 2, memory_order_release);
}

static bool claim_write(atomic_uint *state)
{
	unsigned zero = 0;

	return atomic_compare_exchange_strong_explicit(state, &zero, 1, memory_order_acquire,
						       memory_order_relaxed);
}

static void release_write(atomic_uint *state)
{
	atomic_store_explicit(state, 0, memory_order_release);
}

/* Whether @fd (a number we kept) still is the file we kept there. */
static bool fd_is(int fd, uint64_t dev, uint64_t ino)
{
	struct stat st;

	return fd >= KEPT_SNAP_MIN_FD && raw_fstat(fd, &st) == 0 && (uint64_t)st.st_dev == dev &&
	       (uint64_t)st.st_ino == ino;
}

static bool snap_reusable(const struct vfile *vf)
{
	return !(vf->flags & VFILE_PER_PROCESS);
}

/* Move @fd to a close-on-exec number >= KEPT_SNAP_MIN_FD (@fd stays open); -errno. */
static int fd_high(int fd)
{
	return raw_fcntl(fd, F_DUPFD_CLOEXEC, KEPT_SNAP_MIN_FD);
}

/* The kept /proc/self/fd dirfd of process @pid, with a reader claim on it; -1 when there is none
 * to be had. */
static int fd_dir_hold(pid_t pid)
{
	struct stat st;
	int fd, hi;

	if (claim_read(&fd_dir.state)) {
		if (fd_dir.pid == pid && fd_is(fd_dir.fd, fd_dir.dev, fd_dir.ino))
			return fd_dir.fd;
		release_read(&fd_dir.state);
	}
	if (!claim_write(&fd_dir.state))
		return -1;
	if (fd_dir.failed_pid == pid && ++fd_dir.failed_skips % FD_DIR_RETRY != 0) {
		release_write(&fd_dir.state);
		return -1;
	}
	/* the parent's, in a fork child, or still ours after a failed open: never someone else's */
	if (fd_is(fd_dir.fd, fd_dir.dev, fd_dir.ino))
		raw_close(fd_dir.fd);
	fd_dir.fd = -1;
	fd = raw_openat(AT_FDCWD, "/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	hi = fd >= 0 ? fd_high(fd) : -1;
	if (fd >= 0)
		raw_close(fd);
	if (hi >= 0 && raw_fstat(hi, &st) < 0) {
		raw_close(hi);
		hi = -1;
	}
	if (hi < 0) {
		fd_dir.failed_pid = pid;
		release_write(&fd_dir.state);
		return -1;
	}
	fd_dir.failed_pid = 0;
	fd_dir.fd = hi;
	fd_dir.pid = pid;
	fd_dir.dev = (uint64_t)st.st_dev;
	fd_dir.ino = (uint64_t)st.st_ino;
	/* the writer claim becomes a reader claim */
	atomic_store_explicit(&fd_dir.state, 2, memory_order_release);
	return hi;
}

/* O_NOATIME on a reopen was refused (EPERM: the snapshot's owner is not our fsuid any more). */
static atomic_bool noatime_denied;

/*
 * A new description of the kept snapshot fd of @id; -1 when it is not ours any more. Both fds
 * are checked before the open, not after: opening whatever a program put on those numbers could
 * block (a FIFO) or have a device's side effects.
 *
 * O_NOATIME: the internal mount of memfds updates atime on every read (no relatime), and the
 * check alone costs each read of the caller (and our compare) a clock read and a mount lookup:
 * measured 3% of a reopened /proc/uptime. Allowed to the memfd's owner, i.e. us unless the
 * process changed its fsuid since; then the open is made without it.
 */
static int snap_reopen(enum vfile_id id, pid_t pid, bool cloexec, struct stat *ret_st)
{
	char name[24];
	struct buf b;
	int dfd, fd, flags = O_RDONLY | (cloexec ? O_CLOEXEC : 0);

	if (!fd_is(kept_snap[id].fd, kept_snap[id].dev, kept_snap[id].ino))
		return -1;
	dfd = fd_dir_hold(pid);
	if (dfd < 0)
		return -1;
	buf_init(&b, name, sizeof(name) - 1);
	buf_put_u64(&b, (uint64_t)kept_snap[id].fd);
	name[b.len] = '\0';
	fd = -EPERM;
	if (!atomic_load_explicit(&noatime_denied, memory_order_relaxed)) {
		fd = raw_openat(dfd, name, flags | O_NOATIME, 0);
		if (fd == -EPERM)
			atomic_store_explicit(&noatime_denied, true, memory_order_relaxed);
	}
	if (fd == -EPERM)
		fd = raw_openat(dfd, name, flags, 0);
	release_read(&fd_dir.state);
	if (fd < 0)
		return -1;
	memset(ret_st, 0, sizeof(*ret_st));
	ret_st->st_dev = (dev_t)kept_snap[id].dev;
	ret_st->st_ino = (ino_t)kept_snap[id].ino;
	return fd;
}

/* A new description of the kept snapshot of @id when its bytes are @data (hash @h), and in
 * *@ret_gen its generation; -1 otherwise. @scratch (@size bytes) is free memory to compare in. */
static int snap_reuse(enum vfile_id id, const char *data, size_t len, uint64_t h, pid_t pid,
		      char *scratch, size_t size, bool cloexec, struct stat *ret_st,
		      uint64_t *ret_gen)
{
	int fd = -1;

	if (!claim_read(&kept_snap[id].state))
		return -1;
	*ret_gen = kept_snap[id].gen;
	if (kept_snap[id].fd >= KEPT_SNAP_MIN_FD && kept_snap[id].len == len &&
	    kept_snap[id].hash == h &&
	    (len > SNAP_SMALL || memcmp(kept_snap[id].small, data, len) == 0)) {
		fd = snap_reopen(id, pid, cloexec, ret_st);
		if (fd >= 0 && len > SNAP_SMALL &&
		    (len > size || raw_pread(fd, scratch, len, 0) != (ssize_t)len ||
		     memcmp(scratch, data, len) != 0)) {
			raw_close(fd);
			fd = -1;
		}
	}
	release_read(&kept_snap[id].state);
	return fd;
}

/* A copy of the key of @id's kept snapshot and the generation it belongs to; false: none. */
static bool snap_key_get(enum vfile_id id, struct vfile_key *ret, uint64_t *ret_gen)
{
	bool ok = false;

	if (id != KEYED_ID || !claim_read(&kept_snap[id].state))
		return false;
	if (snap_key.gen != 0 && snap_key.gen == kept_snap[id].gen &&
	    kept_snap[id].fd >= KEPT_SNAP_MIN_FD) {
		*ret = snap_key.key;
		*ret_gen = snap_key.gen;
		ok = true;
	}
	release_read(&kept_snap[id].state);
	return ok;
}

/* Under @id's writer claim: @key (n 0: none) is that of the kept snapshot now. */
static void snap_key_store(enum vfile_id id, const struct vfile_key *key)
{
	if (id != KEYED_ID)
		return;
	snap_key.gen = 0;
	if (!key || key->n == 0)
		return;
	snap_key.key = *key;
	snap_key.gen = kept_snap[id].gen;
}

/* @key is that of @id's kept snapshot, which a render found equal to its bytes when the kept
 * one was generation @gen (not recorded when another has been kept since). */
static void snap_key_set(enum vfile_id id, const struct vfile_key *key, uint64_t gen)
{
	if (id != KEYED_ID || key->n == 0 || !claim_write(&kept_snap[id].state))
		return;
	if (kept_snap[id].gen == gen)
		snap_key_store(id, key);
	release_write(&kept_snap[id].state);
}

/* A new description of @id's kept snapshot if it still is generation @gen; -1 otherwise. */
static int snap_same(enum vfile_id id, uint64_t gen, pid_t pid, bool cloexec, struct stat *ret_st)
{
	int fd = -1;

	if (!claim_read(&kept_snap[id].state))
		return -1;
	if (kept_snap[id].gen == gen && kept_snap[id].fd >= KEPT_SNAP_MIN_FD)
		fd = snap_reopen(id, pid, cloexec, ret_st);
	release_read(&kept_snap[id].state);
	return fd;
}

/* What to do on a miss of @id (a render that differed from the kept snapshot). */
enum snap_miss {
	SNAP_MISS_SKIP,	    /* serve a fresh memfd, do not keep it */
	SNAP_MISS_KEEP,	    /* serve a fresh memfd and keep it */
	SNAP_MISS_RERENDER, /* drop the kept one, render again, then keep */
};

/* Files whose render counts the cgroup's memory usage, which the snapshots' own pages move. */
static bool snap_feedback(enum vfile_id id)
{
	return vfile_table[id].flags & VFILE_USAGE;
}

static enum snap_miss snap_miss_policy(enum vfile_id id)
{
	unsigned n = atomic_fetch_add_explicit(&kept_snap[id].misses, 1, memory_order_relaxed);
	unsigned b = atomic_load_explicit(&kept_snap[id].backoff, memory_order_relaxed);

	if (!snap_feedback(id))
		return n < 2 || n % KEEP_EVERY == 0 ? SNAP_MISS_KEEP : SNAP_MISS_SKIP;
	if (atomic_exchange_explicit(&kept_snap[id].rerender, false, memory_order_relaxed)) {
		/* rendered again last time and still a miss: the usage really moves */
		atomic_store_explicit(&kept_snap[id].backoff, RERENDER_BACKOFF,
				      memory_order_relaxed);
		return SNAP_MISS_SKIP;
	}
	if (b > 0) {
		atomic_store_explicit(&kept_snap[id].backoff, b - 1, memory_order_relaxed);
		return b % KEEP_EVERY == 0 ? SNAP_MISS_KEEP : SNAP_MISS_SKIP;
	}
	if (n == 0)
		return SNAP_MISS_KEEP;
	atomic_store_explicit(&kept_snap[id].rerender, true, memory_order_relaxed);
	return SNAP_MISS_RERENDER;
}

static void max_store(atomic_llong *a, long long v)
{
	long long cur = atomic_load_explicit(a, memory_order_relaxed);

	while (cur < v && !atomic_compare_exchange_weak_explicit(a, &cur, v, memory_order_relaxed,
								 memory_order_relaxed))
		;
}

/* The kept bytes of @id equal a render by @pid begun at @t0. */
static void snap_fresh(enum vfile_id id, pid_t pid, long long t0)
{
	atomic_store_explicit(&kept_snap[id].fresh_pid, pid, memory_order_relaxed);
	max_store(&kept_snap[id].fresh_ns, t0);
}

static void snap_hit(enum vfile_id id, pid_t pid, long long t0)
{
	atomic_store_explicit(&kept_snap[id].misses, 0, memory_order_relaxed);
	atomic_store_explicit(&kept_snap[id].rerender, false, memory_order_relaxed);
	snap_fresh(id, pid, t0);
}

/* A new description of the kept snapshot of @id when a render of @pid confirmed it less than
 * reuse_ms before @now; -1 otherwise. */
static int snap_recent(enum vfile_id id, pid_t pid, long long now, bool cloexec,
		       struct stat *ret_st)
{
	long long t = atomic_load_explicit(&kept_snap[id].fresh_ns, memory_order_relaxed);
	int fd = -1;

	if (t <= 0 || now <= 0 || now - t >= (long long)shim_config.reuse_ms * 1000000LL ||
	    now < t || t < atomic_load_explicit(&kept_snap[id].served_ns, memory_order_relaxed) ||
	    atomic_load_explicit(&kept_snap[id].fresh_pid, memory_order_relaxed) != pid ||
	    !claim_read(&kept_snap[id].state))
		return -1;
	if (kept_snap[id].fd >= KEPT_SNAP_MIN_FD)
		fd = snap_reopen(id, pid, cloexec, ret_st);
	release_read(&kept_snap[id].state);
	return fd;
}

/* Close the kept snapshot of @id (its memory is given back now); false when it is claimed. */
static bool snap_drop(enum vfile_id id)
{
	if (!claim_write(&kept_snap[id].state))
		return false;
	if (fd_is(kept_snap[id].fd, kept_snap[id].dev, kept_snap[id].ino))
		raw_close(kept_snap[id].fd);
	kept_snap[id].fd = -1;
	kept_snap[id].gen++;
	snap_key_store(id, NULL);
	release_write(&kept_snap[id].state);
	return true;
}

/* Keep @fd (a fresh snapshot of @id: @data, hash @h, identified by @st, rendered from inputs
 * with @key) as the one to reuse. */
static bool snap_keep(enum vfile_id id, int fd, const char *data, size_t len, uint64_t h,
		      const struct stat *st, long long t0, const struct vfile_key *key)
{
	int hi;

	if (!claim_write(&kept_snap[id].state))
		return false;
	/* a slow render older than bytes already served is not kept */
	if (t0 < atomic_load_explicit(&kept_snap[id].served_ns, memory_order_relaxed)) {
		release_write(&kept_snap[id].state);
		return false;
	}
	hi = fd_high(fd);
	if (hi >= 0) {
		if (fd_is(kept_snap[id].fd, kept_snap[id].dev, kept_snap[id].ino))
			raw_close(kept_snap[id].fd);
		kept_snap[id].fd = hi;
		kept_snap[id].dev = (uint64_t)st->st_dev;
		kept_snap[id].ino = (uint64_t)st->st_ino;
		kept_snap[id].len = len;
		kept_snap[id].hash = h;
		if (len <= SNAP_SMALL)
			memcpy(kept_snap[id].small, data, len);
		kept_snap[id].gen++;
		snap_key_store(id, key);
	}
	release_write(&kept_snap[id].state);
	return hi >= 0;
}

/* Render @vf into a new snapshot fd (the lowest free number); *ret_st identifies it. */
static int snapshot_render(const struct vfile *vf, pid_t pid, pid_t tid, bool cloexec,
			   struct stat *ret_st)
{
	struct shim_ctx ctx;
	struct vfile_key key, same;
	const char *data;
	bool reuse, sealed;
	uint64_t h = 0, gen = 0;
	long long t0 = 0;
	pid_t self = 0;
	size_t len;
	int fd, r;

	reuse = snap_reusable(vf);
	if (reuse) {
		t0 = shim_mono_ns();
		if (shim_config.reuse_ms) {
			/* the render below reuses the pid: one getpid() per open */
			self = raw_getpid();
			fd = snap_recent(vf->id, self, t0, cloexec, ret_st);
			if (fd >= 0)
				return fd;
		}
	}
	r = shim_ctx_open(&ctx, self);
	if (r < 0)
		return r;
	if (reuse) {
		ctx.req.key = &key;
		if (snap_key_get(vf->id, &same, &gen))
			ctx.req.same = &same;
	}
	r = shim_ctx_render(&ctx, vf, pid, tid, &data, &len);
	if (r == VFILE_SAME) {
		/* the inputs of the kept snapshot: it is what this render would give */
		fd = snap_same(vf->id, gen, ctx.src.self_pid, cloexec, ret_st);
		if (fd >= 0) {
			snap_hit(vf->id, ctx.src.self_pid, t0);
			shim_ctx_close(&ctx);
			return fd;
		}
		ctx.req.same = NULL; /* replaced or closed meanwhile: render it */
		r = shim_ctx_render(&ctx, vf, pid, tid, &data, &len);
	}
	ctx.req.same = NULL;
	if (r < 0) {
		shim_ctx_close(&ctx);
		return r;
	}
	if (reuse) {
		h = len > SNAP_SMALL ? hash_bytes(data, len) : 0;
		/* the render is done: its scratch memory is free */
		fd = snap_reuse(vf->id, data, len, h, ctx.src.self_pid, ctx.req.scratch,
				ctx.req.scratch_size, cloexec, ret_st, &gen);
		if (fd >= 0) {
			snap_hit(vf->id, ctx.src.self_pid, t0);
			snap_key_set(vf->id, &key, gen);
			shim_ctx_close(&ctx);
			return fd;
		}
		/* newer bytes than the kept ones go out now */
		max_store(&kept_snap[vf->id].served_ns, t0);
		switch (snap_miss_policy(vf->id)) {
		case SNAP_MISS_SKIP:
			reuse = false;
			break;
		case SNAP_MISS_KEEP:
			break;
		case SNAP_MISS_RERENDER:
			if (!snap_drop(vf->id))
				break;
			r = shim_ctx_render(&ctx, vf, pid, tid, &data, &len);
			if (r < 0) {
				shim_ctx_close(&ctx);
				return r;
			}
			h = len > SNAP_SMALL ? hash_bytes(data, len) : 0;
			break;
		}
	}
	fd = snapshot_open(vf, data, len, cloexec, &sealed);
	if (fd < 0) {
		shim_ctx_close(&ctx);
		return fd;
	}
	r = raw_fstat(fd, ret_st);
	if (r < 0) {
		shim_ctx_close(&ctx);
		raw_close(fd);
		return r;
	}
	/* only a sealed memfd: the /dev/shm fallback's bytes could be changed through its name */
	if (reuse && sealed && snap_keep(vf->id, fd, data, len, h, ret_st, t0, &key))
		snap_fresh(vf->id, ctx.src.self_pid, t0);
	shim_ctx_close(&ctx);
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
	size_t blen;
	int r = SHIM_OPEN_PASS, fd;

	if (!path || (flags & O_ACCMODE) != O_RDONLY || (flags & (O_PATH | O_DIRECTORY)) ||
	    !shim_active())
		return SHIM_OPEN_PASS;
	base = base_of(path);
	blen = strlen(base);
	if (!prefilter(base, blen) || per_cpu_online(path))
		return SHIM_OPEN_PASS;
	if ((flags & ~PRE_FLAGS_OK) || !shim_stack_ok())
		return SHIM_OPEN_LATE;
	shim_enter(&g);
	if (raw_fstatat(dirfd, path, &st, 0) < 0 || !S_ISREG(st.st_mode))
		goto out;
	vfile_foreach (v) {
		if ((v->flags & VFILE_PER_PROCESS) || !file_enabled(v->id) ||
		    !base_is(v, base, blen))
			continue;
		if (learned_match(v, &st)) {
			vf = v;
			break;
		}
	}
	pidstat = vfile_by_id(VFILE_PROC_PID_STAT);
	if (!vf && pidstat && file_enabled(pidstat->id) && base_is(pidstat, base, blen)) {
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
