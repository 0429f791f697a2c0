/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libcgproc.so (and, as client-shim-fault-musl, libcgproc-musl.so) under failure: memfd_create
 * denied by seccomp (tmpfile, then the real file), the machine cgroup removed while the process
 * runs or missing, and the off switch. In every case the caller gets a working fd and its errno
 * untouched.
 */
#include <unistd.h>

#include "shim-common.h"

static struct cgdirs cg;

static void setup(void)
{
	testcg_sweep();
	harness_require_root();
	cr_assert_eq(testcg_create(&cg), 0);
	cr_assert_eq(testcg_limit_default(&cg), 0);
}

static void teardown(void)
{
	testcg_destroy(&cg);
}

static void run(bool attach, const char *mode, const char *const env[], const char *args)
{
	char *out = NULL;
	int status = shim_probe(&cg, attach, mode, env, args, &out);

	shim_assert_probe(status, out);
	free(out);
}

Test(shim_fault, memfd_denied, .init = setup, .fini = teardown)
{
#if defined(HAVE_SECCOMP) || defined(SHIM_MUSL)
	/* the musl probe loads its filter without libseccomp */
	run(true, "seccomp", NULL, NULL);
#else
	harness_require(false, "built without libseccomp");
#endif
}

Test(shim_fault, disabled_by_env, .init = setup, .fini = teardown)
{
	const char *env[] = {"CGPROC_ENABLED=0", NULL};

	run(true, "disabled", env, NULL);
}

/* The configuration is read on first use, from the environment as the process started. */
Test(shim_fault, environment_as_started, .init = setup, .fini = teardown)
{
	const char *env[] = {"CGPROC_ENABLED=0", NULL};

	run(true, "envstart", env, NULL);
	run(true, "envstart", NULL, NULL);
}

Test(shim_fault, machine_cgroup_removed, .init = setup, .fini = teardown)
{
	char machine[128], dirs[4096];
	const char *env[] = {machine, NULL};
	size_t len = 0;

	/* The probe is not in the cgroup: it names it as its machine, then removes it. */
	snprintf(machine, sizeof(machine), "CGPROC_MACHINE=/%s", cg.name);
	dirs[0] = '\0';
	for (int i = 0; i < cg.n; i++)
		len += (size_t)snprintf(dirs + len, sizeof(dirs) - len, "%s ", cg.dir[i]);
	run(false, "rmcg", env, dirs);
}

Test(shim_fault, machine_cgroup_missing, .init = setup, .fini = teardown)
{
	char machine[128], logenv[128], *out = NULL, *err = NULL, *log = NULL;
	const char *env[] = {machine, logenv, NULL};
	int status;

	/* The failure is logged to CGPROC_LOG, never to stderr. */
	snprintf(machine, sizeof(machine), "CGPROC_MACHINE=/cgproc-test-missing-%d", getpid());
	snprintf(logenv, sizeof(logenv), "CGPROC_LOG=/tmp/cgproc-test-shimlog-%d", getpid());
	unlink(logenv + 11);
	status = shim_probe_err(&cg, false, "missing", env, NULL, &out, &err);
	shim_assert_probe(status, out);
	cr_assert_str_empty(err, "stderr: %s", err);
	{
		char cmd[200];

		snprintf(cmd, sizeof(cmd), "cat %s", logenv + 11);
		harness_sh(cmd, &log, NULL);
	}
	unlink(logenv + 11);
	cr_assert(log && strstr(log, "serve failed"), "log: %s", log ? log : "");
	free(out);
	free(err);
	free(log);
}

/*
 * /etc/cgproc.conf and AT_SECURE, without touching the host's /etc: a copy of /etc gets the
 * test's cgproc.conf (and ld.so.preload) and is bind-mounted over /etc in a private mount
 * namespace that only the probe's process tree sees.
 */
static int run_private_etc(const char *conf, int conf_mode, bool preload, const char *exec,
			   char **ret_out)
{
	char cmd[8192], *err = NULL;
	size_t len = 0;
	int status;

	len += (size_t)snprintf(
		cmd + len, sizeof(cmd) - len,
		"set -e; T=$(mktemp -d /tmp/cgproc-test-etc-XXXXXX); trap 'rm -rf \"$T\"' EXIT; "
		"cp -a /etc \"$T/etc\"; rm -f \"$T/etc/ld.so.preload\" \"$T/etc/cgproc.conf\"; "
		"cp %s \"$T/probe\"; chmod 4755 \"$T/probe\"; ",
		build_path(SHIM_PROBE));
	if (conf)
		len += (size_t)snprintf(cmd + len, sizeof(cmd) - len,
					"printf '%s\\n' > \"$T/etc/cgproc.conf\"; chmod %o "
					"\"$T/etc/cgproc.conf\"; ",
					conf, conf_mode);
	if (preload)
		len += (size_t)snprintf(cmd + len, sizeof(cmd) - len,
					"echo %s > \"$T/etc/ld.so.preload\"; ",
					build_path(SHIM_LIB));
	len += (size_t)snprintf(cmd + len, sizeof(cmd) - len,
				"unshare -m sh -c 'mount --make-rprivate / && "
				"mount --bind \"$0/etc\" /etc && ");
	for (int i = 0; i < cg.n; i++)
		len += (size_t)snprintf(cmd + len, sizeof(cmd) - len,
					"echo $$ > %s/cgroup.procs && ", cg.dir[i]);
	snprintf(cmd + len, sizeof(cmd) - len, "%s' \"$T\"", exec);
	status = harness_sh(cmd, ret_out, &err);
	cr_log_info("status %d\n%s\nstderr: %s", status, *ret_out ? *ret_out : "", err);
	free(err);
	return status;
}

Test(shim_fault, config_file_off_switch, .init = setup, .fini = teardown)
{
	char exec[1024], *out = NULL;
	int status;

	/* root-owned, 0644: "enabled = no" is obeyed */
	snprintf(exec, sizeof(exec), "LD_PRELOAD=%s \"$0/probe\" disabled " SHIM_EXPECT_KB,
		 build_path(SHIM_LIB));
	status = run_private_etc("enabled = no", 0644, false, exec, &out);
	shim_assert_probe(status, out);
	free(out);
	out = NULL;
	/* world-writable: ignored, the shim stays on */
	snprintf(exec, sizeof(exec), "LD_PRELOAD=%s \"$0/probe\" spellings " SHIM_EXPECT_KB,
		 build_path(SHIM_LIB));
	status = run_private_etc("enabled = no", 0666, false, exec, &out);
	shim_assert_probe(status, out);
	free(out);
}

/* glibc only: musl's loader has no /etc/ld.so.preload and ignores LD_PRELOAD under AT_SECURE,
 * so the musl shim is never in a setuid process. */
#ifndef SHIM_MUSL
Test(shim_fault, at_secure_ignores_environment, .init = setup, .fini = teardown)
{
	char *out = NULL;
	int status;

	/* A setuid-root probe started by uid 65534 runs with AT_SECURE: ld.so.preload loads the
	 * shim, CGPROC_ENABLED=0 from the environment is ignored. */
	status = run_private_etc(NULL, 0, true,
				 "CGPROC_ENABLED=0 setpriv --reuid=65534 --regid=65534 "
				 "--clear-groups \"$0/probe\" secure " SHIM_EXPECT_KB,
				 &out);
	shim_assert_probe(status, out);
	cr_assert(strstr(out, "AT_SECURE 1"), "%s", out);
	free(out);
}

#endif

Test(shim_fault, overlay_left_alone, .init = setup, .fini = teardown)
{
	char cmd[4096], *out = NULL;
	size_t len = 0;
	int status;

	/* A file mounted over /proc/meminfo (as cgprocfs and lxcfs do) is not procfs: the shim
	 * serves it as it is instead of virtualizing twice. */
	len += (size_t)snprintf(cmd + len, sizeof(cmd) - len,
				"set -e; F=$(mktemp /tmp/cgproc-test-overlay-XXXXXX); "
				"trap 'rm -f \"$F\"' EXIT; "
				"printf 'MemTotal:         1234 kB\\n' > \"$F\"; "
				"unshare -m sh -c 'mount --make-rprivate / && "
				"mount --bind \"$0\" /proc/meminfo && ");
	for (int i = 0; i < cg.n; i++)
		len += (size_t)snprintf(cmd + len, sizeof(cmd) - len,
					"echo $$ > %s/cgroup.procs && ", cg.dir[i]);
	snprintf(cmd + len, sizeof(cmd) - len, "LD_PRELOAD=%s %s overlay' \"$F\"",
		 build_path(SHIM_LIB), build_path(SHIM_PROBE));
	status = harness_sh(cmd, &out, NULL);
	cr_log_info("%s", out);
	shim_assert_probe(status, out);
	free(out);
}
