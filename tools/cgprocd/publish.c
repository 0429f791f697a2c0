/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Writing the table at the end of a pass, resuming it at start-up (see publish.h). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/misc.h"
#include "publish.h"

uint64_t sampler_clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

uint64_t sampler_exp(uint64_t period_ns, unsigned minutes)
{
	double e;

	/* The kernel's constants are FIXED_1 / e^(5 s / minutes): use them verbatim at 5 s. */
	if (period_ns == UINT64_C(5000000000)) {
		switch (minutes) {
		case 1:
			return LOADAVG_EXP_1;
		case 5:
			return LOADAVG_EXP_5;
		case 15:
			return LOADAVG_EXP_15;
		}
	}
	e = (double)LOADAVG_FIXED_1 / exp((double)period_ns / 1e9 / (60.0 * minutes));
	if (e < 1)
		e = 1;
	return (uint64_t)(e + 0.5);
}

void sampler_set_period(struct sampler *s, uint64_t period_ns)
{
	static const unsigned minutes[3] = {1, 5, 15};

	s->period_ns = period_ns;
	for (int i = 0; i < 3; i++)
		s->exp[i] = sampler_exp(period_ns, minutes[i]);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct cgtable_entry *x = a, *y = b;

	return cgtable_key_cmp(x->dev, x->ino, y->dev, y->ino);
}

static int key_cmp(const void *a, const void *b)
{
	const struct sampler_key *x = a, *y = b;

	return cgtable_key_cmp(x->dev, x->ino, y->dev, y->ino);
}

/*
 * The pass's entries in key order. The walk visits an unchanged tree in the same order every
 * pass, so when the keys come in the order of the last sort, that sort's permutation is applied
 * again: one comparison of each key instead of O(n log n) of them (most of the averaging and
 * encoding time at 10,000 cgroups). Otherwise the keys alone are sorted (small, contiguous) and
 * the entries moved once. -ENOMEM leaves the entries as they were, unsorted.
 */
static int entries_sort(struct sampler *s)
{
	bool same = s->nkeys == s->count && s->walk_keys;
	unsigned char *nb;

	for (size_t i = 0; same && i < s->count; i++) {
		const struct cgtable_entry *e = entry_at(s, i);

		same = s->walk_keys[i].dev == e->dev && s->walk_keys[i].ino == e->ino;
	}
	if (!same) {
		struct sampler_key *k = malloc((s->count + 1) * sizeof(*k));
		size_t *o = malloc((s->count + 1) * sizeof(*o));

		if (!k || !o) {
			free(k);
			free(o);
			return -ENOMEM;
		}
		for (size_t i = 0; i < s->count; i++) {
			k[i].dev = entry_at(s, i)->dev;
			k[i].ino = entry_at(s, i)->ino;
			k[i].at = i;
		}
		free(s->walk_keys);
		free(s->sorted);
		s->walk_keys = k;
		s->sorted = o;
		s->nkeys = s->count;
		/* a copy sorted by key gives the order; walk_keys stays in walk order */
		k = malloc((s->count + 1) * sizeof(*k));
		if (!k) {
			s->nkeys = 0;
			return -ENOMEM;
		}
		memcpy(k, s->walk_keys, s->count * sizeof(*k));
		qsort(k, s->count, sizeof(*k), key_cmp);
		for (size_t i = 0; i < s->count; i++)
			o[i] = k[i].at;
		free(k);
	}
	nb = realloc(s->spare, (s->cap ? s->cap : 1) * esize(s));
	if (!nb)
		return -ENOMEM;
	for (size_t i = 0; i < s->count; i++)
		memcpy(nb + i * esize(s), s->body + s->sorted[i] * esize(s), esize(s));
	s->spare = s->body;
	s->body = nb;
	return 0;
}

/*
 * Replace the stashed R + D counts by the stepped averages, from the previous table's values (or
 * by those values, unstepped, when !@step). The entries and the previous table are both sorted by
 * key: one merge, no search. The previous table is our own last one, or one a previous instance
 * left that publish_resume() validated entry by entry.
 */
static void loads_step(struct sampler *s, bool step)
{
	struct cgtable_header ph;
	uint64_t pn = 0, j = 0;

	if (s->prev && cgtable_header_decode((struct span){(const char *)s->prev, s->prev_len},
					     s->prev_len, &ph) == 0)
		pn = ph.count;
	for (size_t i = 0; i < s->count; i++) {
		struct cgtable_entry *e = entry_at(s, i), prev;
		uint64_t active = e->load[0];
		int c = 1;

		if (!(e->flags & CGTABLE_HAS_LOAD)) {
			e->load[0] = 0;
			continue;
		}
		for (; j < pn; j++) {
			memcpy(&prev, s->prev + ph.header_size + j * ph.entry_size, sizeof(prev));
			c = cgtable_key_cmp(prev.dev, prev.ino, e->dev, e->ino);
			if (c >= 0)
				break;
		}
		/* a cgroup new since the last pass starts from 0, like the kernel at boot */
		if (c != 0 || !(prev.flags & CGTABLE_HAS_LOAD))
			memset(prev.load, 0, sizeof(prev.load));
		for (int k = 0; k < 3; k++) {
			uint64_t v =
				step ? loadavg_step(prev.load[k], s->exp[k], active) : prev.load[k];

			e->load[k] = v > CGTABLE_LOAD_MAX ? CGTABLE_LOAD_MAX : v;
		}
	}
}

static int table_write(struct sampler *s, unsigned char *file, size_t len)
{
	char tmp[64];
	size_t done = 0;
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), ".%s.%.*s.tmp", CGTABLE_FILE, (int)s->self_len, s->self_str);
	(void)unlinkat(s->rundirfd, tmp, 0);
	fd = openat(s->rundirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0644) < 0) /* whatever the umask: readable by all */
		r = -errno;
	while (r == 0 && done < len) {
		ssize_t n = write(fd, file + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = n < 0 ? -errno : -EIO;
		else
			done += (size_t)n;
	}
	if (close(fd) < 0 && r == 0)
		r = -errno;
	/* rename() swaps the whole file at once: readers have the old one or the new one */
	if (r == 0 && renameat(s->rundirfd, tmp, s->rundirfd, CGTABLE_FILE) < 0)
		r = -errno;
	if (r < 0)
		(void)unlinkat(s->rundirfd, tmp, 0);
	return r;
}

/*
 * Encode entry @i into @out: a copy of the previous table's entry under the same key when nothing
 * in it changed (its checksum with it), else a fresh encoding. Hashing each entry byte by byte
 * is the largest part of the write of a table of thousands of cgroups, and on a host most of
 * them are idle from one pass to the next. @prev_entry: NULL when the key is new or the previous
 * entries have another size.
 */
static void entry_encode(struct sampler *s, size_t i, const unsigned char *prev_entry,
			 unsigned char *out)
{
	struct cgtable_entry e = *entry_at(s, i), p;

	if (prev_entry) {
		memcpy(&p, prev_entry, sizeof(p));
		e.check = p.check;
		if (memcmp(&e, &p, sizeof(e)) == 0 &&
		    memcmp(prev_entry + sizeof(p), entry_cpus(s, i), (size_t)s->cpu_words * 8) ==
			    0) {
			memcpy(out, prev_entry, esize(s));
			return;
		}
	}
	cgtable_entry_encode(entry_at(s, i), entry_cpus(s, i), s->cpu_words, out);
}

int publish_table(struct sampler *s, bool step)
{
	struct cgtable_header ph;
	uint64_t pn = 0, j = 0;
	struct cgtable_header h;
	unsigned char *file;
	uint64_t t0;
	size_t len;
	int r;

	if (entries_sort(s) < 0)
		qsort(s->body, s->count, esize(s), entry_cmp);

	/* Two hierarchies mounted at once can only collide on a bind mount we skipped, but a key
	 * must never appear twice: drop duplicates. */
	if (s->count > 1) {
		size_t o = 1;

		for (size_t i = 1; i < s->count; i++) {
			if (entry_cmp(entry_at(s, o - 1), entry_at(s, i)) == 0)
				continue;
			if (o != i)
				memcpy(entry_at(s, o), entry_at(s, i), esize(s));
			o++;
		}
		s->count = o;
	}
	loads_step(s, step);

	len = sizeof(h) + s->count * esize(s);
	file = malloc(len);
	if (!file)
		return -ENOMEM;
	if (s->prev &&
	    cgtable_header_decode((struct span){(const char *)s->prev, s->prev_len}, s->prev_len,
				  &ph) == 0 &&
	    ph.entry_size == esize(s))
		pn = ph.count;
	for (size_t i = 0; i < s->count; i++) {
		const struct cgtable_entry *e = entry_at(s, i);
		const unsigned char *pe = NULL;
		int c = 1;

		/* both sorted by key: one merge */
		for (; j < pn; j++) {
			struct cgtable_entry prev;

			pe = s->prev + ph.header_size + j * ph.entry_size;
			memcpy(&prev, pe, sizeof(prev));
			c = cgtable_key_cmp(prev.dev, prev.ino, e->dev, e->ino);
			if (c >= 0)
				break;
		}
		entry_encode(s, i, c == 0 ? pe : NULL, file + sizeof(h) + i * esize(s));
	}
	s->generation++;
	cgtable_header_init(&h, s->cpu_words, s->count, s->period_ns,
			    sampler_clock_ns(CLOCK_BOOTTIME), s->generation);
	cgtable_header_set_sampler(&h, sampler_kind(s));
	memcpy(file, &h, sizeof(h));
	t0 = sampler_clock_ns(CLOCK_MONOTONIC);
	r = table_write(s, file, len);
	s->stats.file_us = (sampler_clock_ns(CLOCK_MONOTONIC) - t0) / 1000;

	free(s->prev);
	s->prev = file;
	s->prev_len = len;
	s->stats.bytes = len;
	return r;
}

void publish_resume(struct sampler *s)
{
	struct cgtable_header h;
	struct stat st;
	unsigned char *file;
	ssize_t n;
	int fd;

	fd = openat(s->rundirfd, CGTABLE_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(h) ||
	    st.st_size > (off_t)(sizeof(h) + CGTABLE_COUNT_MAX * cgtable_entry_size(1))) {
		close(fd);
		return;
	}
	file = malloc((size_t)st.st_size);
	n = file ? pread(fd, file, (size_t)st.st_size, 0) : -1;
	close(fd);
	if (n != st.st_size ||
	    cgtable_header_decode((struct span){(const char *)file, (size_t)n}, (uint64_t)n, &h) <
		    0 ||
	    sampler_clock_ns(CLOCK_BOOTTIME) - h.heartbeat_ns > UINT64_C(900) * 1000000000) {
		free(file);
		return;
	}
	/* every entry checked once here: passes then merge with it without decoding */
	for (uint64_t i = 0; i < h.count; i++) {
		const char *p = (const char *)file + h.header_size + i * h.entry_size;
		struct cgtable_entry e, last = {.dev = 0};

		if (cgtable_entry_decode(&h, (struct span){p, h.entry_size}, &e, NULL) < 0 ||
		    (i && cgtable_key_cmp(last.dev, last.ino, e.dev, e.ino) >= 0)) {
			free(file);
			return;
		}
		last = e;
	}
	s->prev = file;
	s->prev_len = (size_t)n;
	s->generation = h.generation;
}
