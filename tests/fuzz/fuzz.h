/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared helpers of the fuzz targets: each target is one LLVMFuzzerTestOneInput() over one input
 * of cgroupfs/model, linked either with libFuzzer (-Dfuzz=true, clang) or with driver.c (normal
 * build, suite 'fuzz'). Invariant violations abort() (not assert(): it must hold in any build).
 */
#pragma once

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/buf.h"
#include "model/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,       \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Little-endian integer from the front of the input (0 when it runs out); consumes it. */
static inline uint64_t fuzz_take_u64(const uint8_t **data, size_t *size, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i<bytes && * size> 0; i++) {
		v |= (uint64_t)(*data)[0] << (8 * i);
		(*data)++;
		(*size)--;
	}
	return v;
}

/* Next NUL-separated part of the input (several files in one input). */
static inline struct span fuzz_take_part(const uint8_t **data, size_t *size)
{
	const uint8_t *nul = memchr(*data, '\0', *size);
	struct span s = {(const char *)*data, nul ? (size_t)(nul - *data) : *size};

	*data += s.len + (nul ? 1 : 0);
	*size -= s.len + (nul ? 1 : 0);
	return s;
}

typedef int (*fuzz_render_fn)(const void *ctx, struct buf *out);

/*
 * Render into an exactly sized heap buffer of @cap (so ASan sees any overrun) and into one of
 * @small bytes, and check the buf contract: len <= cap, need is the full length, a cut output is
 * a prefix of the full one, the result is -ENOBUFS exactly when it did not fit. Returns the full
 * output (malloc'd, NUL-terminated, *@ret_len bytes) for further checks, or NULL when it did not
 * fit in @cap.
 */
static inline char *fuzz_render(fuzz_render_fn fn, const void *ctx, size_t cap, size_t small,
				size_t *ret_len)
{
	char *big = malloc(cap + 1), *lit = malloc(small ? small : 1);
	struct buf b, s;
	int r, rs;

	FUZZ_CHECK(big && lit);
	buf_init(&b, big, cap);
	r = fn(ctx, &b);
	FUZZ_CHECK(r == 0 || r == -ENOBUFS);
	FUZZ_CHECK(b.len <= cap);
	FUZZ_CHECK((r == 0) == (b.need <= cap));
	FUZZ_CHECK(r == -ENOBUFS || b.len == b.need);
	buf_init(&s, lit, small);
	rs = fn(ctx, &s);
	FUZZ_CHECK(s.need == b.need);
	FUZZ_CHECK(s.len == (s.need < small ? s.need : small));
	FUZZ_CHECK((rs == 0) == (s.need <= small));
	FUZZ_CHECK(memcmp(lit, big, s.len < b.len ? s.len : b.len) == 0);
	free(lit);
	if (r < 0) {
		free(big);
		return NULL;
	}
	big[b.len] = '\0';
	*ret_len = b.len;
	return big;
}

static inline size_t fuzz_count(const char *p, size_t n, char c)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += p[i] == c;
	return k;
}
