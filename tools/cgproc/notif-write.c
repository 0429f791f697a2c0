/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writes into a seccomp-notifying process through a handle bound to it. See notif-write.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "notif-write.h"

static int id_valid(int notify_fd, uint64_t id)
{
	if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0)
		return 0;
	return errno == ENOENT ? -ENOENT : -errno;
}

int notif_mem_open(int notify_fd, uint64_t id, pid_t pid)
{
	char path[32];
	int fd, r;

	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		/* the caller (and its pid directory) may already be gone */
		return errno == ENOENT || errno == ESRCH ? -ENOENT : -errno;
	r = id_valid(notify_fd, id);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int notif_mem_write(int notify_fd, uint64_t id, int mem_fd, uint64_t addr, const void *buf,
		    size_t len)
{
	const char *p = buf;
	size_t done = 0;
	int r = 0;

	if (addr > (uint64_t)INT64_MAX - len)
		r = -EFAULT;
	while (r == 0 && done < len) {
		ssize_t n = pwrite(mem_fd, p + done, len - done, (off_t)(addr + done));

		if (n < 0 && errno == EINTR)
			continue;
		/* 0: the address space is gone (the caller exited); EIO/EFAULT: not mapped */
		if (n <= 0)
			r = n == 0 ? -ENOENT : -EFAULT;
		else
			done += (size_t)n;
	}
	if (id_valid(notify_fd, id) < 0)
		return -ENOENT;
	return r;
}

int notif_write(int notify_fd, uint64_t id, pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	int fd = notif_mem_open(notify_fd, id, pid), r;

	if (fd < 0)
		return fd;
	r = notif_mem_write(notify_fd, id, fd, addr, buf, len);
	close(fd);
	return r;
}
