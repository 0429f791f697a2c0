/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which cgroup hierarchies cgprocd walks, from /proc/self/mountinfo, and how many CPU ids the
 * table's cpuset bitmaps need. The daemon runs in the host's mount namespace: only mounts of a
 * whole hierarchy (root "/") count.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hier.h"
#include "model/cgpath.h"
#include "model/cpuset.h"
#include "model/table.h"

/* /proc/self/mountinfo into @buf (NUL-terminated). Length or -errno. */
static ssize_t read_mountinfo(char *buf, size_t size)
{
	int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	size_t len = 0;

	if (fd < 0)
		return -errno;
	while (len + 1 < size) {
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = 0;
	return (ssize_t)len;
}

int hier_find(struct sampler_hier *hier, unsigned *ret_n, char *err, size_t errsize)
{
	static const enum cg_controller ctl[3] = {CG_CPU, CG_MEMORY, CG_CPUSET};
	static const unsigned role[3] = {CGTABLE_HAS_LOAD | CGTABLE_HAS_CPU, CGTABLE_HAS_MEMORY,
					 CGTABLE_HAS_CPUSET};
	struct cg_mounts *m = malloc(sizeof(*m));
	size_t size = 1 << 20;
	char *text = malloc(size);
	unsigned n = 0;
	ssize_t len;

	if (!m || !text) {
		free(m);
		free(text);
		snprintf(err, errsize, "out of memory");
		return -ENOMEM;
	}
	len = read_mountinfo(text, size);
	if (len < 0 || mountinfo_parse_cgroups((struct span){text, (size_t)len}, m) < 0) {
		snprintf(err, errsize, "cannot read the cgroup mounts from /proc/self/mountinfo");
		free(m);
		free(text);
		return len < 0 ? (int)len : -ENOENT;
	}
	free(text);
	/* The model picks each controller's hierarchy (v1 where it is mounted, else the cgroup2
	 * mount). Only mounts of a whole hierarchy count: the daemon runs in the host's mount
	 * namespace, a bind mount of a subtree is someone else's view. */
	for (int i = 0; i < 3; i++) {
		enum cg_controller c = ctl[i];
		unsigned j;

		if (!m->present[c] || strcmp(m->root[c], "/") != 0)
			continue;
		/* co-mounted controllers ("cpu,cpuacct,memory") share one hierarchy */
		for (j = 0; j < n; j++)
			if (strcmp(hier[j].mount + 1, m->mount[c]) == 0)
				break;
		if (j == n) {
			snprintf(hier[j].mount, sizeof(hier[j].mount), "/%s", m->mount[c]);
			hier[j].v2 = m->v2[c];
			hier[j].roles = 0;
			n++;
		}
		hier[j].roles |= role[i];
	}
	free(m);
	*ret_n = n;
	for (unsigned j = 0; j < n; j++)
		if (hier[j].roles & CGTABLE_HAS_LOAD)
			return 0;
	snprintf(err, errsize, "no cgroup hierarchy with the cpu controller and no cgroup2 mount");
	return -ENOENT;
}

unsigned cpus_possible(void)
{
	char b[4096];
	int fd = open("/sys/devices/system/cpu/possible", O_RDONLY | O_CLOEXEC);
	struct cpuset *cs;
	unsigned r = CPUSET_MAX;
	ssize_t n;

	if (fd < 0)
		return CPUSET_MAX;
	n = read(fd, b, sizeof(b) - 1);
	close(fd);
	cs = malloc(sizeof(*cs));
	if (n > 0 && cs && cpuset_parse((struct span){b, (size_t)n}, cs) == 0 &&
	    !cpuset_empty(cs)) {
		r = CPUSET_MAX;
		while (r > 1 && !cpuset_test(cs, r - 1))
			r--;
	}
	free(cs);
	return r;
}
