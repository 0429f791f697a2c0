/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The reference /proc/stat renderer of cpu-ref.c (see there). */
#pragma once

#include "model/cpu.h"

int ref_stat_render(struct span host_stat, const struct cg_cpu *c, const struct cpuset *cpus,
		    const struct stat_clock *clk, struct buf *out);
int ref_cpuinfo_render(struct span host_cpuinfo, const struct cpuset *cpus, struct buf *out);
