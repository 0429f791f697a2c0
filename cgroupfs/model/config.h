/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgproc configuration: /etc/cgproc.conf ("key = value" lines, '#' comments) and the CGPROC_*
 * environment (the same keys, upper-cased, e.g. CGPROC_CPU_VIEW=quota). Parsing is pure; where the
 * text comes from (root-owned file only under AT_SECURE) is the front end's business.
 *
 * Keys: enabled (yes|no), cpu_view (cpuset|quota), files (comma list of vfile names or "all"),
 * machine (a cgroup path that overrides machine discovery), rundir (sampler table directory),
 * log (a file path for debug logging; empty = off), reuse_ms (0-1000: how long the shim serves a
 * snapshot again without rendering it anew; 0 = render every open).
 *
 * The vfile names behind "files" belong to cgroupfs/vfile.c, which model/ must not depend on.
 * config_apply() therefore only checks the list's spelling and keeps it in files_list; the front
 * end resolves it with vfile_config_resolve() (the table's names) once the text is applied.
 * Until then (and for "all") files is all ones.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "parse.h"

#define CGPROC_CONF_PATH "/etc/cgproc.conf"
#define CGPROC_RUNDIR_DEFAULT "/run/cgproc"
#define CGPROC_REUSE_MS_DEFAULT 10
#define CGPROC_REUSE_MS_MAX 1000

struct cgproc_config {
	bool enabled;
	bool quota_view;
	uint64_t files;	      /* bit (1 << vfile_id) per served file; all ones = everything */
	char files_list[512]; /* the raw "files" value, "all" by default */
	char machine[512];    /* "" = discover */
	char rundir[256];
	char log[256];	   /* "" = off */
	unsigned reuse_ms; /* 0 = render on every open */
};

void config_defaults(struct cgproc_config *ret);
/* Apply one "key = value" text (a whole file). Unknown keys and bad values are skipped (the
 * count of skipped lines is returned, >= 0), so an old shim never fails on a newer file. */
int config_apply_text(struct cgproc_config *cfg, struct span text);
/* Apply one key/value pair (env: key "CPU_VIEW" matches cpu_view). -EINVAL when not understood. */
int config_apply(struct cgproc_config *cfg, struct span key, struct span value);

/*
 * The one trust rule for configuration:
 *  - /etc/cgproc.conf counts only when it is a regular file owned by root that neither its
 *    group nor others may write (config_file_trusted(), on fstat of the opened file);
 *  - a process's environment counts only when it was not started AT_SECURE (setuid, setgid,
 *    file capabilities): the shim asks getauxval(), readers on the host read proc/<pid>/auxv
 *    (source/caller.h);
 *  - a daemon on the host that answers for other processes (cgprocfs) takes from their
 *    environment only CONFIG_KEYS_CALLER: values that cannot name a host object. MACHINE among
 *    them is honoured only beneath the caller's own cgroup mounts (source/caller.h); RUNDIR and
 *    LOG, which name host paths, never.
 */
enum {
	CONFIG_KEY_ENABLED = 1U << 0,
	CONFIG_KEY_CPU_VIEW = 1U << 1,
	CONFIG_KEY_FILES = 1U << 2,
	CONFIG_KEY_MACHINE = 1U << 3,
	CONFIG_KEY_RUNDIR = 1U << 4,
	CONFIG_KEY_LOG = 1U << 5,
	CONFIG_KEY_REUSE_MS = 1U << 6,
	CONFIG_KEYS_ALL = (1U << 7) - 1,
	CONFIG_KEYS_CALLER = CONFIG_KEY_ENABLED | CONFIG_KEY_CPU_VIEW | CONFIG_KEY_FILES |
			     CONFIG_KEY_REUSE_MS | CONFIG_KEY_MACHINE,
};

/* Whether a configuration file with this owner and mode may be applied (see above). */
bool config_file_trusted(uid_t uid, mode_t mode);

/*
 * Apply the CGPROC_* entries of an environment block (NUL-separated "NAME=value" strings, as in
 * proc/<pid>/environ; a last entry without its NUL counts) whose key is in @keys. Names are
 * upper case (CGPROC_CPU_VIEW); the first entry of a name wins, as with getenv(). Returns the
 * CONFIG_KEY_* bits that were set.
 */
unsigned config_apply_environ(struct cgproc_config *cfg, struct span block, unsigned keys);

/*
 * "all", or a comma list of names from @names (case-insensitive, blanks around items ignored;
 * names[i] may be NULL for a gap) to a bitmask, bit i for names[i] (i < 64). Names not in the
 * table are skipped and counted (the result, >= 0) so that an older shim accepts a newer list.
 * -EINVAL for an empty list or an empty item.
 */
int config_files_parse(struct span list, const char *const names[], size_t n, uint64_t *ret);
/* cfg->files from cfg->files_list; on error cfg->files is left alone (all ones by default). */
int config_files_resolve(struct cgproc_config *cfg, const char *const names[], size_t n);
