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
#include "model/cpuset.h"
#include "model/table.h"

/* Undo mountinfo's octal escapes ("\040" for a space), in place. */
static void unescape(char *p)
{
	char *o = p;

	while (*p) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 4;
		} else {
			*o++ = *p++;
		}
	}
	*o = 0;
}

static bool has_token(const char *opts, const char *tok)
{
	size_t n = strlen(tok);

	for (const char *p = opts; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, tok, n) == 0 && (p[n] == ',' || p[n] == 0 || p[n] == '\n'))
			return true;
	return false;
}

int hier_find(struct sampler_hier *hier, unsigned *ret_n, char *err, size_t errsize)
{
	char line[4096], v1[3][512] = {"", "", ""}, v2[512] = "";
	static const char *const ctl[3] = {"cpu", "memory", "cpuset"};
	static const unsigned role[3] = {CGTABLE_HAS_LOAD | CGTABLE_HAS_CPU, CGTABLE_HAS_MEMORY,
					 CGTABLE_HAS_CPUSET};
	unsigned v2roles = 0, n = 0;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f) {
		snprintf(err, errsize, "cannot read /proc/self/mountinfo: %m");
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		char root[512], mnt[512], fstype[64], opts[1024];
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %*s %511s %511s", root, mnt) != 2)
			continue;
		if (sscanf(sep + 3, "%63s %*s %1023s", fstype, opts) != 2)
			continue;
		if (strcmp(root, "/") != 0)
			continue; /* a bind mount of a subtree: not the whole hierarchy */
		unescape(mnt);
		if (strcmp(fstype, "cgroup2") == 0 && !v2[0])
			snprintf(v2, sizeof(v2), "%s", mnt);
		else if (strcmp(fstype, "cgroup") == 0)
			for (int i = 0; i < 3; i++)
				if (!v1[i][0] && has_token(opts, ctl[i]))
					snprintf(v1[i], sizeof(v1[i]), "%s", mnt);
	}
	fclose(f);

	for (int i = 0; i < 3; i++) {
		unsigned j;

		if (!v1[i][0]) {
			v2roles |= role[i];
			continue;
		}
		/* co-mounted controllers ("cpu,cpuacct,memory") share one hierarchy */
		for (j = 0; j < n; j++)
			if (strcmp(hier[j].mount, v1[i]) == 0)
				break;
		if (j == n) {
			snprintf(hier[j].mount, sizeof(hier[j].mount), "%s", v1[i]);
			hier[j].v2 = false;
			hier[j].roles = 0;
			n++;
		}
		hier[j].roles |= role[i];
	}
	if (v2roles && v2[0]) {
		snprintf(hier[n].mount, sizeof(hier[0].mount), "%s", v2);
		hier[n].v2 = true;
		hier[n].roles = v2roles;
		n++;
	}
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
	ssize_t n;
	unsigned maxid = 0;

	if (fd < 0)
		return CPUSET_MAX;
	n = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (n <= 0)
		return CPUSET_MAX;
	b[n] = 0;
	for (char *p = b; *p;) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);

		if (end == p) {
			p++;
			continue;
		}
		if (v > maxid)
			maxid = (unsigned)v;
		p = end;
	}
	return maxid + 1 > CPUSET_MAX ? CPUSET_MAX : maxid + 1;
}
