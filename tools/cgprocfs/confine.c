/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The seccomp allowlist of cgprocfs, applied after the mount exists (mounting needs far more).
 *
 * The list was found by running the client suite with the daemon under `strace -f -c` and
 * covers: the FUSE loop (read/writev on /dev/fuse, worker threads), the core (read-only opens
 * and reads of /proc and cgroup files, directory scans), live upgrade (memfd copy + dlopen of the
 * serving library), signals and exit (umount2 of our own mount, unlink of the pidfile), and the
 * io_uring queues' waits and submissions (io_uring_enter only: ring.c sets up before confinement).
 * Default action: kill the process, so a missing entry is loud in tests, never a silent EPERM.
 */
#include <errno.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <linux/fuse.h>
#include <sys/prctl.h>

#include "confine.h"
#include "model/macro.h"

static const char *const allowed[] = {
	/* I/O on /dev/fuse, proc and cgroup files */
	"read",
	"readv",
	"pread64",
	"write",
	"writev",
	"openat",
	"openat2", /* source/read.c: cgroup files opened beneath the root, no symlinks */
	"open",
	"close",
	"lseek",
	"fstat",
	"newfstatat",
	"statx",
	"stat",
	"lstat",
	"getdents64",
	"readlink",
	"readlinkat",
	"faccessat",
	"faccessat2",
	"access",
	"fcntl",
	"poll",
	"ppoll",
	/* FUSE-over-io_uring queues (ring.c): rings and threads exist before confinement */
	"io_uring_enter",
	/* memory, threads, time */
	"mmap",
	"munmap",
	"mprotect",
	"mremap",
	"madvise",
	"brk",
	"futex",
	"set_robust_list",
	"rseq",
	"clone",
	"clone3",
	"exit",
	"exit_group",
	"gettid",
	"getpid",
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"clock_gettime",
	"gettimeofday",
	"nanosleep",
	"clock_nanosleep",
	"sched_yield",
	"sched_getaffinity",
	"getrandom",
	"prlimit64",
	/* signals */
	"rt_sigaction",
	"rt_sigprocmask",
	"rt_sigreturn",
	"sigaltstack",
	"tgkill",
	"tkill",
	"restart_syscall",
	/* callers.c: a kept caller is held by a pidfd, polled for its exit */
	"pidfd_open",
	/* live upgrade: copy the library into a memfd and dlopen it */
	"memfd_create",
	/* shutdown: our own mount and pidfile */
	"umount2",
	"unlink",
	"unlinkat",
};

int confine_apply(void)
{
	const scmp_datum_t fuse_dev_ioc_clone = FUSE_DEV_IOC_CLONE;
	scmp_filter_ctx ctx;
	int r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -ENOMEM;
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(allowed); i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);

		if (nr == __NR_SCMP_ERROR)
			continue; /* not a syscall on this architecture (e.g. "open" on arm64) */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	/* libfuse's worker threads clone the /dev/fuse channel: that one ioctl and no other. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_EQ, fuse_dev_ioc_clone));
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}
