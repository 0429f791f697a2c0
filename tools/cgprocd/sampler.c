/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgprocd's sampling pass (see sampler.h). Everything here tolerates the tree changing under it:
 * a cgroup removed mid-walk loses its subtree for this pass, a thread that exited is not counted;
 * neither is an error.
 *
 * Thread states come from /proc/<tid>/stat field 3 (R runnable, D uninterruptible), which is what
 * the kernel's own load average counts (kernel/sched/loadavg.c: nr_running + nr_uninterruptible).
 * Unlike lxcfs (research/lxcfs.md 2.6), the running field counts R only, like the kernel's
 * /proc/loadavg field 4, while the average counts R + D; tids come from the cgroup's own thread
 * list (v1 "tasks", v2 "cgroup.threads"), not from every thread of every process listed in
 * cgroup.procs, so a process whose threads sit in several cgroups is split correctly.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "model/memory.h"
#include "model/misc.h"
#include "model/table.h"
#include "fdcache.h"
#include "hier.h"
#include "sampler.h"

#define WALK_DEPTH_MAX 128

struct counts {
	uint64_t active, running, total; /* active = R + D */
};

#define LIMITS_YOUNG 3	    /* passes in which a new cgroup re-reads its limits every time */
#define LIMITS_PER_PASS 256 /* limit refreshes a pass aims at before spreading them out */
#define LIMITS_EVERY_MAX 12 /* ... over at most this many passes (60 s at 5 s) */

struct eff {
	uint64_t mem, memsw, swap, quota, period;
	bool has_cpuset;
	uint64_t cpus[CPUSET_MAX / 64];
};

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

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

/* A whole file of any size into s->buf (tasks lists can be long). */
static ssize_t read_big(struct sampler *s, int dirfd, const char *name)
{
	size_t len = 0;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (s->buf_size - len < 4096) {
			size_t ns = s->buf_size ? s->buf_size * 2 : 65536;
			char *nb = realloc(s->buf, ns);

			if (!nb) {
				close(fd);
				return -ENOMEM;
			}
			s->buf = nb;
			s->buf_size = ns;
		}
		n = read(fd, s->buf + len, s->buf_size - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;

			close(fd);
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	s->buf[len] = 0;
	return (ssize_t)len;
}

/* File slots of a cgroup in the fd cache. */
enum {
	SLOT_MEM,
	SLOT_SWAP,
	SLOT_QUOTA,
	SLOT_PERIOD,
	SLOT_CPUSET
};

/* The cgroup being visited: its directory fd and its node in the fd cache. */
/* The cgroup being visited. Its directory is opened only when something needs it (a listing, a
 * limit file due, a watch to add): most passes need none for most cgroups. */
struct visit {
	int dirfd;		    /* -1: not open (yet) */
	bool own_fd;		    /* dirfd was opened for this visit: close it after */
	size_t node;		    /* (size_t)-1: not cached */
	const struct visit *parent; /* NULL for a hierarchy's root (always open) */
	const char *name;	    /* in the parent's listing */
};

/* The visit's directory fd, opened (with its parents') on first use. -1 when it vanished. */
static int visit_fd(const struct visit *cv)
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

static ssize_t vread(struct sampler *s, const struct visit *v, unsigned slot, const char *name,
		     char *buf, size_t size)
{
	return cg_cache_read(&s->cgs, &s->budget, v->node, visit_fd(v), slot, name,
			     s->stats.pass + 1, buf, size);
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

uint64_t sampler_exp(uint64_t period_ns, unsigned minutes)
{
	double e;

	/* The kernel's constants are FIXED_1 / e^(5 s / minutes): use them verbatim at 5 s. */
	if (period_ns == UINT64_C(5000000000)) {
		switch (minutes) {
		case 1:
			return LOADAVG_EXP_1;
		case 5:
			return LOADAVG_EXP_5;
		case 15:
			return LOADAVG_EXP_15;
		}
	}
	e = (double)LOADAVG_FIXED_1 / exp((double)period_ns / 1e9 / (60.0 * minutes));
	if (e < 1)
		e = 1;
	return (uint64_t)(e + 0.5);
}

void sampler_set_period(struct sampler *s, uint64_t period_ns)
{
	static const unsigned minutes[3] = {1, 5, 15};

	s->period_ns = period_ns;
	for (int i = 0; i < 3; i++)
		s->exp[i] = sampler_exp(period_ns, minutes[i]);
}

static size_t esize(const struct sampler *s)
{
	return cgtable_entry_size(s->cpu_words);
}

static struct cgtable_entry *entry_at(struct sampler *s, size_t i)
{
	return (struct cgtable_entry *)(s->body + i * esize(s));
}

static uint64_t *entry_cpus(struct sampler *s, size_t i)
{
	return (uint64_t *)(s->body + i * esize(s) + sizeof(struct cgtable_entry));
}

/* Index of a new zeroed entry, or -ENOMEM. */
static ssize_t entry_new(struct sampler *s)
{
	struct cgtable_entry *e;

	if (s->count == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 1024;
		unsigned char *nb = realloc(s->body, nc * esize(s));

		if (!nb)
			return -ENOMEM;
		s->body = nb;
		s->cap = nc;
	}
	memset(s->body + s->count * esize(s), 0, esize(s));
	/* fields of roles this hierarchy does not have read as "none" */
	e = entry_at(s, s->count);
	e->mem_limit = e->swap_limit = e->quota_us = UINT64_MAX;
	return (ssize_t)s->count++;
}

/* Count the threads listed in @dirfd's thread file into the entry. */
static void count_threads(struct sampler *s, const struct sampler_hier *h, int dirfd, uint64_t ino,
			  struct counts *c)
{
	ssize_t len = read_big(s, dirfd, h->v2 ? "cgroup.threads" : "tasks");
	uint64_t running = 0, blocked = 0, total = 0;
	const char *p, *end;

	if (len <= 0)
		return;
	for (p = s->buf, end = s->buf + len; p < end;) {
		const char *q = p;
		char st;

		while (q < end && *q >= '0' && *q <= '9')
			q++;
		if (q == p) {
			p++;
			continue;
		}
		if (!(q - p == (ssize_t)s->self_len && memcmp(p, s->self_str, s->self_len) == 0)) {
			pid_t tid = (pid_t)strtol(p, NULL, 10);

			s->stats.threads++;
			if (tid_cache_state(&s->tids, &s->budget, s->procfd, tid, s->stats.pass + 1,
					    &st) < 0) {
				s->stats.vanished++;
			} else {
				total++;
				running += st == 'R';
				blocked += st == 'D';
				if (s->bpf)
					bpfcount_seed(s->bpf, ino, (uint32_t)tid, st);
			}
		}
		p = q;
	}
	c->running += running;
	c->total += total;
	c->active += running + blocked;
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
		o->swap_ok = read_limit(s, vi, SLOT_SWAP,
					h->v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes",
					&o->swap);
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
			o->quota_ok =
				read_limit(s, vi, SLOT_QUOTA, "cpu.cfs_quota_us", &o->quota) &&
				read_limit(s, vi, SLOT_PERIOD, "cpu.cfs_period_us", &o->period);
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
static void limits_read(struct sampler *s, const struct sampler_hier *h, const struct visit *vi,
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
		own_read(s, h, vi, o);
		o->read_pass = pass;
		s->stats.limits++;
	}
	own_apply(s, h, o, parent, ret);
}

/* All entries of directory @fd from its start, into a malloc'd buffer. Length or -errno. */
static ssize_t dir_list(int fd, char **ret)
{
	size_t size = 16384, len = 0;
	char *b = malloc(size);

	if (!b)
		return -ENOMEM;
	if (lseek(fd, 0, SEEK_SET) < 0) {
		free(b);
		return -errno;
	}
	for (;;) {
		ssize_t n;

		if (size - len < 4096) {
			char *nb = realloc(b, size * 2);

			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
			size *= 2;
		}
		n = getdents64(fd, b + len, size - len);
		if (n < 0) {
			int r = -errno;

			free(b);
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret = b;
	return (ssize_t)len;
}

/*
 * Watch a kept directory for new children (once per directory: the watch lives as long as the
 * directory; rmdir drops it). The path through /proc/self/fd names the directory we hold, not
 * whatever its name means by now.
 */
static void watch(struct sampler *s, const struct visit *vi, uint64_t dev, uint64_t ino)
{
	struct cg_node *n;
	char path[64];
	int wd;

	if (s->inofd < 0 || vi->node == (size_t)-1)
		return;
	n = &s->cgs.nodes[vi->node];
	if (n->wd >= 0)
		return;
	if (visit_fd(vi) < 0)
		return;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", vi->dirfd);
	wd = inotify_add_watch(s->inofd, path,
			       IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR);
	if (wd < 0) {
		if (errno == ENOSPC)
			s->ino_full = true; /* fs.inotify.max_user_watches: listed every pass */
		return;
	}
	if ((size_t)wd >= s->nwd) {
		size_t nn = (size_t)wd * 2 + 64;
		uint64_t(*nk)[2] = realloc(s->wd_key, nn * sizeof(*nk));

		if (!nk) {
			inotify_rm_watch(s->inofd, wd);
			return;
		}
		memset(nk + s->nwd, 0, (nn - s->nwd) * sizeof(*nk));
		s->wd_key = nk;
		s->nwd = nn;
	}
	s->wd_key[wd][0] = dev;
	s->wd_key[wd][1] = ino;
	n->wd = wd;
	n->dirty = true; /* whatever changed before the watch is only in a new listing */
}

bool sampler_new_cgroups(struct sampler *s)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool created = false;
	struct cg_node *n;
	ssize_t len;

	if (s->inofd < 0)
		return false;
	while ((len = read(s->inofd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + len;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				s->all_dirty = true; /* events lost: list everything once */
				created = true;
				continue;
			}
			if (!(ev->mask & IN_ISDIR) || ev->wd < 0 || (size_t)ev->wd >= s->nwd)
				continue;
			created |= (ev->mask & (IN_CREATE | IN_MOVED_TO)) != 0;
			/* the directory whose subdirectories changed is listed again */
			n = cg_cache_node(&s->cgs, s->wd_key[ev->wd][0], s->wd_key[ev->wd][1]);
			if (n && n->wd == ev->wd)
				n->dirty = true;
		}
	}
	return created;
}

/*
 * Visit @vi and its subtree. Children are added after their parent; once they are done their
 * counts are summed into it, so one pass aggregates the whole tree. An uncached directory fd is
 * closed here.
 */
static void walk(struct sampler *s, const struct sampler_hier *h, struct visit vi, uint64_t dev,
		 uint64_t ino, const struct eff *pe, int depth, struct counts *ret)
{
	struct eff *me = malloc(sizeof(*me)); /* 1 KiB of cpuset: not on a deep stack */
	struct counts c = {0, 0, 0};
	struct cgtable_entry *e;
	ssize_t idx, len;
	char *list = NULL;
	const char *it;
	struct cg_node *n;
	struct stat st;

	if (!me || (idx = entry_new(s)) < 0)
		goto out;
	s->stats.cgroups++;
	e = entry_at(s, idx);
	e->dev = dev;
	e->ino = ino;

	watch(s, &vi, dev, ino);
	limits_read(s, h, &vi, ino, pe, me);
	if ((h->roles & CGTABLE_HAS_LOAD) && s->bpf && !bpfcount_seeding(s->bpf)) {
		struct bpfcount_val v;

		/* the cgroup id the kernel keys tasks by is the directory's inode */
		bpfcount_get(s->bpf, ino, &v);
		c.active = v.active;
		c.running = v.running;
		c.total = v.total;
	} else if (h->roles & CGTABLE_HAS_LOAD) {
		count_threads(s, h, visit_fd(&vi), ino, &c);
	}

	/* The subdirectories: listed again only when inotify said they changed (or cannot say).
	 * kernfs keeps a directory's link count at 2 + its subdirectories: skip listing the ~25
	 * files of a leaf cgroup (most of them). */
	len = 0;
	n = vi.node == (size_t)-1 ? NULL : &s->cgs.nodes[vi.node];
	if (depth >= WALK_DEPTH_MAX) {
		len = 0;
	} else if (n && n->listed && !n->dirty && n->wd >= 0 && !s->all_dirty) {
		list = n->list;
		len = (ssize_t)n->list_len;
	} else {
		int dfd = visit_fd(&vi);

		if (dfd >= 0 && (fstat(dfd, &st) < 0 || st.st_nlink != 2))
			len = dir_list(dfd, &list);
		if (len < 0)
			len = 0;
		if (n) {
			free(n->list);
			n->list = len > 0 ? list : NULL;
			n->list_len = (size_t)len;
			n->listed = true;
			n->dirty = false;
		}
		s->stats.listed++;
	}
	/* A kept listing belongs to the node and outlives this loop: the nodes array may move
	 * while children are added, the listing does not. */
	it = list;
	if (n)
		list = NULL;
	for (ssize_t off = 0; off < len;) {
		const struct dirent64 *de = (const struct dirent64 *)(it + off);
		struct counts cc = {0, 0, 0};
		struct visit cv;
		int cfd;

		off += de->d_reclen;
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		/* the child's key comes with its name: no stat needed */
		cv.parent = &vi;
		cv.name = de->d_name;
		cv.own_fd = false;
		/* a known cgroup is visited without opening it; a new one is opened and kept */
		if (cg_cache_touch(&s->cgs, dev, de->d_ino, s->stats.pass + 1, &cv.node)) {
			cv.dirfd = s->cgs.nodes[cv.node].dirfd;
		} else {
			cfd = visit_fd(&vi) < 0
				      ? -ENOENT
				      : cg_cache_dir(&s->cgs, &s->budget, dev, de->d_ino, vi.dirfd,
						     de->d_name, s->stats.pass + 1, &cv.node);
			if (cfd < 0) {
				s->stats.vanished++; /* removed since the listing */
				continue;
			}
			cv.dirfd = cfd;
			cv.own_fd = cv.node == (size_t)-1 || s->cgs.nodes[cv.node].dirfd != cfd;
		}
		walk(s, h, cv, dev, de->d_ino, me, depth + 1, &cc);
		c.active += cc.active;
		c.running += cc.running;
		c.total += cc.total;
	}
	free(list);

	e = entry_at(s, idx); /* body may have moved while children were added */
	e->flags = h->roles;
	if (h->roles & CGTABLE_HAS_MEMORY) {
		e->mem_limit = me->mem;
		if (h->v2)
			e->swap_limit = me->swap;
		else
			e->swap_limit =
				me->memsw == UINT64_MAX ? UINT64_MAX : sat_sub(me->memsw, me->mem);
	}
	if (h->roles & CGTABLE_HAS_CPU) {
		e->quota_us = me->quota;
		e->period_us = me->quota == UINT64_MAX ? 0 : me->period;
	}
	if ((h->roles & CGTABLE_HAS_CPUSET) && me->has_cpuset)
		memcpy(entry_cpus(s, idx), me->cpus, (size_t)s->cpu_words * 8);
	else
		e->flags &= ~CGTABLE_HAS_CPUSET;
	if (h->roles & CGTABLE_HAS_LOAD) {
		e->running = c.running;
		e->total = c.total;
		/* the EWMA step needs R + D of the subtree: load[0] holds it until the pass ends */
		e->load[0] = c.active;
	}
	ret->active += c.active;
	ret->running += c.running;
	ret->total += c.total;
out:
	free(me);
	if (vi.own_fd)
		close(vi.dirfd);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct cgtable_entry *x = a, *y = b;

	return cgtable_key_cmp(x->dev, x->ino, y->dev, y->ino);
}

/*
 * Replace the stashed R + D counts by the stepped averages, from the previous table's values (or
 * by those values, unstepped, when !@step). The entries and the previous table are both sorted by
 * key: one merge, no search. The previous table is our own last one, or one a previous instance
 * left that seed_from_table() validated entry by entry.
 */
static void loads_step(struct sampler *s, bool step)
{
	struct cgtable_header ph;
	uint64_t pn = 0, j = 0;

	if (s->prev && cgtable_header_decode((struct span){(const char *)s->prev, s->prev_len},
					     s->prev_len, &ph) == 0)
		pn = ph.count;
	for (size_t i = 0; i < s->count; i++) {
		struct cgtable_entry *e = entry_at(s, i), prev;
		uint64_t active = e->load[0];
		int c = 1;

		if (!(e->flags & CGTABLE_HAS_LOAD)) {
			e->load[0] = 0;
			continue;
		}
		for (; j < pn; j++) {
			memcpy(&prev, s->prev + ph.header_size + j * ph.entry_size, sizeof(prev));
			c = cgtable_key_cmp(prev.dev, prev.ino, e->dev, e->ino);
			if (c >= 0)
				break;
		}
		/* a cgroup new since the last pass starts from 0, like the kernel at boot */
		if (c != 0 || !(prev.flags & CGTABLE_HAS_LOAD))
			memset(prev.load, 0, sizeof(prev.load));
		for (int k = 0; k < 3; k++) {
			uint64_t v =
				step ? loadavg_step(prev.load[k], s->exp[k], active) : prev.load[k];

			e->load[k] = v > CGTABLE_LOAD_MAX ? CGTABLE_LOAD_MAX : v;
		}
	}
}

static int table_write(struct sampler *s, unsigned char *file, size_t len)
{
	char tmp[64];
	size_t done = 0;
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), ".%s.%.*s.tmp", CGTABLE_FILE, (int)s->self_len, s->self_str);
	(void)unlinkat(s->rundirfd, tmp, 0);
	fd = openat(s->rundirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0644) < 0) /* whatever the umask: readable by all */
		r = -errno;
	while (r == 0 && done < len) {
		ssize_t n = write(fd, file + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = n < 0 ? -errno : -EIO;
		else
			done += (size_t)n;
	}
	if (close(fd) < 0 && r == 0)
		r = -errno;
	/* rename() swaps the whole file at once: readers have the old one or the new one */
	if (r == 0 && renameat(s->rundirfd, tmp, s->rundirfd, CGTABLE_FILE) < 0)
		r = -errno;
	if (r < 0)
		(void)unlinkat(s->rundirfd, tmp, 0);
	return r;
}

int sampler_pass(struct sampler *s, bool step)
{
	struct cgtable_header h;
	uint64_t t0 = now_ns(CLOCK_MONOTONIC), c0 = cpu_us(), t1;
	unsigned char *file;
	size_t len;
	int r;

	/* what changed in the tree since the last pass marks the directories to list again */
	(void)sampler_new_cgroups(s);
	s->limits_every = s->count / LIMITS_PER_PASS + 1;
	if (s->limits_every > LIMITS_EVERY_MAX)
		s->limits_every = LIMITS_EVERY_MAX;
	s->count = 0;
	s->stats.cgroups = s->stats.threads = s->stats.vanished = 0;
	s->stats.limits = s->stats.listed = 0;
	/* the first pass with BPF walks /proc: its counts seed the threads no event reached */
	if (s->bpf && !bpfcount_seeding(s->bpf) && bpfcount_read(s->bpf) < 0) {
		/* not expected (the map is ours); this pass counts from /proc instead */
		bpfcount_close(s->bpf);
		s->bpf = NULL;
		snprintf(s->bpf_err, sizeof(s->bpf_err), "cannot read the BPF counts");
	}
	for (unsigned i = 0; i < s->nhier; i++) {
		struct eff *top = calloc(1, sizeof(*top));
		struct counts c = {0, 0, 0};
		struct visit vi;
		uint64_t dev, ino;

		if (!top)
			return -ENOMEM;
		top->mem = top->memsw = top->swap = top->quota = UINT64_MAX;
		vi.parent = NULL;
		vi.name = s->hier[i].mount;
		vi.dirfd = cg_cache_root(&s->cgs, &s->budget, s->hier[i].mount, s->stats.pass + 1,
					 &vi.node, &dev, &ino);
		vi.own_fd = vi.dirfd >= 0 &&
			    (vi.node == (size_t)-1 || s->cgs.nodes[vi.node].dirfd != vi.dirfd);
		if (vi.dirfd >= 0)
			walk(s, &s->hier[i], vi, dev, ino, top, 0, &c);
		free(top);
		if (s->bpf && !bpfcount_seeding(s->bpf) && (s->hier[i].roles & CGTABLE_HAS_LOAD))
			s->stats.threads = c.total; /* threads covered, none read */
	}
	s->all_dirty = false;
	if (s->bpf && bpfcount_seeding(s->bpf))
		bpfcount_seed_done(s->bpf, s->procfd);
	else if (s->bpf)
		bpfcount_prune(s->bpf);
	t1 = now_ns(CLOCK_MONOTONIC);
	s->stats.walk_cpu_us = cpu_us() - c0;
	/* what was not seen in this pass is gone: close its fds */
	tid_cache_sweep(&s->tids, &s->budget, s->stats.pass + 1);
	cg_cache_sweep(&s->cgs, &s->budget, s->stats.pass + 1);
	qsort(s->body, s->count, esize(s), entry_cmp);

	/* Two hierarchies mounted at once can only collide on a bind mount we skipped, but a key
	 * must never appear twice: drop duplicates. */
	if (s->count > 1) {
		size_t o = 1;

		for (size_t i = 1; i < s->count; i++) {
			if (entry_cmp(entry_at(s, o - 1), entry_at(s, i)) == 0)
				continue;
			if (o != i)
				memcpy(entry_at(s, o), entry_at(s, i), esize(s));
			o++;
		}
		s->count = o;
	}
	loads_step(s, step);

	len = sizeof(h) + s->count * esize(s);
	file = malloc(len);
	if (!file)
		return -ENOMEM;
	for (size_t i = 0; i < s->count; i++)
		cgtable_entry_encode(entry_at(s, i), entry_cpus(s, i), s->cpu_words,
				     file + sizeof(h) + i * esize(s));
	s->generation++;
	cgtable_header_init(&h, s->cpu_words, s->count, s->period_ns, now_ns(CLOCK_BOOTTIME),
			    s->generation);
	cgtable_header_set_sampler(&h, sampler_kind(s));
	memcpy(file, &h, sizeof(h));
	r = table_write(s, file, len);

	free(s->prev);
	s->prev = file;
	s->prev_len = len;

	s->stats.pass++;
	s->stats.bytes = len;
	s->stats.cpu_us = cpu_us() - c0;
	s->stats.wall_us = (now_ns(CLOCK_MONOTONIC) - t0) / 1000;
	s->stats.walk_us = (t1 - t0) / 1000;
	s->stats.write_us = s->stats.wall_us - s->stats.walk_us;
	return r;
}

uint32_t sampler_kind(const struct sampler *s)
{
	return s->bpf ? CGTABLE_SAMPLER_BPF : CGTABLE_SAMPLER_PROC;
}

/* Resume the averages from a table a previous instance left, when it is at most 15 min old. */
static void seed_from_table(struct sampler *s)
{
	struct cgtable_header h;
	struct stat st;
	unsigned char *file;
	ssize_t n;
	int fd;

	fd = openat(s->rundirfd, CGTABLE_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(h) ||
	    st.st_size > (off_t)(sizeof(h) + CGTABLE_COUNT_MAX * cgtable_entry_size(1))) {
		close(fd);
		return;
	}
	file = malloc((size_t)st.st_size);
	n = file ? pread(fd, file, (size_t)st.st_size, 0) : -1;
	close(fd);
	if (n != st.st_size ||
	    cgtable_header_decode((struct span){(const char *)file, (size_t)n}, (uint64_t)n, &h) <
		    0 ||
	    now_ns(CLOCK_BOOTTIME) - h.heartbeat_ns > UINT64_C(900) * 1000000000) {
		free(file);
		return;
	}
	/* every entry checked once here: passes then merge with it without decoding */
	for (uint64_t i = 0; i < h.count; i++) {
		const char *p = (const char *)file + h.header_size + i * h.entry_size;
		struct cgtable_entry e, last = {.dev = 0};

		if (cgtable_entry_decode(&h, (struct span){p, h.entry_size}, &e, NULL) < 0 ||
		    (i && cgtable_key_cmp(last.dev, last.ino, e.dev, e.ino) >= 0)) {
			free(file);
			return;
		}
		last = e;
	}
	s->prev = file;
	s->prev_len = (size_t)n;
	s->generation = h.generation;
}

int sampler_init(struct sampler *s, const char *rundir, uint64_t period_ns, enum sampler_mode mode,
		 char *err, size_t errsize)
{
	int r;

	memset(s, 0, sizeof(*s));
	s->procfd = s->rundirfd = s->inofd = -1;
	s->self_len = (size_t)snprintf(s->self_str, sizeof(s->self_str), "%d", (int)getpid());
	sampler_set_period(s, period_ns);
	s->cpu_words = cgtable_cpu_words(cpus_possible());
	fd_budget_init(&s->budget);
	r = hier_find(s->hier, &s->nhier, err, errsize);
	if (r < 0)
		return r;
	s->procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->procfd < 0) {
		r = -errno;
		snprintf(err, errsize, "cannot open /proc: %m");
		return r;
	}
	if (mkdir(rundir, 0755) < 0 && errno != EEXIST) {
		r = -errno;
		snprintf(err, errsize, "cannot create run directory %s: %m", rundir);
		return r;
	}
	s->rundirfd = open(rundir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->rundirfd < 0) {
		r = -errno;
		snprintf(err, errsize, "cannot open run directory %s: %m", rundir);
		return r;
	}
	seed_from_table(s);
	/* without inotify new cgroups wait for the next pass: not an error */
	s->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (mode != SAMPLER_PROC) {
		const struct sampler_hier *load = NULL;

		for (unsigned i = 0; i < s->nhier; i++)
			if (s->hier[i].roles & CGTABLE_HAS_LOAD)
				load = &s->hier[i];
		if (!load) {
			snprintf(s->bpf_err, sizeof(s->bpf_err),
				 "no cpu hierarchy to key tasks by");
			r = -ENOENT;
		} else {
			/* Key tasks by the hierarchy the /proc walk groups them by: the v1 one of
			 * the cpu controller on a hybrid host (the empty cgroup2 there says
			 * nothing), the unified one on v2. */
			r = bpfcount_open(&s->bpf, load->v2, s->bpf_err, sizeof(s->bpf_err));
		}
		if (r < 0 && mode == SAMPLER_BPF) {
			snprintf(err, errsize, "%s", s->bpf_err);
			return r;
		}
	}
	return 0;
}

void sampler_done(struct sampler *s)
{
	if (s->procfd >= 0)
		close(s->procfd);
	if (s->rundirfd >= 0)
		close(s->rundirfd);
	if (s->inofd >= 0)
		close(s->inofd);
	free(s->wd_key);
	bpfcount_close(s->bpf);
	tid_cache_done(&s->tids);
	cg_cache_done(&s->cgs);
	free(s->body);
	free(s->prev);
	free(s->buf);
	memset(s, 0, sizeof(*s));
	s->procfd = s->rundirfd = s->inofd = -1;
}
