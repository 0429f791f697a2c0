/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz the sampler table decoder (model/table.c): any bytes given to cgtable_find either yield
 * -ENODATA or an entry with the key asked for that satisfies every bound the decoder promises.
 * Input: 1 mode byte, 2 bytes of device, 4 of inode, then the table. Mode bit 0 repairs the
 * header (magic, version, sizes, count from the length, period, check) and bit 1 every entry's
 * check, so that mutations reach the entry decoder and the binary search instead of stopping at
 * a checksum.
 */
#include "fuzz.h"
#include "model/table.h"

static void repair(unsigned char *t, size_t size, bool entries)
{
	struct cgtable_header h;
	uint32_t words;
	size_t es;

	if (size < sizeof(h))
		return;
	memcpy(&h, t, sizeof(h));
	words = h.cpu_words % (CPUSET_MAX / 64) + 1;
	es = cgtable_entry_size(words);
	cgtable_header_init(&h, words, (size - sizeof(h)) / es,
			    CGTABLE_PERIOD_MIN_NS + h.period_ns % CGTABLE_PERIOD_MAX_NS,
			    h.heartbeat_ns, h.generation);
	memcpy(t, &h, sizeof(h));
	for (uint64_t i = 0; entries && i < h.count; i++) {
		unsigned char *p = t + sizeof(h) + i * es;
		struct cgtable_entry e;

		memcpy(&e, p, sizeof(e));
		cgtable_entry_encode(&e, (const uint64_t *)(p + sizeof(e)), words, p);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t mode = fuzz_take_u64(&data, &size, 1), dev = fuzz_take_u64(&data, &size, 2);
	uint64_t ino = fuzz_take_u64(&data, &size, 4);
	unsigned char *t = malloc(size ? size : 1);
	struct cgtable_header h;
	struct cgtable_entry e;
	struct cpuset cs;
	int r;

	FUZZ_CHECK(t);
	memcpy(t, data, size);
	if (mode & 1)
		repair(t, size, mode & 2);
	/* only the exact length of a table may decode (no slack before or after) */
	size -= (mode & 4) && size ? 1 : 0;

	r = cgtable_find((struct span){(const char *)t, size}, dev, ino, &e, &cs);
	FUZZ_CHECK(r == 0 || r == -ENODATA);
	if (r == 0) {
		FUZZ_CHECK(e.dev == dev && e.ino == ino);
		FUZZ_CHECK(!(e.flags & ~CGTABLE_FLAGS_ALL));
		FUZZ_CHECK(e.running <= e.total);
		for (int i = 0; i < 3; i++)
			FUZZ_CHECK(e.load[i] <= CGTABLE_LOAD_MAX);
		FUZZ_CHECK(!(e.flags & CGTABLE_HAS_CPUSET) || cpuset_count(&cs) > 0);
	}
	if (cgtable_header_decode((struct span){(const char *)t, size}, size, &h) == 0) {
		FUZZ_CHECK(h.header_size + h.count * h.entry_size == size);
		/* every key the table holds at a sorted position is found */
		for (uint64_t i = 0; i < h.count && i < 64; i++) {
			struct cgtable_entry k;

			memcpy(&k, t + h.header_size + i * h.entry_size, sizeof(k));
			r = cgtable_find((struct span){(const char *)t, size}, k.dev, k.ino, &e,
					 NULL);
			FUZZ_CHECK(r == 0 || r == -ENODATA);
			if (r == 0)
				FUZZ_CHECK(e.dev == k.dev && e.ino == k.ino);
		}
	}
	free(t);
	return 0;
}
