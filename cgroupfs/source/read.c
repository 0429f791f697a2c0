/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The primitive reads of source/: one file, one read(), relative to the src's root fd; symlink
 * targets (namespace links) through readlinkat; small number parsers for the proc files every
 * other source file needs. No allocation, no logging: the shim calls this from any context.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>

#include "internal.h"
#include "source.h"

/* One read() of @fd into @buf; closes @fd. */
static int read_once(int fd, char *buf, size_t size, size_t *ret_len)
{
	ssize_t n;

	do
		n = src_sys_read(fd, buf, size);
	while (n == -EINTR);
	src_sys_close(fd);
	if (n < 0)
		return (int)n;
	/* A read that fills the buffer may have been cut: the caller must retry bigger. */
	if ((size_t)n >= size)
		return -ENOBUFS;
	buf[n] = 0; /* convenience only: callers use (buf, len) */
	if (ret_len)
		*ret_len = (size_t)n;
	return 0;
}

/* A host input the inputs mirror may hold: not per-process (proc/<pid>, proc/self...). */
static bool mirrored_input(const char *relpath)
{
	if (strncmp(relpath, "sys/devices/system/", 19) == 0)
		return true;
	if (strncmp(relpath, "proc/", 5) != 0)
		return false;
	relpath += 5;
	return !(*relpath >= '0' && *relpath <= '9') && strncmp(relpath, "self", 4) != 0 &&
	       strncmp(relpath, "thread-self", 11) != 0;
}

int src_open_input(const struct cg_src *src, const char *relpath)
{
	char path[256];
	size_t plen, rlen;

	if (src->inputs && mirrored_input(relpath)) {
		plen = strlen(src->inputs);
		rlen = strlen(relpath);
		if (plen + rlen < sizeof(path)) {
			int fd;

			memcpy(path, src->inputs, plen);
			memcpy(path + plen, relpath, rlen + 1);
			fd = src_sys_openat(src->rootfd, path, SRC_OPEN_FLAGS);
			/* a file the mirror lacks is one nothing covers */
			if (fd != -ENOENT)
				return fd;
		}
	}
	return src_sys_openat(src->rootfd, relpath, SRC_OPEN_FLAGS);
}

int src_read_uncached(const struct cg_src *src, const char *relpath, char *buf, size_t size,
		      size_t *ret_len)
{
	int fd;

	if (src->fds && *relpath) {
		int r = src_fdcache_read(src, relpath, buf, size, ret_len);

		if (r != -EAGAIN)
			return r;
	}
	fd = src_open_input(src, *relpath ? relpath : ".");
	if (fd < 0)
		return fd;
	return read_once(fd, buf, size, ret_len);
}

int src_read_gen(const struct cg_src *src, const char *relpath, char *buf, size_t size,
		 size_t *ret_len, uint64_t *ret_gen)
{
	uint64_t gen = 0;
	int r;

	if (!src || src->rootfd < 0 || !relpath || !buf || size == 0)
		return -EINVAL;
	while (*relpath == '/')
		relpath++;
	if (src->texts) {
		r = src_textcache_read(src, relpath, buf, size, ret_len, &gen);
		if (r != -EAGAIN) {
			if (r == 0 && ret_gen)
				*ret_gen = gen;
			return r;
		}
	}
	r = src_read_uncached(src, relpath, buf, size, ret_len);
	if (r == 0 && ret_gen)
		*ret_gen = 0;
	return r;
}

int src_read(const struct cg_src *src, const char *relpath, char *buf, size_t size, size_t *ret_len)
{
	return src_read_gen(src, relpath, buf, size, ret_len, NULL);
}

/*
 * Cgroup trees never contain symlinks (kernfs has none), so any symlink met on the way to a
 * cgroup file was put there by whoever controls the mounts (a container over its own
 * /sys/fs/cgroup, a fixture): refuse it rather than follow it out of the hierarchy. openat2()
 * does that for every component; where it is missing (kernel < 5.6: ENOSYS) or filtered
 * (seccomp profiles answer unknown syscalls with ENOSYS or EPERM) only the last component is
 * checked (O_NOFOLLOW). ".." components are refused before this by cg_path_at().
 */
int src_open_beneath(const struct cg_src *src, const char *relpath, int flags)
{
	struct src_open_how how = {
		.flags = (uint64_t)(unsigned)(flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	if (!src || src->rootfd < 0 || !relpath)
		return -EINVAL;
	while (*relpath == '/')
		relpath++;
	if (!*relpath)
		relpath = ".";
	fd = src_sys_openat2(src->rootfd, relpath, &how);
	if (fd == -ENOSYS || fd == -EPERM)
		fd = src_sys_openat(src->rootfd, relpath,
				    flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
	return fd;
}

int src_read_beneath(const struct cg_src *src, const char *relpath, char *buf, size_t size,
		     size_t *ret_len)
{
	int fd;

	if (!src || src->rootfd < 0 || !relpath || !buf || size == 0)
		return -EINVAL;
	while (*relpath == '/')
		relpath++;
	if (src->fds && *relpath) {
		int r = src_fdcache_read_beneath(src, relpath, buf, size, ret_len);

		if (r != -EAGAIN)
			return r;
	}
	fd = src_open_beneath(src, relpath, O_RDONLY);
	if (fd < 0)
		return fd;
	return read_once(fd, buf, size, ret_len);
}

int src_readlink(const struct cg_src *src, const char *relpath, char *buf, size_t size)
{
	ssize_t n;

	if (!src || src->rootfd < 0 || !relpath || !buf || size == 0)
		return -EINVAL;
	while (*relpath == '/')
		relpath++;
	n = src_sys_readlinkat(src->rootfd, relpath, buf, size);
	if (n < 0)
		return (int)n;
	if ((size_t)n >= size)
		return -ENOBUFS;
	buf[n] = 0;
	return 0;
}

int src_ns_inode(const struct cg_src *src, const char *procdir, const char *ns, uint64_t *ret)
{
	char path[64], link[64];
	const char *open, *close_;
	uint64_t ino;
	int r;

	r = path_join(path, sizeof(path), procdir, "ns", ns);
	if (r < 0)
		return r;
	r = src_readlink(src, path, link, sizeof(link));
	if (r < 0)
		return r;
	/* "cgroup:[4026531835]": the same text for the kernel's links and a fixture's symlinks. */
	open = strchr(link, '[');
	close_ = open ? strchr(open, ']') : NULL;
	if (!open || !close_ || close_[1] != 0)
		return -EINVAL;
	r = parse_u64((struct span){open + 1, (size_t)(close_ - open - 1)}, &ino);
	if (r < 0)
		return r;
	*ret = ino;
	return 0;
}

int path_join(char *out, size_t size, const char *a, const char *b, const char *c)
{
	const char *parts[3] = {a, b, c};
	size_t len = 0;

	for (size_t i = 0; i < 3; i++) {
		const char *p = parts[i];
		size_t n;

		if (!p)
			continue;
		while (*p == '/')
			p++;
		n = strlen(p);
		while (n > 0 && p[n - 1] == '/')
			n--;
		if (n == 0)
			continue;
		if (len > 0) {
			if (len + 1 >= size)
				return -ENAMETOOLONG;
			out[len++] = '/';
		}
		if (len + n >= size)
			return -ENAMETOOLONG;
		memcpy(out + len, p, n);
		len += n;
	}
	if (len == 0) {
		if (size < 2)
			return -ENAMETOOLONG;
		out[len++] = '.';
	}
	out[len] = 0;
	return 0;
}

int procdir_name(pid_t pid, char *out, size_t size)
{
	char digits[24];
	size_t n = 0;
	unsigned long v;

	if (pid < 0)
		return -EINVAL;
	if (pid == 0)
		return path_join(out, size, "proc/self", NULL, NULL);
	v = (unsigned long)pid;
	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (size < 6 + n)
		return -ENAMETOOLONG;
	memcpy(out, "proc/", 5);
	for (size_t i = 0; i < n; i++)
		out[5 + i] = digits[n - 1 - i];
	out[5 + n] = 0;
	return 0;
}

int uptime_parse_cs(struct span text, uint64_t *ret_cs)
{
	struct span w, whole, frac = {"", 0};
	uint64_t s, f = 0;
	const char *dot;
	int r;

	if (!word_next(&text, &w))
		return -EINVAL;
	w = span_trim(w);
	dot = memchr(w.p, '.', w.len);
	whole = w;
	if (dot) {
		whole.len = (size_t)(dot - w.p);
		frac.p = dot + 1;
		frac.len = w.len - whole.len - 1;
	}
	r = parse_u64(whole, &s);
	if (r < 0)
		return r;
	if (frac.len > 0) {
		/* hundredths: "12.3" is 30, "12.345" is 34 */
		char two[2] = {'0', '0'};

		for (size_t i = 0; i < frac.len; i++) {
			if (frac.p[i] < '0' || frac.p[i] > '9')
				return -EINVAL;
			if (i < 2)
				two[i] = frac.p[i];
		}
		f = (uint64_t)(two[0] - '0') * 10 + (uint64_t)(two[1] - '0');
	}
	if (s > UINT64_MAX / 100 - 1)
		return -ERANGE;
	*ret_cs = s * 100 + f;
	return 0;
}
