/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Integration-test helpers: see fixture.h. Test code: it may allocate. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

const char *fixture_dir(const char *tree)
{
	static char out[4][4096];
	static int i;
	const char *root = getenv("CGPROC_SOURCE_ROOT");

	i = (i + 1) % 4;
	snprintf(out[i], sizeof(out[i]), "%s/tests/data/%s", root && *root ? root : ".", tree);
	return out[i];
}

int fixture_open(const char *dir, struct cg_src *ret)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	ret->rootfd = fd;
	ret->ticks_per_sec = 100;
	return 0;
}

char *fixture_slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	size_t cap = 4096, len = 0, n;
	char *s;

	if (!f)
		return NULL;
	s = malloc(cap);
	while ((n = fread(s + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (len + 1 >= cap)
			s = realloc(s, cap *= 2);
	}
	fclose(f);
	s[len] = 0;
	if (ret_len)
		*ret_len = len;
	return s;
}

int fixture_render(const struct cg_src *src, const struct cg_machine *m,
		   const struct cgproc_config *cfg, const struct vfile *vf, pid_t pid,
		   char **ret_text, size_t *ret_len)
{
	size_t scratch_size = 1024, out_size = 256;
	char *scratch = NULL, *out = NULL, host[64];
	int r;

	for (;;) {
		struct vfile_req req = {
			.src = src,
			.machine = m,
			.config = cfg,
			.pid = pid,
		};
		struct buf b;

		scratch = realloc(scratch, scratch_size);
		out = realloc(out, out_size);
		req.scratch = scratch;
		req.scratch_size = scratch_size;
		buf_init(&b, out, out_size);
		r = vfile_render(vf, &req, &b);
		if (r == -ENOBUFS && scratch_size < (64u << 20)) {
			scratch_size *= 2;
			out_size *= 2;
			continue;
		}
		if (r == 0) {
			free(scratch);
			*ret_text = out;
			*ret_len = b.len;
			return 0;
		}
		break;
	}
	free(scratch);
	free(out);
	/* not virtual: the host file */
	if (vf->flags & VFILE_PER_PROCESS)
		snprintf(host, sizeof(host), "proc/%d/stat", (int)pid);
	else
		snprintf(host, sizeof(host), "%s", vf->path + 1);
	{
		char path[4200];

		snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", src->rootfd, host);
		*ret_text = fixture_slurp(path, ret_len);
	}
	return r;
}
