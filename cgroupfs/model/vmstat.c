/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /proc/vmstat renderer. See vmstat.h. Pure: no I/O, no allocation, no snprintf.
 */
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "misc.h"
#include "vmstat.h"

enum vm_unit {
	VM_COUNT, /* an event counter: as the cgroup prints it */
	VM_PAGES, /* bytes in memory.stat, pages in vmstat */
	VM_KB,	  /* bytes in memory.stat, kB in vmstat (nr_kernel_stack) */
	VM_HPAGES /* bytes in memory.stat, PMD-sized huge pages in vmstat */
};

/* A /proc/vmstat key the cgroup accounts for, and its memory.stat key (v2, and v1 after the
 * "total_" prefix of its hierarchical keys; NULL where that version has none). */
struct vm_key {
	const char *host, *v2, *v1;
	enum vm_unit unit;
};

static const struct vm_key vm_keys[] = {
	{"nr_inactive_anon", "inactive_anon", "inactive_anon", VM_PAGES},
	{"nr_active_anon", "active_anon", "active_anon", VM_PAGES},
	{"nr_inactive_file", "inactive_file", "inactive_file", VM_PAGES},
	{"nr_active_file", "active_file", "active_file", VM_PAGES},
	{"nr_unevictable", "unevictable", "unevictable", VM_PAGES},
	{"nr_zone_inactive_anon", "inactive_anon", "inactive_anon", VM_PAGES},
	{"nr_zone_active_anon", "active_anon", "active_anon", VM_PAGES},
	{"nr_zone_inactive_file", "inactive_file", "inactive_file", VM_PAGES},
	{"nr_zone_active_file", "active_file", "active_file", VM_PAGES},
	{"nr_zone_unevictable", "unevictable", "unevictable", VM_PAGES},
	{"nr_slab_reclaimable", "slab_reclaimable", NULL, VM_PAGES},
	{"nr_slab_unreclaimable", "slab_unreclaimable", NULL, VM_PAGES},
	{"nr_anon_pages", "anon", "rss", VM_PAGES},
	{"nr_mapped", "file_mapped", "mapped_file", VM_PAGES},
	{"nr_file_pages", "file", "cache", VM_PAGES},
	{"nr_dirty", "file_dirty", "dirty", VM_PAGES},
	{"nr_writeback", "file_writeback", "writeback", VM_PAGES},
	{"nr_shmem", "shmem", "shmem", VM_PAGES},
	{"nr_swapcached", "swapcached", "swapcached", VM_PAGES},
	{"nr_page_table_pages", "pagetables", NULL, VM_PAGES},
	{"nr_sec_page_table_pages", "sec_pagetables", NULL, VM_PAGES},
	{"nr_kernel_stack", "kernel_stack", NULL, VM_KB},
	{"nr_anon_transparent_hugepages", "anon_thp", "rss_huge", VM_HPAGES},
	{"nr_file_hugepages", "file_thp", NULL, VM_HPAGES},
	{"nr_shmem_hugepages", "shmem_thp", NULL, VM_HPAGES},
	{"pgfault", "pgfault", "pgfault", VM_COUNT},
	{"pgmajfault", "pgmajfault", "pgmajfault", VM_COUNT},
	{"pgrefill", "pgrefill", NULL, VM_COUNT},
	{"pgscan_kswapd", "pgscan_kswapd", NULL, VM_COUNT},
	{"pgscan_direct", "pgscan_direct", NULL, VM_COUNT},
	{"pgscan_khugepaged", "pgscan_khugepaged", NULL, VM_COUNT},
	{"pgsteal_kswapd", "pgsteal_kswapd", NULL, VM_COUNT},
	{"pgsteal_direct", "pgsteal_direct", NULL, VM_COUNT},
	{"pgsteal_khugepaged", "pgsteal_khugepaged", NULL, VM_COUNT},
	{"pgactivate", "pgactivate", NULL, VM_COUNT},
	{"pgdeactivate", "pgdeactivate", NULL, VM_COUNT},
	{"pglazyfree", "pglazyfree", NULL, VM_COUNT},
	{"pglazyfreed", "pglazyfreed", NULL, VM_COUNT},
	{"workingset_refault_anon", "workingset_refault_anon", "workingset_refault_anon", VM_COUNT},
	{"workingset_refault_file", "workingset_refault_file", "workingset_refault_file", VM_COUNT},
	{"workingset_activate_anon", "workingset_activate_anon", NULL, VM_COUNT},
	{"workingset_activate_file", "workingset_activate_file", NULL, VM_COUNT},
	{"workingset_restore_anon", "workingset_restore_anon", NULL, VM_COUNT},
	{"workingset_restore_file", "workingset_restore_file", NULL, VM_COUNT},
	{"workingset_nodereclaim", "workingset_nodereclaim", NULL, VM_COUNT},
	{"thp_fault_alloc", "thp_fault_alloc", NULL, VM_COUNT},
	{"thp_collapse_alloc", "thp_collapse_alloc", NULL, VM_COUNT},
	{"thp_swpout", "thp_swpout", NULL, VM_COUNT},
	{"thp_swpout_fallback", "thp_swpout_fallback", NULL, VM_COUNT},
	{"zswpin", "zswpin", NULL, VM_COUNT},
	{"zswpout", "zswpout", NULL, VM_COUNT},
	{"zswpwb", "zswpwb", NULL, VM_COUNT},
	{"pswpin", "pswpin", NULL, VM_COUNT},
	{"pswpout", "pswpout", NULL, VM_COUNT},
};

#define VM_NKEYS ARRAY_SIZE(vm_keys)

/* The lines computed from more than one input. */
enum vm_special {
	VM_NONE,
	VM_FREE,	  /* nr_free_pages <- free_kb */
	VM_WRITE_PENDING, /* nr_zone_write_pending <- dirty + writeback */
	VM_PGPGIN,	  /* kB read from block devices */
	VM_PGPGOUT,	  /* kB written */
	VM_OOM_KILL	  /* memory.events oom_kill */
};

static enum vm_special vm_special_of(struct span k)
{
	if (span_eq(k, "nr_free_pages"))
		return VM_FREE;
	if (span_eq(k, "nr_zone_write_pending"))
		return VM_WRITE_PENDING;
	if (span_eq(k, "pgpgin"))
		return VM_PGPGIN;
	if (span_eq(k, "pgpgout"))
		return VM_PGPGOUT;
	if (span_eq(k, "oom_kill"))
		return VM_OOM_KILL;
	return VM_NONE;
}

/* Which name of a vm_keys[] row a lookup is by. */
enum vm_side {
	VM_SIDE_HOST,
	VM_SIDE_V2,
	VM_SIDE_V1
};

static const char *vm_name(size_t i, enum vm_side side)
{
	return side == VM_SIDE_HOST ? vm_keys[i].host
	       : side == VM_SIDE_V2 ? vm_keys[i].v2
				    : vm_keys[i].v1;
}

/*
 * An open-addressed index from one side's names to vm_keys[] rows, built on the stack for each
 * render (the model keeps no state). A host vmstat has ~180 lines and memory.stat ~60: scanning
 * the whole table for each line cost ~300k instructions per render, the index ~10% of that.
 */
#define VM_SLOTS 128u
_Static_assert(VM_NKEYS * 2 <= VM_SLOTS && VM_NKEYS < 255, "vm_index: too full for short probes");

struct vm_index {
	uint8_t slot[VM_SLOTS]; /* row + 1; 0: empty */
};

/* Length and three bytes: the names differ there, and a full-byte hash cost more than it saved. */
static size_t vm_hash(struct span k)
{
	size_t h = k.len;

	if (k.len == 0)
		return 0;
	h = h * 31 + (unsigned char)k.p[k.len - 1];
	if (k.len > 4)
		h = h * 31 + (unsigned char)k.p[k.len - 3];
	h = h * 31 + (unsigned char)k.p[k.len / 2];
	return h % VM_SLOTS;
}

static void vm_index_build(struct vm_index *idx, enum vm_side side)
{
	memset(idx->slot, 0, sizeof(idx->slot));
	for (size_t i = 0; i < VM_NKEYS; i++) {
		const char *name = vm_name(i, side);
		size_t j;

		if (!name)
			continue;
		for (j = vm_hash((struct span){name, strlen(name)}); idx->slot[j];
		     j = (j + 1) % VM_SLOTS)
			;
		idx->slot[j] = (uint8_t)(i + 1);
	}
}

/* The row whose host name is @k, or -1. */
static int vm_index_find(const struct vm_index *idx, struct span k)
{
	for (size_t j = vm_hash(k); idx->slot[j]; j = (j + 1) % VM_SLOTS) {
		size_t i = idx->slot[j] - 1u;

		if (span_eq(k, vm_keys[i].host))
			return (int)i;
	}
	return -1;
}

/* The values memory.stat has for vm_keys[], found in one pass over it. */
struct vm_values {
	uint64_t v[VM_NKEYS];
	bool have[VM_NKEYS];
	uint64_t dirty, writeback;
	bool have_dirty, have_writeback;
	uint64_t io_read, io_written; /* bytes, every device */
};

static void vm_values_collect(struct span memstat, bool v1, struct vm_values *ret)
{
	enum vm_side side = v1 ? VM_SIDE_V1 : VM_SIDE_V2;
	struct vm_index index, *idx = &index;
	struct span line;

	vm_index_build(idx, side);

	while (line_next(&memstat, &line)) {
		struct span k, w;
		uint64_t v;

		if (!word_next(&line, &k) || !word_next(&line, &w) || parse_u64(w, &v) < 0)
			continue;
		if (v1) {
			/* v1 hierarchical keys only: the machine's figures include its sub-cgroups.
			 */
			if (!span_startswith(k, "total_"))
				continue;
			k.p += 6;
			k.len -= 6;
		}
		/* every row named so: nr_inactive_anon and nr_zone_inactive_anon share a key */
		for (size_t j = vm_hash(k); idx->slot[j]; j = (j + 1) % VM_SLOTS) {
			size_t i = idx->slot[j] - 1u;

			if (span_eq(k, vm_name(i, side))) {
				ret->v[i] = v;
				ret->have[i] = true;
			}
		}
		if (span_eq(k, v1 ? "dirty" : "file_dirty")) {
			ret->dirty = v;
			ret->have_dirty = true;
		} else if (span_eq(k, v1 ? "writeback" : "file_writeback")) {
			ret->writeback = v;
			ret->have_writeback = true;
		}
	}
}

static uint64_t vm_scale(uint64_t bytes, enum vm_unit unit, uint64_t page_size)
{
	switch (unit) {
	case VM_PAGES:
		return bytes / page_size;
	case VM_KB:
		return bytes / 1024;
	case VM_HPAGES:
		/* A PMD maps as many pages as a page holds 8-byte entries (512 x 4 KiB = 2 MiB). */
		return bytes / (page_size * (page_size / 8));
	case VM_COUNT:
		break;
	}
	return bytes;
}

static bool span_has(struct span s, const char *lit)
{
	size_t n = strlen(lit);

	for (size_t i = 0; i + n <= s.len; i++)
		if (memcmp(s.p + i, lit, n) == 0)
			return true;
	return false;
}

/* The cgroup's value for host key @k; false: the line stays the host's. */
static bool vm_value(struct span k, const struct vmstat_inputs *in, const struct vm_values *vals,
		     const struct vm_index *host_idx, uint64_t *ret)
{
	int i;

	if (in->no_swap && (span_has(k, "swp") || span_has(k, "swap"))) {
		*ret = 0;
		return true;
	}
	switch (vm_special_of(k)) {
	case VM_FREE:
		*ret = in->free_kb * 1024 / in->page_size;
		return true;
	case VM_WRITE_PENDING:
		if (!vals->have_dirty || !vals->have_writeback)
			return false;
		*ret = sat_add(vals->dirty, vals->writeback) / in->page_size;
		return true;
	case VM_PGPGIN:
		*ret = vals->io_read / 1024;
		return true;
	case VM_PGPGOUT:
		*ret = vals->io_written / 1024;
		return true;
	case VM_OOM_KILL:
		return keyed_u64(in->events, "oom_kill", ret) == 0;
	case VM_NONE:
		break;
	}
	i = vm_index_find(host_idx, k);
	if (i < 0 || !vals->have[i])
		return false;
	*ret = vm_scale(vals->v[i], vm_keys[i].unit, in->page_size);
	return true;
}

int vmstat_render(struct span host_vmstat, const struct vmstat_inputs *in, struct buf *out)
{
	struct vm_values vals = {0};
	struct vm_index host_idx;
	struct span rest = host_vmstat, line;

	if (in->page_size < 1024 || (in->page_size & (in->page_size - 1)))
		return -EINVAL;
	vm_values_collect(in->memstat, in->v1, &vals);
	io_totals(in->iostat, in->v1_io_bytes, &vals.io_read, &vals.io_written);
	vm_index_build(&host_idx, VM_SIDE_HOST);
	while (line_next(&rest, &line)) {
		struct span words = line, k;
		uint64_t v;

		if (word_next(&words, &k) && vm_value(k, in, &vals, &host_idx, &v)) {
			buf_putn(out, k.p, k.len);
			buf_putc(out, ' ');
			buf_put_u64(out, v);
		} else {
			buf_putn(out, line.p, line.len);
		}
		buf_putc(out, '\n');
	}
	return buf_result(out);
}
