/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Answering for a caller: the file rendered for the calling process's machine (its cgroup, found
 * through callers.c), in working memory of the pool, or on any failure the host file's bytes.
 * Also the CPU directory's callbacks (cpudir.h), which answer the same way.
 *
 * Must not: reply to FUSE (serve.c does), keep anything past the request but the kept fds of
 * src_fdcache, or read anything but what the rendering needs, read-only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/cpusys.h"
#include "model/macro.h"
#include "render.h"
#include "vfile.h"

/* Forget the kept fds every FDS_TTL_NS: a cgroup removed and made again under the same name is
 * never read through an old fd for longer (the shim forgets its own with its machine). */
static void fds_age(struct serve *s)
{
	uint64_t now = (uint64_t)src_mono_ns(),
		 then = atomic_load_explicit(&s->fds_stamp_ns, memory_order_relaxed);

	if (now - then >= FDS_TTL_NS &&
	    atomic_compare_exchange_strong(&s->fds_stamp_ns, &then, now))
		for (unsigned i = 0; i < FDS_SHARDS; i++)
			src_fdcache_invalidate(&s->fds[i]);
}

/* See render.h. */
int render_host(const struct serve *s, const char *relpath, char **ret_data, size_t *ret_len)
{
	_cleanup_close_ int fd =
		openat(s->src.rootfd, relpath, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	_cleanup_free_ char *data = NULL;
	size_t cap = RENDER_START;

	if (fd < 0)
		return -errno;
	for (;;) {
		char *bigger = realloc(data, cap);
		ssize_t n;

		if (!bigger)
			return -ENOMEM;
		data = bigger;
		/* One read per attempt: a second read could see newer values instead of EOF. */
		n = pread(fd, data, cap, 0);
		if (n < 0)
			return -errno;
		if ((size_t)n < cap) {
			*ret_data = TAKE_PTR(data);
			*ret_len = (size_t)n;
			return 0;
		}
		if (cap >= RENDER_MAX)
			return -EFBIG;
		cap *= 2;
	}
}

/* A request for caller @c (host pid @pid) reading through @src (@c's shard of kept fds); no
 * scratch memory yet. */
static struct vfile_req caller_req(struct serve *s, const struct caller *c, struct cg_src *src,
				   pid_t pid)
{
	*src = s->src;
	src->fds = &s->fds[c->snap->machine_hash % FDS_SHARDS];
	return (struct vfile_req){
		.src = src,
		.machine = &c->snap->machine,
		.config = &c->snap->config,
		.sample = c->has_sample ? &c->sample : NULL,
		.pid = pid,
	};
}

/* vfile_render() of @vf, or with @vf NULL vfile_cpudir_render() of the file @relpath (under the
 * root, in the CPU directory), for the caller @c into a malloc'ed copy. -errno: serve the host
 * file. */
static int render_caller(struct serve *s, const struct vfile *vf, const char *relpath, pid_t pid,
			 const struct caller *c, char **ret_data, size_t *ret_len)
{
	struct cg_src src;
	struct work *w;
	int r;

	if (!vfile_enabled(&c->snap->config, vf ? vf->id : VFILE_SYS_CPU_ONLINE))
		return -EPERM; /* switched off for this caller: the host file, as the shim would */
	w = work_get(&s->work);
	if (!w)
		return -ENOMEM;
	for (;;) {
		struct vfile_req req = caller_req(s, c, &src, pid);
		struct buf b;

		req.scratch = w->scratch;
		req.scratch_size = w->scap;
		buf_init(&b, w->out, w->ocap);
		r = vf ? vfile_render(vf, &req, &b)
		       : vfile_cpudir_render(&req, relpath + sizeof(CPUDIR_REL), &b);
		if (r >= 0)
			r = buf_result(&b);
		if (r >= 0) {
			char *data = malloc(b.len ? b.len : 1);

			if (!data) {
				r = -ENOMEM;
				break;
			}
			memcpy(data, w->out, b.len);
			*ret_data = data;
			*ret_len = b.len;
			break;
		}
		if (r != -ENOBUFS || w->ocap >= RENDER_MAX)
			break;
		r = work_grow(w, w->scap * 2, b.need > w->ocap ? b.need + 1 : w->ocap * 2);
		if (r < 0)
			break;
	}
	work_put(&s->work, w);
	return r < 0 ? r : 0;
}

/* Render @vf, or with @vf NULL the file @relpath of the CPU directory, for @pid. */
int render_for(struct serve *s, const struct vfile *vf, const char *relpath, pid_t pid,
	       char **ret_data, size_t *ret_len)
{
	struct caller c = {0};
	int r;

	fds_age(s);
	r = caller_get(s->callers, pid, &c);
	if (r >= 0)
		r = c.snap->r;
	if (r >= 0)
		r = render_caller(s, vf, relpath, pid, &c, ret_data, ret_len);
	if (c.snap)
		caller_put(&c);
	if (r >= 0)
		return 0;
	if (s->debug)
		fprintf(stderr, "cgprocfs: %s for pid %d: host file (%s)\n",
			vf ? vf->path : relpath, (int)pid, strerror(-r));
	return render_host(s, vf ? vf->path + 1 : relpath, ret_data, ret_len);
}

int render_cpu_visible(void *ctx, pid_t pid, struct cpuset *ret)
{
	struct serve *s = ctx;
	struct caller c = {0};
	int r = caller_get(s->callers, pid, &c);

	if (r >= 0)
		r = c.snap->r;
	if (r >= 0) {
		struct cg_src src;
		struct vfile_req req = caller_req(s, &c, &src, pid);

		r = vfile_cpudir_visible(&req, ret);
	}
	if (c.snap)
		caller_put(&c);
	return r;
}

/* The file's text for @pid: rendered when it names CPUs, else the host's. */
int render_cpu_read(void *ctx, const char *path, pid_t pid, char **ret_data, size_t *ret_len)
{
	const char *rel = path + sizeof(CPUDIR_REL);

	if (cpusys_kind_of((struct span){rel, strlen(rel)}) == CPUSYS_HOST)
		return render_host(ctx, path, ret_data, ret_len);
	return render_for(ctx, NULL, path, pid, ret_data, ret_len);
}
