/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parsers for the values `cgproc run` takes on its command line: sizes, CPU quotas and cgroup
 * names. Pure (no I/O, no messages): the caller names the option in its error message.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * Bytes with an optional binary suffix K, M, G or T (case-insensitive, optionally followed by
 * "B" or "iB"): "536870912", "512M", "1.5G", "64KiB". A fraction needs a suffix and is rounded
 * down to whole bytes. -EINVAL for garbage, -ERANGE above UINT64_MAX.
 */
int size_parse(const char *s, uint64_t *ret);

/*
 * A CPU quota: a decimal number of CPUs ("0.5", "2", at most 6 decimals) over the default
 * 100000 us period, or "QUOTA/PERIOD" in microseconds ("50000/100000"). The kernel's bounds
 * apply: quota >= 1000 us, 1000 us <= period <= 1 s. -EINVAL / -ERANGE.
 */
#define QUOTA_PERIOD_DEFAULT_US 100000
int quota_parse(const char *s, uint64_t *ret_quota_us, uint64_t *ret_period_us);

/* A cgroup name made only of [A-Za-z0-9._-], not "." or "..", 1..200 characters. */
bool cgname_valid(const char *s);
