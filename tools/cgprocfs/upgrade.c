/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The serving library and its live upgrade: each generation of libcgprocfs-serve.so is loaded
 * from a private memfd copy; on SIGUSR1 a fresh copy is loaded, the gate is closed (new requests
 * wait), the in-flight requests finish, the ops pointer is swapped, the gate opens and the old
 * copy is unloaded. The /dev/fuse session never changes hands, so the mount and every bind mount
 * of it keep working.
 *
 * Must not: serve requests (the library does), or keep a request waiting longer than one
 * in-flight request takes.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cgproc-config.h"
#include "host.h"

static int reload_wfd = -1; /* for the SIGUSR1 handler only */

void gate_enter(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	while (g->closed)
		pthread_cond_wait(&g->cond, &g->lock);
	g->inflight++;
	pthread_mutex_unlock(&g->lock);
}

void gate_leave(struct gate *g)
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

void serve_lib_free(struct serve_lib *l)
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
int serve_lib_load(struct host *h, struct serve_lib **ret)
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

int upgrade_signal(struct host *h)
{
	struct sigaction sa = {.sa_handler = on_sigusr1, .sa_flags = SA_RESTART};

	if (pipe2(h->reload_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	/* the reload thread blocks on the read end; only the handler's end is non-blocking */
	fcntl(h->reload_pipe[0], F_SETFL, 0);
	reload_wfd = h->reload_pipe[1];
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGUSR1, &sa, NULL) < 0 ? -errno : 0;
}

int upgrade_thread_start(struct host *h)
{
	int r = pthread_create(&h->reloader, NULL, reload_thread, h);

	h->reloader_started = r == 0;
	return -r;
}

void upgrade_thread_stop(struct host *h)
{
	char q = 'q';

	if (h->reloader_started && write(h->reload_pipe[1], &q, 1) == 1)
		pthread_join(h->reloader, NULL);
	h->reloader_started = false;
}

int serve_lib_path_default(char *out, size_t size)
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
