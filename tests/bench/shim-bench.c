/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Cost of the preload shim per call, native and shim interleaved in one process. Run it with
 * libcgproc.so preloaded, inside the cgroup to measure:
 *
 *   LD_PRELOAD=build/preload/libcgproc.so build/tests/bench/shim-bench [ROUNDS [BATCH]]
 *
 * "native" calls libc's own functions (looked up in libc.so.6's handle, so the shim's
 * interposers are bypassed); "shim" calls the global names, which the shim interposes. Each
 * round times one batch of native calls and then one batch of shim calls; the minimum per-call
 * time over all rounds is printed for each (a loaded machine only adds time). Output lines:
 *
 *   NAME native N.N us shim N.N us ratio R.RR [served|passthrough]
 *
 * "served" says the shim's answer differed from the native one (the machine is smaller than the
 * host), so the shim really rendered. Exits 1 when the shim is not loaded. Asserts nothing about
 * speed: the numbers depend on the machine and its load.
 */
#include <stdbool.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

static int (*native_open)(const char *, int, ...);
static ssize_t (*native_read)(int, void *, size_t);
static int (*native_close)(int);
static long (*native_sysconf)(int);
static FILE *(*native_fopen)(const char *, const char *);
static int (*native_get_nprocs)(void);

static char buf[1 << 20];

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* open + read to EOF + close, as cat does; returns the length read. */
static ssize_t slurp(const char *path, bool native)
{
	ssize_t n, len = 0;
	int fd;

	fd = native ? native_open(path, O_RDONLY | O_CLOEXEC) : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while ((n = native ? native_read(fd, buf + len, sizeof(buf) - (size_t)len)
			   : read(fd, buf + len, sizeof(buf) - (size_t)len)) > 0)
		len += n;
	native ? native_close(fd) : close(fd);
	return len;
}

/* fopen + fread to EOF + fclose (stdio readers: the JVM, many C programs). */
static ssize_t fslurp(const char *path, bool native)
{
	FILE *f = native ? native_fopen(path, "re") : fopen(path, "re");
	size_t n, len = 0;

	if (!f)
		return -1;
	while ((n = fread(buf + len, 1, sizeof(buf) - len, f)) > 0)
		len += n;
	fclose(f);
	return (ssize_t)len;
}

enum kind {
	FILE_READ,
	FILE_FOPEN,
	SYSINFO,
	SYSCONF_NPROC,
	GET_NPROCS
};

struct item {
	const char *name;
	enum kind kind;
	const char *path;
};

static const struct item items[] = {
	{"meminfo", FILE_READ, "/proc/meminfo"},
	{"stat", FILE_READ, "/proc/stat"},
	{"cpuinfo", FILE_READ, "/proc/cpuinfo"},
	{"uptime", FILE_READ, "/proc/uptime"},
	{"loadavg", FILE_READ, "/proc/loadavg"},
	{"swaps", FILE_READ, "/proc/swaps"},
	{"diskstats", FILE_READ, "/proc/diskstats"},
	{"pressure-memory", FILE_READ, "/proc/pressure/memory"},
	{"cpu-online", FILE_READ, "/sys/devices/system/cpu/online"},
	{"self-stat", FILE_READ, "/proc/self/stat"},
	{"fopen-meminfo", FILE_FOPEN, "/proc/meminfo"},
	{"fopen-cpu-online", FILE_FOPEN, "/sys/devices/system/cpu/online"},
	{"nonvirtual-status", FILE_READ, "/proc/self/status"},
	{"nonvirtual-cpu1-online", FILE_READ, "/sys/devices/system/cpu/cpu1/online"},
	{"nonvirtual-etc", FILE_READ, "/etc/hostname"},
	{"sysinfo", SYSINFO, NULL},
	{"sysconf-nproc", SYSCONF_NPROC, NULL},
	{"get_nprocs", GET_NPROCS, NULL},
};

static volatile long sink;

static void call(const struct item *it, bool native)
{
	struct sysinfo si;

	switch (it->kind) {
	case FILE_READ:
		sink += slurp(it->path, native);
		break;
	case FILE_FOPEN:
		sink += fslurp(it->path, native);
		break;
	case SYSINFO:
		if (native)
			syscall(SYS_sysinfo, &si);
		else
			sysinfo(&si);
		sink += (long)si.totalram;
		break;
	case SYSCONF_NPROC:
		sink += native ? native_sysconf(_SC_NPROCESSORS_ONLN)
			       : sysconf(_SC_NPROCESSORS_ONLN);
		break;
	case GET_NPROCS:
		sink += native ? native_get_nprocs() : get_nprocs();
		break;
	}
}

/* Whether the shim's answer differs from the native one. */
static bool served(const struct item *it)
{
	static char a[1 << 16];
	struct sysinfo s1, s2;
	ssize_t na, nb;

	switch (it->kind) {
	case FILE_FOPEN:
	case FILE_READ:
		na = slurp(it->path, true);
		if (na < 0)
			return false;
		memcpy(a, buf, (size_t)na < sizeof(a) ? (size_t)na : sizeof(a));
		nb = slurp(it->path, false);
		return na != nb || memcmp(a, buf, (size_t)na < sizeof(a) ? (size_t)na : sizeof(a));
	case SYSINFO:
		syscall(SYS_sysinfo, &s1);
		sysinfo(&s2);
		return s1.totalram * s1.mem_unit != s2.totalram * s2.mem_unit;
	case SYSCONF_NPROC:
		return native_sysconf(_SC_NPROCESSORS_ONLN) != sysconf(_SC_NPROCESSORS_ONLN);
	case GET_NPROCS:
		return native_get_nprocs() != get_nprocs();
	}
	return false;
}

static double batch(const struct item *it, bool native, int n)
{
	double t0 = now_us();

	for (int i = 0; i < n; i++)
		call(it, native);
	return (now_us() - t0) / n;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 30, n = argc > 2 ? atoi(argv[2]) : 200;
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);

	if (!libc || rounds <= 0 || n <= 0) {
		fprintf(stderr, "usage: LD_PRELOAD=libcgproc.so shim-bench [ROUNDS [BATCH]]\n");
		return 2;
	}
	native_open = (int (*)(const char *, int, ...))dlsym(libc, "open");
	native_read = (ssize_t(*)(int, void *, size_t))dlsym(libc, "read");
	native_close = (int (*)(int))dlsym(libc, "close");
	native_sysconf = (long (*)(int))dlsym(libc, "sysconf");
	native_fopen = (FILE * (*)(const char *, const char *)) dlsym(libc, "fopen");
	native_get_nprocs = (int (*)(void))dlsym(libc, "get_nprocs");
	if (!native_open || !native_read || !native_close || !native_sysconf || !native_fopen ||
	    !native_get_nprocs)
		return 2;
	if ((void *)native_open == (void *)open) {
		fprintf(stderr, "shim-bench: libcgproc.so is not preloaded\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		const struct item *it = &items[i];
		double best_n = 1e30, best_s = 1e30;

		if ((it->kind == FILE_READ || it->kind == FILE_FOPEN) &&
		    access(it->path, R_OK) != 0)
			continue;
		call(it, true); /* warm up: the shim's caches, the page cache */
		call(it, false);
		for (int r = 0; r < rounds; r++) {
			double t = batch(it, true, n);

			best_n = t < best_n ? t : best_n;
			t = batch(it, false, n);
			best_s = t < best_s ? t : best_s;
		}
		printf("%-24s native %7.2f us shim %7.2f us ratio %5.2f %s\n", it->name, best_n,
		       best_s, best_s / best_n, served(it) ? "served" : "passthrough");
		fflush(stdout);
	}
	return 0;
}
