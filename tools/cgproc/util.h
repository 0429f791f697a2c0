/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers the cgproc subcommands share: one-shot file I/O and number arguments. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

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

/* Parses all of @s as a decimal long within [@min, @max] into *@ret. false on any error. */
bool arg_parse_long(const char *s, long min, long max, long *ret);
