/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgprocfs's /sys/devices/system/cpu. See cpudir.h. Must not: render (the host's read callback
 * does, for its caller), write anything, or hand out an inode for a path outside the directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpudir.h"
#include "model/cpusys.h"
#include "model/parse.h"

#define BUCKETS 256
#define ENTRY_TIMEOUT 1.0 /* names below a cpuN never change */
#define ATTR_TIMEOUT 1.0  /* the host's attributes, the same for everyone */

struct entry {
	struct entry *next;
	fuse_ino_t ino;
	char path[];
};

struct cpudir {
	pthread_mutex_t lock;
	fuse_ino_t dir_ino;
	struct cpudir_host host;
	struct entry *bucket[BUCKETS];
};

int cpudir_new(fuse_ino_t dir_ino, const struct cpudir_host *host, struct cpudir **ret)
{
	struct cpudir *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	pthread_mutex_init(&d->lock, NULL);
	d->dir_ino = dir_ino;
	d->host = *host;
	*ret = d;
	return 0;
}

void cpudir_free(struct cpudir *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < BUCKETS; i++)
		while (d->bucket[i]) {
			struct entry *e = d->bucket[i];

			d->bucket[i] = e->next;
			free(e);
		}
	pthread_mutex_destroy(&d->lock);
	free(d);
}

bool cpudir_owns(const struct cpudir *d, fuse_ino_t ino)
{
	return d && (ino == d->dir_ino || (ino & (PASS_INO_FLAG | DIR_INO_FLAG)) == PASS_INO_FLAG);
}

static fuse_ino_t path_ino(const char *path)
{
	return PASS_INO_FLAG | (fnv1a(FNV1A_INIT, path, strlen(path)) & (PASS_INO_FLAG - 1));
}

/* The host path of @ino (CPUDIR_REL for the directory). -ENOENT when not known (yet). */
static int ino_path(struct cpudir *d, fuse_ino_t ino, char *buf, size_t size)
{
	int r = -ENOENT;

	if (ino == d->dir_ino) {
		if (size < sizeof(CPUDIR_REL))
			return -ENAMETOOLONG;
		memcpy(buf, CPUDIR_REL, sizeof(CPUDIR_REL));
		return 0;
	}
	pthread_mutex_lock(&d->lock);
	for (struct entry *e = d->bucket[ino % BUCKETS]; e; e = e->next) {
		if (e->ino != ino)
			continue;
		r = strlen(e->path) < size ? 0 : -ENAMETOOLONG;
		if (r == 0)
			strcpy(buf, e->path);
		break;
	}
	pthread_mutex_unlock(&d->lock);
	return r;
}

/* The inode of host path @path (below CPUDIR_REL), remembered. -EEXIST: another path has the
 * same hash (the entry is not served). */
static int path_remember(struct cpudir *d, const char *path, fuse_ino_t *ret)
{
	size_t n = strlen(path);
	fuse_ino_t ino = path_ino(path);
	struct entry *e;
	int r = 0;

	if (n >= CPUDIR_PATH_MAX)
		return -ENAMETOOLONG;
	pthread_mutex_lock(&d->lock);
	for (e = d->bucket[ino % BUCKETS]; e; e = e->next)
		if (e->ino == ino)
			break;
	if (e && strcmp(e->path, path) != 0) {
		r = -EEXIST;
	} else if (!e) {
		e = malloc(sizeof(*e) + n + 1);
		if (!e) {
			r = -ENOMEM;
		} else {
			e->ino = ino;
			memcpy(e->path, path, n + 1);
			e->next = d->bucket[ino % BUCKETS];
			d->bucket[ino % BUCKETS] = e;
		}
	}
	pthread_mutex_unlock(&d->lock);
	if (r == 0)
		*ret = ino;
	return r;
}

static pid_t req_pid(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	return ctx ? ctx->pid : 0;
}

/* Attributes of host entry @path as inode @ino: its type, read-only. */
static int entry_stat(const struct cpudir *d, const char *path, fuse_ino_t ino, struct stat *st)
{
	if (fstatat(d->host.rootfd, path, st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISDIR(st->st_mode) && !S_ISREG(st->st_mode) && !S_ISLNK(st->st_mode))
		return -ENOENT;
	st->st_ino = ino;
	st->st_mode = (st->st_mode & S_IFMT) | (S_ISDIR(st->st_mode)   ? 0555
						: S_ISLNK(st->st_mode) ? 0777
								       : 0444);
	st->st_uid = 0;
	st->st_gid = 0;
	return 0;
}

/* The path and attributes of a known inode. */
static int known(struct cpudir *d, fuse_ino_t ino, char *path, struct stat *st)
{
	int r = ino_path(d, ino, path, CPUDIR_PATH_MAX);

	return r < 0 ? r : entry_stat(d, path, ino, st);
}

/* Whether entry @name of the directory @dir is listed for @vis (NULL: every entry). */
static bool listed(const char *dir, const char *name, const struct cpuset *vis)
{
	return !vis || strcmp(dir, CPUDIR_REL) != 0 ||
	       cpudir_entry_visible((struct span){name, strlen(name)}, vis);
}

/* A cpuN entry directly in the directory: there for some callers only. */
static bool is_cpu_entry(const char *path)
{
	const char *name = path + sizeof(CPUDIR_REL);

	return strchr(name, '/') == NULL && cpudir_cpu_id((struct span){name, strlen(name)}) >= 0;
}

void cpudir_lookup(struct cpudir *d, fuse_req_t req, fuse_ino_t parent, const char *name)
{
	char dir[CPUDIR_PATH_MAX], path[CPUDIR_PATH_MAX];
	struct fuse_entry_param e = {0};
	struct cpuset vis;
	fuse_ino_t ino = 0;
	int r;

	r = ino_path(d, parent, dir, sizeof(dir));
	if (r == 0 && (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		r = -ENAMETOOLONG;
	if (r == 0 &&
	    !listed(dir, name, d->host.visible(d->host.ctx, req_pid(req), &vis) == 0 ? &vis : NULL))
		r = -ENOENT;
	if (r == 0)
		r = path_remember(d, path, &ino);
	if (r == 0)
		r = entry_stat(d, path, ino, &e.attr);
	if (r < 0) {
		fuse_reply_err(req, r == -ENAMETOOLONG ? ENAMETOOLONG : ENOENT);
		return;
	}
	e.ino = ino;
	e.attr_timeout = ATTR_TIMEOUT;
	/* whether a cpuN is there depends on who asks: looked up again on every walk */
	e.entry_timeout = is_cpu_entry(path) ? 0.0 : ENTRY_TIMEOUT;
	fuse_reply_entry(req, &e);
}

void cpudir_getattr(struct cpudir *d, fuse_req_t req, fuse_ino_t ino)
{
	char path[CPUDIR_PATH_MAX];
	struct stat st;
	int r = known(d, ino, path, &st);

	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, ATTR_TIMEOUT);
}

int cpudir_open(struct cpudir *d, fuse_req_t req, fuse_ino_t ino, char **ret_data, size_t *ret_len)
{
	char path[CPUDIR_PATH_MAX];
	struct stat st;
	int r = known(d, ino, path, &st);

	if (r < 0)
		return r;
	if (!S_ISREG(st.st_mode))
		return -EISDIR;
	return d->host.read(d->host.ctx, path, req_pid(req), ret_data, ret_len);
}

void cpudir_opendir(struct cpudir *d, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	char path[CPUDIR_PATH_MAX];
	struct stat st;
	int r = known(d, ino, path, &st);

	if (r < 0 || !S_ISDIR(st.st_mode))
		fuse_reply_err(req, r < 0 ? -r : ENOTDIR);
	else
		fuse_reply_open(req, fi);
}

/* One entry into @out (at @len of @size); false when it does not fit. */
static bool add_entry(fuse_req_t req, char *out, size_t size, size_t *len, const char *name,
		      const struct stat *st, off_t idx)
{
	size_t need = fuse_add_direntry(req, out + *len, size - *len, name, st, idx);

	if (need > size - *len)
		return false;
	*len += need;
	return true;
}

void cpudir_readdir(struct cpudir *d, fuse_req_t req, fuse_ino_t ino, size_t size, off_t off)
{
	char dir[CPUDIR_PATH_MAX], path[CPUDIR_PATH_MAX], out[4096];
	struct cpuset vis;
	const struct cpuset *visp = NULL;
	struct stat dot = {.st_ino = ino, .st_mode = S_IFDIR};
	struct dirent *de;
	size_t len = 0;
	off_t idx = 2;
	DIR *dp;
	int fd, r;

	r = ino_path(d, ino, dir, sizeof(dir));
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	fd = openat(d->host.rootfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	dp = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dp) {
		r = errno;
		if (fd >= 0)
			close(fd);
		fuse_reply_err(req, r);
		return;
	}
	if (strcmp(dir, CPUDIR_REL) == 0 && d->host.visible(d->host.ctx, req_pid(req), &vis) == 0)
		visp = &vis;
	if (size > sizeof(out))
		size = sizeof(out);
	/* Offsets: 1 = ".", 2 = "..", 3.. = the listed host entries in the host's order. */
	if ((off < 1 && !add_entry(req, out, size, &len, ".", &dot, 1)) ||
	    (off < 2 && !add_entry(req, out, size, &len, "..", &dot, 2)))
		goto done;
	while ((de = readdir(dp))) {
		const struct node *n;
		struct stat st = {0};

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    !listed(dir, de->d_name, visp))
			continue;
		if (++idx <= off)
			continue;
		n = tree_child(d->host.tree, ino, de->d_name);
		if (n) {
			st.st_ino = n->ino;
		} else if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
				   sizeof(path) ||
			   path_remember(d, path, &st.st_ino) < 0) {
			continue;
		}
		st.st_mode = (mode_t)DTTOIF(de->d_type);
		if (!add_entry(req, out, size, &len, de->d_name, &st, idx))
			break;
	}
done:
	closedir(dp);
	fuse_reply_buf(req, out, len);
}

void cpudir_readlink(struct cpudir *d, fuse_req_t req, fuse_ino_t ino)
{
	char path[CPUDIR_PATH_MAX], target[CPUDIR_PATH_MAX * 2];
	ssize_t n;

	if (!cpudir_owns(d, ino) || ino_path(d, ino, path, sizeof(path)) < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	n = readlinkat(d->host.rootfd, path, target, sizeof(target) - 1);
	if (n < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	target[n] = 0;
	fuse_reply_readlink(req, target);
}
