/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgproc bench, the measurements: interleaved rounds of every file, libc call and exec through
 * every variant (native, shim, cgprocfs, lxcfs), and the memory the shim adds per process
 * (smaps_rollup of paused workers). Results go into struct bench for bench-report.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "model/macro.h"
#include "util.h"
#include "vfile.h"

/* One measurement: N calls of @cmd_fmt (with @arg) in worker @w, per-call us into @c[round]. */
static int measure(struct run *run, struct worker *w, struct cell *c, int round, const char *verb,
		   const char *arg, long n)
{
	char cmd[4352];
	int64_t ns;
	int r;

	if (!c->active)
		return 0;
	if (arg)
		snprintf(cmd, sizeof(cmd), "%s %s %ld", verb, arg, n);
	else
		snprintf(cmd, sizeof(cmd), "%s %ld", verb, n);
	r = worker_call(w, cmd, &ns);
	if (r == -EINTR)
		return r;
	if (r < 0 || ns < 0) {
		int e = r < 0 ? -r : (int)-ns;

		c->active = false;
		snprintf(c->reason, sizeof(c->reason), "%s worker: %s %s: %s", w->label, verb,
			 arg ? arg : "", strerror(e));
		return e;
	}
	c->samples[round] = (double)ns / (double)n / 1000.0;
	c->n = round + 1;
	return 0;
}

static void file_activate(struct run *run, struct row *r)
{
	for (int v = 0; v < _V_MAX; v++) {
		struct cell *c = &r->c[v];
		char path[600];

		if (run->w[v].pid <= 0) {
			bench_cell_na(c, run->worker_reason[v]);
			continue;
		}
		if ((v == V_FUSE || v == V_LXCFS) && r->per_process) {
			bench_cell_na(c, "per-process file: the shim only");
			continue;
		}
		snprintf(path, sizeof(path), "%s%s", run->prefix[v], r->path);
		if (access(path, R_OK) != 0) {
			c->active = false;
			if (v == V_LXCFS || v == V_FUSE)
				snprintf(c->reason, sizeof(c->reason), "%s does not serve %s",
					 v == V_LXCFS ? "lxcfs" : "cgprocfs", r->path);
			else
				snprintf(c->reason, sizeof(c->reason), "%s not on this host",
					 r->path);
			continue;
		}
		c->active = true;
	}
}

/* A variant that broke for good (its worker died: the shim crashed it; its FUSE daemon died):
 * n/a for every cell of it, once, with what happened, rather than the same error per file. */
static void variant_check(struct run *run, int v, int err)
{
	struct bench *b = run->b;
	char reason[160] = "";
	int status, tries = 0;
	pid_t got = 0;

	/* the worker's pipe closes a moment before it can be reaped */
	while (run->w[v].pid > 0 && (err == EPIPE || err == ESRCH) && tries++ < 100 &&
	       (got = waitpid(run->w[v].pid, &status, WNOHANG)) == 0)
		usleep(2000);
	if (run->w[v].pid > 0 && got == run->w[v].pid) {
		if (WIFSIGNALED(status))
			snprintf(reason, sizeof(reason), "the %s worker died of signal %d (%s)",
				 run->w[v].label, WTERMSIG(status), strsignal(WTERMSIG(status)));
		else
			snprintf(reason, sizeof(reason), "the %s worker exited with status %d",
				 run->w[v].label, WEXITSTATUS(status));
		run->w[v].pid = 0;
		worker_stop(&run->w[v]);
	} else if ((v == V_FUSE || v == V_LXCFS) &&
		   (err == ENOTCONN || err == ECONNABORTED || err == ETIMEDOUT)) {
		char fs[140];

		bench_fs_status(&run->fs[v - V_FUSE], fs, sizeof(fs));
		snprintf(reason, sizeof(reason), "%s (%s)", fs, strerror(err));
	}
	if (!*reason)
		return; /* one file failed: that cell says why */
	for (int i = 0; i < b->nfiles; i++)
		bench_cell_na(&b->files[i].c[v], reason);
	if (v <= V_SHIM) {
		for (int k = 0; k < 3; k++)
			bench_cell_na(&b->libc[k].c[v], reason);
		bench_cell_na(&b->nonvirtual.c[v], reason);
	}
	if (v == V_NATIVE)
		for (int k = 0; k < 3; k++)
			bench_cell_na(&b->exec.c[k], reason);
}

/* One round of the exec target's estimator: the worker's median over pairs, a ratio. */
static int measure_exec_paired(struct run *run, int round)
{
	struct bench *b = run->b;
	struct cell *c = &b->exec.c[EXEC_PAIRED];
	char cmd[1200];
	int64_t v;
	int r;

	if (!c->active)
		return 0;
	if (strchr(b->empty.path, ',') || strchr(b->shim.path, ',')) {
		bench_cell_na(c, "a library path with a comma");
		return 0;
	}
	snprintf(cmd, sizeof(cmd), "execpair %s,%s %ld", b->empty.path, b->shim.path,
		 b->exec_pairs);
	r = worker_call(&run->w[V_NATIVE], cmd, &v);
	if (r == -EINTR)
		return r;
	if (r < 0 || v <= 0) {
		snprintf(c->reason, sizeof(c->reason), "native worker: execpair: %s",
			 strerror(r < 0	  ? -r
				  : v < 0 ? (int)-v
					  : EIO));
		c->active = false;
		return 0;
	}
	c->samples[round] = (double)v / 1e6;
	c->n = round + 1;
	return 0;
}

int bench_measure_rounds(struct run *run)
{
	struct bench *b = run->b;
	int r;

	for (int i = 0; i < b->nfiles; i++)
		file_activate(run, &b->files[i]);
	for (int v = 0; v < _V_MAX; v++) {
		for (int k = 0; k < 3; k++)
			b->libc[k].c[v].active = v <= V_SHIM && run->w[v].pid > 0;
		b->nonvirtual.c[v].active = v <= V_SHIM && run->w[v].pid > 0;
		if (v <= V_SHIM && run->w[v].pid <= 0) {
			for (int k = 0; k < 3; k++)
				bench_cell_na(&b->libc[k].c[v], run->worker_reason[v]);
			bench_cell_na(&b->nonvirtual.c[v], run->worker_reason[v]);
		}
	}
	b->exec.c[0].active = run->w[V_NATIVE].pid > 0;
	b->exec.c[1].active = run->w[V_NATIVE].pid > 0 && b->empty.ok;
	b->exec.c[2].active = run->w[V_NATIVE].pid > 0 && b->shim.ok;
	b->exec.c[EXEC_PAIRED].active = b->exec.c[1].active && b->exec.c[2].active;
	if (!b->empty.ok)
		bench_cell_na(&b->exec.c[1], b->empty.reason);
	if (!b->shim.ok)
		bench_cell_na(&b->exec.c[2], b->shim.reason);
	if (!b->exec.c[EXEC_PAIRED].active)
		bench_cell_na(&b->exec.c[EXEC_PAIRED],
			      !b->empty.ok ? b->empty.reason : b->shim.reason);

	for (int round = 0; round < b->rounds; round++) {
		if (isatty(2))
			fprintf(stderr, "\rcgproc bench: round %d/%d ", round + 1, b->rounds);
		for (int i = 0; i < b->nfiles; i++) {
			struct row *row = &b->files[i];

			/* rotate the starting variant so no variant always runs first */
			for (int k = 0; k < _V_MAX; k++) {
				int v = (k + round + i) % _V_MAX;
				char path[600];

				snprintf(path, sizeof(path), "%s%s", run->prefix[v], row->path);
				r = measure(run, &run->w[v], &row->c[v], round, "open", path,
					    b->iterations);
				if (r < 0)
					return r;
				if (r > 0)
					variant_check(run, v, r);
			}
		}
		for (int k = 0; k < 2; k++) {
			int v = (k + round) % 2;
			static const char *const verbs[3] = {"sysconf", "sysinfo", "nprocs"};

			r = measure(run, &run->w[v], &b->nonvirtual.c[v], round, "open",
				    NONVIRTUAL_PATH, b->iterations);
			if (r > 0)
				variant_check(run, v, r);
			for (int j = 0; j < 3 && r >= 0; j++) {
				r = measure(run, &run->w[v], &b->libc[j].c[v], round, verbs[j],
					    NULL, b->iterations);
				if (r > 0)
					variant_check(run, v, r);
			}
			if (r < 0)
				return r;
		}
		for (int k = 0; k < 3; k++) {
			int v = (k + round) % 3;
			const char *lib = v == 0 ? "-" : v == 1 ? b->empty.path : b->shim.path;

			r = measure(run, &run->w[V_NATIVE], &b->exec.c[v], round, "exec", lib,
				    b->exec_iterations);
			if (r < 0)
				return r;
			if (r > 0)
				variant_check(run, V_NATIVE, r);
		}
		r = measure_exec_paired(run, round);
		if (r < 0)
			return r;
	}
	if (isatty(2))
		fprintf(stderr, "\r%40s\r", "");
	return 0;
}

static int smaps_rollup(pid_t pid, long *rss, long *pss, long *pd, long *anon)
{
	char path[64], line[256];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		long v;

		if (sscanf(line, "Rss: %ld", &v) == 1)
			*rss = v, found++;
		else if (sscanf(line, "Pss: %ld", &v) == 1)
			*pss = v, found++;
		else if (sscanf(line, "Private_Dirty: %ld", &v) == 1)
			*pd = v, found++;
		else if (sscanf(line, "Anonymous: %ld", &v) == 1)
			*anon = v, found++;
	}
	fclose(f);
	return found == 4 ? 0 : -ENODATA;
}

static int cmp_long(const void *x, const void *y)
{
	long a = *(const long *)x, c = *(const long *)y;

	return a < c ? -1 : a > c;
}

/* the stack's pages vary by one or two between processes (alignment, depth) */
#define RSS_PAIRS 7

/*
 * Memory the shim adds to a process: fresh worker pairs (an empty preloaded library, the shim)
 * make exactly the same calls (every virtual file of the table once, whatever --files says, so
 * that the number does not depend on the selection; each libc call once), then wait for a
 * command (paused) while their smaps_rollup is read. The baseline preloads libempty.so, so that
 * what any LD_PRELOAD costs (the loader's mapping of one more object, its link map) is not
 * counted as the shim's, as for the exec row; without libempty.so it preloads nothing. Fresh
 * workers, because the measuring workers did different things (the native one also forked for
 * the exec rows). Median delta over RSS_PAIRS pairs.
 */
void bench_measure_rss(struct run *run)
{
	struct bench *b = run->b;
	long d[4][RSS_PAIRS], base[4][RSS_PAIRS];

	if (!b->shim.ok) {
		snprintf(b->rss.reason, sizeof(b->rss.reason), "%s", b->shim.reason);
		return;
	}
	b->rss.vs_empty = b->empty.ok;
	for (int pair = 0; pair < RSS_PAIRS; pair++) {
		const char *lib0 = b->empty.ok ? b->empty.path : NULL;
		struct worker w[2];
		long v[2][4];
		int r = 0;

		for (int k = 0; k < 2; k++) {
			r = worker_start(&w[k], &run->cg, k ? b->shim.path : lib0,
					 k	? "shim"
					 : lib0 ? "empty"
						: "native");
			if (r < 0) {
				if (k)
					worker_stop(&w[0]);
				snprintf(b->rss.reason, sizeof(b->rss.reason), "worker: %s",
					 strerror(-r));
				return;
			}
		}
		for (int k = 0; k < 2 && r == 0; k++) {
			static const char *const calls[] = {"sysconf 1", "sysinfo 1", "nprocs 1"};
			char cmd[600];
			int64_t ns;

			vfile_foreach (vf) {
				bool pp = vf->flags & VFILE_PER_PROCESS;

				if (r < 0)
					break;
				snprintf(cmd, sizeof(cmd), "open %s 1",
					 pp ? "/proc/self/stat" : vf->path);
				r = worker_call(&w[k], cmd, &ns);
			}
			for (size_t i = 0; i < 3 && r == 0; i++)
				r = worker_call(&w[k], calls[i], &ns);
			if (r == 0)
				r = smaps_rollup(w[k].pid, &v[k][0], &v[k][1], &v[k][2], &v[k][3]);
		}
		worker_stop(&w[0]);
		worker_stop(&w[1]);
		if (r < 0) {
			snprintf(b->rss.reason, sizeof(b->rss.reason), "%s", strerror(-r));
			return;
		}
		for (int m = 0; m < 4; m++) {
			d[m][pair] = v[1][m] - v[0][m];
			base[m][pair] = v[0][m];
		}
	}
	for (int m = 0; m < 4; m++) {
		long *out0[4] = {&b->rss.rss_kb[0], &b->rss.pss_kb[0], &b->rss.private_dirty_kb[0],
				 &b->rss.anon_kb[0]};
		long *out1[4] = {&b->rss.rss_kb[1], &b->rss.pss_kb[1], &b->rss.private_dirty_kb[1],
				 &b->rss.anon_kb[1]};

		qsort(d[m], RSS_PAIRS, sizeof(long), cmp_long);
		qsort(base[m], RSS_PAIRS, sizeof(long), cmp_long);
		/* stored as native and native + median delta, so the report's differences are it */
		*out0[m] = base[m][RSS_PAIRS / 2];
		*out1[m] = base[m][RSS_PAIRS / 2] + d[m][RSS_PAIRS / 2];
	}
	b->rss.ok = true;
}
