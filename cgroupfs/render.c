/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The renderers of the virtual files (one render_<file> per row of vfile_table) and the libc
 * answers (vfile_sysinfo, vfile_nprocs, vfile_loadavg) from the same inputs. A renderer reads the
 * host file and the machine cgroup's inputs into the request's scratch memory through source/,
 * then hands parsed structs to a model/ renderer. No allocation, no logging, no globals. Any error
 * other than -ENOBUFS tells the front end to serve the host file.
 */
#include <errno.h>
#include <string.h>

#include "model/cpu.h"
#include "model/memory.h"
#include "model/misc.h"
#include "render.h"
#include "source/source.h"
#include "vfile.h"

/* Bump allocator over the request's scratch memory. */
struct arena {
	char *p;
	size_t left;
};

static struct arena arena_of(const struct vfile_req *req)
{
	return (struct arena){req->scratch, req->scratch ? req->scratch_size : 0};
}

static void arena_take(struct arena *a, size_t n)
{
	n = n + 1 < a->left ? n + 1 : a->left; /* keep the NUL src_read wrote */
	a->p += n;
	a->left -= n;
}

/* The host file @relpath (relative to the src root) read into the arena @a; its src_read_gen()
 * generation in *@ret_gen when not NULL. */
static int arena_read_gen(const struct vfile_req *req, struct arena *a, const char *relpath,
			  struct span *ret, uint64_t *ret_gen)
{
	size_t len;
	int r;

	if (a->left == 0)
		return -ENOBUFS;
	r = src_read_gen(req->src, relpath, a->p, a->left, &len, ret_gen);
	if (r < 0)
		return r;
	*ret = (struct span){a->p, len};
	arena_take(a, len);
	return 0;
}

static int arena_read(const struct vfile_req *req, struct arena *a, const char *relpath,
		      struct span *ret)
{
	return arena_read_gen(req, a, relpath, ret, NULL);
}

static int arena_cg_read(const struct vfile_req *req, struct arena *a, enum cg_controller c,
			 const char *file, struct span *ret)
{
	size_t len;
	int r;

	if (a->left == 0)
		return -ENOBUFS;
	r = cg_read(req->src, req->machine, c, file, a->p, a->left, &len);
	if (r < 0)
		return r;
	*ret = (struct span){a->p, len};
	arena_take(a, len);
	return 0;
}

static int out_result(int r, const struct buf *out)
{
	if (r < 0)
		return r;
	return buf_result(out);
}

/*
 * Memory view: cgroup inputs, the sampler's effective limits, the host's numbers. @what: the
 * parts of the view the caller shows (CG_MEM_STAT: memory, CG_MEM_SWAP: swap). Swap is read only
 * when the host has swap at all: the view's swap is capped by the host's, so without host swap
 * it is 0 whatever the cgroup says (no memsw or swap files read). memory.stat goes into @a's free
 * memory.
 */
static int mem_view_read(const struct vfile_req *req, struct arena *a, struct span host_meminfo,
			 unsigned what, struct mem_view *ret)
{
	struct host_memory host;
	struct cg_memory mem;
	int r;

	r = host_memory_parse_totals(host_meminfo, true, &host);
	if (r < 0)
		return r;
	if (host.swap_total == 0)
		what &= ~CG_MEM_SWAP;
	r = cg_read_memory_scratch(req->src, req->machine, what, a->p, a->left, &mem);
	if (r < 0)
		return r;
	if (req->sample) {
		/* Limits set above a cgroup-namespace root are only visible to the host's sampler.
		 */
		mem.limit = u64_min(mem.limit, req->sample->mem_limit);
		if (mem.swap_accounted)
			mem.swap_limit = u64_min(mem.swap_limit, req->sample->swap_limit);
	}
	return mem_view_compute(&host, &mem, ret);
}

/* The host's /proc/meminfo (kept in @a while @ret_host is used; its src_read_gen() generation in
 * @ret_gen) and the memory view. */
static int mem_view_load(const struct vfile_req *req, struct arena *a, unsigned what,
			 struct span *ret_host, uint64_t *ret_gen, struct mem_view *ret)
{
	struct span host;
	uint64_t gen = 0;
	int r;

	r = arena_read_gen(req, a, "proc/meminfo", &host, &gen);
	if (r < 0)
		return r;
	r = mem_view_read(req, a, host, what, ret);
	if (r < 0)
		return r;
	*ret_host = host;
	*ret_gen = gen;
	return 0;
}

/* meminfo's key: the host text (by its generation) and the view, all that its render reads. */
static bool meminfo_key(uint64_t gen, const struct mem_view *v, struct vfile_key *ret)
{
	_Static_assert(sizeof(*v) % sizeof(uint64_t) == 0, "mem_view is uint64_t words");
	_Static_assert(1 + sizeof(*v) / sizeof(uint64_t) <= VFILE_KEY_WORDS, "key too small");

	ret->n = 0;
	if (gen == 0)
		return false; /* a text read from the file: nothing to tell it by */
	ret->w[0] = gen;
	memcpy(&ret->w[1], v, sizeof(*v));
	ret->n = 1 + sizeof(*v) / sizeof(uint64_t);
	return true;
}

static bool key_equal(const struct vfile_key *a, const struct vfile_key *b)
{
	return a->n > 0 && a->n == b->n && memcmp(a->w, b->w, a->n * sizeof(a->w[0])) == 0;
}

/* CPU inputs; @a supplies v1's per-CPU usage (kept in the arena while @ret is used), for the
 * CPU lines of /proc/stat. An @a without memory: the total CPU time only. NULL @a: the limits
 * only (no CPU time). @ret->visible becomes the CPUs the machine shows (the view), computed in
 * place: one cpuset on the caller's stack, not three. */
static int cpu_read(const struct vfile_req *req, struct arena *a, struct cg_cpu *ret)
{
	const struct cg_sample *s = req->sample;
	int r;

	if (a && a->left == 0) {
		r = cg_read_cpu_total(req->src, req->machine, ret);
		if (r < 0)
			return r;
	} else if (a) {
		r = cg_read_cpu_split(req->src, req->machine, a->p, a->left, ret);
		if (r < 0)
			return r;
		arena_take(a, ret->usage_all.len);
	} else {
		r = cg_read_cpu_limits(req->src, req->machine, ret);
		if (r < 0)
			return r;
	}
	if (s) {
		if (s->quota_us != UINT64_MAX && s->period_us > 0 &&
		    (ret->quota_us == UINT64_MAX || ret->period_us == 0 ||
		     (unsigned __int128)s->quota_us * ret->period_us <
			     (unsigned __int128)ret->quota_us * s->period_us)) {
			ret->quota_us = s->quota_us;
			ret->period_us = s->period_us;
		}
		if (s->has_cpuset && cpuset_intersects(&ret->visible, &s->cpuset))
			cpuset_and(&ret->visible, &s->cpuset);
	}
	cpu_view_set(ret, req->config && req->config->quota_view, &ret->visible);
	return 0;
}

int render_meminfo(const struct vfile_req *req, struct buf *out)
{
	struct arena a = arena_of(req);
	struct vfile_key key;
	struct mem_view v;
	struct span host;
	uint64_t gen;
	int r;

	r = mem_view_load(req, &a, CG_MEM_STAT | CG_MEM_SWAP, &host, &gen, &v);
	if (r < 0)
		return r;
	if (req->key || req->same) {
		bool keyed = meminfo_key(gen, &v, &key);

		if (req->key)
			*req->key = key;
		if (keyed && req->same && key_equal(&key, req->same))
			return VFILE_SAME;
	}
	return out_result(meminfo_render(host, &v, out), out);
}

int render_swaps(const struct vfile_req *req, struct buf *out)
{
	struct arena a = arena_of(req);
	struct mem_view v;
	struct span host;
	uint64_t gen;
	int r;

	/* swap alone: no memory.stat on v2, nothing at all without host swap */
	r = mem_view_load(req, &a, CG_MEM_SWAP, &host, &gen, &v);
	if (r < 0)
		return r;
	return out_result(swaps_render(&v, out), out);
}

int render_cpuinfo(const struct vfile_req *req, struct buf *out)
{
	struct arena a = arena_of(req);
	struct cg_cpu cpu;
	struct span host;
	int r;

	r = cpu_read(req, NULL, &cpu);
	if (r < 0)
		return r;
	r = arena_read(req, &a, "proc/cpuinfo", &host);
	if (r < 0)
		return r;
	/* the topology table goes after the host text */
	return out_result(cpuinfo_render_work(host, &cpu.visible, a.p, a.left, out), out);
}

int render_cpulist(const struct vfile_req *req, struct buf *out)
{
	struct cg_cpu cpu;
	int r;

	r = cpu_read(req, NULL, &cpu);
	if (r < 0)
		return r;
	return out_result(cpulist_render(&cpu.visible, out), out);
}

/* The machine's uptime and how far its start lies after the host's boot. */
static int clock_read(const struct vfile_req *req, uint64_t *ret_up_cs, uint64_t *ret_shift_cs)
{
	uint64_t up, host;
	int r;

	r = cg_read_uptime(req->src, req->machine, &up, &host);
	if (r < 0)
		return r;
	*ret_up_cs = up;
	*ret_shift_cs = sat_sub(host, up);
	return 0;
}

int render_stat(const struct vfile_req *req, struct buf *out)
{
	struct arena a = arena_of(req);
	struct stat_clock clk;
	struct cg_cpu cpu;
	uint64_t up, shift, btime;
	struct span host;
	int r;

	r = cpu_read(req, &a, &cpu);
	if (r < 0)
		return r;
	r = arena_read(req, &a, "proc/stat", &host);
	if (r < 0)
		return r;
	r = keyed_u64(host, "btime", &btime);
	if (r < 0)
		return r;
	r = clock_read(req, &up, &shift);
	if (r < 0)
		return r;
	clk = (struct stat_clock){
		.ticks_per_sec = req->src->ticks_per_sec,
		.uptime_cs = up,
		.btime = btime + shift / 100,
	};
	return out_result(stat_render(host, &cpu, &cpu.visible, &clk, out), out);
}

/* Idle of /proc/uptime: the machine's elapsed CPU time minus what its cgroup used. */
static uint64_t idle_cs(uint64_t up_cs, const struct cg_cpu *cpu, const struct cpuset *view)
{
	uint64_t used_cs = sat_add(cpu->user_ns, cpu->system_ns) / 10000000;
	uint64_t n = cpuset_count(view);

	if (n > 0 && up_cs > UINT64_MAX / n)
		return UINT64_MAX;
	return sat_sub(up_cs * n, used_cs);
}

int render_uptime(const struct vfile_req *req, struct buf *out)
{
	struct arena a = {NULL, 0}; /* the totals only: no per-CPU split */
	struct cg_cpu cpu;
	uint64_t up, shift;
	int r;

	r = clock_read(req, &up, &shift);
	if (r < 0)
		return r;
	r = cpu_read(req, &a, &cpu);
	if (r < 0)
		return r;
	return out_result(uptime_render(up, idle_cs(up, &cpu, &cpu.visible), out), out);
}

/* The machine's load: the sampler's averages with the host's last pid. */
static int load_read(const struct vfile_req *req, struct span host, struct loadavg *ret)
{
	struct loadavg h;

	if (!req->sample)
		return -ENODATA;
	*ret = req->sample->load;
	ret->lastpid = loadavg_parse(host, &h) == 0 ? h.lastpid : 0;
	return 0;
}

int render_loadavg(const struct vfile_req *req, struct buf *out)
{
	struct arena a = arena_of(req);
	struct loadavg l;
	struct span host;
	int r;

	r = arena_read(req, &a, "proc/loadavg", &host);
	if (r < 0)
		return r;
	if (load_read(req, host, &l) < 0) {
		/* No fresh sampler table: the host's load, verbatim. */
		buf_putn(out, host.p, host.len);
		return buf_result(out);
	}
	return out_result(loadavg_render(&l, out), out);
}

static int render_pressure(const struct vfile_req *req, const char *file, struct buf *out)
{
	struct arena a = arena_of(req);
	struct span text;
	int r;

	/* PSI exists per cgroup only in the v2 hierarchy (hybrid hosts included). */
	if (!cg_machine_mount(req->machine, CG_UNIFIED) || !req->machine->v2[CG_UNIFIED])
		return -ENODATA;
	r = arena_cg_read(req, &a, CG_UNIFIED, file, &text);
	if (r < 0)
		return r;
	buf_putn(out, text.p, text.len);
	return buf_result(out);
}

int render_pressure_cpu(const struct vfile_req *req, struct buf *out)
{
	return render_pressure(req, "cpu.pressure", out);
}

int render_pressure_memory(const struct vfile_req *req, struct buf *out)
{
	return render_pressure(req, "memory.pressure", out);
}

int render_pressure_io(const struct vfile_req *req, struct buf *out)
{
	return render_pressure(req, "io.pressure", out);
}

/* v1 blkio counters: the _recursive files (kernel >= 4.x) include sub-cgroups, like the machine
 * does; older kernels only have the cgroup's own. */
static int arena_cg_read_either(const struct vfile_req *req, struct arena *a, const char *first,
				const char *second, struct span *ret)
{
	int r = arena_cg_read(req, a, CG_IO, first, ret);

	return r == -ENODATA ? arena_cg_read(req, a, CG_IO, second, ret) : r;
}

int render_diskstats(const struct vfile_req *req, struct buf *out)
{
	struct span host, iostat = {"", 0}, serviced = {"", 0}, bytes = {"", 0};
	struct arena a = arena_of(req);
	int r;

	const struct cg_machine *m = req->machine;

	if (!cg_machine_has(m, CG_IO))
		return -ENODATA;
	/* The host's own root cgroup is the host: its I/O is the host file (v1 does not even
	 * account throttled I/O there). */
	if (!m->cgroupns && strcmp(cg_machine_path(m, CG_IO), "/") == 0 &&
	    strcmp(cg_machine_root(m, CG_IO), "/") == 0)
		return -ENODATA;
	if (req->machine->v2[CG_IO]) {
		r = arena_cg_read(req, &a, CG_IO, "io.stat", &iostat);
	} else {
		r = arena_cg_read_either(req, &a, "blkio.throttle.io_serviced_recursive",
					 "blkio.throttle.io_serviced", &serviced);
		if (r == 0)
			r = arena_cg_read_either(req, &a,
						 "blkio.throttle.io_service_bytes_recursive",
						 "blkio.throttle.io_service_bytes", &bytes);
	}
	if (r < 0)
		return r;
	/* A machine that did no I/O shows no device: the host's (slow) file is not read. */
	if (!diskstats_io_any(iostat, serviced, bytes))
		return buf_result(out);
	r = arena_read(req, &a, "proc/diskstats", &host);
	if (r < 0)
		return r;
	return out_result(diskstats_render(host, iostat, serviced, bytes, out), out);
}

/* Decimal pid into @out, for "proc/<pid>/task/<tid>/stat". */
static size_t put_pid(char *out, pid_t pid)
{
	char d[16];
	size_t n = 0, len = 0;
	unsigned long v = (unsigned long)pid;

	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n > 0)
		out[len++] = d[--n];
	return len;
}

int render_pid_stat(const struct vfile_req *req, struct buf *out)
{
	struct arena a = arena_of(req);
	uint64_t up, shift_cs, ticks = req->src->ticks_per_sec;
	char path[64];
	struct span host;
	size_t n = 0;
	int r;

	if (req->pid < 0 || req->tid < 0)
		return -EINVAL;
	memcpy(path, "proc/", 5);
	n = 5;
	if (req->pid == 0) {
		memcpy(path + n, "self", 4);
		n += 4;
	} else {
		n += put_pid(path + n, req->pid);
	}
	if (req->tid > 0) {
		memcpy(path + n, "/task/", 6);
		n += 6;
		n += put_pid(path + n, req->tid);
	}
	memcpy(path + n, "/stat", 6);

	r = clock_read(req, &up, &shift_cs);
	if (r < 0)
		return r;
	r = arena_read(req, &a, path, &host);
	if (r < 0)
		return r;
	return out_result(pidstat_render(host, shift_cs * ticks / 100, out), out);
}

int vfile_sysinfo(const struct vfile_req *req, struct sysinfo *inout)
{
	struct arena a = arena_of(req);
	struct loadavg l, *lp = NULL;
	struct mem_view v;
	struct span host;
	uint64_t up, shift, gen;
	int r;

	if (!req || !req->src || !req->machine || !inout)
		return -EINVAL;
	if (req->config && !req->config->enabled)
		return -ENODATA;
	r = mem_view_load(req, &a, CG_MEM_STAT | CG_MEM_SWAP, &host, &gen, &v);
	if (r < 0)
		return r;
	r = clock_read(req, &up, &shift);
	if (r < 0)
		return r;
	if (req->sample) {
		l = req->sample->load;
		lp = &l;
	}
	if (!lp) {
		/* sysinfo_apply takes the machine's load; without a sampler it is the host's. */
		struct span text;

		if (arena_read(req, &a, "proc/loadavg", &text) == 0 && loadavg_parse(text, &l) == 0)
			lp = &l;
	}
	if (!lp) {
		memset(&l, 0, sizeof(l));
		for (unsigned i = 0; i < 3; i++)
			l.avg[i] = (uint64_t)inout->loads[i] >> (16 - LOADAVG_FSHIFT);
		lp = &l;
	}
	sysinfo_apply(&v, up / 100, lp, inout);
	return 0;
}

int vfile_nprocs(const struct vfile_req *req, bool conf, unsigned *ret)
{
	struct cg_cpu cpu;
	unsigned n;
	int r;

	if (!req || !req->src || !req->machine || !ret)
		return -EINVAL;
	if (req->config && !req->config->enabled)
		return -ENODATA;
	/* _SC_NPROCESSORS_CONF and _ONLN are the same visible set: a container has no offline CPUs
	 * of its own. CPU time is not needed. */
	r = cpu_read(req, NULL, &cpu);
	if (r < 0)
		return r;
	n = cpuset_count(&cpu.visible);
	if (n == 0)
		return -ENODATA;
	*ret = n;
	return 0;
}

int vfile_loadavg(const struct vfile_req *req, double ret[3])
{
	struct arena a = arena_of(req);
	struct loadavg l;
	struct span host;
	int r;

	if (!req || !req->src || !ret)
		return -EINVAL;
	if (req->config && !req->config->enabled)
		return -ENODATA;
	r = arena_read(req, &a, "proc/loadavg", &host);
	if (r < 0)
		return r;
	if (load_read(req, host, &l) < 0) {
		r = loadavg_parse(host, &l);
		if (r < 0)
			return r;
	}
	for (unsigned i = 0; i < 3; i++)
		ret[i] = (double)l.avg[i] / (double)LOADAVG_FIXED_1;
	return 0;
}
