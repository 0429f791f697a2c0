/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Probe program for the client tests (not a test by itself): prints what a C program learns about
 * its machine through libc, one "key=value" per line, so that a test can run it under the shim
 * (LD_PRELOAD, /etc/ld.so.preload, setuid) and compare. "forkexec N" instead forks and execs
 * /bin/true N times and exits 0 only when every one of them exited 0.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe-meminfo.h"

static int filter_calls;

static int cpu_entry(const struct dirent *e)
{
	filter_calls++;
	return strncmp(e->d_name, "cpu", 3) == 0 && e->d_name[3] >= '0' && e->d_name[3] <= '9';
}

/* The cpuN entries of /sys/devices/system/cpu through scandir() (with a filter of the caller's,
 * which must still run) and through opendir()/readdir(). */
static void cpu_entries(void)
{
	struct dirent **list, *e;
	int n = scandir("/sys/devices/system/cpu", &list, cpu_entry, alphasort), m = 0;
	DIR *d;

	for (int i = 0; i < n; i++)
		free(list[i]);
	if (n >= 0)
		free(list);
	d = opendir("/sys/devices/system/cpu");
	while (d && (e = readdir(d)))
		m += strncmp(e->d_name, "cpu", 3) == 0 && e->d_name[3] >= '0' &&
		     e->d_name[3] <= '9';
	if (d)
		closedir(d);
	printf("scandir_cpus=%d\nscandir_filter_calls=%d\nreaddir_cpus=%d\n", n, filter_calls, m);
}

static int forkexec(long n)
{
	for (long i = 0; i < n; i++) {
		int status;
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			fprintf(stderr, "run %ld of /bin/true failed (status %#x)\n", i, status);
			return 1;
		}
	}
	printf("forkexec=%ld\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	struct sysinfo si;
	double load[3];
	int nload;

	if (argc == 3 && strcmp(argv[1], "forkexec") == 0)
		return forkexec(strtol(argv[2], NULL, 10));
	if (sysinfo(&si) < 0) {
		perror("sysinfo");
		return 1;
	}
	nload = getloadavg(load, 3);
	printf("totalram=%llu\n", (unsigned long long)si.totalram * si.mem_unit);
	printf("freeram=%llu\n", (unsigned long long)si.freeram * si.mem_unit);
	printf("uptime=%ld\n", si.uptime);
	printf("getloadavg=%d\n", nload);
	printf("nprocs=%d\n", get_nprocs());
	printf("meminfo_total_kb=%lld\n", meminfo_total_kb());
	printf("at_secure=%lu\n", getauxval(AT_SECURE));
	printf("euid=%d uid=%d\n", (int)geteuid(), (int)getuid());
	cpu_entries();
	return 0;
}
