/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgproc bench, internal interfaces: the worker (a hidden mode of the cgproc binary that runs the
 * timed loops inside the limited cgroup), the environment (cgroup, FUSE mounts, artefacts) and
 * the report (table, JSON, plot). Only bench*.c include this.
 */
#pragma once

#include "cgdirs.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* ---- worker (bench-worker.c) ---------------------------------------------------------------- */

/*
 * `cgproc bench --worker`: reads one command per line on fd 0, answers one line on fd 1:
 *   open PATH N        N x (open, read 64 KiB, close); answer: elapsed ns, or -errno. A
 *                      directory is listed instead: N x (opendir, readdir to the end, closedir)
 *   sysconf N | sysinfo N | nprocs N    N calls of that libc function; answer: elapsed ns
 *   exec LIB|- N       N x fork + execve(/bin/true) with LD_PRELOAD=LIB (or none) + wait
 *   execpair A,B N     N pairs of such execs with LIB A and LIB B back to back (A B, B A, ...);
 *                      answer: the median over blocks of two pairs of the geometric mean of
 *                      their t(B)/t(A), times 1e6
 *   threads K          start K sleeping threads (for the sampler cost); answer: 0
 *   quit               exit 0
 * `cgproc bench --worker PATH N`: one open loop (for callgrind), elapsed ns on stdout.
 */
int bench_worker_main(int argc, char **argv);

/* ---- a worker as seen by the parent --------------------------------------------------------- */

struct worker {
	pid_t pid;
	int cmd_fd; /* parent writes commands */
	int res_fd; /* parent reads answers */
	const char *label;
};

/* Start `cgproc bench --worker` attached to @cg, with LD_PRELOAD=@preload when not NULL. */
struct cgdirs;
int worker_start(struct worker *w, const struct cgdirs *cg, const char *preload, const char *label);
/* Send @cmd, read the one-line answer as an integer (ns, or -errno). */
int worker_call(struct worker *w, const char *cmd, int64_t *ret);
void worker_stop(struct worker *w);

/* ---- environment (bench-env.c) -------------------------------------------------------------- */

/* Create cgproc-bench-<pid> in every mounted hierarchy, 512 MiB, cpuset "0" (cgdirs.h: attach
 * with cgdirs_attach, remove with cgdirs_destroy once the workers are reaped). */
int bench_cg_create(struct cgdirs *cg);
/* Remove cgproc-bench-<pid> cgroups and mounts of bench runs whose process is gone. */
void bench_sweep(void);

/* A FUSE file system the bench starts on a temporary mountpoint and stops afterwards. */
struct bench_fs {
	const char *label; /* "cgprocfs", "lxcfs" */
	pid_t pid;
	char mnt[256];
	char log[256];
	char reason[160]; /* why it is not available (empty when mounted) */
};

/* Start @argv (the mountpoint must be its last argument, equal to fs->mnt) and wait until the
 * mountpoint is a FUSE mount. On failure fs->reason says why. */
int bench_fs_start(struct bench_fs *fs, char *const argv[]);
void bench_fs_stop(struct bench_fs *fs);
/* Why a started file system stopped working (reaps it when it died). */
void bench_fs_status(struct bench_fs *fs, char *out, size_t size);
/* CPU time (user+system) of a live process in ns, from /proc/<pid>/stat. */
int proc_cpu_ns(pid_t pid, uint64_t *ret);

/* Find an artefact: the build tree when cgproc runs from it, then the installed location.
 * @what: "shim", "empty", "cgprocfs", "cgprocd", "lxcfs". Returns false with @why filled. */
bool bench_find(const char *what, char *path, size_t size, char *why, size_t why_size);

/* Count the threads of every process on the host (/proc/<pid>/task entries). */
int host_threads(unsigned *ret);

/* ---- statistics and report (bench-report.c) ------------------------------------------------- */

struct stat_summary {
	bool ok;
	double median, p10, p90, mad; /* us per call */
	char reason[160];	      /* when !ok */
};

void stat_summarize(const double *v, int n, struct stat_summary *ret);

/* The four ways to read a file. For the exec row the columns mean: none, empty library, shim,
 * and EXEC_PAIRED. */
enum variant {
	V_NATIVE,
	V_SHIM,
	V_FUSE,
	V_LXCFS,
	_V_MAX,
};

/* The exec row's fourth cell: per round, the median over blocks of back-to-back execs (empty
 * library and shim, A B B A) of t(shim) / t(empty library) (worker "execpair"): the exec
 * target's estimator. */
#define EXEC_PAIRED 3

struct cell {
	bool active; /* measured this run (false: n/a, reason says why) */
	char reason[160];
	double *samples; /* us per call, one per round */
	int n;
	struct stat_summary s;
};

struct row {
	char name[64];
	char path[256]; /* host path read natively and through the shim */
	bool per_process;
	struct cell c[_V_MAX];
	double ir[2]; /* callgrind Ir per call: [0] native, [1] shim; < 0 when not measured */
};

struct component {
	bool ok;
	char path[256];
	char reason[160];
};

struct sampler_cost {
	bool ok;
	char reason[200];
	double cpu_ms_per_pass;
	unsigned threads;
	double per_1000_threads_ms;
	char detail[200];
};

struct target {
	const char *name;
	const char *rule;
	bool measured;
	bool pass;
	double value, limit;
	char detail[120];
};

#define BENCH_TARGETS 6

struct bench {
	long iterations, exec_iterations, exec_pairs;
	int rounds;
	bool quick, callgrind;
	bool no_io_uring; /* cgprocfs --no-io-uring, enable_uring left alone */
	/* The shim workers' reuse window (CGPROC_REUSE_MS in their environment): --reuse-ms, else
	 * the caller's CGPROC_REUSE_MS; -1 = neither (the shim's default or configuration file). */
	int reuse_ms;
	const char *json_path, *plot_path;
	unsigned ncpus;

	struct component shim, empty, cgprocfs, lxcfs, cgprocd, valgrind;
	char cgroup[64];

	struct row *files;
	int nfiles;
	struct row nonvirtual; /* native / shim */
	struct row libc[3];    /* sysconf, sysinfo, get_nprocs: native / shim */
	struct row exec;       /* none / empty library / shim */

	struct {
		bool ok;
		char reason[160];
		long rss_kb[2], pss_kb[2], private_dirty_kb[2],
			anon_kb[2]; /* [0] baseline [1] shim */
		bool vs_empty;	    /* the baseline preloads libempty.so (else: no preload) */
	} rss;

	struct sampler_cost cgprocd_cost, lxcfs_cost;
	struct target targets[BENCH_TARGETS];
	int ntargets;
};

/* One run's machinery, shared by bench.c, bench-sampler.c and bench-callgrind.c. */
struct run {
	struct bench *b;
	struct cgdirs cg;
	char tmp[128];
	struct bench_fs fs[2]; /* cgprocfs, lxcfs */
	struct worker w[_V_MAX];
	const char *prefix[_V_MAX]; /* mountpoint a variant reads under ("" = host paths) */
	char worker_reason[_V_MAX][160];
};

/* The directory row among the files: its listing (the worker lists a directory it is told to
 * open), natively, through the shim's readdir, through cgprocfs and lxcfs. */
#define BENCH_LIST_ROW "/sys/devices/system/cpu"
#define BENCH_LIST_NAME "cpu-dir (list)"

/* Whether @path is a directory (the worker lists it instead of reading it). */
static inline bool bench_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The file every variant opens for the cost of a non-virtual open. */
#define NONVIRTUAL_PATH "/etc/hostname"

/* @c holds a measurement (it was measured and its statistics are sound). */
static inline bool bench_cell_have(const struct cell *c)
{
	return c->active && c->s.ok;
}

/* bench.c: @c is not measured, for @reason (shown in the report). */
void bench_cell_na(struct cell *c, const char *reason);
/* bench-measure.c: the interleaved rounds (0 or -errno), then the shim's memory per process. */
int bench_measure_rounds(struct run *run);
void bench_measure_rss(struct run *run);
/* bench-sampler.c: cgprocd and lxcfs -l CPU per pass, into b->cgprocd_cost / b->lxcfs_cost. */
void bench_measure_samplers(struct run *run);
/* bench-callgrind.c: Ir per call into b->files[].ir[]. */
void bench_measure_callgrind(struct run *run);

void bench_targets(struct bench *b);
void bench_print_table(const struct bench *b, FILE *f);
int bench_write_json(const struct bench *b, const char *path);
int bench_plot(const struct bench *b, const char *path, char *why, size_t why_size);
/* gnuplot's path from PATH; false when it is not installed. */
bool bench_gnuplot(char *out, size_t size);

extern volatile int bench_interrupted;
