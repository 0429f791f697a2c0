/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Per-node meminfo for a machine. See nodemem.h. Pure: no I/O, no allocation, no snprintf.
 */
#include <stddef.h>
#include <string.h>

#include "macro.h"
#include "nodemem.h"

/* A key of the node file and the view field it shows (NODE_USED: total - free). */
struct node_key {
	const char *key;
	ptrdiff_t field;
};

#define NODE_USED (-1)
#define NK(k, f)                                                                                   \
	{                                                                                          \
		k, (ptrdiff_t)offsetof(struct mem_view, f)                                         \
	}

static const struct node_key node_keys[] = {
	NK("MemTotal", total),
	NK("MemFree", free),
	{"MemUsed", NODE_USED},
	NK("Active", active),
	NK("Inactive", inactive),
	NK("Active(anon)", active_anon),
	NK("Inactive(anon)", inactive_anon),
	NK("Active(file)", active_file),
	NK("Inactive(file)", inactive_file),
	NK("Unevictable", unevictable),
	NK("Dirty", dirty),
	NK("Writeback", writeback),
	NK("FilePages", cached),
	NK("Mapped", mapped),
	NK("AnonPages", anon_pages),
	NK("Shmem", shmem),
	NK("KReclaimable", sreclaimable),
	NK("Slab", slab),
	NK("SReclaimable", sreclaimable),
	NK("SUnreclaim", sunreclaim),
	NK("AnonHugePages", anon_huge),
};

static uint64_t node_value(const struct mem_view *v, struct span key, uint64_t host_kb)
{
	for (size_t i = 0; i < ARRAY_SIZE(node_keys); i++) {
		if (!span_eq(key, node_keys[i].key))
			continue;
		if (node_keys[i].field == NODE_USED)
			return sat_sub(v->total, v->free);
		return *(const uint64_t *)((const char *)v + node_keys[i].field);
	}
	return u64_min(host_kb, v->total);
}

/* Split "Node 0 Key:   123 kB" into the key and the field holding the number (the blanks and
 * digits between ':' and " kB"). false for any other shape. */
static bool node_line_split(struct span line, struct span *ret_key, struct span *ret_field,
			    uint64_t *ret_value)
{
	struct span rest = line, w;
	const char *colon, *end = line.p + line.len, *digits;

	if (!word_next(&rest, &w) || !span_eq(w, "Node") || !word_next(&rest, &w) ||
	    !word_next(&rest, &w))
		return false;
	colon = w.p + w.len - 1;
	if (w.len < 2 || *colon != ':' || line.len < 3 || memcmp(end - 3, " kB", 3) != 0)
		return false;
	digits = scan_back_digits(colon + 1, end - 3);
	if (digits == end - 3 || scan_back_blanks(colon + 1, digits) != colon + 1)
		return false;
	*ret_key = (struct span){w.p, w.len - 1};
	*ret_field = (struct span){colon + 1, (size_t)(end - 3 - (colon + 1))};
	return parse_u64((struct span){digits, (size_t)(end - 3 - digits)}, ret_value) == 0;
}

int nodememinfo_render(struct span host, const struct mem_view *v, struct buf *out)
{
	struct span line;

	while (line_next(&host, &line)) {
		struct span key, field;
		uint64_t hv;

		if (!node_line_split(line, &key, &field, &hv)) {
			buf_putn(out, line.p, line.len);
		} else {
			char d[20];
			size_t n = buf_u64_digits(node_value(v, key, hv), d);

			buf_putn(out, line.p, (size_t)(field.p - line.p));
			/* at least one blank after the colon, as the kernel prints */
			buf_put_spaces(out, field.len > n ? field.len - n : 1);
			buf_putn(out, d + 20 - n, n);
			buf_puts(out, " kB");
		}
		buf_putc(out, '\n');
	}
	return buf_result(out);
}
