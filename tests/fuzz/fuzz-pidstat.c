/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz pidstat_render and pidstat_starttime. First 8 bytes: the shift. The output differs from
 * the input only in field 22, which is the input's minus the shift (saturating).
 */
#include "fuzz.h"
#include "model/misc.h"

struct ctx {
	struct span in;
	uint64_t shift;
};

static int render_fn(const void *p, struct buf *out)
{
	const struct ctx *c = p;

	return pidstat_render(c->in, c->shift, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctx c;
	uint64_t before, after;
	size_t len;
	char *o;
	int r;

	c.shift = fuzz_take_u64(&data, &size, 8);
	c.in = (struct span){(const char *)data, size};
	r = pidstat_starttime(c.in, &before);
	if (r < 0) {
		char mem[16];
		struct buf b;

		FUZZ_CHECK(r == -EINVAL);
		buf_init(&b, mem, sizeof(mem));
		FUZZ_CHECK(pidstat_render(c.in, c.shift, &b) == -EINVAL);
		FUZZ_CHECK(b.len == 0);
		return 0;
	}
	o = fuzz_render(render_fn, &c, size + 32, size % 37, &len);
	FUZZ_CHECK(o);
	FUZZ_CHECK(len <= size + 20);
	FUZZ_CHECK(pidstat_starttime((struct span){o, len}, &after) == 0);
	FUZZ_CHECK(after == sat_sub(before, c.shift));
	if (c.shift == 0)
		FUZZ_CHECK(after == before);
	free(o);
	return 0;
}
