/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgproc doctor on the real host: its verdicts follow from what the host really has. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* What the layout line must say, worked out here from mountinfo independently of cgproc. */
static const char *expected_layout(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	bool v1 = false, v2 = false;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");

		if (!sep)
			continue;
		if (strncmp(sep + 3, "cgroup2 ", 8) == 0)
			v2 = true;
		else if (strncmp(sep + 3, "cgroup ", 7) == 0)
			v1 = true;
	}
	fclose(f);
	return v1 && v2 ? "hybrid" : v2 ? "cgroup v2" : "cgroup v1";
}

Test(doctor, healthy_host)
{
	char *argv[] = {(char *)build_path("tools/cgproc"), "doctor", NULL}, *out = NULL;
	int status;

	harness_require_root();
	status = harness_run(argv, NULL, &out, NULL);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "doctor failed:\n%s", out);
	cr_expect(strstr(out, expected_layout()), "layout should be %s:\n%s", expected_layout(),
		  out);
	cr_expect(strstr(out, "ok    machine cgroup"), "%s", out);
	cr_expect(strstr(out, "ok    shim"), "%s", out);
	free(out);
}

Test(doctor, missing_shim_is_a_problem)
{
	char *argv[] = {(char *)build_path("tools/cgproc"), "doctor", NULL}, *out = NULL;
	char *env[] = {"CGPROC_SHIM=/nonexistent/libcgproc.so", NULL};
	int status;

	harness_require_root();
	status = harness_run(argv, env, &out, NULL);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "%s", out);
	cr_expect(strstr(out, "FAIL  shim"), "%s", out);
	free(out);
}

Test(doctor, usage_error)
{
	char *argv[] = {(char *)build_path("tools/cgproc"), "doctor", "extra", NULL};
	int status = harness_run(argv, NULL, NULL, NULL);

	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2);
}

/* The FUSE-over-io_uring line follows the fuse module's enable_uring, read here directly. */
Test(doctor, fuse_io_uring_line_follows_the_module_parameter)
{
	char *argv[] = {(char *)build_path("tools/cgproc"), "doctor", NULL}, *out = NULL;
	char c = harness_fuse_uring();

	harness_require_root();
	harness_run(argv, NULL, &out, NULL);
	cr_assert(out);
	if (c == 0)
		cr_expect(strstr(out, "ok    fuse io_uring          not in this kernel"), "%s",
			  out);
	else if (c == 'Y')
		cr_expect(strstr(out, "ok    fuse io_uring          enabled"), "%s", out);
	else
		cr_expect(strstr(out, "warn  fuse io_uring          off: ") &&
				  strstr(out, "echo Y > /sys/module/fuse/parameters/enable_uring"),
			  "%s", out);
	free(out);
}
