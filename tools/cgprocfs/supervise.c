/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The supervisor of cgprocfs where no service manager keeps its fds: the kernel keeps a FUSE
 * connection alive as long as one process holds its /dev/fuse fd, so this process holds it (and
 * the worker's state memfd) and starts a new worker whenever the one serving dies. It plays the
 * service manager's part of the fd store protocol (fdstore.c): a datagram socket named in
 * NOTIFY_SOCKET receives FDSTORE=1 messages, and each worker gets the kept fds back as
 * LISTEN_FDS. The worker is this same program, exec'd again.
 *
 * Must not: read or answer FUSE requests, render anything, or hold anything but the kept fds;
 * the less it does, the less there is to crash. It ends when the worker ends cleanly (exit 0),
 * when asked to (SIGTERM, SIGINT, SIGHUP: forwarded, then the mount is detached), or when
 * workers keep dying right after their start (then the mount is detached and it says so).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fdstore.h"
#include "supervise.h"

#define KEPT_MAX 4
#define STORE_FD_MIN 10 /* kept fds live above the 3.. range handed to the worker */
/* this many workers in a row that died younger than YOUNG_MS: a crash loop, give up */
#define YOUNG_DEATHS 10
#define YOUNG_MS 100

struct kept {
	int fd;
	char name[32];
};

struct supervisor {
	struct kept kept[KEPT_MAX];
	int nkept;
	int sock;
	pid_t worker;
	bool quiet;
};

static void kept_put(struct supervisor *s, int fd, const char *name)
{
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, STORE_FD_MIN);

	close(fd);
	if (copy < 0)
		return;
	for (int i = 0; i < s->nkept; i++) {
		if (strcmp(s->kept[i].name, name) == 0) {
			close(s->kept[i].fd);
			s->kept[i].fd = copy;
			return;
		}
	}
	if (s->nkept == KEPT_MAX) {
		close(copy);
		return;
	}
	s->kept[s->nkept].fd = copy;
	snprintf(s->kept[s->nkept].name, sizeof(s->kept[0].name), "%s", name);
	s->nkept++;
}

/*
 * One notification datagram: keep the fds of an FDSTORE=1 message of the current worker (the
 * kernel's SCM_CREDENTIALS say who sent it: the socket's name is no secret), ignore everything
 * else.
 */
static void notify_receive(struct supervisor *s)
{
	char text[512], ctl[CMSG_SPACE(sizeof(int) * KEPT_MAX) + CMSG_SPACE(sizeof(struct ucred))];
	struct iovec iov = {text, sizeof(text) - 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl,
			    .msg_controllen = sizeof(ctl)};
	char name[32] = "stored";
	int fds[KEPT_MAX], nfds = 0;
	pid_t sender = 0;
	const char *p;
	ssize_t n = recvmsg(s->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (n < 0)
		return;
	text[n] = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred cred;

			memcpy(&cred, CMSG_DATA(c), sizeof(cred));
			sender = cred.pid;
		}
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		if (nfds > KEPT_MAX)
			nfds = KEPT_MAX;
		memcpy(fds, CMSG_DATA(c), (size_t)nfds * sizeof(int));
	}
	p = strstr(text, "FDNAME=");
	if (p)
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(p + 7, "\n"), p + 7);
	for (int i = 0; i < nfds; i++) {
		if (sender == s->worker && s->worker > 0 && strstr(text, "FDSTORE=1"))
			kept_put(s, fds[i], name);
		else
			close(fds[i]);
	}
}

static pid_t worker_start(struct supervisor *s, char **argv)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	/* the worker: the kept fds at 3.., named, and the signals the supervisor blocked */
	{
		char count[16], owner[16], names[KEPT_MAX * 33] = "";
		sigset_t none;

		for (int i = 0; i < s->nkept; i++) {
			if (dup2(s->kept[i].fd, 3 + i) < 0)
				_exit(127);
			strcat(names, i ? ":" : "");
			strcat(names, s->kept[i].name);
		}
		snprintf(count, sizeof(count), "%d", s->nkept);
		snprintf(owner, sizeof(owner), "%d", (int)getpid());
		if (s->nkept) {
			setenv("LISTEN_FDS", count, 1);
			setenv("LISTEN_FDNAMES", names, 1);
			setenv("LISTEN_PID", owner, 1);
		}
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv("/proc/self/exe", argv);
		fprintf(stderr, "cgprocfs: supervisor: cannot start the worker: %m\n");
		_exit(127);
	}
}

static int socket_make(char *ret_name, size_t size)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t len;
	unsigned rnd;
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -errno;
	if (getentropy(&rnd, sizeof(rnd)) < 0)
		rnd = (unsigned)time(NULL);
	/* abstract: nothing to clean up on the file system, gone with the socket */
	snprintf(ret_name, size, "@cgprocfs/supervisor/%d/%08x", (int)getpid(), rnd);
	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "%s", ret_name + 1);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(ret_name));
	if (setsockopt(s, SOL_SOCKET, SO_PASSCRED, &(int){1}, sizeof(int)) < 0 ||
	    bind(s, (struct sockaddr *)&sa, len) < 0) {
		int r = -errno;

		close(s);
		return r;
	}
	return s;
}

int supervise_run(char **argv, const char *mountpoint, bool quiet)
{
	struct supervisor s = {.sock = -1, .quiet = quiet};
	struct timespec started;
	char sockname[108];
	sigset_t mask;
	bool stopping = false;
	int sfd, young = 0, rc = 1, r;

	s.sock = socket_make(sockname, sizeof(sockname));
	if (s.sock < 0) {
		fprintf(stderr, "cgprocfs: supervisor: no notification socket: %s\n",
			strerror(-s.sock));
		return 1;
	}
	setenv("NOTIFY_SOCKET", sockname, 1);
	setenv(SUPERVISE_ENV, "1", 1);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		fprintf(stderr, "cgprocfs: supervisor: signalfd: %m\n");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &started);
	s.worker = worker_start(&s, argv);
	if (s.worker < 0) {
		fprintf(stderr, "cgprocfs: supervisor: fork: %m\n");
		return 1;
	}
	while (s.worker > 0) {
		struct pollfd pfd[2] = {{s.sock, POLLIN, 0}, {sfd, POLLIN, 0}};
		struct signalfd_siginfo si;
		int status;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN)
			notify_receive(&s);
		if (!(pfd[1].revents & POLLIN) || read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo != SIGCHLD) {
			stopping |= si.ssi_signo != SIGUSR1;
			kill(s.worker, (int)si.ssi_signo);
			continue;
		}
		r = waitpid(s.worker, &status, WNOHANG);
		if (r != s.worker)
			continue;
		/* drain notifications the worker sent right before it ended */
		notify_receive(&s);
		if (stopping || (WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
			rc = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
			s.worker = 0;
			break;
		}
		if (s.nkept == 0) {
			/* it died before there was a connection to keep: nothing to resume */
			rc = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
			s.worker = 0;
			break;
		}
		{
			struct timespec now;
			long ms;

			clock_gettime(CLOCK_MONOTONIC, &now);
			ms = (now.tv_sec - started.tv_sec) * 1000 +
			     (now.tv_nsec - started.tv_nsec) / 1000000;
			young = ms < YOUNG_MS ? young + 1 : 0;
			if (young >= YOUNG_DEATHS) {
				fprintf(stderr,
					"cgprocfs: supervisor: %d workers in a row died within %d "
					"ms "
					"of their start, giving up\n",
					young, YOUNG_MS);
				s.worker = 0;
				rc = 1;
				break;
			}
			started = now;
		}
		if (!s.quiet)
			fprintf(stderr, "cgprocfs: worker %d %s %d: starting another\n",
				(int)s.worker, WIFSIGNALED(status) ? "killed by signal" : "exited",
				WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		s.worker = worker_start(&s, argv);
	}
	/* the end of the file system: detach the mount (the connection goes with the fds) */
	if (s.nkept && umount2(mountpoint, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		fprintf(stderr, "cgprocfs: supervisor: cannot unmount %s: %m\n", mountpoint);
	for (int i = 0; i < s.nkept; i++)
		close(s.kept[i].fd);
	close(s.sock);
	close(sfd);
	return rc;
}
