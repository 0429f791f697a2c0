/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgproc configuration: /etc/cgproc.conf ("key = value" lines, '#' comments) and the CGPROC_*
 * environment (the same keys, upper-cased, e.g. CGPROC_CPU_VIEW=quota). Parsing is pure; where the
 * text comes from (root-owned file only under AT_SECURE) is the front end's business.
 *
 * Keys: enabled (yes|no), cpu_view (cpuset|quota), files (comma list of vfile names or "all"),
 * machine (a cgroup path that overrides machine discovery), rundir (sampler table directory),
 * log (a file path for debug logging; empty = off).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "parse.h"

#define CGPROC_CONF_PATH "/etc/cgproc.conf"
#define CGPROC_RUNDIR_DEFAULT "/run/cgproc"

struct cgproc_config {
	bool enabled;
	bool quota_view;
	uint64_t files;	   /* bit (1 << vfile_id) per served file; all ones = everything */
	char machine[512]; /* "" = discover */
	char rundir[256];
	char log[256]; /* "" = off */
};

void config_defaults(struct cgproc_config *ret);
/* Apply one "key = value" text (a whole file). Unknown keys and bad values are skipped (the
 * count of skipped lines is returned, >= 0), so an old shim never fails on a newer file. */
int config_apply_text(struct cgproc_config *cfg, struct span text);
/* Apply one key/value pair (env: key "CPU_VIEW" matches cpu_view). -EINVAL when not understood. */
int config_apply(struct cgproc_config *cfg, struct span key, struct span value);
