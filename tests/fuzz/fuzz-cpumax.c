/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz the CPU quota and usage parsers (cpumax_parse, cpustat_v2_parse, cpuacct_stat_parse) and
 * the quota view built from what they return. First 2 bytes: USER_HZ; the rest: the file text.
 */
#include "fuzz.h"
#include "model/cpu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t hz = fuzz_take_u64(&data, &size, 2);
	struct span in = {(const char *)data, size};
	uint64_t q = 11, p = 22;
	struct cg_cpu c = {.user_ns = 7, .system_ns = 8}, view_in = {0};
	struct cpuset view;
	int r;

	r = cpumax_parse(in, &q, &p);
	if (r < 0) {
		FUZZ_CHECK(r == -EINVAL);
		FUZZ_CHECK(q == 11 && p == 22);
	} else {
		FUZZ_CHECK(p != 0);
		view_in.quota_us = q;
		view_in.period_us = p == 22 ? 100000 : p;
		FUZZ_CHECK(cpuset_parse((struct span){"1-3,9,4000-4003", 15}, &view_in.visible) ==
			   0);
		cpu_view_set(&view_in, true, &view);
		FUZZ_CHECK(cpuset_count(&view) >= 1 && cpuset_count(&view) <= 8);
		cpuset_and(&view, &view_in.visible);
		FUZZ_CHECK(cpuset_count(&view) >= 1);
		if (q == UINT64_MAX)
			FUZZ_CHECK(cpuset_count(&view) == 8);
	}

	r = cpustat_v2_parse(in, &c);
	if (r < 0)
		FUZZ_CHECK(c.user_ns == 7 && c.system_ns == 8);
	else if (keyed_u64(in, "user_usec", &q) != 0)
		FUZZ_CHECK(c.system_ns == 0);

	c.user_ns = 7;
	c.system_ns = 8;
	r = cpuacct_stat_parse(in, hz, &c);
	if (r < 0)
		FUZZ_CHECK(c.user_ns == 7 && c.system_ns == 8);
	else
		FUZZ_CHECK(hz != 0);
	return 0;
}
