/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kept input fds (struct src_fdcache in source.h): src_read() through a kept fd, pread at 0.
 * The cache memory belongs to the front end; nothing here is global. No locks, no allocation:
 * each slot's state word counts readers (2 each) and marks one writer (1); claims that fail are
 * never waited for, the caller then reads the file the ordinary way (-EAGAIN here).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "../model/claim.h"
#include "internal.h"
#include "source.h"

/*
 * The slot heads are reset; the path pages are not touched (a cache in .bss keeps them as
 * untouched pages until slots are filled). A slot whose gen is 0 was never filled: its fd is not
 * looked at. Generations start at 1.
 */
void src_fdcache_init(struct src_fdcache *c, int min_fd)
{
	c->min_fd = min_fd;
	atomic_store(&c->gen, 1);
	atomic_store(&c->used, 0);
	atomic_store(&c->pool_used, 0);
	atomic_store(&c->root.state, 0);
	atomic_store(&c->root.gen, 0);
	c->root.fd = -1;
	for (unsigned i = 0; i < SRC_FDCACHE_SLOTS; i++) {
		atomic_store(&c->slot[i].state, 0);
		atomic_store(&c->slot[i].gen, 0);
		c->slot[i].fd = -1;
		c->slot[i].path_cap = 0;
	}
}

void src_fdcache_invalidate(struct src_fdcache *c)
{
	atomic_fetch_add_explicit(&c->gen, 1, memory_order_release);
}

/* Per-process files follow the reader (fork, threads): never kept, but for the caller's own
 * "proc/<pid>/stat" (that pid stays ours while we read it; a child asks for its own). */
static bool keepable(const struct cg_src *src, const char *relpath)
{
	if (strncmp(relpath, "proc/", 5) != 0)
		return true;
	relpath += 5;
	if (relpath[0] >= '0' && relpath[0] <= '9' && src->self_pid > 0) {
		uint64_t v = 0;

		while (*relpath >= '0' && *relpath <= '9' && v <= INT32_MAX)
			v = v * 10 + (uint64_t)(*relpath++ - '0');
		return v == (uint64_t)src->self_pid && strcmp(relpath, "/stat") == 0;
	}
	return !(strncmp(relpath, "self", 4) == 0 || strncmp(relpath, "thread-self", 11) == 0 ||
		 (relpath[0] >= '0' && relpath[0] <= '9'));
}

/* Cgroup paths run to 50-100 bytes and every render hashes two or three. */
static unsigned path_hash(const char *p, size_t *ret_len)
{
	size_t len = strlen(p);
	uint64_t h = hash_bytes(p, len);

	*ret_len = len;
	return (unsigned)(h ^ (h >> 32));
}

/* Whether the kept fd still is the file that was opened (never for a slot never filled; without
 * asking the kernel when the front end owns every fd of its process). */
static bool slot_fd_ours(const struct src_fdcache *c, const struct src_fdslot *s)
{
	struct stat st;

	if (atomic_load_explicit(&s->gen, memory_order_relaxed) == 0 || s->fd < 0)
		return false;
	if (c->owns_fds)
		return true;
	return src_sys_fstat(s->fd, &st) == 0 && (uint64_t)st.st_dev == s->dev &&
	       (uint64_t)st.st_ino == s->ino;
}

static int fd_pread(int fd, char *buf, size_t size, size_t *ret_len)
{
	ssize_t n;

	do
		n = src_sys_pread(fd, buf, size, 0);
	while (n == -EINTR);
	if (n < 0)
		return (int)n;
	if ((size_t)n >= size)
		return -ENOBUFS;
	buf[n] = 0;
	if (ret_len)
		*ret_len = (size_t)n;
	return 0;
}

/*
 * Moves @fd (closed here) to a descriptor at or above @min_fd, out of the way of the program's
 * own descriptors, and stats it. The new descriptor, or -1.
 */
static int fd_move_high(int fd, int min_fd, struct stat *st)
{
	int hi = src_sys_fcntl(fd, F_DUPFD_CLOEXEC, min_fd);

	src_sys_close(fd);
	if (hi < 0)
		return -1;
	if (src_sys_fstat(hi, st) < 0) {
		src_sys_close(hi);
		return -1;
	}
	return hi;
}

/* Under the writer claim: room in the pool for a path of @len bytes in @s. */
static bool slot_path_room(struct src_fdcache *c, struct src_fdslot *s, size_t len)
{
	unsigned cap = 64, off;

	if (s->path_cap > len)
		return true;
	while (cap <= len)
		cap *= 2;
	off = atomic_fetch_add_explicit(&c->pool_used, cap, memory_order_relaxed);
	if (off > SRC_FDCACHE_POOL - cap) {
		atomic_fetch_sub_explicit(&c->pool_used, cap, memory_order_relaxed);
		return false;
	}
	s->path_off = (uint16_t)off;
	s->path_cap = (uint16_t)cap;
	return true;
}

static bool slot_path_is(const struct src_fdcache *c, const struct src_fdslot *s,
			 const char *relpath, size_t len)
{
	return s->path_cap > len && memcmp(c->pool + s->path_off, relpath, len + 1) == 0;
}

/* Under the writer claim: drop what slot @i keeps, open @relpath (@len bytes, hash @h), keep it
 * high, read it. The slot's gen is set last: a lookup that sees it sees the rest. */
static int slot_fill(const struct cg_src *src, unsigned i, unsigned gen, unsigned h,
		     const char *relpath, size_t len, bool beneath, char *buf, size_t size,
		     size_t *ret_len)
{
	struct src_fdcache *c = src->fds;
	struct src_fdslot *s = &c->slot[i];
	struct stat st;
	int fd, hi, r;

	if (slot_fd_ours(src->fds, s))
		src_sys_close(s->fd);
	atomic_store_explicit(&s->gen, 0, memory_order_relaxed);
	s->fd = -1;
	s->err = 0;
	if (!slot_path_room(c, s, len))
		return -EAGAIN;
	fd = beneath ? src_open_beneath(src, relpath, O_RDONLY) : src_open_input(src, relpath);
	if (fd < 0) {
		r = fd;
		if (r == -ENOENT || r == -ENOTDIR) {
			/* remembered: optional cgroup files are asked for on every render */
			s->err = r;
			memcpy(c->pool + s->path_off, relpath, len + 1);
			atomic_store_explicit(&s->hash, h, memory_order_relaxed);
			atomic_store_explicit(&s->gen, gen, memory_order_release);
		}
		return r;
	}
	hi = fd_move_high(fd, c->min_fd, &st);
	if (hi < 0)
		return -EAGAIN; /* RLIMIT_NOFILE below min_fd: read it the ordinary way */
	s->fd = hi;
	s->dev = (uint64_t)st.st_dev;
	s->ino = (uint64_t)st.st_ino;
	memcpy(c->pool + s->path_off, relpath, len + 1);
	atomic_store_explicit(&s->hash, h, memory_order_relaxed);
	atomic_store_explicit(&s->gen, gen, memory_order_release);
	return fd_pread(hi, buf, size, ret_len);
}

/* -EAGAIN (the caller opens the file through the root), once the root is known to be ours. */
static int not_kept(const struct cg_src *src)
{
	int r = src_root_check(src);

	return r < 0 ? r : -EAGAIN;
}

/*
 * src_read() through the cache; -EAGAIN: read it the ordinary way. A lookup scans the used slots
 * with plain loads of gen and hash (the candidates' lines only), claims only a slot whose key
 * matches, and checks it under the claim. A miss fills the first stale slot (an older
 * generation, or its fd gone), else the next never-used one, else the path's home slot.
 */
static int fdcache_read(const struct cg_src *src, const char *relpath, bool beneath, char *buf,
			size_t size, size_t *ret_len)
{
	struct src_fdcache *c = src->fds;
	unsigned gen, h, used, victim = SRC_FDCACHE_SLOTS;
	size_t len;
	int r;

	if (!keepable(src, relpath))
		return not_kept(src);
	h = path_hash(relpath, &len);
	if (len >= SRC_FDCACHE_PATH)
		return not_kept(src);
	gen = atomic_load_explicit(&c->gen, memory_order_acquire);
	used = atomic_load_explicit(&c->used, memory_order_acquire);
	if (used > SRC_FDCACHE_SLOTS)
		used = SRC_FDCACHE_SLOTS;
	for (unsigned i = 0; i < used; i++) {
		struct src_fdslot *s = &c->slot[i];
		unsigned sgen = atomic_load_explicit(&s->gen, memory_order_relaxed);
		bool match;

		if (sgen != gen) {
			if (victim == SRC_FDCACHE_SLOTS)
				victim = i;
			continue;
		}
		if (atomic_load_explicit(&s->hash, memory_order_relaxed) != h ||
		    !claim_read(&s->state))
			continue;
		match = atomic_load_explicit(&s->gen, memory_order_relaxed) == gen &&
			atomic_load_explicit(&s->hash, memory_order_relaxed) == h &&
			slot_path_is(c, s, relpath, len);
		if (match && s->fd < 0 && s->err < 0) {
			r = s->err;
			release_read(&s->state);
			return r;
		}
		if (match && slot_fd_ours(c, s)) {
			r = fd_pread(s->fd, buf, size, ret_len);
			release_read(&s->state);
			if (r == 0 || r == -ENOBUFS)
				return r;
			/* The file went away under the kept fd (a removed cgroup reads ENODEV,
			 * perhaps made again under the same name): open the path again. */
			victim = i;
			break;
		}
		release_read(&s->state);
		/* its fd was closed behind our back: refill it in place */
		if (match) {
			victim = i;
			break;
		}
	}
	/* a miss: a path is resolved through the root from here on */
	r = src_root_check(src);
	if (r < 0)
		return r;
	if (victim == SRC_FDCACHE_SLOTS) {
		/* a never-used slot; all used: the home slot */
		unsigned next = atomic_fetch_add_explicit(&c->used, 1, memory_order_acq_rel);

		victim = next < SRC_FDCACHE_SLOTS ? next : h % SRC_FDCACHE_SLOTS;
		if (next >= SRC_FDCACHE_SLOTS)
			atomic_store_explicit(&c->used, SRC_FDCACHE_SLOTS, memory_order_relaxed);
	}
	if (!claim_write(&c->slot[victim].state))
		return -EAGAIN;
	r = slot_fill(src, victim, gen, h, relpath, len, beneath, buf, size, ret_len);
	release_write(&c->slot[victim].state);
	return r;
}

int src_fdcache_read(const struct cg_src *src, const char *relpath, char *buf, size_t size,
		     size_t *ret_len)
{
	return fdcache_read(src, relpath, false, buf, size, ret_len);
}

int src_fdcache_read_beneath(const struct cg_src *src, const char *relpath, char *buf, size_t size,
			     size_t *ret_len)
{
	return fdcache_read(src, relpath, true, buf, size, ret_len);
}

int src_fdcache_root_hold(struct src_fdcache *c)
{
	unsigned gen = atomic_load_explicit(&c->gen, memory_order_acquire);
	struct src_fdslot *s = &c->root;
	struct stat st;
	int fd, hi;

	if (claim_read(&s->state)) {
		if (atomic_load_explicit(&s->gen, memory_order_relaxed) == gen && s->fd >= 0)
			return s->fd; /* checked lazily: src_root_check() */
		release_read(&s->state);
	}
	if (!claim_write(&s->state))
		return -EAGAIN;
	if (slot_fd_ours(c, s))
		src_sys_close(s->fd);
	atomic_store_explicit(&s->gen, 0, memory_order_relaxed);
	s->fd = -1;
	fd = src_sys_openat(AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	hi = fd >= 0 ? fd_move_high(fd, c->min_fd, &st) : -1;
	if (hi < 0) {
		release_write(&s->state);
		return -EAGAIN;
	}
	s->fd = hi;
	s->dev = (uint64_t)st.st_dev;
	s->ino = (uint64_t)st.st_ino;
	atomic_store_explicit(&s->gen, gen, memory_order_relaxed);
	/* the writer claim becomes our reader claim */
	atomic_store_explicit(&s->state, 2, memory_order_release);
	return hi;
}

void src_fdcache_root_release(struct src_fdcache *c)
{
	release_read(&c->root.state);
}

int src_root_check(const struct cg_src *src)
{
	struct src_fdslot *s;
	int fd;

	if (!src->root_unchecked || !src->fds)
		return 0;
	s = &src->fds->root;
	if (s->fd == src->rootfd && slot_fd_ours(src->fds, s)) {
		/* the request's own, writable cg_src (source.h) */
		((struct cg_src *)src)->root_unchecked = false;
		return 0;
	}
	/* Not ours any more (closefrom, say): the next hold opens "/" again (our reader claim keeps
	 * the slot from being refilled under us; a writer finds it stale), and this request goes
	 * on with a "/" of its own, which the front end closes. */
	atomic_store_explicit(&s->gen, 0, memory_order_relaxed);
	fd = src_sys_openat(AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -ESTALE;
	((struct cg_src *)src)->rootfd = fd;
	((struct cg_src *)src)->root_unchecked = false;
	return 0;
}
