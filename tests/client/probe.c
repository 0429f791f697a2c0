/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgproc-probe: a small program that makes the calls the shim interposes and reports what it saw,
 * for the fault-injection, security and valgrind tests. Test code, not product code.
 *
 * Each argument is one action, done in order:
 *   cat:PATH      open(O_RDONLY) with errno set to a sentinel; read to EOF; close. Prints
 *                 "== cat PATH fd=N errno=E" (E is the errno after the call: the sentinel 4242
 *                 when a successful open left it alone) and then the content.
 *   rewind:PATH   open, read, lseek(0), read again, pread at 0, fopen + fgets; prints the
 *                 second read's content and whether pread and fgets agreed with it.
 *   sysinfo       sysinfo(): "== sysinfo rc=R errno=E totalram=B freeram=B procs=N mem_unit=U"
 *   sysconf       "== sysconf onln=N conf=N phys=N avphys=N nprocs=N nprocs_conf=N errno=E"
 *   lastfd:PATH   RLIMIT_NOFILE lowered so that exactly one descriptor is free, then as cat.
 *   nofd:PATH     RLIMIT_NOFILE lowered so that no descriptor is free, then as cat.
 *   wait          read one byte from fd 0 (the test's go signal) after printing "== waiting".
 *   comm:NAME     prctl(PR_SET_NAME, NAME) ("\n" in NAME may be written as "%n").
 *   fds           "== fds N": number of open descriptors below 1000 (leak check).
 *   repeat:N:PATH read PATH N times; "== repeat PATH n=N distinct=D first=V last=V" with the
 *                 MemTotal (or, without one, the line count) of each read.
 *   env:NAME      "== env NAME=VALUE" (getenv, for the AT_SECURE test).
 *   secure        "== secure at_secure=N euid=N uid=N".
 *   envmap:FILE:PATH  map FILE (MAP_PRIVATE) over the pages of this process's environment
 *                 strings, then read PATH as cat does and exit: the environment is then read
 *                 from FILE (for the test of a reader of /proc/<pid>/environ; FILE may hang).
 *   early         (cgproc-probe-early only) what sysconf() returned in a linked library's
 * constructor, which runs before the preloaded shim's: "== early NAME=value/errno ..." (early.c).
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#ifdef PROBE_EARLY
#include "early.h"
#endif

#define SENTINEL 4242

static char content[1 << 20];

static ssize_t read_all(int fd, char *buf, size_t size)
{
	size_t len = 0;

	while (len < size - 1) {
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	return (ssize_t)len;
}

static void do_cat(const char *label, const char *path)
{
	int fd, e;

	errno = SENTINEL;
	fd = open(path, O_RDONLY);
	e = errno;
	printf("== %s %s fd=%d errno=%d\n", label, path, fd, e);
	if (fd < 0)
		return;
	if (read_all(fd, content, sizeof(content)) < 0)
		printf("== read-error errno=%d\n", errno);
	else
		fputs(content, stdout);
	close(fd);
}

static void do_rewind(const char *path)
{
	static char first[1 << 20], again[1 << 20];
	char line[4096];
	ssize_t n1, n2, n3;
	off_t off;
	FILE *f;
	int fd, e;

	errno = SENTINEL;
	fd = open(path, O_RDONLY);
	e = errno;
	printf("== rewind %s fd=%d errno=%d\n", path, fd, e);
	if (fd < 0)
		return;
	n1 = read_all(fd, first, sizeof(first));
	errno = SENTINEL;
	off = lseek(fd, 0, SEEK_SET);
	e = errno;
	printf("== lseek=%lld errno=%d\n", (long long)off, e);
	n2 = read_all(fd, content, sizeof(content));
	errno = SENTINEL;
	n3 = pread(fd, again, sizeof(again) - 1, 0);
	e = errno;
	printf("== pread=%zd errno=%d\n", n3, e);
	if (n3 >= 0)
		again[n3] = 0;
	close(fd);
	printf("== lens %zd %zd %zd\n", n1, n2, n3);
	errno = SENTINEL;
	f = fopen(path, "re");
	e = errno;
	printf("== fopen %s errno=%d\n", f ? "ok" : "failed", e);
	if (f) {
		printf("== fgets %s", fgets(line, sizeof(line), f) ? line : "(none)\n");
		rewind(f);
		printf("== fgets-again %s", fgets(line, sizeof(line), f) ? line : "(none)\n");
		fclose(f);
	}
	fputs(content, stdout);
}

static void do_sysinfo(void)
{
	struct sysinfo si;
	int rc, e;

	errno = SENTINEL;
	rc = sysinfo(&si);
	e = errno;
	printf("== sysinfo rc=%d errno=%d totalram=%llu freeram=%llu procs=%u mem_unit=%u\n", rc, e,
	       (unsigned long long)si.totalram * si.mem_unit,
	       (unsigned long long)si.freeram * si.mem_unit, si.procs, si.mem_unit);
}

static void do_sysconf(void)
{
	long onln, conf, phys, avphys;
	int np, npc, e;

	errno = SENTINEL;
	onln = sysconf(_SC_NPROCESSORS_ONLN);
	conf = sysconf(_SC_NPROCESSORS_CONF);
	phys = sysconf(_SC_PHYS_PAGES);
	avphys = sysconf(_SC_AVPHYS_PAGES);
	np = get_nprocs();
	npc = get_nprocs_conf();
	e = errno;
	printf("== sysconf onln=%ld conf=%ld phys=%ld avphys=%ld nprocs=%d nprocs_conf=%d "
	       "errno=%d\n",
	       onln, conf, phys, avphys, np, npc, e);
}

/* Lowest free descriptor number. */
static int lowest_free(void)
{
	int fd = dup(1);

	if (fd >= 0)
		close(fd);
	return fd;
}

static void limit_fds(int free_count)
{
	int low = lowest_free();
	struct rlimit rl;

	/* Close everything above the lowest free one so that "free" means exactly that. */
	for (int fd = low + 1; fd < 1024; fd++)
		close(fd);
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = (rlim_t)(low + free_count);
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		printf("== setrlimit-failed errno=%d\n", errno);
	printf("== limit %d free=%d\n", low + free_count, free_count);
}

static long long memtotal_or_lines(const char *text)
{
	const char *m = strstr(text, "MemTotal:");
	long long lines = 0;

	if (m)
		return atoll(m + 9);
	for (; *text; text++)
		lines += *text == '\n';
	return lines;
}

static void do_repeat(const char *arg)
{
	long long first = -1, last = -1, seen[16];
	int n = atoi(arg), distinct = 0;
	const char *path = strchr(arg, ':');

	if (!path)
		return;
	path++;
	for (int i = 0; i < n; i++) {
		int fd = open(path, O_RDONLY);
		long long v;
		bool known = false;

		if (fd < 0 || read_all(fd, content, sizeof(content)) < 0) {
			v = -errno;
		} else {
			v = memtotal_or_lines(content);
		}
		if (fd >= 0)
			close(fd);
		for (int j = 0; j < distinct; j++)
			known = known || seen[j] == v;
		if (!known && distinct < 16)
			seen[distinct++] = v;
		if (first < 0)
			first = v;
		last = v;
	}
	printf("== repeat %s n=%d distinct=%d first=%lld last=%lld\n", path, n, distinct, first,
	       last);
}

static void do_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d) {
		printf("== fds ? errno=%d\n", errno);
		return;
	}
	/* The shim keeps some input fds open on purpose, at 1000 and above (preload/request.c
	 * KEPT_FD_MIN): count the program's range only. */
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && atoi(de->d_name) < 1000)
			n++;
	closedir(d);
	printf("== fds %d\n", n - 1); /* minus the directory's own fd */
}

extern char **environ;

static int do_envmap(const char *arg)
{
	char file[512], path[512];
	const char *colon = strchr(arg, ':');
	uintptr_t lo = UINTPTR_MAX, hi = 0, page = (uintptr_t)sysconf(_SC_PAGESIZE);
	int fd;

	if (!colon || (size_t)(colon - arg) >= sizeof(file))
		return 2;
	snprintf(file, sizeof(file), "%.*s", (int)(colon - arg), arg);
	snprintf(path, sizeof(path), "%s", colon + 1);
	/* everything used after the mapping is copied first: argv strings may share its pages */
	for (char **e = environ; e && *e; e++) {
		uintptr_t p = (uintptr_t)*e;

		lo = p < lo ? p : lo;
		hi = p + strlen(*e) + 1 > hi ? p + strlen(*e) + 1 : hi;
	}
	if (hi == 0)
		return 2;
	lo &= ~(page - 1);
	hi = (hi + page - 1) & ~(page - 1);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 ||
	    mmap((void *)lo, hi - lo, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) == MAP_FAILED) {
		printf("== envmap-failed errno=%d\n", errno);
		return 1;
	}
	do_cat("envmap", path);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strncmp(a, "cat:", 4) == 0) {
			do_cat("cat", a + 4);
		} else if (strncmp(a, "rewind:", 7) == 0) {
			do_rewind(a + 7);
		} else if (strcmp(a, "sysinfo") == 0) {
			do_sysinfo();
		} else if (strcmp(a, "sysconf") == 0) {
			do_sysconf();
		} else if (strncmp(a, "lastfd:", 7) == 0) {
			fflush(stdout);
			limit_fds(1);
			do_cat("lastfd", a + 7);
		} else if (strncmp(a, "nofd:", 5) == 0) {
			fflush(stdout);
			limit_fds(0);
			do_cat("nofd", a + 5);
		} else if (strcmp(a, "wait") == 0) {
			char c;

			printf("== waiting\n");
			fflush(stdout);
			if (read(0, &c, 1) != 1)
				printf("== wait-failed\n");
		} else if (strncmp(a, "comm:", 5) == 0) {
			char name[16] = "";

			for (size_t j = 0, k = 0; a[5 + j] && k < sizeof(name) - 1; j++) {
				if (a[5 + j] == '%' && a[6 + j] == 'n') {
					name[k++] = '\n';
					j++;
				} else {
					name[k++] = a[5 + j];
				}
			}
			if (prctl(PR_SET_NAME, name) < 0)
				printf("== prctl-failed errno=%d\n", errno);
		} else if (strcmp(a, "secure") == 0) {
			printf("== secure at_secure=%lu euid=%d uid=%d\n", getauxval(AT_SECURE),
			       (int)geteuid(), (int)getuid());
		} else if (strncmp(a, "repeat:", 7) == 0) {
			do_repeat(a + 7);
		} else if (strcmp(a, "fds") == 0) {
			do_fds();
#ifdef PROBE_EARLY
		} else if (strcmp(a, "early") == 0) {
			static const char *const names[EARLY_N] = {EARLY_NAMES};

			printf("== early done=%d", early_seen.done);
			for (int j = 0; j < EARLY_N; j++)
				printf(" %s=%ld/%d", names[j], early_seen.value[j],
				       early_seen.err[j]);
			printf("\n");
#endif
		} else if (strncmp(a, "envmap:", 7) == 0) {
			return do_envmap(a + 7);
		} else if (strncmp(a, "env:", 4) == 0) {
			const char *v = getenv(a + 4);

			printf("== env %s=%s\n", a + 4, v ? v : "(unset)");
		} else {
			fprintf(stderr, "probe: unknown action %s\n", a);
			return 2;
		}
		fflush(stdout);
	}
	return 0;
}
