/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgprocd's kept file descriptors: see fdcache.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdcache.h"

#define ABSENT_RETRY_PASSES 12

void fd_budget_init(struct fd_budget *b)
{
	struct rlimit rl;

	b->left = 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit want = {rl.rlim_max, rl.rlim_max};

		/* select() is not used here, so fds above 1024 are fine */
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl = want;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1u << 24))
		rl.rlim_cur = 1u << 24;
	b->left = (long)rl.rlim_cur - 256;
	if (b->left < 0)
		b->left = 0;
}

static ssize_t pread_all0(int fd, char *buf, size_t size)
{
	ssize_t n;

	do
		n = pread(fd, buf, size - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return n;
}

static int state_of(const char *b, char *ret)
{
	/* "tid (comm) S ...": comm may hold ')' but nothing after it does */
	const char *paren = strrchr(b, ')');

	if (!paren || paren[1] != ' ' || !paren[2])
		return -EINVAL;
	*ret = paren[2];
	return 0;
}

static int tid_grow(struct tid_cache *c, pid_t tid)
{
	size_t ns = c->size ? c->size : 4096;
	int *nfd;
	uint64_t *nseen;

	while (ns <= (size_t)tid)
		ns *= 2;
	nfd = realloc(c->fd, ns * sizeof(*nfd));
	if (!nfd)
		return -ENOMEM;
	c->fd = nfd;
	nseen = realloc(c->seen, ns * sizeof(*nseen));
	if (!nseen)
		return -ENOMEM;
	c->seen = nseen;
	memset(c->fd + c->size, 0, (ns - c->size) * sizeof(*nfd));
	memset(c->seen + c->size, 0, (ns - c->size) * sizeof(*nseen));
	c->size = ns;
	return 0;
}

int tid_cache_state(struct tid_cache *c, struct fd_budget *b, int procfd, pid_t tid, uint64_t pass,
		    char *ret)
{
	char path[48], buf[512];
	bool cacheable;
	ssize_t n;
	int fd;

	if (tid <= 0)
		return -EINVAL;
	cacheable = (size_t)tid < c->size || tid_grow(c, tid) == 0;
	if (cacheable) {
		c->seen[tid] = pass;
		if (c->fd[tid] > 0) {
			n = pread_all0(c->fd[tid] - 1, buf, sizeof(buf));
			if (n > 0)
				return state_of(buf, ret);
			/* the thread exited (ESRCH); a new one may have its tid now */
			close(c->fd[tid] - 1);
			c->fd[tid] = 0;
			b->left++;
		}
	}
	/* the task/ file is the thread alone; /proc/<tid>/stat sums the whole thread group
	 * (O(threads) each, O(threads^2) for a process) */
	snprintf(path, sizeof(path), "%d/task/%d/stat", (int)tid, (int)tid);
	fd = openat(procfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	n = pread_all0(fd, buf, sizeof(buf));
	if (n > 0 && cacheable && b->left > 0 &&
	    (c->nopen < c->capopen || c->capopen < (1u << 26))) {
		if (c->nopen == c->capopen) {
			size_t nc = c->capopen ? c->capopen * 2 : 1024;
			pid_t *no = realloc(c->open, nc * sizeof(*no));

			if (!no)
				goto no_keep;
			c->open = no;
			c->capopen = nc;
		}
		c->open[c->nopen++] = tid;
		c->fd[tid] = fd + 1;
		b->left--;
		return state_of(buf, ret);
	}
no_keep:
	close(fd);
	if (n <= 0)
		return n < 0 ? (int)n : -ESRCH;
	return state_of(buf, ret);
}

void tid_cache_sweep(struct tid_cache *c, struct fd_budget *b, uint64_t pass)
{
	size_t o = 0;

	for (size_t i = 0; i < c->nopen; i++) {
		pid_t tid = c->open[i];

		if (c->fd[tid] <= 0)
			continue; /* closed on a failed read already */
		if (c->seen[tid] != pass) {
			close(c->fd[tid] - 1);
			c->fd[tid] = 0;
			b->left++;
			continue;
		}
		c->open[o++] = tid;
	}
	c->nopen = o;
}

void tid_cache_done(struct tid_cache *c)
{
	for (size_t i = 0; i < c->nopen; i++)
		if (c->fd[c->open[i]] > 0)
			close(c->fd[c->open[i]] - 1);
	free(c->fd);
	free(c->seen);
	free(c->open);
	memset(c, 0, sizeof(*c));
}

static size_t key_hash(uint64_t dev, uint64_t ino)
{
	uint64_t h = ino * UINT64_C(0x9e3779b97f4a7c15) ^ dev * UINT64_C(0xc2b2ae3d27d4eb4f);

	return (size_t)(h ^ (h >> 29));
}

static size_t *slot_find(struct cg_cache *c, uint64_t dev, uint64_t ino)
{
	size_t mask = c->nslots - 1, i = key_hash(dev, ino) & mask;

	for (;; i = (i + 1) & mask) {
		size_t v = c->slots[i];

		if (!v)
			return &c->slots[i];
		if (c->nodes[v - 1].dev == dev && c->nodes[v - 1].ino == ino)
			return &c->slots[i];
	}
}

static int rehash(struct cg_cache *c, size_t want)
{
	size_t ns = 1024;
	size_t *nslots;

	while (ns < 2 * want + 2)
		ns *= 2;
	nslots = calloc(ns, sizeof(*nslots));
	if (!nslots)
		return -ENOMEM;
	free(c->slots);
	c->slots = nslots;
	c->nslots = ns;
	for (size_t i = 0; i < c->count; i++)
		*slot_find(c, c->nodes[i].dev, c->nodes[i].ino) = i + 1;
	return 0;
}

/*
 * A new node, which keeps @fd when the budget allows (otherwise its dirfd is -1 and @fd stays the
 * caller's: the node still remembers the directory's listing, limits and watch, which is what
 * makes a pass cheap; fds only save opens). (size_t)-1 when out of memory.
 */
static size_t node_add(struct cg_cache *c, struct fd_budget *b, uint64_t dev, uint64_t ino, int fd,
		       bool keep, uint64_t pass)
{
	struct cg_node *n;

	if (c->count == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 1024;
		struct cg_node *nn = realloc(c->nodes, nc * sizeof(*nn));

		if (!nn)
			return (size_t)-1;
		c->nodes = nn;
		c->cap = nc;
	}
	if (2 * (c->count + 1) + 2 > c->nslots && rehash(c, c->count + 1) < 0)
		return (size_t)-1;
	n = &c->nodes[c->count];
	memset(n, 0, sizeof(*n));
	n->dev = dev;
	n->ino = ino;
	n->dirfd = keep && b->left > 0 ? fd : -1;
	for (int i = 0; i < CG_FILES_MAX; i++)
		n->fd[i] = -1;
	n->seen = pass;
	n->wd = -1;
	*slot_find(c, dev, ino) = ++c->count;
	if (n->dirfd >= 0)
		b->left--;
	return c->count - 1;
}

int cg_cache_dir(struct cg_cache *c, struct fd_budget *b, uint64_t dev, uint64_t ino, int parentfd,
		 const char *name, uint64_t pass, bool keep, size_t *ret_idx)
{
	size_t v = c->nslots ? *slot_find(c, dev, ino) : 0;
	int fd;

	if (v) {
		c->nodes[v - 1].seen = pass;
		*ret_idx = v - 1;
		if (c->nodes[v - 1].dirfd >= 0)
			return c->nodes[v - 1].dirfd;
	}
	fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (v)
		return fd; /* a node without a kept fd: this one is the caller's */
	*ret_idx = node_add(c, b, dev, ino, fd, keep, pass);
	return fd;
}

int cg_cache_root(struct cg_cache *c, struct fd_budget *b, const char *path, uint64_t pass,
		  size_t *ret_idx, uint64_t *ret_dev, uint64_t *ret_ino)
{
	struct stat st;
	int fd, r;

	if (stat(path, &st) < 0)
		return -errno;
	*ret_dev = (uint64_t)st.st_dev;
	*ret_ino = (uint64_t)st.st_ino;
	r = cg_cache_dir(c, b, *ret_dev, *ret_ino, AT_FDCWD, path, pass, true, ret_idx);
	if (r < 0)
		return r;
	fd = r;
	return fd;
}

bool cg_cache_read_needs_dir(const struct cg_cache *c, size_t idx, unsigned slot, uint64_t pass)
{
	const struct cg_node *n = idx == (size_t)-1 ? NULL : &c->nodes[idx];

	return !n || (n->fd[slot] == -1 && n->dirfd < 0) ||
	       (n->fd[slot] == -2 && pass - n->absent_pass[slot] >= ABSENT_RETRY_PASSES);
}

ssize_t cg_cache_read(struct cg_cache *c, struct fd_budget *b, size_t idx, int dirfd, unsigned slot,
		      const char *name, uint64_t pass, char *buf, size_t size)
{
	struct cg_node *n = idx == (size_t)-1 ? NULL : &c->nodes[idx];
	ssize_t len;
	int fd;

	if (n && n->fd[slot] >= 0) {
		len = pread_all0(n->fd[slot], buf, size);
		if (len >= 0)
			return len;
		close(n->fd[slot]);
		n->fd[slot] = -1;
		b->left++;
		return len;
	}
	if (n && n->fd[slot] == -2 && pass - n->absent_pass[slot] < ABSENT_RETRY_PASSES)
		return -ENOENT;
	fd = openat(n && n->dirfd >= 0 ? n->dirfd : dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int r = -errno;

		if (n && r == -ENOENT) {
			n->fd[slot] = -2;
			n->absent_pass[slot] = pass;
		}
		return r;
	}
	len = pread_all0(fd, buf, size);
	if (n && len >= 0 && b->left > 0) {
		n->fd[slot] = fd;
		b->left--;
	} else {
		close(fd);
	}
	return len;
}

void cg_cache_forget_absent(struct cg_cache *c, size_t idx, unsigned slot)
{
	if (idx != (size_t)-1 && c->nodes[idx].fd[slot] == -2)
		c->nodes[idx].fd[slot] = -1;
}

static void node_close(struct cg_node *n, struct fd_budget *b)
{
	for (int i = 0; i < CG_FILES_MAX; i++)
		if (n->fd[i] >= 0) {
			close(n->fd[i]);
			b->left++;
		}
	if (n->dirfd >= 0) {
		close(n->dirfd);
		b->left++;
	}
	free(n->kids);
	free(n->own);
	n->kids = NULL;
	n->own = NULL;
}

bool cg_cache_touch(struct cg_cache *c, uint64_t dev, uint64_t ino, uint64_t pass, size_t *idx)
{
	size_t v;

	/* the guess spares the hash lookup, whose probes miss the CPU cache on a large tree */
	if (*idx < c->count && c->nodes[*idx].ino == ino && c->nodes[*idx].dev == dev) {
		c->nodes[*idx].seen = pass;
		return true;
	}
	v = c->nslots ? *slot_find(c, dev, ino) : 0;
	if (!v)
		return false;
	c->nodes[v - 1].seen = pass;
	*idx = v - 1;
	return true;
}

struct cg_node *cg_cache_node(struct cg_cache *c, uint64_t dev, uint64_t ino)
{
	size_t v = c->nslots ? *slot_find(c, dev, ino) : 0;

	return v ? &c->nodes[v - 1] : NULL;
}

void cg_cache_sweep(struct cg_cache *c, struct fd_budget *b, uint64_t pass)
{
	size_t o = 0;

	for (size_t i = 0; i < c->count; i++) {
		if (c->nodes[i].seen != pass) {
			node_close(&c->nodes[i], b);
			continue;
		}
		if (o != i)
			c->nodes[o] = c->nodes[i];
		o++;
	}
	if (o != c->count) {
		c->count = o;
		if (rehash(c, c->count) < 0) {
			/* no memory for the index: forget everything, next pass reopens */
			for (size_t i = 0; i < c->count; i++)
				node_close(&c->nodes[i], b);
			c->count = 0;
			memset(c->slots, 0, c->nslots * sizeof(*c->slots));
		}
	}
}

void cg_cache_done(struct cg_cache *c)
{
	struct fd_budget ignore = {0};

	for (size_t i = 0; i < c->count; i++)
		node_close(&c->nodes[i], &ignore);
	free(c->nodes);
	free(c->slots);
	memset(c, 0, sizeof(*c));
}
