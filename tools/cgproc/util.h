/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers the cgproc subcommands (and cgprocd) share: file I/O and number arguments. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Writes @value to the existing file @path in one write(). 0 or -errno. */
int file_write_str(const char *path, const char *value);

/*
 * One read() of at most @size - 1 bytes of @path into @buf, NUL-terminated, nothing trimmed.
 * The number of bytes read, or -errno.
 */
int file_read_str(const char *path, char *buf, size_t size);

/* All of @path (read to EOF, any size) into a malloc'ed NUL-terminated *@ret, its length in
 * *@ret_len. 0 or -errno; nothing is written on failure. */
int file_read_all(const char *path, char **ret, size_t *ret_len);

/*
 * Read @fd to its end with @rd (read, or getdents64 for a directory's records) into *@buf, which
 * grows by doubling (NULL and 0 to start; kept across calls by a caller that reads often) and
 * stays the caller's, NUL-terminated. The length, or -errno (-EFBIG beyond @max bytes).
 */
ssize_t fd_read_to_end(int fd, char **buf, size_t *size, size_t max,
		       ssize_t (*rd)(int, void *, size_t));

/*
 * Everything readable from @fd until end of file, at most @max bytes, into a malloc'd
 * NUL-terminated *@ret (several reads: for pipes and sockets, not for proc or cgroup files).
 * The length, or -errno (-EFBIG beyond @max).
 */
long fd_read_all(int fd, size_t max, char **ret);

/* Parses all of @s as a decimal long within [@min, @max] into *@ret. false on any error. */
bool arg_parse_long(const char *s, long min, long max, long *ret);
