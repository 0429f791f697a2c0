/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgproc bench --callgrind: instructions per open+read+close, native and through the shim, by
 * running the worker under `valgrind --tool=callgrind` with collection toggled on only inside
 * bench_open_loop() and one dump per file. Deterministic where wall time is noisy; counts user
 * space only (the kernel's share is not seen).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

/* Ir inside bench_open_loop per call, from each callgrind dump (one per file, in order). */
static int callgrind_variant(struct run *run, int v, const char *valgrind)
{
	struct bench *b = run->b;
	long n = 20;
	char out[300], nstr[16], toggle[] = "--toggle-collect=bench_open_loop";
	char dump[] = "--dump-after=bench_open_loop", outarg[340], self[PATH_MAX];
	char **argv;
	int k = 0, status;
	pid_t pid;
	ssize_t len;

	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0)
		return -errno;
	self[len] = 0;
	snprintf(out, sizeof(out), "%s/callgrind-%d.out", run->tmp, v);
	snprintf(outarg, sizeof(outarg), "--callgrind-out-file=%s", out);
	snprintf(nstr, sizeof(nstr), "%ld", n);
	argv = calloc((size_t)b->nfiles + 16, sizeof(char *));
	if (!argv)
		return -ENOMEM;
	argv[k++] = (char *)valgrind;
	argv[k++] = "--tool=callgrind";
	argv[k++] = "--collect-atstart=no";
	argv[k++] = toggle;
	argv[k++] = dump;
	argv[k++] = outarg;
	argv[k++] = self;
	argv[k++] = "bench";
	argv[k++] = "--worker";
	argv[k++] = "--once";
	argv[k++] = nstr;
	for (int i = 0; i < b->nfiles; i++)
		argv[k++] = b->files[i].path;
	pid = fork();
	if (pid < 0) {
		free(argv);
		return -errno;
	}
	if (pid == 0) {
		char log[300];
		FILE *l;

		snprintf(log, sizeof(log), "%s/callgrind-%d.log", run->tmp, v);
		l = fopen(log, "we");
		if (l) {
			dup2(fileno(l), 1);
			dup2(fileno(l), 2);
		}
		if (cgdirs_attach(&run->cg, getpid()) < 0)
			_exit(125);
		if (v == V_SHIM)
			setenv("LD_PRELOAD", b->shim.path, 1);
		else
			unsetenv("LD_PRELOAD");
		execv(valgrind, argv);
		_exit(127);
	}
	free(argv);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -EIO;
	for (int i = 0; i < b->nfiles; i++) {
		char part[340], line[512];
		FILE *f;

		snprintf(part, sizeof(part), "%s.%d", out, i + 1);
		f = fopen(part, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			unsigned long long ir;

			if (sscanf(line, "totals: %llu", &ir) == 1 ||
			    sscanf(line, "summary: %llu", &ir) == 1) {
				b->files[i].ir[v] = (double)ir / (double)n;
				break;
			}
		}
		fclose(f);
		unlink(part);
	}
	return 0;
}

void bench_measure_callgrind(struct run *run)
{
	struct bench *b = run->b;

	if (!b->valgrind.ok) {
		fprintf(stderr, "cgproc bench: --callgrind: %s\n", b->valgrind.reason);
		return;
	}
	fprintf(stderr, "cgproc bench: callgrind (native)...\n");
	if (callgrind_variant(run, V_NATIVE, b->valgrind.path) < 0)
		fprintf(stderr, "cgproc bench: callgrind failed (see %s/callgrind-0.log)\n",
			run->tmp);
	if (!b->shim.ok)
		return;
	fprintf(stderr, "cgproc bench: callgrind (shim)...\n");
	if (callgrind_variant(run, V_SHIM, b->valgrind.path) < 0)
		fprintf(stderr, "cgproc bench: callgrind failed (see %s/callgrind-1.log)\n",
			run->tmp);
}
