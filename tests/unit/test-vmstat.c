/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the /proc/vmstat renderer (model/vmstat.c) and the I/O totals behind pgpgin. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "model/misc.h"
#include "model/vmstat.h"

static struct span S(const char *s) {
	return (struct span){s, strlen(s)};
}

/* A host file as a 6.x kernel prints it (abridged, order kept). */
static const char host[] = "nr_free_pages 1179362\n"
			   "nr_zone_inactive_anon 52457\n"
			   "nr_zone_write_pending 12146\n"
			   "numa_hit 7799031\n"
			   "nr_inactive_anon 52457\n"
			   "nr_active_file 84211\n"
			   "nr_slab_reclaimable 39045\n"
			   "workingset_refault_file 23704\n"
			   "nr_anon_pages 54621\n"
			   "nr_mapped 10318\n"
			   "nr_file_pages 323054\n"
			   "nr_dirty 12156\n"
			   "nr_writeback 0\n"
			   "nr_kernel_stack 3196\n"
			   "nr_anon_transparent_hugepages 7\n"
			   "nr_dirty_threshold 1195054\n"
			   "pgpgin 1185729\n"
			   "pgpgout 3160628\n"
			   "pswpin 11\n"
			   "pgfault 9999999\n"
			   "pgmajfault 8888\n"
			   "oom_kill 5\n";

static const char v2_stat[] = "anon 40960000\n"
			      "file 8192000\n"
			      "kernel_stack 65536\n"
			      "shmem 0\n"
			      "file_mapped 4096000\n"
			      "file_dirty 8192\n"
			      "file_writeback 4096\n"
			      "anon_thp 4194304\n"
			      "inactive_anon 20480000\n"
			      "active_file 409600\n"
			      "slab_reclaimable 1228800\n"
			      "workingset_refault_file 17\n"
			      "pgfault 1234\n"
			      "pgmajfault 56\n";

static const char v2_events[] = "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n";
static const char v2_io[] = "8:0 rbytes=1048576 wbytes=2048 rios=3 wios=1 dbytes=0 dios=0\n"
			    "253:1 rbytes=1024 wbytes=4096 rios=1 wios=1 dbytes=0 dios=0\n";

static void render(const char *h, const struct vmstat_inputs *in, char *out, size_t size)
{
	struct buf b;

	buf_init(&b, out, size - 1);
	cr_assert_eq(vmstat_render(S(h), in, &b), 0);
	out[b.len] = '\0';
}

/* The value printed for @key, or -1 when the key is not in @text. */
static long long value_of(const char *text, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, key, n) == 0 && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
	return -1;
}

/* The keys of @text in order, one per line, for comparing layouts. */
static void keys_of(const char *text, char *ret, size_t size)
{
	size_t len = 0;

	for (const char *p = text; *p;) {
		const char *sp = strchr(p, ' '), *nl = strchr(p, '\n');

		cr_assert(sp && nl && sp < nl);
		len += (size_t)snprintf(ret + len, size - len, "%.*s\n", (int)(sp - p), p);
		p = nl + 1;
	}
}

Test(vmstat, v2_cgroup_lines_and_host_lines)
{
	struct vmstat_inputs in = {
		.memstat = S(v2_stat),
		.events = S(v2_events),
		.iostat = S(v2_io),
		.free_kb = 400000,
		.page_size = 4096,
	};
	char out[4096], hk[2048], ok[2048];

	render(host, &in, out, sizeof(out));
	cr_assert_eq(value_of(out, "nr_free_pages"), 100000);
	cr_assert_eq(value_of(out, "nr_anon_pages"), 10000);
	cr_assert_eq(value_of(out, "nr_file_pages"), 2000);
	cr_assert_eq(value_of(out, "nr_mapped"), 1000);
	cr_assert_eq(value_of(out, "nr_inactive_anon"), 5000);
	cr_assert_eq(value_of(out, "nr_zone_inactive_anon"), 5000);
	cr_assert_eq(value_of(out, "nr_active_file"), 100);
	cr_assert_eq(value_of(out, "nr_slab_reclaimable"), 300);
	cr_assert_eq(value_of(out, "nr_dirty"), 2);
	cr_assert_eq(value_of(out, "nr_writeback"), 1);
	cr_assert_eq(value_of(out, "nr_zone_write_pending"), 3);
	cr_assert_eq(value_of(out, "nr_kernel_stack"), 64, "kB, like the kernel");
	cr_assert_eq(value_of(out, "nr_anon_transparent_hugepages"), 2, "2 MiB pages");
	cr_assert_eq(value_of(out, "workingset_refault_file"), 17);
	cr_assert_eq(value_of(out, "pgfault"), 1234);
	cr_assert_eq(value_of(out, "pgmajfault"), 56);
	cr_assert_eq(value_of(out, "oom_kill"), 1);
	cr_assert_eq(value_of(out, "pgpgin"), (1048576 + 1024) / 1024, "kB read, all devices");
	cr_assert_eq(value_of(out, "pgpgout"), (2048 + 4096) / 1024);
	/* Host-only lines and keys this memory.stat lacks stay the host's. */
	cr_assert_eq(value_of(out, "numa_hit"), 7799031);
	cr_assert_eq(value_of(out, "nr_dirty_threshold"), 1195054);
	cr_assert_eq(value_of(out, "pswpin"), 11);
	/* Same keys, same order. */
	keys_of(host, hk, sizeof(hk));
	keys_of(out, ok, sizeof(ok));
	cr_assert_str_eq(ok, hk);
}

Test(vmstat, v1_uses_hierarchical_keys_and_blkio)
{
	static const char v1_stat[] = "cache 4096\nrss 4096\nmapped_file 0\npgfault 1\n"
				      "total_cache 8192000\ntotal_rss 40960000\n"
				      "total_rss_huge 2097152\ntotal_mapped_file 4096\n"
				      "total_dirty 4096\ntotal_writeback 0\ntotal_pgfault 777\n"
				      "total_pgmajfault 3\ntotal_pgpgin 999999\n"
				      "total_workingset_refault_file 42\n";
	static const char v1_oom[] = "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n";
	static const char v1_bytes[] = "8:0 Read 2097152\n8:0 Write 1024\n8:0 Sync 0\n"
				       "8:0 Async 2098176\n8:0 Discard 0\n8:0 Total 2098176\n"
				       "8:16 Read 1024\n8:16 Write 0\nTotal 2099200\n";
	struct vmstat_inputs in = {
		.memstat = S(v1_stat),
		.v1 = true,
		.events = S(v1_oom),
		.v1_io_bytes = S(v1_bytes),
		.free_kb = 1024,
		.page_size = 4096,
	};
	char out[4096];

	render(host, &in, out, sizeof(out));
	cr_assert_eq(value_of(out, "nr_anon_pages"), 10000, "total_rss, not rss");
	cr_assert_eq(value_of(out, "nr_file_pages"), 2000);
	cr_assert_eq(value_of(out, "nr_mapped"), 1);
	cr_assert_eq(value_of(out, "nr_anon_transparent_hugepages"), 1);
	cr_assert_eq(value_of(out, "pgfault"), 777);
	cr_assert_eq(value_of(out, "pgmajfault"), 3);
	cr_assert_eq(value_of(out, "oom_kill"), 2);
	cr_assert_eq(value_of(out, "pgpgin"), (2097152 + 1024) / 1024,
		     "block reads, not v1's charge events");
	cr_assert_eq(value_of(out, "pgpgout"), 1);
	cr_assert_eq(value_of(out, "nr_free_pages"), 256);
	cr_assert_eq(value_of(out, "workingset_refault_file"), 42);
	/* v1 has no slab or kernel stack keys: host lines. */
	cr_assert_eq(value_of(out, "nr_slab_reclaimable"), 39045);
	cr_assert_eq(value_of(out, "nr_kernel_stack"), 3196);
}

Test(vmstat, no_io_and_no_events)
{
	struct vmstat_inputs in = {.memstat = S(v2_stat), .free_kb = 0, .page_size = 4096};
	char out[4096];

	render(host, &in, out, sizeof(out));
	cr_assert_eq(value_of(out, "pgpgin"), 0, "a cgroup that did no I/O read nothing");
	cr_assert_eq(value_of(out, "pgpgout"), 0);
	cr_assert_eq(value_of(out, "oom_kill"), 5, "no events file: the host's line");
	cr_assert_eq(value_of(out, "nr_free_pages"), 0);
}

Test(vmstat, garbage_values_and_bad_page_size)
{
	struct vmstat_inputs in = {
		.memstat = S("anon x12\nfile\n\nfile_mapped 18446744073709551616\n"),
		.free_kb = 4,
		.page_size = 4096,
	};
	char out[4096];
	struct buf b;

	render(host, &in, out, sizeof(out));
	cr_assert_eq(value_of(out, "nr_anon_pages"), 54621, "unparsable: host line");
	cr_assert_eq(value_of(out, "nr_file_pages"), 323054);
	cr_assert_eq(value_of(out, "nr_mapped"), 10318, "overflowing value: host line");
	in.page_size = 3000;
	buf_init(&b, out, sizeof(out));
	cr_assert_eq(vmstat_render(S(host), &in, &b), -EINVAL);
	in.page_size = 0;
	cr_assert_eq(vmstat_render(S(host), &in, &b), -EINVAL);
}

Test(vmstat, short_buffer_and_unterminated_host)
{
	struct vmstat_inputs in = {.memstat = S(v2_stat), .free_kb = 8, .page_size = 4096};
	char out[16];
	struct buf b;

	buf_init(&b, out, sizeof(out));
	cr_assert_eq(vmstat_render(S(host), &in, &b), -ENOBUFS);
	cr_assert_gt(b.need, sizeof(out));

	char big[256];
	render("numa_hit 1\nnr_free_pages 9", &in, big, sizeof(big));
	cr_assert_str_eq(big, "numa_hit 1\nnr_free_pages 2\n");
}

Test(io_totals, v2_v1_and_empty)
{
	uint64_t r = 1, w = 1;

	io_totals(S(v2_io), S(""), &r, &w);
	cr_assert_eq(r, 1048576 + 1024);
	cr_assert_eq(w, 2048 + 4096);
	io_totals(S(""), S("8:0 Read 10\n8:0 Write 20\n8:0 Total 30\nTotal 30\n"), &r, &w);
	cr_assert_eq(r, 10);
	cr_assert_eq(w, 20);
	io_totals(S(""), S("Total 0\n"), &r, &w);
	cr_assert_eq(r, 0);
	cr_assert_eq(w, 0);
}
