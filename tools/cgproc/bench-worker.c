/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The bench worker: a hidden mode of the cgproc binary (`cgproc bench --worker`), exec'd by the
 * bench inside the limited cgroup, with or without LD_PRELOAD=libcgproc.so. It runs the timed
 * loops and answers on a pipe; it never reads a virtual file other than the one it was told to,
 * so a worker with the shim and one without do exactly the same calls.
 *
 * The loops call open/read/close/sysconf/... through libc so that the shim, when preloaded,
 * interposes them. bench_open_loop() is not inlined and has a stable symbol name: `cgproc bench
 * --callgrind` counts instructions inside it only (--toggle-collect).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "model/macro.h"
#include "source/source.h"

#define WARMUP_MAX 20

static char iobuf[64 * 1024];

int64_t bench_open_loop(const char *path, long n);
int64_t bench_open_warm(const char *path, long n);

static inline int open_read_close(const char *path)
{
	ssize_t r;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = read(fd, iobuf, sizeof(iobuf));
	e = errno;
	close(fd);
	return r < 0 ? -e : 0;
}

/* A directory's row (BENCH_LIST_ROW): opendir, readdir to the end, closedir, as ls does. */
static volatile size_t list_sink;

static inline int list_dir(const char *path)
{
	struct dirent *e;
	DIR *d = opendir(path);
	size_t n = 0;

	if (!d)
		return -errno;
	errno = 0;
	while ((e = readdir(d)))
		n += strlen(e->d_name);
	list_sink = n;
	if (errno) {
		int err = errno;

		closedir(d);
		return -err;
	}
	closedir(d);
	return 0;
}

/* A directory is listed, a file opened, read and closed, @n times. Inlined into the two symbols
 * below, so that callgrind can count the measured loop and not the warm-up. */
static inline __attribute__((always_inline)) int64_t open_loop(const char *path, long n)
{
	bool dir = bench_is_dir(path);

	for (long i = 0; i < n; i++) {
		int r = dir ? list_dir(path) : open_read_close(path);

		if (r < 0)
			return r;
	}
	return 0;
}

/* The measured loop. */
__attribute__((noinline, used)) int64_t bench_open_loop(const char *path, long n)
{
	return open_loop(path, n);
}

/* Same work, different symbol: the warm-up that callgrind must not count. */
__attribute__((noinline, used)) int64_t bench_open_warm(const char *path, long n)
{
	return open_loop(path, n);
}

static long warmup_count(long n)
{
	return n < WARMUP_MAX ? n : WARMUP_MAX;
}

static int64_t time_open(const char *path, long n)
{
	int64_t t0, r;

	r = bench_open_warm(path, warmup_count(n));
	if (r < 0)
		return r;
	t0 = src_mono_ns();
	r = bench_open_loop(path, n);
	if (r < 0)
		return r;
	return src_mono_ns() - t0;
}

/* A sink the compiler cannot prove unused, so the libc calls stay in the loop. */
static volatile long sink;

static int64_t time_libc(const char *what, long n)
{
	int64_t t0;
	struct sysinfo si;
	int which;

	if (strcmp(what, "sysconf") == 0)
		which = 0;
	else if (strcmp(what, "sysinfo") == 0)
		which = 1;
	else if (strcmp(what, "nprocs") == 0)
		which = 2;
	else
		return -EINVAL;
	for (int pass = 0; pass < 2; pass++) {
		long count = pass == 0 ? warmup_count(n) : n;

		t0 = src_mono_ns();
		for (long i = 0; i < count; i++) {
			switch (which) {
			case 0:
				sink = sysconf(_SC_NPROCESSORS_ONLN);
				break;
			case 1:
				if (sysinfo(&si) < 0)
					return -errno;
				sink = (long)si.totalram;
				break;
			default:
				sink = get_nprocs();
				break;
			}
		}
	}
	return src_mono_ns() - t0;
}

/* One fork + execve("/bin/true") + wait with @envp; ns, or -errno. */
static int64_t exec_once(char *const envp[])
{
	char *argv[] = {"true", NULL};
	int64_t t0 = src_mono_ns();
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execve("/bin/true", argv, envp);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -ECHILD;
	return src_mono_ns() - t0;
}

/* N x fork + execve("/bin/true") + wait, with LD_PRELOAD=@lib or no preload at all. */
static int64_t time_exec(const char *lib, long n)
{
	char preload[4200];
	char *envp[3] = {"PATH=/usr/bin:/bin", NULL, NULL};
	int64_t t0 = 0;

	if (strcmp(lib, "-") != 0) {
		snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", lib);
		envp[1] = preload;
	}
	for (int pass = 0; pass < 2; pass++) {
		long count = pass == 0 ? (n < 3 ? n : 3) : n;

		t0 = src_mono_ns();
		for (long i = 0; i < count; i++) {
			int64_t r = exec_once(envp);

			if (r < 0)
				return r;
		}
	}
	return src_mono_ns() - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * "execpair LIB_A,LIB_B N": N pairs of back-to-back execs of /bin/true with LD_PRELOAD=LIB_A and
 * =LIB_B, the order alternating (A B, B A, A B, ...: blocks of A B B A); per block the geometric
 * mean of its two ratios t(B)/t(A), which cancels what the position in a pair does (the second
 * exec of a pair runs right after the other library's, the first after its own); the median
 * over blocks, times 1e6. The execs of a block run within a few milliseconds: a neighbour's load,
 * the CPU's clock and the page cache are nearly the same for all four, where separate blocks of
 * execs see the noise of a busy 2-CPU VM (+-10-16% between runs) as a difference.
 */
static int64_t time_exec_pair(char *libs, long n)
{
	char pa[4200], pb[4200];
	char *envp_a[3] = {"PATH=/usr/bin:/bin", pa, NULL};
	char *envp_b[3] = {"PATH=/usr/bin:/bin", pb, NULL};
	char *comma = strchr(libs, ',');
	long blocks = n / 2;
	_cleanup_free_ double *ratio = NULL;
	double prev = 0;
	int64_t r = 0;

	if (!comma || blocks < 1)
		return -EINVAL;
	*comma = 0;
	snprintf(pa, sizeof(pa), "LD_PRELOAD=%s", libs);
	snprintf(pb, sizeof(pb), "LD_PRELOAD=%s", comma + 1);
	ratio = calloc((size_t)blocks, sizeof(double));
	if (!ratio)
		return -ENOMEM;
	/* one untimed pair: the libraries in the page cache, the first fork's faults */
	if ((r = exec_once(envp_a)) < 0 || (r = exec_once(envp_b)) < 0)
		return r;
	for (long i = 0; i < 2 * blocks; i++) {
		int64_t ta, tb;
		double q;

		if (i & 1) {
			tb = exec_once(envp_b);
			ta = tb < 0 ? tb : exec_once(envp_a);
		} else {
			ta = exec_once(envp_a);
			tb = ta < 0 ? ta : exec_once(envp_b);
		}
		if (ta < 0 || tb < 0)
			return ta < 0 ? ta : tb;
		q = (double)(tb > 0 ? tb : 1) / (double)(ta > 0 ? ta : 1);
		if (i & 1)
			ratio[i / 2] = sqrt(prev * q);
		prev = q;
	}
	qsort(ratio, (size_t)blocks, sizeof(double), cmp_double);
	return (int64_t)((blocks & 1 ? ratio[blocks / 2]
				     : (ratio[blocks / 2 - 1] + ratio[blocks / 2]) / 2) *
			 1e6);
}

static void *sleeper(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char c;

	/* Blocks until the worker exits (nobody ever writes to this pipe). */
	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

static int64_t start_threads(long k)
{
	static int block[2] = {-1, -1};
	pthread_attr_t attr;
	int r = 0;

	if (block[0] < 0 && pipe2(block, O_CLOEXEC) < 0)
		return -errno;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (long i = 0; i < k; i++) {
		pthread_t t;

		r = pthread_create(&t, &attr, sleeper, (void *)(intptr_t)block[0]);
		if (r) {
			r = -r;
			break;
		}
	}
	pthread_attr_destroy(&attr);
	return r;
}

static int64_t run_command(char *line)
{
	char *save = NULL, *verb, *arg, *count;
	long n;

	verb = strtok_r(line, " \n", &save);
	if (!verb)
		return -EINVAL;
	if (strcmp(verb, "quit") == 0)
		exit(0);
	arg = strtok_r(NULL, " \n", &save);
	count = strtok_r(NULL, " \n", &save);
	if (!arg)
		return -EINVAL;
	if (!count) { /* one-argument verbs: sysconf N, threads K */
		count = arg;
		arg = NULL;
	}
	n = strtol(count, NULL, 10);
	if (n <= 0)
		return -EINVAL;
	if (strcmp(verb, "open") == 0 && arg)
		return time_open(arg, n);
	if (strcmp(verb, "exec") == 0 && arg)
		return time_exec(arg, n);
	if (strcmp(verb, "execpair") == 0 && arg)
		return time_exec_pair(arg, n);
	if (strcmp(verb, "threads") == 0 && !arg)
		return start_threads(n);
	if (!arg)
		return time_libc(verb, n);
	return -EINVAL;
}

/* `--worker --once N PATH...`: one warm-up and one timed loop per path, ns per line. */
static int run_once(int argc, char **argv)
{
	long n;

	if (argc < 4)
		return 2;
	n = strtol(argv[2], NULL, 10);
	if (n <= 0)
		return 2;
	for (int i = 3; i < argc; i++)
		printf("%lld\n", (long long)time_open(argv[i], n));
	return 0;
}

int bench_worker_main(int argc, char **argv)
{
	char line[4352];
	FILE *in;

	if (argc >= 2 && strcmp(argv[1], "--once") == 0)
		return run_once(argc, argv);
	in = fdopen(0, "r");
	if (!in)
		return 1;
	while (fgets(line, sizeof(line), in)) {
		char out[32];
		int len = snprintf(out, sizeof(out), "%lld\n", (long long)run_command(line));

		if (write(1, out, (size_t)len) != len)
			return 1;
	}
	return 0;
}
