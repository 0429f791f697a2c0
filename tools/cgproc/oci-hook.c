/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `cgproc oci-hook`: an OCI createContainer hook that gives a container the cgproc view.
 *
 * The runtime runs it in the container's mount namespace after its mounts are set up and before
 * pivot_root (runtime-spec config.md, "createContainer"), with the state on stdin ({"id",
 * "pid", "bundle", "annotations"}); <bundle>/config.json has the rest (root.path). From there it
 * binds, read-only:
 *   shim  the preload shim at OCI_SHIM_DEST and a generated /etc/ld.so.preload listing it after
 *         the image's own entries (the image's file is read, never written: the generated copy
 *         is bound over it);
 *   fuse  each cgprocfs file over its /proc path and cgprocfs's /sys/devices/system/cpu over
 *         the container's (cgprocfs_binds(), as `cgproc run --fuse`; a hook's own mounts are not
 *         limited to runc's list of /proc destinations, so the pressure files work too);
 * and cgprocd's run directory at the same path, for its table. The annotation io.cgproc.view
 * (auto|shim|fuse|off, default auto, or --view) chooses. auto: for an image with the dynamic
 * loader the shim was built for, the shim and, when a live cgprocfs is mounted, its files for the
 * image's static programs; else cgprocfs when it is mounted; else nothing.
 *
 * Must not: fail a container start. Every error is logged and the hook exits 0, leaving the
 * container as it would be without cgproc (a bind that fails changes nothing; a shim bound
 * without its ld.so.preload entry is inert). Running twice changes nothing the second time.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <link.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cgproc.h"
#include "oci-mount.h"
#include "oci.h"
#include "paths.h"
#include "util.h"
#include "vfile.h"

#define PRELOAD_MAX 65536

struct hook {
	char id[128];
	enum oci_view view;
	const char *cgprocfs;
	const char *rundir;
	FILE *log;
	int rootfd;
};

__attribute__((format(printf, 3, 4))) static void hook_log(struct hook *h, int prio,
							   const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* stderr reaches the runtime's log when it keeps hook output; syslog reaches the admin
	 * when it does not (runc shows hook output only for a failed hook) */
	fprintf(stderr, "cgproc oci-hook: %s: %s\n", h->id, msg);
	syslog(prio, "%s: %s", h->id, msg);
	if (h->log) {
		fprintf(h->log, "%s: %s\n", h->id, msg);
		fflush(h->log);
	}
}

/* The program interpreter this executable was linked against (what the shim needs too). */
static const char *own_interpreter(void)
{
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
	unsigned long n = getauxval(AT_PHNUM);
	uintptr_t bias = 0;

	if (!ph)
		return NULL;
	for (unsigned long i = 0; i < n; i++)
		if (ph[i].p_type == PT_PHDR)
			bias = (uintptr_t)ph - ph[i].p_vaddr;
	for (unsigned long i = 0; i < n; i++)
		if (ph[i].p_type == PT_INTERP)
			return (const char *)(bias + ph[i].p_vaddr);
	return NULL;
}

static bool image_has_loader(struct hook *h)
{
	const char *interp = own_interpreter();
	int fd;

	if (!interp)
		return false;
	fd = rootfs_open(h->rootfd, interp, O_PATH, ROOTFS_EXISTING);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/*
 * A temporary host file @path (a mkostemp template on the host's /run) with @text. The caller
 * binds it and unlinks @path at once: the bind keeps the file for as long as the container's
 * mount namespace lives, and nothing is left on the host after that.
 */
static int host_text_file(char *path, const char *text, size_t len)
{
	int fd = mkostemp(path, O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	if (n != (ssize_t)len || fchmod(fd, 0644) < 0) {
		int r = n < 0 ? -errno : -EIO;

		close(fd);
		unlink(path);
		return r;
	}
	return fd;
}

/* Does the preload list @text name @lib as one of its entries (whitespace separated)? */
static bool preload_lists(const char *text, const char *lib)
{
	size_t n = strlen(lib);

	for (const char *p = text; (p = strstr(p, lib)); p += n)
		if ((p == text || strchr(" \t\n:", p[-1])) && strchr(" \t\n:", p[n]))
			return true;
	return false;
}

/*
 * Reads the image's regular file @path (at most PRELOAD_MAX bytes). The type is checked on an
 * O_PATH descriptor before anything is opened for reading: an image may put a FIFO (an open
 * would block the start) or a device node (an open can have effects on the host's device) there.
 */
static int read_image_file(struct hook *h, const char *path, char **ret)
{
	char proc[64];
	struct stat st;
	long len;
	int pfd, fd;

	pfd = rootfs_open(h->rootfd, path, O_PATH, ROOTFS_EXISTING);
	if (pfd < 0)
		return pfd;
	if (fstat(pfd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(pfd);
		return -EINVAL;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	close(pfd);
	if (fd < 0)
		return -errno;
	len = fd_read_all(fd, PRELOAD_MAX, ret);
	close(fd);
	return (int)len;
}

static int view_shim(struct hook *h)
{
	char shim[PATH_MAX], *text = NULL, *gen = NULL, tmp[] = "/run/.cgproc-oci-XXXXXX";
	long len;
	int src, r;

	r = cgproc_find_shim(shim, sizeof(shim));
	if (r < 0) {
		hook_log(h, LOG_WARNING, "no preload shim (libcgproc.so): %s", strerror(-r));
		return r;
	}
	src = open(shim, O_PATH | O_CLOEXEC);
	if (src < 0)
		return -errno;
	r = rootfs_bind(h->rootfd, src, OCI_SHIM_DEST, ROOTFS_FILE);
	close(src);
	if (r < 0) {
		hook_log(h, LOG_WARNING, "cannot bind %s at %s: %s", shim, OCI_SHIM_DEST,
			 strerror(-r));
		return r;
	}

	/* The image's list, kept: its entries load first, as they would without cgproc. */
	r = read_image_file(h, OCI_PRELOAD_FILE, &text);
	if (r < 0 && r != -ENOENT) {
		hook_log(h, LOG_WARNING, "cannot read the image's %s: %s", OCI_PRELOAD_FILE,
			 strerror(-r));
		return r;
	}
	len = r < 0 ? 0 : r;
	if (text && preload_lists(text, OCI_SHIM_DEST)) {
		free(text);
		return 0; /* ours already: a second run of the hook */
	}
	if (asprintf(&gen, "%s%s%s\n", text ? text : "",
		     len > 0 && text[len - 1] != '\n' ? "\n" : "", OCI_SHIM_DEST) < 0) {
		free(text);
		return -ENOMEM;
	}
	free(text);
	src = host_text_file(tmp, gen, strlen(gen));
	free(gen);
	if (src < 0) {
		hook_log(h, LOG_WARNING, "cannot write the generated %s: %s", OCI_PRELOAD_FILE,
			 strerror(-src));
		return src;
	}
	r = rootfs_bind(h->rootfd, src, OCI_PRELOAD_FILE, ROOTFS_FILE);
	unlink(tmp);
	close(src);
	if (r < 0)
		hook_log(h, LOG_WARNING, "cannot bind the generated %s: %s", OCI_PRELOAD_FILE,
			 strerror(-r));
	return r;
}

/*
 * The container's own @dest (a procfs or sysfs file or directory), cloned read-only to
 * VFILE_HOST_INPUTS + @dest before cgprocfs covers it: the shim's renders read the real inputs
 * there instead of cgprocfs's answers. Only what cgprocfs covers is cloned, never the whole
 * procfs: the runtime's masks (maskedPaths, readonlyPaths) are mounts over procfs, which a
 * clone of the mount alone would not carry. Anything else there (a FUSE file: an earlier run
 * of the hook covered it already) is left alone. A cgprocfs_binds() callback, for a pass
 * before the binds: 0, or -errno when @dest could not be kept.
 */
static int keep_input(const char *src_path, const char *dest, void *arg)
{
	struct hook *h = arg;
	char hidden[PATH_MAX];
	struct statfs sf;
	struct stat st;
	int src = rootfs_open(h->rootfd, dest, O_PATH, ROOTFS_EXISTING), r = 0;

	(void)src_path;
	if (src < 0)
		return 0; /* nothing there to cover */
	if (fstatfs(src, &sf) == 0 && (sf.f_type == PROC_SUPER_MAGIC || sf.f_type == SYSFS_MAGIC) &&
	    fstat(src, &st) == 0) {
		snprintf(hidden, sizeof(hidden), "%s%s", VFILE_HOST_INPUTS, dest);
		r = rootfs_bind(h->rootfd, src, hidden,
				S_ISDIR(st.st_mode) ? ROOTFS_DIR : ROOTFS_FILE);
		if (r < 0)
			hook_log(h, LOG_WARNING, "cannot keep %s at %s: %s", dest, hidden,
				 strerror(-r));
	}
	close(src);
	return r < 0 ? r : 0;
}

/*
 * Keeps every input cgprocfs is about to cover, or none that the shim looks for: it trusts
 * the inputs when its marker (VFILE_HOST_INPUTS/proc/meminfo) is a procfs file, and an input
 * missing from the mirror would be read from the overlay, cgprocfs's answer rendered again.
 * So when one could not be kept, the marker is unmounted.
 */
static void keep_inputs(struct hook *h)
{
	int r = cgprocfs_binds(h->cgprocfs, keep_input, h), fd;
	char proc[64];

	if (r >= 0)
		return;
	fd = rootfs_open(h->rootfd, VFILE_HOST_INPUTS "/proc/meminfo", O_PATH, ROOTFS_EXISTING);
	if (fd < 0)
		return;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (umount2(proc, MNT_DETACH) < 0 && errno != EINVAL)
		hook_log(h, LOG_WARNING, "cannot drop the kept inputs: %s", strerror(errno));
	close(fd);
}

/* A cgprocfs_binds() callback: @src (on the host) over @dest in the container, if it has one. */
static int bind_into_rootfs(const char *src_path, const char *dest, void *arg)
{
	struct hook *h = arg;
	int src = open(src_path, O_PATH | O_CLOEXEC), r;

	if (src < 0)
		return -ENOENT; /* gone since it was listed: nothing to bind */
	r = rootfs_bind(h->rootfd, src, dest, ROOTFS_EXISTING);
	close(src);
	if (r < 0 && r != -ENOENT)
		hook_log(h, LOG_WARNING, "cannot bind %s over %s: %s", src_path, dest,
			 strerror(-r));
	return r < 0 ? r : 0;
}

/* cgprocfs's files over the container's, given the state of its mount (one look per hook). */
static int fuse_binds(struct hook *h, enum cgprocfs_mount state)
{
	switch (state) {
	case CGPROCFS_MOUNT_LIVE:
		return cgprocfs_binds(h->cgprocfs, bind_into_rootfs, h);
	case CGPROCFS_MOUNT_DEAD:
		hook_log(h, LOG_WARNING,
			 "cgprocfs at %s is disconnected (its daemon died unsupervised; restart "
			 "cgprocfs to replace it)",
			 h->cgprocfs);
		return -ENOTCONN;
	case CGPROCFS_MOUNT_NONE:
		break;
	}
	hook_log(h, LOG_WARNING, "cgprocfs is not mounted at %s", h->cgprocfs);
	return -ENOENT;
}

static int view_fuse(struct hook *h)
{
	return fuse_binds(h, cgprocfs_mount_state(h->cgprocfs));
}

/*
 * auto, for an image with the loader: next to the shim, cgprocfs's files for the image's static
 * programs (busybox-static, Go), which no preload reaches. The container's own files are kept
 * at VFILE_HOST_INPUTS first (keep_input()): finding them, the shim answers the covered paths
 * itself from those inputs (its in-process speed, never applied twice); where they could not be
 * kept, it leaves a file that a FUSE overlay serves to cgprocfs (libcgproc(8)). The shim answers
 * the calls (sysconf, get_nprocs, sysinfo) either way. Without a live cgprocfs: the shim alone.
 * An explicit shim view leaves static programs the host's files.
 */
static void view_shim_files(struct hook *h)
{
	enum cgprocfs_mount state = cgprocfs_mount_state(h->cgprocfs);
	int r;

	if (state == CGPROCFS_MOUNT_LIVE)
		keep_inputs(h);
	r = fuse_binds(h, state); /* says why it bound nothing */

	if (r < 0)
		hook_log(h, LOG_NOTICE, "shim only: static programs see the host's files");
}

static void bind_rundir(struct hook *h)
{
	int src = open(h->rundir, O_PATH | O_DIRECTORY | O_CLOEXEC), r;

	if (src < 0)
		return; /* no cgprocd: the view works without its table */
	r = rootfs_bind(h->rootfd, src, h->rundir, ROOTFS_DIR);
	close(src);
	if (r < 0)
		hook_log(h, LOG_WARNING, "cannot bind %s: %s", h->rundir, strerror(-r));
}

/*
 * A createContainer hook runs in the container's namespaces, with the host's /proc still mounted:
 * its pid there differs from getpid(), and it is already in the right mount namespace (state.pid
 * is then the container's view, typically 1). A hook run in the runtime's namespaces (prestart,
 * createRuntime) sees its own pid in /proc, and state.pid is the runtime's view: it enters the
 * container's mount namespace first. crun gives createContainer hooks pid 0 (its container process
 * does not know its own pid in the runtime's view): 0 is accepted where nothing is to be entered.
 */
static int enter_container_mntns(long pid)
{
	char path[64], self[32];
	ssize_t n = readlink("/proc/self", self, sizeof(self) - 1);
	int fd, r = 0;

	if (n < 0)
		return -errno;
	self[n] = 0;
	if (strtol(self, NULL, 10) != (long)getpid())
		return 0;
	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%ld/ns/mnt", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNS) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* The rootfs directory from config.json's root.path (relative to the bundle). */
static int open_rootfs(struct hook *h, const char *bundle, const struct json *config)
{
	char root[PATH_MAX], path[PATH_MAX * 2];
	int fd;

	if (json_string(json_get_path(config, "root", "path", NULL), root, sizeof(root)) <= 0) {
		hook_log(h, LOG_WARNING, "config.json has no root.path");
		return -EINVAL;
	}
	if (root[0] == '/')
		snprintf(path, sizeof(path), "%s", root);
	else
		snprintf(path, sizeof(path), "%s/%s", bundle, root);
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		hook_log(h, LOG_WARNING, "cannot open the rootfs %s: %m", path);
		return -errno;
	}
	return fd;
}

static int hook_run(struct hook *h)
{
	struct json_doc *state = NULL, *config = NULL;
	char bundle[PATH_MAX], cfg_path[PATH_MAX + 16], *text = NULL;
	long long pid = 0;
	enum oci_view ann;
	bool automatic;
	long n;
	int r;

	n = fd_read_all(STDIN_FILENO, OCI_STATE_MAX, &text);
	if (n < 0) {
		hook_log(h, LOG_WARNING, "cannot read the state on stdin: %s", strerror((int)-n));
		return (int)n;
	}
	r = json_parse(text, (size_t)n, &state, NULL);
	free(text);
	if (r < 0) {
		hook_log(h, LOG_WARNING, "the state on stdin is not valid JSON: %s",
			 r == -ELOOP ? "nested too deeply" : strerror(-r));
		return r;
	}
	json_string(json_get(json_root(state), "id"), h->id, sizeof(h->id));
	if (json_string(json_get(json_root(state), "bundle"), bundle, sizeof(bundle)) <= 0 ||
	    !json_integer(json_get(json_root(state), "pid"), 0, INT_MAX, &pid)) {
		hook_log(h, LOG_WARNING, "the state has no bundle or pid");
		r = -EINVAL;
		goto out;
	}
	snprintf(cfg_path, sizeof(cfg_path), "%s/config.json", bundle);
	r = oci_doc_load(cfg_path, OCI_CONFIG_MAX, &config);
	if (r < 0) {
		hook_log(h, LOG_WARNING, "cannot load %s: %s", cfg_path, strerror(-r));
		goto out;
	}
	/* The state carries the annotations (runtime.md); config.json is where runtimes that
	 * omit them keep them. */
	r = oci_annotation_view(json_get(json_root(state), "annotations"), &ann);
	if (r == -ENOENT)
		r = oci_annotation_view(json_get(json_root(config), "annotations"), &ann);
	if (r == -EINVAL) {
		hook_log(h, LOG_WARNING,
			 "annotation %s is not one of auto, shim, fuse, off: no view",
			 OCI_ANNOTATION);
		goto out;
	}
	if (r == 0)
		h->view = ann;
	r = 0;
	if (h->view == OCI_VIEW_OFF)
		goto out;
	r = enter_container_mntns((long)pid);
	if (r < 0) {
		hook_log(h, LOG_WARNING, "cannot enter the mount namespace of pid %lld: %s", pid,
			 strerror(-r));
		goto out;
	}
	h->rootfd = open_rootfs(h, bundle, json_root(config));
	if (h->rootfd < 0) {
		r = h->rootfd;
		goto out;
	}
	automatic = h->view == OCI_VIEW_AUTO;
	if (automatic)
		h->view = image_has_loader(h) ? OCI_VIEW_SHIM : OCI_VIEW_FUSE;
	r = h->view == OCI_VIEW_SHIM ? view_shim(h) : view_fuse(h);
	if (r < 0 && automatic && h->view == OCI_VIEW_SHIM) {
		h->view = OCI_VIEW_FUSE; /* no shim to bind: cgprocfs still covers the files */
		r = view_fuse(h);
	} else if (r >= 0 && automatic && h->view == OCI_VIEW_SHIM) {
		view_shim_files(h);
	}
	if (r >= 0)
		bind_rundir(h);
out:
	json_doc_free(config);
	json_doc_free(state);
	return r;
}

static void hook_usage(FILE *f)
{
	fprintf(f, "Usage: cgproc oci-hook [--view auto|shim|fuse|off] [--cgprocfs DIR] "
		   "[--log FILE] < STATE\n"
		   "An OCI createContainer hook: binds the cgproc view into the container.\n"
		   "Always exits 0; problems are logged. See cgproc-oci(8).\n");
}

int cmd_oci_hook(int argc, char **argv)
{
	static const struct option opts[] = {
		{"view", required_argument, NULL, 'v'},
		{"cgprocfs", required_argument, NULL, 'f'},
		{"rundir", required_argument, NULL, 'r'},
		{"log", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct hook h = {
		.id = "?", .cgprocfs = OCI_CGPROCFS_DIR, .rundir = CGPROC_RUNDIR, .rootfd = -1};
	struct timespec t0, t1;
	int c, r;

	openlog("cgproc-oci-hook", LOG_PID, LOG_DAEMON);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			if (oci_view_parse(optarg, &h.view) < 0)
				hook_log(&h, LOG_WARNING, "--view %s: not a mode, using auto",
					 optarg);
			break;
		case 'f':
			h.cgprocfs = optarg;
			break;
		case 'r':
			h.rundir = optarg;
			break;
		case 'l':
			h.log = fopen(optarg, "ae");
			break;
		case 'h':
			hook_usage(stdout);
			return 0;
		default:
			hook_log(&h, LOG_WARNING, "bad arguments, ignored");
			break;
		}
	}
	r = hook_run(&h);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (h.log) {
		long us = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;

		fprintf(h.log, "%s: view %s: %s, %ld us\n", h.id, oci_view_name(h.view),
			r < 0 ? "not applied" : "done", us);
		fclose(h.log);
	}
	if (h.rootfd >= 0)
		close(h.rootfd);
	return 0;
}
