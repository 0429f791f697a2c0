/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgprocfs: the FUSE mode of cgproc. A thin libfuse host: it owns the mount, the session and the
 * multi-threaded loop, and forwards every request through a gate to the serving library
 * (libcgprocfs-serve.so, serve.c), which it dlopen()s from a private memfd copy.
 *
 * Live upgrade (SIGUSR1): upgrade.c swaps in a fresh copy of the library under the gate, in
 * this process (libfuse cannot hand an initialized session to another process without the
 * resume of resume.c, and an upgrade needs no restart).
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
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "cgproc-config.h"
#include "confine.h"
#include "faults.h"
#include "fdstore.h"
#include "host.h"
#include "resume.h"
#include "ring.h"
#include "serve.h"
#include "supervise.h"

#define DEFAULT_MOUNTPOINT "/var/lib/cgproc"

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

	fault_render();
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

	fault_render();
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
	bool mounted = false, handlers = false;
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
	if (!h.lib_path[0] && serve_lib_path_default(h.lib_path, sizeof(h.lib_path)) < 0) {
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
	if (upgrade_signal(&h) < 0)
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
	if (upgrade_thread_start(&h) < 0)
		goto out;
	if (!quiet)
		fprintf(stderr, "cgprocfs %s: serving %s (library %s)%s\n", CGPROC_VERSION,
			mountpoint, h.lib_path, seccomp ? "" : ", seccomp off");

	loop_cfg = fuse_loop_cfg_create();
	if (!loop_cfg)
		goto out;
	fuse_loop_cfg_set_clone_fd(loop_cfg, 0);
	fuse_loop_cfg_set_idle_threads(loop_cfg, 10);
	faults_serving();
	r = fuse_session_loop_mt(h.se, loop_cfg);
	/* libfuse 3.14 reports the signal that ended the loop (SIGTERM: 15): a requested stop
	 * is a clean exit */
	rc = r == 0 || r == SIGTERM || r == SIGINT || r == SIGHUP ? 0 : 1;
	if (rc && !quiet)
		fprintf(stderr, "cgprocfs: FUSE loop ended: %d\n", r);
out:
	upgrade_thread_stop(&h);
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
