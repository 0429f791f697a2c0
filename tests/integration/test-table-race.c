/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sampler table rewritten while it is read. cgprocd replaces the file by rename(), so a
 * reader never sees a torn table; but anyone who can write the run directory (or a `cp` over the
 * file) can change the bytes under an open reader. A writer thread spoils random ranges of a
 * valid table in place (random bytes, then the original back) and truncates and regrows it,
 * while the reader (cgtable_read_header + cgtable_lookup, as cg_sample_lookup does) keeps
 * reading through its own descriptor. Rule: every lookup returns the exact entry or -ENODATA;
 * never other values, never a crash. (Truncated, corrupt and random tables at rest are
 * tests/unit/test-table.c's.)
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "model/table.h"
#include "source/table.h"

#define NENT 64
#define WORDS 1
#define ROUNDS 20000

static unsigned char *table;
static size_t table_len;
static int wfd = -1;
static char path[128];
static atomic_bool stop;

static void entry_make(unsigned i, struct cgtable_entry *e, struct cpuset *cs)
{
	memset(e, 0, sizeof(*e));
	memset(cs, 0, sizeof(*cs));
	e->dev = 7;
	e->ino = 100 + 3 * i;
	e->flags = CGTABLE_FLAGS_ALL;
	e->load[0] = 2048 * (i + 1);
	e->load[1] = 1024 * (i + 1);
	e->load[2] = 512 * (i + 1);
	e->running = i % 5;
	e->total = 100 + i;
	e->mem_limit = (uint64_t)(i + 1) << 24;
	e->swap_limit = UINT64_MAX;
	e->quota_us = 50000;
	e->period_us = 100000;
	cs->bits[0] = 1 + i;
}

static void *writer(void *arg)
{
	unsigned seed = (unsigned)time(NULL);

	while (!atomic_load(&stop)) {
		size_t off = (size_t)rand_r(&seed) % table_len;
		size_t len = 1 + (size_t)rand_r(&seed) % 96;
		unsigned char junk[96];

		if (off + len > table_len)
			len = table_len - off;
		for (size_t i = 0; i < len; i++)
			junk[i] = (unsigned char)rand_r(&seed);
		if (rand_r(&seed) % 8 == 0) {
			/* cut it short, then grow it back */
			if (ftruncate(wfd, (off_t)off) < 0)
				break;
			if (pwrite(wfd, table + off, table_len - off, (off_t)off) < 0)
				break;
			continue;
		}
		if (pwrite(wfd, junk, len, (off_t)off) < 0 ||
		    pwrite(wfd, table + off, len, (off_t)off) < 0)
			break;
	}
	return NULL;
}

static void setup(void)
{
	struct cgtable_header h;
	size_t es = cgtable_entry_size(WORDS);
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	table_len = sizeof(h) + NENT * es;
	table = malloc(table_len);
	cr_assert_not_null(table);
	cgtable_header_init(&h, WORDS, NENT, 5000000000ULL,
			    (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec, 1);
	memcpy(table, &h, sizeof(h));
	for (unsigned i = 0; i < NENT; i++) {
		struct cgtable_entry e;
		struct cpuset cs;

		entry_make(i, &e, &cs);
		cgtable_entry_encode(&e, cs.bits, WORDS, table + sizeof(h) + i * es);
	}
	snprintf(path, sizeof(path), "/tmp/cgproc-table-race-%d", (int)getpid());
	wfd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(wfd, 0);
	cr_assert_eq(write(wfd, table, table_len), (ssize_t)table_len);
}

static void teardown(void)
{
	if (wfd >= 0)
		close(wfd);
	unlink(path);
	free(table);
}

Test(table_race, rewritten_while_read, .init = setup, .fini = teardown, .timeout = 120)
{
	unsigned long exact = 0, nodata = 0, wrong = 0, other = 0;
	pthread_t t;
	int rfd = open(path, O_RDONLY | O_CLOEXEC);

	cr_assert_geq(rfd, 0);
	cr_assert_eq(pthread_create(&t, NULL, writer, NULL), 0);
	for (unsigned round = 0; round < ROUNDS; round++) {
		struct cgtable_header h;
		unsigned i = round % NENT;
		struct cgtable_entry e, want;
		struct cpuset cs, wcs;
		int r;

		entry_make(i, &want, &wcs);
		r = cgtable_read_header(rfd, &h);
		if (r == 0)
			r = cgtable_lookup(rfd, &h, want.dev, want.ino, &e, &cs);
		if (r == -ENODATA) {
			nodata++;
		} else if (r < 0) {
			other++;
		} else if (e.load[0] == want.load[0] && e.load[1] == want.load[1] &&
			   e.load[2] == want.load[2] && e.running == want.running &&
			   e.total == want.total && e.mem_limit == want.mem_limit &&
			   e.quota_us == want.quota_us && cs.bits[0] == wcs.bits[0]) {
			exact++;
		} else {
			wrong++;
		}
	}
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	close(rfd);
	cr_log_info("FAULT table rewritten in place while read: %u lookups: %lu exact, %lu "
		    "no-table, %lu other errors, %lu wrong values",
		    ROUNDS, exact, nodata, other, wrong);
	cr_assert_eq(wrong, 0, "%lu lookups returned values that are not in the table", wrong);
	cr_assert_eq(other, 0, "%lu lookups failed with something else than -ENODATA", other);
	cr_assert_gt(exact, 0, "no lookup succeeded");
}
