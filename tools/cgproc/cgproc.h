/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cgproc CLI: one file per subcommand, dispatched from main.c. */
#pragma once

int cmd_show(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Exit codes shared by all subcommands. */
#define EXIT_USAGE 2
/* `cgproc run` returns the command's status; these mirror env(1)/timeout(1): */
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND 127
#define EXIT_SETUP 125 /* cgproc itself failed before the command ran */

/*
 * `cgproc run --fuse` (run-fuse.c): the command sees the cgprocfs files bound over /proc and
 * /sys/devices/system/cpu in a private mount namespace, and sysinfo(2) answered by this process.
 *
 *   struct run_fuse rf = RUN_FUSE_INIT;
 *   run_fuse_start(&rf);             parent, before fork (reuses /var/lib/cgproc when cgprocfs is
 *                                    mounted there, else starts a private instance)
 *   child:  join the cgroup; run_fuse_child(&rf); exec
 *   parent: run_fuse_supervise(&rf); wait for the child; run_fuse_stop(&rf);
 *
 * All return 0 or -errno (run_fuse_start prints why it failed). run_fuse_stop is safe after a
 * failed start and undoes everything (listener thread, private daemon, temporary mountpoint).
 */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

struct run_fuse {
	const char
		*cgprocfs; /* in: cgprocfs binary; NULL = $CGPROC_CGPROCFS, next to cgproc, PATH */
	bool private_instance; /* in: never reuse /var/lib/cgproc */
	char mountpoint[PATH_MAX];
	pid_t daemon; /* the private cgprocfs we started, 0 when reusing a shared one */
	bool own_mountpoint;
	int sock[2]; /* child -> parent: the sysinfo listener fd */
	int stop[2]; /* parent -> listener thread: stop */
	int notify_fd;
	bool listening;
	pthread_t listener;
};

#define RUN_FUSE_INIT                                                                              \
	{                                                                                          \
		.sock = {-1, -1}, .stop = {-1, -1}, .notify_fd = -1                                \
	}

enum cgprocfs_mount {
	CGPROCFS_MOUNT_NONE, /* no cgprocfs mounted at the path */
	CGPROCFS_MOUNT_LIVE,
	CGPROCFS_MOUNT_DEAD, /* mounted, but its daemon is gone: every access is ENOTCONN */
};

/* What is mounted at @path (in our mount namespace). */
enum cgprocfs_mount cgprocfs_mount_state(const char *path);

int run_fuse_start(struct run_fuse *rf);
int run_fuse_child(struct run_fuse *rf);
int run_fuse_supervise(struct run_fuse *rf);
void run_fuse_stop(struct run_fuse *rf);
/* For several commands on one instance: fresh sockets before each fork (run_fuse_start does the
 * first), and stop the listener and close them after each command. */
int run_fuse_prepare(struct run_fuse *rf);
/* Is @path the root of a cgprocfs mount in our mount namespace? */
bool cgprocfs_mounted_at(const char *path);
/*
 * The binds that give a mount namespace cgprocfs's view (`cgproc run --fuse`, the OCI hook):
 * @bind(src, dest, @arg) for /sys/devices/system/cpu as a whole when the cgprocfs at @mountpoint
 * serves the directory, then for every system-wide file it serves that is not in it; src is the
 * path under @mountpoint, dest the path it covers. @bind returns 0, -ENOENT (src or dest missing:
 * a file the host lacks, such as PSI's, is neither served nor there to cover; skipped) or
 * another -errno (stops). The number bound, or that -errno.
 */
typedef int (*cgprocfs_bind_fn)(const char *src, const char *dest, void *arg);
int cgprocfs_binds(const char *mountpoint, cgprocfs_bind_fn bind, void *arg);
void run_fuse_finish(struct run_fuse *rf);

/*
 * sysinfo(2) by seccomp user notification (sysinfo-listener.c).
 * sysinfo_filter_install: in the process to be answered (it and its children): no_new_privs and a
 * filter that traps native sysinfo only; returns the listener fd (O_CLOEXEC).
 * sysinfo_listener_serve: answer each trapped call for its caller's machine cgroup (host view)
 * until every filtered process is gone or @stop_fd (-1: none) becomes readable. Any notify fd
 * works, e.g. one a container runtime received for an OCI profile with SCMP_ACT_NOTIFY.
 */
int sysinfo_filter_install(void);
int sysinfo_listener_serve(int notify_fd, int stop_fd);
/* One fd over a unix socket (SCM_RIGHTS); the received fd is O_CLOEXEC. */
int fd_send(int sock, int fd);
int fd_recv(int sock, int *ret_fd);
