/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Running tests/client/probe.c (cgproc-probe) in a prepared child for the robustness tests: in a
 * test cgroup, with or without the shim, after a setup callback that runs in the child before
 * exec (private mount namespace and crafted mounts, seccomp filters, rlimits). The child's mount
 * namespace dies with it, so no mount outlives a test. Test code: it may allocate and print.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "harness.h"

struct probe_opts {
	struct cgdirs *cg; /* attach the child here first (NULL: stay in the test's) */
	bool shim; /* LD_PRELOAD=build/preload/libcgproc.so ($CGPROC_TEST_PRELOAD_FIRST first) */
	char *const *env;	 /* extra "K=V" entries */
	int (*setup)(void *arg); /* in the child, after attach, before exec; < 0 aborts */
	void *arg;
	char *const *wrap;   /* argv prefix (valgrind, setpriv); NULL-terminated */
	const char *program; /* run this (PATH lookup) instead of cgproc-probe */
};

struct probe_proc {
	pid_t pid;
	int out; /* child's stdout+stderr */
	int go;	 /* child's stdin: write a byte to release a "wait" action */
};

/* The suites' setup: root and a built shim required, stale test cgroups swept, @cg created with
 * the default 512 MiB / 1-CPU limits (criterion assertions). */
void probe_cg_setup(struct cgdirs *cg);

/* Start the probe (or o->program) with @actions as arguments (NULL-terminated). */
int probe_start(const struct probe_opts *o, char *const actions[], struct probe_proc *ret);
/* Read the child's output up to and including the line "== waiting" (malloc'd into *ret_out). */
int probe_until_wait(struct probe_proc *p, char **ret_out);
/* Release the wait, read the rest, reap; returns the wait status and the output after the
 * wait (malloc'd). Kills the child after @timeout_s seconds times harness_time_factor() (status
 * then shows SIGKILL). */
int probe_finish(struct probe_proc *p, int timeout_s, char **ret_out);
/* probe_start + probe_finish. */
int probe_run(const struct probe_opts *o, char *const actions[], char **ret_out);

/* Helpers on probe output and /proc text. */
/* The value of "Key:" in a meminfo-like text (kB), or -1. */
long long text_kb(const char *text, const char *key);
/* Content after the "== LABEL ..." header line for the @nth (0-based) action header starting
 * with @label ("cat /proc/meminfo"), up to the next "== " line; malloc'd; NULL when absent. */
char *probe_section(const char *out, const char *label, int nth);
/* The integer after "name=" in the @nth header line that starts with "== @label". -9999 when
 * absent. */
long long probe_field(const char *out, const char *label, int nth, const char *name);
/* The real MemTotal of the host (kB), from /proc/meminfo read by the test itself. */
long long host_memtotal_kb(void);
/* Key names of a meminfo-like text joined by ',' (order kept); malloc'd. */
char *text_keys(const char *text);

/* Write @len bytes of @data to @path (create/truncate, mode 0644). */
int write_text(const char *path, const char *data, size_t len);
/* Child-side helpers: unshare(CLONE_NEWNS) and make every mount private. */
int ns_private(void);
