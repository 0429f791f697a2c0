/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgprocfs's directory tree: every non-per-process row of vfile_table whose host file exists, and
 * the directories above it, with stable inode numbers (a file's is FILE_INO_BASE + its vfile id,
 * so ids are append-only; a directory's is DIR_INO_FLAG | FNV-1a of its path). Built once per
 * loaded serving library, read-only after.
 */
#pragma once

#include <stddef.h>

#include "serve.h" /* fuse_lowlevel.h at the API level cgprocfs uses */
#include "vfile.h"

#define NODE_MAX 64
#define NAME_MAX_LEN 64
#define FILE_INO_BASE (1ULL << 32)
#define DIR_INO_FLAG (1ULL << 62)

struct node {
	fuse_ino_t ino;
	fuse_ino_t parent;
	char name[NAME_MAX_LEN];
	const struct vfile *vf; /* NULL for a directory */
};

struct tree {
	size_t n_nodes;
	struct node nodes[NODE_MAX];
};

/* The tree of the files readable under @rootfd. -ENOSPC when it does not fit. */
int tree_build(struct tree *t, int rootfd);
const struct node *tree_find(const struct tree *t, fuse_ino_t ino);
/* @name in directory @parent; NULL when absent. */
const struct node *tree_child(const struct tree *t, fuse_ino_t parent, const char *name);
