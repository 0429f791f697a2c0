/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libcgprocfs-serve.so: the request handlers of cgprocfs plus the core, loaded (and on SIGUSR1
 * replaced) by the thin host in cgprocfs.c. See serve.h for what must stay stable across copies.
 *
 * Every request is answered for the calling process: its host pid (from the FUSE request) is
 * resolved to its machine cgroup with cg_machine_find() on the host root, and the file is
 * rendered with vfile_render(). The tree is built from vfile_table (never a second list of
 * paths). Policy on any failure: serve the host file's bytes, never EIO for a readable host file.
 *
 * Must not: keep state in globals (each loaded copy gets its own struct serve), write anything
 * under the root, or open anything but read-only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgproc-config.h"
#include "serve.h"
#include "source/table.h"
#include "vfile.h"

#define NODE_MAX 64
#define NAME_MAX_LEN 64
#define FILE_INO_BASE (1ULL << 32) /* file inode = base + vfile id (ids are append-only) */
#define DIR_INO_FLAG (1ULL << 62)  /* directory inode = flag | FNV-1a of its path */
#define RENDER_START (64 * 1024)
#define RENDER_MAX (64 * 1024 * 1024)
#define MCACHE_SLOTS 64
#define MCACHE_TTL_NS 1000000000ULL /* per-pid machine lookups are reused for 1 s */
#define ENTRY_TIMEOUT 1.0	    /* names never change */
#define DIR_ATTR_TIMEOUT 1.0	    /* directories look the same to everyone */
#define STASH_SLOTS 16
#define STASH_TTL_NS 100000000ULL /* a getattr's rendering is reused by an open within 100 ms */
#define ATTR_TIMEOUT 0.0	  /* st_size depends on the caller: never cache it */

struct node {
	fuse_ino_t ino;
	fuse_ino_t parent;
	char name[NAME_MAX_LEN];
	const struct vfile *vf; /* NULL for a directory */
};

/* What a request needs to know about its caller, as the shim in that process would know it. */
struct caller {
	struct cg_machine machine;
	struct cgproc_config config; /* cgproc.conf, then the caller's CGPROC_* environment */
	struct cg_sample sample;
	bool has_sample;
};

struct mcache_slot {
	pid_t pid;
	int r;
	uint64_t stamp_ns;
	struct caller caller;
	struct cg_sample_cache
		sample_cache; /* per machine: one stat while the table is unchanged */
};

/* Per-pid machine lookups, direct-mapped by pid. Owned by one struct serve. */
struct machine_cache {
	pthread_mutex_t lock;
	struct mcache_slot slot[MCACHE_SLOTS];
};

/*
 * A getattr must render (the size is the caller's). Programs that stat() a file and then open
 * it (ls -l, Python's pathlib, tail) would pay two renders; the rendering is kept here briefly
 * for the same caller's open that follows, so that costs one render.
 */
struct stash_slot {
	pid_t pid;
	unsigned vfile_id;
	uint64_t stamp_ns;
	char *data;
	size_t len;
};

struct stash {
	pthread_mutex_t lock;
	struct stash_slot slot[STASH_SLOTS];
};

struct serve {
	struct cg_src src;
	struct stash stash;
	struct cgproc_config config;
	bool debug;
	char rundir[256];
	time_t mtime;
	size_t n_nodes;
	struct node nodes[NODE_MAX];
	struct machine_cache cache;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static struct stash_slot *stash_slot_of(struct serve *s, pid_t pid, unsigned vfile_id)
{
	return &s->stash.slot[((unsigned)pid * 31u + vfile_id) % STASH_SLOTS];
}

/* Keep @data (ownership passes) for the open that usually follows a getattr. */
static void stash_put(struct serve *s, pid_t pid, unsigned vfile_id, char *data, size_t len)
{
	struct stash_slot *slot = stash_slot_of(s, pid, vfile_id);
	char *old;

	pthread_mutex_lock(&s->stash.lock);
	old = slot->data;
	slot->pid = pid;
	slot->vfile_id = vfile_id;
	slot->stamp_ns = now_ns();
	slot->data = data;
	slot->len = len;
	pthread_mutex_unlock(&s->stash.lock);
	free(old);
}

static bool stash_take(struct serve *s, pid_t pid, unsigned vfile_id, char **ret_data,
		       size_t *ret_len)
{
	struct stash_slot *slot = stash_slot_of(s, pid, vfile_id);
	bool hit = false;

	pthread_mutex_lock(&s->stash.lock);
	if (slot->data && slot->pid == pid && slot->vfile_id == vfile_id &&
	    now_ns() - slot->stamp_ns < STASH_TTL_NS) {
		*ret_data = slot->data;
		*ret_len = slot->len;
		slot->data = NULL;
		hit = true;
	}
	pthread_mutex_unlock(&s->stash.lock);
	return hit;
}

static fuse_ino_t dir_ino(const char *path, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	if (len == 0)
		return FUSE_ROOT_ID;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)path[i];
		h *= 0x100000001b3ULL;
	}
	return DIR_INO_FLAG | (h & (DIR_INO_FLAG - 1));
}

static const struct node *node_find(const struct serve *s, fuse_ino_t ino)
{
	for (size_t i = 0; i < s->n_nodes; i++)
		if (s->nodes[i].ino == ino)
			return &s->nodes[i];
	return NULL;
}

static const struct node *node_child(const struct serve *s, fuse_ino_t parent, const char *name)
{
	for (size_t i = 0; i < s->n_nodes; i++)
		if (s->nodes[i].parent == parent && strcmp(s->nodes[i].name, name) == 0 &&
		    s->nodes[i].ino != FUSE_ROOT_ID)
			return &s->nodes[i];
	return NULL;
}

static int node_add(struct serve *s, fuse_ino_t ino, fuse_ino_t parent, const char *name,
		    size_t name_len, const struct vfile *vf)
{
	struct node *n;

	if (node_find(s, ino))
		return 0;
	if (s->n_nodes >= NODE_MAX || name_len >= NAME_MAX_LEN)
		return -ENOSPC;
	n = &s->nodes[s->n_nodes++];
	n->ino = ino;
	n->parent = parent;
	memcpy(n->name, name, name_len);
	n->name[name_len] = 0;
	n->vf = vf;
	return 0;
}

/* The tree: every non-per-process vfile whose host file exists, and the directories above it. */
static int tree_build(struct serve *s)
{
	int r;

	r = node_add(s, FUSE_ROOT_ID, FUSE_ROOT_ID, "", 0, NULL);
	if (r < 0)
		return r;
	vfile_foreach (vf) {
		const char *rel = vf->path + 1, *p = rel;
		fuse_ino_t parent = FUSE_ROOT_ID;

		if (vf->flags & VFILE_PER_PROCESS || vf->path[0] != '/')
			continue;
		if (faccessat(s->src.rootfd, rel, R_OK, 0) < 0)
			continue; /* nothing to overlay (e.g. no PSI on this kernel) */
		for (const char *slash; (slash = strchr(p, '/')); p = slash + 1) {
			fuse_ino_t ino = dir_ino(rel, (size_t)(slash - rel));

			r = node_add(s, ino, parent, p, (size_t)(slash - p), NULL);
			if (r < 0)
				return r;
			parent = ino;
		}
		r = node_add(s, FILE_INO_BASE + vf->id, parent, p, strlen(p), vf);
		if (r < 0)
			return r;
	}
	return 0;
}

static void config_load(struct serve *s)
{
	char text[8192];
	struct stat st;
	ssize_t n;
	int fd;

	config_defaults(&s->config);
	fd = open(CGPROC_CONF_PATH, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	/* Only a root-owned, not world-writable file is trusted: cgprocfs serves every user. */
	if (fstat(fd, &st) == 0 && st.st_uid == 0 && !(st.st_mode & S_IWOTH)) {
		n = read(fd, text, sizeof(text));
		if (n > 0)
			config_apply_text(&s->config, (struct span){text, (size_t)n});
	}
	close(fd);
}

/* Was @pid started AT_SECURE (setuid, file caps)? Then, like the shim, ignore its environment. */
static bool caller_secure(const struct serve *s, const char *procdir)
{
	char path[64];
	uint64_t auxv[512];
	size_t len;

	snprintf(path, sizeof(path), "%s/auxv", procdir);
	if (src_read(&s->src, path, (char *)auxv, sizeof(auxv), &len) < 0)
		return true; /* unknown: the safe answer */
	for (size_t i = 0; i + 1 < len / sizeof(uint64_t); i += 2)
		if (auxv[i] == 23 /* AT_SECURE */)
			return auxv[i + 1] != 0;
	return false;
}

/* The configuration the caller's shim would run with: the daemon's cgproc.conf, then the
 * caller's CGPROC_* environment unless it is AT_SECURE. */
static void caller_config(const struct serve *s, pid_t pid, struct cgproc_config *cfg)
{
	char procdir[32], path[64];
	size_t len;
	char *env;

	*cfg = s->config;
	snprintf(procdir, sizeof(procdir), "proc/%d", (int)pid);
	snprintf(path, sizeof(path), "%s/environ", procdir);
	env = malloc(RENDER_START);
	if (env && !caller_secure(s, procdir) &&
	    src_read(&s->src, path, env, RENDER_START, &len) == 0) {
		for (size_t i = 0; i < len;) {
			const char *e = env + i, *eq;
			size_t n = strnlen(e, len - i);

			i += n + 1;
			if (n <= 7 || strncmp(e, "CGPROC_", 7) != 0)
				continue;
			eq = memchr(e, '=', n);
			if (eq)
				(void)config_apply(cfg, (struct span){e + 7, (size_t)(eq - e - 7)},
						   (struct span){eq + 1, n - (size_t)(eq - e) - 1});
		}
	}
	free(env);
	(void)config_files_resolve(cfg, vfile_names, _VFILE_MAX);
}

static int machine_find(const struct serve *s, pid_t pid, const char *override,
			struct cg_machine *ret)
{
	int r = cg_machine_find(&s->src, pid, override, ret);

	/* a big mountinfo: retry with heap scratch */
	for (size_t size = 256 * 1024; r == -ENOBUFS && size <= RENDER_MAX; size *= 2) {
		char *scratch = malloc(size);

		if (!scratch)
			return -ENOMEM;
		r = cg_machine_find_scratch(&s->src, pid, override, scratch, size, ret);
		free(scratch);
	}
	return r;
}

/* Everything about caller @pid, from the cache when younger than MCACHE_TTL_NS. */
static int caller_get(struct serve *s, pid_t pid, struct caller *ret)
{
	struct mcache_slot *slot = &s->cache.slot[(unsigned)pid % MCACHE_SLOTS];
	uint64_t now = now_ns();
	int r;

	pthread_mutex_lock(&s->cache.lock);
	if (slot->pid == pid && now - slot->stamp_ns < MCACHE_TTL_NS) {
		r = slot->r;
		if (r >= 0) {
			*ret = slot->caller;
			/* the sampler publishes every period: look it up on each request */
			ret->has_sample =
				cg_sample_lookup_cached(&s->src, &ret->machine, ret->config.rundir,
							&slot->sample_cache, &ret->sample) == 0;
		}
		pthread_mutex_unlock(&s->cache.lock);
		return r;
	}
	pthread_mutex_unlock(&s->cache.lock);

	caller_config(s, pid, &ret->config);
	r = machine_find(s, pid, ret->config.machine[0] ? ret->config.machine : NULL,
			 &ret->machine);
	if (r >= 0)
		(void)cg_machine_resolve_start(&s->src, &ret->machine); /* else: found per read */

	pthread_mutex_lock(&s->cache.lock);
	slot->pid = pid;
	slot->r = r < 0 ? r : 0;
	slot->stamp_ns = now;
	if (r >= 0) {
		cg_sample_cache_init(&slot->sample_cache);
		ret->has_sample =
			cg_sample_lookup_cached(&s->src, &ret->machine, ret->config.rundir,
						&slot->sample_cache, &ret->sample) == 0;
		slot->caller = *ret;
	}
	pthread_mutex_unlock(&s->cache.lock);
	return r < 0 ? r : 0;
}

/* The host file's bytes: the fallback for every failure. */
static int host_read(const struct serve *s, const struct vfile *vf, char **ret_data,
		     size_t *ret_len)
{
	size_t cap = RENDER_START;
	char *data = NULL;
	int fd, r;

	fd = openat(s->src.rootfd, vf->path + 1, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	for (;;) {
		char *bigger = realloc(data, cap);
		ssize_t n;

		if (!bigger) {
			r = -ENOMEM;
			break;
		}
		data = bigger;
		/* One read per attempt: a second read could see newer values instead of EOF. */
		n = pread(fd, data, cap, 0);
		if (n < 0) {
			r = -errno;
			break;
		}
		if ((size_t)n < cap) {
			close(fd);
			*ret_data = data;
			*ret_len = (size_t)n;
			return 0;
		}
		if (cap >= RENDER_MAX) {
			r = -EFBIG;
			break;
		}
		cap *= 2;
	}
	close(fd);
	free(data);
	return r;
}

static int render_for(struct serve *s, const struct vfile *vf, pid_t pid, char **ret_data,
		      size_t *ret_len)
{
	size_t scap = RENDER_START, ocap = RENDER_START;
	struct caller *c = NULL;
	int r = -ESRCH;

	if (pid <= 0)
		goto fallback;
	c = malloc(sizeof(*c));
	if (!c) {
		r = -ENOMEM;
		goto fallback;
	}
	r = caller_get(s, pid, c);
	if (r < 0)
		goto fallback;
	if (!c->config.enabled || !(c->config.files & (1ULL << vf->id))) {
		r = -EPERM; /* switched off for this caller: the host file, as the shim would */
		goto fallback;
	}
	for (;;) {
		char *scratch = malloc(scap), *out = malloc(ocap);
		struct vfile_req req = {
			.src = &s->src,
			.machine = &c->machine,
			.config = &c->config,
			.sample = c->has_sample ? &c->sample : NULL,
			.pid = pid,
			.tid = 0,
			.scratch = scratch,
			.scratch_size = scap,
		};
		struct buf b;

		if (!scratch || !out) {
			free(scratch);
			free(out);
			r = -ENOMEM;
			break;
		}
		buf_init(&b, out, ocap);
		r = vfile_render(vf, &req, &b);
		if (r >= 0)
			r = buf_result(&b);
		free(scratch);
		if (r >= 0) {
			free(c);
			*ret_data = out;
			*ret_len = b.len;
			return 0;
		}
		free(out);
		if (r != -ENOBUFS || ocap >= RENDER_MAX)
			break;
		ocap = b.need > ocap ? b.need + 1 : ocap * 2;
		scap *= 2;
	}
fallback:
	if (s->debug)
		fprintf(stderr, "cgprocfs: %s for pid %d: host file (%s)\n", vf->path, (int)pid,
			strerror(-r));
	free(c);
	return host_read(s, vf, ret_data, ret_len);
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

static int serve_init(const struct cgprocfs_params *params, void **ret_state)
{
	struct serve *s = calloc(1, sizeof(*s));
	long hz = sysconf(_SC_CLK_TCK);
	int r;

	if (!s)
		return -ENOMEM;
	s->src.rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->src.rootfd < 0) {
		r = -errno;
		free(s);
		return r;
	}
	s->src.ticks_per_sec = hz > 0 ? (uint64_t)hz : 100;
	s->debug = params->debug;
	snprintf(s->rundir, sizeof(s->rundir), "%s", params->rundir ? params->rundir : "");
	s->mtime = time(NULL);
	pthread_mutex_init(&s->cache.lock, NULL);
	pthread_mutex_init(&s->stash.lock, NULL);
	config_load(s);
	if (s->rundir[0])
		snprintf(s->config.rundir, sizeof(s->config.rundir), "%s", s->rundir);
	r = tree_build(s);
	if (r < 0) {
		close(s->src.rootfd);
		free(s);
		return r;
	}
	*ret_state = s;
	return 0;
}

static void serve_fini(void *state)
{
	struct serve *s = state;

	if (!s)
		return;
	close(s->src.rootfd);
	for (size_t i = 0; i < STASH_SLOTS; i++)
		free(s->stash.slot[i].data);
	pthread_mutex_destroy(&s->stash.lock);
	pthread_mutex_destroy(&s->cache.lock);
	free(s);
}

static void serve_lookup(void *state, fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct serve *s = state;
	const struct node *n = node_child(s, parent, name);
	struct fuse_entry_param e = {0};

	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	/* st_size 0 here: with attr_timeout 0 every stat() comes back to getattr, which renders
	 * for its caller; a lookup's attributes are never shown to anyone. */
	e.ino = n->ino;
	e.attr_timeout = n->vf ? ATTR_TIMEOUT : DIR_ATTR_TIMEOUT;
	e.entry_timeout = ENTRY_TIMEOUT;
	node_stat(s, n, 0, &e.attr);
	fuse_reply_entry(req, &e);
}

static void serve_getattr(void *state, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct serve *s = state;
	const struct node *n = node_find(s, ino);
	size_t size = 0;
	struct stat st;

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
		/* stat() by path: the size the caller would read now. */
		char *data;
		pid_t pid = req_pid(req);

		if (render_for(s, n->vf, pid, &data, &size) == 0)
			stash_put(s, pid, n->vf->id, data, size);
	}
	node_stat(s, n, size, &st);
	fuse_reply_attr(req, &st, n->vf ? ATTR_TIMEOUT : DIR_ATTR_TIMEOUT);
}

static void serve_open(void *state, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct serve *s = state;
	const struct node *n = node_find(s, ino);
	struct cgprocfs_file *f;
	int r;

	if (!n || !n->vf) {
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
	f->vfile_id = n->vf->id;
	r = 0;
	if (!stash_take(s, req_pid(req), n->vf->id, &f->data, &f->len))
		r = render_for(s, n->vf, req_pid(req), &f->data, &f->len);
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
	char *copy = NULL;
	size_t len = 0;

	if (!f || f->vfile_id >= _VFILE_MAX || off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	pthread_mutex_lock(&f->lock);
	if (off == 0 && !f->fresh) {
		/* A rewind (top, vmstat keep the fd): render again for whoever reads now. */
		char *data;
		size_t data_len;

		if (render_for(s, &vfile_table[f->vfile_id], req_pid(req), &data, &data_len) == 0) {
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
		copy = malloc(len);
		if (copy)
			memcpy(copy, f->data + off, len);
	}
	pthread_mutex_unlock(&f->lock);
	if (len && !copy)
		fuse_reply_err(req, ENOMEM);
	else
		fuse_reply_buf(req, copy, len);
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
	const struct node *n = node_find(state, ino);

	if (!n)
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
	const struct node *dir = node_find(s, ino);
	char out[4096];
	size_t len = 0, idx = 0;

	if (!dir || dir->vf) {
		fuse_reply_err(req, dir ? ENOTDIR : ENOENT);
		return;
	}
	if (size > sizeof(out))
		size = sizeof(out);
	/* Offsets: 1 = ".", 2 = "..", 3.. = children in tree order. */
	for (size_t i = 0; i < s->n_nodes + 2; i++) {
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
			n = &s->nodes[i - 2];
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
};
