/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Suite bench: shim-bench (native vs shim per call, interleaved) inside a test cgroup limited to
 * 512 MiB and CPU 0 (no CFS quota: throttling would measure the quota, not the shim). Prints the
 * table into the test log. Asserts only that the run completed and that the shim really served
 * the virtual files (not their speed: that depends on the machine and its load).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

static struct cgdirs cg;

static void setup(void)
{
	testcg_sweep();
	harness_require_root();
	cr_assert_eq(testcg_create(&cg), 0);
	cr_assert_eq(testcg_limit_default(&cg), 0);
	/* v1 or v2, whichever has it */
	if (testcg_write(&cg, "cpu.cfs_quota_us", "-1") < 0)
		testcg_write(&cg, "cpu.max", "max");
}

static void teardown(void)
{
	testcg_destroy(&cg);
}

Test(bench, shim, .init = setup, .fini = teardown, .timeout = 600)
{
	static char preload[600], cmd[8192];
	char *env[] = {preload, NULL}, *argv[] = {"/bin/sh", "-c", cmd, NULL}, *out = NULL;
	const char *rounds = getenv("CGPROC_BENCH_ROUNDS");
	size_t len = 0;
	int status;

	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", build_path("preload/libcgproc.so"));
	for (int i = 0; i < cg.n; i++)
		len += (size_t)snprintf(cmd + len, sizeof(cmd) - len,
					"echo $$ > %s/cgroup.procs || exit 99; ", cg.dir[i]);
	snprintf(cmd + len, sizeof(cmd) - len, "exec %s %s 100",
		 build_path("tests/bench/shim-bench"), rounds ? rounds : "20");
	status = harness_run(argv, env, &out, NULL);
	cr_log_info("shim-bench: status %d\n%s", status, out ? out : "");
	/* TAP comment lines on stdout (meson test -v shows them) and a copy in the build tree */
	{
		char *copy = strdup(out ? out : ""), *save = NULL;
		FILE *f = fopen(build_path("shim-bench.txt"), "we");

		for (char *line = strtok_r(copy, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			printf("# %s\n", line);
			if (f)
				fprintf(f, "%s\n", line);
		}
		fflush(stdout);
		if (f)
			fclose(f);
		free(copy);
	}
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
	cr_assert(out && strstr(out, "meminfo") && strstr(strstr(out, "meminfo"), "served"),
		  "meminfo not served:\n%s", out ? out : "");
	cr_assert(strstr(out, "get_nprocs"), "incomplete:\n%s", out);
	free(out);
}
