/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * All I/O of the core. Every file is opened relative to a root directory fd, so that the real
 * host ("/") and a fixture tree under tests/data go through the same code. Files are read with one
 * read() into a caller-sized buffer (a second read could see a newer value instead of EOF).
 *
 * Never logs, exits or allocates on the read path; every function returns -errno. A missing
 * cgroup file is -ENODATA. Fds are O_CLOEXEC and closed before return.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../model/cgpath.h"
#include "../model/cpu.h"
#include "../model/memory.h"
#include "../model/misc.h"

struct cg_src {
	int rootfd;		/* directory fd of "/" (host) or of a fixture tree */
	uint64_t ticks_per_sec; /* USER_HZ, normally 100 */
};

/* Read @relpath (no leading '/') under the root. -ENOBUFS when @size was too small. */
int src_read(const struct cg_src *src, const char *relpath, char *buf, size_t size,
	     size_t *ret_len);

/* The machine cgroup of a process: see DESIGN.md "Which cgroup is the machine". */
struct cg_machine {
	struct cg_mounts mounts;
	struct cg_paths paths; /* machine cgroup per controller */
	struct cg_paths top;   /* highest ancestor visible to the reader, per controller */
	pid_t init_pid;	       /* pid (in the src's /proc) whose start time is the machine's
				  start; 0 = the oldest process in the machine cgroup */
	unsigned rule;	       /* 1..4: which DESIGN.md rule chose the machine */
	bool cgroupns, pidns;  /* the process is in a non-initial namespace */
	/* When the machine started, in clock ticks since boot (field 22 of /proc/<pid>/stat), as
	 * cg_machine_resolve_start() found it; start_known false = find it on every uptime read.
	 * start_is_host: the machine is the host's root cgroup, whose uptime is the host's. */
	bool start_known, start_is_host;
	uint64_t start_ticks;
};

/*
 * @pid as the src's /proc names it (0 = "self"). @override, when not NULL or "", is a cgroup path
 * used for every controller (rule 1). Works from inside a container (the shim) and from the host
 * (cgprocfs, cgproc show), where namespace roots and pid-namespace inits are resolved to host
 * paths and host pids.
 */
int cg_machine_find(const struct cg_src *src, pid_t pid, const char *override,
		    struct cg_machine *ret);
/* The same with the caller's working memory instead of ~46 KiB of stack (signal handlers, small
 * thread stacks): @scratch holds a struct cg_machine plus the mountinfo text. -ENOBUFS: bigger. */
int cg_machine_find_scratch(const struct cg_src *src, pid_t pid, const char *override,
			    char *scratch, size_t size, struct cg_machine *ret);

/* Read @file of the machine cgroup of controller @c ("memory.stat"). -ENODATA when absent. */
int cg_read(const struct cg_src *src, const struct cg_machine *m, enum cg_controller c,
	    const char *file, char *buf, size_t size, size_t *ret_len);

/* Limits walked from the machine cgroup up to m->top, usage and memory.stat; v1 and v2. */
int cg_read_memory(const struct cg_src *src, const struct cg_machine *m, struct cg_memory *ret);
/* cpuset, quota (tightest over ancestors), CPU time; v1 usage_all is read into @scratch. */
int cg_read_cpu(const struct cg_src *src, const struct cg_machine *m, char *scratch, size_t size,
		struct cg_cpu *ret);
/* cpuset and quota only (user/system 0, usage_all empty): what cpuinfo, the CPU lists and
 * sysconf(_SC_NPROCESSORS_*) need, two to three reads fewer. */
int cg_read_cpu_limits(const struct cg_src *src, const struct cg_machine *m, struct cg_cpu *ret);

/* Uptime of the machine and of the host, hundredths of a second, both from the src's
 * proc/uptime and the start time of the machine's first process. */
/* Find and store the machine's start (a walk of cgroup.procs on rule 4), so that front ends that
 * keep a machine for a while do not repeat that walk on every read of stat, uptime or pid-stat. */
int cg_machine_resolve_start(const struct cg_src *src, struct cg_machine *m);

int cg_read_uptime(const struct cg_src *src, const struct cg_machine *m, uint64_t *ret_uptime_cs,
		   uint64_t *ret_host_uptime_cs);
