/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz proc_cgroup_parse and the in-place path helpers: every path starts with '/', fits, and
 * walking to the root with cg_path_parent terminates with strictly shorter paths.
 */
#include "fuzz.h"
#include "model/cgpath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cg_paths p, keep;
	int r;

	memset(&keep, 0x5a, sizeof(keep));
	memcpy(&p, &keep, sizeof(p));
	r = proc_cgroup_parse((struct span){(const char *)data, size}, &p);
	if (r < 0) {
		FUZZ_CHECK(r == -ENOENT || r == -ENAMETOOLONG);
		FUZZ_CHECK(memcmp(&p, &keep, sizeof(p)) == 0);
		return 0;
	}
	for (int c = 0; c < _CG_MAX; c++) {
		char *path = p.path[c];
		size_t len;

		if (!p.present[c])
			continue;
		FUZZ_CHECK(memchr(path, '\0', CG_PATH_MAX));
		FUZZ_CHECK(path[0] == '/');
		cg_path_strip_init_scope(path);
		FUZZ_CHECK(path[0] == '/');
		len = strlen(path);
		while (cg_path_parent(path)) {
			size_t n = strlen(path);

			FUZZ_CHECK(n < len && path[0] == '/');
			len = n;
		}
		FUZZ_CHECK(path[0] == '/');
	}
	/* the unified path feeds every controller without a v1 line, so it is all or nothing */
	if (p.present[CG_UNIFIED])
		for (int c = 0; c < _CG_MAX; c++)
			FUZZ_CHECK(p.present[c]);
	return 0;
}
