/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `cgproc show` on real processes in real cgroups: a child in a cgroup with 512 MiB, cpuset "0"
 * and quota 50000/100000 must be shown as a 512 MiB, one-CPU machine that booted seconds ago;
 * and where lxcfs is installed, a private lxcfs instance must agree with cgproc on MemTotal and
 * the CPU count for the same process (a pid-namespace init, the way lxcfs expects containers).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static struct cgdirs cg;
static pid_t child = -1, lxcfs = -1;
static char tmpdir[128];

static void setup(void)
{
	testcg_sweep();
}

static void teardown(void)
{
	char cmd[256];

	harness_kill(child);
	child = -1;
	testcg_destroy(&cg);
	if (lxcfs > 0) {
		char mnt[256];

		/* our private instance only, by pid; then make sure nothing stays mounted */
		kill(lxcfs, SIGTERM);
		for (int i = 0; i < 50 && waitpid(lxcfs, NULL, WNOHANG) == 0; i++)
			usleep(20000);
		harness_kill(lxcfs);
		lxcfs = -1;
		snprintf(mnt, sizeof(mnt), "%s/mnt", tmpdir);
		umount2(mnt, MNT_DETACH);
	}
	if (tmpdir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		(void)system(cmd);
		tmpdir[0] = 0;
	}
}

/* `cgproc show ARGS...` output; the exit status must be @want_status. */
static char *show(int want_status, const char *args)
{
	char cmd[1024], *out = NULL, *err = NULL;
	int status;

	snprintf(cmd, sizeof(cmd), "'%s' show %s", build_path("tools/cgproc"), args);
	status = harness_sh(cmd, &out, &err);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == want_status,
		  "%s: status %d, want %d; stderr: %s", cmd, status, want_status, err);
	free(err);
	return out;
}

static unsigned long long meminfo_kb(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	unsigned long long v;

	cr_assert_not_null(p, "no %s in:\n%s", key, text);
	cr_assert_eq(sscanf(p + strlen(key), ": %llu kB", &v), 1);
	return v;
}

static unsigned count_prefix(const char *text, const char *prefix, bool digit_after)
{
	unsigned n = 0;
	size_t len = strlen(prefix);

	for (const char *line = text; line && *line;
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, prefix, len) != 0)
			continue;
		if (digit_after && !(line[len] >= '0' && line[len] <= '9'))
			continue;
		n++;
	}
	return n;
}

Test(show, limited_cgroup, .init = setup, .fini = teardown)
{
	char *argv[] = {"sleep", "60", NULL}, args[64], *out;
	double up, idle;

	harness_require_root();
	cr_assert_eq(testcg_create(&cg), 0);
	cr_assert_eq(testcg_limit_default(&cg), 0);
	child = testcg_spawn(&cg, argv);
	cr_assert_gt(child, 0);

	snprintf(args, sizeof(args), "--pid %d meminfo", (int)child);
	out = show(0, args);
	cr_expect_eq(meminfo_kb(out, "MemTotal"), 524288);
	cr_expect_leq(meminfo_kb(out, "MemFree"), 524288);
	free(out);

	snprintf(args, sizeof(args), "--pid %d cpuinfo", (int)child);
	out = show(0, args);
	cr_expect_eq(count_prefix(out, "processor\t", false), 1, "cpuinfo:\n%s", out);
	free(out);

	snprintf(args, sizeof(args), "--pid %d stat", (int)child);
	out = show(0, args);
	cr_expect_eq(count_prefix(out, "cpu", true), 1, "stat:\n%s", out);
	cr_expect_eq(count_prefix(out, "cpu0 ", false), 1, "the visible CPU keeps its id 0");
	free(out);

	snprintf(args, sizeof(args), "--pid %d /sys/devices/system/cpu/online", (int)child);
	out = show(0, args);
	cr_expect_str_eq(out, "0\n");
	free(out);

	snprintf(args, sizeof(args), "--pid %d uptime", (int)child);
	out = show(0, args);
	cr_assert_eq(sscanf(out, "%lf %lf", &up, &idle), 2, "uptime: %s", out);
	cr_expect(up >= 0 && up < 30, "uptime %f: the machine started with the child", up);
	cr_expect(idle >= 0 && idle <= up + 0.01, "idle %f of 1 CPU within uptime %f", idle, up);
	free(out);

	/* --explain names the test cgroup as the machine, by rule 4 */
	snprintf(args, sizeof(args), "--pid %d --explain", (int)child);
	out = show(0, args);
	cr_expect(strstr(out, "rule:     4"), "%s", out);
	cr_expect(strstr(out, cg.name), "%s", out);
	free(out);
}

Test(show, bad_arguments)
{
	char args[64], *out;
	pid_t gone;

	/* a pid that does not exist: find one by asking the kernel */
	for (gone = 4194000; gone > 300000 && (kill(gone, 0) == 0 || errno != ESRCH); gone--)
		;
	snprintf(args, sizeof(args), "--pid %d meminfo", (int)gone);
	free(show(1, args));
	free(show(2, "--pid notapid meminfo"));
	free(show(2, "--pid -5"));
	free(show(2, "no-such-file"));
	free(show(2, "/proc/zoneinfo"));
	free(show(2, "--no-such-option"));
	free(show(1, "--root /nonexistent/cgproc meminfo"));
	out = show(0, "--help");
	cr_expect(strstr(out, "Usage: cgproc show"), "%s", out);
	free(out);
}

/* Wait for @path to exist, up to @ms. */
static bool wait_for(const char *path, int ms)
{
	for (int i = 0; i < ms / 20; i++) {
		if (access(path, F_OK) == 0)
			return true;
		usleep(20000);
	}
	return access(path, F_OK) == 0;
}

Test(show, agrees_with_lxcfs, .init = setup, .fini = teardown, .timeout = 60)
{
	char mnt[256], pidfile[256], script[1024], done[256], path[512], args[64];
	char *lxcfs_mem, *lxcfs_cpu, *mine, *argv[8];
	unsigned lxcfs_n, mine_n;
	size_t len;
	pid_t inner = -1;
	FILE *f;

	harness_require_root();
	harness_require(access("/usr/bin/lxcfs", X_OK) == 0, "lxcfs is not installed");
	harness_require(access("/dev/fuse", R_OK | W_OK) == 0, "no /dev/fuse");

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/cgproc-lxcfs-%d-XXXXXX", (int)getpid());
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(mnt, sizeof(mnt), "%s/mnt", tmpdir);
	snprintf(pidfile, sizeof(pidfile), "%s/lxcfs.pid", tmpdir);
	cr_assert_eq(mkdir(mnt, 0755), 0);

	/* a private lxcfs (5.0.3 always runs in the foreground; own pidfile, own mountpoint) */
	lxcfs = harness_fork();
	cr_assert_geq(lxcfs, 0);
	if (lxcfs == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execl("/usr/bin/lxcfs", "lxcfs", "-p", pidfile, mnt, (char *)NULL);
		_exit(127);
	}
	snprintf(path, sizeof(path), "%s/proc/meminfo", mnt);
	cr_assert(wait_for(path, 10000), "lxcfs did not come up on %s", mnt);

	/* the container: a pid namespace whose init reads lxcfs's files, in the limited cgroup */
	cr_assert_eq(testcg_create(&cg), 0);
	cr_assert_eq(testcg_limit_default(&cg), 0);
	snprintf(done, sizeof(done), "%s/done", tmpdir);
	snprintf(script, sizeof(script),
		 "cat %s/proc/meminfo >%s/meminfo && cat %s/proc/cpuinfo >%s/cpuinfo && "
		 "touch %s; exec sleep 60",
		 mnt, tmpdir, mnt, tmpdir, done);
	argv[0] = "unshare";
	argv[1] = "-fp";
	argv[2] = "--mount-proc";
	argv[3] = "--kill-child";
	argv[4] = "sh";
	argv[5] = "-c";
	argv[6] = script;
	argv[7] = NULL;
	child = testcg_spawn(&cg, argv);
	cr_assert_gt(child, 0);
	cr_assert(wait_for(done, 10000), "the container did not read lxcfs's files");

	/* the host pid of the namespace's init: unshare's only child */
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)child, (int)child);
	f = fopen(path, "re");
	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%d", &inner), 1);
	fclose(f);

	snprintf(path, sizeof(path), "%s/meminfo", tmpdir);
	f = fopen(path, "re");
	cr_assert_not_null(f);
	lxcfs_mem = calloc(1, 65536);
	len = fread(lxcfs_mem, 1, 65535, f);
	fclose(f);
	cr_assert_gt(len, 0);
	snprintf(path, sizeof(path), "%s/cpuinfo", tmpdir);
	f = fopen(path, "re");
	cr_assert_not_null(f);
	lxcfs_cpu = calloc(1, 1 << 20);
	len = fread(lxcfs_cpu, 1, (1 << 20) - 1, f);
	fclose(f);
	cr_assert_gt(len, 0);

	snprintf(args, sizeof(args), "--pid %d meminfo", (int)inner);
	mine = show(0, args);
	cr_expect_eq(meminfo_kb(mine, "MemTotal"), meminfo_kb(lxcfs_mem, "MemTotal"),
		     "cgproc:\n%s\nlxcfs:\n%s", mine, lxcfs_mem);
	cr_expect_eq(meminfo_kb(mine, "MemTotal"), 524288);
	free(mine);

	snprintf(args, sizeof(args), "--pid %d cpuinfo", (int)inner);
	mine = show(0, args);
	mine_n = count_prefix(mine, "processor\t", false);
	lxcfs_n = count_prefix(lxcfs_cpu, "processor\t", false);
	cr_expect_eq(mine_n, lxcfs_n, "cgproc shows %u CPUs, lxcfs %u", mine_n, lxcfs_n);
	cr_expect_eq(mine_n, 1);
	free(mine);
	free(lxcfs_mem);
	free(lxcfs_cpu);
}

/* --list names every virtual file, and each listed name is accepted by `cgproc show NAME`. */
Test(show, list_round_trip)
{
	char *argv[] = {(char *)build_path("tools/cgproc"), "show", "--list", NULL}, *out = NULL;
	char *line, *save = NULL;
	int status, n = 0;

	harness_require_root();
	status = harness_run(argv, NULL, &out, NULL);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[64], path[128];
		char *one[] = {(char *)build_path("tools/cgproc"), "show", name, NULL};

		cr_assert_eq(sscanf(line, "%63s %127s", name, path), 2, "line: %s", line);
		cr_expect(path[0] == '/', "%s", line);
		n++;
		status = harness_run(one, NULL, NULL, NULL);
		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "show %s: %#x", name,
			  status);
	}
	cr_expect_geq(n, 13);
	free(out);
}
