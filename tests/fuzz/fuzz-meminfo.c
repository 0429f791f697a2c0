/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz the meminfo pipeline: host_memory_parse, memstat_parse, mem_view_compute, meminfo_render
 * and swaps_render. Input: 1 flag byte (bit 0 v1, bit 1 swap accounted), 8 bytes each of limit,
 * usage, swap limit, swap usage, then host /proc/meminfo, NUL, memory.stat.
 * Invariants: every view field <= MemTotal, swap free <= swap total, free's "used" >= 0, and
 * every "Key: N kB" line of the output (except Vmalloc* and Swap{Total,Free}) <= MemTotal.
 */
#include "fuzz.h"
#include "model/memory.h"

struct ctx {
	struct span host;
	const struct mem_view *v;
};

static int meminfo_fn(const void *p, struct buf *out)
{
	const struct ctx *c = p;

	return meminfo_render(c->host, c->v, out);
}

static int swaps_fn(const void *p, struct buf *out)
{
	const struct ctx *c = p;

	return swaps_render(c->v, out);
}

static void check_view(const struct mem_view *v)
{
	const uint64_t f[] = {
		v->free,	  v->available,	  v->buffers,	  v->cached,	    v->shmem,
		v->active,	  v->inactive,	  v->active_anon, v->inactive_anon, v->active_file,
		v->inactive_file, v->unevictable, v->dirty,	  v->writeback,	    v->anon_pages,
		v->mapped,	  v->anon_huge,	  v->slab,	  v->sreclaimable,  v->sunreclaim,
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		FUZZ_CHECK(f[i] <= v->total);
	FUZZ_CHECK(v->swap_free <= v->swap_total);
	FUZZ_CHECK(sat_add(sat_add(v->free, v->buffers), sat_add(v->cached, v->sreclaimable)) <=
		   v->total);
}

static void check_render(const char *o, size_t len, const struct mem_view *v)
{
	struct span rest = {o, len}, line;

	while (line_next(&rest, &line)) {
		const char *colon = memchr(line.p, ':', line.len);
		struct span key, tail, w, unit;
		uint64_t val;

		if (!colon)
			continue;
		key = (struct span){line.p, (size_t)(colon - line.p)};
		tail = (struct span){colon + 1, line.len - key.len - 1};
		if (!word_next(&tail, &w) || !word_next(&tail, &unit) || !span_eq(unit, "kB") ||
		    word_next(&tail, &unit))
			continue;
		if (span_startswith(key, "Vmalloc"))
			continue;
		if (span_eq(key, "SwapTotal") || span_eq(key, "SwapFree")) {
			/* swap is not memory: bounded by the view's swap, not by MemTotal */
			if (parse_u64(w, &val) == 0)
				FUZZ_CHECK(val <= v->swap_total);
			continue;
		}
		if (parse_u64(w, &val) == 0)
			FUZZ_CHECK(val <= v->total);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned flags = (unsigned)fuzz_take_u64(&data, &size, 1);
	struct cg_memory cg = {0};
	struct host_memory host;
	struct mem_view v;
	struct span host_text, stat_text;
	struct ctx c = {.v = &v};
	size_t len;
	char *o;

	cg.limit = fuzz_take_u64(&data, &size, 8);
	cg.usage = fuzz_take_u64(&data, &size, 8);
	cg.swap_limit = fuzz_take_u64(&data, &size, 8);
	cg.swap_usage = fuzz_take_u64(&data, &size, 8);
	cg.swap_accounted = flags & 2;
	if (flags & 4)
		cg.limit = UINT64_MAX;
	host_text = fuzz_take_part(&data, &size);
	stat_text = (struct span){(const char *)data, size};

	if (host_memory_parse(host_text, &host) < 0)
		return 0;
	if (memstat_parse(stat_text, flags & 1, &cg.stat) < 0)
		memset(&cg.stat, 0, sizeof(cg.stat));
	FUZZ_CHECK(mem_view_compute(&host, &cg, &v) == 0);
	check_view(&v);
	if (cg.limit == UINT64_MAX)
		FUZZ_CHECK(v.total == host.mem_total);
	else
		FUZZ_CHECK(v.total <= host.mem_total);

	c.host = host_text;
	o = fuzz_render(meminfo_fn, &c, host_text.len * 2 + 4096, flags % 53, &len);
	FUZZ_CHECK(o);
	check_render(o, len, &v);
	free(o);
	o = fuzz_render(swaps_fn, &c, 4096, flags % 67, &len);
	FUZZ_CHECK(o);
	FUZZ_CHECK(fuzz_count(o, len, '\n') == (v.swap_total ? 2u : 1u));
	free(o);
	return 0;
}
