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
	ns_link("proc/self", 4026531835UL); /* INIT_NS */
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

/* What cg_caller_machine() answers for @value: @r, and for 0 the host path @out. */
struct machine_case {
	const char *value;
	int r;
	const char *out;
};

/* Process @pid with cgroup namespace @ns_ino and @mountinfo; each case checked. */
static void machine_cases(pid_t pid, unsigned long ns_ino, const char *mountinfo,
			  const struct machine_case *cases, size_t n)
{
	static struct cg_mounts mounts;
	char rel[64], text[8192], out[CG_PATH_MAX];

	snprintf(rel, sizeof(rel), "proc/%d/mountinfo", (int)pid);
	put(rel, mountinfo, strlen(mountinfo), 0644);
	snprintf(rel, sizeof(rel), "proc/%d", (int)pid);
	ns_link(rel, ns_ino);
	for (size_t i = 0; i < n; i++) {
		int r = cg_caller_machine(&src, pid, cases[i].value, text, sizeof(text), &mounts,
					  out, sizeof(out));

		cr_assert_eq(r, cases[i].r, "pid %d, %s: %d", (int)pid, cases[i].value, r);
		if (r == 0)
			cr_assert_str_eq(out, cases[i].out, "pid %d, %s", (int)pid, cases[i].value);
	}
}

#define INIT_NS 4026531835UL /* the reader's (proc/self/ns/cgroup) */
#define OWN_NS 4026532999UL

Test(caller, machine_from_the_readers_namespace)
{
	static const struct machine_case cases[] = {
		{"/tenant/b", 0, "/tenant/b"},
		{"/tenant/../../etc", -EINVAL, NULL},
		{"/tenant/./b", -EINVAL, NULL},
		{"tenant", -EINVAL, NULL},
	};

	machine_cases(42, INIT_NS, MI_V1("/", "memory") MI_V1("/", "cpu"), cases,
		      sizeof(cases) / sizeof(cases[0]));
}

Test(caller, machine_beneath_a_bind_mounted_root)
{
	/* no cgroup namespace, its cgroups bind-mounted from /docker/a (Docker cgroupns=host) */
	static const struct machine_case cases[] = {
		{"/docker/a/sub", 0, "/docker/a/sub"},
		{"/docker/a", 0, "/docker/a"},
		{"/docker/b", -EPERM, NULL},
		{"/docker/ab", -EPERM, NULL},
		{"/", -EPERM, NULL},
	};

	machine_cases(43, INIT_NS, MI_V1("/docker/a", "memory") MI_V1("/docker/a", "cpu"), cases,
		      sizeof(cases) / sizeof(cases[0]));
}

Test(caller, machine_in_its_own_namespace)
{
	/* its own view: "/sub" is below its namespace root */
	static const struct machine_case own[] = {
		{"/sub", 0, "/ns/root/sub"},
		{"/", 0, "/ns/root"},
		{"/..", -EINVAL, NULL},
	};
	static const struct machine_case refused[] = {{"/sub", -EPERM, NULL}};

	machine_cases(44, OWN_NS, MI_V1("/ns/root", "memory") MI_V1("/ns/root", "cpu"), own,
		      sizeof(own) / sizeof(own[0]));
	/* mounts inherited from before the unshare do not tell where its root is */
	machine_cases(45, OWN_NS, MI_V1("/", "memory"), refused, 1);
	/* controllers that disagree on the root: no one path for all */
	machine_cases(46, OWN_NS, MI_V1("/ns/root", "memory") MI_V1("/ns/other", "cpu"), refused,
		      1);
	/* no cgroup mounted at all */
	machine_cases(47, OWN_NS, "", refused, 1);
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
