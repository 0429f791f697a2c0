/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The snapshot cache: the last snapshot of every file is kept (a sealed memfd at a high fd
 * number), and an open whose fresh render has exactly its bytes gets a new O_RDONLY description
 * of it (an openat() of its number in a kept O_PATH fd of /proc/self/fd) instead of a new memfd
 * (memfd_create, pwrite, F_ADD_SEALS, fstat: about three times the cost). Renders repeat far more
 * often than they change. Owns shim.snaps (state.h); snapshot_render() is the render of a virtual
 * open or rewind through it.
 *
 * Equality is exact: snapshots of up to SNAP_SMALL bytes are compared with a copy kept here;
 * larger ones (no per-file copy: every page kept is Rss in every process) by length and a 64-bit
 * hash (hash_bytes), then a pread() of the reopened description. The kept memfd and the
 * /proc/self/fd dirfd are checked (fstat: dev and ino) before the openat(), so a number the
 * program closed and reused (closefrom, dup2) only costs a fresh memfd, never an open of the
 * program's FIFO or device. The dirfd is the process's: a fork child (another pid) opens its own.
 * Like "/proc/self/fd/N", it shows the thread group leader's fd table: a thread that unshared its
 * own (CLONE_FILES) has its number checked in its table and opened in the leader's, which holds
 * the same memfd unless one of them closed that number since (snapshots larger than SNAP_SMALL
 * are compared after the open, smaller ones are not).
 *
 * A snapshot's own memory moves the cgroup's usage: its page is charged from the per-CPU charge
 * stock (usage unchanged) and uncharged straight from the counter when the memfd is freed (usage
 * down a page). Freeing the kept snapshot when a new one replaces it makes the next meminfo
 * render differ from the new one by a page, so a program reading meminfo in a loop would never
 * see two equal renders. When a miss of such a file (snap_feedback()) follows a miss, the kept
 * snapshot is therefore dropped first and the file rendered again: that render already counts
 * the free. Should that not help (the usage really moves on every open), a re-render is not
 * tried again for RERENDER_BACKOFF misses. A file that misses again and again keeps only every
 * KEEP_EVERY-th snapshot meanwhile: keeping costs a dup and a close.
 *
 * A snapshot confirmed by a render of this process that began less than reuse_ms ago (default
 * 10 ms, one USER_HZ tick: the resolution of stat's CPU times and of uptime) is reused without
 * rendering again; reuse_ms = 0 renders on every open. A program that re-reads every second
 * (top, vmstat 1) always gets a fresh render; one that reads in a tight loop gets each tick's
 * numbers once per tick.
 *
 * Per-process files (/proc/<pid>/stat) are not kept: their renders differ per pid and change
 * with every tick. Claims are a reader count and a writer bit per file, never waited for; the
 * policy counters are hints (racing threads only change what is tried, never what is served).
 *
 * Must not: identify files (identify.c) or touch the caller's fd (fdtab.c). Any failure is an
 * error return: the caller gets the real file. Nothing here allocates, locks or prints.
 */
#include <string.h>

#include "model/claim.h"
#include "raw.h"
#include "shim.h"

#define KEPT_SNAP_MIN_FD 1000
#define KEEP_EVERY 16
#define RERENDER_BACKOFF 32

/*
 * The key (vfile.h, struct vfile_key) of meminfo's kept snapshot, when known: a render whose
 * inputs (read afresh: memory.stat, the usage, the host text's generation) make that key is
 * answered with the kept snapshot without turning them into text, hashing the text and reading
 * the kept bytes back to compare them (meminfo: ~19,000 of its 30,000 instructions and a
 * pread). Equal keys give equal bytes, and the kept bytes are sealed: exact. One slot, for
 * meminfo only (every kept byte is Rss in every process; the other files' inputs are their text, or
 * nearly). Written under shim.snaps.kept[KEYED_ID].state's writer claim, read under a reader claim;
 * valid while its gen is the kept snapshot's.
 */
#define KEYED_ID VFILE_PROC_MEMINFO

#define FD_DIR_RETRY 64

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

	if (claim_read(&shim.snaps.fd_dir.state)) {
		if (shim.snaps.fd_dir.pid == pid &&
		    fd_is(shim.snaps.fd_dir.fd, shim.snaps.fd_dir.dev, shim.snaps.fd_dir.ino))
			return shim.snaps.fd_dir.fd;
		release_read(&shim.snaps.fd_dir.state);
	}
	if (!claim_write(&shim.snaps.fd_dir.state))
		return -1;
	if (shim.snaps.fd_dir.failed_pid == pid &&
	    ++shim.snaps.fd_dir.failed_skips % FD_DIR_RETRY != 0) {
		release_write(&shim.snaps.fd_dir.state);
		return -1;
	}
	/* the parent's, in a fork child, or still ours after a failed open: never someone else's */
	if (fd_is(shim.snaps.fd_dir.fd, shim.snaps.fd_dir.dev, shim.snaps.fd_dir.ino))
		raw_close(shim.snaps.fd_dir.fd);
	shim.snaps.fd_dir.fd = -1;
	fd = raw_openat(AT_FDCWD, "/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	hi = fd >= 0 ? fd_high(fd) : -1;
	if (fd >= 0)
		raw_close(fd);
	if (hi >= 0 && raw_fstat(hi, &st) < 0) {
		raw_close(hi);
		hi = -1;
	}
	if (hi < 0) {
		shim.snaps.fd_dir.failed_pid = pid;
		release_write(&shim.snaps.fd_dir.state);
		return -1;
	}
	shim.snaps.fd_dir.failed_pid = 0;
	shim.snaps.fd_dir.fd = hi;
	shim.snaps.fd_dir.pid = pid;
	shim.snaps.fd_dir.dev = (uint64_t)st.st_dev;
	shim.snaps.fd_dir.ino = (uint64_t)st.st_ino;
	/* the writer claim becomes a reader claim */
	atomic_store_explicit(&shim.snaps.fd_dir.state, 2, memory_order_release);
	return hi;
}

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

	if (!fd_is(shim.snaps.kept[id].fd, shim.snaps.kept[id].dev, shim.snaps.kept[id].ino))
		return -1;
	dfd = fd_dir_hold(pid);
	if (dfd < 0)
		return -1;
	buf_init(&b, name, sizeof(name) - 1);
	buf_put_u64(&b, (uint64_t)shim.snaps.kept[id].fd);
	name[b.len] = '\0';
	fd = -EPERM;
	if (!atomic_load_explicit(&shim.snaps.noatime_denied, memory_order_relaxed)) {
		fd = raw_openat(dfd, name, flags | O_NOATIME, 0);
		if (fd == -EPERM)
			atomic_store_explicit(&shim.snaps.noatime_denied, true,
					      memory_order_relaxed);
	}
	if (fd == -EPERM)
		fd = raw_openat(dfd, name, flags, 0);
	release_read(&shim.snaps.fd_dir.state);
	if (fd < 0)
		return -1;
	memset(ret_st, 0, sizeof(*ret_st));
	ret_st->st_dev = (dev_t)shim.snaps.kept[id].dev;
	ret_st->st_ino = (ino_t)shim.snaps.kept[id].ino;
	return fd;
}

/* A new description of the kept snapshot of @id when its bytes are @data (hash @h), and in
 * *@ret_gen its generation; -1 otherwise. @scratch (@size bytes) is free memory to compare in. */
static int snap_reuse(enum vfile_id id, const char *data, size_t len, uint64_t h, pid_t pid,
		      char *scratch, size_t size, bool cloexec, struct stat *ret_st,
		      uint64_t *ret_gen)
{
	int fd = -1;

	if (!claim_read(&shim.snaps.kept[id].state))
		return -1;
	*ret_gen = shim.snaps.kept[id].gen;
	if (shim.snaps.kept[id].fd >= KEPT_SNAP_MIN_FD && shim.snaps.kept[id].len == len &&
	    shim.snaps.kept[id].hash == h &&
	    (len > SNAP_SMALL || memcmp(shim.snaps.kept[id].small, data, len) == 0)) {
		fd = snap_reopen(id, pid, cloexec, ret_st);
		if (fd >= 0 && len > SNAP_SMALL &&
		    (len > size || raw_pread(fd, scratch, len, 0) != (ssize_t)len ||
		     memcmp(scratch, data, len) != 0)) {
			raw_close(fd);
			fd = -1;
		}
	}
	release_read(&shim.snaps.kept[id].state);
	return fd;
}

/* A copy of the key of @id's kept snapshot and the generation it belongs to; false: none. */
static bool snap_key_get(enum vfile_id id, struct vfile_key *ret, uint64_t *ret_gen)
{
	bool ok = false;

	if (id != KEYED_ID || !claim_read(&shim.snaps.kept[id].state))
		return false;
	if (shim.snaps.key.gen != 0 && shim.snaps.key.gen == shim.snaps.kept[id].gen &&
	    shim.snaps.kept[id].fd >= KEPT_SNAP_MIN_FD) {
		*ret = shim.snaps.key.key;
		*ret_gen = shim.snaps.key.gen;
		ok = true;
	}
	release_read(&shim.snaps.kept[id].state);
	return ok;
}

/* Under @id's writer claim: @key (n 0: none) is that of the kept snapshot now. */
static void snap_key_store(enum vfile_id id, const struct vfile_key *key)
{
	if (id != KEYED_ID)
		return;
	shim.snaps.key.gen = 0;
	if (!key || key->n == 0)
		return;
	shim.snaps.key.key = *key;
	shim.snaps.key.gen = shim.snaps.kept[id].gen;
}

/* @key is that of @id's kept snapshot, which a render found equal to its bytes when the kept
 * one was generation @gen (not recorded when another has been kept since). */
static void snap_key_set(enum vfile_id id, const struct vfile_key *key, uint64_t gen)
{
	if (id != KEYED_ID || key->n == 0 || !claim_write(&shim.snaps.kept[id].state))
		return;
	if (shim.snaps.kept[id].gen == gen)
		snap_key_store(id, key);
	release_write(&shim.snaps.kept[id].state);
}

/* A new description of @id's kept snapshot if it still is generation @gen; -1 otherwise. */
static int snap_same(enum vfile_id id, uint64_t gen, pid_t pid, bool cloexec, struct stat *ret_st)
{
	int fd = -1;

	if (!claim_read(&shim.snaps.kept[id].state))
		return -1;
	if (shim.snaps.kept[id].gen == gen && shim.snaps.kept[id].fd >= KEPT_SNAP_MIN_FD)
		fd = snap_reopen(id, pid, cloexec, ret_st);
	release_read(&shim.snaps.kept[id].state);
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
	unsigned n =
		atomic_fetch_add_explicit(&shim.snaps.kept[id].misses, 1, memory_order_relaxed);
	unsigned b = atomic_load_explicit(&shim.snaps.kept[id].backoff, memory_order_relaxed);

	if (!snap_feedback(id))
		return n < 2 || n % KEEP_EVERY == 0 ? SNAP_MISS_KEEP : SNAP_MISS_SKIP;
	if (atomic_exchange_explicit(&shim.snaps.kept[id].rerender, false, memory_order_relaxed)) {
		/* rendered again last time and still a miss: the usage really moves */
		atomic_store_explicit(&shim.snaps.kept[id].backoff, RERENDER_BACKOFF,
				      memory_order_relaxed);
		return SNAP_MISS_SKIP;
	}
	if (b > 0) {
		atomic_store_explicit(&shim.snaps.kept[id].backoff, b - 1, memory_order_relaxed);
		return b % KEEP_EVERY == 0 ? SNAP_MISS_KEEP : SNAP_MISS_SKIP;
	}
	if (n == 0)
		return SNAP_MISS_KEEP;
	atomic_store_explicit(&shim.snaps.kept[id].rerender, true, memory_order_relaxed);
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
	atomic_store_explicit(&shim.snaps.kept[id].fresh_pid, pid, memory_order_relaxed);
	max_store(&shim.snaps.kept[id].fresh_ns, t0);
}

static void snap_hit(enum vfile_id id, pid_t pid, long long t0)
{
	atomic_store_explicit(&shim.snaps.kept[id].misses, 0, memory_order_relaxed);
	atomic_store_explicit(&shim.snaps.kept[id].rerender, false, memory_order_relaxed);
	snap_fresh(id, pid, t0);
}

/* A new description of the kept snapshot of @id when a render of @pid confirmed it less than
 * reuse_ms before @now; -1 otherwise. */
static int snap_recent(enum vfile_id id, pid_t pid, long long now, bool cloexec,
		       struct stat *ret_st)
{
	long long t = atomic_load_explicit(&shim.snaps.kept[id].fresh_ns, memory_order_relaxed);
	int fd = -1;

	if (t <= 0 || now <= 0 || now - t >= (long long)shim.config.reuse_ms * 1000000LL ||
	    now < t ||
	    t < atomic_load_explicit(&shim.snaps.kept[id].served_ns, memory_order_relaxed) ||
	    atomic_load_explicit(&shim.snaps.kept[id].fresh_pid, memory_order_relaxed) != pid ||
	    !claim_read(&shim.snaps.kept[id].state))
		return -1;
	if (shim.snaps.kept[id].fd >= KEPT_SNAP_MIN_FD)
		fd = snap_reopen(id, pid, cloexec, ret_st);
	release_read(&shim.snaps.kept[id].state);
	return fd;
}

/* Close the kept snapshot of @id (its memory is given back now); false when it is claimed. */
static bool snap_drop(enum vfile_id id)
{
	if (!claim_write(&shim.snaps.kept[id].state))
		return false;
	if (fd_is(shim.snaps.kept[id].fd, shim.snaps.kept[id].dev, shim.snaps.kept[id].ino))
		raw_close(shim.snaps.kept[id].fd);
	shim.snaps.kept[id].fd = -1;
	shim.snaps.kept[id].gen++;
	snap_key_store(id, NULL);
	release_write(&shim.snaps.kept[id].state);
	return true;
}

/* Keep @fd (a fresh snapshot of @id: @data, hash @h, identified by @st, rendered from inputs
 * with @key) as the one to reuse. */
static bool snap_keep(enum vfile_id id, int fd, const char *data, size_t len, uint64_t h,
		      const struct stat *st, long long t0, const struct vfile_key *key)
{
	int hi;

	if (!claim_write(&shim.snaps.kept[id].state))
		return false;
	/* a slow render older than bytes already served is not kept */
	if (t0 < atomic_load_explicit(&shim.snaps.kept[id].served_ns, memory_order_relaxed)) {
		release_write(&shim.snaps.kept[id].state);
		return false;
	}
	hi = fd_high(fd);
	if (hi >= 0) {
		if (fd_is(shim.snaps.kept[id].fd, shim.snaps.kept[id].dev, shim.snaps.kept[id].ino))
			raw_close(shim.snaps.kept[id].fd);
		shim.snaps.kept[id].fd = hi;
		shim.snaps.kept[id].dev = (uint64_t)st->st_dev;
		shim.snaps.kept[id].ino = (uint64_t)st->st_ino;
		shim.snaps.kept[id].len = len;
		shim.snaps.kept[id].hash = h;
		if (len <= SNAP_SMALL)
			memcpy(shim.snaps.kept[id].small, data, len);
		shim.snaps.kept[id].gen++;
		snap_key_store(id, key);
	}
	release_write(&shim.snaps.kept[id].state);
	return hi >= 0;
}

/* Render @vf into a new snapshot fd (the lowest free number); *ret_st identifies it. */
int snapshot_render(const struct vfile *vf, pid_t pid, pid_t tid, bool cloexec, struct stat *ret_st)
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
		t0 = src_mono_ns();
		if (shim.config.reuse_ms) {
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
		max_store(&shim.snaps.kept[vf->id].served_ns, t0);
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
