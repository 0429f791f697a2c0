/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgprocd: the hierarchies to walk and their roles (model/table.h): the v1 "cpu" hierarchy groups
 * threads for the load and carries the quota, "memory" and "cpuset" carry theirs; whatever has no
 * v1 hierarchy is taken from the cgroup2 mount (all of them on a v2 host). Co-mounted
 * controllers share one entry.
 */
#pragma once

#include <stddef.h>

#include "sampler.h"

/* Fill @hier (SAMPLER_HIER_MAX entries). -errno with a message in @err when nothing groups
 * threads (no v1 cpu hierarchy and no cgroup2 mount). */
int hier_find(struct sampler_hier *hier, unsigned *ret_n, char *err, size_t errsize);
/* Highest possible CPU id + 1 (/sys/devices/system/cpu/possible); CPUSET_MAX when unknown. */
unsigned cpus_possible(void);
