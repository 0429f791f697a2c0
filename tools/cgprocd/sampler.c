/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgprocd's sampling pass (see sampler.h): the walk of each hierarchy, thread counts, and the
 * daemon's set-up; a cgroup's limits are limits.c's, new-cgroup watches watch.c's, the table
 * publish.c's. Everything here tolerates the tree changing under it: a cgroup removed mid-walk
 * loses its subtree for this pass, a thread that exited is not counted; neither is an error.
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
#include <stdio.h>
#include <stdint.h>
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
#include "limits.h"
#include "publish.h"
#include "sampler.h"
#include "watch.h"
#include "../cgproc/util.h"

#define WALK_DEPTH_MAX 128

struct counts {
	uint64_t active, running, total; /* active = R + D */
};

static uint64_t cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* A whole file of any size into s->buf (tasks lists can be long). */
static ssize_t read_big(struct sampler *s, int dirfd, const char *name)
{
	ssize_t n;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	n = fd_read_to_end(fd, &s->buf, &s->buf_size, SIZE_MAX, read);
	close(fd);
	return n;
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
	/* The BPF sampler reads threads once, to seed: keeping their fds would only take the fd
	 * budget from the cgroup directories and limit files that every pass reads (past the
	 * budget a cgroup's files are opened anew each time, for good). */
	struct fd_budget none = {0}, *budget = s->bpf ? &none : &s->budget;
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
			if (tid_cache_state(&s->tids, budget, s->procfd, tid, s->stats.pass + 1,
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

/*
 * Visit @vi and its subtree. Children are added after their parent; once they are done their
 * counts are summed into it, so one pass aggregates the whole tree. An uncached directory fd is
 * closed here.
 */
static void walk(struct sampler *s, const struct sampler_hier *h, struct visit vi, uint64_t dev,
		 uint64_t ino, const struct eff *pe, int depth, struct counts *ret)
{
	/* 1 KiB of cpuset each: in the sampler, one per depth, not on a deep stack */
	struct eff *me = &((struct eff *)s->effs)[depth + 1];
	struct counts c = {0, 0, 0};
	/* the /proc walk reads each cgroup's thread list through its directory every pass */
	bool keep_dirs = (h->roles & CGTABLE_HAS_LOAD) && !s->bpf;
	struct cg_child *kids = NULL, *own_kids;
	struct cgtable_entry *e;
	ssize_t idx, nkids;
	struct cg_node *n;
	struct stat st;

	if ((idx = entry_new(s)) < 0)
		goto out;
	s->stats.cgroups++;
	e = entry_at(s, idx);
	e->dev = dev;
	e->ino = ino;

	watch_dir(s, &vi, dev, ino);
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
	nkids = 0;
	n = vi.node == (size_t)-1 ? NULL : &s->cgs.nodes[vi.node];
	if (depth >= WALK_DEPTH_MAX) {
		nkids = 0;
	} else if (n && n->listed && !n->dirty && n->wd >= 0 && !s->all_dirty) {
		kids = n->kids;
		nkids = (ssize_t)n->nkids;
	} else {
		int dfd = visit_fd(&vi);

		if (dfd >= 0 && (fstat(dfd, &st) < 0 || st.st_nlink != 2))
			nkids = dir_children(dfd, &kids);
		if (nkids < 0)
			nkids = 0;
		if (n) {
			free(n->kids);
			n->kids = kids;
			n->nkids = (size_t)nkids;
			n->listed = true;
			n->dirty = false;
		}
		s->stats.listed++;
	}
	/* A kept listing belongs to the node and outlives this loop: the nodes array may move
	 * while children are added, the listing does not. */
	if (n)
		own_kids = NULL;
	else
		own_kids = kids;
	for (ssize_t k = 0; k < nkids; k++) {
		struct cg_child *ch = &kids[k];
		struct counts cc = {0, 0, 0};
		struct visit cv;
		int cfd;

		/* The next children's nodes and limits are fetched into the CPU cache while this
		 * one is visited: between passes the kernel's work evicts them, and waiting for
		 * them was most of the walk's own time. */
		if (k + 2 < nkids && kids[k + 2].hint < s->cgs.count)
			__builtin_prefetch(&s->cgs.nodes[kids[k + 2].hint]);
		if (k + 1 < nkids && kids[k + 1].hint < s->cgs.count)
			__builtin_prefetch(s->cgs.nodes[kids[k + 1].hint].own);
		/* the child's key comes with its name: no stat needed */
		cv.parent = &vi;
		cv.name = (const char *)kids + ch->name;
		cv.own_fd = false;
		cv.node = ch->hint;
		/* a known cgroup is visited without opening it; a new one is opened */
		if (cg_cache_touch(&s->cgs, dev, ch->ino, s->stats.pass + 1, &cv.node)) {
			cv.dirfd = s->cgs.nodes[cv.node].dirfd;
		} else {
			cfd = visit_fd(&vi) < 0 ? -ENOENT
						: cg_cache_dir(&s->cgs, &s->budget, dev, ch->ino,
							       vi.dirfd, cv.name, s->stats.pass + 1,
							       keep_dirs, &cv.node);
			if (cfd < 0) {
				s->stats.vanished++; /* removed since the listing */
				continue;
			}
			cv.dirfd = cfd;
			cv.own_fd = cv.node == (size_t)-1 || s->cgs.nodes[cv.node].dirfd != cfd;
		}
		ch->hint = cv.node;
		walk(s, h, cv, dev, ch->ino, me, depth + 1, &cc);
		c.active += cc.active;
		c.running += cc.running;
		c.total += cc.total;
	}
	free(own_kids);

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
	if (vi.own_fd)
		close(vi.dirfd);
}

int sampler_pass(struct sampler *s, bool step)
{
	uint64_t t0 = sampler_clock_ns(CLOCK_MONOTONIC), c0 = cpu_us(), t1, tb;
	int r;

	/* what changed in the tree since the last pass marks the directories to list again */
	(void)sampler_new_cgroups(s);
	s->limits_every = s->count / LIMITS_PER_PASS + 1;
	if (s->limits_every > LIMITS_EVERY_MAX)
		s->limits_every = LIMITS_EVERY_MAX;
	s->count = 0;
	s->stats.cgroups = s->stats.threads = s->stats.vanished = 0;
	s->stats.limits = s->stats.listed = 0;
	s->stats.limits_us = 0;
	tb = sampler_clock_ns(CLOCK_MONOTONIC);
	/* the first pass with BPF walks /proc: its counts seed the threads no event reached */
	if (s->bpf && !bpfcount_seeding(s->bpf) && (r = bpfcount_read(s->bpf)) < 0) {
		/* the counts are incomplete (more cgroups than slots) or unreadable: this pass and
		 * the next count from /proc */
		bpfcount_close(s->bpf);
		s->bpf = NULL;
		snprintf(s->bpf_err, sizeof(s->bpf_err), "the BPF counts are unusable: %s",
			 r == -ENOSPC ? "more cgroups than its table has slots (CGPROCD_BPF_SLOTS)"
				      : strerror(-r));
	}
	s->stats.bpf_us = (sampler_clock_ns(CLOCK_MONOTONIC) - tb) / 1000;
	for (unsigned i = 0; i < s->nhier; i++) {
		struct eff *top;
		struct counts c = {0, 0, 0};
		struct visit vi;
		uint64_t dev, ino;

		if (!s->effs && !(s->effs = calloc(WALK_DEPTH_MAX + 2, sizeof(struct eff))))
			return -ENOMEM;
		top = s->effs;
		memset(top, 0, sizeof(*top));
		top->mem = top->memsw = top->swap = top->quota = UINT64_MAX;
		vi.parent = NULL;
		vi.name = s->hier[i].mount;
		vi.dirfd = cg_cache_root(&s->cgs, &s->budget, s->hier[i].mount, s->stats.pass + 1,
					 &vi.node, &dev, &ino);
		vi.own_fd = vi.dirfd >= 0 &&
			    (vi.node == (size_t)-1 || s->cgs.nodes[vi.node].dirfd != vi.dirfd);
		if (vi.dirfd >= 0)
			walk(s, &s->hier[i], vi, dev, ino, top, 0, &c);
		if (s->bpf && !bpfcount_seeding(s->bpf) && (s->hier[i].roles & CGTABLE_HAS_LOAD))
			s->stats.threads = c.total; /* threads covered, none read */
	}
	s->all_dirty = false;
	tb = sampler_clock_ns(CLOCK_MONOTONIC);
	if (s->bpf && bpfcount_seeding(s->bpf))
		bpfcount_seed_done(s->bpf, s->procfd);
	else if (s->bpf)
		bpfcount_prune(s->bpf);
	t1 = sampler_clock_ns(CLOCK_MONOTONIC);
	s->stats.bpf_us += (t1 - tb) / 1000;
	s->stats.walk_cpu_us = cpu_us() - c0;
	/* what was not seen in this pass is gone: close its fds */
	tid_cache_sweep(&s->tids, &s->budget, s->stats.pass + 1);
	cg_cache_sweep(&s->cgs, &s->budget, s->stats.pass + 1);
	r = publish_table(s, step);
	if (r == -ENOMEM)
		return r; /* no table this time: the pass did not happen */

	s->stats.pass++;
	s->stats.cpu_us = cpu_us() - c0;
	s->stats.wall_us = (sampler_clock_ns(CLOCK_MONOTONIC) - t0) / 1000;
	s->stats.walk_us = (t1 - t0) / 1000;
	s->stats.write_us = s->stats.wall_us - s->stats.walk_us;
	return r;
}

uint32_t sampler_kind(const struct sampler *s)
{
	return s->bpf ? CGTABLE_SAMPLER_BPF : CGTABLE_SAMPLER_PROC;
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
	publish_resume(s);
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
			r = bpfcount_open(mode == SAMPLER_BPF ? &s->bpf : &s->bpf_idle, load->v2,
					  mode == SAMPLER_BPF, s->bpf_err, sizeof(s->bpf_err));
		}
		if (r < 0 && mode == SAMPLER_BPF) {
			snprintf(err, errsize, "%s", s->bpf_err);
			return r;
		}
	}
	return 0;
}

int sampler_use_bpf(struct sampler *s, bool on)
{
	int r;

	if (on && s->bpf_idle) {
		r = bpfcount_attach(s->bpf_idle);
		if (r < 0)
			return r;
		s->bpf = s->bpf_idle;
		s->bpf_idle = NULL;
	} else if (!on && s->bpf) {
		bpfcount_detach(s->bpf);
		s->bpf_idle = s->bpf;
		s->bpf = NULL;
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
	bpfcount_close(s->bpf_idle);
	tid_cache_done(&s->tids);
	cg_cache_done(&s->cgs);
	free(s->body);
	free(s->spare);
	free(s->effs);
	free(s->walk_keys);
	free(s->sorted);
	free(s->prev);
	free(s->buf);
	memset(s, 0, sizeof(*s));
	s->procfd = s->rundirfd = s->inofd = -1;
}
