/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Representative programs under valgrind (memcheck) with the shim preloaded, in a 512 MiB test
 * cgroup (suite valgrind; not run by tools/run-sanitizers: valgrind and ASan exclude each
 * other). valgrind runs with --error-exitcode=99 --leak-check=full
 * --errors-for-leak-kinds=definite: any invalid access, use of uninitialised memory in a
 * syscall, or definite leak fails the run. No suppression file is used: none was needed on
 * Debian 12 (glibc 2.36, valgrind 3.19) for cat, free, python3 or the probe. Each program's
 * output is also checked for the virtual MemTotal, so the shim really was on the path.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "probe-run.h"

#define LIMIT_KB (512LL * 1024)

static struct cgdirs cg;

static void setup(void)
{
	harness_require(access("/usr/bin/valgrind", X_OK) == 0, "valgrind not installed");
	probe_cg_setup(&cg);
}

static void teardown(void)
{
	testcg_destroy(&cg);
}

TestSuite(valgrind, .init = setup, .fini = teardown, .timeout = 600);

static char *const valgrind[] = {
	"valgrind",
	"-q",
	"--error-exitcode=99",
	"--leak-check=full",
	"--errors-for-leak-kinds=definite",
	"--child-silent-after-fork=yes",
	NULL,
};

/* Run @program @args under valgrind in the test cgroup with the shim; output malloc'd. */
static int vg_run(const char *program, char *const args[], char **ret_out)
{
	struct probe_opts o = {.cg = &cg, .shim = true, .wrap = valgrind, .program = program};
	int st = probe_run(&o, args, ret_out);

	cr_log_info("VALGRIND %s: exit status %d (%s)", program ? program : "cgproc-probe",
		    WIFEXITED(st) ? WEXITSTATUS(st) : -1,
		    WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "no error, no definite leak"
							  : "FAILED");
	return st;
}

Test(valgrind, cat_meminfo)
{
	char *args[] = {"/proc/meminfo", NULL}, *out;

	cr_assert_eq(vg_run("/bin/cat", args, &out), 0, "%s", out);
	cr_assert_eq(text_kb(out, "MemTotal"), LIMIT_KB, "shim not on the path:\n%s", out);
	free(out);
}

Test(valgrind, free)
{
	char *args[] = {"-k", NULL}, *out, *mem;

	cr_assert_eq(vg_run("free", args, &out), 0, "%s", out);
	mem = strstr(out, "Mem:");
	cr_assert_not_null(mem, "%s", out);
	cr_assert_eq(atoll(mem + 4), LIMIT_KB, "shim not on the path:\n%s", out);
	free(out);
}

/* The probe opens, reads, rewinds (lseek, pread, fopen + rewind), calls sysinfo, sysconf,
 * get_nprocs and reads every virtual file once, then counts its descriptors. */
Test(valgrind, probe_all_calls)
{
	char *args[] = {"rewind:/proc/meminfo",
			"sysinfo",
			"sysconf",
			"cat:/proc/cpuinfo",
			"cat:/proc/stat",
			"rewind:/proc/stat",
			"cat:/proc/uptime",
			"cat:/proc/loadavg",
			"cat:/proc/swaps",
			"cat:/proc/diskstats",
			"cat:/proc/self/stat",
			"cat:/sys/devices/system/cpu/online",
			"cat:/sys/devices/system/cpu/possible",
			"fds",
			NULL};
	char *out, *plain, *section;
	struct probe_opts o = {.cg = &cg, .wrap = valgrind};
	int st;

	cr_assert_eq(vg_run(NULL, args, &out), 0, "%s", out);
	section = probe_section(out, "fgets-again", 0); /* rewind prints its content last */
	cr_assert_not_null(section, "%s", out);
	cr_assert_eq(text_kb(section, "MemTotal"), LIMIT_KB, "%s", out);
	cr_assert_eq(probe_field(out, "sysinfo", 0, "totalram"), LIMIT_KB * 1024, "%s", out);
	free(section);
	/* The same probe under valgrind without the shim: same descriptor count (valgrind's own
	 * descriptors show in /proc/self/fd too). */
	st = probe_run(&o, args, &plain);
	cr_assert_eq(st, 0, "%s", plain);
	cr_assert_str_eq(strstr(out, "== fds "), strstr(plain, "== fds "), "fd leak: %s / %s",
			 strstr(out, "== fds "), strstr(plain, "== fds "));
	free(plain);
	free(out);
}

Test(valgrind, python_cpu_count)
{
	char *args[] = {"-c",
			"import os\n"
			"print('cpus', os.cpu_count())\n"
			"print(open('/proc/meminfo').read())\n",
			NULL};
	char *out;

	harness_require(access("/usr/bin/python3", X_OK) == 0, "no /usr/bin/python3");
	cr_assert_eq(vg_run("/usr/bin/python3", args, &out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "cpus 1\n"), "cpuset 0 must show 1 CPU:\n%s", out);
	cr_assert_eq(text_kb(out, "MemTotal"), LIMIT_KB, "%s", out);
	free(out);
}
