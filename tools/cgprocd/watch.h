/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * New cgroups between passes (see sampler.h): an inotify watch on every cgroup directory a pass
 * keeps, whose events mark the directories to list again and tell the daemon that a new cgroup
 * deserves an extra pass now; and the directory listing itself. Nothing here reads limits or
 * counts tasks.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "limits.h"
#include "sampler.h"

/*
 * The subdirectories of directory @fd (names not starting with '.'), from its start: a malloc'd
 * array of children followed by their names into *ret (NULL when there are none), hints unset.
 * Their number or -errno.
 */
ssize_t dir_children(int fd, struct cg_child **ret);
/* Watch the directory of @vi (key @dev, @ino) for new children, once per directory. */
void watch_dir(struct sampler *s, const struct visit *vi, uint64_t dev, uint64_t ino);
