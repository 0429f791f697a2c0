/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The 'bench' suite: `cgproc bench --quick` must run to completion, leave nothing behind and
 * produce valid JSON with positive numbers for every piece that was built. Speed targets are
 * reported by the bench, never asserted here (this machine's noise is not a test failure).
 */
#include <criterion/criterion.h>
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

static bool leftovers(void)
{
	char *out = NULL;
	int st = harness_sh("ls -d /sys/fs/cgroup/*/cgproc-bench-* 2>/dev/null; "
			    "grep ' /tmp/cgproc-bench-' /proc/self/mountinfo; true",
			    &out, NULL);
	bool any = st != 0 || !out || *out;

	if (any)
		fprintf(stderr, "left behind:\n%s\n", out ? out : "?");

	free(out);
	return any;
}

Test(bench, quick_run_is_complete_and_valid, .fini = json_cleanup, .timeout = 120)
{
	char *out = NULL, *err = NULL;
	int st;

	harness_require_root();
	snprintf(json_path, sizeof(json_path), "/tmp/cgproc-bench-test-%d.json", getpid());
	{
		char *argv[] = {(char *)build_path("tools/cgproc"),
				"bench",
				"--quick",
				"--json",
				json_path,
				NULL};

		st = harness_run(argv, NULL, &out, &err);
	}
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "cgproc bench --quick failed (%d): %s", st,
		  err);
	cr_assert(strstr(out, "targets:"), "no targets section in:\n%s", out);
	cr_assert(strstr(out, "meminfo"), "no meminfo row in:\n%s", out);
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
		{"--iterations", "0", NULL},
		{"--rounds", "x", NULL},
		{"--files", "no-such-file", NULL},
		{"--bogus", NULL, NULL},
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
