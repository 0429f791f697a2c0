/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgproc bench: native /proc, the preload shim, cgprocfs and lxcfs side by side.
 *
 * Every reading is done by a worker process (`cgproc bench --worker`, bench-worker.c) running in
 * one limited cgroup the bench creates (512 MiB, cpuset 0), exec'd with or without
 * LD_PRELOAD=libcgproc.so. cgprocfs and a private lxcfs are mounted on temporary directories for
 * the run and stopped after it. Measurements are interleaved (rounds of native, shim, cgprocfs,
 * lxcfs x files) so that machine noise hits all of them alike; the report gives the median and
 * spread of the per-round means. A piece that is missing is reported as n/a with the reason,
 * never as a failure; the speed targets are reported, not enforced (the exit status says whether
 * the run worked).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgproc.h"
#include "bench.h"
#include "model/macro.h"
#include "util.h"
#include "vfile.h"

#define NONVIRTUAL_PATH "/etc/hostname"

volatile int bench_interrupted;

static void on_signal(int sig)
{
	bench_interrupted = sig;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cgproc bench [OPTIONS...]\n\n"
		"Measure open+read+close of each virtual file natively, through the preload shim,\n"
		"through cgprocfs and through lxcfs (both mounted privately for the run), plus "
		"libc\n"
		"calls, exec cost, memory and sampler CPU. Needs root (creates a cgroup, mounts "
		"FUSE).\n\n"
		"Options:\n"
		"  --files LIST       comma-separated virtual files (names or paths; default: all\n"
		"                     that are not per-process)\n"
		"  --iterations N     calls per measurement (default 500; --quick: 50)\n"
		"  --rounds R         interleaved rounds (default 15; --quick: 3)\n"
		"  --json FILE        write the results as JSON ('-' for stdout)\n"
		"  --plot FILE.png    draw per-file bars with gnuplot\n"
		"  --callgrind        count instructions per call of the shim with valgrind\n"
		"  --quick            a short run (seconds) for tests\n"
		"  --no-io-uring      cgprocfs through /dev/fuse only (default: "
		"FUSE-over-io_uring\n"
		"                     where the kernel has it; the fuse module's enable_uring is\n"
		"                     set to Y for the mount and restored right after)\n"
		"  --reuse-ms N       the shim's reuse window for the run, 0-1000 ms (0: render\n"
		"                     every open; default: $CGPROC_REUSE_MS or the shim's 10)\n"
		"  -h, --help         show this help\n");
}

/* ---- setup ---------------------------------------------------------------------------------- */

static void row_init(struct row *r, const char *name, const char *path, int rounds)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->ir[0] = r->ir[1] = -1;
	for (int v = 0; v < _V_MAX; v++) {
		r->c[v].samples = calloc((size_t)rounds, sizeof(double));
		snprintf(r->c[v].reason, sizeof(r->c[v].reason), "not measured");
	}
}

static void row_free(struct row *r)
{
	for (int v = 0; v < _V_MAX; v++) {
		free(r->c[v].samples);
		r->c[v].samples = NULL;
	}
}

static void cell_na(struct cell *c, const char *reason)
{
	c->active = false;
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
}

static int files_select(struct bench *b, const char *list)
{
	const struct vfile *chosen[_VFILE_MAX];
	int n = 0;

	if (!list) {
		vfile_foreach (vf) {
			if (!(vf->flags & VFILE_PER_PROCESS))
				chosen[n++] = vf;
		}
	} else {
		char *copy = strdup(list), *save = NULL;

		if (!copy)
			return -ENOMEM;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			const struct vfile *vf = vfile_lookup(t);
			bool dup = false;

			if (!vf) {
				fprintf(stderr,
					"cgproc bench: '%s' is not a virtual file (see `cgproc "
					"show`)\n",
					t);
				free(copy);
				return -EINVAL;
			}
			for (int i = 0; i < n; i++)
				dup |= chosen[i] == vf;
			if (!dup && n < _VFILE_MAX)
				chosen[n++] = vf;
		}
		free(copy);
	}
	if (n == 0) {
		fprintf(stderr, "cgproc bench: no files to measure\n");
		return -EINVAL;
	}
	b->files = calloc((size_t)n, sizeof(struct row));
	if (!b->files)
		return -ENOMEM;
	b->nfiles = n;
	for (int i = 0; i < n; i++) {
		bool pp = chosen[i]->flags & VFILE_PER_PROCESS;

		/* the per-process entry is read as the worker's own /proc/self/stat */
		row_init(&b->files[i], chosen[i]->name, pp ? "/proc/self/stat" : chosen[i]->path,
			 b->rounds);
		b->files[i].per_process = pp;
	}
	return 0;
}

static void component_find(struct component *c, const char *what)
{
	c->ok = bench_find(what, c->path, sizeof(c->path), c->reason, sizeof(c->reason));
}

/* ---- measuring ------------------------------------------------------------------------------ */

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
			cell_na(c, run->worker_reason[v]);
			continue;
		}
		if ((v == V_FUSE || v == V_LXCFS) && r->per_process) {
			cell_na(c, "per-process file: the shim only");
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
		cell_na(&b->files[i].c[v], reason);
	if (v <= V_SHIM) {
		for (int k = 0; k < 3; k++)
			cell_na(&b->libc[k].c[v], reason);
		cell_na(&b->nonvirtual.c[v], reason);
	}
	if (v == V_NATIVE)
		for (int k = 0; k < 3; k++)
			cell_na(&b->exec.c[k], reason);
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
		cell_na(c, "a library path with a comma");
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

static int measure_rounds(struct run *run)
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
				cell_na(&b->libc[k].c[v], run->worker_reason[v]);
			cell_na(&b->nonvirtual.c[v], run->worker_reason[v]);
		}
	}
	b->exec.c[0].active = run->w[V_NATIVE].pid > 0;
	b->exec.c[1].active = run->w[V_NATIVE].pid > 0 && b->empty.ok;
	b->exec.c[2].active = run->w[V_NATIVE].pid > 0 && b->shim.ok;
	b->exec.c[EXEC_PAIRED].active = b->exec.c[1].active && b->exec.c[2].active;
	if (!b->empty.ok)
		cell_na(&b->exec.c[1], b->empty.reason);
	if (!b->shim.ok)
		cell_na(&b->exec.c[2], b->shim.reason);
	if (!b->exec.c[EXEC_PAIRED].active)
		cell_na(&b->exec.c[EXEC_PAIRED], !b->empty.ok ? b->empty.reason : b->shim.reason);

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
static void measure_rss(struct run *run)
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

/* ---- the run -------------------------------------------------------------------------------- */

#define ENABLE_URING "/sys/module/fuse/parameters/enable_uring"

/* The fuse module's enable_uring ('Y'/'N'), 0 when the kernel has no FUSE-over-io_uring. */
static char uring_param(void)
{
	char v[8];

	if (file_read_str(ENABLE_URING, v, sizeof(v)) < 1)
		return 0;
	return v[0] == '1' ? 'Y' : v[0] == '0' ? 'N' : v[0];
}

static bool uring_param_set(char value)
{
	return file_write_str(ENABLE_URING, value == 'Y' ? "Y" : "N") == 0;
}

/* io_uring instances of @pid: cgprocfs has one per CPU queue while the ring serves. */
static int io_urings_of(pid_t pid)
{
	char dir[64], path[400], link[64];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		ssize_t len;

		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (len > 0) {
			link[len] = 0;
			n += strcmp(link, "anon_inode:[io_uring]") == 0;
		}
	}
	closedir(d);
	return n;
}

/*
 * cgprocfs asks for FUSE-over-io_uring when the kernel offers it, and the kernel offers it only
 * with enable_uring=Y, which is host-wide (it affects FUSE mounts made while it is set, nothing
 * already mounted). The bench sets it for its own mount only, says so, and restores it once the
 * mount answers (the connection keeps the ring after that).
 */
static void cgprocfs_mount(struct bench *b, struct bench_fs *fs)
{
	char was = b->no_io_uring ? 0 : uring_param();
	bool flipped = false;
	int rings;

	if (was == 'N') {
		flipped = uring_param_set('Y');
		fprintf(stderr,
			"cgproc bench: %s for the cgprocfs mount (" ENABLE_URING " N -> Y, "
			"restored right after)\n",
			flipped ? "enabling FUSE-over-io_uring"
				: "cannot enable FUSE-over-io_uring");
	}
	if (b->no_io_uring) {
		char *argv[] = {b->cgprocfs.path, "-f", "--no-io-uring", fs->mnt, NULL};

		bench_fs_start(fs, argv);
	} else {
		char *argv[] = {b->cgprocfs.path, "-f", fs->mnt, NULL};

		bench_fs_start(fs, argv);
	}
	/* the mount answered statfs: INIT is done and the ring, if any, is registered */
	if (flipped && !uring_param_set('N'))
		fprintf(stderr, "cgproc bench: could not restore " ENABLE_URING " to N: %s\n",
			strerror(errno));
	if (fs->pid <= 0)
		return;
	rings = io_urings_of(fs->pid);
	fprintf(stderr, "cgproc bench: cgprocfs serves through %s\n",
		rings > 0 ? "FUSE-over-io_uring (a queue per CPU)" : "/dev/fuse");
}

static void fs_setup(struct run *run)
{
	struct bench *b = run->b;
	struct bench_fs *fs;

	fs = &run->fs[0];
	fs->label = "cgprocfs";
	snprintf(fs->mnt, sizeof(fs->mnt), "%s/cgprocfs", run->tmp);
	snprintf(fs->log, sizeof(fs->log), "%s/cgprocfs.log", run->tmp);
	if (b->cgprocfs.ok) {
		fprintf(stderr, "cgproc bench: mounting cgprocfs on %s\n", fs->mnt);
		cgprocfs_mount(b, fs);
	} else {
		snprintf(fs->reason, sizeof(fs->reason), "%s", b->cgprocfs.reason);
	}

	fs = &run->fs[1];
	fs->label = "lxcfs";
	snprintf(fs->mnt, sizeof(fs->mnt), "%s/lxcfs", run->tmp);
	snprintf(fs->log, sizeof(fs->log), "%s/lxcfs.log", run->tmp);
	if (b->lxcfs.ok) {
		char pidfile[300];
		/* -l: virtualized loadavg, as cgproc's is; lxcfs 5 stays in the foreground with -f
		 */
		char *argv[] = {b->lxcfs.path, "-f", "-l", "-p", pidfile, fs->mnt, NULL};

		snprintf(pidfile, sizeof(pidfile), "%s/lxcfs.pid", run->tmp);
		fprintf(stderr, "cgproc bench: mounting a private lxcfs on %s\n", fs->mnt);
		bench_fs_start(fs, argv);
	} else {
		snprintf(fs->reason, sizeof(fs->reason), "%s", b->lxcfs.reason);
	}
}

static void workers_setup(struct run *run)
{
	struct bench *b = run->b;
	static const char *const labels[_V_MAX] = {"native", "shim", "cgprocfs", "lxcfs"};

	for (int v = 0; v < _V_MAX; v++) {
		const char *preload = NULL;
		int r;

		run->prefix[v] = "";
		if (v == V_SHIM && !b->shim.ok) {
			snprintf(run->worker_reason[v], 160, "%s", b->shim.reason);
			continue;
		}
		if ((v == V_FUSE || v == V_LXCFS) && run->fs[v - V_FUSE].pid <= 0) {
			snprintf(run->worker_reason[v], 160, "%s", run->fs[v - V_FUSE].reason);
			continue;
		}
		if (v == V_SHIM)
			preload = b->shim.path;
		if (v == V_FUSE || v == V_LXCFS)
			run->prefix[v] = run->fs[v - V_FUSE].mnt;
		r = worker_start(&run->w[v], &run->cg, preload, labels[v]);
		if (r < 0)
			snprintf(run->worker_reason[v], 160, "cannot start the %s worker: %s",
				 labels[v], strerror(-r));
	}
}

static void run_teardown(struct run *run)
{
	for (int v = 0; v < _V_MAX; v++)
		worker_stop(&run->w[v]);
	for (int i = 0; i < 2; i++)
		if (run->fs[i].label)
			bench_fs_stop(&run->fs[i]);
	cgdirs_destroy(&run->cg);
	if (run->tmp[0]) {
		char path[300];
		static const char *const files[] = {"cgprocfs.log",    "lxcfs.log",
						    "lxcfs.pid",       "cgprocd.log",
						    "callgrind-0.log", "callgrind-1.log"};

		for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
			snprintf(path, sizeof(path), "%s/%s", run->tmp, files[i]);
			unlink(path);
		}
		snprintf(path, sizeof(path), "rm -rf -- '%s'", run->tmp);
		/* leftovers of cgprocd's run directory; the path is ours (mkdtemp) */
		if (system(path) != 0)
			rmdir(run->tmp);
	}
}

static int bench_run(struct bench *b)
{
	struct run run = {.b = b};
	int r;

	for (int v = 0; v < _V_MAX; v++)
		run.w[v].cmd_fd = run.w[v].res_fd = -1; /* not started: nothing to close */

	r = bench_cg_create(&run.cg);
	if (r < 0) {
		fprintf(stderr, "cgproc bench: cannot create the limited cgroup: %s\n",
			strerror(-r));
		return EXIT_SETUP;
	}
	snprintf(b->cgroup, sizeof(b->cgroup), "%s", run.cg.name);
	snprintf(run.tmp, sizeof(run.tmp), "/tmp/cgproc-bench-%d.XXXXXX", getpid());
	if (!mkdtemp(run.tmp)) {
		fprintf(stderr, "cgproc bench: mkdtemp: %s\n", strerror(errno));
		run.tmp[0] = 0;
		run_teardown(&run);
		return EXIT_SETUP;
	}
	fs_setup(&run);
	workers_setup(&run);
	if (run.w[V_NATIVE].pid <= 0) {
		fprintf(stderr, "cgproc bench: %s\n", run.worker_reason[V_NATIVE]);
		run_teardown(&run);
		return EXIT_SETUP;
	}
	r = measure_rounds(&run);
	if (r == 0 && !bench_interrupted) {
		measure_rss(&run);
		if (b->callgrind)
			bench_measure_callgrind(&run);
		/* the workers are done: only the farm runs while the samplers are measured */
		for (int v = 0; v < _V_MAX; v++)
			worker_stop(&run.w[v]);
		bench_measure_samplers(&run);
	}
	run_teardown(&run);
	if (bench_interrupted) {
		fprintf(stderr, "\ncgproc bench: interrupted; cgroup and mounts removed\n");
		return 130;
	}
	return r < 0 ? EXIT_SETUP : 0;
}

static void summarize(struct bench *b)
{
	struct row *rows[4 + 1];
	int nrows = 0;

	for (int i = 0; i < 3; i++)
		rows[nrows++] = &b->libc[i];
	rows[nrows++] = &b->nonvirtual;
	rows[nrows++] = &b->exec;
	for (int i = 0; i < b->nfiles + nrows; i++) {
		struct row *r = i < b->nfiles ? &b->files[i] : rows[i - b->nfiles];

		for (int v = 0; v < _V_MAX; v++)
			if (r->c[v].active)
				stat_summarize(r->c[v].samples, r->c[v].n, &r->c[v].s);
	}
	bench_targets(b);
}

int cmd_bench(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"files", required_argument, NULL, 'F'},
		{"iterations", required_argument, NULL, 'n'},
		{"rounds", required_argument, NULL, 'r'},
		{"json", required_argument, NULL, 'j'},
		{"plot", required_argument, NULL, 'p'},
		{"callgrind", no_argument, NULL, 'c'},
		{"quick", no_argument, NULL, 'q'},
		{"no-io-uring", no_argument, NULL, 'U'},
		{"reuse-ms", required_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	struct bench b = {0};
	const char *files = NULL, *reuse = NULL;
	long iterations = 0, rounds = 0, reuse_ms = -1;
	struct sigaction sa = {.sa_handler = on_signal};
	int c, rc;

	if (argc >= 2 && strcmp(argv[1], "--worker") == 0)
		return bench_worker_main(argc - 1, argv + 1);
	/* With 0, 1 or 2 closed, a pipe could land there and dup2() onto itself would keep
	 * O_CLOEXEC: the workers would lose their command pipe. */
	for (;;) {
		int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (fd < 0)
			break;
		if (fd > 2) {
			close(fd);
			break;
		}
		fcntl(fd, F_SETFD, 0);
	}

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			files = optarg;
			break;
		case 'n':
			if (!arg_parse_long(optarg, 1, 10000000, &iterations)) {
				fprintf(stderr,
					"cgproc bench: --iterations wants 1..10000000, not '%s'\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'r':
			if (!arg_parse_long(optarg, 1, 10000, &rounds)) {
				fprintf(stderr, "cgproc bench: --rounds wants 1..10000, not '%s'\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'j':
			b.json_path = optarg;
			break;
		case 'p':
			b.plot_path = optarg;
			break;
		case 'c':
			b.callgrind = true;
			break;
		case 'q':
			b.quick = true;
			break;
		case 'U':
			b.no_io_uring = true;
			break;
		case 'R':
			if (!arg_parse_long(optarg, 0, CGPROC_REUSE_MS_MAX, &reuse_ms)) {
				fprintf(stderr, "cgproc bench: --reuse-ms wants 0..%d, not '%s'\n",
					CGPROC_REUSE_MS_MAX, optarg);
				return EXIT_USAGE;
			}
			reuse = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cgproc bench: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	/* The workers inherit the environment: the shim reads its window from there. */
	if (reuse && setenv("CGPROC_REUSE_MS", reuse, 1) < 0) {
		fprintf(stderr, "cgproc bench: setenv: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}
	if (!reuse && getenv("CGPROC_REUSE_MS") &&
	    !arg_parse_long(getenv("CGPROC_REUSE_MS"), 0, CGPROC_REUSE_MS_MAX, &reuse_ms))
		reuse_ms = -1; /* the shim ignores a bad value too */
	b.reuse_ms = (int)reuse_ms;
	b.iterations = iterations ? iterations : b.quick ? 50 : 500;
	b.rounds = (int)(rounds ? rounds : b.quick ? 3 : 15);
	/* 50 execs per column and 76 pairs (38 blocks of A B B A) per round: ~300 execs a round, as
	 * with 100 per column before the paired estimator */
	b.exec_iterations = b.quick ? 10 : 50;
	if (b.iterations < b.exec_iterations)
		b.exec_iterations = b.iterations;
	b.exec_pairs = b.quick ? 16 : 76;
	b.ncpus = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	if (b.plot_path) {
		char gp[PATH_MAX];

		/* fail before minutes of measuring, not after */
		if (!bench_gnuplot(gp, sizeof(gp))) {
			fprintf(stderr, "cgproc bench: --plot needs gnuplot (apt-get install "
					"gnuplot-nox)\n");
			return EXIT_USAGE;
		}
	}
	if (files_select(&b, files) < 0)
		return EXIT_USAGE;
	if (geteuid() != 0) {
		fprintf(stderr,
			"cgproc bench: needs root (it creates a cgroup and mounts FUSE file "
			"systems)\n");
		free(b.files);
		return EXIT_SETUP;
	}
	row_init(&b.nonvirtual, "open " NONVIRTUAL_PATH " (not virtual)", NONVIRTUAL_PATH,
		 b.rounds);
	row_init(&b.libc[0], "sysconf(_SC_NPROCESSORS_ONLN)", "", b.rounds);
	row_init(&b.libc[1], "sysinfo()", "", b.rounds);
	row_init(&b.libc[2], "get_nprocs()", "", b.rounds);
	row_init(&b.exec, "fork+exec+wait /bin/true", "/bin/true", b.rounds);

	component_find(&b.shim, "shim");
	component_find(&b.empty, "empty");
	component_find(&b.cgprocfs, "cgprocfs");
	component_find(&b.lxcfs, "lxcfs");
	component_find(&b.cgprocd, "cgprocd");
	b.valgrind.ok = access("/usr/bin/valgrind", X_OK) == 0;
	snprintf(b.valgrind.path, sizeof(b.valgrind.path), "/usr/bin/valgrind");
	if (!b.valgrind.ok)
		snprintf(b.valgrind.reason, sizeof(b.valgrind.reason), "valgrind not installed");

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	bench_sweep();

	rc = bench_run(&b);
	if (rc == 0) {
		summarize(&b);
		bench_print_table(&b, stdout);
		if (b.json_path) {
			int r = bench_write_json(&b, b.json_path);

			if (r < 0) {
				fprintf(stderr, "cgproc bench: --json %s: %s\n", b.json_path,
					strerror(-r));
				rc = 1;
			}
		}
		if (b.plot_path) {
			char why[200];

			if (bench_plot(&b, b.plot_path, why, sizeof(why)) < 0) {
				fprintf(stderr, "cgproc bench: --plot %s: %s\n", b.plot_path, why);
				rc = 1;
			}
		}
	}
	for (int i = 0; i < b.nfiles; i++)
		row_free(&b.files[i]);
	free(b.files);
	for (int i = 0; i < 3; i++)
		row_free(&b.libc[i]);
	row_free(&b.nonvirtual);
	row_free(&b.exec);
	return rc;
}
