/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Client-test harness: real cgroups, real programs. Every cgroup a test makes is named
 * "cgproc-test-<pid>-<n>" and removed by testcg_destroy() (call it from a Criterion .fini so it
 * runs when an assertion fails); leftovers of dead test processes are swept by testcg_sweep().
 * Only processes the test started are ever signalled, by pid.
 *
 * Under CI=true a client test that cannot run (no root, no cgroups, no FUSE) fails instead of
 * skipping: harness_require() does that.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cgdirs.h"

/* Skip (or fail under CI=true) with @why unless @ok. */
void harness_require(bool ok, const char *why);
void harness_require_root(void);

/* Path of a build artefact ("tools/cgproc") or source file; static storage, one per call site
 * lifetime is enough: copy it if you need two. */
const char *build_path(const char *rel);
const char *source_path(const char *rel);

/* How much slower than this host the machine running the tests is (CGPROC_TEST_TIME_FACTOR: a
 * guest under QEMU's TCG sets it), at least 1: waits for something to start are multiplied by
 * it. Never applied to what a test measures. */
unsigned harness_time_factor(void);

/*
 * Run @argv (argv[0] resolved through PATH), optionally with @env_extra ("K=V", NULL-terminated)
 * added to the environment, capture stdout (and stderr into *ret_err when not NULL). Returns the
 * wait status (>= 0) or -errno. Output strings are malloc'd and NUL-terminated.
 */
int harness_run(char *const argv[], char *const env_extra[], char **ret_out, char **ret_err);
/* Everything readable from @fd until EOF, NUL-terminated (malloc'd). */
char *harness_slurp_fd(int fd);
/* Shell one-liner through /bin/sh -c. */
int harness_sh(const char *cmd, char **ret_out, char **ret_err);

/* A cgroup made in every mounted hierarchy this test touches (v1 controllers and/or v2). */
#define TESTCG_MAX_HIER CGDIRS_MAX
/* struct cgdirs (tools/cgproc/cgdirs.h) is the test cgroup: name, n, dir[], ctrl[]. */

/* Create below @parent_rel ("" = the root of each hierarchy) in every mounted hierarchy. */
int testcg_create(struct cgdirs *cg);
/* Write @value to @file ("memory.limit_in_bytes", "memory.max", "cpuset.cpus"...) in whichever
 * hierarchy has that file. -ENOENT when none has it. */
int testcg_write(struct cgdirs *cg, const char *file, const char *value);
/* 512 MiB memory, cpuset "0", quota 50000/100000, on v1, v2 or hybrid. */
int testcg_limit_default(struct cgdirs *cg);
/* CPU quota/period on v1 (cpu.cfs_*) or v2 (cpu.max). */
int testcg_quota(struct cgdirs *cg, unsigned long quota_us, unsigned long period_us);
/* Move @pid into the cgroup in every hierarchy. */
int testcg_attach(struct cgdirs *cg, pid_t pid);
/* Move remaining tasks that this test started back to the root, then rmdir everywhere. */
void testcg_destroy(struct cgdirs *cg);
/* Remove cgroups left by test processes that no longer exist. */
void testcg_sweep(void);

/* Start @argv in the cgroup (attached before exec, via a pipe handshake); returns pid or -errno. */
pid_t testcg_spawn(struct cgdirs *cg, char *const argv[]);
/* Fork a child that runs @fn(@arg) in the cgroup (attached before it starts), then _exit(0). */
pid_t testcg_fork(struct cgdirs *cg, void (*fn)(void *), void *arg);
/* SIGKILL and reap a pid this test started. */
void harness_kill(pid_t pid);
/*
 * fork(), with the child SIGKILLed when the test process that forked it dies. Criterion ends a
 * test that runs past its .timeout with SIGKILL and skips its .fini: without this, what it started
 * (a daemon, a busy loop, sleeping threads) would live on, load the machine and keep the test's
 * output open, and meson would wait for that until its own timeout. Call it from the thread that
 * lives as long as the child should (a test's main thread).
 */
pid_t harness_fork(void);
/* In a child: be SIGKILLed when PARENT (its parent's pid before the fork) dies; -1 when it is gone.
 */
int harness_die_with(pid_t parent);

#define HARNESS_FUSE_URING "/sys/module/fuse/parameters/enable_uring"
/* The fuse module's enable_uring, 'Y' or 'N'; 0 when the kernel has no FUSE-over-io_uring. */
char harness_fuse_uring(void);
/* Set it to 'Y' or 'N': 0 or -errno. */
int harness_fuse_uring_set(char value);
