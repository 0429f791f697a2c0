/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz diskstats_render. Input: host /proc/diskstats, NUL, v2 io.stat, NUL, v1 io_serviced, NUL,
 * v1 io_service_bytes. Invariants: buf contract, never more lines than the host, every line is
 * "major minor name" and 17 counters, name taken from the host.
 */
#include "fuzz.h"
#include "model/misc.h"

struct ctx {
	struct span host, iostat, serviced, bytes;
};

static int render_fn(const void *p, struct buf *out)
{
	const struct ctx *c = p;

	return diskstats_render(c->host, c->iostat, c->serviced, c->bytes, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctx c;
	struct span rest, line;
	size_t len, host_lines;
	char *o;

	c.host = fuzz_take_part(&data, &size);
	c.iostat = fuzz_take_part(&data, &size);
	c.serviced = fuzz_take_part(&data, &size);
	c.bytes = (struct span){(const char *)data, size};
	host_lines = fuzz_count(c.host.p, c.host.len, '\n') + 1;

	o = fuzz_render(render_fn, &c, c.host.len * 4 + 4096, size % 41, &len);
	FUZZ_CHECK(o);
	FUZZ_CHECK(fuzz_count(o, len, '\n') <= host_lines);
	rest = (struct span){o, len};
	while (line_next(&rest, &line)) {
		struct span w;
		unsigned words = 0;
		uint64_t v;

		while (word_next(&line, &w)) {
			if (words != 2)
				FUZZ_CHECK(parse_u64(w, &v) == 0);
			else
				FUZZ_CHECK(memmem(c.host.p, c.host.len, w.p, w.len));
			words++;
		}
		FUZZ_CHECK(words == 20);
	}
	free(o);
	return 0;
}
