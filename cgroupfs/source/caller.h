/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a reader on the host (cgprocfs, `cgproc show --pid`) takes from another process, under the
 * one configuration trust rule of model/config.h: the daemon's own /etc/cgproc.conf when it is
 * trusted, then the other process's CGPROC_* environment when it was not started AT_SECURE,
 * restricted to the keys the front end allows, and a machine it names only where that process can
 * already see.
 *
 * Must not: open a path a caller chose. Every file read here is a fixed name under the src root
 * (etc/cgproc.conf, proc/<pid>/auxv, environ, cgroup, mountinfo, ns/cgroup).
 */
#pragma once

#include "../model/config.h"
#include "source.h"

/* Apply the src root's etc/cgproc.conf to @cfg when config_file_trusted() holds for it, read
 * into @buf (its first @size bytes count). 0 when applied, -errno when absent or not trusted
 * (-EPERM). */
int src_config_file_apply(const struct cg_src *src, struct cgproc_config *cfg, char *buf,
			  size_t size);

/* Whether process @pid was started AT_SECURE, from proc/<pid>/auxv (64- and 32-bit layouts).
 * true also when that cannot be told (unreadable, no AT_SECURE entry): the safe answer. */
bool src_proc_secure(const struct cg_src *src, pid_t pid);

/* Apply the CGPROC_* environment of process @pid (proc/<pid>/environ, read into @buf of @size)
 * for the keys in @keys, unless @pid is AT_SECURE before or after that read. Returns the
 * CONFIG_KEY_* bits set (0 when nothing was applied).
 * Reading proc/<pid>/environ reads the process's memory, which it may have mapped from a file
 * system that answers slowly or never: call it where a stall stalls only this caller. */
unsigned src_environ_apply(const struct cg_src *src, pid_t pid, struct cgproc_config *cfg,
			   unsigned keys, char *buf, size_t size);

/*
 * The machine cgroup a process @pid on the host may name with @value (its CGPROC_MACHINE, a path
 * as that process sees its cgroups), as a host path in @ret. @value must be absolute and hold no
 * "." or ".." component. For a process in another cgroup namespace than the reader the path is
 * taken below that namespace's root, which is the root of its own cgroup mounts as the reader
 * sees them (proc/<pid>/mountinfo); for one in the reader's namespace it is taken as is. Either
 * way it is honoured only when it lies beneath the root of the process's own mount of every
 * controller it has mounted: a process names only cgroups it can already read. @text (of
 * @size) and @mounts are working memory. -EPERM when @value is not honoured (the caller then
 * discovers the machine as if it were unset), -EINVAL for a malformed value.
 */
int cg_caller_machine(const struct cg_src *src, pid_t pid, const char *value, char *text,
		      size_t size, struct cg_mounts *mounts, char *ret, size_t ret_size);
