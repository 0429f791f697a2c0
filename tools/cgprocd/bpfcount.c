/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Loader and reader of cgprocd's eBPF counter (see bpfcount.h, bpf/loadcount.bpf.c).
 *
 * The programs are attached before the seeding walk, so a task is either reached by an event
 * after the attach or found by the walk, which only fills words no event wrote: no task falls
 * between. Seeded threads are counted here, in user space (`seeds`), not in the table: when an
 * event later replaces a seeded word, the program subtracts the old word from the table's count
 * (which never had it), and seed + table is right again; user space never writes a count the
 * programs update, except to free the slot of a removed cgroup. The slots table (mapped, no
 * system call) holds one count per cgroup that had a task change since it was created: a pass
 * copies the used slots, sorts them and looks cgroups up by inode while it walks the tree for
 * the limits.
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

int bpfcount_open(struct bpfcount **ret, bool unified, bool attach, char *err, size_t errsize)
{
	(void)unified;
	(void)attach;
	*ret = NULL;
	snprintf(err, errsize, "cgprocd was built without BPF support (-Dbpf=disabled)");
	return -EOPNOTSUPP;
}
int bpfcount_read(struct bpfcount *b)
{
	(void)b;
	return -EOPNOTSUPP;
}
int bpfcount_attach(struct bpfcount *b)
{
	(void)b;
	return -EOPNOTSUPP;
}
void bpfcount_detach(struct bpfcount *b)
{
	(void)b;
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
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "bpf/loadcount.h"
#include "loadcount.skel.h"

/*
 * 65536 slots of 32 bytes by default: a pass reads 2 MiB; room for ~40,000 cgroups before a
 * cgroup finds all its LC_PROBES slots taken. CGPROCD_BPF_SLOTS (a power of two, 16 to 2^24)
 * sets another size.
 */
#define SLOT_BITS 16

/* log2 of the table's size; 0: CGPROCD_BPF_SLOTS is not a power of two in range */
static unsigned slot_bits(void)
{
	const char *v = getenv("CGPROCD_BPF_SLOTS");
	char *end;
	unsigned long n;
	unsigned bits = 4;

	if (!v)
		return SLOT_BITS;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || n < 16 || n > (1ul << 24) || (n & (n - 1)))
		return 0;
	while ((1ul << bits) < n)
		bits++;
	return bits;
}

struct cnt {
	int64_t active, running, total;
};

struct snap {
	uint64_t cgid;
	struct cnt c;
	bool hit; /* looked up by this pass */
};

struct bpfcount {
	struct loadcount *skel;
	uint64_t *tasks; /* the programs' words by tid, mapped (BPF_F_MMAPABLE) */
	size_t ntasks, tasks_len;
	struct lc_slot *slots; /* the programs' counts by cgroup, mapped */
	size_t nslots, slots_len;
	struct snap *snap;
	size_t n, cap;
	uint64_t *idle; /* cgids unseen and at 0 at the last prune, sorted */
	size_t nidle;
	bool attached, seeding;
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

/* Whether the running kernel has kfunc @name (its BTF names it). */
static bool has_kfunc(const char *name)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool r = btf && btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) > 0;

	btf__free(btf);
	return r;
}

/* Map a BPF_F_MMAPABLE array of @size bytes read-write; its length in *@len. NULL: errno. */
static void *map_array(struct bpf_map *m, size_t size, size_t *len)
{
	void *p;

	*len = (size + 4095) & ~(size_t)4095;
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(m), 0);
	return p == MAP_FAILED ? NULL : p;
}

int bpfcount_open(struct bpfcount **ret, bool unified, bool attach, char *err, size_t errsize)
{
	struct bpfcount *b = calloc(1, sizeof(*b));
	long pm = pid_max();
	bool cast;
	int r;

	*ret = NULL;
	last_msg[0] = 0;
	libbpf_set_print(on_libbpf_print);
	if (!b) {
		snprintf(err, errsize, "BPF sampler: out of memory");
		return -ENOMEM;
	}
	b->skel = loadcount__open();
	if (!b->skel)
		return fail(b, -errno, err, errsize, "opening the BPF object");
	b->skel->rodata->key_unified = unified;
	b->skel->rodata->slot_bits = slot_bits();
	if (!b->skel->rodata->slot_bits)
		return fail(b, -EINVAL, err, errsize,
			    "CGPROCD_BPF_SLOTS wants a power of two from 16 to 16777216");
	b->nslots = (size_t)1 << b->skel->rodata->slot_bits;
	/* one word per possible tid: pid_max bounds them (raising it later leaves the new tids
	 * uncounted; see cgprocd(8)) */
	b->ntasks = (size_t)(pm > 65536 ? pm : 65536);
	bpf_map__set_max_entries(b->skel->maps.tasks, (uint32_t)b->ntasks);
	bpf_map__set_max_entries(b->skel->maps.slots, (uint32_t)b->nslots);
	cast = has_kfunc("bpf_rdonly_cast");
	bpf_program__set_autoload(b->skel->progs.on_wakeup, !cast);
	bpf_program__set_autoload(b->skel->progs.on_wakeup_cast, cast);
	r = loadcount__load(b->skel);
	if (r < 0)
		return fail(b, r, err, errsize, "loading the programs");
	b->tasks = map_array(b->skel->maps.tasks, b->ntasks * sizeof(uint64_t), &b->tasks_len);
	if (!b->tasks)
		return fail(b, -errno, err, errsize, "mapping the tasks array");
	b->slots =
		map_array(b->skel->maps.slots, b->nslots * sizeof(struct lc_slot), &b->slots_len);
	if (!b->slots)
		return fail(b, -errno, err, errsize, "mapping the slots array");
	if (attach && (r = bpfcount_attach(b)) < 0)
		return fail(b, r, err, errsize, "attaching to the scheduler tracepoints");
	*ret = b;
	return 0;
}

/* Forget the seeds and what the last passes read. */
static void forget(struct bpfcount *b)
{
	free(b->seeded);
	free(b->seeds);
	free(b->idle);
	b->seeded = NULL;
	b->seeds = NULL;
	b->idle = NULL;
	b->nseeded = b->capseeded = b->nseeds = b->nidle = b->n = 0;
}

int bpfcount_attach(struct bpfcount *b)
{
	int r;

	if (b->attached)
		return 0;
	/* Words and counts from an earlier attachment are stale: start empty and seed again.
	 * No program runs now (detached at least a pass ago, far longer than the RCU grace
	 * period after which a detached program no longer runs). */
	memset(b->tasks, 0, b->ntasks * sizeof(uint64_t));
	memset(b->slots, 0, b->nslots * sizeof(struct lc_slot));
	__atomic_store_n(&b->skel->bss->overflow, 0, __ATOMIC_RELAXED);
	forget(b);
	r = loadcount__attach(b->skel);
	if (r < 0) {
		loadcount__detach(b->skel);
		return r;
	}
	b->attached = true;
	b->seeding = true;
	return 0;
}

void bpfcount_detach(struct bpfcount *b)
{
	if (!b || !b->attached)
		return;
	loadcount__detach(b->skel);
	b->attached = false;
	b->seeding = false;
	forget(b);
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

static int push(struct bpfcount *b, uint64_t cgid, const struct cnt *c)
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
	uint64_t self_word = 0;
	uint32_t tid = (uint32_t)syscall(SYS_gettid);

	b->n = 0;
	/* a cgroup that found no slot has counts nowhere: the table cannot be trusted */
	if (__atomic_load_n(&b->skel->bss->overflow, __ATOMIC_RELAXED))
		return -ENOSPC;
	for (size_t i = 0; i < b->nslots; i++) {
		struct lc_slot *sl = &b->slots[i];
		uint64_t cgid = __atomic_load_n(&sl->cgid, __ATOMIC_ACQUIRE);
		struct cnt c;

		if (!cgid)
			continue;
		c.active = __atomic_load_n(&sl->active, __ATOMIC_RELAXED);
		c.running = __atomic_load_n(&sl->running, __ATOMIC_RELAXED);
		c.total = __atomic_load_n(&sl->total, __ATOMIC_RELAXED);
		if (push(b, cgid, &c) < 0)
			return -ENOMEM;
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
	uint64_t *idle = malloc((b->n ? b->n : 1) * sizeof(*idle)), *gone = NULL;
	size_t nidle = 0, ngone = 0;

	if (!idle)
		return;
	/* Freeing a slot that an event is about to change would lose the change: only free the
	 * slots of cgroups that two passes in a row did not see, at 0 both times (removed
	 * cgroups: no task is left to have an event). A cgroup's total is the sum over its slots
	 * (it has two when a freed slot came to lie before its own in its probe sequence). */
	for (size_t i = 0; i < b->n; i++) {
		struct snap *s = &b->snap[i];

		if (s->hit || s->c.total != 0)
			continue;
		if (b->idle && bsearch(&s->cgid, b->idle, b->nidle, sizeof(*b->idle), u64_cmp)) {
			if (!gone)
				gone = malloc(b->n * sizeof(*gone));
			if (gone)
				gone[ngone++] = s->cgid;
		} else {
			idle[nidle++] = s->cgid;
		}
	}
	for (size_t i = 0; ngone && i < b->nslots; i++) {
		struct lc_slot *sl = &b->slots[i];
		uint64_t cgid = __atomic_load_n(&sl->cgid, __ATOMIC_RELAXED);

		if (!cgid || !bsearch(&cgid, gone, ngone, sizeof(*gone), u64_cmp))
			continue;
		/* zero the counts before the slot is free for another cgroup to claim */
		__atomic_store_n(&sl->active, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&sl->running, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&sl->total, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&sl->cgid, 0, __ATOMIC_RELEASE);
	}
	free(gone);
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
	if (b->slots)
		munmap(b->slots, b->slots_len);
	loadcount__destroy(b->skel);
	free(b->snap);
	forget(b);
	free(b);
}

#endif
