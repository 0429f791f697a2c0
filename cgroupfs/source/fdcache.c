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
#include <unistd.h>

#include "internal.h"
#include "source.h"

#define PROBES 4

void src_fdcache_init(struct src_fdcache *c, int min_fd)
{
	memset(c, 0, sizeof(*c));
	c->min_fd = min_fd;
	atomic_store(&c->gen, 1);
	for (unsigned i = 0; i < SRC_FDCACHE_SLOTS; i++)
		c->slot[i].fd = -1;
	c->root.fd = -1;
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

static unsigned path_hash(const char *p)
{
	unsigned h = 2166136261u;

	while (*p)
		h = (h ^ (unsigned char)*p++) * 16777619u;
	return h;
}

/* Whether the kept fd still is the file that was opened (without asking the kernel when the
 * front end owns every fd of its process). */
static bool slot_fd_ours(const struct src_fdcache *c, const struct src_fdslot *s)
{
	struct stat st;

	if (s->fd >= 0 && c->owns_fds)
		return true;
	return s->fd >= 0 && src_fstat(s->fd, &st) == 0 && (uint64_t)st.st_dev == s->dev &&
	       (uint64_t)st.st_ino == s->ino;
}

static int fd_pread(int fd, char *buf, size_t size, size_t *ret_len)
{
	ssize_t n;

	do
		n = pread(fd, buf, size, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n >= size)
		return -ENOBUFS;
	buf[n] = 0;
	if (ret_len)
		*ret_len = (size_t)n;
	return 0;
}

static bool reader_claim(struct src_fdslot *s)
{
	unsigned st = atomic_load_explicit(&s->state, memory_order_relaxed);

	return !(st & 1) &&
	       atomic_compare_exchange_strong_explicit(&s->state, &st, st + 2, memory_order_acquire,
						       memory_order_relaxed);
}

static void reader_release(struct src_fdslot *s)
{
	atomic_fetch_sub_explicit(&s->state, 2, memory_order_release);
}

static bool writer_claim(struct src_fdslot *s)
{
	unsigned zero = 0;

	return atomic_compare_exchange_strong_explicit(&s->state, &zero, 1, memory_order_acquire,
						       memory_order_relaxed);
}

static void writer_release(struct src_fdslot *s)
{
	atomic_store_explicit(&s->state, 0, memory_order_release);
}

/*
 * Moves @fd (closed here) to a descriptor at or above @min_fd, out of the way of the program's
 * own descriptors, and stats it. The new descriptor, or -1.
 */
static int fd_move_high(int fd, int min_fd, struct stat *st)
{
	int hi = src_fcntl(fd, F_DUPFD_CLOEXEC, min_fd);

	close(fd);
	if (hi < 0)
		return -1;
	if (src_fstat(hi, st) < 0) {
		close(hi);
		return -1;
	}
	return hi;
}

/* Under the writer claim: drop what @s keeps, open @relpath, keep it high, read it. */
static int slot_fill(const struct cg_src *src, struct src_fdslot *s, unsigned gen,
		     const char *relpath, bool beneath, char *buf, size_t size, size_t *ret_len)
{
	struct stat st;
	int fd, hi, r;

	if (slot_fd_ours(src->fds, s))
		close(s->fd);
	s->fd = -1;
	s->err = 0;
	s->gen = 0;
	fd = beneath ? src_open_beneath(src, relpath, O_RDONLY)
		     : openat(src->rootfd, relpath, SRC_OPEN_FLAGS);
	if (fd < 0) {
		r = beneath ? fd : -errno;
		if (r == -ENOENT || r == -ENOTDIR) {
			/* remembered: optional cgroup files are asked for on every render */
			s->err = r;
			s->gen = gen;
			memcpy(s->path, relpath, strlen(relpath) + 1);
		}
		return r;
	}
	hi = fd_move_high(fd, src->fds->min_fd, &st);
	if (hi < 0)
		return -EAGAIN; /* RLIMIT_NOFILE below min_fd: read it the ordinary way */
	s->fd = hi;
	s->dev = (uint64_t)st.st_dev;
	s->ino = (uint64_t)st.st_ino;
	s->gen = gen;
	memcpy(s->path, relpath, strlen(relpath) + 1);
	return fd_pread(hi, buf, size, ret_len);
}

/* src_read() through the cache; -EAGAIN: read it the ordinary way. */
static int fdcache_read(const struct cg_src *src, const char *relpath, bool beneath, char *buf,
			size_t size, size_t *ret_len)
{
	struct src_fdcache *c = src->fds;
	struct src_fdslot *victim = NULL;
	unsigned gen, h;
	int r;

	if (!keepable(src, relpath) || strlen(relpath) >= SRC_FDCACHE_PATH)
		return -EAGAIN;
	gen = atomic_load_explicit(&c->gen, memory_order_acquire);
	h = path_hash(relpath);
	for (unsigned i = 0; i < PROBES; i++) {
		struct src_fdslot *s = &c->slot[(h + i) % SRC_FDCACHE_SLOTS];
		bool match;

		if (!reader_claim(s))
			continue;
		match = s->gen == gen && strcmp(s->path, relpath) == 0;
		if (match && s->fd < 0 && s->err < 0) {
			r = s->err;
			reader_release(s);
			return r;
		}
		if (match && slot_fd_ours(c, s)) {
			r = fd_pread(s->fd, buf, size, ret_len);
			reader_release(s);
			if (r == 0 || r == -ENOBUFS)
				return r;
			/* The file went away under the kept fd (a removed cgroup reads ENODEV,
			 * perhaps made again under the same name): open the path again. */
			victim = s;
			break;
		}
		reader_release(s);
		/* a stale, foreign or empty slot: the first such may be replaced */
		if (!victim && (match || s->gen != gen || s->fd < 0))
			victim = s;
	}
	if (!victim)
		victim = &c->slot[h % SRC_FDCACHE_SLOTS]; /* all taken: the home slot */
	if (!writer_claim(victim))
		return -EAGAIN;
	r = slot_fill(src, victim, gen, relpath, beneath, buf, size, ret_len);
	writer_release(victim);
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

	if (reader_claim(s)) {
		if (s->gen == gen && slot_fd_ours(c, s))
			return s->fd;
		reader_release(s);
	}
	if (!writer_claim(s))
		return -EAGAIN;
	if (slot_fd_ours(c, s))
		close(s->fd);
	s->fd = -1;
	s->gen = 0;
	fd = openat(AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	hi = fd >= 0 ? fd_move_high(fd, c->min_fd, &st) : -1;
	if (hi < 0) {
		writer_release(s);
		return -EAGAIN;
	}
	s->fd = hi;
	s->dev = (uint64_t)st.st_dev;
	s->ino = (uint64_t)st.st_ino;
	s->gen = gen;
	/* the writer claim becomes our reader claim */
	atomic_store_explicit(&s->state, 2, memory_order_release);
	return hi;
}

void src_fdcache_root_release(struct src_fdcache *c)
{
	reader_release(&c->root);
}
