/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Loader and reader of cgprocd's eBPF counter (see bpfcount.h, bpf/loadcount.bpf.c).
 *
 * The programs are attached before the seeding walk, so a task is either reached by an event
 * after the attach or found by the walk, which only fills words no event wrote: no task falls
 * between. Seeded threads are counted here, in user space (`seeds`), not in the map: when an
 * event later replaces a seeded word, the program subtracts the old word from the map's count
 * (which never had it), and seed + map is right again; user space never writes a count the
 * programs update. The map holds one count per cgroup that ever had a counted task: a pass
 * reads it with BPF_MAP_LOOKUP_BATCH (one system call per 4096 cgroups), sorts it and looks
 * cgroups up by inode while it walks the tree for the limits.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpfcount.h"

#ifndef HAVE_BPF

int bpfcount_open(struct bpfcount **ret, bool unified, char *err, size_t errsize)
{
	(void)unified;
	*ret = NULL;
	snprintf(err, errsize, "cgprocd was built without BPF support (-Dbpf=disabled)");
	return -EOPNOTSUPP;
}
int bpfcount_read(struct bpfcount *b)
{
	(void)b;
	return -EOPNOTSUPP;
}
void bpfcount_get(struct bpfcount *b, uint64_t cgid, struct bpfcount_val *ret)
{
	(void)b;
	(void)cgid;
	*ret = (struct bpfcount_val){0, 0, 0};
}
void bpfcount_prune(struct bpfcount *b)
{
	(void)b;
}
bool bpfcount_seeding(const struct bpfcount *b)
{
	(void)b;
	return false;
}
void bpfcount_seed(struct bpfcount *b, uint64_t cgid, uint32_t tid, char state)
{
	(void)b;
	(void)cgid;
	(void)tid;
	(void)state;
}
void bpfcount_seed_done(struct bpfcount *b, int procfd)
{
	(void)b;
	(void)procfd;
}
void bpfcount_close(struct bpfcount *b)
{
	(void)b;
}

#else

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "bpf/loadcount.h"
#include "loadcount.skel.h"

#define COUNTS_MAX 65536 /* cgroups with a count; about 1 MiB of hash buckets */
#define BATCH 4096

struct snap {
	uint64_t cgid;
	struct lc_count c;
	bool hit; /* looked up by this pass */
};

struct bpfcount {
	struct loadcount *skel;
	int counts_fd;
	uint64_t *tasks; /* the programs' words by tid, mapped (BPF_F_MMAPABLE) */
	size_t ntasks, tasks_len;
	struct snap *snap;
	size_t n, cap;
	uint64_t *idle; /* cgids unseen and at 0 at the last prune, sorted */
	size_t nidle;
	uint64_t *keys;
	struct lc_count *vals;
	bool seeding;
	struct seeded *seeded; /* this seeding's words, until seed_done */
	size_t nseeded, capseeded;
	struct snap *seeds; /* seed counts by cgroup, sorted */
	size_t nseeds;
};

struct seeded {
	uint32_t tid;
	uint64_t word;
};

/* libbpf's messages: keep the last warning for our own error message instead of printing. */
static char last_msg[256];

static int on_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	last_msg[strcspn(last_msg, "\n")] = 0;
	return 0;
}

static long pid_max(void)
{
	FILE *f = fopen("/proc/sys/kernel/pid_max", "re");
	long v = 0;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

static int fail(struct bpfcount *b, int r, char *err, size_t errsize, const char *what)
{
	snprintf(err, errsize, "BPF sampler: %s: %s%s%s", what, strerror(r < 0 ? -r : r),
		 *last_msg ? "; libbpf: " : "", last_msg);
	bpfcount_close(b);
	return r < 0 ? r : -r;
}

int bpfcount_open(struct bpfcount **ret, bool unified, char *err, size_t errsize)
{
	struct bpfcount *b = calloc(1, sizeof(*b));
	long pm = pid_max();
	int r;

	*ret = NULL;
	last_msg[0] = 0;
	libbpf_set_print(on_libbpf_print);
	if (!b) {
		snprintf(err, errsize, "BPF sampler: out of memory");
		return -ENOMEM;
	}
	b->counts_fd = -1;
	b->keys = malloc(BATCH * sizeof(*b->keys));
	b->vals = malloc(BATCH * sizeof(*b->vals));
	if (!b->keys || !b->vals)
		return fail(b, -ENOMEM, err, errsize, "allocating");
	b->skel = loadcount__open();
	if (!b->skel)
		return fail(b, -errno, err, errsize, "opening the BPF object");
	b->skel->rodata->key_unified = unified;
	/* one word per possible tid: pid_max bounds them (raising it later leaves the new tids
	 * uncounted; see cgprocd(8)) */
	b->ntasks = (size_t)(pm > 65536 ? pm : 65536);
	bpf_map__set_max_entries(b->skel->maps.tasks, (uint32_t)b->ntasks);
	bpf_map__set_max_entries(b->skel->maps.counts, COUNTS_MAX);
	r = loadcount__load(b->skel);
	if (r < 0)
		return fail(b, r, err, errsize, "loading the programs");
	r = loadcount__attach(b->skel);
	if (r < 0)
		return fail(b, r, err, errsize, "attaching to the scheduler tracepoints");
	b->seeding = true;
	b->counts_fd = bpf_map__fd(b->skel->maps.counts);
	b->tasks_len = (b->ntasks * sizeof(uint64_t) + 4095) & ~(size_t)4095;
	b->tasks = mmap(NULL, b->tasks_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			bpf_map__fd(b->skel->maps.tasks), 0);
	if (b->tasks == MAP_FAILED) {
		b->tasks = NULL;
		return fail(b, -errno, err, errsize, "mapping the tasks array");
	}
	*ret = b;
	return 0;
}

static int snap_cmp(const void *x, const void *y)
{
	const struct snap *a = x, *b = y;

	return a->cgid < b->cgid ? -1 : a->cgid > b->cgid;
}

/* Sort by cgroup and add up the counts of equal cgroups. The new length. */
static size_t coalesce(struct snap *v, size_t n)
{
	size_t o = 0;

	if (!v || !n)
		return 0;
	qsort(v, n, sizeof(*v), snap_cmp);
	for (size_t i = 1; i < n; i++) {
		if (v[i].cgid == v[o].cgid) {
			v[o].c.active += v[i].c.active;
			v[o].c.running += v[i].c.running;
			v[o].c.total += v[i].c.total;
		} else {
			v[++o] = v[i];
		}
	}
	return o + 1;
}

static int push(struct bpfcount *b, uint64_t cgid, const struct lc_count *c)
{
	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 1024;
		struct snap *ns = realloc(b->snap, nc * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		b->snap = ns;
		b->cap = nc;
	}
	b->snap[b->n++] = (struct snap){cgid, *c, false};
	return 0;
}

bool bpfcount_seeding(const struct bpfcount *b)
{
	return b->seeding;
}

void bpfcount_seed(struct bpfcount *b, uint64_t cgid, uint32_t tid, char state)
{
	bool runnable = state == 'R', counted = runnable || state == 'D';
	uint64_t word =
		cgid << LC_SHIFT | (runnable ? LC_RUNNABLE : 0) | (counted ? LC_COUNTED : 0);
	uint64_t empty = 0;

	if (!b->seeding || !cgid || tid >= b->ntasks)
		return;
	if (b->nseeded == b->capseeded) {
		size_t nc = b->capseeded ? b->capseeded * 2 : 4096;
		struct seeded *ns = realloc(b->seeded, nc * sizeof(*ns));

		if (!ns)
			return;
		b->seeded = ns;
		b->capseeded = nc;
	}
	/* only where no event has written a word since the attach */
	if (__atomic_compare_exchange_n(&b->tasks[tid], &empty, word, false, __ATOMIC_SEQ_CST,
					__ATOMIC_SEQ_CST))
		b->seeded[b->nseeded++] = (struct seeded){tid, word};
}

void bpfcount_seed_done(struct bpfcount *b, int procfd)
{
	struct snap *seeds = NULL;
	size_t n = 0;

	b->seeding = false;
	if (b->nseeded)
		seeds = calloc(b->nseeded, sizeof(*seeds));
	for (size_t i = 0; seeds && i < b->nseeded; i++) {
		struct seeded *sd = &b->seeded[i];
		uint64_t expect = sd->word;
		char name[16];

		/* A thread that exited between its /proc read and our insert would keep its
		 * word (no event will come for it): take it back, unless an event replaced it. */
		snprintf(name, sizeof(name), "%u", sd->tid);
		if (faccessat(procfd, name, F_OK, 0) < 0 &&
		    __atomic_compare_exchange_n(&b->tasks[sd->tid], &expect, 0, false,
						__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			continue;
		seeds[n].cgid = sd->word >> LC_SHIFT;
		seeds[n].c.active = (sd->word & LC_COUNTED) != 0;
		seeds[n].c.running = (sd->word & LC_RUNNABLE) != 0;
		seeds[n].c.total = 1;
		n++;
	}
	free(b->seeded);
	b->seeded = NULL;
	b->nseeded = b->capseeded = 0;
	b->nseeds = coalesce(seeds, n);
	b->seeds = seeds;
}

int bpfcount_read(struct bpfcount *b)
{
	uint64_t token = 0, self_word = 0;
	bool first = true;
	uint32_t tid = (uint32_t)syscall(SYS_gettid);

	b->n = 0;
	for (;;) {
		__u32 count = BATCH;
		int r = bpf_map_lookup_batch(b->counts_fd, first ? NULL : &token, &token, b->keys,
					     b->vals, &count, NULL);
		int e = r < 0 ? errno : 0;

		first = false;
		for (__u32 i = 0; i < count; i++)
			if (push(b, b->keys[i], &b->vals[i]) < 0)
				return -ENOMEM;
		if (r < 0 && e == ENOENT)
			break; /* the last batch */
		if (r < 0)
			return -e;
	}
	for (size_t i = 0; i < b->nseeds; i++)
		if (push(b, b->seeds[i].cgid, &b->seeds[i].c) < 0)
			return -ENOMEM;
	b->n = coalesce(b->snap, b->n);
	/* We are running while we read: the kernel's load sample (at a tick) would almost never
	 * see us, and the /proc walk leaves itself out too. */
	if (tid < b->ntasks)
		self_word = __atomic_load_n(&b->tasks[tid], __ATOMIC_RELAXED);
	if (self_word) {
		struct snap key = {.cgid = self_word >> LC_SHIFT};
		struct snap *s = bsearch(&key, b->snap, b->n, sizeof(*b->snap), snap_cmp);

		if (s) {
			s->c.active -= (self_word & LC_COUNTED) != 0;
			s->c.running -= (self_word & LC_RUNNABLE) != 0;
			s->c.total--;
		}
	}
	return 0;
}

static uint64_t nonneg(int64_t v)
{
	return v > 0 ? (uint64_t)v : 0;
}

void bpfcount_get(struct bpfcount *b, uint64_t cgid, struct bpfcount_val *ret)
{
	struct snap key = {.cgid = cgid};
	struct snap *s = bsearch(&key, b->snap, b->n, sizeof(*b->snap), snap_cmp);

	*ret = (struct bpfcount_val){0, 0, 0};
	if (!s)
		return;
	s->hit = true;
	/* A count can be one off for a moment while events race on one task (a move against a
	 * switch): never publish a negative one. */
	ret->active = nonneg(s->c.active);
	ret->running = nonneg(s->c.running);
	ret->total = nonneg(s->c.total);
	if (ret->running > ret->total)
		ret->running = ret->total;
}

static int u64_cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

void bpfcount_prune(struct bpfcount *b)
{
	uint64_t *idle = malloc((b->n ? b->n : 1) * sizeof(*idle));
	size_t nidle = 0;

	if (!idle)
		return;
	/* Deleting a count that an event is about to change would lose the change: only delete
	 * cgroups that two passes in a row did not see, at 0 both times (removed cgroups). */
	for (size_t i = 0; i < b->n; i++) {
		struct snap *s = &b->snap[i];

		if (s->hit || s->c.total != 0)
			continue;
		if (b->idle && bsearch(&s->cgid, b->idle, b->nidle, sizeof(*b->idle), u64_cmp))
			(void)bpf_map_delete_elem(b->counts_fd, &s->cgid);
		else
			idle[nidle++] = s->cgid;
	}
	free(b->idle);
	b->idle = idle;
	b->nidle = nidle; /* sorted: taken from the sorted snapshot */
}

void bpfcount_close(struct bpfcount *b)
{
	if (!b)
		return;
	if (b->tasks)
		munmap(b->tasks, b->tasks_len);
	loadcount__destroy(b->skel);
	free(b->snap);
	free(b->seeded);
	free(b->seeds);
	free(b->idle);
	free(b->keys);
	free(b->vals);
	free(b);
}

#endif
