/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers the OCI pieces share (oci.h): view modes, annotations, loading runtime documents. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/macro.h"
#include "oci.h"
#include "util.h"

static const char *const view_names[] = {
	[OCI_VIEW_AUTO] = "auto",
	[OCI_VIEW_SHIM] = "shim",
	[OCI_VIEW_FUSE] = "fuse",
	[OCI_VIEW_OFF] = "off",
};

int oci_view_parse(const char *s, enum oci_view *ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(view_names); i++)
		if (strcmp(s, view_names[i]) == 0) {
			*ret = (enum oci_view)i;
			return 0;
		}
	return -EINVAL;
}

const char *oci_view_name(enum oci_view view)
{
	return view_names[view];
}

int oci_doc_load(const char *path, size_t max, struct json_doc **ret)
{
	char *text;
	long n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	n = fd_read_all(fd, max, &text);
	close(fd);
	if (n < 0)
		return (int)n;
	r = json_parse(text, (size_t)n, ret, NULL);
	free(text);
	return r;
}

int oci_annotation_view(const struct json *annotations, enum oci_view *ret)
{
	struct json *v = json_get(annotations, OCI_ANNOTATION);
	char buf[16];

	if (!v)
		return -ENOENT;
	if (json_string(v, buf, sizeof(buf)) < 0)
		return -EINVAL;
	return oci_view_parse(buf, ret);
}

int oci_self_exe(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);

	if (n < 0)
		return -errno;
	if ((size_t)n >= size - 1)
		return -ENAMETOOLONG;
	buf[n] = 0;
	return 0;
}
