/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The musl build of the shim (libcgproc-musl.so): a program built with musl-gcc, dynamically
 * linked, preloaded with it in a 512 MiB / 1-CPU `cgproc run` box (whose own glibc shim is off:
 * --no-shim), reports the box through /proc/meminfo, sysinfo(2), sysconf, get_nprocs and the CPU
 * directory's listing, and reads an ordinary file as usual. Outside any limit (fail-open: the
 * configuration switched off) it reports the host.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "harness.h"

static void setup(void)
{
	testcg_sweep();
	harness_require_root();
	harness_require(access(build_path("preload/libcgproc-musl.so"), R_OK) == 0,
			"needs the musl shim (musl-tools: musl-gcc)");
}

TestSuite(musl, .init = setup, .timeout = 120);

static char *probe_run_of(const char *prefix, const char *probe)
{
	char cmd[8192], *out = NULL;
	int st;

	snprintf(cmd, sizeof(cmd), "%s env LD_PRELOAD=%s %s", prefix,
		 build_path("preload/libcgproc-musl.so"), build_path(probe));
	st = harness_sh(cmd, &out, NULL);
	cr_assert_eq(st, 0, "%s: status %#x\n%s", cmd, st, out);
	return out;
}

static char *probe_run(const char *prefix)
{
	return probe_run_of(prefix, "tests/client/musl-probe");
}

static long long field(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	cr_assert(p, "no %s in:\n%s", key, text);
	return strtoll(p + strlen(key), NULL, 10);
}

Test(musl, box_values)
{
	char prefix[4200];
	char *out;

	snprintf(prefix, sizeof(prefix), "%s run --no-shim --memory 512M --cpus 0 --",
		 build_path("tools/cgproc"));
	out = probe_run(prefix);
	cr_expect_eq(field(out, "meminfo_total_kb="), 524288, "%s", out);
	cr_expect_eq(field(out, "sysinfo_total="), 536870912LL, "%s", out);
	cr_expect_eq(field(out, "phys_pages_bytes="), 536870912LL, "%s", out);
	cr_expect_eq(field(out, "nprocs_onln="), 1, "%s", out);
	cr_expect_eq(field(out, "nprocs_conf="), 1, "%s", out);
	cr_expect_eq(field(out, "get_nprocs="), 1, "%s", out);
	cr_expect_eq(field(out, "readdir_cpus="), 1, "%s", out);
	cr_expect(strstr(out, "comm=musl-probe\n"), "an ordinary file: %s", out);
	free(out);
}

Test(musl, switched_off_is_the_host)
{
	struct sysinfo si;
	char *out;

	cr_assert_eq(sysinfo(&si), 0);
	out = probe_run("CGPROC_ENABLED=no");
	cr_expect_eq(field(out, "sysinfo_total="),
		     (long long)((unsigned long long)si.totalram * si.mem_unit), "%s", out);
	cr_expect_eq(field(out, "nprocs_conf="), sysconf(_SC_NPROCESSORS_CONF), "%s", out);
	cr_expect(strstr(out, "comm=musl-probe\n"), "%s", out);
	free(out);
}

/* glob, nftw, ftw and relative opens of /sys/devices/system/cpu in the box (cpuwalk-probe.c, the
 * shim suite's probe built with musl-gcc): musl reads directories inside glob and nftw with
 * calls bound within libc.so, which the readdir wrappers never see. */
Test(musl, cpu_directory_walks)
{
	char prefix[4200];
	char *out;

	harness_require(access("/sys/devices/system/cpu/cpu1", F_OK) == 0, "needs 2 CPUs");
	snprintf(prefix, sizeof(prefix), "%s run --no-shim --memory 512M --cpus 0 --",
		 build_path("tools/cgproc"));
	out = probe_run_of(prefix, "tests/client/cpuwalk-probe-musl");
	cr_expect(strstr(out, "cpuwalk: 0 failures\n"), "%s", out);
	free(out);
}
