/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Seeded random edits of a text for the differential tests: replace a byte, insert one of a
 * list of strings, delete a few bytes, cut the text. Deterministic for a given seed.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct mutator {
	uint64_t state;		    /* the generator's state: the seed */
	const char *const *inserts; /* strings to insert */
	size_t n_inserts;
	const char *bytes;  /* replacement bytes, a NUL-terminated set */
	unsigned min_edits; /* edits per text: min_edits + 0..3 */
	size_t delete_len;  /* bytes one deletion removes */
};

/* The next pseudo-random number (an LCG's high bits). */
uint64_t mutator_rnd(struct mutator *m);
/* @src (@len bytes) mutated into @out (up to @cap bytes); returns the new length. */
size_t mutator_apply(struct mutator *m, const char *src, size_t len, char *out, size_t cap);
