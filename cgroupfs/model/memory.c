/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The memory model: memory.stat and /proc/meminfo parsing, the machine view derived from a
 * cgroup's limits and usage, and the /proc/meminfo and /proc/swaps renderers. See memory.h.
 * Pure: no I/O, no allocation, no snprintf (render paths must be async-signal-safe).
 */
#include <errno.h>
#include <string.h>

#include "memory.h"

/* cgroup v1 prints "unlimited" as PAGE_COUNTER_MAX * PAGE_SIZE (9223372036854771712 with 4k
 * pages); anything this large is no limit. */
#define V1_UNLIMITED_MIN (UINT64_C(1) << 62)

struct memstat_key {
	const char *v2;
	const char *v1; /* NULL: the key does not exist on v1 (reads 0) */
	size_t off;
	size_t v2_len, v1_len; /* strlen: most keys are rejected on it alone */
};

#define MK(v2, v1, field)                                                                          \
	{                                                                                          \
		v2, v1, offsetof(struct cg_memstat, field), sizeof(v2) - 1, sizeof(v1) - 1         \
	}
#define MK2(v2, field)                                                                             \
	{                                                                                          \
		v2, NULL, offsetof(struct cg_memstat, field), sizeof(v2) - 1, 0                    \
	}

/* v1 names are the hierarchical total_* keys: the cgroup and all its descendants, like v2. */
static const struct memstat_key memstat_keys[] = {
	MK("anon", "total_rss", anon),
	MK("file", "total_cache", file),
	MK("shmem", "total_shmem", shmem),
	MK("file_mapped", "total_mapped_file", file_mapped),
	MK("file_dirty", "total_dirty", file_dirty),
	MK("file_writeback", "total_writeback", file_writeback),
	MK("anon_thp", "total_rss_huge", anon_thp),
	MK("active_anon", "total_active_anon", active_anon),
	MK("inactive_anon", "total_inactive_anon", inactive_anon),
	MK("active_file", "total_active_file", active_file),
	MK("inactive_file", "total_inactive_file", inactive_file),
	MK("unevictable", "total_unevictable", unevictable),
	MK2("slab", slab),
	MK2("slab_reclaimable", slab_reclaimable),
	MK2("slab_unreclaimable", slab_unreclaimable),
};

#undef MK
#undef MK2

static uint64_t v1_limit(uint64_t v)
{
	return v >= V1_UNLIMITED_MIN ? UINT64_MAX : v;
}

int memstat_parse(struct span text, bool v1, struct cg_memstat *ret)
{
	struct cg_memstat st = {0};
	struct span line;

	st.hierarchical_memory_limit = UINT64_MAX;
	st.hierarchical_memsw_limit = UINT64_MAX;

	/* One pass over the file; keys are matched exactly (the whole first word), so
	 * "total_rss_huge" never reads "total_rss" and vice versa. */
	while (line_next(&text, &line)) {
		struct span key;
		uint64_t v;
		int r;

		if (!word_next(&line, &key))
			continue;
		if (v1 && span_eq(key, "hierarchical_memory_limit")) {
			r = parse_u64(line, &v);
			if (r < 0)
				return -EINVAL;
			st.hierarchical_memory_limit = v1_limit(v);
			continue;
		}
		if (v1 && span_eq(key, "hierarchical_memsw_limit")) {
			r = parse_u64(line, &v);
			if (r < 0)
				return -EINVAL;
			st.hierarchical_memsw_limit = v1_limit(v);
			continue;
		}
		for (size_t i = 0; i < sizeof(memstat_keys) / sizeof(memstat_keys[0]); i++) {
			const char *name = v1 ? memstat_keys[i].v1 : memstat_keys[i].v2;
			size_t len = v1 ? memstat_keys[i].v1_len : memstat_keys[i].v2_len;

			if (!name || key.len != len || memcmp(key.p, name, len) != 0)
				continue;
			r = parse_u64(line, &v);
			if (r < 0)
				return -EINVAL;
			memcpy((char *)&st + memstat_keys[i].off, &v, sizeof(v));
			break;
		}
	}
	*ret = st;
	return 0;
}

static int meminfo_opt(struct span text, const char *key, uint64_t *ret)
{
	int r;

	r = meminfo_u64(text, key, ret);
	if (r == -ENOENT) {
		*ret = 0;
		return 0;
	}
	return r;
}

int host_memory_parse(struct span meminfo, struct host_memory *ret)
{
	struct host_memory h = {0};
	int r;

	/* MemTotal is the one field a view cannot do without. */
	r = meminfo_u64(meminfo, "MemTotal", &h.mem_total);
	if (r < 0)
		return -EINVAL;
	if ((r = meminfo_opt(meminfo, "MemFree", &h.mem_free)) < 0 ||
	    (r = meminfo_opt(meminfo, "MemAvailable", &h.mem_available)) < 0 ||
	    (r = meminfo_opt(meminfo, "Buffers", &h.buffers)) < 0 ||
	    (r = meminfo_opt(meminfo, "Cached", &h.cached)) < 0 ||
	    (r = meminfo_opt(meminfo, "SwapTotal", &h.swap_total)) < 0 ||
	    (r = meminfo_opt(meminfo, "SwapFree", &h.swap_free)) < 0 ||
	    (r = meminfo_opt(meminfo, "Shmem", &h.shmem)) < 0)
		return -EINVAL;
	*ret = h;
	return 0;
}

static uint64_t kb(uint64_t bytes)
{
	return bytes / 1024;
}

static uint64_t kb_to_bytes(uint64_t k)
{
	return k > UINT64_MAX / 1024 ? UINT64_MAX : k * 1024;
}

int mem_view_compute(const struct host_memory *host, const struct cg_memory *cg,
		     struct mem_view *ret)
{
	const struct cg_memstat *st = &cg->stat;
	struct mem_view v = {0};
	uint64_t t, room;

	/* A limit at or above the host's memory (or none) shows the host. */
	t = cg->limit == UINT64_MAX ? host->mem_total
				    : kb(u64_min(cg->limit, kb_to_bytes(host->mem_total)));
	v.total = t;
	v.free = sat_sub(t, kb(cg->usage));

	/* memory.stat races memory.current (separate reads, and the kernel updates its per-CPU
	 * stat batches lazily), so every field is clamped to total. */
	v.cached = u64_min(kb(st->file), t); /* page cache incl. shmem, like Cached */
	v.shmem = u64_min(kb(st->shmem), t);
	v.active_anon = u64_min(kb(st->active_anon), t);
	v.inactive_anon = u64_min(kb(st->inactive_anon), t);
	v.active_file = u64_min(kb(st->active_file), t);
	v.inactive_file = u64_min(kb(st->inactive_file), t);
	v.active = u64_min(sat_add(v.active_anon, v.active_file), t);
	v.inactive = u64_min(sat_add(v.inactive_anon, v.inactive_file), t);
	v.unevictable = u64_min(kb(st->unevictable), t);
	v.dirty = u64_min(kb(st->file_dirty), t);
	v.writeback = u64_min(kb(st->file_writeback), t);
	v.anon_pages = u64_min(kb(st->anon), t);
	v.mapped = u64_min(kb(st->file_mapped), t);
	v.anon_huge = u64_min(kb(st->anon_thp), t);
	v.sreclaimable = u64_min(kb(st->slab_reclaimable), t);
	v.sunreclaim = u64_min(kb(st->slab_unreclaimable), t);
	v.slab = kb(st->slab);
	if (v.slab == 0)
		v.slab = sat_add(v.sreclaimable, v.sunreclaim);
	v.slab = u64_min(v.slab, t);
	v.buffers = 0;

	v.available =
		sat_add(v.free, sat_add(sat_add(v.active_file, v.inactive_file), v.sreclaimable));
	v.available = u64_min(v.available, t);

	/* procps free: used = total - free - buffers - (Cached + SReclaimable). When usage and
	 * memory.stat disagree, give up cache first, then reclaimable slab, so used >= 0. */
	room = sat_sub(t, sat_add(v.free, v.buffers));
	v.cached = u64_min(v.cached, room);
	room -= v.cached;
	v.sreclaimable = u64_min(v.sreclaimable, room);
	if (v.slab < v.sreclaimable)
		v.slab = v.sreclaimable;

	/* Swap only when the cgroup accounts it (lxcfs does the same): otherwise the host's swap
	 * would look usable by the container. */
	if (cg->swap_accounted) {
		v.swap_total = cg->swap_limit == UINT64_MAX
				       ? host->swap_total
				       : u64_min(kb(cg->swap_limit), host->swap_total);
		v.swap_free = v.swap_total - u64_min(kb(cg->swap_usage), v.swap_total);
	}

	*ret = v;
	return 0;
}

/* Lines whose value is the view's, in /proc/meminfo spelling. */
struct meminfo_field {
	const char *key;
	size_t len; /* strlen(key): most lines are rejected on it alone */
	size_t off; /* offset in struct mem_view, or SIZE_MAX for a constant 0 */
};

#define MF(key, field)                                                                             \
	{                                                                                          \
		key, sizeof(key) - 1, offsetof(struct mem_view, field)                             \
	}

static const struct meminfo_field meminfo_fields[] = {
	MF("MemTotal", total),
	MF("MemFree", free),
	MF("MemAvailable", available),
	MF("Buffers", buffers),
	MF("Cached", cached),
	{"SwapCached", sizeof("SwapCached") - 1, SIZE_MAX},
	MF("Active", active),
	MF("Inactive", inactive),
	MF("Active(anon)", active_anon),
	MF("Inactive(anon)", inactive_anon),
	MF("Active(file)", active_file),
	MF("Inactive(file)", inactive_file),
	MF("Unevictable", unevictable),
	MF("SwapTotal", swap_total),
	MF("SwapFree", swap_free),
	MF("Dirty", dirty),
	MF("Writeback", writeback),
	MF("AnonPages", anon_pages),
	MF("Mapped", mapped),
	MF("Shmem", shmem),
	MF("Slab", slab),
	MF("SReclaimable", sreclaimable),
	MF("SUnreclaim", sunreclaim),
	MF("AnonHugePages", anon_huge),
};

/* Host-wide lines a machine figure bounds: mlocked pages sit on the unevictable list, and
 * reclaimable kernel memory charged to a cgroup is its reclaimable slab. Without this a 512 MiB
 * container would report the whole host's Mlocked (seen: 19 MiB with no usage at all). */
static const struct meminfo_field meminfo_bounded[] = {
	MF("Mlocked", unevictable),
	MF("KReclaimable", sreclaimable),
};

#undef MF

static bool meminfo_lookup(const struct meminfo_field *table, size_t n, struct span key,
			   const struct mem_view *v, uint64_t *ret)
{
	for (size_t i = 0; i < n; i++) {
		if (key.len != table[i].len || memcmp(key.p, table[i].key, key.len) != 0)
			continue;
		*ret = 0;
		if (table[i].off != SIZE_MAX)
			memcpy(ret, (const char *)v + table[i].off, sizeof(*ret));
		return true;
	}
	return false;
}

/* Address space, not memory: never clamped to MemTotal. */
static const char *const meminfo_verbatim[] = {"VmallocTotal", "VmallocUsed", "VmallocChunk"};

/* fs/proc/meminfo.c show_val_kb(): "Key:" padded to 16 columns, the value right-aligned in 8,
 * then " kB". */
static void meminfo_line(struct buf *out, struct span key, uint64_t val)
{
	buf_putn(out, key.p, key.len);
	buf_putc(out, ':');
	for (size_t i = key.len + 1; i < 16; i++)
		buf_putc(out, ' ');
	if (key.len + 1 >= 16)
		buf_putc(out, ' ');
	buf_put_u64_width(out, val, 8);
	buf_puts(out, " kB\n");
}

int meminfo_render(struct span host_meminfo, const struct mem_view *v, struct buf *out)
{
	struct span rest = host_meminfo, line;

	while (line_next(&rest, &line)) {
		const char *colon = memchr(line.p, ':', line.len);
		struct span key, tail, w, unit;
		uint64_t val, bound;

		if (!colon)
			goto verbatim;
		key = (struct span){line.p, (size_t)(colon - line.p)};
		tail = (struct span){colon + 1, line.len - key.len - 1};
		/* Only "Key: N kB" lines are touched; HugePages_Total etc. stay as they are. */
		if (!word_next(&tail, &w) || !word_next(&tail, &unit) || !span_eq(unit, "kB") ||
		    word_next(&tail, &unit))
			goto verbatim;
		if (meminfo_lookup(meminfo_fields,
				   sizeof(meminfo_fields) / sizeof(meminfo_fields[0]), key, v,
				   &val)) {
			meminfo_line(out, key, val);
			continue;
		}
		if (meminfo_lookup(meminfo_bounded,
				   sizeof(meminfo_bounded) / sizeof(meminfo_bounded[0]), key, v,
				   &bound) &&
		    parse_u64(w, &val) == 0) {
			meminfo_line(out, key, u64_min(val, bound));
			continue;
		}
		for (size_t i = 0; i < sizeof(meminfo_verbatim) / sizeof(meminfo_verbatim[0]); i++)
			if (span_eq(key, meminfo_verbatim[i]))
				goto verbatim;
		/* Anything else (Mlocked, CommitLimit, DirectMap*, ...) must not exceed MemTotal.
		 */
		if (parse_u64(w, &val) == 0 && val > v->total) {
			meminfo_line(out, key, v->total);
			continue;
		}
	verbatim:
		buf_putn(out, line.p, line.len);
		buf_putc(out, '\n');
	}
	return buf_result(out);
}

/* The header exactly as mm/swapfile.c swap_show() prints it. */
#define SWAPS_HEADER "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
/* One virtual device standing for the cgroup's swap allowance (lxcfs calls it "none"). */
#define SWAPS_DEVICE "none"

int swaps_render(const struct mem_view *v, struct buf *out)
{
	uint64_t used;
	size_t len = strlen(SWAPS_DEVICE);

	buf_puts(out, SWAPS_HEADER);
	if (v->swap_total == 0)
		return buf_result(out);
	used = sat_sub(v->swap_total, v->swap_free);

	/* swap_show(): the path, padded to 40 columns (at least one space), the type, then size
	 * and used in kB each followed by an extra tab while shorter than 8 digits, then the
	 * priority. A virtual device is neither file nor block: shown as a partition. */
	buf_puts(out, SWAPS_DEVICE);
	for (size_t i = 0; i < (len < 40 ? 40 - len : 1); i++)
		buf_putc(out, ' ');
	buf_puts(out, "partition\t");
	buf_put_u64(out, v->swap_total);
	buf_puts(out, v->swap_total < 10000000 ? "\t\t" : "\t");
	buf_put_u64(out, used);
	buf_puts(out, used < 10000000 ? "\t\t" : "\t");
	buf_puts(out, "-2\n");
	return buf_result(out);
}
