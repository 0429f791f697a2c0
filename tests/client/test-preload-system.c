/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * System-container mode: the shim listed in /etc/ld.so.preload instead of LD_PRELOAD. Each test
 * runs a command in a limited cgroup (512 MiB, CPU 0) inside a private mount namespace where
 * /etc/ld.so.preload names the shim: a bind mount over the file when the host has one, else an
 * overlay on /etc whose upper layer (a tmpfs) holds it. Nothing reaches the host: the namespace,
 * and every mount in it, dies with the command; the cgroup is removed in .fini.
 *
 * Checked: every program sees the box without LD_PRELOAD; a setuid-root program started by an
 * unprivileged user (AT_SECURE) sees it too and ignores CGPROC_* in its environment; and nothing
 * breaks: bash, coreutils, apt-get, Python, a C program that forks and execs 1000 times.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "probe-meminfo.h"

#define BOX_KB 524288

static struct cgdirs cg;
static char tmpdir[64];
static char shim[PATH_MAX];

/* The shim under test: $CGPROC_SHIM, else the build tree's. */
static void shim_locate(void)
{
	const char *env = getenv("CGPROC_SHIM");
	const char *path = env && *env ? env : build_path("preload/libcgproc.so");

	cr_assert(realpath(path, shim), "shim %s not built: %s", path, strerror(errno));
}

static void setup(void)
{
	char mnt[128];

	testcg_sweep();
	harness_require_root();
	harness_require(access("/usr/bin/unshare", X_OK) == 0, "needs unshare (util-linux)");
	shim_locate();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/cgproc-sys-XXXXXX");
	cr_assert(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
	cr_assert_eq(chmod(tmpdir, 0755), 0); /* the unprivileged user runs a program from it */
	snprintf(mnt, sizeof(mnt), "%s/mnt", tmpdir);
	cr_assert_eq(mkdir(mnt, 0755), 0);
	cr_assert_eq(testcg_create(&cg), 0, "cannot create a test cgroup");
	cr_assert_eq(testcg_limit_default(&cg), 0, "cannot limit the test cgroup");
}

static void teardown(void)
{
	testcg_destroy(&cg);
	if (tmpdir[0]) {
		char cmd[128];

		/* only files: the mounts lived in the namespace, which is gone */
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
		tmpdir[0] = 0;
	}
}

TestSuite(preload_system, .init = setup, .fini = teardown, .timeout = 120);

/* $1 = shim, $2 = tmpdir, $3 = command. Runs in the new mount namespace. */
static const char inner[] = "set -e\n"
			    "mount --make-rprivate /\n"
			    "if [ -e /etc/ld.so.preload ]; then\n"
			    "  echo \"$1\" > \"$2/preload\"\n"
			    "  mount --bind \"$2/preload\" /etc/ld.so.preload\n"
			    "else\n"
			    "  mount -t tmpfs cgproc-test \"$2/mnt\"\n"
			    "  mkdir \"$2/mnt/u\" \"$2/mnt/w\"\n"
			    "  echo \"$1\" > \"$2/mnt/u/ld.so.preload\"\n"
			    "  mount -t overlay cgproc-test -o "
			    "\"lowerdir=/etc,upperdir=$2/mnt/u,workdir=$2/mnt/w\" /etc\n"
			    "fi\n"
			    "unset LD_PRELOAD\n"
			    "set +e\n"
			    "exec /bin/sh -c \"$3\"\n";

/* Run the shell command @cmd in the box; returns the wait status. */
static int box_run(const char *cmd, char **ret_out, char **ret_err)
{
	char outer[4096];
	size_t len;
	char *argv[] = {"/bin/sh", "-c",   outer,	"sh", (char *)inner,
			shim,	   tmpdir, (char *)cmd, NULL};

	/* join the cgroup first (every hierarchy), then leave the host's mount namespace */
	len = (size_t)snprintf(outer, sizeof(outer), "for d in");
	for (int i = 0; i < cg.n; i++)
		len += (size_t)snprintf(outer + len, sizeof(outer) - len, " %s", cg.dir[i]);
	snprintf(outer + len, sizeof(outer) - len,
		 "; do echo $$ > $d/cgroup.procs || exit 90; done\n"
		 "inner=$1; shift\n"
		 "exec unshare -m /bin/sh -c \"$inner\" sh \"$@\"\n");
	return harness_run(argv, NULL, ret_out, ret_err);
}

/* @cmd must exit 0 in the box; returns its stdout. */
static char *box(const char *cmd)
{
	char *out, *err;
	int st = box_run(cmd, &out, &err);

	cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "%s: status %#x\nstdout: %.2000s\nstderr: %.2000s", cmd, st, out, err);
	free(err);
	return out;
}

static long long field(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	cr_assert(p, "no %s in: %.2000s", key, text);
	return strtoll(p + strlen(key), NULL, 10);
}

static const char *probe(void)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s", build_path("tests/client/test-run-sysinfo"));
	return path;
}

Test(preload_system, every_program_sees_the_box)
{
	char *out = box("echo \"LD_PRELOAD=[$LD_PRELOAD]\"; grep MemTotal /proc/meminfo;"
			" echo nproc=$(nproc); echo getconf=$(getconf _NPROCESSORS_ONLN);"
			" free -k | grep Mem:; cat /etc/ld.so.preload");
	unsigned long long total = 0;

	cr_assert(strstr(out, "LD_PRELOAD=[]\n"), "LD_PRELOAD must not be set: %s", out);
	cr_assert(strstr(out, shim), "/etc/ld.so.preload does not name the shim: %s", out);
	cr_assert_eq(field(out, "MemTotal:"), BOX_KB, "%s", out);
	cr_assert_eq(field(out, "nproc="), 1, "%s", out);
	cr_assert_eq(field(out, "getconf="), 1, "%s", out);
	cr_assert(sscanf(strstr(out, "Mem:"), "Mem: %llu", &total) == 1 && total == BOX_KB,
		  "free: %s", out);
	free(out);
}

Test(preload_system, c_program)
{
	char cmd[4200], *out;

	snprintf(cmd, sizeof(cmd), "%s", probe());
	out = box(cmd);
	cr_assert_eq(field(out, "totalram="), 536870912LL, "%s", out);
	cr_assert_eq(field(out, "meminfo_total_kb="), BOX_KB, "%s", out);
	cr_assert_eq(field(out, "nprocs="), 1, "%s", out);
	cr_assert_eq(field(out, "getloadavg="), 3, "%s", out);
	cr_assert_eq(field(out, "at_secure="), 0, "%s", out);
	free(out);
}

/* A setuid-root program run by nobody: AT_SECURE, so the shim reads no environment. The control
 * run (not setuid) shows that CGPROC_ENABLED=no does switch the shim off where it is allowed to,
 * so the setuid run proves the variable was ignored, not merely unknown. */
Test(preload_system, setuid_program)
{
	char suid[128], cmd[4400], *out;
	struct statvfs vfs;

	harness_require(access("/usr/bin/setpriv", X_OK) == 0, "needs setpriv (util-linux)");
	cr_assert_eq(statvfs(tmpdir, &vfs), 0);
	harness_require(!(vfs.f_flag & ST_NOSUID), "/tmp is mounted nosuid");
	snprintf(suid, sizeof(suid), "%s/suid-probe", tmpdir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chown 0:0 '%s' && chmod 4755 '%s'", probe(),
		 suid, suid, suid);
	cr_assert_eq(system(cmd), 0, "%s", cmd);

	snprintf(cmd, sizeof(cmd),
		 "setpriv --reuid=65534 --regid=65534 --clear-groups env CGPROC_ENABLED=no %s",
		 suid);
	out = box(cmd);
	cr_assert_eq(field(out, "at_secure="), 1, "not a secure-execution run: %s", out);
	cr_assert(strstr(out, "euid=0 uid=65534"), "%s", out);
	cr_assert_eq(field(out, "meminfo_total_kb="), BOX_KB, "setuid program: %s", out);
	cr_assert_eq(field(out, "totalram="), 536870912LL, "setuid program: %s", out);
	free(out);

	snprintf(cmd, sizeof(cmd), "env CGPROC_ENABLED=no %s", probe());
	out = box(cmd);
	cr_assert_eq(field(out, "at_secure="), 0, "%s", out);
	cr_assert_eq(field(out, "meminfo_total_kb="), meminfo_total_kb(),
		     "CGPROC_ENABLED=no did not switch the shim off: %s", out);
	free(out);
}

Test(preload_system, bash_and_coreutils)
{
	char *out =
		box("bash -c 'echo bash-ok' && ls / > /dev/null && cat /etc/os-release > /dev/null"
		    " && printf 'b\\na\\nc\\n' | sort | head -n 1 && echo coreutils-ok");

	cr_assert(strstr(out, "bash-ok\n"), "%s", out);
	cr_assert(strstr(out, "\na\ncoreutils-ok\n"), "sort output wrong: %s", out);
	free(out);
}

Test(preload_system, apt_get)
{
	char *out;

	harness_require(access("/usr/bin/apt-get", X_OK) == 0, "needs apt-get");
	out = box("apt-get --simulate install hello || apt-get --simulate upgrade");
	cr_assert(strstr(out, "Reading package lists"), "%s", out);
	free(out);
}

Test(preload_system, python)
{
	char *out = box("/usr/bin/python3 -c 'import os, sys; print(\"py\", os.cpu_count(),"
			" sys.version_info[0])'");

	cr_assert_str_eq(out, "py 1 3\n");
	free(out);
}

Test(preload_system, fork_exec_1000)
{
	char cmd[4200], *out;

	snprintf(cmd, sizeof(cmd), "%s forkexec 1000", probe());
	out = box(cmd);
	cr_assert(strstr(out, "forkexec=1000\n"), "%s", out);
	free(out);
}

/* The namespace and its mounts must not outlive the command. */
Test(preload_system, nothing_left_behind)
{
	bool had_preload = access("/etc/ld.so.preload", F_OK) == 0;
	char *out = box("true");
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];

	free(out);
	cr_assert_eq(access("/etc/ld.so.preload", F_OK) == 0, had_preload,
		     "the host's /etc/ld.so.preload changed");
	cr_assert(f);
	while (fgets(line, sizeof(line), f)) {
		cr_assert_null(strstr(line, tmpdir), "mount left behind: %s", line);
		cr_assert_null(strstr(line, "cgproc-test"), "mount left behind: %s", line);
	}
	fclose(f);
}
