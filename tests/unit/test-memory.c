/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the memory model (model/memstat.c, memview.c, meminfo.c, swaps.c): memory.stat
 * parsing, the machine view and its invariants, /proc/meminfo and /proc/swaps rendering. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "model/memory.h"

static struct span S(const char *s) {
	return (struct span){s, strlen(s)};
}

/* /proc/meminfo of the development machine (Debian 12, kernel 6.18, 24 GiB, no swap). */
static const char host_meminfo[] = "MemTotal:       24684084 kB\n"
				   "MemFree:        24107208 kB\n"
				   "MemAvailable:   24336408 kB\n"
				   "Buffers:            3604 kB\n"
				   "Cached:           408540 kB\n"
				   "SwapCached:            0 kB\n"
				   "Active:           132612 kB\n"
				   "Inactive:         282688 kB\n"
				   "Active(anon):       1572 kB\n"
				   "Inactive(anon):    10456 kB\n"
				   "Active(file):     131040 kB\n"
				   "Inactive(file):   272232 kB\n"
				   "Unevictable:       19504 kB\n"
				   "Mlocked:           18588 kB\n"
				   "SwapTotal:             0 kB\n"
				   "SwapFree:              0 kB\n"
				   "Zswap:                 0 kB\n"
				   "Zswapped:              0 kB\n"
				   "Dirty:               256 kB\n"
				   "Writeback:             0 kB\n"
				   "AnonPages:         22744 kB\n"
				   "Mapped:            11284 kB\n"
				   "Shmem:              8872 kB\n"
				   "KReclaimable:      65060 kB\n"
				   "Slab:              88372 kB\n"
				   "SReclaimable:      65060 kB\n"
				   "SUnreclaim:        23312 kB\n"
				   "KernelStack:        1504 kB\n"
				   "PageTables:         1712 kB\n"
				   "SecPageTables:         0 kB\n"
				   "NFS_Unstable:          0 kB\n"
				   "Bounce:                0 kB\n"
				   "WritebackTmp:          0 kB\n"
				   "CommitLimit:    12342040 kB\n"
				   "Committed_AS:      70708 kB\n"
				   "VmallocTotal:   34359738367 kB\n"
				   "VmallocUsed:       14316 kB\n"
				   "VmallocChunk:          0 kB\n"
				   "Percpu:              688 kB\n"
				   "AnonHugePages:         0 kB\n"
				   "ShmemHugePages:        0 kB\n"
				   "ShmemPmdMapped:        0 kB\n"
				   "FileHugePages:         0 kB\n"
				   "FilePmdMapped:         0 kB\n"
				   "Balloon:               0 kB\n"
				   "HugePages_Total:       0\n"
				   "HugePages_Free:        0\n"
				   "HugePages_Rsvd:        0\n"
				   "HugePages_Surp:        0\n"
				   "Hugepagesize:       2048 kB\n"
				   "Hugetlb:               0 kB\n"
				   "DirectMap4k:       30720 kB\n"
				   "DirectMap2M:     2066432 kB\n"
				   "DirectMap1G:    25165824 kB\n";

#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)

/* The value of @key in rendered meminfo text, or UINT64_MAX when absent. */
static uint64_t mi(const char *text, const char *key)
{
	uint64_t v;

	if (meminfo_u64(S(text), key, &v) < 0)
		return UINT64_MAX;
	return v;
}

/* One "Key:" line of @text, NUL-terminated into @line. */
static bool mi_line(const char *text, const char *key, char *line, size_t cap)
{
	size_t kl = strlen(key);

	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (len > kl && p[kl] == ':' && memcmp(p, key, kl) == 0 && len < cap) {
			memcpy(line, p, len);
			line[len] = '\0';
			return true;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return false;
}

Test(memstat, v2_keys)
{
	const char *t = "anon 1000\nfile 2000\nkernel 5\nkernel_stack 7\nshmem 300\n"
			"file_mapped 400\nfile_dirty 50\nfile_writeback 60\nanon_thp 70\n"
			"inactive_anon 80\nactive_anon 90\ninactive_file 100\nactive_file 110\n"
			"unevictable 120\nslab_reclaimable 130\nslab_unreclaimable 140\nslab 270\n";
	struct cg_memstat st;

	cr_assert_eq(memstat_parse(S(t), false, &st), 0);
	cr_assert_eq(st.anon, 1000);
	cr_assert_eq(st.file, 2000);
	cr_assert_eq(st.shmem, 300);
	cr_assert_eq(st.file_mapped, 400);
	cr_assert_eq(st.file_dirty, 50);
	cr_assert_eq(st.file_writeback, 60);
	cr_assert_eq(st.anon_thp, 70);
	cr_assert_eq(st.inactive_anon, 80);
	cr_assert_eq(st.active_anon, 90);
	cr_assert_eq(st.inactive_file, 100);
	cr_assert_eq(st.active_file, 110);
	cr_assert_eq(st.unevictable, 120);
	cr_assert_eq(st.slab_reclaimable, 130);
	cr_assert_eq(st.slab_unreclaimable, 140);
	cr_assert_eq(st.slab, 270);
	cr_assert_eq(st.hierarchical_memory_limit, UINT64_MAX);
	cr_assert_eq(st.hierarchical_memsw_limit, UINT64_MAX);
}

Test(memstat, v1_total_keys_exact)
{
	/* Local keys must be ignored; total_rss_huge must not be read as total_rss or the
	 * reverse (lxcfs's prefix match reads 0 for it). */
	const char *t =
		"cache 1\nrss 2\nrss_huge 3\nshmem 4\n"
		"hierarchical_memory_limit 536870912\n"
		"hierarchical_memsw_limit 9223372036854771712\n"
		"total_cache 10000\ntotal_rss 20000\ntotal_rss_huge 2097152\ntotal_shmem 300\n"
		"total_mapped_file 400\ntotal_dirty 50\ntotal_writeback 60\n"
		"total_inactive_anon 80\ntotal_active_anon 90\ntotal_inactive_file 100\n"
		"total_active_file 110\ntotal_unevictable 120\n";
	struct cg_memstat st;

	cr_assert_eq(memstat_parse(S(t), true, &st), 0);
	cr_assert_eq(st.file, 10000);
	cr_assert_eq(st.anon, 20000);
	cr_assert_eq(st.anon_thp, 2097152);
	cr_assert_eq(st.shmem, 300);
	cr_assert_eq(st.file_mapped, 400);
	cr_assert_eq(st.file_dirty, 50);
	cr_assert_eq(st.file_writeback, 60);
	cr_assert_eq(st.inactive_anon, 80);
	cr_assert_eq(st.active_anon, 90);
	cr_assert_eq(st.inactive_file, 100);
	cr_assert_eq(st.active_file, 110);
	cr_assert_eq(st.unevictable, 120);
	cr_assert_eq(st.slab, 0);
	cr_assert_eq(st.hierarchical_memory_limit, 536870912);
	cr_assert_eq(st.hierarchical_memsw_limit, UINT64_MAX, "v1 'unlimited' is no limit");

	/* v2 keys on a v1 read are not total_* keys */
	cr_assert_eq(memstat_parse(S("anon 5\nfile 6\n"), true, &st), 0);
	cr_assert_eq(st.anon, 0);
	cr_assert_eq(st.file, 0);
	/* and v1 limit keys mean nothing on v2 */
	cr_assert_eq(memstat_parse(S("hierarchical_memory_limit 5\n"), false, &st), 0);
	cr_assert_eq(st.hierarchical_memory_limit, UINT64_MAX);
}

Test(memstat, hostile)
{
	struct cg_memstat st;

	memset(&st, 0x5a, sizeof(st));
	cr_assert_eq(memstat_parse(S(""), false, &st), 0, "empty file: all zero");
	cr_assert_eq(st.anon, 0);
	cr_assert_eq(st.hierarchical_memory_limit, UINT64_MAX);

	memset(&st, 0x5a, sizeof(st));
	cr_assert_eq(memstat_parse(S("anon x1\n"), false, &st), -EINVAL);
	cr_assert_eq(memstat_parse(S("anon\n"), false, &st), -EINVAL, "truncated line");
	cr_assert_eq(memstat_parse(S("total_rss 1 2\n"), true, &st), -EINVAL);
	cr_assert_eq(memstat_parse(S("file 18446744073709551616\n"), false, &st), -EINVAL);
	cr_assert_eq(memstat_parse(S("hierarchical_memory_limit -1\n"), true, &st), -EINVAL);
	cr_assert_eq(st.anon, 0x5a5a5a5a5a5a5a5a, "ret untouched on failure");

	/* unknown garbage keys and blank lines are fine; a cut-off last line still counts */
	cr_assert_eq(memstat_parse(S("\n\nweird_key ???\nanon 4096"), false, &st), 0);
	cr_assert_eq(st.anon, 4096);
	cr_assert_eq(memstat_parse(S("hierarchical_memory_limit 4611686018427387904\n"), true, &st),
		     0);
	cr_assert_eq(st.hierarchical_memory_limit, UINT64_MAX, ">= 2^62 is unlimited");
	cr_assert_eq(memstat_parse(S("hierarchical_memory_limit 4611686018427387903\n"), true, &st),
		     0);
	cr_assert_eq(st.hierarchical_memory_limit, 4611686018427387903);
}

Test(host_memory, parse)
{
	struct host_memory h;

	cr_assert_eq(host_memory_parse(S(host_meminfo), &h), 0);
	cr_assert_eq(h.mem_total, 24684084);
	cr_assert_eq(h.swap_total, 0);
	cr_assert_eq(h.cached, 408540);
	cr_assert_eq(host_memory_parse(S(""), &h), -EINVAL, "empty file");
	cr_assert_eq(host_memory_parse(S("MemFree: 5 kB\n"), &h), -EINVAL, "no MemTotal");
	cr_assert_eq(host_memory_parse(S("MemTotal: zz kB\n"), &h), -EINVAL);
	cr_assert_eq(host_memory_parse(S("MemTotal: 100 kB\nMemFree:"), &h), -EINVAL);
	cr_assert_eq(host_memory_parse(S("MemTotal: 100 kB\n"), &h), 0, "old kernel, few keys");
	cr_assert_eq(h.mem_total, 100);
	cr_assert_eq(h.mem_available, 0);
}

static const struct host_memory host = {
	.mem_total = 24684084,
	.mem_free = 24458988,
	.mem_available = 24389592,
	.swap_total = 8 * 1024 * 1024,
	.swap_free = 8 * 1024 * 1024,
};

static struct cg_memory cg_basic(void)
{
	return (struct cg_memory){
		.limit = 512 * MiB,
		.usage = 200 * MiB,
		.stat =
			{
				.anon = 100 * MiB,
				.file = 80 * MiB,
				.shmem = 8 * MiB,
				.file_mapped = 10 * MiB,
				.file_dirty = 1 * MiB,
				.file_writeback = 2 * MiB,
				.anon_thp = 4 * MiB,
				.active_anon = 60 * MiB,
				.inactive_anon = 40 * MiB,
				.active_file = 50 * MiB,
				.inactive_file = 30 * MiB,
				.unevictable = 3 * MiB,
				.slab = 12 * MiB,
				.slab_reclaimable = 9 * MiB,
				.slab_unreclaimable = 3 * MiB,
			},
	};
}

static void assert_invariants(const struct mem_view *v, const char *ctx)
{
	const uint64_t f[] = {v->free,		v->available,	v->buffers,	  v->cached,
			      v->shmem,		v->active,	v->inactive,	  v->active_anon,
			      v->inactive_anon, v->active_file, v->inactive_file, v->unevictable,
			      v->dirty,		v->writeback,	v->anon_pages,	  v->mapped,
			      v->anon_huge,	v->slab,	v->sreclaimable,  v->sunreclaim};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		cr_assert_leq(f[i], v->total, "%s: field %zu (%llu) > total (%llu)", ctx, i,
			      (unsigned long long)f[i], (unsigned long long)v->total);
	/* procps free: used = total - free - buffers - cached - sreclaimable >= 0 */
	cr_assert_leq((unsigned __int128)v->free + v->buffers + v->cached + v->sreclaimable,
		      v->total, "%s: free would show negative used", ctx);
	cr_assert_leq(v->available, v->total, "%s", ctx);
	cr_assert_leq(v->swap_free, v->swap_total, "%s", ctx);
	cr_assert_geq(v->slab, v->sreclaimable, "%s", ctx);
}

Test(mem_view, basic)
{
	struct cg_memory cg = cg_basic();
	struct mem_view v;

	cr_assert_eq(mem_view_compute(&host, &cg, &v), 0);
	cr_assert_eq(v.total, 524288);
	cr_assert_eq(v.free, 524288 - 200 * 1024);
	cr_assert_eq(v.available, v.free + 50 * 1024 + 30 * 1024 + 9 * 1024);
	cr_assert_eq(v.cached, 80 * 1024);
	cr_assert_eq(v.shmem, 8 * 1024);
	cr_assert_eq(v.active, 110 * 1024);
	cr_assert_eq(v.inactive, 70 * 1024);
	cr_assert_eq(v.anon_pages, 100 * 1024);
	cr_assert_eq(v.mapped, 10 * 1024);
	cr_assert_eq(v.dirty, 1024);
	cr_assert_eq(v.writeback, 2048);
	cr_assert_eq(v.anon_huge, 4096);
	cr_assert_eq(v.slab, 12 * 1024);
	cr_assert_eq(v.sreclaimable, 9 * 1024);
	cr_assert_eq(v.sunreclaim, 3 * 1024);
	cr_assert_eq(v.buffers, 0);
	cr_assert_eq(v.swap_total, 0, "swap not accounted: no swap");
	cr_assert_eq(v.swap_free, 0);
	assert_invariants(&v, "basic");
}

Test(mem_view, no_limit_max_and_above_host)
{
	struct cg_memory cg = cg_basic();
	struct mem_view v;

	cg.limit = UINT64_MAX; /* "max" */
	cr_assert_eq(mem_view_compute(&host, &cg, &v), 0);
	cr_assert_eq(v.total, host.mem_total);
	cg.limit = 64 * GiB;
	cr_assert_eq(mem_view_compute(&host, &cg, &v), 0);
	cr_assert_eq(v.total, host.mem_total, "limit above host memory");
	cg.limit = 9223372036854771712ULL; /* v1 unlimited */
	cr_assert_eq(mem_view_compute(&host, &cg, &v), 0);
	cr_assert_eq(v.total, host.mem_total);
	assert_invariants(&v, "above host");
}

Test(mem_view, zero_limit_and_usage_above_limit)
{
	struct cg_memory cg = cg_basic();
	struct mem_view v;

	cg.limit = 0;
	cr_assert_eq(mem_view_compute(&host, &cg, &v), 0);
	cr_assert_eq(v.total, 0);
	assert_invariants(&v, "limit 0");

	cg = cg_basic();
	cg.usage = 600 * MiB; /* above the limit: races and v1 kmem */
	cr_assert_eq(mem_view_compute(&host, &cg, &v), 0);
	cr_assert_eq(v.free, 0);
	cr_assert_eq(v.cached, 80 * 1024, "free is 0: cache fits");
	cr_assert_eq(v.sreclaimable, 9 * 1024);
	assert_invariants(&v, "usage above limit");

	/* stat larger than usage: cache clamped to what usage leaves */
	cg = cg_basic();
	cg.usage = 10 * MiB;
	cr_assert_eq(mem_view_compute(&host, &cg, &v), 0);
	cr_assert_eq(v.free, 502 * 1024);
	cr_assert_eq(v.cached, 10 * 1024);
	cr_assert_eq(v.sreclaimable, 0);
	assert_invariants(&v, "stat above usage");
}

Test(mem_view, near_uint64_max)
{
	struct cg_memory cg = {.limit = UINT64_MAX - 1, .usage = UINT64_MAX - 5};
	struct host_memory h = {.mem_total = UINT64_MAX / 2, .swap_total = UINT64_MAX / 3};
	struct mem_view v;

	memset(&cg.stat, 0xff, sizeof(cg.stat));
	cg.swap_accounted = true;
	cg.swap_limit = UINT64_MAX;
	cg.swap_usage = UINT64_MAX;
	cr_assert_eq(mem_view_compute(&h, &cg, &v), 0);
	cr_assert_eq(v.total, (UINT64_MAX - 1) / 1024);
	cr_assert_eq(v.swap_total, UINT64_MAX / 3);
	cr_assert_eq(v.swap_free, UINT64_MAX / 3 - UINT64_MAX / 1024);
	assert_invariants(&v, "near max");
}

Test(mem_view, swap)
{
	struct cg_memory cg = cg_basic();
	struct mem_view v;

	cg.swap_accounted = true;
	cg.swap_limit = 1 * GiB;
	cg.swap_usage = 100 * MiB;
	cr_assert_eq(mem_view_compute(&host, &cg, &v), 0);
	cr_assert_eq(v.swap_total, 1024 * 1024);
	cr_assert_eq(v.swap_free, 1024 * 1024 - 100 * 1024);

	cg.swap_limit = UINT64_MAX;
	cr_assert_eq(mem_view_compute(&host, &cg, &v), 0);
	cr_assert_eq(v.swap_total, host.swap_total, "no swap limit: the host's swap");

	cg.swap_limit = 1 * GiB;
	cg.swap_usage = 2 * GiB;
	cr_assert_eq(mem_view_compute(&host, &cg, &v), 0);
	cr_assert_eq(v.swap_free, 0);

	struct host_memory noswap = host;
	noswap.swap_total = 0;
	cr_assert_eq(mem_view_compute(&noswap, &cg, &v), 0);
	cr_assert_eq(v.swap_total, 0, "host without swap");
	cr_assert_eq(v.swap_free, 0);
}

static uint64_t lcg_state;
static uint64_t lcg(void)
{
	lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return lcg_state >> 11;
}

/* Random values of all magnitudes, biased towards the interesting range and the edges. */
static uint64_t rnd_bytes(void)
{
	switch (lcg() % 8) {
	case 0:
		return 0;
	case 1:
		return UINT64_MAX - lcg() % 4096;
	case 2:
		return lcg() << (lcg() % 24);
	default:
		return lcg() % (2 * GiB);
	}
}

Test(mem_view, invariants_random)
{
	char out[8192];

	lcg_state = 20261123;
	for (int i = 0; i < 20000; i++) {
		struct host_memory h = host;
		struct cg_memory cg = {0};
		struct mem_view v;
		struct buf b;
		uint64_t *s = (uint64_t *)&cg.stat;
		char ctx[32];

		if (lcg() % 4 == 0)
			h.mem_total = lcg() % (64 * 1024 * 1024);
		cg.limit = lcg() % 3 ? rnd_bytes() : UINT64_MAX;
		cg.usage = rnd_bytes();
		for (size_t k = 0; k < sizeof(cg.stat) / sizeof(uint64_t); k++)
			s[k] = rnd_bytes();
		cg.swap_accounted = lcg() % 2;
		cg.swap_limit = rnd_bytes();
		cg.swap_usage = rnd_bytes();
		sprintf(ctx, "iteration %d", i);
		cr_assert_eq(mem_view_compute(&h, &cg, &v), 0);
		assert_invariants(&v, ctx);
		cr_assert_eq(v.total,
			     (cg.limit < h.mem_total * 1024 ? cg.limit : h.mem_total * 1024) / 1024,
			     "%s", ctx);

		/* and the rendered file keeps every kB field (but Vmalloc*) <= MemTotal */
		if (i % 20 == 0) {
			struct span rest, line;

			buf_init(&b, out, sizeof(out) - 1);
			cr_assert_eq(meminfo_render(S(host_meminfo), &v, &b), 0);
			out[b.len] = '\0';
			rest = (struct span){out, b.len};
			while (line_next(&rest, &line)) {
				struct span w = line, key, val, unit;
				uint64_t x;

				cr_assert(word_next(&w, &key));
				if (!word_next(&w, &val) || !word_next(&w, &unit) ||
				    !span_eq(unit, "kB") || span_startswith(key, "Vmalloc") ||
				    span_startswith(key, "Swap"))
					continue;
				cr_assert_eq(parse_u64(val, &x), 0);
				cr_assert_leq(x, v.total, "%s: %.*s", ctx, (int)line.len, line.p);
			}
		}
	}
}

Test(meminfo, host_file_under_512m)
{
	struct cg_memory cg = cg_basic();
	struct mem_view v;
	char out[8192], line[128];
	struct buf b;
	size_t host_lines = 0, out_lines = 0;

	cr_assert_eq(mem_view_compute(&host, &cg, &v), 0);
	buf_init(&b, out, sizeof(out) - 1);
	cr_assert_eq(meminfo_render(S(host_meminfo), &v, &b), 0);
	out[b.len] = '\0';

	cr_assert(mi_line(out, "MemTotal", line, sizeof(line)));
	cr_assert_str_eq(line, "MemTotal:         524288 kB");
	cr_assert(mi_line(out, "MemFree", line, sizeof(line)));
	cr_assert_str_eq(line, "MemFree:          319488 kB");
	cr_assert(mi_line(out, "SwapCached", line, sizeof(line)));
	cr_assert_str_eq(line, "SwapCached:            0 kB");
	cr_assert(mi_line(out, "Active(anon)", line, sizeof(line)));
	cr_assert_str_eq(line, "Active(anon):      61440 kB");
	cr_assert_eq(mi(out, "Cached"), 80 * 1024);
	cr_assert_eq(mi(out, "Slab"), 12 * 1024);
	cr_assert_eq(mi(out, "AnonHugePages"), 4096);
	cr_assert_eq(mi(out, "Buffers"), 0);
	/* other kB lines above MemTotal are clamped, in kernel format */
	cr_assert(mi_line(out, "CommitLimit", line, sizeof(line)));
	cr_assert_str_eq(line, "CommitLimit:      524288 kB");
	cr_assert(mi_line(out, "DirectMap1G", line, sizeof(line)));
	cr_assert_str_eq(line, "DirectMap1G:      524288 kB");
	/* host-wide lines that a machine figure bounds: Mlocked <= Unevictable, KReclaimable <=
	 * SReclaimable (the host file has 18588 kB Mlocked) */
	cr_assert_leq(mi(out, "Mlocked"), mi(out, "Unevictable"));
	cr_assert_lt(mi(out, "Mlocked"), 18588);
	cr_assert_leq(mi(out, "KReclaimable"), mi(out, "SReclaimable"));
	/* address space stays as the host says */
	cr_assert(mi_line(host_meminfo, "VmallocTotal", line, sizeof(line)));
	{
		char line2[128];

		cr_assert(mi_line(out, "VmallocTotal", line2, sizeof(line2)));
		cr_assert_str_eq(line2, line);
	}
	/* small lines and lines without kB are verbatim */
	cr_assert(mi_line(host_meminfo, "HugePages_Total", line, sizeof(line)));
	cr_assert(strstr(out, line));
	cr_assert(mi_line(host_meminfo, "Hugepagesize", line, sizeof(line)));
	cr_assert(strstr(out, line));
	/* same lines, same order */
	for (const char *p = host_meminfo; *p; p++)
		host_lines += *p == '\n';
	for (const char *p = out; *p; p++)
		out_lines += *p == '\n';
	cr_assert_eq(out_lines, host_lines);
	{
		struct span hr = S(host_meminfo), orr = S(out), hl, ol;

		while (line_next(&hr, &hl)) {
			cr_assert(line_next(&orr, &ol));
			cr_assert(memchr(hl.p, ':', hl.len));
			size_t kl = (size_t)((const char *)memchr(hl.p, ':', hl.len) - hl.p) + 1;
			cr_assert(ol.len >= kl && memcmp(ol.p, hl.p, kl) == 0, "%.*s vs %.*s",
				  (int)hl.len, hl.p, (int)ol.len, ol.p);
		}
	}
}

Test(meminfo, format_wide_values_and_truncation)
{
	struct mem_view v = {.total = 123456789012ULL, .free = 5};
	char out[256];
	struct buf b;

	buf_init(&b, out, sizeof(out) - 1);
	cr_assert_eq(meminfo_render(S("MemTotal: 1 kB\nMemFree: 1 kB\nHugePages_Free: 7\nbogus\n"
				      "Odd: 1 kB extra\n"),
				    &v, &b),
		     0);
	out[b.len] = '\0';
	cr_assert_str_eq(out, "MemTotal:       123456789012 kB\n"
			      "MemFree:               5 kB\n"
			      "HugePages_Free: 7\n"
			      "bogus\n"
			      "Odd: 1 kB extra\n");

	/* empty host file: empty output */
	buf_init(&b, out, sizeof(out));
	cr_assert_eq(meminfo_render(S(""), &v, &b), 0);
	cr_assert_eq(b.len, 0);

	/* a buffer too small says so */
	buf_init(&b, out, 10);
	cr_assert_eq(meminfo_render(S(host_meminfo), &v, &b), -ENOBUFS);
	cr_assert_gt(b.need, 10);
}

Test(swaps, header_and_device)
{
	struct mem_view v = {.total = 1000};
	char out[512];
	struct buf b;

	buf_init(&b, out, sizeof(out) - 1);
	cr_assert_eq(swaps_render(&v, &b), 0);
	out[b.len] = '\0';
	/* the header as `cat /proc/swaps` prints it on this kernel */
	cr_assert_str_eq(out, "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");

	v.swap_total = 1048576;
	v.swap_free = 1048576 - 2048;
	buf_init(&b, out, sizeof(out) - 1);
	cr_assert_eq(swaps_render(&v, &b), 0);
	out[b.len] = '\0';
	cr_assert_str_eq(
		out, "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
		     "none                                    partition\t1048576\t\t2048\t\t-2\n");

	/* 8+ digit sizes lose the extra tab, like swap_show() */
	v.swap_total = 12345678;
	v.swap_free = 0;
	buf_init(&b, out, sizeof(out) - 1);
	cr_assert_eq(swaps_render(&v, &b), 0);
	out[b.len] = '\0';
	cr_assert(strstr(out, "partition\t12345678\t12345678\t-2\n"), "%s", out);
}
