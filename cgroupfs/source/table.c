/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reader of the sampler table: open under the src root, validate the header against the file's
 * real size and the clock, binary-search entries with bounded preads. No malloc, no logging: the
 * shim calls this inside other people's processes. Every failure is -ENODATA (or -errno of the
 * open) and the caller falls back to the host's values.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../model/config.h"
#include "../model/macro.h"
#include "internal.h"
#include "table.h"

static int read_all_at(int fd, void *buf, size_t size, uint64_t off)
{
	size_t done = 0;

	while (done < size) {
		ssize_t n = src_sys_pread(fd, (char *)buf + done, size - done, off + done);

		if (n == -EINTR)
			continue;
		if (n <= 0)
			return -ENODATA; /* short file or I/O error: not a table we can use */
		done += (size_t)n;
	}
	return 0;
}

/* "boottime <sec> <nsec>" of proc/self/timens_offsets, in ns (may be negative). */
static int64_t timens_boottime_offset(const struct cg_src *src)
{
	char text[256];
	struct span rest, line;
	size_t len = 0;

	int fd;
	ssize_t n;

	fd = src_sys_openat(src->rootfd, "proc/self/timens_offsets",
			    O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return 0;
	n = src_sys_read(fd, text, sizeof(text));
	src_sys_close(fd);
	if (n <= 0)
		return 0;
	len = (size_t)n;
	rest = (struct span){text, len};
	while (line_next(&rest, &line)) {
		struct span w, sec, nsec;
		uint64_t s, ns;
		bool neg = false;

		if (!word_next(&line, &w) || !span_eq(w, "boottime"))
			continue;
		if (!word_next(&line, &sec) || !word_next(&line, &nsec))
			return 0;
		if (sec.len && sec.p[0] == '-') {
			neg = true;
			sec.p++;
			sec.len--;
		}
		if (parse_u64(sec, &s) < 0 || parse_u64(nsec, &ns) < 0 ||
		    s > INT64_MAX / 1000000000)
			return 0;
		return (neg ? -1 : 1) * (int64_t)(s * 1000000000 + ns);
	}
	return 0;
}

static int boottime_raw(uint64_t *ret_ns)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
		return -errno;
	*ret_ns = (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
	return 0;
}

int cgtable_now(const struct cg_src *src, uint64_t *ret_ns)
{
	int64_t off;
	uint64_t now = 0;
	int r;

	r = boottime_raw(&now);
	if (r < 0)
		return r;
	off = timens_boottime_offset(src);
	if (off > 0 && (uint64_t)off > now)
		return -ERANGE;
	*ret_ns = now - (uint64_t)off;
	return 0;
}

/* "run/cgproc/table" for @rundir under the src root. */
static int table_path(const char *rundir, char *path, size_t size)
{
	size_t n;

	if (!rundir || !*rundir)
		rundir = CGPROC_RUNDIR_DEFAULT;
	while (*rundir == '/')
		rundir++;
	n = strlen(rundir);
	while (n && rundir[n - 1] == '/')
		n--;
	if (n + 1 + sizeof(CGTABLE_FILE) > size)
		return -ENAMETOOLONG;
	memcpy(path, rundir, n);
	if (n)
		path[n++] = '/';
	memcpy(path + n, CGTABLE_FILE, sizeof(CGTABLE_FILE));
	return 0;
}

int cgtable_open(const struct cg_src *src, const char *rundir)
{
	char path[512];
	int r;

	r = table_path(rundir, path, sizeof(path));
	if (r < 0)
		return r;
	return src_sys_openat(src->rootfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
}

int cgtable_read_header(int fd, struct cgtable_header *ret)
{
	struct cgtable_header h;
	char raw[sizeof(h)];
	struct stat st;
	int r;

	if (src_sys_fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(h))
		return -ENODATA;
	/* Its numbers go to every process on the host, setuid ones included: trust a table only
	 * when nobody but root (cgprocd) or the reader itself could have written it. The file is
	 * replaced by rename(2), so its owner is whoever wrote the last one. */
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return -EPERM;
	r = read_all_at(fd, raw, sizeof(raw), 0);
	if (r < 0)
		return r;
	r = cgtable_header_decode((struct span){raw, sizeof(raw)}, (uint64_t)st.st_size, &h);
	if (r < 0)
		return r;
	*ret = h;
	return 0;
}

/* A window of entries read with one pread once the search range fits in it. */
#define LOOKUP_WINDOW 4096

int cgtable_lookup(int fd, const struct cgtable_header *h, uint64_t dev, uint64_t ino,
		   struct cgtable_entry *ret, struct cpuset *ret_cpuset)
{
	char win[LOOKUP_WINDOW]; /* >= one entry: entry_size <= 96 + CPUSET_MAX / 8 = 1120 */
	uint64_t lo = 0, hi = h->count;
	int r;

	_Static_assert(LOOKUP_WINDOW >= sizeof(struct cgtable_entry) + CPUSET_MAX / 8,
		       "window holds an entry");
	if (h->entry_size > sizeof(win) || h->entry_size < sizeof(struct cgtable_entry))
		return -ENODATA;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2, base = lo, n = 1;
		const char *p;
		struct cgtable_entry key, e;
		int c;

		if ((hi - lo) * h->entry_size <= sizeof(win)) {
			/* the rest of the range in one read, searched in memory */
			n = hi - lo;
			r = read_all_at(fd, win, n * h->entry_size,
					h->header_size + lo * h->entry_size);
			if (r < 0)
				return r;
			for (p = NULL; n > 0; n--, base++) {
				memcpy(&key, win + (base - lo) * h->entry_size, 16);
				if (cgtable_key_cmp(dev, ino, key.dev, key.ino) == 0) {
					p = win + (base - lo) * h->entry_size;
					break;
				}
			}
			if (!p)
				return -ENODATA;
		} else {
			/* the key is at the start: read only it while searching */
			r = read_all_at(fd, &key, 16, h->header_size + mid * h->entry_size);
			if (r < 0)
				return r;
			c = cgtable_key_cmp(dev, ino, key.dev, key.ino);
			if (c < 0) {
				hi = mid;
				continue;
			}
			if (c > 0) {
				lo = mid + 1;
				continue;
			}
			r = read_all_at(fd, win, h->entry_size,
					h->header_size + mid * h->entry_size);
			if (r < 0)
				return r;
			p = win;
		}
		r = cgtable_entry_decode(h, (struct span){p, h->entry_size}, &e, ret_cpuset);
		if (r < 0)
			return r;
		*ret = e;
		return 0;
	}
	return -ENODATA;
}

/* "sys/fs/cgroup/memory" + the machine's path with the mount's root removed. */
static int machine_dir(const struct cg_machine *m, enum cg_controller c, char *out, size_t size)
{
	const char *mnt = cg_machine_mount(m, c), *root = cg_machine_root(m, c),
		   *path = cg_machine_path(m, c);
	size_t rl, ml, pl;

	if (!mnt || !path)
		return -ENODATA;
	rl = strlen(root);
	/* A mount of a subtree (root "/a") shows "/a/b" as "<mnt>/b". A path outside the mount's
	 * root (cgroup-namespace relative) is used as it is. */
	if (rl > 1 && strncmp(path, root, rl) == 0 && (path[rl] == '/' || path[rl] == 0))
		path += rl;
	while (*mnt == '/')
		mnt++;
	while (*path == '/')
		path++;
	ml = strlen(mnt);
	pl = strlen(path);
	if (ml + 1 + pl + 1 > size)
		return -ENAMETOOLONG;
	memcpy(out, mnt, ml);
	if (!ml)
		out[ml++] = '.';
	if (pl) {
		out[ml++] = '/';
		memcpy(out + ml, path, pl);
	}
	out[ml + pl] = 0;
	return 0;
}

int cg_machine_key(const struct cg_src *src, const struct cg_machine *m, enum cg_controller c,
		   uint64_t *ret_dev, uint64_t *ret_ino)
{
	char dir[2 * CG_PATH_MAX + 2];
	struct stat st;
	int r;

	if ((unsigned)c >= _CG_MAX)
		return -EINVAL;
	r = machine_dir(m, c, dir, sizeof(dir));
	if (r < 0)
		return r;
	r = src_sys_fstatat(src->rootfd, dir, &st, 0);
	if (r < 0)
		return r;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	*ret_dev = (uint64_t)st.st_dev;
	*ret_ino = (uint64_t)st.st_ino;
	return 0;
}

static void ident_of(const struct stat *st, uint64_t ret[4])
{
	ret[0] = (uint64_t)st->st_dev;
	ret[1] = (uint64_t)st->st_ino;
	ret[2] = (uint64_t)st->st_size;
	ret[3] = (uint64_t)st->st_mtim.tv_sec * 1000000000 + (uint64_t)st->st_mtim.tv_nsec;
}

/* The lookup on an open table; the header is returned for the cache. -ESTALE: no valid fresh
 * header; -ENODATA: a fresh table without our machine. */
static int lookup_fd(const struct cg_src *src, const struct cg_machine *m, int fd,
		     struct cgtable_header *ret_h, struct cg_sample *ret)
{
	static const enum cg_controller order[] = {CG_CPU, CG_MEMORY, CG_CPUSET};
	struct cgtable_header h;
	struct cg_sample s;
	uint64_t now = 0, seen_dev[3], seen_ino[3];
	unsigned nseen = 0;
	bool have_load = false;
	int r;

	r = cgtable_read_header(fd, &h);
	if (r < 0)
		return -ESTALE;
	/* The time-namespace correction costs an open: only pay it when the plain clock disagrees.
	 */
	if (boottime_raw(&now) < 0)
		return -ESTALE;
	if (!cgtable_fresh(&h, now) && (cgtable_now(src, &now) < 0 || !cgtable_fresh(&h, now)))
		return -ESTALE;

	cg_sample_init(&s);
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		enum cg_controller c = order[i];
		struct cgtable_entry e;
		struct cpuset cs;
		uint64_t dev, ino;
		bool dup = false;

		if (cg_machine_key(src, m, c, &dev, &ino) < 0 &&
		    (c != CG_CPU || cg_machine_key(src, m, CG_UNIFIED, &dev, &ino) < 0))
			continue;
		for (unsigned j = 0; j < nseen; j++)
			dup |= seen_dev[j] == dev && seen_ino[j] == ino;
		if (dup)
			continue; /* v2: one directory for every controller */
		seen_dev[nseen] = dev;
		seen_ino[nseen++] = ino;
		if (cgtable_lookup(fd, &h, dev, ino, &e, &cs) < 0)
			continue;
		cg_sample_merge(&s, &e, &cs);
		have_load |= (e.flags & CGTABLE_HAS_LOAD) != 0;
	}
	if (!have_load)
		return -ENODATA;
	*ret_h = h;
	*ret = s;
	return 0;
}

int cg_sample_lookup(const struct cg_src *src, const struct cg_machine *m, const char *rundir,
		     struct cg_sample *ret)
{
	struct cgtable_header h;
	int fd, r;

	fd = cgtable_open(src, rundir);
	if (fd < 0)
		return -ENODATA;
	r = lookup_fd(src, m, fd, &h, ret);
	src_sys_close(fd);
	return r < 0 ? -ENODATA : 0;
}

void cg_sample_cache_init(struct cg_sample_cache *c)
{
	memset(c, 0, sizeof(*c));
}

/* A string and its NUL, so that "ab","c" and "a","bc" differ. */
static uint64_t hash_str(uint64_t h, const char *s)
{
	return fnv1a(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

uint64_t cg_machine_hash(const struct cg_machine *m, uint64_t h)
{
	h = fnv1a(h, &m->rule, sizeof(m->rule));
	h = fnv1a(h, &m->init_pid, sizeof(m->init_pid));
	for (unsigned c = 0; c < _CG_MAX; c++)
		h = hash_str(h, cg_machine_path(m, c));
	return h;
}

/* Which sampler table and which machine, within one root. */
static uint64_t machine_hash(const struct cg_src *src, const struct cg_machine *m,
			     const char *rundir)
{
	return cg_machine_hash(m, hash_str(FNV1A_INIT ^ (uint64_t)(unsigned)src->rootfd, rundir));
}

int cg_sample_lookup_cached(const struct cg_src *src, const struct cg_machine *m,
			    const char *rundir, struct cg_sample_cache *c, struct cg_sample *ret)
{
	uint64_t ident[4] = {0, 0, 0, 0}, mh = machine_hash(src, m, rundir), now = 0;
	struct cgtable_header h;
	char path[512];
	struct stat st;
	int fd, r;

	if (table_path(rundir, path, sizeof(path)) < 0)
		return -ENODATA;
	if (src_sys_fstatat(src->rootfd, path, &st, 0) == 0)
		ident_of(&st, ident);
	if (c->valid && c->machine_hash == mh && memcmp(c->ident, ident, sizeof(ident)) == 0) {
		/* the same file: only its age can have changed */
		if (c->result < 0)
			return -ENODATA;
		h.heartbeat_ns = c->heartbeat_ns;
		h.period_ns = c->period_ns;
		if (boottime_raw(&now) == 0 && cgtable_fresh(&h, now)) {
			*ret = c->sample;
			return 0;
		}
	}

	c->valid = false;
	r = -ESTALE;
	fd = cgtable_open(src, rundir);
	if (fd >= 0) {
		/* identify what was read, not what the path named a moment ago */
		if (src_sys_fstat(fd, &st) == 0)
			ident_of(&st, ident);
		r = lookup_fd(src, m, fd, &h, &c->sample);
		src_sys_close(fd);
	} else {
		memset(ident, 0, sizeof(ident));
	}
	/* Remember answers from a fresh table (ours, or "not in it") and "no table"; a stale or
	 * corrupt file is looked at again next time (a dead daemon costs 4 syscalls a call). */
	if (r == 0 || r == -ENODATA || fd < 0) {
		c->valid = true;
		c->result = r;
		memcpy(c->ident, ident, sizeof(ident));
		c->machine_hash = mh;
		c->heartbeat_ns = r == 0 ? h.heartbeat_ns : 0;
		c->period_ns = r == 0 ? h.period_ns : 0;
	}
	if (r == 0)
		*ret = c->sample;
	return r < 0 ? -ENODATA : 0;
}
