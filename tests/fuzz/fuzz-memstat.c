/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz memstat_parse (first byte: v1 or v2 keys): nothing written on failure, defaults kept. */
#include "fuzz.h"
#include "model/memory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool v1 = fuzz_take_u64(&data, &size, 1) & 1;
	struct cg_memstat st, keep;
	int r;

	memset(&keep, 0x5a, sizeof(keep));
	st = keep;
	r = memstat_parse((struct span){(const char *)data, size}, v1, &st);
	if (r < 0) {
		FUZZ_CHECK(r == -EINVAL);
		FUZZ_CHECK(memcmp(&st, &keep, sizeof(st)) == 0);
		return 0;
	}
	FUZZ_CHECK(r == 0);
	if (!v1) {
		/* v1-only limits stay "none" when v2 keys are read */
		FUZZ_CHECK(st.hierarchical_memory_limit == UINT64_MAX);
		FUZZ_CHECK(st.hierarchical_memsw_limit == UINT64_MAX);
	}
	return 0;
}
