/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz cpuset_parse: anything accepted formats canonically and parses back to the same set. */
#include "fuzz.h"
#include "model/cpuset.h"

static int format_fn(const void *ctx, struct buf *out)
{
	cpuset_format(ctx, out);
	return buf_result(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct span in = {(const char *)data, size};
	struct cpuset s, back, first, keep;
	size_t len;
	char *text;
	unsigned n;

	memset(&keep, 0x5a, sizeof(keep));
	s = keep;
	if (cpuset_parse(in, &s) < 0) {
		FUZZ_CHECK(memcmp(&s, &keep, sizeof(s)) == 0);
		return 0;
	}
	n = cpuset_count(&s);
	FUZZ_CHECK(n <= CPUSET_MAX);
	FUZZ_CHECK(cpuset_empty(&s) == (n == 0));
	text = fuzz_render(format_fn, &s, 65536, size % 32, &len);
	FUZZ_CHECK(text);
	for (size_t i = 0; i < len; i++)
		FUZZ_CHECK((text[i] >= '0' && text[i] <= '9') || text[i] == ',' || text[i] == '-');
	FUZZ_CHECK(cpuset_parse((struct span){text, len}, &back) == 0);
	FUZZ_CHECK(memcmp(&s, &back, sizeof(s)) == 0);
	free(text);

	cpuset_first_n(&s, n / 2, &first);
	FUZZ_CHECK(cpuset_count(&first) == n / 2);
	back = first;
	cpuset_and(&back, &s);
	FUZZ_CHECK(memcmp(&back, &first, sizeof(back)) == 0); /* a subset */
	return 0;
}
