/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parsers of per-process /proc text that the machine lookup and the per-process files need: a
 * pid as /proc spells it and the NSpid/PPid lines of /proc/<pid>/status. Pure, no allocation.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "parse.h"

/* A decimal pid at *@p as /proc names it (no sign, no leading zero, 1..INT32_MAX), *@p advanced
 * past it; false (nothing moved) for anything else. */
bool pid_parse(const char **p, pid_t *ret);

/* A whole string that is a pid ("123", not "123x" or "self"): a /proc directory entry. */
static inline bool pid_name(const char *s, pid_t *ret)
{
	const char *p = s;
	pid_t pid;

	if (!pid_parse(&p, &pid) || *p)
		return false;
	*ret = pid;
	return true;
}

/* The last number of the "NSpid:" line (the pid in the process's own namespace) and the "PPid:"
 * value of a /proc/<pid>/status text. -ENOENT when either line is missing, -EINVAL for garbage. */
int proc_status_parse(struct span text, uint64_t *ret_nspid_last, uint64_t *ret_ppid);
