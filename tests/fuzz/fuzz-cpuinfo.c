/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz cpuinfo_render. First byte selects the shown CPUs; the rest is the host /proc/cpuinfo.
 * Invariants: buf contract, no invented lines (the line count never grows), every CPU in the
 * output is in the set.
 */
#include "fuzz.h"
#include "model/cpu.h"

struct ctx {
	struct span host;
	const struct cpuset *cpus;
};

static int render_fn(const void *p, struct buf *out)
{
	const struct ctx *c = p;

	return cpuinfo_render(c->host, c->cpus, out);
}

/* The first parseable "processor" line of each block (what the renderer goes by) is shown. */
static void check_shown(const char *o, size_t len, const struct cpuset *cpus)
{
	struct span rest = {o, len}, line;
	bool seen = false;

	while (line_next(&rest, &line)) {
		const char *colon = memchr(line.p, ':', line.len);
		struct span key, val;
		uint64_t id;

		if (span_trim(line).len == 0) {
			seen = false;
			continue;
		}
		if (!colon || seen)
			continue;
		key = span_trim((struct span){line.p, (size_t)(colon - line.p)});
		val = (struct span){colon + 1, line.len - (size_t)(colon + 1 - line.p)};
		if (!span_eq(key, "processor") || parse_u64(val, &id) < 0)
			continue;
		seen = true;
		FUZZ_CHECK(id < CPUSET_MAX && cpuset_test(cpus, (unsigned)id));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned sel = (unsigned)fuzz_take_u64(&data, &size, 1);
	struct span host = {(const char *)data, size};
	struct cpuset cpus;
	struct ctx c = {host, &cpus};
	size_t len, host_lines = fuzz_count(host.p, host.len, '\n');
	char *o;

	cpuset_clear(&cpus);
	for (unsigned i = 0; i < 8; i++)
		if (sel & (1u << i))
			cpuset_set(&cpus, i * (1 + sel / 64));
	o = fuzz_render(render_fn, &c, size * 2 + 4096, sel % 97, &len);
	FUZZ_CHECK(o);
	FUZZ_CHECK(fuzz_count(o, len, '\n') <= host_lines);
	check_shown(o, len, &cpus);
	free(o);

	FUZZ_CHECK(cpuset_parse((struct span){"0-8191", 6}, &cpus) == 0);
	o = fuzz_render(render_fn, &c, size * 2 + 4096, sel % 13, &len);
	FUZZ_CHECK(o);
	FUZZ_CHECK(fuzz_count(o, len, '\n') <= host_lines);
	free(o);
	return 0;
}
