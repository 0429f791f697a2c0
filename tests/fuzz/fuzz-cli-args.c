/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz the CLI's argument parsers (tools/cgproc/run-args.c: --memory/--swap sizes, --cpu-quota,
 * --name) and the --cpus list parser they share with the core (cpuset_parse). A parser either
 * refuses with -EINVAL/-ERANGE and writes nothing, or returns a value inside its documented
 * bounds, and gives the same answer twice.
 */
#include <string.h>

#include "fuzz.h"
#include "model/cpuset.h"
#include "run-args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char arg[256];
	uint64_t v = 7, v2 = 7, q = 11, p = 22;
	struct cpuset set;
	size_t n = size < sizeof(arg) - 1 ? size : sizeof(arg) - 1;
	bool valid;
	int r;

	memcpy(arg, data, n);
	arg[n] = 0; /* argv strings end at the first NUL, as here */

	r = size_parse(arg, &v);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
	if (r < 0)
		FUZZ_CHECK(v == 7);
	FUZZ_CHECK(size_parse(arg, &v2) == r && (r < 0 || v2 == v));

	r = quota_parse(arg, &q, &p);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
	if (r < 0)
		FUZZ_CHECK(q == 11 && p == 22);
	else
		FUZZ_CHECK(q >= 1000 && p >= 1000 && p <= 1000000);

	valid = cgname_valid(arg);
	if (valid) {
		size_t len = strlen(arg);

		FUZZ_CHECK(len >= 1 && len <= 200);
		FUZZ_CHECK(strcmp(arg, ".") != 0 && strcmp(arg, "..") != 0);
		FUZZ_CHECK(strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "0123456789._-") == len);
	}

	r = cpuset_parse((struct span){arg, strlen(arg)}, &set);
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	return 0;
}
