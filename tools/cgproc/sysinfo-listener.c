/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysinfo(2) for processes the preload shim cannot reach (static binaries, Go, busybox):
 * a seccomp filter traps native sysinfo with SECCOMP_RET_USER_NOTIF, and a supervisor on the host
 * answers each call from the core (vfile_sysinfo: the same numbers as /proc/meminfo and
 * /proc/uptime for that process), writing the caller's struct sysinfo through its
 * /proc/<pid>/mem (notif-write.h: the handle is bound to the caller, never to its pid).
 *
 * The filter traps sysinfo only and lets every other syscall, and every non-native ABI, through:
 * the cost falls on sysinfo alone (research/interposition.md section 5). If the supervisor dies,
 * the kernel fails the trapped call with ENOSYS; the caller never hangs.
 *
 * The listener takes any notify fd: `cgproc run --fuse` gets it from its child over a socketpair;
 * a container runtime could hand over the fd its OCI seccomp profile produced
 * (linux.seccomp.listenerPath with SCMP_ACT_NOTIFY on sysinfo) the same way.
 *
 * Must not: write into the caller by pid (only through notif-write.h's handle), reply before
 * re-validating the notification id, or write anything but the caller's struct sysinfo.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "cgproc.h"
#include "notif-write.h"
#include "vfile.h"

#if defined(__x86_64__)
#define ARCH_NATIVE AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH_NATIVE AUDIT_ARCH_AARCH64
#endif

#define SCRATCH_SIZE (256 * 1024)

int sysinfo_filter_install(void)
{
#ifdef ARCH_NATIVE
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH_NATIVE, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW), /* compat ABIs: not ours */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		/* exact number: x32 calls (nr | __X32_SYSCALL_BIT) fall through to allow */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sysinfo, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(insns) / sizeof(insns[0]), .filter = insns};
	long fd;

	/* Without CAP_SYS_ADMIN a filter needs no_new_privs; with it we still set it, so a setuid
	 * binary can never run under a filter whose listener someone else holds. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	fd = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
		     &prog);
	if (fd < 0)
		return -errno;
	return (int)fd;
#else
	return -EOPNOTSUPP;
#endif
}

int fd_send(int sock, int fd)
{
	char data = 'F';
	struct iovec iov = {.iov_base = &data, .iov_len = 1};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control = {0};
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int fd_recv(int sock, int *ret_fd)
{
	char data;
	struct iovec iov = {.iov_base = &data, .iov_len = 1};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *cmsg;
	ssize_t n;
	int fd;

	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET; /* the sender exited without sending */
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS ||
	    cmsg->cmsg_len != CMSG_LEN(sizeof(int)))
		return -EBADMSG;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	*ret_fd = fd;
	return 0;
}

struct answerer {
	struct cg_src src;
	struct cgproc_config config;
	char *scratch;
};

/* The container's struct sysinfo for @pid, starting from the host's. */
static int sysinfo_compute(struct answerer *a, pid_t pid, struct sysinfo *ret)
{
	struct cg_machine *m = malloc(sizeof(*m));
	struct sysinfo si;
	int r;

	if (!m)
		return -ENOMEM;
	if (sysinfo(&si) < 0) {
		r = -errno;
		goto out;
	}
	r = cg_machine_find(&a->src, pid, a->config.machine[0] ? a->config.machine : NULL, m);
	if (r >= 0) {
		struct vfile_req req = {
			.src = &a->src,
			.machine = m,
			.config = &a->config,
			.pid = pid,
			.scratch = a->scratch,
			.scratch_size = SCRATCH_SIZE,
		};

		r = vfile_sysinfo(&req, &si);
	}
	if (r >= 0)
		*ret = si;
out:
	free(m);
	return r;
}

/* Answer one notification. -errno only for a broken listener fd. */
static int answer_one(struct answerer *a, int fd, struct seccomp_notif *req,
		      struct seccomp_notif_resp *resp, size_t resp_size)
{
	struct sysinfo si;
	int mem = -1, r;

	memset(resp, 0, resp_size);
	resp->id = req->id;
	resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	/* Not ours to answer, or no container view: the kernel's own answer (host values), the
	 * same fallback as every virtual file. The handle first: what is computed for the pid is
	 * written only into the process it named while its call waited. */
	if (req->data.nr == __NR_sysinfo) {
		mem = notif_mem_open(fd, req->id, (pid_t)req->pid);
		if (mem == -ENOENT)
			return 0; /* the call is gone: no reply */
	}
	if (mem >= 0 && sysinfo_compute(a, (pid_t)req->pid, &si) == 0) {
		r = notif_mem_write(fd, req->id, mem, req->data.args[0], &si, sizeof(si));
		if (r == -ENOENT) {
			close(mem);
			return 0;
		}
		resp->flags = 0;
		resp->val = 0;
		resp->error = r < 0 ? -EFAULT : 0; /* what the kernel says for a bad pointer */
	}
	if (mem >= 0)
		close(mem);
	r = ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp);
	if (r < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int sysinfo_listener_serve(int notify_fd, int stop_fd)
{
	struct seccomp_notif_sizes sizes;
	struct seccomp_notif *req = NULL;
	struct seccomp_notif_resp *resp = NULL;
	struct answerer a = {.src.rootfd = -1};
	long hz = sysconf(_SC_CLK_TCK);
	int r;

	if (syscall(__NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
		return -errno;
	/* The kernel's structs may be larger than our headers' (newer fields): allocate its size.
	 */
	req = calloc(1, sizes.seccomp_notif > sizeof(*req) ? sizes.seccomp_notif : sizeof(*req));
	resp = calloc(1, sizes.seccomp_notif_resp > sizeof(*resp) ? sizes.seccomp_notif_resp
								  : sizeof(*resp));
	a.scratch = malloc(SCRATCH_SIZE);
	a.src.rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	a.src.ticks_per_sec = hz > 0 ? (uint64_t)hz : 100;
	config_defaults(&a.config);
	if (!req || !resp || !a.scratch || a.src.rootfd < 0) {
		r = a.src.rootfd < 0 ? -errno : -ENOMEM;
		goto out;
	}
	for (;;) {
		struct pollfd p[2] = {{.fd = notify_fd, .events = POLLIN},
				      {.fd = stop_fd, .events = POLLIN}};

		r = poll(p, stop_fd >= 0 ? 2 : 1, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			break;
		}
		if (stop_fd >= 0 && p[1].revents) {
			r = 0;
			break;
		}
		if (p[0].revents & POLLIN) {
			memset(req, 0, sizes.seccomp_notif);
			if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
				if (errno == EINTR || errno == ENOENT)
					continue; /* the caller went away before we looked */
				r = -errno;
				break;
			}
			r = answer_one(&a, notify_fd, req, resp, sizes.seccomp_notif_resp);
			if (r < 0)
				break;
			continue;
		}
		if (p[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
			r = 0; /* every process under the filter is gone */
			break;
		}
	}
out:
	if (a.src.rootfd >= 0)
		close(a.src.rootfd);
	free(a.scratch);
	free(req);
	free(resp);
	return r;
}
