/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What libcgproc-early.so's constructor saw (see early.c). Test code. */
#pragma once

#define EARLY_N 12
#define EARLY_NAMES                                                                                \
	"ARG_MAX", "SIGSTKSZ", "NGROUPS_MAX", "OPEN_MAX", "PAGESIZE", "CLK_TCK",                   \
		"NPROCESSORS_ONLN", "PHYS_PAGES", "LINE_MAX", "GETPW_R_SIZE_MAX", "HOST_NAME_MAX", \
		"MINSIGSTKSZ"

struct early_seen {
	int done;
	long value[EARLY_N];
	int err[EARLY_N];
};

extern struct early_seen early_seen;
