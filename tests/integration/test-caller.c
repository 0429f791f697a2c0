/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a reader on the host takes from another process (source/caller.c), on trees built here:
 * proc/<pid>/{mountinfo,auxv,environ,ns/cgroup} and etc/cgproc.conf as a fixture root.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "source/caller.h"

static char root[256];
static struct cg_src src = {.rootfd = -1};

static void put(const char *rel, const void *data, size_t len, mode_t mode)
{
	char path[512], dir[512], *slash;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	for (slash = strchr(dir + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = 0;
		(void)mkdir(dir, 0755);
		*slash = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	cr_assert_eq(fchmod(fd, mode), 0);
	close(fd);
}

static void ns_link(const char *procdir, unsigned long ino)
{
	char path[512], text[64];

	snprintf(path, sizeof(path), "%s/%s/ns", root, procdir);
	(void)mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/ns/cgroup", root, procdir);
	snprintf(text, sizeof(text), "cgroup:[%lu]", ino);
	cr_assert_eq(symlink(text, path), 0);
}

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/cgproc-fixture-caller-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	put("proc/self/status", "x", 1, 0644);
	ns_link("proc/self", 4026531835UL);
	cr_assert_eq(fixture_open(root, &src), 0);
}

static void teardown(void)
{
	char cmd[400];

	if (src.rootfd >= 0)
		close(src.rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	(void)system(cmd);
}

TestSuite(caller, .init = setup, .fini = teardown);

#define MI_V1(root_, ctrl)                                                                         \
	"40 30 0:40 " root_ " /sys/fs/cgroup/" ctrl                                                \
	" rw,relatime shared:1 - cgroup cgroup rw," ctrl "\n"

static int machine(pid_t pid, const char *value, char *ret)
{
	static struct cg_mounts mounts;
	char text[8192];

	return cg_caller_machine(&src, pid, value, text, sizeof(text), &mounts, ret, CG_PATH_MAX);
}

Test(caller, machine_from_the_readers_namespace)
{
	static const char mi[] = MI_V1("/", "memory") MI_V1("/", "cpu");
	char out[CG_PATH_MAX];

	put("proc/42/mountinfo", mi, sizeof(mi) - 1, 0644);
	ns_link("proc/42", 4026531835UL);
	cr_assert_eq(machine(42, "/tenant/b", out), 0);
	cr_assert_str_eq(out, "/tenant/b");
	cr_assert_eq(machine(42, "/tenant/../../etc", out), -EINVAL);
	cr_assert_eq(machine(42, "/tenant/./b", out), -EINVAL);
	cr_assert_eq(machine(42, "tenant", out), -EINVAL);
}

Test(caller, machine_beneath_a_bind_mounted_root)
{
	/* no cgroup namespace, its cgroups bind-mounted from /docker/a (Docker cgroupns=host) */
	static const char mi[] = MI_V1("/docker/a", "memory") MI_V1("/docker/a", "cpu");
	char out[CG_PATH_MAX];

	put("proc/43/mountinfo", mi, sizeof(mi) - 1, 0644);
	ns_link("proc/43", 4026531835UL);
	cr_assert_eq(machine(43, "/docker/a/sub", out), 0);
	cr_assert_str_eq(out, "/docker/a/sub");
	cr_assert_eq(machine(43, "/docker/a", out), 0);
	cr_assert_eq(machine(43, "/docker/b", out), -EPERM);
	cr_assert_eq(machine(43, "/docker/ab", out), -EPERM);
	cr_assert_eq(machine(43, "/", out), -EPERM);
}

Test(caller, machine_in_its_own_namespace)
{
	static const char mi[] = MI_V1("/ns/root", "memory") MI_V1("/ns/root", "cpu");
	static const char inherited[] = MI_V1("/", "memory");
	static const char split[] = MI_V1("/ns/root", "memory") MI_V1("/ns/other", "cpu");
	char out[CG_PATH_MAX];

	put("proc/44/mountinfo", mi, sizeof(mi) - 1, 0644);
	ns_link("proc/44", 4026532999UL);
	/* its own view: "/sub" is below its namespace root */
	cr_assert_eq(machine(44, "/sub", out), 0);
	cr_assert_str_eq(out, "/ns/root/sub");
	cr_assert_eq(machine(44, "/", out), 0);
	cr_assert_str_eq(out, "/ns/root");
	cr_assert_eq(machine(44, "/..", out), -EINVAL);
	/* mounts inherited from before the unshare do not tell where its root is */
	put("proc/45/mountinfo", inherited, sizeof(inherited) - 1, 0644);
	ns_link("proc/45", 4026532999UL);
	cr_assert_eq(machine(45, "/tenant/b", out), -EPERM);
	/* controllers that disagree on the root: no one path for all */
	put("proc/46/mountinfo", split, sizeof(split) - 1, 0644);
	ns_link("proc/46", 4026532999UL);
	cr_assert_eq(machine(46, "/sub", out), -EPERM);
	/* no cgroup mounted at all */
	put("proc/47/mountinfo", "", 0, 0644);
	ns_link("proc/47", 4026532999UL);
	cr_assert_lt(machine(47, "/sub", out), 0);
}

static void auxv64(const char *rel, long secure)
{
	uint64_t v[] = {6, 4096, 23, (uint64_t)secure, 0, 0};

	put(rel, v, secure < 0 ? 2 * sizeof(uint64_t) : sizeof(v), 0400);
}

Test(caller, at_secure_from_auxv)
{
	uint32_t v32[] = {6, 4096, 23, 1, 0, 0};

	auxv64("proc/50/auxv", 1);
	auxv64("proc/51/auxv", 0);
	auxv64("proc/52/auxv", -1); /* no AT_SECURE entry */
	put("proc/53/auxv", v32, sizeof(v32), 0400);
	cr_assert(src_proc_secure(&src, 50));
	cr_assert_not(src_proc_secure(&src, 51));
	cr_assert(src_proc_secure(&src, 52), "cannot tell: secure");
	cr_assert(src_proc_secure(&src, 53), "a 32-bit auxv");
	cr_assert(src_proc_secure(&src, 54), "no auxv: secure");
}

Test(caller, environ_only_when_not_secure)
{
	static const char env[] = "CGPROC_CPU_VIEW=quota\0CGPROC_RUNDIR=/tmp/x\0";
	struct cgproc_config c;
	char buf[4096];

	auxv64("proc/60/auxv", 0);
	put("proc/60/environ", env, sizeof(env) - 1, 0400);
	auxv64("proc/61/auxv", 1);
	put("proc/61/environ", env, sizeof(env) - 1, 0400);
	config_defaults(&c);
	cr_assert_eq(src_environ_apply(&src, 60, &c, CONFIG_KEYS_CALLER, buf, sizeof(buf)),
		     CONFIG_KEY_CPU_VIEW);
	cr_assert(c.quota_view);
	cr_assert_str_eq(c.rundir, CGPROC_RUNDIR_DEFAULT);
	config_defaults(&c);
	cr_assert_eq(src_environ_apply(&src, 61, &c, CONFIG_KEYS_ALL, buf, sizeof(buf)), 0);
	cr_assert_not(c.quota_view);
}

Test(caller, config_file_trust)
{
	static const char conf[] = "cpu_view = quota\n";
	struct cgproc_config c;
	char buf[256];

	put("etc/cgproc.conf", conf, sizeof(conf) - 1, 0664);
	config_defaults(&c);
	cr_assert_eq(src_config_file_apply(&src, &c, buf, sizeof(buf)), -EPERM);
	cr_assert_not(c.quota_view);
	put("etc/cgproc.conf", conf, sizeof(conf) - 1, 0644);
	if (geteuid() == 0) {
		char path[512];

		snprintf(path, sizeof(path), "%s/etc/cgproc.conf", root);
		cr_assert_eq(chown(path, 1000, 1000), 0);
		cr_assert_eq(src_config_file_apply(&src, &c, buf, sizeof(buf)), -EPERM);
		cr_assert_eq(chown(path, 0, 0), 0);
		cr_assert_eq(src_config_file_apply(&src, &c, buf, sizeof(buf)), 0);
		cr_assert(c.quota_view);
	}
}
