/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The harness itself: a cgroup made in every hierarchy, a child placed in it, all removed. */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

static struct cgdirs cg;

static void setup(void)
{
	testcg_sweep();
}

static void teardown(void)
{
	testcg_destroy(&cg);
}

Test(harness, cgroup_lifecycle, .init = setup, .fini = teardown)
{
	char *argv[] = {"sleep", "30", NULL}, path[64], *out = NULL;
	pid_t pid;

	harness_require_root();
	cr_assert_eq(testcg_create(&cg), 0);
	cr_assert_gt(cg.n, 0);
	cr_assert_eq(testcg_limit_default(&cg), 0);
	pid = testcg_spawn(&cg, argv);
	cr_assert_gt(pid, 0);
	snprintf(path, sizeof(path), "cat /proc/%d/cgroup", pid);
	cr_assert_eq(harness_sh(path, &out, NULL), 0);
	cr_assert(strstr(out, cg.name), "child is in %s: %s", cg.name, out);
	harness_kill(pid);
	free(out);
	testcg_destroy(&cg);
	cr_assert_neq(access("/sys/fs/cgroup/memory", F_OK) == 0 && access(cg.dir[0], F_OK) == 0,
		      1);
}
