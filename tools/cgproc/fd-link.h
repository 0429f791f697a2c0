/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What an open file descriptor is, by the target of its /proc/self/fd link ("anon_inode:seccomp
 * notify", "/memfd:name (deleted)", a path). Header-only: the CLI and the test probes (which link
 * nothing of cgproc) share it.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The link target of @fd into @buf (@size bytes), NUL-terminated. false when it cannot be read or
 * does not fit. */
static inline bool fd_link_target(int fd, char *buf, size_t size)
{
	char link[40];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, size - 1);
	if (n < 0 || (size_t)n >= size - 1)
		return false;
	buf[n] = 0;
	return true;
}

/* Whether the link target of @fd starts with @prefix. */
static inline bool fd_link_starts_with(int fd, const char *prefix)
{
	char target[256];

	return fd_link_target(fd, target, sizeof(target)) &&
	       strncmp(target, prefix, strlen(prefix)) == 0;
}
