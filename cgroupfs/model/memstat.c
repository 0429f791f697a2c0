/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memory.stat (cgroup v2, and v1's hierarchical total_* keys) into struct cg_memstat; see
 * memory.h. Pure: no I/O, no allocation.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "memory.h"

#define MS_NONE (-1)
#define MS(field) ((int)offsetof(struct cg_memstat, field))

/* The keys v1 and v2 spell alike (v1 after its "total_" prefix). */
static int memstat_key_common(const char *k, size_t n)
{
	switch (k[0]) {
	case 'a':
		if (KEY_IS(k, n, "active_anon"))
			return MS(active_anon);
		if (KEY_IS(k, n, "active_file"))
			return MS(active_file);
		break;
	case 'i':
		if (KEY_IS(k, n, "inactive_anon"))
			return MS(inactive_anon);
		if (KEY_IS(k, n, "inactive_file"))
			return MS(inactive_file);
		break;
	case 's':
		if (KEY_IS(k, n, "shmem"))
			return MS(shmem);
		break;
	case 'u':
		if (KEY_IS(k, n, "unevictable"))
			return MS(unevictable);
		break;
	}
	return MS_NONE;
}

/* v2 names. */
static int memstat_key_v2(const char *k, size_t n)
{
	switch (k[0]) {
	case 'a':
		if (KEY_IS(k, n, "anon"))
			return MS(anon);
		if (KEY_IS(k, n, "anon_thp"))
			return MS(anon_thp);
		break;
	case 'f':
		if (KEY_IS(k, n, "file"))
			return MS(file);
		if (KEY_IS(k, n, "file_mapped"))
			return MS(file_mapped);
		if (KEY_IS(k, n, "file_dirty"))
			return MS(file_dirty);
		if (KEY_IS(k, n, "file_writeback"))
			return MS(file_writeback);
		return MS_NONE;
	case 's':
		if (KEY_IS(k, n, "slab"))
			return MS(slab);
		if (KEY_IS(k, n, "slab_reclaimable"))
			return MS(slab_reclaimable);
		if (KEY_IS(k, n, "slab_unreclaimable"))
			return MS(slab_unreclaimable);
		break;
	}
	return memstat_key_common(k, n);
}

/* v1 names after "total_": the hierarchical counters (the cgroup and its descendants, like v2). */
static int memstat_key_v1_total(const char *k, size_t n)
{
	switch (k[0]) {
	case 'r':
		if (KEY_IS(k, n, "rss"))
			return MS(anon);
		if (KEY_IS(k, n, "rss_huge"))
			return MS(anon_thp);
		return MS_NONE;
	case 'c':
		if (KEY_IS(k, n, "cache"))
			return MS(file);
		return MS_NONE;
	case 'm':
		if (KEY_IS(k, n, "mapped_file"))
			return MS(file_mapped);
		return MS_NONE;
	case 'd':
		if (KEY_IS(k, n, "dirty"))
			return MS(file_dirty);
		return MS_NONE;
	case 'w':
		if (KEY_IS(k, n, "writeback"))
			return MS(file_writeback);
		return MS_NONE;
	}
	return memstat_key_common(k, n);
}

/* Where the v1 limits go: past the counters, told apart from them. */
#define MS_HIER_MEM MS(hierarchical_memory_limit)
#define MS_HIER_MEMSW MS(hierarchical_memsw_limit)

/* v1: only total_* and hierarchical_* keys are read; the other half of the file is rejected on
 * its first letter. */
static int memstat_key_v1(const char *k, size_t n)
{
	if (n > 6 && memcmp(k, "total_", 6) == 0)
		return memstat_key_v1_total(k + 6, n - 6);
	if (KEY_IS(k, n, "hierarchical_memory_limit"))
		return MS_HIER_MEM;
	if (KEY_IS(k, n, "hierarchical_memsw_limit"))
		return MS_HIER_MEMSW;
	return MS_NONE;
}

/*
 * The value after a key: [p, end) up to the end of the line, blanks around it, digits only (or
 * "max", as parse_u64() reads it). Sets *@ret_next past the line. The common case, digits then
 * '\n', is scanned once; anything else goes through parse_u64() for its exact verdict.
 */
static int value_scan(const char *p, const char *end, uint64_t *ret, const char **ret_next)
{
	const char *start = p, *d, *eol;
	uint64_t v = 0;

	p = scan_blanks(p, end);
	d = p;
	while (p < end && (unsigned)(*p - '0') <= 9) {
		v = v * 10 + (uint64_t)(*p - '0');
		p++;
	}
	if (p > d && p - d <= 19 && (p == end || *p == '\n')) {
		*ret_next = p < end ? p + 1 : end;
		*ret = v;
		return 0;
	}
	eol = memchr(p, '\n', (size_t)(end - p));
	if (!eol)
		eol = end;
	*ret_next = eol < end ? eol + 1 : end;
	return parse_u64((struct span){start, (size_t)(eol - start)}, ret);
}

int memstat_parse(struct span text, bool v1, struct cg_memstat *ret)
{
	const char *p = text.p, *end = text.p + text.len;
	struct cg_memstat st = {0};

	st.hierarchical_memory_limit = UINT64_MAX;
	st.hierarchical_memsw_limit = UINT64_MAX;

	/* One pass over the file, each byte looked at about once; keys are matched exactly (the
	 * whole first word), so "total_rss_huge" never reads "total_rss" and vice versa. */
	while (p < end) {
		const char *k, *nl;
		uint64_t v;
		int off;

		while (p < end && is_blank(*p))
			p++;
		k = p;
		if (p < end && (!v1 || *p == 't' || *p == 'h')) {
			p = scan_word_end(p, end);
			off = p == k ? MS_NONE
				     : (v1 ? memstat_key_v1 : memstat_key_v2)(k, (size_t)(p - k));
		} else {
			off = MS_NONE;
		}
		if (off == MS_NONE) {
			nl = memchr(p, '\n', (size_t)(end - p));
			p = nl ? nl + 1 : end;
			continue;
		}
		if (value_scan(p, end, &v, &p) < 0)
			return -EINVAL;
		if (off == MS_HIER_MEM) {
			st.hierarchical_memory_limit = memory_v1_limit(v);
			st.has_hierarchical_memory_limit = true;
		} else if (off == MS_HIER_MEMSW) {
			st.hierarchical_memsw_limit = memory_v1_limit(v);
			st.has_hierarchical_memsw_limit = true;
		} else {
			memcpy((char *)&st + off, &v, sizeof(v));
		}
	}
	*ret = st;
	return 0;
}
