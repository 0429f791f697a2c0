/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reference implementations for the differential tests of test-memory.c: the straightforward
 * line-by-line parsers and meminfo renderer that model/memstat.c and meminfo.c had before its
 * single-pass rewrite (span and word helpers, a linear table search per key). The tests feed both
 * the same input and require identical results, byte for byte.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "memory-ref.h"

#define V1_UNLIMITED_MIN (UINT64_C(1) << 62)

static uint64_t ref_v1_limit(uint64_t v)
{
	return v >= V1_UNLIMITED_MIN ? UINT64_MAX : v;
}

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
static const struct memstat_key ref_memstat_keys[] = {
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

int ref_memstat_parse(struct span text, bool v1, struct cg_memstat *ret)
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

		/* v1: only total_* and hierarchical_* keys are read; the other half of the file is
		 * rejected on its first letter, before its key is scanned. */
		if (v1) {
			while (line.len > 0 && (line.p[0] == ' ' || line.p[0] == '\t')) {
				line.p++;
				line.len--;
			}
			if (line.len == 0 || (line.p[0] != 't' && line.p[0] != 'h'))
				continue;
		}
		if (!word_next(&line, &key))
			continue;
		if (v1 && span_eq(key, "hierarchical_memory_limit")) {
			r = parse_u64(line, &v);
			if (r < 0)
				return -EINVAL;
			st.hierarchical_memory_limit = ref_v1_limit(v);
			continue;
		}
		if (v1 && span_eq(key, "hierarchical_memsw_limit")) {
			r = parse_u64(line, &v);
			if (r < 0)
				return -EINVAL;
			st.hierarchical_memsw_limit = ref_v1_limit(v);
			continue;
		}
		for (size_t i = 0; i < sizeof(ref_memstat_keys) / sizeof(ref_memstat_keys[0]);
		     i++) {
			const char *name = v1 ? ref_memstat_keys[i].v1 : ref_memstat_keys[i].v2;
			size_t len = v1 ? ref_memstat_keys[i].v1_len : ref_memstat_keys[i].v2_len;

			if (!name || key.len != len || memcmp(key.p, name, len) != 0)
				continue;
			r = parse_u64(line, &v);
			if (r < 0)
				return -EINVAL;
			memcpy((char *)&st + ref_memstat_keys[i].off, &v, sizeof(v));
			break;
		}
	}
	*ret = st;
	return 0;
}

/* The host lines a view reads, in /proc/meminfo spelling. */
struct host_field {
	const char *key;
	size_t len;
	size_t off; /* in struct host_memory */
};

#define HF(key, field)                                                                             \
	{                                                                                          \
		key, sizeof(key) - 1, offsetof(struct host_memory, field)                          \
	}

static const struct host_field ref_host_fields[] = {
	HF("MemTotal", mem_total), HF("MemFree", mem_free), HF("MemAvailable", mem_available),
	HF("Buffers", buffers),	   HF("Cached", cached),    HF("SwapTotal", swap_total),
	HF("SwapFree", swap_free), HF("Shmem", shmem),
};

#undef HF

#define REF_HOST_FIELDS (sizeof(ref_host_fields) / sizeof(ref_host_fields[0]))

int ref_host_memory_parse(struct span meminfo, struct host_memory *ret)
{
	struct host_memory h = {0};
	struct span line;
	unsigned found = 0, all = (1u << REF_HOST_FIELDS) - 1;

	/* One pass (the first line of each key counts, like meminfo_u64()), stopping once every
	 * field is found. A field's line that does not parse is an error; a missing one reads 0,
	 * but MemTotal is the one field a view cannot do without. */
	while (found != all && line_next(&meminfo, &line)) {
		for (size_t i = 0; i < REF_HOST_FIELDS; i++) {
			const struct host_field *f = &ref_host_fields[i];
			struct span w;
			uint64_t v;

			if ((found >> i) & 1 || line.len <= f->len || line.p[f->len] != ':' ||
			    line.p[0] != f->key[0] || memcmp(line.p, f->key, f->len) != 0)
				continue;
			line.p += f->len + 1;
			line.len -= f->len + 1;
			if (!word_next(&line, &w) || parse_u64(w, &v) < 0)
				return -EINVAL;
			memcpy((char *)&h + f->off, &v, sizeof(v));
			found |= 1u << i;
			break;
		}
	}
	if (!(found & 1))
		return -EINVAL;
	*ret = h;
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

static const struct meminfo_field ref_meminfo_fields[] = {
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
static const struct meminfo_field ref_meminfo_bounded[] = {
	MF("Mlocked", unevictable),
	MF("KReclaimable", sreclaimable),
};

#undef MF

static bool ref_meminfo_lookup(const struct meminfo_field *table, size_t n, struct span key,
			       const struct mem_view *v, uint64_t *ret)
{
	for (size_t i = 0; i < n; i++) {
		if (key.len != table[i].len || key.p[0] != table[i].key[0] ||
		    memcmp(key.p, table[i].key, key.len) != 0)
			continue;
		*ret = 0;
		if (table[i].off != SIZE_MAX)
			memcpy(ret, (const char *)v + table[i].off, sizeof(*ret));
		return true;
	}
	return false;
}

/* Address space, not memory: never clamped to MemTotal. */
static const char *const ref_meminfo_verbatim[] = {"VmallocTotal", "VmallocUsed", "VmallocChunk"};

/* fs/proc/meminfo.c show_val_kb(): "Key:" padded to 16 columns, the value right-aligned in 8,
 * then " kB". */
static void ref_meminfo_line(struct buf *out, struct span key, uint64_t val)
{
	buf_putn(out, key.p, key.len);
	buf_putc(out, ':');
	buf_put_spaces(out, key.len + 1 < 16 ? 15 - key.len : 1);
	buf_put_u64_width(out, val, 8);
	buf_putn(out, " kB\n", 4);
}

int ref_meminfo_render(struct span host_meminfo, const struct mem_view *v, struct buf *out)
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
		if (ref_meminfo_lookup(ref_meminfo_fields,
				       sizeof(ref_meminfo_fields) / sizeof(ref_meminfo_fields[0]),
				       key, v, &val)) {
			ref_meminfo_line(out, key, val);
			continue;
		}
		if (ref_meminfo_lookup(ref_meminfo_bounded,
				       sizeof(ref_meminfo_bounded) / sizeof(ref_meminfo_bounded[0]),
				       key, v, &bound) &&
		    parse_u64(w, &val) == 0) {
			ref_meminfo_line(out, key, u64_min(val, bound));
			continue;
		}
		for (size_t i = 0;
		     i < sizeof(ref_meminfo_verbatim) / sizeof(ref_meminfo_verbatim[0]); i++)
			if (span_eq(key, ref_meminfo_verbatim[i]))
				goto verbatim;
		/* Anything else (Mlocked, CommitLimit, DirectMap*, ...) must not exceed MemTotal.
		 */
		if (parse_u64(w, &val) == 0 && val > v->total) {
			ref_meminfo_line(out, key, v->total);
			continue;
		}
	verbatim:
		buf_putn(out, line.p, line.len);
		buf_putc(out, '\n');
	}
	return buf_result(out);
}
