/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libcgproc.so from the inside: shim-probe runs with the shim preloaded in a real cgroup limited
 * to 512 MiB and CPU 0, and checks every open spelling, O_CLOEXEC, refresh on rewind, untouched
 * non-virtual opens, errno, fd leaks and the libc calls.
 */
#include "shim-common.h"

static struct testcg cg;

static void setup(void)
{
	testcg_sweep();
	harness_require_root();
	cr_assert_eq(testcg_create(&cg), 0);
	cr_assert_eq(testcg_limit_default(&cg), 0);
}

static void teardown(void)
{
	testcg_destroy(&cg);
}

static void run(const char *mode)
{
	char *out = NULL;
	int status = shim_probe(&cg, true, mode, NULL, NULL, &out);

	shim_assert_probe(status, out);
	free(out);
}

Test(shim, spellings, .init = setup, .fini = teardown)
{
	run("spellings");
}

Test(shim, probe_fails_without_shim, .init = setup, .fini = teardown)
{
	char *argv[3] = {NULL, "spellings", NULL}, *out = NULL;
	int status;

	/* The probe itself can fail: the host is bigger than 512 MiB here. */
	argv[0] = (char *)build_path("tests/client/shim-probe");
	status = harness_run(argv, NULL, &out, NULL);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d:\n%s", status, out);
	free(out);
}

Test(shim, cloexec, .init = setup, .fini = teardown)
{
	run("cloexec");
}

Test(shim, rewind_refreshes, .init = setup, .fini = teardown)
{
	run("rewind");
}

Test(shim, non_virtual_untouched, .init = setup, .fini = teardown)
{
	run("untouched");
}

Test(shim, per_process_stat, .init = setup, .fini = teardown)
{
	run("pidstat");
}

Test(shim, no_fd_leak, .init = setup, .fini = teardown)
{
	run("fdleak");
}

Test(shim, libc_calls, .init = setup, .fini = teardown)
{
	run("libc");
}

Test(shim, programs, .init = setup, .fini = teardown)
{
	char cmd[4096], *out = NULL;
	size_t len = 0;
	int status;

	/* Real programs: free, vmstat (keeps the fd and rewinds), python. */
	len += (size_t)snprintf(cmd, sizeof(cmd), "LD_PRELOAD=%s; export LD_PRELOAD; ",
				build_path("preload/libcgproc.so"));
	for (int i = 0; i < cg.n; i++)
		len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, "echo $$ > %s/cgroup.procs; ",
					cg.dir[i]);
	snprintf(cmd + len, sizeof(cmd) - len,
		 "free -k | awk '/^Mem:/ {print \"total\", $2}'; "
		 "/usr/bin/python3 -c 'import os; print(\"cpus\", os.cpu_count())'; "
		 "vmstat 1 2 | tail -n 2 | awk '{print \"vmfree\", $4}'");
	status = harness_sh(cmd, &out, NULL);
	cr_log_info("%s", out);
	cr_assert_eq(status, 0);
	cr_assert(strstr(out, "total " SHIM_EXPECT_KB "\n"), "free: %s", out);
	cr_assert(strstr(out, "cpus 1\n"), "python os.cpu_count(): %s", out);
	cr_assert(strstr(out, "vmfree "), "vmstat: %s", out);
}

Test(shim, vmstat_and_top_move, .init = setup, .fini = teardown)
{
	char cmd[4096], *out = NULL;
	size_t len = 0;
	int status, lines = 0, busy = 0;

	/* A busy loop in the machine: vmstat (rewinds the fd of /proc/stat with a FILE rewind)
	 * and top show CPU time being used, not a frozen first sample. */
	len += (size_t)snprintf(cmd, sizeof(cmd), "LD_PRELOAD=%s; export LD_PRELOAD; ",
				build_path("preload/libcgproc.so"));
	for (int i = 0; i < cg.n; i++)
		len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, "echo $$ > %s/cgroup.procs; ",
					cg.dir[i]);
	snprintf(cmd + len, sizeof(cmd) - len,
		 "sh -c 'while :; do :; done' & B=$!; sleep 0.5; "
		 "vmstat 1 3 | tail -n 2 | awk '{print \"vm\", $13 + $14}'; "
		 "top -bn3 -d1 | awk '/^%%Cpu/ {print \"top\", $2 + $4}' | tail -n 2; kill $B");
	status = harness_sh(cmd, &out, NULL);
	cr_log_info("%s", out);
	cr_assert_eq(status, 0);
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		double v = strtod(strchr(line, ' ') ? strchr(line, ' ') + 1 : line, NULL);

		lines++;
		if (v >= 5)
			busy++;
	}
	cr_assert_eq(lines, 4, "vmstat and top lines");
	cr_assert_eq(busy, 4, "every later sample shows the busy loop (us+sy >= 5%%)");
	free(out);
}
