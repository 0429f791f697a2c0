/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A cgroup's own and effective limits (see limits.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/memory.h"
#include "model/misc.h"
#include "model/table.h"
#include "limits.h"
#include "publish.h"

/* One read() of a small file below @dirfd. Returns length or -errno. */
static ssize_t read_small(int dirfd, const char *name, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n >= 0)
		buf[n] = 0;
	return n;
}

/* The visit's directory fd, opened (with its parents') on first use. -1 when it vanished. */
int visit_fd(const struct visit *cv)
{
	struct visit *v = (struct visit *)cv;
	int pfd;

	if (v->dirfd >= 0 || !v->parent)
		return v->dirfd;
	pfd = visit_fd(v->parent);
	if (pfd < 0)
		return -1;
	v->dirfd = openat(pfd, v->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	v->own_fd = v->dirfd >= 0;
	return v->dirfd;
}

/*
 * File @name of the visit's directory as a path below the nearest directory already open (a
 * hierarchy's root is): its fd, and the path in @path. -1 when the path does not fit.
 */
static int visit_rel(const struct visit *v, const char *name, char *path, size_t size)
{
	size_t len = strlen(name), at;
	const struct visit *a;

	for (a = v; a->dirfd < 0; a = a->parent) {
		if (!a->parent)
			return -1;
		len += strlen(a->name) + 1;
	}
	if (len >= size)
		return -1;
	at = len - strlen(name);
	memcpy(path + at, name, strlen(name) + 1);
	for (const struct visit *p = v; p != a; p = p->parent) {
		size_t n = strlen(p->name);

		at -= n + 1;
		memcpy(path + at, p->name, n);
		path[at + n] = '/';
	}
	return a->dirfd;
}

static ssize_t vread(struct sampler *s, const struct visit *v, unsigned slot, const char *name,
		     char *buf, size_t size)
{
	uint64_t pass = s->stats.pass + 1;
	char path[1024];
	int dfd = -1;

	/* A file without a kept fd (past the fd budget) is opened by its path below the nearest
	 * open directory: opening the directories on the way would cost as much again. */
	if (cg_cache_read_needs_dir(&s->cgs, v->node, slot, pass)) {
		ssize_t n;

		dfd = visit_rel(v, name, path, sizeof(path));
		if (dfd >= 0) {
			n = cg_cache_read(&s->cgs, &s->budget, v->node, dfd, slot, path, pass, buf,
					  size);
			if (n != -ENOENT)
				return n;
			/* A directory on the way may be gone or renamed (the listing is a pass
			 * old): only the directory itself says that the file does not exist. */
			cg_cache_forget_absent(&s->cgs, v->node, slot);
		}
		dfd = visit_fd(v);
	}
	return cg_cache_read(&s->cgs, &s->budget, v->node, dfd, slot, name, pass, buf, size);
}

/* A limit file: a number, "max", or v1's "-1"/huge = none (UINT64_MAX). */
static bool read_limit(struct sampler *s, const struct visit *vi, unsigned slot, const char *name,
		       uint64_t *ret)
{
	char b[64];
	ssize_t n = vread(s, vi, slot, name, b, sizeof(b));
	uint64_t v;

	if (n <= 0)
		return false;
	if (b[0] == '-') {
		*ret = UINT64_MAX;
		return true;
	}
	if (parse_u64((struct span){b, (size_t)n}, &v) < 0)
		return false;
	*ret = memory_v1_limit(v);
	return true;
}

static bool words_empty(const uint64_t *w, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (w[i])
			return false;
	return true;
}

/* What a cgroup's own limit files said, before its ancestors are taken into account. */
struct own {
	bool mem_ok, swap_ok, quota_ok, cpus_ok;
	uint64_t mem, swap, quota, period; /* swap: memsw on v1 */
	uint64_t first_pass, read_pass;
	uint64_t cpus[]; /* cpu_words words */
};

static void own_read(struct sampler *s, const struct sampler_hier *h, const struct visit *vi,
		     struct own *o)
{
	char b[CPUSET_MAX * 3];

	o->mem_ok = o->swap_ok = o->quota_ok = o->cpus_ok = false;
	if (h->roles & CGTABLE_HAS_MEMORY) {
		o->mem_ok = read_limit(s, vi, SLOT_MEM,
				       h->v2 ? "memory.max" : "memory.limit_in_bytes", &o->mem);
		/* v1 keeps memory.limit_in_bytes <= memory.memsw.limit_in_bytes (a write that
		 * would break it fails): without a memory limit there is no memsw limit, and most
		 * cgroups have none, so one file read and one kept fd less for them */
		if (!h->v2 && o->mem_ok && o->mem == UINT64_MAX) {
			o->swap_ok = true;
			o->swap = UINT64_MAX;
		} else {
			o->swap_ok = read_limit(s, vi, SLOT_SWAP,
						h->v2 ? "memory.swap.max"
						      : "memory.memsw.limit_in_bytes",
						&o->swap);
		}
	}
	if (h->roles & CGTABLE_HAS_CPU) {
		if (h->v2) {
			ssize_t n = vread(s, vi, SLOT_QUOTA, "cpu.max", b, sizeof(b));
			char q[32];
			unsigned long long pp;

			if (n > 0 && sscanf(b, "%31s %llu", q, &pp) == 2) {
				o->period = pp;
				o->quota_ok = true;
				if (strcmp(q, "max") == 0)
					o->quota = UINT64_MAX;
				else if (parse_u64_str(q, &o->quota) < 0)
					o->quota_ok = false;
			}
		} else {
			/* the period means nothing without a quota (most cgroups): one file read
			 * and one kept fd less per cgroup; a quota written later is read with its
			 * period at the same refresh */
			o->quota_ok =
				read_limit(s, vi, SLOT_QUOTA, "cpu.cfs_quota_us", &o->quota) &&
				(o->quota == UINT64_MAX ||
				 read_limit(s, vi, SLOT_PERIOD, "cpu.cfs_period_us", &o->period));
			if (o->quota == UINT64_MAX)
				o->period = 0;
		}
	}
	if (h->roles & CGTABLE_HAS_CPUSET) {
		ssize_t n = vread(s, vi, SLOT_CPUSET,
				  h->v2 ? "cpuset.cpus.effective" : "cpuset.effective_cpus", b,
				  sizeof(b));

		if (n == -ENOENT && !h->v2) /* kernels before 4.x: cpuset.cpus is hierarchical */
			n = read_small(visit_fd(vi), "cpuset.cpus", b, sizeof(b));
		/* ids beyond cpu_words (none on this machine) are dropped */
		if (n > 0 && cpuset_parse((struct span){b, (size_t)n}, &s->scratch_cpuset) == 0) {
			memcpy(o->cpus, s->scratch_cpuset.bits, (size_t)s->cpu_words * 8);
			o->cpus_ok = !words_empty(o->cpus, s->cpu_words);
		}
	}
}

/* The effective limits of a cgroup: its own, tightened by its parent's effective ones. */
static void own_apply(const struct sampler *s, const struct sampler_hier *h, const struct own *o,
		      const struct eff *parent, struct eff *ret)
{
	/* the fields and the cpuset words in use, not the whole CPUSET_MAX bitmap */
	ret->mem = parent->mem;
	ret->memsw = parent->memsw;
	ret->swap = parent->swap;
	ret->quota = parent->quota;
	ret->period = parent->period;
	ret->has_cpuset = parent->has_cpuset;
	memcpy(ret->cpus, parent->cpus, (size_t)s->cpu_words * 8);
	if (o->mem_ok && o->mem < ret->mem)
		ret->mem = o->mem;
	if (o->swap_ok && h->v2 && o->swap < ret->swap)
		ret->swap = o->swap;
	else if (o->swap_ok && !h->v2 && o->swap < ret->memsw)
		ret->memsw = o->swap;
	if (o->quota_ok && o->quota != UINT64_MAX && o->period && o->period != UINT64_MAX &&
	    (ret->quota == UINT64_MAX || (unsigned __int128)o->quota * ret->period <
						 (unsigned __int128)ret->quota * o->period)) {
		ret->quota = o->quota;
		ret->period = o->period;
	}
	if (o->cpus_ok) {
		if (ret->has_cpuset) {
			for (uint32_t i = 0; i < s->cpu_words; i++)
				ret->cpus[i] &= o->cpus[i];
		} else {
			memcpy(ret->cpus, o->cpus, (size_t)s->cpu_words * 8);
			ret->has_cpuset = true;
		}
	}
}

/*
 * The cgroup's own limits, from its files or, between refreshes, from what they said last time.
 * Limit files cannot be watched (kernfs sends no inotify event when one is written), and reading
 * them is most of a pass over many cgroups, so each cgroup re-reads them every s->limits_every
 * passes (spread by inode) and in each of its first LIMITS_YOUNG passes: a runtime writes a new
 * cgroup's limits right after its mkdir.
 */
void limits_read(struct sampler *s, const struct sampler_hier *h, const struct visit *vi,
		 uint64_t ino, const struct eff *parent, struct eff *ret)
{
	struct cg_node *n = vi->node == (size_t)-1 ? NULL : &s->cgs.nodes[vi->node];
	uint64_t pass = s->stats.pass + 1;
	union {
		struct own o;
		unsigned char room[sizeof(struct own) + CPUSET_MAX / 8];
	} tmp;
	struct own *o = &tmp.o;

	if (n) {
		if (!n->own && (n->own = calloc(1, sizeof(struct own) + (size_t)s->cpu_words * 8)))
			((struct own *)n->own)->first_pass = pass;
		if (n->own)
			o = n->own;
	}
	if (o == &tmp.o || !o->read_pass || pass - o->first_pass < LIMITS_YOUNG ||
	    ((ino * UINT64_C(0x9E3779B97F4A7C15)) >> 40) % s->limits_every ==
		    pass % s->limits_every) {
		uint64_t t0 = sampler_clock_ns(CLOCK_MONOTONIC);

		own_read(s, h, vi, o);
		o->read_pass = pass;
		s->stats.limits++;
		s->stats.limits_us += (sampler_clock_ns(CLOCK_MONOTONIC) - t0) / 1000;
	}
	own_apply(s, h, o, parent, ret);
}
