/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Edits of a container's config.json that the runtime wrapper makes (oci-seccomp.c). */
#pragma once

#include "json.h"
#include "oci.h"

/*
 * Traps sysinfo with SCMP_ACT_NOTIFY and sets linux.seccomp.listenerPath to @socket, merged
 * into the existing profile (or a new allow-all profile when there is none). 1 when changed;
 * 0 when left alone, with the reason in *@ret_why (already added, the profile denies sysinfo,
 * another listener); -ENOMEM.
 */
int oci_seccomp_add_sysinfo(struct json_doc *doc, struct json *config, const char *socket,
			    const char **ret_why);

/*
 * Appends the hook {@path, @args (NULL-terminated)} to hooks.@stage unless a hook with that
 * path and args[0] is there already. 1 added, 0 present, -EINVAL (hooks malformed), -ENOMEM.
 */
int oci_hooks_add(struct json_doc *doc, struct json *config, const char *stage, const char *path,
		  const char *const *args);
