/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runs under the shim (glibc's libcgproc.so or, built with musl-gcc, libcgproc-musl.so) in a
 * cgroup whose only CPU is 0, on a host with more: what glob(3), nftw(3), ftw(3) and relative
 * opens of /sys/devices/system/cpu show. The host's entries are counted with getdents64(2),
 * which no shim sees. Prints "ok ..."/"FAIL ..." lines and "cpuwalk: N failures"; exits 0 only
 * when every check passed. Portable C: the same source for both libcs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CPUDIR "/sys/devices/system/cpu"

static int failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		bool ok_ = (cond);                                                                 \
		printf(ok_ ? "ok   " : "FAIL ");                                                   \
		failures += !ok_;                                                                  \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
	} while (0)

static bool cpu_named(const char *name)
{
	return strncmp(name, "cpu", 3) == 0 && name[3] >= '0' && name[3] <= '9';
}

/* The host's cpuN entries: getdents64 straight from the kernel. */
static int host_cpus(void)
{
	char buf[16384];
	int fd = (int)syscall(SYS_openat, AT_FDCWD, CPUDIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long n;
	int count = 0;

	if (fd < 0)
		return -1;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			unsigned short reclen = *(unsigned short *)(buf + off + 16);

			count += cpu_named(buf + off + 19);
			off += reclen;
		}
	}
	close(fd);
	return count;
}

/* Paths naming a cpuN other than cpu0 ("/cpu1", "/cpu12/..."), and cpu0's. */
static bool names_other_cpu(const char *path)
{
	const char *p = path;

	while ((p = strstr(p, "cpu")) != NULL) {
		if ((p == path || p[-1] == '/') && p[3] >= '0' && p[3] <= '9' &&
		    !(p[3] == '0' && (p[4] == '/' || p[4] == '\0')))
			return true;
		p += 3;
	}
	return false;
}

static bool names_cpu0(const char *path)
{
	return strstr(path, "/cpu0/") || strcmp(path + strlen(path) - 5, "/cpu0") == 0;
}

/* GLOB_DOOFFS, then GLOB_APPEND: the offsets stay NULL, only the new paths are filtered. */
static void check_glob_offsets(void)
{
	glob_t g;
	int r, others = 0;

	memset(&g, 0, sizeof(g));
	g.gl_offs = 2;
	r = glob(CPUDIR "/kernel_max", GLOB_DOOFFS, NULL, &g);
	CHECK(r == 0 && g.gl_pathc == 1, "glob kernel_max with GLOB_DOOFFS (r %d)", r);
	r = glob(CPUDIR "/cpu*/topology", GLOB_DOOFFS | GLOB_APPEND, NULL, &g);
	for (size_t i = 0; r == 0 && i < g.gl_pathc; i++)
		others += names_other_cpu(g.gl_pathv[g.gl_offs + i]);
	CHECK(r == 0 && g.gl_pathv[0] == NULL && g.gl_pathv[1] == NULL && g.gl_pathc == 2 &&
		      strcmp(g.gl_pathv[2], CPUDIR "/kernel_max") == 0 &&
		      strcmp(g.gl_pathv[3], CPUDIR "/cpu0/topology") == 0 &&
		      g.gl_pathv[4] == NULL && others == 0,
	      "glob append cpu*/topology: offsets kept, kernel_max then cpu0's only (r %d, %zu)", r,
	      g.gl_pathc);
	globfree(&g);
}

static void check_glob(void)
{
	glob_t g;
	int r, others = 0;

	memset(&g, 0, sizeof(g));
	r = glob(CPUDIR "/cpu[0-9]*", 0, NULL, &g);
	CHECK(r == 0 && g.gl_pathc == 1 && strcmp(g.gl_pathv[0], CPUDIR "/cpu0") == 0 &&
		      g.gl_pathv[1] == NULL,
	      "glob cpu[0-9]*: only cpu0 (r %d, %zu paths, first %s)", r, g.gl_pathc,
	      g.gl_pathc ? g.gl_pathv[0] : "-");
	if (r == 0)
		globfree(&g);

	/* Not under the sanitizer run: libasan's glob interceptor reads gl_pathv from index 0,
	 * ignoring gl_offs, and crashes on the NULL offsets with or without the shim
	 * (llvm-project issue 124484). */
	if (dlsym(RTLD_DEFAULT, "__asan_init"))
		printf("skip glob with GLOB_DOOFFS: libasan's glob interceptor ignores gl_offs\n");
	else
		check_glob_offsets();

	memset(&g, 0, sizeof(g));
	r = glob(CPUDIR "/cpu1", 0, NULL, &g);
	CHECK(r == GLOB_NOMATCH, "glob of a hidden cpu1: GLOB_NOMATCH (r %d)", r);
	if (r == 0)
		globfree(&g);

	/* relative to the working directory, with GLOB_MARK */
	if (chdir(CPUDIR) == 0) {
		bool cpu0 = false;

		memset(&g, 0, sizeof(g));
		others = 0;
		r = glob("cpu*", GLOB_MARK, NULL, &g);
		for (size_t i = 0; r == 0 && i < g.gl_pathc; i++) {
			others += names_other_cpu(g.gl_pathv[i]);
			cpu0 |= strcmp(g.gl_pathv[i], "cpu0/") == 0;
		}
		CHECK(r == 0 && cpu0 && others == 0, "relative glob cpu*: cpu0/ and no other cpuN");
		if (r == 0)
			globfree(&g);
		if (chdir("/") != 0)
			CHECK(0, "chdir /");
	}
}

static int seen_cpu0, seen_other, calls, nested_ok = -1;

static int count_nftw(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st, (void)type, (void)f;
	calls++;
	seen_cpu0 += names_cpu0(path);
	seen_other += names_other_cpu(path);
	return 0;
}

static int count_ftw(const char *path, const struct stat *st, int type)
{
	return count_nftw(path, st, type, NULL);
}

static int outer_nftw(const char *path, const struct stat *st, int type, struct FTW *f)
{
	/* a walk inside a walk's callback: both filtered, the outer one goes on after it */
	if (nested_ok < 0) {
		int c0 = seen_cpu0, co = seen_other;

		nested_ok = nftw(CPUDIR "/cpu0/topology", count_nftw, 4, FTW_PHYS) == 0 &&
			    seen_cpu0 > c0 && seen_other == co;
	}
	return count_nftw(path, st, type, f);
}

/* The caller's own non-zero return stops the walk and is what nftw returns. */
static int stop_at_3(const char *path, const struct stat *st, int type, struct FTW *f)
{
	return count_nftw(path, st, type, f) == 0 && calls == 3 ? 42 : 0;
}

static void walk_reset(void)
{
	seen_cpu0 = seen_other = calls = 0;
}

static void check_walks(void)
{
	static const struct {
		const char *name;
		int flags;
	} modes[] = {
		{"nftw FTW_PHYS", FTW_PHYS},
		{"nftw FTW_PHYS|FTW_DEPTH", FTW_PHYS | FTW_DEPTH},
#ifdef FTW_ACTIONRETVAL
		{"nftw FTW_PHYS|FTW_ACTIONRETVAL", FTW_PHYS | FTW_ACTIONRETVAL},
#endif
	};
	int r;

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		walk_reset();
		r = nftw(CPUDIR, count_nftw, 8, modes[i].flags);
		CHECK(r == 0 && seen_cpu0 > 0 && seen_other == 0,
		      "%s: cpu0's files, no other cpuN (r %d, %d cpu0, %d other, %d calls)",
		      modes[i].name, r, seen_cpu0, seen_other, calls);
	}
	walk_reset();
	r = ftw(CPUDIR, count_ftw, 8);
	CHECK(r == 0 && seen_cpu0 > 0 && seen_other == 0, "ftw: cpu0's, no other (r %d, %d, %d)", r,
	      seen_cpu0, seen_other);
	walk_reset();
	if (chdir("/sys/devices/system") == 0) {
		r = nftw("cpu", count_nftw, 8, FTW_PHYS);
		CHECK(r == 0 && seen_cpu0 > 0 && seen_other == 0,
		      "relative nftw: cpu0's, no other (%d, %d)", seen_cpu0, seen_other);
		if (chdir("/") != 0)
			CHECK(0, "chdir /");
	}
	walk_reset();
	errno = 0;
	r = nftw(CPUDIR "/cpu1", count_nftw, 8, FTW_PHYS);
	CHECK(r == -1 && errno == ENOENT && calls == 0, "nftw from hidden cpu1: ENOENT (%d, %d)", r,
	      errno);
	walk_reset();
	r = nftw(CPUDIR, outer_nftw, 8, FTW_PHYS);
	CHECK(r == 0 && nested_ok == 1 && seen_other == 0, "nested nftw (r %d, nested %d)", r,
	      nested_ok);
	walk_reset();
	r = nftw(CPUDIR, stop_at_3, 8, FTW_PHYS);
	CHECK(r == 42 && calls == 3, "the callback's 42 stops the walk (r %d after %d calls)", r,
	      calls);
	/* a walk elsewhere is untouched: the caller's return value stops it */
	walk_reset();
	r = nftw("/proc/self/fdinfo", count_nftw, 4, FTW_PHYS);
	CHECK(r == 0 && calls > 0, "nftw elsewhere walks (%d calls)", calls);
}

static void check_read(int dfd, const char *rel, const char *want)
{
	char buf[256];
	int fd = openat(dfd, rel, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	buf[n > 0 ? n : 0] = '\0';
	CHECK(n > 0 && strcmp(buf, want) == 0, "openat(dir, %s): \"%.*s\"", rel,
	      (int)strcspn(buf, "\n"), buf);
	if (fd >= 0)
		close(fd);
}

static void check_gone(int dfd, const char *rel)
{
	int fd;

	errno = 0;
	fd = openat(dfd, rel, O_RDONLY);
	CHECK(fd < 0 && errno == ENOENT, "openat(dir, %s): ENOENT (fd %d errno %d)", rel, fd,
	      errno);
	if (fd >= 0)
		close(fd);
}

static void check_relative_opens(void)
{
	int dfd = open(CPUDIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC), c1, fd;
	FILE *f;

	if (dfd < 0) {
		CHECK(0, "open " CPUDIR);
		return;
	}
	check_gone(dfd, "cpu1/online");
	check_gone(dfd, "cpu1/topology/core_id");
	check_read(dfd, "cpu0/topology/package_cpus_list", "0\n");
	fd = openat(dfd, "kernel_max", O_RDONLY);
	CHECK(fd >= 0, "openat(dir, kernel_max): the host's");
	if (fd >= 0)
		close(fd);
	c1 = openat(dfd, "cpu1", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c1 >= 0) {
		check_gone(c1, "online");
		check_gone(c1, "topology/thread_siblings_list");
		close(c1);
	}
	c1 = openat(dfd, "cpu0", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c1 >= 0) {
		check_read(c1, "topology/package_cpus_list", "0\n");
		close(c1);
	}
	if (fchdir(dfd) == 0) {
		errno = 0;
		f = fopen("cpu1/online", "r");
		CHECK(!f && errno == ENOENT, "fopen(cpu1/online) in the directory: ENOENT (%d)",
		      errno);
		if (f)
			fclose(f);
		check_read(AT_FDCWD, "cpu0/topology/package_cpus_list", "0\n");
		if (chdir("/") != 0)
			CHECK(0, "chdir /");
	}
	errno = 0;
	f = fopen(CPUDIR "/cpu1/online", "r");
	CHECK(!f && errno == ENOENT, "fopen(" CPUDIR "/cpu1/online): ENOENT (%d)", errno);
	if (f)
		fclose(f);
	close(dfd);
}

int main(void)
{
	int host = host_cpus();

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (host < 2) {
		printf("FAIL the host has %d cpuN entries, the checks need 2\n", host);
		return 2;
	}
	check_glob();
	check_walks();
	check_relative_opens();
	printf("cpuwalk: %d failures\n", failures);
	return failures ? 1 : 0;
}
