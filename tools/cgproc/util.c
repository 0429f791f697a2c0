/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers the cgproc subcommands share: see util.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/macro.h"
#include "util.h"

int file_write_str(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, value, strlen(value)) < 0)
		r = -errno;
	close(fd);
	return r;
}

int file_read_str(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return (int)n;
}

ssize_t fd_read_to_end(int fd, char **buf, size_t *size, size_t max,
		       ssize_t (*rd)(int, void *, size_t))
{
	size_t len = 0;

	for (;;) {
		ssize_t n;

		if (*size - len < 4096) {
			size_t ns = *size ? *size * 2 : 16384;
			char *nb = realloc(*buf, ns);

			if (!nb)
				return -ENOMEM;
			*buf = nb;
			*size = ns;
		}
		n = rd(fd, *buf + len, *size - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return -EFBIG;
	}
	(*buf)[len] = 0;
	return (ssize_t)len;
}

long fd_read_all(int fd, size_t max, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0;
	ssize_t n = fd_read_to_end(fd, &buf, &size, max, read);

	if (n >= 0)
		*ret = TAKE_PTR(buf);
	return n;
}

int file_read_all(const char *path, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	long n;

	if (fd < 0)
		return -errno;
	n = fd_read_all(fd, SIZE_MAX, ret);
	if (n < 0)
		return (int)n;
	*ret_len = (size_t)n;
	return 0;
}

bool arg_parse_long(const char *s, long min, long max, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*ret = v;
	return true;
}
