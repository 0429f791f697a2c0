/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `cgproc sysinfo-agent`: answers sysinfo(2) for containers whose runtime hands over their
 * seccomp notify fd through OCI linux.seccomp.listenerPath (runc >= 1.1, crun).
 *
 * Protocol (runtime-spec config-linux.md, "seccomp"): the runtime connects to the SOCK_STREAM
 * socket once per container, sends one JSON document, {"ociVersion", "fds": ["seccompFd"],
 * "pid", "metadata", "state": {...}}, possibly over several writes, with the fds as SCM_RIGHTS
 * on the first, and closes. fds[i] names the i-th fd received. Nothing else in the message is
 * used: each trapped call carries its caller's pid, and the answer is computed for that
 * process's machine cgroup and written into it exactly as `cgproc run --fuse` does
 * (sysinfo-listener.c; the write goes through a handle bound to the caller, notif-write.h).
 *
 * One thread per container serves its notify fd until every process under the filter has gone
 * (the fd then reports POLLHUP) and exits with nothing left behind. If the agent dies, the
 * kernel fails the trapped calls with ENOSYS; containers started after a restart are served.
 *
 * Must not: trust the connecting peer. Only root in the agent's own pid namespace (the runtime,
 * not a process inside a container, which may see this socket through the bound run directory)
 * is served; a message is bounded in size and time; the number of containers is capped.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cgproc.h"
#include "fd-link.h"
#include "oci.h"
#include "util.h"

#define MSG_MAX 65536
#define FDS_MAX 8
#define RECV_TIMEOUT_S 5
#define THREAD_STACK (512 * 1024)
#define SD_LISTEN_FDS_START 3

static atomic_int served;

struct agent {
	const char *socket_path;
	long max_containers;
	bool verbose;
};

/* The socket systemd passed (LISTEN_PID/LISTEN_FDS, sd_listen_fds(3)), or -1. */
static int activated_socket(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	long p, n;

	if (!pid || !fds || !arg_parse_long(pid, 1, INT_MAX, &p) || p != getpid() ||
	    !arg_parse_long(fds, 1, 1, &n))
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	fcntl(SD_LISTEN_FDS_START, F_SETFD, FD_CLOEXEC);
	return SD_LISTEN_FDS_START;
}

static int listen_on(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char dir[PATH_MAX], *slash;
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		mkdir(dir, 0755);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path); /* a previous agent's socket: nobody can be listening on it any more */
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || chmod(path, 0600) < 0 ||
	    listen(fd, 128) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* Is the peer root in our pid namespace? Runtimes are; a container's processes are not. */
static bool peer_trusted(int conn)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	char path[64];
	struct stat self, peer;

	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0 ||
	    cred.pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)cred.pid);
	return stat(path, &peer) == 0 && stat("/proc/self/ns/pid", &self) == 0 &&
	       peer.st_ino == self.st_ino && peer.st_dev == self.st_dev;
}

/*
 * Reads one message: until it parses as a JSON document (runc keeps the connection open until
 * the container's init has been set up, so its end is not an end of file), an end of file, or
 * the receive timeout. The fds arrive with the first part. *@ret_doc and the number of fds, or
 * -errno with every received fd closed.
 */
static int recv_message(int conn, char *buf, size_t size, struct json_doc **ret_doc,
			int fds[FDS_MAX])
{
	size_t len = 0;
	int nfds = 0, r;

	for (;;) {
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(int) * FDS_MAX)];
		} control;
		struct iovec iov = {.iov_base = buf + len, .iov_len = size - len};
		struct msghdr msg = {.msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = control.buf,
				     .msg_controllen = sizeof(control.buf)};
		ssize_t n;

		if (len >= size) {
			r = -EMSGSIZE;
			break;
		}
		n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			size_t k;

			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t j = 0; j < k; j++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + j * sizeof(int), sizeof(int));
				if (nfds < FDS_MAX)
					fds[nfds++] = fd;
				else
					close(fd);
			}
		}
		if (n == 0) {
			r = len ? json_parse(buf, len, ret_doc, NULL) : -ENODATA;
			break;
		}
		len += (size_t)n;
		r = json_parse(buf, len, ret_doc, NULL);
		if (r != -EBADMSG)
			break; /* a whole document, or no memory */
	}
	if (r >= 0)
		return nfds;
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	return r;
}

static bool is_seccomp_notify_fd(int fd)
{
	char target[64];

	return fd_link_target(fd, target, sizeof(target)) &&
	       strcmp(target, "anon_inode:seccomp notify") == 0;
}

static void *serve_container(void *arg)
{
	int fd = (int)(intptr_t)arg;
	int r = sysinfo_listener_serve(fd, -1);

	if (r < 0)
		fprintf(stderr, "cgproc sysinfo-agent: listener: %s\n", strerror(-r));
	close(fd);
	atomic_fetch_sub(&served, 1);
	return NULL;
}

/* The notify fd named "seccompFd" in the message, or -errno. The other fds are closed. */
static int take_notify_fd(const struct json_doc *doc, int *fds, int nfds)
{
	struct json *names = json_get(json_root((struct json_doc *)doc), "fds");
	int r = -EBADMSG, i = 0;

	for (struct json *n = names && names->type == JSON_ARRAY ? names->first : NULL; n;
	     n = n->next, i++)
		if (json_is_string(n, "seccompFd") && i < nfds) {
			r = fds[i];
			fds[i] = -1;
			break;
		}
	for (int j = 0; j < nfds; j++)
		if (fds[j] >= 0)
			close(fds[j]);
	if (r >= 0 && !is_seccomp_notify_fd(r)) {
		close(r);
		r = -EBADF;
	}
	return r;
}

static void handle(const struct agent *a, int conn, pthread_attr_t *attr)
{
	struct timeval tv = {.tv_sec = RECV_TIMEOUT_S};
	int fds[FDS_MAX], nfds, fd;
	char *buf = malloc(MSG_MAX);
	struct json_doc *doc = NULL;
	pthread_t t;

	if (!buf)
		return;
	if (!peer_trusted(conn)) {
		fprintf(stderr,
			"cgproc sysinfo-agent: connection from an untrusted peer refused\n");
		goto out;
	}
	setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	nfds = recv_message(conn, buf, MSG_MAX, &doc, fds);
	if (nfds == -ENODATA)
		goto out; /* a runtime or wrapper checking that we listen */
	if (nfds < 0) {
		fprintf(stderr, "cgproc sysinfo-agent: bad message: %s\n", strerror(-nfds));
		goto out;
	}
	fd = take_notify_fd(doc, fds, nfds);
	if (fd < 0) {
		fprintf(stderr, "cgproc sysinfo-agent: a message without a seccomp notify fd\n");
		goto out;
	}
	if (atomic_load(&served) >= a->max_containers) {
		fprintf(stderr, "cgproc sysinfo-agent: %ld containers served, no more\n",
			a->max_containers);
		close(fd); /* that container's sysinfo fails with ENOSYS */
		goto out;
	}
	atomic_fetch_add(&served, 1);
	if (pthread_create(&t, attr, serve_container, (void *)(intptr_t)fd) != 0) {
		atomic_fetch_sub(&served, 1);
		close(fd);
		goto out;
	}
	if (a->verbose)
		fprintf(stderr, "cgproc sysinfo-agent: serving a container (%d now)\n",
			atomic_load(&served));
out:
	json_doc_free(doc);
	free(buf);
}

int cmd_sysinfo_agent(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"max-containers", required_argument, NULL, 'm'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct agent a = {.socket_path = OCI_AGENT_SOCKET, .max_containers = 4096};
	pthread_attr_t attr;
	int c, lfd;

	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			a.socket_path = optarg;
			break;
		case 'm':
			if (!arg_parse_long(optarg, 1, 1 << 20, &a.max_containers)) {
				fprintf(stderr, "cgproc sysinfo-agent: --max-containers '%s'\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'v':
			a.verbose = true;
			break;
		case 'h':
			printf("Usage: cgproc sysinfo-agent [--socket PATH] [--max-containers N] "
			       "[--verbose]\nAnswers sysinfo(2) for containers whose runtime sends "
			       "their seccomp notify fd (OCI listenerPath). See cgproc-oci(8).\n");
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	lfd = activated_socket();
	if (lfd < 0)
		lfd = listen_on(a.socket_path);
	if (lfd < 0) {
		fprintf(stderr, "cgproc sysinfo-agent: cannot listen on %s: %s\n", a.socket_path,
			strerror(-lfd));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	if (a.verbose)
		fprintf(stderr, "cgproc sysinfo-agent: listening on %s\n", a.socket_path);
	for (;;) {
		int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (conn < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				usleep(100000); /* until a container ends and frees its fd */
				continue;
			}
			fprintf(stderr, "cgproc sysinfo-agent: accept: %m\n");
			return 1;
		}
		handle(&a, conn, &attr);
		close(conn);
	}
}
