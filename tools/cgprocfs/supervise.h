/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgprocfs's supervisor (where no service manager keeps its fds): holds the /dev/fuse fd and the
 * worker's state, restarts the worker (this program, exec'd with @argv) when it dies.
 */
#pragma once

#include <stdbool.h>

/* Set in the worker's environment: its fds are kept by the supervisor, which also unmounts. */
#define SUPERVISE_ENV "CGPROCFS_SUPERVISED"

/* Run until the worker exits cleanly or the supervisor is stopped; returns the exit code. */
int supervise_run(char **argv, const char *mountpoint, bool quiet);
