/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Running shim-probe under LD_PRELOAD=libcgproc.so inside a test cgroup (test-shim*.c). Built
 * with -DSHIM_MUSL (test-shim-fault.c and test-shim-stress.c a second time): the musl shim and
 * the probe built with musl-gcc. */
#pragma once

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

#ifdef SHIM_MUSL
#define SHIM_LIB "preload/libcgproc-musl.so"
#define SHIM_PROBE "tests/client/shim-probe-musl"
#else
#define SHIM_LIB "preload/libcgproc.so"
#define SHIM_PROBE "tests/client/shim-probe"
#endif

/* 512 MiB, the memory limit testcg_limit_default() sets, in kB. */
#define SHIM_EXPECT_KB "524288"

/*
 * Run "@probe @mode" (@probe relative to the build directory) with the shim preloaded, inside @cg
 * when @attach, with @env_extra added ("K=V", NULL-terminated, at most 4) and @args appended.
 * Returns the wait status; the probe's output is printed to the test log and returned in *ret_out
 * (malloc'd).
 */
static inline int shim_probe_run(const char *probe_rel, struct cgdirs *cg, bool attach,
				 const char *mode, const char *const env_extra[], const char *args,
				 char **ret_out, char **ret_err)
{
	static char preload[600], cmd[8192];
	char probe[512], *env[6];
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	size_t len = 0;
	int status, n = 0;

	/* musl: the shell is a glibc program, only the probe gets the shim (in cmd below) */
	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", build_path(SHIM_LIB));
#ifndef SHIM_MUSL
	env[n++] = preload;
#endif
	snprintf(probe, sizeof(probe), "%s", build_path(probe_rel));
	for (const char *const *e = env_extra; e && *e && n < 5; e++)
		env[n++] = (char *)*e;
	env[n] = NULL;
	if (attach)
		for (int i = 0; i < cg->n; i++)
			len += (size_t)snprintf(cmd + len, sizeof(cmd) - len,
						"echo $$ > %s/cgroup.procs || exit 99; ",
						cg->dir[i]);
#ifdef SHIM_MUSL
	len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, "%s ", preload);
#endif
	snprintf(cmd + len, sizeof(cmd) - len, "exec %s %s %s %s", probe, mode, SHIM_EXPECT_KB,
		 args ? args : "");
	status = harness_run(argv, env, ret_out, ret_err);
	cr_log_info("%s: status %d\n%s", mode, status, *ret_out ? *ret_out : "");
	return status;
}

/* shim-probe @mode (above). */
static inline int shim_probe_err(struct cgdirs *cg, bool attach, const char *mode,
				 const char *const env_extra[], const char *args, char **ret_out,
				 char **ret_err)
{
	return shim_probe_run(SHIM_PROBE, cg, attach, mode, env_extra, args, ret_out, ret_err);
}

static inline int shim_probe(struct cgdirs *cg, bool attach, const char *mode,
			     const char *const env_extra[], const char *args, char **ret_out)
{
	return shim_probe_err(cg, attach, mode, env_extra, args, ret_out, NULL);
}

static inline void shim_assert_probe(int status, const char *out)
{
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "probe failed (status %d):\n%s",
		  status, out ? out : "");
	cr_assert(out && strstr(out, ": 0 failures"), "probe output incomplete:\n%s",
		  out ? out : "");
}
