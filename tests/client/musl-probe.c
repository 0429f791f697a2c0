/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Probe program built with musl-gcc (not a test by itself): what a musl program learns about its
 * machine, one "key=value" per line, for test-musl.c to run under the musl shim. musl's sysconf
 * counts CPUs with sched_getaffinity and memory with sysinfo(2); its readdir and open are the
 * program's own calls into libc.so, which the shim interposes.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "probe-meminfo.h"

int main(void)
{
	char line[256] = "";
	struct sysinfo si;
	struct dirent *e;
	DIR *d = opendir("/sys/devices/system/cpu");
	FILE *f = fopen("/proc/self/comm", "r");
	int cpus = 0;

	while (d && (e = readdir(d)))
		cpus += strncmp(e->d_name, "cpu", 3) == 0 && e->d_name[3] >= '0' &&
			e->d_name[3] <= '9';
	if (d)
		closedir(d);
	if (f && !fgets(line, sizeof(line), f))
		line[0] = 0;
	if (f)
		fclose(f);
	if (sysinfo(&si) < 0)
		return 1;
	printf("meminfo_total_kb=%lld\n", meminfo_total_kb());
	printf("sysinfo_total=%llu\n", (unsigned long long)si.totalram * si.mem_unit);
	printf("phys_pages_bytes=%lld\n",
	       (long long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE));
	printf("nprocs_onln=%ld\nnprocs_conf=%ld\n", sysconf(_SC_NPROCESSORS_ONLN),
	       sysconf(_SC_NPROCESSORS_CONF));
	printf("get_nprocs=%d\n", get_nprocs());
	printf("readdir_cpus=%d\n", cpus);
	printf("comm=%s", line);
	return 0;
}
