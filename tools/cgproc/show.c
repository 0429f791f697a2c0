/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgproc show: print the virtual files a process would read, computed from the host side with
 * the same core and table the shim and cgprocfs use (so the bytes are the same). --root points
 * the core at a fixture tree instead of "/" (the golden tests under tests/data use it), and
 * --explain says which rule chose the machine cgroup.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgproc.h"
#include "model/config.h"
#include "source/caller.h"
#include "source/table.h"
#include "util.h"
#include "vfile.h"

#define SHOW_BUF_MIN (64 * 1024)
#define SHOW_BUF_MAX (64 * 1024 * 1024)

struct show {
	struct cg_src src;
	struct cg_machine *machine;
	struct cgproc_config config;
	struct cg_sample sample; /* cgprocd's values for the machine, when has_sample */
	bool has_sample;
	pid_t pid; /* 0 = cgproc itself (proc/self) */
	char *scratch, *out;
	size_t scratch_size, out_size;
};

/* The short names, wrapped at 80 columns: the table's, so the help lists every row. */
static void usage_names(FILE *f)
{
	int col = fprintf(f, "FILE is a short name (");

	vfile_foreach (vf) {
		int n = (int)strlen(vf->name) + 2;

		if (vf > vfile_table && col + n > 79) {
			fputs(",\n", f);
			col = 0;
		} else if (vf > vfile_table) {
			col += fprintf(f, ", ");
		}
		col += fprintf(f, "%s", vf->name);
	}
	fputs(") or a path\n", f);
}

static void usage(FILE *f)
{
	fputs("Usage: cgproc show [--pid PID] [--root DIR] [--machine PATH] [--explain] [--list] "
	      "[FILE...]\n"
	      "\n"
	      "Print the virtual files as process PID would read them through cgproc.\n"
	      "\n"
	      "  -p, --pid PID       the reading process (default: cgproc itself)\n"
	      "  -r, --root DIR      read proc, sys and the cgroup trees under DIR instead of /\n"
	      "                      (a fixture tree, as the tests under tests/data use)\n"
	      "  -m, --machine PATH  use cgroup PATH as the machine cgroup (like machine= in\n"
	      "                      cgproc.conf)\n"
	      "  -e, --explain       say which rule chose the machine cgroup and show its path\n"
	      "                      per controller; files follow only when FILE is given\n"
	      "  -l, --list          list the virtual files: short name and path\n"
	      "  -h, --help          show this help\n"
	      "\n",
	      f);
	usage_names(f);
	fputs("(/proc/meminfo, /sys/devices/system/cpu/online, /proc/PID/stat, ...). Without FILE\n"
	      "every file is printed, each under a \"==> PATH <==\" header. A file cgproc does\n"
	      "not virtualize for PID (disabled in the configuration, or no cgroup data for it)\n"
	      "prints the host's file, as PID would see.\n"
	      "\n"
	      "Exit status: 0 on success, 1 when the process or its cgroups cannot be read,\n"
	      "2 on a usage error.\n",
	      f);
}

static int grow(char **p, size_t *size)
{
	size_t n = *size ? *size * 2 : SHOW_BUF_MIN;
	char *q;

	if (n > SHOW_BUF_MAX)
		return -ENOBUFS;
	q = realloc(*p, n);
	if (!q)
		return -ENOMEM;
	*p = q;
	*size = n;
	return 0;
}

/* A whole file under the root, growing the buffer until it fits. */
static int read_whole(struct show *s, const char *relpath, size_t *ret_len)
{
	for (;;) {
		int r = src_read(&s->src, relpath, s->out, s->out_size, ret_len);

		if (r != -ENOBUFS)
			return r;
		r = grow(&s->out, &s->out_size);
		if (r < 0)
			return r;
	}
}

/*
 * The configuration the process runs with, as a reader on the host may follow it (the trust rule
 * of model/config.h, the same as cgprocfs's): the root's etc/cgproc.conf when root owns it and
 * nobody else may write it, then the process's CGPROC_* environment unless it is AT_SECURE, for
 * the settings that cannot name a host object, with its machine only where it can see; then
 * --machine (a host path: the one running show chose it).
 */
static void config_load(struct show *s, const char *machine)
{
	char own[sizeof(s->config.machine)], named[sizeof(s->config.machine)];
	struct cg_mounts *mounts;
	unsigned set = 0;

	config_defaults(&s->config);
	(void)src_config_file_apply(&s->src, &s->config, s->out, s->out_size);
	memcpy(own, s->config.machine, sizeof(own));
	if (s->pid > 0)
		set = src_environ_apply(&s->src, s->pid, &s->config, CONFIG_KEYS_CALLER, s->out,
					s->out_size);
	if (set & CONFIG_KEY_MACHINE) {
		mounts = malloc(sizeof(*mounts));
		if (mounts && cg_caller_machine(&s->src, s->pid, s->config.machine, s->out,
						s->out_size, mounts, named, sizeof(named)) == 0)
			memcpy(s->config.machine, named, sizeof(named));
		else
			memcpy(s->config.machine, own, sizeof(own));
		free(mounts);
	}
	if (machine)
		snprintf(s->config.machine, sizeof(s->config.machine), "%s", machine);
	(void)vfile_config_resolve(&s->config);
}

static const char *rule_text(enum machine_rule rule)
{
	switch (rule) {
	case MACHINE_RULE_EXPLICIT:
		return "explicit setting (--machine, machine= in cgproc.conf or CGPROC_MACHINE)";
	case MACHINE_RULE_CGROUPNS:
		return "root of the process's cgroup namespace";
	case MACHINE_RULE_PIDNS_INIT:
		return "cgroup of its pid namespace's init, without /init.scope";
	case MACHINE_RULE_OWN_CGROUP:
		return "the process's own cgroup";
	case MACHINE_RULE_NONE:
		break;
	}
	return "unknown";
}

static void explain(const struct show *s)
{
	const struct cg_machine *m = s->machine;

	if (s->pid > 0)
		printf("process:  %d\n", (int)s->pid);
	else
		printf("process:  cgproc itself\n");
	printf("rule:     %u, %s\n", (unsigned)m->rule, rule_text(m->rule));
	printf("cgroupns: %s\npidns:    %s\n", m->cgroupns ? "non-initial" : "initial",
	       m->pidns ? "non-initial" : "initial");
	if (m->init_pid > 0)
		printf("start:    start time of pid %d (its pid namespace's init)\n",
		       (int)m->init_pid);
	else
		printf("start:    the oldest process in the machine cgroup\n");
	if (s->has_sample)
		printf("sampler:  fresh table in %s (load %lu.%02lu, limits from the host)\n",
		       s->config.rundir, (unsigned long)(s->sample.load.avg[0] >> LOADAVG_FSHIFT),
		       (unsigned long)((s->sample.load.avg[0] & (LOADAVG_FIXED_1 - 1)) * 100 >>
				       LOADAVG_FSHIFT));
	else
		printf("sampler:  no fresh table in %s (host load average)\n", s->config.rundir);
	printf("%-9s %-3s %-28s %-30s %s\n", "CONTROLLER", "V", "MOUNT", "MACHINE", "TOP");
	for (unsigned c = 0; c < _CG_MAX; c++) {
		const char *name = cg_controller_name((enum cg_controller)c);

		if (!cg_machine_has(m, c)) {
			printf("%-10s -   (not mounted)\n", name);
			continue;
		}
		printf("%-10s %-3s /%-27s %-30s %s\n", name, m->v2[c] ? "v2" : "v1",
		       cg_machine_mount(m, c), cg_machine_path(m, c), cg_machine_top(m, c) ?: "-");
	}
}

/* Render one file (or print the host's when it is not virtual for this process). */
static int show_file(struct show *s, const struct vfile *vf, pid_t pid, pid_t tid)
{
	char host[64];
	size_t len;
	int r;

	for (;;) {
		struct vfile_req req = {
			.src = &s->src,
			.machine = s->machine,
			.config = &s->config,
			.sample = s->has_sample ? &s->sample : NULL,
			.pid = pid,
			.tid = tid,
			.scratch = s->scratch,
			.scratch_size = s->scratch_size,
		};
		struct buf out;

		buf_init(&out, s->out, s->out_size);
		r = vfile_render(vf, &req, &out);
		if (r == 0) {
			fwrite(out.data, 1, out.len, stdout);
			return 0;
		}
		if (r != -ENOBUFS)
			break;
		if (grow(&s->scratch, &s->scratch_size) < 0 || grow(&s->out, &s->out_size) < 0)
			break;
	}

	/* Not virtual for this process: it reads the host file. */
	if (vf->flags & VFILE_PER_PROCESS) {
		if (pid == 0)
			snprintf(host, sizeof(host), "proc/self");
		else
			snprintf(host, sizeof(host), "proc/%d", (int)pid);
		if (tid > 0)
			snprintf(host + strlen(host), sizeof(host) - strlen(host), "/task/%d",
				 (int)tid);
		strncat(host, "/stat", sizeof(host) - strlen(host) - 1);
	} else {
		snprintf(host, sizeof(host), "%s", vf->path + 1);
	}
	r = read_whole(s, host, &len);
	if (r < 0) {
		fprintf(stderr, "cgproc show: cannot read /%s: %s\n", host, strerror(-r));
		return 1;
	}
	fwrite(s->out, 1, len, stdout);
	return 0;
}

static void header(bool *first, const char *path)
{
	printf("%s==> %s <==\n", *first ? "" : "\n", path);
	*first = false;
}

static int parse_pid(const char *arg, pid_t *ret)
{
	long v;

	if (!arg_parse_long(arg, 1, INT_MAX, &v))
		return -EINVAL;
	*ret = (pid_t)v;
	return 0;
}

int cmd_show(int argc, char **argv)
{
	static const struct option options[] = {
		{"pid", required_argument, NULL, 'p'},
		{"root", required_argument, NULL, 'r'},
		{"machine", required_argument, NULL, 'm'},
		{"explain", no_argument, NULL, 'e'},
		{"list", no_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	const char *root = "/", *machine = NULL;
	struct show s = {.src = {.rootfd = -1}};
	bool do_explain = false, first = true;
	int c, r, rc = 0;
	long tck;

	while ((c = getopt_long(argc, argv, "+p:r:m:elh", options, NULL)) >= 0) {
		switch (c) {
		case 'p':
			if (parse_pid(optarg, &s.pid) < 0) {
				fprintf(stderr, "cgproc show: invalid pid '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'r':
			root = optarg;
			break;
		case 'm':
			if (optarg[0] != '/') {
				fprintf(stderr,
					"cgproc show: --machine needs an absolute cgroup path\n");
				return EXIT_USAGE;
			}
			machine = optarg;
			break;
		case 'e':
			do_explain = true;
			break;
		case 'l':
			/* The table itself: short name (for files= and FILE) and path. */
			vfile_foreach (vf)
				printf("%-16s %s\n", vf->name, vf->path);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	/* Check every FILE before printing anything. */
	for (int i = optind; i < argc; i++) {
		if (!vfile_lookup(argv[i]) && !vfile_match(argv[i], NULL, NULL)) {
			fprintf(stderr, "cgproc show: '%s' is not a virtual file (try --help)\n",
				argv[i]);
			return EXIT_USAGE;
		}
	}

	s.src.rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s.src.rootfd < 0) {
		fprintf(stderr, "cgproc show: cannot open root %s: %m\n", root);
		return 1;
	}
	tck = sysconf(_SC_CLK_TCK);
	s.src.ticks_per_sec = tck > 0 ? (uint64_t)tck : 100;
	if (s.pid > 0) {
		char dir[32];

		snprintf(dir, sizeof(dir), "proc/%d", (int)s.pid);
		if (faccessat(s.src.rootfd, dir, F_OK, 0) < 0) {
			fprintf(stderr, "cgproc show: no process with pid %d%s%s\n", (int)s.pid,
				strcmp(root, "/") ? " under " : "", strcmp(root, "/") ? root : "");
			rc = 1;
			goto out;
		}
	}
	s.machine = malloc(sizeof(*s.machine));
	if (!s.machine || grow(&s.scratch, &s.scratch_size) < 0 || grow(&s.out, &s.out_size) < 0) {
		fprintf(stderr, "cgproc show: out of memory\n");
		rc = 1;
		goto out;
	}
	config_load(&s, machine);
	/* Hosts with thousands of mounts have a mountinfo larger than the default buffer. */
	r = cg_machine_find(&s.src, s.pid, s.config.machine, s.machine);
	while (r == -ENOBUFS && grow(&s.scratch, &s.scratch_size) == 0)
		r = cg_machine_find_scratch(&s.src, s.pid, s.config.machine, s.scratch,
					    s.scratch_size, s.machine);
	if (r < 0) {
		fprintf(stderr, "cgproc show: cannot find the machine cgroup of %s%d: %s\n",
			s.pid ? "pid " : "cgproc itself", s.pid ? (int)s.pid : 0, strerror(-r));
		rc = 1;
		goto out;
	}

	/* The sampler table under the same root (fixture trees may carry one); none: NULL. */
	s.has_sample = cg_sample_lookup(&s.src, s.machine, s.config.rundir, &s.sample) == 0;

	if (do_explain) {
		explain(&s);
		if (optind == argc)
			goto out;
		first = false;
	}
	if (optind == argc) {
		char path[64];

		/* Every file, the per-process one as the process's own /proc/PID/stat. */
		vfile_foreach (vf) {
			if (vf->flags & VFILE_PER_PROCESS) {
				if (s.pid > 0)
					snprintf(path, sizeof(path), "/proc/%d/stat", (int)s.pid);
				else
					snprintf(path, sizeof(path), "/proc/self/stat");
				header(&first, path);
			} else {
				header(&first, vf->path);
			}
			fflush(stdout);
			if (show_file(&s, vf, s.pid, 0) != 0)
				rc = 1;
		}
		goto out;
	}
	for (int i = optind; i < argc; i++) {
		const struct vfile *vf = vfile_match(argv[i], NULL, NULL);
		pid_t pid = s.pid, tid = 0;

		if (vf && (vf->flags & VFILE_PER_PROCESS)) {
			(void)vfile_match(argv[i], &pid, &tid);
			if (pid == 0) /* "/proc/self/stat": the process shown, not cgproc */
				pid = s.pid;
		}
		if (!vf) {
			vf = vfile_lookup(argv[i]);
			pid = s.pid;
		}
		if (argc - optind > 1 || do_explain)
			header(&first, argv[i]);
		fflush(stdout);
		if (show_file(&s, vf, pid, tid) != 0)
			rc = 1;
	}
out:
	fflush(stdout);
	if (s.src.rootfd >= 0)
		close(s.src.rootfd);
	free(s.machine);
	free(s.scratch);
	free(s.out);
	return rc;
}
