/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgprocfs survives its worker: a private supervised daemon on a temporary mountpoint, 8 readers
 * in 4 cgroups (each with its own memory limit) loop over every served file while the worker is
 * killed 20 times; every read must succeed with the answer for the reader's own cgroup. Half the
 * readers read through bind mounts made in their own mount namespace before the kills (as a
 * container does) and never re-bind. Variants: SIGKILL from outside; the worker killing itself in
 * the middle of a rendering (the test build's fault hook); the same on a connection that behaves
 * as on a kernel without FUSE_NOTIFY_RESEND (requests replayed from the worker's records), where
 * no reader may be left waiting either. The worst read latency seen is printed, not asserted.
 * Also: a dead mount is told apart from a live one (cgproc run --fuse, cgproc doctor).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../tools/cgproc/cgproc.h"
#include "harness.h"
#include "vfile.h"

#define NCG 4
#define NREADERS 8
#define KILLS 20
#define FILES_MAX 32

struct reader_stats {
	unsigned long reads, failures, wrong;
	unsigned long long worst_ns;
	char first_error[160];
};

struct shared {
	int stop;
	int ready[NREADERS];
	struct reader_stats r[NREADERS];
};

static struct cgdirs cgs[NCG];
static char mnt[64];
static pid_t supervisor;
static pid_t readers[NREADERS];
static struct shared *sh;
static char *files[FILES_MAX];
static bool maybe_empty[FILES_MAX];
static int nfiles;

static void teardown(void)
{
	if (sh)
		__atomic_store_n(&sh->stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < NREADERS; i++)
		if (readers[i] > 0)
			kill(readers[i], SIGKILL);
	if (supervisor > 0) {
		kill(supervisor, SIGTERM);
		waitpid(supervisor, NULL, 0);
		supervisor = 0;
	}
	for (int i = 0; i < NREADERS; i++) {
		if (readers[i] > 0) {
			waitpid(readers[i], NULL, 0);
			readers[i] = 0;
		}
	}
	if (mnt[0]) {
		umount2(mnt, MNT_DETACH);
		rmdir(mnt);
		mnt[0] = 0;
	}
	for (int i = 0; i < NCG; i++)
		testcg_destroy(&cgs[i]);
	for (int i = 0; i < nfiles; i++)
		free(files[i]);
	nfiles = 0;
	if (sh)
		munmap(sh, sizeof(*sh));
	sh = NULL;
}

static void setup(void)
{
	testcg_sweep();
}

TestSuite(restart, .init = setup, .fini = teardown, .timeout = 300);

static bool is_mounted(const char *path)
{
	char line[4096];
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	while (f && !found && fgets(line, sizeof(line), f)) {
		char m[4096];

		found = sscanf(line, "%*s %*s %*s %*s %4095s", m) == 1 && strcmp(m, path) == 0;
	}
	if (f)
		fclose(f);
	return found;
}

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

/* The daemon's current worker: the supervisor's only child. */
static pid_t worker_of(pid_t sup)
{
	char path[64], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)sup, (int)sup);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return (pid_t)strtol(buf, NULL, 10);
}

/* A supervised daemon on @mnt (@bin: cgprocfs or cgprocfs-faults, @fault: CGPROCFS_TEST_FAULT).
 */
static void daemon_run(const char *bin, const char *fault)
{
	supervisor = harness_fork();
	cr_assert_geq(supervisor, 0);
	if (supervisor == 0) {
		unsetenv("NOTIFY_SOCKET"); /* the supervisor, not a service manager, keeps the fd */
		if (fault)
			setenv("CGPROCFS_TEST_FAULT", fault, 1);
		execl(build_path(bin), "cgprocfs", "--quiet", mnt, (char *)NULL);
		_exit(127);
	}
	for (unsigned waited = 0; waited < 5000 * harness_time_factor() &&
				  cgprocfs_mount_state(mnt) != CGPROCFS_MOUNT_LIVE;
	     waited += 10)
		usleep(10000);
	cr_assert_eq(cgprocfs_mount_state(mnt), CGPROCFS_MOUNT_LIVE, "cgprocfs did not mount %s",
		     mnt);
	cr_assert_gt(worker_of(supervisor), 0, "no worker under the supervisor");
}

/* A private mountpoint (removed in teardown). */
static void mnt_make(void)
{
	harness_require_root();
	harness_require(access("/dev/fuse", R_OK | W_OK) == 0, "needs /dev/fuse");
	snprintf(mnt, sizeof(mnt), "/tmp/cgproc-restart-XXXXXX");
	cr_assert(mkdtemp(mnt));
}

static void daemon_start(const char *bin, const char *fault)
{
	mnt_make();
	daemon_run(bin, fault);
}

static void cgroups_make(void)
{
	for (int i = 0; i < NCG; i++) {
		char limit[32];

		cr_assert_eq(testcg_create(&cgs[i]), 0);
		snprintf(limit, sizeof(limit), "%d", (256 + 64 * i) << 20);
		if (testcg_write(&cgs[i], "memory.limit_in_bytes", limit) == -ENOENT)
			cr_assert_eq(testcg_write(&cgs[i], "memory.max", limit), 0);
	}
}

/* Files whose rendering always has content (diskstats of a cgroup without I/O can be empty). */
static bool never_empty(const char *path)
{
	static const char *const full[] = {"/proc/meminfo", "/proc/cpuinfo", "/proc/stat",
					   "/proc/uptime", "/proc/loadavg"};

	for (size_t i = 0; i < sizeof(full) / sizeof(full[0]); i++)
		if (strcmp(path, full[i]) == 0)
			return true;
	return false;
}

/* Every served file (the table's non-per-process entries that the mount has). */
static void files_list(void)
{
	vfile_foreach (vf) {
		char path[4200];
		struct stat st;

		if (vf->flags & VFILE_PER_PROCESS || nfiles == FILES_MAX)
			continue;
		snprintf(path, sizeof(path), "%s%s", mnt, vf->path);
		if (stat(path, &st) == 0 && stat(vf->path, &st) == 0) {
			maybe_empty[nfiles] = !never_empty(vf->path);
			files[nfiles++] = strdup(vf->path);
		}
	}
	cr_assert_gt(nfiles, 3, "only %d files served", nfiles);
}

static void fail(struct reader_stats *st, const char *what, const char *path, int err)
{
	if (__atomic_load_n(&sh->stop, __ATOMIC_RELAXED))
		return; /* the end of the test, the connection going with it */
	st->failures++;
	if (!st->first_error[0])
		snprintf(st->first_error, sizeof(st->first_error), "%s %s: %s", what, path,
			 strerror(err));
}

/* One reader: in cgroup @cg; @bound: the files bound over /proc and /sys in a mount namespace
 * of its own (as in a container), else read at the mount. */
static void reader(int idx, struct cgdirs *cg, unsigned long long limit_kb, bool bound)
{
	struct reader_stats *st = &sh->r[idx];
	static char buf[1 << 16];

	if (testcg_attach(cg, getpid()) < 0)
		_exit(2);
	if (bound) {
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(3);
		for (int i = 0; i < nfiles; i++) {
			char src[4200];

			snprintf(src, sizeof(src), "%s%s", mnt, files[i]);
			if (mount(src, files[i], NULL, MS_BIND, NULL) < 0)
				_exit(4);
		}
	}
	while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED)) {
		for (int i = 0; i < nfiles; i++) {
			char path[4200];
			unsigned long long t0 = now_ns(), dt;
			size_t len = 0;
			ssize_t n;
			int fd;

			snprintf(path, sizeof(path), "%s%s", bound ? "" : mnt, files[i]);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				fail(st, "open", path, errno);
				continue;
			}
			while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
				len += (size_t)n;
			if (n < 0)
				fail(st, "read", path, errno);
			close(fd);
			dt = now_ns() - t0;
			if (dt > st->worst_ns)
				st->worst_ns = dt;
			st->reads++;
			buf[len] = 0;
			if (n == 0 && len == 0 && !maybe_empty[i])
				fail(st, "empty", path, ENODATA);
			if (strcmp(files[i], "/proc/meminfo") == 0) {
				const char *m = strstr(buf, "MemTotal:");

				if (!m || strtoull(m + 9, NULL, 10) != limit_kb) {
					st->wrong++;
					if (!st->first_error[0])
						snprintf(st->first_error, sizeof(st->first_error),
							 "%s: %.60s, wanted %llu kB", path,
							 m ? m : buf, limit_kb);
				}
			}
		}
		__atomic_store_n(&sh->ready[idx], 1, __ATOMIC_RELAXED);
	}
	_exit(0);
}

static void readers_start(void)
{
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(sh, MAP_FAILED);
	memset(sh, 0, sizeof(*sh));
	for (int i = 0; i < NREADERS; i++) {
		readers[i] = harness_fork();
		cr_assert_geq(readers[i], 0);
		if (readers[i] == 0)
			reader(i, &cgs[i % NCG], (256ULL + 64ULL * (i % NCG)) << 10, i % 2 == 0);
	}
	for (unsigned waited = 0; waited < 10000 * harness_time_factor(); waited += 10) {
		int ready = 0;

		for (int i = 0; i < NREADERS; i++)
			ready += __atomic_load_n(&sh->ready[i], __ATOMIC_RELAXED);
		if (ready == NREADERS)
			return;
		usleep(10000);
	}
	cr_assert_fail("the readers did not get through the files once");
}

/* Wait for the supervisor to have a worker other than @old; returns it. */
static pid_t worker_replaced(pid_t old)
{
	for (unsigned waited = 0; waited < 5000 * harness_time_factor(); waited += 5) {
		pid_t w = worker_of(supervisor);

		if (w > 0 && w != old)
			return w;
		usleep(5000);
	}
	cr_assert_fail("no new worker %u s after worker %d died", 5 * harness_time_factor(),
		       (int)old);
	return 0;
}

/*
 * Stop the readers and check what they saw: every read succeeded, every meminfo was the
 * reader's own, the readers kept reading after the last kill, and none still waits for an
 * answer (on any kernel: with FUSE_NOTIFY_RESEND the kernel hands the dead worker's requests to
 * the next one, without it the next one replays them from the state memfd).
 */
static void readers_check(const char *what, unsigned long before_last[NREADERS])
{
	unsigned long long worst = 0;
	unsigned long reads = 0;

	usleep(300000);
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < NREADERS; i++) {
		int status = 0;
		pid_t r = 0;

		for (int waited = 0; waited < 3000 && r == 0; waited += 10) {
			r = waitpid(readers[i], &status, WNOHANG);
			if (r == 0)
				usleep(10000);
		}
		cr_assert_eq(r, readers[i], "reader %d still waits for an answer", i);
		readers[i] = 0;
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "reader %d: status 0x%x (setup failed)", i, status);
	}
	for (int i = 0; i < NREADERS; i++) {
		struct reader_stats *st = &sh->r[i];

		cr_expect_eq(st->failures, 0, "reader %d: %lu failed reads, first: %s", i,
			     st->failures, st->first_error);
		cr_expect_eq(st->wrong, 0, "reader %d: %lu answers not for its cgroup, first: %s",
			     i, st->wrong, st->first_error);
		cr_expect_gt(st->reads, before_last[i], "reader %d read nothing after the kills",
			     i);
		reads += st->reads;
		if (st->worst_ns > worst)
			worst = st->worst_ns;
	}
	fprintf(stderr,
		"# %s: %lu reads by %d readers in %d cgroups, %d worker deaths, 0 failed, 0 "
		"waiting; worst open+read+close %.1f ms\n",
		what, reads, NREADERS, NCG, KILLS, (double)worst / 1e6);
}

static void kills_from_outside(const char *what)
{
	unsigned long before_last[NREADERS];

	for (int k = 0; k < KILLS; k++) {
		pid_t w = worker_of(supervisor);

		cr_assert_gt(w, 0);
		usleep(150000); /* let the readers get well into requests (and the supervisor
				 * takes a worker dying younger than 100 ms for a crash loop) */
		if (k == KILLS - 1)
			for (int i = 0; i < NREADERS; i++)
				before_last[i] = sh->r[i].reads;
		cr_assert_eq(kill(w, SIGKILL), 0);
		worker_replaced(w);
	}
	readers_check(what, before_last);
}

/* The worker dies by its own fault hook, in the middle of a rendering, again and again. */
static void kills_in_render(const char *what)
{
	unsigned long before_last[NREADERS];
	pid_t w = worker_of(supervisor);

	for (int k = 0; k < KILLS; k++) {
		if (k == KILLS - 1)
			for (int i = 0; i < NREADERS; i++)
				before_last[i] = sh->r[i].reads;
		w = worker_replaced(w);
	}
	readers_check(what, before_last);
}

Test(restart, sigkill_20_times_no_failed_read)
{
	daemon_start("tools/cgprocfs/cgprocfs", NULL);
	cgroups_make();
	files_list();
	readers_start();
	kills_from_outside("SIGKILL of the worker");
	cr_assert(is_mounted(mnt));
}

Test(restart, killed_in_render_20_times_no_failed_read)
{
	daemon_start("tools/cgprocfs/cgprocfs-faults", "kill-render=300");
	cgroups_make();
	files_list();
	readers_start();
	kills_in_render("worker killed in a rendering");
}

/* A kernel without FUSE_NOTIFY_RESEND (masked on kernels that have it): the requests the dead
 * worker had taken are replayed from its records, none is lost. */
Test(restart, without_resend_requests_are_replayed)
{
	daemon_start("tools/cgprocfs/cgprocfs-faults", "no-resend");
	cgroups_make();
	files_list();
	readers_start();
	kills_from_outside("no FUSE_NOTIFY_RESEND, SIGKILL of the worker");
}

Test(restart, without_resend_killed_in_render)
{
	daemon_start("tools/cgprocfs/cgprocfs-faults", "no-resend,kill-render=300");
	cgroups_make();
	files_list();
	readers_start();
	kills_in_render("no FUSE_NOTIFY_RESEND, worker killed in a rendering");
}

Test(restart, sigterm_unmounts)
{
	int status;
	pid_t w;

	daemon_start("tools/cgprocfs/cgprocfs", NULL);
	w = worker_of(supervisor);
	cr_assert_eq(kill(supervisor, SIGTERM), 0);
	cr_assert_eq(waitpid(supervisor, &status, 0), supervisor);
	supervisor = 0;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", status);
	cr_assert(!is_mounted(mnt), "%s still mounted", mnt);
	cr_assert(kill(w, 0) < 0 && errno == ESRCH, "worker %d still runs", (int)w);
}

/* A daemon killed without a supervisor leaves a dead mount: cgproc's check says so, and a new
 * cgprocfs on the same mountpoint replaces it. */
Test(restart, dead_mount_detected_and_replaced)
{
	pid_t single;
	struct stat st;
	char path[128];

	mnt_make();
	single = harness_fork();
	cr_assert_geq(single, 0);
	if (single == 0) {
		execl(build_path("tools/cgprocfs/cgprocfs"), "cgprocfs", "--quiet",
		      "--no-supervisor", mnt, (char *)NULL);
		_exit(127);
	}
	for (unsigned waited = 0; waited < 5000 * harness_time_factor() && !is_mounted(mnt);
	     waited += 10)
		usleep(10000);
	cr_assert(is_mounted(mnt));
	cr_assert_eq(cgprocfs_mount_state(mnt), CGPROCFS_MOUNT_LIVE);
	kill(single, SIGKILL);
	waitpid(single, NULL, 0);
	snprintf(path, sizeof(path), "%s/proc/uptime", mnt);
	cr_assert(open(path, O_RDONLY) < 0 && errno == ENOTCONN, "not a dead mount");
	cr_assert_eq(cgprocfs_mount_state(mnt), CGPROCFS_MOUNT_DEAD);
	/* a supervised cgprocfs takes the mountpoint over */
	daemon_run("tools/cgprocfs/cgprocfs", NULL);
	snprintf(path, sizeof(path), "%s/proc/uptime", mnt);
	cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(cgprocfs_mount_state(mnt), CGPROCFS_MOUNT_LIVE);
}

/* The fault hooks exist only in the test build: the daemon that is installed has no code that
 * reads them, whatever its environment. */
Test(restart, production_daemon_has_no_fault_hooks)
{
	static const char needle[] = "CGPROCFS_TEST_FAULT";
	const char *bins[] = {"tools/cgprocfs/cgprocfs", "tools/cgprocfs/cgprocfs-faults"};

	for (int b = 0; b < 2; b++) {
		FILE *f = fopen(build_path(bins[b]), "re");
		size_t matched = 0;
		bool found = false;
		int c;

		cr_assert(f, "%s: %s", bins[b], strerror(errno));
		while (!found && (c = fgetc(f)) != EOF) {
			matched = c == needle[matched] ? matched + 1 : c == needle[0] ? 1 : 0;
			found = matched == sizeof(needle) - 1;
		}
		fclose(f);
		/* the test build has it: the search would find it if it were there */
		cr_assert_eq(found, b == 1, "%s %s the fault hooks", bins[b],
			     found ? "has" : "lacks");
	}
}
