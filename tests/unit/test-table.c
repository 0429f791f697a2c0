/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sampler table: encode/decode round trip, the reader against hostile bytes (truncated,
 * oversized, wrong magic/version, count overflow, random, single flipped bytes), freshness, and
 * cg_sample_lookup's hybrid merge on a fixture tree in a temporary directory (no root).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "model/table.h"
#include "source/table.h"

#define NENT 50
#define WORDS 2

static uint64_t boottime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static void entry_make(unsigned i, struct cgtable_entry *e, struct cpuset *cs)
{
	memset(e, 0, sizeof(*e));
	memset(cs, 0, sizeof(*cs));
	e->dev = 30 + i / 20;
	e->ino = 1 + (i % 20) * 7;
	e->flags = CGTABLE_FLAGS_ALL;
	e->load[0] = 100 * i;
	e->load[1] = 50 * i;
	e->load[2] = 10 * i;
	e->running = i % 3;
	e->total = 10 + i;
	e->mem_limit = i % 4 ? (uint64_t)i << 20 : UINT64_MAX;
	e->swap_limit = UINT64_MAX;
	e->quota_us = i % 2 ? 1000 * i : UINT64_MAX;
	e->period_us = 100000;
	cs->bits[0] = 1 + i;
	cs->bits[1] = (uint64_t)i << 32;
}

/* A valid table of NENT entries (sorted by construction), heartbeat @hb. malloc'd. */
static unsigned char *table_make(uint64_t hb, size_t *ret_len)
{
	struct cgtable_header h;
	size_t es = cgtable_entry_size(WORDS), len = sizeof(h) + NENT * es;
	unsigned char *t = malloc(len);

	cr_assert(t);
	cgtable_header_init(&h, WORDS, NENT, 5000000000ULL, hb, 7);
	memcpy(t, &h, sizeof(h));
	for (unsigned i = 0; i < NENT; i++) {
		struct cgtable_entry e;
		struct cpuset cs;

		entry_make(i, &e, &cs);
		cgtable_entry_encode(&e, cs.bits, WORDS, t + sizeof(h) + i * es);
	}
	*ret_len = len;
	return t;
}

static int memfd_with(const void *p, size_t len)
{
	int fd = memfd_create("table", MFD_CLOEXEC);

	cr_assert(fd >= 0);
	cr_assert(write(fd, p, len) == (ssize_t)len);
	cr_assert_eq(fchmod(fd, 0644), 0); /* as cgprocd writes it (a memfd starts at 0777) */
	return fd;
}

/* What a reader makes of @len bytes: 0 when every key is found intact, else -ENODATA. */
static int reader_verdict(const void *p, size_t len)
{
	struct cgtable_header h;
	int fd = memfd_with(p, len), r;

	r = cgtable_read_header(fd, &h);
	if (r == 0)
		for (unsigned i = 0; i < NENT && r == 0; i++) {
			struct cgtable_entry e, want;
			struct cpuset cs, wcs;

			entry_make(i, &want, &wcs);
			r = cgtable_lookup(fd, &h, want.dev, want.ino, &e, &cs);
			if (r == 0 && (e.load[0] != want.load[0] || e.mem_limit != want.mem_limit ||
				       cs.bits[1] != wcs.bits[1]))
				r = -EBADMSG; /* wrong data accepted: the worst outcome */
		}
	close(fd);
	cr_assert(r == 0 || r == -ENODATA, "reader returned %d", r);
	return r;
}

Test(table, round_trip_in_memory)
{
	size_t len;
	unsigned char *t = table_make(boottime(), &len);

	for (unsigned i = 0; i < NENT; i++) {
		struct cgtable_entry e, want;
		struct cpuset cs, wcs;

		entry_make(i, &want, &wcs);
		cr_assert_eq(
			cgtable_find((struct span){(char *)t, len}, want.dev, want.ino, &e, &cs),
			0);
		cr_assert_eq(e.dev, want.dev);
		cr_assert_eq(e.ino, want.ino);
		cr_assert_eq(e.flags, want.flags);
		for (int k = 0; k < 3; k++)
			cr_assert_eq(e.load[k], want.load[k]);
		cr_assert_eq(e.running, want.running);
		cr_assert_eq(e.total, want.total);
		cr_assert_eq(e.mem_limit, want.mem_limit);
		cr_assert_eq(e.swap_limit, want.swap_limit);
		cr_assert_eq(e.quota_us, want.quota_us);
		cr_assert_eq(e.period_us, want.period_us);
		cr_assert_eq(cs.bits[0], wcs.bits[0]);
		cr_assert_eq(cs.bits[1], wcs.bits[1]);
		cr_assert_eq(cs.bits[2], 0);
	}
	cr_assert_eq(
		cgtable_find((struct span){(char *)t, len}, 30, 2, &(struct cgtable_entry){}, NULL),
		-ENODATA);
	cr_assert_eq(cgtable_find((struct span){(char *)t, len}, 999, 1, &(struct cgtable_entry){},
				  NULL),
		     -ENODATA);
	free(t);
}

Test(table, reader_round_trip_fd)
{
	size_t len;
	unsigned char *t = table_make(boottime(), &len);

	cr_assert_eq(reader_verdict(t, len), 0);
	free(t);
}

/* A table that someone other than root or the reader could have written is not read. */
Test(table, untrusted_owner_or_mode)
{
	struct cgtable_header h;
	size_t len;
	unsigned char *t = table_make(boottime(), &len);
	int fd = memfd_with(t, len);

	cr_assert_eq(cgtable_read_header(fd, &h), 0);
	cr_assert_eq(fchmod(fd, 0664), 0);
	cr_assert_eq(cgtable_read_header(fd, &h), -EPERM, "group-writable table trusted");
	cr_assert_eq(fchmod(fd, 0646), 0);
	cr_assert_eq(cgtable_read_header(fd, &h), -EPERM, "world-writable table trusted");
	cr_assert_eq(fchmod(fd, 0644), 0);
	if (geteuid() == 0) {
		/* another user's file; root reading it must refuse */
		cr_assert_eq(fchown(fd, 65534, 65534), 0);
		cr_assert_eq(cgtable_read_header(fd, &h), -EPERM, "nobody's table trusted by root");
		cr_assert_eq(fchown(fd, 0, 0), 0);
		cr_assert_eq(cgtable_read_header(fd, &h), 0);
	}
	close(fd);
	free(t);
}

Test(table, truncated_and_oversized)
{
	size_t len;
	unsigned char *t = table_make(boottime(), &len);
	unsigned char *big = calloc(1, len + 4096);

	for (size_t n = 0; n < len; n++)
		cr_assert_eq(reader_verdict(t, n), -ENODATA, "truncated to %zu accepted", n);
	memcpy(big, t, len);
	cr_assert_eq(reader_verdict(big, len + 1), -ENODATA);
	cr_assert_eq(reader_verdict(big, len + cgtable_entry_size(WORDS)), -ENODATA);
	cr_assert_eq(reader_verdict(big, len + 4096), -ENODATA);
	free(big);
	free(t);
}

/* Change a header field and recompute its check, so only the field's own validation stands. */
static void header_poke(unsigned char *t, void (*poke)(struct cgtable_header *))
{
	struct cgtable_header h;

	memcpy(&h, t, sizeof(h));
	poke(&h);
	h.check = 0;
	h.check = cgtable_hash(&h, sizeof(h));
	memcpy(t, &h, sizeof(h));
}

static void poke_magic(struct cgtable_header *h)
{
	h->magic ^= 1;
}
static void poke_version(struct cgtable_header *h)
{
	h->version = CGTABLE_VERSION + 1;
}
static void poke_count_overflow(struct cgtable_header *h)
{
	h->count = UINT64_MAX / 64 + 3; /* count * entry_size wraps */
}
static void poke_count_big(struct cgtable_header *h)
{
	h->count = NENT + 1;
}
static void poke_words(struct cgtable_header *h)
{
	h->cpu_words = CPUSET_MAX / 64 + 1;
	h->entry_size = (uint32_t)cgtable_entry_size(h->cpu_words);
}
static void poke_entry_size(struct cgtable_header *h)
{
	h->entry_size += 8;
}
static void poke_period(struct cgtable_header *h)
{
	h->period_ns = 0;
}

Test(table, bad_headers)
{
	void (*pokes[])(struct cgtable_header *) = {
		poke_magic, poke_version,    poke_count_overflow, poke_count_big,
		poke_words, poke_entry_size, poke_period};

	for (size_t i = 0; i < sizeof(pokes) / sizeof(pokes[0]); i++) {
		size_t len;
		unsigned char *t = table_make(boottime(), &len);

		header_poke(t, pokes[i]);
		cr_assert_eq(reader_verdict(t, len), -ENODATA, "poke %zu accepted", i);
		free(t);
	}
}

Test(table, every_flipped_byte)
{
	size_t len;
	unsigned char *t = table_make(boottime(), &len);

	/* a flip in the header fails its check; in an entry, that entry's check (or its key no
	 * longer matches and the reader reports it absent) */
	size_t dense = sizeof(struct cgtable_header) + 2 * cgtable_entry_size(WORDS);

	/* every byte of the header and the first two entries, then a stride (unit tests stay fast)
	 */
	for (size_t off = 0; off < len; off += off < dense ? 1 : 5) {
		t[off] ^= 0x40;
		cr_assert_eq(reader_verdict(t, len), -ENODATA, "flip at %zu accepted", off);
		t[off] ^= 0x40;
	}
	free(t);
}

Test(table, random_bytes)
{
	unsigned char *b = malloc(1 << 16);

	srandom(12345);
	for (int round = 0; round < 300; round++) {
		size_t len = (size_t)random() % (1 << 16);

		for (size_t i = 0; i < len; i++)
			b[i] = (unsigned char)random();
		if (round % 3 == 0 && len >= 8) {
			uint64_t m = CGTABLE_MAGIC; /* get past the first check sometimes */

			memcpy(b, &m, 8);
		}
		cr_assert_eq(reader_verdict(b, len), -ENODATA);
	}
	free(b);
}

Test(table, freshness)
{
	struct cgtable_header h;
	const uint64_t p = 5000000000ULL, now = 1000 * p;

	cgtable_header_init(&h, 1, 0, p, now, 1);
	cr_assert(cgtable_fresh(&h, now));
	cr_assert(cgtable_fresh(&h, now + 3 * p));
	cr_assert_not(cgtable_fresh(&h, now + 3 * p + 1));
	cr_assert(cgtable_fresh(&h, now - p));	       /* writer's clock a little ahead */
	cr_assert_not(cgtable_fresh(&h, now - p - 1)); /* heartbeat from the future */
}

Test(table, entry_bounds)
{
	struct cgtable_header h;
	unsigned char raw[sizeof(struct cgtable_entry) + 8];
	struct cgtable_entry e, out;

	cgtable_header_init(&h, 1, 1, 5000000000ULL, 1, 1);
	memset(&e, 0, sizeof(e));
	e.flags = CGTABLE_HAS_LOAD | CGTABLE_HAS_CPUSET; /* cpuset flagged but empty */
	cgtable_entry_encode(&e, NULL, 1, raw);
	cr_assert_eq(cgtable_entry_decode(&h, (struct span){(char *)raw, sizeof(raw)}, &out, NULL),
		     -ENODATA);
	e.flags = CGTABLE_HAS_LOAD;
	e.running = 5;
	e.total = 4; /* running > total */
	cgtable_entry_encode(&e, NULL, 1, raw);
	cr_assert_eq(cgtable_entry_decode(&h, (struct span){(char *)raw, sizeof(raw)}, &out, NULL),
		     -ENODATA);
	e.running = 1;
	e.flags = 0x100; /* unknown flag */
	cgtable_entry_encode(&e, NULL, 1, raw);
	cr_assert_eq(cgtable_entry_decode(&h, (struct span){(char *)raw, sizeof(raw)}, &out, NULL),
		     -ENODATA);
	e.flags = CGTABLE_HAS_LOAD;
	cgtable_entry_encode(&e, NULL, 1, raw);
	cr_assert_eq(cgtable_entry_decode(&h, (struct span){(char *)raw, sizeof(raw)}, &out, NULL),
		     0);
	cr_assert_eq(out.running, 1);
}

Test(table, merge_takes_tightest)
{
	struct cg_sample s;
	struct cgtable_entry a = {.flags = CGTABLE_HAS_CPU | CGTABLE_HAS_LOAD,
				  .quota_us = 50000,
				  .period_us = 100000,
				  .load = {2048, 1024, 512},
				  .running = 1,
				  .total = 3};
	struct cgtable_entry b = {.flags = CGTABLE_HAS_CPU, .quota_us = 20000, .period_us = 10000};
	struct cgtable_entry m = {
		.flags = CGTABLE_HAS_MEMORY, .mem_limit = 1 << 30, .swap_limit = UINT64_MAX};
	struct cgtable_entry c1 = {.flags = CGTABLE_HAS_CPUSET}, c2 = c1;
	struct cpuset x = {{0x6}}, y = {{0x3}};

	cg_sample_init(&s);
	cr_assert_eq(s.mem_limit, UINT64_MAX);
	cr_assert_eq(s.quota_us, UINT64_MAX);
	cg_sample_merge(&s, &a, NULL);
	cg_sample_merge(&s, &b, NULL); /* 2.0 CPUs: looser than 0.5, ignored */
	cg_sample_merge(&s, &m, NULL);
	cg_sample_merge(&s, &c1, &x);
	cg_sample_merge(&s, &c2, &y);
	cr_assert_eq(s.quota_us, 50000);
	cr_assert_eq(s.period_us, 100000);
	cr_assert_eq(s.load.avg[0], 2048);
	cr_assert_eq(s.load.total, 3);
	cr_assert_eq(s.mem_limit, 1 << 30);
	cr_assert_eq(s.swap_limit, UINT64_MAX);
	cr_assert(s.has_cpuset);
	cr_assert_eq(s.cpuset.bits[0], 0x2);
}

/*
 * cg_sample_lookup on a fixture root: hybrid layout with separate cpu, memory and cpuset
 * hierarchies (directories in a temp dir stand in; their st_dev is all the same, their inodes
 * differ, which is what the key needs).
 */
static char fixture[256];

static void mkdir_p(const char *rel)
{
	char p[512], *s;

	snprintf(p, sizeof(p), "%s/%s", fixture, rel);
	for (s = p + strlen(fixture) + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
}

static void key_of(const char *rel, uint64_t *dev, uint64_t *ino)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", fixture, rel);
	cr_assert_eq(stat(p, &st), 0, "%s", p);
	*dev = st.st_dev;
	*ino = st.st_ino;
}

static int entry_sort(const void *a, const void *b)
{
	const struct cgtable_entry *x = a, *y = b;

	return cgtable_key_cmp(x->dev, x->ino, y->dev, y->ino);
}

static uint64_t fixture_load = 3 * 2048;

/* Written next to the table and renamed over it, as the daemon does (a new inode each time). */
static void fixture_table(uint64_t hb, bool corrupt)
{
	struct cgtable_entry e[3];
	struct cgtable_header h;
	unsigned char buf[sizeof(h) + 3 * sizeof(struct cgtable_entry) + 3 * 8];
	size_t es = cgtable_entry_size(1);
	char p[512];
	FILE *f;

	memset(e, 0, sizeof(e));
	for (int i = 0; i < 3; i++)
		e[i].mem_limit = e[i].swap_limit = e[i].quota_us = UINT64_MAX;
	key_of("sys/fs/cgroup/cpu/pod/ctr", &e[0].dev, &e[0].ino);
	e[0].flags = CGTABLE_HAS_LOAD | CGTABLE_HAS_CPU;
	e[0].load[0] = fixture_load;
	e[0].running = 2;
	e[0].total = 7;
	e[0].quota_us = 150000;
	e[0].period_us = 100000;
	key_of("sys/fs/cgroup/memory/pod/ctr", &e[1].dev, &e[1].ino);
	e[1].flags = CGTABLE_HAS_MEMORY;
	e[1].mem_limit = 256 << 20; /* set on "pod", effective for "ctr" */
	key_of("sys/fs/cgroup/cpuset/pod/ctr", &e[2].dev, &e[2].ino);
	e[2].flags = CGTABLE_HAS_CPUSET;
	qsort(e, 3, sizeof(e[0]), entry_sort);
	cgtable_header_init(&h, 1, 3, 5000000000ULL, hb, 1);
	memcpy(buf, &h, sizeof(h));
	for (int i = 0; i < 3; i++) {
		uint64_t w = e[i].flags & CGTABLE_HAS_CPUSET ? 0x2 : 0;

		cgtable_entry_encode(&e[i], &w, 1, buf + sizeof(h) + i * es);
	}
	if (corrupt)
		buf[sizeof(h) + es + 40] ^= 1;
	snprintf(p, sizeof(p), "%s/run/cgproc/.new", fixture);
	f = fopen(p, "we");
	cr_assert(f);
	cr_assert_eq(fwrite(buf, 1, sizeof(buf), f), sizeof(buf));
	fclose(f);
	{
		char dst[512];

		snprintf(dst, sizeof(dst), "%s/run/cgproc/%s", fixture, CGTABLE_FILE);
		cr_assert_eq(rename(p, dst), 0);
	}
}

static void fixture_machine(struct cg_machine *m)
{
	static const struct {
		enum cg_controller c;
		const char *mnt;
	} map[] = {
		{CG_CPU, "sys/fs/cgroup/cpu"},
		{CG_MEMORY, "sys/fs/cgroup/memory"},
		{CG_CPUSET, "sys/fs/cgroup/cpuset"},
	};

	cg_machine_clear(m);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(cg_machine_set(m, CG_MACHINE_MOUNT, map[i].c, map[i].mnt), 0);
		cr_assert_eq(cg_machine_set(m, CG_MACHINE_ROOT, map[i].c, "/"), 0);
		cr_assert_eq(cg_machine_set(m, CG_MACHINE_PATH, map[i].c, "/pod/ctr"), 0);
	}
}

static void fixture_init(void)
{
	snprintf(fixture, sizeof(fixture), "/tmp/cgproc-unit-table-XXXXXX");
	cr_assert(mkdtemp(fixture));
	mkdir_p("sys/fs/cgroup/cpu/pod/ctr");
	mkdir_p("sys/fs/cgroup/memory/pod/ctr");
	mkdir_p("sys/fs/cgroup/cpuset/pod/ctr");
	mkdir_p("run/cgproc");
}

static void fixture_fini(void)
{
	char cmd[512];

	if (fixture[0] && strncmp(fixture, "/tmp/cgproc-unit-table-", 23) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fixture);
		(void)!system(cmd);
	}
}

Test(lookup, hybrid_merge, .init = fixture_init, .fini = fixture_fini)
{
	struct cg_src src = {.ticks_per_sec = 100};
	struct cg_machine m;
	struct cg_sample s;

	src.rootfd = open(fixture, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert(src.rootfd >= 0);
	fixture_machine(&m);

	cr_assert_eq(cg_sample_lookup(&src, &m, "/run/cgproc", &s), -ENODATA, "no table yet");

	fixture_table(boottime(), false);
	cr_assert_eq(cg_sample_lookup(&src, &m, "/run/cgproc", &s), 0);
	cr_assert_eq(s.load.avg[0], 3 * 2048);
	cr_assert_eq(s.load.running, 2);
	cr_assert_eq(s.load.total, 7);
	cr_assert_eq(s.quota_us, 150000);
	cr_assert_eq(s.period_us, 100000);
	cr_assert_eq(s.mem_limit, 256 << 20);
	cr_assert_eq(s.swap_limit, UINT64_MAX);
	cr_assert(s.has_cpuset);
	cr_assert_eq(s.cpuset.bits[0], 0x2);

	/* a sibling the table does not know */
	mkdir_p("sys/fs/cgroup/cpu/other");
	cr_assert_eq(cg_machine_set(&m, CG_MACHINE_PATH, CG_CPU, "/other"), 0);
	cr_assert_eq(cg_sample_lookup(&src, &m, "/run/cgproc", &s), -ENODATA);
	fixture_machine(&m);

	/* stale: a dead daemon's table */
	fixture_table(boottime() - 16000000000ULL, false);
	cr_assert_eq(cg_sample_lookup(&src, &m, "/run/cgproc", &s), -ENODATA);
	/* corrupt entry */
	fixture_table(boottime(), true);
	{
		int r = cg_sample_lookup(&src, &m, "/run/cgproc", &s);

		/* the flipped entry is dropped; what remains must still be right */
		cr_assert(r == 0 || r == -ENODATA);
		if (r == 0)
			cr_assert_eq(s.load.avg[0], 3 * 2048);
	}
	close(src.rootfd);
}

Test(lookup, cached_follows_new_tables, .init = fixture_init, .fini = fixture_fini)
{
	struct cg_src src = {.ticks_per_sec = 100};
	struct cg_sample_cache cache;
	struct cg_machine m;
	struct cg_sample s, u;
	char p[512];

	src.rootfd = open(fixture, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert(src.rootfd >= 0);
	fixture_machine(&m);
	cg_sample_cache_init(&cache);

	cr_assert_eq(cg_sample_lookup_cached(&src, &m, "/run/cgproc", &cache, &s), -ENODATA);
	cr_assert_eq(cg_sample_lookup_cached(&src, &m, "/run/cgproc", &cache, &s), -ENODATA);

	fixture_load = 5 * 2048;
	fixture_table(boottime(), false);
	cr_assert_eq(cg_sample_lookup_cached(&src, &m, "/run/cgproc", &cache, &s), 0);
	cr_assert_eq(cg_sample_lookup(&src, &m, "/run/cgproc", &u), 0);
	cr_assert_eq(memcmp(&s, &u, sizeof(s)), 0, "cached and uncached answers differ");
	cr_assert_eq(s.load.avg[0], 5 * 2048);
	cr_assert_eq(cg_sample_lookup_cached(&src, &m, "/run/cgproc", &cache, &s), 0);
	cr_assert_eq(s.load.avg[0], 5 * 2048);

	/* a new table replaces the answer at once */
	fixture_load = 7 * 2048;
	fixture_table(boottime(), false);
	cr_assert_eq(cg_sample_lookup_cached(&src, &m, "/run/cgproc", &cache, &s), 0);
	cr_assert_eq(s.load.avg[0], 7 * 2048);

	/* another machine is not answered from the cache */
	cr_assert_eq(cg_machine_set(&m, CG_MACHINE_PATH, CG_CPU, "/pod"), 0);
	cr_assert_eq(cg_sample_lookup_cached(&src, &m, "/run/cgproc", &cache, &s), -ENODATA);
	fixture_machine(&m);
	cr_assert_eq(cg_sample_lookup_cached(&src, &m, "/run/cgproc", &cache, &s), 0);

	/* stale and removed tables */
	fixture_table(boottime() - 16000000000ULL, false);
	cr_assert_eq(cg_sample_lookup_cached(&src, &m, "/run/cgproc", &cache, &s), -ENODATA);
	fixture_table(boottime(), false);
	cr_assert_eq(cg_sample_lookup_cached(&src, &m, "/run/cgproc", &cache, &s), 0);
	snprintf(p, sizeof(p), "%s/run/cgproc/%s", fixture, CGTABLE_FILE);
	cr_assert_eq(unlink(p), 0);
	cr_assert_eq(cg_sample_lookup_cached(&src, &m, "/run/cgproc", &cache, &s), -ENODATA);
	close(src.rootfd);
	fixture_load = 3 * 2048;
}

/* The bytes of the table file, for rewriting them in place. */
static size_t table_bytes(unsigned char *buf, size_t size)
{
	char p[512];
	FILE *f;
	size_t n;

	snprintf(p, sizeof(p), "%s/run/cgproc/%s", fixture, CGTABLE_FILE);
	f = fopen(p, "re");
	cr_assert(f);
	n = fread(buf, 1, size, f);
	fclose(f);
	return n;
}

/*
 * A stale table is remembered as stale for as long as it is the same file: a stopped daemon's
 * table must not cost a re-read per call. Proven by rewriting the file in place with a fresh
 * table of the same size and restoring its mtime (something cgprocd never does: it renames a
 * new file over the old one): the cached answer still says stale. A new file is looked at.
 */
Test(lookup, cached_remembers_stale, .init = fixture_init, .fini = fixture_fini)
{
	struct cg_src src = {.ticks_per_sec = 100};
	struct cg_sample_cache cache;
	struct cg_machine m;
	struct cg_sample s;
	unsigned char fresh[4096];
	struct timespec ts[2];
	struct stat st;
	size_t n;
	char p[512];
	int fd;

	src.rootfd = open(fixture, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert(src.rootfd >= 0);
	fixture_machine(&m);
	cg_sample_cache_init(&cache);
	snprintf(p, sizeof(p), "%s/run/cgproc/%s", fixture, CGTABLE_FILE);

	fixture_table(boottime(), false);
	n = table_bytes(fresh, sizeof(fresh));
	fixture_table(boottime() - 16000000000ULL, false);
	cr_assert_eq(cg_sample_lookup_cached(&src, &m, "/run/cgproc", &cache, &s), -ENODATA);
	cr_assert_eq(cache.result, -ESTALE);

	cr_assert_eq(stat(p, &st), 0);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	cr_assert(fd >= 0);
	cr_assert_eq(pwrite(fd, fresh, n, 0), (ssize_t)n);
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	cr_assert_eq(futimens(fd, ts), 0);
	close(fd);
	cr_assert_eq(cg_sample_lookup(&src, &m, "/run/cgproc", &s), 0, "rewrite not fresh");
	cr_assert_eq(cg_sample_lookup_cached(&src, &m, "/run/cgproc", &cache, &s), -ENODATA,
		     "a stale table's file was read again");

	/* a table dated more than a period ahead is stale now but may turn fresh: not remembered
	 * for ever */
	fixture_table(boottime() + 12000000000ULL, false);
	cr_assert_eq(cg_sample_lookup_cached(&src, &m, "/run/cgproc", &cache, &s), -ENODATA);
	cr_assert_eq(cache.result, -ESTALE);
	cr_assert(cache.recheck_ns != UINT64_MAX && cache.recheck_ns > boottime());

	fixture_table(boottime(), false);
	cr_assert_eq(cg_sample_lookup_cached(&src, &m, "/run/cgproc", &cache, &s), 0);
	close(src.rootfd);
}
