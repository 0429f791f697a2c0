/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the sampler daemon (cgprocd) publishes for one cgroup, decoded from its table: the load
 * average and the effective limits computed on the host over all ancestors (so limits set above a
 * cgroup-namespace root reach readers inside it). The table's on-disk layout lives with its
 * reader and writer; this is the form every consumer uses. Pure.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cpuset.h"
#include "misc.h"

struct cg_sample {
	struct loadavg load; /* lastpid is not sampled: 0 */
	uint64_t mem_limit;  /* bytes, UINT64_MAX = none */
	uint64_t swap_limit; /* bytes of swap alone, UINT64_MAX = none */
	uint64_t quota_us;   /* UINT64_MAX = none */
	uint64_t period_us;
	bool has_cpuset;
	struct cpuset cpuset; /* effective cpuset */
};
