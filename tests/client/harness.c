/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Client-test harness: see harness.h. Test code, not product code: it may print and allocate. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

#define CG_BASE "/sys/fs/cgroup"

void harness_require(bool ok, const char *why)
{
	const char *ci = getenv("CI");

	if (ok)
		return;
	if (ci && strcmp(ci, "true") == 0)
		cr_assert_fail("cannot run under CI=true: %s", why);
	else
		criterion_skip_test("%s", why);
}

void harness_require_root(void)
{
	harness_require(geteuid() == 0, "needs root");
}

static const char *join_env(const char *var, const char *fallback, const char *rel, char *out,
			    size_t size)
{
	const char *root = getenv(var);

	snprintf(out, size, "%s/%s", root && *root ? root : fallback, rel);
	return out;
}

const char *build_path(const char *rel)
{
	static __thread char out[8][4096];
	static __thread int i;

	i = (i + 1) % 8;
	return join_env("CGPROC_BUILD_ROOT", ".", rel, out[i], sizeof(out[i]));
}

unsigned harness_time_factor(void)
{
	const char *v = getenv("CGPROC_TEST_TIME_FACTOR");
	unsigned long f = v ? strtoul(v, NULL, 10) : 1;

	return f >= 1 && f <= 100 ? (unsigned)f : 1;
}

const char *source_path(const char *rel)
{
	static __thread char out[8][4096];
	static __thread int i;

	i = (i + 1) % 8;
	return join_env("CGPROC_SOURCE_ROOT", ".", rel, out[i], sizeof(out[i]));
}

char *harness_slurp_fd(int fd)
{
	size_t cap = 4096, len = 0;
	char *s = malloc(cap);

	for (;;) {
		ssize_t n;

		if (len + 1 >= cap)
			s = realloc(s, cap *= 2);
		n = read(fd, s + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	s[len] = 0;
	return s;
}

int harness_run(char *const argv[], char *const env_extra[], char **ret_out, char **ret_err)
{
	int out[2], err[2], status;
	pid_t pid;

	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		return -errno;
	pid = harness_fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		for (char *const *e = env_extra; e && *e; e++)
			putenv(*e);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	/* Drain stderr in a child-free way: read stdout fully first is fine for test-sized output
	 * only if stderr stays small; use a simple poll-free approach with a second fork. */
	{
		char *o, *e;
		pid_t drain = harness_fork();

		if (drain == 0) {
			/* drain stderr into a temp file so both pipes never block each other */
			char *s = harness_slurp_fd(err[0]);
			char path[64];
			int fd;

			snprintf(path, sizeof(path), "/tmp/cgproc-harness-%d.err", getppid());
			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			if (fd >= 0) {
				if (write(fd, s, strlen(s)) < 0)
					_exit(1);
				close(fd);
			}
			_exit(0);
		}
		close(err[0]);
		o = harness_slurp_fd(out[0]);
		close(out[0]);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (drain > 0)
			waitpid(drain, NULL, 0);
		{
			char path[64];
			int fd;

			snprintf(path, sizeof(path), "/tmp/cgproc-harness-%d.err", getpid());
			fd = open(path, O_RDONLY | O_CLOEXEC);
			e = fd >= 0 ? harness_slurp_fd(fd) : strdup("");
			if (fd >= 0)
				close(fd);
			unlink(path);
		}
		if (ret_out)
			*ret_out = o;
		else
			free(o);
		if (ret_err)
			*ret_err = e;
		else
			free(e);
	}
	return status;
}

int harness_sh(const char *cmd, char **ret_out, char **ret_err)
{
	char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};

	return harness_run(argv, NULL, ret_out, ret_err);
}

int testcg_create(struct cgdirs *cg)
{
	static int counter;
	char name[64];

	snprintf(name, sizeof(name), "cgproc-test-%d-%d", getpid(), counter++);
	return cgdirs_create(cg, name);
}

int testcg_write(struct cgdirs *cg, const char *file, const char *value)
{
	return cgdirs_write(cg, file, value);
}

int testcg_limit_default(struct cgdirs *cg)
{
	int r;

	r = testcg_write(cg, "memory.limit_in_bytes", "536870912");
	if (r == -ENOENT)
		r = testcg_write(cg, "memory.max", "536870912");
	if (r < 0)
		return r;
	r = testcg_write(cg, "cpuset.cpus", "0");
	if (r < 0)
		return r;
	return testcg_quota(cg, 50000, 100000);
}

int testcg_quota(struct cgdirs *cg, unsigned long quota_us, unsigned long period_us)
{
	char q[32], p[32], both[64];
	int r;

	snprintf(q, sizeof(q), "%lu", quota_us);
	snprintf(p, sizeof(p), "%lu", period_us);
	snprintf(both, sizeof(both), "%lu %lu", quota_us, period_us);
	r = testcg_write(cg, "cpu.cfs_period_us", p);
	if (r == 0)
		r = testcg_write(cg, "cpu.cfs_quota_us", q);
	else if (r == -ENOENT)
		r = testcg_write(cg, "cpu.max", both);
	return r;
}

int testcg_attach(struct cgdirs *cg, pid_t pid)
{
	return cgdirs_attach(cg, pid);
}

void testcg_destroy(struct cgdirs *cg)
{
	cgdirs_destroy(cg);
}

void testcg_sweep(void)
{
	cgdirs_sweep("cgproc-test-");
}

pid_t testcg_fork(struct cgdirs *cg, void (*fn)(void *), void *arg)
{
	int go[2];
	pid_t pid;
	char c;

	if (pipe2(go, O_CLOEXEC) < 0)
		return -errno;
	pid = harness_fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(125);
		fn(arg);
		_exit(0);
	}
	close(go[0]);
	if (testcg_attach(cg, pid) < 0) {
		int r = -errno;

		harness_kill(pid);
		close(go[1]);
		return r ? r : -EIO;
	}
	c = 1;
	if (write(go[1], &c, 1) != 1) {
		harness_kill(pid);
		close(go[1]);
		return -EIO;
	}
	close(go[1]);
	return pid;
}

static void exec_argv(void *arg)
{
	char *const *argv = arg;

	execvp(argv[0], argv);
	_exit(127);
}

pid_t testcg_spawn(struct cgdirs *cg, char *const argv[])
{
	return testcg_fork(cg, exec_argv, (void *)argv);
}

int harness_die_with(pid_t parent)
{
	pid_t ppid;

	/*
	 * The parent may have died before the death signal was asked for. A child that is PID 1 of
	 * a new pid namespace sees its parent as 0 and cannot tell.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || ((ppid = getppid()) != 0 && ppid != parent))
		return -1;
	return 0;
}

pid_t harness_fork(void)
{
	pid_t parent = getpid(), pid = fork();

	if (pid == 0 && harness_die_with(parent) < 0)
		_exit(125);
	return pid;
}

void harness_kill(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

char harness_fuse_uring(void)
{
	char c = 0;
	int fd = open(HARNESS_FUSE_URING, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == '1' ? 'Y' : c == '0' ? 'N' : c;
}

int harness_fuse_uring_set(char value)
{
	char c = value == 'Y' ? 'Y' : 'N';
	int fd = open(HARNESS_FUSE_URING, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, &c, 1) != 1)
		r = -EIO;
	close(fd);
	return r;
}
