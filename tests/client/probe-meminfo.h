/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * MemTotal of /proc/meminfo, read with open(2) and read(2) as a C program does: one reader for
 * the probe programs (test-run-sysinfo.c for glibc, musl-probe.c built with musl-gcc, which link
 * no library of the project) and the tests that compare with the host's. -1 when unreadable.
 */
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long long meminfo_total_kb(void)
{
	char buf[8192], *p;
	int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strstr(buf, "MemTotal:");
	return p ? strtoll(p + strlen("MemTotal:"), NULL, 10) : -1;
}
