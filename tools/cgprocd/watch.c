/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Directory listings and inotify watches on the cgroup trees (see watch.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "watch.h"
#include "../cgproc/util.h"

static bool is_subdir(const struct dirent64 *de)
{
	return de->d_type == DT_DIR && de->d_name[0] != '.';
}

ssize_t dir_children(int fd, struct cg_child **ret)
{
	size_t size = 0, nkids = 0, names = 0, off;
	struct cg_child *kids;
	char *b = NULL, *name;
	ssize_t n;

	*ret = NULL;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	n = fd_read_to_end(fd, &b, &size, SIZE_MAX, getdents64);
	if (n < 0) {
		free(b);
		return n;
	}
	for (off = 0; off < (size_t)n;) {
		const struct dirent64 *de = (const struct dirent64 *)(b + off);

		off += de->d_reclen;
		if (is_subdir(de)) {
			nkids++;
			names += strlen(de->d_name) + 1;
		}
	}
	if (!nkids) {
		free(b);
		return 0;
	}
	kids = malloc(nkids * sizeof(*kids) + names);
	if (!kids) {
		free(b);
		return -ENOMEM;
	}
	name = (char *)(kids + nkids);
	nkids = 0;
	for (off = 0; off < (size_t)n;) {
		const struct dirent64 *de = (const struct dirent64 *)(b + off);
		size_t len = strlen(de->d_name) + 1;

		off += de->d_reclen;
		if (!is_subdir(de))
			continue;
		kids[nkids].ino = de->d_ino;
		kids[nkids].hint = (size_t)-1;
		kids[nkids].name = (uint32_t)(name - (char *)kids);
		memcpy(name, de->d_name, len);
		name += len;
		nkids++;
	}
	free(b);
	*ret = kids;
	return (ssize_t)nkids;
}

/*
 * Watch a kept directory for new children (once per directory: the watch lives as long as the
 * directory; rmdir drops it). The path through /proc/self/fd names the directory we hold, not
 * whatever its name means by now.
 */
void watch_dir(struct sampler *s, const struct visit *vi, uint64_t dev, uint64_t ino)
{
	struct cg_node *n;
	char path[64];
	int wd;

	if (s->inofd < 0 || vi->node == (size_t)-1)
		return;
	n = &s->cgs.nodes[vi->node];
	if (n->wd >= 0)
		return;
	if (visit_fd(vi) < 0)
		return;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", vi->dirfd);
	wd = inotify_add_watch(s->inofd, path,
			       IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR);
	if (wd < 0) {
		if (errno == ENOSPC)
			s->ino_full = true; /* fs.inotify.max_user_watches: listed every pass */
		return;
	}
	if ((size_t)wd >= s->nwd) {
		size_t nn = (size_t)wd * 2 + 64;
		uint64_t(*nk)[2] = realloc(s->wd_key, nn * sizeof(*nk));

		if (!nk) {
			inotify_rm_watch(s->inofd, wd);
			return;
		}
		memset(nk + s->nwd, 0, (nn - s->nwd) * sizeof(*nk));
		s->wd_key = nk;
		s->nwd = nn;
	}
	s->wd_key[wd][0] = dev;
	s->wd_key[wd][1] = ino;
	n->wd = wd;
	n->dirty = true; /* whatever changed before the watch is only in a new listing */
}

bool sampler_new_cgroups(struct sampler *s)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool created = false;
	struct cg_node *n;
	ssize_t len;

	if (s->inofd < 0)
		return false;
	while ((len = read(s->inofd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + len;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				s->all_dirty = true; /* events lost: list everything once */
				created = true;
				continue;
			}
			if (!(ev->mask & IN_ISDIR) || ev->wd < 0 || (size_t)ev->wd >= s->nwd)
				continue;
			created |= (ev->mask & (IN_CREATE | IN_MOVED_TO)) != 0;
			/* the directory whose subdirectories changed is listed again */
			n = cg_cache_node(&s->cgs, s->wd_key[ev->wd][0], s->wd_key[ev->wd][1]);
			if (n && n->wd == ev->wd)
				n->dirty = true;
		}
	}
	return created;
}
