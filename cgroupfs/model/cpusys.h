/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /sys/devices/system/cpu as a machine sees it: which entries of the host directory it lists,
 * and the text of the files that name CPUs, restricted to the visible ones (real ids kept, as
 * everywhere in cgproc). Pure: no I/O.
 */
#pragma once

#include <stdbool.h>

#include "buf.h"
#include "cpuset.h"
#include "parse.h"

/* The id of a "cpuN" directory name (N decimal, no sign, no leading zero); -1 for any other. */
int cpudir_cpu_id(struct span name);

/* Whether the machine lists host entry @name of /sys/devices/system/cpu: every entry but the
 * cpuN of CPUs outside @visible. */
bool cpudir_entry_visible(struct span name, const struct cpuset *visible);

/* How a file under /sys/devices/system/cpu is shown. */
enum cpusys_kind {
	CPUSYS_HOST,	   /* the host's text (kernel_max, cpufreq, vulnerabilities, ids, caches) */
	CPUSYS_VISIBLE,	   /* online, possible, present: the visible list */
	CPUSYS_OFFLINE,	   /* offline: empty (possible = present = online = the visible CPUs, like a
			      VM whose CPUs are all on line) */
	CPUSYS_CPU_ONLINE, /* cpuN/online: "1" (a visible CPU is on line) */
	CPUSYS_LIST,	   /* topology/..._list: the host's list & visible */
	CPUSYS_MASK /* topology/..._cpus, ..._siblings: the host's bitmap & visible, same width */
};

/* The kind of @path, relative to /sys/devices/system/cpu ("online", "cpu3/topology/core_cpus"). */
enum cpusys_kind cpusys_kind_of(struct span path);

/*
 * The text of a file of kind @kind: @host is the host's file of the same path (unused for
 * the kinds that do not depend on it), @visible the machine's CPUs. With a newline, as the
 * kernel prints these files. Unparsable host text: -EINVAL (the caller serves the host file).
 */
int cpusys_render(enum cpusys_kind kind, struct span host, const struct cpuset *visible,
		  struct buf *out);
