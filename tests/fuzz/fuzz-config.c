/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz config_apply_text and config_apply: never fails hard, strings stay terminated inside
 * their arrays, and a single key/value either applies or is -EINVAL.
 */
#include "fuzz.h"
#include "model/config.h"

static void check_cfg(const struct cgproc_config *c)
{
	FUZZ_CHECK(memchr(c->machine, '\0', sizeof(c->machine)));
	FUZZ_CHECK(memchr(c->rundir, '\0', sizeof(c->rundir)));
	FUZZ_CHECK(memchr(c->log, '\0', sizeof(c->log)));
	FUZZ_CHECK(memchr(c->files_list, '\0', sizeof(c->files_list)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct span in = {(const char *)data, size}, key, value;
	struct cgproc_config cfg;
	const uint8_t *eq;
	int r;

	config_defaults(&cfg);
	check_cfg(&cfg);
	r = config_apply_text(&cfg, in);
	FUZZ_CHECK(r >= 0);
	FUZZ_CHECK((size_t)r <= fuzz_count(in.p, in.len, '\n') + 1);
	check_cfg(&cfg);

	eq = memchr(data, '=', size);
	if (!eq)
		return 0;
	key = (struct span){(const char *)data, (size_t)(eq - data)};
	value = (struct span){(const char *)eq + 1, size - key.len - 1};
	config_defaults(&cfg);
	r = config_apply(&cfg, key, value);
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	check_cfg(&cfg);
	return 0;
}
