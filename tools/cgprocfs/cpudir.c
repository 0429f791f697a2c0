/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The inodes of cgprocfs's /sys/devices/system/cpu. See cpudir.h. Must not: read or render
 * anything (serve.c does, for its caller), hand out an inode for a path outside the directory.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cpudir.h"
#include "model/cpusys.h"

#define BUCKETS 256

struct entry {
	struct entry *next;
	fuse_ino_t ino;
	char path[];
};

struct cpudir {
	pthread_mutex_t lock;
	fuse_ino_t dir_ino;
	struct entry *bucket[BUCKETS];
};

int cpudir_new(fuse_ino_t dir_ino, struct cpudir **ret)
{
	struct cpudir *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	pthread_mutex_init(&d->lock, NULL);
	d->dir_ino = dir_ino;
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
	return d && (ino == d->dir_ino || (ino & (PASS_INO_FLAG | (1ULL << 62))) == PASS_INO_FLAG);
}

static fuse_ino_t path_ino(const char *path)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const char *p = path; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 0x100000001b3ULL;
	}
	return PASS_INO_FLAG | (h & (PASS_INO_FLAG - 1));
}

int cpudir_path(struct cpudir *d, fuse_ino_t ino, char *buf, size_t size)
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
		if (strlen(e->path) < size) {
			strcpy(buf, e->path);
			r = 0;
		} else {
			r = -ENAMETOOLONG;
		}
		break;
	}
	pthread_mutex_unlock(&d->lock);
	return r;
}

int cpudir_ino(struct cpudir *d, const char *path, fuse_ino_t *ret)
{
	size_t n = strlen(path);
	fuse_ino_t ino;
	struct entry *e;
	int r = 0;

	if (n >= CPUDIR_PATH_MAX)
		return -ENAMETOOLONG;
	if (strncmp(path, CPUDIR_REL "/", sizeof(CPUDIR_REL)) != 0 || strstr(path, "/../") ||
	    strstr(path, "/./"))
		return -EINVAL;
	ino = path_ino(path);
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

bool cpudir_is_cpu_entry(const char *path)
{
	const char *name = path + sizeof(CPUDIR_REL);

	if (strncmp(path, CPUDIR_REL "/", sizeof(CPUDIR_REL)) != 0 || strchr(name, '/'))
		return false;
	return cpudir_cpu_id((struct span){name, strlen(name)}) >= 0;
}
