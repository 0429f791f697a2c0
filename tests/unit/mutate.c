/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Seeded random text edits for the differential tests (see mutate.h). */
#include <string.h>

#include "mutate.h"

uint64_t mutator_rnd(struct mutator *m)
{
	m->state = m->state * 6364136223846793005ULL + 1442695040888963407ULL;
	return m->state >> 17;
}

size_t mutator_apply(struct mutator *m, const char *src, size_t len, char *out, size_t cap)
{
	size_t n = len < cap ? len : cap, nbytes = strlen(m->bytes);
	unsigned edits = (unsigned)(mutator_rnd(m) % 4) + m->min_edits;

	memcpy(out, src, n);
	for (unsigned e = 0; e < edits && n > 0; e++) {
		size_t at = (size_t)(mutator_rnd(m) % n);

		switch (mutator_rnd(m) % 4) {
		case 0: /* replace a byte */
			out[at] = m->bytes[mutator_rnd(m) % nbytes];
			break;
		case 1: { /* insert a string */
			const char *s = m->inserts[mutator_rnd(m) % m->n_inserts];
			size_t k = strlen(s);

			if (n + k > cap)
				break;
			memmove(out + at + k, out + at, n - at);
			memcpy(out + at, s, k);
			n += k;
			break;
		}
		case 2: /* delete a few bytes */
			if (at + m->delete_len <= n) {
				memmove(out + at, out + at + m->delete_len, n - at - m->delete_len);
				n -= m->delete_len;
			}
			break;
		default: /* cut the text */
			n = at;
			break;
		}
	}
	return n;
}
