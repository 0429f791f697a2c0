/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `cgproc run --fuse`: the command runs in its own mount namespace with the cgprocfs files bound
 * over /proc/<file> and /sys/devices/system/cpu/<file>, and with sysinfo(2) trapped and answered
 * by this process (sysinfo-listener.c). Covers static binaries that the preload shim cannot.
 *
 * The served files come from a cgprocfs already mounted at /var/lib/cgproc, or from a private
 * instance on a temporary mountpoint that lives as long as the command. cgprocfs answers every
 * read for the reading process's own cgroup, so one instance serves any number of commands.
 *
 * Sequence (run.c): run_fuse_start() before fork; in the child, after joining the cgroup,
 * run_fuse_child() right before exec; in the parent run_fuse_supervise() after fork, and
 * run_fuse_stop() once the command has exited.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgproc-config.h"
#include "cgproc.h"
#include "model/macro.h"
#include "model/cgpath.h"
#include "util.h"
#include "vfile.h"

#define SHARED_MOUNTPOINT "/var/lib/cgproc"
#define START_TIMEOUT_MS 5000

/* Is @path the root of a cgprocfs mount in our mount namespace? (Dead or alive.) */
bool cgprocfs_mounted_at(const char *path)
{
	_cleanup_free_ char *text = NULL;
	struct mountinfo_entry e;
	struct span rest;
	size_t len;

	if (file_read_all("/proc/self/mountinfo", &text, &len) < 0)
		return false;
	rest = (struct span){text, len};
	while (mountinfo_next(&rest, &e)) {
		char mnt[PATH_MAX];

		if (span_eq(e.fstype, "fuse.cgprocfs") &&
		    mountinfo_unescape(e.mount, false, mnt, sizeof(mnt)) == 0 &&
		    strcmp(mnt, path) == 0)
			return true;
	}
	return false;
}

/*
 * A FUSE mount whose connection is gone (its daemon killed with no supervisor or fd store
 * holding the connection, or the supervisor stopped) answers every access with ENOTCONN, until
 * it is unmounted; binding its files would bind nothing that works.
 */
enum cgprocfs_mount cgprocfs_mount_state(const char *path)
{
	struct statfs st;

	if (!cgprocfs_mounted_at(path))
		return CGPROCFS_MOUNT_NONE;
	/* statfs always asks the daemon; stat may be answered from the attribute cache */
	if (statfs(path, &st) < 0)
		return errno == ENOTCONN ? CGPROCFS_MOUNT_DEAD : CGPROCFS_MOUNT_LIVE;
	/* detached since mountinfo was read (a new cgprocfs replacing a dead mount): the directory
	 * beneath answered */
	if (st.f_type != FUSE_SUPER_MAGIC)
		return CGPROCFS_MOUNT_NONE;
	return CGPROCFS_MOUNT_LIVE;
}

static int cgprocfs_path(const struct run_fuse *rf, char *out, size_t size)
{
	char exe[PATH_MAX], *slash;
	const char *env = getenv("CGPROC_CGPROCFS");
	ssize_t n;

	if (rf->cgprocfs && rf->cgprocfs[0]) {
		snprintf(out, size, "%s", rf->cgprocfs);
		return 0;
	}
	if (env && *env) {
		snprintf(out, size, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			/* build tree (tools/cgprocfs/cgprocfs), then installed side by side */
			snprintf(out, size, "%s/cgprocfs/cgprocfs", exe);
			if (access(out, X_OK) == 0)
				return 0;
			snprintf(out, size, "%s/cgprocfs", exe);
			if (access(out, X_OK) == 0)
				return 0;
			snprintf(out, size, "%s/../sbin/cgprocfs", exe);
			if (access(out, X_OK) == 0)
				return 0;
		}
	}
	snprintf(out, size, "cgprocfs"); /* PATH */
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int daemon_start(struct run_fuse *rf)
{
	char bin[PATH_MAX];
	pid_t pid;

	if (!mkdtemp(rf->mountpoint))
		return -errno;
	rf->own_mountpoint = true;
	cgprocfs_path(rf, bin, sizeof(bin));
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* one process: the instance lives and dies with the command, and uses
		 * FUSE-over-io_uring where offered (a supervised one cannot, see cgprocfs(8)) */
		char *argv[] = {bin, "--quiet", "--no-supervisor", rf->mountpoint, NULL};
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		sigset_t none;

		/* Not in the command's session (a ^C to the command must not take its files away),
		 * and gone with us if we are killed. The caller may have blocked the signals it
		 * forwards to its command: a blocked mask survives exec, and cgprocfs needs
		 * SIGTERM and SIGUSR1. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (int sig = 1; sig < NSIG; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				signal(sig, SIG_DFL);
		setsid();
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
		}
		execvp(bin, argv);
		fprintf(stderr, "cgproc: cannot execute %s: %m\n", bin);
		_exit(EXIT_CANNOT_EXEC);
	}
	rf->daemon = pid;
	for (int waited = 0; waited < START_TIMEOUT_MS; waited += 10) {
		int status;

		if (cgprocfs_mounted_at(rf->mountpoint))
			return 0;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			rf->daemon = 0;
			return -ECHILD;
		}
		sleep_ms(10);
	}
	return -ETIMEDOUT;
}

int run_fuse_prepare(struct run_fuse *rf)
{
	int r;

	run_fuse_finish(rf);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rf->sock) < 0 ||
	    pipe2(rf->stop, O_CLOEXEC) < 0) {
		r = -errno;
		run_fuse_finish(rf);
		return r;
	}
	return 0;
}

int run_fuse_start(struct run_fuse *rf)
{
	int r;

	rf->daemon = 0;
	rf->own_mountpoint = false;
	rf->sock[0] = rf->sock[1] = rf->stop[0] = rf->stop[1] = -1;
	rf->notify_fd = -1;
	rf->listening = false;
	r = run_fuse_prepare(rf);
	if (r < 0)
		return r;
	if (!rf->private_instance) {
		switch (cgprocfs_mount_state(SHARED_MOUNTPOINT)) {
		case CGPROCFS_MOUNT_LIVE:
			snprintf(rf->mountpoint, sizeof(rf->mountpoint), "%s", SHARED_MOUNTPOINT);
			return 0;
		case CGPROCFS_MOUNT_DEAD:
			fprintf(stderr,
				"cgproc: the cgprocfs mount at %s is disconnected (its daemon died "
				"unsupervised; restart cgprocfs to replace it): starting a private "
				"cgprocfs\n",
				SHARED_MOUNTPOINT);
			break;
		case CGPROCFS_MOUNT_NONE:
			break;
		}
	}
	snprintf(rf->mountpoint, sizeof(rf->mountpoint), "/tmp/cgproc-fuse-XXXXXX");
	r = daemon_start(rf);
	if (r < 0) {
		fprintf(stderr, "cgproc: cannot start cgprocfs on %s: %s\n", rf->mountpoint,
			r == -ECHILD ? "it exited (see its messages above)" : strerror(-r));
		run_fuse_stop(rf);
		return r;
	}
	return 0;
}

int cgprocfs_binds(const char *mountpoint, cgprocfs_bind_fn bind, void *arg)
{
	char src[PATH_MAX + 64];
	bool cpudir = false;
	struct stat st;
	int bound = 0, r;

	/* The whole CPU directory, from a cgprocfs that serves it (one that has its host entries:
	 * kernel_max); its table files are in it. An older cgprocfs: the table files alone. */
	snprintf(src, sizeof(src), "%s%s/kernel_max", mountpoint, VFILE_CPU_DIR);
	if (stat(src, &st) == 0) {
		snprintf(src, sizeof(src), "%s%s", mountpoint, VFILE_CPU_DIR);
		r = bind(src, VFILE_CPU_DIR, arg);
		if (r < 0 && r != -ENOENT)
			return r;
		cpudir = r >= 0;
		bound += cpudir;
	}
	vfile_foreach (vf) {
		if (vf->flags & VFILE_PER_PROCESS)
			continue;
		if (cpudir && strncmp(vf->path, VFILE_CPU_DIR "/", sizeof(VFILE_CPU_DIR)) == 0)
			continue;
		snprintf(src, sizeof(src), "%s%s", mountpoint, vf->path);
		r = bind(src, vf->path, arg);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return r;
		bound++;
	}
	return bound;
}

static int bind_here(const char *src, const char *dest, void *arg)
{
	struct stat st;

	(void)arg;
	/* a file the host lacks (no PSI) is neither served nor there to cover */
	if (stat(src, &st) < 0 || stat(dest, &st) < 0)
		return -ENOENT;
	return mount(src, dest, NULL, MS_BIND, NULL) < 0 ? -errno : 0;
}

int run_fuse_child(struct run_fuse *rf)
{
	int fd, r;

	close(rf->sock[0]);
	close(rf->stop[0]);
	close(rf->stop[1]);
	if (unshare(CLONE_NEWNS) < 0)
		return -errno;
	/* our binds must not propagate back to the host */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	r = cgprocfs_binds(rf->mountpoint, bind_here, NULL);
	if (r < 0)
		return r;
	fd = sysinfo_filter_install();
	if (fd < 0)
		return fd;
	r = fd_send(rf->sock[1], fd);
	close(fd); /* only the supervisor may hold it: its death must mean ENOSYS, not a hang */
	close(rf->sock[1]);
	return r;
}

static void *listener_thread(void *arg)
{
	struct run_fuse *rf = arg;
	int r = sysinfo_listener_serve(rf->notify_fd, rf->stop[0]);

	if (r < 0)
		fprintf(stderr, "cgproc: sysinfo listener: %s\n", strerror(-r));
	return NULL;
}

int run_fuse_supervise(struct run_fuse *rf)
{
	int r;

	close(rf->sock[1]);
	rf->sock[1] = -1;
	r = fd_recv(rf->sock[0], &rf->notify_fd);
	if (r < 0)
		return r; /* the child failed before exec and says why itself */
	r = -pthread_create(&rf->listener, NULL, listener_thread, rf);
	if (r < 0)
		return r;
	rf->listening = true;
	return 0;
}

void run_fuse_finish(struct run_fuse *rf)
{
	if (rf->listening) {
		char c = 'q';

		if (write(rf->stop[1], &c, 1) == 1)
			pthread_join(rf->listener, NULL);
		rf->listening = false;
	}
	for (int i = 0; i < 2; i++) {
		if (rf->sock[i] >= 0)
			close(rf->sock[i]);
		if (rf->stop[i] >= 0)
			close(rf->stop[i]);
		rf->sock[i] = rf->stop[i] = -1;
	}
	if (rf->notify_fd >= 0)
		close(rf->notify_fd);
	rf->notify_fd = -1;
}

void run_fuse_stop(struct run_fuse *rf)
{
	run_fuse_finish(rf);
	if (rf->daemon > 0) {
		int status;

		/* Detach first: the daemon then sees its device close and exits on its own. */
		umount2(rf->mountpoint, MNT_DETACH);
		kill(rf->daemon, SIGTERM);
		for (int waited = 0; waitpid(rf->daemon, &status, WNOHANG) == 0; waited += 10) {
			if (waited >= 2000) {
				kill(rf->daemon, SIGKILL);
				waitpid(rf->daemon, &status, 0);
				break;
			}
			sleep_ms(10);
		}
		rf->daemon = 0;
	}
	if (rf->own_mountpoint) {
		rmdir(rf->mountpoint);
		rf->own_mountpoint = false;
	}
}
