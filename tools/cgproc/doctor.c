/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgproc doctor: what works on this host and, where something does not, why and
 * what to do. Each check prints one line "ok|warn|FAIL  what: detail". Exit
 * status 0 when everything that `cgproc run` needs works, 1 otherwise.
 * Read-only: it creates nothing but a memfd (where `cgproc run` would make its group is worked
 * out from the cgroup files, not tried).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cgproc-config.h"
#include "cgproc.h"
#include "model/macro.h"
#include "util.h"
#include "model/cgpath.h"
#include "paths.h"
#include "run-cgroup.h"
#include "source/source.h"
#include "source/table.h"

enum level {
	OK,
	WARN,
	FAIL
};

struct report {
	unsigned fails, warns;
};

__attribute__((format(printf, 4, 5))) static void say(struct report *r, enum level l,
						      const char *what, const char *fmt, ...)
{
	static const char *const tag[] = {"ok  ", "warn", "FAIL"};
	va_list ap;

	if (l == FAIL)
		r->fails++;
	else if (l == WARN)
		r->warns++;
	printf("%s  %-22s ", tag[l], what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void check_layout(struct report *r, const struct cg_mounts *mnt)
{
	static const enum cg_controller needed[] = {CG_MEMORY, CG_CPUSET, CG_CPU, CG_CPUACCT};
	bool any_v1 = false, any_v2 = false;
	char missing[128] = "";

	for (int c = 0; c < _CG_MAX; c++) {
		if (!mnt->present[c])
			continue;
		if (mnt->v2[c])
			any_v2 = true;
		else
			any_v1 = true;
	}
	say(r, OK, "cgroup layout", "%s",
	    any_v1 && any_v2 ? "hybrid (v1 controllers and a cgroup2 hierarchy)"
	    : any_v2	     ? "cgroup v2 (unified)"
			     : "cgroup v1");
	for (size_t i = 0; i < ARRAY_SIZE(needed); i++) {
		enum cg_controller c = needed[i];

		if (!mnt->present[c]) {
			strncat(missing, " ", sizeof(missing) - strlen(missing) - 1);
			strncat(missing, cg_controller_name(c),
				sizeof(missing) - strlen(missing) - 1);
			continue;
		}
		say(r, OK, cg_controller_name(c), "%s at /%s", mnt->v2[c] ? "v2" : "v1",
		    mnt->mount[c]);
	}
	if (missing[0])
		say(r, WARN, "controllers", "not mounted:%s (those limits are not reflected)",
		    missing);
}

/* cgroup2: where `cgproc run` would make its group (run-cgroup.c decides, read-only), and whether
 * that group can be given the controllers that carry --memory, --cpus and --cpu-quota. */
static void check_run_group(struct report *r, const struct cg_mounts *mnt)
{
	static const enum cg_controller limits[] = {CG_MEMORY, CG_CPUSET, CG_CPU};
	char mount[CG_PATH_MAX + 1] = "", dir[600], path[700], ctls[512], missing[64] = "";
	int bare;

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]) && !mount[0]; i++)
		if (mnt->present[limits[i]] && mnt->v2[limits[i]])
			snprintf(mount, sizeof(mount), "/%s", mnt->mount[limits[i]]);
	if (!mount[0])
		return; /* v1 controllers: a child can always be made */
	bare = runcg_v2_where(mount, dir, sizeof(dir));
	if (bare == RUNCG_BARE_TOP) {
		say(r, FAIL, "cgproc run group",
		    "%s (the top of this cgroup namespace or mount) holds processes, so no group "
		    "made under it can get controllers: cgproc run cannot set --memory, --cpus or "
		    "--cpu-quota. Move those processes into a child first: mkdir %s/init, then "
		    "write each pid of %s/cgroup.procs to %s/init/cgroup.procs",
		    dir, dir, dir, dir);
		return;
	}
	if (bare) {
		say(r, WARN, "cgproc run group",
		    "%s holds processes and sets limits (an outer cgproc run or a container): "
		    "commands stay inside them, but tighter --memory, --cpus or --cpu-quota cannot "
		    "be set from here",
		    dir);
		return;
	}
	snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
	if (file_read_str(path, ctls, sizeof(ctls)) < 0)
		ctls[0] = 0;
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		const char *name = cg_controller_name(limits[i]);
		char *save, *tok, copy[512];

		snprintf(copy, sizeof(copy), "%s", ctls);
		for (tok = strtok_r(copy, " \n", &save); tok && strcmp(tok, name);
		     tok = strtok_r(NULL, " \n", &save))
			;
		if (!tok && mnt->v2[limits[i]]) {
			strncat(missing, " ", sizeof(missing) - strlen(missing) - 1);
			strncat(missing, name, sizeof(missing) - strlen(missing) - 1);
		}
	}
	if (missing[0])
		say(r, FAIL, "cgproc run group",
		    "%s lacks%s (its parent does not hand them down): enable them in the parent's "
		    "cgroup.subtree_control, or delegate them (systemd: Delegate=yes)",
		    dir, missing);
	else if (access(dir, W_OK) != 0)
		say(r, FAIL, "cgproc run group", "cannot make groups in %s: %s", dir,
		    strerror(errno));
	else
		say(r, OK, "cgproc run group", "made under %s", dir);
}

/* Which of its two backends `cgproc run` uses here (run-cgroup.h), and why. */
static void check_run_backend(struct report *r)
{
	char why[512], bus[300];

	if (runcg_backend(why, sizeof(why)) == RUNCG_SYSTEMD &&
	    runcg_systemd_probe(bus, sizeof(bus)) < 0)
		say(r, WARN, "cgproc run backend",
		    "%s, but %s: cgproc run falls back to making the group through cgroupfs", why,
		    bus);
	else
		say(r, OK, "cgproc run backend", "%s", why);
}

static void check_machine(struct report *r, const struct cg_src *src)
{
	static const char *const rules[] = {
		[MACHINE_RULE_NONE] = "?",
		[MACHINE_RULE_EXPLICIT] = "configured",
		[MACHINE_RULE_CGROUPNS] = "cgroup-namespace root",
		[MACHINE_RULE_PIDNS_INIT] = "pid-namespace init",
		[MACHINE_RULE_OWN_CGROUP] = "own cgroup",
	};
	struct cg_machine *m = calloc(1, sizeof(*m));
	int k;

	if (!m)
		return;
	k = cg_machine_find(src, 0, NULL, m);
	if (k < 0) {
		say(r, FAIL, "machine cgroup", "cannot be found for this process: %s",
		    strerror(-k));
	} else {
		const char *path = cg_machine_path(m, CG_MEMORY)
					   ?: cg_machine_path(m, CG_UNIFIED) ?: "?";
		say(r, OK, "machine cgroup", "%s (rule: %s)", path,
		    rules[(unsigned)m->rule < ARRAY_SIZE(rules) ? m->rule : MACHINE_RULE_NONE]);
	}
	free(m);
}

static void check_shim(struct report *r)
{
	char path[4096], preload[4096];

	if (cgproc_find_shim(path, sizeof(path)) < 0) {
		say(r, FAIL, "shim", "libcgproc.so not found (build it, or set CGPROC_SHIM)");
		return;
	}
	say(r, OK, "shim", "%s", path);
	if (file_read_str("/etc/ld.so.preload", preload, sizeof(preload)) >= 0 &&
	    strstr(preload, "cgproc"))
		say(r, OK, "ld.so.preload", "system-wide mode is on (/etc/ld.so.preload)");
	else
		say(r, OK, "ld.so.preload", "not used (application mode: cgproc run / LD_PRELOAD)");
}

static void check_kernel(struct report *r)
{
	char buf[4096];
	struct utsname u;
	int fd;

	if (uname(&u) == 0)
		say(r, OK, "kernel", "%s %s", u.sysname, u.release);

	fd = memfd_create("cgproc-doctor", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		say(r, WARN, "memfd_create",
		    "%s: the shim falls back to /dev/shm, then to real files", strerror(errno));
	else {
		close(fd);
		say(r, OK, "memfd_create", "available (the shim serves sealed memfds)");
	}

	if (access("/dev/fuse", R_OK | W_OK) == 0)
		say(r, OK, "/dev/fuse", "available (cgprocfs can mount)");
	else
		say(r, WARN, "/dev/fuse", "%s: cgprocfs (static binaries, Go, musl) cannot run",
		    strerror(errno));

	/* a mount whose daemon died unsupervised fails every bind of it with ENOTCONN */
	switch (cgprocfs_mount_state("/var/lib/cgproc")) {
	case CGPROCFS_MOUNT_LIVE:
		say(r, OK, "cgprocfs mount", "/var/lib/cgproc is served");
		break;
	case CGPROCFS_MOUNT_DEAD:
		say(r, FAIL, "cgprocfs mount",
		    "/var/lib/cgproc is disconnected (Transport endpoint is not connected): its "
		    "daemon died unsupervised; restart cgprocfs (it replaces the mount), then "
		    "restart the containers that bound its files");
		break;
	case CGPROCFS_MOUNT_NONE:
		say(r, OK, "cgprocfs mount",
		    "nothing at /var/lib/cgproc (cgproc run --fuse "
		    "starts a private cgprocfs)");
		break;
	}

	/* FUSE-over-io_uring (kernel 6.14+): cgprocfs then serves each CPU's requests on that CPU
	 */
	if (file_read_str("/sys/module/fuse/parameters/enable_uring", buf, sizeof(buf)) < 0)
		say(r, OK, "fuse io_uring",
		    "not in this kernel (6.14+, CONFIG_FUSE_IO_URING): cgprocfs uses /dev/fuse");
	else if (buf[0] == 'Y' || buf[0] == '1')
		say(r, OK, "fuse io_uring",
		    "enabled (cgprocfs serves each CPU from its own queue, same-CPU round trips)");
	else
		say(r, WARN, "fuse io_uring",
		    "off: cgprocfs uses /dev/fuse; to enable (host-wide, new mounts only): "
		    "echo Y > /sys/module/fuse/parameters/enable_uring");

	if (file_read_str("/proc/sys/kernel/seccomp/actions_avail", buf, sizeof(buf)) >= 0 &&
	    strstr(buf, "user_notif"))
		say(r, OK, "seccomp user_notif",
		    "available (sysinfo listener for cgproc run --fuse)");
	else
		say(r, WARN, "seccomp user_notif",
		    "not available: static sysinfo() shows the host");

	if (access("/usr/bin/lxcfs", X_OK) == 0)
		say(r, OK, "lxcfs", "installed (cgproc bench compares against it)");
}

static void check_sampler(struct report *r)
{
	const char *dir = secure_getenv("CGPROC_RUNDIR");
	struct cg_src src = {.rootfd = -1, .ticks_per_sec = 100};
	struct cgtable_header h;
	char path[4096];
	uint64_t now = 0;
	int fd;

	if (!dir || !*dir)
		dir = CGPROC_RUNDIR;
	snprintf(path, sizeof(path), "%s/%s", dir, CGTABLE_FILE);
	src.rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = src.rootfd >= 0 ? cgtable_open(&src, dir) : -1;
	if (fd < 0) {
		say(r, WARN, "cgprocd",
		    "no table at %s: /proc/loadavg shows the host's (start cgprocd)", path);
	} else if (cgtable_read_header(fd, &h) < 0) {
		say(r, WARN, "cgprocd", "%s is not a table this cgproc reads (other version?)",
		    path);
	} else if (cgtable_now(&src, &now) < 0 || !cgtable_fresh(&h, now)) {
		say(r, WARN, "cgprocd",
		    "table at %s is stale (cgprocd stopped %.0f s ago?): the host's load is shown",
		    path, (double)(now - h.heartbeat_ns) / 1e9);
	} else {
		/* the sampler is written by cgprocd into the header of every table */
		say(r, OK, "cgprocd", "table at %s: %llu cgroups every %.3g s, sampler %s", path,
		    (unsigned long long)h.count, (double)h.period_ns / 1e9,
		    h.sampler == CGTABLE_SAMPLER_BPF ? "bpf (eBPF scheduler counters)"
		    : h.sampler == CGTABLE_SAMPLER_PROC
			    ? "proc (walks /proc: the cheaper one now for --sampler=auto, asked "
			      "for, or the BPF sampler did not load)"
			    : "unknown");
	}
	if (fd >= 0)
		close(fd);
	if (src.rootfd >= 0)
		close(src.rootfd);
}

int cmd_doctor(int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {}};
	struct cg_src src = {.rootfd = -1, .ticks_per_sec = 100};
	struct report r = {0};
	struct cg_mounts *mnt;
	char mountinfo[65536];
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
		if (c == 'h') {
			printf("Usage: cgproc doctor\n\nSay what works on this host for cgproc and "
			       "why not. Exit 0 when `cgproc run` can work.\n");
			return 0;
		}
		return EXIT_USAGE;
	}
	if (optind < argc) {
		fprintf(stderr, "cgproc doctor: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}

	if (geteuid() == 0)
		say(&r, OK, "privileges", "root");
	else
		say(&r, FAIL, "privileges", "not root: cgproc run and cgprocfs need root");

	src.rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	src.ticks_per_sec = (uint64_t)sysconf(_SC_CLK_TCK);
	mnt = calloc(1, sizeof(*mnt));
	if (src.rootfd < 0 || !mnt ||
	    file_read_str("/proc/self/mountinfo", mountinfo, sizeof(mountinfo)) < 0 ||
	    mountinfo_parse_cgroups((struct span){mountinfo, strlen(mountinfo)}, mnt) < 0) {
		say(&r, FAIL, "cgroup layout", "no cgroup file system is mounted");
	} else {
		check_layout(&r, mnt);
		check_run_backend(&r);
		check_run_group(&r, mnt);
		check_machine(&r, &src);
	}
	free(mnt);
	check_shim(&r);
	check_kernel(&r);
	check_sampler(&r);
	if (src.rootfd >= 0)
		close(src.rootfd);

	printf("\n%u problem(s), %u warning(s)\n", r.fails, r.warns);
	return r.fails ? 1 : 0;
}
