/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The callers of cgprocfs, resolved once and kept. Resolving a caller from the host side costs
 * a few dozen syscalls (its environ and auxv for the configuration, its cgroup and namespace
 * links, the daemon's mountinfo, the machine's start: a walk of cgroup.procs, its limits: walks
 * up the cpuset and cpu trees), far more than rendering a file, so it is done about once a
 * second per caller instead of once per request.
 *
 * How fresh each item is:
 *   - identity: checked on every request. A kept caller is the process (or thread: FUSE reports
 *     the caller's thread id) its pid named when it was resolved, held as a pidfd (PIDFD_THREAD
 *     where the kernel has it, 6.9+; a thread-group pidfd for a leader before that) and polled:
 *     once that process has exited its pid may be reused, and the entry is dropped. Where no
 *     pidfd can be had (old kernels, a non-leader thread before 6.9) the start time from
 *     proc/<pid>/stat is the key, read again on every request.
 *   - the configuration (cgproc.conf plus the caller's allowed CGPROC_* settings), the machine
 *     cgroup, its start time, visible CPUs and CPU quota: at most CALLER_TTL_NS old, the shim's
 *     freshness (preload/machine.c): a process moved to another cgroup (cgroup.procs), a
 *     program exec'd under the same pid, a changed cpuset or quota shows within a second.
 *   - memory limits and usage, CPU time, the host's /proc files: read on every render (not
 *     here); the sampler's values: looked up again (one stat while unchanged) when the last
 *     look is SAMPLE_RECHECK_NS old, as the shim does.
 * A caller that could not be resolved (no cgroup hierarchy, ...) is kept as such for the same
 * time, so that the fallback to the host file stays cheap too.
 *
 * Thread-safe: the FUSE loop is multi-threaded. Entries sit in small sets, each with its own
 * mutex (held for a lookup, never for a resolution or any other I/O); a resolved snapshot is
 * immutable and reference-counted, so a request uses it in place while a newer one replaces it.
 *
 * Must not: keep anything about a caller beyond CALLER_TTL_NS, trust a pid alone, open a path a
 * caller chose (caller_config), or wait on I/O with a set's mutex held: one caller could then
 * stall every other caller of its set.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "callers.h"
#include "source/caller.h"
#include "vfile.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* linux/pidfd.h, 6.9 */
#endif

#define CALLER_SETS 64
#define MACHINE_MEMO 16
#define CALLER_WAYS 2
#define CALLER_TTL_NS 1000000000ULL
/* How long a sampler answer stands without looking at the table again (a stat per request
 * otherwise; the sampler publishes every 5 s): the shim's SAMPLE_RECHECK_NS (preload/sample.c). */
#define SAMPLE_RECHECK_NS 250000000ULL
#define ENVIRON_MAX (64 * 1024)
/* Reads of callers' environments in flight at once. Such a read reads the caller's memory, which
 * it may have mapped from a file system that never answers: at most this many workers can be
 * held that way (libfuse's loop has 10), and a caller resolved while they are busy is served
 * without its environment settings (the daemon's configuration) for that request only: its
 * snapshot is partial and resolved again on the next. */
#define ENVIRON_READERS_MAX 4
#define MACHINE_SCRATCH_MAX (64 * 1024 * 1024)

struct caller_slot {
	pid_t pid;
	int pidfd;		  /* -1: the process is known by start_ticks instead */
	uint64_t start_ticks;	  /* field 22 of proc/<pid>/stat when resolved */
	uint64_t stamp_ns;	  /* when snap was resolved */
	struct caller_snap *snap; /* NULL: an empty slot */
	struct cg_sample_cache sample_cache;
	uint64_t sample_checked_ns; /* when the table was last looked at; 0: never */
	bool has_sample;
	struct cg_sample sample; /* the answer then */
};

struct caller_set {
	pthread_mutex_t lock;
	struct caller_slot slot[CALLER_WAYS];
};

/* The machine-wide part of a resolution (its start: a walk of cgroup.procs; its visible CPUs and
 * quota: walks up the cpuset and cpu trees), shared by every caller of the same machine: a new
 * process in a known container pays only for its own files. */
struct memo_entry {
	uint64_t hash;
	uint64_t stamp_ns; /* when resolved; 0: empty */
	struct cg_machine m;
};

struct machine_memo {
	pthread_mutex_t lock;
	struct memo_entry e[MACHINE_MEMO];
};

struct caller_cache {
	const struct cg_src *src;
	struct cgproc_config base;
	atomic_int environ_readers;
	struct caller_set set[CALLER_SETS];
	struct machine_memo memo;
};

static int pid_start_ticks(const struct cg_src *src, pid_t pid, uint64_t *ret)
{
	char path[32], text[1024];
	size_t len;
	int r;

	snprintf(path, sizeof(path), "proc/%d/stat", (int)pid);
	r = src_read(src, path, text, sizeof(text), &len);
	if (r < 0)
		return r;
	return pidstat_starttime((struct span){text, len}, ret);
}

/* Hold on to the process @pid names now: a pidfd, else its start time. */
static int ident_take(const struct cg_src *src, pid_t pid, int *ret_pidfd, uint64_t *ret_start)
{
	long fd = syscall(SYS_pidfd_open, pid, PIDFD_THREAD);
	uint64_t start;
	int r;

	if (fd < 0 && errno == EINVAL)
		fd = syscall(SYS_pidfd_open, pid, 0); /* no PIDFD_THREAD: a leader's pidfd */
	if (fd >= 0) {
		*ret_pidfd = (int)fd;
		*ret_start = 0;
		return 0;
	}
	if (errno == ESRCH)
		return -ESRCH;
	r = pid_start_ticks(src, pid, &start);
	if (r < 0)
		return r;
	*ret_pidfd = -1;
	*ret_start = start;
	return 0;
}

/* Is the slot's process still the one that has its pid? */
static bool slot_alive(const struct caller_cache *c, const struct caller_slot *sl)
{
	uint64_t start;

	if (sl->pidfd >= 0) {
		struct pollfd p = {.fd = sl->pidfd, .events = POLLIN};

		/* readable once the process has exited (a pid is reused only after that) */
		return poll(&p, 1, 0) == 0;
	}
	return pid_start_ticks(c->src, sl->pid, &start) == 0 && start == sl->start_ticks;
}

static void snap_put(struct caller_snap *snap)
{
	if (snap && atomic_fetch_sub_explicit(&snap->refs, 1, memory_order_acq_rel) == 1)
		free(snap);
}

static void slot_clear(struct caller_slot *sl)
{
	snap_put(sl->snap);
	if (sl->pidfd >= 0)
		close(sl->pidfd);
	sl->snap = NULL;
	sl->pidfd = -1;
	sl->pid = 0;
}

/*
 * The configuration the caller's shim would run with, as far as a daemon serving every container
 * may follow it: the daemon's cgproc.conf, then the caller's CGPROC_* environment (unless it is
 * AT_SECURE) for CONFIG_KEYS_CALLER only (model/config.h). Never RUNDIR or LOG: those name host
 * paths, and this daemon runs as root. A MACHINE is kept only where the caller can already see
 * (cg_caller_machine(), in its own view of cgroup paths, translated here); otherwise it is
 * dropped and the machine is discovered as if it were unset.
 */
static bool caller_config(struct caller_cache *c, pid_t pid, struct cgproc_config *cfg)
{
	struct cg_mounts *mounts;
	char *env = malloc(ENVIRON_MAX);
	bool complete = false;
	unsigned set = 0;

	*cfg = c->base;
	if (env) {
		complete = atomic_fetch_add(&c->environ_readers, 1) < ENVIRON_READERS_MAX;
		if (complete)
			set = src_environ_apply(c->src, pid, cfg, CONFIG_KEYS_CALLER, env,
						ENVIRON_MAX);
		atomic_fetch_sub(&c->environ_readers, 1);
	}
	if (set & CONFIG_KEY_MACHINE) {
		char machine[sizeof(cfg->machine)];

		mounts = malloc(sizeof(*mounts));
		if (mounts && cg_caller_machine(c->src, pid, cfg->machine, env, ENVIRON_MAX, mounts,
						machine, sizeof(machine)) == 0)
			memcpy(cfg->machine, machine, sizeof(machine));
		else
			memcpy(cfg->machine, c->base.machine, sizeof(cfg->machine));
		free(mounts);
	}
	free(env);
	(void)vfile_config_resolve(cfg);
	return complete;
}

static int machine_find(const struct cg_src *src, pid_t pid, const char *override,
			struct cg_machine *ret)
{
	int r = cg_machine_find(src, pid, override, ret);

	/* a big mountinfo: retry with heap scratch */
	for (size_t size = 256 * 1024; r == -ENOBUFS && size <= MACHINE_SCRATCH_MAX; size *= 2) {
		char *scratch = malloc(size);

		if (!scratch)
			return -ENOMEM;
		r = cg_machine_find_scratch(src, pid, override, scratch, size, ret);
		free(scratch);
	}
	return r;
}

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool machine_same(const struct cg_machine *a, const struct cg_machine *b)
{
	if (a->rule != b->rule || a->init_pid != b->init_pid || a->cgroupns != b->cgroupns ||
	    a->pidns != b->pidns)
		return false;
	for (unsigned i = 0; i < _CG_MAX; i++) {
		if (cg_machine_mount(a, i) && a->v2[i] != b->v2[i])
			return false;
		for (unsigned f = 0; f < _CG_MACHINE_FIELD_MAX; f++)
			if (!str_same(cg_machine_str(a, f, i), cg_machine_str(b, f, i)))
				return false;
	}
	return true;
}

/* @m's start and limits from the memo when resolved less than CALLER_TTL_NS ago; their age in
 * @ret_stamp. */
static bool memo_get(struct caller_cache *c, uint64_t hash, uint64_t now, struct cg_machine *m,
		     uint64_t *ret_stamp)
{
	bool hit = false;

	pthread_mutex_lock(&c->memo.lock);
	for (unsigned i = 0; i < MACHINE_MEMO && !hit; i++) {
		const struct memo_entry *e = &c->memo.e[i];

		if (e->stamp_ns == 0 || e->hash != hash || now - e->stamp_ns >= CALLER_TTL_NS ||
		    !machine_same(&e->m, m))
			continue;
		m->start_known = e->m.start_known;
		m->start_is_host = e->m.start_is_host;
		m->start_ticks = e->m.start_ticks;
		m->limits_known = e->m.limits_known;
		m->limits_visible = e->m.limits_visible;
		m->limits_quota_us = e->m.limits_quota_us;
		m->limits_period_us = e->m.limits_period_us;
		*ret_stamp = e->stamp_ns;
		hit = true;
	}
	pthread_mutex_unlock(&c->memo.lock);
	return hit;
}

static void memo_put(struct caller_cache *c, uint64_t hash, uint64_t stamp,
		     const struct cg_machine *m)
{
	struct memo_entry *victim = &c->memo.e[0];

	pthread_mutex_lock(&c->memo.lock);
	for (unsigned i = 0; i < MACHINE_MEMO; i++) {
		struct memo_entry *e = &c->memo.e[i];

		if (e->stamp_ns != 0 && e->hash == hash && machine_same(&e->m, m)) {
			victim = e; /* the same machine: replace */
			break;
		}
		if (e->stamp_ns < victim->stamp_ns)
			victim = e; /* else the oldest (or an empty one) */
	}
	victim->hash = hash;
	victim->stamp_ns = stamp;
	victim->m = *m;
	pthread_mutex_unlock(&c->memo.lock);
}

/* Everything about caller @pid, freshly read but for the machine-wide part, which may come from
 * the memo: @ret_stamp is the time of the oldest item. One reference, for the caller of this. */
static struct caller_snap *snap_resolve(struct caller_cache *c, pid_t pid, uint64_t now,
					uint64_t *ret_stamp)
{
	struct caller_snap *snap = malloc(sizeof(*snap));
	uint64_t hash;
	int r;

	if (!snap)
		return NULL;
	atomic_init(&snap->refs, 1);
	snap->machine_hash = 0;
	*ret_stamp = now;
	snap->partial = !caller_config(c, pid, &snap->config);
	r = machine_find(c->src, pid, snap->config.machine[0] ? snap->config.machine : NULL,
			 &snap->machine);
	if (r >= 0) {
		hash = cg_machine_hash(&snap->machine, FNV1A_INIT);
		snap->machine_hash = hash;
		if (!memo_get(c, hash, now, &snap->machine, ret_stamp)) {
			/* else found per read */
			(void)cg_machine_resolve_start(c->src, &snap->machine);
			/* cpuset and quota with the machine, for its TTL, as the shim keeps them */
			(void)cg_machine_resolve_limits(c->src, &snap->machine);
			memo_put(c, hash, now, &snap->machine);
		}
	}
	snap->r = r < 0 ? r : 0;
	return snap;
}

/* Under the set lock: a reference to @sl's snapshot into @ret, with the sampler's values when
 * they were looked at less than SAMPLE_RECHECK_NS ago. Otherwise true, and @ret_cache holds the
 * slot's kept answer for sample_refresh(), which runs without the lock. */
static bool slot_use(struct caller_slot *sl, uint64_t now, struct caller *ret,
		     struct cg_sample_cache *ret_cache)
{
	struct caller_snap *snap = sl->snap;

	atomic_fetch_add_explicit(&snap->refs, 1, memory_order_relaxed);
	ret->snap = snap;
	if (sl->sample_checked_ns != 0 && now - sl->sample_checked_ns < SAMPLE_RECHECK_NS) {
		ret->has_sample = sl->has_sample;
		if (sl->has_sample)
			ret->sample = sl->sample;
		return false;
	}
	*ret_cache = sl->sample_cache;
	return true;
}

/*
 * The sampler's values for @ret's snapshot, looked up with no lock held: the table is the
 * daemon's own (its run dir, never a caller's), but its file system may be slow, and a lock
 * shared with other callers must not wait on I/O. The answer goes back into @sl if it still
 * holds that snapshot (the reference @ret holds keeps the pointer from being reused).
 */
static void sample_refresh(const struct caller_cache *c, struct caller_set *set,
			   struct caller_slot *sl, uint64_t now, struct cg_sample_cache *cache,
			   struct caller *ret)
{
	struct caller_snap *snap = ret->snap;
	struct cg_sample sample;
	bool has;

	has = snap->r >= 0 &&
	      cg_sample_lookup_cached(c->src, &snap->machine, c->base.rundir, cache, &sample) == 0;
	ret->has_sample = has;
	if (has)
		ret->sample = sample;
	pthread_mutex_lock(&set->lock);
	if (sl->snap == snap) {
		sl->sample_cache = *cache;
		sl->has_sample = has;
		if (has)
			sl->sample = sample;
		sl->sample_checked_ns = now;
	}
	pthread_mutex_unlock(&set->lock);
}

int caller_cache_new(const struct cg_src *src, const struct cgproc_config *base,
		     struct caller_cache **ret)
{
	struct caller_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->src = src;
	c->base = *base;
	pthread_mutex_init(&c->memo.lock, NULL);
	for (unsigned i = 0; i < CALLER_SETS; i++) {
		pthread_mutex_init(&c->set[i].lock, NULL);
		for (unsigned w = 0; w < CALLER_WAYS; w++)
			c->set[i].slot[w].pidfd = -1;
	}
	*ret = c;
	return 0;
}

void caller_cache_free(struct caller_cache *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < CALLER_SETS; i++) {
		for (unsigned w = 0; w < CALLER_WAYS; w++)
			slot_clear(&c->set[i].slot[w]);
		pthread_mutex_destroy(&c->set[i].lock);
	}
	pthread_mutex_destroy(&c->memo.lock);
	free(c);
}

int caller_get(struct caller_cache *c, pid_t pid, struct caller *ret)
{
	struct caller_set *set;
	struct caller_slot *victim = NULL;
	struct cg_sample_cache cache;
	struct caller_snap *snap;
	uint64_t now, start, stamp;
	int pidfd, r;

	if (pid <= 0)
		return -ESRCH;
	set = &c->set[(unsigned)pid % CALLER_SETS];
	now = (uint64_t)src_mono_ns();
	pthread_mutex_lock(&set->lock);
	for (unsigned w = 0; w < CALLER_WAYS; w++) {
		struct caller_slot *sl = &set->slot[w];

		if (!sl->snap || sl->pid != pid)
			continue;
		if (now - sl->stamp_ns < CALLER_TTL_NS && !sl->snap->partial && slot_alive(c, sl)) {
			bool refresh = slot_use(sl, now, ret, &cache);

			pthread_mutex_unlock(&set->lock);
			if (refresh)
				sample_refresh(c, set, sl, now, &cache, ret);
			return 0;
		}
		slot_clear(sl); /* too old, or another process has the pid now */
	}
	pthread_mutex_unlock(&set->lock);

	/* Identity first: whatever is read after it belongs to that process or is dropped. */
	r = ident_take(c->src, pid, &pidfd, &start);
	if (r < 0)
		return r;
	snap = snap_resolve(c, pid, now, &stamp);
	if (!snap) {
		if (pidfd >= 0)
			close(pidfd);
		return -ENOMEM;
	}
	/* Exited meanwhile: what was read may be of the pid's next process. */
	if (!slot_alive(c,
			&(struct caller_slot){.pid = pid, .pidfd = pidfd, .start_ticks = start})) {
		snap_put(snap);
		if (pidfd >= 0)
			close(pidfd);
		return -ESRCH;
	}

	pthread_mutex_lock(&set->lock);
	/* the same pid (a concurrent request got there first), else an empty slot, else the
	 * oldest */
	for (unsigned w = 0; w < CALLER_WAYS && !victim; w++)
		if (set->slot[w].snap && set->slot[w].pid == pid)
			victim = &set->slot[w];
	for (unsigned w = 0; w < CALLER_WAYS && !victim; w++)
		if (!set->slot[w].snap)
			victim = &set->slot[w];
	if (!victim) {
		victim = &set->slot[0];
		for (unsigned w = 1; w < CALLER_WAYS; w++)
			if (set->slot[w].stamp_ns < victim->stamp_ns)
				victim = &set->slot[w];
	}
	slot_clear(victim);
	victim->pid = pid;
	victim->pidfd = pidfd;
	victim->start_ticks = start;
	victim->stamp_ns = stamp; /* the age of its oldest item (the machine's, from the memo) */
	victim->snap = snap;	  /* the cache's reference: the one snap_resolve() made */
	cg_sample_cache_init(&victim->sample_cache);
	victim->sample_checked_ns = 0;
	(void)slot_use(victim, now, ret, &cache);
	pthread_mutex_unlock(&set->lock);
	sample_refresh(c, set, victim, now, &cache, ret);
	return 0;
}

void caller_put(struct caller *c)
{
	snap_put(c->snap);
	c->snap = NULL;
}
