/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runs under LD_PRELOAD=libcgproc.so (started by test-shim*.c inside a limited cgroup) and checks
 * from the inside what a program sees. "shim-probe MODE [EXPECT_KB]"; prints "ok ..." and
 * "FAIL ..." lines, exits 0 only when every check passed. Test code: it may print and allocate,
 * except in its signal handler. Also built with musl-gcc (shim-probe-musl, for libcgproc-musl.so):
 * glibc's internal names (__open_2, __sysconf ...) are checked on glibc only.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_SECCOMP
#include <seccomp.h>
#else
#include <stddef.h>
#include <sys/prctl.h>
#endif

#include "../../tools/cgproc/fd-link.h"

int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
int __open(const char *path, int flags, ...);
int __open64(const char *path, int flags, ...);
long __sysconf(int name);

extern char **environ;

static int failures;
static unsigned long long expect_kb;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (cond) {                                                                        \
			printf("ok   ");                                                           \
		} else {                                                                           \
			printf("FAIL ");                                                           \
			failures++;                                                                \
		}                                                                                  \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
	} while (0)

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
	buf[len] = '\0';
	return (ssize_t)len;
}

/* The real file's content, by raw system calls the shim cannot see. */
static ssize_t raw_read_file(const char *path, char *buf, size_t size)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read_all(fd, buf, size);
	close(fd);
	return n;
}

static unsigned long long meminfo_kb(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p ? strtoull(p + strlen(key) + 1, NULL, 10) : 0;
}

static bool fd_is_snapshot(int fd)
{
	return fd_link_starts_with(fd, "/memfd:cgproc") || fd_link_starts_with(fd, "/dev/shm/");
}

/* Read a just-opened fd, check that it is the virtual meminfo, errno kept, then close it. */
static void check_meminfo_fd(const char *how, int fd)
{
	char buf[8192];
	int e = errno;

	CHECK(fd >= 0 && e == 1234, "%s: open ok (fd %d), errno kept (%d)", how, fd, e);
	if (fd < 0)
		return;
	CHECK(read_all(fd, buf, sizeof(buf)) > 0 && meminfo_kb(buf, "MemTotal:") == expect_kb,
	      "%s: MemTotal %llu kB == %llu", how, meminfo_kb(buf, "MemTotal:"), expect_kb);
	CHECK(fd_is_snapshot(fd), "%s: fd is a snapshot", how);
	close(fd);
}

static void check_meminfo_file(const char *how, FILE *f)
{
	char buf[8192];
	size_t n;
	int e = errno;

	CHECK(f && e == 1234, "%s: fopen ok, errno kept (%d)", how, e);
	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	CHECK(meminfo_kb(buf, "MemTotal:") == expect_kb, "%s: MemTotal %llu kB", how,
	      meminfo_kb(buf, "MemTotal:"));
	CHECK(fd_is_snapshot(fileno(f)), "%s: fd is a snapshot", how);
	fclose(f);
}

static void mode_spellings(void)
{
	int dfd, cwd;
	FILE *f;

	errno = 1234;
	check_meminfo_fd("open", open("/proc/meminfo", O_RDONLY));
	errno = 1234;
	check_meminfo_fd("open64", open64("/proc/meminfo", O_RDONLY));
#ifdef __GLIBC__
	errno = 1234;
	check_meminfo_fd("__open", __open("/proc/meminfo", O_RDONLY));
	errno = 1234;
	check_meminfo_fd("__open64", __open64("/proc/meminfo", O_RDONLY));
	errno = 1234;
	check_meminfo_fd("__open_2", __open_2("/proc/meminfo", O_RDONLY));
	errno = 1234;
	check_meminfo_fd("__open64_2", __open64_2("/proc/meminfo", O_RDONLY));
#endif
	{
		/* Built with _FORTIFY_SOURCE: open() with flags unknown at compile time is a call
		 * to __open_2 (bits/fcntl2.h). */
		volatile int rdonly = O_RDONLY;

		errno = 1234;
		check_meminfo_fd("fortified open", open("/proc/meminfo", rdonly));
	}
	dfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	errno = 1234;
	check_meminfo_fd("openat(procfd)", openat(dfd, "meminfo", O_RDONLY));
	errno = 1234;
	check_meminfo_fd("openat64(procfd)", openat64(dfd, "meminfo", O_RDONLY));
#ifdef __GLIBC__
	errno = 1234;
	check_meminfo_fd("__openat_2(procfd)", __openat_2(dfd, "meminfo", O_RDONLY));
	errno = 1234;
	check_meminfo_fd("__openat64_2(procfd)", __openat64_2(dfd, "meminfo", O_RDONLY));
#endif
	close(dfd);
	cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (chdir("/proc") == 0) {
		errno = 1234;
		check_meminfo_fd("relative after chdir(/proc)", open("meminfo", O_RDONLY));
		errno = 1234;
		check_meminfo_file("fopen relative", fopen("./meminfo", "r"));
		if (fchdir(cwd) < 0)
			CHECK(0, "fchdir back");
	}
	close(cwd);
	errno = 1234;
	check_meminfo_fd("//proc/./meminfo", open("//proc/./meminfo", O_RDONLY));
	errno = 1234;
	check_meminfo_fd("/proc/self/root/proc/meminfo",
			 open("/proc/self/root/proc/meminfo", O_RDONLY));
	errno = 1234;
	check_meminfo_file("fopen", fopen("/proc/meminfo", "r"));
	errno = 1234;
	check_meminfo_file("fopen64", fopen64("/proc/meminfo", "re"));
	f = fopen("/dev/null", "r");
	errno = 1234;
	check_meminfo_file("freopen", freopen("/proc/meminfo", "r", f));
	f = fopen("/dev/null", "r");
	errno = 1234;
	check_meminfo_file("freopen64", freopen64("/proc/meminfo", "r", f));
}

/* Files whose unchanged snapshot is shared (preload/snapcache.c): every open still
 * gets its own description (offset, close-on-exec), not writable, same bytes. */
static void check_kept_snapshots(void)
{
	char a[4096], b[4096], c;
	ssize_t na, nb;
	int fd1, fd2;

	fd1 = open("/sys/devices/system/cpu/online", O_RDONLY | O_CLOEXEC);
	fd2 = open("/sys/devices/system/cpu/online", O_RDONLY);
	CHECK(fd1 >= 0 && fd2 >= 0 && fd1 != fd2 && fd_is_snapshot(fd1) && fd_is_snapshot(fd2),
	      "two opens of a kept snapshot: two fds");
	CHECK(read(fd1, &c, 1) == 1, "one byte from the first");
	na = read_all(fd2, a, sizeof(a));
	CHECK(na > 1 && lseek(fd1, 0, SEEK_SET) == 0, "the second reads from its own offset");
	nb = read_all(fd1, b, sizeof(b));
	CHECK(na == nb && memcmp(a, b, (size_t)na) == 0 && a[0] == c, "same bytes from both");
	CHECK((fcntl(fd1, F_GETFD) & FD_CLOEXEC) && !(fcntl(fd2, F_GETFD) & FD_CLOEXEC),
	      "each fd has its own close-on-exec");
	CHECK(write(fd2, "x", 1) < 0, "not writable");
	close(fd1);
	close(fd2);
	/* Reopened snapshots are asked for O_NOATIME, which only the memfd's owner may use: with
	 * another fsuid (root's file capabilities dropped with it) the open is made without it. */
	if (geteuid() == 0) {
		int old = setfsuid(65534);

		fd1 = open("/sys/devices/system/cpu/online", O_RDONLY | O_CLOEXEC);
		fd2 = open("/sys/devices/system/cpu/online", O_RDONLY);
		nb = fd1 >= 0 ? read_all(fd1, b, sizeof(b)) : -1;
		setfsuid((uid_t)old);
		CHECK(fd1 >= 0 && fd2 >= 0 && fd_is_snapshot(fd1) && fd_is_snapshot(fd2),
		      "kept snapshot under another fsuid: served");
		CHECK(!(fcntl(fd1, F_GETFL) & O_NOATIME) && (fcntl(fd1, F_GETFD) & FD_CLOEXEC) &&
			      !(fcntl(fd2, F_GETFD) & FD_CLOEXEC),
		      "... without O_NOATIME, close-on-exec as asked");
		CHECK(nb == na && memcmp(a, b, (size_t)na) == 0, "... the same bytes");
		close(fd1);
		close(fd2);
	}
}

static void mode_cloexec(void)
{
	int fd;
	FILE *f;

	check_kept_snapshots();

	fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && fd_is_snapshot(fd) && (fcntl(fd, F_GETFD) & FD_CLOEXEC),
	      "O_CLOEXEC open: FD_CLOEXEC set");
	close(fd);
	fd = open("/proc/meminfo", O_RDONLY);
	CHECK(fd >= 0 && fd_is_snapshot(fd) && !(fcntl(fd, F_GETFD) & FD_CLOEXEC),
	      "plain open: FD_CLOEXEC clear");
	/* The memfd is handed out sealed, not re-opened O_RDONLY (preload/fdtab.c says why). */
	CHECK(write(fd, "x", 1) < 0 && (errno == EBADF || errno == EPERM),
	      "snapshot cannot be written (EBADF or EPERM)");
	CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY ||
		      (fcntl(fd, F_GET_SEALS) & (F_SEAL_WRITE | F_SEAL_SEAL)) ==
			      (F_SEAL_WRITE | F_SEAL_SEAL),
	      "snapshot is O_RDONLY or sealed against writes");
	CHECK(ftruncate(fd, 0) < 0, "snapshot cannot be truncated");
	close(fd);
	f = fopen("/proc/meminfo", "re");
	CHECK(f && fd_is_snapshot(fileno(f)) && (fcntl(fileno(f), F_GETFD) & FD_CLOEXEC),
	      "fopen \"re\": FD_CLOEXEC set");
	if (f)
		fclose(f);
	f = fopen("/proc/meminfo", "r");
	CHECK(f && fd_is_snapshot(fileno(f)) && !(fcntl(fileno(f), F_GETFD) & FD_CLOEXEC),
	      "fopen \"r\": FD_CLOEXEC clear");
	if (f)
		fclose(f);
}

static double uptime_of(const char *text)
{
	return strtod(text, NULL);
}

static void mode_rewind(void)
{
	char a[8192], b[8192];
	struct timespec ts = {0, 50 * 1000 * 1000};
	ssize_t n;
	int fd;

	fd = open("/proc/uptime", O_RDONLY);
	CHECK(fd >= 0 && fd_is_snapshot(fd), "uptime served");
	CHECK(read_all(fd, a, sizeof(a)) > 0, "uptime read: %s", a);
	nanosleep(&ts, NULL);
	CHECK(read_all(fd, b, sizeof(b)) == 0, "no more data without a rewind");
	errno = 1234;
	CHECK(lseek(fd, 0, SEEK_SET) == 0 && errno == 1234, "lseek 0, errno kept");
	CHECK(fd_is_snapshot(fd) && !(fcntl(fd, F_GETFD) & FD_CLOEXEC),
	      "still a snapshot, cloexec still clear after refresh");
	CHECK(read_all(fd, b, sizeof(b)) > 0 && uptime_of(b) > uptime_of(a),
	      "uptime advanced after lseek: %.2f -> %.2f", uptime_of(a), uptime_of(b));
	nanosleep(&ts, NULL);
	n = pread(fd, a, sizeof(a) - 1, 0);
	if (n >= 0)
		a[n] = '\0';
	CHECK(n > 0 && uptime_of(a) > uptime_of(b), "uptime advanced after pread at 0: %.2f",
	      uptime_of(a));
	nanosleep(&ts, NULL);
	CHECK(lseek64(fd, 0, SEEK_SET) == 0 && read_all(fd, b, sizeof(b)) > 0 &&
		      uptime_of(b) > uptime_of(a),
	      "uptime advanced after lseek64: %.2f", uptime_of(b));
	nanosleep(&ts, NULL);
	n = pread64(fd, a, sizeof(a) - 1, 0);
	if (n >= 0)
		a[n] = '\0';
	CHECK(n > 0 && uptime_of(a) > uptime_of(b), "uptime advanced after pread64 at 0: %.2f",
	      uptime_of(a));
	close(fd);

	/* stdio rewinds seek with glibc's internal lseek: rewind, fseek, fseeko are wrapped. */
	{
		FILE *f = fopen("/proc/uptime", "re");
		double prev;

		CHECK(f && fgets(a, sizeof(a), f) && fgetc(f) == EOF, "fopen uptime, read to EOF");
		prev = uptime_of(a);
		nanosleep(&ts, NULL);
		rewind(f);
		CHECK(fgets(a, sizeof(a), f) && uptime_of(a) > prev && fgetc(f) == EOF,
		      "uptime advanced after rewind(): %.2f -> %.2f", prev, uptime_of(a));
		prev = uptime_of(a);
		nanosleep(&ts, NULL);
		CHECK(fseek(f, 0, SEEK_SET) == 0 && fgets(a, sizeof(a), f) && uptime_of(a) > prev &&
			      fgetc(f) == EOF,
		      "uptime advanced after fseek(0): %.2f", uptime_of(a));
		prev = uptime_of(a);
		nanosleep(&ts, NULL);
		CHECK(fseeko(f, 0, SEEK_SET) == 0 && fgets(a, sizeof(a), f) && uptime_of(a) > prev,
		      "uptime advanced after fseeko(0): %.2f", uptime_of(a));
		CHECK(fd_is_snapshot(fileno(f)) && (fcntl(fileno(f), F_GETFD) & FD_CLOEXEC),
		      "FILE still on a snapshot with FD_CLOEXEC");
		if (f)
			fclose(f);
	}

	/* MemFree follows the cgroup's usage across a rewind (vmstat keeps the fd). */
	fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && read_all(fd, a, sizeof(a)) > 0, "meminfo read");
	{
		size_t sz = 96u << 20;
		char *mem = malloc(sz);

		if (mem)
			memset(mem, 1, sz);
		CHECK(lseek(fd, 0, SEEK_SET) == 0 && read_all(fd, b, sizeof(b)) > 0,
		      "meminfo re-read");
		CHECK(meminfo_kb(a, "MemFree:") >= meminfo_kb(b, "MemFree:") + 65536,
		      "MemFree dropped by >= 64 MiB after touching 96 MiB: %llu -> %llu kB",
		      meminfo_kb(a, "MemFree:"), meminfo_kb(b, "MemFree:"));
		CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC, "cloexec still set after refresh");
		free(mem);
	}
	close(fd);
}

/* The cgroup's memory usage in kB (v1 usage_in_bytes, else v2 memory.current); 0: unknown. */
static unsigned long long cg_usage_kb(void)
{
	char line[512], path[700], text[64];
	unsigned long long v = 0;
	FILE *f = fopen("/proc/self/cgroup", "re");
	int fd;

	path[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':'), *q = p ? strchr(p + 1, ':') : NULL;

		if (!q)
			continue;
		q[strcspn(q, "\n")] = '\0';
		if (strncmp(p, ":memory:", 8) == 0)
			snprintf(path, sizeof(path),
				 "/sys/fs/cgroup/memory%s/memory.usage_in_bytes", q + 1);
		else if (!path[0] && strncmp(line, "0::", 3) == 0)
			snprintf(path, sizeof(path), "/sys/fs/cgroup%s/memory.current", q + 1);
	}
	if (f)
		fclose(f);
	fd = path[0] ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd >= 0 && read_all(fd, text, sizeof(text)) > 0)
		v = strtoull(text, NULL, 10) / 1024;
	if (fd >= 0)
		close(fd);
	return v;
}

/*
 * Every open renders (run with CGPROC_REUSE_MS=0): meminfo is answered from the kept snapshot
 * when its inputs did not change (preload/snapcache.c, the kept snapshot's key), and must still
 * follow the usage each time it did: used = MemTotal - MemFree lies between the usage read just
 * before and just after the open, while 16 MiB are touched and given back in turns.
 */
static void mode_keyed(void)
{
	const size_t sz = 16u << 20;
	const unsigned long long slack = 1024; /* per-CPU charge batches, the snapshot's page */
	int bad = 0, fresh = 0;

	for (int i = 0; i < 60; i++) {
		char text[8192];
		unsigned long long u0, u1, used;
		char *mem = NULL;
		int fd;

		if (i % 3 == 1) {
			mem = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				   -1, 0);
			if (mem != MAP_FAILED)
				memset(mem, 1, sz);
		}
		/* i % 3 == 2: the same inputs as the open before, if nothing else moved */
		u0 = cg_usage_kb();
		fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || !fd_is_snapshot(fd) || read_all(fd, text, sizeof(text)) <= 0) {
			bad++;
			if (fd >= 0)
				close(fd);
			continue;
		}
		close(fd);
		u1 = cg_usage_kb();
		used = meminfo_kb(text, "MemTotal:") - meminfo_kb(text, "MemFree:");
		if (u0 == 0 || used + slack < (u0 < u1 ? u0 : u1) ||
		    used > (u0 > u1 ? u0 : u1) + slack)
			bad++;
		else
			fresh++;
		if (mem && mem != MAP_FAILED)
			munmap(mem, sz);
	}
	CHECK(bad == 0 && fresh == 60, "meminfo's used followed the usage on every open (%d of 60)",
	      fresh);
}

static int altstack_fd_ok = -1, altstack_snapshot = -1;

static void on_usr1(int sig)
{
	char buf[256];
	int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);

	altstack_fd_ok = fd >= 0 && read(fd, buf, sizeof(buf)) > 0;
	altstack_snapshot = fd >= 0 && fd_is_snapshot(fd);
	if (fd >= 0)
		close(fd);
}

/* A handler on a small sigaltstack gets the real file (the renders need more stack). */
static void check_altstack(void)
{
	static char stack[16384];
	stack_t ss = {.ss_sp = stack, .ss_size = sizeof(stack)}, old;
	struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_ONSTACK};

	sigaltstack(&ss, &old);
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
	CHECK(altstack_fd_ok == 1 && altstack_snapshot == 0,
	      "handler on a sigaltstack: real /proc/meminfo read (ok %d, snapshot %d)",
	      altstack_fd_ok, altstack_snapshot);
}

/* What the real call gives, compared with what the shim gives. */
static void mode_untouched(void)
{
	char target[256], buf[256];
	int fd, fd2, e1, e2;
	ssize_t n;

	fd = open("/proc/self/status", O_RDONLY);
	CHECK(fd >= 0 && !fd_is_snapshot(fd), "/proc/self/status is the real file");
	close(fd);
	fd = open("/proc/meminfo", O_RDONLY | O_PATH);
	CHECK(fd >= 0 && !fd_is_snapshot(fd), "O_PATH open is real");
	close(fd);
	errno = 0;
	fd = open("/proc/meminfo", O_WRONLY);
	e1 = errno;
	fd2 = (int)syscall(SYS_openat, AT_FDCWD, "/proc/meminfo", O_WRONLY);
	e2 = errno;
	CHECK((fd < 0) == (fd2 < 0) && e1 == e2, "O_WRONLY open: same result as the kernel (%d/%d)",
	      e1, e2);
	if (fd >= 0) {
		CHECK(!fd_is_snapshot(fd), "O_WRONLY fd is real");
		close(fd);
	}
	if (fd2 >= 0)
		close(fd2);
	errno = 1234;
	fd = open("/proc/nonexistent-cgproc/meminfo", O_RDONLY);
	CHECK(fd < 0 && errno == ENOENT, "missing file: ENOENT as the kernel says");
	/* htop: the per-CPU online file has the same basename as the table's online, but is the
	 * CPU's own on-line flag (served as "1" for a visible CPU), never the CPU list. */
	for (int cpu = 0; cpu < 64; cpu++) {
		char dir[64];
		int dfd;

		snprintf(dir, sizeof(dir), "/sys/devices/system/cpu/cpu%d", cpu);
		dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			break;
		fd = openat(dfd, "online", O_RDONLY | O_CLOEXEC);
		close(dfd);
		if (fd < 0)
			continue;
		n = read_all(fd, target, sizeof(target));
		CHECK(n == 2 && strcmp(target, "1\n") == 0, "%s/online is the CPU's flag (%s)", dir,
		      n > 0 ? target : "-");
		close(fd);
		break;
	}
	/* a non-virtual file whose name is in the prefilter */
	fd = open("/proc/self/net/stat", O_RDONLY | O_DIRECTORY);
	if (fd >= 0)
		close(fd);
	n = raw_read_file("/proc/version", buf, sizeof(buf));
	CHECK(n > 0, "raw read works");
	check_altstack();
}

/* Field @n (1-based, after the comm field for n > 2) of a /proc/<pid>/stat line. */
static unsigned long long stat_field(const char *text, int n)
{
	const char *p = strrchr(text, ')');

	if (!p)
		return 0;
	p += 2; /* field 3 */
	for (int i = 3; i < n && p; i++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return p ? strtoull(p, NULL, 10) : 0;
}

static void check_pidstat(const char *path)
{
	char got[4096], real[4096];
	int fd;

	errno = 1234;
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0 && errno == 1234, "%s: open ok, errno kept", path);
	if (fd < 0)
		return;
	CHECK(fd_is_snapshot(fd), "%s: served by the shim", path);
	read_all(fd, got, sizeof(got));
	close(fd);
	raw_read_file(path, real, sizeof(real));
	CHECK(strtol(got, NULL, 10) == strtol(real, NULL, 10) &&
		      stat_field(got, 4) == stat_field(real, 4),
	      "%s: pid and ppid are the kernel's", path);
	CHECK(stat_field(got, 22) <= stat_field(real, 22),
	      "%s: starttime %llu not later than the kernel's %llu", path, stat_field(got, 22),
	      stat_field(real, 22));
}

/* Per-process stat files are recognised by their link, in every spelling. */
static void mode_pidstat(void)
{
	char path[64];
	int fd;

	check_pidstat("/proc/self/stat");
	check_pidstat("/proc/thread-self/stat");
	snprintf(path, sizeof(path), "/proc/%d/stat", getpid());
	check_pidstat(path);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", getpid(), gettid());
	check_pidstat(path);
	fd = open("/proc/self/statm", O_RDONLY);
	CHECK(fd >= 0 && !fd_is_snapshot(fd), "/proc/self/statm stays real");
	if (fd >= 0)
		close(fd);
}

/* Open fds, those below @below only (-1: all). */
static int count_fds_below(int below)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && (below < 0 || atoi(de->d_name) < below))
			n++;
	closedir(d);
	return n - 1; /* the DIR's own fd */
}

static int count_fds(void)
{
	return count_fds_below(-1);
}

/* The shim keeps up to this many input fds, at numbers >= KEPT_FD_MIN (preload/request.c). */
#define KEPT_FD_MIN 1000
#define KEPT_FD_MAX 64

static void mode_fdleak(void)
{
	int base = count_fds_below(KEPT_FD_MIN), base_all = count_fds(), bad = 0;
	char buf[8192];

	for (int i = 0; i < 10000; i++) {
		int fd = open(i % 2 ? "/proc/meminfo" : "/proc/uptime", O_RDONLY | O_CLOEXEC);

		if (fd < 0 || read_all(fd, buf, sizeof(buf)) <= 0)
			bad++;
		if (i % 7 == 0 && fd >= 0)
			lseek(fd, 0, SEEK_SET);
		if (fd >= 0)
			close(fd);
	}
	for (int i = 0; i < 1000; i++) {
		FILE *f = fopen("/proc/meminfo", "re");

		if (!f || !fgets(buf, sizeof(buf), f))
			bad++;
		if (f)
			fclose(f);
	}
	CHECK(bad == 0, "11000 virtual opens all read (%d failures)", bad);
	CHECK(count_fds_below(KEPT_FD_MIN) == base, "fd count below %d back to baseline (%d -> %d)",
	      KEPT_FD_MIN, base, count_fds_below(KEPT_FD_MIN));
	CHECK(count_fds() <= base_all + KEPT_FD_MAX, "kept input fds bounded (%d -> %d)", base_all,
	      count_fds());
}

/* Numbers of open fds >= @from, at most @max of them; returns how many. */
static int fds_from(int from, int *out, int max)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] != '.' && fd >= from && fd != dirfd(d))
			out[n++] = fd;
	}
	closedir(d);
	return n;
}

/*
 * Kept snapshots are handed out by opening their number in /proc/self/fd: when the program put a
 * FIFO with no writer there, that open would block (and a device's could have side effects).
 * The shim must check the number first: opens of unchanged files return at once, right.
 */
static void check_kept_fifo(void)
{
	static const char *const paths[] = {"/sys/devices/system/cpu/online", "/proc/uptime",
					    "/proc/swaps"};
	char before[3][4096], got[4096], fifo[64];
	int kept[128], n, rd, bad = 0, fd;

	for (int k = 0; k < 3; k++) {
		fd = open(paths[k], O_RDONLY);
		before[k][0] = '\0';
		if (fd >= 0) {
			read_all(fd, before[k], sizeof(before[k]));
			close(fd);
		}
	}
	snprintf(fifo, sizeof(fifo), "/tmp/cgproc-probe-fifo-%d", (int)getpid());
	unlink(fifo);
	CHECK(mkfifo(fifo, 0600) == 0, "a FIFO of the program's own");
	rd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	unlink(fifo);
	CHECK(rd >= 0, "its read end, no writer");
	if (rd < 0)
		return;
	n = fds_from(KEPT_FD_MIN, kept, 128);
	for (int i = 0; i < n; i++)
		if (dup2(rd, kept[i]) != kept[i])
			bad++;
	CHECK(n > 0 && bad == 0, "every kept number now is the FIFO (%d)", n);
	alarm(20); /* a blocked open fails the test instead of hanging it */
	for (int k = 0; k < 3; k++) {
		for (int round = 0; round < 2; round++) {
			errno = 1234;
			fd = open(paths[k], O_RDONLY);
			CHECK(fd >= 0 && errno == 1234, "%s over a FIFO: open ok", paths[k]);
			if (fd < 0)
				continue;
			CHECK(fd_is_snapshot(fd), "%s over a FIFO: a snapshot", paths[k]);
			/* uptime moves: its length is what stays */
			read_all(fd, got, sizeof(got));
			CHECK(k == 1 ? got[0] >= '0' && got[0] <= '9' : strcmp(got, before[k]) == 0,
			      "%s over a FIFO: the same text as before", paths[k]);
			close(fd);
		}
	}
	alarm(0);
	for (int i = 0; i < n; i++)
		close(kept[i]);
	close(rd);
}

/*
 * A fork child inherits the kept snapshots and the shim's /proc/self/fd dirfd, which still shows
 * the parent's fd table: the child must open its own. Checked by giving the parent's kept
 * numbers to a FIFO with no writer once the child is forked: a child that opened through the
 * parent's table would block (and die of its alarm).
 */
static void check_kept_fork(void)
{
	char buf[256], first[256] = "", fifo[64], go;
	int kept[128], n, rd, sync[2], status, fd;
	pid_t pid;

	for (int i = 0; i < 2; i++) {
		fd = open("/sys/devices/system/cpu/online", O_RDONLY);
		if (fd >= 0) {
			read_all(fd, first, sizeof(first));
			close(fd);
		}
	}
	snprintf(fifo, sizeof(fifo), "/tmp/cgproc-probe-fifo2-%d", (int)getpid());
	unlink(fifo);
	if (mkfifo(fifo, 0600) != 0 || pipe(sync) != 0) {
		CHECK(false, "fork check: FIFO and pipe made");
		return;
	}
	rd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	unlink(fifo);
	pid = fork();
	if (pid == 0) {
		bool ok = true;

		alarm(20);
		close(sync[1]);
		if (read(sync[0], &go, 1) != 1)
			_exit(2);
		for (int i = 0; i < 3 && ok; i++) {
			fd = open("/sys/devices/system/cpu/online", O_RDONLY);
			ok = fd >= 0 && fd_is_snapshot(fd) && read_all(fd, buf, sizeof(buf)) > 0 &&
			     strcmp(buf, first) == 0;
			if (fd >= 0)
				close(fd);
		}
		_exit(ok ? 0 : 1);
	}
	close(sync[0]);
	n = fds_from(KEPT_FD_MIN, kept, 128);
	for (int i = 0; i < n; i++)
		dup2(rd, kept[i]);
	CHECK(pid > 0 && rd >= 0 && write(sync[1], "g", 1) == 1, "fork check: child started");
	close(sync[1]);
	status = -1;
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "fork child: CPU list served through its own fd table (status %d)", status);
	for (int i = 0; i < n; i++)
		close(kept[i]);
	if (rd >= 0)
		close(rd);
}

/* The shim's kept fds (>= KEPT_FD_MIN) taken away: closed (closefrom) and their numbers reused
 * by the program. Virtual files must still be right, and the program's files left alone. */
static void mode_keptfds(void)
{
	int kept[128], n, other, bad = 0;
	struct stat want, st;

	errno = 1234;
	check_meminfo_fd("first open", open("/proc/meminfo", O_RDONLY));
	n = fds_from(KEPT_FD_MIN, kept, 128);
	CHECK(n > 0, "the shim keeps input fds at >= %d (%d)", KEPT_FD_MIN, n);
	other = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
	CHECK(other >= 0 && fstat(other, &want) == 0, "a file of the program's own");
	for (int i = 0; i < n; i++)
		if (dup2(other, kept[i]) != kept[i])
			bad++;
	CHECK(bad == 0, "every kept number now is the program's file");
	for (int round = 0; round < 3; round++) {
		errno = 1234;
		check_meminfo_fd("after the numbers were reused", open("/proc/meminfo", O_RDONLY));
		errno = 1234;
		check_meminfo_fd("again", open("/proc/meminfo", O_RDONLY));
	}
	bad = 0;
	for (int i = 0; i < n; i++)
		if (fstat(kept[i], &st) != 0 || st.st_ino != want.st_ino ||
		    st.st_dev != want.st_dev)
			bad++;
	CHECK(bad == 0, "the shim left the program's fds alone (%d of %d changed)", bad, n);
	check_kept_fifo();
	check_kept_fork();
	/* closefrom(KEPT_FD_MIN): everything at and above is gone */
	n = fds_from(KEPT_FD_MIN, kept, 128);
	for (int i = 0; i < n; i++)
		close(kept[i]);
	close(other);
	errno = 1234;
	check_meminfo_fd("after closefrom", open("/proc/meminfo", O_RDONLY));
	CHECK(fds_from(KEPT_FD_MIN, kept, 128) > 0, "kept fds made again");
}

/* The kept root ("/" at >= KEPT_FD_MIN) closed and its number taken by a directory of the
 * program's that looks like a root (proc/meminfo, sys/fs/cgroup): the shim checks the kept root
 * before it resolves a path through it (lazily, not on every open), so nothing is read from that
 * tree, the number stays the program's, and the virtual file stays right. */
static void mode_keptroot(void)
{
	char tmpl[] = "/tmp/cgproc-keptroot-XXXXXX", path[128];
	int kept[128], n, root = -1, fake, bad = 0;
	struct stat want, st;
	FILE *f;

	errno = 1234;
	check_meminfo_fd("first open", open("/proc/meminfo", O_RDONLY));
	/* the first open's machine lookup began a new generation of kept fds: the second keeps
	 * the root that the opens after it take without a check */
	errno = 1234;
	check_meminfo_fd("second open", open("/proc/meminfo", O_RDONLY));
	n = fds_from(KEPT_FD_MIN, kept, 128);
	for (int i = 0; i < n; i++) {
		char target[8];

		if (fd_link_target(kept[i], target, sizeof(target)) && strcmp(target, "/") == 0)
			root = kept[i];
	}
	CHECK(root >= KEPT_FD_MIN, "the shim keeps a root fd (%d)", root);
	CHECK(mkdtemp(tmpl) != NULL, "a directory of the program's own");
	snprintf(path, sizeof(path), "%s/proc", tmpl);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/meminfo", tmpl);
	f = fopen(path, "we");
	if (f) {
		fputs("MemTotal:       1 kB\nMemFree:        1 kB\n", f);
		fclose(f);
	}
	fake = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(fake >= 0 && fstat(fake, &want) == 0, "its fd");
	/* closefrom(KEPT_FD_MIN), then the root's number is the program's directory */
	for (int i = 0; i < n; i++)
		close(kept[i]);
	CHECK(root >= 0 && dup2(fake, root) == root, "the root's number now is that directory");
	for (int round = 0; round < 3; round++) {
		errno = 1234;
		check_meminfo_fd("root number reused", open("/proc/meminfo", O_RDONLY));
	}
	if (root >= 0 &&
	    (fstat(root, &st) != 0 || st.st_ino != want.st_ino || st.st_dev != want.st_dev))
		bad++;
	CHECK(bad == 0, "the shim left the program's directory fd alone");
	if (root >= 0)
		close(root);
	close(fake);
	unlink(path);
	snprintf(path, sizeof(path), "%s/proc", tmpl);
	rmdir(path);
	rmdir(tmpl);
}

static void mode_libc(void)
{
	struct sysinfo si;
	double la[3] = {-1, -1, -1};
	long ps = sysconf(_SC_PAGESIZE);
	int e;

	errno = 1234;
	CHECK(sysinfo(&si) == 0 && errno == 1234, "sysinfo ok, errno kept");
	CHECK((unsigned long long)si.totalram * si.mem_unit == expect_kb * 1024,
	      "sysinfo totalram %llu == %llu", (unsigned long long)si.totalram * si.mem_unit,
	      expect_kb * 1024);
	CHECK((unsigned long long)si.freeram * si.mem_unit <= expect_kb * 1024, "freeram <= total");
	errno = 1234;
	CHECK(get_nprocs() == 1 && errno == 1234, "get_nprocs() == 1 (%d)", get_nprocs());
	CHECK(get_nprocs_conf() >= 1, "get_nprocs_conf() = %d", get_nprocs_conf());
	CHECK(sysconf(_SC_NPROCESSORS_ONLN) == 1, "sysconf(_SC_NPROCESSORS_ONLN) == 1 (%ld)",
	      sysconf(_SC_NPROCESSORS_ONLN));
#ifdef __GLIBC__
	CHECK(__sysconf(_SC_NPROCESSORS_ONLN) == 1, "__sysconf(_SC_NPROCESSORS_ONLN) == 1");
#endif
	CHECK(sysconf(_SC_NPROCESSORS_CONF) >= 1, "sysconf(_SC_NPROCESSORS_CONF) = %ld",
	      sysconf(_SC_NPROCESSORS_CONF));
	CHECK((unsigned long long)sysconf(_SC_PHYS_PAGES) * (unsigned long long)ps ==
		      expect_kb * 1024,
	      "_SC_PHYS_PAGES * pagesize == limit (%ld pages)", sysconf(_SC_PHYS_PAGES));
	CHECK(get_phys_pages() == sysconf(_SC_PHYS_PAGES), "get_phys_pages agrees");
	CHECK(get_avphys_pages() <= get_phys_pages(), "get_avphys_pages <= get_phys_pages");
	CHECK(ps == getpagesize(), "_SC_PAGESIZE passes through (%ld)", ps);
	errno = 0;
	CHECK(sysconf(_SC_OPEN_MAX) > 0 && errno == 0, "_SC_OPEN_MAX passes through");
	e = getloadavg(la, 3);
	CHECK(e == 3 && la[0] >= 0 && la[1] >= 0 && la[2] >= 0, "getloadavg: %d %.2f %.2f %.2f", e,
	      la[0], la[1], la[2]);
	CHECK(getloadavg(la, 1) == 1, "getloadavg(1) == 1");
}

/* The real file is served: content of the first line equals the kernel's. */
static void check_real(const char *how, const char *path)
{
	char got[8192], real[8192];
	int fd;

	errno = 1234;
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0 && errno == 1234, "%s: open ok, errno kept", how);
	if (fd < 0)
		return;
	CHECK(!fd_is_snapshot(fd), "%s: %s is the real file", how, path);
	read_all(fd, got, sizeof(got));
	close(fd);
	raw_read_file(path, real, sizeof(real));
	CHECK(strncmp(got, real, 24) == 0, "%s: first line is the kernel's", how);
}

/*
 * Started with CGPROC_ENABLED=0, the program empties its environment before its first call: the
 * shim reads its configuration on first use but from the environment the process started with
 * (init.c), so it stays off. And a CGPROC_ENABLED=0 set after the start changes nothing.
 */
static void mode_envstart(void)
{
	bool started_off = getenv("CGPROC_ENABLED") != NULL;

	clearenv();
	if (started_off) {
		check_real("CGPROC_ENABLED=0 at start, environment cleared since", "/proc/meminfo");
	} else {
		setenv("CGPROC_ENABLED", "0", 1);
		errno = 1234;
		check_meminfo_fd("CGPROC_ENABLED=0 set after the start",
				 open("/proc/meminfo", O_RDONLY));
	}
}

/* Under AT_SECURE (setuid via ld.so.preload): the shim is on although CGPROC_ENABLED=0. */
static void mode_secure(void)
{
	printf("AT_SECURE %lu\n", getauxval(AT_SECURE));
	CHECK(getauxval(AT_SECURE) == 1, "running with AT_SECURE");
	CHECK(getenv("CGPROC_ENABLED") != NULL, "CGPROC_ENABLED is in the environment");
	errno = 1234;
	check_meminfo_fd("setuid open", open("/proc/meminfo", O_RDONLY));
}

static void mode_disabled(void)
{
	struct sysinfo si, raw;

	check_real("CGPROC_ENABLED=0", "/proc/meminfo");
	sysinfo(&si);
	syscall(SYS_sysinfo, &raw);
	CHECK(si.totalram == raw.totalram, "sysinfo is the kernel's");
}

#ifdef HAVE_SECCOMP
static int deny(bool tmpfile_too)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r;

	if (!ctx)
		return -ENOMEM;
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(memfd_create), 0);
	if (r == 0 && tmpfile_too)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(openat), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, O_TMPFILE, O_TMPFILE));
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}
#elif defined(__x86_64__)
/* The same filter without libseccomp (the musl build of this probe, whose headers have no
 * linux/): classic BPF over struct seccomp_data, x86-64 only, the uapi's values spelled here. */
#define PROBE_HAVE_DENY
struct probe_bpf {
	uint16_t code;
	uint8_t jt, jf;
	uint32_t k;
};
struct probe_fprog {
	unsigned short len;
	struct probe_bpf *filter;
};
#define LD_ABS(off)                                                                                \
	{                                                                                          \
		0x20, 0, 0, (off)                                                                  \
	} /* BPF_LD | BPF_W | BPF_ABS */
#define JEQ(k, t, f)                                                                               \
	{                                                                                          \
		0x15, (t), (f), (k)                                                                \
	} /* BPF_JMP | BPF_JEQ | BPF_K */
#define AND(k)                                                                                     \
	{                                                                                          \
		0x54, 0, 0, (k)                                                                    \
	} /* BPF_ALU | BPF_AND | BPF_K */
#define RET(k)                                                                                     \
	{                                                                                          \
		0x06, 0, 0, (k)                                                                    \
	} /* BPF_RET | BPF_K */
#define SECCOMP_DATA_NR 0
#define SECCOMP_DATA_ARCH 4
#define SECCOMP_DATA_ARG2 (16 + 2 * 8)
#define ARCH_X86_64 0xc000003eu
#define RET_ALLOW 0x7fff0000u
#define RET_ERRNO 0x00050000u
#define MODE_FILTER 2

static int deny(bool tmpfile_too)
{
	struct probe_bpf f[] = {
		LD_ABS(SECCOMP_DATA_ARCH),
		JEQ(ARCH_X86_64, 1, 0),
		RET(RET_ALLOW),
		LD_ABS(SECCOMP_DATA_NR),
		JEQ(SYS_memfd_create, 4, 0),
		JEQ(tmpfile_too ? SYS_openat : 0xffffffffu, 0, 4),
		LD_ABS(SECCOMP_DATA_ARG2),
		AND(O_TMPFILE),
		JEQ(O_TMPFILE, 0, 1),
		RET(RET_ERRNO | EPERM),
		RET(RET_ALLOW),
	};
	struct probe_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, MODE_FILTER, &prog, 0, 0) < 0)
		return -errno;
	return 0;
}
#endif
#if defined(HAVE_SECCOMP) || defined(PROBE_HAVE_DENY)

static void mode_seccomp(void)
{
	char target[256] = "";
	int fd;

	CHECK(deny(false) == 0, "seccomp filter denying memfd_create loaded");
	CHECK(syscall(SYS_memfd_create, "x", 0) < 0 && errno == EPERM, "memfd_create is denied");
	errno = 1234;
	fd = open("/proc/meminfo", O_RDONLY);
	if (fd >= 0) {
		fd_link_target(fd, target, sizeof(target));
		CHECK(strncmp(target, "/dev/shm/", 9) == 0, "tmpfile in /dev/shm served: %s",
		      target);
		close(fd);
	}
	errno = 1234;
	check_meminfo_fd("memfd denied", open("/proc/meminfo", O_RDONLY));
	CHECK(deny(true) == 0, "seccomp filter denying O_TMPFILE too");
	check_real("memfd and tmpfile denied", "/proc/meminfo");
}
#endif

static void mode_rmcg(int argc, char **argv)
{
	errno = 1234;
	check_meminfo_fd("before rmdir", open("/proc/meminfo", O_RDONLY));
	for (int i = 3; i < argc; i++)
		CHECK(rmdir(argv[i]) == 0, "rmdir %s", argv[i]);
	sleep(1);
	usleep(200 * 1000);
	check_real("machine cgroup gone", "/proc/meminfo");
}

/* /proc/meminfo has a file mounted over it; the shim is active for the other files. */
static void mode_overlay(void)
{
	int fd = open("/proc/uptime", O_RDONLY);

	CHECK(fd >= 0 && fd_is_snapshot(fd), "the shim is active: /proc/uptime served");
	if (fd >= 0)
		close(fd);
	check_real("file mounted over /proc/meminfo", "/proc/meminfo");
}

static void mode_missing(void)
{
	check_real("machine cgroup missing", "/proc/meminfo");
}

/* --- stress --- */
static atomic_int stress_bad, handler_runs, bad_noted, handler_bad_open, handler_bad_read;
static atomic_int handler_bad_errno;
static char bad_what[256];

static void note_bad(const char *what, const char *buf, ssize_t n, int err)
{
	if (atomic_fetch_add(&bad_noted, 1) == 0)
		snprintf(bad_what, sizeof(bad_what), "%s: n=%zd errno=%d: %.40s", what, n, err,
			 n > 0 ? buf : "");
}

static void on_alarm(int sig)
{
	char buf[4096];
	int e = errno, fd;
	ssize_t n;

	fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		atomic_store(&handler_bad_errno, errno);
		atomic_fetch_add(&handler_bad_open, 1);
		atomic_fetch_add(&stress_bad, 1);
	} else {
		n = read(fd, buf, sizeof(buf) - 1);
		if (n < 10 || memcmp(buf, "MemTotal:", 9) != 0) {
			atomic_store(&handler_bad_errno, n < 0 ? errno : -(int)n);
			atomic_fetch_add(&handler_bad_read, 1);
			atomic_fetch_add(&stress_bad, 1);
		}
		close(fd);
	}
	atomic_fetch_add(&handler_runs, 1);
	errno = e;
}

/*
 * The shim sets its configuration up on the first call that may take the virtual path, not in
 * its constructor (init.c, shim_setup). These modes make that first call from a signal handler
 * and from many threads at once: each must still see the virtual file. Nothing before them in
 * this program calls an interposed function.
 */
static volatile unsigned long long first_sig_kb;
static volatile int first_sig_errno;

static void first_sig_handler(int sig)
{
	char buf[8192];
	int fd, e = errno;

	(void)sig;
	errno = 4321;
	fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	first_sig_errno = errno;
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);

		buf[n > 0 ? n : 0] = '\0';
		first_sig_kb = meminfo_kb(buf, "MemTotal:");
		close(fd);
	}
	errno = e;
}

static void mode_firstsig(void)
{
	struct sigaction sa = {.sa_handler = first_sig_handler};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	CHECK(first_sig_kb == expect_kb,
	      "first interposed call in a signal handler: MemTotal %llu kB", first_sig_kb);
	CHECK(first_sig_errno == 4321, "errno kept in the handler (%d)", first_sig_errno);
}

#define FIRST_THREADS 8
static atomic_int first_go;
static unsigned long long first_kb[FIRST_THREADS];

static void *first_thread(void *arg)
{
	char buf[8192];
	int fd;

	while (!atomic_load(&first_go))
		;
	fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);

		buf[n > 0 ? n : 0] = '\0';
		first_kb[(intptr_t)arg] = meminfo_kb(buf, "MemTotal:");
		close(fd);
	}
	return NULL;
}

static void mode_firstthreads(void)
{
	pthread_t t[FIRST_THREADS];
	int bad = 0;

	for (intptr_t i = 0; i < FIRST_THREADS; i++)
		pthread_create(&t[i], NULL, first_thread, (void *)i);
	atomic_store(&first_go, 1);
	for (int i = 0; i < FIRST_THREADS; i++) {
		pthread_join(t[i], NULL);
		bad += first_kb[i] != expect_kb;
	}
	CHECK(bad == 0, "%d threads' first interposed call at once: %d saw another MemTotal",
	      FIRST_THREADS, bad);
}

/*
 * "nextspy SPY": re-executed with SPY (tests/client/next-spy.c, another interposer of open())
 * preloaded after the shim; an ordinary open() must then go through the shim to SPY's open, the
 * next definition after the shim (preload/next.c looks up what dlsym(RTLD_NEXT) would give, here
 * at start-up because an object before libc defines a wrapped name), and a virtual file must
 * still be served.
 */
static void mode_nextspy(int argc, char **argv)
{
	int (*count)(void);
	void *p;
	char buf[8192];
	int before, fd;

	if (!getenv("CGPROC_TEST_SPY")) {
		char preload[4096];

		snprintf(preload, sizeof(preload), "%s %s", getenv("LD_PRELOAD"),
			 argc > 3 ? argv[3] : "");
		setenv("LD_PRELOAD", preload, 1);
		setenv("CGPROC_TEST_SPY", "1", 1);
		execv("/proc/self/exe", argv);
		CHECK(false, "re-exec with the spy: %s", strerror(errno));
		return;
	}
	p = dlsym(RTLD_DEFAULT, "spy_opens");
	CHECK(p != NULL, "the spy is loaded (%s)", getenv("LD_PRELOAD"));
	if (!p)
		return;
	*(void **)&count = p;
	before = count();
	fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && count() == before + 1,
	      "an ordinary open goes to the next open after the shim (spy calls %d -> %d)", before,
	      count());
	if (fd >= 0)
		close(fd);
	errno = 1234;
	fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && read_all(fd, buf, sizeof(buf)) > 0 &&
		      meminfo_kb(buf, "MemTotal:") == expect_kb,
	      "virtual meminfo with a second interposer: MemTotal %llu kB",
	      meminfo_kb(buf, "MemTotal:"));
}

static bool well_formed(const char *buf, ssize_t n, bool meminfo)
{
	if (n < 10 || buf[n - 1] != '\n')
		return false;
	return meminfo ? memcmp(buf, "MemTotal:", 9) == 0 : memcmp(buf, "cpu ", 4) == 0;
}

static void *stress_thread(void *arg)
{
	long iters = (long)arg;
	char buf[65536];

	for (long i = 0; i < iters; i++) {
		bool mem = i % 2 == 0;
		int fd = open(mem ? "/proc/meminfo" : "/proc/stat", O_RDONLY | O_CLOEXEC);
		ssize_t n;

		if (fd < 0) {
			note_bad("thread open", "", 0, errno);
			atomic_fetch_add(&stress_bad, 1);
			continue;
		}
		n = read_all(fd, buf, sizeof(buf));
		if (!well_formed(buf, n, mem)) {
			note_bad(mem ? "thread meminfo" : "thread stat", buf, n, errno);
			atomic_fetch_add(&stress_bad, 1);
		}
		close(fd);
	}
	return NULL;
}

static void mode_stress(long threads, long iters, bool forks)
{
	struct itimerval it = {{0, 2000}, {0, 2000}};
	struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
	pthread_t tid[64];
	int base = count_fds_below(KEPT_FD_MIN), base_all = count_fds(), forked = 0, child_bad = 0;

	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	for (long i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, stress_thread, (void *)iters);
	while (forks && forked < 200) {
		pid_t pid = fork();
		int status;

		if (pid == 0) {
			char buf[8192];
			int fd;

			/* a deadlocked child dies of SIGALRM's default action */
			signal(SIGALRM, SIG_DFL);
			alarm(10);
			fd = open("/proc/meminfo", O_RDONLY);
			_exit(fd >= 0 && well_formed(buf, read_all(fd, buf, sizeof(buf)), true)
				      ? 0
				      : 1);
		}
		if (pid < 0) {
			child_bad++;
			break;
		}
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			child_bad++;
		forked++;
		if (forked % 50 == 0) {
#ifdef __GLIBC__
			char *argv[] = {"cat", "/proc/meminfo", NULL};
#else
			/* a program of the same libc (the preloaded shim is musl's): this probe */
			char *argv[] = {"/proc/self/exe", "cat", NULL};
#endif
			posix_spawn_file_actions_t fa;

			posix_spawn_file_actions_init(&fa);
			posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
			if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0)
				child_bad++;
			else if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
				 WEXITSTATUS(status) != 0)
				child_bad++;
			posix_spawn_file_actions_destroy(&fa);
		}
	}
	for (long i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	CHECK(stress_bad == 0, "%ld threads x %ld opens, signal handler ran %d times: %d bad reads",
	      threads, iters, handler_runs, stress_bad);
	CHECK(handler_runs > 0, "the signal handler ran");
	if (bad_noted)
		printf("first bad read: %s\n", bad_what);
	if (handler_bad_open || handler_bad_read)
		printf("handler: %d bad opens, %d bad reads, errno/-n %d\n", handler_bad_open,
		       handler_bad_read, handler_bad_errno);
	if (forks)
		CHECK(child_bad == 0, "%d forks and 4 posix_spawns while threads open: %d bad",
		      forked, child_bad);
	CHECK(count_fds_below(KEPT_FD_MIN) == base, "fd count below %d back to baseline (%d -> %d)",
	      KEPT_FD_MIN, base, count_fds_below(KEPT_FD_MIN));
	CHECK(count_fds() <= base_all + KEPT_FD_MAX, "kept input fds bounded (%d -> %d)", base_all,
	      count_fds());
}

/* What "cat /proc/meminfo" checks for stress-fork: a well-formed read, exit 0. */
static int mode_cat(void)
{
	char buf[8192];
	int fd = open("/proc/meminfo", O_RDONLY);

	return fd >= 0 && well_formed(buf, read_all(fd, buf, sizeof(buf)), true) ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	expect_kb = argc > 2 ? strtoull(argv[2], NULL, 10) : 524288;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(mode, "spellings") == 0)
		mode_spellings();
	else if (strcmp(mode, "cloexec") == 0)
		mode_cloexec();
	else if (strcmp(mode, "rewind") == 0)
		mode_rewind();
	else if (strcmp(mode, "keyed") == 0)
		mode_keyed();
	else if (strcmp(mode, "untouched") == 0)
		mode_untouched();
	else if (strcmp(mode, "pidstat") == 0)
		mode_pidstat();
	else if (strcmp(mode, "fdleak") == 0)
		mode_fdleak();
	else if (strcmp(mode, "libc") == 0)
		mode_libc();
	else if (strcmp(mode, "keptfds") == 0)
		mode_keptfds();
	else if (strcmp(mode, "keptroot") == 0)
		mode_keptroot();
	else if (strcmp(mode, "secure") == 0)
		mode_secure();
	else if (strcmp(mode, "disabled") == 0)
		mode_disabled();
#if defined(HAVE_SECCOMP) || defined(PROBE_HAVE_DENY)
	else if (strcmp(mode, "seccomp") == 0)
		mode_seccomp();
#endif
	else if (strcmp(mode, "rmcg") == 0)
		mode_rmcg(argc, argv);
	else if (strcmp(mode, "missing") == 0)
		mode_missing();
	else if (strcmp(mode, "overlay") == 0)
		mode_overlay();
	else if (strcmp(mode, "envstart") == 0)
		mode_envstart();
	else if (strcmp(mode, "nextspy") == 0)
		mode_nextspy(argc, argv);
	else if (strcmp(mode, "firstsig") == 0)
		mode_firstsig();
	else if (strcmp(mode, "firstthreads") == 0)
		mode_firstthreads();
	else if (strcmp(mode, "cat") == 0)
		return mode_cat();
	else if (strcmp(mode, "stress") == 0)
		mode_stress(32, 10000, false);
	else if (strcmp(mode, "stress-fork") == 0)
		mode_stress(8, 3000, true);
	else {
		printf("FAIL unknown mode %s\n", mode);
		return 2;
	}
	printf("%s: %d failures\n", mode, failures);
	return failures ? 1 : 0;
}
