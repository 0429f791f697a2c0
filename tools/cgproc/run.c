/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgproc run: run a command in a transient cgroup with the given limits, with the preload shim so
 * that the command sees that cgroup as its machine. The command is placed in the group before it
 * executes (the child waits on a pipe until the parent has attached it), signals sent to cgproc
 * are forwarded to it, and when it exits whatever it left behind is killed and the group removed
 * from every hierarchy, on every exit path. cgproc exits with the command's status (128 + signal
 * when it was killed), or 125 / 126 / 127 like env(1) when it could not run it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgproc-config.h"
#include "cgproc.h"
#include "model/cpuset.h"
#include "model/macro.h"
#include "paths.h"
#include "run-args.h"
#include "run-cgroup.h"
#include "util.h"

/* Leftovers get this long to die after the command exits. */
#define KILL_TIMEOUT_MS 5000

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

struct run_opts {
	struct runcg_limits lim;
	char cpus[4096];
	const char *name;
	bool no_shim;
	bool fuse;
	bool verbose;
};

static void help(FILE *f)
{
	fprintf(f,
		"Usage: cgproc run [OPTIONS...] [--] CMD [ARGS...]\n"
		"\n"
		"Run CMD in a new cgroup with these limits; with the preload shim, CMD and its\n"
		"children see that cgroup as their machine (free, nproc, top, /proc/meminfo...).\n"
		"The cgroup is removed, and anything CMD left running killed, when CMD exits.\n"
		"\n"
		"Options:\n"
		"  -m, --memory SIZE    memory limit: bytes or K/M/G/T (binary), e.g. 512M, 1.5G\n"
		"      --swap SIZE      swap allowed on top of --memory (default: not limited)\n"
		"  -c, --cpus LIST      CPUs to run on, kernel list format, e.g. 0 or 0-3,8\n"
		"  -q, --cpu-quota N    CPU time: N CPUs (0.5, 2) or QUOTA/PERIOD in microseconds\n"
		"  -n, --name NAME      cgroup name (default: cgproc-run-PID)\n"
		"      --no-shim        do not preload libcgproc.so (cgroup limits only)\n"
		"      --fuse           also bind the cgprocfs files over /proc in a private "
		"mount\n"
		"                       namespace and answer sysinfo(2) (static binaries)\n"
		"  -v, --verbose        say what is created, written and removed\n"
		"  -h, --help           show this help\n"
		"\n"
		"Environment: CGPROC_SHIM=PATH uses that shim instead of the installed one.\n"
		"Exit status: CMD's status, 128+N if CMD was killed by signal N, 125 if cgproc\n"
		"failed, 126 if CMD cannot be executed, 127 if CMD was not found, 2 for bad "
		"usage.\n");
}

static int usage_error(const char *opt, const char *value, const char *why)
{
	fprintf(stderr, "cgproc run: %s '%s': %s\n", opt, value, why);
	fprintf(stderr, "Try 'cgproc run --help'.\n");
	return -EINVAL;
}

static int cpus_read_online(struct cpuset *ret)
{
	char buf[4096];
	int n = file_read_str("/sys/devices/system/cpu/online", buf, sizeof(buf));

	if (n < 0)
		return n;
	return cpuset_parse((struct span){buf, (size_t)n}, ret);
}

/* Parse @s into a canonical list of online CPUs in @o->cpus. */
static int cpus_check(struct run_opts *o, const char *s)
{
	static struct cpuset want, online, both;
	struct buf b;
	int r;

	if (cpuset_parse((struct span){s, strlen(s)}, &want) < 0 || cpuset_empty(&want))
		return usage_error("--cpus", s, "not a CPU list (like 0 or 0-3,8)");
	r = cpus_read_online(&online);
	if (r < 0) {
		fprintf(stderr, "cgproc run: cannot read /sys/devices/system/cpu/online: %s\n",
			strerror(-r));
		return -EIO;
	}
	both = want;
	cpuset_and(&both, &online);
	if (cpuset_count(&both) != cpuset_count(&want)) {
		char online_s[256] = "";

		buf_init(&b, online_s, sizeof(online_s) - 1);
		cpuset_format(&online, &b);
		online_s[b.len] = 0;
		fprintf(stderr,
			"cgproc run: --cpus '%s': not all of these CPUs are online (online: %s)\n",
			s, online_s);
		fprintf(stderr, "Try 'cgproc run --help'.\n");
		return -EINVAL;
	}
	buf_init(&b, o->cpus, sizeof(o->cpus) - 1);
	cpuset_format(&want, &b);
	if (b.need > b.len)
		return usage_error("--cpus", s, "list too long");
	o->cpus[b.len] = 0;
	o->lim.cpus = o->cpus;
	return 0;
}

/* Returns the index of CMD in argv, or -EINVAL (message printed), or 0 for --help. */
static int opts_parse(int argc, char **argv, struct run_opts *o)
{
	enum {
		OPT_SWAP = 0x100,
		OPT_NO_SHIM,
		OPT_FUSE,
	};
	static const struct option longopts[] = {
		{"memory", required_argument, NULL, 'm'},
		{"swap", required_argument, NULL, OPT_SWAP},
		{"cpus", required_argument, NULL, 'c'},
		{"cpu-quota", required_argument, NULL, 'q'},
		{"name", required_argument, NULL, 'n'},
		{"no-shim", no_argument, NULL, OPT_NO_SHIM},
		{"fuse", no_argument, NULL, OPT_FUSE},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	int c, r;

	optind = 0; /* reset getopt, and "+": stop at CMD, whose options are its own */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+m:c:q:n:vh", longopts, NULL)) >= 0) {
		switch (c) {
		case 'm':
			r = size_parse(optarg, &o->lim.memory);
			if (r < 0)
				return usage_error("--memory", optarg,
						   "not a size (like 536870912, 512M, 1.5G)");
			if (o->lim.memory == 0)
				return usage_error("--memory", optarg, "must be more than 0");
			break;
		case OPT_SWAP:
			if (size_parse(optarg, &o->lim.swap) < 0)
				return usage_error("--swap", optarg,
						   "not a size (like 0, 256M, 1G)");
			o->lim.has_swap = true;
			break;
		case 'c':
			r = cpus_check(o, optarg);
			if (r < 0)
				return r;
			break;
		case 'q':
			r = quota_parse(optarg, &o->lim.quota_us, &o->lim.period_us);
			if (r < 0)
				return usage_error("--cpu-quota", optarg,
						   r == -ERANGE
							   ? "out of range (at least 0.01 CPU; a "
							     "period of 1000 to 1000000 us)"
							   : "not a CPU count (like 0.5, 2) or "
							     "QUOTA/PERIOD in microseconds");
			break;
		case 'n':
			if (!cgname_valid(optarg))
				return usage_error("--name", optarg,
						   "use 1-200 characters of A-Z a-z 0-9 . _ -");
			o->name = optarg;
			break;
		case OPT_NO_SHIM:
			o->no_shim = true;
			break;
		case OPT_FUSE:
			o->fuse = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			return 0;
		case ':':
			fprintf(stderr, "cgproc run: option '%s' needs a value\n",
				argv[optind - 1]);
			fprintf(stderr, "Try 'cgproc run --help'.\n");
			return -EINVAL;
		default:
			fprintf(stderr, "cgproc run: unknown option '%s'\n", argv[optind - 1]);
			fprintf(stderr, "Try 'cgproc run --help'.\n");
			return -EINVAL;
		}
	}
	if (o->lim.has_swap && !o->lim.memory) {
		fprintf(stderr,
			"cgproc run: --swap needs --memory (swap is allowed on top of it)\n");
		return -EINVAL;
	}
	if (optind >= argc) {
		fprintf(stderr, "cgproc run: no command given\n");
		fprintf(stderr, "Try 'cgproc run --help'.\n");
		return -EINVAL;
	}
	return optind;
}

/* The shim: $CGPROC_SHIM, else the build tree next to this binary, else the installed one. */
static int shim_find(char *ret, size_t size)
{
	const char *env = getenv("CGPROC_SHIM");

	if (cgproc_find_shim(ret, size) == 0)
		return 0;
	if (env && *env)
		fprintf(stderr,
			"cgproc run: CGPROC_SHIM=%s: not an absolute path to a readable file\n",
			env);
	else
		fprintf(stderr,
			"cgproc run: libcgproc.so is neither in the build tree nor in %s; set "
			"CGPROC_SHIM or use --no-shim\n",
			CGPROC_LIBDIR);
	return -ENOENT;
}

/* LD_PRELOAD for the command: the shim first, then whatever was preloaded already. */
static char *preload_value(const char *shim)
{
	const char *old = getenv("LD_PRELOAD");
	char *v;

	if (strpbrk(shim, ": ")) {
		fprintf(stderr, "cgproc run: the shim path '%s' cannot go in LD_PRELOAD\n", shim);
		return NULL;
	}
	if (!old || !*old)
		return strdup(shim);
	if (asprintf(&v, "%s:%s", shim, old) < 0)
		return NULL;
	return v;
}

/* In the child: wait until the parent has placed us in the cgroup, then become CMD. */
static void __attribute__((noreturn))
child_exec(int go, char **cmd, const char *preload, const sigset_t *oldmask,
	   const struct sigaction *oldchld, struct run_fuse *rf)
{
	char c;
	int e;

	if (read(go, &c, 1) != 1)
		_exit(EXIT_SETUP); /* the parent failed: it cleans up and reports */
	close(go);
	sigaction(SIGCHLD, oldchld, NULL);
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	if (preload && setenv("LD_PRELOAD", preload, 1) < 0)
		_exit(EXIT_SETUP);
	e = rf ? run_fuse_child(rf) : 0;
	if (e < 0) {
		fprintf(stderr, "cgproc run: --fuse: %s\n", strerror(-e));
		_exit(EXIT_SETUP);
	}
	execvp(cmd[0], cmd);
	e = errno;
	if (e == ENOENT)
		fprintf(stderr, "cgproc run: %s: command not found\n", cmd[0]);
	else
		fprintf(stderr, "cgproc run: cannot execute %s: %s\n", cmd[0], strerror(e));
	_exit(e == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}

/* Forward signals to @child until it exits; returns its wait status. */
static int child_wait(pid_t child, const sigset_t *set)
{
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(set, &si), status;
		pid_t p;

		if (sig < 0)
			continue; /* EINTR */
		if (sig != SIGCHLD) {
			/* A signal the terminal sent to the foreground process group (Ctrl-C)
			 * reached the command too: forwarding it would deliver it twice. */
			if (si.si_code != SI_KERNEL)
				kill(child, sig);
			continue;
		}
		/* We are a subreaper: orphans of the command are reaped here too. */
		while ((p = waitpid(-1, &status, WNOHANG)) > 0)
			if (p == child)
				return status;
		if (p < 0 && errno == ECHILD)
			return -1; /* cannot happen: the child is ours until reaped */
	}
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = {};
	char shim[PATH_MAX], name[256], *preload = NULL;
	struct runcg cg = {};
	struct run_fuse rf = RUN_FUSE_INIT;
	struct sigaction oldchld;
	sigset_t set, oldmask;
	int go[2] = {-1, -1}, status, cmd, r;
	pid_t child;

	cmd = opts_parse(argc, argv, &o);
	if (cmd == 0) {
		help(stdout);
		return 0;
	}
	if (cmd < 0)
		return EXIT_USAGE;

	if (geteuid() != 0) {
		fprintf(stderr, "cgproc run: must run as root (it creates cgroups)\n");
		return EXIT_SETUP;
	}
	if (!o.no_shim) {
		if (shim_find(shim, sizeof(shim)) < 0)
			return EXIT_SETUP;
		preload = preload_value(shim);
		if (!preload)
			return EXIT_SETUP;
		if (o.verbose)
			fprintf(stderr, "cgproc run: preloading %s\n", shim);
	}
	if (o.name)
		snprintf(name, sizeof(name), "%s", o.name);
	else
		snprintf(name, sizeof(name), "cgproc-run-%d", (int)getpid());

	if (runcg_create(&cg, name, &o.lim, o.verbose) < 0) {
		free(preload);
		return EXIT_SETUP;
	}
	if (o.fuse && run_fuse_start(&rf) < 0) {
		runcg_destroy(&cg);
		free(preload);
		return EXIT_SETUP;
	}
	if (o.fuse && o.verbose)
		fprintf(stderr, "cgproc run: cgprocfs files from %s\n", rf.mountpoint);

	/* Signals wait (blocked) until the command runs, then go to it; SIGCHLD too, so that
	 * one sigwaitinfo() loop does all the waiting. */
	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(&set, forwarded[i]);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &oldmask);
	/* SIGCHLD ignored by whoever started us would make the kernel reap the child itself. */
	sigaction(SIGCHLD, &(struct sigaction){.sa_handler = SIG_DFL}, &oldchld);
	/* Orphans of the command come to us, so that they are reaped once killed. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

	status = -1;
	r = EXIT_SETUP;
	if (pipe2(go, O_CLOEXEC) < 0) {
		fprintf(stderr, "cgproc run: pipe: %m\n");
		goto out;
	}
	fflush(NULL);
	child = fork();
	if (child < 0) {
		fprintf(stderr, "cgproc run: fork: %m\n");
		goto out;
	}
	if (child == 0) {
		close(go[1]);
		child_exec(go[0], argv + cmd, preload, &oldmask, &oldchld, o.fuse ? &rf : NULL);
	}
	close(go[0]);
	go[0] = -1;
	/* A closed stderr must not kill us before the cleanup (the child kept its disposition). */
	signal(SIGPIPE, SIG_IGN);
	if (runcg_attach(&cg, child) < 0 || write(go[1], "g", 1) != 1) {
		close(go[1]); /* the child sees EOF and exits 125 */
		go[1] = -1;
		while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
			;
		goto out;
	}
	close(go[1]);
	go[1] = -1;
	/* --fuse: answer the command's sysinfo(2); on failure the child says why and exits 125 */
	if (o.fuse)
		(void)run_fuse_supervise(&rf);

	status = child_wait(child, &set);
	if (status < 0)
		r = EXIT_SETUP;
	else if (WIFEXITED(status))
		r = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		r = 128 + WTERMSIG(status);
out:
	if (go[0] >= 0)
		close(go[0]);
	if (go[1] >= 0)
		close(go[1]);
	{
		int left = runcg_kill(&cg, KILL_TIMEOUT_MS);

		if (left > 0)
			fprintf(stderr,
				"cgproc run: %d process(es) of %s would not die; they move to the "
				"parent cgroup\n",
				left, name);
	}
	run_fuse_stop(&rf);
	runcg_destroy(&cg);
	free(preload);
	/* Signals stay blocked: one that came during the cleanup must not change our status. */
	return r;
}
