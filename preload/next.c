/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The next definitions of the wrapped names: what dlsym(RTLD_NEXT, name) would return, found
 * with a GNU hash lookup in the objects after this one, noted once by the constructor, instead of
 * ~30 dlsym() calls at start-up (each ~850 instructions of locking, error catching and a generic
 * lookup: 25,000 instructions, 13% of starting /bin/true). A lookup takes no lock and
 * calls nothing, so a name can be looked up on its first use, from any context (init.c).
 *
 * dlsym(RTLD_NEXT) searches the caller's scope after the caller. For an object of the initial
 * load (LD_PRELOAD, /etc/ld.so.preload, a DT_NEEDED of the program) that scope is the program's
 * search list, and the link-map chain that dl_iterate_phdr() walks holds it in the same order
 * (breadth-first load order; the vDSO sits before the preloads and defines none of these names).
 * So: the objects after this one in the chain up to libc, in order, the first definition wins, as
 * in glibc's do_lookup_x() for an unversioned dlsym: defined (not SHN_UNDEF, value not 0), global
 * or weak (local ones are passed over), and of a versioned object only the default (non-hidden)
 * version, taken only when it is the object's only one.
 *
 * Whatever this cannot decide is left to dlsym() by the caller (NEXT_UNKNOWN_PTR): all names when
 * libc is not after this object (the shim dlopen()ed: its scope is not the chain) or an object
 * lacks DT_GNU_HASH; a name not defined up to libc (an object after libc may define it); an
 * IFUNC, unique, data or TLS definition; a name with two visible versions in one object. glibc
 * only: elsewhere (musl) every name is left to dlsym().
 *
 * Owns the list of objects noted by the constructor (.data.shim_boot, state.h says why it is not
 * in struct shim_state). Must not: call libc, lock or allocate (it runs from any wrapper).
 */
#include <link.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "next.h"

#if defined(__GLIBC__) && defined(DT_GNU_HASH)

/* The load address of this object: its ELF header (the first PT_LOAD is at 0). */
extern const ElfW(Ehdr) __ehdr_start __attribute__((visibility("hidden")));

#define NEXT_OBJS 12

struct next_obj {
	ElfW(Addr) base;
	const ElfW(Sym) * sym;
	const char *str;
	const uint32_t *hash; /* DT_GNU_HASH */
	const ElfW(Half) * ver;
};

struct next_walk {
	ElfW(Addr) self;
	bool after_self, libc_seen, bad;
	unsigned n;
	struct next_obj obj[NEXT_OBJS];
};

/* glibc adjusts the d_ptr values of a writable dynamic section by the load address, not those of
 * a read-only one (the vDSO, some architectures): an address below the base is an offset. */
SHIM_STARTUP static const void *dyn_ptr(ElfW(Addr) base, ElfW(Addr) v)
{
	return (const void *)(v < base ? v + base : v);
}

/*
 * Own string loops: every libc function called here costs a lazy-binding fixup (~750
 * instructions, the shim is linked without -z now) on the way to the first real work.
 */
static bool str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

SHIM_STARTUP static bool is_libc(const char *name)
{
	const char *b = name;

	if (!name)
		return false;
	for (const char *p = name; *p; p++) {
		if (*p == '/')
			b = p + 1;
	}
	return b[0] == 'l' && b[1] == 'i' && b[2] == 'b' && b[3] == 'c' && b[4] == '.' &&
	       b[5] == 's' && b[6] == 'o';
}

SHIM_STARTUP static int walk_one(struct dl_phdr_info *info, size_t size, void *data)
{
	struct next_walk *w = data;
	const ElfW(Dyn) *dyn = NULL;
	struct next_obj o = {.base = info->dlpi_addr};

	(void)size;
	if (!w->after_self) {
		w->after_self = info->dlpi_addr == w->self;
		return 0;
	}
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
	}
	for (; dyn && dyn->d_tag != DT_NULL; dyn++) {
		if (dyn->d_tag == DT_SYMTAB)
			o.sym = dyn_ptr(o.base, dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_STRTAB)
			o.str = dyn_ptr(o.base, dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_GNU_HASH)
			o.hash = dyn_ptr(o.base, dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_VERSYM)
			o.ver = dyn_ptr(o.base, dyn->d_un.d_ptr);
	}
	if (!dyn)
		return 0; /* no dynamic section: nothing to look up in */
	if (!o.sym || !o.str || !o.hash || w->n == NEXT_OBJS) {
		w->bad = true;
		return 1;
	}
	w->obj[w->n++] = o;
	w->libc_seen = is_libc(info->dlpi_name);
	return w->libc_seen; /* nothing after libc */
}

/* The GNU hash of @s; *ret_end: past its NUL. */
static uint32_t gnu_hash(const char *s, const char **ret_end)
{
	uint32_t h = 5381;

	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	*ret_end = s + 1;
	return h;
}

/* Whether @o's Bloom filter lets @h through (a name it may define). */
static bool bloom_has(const struct next_obj *o, uint32_t h)
{
	const uint32_t bloom_size = o->hash[2], shift = o->hash[3];
	const ElfW(Addr) *bloom = (const ElfW(Addr) *)(o->hash + 4);
	const unsigned bits = sizeof(ElfW(Addr)) * 8;
	ElfW(Addr) word, mask;

	if (o->hash[0] == 0 || bloom_size == 0)
		return false;
	word = bloom[(h / bits) % bloom_size];
	mask = ((ElfW(Addr))1 << (h % bits)) | ((ElfW(Addr))1 << ((h >> shift) % bits));
	return (word & mask) == mask;
}

/* In one object: 0 with *ret (NULL: not defined here), or -1: undecided. */
static int obj_find(const struct next_obj *o, const char *name, uint32_t h, void **ret)
{
	const uint32_t nbuckets = o->hash[0], symoffset = o->hash[1], bloom_size = o->hash[2];
	const ElfW(Addr) *bloom = (const ElfW(Addr) *)(o->hash + 4);
	const uint32_t *buckets = (const uint32_t *)(bloom + bloom_size);
	const uint32_t *chain = buckets + nbuckets;
	const ElfW(Sym) *found = NULL;
	unsigned versions = 0;
	uint32_t i;

	*ret = NULL;
	if (!bloom_has(o, h))
		return 0;
	i = buckets[h % nbuckets];
	if (i < symoffset)
		return 0;
	for (;; i++) {
		const ElfW(Sym) *s = &o->sym[i];
		uint32_t h2 = chain[i - symoffset];
		unsigned type = s->st_info & 0xf, bind = s->st_info >> 4; /* ELF{32,64}_ST_* */

		if ((h2 | 1) == (h | 1) && str_eq(o->str + s->st_name, name) &&
		    s->st_shndx != SHN_UNDEF && s->st_value != 0 && bind != STB_LOCAL) {
			if ((type != STT_FUNC && type != STT_NOTYPE) ||
			    (bind != STB_GLOBAL && bind != STB_WEAK))
				return -1;
			{
				ElfW(Half) v = o->ver ? o->ver[i] : 0;

				if ((v & 0x7fff) < 2) {
					found = s; /* unversioned: taken at once */
					versions = 1;
					break;
				}
				if (!(v & 0x8000) && versions++ == 0)
					found = s;
			}
		}
		if (h2 & 1)
			break;
	}
	if (versions > 1)
		return -1; /* glibc takes none of them here and looks further */
	if (found)
		*ret = (void *)(o->base + found->st_value);
	return 0;
}

/* The objects after this one up to libc, from the constructor (next_init); read-only after. */
static struct next_walk next_objs NEXT_BOOT;

SHIM_STARTUP int next_init(void)
{
	struct next_walk *w = &next_objs;

	w->self = (ElfW(Addr)) & __ehdr_start;
	dl_iterate_phdr(walk_one, w);
	if (w->bad || !w->libc_seen) {
		w->n = 0;
		return -1;
	}
	return 0;
}

SHIM_STARTUP int next_check(const char *names, unsigned n)
{
	const struct next_walk *w = &next_objs;
	int hits = 0;

	if (w->n < 2)
		return 0;
	for (unsigned k = 0; k < n; k++) {
		uint32_t h = gnu_hash(names, &names);

		for (unsigned j = 0; j + 1 < w->n; j++)
			hits += bloom_has(&w->obj[j], h);
	}
	return hits;
}

void *next_find(const char *name)
{
	const struct next_walk *w = &next_objs;
	const char *end;
	uint32_t h = gnu_hash(name, &end);

	for (unsigned j = 0; j < w->n; j++) {
		void *p;

		if (obj_find(&w->obj[j], name, h, &p) < 0)
			return NEXT_UNKNOWN_PTR;
		if (p)
			return p;
	}
	return NEXT_UNKNOWN_PTR; /* not up to libc: an object after it may have it */
}

#else

static bool next_none NEXT_BOOT;

int next_init(void)
{
	next_none = true;
	return -1;
}

int next_check(const char *names, unsigned n)
{
	(void)names;
	return (int)n;
}

void *next_find(const char *name)
{
	(void)name;
	return NEXT_UNKNOWN_PTR;
}

#endif
