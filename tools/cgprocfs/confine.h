/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgprocfs self-confinement once mounted: no_new_privs and a seccomp allowlist. */
#pragma once

/* Kill the whole process on any syscall outside the list (loud, not silent EPERM). Applies to
 * every thread (TSYNC). -errno on failure. */
int confine_apply(void);
