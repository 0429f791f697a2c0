/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internals of the cgroup module of `cgproc run` (run-cgroup.h is its interface), shared by its
 * files: run-cgroup.c (backend choice, killing), run-where.c (where on cgroup2), run-libcgroup.c
 * (the cgroupfs backend) and run-systemd.c (the systemd backend). Not for other callers.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "model/cgpath.h"
#include "run-cgroup.h"

/* Messages to stderr prefixed "cgproc run: "; runcg_verbose only with --verbose. */
void runcg_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void runcg_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern bool runcg_log_verbose;

/* run-where.c */
/* One read() of a small cgroup file, trailing newline removed. */
int runcg_read(const char *path, char *buf, size_t size);
bool runcg_is_cgroup2(const char *path);
/* The first cgroup2 mount in this mount namespace. */
int runcg_cgroup2_mount(char *ret, size_t size);
/* The cgroup ("/" or "/a/b") of process @pid (0: the caller) in the hierarchy of @c. */
int runcg_pid_cgroup(pid_t pid, enum cg_controller c, char *ret, size_t size);
/* The directory to make the group in, in the hierarchy of @c mounted at @mount (see there). */
size_t runcg_base_dir(const char *mount, enum cg_controller c, char *ret, size_t size);

/* run-libcgroup.c: the cgroupfs backend */
int runfs_create(struct runcg *cg);
int runfs_attach(struct runcg *cg, pid_t pid);
void runfs_destroy(struct runcg *cg);

/* run-systemd.c: the systemd backend (cg->why says why a call failed) */
int runsd_open(struct runcg *cg);
int runsd_start(struct runcg *cg, pid_t pid);
void runsd_close(struct runcg *cg);
