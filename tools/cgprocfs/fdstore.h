/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The file descriptor store protocol of the service manager (systemd, or cgprocfs's supervisor):
 * fds handed over at start (LISTEN_FDS) and fds given to it to keep (sd_notify FDSTORE=1).
 */
#pragma once

#define FDSTORE_NAME_FUSE "cgprocfs-fuse"
#define FDSTORE_NAME_STATE "cgprocfs-state"

struct fdstore_fd {
	int fd;
	char name[32];
};

/* The fds passed to this process (LISTEN_PID is ours), at most @max, close-on-exec from now on;
 * the LISTEN_* variables are removed. Returns their number. */
int fdstore_listen(struct fdstore_fd *ret, int max);

/* Send @text (and @fd when >= 0) to $NOTIFY_SOCKET. -ENOENT: no service manager. */
int fdstore_notify(const char *text, int fd);

/* Ask the service manager to keep @fd under @name and hand it back at the next start. */
int fdstore_push(int fd, const char *name);
