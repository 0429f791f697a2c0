/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /proc/meminfo: the host's text parsed into struct host_memory, and rendered again with the
 * machine's view (struct mem_view) in place of the host's figures; see memory.h. Pure: no I/O,
 * no allocation, no snprintf (render paths must be async-signal-safe).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "macro.h"
#include "memory.h"

/*
 * The first word of [p, end) (leading blanks skipped) as parse_u64() reads it; the rest of the
 * line is ignored. Sets *@ret_next past the line. Digits are scanned once in the common case.
 */
static int word_u64_scan(const char *p, const char *end, uint64_t *ret, const char **ret_next)
{
	const char *w, *eol;
	uint64_t v = 0;
	int r;

	p = scan_blanks(p, end);
	w = p;
	while (p < end && (unsigned)(*p - '0') <= 9) {
		v = v * 10 + (uint64_t)(*p - '0');
		p++;
	}
	if (p > w && p - w <= 19 && (p == end || is_blank(*p) || *p == '\n')) {
		*ret = v;
		r = 0;
	} else {
		while (p < end && !is_blank(*p) && *p != '\n')
			p++;
		r = p == w ? -EINVAL : parse_u64((struct span){w, (size_t)(p - w)}, ret);
	}
	eol = memchr(p, '\n', (size_t)(end - p));
	*ret_next = eol ? eol + 1 : end;
	return r;
}

/*
 * The /proc/meminfo keys the model knows, and what a render does with each: a field of the view
 * (MI_FIELD), a constant 0 (MI_ZERO), the host's value bounded by a field of the view
 * (MI_BOUNDED), the host's value verbatim (MI_VERBATIM). Any other "Key: N kB" line is clamped to
 * MemTotal. @host: where host_memory_parse() keeps the value (HOST_NONE: it does not).
 */
enum mi_kind {
	MI_OTHER,
	MI_FIELD,
	MI_ZERO,
	MI_BOUNDED,
	MI_VERBATIM
};

enum mi_id {
	MI_MEMTOTAL,
	MI_MEMFREE,
	MI_MEMAVAILABLE,
	MI_BUFFERS,
	MI_CACHED,
	MI_SWAPCACHED,
	MI_ACTIVE,
	MI_INACTIVE,
	MI_ACTIVE_ANON,
	MI_INACTIVE_ANON,
	MI_ACTIVE_FILE,
	MI_INACTIVE_FILE,
	MI_UNEVICTABLE,
	MI_SWAPTOTAL,
	MI_SWAPFREE,
	MI_DIRTY,
	MI_WRITEBACK,
	MI_ANONPAGES,
	MI_MAPPED,
	MI_SHMEM,
	MI_SLAB,
	MI_SRECLAIMABLE,
	MI_SUNRECLAIM,
	MI_ANONHUGEPAGES,
	/* Host-wide lines a machine figure bounds: mlocked pages sit on the unevictable list,
	 * and reclaimable kernel memory charged to a cgroup is its reclaimable slab. Without this
	 * a 512 MiB container would report the whole host's Mlocked (seen: 19 MiB with no usage
	 * at all). */
	MI_MLOCKED,
	MI_KRECLAIMABLE,
	/* Address space, not memory: never clamped to MemTotal. */
	MI_VMALLOCTOTAL,
	MI_VMALLOCUSED,
	MI_VMALLOCCHUNK,
	MI_UNKNOWN,
};

#define HOST_NONE 0xff
#define HOST_IDX(field) (offsetof(struct host_memory, field) / sizeof(uint64_t))
#define VIEW_IDX(field) (offsetof(struct mem_view, field) / sizeof(uint64_t))

struct mi_key {
	unsigned char kind;
	unsigned char view; /* index of the uint64_t in struct mem_view */
	unsigned char host; /* index of the uint64_t in struct host_memory, or HOST_NONE */
};

#define MIF(id, field) [id] = {MI_FIELD, VIEW_IDX(field), HOST_NONE}
#define MIH(id, field, hfield) [id] = {MI_FIELD, VIEW_IDX(field), HOST_IDX(hfield)}

static const struct mi_key mi_keys[] = {
	MIH(MI_MEMTOTAL, total, mem_total),
	MIH(MI_MEMFREE, free, mem_free),
	MIH(MI_MEMAVAILABLE, available, mem_available),
	MIH(MI_BUFFERS, buffers, buffers),
	MIH(MI_CACHED, cached, cached),
	[MI_SWAPCACHED] = {MI_ZERO, 0, HOST_NONE},
	MIF(MI_ACTIVE, active),
	MIF(MI_INACTIVE, inactive),
	MIF(MI_ACTIVE_ANON, active_anon),
	MIF(MI_INACTIVE_ANON, inactive_anon),
	MIF(MI_ACTIVE_FILE, active_file),
	MIF(MI_INACTIVE_FILE, inactive_file),
	MIF(MI_UNEVICTABLE, unevictable),
	MIH(MI_SWAPTOTAL, swap_total, swap_total),
	MIH(MI_SWAPFREE, swap_free, swap_free),
	MIF(MI_DIRTY, dirty),
	MIF(MI_WRITEBACK, writeback),
	MIF(MI_ANONPAGES, anon_pages),
	MIF(MI_MAPPED, mapped),
	MIH(MI_SHMEM, shmem, shmem),
	MIF(MI_SLAB, slab),
	MIF(MI_SRECLAIMABLE, sreclaimable),
	MIF(MI_SUNRECLAIM, sunreclaim),
	MIF(MI_ANONHUGEPAGES, anon_huge),
	[MI_MLOCKED] = {MI_BOUNDED, VIEW_IDX(unevictable), HOST_NONE},
	[MI_KRECLAIMABLE] = {MI_BOUNDED, VIEW_IDX(sreclaimable), HOST_NONE},
	[MI_VMALLOCTOTAL] = {MI_VERBATIM, 0, HOST_NONE},
	[MI_VMALLOCUSED] = {MI_VERBATIM, 0, HOST_NONE},
	[MI_VMALLOCCHUNK] = {MI_VERBATIM, 0, HOST_NONE},
	[MI_UNKNOWN] = {MI_OTHER, 0, HOST_NONE},
};

#undef MIF
#undef MIH

/* The key's id: a switch on the first letter, then whole-key compares of known length. */
static enum mi_id mi_lookup(const char *k, size_t n)
{
	if (n == 0)
		return MI_UNKNOWN;
	switch (k[0]) {
	case 'A':
		if (KEY_IS(k, n, "Active"))
			return MI_ACTIVE;
		if (KEY_IS(k, n, "Active(anon)"))
			return MI_ACTIVE_ANON;
		if (KEY_IS(k, n, "Active(file)"))
			return MI_ACTIVE_FILE;
		if (KEY_IS(k, n, "AnonPages"))
			return MI_ANONPAGES;
		if (KEY_IS(k, n, "AnonHugePages"))
			return MI_ANONHUGEPAGES;
		break;
	case 'B':
		if (KEY_IS(k, n, "Buffers"))
			return MI_BUFFERS;
		break;
	case 'C':
		if (KEY_IS(k, n, "Cached"))
			return MI_CACHED;
		break;
	case 'D':
		if (KEY_IS(k, n, "Dirty"))
			return MI_DIRTY;
		break;
	case 'I':
		if (KEY_IS(k, n, "Inactive"))
			return MI_INACTIVE;
		if (KEY_IS(k, n, "Inactive(anon)"))
			return MI_INACTIVE_ANON;
		if (KEY_IS(k, n, "Inactive(file)"))
			return MI_INACTIVE_FILE;
		break;
	case 'K':
		if (KEY_IS(k, n, "KReclaimable"))
			return MI_KRECLAIMABLE;
		break;
	case 'M':
		if (KEY_IS(k, n, "MemTotal"))
			return MI_MEMTOTAL;
		if (KEY_IS(k, n, "MemFree"))
			return MI_MEMFREE;
		if (KEY_IS(k, n, "MemAvailable"))
			return MI_MEMAVAILABLE;
		if (KEY_IS(k, n, "Mapped"))
			return MI_MAPPED;
		if (KEY_IS(k, n, "Mlocked"))
			return MI_MLOCKED;
		break;
	case 'S':
		if (KEY_IS(k, n, "SwapCached"))
			return MI_SWAPCACHED;
		if (KEY_IS(k, n, "SwapTotal"))
			return MI_SWAPTOTAL;
		if (KEY_IS(k, n, "SwapFree"))
			return MI_SWAPFREE;
		if (KEY_IS(k, n, "Shmem"))
			return MI_SHMEM;
		if (KEY_IS(k, n, "Slab"))
			return MI_SLAB;
		if (KEY_IS(k, n, "SReclaimable"))
			return MI_SRECLAIMABLE;
		if (KEY_IS(k, n, "SUnreclaim"))
			return MI_SUNRECLAIM;
		break;
	case 'U':
		if (KEY_IS(k, n, "Unevictable"))
			return MI_UNEVICTABLE;
		break;
	case 'V':
		if (KEY_IS(k, n, "VmallocTotal"))
			return MI_VMALLOCTOTAL;
		if (KEY_IS(k, n, "VmallocUsed"))
			return MI_VMALLOCUSED;
		if (KEY_IS(k, n, "VmallocChunk"))
			return MI_VMALLOCCHUNK;
		break;
	case 'W':
		if (KEY_IS(k, n, "Writeback"))
			return MI_WRITEBACK;
		break;
	}
	return MI_UNKNOWN;
}

/*
 * One line of a meminfo text from @p: the key before the first ':' and, when the line is exactly
 * "Key: WORD kB" (blanks around the words), WORD with its value (ok: it parses as parse_u64()
 * reads it). @next is where the next line starts.
 */
struct mi_line {
	const char *key, *next;
	size_t key_len;
	bool colon, kb_form, ok;
	bool val_pending; /* ok, and @val still to be read from @word (1 to 19 digits) */
	struct span word;
	uint64_t val;
};

static uint64_t mi_line_val(struct mi_line *l)
{
	if (l->val_pending) {
		uint64_t v = 0;

		for (size_t i = 0; i < l->word.len; i++)
			v = v * 10 + (uint64_t)(l->word.p[i] - '0');
		l->val = v;
		l->val_pending = false;
	}
	return l->val;
}

static void mi_line_scan(const char *p, const char *end, struct mi_line *l)
{
	const char *w, *eol;
	uint64_t v = 0;

	l->key = p;
	l->colon = l->kb_form = l->ok = l->val_pending = false;
	while (p < end && *p != ':' && *p != '\n')
		p++;
	l->key_len = (size_t)(p - l->key);
	if (p == end || *p == '\n')
		goto line_end;
	l->colon = true;
	p++;
	p = scan_blanks(p, end);
	w = p;
	while (p < end && (unsigned)(*p - '0') <= 9) {
		v = v * 10 + (uint64_t)(*p - '0');
		p++;
	}
	l->ok = p > w && p - w <= 19;
	while (p < end && !is_blank(*p) && *p != '\n') {
		l->ok = false;
		p++;
	}
	if (p == w)
		goto line_end;
	l->word = (struct span){w, (size_t)(p - w)};
	while (p < end && is_blank(*p))
		p++;
	if (end - p < 2 || p[0] != 'k' || p[1] != 'B')
		goto line_end;
	p += 2;
	while (p < end && is_blank(*p))
		p++;
	if (p < end && *p != '\n')
		goto line_end;
	l->kb_form = true;
	if (l->ok)
		l->val = v;
	else
		l->ok = parse_u64(l->word, &l->val) == 0; /* "max", 20 digits */
line_end:
	eol = p < end && *p == '\n' ? p : memchr(p, '\n', (size_t)(end - p));
	l->next = eol ? eol + 1 : end;
}

static bool is_digit(char c)
{
	return (unsigned)(c - '0') <= 9;
}

/*
 * mi_line_scan() for the kernel's own layout, "Key:<blanks>DIGITS kB\n" (one blank at least), read
 * from the line's end after one memchr() for it: the key bytes are not scanned. false: not that
 * layout, scan the line with mi_line_scan(). The key found here ends at the last ':' before the
 * blanks; a key with a ':' of its own is no "Key: N kB" line at all (mi_line_scan() would see
 * three words after the first ':', the blanks split the last two), which the caller checks
 * before it rewrites a line of a key it does not know.
 */
static bool mi_line_fast(const char *p, const char *end, struct mi_line *l)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end, *d, *b;

	if (eol - p < 6 || eol[-1] != 'B' || eol[-2] != 'k' || !is_blank(eol[-3]) ||
	    !is_digit(eol[-4]))
		return false;
	d = scan_back_digits(p, eol - 4);
	if (eol - 3 - d > 19)
		return false;
	b = scan_back_blanks(p, d);
	if (b == d || b == p || b[-1] != ':')
		return false;
	l->key = p;
	l->key_len = (size_t)(b - 1 - p);
	l->next = nl ? nl + 1 : end;
	l->colon = l->kb_form = l->ok = true;
	l->word = (struct span){d, (size_t)(eol - 3 - d)};
	l->val_pending = true; /* digits only: mi_line_val() reads them when needed */
	return true;
}

/* @lit ("MemTotal:") starts the @n bytes at @p. */
#define LINE_HAS(p, n, lit) ((n) >= sizeof(lit) - 1 && memcmp((p), (lit), sizeof(lit) - 1) == 0)

/* The host field whose "Key:" starts the line at @p (@n bytes to its end), or HOST_NONE. */
static unsigned host_field_of(const char *p, size_t n, size_t *ret_key_len)
{
#define HOST_TRY(lit, field)                                                                       \
	if (LINE_HAS(p, n, lit ":")) {                                                             \
		*ret_key_len = sizeof(lit) - 1;                                                    \
		return HOST_IDX(field);                                                            \
	}
	switch (n > 0 ? p[0] : 0) {
	case 'M':
		HOST_TRY("MemTotal", mem_total);
		HOST_TRY("MemFree", mem_free);
		HOST_TRY("MemAvailable", mem_available);
		break;
	case 'B':
		HOST_TRY("Buffers", buffers);
		break;
	case 'C':
		HOST_TRY("Cached", cached);
		break;
	case 'S':
		HOST_TRY("SwapTotal", swap_total);
		HOST_TRY("SwapFree", swap_free);
		HOST_TRY("Shmem", shmem);
		break;
	}
#undef HOST_TRY
	return HOST_NONE;
}

int host_memory_parse(struct span meminfo, struct host_memory *ret)
{
	return host_memory_parse_totals(meminfo, false, ret);
}

int host_memory_parse_totals(struct span meminfo, bool totals_only, struct host_memory *ret)
{
	const char *p = meminfo.p, *end = meminfo.p + meminfo.len;
	uint64_t h[sizeof(struct host_memory) / sizeof(uint64_t)] = {0};
	unsigned found = 0, all = (1u << (ARRAY_SIZE(h))) - 1;

	if (totals_only)
		all = 1u << HOST_IDX(mem_total) | 1u << HOST_IDX(swap_total);

	/* One pass (the first line of each key counts, like meminfo_u64()), stopping once every
	 * field is found; a line is looked at only when its first letter may start a field. A
	 * field's line that does not parse is an error; a missing one reads 0, but MemTotal is the
	 * one field a view cannot do without. */
	while ((found & all) != all && p < end) {
		size_t key_len = 0;
		unsigned idx = HOST_NONE;
		const char *nl;

		if (*p == 'M' || *p == 'B' || *p == 'C' || *p == 'S')
			idx = host_field_of(p, (size_t)(end - p), &key_len);
		if (idx == HOST_NONE || ((found >> idx) & 1)) {
			nl = memchr(p, '\n', (size_t)(end - p));
			p = nl ? nl + 1 : end;
			continue;
		}
		/* "Key:" then the first word, which must be the number */
		if (word_u64_scan(p + key_len + 1, end, &h[idx], &p) < 0)
			return -EINVAL;
		found |= 1u << idx;
	}
	if (!(found & (1u << HOST_IDX(mem_total))))
		return -EINVAL;
	memcpy(ret, h, sizeof(*ret));
	return 0;
}

/* fs/proc/meminfo.c show_val_kb(): "Key:" padded to 16 columns, the value right-aligned in 8,
 * then " kB". Built in place when it fits. */
static void meminfo_line(struct buf *out, const char *key, size_t key_len, uint64_t val)
{
	char d[20];
	size_t n = buf_u64_digits(val, d);
	size_t pad = (key_len + 1 < 16 ? 15 - key_len : 1) + (n < 8 ? 8 - n : 0);
	size_t len = key_len + 1 + pad + n + 4;
	char *o = buf_room(out, len);

	if (!o) {
		buf_putn(out, key, key_len);
		buf_putc(out, ':');
		buf_put_spaces(out, pad);
		buf_putn(out, d + 20 - n, n);
		buf_putn(out, " kB\n", 4);
		return;
	}
	memcpy(o, key, key_len);
	o += key_len;
	*o++ = ':';
	memset(o, ' ', pad);
	o += pad;
	memcpy(o, d + 20 - n, n);
	memcpy(o + n, " kB\n", 4);
	buf_commit(out, len);
}

static uint64_t view_get(const struct mem_view *v, unsigned idx)
{
	uint64_t x;

	memcpy(&x, (const char *)v + idx * sizeof(uint64_t), sizeof(x));
	return x;
}

int meminfo_render(struct span host_meminfo, const struct mem_view *v, struct buf *out)
{
	const char *p = host_meminfo.p, *end = host_meminfo.p + host_meminfo.len;
	const char *run = p; /* start of the verbatim lines not yet copied */

	/* One pass; only "Key: N kB" lines are touched (HugePages_Total etc. stay as they are), and
	 * the lines in between are copied in one piece. */
	while (p < end) {
		const struct mi_key *k;
		struct mi_line l;
		uint64_t val;

		if (!mi_line_fast(p, end, &l))
			mi_line_scan(p, end, &l);
		p = l.next;
		if (!l.kb_form)
			continue;
		k = &mi_keys[mi_lookup(l.key, l.key_len)];
		switch (k->kind) {
		case MI_FIELD:
			val = view_get(v, k->view);
			break;
		case MI_ZERO:
			val = 0;
			break;
		case MI_BOUNDED:
			if (!l.ok)
				continue;
			val = u64_min(mi_line_val(&l), view_get(v, k->view));
			break;
		case MI_VERBATIM:
			continue;
		default:
			/* Anything else (CommitLimit, DirectMap*, ...) must not exceed MemTotal. */
			if (!l.ok || mi_line_val(&l) <= v->total)
				continue;
			/* the fast scan's key runs to the last ':'; with an earlier one the line
			 * is not "Key: N kB" (see mi_line_fast) */
			if (memchr(l.key, ':', l.key_len))
				continue;
			val = v->total;
			break;
		}
		buf_putn(out, run, (size_t)(l.key - run));
		meminfo_line(out, l.key, l.key_len, val);
		run = p;
	}
	if (run < end) {
		buf_putn(out, run, (size_t)(end - run));
		if (end[-1] != '\n')
			buf_putc(out, '\n');
	}
	return buf_result(out);
}
