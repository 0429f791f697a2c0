/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The machine cgroup of this process, cached, and the per-request rendering context.
 *
 * Why a process-wide cache (a deviation from STYLE.md's "shim globals are only real_* and a TLS
 * flag"): cg_machine_find() parses /proc/self/mountinfo and /proc/self/cgroup, which costs more
 * than the whole virtual open is allowed to (DESIGN.md cost model). So one snapshot is kept:
 *   - a seqlock slot: writers bump seq to odd, write, bump to even; readers copy the snapshot out
 *     and retry (a few times) when seq moved. Readers never wait: on a busy slot they compute
 *     privately.
 *   - one writer at a time, claimed by a compare-and-swap of the writer's pid. The claim is never
 *     waited for, so a signal handler that interrupts a writer on the same thread cannot
 *     deadlock; a claim left by another process (fork while a parent thread was writing) is
 *     recognised by its pid and taken over.
 *   - keyed by getpid() (fork, vfork and posix_spawn children recompute) with a 1 s TTL (systemd
 *     and runtimes move processes between cgroups after fork).
 * No locks, no malloc: the slot is static memory, request memory comes from arenas mapped once
 * per process (mmap). A vfork() child that opens a virtual file anyway (POSIX allows it only
 * _exit and exec) writes the slot under its own pid; the pid key keeps the parent from using
 * that entry.
 */
#include <string.h>
#include <sys/auxv.h>
#include <time.h>

#include "raw.h"
#include "shim.h"

#define MACHINE_TTL_NS 1000000000LL

struct machine_slot {
	atomic_uint seq;
	atomic_int writer; /* pid of the process whose thread is writing; 0 = free */
	pid_t pid;
	long long stamp_ns;
	int rc;
	struct cg_machine m;
};

static struct machine_slot slot;

/*
 * Kept fds of the renders' inputs (source.h, struct src_fdcache): a pread on a kept fd instead of
 * openat + read + close per input file (DESIGN.md cost model). Kept at fd numbers >= 1000 (out
 * of the way of programs that expect low numbers); forgotten whenever the machine is looked up
 * again (TTL, fork, another cgroup), so a cgroup removed and made again under the same name is
 * never read through an old fd for more than the machine's TTL.
 */
#define KEPT_FD_MIN 1000
static struct src_fdcache kept_fds;

/*
 * Host texts that may be a little old (source.h, struct src_textcache): cpuinfo (static but for
 * "cpu MHz") and meminfo (of the host's numbers a render uses only MemTotal and SwapTotal; the
 * lines without a cgroup counterpart are copied through and may be up to this old, DESIGN.md cost
 * model: "host's static fields cached"). /proc/stat, uptime and loadavg stay fresh.
 */
#define HOST_TEXT_AGE_NS 1000000000ULL
static struct src_textcache kept_texts;

void shim_kept_init(void)
{
	src_fdcache_init(&kept_fds, KEPT_FD_MIN);
	(void)src_textcache_add(&kept_texts, "proc/cpuinfo", HOST_TEXT_AGE_NS);
	(void)src_textcache_add(&kept_texts, "proc/meminfo", HOST_TEXT_AGE_NS);
}

static long long mono_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static bool slot_read(pid_t pid, long long now, struct cg_machine *ret, int *ret_rc,
		      long long *ret_stamp)
{
	for (int tries = 0; tries < 4; tries++) {
		unsigned s1 = atomic_load_explicit(&slot.seq, memory_order_acquire);
		long long stamp;
		bool fresh;
		int rc;

		if (s1 & 1)
			return false;
		fresh = s1 != 0 && slot.pid == pid && now - slot.stamp_ns < MACHINE_TTL_NS &&
			now >= slot.stamp_ns;
		rc = slot.rc;
		stamp = slot.stamp_ns;
		if (fresh && rc >= 0)
			memcpy(ret, &slot.m, sizeof(*ret));
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&slot.seq, memory_order_relaxed) != s1)
			continue;
		if (!fresh)
			return false;
		*ret_rc = rc;
		*ret_stamp = stamp;
		return true;
	}
	return false;
}

static void slot_write(pid_t pid, long long now, const struct cg_machine *m, int rc)
{
	int w = atomic_load_explicit(&slot.writer, memory_order_relaxed);
	unsigned s;

	if (w == pid)
		return; /* another thread of ours (or the code we interrupted) is writing */
	if (!atomic_compare_exchange_strong(&slot.writer, &w, pid))
		return;
	s = atomic_load_explicit(&slot.seq, memory_order_relaxed) | 1;
	atomic_store_explicit(&slot.seq, s, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	slot.pid = pid;
	slot.stamp_ns = now;
	slot.rc = rc;
	if (rc >= 0)
		memcpy(&slot.m, m, sizeof(*m));
	atomic_store_explicit(&slot.seq, s + 1, memory_order_release);
	atomic_store_explicit(&slot.writer, 0, memory_order_release);
}

/* cg_machine_find_scratch() works in @scratch (not on the stack: signal handlers); -ENOBUFS
 * asks for more. Failures are cached too, for the same TTL (no cgroupfs: stay cheap). */
static int machine_get(const struct cg_src *src, char *scratch, size_t size, struct cg_machine *ret,
		       long long *ret_stamp)
{
	pid_t pid = raw_getpid();
	long long now = mono_ns();
	int rc;

	if (slot_read(pid, now, ret, &rc, ret_stamp))
		return rc;
	*ret_stamp = now;
	src_fdcache_invalidate(&kept_fds);
	rc = cg_machine_find_scratch(src, 0, shim_config.machine[0] ? shim_config.machine : NULL,
				     scratch, size, ret);
	/* The machine's start (a walk of its cgroup.procs) is cached with it; when that fails,
	 * uptime reads look for it themselves. */
	if (rc >= 0) {
		(void)cg_machine_resolve_start(src, ret);
		/* cpuset and quota with the machine, for its TTL: renders read only what moves */
		(void)cg_machine_resolve_limits(src, ret);
	}
	if (rc != -ENOBUFS)
		slot_write(pid, now, ret, rc);
	return rc;
}

/*
 * Request memory: the machine copy, and an area split into scratch and output. A few arenas are
 * mapped once per process and reused (claimed with a compare-and-swap, never waited for); when
 * all are taken, or an area must grow, a private mapping is made and unmapped afterwards. An
 * arena claimed by another thread when the process forked stays claimed in the child: the
 * child has one fewer, nothing else happens.
 */
struct shim_mem {
	struct cg_machine machine;
#ifdef SHIM_HAVE_TABLE
	struct cg_sample_cache sample_cache;
	struct cg_sample sample;
#endif
	char *area;
	size_t scratch, out;
	bool area_own; /* area is a private, grown mapping */
	int arena;     /* index, or -1 for a private block */
};

#define SCRATCH_MIN (256u << 10)
#define OUT_MIN (64u << 10)
#define AREA_MAX (64u << 20)
#define MEM_HEAD ((sizeof(struct shim_mem) + 4095) & ~(size_t)4095)
#define MEM_BLOCK (MEM_HEAD + SCRATCH_MIN + OUT_MIN)
#define ARENA_N 8

static struct {
	atomic_int busy;
	struct shim_mem *mem;
} arenas[ARENA_N];

static struct shim_mem *mem_claim(void)
{
	struct shim_mem *mem;
	int i;

	for (i = 0; i < ARENA_N; i++) {
		int free = 0;

		if (atomic_load_explicit(&arenas[i].busy, memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_strong(&arenas[i].busy, &free, 1))
			break;
	}
	mem = i < ARENA_N ? arenas[i].mem : NULL;
	if (!mem) {
		mem = raw_mmap(MEM_BLOCK);
		if (!mem) {
			if (i < ARENA_N)
				atomic_store_explicit(&arenas[i].busy, 0, memory_order_release);
			return NULL;
		}
		if (i < ARENA_N)
			arenas[i].mem = mem;
	}
	mem->area = (char *)mem + MEM_HEAD;
	mem->scratch = SCRATCH_MIN;
	mem->out = OUT_MIN;
	mem->area_own = false;
	mem->arena = i < ARENA_N ? i : -1;
	return mem;
}

static void mem_release(struct shim_mem *mem)
{
	if (mem->area_own)
		raw_munmap(mem->area, mem->scratch + mem->out);
	if (mem->arena >= 0)
		atomic_store_explicit(&arenas[mem->arena].busy, 0, memory_order_release);
	else
		raw_munmap(mem, MEM_BLOCK);
}

static int mem_area(struct shim_ctx *ctx, size_t scratch, size_t out)
{
	struct shim_mem *mem = ctx->mem;
	char *area;

	if (scratch + out > AREA_MAX)
		return -ENOBUFS;
	area = raw_mmap(scratch + out);
	if (!area)
		return -ENOMEM;
	if (mem->area_own)
		raw_munmap(mem->area, mem->scratch + mem->out);
	mem->area = area;
	mem->area_own = true;
	mem->scratch = scratch;
	mem->out = out;
	ctx->req.scratch = area;
	ctx->req.scratch_size = scratch;
	return 0;
}

int shim_ctx_open(struct shim_ctx *ctx)
{
	struct shim_mem *mem;
	long long stamp = 0;
	unsigned long hz;
	int r;

	memset(ctx, 0, sizeof(*ctx));
	ctx->src.rootfd = -1;
	mem = mem_claim();
	if (!mem)
		return -ENOMEM;
	ctx->mem = mem;
	ctx->src.rootfd = src_fdcache_root_hold(&kept_fds);
	ctx->root_held = ctx->src.rootfd >= 0;
	if (!ctx->root_held)
		ctx->src.rootfd = raw_openat(AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (ctx->src.rootfd < 0) {
		r = ctx->src.rootfd;
		goto fail;
	}
	ctx->src.fds = &kept_fds;
	ctx->src.texts = &kept_texts;
	ctx->src.clock_live = true;
	ctx->src.self_pid = raw_getpid();
	hz = getauxval(AT_CLKTCK);
	ctx->src.ticks_per_sec = hz ? hz : 100;
	for (;;) {
		r = machine_get(&ctx->src, mem->area, mem->scratch, &mem->machine, &stamp);
		if (r != -ENOBUFS)
			break;
		r = mem_area(ctx, mem->scratch * 4, mem->out);
		if (r < 0)
			break;
	}
	if (r < 0)
		goto fail;
	ctx->req.src = &ctx->src;
	ctx->req.machine = &mem->machine;
	ctx->req.config = &shim_config;
	ctx->req.sample = NULL;
#ifdef SHIM_HAVE_TABLE
	if (shim_sample_get(&ctx->src, &mem->machine, stamp, &mem->sample_cache, &mem->sample) == 0)
		ctx->req.sample = &mem->sample;
#endif
	ctx->req.scratch = mem->area;
	ctx->req.scratch_size = mem->scratch;
	return 0;
fail:
	shim_ctx_close(ctx);
	return r;
}

void shim_ctx_close(struct shim_ctx *ctx)
{
	if (ctx->root_held)
		src_fdcache_root_release(&kept_fds);
	else if (ctx->src.rootfd >= 0)
		raw_close(ctx->src.rootfd);
	ctx->root_held = false;
	ctx->src.rootfd = -1;
	if (ctx->mem)
		mem_release(ctx->mem);
	ctx->mem = NULL;
}

int shim_ctx_render(struct shim_ctx *ctx, const struct vfile *vf, pid_t pid, pid_t tid,
		    const char **ret_data, size_t *ret_len)
{
	for (;;) {
		struct shim_mem *mem = ctx->mem;
		struct buf out;
		size_t scratch = mem->scratch, outsz = mem->out;
		int r;

		ctx->req.pid = pid;
		ctx->req.tid = tid;
		buf_init(&out, mem->area + mem->scratch, mem->out);
		r = vfile_render(vf, &ctx->req, &out);
		if (r >= 0 && buf_result(&out) == 0) {
			*ret_data = out.data;
			*ret_len = out.len;
			return 0;
		}
		if (r >= 0 || r == -ENOBUFS) {
			if (out.need > out.cap)
				outsz = (out.need + 4096) * 2;
			else
				scratch *= 4;
			r = mem_area(ctx, scratch, outsz);
		}
		if (r < 0)
			return r;
	}
}

int shim_ctx_retry(struct shim_ctx *ctx, int r)
{
	if (r != -ENOBUFS)
		return r;
	return mem_area(ctx, ctx->mem->scratch * 4, ctx->mem->out);
}
