/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `cgproc run` end to end: real programs in a 512 MiB / 1 CPU cgroup report that machine through
 * the shim (free, /proc/meminfo, nproc, getconf, top, vmstat, uptime, ps, Python, psutil, Node,
 * the JVM, and a C program's sysinfo()/getloadavg()); and the wrapper itself: exit statuses, the
 * cgroup and the limits written, leftovers killed, signals forwarded, bad usage refused.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define BOX_BYTES (512ULL << 20)
#define BOX_KB (BOX_BYTES / 1024)

static char tmpdir[64];

static void setup(void)
{
	testcg_sweep();
	harness_require_root();
}

static void teardown(void)
{
	if (tmpdir[0]) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
		tmpdir[0] = 0;
	}
}

TestSuite(run, .init = setup, .fini = teardown, .timeout = 120);

static const char *cgproc(void)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s", build_path("tools/cgproc"));
	return path;
}

/* cgproc run @opts... -- @cmd...: returns the wait status; stdout/stderr in *ret_out/err. */
static int cgproc_run(const char *const opts[], const char *const cmd[], char *const env[],
		      char **ret_out, char **ret_err)
{
	char *argv[64];
	int n = 0;

	argv[n++] = (char *)cgproc();
	argv[n++] = "run";
	for (; opts && *opts && n < 30; opts++)
		argv[n++] = (char *)*opts;
	argv[n++] = "--";
	for (; *cmd && n < 63; cmd++)
		argv[n++] = (char *)*cmd;
	argv[n] = NULL;
	return harness_run(argv, env, ret_out, ret_err);
}

static int exit_code(int status)
{
	cr_assert_geq(status, 0, "could not run cgproc: %s", strerror(-status));
	cr_assert(WIFEXITED(status), "cgproc died of signal %d", WTERMSIG(status));
	return WEXITSTATUS(status);
}

/* @cmd inside the 512 MiB, CPU 0 box; must exit 0. Returns its stdout. */
static char *box(const char *const cmd[])
{
	static const char *const opts[] = {"--memory", "512M", "--cpus", "0", NULL};
	char *out, *err;
	int st = cgproc_run(opts, cmd, NULL, &out, &err);

	cr_assert_eq(exit_code(st), 0, "cgproc run -- %s: exit %d\nstdout: %s\nstderr: %s", cmd[0],
		     WEXITSTATUS(st), out, err);
	free(err);
	return out;
}

static char *box_sh(const char *script)
{
	const char *cmd[] = {"/bin/sh", "-c", script, NULL};

	return box(cmd);
}

static long long meminfo_field(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	cr_assert(p, "no %s in: %s", key, text);
	return strtoll(p + strlen(key), NULL, 10);
}

Test(run, free_k)
{
	char *out = box((const char *const[]){"free", "-k", NULL});
	unsigned long long total = 0;
	const char *mem = strstr(out, "\nMem:");

	cr_assert(mem && sscanf(mem, "\nMem: %llu", &total) == 1, "free -k: %s", out);
	cr_assert_eq(total, BOX_KB, "free -k total %llu, want %llu:\n%s", total, BOX_KB, out);
	free(out);
}

Test(run, proc_meminfo)
{
	char *out = box((const char *const[]){"cat", "/proc/meminfo", NULL});

	cr_assert_eq(meminfo_field(out, "MemTotal:"), (long long)BOX_KB, "%s", out);
	cr_assert_leq(meminfo_field(out, "MemFree:"), (long long)BOX_KB, "%s", out);
	cr_assert_leq(meminfo_field(out, "MemAvailable:"), (long long)BOX_KB, "%s", out);
	free(out);
}

Test(run, proc_meminfo_relative)
{
	char *out = box_sh("cd /proc && cat meminfo");

	cr_assert_eq(meminfo_field(out, "MemTotal:"), (long long)BOX_KB, "%s", out);
	free(out);
}

Test(run, nproc_all)
{
	char *out = box((const char *const[]){"nproc", "--all", NULL});

	cr_assert_eq(atoi(out), 1, "nproc --all: %s", out);
	free(out);
}

Test(run, getconf)
{
	char *out = box((const char *const[]){"getconf", "_NPROCESSORS_ONLN", NULL});

	cr_assert_eq(atoi(out), 1, "getconf: %s", out);
	free(out);
}

Test(run, top)
{
	char *out = box((const char *const[]){"top", "-bn1", NULL});
	const char *mem = strstr(out, "MiB Mem :");
	double total = 0;
	char word[16] = "";

	/* procps 4: "MiB Mem :    512.0 total,    500.1 free, ..." */
	cr_assert(mem && sscanf(mem, "MiB Mem : %lf %15s", &total, word) == 2, "top: %s", out);
	cr_assert_str_eq(word, "total,", "top: %s", out);
	cr_assert_float_eq(total, 512.0, 0.01, "top shows %.1f MiB:\n%s", total, out);
	free(out);
}

/* A data line of `vmstat N M` (17 numbers) into @v; false for the headers. */
static bool vmstat_data_line(const char *line, long long v[17])
{
	return sscanf(line,
		      "%lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld "
		      "%lld %lld",
		      &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10],
		      &v[11], &v[12], &v[13], &v[14], &v[15], &v[16]) == 17;
}

/*
 * vmstat keeps /proc/stat open and rewinds it for every line: each line must be a fresh view of
 * the box. What moves is the CPU columns (the memory columns do not: procps 4.0.2's vmstat reads
 * /proc/meminfo once, natively too). A busy loop from 0.5 s to 2.5 s runs through the third
 * line's whole interval (1 s to 2 s): without a fresh render that line would repeat "0 0 100".
 * The loop gets the box's one CPU only as far as the host lets it (on a loaded host much less
 * than 100 %), hence the low bar.
 */
static long long llmax(long long a, long long b)
{
	return a > b ? a : b;
}

Test(run, vmstat_refreshes)
{
	char *out = box_sh("vmstat 1 3 & sleep 0.5; timeout 2 sh -c 'while :; do :; done'; wait");
	long long free_kb[3], cpu[3][5];
	int lines = 0;
	char *save, *line;

	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		long long v[17];

		if (!vmstat_data_line(line, v))
			continue; /* headers */
		cr_assert_lt(lines, 3, "more than 3 data lines");
		free_kb[lines] = v[3];
		memcpy(cpu[lines], &v[12], sizeof(cpu[0])); /* us sy id wa st */
		lines++;
	}
	cr_assert_eq(lines, 3, "vmstat printed %d data lines", lines);
	for (int i = 0; i < 3; i++) {
		long long sum = cpu[i][0] + cpu[i][1] + cpu[i][2] + cpu[i][3] + cpu[i][4];

		cr_assert_leq(free_kb[i], (long long)BOX_KB, "line %d: free %lld kB > the box", i,
			      free_kb[i]);
		cr_assert(sum >= 95 && sum <= 105, "line %d: cpu columns sum to %lld", i, sum);
	}
	/* The loop runs from 0.5 s to 2.5 s after vmstat starts: it fills the third line's
	 * interval, or the second's where starting the loop took longer (a TCG guest). The first
	 * line is the average since boot. */
	cr_assert_geq(
		llmax(cpu[1][0] + cpu[1][1], cpu[2][0] + cpu[2][1]), 10,
		"the busy loop does not show: line 2 us %lld sy %lld id %lld, line 3 us %lld sy "
		"%lld id %lld",
		cpu[1][0], cpu[1][1], cpu[1][2], cpu[2][0], cpu[2][1], cpu[2][2]);
	free(out);
}

/* The value after @key ("pgpgout") in /proc/vmstat text, or after a vmstat -s line's number. */
static long long vmstat_s_field(const char *text, const char *label)
{
	const char *p = strstr(text, label);

	cr_assert(p, "no \"%s\" in: %s", label, text);
	while (p > text && p[-1] != '\n')
		p--;
	return strtoll(p, NULL, 10);
}

static long long host_vmstat(const char *key)
{
	FILE *f = fopen("/proc/vmstat", "re");
	char k[64];
	long long v, found = -1;

	cr_assert(f, "/proc/vmstat: %s", strerror(errno));
	while (fscanf(f, "%63s %lld", k, &v) == 2)
		if (strcmp(k, key) == 0)
			found = v;
	fclose(f);
	cr_assert_geq(found, 0, "no %s in /proc/vmstat", key);
	return found;
}

/* "MAJ:MIN" of the whole disk that holds @path (blk-throttle limits name disks, not partitions). */
static void disk_of(const char *path, char *ret, size_t size)
{
	char sys[128], *text;
	struct stat st;
	int fd;

	cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
	snprintf(ret, size, "%u:%u", major(st.st_dev), minor(st.st_dev));
	snprintf(sys, sizeof(sys), "/sys/dev/block/%s/partition", ret);
	if (access(sys, F_OK) != 0)
		return;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%s/../dev", ret);
	fd = open(sys, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s: %s", sys, strerror(errno));
	text = harness_slurp_fd(fd);
	close(fd);
	cr_assert(text, "%s", sys);
	snprintf(ret, size, "%.*s", (int)strcspn(text, "\n"), text);
	free(text);
}

/*
 * vmstat -s "K paged in/out" and vmstat's bi/bo columns are /proc/vmstat's pgpgin/pgpgout: in the
 * box they are the box's block I/O (8 MiB written and read back with O_DIRECT, then 16 MiB
 * written during `vmstat 1 3`), not the host's. v1 blkio counts a cgroup's bytes only on a queue
 * where throttling is configured (kernel 6.x configures blk-throttle lazily): the script gives its
 * own blkio cgroup a limit no I/O reaches, removed with the cgroup.
 */
Test(run, vmstat_paging)
{
	char script[2048];
	char dev[64];
	long long in0, out0, in1, out1, bo = 0, host_out = host_vmstat("pgpgout");
	int lines = 0;
	char *out, *tail, *save, *line;

	snprintf(tmpdir, sizeof(tmpdir), "/var/tmp/cgproc-run-vmstat-XXXXXX");
	cr_assert(mkdtemp(tmpdir));
	disk_of(tmpdir, dev, sizeof(dev));
	snprintf(
		script, sizeof(script),
		"set -e; cg=$(sed -n 's/^[0-9]*:blkio:\\(.*\\)/\\1/p' /proc/self/cgroup)\n"
		"d=%s\n"
		"if [ -n \"$cg\" ]; then for f in read_bps_device write_bps_device; do\n"
		"  echo \"$d 1099511627776\" >/sys/fs/cgroup/blkio$cg/blkio.throttle.$f; done; fi\n"
		"vmstat -s | grep paged\n"
		"dd if=/dev/zero of=%s/f bs=1M count=8 oflag=direct 2>/dev/null\n"
		"dd if=%s/f of=/dev/null bs=1M iflag=direct 2>/dev/null\n"
		"echo after; vmstat -s | grep paged\n"
		"vmstat 1 3 & sleep 0.3; dd if=/dev/zero of=%s/g bs=1M count=16 oflag=direct "
		"2>/dev/null; wait\n",
		dev, tmpdir, tmpdir, tmpdir);
	out = box_sh(script);
	tail = strstr(out, "after\n");
	cr_assert(tail, "%s", out);
	*tail = 0;
	tail += 6;
	in0 = vmstat_s_field(out, "K paged in");
	out0 = vmstat_s_field(out, "K paged out");
	in1 = vmstat_s_field(tail, "K paged in");
	out1 = vmstat_s_field(tail, "K paged out");
	cr_assert_lt(out0, host_out, "a fresh box shows %lld kB paged out, the host %lld", out0,
		     host_out);
	cr_assert(out1 - out0 >= 8192 && out1 - out0 <= 8192 + 4096,
		  "8 MiB written: paged out %lld -> %lld", out0, out1);
	cr_assert(in1 - in0 >= 8192 && in1 - in0 <= 8192 + 4096,
		  "8 MiB read: paged in %lld -> %lld", in0, in1);
	for (line = strtok_r(tail, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		long long v[17];

		if (!vmstat_data_line(line, v))
			continue;
		if (lines++ > 0)
			bo += v[9]; /* the per-second lines: kB written in that second */
	}
	cr_assert_eq(lines, 3, "vmstat 1 3 printed %d data lines", lines);
	/* the 16 MiB written lands in lines 2 and 3 unless the disk is very slow */
	cr_assert(bo >= 8192 && bo <= 16384 + 4096, "bo over lines 2-3: %lld kB", bo);
	free(out);
}

/* Programs that count /sys/devices/system/cpu's cpuN entries or read their topology, under the
 * shim: the box's one CPU (the host has two or more). */
Test(run, cpu_directory)
{
	char *out;
	const char *p;

	harness_require(access("/sys/devices/system/cpu/cpu1", F_OK) == 0, "needs 2 CPUs");
	out = box_sh("echo ls_begin; ls /sys/devices/system/cpu; "
		     "echo getconf_conf $(getconf _NPROCESSORS_CONF); lscpu; "
		     "echo py $(python3 -c 'import os; print(os.cpu_count(), "
		     "len([e for e in os.scandir(\"/sys/devices/system/cpu\") "
		     "if e.name[3:4].isdigit()]))'); "
		     "echo hwloc_pus $(lstopo-no-graphics --whole-system --of console | "
		     "grep -c 'PU L#'); "
		     "echo pkg $(cat /sys/devices/system/cpu/cpu0/topology/package_cpus_list); "
		     "cat /sys/devices/system/cpu/cpu1/topology/core_id || echo cpu1-gone");
	cr_expect(strstr(out, "ls_begin\ncpu0\n"), "%s", out);
	cr_expect(!strstr(out, "\ncpu1\n"), "%s", out);
	cr_expect(strstr(out, "\ngetconf_conf 1\n"), "%s", out);
	p = strstr(out, "CPU(s):");
	cr_expect(p && atoi(p + strlen("CPU(s):") + strspn(p + 7, " ")) == 1, "lscpu: %s", out);
	p = strstr(out, "NUMA node0 CPU(s):");
	cr_expect(p && strncmp(p + 18 + strspn(p + 18, " "), "0\n", 2) == 0, "lscpu: %s", out);
	cr_expect(strstr(out, "\npy 1 1\n"), "%s", out);
	cr_expect(strstr(out, "\nhwloc_pus 1\n"), "%s", out);
	cr_expect(strstr(out, "\npkg 0\n"), "%s", out);
	cr_expect(strstr(out, "\ncpu1-gone\n"), "%s", out);
	free(out);
}

/* `cgproc show` of the CPU directory, run in the box: the box's entries and files. */
Test(run, show_cpu_directory)
{
	char script[8192];
	char *out;

	harness_require(access("/sys/devices/system/cpu/cpu1", F_OK) == 0, "needs 2 CPUs");
	snprintf(script, sizeof(script),
		 "%s show /sys/devices/system/cpu; echo @@; %s show "
		 "/sys/devices/system/cpu/online /sys/devices/system/cpu/cpu0/topology/"
		 "package_cpus_list; %s show /sys/devices/system/cpu/cpu1/topology/core_id "
		 "&& echo hidden-cpu-shown; true",
		 cgproc(), cgproc(), cgproc());
	out = box_sh(script);
	cr_expect(strncmp(out, "cpu0\n", 5) == 0, "%s", out);
	cr_expect(!strstr(out, "\ncpu1\n"), "%s", out);
	cr_expect(strstr(out, "\nkernel_max\n"), "%s", out);
	cr_expect(strstr(out, "==> /sys/devices/system/cpu/online <==\n0\n"), "%s", out);
	cr_expect(strstr(out, "package_cpus_list <==\n0\n"), "%s", out);
	cr_expect(!strstr(out, "hidden-cpu-shown"), "%s", out);
	free(out);
}

/* node0's meminfo and cpulist through the shim: the box's memory and CPU (one-node host). */
Test(run, node0_files)
{
	char *out = box_sh("cat /sys/devices/system/node/online; echo @@; "
			   "cat /sys/devices/system/node/node0/cpulist; "
			   "cat /sys/devices/system/node/node0/meminfo");

	harness_require(strncmp(out, "0\n@@\n", 5) == 0, "the host has more than one node");
	cr_expect(strncmp(out + 5, "0\n", 2) == 0, "node0/cpulist: %s", out);
	cr_expect_eq(meminfo_field(out, "Node 0 MemTotal:"), (long long)BOX_KB, "%s", out);
	cr_expect_leq(meminfo_field(out, "Node 0 MemFree:"), (long long)BOX_KB, "%s", out);
	free(out);
}

Test(run, uptime)
{
	char *out = box((const char *const[]){"uptime", NULL});
	const char *up = strstr(out, " up ");
	int minutes = -1;
	char unit[8] = "";

	/* "up 0 min" for a box that is seconds old; "up 1:05" or "up 3 days" would be the host's */
	cr_assert(up && sscanf(up, " up %d %7s", &minutes, unit) == 2, "uptime: %s", out);
	cr_assert_str_eq(unit, "min,", "uptime: %s", out);
	cr_assert_leq(minutes, 1, "uptime: %s", out);
	free(out);
}

Test(run, ps_etimes)
{
	char *out = box_sh("sleep 1; ps -o etimes= -p $$");
	long e = strtol(out, NULL, 10);

	/* the shell is ~1 s old: with /proc/uptime shifted, starttime must be shifted with it */
	cr_assert(e >= 1 && e <= 30, "ps etimes %ld: %s", e, out);
	free(out);
}

Test(run, python_os)
{
	char *out = box((const char *const[]){
		"/usr/bin/python3", "-c",
		"import os; print(os.cpu_count(), os.sysconf('SC_PHYS_PAGES') * "
		"os.sysconf('SC_PAGE_SIZE'))",
		NULL});
	unsigned long long cpus = 0, bytes = 0;

	cr_assert_eq(sscanf(out, "%llu %llu", &cpus, &bytes), 2, "%s", out);
	cr_assert_eq(cpus, 1, "%s", out);
	cr_assert_eq(bytes, BOX_BYTES, "%s", out);
	free(out);
}

Test(run, python_psutil)
{
	char *out = box((const char *const[]){
		"/usr/bin/python3", "-c",
		"import psutil; print(psutil.virtual_memory().total, psutil.cpu_count())", NULL});
	unsigned long long cpus = 0, bytes = 0;

	cr_assert_eq(sscanf(out, "%llu %llu", &bytes, &cpus), 2, "%s", out);
	cr_assert_eq(bytes, BOX_BYTES, "%s", out);
	cr_assert_eq(cpus, 1, "%s", out);
	free(out);
}

Test(run, node)
{
	char *out;
	unsigned long long cpus = 0, bytes = 0;

	harness_require(access("/usr/bin/node", X_OK) == 0, "needs node");
	out = box((const char *const[]){
		"node", "-e", "const os=require('os');console.log(os.totalmem(), os.cpus().length)",
		NULL});
	cr_assert_eq(sscanf(out, "%llu %llu", &bytes, &cpus), 2, "%s", out);
	cr_assert_eq(bytes, BOX_BYTES, "%s", out);
	cr_assert_eq(cpus, 1, "%s", out);
	free(out);
}

Test(run, java_processors)
{
	char src[128], *out;
	FILE *f;

	harness_require(access("/usr/bin/java", X_OK) == 0, "needs java");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/cgproc-run-java-XXXXXX");
	cr_assert(mkdtemp(tmpdir));
	snprintf(src, sizeof(src), "%s/Cpus.java", tmpdir);
	f = fopen(src, "w");
	cr_assert(f);
	fputs("public class Cpus { public static void main(String[] a) {\n"
	      "  System.out.println(Runtime.getRuntime().availableProcessors()); } }\n",
	      f);
	fclose(f);
	/* single-file source launch; -UseContainerSupport: the JVM's own cgroup code is off,
	 * what it sees comes from libc and /proc */
	out = box((const char *const[]){"java", "-XX:-UseContainerSupport", src, NULL});
	cr_assert_eq(atoi(out), 1, "availableProcessors: %s", out);
	free(out);
}

static unsigned long long max_heap(const char *flags)
{
	const char *p = strstr(flags, " MaxHeapSize ");
	unsigned long long v = 0;

	cr_assert(p && sscanf(p, " MaxHeapSize = %llu", &v) == 1, "no MaxHeapSize in: %.300s",
		  flags);
	return v;
}

Test(run, java_max_heap)
{
	char *argv[] = {"java",
			"-XX:MaxRAM=536870912",
			"-XX:-UseContainerSupport",
			"-XX:+PrintFlagsFinal",
			"-version",
			NULL};
	char *out, *want_out;
	unsigned long long want, got;

	harness_require(access("/usr/bin/java", X_OK) == 0, "needs java");
	/* What the JVM picks on a 512 MiB machine, told natively through -XX:MaxRAM (it rounds
	 * the quarter of RAM to its heap alignment): the box must get the same. */
	cr_assert_eq(exit_code(harness_run(argv, NULL, &want_out, NULL)), 0);
	want = max_heap(want_out);
	cr_assert_leq(want, BOX_BYTES / 2);
	out = box((const char *const[]){"java", "-XX:-UseContainerSupport", "-XX:+PrintFlagsFinal",
					"-version", NULL});
	got = max_heap(out);
	cr_assert_eq(got, want, "MaxHeapSize %llu in the box, %llu on a 512 MiB machine", got,
		     want);
	free(out);
	free(want_out);
}

Test(run, sysinfo_program)
{
	char probe[4096], *out;

	snprintf(probe, sizeof(probe), "%s", build_path("tests/client/test-run-sysinfo"));
	out = box((const char *const[]){probe, NULL});
	cr_assert(strstr(out, "totalram=536870912\n"), "%s", out);
	cr_assert(strstr(out, "getloadavg=3\n"), "%s", out);
	cr_assert(strstr(out, "nprocs=1\n"), "%s", out);
	cr_assert(strstr(out, "meminfo_total_kb=524288\n"), "%s", out);
	/* /sys/devices/system/cpu through scandir() and readdir(): the box's one CPU */
	cr_assert(strstr(out, "scandir_cpus=1\n"), "%s", out);
	cr_assert(strstr(out, "readdir_cpus=1\n"), "%s", out);
	cr_assert(!strstr(out, "scandir_filter_calls=0\n"), "%s", out);
	free(out);
}

/* ---- the wrapper itself (no shim needed) ---- */

static const char *const no_shim[] = {"--no-shim", NULL};

Test(run, exit_status)
{
	cr_assert_eq(
		exit_code(cgproc_run(no_shim, (const char *const[]){"sh", "-c", "exit 7", NULL},
				     NULL, NULL, NULL)),
		7);
	cr_assert_eq(exit_code(cgproc_run(no_shim, (const char *const[]){"true", NULL}, NULL, NULL,
					  NULL)),
		     0);
}

Test(run, killed_status)
{
	cr_assert_eq(exit_code(cgproc_run(no_shim,
					  (const char *const[]){"sh", "-c", "kill -TERM $$", NULL},
					  NULL, NULL, NULL)),
		     128 + SIGTERM);
	cr_assert_eq(exit_code(cgproc_run(no_shim,
					  (const char *const[]){"sh", "-c", "kill -KILL $$", NULL},
					  NULL, NULL, NULL)),
		     128 + SIGKILL);
}

static const char *walk_name;
static int walk_found;

static int walk_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	if (type == FTW_D && strcmp(path + ftw->base, walk_name) == 0)
		walk_found++;
	return 0;
}

/* How many cgroup directories called @name exist, at any depth of any hierarchy (`cgproc run`
 * makes its group under the caller's own cgroup). */
static int hierarchies_with(const char *name)
{
	walk_name = name;
	walk_found = 0;
	nftw("/sys/fs/cgroup", walk_one, 32, FTW_PHYS);
	return walk_found;
}

/* This test's own cgroup directory in the v1 hierarchy of @ctrl, where `cgproc run` started
 * from here makes its group. */
static void own_v1_dir(const char *ctrl, char *ret, size_t size)
{
	char *cg = harness_slurp_fd(open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC)), *line, *save;
	char key[64];

	cr_assert(cg, "/proc/self/cgroup");
	snprintf(key, sizeof(key), ":%s:", ctrl);
	for (line = strtok_r(cg, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *p = strstr(line, key);

		if (p) {
			p += strlen(key);
			snprintf(ret, size, "/sys/fs/cgroup/%s%s", ctrl, strcmp(p, "/") ? p : "");
			free(cg);
			return;
		}
	}
	cr_assert_fail("no %s line in /proc/self/cgroup", ctrl);
}

/* Where `cgproc run` started from here makes its group: on v1 this test's cgroup in the memory
 * hierarchy; on cgroup v2 this test's cgroup or, while that holds processes below the real root
 * (which alone has no cgroup.type), its nearest ancestor. */
static void run_parent_dir(char *ret, size_t size)
{
	char path[PATH_MAX + 32], *cg, *p;

	if (access("/sys/fs/cgroup/memory", F_OK) == 0) {
		own_v1_dir("memory", ret, size);
		return;
	}
	cg = harness_slurp_fd(open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC));
	cr_assert(cg && (p = strstr(cg, "0::/")), "no cgroup2 line in /proc/self/cgroup");
	p[strcspn(p, "\n")] = 0;
	snprintf(ret, size, "/sys/fs/cgroup%s", strcmp(p + 3, "/") ? p + 3 : "");
	free(cg);
	for (;;) {
		char *procs;

		snprintf(path, sizeof(path), "%s/cgroup.type", ret);
		if (access(path, F_OK) != 0)
			break;
		snprintf(path, sizeof(path), "%s/cgroup.procs", ret);
		procs = harness_slurp_fd(open(path, O_RDONLY | O_CLOEXEC));
		if (procs && !procs[0]) {
			free(procs);
			break;
		}
		free(procs);
		*strrchr(ret, '/') = 0;
	}
}

/* Shell: "$d" = the command's own cgroup in the hierarchy of $c ("" for cgroup2), from
 * /proc/self/cgroup; comma-joined controller lists (cpu,cpuacct) count. */
#define SH_OWN_CG                                                                                  \
	"own() { awk -F: -v c=\"$1\" '{ n = split($2, a, \",\"); if (c == \"\" && $1 == \"0\")"    \
	" print $3; for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' /proc/self/cgroup; };"

/* The default name is cgproc-run-<pid of cgproc>; learn it from inside, check it is gone after. */
Test(run, cgroup_removed)
{
	char *out, *err, name[128] = "";
	const char *p;
	int st = cgproc_run(NULL, (const char *const[]){"cat", "/proc/self/cgroup", NULL},
			    (char *const[]){"CGPROC_SHIM=/nonexistent/libcgproc.so", NULL}, &out,
			    &err);

	/* a missing shim: setup must fail with 125 before anything is made */
	cr_assert_eq(exit_code(st), 125, "%s", err);
	cr_assert(strstr(err, "CGPROC_SHIM"), "%s", err);
	free(out);
	free(err);

	st = cgproc_run(no_shim, (const char *const[]){"cat", "/proc/self/cgroup", NULL}, NULL,
			&out, &err);
	cr_assert_eq(exit_code(st), 0, "%s", err);
	p = strstr(out, "/cgproc-run-");
	cr_assert(p && sscanf(p, "/%127[^\n/]", name) == 1, "not in a cgproc-run group: %s", out);
	/* on this host's hierarchies: every line but name=systemd names it */
	cr_assert_eq(hierarchies_with(name), 0, "%s still exists after exit", name);
	free(out);
	free(err);
}

Test(run, named_cgroup_and_limits)
{
	char name[64], script[2048], *out, *err;
	const char *opts[] = {"--no-shim", "--name", name, "--memory",	  "512M", "--swap",
			      "256M",	   "--cpus", "0",  "--cpu-quota", "0.5",  NULL};
	int st;

	snprintf(name, sizeof(name), "cgproc-test-%d-runname", (int)getpid());
	/* print each limit from whichever hierarchy has it (v1 names, then v2 names), in the
	 * command's own cgroups */
	snprintf(
		script, sizeof(script),
		SH_OWN_CG
		"for f in memory/memory.limit_in_bytes memory/memory.memsw.limit_in_bytes"
		" cpuset/cpuset.cpus cpuset/cpuset.mems cpu/cpu.cfs_period_us cpu/cpu.cfs_quota_us;"
		" do c=${f%%%%/*}; d=$(own $c); [ -n \"$d\" ] && [ -e /sys/fs/cgroup/$c$d/${f#*/} ]"
		" && echo \"$f=$(cat /sys/fs/cgroup/$c$d/${f#*/})\"; done; d=$(own '');"
		" for f in memory.max memory.swap.max cpuset.cpus cpu.max; do"
		" [ -e /sys/fs/cgroup$d/$f ] && echo \"v2/$f=$(cat /sys/fs/cgroup$d/$f)\"; done;"
		" echo in=$(grep -c '/%s$' /proc/self/cgroup)",
		name);
	st = cgproc_run(opts, (const char *const[]){"sh", "-c", script, NULL}, NULL, &out, &err);
	cr_assert_eq(exit_code(st), 0, "%s", err);
	if (strstr(out, "memory.limit_in_bytes")) { /* v1 */
		cr_assert(strstr(out, "memory/memory.limit_in_bytes=536870912\n"), "%s", out);
		cr_assert(strstr(out, "memory/memory.memsw.limit_in_bytes=805306368\n"), "%s", out);
		cr_assert(strstr(out, "cpuset/cpuset.cpus=0\n"), "%s", out);
		cr_assert(strstr(out, "cpu/cpu.cfs_period_us=100000\n"), "%s", out);
		cr_assert(strstr(out, "cpu/cpu.cfs_quota_us=50000\n"), "%s", out);
	} else { /* v2 */
		cr_assert(strstr(out, "v2/memory.max=536870912\n"), "%s", out);
		cr_assert(strstr(out, "v2/memory.swap.max=268435456\n"), "%s", out);
		cr_assert(strstr(out, "v2/cpuset.cpus=0\n"), "%s", out);
		cr_assert(strstr(out, "v2/cpu.max=50000 100000\n"), "%s", out);
	}
	/* in the one cgroup2 hierarchy, or on v1 in the controllers' and (hybrid) cgroup2 ones */
	cr_assert(strstr(out, "in="), "%s", out);
	cr_assert_geq(atoi(strstr(out, "in=") + 3), strstr(out, "memory.limit_in_bytes") ? 2 : 1,
		      "not in %s on every hierarchy it should be: %s", name, out);
	cr_assert_eq(hierarchies_with(name), 0, "%s still exists after exit", name);
	free(out);
	free(err);
}

Test(run, existing_name_refused)
{
	char name[64], parent[PATH_MAX], dir[PATH_MAX + 64], *err;
	int st;

	snprintf(name, sizeof(name), "cgproc-test-%d-taken", (int)getpid());
	run_parent_dir(parent, sizeof(parent));
	snprintf(dir, sizeof(dir), "%s/%s", parent, name);
	cr_assert_eq(mkdir(dir, 0755), 0, "%s: %s", dir, strerror(errno));
	st = cgproc_run((const char *const[]){"--no-shim", "--name", name, NULL},
			(const char *const[]){"true", NULL}, NULL, NULL, &err);
	rmdir(dir);
	cr_assert_eq(exit_code(st), 125, "%s", err);
	cr_assert(strstr(err, "already exists"), "%s", err);
	free(err);
}

Test(run, leftovers_killed)
{
	char *out, *err;
	int st = cgproc_run(no_shim,
			    (const char *const[]){"sh", "-c",
						  /* the pids come from the shell itself: a
						   * machine-wide pgrep would see other runs */
						  "sleep 300 & echo $!;"
						  " (setsid sh -c 'echo $$; exec sleep 301' &);"
						  " sleep 0.2",
						  NULL},
			    NULL, &out, &err);
	int pids = 0;
	char *save, *line;

	cr_assert_eq(exit_code(st), 0, "%s", err);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		pid_t pid = (pid_t)atoi(line);

		cr_assert_gt(pid, 1);
		pids++;
		/* dead and reaped (cgproc is their subreaper), not just a zombie */
		cr_assert(kill(pid, 0) < 0 && errno == ESRCH, "left-over %d still exists", pid);
	}
	cr_assert_geq(pids, 2, "expected the two sleeps: %s", out);
	free(out);
	free(err);
}

Test(run, signals_forwarded)
{
	int out[2], status;
	char buf[64] = "";
	pid_t pid;

	cr_assert_eq(pipe(out), 0);
	pid = harness_fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		execl(cgproc(), "cgproc", "run", "--no-shim", "--", "sh", "-c",
		      "trap 'echo got-usr1; exit 3' USR1; echo ready; while :; do sleep 0.05; done",
		      (char *)NULL);
		_exit(99);
	}
	close(out[1]);
	cr_assert_gt(read(out[0], buf, sizeof(buf) - 1), 0);
	cr_assert(strstr(buf, "ready"), "%s", buf);
	kill(pid, SIGUSR1); /* to cgproc only: it must pass it on */
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	memset(buf, 0, sizeof(buf));
	cr_assert_gt(read(out[0], buf, sizeof(buf) - 1), 0);
	close(out[0]);
	cr_assert(strstr(buf, "got-usr1"), "%s", buf);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 3, "status %#x", status);
}

Test(run, bad_arguments)
{
	static const struct {
		const char *opt, *value;
	} bad[] = {
		{"--memory", "12X"},	 {"--memory", "-1"},	  {"--memory", "0"},
		{"--swap", "lots"},	 {"--cpus", "0-"},	  {"--cpus", "9999"},
		{"--cpu-quota", "0"},	 {"--cpu-quota", "1/10"}, {"--cpu-quota", "x"},
		{"--name", "../escape"}, {"--name", "a/b"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *opts[] = {bad[i].opt, bad[i].value, NULL};
		char *err;
		int st = cgproc_run(opts, (const char *const[]){"true", NULL}, NULL, NULL, &err);

		cr_assert_eq(exit_code(st), 2, "%s %s: %s", bad[i].opt, bad[i].value, err);
		cr_assert(strstr(err, bad[i].opt) && strstr(err, bad[i].value),
			  "message must name %s and '%s': %s", bad[i].opt, bad[i].value, err);
		free(err);
	}
	{
		char *argv[] = {(char *)cgproc(), "run", "--bogus", "--", "true", NULL}, *err;

		cr_assert_eq(exit_code(harness_run(argv, NULL, NULL, &err)), 2);
		cr_assert(strstr(err, "--bogus"), "%s", err);
		free(err);
	}
	{
		char *argv[] = {(char *)cgproc(), "run", "--memory", "1G", NULL}, *err;

		cr_assert_eq(exit_code(harness_run(argv, NULL, NULL, &err)), 2);
		cr_assert(strstr(err, "no command"), "%s", err);
		free(err);
	}
}

Test(run, command_not_found)
{
	char *err, file[128];
	int fd, st;

	st = cgproc_run(no_shim, (const char *const[]){"cgproc-no-such-command-xyz", NULL}, NULL,
			NULL, &err);
	cr_assert_eq(exit_code(st), 127, "%s", err);
	cr_assert(strstr(err, "cgproc-no-such-command-xyz: command not found"), "%s", err);
	free(err);

	/* a file without execute permission */
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/cgproc-run-noexec-XXXXXX");
	cr_assert(mkdtemp(tmpdir));
	snprintf(file, sizeof(file), "%s/script", tmpdir);
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "exit 0\n", 7), 7);
	close(fd);
	st = cgproc_run(no_shim, (const char *const[]){file, NULL}, NULL, NULL, &err);
	cr_assert_eq(exit_code(st), 126, "%s", err);
	cr_assert(strstr(err, "Permission denied"), "%s", err);
	free(err);
}

Test(run, not_root)
{
	char *argv[] = {"setpriv",
			"--reuid=65534",
			"--regid=65534",
			"--clear-groups",
			(char *)cgproc(),
			"run",
			"--",
			"true",
			NULL};
	char *err;

	harness_require(access("/usr/bin/setpriv", X_OK) == 0, "needs setpriv (util-linux)");
	cr_assert_eq(exit_code(harness_run(argv, NULL, NULL, &err)), 125, "%s", err);
	cr_assert(strstr(err, "root"), "%s", err);
	free(err);
}

/* LD_PRELOAD gets the shim in front of what was there; --no-shim leaves it alone. CGPROC_SHIM
 * names any loadable library here, so this needs no real shim. */
Test(run, ld_preload_prepended)
{
	char *out, *err;
	const char *lib = "/lib/x86_64-linux-gnu/libm.so.6";
	char shim_env[128], want[256];
	int st;

	harness_require(access(lib, R_OK) == 0, "needs libm at the Debian amd64 path");
	snprintf(shim_env, sizeof(shim_env), "CGPROC_SHIM=%s", lib);
	st = cgproc_run(NULL, (const char *const[]){"sh", "-c", "echo \"$LD_PRELOAD\"", NULL},
			(char *const[]){shim_env, "LD_PRELOAD=libdl.so.2", NULL}, &out, &err);
	cr_assert_eq(exit_code(st), 0, "%s", err);
	snprintf(want, sizeof(want), "%s:libdl.so.2\n", lib);
	cr_assert_str_eq(out, want);
	free(out);
	free(err);
	st = cgproc_run(no_shim, (const char *const[]){"sh", "-c", "echo \"$LD_PRELOAD\"", NULL},
			(char *const[]){"LD_PRELOAD=libdl.so.2", NULL}, &out, &err);
	cr_assert_eq(exit_code(st), 0, "%s", err);
	cr_assert_str_eq(out, "libdl.so.2\n");
	free(out);
	free(err);
}

/* No cgroup file system (unmounted in a private mount namespace): a clear error, 125. */
Test(run, no_cgroup_fs)
{
	char script[4200], *err;

	harness_require(access("/usr/bin/unshare", X_OK) == 0, "needs unshare (util-linux)");
	snprintf(
		script, sizeof(script),
		"mount --make-rprivate / && umount -R /sys/fs/cgroup && exec '%s' run --no-shim -- "
		"true",
		cgproc());
	{
		char *argv[] = {"unshare", "-m", "/bin/sh", "-c", script, NULL};
		int st = harness_run(argv, NULL, NULL, &err);

		cr_assert_eq(exit_code(st), 125, "%s", err);
	}
	cr_assert(strstr(err, "cgroup"), "%s", err);
	free(err);
}

/* A group left by a cgproc that was SIGKILLed (its pid is dead, it is empty) is swept by the next
 * run; a live pid's group is not touched. */
Test(run, stale_group_swept)
{
	char parent[PATH_MAX], dead_dir[PATH_MAX + 32], live_dir[PATH_MAX + 32];
	pid_t dead = harness_fork();
	int st;

	cr_assert_geq(dead, 0);
	if (dead == 0)
		_exit(0);
	cr_assert_eq(waitpid(dead, NULL, 0), dead);
	run_parent_dir(parent, sizeof(parent));
	snprintf(dead_dir, sizeof(dead_dir), "%s/cgproc-run-%d", parent, (int)dead);
	snprintf(live_dir, sizeof(live_dir), "%s/cgproc-run-%d", parent, (int)getpid());
	cr_assert_eq(mkdir(dead_dir, 0755), 0, "%s: %s", dead_dir, strerror(errno));
	cr_assert_eq(mkdir(live_dir, 0755), 0, "%s: %s", live_dir, strerror(errno));
	st = cgproc_run(no_shim, (const char *const[]){"true", NULL}, NULL, NULL, NULL);
	{
		bool dead_gone = access(dead_dir, F_OK) != 0,
		     live_kept = access(live_dir, F_OK) == 0;

		rmdir(dead_dir);
		rmdir(live_dir);
		cr_assert_eq(exit_code(st), 0);
		cr_assert(dead_gone, "%s was not swept", dead_dir);
		cr_assert(live_kept, "%s (a live pid) was removed", live_dir);
	}
}

/* The limit is real: allocating past --memory gets the command OOM-killed (swap is not allowed:
 * --swap 0), reported as 128 + SIGKILL. */
Test(run, memory_limit_enforced)
{
	const char *opts[] = {"--no-shim", "--memory", "64M", "--swap", "0", NULL};
	char *err;
	int st =
		cgproc_run(opts,
			   (const char *const[]){"/usr/bin/python3", "-c",
						 "b = b'x' * (200 << 20); print('survived')", NULL},
			   NULL, NULL, &err);

	cr_assert_eq(exit_code(st), 128 + SIGKILL, "%s", err);
	free(err);
	st = cgproc_run(
		opts,
		(const char *const[]){"/usr/bin/python3", "-c", "b = b'x' * (16 << 20)", NULL},
		NULL, NULL, &err);
	cr_assert_eq(exit_code(st), 0, "16 MiB in a 64 MiB box: %s", err);
	free(err);
}

/* The quota is real: a busy loop for 1 s of wall time under --cpu-quota 0.2 gets about 0.2 s of
 * CPU time (its cgroup's usage, read from inside before it ends). */
Test(run, cpu_quota_enforced)
{
	char name[64], script[1024], *out, *err;
	const char *opts[] = {"--no-shim", "--name", name, "--cpu-quota", "0.2", NULL};
	double secs = -1;
	int st;

	snprintf(name, sizeof(name), "cgproc-test-%d-quota", (int)getpid());
	snprintf(script, sizeof(script),
		 SH_OWN_CG "timeout 1 sh -c 'while :; do :; done'; d=$(own cpuacct);"
			   " case $d in */%s) echo $(cat /sys/fs/cgroup/cpuacct$d/cpuacct.usage)"
			   " 1000000000;; *) d=$(own '');"
			   " echo $(sed -n 's/^usage_usec //p' /sys/fs/cgroup$d/cpu.stat) 1000000;;"
			   " esac",
		 name);
	st = cgproc_run(opts, (const char *const[]){"sh", "-c", script, NULL}, NULL, &out, &err);
	cr_assert_eq(exit_code(st), 0, "%s", err);
	{
		double used = 0, unit = 0;

		cr_assert_eq(sscanf(out, "%lf %lf", &used, &unit), 2, "%s", out);
		secs = used / unit;
	}
	cr_assert(secs > 0.05 && secs < 0.45, "%.3f s of CPU in 1 s under a 0.2 CPU quota", secs);
	free(out);
	free(err);
}

/* The group is made under the caller's own cgroup: a `cgproc run` inside another one stays inside
 * the outer limits, and the command sees the tighter of the two (256 MiB, not its own 512). */
Test(run, nested_run_keeps_outer_limits)
{
	char *out, *err;
	const char *opts[] = {"--memory", "256M", NULL};
	const char *cmd[] = {cgproc(),
			     "run",
			     "--memory",
			     "512M",
			     "--",
			     "sh",
			     "-c",
			     "grep MemTotal /proc/meminfo; grep :memory: /proc/self/cgroup || grep "
			     "^0:: /proc/self/cgroup",
			     NULL};
	int st = cgproc_run(opts, cmd, NULL, &out, &err);

	cr_assert_eq(exit_code(st), 0, "%s", err);
	cr_assert_eq(
		strtoull(strstr(out, "MemTotal:") ? strstr(out, "MemTotal:") + 9 : "0", NULL, 10),
		256ULL * 1024, "the inner run escaped the outer 256 MiB:\n%s", out);
	{
		const char *p = strstr(out, "/cgproc-run-");

		/* the inner group (named after the inner cgproc) sits in the outer one: the memory
		 * hierarchy's line on v1, the cgroup2 line on v2 */
		cr_assert(p && strstr(p + 1, "/cgproc-run-"), "not nested: %s", out);
	}
	free(out);
	free(err);
}

/* reuse_ms: one process reading /proc/uptime twice 0.3 s apart gets the first snapshot again
 * within a 1000 ms window, and moving numbers with the window off (uptime moves every 10 ms). */
Test(run, reuse_window_from_the_environment)
{
	static const char *const py[] = {
		"/usr/bin/python3", "-c",
		"import time\n"
		"a = open('/proc/uptime').read()\n"
		"time.sleep(0.3)\n"
		"b = open('/proc/uptime').read()\n"
		"print('same' if a == b else 'moved', a.split()[0], b.split()[0])",
		NULL};
	char *out, *err;
	int st;

	st = cgproc_run(NULL, py, (char *const[]){"CGPROC_REUSE_MS=1000", NULL}, &out, &err);
	cr_assert_eq(exit_code(st), 0, "%s", err);
	cr_assert(strncmp(out, "same ", 5) == 0, "a 1000 ms window re-rendered: %s", out);
	free(out);
	free(err);
	st = cgproc_run(NULL, py, (char *const[]){"CGPROC_REUSE_MS=0", NULL}, &out, &err);
	cr_assert_eq(exit_code(st), 0, "%s", err);
	cr_assert(strncmp(out, "moved ", 6) == 0, "no window, yet the same snapshot: %s", out);
	free(out);
	free(err);
}
