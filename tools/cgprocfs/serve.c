/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libcgprocfs-serve.so: the request handlers of cgprocfs plus the core, loaded (and on SIGUSR1
 * replaced) by the thin host in cgprocfs.c. See serve.h for what must stay stable across copies.
 *
 * Every request is answered for the calling process: its host pid (from the FUSE request) is
 * resolved to its machine cgroup with cg_machine_find() on the host root (kept about a second per
 * caller, callers.c), and the file is rendered with vfile_render(). The tree is built from
 * vfile_table (never a second list of paths). Policy on any failure: serve the host file's bytes,
 * never EIO for a readable host file.
 *
 * Per request, only what moves is read: input files through kept fds (source.h, src_fdcache: a
 * pread instead of openat + read + close, forgotten every FDS_TTL_NS; one cache per shard of
 * machines, so that many containers do not evict each other's), /proc/meminfo and
 * /proc/cpuinfo through the text cache (as the shim keeps them), in working memory kept between
 * requests (a small pool: no page faults and no heap trimming per request).
 *
 * Must not: keep state in globals (each loaded copy gets its own struct serve), write anything
 * under the root, or open anything but read-only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "callers.h"
#include "render.h"
#include "cpudir.h"
#include "model/macro.h"
#include "cgproc-config.h"
#include "serve.h"
#include "tree.h"
#include "work.h"
#include "model/cpusys.h"
#include "source/caller.h"
#include "source/table.h"
#include "vfile.h"

#define ENTRY_TIMEOUT 1.0      /* names never change */
#define DIR_ATTR_TIMEOUT 1.0   /* directories look the same to everyone */
#define ATTR_TIMEOUT 0.0       /* st_size depends on the caller: never cache it */
#define READ_STACK (16 * 1024) /* replies up to this size are copied on the stack */

/* cgproc.conf under the trust rule of model/config.h: cgprocfs serves every user. */
static void config_load(struct serve *s)
{
	char text[8192];

	config_defaults(&s->config);
	(void)src_config_file_apply(&s->src, &s->config, text, sizeof(text));
}

static pid_t req_pid(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	return ctx ? ctx->pid : 0;
}

static void node_stat(const struct serve *s, const struct node *n, size_t size, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_mode = n->vf ? S_IFREG | 0444 : S_IFDIR | 0555;
	st->st_nlink = n->vf ? 1 : 2;
	st->st_size = (off_t)size;
	st->st_blksize = 4096;
	st->st_mtime = st->st_ctime = st->st_atime = s->mtime;
}

/* Kept fds (up to FDS_SHARDS * SRC_FDCACHE_SLOTS, plus a pidfd per kept caller) must not take
 * the descriptors that reading other files needs: raise the soft limit toward the hard one. */
static void nofile_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= FDS_NOFILE)
		return;
	rl.rlim_cur =
		rl.rlim_max == RLIM_INFINITY || rl.rlim_max > FDS_NOFILE ? FDS_NOFILE : rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

static void serve_fini(void *state)
{
	struct serve *s = state;

	if (!s)
		return;
	caller_cache_free(s->callers);
	cpudir_free(s->cpu);
	if (s->fds) {
		/* nothing else in this process closes them: every kept fd is still ours */
		for (unsigned k = 0; k < FDS_SHARDS; k++)
			for (size_t i = 0; i < SRC_FDCACHE_SLOTS; i++)
				if (s->fds[k].slot[i].fd >= 0)
					close(s->fds[k].slot[i].fd);
		free(s->fds);
	}
	free(s->texts);
	free(s->text_bufs);
	work_pool_fini(&s->work);
	if (s->src.rootfd >= 0)
		close(s->src.rootfd);
	free(s);
}

/* For _cleanup_: a half-built state is torn down like a whole one. */
static void serve_freep(struct serve **s)
{
	if (*s)
		serve_fini(*s);
}

static int serve_init(const struct cgprocfs_params *params, void **ret_state)
{
	_cleanup_(serve_freep) struct serve *s = calloc(1, sizeof(*s));
	long hz = sysconf(_SC_CLK_TCK);
	int r;

	if (!s)
		return -ENOMEM;
	work_pool_init(&s->work);
	s->src.rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->src.rootfd < 0)
		return -errno;
	s->src.ticks_per_sec = hz > 0 ? (uint64_t)hz : 100;
	s->debug = params->debug;
	snprintf(s->rundir, sizeof(s->rundir), "%s", params->rundir ? params->rundir : "");
	s->mtime = time(NULL);
	config_load(s);
	if (s->rundir[0])
		snprintf(s->config.rundir, sizeof(s->config.rundir), "%s", s->rundir);
	r = tree_build(&s->tree, s->src.rootfd);
	if (r < 0)
		return r;
	if (tree_find(&s->tree, tree_dir_ino(CPUDIR_REL, sizeof(CPUDIR_REL) - 1))) {
		struct cpudir_host host = {s, s->src.rootfd, &s->tree, render_cpu_visible,
					   render_cpu_read};

		r = cpudir_new(tree_dir_ino(CPUDIR_REL, sizeof(CPUDIR_REL) - 1), &host, &s->cpu);
		if (r < 0)
			return r;
	}
	/* Kept input fds and texts for every request (thread-safe: lock-free slots, seqlocked
	 * texts). Per-process files are never kept (src.self_pid 0). */
	s->fds = malloc(FDS_SHARDS * sizeof(*s->fds));
	if (!s->fds)
		return -ENOMEM;
	for (unsigned i = 0; i < FDS_SHARDS; i++) {
		src_fdcache_init(&s->fds[i],
				 FDS_MIN); /* before any return: serve_fini closes them */
		s->fds[i].owns_fds = true; /* no code in this daemon closes fds it does not own */
	}
	s->texts = calloc(1, sizeof(*s->texts));
	s->text_bufs = malloc(HOST_TEXTS * SRC_TEXTCACHE_MAX);
	if (!s->texts || !s->text_bufs)
		return -ENOMEM;
	nofile_raise();
	src_textcache_add_host(s->texts, s->text_bufs);
	/* the daemon's own mounts, parsed for every new caller (callers.c keeps callers that long)
	 */
	(void)src_textcache_add(s->texts, "proc/self/mountinfo", SRC_HOST_TEXT_AGE_NS,
				s->text_bufs + SRC_HOST_TEXTS * SRC_TEXTCACHE_MAX,
				SRC_TEXTCACHE_MAX);
	atomic_init(&s->fds_stamp_ns, (uint64_t)src_mono_ns());
	/* s->src.fds stays NULL: resolutions (callers.c, about once a second per machine) read
	 * without keeping; renders use their machine's shard */
	s->src.texts = s->texts;
	r = caller_cache_new(&s->src, &s->config, &s->callers);
	if (r < 0)
		return r;
	*ret_state = TAKE_PTR(s);
	return 0;
}

static void serve_lookup(void *state, fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct serve *s = state;
	const struct node *n = tree_child(&s->tree, parent, name);
	struct fuse_entry_param e = {0};

	if (!n && cpudir_owns(s->cpu, parent)) {
		cpudir_lookup(s->cpu, req, parent, name);
		return;
	}
	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	/* No render here: with attr_timeout 0 every stat() comes back to getattr, which renders
	 * for its caller. But the kernel reads a file opened right after its lookup with the
	 * lookup's size until a stat (sendfile(), busybox cat, stops there): files in the CPU
	 * directory, reached by lookups rather than bound one by one (binding stats them), say
	 * 4096 as sysfs does of every file; /proc files 0 as procfs does. */
	e.ino = n->ino;
	e.attr_timeout = n->vf ? ATTR_TIMEOUT : DIR_ATTR_TIMEOUT;
	e.entry_timeout = ENTRY_TIMEOUT;
	node_stat(s, n, n->vf && strncmp(n->vf->path, "/sys/", 5) == 0 ? 4096 : 0, &e.attr);
	fuse_reply_entry(req, &e);
}

static void serve_getattr(void *state, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct serve *s = state;
	const struct node *n = tree_find(&s->tree, ino);
	size_t size = 0;
	struct stat st;

	if (!n && cpudir_owns(s->cpu, ino)) {
		cpudir_getattr(s->cpu, req, ino);
		return;
	}
	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (n->vf && fi && fi->fh) {
		/* fstat() on an open file: the size of what this fd serves. */
		struct cgprocfs_file *f = (struct cgprocfs_file *)(uintptr_t)fi->fh;

		pthread_mutex_lock(&f->lock);
		size = f->len;
		pthread_mutex_unlock(&f->lock);
	} else if (n->vf) {
		/* stat() by path: the size the caller would read now. Not kept for an open that
		 * follows: the caller may act in between (its own block I/O, allocations), and an
		 * open reads the state at the open, as on procfs. */
		char *data;

		if (render_for(s, n->vf, NULL, req_pid(req), &data, &size) == 0)
			free(data);
	}
	node_stat(s, n, size, &st);
	fuse_reply_attr(req, &st, n->vf ? ATTR_TIMEOUT : DIR_ATTR_TIMEOUT);
}

static void serve_open(void *state, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct serve *s = state;
	const struct node *n = tree_find(&s->tree, ino);
	bool pass = !n && cpudir_owns(s->cpu, ino);
	struct cgprocfs_file *f;
	int r;

	if (!pass && (!n || !n->vf)) {
		fuse_reply_err(req, n ? EISDIR : ENOENT);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EACCES);
		return;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_init(&f->lock, NULL);
	f->vfile_id = pass ? CGPROCFS_FILE_PASS : n->vf->id;
	r = 0;
	if (pass)
		r = cpudir_open(s->cpu, req, ino, &f->data, &f->len);
	else
		r = render_for(s, n->vf, NULL, req_pid(req), &f->data, &f->len);
	if (r < 0) {
		pthread_mutex_destroy(&f->lock);
		free(f);
		fuse_reply_err(req, -r);
		return;
	}
	f->fresh = true;
	fi->fh = (uint64_t)(uintptr_t)f;
	/* direct_io: reads go by what we return, not by st_size, and nothing is page-cached
	 * across callers that see different content. */
	fi->direct_io = 1;
	fi->keep_cache = 0;
	if (fuse_reply_open(req, fi) != 0) {
		/* the opener was interrupted: the kernel never sees this fh, so no release comes */
		free(f->data);
		pthread_mutex_destroy(&f->lock);
		free(f);
	}
}

static void serve_read(void *state, fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct serve *s = state;
	struct cgprocfs_file *f = (struct cgprocfs_file *)(uintptr_t)fi->fh;
	char small[READ_STACK], *copy = NULL;
	size_t len = 0;

	if (!f || (f->vfile_id >= _VFILE_MAX && f->vfile_id != CGPROCFS_FILE_PASS) || off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	pthread_mutex_lock(&f->lock);
	/* A rewind (top, vmstat keep the fd), or a file opened under a worker that has died since
	 * (its data stayed there): render again for whoever reads now. Pass-through files keep
	 * what was read at open. */
	if (f->vfile_id < _VFILE_MAX && ((off == 0 && !f->fresh) || !f->data)) {
		char *data;
		size_t data_len;

		if (render_for(s, &vfile_table[f->vfile_id], NULL, req_pid(req), &data,
			       &data_len) == 0) {
			free(f->data);
			f->data = data;
			f->len = data_len;
		}
	}
	f->fresh = false;
	/* Reply after unlocking, from a copy: once the reply is sent the reader may close the
	 * file and the release (another thread) frees @f, lock included. */
	if ((size_t)off < f->len) {
		len = size < f->len - (size_t)off ? size : f->len - (size_t)off;
		copy = len <= sizeof(small) ? small : malloc(len);
		if (copy)
			memcpy(copy, f->data + off, len);
	}
	pthread_mutex_unlock(&f->lock);
	if (len && !copy)
		fuse_reply_err(req, ENOMEM);
	else
		fuse_reply_buf(req, copy, len);
	if (copy != small)
		free(copy);
}

static void serve_release(void *state, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cgprocfs_file *f = (struct cgprocfs_file *)(uintptr_t)fi->fh;

	if (f) {
		free(f->data);
		pthread_mutex_destroy(&f->lock);
		free(f);
	}
	fuse_reply_err(req, 0);
}

static void serve_opendir(void *state, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct serve *s = state;
	const struct node *n = tree_find(&s->tree, ino);

	if (!n && cpudir_owns(s->cpu, ino))
		cpudir_opendir(s->cpu, req, ino, fi);
	else if (!n)
		fuse_reply_err(req, ENOENT);
	else if (n->vf)
		fuse_reply_err(req, ENOTDIR);
	else
		fuse_reply_open(req, fi);
}

static void serve_readdir(void *state, fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			  struct fuse_file_info *fi)
{
	struct serve *s = state;
	const struct node *dir = tree_find(&s->tree, ino);
	char out[4096];
	size_t len = 0, idx = 0;

	if (cpudir_owns(s->cpu, ino)) {
		cpudir_readdir(s->cpu, req, ino, size, off);
		return;
	}
	if (!dir || dir->vf) {
		fuse_reply_err(req, dir ? ENOTDIR : ENOENT);
		return;
	}
	if (size > sizeof(out))
		size = sizeof(out);
	/* Offsets: 1 = ".", 2 = "..", 3.. = children in tree order. */
	for (size_t i = 0; i < s->tree.n_nodes + 2; i++) {
		const struct node *n = NULL;
		const char *name;
		struct stat st = {0};
		size_t need;

		if (i == 0) {
			name = ".";
			st.st_ino = dir->ino;
		} else if (i == 1) {
			name = "..";
			st.st_ino = dir->parent;
		} else {
			n = &s->tree.nodes[i - 2];
			if (n->parent != dir->ino || n->ino == FUSE_ROOT_ID)
				continue;
			name = n->name;
			st.st_ino = n->ino;
		}
		idx++;
		if ((off_t)idx <= off)
			continue;
		st.st_mode = n && n->vf ? S_IFREG : S_IFDIR;
		need = fuse_add_direntry(req, out + len, size - len, name, &st, (off_t)idx);
		if (need > size - len)
			break;
		len += need;
	}
	fuse_reply_buf(req, out, len);
}

static void serve_readlink(void *state, fuse_req_t req, fuse_ino_t ino)
{
	struct serve *s = state;

	if (s->cpu)
		cpudir_readlink(s->cpu, req, ino);
	else
		fuse_reply_err(req, EINVAL);
}

__attribute__((visibility("default"))) extern const struct cgprocfs_serve_ops cgprocfs_serve_v1;

const struct cgprocfs_serve_ops cgprocfs_serve_v1 = {
	.abi = CGPROCFS_SERVE_ABI,
	.size = sizeof(struct cgprocfs_serve_ops),
	.version = CGPROC_VERSION,
	.init = serve_init,
	.fini = serve_fini,
	.lookup = serve_lookup,
	.getattr = serve_getattr,
	.open = serve_open,
	.read = serve_read,
	.release = serve_release,
	.opendir = serve_opendir,
	.readdir = serve_readdir,
	.readlink = serve_readlink,
};
