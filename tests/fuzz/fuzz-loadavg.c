/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz loadavg_parse, loadavg_render and loadavg_step. Whatever parses renders and parses back to
 * the same counts and, within the 1/100 rounding, the same averages. One EWMA step stays between
 * the old load and the new activity.
 */
#include "fuzz.h"
#include "model/misc.h"

static int render_fn(const void *p, struct buf *out)
{
	return loadavg_render(p, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t load = fuzz_take_u64(&data, &size, 5), active = fuzz_take_u64(&data, &size, 2);
	static const uint64_t exps[] = {LOADAVG_EXP_1, LOADAVG_EXP_5, LOADAVG_EXP_15};
	struct loadavg l, back;
	size_t len;
	char *o;

	for (size_t i = 0; i < 3; i++) {
		uint64_t next = loadavg_step(load, exps[i], active);
		uint64_t target = active * LOADAVG_FIXED_1;
		uint64_t lo = load < target ? load : target, hi = load < target ? target : load;

		FUZZ_CHECK(next + 1 >= lo && next <= hi + 1);
	}

	if (loadavg_parse((struct span){(const char *)data, size}, &l) < 0)
		return 0;
	o = fuzz_render(render_fn, &l, 256, size % 29, &len);
	FUZZ_CHECK(o);
	FUZZ_CHECK(len > 0 && o[len - 1] == '\n');
	if (loadavg_parse((struct span){o, len}, &back) == 0) {
		FUZZ_CHECK(back.running == l.running && back.total == l.total &&
			   back.lastpid == l.lastpid);
		for (int i = 0; i < 3; i++)
			if (l.avg[i] < (UINT64_C(1) << 40))
				FUZZ_CHECK(back.avg[i] + 12 >= l.avg[i] &&
					   back.avg[i] <= l.avg[i] + 12);
	} else {
		/* only averages too big to print back in fixed point may fail */
		FUZZ_CHECK(l.avg[0] >= (UINT64_C(1) << 40) || l.avg[1] >= (UINT64_C(1) << 40) ||
			   l.avg[2] >= (UINT64_C(1) << 40));
	}
	free(o);
	return 0;
}
