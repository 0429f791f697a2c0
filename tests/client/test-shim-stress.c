/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libcgproc.so (and, as client-shim-stress-musl, libcgproc-musl.so) under load: 32 threads x 10000
 * opens of /proc/meminfo and /proc/stat with a SIGALRM handler (every 2 ms) that opens and reads
 * /proc/meminfo; then fork and posix_spawn from a threaded program while other threads open. No
 * crash, no deadlock (children carry an alarm, the test a timeout), every read well-formed, no fd
 * left behind.
 */
#include "shim-common.h"

static struct cgdirs cg;

static void setup(void)
{
	testcg_sweep();
	harness_require_root();
	cr_assert_eq(testcg_create(&cg), 0);
	/* memory only: the CPU quota of the default limits would just slow the stress down */
	cr_assert(testcg_write(&cg, "memory.limit_in_bytes", "536870912") == 0 ||
		  testcg_write(&cg, "memory.max", "536870912") == 0);
}

static void teardown(void)
{
	testcg_destroy(&cg);
}

Test(shim_stress, threads_and_signals, .init = setup, .fini = teardown, .timeout = 600)
{
	char *out = NULL;
	int status = shim_probe(&cg, true, "stress", NULL, NULL, &out);

	shim_assert_probe(status, out);
	free(out);
}

Test(shim_stress, fork_while_threads_open, .init = setup, .fini = teardown, .timeout = 600)
{
	char *out = NULL;
	int status = shim_probe(&cg, true, "stress-fork", NULL, NULL, &out);

	shim_assert_probe(status, out);
	free(out);
}
