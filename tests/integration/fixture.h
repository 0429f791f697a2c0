/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Integration-test helpers: open a fixture tree under tests/data and render through the core. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "vfile.h"

/* tests/data/<tree> (from $CGPROC_SOURCE_ROOT), static storage. */
const char *fixture_dir(const char *tree);
/* O_DIRECTORY fd of @dir as a src (ticks 100). */
int fixture_open(const char *dir, struct cg_src *ret);
/* A whole file into a malloc'd NUL-terminated buffer; NULL when unreadable. */
char *fixture_slurp(const char *path, size_t *ret_len);

/*
 * What a process reads for @vf: the rendered file, or the host file when the render says "not
 * virtual" (any error but -ENOBUFS), growing buffers on -ENOBUFS. Returns the render's result
 * (0 or the error that made it fall back); *ret_text is malloc'd (NULL when even the host file
 * could not be read).
 */
int fixture_render(const struct cg_src *src, const struct cg_machine *m,
		   const struct cgproc_config *cfg, const struct vfile *vf, pid_t pid,
		   char **ret_text, size_t *ret_len);
