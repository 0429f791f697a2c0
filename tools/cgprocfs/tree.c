/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgprocfs's directory tree, derived from vfile_table: see tree.h. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "tree.h"

static fuse_ino_t dir_ino(const char *path, size_t len)
{
	uint64_t h = fnv1a(FNV1A_INIT, path, len);

	if (len == 0)
		return FUSE_ROOT_ID;
	return DIR_INO_FLAG | (h & (DIR_INO_FLAG - 1));
}

const struct node *tree_find(const struct tree *t, fuse_ino_t ino)
{
	for (size_t i = 0; i < t->n_nodes; i++)
		if (t->nodes[i].ino == ino)
			return &t->nodes[i];
	return NULL;
}

const struct node *tree_child(const struct tree *t, fuse_ino_t parent, const char *name)
{
	for (size_t i = 0; i < t->n_nodes; i++)
		if (t->nodes[i].parent == parent && strcmp(t->nodes[i].name, name) == 0 &&
		    t->nodes[i].ino != FUSE_ROOT_ID)
			return &t->nodes[i];
	return NULL;
}

static int node_add(struct tree *t, fuse_ino_t ino, fuse_ino_t parent, const char *name,
		    size_t name_len, const struct vfile *vf)
{
	struct node *n;

	if (tree_find(t, ino))
		return 0;
	if (t->n_nodes >= NODE_MAX || name_len >= NAME_MAX_LEN)
		return -ENOSPC;
	n = &t->nodes[t->n_nodes++];
	n->ino = ino;
	n->parent = parent;
	memcpy(n->name, name, name_len);
	n->name[name_len] = 0;
	n->vf = vf;
	return 0;
}

int tree_build(struct tree *t, int rootfd)
{
	int r;

	r = node_add(t, FUSE_ROOT_ID, FUSE_ROOT_ID, "", 0, NULL);
	if (r < 0)
		return r;
	vfile_foreach (vf) {
		const char *rel = vf->path + 1, *p = rel;
		fuse_ino_t parent = FUSE_ROOT_ID;

		if (vf->flags & VFILE_PER_PROCESS || vf->path[0] != '/')
			continue;
		if (faccessat(rootfd, rel, R_OK, 0) < 0)
			continue; /* nothing to overlay (e.g. no PSI on this kernel) */
		for (const char *slash; (slash = strchr(p, '/')); p = slash + 1) {
			fuse_ino_t ino = dir_ino(rel, (size_t)(slash - rel));

			r = node_add(t, ino, parent, p, (size_t)(slash - p), NULL);
			if (r < 0)
				return r;
			parent = ino;
		}
		r = node_add(t, FILE_INO_BASE + vf->id, parent, p, strlen(p), vf);
		if (r < 0)
			return r;
	}
	return 0;
}
