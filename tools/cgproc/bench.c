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
		"                     that are not per-process) and cpu-dir (the listing of\n"
		"                     /sys/devices/system/cpu, measured by default too)\n"
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

void bench_cell_na(struct cell *c, const char *reason)
{
	c->active = false;
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
}

static int files_select(struct bench *b, const char *list)
{
	const struct vfile *chosen[_VFILE_MAX];
	int n = 0;

	bool list_row = !list;

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

			if (strcmp(t, "cpu-dir") == 0 || strcmp(t, BENCH_LIST_ROW) == 0) {
				list_row = true;
				continue;
			}
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
	if (n == 0 && !list_row) {
		fprintf(stderr, "cgproc bench: no files to measure\n");
		return -EINVAL;
	}
	b->files = calloc((size_t)n + list_row, sizeof(struct row));
	if (!b->files)
		return -ENOMEM;
	b->nfiles = n + list_row;
	if (list_row)
		row_init(&b->files[n], BENCH_LIST_NAME, BENCH_LIST_ROW, b->rounds);
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
	/* One process, as the serving code ran before the restart model: a supervised daemon gives
	 * up FUSE-over-io_uring (a dead worker's ring entries are not resent), and the bench
	 * compares serving paths across builds. */
	if (b->no_io_uring) {
		char *argv[] = {b->cgprocfs.path, "-f",	   "--no-supervisor",
				"--no-io-uring",  fs->mnt, NULL};

		bench_fs_start(fs, argv);
	} else {
		char *argv[] = {b->cgprocfs.path, "-f", "--no-supervisor", fs->mnt, NULL};

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
	r = bench_measure_rounds(&run);
	if (r == 0 && !bench_interrupted) {
		bench_measure_rss(&run);
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
