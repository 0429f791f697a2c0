/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A statically linked program (no preload shim can reach it) that reports what it sees, for the
 * cgprocfs client tests: "memtotal_kb N", "stat_cpu_lines N", "sysinfo_total_kb N",
 * "sysinfo_uptime N", "sysinfo_errno N", "nprocs_conf N" (get_nprocs_conf(): glibc counts the
 * /sys/devices/system/cpu entries).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>

int main(void)
{
	char line[4096];
	unsigned long long kb = 0;
	int cpus = 0;
	struct sysinfo si;
	FILE *f;

	f = fopen("/proc/meminfo", "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	printf("memtotal_kb %llu\n", kb);

	f = fopen("/proc/stat", "re");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "cpu", 3) == 0)
			cpus++;
	if (f)
		fclose(f);
	printf("stat_cpu_lines %d\n", cpus);

	printf("nprocs_conf %d\n", get_nprocs_conf());

	if (sysinfo(&si) == 0) {
		printf("sysinfo_total_kb %llu\n",
		       (unsigned long long)si.totalram * si.mem_unit / 1024);
		printf("sysinfo_uptime %ld\n", si.uptime);
		printf("sysinfo_errno 0\n");
	} else {
		printf("sysinfo_errno %d\n", errno);
	}
	return 0;
}
