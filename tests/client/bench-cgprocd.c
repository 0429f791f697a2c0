/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Scale benchmark (suite "bench"): 500 cgroups holding 10,000 sleeping threads (one process of 20
 * threads per cgroup). Measures cgprocd's CPU time per sampling pass (its --stats line) and, on
 * the same tree in the same run, the CPU time per pass of a private `lxcfs -l` on a temporary
 * mountpoint, with every cgroup made "tracked" by reading its proc/loadavg from a process inside
 * it (lxcfs only samples containers that were read). Target: cgprocd at most half of lxcfs.
 *
 * Knobs (environment): CGPROC_BENCH_CGROUPS (500), CGPROC_BENCH_THREADS (20 per process),
 * CGPROC_BENCH_LXCFS_S (seconds of lxcfs sampling to average over, 30).
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MAX_CG 2000

static struct cgdirs *cgs;
static int ncgs;
static pid_t *procs;
static int nprocs;
static pid_t lxcfs_pid;
static char tmp[128], mnt[200];

static int env_int(const char *name, int def, int max)
{
	const char *v = getenv(name);
	int n = v ? atoi(v) : def;

	return n > 0 && n <= max ? n : def;
}

static void setup(void)
{
	harness_require_root();
	testcg_sweep();
	cgs = calloc(MAX_CG, sizeof(*cgs));
	procs = calloc(MAX_CG, sizeof(*procs));
	cr_assert(cgs && procs);
	snprintf(tmp, sizeof(tmp), "/tmp/cgprocd-bench-XXXXXX");
	cr_assert(mkdtemp(tmp));
	snprintf(mnt, sizeof(mnt), "%s/lxcfs", tmp);
}

static void teardown(void)
{
	char cmd[300];

	if (lxcfs_pid > 0) {
		/* lxcfs unmounts on SIGTERM; make sure anyway (lazy, by our own path only) */
		kill(lxcfs_pid, SIGTERM);
		for (int i = 0; i < 50 && waitpid(lxcfs_pid, NULL, WNOHANG) == 0; i++)
			usleep(100000);
		harness_kill(lxcfs_pid);
		lxcfs_pid = 0;
	}
	if (mnt[0])
		umount2(mnt, MNT_DETACH);
	for (int i = 0; i < nprocs; i++)
		harness_kill(procs[i]);
	nprocs = 0;
	for (int i = 0; i < ncgs; i++)
		testcg_destroy(&cgs[i]);
	ncgs = 0;
	if (strncmp(tmp, "/tmp/cgprocd-bench-", 19) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		(void)!system(cmd);
	}
	free(cgs);
	free(procs);
	cgs = NULL;
	procs = NULL;
}

static void *sleeper(void *arg)
{
	for (;;)
		pause();
	return arg;
}

/* A child in @cg with @nthreads threads in all (main included), all asleep. */
static pid_t spawn_sleepers(struct cgdirs *cg, int nthreads)
{
	int go[2], ready[2];
	pid_t pid;
	char c = 0;

	cr_assert_eq(pipe2(go, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(ready, O_CLOEXEC), 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		pthread_attr_t a;

		if (read(go[0], &c, 1) != 1)
			_exit(1);
		pthread_attr_init(&a);
		/* the harness has 64 KiB of static TLS, which every stack must hold */
		pthread_attr_setstacksize(&a, 256 * 1024);
		for (int i = 1; i < nthreads; i++) {
			pthread_t t;

			int e = pthread_create(&t, &a, sleeper, NULL);

			if (e != 0)
				_exit(e);
		}
		if (write(ready[1], &c, 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	close(go[0]);
	close(ready[1]);
	procs[nprocs++] = pid;
	cr_assert_eq(testcg_attach(cg, pid), 0);
	cr_assert_eq(write(go[1], &c, 1), 1);
	if (read(ready[0], &c, 1) != 1) {
		int status = 0;

		waitpid(pid, &status, 0);
		procs[--nprocs] = 0;
		cr_assert_fail("sleeper did not start its threads: status %#x", status);
	}
	close(go[1]);
	close(ready[0]);
	return pid;
}

/* Read <mnt>/proc/loadavg from a short-lived process inside @cg: lxcfs starts tracking it. */
static void lxcfs_track(struct cgdirs *cg)
{
	int go[2], status;
	pid_t pid;
	char c = 0;

	cr_assert_eq(pipe2(go, O_CLOEXEC), 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		char path[300], b[256];
		int fd;

		if (read(go[0], &c, 1) != 1)
			_exit(1);
		snprintf(path, sizeof(path), "%s/proc/loadavg", mnt);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || read(fd, b, sizeof(b)) <= 0)
			_exit(2);
		_exit(0);
	}
	close(go[0]);
	cr_assert_eq(testcg_attach(cg, pid), 0);
	cr_assert_eq(write(go[1], &c, 1), 1);
	close(go[1]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "reading loadavg via lxcfs: %#x",
		  status);
}

/* utime + stime of a process, clock ticks */
static unsigned long long proc_cpu_ticks(pid_t pid)
{
	char path[64], b[2048], *p;
	unsigned long long ut = 0, st = 0;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0);
	n = read(fd, b, sizeof(b) - 1);
	close(fd);
	cr_assert(n > 0);
	b[n] = 0;
	p = strrchr(b, ')');
	cr_assert(p);
	/* fields after ')': 3 state ... 14 utime 15 stime */
	cr_assert_eq(
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st),
		2);
	return ut + st;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int ull_cmp(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

static unsigned long long stat_field(const char *line, const char *key)
{
	const char *p = strstr(line, key);

	cr_assert(p, "no %s in \"%s\"", key, line);
	return strtoull(p + strlen(key), NULL, 10);
}

Test(bench, cgprocd_vs_lxcfs, .init = setup, .fini = teardown, .timeout = 600)
{
	int ncg = env_int("CGPROC_BENCH_CGROUPS", 500, MAX_CG);
	int nthr = env_int("CGPROC_BENCH_THREADS", 20, 1000);
	int window = env_int("CGPROC_BENCH_LXCFS_S", 30, 600);
	char rundir[200], pidfile[200], log[200];
	char *argv[] = {(char *)build_path("tools/cgprocd"),
			"--passes",
			"6",
			"--interval",
			"1",
			"--stats",
			"--rundir",
			rundir,
			NULL};
	unsigned long long best_cpu = ~0ULL, cold_cpu = 0, threads = 0, cgroups = 0;
	unsigned long long t0, t1;
	double cgprocd_ms, lxcfs_ms, w0, w1;
	long hz = sysconf(_SC_CLK_TCK);

	harness_require(access("/usr/bin/lxcfs", X_OK) == 0, "lxcfs is not installed");
	snprintf(rundir, sizeof(rundir), "%s/run", tmp);
	for (ncgs = 0; ncgs < ncg; ncgs++)
		cr_assert_eq(testcg_create(&cgs[ncgs]), 0, "cgroup %d", ncgs);
	for (int i = 0; i < ncg; i++)
		spawn_sleepers(&cgs[i], nthr);

	/* cgprocd: a cold pass (fresh process: every file opened), then steady passes that reuse
	 * the kept fds, as a running daemon does; the median steady pass is the figure */
	{
		char *out = NULL, *err = NULL, *line;
		unsigned long long steady[16];
		int st = harness_run(argv, NULL, &out, &err), n = 0;

		cr_assert(st == 0, "cgprocd --passes: %#x %s", st, err ? err : "");
		for (line = strstr(err, "cgprocd-stats "); line;
		     line = strstr(line + 1, "cgprocd-stats ")) {
			unsigned long long cpu = stat_field(line, " cpu_us=");

			if (stat_field(line, " pass=") == 1)
				cold_cpu = cpu;
			else if (n < 16)
				steady[n++] = cpu;
			threads = stat_field(line, " threads=");
			cgroups = stat_field(line, " cgroups=");
		}
		cr_assert(n >= 3, "too few passes in \"%s\"", err);
		qsort(steady, (size_t)n, sizeof(steady[0]), ull_cmp);
		best_cpu = steady[n / 2];
		free(out);
		free(err);
	}
	cr_assert(threads >= (unsigned long long)ncg * nthr, "cgprocd saw %llu threads", threads);
	cgprocd_ms = best_cpu / 1000.0;

	/* lxcfs -l on a private mountpoint, all containers tracked */
	cr_assert_eq(mkdir(mnt, 0755), 0);
	snprintf(pidfile, sizeof(pidfile), "%s/lxcfs.pid", tmp);
	snprintf(log, sizeof(log), "%s/lxcfs.log", tmp);
	lxcfs_pid = fork();
	cr_assert(lxcfs_pid >= 0);
	if (lxcfs_pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl("/usr/bin/lxcfs", "lxcfs", "-f", "-l", "-p", pidfile, mnt, (char *)NULL);
		_exit(127);
	}
	{
		char probe[300];
		struct stat st;
		double ts = now_s();

		snprintf(probe, sizeof(probe), "%s/proc/loadavg", mnt);
		while (stat(probe, &st) < 0) {
			cr_assert(now_s() - ts < 10, "lxcfs did not mount %s", mnt);
			cr_assert_eq(waitpid(lxcfs_pid, NULL, WNOHANG), 0, "lxcfs exited");
			usleep(50000);
		}
	}
	for (int i = 0; i < ncg; i++)
		lxcfs_track(&cgs[i]);
	sleep(6); /* let one full sampling pass over every tracked container go by */
	t0 = proc_cpu_ticks(lxcfs_pid);
	w0 = now_s();
	sleep((unsigned)window);
	t1 = proc_cpu_ticks(lxcfs_pid);
	w1 = now_s();
	/* lxcfs sleeps 5 s minus the pass's CPU time between passes: ~one pass per 5 s */
	lxcfs_ms = (double)(t1 - t0) * 1000.0 / hz / ((w1 - w0) / 5.0);

	cr_log_info("tree: %d cgroups x %d threads; cgprocd visited %llu cgroup dirs, %llu threads",
		    ncg, nthr, cgroups, threads);
	cr_log_info("cgprocd: %.1f ms CPU per pass (median steady pass; cold first pass %.1f ms), "
		    "%.2f ms per 1000 threads",
		    cgprocd_ms, cold_cpu / 1000.0, cgprocd_ms * 1000.0 / threads);
	cr_log_info("lxcfs -l: %.1f ms CPU per pass (%llu ticks over %.1f s), %.2f ms per 1000 "
		    "threads",
		    lxcfs_ms, t1 - t0, w1 - w0, lxcfs_ms * 1000.0 / ((double)ncg * nthr));
	/* TAP comment lines on stdout (meson shows them) and the same in the build tree */
	{
		char line[512], path[300];
		FILE *f;

		snprintf(line, sizeof(line),
			 "bench-cgprocd: cgroups=%d threads=%llu cgprocd_ms_per_pass=%.2f "
			 "cgprocd_cold_ms=%.2f cgprocd_ms_per_kthread=%.3f lxcfs_ms_per_pass=%.2f "
			 "lxcfs_ms_per_kthread=%.3f ratio=%.3f",
			 ncg, threads, cgprocd_ms, cold_cpu / 1000.0, cgprocd_ms * 1000.0 / threads,
			 lxcfs_ms, lxcfs_ms * 1000.0 / ((double)ncg * nthr),
			 lxcfs_ms > 0 ? cgprocd_ms / lxcfs_ms : 0);
		printf("# %s\n", line);
		fflush(stdout);
		snprintf(path, sizeof(path), "%s", build_path("bench-cgprocd.txt"));
		f = fopen(path, "we");
		if (f) {
			fprintf(f, "%s\n", line);
			fclose(f);
		}
	}
	cr_assert(lxcfs_ms > 0, "lxcfs used no CPU: was it sampling?");
	cr_assert(cgprocd_ms <= lxcfs_ms / 2, "cgprocd %.1f ms per pass vs lxcfs %.1f ms",
		  cgprocd_ms, lxcfs_ms);
}
