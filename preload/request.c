/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One request (a virtual open, a rewind, a libc answer): its rendering context (root fd, kept
 * inputs, the machine cgroup of this process, sampler values) and its memory. Owns shim.req
 * (state.h): the request arenas and the kept input fds and host texts.
 *
 * Must not: decide what is served (identify.c, snapcache.c) or touch the caller's fds.
 *
 * Why the machine is cached per process: cg_machine_find() parses /proc/self/mountinfo and
 * /proc/self/cgroup, which costs more than the whole virtual open is allowed to (DESIGN.md cost
 * model). So the snapshot is kept in the request arenas below, one per arena:
 *   - an arena is owned by one request at a time (claimed with a compare-and-swap, never waited
 *     for), so its snapshot needs no seqlock and is used in place: no copy per request, and no
 *     second, shared copy of it in every process (its pages are RSS of every process; the struct is
 * compact, its used part ~2 KiB on a typical host, see source.h). A process that opens virtual
 * files from several threads at once computes one snapshot per arena in use.
 *   - keyed by getpid() (fork, vfork and posix_spawn children recompute) with a 1 s TTL (systemd
 *     and runtimes move processes between cgroups after fork).
 * No locks, no malloc: request memory comes from arenas mapped once per process (mmap). A
 * vfork() child that opens a virtual file anyway (POSIX allows it only _exit and exec) writes an
 * arena's snapshot under its own pid; the pid key keeps the parent from using it.
 */
#include <string.h>
#include <sys/auxv.h>
#include <time.h>

#include "raw.h"
#include "shim.h"

#define MACHINE_TTL_NS 1000000000LL

/*
 * Kept fds of the renders' inputs (source.h, struct src_fdcache): a pread on a kept fd instead of
 * openat + read + close per input file (DESIGN.md cost model). Kept at fd numbers >= 1000 (out
 * of the way of programs that expect low numbers); forgotten whenever the machine is looked up
 * again (TTL, fork, another cgroup), so a cgroup removed and made again under the same name is
 * never read through an old fd for more than the machine's TTL.
 */
#define KEPT_FD_MIN 1000

/*
 * Set up by the first request, not at process start (a process that serves no file pays nothing).
 * Once, without waiting: the first request claims it; a request that finds it under way (another
 * thread, a signal handler) goes without the kept fds and texts.
 */

static void kept_init(void)
{
	char *buf;

	src_fdcache_init(&shim.req.fds, KEPT_FD_MIN);
	buf = raw_mmap(2 * SRC_TEXTCACHE_MAX);
	if (!buf)
		return; /* no kept texts: the files are read each time */
	src_textcache_add_host(&shim.req.texts, buf);
}

static bool kept_ready(void)
{
	int s = atomic_load_explicit(&shim.req.kept_state, memory_order_acquire);

	if (s == 0 && atomic_compare_exchange_strong(&shim.req.kept_state, &s, 1)) {
		kept_init();
		atomic_store_explicit(&shim.req.kept_state, 2, memory_order_release);
		return true;
	}
	return s == 2;
}

/*
 * Request memory: the machine snapshot, scratch and output. A few arenas are mapped once per
 * process and reused (claimed with a compare-and-swap, never waited for); when all are taken a
 * private block is mapped, and when scratch or output must grow a private area is mapped for
 * both; either is unmapped afterwards. An arena claimed by another thread when the process
 * forked stays claimed in the child: the child has one fewer, nothing else happens.
 *
 * A block: the head (struct shim_mem), OUT_MIN bytes, then the scratch. The output begins right
 * after the part of the machine in use (cg_machine_size(): the rest of its string pool is never
 * touched by the core) and runs to the scratch, so that the head's first page holds the fields,
 * the machine (~2 KiB) and the first ~2 KiB of output: the pages a process keeps dirty
 * are that one, the scratch's first (the sampler values, then the render's input text) and more
 * only for larger texts. The rest of the head's pages is never written.
 */
struct shim_mem {
	bool machine_kept; /* machine, machine_rc are those of machine_pid at machine_stamp */
	pid_t machine_pid;
	int machine_rc;
	long long machine_stamp;
	char *scratch_at, *out_at;
	size_t scratch, out;
	bool area_own; /* scratch and out are a private, grown mapping (at scratch_at) */
	int arena;     /* index, or -1 for a private block */
	/* last: compact (source.h), only its header and the used start of its pool are written */
	struct cg_machine machine;
};

#define SCRATCH_MIN (256u << 10)
#define OUT_MIN (64u << 10)
#define AREA_MAX (64u << 20)
#define MEM_HEAD ((sizeof(struct shim_mem) + 4095) & ~(size_t)4095)
#define MEM_BLOCK (MEM_HEAD + OUT_MIN + SCRATCH_MIN)
/* The request's sampler values at the start of the scratch, the render's scratch after them. */
#define SAMPLE_SPACE ((sizeof(struct cg_sample) + 63) & ~(size_t)63)

static struct shim_mem *mem_claim(void)
{
	struct shim_mem *mem;
	int i;

	for (i = 0; i < SHIM_ARENA_N; i++) {
		int free = 0;

		if (atomic_load_explicit(&shim.req.arenas[i].busy, memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_strong(&shim.req.arenas[i].busy, &free, 1))
			break;
	}
	mem = i < SHIM_ARENA_N ? shim.req.arenas[i].mem : NULL;
	if (!mem) {
		mem = raw_mmap(MEM_BLOCK);
		if (!mem) {
			if (i < SHIM_ARENA_N)
				atomic_store_explicit(&shim.req.arenas[i].busy, 0,
						      memory_order_release);
			return NULL;
		}
		if (i < SHIM_ARENA_N)
			shim.req.arenas[i].mem = mem;
	}
	mem->scratch_at = (char *)mem + MEM_HEAD + OUT_MIN;
	mem->scratch = SCRATCH_MIN;
	mem->out_at = NULL; /* mem_out(), once the machine is known */
	mem->out = 0;
	mem->area_own = false;
	mem->arena = i < SHIM_ARENA_N ? i : -1;
	return mem;
}

static void mem_release(struct shim_mem *mem)
{
	if (mem->area_own)
		raw_munmap(mem->scratch_at, mem->scratch + mem->out);
	if (mem->arena >= 0)
		atomic_store_explicit(&shim.req.arenas[mem->arena].busy, 0, memory_order_release);
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
	if (ctx->req.sample) {
		memcpy(area, ctx->req.sample, sizeof(struct cg_sample));
		ctx->req.sample = (struct cg_sample *)area;
	}
	if (mem->area_own)
		raw_munmap(mem->scratch_at, mem->scratch + mem->out);
	mem->scratch_at = area;
	mem->out_at = area + scratch;
	mem->area_own = true;
	mem->scratch = scratch;
	mem->out = out;
	ctx->req.scratch = area + SAMPLE_SPACE;
	ctx->req.scratch_size = scratch - SAMPLE_SPACE;
	return 0;
}

/* cg_machine_find_scratch() works in the arena's scratch (not on the stack: signal handlers);
 * -ENOBUFS asks for more. Failures are kept too, for the same TTL (no cgroupfs: stay cheap). */
static int machine_get(const struct cg_src *src, struct shim_mem *mem, long long *ret_stamp)
{
	pid_t pid = src->self_pid; /* getpid() of this request (shim_ctx_open) */
	long long now = src_mono_ns();
	int rc;

	if (mem->machine_kept && mem->machine_pid == pid && now >= mem->machine_stamp &&
	    now - mem->machine_stamp < MACHINE_TTL_NS) {
		*ret_stamp = mem->machine_stamp;
		return mem->machine_rc;
	}
	/* the lookup resolves paths through the root: the kept one must still be "/" (a failure
	 * is not kept: the next request opens "/" again) */
	rc = src_root_check(src);
	if (rc < 0)
		return rc;
	mem->machine_kept = false;
	*ret_stamp = now;
	src_fdcache_invalidate(&shim.req.fds);
	rc = cg_machine_find_scratch(src, 0, shim.config.machine[0] ? shim.config.machine : NULL,
				     mem->scratch_at, mem->scratch, &mem->machine);
	/* The machine's start (a walk of its cgroup.procs) is cached with it; when that fails,
	 * uptime reads look for it themselves. */
	if (rc >= 0) {
		(void)cg_machine_resolve_start(src, &mem->machine);
		/* cpuset and quota with the machine, for its TTL: renders read only what moves */
		(void)cg_machine_resolve_limits(src, &mem->machine);
	}
	if (rc != -ENOBUFS) {
		mem->machine_pid = pid;
		mem->machine_stamp = now;
		mem->machine_rc = rc;
		mem->machine_kept = true;
	}
	/* The lookup parsed mountinfo in the scratch (several pages on a host with many mounts);
	 * renders need only a page or two of it, so the rest is not kept dirty in every process
	 * (each kept page is RSS added to every process). Page-aligned: an arena's scratch starts a
	 * page. */
	raw_madvise_dontneed(mem->scratch_at, mem->scratch & ~(size_t)4095);
	return rc;
}

/* The sampler's values at the start of the scratch. Its own frame: the private copy of the
 * process's sample cache (1 KiB) is not on the stack under the machine lookup's deeper frames. */
__attribute__((noinline)) static int ctx_sample(struct shim_ctx *ctx, long long stamp)
{
	struct cg_sample_cache priv;
	struct cg_sample *sample = (struct cg_sample *)ctx->mem->scratch_at;
	int r;

	r = shim_sample_get(&ctx->src, &ctx->mem->machine, stamp, &priv, sample);
	if (r == 0)
		ctx->req.sample = sample;
	return r == -ESTALE ? r : 0; /* the kept root is not ours: fail the request */
}

int shim_ctx_open(struct shim_ctx *ctx, pid_t self)
{
	struct shim_mem *mem;
	long long stamp = 0;
	unsigned long hz;
	bool have_kept;
	int r;

	memset(ctx, 0, sizeof(*ctx));
	ctx->src.rootfd = -1;
	mem = mem_claim();
	if (!mem)
		return -ENOMEM;
	ctx->mem = mem;
	have_kept = kept_ready();
	ctx->src.rootfd = have_kept ? src_fdcache_root_hold(&shim.req.fds) : -EAGAIN;
	ctx->root_held = ctx->src.rootfd >= 0;
	ctx->root_kept = ctx->src.rootfd;
	/* checked only when a path is resolved through it (source.h): most requests are served
	 * from kept fds and texts alone */
	ctx->src.root_unchecked = ctx->root_held;
	if (!ctx->root_held)
		ctx->src.rootfd = raw_openat(AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (ctx->src.rootfd < 0) {
		r = ctx->src.rootfd;
		goto fail;
	}
	ctx->src.fds = have_kept ? &shim.req.fds : NULL;
	ctx->src.texts = have_kept ? &shim.req.texts : NULL;
	ctx->src.clock_live = true;
	if (shim_host_inputs())
		ctx->src.inputs = &VFILE_HOST_INPUTS "/"[1];
	ctx->src.self_pid = self > 0 ? self : raw_getpid();
	hz = getauxval(AT_CLKTCK);
	ctx->src.ticks_per_sec = hz ? hz : 100;
	for (;;) {
		r = machine_get(&ctx->src, mem, &stamp);
		if (r != -ENOBUFS)
			break;
		r = mem_area(ctx, mem->scratch * 4, OUT_MIN);
		if (r < 0)
			break;
	}
	/* an arena's output: after the machine as it is now (the lookup may have changed it) */
	if (!mem->area_own) {
		uintptr_t at = ((uintptr_t)&mem->machine + cg_machine_size(&mem->machine) + 63) &
			       ~(uintptr_t)63;

		mem->out_at = (char *)at;
		mem->out = (size_t)((uintptr_t)mem + MEM_HEAD + OUT_MIN - at);
	}
	/* without a known start, uptime renders walk the machine's cgroup.procs through the root
	 * (source/uptime.c), outside the kept fds: check it now */
	if (r >= 0 && !mem->machine.start_known)
		r = src_root_check(&ctx->src);
	if (r < 0)
		goto fail;
	ctx->req.src = &ctx->src;
	ctx->req.machine = &mem->machine;
	ctx->req.config = &shim.config;
	ctx->req.sample = NULL;
	r = ctx_sample(ctx, stamp);
	if (r < 0)
		goto fail;
	ctx->req.scratch = mem->scratch_at + SAMPLE_SPACE;
	ctx->req.scratch_size = mem->scratch - SAMPLE_SPACE;
	return 0;
fail:
	shim_ctx_close(ctx);
	return r;
}

void shim_ctx_close(struct shim_ctx *ctx)
{
	if (ctx->root_held)
		src_fdcache_root_release(&shim.req.fds);
	/* our own "/": opened here, or by src_root_check() in place of a kept one not ours */
	if (ctx->src.rootfd >= 0 && (!ctx->root_held || ctx->src.rootfd != ctx->root_kept))
		raw_close(ctx->src.rootfd);
	ctx->root_held = false;
	ctx->src.rootfd = -1;
	if (ctx->mem)
		mem_release(ctx->mem);
	ctx->mem = NULL;
}

/* Render @vf, or with @vf NULL the file @cpudir_rel of /sys/devices/system/cpu. */
static int ctx_render(struct shim_ctx *ctx, const struct vfile *vf, const char *cpudir_rel,
		      pid_t pid, pid_t tid, const char **ret_data, size_t *ret_len)
{
	for (;;) {
		struct shim_mem *mem = ctx->mem;
		struct buf out;
		size_t scratch = mem->scratch, outsz = mem->out;
		int r;

		ctx->req.pid = pid;
		ctx->req.tid = tid;
		buf_init(&out, mem->out_at, mem->out);
		r = vf ? vfile_render(vf, &ctx->req, &out)
		       : vfile_cpudir_render(&ctx->req, cpudir_rel, &out);
		if (r >= 0 && buf_result(&out) == 0) {
			*ret_data = out.data;
			*ret_len = out.len;
			return r; /* 0, or VFILE_SAME (nothing written) */
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

int shim_ctx_render(struct shim_ctx *ctx, const struct vfile *vf, pid_t pid, pid_t tid,
		    const char **ret_data, size_t *ret_len)
{
	return ctx_render(ctx, vf, NULL, pid, tid, ret_data, ret_len);
}

int shim_ctx_render_cpudir(struct shim_ctx *ctx, const char *rel, const char **ret_data,
			   size_t *ret_len)
{
	return ctx_render(ctx, NULL, rel, 0, 0, ret_data, ret_len);
}

int shim_ctx_retry(struct shim_ctx *ctx, int r)
{
	if (r != -ENOBUFS)
		return r;
	return mem_area(ctx, ctx->mem->scratch * 4, ctx->mem->out);
}
