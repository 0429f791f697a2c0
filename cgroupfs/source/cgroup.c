/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading one file of a cgroup: map a cgroup path of a controller to a path under the src's root
 * (mount point + the path relative to the mount's own root) and read it in one read(). A cgroup
 * file that does not exist is -ENODATA, whatever the reason (controller not mounted, file not
 * provided by this kernel or this cgroup version, cgroup outside the mount).
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "source.h"

bool cg_path_below(const char *path, const char *top)
{
	size_t n = strlen(top);

	if (strcmp(top, "/") == 0)
		return path[0] == '/';
	return strncmp(path, top, n) == 0 && (path[n] == 0 || path[n] == '/');
}

int cg_path_at(const char *mount, const char *root, const char *cgpath, const char *file, char *out,
	       size_t size)
{
	const char *rel;
	int r;

	if (!mount || !root)
		return -ENODATA;
	if (!cg_path_below(cgpath, root))
		return -EXDEV;
	rel = strcmp(root, "/") == 0 ? cgpath : cgpath + strlen(root);
	r = path_join(out, size, mount, rel, file);
	if (r < 0)
		return r;
	/* ".." components would leave the hierarchy (in the cgroup path, the mount point from
	 * mountinfo or the file name): refuse them. */
	for (const char *p = out; (p = strstr(p, "..")); p += 2)
		if ((p == out || p[-1] == '/') && (p[2] == 0 || p[2] == '/'))
			return -EXDEV;
	return 0;
}

int cg_read_at(const struct cg_src *src, const struct cg_machine *m, enum cg_controller c,
	       const char *cgpath, const char *file, char *buf, size_t size, size_t *ret_len)
{
	char path[CG_PATH_MAX * 2 + 64];
	int r;

	if ((unsigned)c >= _CG_MAX)
		return -ENODATA;
	r = cg_path_at(cg_machine_mount(m, c), cg_machine_root(m, c), cgpath, file, path,
		       sizeof(path));
	if (r == -EXDEV)
		return -ENODATA;
	if (r < 0)
		return r;
	r = src_read_beneath(src, path, buf, size, ret_len);
	if (r == -ENOENT || r == -ENOTDIR)
		return -ENODATA;
	return r;
}

int cg_read(const struct cg_src *src, const struct cg_machine *m, enum cg_controller c,
	    const char *file, char *buf, size_t size, size_t *ret_len)
{
	if (!src || !m || !file || (unsigned)c >= _CG_MAX)
		return -EINVAL;
	if (!cg_machine_path(m, c))
		return -ENODATA;
	return cg_read_at(src, m, c, cg_machine_path(m, c), file, buf, size, ret_len);
}
