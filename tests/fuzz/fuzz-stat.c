/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz stat_render. Input: 1 byte CPU selector, 2 bytes USER_HZ, 8 bytes uptime, 8 user_ns,
 * 8 system_ns, then host /proc/stat, NUL, v1 cpuacct.usage_all (optional).
 * Invariants: buf contract; at most one "cpu" line and it is the (saturating) column sum of the
 * cpuN lines; every cpuN line is a shown CPU with 10 columns; no more btime lines than the host.
 */
#include "fuzz.h"
#include "model/cpu.h"

struct ctx {
	struct span host;
	const struct cg_cpu *c;
	const struct cpuset *cpus;
	const struct stat_clock *clk;
};

static int render_fn(const void *p, struct buf *out)
{
	const struct ctx *x = p;

	return stat_render(x->host, x->c, x->cpus, x->clk, out);
}

static bool all_digits(struct span s)
{
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
	return s.len > 0;
}

static size_t count_btime(struct span text)
{
	struct span line, w;
	size_t n = 0;

	while (line_next(&text, &line))
		n += word_next(&line, &w) && span_eq(w, "btime");
	return n;
}

static void check_output(const char *o, size_t len, const struct cpuset *cpus)
{
	struct span rest = {o, len}, line;
	uint64_t sum[10] = {0}, all[10] = {0};
	unsigned n_all = 0;

	while (line_next(&rest, &line)) {
		struct span words = line, w, id;
		uint64_t v[10], cpu;
		bool is_all;

		if (!word_next(&words, &w) || !span_startswith(w, "cpu"))
			continue;
		id = (struct span){w.p + 3, w.len - 3};
		is_all = id.len == 0;
		if (!is_all && !all_digits(id))
			continue; /* a host line like "cpufreq", copied */
		for (int i = 0; i < 10; i++) {
			FUZZ_CHECK(word_next(&words, &w));
			FUZZ_CHECK(parse_u64(w, &v[i]) == 0 && !span_eq(w, "max"));
		}
		FUZZ_CHECK(!word_next(&words, &w));
		FUZZ_CHECK(v[1] == 0 && v[4] == 0 && v[9] == 0);
		if (is_all) {
			FUZZ_CHECK(span_startswith(line, "cpu  "));
			memcpy(all, v, sizeof(all));
			n_all++;
			continue;
		}
		FUZZ_CHECK(parse_u64(id, &cpu) == 0 && cpu < CPUSET_MAX);
		FUZZ_CHECK(cpuset_test(cpus, (unsigned)cpu));
		for (int i = 0; i < 10; i++)
			sum[i] = sat_add(sum[i], v[i]);
	}
	FUZZ_CHECK(n_all <= 1);
	if (n_all == 1)
		FUZZ_CHECK(memcmp(sum, all, sizeof(sum)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned sel = (unsigned)fuzz_take_u64(&data, &size, 1);
	struct stat_clock clk = {.btime = 12345};
	struct cg_cpu c = {0};
	struct cpuset cpus;
	struct ctx x = {.c = &c, .cpus = &cpus, .clk = &clk};
	size_t len;
	char *o;

	clk.ticks_per_sec = fuzz_take_u64(&data, &size, 2);
	clk.uptime_cs = fuzz_take_u64(&data, &size, 8);
	c.user_ns = fuzz_take_u64(&data, &size, 8);
	c.system_ns = fuzz_take_u64(&data, &size, 8);
	x.host = fuzz_take_part(&data, &size);
	c.usage_all = (struct span){(const char *)data, size};

	cpuset_clear(&cpus);
	if (sel == 255)
		FUZZ_CHECK(cpuset_parse((struct span){"0-8191", 6}, &cpus) == 0);
	else
		for (unsigned i = 0; i < 8; i++)
			if (sel & (1u << i))
				cpuset_set(&cpus, i);
	o = fuzz_render(render_fn, &x, x.host.len * 2 + 65536, sel % 61, &len);
	if (!o)
		return 0; /* thousands of CPU lines from a tiny host line each: fine, just big */
	check_output(o, len, &cpus);
	FUZZ_CHECK(count_btime((struct span){o, len}) <= count_btime(x.host));
	free(o);
	return 0;
}
