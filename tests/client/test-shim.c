/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libcgproc.so from the inside: shim-probe runs with the shim preloaded in a real cgroup limited
 * to 512 MiB and CPU 0, and checks every open spelling, O_CLOEXEC, refresh on rewind, untouched
 * non-virtual opens, errno, fd leaks and the libc calls.
 */
#include "shim-common.h"

static struct cgdirs cg;

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

/* glob, nftw, ftw and relative opens of /sys/devices/system/cpu (cpuwalk-probe.c): CPU 0 only. */
Test(shim, cpu_directory_walks, .init = setup, .fini = teardown)
{
	char *out = NULL;
	int status;

	harness_require(access("/sys/devices/system/cpu/cpu1", F_OK) == 0, "needs 2 CPUs");
	status = shim_probe_run("tests/client/cpuwalk-probe", &cg, true, "cpuwalk", NULL, NULL,
				&out, NULL);
	shim_assert_probe(status, out);
	free(out);
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

/* The configuration is set up by the first interposed call (init.c): from a signal handler, from
 * threads racing. */
Test(shim, first_call_in_signal_handler, .init = setup, .fini = teardown)
{
	run("firstsig");
}

Test(shim, first_call_from_threads_at_once, .init = setup, .fini = teardown)
{
	run("firstthreads");
}

/* A second interposer of open() preloaded after the shim: the shim's next open() is that one. */
Test(shim, next_interposer_after_the_shim, .init = setup, .fini = teardown)
{
	char *out = NULL;
	int status = shim_probe(&cg, true, "nextspy", NULL,
				build_path("tests/client/libnext-spy.so"), &out);

	shim_assert_probe(status, out);
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

Test(shim, unchanged_inputs_reuse_exactly, .init = setup, .fini = teardown)
{
	static const char *const env[] = {"CGPROC_REUSE_MS=0", NULL};
	char *out = NULL;
	int status = shim_probe(&cg, true, "keyed", env, NULL, &out);

	shim_assert_probe(status, out);
	free(out);
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

Test(shim, kept_fds_closed_and_reused, .init = setup, .fini = teardown)
{
	run("keptfds");
}

Test(shim, kept_root_reused_by_a_directory, .init = setup, .fini = teardown)
{
	run("keptroot");
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

/*
 * The library's ABI: it needs libc.so.6 only, exports exactly the wrapped libc names, and
 * imports no symbol version newer than GLIBC_2.17 (secure_getenv, clock_gettime), so that it
 * loads wherever the project's oldest supported glibc runs: a preloaded library asking for a
 * newer version stops every program from starting (research/interposition.md, finding 3).
 */
#define SHIM_GLIBC_MAX_MINOR 17

static const char *const shim_exports[] = {
	"open",
	"open64",
	"__open",
	"__open64",
	"openat",
	"openat64",
	"__open_2",
	"__open64_2",
	"__openat_2",
	"__openat64_2",
	"fopen",
	"fopen64",
	"freopen",
	"freopen64",
	"lseek",
	"lseek64",
	"pread",
	"pread64",
	"rewind",
	"fseek",
	"fseeko",
	"fseeko64",
	"sysinfo",
	"sysconf",
	"__sysconf",
	"get_nprocs",
	"get_nprocs_conf",
	"get_phys_pages",
	"get_avphys_pages",
	"getloadavg",
	"__pread_chk",
	"__pread64_chk",
	"readdir",
	"readdir64",
	"scandir",
	"scandir64",
	"glob",
	"glob64",
	"nftw",
	"nftw64",
	"ftw",
	"ftw64",
};

Test(shim, abi)
{
	char cmd[1024], *out = NULL, *line;
	size_t n = sizeof(shim_exports) / sizeof(shim_exports[0]);
	int exported = 0, needed = 0;

	snprintf(cmd, sizeof(cmd), "readelf -d %s | grep NEEDED; objdump -T %s",
		 build_path("preload/libcgproc.so"), build_path("preload/libcgproc.so"));
	cr_assert_eq(harness_sh(cmd, &out, NULL), 0);
	for (line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		const char *v = strstr(line, "(GLIBC_2.");
		const char *name = strrchr(line, ' ');

		if (strstr(line, "(NEEDED)")) {
			cr_expect(strstr(line, "[libc.so.6]"), "unexpected dependency: %s", line);
			needed++;
		} else if (v) {
			cr_expect(atoi(v + 9) <= SHIM_GLIBC_MAX_MINOR, "too new: %s", line);
		} else if (strstr(line, " DF .text") && name) {
			bool known = false;

			for (size_t i = 0; i < n; i++)
				known = known || strcmp(name + 1, shim_exports[i]) == 0;
			cr_expect(known, "unexpected export: %s", line);
			exported++;
		}
	}
	cr_assert_eq(needed, 1);
	cr_assert_eq(exported, (int)n, "exports: %d of %zu", exported, n);
	free(out);
}

/*
 * The core inside the shim reaches the kernel through its own system calls (source/sys.h), never
 * through a name the shim exports: no symbol the library imports may bind to the library itself
 * (its openat64 or pread64 would send the core's own reads back through the wrappers). The loader
 * reports every binding it makes; LD_BIND_NOW makes it bind all of them at start.
 */
Test(shim, no_self_binding)
{
	const char *lib = build_path("preload/libcgproc.so");
	char cmd[1024], from[600], to[600], *out = NULL, *line;
	int from_lib = 0;

	snprintf(cmd, sizeof(cmd), "LD_BIND_NOW=1 LD_DEBUG=bindings LD_PRELOAD=%s /bin/true 2>&1",
		 lib);
	snprintf(from, sizeof(from), "binding file %s ", lib);
	snprintf(to, sizeof(to), " to %s ", lib);
	cr_assert_eq(harness_sh(cmd, &out, NULL), 0);
	for (line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strstr(line, from))
			continue;
		from_lib++;
		cr_expect(!strstr(line, to), "the library binds to itself: %s", line);
	}
	/* memcpy, clock_gettime ...: the loader did report the library's bindings */
	cr_assert_gt(from_lib, 5, "%d bindings of the library reported", from_lib);
	free(out);
}
