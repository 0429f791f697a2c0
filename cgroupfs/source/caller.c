/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Configuration trust and caller input for readers on the host. See caller.h.
 */
#include <errno.h>
#include <string.h>

#include "caller.h"
#include "internal.h"

#define AT_SECURE_TYPE 23 /* include/uapi/linux/auxvec.h */

/* proc/<pid>/@name into @buf. */
static int proc_read(const struct cg_src *src, pid_t pid, const char *name, char *buf, size_t size,
		     size_t *ret_len)
{
	char dir[32], path[48];
	int r = procdir_name(pid, dir, sizeof(dir));

	if (r == 0)
		r = path_join(path, sizeof(path), dir, name, NULL);
	return r < 0 ? r : src_read(src, path, buf, size, ret_len);
}

int src_config_file_apply(const struct cg_src *src, struct cgproc_config *cfg, char *buf,
			  size_t size)
{
	struct stat st;
	ssize_t n;
	int fd, r;

	/* Owner and mode of the file that is read, not of what the path named a moment ago. */
	fd = src_sys_openat(src->rootfd, &CGPROC_CONF_PATH[1], SRC_OPEN_FLAGS);
	if (fd < 0)
		return fd;
	r = src_sys_fstat(fd, &st);
	if (r == 0 && !config_file_trusted(st.st_uid, st.st_mode))
		r = -EPERM;
	if (r == 0) {
		n = src_sys_read(fd, buf, size);
		if (n < 0)
			r = (int)n;
		else
			(void)config_apply_text(cfg, (struct span){buf, (size_t)n});
	}
	src_sys_close(fd);
	return r;
}

/* The value of AT_SECURE in an auxv of @width-byte words; -1 when it has none. */
static long auxv_secure(const char *auxv, size_t len, size_t width)
{
	for (size_t i = 0; i + 2 * width <= len; i += 2 * width) {
		uint64_t type = 0, val = 0;

		if (width == 8) {
			memcpy(&type, auxv + i, 8);
			memcpy(&val, auxv + i + 8, 8);
		} else {
			uint32_t t, v;

			memcpy(&t, auxv + i, 4);
			memcpy(&v, auxv + i + 4, 4);
			type = t;
			val = v;
		}
		if (type == 0)
			return -1; /* AT_NULL */
		if (type == AT_SECURE_TYPE)
			return val != 0;
	}
	return -1;
}

bool src_proc_secure(const struct cg_src *src, pid_t pid)
{
	char auxv[4096];
	long wide, narrow;
	size_t len;

	if (proc_read(src, pid, "auxv", auxv, sizeof(auxv), &len) < 0)
		return true;
	/* A 32-bit process has a 32-bit auxv; read as 64-bit words its AT_SECURE is not found.
	 * Either reading that finds it set counts; neither finding it is "cannot tell". */
	wide = auxv_secure(auxv, len, 8);
	narrow = auxv_secure(auxv, len, 4);
	if (wide < 0 && narrow < 0)
		return true;
	return wide > 0 || narrow > 0;
}

unsigned src_environ_apply(const struct cg_src *src, pid_t pid, struct cgproc_config *cfg,
			   unsigned keys, char *buf, size_t size)
{
	size_t len;

	/* AT_SECURE before and after: an exec of a setuid program between the two reads (the pid
	 * stays) shows in the second. */
	if (pid <= 0 || src_proc_secure(src, pid) ||
	    proc_read(src, pid, "environ", buf, size, &len) < 0 || src_proc_secure(src, pid))
		return 0;
	return config_apply_environ(cfg, (struct span){buf, len}, keys);
}

/* An absolute path without "." or ".." components (empty ones are allowed: "/a//b"). */
static bool value_plain(const char *v)
{
	if (v[0] != '/')
		return false;
	for (const char *p = v; *p;) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
	}
	return true;
}

int cg_caller_machine(const struct cg_src *src, pid_t pid, const char *value, char *text,
		      size_t size, struct cg_mounts *mounts, char *ret, size_t ret_size)
{
	uint64_t self_cg = 0, cg = 0;
	const char *scope = NULL;
	size_t len, prefix = 0;
	char dir[32];
	bool own_ns;
	int r;

	if (!value_plain(value) || strlen(value) >= CG_PATH_MAX)
		return -EINVAL;
	r = proc_read(src, pid, "mountinfo", text, size, &len);
	if (r < 0)
		return r;
	r = procdir_name(pid, dir, sizeof(dir));
	if (r < 0)
		return r;
	r = mountinfo_parse_cgroups((struct span){text, len}, mounts);
	if (r < 0)
		return -EPERM; /* no cgroup mounted: it can see none */
	(void)src_ns_inode(src, "proc/self", "cgroup", &self_cg);
	(void)src_ns_inode(src, dir, "cgroup", &cg);
	own_ns = cg != 0 && cg != self_cg;

	/* Every mounted controller must agree on one root: the machine is one path for all. */
	for (unsigned c = 0; c < _CG_MAX; c++) {
		if (!mounts->present[c])
			continue;
		if (scope && strcmp(scope, mounts->root[c]) != 0)
			return -EPERM;
		scope = mounts->root[c];
	}
	if (!scope)
		return -EPERM;
	if (own_ns) {
		/* Its "/" is its namespace root; a root of "/" here is a mount inherited from
		 * before the unshare, which does not say where that root is. */
		if (strcmp(scope, "/") == 0)
			return -EPERM;
		prefix = strlen(scope);
		if (strcmp(value, "/") == 0)
			value = "";
	} else if (!cg_path_below(value, scope)) {
		return -EPERM;
	}
	len = strlen(value);
	if (prefix + len >= ret_size || prefix + len >= CG_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(ret, scope, prefix);
	memcpy(ret + prefix, value, len + 1);
	return 0;
}
