/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libc calls that read machine facts without a path the shim could see (glibc reads them
 * internally: research/interposition.md 2.2): sysinfo, sysconf/__sysconf for four keys,
 * get_nprocs(_conf), get_(av)phys_pages, getloadavg. Answered by vfile.h from the same values
 * the files show; every other sysconf key and every failure goes to the real function.
 *
 * Before the constructor the real functions are unknown (and dlsym must not be called here):
 * the answers then come from raw system calls and the aux vector, covering what allocators and
 * runtimes ask during early start-up (page size, CPU count, memory, open files).
 *
 * Owns shim.sysinfo and shim.nprocs (state.h). Must not: serve files or keep anything but these
 * two answers.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <time.h>

#include "raw.h"
#include "shim.h"

/*
 * The answers of sysinfo() and of the CPU count are kept for ANSWER_TTL_NS per process (keyed by
 * getpid(): a forked child asks again): the JVM calls sysinfo 42 times while starting, and
 * runtimes ask for the CPU count in loops. sysinfo's fields, host ones included (uptime, procs,
 * loads), are then up to that old; the files are always rendered fresh. Seqlock slots
 * (shim.sysinfo, shim.nprocs): readers copy and retry, one writer claimed by compare-and-swap,
 * never waited for.
 */
#define ANSWER_TTL_NS 100000000LL

static bool answer_get(struct shim_answer *a, pid_t pid, long long now, struct sysinfo *ret_si,
		       unsigned *ret_n)
{
	for (int tries = 0; tries < 4; tries++) {
		unsigned s1 = atomic_load_explicit(&a->seq, memory_order_acquire);
		struct sysinfo si;
		unsigned n;
		bool fresh;

		if (s1 == 0 || (s1 & 1))
			return false;
		fresh = a->pid == pid && now >= a->stamp_ns && now - a->stamp_ns < ANSWER_TTL_NS;
		si = a->si;
		n = a->nprocs;
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&a->seq, memory_order_relaxed) != s1)
			continue;
		if (!fresh)
			return false;
		if (ret_si)
			*ret_si = si;
		if (ret_n)
			*ret_n = n;
		return true;
	}
	return false;
}

static void answer_put(struct shim_answer *a, pid_t pid, long long now, const struct sysinfo *si,
		       unsigned n)
{
	int w = atomic_load_explicit(&a->writer, memory_order_relaxed);
	unsigned s;

	if (w == pid || !atomic_compare_exchange_strong(&a->writer, &w, pid))
		return;
	s = atomic_load_explicit(&a->seq, memory_order_relaxed) | 1;
	atomic_store_explicit(&a->seq, s, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	a->pid = pid;
	a->stamp_ns = now;
	if (si)
		a->si = *si;
	a->nprocs = n;
	atomic_store_explicit(&a->seq, s + 1, memory_order_release);
	atomic_store_explicit(&a->writer, 0, memory_order_release);
}

static int raw_sysinfo(struct sysinfo *info)
{
	return (int)raw_errno(RAW3(SYS_sysinfo, info, 0, 0));
}

static int affinity_count(void)
{
	unsigned long mask[128];
	long n = RAW3(SYS_sched_getaffinity, 0, sizeof(mask), mask);
	int count = 0;

	if (n <= 0)
		return 1;
	for (long i = 0; i < n / (long)sizeof(mask[0]); i++)
		count += __builtin_popcountl(mask[i]);
	return count > 0 ? count : 1;
}

static long page_size(void)
{
	unsigned long ps = getauxval(AT_PAGESZ);

	return ps ? (long)ps : 4096;
}

/* The machine's sysinfo: @info holds the host's values; machine values from vfile.h. */
static int machine_sysinfo(struct sysinfo *info)
{
	struct shim_ctx ctx;
	struct sysinfo si = *info;
	pid_t pid = raw_getpid();
	long long now = src_mono_ns();
	int r;

	if (answer_get(&shim.sysinfo, pid, now, info, NULL))
		return 0;
	r = shim_ctx_open(&ctx, pid);
	if (r < 0)
		return r;
	do {
		struct sysinfo tmp = si;

		r = vfile_sysinfo(&ctx.req, &tmp);
		if (r >= 0)
			si = tmp;
	} while (r < 0 && shim_ctx_retry(&ctx, r) == 0);
	shim_ctx_close(&ctx);
	if (r >= 0) {
		*info = si;
		answer_put(&shim.sysinfo, pid, now, &si, 0);
	}
	return r;
}

static int machine_nprocs(bool conf, unsigned *ret)
{
	struct shim_ctx ctx;
	pid_t pid = raw_getpid();
	long long now = src_mono_ns();
	unsigned n;
	int r;

	/* _CONF and _ONLN are one answer (vfile_nprocs) */
	if (answer_get(&shim.nprocs, pid, now, NULL, ret))
		return 0;
	r = shim_ctx_open(&ctx, pid);
	if (r < 0)
		return r;
	do
		r = vfile_nprocs(&ctx.req, conf, &n);
	while (r < 0 && shim_ctx_retry(&ctx, r) == 0);
	shim_ctx_close(&ctx);
	if (r >= 0) {
		*ret = n;
		answer_put(&shim.nprocs, pid, now, NULL, n);
	}
	return r;
}

/* Enter the virtual path: errno saved, nested calls pass through. false = pass through now. */
static bool enter(struct shim_guard *g)
{
	if (!shim_active() || !shim_stack_ok())
		return false;
	shim_enter(g);
	return true;
}

SHIM_EXPORT int sysinfo(struct sysinfo *info)
{
	struct shim_guard g;
	int r;

	r = NEXT_CALL(real_sysinfo, (info), raw_sysinfo(info));
	if (r < 0 || !enter(&g))
		return r;
	machine_sysinfo(info);
	shim_leave(&g);
	return r;
}

static long nprocs(bool conf)
{
	unsigned n;
	long v = -1;
	struct shim_guard g;

	if (enter(&g)) {
		if (machine_nprocs(conf, &n) >= 0 && n > 0)
			v = n;
		shim_leave(&g);
	}
	return v;
}

/* Pages of RAM (total or free) of the machine; -1 = ask the real function. */
static long phys_pages(bool avail)
{
	struct sysinfo si;
	long v = -1;
	struct shim_guard g;

	if (enter(&g)) {
		if (raw_sysinfo(&si) >= 0 && machine_sysinfo(&si) >= 0) {
			unsigned long long bytes =
				(unsigned long long)(avail ? si.freeram : si.totalram) *
				(si.mem_unit ? si.mem_unit : 1);
			v = (long)(bytes / (unsigned long long)page_size());
		}
		shim_leave(&g);
	}
	return v;
}

/* This sysconf, by a hidden name: taking the address of the exported one would be a symbol
 * lookup by ld.so in every process (a GLOB_DAT relocation, paid at every process start). */
long sysconf(int name);
extern long sysconf_self(int name)
	__attribute__((alias("sysconf"), visibility("hidden"), nothrow, leaf));

static long sysconf_early(int name)
{
	struct sysinfo si;
	struct rlimit rl;

	switch (name) {
	case _SC_PAGESIZE:
		return page_size();
	case _SC_CLK_TCK: {
		unsigned long hz = getauxval(AT_CLKTCK);
		return hz ? (long)hz : 100;
	}
	case _SC_NPROCESSORS_ONLN:
	case _SC_NPROCESSORS_CONF:
		return affinity_count();
	case _SC_PHYS_PAGES:
	case _SC_AVPHYS_PAGES:
		if (raw_sysinfo(&si) < 0)
			return -1;
		return (long)((unsigned long long)(name == _SC_PHYS_PAGES ? si.totalram
									  : si.freeram) *
			      si.mem_unit / (unsigned long long)page_size());
	case _SC_OPEN_MAX:
		if (RAW4(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, &rl) < 0)
			return -1;
		return rl.rlim_cur == RLIM_INFINITY ? -1 : (long)rl.rlim_cur;
	default: {
		/* _SC_SIGSTKSZ, _SC_ARG_MAX, _SC_GETPW_R_SIZE_MAX...: only libc knows. */
		void *p = shim_next_early("sysconf");
		long (*next)(int) = NULL;

		memcpy(&next, &p, sizeof(p));
		if (next && next != sysconf_self)
			return next(name);
		errno = EINVAL;
		return -1;
	}
	}
}

SHIM_EXPORT long sysconf(int name)
{
	long v = -1;

	switch (name) {
	case _SC_NPROCESSORS_ONLN:
		v = nprocs(false);
		break;
	case _SC_NPROCESSORS_CONF:
		v = nprocs(true);
		break;
	case _SC_PHYS_PAGES:
		v = phys_pages(false);
		break;
	case _SC_AVPHYS_PAGES:
		v = phys_pages(true);
		break;
	default:
		break;
	}
	if (v >= 0)
		return v;
	return NEXT_CALL(real_sysconf, (name), sysconf_early(name));
}

SHIM_EXPORT long __sysconf(int name) __attribute__((alias("sysconf"), nothrow, leaf));

SHIM_EXPORT int get_nprocs(void)
{
	long v = nprocs(false);

	if (v >= 0)
		return (int)v;
	return NEXT_CALL(real_get_nprocs, (), affinity_count());
}

SHIM_EXPORT int get_nprocs_conf(void)
{
	long v = nprocs(true);

	if (v >= 0)
		return (int)v;
	return NEXT_CALL(real_get_nprocs_conf, (), affinity_count());
}

SHIM_EXPORT long get_phys_pages(void)
{
	long v = phys_pages(false);

	if (v >= 0)
		return v;
	return NEXT_CALL(real_get_phys_pages, (), sysconf_early(_SC_PHYS_PAGES));
}

SHIM_EXPORT long get_avphys_pages(void)
{
	long v = phys_pages(true);

	if (v >= 0)
		return v;
	return NEXT_CALL(real_get_avphys_pages, (), sysconf_early(_SC_AVPHYS_PAGES));
}

SHIM_EXPORT int getloadavg(double loadavg[], int nelem)
{
	int (*next)(double *, int);
	struct shim_ctx ctx;
	double l[3];
	struct shim_guard g;
	int r = -1;

	if (nelem >= 0 && enter(&g)) {
		if (shim_ctx_open(&ctx, 0) >= 0) {
			r = vfile_loadavg(&ctx.req, l);
			shim_ctx_close(&ctx);
		}
		shim_leave(&g);
		if (r >= 0) {
			int n = nelem < 3 ? nelem : 3;

			for (int i = 0; i < n; i++)
				loadavg[i] = l[i];
			return n;
		}
	}
	next = real_getloadavg;
	if (next)
		return next(loadavg, nelem);
	{
		struct sysinfo si;
		int n = nelem < 3 ? nelem : 3;

		if (nelem < 0 || raw_sysinfo(&si) < 0)
			return -1;
		for (int i = 0; i < n; i++)
			loadavg[i] = si.loads[i] / 65536.0;
		return n;
	}
}
