/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The service manager's file descriptor store, as documented in sd_notify(3) (FDSTORE=1,
 * FDNAME=), sd_listen_fds(3) (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES, fds from 3 on) and
 * systemd.io/FILE_DESCRIPTOR_STORE: the same protocol with systemd and with cgprocfs's own
 * supervisor (supervise.c), which plays the service manager's part. Written here rather than
 * linked from libsystemd so that the daemon needs no library the supervisor does not.
 *
 * Must not: keep any state; everything is in the environment and the fds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fdstore.h"

#define LISTEN_FDS_START 3

int fdstore_listen(struct fdstore_fd *ret, int max)
{
	const char *pid = getenv("LISTEN_PID"), *count = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES");
	int n = 0;

	if (pid && count && strtol(pid, NULL, 10) == (long)getpid())
		n = (int)strtol(count, NULL, 10);
	if (n < 0)
		n = 0;
	for (int i = 0; i < n && i < max; i++) {
		size_t len = 0;

		ret[i].fd = LISTEN_FDS_START + i;
		ret[i].name[0] = 0;
		fcntl(ret[i].fd, F_SETFD, FD_CLOEXEC);
		if (names) {
			len = strcspn(names, ":");
			if (len >= sizeof(ret[i].name))
				len = sizeof(ret[i].name) - 1;
			memcpy(ret[i].name, names, len);
			ret[i].name[len] = 0;
			names = names[strcspn(names, ":")] ? names + strcspn(names, ":") + 1 : NULL;
		}
	}
	/* not for our children */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return n < max ? n : max;
}

/* $NOTIFY_SOCKET: a path, or "@name" for the abstract namespace. */
static int notify_addr(struct sockaddr_un *sa, socklen_t *ret_len)
{
	const char *e = getenv("NOTIFY_SOCKET");
	size_t len;

	if (!e || !*e)
		return -ENOENT;
	len = strlen(e);
	if ((e[0] != '/' && e[0] != '@') || len >= sizeof(sa->sun_path))
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, e, len);
	if (e[0] == '@')
		sa->sun_path[0] = 0;
	*ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	return 0;
}

int fdstore_notify(const char *text, int fd)
{
	char ctl[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {(void *)text, strlen(text)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct sockaddr_un sa;
	socklen_t salen;
	int s, r;

	r = notify_addr(&sa, &salen);
	if (r < 0)
		return r;
	mh.msg_name = &sa;
	mh.msg_namelen = salen;
	if (fd >= 0) {
		struct cmsghdr *c;

		mh.msg_control = ctl;
		mh.msg_controllen = sizeof(ctl);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	r = sendmsg(s, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
	close(s);
	return r;
}

int fdstore_push(int fd, const char *name)
{
	char text[96];

	snprintf(text, sizeof(text), "FDSTORE=1\nFDNAME=%s", name);
	return fdstore_notify(text, fd);
}
