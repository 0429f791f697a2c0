/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Differential tests of the single-pass memory parsers and meminfo renderer (model/memstat.c,
 * meminfo.c) against the straightforward line-by-line versions kept in memory-ref.c: real files,
 * then thousands of mutations of them (bytes replaced by blanks, tabs, colons, digits, newlines;
 * lines cut; "max" and 20-digit values), and every result must be identical, byte for byte.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "memory-ref.h"
#include "mutate.h"

static const char meminfo_text[] = "MemTotal:       24684084 kB\n"
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
				   "SwapTotal:       8388604 kB\n"
				   "SwapFree:        8388604 kB\n"
				   "Zswap:                 0 kB\n"
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
				   "CommitLimit:    12342040 kB\n"
				   "Committed_AS:      70708 kB\n"
				   "VmallocTotal:   34359738367 kB\n"
				   "VmallocUsed:       14316 kB\n"
				   "VmallocChunk:          0 kB\n"
				   "AnonHugePages:         0 kB\n"
				   "HugePages_Total:       0\n"
				   "Hugepagesize:       2048 kB\n"
				   "DirectMap2M:     2066432 kB\n"
				   "DirectMap1G:    25165824 kB\n";

static const char memstat_v1_text[] =
	"cache 172097536\nrss 1916928\nrss_huge 0\nshmem 0\nmapped_file 8237056\ndirty 65536\n"
	"writeback 0\nswap 0\npgpgin 1029082\ninactive_anon 1806336\nactive_anon 16384\n"
	"inactive_file 83611648\nactive_file 88485888\nunevictable 0\n"
	"hierarchical_memory_limit 536870912\nhierarchical_memsw_limit 9223372036854771712\n"
	"total_cache 172097536\ntotal_rss 1916928\ntotal_rss_huge 2097152\ntotal_shmem 4096\n"
	"total_mapped_file 8237056\ntotal_dirty 65536\ntotal_writeback 8192\ntotal_swap 0\n"
	"total_pgpgin 1029082\ntotal_inactive_anon 1806336\ntotal_active_anon 16384\n"
	"total_inactive_file 83611648\ntotal_active_file 88485888\ntotal_unevictable 12288\n";

static const char memstat_v2_text[] =
	"anon 1000\nfile 2000\nkernel 5\nkernel_stack 7\nshmem 300\nfile_mapped 400\n"
	"file_dirty 50\nfile_writeback 60\nanon_thp 70\ninactive_anon 80\nactive_anon 90\n"
	"inactive_file 100\nactive_file 110\nunevictable 120\nslab_reclaimable 130\n"
	"slab_unreclaimable 140\nslab 270\npgfault 12345\n";

static const char *const inserts[] = {" ",
				      "\t",
				      ":",
				      "\n",
				      "max",
				      "0",
				      "9",
				      "18446744073709551616",
				      "99999999999999999999",
				      " kB",
				      "kB",
				      "x",
				      ":",
				      "total_",
				      "\r",
				      "0000000"};

static struct mutator mut = {.state = 0x2545F4914F6CDD1DULL,
			     .inserts = inserts,
			     .n_inserts = sizeof(inserts) / sizeof(inserts[0]),
			     .bytes = " \t:\n0123456789kBx",
			     .min_edits = 1,
			     .delete_len = 3};

static uint64_t rnd(void)
{
	return mutator_rnd(&mut);
}

static size_t mutate(const char *src, size_t len, char *out, size_t cap)
{
	return mutator_apply(&mut, src, len, out, cap);
}

static void check_memstat(const char *t, size_t n, bool v1)
{
	struct cg_memstat a, b;
	int ra, rb;

	memset(&a, 0x5a, sizeof(a));
	memset(&b, 0x5a, sizeof(b));
	ra = memstat_parse((struct span){t, n}, v1, &a);
	rb = ref_memstat_parse((struct span){t, n}, v1, &b);
	cr_assert_eq(ra, rb, "v1=%d ret %d vs ref %d on:\n%.*s", v1, ra, rb, (int)n, t);
	if (ra < 0)
		return;
	/* the flags are new: the reference leaves them as it found them */
	b.has_hierarchical_memory_limit = a.has_hierarchical_memory_limit;
	b.has_hierarchical_memsw_limit = a.has_hierarchical_memsw_limit;
	cr_assert(memcmp(&a, &b, sizeof(a)) == 0, "v1=%d fields differ on:\n%.*s", v1, (int)n, t);
	if (v1) {
		/* the flag says whether the key was there, as a search for it does */
		uint64_t v;

		cr_assert_eq(a.has_hierarchical_memory_limit,
			     keyed_u64((struct span){t, n}, "hierarchical_memory_limit", &v) == 0);
		cr_assert_eq(a.has_hierarchical_memsw_limit,
			     keyed_u64((struct span){t, n}, "hierarchical_memsw_limit", &v) == 0);
	} else {
		cr_assert(!a.has_hierarchical_memory_limit && !a.has_hierarchical_memsw_limit);
	}
}

static void check_host(const char *t, size_t n)
{
	struct host_memory a, b;
	int ra, rb;

	memset(&a, 0x5a, sizeof(a));
	memset(&b, 0x5a, sizeof(b));
	ra = host_memory_parse((struct span){t, n}, &a);
	rb = ref_host_memory_parse((struct span){t, n}, &b);
	cr_assert_eq(ra, rb, "ret %d vs ref %d on:\n%.*s", ra, rb, (int)n, t);
	cr_assert(memcmp(&a, &b, sizeof(a)) == 0, "fields differ on:\n%.*s", (int)n, t);
}

static void check_render(const char *t, size_t n, const struct mem_view *v, size_t cap)
{
	static char oa[16384], ob[16384];
	struct buf a, b;
	int ra, rb;

	buf_init(&a, oa, cap);
	buf_init(&b, ob, cap);
	ra = meminfo_render((struct span){t, n}, v, &a);
	rb = ref_meminfo_render((struct span){t, n}, v, &b);
	cr_assert_eq(ra, rb);
	cr_assert_eq(a.need, b.need, "need %zu vs %zu on:\n%.*s", a.need, b.need, (int)n, t);
	cr_assert_eq(a.len, b.len);
	cr_assert(memcmp(oa, ob, a.len) == 0, "output differs on:\n%.*s\n---\n%.*s\n---\n%.*s",
		  (int)n, t, (int)a.len, oa, (int)b.len, ob);
}

static struct mem_view view_random(void)
{
	struct mem_view v;
	uint64_t *f = (uint64_t *)&v;

	for (size_t i = 0; i < sizeof(v) / sizeof(uint64_t); i++)
		f[i] = rnd() % 4 == 0 ? rnd() : rnd() % 30000000;
	if (rnd() % 8 == 0)
		v.total = UINT64_MAX;
	return v;
}

Test(memory_diff, real_files)
{
	struct mem_view v = {.total = 524288, .free = 1000, .unevictable = 5, .sreclaimable = 7};

	check_memstat(memstat_v1_text, strlen(memstat_v1_text), true);
	check_memstat(memstat_v1_text, strlen(memstat_v1_text), false);
	check_memstat(memstat_v2_text, strlen(memstat_v2_text), false);
	check_memstat(memstat_v2_text, strlen(memstat_v2_text), true);
	check_host(meminfo_text, strlen(meminfo_text));
	check_render(meminfo_text, strlen(meminfo_text), &v, 16384);
	check_render(meminfo_text, strlen(meminfo_text), &v, 100);
	check_render("", 0, &v, 100);
	check_render("\n", 1, &v, 100);
	check_render("MemTotal: 1 kB", 14, &v, 100);
	check_render("Foo:Bar: 99999999 kB\nX::9999999 kB\n:99999999 kB\n", 48, &v, 200);
	check_host("MemTotal:x: 5 kB\n", 17);
	check_host("MemTotal:max kB\nSwapTotal:\t7\n", 29);
}

Test(memory_diff, mutations)
{
	static char t[8192];
	static const char *const bases[] = {meminfo_text, memstat_v1_text, memstat_v2_text};

	for (unsigned i = 0; i < 30000; i++) {
		const char *base = bases[i % 3];
		size_t n = mutate(base, strlen(base), t, sizeof(t));
		struct mem_view v = view_random();

		check_memstat(t, n, true);
		check_memstat(t, n, false);
		check_host(t, n);
		check_render(t, n, &v, rnd() % 3 == 0 ? (size_t)(rnd() % 2048) : sizeof(t) * 2);
	}
}

Test(memory_diff, totals_only)
{
	static char t[8192];

	/* the totals-only parse stops early but agrees with the whole parse on both totals */
	for (unsigned i = 0; i < 20000; i++) {
		size_t n = mutate(meminfo_text, strlen(meminfo_text), t, sizeof(t));
		struct host_memory a, b;

		if (host_memory_parse((struct span){t, n}, &a) < 0)
			continue;
		cr_assert_eq(host_memory_parse_totals((struct span){t, n}, true, &b), 0);
		cr_assert_eq(a.mem_total, b.mem_total);
		cr_assert_eq(a.swap_total, b.swap_total);
	}
	/* a garbled line after both totals no longer matters to it */
	{
		static const char g[] = "MemTotal: 5 kB\nSwapTotal: 7 kB\nShmem: x kB\n";
		struct host_memory h;

		cr_assert_eq(host_memory_parse((struct span){g, strlen(g)}, &h), -EINVAL);
		cr_assert_eq(host_memory_parse_totals((struct span){g, strlen(g)}, true, &h), 0);
		cr_assert_eq(h.mem_total, 5);
		cr_assert_eq(h.swap_total, 7);
		cr_assert_eq(
			host_memory_parse_totals((struct span){"SwapTotal: 7 kB\n", 16}, true, &h),
			-EINVAL, "MemTotal is still required");
	}
}
