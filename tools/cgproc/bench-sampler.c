/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgproc bench, sampler cost: CPU per sampling pass of cgprocd (`--once --stats` on the host
 * tree, in a private run directory, never the real table) and of lxcfs -l's load thread, with a
 * known number of sleeping threads (the farm) in the bench cgroup. Measures only; bench-report.c
 * formats.
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

#define FARM_THREADS 1000
#define FARM_THREADS_QUICK 100
#define LXCFS_WINDOW_S 10 /* two passes of its 5 s load thread */

/* Threads in our cgroup (every worker and the farm): what lxcfs's load thread walks. */
static unsigned cg_threads(const struct cgdirs *cg)
{
	char path[300];
	unsigned n = 0;
	FILE *f;
	int pid;

	if (cg->n == 0)
		return 0;
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg->dir[0]);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fscanf(f, "%d", &pid) == 1) {
		char task[64];
		struct stat st;

		snprintf(task, sizeof(task), "/proc/%d/task", pid);
		if (stat(task, &st) == 0 && st.st_nlink > 2)
			n += (unsigned)st.st_nlink - 2;
	}
	fclose(f);
	return n;
}

/* Run @argv to completion with its output in @log; CPU time (user+sys) of it into *ret_ns. */
static int run_timed(char *const argv[], const char *log, uint64_t *ret_ns, int *ret_status)
{
	struct rusage ru;
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		FILE *l = fopen(log, "we");

		if (l) {
			dup2(fileno(l), 1);
			dup2(fileno(l), 2);
		}
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			return -errno;
	*ret_ns = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ULL +
		  (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ULL;
	*ret_status = status;
	return 0;
}

static void last_line(const char *path, char *out, size_t size)
{
	char line[512];
	FILE *f = fopen(path, "re");

	out[0] = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (line[0] != '\n')
			snprintf(out, size, "%s", line);
	fclose(f);
	out[strcspn(out, "\n")] = 0;
}

/* cgprocd --once --stats on the host tree: CPU of one whole sampling pass. */
/* cgprocd --stats: "cgprocd-stats pass=N cgroups=N entries=N threads=N ... cpu_us=N wall_us=N" */
static bool stats_value(const char *line, const char *key, unsigned long long *ret)
{
	char pat[40];
	const char *p;

	snprintf(pat, sizeof(pat), " %s=", key);
	p = strstr(line, pat);
	return p && sscanf(p + strlen(pat), "%llu", ret) == 1;
}

static bool stats_line(const char *path, char *out, size_t size)
{
	char line[512];
	FILE *f = fopen(path, "re");
	bool found = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "cgprocd-stats ", 14) == 0) {
			line[strcspn(line, "\n")] = 0;
			snprintf(out, size, "%s", line);
			found = true;
		}
	fclose(f);
	return found;
}

/*
 * cgprocd --once --stats on the host tree (our cgroup holds the thread farm): CPU of one
 * sampling pass as cgprocd reports it (excluding its start-up), the least disturbed of a few.
 */
static void measure_cgprocd(struct run *run)
{
	struct bench *b = run->b;
	struct sampler_cost *s = &b->cgprocd_cost;
	char log[300], rundir[300], line[512];
	int passes = b->quick ? 1 : 5;
	double best = -1, best_total = 0;
	unsigned long long best_threads = 0, best_cgroups = 0;

	if (!b->cgprocd.ok) {
		snprintf(s->reason, sizeof(s->reason), "%s", b->cgprocd.reason);
		return;
	}
	snprintf(log, sizeof(log), "%s/cgprocd.log", run->tmp);
	snprintf(rundir, sizeof(rundir), "%s/run", run->tmp); /* never the real table */
	mkdir(rundir, 0755);
	for (int i = 0; i < passes; i++) {
		char *argv[] = {b->cgprocd.path, "--once", "--stats", "--rundir", rundir, NULL};
		unsigned long long cpu_us, threads, cgroups = 0;
		uint64_t ns = 0;
		int status = 0, r;

		r = run_timed(argv, log, &ns, &status);
		if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			char tail[120];

			last_line(log, tail, sizeof(tail));
			snprintf(s->reason, sizeof(s->reason), "cgprocd --once --stats failed%s%s",
				 *tail ? ": " : "", tail);
			return;
		}
		if (!stats_line(log, line, sizeof(line)) || !stats_value(line, "cpu_us", &cpu_us) ||
		    !stats_value(line, "threads", &threads)) {
			snprintf(s->reason, sizeof(s->reason),
				 "no cgprocd-stats line in its output");
			return;
		}
		stats_value(line, "cgroups", &cgroups);
		if (best < 0 || cpu_us / 1e3 < best) {
			best = cpu_us / 1e3;
			best_total = ns / 1e6;
			best_threads = threads;
			best_cgroups = cgroups;
		}
	}
	s->cpu_ms_per_pass = best;
	s->threads = (unsigned)best_threads;
	s->per_1000_threads_ms = best_threads ? best * 1000.0 / best_threads : NAN;
	snprintf(s->detail, sizeof(s->detail),
		 "whole host tree, %llu cgroups; best of %d; process total with start-up %.2f ms",
		 best_cgroups, passes, best_total);
	s->ok = true;
}

/* lxcfs -l walks, every 5 s, the cgroups that have read its loadavg: ours, with the farm. */
static void measure_lxcfs_load(struct run *run)
{
	struct bench *b = run->b;
	struct sampler_cost *s = &b->lxcfs_cost;
	uint64_t c0, c1;
	struct timespec ts = {.tv_sec = LXCFS_WINDOW_S};

	if (run->fs[1].pid <= 0) {
		snprintf(s->reason, sizeof(s->reason), "%s",
			 *run->fs[1].reason ? run->fs[1].reason : "lxcfs not running");
		return;
	}
	if (b->quick) {
		snprintf(s->reason, sizeof(s->reason), "skipped by --quick (needs %d s)",
			 LXCFS_WINDOW_S);
		return;
	}
	usleep(500000); /* let FUSE threads of the last request go idle or exit */
	if (proc_cpu_ns(run->fs[1].pid, &c0) < 0) {
		snprintf(s->reason, sizeof(s->reason), "cannot read lxcfs CPU time");
		return;
	}
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !bench_interrupted)
		;
	if (bench_interrupted || proc_cpu_ns(run->fs[1].pid, &c1) < 0) {
		snprintf(s->reason, sizeof(s->reason), "interrupted");
		return;
	}
	if (c1 < c0) {
		snprintf(s->reason, sizeof(s->reason),
			 "lxcfs threads exited during the window; CPU time not comparable");
		return;
	}
	s->threads = cg_threads(&run->cg);
	s->cpu_ms_per_pass = (double)(c1 - c0) / 1e6 / (LXCFS_WINDOW_S / 5.0);
	s->per_1000_threads_ms = s->threads ? s->cpu_ms_per_pass * 1000.0 / s->threads : NAN;
	snprintf(s->detail, sizeof(s->detail),
		 "only cgroups that read its loadavg (here: the bench cgroup)");
	s->ok = true;
}

void bench_measure_samplers(struct run *run)
{
	struct bench *b = run->b;
	struct worker farm;
	char cmd[600];
	int64_t res;
	int r;

	/* A known number of threads in our cgroup, seen by both samplers. */
	r = worker_start(&farm, &run->cg, NULL, "farm");
	if (r < 0) {
		snprintf(b->cgprocd_cost.reason, sizeof(b->cgprocd_cost.reason), "thread farm: %s",
			 strerror(-r));
		snprintf(b->lxcfs_cost.reason, sizeof(b->lxcfs_cost.reason), "thread farm: %s",
			 strerror(-r));
		return;
	}
	snprintf(cmd, sizeof(cmd), "threads %d", b->quick ? FARM_THREADS_QUICK : FARM_THREADS);
	r = worker_call(&farm, cmd, &res);
	if (r < 0 || res < 0) {
		snprintf(b->cgprocd_cost.reason, sizeof(b->cgprocd_cost.reason), "thread farm: %s",
			 strerror(r < 0 ? -r : (int)-res));
		snprintf(b->lxcfs_cost.reason, sizeof(b->lxcfs_cost.reason), "%s",
			 b->cgprocd_cost.reason);
		worker_stop(&farm);
		return;
	}
	if (run->fs[1].pid > 0) {
		/* register our cgroup with lxcfs's load thread */
		snprintf(cmd, sizeof(cmd), "open %s/proc/loadavg 1", run->fs[1].mnt);
		worker_call(&farm, cmd, &res);
	}
	measure_cgprocd(run);
	measure_lxcfs_load(run);
	worker_stop(&farm);
}
