/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The 'bench' suite: `cgproc bench --quick` must run to completion, leave nothing behind and
 * produce valid JSON with positive numbers for every piece that was built. Speed targets are
 * reported by the bench, never asserted here (this machine's noise is not a test failure).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <glob.h>
#include <signal.h>
#include <sys/vfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static char json_path[64];

static void json_cleanup(void)
{
	if (json_path[0])
		unlink(json_path);
}

/* cgroups or mounts of a bench run that has exited (live runs of others are not ours). */
static bool leftovers(void)
{
	static const char *const patterns[] = {"/sys/fs/cgroup/*/cgproc-bench-*",
					       "/tmp/cgproc-bench-*.*/*"};
	bool any = false;

	for (size_t p = 0; p < sizeof(patterns) / sizeof(patterns[0]); p++) {
		glob_t g;

		if (glob(patterns[p], 0, NULL, &g) != 0)
			continue;
		for (size_t i = 0; i < g.gl_pathc; i++) {
			const char *name = strstr(g.gl_pathv[i], "cgproc-bench-");
			int pid;

			struct statfs sf;

			if (!name || sscanf(name, "cgproc-bench-%d", &pid) != 1)
				continue;
			/* only real cgroups (a stray directory on the tmpfs is not ours) and mounts
			 */
			if (p == 0 && (statfs(g.gl_pathv[i], &sf) < 0 ||
				       (sf.f_type != 0x27e0eb && sf.f_type != 0x63677270)))
				continue;
			if (kill(pid, 0) < 0 && errno == ESRCH) {
				fprintf(stderr, "left behind: %s\n", g.gl_pathv[i]);
				any = true;
			}
		}
		globfree(&g);
	}
	return any;
}

Test(bench, quick_run_is_complete_and_valid, .fini = json_cleanup, .timeout = 120)
{
	char *out = NULL, *err = NULL;
	char uring_before = harness_fuse_uring();
	int st;

	harness_require_root();
	snprintf(json_path, sizeof(json_path), "/tmp/cgproc-bench-test-%d.json", getpid());
	{
		char *argv[] = {(char *)build_path("tools/cgproc"),
				"bench",
				"--quick",
				"--reuse-ms",
				"0",
				"--json",
				json_path,
				NULL};

		st = harness_run(argv, NULL, &out, &err);
	}
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "cgproc bench --quick failed (%d): %s", st,
		  err);
	cr_assert(strstr(out, "targets:"), "no targets section in:\n%s", out);
	cr_assert(strstr(out, "meminfo"), "no meminfo row in:\n%s", out);
	/* /proc/vmstat and the listing of /sys/devices/system/cpu have rows of their own */
	cr_assert(strstr(out, "\nvmstat "), "no vmstat row in:\n%s", out);
	cr_assert(strstr(out, "\ncpu-dir (list) "), "no CPU directory row in:\n%s", out);
	/* --reuse-ms 0: the shim workers render every open, and the report says so */
	cr_assert(strstr(out, "shim reuse window off (reuse_ms 0)"), "no reuse window line:\n%s",
		  out);
	/* cgprocfs through FUSE-over-io_uring where the kernel has it; the host-wide switch the
	 * bench flips for its mount is back as it was */
	cr_assert_eq(harness_fuse_uring(), uring_before, "enable_uring not restored");
	if (uring_before)
		cr_expect(strstr(err, "cgprocfs serves through FUSE-over-io_uring"), "%s", err);
	if (uring_before == 'N')
		cr_expect(strstr(err, "enabling FUSE-over-io_uring for the cgprocfs mount"), "%s",
			  err);
	free(out);
	free(err);

	{
		char *argv[] = {"/usr/bin/python3",
				(char *)source_path("tests/bench/check-bench-json.py"), json_path,
				(char *)build_path(""), NULL};

		st = harness_run(argv, NULL, &out, &err);
	}
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "bench JSON check failed:\n%s%s", out,
		  err);
	free(out);
	free(err);
	cr_assert(!leftovers(), "cgproc bench left a cgroup or a mount behind");
}

Test(bench, bad_arguments_are_refused)
{
	static const char *const bad[][3] = {
		{"--iterations", "0", NULL},	   {"--rounds", "x", NULL},
		{"--files", "no-such-file", NULL}, {"--bogus", NULL, NULL},
		{"--reuse-ms", "1001", NULL},	   {"--reuse-ms", "-1", NULL},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = {(char *)build_path("tools/cgproc"), "bench", (char *)bad[i][0],
				(char *)bad[i][1], NULL};
		char *out = NULL, *err = NULL;
		int st = harness_run(argv, NULL, &out, &err);

		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2, "%s %s: want exit 2, got %d",
			  bad[i][0], bad[i][1] ? bad[i][1] : "", st);
		cr_assert(err && *err, "%s: no error message", bad[i][0]);
		free(out);
		free(err);
	}
}
