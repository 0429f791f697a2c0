/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz mountinfo_parse_cgroups: strings terminated and bounded, v1/v2 choices consistent. */
#include "fuzz.h"
#include "model/cgpath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cg_mounts m, keep;
	int r;

	memset(&keep, 0x5a, sizeof(keep));
	memcpy(&m, &keep, sizeof(m));
	r = mountinfo_parse_cgroups((struct span){(const char *)data, size}, &m);
	if (r < 0) {
		FUZZ_CHECK(r == -ENOENT || r == -ENAMETOOLONG);
		FUZZ_CHECK(memcmp(&m, &keep, sizeof(m)) == 0);
		return 0;
	}
	FUZZ_CHECK(r == 0);
	for (int c = 0; c < _CG_MAX; c++) {
		if (!m.present[c]) {
			FUZZ_CHECK(!m.v2[c] && m.mount[c][0] == '\0');
			continue;
		}
		FUZZ_CHECK(memchr(m.mount[c], '\0', CG_PATH_MAX));
		FUZZ_CHECK(memchr(m.root[c], '\0', CG_PATH_MAX));
		if (m.v2[c]) {
			/* v2 only through the unified mount */
			FUZZ_CHECK(m.present[CG_UNIFIED] && m.v2[CG_UNIFIED]);
			FUZZ_CHECK(strcmp(m.mount[c], m.mount[CG_UNIFIED]) == 0);
		}
	}
	if (m.present[CG_UNIFIED])
		FUZZ_CHECK(m.v2[CG_UNIFIED]);
	return 0;
}
