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

const char *source_path(const char *rel)
{
	static __thread char out[8][4096];
	static __thread int i;

	i = (i + 1) % 8;
	return join_env("CGPROC_SOURCE_ROOT", ".", rel, out[i], sizeof(out[i]));
}

static char *slurp_fd(int fd)
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
	pid = fork();
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
		pid_t drain = fork();

		if (drain == 0) {
			/* drain stderr into a temp file so both pipes never block each other */
			char *s = slurp_fd(err[0]);
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
		o = slurp_fd(out[0]);
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
			e = fd >= 0 ? slurp_fd(fd) : strdup("");
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

/* The hierarchies mounted under /sys/fs/cgroup, from /proc/self/mountinfo. */
static int list_hierarchies(char mounts[][256], char names[][64], int max)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int n = 0;

	if (!f)
		return -errno;
	while (n < max && fgets(line, sizeof(line), f)) {
		char mnt[1024], fstype[64], opts[1024], *sep;

		sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %*s %*s %1023s", mnt) != 1)
			continue;
		if (sscanf(sep + 3, "%63s %*s %1023s", fstype, opts) != 2)
			continue;
		if (strcmp(fstype, "cgroup2") == 0) {
			snprintf(names[n], 64, "unified");
		} else if (strcmp(fstype, "cgroup") == 0) {
			/* controllers are the super options that are not rw/ro/relatime... */
			char ctl[64] = "";
			char *save, *tok;

			for (tok = strtok_r(opts, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				if (!strcmp(tok, "rw") || !strcmp(tok, "ro") ||
				    !strncmp(tok, "name=", 5) || strchr(tok, '='))
					continue;
				if (*ctl)
					strncat(ctl, ",", sizeof(ctl) - strlen(ctl) - 1);
				strncat(ctl, tok, sizeof(ctl) - strlen(ctl) - 1);
			}
			if (!*ctl)
				continue; /* named hierarchy (name=systemd): no controller to test
					   */
			snprintf(names[n], 64, "%s", ctl);
		} else {
			continue;
		}
		snprintf(mounts[n], 256, "%s", mnt);
		n++;
	}
	fclose(f);
	return n;
}

int testcg_create(struct testcg *cg)
{
	static int counter;
	char mounts[TESTCG_MAX_HIER][256], names[TESTCG_MAX_HIER][64];
	int n = list_hierarchies(mounts, names, TESTCG_MAX_HIER);

	memset(cg, 0, sizeof(*cg));
	if (n <= 0)
		return n < 0 ? n : -ENOENT;
	snprintf(cg->name, sizeof(cg->name), "cgproc-test-%d-%d", getpid(), counter++);
	for (int i = 0; i < n; i++) {
		snprintf(cg->dir[cg->n], sizeof(cg->dir[0]), "%s/cgproc-test-%d-%d", mounts[i],
			 getpid(), counter - 1);
		snprintf(cg->ctrl[cg->n], sizeof(cg->ctrl[0]), "%s", names[i]);
		if (mkdir(cg->dir[cg->n], 0755) < 0 && errno != EEXIST) {
			int r = -errno;

			testcg_destroy(cg);
			return r;
		}
		if (strstr(names[i], "cpuset") && strcmp(names[i], "unified") != 0) {
			/* v1 cpuset: a task can only join once cpus and mems are set */
			char path[512], val[256];

			snprintf(path, sizeof(path), "%s/cpuset.cpus", mounts[i]);
			if (file_read_str(path, val, sizeof(val)) >= 0) {
				snprintf(path, sizeof(path), "%s/cpuset.cpus", cg->dir[cg->n]);
				file_write_str(path, val);
			}
			snprintf(path, sizeof(path), "%s/cpuset.mems", mounts[i]);
			if (file_read_str(path, val, sizeof(val)) >= 0) {
				snprintf(path, sizeof(path), "%s/cpuset.mems", cg->dir[cg->n]);
				file_write_str(path, val);
			}
		}
		cg->n++;
	}
	return 0;
}

int testcg_write(struct testcg *cg, const char *file, const char *value)
{
	int r = -ENOENT;

	for (int i = 0; i < cg->n; i++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/%s", cg->dir[i], file);
		if (access(path, F_OK) != 0)
			continue;
		r = file_write_str(path, value);
		if (r == 0)
			return 0;
	}
	return r;
}

int testcg_limit_default(struct testcg *cg)
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
	r = testcg_write(cg, "cpu.cfs_period_us", "100000");
	if (r == 0)
		r = testcg_write(cg, "cpu.cfs_quota_us", "50000");
	else if (r == -ENOENT)
		r = testcg_write(cg, "cpu.max", "50000 100000");
	return r;
}

int testcg_attach(struct testcg *cg, pid_t pid)
{
	char val[32];

	snprintf(val, sizeof(val), "%d", pid);
	for (int i = 0; i < cg->n; i++) {
		char path[512];
		int r;

		snprintf(path, sizeof(path), "%s/cgroup.procs", cg->dir[i]);
		r = file_write_str(path, val);
		if (r < 0)
			return r;
	}
	return 0;
}

static void move_tasks_to_root(const char *dir)
{
	char path[512], parent[512], *slash;
	FILE *f;
	int pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (!slash)
		return;
	*slash = 0;
	strncat(parent, "/cgroup.procs", sizeof(parent) - strlen(parent) - 1);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fscanf(f, "%d", &pid) == 1) {
		char val[32];

		snprintf(val, sizeof(val), "%d", pid);
		file_write_str(parent, val);
	}
	fclose(f);
}

void testcg_destroy(struct testcg *cg)
{
	for (int i = cg->n - 1; i >= 0; i--) {
		if (!cg->dir[i][0])
			continue;
		move_tasks_to_root(cg->dir[i]);
		for (int tries = 0; tries < 50 && rmdir(cg->dir[i]) < 0 && errno == EBUSY; tries++)
			usleep(20000);
		cg->dir[i][0] = 0;
	}
	cg->n = 0;
}

void testcg_sweep(void)
{
	char mounts[TESTCG_MAX_HIER][256], names[TESTCG_MAX_HIER][64];
	int n = list_hierarchies(mounts, names, TESTCG_MAX_HIER);

	for (int i = 0; i < n; i++) {
		DIR *d = opendir(mounts[i]);
		struct dirent *de;

		if (!d)
			continue;
		while ((de = readdir(d))) {
			int pid;
			char dir[512];

			if (sscanf(de->d_name, "cgproc-test-%d-", &pid) != 1)
				continue;
			if (kill(pid, 0) == 0 || errno != ESRCH)
				continue;
			snprintf(dir, sizeof(dir), "%s/%s", mounts[i], de->d_name);
			move_tasks_to_root(dir);
			rmdir(dir);
		}
		closedir(d);
	}
}

pid_t testcg_spawn(struct testcg *cg, char *const argv[])
{
	int go[2];
	pid_t pid;
	char c;

	if (pipe2(go, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(125);
		execvp(argv[0], argv);
		_exit(127);
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

void harness_kill(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}
