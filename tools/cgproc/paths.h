/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where cgproc's own artefacts are: in the build tree when run from it, else installed. */
#pragma once

#include <stddef.h>

/*
 * Find @name (e.g. "libcgproc.so") for use by the CLI: the environment variable @env_override if
 * set and non-empty; else, when cgproc runs from a build tree, <build>/@build_rel; else
 * CGPROC_LIBDIR/@name. The result is an absolute path to an existing file. -ENOENT otherwise.
 */
int cgproc_find_artefact(const char *env_override, const char *build_rel, const char *name,
			 char *buf, size_t size);

/* The preload shim: $CGPROC_SHIM, <build>/preload/libcgproc.so, CGPROC_LIBDIR/libcgproc.so. */
int cgproc_find_shim(char *buf, size_t size);
