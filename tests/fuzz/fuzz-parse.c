/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz the shared scanners: line_next/word_next cover the input exactly, parse_u64 round-trips
 * through buf_put_u64, keyed_u64 and meminfo_u64 agree with parse_u64 on what they found.
 */
#include "fuzz.h"

static int u64_fn(const void *p, struct buf *out)
{
	buf_put_u64(out, *(const uint64_t *)p);
	return buf_result(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct span in = {(const char *)data, size}, rest = in, line, w;
	size_t covered = 0, lines = 0;
	uint64_t v, back;
	size_t len;
	char *o;
	int r;

	while (line_next(&rest, &line)) {
		struct span words = line;

		FUZZ_CHECK(line.p >= in.p && line.p + line.len <= in.p + in.len);
		FUZZ_CHECK(!memchr(line.p, '\n', line.len));
		covered += line.len;
		lines++;
		while (word_next(&words, &w)) {
			FUZZ_CHECK(w.len > 0 && w.p >= line.p && w.p + w.len <= line.p + line.len);
			FUZZ_CHECK(!memchr(w.p, ' ', w.len) && !memchr(w.p, '\t', w.len));
		}
	}
	/* every byte is in a line or is a line's '\n' (the last line may lack one) */
	FUZZ_CHECK(covered + fuzz_count(in.p, in.len, '\n') == size);
	FUZZ_CHECK(lines >= fuzz_count(in.p, in.len, '\n'));

	v = 0xdead;
	r = parse_u64(in, &v);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
	if (r < 0) {
		FUZZ_CHECK(v == 0xdead);
	} else if (!span_eq(span_trim(in), "max")) {
		o = fuzz_render(u64_fn, &v, 32, size % 21, &len);
		FUZZ_CHECK(o);
		FUZZ_CHECK(parse_u64((struct span){o, len}, &back) == 0 && back == v);
		free(o);
	}

	/* the first word as a key */
	rest = in;
	if (word_next(&rest, &w) && w.len < 64 && !memchr(w.p, '\n', w.len) &&
	    !memchr(w.p, '\0', w.len)) {
		char key[64];

		memcpy(key, w.p, w.len);
		key[w.len] = '\0';
		r = keyed_u64(in, key, &v);
		FUZZ_CHECK(r == 0 || r == -ENOENT || r == -EINVAL || r == -ERANGE);
		r = meminfo_u64(in, key, &v);
		FUZZ_CHECK(r == 0 || r == -ENOENT || r == -EINVAL || r == -ERANGE);
	}
	return 0;
}
