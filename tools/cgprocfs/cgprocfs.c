/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgprocfs: the FUSE mode of cgproc. A thin libfuse host: it owns the mount, the session and the
 * multi-threaded loop, and forwards every request through a gate to the serving library
 * (libcgprocfs-serve.so, serve.c), which it dlopen()s from a private memfd copy.
 *
 * Live upgrade (SIGUSR1): load a fresh copy of the library, close the gate (new requests wait),
 * wait until no request is in flight, swap the ops pointer, open the gate, dlclose the old copy.
 * The /dev/fuse session never changes hands, so the mount and every bind mount of it keep
 * working. (libfuse cannot resume an initialized session in a new process, which is why the
 * upgrade is in-process.)
 *
 * Transport: /dev/fuse through libfuse's multi-threaded loop, plus, when the kernel offers it,
 * FUSE-over-io_uring (ring.c): per-CPU queues served by threads pinned to their CPU, installed
 * as the session's custom I/O. Both paths call the same trampolines, so the gate covers them.
 *
 * Restart: by default the process that starts is a supervisor (supervise.c) that keeps the
 * /dev/fuse fd and runs this program again as the worker; under systemd (NOTIFY_SOCKET set) the
 * worker runs directly and the service manager's fd store keeps the fd. A worker that finds a
 * kept connection resumes it (resume.c) instead of mounting, so neither a crash nor a restart
 * disconnects the mount or any bind mount of it. --no-supervisor: one process, as before (a
 * crash leaves the mount dead).
 *
 * Must not: serve anything itself (that is the library's job), or keep a request waiting longer
 * than one in-flight request takes.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "cgproc-config.h"
#include "confine.h"
#include "fdstore.h"
#include "resume.h"
#include "ring.h"
#include "serve.h"
#include "supervise.h"

#define DEFAULT_MOUNTPOINT "/var/lib/cgproc"

struct serve_lib {
	void *handle;
	int memfd; /* kept open while loaded: its /proc/self/fd name must stay unique */
	const struct cgprocfs_serve_ops *ops;
	void *state;
	unsigned generation;
};

/* Requests pass the gate; a swap closes it and waits for the in-flight count to reach zero. */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned inflight;
	bool closed;
};

struct host {
	struct gate gate;
	struct serve_lib *lib; /* read under the gate */
	struct cgprocfs_params params;
	char lib_path[PATH_MAX];
	unsigned generation;
	int reload_pipe[2];
	struct fuse_session *se;
	struct ring *ring; /* NULL: /dev/fuse only */
	struct resume *rs; /* NULL: the connection dies with this process */
};

static int reload_wfd = -1; /* for the SIGUSR1 handler only */

static void gate_enter(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	while (g->closed)
		pthread_cond_wait(&g->cond, &g->lock);
	g->inflight++;
	pthread_mutex_unlock(&g->lock);
}

static void gate_leave(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	if (--g->inflight == 0 && g->closed)
		pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

/* Close the gate and wait for the in-flight requests to finish. */
static void gate_close(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->closed = true;
	while (g->inflight > 0)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

static void gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->closed = false;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

static int copy_to_memfd(const char *path)
{
	char buf[65536];
	int src, mfd, r = 0;

	src = open(path, O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return -errno;
	mfd = memfd_create("cgprocfs-serve", MFD_CLOEXEC);
	if (mfd < 0) {
		r = -errno;
		close(src);
		return r;
	}
	for (;;) {
		ssize_t n = read(src, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(mfd, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				r = -errno;
				break;
			}
			off += w;
		}
		if (r < 0)
			break;
	}
	close(src);
	if (r < 0) {
		close(mfd);
		return r;
	}
	return mfd;
}

static void serve_lib_free(struct serve_lib *l)
{
	if (!l)
		return;
	if (l->ops && l->state)
		l->ops->fini(l->state);
	if (l->handle)
		dlclose(l->handle);
	if (l->memfd >= 0)
		close(l->memfd);
	free(l);
}

/*
 * Load a private copy of the library at @path. dlopen() of a path that is already loaded returns
 * the loaded copy, so each generation is opened as /proc/self/fd/N of its own memfd (a new inode,
 * a new name while the memfd stays open).
 */
static int serve_lib_load(struct host *h, struct serve_lib **ret)
{
	struct serve_lib *l = calloc(1, sizeof(*l));
	char name[64];
	int r;

	if (!l)
		return -ENOMEM;
	l->memfd = copy_to_memfd(h->lib_path);
	if (l->memfd < 0) {
		r = l->memfd;
		l->memfd = -1;
		fprintf(stderr, "cgprocfs: cannot read %s: %s\n", h->lib_path, strerror(-r));
		goto fail;
	}
	snprintf(name, sizeof(name), "/proc/self/fd/%d", l->memfd);
	l->handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!l->handle) {
		fprintf(stderr, "cgprocfs: cannot load %s: %s\n", h->lib_path, dlerror());
		r = -ENOEXEC;
		goto fail;
	}
	l->ops = dlsym(l->handle, CGPROCFS_SERVE_SYMBOL);
	if (!l->ops || l->ops->abi != CGPROCFS_SERVE_ABI ||
	    l->ops->size < sizeof(struct cgprocfs_serve_ops)) {
		fprintf(stderr, "cgprocfs: %s: no %s with ABI %u\n", h->lib_path,
			CGPROCFS_SERVE_SYMBOL, CGPROCFS_SERVE_ABI);
		l->ops = NULL;
		r = -EPROTO;
		goto fail;
	}
	r = l->ops->init(&h->params, &l->state);
	if (r < 0) {
		fprintf(stderr, "cgprocfs: %s: init failed: %s\n", h->lib_path, strerror(-r));
		l->state = NULL;
		goto fail;
	}
	l->generation = ++h->generation;
	*ret = l;
	return 0;
fail:
	serve_lib_free(l);
	return r;
}

/* SIGUSR1: swap in a freshly loaded library. On failure the old one keeps serving. */
static void host_reload(struct host *h)
{
	struct serve_lib *fresh, *old;

	if (serve_lib_load(h, &fresh) < 0) {
		fprintf(stderr, "cgprocfs: reload failed, still serving generation %u\n",
			h->lib->generation);
		return;
	}
	gate_close(&h->gate);
	old = h->lib;
	h->lib = fresh;
	gate_open(&h->gate);
	serve_lib_free(old);
	if (!h->params.quiet)
		fprintf(stderr, "cgprocfs: serving library generation %u (%s)\n", fresh->generation,
			fresh->ops->version);
}

static void *reload_thread(void *arg)
{
	struct host *h = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		char c;
		ssize_t n = read(h->reload_pipe[0], &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || c == 'q')
			return NULL;
		host_reload(h);
	}
}

static void on_sigusr1(int sig)
{
	int saved = errno;
	char c = 'r';

	if (write(reload_wfd, &c, 1) < 0) {
		/* pipe full: a reload is already pending */
	}
	errno = saved;
}

#ifdef CGPROCFS_FAULTS
/*
 * Fault hooks of the test build (cgprocfs-faults, never installed; the installed cgprocfs has no
 * such code and reads no such variable). CGPROCFS_TEST_FAULT is a comma-separated list of
 *   kill-render=MS  once this worker has lived MS ms, the next open or read starts a thread that
 *                   SIGKILLs the process a few microseconds later, while the library renders
 *   no-resend       behave as on a kernel without FUSE_NOTIFY_RESEND (replay of records)
 *   ring-register   io_uring queue 0 registers a too short buffer (the kernel refuses it)
 */
struct faults {
	long kill_render_ms;
	bool no_resend, ring_register;
	struct timespec start;
	int armed; /* atomic: the kill is under way */
};

static struct faults faults;

static void faults_parse(void)
{
	const char *e = getenv("CGPROCFS_TEST_FAULT");

	clock_gettime(CLOCK_MONOTONIC, &faults.start);
	if (!e)
		return;
	faults.no_resend = strstr(e, "no-resend") != NULL;
	faults.ring_register = strstr(e, "ring-register") != NULL;
	if (strstr(e, "kill-render="))
		faults.kill_render_ms = strtol(strstr(e, "kill-render=") + 12, NULL, 10);
}

static void *fault_killer(void *arg)
{
	struct timespec now, ts = {0};

	clock_gettime(CLOCK_MONOTONIC, &now);
	ts.tv_nsec = now.tv_nsec % 300000; /* 0-300 us: somewhere in a rendering */
	nanosleep(&ts, NULL);
	raise(SIGKILL);
	return arg;
}

static void fault_render(struct host *h)
{
	struct timespec now;
	pthread_t t;
	long ms;

	if (!faults.kill_render_ms || __atomic_load_n(&faults.armed, __ATOMIC_RELAXED))
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - faults.start.tv_sec) * 1000 +
	     (now.tv_nsec - faults.start.tv_nsec) / 1000000;
	if (ms < faults.kill_render_ms || __atomic_exchange_n(&faults.armed, 1, __ATOMIC_RELAXED))
		return;
	if (pthread_create(&t, NULL, fault_killer, h) == 0)
		pthread_detach(t);
}
#define FAULT_NO_RESEND faults.no_resend
#define FAULT_RING_REGISTER faults.ring_register
#else
static inline void fault_render(struct host *h)
{
}
static inline void faults_parse(void)
{
}
#define FAULT_NO_RESEND false
#define FAULT_RING_REGISTER false
#endif

/* Trampolines: every request enters the gate, calls the current library, leaves. */
#define HOST(req) ((struct host *)fuse_req_userdata(req))

static void tr_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct host *h = HOST(req);

	gate_enter(&h->gate);
	h->lib->ops->lookup(h->lib->state, req, parent, name);
	gate_leave(&h->gate);
}

static void tr_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	fuse_reply_none(req); /* static tree: inodes live as long as the mount */
}

static void tr_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	fuse_reply_none(req);
}

static void tr_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct host *h = HOST(req);

	if (fi && fi->fh) {
		/* a handle of a dead worker: stat() by path, unless it was read here since */
		fi->fh = resume_fh(h->rs, fi->fh, ino, RESUME_FH_PEEK);
		if (!fi->fh)
			fi = NULL;
	}
	gate_enter(&h->gate);
	h->lib->ops->getattr(h->lib->state, req, ino, fi);
	gate_leave(&h->gate);
}

static void tr_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct host *h = HOST(req);

	fault_render(h);
	gate_enter(&h->gate);
	resume_open_begin(h->rs);
	h->lib->ops->open(h->lib->state, req, ino, fi);
	resume_open_end(h->rs);
	gate_leave(&h->gate);
}

static void tr_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct host *h = HOST(req);

	fault_render(h);
	fi->fh = resume_fh(h->rs, fi->fh, ino, RESUME_FH_READ);
	gate_enter(&h->gate);
	h->lib->ops->read(h->lib->state, req, ino, size, off, fi);
	gate_leave(&h->gate);
}

static void tr_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct host *h = HOST(req);

	uint64_t fh = resume_fh(h->rs, fi->fh, ino, RESUME_FH_RELEASE);

	if (fi->fh && !fh) {
		fuse_reply_err(req, 0); /* opened under a dead worker, never read here */
		return;
	}
	fi->fh = fh;
	gate_enter(&h->gate);
	h->lib->ops->release(h->lib->state, req, ino, fi);
	gate_leave(&h->gate);
}

static void tr_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct host *h = HOST(req);

	gate_enter(&h->gate);
	h->lib->ops->opendir(h->lib->state, req, ino, fi);
	gate_leave(&h->gate);
}

static void tr_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct host *h = HOST(req);

	gate_enter(&h->gate);
	h->lib->ops->readdir(h->lib->state, req, ino, size, off, fi);
	gate_leave(&h->gate);
}

static void tr_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct host *h = HOST(req);

	gate_enter(&h->gate);
	h->lib->ops->readlink(h->lib->state, req, ino);
	gate_leave(&h->gate);
}

static void tr_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static const struct fuse_lowlevel_ops host_ops = {
	.lookup = tr_lookup,
	.forget = tr_forget,
	.forget_multi = tr_forget_multi,
	.getattr = tr_getattr,
	.open = tr_open,
	.read = tr_read,
	.release = tr_release,
	.opendir = tr_opendir,
	.readdir = tr_readdir,
	.readlink = tr_readlink,
	.releasedir = tr_releasedir,
};

/* The session's custom I/O (userdata is the session's, our host): see ring.c. */
static ssize_t host_io_read(int fd, void *buf, size_t len, void *userdata)
{
	struct host *h = userdata;
	ssize_t n = resume_records(h->rs) ? resume_read(h->rs, fd, buf, len)
					  : ring_read(h->ring, fd, buf, len);

	resume_on_read(h->rs, buf, n);
	return n;
}

static ssize_t host_io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct host *h = userdata;
	ssize_t n;

	if (!resume_on_reply(h->rs, iov, count, &n))
		n = ring_writev(h->ring, fd, iov, count);
	resume_replied(h->rs, iov, count);
	return n;
}

static const struct fuse_custom_io host_io = {
	.read = host_io_read,
	.writev = host_io_writev,
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cgprocfs [OPTIONS...] [MOUNTPOINT]\n"
		"\n"
		"Serve container-correct /proc and /sys/devices/system/cpu files under MOUNTPOINT\n"
		"(default " DEFAULT_MOUNTPOINT "), each answered for the process that reads it.\n"
		"\n"
		"Options:\n"
		"  -f, --foreground      stay in the foreground (always the case; accepted for\n"
		"                        compatibility)\n"
		"  -d, --debug           log every FUSE request and every fallback to stderr\n"
		"  -q, --quiet           no informational messages (errors only)\n"
		"  -o OPTIONS            extra FUSE mount options (comma-separated)\n"
		"  -p, --pidfile FILE    write and lock a pidfile; refuse to start if it is "
		"locked\n"
		"      --rundir DIR      sampler table directory (default: rundir= in\n"
		"                        /etc/cgproc.conf, else " CGPROC_RUNDIR ")\n"
		"      --serve-lib PATH  serving library (default: next to the binary, then\n"
		"                        " CGPROC_LIBDIR "/cgproc/" CGPROCFS_SERVE_LIB ")\n"
		"      --no-seccomp      do not confine the daemon (debugging only)\n"
		"      --no-io-uring     serve through /dev/fuse only, even when the kernel\n"
		"                        offers FUSE-over-io_uring (enable_uring=Y)\n"
		"      --no-supervisor   one process: no supervisor keeps the connection, a crash\n"
		"                        leaves the mount disconnected (io_uring possible)\n"
		"  -h, --help            show this help\n"
		"  -v, --version         show the version\n"
		"\n"
		"Signals: SIGUSR1 reloads the serving library without unmounting;\n"
		"SIGTERM, SIGINT and SIGHUP unmount and exit. A worker that dies is replaced\n"
		"without unmounting (by the supervisor, or by systemd's fd store). See "
		"cgprocfs(8).\n");
}

static int lib_path_default(char *out, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n > 0) {
		exe[n] = 0;
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			snprintf(out, size, "%s/%s", exe, CGPROCFS_SERVE_LIB);
			if (access(out, R_OK) == 0)
				return 0;
		}
	}
	snprintf(out, size, "%s/cgproc/%s", CGPROC_LIBDIR, CGPROCFS_SERVE_LIB);
	return access(out, R_OK) == 0 ? 0 : -ENOENT;
}

static int pidfile_create(const char *path)
{
	char line[32];
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int fd, len;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "cgprocfs: cannot open pidfile %s: %m\n", path);
		return -errno;
	}
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		fprintf(stderr, "cgprocfs: %s is locked: another cgprocfs is running\n", path);
		close(fd);
		return -EBUSY;
	}
	len = snprintf(line, sizeof(line), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)len, 0) != len) {
		fprintf(stderr, "cgprocfs: cannot write pidfile %s: %m\n", path);
		close(fd);
		return -EIO;
	}
	return fd; /* kept open: the lock lives as long as we do */
}

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

enum {
	OPT_RUNDIR = 0x100,
	OPT_SERVE_LIB,
	OPT_NO_SECCOMP,
	OPT_NO_IO_URING,
	OPT_NO_SUPERVISOR,
};

/* A mount whose daemon died (ENOTCONN): detached, so that a new one can be made in its place. */
static void dead_mount_detach(const char *mountpoint, bool quiet)
{
	struct statfs st;

	/* statfs always asks the daemon; stat may be answered from the attribute cache */
	if (statfs(mountpoint, &st) == 0 || errno != ENOTCONN)
		return;
	if (umount2(mountpoint, MNT_DETACH) == 0 && !quiet)
		fprintf(stderr, "cgprocfs: %s was a disconnected mount: detached\n", mountpoint);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"foreground", no_argument, NULL, 'f'},
		{"debug", no_argument, NULL, 'd'},
		{"quiet", no_argument, NULL, 'q'},
		{"pidfile", required_argument, NULL, 'p'},
		{"rundir", required_argument, NULL, OPT_RUNDIR},
		{"serve-lib", required_argument, NULL, OPT_SERVE_LIB},
		{"no-seccomp", no_argument, NULL, OPT_NO_SECCOMP},
		{"no-io-uring", no_argument, NULL, OPT_NO_IO_URING},
		{"no-supervisor", no_argument, NULL, OPT_NO_SUPERVISOR},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'v'},
		{0},
	};
	const char *mountpoint = DEFAULT_MOUNTPOINT, *pidfile = NULL, *extra_opts = NULL;
	const char *rundir = NULL; /* cgproc.conf rundir=, else CGPROC_RUNDIR */
	bool debug = false, quiet = false, seccomp = true, io_uring = true, restart = true;
	bool resumed = false;
	char mount_opts[4096];
	struct host h = {
		.gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false},
		.reload_pipe = {-1, -1},
	};
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *loop_cfg = NULL;
	struct sigaction sa = {.sa_handler = on_sigusr1, .sa_flags = SA_RESTART};
	pthread_t reloader;
	bool reloader_started = false, mounted = false, handlers = false;
	int c, r, rc = 1, pidfd = -1, fuse_fd = -1;

	while ((c = getopt_long(argc, argv, "fdqo:p:hv", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			break;
		case 'd':
			debug = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'o':
			if (extra_opts) {
				fprintf(stderr, "cgprocfs: -o may be given once\n");
				return 2;
			}
			extra_opts = optarg;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case OPT_RUNDIR:
			rundir = optarg;
			break;
		case OPT_SERVE_LIB:
			if (snprintf(h.lib_path, sizeof(h.lib_path), "%s", optarg) >=
			    (int)sizeof(h.lib_path)) {
				fprintf(stderr, "cgprocfs: --serve-lib path too long\n");
				return 2;
			}
			break;
		case OPT_NO_SECCOMP:
			seccomp = false;
			break;
		case OPT_NO_IO_URING:
			io_uring = false;
			break;
		case OPT_NO_SUPERVISOR:
			restart = false;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'v':
			printf("cgprocfs %s\n", CGPROC_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		mountpoint = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "cgprocfs: one mountpoint only (unexpected '%s')\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!h.lib_path[0] && lib_path_default(h.lib_path, sizeof(h.lib_path)) < 0) {
		fprintf(stderr,
			"cgprocfs: %s not found next to the binary nor in %s/cgproc; "
			"use --serve-lib\n",
			CGPROCFS_SERVE_LIB, CGPROC_LIBDIR);
		return 1;
	}
	h.params.rundir = rundir;
	h.params.debug = debug;
	h.params.quiet = quiet;

	faults_parse();
	/* the supervisor holds the pidfile; the worker it starts does not */
	if (pidfile && !getenv(SUPERVISE_ENV)) {
		pidfd = pidfile_create(pidfile);
		if (pidfd < 0)
			return 1;
	}
	r = mkdir_p(mountpoint);
	if (r < 0) {
		fprintf(stderr, "cgprocfs: cannot create mountpoint %s: %s\n", mountpoint,
			strerror(-r));
		return 1;
	}
	if (restart && !getenv("NOTIFY_SOCKET")) {
		/* no service manager to keep the connection: a supervisor does */
		rc = supervise_run(argv, mountpoint, quiet);
		goto out;
	}
	if (restart) {
		r = resume_new(FAULT_NO_RESEND, &h.rs, &fuse_fd);
		if (r < 0) {
			fprintf(stderr, "cgprocfs: cannot resume the kept connection: %s\n",
				strerror(-r));
			goto out;
		}
		resumed = r == 1;
	}
	if (serve_lib_load(&h, &h.lib) < 0)
		goto out;

	/* allow_other: containers of every user read it; ro: nothing is writable. No
	 * default_permissions: with it the kernel asks for attributes (a GETATTR round trip that
	 * renders the file for its size) before every open; serve_open refuses anything but
	 * O_RDONLY itself and every node is world-readable, so the kernel's check added nothing
	 * but a round trip (measured: meminfo 336 -> 244 us per open+read+close here). */
	snprintf(mount_opts, sizeof(mount_opts),
		 "fsname=cgprocfs,subtype=cgprocfs,allow_other,ro%s%s", extra_opts ? "," : "",
		 extra_opts ? extra_opts : "");
	if (fuse_opt_add_arg(&args, argv[0]) < 0 || fuse_opt_add_arg(&args, "-o") < 0 ||
	    fuse_opt_add_arg(&args, mount_opts) < 0 || (debug && fuse_opt_add_arg(&args, "-d") < 0))
		goto out;
	h.se = fuse_session_new(&args, &host_ops, sizeof(host_ops), &h);
	if (!h.se) {
		fprintf(stderr, "cgprocfs: bad FUSE options '%s'\n", mount_opts);
		goto out;
	}
	if (fuse_set_signal_handlers(h.se) < 0)
		goto out;
	handlers = true;
	if (pipe2(h.reload_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		goto out;
	/* the reload thread blocks on the read end; only the handler's end is non-blocking */
	fcntl(h.reload_pipe[0], F_SETFL, 0);
	reload_wfd = h.reload_pipe[1];
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		goto out;
	if (resumed) {
		if (fuse_session_custom_io(h.se, &host_io, fuse_fd) < 0)
			goto out;
	} else {
		dead_mount_detach(mountpoint, quiet);
		if (fuse_session_mount(h.se, mountpoint) < 0) {
			fprintf(stderr, "cgprocfs: cannot mount on %s\n", mountpoint);
			goto out;
		}
		/* a kept connection outlives this process: only the supervisor unmounts it */
		mounted = !restart;
	}
	if (restart && !resumed) {
		fuse_fd = fuse_session_fd(h.se);
		if (fuse_session_custom_io(h.se, &host_io, fuse_fd) < 0)
			goto out;
		r = resume_keep(h.rs, fuse_fd);
		if (r < 0)
			fprintf(stderr,
				"cgprocfs: the service manager did not take the connection (%s): a "
				"restart will disconnect %s (FileDescriptorStoreMax= unset?)\n",
				strerror(-r), mountpoint);
	}
	/* Requests held in io_uring entries of a dead worker are not resent by the kernel: a
	 * connection that must survive its worker is served through /dev/fuse. */
	if (io_uring && restart) {
		io_uring = false;
		if (!quiet && ring_offered())
			fprintf(stderr, "cgprocfs: io_uring not used (restartable connection): "
					"serving through /dev/fuse\n");
	}
	/* the rings and their pinned threads are made before confinement; the INIT reply decides
	 * whether they serve */
	if (io_uring) {
		r = ring_prepare(h.se, debug, quiet, FAULT_RING_REGISTER, &h.ring);
		if (r < 0 && !quiet)
			fprintf(stderr,
				"cgprocfs: io_uring not used (%s): serving through /dev/fuse\n",
				r == -EOPNOTSUPP ? "fuse enable_uring is off" : strerror(-r));
		if (r == 0 && fuse_session_custom_io(h.se, &host_io, fuse_session_fd(h.se)) < 0) {
			ring_free(h.ring);
			h.ring = NULL;
			if (!quiet)
				fprintf(stderr, "cgprocfs: io_uring not used (custom I/O refused): "
						"serving through /dev/fuse\n");
		}
	}
	if (resumed) {
		r = resume_connection(h.rs, h.se);
		if (r < 0) {
			fprintf(stderr, "cgprocfs: cannot resume the kept connection: %s\n",
				strerror(-r));
			goto out;
		}
		if (!quiet && resume_has_resend(h.rs))
			fprintf(stderr,
				"cgprocfs: resumed the connection of %s (requests in flight resent "
				"by the kernel)\n",
				mountpoint);
		else if (!quiet)
			fprintf(stderr,
				"cgprocfs: resumed the connection of %s (no FUSE_NOTIFY_RESEND: %u "
				"requests in flight replayed)\n",
				mountpoint, resume_replayed(h.rs));
	}
	if (restart)
		fdstore_notify("READY=1", -1);
	if (seccomp) {
		r = confine_apply();
		if (r < 0) {
			fprintf(stderr, "cgprocfs: cannot install the seccomp filter: %s\n",
				strerror(-r));
			goto out;
		}
	}
	if (pthread_create(&reloader, NULL, reload_thread, &h) != 0)
		goto out;
	reloader_started = true;
	if (!quiet)
		fprintf(stderr, "cgprocfs %s: serving %s (library %s)%s\n", CGPROC_VERSION,
			mountpoint, h.lib_path, seccomp ? "" : ", seccomp off");

	loop_cfg = fuse_loop_cfg_create();
	if (!loop_cfg)
		goto out;
	fuse_loop_cfg_set_clone_fd(loop_cfg, 0);
	fuse_loop_cfg_set_idle_threads(loop_cfg, 10);
	r = fuse_session_loop_mt(h.se, loop_cfg);
	/* libfuse 3.14 reports the signal that ended the loop (SIGTERM: 15): a requested stop
	 * is a clean exit */
	rc = r == 0 || r == SIGTERM || r == SIGINT || r == SIGHUP ? 0 : 1;
	if (rc && !quiet)
		fprintf(stderr, "cgprocfs: FUSE loop ended: %d\n", r);
out:
	if (reloader_started) {
		char q = 'q';

		if (write(h.reload_pipe[1], &q, 1) == 1)
			pthread_join(reloader, NULL);
	}
	if (loop_cfg)
		fuse_loop_cfg_destroy(loop_cfg);
	if (mounted)
		fuse_session_unmount(h.se);
	if (ring_active(h.ring) && !quiet)
		fprintf(stderr, "cgprocfs: %llu requests served through io_uring\n",
			(unsigned long long)ring_served(h.ring));
	ring_free(h.ring); /* after the unmount: a queue thread may serve until then */
	if (handlers)
		fuse_remove_signal_handlers(h.se);
	if (h.se)
		fuse_session_destroy(h.se);
	fuse_opt_free_args(&args);
	serve_lib_free(h.lib);
	resume_free(h.rs);
	if (pidfd >= 0) {
		unlink(pidfile);
		close(pidfd);
	}
	return rc;
}
