/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgproc bench, the environment: the limited cgroup the workers run in (created by direct
 * cgroupfs writes in every mounted hierarchy, removed on every path), the FUSE file systems the
 * bench starts on temporary mountpoints (cgprocfs, a private lxcfs), worker processes, and where
 * the artefacts under test are found. It only ever signals processes it started, by pid.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgproc-config.h"
#include "bench.h"
#include "model/macro.h"
#include "model/cgpath.h"
#include "source/source.h"
#include "paths.h"
#include "util.h"

#define CG_PREFIX "cgproc-bench-"
#define FUSE_SUPER_MAGIC 0x65735546
#define WORKER_TIMEOUT_MS (300 * 1000)

extern char **environ;

int bench_cg_create(struct cgdirs *cg)
{
	char name[64];
	int r;

	snprintf(name, sizeof(name), CG_PREFIX "%d", getpid());
	r = cgdirs_create(cg, name);
	if (r < 0)
		return r;
	r = cgdirs_write(cg, "memory.limit_in_bytes", "536870912");
	if (r == -ENOENT)
		r = cgdirs_write(cg, "memory.max", "536870912");
	if (r == 0)
		r = cgdirs_write(cg, "cpuset.cpus", "0");
	if (r < 0) {
		cgdirs_destroy(cg);
		return r;
	}
	return 0;
}

static bool pid_dead(int pid)
{
	return pid > 0 && kill(pid, 0) < 0 && errno == ESRCH;
}

void bench_sweep(void)
{
	_cleanup_free_ char *text = NULL;
	struct mountinfo_entry e;
	struct span rest;
	size_t len;

	cgdirs_sweep(CG_PREFIX);
	/* FUSE mounts of a bench that was killed: /tmp/cgproc-bench-<pid>.XXXXXX/{fuse,lxcfs} */
	if (file_read_all("/proc/self/mountinfo", &text, &len) < 0)
		return;
	rest = (struct span){text, len};
	while (mountinfo_next(&rest, &e)) {
		char mnt[512];
		int pid;

		if (mountinfo_unescape(e.mount, false, mnt, sizeof(mnt)) < 0)
			continue;
		if (sscanf(mnt, "/tmp/" CG_PREFIX "%d.", &pid) != 1 || !pid_dead(pid))
			continue;
		umount2(mnt, MNT_DETACH);
		rmdir(mnt);
	}
}

static int64_t mono_ms(void)
{
	return src_mono_ns() / 1000000;
}

static void log_tail(const char *path, char *out, size_t size)
{
	char buf[4096], *line, *end;
	int n = file_read_str(path, buf, sizeof(buf));

	out[0] = 0;
	if (n <= 0)
		return;
	end = buf + n;
	while (end > buf && (end[-1] == '\n' || end[-1] == ' '))
		*--end = 0;
	line = strrchr(buf, '\n');
	snprintf(out, size, "%s", line ? line + 1 : buf);
}

int bench_fs_start(struct bench_fs *fs, char *const argv[])
{
	int64_t deadline;
	pid_t pid;

	fs->pid = 0;
	fs->reason[0] = 0;
	if (mkdir(fs->mnt, 0755) < 0 && errno != EEXIST) {
		snprintf(fs->reason, sizeof(fs->reason), "mkdir %s: %s", fs->mnt, strerror(errno));
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(fs->reason, sizeof(fs->reason), "fork: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		int log = open(fs->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		setpgid(0, 0); /* a ^C to the bench must not kill it before it is unmounted */
		if (log >= 0) {
			dup2(log, 1);
			dup2(log, 2);
		}
		if (null >= 0)
			dup2(null, 0);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	fs->pid = pid;
	deadline = mono_ms() + 10000;
	while (mono_ms() < deadline && !bench_interrupted) {
		struct statfs sf;
		int status;

		if (statfs(fs->mnt, &sf) == 0 && sf.f_type == FUSE_SUPER_MAGIC)
			return 0;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			char tail[120];

			fs->pid = 0;
			log_tail(fs->log, tail, sizeof(tail));
			snprintf(fs->reason, sizeof(fs->reason),
				 "%s exited (status %d) before mounting%s%s", fs->label,
				 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
				 *tail ? ": " : "", tail);
			return -ECHILD;
		}
		usleep(10000);
	}
	snprintf(fs->reason, sizeof(fs->reason), "%s did not mount %s within 10 s", fs->label,
		 fs->mnt);
	bench_fs_stop(fs);
	snprintf(fs->reason, sizeof(fs->reason), "%s did not mount within 10 s", fs->label);
	return -ETIMEDOUT;
}

void bench_fs_status(struct bench_fs *fs, char *out, size_t size)
{
	char tail[100];
	int status;

	log_tail(fs->log, tail, sizeof(tail));
	if (fs->pid > 0 && waitpid(fs->pid, &status, WNOHANG) == fs->pid) {
		fs->pid = 0;
		if (WIFSIGNALED(status))
			snprintf(out, size, "%s died of signal %d (%s) while serving%s%s",
				 fs->label, WTERMSIG(status), strsignal(WTERMSIG(status)),
				 *tail ? ": " : "", tail);
		else
			snprintf(out, size, "%s exited with status %d while serving%s%s", fs->label,
				 WEXITSTATUS(status), *tail ? ": " : "", tail);
		return;
	}
	snprintf(out, size, "%s mount stopped answering%s%s", fs->label, *tail ? ": " : "", tail);
}

void bench_fs_stop(struct bench_fs *fs)
{
	if (fs->pid > 0) {
		int64_t deadline = mono_ms() + 3000;
		int status;

		kill(fs->pid, SIGTERM);
		while (waitpid(fs->pid, &status, WNOHANG) == 0) {
			if (mono_ms() > deadline) {
				kill(fs->pid, SIGKILL);
				waitpid(fs->pid, &status, 0);
				break;
			}
			usleep(10000);
		}
		fs->pid = 0;
	}
	if (fs->mnt[0]) {
		umount2(fs->mnt, MNT_DETACH); /* EINVAL when the daemon already unmounted */
		rmdir(fs->mnt);
	}
}

/* Sum of the first field of /proc/<pid>/task/<tid>/schedstat: ns on CPU, every thread. */
static int schedstat_ns(pid_t pid, uint64_t *ret)
{
	char dir[64];
	struct dirent *de;
	uint64_t total = 0;
	bool any = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[128], buf[128];
		unsigned long long ns;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/schedstat", dir, de->d_name);
		if (file_read_str(path, buf, sizeof(buf)) > 0 && sscanf(buf, "%llu", &ns) == 1) {
			total += ns;
			any = true;
		}
	}
	closedir(d);
	if (!any)
		return -ENODATA;
	*ret = total;
	return 0;
}

int proc_cpu_ns(pid_t pid, uint64_t *ret)
{
	char path[64], buf[2048], *p;
	unsigned long long ut, st;
	long tck = sysconf(_SC_CLK_TCK);
	int r;

	/* schedstat has ns resolution; /proc/<pid>/stat only clock ticks (10 ms) */
	if (schedstat_ns(pid, ret) == 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	r = file_read_str(path, buf, sizeof(buf));
	if (r < 0)
		return r;
	p = strrchr(buf, ')');
	/* after ')': state(3) ... utime(14) stime(15) */
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -EINVAL;
	*ret = (ut + st) * (1000000000ULL / (unsigned long long)(tck > 0 ? tck : 100));
	return 0;
}

int host_threads(unsigned *ret)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	unsigned total = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[300], buf[1024], *p;
		long threads;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if (file_read_str(path, buf, sizeof(buf)) <= 0)
			continue;
		p = strrchr(buf, ')');
		/* num_threads is field 20 */
		if (p && sscanf(p + 2,
				"%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
				"%*d %*d %ld",
				&threads) == 1)
			total += (unsigned)threads;
	}
	closedir(d);
	*ret = total;
	return 0;
}

static bool exe_dir(char *dir, size_t size)
{
	char exe[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return false;
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (!slash)
		return false;
	*slash = 0;
	snprintf(dir, size, "%s", exe);
	return true;
}

/* cgproc runs from its build tree when its own binary lives under CGPROC_BUILD_ROOT. */
static bool in_build_tree(void)
{
	char dir[PATH_MAX];
	size_t len = strlen(CGPROC_BUILD_ROOT);

	return exe_dir(dir, sizeof(dir)) && strncmp(dir, CGPROC_BUILD_ROOT, len) == 0 &&
	       (dir[len] == '/' || dir[len] == 0);
}

static bool try_path(const char *path, int mode, char *out, size_t size)
{
	if (access(path, mode) != 0)
		return false;
	snprintf(out, size, "%s", path);
	return true;
}

bool bench_find(const char *what, char *path, size_t size, char *why, size_t why_size)
{
	bool build = in_build_tree();
	char dir[PATH_MAX] = "", cand[PATH_MAX + 64];

	exe_dir(dir, sizeof(dir));
	if (strcmp(what, "lxcfs") == 0) {
		if (try_path("/usr/bin/lxcfs", X_OK, path, size))
			return true;
		snprintf(why, why_size, "/usr/bin/lxcfs not installed");
		return false;
	}
	if (strcmp(what, "shim") == 0) {
		/* the same lookup as `cgproc run`: $CGPROC_SHIM, build tree, libdir */
		if (cgproc_find_shim(path, size) == 0)
			return true;
		snprintf(why, why_size, "libcgproc.so not built");
		return false;
	}
	if (strcmp(what, "empty") == 0) {
		if (build && cgproc_find_artefact(NULL, "tools/bench/libempty.so", "libempty.so",
						  path, size) == 0)
			return true;
		snprintf(why, why_size, "libempty.so exists only in the build tree");
		return false;
	}
	/* programs: cgprocfs, cgprocd; $CGPROC_CGPROCFS / $CGPROC_CGPROCD override */
	{
		char var[32];
		const char *env;

		snprintf(var, sizeof(var), "CGPROC_%s", what);
		for (char *p = var; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		env = secure_getenv(var);
		if (env && *env) {
			if (env[0] == '/' && try_path(env, X_OK, path, size))
				return true;
			snprintf(why, why_size, "$%s=%s is not an executable absolute path", var,
				 env);
			return false;
		}
	}
	if (build) {
		snprintf(cand, sizeof(cand), "%s/tools/%s/%s", CGPROC_BUILD_ROOT, what, what);
		if (try_path(cand, X_OK, path, size))
			return true;
		snprintf(cand, sizeof(cand), "%s/tools/%s", CGPROC_BUILD_ROOT, what);
		if (try_path(cand, X_OK, path, size))
			return true;
	} else {
		snprintf(cand, sizeof(cand), "%s/%s", dir, what);
		if (try_path(cand, X_OK, path, size))
			return true;
		snprintf(cand, sizeof(cand), "/usr/sbin/%s", what);
		if (try_path(cand, X_OK, path, size))
			return true;
		snprintf(cand, sizeof(cand), "/usr/local/sbin/%s", what);
		if (try_path(cand, X_OK, path, size))
			return true;
	}
	snprintf(why, why_size, "%s not built", what);
	return false;
}

/* ---- workers -------------------------------------------------------------------------------- */

int worker_start(struct worker *w, const struct cgdirs *cg, const char *preload, const char *label)
{
	int cmd[2], res[2], go[2];
	char self[PATH_MAX];
	ssize_t n;
	pid_t pid;
	char c;

	memset(w, 0, sizeof(*w));
	w->cmd_fd = w->res_fd = -1;
	w->label = label;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -errno;
	self[n] = 0;
	if (pipe2(cmd, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(res, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0) {
		int r = -errno;

		close(cmd[0]);
		close(cmd[1]);
		return r;
	}
	pid = fork();
	if (pid < 0) {
		int r = -errno;

		close(cmd[0]);
		close(cmd[1]);
		close(res[0]);
		close(res[1]);
		close(go[0]);
		close(go[1]);
		return r;
	}
	if (pid == 0) {
		char *argv[] = {"cgproc", "bench", "--worker", NULL};
		size_t envc = 0, k = 0;
		char **envp, *pre = NULL;

		setpgid(0, 0);
		/* the parent attaches us; wait for it so exec happens inside the cgroup */
		close(go[1]);
		if (read(go[0], &c, 1) != 1 || c != 'y')
			_exit(125);
		dup2(cmd[0], 0);
		dup2(res[1], 1);
		for (char **e = environ; *e; e++)
			envc++;
		envp = calloc(envc + 2, sizeof(char *));
		if (!envp)
			_exit(125);
		for (char **e = environ; *e; e++)
			if (strncmp(*e, "LD_PRELOAD=", 11) != 0)
				envp[k++] = *e;
		if (preload) {
			if (asprintf(&pre, "LD_PRELOAD=%s", preload) < 0)
				_exit(125);
			envp[k++] = pre;
		}
		execve(self, argv, envp);
		_exit(127);
	}
	close(cmd[0]);
	close(res[1]);
	close(go[0]);
	w->pid = pid;
	w->cmd_fd = cmd[1];
	w->res_fd = res[0];
	if (cg) {
		int r = cgdirs_attach(cg, pid);

		if (r < 0) {
			close(go[1]);
			worker_stop(w);
			return r;
		}
	}
	c = 'y';
	n = write(go[1], &c, 1);
	close(go[1]);
	return n == 1 ? 0 : -EIO;
}

int worker_call(struct worker *w, const char *cmd, int64_t *ret)
{
	char line[64];
	size_t len = 0, cl = strlen(cmd);

	if (w->pid <= 0)
		return -ESRCH;
	if (write(w->cmd_fd, cmd, cl) != (ssize_t)cl || write(w->cmd_fd, "\n", 1) != 1)
		return -EPIPE;
	while (len < sizeof(line) - 1) {
		struct pollfd p = {.fd = w->res_fd, .events = POLLIN};
		ssize_t n;
		int r = poll(&p, 1, WORKER_TIMEOUT_MS);

		if (r < 0 && errno == EINTR) {
			if (bench_interrupted)
				return -EINTR;
			continue;
		}
		if (r == 0)
			return -ETIMEDOUT;
		n = read(w->res_fd, line + len, sizeof(line) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPIPE;
		len += (size_t)n;
		if (line[len - 1] == '\n')
			break;
	}
	line[len] = 0;
	*ret = strtoll(line, NULL, 10);
	return 0;
}

void worker_stop(struct worker *w)
{
	if (w->cmd_fd >= 0)
		close(w->cmd_fd); /* EOF: the worker exits by itself */
	if (w->res_fd >= 0)
		close(w->res_fd);
	w->cmd_fd = w->res_fd = -1;
	if (w->pid > 0) {
		int64_t deadline = mono_ms() + 2000;
		int status;

		while (waitpid(w->pid, &status, WNOHANG) == 0) {
			if (mono_ms() > deadline) {
				kill(w->pid, SIGKILL);
				waitpid(w->pid, &status, 0);
				break;
			}
			usleep(2000);
		}
	}
	w->pid = 0;
}
