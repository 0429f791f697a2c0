/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libcgproc.so under failure: memfd_create denied by seccomp (tmpfile, then the real file), the
 * machine cgroup removed while the process runs or missing, and the off switch. In every case
 * the caller gets a working fd and its errno untouched.
 */
#include <unistd.h>

#include "shim-common.h"

static struct testcg cg;

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
#ifdef HAVE_SECCOMP
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
