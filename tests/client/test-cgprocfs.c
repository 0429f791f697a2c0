/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgprocfs client tests: a real FUSE mount on a temporary directory (a private daemon started by
 * the test and always stopped and unmounted in .fini), real cgroups (harness), real programs
 * (busybox-static, a static probe) in a private mount namespace with the served files bound over
 * /proc, and sysinfo(2) answered by the seccomp listener.
 *
 * meson runs this program twice: CGPROC_TEST_FUSE_TRANSPORT=io_uring (the fuse module's
 * enable_uring set to Y: every test is served through the daemon's per-CPU io_uring queues, which
 * fs_start() proves) and =dev-fuse (enable_uring N: the classic /dev/fuse loop). The parameter is
 * host-wide; it is restored in .fini and the two runs are not parallel to other tests.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/sysinfo.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../tools/cgproc/cgproc.h"
#include "harness.h"
#include "vfile.h"

#define NCG 4

static struct run_fuse rf = RUN_FUSE_INIT;
static struct cgdirs cgs[NCG];
static char cgprocfs_bin[4096];

#define ENABLE_URING HARNESS_FUSE_URING

enum transport {
	TRANSPORT_ANY,
	TRANSPORT_IO_URING,
	TRANSPORT_DEV_FUSE
};
static enum transport transport;
static char uring_saved; /* enable_uring before the test ('Y'/'N'), 0: untouched */
static pid_t extra_daemon;
static char extra_mnt[64];

static void setup(void)
{
	const char *t = getenv("CGPROC_TEST_FUSE_TRANSPORT");

	testcg_sweep();
	transport = !t				 ? TRANSPORT_ANY
		    : strcmp(t, "io_uring") == 0 ? TRANSPORT_IO_URING
						 : TRANSPORT_DEV_FUSE;
	uring_saved = 0;
	if (transport == TRANSPORT_ANY)
		return;
	if (transport == TRANSPORT_DEV_FUSE && access(ENABLE_URING, F_OK) != 0)
		return; /* a kernel without FUSE-over-io_uring: /dev/fuse it is */
	uring_saved = harness_fuse_uring();
	harness_require(uring_saved != 0,
			"needs " ENABLE_URING " (CONFIG_FUSE_IO_URING, kernel 6.14+)");
	cr_assert_eq(harness_fuse_uring_set(transport == TRANSPORT_IO_URING ? 'Y' : 'N'), 0);
}

static void teardown(void)
{
	run_fuse_stop(&rf);
	if (extra_daemon > 0) {
		kill(extra_daemon, SIGTERM);
		waitpid(extra_daemon, NULL, 0);
		extra_daemon = 0;
	}
	if (extra_mnt[0]) {
		umount2(extra_mnt, MNT_DETACH);
		rmdir(extra_mnt);
		extra_mnt[0] = 0;
	}
	if (uring_saved)
		harness_fuse_uring_set(uring_saved);
	for (int i = 0; i < NCG; i++)
		testcg_destroy(&cgs[i]);
}

/*
 * The daemon's io_uring instances (cgprocfs makes one per possible CPU) and the completions
 * each has posted so far (CqTail in its fdinfo), in fd order (queue order).
 */
#define RINGS_MAX 64
static int daemon_rings(pid_t pid, unsigned long long cqes[RINGS_MAX])
{
	char dir[64], link[PATH_MAX], path[PATH_MAX + 64];
	int fds[RINGS_MAX], n = 0;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	cr_assert(d, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) && n < RINGS_MAX) {
		ssize_t len;

		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = 0;
		if (strcmp(link, "anon_inode:[io_uring]") == 0)
			fds[n++] = atoi(de->d_name);
	}
	closedir(d);
	for (int i = 1; i < n; i++) /* insertion sort: fd order */
		for (int k = i; k > 0 && fds[k - 1] > fds[k]; k--) {
			int t = fds[k];

			fds[k] = fds[k - 1];
			fds[k - 1] = t;
		}
	for (int i = 0; i < n; i++) {
		FILE *f;
		char line[256];

		cqes[i] = 0;
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fds[i]);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "CqTail: %llu", &cqes[i]) == 1)
				break;
		fclose(f);
	}
	return n;
}

static unsigned long long sum(const unsigned long long *v, int n)
{
	unsigned long long s = 0;

	for (int i = 0; i < n; i++)
		s += v[i];
	return s;
}

static char *file_read(const char *path);

/* CPUs in /sys/devices/system/cpu/possible ("0-3,8-11"): the kernel's number of queues. */
static int cpus_possible(void)
{
	char *text = file_read("/sys/devices/system/cpu/possible"), *p;
	int count = 0;

	cr_assert(text);
	for (p = text; *p && *p != '\n';) {
		char *end;
		long a = strtol(p, &end, 10), b = a;

		cr_assert_neq(end, p, "possible: %s", text);
		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		count += (int)(b - a + 1);
		p = *end == ',' ? end + 1 : end;
	}
	free(text);
	return count;
}

/* The transport this run is about: the ring serves (io_uring) or no ring exists (dev-fuse). */
static void transport_check(pid_t pid, const char *mountpoint)
{
	unsigned long long before[RINGS_MAX], after[RINGS_MAX];
	char path[4200], *content;
	int n = 0;

	if (transport == TRANSPORT_ANY)
		return;
	snprintf(path, sizeof(path), "%s/proc/uptime", mountpoint);
	content = file_read(path); /* INIT is answered by now */
	cr_assert(content, "%s: %s", path, strerror(errno));
	free(content);
	if (transport == TRANSPORT_DEV_FUSE) {
		/* queue threads made before INIT close their rings when it is not used */
		for (int waited = 0; waited < 2000; waited += 10) {
			n = daemon_rings(pid, before);
			if (n == 0)
				break;
			usleep(10000);
		}
		cr_assert_eq(n, 0, "%d io_uring instances with enable_uring=N", n);
		return;
	}
	n = daemon_rings(pid, before);
	cr_assert_eq(n, cpus_possible(), "%d io_uring queues for %d possible CPUs", n,
		     cpus_possible());
	content = file_read(path);
	cr_assert(content);
	free(content);
	cr_assert_eq(daemon_rings(pid, after), n);
	/* open, read, read at EOF, release: at least two requests through the rings */
	cr_assert_geq(sum(after, n) - sum(before, n), 2, "the rings served nothing");
}

/* A private cgprocfs on a temporary mountpoint (never the shared /var/lib/cgproc). */
static void fs_start(void)
{
	harness_require_root();
	harness_require(access("/dev/fuse", R_OK | W_OK) == 0, "needs /dev/fuse");
	/* CGPROC_TEST_CGPROCFS: a wrapper (e.g. strace -f -c) to audit the daemon's syscalls */
	snprintf(cgprocfs_bin, sizeof(cgprocfs_bin), "%s",
		 getenv("CGPROC_TEST_CGPROCFS") ? getenv("CGPROC_TEST_CGPROCFS")
						: build_path("tools/cgprocfs/cgprocfs"));
	rf.cgprocfs = cgprocfs_bin;
	rf.private_instance = true;
	cr_assert_eq(run_fuse_start(&rf), 0, "cgprocfs did not come up");
	cr_assert_gt(rf.daemon, 0);
	transport_check(rf.daemon, rf.mountpoint);
}

static void cg_make(int i, const char *mem_bytes)
{
	cr_assert_eq(testcg_create(&cgs[i]), 0);
	if (!mem_bytes) {
		cr_assert_eq(testcg_limit_default(&cgs[i]), 0);
		return;
	}
	if (testcg_write(&cgs[i], "memory.limit_in_bytes", mem_bytes) == -ENOENT)
		cr_assert_eq(testcg_write(&cgs[i], "memory.max", mem_bytes), 0);
}

/* Run @argv as a "container": in cgroup @cg, files bound over /proc, sysinfo answered by us.
 * Returns its stdout; *ret_status gets the wait status. */
static char *container_run(struct cgdirs *cg, char *const argv[], int *ret_status)
{
	int out[2], status;
	char *text;
	pid_t pid;

	cr_assert_eq(run_fuse_prepare(&rf), 0);
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	pid = harness_fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		if (testcg_attach(cg, getpid()) < 0)
			_exit(124);
		if (run_fuse_child(&rf) < 0)
			_exit(125);
		execv(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	cr_assert_eq(run_fuse_supervise(&rf), 0, "no sysinfo listener fd from the child");
	text = harness_slurp_fd(out[0]);
	close(out[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	run_fuse_finish(&rf);
	if (ret_status)
		*ret_status = status;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s exited with %#x", argv[0],
		  status);
	return text;
}

static unsigned long long field_after(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	cr_assert(p, "no '%s' in:\n%s", key, text);
	return strtoull(p + strlen(key), NULL, 10);
}

static int count_lines_starting(const char *text, const char *prefix)
{
	int n = 0;

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			n++;
	return n;
}

static char *file_read(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *s;

	if (fd < 0)
		return NULL;
	s = harness_slurp_fd(fd);
	close(fd);
	return s;
}

static unsigned long long limit_kb_of(const char *bytes)
{
	return strtoull(bytes, NULL, 10) / 1024;
}

TestSuite(cgprocfs, .init = setup, .fini = teardown, .timeout = 240);

/* "MAJ:MIN" of the disk that holds @path (a partition's disk). */
static void disk_of(const char *path, char *ret, size_t size)
{
	char sys[128], *text;
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
	snprintf(ret, size, "%u:%u", major(st.st_dev), minor(st.st_dev));
	snprintf(sys, sizeof(sys), "/sys/dev/block/%s", ret);
	harness_require(access(sys, F_OK) == 0, "/var/tmp is on no block device");
	snprintf(sys, sizeof(sys), "/sys/dev/block/%s/partition", ret);
	if (access(sys, F_OK) != 0)
		return;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%s/../dev", ret);
	text = file_read(sys);
	cr_assert(text, "%s", sys);
	snprintf(ret, size, "%.*s", (int)strcspn(text, "\n"), text);
	free(text);
}

struct io_probe {
	char path[4200]; /* diskstats on the mount */
	char file[64];	 /* written with O_DIRECT */
};

/* In a fresh cgroup: stat the file (a getattr: rendered then, before any I/O), write 256 KiB
 * past the page cache, read the file at once. Exit 0 when it shows some device. */
static void stat_io_read(void *arg)
{
	const struct io_probe *p = arg;
	char text[8192];
	struct stat st;
	void *buf;
	ssize_t n;
	int fd;

	if (stat(p->path, &st) < 0 || posix_memalign(&buf, 4096, 65536) != 0)
		_exit(2);
	memset(buf, 'x', 65536);
	fd = open(p->file, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0600);
	if (fd < 0)
		_exit(3);
	for (int i = 0; i < 4; i++)
		if (write(fd, buf, 65536) != 65536)
			_exit(4);
	close(fd);
	unlink(p->file);
	fd = open(p->path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
	_exit(n > 0 ? 0 : 1);
}

/* A reader that stats /proc/diskstats, does block I/O and reads the file right away sees that
 * I/O, as procfs would show it: what it reads is rendered at its open, not what its stat saw. */
Test(cgprocfs, diskstats_read_after_own_io_is_fresh)
{
	struct io_probe p;
	char dev[64], limit[128];
	int status;
	pid_t pid;

	fs_start();
	disk_of("/var/tmp", dev, sizeof(dev));
	cg_make(0, NULL);
	/* v1 blkio counts a cgroup's I/O only on a queue with throttling configured: a limit no
	 * I/O here reaches (v2's io.stat counts without one) */
	snprintf(limit, sizeof(limit), "%s 1099511627776", dev);
	(void)testcg_write(&cgs[0], "blkio.throttle.write_bps_device", limit);
	snprintf(p.path, sizeof(p.path), "%s/proc/diskstats", rf.mountpoint);
	snprintf(p.file, sizeof(p.file), "/var/tmp/cgproc-diskstats-%d", (int)getpid());
	pid = testcg_fork(&cgs[0], stat_io_read, &p);
	cr_assert_gt(pid, 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	unlink(p.file);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "diskstats right after the reader's own I/O: %s (status 0x%x)",
		  WIFEXITED(status) && WEXITSTATUS(status) == 1 ? "empty" : "setup failed", status);
}

Test(cgprocfs, tree_matches_table_and_daemon_is_confined)
{
	char path[8192], status_path[64], *status;

	fs_start();
	vfile_foreach (vf) {
		struct stat st;
		char *content;

		snprintf(path, sizeof(path), "%s%s", rf.mountpoint, vf->path);
		if (vf->flags & VFILE_PER_PROCESS || access(vf->path, R_OK) != 0) {
			cr_assert_neq(stat(path, &st), 0, "%s should not be served", path);
			continue;
		}
		cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
		cr_assert_eq(st.st_mode, S_IFREG | 0444);
		content = file_read(path);
		cr_assert(content, "%s: %s", path, strerror(errno));
		/* uptime/stat/loadavg/pressure change between stat and read: only require a size
		 * for the caller (not 0, not 4096), exact where the content is stable */
		if (vf->id == VFILE_PROC_MEMINFO || vf->id == VFILE_PROC_CPUINFO ||
		    vf->id == VFILE_SYS_CPU_ONLINE)
			cr_assert_eq((size_t)st.st_size, strlen(content), "%s: st_size %lld vs %zu",
				     path, (long long)st.st_size, strlen(content));
		cr_assert_gt(strlen(content), 0);
		free(content);
		cr_assert_lt(open(path, O_WRONLY | O_CLOEXEC), 0);
	}
	snprintf(status_path, sizeof(status_path), "/proc/%d/status", rf.daemon);
	status = file_read(status_path);
	cr_assert(status);
	cr_assert(strstr(status, "Seccomp:\t2\n"), "daemon not confined:\n%s", status);
	free(status);
}

Test(cgprocfs, busybox_and_static_binary_see_the_container)
{
	char *cat_meminfo[] = {"/bin/busybox", "cat", "/proc/meminfo", NULL};
	char *cat_cpuinfo[] = {"/bin/busybox", "cat", "/proc/cpuinfo", NULL};
	char *top[] = {"/bin/busybox", "top", "-bn1", NULL};
	char *nproc[] = {"/bin/busybox", "nproc", NULL};
	char *free_[] = {"/bin/busybox", "free", NULL};
	char *uptime[] = {"/bin/busybox", "uptime", NULL};
	char probe_path[4096];
	char *probe[] = {probe_path, NULL};
	unsigned long long want = limit_kb_of("536870912"), used, fre;
	char *out;

	harness_require(access("/bin/busybox", X_OK) == 0, "needs busybox-static");
	fs_start();
	cg_make(0, NULL); /* 512 MiB, cpuset 0, half a CPU */

	out = container_run(&cgs[0], cat_meminfo, NULL);
	cr_expect_eq(field_after(out, "MemTotal:"), want, "meminfo:\n%s", out);
	free(out);

	out = container_run(&cgs[0], cat_cpuinfo, NULL);
	cr_expect_eq(count_lines_starting(out, "processor"), 1, "cpuinfo:\n%s", out);
	free(out);

	out = container_run(&cgs[0], top, NULL);
	used = field_after(out, "Mem: ");
	fre = field_after(out, "K used, ");
	cr_expect_eq(used + fre, want, "top header:\n%.300s", out);
	free(out);

	out = container_run(&cgs[0], nproc, NULL);
	cr_expect_eq(strtoul(out, NULL, 10), 1, "nproc: %s", out);
	free(out);

	/* sysinfo(2) through the listener */
	out = container_run(&cgs[0], free_, NULL);
	cr_expect_eq(field_after(out, "Mem:"), want, "free:\n%s", out);
	free(out);

	out = container_run(&cgs[0], uptime, NULL);
	cr_expect(strstr(out, "up 0 min"), "uptime of a new container: %s", out);
	free(out);

	snprintf(probe_path, sizeof(probe_path), "%s", build_path("tests/client/static-probe"));
	out = container_run(&cgs[0], probe, NULL);
	cr_expect_eq(field_after(out, "memtotal_kb "), want, "%s", out);
	cr_expect_eq(field_after(out, "stat_cpu_lines "), 2, "%s", out);
	cr_expect_eq(field_after(out, "sysinfo_errno "), 0, "%s", out);
	cr_expect_eq(field_after(out, "sysinfo_total_kb "), want, "%s", out);
	cr_expect_lt(field_after(out, "sysinfo_uptime "), 60, "%s", out);
	free(out);
}

/* The checks of lxcfs's own test scripts for proc files (tests/test_proc, test-read), as C. */
Test(cgprocfs, lxcfs_test_suite_checks)
{
	char *sh[] = {"/bin/busybox", "sh", "-c",
		      "cat /proc/uptime; echo @@; cat /proc/cpuinfo; echo @@; cat /proc/stat; "
		      "echo @@; cat /proc/meminfo; echo @@; cat /sys/devices/system/cpu/online",
		      NULL};
	char *out, *part[5], *save = NULL;
	regex_t re;
	int n = 0;

	harness_require(access("/bin/busybox", X_OK) == 0, "needs busybox-static");
	fs_start();
	cg_make(0, NULL);
	out = container_run(&cgs[0], sh, NULL);
	for (char *p = strtok_r(out, "@", &save); p && n < 5; p = strtok_r(NULL, "@", &save))
		part[n++] = p;
	cr_assert_eq(n, 5, "output: %s", out);
	/* a young container: uptime in lxcfs's shape ("0.05 0.01"), seconds since its start, below
	 * the host's (lxcfs checks below 1 s; the start takes longer on a slow machine) */
	cr_assert_eq(regcomp(&re, "^[0-9]+\\.[0-9]{2} [0-9]+\\.[0-9]{2}\n", REG_EXTENDED), 0);
	cr_expect_eq(regexec(&re, part[0], 0, NULL, 0), 0, "uptime: %s", part[0]);
	regfree(&re);
	{
		char *host = file_read("/proc/uptime");
		double up = strtod(part[0], NULL), host_up;

		cr_assert(host);
		host_up = strtod(host, NULL);
		free(host);
		cr_expect(up < 10.0 * harness_time_factor() && up < host_up,
			  "uptime %.2f s, the host's %.2f s", up, host_up);
	}
	cr_expect_eq(count_lines_starting(part[1] + 1, "processor"), 1, "cpuinfo: %s", part[1]);
	cr_expect_eq(count_lines_starting(part[2] + 1, "cpu"), 2, "stat: %.400s", part[2]);
	cr_expect_leq(field_after(part[3], "MemTotal:"), limit_kb_of("536870912"));
	cr_expect_eq(strncmp(part[4] + 1, "0\n", 2), 0, "online: %s", part[4]);
	free(out);
}

/* Supervisor death: the trapped call fails with ENOSYS, before and while waiting. */
Test(cgprocfs, sysinfo_listener_death_gives_enosys)
{
	int sock[2], go[2], res[2], fd, results[3];
	pid_t child, sup;

	harness_require_root();
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sock), 0);
	cr_assert_eq(pipe(go), 0);
	cr_assert_eq(pipe(res), 0);
	child = harness_fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		struct sysinfo si;
		char c;

		alarm(20); /* a hang fails the test instead of blocking it */
		fd = sysinfo_filter_install();
		if (fd < 0 || fd_send(sock[1], fd) < 0)
			_exit(1);
		close(fd);
		close(sock[0]);
		close(sock[1]);
		for (int i = 0; i < 3; i++) {
			int e;

			if (read(go[0], &c, 1) != 1)
				_exit(2);
			e = syscall(SYS_sysinfo, &si) == 0 ? 0 : errno;
			if (write(res[1], &e, sizeof(e)) != sizeof(e))
				_exit(3);
		}
		_exit(0);
	}
	close(sock[1]);
	cr_assert_eq(fd_recv(sock[0], &fd), 0);
	sup = harness_fork();
	cr_assert_geq(sup, 0);
	if (sup == 0)
		_exit(sysinfo_listener_serve(fd, -1) < 0 ? 1 : 0);
	close(fd); /* only the supervisor holds the listener now */

	/* 1: answered by the supervisor */
	cr_assert_eq(write(go[1], "g", 1), 1);
	cr_assert_eq(read(res[0], &results[0], sizeof(int)), sizeof(int));
	cr_expect_eq(results[0], 0, "answered call failed: %s", strerror(results[0]));

	/* 2: supervisor stopped, call pending, then supervisor killed */
	kill(sup, SIGSTOP);
	cr_assert_eq(write(go[1], "g", 1), 1);
	usleep(200000);
	kill(sup, SIGKILL);
	waitpid(sup, NULL, 0);
	cr_assert_eq(read(res[0], &results[1], sizeof(int)), sizeof(int));
	cr_expect_eq(results[1], ENOSYS, "pending call: %s", strerror(results[1]));

	/* 3: after the supervisor is gone */
	cr_assert_eq(write(go[1], "g", 1), 1);
	cr_assert_eq(read(res[0], &results[2], sizeof(int)), sizeof(int));
	cr_expect_eq(results[2], ENOSYS, "call after death: %s", strerror(results[2]));
	harness_kill(child);
}

struct reader_result {
	int reads, failed, wrong;
};

/* Read meminfo @iters times (or until @stop_fd is readable, iters 0) and check MemTotal. */
static struct reader_result reader_loop(const char *path, unsigned long long want_kb, int iters,
					int stop_fd)
{
	struct reader_result res = {0};
	char buf[8192];

	for (int i = 0; iters == 0 || i < iters; i++) {
		int fd;
		ssize_t n;
		char *p;

		if (iters == 0 && i % 16 == 0) {
			struct timeval tv = {0};
			fd_set set;

			FD_ZERO(&set);
			FD_SET(stop_fd, &set);
			if (select(stop_fd + 1, &set, NULL, NULL, &tv) > 0)
				break;
		}
		res.reads++;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			res.failed++;
			continue;
		}
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0) {
			res.failed++;
			continue;
		}
		buf[n] = 0;
		p = strstr(buf, "MemTotal:");
		if (!p || strtoull(p + 9, NULL, 10) != want_kb)
			res.wrong++;
	}
	return res;
}

static pid_t reader_spawn(struct cgdirs *cg, const char *path, unsigned long long want_kb,
			  int iters, int stop_fd, int res_fd, bool own_ns)
{
	pid_t pid = harness_fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct reader_result res;

		if (testcg_attach(cg, getpid()) < 0)
			_exit(1);
		if (own_ns) {
			/* through a bind mount, like a container */
			if (unshare(CLONE_NEWNS) < 0 ||
			    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
			    mount(path, "/proc/meminfo", NULL, MS_BIND, NULL) < 0)
				_exit(2);
			path = "/proc/meminfo";
		}
		res = reader_loop(path, want_kb, iters, stop_fd);
		if (write(res_fd, &res, sizeof(res)) != sizeof(res))
			_exit(3);
		_exit(0);
	}
	return pid;
}

Test(cgprocfs, concurrent_readers_each_see_their_cgroup, .timeout = 300)
{
	static const char *limits[NCG] = {"268435456", "335544320", "402653184", "469762048"};
	char path[4096];
	pid_t pids[16];
	int res[2], total = 0, failed = 0, wrong = 0;

	fs_start();
	for (int i = 0; i < NCG; i++)
		cg_make(i, limits[i]);
	snprintf(path, sizeof(path), "%s/proc/meminfo", rf.mountpoint);
	cr_assert_eq(pipe(res), 0);
	for (int i = 0; i < 16; i++)
		pids[i] = reader_spawn(&cgs[i % NCG], path, limit_kb_of(limits[i % NCG]), 5000, -1,
				       res[1], false);
	for (int i = 0; i < 16; i++) {
		struct reader_result r;
		int status;

		cr_assert_eq(read(res[0], &r, sizeof(r)), sizeof(r));
		total += r.reads;
		failed += r.failed;
		wrong += r.wrong;
		waitpid(pids[i], &status, 0);
	}
	cr_expect_eq(total, 16 * 5000);
	cr_expect_eq(failed, 0, "%d of %d reads failed", failed, total);
	cr_expect_eq(wrong, 0, "%d of %d reads showed another cgroup", wrong, total);
}

/* The inode of the serving library's memfd mapped in the daemon (one generation at a time). */
static int serve_lib_inodes(pid_t pid, unsigned long *ret_inode)
{
	char path[64], line[1024];
	unsigned long seen[8];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long ino;
		bool dup = false;

		if (!strstr(line, "memfd:cgprocfs-serve") ||
		    sscanf(line, "%*s %*s %*s %*s %lu", &ino) != 1)
			continue;
		for (int i = 0; i < n; i++)
			dup |= seen[i] == ino;
		if (!dup && n < 8)
			seen[n++] = ino;
	}
	fclose(f);
	if (n > 0)
		*ret_inode = seen[0];
	return n;
}

Test(cgprocfs, live_upgrade_under_load_loses_no_read, .timeout = 300)
{
	static const char *limits[2] = {"268435456", "469762048"};
	char path[4096];
	pid_t pids[4];
	int res[2], stop[2], total = 0, failed = 0, wrong = 0;
	unsigned long ino_before = 0, ino_after = 0;

	fs_start();
	for (int i = 0; i < 2; i++)
		cg_make(i, limits[i]);
	snprintf(path, sizeof(path), "%s/proc/meminfo", rf.mountpoint);
	cr_assert_eq(serve_lib_inodes(rf.daemon, &ino_before), 1);
	cr_assert_eq(pipe(res), 0);
	cr_assert_eq(pipe(stop), 0);
	/* two readers on the mount, two through bind mounts in their own mount namespace */
	for (int i = 0; i < 4; i++)
		pids[i] = reader_spawn(&cgs[i % 2], path, limit_kb_of(limits[i % 2]), 0, stop[0],
				       res[1], i >= 2);
	usleep(200000);
	for (int i = 0; i < 20; i++) {
		cr_assert_eq(kill(rf.daemon, SIGUSR1), 0);
		usleep(100000);
	}
	usleep(200000);
	cr_assert_eq(write(stop[1], "s", 1), 1);
	for (int i = 0; i < 4; i++) {
		struct reader_result r;

		cr_assert_eq(read(res[0], &r, sizeof(r)), sizeof(r));
		total += r.reads;
		failed += r.failed;
		wrong += r.wrong;
		waitpid(pids[i], NULL, 0);
	}
	cr_assert_eq(kill(rf.daemon, 0), 0, "daemon died during the upgrades");
	/* The daemon's reload thread loads the signalled upgrades one after another: a slow
	 * machine may still be loading one (then two generations are mapped for a moment). */
	for (unsigned waited = 0;
	     waited < 5000 * harness_time_factor() && serve_lib_inodes(rf.daemon, &ino_after) != 1;
	     waited += 20)
		usleep(20000);
	cr_expect_eq(serve_lib_inodes(rf.daemon, &ino_after), 1, "old generations still mapped");
	cr_expect_neq(ino_before, ino_after, "the library was never swapped");
	cr_expect_gt(total, 100);
	cr_expect_eq(failed, 0, "%d of %d reads failed during 20 upgrades", failed, total);
	cr_expect_eq(wrong, 0, "%d of %d reads were wrong during 20 upgrades", wrong, total);
	fprintf(stderr, "upgrade under load: %d reads, %d failed, %d wrong\n", total, failed,
		wrong);
}

/* @argv in cgroup @cg with the preload shim, outside any mount namespace trick. */
static char *shim_run(struct cgdirs *cg, char *const argv[])
{
	int out[2], status;
	char *text;
	pid_t pid;

	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	pid = harness_fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		if (testcg_attach(cg, getpid()) < 0)
			_exit(124);
		setenv("LD_PRELOAD", build_path("preload/libcgproc.so"), 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	text = harness_slurp_fd(out[0]);
	close(out[0]);
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: %#x", argv[0], status);
	return text;
}

/* Lines, first word of each line and word count of each line agree (values may differ). */
static bool same_shape(const char *a, const char *b)
{
	while (*a && *b) {
		const char *ea = strchrnul(a, '\n'), *eb = strchrnul(b, '\n');
		int wa = 0, wb = 0;
		size_t ka = strcspn(a, " \t:\n"), kb = strcspn(b, " \t:\n");

		/* a line's key must match, but a line that starts with a number (/proc/uptime)
		 * has no key: the clock may tick between the two reads */
		bool numeric = (*a >= '0' && *a <= '9') && (*b >= '0' && *b <= '9');

		if (!numeric && (ka != kb || strncmp(a, b, ka) != 0))
			return false;
		for (const char *p = a; p < ea; p++)
			wa += (p == a || p[-1] == ' ' || p[-1] == '\t') && *p != ' ' && *p != '\t';
		for (const char *p = b; p < eb; p++)
			wb += (p == b || p[-1] == ' ' || p[-1] == '\t') && *p != ' ' && *p != '\t';
		if (wa != wb)
			return false;
		a = *ea ? ea + 1 : ea;
		b = *eb ? eb + 1 : eb;
	}
	return *a == *b;
}

/* meminfo at two instants of the same reader: same keys, the limits exact, every usage figure
 * within @slack_kb (the reader's own allocations between the two reads move them). */
/* The meminfo lines made from the cgroup's own figures (cgproc(7)); the others are the host's
 * (Committed_AS, PageTables, KernelStack...), which other processes on the host move between the
 * two reads by any amount. */
static bool meminfo_from_cgroup(const char *line)
{
	static const char *const keys[] = {"MemFree:",
					   "MemAvailable:",
					   "Buffers:",
					   "Cached:",
					   "SwapCached:",
					   "Active:",
					   "Inactive:",
					   "Active(anon):",
					   "Inactive(anon):",
					   "Active(file):",
					   "Inactive(file):",
					   "Unevictable:",
					   "SwapFree:",
					   "Dirty:",
					   "Writeback:",
					   "AnonPages:",
					   "Mapped:",
					   "Shmem:",
					   "Slab:",
					   "SReclaimable:",
					   "SUnreclaim:",
					   "AnonHugePages:",
					   NULL};

	for (const char *const *k = keys; *k; k++)
		if (!strncmp(line, *k, strlen(*k)))
			return true;
	return false;
}

static bool meminfo_close(const char *a, const char *b, unsigned long long slack_kb)
{
	if (!same_shape(a, b))
		return false;
	while (*a && *b) {
		const char *ca = strchr(a, ':'), *cb = strchr(b, ':');
		unsigned long long va, vb;
		bool limit;

		if (!ca || !cb)
			return false;
		va = strtoull(ca + 1, NULL, 10);
		vb = strtoull(cb + 1, NULL, 10);
		limit = !strncmp(a, "MemTotal:", 9) || !strncmp(a, "SwapTotal:", 10);
		if (limit ? va != vb
			  : meminfo_from_cgroup(a) && (va > vb ? va - vb : vb - va) > slack_kb)
			return false;
		a = strchrnul(a, '\n');
		b = strchrnul(b, '\n');
		a += *a ? 1 : 0;
		b += *b ? 1 : 0;
	}
	return *a == *b;
}

/*
 * For processes in two different cgroups, every file served by cgprocfs equals what the preload
 * shim gives the same process (one `cat` reads both, cgprocfs first). Timing fields are
 * excepted: uptime (both fields), stat (cpu times, and the host's intr/ctxt/processes counters),
 * loadavg (running/total and last pid), pressure (totals and averages), vmstat (the host's
 * numa_*, allocation and compaction counters), node0/meminfo (the usage): for those, lines and
 * fields must match in shape. meminfo: keys and limits exact, the cgroup's usage within 1 MiB
 * (the shim's first use allocates in the reader between the two reads), host-wide lines in shape.
 * Everything else byte-identical in one of a few attempts (diskstats moves with the rest of the
 * machine).
 */
Test(cgprocfs, same_bytes_as_the_preload_shim)
{
	char sep_path[] = "/tmp/cgproc-sep-XXXXXX", fuse_path[8192];
	const char *sep = "\n@@CGPROC-SEPARATOR@@\n";
	int sepfd;

	harness_require(access(build_path("preload/libcgproc.so"), R_OK) == 0,
			"needs the preload shim (build/preload/libcgproc.so)");
	fs_start();
	cg_make(0, NULL);
	cg_make(1, "268435456");
	sepfd = mkstemp(sep_path);
	cr_assert_geq(sepfd, 0);
	cr_assert_eq(write(sepfd, sep, strlen(sep)), (ssize_t)strlen(sep));
	close(sepfd);
	for (int c = 0; c < 2; c++) {
		vfile_foreach (vf) {
			bool timing = vf->id == VFILE_PROC_UPTIME || vf->id == VFILE_PROC_STAT ||
				      vf->id == VFILE_PROC_LOADAVG ||
				      vf->id == VFILE_PROC_PRESSURE_CPU ||
				      vf->id == VFILE_PROC_PRESSURE_MEMORY ||
				      vf->id == VFILE_PROC_PRESSURE_IO ||
				      vf->id == VFILE_PROC_VMSTAT ||	 /* host-wide lines move */
				      vf->id == VFILE_SYS_NODE0_MEMINFO; /* usage, as meminfo */
			bool ok = false;
			char *out = NULL, *fuse_part = NULL, *shim_part = NULL;

			if (vf->flags & VFILE_PER_PROCESS || access(vf->path, R_OK) != 0)
				continue;
			snprintf(fuse_path, sizeof(fuse_path), "%s%s", rf.mountpoint, vf->path);
			for (int attempt = 0; attempt < 5 && !ok; attempt++) {
				char *argv[] = {"/bin/cat", fuse_path, sep_path, (char *)vf->path,
						NULL};
				char *mid;

				free(out);
				out = shim_run(&cgs[c], argv);
				mid = strstr(out, sep);
				cr_assert(mid, "no separator in: %s", out);
				*mid = 0;
				fuse_part = out;
				shim_part = mid + strlen(sep);
				if (timing)
					ok = same_shape(fuse_part, shim_part);
				else if (vf->id == VFILE_PROC_MEMINFO)
					ok = meminfo_close(fuse_part, shim_part, 1024);
				else
					ok = strcmp(fuse_part, shim_part) == 0;
			}
			cr_expect(ok, "cgroup %d, %s differs:\n--- cgprocfs\n%s\n--- shim\n%s", c,
				  vf->path, fuse_part, shim_part);
			/* the container's view, not the host's: the limit shows in both */
			if (vf->id == VFILE_PROC_MEMINFO)
				cr_expect_eq(field_after(fuse_part, "MemTotal:"),
					     limit_kb_of(c == 0 ? "536870912" : "268435456"));
			free(out);
		}
	}
	unlink(sep_path);
}

static bool is_mounted(const char *mountpoint)
{
	char *mounts = file_read("/proc/self/mounts"), needle[4200];
	bool found;

	cr_assert(mounts);
	snprintf(needle, sizeof(needle), " %s ", mountpoint);
	found = strstr(mounts, needle) != NULL;
	free(mounts);
	return found;
}

/* The CLI end to end: `cgproc run --fuse` with a private cgprocfs, nothing left behind. */
Test(cgprocfs, cgproc_run_fuse_end_to_end)
{
	char cmd[12288], mnt[4096] = "";
	char *out = NULL;
	const char *from;
	int status;

	harness_require_root();
	harness_require(access("/bin/busybox", X_OK) == 0, "needs busybox-static");
	/* stderr into stdout: --verbose names the private mountpoint there */
	snprintf(cmd, sizeof(cmd),
		 "CGPROC_CGPROCFS=%s %s run --fuse --verbose --memory 512M --cpus 0 -- "
		 "/bin/busybox sh -c 'busybox free; echo @@; cat /proc/meminfo; echo @@; nproc; "
		 "grep -c ^processor /proc/cpuinfo' 2>&1",
		 build_path("tools/cgprocfs/cgprocfs"), build_path("tools/cgproc"));
	status = harness_sh(cmd, &out, NULL);
	cr_assert_eq(status, 0, "cgproc run --fuse: %#x\n%s", status, out);
	cr_expect_eq(field_after(out, "Mem:"), limit_kb_of("536870912"), "%s", out);
	cr_expect_eq(field_after(out, "MemTotal:"), limit_kb_of("536870912"), "%s", out);
	cr_expect(strstr(out, "@@\n1\n1\n"), "nproc and cpuinfo: %s", out);
	/* the private instance is gone, mount and directory */
	from = strstr(out, "cgprocfs files from ");
	cr_assert(from, "%s", out);
	sscanf(from + strlen("cgprocfs files from "), "%4095s", mnt);
	if (strcmp(mnt, "/var/lib/cgproc") != 0) {
		cr_expect(!is_mounted(mnt), "%s left mounted", mnt);
		cr_expect_neq(access(mnt, F_OK), 0, "%s left behind", mnt);
	}
	free(out);
}

/*
 * `cgproc run --fuse` binds the whole /sys/devices/system/cpu: programs that count its cpuN
 * entries or read their topology see the box's one CPU (the host has two or more): ls, nproc
 * --all, getconf _NPROCESSORS_CONF, lscpu, Python, hwloc over the whole system, and a static
 * program's get_nprocs_conf().
 */
Test(cgprocfs, cpu_directory_under_run_fuse)
{
	char cmd[8192], probe_path[4096];
	char *out = NULL;
	int status;

	harness_require_root();
	harness_require(access("/sys/devices/system/cpu/cpu1", F_OK) == 0, "needs 2 CPUs");
	snprintf(probe_path, sizeof(probe_path), "%s", build_path("tests/client/static-probe"));
	snprintf(cmd, sizeof(cmd),
		 "CGPROC_CGPROCFS=%s %s run --fuse --memory 512M --cpus 0 -- sh -c '"
		 "echo ls_begin; ls /sys/devices/system/cpu; echo ls_end; "
		 "echo nproc_all $(nproc --all); echo getconf_conf $(getconf _NPROCESSORS_CONF); "
		 "lscpu; echo py_cpu_count $(python3 -c \"import os; print(os.cpu_count())\"); "
		 "echo hwloc_pus $(lstopo-no-graphics --whole-system --of console | grep -c \"PU "
		 "L#\"); "
		 "echo pkg $(cat /sys/devices/system/cpu/cpu0/topology/package_cpus_list); "
		 "echo node_cpulist $(cat /sys/devices/system/node/node0/cpulist); "
		 "cat /sys/devices/system/node/node0/meminfo; %s' 2>&1",
		 build_path("tools/cgprocfs/cgprocfs"), build_path("tools/cgproc"), probe_path);
	status = harness_sh(cmd, &out, NULL);
	cr_assert_eq(status, 0, "cgproc run --fuse: %#x\n%s", status, out);
	cr_expect(strstr(out, "ls_begin\ncpu0\n"), "ls: %s", out);
	cr_expect(!strstr(out, "\ncpu1\n"), "ls shows a hidden CPU: %s", out);
	cr_expect(strstr(out, "\nkernel_max\n"), "ls lacks the host's other entries: %s", out);
	cr_expect_eq(field_after(out, "nproc_all "), 1, "%s", out);
	cr_expect_eq(field_after(out, "getconf_conf "), 1, "%s", out);
	cr_expect_eq(field_after(out, "CPU(s):"), 1, "lscpu:\n%s", out);
	cr_expect(strstr(out, "On-line CPU(s) list:"), "%s", out);
	cr_expect_eq(field_after(out, "On-line CPU(s) list:"), 0, "%s", out);
	cr_expect_eq(field_after(out, "py_cpu_count "), 1, "%s", out);
	cr_expect_eq(field_after(out, "hwloc_pus "), 1, "%s", out);
	cr_expect(strstr(out, "\npkg 0\n"), "cpu0's package_cpus_list: %s", out);
	cr_expect_eq(field_after(out, "nprocs_conf "), 1, "%s", out);
	/* node0: the box's CPU and memory (this host is one NUMA node) */
	cr_expect(strstr(out, "\nnode_cpulist 0\n"), "%s", out);
	cr_expect_eq(field_after(out, "Node 0 MemTotal:"), 524288, "%s", out);
	free(out);
}

/* htop's CPU meters: one per entry of /sys/devices/system/cpu it counts ("CPU" alone for one),
 * read from a tmux pane (a private tmux server: its own socket, our environment), under the shim
 * and under cgprocfs, once htop has drawn them (up to 20 s). The server is killed whatever the
 * outcome. */
Test(cgprocfs, htop_meters_under_run_and_run_fuse)
{
	static const char *const modes[] = {"", "--fuse"};

	harness_require_root();
	harness_require(access("/sys/devices/system/cpu/cpu1", F_OK) == 0, "needs 2 CPUs");
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char sock[64], cmd[8192];
		char *out = NULL;
		bool one, many;
		int status;

		snprintf(sock, sizeof(sock), "cgproc-test-htop-%d-%zu", (int)getpid(), i);
		snprintf(cmd, sizeof(cmd),
			 "tmux -L %s new-session -d -x 160 -y 40 'TERM=xterm CGPROC_CGPROCFS=%s %s "
			 "run %s --memory 512M --cpus 0 -- htop' || exit 1; for n in $(seq 40); do "
			 "sleep 0.5; p=$(tmux -L %s capture-pane -p); case $p in *'['*) break;; "
			 "esac; done; sleep 1; tmux -L %s capture-pane -p",
			 sock, build_path("tools/cgprocfs/cgprocfs"), build_path("tools/cgproc"),
			 modes[i], sock, sock);
		status = harness_sh(cmd, &out, NULL);
		snprintf(cmd, sizeof(cmd), "tmux -L %s kill-server", sock);
		(void)harness_sh(cmd, NULL, NULL);
		cr_assert_eq(status, 0, "tmux: %#x\n%s", status, out);
		one = strstr(out, "CPU[") != NULL;
		many = strstr(out, " 0[") != NULL || strstr(out, " 1[") != NULL;
		cr_expect(one && !many, "htop's CPU meters (run %s):\n%s", modes[i], out);
		free(out);
	}
}

/* A container-like reader (own pid and cgroup namespaces, in a sub-cgroup of the container's
 * cgroup): the daemon resolves it from the host side to the namespace root, under seccomp. */
Test(cgprocfs, namespaced_reader_gets_its_namespace_root)
{
	char path[4096], sub[512];
	int out[2], status;
	pid_t pid;
	char *text;

	fs_start();
	cg_make(0, "268435456");
	snprintf(path, sizeof(path), "%s/proc/meminfo", rf.mountpoint);
	cr_assert_eq(pipe(out), 0);
	pid = harness_fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		pid_t inner;

		dup2(out[1], STDOUT_FILENO);
		if (testcg_attach(&cgs[0], getpid()) < 0 ||
		    unshare(CLONE_NEWPID | CLONE_NEWCGROUP) < 0)
			_exit(124);
		inner = harness_fork();
		if (inner == 0) {
			/* a nested service cgroup inside the "container" must not shrink it */
			for (int i = 0; i < cgs[0].n; i++) {
				if (strcmp(cgs[0].ctrl[i], "memory") != 0)
					continue;
				snprintf(sub, sizeof(sub), "%s/service", cgs[0].dir[i]);
				if (mkdir(sub, 0755) == 0) {
					char procs[600];
					FILE *f;

					snprintf(procs, sizeof(procs), "%s/cgroup.procs", sub);
					f = fopen(procs, "we");
					if (f) {
						fprintf(f, "%d\n", (int)getpid());
						fclose(f);
					}
				}
			}
			execl("/bin/cat", "cat", path, NULL);
			_exit(127);
		}
		waitpid(inner, &status, 0);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 125);
	}
	close(out[1]);
	text = harness_slurp_fd(out[0]);
	close(out[0]);
	waitpid(pid, &status, 0);
	for (int i = 0; i < cgs[0].n; i++) {
		snprintf(sub, sizeof(sub), "%s/service", cgs[0].dir[i]);
		rmdir(sub);
	}
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "reader: %#x", status);
	cr_expect_eq(field_after(text, "MemTotal:"), limit_kb_of("268435456"), "%s", text);
	cr_assert_eq(kill(rf.daemon, 0), 0, "daemon died (seccomp?)");
	free(text);
}

/* MemTotal (kB) of one read of @path, 0 on failure. */
static unsigned long long memtotal_read(const char *path)
{
	char buf[8192], *p;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strstr(buf, "MemTotal:");
	return p ? strtoull(p + 9, NULL, 10) : 0;
}

/* Fork a child that joins @cg and reports one MemTotal of @path, unless its pid is not @want
 * (then it exits 99 without reading). Returns the child's pid; *ret_kb gets its MemTotal. */
static pid_t pid_reader_run(struct cgdirs *cg, const char *path, pid_t want,
			    unsigned long long *ret_kb, int *ret_status)
{
	unsigned long long kb = 0;
	int res[2];
	pid_t pid;

	cr_assert_eq(pipe(res), 0);
	pid = harness_fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(res[0]);
		if (want > 0 && getpid() != want)
			_exit(99);
		if (testcg_attach(cg, getpid()) < 0)
			_exit(124);
		kb = memtotal_read(path);
		_exit(write(res[1], &kb, sizeof(kb)) == sizeof(kb) ? 0 : 125);
	}
	close(res[1]);
	if (read(res[0], &kb, sizeof(kb)) != sizeof(kb))
		kb = 0;
	close(res[0]);
	waitpid(pid, ret_status, 0);
	*ret_kb = kb;
	return pid;
}

/*
 * The daemon keeps what it resolved about a caller (callers.c), and that must never answer for
 * another process: a pid reused by a process in another cgroup gets its own cgroup at once; a
 * process moved to another cgroup (cgroup.procs) sees it within the one-second freshness; a
 * changed memory limit shows on the next read; a cgroup removed and made again is read anew.
 */
Test(cgprocfs, kept_state_follows_pid_reuse_moves_limits_and_remade_cgroups, .timeout = 120)
{
	static const char *limits[2] = {"268435456", "469762048"};
	char path[4096], last[32];
	unsigned long long kb = 0;
	int status = 0, go[2], res[2];
	pid_t first, again = 0, mover;
	struct timespec t0, t1;
	const char *memdir = NULL;
	long waited_ms;

	fs_start();
	cg_make(0, limits[0]);
	cg_make(1, limits[1]);
	snprintf(path, sizeof(path), "%s/proc/meminfo", rf.mountpoint);

	/* 1: pid reuse. Ask the kernel for the same pid again through ns_last_pid (root, initial
	 * pid namespace); other processes forking meanwhile may take it: retry. */
	first = pid_reader_run(&cgs[0], path, 0, &kb, &status);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "first reader: %#x", status);
	cr_assert_eq(kb, limit_kb_of(limits[0]));
	for (int attempt = 0; attempt < 200 && again != first; attempt++) {
		int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
		int len = snprintf(last, sizeof(last), "%d", (int)first - 1);

		harness_require(fd >= 0, "needs /proc/sys/kernel/ns_last_pid (root)");
		cr_assert_eq(write(fd, last, (size_t)len), len);
		close(fd);
		again = pid_reader_run(&cgs[1], path, first, &kb, &status);
		if (again != first)
			cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 99);
	}
	harness_require(again == first, "the first reader's pid was never handed out again");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "second reader: %#x", status);
	cr_expect_eq(kb, limit_kb_of(limits[1]), "pid %d reused in another cgroup: %llu kB",
		     (int)first, kb);

	/* 2: a move between cgroups, then 3: a changed limit */
	cr_assert_eq(pipe(go), 0);
	cr_assert_eq(pipe(res), 0);
	mover = harness_fork();
	cr_assert_geq(mover, 0);
	if (mover == 0) {
		long ms = -1;
		char c;

		if (testcg_attach(&cgs[0], getpid()) < 0 ||
		    memtotal_read(path) != limit_kb_of(limits[0]))
			_exit(124);
		if (read(go[0], &c, 1) != 1) /* moved to cgroup 1 by the parent */
			_exit(125);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
			if (memtotal_read(path) == limit_kb_of(limits[1]) || ms > 5000)
				break;
			usleep(1000);
		}
		if (write(res[1], &ms, sizeof(ms)) != sizeof(ms))
			_exit(126);
		if (read(go[0], &c, 1) != 1) /* cgroup 1's limit changed by the parent */
			_exit(127);
		ms = (long)memtotal_read(path);
		_exit(write(res[1], &ms, sizeof(ms)) == sizeof(ms) ? 0 : 126);
	}
	usleep(100000);
	cr_assert_eq(testcg_attach(&cgs[1], mover), 0);
	cr_assert_eq(write(go[1], "m", 1), 1);
	cr_assert_eq(read(res[0], &waited_ms, sizeof(waited_ms)), sizeof(waited_ms));
	cr_expect(waited_ms >= 0 && waited_ms <= 1500,
		  "a moved process saw its new cgroup after %ld ms (kept for 1 s at most)",
		  waited_ms);
	if (testcg_write(&cgs[1], "memory.limit_in_bytes", "402653184") == -ENOENT)
		cr_assert_eq(testcg_write(&cgs[1], "memory.max", "402653184"), 0);
	cr_assert_eq(write(go[1], "l", 1), 1);
	cr_assert_eq(read(res[0], &waited_ms, sizeof(waited_ms)), sizeof(waited_ms));
	cr_expect_eq((unsigned long long)waited_ms, limit_kb_of("402653184"),
		     "a changed limit did not show on the next read");
	waitpid(mover, &status, 0);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "mover: %#x", status);
	close(go[0]);
	close(go[1]);
	close(res[0]);
	close(res[1]);

	/* 4: the memory cgroup removed and made again under the same name (a container restarted)
	 * right after a read: the daemon's kept fds of the old one must not answer (they read
	 * ENODEV; the host's file would be served). */
	for (int i = 0; i < cgs[1].n && !memdir; i++)
		if (strstr(cgs[1].ctrl[i], "memory") || strcmp(cgs[1].ctrl[i], "unified") == 0)
			memdir = cgs[1].dir[i];
	cr_assert(memdir, "no memory hierarchy in the test cgroup");
	pid_reader_run(&cgs[1], path, 0, &kb, &status);
	cr_assert_eq(kb, limit_kb_of("402653184"));
	for (int tries = 0; rmdir(memdir) < 0 && tries < 100; tries++)
		usleep(10000); /* the reader's exit may still be leaving the cgroup */
	cr_assert_eq(mkdir(memdir, 0755), 0, "%s: %s", memdir, strerror(errno));
	if (testcg_write(&cgs[1], "memory.limit_in_bytes", "335544320") == -ENOENT)
		cr_assert_eq(testcg_write(&cgs[1], "memory.max", "335544320"), 0);
	pid_reader_run(&cgs[1], path, 0, &kb, &status);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "reader: %#x", status);
	cr_expect_eq(kb, limit_kb_of("335544320"), "the re-made cgroup read as %llu kB", kb);
}

/* Pin this thread to @cpu; false when the CPU is not online. */
static bool pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) == 0;
}

/*
 * FUSE-over-io_uring: a request is served by the queue of the CPU its caller runs on. Reading
 * pinned to each CPU in turn moves the completions of one ring each, a different ring per CPU.
 * With /dev/fuse only, the same reads work from every CPU.
 */
Test(cgprocfs, each_cpu_is_served_by_its_own_queue)
{
	unsigned long long before[RINGS_MAX], after[RINGS_MAX];
	int ncpu = get_nprocs_conf(), served_by[RINGS_MAX];
	cpu_set_t saved;
	char path[4200];

	fs_start();
	cr_assert_lt(ncpu, RINGS_MAX);
	cr_assert_eq(sched_getaffinity(0, sizeof(saved), &saved), 0);
	snprintf(path, sizeof(path), "%s/proc/meminfo", rf.mountpoint);
	for (int cpu = 0; cpu < ncpu; cpu++) {
		int n = 0, best = -1;

		served_by[cpu] = -1;
		if (!pin_to(cpu))
			continue;
		if (transport == TRANSPORT_IO_URING)
			n = daemon_rings(rf.daemon, before);
		for (int i = 0; i < 50; i++) {
			char *content = file_read(path);

			cr_assert(content, "%s on CPU %d: %s", path, cpu, strerror(errno));
			cr_assert(strstr(content, "MemTotal:"), "%s", content);
			free(content);
		}
		if (transport != TRANSPORT_IO_URING)
			continue;
		cr_assert_eq(daemon_rings(rf.daemon, after), n);
		for (int q = 0; q < n; q++)
			if (best < 0 || after[q] - before[q] > after[best] - before[best])
				best = q;
		/* 50 x (open, read, read at EOF, release): at least 100 on this CPU's queue */
		cr_assert_geq(after[best] - before[best], 100, "CPU %d: busiest ring moved %llu",
			      cpu, after[best] - before[best]);
		served_by[cpu] = best;
		for (int other = 0; other < cpu; other++)
			cr_expect(served_by[other] != best,
				  "CPUs %d and %d were served by the same ring", other, cpu);
	}
	sched_setaffinity(0, sizeof(saved), &saved);
}

/* A second private daemon (@opt: an extra option or NULL), its stderr in @log (or NULL). */
static void extra_start(const char *opt, const char *fault, const char *log)
{
	harness_require_root();
	harness_require(access("/dev/fuse", R_OK | W_OK) == 0, "needs /dev/fuse");
	snprintf(extra_mnt, sizeof(extra_mnt), "/tmp/cgproc-fuse-XXXXXX");
	cr_assert(mkdtemp(extra_mnt));
	extra_daemon = harness_fork();
	cr_assert_geq(extra_daemon, 0);
	if (extra_daemon == 0) {
		int fd = log ? open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;

		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		/* one process (the rings are checked in it); a fault needs the test build */
		if (fault)
			setenv("CGPROCFS_TEST_FAULT", fault, 1);
		execl(build_path(fault ? "tools/cgprocfs/cgprocfs-faults"
				       : "tools/cgprocfs/cgprocfs"),
		      "cgprocfs", "--no-supervisor", opt ? opt : "--foreground", extra_mnt,
		      (char *)NULL);
		_exit(127);
	}
	for (int waited = 0; waited < 5000 && !is_mounted(extra_mnt); waited += 10)
		usleep(10000);
	cr_assert(is_mounted(extra_mnt), "the second cgprocfs did not mount");
}

/* Reads from every CPU in turn: each must complete (a request stuck on a queue would hang the
 * test into its timeout) with the right content. */
static void read_on_every_cpu(const char *mountpoint, int times)
{
	char path[4200];
	cpu_set_t saved;

	cr_assert_eq(sched_getaffinity(0, sizeof(saved), &saved), 0);
	snprintf(path, sizeof(path), "%s/proc/meminfo", mountpoint);
	for (int cpu = 0; cpu < get_nprocs_conf(); cpu++) {
		if (!pin_to(cpu))
			continue;
		for (int i = 0; i < times; i++) {
			char *content = file_read(path);

			cr_assert(content, "%s on CPU %d: %s", path, cpu, strerror(errno));
			cr_assert(strstr(content, "MemTotal:"), "%s", content);
			free(content);
		}
	}
	sched_setaffinity(0, sizeof(saved), &saved);
}

/* --no-io-uring: the classic loop only, even where the kernel offers the ring. */
Test(cgprocfs, no_io_uring_option_serves_through_dev_fuse)
{
	unsigned long long cqes[RINGS_MAX];
	int n;

	extra_start("--no-io-uring", NULL, NULL);
	read_on_every_cpu(extra_mnt, 10);
	n = daemon_rings(extra_daemon, cqes);
	cr_assert_eq(n, 0, "%d io_uring instances despite --no-io-uring", n);
}

/*
 * After the INIT reply asked for the ring, the kernel refuses a queue's REGISTER (a fault the
 * daemon injects for tests: a payload buffer shorter than the kernel wants). The kernel then
 * turns the ring off for the connection and /dev/fuse serves: no request hangs, no ring serves.
 */
Test(cgprocfs, ring_refused_after_init_falls_back_to_dev_fuse)
{
	unsigned long long before[RINGS_MAX], after[RINGS_MAX];
	char log[64], *text;
	int n;

	snprintf(log, sizeof(log), "/tmp/cgprocfs-fault-%d.log", (int)getpid());
	extra_start(NULL, "ring-register", log);
	read_on_every_cpu(extra_mnt, 2);
	n = daemon_rings(extra_daemon, before);
	read_on_every_cpu(extra_mnt, 10);
	cr_assert_eq(daemon_rings(extra_daemon, after), n);
	/* the refused queue's thread has left; any other ring never got a request */
	for (int i = 0; i < n; i++)
		cr_expect_eq(after[i], before[i], "ring %d served after the refusal", i);
	text = file_read(log);
	unlink(log);
	cr_assert(text);
	if (transport == TRANSPORT_IO_URING)
		cr_expect(strstr(text, "io_uring queue 0 refused (Invalid argument): serving "
				       "through /dev/fuse"),
			  "%s", text);
	free(text);
}
