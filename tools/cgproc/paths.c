/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Locating cgproc's artefacts (the shim, cgprocfs, cgprocd): see paths.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgproc-config.h"
#include "paths.h"

static int usable(const char *path)
{
	return path[0] == '/' && access(path, R_OK) == 0;
}

int cgproc_find_artefact(const char *env_override, const char *build_rel, const char *name,
			 char *buf, size_t size)
{
	const char *env = env_override ? secure_getenv(env_override) : NULL;
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		if (strlen(env) >= size || !usable(env))
			return -ENOENT;
		strcpy(buf, env);
		return 0;
	}

	/* From a build tree, cgproc is <build>/tools/cgproc. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;

		exe[n] = 0;
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			slash = strrchr(exe, '/');
		}
		if (slash && strcmp(slash, "/tools") == 0) {
			*slash = 0;
			if ((size_t)snprintf(buf, size, "%s/%s", exe, build_rel) < size &&
			    usable(buf))
				return 0;
		}
	}

	if ((size_t)snprintf(buf, size, "%s/%s", CGPROC_LIBDIR, name) < size && usable(buf))
		return 0;
	return -ENOENT;
}

int cgproc_find_shim(char *buf, size_t size)
{
	return cgproc_find_artefact("CGPROC_SHIM", "preload/libcgproc.so", "libcgproc.so", buf,
				    size);
}
